//! CRD generation: the YAML that `crdgen` writes into `crds/` and that a test keeps current.

use crate::{HelmChart, HelmRelease, HelmReleasePolicy, HelmRepository, source};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::crd::{CustomResourceExt, merge_crds};

/// A generated CRD and the file name it is stored under in `crds/`.
#[derive(Debug)]
pub struct GeneratedCrd {
    /// File name, `<group>_<plural>.yaml` like Flux names its CRDs.
    pub file_name: String,
    /// The CRD.
    pub crd: CustomResourceDefinition,
}

/// Why generation failed; only a broken type definition can cause it.
#[derive(Debug)]
pub struct CrdgenError(pub String);

impl std::fmt::Display for CrdgenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CrdgenError {}

/// Every CRD of the project, in a stable order.
pub fn all() -> Result<Vec<GeneratedCrd>, CrdgenError> {
    let oci = merge_crds(
        vec![
            source::oci_v1::OCIRepository::crd(),
            source::oci_v1beta2::OCIRepository::crd(),
        ],
        "v1",
    )
    .map_err(|e| CrdgenError(format!("merging OCIRepository versions: {e}")))?;
    let mut crds = vec![
        HelmRelease::crd(),
        HelmRepository::crd(),
        HelmChart::crd(),
        oci,
        HelmReleasePolicy::crd(),
    ];
    for crd in &mut crds {
        if crd.spec.group.ends_with(".fluxcd.io") {
            flux_status_default(crd);
        }
        strip_nullable(crd)?;
        object_envelope(crd);
        for version in &mut crd.spec.versions {
            if version.name == "v1beta2" {
                version.deprecated = Some(true);
                version.deprecation_warning = Some(
                    "source.toolkit.fluxcd.io/v1beta2 OCIRepository is deprecated, upgrade to v1"
                        .to_string(),
                );
            }
        }
    }
    Ok(crds
        .into_iter()
        .map(|crd| GeneratedCrd {
            file_name: format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural),
            crd,
        })
        .collect())
}

/// The `openAPIV3Schema` of every version.
fn root_schemas(
    crd: &mut CustomResourceDefinition,
) -> impl Iterator<
    Item = &mut k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps,
> {
    crd.spec.versions.iter_mut().filter_map(|v| {
        v.schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
    })
}

/// Flux defaults `status` to `{"observedGeneration": -1}` so a new object reads as never observed.
fn flux_status_default(crd: &mut CustomResourceDefinition) {
    for schema in root_schemas(crd) {
        if let Some(status) = schema.properties.as_mut().and_then(|p| p.get_mut("status")) {
            status.default = Some(
                k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON(
                    serde_json::json!({ "observedGeneration": -1 }),
                ),
            );
        }
    }
}

/// Flux's schemas declare the object envelope and do not require `spec`; ours do the same so
/// an object Flux admits is never rejected by our CRD.
fn object_envelope(crd: &mut CustomResourceDefinition) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
    let field = |ty: &str, description: &str| JSONSchemaProps {
        type_: Some(ty.to_string()),
        description: Some(description.to_string()),
        ..JSONSchemaProps::default()
    };
    for schema in root_schemas(crd) {
        schema.required = None;
        let properties = schema.properties.get_or_insert_with(Default::default);
        properties.insert(
            "apiVersion".into(),
            field(
                "string",
                "APIVersion defines the versioned schema of this representation of an object.",
            ),
        );
        properties.insert(
            "kind".into(),
            field(
                "string",
                "Kind is a string value representing the REST resource this object represents.",
            ),
        );
        // The apiserver refuses anything but the type here (a description included): "must
        // not specify anything other than name and generateName".
        properties.insert(
            "metadata".into(),
            JSONSchemaProps {
                type_: Some("object".into()),
                ..JSONSchemaProps::default()
            },
        );
    }
}

/// `Option` fields come out of schemars as `nullable: true`. Flux's CRDs mark nothing nullable,
/// and the apiserver prunes explicit nulls of non-nullable fields, which is what users expect.
fn strip_nullable(crd: &mut CustomResourceDefinition) -> Result<(), CrdgenError> {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                if map.get("nullable") == Some(&serde_json::Value::Bool(true)) {
                    map.remove("nullable");
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    for version in &mut crd.spec.versions {
        if let Some(schema) = version.schema.as_mut() {
            let mut value = serde_json::to_value(&*schema)
                .map_err(|e| CrdgenError(format!("schema of {}: {e}", crd.spec.names.plural)))?;
            walk(&mut value);
            *schema = serde_json::from_value(value)
                .map_err(|e| CrdgenError(format!("schema of {}: {e}", crd.spec.names.plural)))?;
        }
    }
    Ok(())
}

/// The YAML text of a CRD as stored in `crds/`.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, CrdgenError> {
    let body = serde_saphyr::to_string(crd)
        .map_err(|e| CrdgenError(format!("serialising {}: {e}", crd.spec.names.plural)))?;
    Ok(format!(
        "# Generated by `cargo run -p helmrelease-crds --bin crdgen`; do not edit.\n---\n{body}"
    ))
}
