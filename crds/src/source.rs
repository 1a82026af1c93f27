//! `source.toolkit.fluxcd.io` Helm sources: HelmRepository, HelmChart and OCIRepository (`v1`),
//! plus OCIRepository `v1beta2`, which older manifests still use.

use crate::helmrelease::{ChartSourceKind, ReconcileStrategy};
use crate::meta::{
    Artifact, Condition, DURATION_PATTERN, LocalObjectReference, OciVerification, TIMEOUT_PATTERN,
};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where Helm charts come from: an HTTP(S) chart repository index or an OCI registry.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmRepository",
    namespaced,
    status = "SourceStatus",
    shortname = "helmrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    doc = "HelmRepository is the Schema for the helmrepositories API",
    derive = "Default",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositorySpec {
    /// Repository address: `http(s)://` index or `oci://` registry.
    #[schemars(regex(pattern = r"^(http|https|oci)://.*$"))]
    pub url: String,
    /// Secret with `username`/`password` (or a docker config for OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret with `tls.crt`, `tls.key` and `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Send credentials to chart hosts other than the index host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_credentials: Option<bool>,
    /// How often the index is fetched (default 1m; ignored for OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: Option<String>,
    /// Plain-HTTP registry (OCI only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Timeout of index fetches and OCI pulls (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN))]
    pub timeout: Option<String>,
    /// Suspend reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Provisional, not implemented by Flux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// Repository type: `default` (HTTP index) or `oci`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub type_: Option<HelmRepositoryType>,
    /// Cloud provider for OCI authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<Provider>,
}

/// HelmRepository types.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HelmRepositoryType {
    /// An HTTP(S) chart repository with an `index.yaml`.
    Default,
    /// An OCI registry.
    Oci,
}

/// Cloud providers for registry authentication.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Static credentials.
    Generic,
    /// Amazon ECR.
    Aws,
    /// Azure Container Registry.
    Azure,
    /// Google Artifact Registry.
    Gcp,
}

/// Namespaces allowed to use a source (provisional).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessFrom {
    /// Namespace selectors.
    pub namespace_selectors: Vec<NamespaceSelector>,
}

/// A label selector over namespaces.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// Labels to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}

/// Observed state of a HelmRepository (and the common part of every source).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    /// Last observed generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Address of the last artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The last artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Last handled `reconcile.fluxcd.io/requestedAt` token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// A chart pulled from a source and packaged as an artifact.
#[derive(
    CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq,
)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmChart",
    namespaced,
    status = "HelmChartStatus",
    shortname = "hc",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    printcolumn(name = "Chart", type_ = "string", json_path = ".spec.chart"),
    printcolumn(name = "Version", type_ = "string", json_path = ".spec.version"),
    printcolumn(
        name = "Source Kind",
        type_ = "string",
        json_path = ".spec.sourceRef.kind"
    ),
    printcolumn(
        name = "Source Name",
        type_ = "string",
        json_path = ".spec.sourceRef.name"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    doc = "HelmChart is the Schema for the helmcharts API",
    derive = "Default",
    derive = "PartialEq"
)]
#[x_kube(validation = Rule::new("!has(self.verify) || self.sourceRef.kind == 'HelmRepository'").message("spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'"))]
#[serde(rename_all = "camelCase")]
pub struct HelmChartSpec {
    /// Chart name (HelmRepository) or path (GitRepository, Bucket).
    pub chart: String,
    /// SemVer constraint of the chart version; Flux defaults it to `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "*"))]
    pub version: Option<String>,
    /// The source in the same namespace.
    pub source_ref: LocalHelmChartSourceReference,
    /// How often the source is checked for a new chart.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,
    /// When a new artifact is produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "ChartVersion"))]
    pub reconcile_strategy: Option<ReconcileStrategy>,
    /// Values files replacing the chart's values.yaml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_files: Option<Vec<String>>,
    /// Tolerate missing values files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_values_files: Option<bool>,
    /// Suspend reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// OCI signature verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<OciVerificationNoRoot>,
}

/// Signature verification without the notation trusted root (HelmChart).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OciVerificationNoRoot {
    /// Verification provider.
    #[schemars(extend("default" = "cosign"))]
    pub provider: crate::meta::VerificationProvider,
    /// Secret holding the trusted public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Keyless identities to match (cosign).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "matchOIDCIdentity"
    )]
    pub match_oidc_identity: Option<Vec<crate::meta::OidcIdentityMatch>>,
}

/// A source in the HelmChart's own namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalHelmChartSourceReference {
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    pub kind: ChartSourceKind,
    /// Name of the referent.
    pub name: String,
}

/// Observed state of a HelmChart.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartStatus {
    /// Last observed generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Source artifact revision the chart came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_source_artifact_revision: Option<String>,
    /// Chart name last resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_chart_name: Option<String>,
    /// Values files last used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_values_files: Option<Vec<String>>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Address of the last artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The last artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Last handled `reconcile.fluxcd.io/requestedAt` token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// `source.toolkit.fluxcd.io/v1` OCIRepository.
pub mod oci_v1 {
    use super::*;

    /// An OCI artifact, typically a Helm chart consumed through `HelmRelease.spec.chartRef`.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
    )]
    #[kube(
        group = "source.toolkit.fluxcd.io",
        version = "v1",
        kind = "OCIRepository",
        namespaced,
        status = "OCIRepositoryStatus",
        shortname = "ocirepo",
        category = "all",
        category = "fluxcd",
        category = "fluxcd-sources",
        annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
        printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
        printcolumn(
            name = "Ready",
            type_ = "string",
            json_path = ".status.conditions[?(@.type==\"Ready\")].status"
        ),
        printcolumn(
            name = "Status",
            type_ = "string",
            json_path = ".status.conditions[?(@.type==\"Ready\")].message"
        ),
        printcolumn(
            name = "Age",
            type_ = "date",
            json_path = ".metadata.creationTimestamp"
        ),
        doc = "OCIRepository is the Schema for the ocirepositories API",
        derive = "Default",
        derive = "PartialEq"
    )]
    #[serde(rename_all = "camelCase")]
    pub struct OCIRepositorySpec {
        /// Artifact address, `oci://<host>/<path>`.
        #[schemars(regex(pattern = r"^oci://.*$"))]
        pub url: String,
        /// Which artifact to pull; default tag `latest`.
        #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
        pub reference: Option<OCIRepositoryRef>,
        /// Which layer to extract or copy.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub layer_selector: Option<OCILayerSelector>,
        /// Cloud provider for registry authentication.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("default" = "generic"))]
        pub provider: Option<Provider>,
        /// Signature verification.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub verify: Option<OciVerification>,
        /// Registry credentials.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub secret_ref: Option<LocalObjectReference>,
        /// ServiceAccount whose image pull secrets are used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_account_name: Option<String>,
        /// TLS client certificate and CA.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cert_secret_ref: Option<LocalObjectReference>,
        /// Proxy settings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub proxy_secret_ref: Option<LocalObjectReference>,
        /// How often the registry is checked.
        #[schemars(regex(pattern = DURATION_PATTERN))]
        pub interval: String,
        /// Timeout of registry operations (default 60s).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(regex(pattern = TIMEOUT_PATTERN), extend("default" = "60s"))]
        pub timeout: Option<String>,
        /// .sourceignore-style exclusions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ignore: Option<String>,
        /// Plain-HTTP registry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub insecure: Option<bool>,
        /// Suspend reconciliation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub suspend: Option<bool>,
    }

    /// Which OCI artifact to pull. Precedence: digest, then semver, then tag.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct OCIRepositoryRef {
        /// Exact digest, `sha256:<hex>`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub digest: Option<String>,
        /// SemVer range over the tags.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub semver: Option<String>,
        /// Regular expression filtering tags before the semver match.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub semver_filter: Option<String>,
        /// Tag.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub tag: Option<String>,
    }

    /// Layer selection.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct OCILayerSelector {
        /// Media type of the layer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub media_type: Option<String>,
        /// `extract` or `copy`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub operation: Option<LayerOperation>,
    }

    /// What to do with the selected layer.
    #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum LayerOperation {
        /// Untar the layer.
        Extract,
        /// Keep the layer as is.
        Copy,
    }

    /// Observed state of an OCIRepository.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct OCIRepositoryStatus {
        /// Last observed generation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub observed_generation: Option<i64>,
        /// Conditions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub conditions: Option<Vec<Condition>>,
        /// Address of the last artifact.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
        /// The last artifact.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub artifact: Option<Artifact>,
        /// Exclusions last applied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub observed_ignore: Option<String>,
        /// Layer selector last applied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub observed_layer_selector: Option<OCILayerSelector>,
        /// Last handled `reconcile.fluxcd.io/requestedAt` token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub last_handled_reconcile_at: Option<String>,
    }
}

/// `source.toolkit.fluxcd.io/v1beta2` OCIRepository: the same fields as `v1`, read from older
/// manifests. Current Flux no longer serves it.
pub mod oci_v1beta2 {
    use super::oci_v1::{OCILayerSelector, OCIRepositoryRef, OCIRepositoryStatus};
    use super::*;

    /// An OCI artifact (`v1beta2`).
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
    )]
    #[kube(
        group = "source.toolkit.fluxcd.io",
        version = "v1beta2",
        kind = "OCIRepository",
        namespaced,
        status = "OCIRepositoryStatus",
        shortname = "ocirepo",
        category = "all",
        category = "fluxcd",
        category = "fluxcd-sources",
        annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
        printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
        printcolumn(
            name = "Ready",
            type_ = "string",
            json_path = ".status.conditions[?(@.type==\"Ready\")].status"
        ),
        printcolumn(
            name = "Status",
            type_ = "string",
            json_path = ".status.conditions[?(@.type==\"Ready\")].message"
        ),
        printcolumn(
            name = "Age",
            type_ = "date",
            json_path = ".metadata.creationTimestamp"
        ),
        doc = "OCIRepository is the Schema for the ocirepositories API",
        derive = "Default",
        derive = "PartialEq"
    )]
    #[serde(rename_all = "camelCase")]
    pub struct OCIRepositorySpec {
        /// Artifact address, `oci://<host>/<path>`.
        #[schemars(regex(pattern = r"^oci://.*$"))]
        pub url: String,
        /// Which artifact to pull; default tag `latest`.
        #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
        pub reference: Option<OCIRepositoryRef>,
        /// Which layer to extract or copy.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub layer_selector: Option<OCILayerSelector>,
        /// Cloud provider for registry authentication.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub provider: Option<Provider>,
        /// Signature verification.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub verify: Option<OciVerification>,
        /// Registry credentials.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub secret_ref: Option<LocalObjectReference>,
        /// ServiceAccount whose image pull secrets are used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_account_name: Option<String>,
        /// TLS client certificate and CA.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cert_secret_ref: Option<LocalObjectReference>,
        /// How often the registry is checked.
        pub interval: String,
        /// Timeout of registry operations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timeout: Option<String>,
        /// .sourceignore-style exclusions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ignore: Option<String>,
        /// Plain-HTTP registry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub insecure: Option<bool>,
        /// Suspend reconciliation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub suspend: Option<bool>,
    }

    impl From<OCIRepositorySpec> for super::oci_v1::OCIRepositorySpec {
        fn from(s: OCIRepositorySpec) -> Self {
            Self {
                url: s.url,
                reference: s.reference,
                layer_selector: s.layer_selector,
                provider: s.provider,
                verify: s.verify,
                secret_ref: s.secret_ref,
                service_account_name: s.service_account_name,
                cert_secret_ref: s.cert_secret_ref,
                proxy_secret_ref: None,
                interval: s.interval,
                timeout: s.timeout,
                ignore: s.ignore,
                insecure: s.insecure,
                suspend: s.suspend,
            }
        }
    }
}
