//! Sprig's template functions (v3.3 behaviour), as Helm exposes them to charts: the same
//! names, Go signatures, results and errors, on `helmrelease_gotmpl` values.
//!
//! `env` and `expandenv` are left out, as in Helm.

mod data;
mod text;

pub use text::clean as path_clean;

use helmrelease_gotmpl::Funcs;

/// Every Sprig function Helm exposes, by name.
pub fn funcs() -> Funcs {
    let mut funcs = Funcs::new();
    text::register(&mut funcs);
    data::register(&mut funcs);
    funcs
}
