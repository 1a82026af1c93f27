//! Release storage with the semantics of Helm 4's Secret driver
//! (`helm.sh/helm/v4/pkg/storage/storage.go` and `pkg/storage/driver/secrets.go`), against a
//! Kubernetes API server. The objects are built by the release crate
//! ([`helmrelease_release::storage::to_secret`]), so what we write is what Helm writes:
//!
//! - name `sh.helm.release.v1.<release>.v<revision>`, type `helm.sh/release.v1`, one data key
//!   `release` holding base64(gzip(JSON));
//! - labels `name`, `owner=helm`, `status`, `version`, plus the release's custom labels
//!   (Helm 4 `--labels`); `createdAt=<unix seconds>` when a revision is created and
//!   `modifiedAt=<unix seconds>` when it is rewritten.
//!
//! The one addition is our lock record (DESIGN.md section 10): who holds a pending release and
//! until when, as two annotations on the release Secret, so that with two controller replicas
//! one can tell a crashed holder (expired) from a live one:
//!
//! - [`LOCK_HOLDER_ANNOTATION`] `helmrelease.dev/lock-holder`: the holder's identity;
//! - [`LOCK_EXPIRES_ANNOTATION`] `helmrelease.dev/lock-expires`: RFC 3339 time after which the
//!   lock may be broken.
//!
//! Helm ignores annotations, and its own Update replaces the whole object, so an upgrade by the
//! official `helm` drops our lock record, which is right: the release is no longer ours.

use crate::{Error, Result};
use helmrelease_release::storage::{ObjectOptions, to_secret};
use helmrelease_release::{Release, Status, StoredRelease, object_name};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Annotation naming who holds the lock of a pending release.
pub const LOCK_HOLDER_ANNOTATION: &str = "helmrelease.dev/lock-holder";
/// Annotation with the RFC 3339 time the lock of a pending release expires.
pub const LOCK_EXPIRES_ANNOTATION: &str = "helmrelease.dev/lock-expires";

/// Who holds a pending release and until when. Recorded as annotations on the release Secret
/// (see the module documentation), so an unlock is safe even with two controller replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// Identity of the holder (e.g. the controller's pod name).
    pub holder: String,
    /// When the lock expires: after this, another holder may break it.
    pub until: Timestamp,
}

impl Lock {
    /// True when the lock has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.until
    }

    /// The annotations recording this lock.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (LOCK_HOLDER_ANNOTATION.to_string(), self.holder.clone()),
            (LOCK_EXPIRES_ANNOTATION.to_string(), self.until.to_string()),
        ])
    }

    /// Reads a lock back from an object's annotations: `None` without a holder annotation, an
    /// error when the holder is there but the expiry is missing or not RFC 3339 (a lock nobody
    /// can judge must not be silently ignored or broken).
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Result<Option<Lock>> {
        let Some(holder) = annotations.get(LOCK_HOLDER_ANNOTATION) else {
            return Ok(None);
        };
        let expires = annotations.get(LOCK_EXPIRES_ANNOTATION).ok_or_else(|| {
            Error::Invalid(format!(
                "lock of {holder:?} has no {LOCK_EXPIRES_ANNOTATION} annotation"
            ))
        })?;
        let until = expires.parse::<Timestamp>().map_err(|e| {
            Error::Invalid(format!(
                "lock of {holder:?}: {LOCK_EXPIRES_ANNOTATION} {expires:?} is not an RFC 3339 time: {e}"
            ))
        })?;
        Ok(Some(Lock {
            holder: holder.clone(),
            until,
        }))
    }
}

/// Which revisions Helm's `removeLeastRecent(name, max_history - 1)` deletes before a new
/// revision is created, given every stored revision and its status. `max_history` 0 means
/// unlimited (nothing is deleted).
///
/// Like Helm: the oldest go first until only `max_history - 1` remain, so that the new revision
/// makes `max_history`; the newest `deployed` revision is never deleted, even when that leaves
/// more than asked for. The result is oldest first.
pub fn prune_plan(revisions: &[(i64, Status)], max_history: usize) -> Vec<i64> {
    let Some(keep) = max_history.checked_sub(1) else {
        return Vec::new();
    };
    if revisions.len() <= keep {
        return Vec::new();
    }
    let mut sorted: Vec<i64> = revisions.iter().map(|(revision, _)| *revision).collect();
    sorted.sort_unstable();
    // Helm's Storage.Deployed: the newest when several are deployed after concurrent writes.
    let last_deployed = revisions
        .iter()
        .filter(|(_, status)| *status == Status::Deployed)
        .map(|(revision, _)| *revision)
        .max();
    let mut plan = Vec::new();
    for revision in sorted {
        if revisions.len() - plan.len() == keep {
            break;
        }
        if Some(revision) != last_deployed {
            plan.push(revision);
        }
    }
    plan
}

/// The status Helm's storage queries see: the `status` label (Helm's `Deployed` selects on
/// it), else the status inside the release.
fn stored_status(stored: &StoredRelease) -> Status {
    stored
        .labels
        .get("status")
        .map(|s| Status::parse(s))
        .unwrap_or_else(|| stored.release.status())
}

/// Kubernetes' label value syntax, which Helm checks before using a release name in a label
/// selector (`validation.IsValidLabelValue`); it also keeps a name from adding terms to the
/// selector.
fn check_label_value(value: &str) -> Result<()> {
    let bytes = value.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    let valid = value.is_empty()
        || (bytes.len() <= 63
            && bytes.first().is_some_and(alnum)
            && bytes.last().is_some_and(alnum)
            && bytes
                .iter()
                .all(|b| alnum(b) || matches!(b, b'-' | b'_' | b'.')));
    if valid {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "invalid release name {value:?}: not a valid label value"
        )))
    }
}

fn now_unix() -> i64 {
    Timestamp::now().as_second()
}

fn is_status(err: &kube::Error, check: fn(&kube::core::Status) -> bool) -> bool {
    matches!(err, kube::Error::Api(status) if check(status))
}

/// The release Secrets of one storage namespace.
#[derive(Clone, Debug)]
pub struct SecretStorage {
    api: Api<DynamicObject>,
    namespace: String,
}

impl SecretStorage {
    /// Storage in `namespace` (Flux's `storageNamespace`, usually the release namespace).
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        // Untyped objects: the release crate's codec reads and writes JSON, and this skips
        // decoding and re-encoding the (up to 1 MiB) base64 payload on every read.
        let resource = ApiResource::erase::<Secret>(&());
        SecretStorage {
            api: Api::namespaced_with(client, namespace, &resource),
            namespace: namespace.to_string(),
        }
    }

    /// The storage namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn describe(&self, name: &str, revision: i64) -> String {
        format!(
            "release Secret {}/{}",
            self.namespace,
            object_name(name, revision)
        )
    }

    /// Every stored revision of `name`, decoded, oldest first: Helm's `History`, a label query
    /// `name=<name>,owner=helm`. As in Helm, an object that does not decode as a release is
    /// left out rather than failing the whole history.
    pub async fn history(&self, name: &str) -> Result<Vec<StoredRelease>> {
        check_label_value(name)?;
        let params = ListParams::default().labels(&format!("name={name},owner=helm"));
        let list = self.api.list(&params).await.map_err(Error::kube(format!(
            "listing the revisions of release {name} in namespace {}",
            self.namespace
        )))?;
        let mut revisions: Vec<StoredRelease> = list
            .items
            .into_iter()
            .filter_map(|item| decode(item).ok())
            .collect();
        revisions.sort_by_key(|r| r.release.version);
        Ok(revisions)
    }

    /// Creates the object of a new revision (Helm's `Storage.Create`), without custom labels.
    /// See [`SecretStorage::create_with_labels`].
    pub async fn create(
        &self,
        release: &Release,
        max_history: usize,
        lock: Option<&Lock>,
    ) -> Result<()> {
        self.create_with_labels(release, &BTreeMap::new(), max_history, lock)
            .await
    }

    /// Creates the object of a new revision (Helm's `Storage.Create`): first prunes history so
    /// that, with this one, at most `max_history` revisions remain ([`prune_plan`]; 0 means
    /// unlimited), then creates the Secret with a `createdAt` label, `labels` as the release's
    /// custom labels (Helm's upgrade carries the previous revision's, rollback the target's;
    /// system labels in here are ignored) and `lock` recorded. Fails if the revision exists.
    pub async fn create_with_labels(
        &self,
        release: &Release,
        labels: &BTreeMap<String, String>,
        max_history: usize,
        lock: Option<&Lock>,
    ) -> Result<()> {
        if max_history > 0 {
            self.prune(&release.name, max_history).await?;
        }
        let options = ObjectOptions {
            created_at: Some(now_unix()),
            modified_at: None,
            custom_labels: labels.clone(),
        };
        let object = self.object(release, &options, lock)?;
        self.api
            .create(&PostParams::default(), &object)
            .await
            .map_err(Error::kube(format!(
                "creating {}",
                self.describe(&release.name, release.version)
            )))?;
        Ok(())
    }

    /// Deletes what [`prune_plan`] picks. Like Helm, it tries every deletion and then reports
    /// the first failure, so repeated calls eventually catch up.
    async fn prune(&self, name: &str, max_history: usize) -> Result<()> {
        let history = self.history(name).await?;
        let revisions: Vec<(i64, Status)> = history
            .iter()
            .map(|r| (r.release.version, stored_status(r)))
            .collect();
        let plan = prune_plan(&revisions, max_history);
        let mut failures = Vec::new();
        for revision in &plan {
            match self.delete(name, *revision).await {
                // Already gone (another replica pruned it): that is what we wanted.
                Ok(()) | Err(Error::NotFound(_)) => {}
                Err(e) => failures.push(e),
            }
        }
        let count = failures.len();
        match failures.into_iter().next() {
            None => Ok(()),
            Some(first) if count == 1 => Err(first),
            Some(first) => Err(Error::Failed(format!(
                "pruning the history of release {name}: {count} deletions failed; the first: {first}"
            ))),
        }
    }

    /// Rewrites an existing revision (Helm's `Storage.Update`), e.g. `pending-install` to
    /// `deployed` or `deployed` to `superseded`, with a `modifiedAt` label. The custom labels of
    /// the stored object are kept; the whole object is otherwise replaced as Helm replaces it,
    /// so `createdAt`, other annotations and a lock not passed again are dropped (after Helm's
    /// own install or upgrade no revision carries `createdAt` either). `lock` is recorded when
    /// given; with `None`, any lock record is removed.
    ///
    /// The write is conditional on the object being unchanged since this call read it: a
    /// concurrent writer makes it fail with a conflict instead of being overwritten.
    pub async fn update(&self, release: &Release, lock: Option<&Lock>) -> Result<()> {
        self.rewrite(release, lock, None).await.map(|_| ())
    }

    /// [`SecretStorage::update`] only if the revision's lock record is still `expected` (`None`:
    /// no record), as a compare-and-swap: the way to break or take over a lock safely when two
    /// replicas may race, after judging the record [`SecretStorage::lock_of`] returned.
    /// Returns false, writing nothing, when the record differs or the object changed between
    /// this call's read and its write.
    pub async fn update_if_lock(
        &self,
        release: &Release,
        expected: Option<&Lock>,
        lock: Option<&Lock>,
    ) -> Result<bool> {
        self.rewrite(release, lock, Some(expected)).await
    }

    /// Helm's Update, conditional on the object's resourceVersion and, when `expected` is
    /// given, on its lock record. Returns whether it wrote.
    async fn rewrite(
        &self,
        release: &Release,
        lock: Option<&Lock>,
        expected: Option<Option<&Lock>>,
    ) -> Result<bool> {
        let key = object_name(&release.name, release.version);
        let what = self.describe(&release.name, release.version);
        let existing = self
            .api
            .get_opt(&key)
            .await
            .map_err(Error::kube(format!("reading {what}")))?
            .ok_or_else(|| Error::NotFound(format!("{what} not found")))?;
        if let Some(expected) = expected {
            let current = Lock::from_annotations(
                existing
                    .metadata
                    .annotations
                    .as_ref()
                    .unwrap_or(&BTreeMap::new()),
            )
            .map_err(|e| Error::Invalid(format!("{what}: {e}")))?;
            if current.as_ref() != expected {
                return Ok(false);
            }
        }
        let options = ObjectOptions {
            created_at: None,
            modified_at: Some(now_unix()),
            // `labels_for` keeps only the custom ones, setting the system labels afresh.
            custom_labels: existing.metadata.labels.unwrap_or_default(),
        };
        let mut object = self.object(release, &options, lock)?;
        // Optimistic concurrency: a write by anyone since our read fails with 409 Conflict.
        object.metadata.resource_version = existing.metadata.resource_version;
        match self
            .api
            .replace(&key, &PostParams::default(), &object)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if expected.is_some() && is_status(&e, kube::core::Status::is_conflict) => {
                Ok(false)
            }
            Err(e) => Err(Error::kube(format!("updating {what}"))(e)),
        }
    }

    /// Deletes one revision's object; [`Error::NotFound`] when there is none.
    pub async fn delete(&self, name: &str, revision: i64) -> Result<()> {
        let what = self.describe(name, revision);
        match self
            .api
            .delete(&object_name(name, revision), &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, kube::core::Status::is_not_found) => {
                Err(Error::NotFound(format!("{what} not found")))
            }
            Err(e) => Err(Error::kube(format!("deleting {what}"))(e)),
        }
    }

    /// The lock record on a revision (meaningful on a `pending-*` or `uninstalling` one), if
    /// any; [`Error::NotFound`] when the revision does not exist.
    pub async fn lock_of(&self, name: &str, revision: i64) -> Result<Option<Lock>> {
        let what = self.describe(name, revision);
        let object = self
            .api
            .get_opt(&object_name(name, revision))
            .await
            .map_err(Error::kube(format!("reading {what}")))?
            .ok_or_else(|| Error::NotFound(format!("{what} not found")))?;
        Lock::from_annotations(&object.metadata.annotations.unwrap_or_default())
            .map_err(|e| Error::Invalid(format!("{what}: {e}")))
    }

    /// The Secret Helm would write for `release`, in this storage namespace, with `lock`.
    fn object(
        &self,
        release: &Release,
        options: &ObjectOptions,
        lock: Option<&Lock>,
    ) -> Result<DynamicObject> {
        let secret = to_secret(release, options)?;
        let mut object: DynamicObject = serde_json::from_value(secret).map_err(|e| {
            Error::Invalid(format!(
                "release {} v{}: not a Kubernetes object: {e}",
                release.name, release.version
            ))
        })?;
        // The storage namespace, which Flux lets differ from the release namespace.
        object.metadata.namespace = Some(self.namespace.clone());
        object.metadata.annotations = lock.map(Lock::annotations);
        Ok(object)
    }
}

/// Decodes a listed Secret with the release crate's codec (which also checks that its name,
/// labels and payload agree). List items carry no `kind`, so it is put back.
fn decode(item: DynamicObject) -> Result<StoredRelease> {
    let mut value = match item.data {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    value.insert("kind".into(), json!("Secret"));
    value.insert(
        "metadata".into(),
        serde_json::to_value(&item.metadata)
            .map_err(|e| Error::Invalid(format!("release Secret metadata: {e}")))?,
    );
    Ok(StoredRelease::from_object(&Value::Object(value), "")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revs(list: &[(i64, &str)]) -> Vec<(i64, Status)> {
        list.iter().map(|(r, s)| (*r, Status::parse(s))).collect()
    }

    #[test]
    fn zero_max_history_is_unlimited() {
        let all = revs(&[(1, "superseded"), (2, "superseded"), (3, "deployed")]);
        assert!(prune_plan(&all, 0).is_empty());
    }

    #[test]
    fn room_is_made_for_one_more_revision() {
        let all = revs(&[
            (1, "superseded"),
            (2, "superseded"),
            (3, "superseded"),
            (4, "deployed"),
        ]);
        // Table: max_history -> deleted (Helm keeps max-1, then creates one).
        let cases: [(usize, &[i64]); 7] = [
            (1, &[1, 2, 3]),
            (2, &[1, 2, 3]),
            (3, &[1, 2]),
            (4, &[1]),
            (5, &[]),
            (6, &[]),
            (10, &[]),
        ];
        for (max, want) in cases {
            assert_eq!(prune_plan(&all, max), want, "max_history {max}");
        }
    }

    #[test]
    fn the_newest_deployed_revision_is_never_deleted() {
        // Deployed is the oldest: everything else goes first, and it stays even when that
        // leaves more than max_history - 1.
        let all = revs(&[(1, "deployed"), (2, "failed"), (3, "failed"), (4, "failed")]);
        assert_eq!(prune_plan(&all, 1), [2, 3, 4]);
        assert_eq!(prune_plan(&all, 2), [2, 3, 4]);
        assert_eq!(prune_plan(&all, 3), [2, 3]);
        // In the middle.
        let all = revs(&[(1, "superseded"), (2, "deployed"), (3, "failed")]);
        assert_eq!(prune_plan(&all, 1), [1, 3]);
        assert_eq!(prune_plan(&all, 2), [1, 3]);
        assert_eq!(prune_plan(&all, 3), [1]);
    }

    #[test]
    fn only_the_newest_of_several_deployed_is_protected() {
        // After concurrent writes Helm may leave two deployed; Deployed() takes the newest.
        let all = revs(&[(1, "deployed"), (2, "deployed"), (3, "superseded")]);
        assert_eq!(prune_plan(&all, 1), [1, 3]);
        assert_eq!(prune_plan(&all, 2), [1, 3]);
        assert_eq!(prune_plan(&all, 3), [1]);
    }

    #[test]
    fn without_a_deployed_revision_the_oldest_go() {
        for status in Status::ALL {
            if status == Status::Deployed {
                continue;
            }
            let all: Vec<(i64, Status)> = (1..=4).map(|r| (r, status.clone())).collect();
            assert_eq!(prune_plan(&all, 1), [1, 2, 3, 4], "{status}");
            assert_eq!(prune_plan(&all, 3), [1, 2], "{status}");
        }
        let all = revs(&[(1, "pending-install"), (2, "weird")]);
        assert_eq!(prune_plan(&all, 2), [1]);
    }

    #[test]
    fn input_order_does_not_matter_and_the_plan_is_oldest_first() {
        let all = revs(&[
            (7, "pending-upgrade"),
            (3, "superseded"),
            (5, "deployed"),
            (4, "superseded"),
            (6, "failed"),
        ]);
        assert_eq!(prune_plan(&all, 3), [3, 4, 6]);
        assert_eq!(prune_plan(&all, 4), [3, 4]);
        assert_eq!(prune_plan(&all, 5), [3]);
        assert_eq!(prune_plan(&all, 6), Vec::<i64>::new());
    }

    #[test]
    fn gaps_in_revisions_are_fine_and_empty_history_prunes_nothing() {
        let all = revs(&[(2, "superseded"), (9, "superseded"), (30, "deployed")]);
        assert_eq!(prune_plan(&all, 2), [2, 9]);
        assert!(prune_plan(&[], 1).is_empty());
        assert!(prune_plan(&revs(&[(1, "deployed")]), 1).is_empty());
        assert_eq!(prune_plan(&revs(&[(1, "failed")]), 1), [1]);
    }

    #[test]
    fn locks_round_trip_through_annotations() {
        let until: Timestamp = "2026-11-01T10:00:00.5Z".parse().unwrap_or_default();
        let lock = Lock {
            holder: "helmrelease-controller-7d9f/uid-1".into(),
            until,
        };
        let annotations = lock.annotations();
        assert_eq!(
            annotations.get(LOCK_EXPIRES_ANNOTATION).map(String::as_str),
            Some("2026-11-01T10:00:00.5Z")
        );
        assert_eq!(
            Lock::from_annotations(&annotations).unwrap_or_default(),
            Some(lock.clone())
        );
        assert!(!lock.is_expired("2026-11-01T10:00:00Z".parse().unwrap_or_default()));
        assert!(lock.is_expired(until));
        assert!(matches!(Lock::from_annotations(&BTreeMap::new()), Ok(None)));
    }

    #[test]
    fn a_lock_without_a_readable_expiry_is_an_error() {
        let holder = (LOCK_HOLDER_ANNOTATION.to_string(), "me".to_string());
        for annotations in [
            BTreeMap::from([holder.clone()]),
            BTreeMap::from([
                holder.clone(),
                (LOCK_EXPIRES_ANNOTATION.to_string(), "tomorrow".to_string()),
            ]),
        ] {
            let err = Lock::from_annotations(&annotations)
                .err()
                .map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("me")), "{annotations:?}");
        }
    }

    #[test]
    fn release_names_must_be_label_values() {
        for good in ["web", "a", "my-app.v2_x", &"a".repeat(63)] {
            assert!(check_label_value(good).is_ok(), "{good}");
        }
        for bad in ["web,owner=x", "-web", "web-", "a b", "ü", &"a".repeat(64)] {
            assert!(check_label_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn listed_secrets_decode_without_a_kind() {
        let release = Release {
            name: "web".into(),
            version: 2,
            namespace: "apps".into(),
            info: Some(helmrelease_release::model::Info {
                status: "pending-upgrade".into(),
                ..Default::default()
            }),
            ..Release::default()
        };
        let options = ObjectOptions {
            custom_labels: BTreeMap::from([("team".to_string(), "a".to_string())]),
            ..ObjectOptions::default()
        };
        let mut secret = to_secret(&release, &options).unwrap_or_default();
        if let Some(map) = secret.as_object_mut() {
            map.remove("kind");
            map.remove("apiVersion");
        }
        let item: DynamicObject = serde_json::from_value(secret).unwrap_or_else(|e| panic!("{e}"));
        let stored = decode(item).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored.release, release);
        assert_eq!(stored.object_name, "sh.helm.release.v1.web.v2");
        assert_eq!(stored_status(&stored), Status::PendingUpgrade);
        assert_eq!(
            stored.custom_labels().get("team").map(String::as_str),
            Some("a")
        );
    }
}
