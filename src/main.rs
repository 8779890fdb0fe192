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

// Keeps freed tensor buffers for reuse (see Cargo.toml and `keep_freed_memory`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v3): the entry just before `use_numa_nodes` (the
/// crate names no constant for it; a unit test checks the index by its default value).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t =
    libmimalloc_sys::mi_option_use_numa_nodes - 1;

/// Tells mimalloc never to hand freed memory back to the OS. A search step frees and
/// reallocates gigabytes of same-sized tensors; returned pages come back as page faults and
/// kernel page clearing (measured: 4.8 s → 4.1 s per NB201 step). The resident size stays at
/// the step's peak, which every step reaches anyway. `MIMALLOC_PURGE_DELAY` still overrides.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        #[allow(unsafe_code)]
        // SAFETY: mi_option_set only stores an integer in mimalloc's option table (atomic
        // store); any option value is valid, and it runs before other threads exist.
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1)
        };
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = cli::Cli::parse();
    betadarts_deploy_cli::init_logging(cli.verbose, cli.quiet);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            let user_error = err.chain().any(is_user_error);
            ExitCode::from(if user_error { 2 } else { 1 })
        }
    }
}

/// Bad input (flags, arch strings, genotypes, data files, unusable models) exits with 2; other
/// failures with 1.
fn is_user_error(e: &(dyn std::error::Error + 'static)) -> bool {
    use betadarts_search::Error as S;
    let data_user = |d: &betadarts_data::Error| !matches!(d, betadarts_data::Error::Io { .. });
    match e.downcast_ref::<S>() {
        Some(S::Invalid(_) | S::MissingData(_) | S::Backend(_) | S::Format { .. }) => true,
        Some(S::Data(d)) => data_user(d),
        _ => betadarts_deploy_cli::is_user_error(e),
    }
}

#[cfg(test)]
mod tests {
    #[allow(unsafe_code)]
    #[test]
    fn the_purge_delay_option_is_the_one_we_set() {
        // SAFETY: reads of mimalloc's option table.
        let before = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(
                before, 1000,
                "mimalloc v3's default purge delay (ms) at that index"
            );
        }
        super::keep_freed_memory();
        let after = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert!(after == -1 || std::env::var_os("MIMALLOC_PURGE_DELAY").is_some());
    }
}
