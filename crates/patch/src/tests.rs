#![allow(clippy::unwrap_used)] // tests: panicking is failing

use super::*;
use serde_json::json;

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"},
                     "finalizers": ["a"]},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {"spec": {
                "containers": [
                    {"name": "app", "image": "web:1",
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                     "ports": [{"containerPort": 80, "name": "http"}],
                     "args": ["--a", "--b"]},
                    {"name": "side", "image": "side:1"}
                ]
            }}
        }
    })
}

#[test]
fn strategic_merge_merges_keyed_lists_and_deletes_with_null() {
    let mut d = deployment();
    strategic_merge(
        &mut d,
        &json!({
            "metadata": {"labels": {"tier": null, "team": "core"}, "finalizers": ["b", "a"]},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [
                {"name": "app", "image": "web:2",
                 "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
                 "ports": [{"containerPort": 8080}],
                 "args": ["--c"]},
                {"name": "side", "$patch": "delete"},
                {"name": "new", "image": "new:1"}
            ]}}}
        }),
    );
    assert_eq!(
        d["metadata"]["labels"],
        json!({"app": "web", "team": "core"})
    );
    assert_eq!(d["metadata"]["finalizers"], json!(["a", "b"]));
    assert_eq!(d["spec"]["replicas"], json!(3));
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = containers
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app", "new"]);
    assert_eq!(containers[0]["image"], json!("web:2"));
    assert_eq!(
        containers[0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "20"}, {"name": "C", "value": "3"}])
    );
    assert_eq!(
        containers[0]["ports"],
        json!([{"containerPort": 80, "name": "http"}, {"containerPort": 8080}])
    );
    // Lists without a merge key are replaced.
    assert_eq!(containers[0]["args"], json!(["--c"]));
}

#[test]
fn directives_are_honoured_and_never_stored() {
    let mut d = deployment();
    strategic_merge(
        &mut d,
        &json!({
            "$setElementOrder/metadata": [],
            "spec": {
                "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
                "template": {"spec": {
                    "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
                    "containers": [{"name": "app",
                        "$setElementOrder/env": [{"name": "B"}, {"name": "A"}],
                        "$deleteFromPrimitiveList/args": ["--a"]}]
                }}
            }
        }),
    );
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
    let containers = &d["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["name"], json!("side"));
    assert_eq!(containers[1]["args"], json!(["--b"]));
    assert_eq!(containers[1]["env"][0]["name"], json!("B"));
    assert!(!d.to_string().contains('$'), "{d}");

    // `$patch: replace` on a map and on a list.
    let mut d = deployment();
    strategic_merge(
        &mut d,
        &json!({"metadata": {"labels": {"$patch": "replace", "only": "this"}},
                "spec": {"template": {"spec": {"containers": [
                    {"$patch": "replace"}, {"name": "solo", "image": "solo:1"}]}}}}),
    );
    assert_eq!(d["metadata"]["labels"], json!({"only": "this"}));
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"],
        json!([{"name": "solo", "image": "solo:1"}])
    );
    // `$patch: delete` on a map deletes it.
    strategic_merge(&mut d, &json!({"spec": {"strategy": {"$patch": "delete"}}}));
    assert!(d["spec"].get("strategy").is_none());
}

#[test]
fn service_ports_merge_by_port() {
    let mut svc =
        json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}});
    strategic_merge(
        &mut svc,
        &json!({"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}),
    );
    assert_eq!(
        svc["spec"]["ports"],
        json!([{"port": 80, "name": "http"}, {"port": 443, "name": "https", "targetPort": 8443}])
    );
}

#[test]
fn merge_patch_follows_rfc_7386() {
    let mut v = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
    merge_patch(
        &mut v,
        &json!({"a": "z", "c": {"f": null}, "l": [3], "n": {"x": null}}),
    );
    assert_eq!(v, json!({"a": "z", "c": {"d": "e"}, "l": [3], "n": {}}));
    merge_patch(&mut v, &json!(["whole"]));
    assert_eq!(v, json!(["whole"]));
}

#[test]
fn json_patch_operations_and_errors() {
    let mut v = json!({"a": {"b": [1, 2]}, "c": "x"});
    json_patch(
        &mut v,
        &[
            json!({"op": "add", "path": "/a/b/1", "value": 9}),
            json!({"op": "add", "path": "/a/b/-", "value": 3}),
            json!({"op": "replace", "path": "/c", "value": "y"}),
            json!({"op": "copy", "from": "/c", "path": "/d"}),
            json!({"op": "move", "from": "/d", "path": "/e~1f"}),
            json!({"op": "remove", "path": "/a/b/0"}),
            json!({"op": "test", "path": "/e~1f", "value": "y"}),
        ],
    )
    .unwrap();
    assert_eq!(v, json!({"a": {"b": [9, 2, 3]}, "c": "y", "e/f": "y"}));
    let err = |op: Value| {
        json_patch(&mut v.clone(), &[op])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        err(json!({"op": "test", "path": "/c", "value": "n"})),
        "test failed at /c"
    );
    assert_eq!(
        err(json!({"op": "remove", "path": "/zz"})),
        "no value at /zz"
    );
    assert_eq!(
        err(json!({"op": "replace", "path": "/zz", "value": 1})),
        "no value at /zz"
    );
    assert_eq!(
        err(json!({"op": "add", "path": "/a/b/7", "value": 1})),
        "add: index 7 out of range at /a/b/7"
    );
    assert_eq!(
        err(json!({"op": "frob", "path": "/c"})),
        "unknown JSON patch operation \"frob\""
    );
    assert_eq!(
        err(json!({"op": "add", "value": 1})),
        "add: operation without a path"
    );
}
