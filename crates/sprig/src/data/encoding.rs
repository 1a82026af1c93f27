//! Encodings and hashes: `b64enc`, `b64dec`, `b32enc`, `b32dec`, `sha1sum`, `sha256sum`,
//! `sha512sum` (new in Sprig 3.3) and `adler32sum`. The decoders follow Go's
//! `encoding/base64` and `encoding/base32` byte for byte, error offsets included: Sprig
//! returns the error text as the result.

use super::{def, str_arg};
use helmrelease_gotmpl::{Funcs, Signature, Type, Value};
use ring::digest;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub(super) fn register(funcs: &mut Funcs) {
    let s2s = || Signature::fixed(&[Type::String]);
    def(funcs, "b64enc", s2s(), "func(string) string", |a| {
        Ok(Value::string(base64_encode(str_arg(a, 0).as_bytes())))
    });
    def(funcs, "b64dec", s2s(), "func(string) string", |a| {
        Ok(Value::string(
            match base64_decode(str_arg(a, 0).as_bytes()) {
                Ok(bytes) => bytes_to_string(bytes),
                Err(at) => format!("illegal base64 data at input byte {at}"),
            },
        ))
    });
    def(funcs, "b32enc", s2s(), "func(string) string", |a| {
        Ok(Value::string(base32_encode(str_arg(a, 0).as_bytes())))
    });
    def(funcs, "b32dec", s2s(), "func(string) string", |a| {
        Ok(Value::string(
            match base32_decode(str_arg(a, 0).as_bytes()) {
                Ok(bytes) => bytes_to_string(bytes),
                Err(at) => format!("illegal base32 data at input byte {at}"),
            },
        ))
    });
    def(funcs, "sha1sum", s2s(), "func(string) string", |a| {
        Ok(Value::string(hex(digest::digest(
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            str_arg(a, 0).as_bytes(),
        )
        .as_ref())))
    });
    def(funcs, "sha256sum", s2s(), "func(string) string", |a| {
        Ok(Value::string(hex(digest::digest(
            &digest::SHA256,
            str_arg(a, 0).as_bytes(),
        )
        .as_ref())))
    });
    def(funcs, "sha512sum", s2s(), "func(string) string", |a| {
        Ok(Value::string(hex(digest::digest(
            &digest::SHA512,
            str_arg(a, 0).as_bytes(),
        )
        .as_ref())))
    });
    def(funcs, "adler32sum", s2s(), "func(string) string", |a| {
        Ok(Value::string(adler32(str_arg(a, 0).as_bytes()).to_string()))
    });
}

/// Go's `string(bytes)`: our strings are UTF-8, so invalid sequences become U+FFFD (Go keeps
/// the raw bytes).
pub(crate) fn bytes_to_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `adler32.Checksum`.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// `base64.StdEncoding.EncodeToString`.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_value(c: u8) -> Option<u8> {
    B64.iter().position(|&x| x == c).map(|p| p as u8)
}

/// `base64.StdEncoding.DecodeString`: `Err(offset)` is Go's `CorruptInputError`. Newlines
/// are skipped; padding is required.
pub(crate) fn base64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        // decodeQuantum
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut j = 0;
        let mut trailing_err = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                // Standard encoding: a short final quantum lacks its padding.
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = b64_value(c) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            // Padding: the end.
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            if si < src.len() {
                trailing_err = Some(si);
            }
            dlen = j;
            break;
        }
        let val = (u32::from(dbuf[0]) << 18)
            | (u32::from(dbuf[1]) << 12)
            | (u32::from(dbuf[2]) << 6)
            | u32::from(dbuf[3]);
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if let Some(at) = trailing_err {
            return Err(at);
        }
    }
    Ok(out)
}

/// `base32.StdEncoding.EncodeToString`.
fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut b = [0u8; 5];
        b[..chunk.len()].copy_from_slice(chunk);
        let v = b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        // Characters carrying data for 1..5 input bytes.
        let chars = [0, 2, 4, 5, 7, 8][chunk.len()];
        for i in 0..8 {
            if i < chars {
                out.push(B32[((v >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base32.StdEncoding.DecodeString`: newlines are stripped first; `Err(offset)` is Go's
/// `CorruptInputError`, counted in the stripped input.
fn base32_decode(input: &[u8]) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = input
        .iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect();
    let olen = src.len();
    let mut rest: &[u8] = &src;
    let mut out = Vec::with_capacity(olen / 8 * 5);
    let mut end = false;
    while !rest.is_empty() && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0;
        while j < 8 {
            let Some((&c, tail)) = rest.split_first() else {
                return Err(olen - j);
            };
            rest = tail;
            if c == b'=' && j >= 2 && rest.len() < 8 {
                if rest.len() + j < 7 {
                    return Err(olen);
                }
                for k in 0..7 - j {
                    if rest.len() > k && rest[k] != b'=' {
                        return Err(olen - rest.len() + k - 1);
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(olen - rest.len() - 1);
                }
                break;
            }
            match B32.iter().position(|&x| x == c) {
                Some(v) => dbuf[j] = v as u8,
                None => return Err(olen - rest.len() - 1),
            }
            j += 1;
        }
        let d = dbuf;
        let bytes = [
            (d[0] << 3) | (d[1] >> 2),
            (d[1] << 6) | (d[2] << 1) | (d[3] >> 4),
            (d[3] << 4) | (d[4] >> 1),
            (d[4] << 7) | (d[5] << 2) | (d[6] >> 3),
            (d[6] << 5) | d[7],
        ];
        let n = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..n]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            assert_eq!(
                base64_decode(base64_encode(s.as_bytes()).as_bytes()).unwrap(),
                s.as_bytes()
            );
            assert_eq!(
                base32_decode(base32_encode(s.as_bytes()).as_bytes()).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI======");
        assert_eq!(adler32(b"Wikipedia"), 300_286_872);
    }
}
