//! A real Kubernetes control plane on loopback for end-to-end tests: etcd, kube-apiserver,
//! kube-controller-manager and kube-scheduler built from upstream modules at one release
//! (`tests/cluster/go`, `scripts/build-kube.sh`), and kwok playing the kubelet of a fake Node
//! (`tests/cluster/kwok`, stages in `src/stages.yaml`), so Deployments roll out, Jobs complete
//! and Pods annotated `helmrelease.dev/kwok-fail: "true"` fail.
//!
//! Certificates, the service-account key and the tokens are made per run; RBAC is on, so a 403
//! is real. The official `helm` (4.1.4 and 3.19.0) and `kubectl` (1.35.2) binaries are found in
//! the cache `scripts/install-test-binaries.sh` fills.
//!
//! In a test, [`shared`] starts one cluster per test process and [`Cluster::namespace`] gives
//! each test its own namespace, client and kubeconfig. Nothing leaks: a watchdog stops every
//! process of the cluster and removes its data when the process that started it ends, however
//! it ends.

pub mod charts;
pub mod flux;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What can go wrong starting or using the cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error("generating certificates: {0}")]
    Certs(#[from] rcgen::Error),
    /// A binary the cluster needs is missing.
    #[error("{0} not found; run scripts/build-kube.sh and scripts/install-test-binaries.sh")]
    Missing(PathBuf),
    /// The cluster did not become ready in time.
    #[error("{0}")]
    NotReady(String),
    /// A Kubernetes call failed.
    #[error("{0}")]
    Kube(#[from] kube::Error),
    /// The kubeconfig could not be loaded.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// The cache folder shared by the build scripts and the tests.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HELMRELEASE_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("helmrelease")
}

/// Where the control plane's binaries are (`HELMRELEASE_KUBE_BIN`, or the build script's
/// `kube/bin` in the cache).
pub fn kube_bin_dir() -> PathBuf {
    std::env::var_os("HELMRELEASE_KUBE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("kube").join("bin"))
}

/// Where the official helm and kubectl binaries are (`HELMRELEASE_TEST_BIN`, or the install
/// script's `test-bin` in the cache).
pub fn test_bin_dir() -> PathBuf {
    std::env::var_os("HELMRELEASE_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("test-bin"))
}

/// The official Helm 4.1.4 binary.
pub fn helm4() -> PathBuf {
    test_bin_dir().join("helm4")
}

/// The official Helm 3.19.0 binary.
pub fn helm3() -> PathBuf {
    test_bin_dir().join("helm3")
}

/// The official kubectl 1.35.2 binary.
pub fn kubectl() -> PathBuf {
    test_bin_dir().join("kubectl")
}

const COMPONENTS: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
];

/// True when the control plane and the official binaries are installed.
pub fn available() -> bool {
    let bins = kube_bin_dir();
    COMPONENTS.iter().all(|c| bins.join(c).is_file())
        && [helm4(), helm3(), kubectl()].iter().all(|b| b.is_file())
}

/// The shared cluster of this test process, started on first use. `None` (with a note on
/// stderr) when the binaries are not installed, unless `HELMRELEASE_REQUIRE_CLUSTER` is set, as
/// `scripts/test-all.sh` sets it: then a missing binary or a failed start panics.
pub async fn shared() -> Option<&'static Cluster> {
    static CLUSTER: tokio::sync::OnceCell<Cluster> = tokio::sync::OnceCell::const_new();
    let required = std::env::var_os("HELMRELEASE_REQUIRE_CLUSTER").is_some();
    if !available() {
        assert!(
            !required,
            "HELMRELEASE_REQUIRE_CLUSTER is set but the cluster binaries are missing: run \
             scripts/build-kube.sh and scripts/install-test-binaries.sh"
        );
        eprintln!(
            "skipping: no control plane binaries (run scripts/build-kube.sh and \
             scripts/install-test-binaries.sh)"
        );
        return None;
    }
    match CLUSTER
        .get_or_try_init(|| Cluster::start(Options::default()))
        .await
    {
        Ok(c) => Some(c),
        Err(e) => panic!("starting the test cluster: {e}"),
    }
}

/// How to start a cluster.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where certificates, etcd's data and logs go; a fresh temporary folder when `None`. It is
    /// removed when the cluster stops.
    pub data_dir: Option<PathBuf>,
}

/// A running control plane.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    server: String,
    ca_pem: String,
    token: String,
    kubeconfig: PathBuf,
    children: Vec<(String, Child)>,
    watchdog: Option<Child>,
}

/// Picks a free loopback port (bound then released; the components bind it right after).
fn free_port() -> Result<u16, Error> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("binding a free port"))?;
    Ok(l.local_addr().map_err(io("reading a free port"))?.port())
}

fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    // Two independently seeded SipHash states: 128 unpredictable bits, no extra dependency.
    let mut out = String::new();
    for i in 0..2u8 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

struct Pki {
    ca_pem: String,
    serving_cert: String,
    serving_key: String,
    sa_key: String,
    sa_pub: String,
}

fn pki() -> Result<Pki, Error> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "helmrelease test cluster CA");
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec![
        "127.0.0.1".to_string(),
        "10.0.0.1".to_string(),
        "localhost".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        "kubernetes.default.svc.cluster.local".to_string(),
    ])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let cert = params.signed_by(&key, &issuer)?;
    let sa = KeyPair::generate()?;
    Ok(Pki {
        ca_pem: ca_cert.pem(),
        serving_cert: cert.pem(),
        serving_key: key.serialize_pem(),
        sa_key: sa.serialize_pem(),
        sa_pub: sa.public_key_pem(),
    })
}

/// A kubeconfig for `server` trusting `ca_pem`, authenticating with `token`.
pub fn kubeconfig_yaml(server: &str, ca_pem: &str, token: &str, namespace: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: helmrelease-test\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\ncontexts:\n- name: helmrelease-test\n  context:\n    cluster: helmrelease-test\n    user: admin\n    namespace: {namespace}\ncurrent-context: helmrelease-test\nusers:\n- name: admin\n  user:\n    token: {token}\n"
    )
}

impl Cluster {
    /// Starts every component and returns once `/readyz` is ok, the fake Node is Ready and the
    /// controllers have made the `default` ServiceAccount.
    pub async fn start(options: Options) -> Result<Cluster, Error> {
        let bins = kube_bin_dir();
        for c in COMPONENTS {
            if !bins.join(c).is_file() {
                return Err(Error::Missing(bins.join(c)));
            }
        }
        let dir = match options.data_dir {
            Some(d) => d,
            None => std::env::temp_dir().join(format!(
                "helmrelease-cluster-{}-{}",
                std::process::id(),
                &random_token()[..8]
            )),
        };
        std::fs::create_dir_all(dir.join("logs"))
            .map_err(io(format!("creating {}", dir.join("logs").display())))?;
        let write = |name: &str, text: &str| -> Result<PathBuf, Error> {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(io(format!("writing {}", p.display())))?;
            Ok(p)
        };
        let pki = pki()?;
        let ca = write("ca.crt", &pki.ca_pem)?;
        let serving_cert = write("apiserver.crt", &pki.serving_cert)?;
        let serving_key = write("apiserver.key", &pki.serving_key)?;
        let sa_key = write("sa.key", &pki.sa_key)?;
        let sa_pub = write("sa.pub", &pki.sa_pub)?;
        let admin = random_token();
        let kcm = random_token();
        let sched = random_token();
        let kwok = random_token();
        let tokens = write(
            "tokens.csv",
            &format!(
                "{admin},admin,admin,system:masters\n\
                 {kcm},system:kube-controller-manager,kcm\n\
                 {sched},system:kube-scheduler,scheduler\n\
                 {kwok},kwok,kwok,system:masters\n"
            ),
        )?;

        let etcd_port = free_port()?;
        let peer_port = free_port()?;
        let api_port = free_port()?;
        let server = format!("https://127.0.0.1:{api_port}");
        let kcm_kubeconfig = write(
            "kcm.kubeconfig",
            &kubeconfig_yaml(&server, &pki.ca_pem, &kcm, "default"),
        )?;
        let sched_kubeconfig = write(
            "scheduler.kubeconfig",
            &kubeconfig_yaml(&server, &pki.ca_pem, &sched, "default"),
        )?;
        let kwok_kubeconfig = write(
            "kwok.kubeconfig",
            &kubeconfig_yaml(&server, &pki.ca_pem, &kwok, "default"),
        )?;
        let kubeconfig = write(
            "admin.kubeconfig",
            &kubeconfig_yaml(&server, &pki.ca_pem, &admin, "default"),
        )?;
        let stages = write("kwok.yaml", include_str!("stages.yaml"))?;

        let mut cluster = Cluster {
            dir: dir.clone(),
            server,
            ca_pem: pki.ca_pem.clone(),
            token: admin,
            kubeconfig,
            children: Vec::new(),
            watchdog: None,
        };
        let p = |path: &Path| path.display().to_string();
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        cluster.spawn(
            "etcd",
            &[
                "--name=default".into(),
                format!("--data-dir={}", p(&dir.join("etcd"))),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=default={peer_url}"),
                // The data dies with the test run: durability buys nothing and fsync costs much.
                "--unsafe-no-fsync".into(),
                "--log-level=warn".into(),
            ],
        )?;
        cluster.spawn(
            "kube-apiserver",
            &[
                format!("--etcd-servers={etcd_url}"),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                format!("--secure-port={api_port}"),
                format!("--cert-dir={}", p(&dir.join("pki"))),
                format!("--tls-cert-file={}", p(&serving_cert)),
                format!("--tls-private-key-file={}", p(&serving_key)),
                format!("--client-ca-file={}", p(&ca)),
                format!("--token-auth-file={}", p(&tokens)),
                "--authorization-mode=Node,RBAC".into(),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
                format!("--service-account-key-file={}", p(&sa_pub)),
                format!("--service-account-signing-key-file={}", p(&sa_key)),
                // Room for thousands of Services (scripts/bench-controller.sh makes one per release).
                "--service-cluster-ip-range=10.0.0.0/16".into(),
                // The endpoint reconciler would publish 127.0.0.1, which Endpoints refuse.
                "--endpoint-reconciler-type=none".into(),
                "--allow-privileged=true".into(),
                "--profiling=false".into(),
                // The node lifecycle controller is off (below), so nothing would lift the
                // not-ready taint this plugin puts on new Nodes.
                "--disable-admission-plugins=TaintNodesByCondition".into(),
            ],
        )?;
        cluster.wait_ready().await?;
        cluster.spawn(
            "kube-controller-manager",
            &[
                format!("--kubeconfig={}", p(&kcm_kubeconfig)),
                "--leader-elect=false".into(),
                "--secure-port=0".into(),
                "--use-service-account-credentials=true".into(),
                format!("--service-account-private-key-file={}", p(&sa_key)),
                format!("--root-ca-file={}", p(&ca)),
                // kwok keeps no node heartbeat; without the node lifecycle controller nothing
                // taints the fake node or evicts its Pods.
                "--controllers=*,-nodelifecycle".into(),
                // The default 20 requests/s per controller makes the Deployment controller,
                // not the HelmRelease controllers, the bottleneck once hundreds of releases
                // roll out at once (scripts/bench-controller.sh).
                "--kube-api-qps=200".into(),
                "--kube-api-burst=400".into(),
                "--concurrent-deployment-syncs=10".into(),
                "--concurrent-replicaset-syncs=10".into(),
            ],
        )?;
        cluster.spawn(
            "kube-scheduler",
            &[
                format!("--kubeconfig={}", p(&sched_kubeconfig)),
                format!("--authentication-kubeconfig={}", p(&sched_kubeconfig)),
                format!("--authorization-kubeconfig={}", p(&sched_kubeconfig)),
                "--leader-elect=false".into(),
                "--secure-port=0".into(),
            ],
        )?;
        cluster.spawn(
            "kwok",
            &[
                format!("--kubeconfig={}", p(&kwok_kubeconfig)),
                format!("--config={}", p(&stages)),
                "--manage-all-nodes=false".into(),
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake".into(),
                "--cidr=10.244.0.0/16".into(),
                "--node-ip=10.1.0.1".into(),
                "--server-address=".into(),
            ],
        )?;
        cluster.wait_settled().await?;
        Ok(cluster)
    }

    fn spawn(&mut self, name: &str, args: &[String]) -> Result<(), Error> {
        let log = self.dir.join("logs").join(format!("{name}.log"));
        let out = std::fs::File::create(&log).map_err(io(format!("creating {}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(io(format!("opening {}", log.display())))?;
        let mut cmd = Command::new(kube_bin_dir().join(name));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .current_dir(&self.dir);
        // Every component joins the first one's process group, so one signal reaches them all.
        let group = self.children.first().map(|(_, c)| c.id());
        cmd.process_group(group.map_or(0, |g| g as i32));
        let child = cmd.spawn().map_err(io(format!("starting {name}")))?;
        if group.is_none() {
            self.watchdog = Some(self.spawn_watchdog(child.id())?);
        }
        self.children.push((name.to_string(), child));
        Ok(())
    }

    /// A shell that outlives us only to clean up: when the process that started the cluster is
    /// gone (exit, panic, kill -9), it stops the cluster's process group and removes the data.
    fn spawn_watchdog(&self, group: u32) -> Result<Child, Error> {
        let script = r#"
            while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
            kill -TERM -- "-$2" 2>/dev/null
            for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 -- "-$2" 2>/dev/null || break; sleep 0.5; done
            kill -KILL -- "-$2" 2>/dev/null
            rm -rf -- "$3"
        "#;
        // bash, not sh: dash's kill takes neither `--` nor a negative (group) pid, so under
        // sh every kill here failed and the API servers outlived their tests.
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(script)
            .arg("watchdog")
            .arg(std::process::id().to_string())
            .arg(group.to_string())
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        cmd.spawn().map_err(io("starting the cluster watchdog"))
    }

    fn log_tail(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join("logs").join(format!("{name}.log")))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Fails with the component's log when one has exited.
    fn check_alive(&mut self) -> Result<(), Error> {
        let mut dead = None;
        for (name, child) in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                dead = Some((name.clone(), status));
                break;
            }
        }
        match dead {
            Some((name, status)) => Err(Error::NotReady(format!(
                "{name} exited ({status}); the end of its log:\n{}",
                self.log_tail(&name)
            ))),
            None => Ok(()),
        }
    }

    async fn wait_ready(&mut self) -> Result<(), Error> {
        let client = self.client().await?;
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            self.check_alive()?;
            let req = http::Request::get("/readyz")
                .body(Vec::new())
                .map_err(|e| Error::NotReady(e.to_string()))?;
            if let Ok(text) = client.request_text(req).await
                && text.trim() == "ok"
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::NotReady(format!(
                    "kube-apiserver not ready after 90 s; the end of its log:\n{}",
                    self.log_tail("kube-apiserver")
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Registers the fake Node and waits until kwok reports it Ready and the controllers have
    /// made the `default` ServiceAccount (Pods are refused before it exists).
    async fn wait_settled(&mut self) -> Result<(), Error> {
        use k8s_openapi::api::core::v1::{Node, ServiceAccount};
        use kube::api::{Api, PostParams};
        let client = self.client().await?;
        let nodes: Api<Node> = Api::all(client.clone());
        let node: Node = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": "kwok-node-0",
                "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": {
                    "kubernetes.io/hostname": "kwok-node-0",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok"
                }
            }
        }))
        .map_err(|e| Error::NotReady(e.to_string()))?;
        nodes.create(&PostParams::default(), &node).await?;
        let sas: Api<ServiceAccount> = Api::namespaced(client, "default");
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            self.check_alive()?;
            let ready = nodes.get_opt("kwok-node-0").await?.is_some_and(|n| {
                n.status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            });
            let sa = sas.get_opt("default").await?.is_some();
            if ready && sa {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::NotReady(format!(
                    "the cluster did not settle in 90 s (node ready: {ready}, default \
                     ServiceAccount: {sa}); kwok's log:\n{}\nkube-controller-manager's log:\n{}",
                    self.log_tail("kwok"),
                    self.log_tail("kube-controller-manager")
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The API server's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The PEM of the CA that signed the API server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The cluster-admin kubeconfig file.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The cluster-admin kubeconfig with `namespace` as the context's namespace.
    pub fn kubeconfig_yaml(&self, namespace: &str) -> String {
        kubeconfig_yaml(&self.server, &self.ca_pem, &self.token, namespace)
    }

    /// The folder holding certificates, logs and etcd's data.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// A cluster-admin client.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        client_for(&self.kubeconfig_yaml("default")).await
    }

    /// A fresh namespace named `<prefix>-<n>` with its own client and kubeconfig (whose
    /// context defaults to the namespace), once its `default` ServiceAccount exists.
    pub async fn namespace(&self, prefix: &str) -> Result<TestNamespace, Error> {
        use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
        use kube::api::{Api, PostParams};
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let yaml = self.kubeconfig_yaml(&name);
        let client = client_for(&yaml).await?;
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}
        }))
        .map_err(|e| Error::NotReady(e.to_string()))?;
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await?;
        let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &name);
        let deadline = Instant::now() + Duration::from_secs(30);
        while sas.get_opt("default").await?.is_none() {
            if Instant::now() > deadline {
                return Err(Error::NotReady(format!(
                    "namespace {name}: no default ServiceAccount after 30 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let kubeconfig = self.dir.join(format!("{name}.kubeconfig"));
        std::fs::write(&kubeconfig, &yaml)
            .map_err(io(format!("writing {}", kubeconfig.display())))?;
        Ok(TestNamespace {
            name,
            client,
            kubeconfig,
        })
    }

    /// Stops every component (SIGTERM, then SIGKILL after 5 s) and removes the data folder.
    pub fn stop(&mut self) {
        // Stop in reverse start order: clients before the API server, etcd last.
        for (_, child) in self.children.iter_mut().rev() {
            terminate(child, Duration::from_secs(5));
        }
        self.children.clear();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Stops `child`: SIGTERM, then SIGKILL once `grace` has passed.
pub(crate) fn terminate(child: &mut Child, grace: Duration) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + grace;
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn client_for(yaml: &str) -> Result<kube::Client, Error> {
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(yaml).map_err(|e| Error::Kubeconfig(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| Error::Kubeconfig(e.to_string()))?;
    Ok(kube::Client::try_from(config)?)
}

/// A test's own namespace in the shared cluster.
#[derive(Clone)]
pub struct TestNamespace {
    /// The namespace's name.
    pub name: String,
    /// A cluster-admin client whose default namespace is this one.
    pub client: kube::Client,
    /// A cluster-admin kubeconfig file whose context's namespace is this one.
    pub kubeconfig: PathBuf,
}

/// What a command printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit status was success.
    pub ok: bool,
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The stdout of a command that must succeed; panics with its output otherwise.
#[track_caller]
pub fn ok(what: &str, out: Output) -> String {
    assert!(
        out.ok,
        "{what} failed ({:?}):\n{}\n{}",
        out.code, out.stdout, out.stderr
    );
    out.stdout
}

/// Runs `bin --kubeconfig KUBECONFIG ARGS...` (official kubectl or helm), feeding `stdin` when
/// given. Helm's cache, config and data go to a folder of their own, so the user's are neither
/// read nor written. Blocking: call it from `spawn_blocking` in async tests.
pub fn run(
    bin: &Path,
    kubeconfig: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> std::io::Result<Output> {
    use std::io::Write;
    let helm_home =
        std::env::temp_dir().join(format!("helmrelease-helm-home-{}", std::process::id()));
    let mut child = Command::new(bin)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("HELM_CACHE_HOME", helm_home.join("cache"))
        .env("HELM_CONFIG_HOME", helm_home.join("config"))
        .env("HELM_DATA_HOME", helm_home.join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())?;
    }
    drop(child.stdin.take());
    let out = child.wait_with_output()?;
    Ok(Output {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    })
}

/// [`run`] on a blocking thread, for async tests.
pub async fn run_async(
    bin: PathBuf,
    kubeconfig: PathBuf,
    args: Vec<String>,
    stdin: Option<String>,
) -> Output {
    let shown = format!("{} {}", bin.display(), args.join(" "));
    let result = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&bin, &kubeconfig, &args, stdin.as_deref())
    })
    .await;
    match result {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("running {shown}: {e}"),
        Err(e) => panic!("running {shown}: {e}"),
    }
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

impl Cluster {
    /// Official kubectl as cluster-admin.
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_async(
            kubectl(),
            self.kubeconfig.clone(),
            owned(args),
            stdin.map(str::to_string),
        )
        .await
    }

    /// Applies the CRDs in `files` (server-side, so reruns and other tests' applies agree) and
    /// waits until they are Established. Panics with kubectl's output on failure.
    pub async fn install_crds(&self, files: &[&Path]) {
        for file in files {
            let path = file.display().to_string();
            let out = self
                .kubectl(
                    &["apply", "--server-side", "--force-conflicts", "-f", &path],
                    None,
                )
                .await;
            assert!(
                out.ok,
                "kubectl apply -f {path}: {}{}",
                out.stdout, out.stderr
            );
            let out = self
                .kubectl(
                    &[
                        "wait",
                        "--for=condition=Established",
                        "--timeout=60s",
                        "-f",
                        &path,
                    ],
                    None,
                )
                .await;
            assert!(
                out.ok,
                "kubectl wait -f {path}: {}{}",
                out.stdout, out.stderr
            );
        }
    }
}

impl std::fmt::Debug for TestNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNamespace")
            .field("name", &self.name)
            .field("kubeconfig", &self.kubeconfig)
            .finish_non_exhaustive()
    }
}

impl TestNamespace {
    /// Official kubectl in this namespace.
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_async(
            kubectl(),
            self.kubeconfig.clone(),
            owned(args),
            stdin.map(str::to_string),
        )
        .await
    }

    /// Official Helm 4.1.4 in this namespace.
    pub async fn helm(&self, args: &[&str]) -> Output {
        let mut all = owned(args);
        all.extend(["--namespace".to_string(), self.name.clone()]);
        run_async(helm4(), self.kubeconfig.clone(), all, None).await
    }

    /// Official Helm 3.19.0 in this namespace.
    pub async fn helm3(&self, args: &[&str]) -> Output {
        let mut all = owned(args);
        all.extend(["--namespace".to_string(), self.name.clone()]);
        run_async(helm3(), self.kubeconfig.clone(), all, None).await
    }
}
