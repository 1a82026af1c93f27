//! `policy.helmrelease.dev/v1alpha1` HelmReleasePolicy: which rules apply, how hard, where.
//!
//! Rules left out of `spec.rules` keep their built-in default action (DESIGN.md section 5).

use crate::meta::Condition;
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Policy for HelmReleases and their sources, cluster-scoped.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "policy.helmrelease.dev",
    version = "v1alpha1",
    kind = "HelmReleasePolicy",
    status = "HelmReleasePolicyStatus",
    shortname = "hrpol",
    category = "helmrelease",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "HelmReleasePolicy selects namespaces and sets the action of each admission rule",
    derive = "Default",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleasePolicySpec {
    /// Namespaces the policy applies to; all when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespaces never checked, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_namespaces: Option<Vec<String>>,
    /// Per-rule settings.
    #[serde(default)]
    pub rules: Rules,
}

/// What a rule does when it finds a violation.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema,
)]
pub enum Action {
    /// Deny admission.
    Enforce,
    /// Admit with a warning.
    Warn,
    /// Admit silently; report in `audit`.
    Audit,
    /// Do not evaluate.
    Off,
}

/// Settings of every rule, keyed by rule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rules {
    /// `pinned-version`: chart versions are one exact SemVer version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_version: Option<RuleSettings>,
    /// `pinned-oci-ref`: OCIRepositories pin a digest or a fixed tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_oci_ref: Option<RuleSettings>,
    /// `explicit-source-namespace`: source references name their namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit_source_namespace: Option<RuleSettings>,
    /// `allowed-source-namespaces`: cross-namespace references only to listed namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_source_namespaces: Option<AllowedSourceNamespaces>,
    /// `cleanup-on-fail`: `spec.upgrade.cleanupOnFail: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_on_fail: Option<RuleSettings>,
    /// `remediation-retries`: install and upgrade remediation retries of at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation_retries: Option<RemediationRetries>,
    /// `max-history`: `spec.maxHistory` between 1 and a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_history: Option<MaxHistory>,
    /// `deletion-protection`: protected HelmReleases cannot be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protection: Option<RuleSettings>,
}

/// Settings of a rule without parameters.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct RuleSettings {
    /// Action; the rule's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// Settings of `allowed-source-namespaces`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct AllowedSourceNamespaces {
    /// Action; `Off` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Namespaces that cross-namespace references may point to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

/// Settings of `remediation-retries`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemediationRetries {
    /// Action; `Warn` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Retries the mutating webhook fills in (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub default_retries: Option<i64>,
}

/// Settings of `max-history`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct MaxHistory {
    /// Action; `Warn` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Highest allowed `maxHistory` (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub limit: Option<i64>,
}

/// Observed state of a HelmReleasePolicy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleasePolicyStatus {
    /// Last observed generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}
