//! `diff NAME`: what changed between two revisions of a release, object by object, and in the
//! values. Exit code 0 when the revisions are the same, 1 when they differ.

use crate::cli::{DiffArgs, Output};
use crate::get::pick;
use crate::history;
use crate::values::SecretValues;
use crate::{Context, Error, Outcome, Result, output};
use helmrelease_diff::objects::{Change, ManifestDiff, Options, diff_manifests, values_diff};
use helmrelease_diff::unified::colorize;
use helmrelease_diff::{ObjectKey, parse_manifest};
use helmrelease_release::StoredRelease;
use serde::Serialize;
use serde_json::Value;

/// The `-o json` document: stable keys, camelCase.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Release namespace.
    pub namespace: String,
    /// Release name.
    pub release: String,
    /// The revision compared from.
    pub from: Side,
    /// The revision compared to.
    pub to: Side,
    /// Objects that changed, were added or removed, and how many did not change.
    pub manifest: ManifestDiff,
    /// Unified diff of the user-supplied values (empty when equal); masked where they came
    /// from Secrets.
    pub values: String,
    /// Counts.
    pub summary: Summary,
}

/// One side of the comparison.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    /// Revision number.
    pub revision: i64,
    /// `<chart>-<version>`.
    pub chart: String,
    /// Helm status.
    pub status: String,
}

/// Numbers for the summary line.
#[derive(Serialize, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Objects changed.
    pub changed: usize,
    /// Objects added.
    pub added: usize,
    /// Objects removed.
    pub removed: usize,
    /// Whether the values differ.
    pub values_changed: bool,
}

impl Summary {
    fn line(&self) -> String {
        format!(
            "{} changed, {} added, {} removed{}",
            self.changed,
            self.added,
            self.removed,
            if self.values_changed {
                "; values changed"
            } else {
                ""
            }
        )
    }

    fn differ(&self) -> bool {
        self.changed + self.added + self.removed > 0 || self.values_changed
    }
}

/// Runs `diff`.
pub fn run(args: &DiffArgs, ctx: &Context) -> Result<Outcome> {
    let (_, target, releases) = history::open(ctx, &args.target)?;
    let history = history::one_history(&releases, &target)?;
    let to = pick(&history, args.to_revision)?;
    let from = match args.revision {
        Some(r) => pick(&history, Some(r))?,
        None => history
            .revisions
            .iter()
            .rev()
            .find(|r| r.release.version < to.release.version)
            .copied()
            .ok_or_else(|| {
                Error::Usage(format!(
                    "release {:?} has no revision before {} to compare with; pass --revision",
                    history.name, to.release.version
                ))
            })?,
    };
    let secrets = if ctx.show_secrets {
        SecretValues::default()
    } else {
        SecretValues::of(target.helmrelease.as_ref().map(|hr| &hr.object))
    };
    let report = compare(from, to, args.unified, ctx.show_secrets, &secrets)?;
    let stdout = match ctx.output {
        Output::Json => output::json(&report)?,
        Output::Yaml => output::yaml(&report)?,
        Output::Table | Output::Wide => text(&report, ctx.color),
    };
    Ok(Outcome {
        stdout,
        stderr: String::new(),
        code: u8::from(report.summary.differ()),
    })
}

/// Compares two stored revisions. Pure.
pub fn compare(
    from: &StoredRelease,
    to: &StoredRelease,
    context: usize,
    show_secrets: bool,
    secrets: &SecretValues,
) -> Result<Report> {
    let label = |r: &StoredRelease| format!("revision {}", r.release.version);
    let objects = |r: &StoredRelease| {
        parse_manifest(
            &r.release.manifest,
            &format!("manifest of {}", r.describe()),
        )
        .map_err(|e| Error::Parse {
            origin: r.describe(),
            message: e.to_string(),
        })
    };
    let manifest = diff_manifests(
        &objects(from)?,
        &objects(to)?,
        &to.release.namespace,
        &label(from),
        &label(to),
        Options {
            context,
            show_secrets,
        },
    );
    let mut old = Value::Object(from.release.config.clone().unwrap_or_default());
    let mut new = Value::Object(to.release.config.clone().unwrap_or_default());
    secrets.mask_pair(&mut old, &mut new);
    let values = values_diff(
        &old,
        &new,
        &format!("values ({})", label(from)),
        &format!("values ({})", label(to)),
        context,
    );
    let summary = Summary {
        changed: manifest.count(Change::Changed),
        added: manifest.count(Change::Added),
        removed: manifest.count(Change::Removed),
        values_changed: !values.is_empty(),
    };
    let side = |r: &StoredRelease| Side {
        revision: r.release.version,
        chart: r.release.chart_label(),
        status: r.release.status().to_string(),
    };
    Ok(Report {
        namespace: to.release.namespace.clone(),
        release: to.release.name.clone(),
        from: side(from),
        to: side(to),
        manifest,
        values,
        summary,
    })
}

/// The human form: a heading, each object's diff, the values diff, the summary line.
pub fn text(report: &Report, color: bool) -> String {
    let paint = |s: &str| if color { colorize(s) } else { s.to_string() };
    let mut out = format!(
        "Release {}/{}: revision {} ({}, {}) -> revision {} ({}, {})\n",
        report.namespace,
        report.release,
        report.from.revision,
        report.from.chart,
        report.from.status,
        report.to.revision,
        report.to.chart,
        report.to.status
    );
    for change in &report.manifest.changes {
        out.push_str(&format!(
            "\n{}: {}\n",
            verb(change.change),
            title(&change.key)
        ));
        out.push_str(&paint(&change.diff));
    }
    if !report.values.is_empty() {
        out.push_str("\nValues:\n");
        out.push_str(&paint(&report.values));
    }
    out.push_str(&format!("\n{}\n", report.summary.line()));
    out
}

fn verb(change: Change) -> &'static str {
    match change {
        Change::Changed => "changed",
        Change::Added => "added",
        Change::Removed => "removed",
    }
}

fn title(key: &ObjectKey) -> String {
    key.to_string()
}
