//! The dataset layouts users have: torchvision's python CIFAR pickles and NB201's ImageNet16
//! pickles (written by Python's own pickle and numpy, read back image-exactly against the binary
//! layout or what Python kept), BETADARTS_DATA as the data root, and image-folder search.

use std::path::Path;
use std::process::Command;

use betadarts_data::{Dataset, DatasetName, load};

use crate::common::{args, history, ok, python_with, run_ok};

fn assert_same(a: &Dataset, b: &Dataset) {
    for (x, y) in [(&a.train, &b.train), (&a.test, &b.test)] {
        assert_eq!(x.len(), y.len());
        assert!(x.images == y.images, "images differ");
        assert_eq!(x.labels, y.labels);
    }
    assert_eq!(a.class_names, b.class_names);
}

/// The datasets written by `tests/clients/write_pickles.py`, or `None` (and a SKIPPED line)
/// without a Python that has numpy.
fn written() -> Option<tempfile::TempDir> {
    let Some(py) = python_with("numpy") else {
        println!("pickle layouts SKIPPED: no Python with numpy (set BETADARTS_PYTHON)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/write_pickles.py"
    );
    run_ok(Command::new(py).arg(script).arg(dir.path()));
    Some(dir)
}

#[test]
fn python_pickles_read_image_exactly_as_the_binary_layouts() {
    let Some(dir) = written() else { return };
    let d = dir.path();
    // Found in the folder itself or in its standard sub-folder.
    for (name, bin, py) in [
        (DatasetName::Cifar10, "c10bin", "c10py/cifar-10-batches-py"),
        (DatasetName::Cifar100, "c100bin/cifar-100-binary", "c100py"),
    ] {
        let a = load(name, Some(&d.join(bin))).unwrap();
        let b = load(name, Some(&d.join(py))).unwrap();
        assert_same(&a, &b);
    }
    let c10 = load(DatasetName::Cifar10, Some(&d.join("c10py"))).unwrap();
    assert_eq!((c10.train.len(), c10.test.len()), (35, 7));
    assert_eq!(c10.class_names[1], "car", "names from batches.meta");

    let in16 = load(DatasetName::Imagenet16_120, Some(&d.join("in16"))).unwrap();
    let labels: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("in16/expected_labels.json")).unwrap())
            .unwrap();
    for (set, split) in [(&in16.train, "train"), (&in16.test, "val")] {
        let want = std::fs::read(d.join(format!("in16/expected_{split}.bin"))).unwrap();
        assert!(set.images == want, "{split} images");
        let want: Vec<u32> = serde_json::from_value(labels[split].clone()).unwrap();
        assert_eq!(set.labels, want);
        assert!(set.labels.contains(&0) && set.labels.contains(&119));
    }
    assert_eq!((in16.image_size(), in16.num_classes()), (16, 120));

    // `deploy eval` takes the test files as users have them, pickled or binary, alike.
    let eval = |model: &Path, data: &Path| -> serde_json::Value {
        let (m, d) = (model.to_str().unwrap(), data.to_str().unwrap());
        serde_json::from_str(&ok(&["deploy", "eval", m, "--data", d, "--json"])).unwrap()
    };
    let export = |name: &str, size: &str, classes: &str| {
        let out = d.join(name);
        ok(&[
            "export",
            "--random-init",
            "--arch",
            crate::common::BEST_ARCH,
            "--channels",
            "4",
            "--layers",
            "1",
            "--image-size",
            size,
            "--classes",
            classes,
            "-o",
            out.to_str().unwrap(),
        ]);
        out
    };
    let m = export("c10.onnx", "32", "10");
    let bin = eval(&m, &d.join("c10bin/cifar-10-batches-bin/test_batch.bin"));
    let py = eval(&m, &d.join("c10py/cifar-10-batches-py/test_batch"));
    assert_eq!(bin["images"], 7);
    assert_eq!((&bin["images"], &bin["top1"]), (&py["images"], &py["top1"]));
    let m = export("in16.onnx", "16", "120");
    let r = eval(&m, &d.join("in16/ImageNet16/val_data"));
    assert_eq!(
        r["images"],
        in16.test.len(),
        "the val images of labels 1..=120"
    );
}

#[test]
fn searches_run_on_imagenet16_and_on_the_data_root_of_betadarts_data() {
    let Some(dir) = written() else { return };
    let d = dir.path();
    let run = d.join("in16-run");
    let data = d.join("in16");
    let extra = [
        "--dataset",
        "imagenet16-120",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    ok(&args(&crate::search::tiny(run.to_str().unwrap(), &extra)));
    let h = history(&run);
    assert_eq!(h.len(), 2);
    let cfg = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(cfg.contains("\"imagenet16-120\""), "{cfg}");
    // …and retrain the cell on it: 120 classes, 16 px.
    let train = d.join("in16-train");
    let arch = std::fs::read_to_string(run.join("arch.txt")).unwrap();
    ok(&[
        "train",
        "--arch",
        arch.trim(),
        "--dataset",
        "imagenet16-120",
        "--data-dir",
        data.to_str().unwrap(),
        "--channels",
        "4",
        "--layers",
        "1",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--out",
        train.to_str().unwrap(),
    ]);
    let ckpt = betadarts_search::run_dir::read_checkpoint(&train.join("last.ckpt")).unwrap();
    assert_eq!(ckpt.header["class_names"].as_array().unwrap().len(), 120);

    // No --data-dir: BETADARTS_DATA names the root, the reader finds cifar-10-batches-py/ in it.
    let run = d.join("root-run");
    let out = Command::new(env!("CARGO_BIN_EXE_betadarts"))
        .args(args(&crate::search::tiny(
            run.to_str().unwrap(),
            &["--dataset", "cifar10"],
        )))
        .env("BETADARTS_DATA", d.join("c10py"))
        .env("BETADARTS_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["data_dir"], d.join("c10py").to_string_lossy().as_ref());
}

/// Two classes of flat-colour PNGs of assorted sizes per split (a third, unused, in train).
fn image_folder(root: &Path) {
    let classes = [
        ("n01_red", [220u8, 20, 20]),
        ("n02_blue", [20, 20, 220]),
        ("n03_green", [20, 220, 20]),
    ];
    for split in ["train", "val"] {
        for (class, rgb) in classes {
            let d = root.join(split).join(class);
            std::fs::create_dir_all(&d).unwrap();
            for i in 0..5u32 {
                let img = image::RgbImage::from_pixel(20 + i * 3, 24 - i, image::Rgb(rgb));
                img.save(d.join(format!("{i}.png"))).unwrap();
            }
        }
    }
}

#[test]
fn image_folder_search_on_a_class_subset() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    image_folder(&root);
    let ds = betadarts_data::load_folder(
        Some(&root),
        &betadarts_data::folder_subset::ClassPick::parse("n03_green,n01_red").unwrap(),
        Some(3),
        8,
    )
    .unwrap();
    assert_eq!(ds.class_names, ["n03_green", "n01_red"]);
    assert_eq!(
        (ds.train.len(), ds.test.len()),
        (6, 10),
        "3 per class; all of val"
    );
    assert_eq!(ds.train.labels, [0, 0, 0, 1, 1, 1]);
    // Planar RGB of flat colours: image 0 is green, image 3 red.
    let (g, r) = (ds.train.image(0), ds.train.image(3));
    assert_eq!((g[0], g[64], g[128]), (20, 220, 20));
    assert_eq!((r[0], r[64], r[128]), (220, 20, 20));

    let run = dir.path().join("run");
    let data = root.to_str().unwrap();
    let a = crate::search::tiny(
        run.to_str().unwrap(),
        &[
            "--dataset",
            "imagefolder",
            "--data-dir",
            data,
            "--classes",
            "2",
            "--images-per-class",
            "4",
        ],
    );
    ok(&args(&a));
    assert_eq!(history(&run).len(), 2);
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["classes"], serde_json::json!({"first": 2}));
    assert_eq!(cfg["images_per_class"], 4);

    // A class that is not there: refused naming it, and no run directory left behind.
    let bad = dir.path().join("bad");
    let a = crate::search::tiny(
        bad.to_str().unwrap(),
        &[
            "--dataset",
            "imagefolder",
            "--data-dir",
            data,
            "--classes",
            "n09_cat",
        ],
    );
    let err = crate::common::fails(&args(&a), 2);
    assert!(err.contains("n09_cat"), "{err}");
    assert!(!bad.exists(), "a failed start leaves nothing");
    // Subset flags on a dataset with fixed classes.
    let err = crate::common::fails(&["search", "--classes", "3"], 2);
    assert!(err.contains("--classes"), "{err}");
}
