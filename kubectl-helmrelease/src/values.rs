//! Release values: Helm's coalescing for `get values --all`, and hiding what came from
//! Secrets (`valuesFrom` of kind Secret) unless `--show-secrets`.

use helmrelease_diff::objects::{MASK, mask_secret_pair};
use serde_json::{Map, Value};

/// What of a release's values came from Secrets, per its HelmRelease's `valuesFrom`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SecretValues {
    /// Secrets merged at the top level (no `targetPath`): which keys they set is unknown
    /// without reading them, so all values count as secret.
    pub whole: Vec<String>,
    /// `targetPath`s written from Secrets, split into keys.
    pub paths: Vec<Vec<String>>,
}

impl SecretValues {
    /// Reads `spec.valuesFrom` of a HelmRelease.
    pub fn of(helmrelease: Option<&Value>) -> SecretValues {
        let mut out = SecretValues::default();
        let refs = helmrelease
            .and_then(|hr| hr.pointer("/spec/valuesFrom"))
            .and_then(Value::as_array);
        for r in refs.into_iter().flatten() {
            if r.get("kind").and_then(Value::as_str) != Some("Secret") {
                continue;
            }
            let name = r
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            match r.get("targetPath").and_then(Value::as_str) {
                Some(path) if !path.is_empty() => out.paths.push(split_path(path)),
                _ => out.whole.push(name),
            }
        }
        out
    }

    /// Whether anything is hidden.
    pub fn any(&self) -> bool {
        !self.whole.is_empty() || !self.paths.is_empty()
    }

    /// Masks values in place: every `targetPath` value becomes `***`. With a whole-Secret
    /// merge the whole document is replaced, since any key may have come from it.
    pub fn mask(&self, values: &mut Value) {
        if !self.whole.is_empty() {
            *values = Value::String(format!(
                "{MASK} (values merged from Secret {}; --show-secrets prints them)",
                self.whole.join(", ")
            ));
            return;
        }
        for path in &self.paths {
            if let Some(slot) = lookup_mut(values, path) {
                *slot = Value::String(MASK.to_string());
            }
        }
    }

    /// Masks two versions of the values so that a changed secret value still shows as changed.
    pub fn mask_pair(&self, old: &mut Value, new: &mut Value) {
        if !self.whole.is_empty() {
            let changed = old != new;
            self.mask(old);
            self.mask(new);
            if changed {
                // Equal masks would hide that something changed.
                *old = Value::String(format!("{} (before)", old.as_str().unwrap_or(MASK)));
                *new = Value::String(format!("{} (after)", new.as_str().unwrap_or(MASK)));
            }
            return;
        }
        for path in &self.paths {
            let (o, n) = mask_secret_pair(
                lookup_mut(old, path).map(|v| &*v),
                lookup_mut(new, path).map(|v| &*v),
            );
            if let (Some(slot), Some(v)) = (lookup_mut(old, path), o) {
                *slot = v;
            }
            if let (Some(slot), Some(v)) = (lookup_mut(new, path), n) {
                *slot = v;
            }
        }
    }
}

/// Splits a `--set`-style path on unescaped dots (`a.b\.c` is `a`, `b.c`); list indices
/// (`a[0]`) stay part of the key, which then simply does not match a map key.
fn split_path(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    parts.last_mut().into_iter().for_each(|p| p.push(next));
                }
            }
            '.' => parts.push(String::new()),
            c => parts.last_mut().into_iter().for_each(|p| p.push(c)),
        }
    }
    parts
}

fn lookup_mut<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter()
        .try_fold(value, |v, key| v.as_object_mut()?.get_mut(key))
}

/// Helm's coalescing of user values over chart defaults: maps merge recursively, user values
/// win, and a user `null` deletes the default.
pub fn coalesce(defaults: &Map<String, Value>, user: &Map<String, Value>) -> Map<String, Value> {
    let mut out = defaults.clone();
    for (key, value) in user {
        match (out.get_mut(key), value) {
            (_, Value::Null) => {
                out.remove(key);
            }
            (Some(Value::Object(base)), Value::Object(over)) => {
                *base = coalesce(base, over);
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn target_paths_split_on_unescaped_dots() {
        assert_eq!(split_path("a.b\\.c.d"), vec!["a", "b.c", "d"]);
        assert_eq!(split_path("x"), vec!["x"]);
    }

    #[test]
    fn secret_target_paths_are_masked_and_changes_stay_visible() {
        let hr = json!({"spec": {"valuesFrom": [
            {"kind": "ConfigMap", "name": "plain"},
            {"kind": "Secret", "name": "db", "targetPath": "db.password"}]}});
        let secrets = SecretValues::of(Some(&hr));
        assert_eq!(
            secrets.paths,
            vec![vec!["db".to_string(), "password".to_string()]]
        );
        let mut old = json!({"db": {"password": "hunter2", "user": "app"}});
        let mut new = json!({"db": {"password": "hunter3", "user": "app"}});
        secrets.mask_pair(&mut old, &mut new);
        let text = format!("{old}{new}");
        assert!(!text.contains("hunter"), "{text}");
        assert_ne!(old, new);
        assert_eq!(old["db"]["user"], "app");
    }

    #[test]
    fn whole_secret_merges_hide_all_values() {
        let hr = json!({"spec": {"valuesFrom": [{"kind": "Secret", "name": "all"}]}});
        let secrets = SecretValues::of(Some(&hr));
        let mut v = json!({"token": "s3cret"});
        secrets.mask(&mut v);
        assert!(!v.to_string().contains("s3cret"));
        assert!(v.to_string().contains("Secret all"));
        assert!(!SecretValues::of(None).any());
    }

    #[test]
    fn coalescing_merges_maps_and_null_deletes() {
        let defaults = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": 4});
        let user = json!({"b": {"c": 20}, "e": null, "f": [1]});
        let out = coalesce(
            defaults.as_object().unwrap_or(&Map::new()),
            user.as_object().unwrap_or(&Map::new()),
        );
        assert_eq!(
            Value::Object(out),
            json!({"a": 1, "b": {"c": 20, "d": 3}, "f": [1]})
        );
    }
}
