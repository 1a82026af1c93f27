//! TLS: certificate and key files loaded at start-up (failing fast with the flag's name) and
//! reloaded when they change, including the atomic `..data` symlink swap of Secret volumes.
//! The check is a `stat` of both files per TLS handshake, so a rotated certificate is served
//! from the next new connection on, with no watcher to miss an event.

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Certificate and key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{flag} {}: {source}", path.display())]
    Read {
        /// The flag naming the file.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no usable PEM.
    #[error("{flag} {}: {what}", path.display())]
    Pem {
        /// The flag naming the file.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Certificate and key do not belong together.
    #[error("--tls-cert-file {} and --tls-key-file {}: {what}", cert.display(), key.display())]
    Mismatch {
        /// Certificate file.
        cert: PathBuf,
        /// Key file.
        key: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// The crypto provider we use everywhere (ring: no C toolchain beyond what cargo builds).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Loads a certificate chain and its key, checking that they match.
pub fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_pem = std::fs::read(cert).map_err(|source| TlsError::Read {
        flag: "--tls-cert-file",
        path: cert.to_path_buf(),
        source,
    })?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            flag: "--tls-cert-file",
            path: cert.to_path_buf(),
            what: format!("invalid PEM: {e}"),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            flag: "--tls-cert-file",
            path: cert.to_path_buf(),
            what: "no CERTIFICATE block found".to_string(),
        });
    }
    let key_pem = std::fs::read(key).map_err(|source| TlsError::Read {
        flag: "--tls-key-file",
        path: key.to_path_buf(),
        source,
    })?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
        flag: "--tls-key-file",
        path: key.to_path_buf(),
        what: format!("no usable private key: {e}"),
    })?;
    let signing_key = provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| TlsError::Pem {
            flag: "--tls-key-file",
            path: key.to_path_buf(),
            what: format!("unsupported private key: {e}"),
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    certified.keys_match().map_err(|e| TlsError::Mismatch {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        what: format!("the key does not belong to the certificate: {e}"),
    })?;
    Ok(certified)
}

/// Identity of a file's current content as far as `stat` tells: a rewrite or a symlink swap
/// changes it.
type Fingerprint = [(u64, u64, u64, i64, i64); 2];

fn fingerprint(cert: &Path, key: &Path) -> Option<Fingerprint> {
    let one = |p: &Path| {
        let m = std::fs::metadata(p).ok()?;
        Some((m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
    };
    Some([one(cert)?, one(key)?])
}

#[derive(Debug)]
struct Current {
    fingerprint: Option<Fingerprint>,
    key: Arc<CertifiedKey>,
    /// The fingerprint of files that failed to load, so the failure is logged once.
    failed: Option<Fingerprint>,
}

/// Serves the current certificate, reloading it when the files change.
#[derive(Debug)]
pub struct ReloadingResolver {
    cert: PathBuf,
    key: PathBuf,
    current: Mutex<Current>,
}

impl ReloadingResolver {
    /// Loads the files once; errors here stop start-up.
    pub fn new(cert: &Path, key: &Path) -> Result<ReloadingResolver, TlsError> {
        let fingerprint = fingerprint(cert, key);
        let loaded = load(cert, key)?;
        Ok(ReloadingResolver {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: Mutex::new(Current {
                fingerprint,
                key: Arc::new(loaded),
                failed: None,
            }),
        })
    }

    /// The certificate to serve now, reloaded first if the files changed. A half-written
    /// rotation (files that do not load or match) keeps the previous certificate.
    pub fn current(&self) -> Arc<CertifiedKey> {
        let seen = fingerprint(&self.cert, &self.key);
        let mut current = match self.current.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if seen.is_some() && seen != current.fingerprint && seen != current.failed {
            match load(&self.cert, &self.key) {
                Ok(loaded) => {
                    tracing::info!(cert = %self.cert.display(), "reloaded the TLS certificate");
                    current.key = Arc::new(loaded);
                    current.fingerprint = seen;
                    current.failed = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "keeping the previous TLS certificate");
                    current.failed = seen;
                }
            }
        }
        current.key.clone()
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// A server config for TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1, serving from `resolver`.
pub fn server_config(resolver: Arc<ReloadingResolver>) -> Result<ServerConfig, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
