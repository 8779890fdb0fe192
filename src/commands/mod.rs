//! One module per subcommand.

pub mod bench;
mod export;
mod genotype;
mod int8;
mod nb201;
mod search;
mod study;
mod train;

use anyhow::Result;

/// The first 4 KB of `path` when it is a regular file (never opened otherwise: a FIFO would
/// block): enough for the writers' "is this file ours to replace?" checks.
pub(crate) fn head_of(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::io::Read;
    if !path.is_file() {
        return None;
    }
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .ok()?;
    Some(head)
}

use crate::cli::{Cli, Command, GenotypeWhat};

pub fn run(cli: Cli) -> Result<()> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Search(args) => search::search(args, quiet),
        Command::Bench(args) => bench::bench(args),
        Command::Genotype(args) => match args.what {
            GenotypeWhat::Draw { file, out, force } => genotype::draw(&file, &out, force),
            GenotypeWhat::Show { file } => genotype::show(&file),
            GenotypeWhat::Info {
                file,
                network,
                classes,
                channels,
                layers,
                image_size,
                json,
            } => genotype::info(&file, &network, classes, channels, layers, image_size, json),
        },
        Command::Train(args) => train::train(args, quiet),
        Command::Export(args) => export::export(args),
        Command::Deploy(args) => betadarts_deploy_cli::run(args.what, quiet),
        Command::Nb201(args) => nb201::nb201(args),
        Command::Study(args) => study::study(args.what, quiet),
    }
}
