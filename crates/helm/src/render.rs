//! `helm template`, end to end: user values, dependencies, coalescing and schema checks, the
//! template objects of every chart and subchart, rendering, manifest sorting, and the text
//! `helm template` prints.

use crate::chart::Chart;
use crate::engine::{self, RenderTemplate};
use crate::manifest::{self, Hook, Manifest};
use crate::objects;
use crate::values::{self, ValueOptions};
use crate::{Error, Result};
use helmrelease_gotmpl::Value;
use std::collections::BTreeMap;
use std::rc::Rc;

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
}

impl Default for TemplateOptions {
    fn default() -> Self {
        TemplateOptions {
            release_name: "release-name".into(),
            namespace: "default".into(),
            values: ValueOptions::default(),
            kube_version: None,
            api_versions: Vec::new(),
            include_crds: false,
            skip_crds: false,
            skip_tests: false,
            no_hooks: false,
            is_upgrade: false,
            show_only: Vec::new(),
            skip_schema_validation: false,
        }
    }
}

/// A rendered release: what Helm stores and prints.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// CRDs from `crds/` folders (when included), then resources in install order, as
    /// `---\n# Source: <path>\n<doc>\n` blocks: Helm's release manifest.
    pub manifest: String,
    /// Resources.
    pub manifests: Vec<Manifest>,
    /// Hooks, in install order.
    pub hooks: Vec<Hook>,
    /// The root chart's rendered NOTES.txt.
    pub notes: String,
    /// The computed values.
    pub values: Value,
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

/// Renders a chart as `helm install --dry-run` (client only) does.
pub fn render(mut chart: Chart, options: &TemplateOptions) -> Result<Rendered> {
    if !valid_release_name(&options.release_name) {
        return Err(Error::Render(format!(
            "release name {:?}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53",
            options.release_name
        )));
    }
    let user = options.values.merge_values()?;
    let kube_version = options
        .kube_version
        .clone()
        .unwrap_or_else(|| objects::DEFAULT_KUBE_VERSION.to_string());
    let kube_version = if kube_version.starts_with('v') {
        kube_version
    } else {
        format!("v{kube_version}")
    };
    if !chart.metadata.kube_version.is_empty()
        && !crate::chart::semver::is_compatible_range(&chart.metadata.kube_version, &kube_version)
    {
        return Err(Error::Chart(format!(
            "chart requires kubeVersion: {} which is incompatible with Kubernetes {kube_version}",
            chart.metadata.kube_version
        )));
    }
    let vals = values::prepare_with(&mut chart, &user, options.skip_schema_validation)?;
    let mut api_versions: Vec<String> = objects::DEFAULT_API_VERSIONS
        .iter()
        .map(|s| s.to_string())
        .collect();
    api_versions.extend(options.api_versions.iter().cloned());
    let top = TopLevel {
        release: objects::release(
            &options.release_name,
            &options.namespace,
            1,
            options.is_upgrade,
        ),
        capabilities: objects::capabilities(&kube_version, &api_versions),
    };
    let mut templates = Vec::new();
    collect(&chart, &vals, &top, &mut templates);
    let mut files =
        engine::render(&templates, engine::Options::default()).map_err(Error::Render)?;

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
    let (hooks, manifests) = manifest::sort_manifests(&files)?;
    let mut out = String::new();
    if options.include_crds && !options.skip_crds {
        for crd in chart.crd_objects() {
            out.push_str(&manifest::source_block(
                &crd.filename,
                &String::from_utf8_lossy(&crd.data),
            ));
        }
    }
    for m in &manifests {
        out.push_str(&manifest::source_block(&m.name, &m.content));
    }
    Ok(Rendered {
        manifest: out,
        manifests,
        hooks,
        notes,
        values: vals,
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
            return Err(Error::Render(format!(
                "could not find template {wanted} in chart"
            )));
        }
    }
    Ok(out)
}

struct TopLevel {
    release: Value,
    capabilities: Value,
}

/// Helm's `recAllTpls`: every template of `chart` and its subcharts with the object it runs
/// on; a subchart's `.Values` is its parent's `.Values.<name>`.
fn collect(chart: &Chart, values: &Value, top: &TopLevel, out: &mut Vec<RenderTemplate>) {
    let files: BTreeMap<String, Vec<u8>> = chart
        .files
        .iter()
        .map(|f| (f.name.clone(), f.data.clone()))
        .collect();
    let full = chart.chart_full_path();
    let library = chart.is_library();
    let mut base = BTreeMap::new();
    base.insert(
        "Chart".to_string(),
        objects::chart(&chart.metadata.to_value(), chart.is_root()),
    );
    base.insert("Files".to_string(), objects::files(&files));
    base.insert("Release".to_string(), top.release.clone());
    base.insert("Capabilities".to_string(), top.capabilities.clone());
    base.insert("Values".to_string(), values.clone());
    let mut subcharts = BTreeMap::new();
    for dep in &chart.dependencies {
        let sub_values = values::subchart_values(values, dep.name());
        subcharts.insert(dep.name().to_string(), Value::Map(Rc::new(BTreeMap::new())));
        collect(dep, &sub_values, top, out);
    }
    base.insert("Subcharts".to_string(), Value::Map(Rc::new(subcharts)));
    for t in &chart.templates {
        let base_name = t.name.rsplit('/').next().unwrap_or(&t.name);
        // Library charts contribute only their helpers.
        if library && !base_name.starts_with('_') {
            continue;
        }
        let name = format!("{full}/{}", t.name);
        let mut vals = base.clone();
        vals.insert(
            "Template".to_string(),
            objects::template(&name, &format!("{full}/templates")),
        );
        out.push(RenderTemplate {
            render: !base_name.starts_with('_') && !library,
            name,
            text: String::from_utf8_lossy(&t.data).into_owned(),
            vals: Value::Map(Rc::new(vals)),
        });
    }
}
