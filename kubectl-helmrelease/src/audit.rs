//! `audit`: one report over a cluster or files. Policy violations (the webhook's engine and
//! messages), releases stuck in `pending-*` or failed, release storage against the 1 MiB Secret
//! limit, orphaned release Secrets, HelmReleases without a release, corrupt release objects,
//! and drift with `--drift`. The report is built by [`audit`], a pure function.

use crate::check::{self, Severity};
use crate::cli::{AuditArgs, Output};
use crate::drift::{ReleaseDrift, all_drift};
use crate::history::human_bytes;
use crate::input::{self, Decode, SourcedObject};
use crate::output::{Cell, Table};
use crate::source::{Releases, Session, str_at};
use crate::target::release_of;
use crate::{Context, Outcome, Result, output};
use helmrelease_policy::PolicySet;
use helmrelease_release::{Status, history};
use serde::Serialize;
use std::collections::BTreeSet;

/// Kubernetes refuses Secrets whose data exceeds 1 MiB.
pub const SECRET_LIMIT: usize = 1_048_576;
/// Share of the limit from which a release's largest revision is a finding.
const STORAGE_WARN_PERCENT: f64 = 80.0;

/// What a finding is about.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// A policy rule is violated.
    Policy,
    /// A release object does not decode.
    Corrupt,
    /// A release object's name or labels disagree with the release inside it.
    Inconsistent,
    /// The latest revision is `pending-*`: Helm refuses other operations.
    Stuck,
    /// The latest revision failed.
    Failed,
    /// A HelmRelease has no release.
    MissingRelease,
    /// A release no HelmRelease manages.
    Orphaned,
    /// A release's largest revision is close to the Secret size limit.
    Storage,
    /// Live objects differ from the deployed manifest.
    Drift,
}

/// One finding.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// What about.
    pub category: Category,
    /// `HelmRelease`, `HelmRepository`, ... or `Release` for Helm releases.
    pub kind: String,
    /// Namespace of the object (storage namespace for releases).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Policy rule ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Storage used by one release.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    /// Storage namespace.
    pub namespace: String,
    /// Release name.
    pub release: String,
    /// Release objects (revisions) kept.
    pub revisions: usize,
    /// Stored bytes over all revisions.
    pub total_bytes: usize,
    /// The largest revision.
    pub largest_revision: i64,
    /// Its stored bytes.
    pub largest_bytes: usize,
    /// Its share of the 1 MiB Secret limit, in percent.
    pub limit_percent: f64,
}

/// The whole report.
#[derive(Serialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Findings, most serious first.
    pub findings: Vec<Finding>,
    /// Storage per release, largest share first.
    pub storage: Vec<Storage>,
    /// HelmReleases looked at.
    pub helm_releases: usize,
    /// Helm releases looked at.
    pub releases: usize,
}

impl Report {
    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// `5 findings (2 errors, 3 warnings) in 3 HelmReleases and 4 releases`.
    pub fn summary(&self) -> String {
        let n = self.findings.len();
        format!(
            "{n} finding{} ({} errors, {} warnings, {} audit) in {} HelmRelease{} and {} release{}",
            plural(n),
            self.count(Severity::Error),
            self.count(Severity::Warning),
            self.count(Severity::Audit),
            self.helm_releases,
            plural(self.helm_releases),
            self.releases,
            plural(self.releases),
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Builds the report. Pure: everything it needs is passed in.
pub fn audit(
    policy_objects: &[SourcedObject],
    policies: &PolicySet,
    releases: &Releases,
    drift: Option<&[ReleaseDrift]>,
) -> Report {
    let mut findings = Vec::new();
    let helmreleases: Vec<&SourcedObject> = policy_objects
        .iter()
        .filter(|o| str_at(&o.object, "/kind") == "HelmRelease")
        .collect();
    for f in check::findings(policy_objects, policies, "default") {
        findings.push(Finding {
            severity: f.severity,
            category: Category::Policy,
            kind: f.kind,
            namespace: f.namespace,
            name: f.name,
            rule: f.rule,
            message: f.message,
        });
    }
    let release_finding =
        |severity, category, namespace: &str, name: &str, message: String| Finding {
            severity,
            category,
            kind: "Release".to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            rule: None,
            message,
        };
    for broken in &releases.broken {
        let (namespace, name) = broken.release.clone().unwrap_or_default();
        findings.push(release_finding(
            Severity::Error,
            Category::Corrupt,
            &namespace,
            &name,
            format!(
                "{}; Helm and Flux cannot read this revision either",
                broken.error
            ),
        ));
    }
    for stored in &releases.releases {
        let disagreements = stored.disagreements();
        if disagreements.is_empty() {
            continue;
        }
        let what: Vec<String> = disagreements.iter().map(|d| d.to_string()).collect();
        findings.push(release_finding(
            Severity::Warning,
            Category::Inconsistent,
            &stored.namespace,
            stored.listed_name(),
            format!(
                "{}: {}; Helm lists it under release {:?} by its name label and believes the payload, so `helm history` shows revision {} of {:?} there; it was edited or copied by hand: delete it or restore its name and labels",
                stored.describe(),
                what.join("; "),
                stored.listed_name(),
                stored.release.version,
                stored.release.name,
            ),
        ));
    }
    let owned: BTreeSet<(String, String)> = helmreleases
        .iter()
        .map(|hr| release_of(&hr.object))
        .collect();
    let groups = history::group(&releases.releases);
    let mut storage = Vec::new();
    for ((namespace, name), h) in &groups {
        if let Some(latest) = h.latest() {
            let status = latest.release.status();
            let revision = latest.release.version;
            if status.is_pending() {
                findings.push(release_finding(
                    Severity::Error,
                    Category::Stuck,
                    namespace,
                    name,
                    format!(
                        "revision {revision} is {status} since {}: Helm refuses every other operation on this release (\"another operation is in progress\"); if nothing is running, roll back (`helm rollback {name} -n {namespace}`) or delete the Secret {}",
                        latest.release.last_deployed().unwrap_or("an unknown time"),
                        latest.object_name
                    ),
                ));
            } else if status == Status::Failed {
                findings.push(release_finding(
                    Severity::Warning,
                    Category::Failed,
                    namespace,
                    name,
                    format!(
                        "latest revision {revision} failed: {}",
                        latest.release.description()
                    ),
                ));
            }
        }
        if !owned.contains(&(namespace.clone(), name.clone())) {
            findings.push(release_finding(
                Severity::Warning,
                Category::Orphaned,
                namespace,
                name,
                format!(
                    "no HelmRelease manages this release ({} revision{} stored): it was installed by hand, or its HelmRelease was deleted without uninstalling",
                    h.revisions.len(),
                    plural(h.revisions.len())
                ),
            ));
        }
        if let Some(largest) = h.largest() {
            let percent = largest.stored_bytes as f64 * 100.0 / SECRET_LIMIT as f64;
            let row = Storage {
                namespace: namespace.clone(),
                release: name.clone(),
                revisions: h.revisions.len(),
                total_bytes: h.total_bytes(),
                largest_revision: largest.release.version,
                largest_bytes: largest.stored_bytes,
                limit_percent: (percent * 10.0).round() / 10.0,
            };
            if percent >= STORAGE_WARN_PERCENT {
                findings.push(release_finding(
                    Severity::Warning,
                    Category::Storage,
                    namespace,
                    name,
                    format!(
                        "revision {} stores {} ({:.1}% of the 1 MiB Secret limit): a larger chart or more values will fail to store; trim values or move large files out of the chart",
                        largest.release.version,
                        human_bytes(largest.stored_bytes),
                        percent
                    ),
                ));
            }
            storage.push(row);
        }
    }
    for hr in &helmreleases {
        let key = release_of(&hr.object);
        let has_release = groups.contains_key(&key)
            || releases
                .broken
                .iter()
                .any(|b| b.release.as_ref() == Some(&key));
        if has_release || hr.object.pointer("/spec/suspend").and_then(|v| v.as_bool()) == Some(true)
        {
            continue;
        }
        let ready = hr
            .object
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .and_then(|c| c.iter().find(|c| str_at(c, "/type") == "Ready"));
        let why = ready
            .map(|c| format!(": {} ({})", str_at(c, "/message"), str_at(c, "/reason")))
            .unwrap_or_default();
        findings.push(Finding {
            severity: Severity::Warning,
            category: Category::MissingRelease,
            kind: "HelmRelease".to_string(),
            namespace: str_at(&hr.object, "/metadata/namespace"),
            name: str_at(&hr.object, "/metadata/name"),
            rule: None,
            message: format!("release {}/{} does not exist{why}", key.0, key.1),
        });
    }
    for d in drift.into_iter().flatten() {
        if d.report.is_empty() {
            continue;
        }
        findings.push(release_finding(
            Severity::Warning,
            Category::Drift,
            &d.namespace,
            &d.release,
            format!(
                "revision {}: {}; `kubectl helmrelease drift {} --release -n {}` shows the fields",
                d.revision,
                d.report.summary(),
                d.release,
                d.namespace
            ),
        ));
    }
    findings.sort_by(|a, b| {
        (a.severity, a.category, &a.namespace, &a.name).cmp(&(
            b.severity,
            b.category,
            &b.namespace,
            &b.name,
        ))
    });
    storage.sort_by(|a, b| {
        b.limit_percent
            .total_cmp(&a.limit_percent)
            .then_with(|| (&a.namespace, &a.release).cmp(&(&b.namespace, &b.release)))
    });
    Report {
        findings,
        storage,
        helm_releases: helmreleases.len(),
        releases: groups.len(),
    }
}

/// Rows of the storage table printed without `-o wide`.
const STORAGE_ROWS: usize = 10;

/// Runs `audit`.
pub fn run(args: &AuditArgs, ctx: &Context) -> Result<Outcome> {
    // The report shows status, times, descriptions and sizes; only `--drift` reads manifests.
    let decode = if args.drift {
        Decode::Full
    } else {
        Decode::Summary
    };
    let (mut session, from_files) = if ctx.from_file.is_empty() {
        (ctx.session()?.with_decode(decode), None)
    } else {
        // From files, the revisions move out of the inventory as they are, instead of being
        // partitioned into a second vector by `Session::releases`: thousands of revisions
        // would be held twice at the peak.
        let mut inventory = input::load_with(&ctx.from_file, decode)?;
        let (releases, broken) = input::take_releases(&mut inventory, ctx.namespace.as_deref());
        let session = Session::from_inventory(inventory, ctx.namespace.clone());
        (session, Some(Releases { releases, broken }))
    };
    let namespace = session.namespace.clone();
    let policy_objects = session.policy_objects(namespace.as_deref())?;
    let policies = check::policy_set(&args.policy, &policy_objects)?;
    let releases = match from_files {
        Some(releases) => releases,
        None => session.releases(namespace.as_deref(), None)?,
    };
    let drift = if args.drift {
        Some(all_drift(&session, &releases, ctx.show_secrets)?)
    } else {
        None
    };
    let report = audit(&policy_objects, &policies, &releases, drift.as_deref());
    let stdout = match ctx.output {
        Output::Json => output::json(&report)?,
        Output::Yaml => output::yaml(&report)?,
        Output::Table | Output::Wide | Output::Markdown => text(&report, ctx),
    };
    Ok(Outcome {
        stdout,
        stderr: String::new(),
        code: u8::from(!report.findings.is_empty()),
    })
}

fn text(report: &Report, ctx: &Context) -> String {
    let headers = !ctx.no_headers;
    let mut out = String::new();
    if !report.findings.is_empty() {
        let table = Table {
            headers: vec!["SEVERITY", "CATEGORY", "OBJECT", "MESSAGE"],
            rows: report
                .findings
                .iter()
                .map(|f| {
                    let (severity, style) = match f.severity {
                        Severity::Error => ("error", Some("31")),
                        Severity::Warning => ("warning", Some("33")),
                        Severity::Audit => ("audit", None),
                    };
                    let category = serde_json::to_value(f.category)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default();
                    // Policy messages start with their rule ID already.
                    let message = f.message.clone();
                    vec![
                        Cell {
                            text: severity.to_string(),
                            style,
                        },
                        category.into(),
                        format!("{} {}/{}", f.kind, f.namespace, f.name)
                            .replace(" /", " ")
                            .into(),
                        message.into(),
                    ]
                })
                .collect(),
        };
        out.push_str(&table.render(headers, ctx.color));
        out.push('\n');
    }
    if !report.storage.is_empty() {
        let shown = if ctx.output == Output::Wide {
            report.storage.len()
        } else {
            STORAGE_ROWS.min(report.storage.len())
        };
        let table = Table {
            headers: vec![
                "NAMESPACE",
                "RELEASE",
                "REVISIONS",
                "STORED",
                "LARGEST",
                "OF 1 MiB LIMIT",
            ],
            rows: report.storage[..shown]
                .iter()
                .map(|s| {
                    vec![
                        s.namespace.clone().into(),
                        s.release.clone().into(),
                        s.revisions.to_string().into(),
                        human_bytes(s.total_bytes).into(),
                        format!(
                            "{} (revision {})",
                            human_bytes(s.largest_bytes),
                            s.largest_revision
                        )
                        .into(),
                        Cell {
                            text: format!("{:.1}%", s.limit_percent),
                            style: (s.limit_percent >= STORAGE_WARN_PERCENT).then_some("33"),
                        },
                    ]
                })
                .collect(),
        };
        out.push_str(&table.render(headers, ctx.color));
        if shown < report.storage.len() {
            out.push_str(&format!(
                "... {} more releases; -o wide lists all\n",
                report.storage.len() - shown
            ));
        }
        out.push('\n');
    }
    out.push_str(&report.summary());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_that_disagree_with_their_payload_are_findings() {
        let text = include_str!("../tests/data/mismatch-secrets.yaml");
        let inventory = crate::input::read_bytes("mismatch.yaml", text.as_bytes());
        let inventory = inventory.unwrap_or_else(|e| panic!("{e}"));
        assert!(inventory.broken.is_empty(), "decoded, not refused");
        let releases = Releases {
            releases: inventory.releases,
            broken: inventory.broken,
        };
        let report = audit(&[], &PolicySet::default(), &releases, None);
        let inconsistent: Vec<(Severity, &str, &str)> = report
            .findings
            .iter()
            .filter(|f| f.category == Category::Inconsistent)
            .map(|f| (f.severity, f.name.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(inconsistent.len(), 2, "{inconsistent:?}");
        assert_eq!(inconsistent[0].0, Severity::Warning);
        assert_eq!(inconsistent[0].1, "bar");
        assert!(
            inconsistent[0].2.starts_with(
                "Secret apps/sh.helm.release.v1.bar.v2: the object name says \"v2\" but the release inside says \"v1\";"
            ),
            "{}",
            inconsistent[0].2
        );
        assert_eq!(inconsistent[1].1, "foo2");
        assert!(
            inconsistent[1]
                .2
                .contains("the name label says \"foo2\" but the release inside says \"foooo\""),
            "{}",
            inconsistent[1].2
        );
    }
}
