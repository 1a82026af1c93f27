//! Sprig's math, date, encoding, hash, crypto, random and network functions.
//!
//! Each function declares its real Go signature, so the executor checks arguments as Go's
//! reflection does. Where Go would panic (integer division by zero, malformed AES input),
//! the function returns the panic text as an error, as text/template reports a recovered
//! panic. Go types our signatures cannot name (`time.Time`, `uint32`, Sprig's
//! `certificate`) are declared as `interface {}` and checked in the function, with Go's
//! wording (the message then comes as "error calling NAME: ...").

mod certs;
mod crypto;
mod date;
mod decimal;
mod der;
mod encoding;
mod gotime;
mod keys;
mod math;
mod random;

use helmrelease_gotmpl::{Funcs, Signature, Type, Value, native};

/// Adds this module's functions.
pub(crate) fn register(funcs: &mut Funcs) {
    math::register(funcs);
    date::register(funcs);
    encoding::register(funcs);
    random::register(funcs);
    crypto::register(funcs);
    certs::register(funcs);
    // Helm renders `getHostByName` as an empty string unless `--enable-dns` is given, and a
    // renderer must not reach the network: it always returns "".
    def(
        funcs,
        "getHostByName",
        Signature::fixed(&[Type::String]),
        "func(string) string",
        |_| Ok(Value::string("")),
    );
}

/// Registers one function.
fn def(
    funcs: &mut Funcs,
    name: &'static str,
    signature: Signature,
    go_type: &'static str,
    f: fn(&[Value]) -> Result<Value, String>,
) {
    funcs.insert(name.to_string(), native(name, signature, go_type, f));
}

/// A string argument (the executor has checked the type; "" if not).
fn str_arg(args: &[Value], i: usize) -> &str {
    match args.get(i) {
        Some(Value::String(s)) => s,
        _ => "",
    }
}

/// An integer argument (the executor has checked the type; 0 if not).
fn int_arg(args: &[Value], i: usize) -> i64 {
    match args.get(i) {
        Some(Value::Int(i, _)) => *i,
        _ => 0,
    }
}
