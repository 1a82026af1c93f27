//! Policy evaluation of a 5 KB HelmRelease: the webhook's decision without IO.
//!
//! `cargo bench -p helmrelease-policy --bench evaluate`

use criterion::{Criterion, criterion_group, criterion_main};
use helmrelease_policy::prune::RuleInput;
use helmrelease_policy::{Lookups, ObjectIndex, PolicySet, Request, evaluate, fixtures};
use serde_json::{Value, json};
use std::hint::black_box;

fn sources() -> Vec<Value> {
    (0..200)
        .map(|i| {
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                   "metadata": {"name": if i == 0 { "podinfo".to_string() } else { format!("repo-{i}") }, "namespace": "flux-system"},
                   "spec": {"url": "https://example.com/charts"}})
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let object = fixtures::helmrelease_5kb();
    let bytes = serde_json::to_vec(&object).unwrap_or_default();
    let sources = sources();
    let index = ObjectIndex::new(&sources, Lookups::Complete, "default");
    let policies = PolicySet::builtin();
    for (name, mutate) in [("validate", false), ("mutate", true)] {
        c.bench_function(&format!("evaluate/{name}/hr-{}b", bytes.len()), |b| {
            b.iter(|| {
                let req = Request::create(black_box(&object)).mutating(mutate);
                evaluate(&req, &policies, &index).map(|e| e.violations.len())
            })
        });
    }
    c.bench_function("parse_full_and_evaluate/validate", |b| {
        b.iter(|| {
            let object: Value = serde_json::from_slice(black_box(&bytes)).unwrap_or_default();
            let req = Request::create(&object);
            evaluate(&req, &policies, &index).map(|e| e.violations.len())
        })
    });
    // What the webhook does: parse only the fields the rules read.
    c.bench_function("parse_rule_fields_and_evaluate/validate", |b| {
        b.iter(|| {
            let object: RuleInput = serde_json::from_slice(black_box(&bytes)).unwrap_or_default();
            let req = Request::create(&object.0);
            evaluate(&req, &policies, &index).map(|e| e.violations.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
