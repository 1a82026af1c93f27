//! The REST API: discovery, CRUD, patch, watch, with Kubernetes `Status` errors.

use crate::registry::{Registry, Resource, apply_defaults};
use crate::store::{Event, Key, Store, matches_fields, matches_labels};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Shared server state.
#[derive(Debug, Default)]
pub struct Inner {
    /// Served resources.
    pub registry: Registry,
    /// Objects.
    pub store: Store,
}

/// Handle to the state.
pub type Shared = Arc<Mutex<Inner>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, Inner> {
    match state.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A Kubernetes `Status` error response.
pub fn status(code: u16, reason: &str, message: impl Into<String>) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message.into(), "reason": reason, "code": code});
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

/// Where a request points.
#[derive(Debug)]
struct Target {
    resource: Resource,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
    /// `?fieldManager=`; writes without one are recorded for `unknown`.
    field_manager: Option<String>,
    /// `?force=true` on server-side apply.
    force: bool,
    /// `?fieldValidation=Strict`: unknown fields are errors (kubectl asks for it).
    strict: bool,
    /// `?dryRun=All`: everything but the write.
    dry_run: bool,
}

/// Entry point for every path.
pub async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let segments: Vec<&str> = uri
        .path()
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        ["version"] => {
            return ok(
                json!({"major": "1", "minor": "34", "gitVersion": "v1.34.0-helmrelease-emulator",
                                        "platform": "linux/amd64", "goVersion": "go1.24", "compiler": "gc"}),
            );
        }
        ["api"] => {
            return ok(
                json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
            );
        }
        ["apis"] => return ok(lock(&state).registry.group_list()),
        // kubectl downloads these before `apply`.
        ["openapi", "v3"] => return ok(lock(&state).registry.openapi_index()),
        ["openapi", "v3", "api", "v1"] => {
            return list_or_404(lock(&state).registry.openapi_document("", "v1"));
        }
        ["openapi", "v3", "apis", group, version] => {
            return list_or_404(lock(&state).registry.openapi_document(group, version));
        }
        // kubectl validates `kind: List` files with the v2 document (protobuf). An empty
        // Swagger 2.0 document says "no schemas", so items are not validated client-side; the
        // server still validates custom resources against their CRD.
        ["openapi", "v2"] => {
            let wants_protobuf = headers
                .get(header::ACCEPT)
                .and_then(|a| a.to_str().ok())
                .is_some_and(|a| a.contains("protobuf"));
            return if wants_protobuf {
                // openapi_v2.Document{swagger: "2.0"}: field 1, length-delimited, 3 bytes.
                Response::builder()
                    .header(
                        header::CONTENT_TYPE,
                        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                    )
                    .body(Body::from(&b"\x0a\x032.0"[..]))
                    .unwrap_or_else(|_| status(500, "InternalError", "openapi v2"))
            } else {
                ok(
                    json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.34.0"},
                          "paths": {}, "definitions": {}}),
                )
            };
        }
        ["api", "v1"] => return list_or_404(lock(&state).registry.resource_list("", "v1")),
        ["apis", group, version] => {
            return list_or_404(lock(&state).registry.resource_list(group, version));
        }
        _ => {}
    }
    let target = match resolve(&lock(&state).registry, &segments) {
        Some(mut t) => {
            t.field_manager = query.get("fieldManager").cloned();
            t.force = query.get("force").is_some_and(|f| f == "true");
            t.strict = query.get("fieldValidation").is_some_and(|f| f == "Strict");
            t.dry_run = query.get("dryRun").is_some_and(|d| d == "All");
            // DELETE carries its options (dryRun among them) in a DeleteOptions body.
            if method == Method::DELETE
                && let Ok(options) = serde_json::from_slice::<Value>(&body)
                && options
                    .get("dryRun")
                    .and_then(Value::as_array)
                    .is_some_and(|d| d.iter().any(|v| v == "All"))
            {
                t.dry_run = true;
            }
            t
        }
        None => {
            return status(
                404,
                "NotFound",
                format!(
                    "the server could not find the requested resource ({})",
                    uri.path()
                ),
            );
        }
    };
    // Only JSON bodies: protobuf gets 415, which client-go answers by retrying with JSON.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !body.is_empty() && content_type.contains("protobuf") {
        return status(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type})"
            ),
        );
    }
    let watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    if matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) && target.subresource.is_none()
    {
        match admit(&state, &target, &method, &headers, &body).await {
            Ok(None) => {}
            Ok(Some((object, warnings))) => {
                let response = match (method.clone(), object) {
                    (Method::DELETE, _) => delete(&state, &target),
                    (Method::POST, Some(o)) => {
                        create(&state, &target, &serde_json::to_vec(&o).unwrap_or_default())
                    }
                    (Method::PUT, Some(o)) => {
                        update(&state, &target, &serde_json::to_vec(&o).unwrap_or_default())
                    }
                    (Method::PATCH, Some(o)) if exists(&state, &target) => {
                        write(&state, &target, o, false)
                    }
                    (Method::PATCH, Some(o)) => {
                        create(&state, &target, &serde_json::to_vec(&o).unwrap_or_default())
                    }
                    _ => status(500, "InternalError", "admission lost the object"),
                };
                return with_warnings(response, &warnings);
            }
            Err(response) => return response,
        }
    }
    match (method, target.name.is_some()) {
        (Method::GET, false) if watch => watch_stream(state, target, query),
        (Method::GET, false) => list(&state, &target, &query),
        (Method::GET, true) => get(&state, &target),
        (Method::POST, false) => create(&state, &target, &body),
        (Method::PUT, true) => update(&state, &target, &body),
        (Method::PATCH, true) => patch(&state, &target, &headers, &body),
        (Method::DELETE, true) => delete(&state, &target),
        _ => status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ),
    }
}

fn exists(state: &Shared, target: &Target) -> bool {
    let name = target.name.clone().unwrap_or_default();
    lock(state).store.get(&key(target, &name)).is_some()
}

/// `Warning: 299 - "..."` headers, as the apiserver relays webhook warnings.
fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('"', "'"));
        if let Ok(value) = axum::http::HeaderValue::from_str(&text) {
            response.headers_mut().append("warning", value);
        }
    }
    response
}

/// Runs the admission webhooks for a write. `Ok(None)`: no webhook configuration exists, go
/// on as usual. `Ok(Some(object))`: write this (possibly mutated) object.
async fn admit(
    state: &Shared,
    target: &Target,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<(Option<Value>, Vec<String>)>, Response> {
    if target.resource.group == "admissionregistration.k8s.io" {
        return Ok(None);
    }
    let (mutating, validating, old, namespace_labels) = {
        let inner = lock(state);
        let configs = |plural: &str| -> Vec<Value> {
            inner
                .store
                .list("admissionregistration.k8s.io", plural, None)
                .into_iter()
                .cloned()
                .collect()
        };
        let mutating = configs("mutatingwebhookconfigurations");
        let validating = configs("validatingwebhookconfigurations");
        if mutating.is_empty() && validating.is_empty() {
            return Ok(None);
        }
        let old = target
            .name
            .as_ref()
            .and_then(|n| inner.store.get(&key(target, n)).cloned());
        let labels = target
            .namespace
            .as_ref()
            .and_then(|ns| {
                inner.store.get(&(
                    String::new(),
                    "namespaces".into(),
                    String::new(),
                    ns.clone(),
                ))
            })
            .and_then(|n| n.pointer("/metadata/labels"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        (mutating, validating, old, labels)
    };
    let (operation, object) = match *method {
        Method::DELETE => {
            if old.is_none() {
                return Ok(None);
            }
            ("DELETE", None)
        }
        Method::POST => (
            "CREATE",
            Some(normalise(
                target,
                parse_body(body).map_err(|m| status(400, "BadRequest", m))?,
            )),
        ),
        Method::PUT => (
            "UPDATE",
            Some(normalise(
                target,
                parse_body(body).map_err(|m| status(400, "BadRequest", m))?,
            )),
        ),
        _ => {
            let patch = parse_body(body).map_err(|m| status(400, "BadRequest", m))?;
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            match &old {
                Some(current) => {
                    let mut next = current.clone();
                    apply_patch(&mut next, content_type, &patch, target)
                        .map_err(|m| status(422, "Invalid", m))?;
                    ("UPDATE", Some(normalise(target, next)))
                }
                None if content_type.starts_with("application/apply-patch") => {
                    let mut object = patch;
                    object["metadata"]["name"] = json!(target.name.clone().unwrap_or_default());
                    ("CREATE", Some(normalise(target, object)))
                }
                None => return Ok(None),
            }
        }
    };
    let name = object
        .as_ref()
        .and_then(|o| o.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .map(String::from)
        .or_else(|| target.name.clone())
        .unwrap_or_default();
    let attrs = crate::admission::Attributes {
        group: target.resource.group.clone(),
        version: target.resource.version.clone(),
        kind: target.resource.kind.clone(),
        plural: target.resource.plural.clone(),
        namespace: target.namespace.clone().unwrap_or_default(),
        name,
        operation,
        namespace_labels,
        dry_run: target.dry_run,
    };
    match crate::admission::admit(&mutating, &validating, &attrs, object, old.as_ref()).await {
        Ok(result) => Ok(Some(result)),
        Err(denied) => Err(status(denied.code, denied.reason, denied.message)),
    }
}

fn list_or_404(list: Option<Value>) -> Response {
    match list {
        Some(v) => ok(v),
        None => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn resolve(registry: &Registry, segments: &[&str]) -> Option<Target> {
    let (group, version, rest) = match segments {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if registry
                .find(group, version, plural)
                .is_some_and(|r| r.namespaced) =>
        {
            (Some(ns.to_string()), [&[*plural][..], tail].concat())
        }
        other => (None, other.to_vec()),
    };
    let resource = registry.find(group, version, rest.first()?)?.clone();
    let name = rest.get(1).map(|s| s.to_string());
    let subresource = rest.get(2).map(|s| s.to_string());
    if rest.len() > 3 || (subresource.is_some() && subresource.as_deref() != Some("status")) {
        return None;
    }
    Some(Target {
        resource,
        namespace,
        name,
        subresource,
        field_manager: None,
        force: false,
        strict: false,
        dry_run: false,
    })
}

fn key(target: &Target, name: &str) -> Key {
    (
        target.resource.group.clone(),
        target.resource.plural.clone(),
        target.namespace.clone().unwrap_or_default(),
        name.to_string(),
    )
}

/// The object as served at the requested version.
fn served(resource: &Resource, object: &Value) -> Value {
    let mut object = object.clone();
    object["apiVersion"] = json!(resource.api_version());
    object["kind"] = json!(resource.kind);
    object
}

fn not_found(target: &Target, name: &str) -> Response {
    status(
        404,
        "NotFound",
        format!(
            "{}.{} \"{name}\" not found",
            target.resource.plural, target.resource.group
        )
        .replace(". \"", " \""),
    )
}

fn get(state: &Shared, target: &Target) -> Response {
    let name = target.name.as_deref().unwrap_or_default();
    let inner = lock(state);
    match inner.store.get(&key(target, name)) {
        Some(object) => ok(served(&target.resource, object)),
        None => not_found(target, name),
    }
}

fn selected(object: &Value, query: &HashMap<String, String>) -> bool {
    let labels = object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    query
        .get("labelSelector")
        .is_none_or(|s| matches_labels(s, &labels))
        && query
            .get("fieldSelector")
            .is_none_or(|s| matches_fields(s, object))
}

fn list(state: &Shared, target: &Target, query: &HashMap<String, String>) -> Response {
    let inner = lock(state);
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None | Some(Ok(0)) => usize::MAX,
        Some(Ok(n)) => n,
        Some(Err(_)) => return status(400, "BadRequest", "limit must be a non-negative integer"),
    };
    // The token is the (namespace, name) of the last item served; items come in key order, so the
    // next page starts after it. The apiserver serves pages from a snapshot at the first page's
    // resourceVersion; here later pages see current data (see EMULATOR.md).
    let after = match query.get("continue").filter(|c| !c.is_empty()) {
        None => None,
        Some(token) => match decode_continue(token) {
            Some(after) => Some(after),
            None => {
                return status(
                    400,
                    "BadRequest",
                    "continue key is not valid: malformed token",
                );
            }
        },
    };
    let mut selected_items = inner
        .store
        .list(
            &target.resource.group,
            &target.resource.plural,
            target.namespace.as_deref(),
        )
        .into_iter()
        .filter(|o| selected(o, query))
        .filter(|o| after.as_ref().is_none_or(|a| &position(o) > a))
        .peekable();
    let mut items = Vec::new();
    while items.len() < limit {
        match selected_items.next() {
            Some(o) => items.push(o),
            None => break,
        }
    }
    let mut metadata = json!({"resourceVersion": inner.store.revision().to_string()});
    if selected_items.peek().is_some()
        && let Some(last) = items.last()
    {
        metadata["continue"] = json!(encode_continue(&position(last)));
        metadata["remainingItemCount"] = json!(selected_items.count());
    }
    let items: Vec<Value> = items
        .into_iter()
        .map(|o| served(&target.resource, o))
        .collect();
    ok(
        json!({"kind": format!("{}List", target.resource.kind), "apiVersion": target.resource.api_version(),
              "metadata": metadata, "items": items}),
    )
}

/// (namespace, name): the order the store lists objects in.
fn position(object: &Value) -> (String, String) {
    let field = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (field("/metadata/namespace"), field("/metadata/name"))
}

/// Continue tokens are opaque to clients: hex of `namespace/name`.
fn encode_continue((namespace, name): &(String, String)) -> String {
    format!("{namespace}/{name}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_continue(token: &str) -> Option<(String, String)> {
    if !token.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let text = String::from_utf8(bytes).ok()?;
    let (namespace, name) = text.split_once('/')?;
    Some((namespace.to_string(), name.to_string()))
}

fn parse_body(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice::<Value>(body)
        .map_err(|e| format!("the request body is not valid JSON: {e}"))
}

/// Now, as `metav1.Time` serialises it.
pub fn now() -> String {
    // RFC 3339 in UTC to the second, as metav1.Time serialises.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Defaults, namespace and kind stamped onto an object being written.
fn normalise(target: &Target, mut object: Value) -> Value {
    if let Some(schema) = &target.resource.schema {
        apply_defaults(schema, &mut object);
    }
    object["apiVersion"] = json!(target.resource.api_version());
    object["kind"] = json!(target.resource.kind);
    if let Some(ns) = &target.namespace {
        object["metadata"]["namespace"] = json!(ns);
    }
    object
}

fn namespace_exists(inner: &Inner, target: &Target) -> bool {
    match &target.namespace {
        None => true,
        Some(ns) => inner
            .store
            .get(&(
                String::new(),
                "namespaces".into(),
                String::new(),
                ns.clone(),
            ))
            .is_some(),
    }
}

fn create(state: &Shared, target: &Target, body: &[u8]) -> Response {
    let object = match parse_body(body) {
        Ok(v) => v,
        Err(m) => return status(400, "BadRequest", m),
    };
    if !object.get("metadata").is_some_and(Value::is_object) {
        return status(422, "Invalid", "metadata: Required value");
    }
    let mut object = normalise(target, object);
    let Some(name) = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(String::from)
    else {
        return status(
            422,
            "Invalid",
            "metadata.name: Required value: name or generateName is required",
        );
    };
    let mut inner = lock(state);
    if !namespace_exists(&inner, target) {
        return status(
            404,
            "NotFound",
            format!(
                "namespaces \"{}\" not found",
                target.namespace.clone().unwrap_or_default()
            ),
        );
    }
    let k = key(target, &name);
    if inner.store.get(&k).is_some() {
        return status(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", target.resource.plural),
        );
    }
    if target.resource.status && target.resource.schema.is_some() {
        // With a status subresource, status is not written on create (the default applies).
        if let Some(map) = object.as_object_mut() {
            map.remove("status");
        }
        if let Some(schema) = &target.resource.schema {
            apply_defaults(schema, &mut object);
        }
    }
    if let Some(response) = validate(target, &object) {
        return response;
    }
    if object.pointer("/metadata/managedFields").is_none() {
        let manager = target
            .field_manager
            .clone()
            .unwrap_or_else(|| "unknown".to_string());
        crate::ssa::record_update(
            None,
            &mut object,
            &manager,
            &target.resource.api_version(),
            &now(),
        );
    }
    let uid = inner.store.next_uid();
    object["metadata"]["uid"] = json!(uid);
    object["metadata"]["creationTimestamp"] = json!(now());
    object["metadata"]["generation"] = json!(1);
    if target.dry_run {
        return (
            StatusCode::CREATED,
            axum::Json(served(&target.resource, &object)),
        )
            .into_response();
    }
    let stored = inner.store.put(k, object, "ADDED");
    after_write(&mut inner, target, &stored);
    (
        StatusCode::CREATED,
        axum::Json(served(&target.resource, &stored)),
    )
        .into_response()
}

/// Validates a custom resource against its CRD schema, as the apiserver does after defaulting.
fn validate(target: &Target, object: &Value) -> Option<Response> {
    let schema = target.resource.schema.as_ref()?;
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let errors = crate::validation::validate(schema, object);
    let (unknown, invalid): (Vec<&String>, Vec<&String>) =
        errors.iter().partition(|e| e.ends_with(": unknown field"));
    if !invalid.is_empty() {
        let list: Vec<String> = invalid
            .iter()
            .map(|e| e.trim_start_matches('.').to_string())
            .collect();
        return Some(status(
            422,
            "Invalid",
            format!(
                "{}.{} \"{name}\" is invalid: {}",
                target.resource.kind,
                target.resource.group,
                list.join(", ")
            ),
        ));
    }
    if target.strict && !unknown.is_empty() {
        let list: Vec<String> = unknown
            .iter()
            .map(|e| {
                format!(
                    "unknown field \"{}\"",
                    e.trim_end_matches(": unknown field")
                        .trim_start_matches('.')
                )
            })
            .collect();
        return Some(status(
            400,
            "BadRequest",
            format!("strict decoding error: {}", list.join(", ")),
        ));
    }
    None
}

/// CRDs change what is served.
fn after_write(inner: &mut Inner, target: &Target, object: &Value) {
    if target.resource.kind == "CustomResourceDefinition" {
        inner.registry.add_crd(object);
    }
}

fn spec_of(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

/// Writes `new` over the stored object: resource version check, status subresource rules,
/// generation bump, finalizer-driven deletion.
fn write(state: &Shared, target: &Target, new: Value, check_version: bool) -> Response {
    let name = target.name.clone().unwrap_or_default();
    let mut inner = lock(state);
    let k = key(target, &name);
    let Some(old) = inner.store.get(&k).cloned() else {
        return not_found(target, &name);
    };
    let mut new = normalise(target, new);
    if check_version
        && let Some(rv) = new
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
        && Some(rv)
            != old
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
    {
        return status(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                target.resource.plural
            ),
        );
    }
    let status_only = target.subresource.as_deref() == Some("status");
    if status_only {
        let mut merged = old.clone();
        merged["status"] = new.get("status").cloned().unwrap_or(Value::Null);
        new = merged;
    } else if target.resource.status {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(map) = new.as_object_mut() {
                    map.remove("status");
                }
            }
        }
    }
    // Immutable and server-owned metadata.
    for field in ["uid", "creationTimestamp", "deletionTimestamp"] {
        match old.pointer(&format!("/metadata/{field}")) {
            Some(v) => new["metadata"][field] = v.clone(),
            None => {
                if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove(field);
                }
            }
        }
    }
    if let Some(response) = validate(target, &new) {
        return response;
    }
    if !status_only
        && new.pointer("/metadata/managedFields") == old.pointer("/metadata/managedFields")
    {
        let manager = target
            .field_manager
            .clone()
            .unwrap_or_else(|| "unknown".to_string());
        crate::ssa::record_update(
            Some(&old),
            &mut new,
            &manager,
            &target.resource.api_version(),
            &now(),
        );
    }
    let generation = old
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let bumped = if !status_only && spec_of(&old) != spec_of(&new) {
        generation + 1
    } else {
        generation
    };
    new["metadata"]["generation"] = json!(bumped);
    let finalizers_left = new
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if new.pointer("/metadata/deletionTimestamp").is_some() && !finalizers_left {
        if target.dry_run {
            return ok(served(&target.resource, &new));
        }
        let removed = inner.store.remove(&k).unwrap_or(new);
        return ok(served(&target.resource, &removed));
    }
    if target.dry_run {
        return ok(served(&target.resource, &new));
    }
    let stored = inner.store.put(k, new, "MODIFIED");
    after_write(&mut inner, target, &stored);
    ok(served(&target.resource, &stored))
}

fn update(state: &Shared, target: &Target, body: &[u8]) -> Response {
    match parse_body(body) {
        Ok(new) => write(state, target, new, true),
        Err(m) => status(400, "BadRequest", m),
    }
}

fn patch(state: &Shared, target: &Target, headers: &HeaderMap, body: &[u8]) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let patch = match parse_body(body) {
        Ok(v) => v,
        Err(m) => return status(400, "BadRequest", m),
    };
    // As the API server: custom resources have no merge keys, so no strategic merge.
    if content_type.starts_with(STRATEGIC) && target.resource.schema.is_some() {
        return status(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".to_string(),
        );
    }
    let name = target.name.clone().unwrap_or_default();
    let current = lock(state).store.get(&key(target, &name)).cloned();
    if content_type.starts_with("application/apply-patch") && target.subresource.is_none() {
        return server_side_apply(state, target, current.as_ref(), patch, &name);
    }
    let Some(mut object) = current else {
        return not_found(target, &name);
    };
    let result = apply_patch(&mut object, content_type, &patch, target);
    match result {
        Ok(()) => write(state, target, object, false),
        Err(message) => status(422, "Invalid", message),
    }
}

/// Server-side apply: field ownership, conflicts between managers, `force`.
fn server_side_apply(
    state: &Shared,
    target: &Target,
    current: Option<&Value>,
    mut config: Value,
    name: &str,
) -> Response {
    let Some(manager) = target.field_manager.clone() else {
        return status(
            400,
            "BadRequest",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        );
    };
    config["metadata"]["name"] = json!(name);
    let applied = crate::ssa::apply(
        current,
        &config,
        &manager,
        target.force,
        &target.resource.api_version(),
        &now(),
    )
    .map(|mut object| {
        object["metadata"]["name"] = json!(name);
        object
    });
    match applied {
        Err(conflicts) => {
            let list: Vec<String> = conflicts
                .iter()
                .map(|c| format!("conflict with \"{}\": {}", c.manager, c.field))
                .collect();
            status(
                409,
                "Conflict",
                format!(
                    "Apply failed with {} conflict{}: {}",
                    conflicts.len(),
                    if conflicts.len() == 1 { "" } else { "s" },
                    list.join("\n")
                ),
            )
        }
        Ok(object) if current.is_some() => write(state, target, object, false),
        Ok(object) => create(
            state,
            target,
            &serde_json::to_vec(&object).unwrap_or_default(),
        ),
    }
}

/// Content type of a strategic merge patch.
const STRATEGIC: &str = "application/strategic-merge-patch+json";

/// Applies a patch of the given content type to `object`.
fn apply_patch(
    object: &mut Value,
    content_type: &str,
    patch: &Value,
    target: &Target,
) -> Result<(), String> {
    if content_type.starts_with("application/json-patch+json") {
        let ops = patch.as_array().ok_or("a JSON patch is an array")?;
        return helmrelease_patch::json_patch(object, ops).map_err(|e| e.to_string());
    }
    let mut patch = patch.clone();
    if target.subresource.as_deref() == Some("status")
        && let Some(map) = patch.as_object_mut()
    {
        map.retain(|k, _| k == "status");
    }
    if content_type.starts_with(STRATEGIC) {
        helmrelease_patch::strategic_merge(object, &patch);
    } else {
        helmrelease_patch::merge_patch(object, &patch);
    }
    Ok(())
}

fn delete(state: &Shared, target: &Target) -> Response {
    let name = target.name.clone().unwrap_or_default();
    let mut inner = lock(state);
    let k = key(target, &name);
    let Some(object) = inner.store.get(&k).cloned() else {
        return not_found(target, &name);
    };
    if target.dry_run {
        return ok(served(&target.resource, &object));
    }
    let has_finalizers = object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if has_finalizers {
        if object.pointer("/metadata/deletionTimestamp").is_some() {
            return ok(served(&target.resource, &object));
        }
        let mut marked = object;
        marked["metadata"]["deletionTimestamp"] = json!(now());
        let stored = inner.store.put(k, marked, "MODIFIED");
        return ok(served(&target.resource, &stored));
    }
    let removed = inner.store.remove(&k).unwrap_or(object);
    if target.resource.kind == "CustomResourceDefinition" {
        inner.registry.remove_crd(&name);
    }
    ok(served(&target.resource, &removed))
}

fn watch_event(kind: &str, object: Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn watch_stream(state: Shared, target: Target, query: HashMap<String, String>) -> Response {
    let since: Option<u64> = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0);
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1800);
    let (backlog, receiver) = {
        let inner = lock(&state);
        let receiver = inner.store.subscribe();
        let backlog: Vec<Bytes> = match since {
            Some(rv) => match inner.store.events_since(rv) {
                Some(events) => events
                    .into_iter()
                    .filter(|e| relevant(&target, &query, e))
                    .map(|e| watch_event(e.kind, served(&target.resource, &e.object)))
                    .collect(),
                None => vec![watch_event(
                    "ERROR",
                    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": format!("too old resource version: {rv} ({})", inner.store.revision()),
                           "reason": "Expired", "code": 410}),
                )],
            },
            // No version: the current objects as ADDED, then changes.
            None => inner
                .store
                .list(
                    &target.resource.group,
                    &target.resource.plural,
                    target.namespace.as_deref(),
                )
                .into_iter()
                .filter(|o| selected(o, &query))
                .map(|o| watch_event("ADDED", served(&target.resource, o)))
                .collect(),
        };
        let mut backlog = backlog;
        // kube-rs streaming lists (sendInitialEvents) wait for this bookmark to know the
        // initial state is complete.
        if flag(&query, "allowWatchBookmarks") && flag(&query, "sendInitialEvents") {
            backlog.push(bookmark(&target.resource, inner.store.revision(), true));
        }
        (backlog, receiver)
    };
    let resource = target.resource.clone();
    let target_resource = target.resource.clone();
    let wants_bookmarks = flag(&query, "allowWatchBookmarks");
    let live = tokio_stream::wrappers::BroadcastStream::new(receiver).filter_map(move |event| {
        let out = match event {
            Ok(e) if relevant(&target, &query, &e) => Some(Ok::<_, std::io::Error>(watch_event(
                e.kind,
                served(&resource, &e.object),
            ))),
            _ => None,
        };
        async move { out }
    });
    // Periodic bookmarks, as the apiserver sends about once a minute, let clients resume
    // from a recent version after a reconnect.
    let bookmarks = wants_bookmarks.then(|| {
        let state = state.clone();
        let resource = target_resource.clone();
        let period = std::time::Duration::from_secs(BOOKMARK_PERIOD_SECS);
        tokio_stream::wrappers::IntervalStream::new(tokio::time::interval_at(
            tokio::time::Instant::now() + period,
            period,
        ))
        .map(move |_| Ok(bookmark(&resource, lock(&state).store.revision(), false)))
    });
    let live = match bookmarks {
        Some(b) => futures::stream::select(live, b).boxed(),
        None => live.boxed(),
    };
    let stream = futures::stream::iter(backlog.into_iter().map(Ok)).chain(live);
    let stream = tokio_stream::StreamExt::timeout(stream, std::time::Duration::from_secs(timeout))
        .take_while(|item| futures::future::ready(item.is_ok()))
        .filter_map(|item| async move { item.ok() });
    let _ = &state;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| status(500, "InternalError", "building the watch response"))
}

/// Seconds between bookmarks on a watch that allows them.
const BOOKMARK_PERIOD_SECS: u64 = 30;

fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query.get(name).is_some_and(|v| v == "true" || v == "1")
}

/// A BOOKMARK event: only the kind and a resourceVersion, as the apiserver sends it.
fn bookmark(resource: &Resource, revision: u64, initial_events_end: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    watch_event(
        "BOOKMARK",
        json!({"kind": resource.kind, "apiVersion": resource.api_version(), "metadata": metadata}),
    )
}

fn relevant(target: &Target, query: &HashMap<String, String>, event: &Event) -> bool {
    event.group == target.resource.group
        && event.plural == target.resource.plural
        && target
            .namespace
            .as_ref()
            .is_none_or(|ns| *ns == event.namespace)
        && selected(&event.object, query)
}
