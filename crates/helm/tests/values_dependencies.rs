//! `ProcessDependencies`: conditions, tags, aliases, import-values; then the `.Values` of
//! a render and of each subchart.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_gotmpl::Value;
use helmrelease_helm::chart::{self, Chart, File};
use helmrelease_helm::values;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

fn charts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts")
}

fn yaml(s: &str) -> Value {
    helmrelease_helm::yaml::from_yaml(s).unwrap()
}

/// The `parent` test chart in memory, `charts/packaged-0.1.0.tgz` built from `packaged/`.
fn parent() -> Chart {
    let mut files = read_tree(&charts_dir().join("parent"), "");
    let packaged = read_tree(&charts_dir().join("packaged"), "");
    files.push(File {
        name: "charts/packaged-0.1.0.tgz".into(),
        data: tgz(&packaged, "packaged"),
    });
    chart::load_files(files).unwrap()
}

fn read_tree(dir: &Path, prefix: &str) -> Vec<File> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        if e.file_type().unwrap().is_dir() {
            out.extend(read_tree(&e.path(), &format!("{name}/")));
        } else {
            out.push(File {
                name,
                data: std::fs::read(e.path()).unwrap(),
            });
        }
    }
    out
}

fn tgz(files: &[File], top: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for f in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(f.data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("{top}/{}", f.name), f.data.as_slice())
            .unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn dep_names(c: &Chart) -> Vec<&str> {
    c.dependencies.iter().map(Chart::name).collect()
}

#[test]
fn conditions_tags_and_aliases() {
    let mut c = parent();
    values::process_dependencies(&mut c, &Value::Nil, true).unwrap();
    // sub: condition sub.enabled (true in the parent's values); sub2 (alias of sub): its
    // condition is false; tagged: tag `front` is false; lib and packaged: always on.
    assert_eq!(dep_names(&c), ["sub", "lib", "packaged"]);
    let md: Vec<&str> = c.metadata.deps().map(|d| d.name.as_str()).collect();
    assert_eq!(md, ["sub", "lib", "packaged"]);
    assert!(c.metadata.deps().all(|d| d.enabled));
    // grand: condition sub.grand.enabled, false in sub's defaults.
    assert!(c.dependencies[0].dependencies.is_empty());

    // User values turn things around: the alias comes back, renamed; tags enable tagged.
    let mut c = parent();
    let user =
        yaml("sub2:\n  enabled: true\ntags:\n  front: true\nsub:\n  grand:\n    enabled: true\n");
    values::process_dependencies(&mut c, &user, true).unwrap();
    assert_eq!(dep_names(&c), ["sub", "sub2", "tagged", "lib", "packaged"]);
    assert_eq!(c.dependencies[1].chart_full_path(), "parent/charts/sub2");
    assert_eq!(dep_names(&c.dependencies[0]), ["grand"]);
    // The first condition that resolves wins: global.subEnabled is not consulted.
    let mut c = parent();
    let user = yaml("sub:\n  enabled: false\nglobal:\n  subEnabled: true\n");
    values::process_dependencies(&mut c, &user, true).unwrap();
    assert_eq!(dep_names(&c), ["lib", "packaged"]);
    // A non-boolean condition falls through to the next path, with Helm's warning.
    let mut c = parent();
    let user = yaml("sub:\n  enabled: maybe\nglobal:\n  subEnabled: false\n");
    let warnings = values::process_dependencies(&mut c, &user, true).unwrap();
    assert_eq!(dep_names(&c), ["lib", "packaged"]);
    assert!(warnings.contains(
        &"Warning: Condition path 'sub.enabled' for chart sub returned non-bool value".to_string()
    ));
}

#[test]
fn import_values_and_render_values() {
    let mut c = parent();
    let vals = values::prepare(&mut c, &yaml("removeMe: null\n")).unwrap();
    let top = vals.to_json();
    // `exports.data` imported at the top; `config` under imported.config, the parent's own
    // values winning.
    assert_eq!(top["exported"], json!("from-sub"));
    assert_eq!(
        top["imported"]["config"],
        json!({"fromParent": true, "level": "debug"})
    );
    assert!(top.get("removeMe").is_none());
    assert_eq!(
        top["global"],
        json!({"region": "eu", "labels": {"team": "core"}})
    );
    // The import-values entries are rewritten to the `{child, parent}` form, as Helm does.
    let sub_dep = c.metadata.deps().next().unwrap();
    assert_eq!(
        Value::List(std::rc::Rc::new(sub_dep.import_values.clone())).to_json(),
        json!([{"child": "exports.data", "parent": "."}, {"child": "config", "parent": "imported.config"}])
    );
    // What each subchart's templates see.
    let sub = values::subchart_values(&vals, "sub").to_json();
    assert_eq!(sub["greeting"], json!("hello from parent"));
    assert_eq!(sub["replicas"], json!(1.0));
    assert_eq!(
        sub["global"],
        json!({"region": "eu", "labels": {"team": "core", "app": "sub"}, "subOnly": true})
    );
    let packaged = values::subchart_values(&vals, "packaged").to_json();
    assert_eq!(
        packaged,
        json!({"fromArchive": true, "global": {"region": "eu", "labels": {"team": "core"}}})
    );
    // Disabled subcharts are gone; their values in the parent are plain values.
    assert_eq!(top["sub2"], json!({"enabled": false}));
    assert!(c.dependencies.iter().all(|d| d.name() != "tagged"));
}

#[test]
fn library_charts_are_not_installable() {
    let mut c = chart::load_files(vec![File {
        name: "Chart.yaml".into(),
        data: b"apiVersion: v2\nname: l\nversion: 1.0.0\ntype: library\n".to_vec(),
    }])
    .unwrap();
    assert_eq!(
        values::prepare(&mut c, &Value::Nil)
            .unwrap_err()
            .to_string(),
        "library charts are not installable"
    );
}

#[test]
fn missing_dependencies_are_reported() {
    let mut c = chart::load_files(vec![File {
        name: "Chart.yaml".into(),
        data: b"apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n- name: a\n  repository: x\n- name: b\n  repository: y\n".to_vec(),
    }])
    .unwrap();
    assert_eq!(
        values::prepare(&mut c, &Value::Nil)
            .unwrap_err()
            .to_string(),
        "An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: a, b"
    );
}

#[test]
fn v1_requirements_conditions() {
    let mut c = chart::load(charts_dir().join("v1chart")).unwrap();
    values::process_dependencies(&mut c, &Value::Nil, false).unwrap();
    assert_eq!(dep_names(&c), ["dep"]);
    let mut c = chart::load(charts_dir().join("v1chart")).unwrap();
    values::process_dependencies(&mut c, &yaml("dep:\n  enabled: false\n"), false).unwrap();
    assert!(c.dependencies.is_empty());
}

#[test]
fn import_values_cycles_are_errors_not_overflows() {
    // Importing a table, then importing it again under one of its own children, makes a
    // map that contains itself in Go (Helm then recurses until it crashes); here it is an
    // error.
    let mut c = chart::load_files(vec![
        File {
            name: "Chart.yaml".into(),
            data: b"apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n- name: s\n  version: 1.0.0\n  repository: x\n  import-values:\n  - child: exports\n    parent: .\n  - child: exports\n    parent: k.deep\n".to_vec(),
        },
        File {
            name: "charts/s/Chart.yaml".into(),
            data: b"apiVersion: v2\nname: s\nversion: 1.0.0\n".to_vec(),
        },
        File {
            name: "charts/s/values.yaml".into(),
            data: b"exports:\n  k:\n    a: 1\n".to_vec(),
        },
    ])
    .unwrap();
    assert!(values::process_dependencies(&mut c, &Value::Nil, false).is_err());
}
