//! `betadarts train` and `genotype info` end to end.

use std::path::Path;

use crate::common::{args, fails, history, ok, v2};

/// DARTS V2 at C=4, 5 cells, 8×8 images, 3 epochs.
pub fn tiny(out: &Path, extra: &[&str]) -> Vec<String> {
    let g = v2();
    let mut v: Vec<String> = [
        "train",
        "--genotype",
        &g,
        "--channels",
        "4",
        "--layers",
        "5",
        "--image-size",
        "8",
        "--epochs",
        "3",
        "--drop-path",
        "0.2",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn tiny_training_learns_and_resumes_identically() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    ok(&args(&tiny(&full, &[])));
    let h = history(&full);
    assert_eq!(h.len(), 3);
    let best = h
        .iter()
        .map(|r| r["train_acc"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(
        best > 20.0,
        "training accuracy {best}% never rose above chance (10%)"
    );
    for f in [
        "config.json",
        "last.ckpt",
        "best.ckpt",
        "loss.svg",
        "accuracy.svg",
    ] {
        assert!(full.join(f).exists(), "{f}");
    }
    let part = dir.path().join("part");
    ok(&args(&tiny(&part, &["--stop-after", "1"])));
    assert_eq!(history(&part).len(), 1);
    ok(&["train", "--resume", part.to_str().unwrap()]);
    let (a, b) = (history(&full), history(&part));
    assert_eq!(b.len(), 3);
    for key in ["train_loss", "train_acc", "test_loss", "test_acc"] {
        assert_eq!(a[2][key], b[2][key], "{key} after resume");
    }
}

#[test]
fn nb201_network_trains_from_an_arch_string() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("nb");
    let a = crate::common::tiny_nb201_train(crate::common::BEST_ARCH, run.to_str().unwrap());
    ok(&args(&a));
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["network"], "nb201");
    assert_eq!(cfg["nesterov"], true, "the NB201 recipe");
    assert_eq!(history(&run).len(), 1);
}

#[test]
fn genotype_info_reports_params_and_madds() {
    let s = ok(&["genotype", "info", &v2(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(s.trim()).unwrap();
    assert_eq!(v["params"], 3_349_342);
    assert_eq!(v["aux_params"], 476_426);
    let madds = v["madds"].as_f64().unwrap();
    assert!((madds / 528.4e6 - 1.0).abs() < 0.005, "{madds}");
    let s = ok(&["genotype", "info", &v2(), "--classes", "100", "--json"]);
    let v: serde_json::Value = serde_json::from_str(s.trim()).unwrap();
    assert_eq!(v["params"], 3_401_272);
}

#[test]
fn training_input_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let e = fails(
        &[
            "train",
            "--network",
            "nb201",
            "--out",
            out.to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("--arch"), "{e}");
    let e = fails(
        &[
            "train",
            "--arch",
            "|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "--out",
            out.to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("unknown op \"bogus\""), "{e}");
    let missing = dir.path().join("nope.json");
    let e = fails(
        &[
            "train",
            "--genotype",
            missing.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        1,
    );
    assert!(e.contains("nope.json"), "{e}");
}

#[test]
fn imagenet_network_trains_on_an_image_folder() {
    // A generated ImageNet-style folder: two classes of flat-colour PNGs of assorted sizes.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    for split in ["train", "val"] {
        for (class, rgb) in [("n01_red", [220u8, 20, 20]), ("n02_blue", [20, 20, 220])] {
            let d = root.join(split).join(class);
            std::fs::create_dir_all(&d).unwrap();
            for i in 0..6u32 {
                let img = image::RgbImage::from_pixel(36 + i * 3, 40 - i, image::Rgb(rgb));
                img.save(d.join(format!("{i}.png"))).unwrap();
            }
        }
    }
    let run = dir.path().join("run");
    ok(&[
        "train",
        "--genotype",
        &v2(),
        "--network",
        "imagenet",
        "--dataset",
        "imagefolder",
        "--data-dir",
        root.to_str().unwrap(),
        "--channels",
        "8",
        "--layers",
        "5",
        "--image-size",
        "32",
        "--batch-size",
        "4",
        "--epochs",
        "2",
        "--out",
        run.to_str().unwrap(),
    ]);
    let h = history(&run);
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["steps"], 3, "12 training images in batches of 4");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["label_smoothing"], 0.1, "the ImageNet recipe");
    // The checkpoint carries the class names of the folders.
    let ckpt = betadarts_search::run_dir::read_checkpoint(&run.join("last.ckpt")).unwrap();
    assert_eq!(
        ckpt.header["class_names"],
        serde_json::json!(["n01_red", "n02_blue"])
    );
}

/// Regression: at 28 px (Fashion-MNIST's own size) the CIFAR network's auxiliary head got 7×7
/// features, pooled them to 1×1, and its 2×2 conv gave an empty map: the loss was NaN at the
/// first step. The head is now left out below 32 px, with a warning.
#[test]
fn the_cifar_network_trains_at_28_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut a = tiny(&run, &["--steps-per-epoch", "2"]);
    let size = a.iter().position(|s| s == "--image-size").unwrap();
    a[size + 1] = "28".into();
    ok(&args(&a));
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["auxiliary"], false);
}
