//! `betadarts`: β-DARTS architecture search from the command line.
//!
//! A thin entry point: parse flags, set up logging, run one subcommand, map errors to exit
//! codes (0 ok, 1 the command failed, 2 bad usage or input).

mod cli;
mod commands;
mod progress;
mod study;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            let user_error = err.chain().any(is_user_error);
            ExitCode::from(if user_error { 2 } else { 1 })
        }
    }
}

fn init_logging(verbose: bool, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet {
        "warn"
    } else if verbose {
        "debug"
    } else {
        "info"
    };
    let filter =
        EnvFilter::try_from_env("BETADARTS_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Bad input (flags, arch strings, genotypes, data files) exits with 2; other failures with 1.
fn is_user_error(e: &(dyn std::error::Error + 'static)) -> bool {
    use betadarts_search::Error as S;
    let data_user = |d: &betadarts_data::Error| !matches!(d, betadarts_data::Error::Io { .. });
    match e.downcast_ref::<S>() {
        Some(S::Invalid(_) | S::MissingData(_) | S::Backend(_) | S::Format { .. }) => true,
        Some(S::Data(d)) => data_user(d),
        _ => e
            .downcast_ref::<betadarts_data::Error>()
            .is_some_and(data_user),
    }
}
