//! The in-test HTTP(S) server both integration tests run: tokio + hyper on 127.0.0.1:0, on a
//! thread of its own, stopped when dropped.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// A running server.
pub struct Listener {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    /// Serves every request with `handler` (HTTPS with `tls`); `make` gets the bound address.
    pub fn start<M, H, F>(tls: Option<Arc<rustls::ServerConfig>>, make: M) -> Listener
    where
        M: FnOnce(SocketAddr) -> H,
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
    {
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let handler = make(addr);
        let (shutdown, mut stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stop => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let (handler, acceptor) = (handler.clone(), acceptor.clone());
                            tokio::spawn(async move {
                                let service = hyper::service::service_fn(handler);
                                let http = hyper::server::conn::http1::Builder::new();
                                match acceptor {
                                    None => {
                                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                                    }
                                    Some(acceptor) => {
                                        if let Ok(tls) = acceptor.accept(stream).await {
                                            let _ = http.serve_connection(TokioIo::new(tls), service).await;
                                        }
                                    }
                                }
                            });
                        }
                    }
                }
            });
        });
        Listener {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A chart archive as `helm package` lays it out: `<name>/Chart.yaml`, `<name>/values.yaml`.
pub fn chart_tgz(name: &str, version: &str, app_version: &str) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let files = [
        (
            "Chart.yaml",
            format!(
                "apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"{app_version}\"\n"
            ),
        ),
        ("values.yaml", "replicaCount: 1\n".to_string()),
    ];
    for (file, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{name}/{file}"), text.as_bytes())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

pub fn sha256(bytes: &[u8]) -> String {
    helmrelease_sources::cache::sha256_hex(bytes)
}
