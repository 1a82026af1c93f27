//! `drift`: live objects against the manifest of the deployed revision. The comparison itself
//! is `helmrelease_diff::drift` (pure); this module fetches the live objects and prints.

use crate::cli::{DriftArgs, Output, ReleaseName};
use crate::history;
use crate::output::{Cell, Table};
use crate::source::{Releases, Session};
use crate::target::release_of;
use crate::{Context, Error, Outcome, Result, output};
use helmrelease_crds::helmrelease::IgnoreRule;
use helmrelease_diff::drift::{DriftOptions, DriftReport, DriftState, detect};
use helmrelease_diff::{ObjectKey, parse_manifest};
use helmrelease_release::{StoredRelease, history as rhistory};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// Drift of one release, as `-o json` prints it.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseDrift {
    /// Release namespace.
    pub namespace: String,
    /// Release name.
    pub release: String,
    /// `namespace/name` of the HelmRelease, when one manages the release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm_release: Option<String>,
    /// The deployed revision compared.
    pub revision: i64,
    /// What drifted.
    pub report: DriftReport,
}

/// Compares the deployed revision `stored` with the live objects. `helmrelease` supplies the
/// ignore rules.
pub fn release_drift(
    session: &Session,
    stored: &StoredRelease,
    helmrelease: Option<&Value>,
    show_secrets: bool,
) -> Result<DriftReport> {
    let desired =
        parse_manifest(&stored.release.manifest, &stored.describe()).map_err(|e| Error::Parse {
            origin: stored.describe(),
            message: e.to_string(),
        })?;
    let ignore: Vec<IgnoreRule> = helmrelease
        .and_then(|hr| hr.pointer("/spec/driftDetection/ignore"))
        .map(|v| serde_json::from_value(v.clone()))
        .transpose()
        .map_err(|e| Error::Parse {
            origin: "spec.driftDetection.ignore".to_string(),
            message: e.to_string(),
        })?
        .unwrap_or_default();
    // On a cluster, discovery says which kinds are cluster-scoped (CRDs included); a failed
    // lookup falls back to the built-in list.
    let scope = |api_version: &str, kind: &str| {
        session
            .namespaced(api_version, kind)
            .ok()
            .flatten()
            .map(|namespaced| !namespaced)
    };
    let options = DriftOptions {
        release_namespace: &stored.release.namespace,
        ignore: &ignore,
        show_secrets,
        release_name: Some(&stored.release.name),
        scope: Some(&scope),
    };
    let mut live: HashMap<ObjectKey, Value> = HashMap::new();
    for key in options.keys(&desired) {
        if let Some(object) =
            session.live(&key.api_version, &key.kind, &key.namespace, &key.name)?
        {
            live.insert(key, object);
        }
    }
    detect(&desired, &|k| live.get(k), &options).map_err(|e| Error::Usage(e.to_string()))
}

/// Runs `drift`.
pub fn run(args: &DriftArgs, ctx: &Context) -> Result<Outcome> {
    match &args.name {
        Some(name) => one(
            &ReleaseName {
                name: name.clone(),
                release: args.release,
            },
            ctx,
        ),
        None => all(ctx),
    }
}

fn one(name: &ReleaseName, ctx: &Context) -> Result<Outcome> {
    let (session, target, releases) = history::open(ctx, name)?;
    let history = history::one_history(&releases, &target)?;
    let deployed = history.last_deployed().ok_or_else(|| {
        Error::NotFound(format!(
            "release {}/{} has no deployed revision to compare with",
            history.namespace, history.name
        ))
    })?;
    let hr = target.helmrelease.as_ref().map(|h| &h.object);
    let report = release_drift(&session, deployed, hr, ctx.show_secrets)?;
    let result = ReleaseDrift {
        namespace: deployed.release.namespace.clone(),
        release: deployed.release.name.clone(),
        helm_release: hr.map(object_name),
        revision: deployed.release.version,
        report,
    };
    let stdout = match ctx.output {
        Output::Json => output::json(&result)?,
        Output::Yaml => output::yaml(&result)?,
        Output::Table | Output::Wide | Output::Markdown => text(&result, ctx.color),
    };
    Ok(Outcome {
        stdout,
        stderr: history::disagreement_warnings(&history),
        code: u8::from(!result.report.is_empty()),
    })
}

fn text(result: &ReleaseDrift, color: bool) -> String {
    let paint = |code: &str, s: String| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s
        }
    };
    let mut out = format!(
        "Release {}/{} revision {} against live objects\n",
        result.namespace, result.release, result.revision
    );
    for object in &result.report.objects {
        let state = match object.state {
            DriftState::Missing => paint("31", "missing".to_string()),
            DriftState::Modified => paint("33", "modified".to_string()),
        };
        out.push_str(&format!("{}: {state}\n", object.key));
        for field in &object.fields {
            out.push_str(&format!("  {field}\n"));
        }
    }
    out.push_str(&result.report.summary());
    out.push('\n');
    out
}

fn object_name(object: &Value) -> String {
    let field = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    format!(
        "{}/{}",
        field("/metadata/namespace"),
        field("/metadata/name")
    )
}

/// Drift of every deployed release in `releases`, with the HelmRelease that manages it.
pub fn all_drift(
    session: &Session,
    releases: &Releases,
    show_secrets: bool,
) -> Result<Vec<ReleaseDrift>> {
    let helmreleases = session.helmreleases(None)?;
    let owners: HashMap<(String, String), &Value> = helmreleases
        .iter()
        .map(|hr| (release_of(&hr.object), &hr.object))
        .collect();
    let mut out = Vec::new();
    for ((ns, name), history) in rhistory::group(&releases.releases) {
        let Some(deployed) = history.last_deployed() else {
            continue;
        };
        let hr = owners.get(&(ns.clone(), name.clone())).copied();
        let report = release_drift(session, deployed, hr, show_secrets)?;
        out.push(ReleaseDrift {
            namespace: deployed.release.namespace.clone(),
            release: name,
            helm_release: hr.map(object_name),
            revision: deployed.release.version,
            report,
        });
    }
    Ok(out)
}

fn all(ctx: &Context) -> Result<Outcome> {
    let mut session = ctx.session()?;
    let namespace = session.namespace.clone();
    let releases = session.releases(namespace.as_deref(), None)?;
    let results = all_drift(&session, &releases, ctx.show_secrets)?;
    let drifted = results.iter().any(|r| !r.report.is_empty());
    let stdout = match ctx.output {
        Output::Json => output::json(&results)?,
        Output::Yaml => output::yaml(&results)?,
        Output::Table | Output::Wide | Output::Markdown => {
            let table = Table {
                headers: vec![
                    "NAMESPACE",
                    "RELEASE",
                    "HELMRELEASE",
                    "REVISION",
                    "MISSING",
                    "MODIFIED",
                    "IN SYNC",
                    "SKIPPED",
                ],
                rows: results
                    .iter()
                    .map(|r| {
                        let missing = r.report.count(DriftState::Missing);
                        let modified = r.report.count(DriftState::Modified);
                        let style = |n: usize, code| (n > 0).then_some(code);
                        vec![
                            r.namespace.clone().into(),
                            r.release.clone().into(),
                            r.helm_release.clone().unwrap_or_else(|| "-".into()).into(),
                            r.revision.to_string().into(),
                            Cell {
                                text: missing.to_string(),
                                style: style(missing, "31"),
                            },
                            Cell {
                                text: modified.to_string(),
                                style: style(modified, "33"),
                            },
                            r.report.in_sync.to_string().into(),
                            r.report.skipped.len().to_string().into(),
                        ]
                    })
                    .collect(),
            };
            table.render(!ctx.no_headers, ctx.color)
        }
    };
    Ok(Outcome {
        stdout,
        stderr: history::object_warnings(&releases.releases),
        code: u8::from(drifted),
    })
}
