//! `.Capabilities` as Helm computes them for an install or upgrade: the server's version and
//! every served group/version and group/version/kind, from discovery. Cached briefly, since
//! a chart's CRDs can add APIs between two releases.

use crate::reconcile::Context;
use std::time::{Duration, Instant};

/// How long a discovery result is reused.
const TTL: Duration = Duration::from_secs(30);

/// When discovery ran, the server version and the API versions.
type Discovered = (Instant, Option<String>, Vec<String>);

/// Cached discovery.
#[derive(Debug, Default)]
pub struct Cache(tokio::sync::Mutex<Option<Discovered>>);

/// The server version and API versions.
pub async fn of(ctx: &Context) -> Result<(Option<String>, Vec<String>), String> {
    let mut cached = ctx.capabilities.0.lock().await;
    if let Some((at, version, apis)) = cached.as_ref()
        && at.elapsed() < TTL
    {
        return Ok((version.clone(), apis.clone()));
    }
    let (version, apis) = discover(&ctx.client).await?;
    *cached = Some((Instant::now(), version.clone(), apis.clone()));
    Ok((version, apis))
}

/// The server version and API versions of the cluster `client` talks to, uncached (for a
/// HelmRelease's own `kubeConfig` cluster).
pub async fn discover(client: &kube::Client) -> Result<(Option<String>, Vec<String>), String> {
    let version = client
        .apiserver_version()
        .await
        .map_err(|e| format!("reading the server version: {e}"))?
        .git_version;
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .map_err(|e| format!("discovering APIs: {e}"))?;
    let mut apis = Vec::new();
    for group in discovery.groups() {
        for (resource, _) in group.recommended_resources() {
            let gv = if resource.group.is_empty() {
                resource.version.clone()
            } else {
                format!("{}/{}", resource.group, resource.version)
            };
            apis.push(gv.clone());
            apis.push(format!("{gv}/{}", resource.kind));
        }
        for version in group.versions() {
            let gv = if group.name().is_empty() {
                version.to_string()
            } else {
                format!("{}/{}", group.name(), version)
            };
            apis.push(gv);
        }
    }
    apis.sort();
    apis.dedup();
    Ok((Some(version).filter(|v| !v.is_empty()), apis))
}
