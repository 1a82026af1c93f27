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
