//! The deploy manifests under `manifests/`: kustomizations complete, built-in objects free of
//! unknown fields, webhook configurations and Deployment as the issue asks, RBAC least-privilege,
//! the default HelmReleasePolicy valid against our generated CRD, and the
//! ValidatingAdmissionPolicy's CEL evaluated against fixtures.

#![allow(clippy::expect_used, clippy::unwrap_used)] // helpers of tests: panicking is failing

mod support;

use helmrelease_crds::HelmReleasePolicy;
use helmrelease_crds::policy::Action;
use regex::Regex;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use support::structural::validate;
use support::yaml_docs;

const NAMESPACE: &str = "helmrelease-system";
const NAME: &str = "helmrelease-webhook";
const TLS_SECRET: &str = "helmrelease-webhook-tls";
const SERVICE_DNS: &str = "helmrelease-webhook.helmrelease-system.svc";
const IMAGE: &str = "ghcr.io/helmrelease/helmrelease-webhook:0.1.0";

/// Exact SemVer 2.0 with an optional leading `v`; the policy's CEL must use this very literal.
const EXACT_SEMVER: &str = r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$";
const EXACT_VERSIONS: &[&str] = &["1.2.3", "v1.2.3", "1.0.0-rc.1", "1.2.3+build.5"];
const NOT_EXACT_VERSIONS: &[&str] = &[
    "^1", "~1.2", "1.2", "*", "", ">=1.0.0", "1.x", "01.2.3", "latest",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifests() -> PathBuf {
    root().join("manifests")
}

/// Every folder under `manifests/`, sorted, the root first.
fn folders() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        out.push(dir.to_path_buf());
        let mut children: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.is_dir())
            .collect();
        children.sort();
        for child in children {
            walk(&child, out);
        }
    }
    let mut out = Vec::new();
    walk(&manifests(), &mut out);
    out
}

/// The files (not folders) directly in `dir`, by name.
fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

/// Every object of every YAML file of one folder (not its subfolders), kustomizations excepted.
fn objects_in(folder: &str) -> Vec<Value> {
    let dir = manifests().join(folder);
    files_in(&dir)
        .into_iter()
        .filter(|n| is_yaml(n) && n != "kustomization.yaml")
        .flat_map(|n| yaml_docs(&dir.join(n)))
        .collect()
}

/// The one object of `kind` in `folder`.
fn one(folder: &str, kind: &str) -> Value {
    let found: Vec<_> = objects_in(folder)
        .into_iter()
        .filter(|o| o["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "manifests/{folder}: expected one {kind}");
    found.into_iter().next().unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list of strings, got {value}"))
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_yaml_file_parses_and_every_kustomization_lists_its_folder() {
    let folders = folders();
    assert!(folders.len() >= 5, "manifests/ and its four folders");
    let mut overlay_found = false;
    for dir in &folders[1..] {
        let shown = dir.strip_prefix(root()).unwrap().display().to_string();
        let files = files_in(dir);
        for name in files.iter().filter(|n| is_yaml(n)) {
            let docs = yaml_docs(&dir.join(name));
            assert!(!docs.is_empty(), "{shown}/{name}: no document");
            for doc in &docs {
                assert!(
                    doc["apiVersion"].is_string() && doc["kind"].is_string(),
                    "{shown}/{name}: a document without apiVersion or kind"
                );
                if name != "kustomization.yaml" {
                    assert!(
                        doc["metadata"]["name"].is_string(),
                        "{shown}/{name}: an object without metadata.name"
                    );
                }
            }
        }

        assert!(
            files.contains("kustomization.yaml"),
            "{shown}: no kustomization.yaml"
        );
        let kustomization = yaml_docs(&dir.join("kustomization.yaml"));
        assert_eq!(kustomization.len(), 1, "{shown}/kustomization.yaml");
        let k = &kustomization[0];
        assert_eq!(k["kind"], "Kustomization", "{shown}/kustomization.yaml");
        let mut listed = Vec::new();
        for resource in strings(&k["resources"]) {
            listed.push(resource);
        }
        for field in ["patches", "components"] {
            for patch in k[field].as_array().into_iter().flatten() {
                if let Some(path) = patch["path"].as_str().or(patch.as_str()) {
                    listed.push(path.to_string());
                }
            }
        }
        let mut local = BTreeSet::new();
        for entry in &listed {
            assert!(
                !entry.contains("crds"),
                "{shown}: lists {entry}; our CRDs are never part of the default manifests"
            );
            if entry.contains('/') {
                let target = dir.join(entry);
                assert!(
                    target.join("kustomization.yaml").is_file(),
                    "{shown}: {entry} is not a kustomization"
                );
                if entry == "../webhook" {
                    overlay_found = true;
                }
            } else {
                assert!(local.insert(entry.clone()), "{shown}: {entry} listed twice");
            }
        }
        let expected: BTreeSet<_> = files
            .iter()
            .filter(|n| *n != "kustomization.yaml" && *n != "README.md")
            .cloned()
            .collect();
        assert_eq!(
            local, expected,
            "{shown}/kustomization.yaml must list exactly the files of its folder"
        );
    }
    assert!(overlay_found, "no overlay references ../webhook");
    let overlay = &yaml_docs(&manifests().join("cert-manager/kustomization.yaml"))[0];
    assert!(
        strings(&overlay["resources"]).contains(&"../webhook".to_string()),
        "manifests/cert-manager must build on ../webhook"
    );

    // Alongside Flux, nothing of ours may replace Flux's CRDs.
    for dir in &folders {
        for name in files_in(dir).iter().filter(|n| is_yaml(n)) {
            for doc in yaml_docs(&dir.join(name)) {
                assert_ne!(
                    doc["kind"],
                    "CustomResourceDefinition",
                    "{}/{name}: CRDs come from crds/, not manifests/",
                    dir.display()
                );
            }
        }
    }
}

#[test]
fn namespaced_objects_live_in_helmrelease_system() {
    let cluster_scoped = [
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ];
    for folder in ["webhook", "cert-manager"] {
        for object in objects_in(folder) {
            let kind = object["kind"].as_str().unwrap();
            let namespace = &object["metadata"]["namespace"];
            if cluster_scoped.contains(&kind) {
                assert!(namespace.is_null(), "{folder}: {kind} is cluster-scoped");
            } else {
                assert_eq!(namespace, NAMESPACE, "{folder}: {kind}");
            }
        }
    }
    assert_eq!(one("webhook", "Namespace")["metadata"]["name"], NAMESPACE);
}

/// `object` read into the k8s-openapi type and written back; equal to `object` only when every
/// field name is known to Kubernetes (the types skip unknown fields when reading).
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(object: &Value) -> Value {
    let typed: T = serde_json::from_value(object.clone())
        .unwrap_or_else(|e| panic!("{}: {e}", object["kind"]));
    serde_json::to_value(typed).unwrap()
}

#[test]
fn built_in_objects_use_only_known_kubernetes_fields() {
    use k8s_openapi::api::{admissionregistration, apps, core, policy, rbac};
    let mut checked = BTreeSet::new();
    for folder in ["webhook", "cert-manager", "validating-admission-policy"] {
        for object in objects_in(folder) {
            let kind = object["kind"].as_str().unwrap().to_string();
            let back = match kind.as_str() {
                "Namespace" => round_trip::<core::v1::Namespace>(&object),
                "ServiceAccount" => round_trip::<core::v1::ServiceAccount>(&object),
                "Service" => round_trip::<core::v1::Service>(&object),
                "ClusterRole" => round_trip::<rbac::v1::ClusterRole>(&object),
                "ClusterRoleBinding" => round_trip::<rbac::v1::ClusterRoleBinding>(&object),
                "Deployment" => round_trip::<apps::v1::Deployment>(&object),
                "PodDisruptionBudget" => round_trip::<policy::v1::PodDisruptionBudget>(&object),
                "ValidatingWebhookConfiguration" => {
                    round_trip::<admissionregistration::v1::ValidatingWebhookConfiguration>(&object)
                }
                "MutatingWebhookConfiguration" => {
                    round_trip::<admissionregistration::v1::MutatingWebhookConfiguration>(&object)
                }
                "ValidatingAdmissionPolicy" => {
                    round_trip::<admissionregistration::v1::ValidatingAdmissionPolicy>(&object)
                }
                "ValidatingAdmissionPolicyBinding" => round_trip::<
                    admissionregistration::v1::ValidatingAdmissionPolicyBinding,
                >(&object),
                "Issuer" | "Certificate" => continue, // cert-manager's, not in k8s-openapi
                other => panic!("{folder}: no check for kind {other}"),
            };
            assert_eq!(
                back, object,
                "{folder}: {kind} has a field Kubernetes does not know"
            );
            checked.insert(kind);
        }
    }
    assert_eq!(checked.len(), 11, "{checked:?}");
}

/// `(apiGroup, resource)` -> (apiVersions, operations) that a webhook must admit.
fn expected_rules(
    with_delete: bool,
) -> BTreeMap<(String, String), (BTreeSet<String>, BTreeSet<String>)> {
    let release_ops = if with_delete {
        set(&["CREATE", "UPDATE", "DELETE"])
    } else {
        set(&["CREATE", "UPDATE"])
    };
    let mut expected = BTreeMap::new();
    expected.insert(
        (
            "helm.toolkit.fluxcd.io".to_string(),
            "helmreleases".to_string(),
        ),
        (set(&["v2", "v2beta2", "v2beta1"]), release_ops),
    );
    for resource in ["helmcharts", "ocirepositories", "helmrepositories"] {
        expected.insert(
            ("source.toolkit.fluxcd.io".to_string(), resource.to_string()),
            (set(&["*"]), set(&["CREATE", "UPDATE"])),
        );
    }
    expected
}

#[test]
fn webhook_configurations_fail_closed_and_admit_exactly_our_resources() {
    for (kind, path, validating) in [
        ("ValidatingWebhookConfiguration", "/validate", true),
        ("MutatingWebhookConfiguration", "/mutate", false),
    ] {
        let config = one("webhook", kind);
        assert_eq!(config["apiVersion"], "admissionregistration.k8s.io/v1");
        assert_eq!(config["metadata"]["name"], NAME, "{kind}");
        let webhooks = config["webhooks"].as_array().expect("webhooks");
        assert!(!webhooks.is_empty(), "{kind}: no webhook");

        let mut admitted: BTreeMap<(String, String), (BTreeSet<String>, BTreeSet<String>)> =
            BTreeMap::new();
        let mut names = BTreeSet::new();
        for webhook in webhooks {
            let name = webhook["name"].as_str().expect("webhook name");
            assert!(names.insert(name), "{kind}: {name} twice");
            assert!(
                name.split('.').count() >= 3,
                "{kind}: {name} must be fully qualified"
            );
            assert_eq!(webhook["failurePolicy"], "Fail", "{kind}/{name}");
            assert_eq!(webhook["sideEffects"], "None", "{kind}/{name}");
            assert_eq!(webhook["timeoutSeconds"], 5, "{kind}/{name}");
            assert_eq!(
                webhook["admissionReviewVersions"],
                json!(["v1"]),
                "{kind}/{name}"
            );
            assert_eq!(webhook["matchPolicy"], "Equivalent", "{kind}/{name}");
            if validating {
                assert!(webhook.get("reinvocationPolicy").is_none(), "{kind}/{name}");
            } else {
                assert_eq!(webhook["reinvocationPolicy"], "Never", "{kind}/{name}");
            }
            assert_eq!(
                webhook["clientConfig"],
                json!({"service": {"name": NAME, "namespace": NAMESPACE, "path": path, "port": 443}}),
                "{kind}/{name}: clientConfig (no url; caBundle comes from cert-manager or the README)"
            );

            let selector = &webhook["namespaceSelector"];
            assert!(
                selector.get("matchLabels").is_none(),
                "{kind}/{name}: matchLabels would narrow the webhook to labelled namespaces"
            );
            let excluded = selector["matchExpressions"]
                .as_array()
                .expect("namespaceSelector.matchExpressions")
                .iter()
                .find(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
                .unwrap_or_else(|| panic!("{kind}/{name}: no NotIn on the namespace name"));
            assert_eq!(
                strings(&excluded["values"])
                    .into_iter()
                    .collect::<BTreeSet<_>>(),
                set(&["kube-system", NAMESPACE]),
                "{kind}/{name}"
            );
            assert!(
                webhook.get("objectSelector").is_none(),
                "{kind}/{name}: an objectSelector would let objects opt out"
            );

            for rule in webhook["rules"].as_array().expect("rules") {
                let scope = rule["scope"].as_str().unwrap_or("*");
                assert!(
                    matches!(scope, "Namespaced" | "*"),
                    "{kind}/{name}: scope {scope}"
                );
                for group in strings(&rule["apiGroups"]) {
                    for resource in strings(&rule["resources"]) {
                        assert!(
                            !resource.contains('/') && !resource.contains('*'),
                            "{kind}/{name}: {resource}: main resources only, no subresources"
                        );
                        let entry = admitted.entry((group.clone(), resource)).or_default();
                        entry.0.extend(strings(&rule["apiVersions"]));
                        entry.1.extend(strings(&rule["operations"]));
                    }
                }
            }
        }
        assert_eq!(admitted, expected_rules(validating), "{kind}: rules");
    }
}

/// A container port given by number or by name, as a number.
fn resolve_port(port: &Value, container: &Value) -> u64 {
    if let Some(n) = port.as_u64() {
        return n;
    }
    let name = port.as_str().expect("port number or name");
    container["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("no container port named {name}"))
}

/// The value of `--flag value` or `--flag=value` in `args`.
fn flag(args: &[String], name: &str) -> Option<String> {
    let with_eq = format!("{name}=");
    args.iter().enumerate().find_map(|(i, a)| {
        if a == name {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix(&with_eq).map(str::to_string)
        }
    })
}

#[test]
fn deployment_service_and_pdb_run_two_restricted_replicas() {
    let deployment = one("webhook", "Deployment");
    assert_eq!(deployment["metadata"]["name"], NAME);
    assert_eq!(deployment["spec"]["replicas"], 2);
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selector = &deployment["spec"]["selector"]["matchLabels"];
    for (k, v) in selector.as_object().expect("matchLabels") {
        assert_eq!(&labels[k], v, "the selector must match the pod template");
    }
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], NAME);
    assert_eq!(one("webhook", "ServiceAccount")["metadata"]["name"], NAME);
    assert_ne!(pod["hostNetwork"], true);
    assert_ne!(
        pod["automountServiceAccountToken"], false,
        "it talks to the API"
    );

    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    assert_eq!(container["image"], IMAGE);

    // Arguments: serve, TLS files under the mounted Secret, the two addresses.
    let args = strings(&container["args"]);
    assert_eq!(args.first().map(String::as_str), Some("serve"));
    let mount = container["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .find(|m| {
            pod["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v["name"] == m["name"] && v["secret"]["secretName"] == TLS_SECRET)
        })
        .expect("the TLS Secret is mounted")
        .clone();
    assert_eq!(mount["mountPath"], "/tls");
    assert_eq!(mount["readOnly"], true);
    for (name, file) in [
        ("--tls-cert-file", "tls.crt"),
        ("--tls-key-file", "tls.key"),
    ] {
        assert_eq!(
            flag(&args, name).as_deref(),
            Some(format!("/tls/{file}").as_str()),
            "{name} must point into the mounted Secret"
        );
    }
    assert_eq!(flag(&args, "--addr").as_deref(), Some("0.0.0.0:9443"));
    assert_eq!(flag(&args, "--admin-addr").as_deref(), Some("0.0.0.0:8080"));
    assert_eq!(resolve_port(&json!("https"), container), 9443);

    // Probes on the plain-HTTP admin port.
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(resolve_port(&get["port"], container), 8080, "{probe}");
        assert!(
            get["scheme"].is_null() || get["scheme"] == "HTTP",
            "{probe}: the admin port is plain HTTP"
        );
    }

    // Restricted Pod Security: each setting on the container, or on the pod where allowed.
    let csc = &container["securityContext"];
    let psc = &pod["securityContext"];
    assert!(csc["runAsNonRoot"] == true || psc["runAsNonRoot"] == true);
    assert_ne!(csc["runAsNonRoot"], false);
    assert_eq!(csc["readOnlyRootFilesystem"], true);
    assert_eq!(csc["allowPrivilegeEscalation"], false);
    assert_ne!(csc["privileged"], true);
    assert_eq!(csc["capabilities"]["drop"], json!(["ALL"]));
    assert!(csc["capabilities"]["add"].is_null());
    let seccomp = if csc["seccompProfile"].is_null() {
        &psc["seccompProfile"]
    } else {
        &csc["seccompProfile"]
    };
    assert_eq!(seccomp["type"], "RuntimeDefault");
    assert_ne!(csc["runAsUser"], 0);
    assert_ne!(psc["runAsUser"], 0);

    assert_eq!(
        container["resources"],
        json!({"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}})
    );

    // Spread across nodes.
    let preferred =
        pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            .as_array()
            .expect("preferred pod anti-affinity");
    assert!(preferred.iter().any(|t| {
        let term = &t["podAffinityTerm"];
        term["topologyKey"] == "kubernetes.io/hostname"
            && term["labelSelector"]["matchLabels"] == *selector
    }));

    // Service: 443 -> https (9443), 8080 -> metrics; selects the pods.
    let service = one("webhook", "Service");
    assert_eq!(service["metadata"]["name"], NAME);
    for (k, v) in service["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(&labels[k], v, "the Service must select the pods");
    }
    let ports = service["spec"]["ports"].as_array().expect("ports");
    let port = |name: &str| {
        ports
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("Service port {name}"))
    };
    assert_eq!(port("https")["port"], 443);
    assert_eq!(resolve_port(&port("https")["targetPort"], container), 9443);
    assert_eq!(port("metrics")["port"], 8080);
    assert_eq!(
        resolve_port(&port("metrics")["targetPort"], container),
        8080
    );

    let pdb = one("webhook", "PodDisruptionBudget");
    assert_eq!(pdb["apiVersion"], "policy/v1");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(pdb["spec"]["selector"]["matchLabels"], *selector);
}

#[test]
fn cluster_role_is_read_only_on_the_watched_resources() {
    let role = one("webhook", "ClusterRole");
    assert_eq!(role["metadata"]["name"], NAME);
    let mut granted: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for rule in role["rules"].as_array().expect("rules") {
        assert!(rule["nonResourceURLs"].is_null(), "no non-resource URLs");
        let verbs = strings(&rule["verbs"]);
        for verb in &verbs {
            assert!(
                matches!(verb.as_str(), "get" | "list" | "watch"),
                "verb {verb}: read-only only"
            );
        }
        for group in strings(&rule["apiGroups"]) {
            assert_ne!(group, "*");
            for resource in strings(&rule["resources"]) {
                assert!(
                    resource != "*" && resource != "secrets",
                    "resource {resource}"
                );
                granted
                    .entry((group.clone(), resource))
                    .or_default()
                    .extend(verbs.iter().cloned());
            }
        }
    }
    let mut expected = BTreeSet::new();
    for resource in [
        "helmrepositories",
        "helmcharts",
        "ocirepositories",
        "gitrepositories",
        "buckets",
    ] {
        expected.insert(("source.toolkit.fluxcd.io".to_string(), resource.to_string()));
    }
    expected.insert((
        "policy.helmrelease.dev".to_string(),
        "helmreleasepolicies".to_string(),
    ));
    expected.insert((String::new(), "namespaces".to_string()));
    assert_eq!(granted.keys().cloned().collect::<BTreeSet<_>>(), expected);
    for (target, verbs) in &granted {
        assert!(
            verbs.contains("list") && verbs.contains("watch"),
            "{target:?}: the watch caches need list and watch"
        );
    }

    let binding = one("webhook", "ClusterRoleBinding");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}])
    );
    for folder in [
        "webhook",
        "cert-manager",
        "policy",
        "validating-admission-policy",
    ] {
        for object in objects_in(folder) {
            assert!(
                !matches!(object["kind"].as_str(), Some("Role" | "RoleBinding")),
                "{folder}: no other RBAC"
            );
        }
    }
}

#[test]
fn cert_manager_overlay_issues_the_mounted_secret_and_injects_the_ca() {
    let issuer = one("cert-manager", "Issuer");
    assert_eq!(issuer["spec"], json!({"selfSigned": {}}));
    let certificate = one("cert-manager", "Certificate");
    assert_eq!(certificate["spec"]["secretName"], TLS_SECRET);
    assert!(strings(&certificate["spec"]["dnsNames"]).contains(&SERVICE_DNS.to_string()));
    assert_eq!(
        certificate["spec"]["issuerRef"]["name"],
        issuer["metadata"]["name"]
    );
    assert_eq!(certificate["spec"]["issuerRef"]["kind"], "Issuer");
    let inject_from = format!(
        "{}/{}",
        certificate["metadata"]["namespace"].as_str().unwrap(),
        certificate["metadata"]["name"].as_str().unwrap()
    );
    assert_eq!(inject_from, format!("{NAMESPACE}/{NAME}"));

    let kustomization = &yaml_docs(&manifests().join("cert-manager/kustomization.yaml"))[0];
    let mut patched = BTreeSet::new();
    for patch in kustomization["patches"].as_array().expect("patches") {
        let body = patch["patch"].as_str().expect("inline patch");
        for doc in serde_saphyr::from_multiple::<Value>(body).expect("patch YAML") {
            if doc.is_null() {
                continue;
            }
            assert_eq!(doc["metadata"]["name"], NAME);
            assert_eq!(
                doc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
                inject_from.as_str()
            );
            patched.insert(doc["kind"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        patched,
        set(&[
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration"
        ])
    );
}

#[test]
fn readme_commands_use_the_same_names() {
    let readme = std::fs::read_to_string(manifests().join("README.md")).expect("README.md");
    for needle in [
        format!("helmrelease-webhook certs --dns-name {SERVICE_DNS}"),
        format!("kubectl -n {NAMESPACE} create secret tls {TLS_SECRET}"),
        "kubectl patch validatingwebhookconfiguration helmrelease-webhook".to_string(),
        "kubectl patch mutatingwebhookconfiguration helmrelease-webhook".to_string(),
        "/webhooks/0/clientConfig/caBundle".to_string(),
        "crds/policy.helmrelease.dev_helmreleasepolicies.yaml".to_string(),
    ] {
        assert!(readme.contains(&needle), "README.md lacks `{needle}`");
    }
    // The caBundle patches address webhooks/0: each configuration has exactly one webhook.
    for kind in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        assert_eq!(
            one("webhook", kind)["webhooks"].as_array().unwrap().len(),
            1
        );
    }
}

#[test]
fn default_policy_is_valid_and_spells_out_the_defaults() {
    let crd = yaml_docs(&root().join("crds/policy.helmrelease.dev_helmreleasepolicies.yaml"));
    let schema = &crd[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert!(schema.is_object(), "CRD schema");
    assert_eq!(crd[0]["spec"]["scope"], "Cluster");

    let policy = one("policy", "HelmReleasePolicy");
    assert_eq!(policy["apiVersion"], "policy.helmrelease.dev/v1alpha1");
    assert_eq!(policy["metadata"]["name"], "default");
    assert!(policy["metadata"]["namespace"].is_null(), "cluster-scoped");
    let errors = validate(schema, &policy);
    assert!(
        errors.is_empty(),
        "policy.yaml against the CRD: {errors:#?}"
    );

    let typed: HelmReleasePolicy =
        serde_json::from_value(policy.clone()).expect("deserialises into HelmReleasePolicy");
    // Nothing silently dropped by serde: the typed spec writes back the same JSON.
    assert_eq!(serde_json::to_value(&typed.spec).unwrap(), policy["spec"]);

    let spec = &typed.spec;
    assert_eq!(
        spec.exclude_namespaces.as_deref(),
        Some(&["kube-system".to_string(), "flux-system".to_string()][..])
    );
    assert!(spec.namespace_selector.is_none(), "all namespaces");
    let r = &spec.rules;
    let action =
        |s: &Option<helmrelease_crds::policy::RuleSettings>| s.as_ref().and_then(|s| s.action);
    assert_eq!(action(&r.pinned_version), Some(Action::Enforce));
    assert_eq!(action(&r.pinned_oci_ref), Some(Action::Enforce));
    assert_eq!(action(&r.explicit_source_namespace), Some(Action::Enforce));
    assert_eq!(action(&r.cleanup_on_fail), Some(Action::Warn));
    assert_eq!(action(&r.deletion_protection), Some(Action::Enforce));
    let allowed = r
        .allowed_source_namespaces
        .as_ref()
        .expect("allowedSourceNamespaces");
    assert_eq!(
        (allowed.action, allowed.namespaces.len()),
        (Some(Action::Off), 0)
    );
    let retries = r.remediation_retries.as_ref().expect("remediationRetries");
    assert_eq!(
        (retries.action, retries.default_retries),
        (Some(Action::Warn), Some(3))
    );
    let history = r.max_history.as_ref().expect("maxHistory");
    assert_eq!(
        (history.action, history.limit),
        (Some(Action::Warn), Some(10))
    );
}

/// The ValidatingAdmissionPolicy's `(expression, message or messageExpression)` pairs.
fn vap_validations() -> Vec<(String, Validation)> {
    let vap = one("validating-admission-policy", "ValidatingAdmissionPolicy");
    vap["spec"]["validations"]
        .as_array()
        .expect("validations")
        .iter()
        .map(|v| {
            let message = match (v["messageExpression"].as_str(), v["message"].as_str()) {
                (Some(e), _) => Validation::Expression(e.to_string()),
                (None, Some(m)) => Validation::Static(m.to_string()),
                (None, None) => panic!("validation without message: {v}"),
            };
            (
                v["expression"].as_str().expect("expression").to_string(),
                message,
            )
        })
        .collect()
}

#[derive(Debug)]
enum Validation {
    Expression(String),
    Static(String),
}

#[test]
fn validating_admission_policy_matches_and_binds_as_documented() {
    let vap = one("validating-admission-policy", "ValidatingAdmissionPolicy");
    assert_eq!(vap["apiVersion"], "admissionregistration.k8s.io/v1");
    assert_eq!(vap["spec"]["failurePolicy"], "Fail");
    let constraints = &vap["spec"]["matchConstraints"];
    assert_eq!(constraints["matchPolicy"], "Equivalent");
    let mut matched = BTreeMap::new();
    for rule in constraints["resourceRules"]
        .as_array()
        .expect("resourceRules")
    {
        assert_eq!(
            strings(&rule["operations"])
                .into_iter()
                .collect::<BTreeSet<_>>(),
            set(&["CREATE", "UPDATE"])
        );
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                assert!(!resource.contains('/'), "no subresources");
                matched.insert(
                    (group.clone(), resource),
                    strings(&rule["apiVersions"])
                        .into_iter()
                        .collect::<BTreeSet<_>>(),
                );
            }
        }
    }
    let mut expected = BTreeMap::new();
    expected.insert(
        (
            "helm.toolkit.fluxcd.io".to_string(),
            "helmreleases".to_string(),
        ),
        set(&["v2", "v2beta2", "v2beta1"]),
    );
    expected.insert(
        (
            "source.toolkit.fluxcd.io".to_string(),
            "helmcharts".to_string(),
        ),
        set(&["*"]),
    );
    assert_eq!(matched, expected);
    for (_, validation) in vap_validations() {
        let text = match validation {
            Validation::Expression(e) => e,
            Validation::Static(m) => m,
        };
        assert!(
            text.contains("pinned-version: ") || text.contains("explicit-source-namespace: "),
            "message in the rule format: {text}"
        );
    }

    let binding = one(
        "validating-admission-policy",
        "ValidatingAdmissionPolicyBinding",
    );
    assert_eq!(binding["spec"]["policyName"], vap["metadata"]["name"]);
    assert_eq!(binding["spec"]["validationActions"], json!(["Deny"]));
}

#[test]
fn validating_admission_policy_regex_accepts_exactly_exact_versions() {
    // Every `matches(...)` in the policy uses the same raw-string literal, the one tested here.
    let literal = Regex::new(r"\.matches\(r'([^']*)'\)").unwrap();
    let mut found = 0;
    for (expression, _) in vap_validations() {
        for capture in literal.captures_iter(&expression) {
            assert_eq!(
                &capture[1], EXACT_SEMVER,
                "the policy's version regex drifted"
            );
            found += 1;
        }
        assert!(
            !expression.contains("matches(") || literal.is_match(&expression),
            "a matches() without a raw-string literal: {expression}"
        );
    }
    assert_eq!(found, 2, "one regex for HelmReleases, one for HelmCharts");

    let exact = Regex::new(EXACT_SEMVER).unwrap();
    for version in EXACT_VERSIONS {
        assert!(exact.is_match(version), "{version:?} is exact");
    }
    for version in NOT_EXACT_VERSIONS {
        assert!(!exact.is_match(version), "{version:?} is not exact");
    }
}

/// Evaluates every validation of the policy the way the API server does: `object` bound to the
/// plain object (keys not escaped), the message from `messageExpression`, else `message`. An
/// evaluation error counts as a denial (`failurePolicy: Fail`). Returns the denial messages.
fn vap_denials(object: &Value) -> Vec<String> {
    let mut context = cel::Context::default();
    context.add_variable("object", object).expect("bind object");
    let run = |source: &str| {
        let program = cel::Program::compile(source)
            .unwrap_or_else(|e| panic!("CEL does not compile: {source}: {e}"));
        program.execute(&context)
    };
    let mut denials = Vec::new();
    for (expression, message) in vap_validations() {
        match run(&expression) {
            Ok(cel::Value::Bool(true)) => {}
            Ok(cel::Value::Bool(false)) => denials.push(match message {
                Validation::Static(m) => m,
                Validation::Expression(e) => match run(&e) {
                    Ok(cel::Value::String(s)) => s.to_string(),
                    other => panic!("messageExpression {e}: {other:?}"),
                },
            }),
            other => denials.push(format!("error: {expression}: {other:?}")),
        }
    }
    denials
}

fn helm_release(api_version: &str, chart_spec: Value) -> Value {
    json!({
        "apiVersion": format!("helm.toolkit.fluxcd.io/{api_version}"),
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": "apps"},
        "spec": {"interval": "10m", "chart": {"spec": chart_spec}},
    })
}

fn from_helm_repository(version: Option<&str>, namespace: Option<&str>) -> Value {
    let mut source = json!({"kind": "HelmRepository", "name": "podinfo"});
    if let Some(namespace) = namespace {
        source["namespace"] = json!(namespace);
    }
    let mut spec = json!({"chart": "podinfo", "sourceRef": source});
    if let Some(version) = version {
        spec["version"] = json!(version);
    }
    spec
}

fn helm_chart(version: Option<&str>, source_kind: &str) -> Value {
    let mut spec = json!({
        "chart": "podinfo",
        "interval": "10m",
        "sourceRef": {"kind": source_kind, "name": "podinfo"},
    });
    if let Some(version) = version {
        spec["version"] = json!(version);
    }
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": "apps-podinfo", "namespace": "flux-system"},
        "spec": spec,
    })
}

fn pinned_message(path: &str, version: &str) -> String {
    format!(
        "pinned-version: {path}: \"{version}\" is not an exact version; pin an exact version such as \"1.2.3\""
    )
}

const SOURCE_NAMESPACE_MESSAGE: &str = "explicit-source-namespace: spec.chart.spec.sourceRef.namespace: not set; set it to the namespace of the source";
const CHART_REF_MESSAGE: &str = "explicit-source-namespace: spec.chartRef.namespace: not set; set it to the namespace of the source";

#[test]
fn validating_admission_policy_cel_admits_pinned_and_denies_floating_releases() {
    // Pinned and namespaced: admitted, in every served version.
    for api_version in ["v2", "v2beta2", "v2beta1"] {
        for version in EXACT_VERSIONS {
            let release = helm_release(
                api_version,
                from_helm_repository(Some(version), Some("flux-system")),
            );
            assert_eq!(vap_denials(&release), Vec::<String>::new(), "{release}");
        }
    }
    // Not exact: denied with the value in the message; the CEL agrees with the regex test.
    for version in NOT_EXACT_VERSIONS {
        let release = helm_release(
            "v2",
            from_helm_repository(Some(version), Some("flux-system")),
        );
        assert_eq!(
            vap_denials(&release),
            vec![pinned_message("spec.chart.spec.version", version)]
        );
    }
    // Omitted version and omitted namespace: both rules speak.
    let release = helm_release("v2", from_helm_repository(None, None));
    assert_eq!(
        vap_denials(&release),
        vec![
            "pinned-version: spec.chart.spec.version: not set; pin an exact version such as \"1.2.3\""
                .to_string(),
            SOURCE_NAMESPACE_MESSAGE.to_string(),
        ]
    );
    // An empty namespace is no namespace.
    let release = helm_release("v2", from_helm_repository(Some("1.2.3"), Some("")));
    assert_eq!(
        vap_denials(&release),
        vec![SOURCE_NAMESPACE_MESSAGE.to_string()]
    );

    // GitRepository and Bucket sources: Flux ignores the version, so does the policy.
    for kind in ["GitRepository", "Bucket"] {
        let spec = json!({
            "chart": "./charts/podinfo",
            "version": "*",
            "sourceRef": {"kind": kind, "name": "podinfo", "namespace": "flux-system"},
        });
        assert_eq!(
            vap_denials(&helm_release("v2", spec)),
            Vec::<String>::new(),
            "{kind}"
        );
    }

    // chartRef: namespace required, nothing else checked here.
    let mut release = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": "apps"},
        "spec": {"interval": "10m", "chartRef": {"kind": "OCIRepository", "name": "podinfo"}},
    });
    assert_eq!(vap_denials(&release), vec![CHART_REF_MESSAGE.to_string()]);
    release["spec"]["chartRef"]["namespace"] = json!("flux-system");
    assert_eq!(vap_denials(&release), Vec::<String>::new());
}

#[test]
fn validating_admission_policy_cel_checks_helm_charts_from_helm_repositories() {
    for version in EXACT_VERSIONS {
        assert_eq!(
            vap_denials(&helm_chart(Some(version), "HelmRepository")),
            Vec::<String>::new()
        );
    }
    for version in NOT_EXACT_VERSIONS {
        assert_eq!(
            vap_denials(&helm_chart(Some(version), "HelmRepository")),
            vec![pinned_message("spec.version", version)]
        );
    }
    assert_eq!(
        vap_denials(&helm_chart(None, "HelmRepository")),
        vec![
            "pinned-version: spec.version: not set; pin an exact version such as \"1.2.3\""
                .to_string()
        ]
    );
    // Other sources, and HelmCharts have no source namespace to check.
    assert_eq!(
        vap_denials(&helm_chart(Some("*"), "GitRepository")),
        Vec::<String>::new()
    );
    assert_eq!(
        vap_denials(&helm_chart(None, "Bucket")),
        Vec::<String>::new()
    );
}
