//! End to end: `kubectl helmrelease diff -f` previews a HelmRelease change against the real control plane,
//! with the chart served by a Helm repository over HTTP from this test (charts built from
//! `examples/charts/webapp`). The deployed revision is a release Secret our encoder wrote
//! from our own render of version 1.0.0, as the controller would have stored it.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_release::model::{Chart, Info, Metadata};
use helmrelease_release::{ObjectOptions, Release, storage};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-helmrelease");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A folder copy of the example chart at `version`; 1.1.0 adds a ConfigMap and drops the
/// Service, so a version bump adds and removes objects.
fn chart_dir(dir: &Path, version: &str) -> PathBuf {
    let out = dir.join(format!("webapp-{version}")).join("webapp");
    copy_dir(&repo_root().join("examples/charts/webapp"), &out);
    let chart_yaml = std::fs::read_to_string(out.join("Chart.yaml")).unwrap();
    std::fs::write(
        out.join("Chart.yaml"),
        chart_yaml.replace("version: 1.2.3", &format!("version: {version}")),
    )
    .unwrap();
    if version == "1.1.0" {
        std::fs::remove_file(out.join("templates/service.yaml")).unwrap();
        std::fs::write(
            out.join("templates/settings.yaml"),
            // `lookup` reads the cluster when Flux renders, and so in the preview.
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  mode: fast\n  namespaceFound: {{ dig \"metadata\" \"name\" \"none\" (lookup \"v1\" \"Namespace\" \"\" .Release.Namespace) | quote }}\n  repositories: {{ dig \"items\" (list) (lookup \"source.toolkit.fluxcd.io/v1\" \"HelmRepository\" .Release.Namespace \"\") | len | quote }}\n  upgrade: {{ .Release.IsUpgrade | quote }}\n  revision: {{ .Release.Revision | quote }}\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  apis: {{ list (.Capabilities.APIVersions.Has \"helm.toolkit.fluxcd.io/v2/HelmRelease\") (.Capabilities.APIVersions.Has \"apps/v1\") (.Capabilities.APIVersions.Has \"policy/v1beta1\") | toJson | quote }}\n",
        )
        .unwrap();
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    helmrelease_testcluster::charts::copy_dir(from, to).unwrap();
}

fn tgz(chart: &Path) -> Vec<u8> {
    helmrelease_testcluster::charts::tgz("webapp", chart).unwrap()
}

/// A minimal HTTP/1.1 file server on 127.0.0.1 serving `files` by path.
fn serve(files: Vec<(String, Vec<u8>)>) -> String {
    helmrelease_testcluster::charts::serve(files).unwrap()
}

fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let plugin_dir = Path::new(PLUGIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(plugin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let cache = kubeconfig.parent().unwrap().join("cache");
    let mut child = Command::new(helmrelease_testcluster::kubectl())
        .args(args)
        .env("PATH", path)
        .env("KUBECONFIG", kubeconfig)
        .env("XDG_CACHE_HOME", cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn ok(kc: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let (code, out, err) = kubectl(kc, args, stdin);
    assert_eq!(code, 0, "kubectl {args:?}:\n{out}\n{err}");
    out
}

fn helmrelease(name: &str, version: &str, values: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: apps\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: webapp\n      version: {version}\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n        namespace: apps\n  values:\n{values}"
    )
}

/// The release Secret of a deployed revision, rendered by our engine.
fn deployed_secret(chart: &Path, values_yaml: &str) -> String {
    let loaded = helmrelease_helm::chart::load(chart).unwrap();
    let user = helmrelease_helm::values::read_values(values_yaml).unwrap();
    let options = helmrelease_helm::render::TemplateOptions {
        release_name: "web".into(),
        namespace: "apps".into(),
        ..Default::default()
    };
    let rendered = helmrelease_helm::render::render_with_values(loaded, &user, &options).unwrap();
    let release = Release {
        name: "web".into(),
        info: Some(Info {
            first_deployed: Some("2026-11-01T10:00:00Z".into()),
            last_deployed: Some("2026-11-01T10:00:00Z".into()),
            description: "Install complete".into(),
            status: "deployed".into(),
            ..Info::default()
        }),
        chart: Some(Chart {
            metadata: Some(Metadata {
                name: Some("webapp".into()),
                version: Some("1.0.0".into()),
                app_version: Some("2.0".into()),
                ..Metadata::default()
            }),
            ..Chart::default()
        }),
        config: user.to_json().as_object().cloned(),
        manifest: with_origin_labels(&rendered, "web", "apps"),
        version: 1,
        namespace: "apps".into(),
        ..Release::default()
    };
    let secret = storage::to_secret(&release, &ObjectOptions::default()).unwrap();
    serde_json::to_string(&secret).unwrap()
}

/// The release manifest as helm-controller stores it: its post-renderer labels every object
/// with the HelmRelease.
fn with_origin_labels(
    rendered: &helmrelease_helm::render::Rendered,
    name: &str,
    namespace: &str,
) -> String {
    use helmrelease_gotmpl::Value as TValue;
    let mut out = String::new();
    for m in &rendered.manifests {
        let mut doc = helmrelease_helm::yaml::from_yaml(&m.content)
            .unwrap()
            .to_json();
        let labels = &mut doc["metadata"]["labels"];
        if labels.is_null() {
            *labels = serde_json::json!({});
        }
        labels["helm.toolkit.fluxcd.io/name"] = name.into();
        labels["helm.toolkit.fluxcd.io/namespace"] = namespace.into();
        let text = helmrelease_helm::yaml::to_yaml(&TValue::from_json(&doc)).unwrap();
        out.push_str(&format!("---\n# Source: {}\n{}", m.name, text));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_helmrelease_changes_against_the_cluster() {
    let Some(cluster) = helmrelease_testcluster::shared().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = cluster.kubeconfig().to_path_buf();
    let work = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || scenario(&kubeconfig, &work))
        .await
        .unwrap();
}

fn scenario(kc: &Path, work: &Path) {
    let v1 = chart_dir(work, "1.0.0");
    let v2 = chart_dir(work, "1.1.0");
    let (t1, t2) = (tgz(&v1), tgz(&v2));
    let digest = |b: &[u8]| format!("{:x}", Sha256::digest(b));
    let index = format!(
        "apiVersion: v1\nentries:\n  webapp:\n  - name: webapp\n    version: 1.1.0\n    appVersion: \"2.0\"\n    urls: [webapp-1.1.0.tgz]\n    digest: {}\n  - name: webapp\n    version: 1.0.0\n    appVersion: \"2.0\"\n    urls: [webapp-1.0.0.tgz]\n    digest: {}\n",
        digest(&t2),
        digest(&t1)
    );
    // The same charts in an OCI registry (plain HTTP, anonymous): tags, manifests, blobs.
    let mut registry = vec![(
        "/v2/charts/webapp/tags/list".to_string(),
        br#"{"name":"charts/webapp","tags":["latest","1.0.0","1.1.0"]}"#.to_vec(),
    )];
    for (version, archive) in [("1.0.0", &t1), ("1.1.0", &t2)] {
        let config = format!(
            r#"{{"apiVersion":"v2","name":"webapp","version":"{version}","appVersion":"2.0"}}"#
        )
        .into_bytes();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json",
                       "digest": format!("sha256:{}", digest(&config)), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                        "digest": format!("sha256:{}", digest(archive)), "size": archive.len()}],
        });
        registry.push((
            format!("/v2/charts/webapp/manifests/{version}"),
            manifest.to_string().into_bytes(),
        ));
        registry.push((
            format!("/v2/charts/webapp/blobs/sha256:{}", digest(&config)),
            config,
        ));
        registry.push((
            format!("/v2/charts/webapp/blobs/sha256:{}", digest(archive)),
            archive.clone(),
        ));
    }
    let registry = serve(registry);
    let url = serve(vec![
        ("/index.yaml".into(), index.into_bytes()),
        ("/webapp-1.0.0.tgz".into(), t1),
        ("/webapp-1.1.0.tgz".into(), t2),
    ]);

    ok(
        kc,
        &[
            "apply",
            "-f",
            &repo_root()
                .join("../shared/reference/flux/crds")
                .display()
                .to_string(),
        ],
        None,
    );
    ok(
        kc,
        &["apply", "-f", "-"],
        Some("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"),
    );
    ok(
        kc,
        &["apply", "-f", "-"],
        Some(&format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: apps\nspec:\n  interval: 1h\n  url: {url}\n"
        )),
    );
    let deployed_values = "replicaCount: 2\npassword: hunter2\n";
    ok(
        kc,
        &["apply", "-f", "-"],
        Some(&deployed_secret(&v1, deployed_values)),
    );
    let values = |replicas: u32, password: &str| {
        format!("    replicaCount: {replicas}\n    password: {password}\n")
    };
    let write = |name: &str, text: &str| {
        let p = work.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };

    // The same chart and values as deployed: nothing to do, exit 0.
    let same = write(
        "same.yaml",
        &helmrelease("web", "1.0.0", &values(2, "hunter2")),
    );
    let (code, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &same], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 changed, 0 added, 0 removed"), "{out}");

    // One value changed: exactly that field of the Deployment.
    let scaled = write(
        "scaled.yaml",
        &helmrelease("web", "1.0.0", &values(3, "hunter2")),
    );
    let (code, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &scaled], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("-  replicas: 2\n+  replicas: 3\n"), "{out}");
    assert!(
        out.contains("1 changed, 0 added, 0 removed; values changed"),
        "{out}"
    );

    // A Secret's value changed: the Secret shows as changed without its values. (The inline
    // spec.values are the user's own file and show in the values diff.)
    let rotated = write(
        "rotated.yaml",
        &helmrelease("web", "1.0.0", &values(2, "swordfish")),
    );
    let (code, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &rotated], None);
    assert_eq!(code, 1, "{out}{err}");
    let objects = out.split("\nValues:\n").next().unwrap_or_default();
    assert!(objects.contains("changed: Secret apps/web-webapp"), "{out}");
    assert!(
        objects.contains("-  password: \"*** (before)\"\n+  password: \"*** (after)\""),
        "{out}"
    );
    assert!(
        !objects.contains("swordfish") && !objects.contains("hunter2"),
        "{out}"
    );

    // A chart version bump: the Service goes, a ConfigMap comes.
    let bumped = write(
        "bumped.yaml",
        &helmrelease("web", "1.1.0", &values(2, "hunter2")),
    );
    let (code, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &bumped], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("added: ConfigMap apps/web-settings"), "{out}");
    assert!(out.contains("removed: Service apps/web-webapp"), "{out}");
    assert!(out.contains("+  namespaceFound: apps\n"), "{out}");
    assert!(out.contains("+  repositories: \"1\""), "{out}");
    // Flux upgrades an installed release: rendered as Helm renders revision 2 of an upgrade.
    assert!(out.contains("+  upgrade: \"true\""), "{out}");
    assert!(out.contains("+  revision: \"2\""), "{out}");
    // `.Capabilities` are the cluster's: its version, and exactly the APIs it serves (Flux's
    // CRDs yes, Helm's default list no).
    assert!(out.contains("+  kube: v1.35.4\n"), "{out}");
    assert!(out.contains("+  apis: \"[true,true,false]\"\n"), "{out}");
    // An upgrade runs no pre-install hook, and tests only with spec.test.enable.
    assert!(!out.contains("Hooks that would run"), "{out}");
    let tested = write(
        "tested.yaml",
        &helmrelease("web", "1.1.0", &values(2, "hunter2"))
            .replace("  values:\n", "  test:\n    enable: true\n  values:\n"),
    );
    let (_, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &tested], None);
    assert!(
        out.contains("Hooks that would run: Pod/web-webapp-test (test)\n"),
        "{out}{err}"
    );
    assert!(
        out.contains("webapp-1.0.0 (revision 1, deployed) -> webapp-1.1.0"),
        "{out}"
    );

    // Kustomize post-renderers as Flux applies them: a JSON 6902 patch and an image rename.
    let post_renderers = "  postRenderers:\n    - kustomize:\n        images:\n          - name: nginx\n            newTag: \"1.27\"\n        patches:\n          - target:\n              kind: Deployment\n            patch: |\n              - op: replace\n                path: /spec/replicas\n                value: 9\n  values:\n";
    let patched = write(
        "patched.yaml",
        &helmrelease("web", "1.0.0", &values(2, "hunter2")).replace("  values:\n", post_renderers),
    );
    let (code, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &patched], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("-  replicas: 2\n+  replicas: 9\n"), "{out}");
    assert!(
        out.contains("-        image: nginx:1.25\n+        image: nginx:1.27\n"),
        "{out}"
    );

    // Not installed yet: everything is added.
    let fresh = write(
        "fresh.yaml",
        &helmrelease("fresh", "1.0.0", &values(1, "x")),
    );
    let (code, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &fresh], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("not installed ->"), "{out}");
    assert!(
        out.contains("Job/fresh-webapp-migrate (pre-install)"),
        "{out}"
    );
    assert!(
        out.contains(" 0 changed, ") || out.contains("0 changed,"),
        "{out}"
    );
    assert!(!out.contains("removed:"), "{out}");

    // Against the live objects: deploy the stored manifest as Helm did, then drift by hand.
    let manifest = ok(
        kc,
        &[
            "helmrelease",
            "get",
            "manifest",
            "web",
            "--release",
            "-n",
            "apps",
        ],
        None,
    );
    ok(kc, &["apply", "-n", "apps", "-f", "-"], Some(&manifest));
    let (code, out, err) = kubectl(
        kc,
        &["helmrelease", "diff", "-f", &same, "--against", "live"],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    ok(
        kc,
        &[
            "patch",
            "deployment",
            "web-webapp",
            "-n",
            "apps",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"replicas":7}}"#,
        ],
        None,
    );
    let (code, out, err) = kubectl(
        kc,
        &["helmrelease", "diff", "-f", &same, "--against", "live"],
        None,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("-  replicas: 7\n+  replicas: 2\n"), "{out}");
    assert!(
        out.contains("+++ Deployment apps/web-webapp (apps/v1) (desired, applied (dry run))"),
        "{out}"
    );

    // The same HelmRelease with its chart in an OCI registry (Flux's `type: oci`, `insecure`
    // for plain HTTP): the version range resolves from the tags, the preview is the same.
    ok(
        kc,
        &["apply", "-f", "-"],
        Some(&format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: oci-charts\n  namespace: apps\nspec:\n  type: oci\n  insecure: true\n  interval: 1h\n  url: {}/charts\n",
            registry.replace("http://", "oci://")
        )),
    );
    let from_oci = write(
        "oci.yaml",
        &helmrelease("web", "\"1.1.x\"", &values(2, "hunter2"))
            .replace("name: charts\n", "name: oci-charts\n"),
    );
    let (code, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &from_oci], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("added: ConfigMap apps/web-settings"), "{out}");
    assert!(
        out.contains("webapp-1.0.0 (revision 1, deployed) -> webapp-1.1.0"),
        "{out}"
    );

    // spec.chartRef to an OCIRepository (the chart's own URL, a semver range over its tags),
    // and to a HelmChart over the HTTP repository: the same preview.
    let oci_url = registry.replace("http://", "oci://");
    ok(
        kc,
        &["apply", "-f", "-"],
        Some(&format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: webapp\n  namespace: apps\nspec:\n  interval: 1h\n  insecure: true\n  url: {oci_url}/charts/webapp\n  ref:\n    semver: 1.1.x\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: floating\n  namespace: apps\nspec:\n  interval: 1h\n  insecure: true\n  url: {oci_url}/charts/webapp\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata:\n  name: apps-web\n  namespace: apps\nspec:\n  interval: 1h\n  chart: webapp\n  version: 1.1.0\n  sourceRef:\n    kind: HelmRepository\n    name: charts\n"
        )),
    );
    let chart_ref = |kind: &str, name: &str| {
        let hr = helmrelease("web", "1.0.0", &values(2, "hunter2"));
        let (head, tail) = hr.split_once("  chart:\n").unwrap();
        let tail = tail.split_once("  values:\n").unwrap().1;
        format!("{head}  chartRef:\n    kind: {kind}\n    name: {name}\n  values:\n{tail}")
    };
    for (kind, name) in [("OCIRepository", "webapp"), ("HelmChart", "apps-web")] {
        let file = write(&format!("ref-{name}.yaml"), &chart_ref(kind, name));
        let (code, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &file], None);
        assert_eq!(code, 1, "{kind}: {out}{err}");
        // From an OCIRepository, the chart version carries the manifest digest, as Flux's.
        let label = if kind == "OCIRepository" {
            "-> webapp-1.1.0+"
        } else {
            "-> webapp-1.1.0 (desired)"
        };
        assert!(out.contains(label), "{kind}: {out}");
        assert!(
            out.contains("added: ConfigMap apps/web-settings"),
            "{kind}: {out}"
        );
    }
    let floating = write("ref-floating.yaml", &chart_ref("OCIRepository", "floating"));
    let (code, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &floating], None);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("follows the tag \"latest\""), "{err}");

    // `template` takes the chart straight from the registry, as `helm template oci://...`.
    let chart_ref = format!("{}/charts/webapp", registry.replace("http://", "oci://"));
    let (code, out, err) = kubectl(
        kc,
        &[
            "helmrelease",
            "template",
            "web",
            &chart_ref,
            "--version",
            "~1.1",
            "--plain-http",
            "-s",
            "templates/settings.yaml",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("name: web-settings"), "{out}");
    let (code, _, err) = kubectl(kc, &["helmrelease", "template", "web", &chart_ref], None);
    assert_eq!(code, 1);
    assert!(err.starts_with("Error: "), "{err}");

    // A version that does not exist: an error naming what does.
    let missing = write(
        "missing.yaml",
        &helmrelease("web", "9.9.9", &values(2, "hunter2")),
    );
    let (code, out, err) = kubectl(kc, &["helmrelease", "diff", "-f", &missing], None);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("9.9.9") && err.contains("1.1.0"), "{err}");
}
