//! `history`: the revisions of a release, like `helm history`.

use crate::cli::{HistoryArgs, Output, ReleaseName};
use crate::input::{self, Decode};
use crate::output::{Cell, Table};
use crate::source::{Releases, Session};
use crate::target::{self, Target};
use crate::{Context, Error, Outcome, Result, output};
use helmrelease_release::{History, Status, StoredRelease, history};
use serde::Serialize;

/// One row, with the JSON keys `helm history -o json` uses.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Row {
    /// Revision number.
    pub revision: i64,
    /// Deployment time as stored (RFC 3339).
    pub updated: String,
    /// Status.
    pub status: String,
    /// `<chart>-<version>`.
    pub chart: String,
    /// Chart appVersion.
    pub app_version: String,
    /// Description.
    pub description: String,
    /// Stored payload bytes (only in `-o wide`).
    #[serde(skip)]
    pub stored_bytes: usize,
    /// Which Flux `status.history` snapshot points at this revision: `current` or `previous`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<&'static str>,
}

/// Rows of a history, oldest first, at most `max` of the newest.
pub fn rows(history: &History<'_>, max: usize) -> Vec<Row> {
    let skip = history.revisions.len().saturating_sub(max);
    history
        .revisions
        .iter()
        .skip(skip)
        .map(|r| Row {
            revision: r.release.version,
            updated: r.release.last_deployed().unwrap_or_default().to_string(),
            status: r.release.status().to_string(),
            chart: r.release.chart_label(),
            app_version: r.release.app_version().to_string(),
            description: r.release.description().to_string(),
            stored_bytes: r.stored_bytes,
            snapshot: None,
        })
        .collect()
}

/// Formats an RFC 3339 time like Go's `time.ANSIC` in the local zone, as `helm history` does.
pub fn ansic(rfc3339: &str, zone: &jiff::tz::TimeZone) -> String {
    match rfc3339.parse::<jiff::Timestamp>() {
        Ok(ts) => ts
            .to_zoned(zone.clone())
            .strftime("%a %b %e %H:%M:%S %Y")
            .to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

/// `1.6 KiB` style sizes.
pub fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn status_style(status: &str) -> Option<&'static str> {
    let status = Status::parse(status);
    match status {
        Status::Deployed => Some("32"),
        Status::Failed => Some("31"),
        _ if status.is_pending() => Some("33"),
        _ => None,
    }
}

/// Renders rows in the chosen format.
pub fn render(rows: &[Row], ctx: &Context) -> Result<String> {
    match ctx.output {
        Output::Json => output::json(&rows),
        Output::Yaml => output::yaml(&rows),
        Output::Table | Output::Wide | Output::Markdown => {
            let wide = ctx.output == Output::Wide;
            let mut headers = vec![
                "REVISION",
                "UPDATED",
                "STATUS",
                "CHART",
                "APP VERSION",
                "DESCRIPTION",
            ];
            if wide {
                headers.insert(5, "STORED");
            }
            let flux = rows.iter().any(|r| r.snapshot.is_some());
            if flux {
                headers.push("FLUX");
            }
            let table = Table {
                headers,
                rows: rows
                    .iter()
                    .map(|r| {
                        let mut cells: Vec<Cell> = vec![
                            r.revision.to_string().into(),
                            ansic(&r.updated, &ctx.time_zone).into(),
                            Cell {
                                text: r.status.clone(),
                                style: status_style(&r.status),
                            },
                            r.chart.clone().into(),
                            r.app_version.clone().into(),
                            r.description.clone().into(),
                        ];
                        if wide {
                            cells.insert(5, human_bytes(r.stored_bytes).into());
                        }
                        if flux {
                            cells.push(r.snapshot.unwrap_or_default().into());
                        }
                        cells
                    })
                    .collect(),
            };
            Ok(table.render(!ctx.no_headers, ctx.color))
        }
    }
}

/// Everything a command about one release needs: the session (for live objects and
/// events), the resolved target and its revisions.
pub fn open(ctx: &Context, name: &ReleaseName) -> Result<(Session, Target, Releases)> {
    open_with(ctx, name, Decode::Full)
}

/// [`open`], decoding revisions read from files as `decode` says.
fn open_with(
    ctx: &Context,
    name: &ReleaseName,
    decode: Decode,
) -> Result<(Session, Target, Releases)> {
    let mut session = session_with(ctx, decode)?;
    let target = target::resolve(&session, &name.name, name.release)?;
    let releases = session.releases(target.namespace.as_deref(), Some(&target.release))?;
    Ok((session, target, releases))
}

/// The session the flags name, revisions decoded as `decode` says.
fn session_with(ctx: &Context, decode: Decode) -> Result<Session> {
    if ctx.from_file.is_empty() || decode == Decode::Full {
        return Ok(ctx.session()?.with_decode(decode));
    }
    Ok(Session::from_inventory(
        input::load_with(&ctx.from_file, decode)?,
        ctx.namespace.clone(),
    ))
}

/// One `warning:` line per revision whose object name or labels disagree with the release
/// inside it. Helm shows such revisions as their payload says, without a word; so do we, but
/// say so.
pub fn disagreement_warnings(history: &History<'_>) -> String {
    object_warnings(history.revisions.iter().copied())
}

/// [`disagreement_warnings`] for any set of revisions (`drift -A` compares many releases).
pub fn object_warnings<'a>(revisions: impl IntoIterator<Item = &'a StoredRelease>) -> String {
    revisions
        .into_iter()
        .filter_map(|r| {
            let disagreements = r.disagreements();
            (!disagreements.is_empty()).then(|| {
                let what: Vec<String> = disagreements.iter().map(|d| d.to_string()).collect();
                format!(
                    "warning: {}: {}; shown as the release inside says, as Helm does\n",
                    r.describe(),
                    what.join("; ")
                )
            })
        })
        .collect()
}

/// Runs `history`.
pub fn run(args: &HistoryArgs, ctx: &Context) -> Result<Outcome> {
    // Rows show only what the summary decode keeps, so a long history of large releases is
    // never held whole.
    let (_, target, releases) = open_with(ctx, &args.target, Decode::Summary)?;
    let history = one_history(&releases, &target)?;
    let stderr = disagreement_warnings(&history);
    let mut rows = rows(&history, args.max as usize);
    if let Some(hr) = &target.helmrelease {
        let snapshots = target::snapshot_versions(&hr.object);
        for row in &mut rows {
            row.snapshot = match snapshots.iter().position(|v| *v == row.revision) {
                Some(0) => Some("current"),
                Some(_) => Some("previous"),
                None => None,
            };
        }
    }
    Ok(Outcome {
        stdout: render(&rows, ctx)?,
        stderr,
        ..Outcome::default()
    })
}

/// The one history a target names, or an error that says why there is none or several. A
/// corrupt revision makes a history wrong, so it is an error too.
pub fn one_history<'a>(releases: &'a Releases, target: &Target) -> Result<History<'a>> {
    let namespace = target.namespace.as_deref();
    if let Some(broken) = releases.broken.first() {
        return Err(Error::Usage(broken.error.to_string()));
    }
    let mut found = history::find(&releases.releases, &target.release, namespace);
    match found.len() {
        0 => Err(Error::NotFound(not_found_message(
            &target.release,
            namespace,
            target,
        ))),
        1 => Ok(found.remove(0)),
        _ => {
            let namespaces: Vec<_> = found.iter().map(|h| h.namespace.as_str()).collect();
            Err(Error::Usage(format!(
                "release {:?} exists in namespaces {}; pick one with -n",
                target.release,
                namespaces.join(", ")
            )))
        }
    }
}

fn not_found_message(name: &str, namespace: Option<&str>, target: &Target) -> String {
    let where_ = namespace
        .map(|ns| format!(" in namespace {ns:?}"))
        .unwrap_or_default();
    match &target.helmrelease {
        Some(hr) => format!(
            "HelmRelease {}/{} has no Helm release yet: no revision of release {name:?}{where_}",
            crate::source::str_at(&hr.object, "/metadata/namespace"),
            crate::source::str_at(&hr.object, "/metadata/name"),
        ),
        None => format!(
            "release {name:?} not found{where_}; `kubectl helmrelease list -A` shows the releases there are"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_like_go_ansic() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(
            ansic("2022-05-04T20:39:05.824701037+02:00", &utc),
            "Wed May  4 18:39:05 2022"
        );
        assert_eq!(
            ansic("2022-05-14T08:07:06Z", &utc),
            "Sat May 14 08:07:06 2022"
        );
        assert_eq!(ansic("not a time", &utc), "not a time");
    }

    #[test]
    fn json_rows_use_helms_keys_and_escape_properly() {
        let row = Row {
            revision: 3,
            updated: "2026-10-15T10:00:00Z".into(),
            status: "failed".into(),
            chart: "podinfo-6.6.0".into(),
            app_version: "6.6.0".into(),
            description: "Upgrade \"podinfo\" failed".into(),
            stored_bytes: 10,
            snapshot: None,
        };
        let json = output::json(&vec![row]).unwrap_or_default();
        let back: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(
            back,
            serde_json::json!([{"revision": 3, "updated": "2026-10-15T10:00:00Z", "status": "failed",
                "chart": "podinfo-6.6.0", "app_version": "6.6.0", "description": "Upgrade \"podinfo\" failed"}])
        );
    }

    #[test]
    fn one_warning_per_object_that_disagrees_with_its_payload() {
        let text = include_str!("../tests/data/mismatch-secrets.yaml");
        let inventory = crate::input::read_bytes("mismatch.yaml", text.as_bytes());
        let inventory = inventory.unwrap_or_else(|e| panic!("{e}"));
        let bar = history::find(&inventory.releases, "bar", Some("apps")).remove(0);
        assert_eq!(
            bar.revisions.len(),
            2,
            "both objects, as helm history lists them"
        );
        assert_eq!(
            disagreement_warnings(&bar),
            "warning: Secret apps/sh.helm.release.v1.bar.v2: the object name says \"v2\" but the release inside says \"v1\"; shown as the release inside says, as Helm does\n"
        );
        let foo2 = history::find(&inventory.releases, "foo2", None).remove(0);
        let warnings = disagreement_warnings(&foo2);
        assert_eq!(warnings.lines().count(), 1, "{warnings}");
        assert!(
            warnings.contains("the name label says \"foo2\" but the release inside says \"foooo\""),
            "{warnings}"
        );
        assert!(history::find(&inventory.releases, "foooo", None).is_empty());
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(16_420), "16.0 KiB");
        assert_eq!(human_bytes(882_184), "861.5 KiB");
    }
}
