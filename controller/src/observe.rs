//! Snapshots of stored releases, with Flux's digests, for `status.history`.

use helmrelease_crds::helmrelease::Snapshot;
use helmrelease_release::Release;

/// Flux's release digest of a stored release.
pub fn release_digest(release: &Release, oci_digest: Option<&str>) -> String {
    helmrelease_flux::digest::release_digest(release, oci_digest)
}

/// The snapshot helm-controller records for a stored release (`apiVersion: v2` marks the
/// Helm 4 digest method).
pub fn snapshot(release: &Release, oci_digest: Option<&str>) -> Snapshot {
    let meta = release.metadata();
    let info = release.info.clone().unwrap_or_default();
    let config = release.config.clone().unwrap_or_default();
    Snapshot {
        api_version: Some("v2".into()),
        digest: release_digest(release, oci_digest),
        name: release.name.clone(),
        namespace: release.namespace.clone(),
        version: release.version,
        status: release.status().to_string(),
        action: None,
        chart_name: meta.and_then(|m| m.name.clone()).unwrap_or_default(),
        chart_version: meta.and_then(|m| m.version.clone()).unwrap_or_default(),
        app_version: meta
            .and_then(|m| m.app_version.clone())
            .filter(|a| !a.is_empty()),
        config_digest: helmrelease_flux::digest::config_digest(&config),
        first_deployed: kube_time(info.first_deployed.as_deref()).unwrap_or_default(),
        last_deployed: kube_time(info.last_deployed.as_deref()).unwrap_or_default(),
        deleted: kube_time(info.deleted.as_deref()),
        test_hooks: None,
        oci_digest: oci_digest.map(str::to_string),
    }
}

/// A Helm time (RFC 3339 with nanoseconds and a zone) as `metav1.Time` writes it: UTC, whole
/// seconds. Go's zero time counts as unset.
pub fn kube_time(helm: Option<&str>) -> Option<String> {
    let helm = helm.filter(|t| !t.is_empty() && !t.starts_with("0001-01-01"))?;
    let ts: jiff::Timestamp = helm.parse().ok()?;
    Some(
        jiff::Timestamp::from_second(ts.as_second())
            .ok()?
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_times_become_kubernetes_times() {
        assert_eq!(
            kube_time(Some("2026-12-07T18:01:02.123456789+01:00")).as_deref(),
            Some("2026-12-07T17:01:02Z")
        );
        assert_eq!(kube_time(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(kube_time(None), None);
    }
}
