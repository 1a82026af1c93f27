//! HTTP routes: `/validate` and `/mutate` on the TLS port; `/healthz`, `/readyz` and `/metrics`
//! on the plain admin port.

use crate::metrics::Metrics;
use crate::review::{Decider, Endpoint, handle};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Largest AdmissionReview accepted. The apiserver caps objects at about 1.5 MiB (etcd) and a
/// review carries the object twice on UPDATE.
pub const MAX_BODY_BYTES: usize = 3 << 20;

/// Most bytes of an oversized body read and thrown away (never buffered) before the 413 is
/// sent. Leaving the rest unread makes HTTP/2 reset the stream (RST_STREAM, which clients such
/// as curl report as a framing error instead of the 413) and HTTP/1.1 close the connection;
/// reading it lets the stream end normally. A body declared or found larger than this is
/// answered at once and the reset accepted.
pub const MAX_DISCARD_BYTES: usize = 16 << 20;

/// Longest time spent discarding the rest of an oversized body.
const DISCARD_TIMEOUT: Duration = Duration::from_secs(10);

/// Shared state of the routes.
#[derive(Clone)]
pub struct AppState {
    /// Decides.
    pub decider: Arc<dyn Decider>,
    /// Counts.
    pub metrics: Metrics,
    /// Set once the caches are synced (always set offline).
    pub ready: Arc<AtomicBool>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

/// The admission routes.
pub fn admission(state: AppState) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/mutate", post(mutate))
        .with_state(state)
}

/// The admin routes.
pub fn admin(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn validate(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match read_body(&headers, body).await {
        Ok(body) => review(Endpoint::Validate, &state, &headers, &body),
        Err(response) => response,
    }
}

async fn mutate(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match read_body(&headers, body).await {
        Ok(body) => review(Endpoint::Mutate, &state, &headers, &body),
        Err(response) => response,
    }
}

/// Reads the request body, buffering at most [`MAX_BODY_BYTES`]. A larger body is answered
/// with 413 and a Kubernetes `Status`, after the rest of it is read and discarded (up to
/// [`MAX_DISCARD_BYTES`]) so that the answer reaches the client over HTTP/2 too.
async fn read_body(headers: &HeaderMap, mut body: Body) -> Result<Vec<u8>, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(declared) = declared.filter(|&n| n > MAX_BODY_BYTES as u64) {
        let seen = usize::try_from(declared).unwrap_or(usize::MAX);
        if seen <= MAX_DISCARD_BYTES {
            discard(body, 0).await;
        }
        return Err(too_large(seen));
    }
    let mut buffer = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    axum::Json(
                        serde_json::json!({"error": format!("reading the request body failed: {e}")}),
                    ),
                )
                    .into_response());
            }
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let seen = buffer.len() + data.len();
        if seen > MAX_BODY_BYTES {
            drop(buffer);
            discard(body, seen).await;
            return Err(too_large(seen));
        }
        buffer.extend_from_slice(&data);
    }
    Ok(buffer)
}

/// Reads and drops the rest of `body`, `seen` bytes of which were read already, until it
/// ends, [`MAX_DISCARD_BYTES`] were read in all, or [`DISCARD_TIMEOUT`] passed.
async fn discard(mut body: Body, mut seen: usize) {
    let drain = async {
        while seen <= MAX_DISCARD_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len()),
                Some(Err(_)) | None => return,
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIMEOUT, drain).await;
}

/// 413 with a `metav1.Status`, as the apiserver answers an oversized request itself.
fn too_large(seen: usize) -> Response {
    tracing::debug!(
        bytes = seen,
        limit = MAX_BODY_BYTES,
        "request body too large"
    );
    let status = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("the AdmissionReview is larger than the limit of {MAX_BODY_BYTES} bytes"),
        "reason": "RequestEntityTooLarge",
        "code": 413,
    });
    json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        serde_json::to_vec(&status).unwrap_or_default(),
    )
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn review(endpoint: Endpoint, state: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            axum::Json(serde_json::json!({"error": format!("content type must be application/json, not {content_type:?}")})),
        )
            .into_response();
    }
    let start = Instant::now();
    let outcome = handle(endpoint, body, state.decider.as_ref());
    let elapsed = start.elapsed();
    state
        .metrics
        .record(endpoint.as_str(), &outcome, elapsed.as_secs_f64());
    // Log the decision, never the object: values and Secret data stay out of logs.
    tracing::debug!(
        endpoint = endpoint.as_str(),
        kind = %outcome.kind,
        operation = %outcome.operation,
        decision = ?outcome.decision,
        rules = ?outcome.rules,
        micros = elapsed.as_micros() as u64,
        "admission"
    );
    let status = StatusCode::from_u16(outcome.http_status).unwrap_or(StatusCode::BAD_REQUEST);
    json_response(status, outcome.body)
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "caches are not synced yet\n",
        )
            .into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
