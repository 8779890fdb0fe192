//! A plan's TOML read and expanded: the grid and single configurations, with their flags,
//! into named configurations × seeds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use betadarts_search::Error::Invalid;
use betadarts_search::regularizer::RegularizerKind;

use super::*;

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
