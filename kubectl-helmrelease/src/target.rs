//! From a name on the command line to a Helm release: a HelmRelease's release is found the way
//! Flux finds it; `--release` takes a bare Helm release name.

use crate::input::SourcedObject;
use crate::source::{Session, str_at};
use crate::{Error, Result};
use helmrelease_crds::naming;
use serde_json::Value;

/// The Helm release a command works on.
#[derive(Debug, Clone)]
pub struct Target {
    /// Namespace of the release Secrets (storage namespace).
    pub namespace: Option<String>,
    /// Helm release name.
    pub release: String,
    /// The HelmRelease behind it, when there is one.
    pub helmrelease: Option<SourcedObject>,
}

/// The release of HelmRelease `name` in the session's namespace, or the Helm release `name`
/// when `by_release` is set or no such HelmRelease exists.
pub fn resolve(session: &Session, name: &str, by_release: bool) -> Result<Target> {
    if !by_release {
        let mut found: Vec<SourcedObject> = session
            .helmreleases(session.namespace.as_deref())?
            .into_iter()
            .filter(|hr| str_at(&hr.object, "/metadata/name") == name)
            .collect();
        match found.len() {
            0 => {}
            1 => {
                let hr = found.remove(0);
                let (namespace, release) = release_of(&hr.object);
                return Ok(Target {
                    namespace: Some(namespace),
                    release,
                    helmrelease: Some(hr),
                });
            }
            _ => {
                let namespaces: Vec<String> = found
                    .iter()
                    .map(|hr| str_at(&hr.object, "/metadata/namespace"))
                    .collect();
                return Err(Error::Usage(format!(
                    "HelmRelease {name:?} exists in namespaces {}; pick one with -n",
                    namespaces.join(", ")
                )));
            }
        }
    }
    Ok(Target {
        namespace: session.namespace.clone(),
        release: name.to_string(),
        helmrelease: None,
    })
}

/// (storage namespace, release name) of a HelmRelease: what its status says was released, else
/// what its spec composes.
pub fn release_of(hr: &Value) -> (String, String) {
    let own_namespace = str_at(hr, "/metadata/namespace");
    let nonempty = |p: &str| Some(str_at(hr, p)).filter(|s| !s.is_empty());
    let storage = nonempty("/status/storageNamespace")
        .or_else(|| nonempty("/spec/storageNamespace"))
        .unwrap_or(own_namespace);
    let name = nonempty("/status/history/0/name").unwrap_or_else(|| {
        naming::release_name(
            &str_at(hr, "/metadata/name"),
            nonempty("/spec/targetNamespace").as_deref(),
            nonempty("/spec/releaseName").as_deref(),
        )
    });
    (storage, name)
}

/// The revision numbers Flux's `status.history` snapshots point at, newest first.
pub fn snapshot_versions(hr: &Value) -> Vec<i64> {
    hr.pointer("/status/history")
        .and_then(Value::as_array)
        .map(|h| {
            h.iter()
                .filter_map(|s| s.get("version").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn release_location_follows_status_then_spec() {
        let hr = json!({"metadata": {"name": "web", "namespace": "apps"},
            "spec": {"targetNamespace": "prod", "storageNamespace": "store"}});
        assert_eq!(release_of(&hr), ("store".into(), "prod-web".into()));
        let hr = json!({"metadata": {"name": "web", "namespace": "apps"}, "spec": {},
            "status": {"storageNamespace": "old", "history": [{"name": "legacy", "version": 4}, {"version": 3}]}});
        assert_eq!(release_of(&hr), ("old".into(), "legacy".into()));
        assert_eq!(snapshot_versions(&hr), vec![4, 3]);
        let hr =
            json!({"metadata": {"name": "web", "namespace": "apps"}, "spec": {"releaseName": "x"}});
        assert_eq!(release_of(&hr), ("apps".into(), "x".into()));
    }
}
