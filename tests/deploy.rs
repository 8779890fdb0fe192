//! `betadarts deploy`: predict agrees across engines, eval matches an independent count, and
//! the HTTP server survives a loopback load test and malformed requests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use betadarts_deploy::serve::{ServeConfig, start};
use betadarts_deploy::{EngineKind, ModelMeta, ort_available};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

use crate::common::ok;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/samples")
}

/// Trains a tiny NB201 network on the built-in Fashion-MNIST subset (16×16) and exports it.
fn model(dir: &Path) -> (PathBuf, PathBuf) {
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
    if ort_available() {
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
        let d = folder.join(&meta.class_names[first.labels[i] as usize].replace('/', "_"));
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

fn http(
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
struct Serving {
    rt: tokio::runtime::Runtime,
    server: betadarts_deploy::serve::Server,
    stop: tokio::sync::oneshot::Sender<()>,
    bytes: Vec<u8>,
    meta: ModelMeta,
}

impl Serving {
    /// Graceful shutdown, waited for.
    fn shut_down(self) {
        self.stop.send(()).unwrap();
        self.rt.block_on(self.server.done).unwrap().unwrap();
    }
}

fn serving(dir: &Path, cfg: ServeConfig) -> Serving {
    let (_, onnx) = model(dir);
    let bytes = std::fs::read(&onnx).unwrap();
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
    let png: Vec<u8> = {
        let ds = betadarts_data::load(betadarts_data::DatasetName::FashionMnistMini, None).unwrap();
        let mut buf = std::io::Cursor::new(Vec::new());
        image::GrayImage::from_raw(28, 28, ds.test.image(0).to_vec())
            .unwrap()
            .write_to(&mut buf, image::ImageFormat::Png)
            .unwrap();
        buf.into_inner()
    };
    let mut engine = betadarts_deploy::load_engine(EngineKind::Tract, &bytes, None).unwrap();
    let want = betadarts_deploy::predict::classify_images(
        engine.as_mut(),
        &meta,
        std::slice::from_ref(&png),
        1,
    )
    .unwrap()[0][0]
        .index;

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
    let (status, _) = http(addr, "GET", "/nope", "text/plain", b"");
    assert_eq!(status, 404);

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

/// Reads a raw HTTP response's status, waiting at most `wait`.
fn status_within(s: &mut TcpStream, wait: Duration) -> u16 {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    String::from_utf8_lossy(&resp)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn server_refuses_bombs_giants_and_slow_bodies_and_stays_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServeConfig {
        max_body: 1 << 20,
        timeout: Duration::from_secs(1),
        ..ServeConfig::default()
    };
    let serving = serving(dir.path(), cfg);
    let addr = serving.server.addr;

    // An image wider than the decode limit (a few hundred bytes of PNG): refused from its header.
    let mut wide = std::io::Cursor::new(Vec::new());
    image::GrayImage::new(9000, 2)
        .write_to(&mut wide, image::ImageFormat::Png)
        .unwrap();
    let (status, v) = http(addr, "POST", "/v1/predict", "image/png", wide.get_ref());
    assert_eq!(status, 413, "{v}");
    assert!(v["error"].as_str().unwrap().contains("too large"), "{v}");

    // A declared gigabyte: answered 413 at once, nothing read.
    let mut giant = TcpStream::connect(addr).unwrap();
    giant
        .write_all(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1073741824\r\n\r\n")
        .unwrap();
    assert_eq!(status_within(&mut giant, Duration::from_secs(5)), 413);

    // Slow clients holding bodies open: each answered 408 after the timeout, and meanwhile
    // /healthz answers at once.
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100\r\n\r\n0123456789")
                .unwrap();
            s
        })
        .collect();
    for _ in 0..5 {
        let t0 = std::time::Instant::now();
        let (status, v) = http(addr, "GET", "/healthz", "text/plain", b"");
        assert_eq!((status, v["engine_panics"].as_u64()), (200, Some(0)));
        // The bound is loose because other tests share these cores; what it
        // guards against (health waiting behind request work) took seconds.
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "healthz took {:?}",
            t0.elapsed()
        );
    }
    for s in &mut slow {
        assert_eq!(status_within(s, Duration::from_secs(10)), 408);
    }
    serving.shut_down();
}

#[test]
fn stalled_connections_are_closed_and_their_slots_reused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServeConfig {
        timeout: Duration::from_secs(1),
        max_connections: 3,
        ..ServeConfig::default()
    };
    let serving = serving(dir.path(), cfg);
    let addr = serving.server.addr;
    // Silent clients and one that stops in the middle of its request line: more than the
    // slots. Each is closed by the server (idle limit: timeout + 1 s), freeing its slot.
    let mut stalled: Vec<TcpStream> = (0..5)
        .map(|i| {
            let mut s = TcpStream::connect(addr).unwrap();
            if i == 0 {
                s.write_all(b"POST /v1/pre").unwrap();
            }
            s
        })
        .collect();
    let t0 = std::time::Instant::now();
    for s in &mut stalled {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");
    }
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "took {:?}",
        t0.elapsed()
    );
    // The slots are free again.
    let (status, _) = http(addr, "GET", "/healthz", "text/plain", b"");
    assert_eq!(status, 200);
    serving.shut_down();
}
