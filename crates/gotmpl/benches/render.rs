//! Parse and execute of a chart-sized template (`benches/chart.rs`).
//! `cargo bench -p helmrelease-gotmpl --bench render`

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "chart.rs"]
mod chart;

use criterion::{Criterion, criterion_group, criterion_main};
use helmrelease_gotmpl::{Template, Value};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let text = chart::template();
    let data = Value::from_json(&chart::data());
    c.bench_function("parse", |b| {
        b.iter(|| {
            let mut t = Template::new("chart");
            t.parse(black_box(&text)).unwrap();
            t
        })
    });
    let mut t = Template::new("chart");
    t.parse(&text).unwrap();
    c.bench_function("execute", |b| {
        b.iter(|| t.execute(black_box(&data)).unwrap())
    });
    c.bench_function("parse+execute", |b| {
        b.iter(|| {
            let mut t = Template::new("chart");
            t.parse(black_box(&text)).unwrap();
            t.execute(black_box(&data)).unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
