//! Reading from a cluster, like kubectl: kubeconfig resolution, paged lists with label
//! selectors, and gets of the kinds a release manifest names. The only writes are none: the
//! plugin needs `get` and `list`, and a 403 says which permission is missing.

use crate::{Error, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// Items per page when listing: big enough to keep round trips few, small enough that one page
/// of release Secrets (up to 1 MiB each) stays a bounded response.
const PAGE: usize = 100;

/// Plural and whether namespaced, of a served kind; `None` when not served.
type Scope = Option<(String, bool)>;

/// A connection to the cluster of the selected kubeconfig context.
pub struct Cluster {
    client: kube::Client,
    runtime: tokio::runtime::Runtime,
    /// The context's namespace (`default` when it names none).
    pub default_namespace: String,
    /// Scope of kinds looked up so far: `true` when namespaced.
    scopes: std::sync::Mutex<HashMap<(String, String), Scope>>,
    /// The server's version and API versions, once discovered.
    capabilities: std::sync::OnceLock<(String, Vec<String>)>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("default_namespace", &self.default_namespace)
            .finish_non_exhaustive()
    }
}

/// A list or get target: the API path prefix of a resource.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    /// `""` for the core group.
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
    /// Kind, set on list items that come without one.
    pub kind: &'static str,
}

/// Core v1 Secrets.
pub const SECRETS: Resource = Resource {
    group: "",
    version: "v1",
    plural: "secrets",
    kind: "Secret",
};
/// Core v1 ConfigMaps.
pub const CONFIGMAPS: Resource = Resource {
    group: "",
    version: "v1",
    plural: "configmaps",
    kind: "ConfigMap",
};
/// Core v1 Events.
pub const EVENTS: Resource = Resource {
    group: "",
    version: "v1",
    plural: "events",
    kind: "Event",
};
/// Flux HelmReleases.
pub const HELMRELEASES: Resource = Resource {
    group: "helm.toolkit.fluxcd.io",
    version: "v2",
    plural: "helmreleases",
    kind: "HelmRelease",
};

impl Resource {
    fn path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) => format!("{base}/namespaces/{ns}/{}", self.plural),
            None => format!("{base}/{}", self.plural),
        }
    }

    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl Cluster {
    /// Connects with the kubeconfig kubectl would use: `--kubeconfig`, else `KUBECONFIG`, else
    /// `~/.kube/config` (or in-cluster credentials), with `--context` picking the context.
    pub fn connect(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Cluster> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Cluster(format!("starting the IO runtime: {e}")))?;
        let options = KubeConfigOptions {
            context: context.map(String::from),
            ..KubeConfigOptions::default()
        };
        let config = runtime.block_on(async {
            match kubeconfig {
                Some(path) => {
                    let file = Kubeconfig::read_from(path).map_err(|e| {
                        Error::Cluster(format!("reading kubeconfig {}: {e}", path.display()))
                    })?;
                    kube::Config::from_custom_kubeconfig(file, &options)
                        .await
                        .map_err(|e| Error::Cluster(format!("kubeconfig {}: {e}", path.display())))
                }
                None => {
                    check_kubeconfig_exists()?;
                    if context.is_none() {
                        kube::Config::infer()
                            .await
                            .map_err(|e| Error::Cluster(format!("kubeconfig: {e}")))
                    } else {
                        kube::Config::from_kubeconfig(&options)
                            .await
                            .map_err(|e| Error::Cluster(format!("kubeconfig: {e}")))
                    }
                }
            }
        })?;
        let default_namespace = config.default_namespace.clone();
        // The client spawns its request buffer onto the runtime it is built in.
        let client = {
            let _entered = runtime.enter();
            kube::Client::try_from(config)
        }
        .map_err(|e| Error::Cluster(format!("building the client: {e}")))?;
        Ok(Cluster {
            client,
            runtime,
            default_namespace,
            scopes: std::sync::Mutex::new(HashMap::new()),
            capabilities: std::sync::OnceLock::new(),
        })
    }

    /// Lists a resource in a namespace (or all), with an optional label selector, page by
    /// page. Items get `apiVersion` and `kind`, which list responses leave out.
    pub fn list(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        labels: Option<&str>,
        fields: Option<&str>,
    ) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![format!("limit={PAGE}")];
            if let Some(l) = labels {
                query.push(format!("labelSelector={}", encode(l)));
            }
            if let Some(f) = fields {
                query.push(format!("fieldSelector={}", encode(f)));
            }
            if let Some(t) = &token {
                query.push(format!("continue={}", encode(t)));
            }
            let url = format!("{}?{}", resource.path(namespace), query.join("&"));
            let page: Value = self
                .request(&url)
                .map_err(|e| explain(e, "list", resource.plural, namespace))?;
            if let Some(list) = page.get("items").and_then(Value::as_array) {
                items.extend(list.iter().cloned().map(|mut item| {
                    if let Some(obj) = item.as_object_mut() {
                        obj.entry("apiVersion")
                            .or_insert_with(|| Value::from(resource.api_version()));
                        obj.entry("kind")
                            .or_insert_with(|| Value::from(resource.kind));
                    }
                    item
                }));
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(String::from);
            if token.is_none() {
                return Ok(items);
            }
        }
    }

    /// Like [`Cluster::list`], but a resource the cluster does not serve (HelmReleases without
    /// Flux's CRDs) is an empty list rather than an error.
    pub fn list_if_served(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Vec<Value>> {
        match self.list(resource, namespace, labels, None) {
            Err(Error::ClusterNotFound(_)) => Ok(Vec::new()),
            other => other,
        }
    }

    /// Gets one object by apiVersion, kind, namespace and name; `None` when it does not exist.
    /// Namespaced kinds without a namespace get `default_namespace`; cluster-scoped kinds
    /// ignore it. Discovery answers which is which, once per kind.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>> {
        let namespace = if namespace.is_empty() {
            self.default_namespace.as_str()
        } else {
            namespace
        };
        self.read(api_version, kind, namespace, Some(name))
    }

    /// The list object of a kind in a namespace (all namespaces when empty, or for
    /// cluster-scoped kinds), as one request returns it: what Helm's `lookup` gives for an
    /// empty name. `None` when the cluster does not serve the kind.
    pub fn get_list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
    ) -> Result<Option<Value>> {
        self.read(api_version, kind, namespace, None)
    }

    /// One GET of an object (`name`) or a list; `None` when the kind is not served or the
    /// object does not exist. An empty namespace reads all namespaces.
    fn read(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: Option<&str>,
    ) -> Result<Option<Value>> {
        let Some((plural, namespaced)) = self.scope(api_version, kind)? else {
            return Ok(None);
        };
        let root = if api_version.contains('/') {
            "apis"
        } else {
            "api"
        };
        let scope = match (namespaced, namespace) {
            (true, ns) if !ns.is_empty() => format!("/namespaces/{ns}"),
            _ => String::new(),
        };
        let item = name.map(|n| format!("/{n}")).unwrap_or_default();
        let url = format!("/{root}/{api_version}{scope}/{plural}{item}");
        match self.request(&url) {
            Ok(v) => Ok(Some(v)),
            Err(e) if status_code(&e) == Some(404) => Ok(None),
            Err(e) => Err(explain(
                e,
                if name.is_some() { "get" } else { "list" },
                &plural,
                Some(namespace).filter(|n| namespaced && !n.is_empty()),
            )),
        }
    }

    /// What Helm's `.Capabilities` says of this cluster, as Helm's `getCapabilities` reads it:
    /// the server's `gitVersion`, and every served `group/version` and `group/version/Kind`.
    pub fn capabilities(&self) -> Result<(String, Vec<String>)> {
        if let Some(known) = self.capabilities.get() {
            return Ok(known.clone());
        }
        let get = |url: &str| {
            self.request(url)
                .map_err(|e| explain(e, "discover", "the API", None))
        };
        let version = get("/version")?;
        let git_version = version
            .get("gitVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut group_versions: Vec<(String, String)> = Vec::new();
        if let Some(core) = get("/api")?.get("versions").and_then(Value::as_array) {
            for v in core.iter().filter_map(Value::as_str) {
                group_versions.push((v.to_string(), format!("/api/{v}")));
            }
        }
        for group in get("/apis")?
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for gv in group
                .get("versions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.get("groupVersion").and_then(Value::as_str))
            {
                group_versions.push((gv.to_string(), format!("/apis/{gv}")));
            }
        }
        let mut versions = std::collections::BTreeSet::new();
        for (gv, url) in group_versions {
            // As client-go's discovery (and so Helm): a group version whose resources cannot
            // be read (an aggregated API that is down, say) still counts, without its kinds.
            let resources = self.request(&url).unwrap_or_default();
            for resource in resources
                .get("resources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(kind) = resource.get("kind").and_then(Value::as_str) {
                    versions.insert(format!("{gv}/{kind}"));
                }
            }
            versions.insert(gv);
        }
        let found = (git_version, versions.into_iter().collect::<Vec<_>>());
        let _ = self.capabilities.set(found.clone());
        Ok(found)
    }

    /// Whether objects of this kind are namespaced, from discovery; `None` for kinds the cluster
    /// does not serve.
    pub fn namespaced(&self, api_version: &str, kind: &str) -> Result<Option<bool>> {
        Ok(self.scope(api_version, kind)?.map(|(_, n)| n))
    }

    fn scope(&self, api_version: &str, kind: &str) -> Result<Option<(String, bool)>> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(known) = self.scopes.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(known);
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = match self
            .runtime
            .block_on(kube::discovery::pinned_kind(&self.client, &gvk))
        {
            Ok((resource, caps)) => Some((
                resource.plural,
                caps.scope == kube::discovery::Scope::Namespaced,
            )),
            Err(kube::Error::Discovery(_)) => None,
            Err(e) if status_code(&e) == Some(404) => None,
            Err(e) => return Err(explain(e, "discover", api_version, None)),
        };
        if let Ok(mut m) = self.scopes.lock() {
            m.insert(key, found.clone());
        }
        Ok(found)
    }

    /// What the object would look like after a server-side apply, without applying it
    /// (`dryRun=All`, field manager `helm`, forced): the server fills in defaults, so the
    /// result can be compared with the live object. `None` when the kind is not served.
    pub fn apply_dry_run(&self, object: &Value, default_namespace: &str) -> Result<Option<Value>> {
        let field = |p: &str| {
            object
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let (api_version, kind, name) = (
            field("/apiVersion"),
            field("/kind"),
            field("/metadata/name"),
        );
        let Some((plural, namespaced)) = self.scope(api_version, kind)? else {
            return Ok(None);
        };
        let base = if api_version.contains('/') {
            format!("/apis/{api_version}")
        } else {
            format!("/api/{api_version}")
        };
        let namespace = Some(field("/metadata/namespace"))
            .filter(|n| !n.is_empty())
            .unwrap_or(default_namespace)
            .to_string();
        let url = if namespaced {
            format!(
                "{base}/namespaces/{namespace}/{plural}/{name}?dryRun=All&fieldManager=helm&force=true"
            )
        } else {
            format!("{base}/{plural}/{name}?dryRun=All&fieldManager=helm&force=true")
        };
        let mut body = object.clone();
        if namespaced && field("/metadata/namespace").is_empty() {
            body["metadata"]["namespace"] = Value::String(namespace.clone());
        }
        let request = http::Request::patch(url)
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, "application/apply-patch+yaml")
            .body(serde_json::to_vec(&body).unwrap_or_default())
            .map_err(|e| Error::Cluster(format!("building the dry-run request: {e}")))?;
        self.runtime
            .block_on(self.client.request::<Value>(request))
            .map(Some)
            .map_err(|e| {
                explain(
                    e,
                    "patch (server-side apply, dry run)",
                    &plural,
                    Some(&namespace).filter(|_| namespaced).map(String::as_str),
                )
            })
    }

    fn request(&self, url: &str) -> std::result::Result<Value, kube::Error> {
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(kube::Error::HttpError)?;
        self.runtime.block_on(self.client.request::<Value>(request))
    }
}

/// Says plainly when there is no kubeconfig at all, instead of the client's nested error.
fn check_kubeconfig_exists() -> Result<()> {
    const HINT: &str = "pass --kubeconfig PATH, or --from-file PATH to read files";
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let paths: Vec<_> = std::env::split_paths(&list).collect();
        if paths.iter().any(|p| p.exists()) {
            return Ok(());
        }
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::Cluster(format!(
            "KUBECONFIG names {}, which does not exist; {HINT}",
            names.join(", ")
        )));
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let default_exists = home.is_some_and(|h| h.join(".kube").join("config").exists());
    if default_exists || std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return Ok(());
    }
    Err(Error::Cluster(format!(
        "no cluster to read from: KUBECONFIG is unset and ~/.kube/config does not exist; {HINT}"
    )))
}

fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Turns a client error into a message that says what to do: a 403 names the verb, resource and
/// namespace the user's RBAC role lacks.
fn explain(e: kube::Error, verb: &str, resource: &str, namespace: Option<&str>) -> Error {
    let scope = match namespace {
        Some(ns) => format!("in namespace {ns:?}"),
        None => "at cluster scope".to_string(),
    };
    match e {
        kube::Error::Api(status) if status.code == 403 => Error::Cluster(format!(
            "forbidden: cannot {verb} {resource} {scope}; this needs RBAC permission to {verb} {resource} {scope} (server said: {})",
            status.message
        )),
        kube::Error::Api(status) if status.code == 404 => {
            Error::ClusterNotFound(format!("{resource} {scope}: {}", status.message))
        }
        kube::Error::Api(status) => Error::Cluster(format!(
            "{verb} {resource} {scope}: {} ({} {})",
            status.message, status.code, status.reason
        )),
        other => Error::Cluster(format!("{verb} {resource} {scope}: {other}")),
    }
}

/// Percent-encodes a query value (selectors hold `=`, `,`, `!`, spaces and parentheses).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_the_missing_permission() {
        let status = kube::core::Status::failure(
            "secrets is forbidden: User \"dev\" cannot list resource \"secrets\"",
            "Forbidden",
        )
        .with_code(403);
        let err = explain(
            kube::Error::Api(Box::new(status)),
            "list",
            "secrets",
            Some("apps"),
        );
        assert_eq!(
            err.to_string(),
            "forbidden: cannot list secrets in namespace \"apps\"; this needs RBAC permission to list secrets in namespace \"apps\" (server said: secrets is forbidden: User \"dev\" cannot list resource \"secrets\")"
        );
    }

    #[test]
    fn paths_and_query_values() {
        assert_eq!(
            SECRETS.path(Some("apps")),
            "/api/v1/namespaces/apps/secrets"
        );
        assert_eq!(
            HELMRELEASES.path(None),
            "/apis/helm.toolkit.fluxcd.io/v2/helmreleases"
        );
        assert_eq!(
            encode("owner=helm,name in (a b)"),
            "owner%3Dhelm%2Cname%20in%20%28a%20b%29"
        );
    }
}
