/// A structural-schema validator, to compare what our CRDs and Flux's accept without a server.
pub mod structural;

use serde_json::Value;
use std::path::Path;

/// The non-empty YAML documents of a file; panics with the file name on any error.
#[allow(dead_code)] // each test binary uses what it needs
pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}
