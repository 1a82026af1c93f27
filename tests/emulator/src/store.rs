//! Objects, resource versions and the event log watches replay from.

use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use tokio::sync::broadcast;

/// Identity of a stored object: (group, plural, namespace, name). Objects are stored once per
/// group/resource, whatever version they were written with, as the apiserver does.
pub type Key = (String, String, String, String);

/// A change, as watches report it.
#[derive(Debug, Clone)]
pub struct Event {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// Group of the object.
    pub group: String,
    /// Plural of the object.
    pub plural: String,
    /// Namespace of the object (empty when cluster-scoped).
    pub namespace: String,
    /// Resource version of the change.
    pub resource_version: u64,
    /// The object after the change (before it, for deletions, with the new resource version).
    pub object: Value,
}

/// How many events are kept for watches that resume from an older resource version; older
/// ones get 410 Gone, as from an apiserver whose watch cache moved on.
pub const EVENT_HISTORY: usize = 10_000;

/// The object store.
#[derive(Debug)]
pub struct Store {
    objects: BTreeMap<Key, Value>,
    revision: u64,
    history: VecDeque<Event>,
    events: broadcast::Sender<Event>,
    uid: u64,
}

impl Default for Store {
    fn default() -> Self {
        let (events, _) = broadcast::channel(4096);
        Store {
            objects: BTreeMap::new(),
            revision: 1,
            history: VecDeque::new(),
            events,
            uid: 0,
        }
    }
}

impl Store {
    /// The current resource version.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Subscribes to future events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Events after `since`, or `None` when they are no longer kept (410 Gone).
    pub fn events_since(&self, since: u64) -> Option<Vec<Event>> {
        if let Some(oldest) = self.history.front()
            && since + 1 < oldest.resource_version
            && since < self.revision
        {
            return None;
        }
        Some(
            self.history
                .iter()
                .filter(|e| e.resource_version > since)
                .cloned()
                .collect(),
        )
    }

    /// One object.
    pub fn get(&self, key: &Key) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Objects of a group/resource, in one namespace or all.
    pub fn list(&self, group: &str, plural: &str, namespace: Option<&str>) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|((g, p, ns, _), _)| {
                g == group && p == plural && namespace.is_none_or(|n| n == ns)
            })
            .map(|(_, v)| v)
            .collect()
    }

    /// A new UID.
    pub fn next_uid(&mut self) -> String {
        self.uid += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.uid)
    }

    /// Writes an object (create or update), stamping a new resource version, and records the
    /// event.
    pub fn put(&mut self, key: Key, mut object: Value, kind: &'static str) -> Value {
        self.revision += 1;
        object["metadata"]["resourceVersion"] = json!(self.revision.to_string());
        self.objects.insert(key.clone(), object.clone());
        self.record(kind, &key, object.clone());
        object
    }

    /// Removes an object and records the deletion.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut object = self.objects.remove(key)?;
        self.revision += 1;
        object["metadata"]["resourceVersion"] = json!(self.revision.to_string());
        self.record("DELETED", key, object.clone());
        Some(object)
    }

    fn record(&mut self, kind: &'static str, key: &Key, object: Value) {
        let event = Event {
            kind,
            group: key.0.clone(),
            plural: key.1.clone(),
            namespace: key.2.clone(),
            resource_version: self.revision,
            object,
        };
        self.history.push_back(event.clone());
        while self.history.len() > EVENT_HISTORY {
            self.history.pop_front();
        }
        // No subscribers is fine: nobody watches.
        let _ = self.events.send(event);
    }
}

/// Label selector matching (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`).
pub fn matches_labels(selector: &str, labels: &serde_json::Map<String, Value>) -> bool {
    split_requirements(selector).iter().all(|req| {
        let req = req.trim();
        let label = |k: &str| labels.get(k.trim()).and_then(Value::as_str);
        if let Some((k, v)) = req.split_once("!=") {
            return label(k) != Some(v.trim());
        }
        if let Some((k, v)) = req.split_once("==").or_else(|| req.split_once('=')) {
            return label(k) == Some(v.trim());
        }
        if let Some((k, set)) = req.split_once(" notin ") {
            return label(k).is_none_or(|v| !set_values(set).contains(&v));
        }
        if let Some((k, set)) = req.split_once(" in ") {
            return label(k).is_some_and(|v| set_values(set).contains(&v));
        }
        if let Some(k) = req.strip_prefix('!') {
            return label(k).is_none();
        }
        req.is_empty() || label(req).is_some()
    })
}

fn set_values(set: &str) -> Vec<&str> {
    set.trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .collect()
}

/// Splits on commas outside parentheses.
fn split_requirements(selector: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&selector[start..]);
    out.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

/// Field selector matching for `metadata.name` and `metadata.namespace` (`=`, `==`, `!=`).
pub fn matches_fields(selector: &str, object: &Value) -> bool {
    selector
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .all(|req| {
            let (field, value, negate) = match req.split_once("!=") {
                Some((f, v)) => (f, v, true),
                None => match req.split_once("==").or_else(|| req.split_once('=')) {
                    Some((f, v)) => (f, v, false),
                    None => return false,
                },
            };
            let pointer = format!("/{}", field.trim().replace('.', "/"));
            let actual = object
                .pointer(&pointer)
                .and_then(Value::as_str)
                .unwrap_or_default();
            (actual == value.trim()) != negate
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selectors() {
        let labels = json!({"owner": "helm", "name": "podinfo", "status": "deployed"});
        let labels = labels.as_object().cloned().unwrap_or_default();
        for (selector, want) in [
            ("owner=helm", true),
            ("owner==helm,name=podinfo", true),
            ("owner=helm,name=other", false),
            ("status!=failed", true),
            ("status in (deployed, failed)", true),
            ("status notin (deployed)", false),
            ("owner", true),
            ("!missing", true),
            ("!owner", false),
            ("", true),
        ] {
            assert_eq!(matches_labels(selector, &labels), want, "{selector}");
        }
    }

    #[test]
    fn history_reports_gone_for_forgotten_versions() {
        let mut store = Store::default();
        for i in 0..(EVENT_HISTORY + 5) {
            let key = (
                "".to_string(),
                "configmaps".to_string(),
                "d".to_string(),
                format!("c{i}"),
            );
            store.put(key, json!({"metadata": {"name": format!("c{i}")}}), "ADDED");
        }
        assert!(store.events_since(1).is_none());
        let recent = store.revision() - 3;
        assert_eq!(store.events_since(recent).map(|e| e.len()), Some(3));
    }
}
