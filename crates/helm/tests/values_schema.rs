//! `values.schema.json`: each chart's schema against its coalesced values, errors in the
//! format Helm 3.18+ prints.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_gotmpl::Value;
use helmrelease_helm::chart;
use helmrelease_helm::values::{self, schema};
use std::path::Path;

fn yaml(s: &str) -> Value {
    helmrelease_helm::yaml::from_yaml(s).unwrap()
}

fn schema_chart() -> chart::Chart {
    chart::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charts/schema")).unwrap()
}

const PREFIX: &str =
    "values don't meet the specifications of the schema(s) in the following chart(s):\n";

#[test]
fn required_property() {
    let mut c = schema_chart();
    let err = values::prepare(&mut c, &Value::Nil)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!("{PREFIX}schema:\n- at '': missing property 'name'\n")
    );
}

#[test]
fn errors_of_parent_and_subchart() {
    let c = schema_chart();
    let err = values::to_render_values(
        &c,
        &yaml("name: x\nreplicas: 0\nchild:\n  port: 8080\n  mode: c\n"),
        false,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        format!(
            "{PREFIX}schema:\n- at '/replicas': minimum: got 0, want 1\nchild:\n- at '/mode': value must be one of 'a', 'b'\n- at '/port': maximum: got 8080, want 1024\n"
        )
    );
    let err = values::to_render_values(&c, &yaml("name: 5\nreplicas: two\n"), false)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{PREFIX}schema:\n- at '/name': got number, want string\n- at '/replicas': got string, want integer\n"
        )
    );
    // Valid values pass; validation can be skipped.
    values::to_render_values(&c, &yaml("name: x\nreplicas: 3\n"), false).unwrap();
    values::to_render_values(&c, &Value::Nil, true).unwrap();
}

#[test]
fn single_schema_messages() {
    let check = |schema_text: &str, values_text: &str| {
        schema::validate_against_single_schema(&yaml(values_text), schema_text.as_bytes())
            .unwrap_err()
    };
    assert_eq!(
        check(r#"{"required": ["a", "b"]}"#, "c: 1"),
        "- at '': missing properties 'a', 'b'\n"
    );
    assert_eq!(
        check(
            r#"{"properties": {"s": {"minLength": 3, "pattern": "^x"}}}"#,
            "s: ab"
        ),
        "- at '/s': minLength: got 2, want 3\n- at '/s': 'ab' does not match pattern '^x'\n"
    );
    assert_eq!(
        check(
            r#"{"additionalProperties": false, "properties": {"a": {}}}"#,
            "a: 1\nb: 2"
        ),
        "- at '': additional properties 'b' not allowed\n"
    );
    assert_eq!(
        check(
            r#"{"properties": {"l": {"uniqueItems": true}}}"#,
            "l: [1, 2, 1]"
        ),
        "- at '/l': items at 0 and 2 are equal\n"
    );
    assert_eq!(
        check(r#"{"properties": {"k": {"const": "x"}}}"#, "k: y"),
        "- at '/k': value must be 'x'\n"
    );
    // A schema that is not a schema.
    let err = schema::validate_against_single_schema(&yaml("a: 1"), b"{\"type\": 5}").unwrap_err();
    assert!(
        err.starts_with("\"file:///values.schema.json#\" is not valid against metaschema: jsonschema validation failed with 'https://json-schema.org/draft/2020-12/schema#'\n- at '/type': "),
        "{err}"
    );
    // Not JSON.
    assert!(schema::validate_against_single_schema(&yaml("a: 1"), b"{").is_err());
    // Formats are not asserted (Helm does not turn format assertion on).
    schema::validate_against_single_schema(
        &yaml("e: nope"),
        br#"{"properties": {"e": {"format": "email"}}}"#,
    )
    .unwrap();
}
