//! `list`: every HelmRelease and every Helm release in scope in one table, what
//! `flux get helmreleases -A` and `helm list -A` show, joined on the release a HelmRelease owns.
//!
//! Rows are built by a pure function ([`rows`]) from HelmRelease objects and decoded release
//! revisions; [`run`] only fetches them.

use crate::cli::Output;
use crate::output::{Cell, Table};
use crate::source::{Releases, Session, str_at};
use crate::{Context, Outcome, Result, history, output, target};
use helmrelease_release::history::{self as release_history, History, ReleaseKey};
use helmrelease_release::{Status, StoredRelease};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// Where a row's Helm release is stored.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRef {
    /// Storage namespace.
    pub namespace: String,
    /// Helm release name.
    pub name: String,
}

/// A HelmRelease's `Ready` condition.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// The condition's reason, when set.
    pub reason: Option<String>,
    /// The condition's message, when set.
    pub message: Option<String>,
}

/// One row: a HelmRelease with its release, or a release no HelmRelease owns. Every key is
/// always present (`null` when unknown) so scripts see one shape.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Namespace of the HelmRelease, or of the release when no HelmRelease owns it.
    pub namespace: String,
    /// HelmRelease name; `None` for a release no HelmRelease owns.
    pub name: Option<String>,
    /// The Helm release.
    pub release: ReleaseRef,
    /// Chart name (`spec.chart.spec.chart`), `Kind/name` of a `spec.chartRef`, or the stored
    /// chart's name for a release without HelmRelease.
    pub chart: Option<String>,
    /// `spec.chart.spec.version` (`*` when omitted, as the CRD defaults it).
    pub desired_version: Option<String>,
    /// Chart version of the newest `deployed` revision.
    pub deployed_version: Option<String>,
    /// Newest revision number.
    pub revision: Option<i64>,
    /// Helm status of the newest revision, or `corrupt` when a revision does not decode.
    pub status: Option<String>,
    /// The HelmRelease's Ready condition.
    pub ready: Option<Ready>,
    /// `spec.suspend`.
    pub suspended: bool,
    /// Deployment time of the newest revision (RFC 3339, as stored).
    pub updated: Option<String>,
    /// Whether a HelmRelease owns the release (false only for rows without HelmRelease).
    pub owned: bool,
}

/// What the table prints in STATUS when a revision of the release does not decode.
pub const CORRUPT: &str = "corrupt";

/// Builds the rows, sorted by namespace then name. `helmreleases` are the HelmReleases in
/// scope; `owners` are further HelmReleases (from any namespace) that may own releases in
/// scope; `scope` is the namespace listed (`None` for all). A release in scope owned by a
/// HelmRelease outside it is that HelmRelease's row; releases outside `scope` appear only as
/// the release of a HelmRelease in scope.
pub fn rows(
    helmreleases: &[Value],
    owners: &[Value],
    releases: &Releases,
    scope: Option<&str>,
) -> Vec<Row> {
    let histories = release_history::group(&releases.releases);
    let corrupt: BTreeSet<ReleaseKey> = releases
        .broken
        .iter()
        .filter_map(|b| b.release.clone())
        .collect();
    let owned: BTreeSet<ReleaseKey> = helmreleases
        .iter()
        .chain(owners)
        .map(target::release_of)
        .collect();

    let mut out: Vec<Row> = helmreleases
        .iter()
        .map(|hr| {
            let key = target::release_of(hr);
            let stored = Stored::of(histories.get(&key), corrupt.contains(&key));
            helmrelease_row(hr, key, &stored)
        })
        .collect();

    let stored_keys: BTreeSet<&ReleaseKey> = histories
        .keys()
        .chain(corrupt.iter())
        .filter(|key| scope.is_none_or(|ns| ns == key.0))
        .collect();
    let identity = |hr: &Value| {
        (
            str_at(hr, "/metadata/namespace"),
            str_at(hr, "/metadata/name"),
        )
    };
    let in_scope: BTreeSet<(String, String)> = helmreleases.iter().map(identity).collect();
    for hr in owners {
        let key = target::release_of(hr);
        if stored_keys.contains(&key) && !in_scope.contains(&identity(hr)) {
            let stored = Stored::of(histories.get(&key), corrupt.contains(&key));
            out.push(helmrelease_row(hr, key, &stored));
        }
    }
    for key in stored_keys {
        if !owned.contains(key) {
            let stored = Stored::of(histories.get(key), corrupt.contains(key));
            out.push(ownerless_row(key, &stored));
        }
    }

    // Ownerless rows sort by release name among the HelmReleases of their namespace.
    out.sort_by(|a, b| {
        let key = |r: &Row| {
            (
                r.namespace.clone(),
                r.name.clone().unwrap_or_else(|| r.release.name.clone()),
                !r.owned,
            )
        };
        key(a).cmp(&key(b))
    });
    out
}

/// What the stored revisions of one release say.
#[derive(Debug, Default)]
struct Stored<'a> {
    latest: Option<&'a StoredRelease>,
    deployed: Option<&'a StoredRelease>,
    corrupt: bool,
}

impl<'a> Stored<'a> {
    fn of(history: Option<&History<'a>>, corrupt: bool) -> Stored<'a> {
        Stored {
            latest: history.and_then(History::latest),
            deployed: history.and_then(History::last_deployed),
            corrupt,
        }
    }

    fn revision(&self) -> Option<i64> {
        self.latest.map(|r| r.release.version)
    }

    fn status(&self) -> Option<String> {
        // A revision that does not decode may be the newest one, so no status can be trusted.
        if self.corrupt {
            return Some(CORRUPT.to_string());
        }
        self.latest.map(|r| r.release.status().to_string())
    }

    fn deployed_version(&self) -> Option<String> {
        self.deployed
            .and_then(|r| r.release.metadata())
            .and_then(|m| m.version.clone())
            .filter(|v| !v.is_empty())
    }

    fn updated(&self) -> Option<String> {
        self.latest
            .and_then(|r| r.release.last_deployed())
            .map(str::to_string)
    }
}

fn nonempty(object: &Value, pointer: &str) -> Option<String> {
    Some(str_at(object, pointer)).filter(|s| !s.is_empty())
}

fn helmrelease_row(hr: &Value, (namespace, name): ReleaseKey, stored: &Stored<'_>) -> Row {
    let (chart, desired_version) = if hr.pointer("/spec/chart").is_some() {
        (
            nonempty(hr, "/spec/chart/spec/chart"),
            // The CRD defaults an omitted version to `*`; files may predate defaulting.
            Some(nonempty(hr, "/spec/chart/spec/version").unwrap_or_else(|| "*".to_string())),
        )
    } else if hr.pointer("/spec/chartRef").is_some() {
        (
            Some(format!(
                "{}/{}",
                str_at(hr, "/spec/chartRef/kind"),
                str_at(hr, "/spec/chartRef/name")
            )),
            None,
        )
    } else {
        (None, None)
    };
    Row {
        namespace: str_at(hr, "/metadata/namespace"),
        name: Some(str_at(hr, "/metadata/name")),
        release: ReleaseRef { namespace, name },
        chart,
        desired_version,
        deployed_version: stored.deployed_version(),
        revision: stored.revision(),
        status: stored.status(),
        ready: ready(hr),
        suspended: hr.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true),
        updated: stored.updated(),
        owned: true,
    }
}

fn ownerless_row((namespace, name): &ReleaseKey, stored: &Stored<'_>) -> Row {
    Row {
        namespace: namespace.clone(),
        name: None,
        release: ReleaseRef {
            namespace: namespace.clone(),
            name: name.clone(),
        },
        chart: stored
            .latest
            .and_then(|r| r.release.metadata())
            .and_then(|m| m.name.clone())
            .filter(|n| !n.is_empty()),
        desired_version: None,
        deployed_version: stored.deployed_version(),
        revision: stored.revision(),
        status: stored.status(),
        ready: None,
        suspended: false,
        updated: stored.updated(),
        owned: false,
    }
}

/// The Ready condition of a HelmRelease, if it has one.
pub fn ready(hr: &Value) -> Option<Ready> {
    let conditions = hr.pointer("/status/conditions").and_then(Value::as_array)?;
    let ready = conditions
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))?;
    Some(Ready {
        status: str_at(ready, "/status"),
        reason: nonempty(ready, "/reason"),
        message: nonempty(ready, "/message"),
    })
}

/// ANSI colour of a Helm status, the same as `history` uses: deployed green, failed (and
/// corrupt) red, pending yellow.
pub fn status_style(status: &str) -> Option<&'static str> {
    if status == CORRUPT {
        return Some("31");
    }
    let status = Status::parse(status);
    match status {
        Status::Deployed => Some("32"),
        Status::Failed => Some("31"),
        _ if status.is_pending() => Some("33"),
        _ => None,
    }
}

fn ready_cell(row: &Row) -> String {
    if !row.owned {
        return "no HelmRelease".to_string();
    }
    let mut parts = Vec::new();
    if let Some(ready) = &row.ready {
        // A True reason is routine (InstallSucceeded, ...); False and Unknown need theirs.
        match ready.reason.as_deref().filter(|_| ready.status != "True") {
            Some(reason) => parts.push(format!("{} ({reason})", ready.status)),
            None => parts.push(ready.status.clone()),
        }
    }
    if row.suspended {
        parts.push("Suspended".to_string());
    }
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}

fn version_cell(row: &Row) -> String {
    match (&row.desired_version, &row.deployed_version) {
        (Some(desired), Some(deployed)) if desired != deployed => {
            format!("{desired} (deployed {deployed})")
        }
        (Some(desired), _) => desired.clone(),
        (None, Some(deployed)) => deployed.clone(),
        (None, None) => "-".to_string(),
    }
}

/// `name`, or `namespace/name` when the namespace is not the one the row is read in (the
/// listed namespace, or the row's own with `-A`).
fn qualified(namespace: &str, name: &str, base: &str) -> String {
    if namespace == base {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// Renders rows in the chosen format. Without a `scope` (`-A`) the NAMESPACE column is added,
/// as kubectl does.
pub fn render(rows: &[Row], scope: Option<&str>, ctx: &Context) -> Result<String> {
    let all_namespaces = scope.is_none();
    match ctx.output {
        Output::Json => output::json(&rows),
        Output::Yaml => {
            // An empty sequence serialises as a bare `[]`; keep the output a complete line.
            let mut text = output::yaml(&rows)?;
            if !text.ends_with('\n') {
                text.push('\n');
            }
            Ok(text)
        }
        Output::Table | Output::Wide | Output::Markdown => {
            let wide = ctx.output == Output::Wide;
            let mut headers = vec![
                "NAME", "RELEASE", "CHART", "VERSION", "REVISION", "STATUS", "READY", "UPDATED",
            ];
            if all_namespaces {
                headers.insert(0, "NAMESPACE");
            }
            if wide {
                headers.push("MESSAGE");
            }
            let dash = |s: Option<String>| s.unwrap_or_else(|| "-".to_string());
            let table = Table {
                headers,
                rows: rows
                    .iter()
                    .map(|r| {
                        let status = dash(r.status.clone());
                        let base = scope.unwrap_or(&r.namespace);
                        let name = match &r.name {
                            Some(name) => qualified(&r.namespace, name, base),
                            None => "-".to_string(),
                        };
                        let mut cells: Vec<Cell> = vec![
                            name.into(),
                            qualified(&r.release.namespace, &r.release.name, base).into(),
                            dash(r.chart.clone()).into(),
                            version_cell(r).into(),
                            dash(r.revision.map(|v| v.to_string())).into(),
                            Cell {
                                style: status_style(&status),
                                text: status,
                            },
                            ready_cell(r).into(),
                            dash(
                                r.updated
                                    .as_deref()
                                    .map(|t| history::ansic(t, &ctx.time_zone)),
                            )
                            .into(),
                        ];
                        if all_namespaces {
                            cells.insert(0, r.namespace.clone().into());
                        }
                        if wide {
                            let message = r.ready.as_ref().and_then(|c| c.message.as_deref());
                            cells.push(one_line(message.unwrap_or_default()).into());
                        }
                        cells
                    })
                    .collect(),
            };
            Ok(table.render(!ctx.no_headers, ctx.color))
        }
    }
}

/// Text on one line: condition and event messages may hold newlines (Helm logs), which would
/// break a table.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// HelmReleases of every namespace, to tell who owns a release stored in another namespace
/// (`spec.storageNamespace`). Without the right to list them cluster-wide, those of `scope`
/// are the best answer there is, so a failure falls back to them.
pub(crate) fn all_helmreleases(session: &Session, scope: Option<&str>) -> Result<Vec<Value>> {
    let objects = match session.helmreleases(None) {
        Ok(all) => all,
        Err(_) if scope.is_some() => session.helmreleases(scope)?,
        Err(e) => return Err(e),
    };
    Ok(objects.into_iter().map(|o| o.object).collect())
}

/// Runs `list`.
pub fn run(ctx: &Context) -> Result<Outcome> {
    let mut session = ctx.session()?;
    let scope = session.namespace.clone();
    let helmreleases: Vec<Value> = session
        .helmreleases(scope.as_deref())?
        .into_iter()
        .map(|o| o.object)
        .collect();
    let mut releases = session.releases(scope.as_deref(), None)?;
    if let Some(scope) = scope.as_deref() {
        // A HelmRelease in scope may store its release in another namespace.
        let elsewhere: BTreeSet<ReleaseKey> = helmreleases
            .iter()
            .map(target::release_of)
            .filter(|(ns, _)| ns != scope)
            .collect();
        for (ns, name) in &elsewhere {
            let more = session.releases(Some(ns), Some(name))?;
            releases.releases.extend(more.releases);
            releases.broken.extend(more.broken);
        }
    }
    // Asking every namespace costs a request, so only when a release in scope has no owner
    // among the HelmReleases in scope.
    let scoped_owners: BTreeSet<ReleaseKey> = helmreleases.iter().map(target::release_of).collect();
    let needs_owners = scope.is_some()
        && releases
            .releases
            .iter()
            .map(|r| (r.namespace.clone(), r.release.name.clone()))
            .chain(releases.broken.iter().filter_map(|b| b.release.clone()))
            .any(|key| !scoped_owners.contains(&key));
    let owners = if needs_owners {
        all_helmreleases(&session, scope.as_deref())?
    } else {
        Vec::new()
    };

    let rows = rows(&helmreleases, &owners, &releases, scope.as_deref());
    let stderr: String = releases
        .broken
        .iter()
        .map(|b| format!("warning: {}\n", b.error))
        .collect();
    if rows.is_empty() && matches!(ctx.output, Output::Table | Output::Wide) {
        // kubectl says "No resources found" on stderr, so scripts reading stdout see nothing.
        let place = match scope.as_deref() {
            Some(ns) => format!("in namespace {ns:?}"),
            None => "in any namespace".to_string(),
        };
        return Ok(Outcome {
            stdout: String::new(),
            stderr: format!("{stderr}No HelmReleases or Helm releases found {place}.\n"),
            code: 0,
        });
    }
    Ok(Outcome {
        stdout: render(&rows, scope.as_deref(), ctx)?,
        stderr,
        code: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{Rev, release_secrets};
    use crate::input::BrokenRelease;
    use serde_json::json;

    fn rev(version: i64, chart_version: &'static str, status: &'static str) -> Rev {
        Rev {
            version,
            chart_version,
            app_version: "1.0.0",
            status,
            description: "Upgrade complete",
            deployed: "2026-10-01T09:00:00Z",
            replicas: 1,
        }
    }

    fn stored(name: &str, namespace: &str, revs: &[Rev]) -> Vec<StoredRelease> {
        release_secrets(name, namespace, revs)
            .unwrap_or_default()
            .iter()
            .filter_map(|o| StoredRelease::from_object(o, "test").ok())
            .collect()
    }

    fn hr(namespace: &str, name: &str, spec: Value, status: Value) -> Value {
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec, "status": status})
    }

    fn chart_spec(chart: &str, version: Option<&str>) -> Value {
        let mut spec = json!({"chart": {"spec": {"chart": chart,
            "sourceRef": {"kind": "HelmRepository", "name": "repo"}}}});
        if let Some(v) = version {
            spec["chart"]["spec"]["version"] = json!(v);
        }
        spec
    }

    fn ctx(output: Output) -> Context {
        let mut ctx = Context::new(&crate::cli::GlobalArgs {
            output,
            color: crate::cli::Color::Never,
            ..crate::cli::GlobalArgs::default()
        });
        ctx.time_zone = jiff::tz::TimeZone::UTC;
        ctx
    }

    #[test]
    fn helmrelease_rows_join_their_release() {
        let releases = Releases {
            releases: stored(
                "web",
                "apps",
                &[rev(1, "1.0.0", "superseded"), rev(2, "1.1.0", "deployed")],
            ),
            broken: Vec::new(),
        };
        let web = hr(
            "apps",
            "web",
            chart_spec("web", Some("1.2.0")),
            json!({"conditions": [{"type": "Ready", "status": "False", "reason": "UpgradeFailed", "message": "boom"}]}),
        );
        let rows = rows(&[web], &[], &releases, None);
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.name.as_deref(), Some("web"));
        assert_eq!(row.chart.as_deref(), Some("web"));
        assert_eq!(row.revision, Some(2));
        assert_eq!(row.status.as_deref(), Some("deployed"));
        assert_eq!(version_cell(row), "1.2.0 (deployed 1.1.0)");
        assert_eq!(ready_cell(row), "False (UpgradeFailed)");
        assert_eq!(row.updated.as_deref(), Some("2026-10-01T09:00:00Z"));
        assert!(row.owned);
    }

    #[test]
    fn missing_releases_and_defaults_show_dashes() {
        let spec = chart_spec("web", None);
        let mut suspended = spec.clone();
        suspended["suspend"] = json!(true);
        let rows = rows(
            &[
                hr("apps", "a", spec, json!({})),
                hr("apps", "b", suspended, json!({})),
            ],
            &[],
            &Releases::default(),
            Some("apps"),
        );
        assert_eq!(rows[0].revision, None);
        assert_eq!(rows[0].status, None);
        assert_eq!(version_cell(&rows[0]), "*");
        assert_eq!(ready_cell(&rows[0]), "-");
        assert_eq!(ready_cell(&rows[1]), "Suspended");
    }

    #[test]
    fn chart_refs_show_the_source_and_the_deployed_version() {
        let releases = Releases {
            releases: stored("web", "apps", &[rev(1, "2.0.0", "deployed")]),
            broken: Vec::new(),
        };
        let spec = json!({"chartRef": {"kind": "OCIRepository", "name": "web-chart"}});
        let rows = rows(&[hr("apps", "web", spec, json!({}))], &[], &releases, None);
        assert_eq!(rows[0].chart.as_deref(), Some("OCIRepository/web-chart"));
        assert_eq!(version_cell(&rows[0]), "2.0.0");
    }

    #[test]
    fn releases_without_helmrelease_are_rows_of_their_own_in_scope_only() {
        let mut all = stored("cron", "ops", &[rev(1, "1.0.0", "failed")]);
        all.extend(stored("other", "elsewhere", &[rev(1, "1.0.0", "deployed")]));
        // Owned by a HelmRelease in another namespace: not ownerless.
        all.extend(stored("kept", "ops", &[rev(1, "1.0.0", "deployed")]));
        let owner = hr(
            "flux-system",
            "kept",
            json!({"storageNamespace": "ops"}),
            json!({}),
        );
        let releases = Releases {
            releases: all,
            broken: Vec::new(),
        };
        let rows = rows(&[], &[owner], &releases, Some("ops"));
        assert_eq!(rows.len(), 2);
        let row = &rows[1];
        assert_eq!((row.namespace.as_str(), row.name.as_deref()), ("ops", None));
        assert_eq!(row.release.name, "cron");
        assert_eq!(row.status.as_deref(), Some("failed"));
        assert_eq!(row.deployed_version, None);
        assert_eq!(ready_cell(row), "no HelmRelease");
        // The owner outside the namespace listed is named with its namespace.
        let text = render(&rows, Some("ops"), &ctx(Output::Table)).unwrap_or_default();
        assert_eq!(
            text,
            "NAME               RELEASE   CHART   VERSION   REVISION   STATUS     READY            UPDATED\n\
             flux-system/kept   kept      -       1.0.0     1          deployed   -                Thu Oct  1 09:00:00 2026\n\
             -                  cron      cron    -         1          failed     no HelmRelease   Thu Oct  1 09:00:00 2026\n"
        );
    }

    #[test]
    fn corrupt_revisions_mark_the_release() {
        let error = StoredRelease::from_object(&json!({"kind": "Secret"}), "x")
            .err()
            .map(|e| BrokenRelease {
                release: Some(("apps".to_string(), "web".to_string())),
                error: e,
            });
        let releases = Releases {
            releases: stored("web", "apps", &[rev(1, "1.0.0", "deployed")]),
            broken: error.into_iter().collect(),
        };
        let rows = rows(&[], &[], &releases, None);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status.as_deref(), Some(CORRUPT));
        assert_eq!(status_style(CORRUPT), Some("31"));
    }

    #[test]
    fn table_aligns_and_names_other_storage_namespaces() {
        let releases = Releases {
            releases: stored("web", "store", &[rev(3, "1.0.0", "pending-upgrade")]),
            broken: Vec::new(),
        };
        let web = hr(
            "apps",
            "web",
            json!({"chart": {"spec": {"chart": "web", "version": "1.0.0"}}, "storageNamespace": "store"}),
            json!({"conditions": [{"type": "Ready", "status": "Unknown", "reason": "Progressing",
                "message": "Running 'upgrade'\naction"}]}),
        );
        let rows = rows(&[web], &[], &releases, Some("apps"));
        let text = render(&rows, Some("apps"), &ctx(Output::Wide)).unwrap_or_default();
        assert_eq!(
            text,
            "NAME   RELEASE     CHART   VERSION   REVISION   STATUS            READY                   UPDATED                    MESSAGE\n\
             web    store/web   web     1.0.0     3          pending-upgrade   Unknown (Progressing)   Thu Oct  1 09:00:00 2026   Running 'upgrade' action\n"
        );
    }

    #[test]
    fn json_rows_have_one_stable_shape() {
        let rows = rows(
            &[hr("apps", "a", chart_spec("a", Some("1.0.0")), json!({}))],
            &[],
            &Releases::default(),
            None,
        );
        let text = render(&rows, None, &ctx(Output::Json)).unwrap_or_default();
        let back: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(
            back,
            json!([{"namespace": "apps", "name": "a", "release": {"namespace": "apps", "name": "a"},
                "chart": "a", "desiredVersion": "1.0.0", "deployedVersion": null, "revision": null,
                "status": null, "ready": null, "suspended": false, "updated": null, "owned": true}])
        );
    }
}
