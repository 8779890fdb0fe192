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
use betadarts_search::regularizer::RegularizerKind;
use clap::Parser;
use serde::{Deserialize, Serialize};

use crate::cli::{Cli, Command};

/// Bad plans are the user's input: they exit with status 2, like bad flags.
macro_rules! invalid {
    ($($t:tt)*) => { anyhow::Error::new(Invalid(format!($($t)*))) };
}

/// Plans shipped with the binary, usable by name.
pub const BUILTIN: [(&str, &str); 2] = [
    ("cpu-mini", include_str!("../../studies/cpu-mini.toml")),
    (
        "paper-ablation",
        include_str!("../../studies/paper-ablation.toml"),
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

/// A TOML scalar as a command-line value.
fn scalar(v: &toml::Value, what: &str) -> Result<String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        _ => return Err(invalid!("{what}: expected a string, number or boolean")),
    })
}

fn strings(v: Option<&toml::Value>, what: &str) -> Result<Option<Vec<String>>> {
    match v {
        None => Ok(None),
        Some(toml::Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|x| scalar(x, what))
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(toml::Value::Array(_)) => Err(invalid!("{what}: an empty list")),
        Some(x) => Ok(Some(vec![scalar(x, what)?])),
    }
}

/// Flag values of a table, rejecting the reserved keys.
fn flag_table(t: &toml::Table, what: &str, skip: &[&str]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in t {
        if skip.contains(&k.as_str()) {
            continue;
        }
        if RESERVED.contains(&k.as_str()) {
            return Err(invalid!(
                "{what}: `{k}` is set by the study for each run; remove it from the plan"
            ));
        }
        out.insert(k.clone(), scalar(v, &format!("{what}.{k}"))?);
    }
    Ok(out)
}

/// A short, file-system-safe name: `beta_linear-0-50_T-exponential-1-0.1`.
/// Whether λ schedules apply to regularizer `name` (an unknown name is refused later, by the
/// search flags check, naming it).
fn uses_lambda(name: &str) -> bool {
    name.parse::<RegularizerKind>()
        .map_or(true, RegularizerKind::uses_lambda)
}

fn config_name(reg: &str, lambda: Option<&str>, temperature: &str) -> String {
    let clean = |s: &str| s.replace([':', '/', ' '], "-");
    let mut n = reg.to_string();
    if let Some(l) = lambda {
        n += &format!("_{}", clean(l));
    }
    if temperature != "none" {
        n += &format!("_T-{}", clean(temperature));
    }
    n
}

/// Expands `text` (TOML) with `overrides` (`key=value`, applied to every configuration) and
/// optional replacement `seeds`. Every run's command line is checked by the real argument
/// parser and config validation, so a bad plan fails here, not hours into a grid.
pub fn expand(
    source: &str,
    text: &str,
    overrides: &[String],
    seeds: Option<Vec<u64>>,
) -> Result<Study> {
    let root: toml::Table =
        toml::from_str(text).map_err(|e| invalid!("{source}: not a valid TOML plan: {e}"))?;
    let ctx = |m: String| invalid!("{source}: {m}");
    for key in root.keys() {
        if !["name", "seeds", "search", "grid", "config"].contains(&key.as_str()) {
            return Err(ctx(format!(
                "unknown key `{key}` (expected name, seeds, [search], [[grid]], [[config]])"
            )));
        }
    }
    let name = match root.get("name") {
        Some(toml::Value::String(s)) => s.clone(),
        None => "study".to_string(),
        _ => return Err(ctx("`name` must be a string".into())),
    };
    let seeds = match seeds {
        Some(s) => s,
        None => match root.get("seeds") {
            Some(toml::Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|v| {
                    v.as_integer()
                        .filter(|&i| i >= 0)
                        .map(|i| i as u64)
                        .ok_or_else(|| ctx("`seeds` must be non-negative integers".into()))
                })
                .collect::<Result<Vec<_>>>()?,
            None => vec![2],
            _ => return Err(ctx("`seeds` must be a non-empty list of integers".into())),
        },
    };
    let mut common = match root.get("search") {
        Some(toml::Value::Table(t)) => {
            flag_table(t, "[search]", &[]).map_err(|e| ctx(e.to_string()))?
        }
        None => BTreeMap::new(),
        _ => return Err(ctx("[search] must be a table".into())),
    };
    for o in overrides {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| invalid!("--set {o:?}: expected KEY=VALUE"))?;
        let k = k.trim().trim_start_matches("--").to_string();
        if RESERVED.contains(&k.as_str()) {
            return Err(invalid!("--set {k}: set by the study for each run"));
        }
        common.insert(k, v.trim().to_string());
    }

    let mut configs: Vec<ConfigSpec> = Vec::new();
    let tables = |key: &str| -> Result<Vec<toml::Table>> {
        match root.get(key) {
            None => Ok(Vec::new()),
            Some(toml::Value::Table(t)) => Ok(vec![t.clone()]),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_table()
                        .cloned()
                        .ok_or_else(|| ctx(format!("[[{key}]] entries must be tables")))
                })
                .collect(),
            _ => Err(ctx(format!(
                "`{key}` must be a table or an array of tables"
            ))),
        }
    };
    for (gi, g) in tables("grid")?.iter().enumerate() {
        let what = format!("[[grid]] #{}", gi + 1);
        let regs = strings(g.get("regularizer"), &what)?
            .ok_or_else(|| ctx(format!("{what}: needs `regularizer`")))?;
        let lambdas = strings(g.get("lambda-schedule"), &what)?;
        let temps = strings(g.get("temperature"), &what)?.unwrap_or_else(|| vec!["none".into()]);
        let extra = flag_table(g, &what, &["regularizer", "lambda-schedule", "temperature"])
            .map_err(|e| ctx(e.to_string()))?;
        for r in &regs {
            let ls: Vec<Option<String>> = match (&lambdas, uses_lambda(r)) {
                (_, false) | (None, _) => vec![None],
                (Some(l), true) => l.iter().cloned().map(Some).collect(),
            };
            for l in &ls {
                for t in &temps {
                    configs.push(ConfigSpec {
                        name: config_name(r, l.as_deref(), t),
                        regularizer: r.clone(),
                        lambda: l.clone(),
                        temperature: t.clone(),
                        flags: extra.clone(),
                    });
                }
            }
        }
    }
    for (ci, c) in tables("config")?.iter().enumerate() {
        let what = format!("[[config]] #{}", ci + 1);
        let get = |k: &str| {
            c.get(k)
                .map(|v| scalar(v, &format!("{what}.{k}")))
                .transpose()
        };
        let regularizer = get("regularizer")?.unwrap_or_else(|| "beta".into());
        let lambda = get("lambda-schedule")?.filter(|_| uses_lambda(&regularizer));
        let temperature = get("temperature")?.unwrap_or_else(|| "none".into());
        let name = match get("name")? {
            Some(n) => n,
            None => config_name(&regularizer, lambda.as_deref(), &temperature),
        };
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(ctx(format!(
                "{what}: {name:?} is not usable as a folder name"
            )));
        }
        configs.push(ConfigSpec {
            name,
            regularizer,
            lambda,
            temperature,
            flags: flag_table(
                c,
                &what,
                &["name", "regularizer", "lambda-schedule", "temperature"],
            )
            .map_err(|e| ctx(e.to_string()))?,
        });
    }
    if configs.is_empty() {
        return Err(ctx(
            "no configurations: add a [[grid]] or a [[config]]".into()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    configs.retain(|c| seen.insert(c.name.clone()));
    for c in &mut configs {
        let own = std::mem::take(&mut c.flags);
        c.flags = common.clone();
        c.flags.extend(own);
    }

    let mut runs = Vec::new();
    for c in &configs {
        for &seed in &seeds {
            let dir = PathBuf::from("runs")
                .join(&c.name)
                .join(format!("seed-{seed}"));
            let args = search_args(c, seed, &dir);
            check_args(&args).map_err(|e| ctx(format!("configuration {}: {e:#}", c.name)))?;
            runs.push(RunSpec {
                config: c.name.clone(),
                seed,
                dir,
                args,
            });
        }
    }
    Ok(Study {
        name,
        seeds,
        configs,
        runs,
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

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"
name = "t"
seeds = [1, 2]
[search]
epochs = 2
no-augment = true
[[grid]]
regularizer = ["none", "beta", "l2"]
lambda-schedule = ["linear:0:50", "constant:10"]
temperature = ["none", "exponential:1:0.1"]
[[config]]
name = "td"
regularizer = "none"
temperature = "linear:1:0.5"
epochs = 3
"#;

    #[test]
    fn grid_expansion() {
        let s = expand("t.toml", PLAN, &[], None).unwrap();
        // none: 1 λ × 2 T; beta, l2: 2 λ × 2 T each; plus td.
        assert_eq!(s.configs.len(), 2 + 4 + 4 + 1);
        assert_eq!(s.runs.len(), 11 * 2);
        let td = s.configs.iter().find(|c| c.name == "td").unwrap();
        assert_eq!(td.flags["epochs"], "3", "a config's own flags win");
        let beta = s
            .configs
            .iter()
            .find(|c| c.name == "beta_constant-10_T-exponential-1-0.1")
            .unwrap();
        let args = search_args(beta, 1, Path::new("d"));
        assert!(
            args.windows(2)
                .any(|w| w == ["--lambda-schedule", "constant:10"])
        );
        assert!(args.contains(&"--no-augment".to_string()));
        assert!(
            !s.configs
                .iter()
                .any(|c| c.regularizer == "none" && c.lambda.is_some())
        );
    }

    #[test]
    fn bad_plans_are_named() {
        let e = |p: &str| expand("p.toml", p, &[], None).unwrap_err().to_string();
        assert!(e("[[grid]]\nregularizer = [\"beta\"]\n[search]\nseed = 3").contains("seed"));
        assert!(e("[[grid]]\nregularizer = [\"bta\"]").contains("bta"));
        assert!(
            e("[[grid]]\nregularizer = [\"beta\"]\nlambda-schedule = [\"ramp\"]").contains("ramp")
        );
        assert!(e("[[grid]]\nregularizer = [\"beta\"]\n[search]\nepoch = 3").contains("epoch"));
        assert!(e("name = 3").contains("p.toml"));
        assert!(e("[[grid]]\nregularizer = [\"beta\"").contains("not a valid TOML"));
        assert!(expand("p", PLAN, &["epochs".into()], None).is_err());
    }

    #[test]
    fn builtin_plans_expand() {
        for (name, text) in BUILTIN {
            let s = expand(name, text, &[], None).unwrap();
            assert!(s.runs.len() >= s.configs.len());
        }
        let paper = expand("p", BUILTIN[1].1, &[], None).unwrap();
        // 4 regularizers × 12 λ schedules, DARTS and TD-DARTS.
        assert_eq!(paper.configs.len(), 4 * 12 + 2);
    }
}
