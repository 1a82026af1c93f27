//! Latency percentiles of policy evaluation of a 5 KB HelmRelease, the figure DESIGN.md
//! section 9 sets a p99 target for: pure evaluation, and JSON parsing plus evaluation (what the
//! webhook does per request). Criterion reports means; this reports the tail.
//!
//! `cargo run --release -p helmrelease-policy --example latency`

use helmrelease_policy::prune::RuleInput;
use helmrelease_policy::{NoLookups, PolicySet, Request, evaluate, fixtures};
use std::time::{Duration, Instant};

fn percentiles(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{name}: {} runs: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
        samples.len(),
        pct(0.50),
        pct(0.99),
        pct(0.999),
        samples[samples.len() - 1]
    );
}

fn main() {
    let object = fixtures::helmrelease_5kb();
    let bytes = serde_json::to_vec(&object).unwrap_or_default();
    println!("HelmRelease of {} bytes", bytes.len());
    let policies = PolicySet::builtin();
    let runs = 200_000;
    for mutate in [false, true] {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let req = Request::create(&object).mutating(mutate);
            let outcome = evaluate(&req, &policies, &NoLookups).map(|e| e.violations.len());
            samples.push(start.elapsed());
            let _ = std::hint::black_box(outcome);
        }
        percentiles(
            if mutate {
                "evaluate (mutate)"
            } else {
                "evaluate (validate)"
            },
            samples,
        );
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        // As the webhook parses: only the fields the rules read.
        let object: RuleInput = serde_json::from_slice(&bytes).unwrap_or_default();
        let req = Request::create(&object.0);
        let outcome = evaluate(&req, &policies, &NoLookups).map(|e| e.violations.len());
        samples.push(start.elapsed());
        let _ = std::hint::black_box(outcome);
    }
    percentiles("parse rule fields + evaluate (validate)", samples);
}
