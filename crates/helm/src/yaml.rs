//! YAML and JSON exactly as Helm reads and writes them: being written. The signatures below are
//! the module's contract.

use helmrelease_gotmpl::Value;

/// `toYaml`: what Helm's `toYaml` prints for a value (sigs.k8s.io/yaml: Go JSON, then YAML).
pub fn to_yaml(value: &Value) -> crate::Result<String> {
    let _ = value;
    Ok(String::new())
}

/// Parses YAML the way Helm reads values files and `fromYaml` (sigs.k8s.io/yaml: YAML 1.1 as
/// go-yaml v2 reads it, converted to JSON and decoded as Go's encoding/json would: numbers
/// become float64). A stream with several documents is an error as in Helm.
pub fn from_yaml(text: &str) -> crate::Result<Value> {
    let _ = text;
    Ok(Value::Nil)
}

/// `toJson`: Go's `encoding/json` Marshal (sorted keys, HTML-safe escaping, Go float format).
pub fn to_json(value: &Value) -> crate::Result<String> {
    let _ = value;
    Ok(String::new())
}

/// `fromJson`: Go's `encoding/json` Unmarshal into interface{}.
pub fn from_json(text: &str) -> crate::Result<Value> {
    let _ = text;
    Ok(Value::Nil)
}
