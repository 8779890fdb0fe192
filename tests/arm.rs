//! The 64-bit ARM deploy binary, run under `qemu-aarch64`, predicts what the x86 build predicts
//! on the lossless samples: top-1 identical, every probability within 1e-5 (and every logit, relative
//! to 1 + |logit|). Two models: a trained
//! NB201 network, and a DARTS-space one (PDARTS cells, random weights) whose depthwise convs —
//! 3×3 and 5×5, dilated, stride 1 and 2 — run on our kernel (portable code on ARM, AVX2 on x86). Needs the binary
//! (`scripts/build-arm.sh`, or `BETADARTS_ARM_BIN`) and `qemu-aarch64`; without them the test
//! prints why and passes (CI builds the binary when the toolchain can be installed).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{ok, run_ok};

fn arm_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("BETADARTS_ARM_BIN") {
        return Ok(PathBuf::from(p));
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/aarch64-unknown-linux-gnu");
    ["device", "release"]
        .iter()
        .map(|p| target.join(p).join("betadarts-deploy"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no ARM binary under {} (scripts/build-arm.sh builds one)",
                target.display()
            )
        })
}

/// Per image: file, top classes with their probabilities, logits.
type Prediction = (String, Vec<(u64, f64)>, Vec<f64>);

fn predictions(out: &str) -> Vec<Prediction> {
    out.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let top = v["top"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["index"].as_u64().unwrap(), t["prob"].as_f64().unwrap()))
                .collect();
            let logits = v["logits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            (v["file"].as_str().unwrap().to_string(), top, logits)
        })
        .collect()
}

#[test]
fn the_arm_binary_predicts_what_the_x86_build_predicts() {
    let arm = match arm_binary() {
        Ok(p) => p,
        Err(why) => return eprintln!("SKIPPED arm: {why}"),
    };
    if Command::new("qemu-aarch64")
        .arg("--version")
        .output()
        .is_err()
    {
        return eprintln!("SKIPPED arm: qemu-aarch64 is not installed (apt-get install qemu-user)");
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, nb201) = crate::deploy::model(dir.path());
    let darts = dir.path().join("pdarts.onnx");
    let genotype = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/genotypes/PDARTS.json");
    ok(&[
        "export",
        "--random-init",
        "--genotype",
        genotype.to_str().unwrap(),
        "--channels",
        "8",
        "--layers",
        "5",
        "-o",
        darts.to_str().unwrap(),
    ]);
    for onnx in [nb201, darts] {
        same_predictions(&arm, onnx.to_str().unwrap());
    }
}

/// Predictions of the x86 build and of the ARM binary under qemu on the lossless samples.
fn same_predictions(arm: &Path, onnx: &str) {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/samples");
    let mut images: Vec<String> = std::fs::read_dir(&samples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    images.sort();
    assert!(
        images.len() >= 20,
        "the lossless samples are in {}",
        samples.display()
    );
    let k = "10";
    let mut args = vec!["deploy", "predict", onnx, "--json", "--top-k", k];
    args.extend(images.iter().map(String::as_str));
    let x86 = predictions(&ok(&args));
    let out = run_ok(
        Command::new("qemu-aarch64")
            .args(["-L", "/usr/aarch64-linux-gnu"])
            .arg(arm)
            .args(&args[1..]),
    );
    let arm = predictions(&String::from_utf8_lossy(&out));
    assert_eq!(arm.len(), x86.len());
    let (mut worst, mut worst_logit) = (0.0f64, 0.0f64);
    for ((file, a, la), (_, x, lx)) in arm.iter().zip(&x86) {
        assert_eq!(
            a[0].0, x[0].0,
            "{file}: top-1 differs (ARM {:?}, x86 {:?})",
            a[0], x[0]
        );
        for (i, p) in a {
            let q = x.iter().find(|(j, _)| j == i).map(|(_, q)| *q).unwrap();
            worst = worst.max((p - q).abs());
        }
        // Logits too: a random-weight network's probabilities are all near 1 / classes, where a
        // probability hides a difference in the logits.
        assert_eq!(la.len(), lx.len());
        for (p, q) in la.iter().zip(lx) {
            worst_logit = worst_logit.max((p - q).abs() / (1.0 + q.abs()));
        }
    }
    eprintln!(
        "arm: {onnx}: {} images, top-1 identical, max |Δprob| {worst:.2e}, max |Δlogit|/(1+|logit|) {worst_logit:.2e}",
        arm.len()
    );
    assert!(worst <= 1e-5, "max |Δprob| {worst:e}");
    assert!(worst_logit <= 1e-5, "max relative |Δlogit| {worst_logit:e}");
}
