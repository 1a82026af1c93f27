//! Any bytes, as a Helm payload, as release bytes, or as a Kubernetes object, must decode or
//! fail with an error: never panic, never hang.
//!
//! `cargo fuzz run decode_release` (from this folder; needs a nightly toolchain or
//! RUSTC_BOOTSTRAP=1 for the sanitizer flags).

#![no_main]

use helmrelease_release::{StoredRelease, codec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = codec::decode_payload(data, "fuzz");
    if let Ok(release) = codec::decode_release_bytes(data, "fuzz") {
        // Whatever decodes must encode and decode back to the same release.
        if let Ok(payload) = codec::encode_payload(&release) {
            let again = codec::decode_payload(payload.as_bytes(), "fuzz");
            assert_eq!(again.ok().as_ref(), Some(&release));
        }
    }
    if let Ok(object) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = StoredRelease::from_object(&object, "fuzz");
    }
});
