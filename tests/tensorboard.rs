//! Search and training runs write TensorBoard event files (`tb/`): read back with TensorBoard's
//! own reader when a Python with the `tensorboard` package is found ($BETADARTS_PYTHON).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{args, history, ok, python_with, run_ok};

/// The run's events as TensorBoard reads them: {"scalars": {tag: [[step, v]]}, "texts": …}.
fn read_events(py: &str, run: &Path) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/tb_events.py");
    let out = run_ok(Command::new(py).arg(script).arg(run.join("tb")));
    serde_json::from_slice(&out).unwrap()
}

/// The series `tag` equals `want(record)` for every epoch (at f32 precision).
fn assert_series(ev: &Value, tag: &str, h: &[Value], want: impl Fn(&Value) -> f64) {
    let s = ev["scalars"][tag]
        .as_array()
        .unwrap_or_else(|| panic!("no scalar {tag}: {ev}"));
    assert_eq!(s.len(), h.len(), "{tag}");
    for (point, r) in s.iter().zip(h) {
        assert_eq!(point[0], r["epoch"], "{tag}");
        let (got, w) = (point[1].as_f64().unwrap(), want(r));
        assert!(
            (got - w).abs() <= 1e-6 * w.abs().max(1.0),
            "{tag}: {got} vs {w}"
        );
    }
}

#[test]
fn search_and_training_runs_are_readable_by_tensorboard() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("search");
    ok(&args(&crate::search::tiny(run.to_str().unwrap(), &[])));
    let train = dir.path().join("train");
    ok(&args(&crate::train::tiny(&train, &[])));
    let files: Vec<_> = std::fs::read_dir(run.join("tb")).unwrap().collect();
    assert_eq!(files.len(), 1, "one event file per process");
    let Some(py) = python_with("tensorboard.backend.event_processing.event_accumulator") else {
        println!(
            "TensorBoard check SKIPPED: no Python with the tensorboard package (set BETADARTS_PYTHON)"
        );
        return;
    };
    let h = history(&run);
    let ev = read_events(&py, &run);
    for key in ["train_loss", "arch_acc", "lambda", "lr", "reg"] {
        assert_series(&ev, key, &h, |r| r[key].as_f64().unwrap());
    }
    assert_series(&ev, "diagnostics/entropy/0/2", &h, |r| {
        r["diagnostics"]["entropy"][0][2].as_f64().unwrap()
    });
    // β per edge and op, named: edge 4's avg_pool_3x3 (op 4 of NB201's five).
    assert_series(&ev, "beta/alphas/edge04/avg_pool_3x3", &h, |r| {
        r["beta"][0][4][4].as_f64().unwrap()
    });
    let texts = ev["texts"]["cell"].as_array().unwrap();
    assert_eq!(texts.len(), h.len());
    for (t, r) in texts.iter().zip(&h) {
        assert_eq!((&t[0], &t[1]), (&r["epoch"], &r["arch"]));
    }
    let th = history(&train);
    let tev = read_events(&py, &train);
    for key in ["train_loss", "test_acc", "lr"] {
        assert_series(&tev, key, &th, |r| r[key].as_f64().unwrap());
    }
    println!("TensorBoard's reader: search and training series equal history.jsonl");
}
