//! `study run`: the study's searches on this machine, N child processes at a time. Each child is
//! a plain `betadarts search` (its log in `logs/`); a finished run (`summary.json`) is kept, a
//! run cut off mid-way continues with `search --resume` from its checkpoint.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use betadarts_search::bilevel::{CONFIG_FILE, SUMMARY_FILE};
use indicatif::{ProgressBar, ProgressStyle};

use super::plan::{RunSpec, Study};

/// Where a run stands on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Finished,
    /// Started (config written): resume it.
    Started,
    NotStarted,
}

pub fn run_state(run_dir: &Path) -> RunState {
    if run_dir.join(SUMMARY_FILE).exists() {
        RunState::Finished
    } else if run_dir.join(CONFIG_FILE).exists() {
        RunState::Started
    } else {
        RunState::NotStarted
    }
}

/// The arguments of a run as executed from anywhere: the study folder made absolute, and for a
/// started run `search --resume DIR` (with the plan's device, which the run's config lacks).
pub fn command_line(run: &RunSpec, study_dir: &Path, resume: bool) -> Vec<String> {
    let dir = study_dir.join(&run.dir).display().to_string();
    if resume {
        let mut a = vec!["search".to_string(), "--resume".into(), dir];
        if let Some(i) = run.args.iter().position(|x| x == "--device") {
            a.extend(run.args[i..].iter().take(2).cloned());
        }
        return a;
    }
    let mut a = run.args.clone();
    if let Some(i) = a.iter().position(|x| x == "--out") {
        a[i + 1] = dir;
    }
    a
}

pub fn logs_dir(study_dir: &Path) -> PathBuf {
    study_dir.join("logs")
}

fn log_path(study_dir: &Path, run: &RunSpec) -> PathBuf {
    logs_dir(study_dir).join(format!("{}-seed-{}.log", run.config, run.seed))
}

/// Runs every unfinished search of `study` in `study_dir`, `workers` at a time.
/// `table`, when given, is handed to every search (BETADARTS_NB201_TABLE) so runs record the
/// NAS-Bench-201 accuracies of their cells.
pub fn run_all(
    study: &Study,
    study_dir: &Path,
    workers: usize,
    table: Option<&Path>,
    quiet: bool,
) -> Result<()> {
    let table = table
        .map(|t| std::fs::canonicalize(t).with_context(|| format!("NB201 table {}", t.display())))
        .transpose()?;
    let exe = std::env::current_exe().context("locating the betadarts binary")?;
    std::fs::create_dir_all(logs_dir(study_dir))
        .with_context(|| format!("creating {}", logs_dir(study_dir).display()))?;
    let todo: VecDeque<&RunSpec> = study
        .runs
        .iter()
        .filter(|r| run_state(&study_dir.join(&r.dir)) != RunState::Finished)
        .collect();
    let done_before = study.runs.len() - todo.len();
    tracing::info!(
        study = %study.name,
        runs = study.runs.len(),
        finished = done_before,
        workers,
        "study"
    );
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(study.runs.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("study [{bar:30}] {pos}/{len} runs {msg} ({elapsed}<{eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_position(done_before as u64);
    let queue = Mutex::new(todo);
    let failed: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                while let Some(run) = next(&queue) {
                    let name = format!("{} seed {}", run.config, run.seed);
                    bar.set_message(name.clone());
                    let t0 = Instant::now();
                    match run_one(&exe, run, study_dir, table.as_deref()) {
                        Ok(()) => tracing::info!(
                            run = %name,
                            seconds = format!("{:.1}", t0.elapsed().as_secs_f64()),
                            "run finished"
                        ),
                        Err(e) => {
                            tracing::error!(run = %name, "{e:#}");
                            if let Ok(mut f) = failed.lock() {
                                f.push(format!("{name}: {e:#}"));
                            }
                        }
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let failed = failed.into_inner().unwrap_or_default();
    if !failed.is_empty() {
        bail!(
            "{} of {} runs failed (the others are kept; rerun `study run` to retry):\n  {}",
            failed.len(),
            study.runs.len(),
            failed.join("\n  ")
        );
    }
    Ok(())
}

/// Takes the next run, releasing the lock before the run starts.
fn next<'a>(queue: &Mutex<VecDeque<&'a RunSpec>>) -> Option<&'a RunSpec> {
    queue.lock().ok()?.pop_front()
}

fn run_one(exe: &Path, run: &RunSpec, study_dir: &Path, table: Option<&Path>) -> Result<()> {
    let resume = run_state(&study_dir.join(&run.dir)) == RunState::Started;
    let args = command_line(run, study_dir, resume);
    let log = log_path(study_dir, run);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("opening {}", log.display()))?;
    let err = file.try_clone()?;
    let mut cmd = Command::new(exe);
    if let Some(t) = table {
        cmd.env("BETADARTS_NB201_TABLE", t);
    }
    let status = cmd
        .arg("--quiet")
        .args(&args)
        .env("BETADARTS_LOG", "info")
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .status()
        .with_context(|| format!("starting {}", exe.display()))?;
    if !status.success() {
        bail!("{status}; see {}", log.display());
    }
    if run_state(&study_dir.join(&run.dir)) != RunState::Finished {
        bail!("ended without a summary; see {}", log.display());
    }
    Ok(())
}
