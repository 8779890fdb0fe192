//! `export --format safetensors`: the weights under the names of the PyTorch reference networks.
//! An independent numpy forward pass that reads every weight by its reference name
//! (tests/clients/numpy_net.py) and, where PyTorch is installed, the loader users run
//! (python/betadarts_torch.py, `load_state_dict(strict=True)`) give the logits `deploy predict`
//! gives on the same images.

use std::path::Path;
use std::process::Command;

use betadarts_deploy::{ModelMeta, preprocess};

use crate::common::{args, ok, python_with, run_ok, v2};

/// Random images of the model's size and channels, as PNG files, and the model input
/// `deploy predict` makes of them (written as raw f32).
fn images(dir: &Path, meta: &ModelMeta, n: usize) -> (Vec<String>, String) {
    let s = meta.input_size as u32;
    let mut rng = betadarts_data::rng::Rng::new(11);
    let mut input = Vec::new();
    let mut files = Vec::new();
    for i in 0..n {
        let img: image::DynamicImage = if meta.input_channels == 1 {
            image::GrayImage::from_fn(s, s, |_, _| image::Luma([rng.below(256) as u8])).into()
        } else {
            image::RgbImage::from_fn(s, s, |_, _| {
                image::Rgb([0, 0, 0].map(|_: u8| rng.below(256) as u8))
            })
            .into()
        };
        let f = dir.join(format!("img{i}.png"));
        img.save(&f).unwrap();
        input.extend(preprocess::to_input(&img, meta));
        files.push(f.to_string_lossy().into_owned());
    }
    let raw = dir.join("input.f32");
    let bytes: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&raw, bytes).unwrap();
    (files, raw.to_string_lossy().into_owned())
}

fn logits_of(v: &serde_json::Value) -> Vec<Vec<f64>> {
    serde_json::from_value(v["logits"].clone()).unwrap()
}

fn assert_close(what: &str, got: &[Vec<f64>], want: &[Vec<f64>]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        for (a, b) in g.iter().zip(w) {
            assert!(
                (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                "{what}: {a} vs {b}"
            );
        }
    }
}

/// Exports `source` (a run directory, or `--random-init …` flags) both ways and compares.
fn check(dir: &Path, name: &str, source: &[&str], aux: bool) {
    let onnx = dir.join(format!("{name}.onnx"));
    let st = dir.join(format!("{name}.safetensors"));
    for out in [&onnx, &st] {
        let mut a: Vec<&str> = vec!["export"];
        a.extend(source);
        a.extend(["-o", out.to_str().unwrap()]);
        ok(&a);
    }
    let meta = ModelMeta::from_onnx(&std::fs::read(&onnx).unwrap()).unwrap();
    let (files, raw) = images(dir, &meta, 3);
    let mut a = vec!["deploy", "predict", onnx.to_str().unwrap(), "--json"];
    a.extend(args(&files));
    let want: Vec<Vec<f64>> = ok(&a)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            serde_json::from_value(v["logits"].clone()).unwrap()
        })
        .collect();
    let shape = format!(
        "{},{},{s},{s}",
        files.len(),
        meta.input_channels,
        s = meta.input_size
    );
    // For a machine with PyTorch but no Rust: the same case as files, checked there by
    // tests/clients/torch_bundle.py.
    if let Some(bundle) = std::env::var_os("BETADARTS_TORCH_BUNDLE") {
        let b = Path::new(&bundle);
        std::fs::create_dir_all(b).unwrap();
        std::fs::copy(&st, b.join(format!("{name}.safetensors"))).unwrap();
        std::fs::copy(&raw, b.join(format!("{name}.f32"))).unwrap();
        let case = serde_json::json!({"shape": shape, "logits": want});
        std::fs::write(b.join(format!("{name}.json")), case.to_string()).unwrap();
    }
    let Some(py) = python_with("numpy, safetensors") else {
        println!("safetensors check SKIPPED: no Python with numpy and safetensors");
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/numpy_net.py");
    let out = run_ok(Command::new(&py).args([script, st.to_str().unwrap(), &raw, &shape]));
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_close(&format!("{name}: numpy"), &logits_of(&v), &want);
    // Every weight is read by the forward pass but the auxiliary head's.
    let unused: Vec<String> = serde_json::from_value(v["unused"].clone()).unwrap();
    assert!(
        unused.iter().all(|k| k.starts_with("auxiliary_head.")),
        "{unused:?}"
    );
    assert_eq!(!unused.is_empty(), aux, "{name}: auxiliary head weights");
    println!("{name}: numpy forward of the reference names = deploy predict");
    let Some(torch) = python_with("torch, safetensors, numpy") else {
        println!(
            "{name}: PyTorch check SKIPPED: no Python with torch (run where torch is installed)"
        );
        return;
    };
    let loader = concat!(env!("CARGO_MANIFEST_DIR"), "/python/betadarts_torch.py");
    let out = run_ok(Command::new(torch).args([
        loader,
        st.to_str().unwrap(),
        "--input",
        &raw,
        "--shape",
        &shape,
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_close(&format!("{name}: PyTorch"), &logits_of(&v), &want);
    println!("{name}: PyTorch network (strict load) = deploy predict");
}

#[test]
fn safetensors_weights_give_the_logits_of_deploy_predict() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A trained DARTS CIFAR network (BN statistics moved, auxiliary head trained: 32 px keeps
    // its 8×8 input).
    let run = d.join("darts");
    let mut a = crate::train::tiny(&run, &["--steps-per-epoch", "2"]);
    let size = a.iter().position(|s| s == "--image-size").unwrap();
    a[size + 1] = "32".into();
    ok(&args(&a));
    check(d, "darts", &[run.to_str().unwrap()], true);
    // A trained NB201 network with every op kind.
    let run = d.join("nb201");
    let arch =
        "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|";
    let mut a = crate::common::tiny_nb201_train(arch, run.to_str().unwrap());
    a.extend(["--steps-per-epoch", "3"].map(String::from));
    ok(&args(&a));
    check(d, "nb201", &[run.to_str().unwrap()], false);
    // The ImageNet network's stems, untrained, on RGB input.
    let g = v2();
    check(
        d,
        "imagenet",
        &[
            "--random-init",
            "--network",
            "imagenet",
            "--genotype",
            &g,
            "--channels",
            "8",
            "--layers",
            "5",
            "--image-size",
            "32",
            "--classes",
            "5",
        ],
        false,
    );
}

#[test]
fn safetensors_exports_do_not_replace_other_files_and_refuse_onnx_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.safetensors");
    let mut a = crate::common::tiny_nb201_export(out.to_str().unwrap());
    ok(&args(&a));
    ok(&args(&a)); // re-exporting over our own file
    std::fs::write(&out, b"someone else's weights").unwrap();
    let err = crate::common::fails(&args(&a), 2);
    assert!(err.contains("not a model written by betadarts"), "{err}");
    a.extend(["--force", "--check"].map(String::from));
    let err = crate::common::fails(&args(&a), 2);
    assert!(err.contains("apply to ONNX"), "{err}");
}
