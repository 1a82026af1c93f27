//! Shell completion and `--version`: the scripts of `completion bash|zsh|fish`, the Cobra-style
//! answers of `__complete` and of the `kubectl_complete-helmrelease` helper (HelmRelease names
//! included, from files here), and real kubectl
//! 1.35.2 completing `kubectl helmrelease ...` through the helper on PATH. The kubectl part
//! skips without the binary unless HELMRELEASE_REQUIRE_CLUSTER is set.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use std::path::Path;
use std::process::Command;

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-helmrelease");
const HELPER: &str = env!("CARGO_BIN_EXE_kubectl_complete-helmrelease");

fn run(bin: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_names_the_commit() {
    let (code, out, _) = run(PLUGIN, &["--version"]);
    assert_eq!(code, 0);
    let line = out.trim();
    let prefix = format!("kubectl-helmrelease {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line
        .strip_prefix(&prefix)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
}

#[test]
fn the_helper_answers_in_cobras_format() {
    let (code, out, _) = run(HELPER, &["hi"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "history\tRevisions of a Helm release, oldest first, like `helm history`\n:4\n"
    );
    // Flags of the subcommand, global ones included; values of enums; files for paths.
    let (_, out, _) = run(HELPER, &["history", "--out"]);
    assert_eq!(out, "--output\tOutput format\n:4\n");
    let (_, out, _) = run(HELPER, &["get", "-o", "ya"]);
    assert_eq!(out, "yaml\tYAML\n:4\n");
    let (_, out, _) = run(HELPER, &["get", "man"]);
    assert_eq!(out, "manifest\tThe rendered manifest\n:4\n");
    let (_, out, _) = run(HELPER, &["check", "--from-file", ""]);
    assert_eq!(out, ":0\n", "the shell completes file names");
    let dump = format!("{}/../examples/cluster", env!("CARGO_MANIFEST_DIR"));
    let (_, out, _) = run(HELPER, &["status", "--from-file", &dump, "-A", "g"]);
    assert_eq!(out, "grafana\n:4\n");
    // No cluster to ask: no names, quickly, and no error.
    let started = std::time::Instant::now();
    let out = Command::new(HELPER)
        .args(["history", "--kubeconfig", "/nonexistent", ""])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), ":4\n");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let (_, out, _) = run(HELPER, &["completion", ""]);
    assert_eq!(out, "bash\nzsh\nfish\n:4\n");
    // The plugin's own __complete says the same.
    assert_eq!(run(PLUGIN, &["__complete", "hi"]).1, run(HELPER, &["hi"]).1);
}

#[test]
fn completion_scripts_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F _kubectl_helmrelease"),
        ("zsh", "#compdef kubectl-helmrelease"),
        ("fish", "complete -c kubectl-helmrelease"),
    ] {
        let (code, out, err) = run(PLUGIN, &["completion", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell}: {out}");
    }
    let (code, _, err) = run(PLUGIN, &["completion", "powershell"]);
    assert_eq!(code, 2, "{err}");

    // The bash script, sourced, completes subcommands and flags.
    let script = run(PLUGIN, &["completion", "bash"]).1;
    let probe = format!(
        "{script}\n\
         COMP_WORDS=(kubectl-helmrelease hi); COMP_CWORD=1\n\
         _kubectl_helmrelease kubectl-helmrelease hi kubectl-helmrelease; echo \"${{COMPREPLY[@]}}\"\n\
         COMP_WORDS=(kubectl-helmrelease history --o); COMP_CWORD=2\n\
         _kubectl_helmrelease kubectl-helmrelease --o history; echo \"${{COMPREPLY[@]}}\"\n"
    );
    let out = Command::new("bash").arg("-c").arg(&probe).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "history\n--output\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn real_kubectl_completes_the_plugin_through_the_helper() {
    let kubectl = helmrelease_testcluster::kubectl();
    if !kubectl.is_file() {
        assert!(
            std::env::var_os("HELMRELEASE_REQUIRE_CLUSTER").is_none(),
            "HELMRELEASE_REQUIRE_CLUSTER is set but kubectl is missing"
        );
        eprintln!("skipping: no official kubectl (run scripts/install-test-binaries.sh)");
        return;
    }
    // Both executables on PATH, as krew installs them.
    let dir = tempfile::tempdir().unwrap();
    for bin in [PLUGIN, HELPER] {
        let name = Path::new(bin).file_name().unwrap();
        std::os::unix::fs::symlink(bin, dir.path().join(name)).unwrap();
    }
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let complete = |words: &[&str]| {
        let out = Command::new(&kubectl)
            .arg("__complete")
            .arg("helmrelease")
            .args(words)
            .env("PATH", &path)
            .env("KUBECONFIG", dir.path().join("none"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        complete(&["hi"]),
        "history\tRevisions of a Helm release, oldest first, like `helm history`\n:4\n"
    );
    let out = complete(&["diff", "--to"]);
    assert_eq!(
        out,
        "--to-revision\tCompare revisions: to this one (default: the latest)\n:4\n"
    );
    // HelmRelease names, from where the global flags point.
    let dump = format!(
        "--from-file={}/../examples/cluster",
        env!("CARGO_MANIFEST_DIR")
    );
    assert_eq!(
        complete(&["history", &dump, "-n", "apps", ""]),
        "grafana\npodinfo\n:4\n"
    );
    assert_eq!(
        complete(&["get", "manifest", "-A", &dump, "r"]),
        "redis\n:4\n"
    );
    let out = complete(&[""]);
    for name in [
        "check",
        "list",
        "history",
        "get",
        "diff",
        "drift",
        "template",
        "audit",
        "completion",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{name}\t"))),
            "{name}: {out}"
        );
    }
}

/// Names from a real cluster: the helper asks the API server the kubeconfig names, in the
/// namespace `-n` names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helper_completes_helmrelease_names_from_the_cluster() {
    let Some(cluster) = helmrelease_testcluster::shared().await else {
        return;
    };
    let crd = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crds/helm.toolkit.fluxcd.io_helmreleases.yaml");
    cluster.install_crds(&[&crd]).await;
    let ns = cluster.namespace("complete").await.unwrap();
    for name in ["podinfo", "prometheus", "redis"] {
        let object = format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\nspec:\n  interval: 10m\n  chartRef:\n    kind: OCIRepository\n    name: {name}\n    namespace: {}\n",
            ns.name
        );
        helmrelease_testcluster::ok(
            "kubectl apply",
            ns.kubectl(&["apply", "-f", "-"], Some(&object)).await,
        );
    }
    let kubeconfig = ns.kubeconfig.display().to_string();
    let (code, out, err) = run(
        HELPER,
        &["drift", "--kubeconfig", &kubeconfig, "-n", &ns.name, "p"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "podinfo\nprometheus\n:4\n");
}

/// The zsh script parses and the fish script completes, in the real shells (installed by
/// scripts/test-all.sh); skips without them unless HELMRELEASE_REQUIRE_CLUSTER is set.
#[test]
fn zsh_and_fish_accept_their_scripts() {
    let have = |shell: &str| {
        Command::new(shell)
            .args(["-c", "exit 0"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("zsh") && have("fish")) {
        assert!(
            std::env::var_os("HELMRELEASE_REQUIRE_CLUSTER").is_none(),
            "HELMRELEASE_REQUIRE_CLUSTER is set but zsh or fish is missing (scripts/test-all.sh installs them)"
        );
        eprintln!("skipping: no zsh or fish");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let zsh = dir.path().join("_kubectl-helmrelease");
    std::fs::write(&zsh, run(PLUGIN, &["completion", "zsh"]).1).unwrap();
    let out = Command::new("zsh").arg("-n").arg(&zsh).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let fish = dir.path().join("kubectl-helmrelease.fish");
    std::fs::write(&fish, run(PLUGIN, &["completion", "fish"]).1).unwrap();
    let probe = format!(
        "source {}; complete -C 'kubectl-helmrelease hi'; complete -C 'kubectl-helmrelease get -o ya'",
        fish.display()
    );
    let out = Command::new("fish").args(["-c", &probe]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("history\t"))
            && text.lines().any(|l| l.starts_with("yaml")),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
