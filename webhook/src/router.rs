//! HTTP routes: `/validate` and `/mutate` on the TLS port; `/healthz`, `/readyz` and `/metrics`
//! on the plain admin port.

use crate::metrics::Metrics;
use crate::review::{Decider, Endpoint, handle};
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
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

/// The admission routes, `POST /validate` and `POST /mutate`, as one service that both hyper
/// (serving) and tower (in-process tests) drive. It matches the two paths itself instead of
/// going through axum's router and extractors: under load those, a copy of the headers and of
/// the body per request, and cloning the state were a measurable share of the CPU
/// (docs/benchmarks.md). Answers as axum did: 404 for other paths, 405 with `allow: POST` for
/// other methods.
#[derive(Clone, Debug)]
pub struct Admission(Arc<AppState>);

/// The admission service over `state`.
pub fn admission(state: AppState) -> Admission {
    Admission(Arc::new(state))
}

/// A response of the admission service.
pub type HttpResponse = Response<Full<Bytes>>;

impl Admission {
    async fn respond<B>(self, request: Request<B>) -> HttpResponse
    where
        B: HttpBody<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let endpoint = match request.uri().path() {
            "/validate" => Endpoint::Validate,
            "/mutate" => Endpoint::Mutate,
            _ => return empty(StatusCode::NOT_FOUND),
        };
        if request.method() != Method::POST {
            let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
            let headers = response.headers_mut();
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
            // axum's 405 carried it over HTTP/2 too.
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            return response;
        }
        let (parts, body) = request.into_parts();
        match read_body(&parts.headers, body).await {
            Ok(body) => review(endpoint, &self.0, &parts.headers, &body),
            Err(response) => response,
        }
    }
}

type Respond = Pin<Box<dyn Future<Output = Result<HttpResponse, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Admission {
    type Response = HttpResponse;
    type Error = Infallible;
    type Future = Respond;

    fn call(&self, request: Request<Incoming>) -> Respond {
        let this = self.clone();
        Box::pin(async move { Ok(this.respond(request).await) })
    }
}

impl<B> tower::Service<Request<B>> for Admission
where
    B: HttpBody<Data = Bytes> + Unpin + Send + 'static,
    B::Error: std::fmt::Display + Send,
{
    type Response = HttpResponse;
    type Error = Infallible;
    type Future = Respond;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Respond {
        let this = self.clone();
        Box::pin(async move { Ok(this.respond(request).await) })
    }
}

/// The admin routes.
pub fn admin(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

fn empty(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// Reads the request body, buffering at most [`MAX_BODY_BYTES`]. A larger body is answered
/// with 413 and a Kubernetes `Status`, after the rest of it is read and discarded (up to
/// [`MAX_DISCARD_BYTES`]) so that the answer reaches the client over HTTP/2 too. A body that
/// arrives in one frame is used as it is, uncopied.
async fn read_body<B>(headers: &HeaderMap, mut body: B) -> Result<Bytes, HttpResponse>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
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
    let mut first: Option<Bytes> = None;
    let mut buffer: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                let error =
                    serde_json::json!({"error": format!("reading the request body failed: {e}")});
                return Err(json_response(
                    StatusCode::BAD_REQUEST,
                    serde_json::to_vec(&error).unwrap_or_default(),
                ));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let seen = first.as_ref().map_or(0, Bytes::len) + buffer.len() + data.len();
        if seen > MAX_BODY_BYTES {
            drop((first, buffer));
            discard(body, seen).await;
            return Err(too_large(seen));
        }
        match first.take() {
            None if buffer.is_empty() => first = Some(data),
            earlier => {
                if buffer.is_empty() {
                    buffer.reserve(declared.map_or(0, |n| n as usize));
                }
                buffer.extend_from_slice(earlier.as_deref().unwrap_or_default());
                buffer.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(buffer)))
}

/// Reads and drops the rest of `body`, `seen` bytes of which were read already, until it
/// ends, [`MAX_DISCARD_BYTES`] were read in all, or [`DISCARD_TIMEOUT`] passed.
async fn discard<B>(mut body: B, mut seen: usize)
where
    B: HttpBody<Data = Bytes> + Unpin,
{
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
fn too_large(seen: usize) -> HttpResponse {
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

fn json_response(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn review(endpoint: Endpoint, state: &AppState, headers: &HeaderMap, body: &[u8]) -> HttpResponse {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        let error = serde_json::json!({"error": format!("content type must be application/json, not {content_type:?}")});
        return json_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            serde_json::to_vec(&error).unwrap_or_default(),
        );
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

async fn readyz(State(state): State<AppState>) -> axum::response::Response {
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

async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
