//! `betadarts-deploy`: the deploy commands alone, for devices (x86-64 and 64-bit ARM): tract is
//! built in; ONNX Runtime is used when its library is found at run time (`--engine ort`).

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "betadarts-deploy",
    version,
    about = "Run betadarts-exported ONNX models: predict, eval, bench, serve",
    after_help = "Exit codes: 0 success; 1 failure while running; 2 bad input or usage (flags, an \
                  unusable model, data files)."
)]
struct Cli {
    /// More log output (debug level).
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Only warnings and errors; no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    what: betadarts_deploy_cli::DeployWhat,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    betadarts_deploy_cli::init_logging(cli.verbose, cli.quiet);
    match betadarts_deploy_cli::run(cli.what, cli.quiet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            let user = err.chain().any(betadarts_deploy_cli::is_user_error);
            ExitCode::from(if user { 2 } else { 1 })
        }
    }
}
