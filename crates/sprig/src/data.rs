//! Math, dates, encodings, hashes, crypto and random, network: being written.

use helmrelease_gotmpl::Funcs;

/// Adds this module's functions.
pub(crate) fn register(funcs: &mut Funcs) {
    let _ = funcs;
}
