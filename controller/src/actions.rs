//! The actions of the atomic release loop: each runs a Helm action through
//! `helmrelease-action`, then records its outcome on the object as helm-controller does
//! (conditions with Flux's reasons and messages, failure counters, test results, events).

use crate::conditions::{RELEASED, REMEDIATED, TEST_SUCCESS};
use crate::events::Meta;
use crate::reconcile::{Context, Parts};
use crate::spec::{count_failure, parse_duration};
use crate::state::{self, Action};
use crate::{Error, compose::Loaded, history};
use helmrelease_action::Actions;
use helmrelease_crds::helmrelease::{HelmRelease, ReleaseAction, Snapshot, TestHookStatus};
use helmrelease_release::{Release, StoredRelease};
use kube::ResourceExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// What an action did.
#[derive(Debug)]
pub struct Ran {
    /// The action's error, if it failed.
    pub error: Option<String>,
    /// The release the action left (a test's results), if it returns one.
    pub release: Option<Release>,
    /// For a rollback: the snapshot rolled back to.
    pub target: Option<Snapshot>,
    /// For drift correction: what was corrected.
    pub corrected: Vec<String>,
}

fn ran(result: Result<Option<Release>, helmrelease_action::Error>) -> Ran {
    match result {
        Ok(release) => Ran {
            error: None,
            release,
            target: None,
            corrected: Vec::new(),
        },
        Err(e) => Ran {
            error: Some(e.to_string()),
            release: None,
            target: None,
            corrected: Vec::new(),
        },
    }
}

/// `retryInterval` of a `RetryOnFailure` strategy for the action (default 5m), if it uses one.
pub fn retry_interval(hr: &HelmRelease, action: Action) -> Option<Duration> {
    let install = action == Action::Install;
    if !state::retry_on_failure(hr, install) {
        return None;
    }
    let strategy = if install {
        hr.spec.install.as_ref().and_then(|i| i.strategy.clone())
    } else {
        hr.spec.upgrade.as_ref().and_then(|u| u.strategy.clone())
    };
    Some(
        strategy
            .and_then(|s| s.retry_interval)
            .and_then(|d| parse_duration(&d))
            .unwrap_or(Duration::from_secs(300)),
    )
}

fn latest(hr: &HelmRelease) -> Option<Snapshot> {
    hr.status
        .as_ref()
        .and_then(|s| s.history.as_deref())
        .and_then(history::latest)
        .cloned()
}

/// Runs `action` against the cluster.
pub async fn run(
    ctx: &Context,
    parts: Parts<'_>,
    action: Action,
    loaded: &Loaded,
    releases: &[StoredRelease],
    drift: Option<&crate::drift::Drift>,
) -> Ran {
    let hr = parts.hr;
    let name = hr.helm_release_name();
    let client = match ctx.release_client(hr).await {
        Ok(c) => c,
        Err(e) => return ran(Err(helmrelease_action::Error::Invalid(e.to_string()))),
    };
    let actions = Actions::with_storage(
        client.clone(),
        &hr.helm_release_namespace(),
        &hr.helm_storage_namespace(),
        &ctx.settings.field_manager,
    )
    .with_kinds(ctx.kinds_for(hr));
    let options = crate::spec::action_options(hr, action, &ctx.settings.holder);
    let cancel = ctx.cancel.clone();
    let status = hr.status.get_or_insert_with(Default::default);
    match action {
        Action::Install | Action::Upgrade => {
            let upgrade = action == Action::Upgrade;
            status.last_attempted_release_action = Some(if upgrade {
                ReleaseAction::Upgrade
            } else {
                ReleaseAction::Install
            });
            if !upgrade {
                // An install starts a new history: never roll back past it.
                status.history = None;
            }
            parts.conditions.delete(TEST_SUCCESS);
            parts.conditions.delete(REMEDIATED);
            let revision = releases.last().map_or(1, |r| r.release.version + 1);
            let desired = match crate::compose::render(ctx, loaded, hr, upgrade, revision).await {
                Ok(d) => d,
                Err(e) => return ran(Err(helmrelease_action::Error::Invalid(e))),
            };
            let result = if upgrade {
                actions.upgrade(&name, &desired, &options, &cancel).await
            } else {
                actions.install(&name, &desired, &options, &cancel).await
            };
            ran(result.map(Some))
        }
        Action::Test => ran(actions.test(&name, &options, &cancel).await.map(Some)),
        Action::RollbackRemediation => {
            let test = hr.spec.test.clone().unwrap_or_default();
            let ignore = state::active_remediation(hr)
                .is_some_and(|r| r.ignore_test_failures(test.ignore_failures == Some(true)));
            let target = hr
                .status
                .as_ref()
                .and_then(|s| s.history.as_deref())
                .and_then(|h| history::previous(h, ignore))
                .cloned();
            let mut out = ran(actions
                .rollback(&name, target.as_ref().map(|t| t.version), &options, &cancel)
                .await
                .map(Some));
            out.target = target;
            out
        }
        Action::UninstallRemediation => {
            let keep = hr.spec.uninstall.as_ref().and_then(|u| u.keep_history) == Some(true);
            ran(actions
                .uninstall(&name, keep, &options, &cancel)
                .await
                .map(|()| None))
        }
        Action::Unlock => ran(actions
            .unlock(&name, &ctx.settings.holder)
            .await
            .map(|_| None)),
        Action::CorrectDrift => {
            let Some(drift) = drift else {
                return ran(Ok(None));
            };
            match crate::drift::correct(ctx, hr, &client, drift).await {
                Ok(corrected) => Ran {
                    corrected,
                    ..ran(Ok(None))
                },
                Err(e) => Ran {
                    error: Some(e.to_string()),
                    ..ran(Ok(None))
                },
            }
        }
    }
}

fn meta_of(snapshot: Option<&Snapshot>, loaded: &Loaded) -> Meta {
    match snapshot {
        Some(s) => Meta {
            revision: Some(s.chart_version.clone()),
            token: Some(s.config_digest.clone()),
            app_version: s.app_version.clone(),
            oci_digest: s.oci_digest.clone(),
        },
        None => Meta {
            revision: Some(loaded.chart_version.clone()),
            token: Some(loaded.config_digest.clone()),
            app_version: loaded.app_version.clone(),
            oci_digest: loaded.oci_digest.clone(),
        },
    }
}

/// A rollback's event annotations: the target's chart, but the token of the values the
/// HelmRelease asks for now, as helm-controller writes them.
fn rollback_meta(target: Option<&Snapshot>, loaded: &Loaded) -> Meta {
    Meta {
        token: Some(loaded.config_digest.clone()),
        ..meta_of(target, loaded)
    }
}

fn names(s: Option<&Snapshot>) -> (String, String) {
    s.map(|s| {
        (
            history::full_release_name(s),
            history::versioned_chart_name(s),
        )
    })
    .unwrap_or_default()
}

/// Records the outcome of `action` on the object. An error means the action changed nothing
/// in storage and should be retried; failures that wrote a release are recorded, not returned.
pub async fn conclude(
    parts: Parts<'_>,
    ctx: &Context,
    action: Action,
    loaded: &Loaded,
    ran: Ran,
    wrote: bool,
    after: &[StoredRelease],
) -> Result<(), Error> {
    let hr = parts.hr;
    let conds = parts.conditions;
    let test = hr.spec.test.clone().unwrap_or_default();
    let cur = latest(hr);
    let (full, chart) = names(cur.as_ref());
    match action {
        Action::Install | Action::Upgrade => {
            let (verb, reason_ok, reason_failed, kind) = if action == Action::Install {
                (
                    "install",
                    "InstallSucceeded",
                    "InstallFailed",
                    ReleaseAction::Install,
                )
            } else {
                (
                    "upgrade",
                    "UpgradeSucceeded",
                    "UpgradeFailed",
                    ReleaseAction::Upgrade,
                )
            };
            if let Some(error) = ran.error {
                let message = format!(
                    "Helm {verb} failed for release {}/{} with chart {}@{}: {}",
                    hr.helm_release_namespace(),
                    hr.helm_release_name(),
                    loaded.chart_name,
                    loaded.chart_version,
                    error.trim()
                );
                let status = hr.status.get_or_insert_with(Default::default);
                status.failures = Some(status.failures.unwrap_or(0) + 1);
                conds.mark_false(RELEASED, reason_failed, &message);
                ctx.events
                    .warning(hr, reason_failed, &message, meta_of(None, loaded))
                    .await;
                if !wrote {
                    return Err(Error::Reconcile(message));
                }
                count_failure(hr, kind);
                return Ok(());
            }
            let message = format!("Helm {verb} succeeded for release {full} with chart {chart}");
            conds.mark_true(RELEASED, reason_ok, &message);
            if test.enable == Some(true) && cur.as_ref().is_some_and(|c| c.test_hooks.is_none()) {
                conds.mark_unknown(
                    TEST_SUCCESS,
                    "AwaitingTests",
                    &format!("Helm release {full} with chart {chart} is awaiting tests"),
                );
            }
            if state::retry_on_failure(hr, action == Action::Install) {
                let status = hr.status.get_or_insert_with(Default::default);
                status.failures = None;
                status.install_failures = None;
                status.upgrade_failures = None;
            }
            ctx.events
                .normal(hr, reason_ok, &message, meta_of(cur.as_ref(), loaded))
                .await;
            Ok(())
        }
        Action::Test => {
            // The results go on the snapshot of the tested revision.
            let results = ran.release.as_ref().map(test_results).unwrap_or_default();
            let tested = ran.release.is_some() || ran.error.is_none();
            if let Some(status) = hr.status.as_mut()
                && let Some(snapshots) = status.history.as_mut()
                && let Some(top) = snapshots.iter_mut().max_by_key(|s| s.version)
                && (tested || !results.is_empty())
            {
                top.test_hooks = Some(results.clone());
            }
            let cur = latest(hr);
            if let Some(error) = ran.error {
                let message =
                    format!("Helm test failed for release {full} with chart {chart}: {error}");
                let status = hr.status.get_or_insert_with(Default::default);
                status.failures = Some(status.failures.unwrap_or(0) + 1);
                conds.mark_false(TEST_SUCCESS, "TestFailed", &message);
                ctx.events
                    .warning(hr, "TestFailed", &message, meta_of(cur.as_ref(), loaded))
                    .await;
                if let Some(r) = state::active_remediation(hr)
                    && !r.ignore_test_failures(test.ignore_failures == Some(true))
                {
                    count_failure(
                        hr,
                        if r.install {
                            ReleaseAction::Install
                        } else {
                            ReleaseAction::Upgrade
                        },
                    );
                }
                if cur.as_ref().is_none_or(|c| c.test_hooks.is_none()) {
                    return Err(Error::Reconcile(message));
                }
                return Ok(());
            }
            let hooks = if results.is_empty() {
                "no test hooks".to_string()
            } else {
                format!("{} test hook(s) completed successfully", results.len())
            };
            let message =
                format!("Helm test succeeded for release {full} with chart {chart}: {hooks}");
            conds.mark_true(TEST_SUCCESS, "TestSucceeded", &message);
            ctx.events
                .normal(hr, "TestSucceeded", &message, meta_of(cur.as_ref(), loaded))
                .await;
            Ok(())
        }
        Action::RollbackRemediation => {
            let (tfull, tchart) = names(ran.target.as_ref());
            if let Some(error) = ran.error {
                let message = format!(
                    "Helm rollback to previous release {tfull} with chart {tchart} failed: {error}"
                );
                conds.mark_false(REMEDIATED, "RollbackFailed", &message);
                ctx.events
                    .warning(
                        hr,
                        "RollbackFailed",
                        &message,
                        rollback_meta(ran.target.as_ref(), loaded),
                    )
                    .await;
                if !wrote {
                    return Err(Error::Reconcile(message));
                }
                return Ok(());
            }
            let message =
                format!("Helm rollback to previous release {tfull} with chart {tchart} succeeded");
            conds.mark_true(REMEDIATED, "RollbackSucceeded", &message);
            ctx.events
                .normal(
                    hr,
                    "RollbackSucceeded",
                    &message,
                    rollback_meta(ran.target.as_ref(), loaded),
                )
                .await;
            Ok(())
        }
        Action::UninstallRemediation => {
            if let Some(error) = ran.error {
                let message = format!(
                    "Helm uninstall remediation for release {full} with chart {chart} failed: {error}"
                );
                conds.mark_false(REMEDIATED, "UninstallFailed", &message);
                ctx.events
                    .warning(
                        hr,
                        "UninstallFailed",
                        &message,
                        meta_of(cur.as_ref(), loaded),
                    )
                    .await;
                if !wrote {
                    return Err(Error::Reconcile(message));
                }
                return Ok(());
            }
            // Storage without history keeps nothing to observe: the snapshot says what
            // happened.
            if after.is_empty()
                && let Some(status) = hr.status.as_mut()
                && let Some(top) = status
                    .history
                    .as_mut()
                    .and_then(|h| h.iter_mut().max_by_key(|s| s.version))
            {
                top.status = "uninstalled".into();
            }
            let message = format!(
                "Helm uninstall remediation for release {full} with chart {chart} succeeded"
            );
            conds.mark_true(REMEDIATED, "UninstallSucceeded", &message);
            ctx.events
                .normal(
                    hr,
                    "UninstallSucceeded",
                    &message,
                    meta_of(cur.as_ref(), loaded),
                )
                .await;
            Ok(())
        }
        Action::Unlock => {
            let pending = after
                .last()
                .map(|r| r.release.status().to_string())
                .unwrap_or_default();
            if let Some(error) = ran.error {
                let message = format!(
                    "Unlock of Helm release {full} with chart {chart} in {pending} state failed: {error}"
                );
                conds.mark_false(RELEASED, "PendingRelease", &message);
                ctx.events
                    .warning(hr, "PendingRelease", &message, Meta::default())
                    .await;
                return Err(Error::Reconcile(message));
            }
            let was = after
                .last()
                .map(|r| {
                    r.release
                        .description()
                        .trim_start_matches("Release unlocked from stale '")
                        .trim_end_matches("' state")
                        .to_string()
                })
                .unwrap_or_default();
            let message = format!("Unlocked Helm release {full} with chart {chart} in {was} state");
            conds.mark_false(RELEASED, "PendingRelease", &message);
            ctx.events
                .warning(
                    hr,
                    "PendingRelease",
                    &message,
                    meta_of(cur.as_ref(), loaded),
                )
                .await;
            Ok(())
        }
        Action::CorrectDrift => {
            if let Some(error) = ran.error {
                let message = format!(
                    "Failed to partially correct cluster state of release {full}:\n{error}"
                );
                ctx.events
                    .warning(
                        hr,
                        "DriftCorrectionFailed",
                        &message,
                        meta_of(cur.as_ref(), loaded),
                    )
                    .await;
                return Err(Error::Reconcile(message));
            }
            let message = format!(
                "Cluster state of release {full} has been corrected:\n{}",
                ran.corrected.join("\n")
            );
            ctx.events
                .normal(
                    hr,
                    "DriftCorrected",
                    &message,
                    meta_of(cur.as_ref(), loaded),
                )
                .await;
            Ok(())
        }
    }
}

/// The test hooks of a tested release, as `status.history[].testHooks` holds them.
fn test_results(release: &Release) -> BTreeMap<String, TestHookStatus> {
    release
        .hooks
        .iter()
        .filter(|h| h.events.iter().any(|e| e == "test"))
        .map(|h| {
            let run = h.last_run.clone().unwrap_or_default();
            (
                h.name.clone(),
                TestHookStatus {
                    last_started: non_empty(run.started_at),
                    last_completed: non_empty(run.completed_at),
                    phase: non_empty(Some(run.phase)),
                },
            )
        })
        .collect()
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty() && !s.starts_with("0001-01-01"))
}

/// The name of the object, for logs.
pub fn describe(hr: &HelmRelease) -> String {
    format!("{}/{}", hr.namespace().unwrap_or_default(), hr.name_any())
}
