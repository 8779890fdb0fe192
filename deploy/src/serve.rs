//! HTTP serving (axum): `POST /v1/predict` (an image body, or a JSON tensor), `GET /v1/model`,
//! `GET /healthz`. One engine runs on a worker thread behind a bounded queue; requests that
//! arrive together are micro-batched (up to `max_batch` images, waiting at most `batch_window`
//! for more). Errors are JSON `{"error": …}`: 400 undecodable image, wrong tensor shape, a bad
//! query or a body cut short, 404/405 wrong path or method, 408 body not received within the
//! timeout, 413 body over the limit (a declared Content-Length is answered before anything is
//! read) or an image over the pixel limits, 415 unsupported content type, 500 engine failure
//! (a panicking engine is replaced, and `/healthz` counts it), 503 queue full, 504 past the
//! request timeout. Decoding runs on tokio's blocking pool, never on the
//! async threads, and at most `decoders` at once, so `/healthz` stays fast and memory bounded
//! while large images are decoded. Open connections are capped, headers must arrive within a
//! deadline, and a connection that sends nothing for longer than a request may take is closed
//! ([`crate::connections`]). Shuts down gracefully on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use crate::predict::{TopClass, classify};
use crate::preprocess::{decode, to_input};
use crate::{EngineKind, Error, ModelMeta, Result, load_engine};

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub engine: EngineKind,
    pub threads: Option<usize>,
    /// Largest accepted request body.
    pub max_body: usize,
    pub timeout: Duration,
    /// Requests waiting for the engine before new ones get 503.
    pub queue: usize,
    pub max_batch: usize,
    pub batch_window: Duration,
    /// Open connections at most; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// A request's headers must arrive within this (also the keep-alive idle limit).
    pub header_timeout: Duration,
    /// Images decoded at once: each may take up to the decoder's 256 MB allocation limit, so
    /// this bounds the memory a burst of large images can claim.
    pub decoders: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            engine: EngineKind::Tract,
            threads: None,
            max_body: 8 << 20,
            timeout: Duration::from_secs(30),
            queue: 64,
            max_batch: 32,
            batch_window: Duration::from_millis(2),
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            decoders: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

struct Job {
    input: Vec<f32>,
    images: usize,
    top_k: usize,
    reply: oneshot::Sender<Result<Vec<Vec<TopClass>>>>,
}

struct AppState {
    meta: ModelMeta,
    engine: EngineKind,
    jobs: mpsc::Sender<Job>,
    cfg: ServeConfig,
    /// Engine panics caught (each answered 500, the engine then reloaded).
    panics: Arc<AtomicUsize>,
    decoders: Arc<tokio::sync::Semaphore>,
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": msg.into(), "status": status.as_u16()})),
    )
        .into_response()
}

/// The engine's thread: takes a job, gathers what else is waiting (micro-batch), runs once.
fn worker(
    onnx: Vec<u8>,
    meta: ModelMeta,
    cfg: ServeConfig,
    mut rx: mpsc::Receiver<Job>,
    ready: std::sync::mpsc::Sender<Result<()>>,
    panics: Arc<AtomicUsize>,
) {
    let mut engine = match load_engine(cfg.engine, &onnx, cfg.threads) {
        Ok(e) => {
            let _ = ready.send(Ok(()));
            e
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        let deadline = std::time::Instant::now() + cfg.batch_window;
        while jobs.iter().map(|j| j.images).sum::<usize>() < cfg.max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_micros(200))
                }
                Err(_) => break,
            }
        }
        let n: usize = jobs.iter().map(|j| j.images).sum();
        let input: Vec<f32> = jobs.iter().flat_map(|j| j.input.iter().copied()).collect();
        let k_max = jobs.iter().map(|j| j.top_k).max().unwrap_or(1);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            classify(engine.as_mut(), &meta, &input, n, k_max)
        }));
        let result = match run {
            Ok(r) => r,
            Err(_) => {
                // The engine's state is unknown after a panic: answer 500 and load a fresh one.
                panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!("the engine panicked; answering 500 and reloading it");
                match load_engine(cfg.engine, &onnx, cfg.threads) {
                    Ok(e) => engine = e,
                    Err(e) => {
                        tracing::error!(error = %e, "reloading the engine failed; stopping");
                        return;
                    }
                }
                Err(Error::Model("the engine panicked on this batch".into()))
            }
        };
        match result {
            Ok(mut all) => {
                for j in jobs {
                    let mut mine: Vec<Vec<TopClass>> = all.drain(..j.images).collect();
                    mine.iter_mut().for_each(|t| t.truncate(j.top_k));
                    let _ = j.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for j in jobs {
                    let _ = j.reply.send(Err(Error::Model(msg.clone())));
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct PredictQuery {
    top_k: Option<usize>,
}

#[derive(Deserialize)]
struct TensorBody {
    tensor: Vec<f32>,
    shape: Vec<usize>,
}

/// The engine input of one request body: an image (decoded within the pixel limits) or a JSON
/// tensor; an error response otherwise.
fn prepare(
    bytes: &[u8],
    ctype: &str,
    m: &ModelMeta,
    max_batch: usize,
) -> std::result::Result<(Vec<f32>, usize), Response> {
    let per = m.input_channels * m.input_size * m.input_size;
    if ctype.starts_with("image/") || ctype == "application/octet-stream" {
        return match decode(bytes) {
            Ok(img) => Ok((to_input(&img, m), 1)),
            Err(e @ Error::TooLarge(_)) => Err(error(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())),
            Err(e) => Err(error(StatusCode::BAD_REQUEST, e.to_string())),
        };
    }
    if ctype != "application/json" {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {ctype:?}: send image/png, image/jpeg or application/json"),
        ));
    }
    let t: TensorBody = serde_json::from_slice(bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("expected {{\"tensor\": [...], \"shape\": [N, C, H, W]}}: {e}"),
        )
    })?;
    let want = [m.input_channels, m.input_size, m.input_size];
    let count = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if t.shape.len() != 4
        || t.shape[1..] != want
        || t.shape[0] == 0
        || count != Some(t.tensor.len())
    {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!(
                "tensor shape {:?} with {} values; the model takes [N, {}, {}, {}] (normalised)",
                t.shape,
                t.tensor.len(),
                want[0],
                want[1],
                want[2]
            ),
        ));
    }
    if t.shape[0] > max_batch {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("at most {max_batch} images per request"),
        ));
    }
    debug_assert_eq!(t.tensor.len(), t.shape[0] * per);
    Ok((t.tensor, t.shape[0]))
}

async fn predict(
    State(s): State<Arc<AppState>>,
    q: std::result::Result<Query<PredictQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let top_k = match q {
        Ok(Query(PredictQuery { top_k: Some(0) })) => {
            return error(StatusCode::BAD_REQUEST, "top_k must be at least 1");
        }
        Ok(Query(q)) => q.top_k.unwrap_or(5),
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("query string: {} (expected ?top_k=N)", e.body_text()),
            );
        }
    };
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over the {} byte limit", s.cfg.max_body),
        )
    };
    // A declared length over the limit is answered before a byte of the body is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > s.cfg.max_body as u64) {
        return too_large();
    }
    let bytes =
        match tokio::time::timeout(s.cfg.timeout, axum::body::to_bytes(body, s.cfg.max_body)).await
        {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                let inner = e.into_inner();
                if inner.is::<http_body_util::LengthLimitError>() {
                    return too_large();
                }
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("request body cut short or malformed: {inner}"),
                );
            }
            Err(_) => {
                return error(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("request body not received within {:?}", s.cfg.timeout),
                );
            }
        };
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (meta, max_batch) = (s.meta.clone(), s.cfg.max_batch);
    let Ok(Ok(slot)) =
        tokio::time::timeout(s.cfg.timeout, s.decoders.clone().acquire_owned()).await
    else {
        return error(
            StatusCode::GATEWAY_TIMEOUT,
            format!("no decoder free within {:?}", s.cfg.timeout),
        );
    };
    // Decoding and JSON parsing are CPU work: on the blocking pool, off the async threads.
    let prepared = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        prepare(&bytes, &ctype, &meta, max_batch)
    })
    .await;
    let (input, images) = match prepared {
        Ok(Ok(v)) => v,
        Ok(Err(response)) => return response,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "request preparation failed",
            );
        }
    };
    let m = &s.meta;
    let (reply, rx) = oneshot::channel();
    let job = Job {
        input,
        images,
        top_k: top_k.min(m.class_names.len()),
        reply,
    };
    if s.jobs.try_send(job).is_err() {
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server saturated: request queue full, retry shortly",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return r;
    }
    match tokio::time::timeout(s.cfg.timeout, rx).await {
        Ok(Ok(Ok(preds))) => axum::Json(serde_json::json!({
            "engine": s.engine.to_string(),
            "predictions": preds.into_iter().map(|top| serde_json::json!({"top": top})).collect::<Vec<_>>(),
        }))
        .into_response(),
        Ok(Ok(Err(e))) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Ok(Err(_)) => error(StatusCode::INTERNAL_SERVER_ERROR, "engine worker stopped"),
        Err(_) => error(StatusCode::GATEWAY_TIMEOUT, format!("no answer within {:?}", s.cfg.timeout)),
    }
}

async fn model(State(s): State<Arc<AppState>>) -> Response {
    axum::Json(serde_json::json!({"engine": s.engine.to_string(), "model": s.meta})).into_response()
}

async fn healthz(State(s): State<Arc<AppState>>) -> Response {
    let panics = s.panics.load(Ordering::Relaxed);
    axum::Json(serde_json::json!({"status": "ok", "engine_panics": panics})).into_response()
}

async fn wrong_method() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "wrong method: POST /v1/predict, GET /v1/model, GET /healthz",
    )
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint: POST /v1/predict, GET /v1/model, GET /healthz",
    )
}

/// A running server: its address, and a handle that completes when it has shut down.
pub struct Server {
    pub addr: SocketAddr,
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds `addr` (port 0 picks one), loads the engine, and serves until `shutdown` completes.
pub async fn start(
    onnx: Vec<u8>,
    meta: ModelMeta,
    cfg: ServeConfig,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Server> {
    let (tx, rx) = mpsc::channel(cfg.queue.max(1));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let panics = Arc::new(AtomicUsize::new(0));
    {
        let (meta, cfg, panics) = (meta.clone(), cfg.clone(), panics.clone());
        std::thread::spawn(move || worker(onnx, meta, cfg, rx, ready_tx, panics));
    }
    ready_rx
        .recv()
        .map_err(|_| Error::Model("engine thread died".into()))??;
    let (state_timeout, max_connections, header) =
        (cfg.timeout, cfg.max_connections, cfg.header_timeout);
    let state = Arc::new(AppState {
        meta,
        engine: cfg.engine,
        jobs: tx,
        decoders: Arc::new(tokio::sync::Semaphore::new(cfg.decoders.max(1))),
        cfg,
        panics,
    });
    let app = Router::new()
        .route("/v1/predict", post(predict))
        .route("/v1/model", get(model))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Io {
            path: addr.to_string().into(),
            cause: e,
        })?;
    let addr = listener.local_addr().map_err(|e| Error::Io {
        path: "listener".into(),
        cause: e,
    })?;
    // Idle longer than a request may take (its body within the timeout, then its answer within
    // the timeout after its last byte), so only stalled clients are cut.
    let idle = state_timeout + Duration::from_secs(1);
    let listener = crate::connections::Limited::new(listener, max_connections, idle);
    let done = tokio::spawn(crate::connections::serve(listener, app, header, shutdown));
    Ok(Server { addr, done })
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
