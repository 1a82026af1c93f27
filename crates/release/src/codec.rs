//! Helm's payload encoding: `base64(gzip(json(release)))`, and the reverse.

use crate::model::{Chart, Info, Metadata};
use crate::{Error, Release, Result, gojson};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::Deserialize;
use std::io::{Read, Write};

/// Gzip magic as Helm checks it (`1f 8b 08`).
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// Largest release JSON we inflate. A Secret holds at most 1 MiB and real releases inflate about
/// tenfold (kube-prometheus-stack: 0.66 MB of gzip to 6.6 MB of JSON); this bounds a gzip bomb.
pub const MAX_INFLATED_BYTES: usize = 256 << 20;

/// Decodes a Helm payload (the string Helm stores in `data.release`): base64, then gzip or
/// plain JSON. ASCII whitespace is ignored, so wrapped base64 from files works.
pub fn decode_payload(payload: &[u8], object: &str) -> Result<Release> {
    let raw = decode_base64(payload, object, "the Helm payload")?;
    decode_release_bytes(&raw, object)
}

/// Decodes release bytes: gzip-compressed JSON or plain JSON.
pub fn decode_release_bytes(raw: &[u8], object: &str) -> Result<Release> {
    decode_release_bytes_limited(raw, object, MAX_INFLATED_BYTES)
}

fn decode_release_bytes_limited(raw: &[u8], object: &str, limit: usize) -> Result<Release> {
    if raw.starts_with(&GZIP_MAGIC) {
        let json = inflate(raw, object, limit)?;
        parse_json(&json, object)
    } else {
        parse_json(raw, object)
    }
}

/// Decodes a Helm payload like [`decode_payload`], but only into the fields a listing shows:
/// `name`, `namespace`, `version`, `apply_method`, `info` without `notes` and `resources`, and
/// the chart's `metadata`. The chart's templates, files, values and schema, `config`,
/// `manifest` and `hooks` are skipped without being built, so a 6.6 MB release costs a few
/// hundred bytes once decoded. Fields that are read fail on the same input as
/// [`decode_payload`]; malformed skipped fields are not noticed.
pub fn decode_summary(payload: &[u8], object: &str) -> Result<Release> {
    let raw = decode_base64(payload, object, "the Helm payload")?;
    decode_summary_bytes(&raw, object)
}

/// [`decode_summary`] of release bytes: gzip-compressed JSON or plain JSON.
pub fn decode_summary_bytes(raw: &[u8], object: &str) -> Result<Release> {
    let summary: Summary = if raw.starts_with(&GZIP_MAGIC) {
        let json = inflate(raw, object, MAX_INFLATED_BYTES)?;
        parse_json(&json, object)?
    } else {
        parse_json(raw, object)?
    };
    Ok(summary.into_release())
}

/// The listed fields of a release. Every other key is skipped by serde (`IgnoredAny`), which
/// scans strings and objects without allocating. Types and defaults match [`Release`], so a
/// field read here decodes exactly as in the full model.
#[derive(Deserialize)]
struct Summary {
    #[serde(default)]
    name: String,
    #[serde(default)]
    info: Option<SummaryInfo>,
    #[serde(default)]
    chart: Option<SummaryChart>,
    #[serde(default)]
    version: i64,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    apply_method: String,
}

#[derive(Deserialize)]
struct SummaryInfo {
    #[serde(default)]
    first_deployed: Option<String>,
    #[serde(default)]
    last_deployed: Option<String>,
    #[serde(default)]
    deleted: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    rollback_revision: Option<i64>,
}

#[derive(Deserialize)]
struct SummaryChart {
    #[serde(default)]
    metadata: Option<Metadata>,
}

impl Summary {
    fn into_release(self) -> Release {
        Release {
            name: self.name,
            info: self.info.map(|i| Info {
                first_deployed: i.first_deployed,
                last_deployed: i.last_deployed,
                deleted: i.deleted,
                description: i.description,
                status: i.status,
                rollback_revision: i.rollback_revision,
                ..Info::default()
            }),
            chart: self.chart.map(|c| Chart {
                metadata: c.metadata,
                ..Chart::default()
            }),
            version: self.version,
            namespace: self.namespace,
            apply_method: self.apply_method,
            ..Release::default()
        }
    }
}

/// Base64-decodes, skipping ASCII whitespace.
pub(crate) fn decode_base64(text: &[u8], object: &str, what: &'static str) -> Result<Vec<u8>> {
    let decoded = if text.iter().any(u8::is_ascii_whitespace) {
        let compact: Vec<u8> = text
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        STANDARD.decode(compact)
    } else {
        STANDARD.decode(text)
    };
    decoded.map_err(|source| Error::Base64 {
        object: object.to_string(),
        what,
        source,
    })
}

fn inflate(gz: &[u8], object: &str, limit: usize) -> Result<Vec<u8>> {
    // Gzip's trailer holds the inflated size (mod 4 GiB). Reserving exactly that keeps the
    // buffer from doubling past it: a 6.6 MB release would otherwise take a 10.6 MB buffer and
    // a copy. It is only a hint (a bomb may lie), hence the limit; `read_to_end` grows the
    // buffer if the hint is short.
    let hint = gz
        .len()
        .checked_sub(4)
        .and_then(|at| gz.get(at..))
        .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
        .map_or(0, |size| u32::from_le_bytes(size) as usize);
    let mut out = Vec::with_capacity(hint.min(limit));
    GzDecoder::new(gz)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|source| Error::Gzip {
            object: object.to_string(),
            source,
        })?;
    if out.len() > limit {
        return Err(Error::TooLarge {
            object: object.to_string(),
            limit,
        });
    }
    Ok(out)
}

fn parse_json<'de, T: Deserialize<'de>>(json: &'de [u8], object: &str) -> Result<T> {
    serde_json::from_slice(json).map_err(|e| Error::Json {
        object: object.to_string(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })
}

/// serde_json appends " at line L column C"; we report the position separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The release as Helm's `json.Marshal` writes it.
pub fn release_json(release: &Release) -> Result<Vec<u8>> {
    gojson::to_vec(release).map_err(|e| Error::Encode {
        name: release.name.clone(),
        message: e.to_string(),
    })
}

/// Encodes a release as Helm does: JSON, gzip at best compression, base64 (standard, padded).
pub fn encode_payload(release: &Release) -> Result<String> {
    let json = release_json(release)?;
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 8), Compression::best());
    gz.write_all(&json).map_err(|e| Error::Encode {
        name: release.name.clone(),
        message: e.to_string(),
    })?;
    let compressed = gz.finish().map_err(|e| Error::Encode {
        name: release.name.clone(),
        message: e.to_string(),
    })?;
    Ok(STANDARD.encode(compressed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Release {
        Release {
            name: "demo".into(),
            version: 3,
            namespace: "apps".into(),
            ..Release::default()
        }
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let release = small();
        let payload = encode_payload(&release).unwrap_or_default();
        let back = decode_payload(payload.as_bytes(), "test");
        assert_eq!(back.ok(), Some(release));
    }

    #[test]
    fn plain_json_payloads_are_accepted() {
        let payload = STANDARD.encode(br#"{"name":"demo","version":3,"namespace":"apps"}"#);
        assert_eq!(decode_payload(payload.as_bytes(), "t").ok(), Some(small()));
    }

    #[test]
    fn wrapped_base64_is_accepted() {
        let payload = encode_payload(&small()).unwrap_or_default();
        let wrapped: String = payload
            .as_bytes()
            .chunks(20)
            .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
            .collect();
        assert_eq!(decode_payload(wrapped.as_bytes(), "t").ok(), Some(small()));
    }

    #[test]
    fn errors_name_the_object_and_the_layer() {
        let bad_b64 = decode_payload(b"!!!", "Secret a/b")
            .err()
            .map(|e| e.to_string());
        assert!(
            bad_b64
                .is_some_and(|m| m.starts_with("Secret a/b: the Helm payload is not valid base64"))
        );

        let mut gz = GZIP_MAGIC.to_vec();
        gz.extend_from_slice(b"garbage");
        let bad_gz = decode_payload(STANDARD.encode(gz).as_bytes(), "f").err();
        assert!(matches!(bad_gz, Some(Error::Gzip { .. })), "{bad_gz:?}");

        let bad_json = decode_payload(STANDARD.encode("{\n  \"name\": 3}").as_bytes(), "f").err();
        match bad_json {
            Some(Error::Json {
                line,
                column,
                ref message,
                ..
            }) => {
                assert_eq!((line, column), (2, 11));
                assert!(message.contains("invalid type"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn summaries_skip_what_listings_do_not_show() {
        let json = br#"{"name":"demo","info":{"first_deployed":"2026-01-01T00:00:00Z",
            "last_deployed":"2026-01-02T00:00:00Z","description":"Upgrade complete",
            "status":"deployed","notes":"long notes","resources":{"v1/Pod":[{}]},"x":1},
            "chart":{"metadata":{"name":"web","version":"1.2.3","appVersion":"4.5"},
            "templates":[{"name":"t","data":"eA=="}],"values":{"a":1},"files":null},
            "config":{"b":2},"manifest":"---\nkind: Pod\n","hooks":[{"name":"h"}],
            "version":7,"namespace":"apps","apply_method":"ssa","future":[1,{"y":null}]}"#;
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        let _ = gz.write_all(json);
        let payload = STANDARD.encode(gz.finish().unwrap_or_default());
        let full = decode_payload(payload.as_bytes(), "t").unwrap_or_default();
        let summary = decode_summary(payload.as_bytes(), "t").unwrap_or_default();
        let want = Release {
            name: "demo".into(),
            info: full.info.clone().map(|i| Info {
                notes: String::new(),
                resources: None,
                extra: Default::default(),
                ..i
            }),
            chart: full.chart.clone().map(|c| Chart {
                metadata: c.metadata,
                ..Chart::default()
            }),
            version: 7,
            namespace: "apps".into(),
            apply_method: "ssa".into(),
            ..Release::default()
        };
        assert_eq!(summary, want);
        assert_eq!(summary.chart_label(), "web-1.2.3");
        assert_eq!(summary.app_version(), "4.5");
        assert_eq!(summary.last_deployed(), Some("2026-01-02T00:00:00Z"));
        // Plain JSON too, and read fields fail as the full decode fails.
        let plain = decode_summary(STANDARD.encode(json).as_bytes(), "t");
        assert_eq!(plain.ok(), Some(want));
        let bad = decode_summary(STANDARD.encode("{\n  \"name\": 3}").as_bytes(), "f").err();
        assert!(matches!(bad, Some(Error::Json { line: 2, .. })), "{bad:?}");
    }

    #[test]
    fn a_gzip_bomb_is_refused() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        let _ = gz.write_all(&vec![b' '; 2 << 20]);
        let bomb = gz.finish().unwrap_or_default();
        assert!(bomb.len() < 64 << 10);
        let err = decode_release_bytes_limited(&bomb, "bomb", 1 << 20).err();
        assert!(matches!(err, Some(Error::TooLarge { .. })), "{err:?}");
    }
}
