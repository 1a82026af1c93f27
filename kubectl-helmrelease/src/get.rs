//! `get values|manifest|notes|hooks|all`: one part of a stored revision, as `helm get` prints it.

use crate::cli::{GetArgs, Output, Part};
use crate::history::{self, ansic};
use crate::values::{SecretValues, coalesce};
use crate::{Context, Error, Result, output};
use helmrelease_release::{History, Release, StoredRelease};
use serde_json::{Map, Value};

/// Runs `get`.
pub fn run(args: &GetArgs, ctx: &Context) -> Result<String> {
    let (_, target, releases) = history::open(ctx, &args.target)?;
    let history = history::one_history(&releases, &target)?;
    let stored = pick(&history, args.revision)?;
    let secrets = if ctx.show_secrets {
        SecretValues::default()
    } else {
        SecretValues::of(target.helmrelease.as_ref().map(|hr| &hr.object))
    };
    let release = &stored.release;
    match args.part {
        Part::Values => values(release, args.all, &secrets, ctx),
        Part::Manifest => Ok(release.manifest.clone()),
        Part::Notes => Ok(notes(release)),
        Part::Hooks => Ok(hooks(release)),
        Part::All => all(release, &secrets, ctx),
    }
}

/// The revision asked for, or the latest.
pub fn pick<'a>(history: &History<'a>, revision: Option<i64>) -> Result<&'a StoredRelease> {
    let found = match revision {
        Some(r) => history.revision(r),
        None => history.latest(),
    };
    found.ok_or_else(|| {
        let have: Vec<String> = history
            .revisions
            .iter()
            .map(|r| r.release.version.to_string())
            .collect();
        Error::NotFound(format!(
            "release {:?} has no revision {}; it has {}",
            history.name,
            revision.map_or_else(|| "at all".to_string(), |r| r.to_string()),
            have.join(", ")
        ))
    })
}

fn user_values(release: &Release) -> Value {
    Value::Object(release.config.clone().unwrap_or_default())
}

fn computed_values(release: &Release) -> Value {
    let defaults = release
        .chart
        .as_ref()
        .and_then(|c| c.values.clone())
        .unwrap_or_default();
    Value::Object(coalesce(
        &defaults,
        &release.config.clone().unwrap_or_default(),
    ))
}

fn values(release: &Release, all: bool, secrets: &SecretValues, ctx: &Context) -> Result<String> {
    let mut values = if all {
        computed_values(release)
    } else {
        user_values(release)
    };
    secrets.mask(&mut values);
    match ctx.output {
        Output::Json => output::json(&values),
        Output::Yaml => yaml(&values),
        Output::Table | Output::Wide | Output::Markdown => {
            let title = if all {
                "COMPUTED VALUES:"
            } else {
                "USER-SUPPLIED VALUES:"
            };
            Ok(format!("{title}\n{}", yaml(&values)?))
        }
    }
}

/// YAML of values; an empty map prints as `{}` rather than nothing.
fn yaml(values: &Value) -> Result<String> {
    if values.as_object().is_some_and(Map::is_empty) {
        return Ok("{}\n".to_string());
    }
    output::yaml(values)
}

fn notes(release: &Release) -> String {
    let notes = release
        .info
        .as_ref()
        .map(|i| i.notes.as_str())
        .unwrap_or_default();
    if notes.is_empty() {
        String::new()
    } else {
        format!("NOTES:\n{}\n", notes.trim_end_matches('\n'))
    }
}

fn hooks(release: &Release) -> String {
    release
        .hooks
        .iter()
        .map(|h| {
            format!(
                "---\n# Source: {}\n{}\n",
                h.path,
                h.manifest.trim_end_matches('\n')
            )
        })
        .collect()
}

fn all(release: &Release, secrets: &SecretValues, ctx: &Context) -> Result<String> {
    let mut user = user_values(release);
    let mut computed = computed_values(release);
    secrets.mask(&mut user);
    secrets.mask(&mut computed);
    let meta = release.metadata();
    let mut out = format!(
        "NAME: {}\nLAST DEPLOYED: {}\nNAMESPACE: {}\nSTATUS: {}\nREVISION: {}\nCHART: {}\nVERSION: {}\nAPP_VERSION: {}\n",
        release.name,
        ansic(release.last_deployed().unwrap_or_default(), &ctx.time_zone),
        release.namespace,
        release.status(),
        release.version,
        meta.and_then(|m| m.name.as_deref()).unwrap_or_default(),
        meta.and_then(|m| m.version.as_deref()).unwrap_or_default(),
        release.app_version(),
    );
    out.push_str(&format!("USER-SUPPLIED VALUES:\n{}\n", yaml(&user)?));
    out.push_str(&format!("COMPUTED VALUES:\n{}\n", yaml(&computed)?));
    out.push_str(&format!("HOOKS:\n{}", hooks(release)));
    out.push_str(&format!(
        "MANIFEST:\n{}\n",
        release.manifest.trim_end_matches('\n')
    ));
    out.push_str(&notes(release));
    Ok(out)
}
