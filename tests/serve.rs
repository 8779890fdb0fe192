//! `betadarts deploy serve`: a loopback load test, malformed requests, saturation (the hostile
//! clients are in `serve_hostile.rs`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use betadarts_deploy::serve::{ServeConfig, start};
use betadarts_deploy::{EngineKind, ModelMeta};

use crate::deploy::model;

pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    ctype: &str,
    body: &[u8],
) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

/// A server for the model trained in `dir` on a loopback port; `stop` shuts it down.
pub(crate) struct Serving {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) server: betadarts_deploy::serve::Server,
    pub(crate) stop: tokio::sync::oneshot::Sender<()>,
    pub(crate) bytes: Vec<u8>,
    pub(crate) meta: ModelMeta,
}

impl Serving {
    /// Graceful shutdown, waited for.
    pub(crate) fn shut_down(self) {
        self.stop.send(()).unwrap();
        self.rt.block_on(self.server.done).unwrap().unwrap();
    }
}

pub(crate) fn serving(dir: &Path, cfg: ServeConfig) -> Serving {
    let (_, onnx) = model(dir);
    serving_bytes(std::fs::read(&onnx).unwrap(), cfg)
}

/// A server for the ONNX model `bytes`.
pub(crate) fn serving_bytes(bytes: Vec<u8>, cfg: ServeConfig) -> Serving {
    let meta = ModelMeta::from_onnx(&bytes).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = rt
        .block_on(start(bytes.clone(), meta.clone(), cfg, addr, async {
            let _ = stop_rx.await;
        }))
        .unwrap();
    Serving {
        rt,
        server,
        stop,
        bytes,
        meta,
    }
}

/// The first Fashion-MNIST test image as PNG.
pub(crate) fn fashion_png() -> Vec<u8> {
    let ds = betadarts_data::load(betadarts_data::DatasetName::FashionMnistMini, None).unwrap();
    let mut buf = std::io::Cursor::new(Vec::new());
    image::GrayImage::from_raw(28, 28, ds.test.image(0).to_vec())
        .unwrap()
        .write_to(&mut buf, image::ImageFormat::Png)
        .unwrap();
    buf.into_inner()
}

/// The top-1 class of `png`, straight from the engine (no server).
fn top1_of(onnx: &[u8], meta: &ModelMeta, png: &[u8]) -> serde_json::Value {
    let mut engine = betadarts_deploy::load_engine(EngineKind::Tract, onnx, None).unwrap();
    let top = betadarts_deploy::predict::classify_images(
        engine.as_mut(),
        meta,
        std::slice::from_ref(&png.to_vec()),
        1,
    )
    .unwrap();
    top[0][0].index.into()
}

/// [`top1_of`] for the model `s` serves.
pub(crate) fn top1(s: &Serving, png: &[u8]) -> serde_json::Value {
    top1_of(&s.bytes, &s.meta, png)
}

#[test]
fn server_load_test_and_malformed_requests() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServeConfig {
        engine: EngineKind::Tract,
        max_body: 64 * 1024,
        queue: 256,
        ..ServeConfig::default()
    };
    let Serving {
        rt,
        server,
        stop: stop_tx,
        bytes,
        meta,
    } = serving(dir.path(), cfg);
    let addr = server.addr;

    // Expected answers, straight from the engine.
    let png = fashion_png();
    let want = top1_of(&bytes, &meta, &png);

    // Load: 16 concurrent clients × 8 requests each (bounded count), all valid.
    let failures = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                for _ in 0..8 {
                    let (status, v) = http(addr, "POST", "/v1/predict?top_k=2", "image/png", &png);
                    if status != 200 || v["predictions"][0]["top"][0]["index"] != want {
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(
        failures.into_inner(),
        0,
        "every valid request answered correctly"
    );

    // A JSON tensor of two images.
    let per = meta.input_channels * meta.input_size * meta.input_size;
    let body = serde_json::json!({"tensor": vec![0.0f32; 2 * per], "shape": [2, meta.input_channels, meta.input_size, meta.input_size]}).to_string();
    let (status, v) = http(
        addr,
        "POST",
        "/v1/predict",
        "application/json",
        body.as_bytes(),
    );
    assert_eq!(status, 200);
    assert_eq!(v["predictions"].as_array().unwrap().len(), 2);

    // Malformed requests: right status, JSON error, and the server keeps serving after each.
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("image/png", b"this is not an image".to_vec(), 400),
        ("image/png", png[..png.len() / 2].to_vec(), 400),
        (
            "application/json",
            br#"{"tensor": [1, 2, 3], "shape": [1, 1, 1, 3]}"#.to_vec(),
            400,
        ),
        ("image/png", vec![0u8; 200 * 1024], 413),
        ("text/plain", b"hello".to_vec(), 415),
    ];
    for (ctype, body, code) in cases {
        let (status, v) = http(addr, "POST", "/v1/predict", ctype, &body);
        assert_eq!(status, code, "{ctype}: {v}");
        assert!(v["error"].is_string(), "JSON error for {code}: {v}");
        let (ok_status, _) = http(addr, "GET", "/healthz", "text/plain", b"");
        assert_eq!(ok_status, 200, "still serving after a {code}");
    }
    let (status, v) = http(addr, "GET", "/v1/model", "text/plain", b"");
    assert_eq!(status, 200);
    assert_eq!(v["model"]["class_names"].as_array().unwrap().len(), 10);
    // Wrong path, wrong method, a bad query: each a JSON error too.
    for (method, path, code) in [
        ("GET", "/nope", 404),
        ("GET", "/v1/predict", 405),
        ("POST", "/healthz", 405),
        ("POST", "/v1/predict?top_k=many", 400),
        ("POST", "/v1/predict?top_k=0", 400),
    ] {
        let (status, v) = http(addr, method, path, "image/png", &png);
        assert_eq!(status, code, "{method} {path}: {v}");
        assert!(
            v["error"].is_string(),
            "JSON error for {method} {path}: {v}"
        );
    }

    // Graceful shutdown.
    stop_tx.send(()).unwrap();
    rt.block_on(server.done).unwrap().unwrap();
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn saturated_server_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let (_, onnx) = model(dir.path());
    let bytes = std::fs::read(&onnx).unwrap();
    let meta = ModelMeta::from_onnx(&bytes).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A queue of one and a long batch window: concurrent requests overflow it.
    let cfg = ServeConfig {
        queue: 1,
        max_batch: 1,
        batch_window: Duration::from_millis(200),
        ..ServeConfig::default()
    };
    let server = rt
        .block_on(start(
            bytes,
            meta.clone(),
            cfg,
            "127.0.0.1:0".parse().unwrap(),
            std::future::pending(),
        ))
        .unwrap();
    let per = meta.input_channels * meta.input_size * meta.input_size;
    let body = serde_json::json!({"tensor": vec![0.0f32; per], "shape": [1, meta.input_channels, meta.input_size, meta.input_size]}).to_string();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..12)
            .map(|_| {
                s.spawn(|| {
                    http(
                        server.addr,
                        "POST",
                        "/v1/predict",
                        "application/json",
                        body.as_bytes(),
                    )
                    .0
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&503),
        "some requests were refused: {statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
}
