//! `diff NAME`: what changed between two revisions of a release, object by object, and in the
//! values. Exit code 0 when the revisions are the same, 1 when they differ.

use crate::cli::{DiffArgs, Output, ReleaseName};
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
    pub(crate) fn line(&self) -> String {
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

    pub(crate) fn differ(&self) -> bool {
        self.changed + self.added + self.removed > 0 || self.values_changed
    }
}

/// Runs `diff`: a preview of HelmReleases, or a diff of two revisions.
pub fn run(args: &DiffArgs, ctx: &Context) -> Result<Outcome> {
    let revisions = args.revision.is_some() || args.to_revision.is_some() || args.release;
    if revisions || (args.files.is_empty() && args.name.is_none()) {
        let Some(name) = &args.name else {
            return Err(Error::Usage(
                "diff needs a NAME, or -f FILE with HelmReleases to preview".into(),
            ));
        };
        return revisions_diff(
            args,
            &ReleaseName {
                name: name.clone(),
                release: args.release,
            },
            ctx,
        );
    }
    preview_run(args, ctx)
}

fn preview_run(args: &DiffArgs, ctx: &Context) -> Result<Outcome> {
    let mut session = ctx.session()?;
    let helmreleases: Vec<crate::input::SourcedObject> = if args.files.is_empty() {
        let name = args.name.clone().unwrap_or_default();
        let found: Vec<_> = session
            .helmreleases(session.namespace.as_deref())?
            .into_iter()
            .filter(|hr| crate::source::str_at(&hr.object, "/metadata/name") == name)
            .collect();
        match found.len() {
            0 => {
                return Err(Error::NotFound(format!(
                    "HelmRelease {name:?} not found{}; to compare revisions of a Helm release, pass --release",
                    session
                        .namespace
                        .as_deref()
                        .map(|n| format!(" in namespace {n:?}"))
                        .unwrap_or_default()
                )));
            }
            1 => found,
            _ => {
                return Err(Error::Usage(format!(
                    "HelmRelease {name:?} exists in several namespaces; pick one with -n"
                )));
            }
        }
    } else {
        crate::input::load(&args.files)?
            .objects
            .into_iter()
            .filter(|o| crate::source::str_at(&o.object, "/kind") == "HelmRelease")
            .collect()
    };
    if helmreleases.is_empty() {
        return Err(Error::Usage("no HelmReleases in the given files".into()));
    }
    let source = crate::preview::ChartSource {
        local: args.chart.clone(),
        against_live: args.against == crate::cli::Against::Live,
    };
    let mut previews = Vec::new();
    for hr in &helmreleases {
        previews.push(crate::preview::preview(
            &mut session,
            hr,
            &source,
            ctx.show_secrets,
            args.unified,
        )?);
    }
    let differ = previews.iter().any(|p| p.summary.differ());
    let stdout = match ctx.output {
        Output::Json => output::json(&previews)?,
        Output::Yaml => output::yaml(&previews)?,
        Output::Markdown => previews
            .iter()
            .map(preview_markdown)
            .collect::<Vec<_>>()
            .join("\n"),
        Output::Table | Output::Wide => previews
            .iter()
            .map(|p| preview_text(p, ctx.color))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    Ok(Outcome {
        stdout,
        stderr: String::new(),
        code: u8::from(differ),
    })
}

fn preview_text(p: &crate::preview::Preview, color: bool) -> String {
    let paint = |s: &str| if color { colorize(s) } else { s.to_string() };
    let from = match &p.deployed {
        Some(d) => format!("{} (revision {}, {})", d.chart, d.revision, d.status),
        None => "not installed".to_string(),
    };
    let mut out = format!(
        "HelmRelease {} (release {}): {from} -> {} (desired)\n",
        p.helm_release, p.release, p.desired_chart
    );
    for change in &p.manifest.changes {
        out.push_str(&format!(
            "\n{}: {}\n",
            verb(change.change),
            title(&change.key)
        ));
        out.push_str(&paint(&change.diff));
    }
    if !p.values.is_empty() {
        out.push_str("\nValues:\n");
        out.push_str(&paint(&p.values));
    }
    if !p.hooks.is_empty() {
        out.push_str(&format!("\nHooks that would run: {}\n", p.hooks.join(", ")));
    }
    if !p.crds.is_empty() {
        out.push_str(&format!("\nCRDs in the chart: {}\n", p.crds.join(", ")));
    }
    for finding in &p.policy {
        out.push_str(&format!("\nPolicy: {finding}\n"));
    }
    out.push_str(&format!("\n{}\n", p.summary.line()));
    out
}

/// A pull-request comment: a heading, the summary, and one collapsible diff per object.
fn preview_markdown(p: &crate::preview::Preview) -> String {
    let from = match &p.deployed {
        Some(d) => format!("`{}` (revision {}, {})", d.chart, d.revision, d.status),
        None => "not installed".to_string(),
    };
    let mut out = format!(
        "### HelmRelease `{}`\n\n{from} → `{}` (release `{}`)\n\n**{}**\n",
        p.helm_release,
        p.desired_chart,
        p.release,
        p.summary.line()
    );
    let fence = |body: &str| {
        // A fence longer than any backtick run in the body keeps it intact.
        let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        "`".repeat(longest.max(2) + 1)
    };
    for change in &p.manifest.changes {
        let f = fence(&change.diff);
        out.push_str(&format!(
            "\n<details><summary>{}: {}</summary>\n\n{f}diff\n{}{f}\n\n</details>\n",
            verb(change.change),
            title(&change.key),
            change.diff
        ));
    }
    if !p.values.is_empty() {
        let f = fence(&p.values);
        out.push_str(&format!(
            "\n<details><summary>values</summary>\n\n{f}diff\n{}{f}\n\n</details>\n",
            p.values
        ));
    }
    if !p.hooks.is_empty() {
        out.push_str(&format!("\nHooks that would run: {}\n", p.hooks.join(", ")));
    }
    if !p.crds.is_empty() {
        out.push_str(&format!("\nCRDs in the chart: {}\n", p.crds.join(", ")));
    }
    for finding in &p.policy {
        out.push_str(&format!("\n> Policy: {finding}\n"));
    }
    out
}

fn revisions_diff(args: &DiffArgs, name: &ReleaseName, ctx: &Context) -> Result<Outcome> {
    let (_, target, releases) = history::open(ctx, name)?;
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
        Output::Table | Output::Wide | Output::Markdown => text(&report, ctx.color),
    };
    Ok(Outcome {
        stdout,
        stderr: history::disagreement_warnings(&history),
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
