//! `certs`: a CA and a serving certificate for clusters without cert-manager, and for tests.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// Files written by [`generate`].
#[derive(Debug, Clone)]
pub struct Written {
    /// CA certificate (for the webhook configurations' `caBundle`).
    pub ca_cert: PathBuf,
    /// Serving certificate, signed by the CA.
    pub cert: PathBuf,
    /// Serving key.
    pub key: PathBuf,
}

/// Certificate generation failed.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// rcgen refused the parameters.
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    /// Writing a file failed.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `ca.crt`, `tls.crt` and `tls.key` into `dir` for the given DNS names (the first is
/// the common name), valid for `days` days.
pub fn generate(dns_names: &[String], dir: &Path, days: u32) -> Result<Written, CertsError> {
    // Backdated a little so clocks slightly behind ours accept the certificate.
    let not_before = std::time::SystemTime::now() - std::time::Duration::from_secs(300);
    let not_after = not_before + std::time::Duration::from_secs(u64::from(days) * 86_400);

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "helmrelease-webhook CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = not_before.into();
    ca_params.not_after = not_after.into();
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(dns_names.to_vec())?;
    if let Some(first) = dns_names.first() {
        params
            .distinguished_name
            .push(DnType::CommonName, first.clone());
    }
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.not_before = not_before.into();
    params.not_after = not_after.into();
    let cert = params.signed_by(&key, &issuer)?;

    std::fs::create_dir_all(dir).map_err(|source| CertsError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let written = Written {
        ca_cert: dir.join("ca.crt"),
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    };
    write(&written.ca_cert, ca_cert.pem().as_bytes(), false)?;
    write(&written.cert, cert.pem().as_bytes(), false)?;
    write(&written.key, key.serialize_pem().as_bytes(), true)?;
    Ok(written)
}

fn write(path: &Path, data: &[u8], secret: bool) -> Result<(), CertsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if secret { 0o600 } else { 0o644 });
    let mut file = options.open(path).map_err(|source| CertsError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    file.write_all(data).map_err(|source| CertsError::Write {
        path: path.to_path_buf(),
        source,
    })
}
