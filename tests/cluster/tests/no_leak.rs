//! A test cluster must not outlive the test process that started it, however that process
//! ends: the shared cluster is a static, never dropped, so its watchdog does the cleaning.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use std::path::Path;
use std::time::{Duration, Instant};

/// Processes whose command line mentions `dir`.
fn processes_using(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) && !cmdline.contains("watchdog") {
            found.push(cmdline);
        }
    }
    found
}

/// Run by the test below in a process of its own: starts the shared cluster, says where its
/// data is, and ends the process the way a failing test does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by a_cluster_does_not_outlive_its_test_process in a child process"]
async fn child_starts_a_cluster_then_panics() {
    if std::env::var_os("NO_LEAK_CHILD").is_none() {
        return;
    }
    let cluster = helmrelease_testcluster::shared().await.expect("binaries");
    println!("DATA_DIR={}", cluster.data_dir().display());
    panic!("the child ends here, as a failing test would");
}

#[test]
fn a_cluster_does_not_outlive_its_test_process() {
    if !helmrelease_testcluster::available() {
        assert!(
            std::env::var_os("HELMRELEASE_REQUIRE_CLUSTER").is_none(),
            "HELMRELEASE_REQUIRE_CLUSTER is set but the cluster binaries are missing"
        );
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_starts_a_cluster_then_panics",
            "--ignored",
            "--nocapture",
        ])
        .env("NO_LEAK_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "the child was meant to fail: {stdout}"
    );
    let dir = stdout
        .lines()
        .find_map(|l| l.strip_prefix("DATA_DIR="))
        .unwrap_or_else(|| panic!("the child started no cluster: {stdout}"));
    let dir = Path::new(dir);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = processes_using(dir);
        if left.is_empty() && !dir.exists() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "20 s after its test process ended, the cluster is still there: data dir exists: {}, processes: {left:#?}",
            dir.exists()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
