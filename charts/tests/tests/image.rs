//! The container images as scripts/build-image.sh lays them out (OCI image layouts, built
//! without a container engine), read back: every blob matches its digest and size, the
//! config's entrypoint is the program, its user is the non-root 65532 the chart runs as, its
//! labels name the program, version and commit, and the layers hold the executable, passwd
//! with that user, CA certificates and a sticky /tmp. umoci (a real OCI tool, from Debian)
//! must unpack it to the same runtime settings; it skips without umoci unless
//! HELMRELEASE_REQUIRE_CLUSTER is set. Stand-in executables keep the test cheap; the script
//! builds the real, static ones when run without --bin-dir. The Dockerfile says the same.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_chart_tests::{chart, repo};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAMS: [&str; 2] = ["helmrelease-webhook", "helmrelease-controller"];

fn workspace_version() -> String {
    let cargo = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    cargo
        .lines()
        .skip_while(|l| *l != "[workspace.package]")
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap()
        .to_string()
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A blob of the layout by descriptor, checked against its digest and size.
fn blob(layout: &Path, descriptor: &Value) -> Vec<u8> {
    let digest = descriptor["digest"].as_str().unwrap();
    let hex_digest = digest.strip_prefix("sha256:").unwrap();
    let bytes = std::fs::read(layout.join("blobs/sha256").join(hex_digest)).unwrap();
    assert_eq!(hex(&bytes), hex_digest, "{digest}: content does not match");
    assert_eq!(descriptor["size"], bytes.len(), "{digest}: size");
    bytes
}

/// One file of a layer: its mode and content.
#[derive(Debug)]
struct Entry {
    mode: u32,
    uid: u64,
    content: Vec<u8>,
}

/// The images built from stand-ins, once per test process.
fn built() -> &'static (PathBuf, PathBuf) {
    static BUILT: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        // Inside target/, replaced on each run: nothing left in /tmp.
        let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("helmrelease-image");
        let _ = std::fs::remove_dir_all(&work);
        let bins = work.join("bin");
        std::fs::create_dir_all(&bins).unwrap();
        for program in PROGRAMS {
            std::fs::write(bins.join(program), format!("#!/bin/sh\necho {program}\n")).unwrap();
        }
        let out = work.join("oci");
        let run = Command::new(repo().join("scripts/build-image.sh"))
            .arg("--bin-dir")
            .arg(&bins)
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        (bins, out)
    })
}

#[test]
fn the_layouts_hold_non_root_images_of_each_program() {
    let (bins, out) = built();
    let version = workspace_version();
    let chart_yaml = std::fs::read_to_string(chart().join("Chart.yaml")).unwrap();
    assert!(
        chart_yaml.contains(&format!("appVersion: \"{version}\"")),
        "the chart deploys this version"
    );
    for program in PROGRAMS {
        let layout = out.join(program);
        let oci_layout: Value =
            serde_json::from_slice(&std::fs::read(layout.join("oci-layout")).unwrap()).unwrap();
        assert_eq!(oci_layout["imageLayoutVersion"], "1.0.0");
        let index: Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        assert_eq!(index["schemaVersion"], 2);
        let manifests = index["manifests"].as_array().unwrap();
        assert_eq!(manifests.len(), 1);
        let descriptor = &manifests[0];
        assert_eq!(
            descriptor["annotations"]["org.opencontainers.image.ref.name"],
            version.as_str()
        );
        assert_eq!(descriptor["platform"]["os"], "linux");
        assert_eq!(descriptor["platform"]["architecture"], "amd64");
        let manifest: Value = serde_json::from_slice(&blob(&layout, descriptor)).unwrap();
        assert_eq!(
            manifest["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(
            manifest["config"]["mediaType"],
            "application/vnd.oci.image.config.v1+json"
        );
        let config: Value = serde_json::from_slice(&blob(&layout, &manifest["config"])).unwrap();

        // Entrypoint, user and labels.
        let run = &config["config"];
        let entrypoint = format!("/usr/local/bin/{program}");
        assert_eq!(run["Entrypoint"], serde_json::json!([entrypoint]));
        assert!(run["Cmd"].is_null(), "arguments come from the chart");
        assert_eq!(
            run["User"], "65532:65532",
            "non-root, as the chart's runAsUser"
        );
        let labels = &run["Labels"];
        assert_eq!(labels["org.opencontainers.image.title"], program);
        assert_eq!(labels["org.opencontainers.image.version"], version.as_str());
        assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
        assert_eq!(
            labels["org.opencontainers.image.source"],
            "https://github.com/helmrelease/helmrelease"
        );
        let revision = labels["org.opencontainers.image.revision"]
            .as_str()
            .unwrap();
        assert!(
            revision == "unknown"
                || (revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit())),
            "{revision}"
        );
        assert_eq!(manifest["annotations"], *labels);
        assert_eq!(
            (config["os"].as_str(), config["architecture"].as_str()),
            (Some("linux"), Some("amd64"))
        );

        // Layers: gzip of the tars whose digests the config lists, in order.
        let layers = manifest["layers"].as_array().unwrap();
        let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
        assert_eq!(layers.len(), diff_ids.len());
        let mut files: BTreeMap<String, Entry> = BTreeMap::new();
        for (layer, diff_id) in layers.iter().zip(diff_ids) {
            assert_eq!(
                layer["mediaType"],
                "application/vnd.oci.image.layer.v1.tar+gzip"
            );
            let mut tar_bytes = Vec::new();
            flate2::read::GzDecoder::new(&blob(&layout, layer)[..])
                .read_to_end(&mut tar_bytes)
                .unwrap();
            assert_eq!(diff_id, &format!("sha256:{}", hex(&tar_bytes)));
            let mut archive = tar::Archive::new(&tar_bytes[..]);
            for entry in archive.entries().unwrap() {
                let mut entry = entry.unwrap();
                let path = entry.path().unwrap().display().to_string();
                let path = format!("/{}", path.trim_start_matches("./").trim_end_matches('/'));
                let mode = entry.header().mode().unwrap();
                let uid = entry.header().uid().unwrap();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                files.insert(path, Entry { mode, uid, content });
            }
        }
        let exe = &files[&entrypoint];
        assert_eq!(exe.mode & 0o7777, 0o755, "{entrypoint}");
        assert_eq!(exe.content, std::fs::read(bins.join(program)).unwrap());
        let passwd = String::from_utf8(files["/etc/passwd"].content.clone()).unwrap();
        assert!(
            passwd
                .lines()
                .any(|l| l.starts_with("nonroot:x:65532:65532:")),
            "{passwd}"
        );
        assert!(files["/etc/group"].content.starts_with(b"root:x:0:"));
        assert!(
            !files["/etc/ssl/certs/ca-certificates.crt"]
                .content
                .is_empty()
        );
        assert_eq!(files["/tmp"].mode & 0o7777, 0o1777);
        // Nothing but /tmp is writable by the user: everything is root's and not world-writable.
        for (path, entry) in &files {
            assert_eq!(entry.uid, 0, "{path}");
            if path != "/tmp" {
                assert_eq!(entry.mode & 0o002, 0, "{path} is world-writable");
            }
        }
    }
}

#[test]
fn umoci_unpacks_the_images_to_the_same_runtime_settings() {
    let (_, out) = built();
    let found = Command::new("umoci")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("HELMRELEASE_REQUIRE_CLUSTER").is_none(),
            "HELMRELEASE_REQUIRE_CLUSTER is set but umoci is missing (scripts/test-all.sh installs it)"
        );
        eprintln!("skipping: no umoci");
        return;
    }
    let version = workspace_version();
    for program in PROGRAMS {
        let bundle = out.join(format!("{program}-bundle"));
        let image = format!("{}:{version}", out.join(program).display());
        let run = Command::new("umoci")
            .args(["unpack", "--rootless", "--image", &image])
            .arg(&bundle)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let config: Value =
            serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
        let process = &config["process"];
        assert_eq!(process["user"]["uid"], 65532);
        assert_eq!(process["user"]["gid"], 65532);
        assert_eq!(
            process["args"],
            serde_json::json!([format!("/usr/local/bin/{program}")])
        );
        assert!(bundle.join("rootfs/usr/local/bin").join(program).is_file());
    }
}

#[test]
fn the_dockerfile_builds_the_same_entrypoints_and_user() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    for (stage, program) in [("webhook", PROGRAMS[0]), ("controller", PROGRAMS[1])] {
        let start = dockerfile
            .find(&format!(" AS {stage}\n"))
            .unwrap_or_else(|| panic!("no stage {stage}"));
        let body = &dockerfile[start..];
        let body = &body[..body[1..].find("\nFROM ").map_or(body.len(), |i| i + 1)];
        assert!(
            body.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{program}\"]")),
            "{stage}"
        );
        assert!(body.contains("USER 65532:65532"), "{stage}");
        assert!(body.contains(&format!("org.opencontainers.image.title=\"{program}\"")));
    }
    // Static binaries on a static base.
    assert!(dockerfile.contains("+crt-static"));
    assert!(dockerfile.contains("FROM gcr.io/distroless/static-debian12:nonroot"));
}
