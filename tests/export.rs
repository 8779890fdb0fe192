//! `betadarts export` end to end: from a training checkpoint, with --check, the onnx checker
//! (where the `onnx` Python package is available, as in CI), and clear errors.

use std::path::Path;
use std::process::Command;

use crate::common::{betadarts, fails, ok, python_with, v2};

/// The Python with the `onnx` package: $BETADARTS_PYTHON, else python3 if it has it.
fn onnx_python() -> Option<String> {
    python_with("onnx")
}

/// A trained tiny DARTS V2 network (`train::tiny`), its run directory.
fn train_tiny(dir: &Path) -> std::path::PathBuf {
    let run = dir.join("run");
    ok(&crate::common::args(&crate::train::tiny(&run, &[])));
    run
}

#[test]
fn trained_checkpoint_exports_checks_and_passes_the_onnx_checker() {
    let dir = tempfile::tempdir().unwrap();
    let run = train_tiny(dir.path());
    for (fold, name) in [(true, "folded.onnx"), (false, "plain.onnx")] {
        let out = dir.path().join(name);
        let mut args = vec![
            "export",
            run.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--check",
        ];
        if !fold {
            args.push("--no-fold");
        }
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/samples");
        if samples.is_dir() {
            args.extend(["--samples", samples.to_str().unwrap()]);
        }
        let s = ok(&args);
        assert!(s.contains("tract max |Δlogit|") && s.contains("ok"), "{s}");
        assert!(!s.contains("FAILED"), "{s}");
        let bytes = std::fs::read(&out).unwrap();
        let meta = betadarts_deploy::ModelMeta::from_onnx(&bytes).unwrap();
        assert_eq!(meta.network, "cifar");
        assert_eq!(meta.class_names.len(), 10);
        assert_eq!(meta.class_names[9], "Ankle boot");
        assert_eq!((meta.input_channels, meta.input_size), (1, 8));
        assert!(meta.genotype.as_deref().unwrap().contains("dil_conv_3x3"));
        assert!(meta.accuracy.as_deref().unwrap().contains("best_test_acc"));
        if let Some(py) = onnx_python() {
            let o = Command::new(py)
                .args([
                    "-c",
                    "import onnx, sys; onnx.checker.check_model(sys.argv[1], full_check=True)",
                    out.to_str().unwrap(),
                ])
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "onnx checker: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        } else {
            eprintln!(
                "onnx checker SKIPPED: no Python with the onnx package (set BETADARTS_PYTHON)"
            );
        }
    }
}

#[test]
fn random_init_export_for_latency_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nb.onnx");
    ok(&[
        "export",
        "--random-init",
        "--arch",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "--classes",
        "100",
        "-o",
        out.to_str().unwrap(),
    ]);
    let meta = betadarts_deploy::ModelMeta::from_onnx(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(meta.network, "nb201");
    assert_eq!(meta.class_names.len(), 100);
    assert!(
        meta.madds.unwrap() > 100_000_000,
        "NB201 arch 9930 has ~185 M FLOPs-as-MAdds"
    );
}

#[test]
fn random_init_exports_are_the_same_file_for_the_same_seed() {
    // ONNX and safetensors alike: the safetensors metadata comes from a hash map, whose order
    // changes from run to run unless the header is written sorted.
    let dir = tempfile::tempdir().unwrap();
    let genotype = v2();
    let export = |seed: &str, name: &str| {
        let out = dir.path().join(name);
        ok(&[
            "export",
            "--random-init",
            "--genotype",
            &genotype,
            "--channels",
            "4",
            "--layers",
            "5",
            "--seed",
            seed,
            "-o",
            out.to_str().unwrap(),
        ]);
        std::fs::read(out).unwrap()
    };
    for ext in ["onnx", "safetensors"] {
        let a = export("3", &format!("a.{ext}"));
        let b = export("3", &format!("b.{ext}"));
        let c = export("4", &format!("c.{ext}"));
        assert!(a == b, "{ext}: two exports with seed 3 differ");
        assert!(a != c, "{ext}: seeds 3 and 4 gave the same weights");
    }
}

#[test]
fn export_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.ckpt");
    std::fs::write(&junk, b"definitely not a checkpoint").unwrap();
    let out = dir.path().join("x.onnx");
    let e = fails(
        &[
            "export",
            junk.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        e.contains("junk.ckpt") && e.contains("not a betadarts checkpoint"),
        "{e}"
    );
    // A checkpoint whose config names another genotype than its weights were trained with.
    let run = train_tiny(dir.path());
    let ckpt = betadarts_search::run_dir::read_checkpoint(&run.join("best.ckpt")).unwrap();
    let mut header = ckpt.header.clone();
    header["config"]["genotype"] = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/genotypes/PDARTS.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let bad = dir.path().join("mismatch.ckpt");
    betadarts_search::run_dir::write_checkpoint(
        &bad,
        &betadarts_search::run_dir::Checkpoint {
            header,
            blobs: ckpt.blobs,
        },
    )
    .unwrap();
    let e = fails(
        &["export", bad.to_str().unwrap(), "-o", out.to_str().unwrap()],
        1,
    );
    assert!(
        e.contains("mismatch.ckpt") && e.contains("do not match"),
        "{e}"
    );
    assert!(!out.exists(), "nothing is written on failure");
    let o = betadarts(&["export", "-o", out.to_str().unwrap()]);
    assert!(!o.status.success());
}
