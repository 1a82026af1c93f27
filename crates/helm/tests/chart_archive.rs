//! Chart archives: path traversal refused, sizes capped, corrupt input an error (never a
//! panic), with Helm's messages.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_helm::chart::{self, Limits};
use std::io::Write;

fn tar_header(name: &str, size: usize, kind: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (name, data) in entries {
        let kind = if name.ends_with('/') { b'5' } else { b'0' };
        tar.extend_from_slice(&tar_header(name, data.len(), kind));
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    tar
}

fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    gzip(&tar(entries))
}

const CHART: &[u8] = b"apiVersion: v2\nname: demo\nversion: 0.1.0\n";

fn load_err(entries: &[(&str, &[u8])]) -> String {
    chart::load_archive(&tgz(entries)).unwrap_err().to_string()
}

#[test]
fn loads_and_normalizes_names() {
    let c = chart::load_archive(&tgz(&[
        ("demo/", b""),
        ("demo/Chart.yaml", CHART),
        ("demo/templates/", b""),
        ("demo/templates/a.yaml", b"\xEF\xBB\xBFkind: A\n"),
        ("demo\\templates\\b.yaml", b"kind: B\n"),
        ("demo/./values.yaml", b"x: 1\n"),
    ]))
    .unwrap();
    assert_eq!(c.name(), "demo");
    let t: Vec<_> = c.templates.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(t, ["templates/a.yaml", "templates/b.yaml"]);
    // The BOM is dropped.
    assert_eq!(c.templates[0].data, b"kind: A\n");
    assert!(c.raw_values.is_some());
}

#[test]
fn refuses_path_traversal() {
    assert_eq!(
        load_err(&[("demo/Chart.yaml", CHART), ("demo/../../etc/passwd", b"x")]),
        "chart illegally references parent directory"
    );
    assert_eq!(
        load_err(&[("demo/Chart.yaml", CHART), ("demo//etc/passwd", b"x")]),
        "chart illegally contains absolute paths"
    );
    assert_eq!(
        load_err(&[("Chart.yaml", CHART)]),
        "chart illegally contains content outside the base directory: \"Chart.yaml\""
    );
    assert_eq!(
        load_err(&[("demo/Chart.yaml", CHART), ("demo/c:/windows", b"x")]),
        "chart contains illegally named files"
    );
    assert_eq!(
        load_err(&[("Chart.yaml/x", CHART)]),
        "chart yaml not in base directory"
    );
}

#[test]
fn caps_sizes() {
    let big = vec![b'a'; 4096];
    let entries: &[(&str, &[u8])] = &[("demo/Chart.yaml", CHART), ("demo/big.txt", &big)];
    let e = chart::load_archive_with(
        &tgz(entries),
        &Limits {
            chart_size: 1 << 20,
            file_size: 1000,
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "decompressed chart file \"demo/big.txt\" is larger than the maximum file size 1000"
    );
    let e = chart::load_archive_with(
        &tgz(entries),
        &Limits {
            chart_size: 2000,
            file_size: 1 << 20,
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "decompressed chart is larger than the maximum file size 2000"
    );
    // A compression bomb: a header claiming little, far more data behind it, is cut off.
    let mut bomb = tar(&[("demo/Chart.yaml", CHART)]);
    bomb.truncate(bomb.len() - 1024);
    bomb.extend(std::iter::repeat_n(0u8, 8 << 20));
    let e = chart::load_archive_with(
        &gzip(&bomb),
        &Limits {
            chart_size: 1 << 20,
            file_size: 1 << 20,
        },
    );
    // Zero blocks end the archive: this one is simply the chart.
    assert!(e.is_ok());
}

#[test]
fn corrupt_archives_are_errors() {
    assert_eq!(
        chart::load_archive(b"not gzip at all")
            .unwrap_err()
            .to_string(),
        "gzip: invalid header"
    );
    assert_eq!(
        chart::load_archive(&gzip(&[0u8; 1024]))
            .unwrap_err()
            .to_string(),
        "no files in chart archive"
    );
    let good = tgz(&[("demo/Chart.yaml", CHART), ("demo/values.yaml", b"a: 1\n")]);
    // Every truncation and many bit flips: errors, never panics.
    for cut in (0..good.len()).step_by(7) {
        let _ = chart::load_archive(&good[..cut]);
    }
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        let _ = chart::load_archive(&bad);
    }
    // A garbage tar inside valid gzip.
    let _ = chart::load_archive(&gzip(&[0xffu8; 2048]));
}

#[test]
fn nested_archives_are_loaded() {
    let inner = tgz(&[(
        "sub/Chart.yaml",
        b"apiVersion: v2\nname: sub\nversion: 1.0.0\n",
    )]);
    let outer = tgz(&[
        ("demo/Chart.yaml", CHART),
        ("demo/charts/sub-1.0.0.tgz", &inner),
    ]);
    let c = chart::load_archive(&outer).unwrap();
    assert_eq!(c.dependencies[0].name(), "sub");
    assert_eq!(c.dependencies[0].chart_full_path(), "demo/charts/sub");
    let broken = tgz(&[
        ("demo/Chart.yaml", CHART),
        ("demo/charts/sub-1.0.0.tgz", b"garbage"),
    ]);
    assert_eq!(
        chart::load_archive(&broken).unwrap_err().to_string(),
        "error unpacking sub-1.0.0.tgz in demo: gzip: invalid header"
    );
}
