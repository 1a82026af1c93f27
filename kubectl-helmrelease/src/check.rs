//! `check`: the policy engine offline, over files. What teams run in CI and pre-commit.

use crate::cli::{CheckArgs, Output};
use crate::input::{self, SourcedObject};
use crate::{Context, Error, Outcome, Result, output};
use helmrelease_policy::{Action, Lookups, ObjectIndex, Operation, PolicySet, Request, evaluate};
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;

/// How serious a finding is.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// An enforced rule: the webhook would deny the object.
    Error,
    /// A warned rule or advice: the webhook would admit it with a warning.
    Warning,
    /// An audited rule: reported by audits only.
    Audit,
}

/// One finding, located in the input.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Finding {
    /// File.
    pub file: String,
    /// Line the object starts on.
    pub line: usize,
    /// Object kind.
    pub kind: String,
    /// Object namespace, as written (empty when the file has none).
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// Severity.
    pub severity: Severity,
    /// Rule ID; absent for advice that is not a rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Field path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The full message, as the webhook would word it.
    pub message: String,
}

impl Finding {
    /// `Kind namespace/name`, or `Kind name` without a namespace.
    pub fn object(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }

    fn line_text(&self) -> String {
        let object = self.object();
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Audit => "audit",
        };
        format!(
            "{}:{}: {severity}: {object}: {}",
            self.file, self.line, self.message
        )
    }
}

/// Evaluates every supported object of the inventory. Pure: objects in, findings out.
pub fn findings(
    objects: &[SourcedObject],
    policies: &PolicySet,
    default_namespace: &str,
) -> Vec<Finding> {
    let index = ObjectIndex::new(
        objects.iter().map(|o| &o.object),
        Lookups::Partial,
        default_namespace,
    );
    let mut out = Vec::new();
    for sourced in objects {
        let object = &sourced.object;
        let request = Request {
            operation: Operation::Create,
            object: Some(object),
            old_object: None,
            namespace: Some(default_namespace),
            mutate: false,
        };
        // Objects the rules do not cover (Deployments, Kustomizations, ...) are not checked.
        let Ok(evaluation) = evaluate(&request, policies, &index) else {
            continue;
        };
        let base = Finding {
            file: sourced.origin.clone(),
            line: sourced.line,
            kind: str_at(object, "/kind"),
            namespace: str_at(object, "/metadata/namespace"),
            name: str_at(object, "/metadata/name"),
            severity: Severity::Warning,
            rule: None,
            path: None,
            message: String::new(),
        };
        for v in &evaluation.violations {
            let severity = match v.action {
                Action::Enforce => Severity::Error,
                Action::Warn => Severity::Warning,
                Action::Audit | Action::Off => Severity::Audit,
            };
            out.push(Finding {
                severity,
                rule: Some(v.rule.id().to_string()),
                path: Some(v.path.clone()),
                message: v.to_string(),
                ..base.clone()
            });
        }
        for w in &evaluation.warnings {
            out.push(Finding {
                message: w.clone(),
                ..base.clone()
            });
        }
    }
    out
}

fn str_at(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Policies from `--policy` files and from HelmReleasePolicy objects in the input.
pub fn policy_set(policy_files: &[PathBuf], objects: &[SourcedObject]) -> Result<PolicySet> {
    let mut found = Vec::new();
    let policy_inventory = if policy_files.is_empty() {
        None
    } else {
        Some(input::load(policy_files)?)
    };
    let from_files = policy_inventory.iter().flat_map(|inv| inv.objects.iter());
    for sourced in objects.iter().chain(from_files) {
        if sourced.object.get("kind").and_then(Value::as_str) != Some("HelmReleasePolicy") {
            continue;
        }
        let policy = serde_json::from_value(sourced.object.clone()).map_err(|e| Error::Parse {
            origin: format!("{}:{}", sourced.origin, sourced.line),
            message: format!("invalid HelmReleasePolicy: {e}"),
        })?;
        found.push(policy);
    }
    if let Some(inv) = &policy_inventory
        && !inv
            .objects
            .iter()
            .any(|o| o.object.get("kind").and_then(Value::as_str) == Some("HelmReleasePolicy"))
    {
        return Err(Error::Usage(format!(
            "--policy {}: no HelmReleasePolicy objects found",
            policy_files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(PolicySet::new(found))
}

/// Runs `check`.
pub fn run(args: &CheckArgs, ctx: &Context) -> Result<Outcome> {
    let inventory = input::load(&args.files)?;
    let policies = policy_set(&args.policy, &inventory.objects)?;
    let namespace = ctx.namespace.as_deref().unwrap_or("default");
    let mut findings = findings(&inventory.objects, &policies, namespace);
    findings.sort_by(|a, b| (&a.file, a.line, a.severity).cmp(&(&b.file, b.line, b.severity)));
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let checked = inventory
        .objects
        .iter()
        .filter(|o| helmrelease_policy::Kind::of(&o.object).is_ok())
        .count();
    let failed = errors > 0 || (args.strict && warnings > 0);
    let stdout = match ctx.output {
        Output::Json => output::json(&findings)?,
        Output::Yaml => output::yaml(&findings)?,
        Output::Table | Output::Wide | Output::Markdown => {
            findings.iter().map(|f| f.line_text() + "\n").collect()
        }
    };
    let stderr = if matches!(ctx.output, Output::Table | Output::Wide) {
        if checked == 0 {
            "no HelmReleases, HelmCharts, HelmRepositories or OCIRepositories in the input\n"
                .to_string()
        } else {
            format!(
                "{checked} object{} checked: {errors} error{}, {warnings} warning{}\n",
                plural(checked),
                plural(errors),
                plural(warnings)
            )
        }
    } else {
        String::new()
    };
    Ok(Outcome {
        stdout,
        stderr,
        code: u8::from(failed),
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sourced(object: Value, line: usize) -> SourcedObject {
        SourcedObject {
            origin: "hr.yaml".into(),
            line,
            object,
        }
    }

    #[test]
    fn findings_are_located_and_classified() {
        let hr = json!({"apiVersion": "helm.toolkit.fluxcd.io/v2beta2", "kind": "HelmRelease",
            "metadata": {"name": "podinfo"},
            "spec": {"interval": "5m", "chart": {"spec": {"chart": "podinfo", "version": "^20",
                     "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}}}});
        let repo = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": "podinfo", "namespace": "flux-system"}, "spec": {"url": "https://x"}});
        let found = findings(
            &[sourced(hr, 7), sourced(repo, 1)],
            &PolicySet::builtin(),
            "default",
        );
        let lines: Vec<String> = found.iter().map(Finding::line_text).collect();
        assert_eq!(
            lines,
            vec![
                r#"hr.yaml:7: error: HelmRelease podinfo: explicit-source-namespace: spec.chart.spec.sourceRef.namespace: not set, so Flux looks for HelmRepository "podinfo" in "default", but it is in flux-system; set spec.chart.spec.sourceRef.namespace: flux-system"#,
                r#"hr.yaml:7: error: HelmRelease podinfo: pinned-version: spec.chart.spec.version: "^20" is a caret range (>=20.0.0 <21.0.0); pin an exact version such as "20.0.0""#,
                "hr.yaml:7: warning: HelmRelease podinfo: cleanup-on-fail: spec.upgrade.cleanupOnFail: not set, so a failed upgrade leaves the objects it created behind; set spec.upgrade.cleanupOnFail: true",
                "hr.yaml:7: warning: HelmRelease podinfo: remediation-retries: spec.install.remediation.retries: not set, so a failed install is not retried; set spec.install.remediation.retries: 3",
                "hr.yaml:7: warning: HelmRelease podinfo: remediation-retries: spec.upgrade.remediation.retries: not set, so a failed upgrade is not retried; set spec.upgrade.remediation.retries: 3",
                "hr.yaml:7: warning: HelmRelease podinfo: apiVersion: helm.toolkit.fluxcd.io/v2beta2 is no longer served by current Flux; move to helm.toolkit.fluxcd.io/v2 (same fields for these rules)",
            ]
        );
    }
}
