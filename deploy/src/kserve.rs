//! The Open Inference Protocol (KServe v2) over HTTP/REST, as Triton and KServe clients speak
//! it: server and model health and metadata, and `infer` with typed tensors, in JSON or with the
//! binary tensor data extension (a JSON header of `Inference-Header-Content-Length` bytes, then
//! the raw little-endian tensors; tritonclient's default). The model has one input, `image`
//! FP32 `[N, C, S, S]` (normalised, as `/v1/predict`'s JSON tensor), and one output, `logits`
//! FP32 `[N, classes]`. Errors are `{"error": …}`, as the protocol specifies.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::serve::{AppState, error, read_body, submit};

const BINARY_HEADER: &str = "inference-header-content-length";
const INPUT: &str = "image";
const OUTPUT: &str = "logits";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2", get(server_metadata))
        .route("/v2/health/live", get(ok))
        .route("/v2/health/ready", get(ok))
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(infer))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(versioned_metadata),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(versioned_ready),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(versioned_infer),
        )
}

async fn ok() -> StatusCode {
    StatusCode::OK
}

async fn server_metadata() -> Response {
    axum::Json(json!({
        "name": "betadarts",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["binary_tensor_data"],
    }))
    .into_response()
}

/// The model's name and version checked: `None` when served, else the 404 answer.
fn unknown(s: &AppState, name: &str, version: Option<&str>) -> Option<Response> {
    if name != s.cfg.model_name {
        return Some(error(
            StatusCode::NOT_FOUND,
            format!(
                "no model {name:?}: this server serves {:?}",
                s.cfg.model_name
            ),
        ));
    }
    version.filter(|v| *v != "1").map(|v| {
        error(
            StatusCode::NOT_FOUND,
            format!("model {name:?} has no version {v:?}: only \"1\""),
        )
    })
}

fn metadata(s: &AppState) -> Response {
    let m = &s.meta;
    axum::Json(json!({
        "name": s.cfg.model_name,
        "versions": ["1"],
        "platform": format!("betadarts_{}", s.engine),
        "inputs": [{"name": INPUT, "datatype": "FP32",
                    "shape": [-1, m.input_channels, m.input_size, m.input_size]}],
        "outputs": [{"name": OUTPUT, "datatype": "FP32", "shape": [-1, m.class_names.len()]}],
    }))
    .into_response()
}

async fn model_metadata(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    unknown(&s, &name, None).unwrap_or_else(|| metadata(&s))
}

async fn versioned_metadata(
    State(s): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    unknown(&s, &name, Some(&version)).unwrap_or_else(|| metadata(&s))
}

async fn model_ready(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    unknown(&s, &name, None).unwrap_or_else(|| StatusCode::OK.into_response())
}

async fn versioned_ready(
    State(s): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    unknown(&s, &name, Some(&version)).unwrap_or_else(|| StatusCode::OK.into_response())
}

#[derive(Deserialize)]
struct Request {
    id: Option<String>,
    inputs: Vec<Input>,
    #[serde(default)]
    outputs: Vec<Output>,
    #[serde(default)]
    parameters: Map<String, Value>,
}

#[derive(Deserialize)]
struct Input {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    data: Option<Value>,
}

#[derive(Deserialize)]
struct Output {
    name: String,
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// A parsed request: the input tensor, its image count, the request id, and whether the
/// logits go back as binary.
struct Parsed {
    input: Vec<f32>,
    images: usize,
    id: Option<String>,
    binary: bool,
}

fn bad(msg: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, msg)
}

fn flatten(v: &Value, out: &mut Vec<f32>) -> Result<(), Response> {
    match v {
        Value::Array(items) => items.iter().try_for_each(|i| flatten(i, out)),
        Value::Number(n) => n
            .as_f64()
            .map(|x| out.push(x as f32))
            .ok_or_else(|| bad("input data: a number out of range")),
        _ => Err(bad("input data: FP32 data must be numbers")),
    }
}

fn parse(body: &[u8], headers: &HeaderMap, s: &AppState) -> Result<Parsed, Response> {
    let json_len = match headers.get(BINARY_HEADER) {
        None => body.len(),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n <= body.len())
            .ok_or_else(|| bad("Inference-Header-Content-Length: not a length within the body"))?,
    };
    let (head, binary) = body.split_at(json_len);
    let req: Request =
        serde_json::from_slice(head).map_err(|e| bad(format!("inference request JSON: {e}")))?;
    let m = &s.meta;
    let want = [m.input_channels, m.input_size, m.input_size].map(|d| d as i64);
    let [input] = req.inputs.as_slice() else {
        return Err(bad(format!(
            "the model takes one input, {INPUT:?}; got {}",
            req.inputs.len()
        )));
    };
    if input.name != INPUT {
        return Err(bad(format!(
            "no input {:?}: the model's input is {INPUT:?}",
            input.name
        )));
    }
    if input.datatype != "FP32" {
        return Err(bad(format!(
            "input datatype {}: the model takes FP32",
            input.datatype
        )));
    }
    let n = match input.shape.as_slice() {
        [n, rest @ ..] if rest == want && *n >= 1 => *n as usize,
        _ => {
            return Err(bad(format!(
                "input shape {:?}: the model takes [N, {}, {}, {}] with N ≥ 1",
                input.shape, want[0], want[1], want[2]
            )));
        }
    };
    if n > s.cfg.max_batch {
        return Err(bad(format!(
            "at most {} images per request",
            s.cfg.max_batch
        )));
    }
    let count = n * m.input_channels * m.input_size * m.input_size;
    let mut values = Vec::with_capacity(count);
    match (input.parameters.get("binary_data_size"), &input.data) {
        (Some(size), _) => {
            let size =
                size.as_u64()
                    .ok_or_else(|| bad("binary_data_size: not a size"))? as usize;
            if size != count * 4 || size > binary.len() {
                return Err(bad(format!(
                    "binary input of {size} bytes ({} after the header); [{n}, …] FP32 is {} bytes",
                    binary.len(),
                    count * 4
                )));
            }
            let raw = &binary[..size];
            values.extend(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
        (None, Some(data)) => flatten(data, &mut values)?,
        (None, None) => return Err(bad("input has neither data nor binary_data_size")),
    }
    if values.len() != count {
        return Err(bad(format!(
            "input holds {} values; shape needs {count}",
            values.len()
        )));
    }
    let flag = |p: &Map<String, Value>, k: &str| p.get(k).and_then(Value::as_bool);
    let mut binary_out = flag(&req.parameters, "binary_data_output").unwrap_or(false);
    for o in &req.outputs {
        if o.name != OUTPUT {
            return Err(bad(format!(
                "no output {:?}: the model's output is {OUTPUT:?}",
                o.name
            )));
        }
        binary_out = flag(&o.parameters, "binary_data").unwrap_or(binary_out);
    }
    Ok(Parsed {
        input: values,
        images: n,
        id: req.id,
        binary: binary_out,
    })
}

async fn versioned_infer(
    State(s): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match unknown(&s, &name, Some(&version)) {
        Some(r) => r,
        None => run_infer(s, headers, body).await,
    }
}

async fn infer(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match unknown(&s, &name, None) {
        Some(r) => r,
        None => run_infer(s, headers, body).await,
    }
}

async fn run_infer(s: Arc<AppState>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_body(&s, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // JSON parsing of a large tensor is CPU work: off the async threads.
    let state = s.clone();
    let parsed = tokio::task::spawn_blocking(move || parse(&bytes, &headers, &state)).await;
    let p = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(r)) => return r,
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "request parsing failed"),
    };
    let (logits, k) = match submit(&s, p.input, p.images).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let mut output = json!({"name": OUTPUT, "datatype": "FP32", "shape": [p.images, k]});
    let mut head = json!({"model_name": s.cfg.model_name, "model_version": "1"});
    if let Some(id) = p.id {
        head["id"] = json!(id);
    }
    if !p.binary {
        output["data"] = json!(logits);
        head["outputs"] = json!([output]);
        return axum::Json(head).into_response();
    }
    output["parameters"] = json!({"binary_data_size": logits.len() * 4});
    head["outputs"] = json!([output]);
    let mut body = serde_json::to_vec(&head).unwrap_or_default();
    let json_len = body.len();
    body.extend(logits.iter().flat_map(|v| v.to_le_bytes()));
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(BINARY_HEADER, HeaderValue::from(json_len));
    r
}
