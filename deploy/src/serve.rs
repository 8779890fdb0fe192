//! HTTP serving (axum): `POST /v1/predict` (an image body, or a JSON tensor), `GET /v1/model`,
//! `GET /healthz`. One engine runs on a worker thread behind a bounded queue; requests that
//! arrive together are micro-batched (up to `max_batch` images, waiting at most `batch_window`
//! for more). Errors are JSON `{"error": …}`: 400 undecodable image or wrong tensor shape, 413
//! body over the limit, 415 unsupported content type, 503 queue full, 504 past the request
//! timeout. Shuts down gracefully on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
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
        match classify(engine.as_mut(), &meta, &input, n, k_max) {
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

async fn predict(
    State(s): State<Arc<AppState>>,
    Query(q): Query<PredictQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match axum::body::to_bytes(body, s.cfg.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over the {} byte limit", s.cfg.max_body),
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
    let m = &s.meta;
    let per = m.input_channels * m.input_size * m.input_size;
    let (input, images) = if ctype.starts_with("image/") || ctype == "application/octet-stream" {
        match decode(&bytes) {
            Ok(img) => (to_input(&img, m), 1),
            Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        }
    } else if ctype == "application/json" {
        let t: TensorBody = match serde_json::from_slice(&bytes) {
            Ok(t) => t,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("expected {{\"tensor\": [...], \"shape\": [N, C, H, W]}}: {e}"),
                );
            }
        };
        let want = [m.input_channels, m.input_size, m.input_size];
        if t.shape.len() != 4
            || t.shape[1..] != want
            || t.shape[0] == 0
            || t.tensor.len() != t.shape.iter().product::<usize>()
        {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "tensor shape {:?} with {} values; the model takes [N, {}, {}, {}] (normalised)",
                    t.shape,
                    t.tensor.len(),
                    want[0],
                    want[1],
                    want[2]
                ),
            );
        }
        if t.shape[0] > s.cfg.max_batch {
            return error(
                StatusCode::BAD_REQUEST,
                format!("at most {} images per request", s.cfg.max_batch),
            );
        }
        debug_assert_eq!(t.tensor.len(), t.shape[0] * per);
        (t.tensor, t.shape[0])
    } else {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {ctype:?}: send image/png, image/jpeg or application/json"),
        );
    };
    let (reply, rx) = oneshot::channel();
    let job = Job {
        input,
        images,
        top_k: q.top_k.unwrap_or(5).clamp(1, m.class_names.len()),
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

async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
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
    {
        let (meta, cfg) = (meta.clone(), cfg.clone());
        std::thread::spawn(move || worker(onnx, meta, cfg, rx, ready_tx));
    }
    ready_rx
        .recv()
        .map_err(|_| Error::Model("engine thread died".into()))??;
    let state = Arc::new(AppState {
        meta,
        engine: cfg.engine,
        jobs: tx,
        cfg,
    });
    let app = Router::new()
        .route("/v1/predict", post(predict))
        .route("/v1/model", get(model))
        .route("/healthz", get(healthz))
        .fallback(not_found)
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
    let done = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    });
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
