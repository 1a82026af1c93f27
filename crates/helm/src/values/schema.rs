//! `values.schema.json` validation (Helm's `ValidateAgainstSchema`): each chart's schema
//! checks that chart's coalesced values, subcharts with their own section. Helm 3.18+
//! validates with santhosh-tekuri/jsonschema v6 and prints its errors; this uses the
//! `jsonschema` crate (no remote or file references) and prints errors in that format:
//!
//! ```text
//! mychart:
//! - at '': missing property 'name'
//! - at '/replicas': got string, want integer
//! ```

use crate::chart::Chart;
use helmrelease_gotmpl::Value;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value as Json;

/// The URL Helm compiles every schema under.
const SCHEMA_URL: &str = "file:///values.schema.json";

/// Helm's `ValidateAgainstSchema`: the schema errors of `chart` and its subcharts, each
/// chart's block starting `name:`; `Ok` when every schema is met.
pub fn validate_against_schema(chart: &Chart, values: &Value) -> Result<(), String> {
    let mut sb = String::new();
    validate_into(chart, values, &mut sb);
    if sb.is_empty() { Ok(()) } else { Err(sb) }
}

fn validate_into(chart: &Chart, values: &Value, sb: &mut String) {
    if let Some(schema) = &chart.schema
        && let Err(e) = validate_against_single_schema(values, schema)
    {
        sb.push_str(&format!("{}:\n", chart.name()));
        sb.push_str(&e);
    }
    for sub in &chart.dependencies {
        let sub_values = match values {
            Value::Map(m) => m.get(sub.name()),
            _ => None,
        };
        match sub_values {
            None | Some(Value::Nil) => {}
            Some(v @ Value::Map(_)) => validate_into(sub, &v, sb),
            Some(other) => sb.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                other.type_name()
            )),
        }
    }
}

/// Values as JSON, integral floats as integers (as Go's JSON numbers compare).
fn to_json(v: &Value) -> Json {
    match v {
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Json::from(*f as i64),
        Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(
            m.entries()
                .into_iter()
                .map(|(k, v)| (k, to_json(&v)))
                .collect(),
        ),
        other => other.to_json(),
    }
}

/// Helm's `ValidateAgainstSingleSchema`: one schema against one chart's values. The error
/// lists one line per failure and ends with a newline, as Helm's does.
pub fn validate_against_single_schema(values: &Value, schema: &[u8]) -> Result<(), String> {
    let schema_json: Json = serde_json::from_slice(schema).map_err(|e| e.to_string())?;
    let validator = jsonschema::options()
        .should_validate_formats(false)
        .with_base_uri(SCHEMA_URL)
        .build(&schema_json)
        .map_err(|e| {
            let meta = match schema_json.get("$schema").and_then(Json::as_str) {
                Some(s) => s.trim_end_matches('#').to_string(),
                None => "https://json-schema.org/draft/2020-12/schema".to_string(),
            };
            match e.kind() {
                ValidationErrorKind::Referencing(r) => format!("{SCHEMA_URL}#: {r}"),
                _ => format!(
                    "\"{SCHEMA_URL}#\" is not valid against metaschema: jsonschema validation failed with '{meta}#'\n- at '{}': {}",
                    e.instance_path().as_str(),
                    message(e.kind(), e.instance())
                ),
            }
        })?;
    let instance = to_json(values);
    let mut lines: Vec<(usize, String, String)> = Vec::new();
    for err in validator.iter_errors(&instance) {
        let path = err.instance_path().as_str().to_string();
        collect(&mut lines, &path, err.kind(), err.instance(), 1);
    }
    if lines.is_empty() {
        return Ok(());
    }
    // santhosh-tekuri reports an object's own keywords (required, ...) before descending
    // into its properties; order by depth, then path, keeping the crate's order otherwise.
    lines.sort_by(|a, b| {
        let depth = |p: &str| p.matches('/').count();
        depth(&a.1).cmp(&depth(&b.1)).then_with(|| a.1.cmp(&b.1))
    });
    merge_required(&mut lines);
    let mut out = String::new();
    for (i, (indent, path, msg)) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&"  ".repeat(indent.saturating_sub(1)));
        out.push_str(&format!("- at {}: {msg}", quote(path)));
    }
    out.push('\n');
    Err(out)
}

/// One error for all the missing properties of an object, as santhosh-tekuri reports them.
fn merge_required(lines: &mut Vec<(usize, String, String)>) {
    let mut out: Vec<(usize, String, String)> = Vec::new();
    for (indent, path, msg) in lines.drain(..) {
        if let Some(name) = msg.strip_prefix("missing property ")
            && let Some(prev) = out.iter_mut().find(|(i, p, m)| {
                *i == indent
                    && *p == path
                    && (m.starts_with("missing property ") || m.starts_with("missing properties "))
            })
        {
            let names = prev
                .2
                .trim_start_matches("missing property ")
                .trim_start_matches("missing properties ")
                .to_string();
            prev.2 = format!("missing properties {names}, {name}");
            continue;
        }
        out.push((indent, path, msg));
    }
    *lines = out;
}

fn collect(
    lines: &mut Vec<(usize, String, String)>,
    path: &str,
    kind: &ValidationErrorKind,
    instance: &Json,
    indent: usize,
) {
    match kind {
        ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            for p in unexpected {
                lines.push((
                    indent,
                    format!("{path}/{}", escape(p)),
                    "false schema".into(),
                ));
            }
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            lines.push((indent, path.to_string(), message(kind, instance)));
            for group in context {
                for e in group {
                    collect(
                        lines,
                        e.instance_path().as_str(),
                        e.kind(),
                        e.instance(),
                        indent + 1,
                    );
                }
            }
        }
        _ => lines.push((indent, path.to_string(), message(kind, instance))),
    }
}

/// JSON pointer escaping.
fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// santhosh-tekuri's `quote`: Go's `%q`, then single quotes.
fn quote(s: &str) -> String {
    let q = helmrelease_gotmpl::strconv::quote(s);
    let inner = &q[1..q.len() - 1];
    format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
}

/// santhosh-tekuri's `display` for primitive values.
fn display(v: &Json) -> String {
    match v {
        Json::String(s) => quote(s),
        Json::Array(_) | Json::Object(_) => "value".into(),
        Json::Number(_) => num(v),
        Json::Bool(b) => b.to_string(),
        Json::Null => "<nil>".into(),
    }
}

/// A number as Go's `%v` prints the float64 it converts to.
fn num(v: &Json) -> String {
    let f = v.as_f64().unwrap_or(0.0);
    helmrelease_gotmpl::fmt::format_value(&Value::Float(f))
}

fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn len_of(v: &Json) -> usize {
    match v {
        Json::String(s) => s.chars().count(),
        Json::Array(a) => a.len(),
        Json::Object(o) => o.len(),
        _ => 0,
    }
}

fn message(kind: &ValidationErrorKind, instance: &Json) -> String {
    use ValidationErrorKind as K;
    match kind {
        K::Type { kind } => {
            let order = [
                "null", "boolean", "number", "integer", "string", "array", "object",
            ];
            let want: Vec<&str> = match kind {
                TypeKind::Single(t) => vec![t.as_str()],
                TypeKind::Multiple(set) => {
                    let names: Vec<&str> = set.iter().map(|t| t.as_str()).collect();
                    order
                        .iter()
                        .copied()
                        .filter(|o| names.contains(o))
                        .collect()
                }
            };
            format!("got {}, want {}", type_name(instance), want.join(" or "))
        }
        K::Required { property } => match property {
            Json::String(s) => format!("missing property {}", quote(s)),
            other => format!("missing property {}", quote(&other.to_string())),
        },
        K::AdditionalProperties { unexpected } => format!(
            "additional properties {} not allowed",
            unexpected
                .iter()
                .map(|s| quote(s))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        K::Enum { options } => match options.as_ref() {
            Json::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => {
                if items.len() == 1 {
                    format!("value must be {}", display(&items[0]))
                } else {
                    format!(
                        "value must be one of {}",
                        items.iter().map(display).collect::<Vec<_>>().join(", ")
                    )
                }
            }
            _ => "enum failed".into(),
        },
        K::Constant { expected_value } => match expected_value.as_ref() {
            Json::Array(_) | Json::Object(_) => "const failed".into(),
            other => format!("value must be {}", display(other)),
        },
        K::Minimum { limit } => format!("minimum: got {}, want {}", num(instance), num(limit)),
        K::Maximum { limit } => format!("maximum: got {}, want {}", num(instance), num(limit)),
        K::ExclusiveMinimum { limit } => {
            format!(
                "exclusiveMinimum: got {}, want {}",
                num(instance),
                num(limit)
            )
        }
        K::ExclusiveMaximum { limit } => {
            format!(
                "exclusiveMaximum: got {}, want {}",
                num(instance),
                num(limit)
            )
        }
        K::MultipleOf { multiple_of } => format!(
            "multipleOf: got {}, want {}",
            num(instance),
            helmrelease_gotmpl::fmt::format_value(&Value::Float(*multiple_of))
        ),
        K::MinLength { limit } => format!("minLength: got {}, want {limit}", len_of(instance)),
        K::MaxLength { limit } => format!("maxLength: got {}, want {limit}", len_of(instance)),
        K::MinItems { limit } => format!("minItems: got {}, want {limit}", len_of(instance)),
        K::MaxItems { limit } => format!("maxItems: got {}, want {limit}", len_of(instance)),
        K::MinProperties { limit } => {
            format!("minProperties: got {}, want {limit}", len_of(instance))
        }
        K::MaxProperties { limit } => {
            format!("maxProperties: got {}, want {limit}", len_of(instance))
        }
        K::Pattern { pattern } => format!(
            "{} does not match pattern {}",
            quote(instance.as_str().unwrap_or("")),
            quote(pattern)
        ),
        K::UniqueItems => {
            let (mut a, mut b) = (0, 0);
            if let Json::Array(items) = instance {
                'outer: for i in 0..items.len() {
                    for j in i + 1..items.len() {
                        if items[i] == items[j] {
                            (a, b) = (i, j);
                            break 'outer;
                        }
                    }
                }
            }
            format!("items at {a} and {b} are equal")
        }
        K::Contains => "no items match contains schema".into(),
        K::Not { .. } => "not failed".into(),
        K::AnyOf { .. } => "anyOf failed".into(),
        K::OneOfNotValid { .. } => "oneOf failed, none matched".into(),
        K::OneOfMultipleValid { .. } => "oneOf failed, subschemas 0, 1 matched".into(),
        K::FalseSchema => "false schema".into(),
        K::AdditionalItems { limit } => {
            let extra = len_of(instance).saturating_sub(*limit);
            format!("last {extra} additionalItem(s) not allowed")
        }
        K::PropertyNames { error } => {
            format!(
                "invalid property {}",
                quote(error.instance().as_str().unwrap_or(""))
            )
        }
        K::UnevaluatedItems { .. } => "false schema".into(),
        K::UnevaluatedProperties { .. } => "false schema".into(),
        K::Format { format } => format!("{} is not valid {format}", display(instance)),
        K::Custom { message, .. } => message.clone(),
        other => format!("{} failed", other.keyword()),
    }
}
