//! The admission router in-process: AdmissionReview fixtures in, decisions out.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use helmrelease_policy::PolicySet;
use helmrelease_webhook::metrics::Metrics;
use helmrelease_webhook::router::{AppState, admin, admission};
use helmrelease_webhook::state::OfflineDecider;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tower::ServiceExt;

fn state() -> AppState {
    AppState {
        decider: Arc::new(OfflineDecider::new(PolicySet::builtin())),
        metrics: Metrics::new(),
        ready: Arc::new(AtomicBool::new(true)),
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn post(
    state: &AppState,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let request = Request::post(path)
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let response = admission(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&bytes)}));
    (status, value)
}

async fn review(path: &str, name: &str) -> Value {
    let (status, body) = post(&state(), path, "application/json", fixture(name)).await;
    assert_eq!(status, StatusCode::OK, "{name}: {body}");
    assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(body["kind"], "AdmissionReview");
    assert_eq!(
        body["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002",
        "uid is echoed"
    );
    body["response"].clone()
}

#[tokio::test]
async fn unpinned_is_denied_with_the_fix_and_pinned_is_allowed() {
    let denied = review("/validate", "create-unpinned.json").await;
    assert_eq!(denied["allowed"], false);
    assert_eq!(denied["status"]["code"], 403);
    assert_eq!(
        denied["status"]["message"],
        r#"pinned-version: spec.chart.spec.version: "^20" is a caret range (>=20.0.0 <21.0.0); pin an exact version such as "20.0.0""#
    );
    let allowed = review("/validate", "create-pinned.json").await;
    assert_eq!(
        allowed,
        json!({"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": true})
    );
}

#[tokio::test]
async fn warn_rules_admit_with_warnings() {
    let response = review("/validate", "create-no-cleanup.json").await;
    assert_eq!(response["allowed"], true);
    assert_eq!(
        response["warnings"],
        json!([
            "cleanup-on-fail: spec.upgrade.cleanupOnFail: not set, so a failed upgrade leaves the objects it created behind; set spec.upgrade.cleanupOnFail: true"
        ])
    );
}

#[tokio::test]
async fn mutation_fills_cleanup_on_fail_as_a_json_patch() {
    let response = review("/mutate", "create-no-cleanup.json").await;
    assert_eq!(response["allowed"], true);
    assert_eq!(response["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().unwrap())
        .unwrap();
    let patch: Value = serde_json::from_slice(&patch).unwrap();
    assert_eq!(
        patch,
        json!([{"op": "add", "path": "/spec/upgrade/cleanupOnFail", "value": true}])
    );
    assert_eq!(
        response["warnings"],
        json!(["helmrelease-webhook set spec.upgrade.cleanupOnFail to true"])
    );
    // Nothing to fill: no patch at all.
    let response = review("/mutate", "create-pinned.json").await;
    assert!(response.get("patch").is_none(), "{response}");
    // The mutating endpoint never denies; validation does.
    assert_eq!(
        review("/mutate", "create-unpinned.json").await["allowed"],
        true
    );
}

#[tokio::test]
async fn updates_by_controllers_on_old_objects_pass_with_a_warning() {
    let response = review("/validate", "update-finalizer-on-unpinned.json").await;
    assert_eq!(response["allowed"], true);
    let warning = response["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("pinned-version: ")
            && warning.ends_with("(already present before this update)"),
        "{warning}"
    );
}

#[tokio::test]
async fn protected_deletes_are_denied_and_status_updates_pass() {
    let response = review("/validate", "delete-protected.json").await;
    assert_eq!(response["allowed"], false);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("deletion-protection: ")
    );
    let response = review("/validate", "status-update.json").await;
    assert_eq!(response["allowed"], true);
}

#[tokio::test]
async fn sources_are_judged_and_other_kinds_pass_with_a_warning() {
    let response = review("/validate", "create-oci-latest.json").await;
    assert_eq!(response["allowed"], false);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("pinned-oci-ref: spec.ref.tag: ")
    );
    let response = review("/validate", "create-pod.json").await;
    assert_eq!(response["allowed"], true);
    assert_eq!(
        response["warnings"],
        json!([
            "helmrelease-webhook does not check v1 Pod; its webhook configuration should not send it"
        ])
    );
}

#[tokio::test]
async fn bad_input_gets_a_4xx_with_a_message() {
    let s = state();
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        ("text/plain", fixture("create-pinned.json"), StatusCode::UNSUPPORTED_MEDIA_TYPE, "content type must be application/json"),
        ("application/json", b"{not json".to_vec(), StatusCode::BAD_REQUEST, "request body is not JSON"),
        ("application/json", b"[1, 2, 3]".to_vec(), StatusCode::BAD_REQUEST, "request body is not an AdmissionReview"),
        ("application/json", br#"{"kind": "Pod", "apiVersion": "v1"}"#.to_vec(), StatusCode::BAD_REQUEST, "request body is not an AdmissionReview (kind \"Pod\")"),
        ("application/json", br#"{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1beta1", "request": {}}"#.to_vec(), StatusCode::BAD_REQUEST, "AdmissionReview admission.k8s.io/v1beta1 is not supported"),
        ("application/json", br#"{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}"#.to_vec(), StatusCode::BAD_REQUEST, "AdmissionReview has no request"),
    ];
    for (content_type, body, want_status, want_message) in cases {
        let (status, body) = post(&s, "/validate", content_type, body).await;
        assert_eq!(status, want_status, "{body}");
        let message = body["error"]
            .as_str()
            .or(body["raw"].as_str())
            .unwrap_or_default();
        assert!(message.contains(want_message), "{message}");
    }
    // Too large: a Kubernetes Status, like the apiserver's own 413.
    let (status, body) = post(&s, "/validate", "application/json", vec![b' '; 4 << 20]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["apiVersion"], "v1");
    assert_eq!(body["status"], "Failure");
    assert_eq!(body["reason"], "RequestEntityTooLarge");
    assert_eq!(body["code"], 413);
    // A CREATE without an object is answered, denied as a bad request.
    let mut review: Value = serde_json::from_slice(&fixture("create-pinned.json")).unwrap();
    review["request"]["object"] = Value::Null;
    let (status, body) = post(
        &s,
        "/validate",
        "application/json",
        serde_json::to_vec(&review).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["status"]["code"], 400);
    // The router still serves after all that.
    let (status, _) = post(
        &s,
        "/validate",
        "application/json",
        fixture("create-pinned.json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn admin_routes_report_health_readiness_and_metrics() {
    let s = state();
    s.ready.store(false, Ordering::Release);
    let get = |path: &'static str, s: AppState| async move {
        let response = admin(s)
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).to_string())
    };
    assert_eq!(get("/healthz", s.clone()).await.0, StatusCode::OK);
    assert_eq!(
        get("/readyz", s.clone()).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    s.ready.store(true, Ordering::Release);
    assert_eq!(get("/readyz", s.clone()).await.0, StatusCode::OK);

    let _ = post(
        &s,
        "/validate",
        "application/json",
        fixture("create-unpinned.json"),
    )
    .await;
    let _ = post(
        &s,
        "/mutate",
        "application/json",
        fixture("create-no-cleanup.json"),
    )
    .await;
    let (_, text) = get("/metrics", s.clone()).await;
    for want in [
        r#"helmrelease_webhook_admission_requests_total{endpoint="validate",kind="HelmRelease",operation="CREATE",decision="Denied"} 1"#,
        r#"helmrelease_webhook_admission_requests_total{endpoint="mutate",kind="HelmRelease",operation="CREATE",decision="Patched"} 1"#,
        r#"helmrelease_webhook_rule_findings_total{endpoint="validate",rule="pinned-version"} 1"#,
        "helmrelease_webhook_admission_duration_seconds_count{endpoint=\"validate\"} 1",
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    assert!(
        !text.contains("do-not-log-me"),
        "values never reach metrics"
    );
}
