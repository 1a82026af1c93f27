//! `history`: the revisions of a release, like `helm history`.

use crate::cli::{HistoryArgs, Output};
use crate::output::{Cell, Table};
use crate::{Context, Error, Result, output};
use helmrelease_release::{History, Status, history};
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
        Output::Table | Output::Wide => {
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
                        cells
                    })
                    .collect(),
            };
            Ok(table.render(!ctx.no_headers, ctx.color))
        }
    }
}

/// Runs `history` over the inventory.
pub fn run(args: &HistoryArgs, ctx: &Context) -> Result<String> {
    let inventory = ctx.inventory()?;
    let namespace = ctx.namespace.as_deref();
    // A corrupt revision of this release makes its history wrong: say so instead of hiding it.
    if let Some(broken) = inventory.broken.iter().find(|b| {
        b.release
            .as_ref()
            .is_some_and(|(ns, name)| name == &args.name && namespace.is_none_or(|n| n == ns))
    }) {
        return Err(Error::Usage(broken.error.to_string()));
    }
    let mut found = history::find(&inventory.releases, &args.name, namespace);
    match found.len() {
        0 => Err(Error::NotFound(not_found_message(
            &args.name,
            namespace,
            &inventory.releases,
        ))),
        1 => render(&rows(&found.remove(0), args.max as usize), ctx),
        _ => {
            let namespaces: Vec<_> = found.iter().map(|h| h.namespace.as_str()).collect();
            Err(Error::Usage(format!(
                "release {:?} exists in namespaces {}; pick one with -n",
                args.name,
                namespaces.join(", ")
            )))
        }
    }
}

fn not_found_message(
    name: &str,
    namespace: Option<&str>,
    all: &[helmrelease_release::StoredRelease],
) -> String {
    let where_ = namespace
        .map(|ns| format!(" in namespace {ns:?}"))
        .unwrap_or_default();
    let known: Vec<String> = history::group(all)
        .keys()
        .map(|(ns, n)| format!("{ns}/{n}"))
        .collect();
    if known.is_empty() {
        format!("release {name:?} not found{where_}: the input holds no Helm releases")
    } else {
        format!(
            "release {name:?} not found{where_}; releases in the input: {}",
            known.join(", ")
        )
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
    fn sizes_are_human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(16_420), "16.0 KiB");
        assert_eq!(human_bytes(882_184), "861.5 KiB");
    }
}
