//! Where objects come from: files (`--from-file`) or a cluster. Commands ask a [`Session`] for
//! what they need (HelmReleases, release revisions, events, live objects) and do not care
//! which; from a cluster only that is fetched, with label selectors, and decoded in parallel.

use crate::cluster::{self, Cluster};
use crate::input::{self, BrokenRelease, Inventory, SourcedObject};
use crate::{Context, Result};
use helmrelease_release::StoredRelease;
use serde_json::Value;
use std::rc::Rc;

/// Release revisions read for a command.
#[derive(Debug, Default)]
pub struct Releases {
    /// Decoded revisions.
    pub releases: Vec<StoredRelease>,
    /// Release objects that did not decode.
    pub broken: Vec<BrokenRelease>,
}

/// The source of objects for one command.
#[derive(Debug)]
pub struct Session {
    backend: Backend,
    /// Namespace the command is scoped to; `None` for all (`-A`, or files without `-n`).
    pub namespace: Option<String>,
    /// How release objects fetched from a cluster are decoded.
    decode: input::Decode,
}

#[derive(Debug)]
enum Backend {
    Files(Inventory),
    /// A cluster (shared with the `lookup` of previews), and the kind Helm stores releases
    /// in there.
    Cluster(Rc<Cluster>, &'static cluster::Resource),
}

/// Kinds that make up the Flux side of an audit, besides HelmReleases.
const POLICY_KINDS: [cluster::Resource; 4] = [
    cluster::Resource {
        group: "policy.helmrelease.dev",
        version: "v1alpha1",
        plural: "helmreleasepolicies",
        kind: "HelmReleasePolicy",
    },
    cluster::Resource {
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        plural: "helmrepositories",
        kind: "HelmRepository",
    },
    cluster::Resource {
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        plural: "helmcharts",
        kind: "HelmChart",
    },
    cluster::Resource {
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        plural: "ocirepositories",
        kind: "OCIRepository",
    },
];

/// Where releases are stored in a cluster, chosen as Helm chooses it: `HELM_DRIVER` unset,
/// `secret` or `secrets` for Secrets (Helm's and Flux's default), `configmap` or `configmaps`
/// for ConfigMaps.
fn storage_driver(name: Option<&str>) -> Result<&'static cluster::Resource> {
    match name.unwrap_or_default() {
        "" | "secret" | "secrets" => Ok(&cluster::SECRETS),
        "configmap" | "configmaps" => Ok(&cluster::CONFIGMAPS),
        "memory" | "sql" => Err(crate::Error::Usage(format!(
            "HELM_DRIVER={}: releases in Helm's {} driver cannot be read from the cluster; unset it or use secret or configmap",
            name.unwrap_or_default(),
            name.unwrap_or_default()
        ))),
        other => Err(crate::Error::Usage(format!(
            "unknown driver {other:?} (HELM_DRIVER)"
        ))),
    }
}

impl Session {
    /// Opens the files or connects to the cluster the flags name.
    pub fn open(ctx: &Context) -> Result<Session> {
        if !ctx.from_file.is_empty() {
            return Ok(Session {
                backend: Backend::Files(input::load(&ctx.from_file)?),
                namespace: ctx.namespace.clone(),
                decode: input::Decode::Full,
            });
        }
        let driver = storage_driver(std::env::var("HELM_DRIVER").ok().as_deref())?;
        let cluster = Cluster::connect(ctx.kubeconfig.as_deref(), ctx.kube_context.as_deref())?;
        let namespace = if ctx.all_namespaces {
            None
        } else {
            Some(
                ctx.namespace
                    .clone()
                    .unwrap_or_else(|| cluster.default_namespace.clone()),
            )
        };
        Ok(Session {
            backend: Backend::Cluster(Rc::new(cluster), driver),
            namespace,
            decode: input::Decode::Full,
        })
    }

    /// This session decoding release objects from a cluster as `decode` says (a summary
    /// where only status, chart, times and sizes are shown).
    pub fn with_decode(mut self, decode: input::Decode) -> Session {
        self.decode = decode;
        self
    }

    /// A session over objects already in memory (tests, benchmarks).
    pub fn from_inventory(inventory: Inventory, namespace: Option<String>) -> Session {
        Session {
            backend: Backend::Files(inventory),
            namespace,
            decode: input::Decode::Full,
        }
    }

    /// Helm's `lookup` over this session's objects: the cluster's, or those in the files
    /// (so a preview renders charts that look up existing objects as Flux would).
    pub fn lookup(&self) -> helmrelease_helm::engine::Lookup {
        let lookup: Rc<helmrelease_helm::engine::LookupFn> = match &self.backend {
            Backend::Cluster(cluster, _) => {
                let cluster = Rc::clone(cluster);
                Rc::new(
                    move |api_version: &str, kind: &str, namespace: &str, name: &str| {
                        let found = if name.is_empty() {
                            cluster.get_list(api_version, kind, namespace)
                        } else {
                            cluster.get(api_version, kind, namespace, name)
                        };
                        found.map_err(|e| e.to_string())
                    },
                )
            }
            Backend::Files(inv) => {
                let objects: Rc<Vec<Value>> =
                    Rc::new(inv.objects.iter().map(|o| o.object.clone()).collect());
                Rc::new(
                    move |api_version: &str, kind: &str, namespace: &str, name: &str| {
                        let wanted = |o: &&Value| {
                            let ns = str_at(o, "/metadata/namespace");
                            str_at(o, "/kind") == kind
                                && group_of(&str_at(o, "/apiVersion")) == group_of(api_version)
                                && (namespace.is_empty() || ns.is_empty() || ns == namespace)
                        };
                        let mut matching = objects.iter().filter(wanted);
                        Ok(if name.is_empty() {
                            let items: Vec<Value> = matching.cloned().collect();
                            Some(serde_json::json!({
                                "apiVersion": api_version,
                                "kind": format!("{kind}List"),
                                "metadata": {"resourceVersion": ""},
                                "items": items,
                            }))
                        } else {
                            matching
                                .find(|o| str_at(o, "/metadata/name") == name)
                                .cloned()
                        })
                    },
                )
            }
        };
        helmrelease_helm::engine::Lookup(lookup)
    }

    /// What `.Capabilities` should say when rendering for this session, as Flux renders in
    /// the cluster: the cluster's version and exactly its API versions (`true`); from files,
    /// Helm's defaults plus the API versions of the CustomResourceDefinitions in them
    /// (`false`: additions, and no version).
    pub fn capabilities(&self) -> Result<(Option<String>, Vec<String>, bool)> {
        match &self.backend {
            Backend::Cluster(cluster, _) => {
                let (version, api_versions) = cluster.capabilities()?;
                Ok((Some(version).filter(|v| !v.is_empty()), api_versions, true))
            }
            Backend::Files(inv) => {
                let mut api_versions = Vec::new();
                for o in inv.objects.iter().map(|o| &o.object) {
                    if str_at(o, "/kind") != "CustomResourceDefinition" {
                        continue;
                    }
                    let (group, kind) = (str_at(o, "/spec/group"), str_at(o, "/spec/names/kind"));
                    for v in o
                        .pointer("/spec/versions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter(|v| v.get("served").and_then(Value::as_bool) != Some(false))
                        .filter_map(|v| v.get("name").and_then(Value::as_str))
                    {
                        api_versions.push(format!("{group}/{v}"));
                        api_versions.push(format!("{group}/{v}/{kind}"));
                    }
                }
                Ok((None, api_versions, false))
            }
        }
    }

    /// Whether objects come from files.
    pub fn is_files(&self) -> bool {
        matches!(self.backend, Backend::Files(_))
    }

    /// HelmReleases in `namespace` (or all namespaces).
    pub fn helmreleases(&self, namespace: Option<&str>) -> Result<Vec<SourcedObject>> {
        self.objects_of("helm.toolkit.fluxcd.io", "HelmRelease", namespace)
            .map(|mut all| {
                all.sort_by_key(|o| sort_key(&o.object));
                all
            })
    }

    /// Objects the policy engine looks at: HelmReleases, Helm sources and HelmReleasePolicies.
    pub fn policy_objects(&self, namespace: Option<&str>) -> Result<Vec<SourcedObject>> {
        let mut out = self.helmreleases(namespace)?;
        for resource in &POLICY_KINDS {
            // Policies are cluster-scoped and apply everywhere; sources are namespaced.
            let ns = if resource.kind == "HelmReleasePolicy" {
                None
            } else {
                namespace
            };
            out.extend(self.objects_of(resource.group, resource.kind, ns)?);
        }
        Ok(out)
    }

    fn objects_of(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<SourcedObject>> {
        match &self.backend {
            Backend::Files(inv) => Ok(inv
                .objects
                .iter()
                .filter(|o| {
                    str_at(&o.object, "/kind") == kind
                        && group_of(&str_at(&o.object, "/apiVersion")) == group
                        && namespace.is_none_or(|ns| str_at(&o.object, "/metadata/namespace") == ns)
                })
                .cloned()
                .collect()),
            Backend::Cluster(cluster, _) => {
                let resource = if kind == "HelmRelease" {
                    cluster::HELMRELEASES
                } else {
                    match POLICY_KINDS.iter().find(|r| r.kind == kind) {
                        Some(r) => *r,
                        None => return Ok(Vec::new()),
                    }
                };
                Ok(cluster
                    .list_if_served(&resource, namespace, None)?
                    .into_iter()
                    .map(|object| SourcedObject {
                        origin: "cluster".to_string(),
                        line: 0,
                        object,
                    })
                    .collect())
            }
        }
    }

    /// Release revisions in `namespace` (or all), of one release when `name` is given.
    /// From files the matching revisions move out of the session: each command reads them once.
    pub fn releases(&mut self, namespace: Option<&str>, name: Option<&str>) -> Result<Releases> {
        let wanted = |ns: &str, n: &str| {
            namespace.is_none_or(|want| want == ns) && name.is_none_or(|want| want == n)
        };
        match &mut self.backend {
            Backend::Files(inv) => {
                let (releases, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut inv.releases)
                    .into_iter()
                    // By the `name` label, as the cluster's label selector below selects.
                    .partition(|r| wanted(&r.namespace, r.listed_name()));
                inv.releases = rest;
                let (broken, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut inv.broken)
                    .into_iter()
                    .partition(|b| b.release.as_ref().is_some_and(|(ns, n)| wanted(ns, n)));
                inv.broken = rest;
                Ok(Releases { releases, broken })
            }
            Backend::Cluster(cluster, driver) => {
                // Helm labels every release Secret (or ConfigMap) `owner=helm` and
                // `name=<release>`.
                let labels = match name {
                    Some(n) => format!("owner=helm,name={n}"),
                    None => "owner=helm".to_string(),
                };
                let objects: Vec<SourcedObject> = cluster
                    .list(driver, namespace, Some(&labels), None)?
                    .into_iter()
                    .map(|object| SourcedObject {
                        origin: String::new(),
                        line: 0,
                        object,
                    })
                    .collect();
                let inv = input::decode_objects_with(objects, self.decode);
                Ok(Releases {
                    releases: inv.releases,
                    broken: inv.broken,
                })
            }
        }
    }

    /// A namespaced object the preview needs (HelmRepository, ConfigMap, Secret) by kind,
    /// namespace and name; `None` when it does not exist.
    pub fn source(&self, kind: &str, namespace: &str, name: &str) -> Result<Option<Value>> {
        let api_version = match kind {
            "HelmRepository" | "HelmChart" | "OCIRepository" => "source.toolkit.fluxcd.io/v1",
            _ => "v1",
        };
        self.live(api_version, kind, namespace, name)
    }

    /// Events about one object, oldest first.
    pub fn events(&self, namespace: &str, kind: &str, name: &str) -> Result<Vec<Value>> {
        let about = |e: &Value| {
            str_at(e, "/involvedObject/kind") == kind && str_at(e, "/involvedObject/name") == name
        };
        let mut events: Vec<Value> = match &self.backend {
            Backend::Files(inv) => inv
                .objects
                .iter()
                .map(|o| &o.object)
                .filter(|o| {
                    str_at(o, "/kind") == "Event" && str_at(o, "/metadata/namespace") == namespace
                })
                .filter(|o| about(o))
                .cloned()
                .collect(),
            Backend::Cluster(cluster, _) => {
                let fields = format!("involvedObject.kind={kind},involvedObject.name={name}");
                cluster
                    .list(&cluster::EVENTS, Some(namespace), None, Some(&fields))?
                    .into_iter()
                    // Servers that ignore the field selector still give the right answer.
                    .filter(|e| about(e))
                    .collect()
            }
        };
        events.sort_by_key(event_time);
        Ok(events)
    }

    /// The live object with this identity, if it exists. `namespace` is where a namespaced
    /// object without one in the manifest lives (the release namespace).
    pub fn live(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>> {
        match &self.backend {
            Backend::Files(inv) => Ok(inv
                .objects
                .iter()
                .map(|o| &o.object)
                .find(|o| {
                    str_at(o, "/kind") == kind
                        && group_of(&str_at(o, "/apiVersion")) == group_of(api_version)
                        && str_at(o, "/metadata/name") == name
                        && {
                            let ns = str_at(o, "/metadata/namespace");
                            // A cluster-scoped object in a dump has no namespace.
                            ns.is_empty() || ns == namespace
                        }
                })
                .cloned()),
            Backend::Cluster(cluster, _) => cluster.get(api_version, kind, namespace, name),
        }
    }

    /// The object as a server-side apply would leave it (cluster only: dry run); from files,
    /// the live object with the desired one merged over it, a close approximation without
    /// the server's defaulting.
    pub fn applied(&self, desired: &Value, namespace: &str) -> Result<Value> {
        match &self.backend {
            Backend::Cluster(cluster, _) => Ok(cluster
                .apply_dry_run(desired, namespace)?
                .unwrap_or_else(|| desired.clone())),
            Backend::Files(_) => {
                let field = |p: &str| str_at(desired, p);
                let live = self.live(
                    &field("/apiVersion"),
                    &field("/kind"),
                    namespace,
                    &field("/metadata/name"),
                )?;
                let mut merged = live.unwrap_or(Value::Null);
                merge_into(&mut merged, desired);
                Ok(merged)
            }
        }
    }

    /// Whether a kind is namespaced: discovery on a cluster, `None` when unknown (files).
    pub fn namespaced(&self, api_version: &str, kind: &str) -> Result<Option<bool>> {
        match &self.backend {
            Backend::Files(_) => Ok(None),
            Backend::Cluster(cluster, _) => cluster.namespaced(api_version, kind),
        }
    }
}

/// The library reads what a HelmRelease references through the session: from files or the
/// cluster, as every command does.
impl helmrelease_flux::ObjectReader for Session {
    fn get(
        &self,
        kind: helmrelease_flux::ObjectKind,
        namespace: &str,
        name: &str,
    ) -> helmrelease_flux::Result<Option<Value>> {
        self.source(kind.kind(), namespace, name)
            .map_err(|e| helmrelease_flux::Error::Read(Box::new(e)))
    }

    fn namespaces_of(&self, kind: helmrelease_flux::ObjectKind, name: &str) -> Vec<String> {
        self.policy_objects(None)
            .unwrap_or_default()
            .into_iter()
            .filter(|o| {
                str_at(&o.object, "/kind") == kind.kind()
                    && str_at(&o.object, "/metadata/name") == name
            })
            .map(|o| str_at(&o.object, "/metadata/namespace"))
            .collect()
    }
}

/// `lastTimestamp`, else `eventTime`, else creation: events carry one of them.
fn event_time(event: &Value) -> String {
    [
        "/lastTimestamp",
        "/eventTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .map(|p| str_at(event, p))
    .find(|t| !t.is_empty())
    .unwrap_or_default()
}

fn sort_key(object: &Value) -> (String, String) {
    (
        str_at(object, "/metadata/namespace"),
        str_at(object, "/metadata/name"),
    )
}

/// The group of an apiVersion (`""` for the core group).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// A string field, empty when absent.
pub fn str_at(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// JSON merge of `over` onto `base`: maps merge recursively, anything else replaces.
fn merge_into(base: &mut Value, over: &Value) {
    match (base.as_object_mut(), over.as_object()) {
        (Some(b), Some(o)) => {
            for (k, v) in o {
                merge_into(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        _ => *base = over.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_storage_driver_follows_helm_driver_as_helm_reads_it() {
        for name in [None, Some(""), Some("secret"), Some("secrets")] {
            assert_eq!(storage_driver(name).map(|r| r.kind).ok(), Some("Secret"));
        }
        for name in ["configmap", "configmaps"] {
            assert_eq!(
                storage_driver(Some(name)).map(|r| r.kind).ok(),
                Some("ConfigMap")
            );
        }
        let err = |name| storage_driver(Some(name)).err().map(|e| e.to_string());
        assert_eq!(
            err("etcd"),
            Some("unknown driver \"etcd\" (HELM_DRIVER)".to_string())
        );
        assert!(err("sql").is_some_and(|e| e.contains("cannot be read from the cluster")));
    }
}
