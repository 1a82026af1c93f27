//! Charts: the model (Helm's `chart.Chart`) and the loader (`chart/loader`): a directory
//! (honouring `.helmignore`), a `.tgz` archive, or files already in memory.
//!
//! Loading follows Helm 3: `Chart.yaml` is required (`apiVersion` defaults to `v1`), v1
//! charts take their dependencies from `requirements.yaml` and their lock from
//! `requirements.lock`, `values.yaml` is parsed, `values.schema.json` is kept as bytes,
//! `templates/` holds the templates, `charts/` holds subcharts (directories or `.tgz`
//! archives; names starting with `_` or `.` are skipped, `.prov` files kept as files), and
//! everything else is a file for `.Files`. Archives are checked for path traversal and
//! decompressed within Helm's size limits. Messages are Helm's.

pub mod archive;
pub mod ignore;
pub mod metadata;
pub mod semver;

pub use metadata::{Dependency, Lock, Maintainer, Metadata};

use crate::{Error, Result};
use helmrelease_gotmpl::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Helm's default cap on an archive's total decompressed size (`MaxDecompressedChartSize`).
pub const MAX_DECOMPRESSED_CHART_SIZE: u64 = 100 * 1024 * 1024;
/// Helm's default cap on one file's size (`MaxDecompressedFileSize`).
pub const MAX_DECOMPRESSED_FILE_SIZE: u64 = 5 * 1024 * 1024;
/// How deeply subcharts may nest (not a Helm limit: it keeps hostile archives from
/// exhausting the stack).
pub const MAX_CHART_DEPTH: usize = 64;

/// Size limits for loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total decompressed size of one archive (and, not in Helm 3, of one directory).
    pub chart_size: u64,
    /// Size of one file.
    pub file_size: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            chart_size: MAX_DECOMPRESSED_CHART_SIZE,
            file_size: MAX_DECOMPRESSED_FILE_SIZE,
        }
    }
}

/// A file of a chart: its path relative to the chart root (`/` separators) and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative path, e.g. `templates/deployment.yaml`.
    pub name: String,
    /// Content (a leading UTF-8 BOM removed).
    pub data: Vec<u8>,
}

/// A file read from a directory or archive before it is sorted into a chart.
pub type BufferedFile = File;

/// A CRD file of a chart or one of its subcharts (`crds/*.yaml|yml|json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crd {
    /// Path relative to its chart, e.g. `crds/foo.yaml`.
    pub name: String,
    /// Path including the chart path, e.g. `parent/charts/sub/crds/foo.yaml`.
    pub filename: String,
    /// Content.
    pub data: Vec<u8>,
}

/// A loaded chart and its subcharts.
#[derive(Debug, Clone)]
pub struct Chart {
    /// `Chart.yaml` (with `requirements.yaml` dependencies for v1 charts).
    pub metadata: Metadata,
    /// `Chart.lock` or `requirements.lock`.
    pub lock: Option<Lock>,
    /// Files under `templates/` (partials and `NOTES.txt` included), in load order.
    pub templates: Vec<File>,
    /// `values.yaml` parsed (always a map; empty when the file is absent).
    pub values: Value,
    /// `values.yaml` as written.
    pub raw_values: Option<Vec<u8>>,
    /// `values.schema.json` as written.
    pub schema: Option<Vec<u8>>,
    /// Every other file (what `.Files` sees), `crds/` included.
    pub files: Vec<File>,
    /// Every file as loaded (Helm's `Chart.Raw`).
    pub raw: Vec<File>,
    /// Subcharts, from `charts/`.
    pub dependencies: Vec<Chart>,
    parent: Option<ParentPath>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ParentPath {
    dotted: String,
    full: String,
}

fn empty_map() -> Value {
    Value::Map(Map::new())
}

impl Chart {
    /// An empty root chart with the given metadata (for building charts in code).
    pub fn new(metadata: Metadata) -> Chart {
        Chart {
            metadata,
            lock: None,
            templates: Vec::new(),
            values: empty_map(),
            raw_values: None,
            schema: None,
            files: Vec::new(),
            raw: Vec::new(),
            dependencies: Vec::new(),
            parent: None,
        }
    }

    /// The chart's name (an alias once dependencies are processed).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether this is the top chart (not a subchart).
    pub fn is_root(&self) -> bool {
        self.parent.is_none()
    }

    /// Helm's `ChartPath`: names from the root, dot-separated (`parent.sub`).
    pub fn chart_path(&self) -> String {
        match &self.parent {
            Some(p) => format!("{}.{}", p.dotted, self.name()),
            None => self.name().to_string(),
        }
    }

    /// Helm's `ChartFullPath`: `parent/charts/sub`, the prefix of template names.
    pub fn chart_full_path(&self) -> String {
        match &self.parent {
            Some(p) => format!("{}/charts/{}", p.full, self.name()),
            None => self.name().to_string(),
        }
    }

    /// `appVersion`.
    pub fn app_version(&self) -> &str {
        &self.metadata.app_version
    }

    /// Whether this is a library chart: its templates are not rendered, only its partials
    /// (`_*` files) are used.
    pub fn is_library(&self) -> bool {
        self.metadata.is_library()
    }

    /// Helm's `isTemplateValid`: in a library chart only files whose base name starts with
    /// `_` count as templates.
    pub fn is_template_valid(&self, template_name: &str) -> bool {
        if self.is_library() {
            let base = template_name.rsplit('/').next().unwrap_or(template_name);
            base.starts_with('_')
        } else {
            true
        }
    }

    /// `templates/NOTES.txt`, if any.
    pub fn notes(&self) -> Option<&File> {
        self.templates
            .iter()
            .find(|t| t.name == "templates/NOTES.txt")
    }

    /// Replaces the subcharts, making this chart their parent.
    pub fn set_dependencies(&mut self, deps: Vec<Chart>) {
        self.dependencies = deps;
        self.fix_parents();
    }

    /// Recomputes the parent paths of the whole subtree below this chart (after renames).
    pub fn fix_parents(&mut self) {
        let me = ParentPath {
            dotted: self.chart_path(),
            full: self.chart_full_path(),
        };
        for d in &mut self.dependencies {
            d.parent = Some(me.clone());
            d.fix_parents();
        }
    }

    /// Helm's `CRDObjects`: the `crds/` files (`.yaml`, `.yml`, `.json`, any case) of this
    /// chart, then of its subcharts, depth first.
    pub fn crd_objects(&self) -> Vec<Crd> {
        let mut out = Vec::new();
        for f in &self.files {
            if f.name.starts_with("crds/") && has_manifest_extension(&f.name) {
                out.push(Crd {
                    name: f.name.clone(),
                    filename: format!("{}/{}", self.chart_full_path(), f.name),
                    data: f.data.clone(),
                });
            }
        }
        for d in &self.dependencies {
            out.extend(d.crd_objects());
        }
        out
    }

    /// Helm's `checkIfInstallable`: only application charts (type empty or `application`)
    /// can be installed or rendered (`library charts are not installable`).
    pub fn check_installable(&self) -> Result<()> {
        match self.metadata.chart_type.as_str() {
            "" | "application" => Ok(()),
            other => Err(Error::Chart(format!("{other} charts are not installable"))),
        }
    }

    /// Helm's `CheckDependencies`: every dependency in Chart.yaml must have a subchart of
    /// that name (`found in Chart.yaml, but missing in charts/ directory: a, b`).
    pub fn check_dependencies(&self) -> Result<()> {
        let missing: Vec<&str> = self
            .metadata
            .deps()
            .filter(|r| !self.dependencies.iter().any(|d| d.name() == r.name))
            .map(|r| r.name.as_str())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::Chart(format!(
                "found in Chart.yaml, but missing in charts/ directory: {}",
                missing.join(", ")
            )))
        }
    }
}

/// Go's `filepath.Ext`.
fn go_ext(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.rfind('.').map_or("", |i| &base[i..])
}

fn has_manifest_extension(name: &str) -> bool {
    let ext = go_ext(name);
    ext.eq_ignore_ascii_case(".yaml")
        || ext.eq_ignore_ascii_case(".yml")
        || ext.eq_ignore_ascii_case(".json")
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Loads a chart from a directory or an archive file, as `helm template PATH` does.
pub fn load(path: impl AsRef<Path>) -> Result<Chart> {
    load_with(path, &Limits::default())
}

/// [`load`] with explicit size limits.
pub fn load_with(path: impl AsRef<Path>, limits: &Limits) -> Result<Chart> {
    let path = path.as_ref();
    let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
    if meta.is_dir() {
        load_dir_with(path, limits)
    } else {
        load_file_with(path, limits)
    }
}

/// Loads a chart archive (`.tgz`) from disk.
pub fn load_file(path: impl AsRef<Path>) -> Result<Chart> {
    load_file_with(path, &Limits::default())
}

/// [`load_file`] with explicit size limits.
pub fn load_file_with(path: impl AsRef<Path>, limits: &Limits) -> Result<Chart> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
    if meta.is_dir() {
        return Err(Error::Chart("cannot load a directory".into()));
    }
    let mut file = std::fs::File::open(path).map_err(|e| io(path, e))?;
    // ensureArchive: sniff the first 512 bytes.
    let mut head = Vec::with_capacity(512);
    std::io::Read::by_ref(&mut file)
        .take(512)
        .read_to_end(&mut head)
        .map_err(|e| Error::Chart(format!("file '{name}' cannot be read: {e}")))?;
    if !head.starts_with(&[0x1f, 0x8b, 0x08]) {
        if name.ends_with(".yml") || name.ends_with(".yaml") {
            return Err(Error::Chart(format!(
                "file '{name}' seems to be a YAML file, but expected a gzipped archive"
            )));
        }
        return Err(Error::Chart(format!(
            "file '{name}' does not appear to be a gzipped archive; got '{}'",
            detect_content_type(&head)
        )));
    }
    let input = std::io::Read::chain(std::io::Cursor::new(head), file);
    match archive::read_archive_files(input, limits) {
        Ok(files) => load_files_at(files, limits, 0),
        Err(e) if e == archive::GZIP_HEADER => Err(Error::Chart(format!(
            "file '{name}' does not appear to be a valid chart file (details: {e})"
        ))),
        Err(e) => Err(Error::Chart(e)),
    }
}

use std::io::Read as _;

/// A rough `http.DetectContentType` for the error message of a file that is not gzip.
fn detect_content_type(head: &[u8]) -> &'static str {
    if head.is_empty() {
        return "text/plain; charset=utf-8";
    }
    if head.starts_with(b"PK\x03\x04") {
        return "application/zip";
    }
    if head.starts_with(b"%PDF-") {
        return "application/pdf";
    }
    let binary = head.iter().any(|&b| {
        b <= 0x08 || b == 0x0B || (0x0E..=0x1A).contains(&b) || (0x1C..=0x1F).contains(&b)
    });
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

/// Loads a chart archive (`.tgz`) from memory. `.helmignore` is not applied, as in Helm.
pub fn load_archive(data: &[u8]) -> Result<Chart> {
    load_archive_with(data, &Limits::default())
}

/// [`load_archive`] with explicit size limits.
pub fn load_archive_with(data: &[u8], limits: &Limits) -> Result<Chart> {
    load_archive_at(data, limits, 0)
}

fn load_archive_at(data: &[u8], limits: &Limits, depth: usize) -> Result<Chart> {
    let files = archive::read_archive_files(data, limits).map_err(Error::Chart)?;
    load_files_at(files, limits, depth)
}

/// Loads a chart from a directory, skipping what `.helmignore` (and Helm's default
/// `templates/.?*`) ignores. Symbolic links are followed.
pub fn load_dir(path: impl AsRef<Path>) -> Result<Chart> {
    load_dir_with(path, &Limits::default())
}

/// [`load_dir`] with explicit size limits.
pub fn load_dir_with(path: impl AsRef<Path>, limits: &Limits) -> Result<Chart> {
    let files = read_dir_files(path.as_ref(), limits)?;
    load_files_at(files, limits, 0)
}

/// Reads a chart directory into files (Helm's `LoadDir` walk), honouring `.helmignore`.
pub fn read_dir_files(dir: &Path, limits: &Limits) -> Result<Vec<File>> {
    let top = std::path::absolute(dir).map_err(|e| io(dir, e))?;
    let mut rules = ignore::Rules::empty();
    let ifile = top.join(ignore::HELM_IGNORE);
    if ifile.exists() {
        let text = std::fs::read(&ifile).map_err(|e| io(&ifile, e))?;
        rules = ignore::Rules::parse(&String::from_utf8_lossy(&text)).map_err(Error::Chart)?;
    }
    rules.add_defaults();
    let mut walker = Walker {
        rules,
        limits: *limits,
        remaining: limits.chart_size,
        files: Vec::new(),
        stack: Vec::new(),
    };
    if let Ok(canon) = std::fs::canonicalize(&top) {
        walker.stack.push(canon);
    }
    walker.walk(&top, "")?;
    Ok(walker.files)
}

struct Walker {
    rules: ignore::Rules,
    limits: Limits,
    remaining: u64,
    files: Vec<File>,
    stack: Vec<PathBuf>,
}

impl Walker {
    fn walk(&mut self, dir: &Path, rel: &str) -> Result<()> {
        if self.stack.len() > 256 {
            return Err(Error::Chart(format!(
                "{}: too many levels of directories",
                dir.display()
            )));
        }
        let mut names: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .map(|e| {
                e.map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                    .map_err(|err| io(dir, err))
            })
            .collect::<Result<_>>()?;
        names.sort();
        for (name, path) in names {
            let n = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let lmeta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
            let meta = if lmeta.file_type().is_symlink() {
                std::fs::metadata(&path).map_err(|e| {
                    Error::Chart(format!(
                        "error evaluating symlink {}: {}",
                        path.display(),
                        e
                    ))
                })?
            } else {
                lmeta
            };
            if meta.is_dir() {
                if self.rules.ignore(&n, true) {
                    continue;
                }
                let canon = std::fs::canonicalize(&path).map_err(|e| io(&path, e))?;
                if self.stack.contains(&canon) {
                    return Err(Error::Chart(format!(
                        "{}: symbolic link cycle",
                        path.display()
                    )));
                }
                self.stack.push(canon);
                self.walk(&path, &n)?;
                self.stack.pop();
                continue;
            }
            if self.rules.ignore(&n, false) {
                continue;
            }
            if !meta.is_file() {
                return Err(Error::Chart(format!(
                    "cannot load irregular file {} as it has file mode type bits set",
                    path.display()
                )));
            }
            if meta.len() > self.limits.file_size {
                return Err(Error::Chart(format!(
                    "chart file {} is larger than the maximum file size {}",
                    metadata::quote(&name),
                    self.limits.file_size
                )));
            }
            if meta.len() > self.remaining {
                return Err(Error::Chart(format!(
                    "chart exceeds maximum decompressed size of {} bytes",
                    self.limits.chart_size
                )));
            }
            let f = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
            let mut data = Vec::new();
            f.take(self.remaining.min(self.limits.file_size) + 1)
                .read_to_end(&mut data)
                .map_err(|e| Error::Chart(format!("error reading {n}: {e}")))?;
            if data.len() as u64 > self.limits.file_size {
                return Err(Error::Chart(format!(
                    "chart file {} is larger than the maximum file size {}",
                    metadata::quote(&name),
                    self.limits.file_size
                )));
            }
            if data.len() as u64 > self.remaining {
                return Err(Error::Chart(format!(
                    "chart exceeds maximum decompressed size of {} bytes",
                    self.limits.chart_size
                )));
            }
            self.remaining -= data.len() as u64;
            if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
                data.drain(..3);
            }
            self.files.push(File { name: n, data });
        }
        Ok(())
    }
}

/// Builds a chart from files (Helm's `LoadFiles`): paths relative to the chart root.
pub fn load_files(files: Vec<File>) -> Result<Chart> {
    load_files_at(files, &Limits::default(), 0)
}

fn yaml_err(what: &str, e: Error) -> Error {
    Error::Chart(format!("cannot load {what}: {e}"))
}

fn decode_err(what: &str, e: String) -> Error {
    Error::Chart(format!(
        "cannot load {what}: error unmarshaling JSON: while decoding JSON: {e}"
    ))
}

/// Parses values YAML the way Helm reads `values.yaml` and `-f` files into a
/// `map[string]interface{}`.
pub(crate) fn parse_values_map(text: &[u8]) -> std::result::Result<Value, Error> {
    crate::yaml::from_yaml(&String::from_utf8_lossy(text))
}

fn load_files_at(files: Vec<File>, limits: &Limits, depth: usize) -> Result<Chart> {
    if depth > MAX_CHART_DEPTH {
        return Err(Error::Chart(format!(
            "charts nest more than {MAX_CHART_DEPTH} levels deep"
        )));
    }
    let mut metadata: Option<Metadata> = None;
    for f in &files {
        if f.name == "Chart.yaml" {
            let md = metadata.get_or_insert_with(Metadata::default);
            let v = crate::yaml::from_yaml_value(&String::from_utf8_lossy(&f.data))
                .map_err(|e| yaml_err("Chart.yaml", e))?;
            md.decode_into(&v)
                .map_err(|e| decode_err("Chart.yaml", e))?;
            if md.api_version.is_empty() {
                md.api_version = metadata::API_VERSION_V1.to_string();
            }
        }
    }
    let mut c = Chart::new(Metadata::default());
    let mut subcharts: BTreeMap<String, Vec<File>> = BTreeMap::new();
    for f in &files {
        c.raw.push(f.clone());
    }
    for f in files {
        let name = f.name.as_str();
        match name {
            "Chart.yaml" => {}
            "Chart.lock" => {
                let v = crate::yaml::from_yaml_value(&String::from_utf8_lossy(&f.data))
                    .map_err(|e| yaml_err("Chart.lock", e))?;
                c.lock = Some(Lock::decode(&v).map_err(|e| decode_err("Chart.lock", e))?);
            }
            "values.yaml" => {
                c.values = parse_values_map(&f.data).map_err(|e| yaml_err("values.yaml", e))?;
                c.raw_values = Some(f.data);
            }
            "values.schema.json" => c.schema = Some(f.data),
            "requirements.yaml" => {
                let md = metadata.get_or_insert_with(Metadata::default);
                let v = crate::yaml::from_yaml_value(&String::from_utf8_lossy(&f.data))
                    .map_err(|e| yaml_err("requirements.yaml", e))?;
                md.decode_into(&v)
                    .map_err(|e| decode_err("requirements.yaml", e))?;
                if md.api_version == metadata::API_VERSION_V1 {
                    c.files.push(f);
                }
            }
            "requirements.lock" => {
                let v = crate::yaml::from_yaml_value(&String::from_utf8_lossy(&f.data))
                    .map_err(|e| yaml_err("requirements.lock", e))?;
                c.lock = Some(Lock::decode(&v).map_err(|e| decode_err("requirements.lock", e))?);
                let md = metadata.get_or_insert_with(Metadata::default);
                if md.api_version == metadata::API_VERSION_V1 {
                    c.files.push(f);
                }
            }
            _ if name.starts_with("templates/") => c.templates.push(f),
            _ if name.starts_with("charts/") => {
                if go_ext(name) == ".prov" {
                    c.files.push(f);
                    continue;
                }
                let fname = &name["charts/".len()..];
                let cname = fname.split('/').next().unwrap_or("").to_string();
                let fname = fname.to_string();
                subcharts.entry(cname).or_default().push(File {
                    name: fname,
                    data: f.data,
                });
            }
            _ => c.files.push(f),
        }
    }
    let Some(mut md) = metadata else {
        return Err(Error::Chart("Chart.yaml file is missing".into()));
    };
    md.validate().map_err(Error::Chart)?;
    c.metadata = md;
    let cname = c.name().to_string();
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sc = if go_ext(&n) == ".tgz" {
            let first = &files[0];
            if first.name != n {
                return Err(Error::Chart(format!(
                    "error unpacking tar in {cname}: expected {n}, got {}",
                    first.name
                )));
            }
            load_archive_at(&first.data, limits, depth + 1)
        } else {
            let buff: Vec<File> = files
                .into_iter()
                .filter_map(|f| {
                    f.name.split_once('/').map(|(_, rest)| File {
                        name: rest.to_string(),
                        data: f.data,
                    })
                })
                .collect();
            load_files_at(buff, limits, depth + 1)
        };
        match sc {
            Ok(sc) => c.dependencies.push(sc),
            Err(e) => {
                return Err(Error::Chart(format!("error unpacking {n} in {cname}: {e}")));
            }
        }
    }
    c.fix_parents();
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_extensions() {
        assert!(has_manifest_extension("crds/a.YAML"));
        assert!(has_manifest_extension("crds/a.json"));
        assert!(!has_manifest_extension("crds/a.txt"));
        assert!(!has_manifest_extension("crds/yaml"));
    }

    #[test]
    fn content_type() {
        assert_eq!(detect_content_type(b"a: b\n"), "text/plain; charset=utf-8");
        assert_eq!(detect_content_type(&[0, 1, 2]), "application/octet-stream");
    }
}
