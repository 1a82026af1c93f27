//! The template engine as Helm runs it: every template of a chart and its subcharts parsed
//! into one set (deepest paths first, so top-level `define`s win), Sprig and Helm's functions,
//! `missingkey=zero` with `<no value>` removed, and errors reworded as Helm words them.

use crate::profile::HelmVersion;
use crate::yaml;
use helmrelease_gotmpl::{
    Engine, Error as TmplError, Funcs, Function, Map, MissingKey, Signature, Template, Type, Value,
    native,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// Markers around `required` and `fail` messages, so Helm's error cleanup can find them.
const ERR_START: &str = "HELM_ERR_START";
const ERR_END: &str = "HELM_ERR_END";
/// Helm's limit on nested `include`s of one template.
const MAX_INCLUDE_DEPTH: usize = 1000;
/// Name of the template set; `tpl` parses its text under this name.
const SET_NAME: &str = "gotpl";

/// One template to parse, with the root object it is executed on.
#[derive(Debug, Clone)]
pub struct RenderTemplate {
    /// Full name: `<chart>/templates/<file>`, or `<chart>/charts/<sub>/templates/<file>`.
    pub name: String,
    /// Template text.
    pub text: String,
    /// The root object (`.Values`, `.Release`, `.Chart`, ...). Maps are shared, not copied:
    /// as in Helm, the templates of one chart get the same root map, and what one template
    /// changes in it (`set .Values "k" "v"`) the templates executed after it see.
    pub vals: Value,
    /// `.Template.BasePath` (`<chart>/templates`). When set and `vals` is a map, the engine
    /// sets `vals.Template` to `{Name, BasePath}` just before executing this template, as
    /// Helm does with the root map its templates share.
    pub base_path: Option<String>,
    /// Whether to execute it (false for partials `_*.tpl` and library charts).
    pub render: bool,
}

/// Engine options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `missingkey=error` instead of `zero` (`helm template --strict`-like linting).
    pub strict: bool,
    /// What `lookup` asks; without one nothing exists, as in `helm template`.
    pub lookup: Option<Lookup>,
    /// Which Helm's functions and error formats.
    pub helm: HelmVersion,
}

/// A cluster for Helm's `lookup apiVersion kind namespace name`: the object (or, for an empty
/// name, the whole list object) as the API server returns it, `None` when it does not exist;
/// an error fails the template, as in Helm.
pub type LookupFn = dyn Fn(&str, &str, &str, &str) -> Result<Option<serde_json::Value>, String>;

/// A shared [`LookupFn`].
#[derive(Clone)]
pub struct Lookup(pub Rc<LookupFn>);

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookup(..)")
    }
}

impl Function for Lookup {
    fn call(&self, args: &[Value]) -> Result<Value, String> {
        let arg = |i| str_arg(args, i);
        Ok(match (self.0)(&arg(0), &arg(1), &arg(2), &arg(3))? {
            Some(object) => unstructured(&object),
            None => Value::Map(Map::new()),
        })
    }

    fn signature(&self) -> Signature {
        Signature::fixed(&[Type::String, Type::String, Type::String, Type::String])
    }

    fn type_name(&self) -> String {
        "func(string, string, string, string) (map[string]interface {}, error)".into()
    }
}

/// An object as client-go's unstructured decoding gives it: integers `int64`, other numbers
/// `float64`.
fn unstructured(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i, helmrelease_gotmpl::IntType::Int64),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::Array(items) => {
            Value::List(Rc::new(items.iter().map(unstructured).collect()))
        }
        serde_json::Value::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), unstructured(v)))
                .collect(),
        ),
        other => Value::from_json(other),
    }
}

/// Renders every template marked `render`; the result maps template names to output.
///
/// Templates are parsed and executed in Helm's order (deeper paths first; within a depth,
/// reverse lexical order), which matters because templates can change the maps they share.
pub fn render(
    templates: &[RenderTemplate],
    options: Options,
) -> Result<BTreeMap<String, String>, String> {
    render_each(templates, options, &mut |_, _| {})
}

/// [`render`], handing each template's output to `rendered` as soon as it is done.
pub fn render_each(
    templates: &[RenderTemplate],
    options: Options,
    rendered: &mut dyn FnMut(&str, &str),
) -> Result<BTreeMap<String, String>, String> {
    let mut set = Template::new(SET_NAME);
    set.missing_key(if options.strict {
        MissingKey::Error
    } else {
        MissingKey::Zero
    });
    let mut table = funcs();
    if !options.helm.has_must_to_yaml() {
        table.remove("mustToYaml");
    }
    set.funcs(&table);
    if let Some(lookup) = &options.lookup {
        let mut live = Funcs::new();
        live.insert("lookup".into(), Rc::new(lookup.clone()) as Rc<dyn Function>);
        set.funcs(&live);
    }
    let mut order: Vec<&RenderTemplate> = templates.iter().collect();
    // Deeper paths first; within a depth, reverse lexical order (Helm's sortTemplates).
    order.sort_by(|a, b| {
        let (da, db) = (a.name.matches('/').count(), b.name.matches('/').count());
        db.cmp(&da).then_with(|| b.name.cmp(&a.name))
    });
    for t in &order {
        set.parse_named(&t.name, &t.text)
            .map_err(|e| parse_error(&t.name, &e))?;
    }
    let mut out = BTreeMap::new();
    for t in order.iter().filter(|t| t.render) {
        if let (Some(base_path), Value::Map(root)) = (&t.base_path, &t.vals) {
            root.insert("Template", crate::objects::template(&t.name, base_path));
        }
        let text = set
            .execute_template(&t.name, &t.vals)
            .map_err(|e| exec_error(&t.name, &e, options.helm))?;
        let text = text.replace("<no value>", "");
        rendered(&t.name, &text);
        out.insert(t.name.clone(), text);
    }
    Ok(out)
}

/// Helm's `cleanupParseError`: `parse error at (<file>:<line>): <message>`.
fn parse_error(name: &str, err: &TmplError) -> String {
    let text = err.to_string();
    let parts: Vec<&str> = text.split(": ").collect();
    if parts.len() == 1 {
        return format!("parse error in ({name}): {text}");
    }
    format!(
        "parse error at ({}): {}",
        parts[1],
        parts.last().copied().unwrap_or_default()
    )
}

/// Helm's `reformatExecErrorMsg`: `required`/`fail` messages become
/// `execution error at (<file>:<line>:<col>): <message>`. Other errors stay as Go wrote them
/// in Helm 3; Helm 4 lays out a chain of template errors one level per block
/// ([`helm4_trace`]).
fn exec_error(name: &str, err: &TmplError, helm: HelmVersion) -> String {
    let text = err.to_string();
    let parts: Vec<&str> = text.splitn(3, ": ").collect();
    if parts.len() != 3 {
        return format!("execution error in ({name}): {text}");
    }
    match marked(parts[2]) {
        Some(msg) => format!("execution error at ({}): {msg}", parts[1]),
        None if helm == HelmVersion::V4 => helm4_trace(&text).unwrap_or(text),
        None => text,
    }
}

/// One level of a Helm 4 error trace.
#[derive(PartialEq)]
struct Traced<'a> {
    location: &'a str,
    function: Option<(&'a str, &'a str)>,
    message: &'a str,
}

/// Helm 4's layout of a template execution error, rebuilt from Go's one-line text. Go wraps
/// the error a function returns (`error calling include: <cause>`), and Helm 4 walks that
/// chain: every level must read as a template error, or the one-line text stays (`None`).
/// Each level prints as `LOCATION\n  executing "NAME" at <CONTEXT>:\n    MESSAGE`.
fn helm4_trace(text: &str) -> Option<String> {
    let mut levels: Vec<Traced<'_>> = Vec::new();
    let mut current = Some(text);
    while let Some(err) = current.take() {
        let rest = err.strip_prefix("template: ")?;
        let level = if rest.starts_with("no template ") {
            Traced {
                location: "",
                function: None,
                message: err,
            }
        } else if let Some(idx) = rest.find(": executing \"") {
            let location = &rest[..idx];
            let after = &rest[idx + ": executing \"".len()..];
            let end = after.find('"')?;
            let name = &after[..end];
            let at = after[end + 1..].strip_prefix(" at <")?;
            let close = at.find(">: ")?;
            let context = &at[..close];
            let message = &at[close + 3..];
            // The wrapped cause, when a function's error is what failed.
            if let Some(call) = message.strip_prefix("error calling ")
                && let Some(colon) = call.find(": ")
            {
                current = Some(&call[colon + 2..]);
            }
            let shown = message
                .find(" template:")
                .map_or(message, |cut| &message[..cut]);
            Traced {
                location,
                function: Some((name, context)),
                message: shown,
            }
        } else {
            let sep = rest.rfind(": ")?;
            let message = &rest[sep + 2..];
            Traced {
                location: &rest[..sep],
                function: None,
                message: message
                    .find(" template:")
                    .map_or(message, |cut| &message[..cut]),
            }
        };
        if levels.last() != Some(&level) {
            levels.push(level);
        }
    }
    let mut out = String::new();
    for level in &levels {
        if !level.location.is_empty() {
            out.push_str(level.location);
            out.push_str("\n  ");
        }
        if let Some((name, context)) = level.function {
            out.push_str(&format!("executing \"{name}\" at <{context}>:\n    "));
        }
        if !level.message.is_empty() {
            out.push_str(level.message);
            out.push('\n');
        }
    }
    Some(out.trim().to_string())
}

/// The message between the first start and the last end marker.
fn marked(s: &str) -> Option<&str> {
    let start = s.find(ERR_START)? + ERR_START.len();
    let end = s.rfind(ERR_END)?;
    s.get(start..end)
}

fn wrap_msg(s: &str) -> String {
    format!("{ERR_START}{s}{ERR_END}")
}

/// Sprig's functions (without `env` and `expandenv`, as in Helm) and Helm's.
pub fn funcs() -> Funcs {
    let mut f = helmrelease_sprig::funcs();
    f.remove("env");
    f.remove("expandenv");
    let included = Rc::new(RefCell::new(HashMap::new()));
    f.insert(
        "include".into(),
        Rc::new(Include {
            seen: included.clone(),
        }),
    );
    f.insert("tpl".into(), Rc::new(Tpl));
    let one = |t| Signature::fixed(&[t]);
    f.insert(
        "required".into(),
        native(
            "required",
            Signature::fixed(&[Type::String, Type::Any]),
            "func(string, interface {}) (interface {}, error)",
            |a| {
                let msg = str_arg(a, 0);
                match a.get(1) {
                    None | Some(Value::Nil) => Err(wrap_msg(&msg)),
                    Some(Value::String(s)) if s.is_empty() => Err(wrap_msg(&msg)),
                    Some(v) => Ok(v.clone()),
                }
            },
        ),
    );
    f.insert(
        "fail".into(),
        native(
            "fail",
            one(Type::String),
            "func(string) (string, error)",
            |a| Err(wrap_msg(&str_arg(a, 0))),
        ),
    );
    f.insert(
        "toYaml".into(),
        native("toYaml", one(Type::Any), "func(interface {}) string", |a| {
            // Helm returns "" when marshalling fails, and trims the final newline.
            let v = a.first().cloned().unwrap_or_default();
            Ok(Value::string(
                yaml::to_yaml(&v)
                    .map(|s| s.strip_suffix('\n').map(String::from).unwrap_or(s))
                    .unwrap_or_default(),
            ))
        }),
    );
    f.insert(
        "fromYaml".into(),
        native(
            "fromYaml",
            one(Type::String),
            "func(string) map[string]interface {}",
            |a| Ok(yaml::helm_from_yaml(&str_arg(a, 0))),
        ),
    );
    f.insert(
        "fromYamlArray".into(),
        native(
            "fromYamlArray",
            one(Type::String),
            "func(string) []interface {}",
            |a| {
                // Unmarshalled into a list, not a map: the kube-state-metrics chart feeds it
                // `include` of a `toYaml` list.
                Ok(yaml::helm_from_yaml_array(&str_arg(a, 0)))
            },
        ),
    );
    f.insert(
        "toJson".into(),
        native("toJson", one(Type::Any), "func(interface {}) string", |a| {
            let v = a.first().cloned().unwrap_or_default();
            Ok(Value::string(yaml::to_json(&v).unwrap_or_default()))
        }),
    );
    f.insert(
        "mustToYaml".into(),
        native(
            "mustToYaml",
            one(Type::Any),
            "func(interface {}) string",
            |a| {
                // Helm panics on a marshalling error: the call fails with it.
                yaml::must_to_yaml(&a.first().cloned().unwrap_or_default())
                    .map(Value::string)
                    .map_err(|e| e.to_string())
            },
        ),
    );
    f.insert(
        "toToml".into(),
        native("toToml", one(Type::Any), "func(interface {}) string", |a| {
            // BurntSushi's encoder error is the result; Go panics only on a nil value.
            yaml::helm_to_toml(&a.first().cloned().unwrap_or_default())
                .map(Value::string)
                .map_err(|e| e.to_string())
        }),
    );
    // Sprig's JSON functions Helm keeps: `to*` print "" on error, except toRawJson, which
    // panics (an error calling it); `must*` return the error.
    type NativeBody = fn(&[Value]) -> Result<Value, String>;
    let encoders: [(&'static str, &'static str, NativeBody); 5] = [
        ("toPrettyJson", "func(interface {}) string", |a| {
            encoded(a, yaml::to_pretty_json, false)
        }),
        ("toRawJson", "func(interface {}) string", |a| {
            encoded(a, yaml::to_raw_json, true)
        }),
        ("mustToJson", "func(interface {}) (string, error)", |a| {
            encoded(a, yaml::to_json, true)
        }),
        (
            "mustToPrettyJson",
            "func(interface {}) (string, error)",
            |a| encoded(a, yaml::to_pretty_json, true),
        ),
        ("mustToRawJson", "func(interface {}) (string, error)", |a| {
            encoded(a, yaml::to_raw_json, true)
        }),
    ];
    for (name, go_type, body) in encoders {
        f.insert(name.into(), native(name, one(Type::Any), go_type, body));
    }
    f.insert(
        "mustFromJson".into(),
        native(
            "mustFromJson",
            one(Type::String),
            "func(string) (interface {}, error)",
            |a| yaml::from_json_value(&str_arg(a, 0)).map_err(|e| e.to_string()),
        ),
    );
    f.insert(
        "fromJson".into(),
        native(
            "fromJson",
            one(Type::String),
            "func(string) map[string]interface {}",
            |a| Ok(yaml::helm_from_json(&str_arg(a, 0))),
        ),
    );
    f.insert(
        "fromJsonArray".into(),
        native(
            "fromJsonArray",
            one(Type::String),
            "func(string) []interface {}",
            |a| Ok(yaml::helm_from_json_array(&str_arg(a, 0))),
        ),
    );
    f.insert(
        "lookup".into(),
        native(
            "lookup",
            Signature::fixed(&[Type::String, Type::String, Type::String, Type::String]),
            "func(string, string, string, string) (map[string]interface {}, error)",
            // Offline, as `helm template` renders: nothing exists.
            |_| Ok(Value::Map(Map::new())),
        ),
    );
    f.insert(
        "getHostByName".into(),
        native(
            "getHostByName",
            one(Type::String),
            "func(string) string",
            // Helm disables DNS lookups unless --enable-dns.
            |_| Ok(Value::string("")),
        ),
    );
    f
}

/// The JSON of the first argument; an encoding error fails the call when `fails`, else "".
fn encoded(
    args: &[Value],
    encode: fn(&Value) -> crate::Result<String>,
    fails: bool,
) -> Result<Value, String> {
    match encode(&args.first().cloned().unwrap_or_default()) {
        Ok(text) => Ok(Value::string(text)),
        Err(e) if fails => Err(e.to_string()),
        Err(_) => Ok(Value::string("")),
    }
}

fn str_arg(args: &[Value], i: usize) -> String {
    match args.get(i) {
        Some(Value::String(s)) => s.to_string(),
        _ => String::new(),
    }
}

/// `include NAME DATA`: executes a named template and returns its output.
struct Include {
    seen: Rc<RefCell<HashMap<String, usize>>>,
}

impl Function for Include {
    fn call(&self, _: &[Value]) -> Result<Value, String> {
        Err("include needs a template set".into())
    }

    fn call_in(&self, engine: &dyn Engine, args: &[Value]) -> Result<Value, String> {
        let name = str_arg(args, 0);
        let data = args.get(1).cloned().unwrap_or_default();
        {
            let mut seen = self.seen.borrow_mut();
            let n = seen.entry(name.clone()).or_insert(0);
            if *n > MAX_INCLUDE_DEPTH {
                return Err(format!(
                    "rendering template has a nested reference name: {name}: unable to execute template"
                ));
            }
            *n += 1;
        }
        let result = engine.execute_template(&name, &data);
        if let Some(n) = self.seen.borrow_mut().get_mut(&name) {
            *n = n.saturating_sub(1);
        }
        result.map(Value::string).map_err(|e| e.to_string())
    }

    fn signature(&self) -> Signature {
        Signature::fixed(&[Type::String, Type::Any])
    }

    fn type_name(&self) -> String {
        "func(string, interface {}) (string, error)".into()
    }
}

/// `tpl TEXT DATA` (Helm 3.14+): TEXT parsed into a copy of the template set and executed.
struct Tpl;

impl Function for Tpl {
    fn call(&self, _: &[Value]) -> Result<Value, String> {
        Err("tpl needs a template set".into())
    }

    fn call_in(&self, engine: &dyn Engine, args: &[Value]) -> Result<Value, String> {
        let text = str_arg(args, 0);
        let data = args.get(1).cloned().unwrap_or_default();
        let quoted = helmrelease_gotmpl::strconv::quote(&text);
        match engine.execute_text(SET_NAME, &text, &data) {
            Ok(out) => Ok(Value::string(out.replace("<no value>", ""))),
            Err(TmplError::Parse(e)) => Err(format!("cannot parse template {quoted}: {e}")),
            Err(TmplError::Exec(e)) => Err(format!(
                "error during tpl function execution for {quoted}: {e}"
            )),
        }
    }

    fn signature(&self) -> Signature {
        Signature::fixed(&[Type::String, Type::Any])
    }

    fn type_name(&self) -> String {
        "func(string, interface {}) (string, error)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(name: &str, text: &str, render: bool) -> RenderTemplate {
        RenderTemplate {
            name: name.into(),
            text: text.into(),
            vals: Value::from_json(&json!({"Values": {"a": "x", "n": null}})),
            base_path: None,
            render,
        }
    }

    /// Templates sharing one root map, as the templates of a chart do.
    fn shared(root: &Value, name: &str, text: &str) -> RenderTemplate {
        RenderTemplate {
            name: name.into(),
            text: text.into(),
            vals: root.clone(),
            base_path: Some("c/templates".into()),
            render: true,
        }
    }

    #[test]
    fn templates_see_changes_earlier_templates_made_to_shared_maps() {
        // Helm executes b.yaml before a.yaml (reverse lexical order): what b sets in
        // `.Values` and in the root map, a (and c, executed before b) see or not.
        let root = Value::from_json(&json!({"Values": {"keep": 1}}));
        let out = render(
            &[
                shared(
                    &root,
                    "c/templates/a.yaml",
                    "a: x={{ .Values.x }} top={{ .top }} t={{ .Template.Name }} {{ .Template.BasePath }}",
                ),
                shared(
                    &root,
                    "c/templates/b.yaml",
                    r#"{{ $_ := set .Values "x" "y" }}{{ $_ := set $ "top" 1 }}b: {{ .Values }}"#,
                ),
                shared(&root, "c/templates/c.yaml", "c: x={{ .Values.x }}"),
            ],
            Options::default(),
        )
        .map(|m| m.into_values().collect::<Vec<_>>());
        assert_eq!(
            out,
            Ok(vec![
                "a: x=y top=1 t=c/templates/a.yaml c/templates".to_string(),
                "b: map[keep:1 x:y]".to_string(),
                "c: x=".to_string(),
            ])
        );
        // The caller's values changed too: they are the same map.
        let Value::Map(top) = &root else {
            panic!("root is a map")
        };
        assert_eq!(
            top.get("Values")
                .map(|v| helmrelease_gotmpl::fmt::format_value(&v)),
            Some("map[keep:1 x:y]".to_string())
        );
    }

    #[test]
    fn maps_that_contain_themselves_do_not_crash_printing_or_encoding() {
        // Go would overflow its stack on each of these; toYaml and toJson fail as
        // encoding/json does on a cycle, and Helm's functions print "" on errors.
        let out = render(
            &[t(
                "c/templates/a.yaml",
                r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}{{ $d }}|{{ printf "%#v" $d }}|{{ toYaml $d }}|{{ toJson $d }}|{{ (deepCopy $d).self.self.a }}|{{ deepEqual $d (deepCopy $d) }}"#,
                true,
            )],
            Options::default(),
        );
        assert_eq!(
            out.map(|m| m.into_values().collect::<Vec<_>>()),
            Ok(vec![
                r#"map[a:1 self:map[...]]|map[string]interface {}{"a":1, "self":map[string]interface {}{...}}|||1|true"#.to_string()
            ])
        );
    }

    #[test]
    fn lookup_reads_the_given_cluster_and_nothing_without_one() {
        let text = r#"{{ (lookup "apps/v1" "Deployment" "ns" "web").spec.replicas | typeOf }} {{ (lookup "apps/v1" "Deployment" "ns" "web").spec.replicas }} {{ lookup "v1" "Secret" "ns" "gone" | len }} {{ (lookup "v1" "ConfigMap" "ns" "").items | len }}"#;
        let cluster = Lookup(Rc::new(
            |api_version: &str, kind: &str, _: &str, name: &str| {
                Ok(match (api_version, kind, name) {
                    ("apps/v1", "Deployment", "web") => {
                        Some(serde_json::json!({"spec": {"replicas": 3}}))
                    }
                    ("v1", "ConfigMap", "") => Some(serde_json::json!({"items": [{}, {}]})),
                    _ => None,
                })
            },
        ));
        let run = |lookup: Option<Lookup>| {
            render(
                &[t("c/templates/a.yaml", text, true)],
                Options {
                    lookup,
                    ..Options::default()
                },
            )
            .map(|files| files.get("c/templates/a.yaml").cloned().unwrap_or_default())
        };
        assert_eq!(run(Some(cluster)), Ok("int64 3 0 2".to_string()));
        // Offline (`helm template`): every lookup is an empty map.
        assert!(
            run(None).is_err_and(|e| e.contains("nil pointer evaluating interface {}.replicas"))
        );
        let failing = Lookup(Rc::new(|_: &str, _: &str, _: &str, _: &str| {
            Err("secrets is forbidden".to_string())
        }));
        let err = run(Some(failing)).err().unwrap_or_default();
        assert!(
            err.contains("error calling lookup: secrets is forbidden"),
            "{err}"
        );
    }

    #[test]
    fn the_function_table_is_helms() {
        // Sprig 3.3's text functions without env and expandenv, and Helm's own, as the Go
        // oracle's table has them (plus Sprig 3.3's sha512sum and Helm's mustToYaml). A name
        // missing here fails charts with "function ... not defined". Helm 3.21 also has
        // toYamlPretty and fromToml, which are not implemented yet.
        const HELM: &str = "
        abbrev abbrevboth add add1 add1f addf adler32sum ago all any append atoi b32dec b32enc
        b64dec b64enc base bcrypt biggest buildCustomCert camelcase cat ceil chunk clean coalesce
        compact concat contains date dateInZone dateModify date_in_zone date_modify decryptAES
        deepCopy deepEqual default derivePassword dict dig dir div divf duration durationRound
        empty encryptAES ext fail first float64 floor fromJson fromJsonArray fromYaml
        fromYamlArray genCA genCAWithKey genPrivateKey genSelfSignedCert genSelfSignedCertWithKey
        genSignedCert genSignedCertWithKey get getHostByName has hasKey hasPrefix hasSuffix hello
        htmlDate htmlDateInZone htpasswd include indent initial initials int int64 isAbs join
        kebabcase keys kindIs kindOf last list lookup lower max maxf merge mergeOverwrite min
        minf mod mul mulf mustAppend mustChunk mustCompact mustDateModify mustDeepCopy mustFirst
        mustFromJson mustHas mustInitial mustLast mustMerge mustMergeOverwrite mustPrepend
        mustPush mustRegexFind mustRegexFindAll mustRegexMatch mustRegexReplaceAll
        mustRegexReplaceAllLiteral mustRegexSplit mustRest mustReverse mustSlice mustToDate
        mustToJson mustToPrettyJson mustToRawJson mustToYaml mustUniq mustWithout
        must_date_modify nindent nospace now omit osBase osClean osDir osExt osIsAbs pick pluck
        plural prepend push quote randAlpha randAlphaNum randAscii randBytes randInt randNumeric
        regexFind regexFindAll regexMatch regexQuoteMeta regexReplaceAll regexReplaceAllLiteral
        regexSplit repeat replace required rest reverse round semver semverCompare seq set
        sha1sum sha256sum sha512sum shuffle slice snakecase sortAlpha split splitList splitn
        squote sub subf substr swapcase ternary title toDate toDecimal toJson toPrettyJson
        toRawJson toString toStrings toToml toYaml tpl trim trimAll trimPrefix trimSuffix trimall
        trunc tuple typeIs typeIsLike typeOf uniq unixEpoch unset until untilStep untitle upper
        urlJoin urlParse uuidv4 values without wrap wrapWith
        ";
        let mut ours: Vec<String> = funcs().keys().cloned().collect();
        ours.sort();
        let mut helm: Vec<&str> = HELM.split_whitespace().collect();
        helm.sort_unstable();
        assert_eq!(ours, helm);
    }

    #[test]
    fn must_functions_fail_where_their_plain_forms_print_nothing() {
        let one = |text: &str| {
            render(&[t("c/templates/a.yaml", text, true)], Options::default())
                .map(|files| files.get("c/templates/a.yaml").cloned().unwrap_or_default())
        };
        let nan = "(dict \"x\" (float64 \"NaN\"))";
        assert_eq!(
            one(&format!("[{{{{ toYaml {nan} }}}}]")),
            Ok("[]".to_string())
        );
        assert_eq!(
            one(&format!("[{{{{ toPrettyJson {nan} }}}}]")),
            Ok("[]".to_string())
        );
        assert_eq!(
            one("{{ mustToYaml (dict \"a\" 1) }}"),
            Ok("a: 1".to_string())
        );
        for f in [
            "mustToYaml",
            "mustToJson",
            "mustToPrettyJson",
            "mustToRawJson",
            "toRawJson",
        ] {
            let err = one(&format!("{{{{ {f} {nan} }}}}"))
                .err()
                .unwrap_or_default();
            assert!(
                err.contains(&format!("error calling {f}:"))
                    && err.contains("json: unsupported value: NaN"),
                "{f}: {err}"
            );
        }
        let err = one("{{ mustFromJson \"{\" }}").err().unwrap_or_default();
        assert!(
            err.contains("error calling mustFromJson: unexpected end of JSON input"),
            "{err}"
        );
    }

    #[test]
    fn errors_read_as_helm_prints_them() {
        let err = render(
            &[t(
                "c/templates/a.yaml",
                "a\n{{ required \"a is required\" .Values.n }}",
                true,
            )],
            Options::default(),
        );
        assert_eq!(
            err,
            Err("execution error at (c/templates/a.yaml:2:3): a is required".into())
        );
        let err = render(
            &[t("c/templates/a.yaml", "{{ .Values.a", true)],
            Options::default(),
        );
        assert_eq!(
            err,
            Err("parse error at (c/templates/a.yaml:1): unclosed action".into())
        );
        let err = render(
            &[t("c/templates/a.yaml", "{{ tpl \"{{ .x.y }}\" . }}", true)],
            Options::default(),
        );
        assert!(
            err.as_ref().is_err_and(|e| e.contains(
                "error calling tpl: error during tpl function execution for \"{{ .x.y }}\": template: gotpl:1:5: executing \"gotpl\" at <.x.y>: nil pointer evaluating interface {}.y"
            )),
            "{err:?}"
        );
    }
}
