//! Keys and certificates: `genPrivateKey`, `buildCustomCert`, `genCA`, `genCAWithKey`,
//! `genSelfSignedCert`, `genSelfSignedCertWithKey`, `genSignedCert`,
//! `genSignedCertWithKey`. Certificates are built as Go's `x509.CreateCertificate` builds
//! Sprig's templates: a random 128-bit serial, the common name as the only subject
//! attribute, key usages, server and client auth, basic constraints, a SHA-1 subject key
//! id for CAs and the CA's key id as authority key id, IP and DNS alternative names.

use super::der::{self, BIT_STRING, BOOLEAN, INTEGER, OCTET_STRING, OID, Reader, SEQUENCE, SET};
use super::encoding::{base64_decode, bytes_to_string};
use super::gotime::{GoTime, Loc};
use super::keys::{self, PrivateKey};
use super::{def, int_arg, str_arg};
use helmrelease_gotmpl::{Funcs, Object, Signature, Type, Value};
use std::net::IpAddr;
use std::rc::Rc;

/// Go's type name of Sprig's certificate struct.
const TYPE_NAME: &str = "sprig.certificate";

/// Sprig's `certificate` struct: PEM text of a certificate and of its private key.
#[derive(Debug, Clone)]
pub(crate) struct Certificate {
    cert: String,
    key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> String {
        TYPE_NAME.to_string()
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::string(self.cert.as_str())),
            "Key" => Some(Value::string(self.key.as_str())),
            _ => None,
        }
    }

    fn format(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }

    fn json_form(&self) -> Option<helmrelease_gotmpl::JsonForm> {
        Some(helmrelease_gotmpl::JsonForm::Fields(vec![
            ("Cert".into(), Value::string(self.cert.as_str())),
            ("Key".into(), Value::string(self.key.as_str())),
        ]))
    }
}

fn cert_value(c: Certificate) -> Value {
    Value::Object(Rc::new(c))
}

/// A `certificate` parameter: Go's executor checks the type before the call; our signature
/// types cannot name it, so the check happens here, with Go's wording.
fn certificate_param(v: &Value) -> Result<Certificate, String> {
    if let Value::Object(o) = v
        && o.type_name() == TYPE_NAME
        && let (Some(Value::String(cert)), Some(Value::String(key))) =
            (o.field("Cert"), o.field("Key"))
    {
        return Ok(Certificate {
            cert: cert.to_string(),
            key: key.to_string(),
        });
    }
    let got = match v {
        Value::Nil => "interface {}".to_string(),
        v => v.type_name(),
    };
    Err(format!(
        "wrong type for value; expected {TYPE_NAME}; got {got}"
    ))
}

pub(super) fn register(funcs: &mut Funcs) {
    use Type::{Any, Int, List, String as Str};
    def(
        funcs,
        "genPrivateKey",
        Signature::fixed(&[Str]),
        "func(string) string",
        |a| {
            let typ = str_arg(a, 0);
            let key = match typ {
                "" | "rsa" => keys::generate_rsa(4096),
                "dsa" => Ok(keys::generate_dsa()),
                "ecdsa" => keys::generate_ecdsa(),
                "ed25519" => Ok(keys::generate_ed25519()),
                _ => return Ok(Value::string(format!("Unknown type {typ}"))),
            };
            // Sprig returns failures as the result text.
            Ok(Value::string(match key.and_then(|k| k.to_pem()) {
                Ok(pem) => pem,
                Err(e) => format!("failed to generate private key: {e}"),
            }))
        },
    );
    def(
        funcs,
        "buildCustomCert",
        Signature::fixed(&[Str, Str]),
        "func(string, string) (sprig.certificate, error)",
        |a| build_custom(str_arg(a, 0), str_arg(a, 1)).map(cert_value),
    );
    def(
        funcs,
        "genCA",
        Signature::fixed(&[Str, Int]),
        "func(string, int) (sprig.certificate, error)",
        |a| {
            let key = new_rsa()?;
            ca(str_arg(a, 0), int_arg(a, 1), &key).map(cert_value)
        },
    );
    def(
        funcs,
        "genCAWithKey",
        Signature::fixed(&[Str, Int, Str]),
        "func(string, int, string) (sprig.certificate, error)",
        |a| {
            let key = parse_key(str_arg(a, 2))?;
            ca(str_arg(a, 0), int_arg(a, 1), &key).map(cert_value)
        },
    );
    def(
        funcs,
        "genSelfSignedCert",
        Signature::fixed(&[Str, List, List, Int]),
        "func(string, []interface {}, []interface {}, int) (sprig.certificate, error)",
        |a| {
            let key = new_rsa()?;
            self_signed(a, &key).map(cert_value)
        },
    );
    def(
        funcs,
        "genSelfSignedCertWithKey",
        Signature::fixed(&[Str, List, List, Int, Str]),
        "func(string, []interface {}, []interface {}, int, string) (sprig.certificate, error)",
        |a| {
            let key = parse_key(str_arg(a, 4))?;
            self_signed(a, &key).map(cert_value)
        },
    );
    def(
        funcs,
        "genSignedCert",
        Signature::fixed(&[Str, List, List, Int, Any]),
        "func(string, []interface {}, []interface {}, int, sprig.certificate) (sprig.certificate, error)",
        |a| {
            let ca = certificate_param(&a[4])?;
            let key = new_rsa()?;
            signed(a, &ca, &key).map(cert_value)
        },
    );
    def(
        funcs,
        "genSignedCertWithKey",
        Signature::fixed(&[Str, List, List, Int, Any, Str]),
        "func(string, []interface {}, []interface {}, int, sprig.certificate, string) (sprig.certificate, error)",
        |a| {
            let ca = certificate_param(&a[4])?;
            let key = parse_key(str_arg(a, 5))?;
            signed(a, &ca, &key).map(cert_value)
        },
    );
}

fn new_rsa() -> Result<PrivateKey, String> {
    keys::generate_rsa(2048).map_err(|e| format!("error generating rsa key: {e}"))
}

fn parse_key(pem: &str) -> Result<PrivateKey, String> {
    keys::parse_private_key_pem(pem).map_err(|e| format!("parsing private key: {e}"))
}

fn list_arg(args: &[Value], i: usize) -> &[Value] {
    match args.get(i) {
        Some(Value::List(l)) => l,
        _ => &[],
    }
}

/// Sprig's `buildCustomCertificate`: checks that both decode and parse, and hands them back.
fn build_custom(b64cert: &str, b64key: &str) -> Result<Certificate, String> {
    let cert = base64_decode(b64cert.as_bytes())
        .map_err(|_| "unable to decode base64 certificate".to_string())?;
    let key = base64_decode(b64key.as_bytes())
        .map_err(|_| "unable to decode base64 private key".to_string())?;
    let block = der::pem_decode(&cert).ok_or("unable to decode certificate")?;
    parse_certificate(&block.bytes)
        .map_err(|e| format!("error parsing certificate: decodedCert.Bytes: {e}"))?;
    let key = bytes_to_string(key);
    keys::parse_private_key_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(Certificate {
        cert: bytes_to_string(cert),
        key,
    })
}

/// The template fields Sprig sets.
struct Template {
    common_name: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days_valid: i64,
    is_ca: bool,
}

/// Sprig's `getBaseCertTemplate` checks of the IP and DNS lists.
fn template(cn: &str, ips: &[Value], dns: &[Value], days_valid: i64) -> Result<Template, String> {
    let mut ip_bytes = Vec::with_capacity(ips.len());
    for ip in ips {
        let Value::String(s) = ip else {
            return Err(format!(
                "error parsing ip: {} is not a string",
                helmrelease_gotmpl::fmt::format_value(ip)
            ));
        };
        let parsed: IpAddr = s.parse().map_err(|_| format!("error parsing ip: {s}"))?;
        ip_bytes.push(match parsed {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            // IPv4-mapped addresses are written as 4 bytes, as Go's To4 does.
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.octets().to_vec(),
                None => v6.octets().to_vec(),
            },
        });
    }
    let mut names = Vec::with_capacity(dns.len());
    for name in dns {
        let Value::String(s) = name else {
            return Err(format!(
                "error processing alternate dns name: {} is not a string",
                helmrelease_gotmpl::fmt::format_value(name)
            ));
        };
        names.push(s.to_string());
    }
    Ok(Template {
        common_name: cn.to_string(),
        ips: ip_bytes,
        dns: names,
        days_valid,
        is_ca: false,
    })
}

fn ca(cn: &str, days: i64, key: &PrivateKey) -> Result<Certificate, String> {
    let mut t = template(cn, &[], &[], days)?;
    t.is_ca = true;
    cert_and_key(&t, key, None, key)
}

fn self_signed(a: &[Value], key: &PrivateKey) -> Result<Certificate, String> {
    let t = template(str_arg(a, 0), list_arg(a, 1), list_arg(a, 2), int_arg(a, 3))?;
    cert_and_key(&t, key, None, key)
}

fn signed(a: &[Value], ca: &Certificate, key: &PrivateKey) -> Result<Certificate, String> {
    let block = der::pem_decode(ca.cert.as_bytes()).ok_or("unable to decode certificate")?;
    let parent = parse_certificate(&block.bytes)
        .map_err(|e| format!("error parsing certificate: decodedSignerCert.Bytes: {e}"))?;
    let signer = keys::parse_private_key_pem(&ca.key)
        .map_err(|e| format!("error parsing private key: {e}"))?;
    let t = template(str_arg(a, 0), list_arg(a, 1), list_arg(a, 2), int_arg(a, 3))?;
    cert_and_key(&t, key, Some(&parent), &signer)
}

/// What a parent certificate contributes.
struct Parent {
    subject: Vec<u8>,
    subject_key_id: Option<Vec<u8>>,
    public_key: Vec<u8>,
}

/// Enough of `x509.ParseCertificate` to sign with the certificate: its subject, subject
/// key id and public key.
fn parse_certificate(bytes: &[u8]) -> Result<Parent, String> {
    let malformed = || "x509: malformed certificate".to_string();
    let mut outer = Reader::new(bytes);
    let cert = outer.expect(SEQUENCE).ok_or_else(malformed)?;
    if !outer.is_empty() {
        return Err("x509: trailing data".into());
    }
    let mut c = Reader::new(cert.content);
    let tbs = c
        .expect(SEQUENCE)
        .ok_or("x509: malformed tbs certificate")?;
    c.expect(SEQUENCE)
        .ok_or("x509: malformed signature algorithm identifier")?;
    c.expect(BIT_STRING).ok_or("x509: malformed signature")?;
    let mut t = Reader::new(tbs.content);
    t.optional(0xa0);
    t.expect(INTEGER).ok_or("x509: malformed serial number")?;
    t.expect(SEQUENCE)
        .ok_or("x509: malformed signature algorithm identifier")?;
    t.expect(SEQUENCE).ok_or("x509: malformed issuer")?;
    t.expect(SEQUENCE).ok_or("x509: malformed validity")?;
    let subject = t.expect(SEQUENCE).ok_or("x509: malformed subject")?;
    let spki = t.expect(SEQUENCE).ok_or("x509: malformed spki")?;
    let mut s = Reader::new(spki.content);
    s.expect(SEQUENCE).ok_or("x509: malformed spki")?;
    let key_bits = s.expect(BIT_STRING).ok_or("x509: malformed spki")?;
    t.optional(0x81);
    t.optional(0x82);
    let mut subject_key_id = None;
    if let Some(exts) = t.optional(0xa3) {
        let list = Reader::new(exts.content)
            .expect(SEQUENCE)
            .ok_or("x509: malformed extensions")?;
        let mut r = Reader::new(list.content);
        let ski_oid = der::oid(&[2, 5, 29, 14]);
        while !r.is_empty() {
            let ext = r.expect(SEQUENCE).ok_or("x509: malformed extension")?;
            let mut e = Reader::new(ext.content);
            let id = e.expect(OID).ok_or("x509: malformed extension OID field")?;
            e.optional(BOOLEAN);
            let value = e
                .expect(OCTET_STRING)
                .ok_or("x509: malformed extension value field")?;
            if id.raw == ski_oid.as_slice() {
                let inner = Reader::new(value.content)
                    .expect(OCTET_STRING)
                    .ok_or("x509: invalid subject key identifier")?;
                subject_key_id = Some(inner.content.to_vec());
            }
        }
    }
    Ok(Parent {
        subject: subject.raw.to_vec(),
        subject_key_id,
        public_key: key_bits.content.get(1..).unwrap_or_default().to_vec(),
    })
}

/// Sprig's `getCertAndKey`: the signed certificate and the subject's key, both as PEM.
fn cert_and_key(
    t: &Template,
    key: &PrivateKey,
    parent: Option<&Parent>,
    signer: &PrivateKey,
) -> Result<Certificate, String> {
    let der = create_certificate(t, key, parent, signer)
        .map_err(|e| format!("error creating certificate: {e}"))?;
    Ok(Certificate {
        cert: der::pem_encode("CERTIFICATE", &der),
        key: key.to_pem()?,
    })
}

/// `x509.CreateCertificate` for Sprig's templates.
fn create_certificate(
    t: &Template,
    key: &PrivateKey,
    parent: Option<&Parent>,
    signer: &PrivateKey,
) -> Result<Vec<u8>, String> {
    if matches!(signer, PrivateKey::Dsa(_)) {
        return Err("x509: certificate private key does not implement crypto.Signer".into());
    }
    let (public_key, spki) = key.public_key_info()?;
    let subject = name(&t.common_name);
    let issuer = parent.map_or_else(|| subject.clone(), |p| p.subject.clone());
    let authority_key_id = parent
        .filter(|p| p.subject != subject)
        .and_then(|p| p.subject_key_id.clone());
    let subject_key_id = t.is_ca.then(|| {
        ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &public_key)
            .as_ref()
            .to_vec()
    });
    if let Some(p) = parent {
        let (signer_public, _) = signer.public_key_info()?;
        if signer_public != p.public_key {
            return Err("x509: provided PrivateKey doesn't match parent's PublicKey".into());
        }
    }
    let serial = super::random::bytes(16);
    let now = GoTime::now();
    let not_after = now.add((24 * 3_600_000_000_000i64).wrapping_mul(t.days_valid));
    let validity = der::seq(&[&asn1_time(&now)?, &asn1_time(&not_after)?]);
    let extensions = extensions(t, subject.len() == 2, authority_key_id, subject_key_id)?;
    let alg = signer.signature_algorithm()?;
    let tbs = der::seq(&[
        &der::tlv(0xa0, &der::uint(&[2])),
        &der::uint(&serial),
        &alg,
        &issuer,
        &validity,
        &subject,
        &spki,
        &der::tlv(
            0xa3,
            &der::seq(&extensions.iter().map(Vec::as_slice).collect::<Vec<_>>()),
        ),
    ]);
    let (alg, signature) = signer.sign(&tbs)?;
    Ok(der::seq(&[&tbs, &alg, &der::bit_string(&signature)]))
}

/// The subject: one RDN with the common name, or an empty sequence without one. The name
/// is a PrintableString when its characters allow, a UTF8String otherwise, as Go writes it.
fn name(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return der::seq(&[]);
    }
    let printable = cn.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || (b'\''..=b')').contains(&b)
            || (b'+'..=b'/').contains(&b)
            || matches!(b, b' ' | b':' | b'=' | b'?')
    });
    let value = der::tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    let atv = der::seq(&[&der::oid(&[2, 5, 4, 3]), &value]);
    der::seq(&[&der::tlv(SET, &atv)])
}

/// An ASN.1 time as Go's `encoding/asn1` writes one: UTCTime for 1950..2049, else
/// GeneralizedTime.
fn asn1_time(t: &GoTime) -> Result<Vec<u8>, String> {
    let utc = t.in_loc(Loc::Utc);
    let year: i64 = utc.format("2006").parse().unwrap_or(-1);
    if (1950..2050).contains(&year) {
        Ok(der::tlv(0x17, utc.format("060102150405Z0700").as_bytes()))
    } else if (0..=9999).contains(&year) {
        Ok(der::tlv(0x18, utc.format("20060102150405Z0700").as_bytes()))
    } else {
        Err("asn1: structure error: cannot represent time as GeneralizedTime".into())
    }
}

/// One extension: id, criticality (only written when true), value.
fn extension(id: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let critical_flag: &[u8] = if critical { &[BOOLEAN, 1, 0xff] } else { &[] };
    der::seq(&[&der::oid(id), critical_flag, &der::tlv(OCTET_STRING, value)])
}

/// Go's `buildCertExtensions`, in its order, for Sprig's templates.
fn extensions(
    t: &Template,
    subject_empty: bool,
    authority_key_id: Option<Vec<u8>>,
    subject_key_id: Option<Vec<u8>>,
) -> Result<Vec<Vec<u8>>, String> {
    let mut exts = Vec::new();
    // digitalSignature | keyEncipherment (| keyCertSign), bits reversed as in a BIT STRING.
    let usage: &[u8] = if t.is_ca {
        &[BIT_STRING, 2, 2, 0xa4]
    } else {
        &[BIT_STRING, 2, 5, 0xa0]
    };
    exts.push(extension(&[2, 5, 29, 15], true, usage));
    exts.push(extension(
        &[2, 5, 29, 37],
        false,
        &der::seq(&[
            &der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
            &der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
        ]),
    ));
    let constraints: &[u8] = if t.is_ca { &[BOOLEAN, 1, 0xff] } else { &[] };
    exts.push(extension(&[2, 5, 29, 19], true, &der::seq(&[constraints])));
    if let Some(ski) = subject_key_id {
        exts.push(extension(
            &[2, 5, 29, 14],
            false,
            &der::tlv(OCTET_STRING, &ski),
        ));
    }
    if let Some(aki) = authority_key_id {
        exts.push(extension(
            &[2, 5, 29, 35],
            false,
            &der::seq(&[&der::tlv(0x80, &aki)]),
        ));
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names: Vec<Vec<u8>> = Vec::new();
        for dns in &t.dns {
            if !dns.is_ascii() {
                return Err(format!(
                    "x509: {} cannot be encoded as an IA5String",
                    helmrelease_gotmpl::strconv::quote(dns)
                ));
            }
            names.push(der::tlv(0x82, dns.as_bytes()));
        }
        for ip in &t.ips {
            names.push(der::tlv(0x87, ip));
        }
        let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        exts.push(extension(&[2, 5, 29, 17], subject_empty, &der::seq(&refs)));
    }
    Ok(exts)
}
