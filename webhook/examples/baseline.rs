//! The ceiling for the webhook load test: a minimal hyper + rustls server (same TLS stack,
//! same certificate, HTTP/1.1 and HTTP/2) that reads the body and returns a fixed
//! AdmissionReview without parsing or deciding anything.
//!
//! `cargo run --release -p helmrelease-webhook --example baseline -- CERT KEY ADDR`

use bytes_free::fixed_response;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::sync::Arc;
use tokio::net::TcpListener;

mod bytes_free {
    /// The AdmissionReview every request gets.
    pub fn fixed_response() -> &'static [u8] {
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}}"#
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    let [_, cert, key, addr] = args.as_slice() else {
        return Err("usage: baseline CERT KEY ADDR".into());
    };
    let resolver = Arc::new(helmrelease_webhook::tls::ReloadingResolver::new(
        cert.as_ref(),
        key.as_ref(),
    )?);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(
        helmrelease_webhook::tls::server_config(resolver)?,
    ));
    let listener = TcpListener::bind(addr).await?;
    eprintln!("baseline serving on {}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
                let _ = request.into_body().collect().await;
                Ok::<_, hyper::Error>(
                    Response::builder()
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(fixed_response())))
                        .unwrap_or_default(),
                )
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
