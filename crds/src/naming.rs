//! Where a HelmRelease's Helm release lives: its name and namespaces, composed as Flux does.

use crate::HelmRelease;
use sha2::{Digest, Sha256};

/// Helm's limit on release names.
pub const MAX_RELEASE_NAME: usize = 53;

/// The Helm release name Flux uses: `spec.releaseName`, or `[<targetNamespace>-]<name>`, and a
/// composed name past 53 characters becomes its first 40 characters, `-`, and the first 12 hex
/// digits of its SHA-256 (so it stays unique and valid).
pub fn release_name(
    name: &str,
    target_namespace: Option<&str>,
    release_name: Option<&str>,
) -> String {
    if let Some(explicit) = release_name.filter(|n| !n.is_empty()) {
        return explicit.to_string();
    }
    let composed = match target_namespace.filter(|n| !n.is_empty()) {
        Some(target) => format!("{target}-{name}"),
        None => name.to_string(),
    };
    shorten(&composed)
}

/// Shortens a release name longer than [`MAX_RELEASE_NAME`] the way Flux does.
pub fn shorten(name: &str) -> String {
    if name.len() <= MAX_RELEASE_NAME {
        return name.to_string();
    }
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    // Names are DNS labels (ASCII), but never split a UTF-8 character on bad input.
    let mut cut = 40;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{hex}", &name[..cut])
}

impl HelmRelease {
    /// The Helm release name (see [`release_name`]).
    pub fn helm_release_name(&self) -> String {
        release_name(
            self.metadata.name.as_deref().unwrap_or_default(),
            self.spec.target_namespace.as_deref(),
            self.spec.release_name.as_deref(),
        )
    }

    /// Namespace the release's objects go to: `spec.targetNamespace` or the HelmRelease's own.
    pub fn helm_release_namespace(&self) -> String {
        self.spec
            .target_namespace
            .clone()
            .or_else(|| self.metadata.namespace.clone())
            .unwrap_or_default()
    }

    /// Namespace of the release Secrets: `spec.storageNamespace`, else the HelmRelease's own.
    pub fn helm_storage_namespace(&self) -> String {
        self.spec
            .storage_namespace
            .clone()
            .or_else(|| self.metadata.namespace.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compose_like_flux() {
        assert_eq!(release_name("podinfo", None, None), "podinfo");
        assert_eq!(release_name("podinfo", Some("prod"), None), "prod-podinfo");
        assert_eq!(release_name("podinfo", Some("prod"), Some("web")), "web");
        let long = "a".repeat(30);
        let name = release_name(&long, Some(&"b".repeat(30)), None);
        assert_eq!(name.len(), 53);
        assert!(name.starts_with(&format!("{}-{}", "b".repeat(30), "a".repeat(9))));
        // First 12 hex digits of sha256 of the composed 61-character name.
        let digest = Sha256::digest(format!("{}-{}", "b".repeat(30), long).as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&name[41..], &hex[..12]);
        assert_eq!(shorten(&"x".repeat(53)), "x".repeat(53));
    }
}
