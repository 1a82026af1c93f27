//! Any text as a Go template must parse or fail with an error, and whatever parses must
//! execute or fail with an error, over a small fixed data set: never panic, never hang.
//!
//! `cargo fuzz run gotmpl` (from this folder; needs a nightly toolchain or RUSTC_BOOTSTRAP=1).

#![no_main]

use helmrelease_gotmpl::{MissingKey, Template, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dot = Value::from_json(&serde_json::json!({
        "a": 1, "b": "two", "c": [1, 2, 3], "d": {"e": null, "f": 1.5}, "g": true
    }));
    for missing in [MissingKey::Default, MissingKey::Zero, MissingKey::Error] {
        let mut t = Template::new("fuzz");
        // Nested ranges can run for ever in Go too; the budget keeps the fuzzer moving.
        t.missing_key(missing).max_steps(100_000);
        if t.parse(text).is_ok() {
            let _ = t.execute(&dot);
        }
    }
});
