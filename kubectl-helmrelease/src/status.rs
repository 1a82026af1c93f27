//! `status NAME`: why a HelmRelease is in the state it is, in one place: its chart and
//! source, failure counters and last attempt, conditions, Flux's release snapshots, the newest
//! stored revision and recent Events (what `flux debug hr` and `flux events --for` show, next to
//! what `helm status` shows). With `--release`, or for a release no HelmRelease is named after,
//! only the Helm release part.
//!
//! A [`Report`] is built by pure functions ([`helmrelease_report`], [`release_report`]) and
//! rendered as text, JSON or YAML from the same value. Values and Secret data are never part
//! of it.

use crate::cli::{Output, StatusArgs};
use crate::list::{self, one_line, status_style};
use crate::output::{Cell, Table};
use crate::source::{Releases, str_at};
use crate::{Context, Error, Result, history, output, target};
use helmrelease_release::StoredRelease;
use helmrelease_release::history::{self as release_history, History, ReleaseKey};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// Events shown in the text output; older ones are counted, not printed.
pub const MAX_EVENTS: usize = 20;

/// Everything `status` reports about a HelmRelease or a bare Helm release.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The HelmRelease; `None` when reporting on a Helm release alone.
    pub helm_release: Option<HelmReleaseInfo>,
    /// The Helm release and how many revisions it has in storage.
    pub release: ReleaseInfo,
    /// The HelmRelease that manages the release, when one does.
    pub managed_by: Option<ObjectRef>,
    /// The HelmRelease's conditions, in stored order.
    pub conditions: Vec<Condition>,
    /// Failure counters (HelmRelease only).
    pub failures: Option<Failures>,
    /// Remediation settings the counters are compared with (HelmRelease only).
    pub remediation: Option<Remediation>,
    /// What the controller last attempted (HelmRelease only, when it attempted anything).
    pub last_attempted: Option<LastAttempted>,
    /// `status.history`, newest first.
    pub snapshots: Vec<Snapshot>,
    /// The newest stored revision.
    pub latest_revision: Option<Revision>,
    /// The newest `deployed` revision.
    pub last_deployed_revision: Option<Revision>,
    /// Events about the HelmRelease, oldest first (all of them; text shows the last
    /// [`MAX_EVENTS`]).
    pub events: Vec<Event>,
}

/// A namespaced object.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// The HelmRelease object itself.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `status.observedGeneration`: the last generation that became Ready or stalled.
    pub observed_generation: Option<i64>,
    /// `spec.suspend`.
    pub suspended: bool,
    /// The chart it asks for.
    pub chart: ChartInfo,
    /// `status.helmChart`: the HelmChart source-controller builds for it.
    pub helm_chart: Option<String>,
}

/// The chart a HelmRelease asks for: `spec.chart.spec` or `spec.chartRef`.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChartInfo {
    /// Chart name (none for a chartRef).
    pub name: Option<String>,
    /// Version constraint (`*` when omitted; none for a chartRef).
    pub version: Option<String>,
    /// The source: `sourceRef`, or the chartRef itself.
    pub source: Option<SourceRef>,
    /// Whether the chart comes through `spec.chartRef`.
    pub chart_ref: bool,
}

/// A Flux source reference, its namespace defaulted as Flux does (the HelmRelease's).
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct SourceRef {
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// The Helm release a report is about.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct ReleaseInfo {
    /// Storage namespace.
    pub namespace: String,
    /// Release name.
    pub name: String,
    /// Decoded revisions in storage.
    pub revisions: usize,
    /// Errors of release objects that did not decode.
    pub corrupt: Vec<String>,
}

/// A status condition.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Type (`Ready`, `Released`, ...).
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// When the status last changed (RFC 3339).
    pub last_transition_time: Option<String>,
    /// Generation the condition was computed for.
    pub observed_generation: Option<i64>,
}

/// Failure counters, reset by Flux when the desired state changes.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Failures {
    /// `status.failures`: every failure against the current desired state.
    pub total: i64,
    /// `status.installFailures`.
    pub install: i64,
    /// `status.upgradeFailures`.
    pub upgrade: i64,
}

/// Remediation settings: how many failures Flux retries before it stalls.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    /// `spec.install.remediation.retries` (0 when unset; negative means forever).
    pub install_retries: i64,
    /// `spec.upgrade.remediation.retries`.
    pub upgrade_retries: i64,
    /// `spec.upgrade.remediation.strategy` (`rollback` when unset).
    pub upgrade_strategy: String,
}

/// The last attempted action, from `status.lastAttempted*`.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LastAttempted {
    /// `install` or `upgrade`.
    pub action: Option<String>,
    /// Chart version attempted.
    pub revision: Option<String>,
    /// OCI artifact digest attempted.
    pub revision_digest: Option<String>,
    /// Digest of the composed values attempted.
    pub config_digest: Option<String>,
    /// Generation attempted.
    pub generation: Option<i64>,
    /// How long the action took.
    pub duration: Option<String>,
}

/// One `status.history` snapshot.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Release revision.
    pub revision: Option<i64>,
    /// Helm status when the snapshot was taken.
    pub status: String,
    /// Chart name.
    pub chart_name: String,
    /// Chart version.
    pub chart_version: String,
    /// App version.
    pub app_version: String,
    /// Action that produced it (newer Flux versions record it).
    pub action: Option<String>,
    /// Deployment time (RFC 3339).
    pub last_deployed: Option<String>,
    /// Digest of the values.
    pub config_digest: Option<String>,
}

/// A stored revision, summarised as `helm status` would.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    /// Revision number.
    pub revision: i64,
    /// Helm status.
    pub status: String,
    /// Description.
    pub description: String,
    /// `<chart>-<version>`.
    pub chart: String,
    /// App version.
    pub app_version: String,
    /// Deployment time (RFC 3339).
    pub updated: Option<String>,
}

/// An Event about the HelmRelease.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// When it was last seen (RFC 3339).
    pub time: String,
    /// How many times it was seen.
    pub count: i64,
}

fn nonempty(object: &Value, pointer: &str) -> Option<String> {
    Some(str_at(object, pointer)).filter(|s| !s.is_empty())
}

fn int_at(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

/// The conditions of a HelmRelease, in stored order.
pub fn conditions(hr: &Value) -> Vec<Condition> {
    hr.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .map(|c| Condition {
                    type_: str_at(c, "/type"),
                    status: str_at(c, "/status"),
                    reason: str_at(c, "/reason"),
                    message: str_at(c, "/message"),
                    last_transition_time: nonempty(c, "/lastTransitionTime"),
                    observed_generation: int_at(c, "/observedGeneration"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The snapshots of `status.history`, newest first as Flux keeps them.
pub fn snapshots(hr: &Value) -> Vec<Snapshot> {
    hr.pointer("/status/history")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .map(|s| Snapshot {
                    revision: int_at(s, "/version"),
                    status: str_at(s, "/status"),
                    chart_name: str_at(s, "/chartName"),
                    chart_version: str_at(s, "/chartVersion"),
                    app_version: str_at(s, "/appVersion"),
                    action: nonempty(s, "/action"),
                    last_deployed: nonempty(s, "/lastDeployed"),
                    config_digest: nonempty(s, "/configDigest"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An Event object as the report shows it.
pub fn event(object: &Value) -> Event {
    // Core Events carry lastTimestamp; events.k8s.io-style ones only eventTime.
    let time = [
        "/lastTimestamp",
        "/eventTime",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| nonempty(object, p))
    .unwrap_or_default();
    Event {
        type_: str_at(object, "/type"),
        reason: str_at(object, "/reason"),
        message: str_at(object, "/message"),
        time,
        count: int_at(object, "/count")
            .or_else(|| int_at(object, "/series/count"))
            .unwrap_or(1),
    }
}

fn chart_info(hr: &Value) -> ChartInfo {
    let own_namespace = str_at(hr, "/metadata/namespace");
    let source = |pointer: &str| {
        hr.pointer(pointer).map(|r| SourceRef {
            kind: str_at(r, "/kind"),
            namespace: nonempty(r, "/namespace").unwrap_or_else(|| own_namespace.clone()),
            name: str_at(r, "/name"),
        })
    };
    if hr.pointer("/spec/chartRef").is_some() {
        ChartInfo {
            name: None,
            version: None,
            source: source("/spec/chartRef"),
            chart_ref: true,
        }
    } else {
        ChartInfo {
            name: nonempty(hr, "/spec/chart/spec/chart"),
            // The CRD defaults an omitted version to `*`.
            version: Some(
                nonempty(hr, "/spec/chart/spec/version").unwrap_or_else(|| "*".to_string()),
            ),
            source: source("/spec/chart/spec/sourceRef"),
            chart_ref: false,
        }
    }
}

fn revision(stored: &StoredRelease) -> Revision {
    let release = &stored.release;
    Revision {
        revision: release.version,
        status: release.status().to_string(),
        description: release.description().to_string(),
        chart: release.chart_label(),
        app_version: release.app_version().to_string(),
        updated: release.last_deployed().map(str::to_string),
    }
}

/// The release part of a report: `releases` holds the revisions read for the release `key`.
fn release_part(
    key: &ReleaseKey,
    releases: &Releases,
) -> (ReleaseInfo, Option<Revision>, Option<Revision>) {
    // Selected by the `name` label, as Helm selects them (and `history` shows them).
    let found = release_history::find(&releases.releases, &key.1, Some(&key.0));
    let history: Option<&History<'_>> = found.first();
    let info = ReleaseInfo {
        namespace: key.0.clone(),
        name: key.1.clone(),
        revisions: history.map_or(0, |h| h.revisions.len()),
        corrupt: releases
            .broken
            .iter()
            .filter(|b| b.release.as_ref() == Some(key))
            .map(|b| b.error.to_string())
            .collect(),
    };
    let latest = history.and_then(History::latest).map(revision);
    let deployed = history.and_then(History::last_deployed).map(revision);
    (info, latest, deployed)
}

fn object_ref(object: &Value) -> ObjectRef {
    ObjectRef {
        namespace: str_at(object, "/metadata/namespace"),
        name: str_at(object, "/metadata/name"),
    }
}

/// The report on a HelmRelease: its object, the revisions of its release (`releases` may hold
/// more; only the HelmRelease's release is used) and the Events about it, oldest first.
pub fn helmrelease_report(hr: &Value, releases: &Releases, events: &[Value]) -> Report {
    let key = target::release_of(hr);
    let (release, latest_revision, last_deployed_revision) = release_part(&key, releases);
    let last_attempted = LastAttempted {
        action: nonempty(hr, "/status/lastAttemptedReleaseAction"),
        revision: nonempty(hr, "/status/lastAttemptedRevision"),
        revision_digest: nonempty(hr, "/status/lastAttemptedRevisionDigest"),
        config_digest: nonempty(hr, "/status/lastAttemptedConfigDigest"),
        generation: int_at(hr, "/status/lastAttemptedGeneration"),
        duration: nonempty(hr, "/status/lastAttemptedReleaseActionDuration"),
    };
    let attempted = last_attempted.action.is_some()
        || last_attempted.revision.is_some()
        || last_attempted.generation.is_some();
    let reference = object_ref(hr);
    Report {
        helm_release: Some(HelmReleaseInfo {
            namespace: reference.namespace.clone(),
            name: reference.name.clone(),
            generation: int_at(hr, "/metadata/generation"),
            observed_generation: int_at(hr, "/status/observedGeneration"),
            suspended: hr.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true),
            chart: chart_info(hr),
            helm_chart: nonempty(hr, "/status/helmChart"),
        }),
        release,
        managed_by: Some(reference),
        conditions: conditions(hr),
        failures: Some(Failures {
            total: int_at(hr, "/status/failures").unwrap_or(0),
            install: int_at(hr, "/status/installFailures").unwrap_or(0),
            upgrade: int_at(hr, "/status/upgradeFailures").unwrap_or(0),
        }),
        remediation: Some(Remediation {
            install_retries: int_at(hr, "/spec/install/remediation/retries").unwrap_or(0),
            upgrade_retries: int_at(hr, "/spec/upgrade/remediation/retries").unwrap_or(0),
            upgrade_strategy: nonempty(hr, "/spec/upgrade/remediation/strategy")
                .unwrap_or_else(|| "rollback".to_string()),
        }),
        last_attempted: attempted.then_some(last_attempted),
        snapshots: snapshots(hr),
        latest_revision,
        last_deployed_revision,
        events: events.iter().map(event).collect(),
    }
}

/// The report on a Helm release alone: its revisions and the HelmRelease that owns it, if
/// any HelmRelease does.
pub fn release_report(key: &ReleaseKey, releases: &Releases, owner: Option<&Value>) -> Report {
    let (release, latest_revision, last_deployed_revision) = release_part(key, releases);
    Report {
        helm_release: None,
        release,
        managed_by: owner.map(object_ref),
        conditions: Vec::new(),
        failures: None,
        remediation: None,
        last_attempted: None,
        snapshots: Vec::new(),
        latest_revision,
        last_deployed_revision,
        events: Vec::new(),
    }
}

/// Width of the labels in the text output, so values line up like `kubectl describe`.
const LABEL_WIDTH: usize = 18;

fn field(out: &mut String, label: &str, value: &str) {
    let label = format!("{label}:");
    let pad = LABEL_WIDTH.saturating_sub(label.len()).max(1);
    out.push_str(&label);
    out.extend(std::iter::repeat_n(' ', pad));
    out.push_str(value);
    out.push('\n');
}

/// A section: its label on a line of its own with a table below, or `<none>`.
fn section(out: &mut String, label: &str, table: Option<Table>, color: bool) {
    match table.filter(|t| !t.rows.is_empty()) {
        Some(table) => {
            out.push_str(label);
            out.push_str(":\n");
            for line in table.render(true, color).lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
        None => field(out, label, "<none>"),
    }
}

fn or_dash(value: Option<i64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn release_text(info: &ReleaseInfo) -> String {
    let stored = match info.revisions {
        0 => "no revisions stored".to_string(),
        1 => "1 revision stored".to_string(),
        n => format!("{n} revisions stored"),
    };
    let corrupt = match info.corrupt.len() {
        0 => String::new(),
        n => format!(", {n} corrupt"),
    };
    format!("{}/{} ({stored}{corrupt})", info.namespace, info.name)
}

fn chart_text(chart: &ChartInfo) -> String {
    let source = chart
        .source
        .as_ref()
        .map(|s| format!("{} {}/{}", s.kind, s.namespace, s.name))
        .unwrap_or_default();
    if chart.chart_ref {
        return format!("{source} (spec.chartRef)");
    }
    let mut text = [chart.name.as_deref(), chart.version.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !source.is_empty() {
        text.push_str(" from ");
        text.push_str(&source);
    }
    text
}

fn generation_text(info: &HelmReleaseInfo) -> String {
    let generation = or_dash(info.generation);
    // Flux starts observedGeneration at -1: nothing observed yet.
    match info.observed_generation.filter(|o| *o >= 0) {
        None => format!("{generation} (not observed yet)"),
        Some(o) if info.generation.is_some_and(|g| o < g) => {
            format!("{generation} (observed {o}: the latest spec is not reconciled yet)")
        }
        Some(o) => format!("{generation} (observed {o})"),
    }
}

fn last_attempted_text(last: Option<&LastAttempted>) -> String {
    let Some(last) = last else {
        return "never".to_string();
    };
    let parts: Vec<String> = [
        last.action.clone(),
        last.revision.as_ref().map(|r| format!("chart {r}")),
        last.revision_digest.as_ref().map(|d| format!("digest {d}")),
        last.config_digest.as_ref().map(|d| format!("config {d}")),
        last.generation.map(|g| format!("generation {g}")),
        last.duration.as_ref().map(|d| format!("took {d}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    parts.join(", ")
}

fn revision_text(rev: &Revision, ctx: &Context) -> String {
    let mut parts = vec![format!("{} {}", rev.revision, rev.status)];
    if !rev.chart.is_empty() {
        if rev.app_version.is_empty() {
            parts.push(rev.chart.clone());
        } else {
            parts.push(format!("{} (app {})", rev.chart, rev.app_version));
        }
    }
    if let Some(t) = &rev.updated {
        parts.push(history::ansic(t, &ctx.time_zone));
    }
    if !rev.description.is_empty() {
        parts.push(format!("{:?}", rev.description));
    }
    parts.join(", ")
}

fn time_text(time: Option<&str>, ctx: &Context) -> String {
    time.map_or_else(|| "-".to_string(), |t| history::ansic(t, &ctx.time_zone))
}

fn conditions_table(conditions: &[Condition], ctx: &Context) -> Table {
    Table {
        headers: vec!["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"],
        rows: conditions
            .iter()
            .map(|c| {
                vec![
                    c.type_.clone().into(),
                    c.status.clone().into(),
                    c.reason.clone().into(),
                    time_text(c.last_transition_time.as_deref(), ctx).into(),
                    one_line(&c.message).into(),
                ]
            })
            .collect(),
    }
}

fn snapshots_table(snapshots: &[Snapshot], ctx: &Context) -> Table {
    let actions = snapshots.iter().any(|s| s.action.is_some());
    let mut headers = vec![
        "REVISION",
        "STATUS",
        "CHART",
        "APP VERSION",
        "DEPLOYED",
        "CONFIG DIGEST",
    ];
    if actions {
        headers.insert(2, "ACTION");
    }
    Table {
        headers,
        rows: snapshots
            .iter()
            .map(|s| {
                let mut cells: Vec<Cell> = vec![
                    or_dash(s.revision).into(),
                    Cell {
                        text: s.status.clone(),
                        style: status_style(&s.status),
                    },
                    format!("{}-{}", s.chart_name, s.chart_version).into(),
                    s.app_version.clone().into(),
                    time_text(s.last_deployed.as_deref(), ctx).into(),
                    s.config_digest.clone().unwrap_or_default().into(),
                ];
                if actions {
                    cells.insert(2, s.action.clone().unwrap_or_default().into());
                }
                cells
            })
            .collect(),
    }
}

fn events_table(events: &[Event], ctx: &Context) -> Table {
    Table {
        headers: vec!["LAST SEEN", "TYPE", "REASON", "MESSAGE"],
        rows: events
            .iter()
            .map(|e| {
                let mut seen = history::ansic(&e.time, &ctx.time_zone);
                if e.count > 1 {
                    seen.push_str(&format!(" (x{})", e.count));
                }
                vec![
                    seen.into(),
                    e.type_.clone().into(),
                    e.reason.clone().into(),
                    one_line(&e.message).into(),
                ]
            })
            .collect(),
    }
}

fn revisions_text(out: &mut String, report: &Report, ctx: &Context) {
    let Some(latest) = &report.latest_revision else {
        field(out, "Latest revision", "<none>");
        return;
    };
    field(out, "Latest revision", &revision_text(latest, ctx));
    let deployed = match &report.last_deployed_revision {
        Some(d) if d.revision == latest.revision => format!("{} (the latest)", d.revision),
        Some(d) => revision_text(d, ctx),
        None => "<none>".to_string(),
    };
    field(out, "Last deployed", &deployed);
}

/// The report as `kubectl describe`-like text.
pub fn text(report: &Report, ctx: &Context) -> String {
    let mut out = String::new();
    let Some(hr) = &report.helm_release else {
        field(&mut out, "Release", &release_text(&report.release));
        for error in &report.release.corrupt {
            field(&mut out, "Corrupt", error);
        }
        let managed = match &report.managed_by {
            Some(owner) => format!(
                "{}/{} manages this release (`kubectl helmrelease status {} -n {}` explains it)",
                owner.namespace, owner.name, owner.name, owner.namespace
            ),
            None => "<none>: no HelmRelease manages this release".to_string(),
        };
        field(&mut out, "HelmRelease", &managed);
        revisions_text(&mut out, report, ctx);
        return out;
    };
    field(
        &mut out,
        "HelmRelease",
        &format!("{}/{}", hr.namespace, hr.name),
    );
    field(&mut out, "Release", &release_text(&report.release));
    for error in &report.release.corrupt {
        field(&mut out, "Corrupt", error);
    }
    field(&mut out, "Chart", &chart_text(&hr.chart));
    if let Some(helm_chart) = &hr.helm_chart {
        field(&mut out, "HelmChart", helm_chart);
    }
    field(&mut out, "Suspended", &hr.suspended.to_string());
    field(&mut out, "Generation", &generation_text(hr));
    field(
        &mut out,
        "Last attempted",
        &last_attempted_text(report.last_attempted.as_ref()),
    );
    if let Some(f) = &report.failures {
        field(
            &mut out,
            "Failures",
            &format!("{} (install {}, upgrade {})", f.total, f.install, f.upgrade),
        );
    }
    if let Some(r) = &report.remediation {
        field(
            &mut out,
            "Remediation",
            &format!(
                "install retries {}, upgrade retries {} (strategy {})",
                r.install_retries, r.upgrade_retries, r.upgrade_strategy
            ),
        );
    }
    section(
        &mut out,
        "Conditions",
        Some(conditions_table(&report.conditions, ctx)),
        ctx.color,
    );
    section(
        &mut out,
        "Snapshots (status.history)",
        Some(snapshots_table(&report.snapshots, ctx)),
        ctx.color,
    );
    revisions_text(&mut out, report, ctx);
    let skip = report.events.len().saturating_sub(MAX_EVENTS);
    let label = if skip > 0 {
        format!("Events (last {MAX_EVENTS} of {})", report.events.len())
    } else {
        "Events".to_string()
    };
    section(
        &mut out,
        &label,
        Some(events_table(&report.events[skip..], ctx)),
        ctx.color,
    );
    out
}

/// Renders the report in the chosen format; `-o wide` is the text.
pub fn render(report: &Report, ctx: &Context) -> Result<String> {
    match ctx.output {
        Output::Json => output::json(report),
        Output::Yaml => output::yaml(report),
        Output::Table | Output::Wide | Output::Markdown => Ok(text(report, ctx)),
    }
}

/// The one release named `name` among what was read, or why there is none or several.
fn one_release(
    releases: &Releases,
    name: &str,
    namespace: Option<&str>,
    by_release: bool,
) -> Result<ReleaseKey> {
    let wanted = |(ns, n): &ReleaseKey| n == name && namespace.is_none_or(|want| want == ns);
    let keys: BTreeSet<ReleaseKey> = releases
        .releases
        .iter()
        // By the `name` label, as Helm selects a release's objects (its payload may say
        // otherwise; `history` warns about that).
        .map(|r| (r.namespace.clone(), r.listed_name().to_string()))
        .chain(releases.broken.iter().filter_map(|b| b.release.clone()))
        .filter(|k| wanted(k))
        .collect();
    let mut keys = keys.into_iter();
    match (keys.next(), keys.next()) {
        (Some(key), None) => Ok(key),
        (None, _) => {
            let place = namespace.map_or_else(
                || "in any namespace".to_string(),
                |ns| format!("in namespace {ns:?}"),
            );
            let what = if by_release {
                format!("release {name:?} not found {place}")
            } else {
                format!("no HelmRelease or Helm release named {name:?} {place}")
            };
            Err(Error::NotFound(format!(
                "{what}; `kubectl helmrelease list` shows what there is"
            )))
        }
        (Some(first), Some(second)) => {
            let mut namespaces = vec![first.0, second.0];
            namespaces.extend(keys.map(|k| k.0));
            Err(Error::Usage(format!(
                "release {name:?} exists in namespaces {}; pick one with -n",
                namespaces.join(", ")
            )))
        }
    }
}

/// Runs `status`.
pub fn run(args: &StatusArgs, ctx: &Context) -> Result<crate::get::Printed> {
    let mut session = ctx.session()?;
    let target = target::resolve(&session, &args.target.name, args.target.release)?;
    let releases = session.releases(target.namespace.as_deref(), Some(&target.release))?;
    let report = match &target.helmrelease {
        Some(hr) => {
            let namespace = str_at(&hr.object, "/metadata/namespace");
            let name = str_at(&hr.object, "/metadata/name");
            let events = session.events(&namespace, "HelmRelease", &name)?;
            helmrelease_report(&hr.object, &releases, &events)
        }
        None => {
            let key = one_release(
                &releases,
                &target.release,
                target.namespace.as_deref(),
                args.target.release,
            )?;
            let owners = list::all_helmreleases(&session, session.namespace.as_deref())?;
            let owner = owners.iter().find(|hr| target::release_of(hr) == key);
            release_report(&key, &releases, owner)
        }
    };
    Ok(crate::get::Printed {
        stdout: render(&report, ctx)?,
        // Revisions whose object disagrees with the release inside, as history warns.
        stderr: crate::history::object_warnings(releases.releases.iter()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::demo_cluster;
    use crate::input::BrokenRelease;
    use serde_json::json;

    /// Items of every `kind: List` of the demo cluster.
    fn demo_items() -> Vec<Value> {
        demo_cluster()
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(_, list)| list["items"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    fn demo(kind: &str, namespace: &str, name: &str) -> Value {
        demo_items()
            .into_iter()
            .find(|o| {
                str_at(o, "/kind") == kind
                    && str_at(o, "/metadata/namespace") == namespace
                    && str_at(o, "/metadata/name") == name
            })
            .unwrap_or_default()
    }

    fn demo_releases(namespace: &str, name: &str) -> Releases {
        Releases {
            releases: demo_items()
                .iter()
                .filter(|o| str_at(o, "/kind") == "Secret")
                .filter_map(|o| StoredRelease::from_object(o, "").ok())
                .filter(|r| r.namespace == namespace && r.release.name == name)
                .collect(),
            broken: Vec::new(),
        }
    }

    fn demo_events(namespace: &str, name: &str) -> Vec<Value> {
        demo_items()
            .into_iter()
            .filter(|o| {
                str_at(o, "/kind") == "Event"
                    && str_at(o, "/metadata/namespace") == namespace
                    && str_at(o, "/involvedObject/name") == name
            })
            .collect()
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
    fn a_rolled_back_helmrelease_is_explained() {
        let hr = demo("HelmRelease", "apps", "podinfo");
        let report = helmrelease_report(
            &hr,
            &demo_releases("apps", "podinfo"),
            &demo_events("apps", "podinfo"),
        );
        assert_eq!(report.release.revisions, 4);
        assert_eq!(
            report.failures,
            Some(Failures {
                total: 1,
                install: 0,
                upgrade: 1
            })
        );
        assert_eq!(report.conditions.len(), 3);
        assert_eq!(report.snapshots.first().and_then(|s| s.revision), Some(4));
        let latest = report
            .latest_revision
            .clone()
            .unwrap_or_else(|| panic!("no latest"));
        assert_eq!((latest.revision, latest.status.as_str()), (4, "deployed"));
        assert_eq!(latest.description, "Rollback to 2");
        assert_eq!(report.events.len(), 2);
        assert_eq!(report.events[0].reason, "UpgradeFailed");

        let text = text(&report, &ctx(Output::Table));
        assert!(text.starts_with("HelmRelease:      apps/podinfo\nRelease:          apps/podinfo (4 revisions stored)\nChart:            podinfo 6.6.0 from HelmRepository flux-system/podinfo\n"), "{text}");
        assert!(
            text.contains(
                "\nLast attempted:   upgrade, chart 6.6.0, config sha256:4f1c, generation 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\nLast deployed:    4 (the latest)\n"),
            "{text}"
        );
        assert!(text.contains("\n  4          deployed   podinfo-6.5.4   6.5.4         Thu Oct 15 10:05:00 2026   sha256:9c2e\n"), "{text}");
    }

    #[test]
    fn a_helmrelease_without_release_or_attempt_says_so() {
        let hr = json!({"metadata": {"name": "web", "namespace": "apps", "generation": 3},
            "spec": {"chartRef": {"kind": "OCIRepository", "name": "web"}, "suspend": true},
            "status": {"observedGeneration": 2}});
        let report = helmrelease_report(&hr, &Releases::default(), &[]);
        assert_eq!(report.latest_revision, None);
        assert_eq!(report.last_attempted, None);
        let text = text(&report, &ctx(Output::Table));
        assert_eq!(
            text,
            "HelmRelease:      apps/web\n\
             Release:          apps/web (no revisions stored)\n\
             Chart:            OCIRepository apps/web (spec.chartRef)\n\
             Suspended:        true\n\
             Generation:       3 (observed 2: the latest spec is not reconciled yet)\n\
             Last attempted:   never\n\
             Failures:         0 (install 0, upgrade 0)\n\
             Remediation:      install retries 0, upgrade retries 0 (strategy rollback)\n\
             Conditions:       <none>\n\
             Snapshots (status.history): <none>\n\
             Latest revision:  <none>\n\
             Events:           <none>\n"
        );
    }

    #[test]
    fn a_bare_release_names_its_owner_or_says_there_is_none() {
        let key = ("data".to_string(), "redis".to_string());
        let releases = demo_releases("data", "redis");
        let report = release_report(&key, &releases, None);
        let text_of = |r: &Report| text(r, &ctx(Output::Table));
        assert_eq!(
            text_of(&report),
            "Release:          data/redis (2 revisions stored)\n\
             HelmRelease:      <none>: no HelmRelease manages this release\n\
             Latest revision:  2 pending-upgrade, redis-18.2.0 (app 7.2.3), Tue Oct 20 12:00:00 2026, \"Preparing upgrade\"\n\
             Last deployed:    1 deployed, redis-18.1.0 (app 7.2.1), Sun Sep 20 12:00:00 2026, \"Install complete\"\n"
        );
        let owner = demo("HelmRelease", "data", "redis");
        let report = release_report(&key, &releases, Some(&owner));
        assert!(text_of(&report).contains("HelmRelease:      data/redis manages this release"));
    }

    #[test]
    fn events_beyond_the_limit_are_counted_not_printed() {
        let events: Vec<Value> = (0..25)
            .map(|i| {
                json!({"type": "Normal", "reason": format!("R{i:02}"), "message": "m",
                "eventTime": format!("2026-10-01T09:{i:02}:00Z"), "series": {"count": 2}})
            })
            .collect();
        let report = helmrelease_report(
            &json!({"metadata": {"name": "a"}}),
            &Releases::default(),
            &events,
        );
        assert_eq!(report.events.len(), 25);
        assert_eq!(report.events[0].count, 2);
        let text = text(&report, &ctx(Output::Table));
        assert!(text.contains("Events (last 20 of 25):\n"), "{text}");
        assert!(!text.contains("R04"), "{text}");
        assert!(
            text.contains("Thu Oct  1 09:05:00 2026 (x2)   Normal   R05"),
            "{text}"
        );
    }

    #[test]
    fn corrupt_revisions_are_reported() {
        let key = ("apps".to_string(), "web".to_string());
        let broken = StoredRelease::from_object(&json!({"kind": "Secret"}), "dump.yaml")
            .err()
            .map(|error| BrokenRelease {
                release: Some(key.clone()),
                error,
            });
        let releases = Releases {
            releases: Vec::new(),
            broken: broken.into_iter().collect(),
        };
        assert_eq!(
            one_release(&releases, "web", None, false).ok(),
            Some(key.clone())
        );
        let report = release_report(&key, &releases, None);
        assert_eq!(report.release.corrupt.len(), 1);
        assert!(
            text(&report, &ctx(Output::Table))
                .contains("(no revisions stored, 1 corrupt)\nCorrupt:          dump.yaml")
        );
    }

    #[test]
    fn unknown_and_ambiguous_names_are_errors() {
        let err = one_release(&Releases::default(), "nginx", Some("apps"), false)
            .err()
            .map(|e| (e.metric_label(), e.to_string()));
        assert_eq!(
            err,
            Some((
                "not_found",
                "no HelmRelease or Helm release named \"nginx\" in namespace \"apps\"; `kubectl helmrelease list` shows what there is".to_string()
            ))
        );
        let mut both = demo_releases("apps", "podinfo");
        both.releases.extend(
            demo_releases("apps", "podinfo")
                .releases
                .into_iter()
                .map(|mut r| {
                    r.namespace = "other".into();
                    r
                }),
        );
        let err = one_release(&both, "podinfo", None, true)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("release \"podinfo\" exists in namespaces apps, other; pick one with -n")
        );
    }

    #[test]
    fn json_uses_camel_case_and_never_values() {
        let hr = demo("HelmRelease", "apps", "podinfo");
        let report = helmrelease_report(&hr, &demo_releases("apps", "podinfo"), &[]);
        let text = render(&report, &ctx(Output::Json)).unwrap_or_default();
        let back: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(
            back["helmRelease"]["chart"]["source"]["namespace"],
            "flux-system"
        );
        assert_eq!(back["lastAttempted"]["configDigest"], "sha256:4f1c");
        assert_eq!(back["latestRevision"]["appVersion"], "6.5.4");
        assert_eq!(
            back["conditions"][0]["lastTransitionTime"],
            "2026-10-15T10:05:03Z"
        );
        assert!(!text.contains("replicaCount"), "{text}");
    }
}
