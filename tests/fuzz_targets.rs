//! The fuzz targets: one per reader of outside data, each named for its corpus folder. A
//! target returns whether the reader accepted the input; its error paths are what is tested.
//! `write_seed_corpus` (ignored) rewrites `tests/corpus/` from the project's own writers.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use betadarts_data::folder::{FolderSplit, Transform, load_batch};
use betadarts_deploy::serve::ServeConfig;
use betadarts_deploy::{Engine, EngineKind, ModelMeta, eval, load_engine};
use betadarts_search::darts::Genotype;
use betadarts_search::nb201::Arch;

use crate::fuzz::{Read, corpus_dir};
use crate::serve::{Serving, http, serving_bytes};

/// What the targets share: a scratch folder, the corpus model, its engine and a server.
pub(crate) struct Ctx {
    dir: tempfile::TempDir,
    meta: ModelMeta,
    engine: Mutex<Box<dyn Engine>>,
    serving: Serving,
}

fn model_bytes() -> Vec<u8> {
    std::fs::read(corpus_dir("onnx").join("nb201-c4-l1-s8.onnx")).unwrap()
}

impl Ctx {
    pub(crate) fn new() -> Self {
        let onnx = model_bytes();
        let meta = ModelMeta::from_onnx(&onnx).unwrap();
        let engine = Mutex::new(load_engine(EngineKind::Tract, &onnx, None).unwrap());
        let cfg = ServeConfig {
            timeout: Duration::from_secs(2),
            header_timeout: Duration::from_secs(2),
            ..ServeConfig::default()
        };
        Self {
            dir: tempfile::tempdir().unwrap(),
            meta,
            engine,
            serving: serving_bytes(onnx, cfg),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The server survived every request: it still answers, and no engine panicked.
    pub(crate) fn finish(self) {
        let (status, v) = http(
            self.serving.server.addr,
            "GET",
            "/healthz",
            "text/plain",
            b"",
        );
        assert_eq!((status, v["engine_panics"].as_u64()), (200, Some(0)), "{v}");
        self.serving.shut_down();
    }

    /// Evaluates the model on `data`: reading the folder and decoding its images.
    fn eval(&self, data: &Path) -> bool {
        let Ok(set) = eval::open(data, &self.meta) else {
            return false;
        };
        let mut engine = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        eval::evaluate(engine.as_mut(), &self.meta, &set, 4, |_, _| {}).is_ok()
    }
}

/// Writes the input to `name` under the scratch folder first.
fn file(ctx: &Ctx, name: &str, bytes: &[u8]) -> PathBuf {
    let p = ctx.path(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A raw HTTP request sent as it is (then the write side closed): any answer but a 500, or
/// none, is fine; true for a 200.
fn raw_http(ctx: &Ctx, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(ctx.serving.server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(Shutdown::Write);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let status = String::from_utf8_lossy(&resp)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .unwrap_or(0);
    assert!(
        status != 500,
        "a request answered 500: {}",
        String::from_utf8_lossy(&resp)
    );
    status == 200
}

/// Every target, by name; each reads its corpus folder.
pub(crate) fn targets(c: &Ctx) -> Vec<(&'static str, Read<'_>)> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    vec![
        (
            "genotype",
            Box::new(move |b: &[u8]| Genotype::parse(&text(b)).is_ok()) as Read<'_>,
        ),
        (
            "nb201-arch",
            Box::new(move |b: &[u8]| text(b).parse::<Arch>().is_ok()),
        ),
        (
            "nb201-table",
            Box::new(move |b: &[u8]| {
                betadarts_search::nb201::table::Table::load(&file(c, "t.csv", b)).is_ok()
            }),
        ),
        (
            "checkpoint",
            Box::new(move |b: &[u8]| {
                betadarts_search::run_dir::read_checkpoint(&file(c, "c.ckpt", b)).is_ok()
            }),
        ),
        (
            "idx",
            Box::new(move |b: &[u8]| {
                let p = file(c, "x-idx-ubyte", b);
                betadarts_data::read_idx_images(&p).is_ok()
                    | betadarts_data::read_idx_labels(&p).is_ok()
            }),
        ),
        (
            "cifar",
            Box::new(move |b: &[u8]| {
                let p = file(c, "batch.bin", b);
                betadarts_data::read_cifar_file(&p, betadarts_data::CIFAR10_RECORD, 10).is_ok()
            }),
        ),
        (
            "pickle",
            Box::new(move |b: &[u8]| {
                let p = file(c, "data_batch_1", b);
                let read = |side| betadarts_data::read_pickled_batch(&p, "labels", side).is_ok();
                read(32) | read(16)
            }),
        ),
        (
            "onnx",
            Box::new(move |b: &[u8]| {
                let Ok(meta) = ModelMeta::from_onnx(b) else {
                    return false;
                };
                // One thread: a pool per case would spawn threads in the loop.
                let Ok(mut engine) = load_engine(EngineKind::Tract, b, Some(1)) else {
                    return false;
                };
                let shape = [1, meta.input_channels, meta.input_size, meta.input_size];
                engine
                    .run(&vec![0.0; shape.iter().product()], shape)
                    .is_ok()
            }),
        ),
        (
            "image",
            Box::new(move |b: &[u8]| {
                let served = betadarts_deploy::preprocess::decode(b)
                    .map(|img| betadarts_deploy::preprocess::to_input(&img, &c.meta));
                let read = betadarts_data::folder::decode(&file(c, "i.png", b));
                served.is_ok() & read.is_ok()
            }),
        ),
        (
            "image-folder",
            Box::new(move |b: &[u8]| {
                // One good image and the input, in class folders: the training reader and eval.
                let root = c.path("folder");
                let _ = std::fs::remove_dir_all(&root);
                file(
                    c,
                    "folder/airplane/a.png",
                    &std::fs::read(corpus_dir("image").join("rgb.png")).unwrap(),
                );
                file(c, "folder/automobile/b.png", b);
                let train = FolderSplit::scan(&root, None).is_ok_and(|split| {
                    let t = Transform::Train {
                        size: 8,
                        jitter: Some(Default::default()),
                    };
                    load_batch(&split, &[0, 1], t, 1, 2).is_ok()
                });
                train & c.eval(&root)
            }),
        ),
        (
            "labels-csv",
            Box::new(move |b: &[u8]| {
                let root = c.path("flat");
                for name in ["a.png", "b.png"] {
                    file(
                        c,
                        &format!("flat/{name}"),
                        &std::fs::read(corpus_dir("image").join("rgb.png")).unwrap(),
                    );
                }
                file(c, "flat/labels.csv", b);
                c.eval(&root)
            }),
        ),
        ("http", Box::new(move |b: &[u8]| raw_http(c, b))),
    ]
}

/// Rewrites `tests/corpus/` with seeds made by the project's own writers (and the encoders of
/// the `image` crate): `cargo test --test integration write_seed_corpus -- --ignored`.
#[test]
#[ignore]
fn write_seed_corpus() {
    let put = |target: &str, name: &str, bytes: &[u8]| {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    put(
        "genotype",
        "DARTS_V2.json",
        &std::fs::read(repo.join("models/genotypes/DARTS_V2.json")).unwrap(),
    );
    put("genotype", "PC_DARTS.py", b"Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=[2, 3, 4, 5])");
    let best = crate::common::BEST_ARCH;
    put("nb201-arch", "best.txt", best.as_bytes());
    put(
        "nb201-arch",
        "mixed.txt",
        b"|avg_pool_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    );
    let cols =
        "cifar10_valid,cifar10_test,cifar100_valid,cifar100_test,imagenet16_valid,imagenet16_test";
    put(
        "nb201-table",
        "plain.csv",
        format!("index,arch,{cols}\n0,{best},91.6,94.37,73.5,73.51,46.4,46.34\n").as_bytes(),
    );
    put(
        "nb201-table",
        "pandas.csv",
        format!(",arch,index,{cols}\n0,\"{best}\",7,1,2,3,4,5,6\n").as_bytes(),
    );

    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tmp.path().join("c.ckpt");
    betadarts_search::run_dir::write_checkpoint(
        &ckpt,
        &betadarts_search::run_dir::Checkpoint {
            header: serde_json::json!({"format": 2, "epochs_done": 1}),
            blobs: vec![("net".into(), vec![1; 64]), ("optim".into(), vec![2; 32])],
        },
    )
    .unwrap();
    put(
        "checkpoint",
        "two-blobs.ckpt",
        &std::fs::read(&ckpt).unwrap(),
    );

    let mut images = vec![0, 0, 8, 3];
    [3u32, 4, 4]
        .iter()
        .for_each(|x| images.extend_from_slice(&x.to_be_bytes()));
    images.extend(0..48u8);
    put("idx", "images-idx3-ubyte", &images);
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&3u32.to_be_bytes());
    labels.extend([0, 9, 4]);
    put("idx", "labels-idx1-ubyte", &labels);
    let cifar: Vec<u8> = (0..2 * 3073)
        .map(|i| {
            if i % 3073 == 0 {
                (i / 3073 * 7) as u8
            } else {
                (i % 251) as u8
            }
        })
        .collect();
    put("cifar", "two-records.bin", &cifar);
    // Pickled batches as Python 2 and Python 3 (protocols 2, 4, 5) write them.
    let py = crate::common::python_with("numpy").expect("a Python with numpy for the pickle seeds");
    let script = repo.join("tests/clients/write_pickles.py");
    crate::common::run_ok(
        std::process::Command::new(py)
            .arg(script)
            .arg("--seeds")
            .arg(corpus_dir("pickle")),
    );

    let onnx = tmp.path().join("m.onnx");
    crate::common::ok(&crate::common::args(&crate::common::tiny_nb201_export(
        onnx.to_str().unwrap(),
    )));
    put(
        "onnx",
        "nb201-c4-l1-s8.onnx",
        &std::fs::read(&onnx).unwrap(),
    );

    let encode = |img: image::DynamicImage, format| {
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, format).unwrap();
        buf.into_inner()
    };
    let gray = image::GrayImage::from_fn(8, 8, |x, y| image::Luma([(x * 32 + y) as u8]));
    let rgb = image::RgbImage::from_fn(8, 8, |x, y| {
        image::Rgb([(x * 32) as u8, (y * 32) as u8, 99])
    });
    let photo = image::RgbImage::from_fn(16, 16, |x, y| {
        image::Rgb([(x * 16) as u8, (y * 16) as u8, ((x + y) * 8) as u8])
    });
    let png = encode(rgb.into(), image::ImageFormat::Png);
    let jpeg = encode(photo.into(), image::ImageFormat::Jpeg);
    for (name, bytes) in [
        ("gray.png", &encode(gray.into(), image::ImageFormat::Png)),
        ("rgb.png", &png),
        ("photo.jpg", &jpeg),
    ] {
        put("image", name, bytes);
        put("image-folder", name, bytes);
    }
    let meta = ModelMeta::from_onnx(&std::fs::read(&onnx).unwrap()).unwrap();
    let class = &meta.class_names[1];
    put(
        "labels-csv",
        "by-index.csv",
        b"file,label\na.png,0\nb.png,3\n",
    );
    put(
        "labels-csv",
        "pandas-by-name.csv",
        format!(",label,file\n0,\"{class}\",a.png\n1,0,\"b.png\"\n").as_bytes(),
    );

    let request = |head: &str, body: &[u8]| {
        let mut r = head.replace('\n', "\r\n").into_bytes();
        r.extend_from_slice(body);
        r
    };
    let post = |ctype: &str, body: &[u8]| {
        request(
            &format!(
                "POST /v1/predict?top_k=2 HTTP/1.1\nHost: x\nContent-Type: {ctype}\nContent-Length: {}\n\n",
                body.len()
            ),
            body,
        )
    };
    put("http", "predict-png.http", &post("image/png", &png));
    put("http", "predict-jpeg.http", &post("image/jpeg", &jpeg));
    let per = meta.input_channels * meta.input_size * meta.input_size;
    let tensor = serde_json::json!({"tensor": vec![0.5f32; per], "shape": [1, meta.input_channels, meta.input_size, meta.input_size]});
    put(
        "http",
        "predict-json.http",
        &post("application/json", tensor.to_string().as_bytes()),
    );
    let mut chunked = format!("{:x}\r\n", png.len()).into_bytes();
    chunked.extend_from_slice(&png);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    put(
        "http",
        "predict-chunked.http",
        &request(
            "POST /v1/predict HTTP/1.1\nHost: x\nContent-Type: image/png\nTransfer-Encoding: chunked\n\n",
            &chunked,
        ),
    );
    // The Open Inference Protocol: JSON tensors, and the binary extension (a JSON header of
    // Inference-Header-Content-Length bytes, then the raw tensor).
    let shape = [1, meta.input_channels, meta.input_size, meta.input_size];
    let v2 = |head: &str, body: &[u8], extra: &str| {
        request(
            &format!(
                "POST /v2/models/model/infer HTTP/1.1\nHost: x\nContent-Type: application/json\n{extra}Content-Length: {}\n\n{head}",
                head.len() + body.len()
            ),
            body,
        )
    };
    let json_infer = serde_json::json!({"id": "1", "inputs": [{"name": "image", "shape": shape, "datatype": "FP32", "data": vec![0.5f32; per]}]});
    put(
        "http",
        "v2-infer-json.http",
        &v2(&json_infer.to_string(), b"", ""),
    );
    let head = serde_json::json!({
        "inputs": [{"name": "image", "shape": shape, "datatype": "FP32", "parameters": {"binary_data_size": per * 4}}],
        "outputs": [{"name": "logits", "parameters": {"binary_data": true}}],
    })
    .to_string();
    let raw: Vec<u8> = vec![0.25f32; per]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let extra = format!("Inference-Header-Content-Length: {}\n", head.len());
    put("http", "v2-infer-binary.http", &v2(&head, &raw, &extra));
    put(
        "http",
        "v2-model.http",
        &request("GET /v2/models/model HTTP/1.1\nHost: x\n\n", b""),
    );
    put(
        "http",
        "metrics.http",
        &request("GET /metrics HTTP/1.1\nHost: x\n\n", b""),
    );
    put(
        "http",
        "healthz.http",
        &request("GET /healthz HTTP/1.1\nHost: x\n\n", b""),
    );
    put(
        "http",
        "model.http",
        &request(
            "GET /v1/model HTTP/1.1\nHost: x\nConnection: close\n\n",
            b"",
        ),
    );
}
