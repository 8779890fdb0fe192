//! `study report`: whatever has finished in a study folder, as a Markdown table (one row per
//! configuration, NB201 accuracies as mean ± std over seeds) and SVG plots.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use betadarts_search::bilevel::{
    CONFIG_FILE, EpochRecord, HISTORY_FILE, SUMMARY_FILE, SearchConfig, read_history,
};
use betadarts_search::nb201::table::{Accuracies, COLUMNS, Column, Table};
use betadarts_search::run_dir::write_atomic;

use super::plan::{ConfigSpec, RunSpec, Study};

mod plots;

use plots::write_plots;

/// What one run left, finished or not.
struct RunResult<'a> {
    spec: &'a RunSpec,
    finished: bool,
    history: Vec<EpochRecord>,
    config: Option<SearchConfig>,
    seconds: f64,
    nb201: Option<Accuracies>,
}

impl RunResult<'_> {
    fn last(&self) -> Option<&EpochRecord> {
        self.history.last()
    }
}

fn load_run<'a>(
    study_dir: &Path,
    spec: &'a RunSpec,
    table: Option<&Table>,
) -> Result<RunResult<'a>> {
    let dir = study_dir.join(&spec.dir);
    let history = if dir.join(HISTORY_FILE).exists() {
        read_history(&dir.join(HISTORY_FILE))?
    } else {
        Vec::new()
    };
    let config = betadarts_data::files::read_text(&dir.join(CONFIG_FILE))
        .ok()
        .and_then(|t| betadarts_search::run_dir::parse_config::<SearchConfig>(&t).ok());
    let summary: Option<serde_json::Value> =
        betadarts_data::files::read_text(&dir.join(SUMMARY_FILE))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    let finished = summary.is_some();
    let seconds = summary
        .as_ref()
        .and_then(|s| s["search_seconds"].as_f64())
        .unwrap_or_else(|| history.iter().map(|r| r.seconds).sum());
    // The report's table wins (a run may have searched without one).
    let last = history.last();
    let nb201 = match (table, last) {
        (Some(t), Some(r)) => t.lookup(&r.arch).map(|row| row.acc),
        (None, Some(r)) => r.nb201.as_ref().map(|a| a.acc),
        _ => None,
    };
    Ok(RunResult {
        spec,
        finished,
        history,
        config,
        seconds,
        nb201,
    })
}

/// Population mean and standard deviation.
fn mean_std(v: &[f64]) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    Some((
        m,
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt(),
    ))
}

fn pm(v: Option<(f64, f64)>, digits: usize) -> String {
    match v {
        Some((m, s)) => format!("{m:.digits$} ± {s:.digits$}"),
        None => "—".into(),
    }
}

fn lambda_label(c: &ConfigSpec) -> String {
    c.lambda.clone().unwrap_or_else(|| "no λ".into())
}

fn series_label(c: &ConfigSpec) -> String {
    if c.temperature == "none" {
        c.regularizer.clone()
    } else {
        format!("{}, T {}", c.regularizer, c.temperature)
    }
}

/// Writes `report.md`, `results.csv` and the plots into `out`; returns the Markdown.
pub fn write_report(
    study: &Study,
    study_dir: &Path,
    out: &Path,
    table: Option<&Table>,
) -> Result<String> {
    std::fs::create_dir_all(out.join("beta"))
        .with_context(|| format!("creating {}", out.display()))?;
    let mut by_config: BTreeMap<&str, Vec<RunResult>> = BTreeMap::new();
    for spec in &study.runs {
        let r = load_run(study_dir, spec, table)
            .with_context(|| format!("reading run {}", study_dir.join(&spec.dir).display()))?;
        by_config.entry(spec.config.as_str()).or_default().push(r);
    }
    let finished_runs = by_config.values().flatten().filter(|r| r.finished).count();
    let have_acc = by_config
        .values()
        .flatten()
        .any(|r| r.finished && r.nb201.is_some());

    let mut md = String::new();
    let _ = writeln!(md, "# Study `{}`\n", study.name);
    let _ = writeln!(
        md,
        "{finished_runs} of {} runs finished ({} configurations × {} seeds). Accuracies are \
         NAS-Bench-201 top-1 % (200-epoch, mean over the benchmark's seeds) of each run's final \
         derived cell, as mean ± std (population) over the finished seeds of a configuration.{}\n",
        study.runs.len(),
        study.configs.len(),
        study.seeds.len(),
        if have_acc {
            ""
        } else {
            " No accuracies: search with BETADARTS_NB201_TABLE set, or pass --table to the report."
        }
    );
    let _ = writeln!(
        md,
        "| configuration | regularizer | λ schedule | temperature | seeds done | final arch | {} | skip share | none share | ‖β‖₂ | search time (s) |",
        COLUMNS.join(" | ")
    );
    let _ = writeln!(md, "|{}", "---|".repeat(10 + COLUMNS.len()));
    let mut csv = String::from("configuration,seed,finished,epochs,arch,");
    csv += &COLUMNS.join(",");
    csv += ",skip_share,none_share,mean_beta_norm,search_seconds\n";

    for c in &study.configs {
        let runs = by_config
            .get(c.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let done: Vec<&RunResult> = runs.iter().filter(|r| r.finished).collect();
        let running = runs
            .iter()
            .filter(|r| !r.finished && !r.history.is_empty())
            .count();
        let archs: Vec<&str> = done
            .iter()
            .filter_map(|r| r.last())
            .map(|r| r.arch.as_str())
            .collect();
        let arch = arch_cell(&archs, &done);
        let accs: Vec<String> = Column::ALL
            .into_iter()
            .map(|c| {
                let v: Vec<f64> = done.iter().filter_map(|r| r.nb201.map(|a| a[c])).collect();
                pm(mean_std(&v), 2)
            })
            .collect();
        let stat = |f: &dyn Fn(&EpochRecord) -> f64| {
            let v: Vec<f64> = done.iter().filter_map(|r| r.last()).map(f).collect();
            mean_std(&v)
        };
        let seconds: Vec<f64> = done.iter().map(|r| r.seconds).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {}/{}{} | {} | {} | {} | {} | {} | {} |",
            c.name,
            c.regularizer,
            lambda_label(c),
            c.temperature,
            done.len(),
            runs.len(),
            if running > 0 {
                format!(" (+{running} started)")
            } else {
                String::new()
            },
            arch,
            accs.join(" | "),
            pm(stat(&|r| r.skip_share), 2),
            pm(stat(&|r| r.none_share), 2),
            pm(stat(&|r| r.diagnostics.mean_beta_norm()), 4),
            pm(mean_std(&seconds), 1),
        );
        for r in runs {
            let last = r.last();
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{},{},{},{:.1}",
                c.name,
                r.spec.seed,
                r.finished,
                r.history.len(),
                last.map_or(String::new(), |l| format!(
                    "\"{}\"",
                    l.arch.replace('"', "'")
                )),
                Column::ALL
                    .into_iter()
                    .map(|c| r.nb201.map_or(String::new(), |a| a[c].to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
                last.map_or(String::new(), |l| l.skip_share.to_string()),
                last.map_or(String::new(), |l| l.none_share.to_string()),
                last.map_or(String::new(), |l| l
                    .diagnostics
                    .mean_beta_norm()
                    .to_string()),
                r.seconds
            );
        }
    }

    write_plots(study, &by_config, out, have_acc, &mut md)?;
    write_atomic(&out.join("results.csv"), csv.as_bytes())?;
    write_atomic(&out.join("report.md"), md.as_bytes())?;
    Ok(md)
}

/// The final arch of a configuration: shared by all seeds, or the most common with a count.
fn arch_cell(archs: &[&str], done: &[&RunResult]) -> String {
    if archs.is_empty() {
        return "—".into();
    }
    if done
        .iter()
        .any(|r| r.last().and_then(|l| l.genotype.as_ref()).is_some())
    {
        let distinct = archs
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        return format!("DARTS genotype ({distinct} distinct; genotype.json of each run)");
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in archs {
        *counts.entry(a).or_default() += 1;
    }
    let (top, n) = counts
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(a, n)| (*a, *n))
        .unwrap_or(("", 0));
    // A `|` would end the Markdown table cell, even inside backticks.
    let top = top.replace('|', "\\|");
    if counts.len() == 1 {
        format!("`{top}`")
    } else {
        format!("{} distinct; `{top}` ×{n}", counts.len())
    }
}
