//! `status.history`: the HelmRelease's snapshots of the releases it made, newest first, with
//! the queries and truncation helm-controller applies to them.

use helmrelease_crds::helmrelease::Snapshot;

/// Without a previous successful snapshot, history is capped at this many.
pub const DEFAULT_MAX: usize = 5;

fn by_version_desc(snapshots: &mut [Snapshot]) {
    snapshots.sort_by_key(|s| std::cmp::Reverse(s.version));
}

/// The newest snapshot.
pub fn latest(snapshots: &[Snapshot]) -> Option<&Snapshot> {
    snapshots.iter().max_by_key(|s| s.version)
}

/// Whether a snapshot's tests include one in `phase`.
pub fn has_test_in_phase(snapshot: &Snapshot, phase: &str) -> bool {
    snapshot
        .test_hooks
        .as_ref()
        .is_some_and(|hooks| hooks.values().any(|h| h.phase.as_deref() == Some(phase)))
}

fn successful(snapshot: &Snapshot, ignore_tests: bool) -> bool {
    (snapshot.status == "deployed" || snapshot.status == "superseded")
        && (ignore_tests || !has_test_in_phase(snapshot, "Failed"))
}

/// The newest snapshot before the latest that was deployed or superseded (and, unless test
/// failures are ignored, did not fail its tests): the rollback target.
pub fn previous(snapshots: &[Snapshot], ignore_tests: bool) -> Option<&Snapshot> {
    let mut sorted: Vec<&Snapshot> = snapshots.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.version));
    sorted
        .into_iter()
        .skip(1)
        .find(|s| successful(s, ignore_tests))
}

/// Keeps the snapshots down to the previous successful one; without one, the newest five.
pub fn truncate(snapshots: &mut Vec<Snapshot>, ignore_tests: bool) {
    if snapshots.len() < 2 {
        return;
    }
    by_version_desc(snapshots);
    if let Some(i) = snapshots
        .iter()
        .skip(1)
        .position(|s| successful(s, ignore_tests))
    {
        snapshots.truncate(i + 2);
        return;
    }
    snapshots.truncate(DEFAULT_MAX);
}

/// `RetryOnFailure` keeps only the newest five, whatever they are.
pub fn truncate_ignoring_previous(snapshots: &mut Vec<Snapshot>) {
    by_version_desc(snapshots);
    snapshots.truncate(DEFAULT_MAX);
}

/// `<namespace>/<name>.v<version>`.
pub fn full_release_name(s: &Snapshot) -> String {
    format!("{}/{}.v{}", s.namespace, s.name, s.version)
}

/// `<chart>@<version>`.
pub fn versioned_chart_name(s: &Snapshot) -> String {
    format!("{}@{}", s.chart_name, s.chart_version)
}

/// Adds a snapshot of a new revision at the front, or refreshes the snapshot of a revision
/// already there (an older revision's status changes when a newer one supersedes it); test
/// results and the OCI digest of a refreshed snapshot are kept.
pub fn record(snapshots: &mut Vec<Snapshot>, snapshot: Snapshot) {
    if let Some(existing) = snapshots.iter_mut().find(|s| {
        s.name == snapshot.name
            && s.namespace == snapshot.namespace
            && s.version == snapshot.version
    }) {
        let test_hooks = existing.test_hooks.take();
        let oci = existing.oci_digest.take();
        *existing = Snapshot {
            test_hooks: snapshot.test_hooks.or(test_hooks),
            oci_digest: snapshot.oci_digest.or(oci),
            ..snapshot
        };
        return;
    }
    snapshots.insert(0, snapshot);
    by_version_desc(snapshots);
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmrelease_crds::helmrelease::TestHookStatus;

    fn snap(version: i64, status: &str) -> Snapshot {
        Snapshot {
            name: "app".into(),
            namespace: "ns".into(),
            version,
            status: status.into(),
            ..Snapshot::default()
        }
    }

    fn failed_tests(mut s: Snapshot) -> Snapshot {
        s.test_hooks = Some(
            [(
                "t".to_string(),
                TestHookStatus {
                    phase: Some("Failed".into()),
                    ..TestHookStatus::default()
                },
            )]
            .into(),
        );
        s
    }

    #[test]
    fn previous_skips_failed_and_failed_tests() {
        let h = vec![
            snap(4, "failed"),
            failed_tests(snap(3, "superseded")),
            snap(2, "superseded"),
            snap(1, "superseded"),
        ];
        assert_eq!(previous(&h, false).map(|s| s.version), Some(2));
        assert_eq!(previous(&h, true).map(|s| s.version), Some(3));
        assert_eq!(previous(&h[..1], false), None);
    }

    #[test]
    fn truncate_keeps_down_to_the_previous_success_or_five() {
        let mut h = vec![
            snap(3, "deployed"),
            snap(2, "superseded"),
            snap(1, "superseded"),
        ];
        truncate(&mut h, false);
        assert_eq!(h.iter().map(|s| s.version).collect::<Vec<_>>(), [3, 2]);
        let mut h: Vec<Snapshot> = (1..=7).rev().map(|v| snap(v, "failed")).collect();
        truncate(&mut h, false);
        assert_eq!(
            h.iter().map(|s| s.version).collect::<Vec<_>>(),
            [7, 6, 5, 4, 3]
        );
    }

    #[test]
    fn record_refreshes_a_known_revision_and_keeps_its_tests() {
        let mut h = vec![failed_tests(snap(1, "deployed"))];
        record(&mut h, snap(2, "deployed"));
        record(&mut h, snap(1, "superseded"));
        assert_eq!(h[0].version, 2);
        assert_eq!(h[1].status, "superseded");
        assert!(has_test_in_phase(&h[1], "Failed"));
    }
}
