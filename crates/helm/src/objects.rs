//! The objects Helm hands templates besides `.Values`: `.Chart`, `.Capabilities`, `.Files`,
//! `.Release` and `.Template`, with the Go field names, methods and type names Helm's have.

use crate::profile::HelmVersion;
use crate::yaml;
use helmrelease_gotmpl::{Function, IntType, Map, Object, Signature, Struct, Type, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Kubernetes version `helm template` reports without a cluster (Helm 4.1 and 3.21.0-3.21.1,
/// client-go 0.35).
pub const DEFAULT_KUBE_VERSION: &str = "v1.35.0";

/// API versions `helm template` reports without a cluster (Helm 3.21, client-go 0.35).
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

fn s(v: &str) -> Value {
    Value::string(v)
}

/// A Kubernetes version as Helm parses `--kube-version` (k8s.io's generic version parser): the
/// version as given (with a `v`), and its numbers alone, which constraints are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    /// As given, with a leading `v` (`v1.30.1-gke.2`).
    pub given: String,
    /// The numbers only (`v1.30.1`).
    pub normalized: String,
    /// Major version.
    pub major: String,
    /// Minor version.
    pub minor: String,
}

impl KubeVersion {
    /// Parses as `version.ParseGeneric` does: an optional `v`, at least two dot-separated
    /// numbers without leading zeros, then anything.
    pub fn parse(text: &str) -> Result<KubeVersion, String> {
        let trimmed = text.trim_start();
        let body = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let digits_end = body
            .char_indices()
            .scan(false, |last_dot, (i, c)| {
                let ok = c.is_ascii_digit() || (c == '.' && !*last_dot && i > 0);
                *last_dot = c == '.';
                ok.then_some(i + c.len_utf8())
            })
            .last()
            .unwrap_or(0);
        let numbers = body[..digits_end].trim_end_matches('.');
        if numbers.is_empty() {
            return Err(format!("could not parse {text:?} as version"));
        }
        let components: Vec<&str> = numbers.split('.').collect();
        if components.len() < 2 {
            return Err(format!("illegal version string {text:?}"));
        }
        let mut values = Vec::new();
        for c in &components {
            if c.len() > 1 && c.starts_with('0') {
                return Err(format!(
                    "illegal zero-prefixed version component {c:?} in {text:?}"
                ));
            }
            let n: u64 = c
                .parse()
                .map_err(|e| format!("illegal version string {text:?}: {e}"))?;
            values.push(n.to_string());
        }
        let given = if text.starts_with('v') {
            text.to_string()
        } else {
            format!("v{text}")
        };
        Ok(KubeVersion {
            given,
            normalized: format!("v{}", values.join(".")),
            major: values[0].clone(),
            minor: values[1].clone(),
        })
    }

    /// `.Version`: Helm 4 keeps the version as given, Helm 3 normalizes it.
    pub fn version(&self, helm: HelmVersion) -> &str {
        match helm {
            HelmVersion::V4 => &self.given,
            HelmVersion::V3 => &self.normalized,
        }
    }
}

/// `.Capabilities` (`*chartutil.Capabilities`, `*common.Capabilities` in Helm 4).
pub fn capabilities(
    kube_version: &KubeVersion,
    api_versions: &[String],
    helm: HelmVersion,
) -> Value {
    let version = kube_version.version(helm).to_string();
    let major = kube_version.major.clone();
    let minor = kube_version.minor.clone();
    // Templates print it through its String method: the normalized version in both.
    let kv_string = kube_version.normalized.clone();
    let kube = Struct {
        type_name: match helm {
            HelmVersion::V4 => "common.KubeVersion".into(),
            HelmVersion::V3 => "chartutil.KubeVersion".into(),
        },
        fields: vec![
            ("Version".into(), s(&version)),
            ("Major".into(), s(&major)),
            ("Minor".into(), s(&minor)),
        ],
        methods: vec![
            ("String".into(), constant("String", &kv_string)),
            ("GitVersion".into(), constant("GitVersion", &version)),
        ],
        display: Some(kv_string.clone()),
    };
    let set = Rc::new(api_versions.to_vec());
    let has: Rc<dyn Function> = Rc::new(Has(set.clone()));
    let apis = Struct {
        type_name: "chartutil.VersionSet".into(),
        fields: Vec::new(),
        methods: vec![("Has".into(), has)],
        display: Some(format!("[{}]", set.join(" "))),
    };
    let info = helm.build_info();
    let mut fields = vec![
        ("Version".into(), s(info.version)),
        ("GitCommit".into(), s(info.git_commit)),
        ("GitTreeState".into(), s("clean")),
        ("GoVersion".into(), s(info.go_version)),
    ];
    if let Some(kube_client) = info.kube_client_version {
        fields.push(("KubeClientVersion".into(), s(kube_client)));
    }
    let helm = Struct {
        type_name: "version.BuildInfo".into(),
        fields,
        methods: Vec::new(),
        display: None,
    };
    Value::Object(Rc::new(Struct {
        type_name: "*chartutil.Capabilities".into(),
        fields: vec![
            ("KubeVersion".into(), Value::Object(Rc::new(kube))),
            ("APIVersions".into(), Value::Object(Rc::new(apis))),
            ("HelmVersion".into(), Value::Object(Rc::new(helm))),
        ],
        methods: Vec::new(),
        display: None,
    }))
}

/// A method with no arguments returning a fixed string.
fn constant(name: &'static str, value: &str) -> Rc<dyn Function> {
    Rc::new(Constant(name, value.to_string()))
}

struct Constant(&'static str, String);

impl Function for Constant {
    fn call(&self, _: &[Value]) -> Result<Value, String> {
        Ok(s(&self.1))
    }
    fn signature(&self) -> Signature {
        Signature::fixed(&[])
    }
    fn type_name(&self) -> String {
        format!("func() string /* {} */", self.0)
    }
}

/// `.Capabilities.APIVersions.Has`.
struct Has(Rc<Vec<String>>);

impl Function for Has {
    fn call(&self, args: &[Value]) -> Result<Value, String> {
        let want = match args.first() {
            Some(Value::String(w)) => w.to_string(),
            _ => String::new(),
        };
        Ok(Value::Bool(self.0.contains(&want)))
    }
    fn signature(&self) -> Signature {
        Signature::fixed(&[Type::String])
    }
    fn type_name(&self) -> String {
        "func(string) bool".into()
    }
}

/// Chart.yaml keys and the Go field names of `chart.Metadata`, in declaration order.
const METADATA_FIELDS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("home", "Home"),
    ("sources", "Sources"),
    ("version", "Version"),
    ("description", "Description"),
    ("keywords", "Keywords"),
    ("maintainers", "Maintainers"),
    ("icon", "Icon"),
    ("apiVersion", "APIVersion"),
    ("condition", "Condition"),
    ("tags", "Tags"),
    ("appVersion", "AppVersion"),
    ("deprecated", "Deprecated"),
    ("annotations", "Annotations"),
    ("kubeVersion", "KubeVersion"),
    ("dependencies", "Dependencies"),
    ("type", "Type"),
];

/// `.Chart`: the chart's metadata (Chart.yaml as parsed, keys as written there) with Go's
/// field names, zero values for what is absent, and `IsRoot`.
pub fn chart(metadata: &Value, is_root: bool) -> Value {
    let get = |key: &str| match metadata {
        Value::Map(m) => m.get(key),
        _ => None,
    };
    let mut fields = Vec::new();
    for (key, go) in METADATA_FIELDS {
        let v = get(key);
        let value = match *go {
            "Sources" | "Keywords" => v.unwrap_or_else(|| Value::List(Rc::new(Vec::new()))),
            "Maintainers" => list_of_structs(
                v,
                "*chart.Maintainer",
                &[("name", "Name"), ("email", "Email"), ("url", "URL")],
            ),
            "Dependencies" => list_of_structs(
                v,
                "*chart.Dependency",
                &[
                    ("name", "Name"),
                    ("version", "Version"),
                    ("repository", "Repository"),
                    ("condition", "Condition"),
                    ("tags", "Tags"),
                    ("enabled", "Enabled"),
                    ("import-values", "ImportValues"),
                    ("alias", "Alias"),
                ],
            ),
            "Deprecated" => v.unwrap_or(Value::Bool(false)),
            "Annotations" => v.unwrap_or_else(|| Value::Map(Map::new())),
            _ => match v {
                Some(Value::Nil) | None => s(""),
                Some(Value::Float(f)) => {
                    s(&helmrelease_gotmpl::fmt::format_value(&Value::Float(f)))
                }
                Some(other) => other,
            },
        };
        fields.push(((*go).to_string(), value));
    }
    fields.push(("IsRoot".into(), Value::Bool(is_root)));
    Value::Object(Rc::new(Struct {
        type_name: "struct { chart.Metadata; IsRoot bool }".into(),
        fields,
        methods: Vec::new(),
        display: None,
    }))
}

fn list_of_structs(v: Option<Value>, type_name: &str, keys: &[(&str, &str)]) -> Value {
    let items = match v {
        Some(Value::List(l)) => l,
        _ => return Value::List(Rc::new(Vec::new())),
    };
    Value::List(Rc::new(
        items
            .iter()
            .map(|item| {
                let fields = keys
                    .iter()
                    .map(|(k, go)| {
                        let v = match item {
                            Value::Map(m) => m.get(k),
                            _ => None,
                        };
                        ((*go).to_string(), v.unwrap_or_else(|| s("")))
                    })
                    .collect();
                Value::Object(Rc::new(Struct {
                    type_name: type_name.to_string(),
                    fields,
                    methods: Vec::new(),
                    display: None,
                }))
            })
            .collect(),
    ))
}

/// `.Files`: the chart's non-template files, with Helm's methods.
pub fn files(files: &BTreeMap<String, Vec<u8>>) -> Value {
    Value::Object(Rc::new(Files(Rc::new(files.clone()))))
}

/// Helm's `engine.files`.
struct Files(Rc<BTreeMap<String, Vec<u8>>>);

impl Object for Files {
    fn type_name(&self) -> String {
        "engine.files".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        // `files` is a map type: a field is a file's bytes.
        self.0.get(name).map(|b| bytes(b))
    }
    fn is_map(&self) -> bool {
        true
    }
    fn keys(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
    fn method(&self, name: &str) -> Option<Rc<dyn Function>> {
        let files = self.0.clone();
        Some(Rc::new(FilesMethod(name_of(name)?, files)))
    }
    fn format(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{k}:{}", helmrelease_gotmpl::fmt::format_value(&bytes(v))))
            .collect();
        format!("map[{}]", parts.join(" "))
    }
}

fn bytes(b: &[u8]) -> Value {
    Value::List(Rc::new(
        b.iter()
            .map(|x| Value::Int(i64::from(*x), IntType::Uint8))
            .collect(),
    ))
}

#[derive(Clone, Copy)]
enum FileMethod {
    Get,
    GetBytes,
    Glob,
    Lines,
    AsConfig,
    AsSecrets,
}

fn name_of(name: &str) -> Option<FileMethod> {
    Some(match name {
        "Get" => FileMethod::Get,
        "GetBytes" => FileMethod::GetBytes,
        "Glob" => FileMethod::Glob,
        "Lines" => FileMethod::Lines,
        "AsConfig" => FileMethod::AsConfig,
        "AsSecrets" => FileMethod::AsSecrets,
        _ => return None,
    })
}

struct FilesMethod(FileMethod, Rc<BTreeMap<String, Vec<u8>>>);

impl Function for FilesMethod {
    fn call(&self, args: &[Value]) -> Result<Value, String> {
        let arg = match args.first() {
            Some(Value::String(a)) => a.to_string(),
            _ => String::new(),
        };
        let files = &self.1;
        Ok(match self.0 {
            FileMethod::Get => s(&files
                .get(&arg)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()),
            FileMethod::GetBytes => files.get(&arg).map_or_else(|| bytes(&[]), |b| bytes(b)),
            FileMethod::Glob => {
                let matched: BTreeMap<String, Vec<u8>> = files
                    .iter()
                    .filter(|(k, _)| glob_match(&arg, k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Value::Object(Rc::new(Files(Rc::new(matched))))
            }
            FileMethod::Lines => match files.get(&arg) {
                None => Value::List(Rc::new(Vec::new())),
                Some(b) => {
                    let text = String::from_utf8_lossy(b);
                    let text = text.strip_suffix('\n').unwrap_or(&text);
                    Value::List(Rc::new(text.split('\n').map(s).collect()))
                }
            },
            FileMethod::AsConfig => {
                let m: BTreeMap<String, Value> = files
                    .iter()
                    .map(|(k, v)| (base(k), s(&String::from_utf8_lossy(v))))
                    .collect();
                s(yaml::to_yaml(&Value::Map(Map::from(m)))
                    .unwrap_or_default()
                    .trim_end_matches('\n'))
            }
            FileMethod::AsSecrets => {
                let m: BTreeMap<String, Value> = files
                    .iter()
                    .map(|(k, v)| (base(k), s(&base64(v))))
                    .collect();
                s(yaml::to_yaml(&Value::Map(Map::from(m)))
                    .unwrap_or_default()
                    .trim_end_matches('\n'))
            }
        })
    }

    fn signature(&self) -> Signature {
        match self.0 {
            FileMethod::AsConfig | FileMethod::AsSecrets => Signature::fixed(&[]),
            _ => Signature::fixed(&[Type::String]),
        }
    }
}

fn base(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Glob matching as `github.com/gobwas/glob` with `/` as separator, which Helm's `Glob` uses:
/// `*` within a path segment, `**` across segments, `?`, `[...]` classes and `{a,b}`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => {
            if p.get(1) == Some(&'*') {
                let rest = &p[2..];
                (0..=n.len()).any(|i| glob_at(rest, &n[i..]))
            } else {
                let rest = &p[1..];
                (0..=n.len())
                    .take_while(|i| *i == 0 || n[i - 1] != '/')
                    .any(|i| glob_at(rest, &n[i..]))
            }
        }
        Some('?') => n.first().is_some_and(|c| *c != '/') && glob_at(&p[1..], &n[1..]),
        Some('[') => {
            let Some(close) = p.iter().position(|c| *c == ']') else {
                return n.first() == Some(&'[') && glob_at(&p[1..], &n[1..]);
            };
            let class = &p[1..close];
            let (negate, class) = match class.first() {
                Some('!') => (true, &class[1..]),
                _ => (false, class),
            };
            let Some(c) = n.first() else { return false };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negate && glob_at(&p[close + 1..], &n[1..])
        }
        Some('{') => {
            let Some(close) = p.iter().position(|c| *c == '}') else {
                return n.first() == Some(&'{') && glob_at(&p[1..], &n[1..]);
            };
            let rest = &p[close + 1..];
            p[1..close].split(|c| *c == ',').any(|alt| {
                let mut whole: Vec<char> = alt.to_vec();
                whole.extend_from_slice(rest);
                glob_at(&whole, n)
            })
        }
        Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && glob_at(&p[2..], &n[1..]),
        Some(c) => n.first() == Some(c) && glob_at(&p[1..], &n[1..]),
    }
}

/// Go's `filepath.Match` (used by `--show-only`): `*` and `?` within a path segment, `[...]`
/// classes, `\\` escapes; no `**` and no braces.
pub fn glob_match_path(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    filepath_at(&p, &n)
}

fn filepath_at(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => {
            let rest = &p[1..];
            (0..=n.len())
                .take_while(|i| *i == 0 || n[i - 1] != '/')
                .any(|i| filepath_at(rest, &n[i..]))
        }
        Some('{') | Some('}') => n.first() == p.first() && filepath_at(&p[1..], &n[1..]),
        // `?` and classes behave as in the gobwas matcher.
        Some('?') | Some('[') | Some('\\') => {
            let single: Vec<char> = match p.first() {
                Some('[') => match p.iter().position(|c| *c == ']') {
                    Some(close) => p[..=close].to_vec(),
                    None => vec!['['],
                },
                Some('\\') if p.len() > 1 => p[..2].to_vec(),
                Some(c) => vec![*c],
                None => Vec::new(),
            };
            n.first().is_some_and(|_| glob_at(&single, &n[..1]))
                && filepath_at(&p[single.len()..], &n[1..])
        }
        Some(c) => n.first() == Some(c) && filepath_at(&p[1..], &n[1..]),
    }
}

/// `.Release`: a plain map, as Helm builds it.
pub fn release(name: &str, namespace: &str, revision: i64, is_upgrade: bool) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Name".into(), s(name));
    m.insert("Namespace".into(), s(namespace));
    m.insert("Revision".into(), Value::int(revision));
    m.insert("IsUpgrade".into(), Value::Bool(is_upgrade));
    m.insert("IsInstall".into(), Value::Bool(!is_upgrade));
    m.insert("Service".into(), s("Helm"));
    Value::Map(Map::from(m))
}

/// `.Template`: the template's name and base path.
pub fn template(name: &str, base_path: &str) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Name".into(), s(name));
    m.insert("BasePath".into(), s(base_path));
    Value::Map(Map::from(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_gobwas() {
        assert!(glob_match("files/*.txt", "files/a.txt"));
        assert!(!glob_match("files/*.txt", "files/sub/a.txt"));
        assert!(glob_match("files/**.txt", "files/sub/a.txt"));
        assert!(glob_match("files/{a,b}.txt", "files/b.txt"));
        assert!(glob_match("f?les/[a-c].txt", "files/c.txt"));
        assert!(!glob_match("f?les/[!a-c].txt", "files/c.txt"));
    }

    #[test]
    fn base64_is_standard() {
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi!"), "aGkh");
        assert_eq!(base64(b""), "");
    }
}
