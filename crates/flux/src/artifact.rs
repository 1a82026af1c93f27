//! Charts from the artifact Flux's source-controller publishes, as helm-controller takes them:
//! the HelmChart generated for `spec.chart` (or the `chartRef` HelmChart or OCIRepository)
//! must be Ready with a `status.artifact`; the archive is downloaded from its URL and checked
//! against its digest. For an OCIRepository the artifact's manifest digest goes into the chart
//! version as build metadata (`1.2.3+0123456789ab`), as helm-controller does. This is how
//! charts from GitRepository and Bucket sources are had, and how a controller runs alongside
//! source-controller.

use crate::chart::{ChartReference, LoadedChart};
use crate::digest::sha256_digest;
use crate::reader::{ObjectKind, ObjectReader};
use crate::{Error, Result};
use helmrelease_crds::helmrelease::{ChartRefKind, HelmRelease};
use serde_json::Value;
use std::sync::Arc;

/// Largest chart archive accepted.
pub const MAX_ARTIFACT: u64 = 100 << 20;

/// The object whose `status.artifact` holds the HelmRelease's chart: the generated HelmChart
/// `<hr-namespace>-<hr-name>` in the source's namespace, or the `chartRef` object.
pub fn source_of(hr: &HelmRelease) -> Result<(ObjectKind, String, String)> {
    let own = hr.metadata.namespace.clone().unwrap_or_default();
    if let Some(chart) = &hr.spec.chart {
        let ns = chart
            .spec
            .source_ref
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| own.clone());
        let name = format!("{own}-{}", hr.metadata.name.as_deref().unwrap_or_default());
        return Ok((ObjectKind::HelmChart, ns, name));
    }
    let Some(r) = &hr.spec.chart_ref else {
        return Err(Error::Unsupported(
            "the HelmRelease has neither spec.chart nor spec.chartRef".into(),
        ));
    };
    let ns = r.namespace.clone().filter(|n| !n.is_empty()).unwrap_or(own);
    let kind = match r.kind {
        ChartRefKind::HelmChart => ObjectKind::HelmChart,
        ChartRefKind::OCIRepository => ObjectKind::OCIRepository,
        ChartRefKind::ExternalArtifact => {
            return Err(Error::Unsupported(
                "ExternalArtifact chart sources are not supported yet".into(),
            ));
        }
    };
    Ok((kind, ns, r.name.clone()))
}

/// Where a Ready source's artifact is, as its status says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Download address.
    pub url: String,
    /// `sha256:<hex>` of the archive (empty when the status gives none).
    pub digest: String,
    /// The OCI manifest digest, for an OCIRepository (`<tag>@<digest>` revisions).
    pub oci_digest: Option<String>,
}

/// Reads `status.artifact` of a source object; an error says why it cannot be used yet (as
/// helm-controller's `SourceNotReady`: `HelmChart 'ns/name' is not ready: <Ready message>`).
pub fn published(kind: ObjectKind, source: &Value) -> Result<Published> {
    let at = |p: &str| {
        source
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let (ns, name) = (at("/metadata/namespace"), at("/metadata/name"));
    let ready = source
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    let url = at("/status/artifact/url");
    // As helm-controller: a source that has not caught up with its spec is not ready, or a
    // chart bump would deploy the previous artifact.
    let current =
        source.pointer("/status/observedGeneration") == source.pointer("/metadata/generation");
    if url.is_empty() || !ready.is_some_and(|r| r["status"] == "True") || !current {
        let why = if !current && ready.is_some_and(|r| r["status"] == "True") {
            "the latest generation has not been processed yet"
        } else {
            ready
                .and_then(|r| r["message"].as_str())
                .unwrap_or("no artifact yet")
        };
        return Err(Error::NotFound(format!(
            "{} '{ns}/{name}' is not ready: {why}",
            kind.kind()
        )));
    }
    let oci_digest = (kind == ObjectKind::OCIRepository)
        .then(|| at("/status/artifact/revision"))
        .and_then(|r| r.split_once('@').map(|(_, d)| d.to_string()));
    Ok(Published {
        url: url.to_string(),
        digest: at("/status/artifact/digest").to_string(),
        oci_digest,
    })
}

/// A downloaded, digest-checked chart archive.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Where it was downloaded from.
    pub url: String,
    /// The archive.
    pub data: Arc<Vec<u8>>,
    /// For an OCIRepository: the manifest digest.
    pub oci_digest: Option<String>,
}

impl Artifact {
    /// The chart in the archive, its version carrying the OCI digest when there is one.
    pub fn chart(&self) -> Result<LoadedChart> {
        let mut chart = helmrelease_helm::chart::load_archive(&self.data)
            .map_err(|e| Error::Chart(format!("failed to load chart from {}: {e}", self.url)))?;
        if let Some(digest) = &self.oci_digest {
            let hex = digest.split_once(':').map_or(digest.as_str(), |(_, h)| h);
            let short = hex.get(..12).unwrap_or(hex);
            chart.metadata.version = format!("{}+{short}", chart.metadata.version);
        }
        Ok(LoadedChart {
            chart,
            // The artifact's address stands in for where the chart was read.
            reference: ChartReference::Local(self.url.clone().into()),
            oci_digest: self.oci_digest.clone(),
        })
    }
}

/// `url` with its `host:port` replaced (`SOURCE_CONTROLLER_LOCALHOST`, for a controller
/// outside the cluster).
pub fn replace_host(url: &str, host: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    format!("{scheme}://{host}{path}")
}

/// Downloads a published artifact and checks its digest (blocking).
pub fn download(published: &Published) -> Result<Artifact> {
    let url = match std::env::var("SOURCE_CONTROLLER_LOCALHOST") {
        Ok(host) if !host.is_empty() => replace_host(&published.url, &host),
        _ => published.url.clone(),
    };
    let client = helmrelease_sources::http::Client::new(Default::default())
        .map_err(|e| Error::Chart(e.to_string()))?;
    let response = client
        .get(&helmrelease_sources::http::Request::get(&url, MAX_ARTIFACT))
        .map_err(|e| Error::Chart(format!("failed to download artifact from {url}: {e}")))?;
    if response.status != 200 {
        return Err(Error::Chart(format!(
            "failed to download artifact from {url}: status {}",
            response.status
        )));
    }
    verified(published, url, response.body)
}

/// A published artifact read from a local file (the publisher's own storage), checked
/// against its digest as a download is.
pub fn read(published: &Published, path: &std::path::Path) -> Result<Artifact> {
    let data = std::fs::read(path).map_err(|e| {
        Error::Chart(format!(
            "failed to read artifact {} ({}): {e}",
            published.url,
            path.display()
        ))
    })?;
    verified(published, published.url.clone(), data)
}

fn verified(published: &Published, url: String, data: Vec<u8>) -> Result<Artifact> {
    let computed = sha256_digest(&data);
    if !published.digest.is_empty() && computed != published.digest {
        return Err(Error::Chart(format!(
            "failed to verify artifact from {url}: computed digest doesn't match '{}'",
            published.digest
        )));
    }
    Ok(Artifact {
        url,
        data: Arc::new(data),
        oci_digest: published.oci_digest.clone(),
    })
}

/// The HelmRelease's chart from the artifact source-controller published (blocking).
pub fn fetch(reader: &dyn ObjectReader, hr: &HelmRelease) -> Result<Artifact> {
    let (kind, ns, name) = source_of(hr)?;
    let source = reader.get(kind, &ns, &name)?.ok_or_else(|| {
        Error::NotFound(format!(
            "could not get Source object: {} {ns}/{name} not found",
            kind.kind()
        ))
    })?;
    download(&published(kind, &source)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_ready_source_with_an_artifact_is_used() {
        let chart = |ready: &str, url: &str| {
            json!({"metadata": {"namespace": "flux", "name": "apps-web", "generation": 2},
                   "status": {"observedGeneration": 2,
                              "conditions": [{"type": "Ready", "status": ready, "message": "pulling"}],
                              "artifact": {"url": url, "digest": "sha256:ab", "revision": "1.0.0"}}})
        };
        let got = published(ObjectKind::HelmChart, &chart("True", "http://sc/a.tgz"));
        assert_eq!(
            got.ok(),
            Some(Published {
                url: "http://sc/a.tgz".into(),
                digest: "sha256:ab".into(),
                oci_digest: None,
            })
        );
        let err = published(ObjectKind::HelmChart, &chart("False", "http://sc/a.tgz"));
        assert_eq!(
            err.err().map(|e| e.to_string()).as_deref(),
            Some("HelmChart 'flux/apps-web' is not ready: pulling")
        );
        let mut behind = chart("True", "http://sc/a.tgz");
        behind["metadata"]["generation"] = json!(3);
        assert_eq!(
            published(ObjectKind::HelmChart, &behind)
                .err()
                .map(|e| e.to_string())
                .as_deref(),
            Some(
                "HelmChart 'flux/apps-web' is not ready: the latest generation has not been processed yet"
            )
        );
        let oci = json!({"metadata": {"namespace": "a", "name": "b"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "artifact": {"url": "http://x", "revision": "1.0.0@sha256:0123456789abcdef"}}});
        assert_eq!(
            published(ObjectKind::OCIRepository, &oci)
                .ok()
                .and_then(|p| p.oci_digest)
                .as_deref(),
            Some("sha256:0123456789abcdef")
        );
    }

    #[test]
    fn source_controller_localhost_replaces_only_the_host() {
        assert_eq!(
            replace_host(
                "http://source-controller.flux-system.svc.cluster.local./helmchart/apps/web/webapp-1.0.0.tgz",
                "localhost:9090"
            ),
            "http://localhost:9090/helmchart/apps/web/webapp-1.0.0.tgz"
        );
        assert_eq!(replace_host("not a url", "x"), "not a url");
    }
}
