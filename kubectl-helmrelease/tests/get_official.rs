//! `get` against the official Helm 4.1.4 binary, byte for byte: for every release fixture, our
//! `get values|manifest|notes|hooks|metadata|all` (with and without `--revision`, `--all`,
//! `-o json|yaml`) next to `helm get` reading the same releases with its memory driver
//! (`HELM_DRIVER=memory HELM_MEMORY_DRIVER_DATA`). The fixtures are the real payloads in
//! `../shared/reference/releases`, the release Secrets of `examples/cluster`, and releases made
//! here to reach the corners: `{}` and null values, nulls Helm's coalescing keeps or drops,
//! big and small numbers, HTML characters, stored time offsets, test hooks with and without
//! runs, dependencies with every field, each apply method.
//!
//! The memory driver keeps no storage labels, so `LABELS:` is empty on both sides here; the
//! labels of real release Secrets are covered by the `get-metadata-*` transcripts, recorded
//! from Helm 4.1.4 on a cluster.
//!
//! Skips without the binary unless HELMRELEASE_REQUIRE_CLUSTER is set
//! (`scripts/install-test-binaries.sh` installs it).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use base64::Engine as _;
use serde_json::{Value, json};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;

const OURS: &str = env!("CARGO_BIN_EXE_kubectl-helmrelease");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A release history as both programs read it: payload files for us, the memory driver's data
/// file for Helm.
struct Fixture {
    name: String,
    namespace: String,
    revisions: Vec<i64>,
    /// A folder of bare payloads (or one payload file) for `--from-file`.
    ours: PathBuf,
    /// A YAML (here JSON) list of the releases for `HELM_MEMORY_DRIVER_DATA`.
    helm: PathBuf,
    /// Only the latest revision, for big releases.
    latest_only: bool,
}

/// The release JSON inside a bare payload (base64 of gzip).
fn payload_json(payload: &str) -> Vec<u8> {
    let compact: String = payload.split_whitespace().collect();
    let gz = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut json)
        .unwrap();
    json
}

/// A bare payload of release JSON, as Helm writes it.
fn encode_payload(json: &[u8]) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json).unwrap();
    base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())
}

/// Writes one release history: `payloads` are bare payloads of the same release.
fn fixture(dir: &Path, id: &str, payloads: &[String], latest_only: bool) -> Fixture {
    let folder = dir.join(id);
    std::fs::create_dir_all(&folder).unwrap();
    let mut jsons = Vec::new();
    let mut revisions = Vec::new();
    let (mut name, mut namespace) = (String::new(), String::new());
    for (i, payload) in payloads.iter().enumerate() {
        std::fs::write(folder.join(format!("payload-{i}")), payload).unwrap();
        let json = payload_json(payload);
        let release: Value = serde_json::from_slice(&json).unwrap();
        name = release["name"].as_str().unwrap().to_string();
        namespace = release["namespace"].as_str().unwrap().to_string();
        revisions.push(release["version"].as_i64().unwrap());
        jsons.push(String::from_utf8(json).unwrap());
    }
    let helm = dir.join(format!("{id}.yaml"));
    // JSON is YAML: the memory driver reads a list of releases.
    std::fs::write(&helm, format!("[{}]", jsons.join(","))).unwrap();
    revisions.sort_unstable();
    Fixture {
        name,
        namespace,
        revisions,
        ours: folder,
        helm,
        latest_only,
    }
}

/// The release Secrets of `examples/cluster`, as bare payloads grouped by release.
fn example_payloads() -> Vec<(String, Vec<String>)> {
    let text =
        std::fs::read_to_string(repo().join("examples/cluster/release-secrets.yaml")).unwrap();
    let list: Value = serde_saphyr::from_str(&text).unwrap();
    let mut by_release: Vec<(String, Vec<String>)> = Vec::new();
    for item in list["items"].as_array().unwrap() {
        let wire = item["data"]["release"].as_str().unwrap();
        let payload = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(wire)
                .unwrap(),
        )
        .unwrap();
        let release = item["metadata"]["labels"]["name"].as_str().unwrap();
        match by_release.iter_mut().find(|(r, _)| r == release) {
            Some((_, payloads)) => payloads.push(payload),
            None => by_release.push((release.to_string(), vec![payload])),
        }
    }
    by_release
}

/// Releases reaching the corners of Helm's printing.
fn edge_releases() -> Vec<Value> {
    let defaults = json!({
        "a": 1.5, "big": 12345678901234567890u64, "tiny": 1e-7, "huge": 1e21, "s": "yes",
        "n": null, "m": {"x": 1, "y": null, "z": {"q": 1}}, "list": [1, "2", {"k": "v"}],
        "html": "<&>", "long": "word ".repeat(30), "multi": "line1\nline2\n", "empty": {},
        "unicode": "caf\u{e9} \u{2028} \u{1f600}", "key with: colon": true
    });
    vec![
        json!({
            "name": "edge", "namespace": "edge-ns", "version": 1, "config": {},
            "info": {
                "first_deployed": "2025-01-02T03:04:05+02:00",
                "last_deployed": "2025-01-02T03:04:05.999+02:00", "deleted": "",
                "status": "superseded", "description": "Install complete",
                "notes": "  \n Hello <b>\n\n"
            },
            "chart": {
                "metadata": {
                    "apiVersion": "v2", "name": "edge", "version": "0.1.0",
                    "annotations": {"a.b": "1", "a": "2", "z": "x y"},
                    "dependencies": [
                        {"name": "zeta", "version": "1.0.0", "repository": "https://x/?a=1&b=<2>",
                         "condition": "zeta.enabled", "tags": ["t1", "t2"], "enabled": true,
                         "import-values": [{"parent": "p", "child": "c"}, "data"],
                         "alias": "zz"},
                        {"name": "alpha", "repository": ""}
                    ]
                },
                "values": defaults
            },
            "manifest": "",
            "hooks": [
                {"name": "t1", "kind": "Pod", "path": "edge/templates/t1.yaml", "manifest": "a: 1\n",
                 "events": ["test", "test"],
                 "last_run": {"started_at": "2025-01-02T03:04:06.5-05:00", "completed_at": "",
                              "phase": "Failed"}},
                {"name": "t2", "kind": "Pod", "path": "edge/templates/t2.yaml", "manifest": "a: 2",
                 "events": ["post-install"],
                 "last_run": {"started_at": "2025-01-02T03:04:06Z",
                              "completed_at": "2025-01-02T03:04:07Z", "phase": "Succeeded"}}
            ],
            "apply_method": "weird\"x"
        }),
        json!({
            "name": "edge", "namespace": "edge-ns", "version": 2,
            "config": {"n": null, "u": null, "m": {"y": null, "x": null, "new": "<x>"},
                       "a": {"b": 1}, "list": null, "s": {"t": 1}},
            "info": {
                "first_deployed": "2025-01-02T03:04:05+02:00",
                "last_deployed": "2025-06-30T23:59:59-09:30", "status": "failed",
                "description": "Upgrade \"edge\" failed: boom", "notes": "   "
            },
            "chart": {"metadata": {"apiVersion": "v2", "name": "edge", "version": "0.2.0",
                                   "appVersion": "1.0"},
                      "values": defaults},
            "manifest": "---\n# Source: edge/templates/cm.yaml\nkind: ConfigMap\n",
            "hooks": [{"name": "t0", "kind": "Pod", "path": "edge/templates/t0.yaml",
                       "manifest": "x: 0\n", "events": ["test"]}],
            "apply_method": "ssa"
        }),
        json!({
            "name": "edge", "namespace": "edge-ns", "version": 3,
            "info": {"status": "pending-upgrade", "description": "Preparing upgrade"},
            "chart": {"metadata": {"name": "edge", "version": "0.3.0"}},
            "manifest": "kind: A\n", "apply_method": "csa"
        }),
        json!({
            "name": "edge", "namespace": "edge-ns", "version": 4, "config": {"z": [], "y": ""},
            "info": {"last_deployed": "2025-12-31T23:59:59.999999999Z", "status": "deployed",
                     "description": "Upgrade complete", "notes": "Thanks.\n"},
            "chart": {"metadata": {"name": "edge", "version": "0.4.0", "appVersion": "v4"},
                      "values": {"z": [1], "y": "default"}},
            "manifest": "a: 1\n---\nb: 2\n"
        }),
    ]
}

/// What one run printed.
#[derive(Debug, PartialEq)]
struct Run {
    ok: bool,
    stdout: String,
}

fn run(command: &mut Command) -> Run {
    let out = command
        .env("NO_COLOR", "1")
        .env("TZ", "Asia/Tokyo")
        .output()
        .unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// The `get` commands to compare, after `get`: every part and format for the latest revision,
/// and for each `--revision` the parts whose content differs by revision.
fn commands(revision: Option<i64>) -> Vec<Vec<String>> {
    let latest: &[&[&str]] = &[
        &["all"],
        &["values"],
        &["values", "-o", "json"],
        &["values", "-o", "yaml"],
        &["values", "--all"],
        &["values", "-a", "-o", "json"],
        &["values", "--all", "-o", "yaml"],
        &["manifest"],
        &["notes"],
        &["hooks"],
        &["metadata"],
        &["metadata", "-o", "json"],
        &["metadata", "-o", "yaml"],
        &["metadata", "-o", "table"],
    ];
    let by_revision: &[&[&str]] = &[
        &["all"],
        &["values"],
        &["values", "-a", "-o", "json"],
        &["manifest"],
        &["notes"],
        &["hooks"],
        &["metadata"],
        &["metadata", "-o", "json"],
    ];
    let parts = if revision.is_some() {
        by_revision
    } else {
        latest
    };
    parts
        .iter()
        .map(|p| {
            let mut args: Vec<String> = p.iter().map(|s| s.to_string()).collect();
            if let Some(r) = revision {
                args.extend(["--revision".to_string(), r.to_string()]);
            }
            args
        })
        .collect()
}

/// Compares every command on one fixture; returns the mismatches.
fn compare(fixture: &Fixture, helm: &Path, home: &Path) -> Vec<String> {
    let mut revisions = vec![None];
    if !fixture.latest_only {
        revisions.extend(fixture.revisions.iter().copied().map(Some));
    }
    let mut failures = Vec::new();
    for revision in revisions {
        for args in commands(revision) {
            let theirs = run(Command::new(helm)
                .arg("get")
                .args(&args)
                .arg(&fixture.name)
                .args(["-n", &fixture.namespace])
                .env("HELM_DRIVER", "memory")
                .env("HELM_MEMORY_DRIVER_DATA", &fixture.helm)
                .env("HELM_CACHE_HOME", home.join("cache"))
                .env("HELM_CONFIG_HOME", home.join("config"))
                .env("HELM_DATA_HOME", home.join("data"))
                .env("KUBECONFIG", home.join("no-kubeconfig")));
            let ours = run(Command::new(OURS)
                .arg("get")
                .args(&args)
                .arg(&fixture.name)
                .args(["--release", "-n", &fixture.namespace, "--from-file"])
                .arg(&fixture.ours)
                .env_remove("KUBECONFIG"));
            assert!(theirs.ok, "helm get {args:?} {} failed", fixture.name);
            if ours != theirs {
                let first = theirs
                    .stdout
                    .lines()
                    .zip(ours.stdout.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| {
                        theirs
                            .stdout
                            .lines()
                            .count()
                            .min(ours.stdout.lines().count())
                    });
                failures.push(format!(
                    "get {} {}: first difference at line {}\n--- helm\n{}\n--- ours\n{}",
                    args.join(" "),
                    fixture.name,
                    first + 1,
                    theirs
                        .stdout
                        .lines()
                        .skip(first)
                        .take(5)
                        .collect::<Vec<_>>()
                        .join("\n"),
                    ours.stdout
                        .lines()
                        .skip(first)
                        .take(5)
                        .collect::<Vec<_>>()
                        .join("\n"),
                ));
            }
        }
    }
    failures
}

#[test]
fn get_prints_what_official_helm_4_prints() {
    let helm = helmrelease_testcluster::helm4();
    if !helm.is_file() {
        assert!(
            std::env::var_os("HELMRELEASE_REQUIRE_CLUSTER").is_none(),
            "HELMRELEASE_REQUIRE_CLUSTER is set but {} is missing: run \
             scripts/install-test-binaries.sh",
            helm.display()
        );
        eprintln!(
            "skipping: {} not found (run scripts/install-test-binaries.sh)",
            helm.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("helm-home");
    let mut fixtures = Vec::new();
    let shared = repo().join("../shared/reference/releases");
    for (id, latest_only) in [
        ("podinfo-helm-1", false),
        ("istio-base-1", false),
        ("prom-stack-1", true),
    ] {
        let payload = std::fs::read_to_string(shared.join(id)).unwrap();
        fixtures.push(fixture(dir.path(), id, &[payload], latest_only));
    }
    for (release, payloads) in example_payloads() {
        fixtures.push(fixture(dir.path(), &release, &payloads, false));
    }
    let edge: Vec<String> = edge_releases()
        .iter()
        // Go's JSON, as Helm writes payloads: U+2028 escaped, which the memory driver's YAML
        // reader would otherwise take for a line break.
        .map(|r| encode_payload(&helmrelease_release::gojson::to_vec(r).unwrap()))
        .collect();
    fixtures.push(fixture(dir.path(), "edge", &edge, false));

    // Two at a time: the machine is small and each run is a process.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let chunks: Vec<Vec<&Fixture>> = [0, 1]
            .iter()
            .map(|k| fixtures.iter().skip(*k).step_by(2).collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (helm, home) = (&helm, &home);
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .flat_map(|f| compare(f, helm, home))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of our `get` outputs differ from helm 4.1.4's:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
