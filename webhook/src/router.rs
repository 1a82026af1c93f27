//! HTTP routes: `/validate` and `/mutate` on the TLS port; `/healthz`, `/readyz` and `/metrics`
//! on the plain admin port.

use crate::metrics::Metrics;
use crate::review::{Decider, Endpoint, handle};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Largest AdmissionReview accepted. The apiserver caps objects at about 1.5 MiB (etcd) and a
/// review carries the object twice on UPDATE.
pub const MAX_BODY_BYTES: usize = 3 << 20;

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
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
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

async fn validate(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    review(Endpoint::Validate, &state, &headers, &body)
}

async fn mutate(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    review(Endpoint::Mutate, &state, &headers, &body)
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
