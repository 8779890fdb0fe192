//! `scripts/nb201_table.py` builds the table `--table` reads from the benchmark's own API; here
//! on a stand-in `nats_bench` (tests/clients/fake_nats_bench) whose numbers say which dataset
//! and key each column came from.

use std::process::Command;

use crate::common::{ok, python_with, run_ok};

#[test]
fn the_table_script_reads_each_column_from_its_dataset_and_split() {
    let Some(py) = python_with("csv") else {
        println!("nb201_table.py check SKIPPED: no Python");
        return;
    };
    let repo = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("nb201.csv");
    // A folder: the API is opened in fast mode (the fake asserts it).
    let fake = format!("{repo}/tests/clients/fake_nats_bench");
    let script = || {
        let mut c = Command::new(&py);
        c.arg(format!("{repo}/scripts/nb201_table.py"));
        c.arg(dir.path())
            .arg("-o")
            .arg(&csv)
            .env("PYTHONPATH", &fake);
        c
    };
    run_ok(&mut script());
    let table = csv.to_str().unwrap();
    let row: serde_json::Value =
        serde_json::from_str(&ok(&["nb201", "--table", table, "--json", "lookup", "1"])).unwrap();
    // cifar10-valid x-valid, cifar10 ori-test, then x-valid / x-test of cifar100 and ImageNet16.
    assert_eq!(
        row["acc"],
        serde_json::json!([11.1, 22.1, 31.1, 32.1, 41.1, 42.1])
    );
    let all_skip = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
    let row: serde_json::Value = serde_json::from_str(&ok(&[
        "nb201", "--table", table, "--json", "lookup", all_skip,
    ]))
    .unwrap();
    assert_eq!(row["index"], 2);
    // An existing output is never overwritten.
    let again = script().output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
}
