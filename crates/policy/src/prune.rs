//! Parsing only what the rules read. An admission request carries the whole object, and most
//! of a HelmRelease is `spec.values`, which no rule looks at; skipping it while parsing (serde's
//! `IgnoredAny` allocates nothing) is most of the webhook's per-request cost saved.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

/// Which parts of an object to keep.
#[derive(Debug)]
enum Shape {
    /// Keep the whole value.
    All,
    /// Keep only these keys of an object.
    Keys(BTreeMap<&'static str, Shape>),
}

fn keys(entries: Vec<(&'static str, Shape)>) -> Shape {
    Shape::Keys(entries.into_iter().collect())
}

/// Every path any rule reads, for every kind the rules judge.
static RULE_INPUT: LazyLock<Shape> = LazyLock::new(|| {
    use Shape::All;
    keys(vec![
        ("apiVersion", All),
        ("kind", All),
        (
            "metadata",
            keys(vec![
                ("name", All),
                ("namespace", All),
                ("annotations", All),
            ]),
        ),
        (
            "spec",
            keys(vec![
                ("chart", All),
                ("chartRef", All),
                ("install", All),
                ("upgrade", All),
                ("maxHistory", All),
                ("suspend", All),
                ("version", All),
                ("sourceRef", All),
                ("ref", All),
                ("type", All),
            ]),
        ),
        (
            "status",
            keys(vec![("lastAttemptedRevision", All), ("artifact", All)]),
        ),
    ])
});

/// An object parsed with only the fields the rules read; evaluating it gives the same result
/// as evaluating the full object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleInput(pub Value);

impl<'de> Deserialize<'de> for RuleInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        (&*RULE_INPUT).deserialize(deserializer).map(RuleInput)
    }
}

impl<'de> DeserializeSeed<'de> for &Shape {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self {
            Shape::All => Value::deserialize(deserializer),
            Shape::Keys(_) => deserializer.deserialize_any(PruneVisitor(self)),
        }
    }
}

/// An object key, borrowed from the input when it has no escapes: skipped keys cost no
/// allocation.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct PruneVisitor<'a>(&'a Shape);

impl<'de> Visitor<'de> for PruneVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Shape::Keys(wanted) = self.0 else {
            return Err(de::Error::custom("internal: pruning a kept value"));
        };
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match wanted.get(key.as_ref()) {
                Some(child) => {
                    let value = map.next_value_seed(child)?;
                    out.insert(key.into_owned(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    // A value where an object was expected is kept as it is, so the rules see malformed
    // objects exactly as written.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            out.push(item);
        }
        Ok(Value::Array(out))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.0.deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NoLookups, PolicySet, Request, evaluate, fixtures};
    use serde_json::json;

    #[test]
    fn values_are_skipped_and_rule_fields_kept() {
        let full = fixtures::helmrelease_5kb();
        let pruned: RuleInput = serde_json::from_str(&full.to_string()).unwrap_or_default();
        assert!(pruned.0.pointer("/spec/values").is_none());
        assert!(pruned.0.pointer("/spec/valuesFrom").is_none());
        for pointer in [
            "/apiVersion",
            "/kind",
            "/metadata/name",
            "/metadata/annotations",
            "/spec/chart",
            "/spec/upgrade",
            "/spec/maxHistory",
        ] {
            assert_eq!(
                pruned.0.pointer(pointer),
                full.pointer(pointer),
                "{pointer}"
            );
        }
        assert!(serde_json::to_string(&pruned.0).unwrap_or_default().len() < 1000);
    }

    #[test]
    fn evaluation_is_the_same_on_pruned_and_full_objects() {
        let mut objects = vec![fixtures::helmrelease_5kb()];
        let mut bad = fixtures::helmrelease_5kb();
        bad["spec"]["chart"]["spec"]["version"] = json!("^6");
        bad["spec"]["upgrade"] = json!({"force": true});
        bad["spec"]["maxHistory"] = json!(0);
        bad["status"] = json!({"lastAttemptedRevision": "6.5.4", "conditions": []});
        objects.push(bad);
        objects.push(json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
            "metadata": {"name": "o", "namespace": "n"}, "spec": {"url": "oci://x", "interval": "1m", "ref": {"tag": "latest"}}}));
        objects.push(
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "weird"}, "spec": [1, 2]}),
        );
        for full in objects {
            let pruned: RuleInput = serde_json::from_str(&full.to_string()).unwrap_or_default();
            for mutate in [false, true] {
                let on = |object: &Value| {
                    let req = Request::create(object).mutating(mutate);
                    evaluate(&req, &PolicySet::builtin(), &NoLookups)
                };
                assert_eq!(on(&pruned.0), on(&full), "{full}");
            }
        }
    }
}
