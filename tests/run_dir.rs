//! Run directories under hostile conditions, end to end: a second process on a running
//! directory, a checkpoint damaged on disk, a run that diverges.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{args, fails, history, ok};
use crate::search::tiny;

/// The tiny search of `search.rs` with `epochs` epochs.
fn tiny_epochs(out: &str, epochs: &str, extra: &[&str]) -> Vec<String> {
    let mut v = tiny(out, extra);
    let at = v.iter().position(|a| a == "--epochs").unwrap() + 1;
    v[at] = epochs.to_string();
    v
}

#[test]
fn a_second_process_on_a_running_directory_is_refused_and_a_killed_ones_lock_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let r = run.to_str().unwrap();
    let mut first = Command::new(env!("CARGO_BIN_EXE_betadarts"))
        .args(args(&tiny_epochs(r, "500", &[])))
        .env("BETADARTS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // config.json is written after the lock is taken.
    let t0 = Instant::now();
    while history_lines(&run) == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the first run never finished an epoch"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for attempt in [vec!["search", "--resume", r], args(&tiny(r, &[]))] {
        let e = fails(&attempt, 2);
        assert!(e.contains("is in use by another process (pid "), "{e}");
    }
    first.kill().unwrap();
    first.wait().unwrap();
    // Killed at an arbitrary point: its lock file stays, the kernel's lock does not.
    assert!(run.join(".lock").exists());
    let before = history_lines(&run);
    ok(&["search", "--resume", r, "--stop-after", "1"]);
    let h = history(&run);
    // One epoch past the checkpoint; the kill may have come between an epoch's history line and
    // its checkpoint, and then that line was dropped and the epoch run again.
    assert!(
        h.len() == before + 1 || h.len() == before,
        "{} lines after {before}",
        h.len()
    );
    let epochs: Vec<u64> = h.iter().map(|r| r["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, (0..h.len() as u64).collect::<Vec<_>>());
}

fn history_lines(run: &std::path::Path) -> usize {
    std::fs::read_to_string(run.join("history.jsonl"))
        .map(|t| t.lines().filter(|l| l.ends_with('}')).count())
        .unwrap_or(0)
}

#[test]
fn a_damaged_checkpoint_is_refused_and_the_run_resumes_exactly_from_the_one_before() {
    let dir = tempfile::tempdir().unwrap();
    let (full, part) = (dir.path().join("full"), dir.path().join("part"));
    ok(&args(&tiny_epochs(full.to_str().unwrap(), "3", &[])));
    let p = part.to_str().unwrap();
    ok(&args(&tiny_epochs(p, "3", &["--stop-after", "1"])));
    ok(&["search", "--resume", p, "--stop-after", "1"]);
    assert_eq!(history(&part).len(), 2);
    // Four bytes overwritten in the middle (the case that used to resume with NaN α).
    let ckpt = part.join("checkpoint.bin");
    let mut bytes = std::fs::read(&ckpt).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 4].copy_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
    std::fs::write(&ckpt, &bytes).unwrap();
    let out = crate::common::betadarts(&["search", "--resume", p]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("checksum mismatch") && stderr.contains("checkpoint.bin.prev"),
        "the fallback is reported: {stderr}"
    );
    assert_eq!(
        std::fs::read(part.join("checkpoint.bin.corrupt")).unwrap(),
        bytes
    );
    let (a, b) = (history(&full), history(&part));
    assert_eq!(
        b.len(),
        3,
        "epoch 1 was run again, its first record dropped"
    );
    assert_eq!(a.len(), 3);
    crate::common::assert_same_search(&full, &part, 2, &["alpha", "train_loss", "arch"]);
}

#[test]
fn a_diverging_run_stops_with_an_error_and_saves_nothing_bad() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let r = run.to_str().unwrap();
    ok(&args(&tiny(r, &["--stop-after", "1"])));
    let good = std::fs::read(run.join("checkpoint.bin")).unwrap();
    // The same run resumed with its config edited to a learning rate that blows up.
    let cfg_path = run.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    // Inf as the f32 the step uses (both ends: the shifted cosine reaches the minimum here).
    cfg["w_lr"] = 1e300.into();
    cfg["w_lr_min"] = 1e300.into();
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let e = fails(&["search", "--resume", r], 1);
    assert!(
        e.contains("diverged") && e.contains("epoch 1 (0-based), step "),
        "{e}"
    );
    assert!(e.contains("checkpoint of epoch 0 is kept"), "{e}");
    assert_eq!(std::fs::read(run.join("checkpoint.bin")).unwrap(), good);
    assert_eq!(history(&run).len(), 1);
    assert!(
        !run.join("arch.txt").exists(),
        "no arch from a diverged run"
    );

    let train = dir.path().join("train");
    let diverging = crate::train::tiny(&train, &["--lr", "1e30", "--steps-per-epoch", "3"]);
    let e = fails(&args(&diverging), 1);
    assert!(
        e.contains("training loss is NaN") && e.contains("no epoch had finished"),
        "{e}"
    );
    assert!(!train.join("last.ckpt").exists());
}

#[test]
fn sizes_and_rates_out_of_range_are_refused_before_anything_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = out.to_str().unwrap();
    let arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["search", "--channels", "100000", "--out", o],
            "--channels 100000",
        ),
        (
            vec!["search", "--image-size", "100000", "--out", o],
            "--image-size 100000",
        ),
        (vec!["search", "--w-lr", "NaN", "--out", o], "--w-lr NaN"),
        (vec!["search", "--arch-lr=-1", "--out", o], "--arch-lr -1"),
        (
            vec!["train", "--arch", arch, "--image-size", "1", "--out", o],
            "--image-size 1",
        ),
        (
            vec!["train", "--arch", arch, "--lr", "inf", "--out", o],
            "--lr inf",
        ),
        (
            vec!["train", "--arch", arch, "--layers", "100000", "--out", o],
            "--layers 100000",
        ),
    ];
    for (argv, needle) in cases {
        let e = fails(&argv, 2);
        assert!(e.contains(needle), "{argv:?}: {e}");
        assert!(!out.exists(), "{argv:?} left {}", out.display());
    }
    let model = dir.path().join("m.onnx");
    let m = model.to_str().unwrap();
    for (flag, value) in [("--classes", "0"), ("--image-size", "0")] {
        let e = fails(
            &[
                "export",
                "--random-init",
                "--arch",
                arch,
                flag,
                value,
                "-o",
                m,
            ],
            2,
        );
        assert!(e.contains(&format!("{flag} {value}")), "{e}");
        assert!(!model.exists());
    }
}

#[test]
fn export_does_not_replace_a_file_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    let ckpt = dir.path().join("last.ckpt");
    std::fs::write(&ckpt, b"BDCKPT02 weights of a week of training").unwrap();
    let c = ckpt.to_str().unwrap();
    fn export<'a>(arch: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut v = vec![
            "export",
            "--random-init",
            "--arch",
            arch,
            "--channels",
            "4",
            "-o",
            out,
        ];
        v.extend_from_slice(extra);
        v
    }
    let e = fails(&export(arch, c, &[]), 2);
    assert!(e.contains("last.ckpt") && e.contains("--force"), "{e}");
    assert_eq!(
        std::fs::read(&ckpt).unwrap(),
        b"BDCKPT02 weights of a week of training"
    );
    // Re-exporting over our own model is fine; --force replaces anything.
    let model = dir.path().join("m.onnx");
    let m = model.to_str().unwrap();
    ok(&export(arch, m, &[]));
    ok(&export(arch, m, &[]));
    ok(&export(arch, c, &["--force"]));
    assert_ne!(
        std::fs::read(&ckpt).unwrap(),
        b"BDCKPT02 weights of a week of training"
    );
}

#[test]
fn an_io_error_prints_its_cause_once() {
    // A run directory below a regular file: creating it fails with ENOTDIR.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let out = file.join("run");
    let e = fails(&args(&tiny(out.to_str().unwrap(), &[])), 1);
    assert_eq!(e.matches("Not a directory").count(), 1, "{e}");
}

/// `--out` naming a folder of someone's files is refused, and nothing is written there.
#[test]
fn a_run_does_not_start_in_a_folder_of_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("notes");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("summary.json"), "my summary").unwrap();
    let out = mine.to_str().unwrap();
    for args in [
        vec!["search", "--space", "nb201", "--epochs", "1", "--out", out],
        vec![
            "train",
            "--arch",
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
            "--epochs",
            "1",
            "--out",
            out,
        ],
    ] {
        let e = crate::common::fails(&args, 2);
        assert!(
            e.contains("is not empty") && e.contains("summary.json"),
            "{e}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(&mine)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["summary.json"], "nothing added");
    assert_eq!(
        std::fs::read_to_string(mine.join("summary.json")).unwrap(),
        "my summary"
    );
}
