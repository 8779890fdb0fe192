//! One module per subcommand.

mod bench;
mod search;

use anyhow::Result;

use crate::cli::{BenchWhat, Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Search(args) => search::search(args, quiet),
        Command::Bench(args) => match args.what {
            BenchWhat::SearchStep(b) => bench::search_step(b),
        },
    }
}
