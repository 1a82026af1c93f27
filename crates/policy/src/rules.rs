//! The rules themselves. Each reads the object (as mutated so far when mutating) and records
//! violations or fills unset fields.

use crate::version::{RangeKind, VersionSpec, classify, example_from};
use crate::{
    Action, DELETION_PROTECTION_ANNOTATION, Evaluation, Kind, Lookups, PatchOp, RuleId, Settings,
    SourceView, Violation,
};
use serde_json::{Map, Value, json};
use std::borrow::Cow;

/// Evaluation state of one object.
struct Ctx<'a> {
    kind: Kind,
    /// The object with the mutation so far applied; cloned only when a mutation happens.
    object: Cow<'a, Value>,
    namespace: &'a str,
    settings: &'a Settings,
    sources: &'a dyn SourceView,
    mutate: bool,
    out: Evaluation,
}

impl Ctx<'_> {
    fn action(&self, rule: RuleId) -> Action {
        self.settings.action(rule)
    }

    fn on(&self, rule: RuleId) -> bool {
        self.action(rule) != Action::Off
    }

    /// Mutation happens for rules that are enforced or warned about; `Audit` only reports.
    fn may_mutate(&self, rule: RuleId) -> bool {
        self.mutate && matches!(self.action(rule), Action::Enforce | Action::Warn)
    }

    fn at(&self, path: &[&str]) -> Option<&Value> {
        path.iter()
            .try_fold(self.object.as_ref(), |v, key| v.get(key))
    }

    fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(Value::as_str)
    }

    fn violation(&mut self, rule: RuleId, path: &str, problem: String, fix: String) {
        let action = self.action(rule);
        self.out.violations.push(Violation {
            rule,
            path: path.to_string(),
            problem,
            fix,
            action,
            preexisting: false,
        });
    }

    /// Sets `path` to `value` when it is unset, creating missing parents, and records the
    /// JSON Patch operation. Never replaces a value the user wrote.
    fn fill(&mut self, path: &[&str], value: Value) {
        if self.at(path).is_some() {
            return;
        }
        // Find the deepest existing parent; add the rest as one nested value.
        let mut depth = 0;
        let mut node = self.object.as_ref();
        while depth < path.len() - 1 {
            match node.get(path[depth]) {
                Some(child) if child.is_object() => {
                    node = child;
                    depth += 1;
                }
                Some(_) => return, // A non-object in the way: the object is malformed; leave it.
                None => break,
            }
        }
        let mut nested = value;
        for key in path[depth + 1..].iter().rev() {
            let mut map = Map::new();
            map.insert((*key).to_string(), nested);
            nested = Value::Object(map);
        }
        let pointer: String = path[..=depth]
            .iter()
            .map(|k| format!("/{}", escape_pointer(k)))
            .collect();
        let mut target = self.object.to_mut();
        for key in &path[..depth] {
            match target.get_mut(*key) {
                Some(next) => target = next,
                None => return,
            }
        }
        if let Some(map) = target.as_object_mut() {
            map.insert(path[depth].to_string(), nested.clone());
            self.out.patch.push(PatchOp {
                op: "add",
                path: pointer,
                value: nested,
            });
        }
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn describe(object: &Value, kind: Kind, namespace: &str) -> String {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    let kind = match kind {
        Kind::HelmRelease => "HelmRelease",
        Kind::HelmChart => "HelmChart",
        Kind::HelmRepository => "HelmRepository",
        Kind::OciRepository => "OCIRepository",
    };
    format!("{kind} {namespace}/{name}")
}

/// Rules for CREATE and UPDATE.
pub(crate) fn evaluate_object(
    kind: Kind,
    object: &Value,
    namespace: &str,
    settings: &Settings,
    sources: &dyn SourceView,
    mutate: bool,
) -> Evaluation {
    let mut ctx = Ctx {
        kind,
        object: Cow::Borrowed(object),
        namespace,
        settings,
        sources,
        mutate,
        out: Evaluation::default(),
    };
    deprecated_api_version(&mut ctx);
    match kind {
        Kind::HelmRelease => {
            // Namespaces first: later rules read the filled-in references.
            explicit_source_namespace(&mut ctx);
            allowed_source_namespaces(&mut ctx);
            pinned_version(&mut ctx, &["spec", "chart", "spec"]);
            chart_ref_oci(&mut ctx);
            cleanup_on_fail(&mut ctx);
            remediation_retries(&mut ctx);
            max_history(&mut ctx);
        }
        Kind::HelmChart => pinned_version(&mut ctx, &["spec"]),
        Kind::OciRepository => pinned_oci_repository(&mut ctx),
        Kind::HelmRepository => {
            if ctx.str_at(&["spec", "type"]) == Some("oci") {
                ctx.out.warnings.push(
                    "spec.type: OCI HelmRepositories are in maintenance mode in Flux; use an OCIRepository and \
                     spec.chartRef in the HelmRelease instead"
                        .to_string(),
                );
            }
        }
    }
    ctx.out
}

/// Rules for DELETE.
pub(crate) fn on_delete(
    kind: Kind,
    old: &Value,
    namespace: &str,
    settings: &Settings,
) -> Evaluation {
    let mut out = Evaluation::default();
    let action = settings.action(RuleId::DeletionProtection);
    if kind != Kind::HelmRelease || action == Action::Off {
        return out;
    }
    let protected = old
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(DELETION_PROTECTION_ANNOTATION))
        .and_then(Value::as_str)
        == Some("true");
    if protected {
        let suspended = old.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
        let consequence = if suspended {
            "(it is suspended, so the release would be left unmanaged)"
        } else {
            "and deleting it uninstalls the Helm release"
        };
        out.violations.push(Violation {
            rule: RuleId::DeletionProtection,
            path: format!("metadata.annotations[{DELETION_PROTECTION_ANNOTATION}]"),
            problem: format!(
                "{} is protected by {DELETION_PROTECTION_ANNOTATION}=\"true\" {consequence}",
                describe(old, kind, namespace)
            ),
            fix: "remove the annotation (or set it to \"false\") first if the deletion is intended"
                .to_string(),
            action,
            preexisting: false,
        });
    }
    out
}

fn deprecated_api_version(ctx: &mut Ctx<'_>) {
    let api_version = ctx
        .object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let current = match ctx.kind {
        Kind::HelmRelease => "helm.toolkit.fluxcd.io/v2",
        _ => "source.toolkit.fluxcd.io/v1",
    };
    if api_version != current {
        ctx.out.warnings.push(format!(
            "apiVersion: {api_version} is no longer served by current Flux; move to {current} (same fields for these rules)"
        ));
    }
}

/// Source references of a HelmRelease: (JSON path, field path for messages, kind, name).
fn references(ctx: &Ctx<'_>) -> Vec<(&'static [&'static str], &'static str, String, String)> {
    let mut refs = Vec::new();
    if let Some(kind) = ctx.str_at(&["spec", "chart", "spec", "sourceRef", "kind"]) {
        let name = ctx
            .str_at(&["spec", "chart", "spec", "sourceRef", "name"])
            .unwrap_or_default();
        refs.push((
            &["spec", "chart", "spec", "sourceRef"][..],
            "spec.chart.spec.sourceRef",
            kind.to_string(),
            name.to_string(),
        ));
    }
    if let Some(kind) = ctx.str_at(&["spec", "chartRef", "kind"]) {
        let name = ctx
            .str_at(&["spec", "chartRef", "name"])
            .unwrap_or_default();
        refs.push((
            &["spec", "chartRef"][..],
            "spec.chartRef",
            kind.to_string(),
            name.to_string(),
        ));
    }
    refs
}

fn explicit_source_namespace(ctx: &mut Ctx<'_>) {
    let rule = RuleId::ExplicitSourceNamespace;
    if !ctx.on(rule) {
        return;
    }
    for (json_path, field, kind, name) in references(ctx) {
        let mut ns_path = json_path.to_vec();
        ns_path.push("namespace");
        if ctx.str_at(&ns_path).is_some_and(|ns| !ns.is_empty()) {
            continue;
        }
        let holders = ctx.sources.namespaces_with(&kind, &name);
        let here = ctx.namespace.to_string();
        if holders.contains(&here) && ctx.may_mutate(rule) {
            ctx.fill(&ns_path, json!(here));
            continue;
        }
        let path = format!("{field}.namespace");
        let (problem, fix) = if holders.contains(&here) {
            (
                format!("not set; {kind} {name:?} is in the HelmRelease's own namespace {here:?}"),
                format!("set {path}: {here}"),
            )
        } else if !holders.is_empty() {
            (
                format!(
                    "not set, so Flux looks for {kind} {name:?} in {here:?}, but it is in {}",
                    holders.join(", ")
                ),
                if holders.len() == 1 {
                    format!("set {path}: {}", holders[0])
                } else {
                    format!("set {path} to one of {}", holders.join(", "))
                },
            )
        } else if ctx.sources.lookups() == Lookups::Complete {
            (
                format!("not set, and no {kind} named {name:?} exists in any namespace"),
                format!("create {kind} {name:?}, then set {path} to its namespace"),
            )
        } else {
            (
                format!(
                    "not set, so Flux looks for {kind} {name:?} only in the HelmRelease's namespace {here:?}"
                ),
                format!("set {path} to the namespace that holds {kind} {name:?}"),
            )
        };
        ctx.violation(rule, &path, problem, fix);
    }
}

fn allowed_source_namespaces(ctx: &mut Ctx<'_>) {
    let rule = RuleId::AllowedSourceNamespaces;
    if !ctx.on(rule) {
        return;
    }
    for (json_path, field, kind, name) in references(ctx) {
        let mut ns_path = json_path.to_vec();
        ns_path.push("namespace");
        let Some(target) = ctx.str_at(&ns_path).map(String::from) else {
            continue;
        };
        if target == ctx.namespace || ctx.settings.allowed_source_namespaces.contains(&target) {
            continue;
        }
        let allowed = &ctx.settings.allowed_source_namespaces;
        let fix = if allowed.is_empty() {
            format!(
                "use a {kind} in {:?}; this policy allows no cross-namespace references",
                ctx.namespace
            )
        } else {
            format!(
                "use a {kind} in {:?} or in one of: {}",
                ctx.namespace,
                allowed.join(", ")
            )
        };
        ctx.violation(
            rule,
            &format!("{field}.namespace"),
            format!("{kind} {name:?} in {target:?} is outside the namespaces this policy allows"),
            fix,
        );
    }
}

/// The version Flux resolved last for this object, to suggest as the pin.
fn resolved_version(ctx: &Ctx<'_>) -> Option<String> {
    if let Some(rev) = ctx.str_at(&["status", "lastAttemptedRevision"]) {
        return Some(rev.to_string());
    }
    if ctx.kind == Kind::HelmChart {
        return ctx
            .str_at(&["status", "artifact", "revision"])
            .map(String::from);
    }
    let name = ctx.str_at(&["metadata", "name"])?;
    let source_ns = ctx
        .str_at(&["spec", "chart", "spec", "sourceRef", "namespace"])
        .unwrap_or(ctx.namespace);
    ctx.sources
        .chart_revision(source_ns, &format!("{}-{name}", ctx.namespace))
}

fn pinned_version(ctx: &mut Ctx<'_>, spec_path: &[&str]) {
    let rule = RuleId::PinnedVersion;
    if !ctx.on(rule) || ctx.at(spec_path).is_none() {
        return;
    }
    let mut source_kind = spec_path.to_vec();
    source_kind.extend(["sourceRef", "kind"]);
    // Flux ignores `version` for charts from Git repositories and buckets.
    if matches!(ctx.str_at(&source_kind), Some("GitRepository" | "Bucket")) {
        return;
    }
    let mut version_path = spec_path.to_vec();
    version_path.push("version");
    let path = version_path.join(".");
    let raw = ctx.at(&version_path).cloned();
    let suggestion = |range: &str| -> String {
        match resolved_version(ctx).filter(|v| crate::version::is_exact(v)) {
            Some(v) => {
                format!("pin an exact version such as {v:?}, the version Flux resolved last")
            }
            None => match example_from(range) {
                Some(example) => format!("pin an exact version such as {example:?}"),
                None => "pin an exact version (MAJOR.MINOR.PATCH, e.g. \"1.2.3\")".to_string(),
            },
        }
    };
    let (problem, fix) = match raw {
        None | Some(Value::Null) => (
            "not set, so Flux uses \"*\" and installs every new chart version as it appears"
                .to_string(),
            suggestion(""),
        ),
        Some(Value::String(s)) => match classify(&s) {
            VersionSpec::Exact => return,
            VersionSpec::Any => (
                format!("{s:?} matches any version, so every new chart is installed"),
                suggestion(&s),
            ),
            VersionSpec::Range { kind, meaning } => {
                let meaning = match (kind, meaning) {
                    (RangeKind::Comparison, _) | (_, None) => String::new(),
                    (_, Some(m)) => format!(" ({m})"),
                };
                (
                    format!("{s:?} is {}{meaning}", kind.describe()),
                    suggestion(&s),
                )
            }
            VersionSpec::EqualsOperator { bare } => (
                format!("{s:?} pins with an operator"),
                format!("write the bare version {bare:?}"),
            ),
            VersionSpec::Invalid { reason } => (
                format!("{s:?} is not an exact SemVer version: it {reason}"),
                suggestion(&s),
            ),
        },
        Some(other) => (
            format!(
                "is a {} ({other}), not a string",
                if other.is_number() {
                    "number"
                } else {
                    "non-string value"
                }
            ),
            format!(
                "quote it, e.g. version: \"{}\"",
                other.to_string().trim_matches('"')
            ),
        ),
    };
    ctx.violation(rule, &path, problem, fix);
}

fn pinned_oci_repository(ctx: &mut Ctx<'_>) {
    let rule = RuleId::PinnedOciRef;
    if !ctx.on(rule) {
        return;
    }
    let oci = crate::OciRef::of(ctx.object.as_ref());
    let Some(why) = oci.floating() else { return };
    let (path, fix) = match (&oci.semver, oci.tag.as_deref()) {
        (Some(semver), _) if crate::version::is_exact(semver) => (
            "spec.ref.semver",
            format!("pin spec.ref.tag: {semver:?} or spec.ref.digest instead"),
        ),
        (Some(_), _) => (
            "spec.ref.semver",
            "pin spec.ref.digest (sha256:...) or an exact version tag in spec.ref.tag".to_string(),
        ),
        (None, Some(_)) => (
            "spec.ref.tag",
            "pin spec.ref.digest (sha256:...) or an exact version tag".to_string(),
        ),
        (None, None) => (
            "spec.ref",
            "set spec.ref.digest (sha256:...) or spec.ref.tag to an exact version".to_string(),
        ),
    };
    ctx.violation(rule, path, format!("the OCIRepository {why}"), fix);
}

/// A HelmRelease whose `chartRef` names a known, floating OCIRepository.
fn chart_ref_oci(ctx: &mut Ctx<'_>) {
    let rule = RuleId::PinnedOciRef;
    if !ctx.on(rule) || ctx.str_at(&["spec", "chartRef", "kind"]) != Some("OCIRepository") {
        return;
    }
    let name = ctx
        .str_at(&["spec", "chartRef", "name"])
        .unwrap_or_default()
        .to_string();
    let namespace = ctx
        .str_at(&["spec", "chartRef", "namespace"])
        .unwrap_or(ctx.namespace)
        .to_string();
    let Some(why) = ctx
        .sources
        .oci_ref(&namespace, &name)
        .and_then(|r| r.floating())
    else {
        return;
    };
    ctx.violation(
        rule,
        "spec.chartRef",
        format!(
            "OCIRepository {namespace}/{name} {why}, so the chart changes without a change here"
        ),
        format!("pin spec.ref.digest or an exact spec.ref.tag on OCIRepository {namespace}/{name}"),
    );
}

fn cleanup_on_fail(ctx: &mut Ctx<'_>) {
    let rule = RuleId::CleanupOnFail;
    if !ctx.on(rule) {
        return;
    }
    let path = ["spec", "upgrade", "cleanupOnFail"];
    match ctx.at(&path).cloned() {
        Some(Value::Bool(true)) => {}
        None if ctx.may_mutate(rule) => ctx.fill(&path, json!(true)),
        value => {
            let problem = match value {
                None => {
                    "not set, so a failed upgrade leaves the objects it created behind".to_string()
                }
                Some(v) => {
                    format!("is {v}, so a failed upgrade leaves the objects it created behind")
                }
            };
            ctx.violation(
                rule,
                "spec.upgrade.cleanupOnFail",
                problem,
                "set spec.upgrade.cleanupOnFail: true".to_string(),
            );
        }
    }
}

fn remediation_retries(ctx: &mut Ctx<'_>) {
    let rule = RuleId::RemediationRetries;
    if !ctx.on(rule) {
        return;
    }
    let retries = ctx.settings.default_retries;
    for action in ["install", "upgrade"] {
        // Under RetryOnFailure Flux retries without remediation; retries do not apply.
        if ctx.str_at(&["spec", action, "strategy", "name"]) == Some("RetryOnFailure") {
            continue;
        }
        let path = ["spec", action, "remediation", "retries"];
        let field = path.join(".");
        match ctx.at(&path).cloned() {
            None if ctx.may_mutate(rule) => {
                ctx.fill(&path, json!(retries));
                if action == "upgrade" {
                    ctx.fill(
                        &["spec", "upgrade", "remediation", "remediateLastFailure"],
                        json!(true),
                    );
                }
            }
            None => ctx.violation(
                rule,
                &field,
                format!("not set, so a failed {action} is not retried"),
                format!("set {field}: {retries}"),
            ),
            Some(v) if v.as_i64().is_some_and(|n| n != 0) => {}
            Some(v) => ctx.violation(
                rule,
                &field,
                format!("is {v}, so a failed {action} is not retried"),
                format!("set {field} to at least 1, e.g. {retries}"),
            ),
        }
    }
}

fn max_history(ctx: &mut Ctx<'_>) {
    let rule = RuleId::MaxHistory;
    if !ctx.on(rule) {
        return;
    }
    let limit = ctx.settings.max_history_limit;
    let Some(value) = ctx.at(&["spec", "maxHistory"]).cloned() else {
        return;
    };
    let problem = match value.as_i64() {
        Some(n) if n <= 0 => {
            format!("{n} keeps every revision in etcd (no limit), each a Secret of up to 1 MiB")
        }
        Some(n) if n > limit => format!("{n} keeps more revisions than the limit of {limit}"),
        Some(_) => return,
        None => format!("{value} is not a whole number"),
    };
    ctx.violation(
        rule,
        "spec.maxHistory",
        problem,
        format!("set spec.maxHistory between 1 and {limit} (Flux's default is 5)"),
    );
}
