//! Helm release storage: the [`Release`] model, the Secret/ConfigMap codec Helm's storage
//! drivers use, and history queries. Pure: bytes and JSON values in, typed data out.
//!
//! ```
//! use helmrelease_release::{Release, codec};
//! let release = Release { name: "demo".into(), version: 1, ..Release::default() };
//! let payload = codec::encode_payload(&release)?;
//! assert_eq!(codec::decode_payload(payload.as_bytes(), "example")?, release);
//! # Ok::<(), helmrelease_release::Error>(())
//! ```

pub mod codec;
mod error;
pub mod gojson;
pub mod history;
pub mod model;
mod status;
pub mod storage;

pub use error::{Error, Result};
pub use history::History;
pub use model::Release;
pub use status::Status;
pub use storage::{
    Disagreement, Driver, ObjectOptions, StoredRelease, object_name, parse_object_name,
};
