//! `get values|manifest|notes|hooks|metadata|all`: one part of a stored revision, byte for byte
//! as Helm 4's `helm get` prints it (`pkg/cmd/get_*.go`, and `status.go` for `get all`).
//!
//! Helm prints values with `sigs.k8s.io/yaml` and JSON with `encoding/json` after decoding the
//! release into Go types, so values go through the same route here: Go's JSON (numbers as
//! `float64`, sorted keys, HTML characters escaped), then that JSON as go-yaml writes it. Times
//! are printed in the offset they were stored with, as Go keeps it when decoding, not in the
//! local zone.

use crate::cli::{GetArgs, Output, Part};
use crate::values::SecretValues;
use crate::{Context, Error, Outcome, Result};
use helmrelease_release::model::Dependency;
use helmrelease_release::{History, Release, StoredRelease};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Runs `get`.
pub fn run(args: &GetArgs, ctx: &Context) -> Result<Printed> {
    let (_, target, releases) = crate::history::open(ctx, &args.target)?;
    let history = crate::history::one_history(&releases, &target)?;
    Ok(Printed {
        stdout: part(args, ctx, &target, &history)?,
        stderr: crate::history::disagreement_warnings(&history),
    })
}

/// What `get` prints: the part, and warnings about the release's objects.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Printed {
    /// The part asked for.
    pub stdout: String,
    /// `warning:` lines.
    pub stderr: String,
}

impl From<Printed> for Outcome {
    fn from(printed: Printed) -> Outcome {
        Outcome {
            stdout: printed.stdout,
            stderr: printed.stderr,
            ..Outcome::default()
        }
    }
}

/// The part `get` prints.
fn part(
    args: &GetArgs,
    ctx: &Context,
    target: &crate::target::Target,
    history: &History<'_>,
) -> Result<String> {
    // Helm takes the latest revision for `--revision` 0 or below.
    let revision = args.revision.filter(|r| *r > 0);
    let stored = pick(history, revision)?;
    let secrets = if ctx.show_secrets {
        SecretValues::default()
    } else {
        SecretValues::of(target.helmrelease.as_ref().map(|hr| &hr.object))
    };
    let release = &stored.release;
    match args.part {
        Part::Values => values(release, args.all, &secrets, ctx),
        Part::Manifest => Ok(format!("{}\n", release.manifest)),
        Part::Notes => Ok(notes(release)),
        Part::Hooks => Ok(hooks(release)),
        Part::Metadata => metadata(stored, revision.is_some(), ctx),
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

// ---- values --------------------------------------------------------------------------------

/// The user-supplied values: `null` when the release has none (Helm's `config` is
/// `omitempty`, so an empty map was never written and decodes as a nil map).
fn user_values(release: &Release) -> Value {
    release.config.clone().map_or(Value::Null, Value::Object)
}

/// `chartutil.CoalesceValues(rel.Chart, rel.Config)`: the stored chart has no subcharts (they
/// are not serialised), so this is the top-level coalescing only.
fn computed_values(release: &Release) -> Value {
    let user = release.config.clone().unwrap_or_default();
    let defaults = release.chart.as_ref().and_then(|c| c.values.as_ref());
    Value::Object(match defaults {
        Some(defaults) => coalesce_values(defaults, user),
        None => user,
    })
}

/// Helm's `coalesceValues` (merge false): chart defaults under the user's values; a user `null`
/// removes the key at the top level, whatever the default is.
fn coalesce_values(
    defaults: &Map<String, Value>,
    mut user: Map<String, Value>,
) -> Map<String, Value> {
    for (key, default) in defaults {
        match user.get_mut(key) {
            None => {
                user.insert(key.clone(), default.clone());
            }
            Some(Value::Null) => {
                user.remove(key);
            }
            Some(Value::Object(dst)) => {
                if let Value::Object(src) = default {
                    coalesce_tables(dst, src);
                }
            }
            Some(_) => {}
        }
    }
    user
}

/// Helm's `coalesceTablesFullKey` (merge false): below the top level, a user `null` removes the
/// key only when the default is not `null` too; other `null`s are kept.
fn coalesce_tables(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (key, default) in src {
        let nullified = dst.get(key).is_some_and(Value::is_null) && !default.is_null();
        if nullified {
            dst.remove(key);
            continue;
        }
        match dst.get_mut(key) {
            None => {
                dst.insert(key.clone(), default.clone());
            }
            Some(Value::Object(d)) => {
                if let Value::Object(s) = default {
                    coalesce_tables(d, s);
                }
            }
            Some(_) => {}
        }
    }
}

fn values(release: &Release, all: bool, secrets: &SecretValues, ctx: &Context) -> Result<String> {
    let mut values = if all {
        computed_values(release)
    } else {
        user_values(release)
    };
    secrets.mask(&mut values);
    match ctx.output {
        Output::Json => Ok(format!("{}\n", go_json(&values)?)),
        Output::Yaml => go_yaml(&values),
        Output::Table | Output::Wide | Output::Markdown => {
            let title = if all {
                "COMPUTED VALUES:"
            } else {
                "USER-SUPPLIED VALUES:"
            };
            Ok(format!("{title}\n{}", go_yaml(&values)?))
        }
    }
}

fn output_error(e: impl std::fmt::Display) -> Error {
    Error::Output(std::io::Error::other(e.to_string()))
}

/// `json.Marshal` of the value as Go decoded it from the release (`interface{}`).
fn go_json(value: &Value) -> Result<String> {
    let text = serde_json::to_string(value).map_err(output_error)?;
    let go = helmrelease_helm::yaml::from_json_value(&text).map_err(output_error)?;
    helmrelease_helm::yaml::to_json(&go).map_err(output_error)
}

/// `sigs.k8s.io/yaml.Marshal` of the value as Go decoded it: its JSON, written by go-yaml.
fn go_yaml(value: &Value) -> Result<String> {
    helmrelease_helm::yaml::json_to_yaml(&go_json(value)?).map_err(output_error)
}

/// A string as `encoding/json` writes it.
fn go_string(s: &str) -> Result<String> {
    let bytes = helmrelease_release::gojson::to_vec(s).map_err(output_error)?;
    String::from_utf8(bytes).map_err(output_error)
}

// ---- notes, hooks ----------------------------------------------------------------------------

fn notes_text(release: &Release) -> &str {
    release
        .info
        .as_ref()
        .map(|i| i.notes.as_str())
        .unwrap_or_default()
}

/// `get notes`: the notes as stored, not trimmed.
fn notes(release: &Release) -> String {
    let notes = notes_text(release);
    if notes.is_empty() {
        String::new()
    } else {
        format!("NOTES:\n{notes}\n")
    }
}

fn hooks(release: &Release) -> String {
    release
        .hooks
        .iter()
        .map(|h| format!("---\n# Source: {}\n{}\n", h.path, h.manifest))
        .collect()
}

// ---- times ---------------------------------------------------------------------------------

/// An RFC 3339 time of a release as Go holds it after decoding: the instant, in the offset it
/// was written with. `None` for a missing or empty time (Go's zero time) and for text that is
/// not RFC 3339.
fn go_time(text: Option<&str>) -> Option<jiff::Zoned> {
    use jiff::fmt::temporal::{Pieces, PiecesOffset};
    let text = text.filter(|t| !t.is_empty())?;
    let instant: jiff::Timestamp = text.parse().ok()?;
    let offset = match Pieces::parse(text).ok()?.offset()? {
        PiecesOffset::Numeric(n) => n.offset(),
        _ => jiff::tz::Offset::UTC,
    };
    Some(instant.to_zoned(jiff::tz::TimeZone::fixed(offset)))
}

/// The start of year 1 UTC: Go's zero `time.Time`.
fn is_go_zero(time: &jiff::Zoned) -> bool {
    time.timestamp().as_second() == -62_135_596_800 && time.timestamp().subsec_nanosecond() == 0
}

/// `time.ANSIC`; a missing time is Go's zero time.
fn ansic(time: Option<&jiff::Zoned>) -> String {
    match time {
        Some(t) => t.strftime("%a %b %e %H:%M:%S %Y").to_string(),
        None => "Mon Jan  1 00:00:00 0001".to_string(),
    }
}

/// `time.RFC3339`: whole seconds, `Z` for a zero offset.
fn rfc3339(time: Option<&jiff::Zoned>) -> String {
    match time {
        Some(t) if t.offset() == jiff::tz::Offset::UTC => {
            t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
        }
        Some(t) => t.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

// ---- metadata ------------------------------------------------------------------------------

/// Storage labels Helm's drivers filter out when reading one revision by key.
const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

/// `action.Metadata`.
struct Metadata<'a> {
    name: &'a str,
    chart: &'a str,
    version: &'a str,
    app_version: &'a str,
    annotations: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    dependencies: &'a [Dependency],
    namespace: &'a str,
    revision: i64,
    status: &'a str,
    deployed_at: String,
    apply_method: &'a str,
}

impl<'a> Metadata<'a> {
    /// `by_revision`: with `--revision`, Helm reads the one object by key and drops the storage
    /// labels (`filterSystemLabels`); for the latest revision it queries the history, and the
    /// labels come back whole (`name`, `owner`, `status`, `version` and the timestamps too).
    fn of(stored: &'a StoredRelease, by_revision: bool) -> Metadata<'a> {
        let release = &stored.release;
        let meta = release.metadata();
        let text = |f: fn(&helmrelease_release::model::Metadata) -> Option<&String>| {
            meta.and_then(f).map(String::as_str).unwrap_or_default()
        };
        let annotations = meta
            .and_then(|m| m.annotations.as_ref())
            .and_then(Value::as_object)
            .map(|a| {
                a.iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let labels = stored
            .labels
            .iter()
            .filter(|(k, _)| !by_revision || !SYSTEM_LABELS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let info = release.info.as_ref();
        Metadata {
            name: &release.name,
            chart: text(|m| m.name.as_ref()),
            version: text(|m| m.version.as_ref()),
            app_version: text(|m| m.app_version.as_ref()),
            annotations,
            labels,
            dependencies: meta
                .and_then(|m| m.dependencies.as_deref())
                .unwrap_or_default(),
            namespace: &release.namespace,
            revision: release.version,
            status: info.map(|i| i.status.as_str()).unwrap_or_default(),
            deployed_at: rfc3339(go_time(info.and_then(|i| i.last_deployed.as_deref())).as_ref()),
            apply_method: &release.apply_method,
        }
    }

    fn table(&self) -> String {
        let apply_method = match self.apply_method {
            "" => "client-side apply (defaulted)".to_string(),
            "csa" => "client-side apply".to_string(),
            "ssa" => "server-side apply".to_string(),
            other => format!("unknown ({})", go_quote(other)),
        };
        let mut dependencies: Vec<&str> = self
            .dependencies
            .iter()
            .map(|d| d.name.as_deref().unwrap_or_default())
            .collect();
        dependencies.sort_unstable();
        format!(
            "NAME: {}\nCHART: {}\nVERSION: {}\nAPP_VERSION: {}\nANNOTATIONS: {}\nLABELS: {}\n\
             DEPENDENCIES: {}\nNAMESPACE: {}\nREVISION: {}\nSTATUS: {}\nDEPLOYED_AT: {}\n\
             APPLY_METHOD: {}\n",
            self.name,
            self.chart,
            self.version,
            self.app_version,
            label_set(&self.annotations),
            label_set(&self.labels),
            dependencies.join(","),
            self.namespace,
            self.revision,
            self.status,
            self.deployed_at,
            apply_method,
        )
    }

    /// `json.Marshal`: struct fields in declaration order, `omitempty` ones left out when empty.
    fn json(&self) -> Result<String> {
        let mut fields = vec![
            ("name", go_string(self.name)?),
            ("chart", go_string(self.chart)?),
            ("version", go_string(self.version)?),
            ("appVersion", go_string(self.app_version)?),
        ];
        if !self.annotations.is_empty() {
            fields.push(("annotations", string_map(&self.annotations)?));
        }
        if !self.labels.is_empty() {
            fields.push(("labels", string_map(&self.labels)?));
        }
        if !self.dependencies.is_empty() {
            let deps = self
                .dependencies
                .iter()
                .map(dependency_json)
                .collect::<Result<Vec<_>>>()?;
            fields.push(("dependencies", format!("[{}]", deps.join(","))));
        }
        fields.push(("namespace", go_string(self.namespace)?));
        fields.push(("revision", self.revision.to_string()));
        fields.push(("status", go_string(self.status)?));
        fields.push(("deployedAt", go_string(&self.deployed_at)?));
        if !self.apply_method.is_empty() {
            fields.push(("applyMethod", go_string(self.apply_method)?));
        }
        Ok(object(fields))
    }
}

/// `{"k":v,...}` from already encoded values.
fn object(fields: Vec<(&str, String)>) -> String {
    let body: Vec<String> = fields
        .into_iter()
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// A `map[string]string` as `encoding/json` writes it: keys sorted.
fn string_map(map: &BTreeMap<String, String>) -> Result<String> {
    let body = map
        .iter()
        .map(|(k, v)| Ok(format!("{}:{}", go_string(k)?, go_string(v)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(format!("{{{}}}", body.join(",")))
}

/// Chart API v2's `Dependency` as `encoding/json` writes it.
fn dependency_json(dep: &Dependency) -> Result<String> {
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    let mut fields = vec![("name", go_string(&text(&dep.name))?)];
    if !text(&dep.version).is_empty() {
        fields.push(("version", go_string(&text(&dep.version))?));
    }
    fields.push(("repository", go_string(&text(&dep.repository))?));
    if !text(&dep.condition).is_empty() {
        fields.push(("condition", go_string(&text(&dep.condition))?));
    }
    if let Some(tags) = dep.tags.as_ref().filter(|t| !t.is_empty()) {
        let tags = tags
            .iter()
            .map(|t| go_string(t))
            .collect::<Result<Vec<_>>>()?;
        fields.push(("tags", format!("[{}]", tags.join(","))));
    }
    if dep.enabled == Some(true) {
        fields.push(("enabled", "true".to_string()));
    }
    if let Some(import) = dep.import_values.as_ref().filter(|i| !i.is_empty()) {
        fields.push(("import-values", go_json(&Value::Array(import.clone()))?));
    }
    if !text(&dep.alias).is_empty() {
        fields.push(("alias", go_string(&text(&dep.alias))?));
    }
    Ok(object(fields))
}

/// `labels.Set(m).String()`: `k=v` pairs, sorted as strings, comma-joined.
fn label_set(map: &BTreeMap<String, String>) -> String {
    let mut pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort_unstable();
    pairs.join(",")
}

/// Go's `%q` of a string: `strconv.Quote`, with non-printable characters escaped.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_control() => {
                let n = u32::from(c);
                if n < 0x80 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn metadata(stored: &StoredRelease, by_revision: bool, ctx: &Context) -> Result<String> {
    let meta = Metadata::of(stored, by_revision);
    match ctx.output {
        Output::Json => Ok(format!("{}\n", meta.json()?)),
        Output::Yaml => helmrelease_helm::yaml::json_to_yaml(&meta.json()?).map_err(output_error),
        Output::Table | Output::Wide | Output::Markdown => Ok(meta.table()),
    }
}

// ---- all -----------------------------------------------------------------------------------

/// `fatih/color` around a string, when colour is on.
fn paint(text: &str, code: Option<&str>, color: bool) -> String {
    match code.filter(|_| color) {
        Some(code) => format!("\x1b[{code}m{text}\x1b[0m"),
        None => text.to_string(),
    }
}

/// Helm's `ColorizeStatus`.
fn status_color(status: &str) -> Option<&'static str> {
    match status {
        "deployed" => Some("32"),
        "failed" | "unknown" => Some("31"),
        "pending-install" | "pending-upgrade" | "pending-rollback" | "uninstalling" => Some("33"),
        _ => None,
    }
}

/// `TEST SUITE`: `None` without test hooks, else one block per test hook that has run.
fn test_suite(release: &Release) -> String {
    // Helm groups hooks by event; a hook listing `test` twice is in the group twice.
    let tests: Vec<_> = release
        .hooks
        .iter()
        .flat_map(|h| h.events.iter().filter(|e| *e == "test").map(move |_| h))
        .collect();
    if tests.is_empty() {
        return "TEST SUITE: None\n".to_string();
    }
    let mut out = String::new();
    for hook in tests {
        let run = hook.last_run.as_ref();
        let Some(started) =
            go_time(run.and_then(|r| r.started_at.as_deref())).filter(|t| !is_go_zero(t))
        else {
            continue;
        };
        let completed = go_time(run.and_then(|r| r.completed_at.as_deref()));
        out.push_str(&format!(
            "TEST SUITE:     {}\nLast Started:   {}\nLast Completed: {}\nPhase:          {}\n",
            hook.name,
            ansic(Some(&started)),
            ansic(completed.as_ref()),
            run.map(|r| r.phase.as_str()).unwrap_or_default(),
        ));
    }
    out
}

/// `get all`: Helm's status printer with debug output and chart metadata.
fn all(release: &Release, secrets: &SecretValues, ctx: &Context) -> Result<String> {
    let mut user = user_values(release);
    let mut computed = computed_values(release);
    secrets.mask(&mut user);
    secrets.mask(&mut computed);
    let meta = release.metadata();
    let info = release.info.as_ref();
    let status = info.map(|i| i.status.as_str()).unwrap_or_default();
    let mut out = format!("NAME: {}\n", release.name);
    if let Some(t) =
        go_time(info.and_then(|i| i.last_deployed.as_deref())).filter(|t| !is_go_zero(t))
    {
        out.push_str(&format!("LAST DEPLOYED: {}\n", ansic(Some(&t))));
    }
    out.push_str(&format!(
        "NAMESPACE: {}\nSTATUS: {}\nREVISION: {}\nCHART: {}\nVERSION: {}\nAPP_VERSION: {}\n\
         DESCRIPTION: {}\n",
        paint(&release.namespace, Some("36"), ctx.color),
        paint(status, status_color(status), ctx.color),
        release.version,
        meta.and_then(|m| m.name.as_deref()).unwrap_or_default(),
        meta.and_then(|m| m.version.as_deref()).unwrap_or_default(),
        meta.and_then(|m| m.app_version.as_deref())
            .unwrap_or_default(),
        release.description(),
    ));
    out.push_str(&test_suite(release));
    out.push_str(&format!("USER-SUPPLIED VALUES:\n{}\n", go_yaml(&user)?));
    out.push_str(&format!("COMPUTED VALUES:\n{}\n", go_yaml(&computed)?));
    out.push_str(&format!("HOOKS:\n{}", hooks(release)));
    out.push_str(&format!("MANIFEST:\n{}\n", release.manifest));
    let notes = notes_text(release);
    if !notes.is_empty() {
        out.push_str(&format!("NOTES:\n{}\n", notes.trim()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map_of(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn coalescing_follows_helm_for_nulls() {
        let defaults = map_of(json!({"a": 1, "b": {"c": 2, "d": null, "e": 3}, "n": null}));
        let user = map_of(
            json!({"a": null, "b": {"c": null, "d": null, "x": null}, "n": null,
            "u": null}),
        );
        // Top level: a user null removes the key, even over a null default; a null for a key
        // without a default stays. Below: a null over a non-null default removes the key,
        // other nulls stay.
        assert_eq!(
            Value::Object(coalesce_values(&defaults, user)),
            json!({"b": {"d": null, "e": 3, "x": null}, "u": null})
        );
    }

    #[test]
    fn times_keep_their_stored_offset() {
        let t = go_time(Some("2025-01-02T03:04:05.123456789+02:00"));
        assert_eq!(ansic(t.as_ref()), "Thu Jan  2 03:04:05 2025");
        assert_eq!(rfc3339(t.as_ref()), "2025-01-02T03:04:05+02:00");
        let utc = go_time(Some("2025-01-12T03:04:05Z"));
        assert_eq!(rfc3339(utc.as_ref()), "2025-01-12T03:04:05Z");
        assert_eq!(ansic(utc.as_ref()), "Sun Jan 12 03:04:05 2025");
        assert_eq!(ansic(None), "Mon Jan  1 00:00:00 0001");
        assert_eq!(rfc3339(go_time(Some("")).as_ref()), "0001-01-01T00:00:00Z");
        let zero = go_time(Some("0001-01-01T00:00:00Z"));
        assert!(zero.as_ref().is_some_and(is_go_zero));
        assert_eq!(ansic(zero.as_ref()), ansic(None));
    }

    #[test]
    fn values_print_as_go_does() {
        assert_eq!(go_yaml(&Value::Null).ok().as_deref(), Some("null\n"));
        assert_eq!(go_yaml(&json!({})).ok().as_deref(), Some("{}\n"));
        assert_eq!(
            go_json(&json!({"b": 1.0, "a": "<&>", "c": 1e21}))
                .ok()
                .as_deref(),
            Some(r#"{"a":"\u003c\u0026\u003e","b":1,"c":1e+21}"#)
        );
        assert_eq!(
            go_yaml(&json!({"b": [{"y": "on"}], "a": "1.0"}))
                .ok()
                .as_deref(),
            Some("a: \"1.0\"\nb:\n- \"y\": \"on\"\n")
        );
    }

    #[test]
    fn labels_and_quotes_as_go_prints_them() {
        let set: BTreeMap<String, String> = [("a", "2"), ("a.b", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // Sorted as "k=v" strings: '.' sorts before '='.
        assert_eq!(label_set(&set), "a.b=1,a=2");
        assert_eq!(go_quote("x\"y\n\u{1}"), "\"x\\\"y\\n\\x01\"");
    }
}
