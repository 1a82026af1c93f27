//! Status conditions as Flux's `fluxcd/pkg/runtime/conditions` keeps them: a condition's
//! `lastTransitionTime` changes only when its state (status, reason, message) does; every
//! write records the object's generation; the list is ordered Stalled, Reconciling, Ready,
//! then by newest observedGeneration and type, so `kubectl get` and `flux get` read them alike.

use helmrelease_crds::meta::{Condition, ConditionStatus};

/// `Ready`.
pub const READY: &str = "Ready";
/// `Released`.
pub const RELEASED: &str = "Released";
/// `Remediated`.
pub const REMEDIATED: &str = "Remediated";
/// `TestSuccess`.
pub const TEST_SUCCESS: &str = "TestSuccess";
/// `Reconciling` (present only while true).
pub const RECONCILING: &str = "Reconciling";
/// `Stalled` (present only while true).
pub const STALLED: &str = "Stalled";
/// `Drifted` (only with drift detection on).
pub const DRIFTED: &str = "Drifted";

/// The conditions the HelmRelease reconciler owns (a status patch replaces exactly these).
pub const OWNED: [&str; 7] = [
    RELEASED,
    REMEDIATED,
    TEST_SUCCESS,
    RECONCILING,
    READY,
    STALLED,
    DRIFTED,
];

/// A list of conditions with Flux's setter semantics. `now` is passed in so the core stays
/// pure and tests are exact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    /// The conditions, in Flux's order.
    pub list: Vec<Condition>,
    /// Generation of the object, recorded in every condition set.
    pub generation: i64,
    /// RFC 3339 time stamped on conditions whose state changes.
    pub now: String,
}

fn weight(kind: &str) -> Option<u8> {
    match kind {
        STALLED => Some(0),
        RECONCILING => Some(1),
        READY => Some(2),
        _ => None,
    }
}

fn order(a: &Condition, b: &Condition) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (weight(&a.type_), weight(&b.type_)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => b
            .observed_generation
            .cmp(&a.observed_generation)
            .then_with(|| a.type_.cmp(&b.type_)),
    }
}

impl Conditions {
    /// Conditions of an object at `generation`, stamped at `now`.
    pub fn new(list: Vec<Condition>, generation: i64, now: impl Into<String>) -> Conditions {
        Conditions {
            list,
            generation,
            now: now.into(),
        }
    }

    /// The condition of this type.
    pub fn get(&self, kind: &str) -> Option<&Condition> {
        self.list.iter().find(|c| c.type_ == kind)
    }

    /// Whether the condition is present and True.
    pub fn is_true(&self, kind: &str) -> bool {
        self.get(kind)
            .is_some_and(|c| c.status == ConditionStatus::True)
    }

    /// The condition's message, or empty.
    pub fn message(&self, kind: &str) -> String {
        self.get(kind)
            .map(|c| c.message.clone())
            .unwrap_or_default()
    }

    /// Sets a condition; its transition time moves only when its state changes.
    pub fn set(&mut self, kind: &str, status: ConditionStatus, reason: &str, message: &str) {
        let mut condition = Condition {
            type_: kind.to_string(),
            status,
            observed_generation: Some(self.generation),
            last_transition_time: self.now.clone(),
            reason: reason.to_string(),
            message: message.to_string(),
        };
        if let Some(existing) = self.list.iter_mut().find(|c| c.type_ == kind) {
            if existing.status == status && existing.reason == reason && existing.message == message
            {
                condition.last_transition_time = existing.last_transition_time.clone();
            }
            *existing = condition;
        } else {
            self.list.push(condition);
        }
        self.list.sort_by(order);
    }

    /// `MarkTrue`.
    pub fn mark_true(&mut self, kind: &str, reason: &str, message: &str) {
        self.set(kind, ConditionStatus::True, reason, message);
    }

    /// `MarkFalse`.
    pub fn mark_false(&mut self, kind: &str, reason: &str, message: &str) {
        self.set(kind, ConditionStatus::False, reason, message);
    }

    /// `MarkUnknown`.
    pub fn mark_unknown(&mut self, kind: &str, reason: &str, message: &str) {
        self.set(kind, ConditionStatus::Unknown, reason, message);
    }

    /// `MarkReconciling`: Reconciling=True.
    pub fn mark_reconciling(&mut self, reason: &str, message: &str) {
        self.mark_true(RECONCILING, reason, message);
    }

    /// `MarkStalled`: Stalled=True, and Reconciling is dropped (a stalled object is not
    /// progressing).
    pub fn mark_stalled(&mut self, reason: &str, message: &str) {
        self.delete(RECONCILING);
        self.mark_true(STALLED, reason, message);
    }

    /// Removes a condition.
    pub fn delete(&mut self, kind: &str) {
        self.list.retain(|c| c.type_ != kind);
    }

    /// Replaces `target` (if present) by `replacement` with a new state, keeping the
    /// target's transition time, as Flux does when an in-sync release ends a remediation.
    pub fn replace(
        &mut self,
        target: &str,
        replacement: &str,
        reason: &str,
        message: &str,
        status: ConditionStatus,
    ) {
        let Some(mut condition) = self.get(target).cloned() else {
            return;
        };
        self.delete(replacement);
        self.delete(target);
        condition.type_ = replacement.to_string();
        condition.status = status;
        condition.reason = reason.to_string();
        condition.message = message.to_string();
        condition.observed_generation = Some(self.generation);
        self.list.push(condition);
        self.list.sort_by(order);
    }

    /// Flux's `summarize`: Ready mirrors the most important of Remediated, TestSuccess (when
    /// tests are on and failures count) and Released, newest generation first; a remediation
    /// is never Ready. A true Ready clears Stalled.
    pub fn summarize(&mut self, tests_enabled: bool, ignore_test_failures: bool) {
        let order: &[&str] = if tests_enabled && !ignore_test_failures {
            &[REMEDIATED, TEST_SUCCESS, RELEASED]
        } else {
            &[REMEDIATED, RELEASED]
        };
        if !tests_enabled {
            self.delete(TEST_SUCCESS);
        }
        let rank = |c: &Condition| order.iter().position(|k| *k == c.type_);
        let mut best: Option<&Condition> = None;
        for c in &self.list {
            let Some(r) = rank(c) else { continue };
            best = match best {
                None => Some(c),
                Some(b) => {
                    let rb = rank(b).unwrap_or(usize::MAX);
                    let newer = c.observed_generation > b.observed_generation;
                    let same = c.observed_generation == b.observed_generation;
                    if newer || (same && r < rb) {
                        Some(c)
                    } else {
                        Some(b)
                    }
                }
            };
        }
        let Some(best) = best.cloned() else {
            return;
        };
        let status = if best.type_ == REMEDIATED {
            ConditionStatus::False
        } else {
            best.status
        };
        if status == ConditionStatus::True {
            self.delete(STALLED);
        }
        self.set(READY, status, &best.reason, &best.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conditions() -> Conditions {
        Conditions::new(Vec::new(), 3, "2026-01-01T00:00:00Z")
    }

    #[test]
    fn transition_time_moves_only_with_the_state() {
        let mut c = conditions();
        c.mark_true(RELEASED, "InstallSucceeded", "ok");
        c.now = "2026-01-01T00:01:00Z".into();
        c.generation = 4;
        c.mark_true(RELEASED, "InstallSucceeded", "ok");
        let r = c.get(RELEASED).cloned().unwrap_or_default();
        assert_eq!(r.last_transition_time, "2026-01-01T00:00:00Z");
        assert_eq!(r.observed_generation, Some(4));
        c.mark_false(RELEASED, "UpgradeFailed", "no");
        let r = c.get(RELEASED).cloned().unwrap_or_default();
        assert_eq!(r.last_transition_time, "2026-01-01T00:01:00Z");
    }

    #[test]
    fn order_is_stalled_reconciling_ready_then_by_type() {
        let mut c = conditions();
        c.mark_true(TEST_SUCCESS, "TestSucceeded", "");
        c.mark_true(RELEASED, "InstallSucceeded", "");
        c.mark_true(READY, "InstallSucceeded", "");
        c.mark_reconciling("Progressing", "");
        c.mark_true(STALLED, "RetriesExceeded", "");
        let kinds: Vec<&str> = c.list.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(kinds, [STALLED, RECONCILING, READY, RELEASED, TEST_SUCCESS]);
    }

    #[test]
    fn summarize_prefers_remediated_and_is_never_ready_after_one() {
        let mut c = conditions();
        c.mark_false(RELEASED, "UpgradeFailed", "upgrade failed");
        c.mark_true(REMEDIATED, "RollbackSucceeded", "rolled back");
        c.summarize(false, false);
        let ready = c.get(READY).cloned().unwrap_or_default();
        assert_eq!(ready.status, ConditionStatus::False);
        assert_eq!(ready.reason, "RollbackSucceeded");
    }

    #[test]
    fn summarize_uses_tests_only_when_they_count() {
        let mut c = conditions();
        c.mark_true(RELEASED, "UpgradeSucceeded", "upgraded");
        c.mark_false(TEST_SUCCESS, "TestFailed", "test failed");
        c.summarize(true, false);
        assert_eq!(c.get(READY).map(|r| r.status), Some(ConditionStatus::False));
        c.summarize(true, true);
        assert_eq!(c.get(READY).map(|r| r.status), Some(ConditionStatus::True));
        c.summarize(false, false);
        assert!(c.get(TEST_SUCCESS).is_none());
    }

    #[test]
    fn a_true_ready_clears_stalled() {
        let mut c = conditions();
        c.mark_stalled("RetriesExceeded", "Failed to upgrade after 1 attempt(s)");
        c.mark_true(RELEASED, "UpgradeSucceeded", "upgraded");
        c.summarize(false, false);
        assert!(c.get(STALLED).is_none());
    }
}
