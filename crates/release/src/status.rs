//! Helm release status values (`helm.sh/helm/v4/pkg/release/common/status.go`).

use std::fmt;

/// The status of a release revision.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `unknown`.
    Unknown,
    /// `deployed`: the current release.
    Deployed,
    /// `uninstalled`: kept in history by `--keep-history`.
    Uninstalled,
    /// `superseded`: replaced by a newer revision.
    Superseded,
    /// `failed`.
    Failed,
    /// `uninstalling`.
    Uninstalling,
    /// `pending-install`: an install is running or crashed.
    PendingInstall,
    /// `pending-upgrade`: an upgrade is running or crashed.
    PendingUpgrade,
    /// `pending-rollback`: a rollback is running or crashed.
    PendingRollback,
    /// A value Helm does not define, kept verbatim.
    Other(String),
}

impl Status {
    /// Every status Helm defines.
    pub const ALL: [Status; 9] = [
        Status::Unknown,
        Status::Deployed,
        Status::Uninstalled,
        Status::Superseded,
        Status::Failed,
        Status::Uninstalling,
        Status::PendingInstall,
        Status::PendingUpgrade,
        Status::PendingRollback,
    ];

    /// Parses Helm's spelling; anything else becomes [`Status::Other`].
    pub fn parse(s: &str) -> Status {
        match s {
            "unknown" => Status::Unknown,
            "deployed" => Status::Deployed,
            "uninstalled" => Status::Uninstalled,
            "superseded" => Status::Superseded,
            "failed" => Status::Failed,
            "uninstalling" => Status::Uninstalling,
            "pending-install" => Status::PendingInstall,
            "pending-upgrade" => Status::PendingUpgrade,
            "pending-rollback" => Status::PendingRollback,
            other => Status::Other(other.to_string()),
        }
    }

    /// Helm's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
            Status::Other(s) => s,
        }
    }

    /// True for the three `pending-*` values, which Helm treats as a lock on the release.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_and_only_pending_ones_lock() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), status);
            assert_eq!(
                status.is_pending(),
                status.as_str().starts_with("pending-"),
                "{status}"
            );
        }
        assert_eq!(Status::parse("weird"), Status::Other("weird".into()));
        assert!(!Status::parse("weird").is_pending());
    }
}
