//! Loading charts: directories with `.helmignore`, subcharts as directories and archives,
//! v1 charts, library charts, CRDs, and Helm's error messages.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_gotmpl::Value;
use helmrelease_helm::chart::{self, Chart, File, Limits};
use std::io::Write;
use std::path::{Path, PathBuf};

fn charts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts")
}

/// A ustar header block for a regular file (names up to 100 bytes).
fn tar_header(name: &str, size: usize, kind: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A gzipped tar of the given entries, written byte by byte (so hostile names are possible).
fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (name, data) in entries {
        let kind = if name.ends_with('/') { b'5' } else { b'0' };
        tar.extend_from_slice(&tar_header(name, data.len(), kind));
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// Every file under `dir`, named `top/<relative path>`.
fn dir_entries(dir: &Path, top: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), top.to_string())];
    while let Some((d, prefix)) = stack.pop() {
        let mut names: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap()).collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let name = format!("{prefix}/{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                stack.push((e.path(), name));
            } else {
                out.push((name, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out
}

fn tgz_dir(dir: &Path, top: &str) -> Vec<u8> {
    let entries = dir_entries(dir, top);
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    tgz(&refs)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The `parent` test chart, with `charts/packaged-0.1.0.tgz` built from `packaged/`.
fn parent_chart_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("parent");
    copy_dir(&charts_dir().join("parent"), &dir);
    std::fs::write(
        dir.join("charts/packaged-0.1.0.tgz"),
        tgz_dir(&charts_dir().join("packaged"), "packaged"),
    )
    .unwrap();
    tmp
}

fn names(files: &[File]) -> Vec<&str> {
    files.iter().map(|f| f.name.as_str()).collect()
}

fn get(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v.clone();
    for p in path.split('.') {
        cur = match &cur {
            Value::Map(m) => m.get(p)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[test]
fn loads_a_directory_with_helmignore() {
    let tmp = parent_chart_dir();
    let c = chart::load(tmp.path().join("parent")).unwrap();
    assert_eq!(c.name(), "parent");
    assert_eq!(c.metadata.version, "1.0.0");
    assert_eq!(c.metadata.app_version, "2.0");
    assert!(c.is_root());
    // .helmignore: *.bak, ignored-dir/, /notes.txt; Helm's default templates/.?*.
    assert_eq!(
        names(&c.files),
        [
            ".helmignore",
            "README.md",
            "crds/crd.yaml",
            "crds/readme.txt"
        ]
    );
    assert_eq!(
        names(&c.templates),
        ["templates/NOTES.txt", "templates/configmap.yaml"]
    );
    assert!(c.notes().is_some());
    assert!(c.raw_values.is_some());
    assert_eq!(get(&c.values, "global.region"), Some(Value::string("eu")));
    // Subcharts sorted by their name under charts/.
    let subs: Vec<&str> = c.dependencies.iter().map(Chart::name).collect();
    assert_eq!(subs, ["lib", "packaged", "sub", "tagged"]);
    let sub = &c.dependencies[2];
    assert!(!sub.is_root());
    assert_eq!(sub.chart_path(), "parent.sub");
    assert_eq!(sub.chart_full_path(), "parent/charts/sub");
    assert_eq!(
        sub.dependencies[0].chart_full_path(),
        "parent/charts/sub/charts/grand"
    );
    // The archived subchart.
    let packaged = &c.dependencies[1];
    assert_eq!(names(&packaged.templates), ["templates/p.yaml"]);
    assert_eq!(
        get(&packaged.values, "fromArchive"),
        Some(Value::Bool(true))
    );
    // Library charts: only partials are templates to render.
    let lib = &c.dependencies[0];
    assert!(lib.is_library());
    assert!(lib.is_template_valid("templates/_helpers.tpl"));
    assert!(!lib.is_template_valid("templates/ignored.yaml"));
    assert!(sub.is_template_valid("templates/sub.yaml"));
    // CRDs: only manifests under crds/.
    let crds = c.crd_objects();
    assert_eq!(crds.len(), 1);
    assert_eq!(crds[0].name, "crds/crd.yaml");
    assert_eq!(crds[0].filename, "parent/crds/crd.yaml");
    c.check_dependencies().unwrap();
}

#[test]
fn loads_the_same_chart_from_an_archive() {
    let tmp = parent_chart_dir();
    let archive = tgz_dir(&tmp.path().join("parent"), "parent");
    let c = chart::load_archive(&archive).unwrap();
    assert_eq!(c.name(), "parent");
    // Archives are not filtered by .helmignore.
    assert!(names(&c.files).contains(&"values.yaml.bak"));
    assert!(names(&c.templates).contains(&"templates/.hidden.yaml"));
    assert_eq!(c.dependencies.len(), 4);
    // From disk too.
    let path = tmp.path().join("parent-1.0.0.tgz");
    std::fs::write(&path, &archive).unwrap();
    let c = chart::load(&path).unwrap();
    assert_eq!(c.dependencies.len(), 4);
}

#[test]
fn v1_charts_read_requirements() {
    let c = chart::load(charts_dir().join("v1chart")).unwrap();
    assert_eq!(c.metadata.api_version, "v1");
    let deps: Vec<_> = c.metadata.deps().map(|d| d.name.as_str()).collect();
    assert_eq!(deps, ["dep"]);
    assert_eq!(c.metadata.deps().next().unwrap().condition, "dep.enabled");
    let lock = c.lock.as_ref().unwrap();
    assert_eq!(lock.digest, "sha256:0000");
    assert_eq!(lock.dependencies.len(), 1);
    // v1 charts keep requirements files among .Files.
    assert_eq!(names(&c.files), ["requirements.lock", "requirements.yaml"]);
}

fn mem(files: &[(&str, &str)]) -> Vec<File> {
    files
        .iter()
        .map(|(n, d)| File {
            name: n.to_string(),
            data: d.as_bytes().to_vec(),
        })
        .collect()
}

fn err(files: &[(&str, &str)]) -> String {
    chart::load_files(mem(files)).unwrap_err().to_string()
}

#[test]
fn helm_error_messages() {
    assert_eq!(
        err(&[("values.yaml", "a: 1")]),
        "Chart.yaml file is missing"
    );
    assert_eq!(
        err(&[("Chart.yaml", "apiVersion: v2\nversion: 1.0.0\n")]),
        "validation: chart.metadata.name is required"
    );
    assert_eq!(
        err(&[("Chart.yaml", "apiVersion: v2\nname: x\n")]),
        "validation: chart.metadata.version is required"
    );
    assert_eq!(
        err(&[("Chart.yaml", "apiVersion: v2\nname: x\nversion: one\n")]),
        "validation: chart.metadata.version \"one\" is invalid"
    );
    assert_eq!(
        err(&[("Chart.yaml", "apiVersion: v2\nname: ..\nversion: 1.0.0\n")]),
        "validation: chart.metadata.name \"..\" is not allowed"
    );
    assert_eq!(
        err(&[("Chart.yaml", "apiVersion: v2\nname: a/b\nversion: 1.0.0\n")]),
        "validation: chart.metadata.name \"a/b\" is invalid"
    );
    assert_eq!(
        err(&[(
            "Chart.yaml",
            "apiVersion: v2\nname: x\nversion: 1.0.0\ntype: plugin\n"
        )]),
        "validation: chart.metadata.type must be application or library"
    );
    assert_eq!(
        err(&[(
            "Chart.yaml",
            "apiVersion: v2\nname: x\nversion: 1.0.0\ndependencies:\n- name: a\n- name: b\n  alias: a\n"
        )]),
        "validation: more than one dependency with name or alias \"a\""
    );
    assert_eq!(
        err(&[(
            "Chart.yaml",
            "apiVersion: v2\nname: x\nversion: 1.0.0\ndependencies:\n- name: a\n  alias: a.b\n"
        )]),
        "validation: dependency \"a\" has disallowed characters in the alias"
    );
    assert_eq!(
        err(&[(
            "Chart.yaml",
            "apiVersion: v2\nname: x\nversion: 1.0.0\nmaintainers:\n- null\n"
        )]),
        "validation: maintainers must not contain empty or null nodes"
    );
    // requirements.yaml without Chart.yaml: metadata exists, apiVersion does not.
    assert_eq!(
        err(&[("requirements.yaml", "dependencies: []\n")]),
        "validation: chart.metadata.apiVersion is required"
    );
    assert_eq!(
        err(&[("Chart.yaml", "name: [x]\n")]),
        "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field Metadata.name of type string"
    );
    assert!(
        err(&[("Chart.yaml", "name: x\n  bad: [\n")])
            .starts_with("cannot load Chart.yaml: error converting YAML to JSON: yaml: ")
    );
    assert_eq!(
        err(&[
            ("Chart.yaml", "name: x\nversion: 1.0.0\n"),
            ("values.yaml", "- a\n")
        ]),
        "cannot load values.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
    // Subchart failures name the subchart and its parent.
    assert_eq!(
        err(&[
            ("Chart.yaml", "name: parent\nversion: 1.0.0\n"),
            ("charts/sub/Chart.yaml", "name: sub\n")
        ]),
        "error unpacking sub in parent: validation: chart.metadata.version is required"
    );
    // A stray file in charts/ is taken for a chart, as in Helm.
    assert_eq!(
        err(&[
            ("Chart.yaml", "name: parent\nversion: 1.0.0\n"),
            ("charts/README.md", "hi")
        ]),
        "error unpacking README.md in parent: Chart.yaml file is missing"
    );
}

#[test]
fn chart_yaml_scalars_become_strings_like_sigs_yaml() {
    let c = chart::load_files(mem(&[(
        "Chart.yaml",
        "name: x\nversion: 1.0\nappVersion: 1.10\nkeywords: [1, true]\nannotations:\n  k: 2\n  n: 3\n",
    )]))
    .unwrap();
    assert_eq!(c.metadata.version, "1");
    // The well-known Helm surprise: an unquoted 1.10 is the float 1.1.
    assert_eq!(c.metadata.app_version, "1.1");
    assert_eq!(c.metadata.keywords, ["1", "true"]);
    assert_eq!(
        c.metadata.annotations.get("k").map(String::as_str),
        Some("2")
    );
    // YAML 1.1: the key `n` is the boolean false.
    assert_eq!(
        c.metadata.annotations.get("false").map(String::as_str),
        Some("3")
    );
    // A library chart with `.Chart` metadata built from it.
    let md = c.metadata.to_value();
    assert_eq!(get(&md, "apiVersion"), Some(Value::string("v1")));
}

#[test]
fn skips_hidden_subcharts_and_keeps_provenance_files() {
    let c = chart::load_files(mem(&[
        ("Chart.yaml", "name: p\nversion: 1.0.0\n"),
        ("charts/_skip/Chart.yaml", "broken: ["),
        ("charts/.git/config", "x"),
        ("charts/dep-1.0.0.tgz.prov", "signature"),
    ]))
    .unwrap();
    assert!(c.dependencies.is_empty());
    assert_eq!(names(&c.files), ["charts/dep-1.0.0.tgz.prov"]);
}

#[test]
fn directory_limits_and_irregular_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Chart.yaml"), "name: big\nversion: 1.0.0\n").unwrap();
    std::fs::write(dir.join("data.bin"), vec![b'x'; 64]).unwrap();
    let limits = Limits {
        chart_size: 1 << 20,
        file_size: 32,
    };
    assert_eq!(
        chart::load_dir_with(&dir, &limits).unwrap_err().to_string(),
        "chart file \"data.bin\" is larger than the maximum file size 32"
    );
    let limits = Limits {
        chart_size: 80,
        file_size: 1 << 20,
    };
    assert_eq!(
        chart::load_dir_with(&dir, &limits).unwrap_err().to_string(),
        "chart exceeds maximum decompressed size of 80 bytes"
    );
    #[cfg(unix)]
    {
        std::fs::remove_file(dir.join("data.bin")).unwrap();
        std::os::unix::fs::symlink(dir.join("missing"), dir.join("dangling")).unwrap();
        let e = chart::load_dir(&dir).unwrap_err().to_string();
        assert!(e.starts_with("error evaluating symlink "), "{e}");
        std::fs::remove_file(dir.join("dangling")).unwrap();
        // A symlink cycle is an error, not a stack overflow.
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("sub/loop")).unwrap();
        let e = chart::load_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("symbolic link cycle"), "{e}");
    }
}

#[test]
fn file_loader_checks_the_format() {
    let tmp = tempfile::tempdir().unwrap();
    let y = tmp.path().join("values.yaml");
    std::fs::write(&y, "a: 1\n").unwrap();
    assert_eq!(
        chart::load(&y).unwrap_err().to_string(),
        format!(
            "file '{}' seems to be a YAML file, but expected a gzipped archive",
            y.display()
        )
    );
    let t = tmp.path().join("chart.txt");
    std::fs::write(&t, "hello").unwrap();
    assert_eq!(
        chart::load(&t).unwrap_err().to_string(),
        format!(
            "file '{}' does not appear to be a gzipped archive; got 'text/plain; charset=utf-8'",
            t.display()
        )
    );
    assert_eq!(
        chart::load_file(tmp.path()).unwrap_err().to_string(),
        "cannot load a directory"
    );
}
