//! Password and cipher functions: `derivePassword` (Master Password v3, as Sprig implements
//! it), `bcrypt`, `htpasswd`, `encryptAES` and `decryptAES` (AES-256-CBC, Sprig's scheme).

use super::encoding::{base64_decode, base64_encode, bytes_to_string};
use super::{def, random, str_arg};
use aes::Aes256;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};
use helmrelease_gotmpl::{Funcs, Signature, Type, Value};
use ring::hmac;

/// The salt prefix of Master Password.
const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";
/// bcrypt's cost as Go's `bcrypt.DefaultCost`.
const BCRYPT_COST: u32 = 10;

/// Master Password's templates per password type.
fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

/// The characters each template letter stands for.
fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

pub(super) fn register(funcs: &mut Funcs) {
    use Type::String as Str;
    def(
        funcs,
        "derivePassword",
        Signature::fixed(&[Type::Any, Str, Str, Str, Str]),
        "func(uint32, string, string, string, string) string",
        |a| {
            let counter = counter_param(&a[0])?;
            Ok(Value::string(derive_password(
                counter,
                str_arg(a, 1),
                str_arg(a, 2),
                str_arg(a, 3),
                str_arg(a, 4),
            )))
        },
    );
    def(
        funcs,
        "bcrypt",
        Signature::fixed(&[Str]),
        "func(string) string",
        |a| Ok(Value::string(bcrypt(str_arg(a, 0)))),
    );
    def(
        funcs,
        "htpasswd",
        Signature::fixed(&[Str, Str]),
        "func(string, string) string",
        |a| {
            let user = str_arg(a, 0);
            Ok(Value::string(if user.contains(':') {
                format!("invalid username: {user}")
            } else {
                format!("{user}:{}", bcrypt(str_arg(a, 1)))
            }))
        },
    );
    def(
        funcs,
        "encryptAES",
        Signature::fixed(&[Str, Str]),
        "func(string, string) (string, error)",
        |a| Ok(Value::string(encrypt_aes(str_arg(a, 0), str_arg(a, 1)))),
    );
    def(
        funcs,
        "decryptAES",
        Signature::fixed(&[Str, Str]),
        "func(string, string) (string, error)",
        |a| decrypt_aes(str_arg(a, 0), str_arg(a, 1)).map(Value::string),
    );
}

/// The `uint32` counter. Go only lets non-negative integer constants through (truncated to
/// 32 bits); our signature types have no `uint32`, so the check happens here.
fn counter_param(v: &Value) -> Result<u32, String> {
    match v {
        Value::Int(i, _) if *i >= 0 => Ok(*i as u32),
        Value::Int(i, _) => Err(format!("expected unsigned integer; found {i}")),
        Value::Nil => Err("wrong type for value; expected uint32; got interface {}".into()),
        v => Err(format!(
            "wrong type for value; expected uint32; got {}",
            v.type_name()
        )),
    }
}

/// Sprig's `derivePassword`: scrypt (N=32768, r=8, p=2) of the master password salted with
/// the user name gives a key; HMAC-SHA256 of the site and counter picks a template and its
/// characters.
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MASTER_PASSWORD_SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .map_err(|e| e.to_string())
        .and_then(|params| {
            scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key).map_err(|e| e.to_string())
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let mut message = MASTER_PASSWORD_SEED.to_vec();
    message.extend_from_slice(&(site.len() as u32).to_be_bytes());
    message.extend_from_slice(site.as_bytes());
    message.extend_from_slice(&counter.to_be_bytes());
    let seed = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), &message);
    let seed = seed.as_ref();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(c);
            // Templates are at most 20 long; the seed has 32 bytes.
            let pick = seed.get(i + 1).copied().unwrap_or(0);
            chars[usize::from(pick) % chars.len()] as char
        })
        .collect()
}

/// Sprig's `bcrypt`: a `$2a$` hash at cost 10, or the error as text.
fn bcrypt(password: &str) -> String {
    // golang.org/x/crypto (v0.26, as Sprig 3.3 pins it) refuses long passwords.
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .to_string();
    }
    match bcrypt::hash_with_result(password, BCRYPT_COST) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

/// The AES-256 key: the password's bytes, zero-padded or cut to 32.
fn aes_key(password: &str) -> Aes256 {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    Aes256::new(GenericArray::from_slice(&key))
}

/// Sprig's `encryptAES`: PKCS#7 padding, a random IV, CBC; base64 of IV and ciphertext.
fn encrypt_aes(password: &str, plaintext: &str) -> String {
    if plaintext.is_empty() {
        return String::new();
    }
    let cipher = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut out = random::bytes(16);
    let mut prev: [u8; 16] = [0; 16];
    prev.copy_from_slice(&out);
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for (i, b) in block.iter_mut().enumerate() {
            *b = chunk[i] ^ prev[i];
        }
        let mut ga = GenericArray::from(block);
        cipher.encrypt_block(&mut ga);
        prev.copy_from_slice(&ga);
        out.extend_from_slice(&ga);
    }
    base64_encode(&out)
}

/// Sprig's `decryptAES`, including the panics Go's slicing raises on short or malformed
/// input (text/template reports them as errors).
fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, String> {
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let crypt = base64_decode(crypt64.as_bytes())
        .map_err(|at| format!("illegal base64 data at input byte {at}"))?;
    if crypt.len() < 16 {
        return Err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt64.len() / 4 * 3
        ));
    }
    let cipher = aes_key(password);
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let mut prev = [0u8; 16];
    prev.copy_from_slice(iv);
    let mut plain = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let mut ga = GenericArray::clone_from_slice(chunk);
        cipher.decrypt_block(&mut ga);
        for i in 0..16 {
            plain.push(ga[i] ^ prev[i]);
        }
        prev.copy_from_slice(chunk);
    }
    let Some(&last) = plain.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let keep = plain.len() as i64 - i64::from(last);
    if keep < 0 {
        return Err(format!(
            "runtime error: slice bounds out of range [:{keep}]"
        ));
    }
    plain.truncate(keep as usize);
    Ok(bytes_to_string(plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_round_trip() {
        for text in [
            "a",
            "exactly sixteen!",
            "a longer text, with more than one block",
        ] {
            let enc = encrypt_aes("secret", text);
            assert_eq!(decrypt_aes("secret", &enc).unwrap(), text);
        }
        assert_eq!(encrypt_aes("k", ""), "");
    }
}
