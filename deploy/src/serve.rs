//! HTTP serving (axum): the server's own `/v1` protocol ([`crate::v1`]), the Open Inference
//! Protocol under `/v2` ([`crate::kserve`]) and Prometheus `GET /metrics` ([`crate::metrics`]);
//! one access-log line per request (tracing target `access`). One engine runs on a worker thread
//! behind a bounded queue ([`crate::worker`]); requests that arrive together are micro-batched.
//! Errors are JSON `{"error": …}`: 400 undecodable image, wrong tensor shape, a bad query or a
//! body cut short, 404/405 wrong path or method, 408 body not received within the timeout, 413
//! body over the limit (a declared Content-Length is answered before anything is read) or an
//! image over the pixel limits, 415 unsupported content type, 500 engine failure (a panicking
//! engine is replaced, and `/healthz` counts it), 503 queue full, 504 past the request timeout.
//! Decoding runs on tokio's blocking pool, never on the async threads, and at most `decoders`
//! at once, so `/healthz` stays fast and memory bounded while large images are decoded. Open
//! connections are capped, headers must arrive within a deadline, and a connection that sends
//! nothing for longer than a request may take is closed ([`crate::connections`]). Shuts down
//! gracefully on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::{Metrics, endpoint};
use crate::worker::{Job, Logits};
use crate::{EngineKind, Error, ModelMeta, Result};

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
    /// The model's name in the `/v2` (KServe) paths.
    pub model_name: String,
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
            model_name: "model".into(),
        }
    }
}

pub(crate) struct AppState {
    pub(crate) meta: ModelMeta,
    pub(crate) engine: EngineKind,
    jobs: mpsc::Sender<Job>,
    pub(crate) cfg: ServeConfig,
    /// Engine panics caught (each answered 500, the engine then reloaded).
    pub(crate) panics: Arc<AtomicUsize>,
    pub(crate) decoders: Arc<tokio::sync::Semaphore>,
    metrics: Arc<Metrics>,
}

pub(crate) fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": msg.into(), "status": status.as_u16()})),
    )
        .into_response()
}

/// The request body, within the size limit and the timeout; the error answer otherwise.
pub(crate) async fn read_body(
    s: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> std::result::Result<Bytes, Response> {
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
        return Err(too_large());
    }
    match tokio::time::timeout(s.cfg.timeout, axum::body::to_bytes(body, s.cfg.max_body)).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => {
            let inner = e.into_inner();
            if inner.is::<http_body_util::LengthLimitError>() {
                return Err(too_large());
            }
            Err(error(
                StatusCode::BAD_REQUEST,
                format!("request body cut short or malformed: {inner}"),
            ))
        }
        Err(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            format!("request body not received within {:?}", s.cfg.timeout),
        )),
    }
}

/// Queues `images` images for the engine and waits for their logits.
pub(crate) async fn submit(
    s: &AppState,
    input: Vec<f32>,
    images: usize,
) -> std::result::Result<Logits, Response> {
    let (reply, rx) = oneshot::channel();
    if s.jobs
        .try_send(Job {
            input,
            images,
            reply,
        })
        .is_err()
    {
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server saturated: request queue full, retry shortly",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return Err(r);
    }
    match tokio::time::timeout(s.cfg.timeout, rx).await {
        Ok(Ok(Ok(logits))) => Ok(logits),
        Ok(Ok(Err(e))) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
        Ok(Err(_)) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "engine worker stopped",
        )),
        Err(_) => Err(error(
            StatusCode::GATEWAY_TIMEOUT,
            format!("no answer within {:?}", s.cfg.timeout),
        )),
    }
}

async fn prometheus(State(s): State<Arc<AppState>>) -> Response {
    let depth = s.jobs.max_capacity() - s.jobs.capacity();
    let text = s.metrics.render(depth, s.panics.load(Ordering::Relaxed));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// One access-log line and the request metrics, for every request.
async fn observe(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let t0 = Instant::now();
    let r = next.run(req).await;
    let seconds = t0.elapsed().as_secs_f64();
    let status = r.status().as_u16();
    s.metrics.request(endpoint(&path), status, seconds);
    let ms = (seconds * 1e6).round() / 1e3;
    tracing::info!(target: "access", %method, path, status, ms, "access");
    r
}

async fn wrong_method() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "wrong method: POST /v1/predict, GET /v1/model, GET /healthz, GET /metrics, /v2/…",
    )
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint: POST /v1/predict, GET /v1/model, GET /healthz, GET /metrics, /v2/…",
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
    let metrics = Arc::new(Metrics::default());
    {
        let (meta, cfg, panics, m) = (meta.clone(), cfg.clone(), panics.clone(), metrics.clone());
        std::thread::spawn(move || crate::worker::run(onnx, meta, cfg, rx, ready_tx, panics, m));
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
        metrics,
    });
    let app = Router::new()
        .route("/v1/predict", post(crate::v1::predict))
        .route("/v1/model", get(crate::v1::model))
        .route("/healthz", get(crate::v1::healthz))
        .route("/metrics", get(prometheus))
        .merge(crate::kserve::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
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
