//! Go's `text/template`, in Rust, with Go's semantics byte for byte: the lexer, parser and
//! executor, the builtin functions, and `fmt`'s printing (`print`, `printf`, `println`). Helm
//! charts are text/template programs; the Helm layer adds Sprig and Helm functions through
//! [`Funcs`].
//!
//! ```
//! use helmrelease_gotmpl::{Template, Value};
//! let mut t = Template::new("demo");
//! t.parse("{{ range $i, $x := . }}{{ $i }}={{ $x }} {{ end }}").unwrap();
//! let data = Value::from_json(&serde_json::json!(["a", "b"]));
//! assert_eq!(t.execute(&data).unwrap(), "0=a 1=b ");
//! ```

pub mod fmt;
pub mod value;

mod exec;
mod funcs;
mod lex;
mod parse;
pub mod strconv;

pub use exec::{Funcs, MissingKey, Template};
pub use value::{
    Engine, Function, IntType, JsonForm, Map, NativeFn, Object, Signature, Struct, Type, Value,
    native,
};

/// A parse or execution error, worded and located as Go words and locates it
/// (`template: NAME:LINE:COL: executing "NAME" at <.x>: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The template text does not parse.
    #[error("{0}")]
    Parse(String),
    /// Execution failed.
    #[error("{0}")]
    Exec(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
