//! The server's own protocol, version 1: `POST /v1/predict` (an image body, or a JSON tensor)
//! answered with the top classes, `GET /v1/model`, `GET /healthz`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::predict::top_classes;
use crate::preprocess::{decode, to_input};
use crate::serve::{AppState, error, read_body, submit};
use crate::{Error, ModelMeta};

#[derive(Deserialize)]
pub(crate) struct PredictQuery {
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

pub(crate) async fn predict(
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
    let bytes = match read_body(&s, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
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
    match submit(&s, input, images).await {
        Ok((logits, k)) => {
            let top = top_classes(&s.meta, &logits, k, top_k.min(s.meta.class_names.len()));
            axum::Json(serde_json::json!({
                "engine": s.engine.to_string(),
                "predictions": top.into_iter().map(|top| serde_json::json!({"top": top})).collect::<Vec<_>>(),
            }))
            .into_response()
        }
        Err(r) => r,
    }
}

pub(crate) async fn model(State(s): State<Arc<AppState>>) -> Response {
    axum::Json(serde_json::json!({"engine": s.engine.to_string(), "model": s.meta})).into_response()
}

pub(crate) async fn healthz(State(s): State<Arc<AppState>>) -> Response {
    let panics = s.panics.load(Ordering::Relaxed);
    axum::Json(serde_json::json!({"status": "ok", "engine_panics": panics})).into_response()
}
