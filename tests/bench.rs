//! `bench`: both sides of the PyTorch comparison compute the same thing (the same weights,
//! written here and read there, and the same batch give the same loss and α gradient), and
//! the step benches print what `bench compare` reads.

use std::path::Path;
use std::process::Command;

use crate::common::{betadarts, ok};

/// A Python that imports torch and safetensors: $BETADARTS_TORCH_PYTHON, else python3.
fn torch_python() -> Option<String> {
    let py = std::env::var("BETADARTS_TORCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import torch, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

#[test]
fn nb201_step_matches_the_pytorch_reference_on_the_same_weights() {
    let Some(py) = torch_python() else {
        eprintln!(
            "PyTorch parity SKIPPED: no Python with torch and safetensors (set BETADARTS_TORCH_PYTHON)"
        );
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reference/nb201_search.py");
    for (c, n, size, batch) in [("4", "1", "8", "4"), ("3", "2", "16", "3")] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dump");
        let out_s = out.to_str().unwrap();
        ok(&[
            "bench",
            "dump",
            "--out",
            out_s,
            "--channels",
            c,
            "--cells",
            n,
            "--image-size",
            size,
            "--batch-size",
            batch,
            "--lambda",
            "2.5",
        ]);
        let run = Command::new(&py)
            .arg(&script)
            .args(["--check", out_s, "--threads", "1"])
            .output()
            .expect("python runs");
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "reference check failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
        for field in [
            "arch_ce",
            "alpha_grad",
            "alphas_after",
            "weight_ce",
            "grad_norm",
        ] {
            assert!(
                v["fields"][field]["ok"].as_bool() == Some(true),
                "C={c} N={n} {size}px: {field} differs: {}",
                v["fields"][field]
            );
        }
        // The tolerances are those of the issue: loss 1e-4, α gradient 1e-4 relative.
        assert!(v["fields"]["arch_ce"]["tolerance"].as_f64() <= Some(1e-4));
        assert!(v["fields"]["alpha_grad"]["tolerance"].as_f64() <= Some(1e-4));
    }
}

#[test]
fn step_benches_print_the_json_compare_reads() {
    for space in ["nb201", "darts"] {
        let out = ok(&[
            "bench",
            "search-step",
            "--space",
            space,
            "--channels",
            "2",
            "--cells",
            "2",
            "--batch-size",
            "2",
            "--image-size",
            "8",
            "--repeats",
            "2",
            "--warmup",
            "0",
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["times_s"].as_array().map(Vec::len), Some(2), "{v}");
        assert!(v["median_s"].as_f64().unwrap() > 0.0);
        assert!(v["peak_rss_bytes"].as_u64().unwrap() > 0);
    }
    let out = ok(&[
        "bench",
        "train-step",
        "--channels",
        "4",
        "--layers",
        "3",
        "--batch-size",
        "2",
        "--image-size",
        "32",
        "--repeats",
        "1",
        "--warmup",
        "0",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["bench"], "train-step");
}

#[test]
fn compare_says_clearly_when_torch_is_missing() {
    let out = betadarts(&["bench", "compare", "--python", "/nonexistent/python"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PyTorch") && err.contains("--python"), "{err}");
}

#[test]
fn dump_refuses_to_overwrite_a_dump() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let out_s = out.to_str().unwrap();
    ok(&["bench", "dump", "--out", out_s]);
    for f in ["weights.safetensors", "batch.safetensors", "expected.json"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let again = betadarts(&["bench", "dump", "--out", out_s]);
    assert!(!again.status.success());
}
