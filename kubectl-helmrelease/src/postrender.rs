//! Flux's post-rendering (kustomize patches and images, origin labels, `commonMetadata`)
//! lives in `helmrelease-flux`, shared with the controller.

pub use helmrelease_flux::postrender::{
    ORIGIN_NAME, ORIGIN_NAMESPACE, apply, apply_common_metadata, apply_origin_labels,
};
