//! Prints N copies of the benchmark case (`benches/chart.rs`) as JSON lines for the reference
//! driver and the `render` example, to compare whole-process time per render:
//! `cargo run -q -p helmrelease-gotmpl --example bench_cases -- 2000 > cases.jsonl`

#[path = "../benches/chart.rs"]
mod chart;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let case =
        serde_json::json!({"name": "chart", "template": chart::template(), "data": chart::data()});
    let line = case.to_string();
    for _ in 0..n {
        println!("{line}");
    }
}
