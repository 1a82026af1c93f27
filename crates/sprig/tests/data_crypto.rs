//! Properties of Sprig's random, time-dependent and key/certificate functions, whose
//! outputs differ on every run: shapes, alphabets, ranges, round trips, and, when the
//! `openssl` command is installed, that keys and certificates parse and certificates
//! verify (chains included). That Go accepts what these functions make (Go's x509 parsing
//! our keys and certificates, signing with them) is checked with the oracle by hand: the
//! table tests in `data_functions.rs` hold the other direction, Sprig's outputs accepted
//! here.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_gotmpl::{Template, Value};
use std::io::Write;
use std::process::{Command, Stdio};

fn render_with(text: &str, data: serde_json::Value) -> Result<String, String> {
    let mut t = Template::new("t");
    t.funcs(&helmrelease_sprig::funcs());
    t.parse(text).map_err(|e| e.to_string())?;
    t.execute(&Value::from_json(&data))
        .map_err(|e| e.to_string())
}

fn render(text: &str) -> String {
    render_with(text, serde_json::json!({})).expect("renders")
}

/// Runs `openssl` with `args` (files under `dir`), `None` when openssl is not installed.
fn openssl(dir: &std::path::Path, args: &[&str], stdin: &str) -> Option<(bool, String)> {
    let mut child = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(stdin.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sprig-data-crypto-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The DER of the single PEM block in `pem`, checking the PEM framing Go writes.
fn pem_der(pem: &str, kind: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {kind}-----\n");
    let end = format!("-----END {kind}-----\n");
    assert!(pem.starts_with(&begin), "not a {kind} PEM: {pem}");
    assert!(pem.ends_with(&end), "not a {kind} PEM: {pem}");
    let body = &pem[begin.len()..pem.len() - end.len()];
    let lines: Vec<&str> = body.lines().collect();
    for line in &lines[..lines.len() - 1] {
        assert_eq!(line.len(), 64, "PEM lines are 64 characters");
    }
    let b64: String = lines.concat();
    assert!(
        b64.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=')),
        "PEM body is base64"
    );
    decode_base64(&b64)
}

fn decode_base64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn random_strings_have_their_length_and_alphabet() {
    type Allowed = fn(char) -> bool;
    let cases: [(&str, Allowed); 4] = [
        ("randAlphaNum", |c| c.is_ascii_alphanumeric()),
        ("randAlpha", |c| c.is_ascii_alphabetic()),
        ("randNumeric", |c| c.is_ascii_digit()),
        ("randAscii", |c| (' '..='~').contains(&c)),
    ];
    for (name, allowed) in cases {
        let a = render(&format!("{{{{ {name} 200 }}}}"));
        let b = render(&format!("{{{{ {name} 200 }}}}"));
        assert_eq!(a.chars().count(), 200, "{name}");
        assert!(a.chars().all(allowed), "{name}: {a}");
        assert_ne!(a, b, "{name} repeats itself");
        assert_eq!(render(&format!("{{{{ {name} 0 }}}}")), "");
        assert_eq!(
            render(&format!("{{{{ {name} 1 | printf \"%T\" }}}}")),
            "string"
        );
    }
    // Every character of the alphabet shows up eventually.
    let digits = render("{{ randNumeric 2000 }}");
    assert!(('0'..='9').all(|d| digits.contains(d)));
}

#[test]
fn rand_bytes_are_base64_of_n_bytes() {
    for n in [1usize, 2, 3, 16, 100] {
        let out = render(&format!("{{{{ randBytes {n} }}}}"));
        assert_eq!(out.len(), n.div_ceil(3) * 4);
        assert_eq!(decode_base64(&out).len(), n);
    }
    assert_ne!(render("{{ randBytes 32 }}"), render("{{ randBytes 32 }}"));
}

#[test]
fn uuids_are_random_version_4() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        let u = render("{{ uuidv4 }}");
        let groups: Vec<&str> = u.split('-').collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        assert_eq!(lens, [8, 4, 4, 4, 12], "{u}");
        assert!(
            u.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        assert!(groups[2].starts_with('4'), "version 4: {u}");
        assert!(
            groups[3].starts_with(['8', '9', 'a', 'b']),
            "RFC 4122 variant: {u}"
        );
        assert!(seen.insert(u));
    }
}

#[test]
fn rand_int_stays_in_its_half_open_range() {
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..300 {
        let n: i64 = render("{{ randInt -2 3 }}").parse().expect("an int");
        assert!((-2..3).contains(&n));
        seen.insert(n);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), [-2, -1, 0, 1, 2]);
    assert_eq!(render("{{ randInt 7 8 }}"), "7");
    assert_eq!(render("{{ randInt 1 2 | printf \"%T\" }}"), "int");
}

#[test]
fn bcrypt_and_htpasswd_hash_with_cost_10() {
    let hash = render(r#"{{ bcrypt "s3cret" }}"#);
    assert!(hash.starts_with("$2a$10$"), "{hash}");
    assert_eq!(hash.len(), 60);
    assert!(bcrypt::verify("s3cret", &hash).expect("a bcrypt hash"));
    assert!(!bcrypt::verify("other", &hash).expect("a bcrypt hash"));
    assert_ne!(hash, render(r#"{{ bcrypt "s3cret" }}"#), "salted");

    let line = render(r#"{{ htpasswd "admin" "pa:ss" }}"#);
    let (user, hash) = line.split_once(':').expect("user:hash");
    assert_eq!(user, "admin");
    assert!(bcrypt::verify("pa:ss", hash).expect("a bcrypt hash"));
    // 72 bytes is bcrypt's limit; golang.org/x/crypto refuses longer passwords.
    let long = "x".repeat(73);
    assert_eq!(
        render_with("{{ bcrypt .p }}", serde_json::json!({ "p": long })).expect("renders"),
        "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
    );
    assert_eq!(
        render_with(r#"{{ htpasswd "u" .p }}"#, serde_json::json!({ "p": long })).expect("renders"),
        "u:failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
    );
}

#[test]
fn aes_round_trips_with_a_random_iv() {
    for text in [
        "a",
        "sixteen bytes!!!",
        "ünïcode ✓ across several blocks of AES",
    ] {
        let data = serde_json::json!({ "t": text });
        let enc = render_with(r#"{{ encryptAES "key" .t }}"#, data.clone()).expect("renders");
        let padded = (text.len() / 16 + 1) * 16;
        assert_eq!(decode_base64(&enc).len(), 16 + padded);
        let dec = render_with(
            r#"{{ encryptAES "key" .t | decryptAES "key" }}"#,
            data.clone(),
        );
        assert_eq!(dec.as_deref(), Ok(text));
        let again = render_with(r#"{{ encryptAES "key" .t }}"#, data).expect("renders");
        assert_ne!(enc, again, "a fresh IV each time");
    }
}

#[test]
fn now_is_a_local_time_with_a_monotonic_reading() {
    let year = render(r#"{{ now | date "2006" }}"#);
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let from_epoch = render(&format!(r#"{{{{ date "2006" {now_secs} }}}}"#));
    assert_eq!(year, from_epoch);
    // "2006-01-02 15:04:05.999999999 -0700 MST m=+0.000000001"
    let s = render("{{ now }}");
    let (wall, mono) = s.split_once(" m=+").expect("a monotonic reading");
    assert!(
        mono.contains('.') && mono.split('.').nth(1).map(str::len) == Some(9),
        "{s}"
    );
    assert_eq!(&wall[4..5], "-");
    assert_eq!(&wall[10..11], " ");
    // Adding keeps the monotonic reading, as Go's Time.Add does.
    let later = render(r#"{{ now | dateModify "1h" }}"#);
    let mono: f64 = later
        .split_once(" m=+")
        .and_then(|(_, m)| m.parse().ok())
        .expect("a monotonic reading");
    assert!((3600.0..4200.0).contains(&mono), "{later}");
    // Zone conversion drops it.
    assert!(!render(r#"{{ (now).UTC }}"#).contains(" m="));
    // Non-time arguments mean "now".
    assert_eq!(render(r#"{{ date "2006" "not a date" }}"#), year);
    assert_eq!(render(r#"{{ dateInZone "2006" 1.5 "UTC" }}"#), year);
}

#[test]
fn ago_and_duration_round_measure_from_now() {
    assert_eq!(render("{{ ago now }}"), "0s");
    assert_eq!(render(r#"{{ ago "x" }}"#), "0s");
    assert_eq!(render("{{ durationRound now }}"), "0s");
    let ago = render(r#"{{ ago (toDate "2006-01-02" "2020-01-01") }}"#);
    let hours: u64 = ago
        .split_once('h')
        .and_then(|(h, _)| h.parse().ok())
        .expect("hours");
    assert!(hours > 50_000, "{ago}");
    assert!(ago.ends_with('s'));
    let years = render(r#"{{ durationRound (toDate "2006-01-02" "2020-01-01") }}"#);
    assert!(years.ends_with('y') && years.trim_end_matches('y').parse::<u32>().expect("n") >= 6);
    // Unix seconds: int64 and int, not float64 (Sprig's type switch).
    assert!(render("{{ ago 0 }}").ends_with('s'));
    assert_eq!(render("{{ ago 1.5 }}"), "0s");
}

#[test]
fn generated_private_keys_parse() {
    let dir = temp_dir("keys");
    let ec = render(r#"{{ genPrivateKey "ecdsa" }}"#);
    assert_eq!(
        pem_der(&ec, "EC PRIVATE KEY").len(),
        121,
        "SEC1 P-256 with curve and point"
    );
    let ed = render(r#"{{ genPrivateKey "ed25519" }}"#);
    assert_eq!(pem_der(&ed, "PRIVATE KEY").len(), 48, "PKCS#8 v1 Ed25519");
    assert_ne!(ed, render(r#"{{ genPrivateKey "ed25519" }}"#));
    assert_eq!(render(r#"{{ genPrivateKey "RSA" }}"#), "Unknown type RSA");
    if let Some((ok, text)) = openssl(&dir, &["ec", "-check", "-noout"], &ec) {
        assert!(ok && text.contains("EC Key valid"), "{text}");
        let (ok, text) = openssl(&dir, &["pkey", "-noout", "-text"], &ed).expect("openssl");
        assert!(ok && text.contains("ED25519 Private-Key"), "{text}");
    } else {
        eprintln!("openssl not installed: key parsing not checked");
    }
    // Keys are usable by the *WithKey functions, whose output keeps them.
    let data = serde_json::json!({ "ec": ec, "ed": ed });
    let kept = render_with(
        r#"{{ eq (genCAWithKey "c" 1 .ec).Key .ec }} {{ eq (genSelfSignedCertWithKey "s" nil nil 1 .ed).Key .ed }}"#,
        data,
    );
    assert_eq!(kept.as_deref(), Ok("true true"));
}

#[test]
#[ignore = "RSA 4096 and DSA L2048 generation take minutes in a debug build; run with --ignored (fast with --release)"]
fn slow_private_keys_parse() {
    let dir = temp_dir("slow-keys");
    let rsa = render(r#"{{ genPrivateKey "rsa" }}"#);
    pem_der(&rsa, "RSA PRIVATE KEY");
    let dsa = render(r#"{{ genPrivateKey "dsa" }}"#);
    pem_der(&dsa, "DSA PRIVATE KEY");
    if let Some((ok, text)) = openssl(&dir, &["rsa", "-check", "-noout", "-text"], &rsa) {
        assert!(
            ok && text.contains("4096 bit") && text.contains("RSA key ok"),
            "{text}"
        );
        let (ok, text) = openssl(&dir, &["dsa", "-noout", "-text"], &dsa).expect("openssl");
        assert!(ok && text.contains("2048 bit"), "{text}");
    }
}

/// `openssl x509 -text` of a certificate, when openssl is installed.
fn x509_text(dir: &std::path::Path, pem: &str) -> Option<String> {
    let (ok, text) = openssl(dir, &["x509", "-noout", "-text"], pem)?;
    assert!(ok, "openssl cannot parse the certificate: {text}");
    Some(text)
}

#[test]
fn certificate_authorities_sign_verifiable_certificates() {
    let dir = temp_dir("certs");
    let data = serde_json::json!({
        "ips": ["10.0.0.1", "::1", "::ffff:192.0.2.7"],
        "dns": ["svc.example", "*.svc.example"],
    });
    let out = render_with(
        r#"{{ $ca := genCA "test-ca" 365 }}{{ $leaf := genSignedCert "leaf.example" .ips .dns 30 $ca }}{{ $ca.Cert }}@{{ $ca.Key }}@{{ $leaf.Cert }}@{{ $leaf.Key }}@{{ printf "%T" $leaf }}"#,
        data,
    )
    .expect("renders");
    let parts: Vec<&str> = out.split('@').collect();
    let [ca, ca_key, leaf, leaf_key, typ] = parts[..] else {
        panic!("five parts: {out}")
    };
    assert_eq!(typ, "sprig.certificate");
    pem_der(ca, "CERTIFICATE");
    pem_der(ca_key, "RSA PRIVATE KEY");
    pem_der(leaf, "CERTIFICATE");
    pem_der(leaf_key, "RSA PRIVATE KEY");
    assert_ne!(ca_key, leaf_key);
    // Sprig accepts its own output back.
    let rebuilt = render_with(
        "{{ $c := buildCustomCert (b64enc .cert) (b64enc .key) }}{{ eq $c.Cert .cert }}",
        serde_json::json!({ "cert": ca, "key": ca_key }),
    );
    assert_eq!(rebuilt.as_deref(), Ok("true"));
    let Some(ca_text) = x509_text(&dir, ca) else {
        eprintln!("openssl not installed: certificates not verified");
        return;
    };
    assert!(ca_text.contains("Subject: CN = test-ca") && ca_text.contains("Issuer: CN = test-ca"));
    assert!(ca_text.contains("CA:TRUE") && ca_text.contains("Certificate Sign"));
    assert!(ca_text.contains("Public-Key: (2048 bit)"));
    assert!(ca_text.contains("Subject Key Identifier"));
    let leaf_text = x509_text(&dir, leaf).expect("openssl");
    assert!(leaf_text.contains("Subject: CN = leaf.example"));
    assert!(leaf_text.contains("CA:FALSE"));
    assert!(leaf_text.contains("TLS Web Server Authentication, TLS Web Client Authentication"));
    assert!(leaf_text.contains(
        "DNS:svc.example, DNS:*.svc.example, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:192.0.2.7"
    ));
    assert!(leaf_text.contains("Authority Key Identifier"));
    std::fs::write(dir.join("ca.pem"), ca).expect("write");
    let (ok, text) = openssl(&dir, &["verify", "-CAfile", "ca.pem"], leaf).expect("openssl");
    assert!(ok, "{text}");
    // The key belongs to the certificate.
    let (_, cert_pub) = openssl(&dir, &["x509", "-noout", "-pubkey"], leaf).expect("openssl");
    let (_, key_pub) = openssl(&dir, &["pkey", "-pubout"], leaf_key).expect("openssl");
    assert_eq!(cert_pub, key_pub);
}

#[test]
fn certificates_with_ecdsa_and_ed25519_keys() {
    let dir = temp_dir("ec-certs");
    let out = render(
        r#"{{ $ca := genCAWithKey "ec-ca" 10 (genPrivateKey "ecdsa") }}{{ $leaf := genSignedCertWithKey "ed-leaf" nil nil 5 $ca (genPrivateKey "ed25519") }}{{ $self := genSelfSignedCertWithKey "" nil nil 5 (genPrivateKey "ed25519") }}{{ $ca.Cert }}@{{ $leaf.Cert }}@{{ $self.Cert }}"#,
    );
    let parts: Vec<&str> = out.split('@').collect();
    let [ca, leaf, self_signed] = parts[..] else {
        panic!("three parts: {out}")
    };
    for pem in &parts {
        pem_der(pem, "CERTIFICATE");
    }
    let Some(ca_text) = x509_text(&dir, ca) else {
        return;
    };
    assert!(ca_text.contains("ecdsa-with-SHA256") && ca_text.contains("prime256v1"));
    let leaf_text = x509_text(&dir, leaf).expect("openssl");
    assert!(leaf_text.contains("ED25519"));
    std::fs::write(dir.join("ca.pem"), ca).expect("write");
    let (ok, text) = openssl(&dir, &["verify", "-CAfile", "ca.pem"], leaf).expect("openssl");
    assert!(ok, "{text}");
    // No subject: the alternative names (none here) would be critical; the subject is empty.
    let self_text = x509_text(&dir, self_signed).expect("openssl");
    assert!(
        self_text.contains("Subject: \n") || self_text.contains("Subject:\n"),
        "{self_text}"
    );
}

#[test]
fn self_signed_certificates_verify_against_themselves() {
    let dir = temp_dir("self");
    let out = render_with(
        r#"{{ $c := genSelfSignedCert "self.example" .ips nil 2 }}{{ $c.Cert }}"#,
        serde_json::json!({ "ips": ["127.0.0.1"] }),
    )
    .expect("renders");
    pem_der(&out, "CERTIFICATE");
    let Some(text) = x509_text(&dir, &out) else {
        return;
    };
    assert!(text.contains("IP Address:127.0.0.1") && text.contains("CA:FALSE"));
    assert!(!text.contains("Subject Key Identifier"), "only CAs get one");
    std::fs::write(dir.join("self.pem"), &out).expect("write");
    let (ok, text) = openssl(
        &dir,
        &["verify", "-CAfile", "self.pem", "-partial_chain"],
        &out,
    )
    .expect("openssl");
    assert!(ok, "{text}");
    // Validity: NotAfter is two days after NotBefore.
    let (_, dates) =
        openssl(&dir, &["x509", "-noout", "-startdate", "-enddate"], &out).expect("openssl");
    assert!(
        dates.contains("notBefore=") && dates.contains("notAfter="),
        "{dates}"
    );
}

#[test]
fn signing_with_a_mismatched_ca_key_fails_like_go() {
    let err = render_with(
        r#"{{ $ca := genCAWithKey "ca" 1 (genPrivateKey "ed25519") }}{{ $bad := buildCustomCert (b64enc $ca.Cert) (b64enc (genPrivateKey "ed25519")) }}{{ genSignedCertWithKey "x" nil nil 1 $bad (genPrivateKey "ecdsa") }}"#,
        serde_json::json!({}),
    )
    .expect_err("a key that does not match the CA certificate");
    assert!(
        err.ends_with("error calling genSignedCertWithKey: error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey"),
        "{err}"
    );
}
