//! Drift: the objects of a deployed release's manifest compared with the live objects in the
//! cluster, for `kubectl helmrelease drift` and `audit --drift`.
//!
//! helm-controller finds drift with a server-side-apply dry run; without a server, this module
//! approximates it by comparing **only the fields the manifest sets**. Defaults the API server
//! fills in and fields other controllers write are therefore not drift:
//!
//! - Maps compare the keys the desired object has; extra live keys are ignored.
//! - Lists of maps with a merge key (`containers`, `env`, `volumes` by `name`, `ports` by
//!   `containerPort`, `volumeMounts` by `mountPath`, …, and any list whose items all have a
//!   unique `name`) match items by key, so order and extra live items do not matter.
//!   `finalizers` compare as a set. Other lists compare by position; a length difference is
//!   drift of the whole list.
//! - Numbers compare by value (`1` equals `1.0`); everything else strictly (`1` is not `"1"`),
//!   except resource quantities (under `requests`, `limits`, `hard`, `capacity`, LimitRange
//!   bounds, `overhead`, `sizeLimit`): the API server stores them in canonical form, so
//!   `cpu: 0.5` equals `500m` and `memory: 1024Mi` equals `1Gi`.
//! - A desired `null` is not compared. A desired zero value (`false`, `0`, `""`, `{}`, `[]`)
//!   equals an absent live field, because Kubernetes omits those when it stores an object.
//! - Always ignored: `status`; `apiVersion` and `kind` (the object's identity); server-set
//!   metadata (`uid`, `resourceVersion`, `generation`, `creationTimestamp`, `managedFields`,
//!   `selfLink`, `deletionTimestamp`, `deletionGracePeriodSeconds`); `metadata.namespace` of
//!   cluster-scoped objects; `kubectl.kubernetes.io/last-applied-configuration`; Helm's
//!   ownership label and annotations as fields of the manifest (the stored manifest lacks
//!   them). With [`DriftOptions::release_name`] they are checked on the live object instead:
//!   missing or naming another release is drift, as in helm-controller.
//! - Objects labelled or annotated `helm.toolkit.fluxcd.io/driftDetection: disabled` (desired or
//!   live) are skipped.
//! - A Secret's desired `stringData` is compared as the base64 `data` Kubernetes stores, and
//!   Secret values are masked in findings unless [`DriftOptions::show_secrets`] is set.
//! - [`IgnoreRule`]s drop subtrees named by JSON pointers. Pointers address the desired object:
//!   items of keyed lists by their position in the manifest, and a Secret's `stringData` keys
//!   as `/data/<key>` (Flux's form), though `/stringData/<key>` is honoured too.
//!   A rule's `target` matches group, version and kind exactly (`group: ""` is the core group;
//!   other empty fields match anything), name and namespace as anchored regular expressions, and
//!   label and annotation selectors against the desired object's metadata (which lacks Helm's
//!   ownership metadata).
//!
//! # JSON schema of [`DriftReport`]
//!
//! ```json
//! {
//!   "objects": [
//!     {
//!       "key": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "apps", "name": "web"},
//!       "state": "modified",
//!       "fields": [{"path": "/spec/replicas", "desired": 3, "live": 5}]
//!     },
//!     {
//!       "key": {"apiVersion": "v1", "kind": "Secret", "namespace": "apps", "name": "db"},
//!       "state": "modified",
//!       "fields": [{"path": "/data/password", "desired": "***", "live": "***", "masked": true}]
//!     },
//!     {"key": {"apiVersion": "v1", "kind": "Service", "namespace": "apps", "name": "web"},
//!      "state": "missing", "fields": []}
//!   ],
//!   "skipped": [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "apps", "name": "cache"}],
//!   "inSync": 5
//! }
//! ```
//!
//! `state` is `missing` or `modified`; `namespace` is omitted for cluster-scoped objects;
//! `desired`/`live` are omitted when the field is absent on that side; `masked` is omitted when
//! false. Objects are sorted by key, fields by path.

use crate::{Error, ObjectKey, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use helmrelease_crds::helmrelease::{IgnoreRule, Selector};
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

/// Label or annotation that, set to [`DRIFT_DETECTION_DISABLED`], excludes an object from drift
/// detection.
pub const DRIFT_DETECTION_KEY: &str = "helm.toolkit.fluxcd.io/driftDetection";
/// The value of [`DRIFT_DETECTION_KEY`] that excludes an object.
pub const DRIFT_DETECTION_DISABLED: &str = "disabled";
/// What masked Secret values are replaced with.
pub const MASK: &str = "***";

/// Metadata the API server writes; a manifest setting them is not asking for anything.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];
/// Helm adds these on install; the stored manifest lacks them.
const SKIPPED_LABELS: &[&str] = &["app.kubernetes.io/managed-by"];
const SKIPPED_ANNOTATIONS: &[&str] = &[
    "meta.helm.sh/release-name",
    "meta.helm.sh/release-namespace",
    "kubectl.kubernetes.io/last-applied-configuration",
];
/// Lists of scalars that behave as sets: controllers append to them.
const SET_FIELDS: &[&str] = &["finalizers"];

/// Built-in cluster-scoped kinds as (API group, kind).
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "ComponentStatus"),
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authentication.k8s.io", "TokenReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
];

/// Whether a built-in Kubernetes kind is cluster-scoped. Custom resources are not known here:
/// answer for them with [`DriftOptions::scope`].
pub fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    CLUSTER_SCOPED.iter().any(|&(g, k)| g == group && k == kind)
}

/// Answers the scope of a kind given `apiVersion` and `kind`: `Some(true)` for cluster-scoped,
/// `Some(false)` for namespaced, `None` when it does not know.
pub type ScopeFn<'a> = dyn Fn(&str, &str) -> Option<bool> + 'a;

/// How to compare; [`DriftOptions::new`] gives the defaults for a release namespace.
#[derive(Clone, Copy, Default)]
pub struct DriftOptions<'a> {
    /// Namespace of the release: namespaced objects without one in the manifest live there.
    pub release_namespace: &'a str,
    /// `spec.driftDetection.ignore` of the HelmRelease.
    pub ignore: &'a [IgnoreRule],
    /// Show Secret values in findings instead of [`MASK`].
    pub show_secrets: bool,
    /// Name of the release. When given, live objects must also carry Helm's ownership metadata
    /// for it (label `app.kubernetes.io/managed-by: Helm`, annotations
    /// `meta.helm.sh/release-name` and `meta.helm.sh/release-namespace`), as helm-controller's
    /// drift detection requires: without it the next upgrade fails with Helm's "invalid
    /// ownership metadata". A missing or different value is drift.
    pub release_name: Option<&'a str>,
    /// Scope of kinds the built-in list lacks (custom resources), given `apiVersion` and `kind`:
    /// `Some(true)` for cluster-scoped, `Some(false)` for namespaced, `None` to fall back to
    /// [`is_cluster_scoped`].
    pub scope: Option<&'a ScopeFn<'a>>,
}

impl fmt::Debug for DriftOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriftOptions")
            .field("release_namespace", &self.release_namespace)
            .field("ignore", &self.ignore)
            .field("show_secrets", &self.show_secrets)
            .field("release_name", &self.release_name)
            .field("scope", &self.scope.map(|_| "<fn>"))
            .finish()
    }
}

impl<'a> DriftOptions<'a> {
    /// Options for a release in `release_namespace`: no ignore rules, Secrets masked, built-in
    /// scopes only.
    pub fn new(release_namespace: &'a str) -> Self {
        DriftOptions {
            release_namespace,
            ..DriftOptions::default()
        }
    }

    /// Whether objects of this kind have no namespace.
    pub fn cluster_scoped(&self, api_version: &str, kind: &str) -> bool {
        self.scope
            .and_then(|scope| scope(api_version, kind))
            .unwrap_or_else(|| is_cluster_scoped(api_version, kind))
    }

    /// The key a desired object has in the cluster: the release namespace filled in for
    /// namespaced kinds, no namespace for cluster-scoped ones (the API server drops it).
    pub fn key_of(&self, object: &Value) -> ObjectKey {
        let mut key = ObjectKey::of(object);
        if self.cluster_scoped(&key.api_version, &key.kind) {
            key.namespace.clear();
            key
        } else {
            key.in_namespace(self.release_namespace)
        }
    }

    /// The keys of the live objects [`detect`] will ask for, sorted and without duplicates:
    /// what a caller has to fetch. `*List` objects count as their items; objects without kind
    /// or name are left out.
    pub fn keys(&self, desired: &[Value]) -> Vec<ObjectKey> {
        let mut keys: Vec<ObjectKey> = flatten(desired)
            .into_iter()
            .map(|object| self.key_of(object))
            .filter(|key| !key.kind.is_empty() && !key.name.is_empty())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Result of comparing a manifest with the cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftReport {
    /// Drifted objects, sorted by key.
    pub objects: Vec<ObjectDrift>,
    /// Objects not compared: drift detection disabled on them, or no kind or name. Sorted.
    pub skipped: Vec<ObjectKey>,
    /// How many objects were compared and match.
    pub in_sync: usize,
}

/// One drifted object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDrift {
    /// The object, with the namespace it has in the cluster.
    pub key: ObjectKey,
    /// Missing or modified.
    pub state: DriftState,
    /// The fields that differ, sorted by path; empty for a missing object.
    pub fields: Vec<FieldDrift>,
}

/// How an object drifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DriftState {
    /// The object is not in the cluster.
    Missing,
    /// Fields the manifest sets differ in the cluster.
    Modified,
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDrift {
    /// RFC 6901 JSON pointer into the desired object.
    pub path: String,
    /// The manifest's value, `None` when the manifest lacks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<Value>,
    /// The live value, `None` when the live object lacks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<Value>,
    /// The values are Secret data replaced with [`MASK`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub masked: bool,
}

impl DriftReport {
    /// No object drifted (skipped objects do not count).
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Drifted objects in `state`.
    pub fn count(&self, state: DriftState) -> usize {
        self.objects.iter().filter(|o| o.state == state).count()
    }

    /// One line: `2 drifted (1 missing, 1 modified), 5 in sync, 1 skipped`.
    pub fn summary(&self) -> String {
        format!(
            "{} drifted ({} missing, {} modified), {} in sync, {} skipped",
            self.objects.len(),
            self.count(DriftState::Missing),
            self.count(DriftState::Modified),
            self.in_sync,
            self.skipped.len()
        )
    }
}

impl fmt::Display for DriftState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DriftState::Missing => "missing",
            DriftState::Modified => "modified",
        })
    }
}

impl fmt::Display for FieldDrift {
    /// `/spec/replicas: desired 3, live 5`, with `<unset>` for an absent side.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<Value>| {
            v.as_ref()
                .map_or_else(|| "<unset>".into(), Value::to_string)
        };
        write!(
            f,
            "{}: desired {}, live {}",
            self.path,
            show(&self.desired),
            show(&self.live)
        )
    }
}

impl fmt::Display for DriftReport {
    /// Each drifted object with its fields indented, then [`DriftReport::summary`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for object in &self.objects {
            writeln!(f, "{}: {}", object.key, object.state)?;
            for field in &object.fields {
                writeln!(f, "  {field}")?;
            }
        }
        write!(f, "{}", self.summary())
    }
}

/// Compares the desired objects (a parsed manifest) with the live ones `live` returns for a
/// key from [`DriftOptions::keys`]. Fails only on invalid ignore rules, which are all checked
/// whether or not they match an object.
pub fn detect<'a>(
    desired: &[Value],
    live: &dyn Fn(&ObjectKey) -> Option<&'a Value>,
    options: &DriftOptions<'_>,
) -> Result<DriftReport> {
    let rules = compile_rules(options.ignore)?;
    let mut report = DriftReport::default();
    // Keyed so a later duplicate replaces an earlier one, as a later apply would.
    let mut by_key = BTreeMap::new();
    for object in flatten(desired) {
        let key = options.key_of(object);
        if key.kind.is_empty() || key.name.is_empty() {
            report.skipped.push(key);
        } else {
            by_key.insert(key, object);
        }
    }
    for (key, object) in by_key {
        let found = live(&key).filter(|v| !v.is_null());
        if drift_disabled(object) || found.is_some_and(drift_disabled) {
            report.skipped.push(key);
            continue;
        }
        let Some(found) = found else {
            report.objects.push(ObjectDrift {
                key,
                state: DriftState::Missing,
                fields: Vec::new(),
            });
            continue;
        };
        let fields = diff_object(&key, object, found, &rules, options);
        if fields.is_empty() {
            report.in_sync += 1;
        } else {
            report.objects.push(ObjectDrift {
                key,
                state: DriftState::Modified,
                fields,
            });
        }
    }
    report.skipped.sort();
    Ok(report)
}

/// Checks ignore rules without comparing anything: pointers, regexes and selectors.
pub fn check_ignore_rules(rules: &[IgnoreRule]) -> Result<()> {
    compile_rules(rules).map(drop)
}

/// Objects with `*List` wrappers replaced by their items, as Helm applies them.
fn flatten(objects: &[Value]) -> Vec<&Value> {
    let mut out = Vec::with_capacity(objects.len());
    let mut stack: Vec<&Value> = objects.iter().rev().collect();
    while let Some(object) = stack.pop() {
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        match object.get("items").and_then(Value::as_array) {
            Some(items) if kind.ends_with("List") => stack.extend(items.iter().rev()),
            _ => out.push(object),
        }
    }
    out
}

fn drift_disabled(object: &Value) -> bool {
    ["labels", "annotations"].iter().any(|field| {
        object
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(|m| m.get(DRIFT_DETECTION_KEY))
            .and_then(Value::as_str)
            == Some(DRIFT_DETECTION_DISABLED)
    })
}

fn diff_object(
    key: &ObjectKey,
    desired: &Value,
    live: &Value,
    rules: &[Rule],
    options: &DriftOptions<'_>,
) -> Vec<FieldDrift> {
    let ignored = rules
        .iter()
        .filter(|rule| rule.target.as_ref().is_none_or(|t| t.matches(key, desired)))
        .flat_map(|rule| rule.pointers.iter().map(Vec::as_slice))
        .collect();
    let compare = Comparison {
        ignored,
        cluster_scoped: options.cluster_scoped(&key.api_version, &key.kind),
        secret: key.group().is_empty() && key.kind == "Secret",
        show_secrets: options.show_secrets,
    };
    let stored;
    let desired = if compare.secret {
        stored = compare.secret_as_stored(desired);
        &stored
    } else {
        desired
    };
    let mut findings = Vec::new();
    compare.compare(desired, Some(live), &mut Vec::new(), &mut findings, false);
    if let Some(name) = options.release_name {
        let owner = [
            ("labels", "app.kubernetes.io/managed-by", "Helm"),
            ("annotations", "meta.helm.sh/release-name", name),
            (
                "annotations",
                "meta.helm.sh/release-namespace",
                options.release_namespace,
            ),
        ];
        for (map, key, want) in owner {
            let path = vec!["metadata".to_string(), map.to_string(), key.to_string()];
            if compare.ignored.contains(&path.as_slice()) {
                continue;
            }
            let found = live
                .get("metadata")
                .and_then(|m| m.get(map))
                .and_then(|m| m.get(key));
            if found.and_then(Value::as_str) != Some(want) {
                compare.report(
                    &path,
                    Some(Value::String(want.to_string())),
                    found.cloned(),
                    &mut findings,
                );
            }
        }
    }
    findings.sort_by(|(a, _), (b, _)| compare_paths(a, b));
    findings.into_iter().map(|(_, finding)| finding).collect()
}

/// Orders paths token by token, list indexes numerically (`/2` before `/10`).
fn compare_paths(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x.parse::<usize>(), y.parse::<usize>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// A finding with its unescaped path, for sorting.
type Finding = (Vec<String>, FieldDrift);

/// The comparison of one object.
struct Comparison<'r> {
    /// Pointers of the ignore rules that apply to this object.
    ignored: Vec<&'r [String]>,
    cluster_scoped: bool,
    secret: bool,
    show_secrets: bool,
}

impl Comparison<'_> {
    fn skips(&self, path: &[String]) -> bool {
        if self.ignored.contains(&path) {
            return true;
        }
        match path {
            [field] => matches!(field.as_str(), "status" | "apiVersion" | "kind"),
            [meta, field] if meta == "metadata" => {
                SERVER_METADATA.contains(&field.as_str())
                    || (self.cluster_scoped && field == "namespace")
            }
            [meta, map, key] if meta == "metadata" => match map.as_str() {
                "labels" => SKIPPED_LABELS.contains(&key.as_str()),
                "annotations" => SKIPPED_ANNOTATIONS.contains(&key.as_str()),
                _ => false,
            },
            _ => false,
        }
    }

    /// A desired Secret as the API server stores it: `stringData` encoded into `data`, which it
    /// overrides key by key; line breaks dropped from `data`, as base64 decoding does.
    fn secret_as_stored(&self, desired: &Value) -> Value {
        let mut object = desired.clone();
        let Some(map) = object.as_object_mut() else {
            return object;
        };
        let string_data = match map.remove("stringData") {
            Some(Value::Object(string_data)) => string_data,
            Some(other) => {
                map.insert("stringData".into(), other);
                Map::new()
            }
            None => Map::new(),
        };
        let mut data = match map.remove("data") {
            Some(Value::Object(data)) => data,
            Some(other) if string_data.is_empty() => {
                map.insert("data".into(), other);
                return object;
            }
            _ if string_data.is_empty() => return object,
            _ => Map::new(),
        };
        for value in data.values_mut() {
            if let Value::String(text) = value {
                text.retain(|c| c != '\n' && c != '\r');
            }
        }
        let ignored = |key: &str| {
            self.skips(&["stringData".into()]) || self.skips(&["stringData".into(), key.into()])
        };
        for (key, value) in string_data {
            if ignored(&key) {
                continue;
            }
            if let Value::String(text) = value {
                data.insert(key, Value::String(STANDARD.encode(text)));
            }
        }
        map.insert("data".into(), Value::Object(data));
        object
    }

    /// Appends to `out` what differs between `desired` and `live` at `path`. `element` marks
    /// a list item, whose absence is drift even when it is a zero value.
    fn compare(
        &self,
        desired: &Value,
        live: Option<&Value>,
        path: &mut Vec<String>,
        out: &mut Vec<Finding>,
        element: bool,
    ) {
        if desired.is_null() || self.skips(path) {
            return;
        }
        match (desired, live.filter(|v| !v.is_null())) {
            (_, None) => {
                let desired = self.prune(desired, path);
                if element || !vacuous(&desired) {
                    self.report(path, Some(desired), None, out);
                }
            }
            (Value::Object(desired), Some(Value::Object(live))) => {
                for (key, value) in desired {
                    path.push(key.clone());
                    self.compare(value, live.get(key), path, out, false);
                    path.pop();
                }
            }
            (Value::Array(desired), Some(Value::Array(live))) => {
                self.compare_list(desired, live, path, out);
            }
            (desired, Some(live)) => {
                let same = same_scalar(desired, live)
                    || (quantity_field(path) && same_quantity(desired, live));
                if !same {
                    let desired = self.prune(desired, path);
                    let live = self.prune(live, path);
                    self.report(path, Some(desired), Some(live), out);
                }
            }
        }
    }

    fn compare_list(
        &self,
        desired: &[Value],
        live: &[Value],
        path: &mut Vec<String>,
        out: &mut Vec<Finding>,
    ) {
        let field = path.last().map_or("", String::as_str);
        if SET_FIELDS.contains(&field) && desired.iter().all(is_scalar) {
            for (i, item) in desired.iter().enumerate() {
                path.push(i.to_string());
                if !item.is_null()
                    && !self.skips(path)
                    && !live.iter().any(|l| same_scalar(item, l))
                {
                    self.report(path, Some(item.clone()), None, out);
                }
                path.pop();
            }
        } else if let Some(key) = merge_key(field, desired) {
            for (i, item) in desired.iter().enumerate() {
                let id = item.get(key);
                let matched = id.and_then(|id| {
                    live.iter()
                        .find(|l| l.get(key).is_some_and(|v| same_scalar(v, id)))
                });
                path.push(i.to_string());
                self.compare(item, matched, path, out, true);
                path.pop();
            }
        } else if desired.len() == live.len() {
            for (i, (d, l)) in desired.iter().zip(live).enumerate() {
                path.push(i.to_string());
                self.compare(d, Some(l), path, out, true);
                path.pop();
            }
        } else {
            let desired = self.prune_items(desired, path);
            let live = self.prune_items(live, path);
            // Ignore rules may account for the whole difference.
            if desired != live {
                self.report(path, Some(desired), Some(live), out);
            }
        }
    }

    /// A copy of `value` for display, without nulls in maps and without ignored subtrees.
    fn prune(&self, value: &Value, path: &mut Vec<String>) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter_map(|(key, v)| {
                        path.push(key.clone());
                        let kept = (!v.is_null() && !self.skips(path)).then(|| self.prune(v, path));
                        path.pop();
                        Some((key.clone(), kept?))
                    })
                    .collect(),
            ),
            Value::Array(items) => self.prune_items(items, path),
            _ => value.clone(),
        }
    }

    fn prune_items(&self, items: &[Value], path: &mut Vec<String>) -> Value {
        Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    path.push(i.to_string());
                    let kept = (!self.skips(path)).then(|| self.prune(v, path));
                    path.pop();
                    kept
                })
                .collect(),
        )
    }

    fn report(
        &self,
        path: &[String],
        desired: Option<Value>,
        live: Option<Value>,
        out: &mut Vec<Finding>,
    ) {
        // Everything from the data maps up (the root included) can hold Secret values.
        let masked = self.secret
            && !self.show_secrets
            && path
                .first()
                .is_none_or(|field| field == "data" || field == "stringData");
        let hide = |value: Option<Value>| {
            if masked {
                value.map(|v| mask(&v))
            } else {
                value
            }
        };
        out.push((
            path.to_vec(),
            FieldDrift {
                path: to_pointer(path),
                desired: hide(desired),
                live: hide(live),
                masked,
            },
        ));
    }
}

/// Keeps map keys (Secret data keys are not secret) and replaces everything else.
fn mask(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), mask(v))).collect())
        }
        _ => Value::String(MASK.into()),
    }
}

/// Zero values Kubernetes omits when it stores an object.
fn vacuous(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.values().all(vacuous),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// Equality with numbers compared by value: integers exactly, otherwise as floats.
fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => same_number(a, b),
        _ => a == b,
    }
}

fn same_number(a: &Number, b: &Number) -> bool {
    let integer = |n: &Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (integer(a), integer(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a.as_f64().is_some_and(|a| Some(a) == b.as_f64()),
    }
}

/// Whether `path` holds a resource quantity (`resources.limits.cpu`, ResourceQuota
/// `spec.hard.pods`, PersistentVolume `spec.capacity.storage`, LimitRange bounds, ...).
fn quantity_field(path: &[String]) -> bool {
    const PARENTS: &[&str] = &[
        "requests",
        "limits",
        "hard",
        "capacity",
        "allocatable",
        "overhead",
        "podFixed",
        "max",
        "min",
        "default",
        "defaultRequest",
        "maxLimitRequestRatio",
    ];
    match path {
        [.., parent, _] if PARENTS.contains(&parent.as_str()) => true,
        [.., last] => last == "sizeLimit",
        [] => false,
    }
}

/// Two quantities with the same value, as the API server would store them. `None` from the
/// parser (not a quantity, or finer than Kubernetes keeps) means they are compared strictly.
fn same_quantity(a: &Value, b: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match (
        text(a).and_then(|t| quantity_nanos(&t)),
        text(b).and_then(|t| quantity_nanos(&t)),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// A Kubernetes quantity (`500m`, `1.5Gi`, `2e3`, `0.25`) in billionths, exactly; `None` when
/// it is not one, does not fit, or is finer than a billionth.
fn quantity_nanos(text: &str) -> Option<i128> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return None;
    }
    let (pow10, pow2): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        e => (e.strip_prefix(['e', 'E'])?.parse::<i32>().ok()?, 0),
    };
    let mut mantissa: i128 = 0;
    for d in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(i128::from(d - b'0'))?;
    }
    let scale = pow10
        .checked_add(9)?
        .checked_sub(i32::try_from(fraction.len()).ok()?)?;
    let mut value = mantissa.checked_mul(2i128.checked_pow(pow2)?)?;
    if scale >= 0 {
        value = value.checked_mul(10i128.checked_pow(scale.unsigned_abs())?)?;
    } else {
        let divisor = 10i128.checked_pow(scale.unsigned_abs())?;
        if value % divisor != 0 {
            return None;
        }
        value /= divisor;
    }
    Some(if negative { -value } else { value })
}

/// The key list items of `field` are matched by, if they have one: all items are maps with a
/// unique scalar value under it.
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    let api_key;
    let candidates: &[&'static str] = match (field, helmrelease_patch::api_merge_key(field)) {
        // Container ports, then Service ports; 53/TCP and 53/UDP fall through to `name`.
        ("ports", _) => &["containerPort", "port", "name"],
        (_, Some(key)) => {
            api_key = [key];
            &api_key
        }
        ("readinessGates", None) => &["conditionType"],
        _ if items.is_empty() => &[],
        // Any list whose items all have a unique name.
        _ => &["name"],
    };
    if items.is_empty() {
        return candidates.first().copied();
    }
    candidates.iter().copied().find(|key| {
        let ids: Option<Vec<&Value>> = items
            .iter()
            .map(|item| item.get(key).filter(|id| is_scalar(id) && !id.is_null()))
            .collect();
        ids.is_some_and(|ids| {
            ids.iter()
                .enumerate()
                .all(|(i, a)| ids[..i].iter().all(|b| !same_scalar(a, b)))
        })
    })
}

/// Escapes path tokens into an RFC 6901 pointer.
fn to_pointer(path: &[String]) -> String {
    path.iter()
        .map(|token| format!("/{}", token.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Splits an RFC 6901 pointer into unescaped tokens; `""` is the whole object.
fn parse_pointer(pointer: &str) -> Result<Vec<String>> {
    let invalid = |reason: &str| Error::Pointer {
        pointer: pointer.to_string(),
        reason: reason.to_string(),
    };
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(invalid("must be empty or start with '/'"));
    };
    rest.split('/')
        .map(|token| {
            let mut out = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => out.push('~'),
                    Some('1') => out.push('/'),
                    _ => return Err(invalid("'~' must be followed by '0' or '1'")),
                }
            }
            Ok(out)
        })
        .collect()
}

/// An ignore rule, parsed.
struct Rule {
    pointers: Vec<Vec<String>>,
    target: Option<Target>,
}

fn compile_rules(rules: &[IgnoreRule]) -> Result<Vec<Rule>> {
    rules
        .iter()
        .map(|rule| {
            Ok(Rule {
                pointers: rule
                    .paths
                    .iter()
                    .map(|p| parse_pointer(p))
                    .collect::<Result<_>>()?,
                target: rule.target.as_ref().map(Target::compile).transpose()?,
            })
        })
        .collect()
}

/// A kustomize-style object selector (Flux's ignore-rule and post-renderer `target`), compiled
/// once: group, version and kind exact, name and namespace as anchored regular expressions,
/// label and annotation selectors.
#[derive(Debug)]
pub struct CompiledSelector(Target);

impl CompiledSelector {
    /// Compiles a selector; invalid regular expressions or selectors are errors.
    pub fn compile(selector: &Selector) -> Result<CompiledSelector> {
        Target::compile(selector).map(CompiledSelector)
    }

    /// Whether `object` matches; objects without a namespace are taken to be in `namespace`.
    pub fn matches(&self, object: &Value, namespace: &str) -> bool {
        self.0
            .matches(&ObjectKey::of(object).in_namespace(namespace), object)
    }
}

/// A rule's target, parsed. Unset and empty fields match anything, except `group: ""`, which
/// is the core group.
#[derive(Debug)]
struct Target {
    group: Option<String>,
    version: Option<String>,
    kind: Option<String>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
}

impl Target {
    fn compile(target: &Selector) -> Result<Target> {
        let given = |field: &Option<String>| field.clone().filter(|s| !s.is_empty());
        let regex = |field: &Option<String>| {
            given(field)
                .map(|re| {
                    // Anchored like kustomize: the whole name must match.
                    Regex::new(&format!("^(?:{re})$")).map_err(|e| Error::Selector {
                        selector: re,
                        reason: e.to_string(),
                    })
                })
                .transpose()
        };
        let selector = |field: &Option<String>| {
            given(field)
                .map(|text| {
                    LabelSelector::parse(&text).map_err(|reason| Error::Selector {
                        selector: text,
                        reason,
                    })
                })
                .transpose()
        };
        Ok(Target {
            group: target.group.clone(),
            version: given(&target.version),
            kind: given(&target.kind),
            name: regex(&target.name)?,
            namespace: regex(&target.namespace)?,
            labels: selector(&target.label_selector)?,
            annotations: selector(&target.annotation_selector)?,
        })
    }

    fn matches(&self, key: &ObjectKey, object: &Value) -> bool {
        let version = key
            .api_version
            .rsplit_once('/')
            .map_or(key.api_version.as_str(), |(_, version)| version);
        let metadata = |field: &str| -> BTreeMap<&str, &str> {
            object
                .get("metadata")
                .and_then(|m| m.get(field))
                .and_then(Value::as_object)
                .map(|map| {
                    map.iter()
                        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        self.group.as_deref().is_none_or(|g| g == key.group())
            && self.version.as_deref().is_none_or(|v| v == version)
            && self.kind.as_deref().is_none_or(|k| k == key.kind)
            && self.name.as_ref().is_none_or(|re| re.is_match(&key.name))
            && self
                .namespace
                .as_ref()
                .is_none_or(|re| re.is_match(&key.namespace))
            && self
                .labels
                .as_ref()
                .is_none_or(|s| s.matches(&metadata("labels")))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(&metadata("annotations")))
    }
}

/// A Kubernetes label selector in its string form: `a=b,c!=d,e in (x,y),f notin (z),g,!h`
/// (`==` is `=`). Also used for annotations.
#[derive(Debug)]
struct LabelSelector(Vec<Requirement>);

#[derive(Debug)]
struct Requirement {
    key: String,
    op: Op,
}

#[derive(Debug)]
enum Op {
    Exists,
    NotExists,
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
}

impl LabelSelector {
    fn parse(text: &str) -> std::result::Result<LabelSelector, String> {
        let mut parser = Parser { rest: text };
        let mut requirements = Vec::new();
        if text.trim().is_empty() {
            return Ok(LabelSelector(requirements));
        }
        loop {
            requirements.push(parser.requirement()?);
            parser.skip_space();
            if parser.rest.is_empty() {
                return Ok(LabelSelector(requirements));
            }
            if !parser.eat(",") {
                return Err(format!("expected ',' at {:?}", parser.rest));
            }
        }
    }

    fn matches(&self, labels: &BTreeMap<&str, &str>) -> bool {
        self.0.iter().all(|requirement| {
            let value = labels.get(requirement.key.as_str()).copied();
            match &requirement.op {
                Op::Exists => value.is_some(),
                Op::NotExists => value.is_none(),
                Op::Equals(v) => value == Some(v.as_str()),
                // As in Kubernetes, `!=` and `notin` also match objects without the label.
                Op::NotEquals(v) => value != Some(v.as_str()),
                Op::In(values) => value.is_some_and(|x| values.iter().any(|v| v == x)),
                Op::NotIn(values) => value.is_none_or(|x| values.iter().all(|v| v != x)),
            }
        })
    }
}

struct Parser<'t> {
    rest: &'t str,
}

impl<'t> Parser<'t> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// Up to whitespace or an operator character.
    fn word(&mut self) -> &'t str {
        self.skip_space();
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || "=!,()".contains(c))
            .unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        word
    }

    fn key(&mut self) -> std::result::Result<String, String> {
        let key = self.word();
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        let ok = match key.split_once('/') {
            Some((prefix, name)) => valid(prefix) && valid(name),
            None => valid(key),
        };
        if ok {
            Ok(key.to_string())
        } else if key.is_empty() {
            Err(format!("expected a key at {:?}", self.rest))
        } else {
            Err(format!("invalid key {key:?}"))
        }
    }

    fn requirement(&mut self) -> std::result::Result<Requirement, String> {
        if self.eat("!") {
            let key = self.key()?;
            return Ok(Requirement {
                key,
                op: Op::NotExists,
            });
        }
        let key = self.key()?;
        let op = if self.eat("==") || self.eat("=") {
            Op::Equals(self.word().to_string())
        } else if self.eat("!=") {
            Op::NotEquals(self.word().to_string())
        } else {
            self.skip_space();
            if self.rest.is_empty() || self.rest.starts_with(',') {
                Op::Exists
            } else {
                match self.word() {
                    "in" => Op::In(self.set()?),
                    "notin" => Op::NotIn(self.set()?),
                    other => return Err(format!("unknown operator {other:?} after {key:?}")),
                }
            }
        };
        Ok(Requirement { key, op })
    }

    /// `(a, b)`: at least one value.
    fn set(&mut self) -> std::result::Result<Vec<String>, String> {
        if !self.eat("(") {
            return Err(format!("expected '(' at {:?}", self.rest));
        }
        let mut values = Vec::new();
        loop {
            values.push(self.word().to_string());
            if self.eat(")") {
                break;
            }
            if !self.eat(",") {
                return Err(format!("expected ',' or ')' at {:?}", self.rest));
            }
        }
        if values.len() == 1 && values[0].is_empty() {
            return Err("a set needs at least one value".into());
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
                    "spec": {
                        "hostNetwork": false,
                        "containers": [
                            {
                                "name": "app",
                                "image": "web:1",
                                "args": ["serve", "--port=80"],
                                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                                "ports": [{"containerPort": 80, "name": "http"}],
                                "resources": {}
                            },
                            {"name": "sidecar", "image": "proxy:1"}
                        ]
                    }
                }
            }
        })
    }

    /// `desired` as the API server returns it: defaults, server metadata, Helm metadata, status.
    fn live_of(desired: &Value) -> Value {
        let mut live = desired.clone();
        let meta = &mut live["metadata"];
        meta["namespace"] = json!("apps");
        meta["uid"] = json!("0c4b");
        meta["resourceVersion"] = json!("42");
        meta["generation"] = json!(2);
        meta["creationTimestamp"] = json!("2025-01-01T00:00:00Z");
        meta["managedFields"] = json!([{"manager": "helm"}]);
        meta["labels"]["app.kubernetes.io/managed-by"] = json!("Helm");
        meta["annotations"] = json!({
            "meta.helm.sh/release-name": "web",
            "meta.helm.sh/release-namespace": "apps",
            "deployment.kubernetes.io/revision": "2"
        });
        live["status"] = json!({"replicas": 3});
        if live["kind"] == "Deployment" {
            live["spec"]["strategy"] = json!({"type": "RollingUpdate"});
            live["spec"]["progressDeadlineSeconds"] = json!(600);
            let pod = &mut live["spec"]["template"]["spec"];
            pod.as_object_mut().unwrap().remove("hostNetwork");
            pod["restartPolicy"] = json!("Always");
            for container in pod["containers"].as_array_mut().unwrap() {
                container["imagePullPolicy"] = json!("IfNotPresent");
                container["terminationMessagePath"] = json!("/dev/termination-log");
                container.as_object_mut().unwrap().remove("resources");
            }
            pod["containers"][0]["ports"][0]["protocol"] = json!("TCP");
        }
        live
    }

    fn run(desired: &[Value], live: &[Value], options: &DriftOptions<'_>) -> Result<DriftReport> {
        let index: HashMap<ObjectKey, Value> =
            live.iter().map(|v| (ObjectKey::of(v), v.clone())).collect();
        detect(desired, &|key| index.get(key), options)
    }

    fn check(desired: Value, live: Value) -> DriftReport {
        run(&[desired], &[live], &DriftOptions::new("apps")).unwrap()
    }

    fn paths(report: &DriftReport) -> Vec<&str> {
        report
            .objects
            .iter()
            .flat_map(|o| o.fields.iter().map(|f| f.path.as_str()))
            .collect()
    }

    fn rule(paths: &[&str], target: Option<Selector>) -> IgnoreRule {
        IgnoreRule {
            paths: paths.iter().map(|p| p.to_string()).collect(),
            target,
        }
    }

    #[test]
    fn defaulted_server_and_helm_fields_are_not_drift() {
        let report = check(deployment(), live_of(&deployment()));
        assert!(report.is_empty(), "{report}");
        assert_eq!(report.in_sync, 1);
        assert_eq!(
            report.summary(),
            "0 drifted (0 missing, 0 modified), 1 in sync, 0 skipped"
        );
    }

    #[test]
    fn changed_replicas_is_drift() {
        let mut live = live_of(&deployment());
        live["spec"]["replicas"] = json!(5);
        let report = check(deployment(), live);
        assert_eq!(
            report.objects,
            vec![ObjectDrift {
                key: ObjectKey {
                    api_version: "apps/v1".into(),
                    kind: "Deployment".into(),
                    namespace: "apps".into(),
                    name: "web".into(),
                },
                state: DriftState::Modified,
                fields: vec![FieldDrift {
                    path: "/spec/replicas".into(),
                    desired: Some(json!(3)),
                    live: Some(json!(5)),
                    masked: false,
                }],
            }]
        );
        assert_eq!(
            report.to_string(),
            "Deployment apps/web (apps/v1): modified\n  /spec/replicas: desired 3, live 5\n\
             1 drifted (0 missing, 1 modified), 0 in sync, 0 skipped"
        );
    }

    #[test]
    fn missing_object() {
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}});
        let report = run(
            &[deployment(), service],
            &[live_of(&deployment())],
            &DriftOptions::new("apps"),
        )
        .unwrap();
        assert_eq!(report.objects.len(), 1);
        assert_eq!(report.objects[0].state, DriftState::Missing);
        assert_eq!(report.objects[0].key.kind, "Service");
        assert_eq!(report.objects[0].key.namespace, "apps");
        assert!(report.objects[0].fields.is_empty());
        assert_eq!(
            report.summary(),
            "1 drifted (1 missing, 0 modified), 1 in sync, 0 skipped"
        );
    }

    #[test]
    fn containers_match_by_name_whatever_the_order() {
        let mut live = live_of(&deployment());
        live["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .reverse();
        assert!(check(deployment(), live.clone()).is_empty());

        live["spec"]["template"]["spec"]["containers"][1]["image"] = json!("web:2");
        let report = check(deployment(), live);
        assert_eq!(paths(&report), ["/spec/template/spec/containers/0/image"]);
        assert_eq!(report.objects[0].fields[0].live, Some(json!("web:2")));
    }

    #[test]
    fn missing_container_and_changed_env() {
        let mut live = live_of(&deployment());
        let containers = &mut live["spec"]["template"]["spec"]["containers"];
        containers[0]["env"][1]["value"] = json!("3");
        // An env var someone else added is not drift.
        containers[0]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "C", "value": "x"}));
        containers.as_array_mut().unwrap().pop();
        let report = check(deployment(), live);
        assert_eq!(
            paths(&report),
            [
                "/spec/template/spec/containers/0/env/1/value",
                "/spec/template/spec/containers/1",
            ]
        );
        let fields = &report.objects[0].fields;
        assert_eq!(
            (&fields[0].desired, &fields[0].live),
            (&Some(json!("2")), &Some(json!("3")))
        );
        assert_eq!(
            (&fields[1].desired, &fields[1].live),
            (&Some(json!({"name": "sidecar", "image": "proxy:1"})), &None)
        );
    }

    #[test]
    fn list_length_change_is_drift_of_the_list() {
        let mut live = live_of(&deployment());
        live["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array_mut()
            .unwrap()
            .push(json!("--debug"));
        let report = check(deployment(), live);
        assert_eq!(report.objects[0].fields.len(), 1);
        let field = &report.objects[0].fields[0];
        assert_eq!(field.path, "/spec/template/spec/containers/0/args");
        assert_eq!(field.desired, Some(json!(["serve", "--port=80"])));
        assert_eq!(field.live, Some(json!(["serve", "--port=80", "--debug"])));
    }

    #[test]
    fn finalizers_compare_as_a_set() {
        let mut desired = deployment();
        desired["metadata"]["finalizers"] = json!(["a"]);
        let mut live = live_of(&desired);
        live["metadata"]["finalizers"] = json!(["b", "a"]);
        assert!(check(desired.clone(), live.clone()).is_empty());
        live["metadata"]["finalizers"] = json!(["b"]);
        assert_eq!(paths(&check(desired, live)), ["/metadata/finalizers/0"]);
    }

    #[test]
    fn helm_labels_and_annotations_are_ignored_both_ways() {
        let mut desired = deployment();
        desired["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("Helm");
        desired["metadata"]["annotations"] = json!({"meta.helm.sh/release-name": "web"});
        let mut live = live_of(&deployment());
        live["metadata"]["labels"] = json!({"app": "web"});
        live["metadata"]["annotations"] = json!({
            "kubectl.kubernetes.io/last-applied-configuration": "{}"
        });
        assert!(check(desired, live).is_empty());
    }

    #[test]
    fn status_and_server_metadata_are_ignored() {
        let mut desired = deployment();
        desired["status"] = json!({"replicas": 1});
        desired["metadata"]["resourceVersion"] = json!("1");
        let live = live_of(&deployment());
        assert!(check(desired, live).is_empty());
    }

    #[test]
    fn zero_values_equal_absent_fields() {
        // hostNetwork: false and resources: {} are not stored by Kubernetes (see live_of).
        let mut desired = deployment();
        desired["spec"]["template"]["spec"]["dnsConfig"] = json!({"options": []});
        assert!(check(desired.clone(), live_of(&deployment())).is_empty());
        desired["spec"]["template"]["spec"]["hostNetwork"] = json!(true);
        let report = check(desired, live_of(&deployment()));
        assert_eq!(paths(&report), ["/spec/template/spec/hostNetwork"]);
        assert_eq!(report.objects[0].fields[0].live, None);
    }

    #[test]
    fn drift_detection_disabled_skips_the_object() {
        let mut labelled = deployment();
        labelled["metadata"]["labels"][DRIFT_DETECTION_KEY] = json!("disabled");
        let mut live = live_of(&labelled);
        live["spec"]["replicas"] = json!(9);
        let report = check(labelled.clone(), live);
        assert!(report.is_empty());
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.in_sync, 0);

        // Annotated on the live object only.
        let mut live = live_of(&deployment());
        live["spec"]["replicas"] = json!(9);
        live["metadata"]["annotations"][DRIFT_DETECTION_KEY] = json!("disabled");
        let report = check(deployment(), live);
        assert!(report.is_empty());
        assert_eq!(report.skipped[0].name, "web");

        // Missing but disabled: skipped, not missing.
        let report = run(&[labelled], &[], &DriftOptions::new("apps")).unwrap();
        assert!(report.is_empty());
        assert_eq!(
            report.summary(),
            "0 drifted (0 missing, 0 modified), 0 in sync, 1 skipped"
        );
    }

    #[test]
    fn ignore_rule_without_target() {
        let mut live = live_of(&deployment());
        live["spec"]["replicas"] = json!(5);
        live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2");
        let rules = [rule(
            &["/spec/replicas", "/spec/template/spec/containers/0/image"],
            None,
        )];
        let options = DriftOptions {
            ignore: &rules,
            ..DriftOptions::new("apps")
        };
        let report = run(&[deployment()], &[live], &options).unwrap();
        assert!(report.is_empty(), "{report}");
        assert_eq!(report.in_sync, 1);
    }

    #[test]
    fn ignore_rule_targets() {
        let mut live = live_of(&deployment());
        live["spec"]["replicas"] = json!(5);
        let drifted = |target: Selector| {
            let rules = [rule(&["/spec/replicas"], Some(target))];
            let options = DriftOptions {
                ignore: &rules,
                ..DriftOptions::new("apps")
            };
            !run(&[deployment()], &[live.clone()], &options)
                .unwrap()
                .is_empty()
        };
        let kind = |kind: &str| Selector {
            kind: Some(kind.into()),
            ..Selector::default()
        };
        assert!(!drifted(kind("Deployment")));
        assert!(drifted(kind("StatefulSet")));
        assert!(!drifted(Selector {
            group: Some("apps".into()),
            version: Some("v1".into()),
            ..kind("Deployment")
        }));
        // "" is the core group, not "any".
        assert!(drifted(Selector {
            group: Some(String::new()),
            ..kind("Deployment")
        }));
        let name = |re: &str| Selector {
            name: Some(re.into()),
            ..Selector::default()
        };
        assert!(!drifted(name("w.b")));
        assert!(!drifted(name("web|api")));
        // Anchored: a partial match is no match.
        assert!(drifted(name("we")));
        assert!(!drifted(Selector {
            namespace: Some("app.*".into()),
            ..Selector::default()
        }));
        let labels = |selector: &str| Selector {
            label_selector: Some(selector.into()),
            ..Selector::default()
        };
        assert!(!drifted(labels("app=web")));
        assert!(!drifted(labels("app in (api, web),!legacy,tier!=db")));
        assert!(drifted(labels("app=api")));
        assert!(drifted(labels("app,legacy")));
        assert!(drifted(labels("app notin (web)")));
        assert!(!drifted(Selector {
            annotation_selector: Some("team notin (x)".into()),
            ..Selector::default()
        }));
    }

    #[test]
    fn pointer_escapes() {
        let annotated = |value: &str| {
            let mut object = deployment();
            object["metadata"]["annotations"] = json!({"example.com/a~b": value});
            object
        };
        let mut live = live_of(&annotated("2"));
        live["metadata"]["annotations"]["example.com/a~b"] = json!("2");
        let report = check(annotated("1"), live.clone());
        assert_eq!(paths(&report), ["/metadata/annotations/example.com~1a~0b"]);

        let rules = [rule(&["/metadata/annotations/example.com~1a~0b"], None)];
        let options = DriftOptions {
            ignore: &rules,
            ..DriftOptions::new("apps")
        };
        assert!(
            run(&[annotated("1")], &[live], &options)
                .unwrap()
                .is_empty()
        );
        assert_eq!(parse_pointer("/a~01/~1b/").unwrap(), ["a~1", "/b", ""]);
        assert!(parse_pointer("").unwrap().is_empty());
    }

    #[test]
    fn invalid_pointer() {
        for pointer in ["spec/replicas", "/spec/a~2", "/spec/a~"] {
            let rules = [rule(&[pointer], None)];
            let options = DriftOptions {
                ignore: &rules,
                ..DriftOptions::new("apps")
            };
            let err = run(&[], &[], &options).unwrap_err();
            assert!(
                matches!(&err, Error::Pointer { pointer: p, .. } if p == pointer),
                "{err}"
            );
            assert!(check_ignore_rules(&rules).is_err());
        }
    }

    #[test]
    fn invalid_selector() {
        let bad = [
            Selector {
                name: Some("web(".into()),
                ..Selector::default()
            },
            Selector {
                namespace: Some("[".into()),
                ..Selector::default()
            },
            Selector {
                label_selector: Some("app in (web".into()),
                ..Selector::default()
            },
            Selector {
                label_selector: Some("app in ()".into()),
                ..Selector::default()
            },
            Selector {
                label_selector: Some("app>1".into()),
                ..Selector::default()
            },
            Selector {
                label_selector: Some("a=b c".into()),
                ..Selector::default()
            },
            Selector {
                annotation_selector: Some("a,,b".into()),
                ..Selector::default()
            },
            Selector {
                label_selector: Some("app within (x)".into()),
                ..Selector::default()
            },
        ];
        for target in bad {
            let rules = [rule(&["/spec"], Some(target.clone()))];
            let err = check_ignore_rules(&rules).unwrap_err();
            assert!(matches!(err, Error::Selector { .. }), "{target:?}: {err}");
        }
    }

    #[test]
    fn label_selector_syntax() {
        let labels: BTreeMap<&str, &str> = [("a", "b"), ("e", "x"), ("g", "")].into();
        let matches = |text: &str| LabelSelector::parse(text).unwrap().matches(&labels);
        assert!(matches("a=b,c!=d,e in (x,y),!f,g"));
        assert!(matches(" a == b , e notin (y) , example.com/h notin (z) "));
        assert!(matches("g="));
        assert!(matches(""));
        assert!(!matches("a!=b"));
        assert!(!matches("!a"));
        assert!(!matches("c"));
        assert!(!matches("c in (d)"));
    }

    fn secret(string_data: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "type": "Opaque",
            "stringData": string_data
        })
    }

    fn live_secret(data: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "apps"},
            "type": "Opaque",
            "data": data
        })
    }

    #[test]
    fn secret_string_data_equals_live_base64_data() {
        let desired = secret(json!({"password": "hunter2"}));
        // "hunter2"
        let live = live_secret(json!({"password": "aHVudGVyMg==", "extra": "eA=="}));
        assert!(check(desired, live).is_empty());

        // `data` with a YAML block's line break, overridden key by key by stringData.
        let mut desired = secret(json!({"user": "admin"}));
        desired["data"] = json!({"password": "aHVudGVyMg==\n", "user": "cm9vdA=="});
        let live = live_secret(json!({"password": "aHVudGVyMg==", "user": "YWRtaW4="}));
        assert!(check(desired, live).is_empty());
    }

    #[test]
    fn secret_values_are_masked() {
        let desired = secret(json!({"password": "hunter2", "token": "t0ken"}));
        // "sw0rdfish"; token absent.
        let live = live_secret(json!({"password": "c3cwcmRmaXNo"}));
        let report = check(desired.clone(), live.clone());
        assert_eq!(paths(&report), ["/data/password", "/data/token"]);
        let fields = &report.objects[0].fields;
        assert!(fields.iter().all(|f| f.masked));
        assert_eq!(fields[0].desired, Some(json!(MASK)));
        assert_eq!(fields[1].live, None);
        let shown = format!(
            "{report:?}{report}{}",
            serde_json::to_string(&report).unwrap()
        );
        for secret in [
            "hunter2",
            "aHVudGVy",
            "sw0rdfish",
            "c3cwcmRmaXNo",
            "t0ken",
            "dDBrZW4",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }

        // A live Secret without data: the keys show, the values do not.
        let report = check(desired.clone(), live_secret(Value::Null));
        assert_eq!(paths(&report), ["/data"]);
        assert_eq!(
            report.objects[0].fields[0].desired,
            Some(json!({"password": MASK, "token": MASK}))
        );

        let options = DriftOptions {
            show_secrets: true,
            ..DriftOptions::new("apps")
        };
        let report = run(&[desired], &[live], &options).unwrap();
        let field = &report.objects[0].fields[0];
        assert!(!field.masked);
        assert_eq!(field.desired, Some(json!("aHVudGVyMg==")));
        assert_eq!(field.live, Some(json!("c3cwcmRmaXNo")));
    }

    #[test]
    fn ignore_rules_on_string_data() {
        let desired = secret(json!({"password": "hunter2", "token": "t0ken"}));
        let live = live_secret(json!({"password": "c3cwcmRmaXNo", "token": "eA=="}));
        let rules = [rule(&["/stringData/password", "/data/token"], None)];
        let options = DriftOptions {
            ignore: &rules,
            ..DriftOptions::new("apps")
        };
        assert!(run(&[desired], &[live], &options).unwrap().is_empty());
    }

    #[test]
    fn cluster_scoped_kinds_have_no_namespace() {
        assert!(is_cluster_scoped(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole"
        ));
        assert!(is_cluster_scoped("v1", "Namespace"));
        assert!(is_cluster_scoped(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition"
        ));
        assert!(!is_cluster_scoped("rbac.authorization.k8s.io/v1", "Role"));
        assert!(!is_cluster_scoped("example.com/v1", "ClusterRole"));

        let role = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            // The API server drops a namespace on a cluster-scoped object.
            "metadata": {"name": "reader", "namespace": "apps"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
        });
        let widget =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        let gadget =
            json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}});
        let scope = |api_version: &str, kind: &str| {
            (api_version.starts_with("example.com/")).then_some(kind == "Widget")
        };
        let options = DriftOptions {
            scope: Some(&scope),
            ..DriftOptions::new("apps")
        };
        let keys = options.keys(&[role.clone(), widget.clone(), gadget.clone(), deployment()]);
        let namespaces: Vec<(&str, &str)> = keys
            .iter()
            .map(|k| (k.kind.as_str(), k.namespace.as_str()))
            .collect();
        assert_eq!(
            namespaces,
            // Sorted by apiVersion first.
            [
                ("Deployment", "apps"),
                ("Gadget", "apps"),
                ("Widget", ""),
                ("ClusterRole", "")
            ]
        );

        let mut live_role = role.clone();
        live_role["metadata"] = json!({"name": "reader", "uid": "1"});
        let live_widget =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        let report = run(&[role, widget], &[live_role, live_widget], &options).unwrap();
        assert!(report.is_empty(), "{report}");
        assert_eq!(report.in_sync, 2);
    }

    #[test]
    fn lists_are_flattened() {
        let list = json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": [deployment(), {"apiVersion": "v1", "kind": "ConfigMap"}]
        });
        let report = run(
            &[list],
            &[live_of(&deployment())],
            &DriftOptions::new("apps"),
        )
        .unwrap();
        assert_eq!(report.in_sync, 1);
        // The nameless ConfigMap cannot be looked up.
        assert_eq!(report.skipped.len(), 1);
    }

    #[test]
    fn quantities_compare_by_value_where_kubernetes_canonicalises_them() {
        for (a, b) in [
            (json!("500m"), json!(0.5)),
            (json!("1"), json!("1000m")),
            (json!(2), json!("2")),
            (json!("1Gi"), json!("1024Mi")),
            (json!("1.5Gi"), json!("1536Mi")),
            (json!("100Mi"), json!(104857600)),
            (json!("1e3"), json!("1k")),
            (json!("0.1"), json!("100m")),
            (json!("-1"), json!("-1000m")),
            (json!("1E-9"), json!("1n")),
        ] {
            assert!(same_quantity(&a, &b), "{a} == {b}");
        }
        for (a, b) in [
            (json!("1G"), json!("1Gi")),
            (json!("1"), json!("1.1")),
            (json!("abc"), json!("abc")),
            (json!("0.1n"), json!("0.1n")),
            (json!("1Zi"), json!("1Zi")),
            (json!(""), json!("")),
            (json!("."), json!(".")),
        ] {
            assert!(!same_quantity(&a, &b), "{a} != {b}");
        }
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(quantity_field(&path(&[
            "spec",
            "template",
            "spec",
            "containers",
            "0",
            "resources",
            "limits",
            "cpu"
        ])));
        assert!(quantity_field(&path(&["spec", "hard", "pods"])));
        assert!(quantity_field(&path(&[
            "spec",
            "volumes",
            "0",
            "emptyDir",
            "sizeLimit"
        ])));
        assert!(!quantity_field(&path(&["spec", "replicas"])));
        assert!(!quantity_field(&path(&["data", "limits"])));
    }

    #[test]
    fn live_resources_in_canonical_form_are_not_drift() {
        let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"template": {"spec": {"containers": [{"name": "app",
                "resources": {"requests": {"cpu": 0.5, "memory": "1024Mi"},
                              "limits": {"cpu": 2, "memory": "2Gi"}}}]}}}});
        let mut live = desired.clone();
        live["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "3Gi"}});
        let report = check(desired, live);
        assert_eq!(
            paths(&report),
            ["/spec/template/spec/containers/0/resources/limits/memory"]
        );
    }

    #[test]
    fn missing_helm_ownership_metadata_is_drift_when_the_release_is_known() {
        let options = DriftOptions {
            release_name: Some("web"),
            ..DriftOptions::new("apps")
        };
        let run_with = |live: Value| run(&[deployment()], &[live], &options).unwrap_or_default();
        // live_of adds what Helm adds on install.
        assert!(run_with(live_of(&deployment())).is_empty());
        let mut live = live_of(&deployment());
        live["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("app.kubernetes.io/managed-by");
        live["metadata"]["annotations"]["meta.helm.sh/release-name"] = json!("other");
        let report = run_with(live.clone());
        assert_eq!(
            paths(&report),
            [
                "/metadata/annotations/meta.helm.sh~1release-name",
                "/metadata/labels/app.kubernetes.io~1managed-by"
            ]
        );
        assert_eq!(report.objects[0].fields[0].live, Some(json!("other")));
        assert_eq!(report.objects[0].fields[1].live, None);
        // Without the release name (as before), and with an ignore rule, it is not compared.
        assert!(
            run(&[deployment()], &[live.clone()], &DriftOptions::new("apps"))
                .unwrap()
                .is_empty()
        );
        let ignore = [IgnoreRule {
            paths: vec![
                "/metadata/labels/app.kubernetes.io~1managed-by".into(),
                "/metadata/annotations/meta.helm.sh~1release-name".into(),
            ],
            target: None,
        }];
        let options = DriftOptions {
            release_name: Some("web"),
            ignore: &ignore,
            ..DriftOptions::new("apps")
        };
        assert!(run(&[deployment()], &[live], &options).unwrap().is_empty());
    }

    #[test]
    fn numbers_compare_by_value() {
        let mut desired = deployment();
        desired["spec"]["replicas"] = json!(1);
        let mut live = live_of(&desired);
        live["spec"]["replicas"] = json!(1.0);
        assert!(check(desired.clone(), live.clone()).is_empty());
        live["spec"]["replicas"] = json!(2.0);
        assert_eq!(
            paths(&check(desired.clone(), live.clone())),
            ["/spec/replicas"]
        );
        live["spec"]["replicas"] = json!("1");
        assert_eq!(paths(&check(desired, live)), ["/spec/replicas"]);
        assert!(!same_scalar(&json!(u64::MAX), &json!(-1)));
        assert!(same_scalar(&json!(u64::MAX), &json!(u64::MAX)));
    }

    #[test]
    fn ports_match_by_container_port_then_name() {
        let mut desired = deployment();
        desired["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([
            {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"},
            {"containerPort": 53, "protocol": "UDP", "name": "dns-udp"}
        ]);
        let mut live = live_of(&desired);
        live["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([
            {"containerPort": 53, "protocol": "UDP", "name": "dns-udp"},
            {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}
        ]);
        assert!(check(desired, live).is_empty());
    }

    #[test]
    fn report_json_schema() {
        let mut live = live_of(&deployment());
        live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2");
        let report = check(deployment(), live);
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            json!({
                "objects": [{
                    "key": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "apps", "name": "web"},
                    "state": "modified",
                    "fields": [{
                        "path": "/spec/template/spec/containers/0/image",
                        "desired": "web:1",
                        "live": "web:2"
                    }]
                }],
                "skipped": [],
                "inSync": 0
            })
        );
    }

    #[test]
    fn paths_sort_numerically() {
        let path = |p: &str| parse_pointer(p).unwrap();
        let mut paths = [path("/a/10"), path("/a/2/b"), path("/a/2"), path("/b")];
        paths.sort_by(|a, b| compare_paths(a, b));
        assert_eq!(
            paths,
            [path("/a/2"), path("/a/2/b"), path("/a/10"), path("/b")]
        );
    }
}
