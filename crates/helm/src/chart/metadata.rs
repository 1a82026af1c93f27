//! `Chart.yaml` (`chart.Metadata`), its dependencies and lock file, decoded the way Helm
//! decodes them (sigs.k8s.io/yaml: YAML numbers and booleans become strings where the Go field
//! is a string; other type mismatches are `encoding/json` errors), and validated with Helm's
//! `Metadata.Validate` messages.

use super::semver;
use helmrelease_gotmpl::{Map, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

/// API version of Helm 2 era charts (dependencies in `requirements.yaml`).
pub const API_VERSION_V1: &str = "v1";
/// API version of Helm 3 charts.
pub const API_VERSION_V2: &str = "v2";

/// One entry of `maintainers`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Maintainer {
    /// `name`.
    pub name: String,
    /// `email`.
    pub email: String,
    /// `url`.
    pub url: String,
}

/// One entry of `dependencies` (Chart.yaml, `requirements.yaml` or a lock file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependency {
    /// `name`; replaced by the alias while dependencies are processed, as Helm does.
    pub name: String,
    /// `version`: a version or a semver range.
    pub version: String,
    /// `repository`.
    pub repository: String,
    /// `condition`: comma-separated value paths that resolve to booleans.
    pub condition: String,
    /// `tags`.
    pub tags: Vec<String>,
    /// `enabled`: set while dependencies are processed.
    pub enabled: bool,
    /// `import-values`: strings (`exports.` convention) or `{child, parent}` maps.
    pub import_values: Vec<Value>,
    /// `alias`.
    pub alias: String,
}

/// `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// `name` (required).
    pub name: String,
    /// `home`.
    pub home: String,
    /// `sources`.
    pub sources: Vec<String>,
    /// `version` (required, semver).
    pub version: String,
    /// `description`.
    pub description: String,
    /// `keywords`.
    pub keywords: Vec<String>,
    /// `maintainers` (`None` for a null entry, which validation refuses).
    pub maintainers: Vec<Option<Maintainer>>,
    /// `icon`.
    pub icon: String,
    /// `apiVersion` (`v1` when absent, as Helm assumes).
    pub api_version: String,
    /// `condition` (unused by Helm 3, kept for `.Chart`).
    pub condition: String,
    /// `tags` (unused by Helm 3, kept for `.Chart`).
    pub tags: String,
    /// `appVersion`.
    pub app_version: String,
    /// `deprecated`.
    pub deprecated: bool,
    /// `annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `kubeVersion`: a semver range of supported Kubernetes versions.
    pub kube_version: String,
    /// `dependencies` (`None` for a null entry, which validation refuses).
    pub dependencies: Vec<Option<Dependency>>,
    /// `type`: `application` (or empty) or `library`.
    pub chart_type: String,
}

/// `Chart.lock` / `requirements.lock`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lock {
    /// `generated` (kept as written).
    pub generated: String,
    /// `digest`.
    pub digest: String,
    /// `dependencies`.
    pub dependencies: Vec<Option<Dependency>>,
}

// ---- decoding ----

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) | Value::Object(_) => "object",
        Value::List(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Nil => "null",
        _ => "number",
    }
}

/// Decoding state: where we are (for Go's error text) and the first error.
struct Dec {
    err: Option<String>,
    fields: Vec<&'static str>,
}

impl Dec {
    fn fail(&mut self, got: &Value, strukt: &str, go_type: &str) {
        if self.err.is_none() {
            self.err = Some(format!(
                "json: cannot unmarshal {} into Go struct field {}.{} of type {}",
                json_kind(got),
                strukt,
                self.fields.join("."),
                go_type
            ));
        }
    }

    fn string(&mut self, v: &Value, strukt: &str, out: &mut String) {
        match v {
            Value::Nil => {}
            Value::Map(_) | Value::List(_) | Value::Object(_) | Value::Func(_) => {
                self.fail(v, strukt, "string")
            }
            other => *out = scalar_string(other),
        }
    }

    fn bool(&mut self, v: &Value, strukt: &str, out: &mut bool) {
        match v {
            Value::Nil => {}
            Value::Bool(b) => *out = *b,
            other => self.fail(other, strukt, "bool"),
        }
    }

    fn strings(&mut self, v: &Value, strukt: &str, out: &mut Vec<String>) {
        match v {
            Value::Nil => out.clear(),
            Value::List(items) => {
                let mut res = Vec::with_capacity(items.len());
                for item in items.iter() {
                    let mut s = String::new();
                    self.string(item, strukt, &mut s);
                    res.push(s);
                }
                *out = res;
            }
            other => self.fail(other, strukt, "[]string"),
        }
    }

    fn string_map(&mut self, v: &Value, strukt: &str, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Nil => out.clear(),
            Value::Map(m) => {
                for (k, item) in m.entries() {
                    let mut s = String::new();
                    self.string(&item, strukt, &mut s);
                    out.insert(k, s);
                }
            }
            other => self.fail(other, strukt, "map[string]string"),
        }
    }

    fn fields(
        &mut self,
        v: &Value,
        strukt: &str,
        go_type: &str,
        names: &[&'static str],
        mut set: impl FnMut(&mut Dec, &'static str, &Value),
    ) {
        let m = match v {
            Value::Nil => return,
            Value::Map(m) => m,
            other => {
                if self.fields.is_empty() {
                    if self.err.is_none() {
                        self.err = Some(format!(
                            "json: cannot unmarshal {} into Go value of type {}",
                            json_kind(other),
                            go_type
                        ));
                    }
                } else {
                    self.fail(other, strukt, go_type);
                }
                return;
            }
        };
        for (key, item) in m.entries() {
            // encoding/json: an exact field name, else a case-insensitive one.
            let name = names
                .iter()
                .find(|n| **n == key)
                .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(&key)));
            if let Some(name) = name {
                if *name != key && m.contains_key(name) {
                    continue;
                }
                self.fields.push(name);
                set(self, name, &item);
                self.fields.pop();
            }
        }
    }

    fn dependencies(&mut self, v: &Value, strukt: &str, out: &mut Vec<Option<Dependency>>) {
        match v {
            Value::Nil => out.clear(),
            Value::List(items) => {
                *out = items
                    .iter()
                    .map(|item| match item {
                        Value::Nil => None,
                        _ => {
                            let mut d = Dependency::default();
                            self.dependency(item, &mut d);
                            Some(d)
                        }
                    })
                    .collect();
            }
            other => self.fail(other, strukt, "[]*chart.Dependency"),
        }
    }

    fn dependency(&mut self, v: &Value, d: &mut Dependency) {
        const NAMES: &[&str] = &[
            "name",
            "version",
            "repository",
            "condition",
            "tags",
            "enabled",
            "import-values",
            "alias",
        ];
        self.fields(
            v,
            "Dependency",
            "chart.Dependency",
            NAMES,
            |dec, name, item| {
                let s = "Dependency";
                match name {
                    "name" => dec.string(item, s, &mut d.name),
                    "version" => dec.string(item, s, &mut d.version),
                    "repository" => dec.string(item, s, &mut d.repository),
                    "condition" => dec.string(item, s, &mut d.condition),
                    "tags" => dec.strings(item, s, &mut d.tags),
                    "enabled" => dec.bool(item, s, &mut d.enabled),
                    "import-values" => match item {
                        Value::Nil => d.import_values.clear(),
                        Value::List(l) => d.import_values = l.to_vec(),
                        other => dec.fail(other, s, "[]interface {}"),
                    },
                    "alias" => dec.string(item, s, &mut d.alias),
                    _ => {}
                }
            },
        );
    }
}

/// A YAML scalar as sigs.k8s.io/yaml writes it into a Go string field: integers in
/// decimal, other floats with `strconv.FormatFloat(f, 'g', -1, 32)`, booleans as words.
fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i, _) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e18 {
                // Integers are decoded as floats by our YAML reader; sigs.k8s.io/yaml sees
                // them as ints and formats them in decimal.
                format!("{}", *f as i64)
            } else {
                format_float32_g(*f)
            }
        }
        _ => String::new(),
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`.
fn format_float32_g(f: f64) -> String {
    let x = f as f32;
    if x.is_nan() {
        return ".nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    // Shortest digits that round-trip as f32, in scientific form: "d.ddde±x".
    let sci = format!("{x:e}");
    let (mant, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0");
    }
    // strconv's 'g' with the shortest precision: %e when exp < -4 || exp >= 6.
    if !(-4..6).contains(&exp) {
        // %e form with at least two exponent digits.
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    // %f form.
    let point = exp + 1;
    let s = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{}{}", digits, "0".repeat(point as usize - digits.len()))
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{a}.{b}")
    };
    format!("{sign}{s}")
}

const METADATA_FIELDS: &[&str] = &[
    "name",
    "home",
    "sources",
    "version",
    "description",
    "keywords",
    "maintainers",
    "icon",
    "apiVersion",
    "condition",
    "tags",
    "appVersion",
    "deprecated",
    "annotations",
    "kubeVersion",
    "dependencies",
    "type",
];

impl Metadata {
    /// Decodes Chart.yaml (already parsed) over `self`, as Go's `yaml.Unmarshal` into an
    /// existing struct does: only the keys present are set. The error is the JSON decoding
    /// error text Helm reports after `error unmarshaling JSON: while decoding JSON: `.
    pub fn decode_into(&mut self, v: &Value) -> Result<(), String> {
        let mut dec = Dec {
            err: None,
            fields: Vec::new(),
        };
        let md = self;
        dec.fields(
            v,
            "Metadata",
            "chart.Metadata",
            METADATA_FIELDS,
            |dec, name, item| {
                let s = "Metadata";
                match name {
                    "name" => dec.string(item, s, &mut md.name),
                    "home" => dec.string(item, s, &mut md.home),
                    "sources" => dec.strings(item, s, &mut md.sources),
                    "version" => dec.string(item, s, &mut md.version),
                    "description" => dec.string(item, s, &mut md.description),
                    "keywords" => dec.strings(item, s, &mut md.keywords),
                    "maintainers" => match item {
                        Value::Nil => md.maintainers.clear(),
                        Value::List(items) => {
                            md.maintainers = items
                                .iter()
                                .map(|it| match it {
                                    Value::Nil => None,
                                    _ => {
                                        let mut m = Maintainer::default();
                                        dec.fields(
                                            it,
                                            "Maintainer",
                                            "chart.Maintainer",
                                            &["name", "email", "url"],
                                            |dec, n, x| match n {
                                                "name" => dec.string(x, "Maintainer", &mut m.name),
                                                "email" => {
                                                    dec.string(x, "Maintainer", &mut m.email)
                                                }
                                                "url" => dec.string(x, "Maintainer", &mut m.url),
                                                _ => {}
                                            },
                                        );
                                        Some(m)
                                    }
                                })
                                .collect();
                        }
                        other => dec.fail(other, s, "[]*chart.Maintainer"),
                    },
                    "icon" => dec.string(item, s, &mut md.icon),
                    "apiVersion" => dec.string(item, s, &mut md.api_version),
                    "condition" => dec.string(item, s, &mut md.condition),
                    "tags" => dec.string(item, s, &mut md.tags),
                    "appVersion" => dec.string(item, s, &mut md.app_version),
                    "deprecated" => dec.bool(item, s, &mut md.deprecated),
                    "annotations" => dec.string_map(item, s, &mut md.annotations),
                    "kubeVersion" => dec.string(item, s, &mut md.kube_version),
                    "dependencies" => dec.dependencies(item, s, &mut md.dependencies),
                    "type" => dec.string(item, s, &mut md.chart_type),
                    _ => {}
                }
            },
        );
        match dec.err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether this is a library chart (`type: library`).
    pub fn is_library(&self) -> bool {
        self.chart_type == "library"
    }

    /// The dependencies without null entries.
    pub fn deps(&self) -> impl Iterator<Item = &Dependency> {
        self.dependencies.iter().flatten()
    }

    /// Helm's `Metadata.Validate`: sanitizes strings (spaces normalized, unprintable
    /// characters dropped) and checks required fields, the name, the version (semver), the
    /// type, maintainers and dependencies (aliases, duplicates). Messages are Helm's,
    /// `validation: ` prefix included.
    pub fn validate(&mut self) -> Result<(), String> {
        let v = |m: String| format!("validation: {m}");
        for s in [
            &mut self.name,
            &mut self.description,
            &mut self.home,
            &mut self.icon,
            &mut self.condition,
            &mut self.tags,
            &mut self.app_version,
            &mut self.kube_version,
        ] {
            *s = sanitize(s);
        }
        for s in self.sources.iter_mut().chain(self.keywords.iter_mut()) {
            *s = sanitize(s);
        }
        if self.api_version.is_empty() {
            return Err(v("chart.metadata.apiVersion is required".into()));
        }
        if self.name.is_empty() {
            return Err(v("chart.metadata.name is required".into()));
        }
        if self.name == "." || self.name == ".." {
            return Err(v(format!(
                "chart.metadata.name {} is not allowed",
                quote(&self.name)
            )));
        }
        if self.name != go_base(&self.name) {
            return Err(v(format!(
                "chart.metadata.name {} is invalid",
                quote(&self.name)
            )));
        }
        if self.version.is_empty() {
            return Err(v("chart.metadata.version is required".into()));
        }
        if semver::Version::parse(&self.version).is_none() {
            return Err(v(format!(
                "chart.metadata.version {} is invalid",
                quote(&self.version)
            )));
        }
        if !matches!(self.chart_type.as_str(), "" | "application" | "library") {
            return Err(v(
                "chart.metadata.type must be application or library".into()
            ));
        }
        for m in &mut self.maintainers {
            match m {
                None => {
                    return Err(v("maintainers must not contain empty or null nodes".into()));
                }
                Some(m) => {
                    m.name = sanitize(&m.name);
                    m.email = sanitize(&m.email);
                    m.url = sanitize(&m.url);
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in &mut self.dependencies {
            let Some(d) = d else {
                return Err(v("dependencies must not contain empty or null nodes".into()));
            };
            d.name = sanitize(&d.name);
            d.version = sanitize(&d.version);
            d.repository = sanitize(&d.repository);
            d.condition = sanitize(&d.condition);
            for t in &mut d.tags {
                *t = sanitize(t);
            }
            if !d.alias.is_empty()
                && !d
                    .alias
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(v(format!(
                    "dependency {} has disallowed characters in the alias",
                    quote(&d.name)
                )));
            }
            let key = if d.alias.is_empty() {
                d.name.clone()
            } else {
                d.alias.clone()
            };
            if !seen.insert(key.clone()) {
                return Err(v(format!(
                    "more than one dependency with name or alias {}",
                    quote(&key)
                )));
            }
        }
        Ok(())
    }

    /// Chart.yaml as Go marshals `chart.Metadata` to JSON (fields with `omitempty` left out
    /// when empty): what `.Chart` is built from.
    pub fn to_value(&self) -> Value {
        let mut m = BTreeMap::new();
        let put_s = |m: &mut BTreeMap<String, Value>, k: &str, s: &str| {
            if !s.is_empty() {
                m.insert(k.to_string(), Value::string(s));
            }
        };
        put_s(&mut m, "name", &self.name);
        put_s(&mut m, "home", &self.home);
        put_s(&mut m, "version", &self.version);
        put_s(&mut m, "description", &self.description);
        put_s(&mut m, "icon", &self.icon);
        put_s(&mut m, "apiVersion", &self.api_version);
        put_s(&mut m, "condition", &self.condition);
        put_s(&mut m, "tags", &self.tags);
        put_s(&mut m, "appVersion", &self.app_version);
        put_s(&mut m, "kubeVersion", &self.kube_version);
        put_s(&mut m, "type", &self.chart_type);
        if !self.sources.is_empty() {
            m.insert("sources".into(), string_list(&self.sources));
        }
        if !self.keywords.is_empty() {
            m.insert("keywords".into(), string_list(&self.keywords));
        }
        if !self.maintainers.is_empty() {
            let items = self
                .maintainers
                .iter()
                .map(|mt| match mt {
                    None => Value::Nil,
                    Some(mt) => {
                        let mut o = BTreeMap::new();
                        put_s(&mut o, "name", &mt.name);
                        put_s(&mut o, "email", &mt.email);
                        put_s(&mut o, "url", &mt.url);
                        Value::Map(Map::from(o))
                    }
                })
                .collect();
            m.insert("maintainers".into(), Value::List(Rc::new(items)));
        }
        if self.deprecated {
            m.insert("deprecated".into(), Value::Bool(true));
        }
        if !self.annotations.is_empty() {
            m.insert(
                "annotations".into(),
                Value::map(
                    self.annotations
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::string(v.as_str()))),
                ),
            );
        }
        if !self.dependencies.is_empty() {
            let items = self
                .dependencies
                .iter()
                .map(|d| d.as_ref().map_or(Value::Nil, Dependency::to_value))
                .collect();
            m.insert("dependencies".into(), Value::List(Rc::new(items)));
        }
        Value::Map(Map::from(m))
    }
}

impl Dependency {
    /// As Go marshals `chart.Dependency` to JSON.
    pub fn to_value(&self) -> Value {
        let mut o = BTreeMap::new();
        o.insert("name".to_string(), Value::string(self.name.as_str()));
        o.insert(
            "repository".to_string(),
            Value::string(self.repository.as_str()),
        );
        for (k, s) in [
            ("version", &self.version),
            ("condition", &self.condition),
            ("alias", &self.alias),
        ] {
            if !s.is_empty() {
                o.insert(k.to_string(), Value::string(s.as_str()));
            }
        }
        if !self.tags.is_empty() {
            o.insert("tags".into(), string_list(&self.tags));
        }
        if self.enabled {
            o.insert("enabled".into(), Value::Bool(true));
        }
        if !self.import_values.is_empty() {
            o.insert(
                "import-values".into(),
                Value::List(Rc::new(self.import_values.clone())),
            );
        }
        Value::Map(Map::from(o))
    }
}

impl Lock {
    /// Decodes a lock file (already parsed).
    pub fn decode(v: &Value) -> Result<Lock, String> {
        let mut lock = Lock::default();
        let mut dec = Dec {
            err: None,
            fields: Vec::new(),
        };
        let l = &mut lock;
        dec.fields(
            v,
            "Lock",
            "chart.Lock",
            &["generated", "digest", "dependencies"],
            |dec, name, item| match name {
                "generated" => dec.string(item, "Lock", &mut l.generated),
                "digest" => dec.string(item, "Lock", &mut l.digest),
                "dependencies" => dec.dependencies(item, "Lock", &mut l.dependencies),
                _ => {}
            },
        );
        match dec.err {
            Some(e) => Err(e),
            None => Ok(lock),
        }
    }
}

fn string_list(items: &[String]) -> Value {
    Value::List(Rc::new(
        items.iter().map(|s| Value::string(s.as_str())).collect(),
    ))
}

/// Go's `%q`.
pub(crate) fn quote(s: &str) -> String {
    helmrelease_gotmpl::strconv::quote(s)
}

/// Helm's `sanitizeString`: white space becomes a space, unprintable characters go.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if is_go_space(c) {
                Some(' ')
            } else if helmrelease_gotmpl::fmt::is_print(c) {
                Some(c)
            } else {
                None
            }
        })
        .collect()
}

/// Go's `unicode.IsSpace`.
fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

/// Go's `filepath.Base` on Unix.
fn go_base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn float_strings() {
        assert_eq!(scalar_string(&Value::Float(1.0)), "1");
        assert_eq!(scalar_string(&Value::Float(1.1)), "1.1");
        assert_eq!(scalar_string(&Value::Float(1.10)), "1.1");
        assert_eq!(scalar_string(&Value::Float(0.5)), "0.5");
        assert_eq!(scalar_string(&Value::Float(0.00001)), "1e-05");
        assert_eq!(scalar_string(&Value::Float(1234567.5)), "1.2345675e+06");
        assert_eq!(scalar_string(&Value::Float(2.71)), "2.71");
        assert_eq!(scalar_string(&Value::Bool(true)), "true");
    }

    #[test]
    fn decode_and_validate() {
        let v = map(&[
            ("name", Value::string("demo")),
            ("version", Value::Float(1.0)),
            ("appVersion", Value::Float(1.1)),
            ("Description", Value::string("a\tb\u{7}c")),
            ("keywords", Value::List(Rc::new(vec![Value::Bool(true)]))),
        ]);
        let mut md = Metadata::default();
        md.decode_into(&v).unwrap();
        assert_eq!(md.version, "1");
        assert_eq!(md.app_version, "1.1");
        assert_eq!(md.keywords, vec!["true".to_string()]);
        md.api_version = "v2".into();
        md.validate().unwrap();
        assert_eq!(md.description, "a bc");

        let bad = map(&[("deprecated", Value::string("yes"))]);
        assert_eq!(
            Metadata::default().decode_into(&bad).unwrap_err(),
            "json: cannot unmarshal string into Go struct field Metadata.deprecated of type bool"
        );
        let bad = map(&[(
            "dependencies",
            Value::List(Rc::new(vec![map(&[("tags", Value::string("x"))])])),
        )]);
        assert_eq!(
            Metadata::default().decode_into(&bad).unwrap_err(),
            "json: cannot unmarshal string into Go struct field Dependency.dependencies.tags of type []string"
        );
        assert_eq!(
            Metadata::default()
                .decode_into(&Value::List(Rc::new(vec![])))
                .unwrap_err(),
            "json: cannot unmarshal array into Go value of type chart.Metadata"
        );

        let mut md = Metadata {
            api_version: "v2".into(),
            name: "x".into(),
            version: "1.0.0-01".into(),
            ..Default::default()
        };
        assert_eq!(
            md.validate().unwrap_err(),
            "validation: chart.metadata.version \"1.0.0-01\" is invalid"
        );
        md.version = "1.0.0".into();
        md.name = "a/b".into();
        assert_eq!(
            md.validate().unwrap_err(),
            "validation: chart.metadata.name \"a/b\" is invalid"
        );
    }
}
