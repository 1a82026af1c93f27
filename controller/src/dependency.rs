//! Whether a `dependsOn` entry is satisfied, as helm-controller decides it: the dependency
//! must exist; its `readyExpr` (CEL over `self`, this HelmRelease, and `dep`, the dependency),
//! when given, must be true; and unless a `readyExpr` replaces it (without the
//! `AdditiveCELDependencyCheck` gate), the dependency must be Ready at its generation. Pure:
//! the objects are passed in as JSON.

use serde_json::Value;

/// The verdict on one dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Satisfied.
    Ready,
    /// Not yet: the message says why (retried after `--requeue-dependency`).
    NotReady(String),
    /// The `readyExpr` is not valid CEL or not boolean: a configuration error that retrying
    /// cannot fix.
    Invalid(String),
}

/// Judges the dependency `namespace/name` (`dep`, `None` when it does not exist) of `this`.
pub fn judge(
    this: &Value,
    namespace: &str,
    name: &str,
    ready_expr: Option<&str>,
    dep: Option<&Value>,
    additive: bool,
) -> Verdict {
    let Some(dep) = dep else {
        return Verdict::NotReady(format!(
            "unable to get '{namespace}/{name}' dependency: helmreleases.helm.toolkit.fluxcd.io \"{name}\" not found"
        ));
    };
    let expr = ready_expr.filter(|e| !e.trim().is_empty());
    if let Some(expr) = expr {
        match evaluate(expr, this, dep) {
            Err(Invalid(message)) => {
                return Verdict::Invalid(format!(
                    "failed to evaluate dependency {name}: {message}"
                ));
            }
            Ok(Err(message)) => {
                return Verdict::NotReady(format!(
                    "failed to evaluate dependency {name}: {message}"
                ));
            }
            Ok(Ok(false)) => {
                return Verdict::NotReady(format!(
                    "dependency '{namespace}/{name}' is not ready according to readyExpr eval"
                ));
            }
            Ok(Ok(true)) => {}
        }
        if !additive {
            return Verdict::Ready;
        }
    }
    let ready = dep
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
    let current = dep.pointer("/metadata/generation") == dep.pointer("/status/observedGeneration");
    if ready && current {
        Verdict::Ready
    } else {
        Verdict::NotReady(format!("dependency '{namespace}/{name}' is not ready"))
    }
}

struct Invalid(String);

/// Compiles and runs `expr`: `Err` when it does not compile, `Ok(Err)` when evaluation fails
/// (a missing field, say) or does not give a boolean.
fn evaluate(expr: &str, this: &Value, dep: &Value) -> Result<Result<bool, String>, Invalid> {
    let program = cel::Program::compile(expr).map_err(|e| Invalid(e.to_string()))?;
    let mut context = cel::Context::default();
    for (name, value) in [("self", this), ("dep", dep)] {
        if let Err(e) = context.add_variable(name, AsCel(value)) {
            return Ok(Err(e.to_string()));
        }
    }
    Ok(match program.execute(&context) {
        Ok(cel::Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!(
            "the expression gives {:?}, not a boolean",
            other.type_of()
        )),
        Err(e) => Err(e.to_string()),
    })
}

/// JSON as Kubernetes' unstructured objects give it to CEL: integers are `int` (serde_json
/// would hand non-negative ones over as `uint`, and `uint(4) == 4` is false in this CEL).
struct AsCel<'a>(&'a Value);

impl serde::Serialize for AsCel<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => serializer.serialize_i64(i),
                (None, Some(u), _) => serializer.serialize_u64(u),
                (_, _, f) => serializer.serialize_f64(f.unwrap_or_default()),
            },
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&AsCel(item))?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, &AsCel(v))?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(ready: &str, generation: i64, observed: i64) -> Value {
        json!({
            "metadata": {"name": "db", "namespace": "apps", "generation": generation,
                         "labels": {"tier": "data"}},
            "status": {"observedGeneration": observed,
                       "conditions": [{"type": "Ready", "status": ready}]},
        })
    }

    #[test]
    fn without_an_expression_ready_at_its_generation_is_required() {
        let this = json!({"metadata": {"name": "web"}});
        assert_eq!(
            judge(&this, "apps", "db", None, Some(&dep("True", 2, 2)), false),
            Verdict::Ready
        );
        for other in [dep("False", 2, 2), dep("True", 3, 2)] {
            assert_eq!(
                judge(&this, "apps", "db", None, Some(&other), false),
                Verdict::NotReady("dependency 'apps/db' is not ready".into())
            );
        }
        assert_eq!(
            judge(&this, "apps", "db", None, None, false),
            Verdict::NotReady(
                "unable to get 'apps/db' dependency: helmreleases.helm.toolkit.fluxcd.io \"db\" not found"
                    .into()
            )
        );
    }

    #[test]
    fn ready_expr_replaces_the_check_unless_additive() {
        let this = json!({"metadata": {"name": "web", "labels": {"tier": "data"}}});
        let expr = "dep.metadata.labels.tier == self.metadata.labels.tier && \
                    dep.status.conditions.filter(c, c.type == 'Ready').all(c, c.status == 'False')";
        let not_ready = dep("False", 2, 2);
        assert_eq!(
            judge(&this, "apps", "db", Some(expr), Some(&not_ready), false),
            Verdict::Ready,
            "the expression alone decides"
        );
        assert_eq!(
            judge(&this, "apps", "db", Some(expr), Some(&not_ready), true),
            Verdict::NotReady("dependency 'apps/db' is not ready".into()),
            "with AdditiveCELDependencyCheck the built-in check applies too"
        );
        assert_eq!(
            judge(
                &this,
                "apps",
                "db",
                Some("dep.metadata.generation > 5"),
                Some(&not_ready),
                false
            ),
            Verdict::NotReady(
                "dependency 'apps/db' is not ready according to readyExpr eval".into()
            )
        );
    }

    #[test]
    fn bad_expressions_are_configuration_errors_and_failed_evaluations_wait() {
        let this = json!({"metadata": {"name": "web"}});
        let d = dep("True", 1, 1);
        assert!(matches!(
            judge(&this, "apps", "db", Some("dep.status.("), Some(&d), false),
            Verdict::Invalid(m) if m.starts_with("failed to evaluate dependency db: ")
        ));
        assert!(matches!(
            judge(&this, "apps", "db", Some("dep.status.nothere == 1"), Some(&d), false),
            Verdict::NotReady(m) if m.starts_with("failed to evaluate dependency db: ")
        ));
        assert!(matches!(
            judge(&this, "apps", "db", Some("dep.metadata.name"), Some(&d), false),
            Verdict::NotReady(m) if m.contains("not a boolean")
        ));
    }
}
