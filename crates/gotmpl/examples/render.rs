//! Renders cases with our engine in the reference driver's protocol (JSON lines in, JSON lines
//! out; see `crates/gotmpl/oracle/main.go`), so the two can be compared by hand:
//!
//! `echo '{"name":"t","template":"{{.a}}","data":{"a":1}}' | cargo run -q -p helmrelease-gotmpl --example render`

use helmrelease_gotmpl::{Error, MissingKey, Template, Value};
use std::io::BufRead;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let case: serde_json::Value = serde_json::from_str(&line)?;
        let text = case["template"].as_str().unwrap_or_default();
        let name = case["name"].as_str().unwrap_or("t");
        let mut t = Template::new(name);
        t.missing_key(match case["missingkey"].as_str().unwrap_or_default() {
            "zero" => MissingKey::Zero,
            "error" => MissingKey::Error,
            _ => MissingKey::Default,
        });
        let out = match t.parse(text) {
            Err(Error::Parse(e) | Error::Exec(e)) => {
                serde_json::json!({"error": e, "phase": "parse"})
            }
            Ok(t) => match t.execute(&Value::from_json(&case["data"])) {
                Ok(o) => serde_json::json!({"output": o}),
                Err(Error::Parse(e) | Error::Exec(e)) => {
                    serde_json::json!({"error": e, "phase": "exec"})
                }
            },
        };
        println!("{out}");
    }
    Ok(())
}
