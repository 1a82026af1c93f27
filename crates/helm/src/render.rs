//! `helm template`, end to end: user values, dependencies, coalescing and schema checks, the
//! template objects of every chart and subchart, rendering, manifest sorting, and the text
//! `helm template` prints.

use crate::chart::Chart;
use crate::engine::{self, RenderTemplate};
use crate::manifest::{self, Hook, Manifest};
use crate::objects;
use crate::values::{self, ValueOptions};
use crate::{Error, Result};
use helmrelease_gotmpl::{Map, Value};
use std::collections::BTreeMap;

/// `helm template`'s options.
#[derive(Debug, Clone)]
pub struct TemplateOptions {
    /// Release name (`helm template NAME`, default `release-name`).
    pub release_name: String,
    /// `-n/--namespace` (default `default`).
    pub namespace: String,
    /// `-f`, `--set`, `--set-string`, `--set-json`, `--set-file`, `--set-literal`.
    pub values: ValueOptions,
    /// `--kube-version`.
    pub kube_version: Option<String>,
    /// `-a/--api-versions`, added to the defaults.
    pub api_versions: Vec<String>,
    /// `api_versions` are a cluster's own (from discovery), not additions to Helm's defaults.
    pub cluster_api_versions: bool,
    /// `--include-crds`.
    pub include_crds: bool,
    /// `--skip-crds`.
    pub skip_crds: bool,
    /// `--skip-tests`.
    pub skip_tests: bool,
    /// `--no-hooks`.
    pub no_hooks: bool,
    /// `--is-upgrade`.
    pub is_upgrade: bool,
    /// `-s/--show-only` (paths or globs relative to the chart's parent, `templates/x.yaml`).
    pub show_only: Vec<String>,
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
    /// `.Release.Revision`: 1 for `helm template` and installs, the last revision plus one
    /// for an upgrade.
    pub revision: i64,
    /// The cluster `lookup` reads, as in `helm install`/`upgrade` (and Flux); `None` renders
    /// offline, as `helm template` does, where nothing exists.
    pub lookup: Option<engine::Lookup>,
    /// Which Helm to render as (Helm 4 unless asked).
    pub helm: crate::profile::HelmVersion,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        TemplateOptions {
            release_name: "release-name".into(),
            namespace: "default".into(),
            values: ValueOptions::default(),
            kube_version: None,
            api_versions: Vec::new(),
            cluster_api_versions: false,
            include_crds: false,
            skip_crds: false,
            skip_tests: false,
            no_hooks: false,
            is_upgrade: false,
            show_only: Vec::new(),
            skip_schema_validation: false,
            revision: 1,
            lookup: None,
            helm: crate::profile::HelmVersion::default(),
        }
    }
}

/// What is wrong with a release name, in Helm's words; `None` for a valid one.
pub fn release_name_problem(name: &str) -> Option<String> {
    (!valid_release_name(name)).then(|| {
        format!(
            "release name {name:?}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
        )
    })
}

/// A rendered release: what Helm stores and prints.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// CRDs from `crds/` folders (when included), then resources in install order, as
    /// `---\n# Source: <path>\n<doc>\n` blocks: Helm's release manifest.
    pub manifest: String,
    /// The CRDs in `manifest` (path with the chart's, file text).
    pub crds: Vec<(String, String)>,
    /// Resources.
    pub manifests: Vec<Manifest>,
    /// Hooks, in install order.
    pub hooks: Vec<Hook>,
    /// The root chart's rendered NOTES.txt.
    pub notes: String,
    /// The computed values, as they were before the templates ran (templates can change
    /// the `.Values` they are given).
    pub values: Value,
    /// `<chart>-<version>` of the rendered chart, as Helm labels it.
    pub chart_label: String,
    /// Every executed template's output by name, before NOTES.txt is taken out and manifests
    /// are sorted: what Helm's engine returns.
    pub files: BTreeMap<String, String>,
    /// The chart as a release stores it (its `chart` field): the root chart after its
    /// dependencies were processed, as [`release_chart`] writes it.
    pub chart: serde_json::Value,
}

/// Helm's release name rule.
fn valid_release_name(name: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !name.is_empty() && name.len() <= 53 && name.split('.').all(label_ok)
}

/// Helm's `--name-template`: `text` executed as a Go template with Sprig's functions (not
/// Helm's: no `include` or `toYaml`) on nil data; the output is the release name. Errors are
/// Go's (`template: name-template:1: function "nope" not defined`).
pub fn name_from_template(text: &str) -> Result<String> {
    let mut t = helmrelease_gotmpl::Template::new("name-template");
    t.funcs(&helmrelease_sprig::funcs());
    t.parse(text).map_err(|e| Error::Options(e.to_string()))?;
    t.execute(&Value::Nil)
        .map_err(|e| Error::Options(e.to_string()))
}

/// Renders a chart as `helm install --dry-run` (client only) does.
pub fn render(chart: Chart, options: &TemplateOptions) -> Result<Rendered> {
    let user = options.values.merge_values_as(options.helm)?;
    render_with_values(chart, &user, options)
}

/// [`render`] with the user's values already composed (Flux's `valuesFrom` and `spec.values`);
/// `options.values` is not read.
pub fn render_with_values(
    mut chart: Chart,
    user: &Value,
    options: &TemplateOptions,
) -> Result<Rendered> {
    if let Some(problem) = release_name_problem(&options.release_name) {
        return Err(Error::Options(problem));
    }
    let user = user.clone();
    let kube = match &options.kube_version {
        Some(given) => objects::KubeVersion::parse(given)
            .map_err(|e| Error::Options(format!("invalid kube version '{given}': {e}")))?,
        None => {
            objects::KubeVersion::parse(objects::DEFAULT_KUBE_VERSION).map_err(Error::Options)?
        }
    };
    // Constraints are checked against the version without its suffix; the message names the
    // version as Helm 4 keeps it (as given) or Helm 3 does (normalized).
    if !chart.metadata.kube_version.is_empty()
        && !crate::chart::semver::is_compatible_range(
            &chart.metadata.kube_version,
            &kube.normalized,
        )
    {
        return Err(Error::Render(format!(
            "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
            chart.metadata.kube_version,
            kube.version(options.helm)
        )));
    }
    let vals = values::prepare_with(&mut chart, &user, options.skip_schema_validation).map_err(
        |e| match e {
            // Helm 4 starts this message in lower case.
            Error::Chart(m) if options.helm == crate::profile::HelmVersion::V4 => {
                match m.strip_prefix("An error occurred") {
                    Some(rest) => Error::Chart(format!("an error occurred{rest}")),
                    None => Error::Chart(m),
                }
            }
            other => other,
        },
    )?;
    let mut api_versions: Vec<String> = if options.cluster_api_versions {
        Vec::new()
    } else {
        objects::DEFAULT_API_VERSIONS
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    api_versions.extend(options.api_versions.iter().cloned());
    let top = TopLevel {
        release: objects::release(
            &options.release_name,
            &options.namespace,
            options.revision,
            options.is_upgrade,
        ),
        capabilities: objects::capabilities(&kube, &api_versions, options.helm),
    };
    // Templates change `.Values` in place; keep the computed values as they are now.
    let computed = vals.deep_copy();
    let mut templates = Vec::new();
    collect(&chart, &vals, &top, &mut templates);
    // Documents are parsed for sorting while later templates render.
    let (files, heads) = std::thread::scope(|scope| {
        let prefetch = manifest::HeadPrefetch::start(scope);
        let engine_options = engine::Options {
            lookup: options.lookup.clone(),
            helm: options.helm,
            ..engine::Options::default()
        };
        let files = engine::render_each(&templates, engine_options, &mut |n, t| {
            prefetch.submit(n, t)
        });
        (files, prefetch.finish())
    });
    let mut files = files.map_err(Error::Render)?;
    let engine_output = files.clone();

    // NOTES.txt of the root chart becomes the notes; every NOTES.txt leaves the manifests.
    let root_notes = format!("{}/templates/NOTES.txt", chart.name());
    let mut notes = String::new();
    files.retain(|name, text| {
        if name.ends_with("NOTES.txt") {
            if *name == root_notes {
                notes = text.clone();
            }
            return false;
        }
        true
    });
    let (hooks, manifests) =
        manifest::sort_parsed(&files, heads, options.helm).map_err(|e| match e {
            Error::Render(message) => Error::InvalidManifest {
                message,
                files: files.clone(),
            },
            other => other,
        })?;
    let mut out = String::new();
    let mut crds = Vec::new();
    // `--skip-crds` is about installing; `helm template --include-crds` prints them regardless.
    if options.include_crds {
        for crd in chart.crd_objects() {
            let text = String::from_utf8_lossy(&crd.data).into_owned();
            out.push_str(&manifest::source_block(&crd.filename, &text));
            crds.push((crd.filename, text));
        }
    }
    for m in &manifests {
        out.push_str(&manifest::source_block(&m.name, &m.content));
    }
    Ok(Rendered {
        manifest: out,
        crds,
        manifests,
        hooks,
        notes,
        values: computed,
        chart_label: format!("{}-{}", chart.name(), chart.metadata.version),
        files: engine_output,
        chart: release_chart(&chart),
    })
}

/// The JSON of `chart` as Helm stores it in a release (Go's `json.Marshal` of `chart.Chart`):
/// `metadata`, `lock`, `templates`, `values`, `schema` and `files`, file data base64-encoded,
/// subcharts left out (Helm does not store them).
///
/// Helm stores the chart it rendered, so pass the chart as [`render_with_values`] leaves it
/// (what [`Rendered::chart`] holds): dependencies processed, each kept one `enabled`, the
/// disabled ones gone from `metadata.dependencies`, `import-values` rewritten as
/// `child`/`parent` pairs, and `values` the chart's own coalesced with its subcharts'
/// (`global` included). Helm 4 also writes file modification times (`modtime`,
/// `schemamodtime`); the chart loader does not keep them, so they are left out, which Helm
/// reads as unset.
pub fn release_chart(chart: &Chart) -> serde_json::Value {
    use base64::Engine;
    use serde_json::{Value as Json, json};
    let b64 = |data: &[u8]| Json::String(base64::engine::general_purpose::STANDARD.encode(data));
    // A Go slice nothing was appended to is `null`.
    let files = |files: &[crate::chart::File]| {
        if files.is_empty() {
            return Json::Null;
        }
        Json::Array(
            files
                .iter()
                .map(|f| json!({"name": f.name, "data": b64(&f.data)}))
                .collect(),
        )
    };
    let lock = chart.lock.as_ref().map_or(Json::Null, |l| {
        let deps: Vec<Json> = l
            .dependencies
            .iter()
            .map(|d| d.as_ref().map_or(Json::Null, |d| d.to_value().to_json()))
            .collect();
        json!({"generated": l.generated, "digest": l.digest, "dependencies": deps})
    });
    json!({
        "metadata": chart.metadata.to_value().to_json(),
        "lock": lock,
        "templates": files(&chart.templates),
        "values": chart.values.to_json(),
        "schema": chart.schema.as_deref().map_or(Json::Null, b64),
        "files": files(&chart.files),
    })
}

/// What `helm template` prints for a rendered chart.
pub fn template_text(rendered: &Rendered, options: &TemplateOptions) -> Result<String> {
    let mut text = rendered.manifest.trim().to_string();
    text.push('\n');
    if !options.no_hooks {
        for h in &rendered.hooks {
            if options.skip_tests && h.is_test() {
                continue;
            }
            text.push_str(&manifest::source_block(&h.path, &h.manifest));
        }
    }
    if options.show_only.is_empty() {
        return Ok(text);
    }
    let docs = manifest::split_manifests(&text);
    let mut out = String::new();
    for wanted in &options.show_only {
        let wanted = wanted.replace('\\', "/");
        let mut found = false;
        for doc in &docs {
            let Some(path) = doc.lines().find_map(|l| l.strip_prefix("# Source: ")) else {
                continue;
            };
            // `# Source: <chart>/<path>`: the path after the first segment.
            let Some((_, rel)) = path.split_once('/') else {
                continue;
            };
            if objects::glob_match_path(&wanted, rel) {
                out.push_str(&format!("---\n{doc}\n"));
                found = true;
            }
        }
        if !found {
            return Err(Error::Options(format!(
                "could not find template {wanted} in chart"
            )));
        }
    }
    Ok(out)
}

/// One write of `helm template --output-dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    /// File path.
    pub path: String,
    /// A `---\n# Source: <template>\n<document>\n` block.
    pub text: String,
    /// Append to the file (written before) rather than create or truncate it.
    pub append: bool,
}

/// What `helm template --output-dir DIR` writes, in order. CRDs go under `dir`, manifests and
/// hooks under `dir/<release>` with `use_release_name`. As in Helm, a file written again is
/// appended to, but hooks keep their own record: a hook in a file that also has resources
/// truncates it (Helm writes them in two places with two records).
pub fn output_dir_writes(
    rendered: &Rendered,
    options: &TemplateOptions,
    dir: &str,
    use_release_name: bool,
) -> Vec<FileWrite> {
    let mut writes = Vec::new();
    let mut push = |seen: &mut std::collections::HashSet<String>, path: String, text| {
        let append = !seen.insert(path.clone());
        writes.push(FileWrite { path, text, append });
    };
    let mut seen = std::collections::HashSet::new();
    // Helm joins with a plain separator here, and with filepath.Join (which cleans) below.
    for (name, text) in &rendered.crds {
        push(
            &mut seen,
            format!("{dir}/{name}"),
            manifest::source_block(name, text),
        );
    }
    let base = if use_release_name {
        helmrelease_sprig::path_clean(&format!("{dir}/{}", options.release_name))
    } else {
        dir.to_string()
    };
    for m in &rendered.manifests {
        push(
            &mut seen,
            format!("{base}/{}", m.name),
            manifest::source_block(&m.name, &m.content),
        );
    }
    if !options.no_hooks {
        let mut seen = std::collections::HashSet::new();
        for h in &rendered.hooks {
            if options.skip_tests && h.is_test() {
                continue;
            }
            push(
                &mut seen,
                format!("{base}/{}", h.path),
                manifest::source_block(&h.path, &h.manifest),
            );
        }
    }
    writes
}

struct TopLevel {
    release: Value,
    capabilities: Value,
}

/// Helm's `recAllTpls`: every template of `chart` and its subcharts with the object it runs
/// on, and the chart's root object. As in Helm, maps are shared, never copied: all
/// templates of a chart run on one root map (the engine sets `.Template` in it before each);
/// `.Values` is the values map itself, and a subchart's `.Values` is its parent's
/// `.Values.<name>`; `.Subcharts.<name>` is the subchart's root map. So what a template
/// changes with `set` is seen by the templates executed after it.
fn collect(chart: &Chart, values: &Value, top: &TopLevel, out: &mut Vec<RenderTemplate>) -> Value {
    let files: BTreeMap<String, Vec<u8>> = chart
        .files
        .iter()
        .map(|f| (f.name.clone(), f.data.clone()))
        .collect();
    let full = chart.chart_full_path();
    let library = chart.is_library();
    let root = Map::new();
    root.insert(
        "Chart",
        objects::chart(&chart.metadata.to_value(), chart.is_root()),
    );
    root.insert("Files", objects::files(&files));
    root.insert("Release", top.release.clone());
    root.insert("Capabilities", top.capabilities.clone());
    root.insert("Values", values.clone());
    let subcharts = Map::new();
    root.insert("Subcharts", Value::Map(subcharts.clone()));
    for dep in &chart.dependencies {
        let sub_values = values::subchart_values(values, dep.name());
        let sub_root = collect(dep, &sub_values, top, out);
        subcharts.insert(dep.name(), sub_root);
    }
    let root = Value::Map(root);
    let base_path = format!("{full}/templates");
    for t in &chart.templates {
        let base_name = t.name.rsplit('/').next().unwrap_or(&t.name);
        // Library charts contribute only their helpers.
        if library && !base_name.starts_with('_') {
            continue;
        }
        out.push(RenderTemplate {
            render: !base_name.starts_with('_') && !library,
            name: format!("{full}/{}", t.name),
            text: String::from_utf8_lossy(&t.data).into_owned(),
            vals: root.clone(),
            base_path: Some(base_path.clone()),
        });
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{File, load_files};

    fn file(name: &str, data: &str) -> File {
        File {
            name: name.into(),
            data: data.as_bytes().to_vec(),
        }
    }

    #[test]
    fn output_dir_appends_per_record_as_helm_does() {
        let manifest = |name: &str, kind: &str| Manifest {
            name: name.into(),
            content: format!("kind: {kind}"),
            kind: kind.into(),
        };
        let rendered = Rendered {
            manifest: String::new(),
            crds: vec![("c/crds/a.yaml".into(), "kind: CRD\n".into())],
            manifests: vec![
                manifest("c/templates/a.yaml", "A"),
                manifest("c/templates/a.yaml", "B"),
            ],
            hooks: vec![Hook {
                name: "h".into(),
                kind: "Job".into(),
                path: "c/templates/a.yaml".into(),
                manifest: "kind: Job".into(),
                events: vec!["pre-install".into()],
                weight: 0,
                delete_policies: Vec::new(),
            }],
            notes: String::new(),
            values: Value::Nil,
            chart: serde_json::Value::Null,
            chart_label: String::new(),
            files: BTreeMap::new(),
        };
        let options = TemplateOptions {
            release_name: "r".into(),
            ..TemplateOptions::default()
        };
        let writes = output_dir_writes(&rendered, &options, "./out/", true);
        let got: Vec<(&str, bool)> = writes.iter().map(|w| (w.path.as_str(), w.append)).collect();
        assert_eq!(
            got,
            [
                ("./out//c/crds/a.yaml", false),
                ("out/r/c/templates/a.yaml", false),
                ("out/r/c/templates/a.yaml", true),
                // The hook's own record: Helm truncates the file the resources went to.
                ("out/r/c/templates/a.yaml", false),
            ]
        );
        assert_eq!(
            writes[1].text,
            "---\n# Source: c/templates/a.yaml\nkind: A\n"
        );
    }

    #[test]
    fn name_templates_run_with_sprig_on_nil_data() {
        assert_eq!(
            name_from_template(r#"{{ "web" | upper | lower }}-{{ add 1 2 }}"#).ok(),
            Some("web-3".to_string())
        );
        let err = |t: &str| name_from_template(t).err().map(|e| e.to_string());
        assert_eq!(
            err("{{ include \"x\" . }}"),
            Some(r#"template: name-template:1: function "include" not defined"#.to_string())
        );
        // Go prints `<no value>` for fields of nil data (the name is then refused as invalid).
        assert_eq!(
            name_from_template("a{{ .Release.Name }}{{ . }}").ok(),
            Some("a<no value><no value>".to_string())
        );
    }

    #[test]
    fn templates_share_values_and_root_maps_as_in_helm() {
        let chart = load_files(vec![
            file("Chart.yaml", "apiVersion: v2\nname: parent\nversion: 0.1.0\n"),
            file(
                "values.yaml",
                "sub:\n  a: 1\nkeep: k\nglobal:\n  t:\n    nested:\n      x: 1\n",
            ),
            // Executed first (deepest path): changes the subchart's `.Values`, which is the
            // parent's `.Values.sub`.
            file(
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 0.2.0\n",
            ),
            file(
                "charts/sub/templates/cm.yaml",
                "{{- $_ := set .Values \"fromSub\" \"s\" -}}{{- $_ := set .Values.global.t.nested \"x\" 2 -}}\nkind: ConfigMap\nmetadata:\n  name: sub\n",
            ),
            // Then b.yaml before a.yaml (reverse lexical order).
            file(
                "templates/b.yaml",
                "{{- $_ := set .Values \"fromB\" \"b\" -}}{{- $_ := set $ \"Mark\" \"m\" -}}\nkind: ConfigMap\nmetadata:\n  name: b\n",
            ),
            file(
                "templates/a.yaml",
                "kind: ConfigMap\nmetadata:\n  name: a\ndata:\n  v: {{ printf \"%s %s %s %s %s %s\" .Values.sub.fromSub .Subcharts.sub.Values.fromSub .Subcharts.sub.Chart.Name .Values.fromB .Mark .Template.Name | quote }}\n  g: {{ .Values.global.t.nested.x | quote }}\n",
            ),
        ])
        .expect("chart loads");
        let rendered = render(chart, &TemplateOptions::default()).expect("chart renders");
        let a = rendered
            .manifests
            .iter()
            .find(|m| m.name == "parent/templates/a.yaml")
            .expect("a.yaml rendered");
        assert!(
            a.content
                .contains("v: \"s s sub b m parent/templates/a.yaml\""),
            "{}",
            a.content
        );
        // Helm's coalescing shares the tables nested in `global` tables between a chart and
        // its subcharts (`copyMap` is shallow): the subchart's change shows in the parent.
        assert!(a.content.contains("g: \"2\""), "{}", a.content);
        // The computed values are kept as they were before the templates changed them.
        assert_eq!(
            helmrelease_gotmpl::fmt::format_value(&rendered.values),
            "map[global:map[t:map[nested:map[x:1]]] keep:k sub:map[a:1 global:map[t:map[nested:map[x:1]]]]]"
        );
    }
}
