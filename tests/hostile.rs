//! Hostile inputs to the deploy side, end to end: each must end in a clear error (exit 2), never
//! a panic, a hang or an answer from mismatched data.

use crate::common::{fails, ok};

const ARCH: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";

fn model(dir: &std::path::Path) -> String {
    let m = dir.join("m.onnx").to_string_lossy().into_owned();
    ok(&[
        "export",
        "--random-init",
        "--arch",
        ARCH,
        "--channels",
        "4",
        "-o",
        &m,
    ]);
    m
}

fn idx(dims: &[u32], data: usize) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    dims.iter()
        .for_each(|d| b.extend_from_slice(&d.to_be_bytes()));
    b.extend(std::iter::repeat_n(1u8, data));
    b
}

#[test]
fn eval_refuses_labels_that_do_not_match_the_images_or_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let data = dir.path().join("idx");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("t10k-images-idx3-ubyte"), idx(&[2, 8, 8], 128)).unwrap();
    std::fs::write(data.join("t10k-labels-idx1-ubyte"), idx(&[3], 3)).unwrap();
    let d = data.to_str().unwrap();
    let e = fails(&["deploy", "eval", &m, "--data", d], 2);
    assert!(e.contains("2 images but 3 labels"), "{e}");
    // A label past the model's classes (10) in a labels.csv folder.
    let flat = dir.path().join("flat");
    std::fs::create_dir(&flat).unwrap();
    std::fs::write(flat.join("labels.csv"), "file,label\na.png,12\n").unwrap();
    let e = fails(&["deploy", "eval", &m, "--data", flat.to_str().unwrap()], 2);
    assert!(e.contains("label 12 is not a class of the model"), "{e}");
    let e = fails(&["deploy", "eval", &m, "--data", d, "--batch", "0"], 2);
    assert!(
        e.contains("--batch") && e.contains("must lie in 1..=4096"),
        "{e}"
    );
}

#[test]
fn a_fifo_named_like_an_image_is_skipped_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let class = dir.path().join("val").join("class_0");
    std::fs::create_dir_all(&class).unwrap();
    let fifo = class.join("x.png");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfifo not available");
        return;
    }
    let e = fails(
        &[
            "deploy",
            "eval",
            &m,
            "--data",
            dir.path().join("val").to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("no .jpg/.jpeg/.png images"), "{e}");
}

#[test]
fn models_and_flags_the_server_cannot_use_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let e = fails(&["deploy", "serve", &m, "--timeout", "0"], 2);
    assert!(e.contains("--timeout"), "{e}");
    let e = fails(&["deploy", "serve", &m, "--max-batch", "0"], 2);
    assert!(e.contains("--max-batch"), "{e}");
    let empty = dir.path().join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    let e = fails(&["deploy", "predict", empty.to_str().unwrap(), "x.png"], 2);
    assert!(
        e.contains("empty.onnx") && e.contains("empty (0 bytes)"),
        "{e}"
    );
}

/// A model that makes tract itself panic (found by the onnx fuzz target: a pooling node whose
/// padding has fewer entries than its kernel) is a clean error naming it, with no panic text.
#[test]
fn a_model_that_panics_tract_is_a_clean_error() {
    let bad = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/regressions/onnx-pool-padding-index.onnx"
    );
    let image = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/image/rgb.png");
    let e = fails(&["deploy", "predict", bad, image], 2);
    assert!(
        e.contains("onnx-pool-padding-index.onnx") && e.contains("malformed or unsupported"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set/airplane");
    std::fs::create_dir_all(&set).unwrap();
    std::fs::copy(image, set.join("a.png")).unwrap();
    let e = fails(
        &[
            "deploy",
            "eval",
            bad,
            "--data",
            set.parent().unwrap().to_str().unwrap(),
        ],
        2,
    );
    assert!(
        e.contains("malformed or unsupported") && !e.contains("panicked"),
        "{e}"
    );
}

/// Devices, FIFOs and folders named as input files are refused before reading (`/dev/zero` as
/// a genotype or model was read until memory ran out), and a run that fails before it starts
/// leaves no run directory behind, so the same `--out` works next time.
#[test]
fn non_files_are_refused_and_failed_starts_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("g.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fifo = fifo.to_str().unwrap();
    for args in [
        vec!["genotype", "show", "/dev/zero"],
        vec!["genotype", "show", fifo],
        vec!["deploy", "predict", "/dev/zero", "x.png"],
        vec!["train", "--genotype", "/dev/zero", "--epochs", "1"],
        vec!["nb201", "best", "--table", fifo],
    ] {
        let e = fails(&args, 2);
        assert!(e.contains("not a regular file"), "{args:?}: {e}");
    }
    let e = fails(&["genotype", "show", dir.path().to_str().unwrap()], 2);
    assert!(e.contains("a folder"), "{e}");

    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    let tiny = [
        "--epochs",
        "1",
        "--steps-per-epoch",
        "1",
        "--channels",
        "2",
        "--batch-size",
        "4",
    ];
    let mut args = vec![
        "search", "--space", "nb201", "--table", fifo, "--out", run_s,
    ];
    args.extend(tiny);
    fails(&args, 2);
    assert!(!run.exists(), "the failed search left {run_s} behind");
    std::fs::create_dir(&run).unwrap();
    fails(&args, 2);
    assert_eq!(
        std::fs::read_dir(&run).unwrap().count(),
        0,
        "an empty --out stays empty"
    );
    let empty = dir.path().join("no-data");
    std::fs::create_dir(&empty).unwrap();
    fails(
        &[
            "train",
            "--dataset",
            "cifar10",
            "--data-dir",
            empty.to_str().unwrap(),
            "--out",
            run_s,
            "--epochs",
            "1",
        ],
        2,
    );
    assert_eq!(std::fs::read_dir(&run).unwrap().count(), 0);
    // And the folder is usable: a run starts there.
    let mut good = vec![
        "search",
        "--space",
        "nb201",
        "--out",
        run_s,
        "--image-size",
        "8",
    ];
    good.extend(tiny);
    ok(&good);
    assert!(run.join("config.json").is_file());
}

/// Benchmark and deploy flags have ranges too: a slip is refused by the parser, not run until
/// memory runs out (or printed as NaN).
#[test]
fn bench_and_deploy_flags_out_of_range_are_refused() {
    let m = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/onnx/nb201-c4-l1-s8.onnx"
    );
    for (args, flag) in [
        (vec!["bench", "train-step", "--repeats", "0"], "--repeats"),
        (
            vec!["bench", "search-step", "--channels", "100000"],
            "--channels",
        ),
        (
            vec!["bench", "search-step", "--image-size", "100000"],
            "--image-size",
        ),
        (
            vec!["bench", "train-step", "--layers", "100000"],
            "--layers",
        ),
        (vec!["deploy", "bench", m, "--batch", "1,100000"], "--batch"),
        (
            vec!["deploy", "eval", m, "--data", ".", "--batch", "100000"],
            "--batch",
        ),
        (
            vec!["deploy", "serve", m, "--max-connections", "10000000"],
            "--max-connections",
        ),
    ] {
        let e = fails(&args, 2);
        assert!(e.contains(flag) && e.contains("must"), "{args:?}: {e}");
    }
}

/// `genotype draw -o DIR` replaces only diagrams it drew itself, unless `--force`.
#[test]
fn draw_does_not_replace_a_users_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let v2 = crate::common::v2();
    let v2 = v2.as_str();
    std::fs::write(dir.path().join("cell.dot"), "my own graph").unwrap();
    let e = fails(&["genotype", "draw", v2, "-o", out], 2);
    assert!(e.contains("cell.dot") && e.contains("--force"), "{e}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cell.dot")).unwrap(),
        "my own graph"
    );
    assert!(
        !dir.path().join("cell.svg").exists(),
        "nothing written when refused"
    );
    ok(&["genotype", "draw", v2, "-o", out, "--force"]);
    // Its own files it replaces without asking.
    ok(&["genotype", "draw", v2, "-o", out]);
    let svg = std::fs::read_to_string(dir.path().join("cell.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("sep_conv_3x3"),
        "{svg}"
    );
}
