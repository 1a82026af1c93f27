//! Validation of objects against Kubernetes structural OpenAPI v3 schemas, as the apiserver does
//! for custom resources: types, required fields, enums, patterns, lengths, ranges, and unknown
//! fields (reported, so callers can reject them under `fieldValidation=Strict`). CEL rules are
//! not evaluated here.

use regex::Regex;
use serde_json::Value;

/// Validates `value` against `schema` and returns every problem as `path: message`.
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "", &mut errors);
    errors
}

fn check(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let at = if path.is_empty() { "<root>" } else { path };
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!("{at}: null is not allowed"));
        }
        return;
    }
    let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            errors.push(format!("{at}: must be an integer or a string"));
        }
        return;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(map) = value.as_object() else {
                errors.push(format!("{at}: must be an object"));
                return;
            };
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for key in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(key) {
                        errors.push(format!("{path}.{key}: required"));
                    }
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, child) in map {
                let child_path = format!("{path}.{key}");
                if path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if let Some(prop) = properties.and_then(|p| p.get(key)) {
                    check(prop, child, &child_path, errors);
                } else if let Some(additional @ Value::Object(_)) = additional {
                    check(additional, child, &child_path, errors);
                } else if !preserve && additional != Some(&Value::Bool(true)) {
                    errors.push(format!("{child_path}: unknown field"));
                }
            }
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                errors.push(format!("{at}: must be an array"));
                return;
            };
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                errors.push(format!("{at}: at most {max} items"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        Some("string") => {
            let Some(s) = value.as_str() else {
                errors.push(format!("{at}: must be a string"));
                return;
            };
            let len = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                errors.push(format!("{at}: shorter than {min}"));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                errors.push(format!("{at}: longer than {max}"));
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                match Regex::new(pattern) {
                    Ok(re) if re.is_match(s) => {}
                    Ok(_) => errors.push(format!("{at}: {s:?} does not match {pattern}")),
                    Err(e) => errors.push(format!("{at}: bad pattern {pattern}: {e}")),
                }
            }
        }
        Some("integer") => {
            if !(value.is_i64() || value.is_u64()) {
                errors.push(format!("{at}: must be an integer"));
            }
            check_range(schema, value, at, errors);
        }
        Some("number") => {
            if !value.is_number() {
                errors.push(format!("{at}: must be a number"));
            }
            check_range(schema, value, at, errors);
        }
        Some("boolean") => {
            if !value.is_boolean() {
                errors.push(format!("{at}: must be a boolean"));
            }
        }
        Some(other) => errors.push(format!("{at}: unsupported schema type {other}")),
        None if preserve => {}
        None => errors.push(format!("{at}: schema without a type")),
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
}

fn check_range(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(n) = value.as_f64() else { return };
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && n < min
    {
        errors.push(format!("{at}: below the minimum {min}"));
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && n > max
    {
        errors.push(format!("{at}: above the maximum {max}"));
    }
}
