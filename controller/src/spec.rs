//! What the HelmRelease spec and annotations say, as pure functions: durations as Go reads
//! and prints them, each action's timeout and Helm options, the reconcile-request
//! annotations, failure counting, and the status merge patch.

use crate::state::Action;
use helmrelease_action::{CrdPolicy, Options};
use helmrelease_crds::helmrelease::{
    CrdsPolicy, DeletionPropagation, HelmRelease, HelmReleaseStatus, ReleaseAction,
};
use kube::ResourceExt;
use kube::api::PropagationPolicy;
use serde_json::{Value, json};
use std::time::Duration;

/// `reconcile.fluxcd.io/requestedAt`.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// `reconcile.fluxcd.io/forceAt`.
pub const FORCE_AT: &str = "reconcile.fluxcd.io/forceAt";
/// `reconcile.fluxcd.io/resetAt`.
pub const RESET_AT: &str = "reconcile.fluxcd.io/resetAt";

/// Go's `time.ParseDuration` for the durations Flux's API allows (`1h2m3.5s`, `100ms`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (scale, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else {
            return None;
        };
        total += number * scale;
        rest = &rest[len..];
    }
    Some(Duration::from_secs_f64(total))
}

/// Go's `Duration.String` (`5m0s`, `1h0m0s`, `30s`, `1.5s`), as Flux prints timeouts.
pub fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let frac = d.subsec_millis();
    if secs == 0 && frac == 0 {
        return "0s".into();
    }
    if secs == 0 {
        return format!("{frac}ms");
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let s = if frac > 0 {
        format!("{s}.{}", format!("{frac:03}").trim_end_matches('0'))
    } else {
        s.to_string()
    };
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

pub fn interval(hr: &HelmRelease) -> Duration {
    parse_duration(&hr.spec.interval).unwrap_or(Duration::from_secs(600))
}

/// The timeout of an action: its own, else `spec.timeout`, else 5m.
pub fn timeout_for(hr: &HelmRelease, action: Action) -> Duration {
    let spec = &hr.spec;
    let own = match action {
        Action::Install => spec.install.as_ref().and_then(|i| i.timeout.clone()),
        Action::Upgrade => spec.upgrade.as_ref().and_then(|u| u.timeout.clone()),
        Action::Test => spec.test.as_ref().and_then(|t| t.timeout.clone()),
        Action::RollbackRemediation => spec.rollback.as_ref().and_then(|r| r.timeout.clone()),
        Action::UninstallRemediation => spec.uninstall.as_ref().and_then(|u| u.timeout.clone()),
        Action::Unlock | Action::CorrectDrift => None,
    };
    own.or_else(|| spec.timeout.clone())
        .and_then(|t| parse_duration(&t))
        .unwrap_or(Duration::from_secs(300))
}

pub fn annotation(hr: &HelmRelease, key: &str) -> Option<String> {
    hr.annotations().get(key).cloned()
}

/// An unhandled `forceAt` (it only counts with a matching `requestedAt`, as in Flux).
pub fn force_requested(hr: &HelmRelease) -> bool {
    let status = hr.status.clone().unwrap_or_default();
    match (annotation(hr, FORCE_AT), annotation(hr, REQUESTED_AT)) {
        (Some(force), Some(requested)) => {
            force == requested && status.last_handled_force_at.as_deref() != Some(force.as_str())
        }
        _ => false,
    }
}

/// An unhandled `resetAt` (with a matching `requestedAt`).
pub fn reset_requested(hr: &HelmRelease) -> bool {
    let status = hr.status.clone().unwrap_or_default();
    match (annotation(hr, RESET_AT), annotation(hr, REQUESTED_AT)) {
        (Some(reset), Some(requested)) => {
            reset == requested && status.last_handled_reset_at.as_deref() != Some(reset.as_str())
        }
        _ => false,
    }
}

/// The merge patch that turns `old` status into `new` (removed fields become null).
pub fn status_patch(old: &Option<HelmReleaseStatus>, new: &Option<HelmReleaseStatus>) -> Value {
    let old = serde_json::to_value(old).unwrap_or(Value::Null);
    let new = serde_json::to_value(new).unwrap_or(Value::Null);
    let mut patch = serde_json::Map::new();
    let empty = serde_json::Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new_map = new.as_object().unwrap_or(&empty);
    for (k, v) in new_map {
        if old.get(k) != Some(v) {
            patch.insert(k.clone(), v.clone());
        }
    }
    for k in old.keys() {
        if !new_map.contains_key(k) {
            patch.insert(k.clone(), Value::Null);
        }
    }
    json!({ "status": patch })
}

/// The options of a Helm action as the HelmRelease sets them (Flux's defaults: wait,
/// wait for Jobs, CRDs created on install and skipped on upgrade, 5 revisions kept).
/// `holder` names us in the lock record of a pending release.
pub fn action_options(hr: &HelmRelease, action: Action, holder: &str) -> Options {
    let spec = &hr.spec;
    let mut options = Options {
        timeout: timeout_for(hr, action),
        max_history: spec.max_history.map_or(5, |m| m.max(0) as usize),
        lock_holder: holder.to_string(),
        ..Options::default()
    };
    let crds = |p: Option<CrdsPolicy>, default: CrdPolicy| match p {
        Some(CrdsPolicy::Skip) => CrdPolicy::Skip,
        Some(CrdsPolicy::Create) => CrdPolicy::Create,
        Some(CrdsPolicy::CreateReplace) => CrdPolicy::CreateReplace,
        None => default,
    };
    match action {
        Action::Install => {
            let i = spec.install.clone().unwrap_or_default();
            options.wait = i.disable_wait != Some(true);
            options.wait_for_jobs = i.disable_wait_for_jobs != Some(true);
            options.disable_hooks = i.disable_hooks == Some(true);
            options.create_namespace = i.create_namespace == Some(true);
            let default = if i.skip_crds == Some(true) {
                CrdPolicy::Skip
            } else {
                CrdPolicy::Create
            };
            options.crds = crds(i.crds, default);
        }
        Action::Upgrade => {
            let u = spec.upgrade.clone().unwrap_or_default();
            options.wait = u.disable_wait != Some(true);
            options.wait_for_jobs = u.disable_wait_for_jobs != Some(true);
            options.disable_hooks = u.disable_hooks == Some(true);
            options.cleanup_on_fail = u.cleanup_on_fail == Some(true);
            options.crds = crds(u.crds, CrdPolicy::Skip);
        }
        Action::RollbackRemediation => {
            let r = spec.rollback.clone().unwrap_or_default();
            options.wait = r.disable_wait != Some(true);
            options.wait_for_jobs = r.disable_wait_for_jobs != Some(true);
            options.disable_hooks = r.disable_hooks == Some(true);
            options.cleanup_on_fail = r.cleanup_on_fail == Some(true);
        }
        Action::UninstallRemediation => {
            let u = spec.uninstall.clone().unwrap_or_default();
            options.deletion_propagation = match u.deletion_propagation {
                Some(DeletionPropagation::Foreground) => PropagationPolicy::Foreground,
                Some(DeletionPropagation::Orphan) => PropagationPolicy::Orphan,
                Some(DeletionPropagation::Background) | None => PropagationPolicy::Background,
            };
            options.wait = u.disable_wait != Some(true);
            options.disable_hooks = u.disable_hooks == Some(true);
        }
        Action::Test => {
            for filter in spec
                .test
                .as_ref()
                .and_then(|t| t.filters.clone())
                .unwrap_or_default()
            {
                if filter.exclude == Some(true) {
                    options.test_filter.exclude.push(filter.name);
                } else {
                    options.test_filter.include.push(filter.name);
                }
            }
        }
        Action::Unlock | Action::CorrectDrift => {}
    }
    options
}

/// Flux's install/upgrade failure counters by action.
pub fn count_failure(hr: &mut HelmRelease, action: ReleaseAction) {
    let status = hr.status.get_or_insert_with(Default::default);
    match action {
        ReleaseAction::Install => {
            status.install_failures = Some(status.install_failures.unwrap_or(0) + 1)
        }
        ReleaseAction::Upgrade => {
            status.upgrade_failures = Some(status.upgrade_failures.unwrap_or(0) + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmrelease_crds::helmrelease::Snapshot;

    #[test]
    fn durations_read_and_print_as_go_does() {
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(
            parse_duration("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(parse_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn status_patches_null_what_was_removed() {
        let old = Some(HelmReleaseStatus {
            history: Some(vec![Snapshot::default()]),
            failures: Some(2),
            ..HelmReleaseStatus::default()
        });
        let new = Some(HelmReleaseStatus {
            failures: Some(2),
            observed_generation: Some(3),
            ..HelmReleaseStatus::default()
        });
        assert_eq!(
            status_patch(&old, &new),
            json!({"status": {"history": null, "observedGeneration": 3}})
        );
    }

    fn with_annotations(pairs: &[(&str, &str)]) -> HelmRelease {
        let mut hr = HelmRelease::new("web", Default::default());
        for (k, v) in pairs {
            hr.annotations_mut().insert(k.to_string(), v.to_string());
        }
        hr
    }

    #[test]
    fn force_and_reset_count_only_with_a_matching_request_once() {
        let hr = with_annotations(&[(FORCE_AT, "1"), (REQUESTED_AT, "1")]);
        assert!(force_requested(&hr));
        let stale = with_annotations(&[(FORCE_AT, "1"), (REQUESTED_AT, "2")]);
        assert!(
            !force_requested(&stale),
            "forceAt needs the same requestedAt"
        );
        let mut handled = hr.clone();
        handled.status = Some(HelmReleaseStatus {
            last_handled_force_at: Some("1".into()),
            ..HelmReleaseStatus::default()
        });
        assert!(!force_requested(&handled));
        let reset = with_annotations(&[(RESET_AT, "r"), (REQUESTED_AT, "r")]);
        assert!(reset_requested(&reset));
        assert!(!force_requested(&reset));
    }

    #[test]
    fn action_options_follow_flux_defaults_and_the_spec() {
        let hr = HelmRelease::new("web", Default::default());
        let install = action_options(&hr, Action::Install, "me");
        assert_eq!(install.crds, CrdPolicy::Create);
        assert!(install.wait && install.wait_for_jobs);
        assert_eq!(install.max_history, 5);
        assert_eq!(install.timeout, Duration::from_secs(300));
        assert_eq!(install.lock_holder, "me");
        assert_eq!(
            action_options(&hr, Action::Upgrade, "me").crds,
            CrdPolicy::Skip
        );
        let mut hr = hr;
        hr.spec.timeout = Some("1m".into());
        hr.spec.max_history = Some(0);
        hr.spec.upgrade = Some(helmrelease_crds::helmrelease::Upgrade {
            timeout: Some("10s".into()),
            disable_wait: Some(true),
            crds: Some(CrdsPolicy::CreateReplace),
            ..Default::default()
        });
        let upgrade = action_options(&hr, Action::Upgrade, "me");
        assert_eq!(upgrade.timeout, Duration::from_secs(10));
        assert!(!upgrade.wait);
        assert_eq!(upgrade.crds, CrdPolicy::CreateReplace);
        assert_eq!(upgrade.max_history, 0);
        assert_eq!(
            action_options(&hr, Action::Install, "me").timeout,
            Duration::from_secs(60)
        );
    }
}
