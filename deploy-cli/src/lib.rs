//! The deploy commands (`predict`, `eval`, `bench`, `serve`) as a library, so that the
//! workstation binary (`betadarts deploy …`) and the small device binary (`betadarts-deploy …`)
//! share one set of flags and one implementation. Depends on neither burn nor the search code.

mod args;
mod eval;
pub mod parse;
mod run;

pub use args::DeployWhat;
pub use run::run;

/// Bad input (flags, unusable models, data files, oversized images) exits with 2; other
/// failures with 1.
pub fn is_user_error(e: &(dyn std::error::Error + 'static)) -> bool {
    use betadarts_deploy::Error as D;
    if let Some(d) = e.downcast_ref::<D>() {
        return matches!(d, D::Model(_) | D::Input(_) | D::TooLarge(_));
    }
    e.downcast_ref::<betadarts_data::Error>()
        .is_some_and(|d| !matches!(d, betadarts_data::Error::Io { .. }))
}

/// Logs to stderr: `BETADARTS_LOG` (an env-filter, or a plain level without the `env-filter`
/// feature) wins over `--quiet` / `--verbose`.
pub fn init_logging(verbose: bool, quiet: bool) {
    let default = if quiet {
        "warn"
    } else if verbose {
        "debug"
    } else {
        "info"
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: logs redirected to a file stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    #[cfg(feature = "env-filter")]
    let builder = {
        use tracing_subscriber::EnvFilter;
        builder.with_env_filter(
            EnvFilter::try_from_env("BETADARTS_LOG").unwrap_or_else(|_| EnvFilter::new(default)),
        )
    };
    #[cfg(not(feature = "env-filter"))]
    let builder = {
        let level = std::env::var("BETADARTS_LOG")
            .ok()
            .and_then(|v| v.trim().parse::<tracing::Level>().ok())
            .or_else(|| default.parse().ok())
            .unwrap_or(tracing::Level::INFO);
        builder.with_max_level(level)
    };
    let _ = builder.try_init();
}
