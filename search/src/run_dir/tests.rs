use super::*;

fn ckpt(epoch: u64) -> Checkpoint {
    Checkpoint {
        header: serde_json::json!({ "epoch": epoch }),
        blobs: vec![("net".into(), vec![7; 100]), ("empty".into(), vec![])],
    }
}

#[test]
fn a_second_opener_is_refused_until_the_first_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("run");
    let first = RunDir::create(&d).unwrap();
    first
        .write_config(
            &serde_json::json!({"a": 1}),
            serde_json::json!({"kind": "test"}),
        )
        .unwrap();
    // config.json says what wrote it; the settings read back without it.
    let text = std::fs::read_to_string(d.join(CONFIG_FILE)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v[ABOUT_KEY]["schema_version"], SCHEMA_VERSION);
    assert_eq!(v[ABOUT_KEY]["kind"], "test");
    assert_eq!(v[ABOUT_KEY]["tool_version"], env!("CARGO_PKG_VERSION"));
    let e = RunDir::open(&d).unwrap_err().to_string();
    assert!(
        e.contains("in use by another process (pid ") && e.contains("run"),
        "{e}"
    );
    let e = RunDir::create(&d).unwrap_err().to_string();
    assert!(e.contains("in use"), "{e}");
    drop(first);
    // The lock file stays behind, as after a kill: it is taken over.
    assert!(d.join(LOCK_FILE).exists());
    let again = RunDir::open(&d).unwrap();
    assert_eq!(
        again
            .read_config::<serde_json::Value>("test config")
            .unwrap(),
        serde_json::json!({"a": 1})
    );
    drop(again);
    let e = RunDir::create(&d).unwrap_err().to_string();
    assert!(
        e.contains("already holds a run") && e.contains("--resume"),
        "{e}"
    );
    let e = RunDir::open(&tmp.path().join("nothing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("holds no run"), "{e}");
}

#[test]
fn opening_removes_the_temporary_files_of_killed_writes_only() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join(CONFIG_FILE), "{}").unwrap();
    std::fs::write(d.join(".checkpoint.bin.999999.tmp"), "half").unwrap();
    std::fs::write(d.join("notes.tmp"), "mine").unwrap();
    let _dir = RunDir::open(d).unwrap();
    assert!(!d.join(".checkpoint.bin.999999.tmp").exists());
    assert!(d.join("notes.tmp").exists());
}

#[test]
fn a_damaged_checkpoint_is_refused_and_the_previous_one_used() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("checkpoint.bin");
    save_checkpoint(&p, &ckpt(1)).unwrap();
    assert!(!previous_of(&p).exists());
    save_checkpoint(&p, &ckpt(2)).unwrap();
    assert_eq!(read_checkpoint(&previous_of(&p)).unwrap(), ckpt(1));
    assert_eq!(load_checkpoint(&p).unwrap().unwrap().0, ckpt(2));

    // Four bytes overwritten inside a blob: lengths still parse, only the checksum sees it.
    let mut bytes = std::fs::read(&p).unwrap();
    let at = bytes.len() - 40;
    bytes[at..at + 4].copy_from_slice(&[0xff; 4]);
    std::fs::write(&p, &bytes).unwrap();
    let e = read_checkpoint(&p).unwrap_err().to_string();
    assert!(
        e.contains("checkpoint.bin") && e.contains("checksum mismatch"),
        "{e}"
    );
    let (c, from) = load_checkpoint(&p).unwrap().unwrap();
    assert_eq!((c, from), (ckpt(1), previous_of(&p)));
    let corrupt = tmp.path().join("checkpoint.bin.corrupt");
    assert_eq!(
        std::fs::read(&corrupt).unwrap(),
        bytes,
        "the damaged file is kept"
    );
    // The next save does not push the damaged file into .prev.
    save_checkpoint(&p, &ckpt(2)).unwrap();
    assert_eq!(read_checkpoint(&previous_of(&p)).unwrap(), ckpt(1));

    // Both damaged: an error naming both problems, nothing moved.
    std::fs::write(&p, b"BDCKPT02 junk").unwrap();
    std::fs::write(previous_of(&p), b"BDCKPT02").unwrap();
    let e = load_checkpoint(&p).unwrap_err().to_string();
    assert!(
        e.contains("checksum") && e.contains("previous checkpoint is damaged too"),
        "{e}"
    );
    assert!(p.exists());
}

#[test]
fn a_kill_between_the_renames_resumes_from_the_previous_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("last.ckpt");
    assert!(load_checkpoint(&p).unwrap().is_none());
    save_checkpoint(&p, &ckpt(1)).unwrap();
    save_checkpoint(&p, &ckpt(2)).unwrap();
    std::fs::remove_file(&p).unwrap();
    assert_eq!(load_checkpoint(&p).unwrap().unwrap().0, ckpt(1));
}

#[test]
fn every_truncation_is_an_error_and_old_files_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("c.bin");
    write_checkpoint(&p, &ckpt(3)).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    for cut in 0..bytes.len() {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let e = read_checkpoint(&p).unwrap_err().to_string();
        assert!(e.contains("c.bin: checkpoint:"), "cut at {cut}: {e}");
    }
    // Format 1 (no checksum): the same fields after its own magic.
    let mut v1 = b"BDCKPT01".to_vec();
    v1.extend_from_slice(&bytes[8..bytes.len() - 4]);
    std::fs::write(&p, &v1).unwrap();
    assert_eq!(read_checkpoint(&p).unwrap(), ckpt(3));
    std::fs::write(&p, b"hello world").unwrap();
    let e = read_checkpoint(&p).unwrap_err().to_string();
    assert!(e.contains("not a betadarts checkpoint"), "{e}");
}
