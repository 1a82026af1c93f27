//! Private keys as Sprig handles them: generation (`genPrivateKey`: RSA 4096, DSA
//! L2048N256, ECDSA P-256, Ed25519), PEM encoding in Go's formats (PKCS#1, SEC1, Go's DSA
//! sequence, PKCS#8 for Ed25519), parsing (Sprig's `parsePrivateKeyPEM`), public key
//! encoding and X.509 signing.

use super::der::{self, BIT_STRING, INTEGER, NULL, OCTET_STRING, OID, Reader, SEQUENCE};
use num_bigint_dig::{BigUint, RandBigInt};
use rand_core::{OsRng, RngCore};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;

const OID_RSA: &[u64] = &[1, 2, 840, 113_549, 1, 1, 1];
const OID_SHA256_RSA: &[u64] = &[1, 2, 840, 113_549, 1, 1, 11];
const OID_EC: &[u64] = &[1, 2, 840, 10_045, 2, 1];
const OID_ED25519: &[u64] = &[1, 3, 101, 112];
const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10_045, 4, 3, 2];
const OID_ECDSA_SHA384: &[u64] = &[1, 2, 840, 10_045, 4, 3, 3];

/// The DigestInfo prefix of a SHA-256 hash in a PKCS#1 v1.5 signature.
const SHA256_DIGEST_INFO: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Named elliptic curves Go's x509 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P224,
    P256,
    P384,
    P521,
}

impl Curve {
    fn oid(self) -> &'static [u64] {
        match self {
            Curve::P224 => &[1, 3, 132, 0, 33],
            Curve::P256 => &[1, 2, 840, 10_045, 3, 1, 7],
            Curve::P384 => &[1, 3, 132, 0, 34],
            Curve::P521 => &[1, 3, 132, 0, 35],
        }
    }

    fn from_oid(content: &[u8]) -> Option<Curve> {
        [Curve::P224, Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| der::oid(c.oid()).get(2..) == Some(content))
    }

    /// Private scalar length in bytes.
    fn size(self) -> usize {
        match self {
            Curve::P224 => 28,
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// A DSA key (`*dsa.PrivateKey`).
#[derive(Debug, Clone)]
pub(crate) struct DsaKey {
    p: BigUint,
    q: BigUint,
    g: BigUint,
    y: BigUint,
    x: BigUint,
}

/// A private key of a type Sprig handles.
#[derive(Debug, Clone)]
pub(crate) enum PrivateKey {
    Rsa(Box<RsaPrivateKey>),
    Ec {
        curve: Curve,
        /// The scalar, `curve.size()` bytes.
        d: Vec<u8>,
        /// The uncompressed public point (empty when the encoding left it out).
        public: Vec<u8>,
    },
    Ed25519([u8; 32]),
    Dsa(Box<DsaKey>),
}

/// A fresh RSA key of `bits` bits (exponent 65537), as `rsa.GenerateKey` makes.
pub(crate) fn generate_rsa(bits: usize) -> Result<PrivateKey, String> {
    RsaPrivateKey::new(&mut OsRng, bits)
        .map(|k| PrivateKey::Rsa(Box::new(k)))
        .map_err(|e| e.to_string())
}

/// A fresh P-256 key.
pub(crate) fn generate_ecdsa() -> Result<PrivateKey, String> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| "ecdsa: key generation failed".to_string())?;
    parse_pkcs8(pkcs8.as_ref())
}

/// A fresh Ed25519 key.
pub(crate) fn generate_ed25519() -> PrivateKey {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    PrivateKey::Ed25519(seed)
}

/// A fresh DSA key with L=2048, N=256 parameters, by Go's `dsa.GenerateParameters` and
/// `dsa.GenerateKey` (FIPS 186-3 style primes, Miller-Rabin with 64 rounds plus Lucas).
pub(crate) fn generate_dsa() -> PrivateKey {
    generate_dsa_sized(2048, 256)
}

/// DSA generation for `l`/`n` bit primes (tests use small sizes).
pub(crate) fn generate_dsa_sized(l: usize, n: usize) -> PrivateKey {
    let one = BigUint::from(1u32);
    let (p, q) = 'primes: loop {
        let mut q_bytes = vec![0u8; n / 8];
        OsRng.fill_bytes(&mut q_bytes);
        if let Some(last) = q_bytes.last_mut() {
            *last |= 1;
        }
        q_bytes[0] |= 0x80;
        let q = BigUint::from_bytes_be(&q_bytes);
        if !num_bigint_dig::prime::probably_prime(&q, 64) {
            continue;
        }
        for _ in 0..4 * l {
            let mut p_bytes = vec![0u8; l / 8];
            OsRng.fill_bytes(&mut p_bytes);
            if let Some(last) = p_bytes.last_mut() {
                *last |= 1;
            }
            p_bytes[0] |= 0x80;
            let p = BigUint::from_bytes_be(&p_bytes);
            // p ≡ 1 (mod q).
            let rem = &p % &q;
            if rem == BigUint::from(0u32) {
                continue;
            }
            let p = p - (rem - &one);
            if p.bits() < l {
                continue;
            }
            if !num_bigint_dig::prime::probably_prime(&p, 64) {
                continue;
            }
            break 'primes (p, q);
        }
    };
    let e = (&p - &one) / &q;
    let mut h = BigUint::from(2u32);
    let g = loop {
        let g = h.modpow(&e, &p);
        if g != one {
            break g;
        }
        h += &one;
    };
    let x = loop {
        let x = OsRng.gen_biguint(q.bits() / 8 * 8);
        if x != BigUint::from(0u32) && x < q {
            break x;
        }
    };
    let y = g.modpow(&x, &p);
    PrivateKey::Dsa(Box::new(DsaKey { p, q, g, y, x }))
}

impl PrivateKey {
    /// Sprig's `pemBlockForKey`: PKCS#1 for RSA, SEC1 for ECDSA, Go's DSA sequence, PKCS#8
    /// for the rest.
    pub(crate) fn to_pem(&self) -> Result<String, String> {
        Ok(match self {
            PrivateKey::Rsa(k) => {
                let doc = k.to_pkcs1_der().map_err(|e| e.to_string())?;
                der::pem_encode("RSA PRIVATE KEY", doc.as_bytes())
            }
            PrivateKey::Ec { curve, d, public } => {
                der::pem_encode("EC PRIVATE KEY", &sec1(*curve, d, public, true))
            }
            PrivateKey::Dsa(k) => {
                let body = der::seq(&[
                    &der::uint(&[]),
                    &der::uint(&k.p.to_bytes_be()),
                    &der::uint(&k.q.to_bytes_be()),
                    &der::uint(&k.g.to_bytes_be()),
                    &der::uint(&k.y.to_bytes_be()),
                    &der::uint(&k.x.to_bytes_be()),
                ]);
                der::pem_encode("DSA PRIVATE KEY", &body)
            }
            PrivateKey::Ed25519(seed) => {
                let body = der::seq(&[
                    &der::uint(&[]),
                    &der::seq(&[&der::oid(OID_ED25519)]),
                    &der::tlv(OCTET_STRING, &der::tlv(OCTET_STRING, seed)),
                ]);
                der::pem_encode("PRIVATE KEY", &body)
            }
        })
    }

    /// Go's `marshalPublicKey`: the subjectPublicKey bytes and the whole
    /// SubjectPublicKeyInfo.
    pub(crate) fn public_key_info(&self) -> Result<(Vec<u8>, Vec<u8>), String> {
        let (alg, key) = match self {
            PrivateKey::Rsa(k) => (
                der::seq(&[&der::oid(OID_RSA), &[NULL, 0]]),
                der::seq(&[
                    &der::uint(&k.n().to_bytes_be()),
                    &der::uint(&k.e().to_bytes_be()),
                ]),
            ),
            PrivateKey::Ec { curve, public, .. } => {
                if public.is_empty() {
                    return Err("x509: EC private key lacks its public key".into());
                }
                (
                    der::seq(&[&der::oid(OID_EC), &der::oid(curve.oid())]),
                    public.clone(),
                )
            }
            PrivateKey::Ed25519(seed) => {
                (der::seq(&[&der::oid(OID_ED25519)]), ed25519_public(seed)?)
            }
            PrivateKey::Dsa(_) => {
                return Err("x509: unsupported public key type: *dsa.PublicKey".into());
            }
        };
        let spki = der::seq(&[&alg, &der::bit_string(&key)]);
        Ok((key, spki))
    }

    /// The signature AlgorithmIdentifier Go picks for this signing key.
    pub(crate) fn signature_algorithm(&self) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::Rsa(_) => Ok(der::seq(&[&der::oid(OID_SHA256_RSA), &[NULL, 0]])),
            PrivateKey::Ec {
                curve: Curve::P256, ..
            } => Ok(der::seq(&[&der::oid(OID_ECDSA_SHA256)])),
            PrivateKey::Ec {
                curve: Curve::P384, ..
            } => Ok(der::seq(&[&der::oid(OID_ECDSA_SHA384)])),
            PrivateKey::Ec { curve, .. } => Err(format!(
                "x509: signing with curve {curve:?} is not supported"
            )),
            PrivateKey::Ed25519(_) => Ok(der::seq(&[&der::oid(OID_ED25519)])),
            PrivateKey::Dsa(_) => {
                Err("x509: certificate private key does not implement crypto.Signer".into())
            }
        }
    }

    /// The signature AlgorithmIdentifier Go picks for this key, and the signature of `tbs`.
    pub(crate) fn sign(&self, tbs: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        let rng = SystemRandom::new();
        match self {
            PrivateKey::Rsa(k) => {
                let hash = ring::digest::digest(&ring::digest::SHA256, tbs);
                let mut info = SHA256_DIGEST_INFO.to_vec();
                info.extend_from_slice(hash.as_ref());
                let sig = k
                    .sign_with_rng(&mut OsRng, rsa::Pkcs1v15Sign::new_unprefixed(), &info)
                    .map_err(|e| format!("crypto/rsa: {e}"))?;
                Ok((der::seq(&[&der::oid(OID_SHA256_RSA), &[NULL, 0]]), sig))
            }
            PrivateKey::Ec { curve, d, public } => {
                let (alg, oid) = match curve {
                    Curve::P256 => (&signature::ECDSA_P256_SHA256_ASN1_SIGNING, OID_ECDSA_SHA256),
                    Curve::P384 => (&signature::ECDSA_P384_SHA384_ASN1_SIGNING, OID_ECDSA_SHA384),
                    // ring signs with P-256 and P-384 only.
                    Curve::P224 | Curve::P521 => {
                        return Err(format!(
                            "x509: signing with curve {curve:?} is not supported"
                        ));
                    }
                };
                let pair = EcdsaKeyPair::from_private_key_and_public_key(alg, d, public, &rng)
                    .map_err(|e| format!("x509: invalid EC private key: {e}"))?;
                let sig = pair
                    .sign(&rng, tbs)
                    .map_err(|_| "ecdsa: signing failed".to_string())?;
                Ok((der::seq(&[&der::oid(oid)]), sig.as_ref().to_vec()))
            }
            PrivateKey::Ed25519(seed) => {
                let pair = Ed25519KeyPair::from_seed_unchecked(seed)
                    .map_err(|e| format!("ed25519: {e}"))?;
                Ok((
                    der::seq(&[&der::oid(OID_ED25519)]),
                    pair.sign(tbs).as_ref().to_vec(),
                ))
            }
            PrivateKey::Dsa(_) => {
                Err("x509: certificate private key does not implement crypto.Signer".into())
            }
        }
    }
}

fn ed25519_public(seed: &[u8; 32]) -> Result<Vec<u8>, String> {
    Ed25519KeyPair::from_seed_unchecked(seed)
        .map(|p| p.public_key().as_ref().to_vec())
        .map_err(|e| format!("ed25519: {e}"))
}

/// `x509.MarshalECPrivateKey` (`with_curve`) or the inner key of PKCS#8.
fn sec1(curve: Curve, d: &[u8], public: &[u8], with_curve: bool) -> Vec<u8> {
    let mut parts = vec![der::uint(&[1]), der::tlv(OCTET_STRING, d)];
    if with_curve {
        parts.push(der::tlv(0xa0, &der::oid(curve.oid())));
    }
    if !public.is_empty() {
        parts.push(der::tlv(0xa1, &der::bit_string(public)));
    }
    der::tlv(SEQUENCE, &parts.concat())
}

/// Sprig's `parsePrivateKeyPEM`, with its error texts.
pub(crate) fn parse_private_key_pem(pem: &str) -> Result<PrivateKey, String> {
    let block = der::pem_decode(pem.as_bytes()).ok_or("no PEM data in input")?;
    if block.kind == "PRIVATE KEY" {
        return parse_pkcs8(&block.bytes).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
    }
    let Some(kind) = block.kind.strip_suffix(" PRIVATE KEY") else {
        return Err(format!(
            "no private key data in PEM block of type {}",
            block.kind
        ));
    };
    match kind {
        "RSA" => {
            parse_pkcs1(&block.bytes).map_err(|e| format!("parsing RSA private key from PEM: {e}"))
        }
        "EC" => parse_sec1(&block.bytes, None)
            .map_err(|e| format!("parsing EC private key from PEM: {e}")),
        "DSA" => parse_dsa(&block.bytes)
            .ok_or_else(|| "parsing DSA private key from PEM: asn1: structure error".to_string()),
        _ => Err(format!("invalid private key type {}", block.kind)),
    }
}

/// `x509.ParsePKCS1PrivateKey`.
fn parse_pkcs1(bytes: &[u8]) -> Result<PrivateKey, String> {
    match RsaPrivateKey::from_pkcs1_der(bytes) {
        Ok(mut k) => {
            k.validate().map_err(|e| format!("crypto/rsa: {e}"))?;
            k.precompute().map_err(|e| format!("crypto/rsa: {e}"))?;
            Ok(PrivateKey::Rsa(Box::new(k)))
        }
        Err(_) => {
            if parse_sec1(bytes, None).is_ok() {
                Err("x509: failed to parse private key (use ParseECPrivateKey instead for this key format)".into())
            } else if parse_pkcs8(bytes).is_ok() {
                Err("x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)".into())
            } else {
                Err("asn1: structure error: malformed RSA private key".into())
            }
        }
    }
}

/// `x509.ParseECPrivateKey` (`curve` given by a PKCS#8 wrapper).
fn parse_sec1(bytes: &[u8], curve: Option<Curve>) -> Result<PrivateKey, String> {
    let malformed = || "x509: failed to parse EC private key".to_string();
    let mut outer = Reader::new(bytes);
    let body = outer.expect(SEQUENCE).ok_or_else(malformed)?;
    let mut r = Reader::new(body.content);
    let version = r.expect(INTEGER).ok_or_else(malformed)?;
    if version.content != [1] {
        return Err(format!(
            "x509: unknown EC private key version {}",
            version.content.first().copied().unwrap_or(0)
        ));
    }
    let d = r.expect(OCTET_STRING).ok_or_else(malformed)?.content;
    let named = r
        .optional(0xa0)
        .and_then(|e| Reader::new(e.content).expect(OID))
        .map(|o| Curve::from_oid(o.content).ok_or("x509: unknown elliptic curve"))
        .transpose()?;
    let curve = named.or(curve).ok_or("x509: unknown elliptic curve")?;
    let public = match r.optional(0xa1) {
        Some(e) => {
            let bits = Reader::new(e.content)
                .expect(BIT_STRING)
                .ok_or_else(malformed)?;
            bits.content.get(1..).unwrap_or_default().to_vec()
        }
        None => Vec::new(),
    };
    // Go left-pads short scalars and rejects long ones.
    let size = curve.size();
    if d.len() > size {
        return Err("x509: invalid private key length".into());
    }
    let mut scalar = vec![0u8; size - d.len()];
    scalar.extend_from_slice(d);
    Ok(PrivateKey::Ec {
        curve,
        d: scalar,
        public,
    })
}

/// `x509.ParsePKCS8PrivateKey`: RSA, ECDSA and Ed25519 keys.
fn parse_pkcs8(bytes: &[u8]) -> Result<PrivateKey, String> {
    let malformed = || "x509: malformed PKCS#8 private key".to_string();
    let body = Reader::new(bytes).expect(SEQUENCE).ok_or_else(malformed)?;
    let mut r = Reader::new(body.content);
    r.expect(INTEGER).ok_or_else(malformed)?;
    let alg = r.expect(SEQUENCE).ok_or_else(malformed)?;
    let key = r.expect(OCTET_STRING).ok_or_else(malformed)?.content;
    let mut a = Reader::new(alg.content);
    let oid = a.expect(OID).ok_or_else(malformed)?.content;
    let is = |arcs: &[u64]| der::oid(arcs).get(2..) == Some(oid);
    if is(OID_RSA) {
        parse_pkcs1(key)
            .map_err(|e| format!("x509: failed to parse RSA private key embedded in PKCS#8: {e}"))
    } else if is(OID_EC) {
        let curve = a.optional(OID).and_then(|o| Curve::from_oid(o.content));
        parse_sec1(key, curve)
            .map_err(|e| format!("x509: failed to parse EC private key embedded in PKCS#8: {e}"))
    } else if is(OID_ED25519) {
        if !a.is_empty() {
            return Err("x509: invalid Ed25519 private key parameters".into());
        }
        let seed = Reader::new(key)
            .expect(OCTET_STRING)
            .ok_or("x509: invalid Ed25519 private key: asn1: structure error")?
            .content;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| format!("x509: invalid Ed25519 private key length: {}", seed.len()))?;
        Ok(PrivateKey::Ed25519(seed))
    } else {
        Err(format!(
            "x509: PKCS#8 wrapping contained private key with unknown algorithm: {}",
            oid_text(oid)
        ))
    }
}

/// Go's DSA sequence (version, P, Q, G, Y, X).
fn parse_dsa(bytes: &[u8]) -> Option<PrivateKey> {
    let body = Reader::new(bytes).expect(SEQUENCE)?;
    let mut r = Reader::new(body.content);
    r.expect(INTEGER)?;
    let mut next = || -> Option<BigUint> {
        Some(BigUint::from_bytes_be(der::uint_content(
            r.expect(INTEGER)?.content,
        )?))
    };
    let (p, q, g, y, x) = (next()?, next()?, next()?, next()?, next()?);
    Some(PrivateKey::Dsa(Box::new(DsaKey { p, q, g, y, x })))
}

/// Dotted text of an OID's content bytes.
pub(crate) fn oid_text(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    for &b in content {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - first * 40);
            } else {
                arcs.push(v);
            }
            v = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_pem() {
        for key in [generate_ecdsa().unwrap(), generate_ed25519()] {
            let pem = key.to_pem().unwrap();
            let back = parse_private_key_pem(&pem).unwrap();
            assert_eq!(back.to_pem().unwrap(), pem);
            let (_, sig) = back.sign(b"data").unwrap();
            assert!(!sig.is_empty());
        }
    }

    #[test]
    fn small_dsa_parameters_are_consistent() {
        let PrivateKey::Dsa(k) = generate_dsa_sized(512, 160) else {
            panic!("not DSA")
        };
        let one = BigUint::from(1u32);
        assert_eq!((&k.p - &one) % &k.q, BigUint::from(0u32));
        assert_eq!(k.g.modpow(&k.q, &k.p), one);
        assert_eq!(k.g.modpow(&k.x, &k.p), k.y);
        let pem = PrivateKey::Dsa(k).to_pem().unwrap();
        assert!(matches!(
            parse_private_key_pem(&pem),
            Ok(PrivateKey::Dsa(_))
        ));
    }
}
