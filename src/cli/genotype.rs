//! `betadarts genotype`'s subcommands and flags.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args, Debug, Clone)]
pub struct GenotypeArgs {
    #[command(subcommand)]
    pub what: GenotypeWhat,
}

#[derive(Subcommand, Debug, Clone)]
pub enum GenotypeWhat {
    /// Draw a cell as SVG and Graphviz DOT (cell.svg, cell.dot): inputs left, output right,
    /// edges labelled by op. FILE is a genotype (JSON or Python `Genotype(...)` form) or an
    /// NB201 arch string such as |nor_conv_3x3~0|+|…|.
    Draw {
        /// Genotype file, or an NB201 arch string.
        file: String,
        /// Output folder.
        #[arg(short, long, default_value = ".")]
        out: PathBuf,
        /// Replace cell.svg / cell.dot even when they were not drawn by betadarts.
        #[arg(long)]
        force: bool,
    },
    /// Check a genotype file and print it as JSON.
    Show {
        /// Genotype file (JSON or Python form).
        file: PathBuf,
    },
    /// Parameters and multiply-adds of the network built from a genotype.
    ///
    /// `params` excludes the auxiliary head, as the papers report it; `aux_params` is the
    /// head alone. `madds` counts the multiply-adds of convolutions and linear layers for one
    /// image (BN, pooling, additions and activations not counted): the convention behind the
    /// 528 M usually cited for DARTS on CIFAR-10. Published ImageNet tables mix conventions
    /// (574 M is also quoted for DARTS; this tool gives 530 M at 224×224).
    Info {
        /// Genotype file (JSON or Python form).
        file: PathBuf,
        /// cifar (C=36, 20 cells) or imagenet (C=48, 14 cells).
        #[arg(long, default_value = "cifar", value_parser = ["cifar", "imagenet"])]
        network: String,
        /// Classes of the classifier.
        #[arg(long, default_value_t = 10)]
        classes: usize,
        /// Initial channels [default: 36 for cifar, 48 for imagenet].
        #[arg(long)]
        channels: Option<usize>,
        /// Cells [default: 20 for cifar, 14 for imagenet].
        #[arg(long)]
        layers: Option<usize>,
        /// Input side [default: 32 for cifar, 224 for imagenet].
        #[arg(long)]
        image_size: Option<usize>,
        /// Print one JSON object (keys params, aux_params, madds, …).
        #[arg(long)]
        json: bool,
    },
}
