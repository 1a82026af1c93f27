//! Objects to and from the API server: server-side apply under one field manager with forced
//! conflicts (Flux's default) or Helm 4's client-side apply (create, then three-way patches),
//! reads and deletes, with each kind resolved through discovery
//! once and cached.

use crate::{Error, Result};
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, PropagationPolicy,
};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The label Helm puts on every object of a release.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The annotation naming the release that owns an object.
pub const RELEASE_NAME: &str = "meta.helm.sh/release-name";
/// The annotation naming the namespace of that release.
pub const RELEASE_NAMESPACE: &str = "meta.helm.sh/release-namespace";
/// The annotation that keeps an object when its release no longer has it.
pub const RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Kinds resolved through discovery (resource and whether namespaced), shared by the appliers
/// of one cluster so discovery is asked once per kind, not once per action.
#[derive(Clone, Default)]
pub struct Kinds(Arc<Mutex<HashMap<GroupVersionKind, (ApiResource, bool)>>>);

impl std::fmt::Debug for Kinds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map(|k| k.len()).unwrap_or_default();
        write!(f, "Kinds({n} resolved)")
    }
}

impl Kinds {
    fn get(&self, gvk: &GroupVersionKind) -> Option<(ApiResource, bool)> {
        self.0.lock().ok().and_then(|k| k.get(gvk).cloned())
    }

    fn insert(&self, gvk: GroupVersionKind, value: (ApiResource, bool)) {
        if let Ok(mut kinds) = self.0.lock() {
            kinds.insert(gvk, value);
        }
    }

    /// Forgets a kind (its API went away, or a request found no such resource).
    pub fn forget(&self, gvk: &GroupVersionKind) {
        if let Ok(mut kinds) = self.0.lock() {
            kinds.remove(gvk);
        }
    }
}

/// Applies and reads objects.
pub struct Applier {
    client: kube::Client,
    field_manager: String,
    kinds: Kinds,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("field_manager", &self.field_manager)
            .finish_non_exhaustive()
    }
}

/// `Kind/namespace/name` (or `Kind/name`), as Helm names objects in messages.
pub fn describe(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) if !ns.is_empty() => format!("{kind}/{ns}/{name}"),
        _ => format!("{kind}/{name}"),
    }
}

fn gvk_of(obj: &Value) -> Result<GroupVersionKind> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    if api_version.is_empty() || kind.is_empty() {
        return Err(Error::Invalid(format!(
            "an object has no apiVersion or kind: {}",
            describe(obj)
        )));
    }
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Ok(GroupVersionKind::gvk(group, version, kind))
}

/// Whether an object asks to be kept when its release drops it.
pub fn keep(obj: &Value) -> bool {
    obj["metadata"]["annotations"][RESOURCE_POLICY]
        .as_str()
        .is_some_and(|p| p.eq_ignore_ascii_case("keep"))
}

/// Adds Helm's ownership metadata for `release` in `namespace` to `obj`.
pub fn set_ownership(obj: &mut Value, release: &str, namespace: &str) {
    let meta = &mut obj["metadata"];
    if !meta["labels"].is_object() {
        meta["labels"] = Value::Object(Default::default());
    }
    meta["labels"][MANAGED_BY] = "Helm".into();
    if !meta["annotations"].is_object() {
        meta["annotations"] = Value::Object(Default::default());
    }
    meta["annotations"][RELEASE_NAME] = release.into();
    meta["annotations"][RELEASE_NAMESPACE] = namespace.into();
}

impl Applier {
    /// An applier writing as `field_manager`.
    pub fn new(client: kube::Client, field_manager: &str) -> Applier {
        Applier {
            client,
            field_manager: field_manager.to_string(),
            kinds: Kinds::default(),
        }
    }

    /// This applier resolving kinds through `kinds`, shared with others of the same cluster.
    pub fn with_kinds(mut self, kinds: Kinds) -> Applier {
        self.kinds = kinds;
        self
    }

    /// The client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The resource and scope of `obj`'s kind; asks discovery on a miss (CRDs installed a
    /// moment ago are found then).
    async fn resolve(&self, obj: &Value) -> Result<(ApiResource, bool)> {
        let gvk = gvk_of(obj)?;
        if let Some(hit) = self.kinds.get(&gvk) {
            return Ok(hit);
        }
        let (resource, caps): (ApiResource, ApiCapabilities) =
            kube::discovery::pinned_kind(&self.client, &gvk)
                .await
                .map_err(|e| {
                    Error::Invalid(format!(
                        "resource mapping not found for name: {:?} namespace: {:?} from \"\": no matches for kind {:?} in version {:?}: {e}",
                        obj["metadata"]["name"].as_str().unwrap_or_default(),
                        obj["metadata"]["namespace"].as_str().unwrap_or_default(),
                        gvk.kind,
                        format!("{}/{}", gvk.group, gvk.version).trim_start_matches('/'),
                    ))
                })?;
        let namespaced = caps.scope == Scope::Namespaced;
        self.kinds.insert(gvk, (resource.clone(), namespaced));
        Ok((resource, namespaced))
    }

    /// The API for `obj`, and `obj` with its namespace filled in (`default_namespace` for a
    /// namespaced kind that names none; removed for a cluster-scoped kind).
    async fn api_for(
        &self,
        obj: &Value,
        default_namespace: &str,
    ) -> Result<(Api<DynamicObject>, Value)> {
        let (resource, namespaced) = self.resolve(obj).await?;
        let mut obj = obj.clone();
        if namespaced {
            let ns = obj["metadata"]["namespace"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or(default_namespace)
                .to_string();
            obj["metadata"]["namespace"] = ns.clone().into();
            Ok((
                Api::namespaced_with(self.client.clone(), &ns, &resource),
                obj,
            ))
        } else {
            if let Some(meta) = obj["metadata"].as_object_mut() {
                meta.remove("namespace");
            }
            Ok((Api::all_with(self.client.clone(), &resource), obj))
        }
    }

    /// Server-side applies `obj` with forced conflicts; returns the object as stored.
    pub async fn apply(&self, obj: &Value, default_namespace: &str) -> Result<Value> {
        self.apply_with(obj, default_namespace, true).await
    }

    /// Server-side applies `obj`, forcing conflicts when `force`; returns the object as stored.
    pub async fn apply_with(
        &self,
        obj: &Value,
        default_namespace: &str,
        force: bool,
    ) -> Result<Value> {
        let (api, obj) = self.api_for(obj, default_namespace).await?;
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut params = PatchParams::apply(&self.field_manager);
        params.force = force;
        let applied = api
            .patch(&name, &params, &Patch::Apply(&obj))
            .await
            .map_err(Error::kube(format!("applying {}", describe(&obj))))?;
        serde_json::to_value(applied).map_err(|e| Error::Invalid(e.to_string()))
    }

    /// Creates `obj` as our field manager (client-side apply's create).
    pub async fn create(&self, obj: &Value, default_namespace: &str) -> Result<Value> {
        let (api, obj) = self.api_for(obj, default_namespace).await?;
        let typed: DynamicObject =
            serde_json::from_value(obj.clone()).map_err(|e| Error::Invalid(e.to_string()))?;
        let params = PostParams {
            field_manager: Some(self.field_manager.clone()),
            ..PostParams::default()
        };
        let created = api
            .create(&params, &typed)
            .await
            .map_err(Error::kube(format!("creating {}", describe(&obj))))?;
        serde_json::to_value(created).map_err(|e| Error::Invalid(e.to_string()))
    }

    /// Client-side applies `obj` as Helm 4 does with `--server-side=false`: created when it
    /// does not exist; otherwise patched from `original` (the object in the previous
    /// revision's manifest; the live object for one the release adopts) to `obj`, see
    /// [`crate::csa`]. Returns the object as stored.
    pub async fn apply_client_side(
        &self,
        obj: &Value,
        original: Option<&Value>,
        default_namespace: &str,
    ) -> Result<Value> {
        let Some(live) = self.get(obj, default_namespace).await? else {
            return self.create(obj, default_namespace).await;
        };
        let (api, obj) = self.api_for(obj, default_namespace).await?;
        let (patch, kind) = crate::csa::patch(original.unwrap_or(&live), &obj, &live);
        if patch.as_object().is_none_or(|p| p.is_empty()) {
            return Ok(live);
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let params = PatchParams {
            field_manager: Some(self.field_manager.clone()),
            ..PatchParams::default()
        };
        let patch = match kind {
            crate::csa::PatchType::Strategic => Patch::Strategic(patch),
            crate::csa::PatchType::Merge => Patch::Merge(patch),
        };
        let patched = api
            .patch(name, &params, &patch)
            .await
            .map_err(Error::kube(format!(
                "cannot patch {name:?} with kind {}",
                obj["kind"].as_str().unwrap_or_default()
            )))?;
        serde_json::to_value(patched).map_err(|e| Error::Invalid(e.to_string()))
    }

    /// Creates `obj` unless it exists (already existing is fine); returns whether it created.
    pub async fn create_if_absent(&self, obj: &Value, default_namespace: &str) -> Result<bool> {
        match self.create(obj, default_namespace).await {
            Ok(_) => Ok(true),
            Err(Error::Kube {
                source: kube::Error::Api(s),
                ..
            }) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The live object, or `None` when it does not exist.
    pub async fn get(&self, obj: &Value, default_namespace: &str) -> Result<Option<Value>> {
        let (api, obj) = self.api_for(obj, default_namespace).await?;
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let live = api
            .get_opt(name)
            .await
            .map_err(Error::kube(format!("reading {}", describe(&obj))))?;
        live.map(|o| serde_json::to_value(o).map_err(|e| Error::Invalid(e.to_string())))
            .transpose()
    }

    /// Deletes `obj` in the background (Helm's default propagation); absent is fine. Returns
    /// whether it was there.
    pub async fn delete(&self, obj: &Value, default_namespace: &str) -> Result<bool> {
        self.delete_with(obj, default_namespace, PropagationPolicy::Background)
            .await
    }

    /// [`Applier::delete`] with another propagation (foreground, orphan).
    pub async fn delete_with(
        &self,
        obj: &Value,
        default_namespace: &str,
        propagation: PropagationPolicy,
    ) -> Result<bool> {
        let (api, obj) = self.api_for(obj, default_namespace).await?;
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let params = DeleteParams {
            propagation_policy: Some(propagation),
            ..DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(Error::kube(format!("deleting {}", describe(&obj)))(e)),
        }
    }

    /// `obj` with its namespace as it would be stored (for matching objects by identity).
    pub async fn normalize(&self, obj: &Value, default_namespace: &str) -> Result<Value> {
        Ok(self.api_for(obj, default_namespace).await?.1)
    }
}

/// The identity of an object: group, kind, namespace and name (versions of one kind are the
/// same object).
pub fn identity(obj: &Value) -> (String, String, String, String) {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let group = api_version
        .split_once('/')
        .map(|(g, _)| g)
        .unwrap_or_default();
    (
        group.to_string(),
        obj["kind"].as_str().unwrap_or_default().to_string(),
        obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ownership_metadata_is_added_without_losing_labels() {
        let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"team": "x"}}});
        set_ownership(&mut obj, "web", "apps");
        assert_eq!(
            obj["metadata"]["labels"],
            json!({"team": "x", MANAGED_BY: "Helm"})
        );
        assert_eq!(
            obj["metadata"]["annotations"],
            json!({RELEASE_NAME: "web", RELEASE_NAMESPACE: "apps"})
        );
    }

    #[test]
    fn keep_policy_and_descriptions() {
        let kept = json!({"kind": "Secret", "metadata": {"name": "s", "namespace": "n",
            "annotations": {RESOURCE_POLICY: "Keep"}}});
        assert!(keep(&kept));
        assert_eq!(describe(&kept), "Secret/n/s");
        assert!(!keep(
            &json!({"kind": "Namespace", "metadata": {"name": "n"}})
        ));
        assert_eq!(
            describe(&json!({"kind": "Namespace", "metadata": {"name": "n"}})),
            "Namespace/n"
        );
    }

    #[test]
    fn identity_ignores_the_version() {
        let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}});
        let b = json!({"apiVersion": "apps/v1beta2", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}});
        assert_eq!(identity(&a), identity(&b));
    }
}
