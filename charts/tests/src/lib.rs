//! Helpers for the chart's tests: where things are, our `template` and the official binaries
//! run the same way, the values combinations every test covers, and rendered output split by
//! template.

use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The chart.
pub fn chart() -> PathBuf {
    repo().join("charts/helmrelease")
}

/// Release name and namespace of every rendering: the names the plain manifests use.
pub const RELEASE: &str = "helmrelease";
/// See [`RELEASE`].
pub const NAMESPACE: &str = "helmrelease-system";

/// Values combinations (name, `--set` arguments) that together switch every template on.
pub const VALUE_SETS: &[(&str, &[&str])] = &[
    ("defaults", &[]),
    (
        "webhook-secret",
        &["--set", "webhook.certificates.mode=secret"],
    ),
    (
        "webhook-cert-manager",
        &["--set", "webhook.certificates.mode=certManager"],
    ),
    (
        "cert-manager-issuer",
        &[
            "--set",
            "webhook.certificates.mode=certManager",
            "--set",
            "webhook.certificates.certManager.issuerRef.name=corp-ca",
            "--set",
            "webhook.certificates.certManager.issuerRef.kind=ClusterIssuer",
            "--set",
            "webhook.certificates.certManager.duration=2160h",
        ],
    ),
    (
        "controller-alongside-flux",
        &[
            "--set",
            "webhook.enabled=false",
            "--set",
            "controller.enabled=true",
        ],
    ),
    (
        "standalone",
        &[
            "--set",
            "controller.enabled=true",
            "--set",
            "standalone=true",
        ],
    ),
    (
        "everything",
        &[
            "--set",
            "controller.enabled=true",
            "--set",
            "standalone=true",
            "--set",
            "networkPolicy.enabled=true",
            "--set",
            "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.name=monitoring",
            "--set",
            "serviceMonitor.enabled=true",
            "--set",
            "serviceMonitor.labels.release=prometheus",
            "--set",
            "controller.podDisruptionBudget.enabled=true",
            "--set",
            "controller.rbac.clusterAdmin=false",
            "--set",
            "controller.defaultServiceAccount=helm",
            "--set",
            "controller.watchLabelSelector=team=a",
            "--set",
            "controller.noCrossNamespaceRefs=true",
            "--set",
            "controller.extraArgs[0]=--requeue-dependency=10s",
            "--set",
            "crds.keep=false",
            "--set",
            "commonLabels.team=platform",
            "--set",
            "image.registry=registry.example.com/mirror",
            "--set",
            "webhook.image.digest=sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "--set",
            "imagePullSecrets[0].name=pull",
            "--set",
            "webhook.tolerations[0].operator=Exists",
            "--set",
            "webhook.nodeSelector.pool=system",
            "--set",
            "webhook.podAnnotations.a=b",
            "--set",
            "webhook.excludeNamespaces={kube-system,flux-system}",
            "--set",
            "fullnameOverride=hr",
        ],
    ),
    (
        "single-replica",
        &[
            "--set",
            "webhook.replicas=1",
            "--set",
            "webhook.failurePolicy=Ignore",
        ],
    ),
    // Refused: the error text must match too.
    (
        "standalone-without-controller",
        &["--set", "standalone=true"],
    ),
    ("nothing", &["--set", "webhook.enabled=false"]),
    ("schema-typo", &["--set", "webhook.replica=3"]),
    ("schema-enum", &["--set", "webhook.certificates.mode=vault"]),
];

/// Where the workspace's binaries are: the profile folder (`target/debug`) of the running
/// test executable, which lives in its `deps/`.
pub fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .unwrap_or_default()
}

/// What one `template` printed.
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// `template RELEASE charts/helmrelease -n NAMESPACE ARGS...` through our plugin, in process.
pub fn ours(args: &[&str]) -> Run {
    let chart = chart().display().to_string();
    let mut argv = vec![
        "kubectl-helmrelease",
        "template",
        RELEASE,
        chart.as_str(),
        "--namespace",
        NAMESPACE,
    ];
    argv.extend_from_slice(args);
    let cli = match kubectl_helmrelease::cli::Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            return Run {
                code: 2,
                stdout: String::new(),
                stderr: e.to_string(),
            };
        }
    };
    match kubectl_helmrelease::run(&cli) {
        Ok(outcome) => Run {
            code: i32::from(outcome.code),
            stdout: outcome.stdout,
            stderr: outcome.stderr,
        },
        Err(e) => Run {
            code: 2,
            stdout: String::new(),
            stderr: format!("error: {e}\n"),
        },
    }
}

/// An official binary run with `args`, its Helm folders private to `home`.
pub fn official(bin: &Path, args: &[&str], home: &Path) -> std::io::Result<Run> {
    let out = Command::new(bin)
        .args(args)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("TZ", "UTC")
        .env_remove("KUBECONFIG")
        .output()?;
    Ok(Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Rendered output split at Helm's `---\n# Source: PATH\n` headers: (PATH, document) in order.
pub fn documents(rendered: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in rendered.split("---\n# Source: ").skip(1) {
        if let Some((source, body)) = part.split_once('\n') {
            out.push((source.to_string(), body.to_string()));
        }
    }
    out
}
