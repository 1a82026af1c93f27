//! Flux's kustomize post-renderer, applied to rendered objects before a preview compares them:
//! `patches` (JSON 6902 and strategic merge) and `images`, in the order the HelmRelease lists
//! them. Pure: objects in, objects out.
//!
//! Patches are applied by `helmrelease-patch`: JSON 6902 as RFC 6902 says, strategic merge
//! with Kubernetes' merge keys and directives for built-in kinds.

use helmrelease_crds::helmrelease::Selector;
use helmrelease_diff::drift::CompiledSelector;
use helmrelease_patch::{json_patch, strategic_merge};
use serde_json::Value;

/// Applies `spec.postRenderers` to `objects` (rendered resources of the release namespace).
pub fn apply(post_renderers: &Value, objects: &mut [Value], namespace: &str) -> Result<(), String> {
    for renderer in post_renderers.as_array().into_iter().flatten() {
        let Some(kustomize) = renderer.get("kustomize") else {
            continue;
        };
        for patch in kustomize
            .get("patches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            apply_patch(patch, objects, namespace)?;
        }
        for image in kustomize
            .get("images")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for object in objects.iter_mut() {
                set_images(object, image);
            }
        }
    }
    Ok(())
}

fn apply_patch(entry: &Value, objects: &mut [Value], namespace: &str) -> Result<(), String> {
    let text = entry
        .get("patch")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let patch = go_json(
        helmrelease_helm::yaml::from_yaml_value(text)
            .map_err(|e| format!("post-renderer patch: {e}"))?
            .to_json(),
    );
    let target = match entry.get("target") {
        Some(t) => {
            let selector: Selector = serde_json::from_value(t.clone())
                .map_err(|e| format!("post-renderer target: {e}"))?;
            Some(CompiledSelector::compile(&selector).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    match &patch {
        Value::Array(ops) => {
            let Some(target) = target else {
                return Err("a JSON 6902 patch needs a target".into());
            };
            for object in objects.iter_mut() {
                if target.matches(object, namespace) {
                    json_patch(object, ops).map_err(|e| e.to_string())?;
                }
            }
        }
        Value::Object(_) => {
            let field = |v: &Value, p: &str| {
                v.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            for object in objects.iter_mut() {
                let hit = match &target {
                    Some(t) => t.matches(object, namespace),
                    // Without a target the patch names its object.
                    None => {
                        field(object, "/kind") == field(&patch, "/kind")
                            && field(object, "/metadata/name") == field(&patch, "/metadata/name")
                    }
                };
                if hit {
                    strategic_merge(object, &patch);
                }
            }
        }
        _ => return Err("a post-renderer patch is neither a JSON 6902 list nor an object".into()),
    }
    Ok(())
}

/// Kustomize's `images` transformer on an object's containers.
fn set_images(object: &mut Value, image: &Value) {
    let want = image
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if want.is_empty() {
        return;
    }
    for path in [
        "/spec/containers",
        "/spec/initContainers",
        "/spec/template/spec/containers",
        "/spec/template/spec/initContainers",
        "/spec/jobTemplate/spec/template/spec/containers",
        "/spec/jobTemplate/spec/template/spec/initContainers",
    ] {
        let Some(Value::Array(containers)) = object.pointer_mut(path) else {
            continue;
        };
        for c in containers.iter_mut() {
            let Some(current) = c.get("image").and_then(Value::as_str) else {
                continue;
            };
            let (name, tag, digest) = split_image(current);
            if name != want {
                continue;
            }
            let new_name = image.get("newName").and_then(Value::as_str).unwrap_or(name);
            let new = if let Some(d) = image.get("digest").and_then(Value::as_str) {
                format!("{new_name}@{d}")
            } else if let Some(t) = image.get("newTag").and_then(Value::as_str) {
                format!("{new_name}:{t}")
            } else {
                match (tag, digest) {
                    (_, Some(d)) => format!("{new_name}@{d}"),
                    (Some(t), None) => format!("{new_name}:{t}"),
                    (None, None) => new_name.to_string(),
                }
            };
            c["image"] = Value::String(new);
        }
    }
}

/// `registry/name:tag@digest` into (name, tag, digest); a `:` before the last `/` is a port.
fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// Numbers as Go's encoding/json writes them, which is how the deployed values were stored: an
/// integral float64 without a fraction (2, not 2.0), so equal values compare equal.
pub(crate) fn go_json(value: Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
                Value::from(f as i64)
            }
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(go_json).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, go_json(v))).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"a": "1"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "app", "image": "nginx:1.25", "env": [{"name": "A", "value": "1"}]},
                {"name": "side", "image": "registry:5000/tools/side"}]}}}})
    }

    #[test]
    fn json6902_patches_apply_to_their_target() {
        let mut objects = vec![deployment()];
        let renderers = json!([{"kustomize": {"patches": [{
            "target": {"kind": "Deployment", "name": "web"},
            "patch": "- op: replace\n  path: /spec/replicas\n  value: 3\n- op: add\n  path: /metadata/labels/b\n  value: x\n- op: remove\n  path: /metadata/labels/a\n"}]}}]);
        assert_eq!(apply(&renderers, &mut objects, "apps"), Ok(()));
        assert_eq!(objects[0]["spec"]["replicas"], 3);
        assert_eq!(objects[0]["metadata"]["labels"], json!({"b": "x"}));
        let bad =
            json!([{"kustomize": {"patches": [{"patch": "- op: add\n  path: /x\n  value: 1\n"}]}}]);
        assert!(apply(&bad, &mut objects, "apps").is_err());
    }

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let mut objects = vec![deployment()];
        let renderers = json!([{"kustomize": {"patches": [{
            "patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        env:\n        - name: B\n          value: \"2\"\n      - name: side\n        $patch: delete\n"}]}}]);
        assert_eq!(apply(&renderers, &mut objects, "apps"), Ok(()));
        let containers = &objects[0]["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().map(Vec::len), Some(1));
        assert_eq!(containers[0]["image"], "nginx:1.25");
        assert_eq!(
            containers[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
    }

    #[test]
    fn images_are_renamed_and_retagged() {
        let mut objects = vec![deployment()];
        let renderers = json!([{"kustomize": {"images": [
            {"name": "nginx", "newName": "mirror/nginx", "newTag": "1.27"},
            {"name": "registry:5000/tools/side", "digest": "sha256:abc"}]}}]);
        assert_eq!(apply(&renderers, &mut objects, "apps"), Ok(()));
        let containers = &objects[0]["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "mirror/nginx:1.27");
        assert_eq!(
            containers[1]["image"],
            "registry:5000/tools/side@sha256:abc"
        );
    }
}
