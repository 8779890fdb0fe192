//! `betadarts nb201`'s subcommands and flags.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args, Debug, Clone)]
pub struct Nb201Args {
    /// The accuracy table (CSV: index, arch, cifar10_valid, cifar10_test, cifar100_valid,
    /// cifar100_test, imagenet16_valid, imagenet16_test).
    #[arg(long, env = "BETADARTS_NB201_TABLE", global = true)]
    pub table: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub what: Nb201What,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Nb201What {
    /// The six accuracies and the index of an arch string or index.
    Lookup { arch: String },
    /// The best architecture of each column.
    Best,
    /// Percentile of an arch per column (share of architectures with lower accuracy).
    Rank { arch: String },
}
