//! Coalescing chart defaults with user values, as Helm's `CoalesceValues` does.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_gotmpl::Value;
use helmrelease_helm::chart::{self, Chart, File};
use helmrelease_helm::values;
use serde_json::json;

fn j(v: serde_json::Value) -> Value {
    Value::from_json(&v)
}

fn chart_of(files: &[(&str, &str)]) -> Chart {
    chart::load_files(
        files
            .iter()
            .map(|(n, d)| File {
                name: n.to_string(),
                data: d.as_bytes().to_vec(),
            })
            .collect(),
    )
    .unwrap()
}

fn yaml(s: &str) -> Value {
    helmrelease_helm::yaml::from_yaml(s).unwrap()
}

fn parent() -> Chart {
    chart_of(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: parent\nversion: 1.0.0\n",
        ),
        (
            "values.yaml",
            "name: parent\nkeep: 1\nremove: 2\nnested:\n  a: 1\n  b: 2\n  nil: null\nglobal:\n  g: parent\n  deep:\n    a:\n      x: 1\nsub:\n  fromParent: yes\n",
        ),
        (
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        (
            "charts/sub/values.yaml",
            "name: sub\nreplicas: 1\nprobe:\n  port: 80\n  path: /\nglobal:\n  g: sub\n  h: sub-only\n  deep:\n    a:\n      w: 2\n",
        ),
    ])
}

#[test]
fn user_values_win_and_maps_merge() {
    let c = parent();
    let got = values::coalesce_values(&c, &yaml("keep: 10\nnested:\n  b: 20\n  c: 30\n")).unwrap();
    assert_eq!(got.to_json()["keep"], json!(10.0));
    assert_eq!(
        got.to_json()["nested"],
        json!({"a": 1.0, "b": 20.0, "c": 30.0, "nil": null})
    );
    assert_eq!(got.to_json()["name"], json!("parent"));
}

#[test]
fn null_deletes_defaults() {
    let c = parent();
    let got = values::coalesce_values(
        &c,
        &yaml("remove: null\nnested:\n  a: null\n  nil: null\n  fresh: null\nnotdefault: null\nsub:\n  probe:\n    port: null\n  replicas: null\n"),
    )
    .unwrap()
    .to_json();
    let obj = got.as_object().unwrap();
    assert!(!obj.contains_key("remove"));
    // A null over a non-null default deletes it; over a null default, or for a key with no
    // default, the null stays (Helm 3.20's fix for helm/helm#31643).
    assert_eq!(got["nested"], json!({"b": 2.0, "nil": null, "fresh": null}));
    assert_eq!(got["notdefault"], json!(null));
    // In a subchart: the parent's pass keeps the nulls, the subchart's pass deletes.
    assert_eq!(
        got["sub"],
        json!({
            "fromParent": true,
            "name": "sub",
            "probe": {"path": "/"},
            "global": {"g": "parent", "h": "sub-only", "deep": {"a": {"w": 2.0, "x": 1.0}}}
        })
    );
}

#[test]
fn merge_values_keeps_nulls() {
    let c = parent();
    let got = values::merge_values(&c, &yaml("remove: null\nsub:\n  replicas: null\n"))
        .unwrap()
        .to_json();
    assert_eq!(got["remove"], json!(null));
    assert_eq!(got["sub"]["replicas"], json!(null));
}

#[test]
fn globals_flow_down_and_the_parent_wins() {
    let c = parent();
    let got = values::coalesce_values(&c, &yaml("global:\n  g: user\n")).unwrap();
    let sub = values::subchart_values(&got, "sub").to_json();
    assert_eq!(sub["global"]["g"], json!("user"));
    assert_eq!(sub["global"]["h"], json!("sub-only"));
    let top = got.to_json();
    assert_eq!(top["global"]["g"], json!("user"));
    assert!(top["global"].get("h").is_none());
    // Go maps are shared references: Helm's shallow copy of the parent's global tables lets
    // a subchart's default global three levels deep leak into the parent's. Kept exact.
    assert_eq!(top["global"]["deep"], json!({"a": {"w": 2.0, "x": 1.0}}));
}

#[test]
fn subchart_values_must_be_maps() {
    let c = parent();
    let err = values::coalesce_values(&c, &yaml("sub: text\n")).unwrap_err();
    assert_eq!(err.to_string(), "type mismatch on sub: %!t(string=text)");
    let err = values::coalesce_values(&c, &yaml("sub: [1]\n")).unwrap_err();
    assert_eq!(err.to_string(), "type mismatch on sub: [%!t(float64=1)]");
    // A subchart with no values at all still gets its section and the globals.
    let got = values::coalesce_values(&c, &Value::Nil).unwrap();
    assert_eq!(
        values::subchart_values(&got, "sub").to_json()["replicas"],
        json!(1.0)
    );
    assert_eq!(
        values::subchart_values(&got, "nothing").to_json(),
        json!({})
    );
}

#[test]
fn tables() {
    let dst = j(json!({"a": null, "b": 1, "m": {"x": null, "y": 1}}));
    let src = j(json!({"a": 2, "c": 3, "m": {"x": 1, "z": 2}, "b": {"t": 1}}));
    assert_eq!(
        values::coalesce_tables(&dst, &src).unwrap().to_json(),
        json!({"b": 1.0, "c": 3.0, "m": {"y": 1.0, "z": 2.0}})
    );
    assert_eq!(
        values::merge_tables(&dst, &src).unwrap().to_json(),
        json!({"a": null, "b": 1.0, "c": 3.0, "m": {"x": null, "y": 1.0, "z": 2.0}})
    );
    assert_eq!(
        values::merge_maps(
            &j(json!({"a": {"b": 1, "c": 2}, "l": [1]})),
            &j(json!({"a": {"c": 3}, "l": [2], "n": null}))
        )
        .to_json(),
        json!({"a": {"b": 1.0, "c": 3.0}, "l": [2.0], "n": null})
    );
    let (_, warnings) =
        values::coalesce_values_with_warnings(&parent(), &yaml("nested: 5\n")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let (_, warnings) =
        values::coalesce_values_with_warnings(&parent(), &yaml("global:\n  deep:\n    a: 5\n"))
            .unwrap();
    assert_eq!(
        warnings,
        [
            "warning: cannot overwrite table with non table for parent.global.deep.a (map[x:1])",
            "warning: cannot overwrite table with non table for parent.sub.global.deep.a (map[w:2])"
        ]
    );
}

#[test]
fn table_and_path_value() {
    let v = j(json!({"a": {"b": {"c": 1}, "s": "x"}}));
    assert_eq!(
        values::table(&v, "a.b").unwrap().to_json(),
        json!({"c": 1.0})
    );
    assert_eq!(
        values::table(&v, "a.s").unwrap_err().to_string(),
        "\"s\" is not a table"
    );
    assert_eq!(
        values::path_value(&v, "a.b.c").unwrap().to_json(),
        json!(1.0)
    );
    assert_eq!(
        values::path_value(&v, "a.b").unwrap_err().to_string(),
        "\"b\" is not a value"
    );
    assert_eq!(
        values::path_value(&v, "").unwrap_err().to_string(),
        "YAML path cannot be empty"
    );
    assert_eq!(values::read_values("").unwrap().to_json(), json!({}));
}
