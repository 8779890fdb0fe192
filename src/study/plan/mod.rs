//! Study plans: a small TOML file expanded into configurations × seeds, each run a plain
//! `betadarts search` command line.
//!
//! ```toml
//! name = "my-study"
//! seeds = [0, 1, 2]
//! [search]                 # flags of every search (long names without --)
//! epochs = 50
//! [[grid]]                 # regularizer × lambda-schedule × temperature
//! regularizer = ["l2", "beta"]
//! lambda-schedule = ["linear:0:50", "constant:10"]
//! temperature = ["none"]
//! [[config]]               # single configurations beside the grid
//! name = "td-darts"
//! regularizer = "none"
//! temperature = "exponential:1:0.1"
//! ```
//! `regularizer = "none"` ignores λ, so a grid runs it once per temperature.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use betadarts_search::Error::Invalid;
use clap::Parser;
use serde::{Deserialize, Serialize};

use crate::cli::{Cli, Command};

/// Bad plans are the user's input: they exit with status 2, like bad flags.
macro_rules! invalid {
    ($($t:tt)*) => { anyhow::Error::new(Invalid(format!($($t)*))) };
}

mod expand;
#[cfg(test)]
mod tests;

pub use expand::expand;

/// Plans shipped with the binary, usable by name.
pub const BUILTIN: [(&str, &str); 2] = [
    ("cpu-mini", include_str!("../../../studies/cpu-mini.toml")),
    (
        "paper-ablation",
        include_str!("../../../studies/paper-ablation.toml"),
    ),
];

/// Keys a plan may not set: the study decides them per run.
const RESERVED: [&str; 4] = ["out", "resume", "seed", "stop-after"];

/// One configuration: everything but the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigSpec {
    pub name: String,
    pub regularizer: String,
    /// `None` when the regularizer ignores λ (`none`).
    pub lambda: Option<String>,
    pub temperature: String,
    /// `--flag value` pairs of this configuration (the plan's `[search]` merged with its own).
    pub flags: BTreeMap<String, String>,
}

/// One search of the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub config: String,
    pub seed: u64,
    /// Run directory relative to the study directory.
    pub dir: PathBuf,
    /// The `betadarts` arguments (starting with `search`).
    pub args: Vec<String>,
}

/// An expanded plan (`study.json` in the study directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    pub name: String,
    pub seeds: Vec<u64>,
    pub configs: Vec<ConfigSpec>,
    pub runs: Vec<RunSpec>,
}

pub const STUDY_FILE: &str = "study.json";

/// Reads a plan file, or a built-in plan by name when no such file exists.
pub fn read_plan(plan: &str) -> Result<(String, String)> {
    let path = Path::new(plan);
    if path.exists() {
        let text = betadarts_data::files::read_text(path).context("reading the study plan")?;
        return Ok((path.display().to_string(), text));
    }
    BUILTIN
        .iter()
        .find(|(n, _)| *n == plan)
        .map(|(n, t)| (format!("built-in plan {n}"), t.to_string()))
        .ok_or_else(|| {
            invalid!(
                "{plan}: no such plan file, and not a built-in plan ({})",
                BUILTIN.map(|b| b.0).join(", ")
            )
        })
}

/// `search --out DIR --seed S --regularizer R [--lambda-schedule L] --temperature T --flags…`
/// with `dir` as given (the caller makes it absolute where the command runs elsewhere).
pub fn search_args(c: &ConfigSpec, seed: u64, dir: &Path) -> Vec<String> {
    let mut a = vec![
        "search".to_string(),
        "--out".into(),
        dir.display().to_string(),
        "--seed".into(),
        seed.to_string(),
        "--regularizer".into(),
        c.regularizer.clone(),
    ];
    if let Some(l) = &c.lambda {
        a.extend(["--lambda-schedule".into(), l.clone()]);
    }
    a.extend(["--temperature".into(), c.temperature.clone()]);
    for (k, v) in &c.flags {
        match v.as_str() {
            "true" => a.push(format!("--{k}")),
            "false" => {}
            _ => a.extend([format!("--{k}"), v.clone()]),
        }
    }
    a
}

/// Parses and validates a search command line exactly as `betadarts search` would.
fn check_args(args: &[String]) -> Result<()> {
    let cli =
        Cli::try_parse_from(std::iter::once("betadarts".to_string()).chain(args.iter().cloned()))
            .map_err(|e| {
            invalid!(
                "{}",
                e.render().to_string().lines().next().unwrap_or("bad flags")
            )
        })?;
    match cli.command {
        Command::Search(a) => a.to_config().map(|_| ()),
        _ => Err(invalid!("not a search")),
    }
}

impl Study {
    /// Writes `study.json` into `dir`, or checks that the one there is the same study (so a
    /// half-done grid resumes, and a different plan cannot mix into it).
    pub fn claim(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(STUDY_FILE);
        if path.exists() {
            let old = Study::load(dir)?;
            if old != *self {
                return Err(invalid!(
                    "{} holds another study ({:?}, {} runs) than this plan expands to ({:?}, {} \
                     runs); use another --out or the same plan and --set/--seeds",
                    dir.display(),
                    old.name,
                    old.runs.len(),
                    self.name,
                    self.runs.len()
                ));
            }
            return Ok(());
        }
        betadarts_search::run_dir::write_atomic(&path, &serde_json::to_vec_pretty(self)?)?;
        Ok(())
    }

    pub fn load(dir: &Path) -> Result<Study> {
        let path = dir.join(STUDY_FILE);
        let text = betadarts_data::files::read_text(&path).with_context(|| {
            format!(
                "reading {} (is {} a study directory?)",
                path.display(),
                dir.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{}: not a study file", path.display()))
    }
}
