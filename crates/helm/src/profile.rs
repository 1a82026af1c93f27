//! Which Helm to render as. Flux 2.8's helm-controller (v1.6) and `helm` 4 render as Helm 4,
//! the default; Flux 2.7 and older, and `helm` 3, as Helm 3. Everything that differs between
//! Helm 3.21 and Helm 4.1 in rendered output or errors is decided here.

/// A Helm major version whose rendering is reproduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HelmVersion {
    /// Helm 3.19 to 3.21 (as 3.21.1 reports itself).
    V3,
    /// Helm 4.1 (as 4.1.4 reports itself).
    #[default]
    V4,
}

impl HelmVersion {
    /// Helm's install order by kind. Helm 4 added the webhook configurations at the end; in
    /// Helm 3 they are unknown kinds and sort with the others, alphabetically, after these.
    pub fn install_order(self) -> &'static [&'static str] {
        let all = crate::manifest::INSTALL_ORDER;
        match self {
            HelmVersion::V4 => all,
            HelmVersion::V3 => &all[..all.len() - 2],
        }
    }

    /// `.Capabilities.HelmVersion`: version, commit, Go version and (Helm 4 only) the
    /// client-go minor it was built with.
    pub fn build_info(self) -> BuildInfo {
        match self {
            HelmVersion::V4 => BuildInfo {
                version: "v4.1.4",
                git_commit: "05fa37973dc9e42b76e1d2883494c87174b6074f",
                go_version: "go1.25.9",
                kube_client_version: Some("v1.35"),
            },
            HelmVersion::V3 => BuildInfo {
                version: "v3.21.1",
                git_commit: "c56dd0095fd76da5d7b30ecdf506103e7f26745e",
                go_version: "go1.25.9",
                kube_client_version: None,
            },
        }
    }

    /// Whether `mustToYaml` exists (Helm 4 added it; Helm 3 fails to parse a template using it).
    pub fn has_must_to_yaml(self) -> bool {
        self == HelmVersion::V4
    }

    /// Parses `3`, `4`, `v3`, `v4`.
    pub fn parse(text: &str) -> Option<HelmVersion> {
        match text.trim_start_matches('v') {
            "3" => Some(HelmVersion::V3),
            "4" => Some(HelmVersion::V4),
            _ => None,
        }
    }
}

/// What `.Capabilities.HelmVersion` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildInfo {
    /// `Version`.
    pub version: &'static str,
    /// `GitCommit`.
    pub git_commit: &'static str,
    /// `GoVersion`.
    pub go_version: &'static str,
    /// `KubeClientVersion` (Helm 4 only).
    pub kube_client_version: Option<&'static str>,
}
