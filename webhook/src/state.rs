//! Where decisions get their policies and source knowledge: fixed (offline, `--policy FILE`)
//! or from watch caches of the cluster (kube-runtime reflectors), never an API call per request.

use crate::review::Decider;
use futures::StreamExt;
use helmrelease_crds::source::oci_v1::OCIRepository;
use helmrelease_crds::{HelmChart, HelmReleasePolicy, HelmRepository};
use helmrelease_policy::{Lookups, NoLookups, OciRef, PolicySet, SourceView};
use k8s_openapi::api::core::v1::Namespace;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Fixed policies and no lookups: `serve --offline`.
#[derive(Debug)]
pub struct OfflineDecider {
    policies: PolicySet,
}

impl OfflineDecider {
    /// Decides with `policies` and no knowledge of other objects.
    pub fn new(policies: PolicySet) -> OfflineDecider {
        OfflineDecider { policies }
    }
}

impl Decider for OfflineDecider {
    fn policies(&self) -> PolicySet {
        self.policies.clone()
    }
    fn sources(&self) -> &dyn SourceView {
        &NoLookups
    }
}

/// Where policies come from in a cluster.
#[derive(Debug, Clone)]
pub enum PolicyOrigin {
    /// `--policy FILE`.
    Fixed(PolicySet),
    /// Watched HelmReleasePolicy objects (built-in defaults while there are none).
    Watched(Store<HelmReleasePolicy>),
    /// The CRD is not installed: built-in defaults.
    Builtin,
}

/// Decides from watch caches.
pub struct ClusterDecider {
    policies: PolicyOrigin,
    view: ClusterView,
}

impl std::fmt::Debug for ClusterDecider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterDecider").finish_non_exhaustive()
    }
}

impl Decider for ClusterDecider {
    fn policies(&self) -> PolicySet {
        match &self.policies {
            PolicyOrigin::Fixed(set) => set.clone(),
            PolicyOrigin::Watched(store) => {
                PolicySet::new(store.state().iter().map(|p| (**p).clone()))
            }
            PolicyOrigin::Builtin => PolicySet::builtin(),
        }
    }
    fn sources(&self) -> &dyn SourceView {
        &self.view
    }
}

/// Source knowledge from reflector stores.
#[derive(Clone)]
pub struct ClusterView {
    helm_repositories: Store<HelmRepository>,
    oci_repositories: Store<OCIRepository>,
    helm_charts: Store<HelmChart>,
    git_repositories: Option<Store<DynamicObject>>,
    buckets: Option<Store<DynamicObject>>,
    namespaces: Store<Namespace>,
    ready: Arc<AtomicBool>,
}

impl std::fmt::Debug for ClusterView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterView")
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

fn namespaces_named<K: kube::Resource + Clone>(store: &Store<K>, name: &str) -> Vec<String>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store
        .state()
        .iter()
        .filter(|o| o.meta().name.as_deref() == Some(name))
        .filter_map(|o| o.meta().namespace.clone())
        .collect()
}

fn find<K: kube::Resource + Clone>(store: &Store<K>, namespace: &str, name: &str) -> Option<Arc<K>>
where
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    store.get(&reflector::ObjectRef::new(name).within(namespace))
}

impl SourceView for ClusterView {
    fn lookups(&self) -> Lookups {
        if self.ready.load(Ordering::Acquire) {
            Lookups::Complete
        } else {
            Lookups::Partial
        }
    }

    fn namespaces_with(&self, kind: &str, name: &str) -> Vec<String> {
        match kind {
            "HelmRepository" => namespaces_named(&self.helm_repositories, name),
            "OCIRepository" => namespaces_named(&self.oci_repositories, name),
            "HelmChart" => namespaces_named(&self.helm_charts, name),
            "GitRepository" => self
                .git_repositories
                .as_ref()
                .map(|s| dynamic_namespaces(s, name))
                .unwrap_or_default(),
            "Bucket" => self
                .buckets
                .as_ref()
                .map(|s| dynamic_namespaces(s, name))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn oci_ref(&self, namespace: &str, name: &str) -> Option<OciRef> {
        let repo = find(&self.oci_repositories, namespace, name)?;
        let r = repo.spec.reference.clone().unwrap_or_default();
        let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Some(OciRef {
            digest: non_empty(r.digest),
            semver: non_empty(r.semver),
            tag: non_empty(r.tag),
        })
    }

    fn chart_revision(&self, namespace: &str, name: &str) -> Option<String> {
        let chart = find(&self.helm_charts, namespace, name)?;
        chart
            .status
            .as_ref()?
            .artifact
            .as_ref()
            .map(|a| a.revision.clone())
    }

    fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.namespaces
            .get(&reflector::ObjectRef::new(namespace))
            .map(|ns| ns.labels().clone())
    }
}

fn dynamic_namespaces(store: &Store<DynamicObject>, name: &str) -> Vec<String> {
    store
        .state()
        .iter()
        .filter(|o| o.metadata.name.as_deref() == Some(name))
        .filter_map(|o| o.metadata.namespace.clone())
        .collect()
}

/// Starts a reflector for `api`, keeping objects small (no managed fields), and returns its store.
fn reflect<K>(api: Api<K>) -> Store<K>
where
    K: kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store::<K>();
    drive(
        watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(|o| o.meta_mut().managed_fields = None)
            .reflect(writer)
            .applied_objects(),
    );
    reader
}

/// Runs a reflector's event stream in the background, logging watch errors (the watcher
/// retries them with backoff).
fn drive<T: Send + 'static>(
    stream: impl futures::Stream<Item = Result<T, watcher::Error>> + Send + 'static,
) {
    tokio::spawn(async move {
        stream
            .for_each(|event| async move {
                if let Err(e) = event {
                    tracing::warn!(error = %e, "watch error; retrying with backoff");
                }
            })
            .await;
    });
}

/// Starts a reflector for a kind without Rust types.
fn reflect_dynamic(client: kube::Client, resource: ApiResource) -> Store<DynamicObject> {
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let writer = reflector::store::Writer::new(resource.clone());
    let reader = writer.as_reader();
    drive(
        watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(|o| o.metadata.managed_fields = None)
            .reflect(writer)
            .applied_objects(),
    );
    reader
}

/// True when the cluster serves `resource` (its CRD is installed).
async fn served(client: &kube::Client, resource: &ApiResource) -> bool {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), resource);
    match api.list(&ListParams::default().limit(1)).await {
        Ok(_) => true,
        Err(kube::Error::Api(status)) if status.code == 404 => false,
        Err(e) => {
            // Anything else (RBAC, network) will show in the watch too; try to watch.
            tracing::warn!(kind = %resource.kind, error = %e, "probing the resource failed");
            true
        }
    }
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// Watches everything the rules look up and returns the decider and the readiness flag, which
/// turns true once every cache has listed its objects.
pub async fn cluster(
    client: kube::Client,
    fixed_policies: Option<PolicySet>,
) -> (ClusterDecider, Arc<AtomicBool>) {
    let ready = Arc::new(AtomicBool::new(false));
    let git = resource(
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
    );
    let bucket = resource("source.toolkit.fluxcd.io", "v1", "Bucket", "buckets");
    let policy_resource = resource(
        "policy.helmrelease.dev",
        "v1alpha1",
        "HelmReleasePolicy",
        "helmreleasepolicies",
    );

    let helm_repositories = reflect(Api::<HelmRepository>::all(client.clone()));
    let oci_repositories = reflect(Api::<OCIRepository>::all(client.clone()));
    let helm_charts = reflect(Api::<HelmChart>::all(client.clone()));
    let namespaces = reflect(Api::<Namespace>::all(client.clone()));
    let git_repositories = if served(&client, &git).await {
        Some(reflect_dynamic(client.clone(), git))
    } else {
        None
    };
    let buckets = if served(&client, &bucket).await {
        Some(reflect_dynamic(client.clone(), bucket))
    } else {
        None
    };
    let policies = match fixed_policies {
        Some(set) => PolicyOrigin::Fixed(set),
        None if served(&client, &policy_resource).await => {
            PolicyOrigin::Watched(reflect(Api::<HelmReleasePolicy>::all(client.clone())))
        }
        None => {
            tracing::warn!("the HelmReleasePolicy CRD is not installed; built-in defaults apply");
            PolicyOrigin::Builtin
        }
    };
    if git_repositories.is_none() || buckets.is_none() {
        tracing::info!(
            "GitRepository or Bucket is not served; references to them are looked up as absent"
        );
    }

    let view = ClusterView {
        helm_repositories,
        oci_repositories,
        helm_charts,
        git_repositories,
        buckets,
        namespaces,
        ready: ready.clone(),
    };
    let waiting = view.clone();
    let policy_store = match &policies {
        PolicyOrigin::Watched(store) => Some(store.clone()),
        _ => None,
    };
    let flag = ready.clone();
    tokio::spawn(async move {
        let results = [
            waiting.helm_repositories.wait_until_ready().await.is_ok(),
            waiting.oci_repositories.wait_until_ready().await.is_ok(),
            waiting.helm_charts.wait_until_ready().await.is_ok(),
            waiting.namespaces.wait_until_ready().await.is_ok(),
            match &waiting.git_repositories {
                Some(s) => s.wait_until_ready().await.is_ok(),
                None => true,
            },
            match &waiting.buckets {
                Some(s) => s.wait_until_ready().await.is_ok(),
                None => true,
            },
            match &policy_store {
                Some(s) => s.wait_until_ready().await.is_ok(),
                None => true,
            },
        ];
        if results.iter().all(|ok| *ok) {
            tracing::info!("caches synced; ready");
            flag.store(true, Ordering::Release);
        }
    });
    (ClusterDecider { policies, view }, ready)
}
