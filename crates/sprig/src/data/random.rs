//! Random strings, bytes and UUIDs: `randAlphaNum`, `randAlpha`, `randNumeric`, `randAscii`,
//! `randBytes`, `uuidv4`. Everything draws from the operating system's generator, as
//! Sprig's crypto-backed helpers do.

use super::{def, encoding, int_arg};
use helmrelease_gotmpl::{Funcs, Signature, Type, Value};
use rand_core::{OsRng, RngCore};

/// The longest random string or byte count served; Go would try to allocate anything and
/// die of it, which a renderer must not.
const MAX_RANDOM_LEN: i64 = 1 << 26;

const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const NUMERIC: &[u8] = b"0123456789";
const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub(super) fn register(funcs: &mut Funcs) {
    let count = || Signature::fixed(&[Type::Int]);
    def(funcs, "randAlphaNum", count(), "func(int) string", |a| {
        rand_string(int_arg(a, 0), ALPHANUMERIC)
    });
    def(funcs, "randAlpha", count(), "func(int) string", |a| {
        rand_string(int_arg(a, 0), ALPHA)
    });
    def(funcs, "randNumeric", count(), "func(int) string", |a| {
        rand_string(int_arg(a, 0), NUMERIC)
    });
    def(funcs, "randAscii", count(), "func(int) string", |a| {
        // Printable ASCII, space (32) through tilde (126).
        let printable: Vec<u8> = (32u8..127).collect();
        rand_string(int_arg(a, 0), &printable)
    });
    def(
        funcs,
        "randBytes",
        count(),
        "func(int) (string, error)",
        |a| {
            let n = int_arg(a, 0);
            if n < 0 {
                // make([]byte, n) panics.
                return Err("runtime error: makeslice: len out of range".into());
            }
            if n > MAX_RANDOM_LEN {
                return Err(format!("randBytes: {n} bytes is too many"));
            }
            let buf = bytes(n as usize);
            Ok(Value::string(encoding::base64_encode(&buf)))
        },
    );
    def(
        funcs,
        "uuidv4",
        Signature::fixed(&[]),
        "func() string",
        |_| Ok(Value::string(uuidv4())),
    );
}

/// goutils' `CryptoRandom*`: a negative count is an error Sprig drops (empty string).
fn rand_string(count: i64, alphabet: &[u8]) -> Result<Value, String> {
    if count <= 0 {
        return Ok(Value::string(""));
    }
    if count > MAX_RANDOM_LEN {
        return Err(format!("random string of {count} characters is too long"));
    }
    let s: String = (0..count)
        .map(|_| alphabet[below(alphabet.len() as u64) as usize] as char)
        .collect();
    Ok(Value::string(s))
}

/// `n` random bytes.
pub(crate) fn bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    OsRng.fill_bytes(&mut buf);
    buf
}

/// A uniform random number in `[0, n)` (`n > 0`), without modulo bias.
pub(crate) fn below(n: u64) -> u64 {
    if n <= 1 {
        return 0;
    }
    // Reject the top partial range so every residue is equally likely.
    let zone = u64::MAX - (u64::MAX % n) - 1;
    loop {
        let r = OsRng.next_u64();
        if r <= zone {
            return r % n;
        }
    }
}

/// A random (version 4, variant 10) UUID in lower-case hex, as `google/uuid` prints it.
fn uuidv4() -> String {
    let mut b = bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
