//! `betadarts search` end to end on the built-in Fashion-MNIST subset, at toy sizes.

use crate::common::{args, fails, history, ok};

const NB201_OPS: [&str; 5] = [
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
];

/// Tiny settings: C=4, N=1, 8×8 images, 3 steps of 16 images per epoch.
pub fn tiny(out: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "search",
        "--channels",
        "4",
        "--cells",
        "1",
        "--image-size",
        "8",
        "--batch-size",
        "16",
        "--steps-per-epoch",
        "3",
        "--epochs",
        "2",
        "--seed",
        "5",
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Checks the official NB201 arch-string format: 3 nodes, node i has i entries op~j, j = 0..i.
pub fn assert_valid_arch(s: &str) {
    let nodes: Vec<&str> = s.split('+').collect();
    assert_eq!(nodes.len(), 3, "{s}");
    for (i, node) in nodes.iter().enumerate() {
        let entries: Vec<&str> = node.trim_matches('|').split('|').collect();
        assert_eq!(entries.len(), i + 1, "{s}");
        for (j, e) in entries.iter().enumerate() {
            let (op, input) = e.split_once('~').expect("op~input");
            assert!(NB201_OPS.contains(&op), "{op} in {s}");
            assert_eq!(input, j.to_string());
        }
    }
}

#[test]
fn tiny_search_writes_a_valid_arch_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let stdout = ok(&args(&tiny(run.to_str().unwrap(), &[])));
    let arch = std::fs::read_to_string(run.join("arch.txt")).unwrap();
    assert_valid_arch(arch.trim());
    assert_eq!(stdout.trim(), arch.trim(), "the final arch is printed");
    let h = history(&run);
    assert_eq!(h.len(), 2);
    for (e, r) in h.iter().enumerate() {
        assert_eq!(r["epoch"], e);
        assert_eq!(r["steps"], 3);
        let alpha = r["alpha"][0].as_array().unwrap();
        assert_eq!((alpha.len(), alpha[0].as_array().unwrap().len()), (6, 5));
        for row in r["beta"][0].as_array().unwrap() {
            let s: f64 = row
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .sum();
            assert!((s - 1.0).abs() < 1e-5, "β rows sum to 1");
        }
        assert_valid_arch(r["arch"].as_str().unwrap());
    }
    // The default λ ramp 0→50 over 100 epochs: λ = epoch/2.
    assert_eq!(h[1]["lambda"], 0.5);
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["regularizer"], "beta");
    assert_eq!(cfg["channels"], 4);
    // Self-describing: the tool, the schema, and α/β's layout in history.jsonl by name.
    let about = &cfg["about"];
    assert_eq!(
        (&about["tool"], &about["schema_version"], &about["kind"]),
        (&"betadarts".into(), &1.into(), &"search".into())
    );
    assert_eq!(about["alpha"][0]["ops"], serde_json::json!(NB201_OPS));
    assert_eq!(about["alpha"][0]["edges"].as_array().unwrap().len(), 6);
    assert_eq!(about["alpha"][0]["edges"][5], "3<-2");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let files: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for f in [
        "arch.txt",
        "checkpoint.bin",
        "config.json",
        "history.jsonl",
        "summary.json",
        "tb/",
    ] {
        assert!(files.contains(&f), "{f} in {files:?}");
    }
    assert!(!files.contains(&".lock"));
    assert!(run.join("checkpoint.bin").exists());
    // Pictures: the cell, β per edge (6 panels × 5 ops), the skip share.
    let beta = std::fs::read_to_string(run.join("beta.svg")).unwrap();
    assert_eq!(crate::common::series_lines(&beta), 30);
    assert!(
        std::fs::read_to_string(run.join("cell.svg"))
            .unwrap()
            .contains("NAS-Bench-201 cell")
    );
    assert!(run.join("skip_share.svg").exists());
}

#[test]
fn resumed_run_matches_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    let part = dir.path().join("part");
    ok(&args(&tiny(full.to_str().unwrap(), &[])));
    let stopped =
        crate::common::betadarts(&args(&tiny(part.to_str().unwrap(), &["--stop-after", "1"])));
    assert!(stopped.status.success());
    assert!(String::from_utf8_lossy(&stopped.stderr).contains("--resume"));
    assert_eq!(history(&part).len(), 1);
    assert!(
        !part.join("arch.txt").exists(),
        "a stopped run has no final arch yet"
    );
    ok(&["search", "--resume", part.to_str().unwrap()]);
    let (a, b) = (history(&full), history(&part));
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2);
    let keys = ["alpha", "train_loss", "arch_loss", "arch"];
    crate::common::assert_same_search(&full, &part, 1, &keys);
}

#[test]
fn a_checkpoint_of_the_per_edge_format_is_refused_and_kept() {
    use betadarts_search::run_dir::{read_checkpoint, write_checkpoint};
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("part");
    ok(&args(&tiny(part.to_str().unwrap(), &["--stop-after", "1"])));
    // What an earlier betadarts wrote: the same file, format 1 (per-edge parameters).
    let path = part.join("checkpoint.bin");
    let mut ckpt = read_checkpoint(&path).unwrap();
    ckpt.header["format"] = 1.into();
    write_checkpoint(&path, &ckpt).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = fails(&["search", "--resume", part.to_str().unwrap()], 1);
    assert!(err.contains("checkpoint.bin"), "{err}");
    assert!(err.contains("checkpoint format 1"), "{err}");
    assert!(err.contains("start a new run"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the checkpoint is left as it was"
    );
    assert_eq!(history(&part).len(), 1, "the history is left as it was");
}

#[test]
fn search_learns_above_chance() {
    // Guards the weight step actually training the supernet (10 classes: chance is 10%).
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    ok(&[
        "search",
        "--channels",
        "4",
        "--cells",
        "1",
        "--image-size",
        "16",
        "--epochs",
        "4",
        "--out",
        run.to_str().unwrap(),
    ]);
    let h = history(&run);
    let last = h.last().unwrap();
    let acc = last["train_acc"].as_f64().unwrap();
    assert!(acc > 25.0, "train accuracy {acc}% after 4 epochs");
    assert!(last["train_loss"].as_f64().unwrap() < h[0]["train_loss"].as_f64().unwrap());
}

#[test]
fn regularizers_and_schedules_are_selectable() {
    let dir = tempfile::tempdir().unwrap();
    for (reg, sched, want_lambda1) in [
        ("none", "constant:3", 3.0),
        ("l2", "decrease:4:0:2", 2.0),
        ("beta-zero", "linear:0:10", 5.0),
    ] {
        let run = dir.path().join(reg);
        ok(&args(&tiny(
            run.to_str().unwrap(),
            &["--regularizer", reg, "--lambda-schedule", sched],
        )));
        let h = history(&run);
        assert_eq!(
            h[1]["lambda"].as_f64().unwrap(),
            want_lambda1,
            "{reg} {sched}"
        );
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let out = out.to_str().unwrap();
    let e = fails(&["search", "--dataset", "imagenet", "--out", out], 2);
    assert!(e.contains("unknown dataset \"imagenet\""), "{e}");
    let e = fails(
        &[
            "search",
            "--dataset",
            "cifar10",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--out",
            out,
        ],
        2,
    );
    assert!(
        e.contains("data_batch_1.bin") && e.contains("--data-dir"),
        "{e}"
    );
    let e = fails(&["search", "--regularizer", "beta2", "--out", out], 2);
    assert!(e.contains("beta-global"), "{e}");
    let e = fails(&["search", "--lambda-schedule", "ramp", "--out", out], 2);
    assert!(e.contains("constant:V"), "{e}");
    if !cfg!(feature = "tch") {
        let e = fails(&["search", "--device", "cuda:0", "--out", out], 2);
        assert!(e.contains("--features tch"), "{e}");
    }
    let e = fails(
        &[
            "search",
            "--resume",
            dir.path().join("nope").to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("holds no run (no config.json)"), "{e}");
}

#[test]
fn bench_prints_a_median() {
    let s = ok(&[
        "bench",
        "search-step",
        "--channels",
        "4",
        "--cells",
        "1",
        "--batch-size",
        "8",
        "--image-size",
        "8",
        "--repeats",
        "2",
        "--warmup",
        "0",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(s.trim()).unwrap();
    assert!(v["median_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn nb201_lookup_through_the_cli() {
    let table = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/nb201/nb201_accuracies.csv");
    if !table.exists() {
        eprintln!("SKIPPED: ../shared/data/nb201 not found");
        return;
    }
    let s = ok(&[
        "nb201",
        "lookup",
        "1835",
        "--json",
        "--table",
        table.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(s.trim()).unwrap();
    assert_eq!(
        format!("{:.2}", v["acc"][1].as_f64().unwrap()),
        "54.30",
        "all-skip cell, CIFAR-10 test"
    );
    assert!(v["arch"].as_str().unwrap().starts_with("|skip_connect~0|"));
    let e = fails(
        &[
            "nb201",
            "lookup",
            "|bogus~0|",
            "--table",
            table.to_str().unwrap(),
        ],
        1,
    );
    assert!(e.contains("not in"), "{e}");
}

#[test]
fn help_documents_the_exit_codes() {
    let out = ok(&["--help"]);
    assert!(
        out.contains("Exit codes: 0 success; 1 failure while running")
            && out.contains("2 bad input"),
        "{out}"
    );
}
