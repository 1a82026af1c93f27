//! The condition types and reasons of HelmReleases and sources, shared by status, Events and CLI
//! output so the words never drift apart. Values follow Flux (`api/v2/condition_types.go` and
//! `fluxcd/pkg/apis/meta`).

/// Condition types.
pub mod types {
    /// Summary condition: the object is fully reconciled.
    pub const READY: &str = "Ready";
    /// The last Helm release action succeeded.
    pub const RELEASED: &str = "Released";
    /// The last Helm test run succeeded.
    pub const TEST_SUCCESS: &str = "TestSuccess";
    /// The last remediation (rollback or uninstall) succeeded.
    pub const REMEDIATED: &str = "Remediated";
    /// The cluster state drifted from the release manifest.
    pub const DRIFTED: &str = "Drifted";
    /// The object is being reconciled (present only while true).
    pub const RECONCILING: &str = "Reconciling";
    /// Reconciliation cannot continue without a change to the object.
    pub const STALLED: &str = "Stalled";
    /// A source has an artifact in storage.
    pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
    /// A source failed to fetch.
    pub const FETCH_FAILED: &str = "FetchFailed";
}

/// Condition reasons.
pub mod reasons {
    pub const INSTALL_SUCCEEDED: &str = "InstallSucceeded";
    pub const INSTALL_FAILED: &str = "InstallFailed";
    pub const UPGRADE_SUCCEEDED: &str = "UpgradeSucceeded";
    pub const UPGRADE_FAILED: &str = "UpgradeFailed";
    pub const TEST_SUCCEEDED: &str = "TestSucceeded";
    pub const TEST_FAILED: &str = "TestFailed";
    pub const AWAITING_TESTS: &str = "AwaitingTests";
    pub const ROLLBACK_SUCCEEDED: &str = "RollbackSucceeded";
    pub const ROLLBACK_FAILED: &str = "RollbackFailed";
    pub const UNINSTALL_SUCCEEDED: &str = "UninstallSucceeded";
    pub const UNINSTALL_FAILED: &str = "UninstallFailed";
    pub const PENDING_RELEASE: &str = "PendingRelease";
    pub const PROGRESSING: &str = "Progressing";
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    pub const RETRIES_EXCEEDED: &str = "RetriesExceeded";
    pub const MISSING_ROLLBACK_TARGET: &str = "MissingRollbackTarget";
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    pub const SOURCE_NOT_READY: &str = "SourceNotReady";
    pub const VALUES_ERROR: &str = "ValuesError";
    pub const ACCESS_DENIED: &str = "AccessDenied";
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    pub const NO_DRIFT_DETECTED: &str = "NoDriftDetected";
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    pub const DRIFT_CORRECTION_FAILED: &str = "DriftCorrectionFailed";
    pub const RECONCILE_ERROR: &str = "ReconcileError";
    pub const STATE_ERROR: &str = "StateError";
    pub const SUCCEEDED: &str = "Succeeded";
}
