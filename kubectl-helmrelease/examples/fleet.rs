//! Writes a large generated cluster dump for scale measurements: HelmReleases and their
//! release Secrets, one `kind: List` per namespace.
//!
//! `cargo run --release -p kubectl-helmrelease --example fleet -- DIR [RELEASES] [REVISIONS]`
//! (defaults 500 and 10).

use serde_json::Value;
use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: fleet DIR [RELEASES] [REVISIONS]")?;
    let releases: usize = args.next().map_or(Ok(500), |a| a.parse())?;
    let revisions: usize = args.next().map_or(Ok(10), |a| a.parse())?;
    let list = kubectl_helmrelease::fixtures::fleet(releases, revisions)?;
    // One file per namespace, as `kubectl get -n NS -o yaml` dumps would be saved.
    let mut by_namespace: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for item in list["items"].as_array().cloned().unwrap_or_default() {
        let ns = item["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        by_namespace.entry(ns).or_default().push(item);
    }
    std::fs::create_dir_all(&dir)?;
    for (ns, items) in by_namespace {
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
        std::fs::write(
            std::path::Path::new(&dir).join(format!("{ns}.json")),
            serde_json::to_vec(&list)?,
        )?;
    }
    Ok(())
}
