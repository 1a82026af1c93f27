//! Table-driven cases for every release status and every state's next action.

use super::*;
use helmrelease_crds::helmrelease::{
    HelmReleaseSpec, HelmReleaseStatus, Install, InstallRemediation, ReleaseAction, Snapshot, Test,
    TestHookStatus, Upgrade, UpgradeRemediation,
};

fn observed(version: i64, status: Status) -> Observed {
    Observed {
        name: "app".into(),
        namespace: "ns".into(),
        version,
        status,
        digest: format!("sha256:d{version}"),
        chart_name: "webapp".into(),
        chart_version: "1.0.0".into(),
    }
}

fn snapshot(version: i64, status: &str) -> Snapshot {
    Snapshot {
        digest: format!("sha256:d{version}"),
        name: "app".into(),
        namespace: "ns".into(),
        version,
        status: status.into(),
        chart_name: "webapp".into(),
        chart_version: "1.0.0".into(),
        config_digest: "sha256:c".into(),
        ..Snapshot::default()
    }
}

fn wanted() -> Wanted {
    Wanted {
        chart_name: "webapp".into(),
        chart_version: "1.0.0".into(),
        config_digest: "sha256:c".into(),
        post_render_changed: false,
    }
}

fn hr(history: Vec<Snapshot>) -> HelmRelease {
    let mut hr = HelmRelease::new("app", HelmReleaseSpec::default());
    hr.status = Some(HelmReleaseStatus {
        history: (!history.is_empty()).then_some(history),
        ..HelmReleaseStatus::default()
    });
    hr
}

#[test]
fn states_by_storage_and_history() {
    let cases: Vec<(&str, HelmRelease, Option<Observed>, Wanted, &str)> = vec![
        ("nothing stored", hr(vec![]), None, wanted(), "Absent"),
        (
            "pending",
            hr(vec![snapshot(1, "deployed")]),
            Some(observed(2, Status::PendingUpgrade)),
            wanted(),
            "Locked",
        ),
        (
            "no history, deployed",
            hr(vec![]),
            Some(observed(1, Status::Deployed)),
            wanted(),
            "Unmanaged",
        ),
        (
            "no history, uninstalled",
            hr(vec![]),
            Some(observed(1, Status::Uninstalled)),
            wanted(),
            "Absent",
        ),
        (
            "someone else's revision",
            hr(vec![snapshot(1, "deployed")]),
            Some(observed(2, Status::Deployed)),
            wanted(),
            "Unmanaged",
        ),
        (
            "changed behind our back",
            hr(vec![Snapshot {
                digest: "sha256:other".into(),
                ..snapshot(1, "deployed")
            }]),
            Some(observed(1, Status::Deployed)),
            wanted(),
            "Unmanaged",
        ),
        (
            "failed",
            hr(vec![snapshot(1, "failed")]),
            Some(observed(1, Status::Failed)),
            wanted(),
            "Failed",
        ),
        (
            "uninstalled",
            hr(vec![snapshot(1, "uninstalled")]),
            Some(observed(1, Status::Uninstalled)),
            wanted(),
            "Absent",
        ),
        (
            "in sync",
            hr(vec![snapshot(1, "deployed")]),
            Some(observed(1, Status::Deployed)),
            wanted(),
            "InSync",
        ),
        (
            "new chart version",
            hr(vec![snapshot(1, "deployed")]),
            Some(observed(1, Status::Deployed)),
            Wanted {
                chart_version: "1.1.0".into(),
                ..wanted()
            },
            "OutOfSync",
        ),
        (
            "new values",
            hr(vec![snapshot(1, "deployed")]),
            Some(observed(1, Status::Deployed)),
            Wanted {
                config_digest: "sha256:new".into(),
                ..wanted()
            },
            "OutOfSync",
        ),
        (
            "new post-renderers",
            hr(vec![snapshot(1, "deployed")]),
            Some(observed(1, Status::Deployed)),
            Wanted {
                post_render_changed: true,
                ..wanted()
            },
            "OutOfSync",
        ),
    ];
    for (what, hr, latest, wanted, expected) in cases {
        let state = determine(&hr, latest.as_ref(), &wanted);
        assert_eq!(
            state.as_ref().map(State::name),
            Ok(expected),
            "{what}: {state:?}"
        );
    }
}

#[test]
fn statuses_it_cannot_act_on_are_errors() {
    for status in [Status::Superseded, Status::Uninstalling, Status::Unknown] {
        let got = determine(
            &hr(vec![snapshot(1, status.as_str())]),
            Some(&observed(1, status.clone())),
            &wanted(),
        );
        assert!(got.is_err(), "{status}: {got:?}");
    }
}

fn with_tests(mut hr: HelmRelease, ignore: bool) -> HelmRelease {
    hr.spec.test = Some(Test {
        enable: Some(true),
        ignore_failures: Some(ignore),
        ..Test::default()
    });
    hr
}

#[test]
fn tests_make_untested_then_failed() {
    let untested = with_tests(hr(vec![snapshot(1, "deployed")]), false);
    let got = determine(&untested, Some(&observed(1, Status::Deployed)), &wanted());
    assert_eq!(got, Ok(State::Untested));

    let mut failed = snapshot(1, "deployed");
    failed.test_hooks = Some(
        [(
            "t".to_string(),
            TestHookStatus {
                phase: Some("Failed".into()),
                ..TestHookStatus::default()
            },
        )]
        .into(),
    );
    let mut tested = with_tests(hr(vec![failed]), false);
    // Without an active remediation a test failure does not fail the release.
    let got = determine(&tested, Some(&observed(1, Status::Deployed)), &wanted());
    assert_eq!(got, Ok(State::InSync));
    if let Some(s) = tested.status.as_mut() {
        s.last_attempted_release_action = Some(ReleaseAction::Install);
    }
    let got = determine(&tested, Some(&observed(1, Status::Deployed)), &wanted());
    assert!(matches!(got, Ok(State::Failed(_))), "{got:?}");
    let ignoring = with_tests(tested, true);
    let got = determine(&ignoring, Some(&observed(1, Status::Deployed)), &wanted());
    assert_eq!(got, Ok(State::InSync));
}

fn conditions() -> Conditions {
    Conditions::new(Vec::new(), 1, "2026-01-01T00:00:00Z")
}

fn next(
    hr: &mut HelmRelease,
    state: State,
    force: bool,
    target: Target,
) -> Result<Option<Action>, Stop> {
    next_action(hr, &mut conditions(), &state, force, |_| target)
}

fn failing(action: ReleaseAction, failures: i64) -> HelmRelease {
    let mut hr = hr(vec![snapshot(2, "failed"), snapshot(1, "superseded")]);
    if let Some(s) = hr.status.as_mut() {
        s.last_attempted_release_action = Some(action);
        s.install_failures = Some(failures);
        s.upgrade_failures = Some(failures);
    }
    hr
}

#[test]
fn actions_by_state() {
    let absent = State::Absent(String::new());
    assert_eq!(
        next(&mut hr(vec![]), absent.clone(), false, Target::Ok),
        Ok(Some(Action::Install))
    );
    assert_eq!(
        next(
            &mut hr(vec![]),
            State::Locked(String::new()),
            false,
            Target::Ok
        ),
        Ok(Some(Action::Unlock))
    );
    let mut unmanaged = hr(vec![snapshot(1, "deployed")]);
    assert_eq!(
        next(
            &mut unmanaged,
            State::Unmanaged(String::new()),
            false,
            Target::Ok
        ),
        Ok(Some(Action::Upgrade))
    );
    assert_eq!(
        unmanaged.status.and_then(|s| s.history),
        None,
        "history cleared"
    );
    assert_eq!(
        next(
            &mut hr(vec![]),
            State::OutOfSync(String::new()),
            false,
            Target::Ok
        ),
        Ok(Some(Action::Upgrade))
    );
    assert_eq!(
        next(&mut hr(vec![]), State::InSync, false, Target::Ok),
        Ok(None)
    );
    assert_eq!(
        next(&mut hr(vec![]), State::InSync, true, Target::Ok),
        Ok(Some(Action::Upgrade)),
        "forceAt upgrades an in-sync release"
    );
    assert_eq!(
        next(&mut hr(vec![]), State::Untested, false, Target::Ok),
        Ok(Some(Action::Test))
    );
    assert_eq!(
        next(&mut hr(vec![]), State::Drifted, false, Target::Ok),
        Ok(None),
        "drift off or warn"
    );
}

#[test]
fn install_retries_exhausted_stall_unless_forced() {
    let mut exhausted = failing(ReleaseAction::Install, 1);
    let got = next(
        &mut exhausted,
        State::Absent(String::new()),
        false,
        Target::Ok,
    );
    assert!(matches!(got, Err(Stop::RetriesExceeded(_))), "{got:?}");
    let got = next(
        &mut exhausted,
        State::Absent(String::new()),
        true,
        Target::Ok,
    );
    assert_eq!(got, Ok(Some(Action::Install)));
    exhausted.spec.install = Some(Install {
        remediation: Some(InstallRemediation {
            retries: Some(3),
            ..InstallRemediation::default()
        }),
        ..Install::default()
    });
    let got = next(
        &mut exhausted,
        State::Absent(String::new()),
        false,
        Target::Ok,
    );
    assert_eq!(got, Ok(Some(Action::Install)));
}

#[test]
fn failed_releases_are_remediated_by_strategy() {
    // Failures since the inputs changed: upgrade again.
    assert_eq!(
        next(
            &mut failing(ReleaseAction::Upgrade, 0),
            State::Failed(String::new()),
            false,
            Target::Ok
        ),
        Ok(Some(Action::Upgrade))
    );
    // Default upgrade remediation: 0 retries, remediateLastFailure false: stall.
    let got = next(
        &mut failing(ReleaseAction::Upgrade, 1),
        State::Failed(String::new()),
        false,
        Target::Ok,
    );
    assert!(matches!(got, Err(Stop::RetriesExceeded(_))), "{got:?}");
    // With retries: roll back to the previous release, if it is there.
    let mut retrying = failing(ReleaseAction::Upgrade, 1);
    retrying.spec.upgrade = Some(Upgrade {
        remediation: Some(UpgradeRemediation {
            retries: Some(2),
            ..UpgradeRemediation::default()
        }),
        ..Upgrade::default()
    });
    assert_eq!(
        next(
            &mut retrying.clone(),
            State::Failed(String::new()),
            false,
            Target::Ok
        ),
        Ok(Some(Action::RollbackRemediation))
    );
    let got = next(
        &mut retrying.clone(),
        State::Failed(String::new()),
        false,
        Target::Missing,
    );
    assert!(
        matches!(got, Err(Stop::MissingRollbackTarget(_))),
        "{got:?}"
    );
    assert_eq!(
        next(
            &mut retrying.clone(),
            State::Failed(String::new()),
            false,
            Target::Corrupt
        ),
        Ok(Some(Action::Upgrade))
    );
    // An install failure is remediated by uninstalling.
    let mut install = failing(ReleaseAction::Install, 1);
    install.spec.install = Some(Install {
        remediation: Some(InstallRemediation {
            retries: Some(1),
            ..InstallRemediation::default()
        }),
        ..Install::default()
    });
    assert_eq!(
        next(
            &mut install,
            State::Failed(String::new()),
            false,
            Target::Ok
        ),
        Ok(Some(Action::UninstallRemediation))
    );
}

#[test]
fn retries_exceeded_message_counts_the_attempts() {
    let hr = failing(ReleaseAction::Upgrade, 3);
    assert_eq!(
        retries_exceeded_message(&hr),
        "Failed to upgrade after 3 attempt(s)"
    );
}
