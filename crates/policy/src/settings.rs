//! Which rules apply where, and how hard: built-in defaults merged with `HelmReleasePolicy`
//! objects.

use crate::RuleId;
use helmrelease_crds::policy::{Action, HelmReleasePolicy, HelmReleasePolicySpec};
use k8s_openapi_labels::matches_selector;
use std::collections::BTreeMap;

/// Effective settings of every rule for one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    actions: [Action; RuleId::ALL.len()],
    /// Namespaces cross-namespace references may point to (`allowed-source-namespaces`).
    pub allowed_source_namespaces: Vec<String>,
    /// Retries the mutation fills in (`remediation-retries`).
    pub default_retries: i64,
    /// Highest allowed `maxHistory` (`max-history`).
    pub max_history_limit: i64,
}

impl Default for Settings {
    /// The built-in defaults of DESIGN.md section 5.
    fn default() -> Self {
        let mut actions = [Action::Off; RuleId::ALL.len()];
        for rule in RuleId::ALL {
            actions[rule as usize] = rule.default_action();
        }
        Settings {
            actions,
            allowed_source_namespaces: Vec::new(),
            default_retries: 3,
            max_history_limit: 10,
        }
    }
}

impl Settings {
    /// The action of a rule.
    pub fn action(&self, rule: RuleId) -> Action {
        self.actions[rule as usize]
    }

    /// Sets the action of a rule.
    pub fn set_action(&mut self, rule: RuleId, action: Action) {
        self.actions[rule as usize] = action;
    }

    /// Settings from one policy spec over the defaults.
    fn from_spec(spec: &HelmReleasePolicySpec) -> Settings {
        let mut s = Settings::default();
        let r = &spec.rules;
        let simple = [
            (
                RuleId::PinnedVersion,
                r.pinned_version.as_ref().and_then(|x| x.action),
            ),
            (
                RuleId::PinnedOciRef,
                r.pinned_oci_ref.as_ref().and_then(|x| x.action),
            ),
            (
                RuleId::ExplicitSourceNamespace,
                r.explicit_source_namespace.as_ref().and_then(|x| x.action),
            ),
            (
                RuleId::AllowedSourceNamespaces,
                r.allowed_source_namespaces.as_ref().and_then(|x| x.action),
            ),
            (
                RuleId::CleanupOnFail,
                r.cleanup_on_fail.as_ref().and_then(|x| x.action),
            ),
            (
                RuleId::RemediationRetries,
                r.remediation_retries.as_ref().and_then(|x| x.action),
            ),
            (
                RuleId::MaxHistory,
                r.max_history.as_ref().and_then(|x| x.action),
            ),
            (
                RuleId::DeletionProtection,
                r.deletion_protection.as_ref().and_then(|x| x.action),
            ),
        ];
        for (rule, action) in simple {
            if let Some(action) = action {
                s.set_action(rule, action);
            }
        }
        if let Some(a) = &r.allowed_source_namespaces {
            s.allowed_source_namespaces = a.namespaces.clone();
            // A list without an action means the admin wants it enforced.
            if a.action.is_none() && !a.namespaces.is_empty() {
                s.set_action(RuleId::AllowedSourceNamespaces, Action::Enforce);
            }
        }
        if let Some(retries) = r
            .remediation_retries
            .as_ref()
            .and_then(|x| x.default_retries)
        {
            s.default_retries = retries.max(1);
        }
        if let Some(limit) = r.max_history.as_ref().and_then(|x| x.limit) {
            s.max_history_limit = limit.max(1);
        }
        s
    }

    /// Combines two settings, keeping the stricter of each: the stricter action, the lower
    /// history limit, more retries, and only namespaces both allow.
    fn stricter(mut self, other: &Settings) -> Settings {
        for rule in RuleId::ALL {
            let action = self.action(rule).min(other.action(rule));
            self.set_action(rule, action);
        }
        let a_on = self.allowed_source_namespaces.is_empty();
        self.allowed_source_namespaces = if a_on {
            other.allowed_source_namespaces.clone()
        } else if other.allowed_source_namespaces.is_empty() {
            self.allowed_source_namespaces
        } else {
            self.allowed_source_namespaces
                .into_iter()
                .filter(|n| other.allowed_source_namespaces.contains(n))
                .collect()
        };
        self.default_retries = self.default_retries.max(other.default_retries);
        self.max_history_limit = self.max_history_limit.min(other.max_history_limit);
        self
    }
}

/// All policies in force.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<(String, HelmReleasePolicySpec)>,
}

impl PolicySet {
    /// No policy objects: the built-in defaults apply everywhere.
    pub fn builtin() -> PolicySet {
        PolicySet::default()
    }

    /// The given policies, applied in name order.
    pub fn new(policies: impl IntoIterator<Item = HelmReleasePolicy>) -> PolicySet {
        let mut policies: Vec<(String, HelmReleasePolicySpec)> = policies
            .into_iter()
            .map(|p| (p.metadata.name.clone().unwrap_or_default(), p.spec))
            .collect();
        policies.sort_by(|a, b| a.0.cmp(&b.0));
        PolicySet { policies }
    }

    /// How many policy objects there are.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// True with no policy objects.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Settings for a namespace. Every policy selecting it contributes and the stricter value
    /// wins per rule; a namespace no policy selects gets the built-in defaults, so a new
    /// namespace is never left unprotected. `labels` are the namespace's labels when known; a
    /// policy with a `namespaceSelector` does not select a namespace whose labels are unknown.
    pub fn settings_for(
        &self,
        namespace: &str,
        labels: Option<&BTreeMap<String, String>>,
    ) -> Settings {
        let mut selected = self
            .policies
            .iter()
            .filter(|(_, spec)| selects(spec, namespace, labels));
        let Some((_, first)) = selected.next() else {
            return Settings::default();
        };
        selected.fold(Settings::from_spec(first), |acc, (_, spec)| {
            acc.stricter(&Settings::from_spec(spec))
        })
    }
}

fn selects(
    spec: &HelmReleasePolicySpec,
    namespace: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    if spec
        .exclude_namespaces
        .as_ref()
        .is_some_and(|ex| ex.iter().any(|n| n == namespace))
    {
        return false;
    }
    match &spec.namespace_selector {
        None => true,
        Some(selector) => match labels {
            Some(labels) => matches_selector(selector, labels),
            None => {
                selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
                    && selector
                        .match_expressions
                        .as_ref()
                        .is_none_or(|e| e.is_empty())
            }
        },
    }
}

/// Label selector matching (`metav1.LabelSelector`).
mod k8s_openapi_labels {
    use helmrelease_crds::policy::LabelSelector;
    use std::collections::BTreeMap;

    /// True when `labels` satisfy every requirement of `selector`. An unknown operator matches
    /// nothing, as the apiserver rejects it.
    pub fn matches_selector(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
        let labels_ok = selector
            .match_labels
            .as_ref()
            .is_none_or(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)));
        let expressions_ok = selector.match_expressions.as_ref().is_none_or(|exprs| {
            exprs.iter().all(|e| {
                let values = e.values.as_deref().unwrap_or_default();
                let value = labels.get(&e.key);
                match e.operator.as_str() {
                    "In" => value.is_some_and(|v| values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
        });
        labels_ok && expressions_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmrelease_crds::policy::{
        LabelSelector, LabelSelectorRequirement, MaxHistory, RuleSettings, Rules,
    };

    fn policy(name: &str, spec: HelmReleasePolicySpec) -> HelmReleasePolicy {
        HelmReleasePolicy::new(name, spec)
    }

    #[test]
    fn no_policies_means_builtin_defaults() {
        let s = PolicySet::builtin().settings_for("apps", None);
        assert_eq!(s.action(RuleId::PinnedVersion), Action::Enforce);
        assert_eq!(s.action(RuleId::CleanupOnFail), Action::Warn);
        assert_eq!(s.action(RuleId::AllowedSourceNamespaces), Action::Off);
        assert_eq!((s.default_retries, s.max_history_limit), (3, 10));
    }

    #[test]
    fn selection_exclusion_and_strictest_wins() {
        let team = HelmReleasePolicySpec {
            namespace_selector: Some(LabelSelector {
                match_labels: Some([("tier".to_string(), "prod".to_string())].into()),
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "team".into(),
                    operator: "Exists".into(),
                    values: None,
                }]),
            }),
            rules: Rules {
                cleanup_on_fail: Some(RuleSettings {
                    action: Some(Action::Enforce),
                }),
                max_history: Some(MaxHistory {
                    action: None,
                    limit: Some(4),
                }),
                ..Rules::default()
            },
            ..HelmReleasePolicySpec::default()
        };
        let relaxed = HelmReleasePolicySpec {
            exclude_namespaces: Some(vec!["kube-system".into()]),
            rules: Rules {
                pinned_version: Some(RuleSettings {
                    action: Some(Action::Warn),
                }),
                cleanup_on_fail: Some(RuleSettings {
                    action: Some(Action::Off),
                }),
                ..Rules::default()
            },
            ..HelmReleasePolicySpec::default()
        };
        let set = PolicySet::new([policy("team", team), policy("relaxed", relaxed)]);
        let prod: BTreeMap<String, String> = [
            ("tier".to_string(), "prod".to_string()),
            ("team".to_string(), "a".to_string()),
        ]
        .into();
        let s = set.settings_for("shop", Some(&prod));
        assert_eq!(
            s.action(RuleId::CleanupOnFail),
            Action::Enforce,
            "stricter of Enforce and Off"
        );
        assert_eq!(
            s.action(RuleId::PinnedVersion),
            Action::Enforce,
            "team keeps the default"
        );
        assert_eq!(s.max_history_limit, 4);

        let dev: BTreeMap<String, String> = [("tier".to_string(), "dev".to_string())].into();
        let s = set.settings_for("dev", Some(&dev));
        assert_eq!(
            s.action(RuleId::PinnedVersion),
            Action::Warn,
            "only relaxed selects dev"
        );
        assert_eq!(s.action(RuleId::CleanupOnFail), Action::Off);

        let s = set.settings_for("kube-system", Some(&dev));
        assert_eq!(
            s,
            Settings::default(),
            "excluded everywhere: built-in defaults"
        );
        let s = set.settings_for("shop", None);
        assert_eq!(
            s.action(RuleId::PinnedVersion),
            Action::Warn,
            "unknown labels: selector policies skip"
        );
    }
}
