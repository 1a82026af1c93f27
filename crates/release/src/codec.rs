//! Helm's payload encoding: `base64(gzip(json(release)))`, and the reverse.

use crate::{Error, Release, Result, gojson};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
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
    let mut out = Vec::with_capacity(gz.len().saturating_mul(8).min(limit));
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

fn parse_json(json: &[u8], object: &str) -> Result<Release> {
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
    fn a_gzip_bomb_is_refused() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        let _ = gz.write_all(&vec![b' '; 2 << 20]);
        let bomb = gz.finish().unwrap_or_default();
        assert!(bomb.len() < 64 << 10);
        let err = decode_release_bytes_limited(&bomb, "bomb", 1 << 20).err();
        assert!(matches!(err, Some(Error::TooLarge { .. })), "{err:?}");
    }
}
