//! Strings, lists, dicts, defaults, conversion and reflection, regular expressions, semver,
//! paths and URLs: being written.

use helmrelease_gotmpl::Funcs;

/// Adds this module's functions.
pub(crate) fn register(funcs: &mut Funcs) {
    let _ = funcs;
}
