//! AdmissionReview (`admission.k8s.io/v1`) in and out, and the decision for one request. Pure:
//! bytes and a [`Decider`] in, a response out; the HTTP layer only moves bytes.

use crate::metrics::Decision;
use crate::warnings;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use helmrelease_policy::prune::RuleInput;
use helmrelease_policy::{
    Error as PolicyError, Evaluation, Operation, PolicySet, Request, SourceView, evaluate,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Which endpoint a review came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /validate`.
    Validate,
    /// `POST /mutate`.
    Mutate,
}

impl Endpoint {
    /// Label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Validate => "validate",
            Endpoint::Mutate => "mutate",
        }
    }
}

/// The parts of an AdmissionReview request we read.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Review {
    api_version: Option<String>,
    kind: Option<String>,
    request: Option<AdmissionRequest>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct AdmissionRequest {
    #[serde(default)]
    uid: String,
    #[serde(default)]
    kind: Option<GroupVersionKind>,
    #[serde(default)]
    sub_resource: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    operation: String,
    // Only the fields the rules read are parsed; `spec.values` and the rest are skipped.
    #[serde(default)]
    object: Option<RuleInput>,
    #[serde(default)]
    old_object: Option<RuleInput>,
}

#[derive(Deserialize, Debug, Default)]
struct GroupVersionKind {
    #[serde(default)]
    kind: String,
}

/// The AdmissionResponse we send.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    /// Echo of the request UID.
    pub uid: String,
    /// The decision.
    pub allowed: bool,
    /// Why not, when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// `JSONPatch` when a patch is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// Base64 of the JSON Patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Warnings kubectl prints.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `metav1.Status` of a denial.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Status {
    /// HTTP-like code: 403 for policy denials, 400 for malformed requests.
    pub code: u16,
    /// `Forbidden` or `BadRequest`.
    pub reason: &'static str,
    /// The message users see.
    pub message: String,
}

/// What happened to one request, for the HTTP layer and metrics.
#[derive(Debug)]
pub struct Outcome {
    /// HTTP status of the reply.
    pub http_status: u16,
    /// JSON body.
    pub body: Vec<u8>,
    /// Decision for metrics.
    pub decision: Decision,
    /// Kind of the object, when known.
    pub kind: String,
    /// Operation, when known.
    pub operation: String,
    /// Rule IDs with findings, for metrics.
    pub rules: Vec<&'static str>,
}

/// Everything a decision needs: the policies and what is known about other objects.
pub trait Decider: Send + Sync {
    /// The policies in force now.
    fn policies(&self) -> PolicySet;
    /// The view of sources and namespaces.
    fn sources(&self) -> &dyn SourceView;
}

/// Handles one AdmissionReview body.
pub fn handle(endpoint: Endpoint, body: &[u8], decider: &dyn Decider) -> Outcome {
    let review: Review = match serde_json::from_slice(body) {
        Ok(review) => review,
        Err(e) if e.is_data() => {
            return bad_request(format!("request body is not an AdmissionReview: {e}"));
        }
        Err(e) => return bad_request(format!("request body is not JSON: {e}")),
    };
    if review.kind.as_deref() != Some("AdmissionReview") {
        return bad_request(format!(
            "request body is not an AdmissionReview (kind {:?})",
            review.kind.unwrap_or_default()
        ));
    }
    if review.api_version.as_deref() != Some("admission.k8s.io/v1") {
        return bad_request(format!(
            "AdmissionReview {} is not supported; configure admissionReviewVersions: [v1]",
            review.api_version.unwrap_or_default()
        ));
    }
    let Some(request) = review.request else {
        return bad_request("AdmissionReview has no request".to_string());
    };
    if request.uid.is_empty() {
        return bad_request("AdmissionReview request has no uid".to_string());
    }
    decide(endpoint, request, decider)
}

fn decide(endpoint: Endpoint, request: AdmissionRequest, decider: &dyn Decider) -> Outcome {
    let kind = request.kind.unwrap_or_default().kind;
    let mut outcome = Outcome {
        http_status: 200,
        body: Vec::new(),
        decision: Decision::Allowed,
        kind: kind.clone(),
        operation: request.operation.clone(),
        rules: Vec::new(),
    };
    let mut response = AdmissionResponse {
        uid: request.uid,
        allowed: true,
        status: None,
        patch_type: None,
        patch: None,
        warnings: Vec::new(),
    };
    // Status and other subresources carry no spec changes the rules judge.
    if request
        .sub_resource
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        outcome.body = wrap(&response);
        return outcome;
    }
    let operation = match request.operation.as_str() {
        "CREATE" => Operation::Create,
        "UPDATE" => Operation::Update,
        "DELETE" => Operation::Delete,
        _ => {
            outcome.body = wrap(&response);
            return outcome;
        }
    };
    let policy_request = Request {
        operation,
        object: request.object.as_ref().map(|o| &o.0),
        old_object: request.old_object.as_ref().map(|o| &o.0),
        namespace: request.namespace.as_deref(),
        mutate: endpoint == Endpoint::Mutate,
    };
    let policies = decider.policies();
    match evaluate(&policy_request, &policies, decider.sources()) {
        Ok(evaluation) => {
            outcome.rules = evaluation.violations.iter().map(|v| v.rule.id()).collect();
            apply(endpoint, &evaluation, &mut response, &mut outcome);
        }
        Err(PolicyError::UnsupportedKind { api_version, kind }) => {
            // Never block kinds we do not judge: a misconfigured webhook must not stop the cluster.
            response.warnings.push(format!(
                "helmrelease-webhook does not check {api_version} {kind}; its webhook configuration should not send it"
            ));
            outcome.decision = Decision::Ignored;
        }
        Err(e @ PolicyError::MissingObject(_)) => {
            response.allowed = false;
            response.status = Some(Status {
                code: 400,
                reason: "BadRequest",
                message: e.to_string(),
            });
            outcome.decision = Decision::Invalid;
        }
    }
    if !response.warnings.is_empty() {
        response.warnings = warnings::fit(std::mem::take(&mut response.warnings));
    }
    outcome.body = wrap(&response);
    outcome
}

fn apply(
    endpoint: Endpoint,
    evaluation: &Evaluation,
    response: &mut AdmissionResponse,
    outcome: &mut Outcome,
) {
    match endpoint {
        Endpoint::Mutate => {
            if !evaluation.patch.is_empty() {
                // The JSON of a Vec of plain structs cannot fail to serialise.
                let patch = serde_json::to_vec(&evaluation.patch).unwrap_or_default();
                response.patch = Some(STANDARD.encode(patch));
                response.patch_type = Some("JSONPatch");
                response.warnings.extend(evaluation.patch.iter().map(|op| {
                    format!(
                        "helmrelease-webhook set {} to {}",
                        pointer_to_path(&op.path),
                        op.value
                    )
                }));
                outcome.decision = Decision::Patched;
            }
        }
        Endpoint::Validate => {
            response.warnings = evaluation.admission_warnings();
            if let Some(message) = evaluation.deny_message() {
                response.allowed = false;
                response.status = Some(Status {
                    code: 403,
                    reason: "Forbidden",
                    message,
                });
                outcome.decision = Decision::Denied;
            } else if !response.warnings.is_empty() {
                outcome.decision = Decision::Warned;
            }
        }
    }
}

/// `/spec/upgrade/cleanupOnFail` as `spec.upgrade.cleanupOnFail`.
fn pointer_to_path(pointer: &str) -> String {
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

fn wrap(response: &AdmissionResponse) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope<'a> {
        api_version: &'static str,
        kind: &'static str,
        response: &'a AdmissionResponse,
    }
    let envelope = Envelope {
        api_version: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response,
    };
    // Plain strings, bools and numbers: serialising cannot fail.
    serde_json::to_vec(&envelope).unwrap_or_default()
}

fn bad_request(message: String) -> Outcome {
    Outcome {
        http_status: 400,
        body: serde_json::to_vec(&json!({"error": message})).unwrap_or_default(),
        decision: Decision::Invalid,
        kind: String::new(),
        operation: String::new(),
        rules: Vec::new(),
    }
}
