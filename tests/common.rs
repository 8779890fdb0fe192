//! Helpers: run the built binary, read run directories.

use std::path::Path;
use std::process::{Command, Output};

pub fn betadarts(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_betadarts"))
        .args(args)
        .env("BETADARTS_LOG", "warn")
        // Tests pass a table explicitly where they want one.
        .env_remove("BETADARTS_NB201_TABLE")
        .output()
        .expect("the betadarts binary runs")
}

/// Runs and asserts success, returning stdout.
pub fn ok(args: &[&str]) -> String {
    let out = betadarts(args);
    assert!(
        out.status.success(),
        "betadarts {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs and asserts failure with exit code `code`, returning stderr.
pub fn fails(args: &[&str], code: i32) -> String {
    let out = betadarts(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "betadarts {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The Python that imports `modules` (comma-separated): $BETADARTS_PYTHON, else python3.
pub fn python_with(modules: &str) -> Option<String> {
    let py = std::env::var("BETADARTS_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// Runs an outside program, asserting success (its stderr in the message); returns stdout.
pub fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn history(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("history.jsonl"))
        .expect("history.jsonl exists")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each history line is JSON"))
        .collect()
}

/// The β-DARTS NB201 result, arch 9930.
pub const BEST_ARCH: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";

/// `export --random-init` of the NB201 network of [`BEST_ARCH`] at C=4, N=1, 8 px, to `out`.
pub fn tiny_nb201_export(out: &str) -> Vec<String> {
    let a = [
        "export",
        "--random-init",
        "--arch",
        BEST_ARCH,
        "--channels",
        "4",
        "--layers",
        "1",
    ];
    let mut v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
    v.extend(["--image-size", "8", "-o", out].map(String::from));
    v
}

/// One epoch of `train` of the NB201 network of `arch` at C=4, N=1, 8 px, into `out`.
pub fn tiny_nb201_train(arch: &str, out: &str) -> Vec<String> {
    let a = [
        "train",
        "--arch",
        arch,
        "--channels",
        "4",
        "--layers",
        "1",
        "--image-size",
        "8",
    ];
    let mut v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
    v.extend(["--epochs", "1", "--out", out].map(String::from));
    v
}

/// Path of the published DARTS V2 genotype.
pub fn v2() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/genotypes/DARTS_V2.json")
        .to_string_lossy()
        .into_owned()
}

/// Borrowed view of owned arguments.
pub fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The NAS-Bench-201 table in ../shared, when this checkout has it.
pub fn nb201_table() -> Option<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/nb201/nb201_accuracies.csv");
    p.exists().then(|| p.to_string_lossy().into_owned())
}

/// Asserts that two search runs ended alike: `keys` of history record `epoch`, and arch.txt.
pub fn assert_same_search(a: &Path, b: &Path, epoch: usize, keys: &[&str]) {
    let (ha, hb) = (history(a), history(b));
    for key in keys {
        assert_eq!(ha[epoch][*key], hb[epoch][*key], "{key} of epoch {epoch}");
    }
    assert_eq!(
        std::fs::read_to_string(a.join("arch.txt")).unwrap(),
        std::fs::read_to_string(b.join("arch.txt")).unwrap()
    );
}

/// Data lines of a panel grid drawn by plotters: polylines of width 1 in a palette colour (axes
/// and grid lines are grey or black; legend keys are width 3).
pub fn series_lines(svg: &str) -> usize {
    const PALETTE: [&str; 10] = [
        "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
        "#9C755F", "#BAB0AC",
    ];
    svg.lines()
        .filter(|l| l.starts_with("<polyline") && l.contains("stroke-width=\"1\""))
        .filter(|l| PALETTE.iter().any(|c| l.contains(c)))
        .count()
}
