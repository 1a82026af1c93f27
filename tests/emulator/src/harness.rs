//! Test harness helpers: run the real `kubectl` against an emulator.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// What a kubectl run printed.
#[derive(Debug, Clone)]
pub struct KubectlOutput {
    /// Exit status was success.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error (errors and `Warning:` lines).
    pub stderr: String,
}

/// True when a `kubectl` binary is on PATH.
pub fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `kubectl --kubeconfig KUBECONFIG ARGS...`, feeding `stdin` when given. Blocking: call it
/// from `spawn_blocking` inside async tests.
pub fn kubectl(
    kubeconfig: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> std::io::Result<KubectlOutput> {
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())?;
    }
    drop(child.stdin.take());
    let out = child.wait_with_output()?;
    Ok(KubectlOutput {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    })
}
