//! Writes N revisions of a real Helm release payload as release Secrets in a `kubectl get
//! secrets` List, for measuring `history` on large histories.
//!
//! `cargo run --release -p helmrelease-release --example revisions_dump -- PAYLOAD N json|yaml > dump`

use helmrelease_release::{ObjectOptions, StoredRelease, storage};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, payload, count, format] = args.as_slice() else {
        return Err("usage: revisions_dump PAYLOAD N json|yaml".into());
    };
    let count: i64 = count.parse()?;
    let base = StoredRelease::from_payload(&std::fs::read(payload)?, payload)?.release;
    let mut items = Vec::new();
    for version in 1..=count {
        let mut release = base.clone();
        release.version = version;
        if let Some(info) = release.info.as_mut() {
            info.status = if version == count {
                "deployed"
            } else {
                "superseded"
            }
            .into();
            info.description = if version == 1 {
                "Install complete"
            } else {
                "Upgrade complete"
            }
            .into();
        }
        items.push(storage::to_secret(
            &release,
            &ObjectOptions {
                created_at: Some(1_790_000_000 + version),
                ..ObjectOptions::default()
            },
        )?);
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    match format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&list)?),
        "yaml" => print!("{}", serde_saphyr::to_string(&list)?),
        other => return Err(format!("unknown format {other}").into()),
    }
    Ok(())
}
