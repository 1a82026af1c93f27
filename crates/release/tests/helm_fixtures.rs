//! Release payloads written by Helm itself (`shared/reference/releases`) decode, and re-encode to
//! exactly the JSON Helm wrote.

#![allow(clippy::expect_used, clippy::unwrap_used)] // helpers of tests: panicking is failing

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::read::GzDecoder;
use helmrelease_release::{ObjectOptions, StoredRelease, codec, storage};
use std::io::Read;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/releases")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn helm_json(payload: &[u8]) -> Vec<u8> {
    let gz = STANDARD.decode(payload.trim_ascii()).expect("base64");
    let mut json = Vec::new();
    GzDecoder::new(&gz[..])
        .read_to_end(&mut json)
        .expect("gzip");
    json
}

/// (file, release name, revision, status, chart label, stored bytes, templates, hooks)
type Fixture = (
    &'static str,
    &'static str,
    i64,
    &'static str,
    &'static str,
    usize,
    usize,
    usize,
);

const FIXTURES: [Fixture; 3] = [
    (
        "podinfo-helm-1",
        "podinfo-helmrepository",
        1,
        "deployed",
        "podinfo-4.0.6",
        16_420,
        18,
        3,
    ),
    (
        "istio-base-1",
        "istio-base",
        1,
        "deployed",
        "base-1.13.3",
        127_732,
        11,
        0,
    ),
    (
        "prom-stack-1",
        "kube-prometheus-stack-1651689946",
        1,
        "deployed",
        "kube-prometheus-stack-35.0.3",
        882_184,
        138,
        8,
    ),
];

#[test]
fn helm_written_payloads_decode() {
    for (file, name, version, status, chart, bytes, templates, hooks) in FIXTURES {
        let stored =
            StoredRelease::from_payload(&fixture(file), file).unwrap_or_else(|e| panic!("{e}"));
        let r = &stored.release;
        assert_eq!(r.name, name, "{file}");
        assert_eq!(r.version, version, "{file}");
        assert_eq!(r.status().as_str(), status, "{file}");
        assert_eq!(r.chart_label(), chart, "{file}");
        assert_eq!(stored.stored_bytes, bytes, "{file}");
        let chart = r.chart.as_ref().expect("chart");
        assert_eq!(
            chart.templates.as_ref().map(Vec::len),
            Some(templates),
            "{file}"
        );
        assert_eq!(r.hooks.len(), hooks, "{file}");
        assert!(!r.manifest.is_empty(), "{file}");
        assert!(
            r.extra.is_empty(),
            "{file}: unexpected unknown fields {:?}",
            r.extra.keys()
        );
    }
}

#[test]
fn re_encoding_reproduces_helms_json_byte_for_byte() {
    for (file, ..) in FIXTURES {
        let payload = fixture(file);
        let original = helm_json(&payload);
        let release = codec::decode_payload(&payload, file).expect("decode");
        let ours = codec::release_json(&release).expect("encode");
        if ours != original {
            let at = ours
                .iter()
                .zip(&original)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(original.len()));
            let show = |b: &[u8]| {
                String::from_utf8_lossy(&b[at.saturating_sub(80)..(at + 80).min(b.len())])
                    .to_string()
            };
            panic!(
                "{file}: JSON differs at byte {at}\n ours: {}\nhelm: {}",
                show(&ours),
                show(&original)
            );
        }
    }
}

#[test]
fn re_encoded_payloads_and_secrets_decode_to_the_same_release() {
    for (file, ..) in FIXTURES {
        let release = codec::decode_payload(&fixture(file), file).expect("decode");
        let payload = codec::encode_payload(&release).expect("encode");
        // What Helm reads back: base64, gunzip, JSON. Same JSON as Helm wrote.
        assert_eq!(
            helm_json(payload.as_bytes()),
            helm_json(&fixture(file)),
            "{file}"
        );
        let secret = storage::to_secret(&release, &ObjectOptions::default()).expect("secret");
        let back = StoredRelease::from_object(&secret, file).expect("decode secret");
        assert_eq!(back.release, release, "{file}");
    }
}

#[test]
fn truncated_and_corrupted_payloads_fail_cleanly() {
    let payload = fixture("podinfo-helm-1");
    for cut in [0, 1, 7, 100, payload.len() / 2, payload.len() - 4] {
        // Any outcome but a panic is acceptable; most cuts must be errors.
        let _ = codec::decode_payload(&payload[..cut], "cut");
    }
    assert!(codec::decode_payload(&payload[..payload.len() / 2], "cut").is_err());
    let mut flipped = payload.clone();
    flipped[200] = if flipped[200] == b'A' { b'B' } else { b'A' };
    assert!(codec::decode_payload(&flipped, "flip").is_err());
}

/// The summary decode keeps exactly the listed fields of the full decode and nothing else, on
/// every release Helm wrote, as a payload and inside a Secret.
#[test]
fn summaries_keep_what_listings_show() {
    for (file, ..) in FIXTURES {
        let payload = fixture(file);
        let full = StoredRelease::from_payload(&payload, file).expect("full");
        let summary = StoredRelease::from_payload_summary(&payload, file).expect("summary");
        let (f, s) = (&full.release, &summary.release);
        assert_eq!(
            (&s.name, &s.namespace, s.version, &s.apply_method),
            (&f.name, &f.namespace, f.version, &f.apply_method),
            "{file}"
        );
        assert_eq!(
            (
                s.status(),
                s.chart_label(),
                s.app_version(),
                s.description()
            ),
            (
                f.status(),
                f.chart_label(),
                f.app_version(),
                f.description()
            ),
            "{file}"
        );
        assert_eq!(s.last_deployed(), f.last_deployed(), "{file}");
        assert_eq!(s.metadata(), f.metadata(), "{file}");
        let (fi, si) = (
            f.info.clone().unwrap_or_default(),
            s.info.clone().unwrap_or_default(),
        );
        assert_eq!(
            (&si.first_deployed, &si.deleted, si.rollback_revision),
            (&fi.first_deployed, &fi.deleted, fi.rollback_revision),
            "{file}"
        );
        assert!(
            s.manifest.is_empty() && s.hooks.is_empty() && s.config.is_none(),
            "{file}"
        );
        assert!(si.notes.is_empty() && si.resources.is_none(), "{file}");
        let chart = s.chart.clone().unwrap_or_default();
        assert!(chart.templates.is_none() && chart.files.is_none() && chart.values.is_none());
        assert_eq!(summary.stored_bytes, full.stored_bytes, "{file}");

        let secret = storage::to_secret(&full.release, &ObjectOptions::default()).expect("secret");
        let whole = StoredRelease::decode_object(&secret, file).expect("object");
        let brief = StoredRelease::decode_object_summary(&secret, file).expect("object summary");
        assert_eq!(brief.release, summary.release, "{file}");
        assert_eq!(brief.stored_bytes, whole.stored_bytes, "{file}");
        assert_eq!(brief.disagreements(), whole.disagreements(), "{file}");
    }
}
