//! The study report's charts: per-epoch means over seeds for each configuration, and the
//! final accuracy per λ.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use betadarts_search::bilevel::EpochRecord;
use betadarts_search::viz;

use crate::study::plan::Study;

use super::*;

/// Mean over the seeds of a per-epoch figure (NaN where no seed reached the epoch).
fn over_epochs(runs: &[RunResult], f: &dyn Fn(&EpochRecord) -> f64) -> Vec<f64> {
    let n = runs.iter().map(|r| r.history.len()).max().unwrap_or(0);
    (0..n)
        .map(|e| {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.history.get(e))
                .map(f)
                .collect();
            mean_std(&v).map_or(f64::NAN, |(m, _)| m)
        })
        .collect()
}

type Figure = fn(&EpochRecord) -> f64;

/// A per-epoch line chart of the report; `range` None = the data's own.
struct EpochPlot {
    file: &'static str,
    title: &'static str,
    label: &'static str,
    figure: Figure,
}

pub(super) fn write_plots(
    study: &Study,
    by_config: &BTreeMap<&str, Vec<RunResult>>,
    out: &Path,
    have_acc: bool,
    md: &mut String,
) -> Result<()> {
    let _ = writeln!(md, "\n## Plots\n");
    let names: Vec<&str> = study.configs.iter().map(|c| c.name.as_str()).collect();
    let empty = Vec::new();
    let runs_of = |c: &str| by_config.get(c).unwrap_or(&empty);
    // Per-epoch figures, one line per configuration (mean over its seeds).
    let entropy_share: Figure = |r| {
        let k = r
            .beta
            .first()
            .and_then(|t| t.first())
            .map_or(2, Vec::len)
            .max(2);
        r.diagnostics.mean_entropy() / (k as f64).ln()
    };
    let reg_share: Figure = |r| {
        let (ce, reg) = (r.diagnostics.alpha_grad_ce, r.diagnostics.alpha_grad_reg);
        if ce + reg > 0.0 {
            reg / (ce + reg)
        } else {
            f64::NAN
        }
    };
    let plots = [
        EpochPlot {
            file: "beta_norm",
            title: "Mean ‖β‖₂ per edge over epochs (mean over seeds)",
            label: "‖β‖₂",
            figure: |r| r.diagnostics.mean_beta_norm(),
        },
        EpochPlot {
            file: "entropy",
            title: "Mean β entropy per edge / ln K (1 uniform, 0 one-hot; mean over seeds)",
            label: "entropy / ln K",
            figure: entropy_share,
        },
        EpochPlot {
            file: "skip_share",
            title: "Share of skip-connections in the derived cell (mean over seeds)",
            label: "skip share",
            figure: |r| r.skip_share,
        },
        EpochPlot {
            file: "reg_share",
            title: "Regularizer's share of the gradient on α (mean over seeds)",
            label: "‖∇(λ·reg)‖ / (‖∇CE‖ + ‖∇(λ·reg)‖)",
            figure: reg_share,
        },
    ];
    for p in plots {
        let series: Vec<Vec<f64>> = names
            .iter()
            .map(|c| over_epochs(runs_of(c), &p.figure))
            .collect();
        viz::line_chart(p.title, p.label, &names, &series)?.write(out, p.file)?;
        let _ = writeln!(md, "![{}]({}.svg)\n", p.label, p.file);
    }

    // Final accuracy per λ schedule: one group per schedule, one mean ± std per regularizer (+T).
    let mut groups: Vec<String> = Vec::new();
    let mut series: Vec<String> = Vec::new();
    for c in &study.configs {
        for (list, v) in [
            (&mut groups, lambda_label(c)),
            (&mut series, series_label(c)),
        ] {
            if !list.contains(&v) {
                list.push(v);
            }
        }
    }
    let values: Vec<Vec<Option<(f64, f64)>>> = series
        .iter()
        .map(|s| {
            groups
                .iter()
                .map(|g| {
                    let c = study
                        .configs
                        .iter()
                        .find(|c| &series_label(c) == s && &lambda_label(c) == g)?;
                    let v: Vec<f64> = runs_of(&c.name)
                        .iter()
                        .filter(|r| r.finished)
                        .filter_map(|r| {
                            if have_acc {
                                r.nb201.map(|a| a[Column::Cifar10Test])
                            } else {
                                r.last().map(|l| l.arch_acc)
                            }
                        })
                        .collect();
                    mean_std(&v)
                })
                .collect()
        })
        .collect();
    let (title, label) = if have_acc {
        (
            "Final cell: NAS-Bench-201 CIFAR-10 test accuracy per λ schedule",
            "CIFAR-10 test %",
        )
    } else {
        (
            "Supernet accuracy on the arch split at the end, per λ schedule (no NB201 table)",
            "arch-split accuracy %",
        )
    };
    let g: Vec<&str> = groups.iter().map(String::as_str).collect();
    let s: Vec<&str> = series.iter().map(String::as_str).collect();
    viz::grouped_means(title, label, &g, &s, &values)?.write(out, "accuracy_by_lambda")?;
    let _ = writeln!(
        md,
        "![final accuracy per λ schedule](accuracy_by_lambda.svg)\n"
    );

    let _ = writeln!(
        md,
        "β = softmax(α/T) per edge over epochs (first seed with a history):\n"
    );
    for c in &study.configs {
        let Some(r) = runs_of(&c.name).iter().find(|r| !r.history.is_empty()) else {
            continue;
        };
        let Some(cfg) = &r.config else { continue };
        let space = cfg.space();
        let beta: Vec<_> = r.history.iter().map(|h| h.beta.clone()).collect();
        let picture = viz::beta_trajectories(
            &format!("{} (seed {})", c.name, r.spec.seed),
            &beta,
            &space.alpha_names(),
            &space.edge_labels(),
            &space.op_names(),
        )?;
        picture.write(&out.join("beta"), &c.name)?;
        let _ = writeln!(md, "- [{}](beta/{}.svg)", c.name, c.name);
    }
    Ok(())
}
