//! `deploy serve` speaks the Open Inference Protocol (KServe v2) and Prometheus: checked with
//! raw requests here, and with the real clients (tritonclient, prometheus_client's parser) when
//! a Python with them is found ($BETADARTS_PYTHON, as CI sets it).

use std::process::Command;

use betadarts_deploy::serve::ServeConfig;
use betadarts_deploy::{EngineKind, load_engine};
use serde_json::{Value, json};

use crate::common::{python_with, run_ok};
use crate::serve::{http, serving};

/// Three images of pseudo-random normalised values for the model `meta` describes.
fn images(meta: &betadarts_deploy::ModelMeta) -> (Vec<f32>, [usize; 4]) {
    let shape = [3, meta.input_channels, meta.input_size, meta.input_size];
    let n: usize = shape.iter().product();
    let x = (0..n)
        .map(|i| ((i as f32 * 0.618).sin() * 1.3).fract() * 2.0)
        .collect();
    (x, shape)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

fn floats(v: &Value) -> Vec<f32> {
    let mut out = vec![];
    fn walk(v: &Value, out: &mut Vec<f32>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            v => out.push(v.as_f64().expect("a number") as f32),
        }
    }
    walk(v, &mut out);
    out
}

#[test]
fn open_inference_protocol_and_metrics_match_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServeConfig {
        engine: EngineKind::Tract,
        model_name: "tiny".into(),
        ..ServeConfig::default()
    };
    let s = serving(dir.path(), cfg);
    let addr = s.server.addr;
    let (x, shape) = images(&s.meta);
    let mut engine = load_engine(EngineKind::Tract, &s.bytes, None).unwrap();
    let (want, k) = engine.run(&x, shape).unwrap();
    assert_eq!(k, s.meta.class_names.len());

    // JSON tensors, raw.
    let body = json!({"id": "a1", "inputs": [{"name": "image", "shape": shape, "datatype": "FP32", "data": x}]});
    let (code, r) = http(
        addr,
        "POST",
        "/v2/models/tiny/infer",
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["id"], "a1");
    assert_eq!(r["outputs"][0]["name"], "logits");
    assert_eq!(r["outputs"][0]["shape"], json!([3, k]));
    assert!(
        max_diff(&floats(&r["outputs"][0]["data"]), &want) < 1e-5,
        "{r}"
    );
    let (code, _) = http(addr, "GET", "/v2/models/tiny/versions/1/ready", "", b"");
    assert_eq!(code, 200);
    // Errors name the problem, in the protocol's {"error": …}.
    for (path, body, status, says) in [
        (
            "/v2/models/other/infer",
            body.clone(),
            404,
            "no model \"other\"",
        ),
        (
            "/v2/models/tiny/versions/2/infer",
            body.clone(),
            404,
            "no version",
        ),
        (
            "/v2/models/tiny/infer",
            json!({"inputs": [{"name": "image", "shape": [1, 2, 3], "datatype": "FP32", "data": [0]}]}),
            400,
            "input shape [1, 2, 3]",
        ),
        (
            "/v2/models/tiny/infer",
            json!({"inputs": [{"name": "image", "shape": shape, "datatype": "INT8", "data": [0]}]}),
            400,
            "datatype INT8",
        ),
        (
            "/v2/models/tiny/infer",
            json!({"inputs": [{"name": "image", "shape": shape, "datatype": "FP32", "data": [1.0, 2.0]}]}),
            400,
            "holds 2 values",
        ),
    ] {
        let (code, r) = http(
            addr,
            "POST",
            path,
            "application/json",
            body.to_string().as_bytes(),
        );
        assert_eq!(code, status, "{path}: {r}");
        assert!(
            r["error"].as_str().unwrap_or("").contains(says),
            "{path}: {r}"
        );
    }
    let (code, _) = http(addr, "GET", "/v2/models/tiny/infer", "", b"");
    assert_eq!(code, 405);

    // The real clients.
    match python_with("tritonclient.http, prometheus_client, numpy") {
        Some(py) => {
            let input = dir.path().join("x.f32");
            std::fs::write(
                &input,
                x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
            )
            .unwrap();
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/kserve.py");
            let out = run_ok(Command::new(&py).args([
                script,
                &addr.to_string(),
                "tiny",
                input.to_str().unwrap(),
            ]));
            let r: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(
                (&r["live"], &r["ready"], &r["model_ready"]),
                (&json!(true), &json!(true), &json!(true))
            );
            assert_eq!(
                r["metadata"]["inputs"][0]["shape"],
                json!([-1, shape[1], shape[2], shape[3]])
            );
            for enc in ["binary", "json"] {
                let d = max_diff(&floats(&r[enc]), &want);
                assert!(
                    d < 1e-5,
                    "{enc}: tritonclient's logits differ from the engine's by {d}"
                );
                assert_eq!(r[format!("{enc}_id")], "req-7");
            }
            assert!(
                r["unknown_model"]
                    .as_str()
                    .unwrap_or("")
                    .contains("no model"),
                "{r}"
            );
            let m = &r["metrics"];
            let infer_200 = m["betadarts_requests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s[1]["endpoint"] == "v2_infer" && s[1]["code"] == "200")
                .map(|s| s[2].as_f64().unwrap());
            // One raw JSON request above, two from tritonclient.
            assert_eq!(infer_200, Some(3.0), "{m}");
            let count = |fam: &str, sample: &str| {
                m[fam]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| s[0] == sample)
                    .map(|s| s[2].as_f64().unwrap())
                    .sum::<f64>()
            };
            assert!(
                count(
                    "betadarts_request_duration_seconds",
                    "betadarts_request_duration_seconds_count"
                ) >= 10.0,
                "{m}"
            );
            // Three inferences of 3 images each: the batch-size sum is 9 (no other request ran).
            assert_eq!(
                count("betadarts_batch_size", "betadarts_batch_size_sum"),
                9.0,
                "{m}"
            );
            assert_eq!(
                count("betadarts_queue_depth", "betadarts_queue_depth"),
                0.0,
                "{m}"
            );
            println!("tritonclient and prometheus_client: logits and metrics as expected");
        }
        None => println!(
            "tritonclient check SKIPPED: no Python with tritonclient[http], prometheus_client and numpy (set BETADARTS_PYTHON)"
        ),
    }
    s.shut_down();
}
