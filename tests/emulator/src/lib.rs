//! An in-memory Kubernetes API server for end-to-end tests: discovery, built-in kinds and
//! custom resources from CRDs (with schema defaulting and the status subresource), get, list
//! with label and field selectors, watch with resource versions, create, update with optimistic
//! concurrency, merge and JSON patches, and deletion with finalizers. kube-rs clients talk to it
//! unchanged. What it simplifies is written down in `tests/EMULATOR.md`.

pub mod admission;
pub mod api;
pub mod harness;
pub mod registry;
pub mod ssa;
pub mod store;
pub mod validation;

use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    /// Address it serves HTTPS on.
    pub addr: SocketAddr,
    /// PEM of the CA that signed the serving certificate.
    pub ca_pem: String,
    state: api::Shared,
    task: tokio::task::JoinHandle<()>,
}

/// A self-signed CA and a serving certificate for 127.0.0.1 and localhost.
type Certs = (
    String,
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

fn certificates() -> Result<Certs, Box<dyn std::error::Error + Send + Sync>> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kube-emulator CA");
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate()?;
    let params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
    let cert = params.signed_by(&key, &issuer)?;
    let der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der())?;
    Ok((ca_cert.pem(), vec![cert.der().clone()], der))
}

impl Emulator {
    /// Starts on `127.0.0.1:port` (0 picks a free port), over HTTPS with a fresh CA, with the
    /// namespaces every cluster has.
    pub async fn start(port: u16) -> std::io::Result<Emulator> {
        let state: api::Shared = Arc::new(Mutex::new(api::Inner::default()));
        {
            let mut inner = match state.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            for ns in ["default", "kube-system", "kube-public"] {
                let key = (
                    String::new(),
                    "namespaces".to_string(),
                    String::new(),
                    ns.to_string(),
                );
                let uid = inner.store.next_uid();
                let object = json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns, "uid": uid, "creationTimestamp": api::now(),
                                 "labels": {"kubernetes.io/metadata.name": ns}}});
                inner.store.put(key, object, "ADDED");
            }
        }
        let (ca_pem, chain, key) = certificates().map_err(std::io::Error::other)?;
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(std::io::Error::other)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .fallback(api::handle)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let builder = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    );
                    let _ = builder
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Ok(Emulator {
            addr,
            ca_pem,
            state,
            task,
        })
    }

    /// The server address as a URL.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A kubeconfig pointing at this emulator, trusting its CA.
    pub fn kubeconfig(&self) -> String {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: emulator\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\ncontexts:\n- name: emulator\n  context:\n    cluster: emulator\n    user: emulator\n    namespace: default\ncurrent-context: emulator\nusers:\n- name: emulator\n  user:\n    token: emulator\n",
            self.url()
        )
    }

    /// Writes the kubeconfig to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// Number of stored objects of a group/resource, for assertions.
    pub fn count(&self, group: &str, plural: &str) -> usize {
        match self.state.lock() {
            Ok(g) => g.store.list(group, plural, None).len(),
            Err(p) => p.into_inner().store.list(group, plural, None).len(),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
