//! `betadarts deploy`: predict agrees across engines and eval matches an independent count (the
//! server's tests are in `serve.rs`).

use std::path::{Path, PathBuf};

use betadarts_deploy::{EngineKind, ModelMeta};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

use crate::common::{betadarts, ok};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/samples")
}

/// Trains a tiny NB201 network on the built-in Fashion-MNIST subset (16×16) and exports it.
pub(crate) fn model(dir: &Path) -> (PathBuf, PathBuf) {
    let run = dir.join("run");
    ok(&[
        "train",
        "--arch",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "--channels",
        "4",
        "--layers",
        "1",
        "--image-size",
        "16",
        "--epochs",
        "2",
        "--out",
        run.to_str().unwrap(),
    ]);
    let onnx = dir.join("m.onnx");
    ok(&[
        "export",
        run.to_str().unwrap(),
        "-o",
        onnx.to_str().unwrap(),
    ]);
    (run, onnx)
}

#[test]
fn predict_top1_agrees_between_tract_and_ort_on_lossless_samples() {
    let dir = tempfile::tempdir().unwrap();
    let (_, onnx) = model(dir.path());
    let mut files: Vec<String> = std::fs::read_dir(samples())
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().contains("fashionMNIST"))
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    if files.is_empty() {
        eprintln!("SKIPPED: ../shared/data/samples not found");
        return;
    }
    files.sort();
    let run = |engine: &str| -> Vec<serde_json::Value> {
        let mut args = vec![
            "deploy",
            "predict",
            onnx.to_str().unwrap(),
            "--json",
            "--top-k",
            "3",
            "--engine",
            engine,
        ];
        args.extend(files.iter().map(String::as_str));
        ok(&args)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let tract = run("tract");
    assert_eq!(tract.len(), files.len());
    for p in &tract {
        let top = p["top"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        let probs: Vec<f64> = top.iter().map(|t| t["prob"].as_f64().unwrap()).collect();
        assert!(
            probs.windows(2).all(|w| w[0] >= w[1]),
            "sorted by probability"
        );
    }
    // One image at a time: on several threads tract runs a plan's independent nodes side by
    // side (`tract_parallel.rs`); the logits must be tract's own, bit for bit, and the engine
    // must not have fallen back to running them in order (it warns when it does).
    for file in files.iter().take(3) {
        let logits = |threads: &str| {
            let out = betadarts(&[
                "deploy",
                "predict",
                onnx.to_str().unwrap(),
                file,
                "--json",
                "--engine",
                "tract",
                "--threads",
                threads,
            ]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{stderr}");
            assert!(!stderr.contains("running them in order"), "{stderr}");
            let v: serde_json::Value =
                serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
            v["logits"].clone()
        };
        let one = logits("1");
        assert!(one.as_array().is_some_and(|l| !l.is_empty()), "{one}");
        assert_eq!(logits("3"), one, "{file}: 3 threads against 1");
    }
    if EngineKind::Ort.available().is_ok() {
        let ort = run("ort");
        for (a, b) in tract.iter().zip(&ort) {
            assert_eq!(a["top"][0]["index"], b["top"][0]["index"], "{}", a["file"]);
        }
    } else {
        eprintln!("ort: SKIPPED (no ONNX Runtime library)");
    }
}

/// Accuracy of the burn network of a checkpoint on IDX files, counted here.
fn burn_accuracy(run: &Path, images: &betadarts_data::ImageSet) -> f64 {
    let device = Device::flex();
    let loaded = betadarts_search::retrain::load_trained(run, &device).unwrap();
    let net = loaded.net.valid();
    let h = loaded.header;
    let set = betadarts_data::resize_area(images, h.image_size);
    let n = set.len();
    let s = h.image_size;
    let data: Vec<f32> = set
        .images
        .iter()
        .map(|&p| (p as f32 / 255.0 - h.mean[0]) / h.std[0])
        .collect();
    let (logits, _) = net.forward(
        Tensor::from_data(TensorData::new(data, [n, 1, s, s]), &device),
        0.0,
        false,
    );
    let pred: Vec<i64> = logits
        .argmax(1)
        .reshape([n])
        .into_data()
        .convert::<i64>()
        .try_to_vec()
        .unwrap();
    pred.iter()
        .zip(&set.labels)
        .filter(|(p, l)| **p == **l as i64)
        .count() as f64
        * 100.0
        / n as f64
}

#[test]
fn eval_matches_an_independent_count_on_idx_files_and_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (run, onnx) = model(dir.path());
    // The Fashion-MNIST test subset as IDX files (written here from the built-in copy).
    let ds = betadarts_data::load(betadarts_data::DatasetName::FashionMnistMini, None).unwrap();
    let idx = dir.path().join("idx");
    std::fs::create_dir_all(&idx).unwrap();
    let mut img = vec![0u8, 0, 8, 3];
    for d in [ds.test.len() as u32, 28, 28] {
        img.extend(d.to_be_bytes());
    }
    img.extend(&ds.test.images);
    std::fs::write(idx.join("t10k-images-idx3-ubyte"), img).unwrap();
    let mut lab = vec![0u8, 0, 8, 1];
    lab.extend((ds.test.len() as u32).to_be_bytes());
    lab.extend(ds.test.labels.iter().map(|&l| l as u8));
    std::fs::write(idx.join("t10k-labels-idx1-ubyte"), lab).unwrap();
    let out = ok(&[
        "deploy",
        "eval",
        onnx.to_str().unwrap(),
        "--data",
        idx.to_str().unwrap(),
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["images"], 200);
    let want = burn_accuracy(&run, &ds.test);
    assert!(
        (r["top1"].as_f64().unwrap() - want).abs() < 1e-9,
        "eval {} vs burn {want}",
        r["top1"]
    );
    assert!(r["top5"].as_f64().unwrap() >= r["top1"].as_f64().unwrap());

    // An ImageNet-style folder of the first 30 test images (PNG, one sub-folder per class name).
    let meta = ModelMeta::from_onnx(&std::fs::read(&onnx).unwrap()).unwrap();
    let folder = dir.path().join("folder");
    let mut first = ds.test.clone();
    first.images.truncate(30 * 784);
    first.labels.truncate(30);
    for i in 0..30 {
        let d = folder.join(meta.class_names[first.labels[i] as usize].replace('/', "_"));
        std::fs::create_dir_all(&d).unwrap();
        image::GrayImage::from_raw(28, 28, first.image(i).to_vec())
            .unwrap()
            .save(d.join(format!("{i}.png")))
            .unwrap();
    }
    let out = ok(&[
        "deploy",
        "eval",
        onnx.to_str().unwrap(),
        "--data",
        folder.to_str().unwrap(),
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(r["images"], 30);
    let want = burn_accuracy(&run, &first);
    assert!(
        (r["top1"].as_f64().unwrap() - want).abs() < 1e-9,
        "folder: eval {} vs burn {want}",
        r["top1"]
    );

    // A flat folder with labels.csv (class names as labels).
    let flat = dir.path().join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    let mut csv = String::from("file,label\n");
    for i in 0..30 {
        image::GrayImage::from_raw(28, 28, first.image(i).to_vec())
            .unwrap()
            .save(flat.join(format!("{i}.png")))
            .unwrap();
        csv.push_str(&format!(
            "{i}.png,{}\n",
            meta.class_names[first.labels[i] as usize]
        ));
    }
    std::fs::write(flat.join("labels.csv"), csv).unwrap();
    let out = ok(&[
        "deploy",
        "eval",
        onnx.to_str().unwrap(),
        "--data",
        flat.to_str().unwrap(),
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        (r["top1"].as_f64().unwrap() - want).abs() < 1e-9,
        "flat: eval {} vs burn {want}",
        r["top1"]
    );
}
