//! Decoding Helm release payloads: the largest real fixture (kube-prometheus-stack, 6.6 MB of
//! JSON, 882 KB stored) and a small one, plus encoding the large one.
//!
//! Run: `cargo bench -p helmrelease-release --bench decode`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use helmrelease_release::codec;
use std::hint::black_box;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/releases")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_payload");
    for name in ["prom-stack-1", "podinfo-helm-1"] {
        let payload = fixture(name);
        group.throughput(Throughput::Bytes(payload.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| codec::decode_payload(black_box(&payload), name).map(|r| r.version))
        });
    }
    group.finish();

    let release = codec::decode_payload(&fixture("prom-stack-1"), "prom-stack-1");
    if let Ok(release) = release {
        c.bench_function("release_json/prom-stack-1", |b| {
            b.iter(|| codec::release_json(black_box(&release)))
        });
        let mut slow = c.benchmark_group("encode_payload");
        slow.sample_size(10);
        slow.bench_function("prom-stack-1", |b| {
            b.iter(|| codec::encode_payload(black_box(&release)))
        });
        slow.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
