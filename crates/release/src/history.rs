//! Queries over the stored revisions of releases: what `helm history`, `helm status` and an audit
//! need, computed from objects already in memory.

use crate::{Status, StoredRelease};
use std::collections::BTreeMap;

/// All stored revisions of one release, oldest first.
#[derive(Clone, Debug)]
pub struct History<'a> {
    /// Storage namespace.
    pub namespace: String,
    /// Release name.
    pub name: String,
    /// Revisions sorted by revision number.
    pub revisions: Vec<&'a StoredRelease>,
}

/// Identity of a release in storage: (storage namespace, release name).
pub type ReleaseKey = (String, String);

/// Groups stored revisions by release, each group sorted by revision. A release is named by its
/// payload here, as `helm list` names it.
pub fn group(all: &[StoredRelease]) -> BTreeMap<ReleaseKey, History<'_>> {
    group_by(all.iter(), |stored| stored.release.name.clone())
}

fn group_by<'a>(
    all: impl Iterator<Item = &'a StoredRelease>,
    name_of: impl Fn(&StoredRelease) -> String,
) -> BTreeMap<ReleaseKey, History<'a>> {
    let mut groups: BTreeMap<ReleaseKey, History<'a>> = BTreeMap::new();
    for stored in all {
        let key = (stored.namespace.clone(), name_of(stored));
        groups
            .entry(key.clone())
            .or_insert_with(|| History {
                namespace: key.0,
                name: key.1,
                revisions: Vec::new(),
            })
            .revisions
            .push(stored);
    }
    for history in groups.values_mut() {
        history.revisions.sort_by_key(|r| r.release.version);
    }
    groups
}

/// The history of release `name`, in `namespace` when given, else in whichever namespace holds
/// it. Returns every match, so callers can tell "not found" from "ambiguous". Like Helm's
/// `Storage.History`, which queries `owner=helm,name=<name>`, an object belongs to the release
/// its `name` label names ([`StoredRelease::listed_name`]), whatever its payload says.
pub fn find<'a>(all: &'a [StoredRelease], name: &str, namespace: Option<&str>) -> Vec<History<'a>> {
    let matching = all
        .iter()
        .filter(|s| s.listed_name() == name && namespace.is_none_or(|ns| s.namespace == ns));
    group_by(matching, |_| name.to_string())
        .into_values()
        .collect()
}

impl<'a> History<'a> {
    /// The newest revision (Helm's `Storage.Last`).
    pub fn latest(&self) -> Option<&'a StoredRelease> {
        self.revisions.last().copied()
    }

    /// The newest `deployed` revision (Helm's `Storage.Deployed`, which takes the newest when
    /// several are deployed after concurrent writes).
    pub fn last_deployed(&self) -> Option<&'a StoredRelease> {
        self.revisions
            .iter()
            .rev()
            .find(|r| r.release.status() == Status::Deployed)
            .copied()
    }

    /// The revision before the latest one, if any.
    pub fn previous(&self) -> Option<&'a StoredRelease> {
        self.revisions
            .len()
            .checked_sub(2)
            .and_then(|i| self.revisions.get(i))
            .copied()
    }

    /// The revision with number `revision`.
    pub fn revision(&self, revision: i64) -> Option<&'a StoredRelease> {
        self.revisions
            .iter()
            .find(|r| r.release.version == revision)
            .copied()
    }

    /// The latest revision when it is `pending-*`: the release is locked.
    pub fn pending(&self) -> Option<&'a StoredRelease> {
        self.latest().filter(|r| r.release.status().is_pending())
    }

    /// Every `pending-*` revision; more than the latest one means an operation crashed earlier.
    pub fn all_pending(&self) -> Vec<&'a StoredRelease> {
        self.revisions
            .iter()
            .filter(|r| r.release.status().is_pending())
            .copied()
            .collect()
    }

    /// Stored payload bytes of all revisions.
    pub fn total_bytes(&self) -> usize {
        self.revisions.iter().map(|r| r.stored_bytes).sum()
    }

    /// Stored payload bytes per revision, oldest first.
    pub fn bytes_per_revision(&self) -> Vec<(i64, usize)> {
        self.revisions
            .iter()
            .map(|r| (r.release.version, r.stored_bytes))
            .collect()
    }

    /// The largest stored revision in bytes.
    pub fn largest(&self) -> Option<&'a StoredRelease> {
        self.revisions
            .iter()
            .max_by_key(|r| r.stored_bytes)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Info;
    use crate::{Driver, Release};

    fn rev(ns: &str, name: &str, version: i64, status: &str, bytes: usize) -> StoredRelease {
        StoredRelease {
            driver: Driver::Secret,
            namespace: ns.into(),
            object_name: crate::object_name(name, version),
            labels: Default::default(),
            release: Release {
                name: name.into(),
                version,
                namespace: ns.into(),
                info: Some(Info {
                    status: status.into(),
                    ..Info::default()
                }),
                ..Release::default()
            },
            stored_bytes: bytes,
        }
    }

    fn fixture() -> Vec<StoredRelease> {
        vec![
            rev("a", "web", 3, "pending-upgrade", 30),
            rev("a", "web", 1, "superseded", 10),
            rev("a", "web", 2, "deployed", 20),
            rev("b", "web", 1, "deployed", 5),
            rev("a", "db", 1, "failed", 7),
        ]
    }

    #[test]
    fn histories_are_grouped_and_sorted() {
        let all = fixture();
        let groups = group(&all);
        let keys: Vec<_> = groups.keys().cloned().collect();
        assert_eq!(
            keys,
            vec![
                ("a".into(), "db".into()),
                ("a".into(), "web".into()),
                ("b".into(), "web".into())
            ]
        );
        let web = &groups[&("a".to_string(), "web".to_string())];
        let versions: Vec<i64> = web.revisions.iter().map(|r| r.release.version).collect();
        assert_eq!(versions, vec![1, 2, 3]);
    }

    #[test]
    fn queries_answer_like_helm_storage() {
        let all = fixture();
        let web = find(&all, "web", Some("a")).remove(0);
        assert_eq!(web.latest().map(|r| r.release.version), Some(3));
        assert_eq!(web.last_deployed().map(|r| r.release.version), Some(2));
        assert_eq!(web.previous().map(|r| r.release.version), Some(2));
        assert_eq!(web.pending().map(|r| r.release.version), Some(3));
        assert_eq!(
            web.revision(1).map(|r| r.release.status()),
            Some(Status::Superseded)
        );
        assert_eq!(web.total_bytes(), 60);
        assert_eq!(web.bytes_per_revision(), vec![(1, 10), (2, 20), (3, 30)]);
        assert_eq!(web.largest().map(|r| r.release.version), Some(3));
        assert_eq!(
            find(&all, "web", None).len(),
            2,
            "ambiguous without a namespace"
        );
        assert!(find(&all, "nope", None).is_empty());
        let db = find(&all, "db", None).remove(0);
        assert!(db.pending().is_none());
        assert!(db.last_deployed().is_none());
    }

    #[test]
    fn find_selects_by_the_name_label_like_helm() {
        let mut all = fixture();
        // Labelled `name: web` but the payload says `webbb`: Helm's `owner=helm,name=web`
        // query finds it, and history shows the payload's revision.
        let mut odd = rev("a", "webbb", 4, "deployed", 40);
        odd.labels.insert("name".into(), "web".into());
        all.push(odd);
        let web = find(&all, "web", Some("a")).remove(0);
        assert_eq!(web.name, "web");
        let versions: Vec<i64> = web.revisions.iter().map(|r| r.release.version).collect();
        assert_eq!(versions, vec![1, 2, 3, 4]);
        assert!(
            find(&all, "webbb", None).is_empty(),
            "not under its payload name"
        );
        // `helm list` names releases by their payload, and so does `group`.
        assert!(group(&all).contains_key(&("a".to_string(), "webbb".to_string())));
    }
}
