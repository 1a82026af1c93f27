//! Flux's own source-controller and helm-controller, built from their Go modules
//! (`tests/flux`, `scripts/build-flux.sh`), run as child processes against the test cluster so
//! the end-to-end tests can compare their work with ours.
//!
//! Each controller is confined to one namespace (`--watch-all-namespaces=false` with
//! `RUNTIME_NAMESPACE`), runs without leader election, and serves metrics and health on free
//! loopback ports. source-controller keeps its artifacts in a folder of the cluster's data folder
//! and serves them on a free `127.0.0.1` port, which it advertises in the artifact URLs
//! helm-controller downloads from. A process is stopped when its handle is dropped; when the test
//! process ends any other way (kill -9 included), the cluster's own watchdog, one per process,
//! stops it and then removes the cluster's data folder, artifacts included.

use crate::{Cluster, Error, TestNamespace, cache_dir, free_port, io};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Flux's binaries are (`HELMRELEASE_FLUX_BIN`, or the build script's `flux/bin` in the
/// cache).
pub fn bin_dir() -> PathBuf {
    std::env::var_os("HELMRELEASE_FLUX_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("flux").join("bin"))
}

/// Flux's helm-controller binary.
pub fn helm_controller_bin() -> PathBuf {
    bin_dir().join("helm-controller")
}

/// Flux's source-controller binary.
pub fn source_controller_bin() -> PathBuf {
    bin_dir().join("source-controller")
}

/// The CRDs of the versions built (every kind source-controller watches, and HelmRelease), which
/// the build script puts beside `bin/`.
pub fn crds_dir() -> PathBuf {
    bin_dir().join("..").join("crds")
}

/// The CRDs source-controller needs besides those of the reference (`HelmRepository`,
/// `HelmChart`, `OCIRepository`, `HelmRelease`): it will not start without a CRD for every kind
/// it reconciles.
pub fn extra_crds() -> Vec<PathBuf> {
    ["buckets", "externalartifacts", "gitrepositories"]
        .iter()
        .map(|k| crds_dir().join(format!("source.toolkit.fluxcd.io_{k}.yaml")))
        .collect()
}

/// True when both of Flux's controllers are built, with their CRDs.
pub fn available() -> bool {
    helm_controller_bin().is_file()
        && source_controller_bin().is_file()
        && extra_crds().iter().all(|c| c.is_file())
}

/// A controller running (Flux's, or ours started as Flux's is). Dropping it stops the process.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Option<Child>,
    watchdog: Option<Child>,
    log: PathBuf,
    health_port: u16,
    ready_path: &'static str,
}

impl Process {
    /// Starts `bin` with `args` in the process group of its own, watched, with its output
    /// appended to `log`; returns once its `/readyz` answers ok.
    fn start(
        cluster: &Cluster,
        name: &str,
        bin: &Path,
        namespace: &TestNamespace,
        args: Vec<String>,
        log: &Path,
    ) -> Result<Process, Error> {
        if !bin.is_file() {
            return Err(Error::Missing(bin.to_path_buf()));
        }
        let metrics_port = free_port()?;
        let health_port = free_port()?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(io(format!("opening {}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(io(format!("opening {}", log.display())))?;
        let mut cmd = Command::new(bin);
        cmd.args([
            "--watch-all-namespaces=false".to_string(),
            "--enable-leader-election=false".to_string(),
            format!("--metrics-addr=127.0.0.1:{metrics_port}"),
            format!("--health-addr=127.0.0.1:{health_port}"),
            "--log-encoding=console".to_string(),
            "--interval-jitter-percentage=0".to_string(),
        ])
        .args(args)
        .env("KUBECONFIG", &namespace.kubeconfig)
        .env("RUNTIME_NAMESPACE", &namespace.name)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // A group of its own: the watchdog stops it (and anything it started) with one signal.
        .process_group(0);
        Process::launch(cluster, name, cmd, log, health_port, "/readyz")
    }

    /// Spawns `cmd` (set up to log to `log`) under the cluster's watchdog and waits until
    /// `http://127.0.0.1:<ready_port><ready_path>` answers 200.
    fn launch(
        cluster: &Cluster,
        name: &str,
        mut cmd: Command,
        log: &Path,
        ready_port: u16,
        ready_path: &'static str,
    ) -> Result<Process, Error> {
        let child = cmd.spawn().map_err(io(format!("starting {name}")))?;
        let mut process = Process {
            name: name.to_string(),
            watchdog: None,
            log: log.to_path_buf(),
            health_port: ready_port,
            ready_path,
            child: Some(child),
        };
        let pid = process.child.as_ref().map_or(0, Child::id);
        process.watchdog = Some(cluster.spawn_watchdog(pid)?);
        process.wait_ready()?;
        Ok(process)
    }

    /// The end of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The file the process logs to.
    pub fn log(&self) -> &Path {
        &self.log
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(Error::NotReady(format!(
                    "{} exited ({status}); the end of its log:\n{}",
                    self.name,
                    self.log_tail(20)
                )));
            }
            if http_get_ok(self.health_port, self.ready_path) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::NotReady(format!(
                    "{} not ready after 60 s; the end of its log:\n{}",
                    self.name,
                    self.log_tail(20)
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the process (SIGTERM, then SIGKILL after 10 s) and its watchdog.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            crate::terminate(&mut child, Duration::from_secs(10));
        }
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `GET http://127.0.0.1:<port><path>` that answered 200.
fn http_get_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

/// Flux's source-controller, running.
#[derive(Debug)]
pub struct SourceController {
    /// The process.
    pub process: Process,
    /// Where it serves (and advertises) artifacts: `127.0.0.1:<port>`.
    pub storage_addr: String,
}

/// Starts Flux's source-controller on `namespace`, logging to `log`. Its artifacts live in a
/// folder of the cluster's data folder, served on a free loopback port.
pub fn start_source_controller(
    cluster: &Cluster,
    namespace: &TestNamespace,
    log: &Path,
) -> Result<SourceController, Error> {
    let storage = cluster
        .data_dir()
        .join(format!("flux-source-{}", namespace.name));
    std::fs::create_dir_all(&storage).map_err(io(format!("creating {}", storage.display())))?;
    let storage_addr = format!("127.0.0.1:{}", free_port()?);
    let process = Process::start(
        cluster,
        "source-controller",
        &source_controller_bin(),
        namespace,
        vec![
            format!("--storage-path={}", storage.display()),
            format!("--storage-addr={storage_addr}"),
            format!("--storage-adv-addr={storage_addr}"),
        ],
        log,
    )?;
    Ok(SourceController {
        process,
        storage_addr,
    })
}

/// Starts Flux's helm-controller on `namespace`, logging to `log`. It downloads charts from the
/// artifact URLs a source-controller advertises, so start one for the namespace too.
pub fn start_helm_controller(
    cluster: &Cluster,
    namespace: &TestNamespace,
    log: &Path,
) -> Result<Process, Error> {
    start_helm_controller_binary(cluster, &helm_controller_bin(), namespace, log)
}

/// Starts `bin`, a helm-controller (Flux's, or ours: `helmrelease-controller` takes the same
/// flags and environment), on `namespace` with the command line Flux's gets here, logging to
/// `log`.
pub fn start_helm_controller_binary(
    cluster: &Cluster,
    bin: &Path,
    namespace: &TestNamespace,
    log: &Path,
) -> Result<Process, Error> {
    start_helm_controller_with_args(cluster, bin, namespace, log, &[])
}

/// [`start_helm_controller_binary`] with `extra` flags after those Flux's gets here (for ours,
/// `--sources=source-controller`, say).
pub fn start_helm_controller_with_args(
    cluster: &Cluster,
    bin: &Path,
    namespace: &TestNamespace,
    log: &Path,
    extra: &[&str],
) -> Result<Process, Error> {
    let name = bin.file_name().map_or_else(
        || "helm-controller".into(),
        |n| n.to_string_lossy().to_string(),
    );
    let mut args = vec!["--graceful-shutdown-timeout=5s".to_string()];
    args.extend(extra.iter().map(|a| a.to_string()));
    Process::start(cluster, &name, bin, namespace, args, log)
}

/// The CNCF distribution registry's binary (`HELMRELEASE_REGISTRY_BIN`, or the build script's
/// `registry/bin` in the cache).
pub fn registry_bin() -> PathBuf {
    std::env::var_os("HELMRELEASE_REGISTRY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("registry/bin/registry"))
}

/// An OCI registry (CNCF distribution, `scripts/build-registry.sh`) on a free loopback port,
/// plain HTTP, storing in the cluster's data folder.
#[derive(Debug)]
pub struct Registry {
    /// The process.
    pub process: Process,
    /// `127.0.0.1:<port>`.
    pub addr: String,
}

/// Starts a registry named `name`, logging to `log`.
pub fn start_registry(cluster: &Cluster, name: &str, log: &Path) -> Result<Registry, Error> {
    let bin = registry_bin();
    if !bin.is_file() {
        return Err(Error::Missing(bin));
    }
    let dir = cluster.data_dir().join(format!("registry-{name}"));
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let config = dir.join("config.yml");
    let text = format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
        dir.join("data").display()
    );
    std::fs::write(&config, text).map_err(io(format!("writing {}", config.display())))?;
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io(format!("opening {}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(io(format!("opening {}", log.display())))?;
    let mut cmd = Command::new(&bin);
    cmd.arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let process = Process::launch(cluster, "registry", cmd, log, port, "/v2/")?;
    Ok(Registry { process, addr })
}
