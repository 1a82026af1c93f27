//! Calling admission webhooks as the apiserver does: Mutating then Validating configurations,
//! matched by rules and namespace/object selectors, called over HTTPS with the `caBundle`,
//! JSON patches applied, `failurePolicy` and `timeoutSeconds` honoured, denials and warnings
//! returned in the apiserver's words.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// What admission needs to know about a request.
#[derive(Debug, Clone)]
pub struct Attributes {
    /// Group of the resource.
    pub group: String,
    /// Version requested.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural.
    pub plural: String,
    /// Namespace (empty when cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `CREATE`, `UPDATE` or `DELETE`.
    pub operation: &'static str,
    /// Labels of the namespace, for namespaceSelector.
    pub namespace_labels: serde_json::Map<String, Value>,
    /// The request is `dryRun=All`: webhooks are told, so they skip side effects.
    pub dry_run: bool,
}

/// A refusal: HTTP status code and the message for the client.
#[derive(Debug, Clone)]
pub struct Denied {
    /// Status code (403 for denials, 500 for failed calls with failurePolicy Fail).
    pub code: u16,
    /// `Forbidden` or `InternalError`.
    pub reason: &'static str,
    /// Message, e.g. `admission webhook "x" denied the request: ...`.
    pub message: String,
}

/// Runs the webhooks of `mutating` then `validating` configurations on `object` (the new
/// object; absent on DELETE). Returns the possibly mutated object and warnings.
pub async fn admit(
    mutating: &[Value],
    validating: &[Value],
    attrs: &Attributes,
    mut object: Option<Value>,
    old: Option<&Value>,
) -> Result<(Option<Value>, Vec<String>), Denied> {
    let mut warnings = Vec::new();
    for (configs, mutate) in [(mutating, true), (validating, false)] {
        for config in configs {
            for hook in config
                .get("webhooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !matches(hook, attrs, object.as_ref().or(old)) {
                    continue;
                }
                let name = hook
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("webhook")
                    .to_string();
                let fail_open = hook.get("failurePolicy").and_then(Value::as_str) == Some("Ignore");
                let response = match call(hook, attrs, object.as_ref(), old).await {
                    Ok(r) => r,
                    Err(e) if fail_open => {
                        warnings.push(format!("failed calling webhook \"{name}\" (ignored): {e}"));
                        continue;
                    }
                    Err(e) => {
                        return Err(Denied {
                            code: 500,
                            reason: "InternalError",
                            message: format!(
                                "Internal error occurred: failed calling webhook \"{name}\": {e}"
                            ),
                        });
                    }
                };
                if let Some(w) = response.get("warnings").and_then(Value::as_array) {
                    warnings.extend(w.iter().filter_map(Value::as_str).map(String::from));
                }
                if response.get("allowed").and_then(Value::as_bool) != Some(true) {
                    let message = response
                        .pointer("/status/message")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let code = response
                        .pointer("/status/code")
                        .and_then(Value::as_u64)
                        .unwrap_or(403) as u16;
                    return Err(Denied {
                        code,
                        reason: "Forbidden",
                        message: format!(
                            "admission webhook \"{name}\" denied the request: {message}"
                        ),
                    });
                }
                if mutate
                    && let (Some(patch), Some(obj)) = (
                        response.get("patch").and_then(Value::as_str),
                        object.as_mut(),
                    )
                {
                    let ops: Value = STANDARD
                        .decode(patch)
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .ok_or_else(|| Denied {
                            code: 500,
                            reason: "InternalError",
                            message: format!("Internal error occurred: webhook \"{name}\" returned an invalid patch"),
                        })?;
                    let ops = match ops {
                        Value::Array(ops) => Ok(ops),
                        _ => Err("a JSON patch is an array".to_string()),
                    };
                    ops.and_then(|ops| {
                        helmrelease_patch::json_patch(obj, &ops).map_err(|e| e.to_string())
                    })
                    .map_err(|e| Denied {
                        code: 500,
                        reason: "InternalError",
                        message: format!(
                            "Internal error occurred: webhook \"{name}\" patch failed: {e}"
                        ),
                    })?;
                }
            }
        }
    }
    Ok((object, warnings))
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn matches(hook: &Value, attrs: &Attributes, object: Option<&Value>) -> bool {
    let rule_ok = hook
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|rule| {
            let any = |list: Vec<&str>, want: &str| list.iter().any(|x| *x == "*" || *x == want);
            any(strings(rule.get("apiGroups")), &attrs.group)
                && any(strings(rule.get("apiVersions")), &attrs.version)
                && any(strings(rule.get("resources")), &attrs.plural)
                && any(strings(rule.get("operations")), attrs.operation)
        });
    if !rule_ok {
        return false;
    }
    let ns_ok = attrs.namespace.is_empty()
        || hook
            .get("namespaceSelector")
            .is_none_or(|s| selector_matches(s, &attrs.namespace_labels));
    let labels = object
        .and_then(|o| o.pointer("/metadata/labels"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    ns_ok
        && hook
            .get("objectSelector")
            .is_none_or(|s| selector_matches(s, &labels))
}

fn selector_matches(selector: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let match_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .is_none_or(|exprs| {
            exprs.iter().all(|e| {
                let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
                let values = strings(e.get("values"));
                match e
                    .get("operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                {
                    "In" => label(key).is_some_and(|v| values.contains(&v)),
                    "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
                    "Exists" => label(key).is_some(),
                    "DoesNotExist" => label(key).is_none(),
                    _ => false,
                }
            })
        });
    match_labels && expressions
}

/// Sends one AdmissionReview and returns its `response`.
async fn call(
    hook: &Value,
    attrs: &Attributes,
    object: Option<&Value>,
    old: Option<&Value>,
) -> Result<Value, String> {
    let url = hook
        .pointer("/clientConfig/url")
        .and_then(Value::as_str)
        .ok_or(
            "only clientConfig.url is supported by the emulator (no cluster DNS for services)",
        )?;
    let rest = url
        .strip_prefix("https://")
        .ok_or("webhook URLs must be https")?;
    let (authority, path) = rest
        .split_once('/')
        .map(|(a, p)| (a, format!("/{p}")))
        .unwrap_or((rest, "/".to_string()));
    let host = authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(authority)
        .to_string();
    let timeout = Duration::from_secs(
        hook.get("timeoutSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(10),
    );

    let mut roots = rustls::RootCertStore::empty();
    if let Some(bundle) = hook
        .pointer("/clientConfig/caBundle")
        .and_then(Value::as_str)
    {
        let pem = STANDARD
            .decode(bundle)
            .map_err(|e| format!("caBundle is not base64: {e}"))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots
                .add(cert.map_err(|e| format!("caBundle: {e}"))?)
                .map_err(|e| format!("caBundle: {e}"))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": format!("emulator-{}-{}", attrs.name, std::process::id()),
        "kind": {"group": attrs.group, "version": attrs.version, "kind": attrs.kind},
        "resource": {"group": attrs.group, "version": attrs.version, "resource": attrs.plural},
        "requestKind": {"group": attrs.group, "version": attrs.version, "kind": attrs.kind},
        "requestResource": {"group": attrs.group, "version": attrs.version, "resource": attrs.plural},
        "name": attrs.name, "namespace": attrs.namespace, "operation": attrs.operation,
        "userInfo": {"username": "emulator-admin", "groups": ["system:masters", "system:authenticated"]},
        "object": object, "oldObject": old, "dryRun": attrs.dry_run}});
    let body = serde_json::to_vec(&review).map_err(|e| e.to_string())?;

    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| e.to_string())?;
        let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let request = hyper::Request::post(path)
            .header("host", authority)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!(
                "webhook returned HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("response is not JSON: {e}"))?;
        value
            .get("response")
            .cloned()
            .ok_or_else(|| "response has no `response`".to_string())
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("context deadline exceeded after {timeout:?}"))?
}
