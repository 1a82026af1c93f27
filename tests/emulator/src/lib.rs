//! An in-memory Kubernetes API server for end-to-end tests: discovery, built-in kinds and
//! custom resources from CRDs (with schema defaulting and the status subresource), get, list
//! with label and field selectors, watch with resource versions, create, update with optimistic
//! concurrency, merge and JSON patches, and deletion with finalizers. kube-rs clients talk to it
//! unchanged. What it simplifies is written down in `tests/EMULATOR.md`.

pub mod admission;
pub mod api;
pub mod registry;
pub mod ssa;
pub mod store;

use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    /// Address it serves plain HTTP on.
    pub addr: SocketAddr,
    state: api::Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Emulator {
    /// Starts on `127.0.0.1:port` (0 picks a free port) with the namespaces every cluster has.
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
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .fallback(api::handle)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "emulator stopped");
            }
        });
        Ok(Emulator { addr, state, task })
    }

    /// The server address as a URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig pointing at this emulator.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: emulator\n  cluster:\n    server: {}\ncontexts:\n- name: emulator\n  context:\n    cluster: emulator\n    user: emulator\n    namespace: default\ncurrent-context: emulator\nusers:\n- name: emulator\n  user:\n    token: emulator\n",
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
