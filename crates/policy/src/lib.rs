//! Policy rules for Flux HelmReleases and their sources (DESIGN.md section 5), evaluated as pure
//! functions: an object, the operation, the old object and a read-only [`SourceView`] in; the
//! violations, warnings and the JSON Patch of the mutation out. The webhook, `kubectl
//! helmrelease check` and `audit` all call [`evaluate`], so they agree word for word.
//!
//! Objects are read as JSON rather than typed structs so every apiVersion found in real
//! repositories (`v2`, `v2beta2`, `v2beta1`) is read by the same code, and field paths in
//! messages are the paths users write.

pub mod fixtures;
pub mod prune;
mod rules;
pub mod settings;
pub mod sources;
pub mod version;

pub use helmrelease_crds::policy::Action;
pub use settings::{PolicySet, Settings};
pub use sources::{Lookups, NoLookups, ObjectIndex, OciRef, SourceView};

use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// The annotation that protects a HelmRelease from deletion.
pub const DELETION_PROTECTION_ANNOTATION: &str = "helmrelease.dev/deletion-protection";

/// The rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum RuleId {
    /// Chart versions are one exact SemVer version.
    PinnedVersion,
    /// OCIRepositories pin a digest or a fixed tag.
    PinnedOciRef,
    /// Source references name their namespace.
    ExplicitSourceNamespace,
    /// Cross-namespace references only to listed namespaces.
    AllowedSourceNamespaces,
    /// `spec.upgrade.cleanupOnFail: true`.
    CleanupOnFail,
    /// Install and upgrade remediation retries of at least 1.
    RemediationRetries,
    /// `spec.maxHistory` between 1 and a limit.
    MaxHistory,
    /// Protected HelmReleases cannot be deleted.
    DeletionProtection,
}

impl RuleId {
    /// Every rule, in the order of DESIGN.md.
    pub const ALL: [RuleId; 8] = [
        RuleId::PinnedVersion,
        RuleId::PinnedOciRef,
        RuleId::ExplicitSourceNamespace,
        RuleId::AllowedSourceNamespaces,
        RuleId::CleanupOnFail,
        RuleId::RemediationRetries,
        RuleId::MaxHistory,
        RuleId::DeletionProtection,
    ];

    /// The rule's ID as users see it, e.g. `pinned-version`.
    pub fn id(self) -> &'static str {
        match self {
            RuleId::PinnedVersion => "pinned-version",
            RuleId::PinnedOciRef => "pinned-oci-ref",
            RuleId::ExplicitSourceNamespace => "explicit-source-namespace",
            RuleId::AllowedSourceNamespaces => "allowed-source-namespaces",
            RuleId::CleanupOnFail => "cleanup-on-fail",
            RuleId::RemediationRetries => "remediation-retries",
            RuleId::MaxHistory => "max-history",
            RuleId::DeletionProtection => "deletion-protection",
        }
    }

    /// Parses a rule ID.
    pub fn parse(id: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The built-in action.
    pub fn default_action(self) -> Action {
        match self {
            RuleId::PinnedVersion
            | RuleId::PinnedOciRef
            | RuleId::ExplicitSourceNamespace
            | RuleId::DeletionProtection => Action::Enforce,
            RuleId::CleanupOnFail | RuleId::RemediationRetries | RuleId::MaxHistory => Action::Warn,
            RuleId::AllowedSourceNamespaces => Action::Off,
        }
    }
}

impl From<RuleId> for &'static str {
    fn from(rule: RuleId) -> Self {
        rule.id()
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A rule's finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The rule.
    pub rule: RuleId,
    /// Field path, e.g. `spec.chart.spec.version`.
    pub path: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
    /// What the policy does about it.
    #[serde(serialize_with = "serialize_action")]
    pub action: Action,
    /// On UPDATE, the old object already had this violation: reported, never denied, so
    /// controllers can still update objects admitted before the policy.
    pub preexisting: bool,
}

fn serialize_action<S: serde::Serializer>(action: &Action, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match action {
        Action::Enforce => "Enforce",
        Action::Warn => "Warn",
        Action::Audit => "Audit",
        Action::Off => "Off",
    })
}

impl fmt::Display for Violation {
    /// `<rule-id>: <field.path>: <what is wrong>; <how to fix>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}; {}",
            self.rule, self.path, self.problem, self.fix
        )
    }
}

/// One JSON Patch (RFC 6902) operation of a mutation. Mutations only add unset fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchOp {
    /// Always `add`.
    pub op: &'static str,
    /// JSON pointer.
    pub path: String,
    /// Value added.
    pub value: Value,
}

/// The admission operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// CREATE.
    Create,
    /// UPDATE.
    Update,
    /// DELETE.
    Delete,
}

/// What to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The operation.
    pub operation: Operation,
    /// The new object (absent on DELETE).
    pub object: Option<&'a Value>,
    /// The old object (UPDATE and DELETE).
    pub old_object: Option<&'a Value>,
    /// The request namespace, used when the object has none.
    pub namespace: Option<&'a str>,
    /// Compute the mutation and judge the object as if it were applied.
    pub mutate: bool,
}

impl<'a> Request<'a> {
    /// A CREATE of `object`, judged as written (no mutation).
    pub fn create(object: &'a Value) -> Request<'a> {
        Request {
            operation: Operation::Create,
            object: Some(object),
            old_object: None,
            namespace: None,
            mutate: false,
        }
    }

    /// The same request, with the mutation computed and judged as applied.
    pub fn mutating(self, mutate: bool) -> Request<'a> {
        Request { mutate, ..self }
    }
}

/// The outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Findings of all rules that are not `Off`.
    pub violations: Vec<Violation>,
    /// Advice that is not a rule (deprecated API versions, ...).
    pub warnings: Vec<String>,
    /// The mutation, when asked for.
    pub patch: Vec<PatchOp>,
}

impl Evaluation {
    /// Violations that deny admission: `Enforce`, and not already present before an update.
    pub fn denials(&self) -> impl Iterator<Item = &Violation> {
        self.violations
            .iter()
            .filter(|v| v.action == Action::Enforce && !v.preexisting)
    }

    /// True when admission is denied.
    pub fn denied(&self) -> bool {
        self.denials().next().is_some()
    }

    /// The message of a denial: every denying violation, one per line.
    pub fn deny_message(&self) -> Option<String> {
        let lines: Vec<String> = self.denials().map(ToString::to_string).collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    /// Warnings for the AdmissionResponse: `Warn` violations, pre-existing `Enforce` ones, and
    /// the advice. `Audit` findings stay silent at admission.
    pub fn admission_warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .violations
            .iter()
            .filter(|v| v.action == Action::Warn || (v.action == Action::Enforce && v.preexisting))
            .map(|v| {
                if v.preexisting {
                    format!("{v} (already present before this update)")
                } else {
                    v.to_string()
                }
            })
            .collect();
        out.extend(self.warnings.iter().cloned());
        out
    }
}

/// The object could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not a kind the rules know.
    #[error("{api_version} {kind} is not a kind helmrelease policies apply to")]
    UnsupportedKind {
        /// apiVersion of the object.
        api_version: String,
        /// kind of the object.
        kind: String,
    },
    /// The request lacks the object the operation needs.
    #[error("the request has no {0}")]
    MissingObject(&'static str),
}

/// Kinds the rules apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `helm.toolkit.fluxcd.io` HelmRelease.
    HelmRelease,
    /// `source.toolkit.fluxcd.io` HelmChart.
    HelmChart,
    /// `source.toolkit.fluxcd.io` HelmRepository.
    HelmRepository,
    /// `source.toolkit.fluxcd.io` OCIRepository.
    OciRepository,
}

impl Kind {
    /// The kind of an object, from its apiVersion group and kind.
    pub fn of(object: &Value) -> Result<Kind, Error> {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let group = api_version
            .split_once('/')
            .map(|(g, _)| g)
            .unwrap_or_default();
        match (group, kind) {
            ("helm.toolkit.fluxcd.io", "HelmRelease") => Ok(Kind::HelmRelease),
            ("source.toolkit.fluxcd.io", "HelmChart") => Ok(Kind::HelmChart),
            ("source.toolkit.fluxcd.io", "HelmRepository") => Ok(Kind::HelmRepository),
            ("source.toolkit.fluxcd.io", "OCIRepository") => Ok(Kind::OciRepository),
            _ => Err(Error::UnsupportedKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            }),
        }
    }
}

/// Evaluates the rules in force for the object's namespace.
pub fn evaluate(
    request: &Request<'_>,
    policies: &PolicySet,
    sources: &dyn SourceView,
) -> Result<Evaluation, Error> {
    let subject = match request.operation {
        Operation::Delete => request
            .old_object
            .ok_or(Error::MissingObject("oldObject"))?,
        _ => request.object.ok_or(Error::MissingObject("object"))?,
    };
    let kind = Kind::of(subject)?;
    let namespace = subject
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .or(request.namespace)
        .unwrap_or("default");
    let settings = policies.settings_for(namespace, sources.namespace_labels(namespace).as_ref());
    if request.operation == Operation::Delete {
        return Ok(rules::on_delete(kind, subject, namespace, &settings));
    }
    let mut evaluation =
        rules::evaluate_object(kind, subject, namespace, &settings, sources, request.mutate);
    if request.operation == Operation::Update
        && let Some(old) = request.old_object
    {
        let before = rules::evaluate_object(kind, old, namespace, &settings, sources, false);
        for v in &mut evaluation.violations {
            v.preexisting = before
                .violations
                .iter()
                .any(|b| b.rule == v.rule && b.path == v.path && b.problem == v.problem);
        }
    }
    Ok(evaluation)
}
