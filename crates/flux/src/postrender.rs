//! What helm-controller does to rendered objects before applying them, in its order:
//! the user's kustomize post-renderers (`patches`, JSON 6902 and strategic merge, then
//! `images`, renderer by renderer), its origin labels, then `commonMetadata`. Pure: objects
//! in, objects out.

use helmrelease_crds::helmrelease::{KustomizeImage, KustomizePatch, PostRenderer};
use helmrelease_crds::meta::Metadata;
use helmrelease_diff::drift::CompiledSelector;
use helmrelease_patch::{json_patch, strategic_merge};
use serde_json::Value;

/// The label naming the HelmRelease of every object helm-controller renders.
pub const ORIGIN_NAME: &str = "helm.toolkit.fluxcd.io/name";
/// The label naming the HelmRelease's namespace.
pub const ORIGIN_NAMESPACE: &str = "helm.toolkit.fluxcd.io/namespace";

/// Applies `spec.postRenderers` to `objects` (rendered resources of the release namespace).
/// Errors are plain messages; [`crate::Error::PostRender`] wraps them.
pub fn apply(
    post_renderers: &[PostRenderer],
    objects: &mut [Value],
    namespace: &str,
) -> Result<(), String> {
    for kustomize in post_renderers.iter().filter_map(|r| r.kustomize.as_ref()) {
        for patch in kustomize.patches.iter().flatten() {
            apply_patch(patch, objects, namespace)?;
        }
        for image in kustomize.images.iter().flatten() {
            for object in objects.iter_mut() {
                set_images(object, image);
            }
        }
    }
    Ok(())
}

fn apply_patch(
    entry: &KustomizePatch,
    objects: &mut [Value],
    namespace: &str,
) -> Result<(), String> {
    let patch = crate::values::go_json(
        helmrelease_helm::yaml::from_yaml_value(&entry.patch)
            .map_err(|e| format!("post-renderer patch: {e}"))?
            .to_json(),
    );
    let target = match &entry.target {
        Some(selector) => Some(CompiledSelector::compile(selector).map_err(|e| e.to_string())?),
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
fn set_images(object: &mut Value, image: &KustomizeImage) {
    let want = image.name.as_str();
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
            let new_name = image.new_name.as_deref().unwrap_or(name);
            let new = if let Some(d) = &image.digest {
                format!("{new_name}@{d}")
            } else if let Some(t) = &image.new_tag {
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

/// helm-controller's origin post-renderer: every object gets the labels naming its
/// HelmRelease (after the user's post-renderers, before `commonMetadata`).
pub fn apply_origin_labels(objects: &mut [Value], hr_name: &str, hr_namespace: &str) {
    let labels = [(ORIGIN_NAME, hr_name), (ORIGIN_NAMESPACE, hr_namespace)];
    add_metadata(objects, "labels", &labels);
}

/// Flux's `commonMetadata`: labels and annotations added to every rendered object.
pub fn apply_common_metadata(common: Option<&Metadata>, objects: &mut [Value]) {
    let Some(common) = common else {
        return;
    };
    for (field, entries) in [
        ("labels", &common.labels),
        ("annotations", &common.annotations),
    ] {
        if let Some(entries) = entries {
            let entries: Vec<(&str, &str)> = entries
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            add_metadata(objects, field, &entries);
        }
    }
}

/// Sets `metadata.<field>.<key>` on every object that has metadata.
fn add_metadata(objects: &mut [Value], field: &str, entries: &[(&str, &str)]) {
    for object in objects.iter_mut() {
        let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
            continue;
        };
        let target = meta
            .entry(field)
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(map) = target.as_object_mut() {
            for (k, v) in entries {
                map.insert((*k).to_string(), Value::String((*v).to_string()));
            }
        }
    }
}
