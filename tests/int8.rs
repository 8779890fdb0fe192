//! `export --int8`: a QDQ model calibrated on real images, valid for the onnx checker, run by
//! tract and ONNX Runtime, and evaluated beside its float original on the same test images.

use std::path::Path;
use std::process::Command;

use betadarts_export::ModelProto;
use prost::Message;

use crate::common::{args, fails, ok, python_with, run_ok};

/// One split of the built-in Fashion-MNIST subset as the two IDX files `deploy eval` reads.
fn write_idx(dir: &Path, stem: &str, set: &betadarts_data::ImageSet) {
    let mut images = vec![0, 0, 8, 3];
    for d in [set.len(), set.height, set.width] {
        images.extend((d as u32).to_be_bytes());
    }
    images.extend(&set.images);
    let mut labels = vec![0, 0, 8, 1];
    labels.extend((set.len() as u32).to_be_bytes());
    labels.extend(set.labels.iter().map(|&l| l as u8));
    std::fs::write(dir.join(format!("{stem}-images-idx3-ubyte")), images).unwrap();
    std::fs::write(dir.join(format!("{stem}-labels-idx1-ubyte")), labels).unwrap();
}

fn eval(model: &Path, baseline: &Path, data: &Path, engine: &str) -> serde_json::Value {
    let out = ok(&[
        "deploy",
        "eval",
        model.to_str().unwrap(),
        "--baseline",
        baseline.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--engine",
        engine,
        "--json",
    ]);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn int8_models_are_valid_run_in_both_engines_and_keep_the_float_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ds = betadarts_data::load(betadarts_data::DatasetName::FashionMnistMini, None).unwrap();
    let (calib, test) = (d.join("calib"), d.join("test"));
    for (p, stem, set) in [(&calib, "train", &ds.train), (&test, "t10k", &ds.test)] {
        std::fs::create_dir(p).unwrap();
        write_idx(p, stem, set);
    }
    let run = d.join("run");
    ok(&args(&crate::train::tiny(&run, &[])));
    let (float, int8) = (d.join("float.onnx"), d.join("int8.onnx"));
    let (r, c) = (run.to_str().unwrap(), calib.to_str().unwrap());
    ok(&["export", r, "-o", float.to_str().unwrap()]);
    for method in ["percentile:99.99", "minmax"] {
        ok(&[
            "export",
            r,
            "-o",
            int8.to_str().unwrap(),
            "--force",
            "--int8",
            "--calibrate",
            c,
            "--calibration",
            method,
            "--calibration-images",
            "300",
        ]);
    }
    // Structure: int8 per-channel weights behind DequantizeLinear(axis 0), a Q/DQ pair per
    // activation, float logits, the quantization recorded.
    let m = ModelProto::decode(&std::fs::read(&int8).unwrap()[..]).unwrap();
    let g = m.graph.as_ref().unwrap();
    let count = |op: &str| g.node.iter().filter(|n| n.op_type == op).count();
    let convs = count("Conv");
    assert!(convs > 10);
    // One DQ per quantized activation, per conv weight, and per conv bias (depthwise convs,
    // followed by no BN, have none).
    let biases = g
        .node
        .iter()
        .filter(|n| n.op_type == "Conv" && n.input.len() == 3)
        .count();
    assert!(biases > 0 && biases < convs);
    assert_eq!(
        count("QuantizeLinear") + convs + biases,
        count("DequantizeLinear")
    );
    for conv in g.node.iter().filter(|n| n.op_type == "Conv") {
        assert!(
            conv.input[1].ends_with("_dq") && conv.input[0].ends_with("_dq"),
            "{conv:?}"
        );
    }
    assert_eq!(g.output[0].name, "logits");
    let info: serde_json::Value = serde_json::from_str(
        &m.metadata_props
            .iter()
            .find(|p| p.key == "quantization")
            .unwrap()
            .value,
    )
    .unwrap();
    assert_eq!(info["calibration"]["method"], "minmax");
    assert_eq!(info["calibration"]["images"], 300);

    // The same test images through both models, in every engine that is here.
    let mut engines = vec!["tract"];
    if std::env::var_os("ORT_DYLIB_PATH").is_some() {
        engines.push("ort");
    }
    for engine in engines {
        let r = eval(&int8, &float, &test, engine);
        let (delta, agree) = (
            r["delta_top1"].as_f64().unwrap(),
            r["top1_agreement"].as_f64().unwrap(),
        );
        println!(
            "{engine}: int8 top-1 {} vs float {} on {} images ({delta:+.1} points, {agree:.1}% same class)",
            r["model"]["top1"], r["baseline"]["top1"], r["model"]["images"]
        );
        assert!(
            r["baseline"]["top1"].as_f64().unwrap() > 40.0,
            "the float model learned: {r}"
        );
        assert!(delta.abs() <= 5.0 && agree >= 90.0, "{engine}: {r}");
    }
    if let Some(py) = python_with("onnx") {
        let check =
            "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)";
        run_ok(Command::new(py).args(["-c", check, int8.to_str().unwrap()]));
        println!("onnx checker (full): int8 model ok");
    } else {
        println!("onnx checker SKIPPED: no Python with onnx");
    }
    // Bad calibration flags are refused, naming the flag.
    for (flags, named) in [
        (&["--calibration", "p99"][..], "--calibration"),
        (&["--no-fold"][..], "--no-fold"),
    ] {
        let mut a = vec!["export", r, "-o", "x.onnx", "--int8", "--calibrate", c];
        a.extend(flags);
        let e = fails(&a, 2);
        assert!(e.contains(named), "{e}");
    }
}
