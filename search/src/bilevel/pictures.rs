//! What people look at while a search runs: plots and the cell diagram, and TensorBoard events.

use std::path::Path;

use super::SearchConfig;
use super::history::EpochRecord;
use crate::Result;
use crate::nb201::table::Column;
use crate::run_dir::tensorboard::{self, EventWriter};
use crate::run_dir::write_atomic;
use crate::space::Derived;
use crate::viz;

/// `cell.svg`/`cell.dot` of the current derived cell, and as SVG + PNG `beta` (β per edge over
/// epochs), `skip_share`, `beta_norm` and `nb201`, refreshed after every epoch so a running
/// search can be watched.
pub(super) fn write_pictures(
    run_dir: &Path,
    cfg: &SearchConfig,
    history: &[EpochRecord],
    derived: &Derived,
) -> Result<()> {
    let space = cfg.space();
    let cells = match derived {
        Derived::Nb201(a) => vec![viz::nb201_cell(a)],
        Derived::Darts(g) => viz::darts_cells(g),
    };
    write_atomic(&run_dir.join("cell.svg"), viz::cells_svg(&cells).as_bytes())?;
    write_atomic(&run_dir.join("cell.dot"), viz::cells_dot(&cells).as_bytes())?;
    let beta: Vec<_> = history.iter().map(|r| r.beta.clone()).collect();
    let title = format!(
        "{} search, {} regularizer, λ {}",
        cfg.space, cfg.regularizer, cfg.lambda
    );
    viz::beta_trajectories(
        &title,
        &beta,
        &space.alpha_names(),
        &space.edge_labels(),
        &space.op_names(),
    )?
    .write(run_dir, "beta")?;
    let skip: Vec<f64> = history.iter().map(|r| r.skip_share).collect();
    let none: Vec<f64> = history.iter().map(|r| r.none_share).collect();
    viz::line_chart(
        "Derived cell: share of skip-connections and none",
        "share of edges",
        &["skip_connect", "none"],
        &[skip, none],
    )?
    .write(run_dir, "skip_share")?;
    // ‖β‖₂ per edge of the first α tensor (NB201's only one; DARTS' normal cell).
    let edges = space.edge_labels().first().cloned().unwrap_or_default();
    let norms: Vec<Vec<f64>> = (0..edges.len())
        .map(|e| {
            history
                .iter()
                .map(|r| {
                    r.diagnostics
                        .beta_norm
                        .first()
                        .and_then(|t| t.get(e))
                        .copied()
                        .unwrap_or(f64::NAN)
                })
                .collect()
        })
        .collect();
    let names: Vec<&str> = edges.iter().map(String::as_str).collect();
    let k = space.op_names().len() as f64;
    viz::line_chart(
        &format!(
            "‖β‖₂ per edge of {} (1/√K = {:.2} uniform, 1 one-hot)",
            space.alpha_names().first().copied().unwrap_or("α"),
            1.0 / k.sqrt()
        ),
        "‖β‖₂",
        &names,
        &norms,
    )?
    .write(run_dir, "beta_norm")?;
    if history.iter().any(|r| r.nb201.is_some()) {
        let cols = Column::TESTS;
        let series: Vec<Vec<f64>> = cols
            .iter()
            .map(|&c| {
                history
                    .iter()
                    .map(|r| r.nb201.as_ref().map_or(f64::NAN, |a| a.acc[c]))
                    .collect()
            })
            .collect();
        let names: Vec<&str> = cols.iter().map(|&c| c.name()).collect();
        viz::line_chart(
            "NAS-Bench-201 test accuracy of the derived arch",
            "top-1 %",
            &names,
            &series,
        )?
        .write(run_dir, "nb201")?;
    }
    Ok(())
}

/// The epoch's record as TensorBoard events: every number of the record, β per edge and op
/// (named), and the derived cell as text. A failure is a warning: dashboards never stop a run.
pub(super) fn dashboard(tb: &mut EventWriter, cfg: &SearchConfig, record: &EpochRecord) {
    let space = cfg.space();
    let (tensors, ops) = (space.alpha_names(), space.op_names());
    let mut scalars = match serde_json::to_value(record) {
        Ok(v) => tensorboard::scalars_of(&v, &["epoch", "alpha", "beta", "seconds"]),
        Err(_) => vec![],
    };
    for (t, beta) in record.beta.iter().enumerate() {
        let name = tensors.get(t).copied().unwrap_or("beta");
        for (e, row) in beta.iter().enumerate() {
            for (o, &b) in row.iter().enumerate() {
                let op = ops.get(o).copied().unwrap_or("op");
                scalars.push((format!("beta/{name}/edge{e:02}/{op}"), f64::from(b)));
            }
        }
    }
    if let Err(e) = tb.write(record.epoch as u64, &scalars, &[("cell", &record.arch)]) {
        tracing::warn!(error = %e, "could not write the TensorBoard events");
    }
}
