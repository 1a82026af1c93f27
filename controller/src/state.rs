//! Classify, then act: the pure core of a reconcile. [`determine`] compares what Helm storage
//! holds with what the HelmRelease asks for and names the release's state, as helm-controller's
//! `DetermineReleaseState` does; [`next_action`] picks the action for that state as its
//! `AtomicRelease.actionForState` does, including the status bookkeeping Flux does there
//! (history truncation, clearing, condition replacement). Nothing here does IO: the storage
//! lookups a decision needs are passed in.

use crate::conditions::{Conditions, RELEASED, REMEDIATED};
use crate::history;
use helmrelease_crds::helmrelease::{HelmRelease, RemediationStrategy, Snapshot, StrategyName};
use helmrelease_crds::meta::ConditionStatus;
use helmrelease_release::Status;

/// What we observed of the newest release in storage.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Release name.
    pub name: String,
    /// Release namespace.
    pub namespace: String,
    /// Revision.
    pub version: i64,
    /// Helm status.
    pub status: Status,
    /// Flux's release digest of this revision (over its observation).
    pub digest: String,
    /// Chart name in the release.
    pub chart_name: String,
    /// Chart version in the release.
    pub chart_version: String,
}

/// What the HelmRelease asks for now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wanted {
    /// Name of the loaded chart.
    pub chart_name: String,
    /// Version of the loaded chart (with `+digest` for OCI sources).
    pub chart_version: String,
    /// Config digest of the composed values.
    pub config_digest: String,
    /// The generation changed and the post-renderers or commonMetadata digest with it.
    pub post_render_changed: bool,
}

/// The release states of helm-controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No release in storage, or only an uninstalled one.
    Absent(String),
    /// The newest release is pending: a crashed or running action holds it.
    Locked(String),
    /// Storage holds a release this object did not observe, or one changed behind its back.
    Unmanaged(String),
    /// Deployed, but another chart or other values are wanted.
    OutOfSync(String),
    /// Deployed and in sync, but the cluster differs from the manifest (set by the caller
    /// after a drift check, see [`must_detect_drift`]).
    Drifted,
    /// Deployed and in sync; tests are enabled and have not run.
    Untested,
    /// Failed, or its tests failed and failures count.
    Failed(String),
    /// Nothing to do.
    InSync,
}

impl State {
    /// The name Flux logs.
    pub fn name(&self) -> &'static str {
        match self {
            State::Absent(_) => "Absent",
            State::Locked(_) => "Locked",
            State::Unmanaged(_) => "Unmanaged",
            State::OutOfSync(_) => "OutOfSync",
            State::Drifted => "Drifted",
            State::Untested => "Untested",
            State::Failed(_) => "Failed",
            State::InSync => "InSync",
        }
    }
}

/// Determines the release state. Fails only for a status it cannot act on.
pub fn determine(
    hr: &HelmRelease,
    latest: Option<&Observed>,
    wanted: &Wanted,
) -> Result<State, String> {
    let Some(rls) = latest else {
        return Ok(State::Absent("no release in storage for object".into()));
    };
    if rls.status.is_pending() {
        return Ok(State::Locked(format!(
            "release with status '{}'",
            rls.status
        )));
    }
    let status = hr.status.clone().unwrap_or_default();
    let snapshots = status.history.clone().unwrap_or_default();
    let Some(cur) = history::latest(&snapshots) else {
        if rls.status == Status::Uninstalled {
            return Ok(State::Absent("found uninstalled release in storage".into()));
        }
        return Ok(State::Unmanaged("found existing release in storage".into()));
    };
    if !(cur.name == rls.name && cur.namespace == rls.namespace && cur.version == rls.version) {
        return Ok(State::Unmanaged(
            "release not observed to be made for object".into(),
        ));
    }
    if cur.digest != rls.digest {
        return Ok(State::Unmanaged(
            "release digest verification failed".into(),
        ));
    }
    match &rls.status {
        Status::Failed => Ok(State::Failed(String::new())),
        Status::Uninstalled => Ok(State::Absent("found uninstalled release in storage".into())),
        Status::Deployed => {
            if rls.chart_name != wanted.chart_name || rls.chart_version != wanted.chart_version {
                return Ok(State::OutOfSync("release chart changed".into()));
            }
            if cur.config_digest != wanted.config_digest {
                return Ok(State::OutOfSync("release config digest changed".into()));
            }
            if wanted.post_render_changed {
                return Ok(State::OutOfSync(
                    "postRenderers or commonMetadata changed".into(),
                ));
            }
            let test = hr.spec.test.clone().unwrap_or_default();
            if test.enable == Some(true) {
                if cur.test_hooks.is_none() {
                    return Ok(State::Untested);
                }
                if let Some(remediation) = active_remediation(hr)
                    && !remediation.ignore_test_failures(test.ignore_failures == Some(true))
                    && history::has_test_in_phase(cur, "Failed")
                {
                    return Ok(State::Failed("release has test in failed phase".into()));
                }
            }
            Ok(State::InSync)
        }
        other => Err(format!(
            "unable to determine state for release with status '{other}'"
        )),
    }
}

/// Whether an otherwise in-sync release must be diffed against the cluster.
pub fn must_detect_drift(hr: &HelmRelease) -> bool {
    use helmrelease_crds::helmrelease::DriftDetectionMode;
    matches!(
        hr.spec.drift_detection.as_ref().and_then(|d| d.mode),
        Some(DriftDetectionMode::Enabled | DriftDetectionMode::Warn)
    )
}

/// Whether drift is corrected (`enabled`) rather than only reported (`warn`).
pub fn must_correct_drift(hr: &HelmRelease) -> bool {
    use helmrelease_crds::helmrelease::DriftDetectionMode;
    hr.spec.drift_detection.as_ref().and_then(|d| d.mode) == Some(DriftDetectionMode::Enabled)
}

/// The actions a reconcile runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Helm install.
    Install,
    /// Helm upgrade.
    Upgrade,
    /// Helm test.
    Test,
    /// Roll back to the previous successful release.
    RollbackRemediation,
    /// Uninstall a failed release.
    UninstallRemediation,
    /// Mark a stale pending release failed.
    Unlock,
    /// Re-apply what drifted.
    CorrectDrift,
}

/// The kinds of action; each runs at most once a reconcile, and a remediation ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Install or upgrade.
    Release,
    /// Rollback or uninstall remediation.
    Remediate,
    /// Test.
    Test,
    /// Unlock.
    Unlock,
    /// Drift correction.
    DriftCorrection,
}

impl Action {
    /// The action's kind.
    pub fn kind(self) -> Kind {
        match self {
            Action::Install | Action::Upgrade => Kind::Release,
            Action::RollbackRemediation | Action::UninstallRemediation => Kind::Remediate,
            Action::Test => Kind::Test,
            Action::Unlock => Kind::Unlock,
            Action::CorrectDrift => Kind::DriftCorrection,
        }
    }

    /// The name Flux uses in messages (`Running 'upgrade' action with timeout of 5m0s`).
    pub fn name(self) -> &'static str {
        match self {
            Action::Install => "install",
            Action::Upgrade => "upgrade",
            Action::Test => "test",
            Action::RollbackRemediation => "rollback",
            Action::UninstallRemediation => "uninstall",
            Action::Unlock => "unlock",
            Action::CorrectDrift => "correct cluster drift",
        }
    }
}

/// Why a reconcile stops without an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Out of retries: Stalled `RetriesExceeded` until the spec, a reset or a force changes.
    RetriesExceeded(String),
    /// The release to roll back to is gone from storage: Stalled `MissingRollbackTarget`.
    MissingRollbackTarget(String),
    /// Something else; retried.
    Error(String),
}

/// What checking the rollback target in storage found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Present and unchanged.
    Ok,
    /// Not in storage.
    Missing,
    /// Changed, or not ours.
    Corrupt,
}

/// The remediation of the last attempted action (install or upgrade), as Flux picks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remediation {
    /// Install or upgrade remediation.
    pub install: bool,
    /// Retries allowed (negative: unlimited).
    pub retries: i64,
    /// Failures counted so far against the retries.
    pub failures: i64,
    /// `ignoreTestFailures`, if set.
    pub ignore_tests: Option<bool>,
    /// `remediateLastFailure`, as Flux defaults it.
    pub remediate_last_failure: bool,
    /// Rollback or uninstall.
    pub strategy: RemediationStrategy,
}

impl Remediation {
    /// Whether retries are used up.
    pub fn retries_exhausted(&self) -> bool {
        self.retries >= 0 && self.failures > self.retries
    }

    /// `MustIgnoreTestFailures`.
    pub fn ignore_test_failures(&self, default: bool) -> bool {
        self.ignore_tests.unwrap_or(default)
    }
}

/// The install remediation of a HelmRelease (with its failure count).
pub fn install_remediation(hr: &HelmRelease) -> Remediation {
    let r = hr
        .spec
        .install
        .as_ref()
        .and_then(|i| i.remediation.clone())
        .unwrap_or_default();
    let status = hr.status.as_ref();
    Remediation {
        install: true,
        retries: r.retries.unwrap_or(0),
        failures: status.and_then(|s| s.install_failures).unwrap_or(0),
        ignore_tests: r.ignore_test_failures,
        remediate_last_failure: r.remediate_last_failure.unwrap_or(false),
        strategy: RemediationStrategy::Uninstall,
    }
}

/// The upgrade remediation of a HelmRelease (with its failure count).
pub fn upgrade_remediation(hr: &HelmRelease) -> Remediation {
    let r = hr
        .spec
        .upgrade
        .as_ref()
        .and_then(|i| i.remediation.clone())
        .unwrap_or_default();
    let status = hr.status.as_ref();
    let retries = r.retries.unwrap_or(0);
    Remediation {
        install: false,
        retries,
        failures: status.and_then(|s| s.upgrade_failures).unwrap_or(0),
        ignore_tests: r.ignore_test_failures,
        remediate_last_failure: r.remediate_last_failure.unwrap_or(retries > 0),
        strategy: r.strategy.unwrap_or(RemediationStrategy::Rollback),
    }
}

/// Whether the install or upgrade uses `RetryOnFailure` instead of remediation.
pub fn retry_on_failure(hr: &HelmRelease, install: bool) -> bool {
    let strategy = if install {
        hr.spec.install.as_ref().and_then(|i| i.strategy.as_ref())
    } else {
        hr.spec.upgrade.as_ref().and_then(|u| u.strategy.as_ref())
    };
    strategy.is_some_and(|s| s.name == StrategyName::RetryOnFailure)
}

/// `GetActiveRemediation`: the remediation of the last attempted action, none before any
/// action or under `RetryOnFailure`.
pub fn active_remediation(hr: &HelmRelease) -> Option<Remediation> {
    use helmrelease_crds::helmrelease::ReleaseAction;
    match hr.status.as_ref()?.last_attempted_release_action? {
        ReleaseAction::Install if !retry_on_failure(hr, true) => Some(install_remediation(hr)),
        ReleaseAction::Upgrade if !retry_on_failure(hr, false) => Some(upgrade_remediation(hr)),
        _ => None,
    }
}

/// `Failed to upgrade after 2 attempt(s)`: the Stalled message.
pub fn retries_exceeded_message(hr: &HelmRelease) -> String {
    let action = match hr
        .status
        .as_ref()
        .and_then(|s| s.last_attempted_release_action)
    {
        Some(helmrelease_crds::helmrelease::ReleaseAction::Install) => "install",
        Some(helmrelease_crds::helmrelease::ReleaseAction::Upgrade) => "upgrade",
        None => "",
    };
    let count = active_remediation(hr).map_or(0, |r| r.failures);
    format!("Failed to {action} after {count} attempt(s)")
}

fn upgrade_success_message(snapshot: &Snapshot) -> String {
    format!(
        "Helm upgrade succeeded for release {} with chart {}",
        history::full_release_name(snapshot),
        history::versioned_chart_name(snapshot)
    )
}

/// Picks the next action for `state`, updating the status as Flux does on the way.
/// `force` is an unhandled `reconcile.fluxcd.io/forceAt`; `verify_previous` checks a rollback
/// target in storage.
pub fn next_action(
    hr: &mut HelmRelease,
    conditions: &mut Conditions,
    state: &State,
    force: bool,
    verify_previous: impl FnOnce(&Snapshot) -> Target,
) -> Result<Option<Action>, Stop> {
    let test = hr.spec.test.clone().unwrap_or_default();
    let status = hr.status.get_or_insert_with(Default::default);
    match state {
        State::InSync | State::Untested => {
            if *state == State::InSync {
                let ignore = active_remediation(hr)
                    .map_or(test.ignore_failures == Some(true), |r| {
                        r.ignore_test_failures(test.ignore_failures == Some(true))
                    });
                let status = hr.status.get_or_insert_with(Default::default);
                if let Some(h) = status.history.as_mut() {
                    history::truncate(h, ignore);
                }
                if force {
                    return Ok(Some(Action::Upgrade));
                }
            }
            if conditions.is_true(REMEDIATED)
                && let Some(cur) = hr
                    .status
                    .as_ref()
                    .and_then(|s| s.history.as_deref())
                    .and_then(history::latest)
            {
                conditions.replace(
                    REMEDIATED,
                    RELEASED,
                    "UpgradeSucceeded",
                    &upgrade_success_message(cur),
                    ConditionStatus::True,
                );
            }
            Ok((*state == State::Untested).then_some(Action::Test))
        }
        State::Locked(_) => Ok(Some(Action::Unlock)),
        State::Absent(_) => {
            if !retry_on_failure(hr, true) && install_remediation(hr).retries_exhausted() && !force
            {
                return Err(Stop::RetriesExceeded("cannot install release".into()));
            }
            Ok(Some(Action::Install))
        }
        State::Unmanaged(_) => {
            status.history = None;
            Ok(Some(Action::Upgrade))
        }
        State::OutOfSync(_) => {
            if !retry_on_failure(hr, false) && upgrade_remediation(hr).retries_exhausted() && !force
            {
                return Err(Stop::RetriesExceeded("cannot upgrade release".into()));
            }
            Ok(Some(Action::Upgrade))
        }
        State::Drifted => Ok(must_correct_drift(hr).then_some(Action::CorrectDrift)),
        State::Failed(_) => {
            let Some(remediation) = active_remediation(hr) else {
                return Ok(Some(Action::Upgrade));
            };
            if remediation.failures <= 0 || force {
                return Ok(Some(Action::Upgrade));
            }
            if remediation.retries_exhausted() && !remediation.remediate_last_failure {
                return Err(Stop::RetriesExceeded(
                    "cannot remediate failed release".into(),
                ));
            }
            let ignore = remediation.ignore_test_failures(test.ignore_failures == Some(true));
            let status = hr.status.get_or_insert_with(Default::default);
            if let Some(h) = status.history.as_mut() {
                history::truncate(h, ignore);
            }
            match remediation.strategy {
                RemediationStrategy::Rollback => {
                    let previous = status
                        .history
                        .as_deref()
                        .and_then(|h| history::previous(h, ignore))
                        .cloned();
                    let verified = match previous.as_ref() {
                        Some(p) => verify_previous(p),
                        None => Target::Missing,
                    };
                    match verified {
                        Target::Ok => Ok(Some(Action::RollbackRemediation)),
                        Target::Missing => Err(Stop::MissingRollbackTarget(
                            "missing target release for rollback: cannot remediate failed release"
                                .into(),
                        )),
                        Target::Corrupt => Ok(Some(Action::Upgrade)),
                    }
                }
                RemediationStrategy::Uninstall => Ok(Some(Action::UninstallRemediation)),
            }
        }
    }
}

#[cfg(test)]
mod tests;
