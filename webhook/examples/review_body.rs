//! Prints an AdmissionReview (CREATE) wrapping the 5 KB HelmRelease the policy benchmarks use,
//! as the body of the load test.
//!
//! `cargo run -p helmrelease-webhook --example review_body > review.json`

fn main() {
    let object = helmrelease_policy::fixtures::helmrelease_5kb();
    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "helm.toolkit.fluxcd.io", "version": "v2", "kind": "HelmRelease"},
            "resource": {"group": "helm.toolkit.fluxcd.io", "version": "v2", "resource": "helmreleases"},
            "name": "shop",
            "namespace": "apps",
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:flux-system:kustomize-controller"},
            "object": object,
            "oldObject": null,
            "dryRun": false
        }
    });
    println!("{review}");
}
