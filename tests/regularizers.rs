//! The regularizer-study features of a single search: NB201 accuracies recorded per epoch,
//! temperature decay, the learned decay strength, and the per-epoch diagnostics.

use crate::common::{args, fails, history, nb201_table, ok};
use crate::search::tiny;

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().expect("a number")
}

#[test]
fn search_with_a_table_records_and_prints_nb201_accuracies() {
    let Some(table) = nb201_table() else {
        eprintln!("SKIPPED: ../shared/data/nb201 not found");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = ok(&args(&tiny(run.to_str().unwrap(), &["--table", &table])));
    let h = history(&run);
    for r in &h {
        let acc = r["nb201"]["acc"]
            .as_array()
            .expect("accuracies every epoch");
        assert_eq!(acc.len(), 6);
        // Looked up independently through `nb201 lookup`.
        let row: serde_json::Value = serde_json::from_str(
            ok(&[
                "nb201",
                "lookup",
                r["arch"].as_str().unwrap(),
                "--json",
                "--table",
                &table,
            ])
            .trim(),
        )
        .unwrap();
        assert_eq!(r["nb201"]["index"], row["index"]);
        assert_eq!(r["nb201"]["acc"], row["acc"]);
    }
    let last = &h[h.len() - 1]["nb201"]["acc"];
    assert!(
        out.contains(&format!("{:<17} {:6.2}", "cifar10_test", f(&last[1]))),
        "{out}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["nb201"]["cifar100_test"], last[3]);
    assert!(run.join("nb201.svg").exists());
}

#[test]
fn temperature_decay_sets_beta_to_softmax_alpha_over_t() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut a = tiny(
        run.to_str().unwrap(),
        &[
            "--temperature",
            "exponential",
            "--t0",
            "1",
            "--t-min",
            "0.01",
        ],
    );
    let i = a.iter().position(|x| x == "--epochs").unwrap();
    a[i + 1] = "3".into();
    ok(&args(&a));
    let h = history(&run);
    let temps: Vec<f64> = h.iter().map(|r| f(&r["temperature"])).collect();
    for (t, want) in temps.iter().zip([1.0, 0.1, 0.01]) {
        assert!((t - want).abs() < 1e-9, "{temps:?}");
    }
    // The recorded β is the mixing weight the network used: softmax(α/T) of the same epoch.
    for r in &h {
        let t = f(&r["temperature"]);
        for (arow, brow) in r["alpha"][0]
            .as_array()
            .unwrap()
            .iter()
            .zip(r["beta"][0].as_array().unwrap())
        {
            let al: Vec<f64> = arow.as_array().unwrap().iter().map(f).collect();
            let m = al.iter().cloned().fold(f64::MIN, f64::max);
            let z: f64 = al.iter().map(|x| ((x - m) / t).exp()).sum();
            for (x, b) in al.iter().zip(brow.as_array().unwrap()) {
                assert!((((x - m) / t).exp() / z - f(b)).abs() < 1e-4);
            }
        }
    }
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["temperature"]["kind"], "exponential");
    let out = dir.path().join("x");
    let e = fails(&["search", "--t0", "2", "--out", out.to_str().unwrap()], 2);
    assert!(e.contains("--temperature"), "{e}");
    let e = fails(
        &[
            "search",
            "--temperature",
            "linear:1:0",
            "--out",
            out.to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("positive temperature"), "{e}");
}

#[test]
fn diagnostics_are_recorded_every_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    ok(&args(&tiny(
        run.to_str().unwrap(),
        &["--lambda-schedule", "constant:10"],
    )));
    for r in history(&run) {
        let d = &r["diagnostics"];
        let beta = r["beta"][0].as_array().unwrap();
        for (e, row) in beta.iter().enumerate() {
            let p: Vec<f64> = row.as_array().unwrap().iter().map(f).collect();
            let ent = -p.iter().map(|x| x * x.ln()).sum::<f64>();
            let norm = p.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((f(&d["entropy"][0][e]) - ent).abs() < 1e-5);
            assert!((f(&d["beta_norm"][0][e]) - norm).abs() < 1e-5);
            assert!((f(&d["max_beta"][0][e]) - p.iter().cloned().fold(0.0, f64::max)).abs() < 1e-6);
        }
        // With λ = 10 the β-decay pull on α is λ·‖β/E‖ ≈ 10·√30·(0.2/6) ≈ 1.83 near uniform β.
        let reg = f(&d["alpha_grad_reg"]);
        assert!(
            (reg - 10.0 * 30f64.sqrt() * 0.2 / 6.0).abs() < 0.05,
            "{reg}"
        );
        assert!(f(&d["alpha_grad_ce"]) > 0.0);
        assert_eq!(d["alpha_std"].as_array().unwrap().len(), 1);
    }
    assert!(run.join("beta_norm.svg").exists());
}

#[test]
fn learned_strength_is_recorded_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    let part = dir.path().join("part");
    let extra = [
        "--regularizer",
        "beta-learned",
        "--lambda-schedule",
        "constant:5",
        "--strength-lr",
        "2",
    ];
    ok(&args(&tiny(full.to_str().unwrap(), &extra)));
    let mut stop = extra.to_vec();
    stop.extend(["--stop-after", "1"]);
    ok(&args(&tiny(part.to_str().unwrap(), &stop)));
    ok(&["search", "--resume", part.to_str().unwrap()]);
    let (a, b) = (history(&full), history(&part));
    let theta: Vec<f64> = a[1]["strength"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(f)
        .collect();
    assert_eq!(theta.len(), 6);
    assert!(
        theta.iter().all(|&t| t > 0.0 && t < 2.0),
        "θ in (0, θ_max): {theta:?}"
    );
    assert!(
        theta.iter().any(|&t| (t - 1.0).abs() > 1e-6),
        "θ was learned: {theta:?}"
    );
    for key in ["strength", "alpha", "arch"] {
        assert_eq!(a[1][key], b[1][key], "{key} after resume");
    }
}
