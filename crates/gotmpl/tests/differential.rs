#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Differential tests: our text/template against Go's own.
//!
//! Every case (the hand-written corpus in `tests/corpus/*.jsonl`, then seeded random cases:
//! generated templates over generated data, corpus cases broken by a few edits, and token
//! soup) runs through the Go reference driver (`oracle/main.go`, built by
//! `scripts/build-gotmpl-oracle.sh`, all cases in one process) and through this crate, and
//! the results must agree: the output byte for byte, or the error's text exactly and its phase
//! (parse or exec). Go's partial output before an exec error is shown but not compared: our
//! engine returns only the error. A failure lists every divergence, then counts per corpus
//! topic and per kind of divergence.
//!
//! Run: `cargo test -p helmrelease-gotmpl --test differential` (needs `go`, e.g. Debian's
//! golang-go; offline is fine).
//!
//! A corpus case may carry a written expectation (`"expect": {"output": ...}` or
//! `{"error": ..., "phase": ...}`) instead: that is current Go's behaviour where the Go the
//! oracle is built with (Debian's 1.19) differs; its `"note"` says why.
//!
//! Environment:
//! - `GOTMPL_ORACLE`: the oracle binary (default `<workspace>/target/gotmpl-oracle`, built on
//!   demand, and rebuilt when `oracle/main.go` is newer).
//! - `GOTMPL_REQUIRE_ORACLE=1`: fail when no oracle can be had (CI); otherwise skip with a note.
//! - `GOTMPL_RANDOM_CASES` (default 3000), `GOTMPL_RANDOM_SEED` (default fixed): the random
//!   cases.
//! - `GOTMPL_FILTER`: only cases whose id contains this text.
//! - `GOTMPL_DUMP_RANDOM=FILE`: also write the random cases there, in the corpus's format (to
//!   look at them, or to move one into the corpus).
//! - `GOTMPL_REPORT_LIMIT` (default 150): divergences reported in full; the rest one line each.

use helmrelease_gotmpl::{Error, MissingKey, Template, Value};
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One template run: a corpus case or a random one.
#[derive(Debug, Clone)]
struct Case {
    id: String,
    /// The corpus topic (file stem), or "random".
    source: String,
    name: String,
    template: String,
    data: Json,
    missingkey: String,
    expect: Option<Outcome>,
    note: Option<String>,
}

/// What running a case produced.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The output, as bytes (Go's may not be UTF-8).
    Output(Vec<u8>),
    /// A parse or exec error; `partial` is the output Go wrote before an exec error.
    Error {
        phase: String,
        message: String,
        partial: Option<Vec<u8>>,
    },
    /// Our engine panicked, or the Go driver failed on the case.
    Crash(String),
}

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn corpus_is_well_formed() {
    let cases = load_corpus(&corpus_dir());
    assert!(
        cases.len() >= 600,
        "the corpus has {} cases; it should have at least 600",
        cases.len()
    );
    let mut ids = HashSet::new();
    for case in &cases {
        assert!(ids.insert(case.id.clone()), "duplicate case id {}", case.id);
        assert!(
            ["default", "invalid", "zero", "error"].contains(&case.missingkey.as_str()),
            "{}: bad missingkey {:?}",
            case.id,
            case.missingkey
        );
        if case.expect.is_some() {
            assert!(
                case.note.is_some(),
                "{}: a written expectation needs a note saying why",
                case.id
            );
        }
    }
}

#[test]
fn random_cases_are_reproducible() {
    let corpus = load_corpus(&corpus_dir());
    let a = random_cases(7, 50, &corpus);
    let b = random_cases(7, 50, &corpus);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.template, y.template);
        assert_eq!(x.data, y.data);
    }
    let distinct: HashSet<&str> = a.iter().map(|c| c.template.as_str()).collect();
    assert!(distinct.len() > 40, "the generator repeats itself");
}

#[test]
fn differential_against_go() {
    let Some(oracle) = find_oracle() else {
        return;
    };
    let started = Instant::now();
    let mut cases = load_corpus(&corpus_dir());
    let random_count = env_usize("GOTMPL_RANDOM_CASES", 3000);
    let seed = env_u64("GOTMPL_RANDOM_SEED", 0x005E_ED0F_601D);
    let random = random_cases(seed, random_count, &cases);
    if let Ok(path) = std::env::var("GOTMPL_DUMP_RANDOM") {
        dump_cases(Path::new(&path), &random);
    }
    cases.extend(random);
    if let Ok(filter) = std::env::var("GOTMPL_FILTER") {
        cases.retain(|c| c.id.contains(&filter));
    }

    // Go's results, for the cases without a written expectation.
    let asked: Vec<&Case> = cases.iter().filter(|c| c.expect.is_none()).collect();
    let mut go_results = run_oracle(&oracle, &asked).into_iter();
    let expected: Vec<Outcome> = cases
        .iter()
        .map(|c| match &c.expect {
            Some(e) => e.clone(),
            None => go_results.next().expect("one oracle result per case"),
        })
        .collect();

    let ours = run_engine_all(&cases);

    let mut report = Report::default();
    for ((case, go), ours) in cases.iter().zip(&expected).zip(&ours) {
        report.record(case, go, ours);
    }
    report.finish(started.elapsed(), seed, random_count);
}

// ---------------------------------------------------------------------------------------
// Corpus

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Reads every `*.jsonl` (one case per line; blank lines and `//` comments skipped) and
/// `*.json` (an array of cases) file of `dir`, in file-name order.
fn load_corpus(dir: &Path) -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("jsonl" | "json")
            )
        })
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let topic = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let values: Vec<(usize, Json)> = if file.extension().is_some_and(|e| e == "json") {
            match serde_json::from_str(&text) {
                Ok(Json::Array(items)) => items.into_iter().enumerate().collect(),
                other => panic!(
                    "{}: expected an array of cases, got {other:?}",
                    file.display()
                ),
            }
        } else {
            text.lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
                .map(|(i, l)| {
                    let v = serde_json::from_str(l).unwrap_or_else(|e| {
                        panic!("{}:{}: {e}", file.display(), i + 1);
                    });
                    (i + 1, v)
                })
                .collect()
        };
        for (line, value) in values {
            cases.push(parse_case(
                &topic,
                &format!("{}:{line}", file.display()),
                &value,
            ));
        }
    }
    cases
}

fn parse_case(topic: &str, at: &str, v: &Json) -> Case {
    let text = |key: &str| v.get(key).and_then(Json::as_str).map(str::to_string);
    let template = text("template").unwrap_or_else(|| panic!("{at}: no \"template\""));
    let expect = v.get("expect").map(|e| {
        if let Some(out) = e.get("output").and_then(Json::as_str) {
            Outcome::Output(out.as_bytes().to_vec())
        } else if let Some(message) = e.get("error").and_then(Json::as_str) {
            Outcome::Error {
                phase: e
                    .get("phase")
                    .and_then(Json::as_str)
                    .unwrap_or_else(|| panic!("{at}: an expected error needs its \"phase\""))
                    .to_string(),
                message: message.to_string(),
                partial: None,
            }
        } else {
            panic!("{at}: \"expect\" needs \"output\" or \"error\"")
        }
    });
    Case {
        id: text("id").unwrap_or_else(|| panic!("{at}: no \"id\"")),
        source: topic.to_string(),
        name: text("name").unwrap_or_else(|| "t".to_string()),
        template,
        data: v.get("data").cloned().unwrap_or(Json::Null),
        missingkey: text("missingkey").unwrap_or_else(|| "default".to_string()),
        expect,
        note: text("note"),
    }
}

fn dump_cases(path: &Path, cases: &[Case]) {
    let mut text = String::new();
    for c in cases {
        let mut v = json!({"id": c.id, "name": c.name, "template": c.template, "data": c.data});
        if c.missingkey != "default" {
            v["missingkey"] = json!(c.missingkey);
        }
        text.push_str(&v.to_string());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => v.parse().ok(),
        })
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------
// The Go oracle

/// Writes straight to the process's stderr, past the test harness's capture, so a skip is
/// seen even when the test passes.
fn note(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// The oracle binary, built if needed; `None` (after a note) when there is none and none is
/// required.
fn find_oracle() -> Option<PathBuf> {
    let required = std::env::var("GOTMPL_REQUIRE_ORACLE").is_ok_and(|v| v == "1");
    if let Ok(path) = std::env::var("GOTMPL_ORACLE") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "GOTMPL_ORACLE={} does not name a file",
            path.display()
        );
        return Some(path);
    }
    let root = workspace_root();
    let oracle = root.join("target/gotmpl-oracle");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle/main.go");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let stale = match (modified(&oracle), modified(&source)) {
        (Some(built), Some(src)) => built < src,
        (None, _) => true,
        (Some(_), None) => false,
    };
    let mut why = String::new();
    if stale {
        match Command::new("bash")
            .arg(root.join("scripts/build-gotmpl-oracle.sh"))
            .arg(&oracle)
            .output()
        {
            Ok(out) => {
                why = String::from_utf8_lossy(&out.stderr).trim().to_string();
                assert!(
                    out.status.success(),
                    "building the Go oracle failed:\n{why}"
                );
            }
            Err(e) => why = format!("running scripts/build-gotmpl-oracle.sh: {e}"),
        }
    }
    if oracle.is_file() {
        return Some(oracle);
    }
    assert!(
        !required,
        "GOTMPL_REQUIRE_ORACLE=1 but there is no Go oracle at {} ({why}); install Go \
         (apt-get install golang-go) or set GOTMPL_ORACLE",
        oracle.display()
    );
    note(&format!(
        "differential_against_go: SKIPPED, no Go oracle ({why}); install golang-go, or set \
         GOTMPL_REQUIRE_ORACLE=1 to make this a failure"
    ));
    None
}

/// Runs the cases through one oracle process; one outcome per case, in order.
fn run_oracle(oracle: &Path, cases: &[&Case]) -> Vec<Outcome> {
    let mut input = String::new();
    for case in cases {
        let request = json!({
            "name": case.name,
            "template": case.template,
            "data": case.data,
            "missingkey": case.missingkey,
        });
        input.push_str(&request.to_string());
        input.push('\n');
    }
    let mut child = Command::new(oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", oracle.display()));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // A broken pipe means the oracle died; its exit status tells why.
        let _ = stdin.write_all(input.as_bytes());
    });
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut outcomes = Vec::with_capacity(cases.len());
    for line in stdout.lines() {
        let line = line.unwrap();
        let v: Json =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("oracle printed {line:?}: {e}"));
        outcomes.push(oracle_outcome(&v));
    }
    writer.join().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && outcomes.len() == cases.len(),
        "the oracle failed ({}) after {} of {} cases: {}",
        out.status,
        outcomes.len(),
        cases.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    outcomes
}

fn oracle_outcome(v: &Json) -> Outcome {
    let output = match v.get("output_hex").and_then(Json::as_str) {
        Some(hex) => Some(unhex(hex)),
        None => v
            .get("output")
            .and_then(Json::as_str)
            .map(|s| s.as_bytes().to_vec()),
    };
    match v.get("error").and_then(Json::as_str) {
        None => Outcome::Output(output.unwrap_or_default()),
        Some(message) => {
            let phase = v.get("phase").and_then(Json::as_str).unwrap_or("?");
            if phase == "parse" || phase == "exec" {
                Outcome::Error {
                    phase: phase.to_string(),
                    message: message.to_string(),
                    partial: output.filter(|o| !o.is_empty()),
                }
            } else {
                Outcome::Crash(format!("Go driver ({phase}): {message}"))
            }
        }
    }
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Our engine

fn missing_key(mode: &str) -> MissingKey {
    match mode {
        "zero" => MissingKey::Zero,
        "error" => MissingKey::Error,
        _ => MissingKey::Default,
    }
}

fn run_engine(case: &Case) -> Outcome {
    let fail = |e: Error| Outcome::Error {
        phase: if matches!(e, Error::Parse(_)) {
            "parse"
        } else {
            "exec"
        }
        .to_string(),
        message: e.to_string(),
        partial: None,
    };
    let mut t = Template::new(&case.name);
    t.missing_key(missing_key(&case.missingkey));
    if let Err(e) = t.parse(&case.template) {
        return fail(e);
    }
    match t.execute(&Value::from_json(&case.data)) {
        Ok(out) => Outcome::Output(out.into_bytes()),
        Err(e) => fail(e),
    }
}

/// Runs every case through our engine on one worker thread with a large stack (deeply
/// nested cases recurse), catching panics; a case that runs too long fails the test.
fn run_engine_all(cases: &[Case]) -> Vec<Outcome> {
    const ENGINE_THREAD: &str = "gotmpl-engine";
    let default_hook = std::sync::Arc::new(std::panic::take_hook());
    {
        let default_hook = default_hook.clone();
        std::panic::set_hook(Box::new(move |info| {
            // Engine panics are reported as divergences; keep them off the console.
            if std::thread::current().name() != Some(ENGINE_THREAD) {
                default_hook(info);
            }
        }));
    }
    let (tx, rx) = mpsc::channel();
    let work = cases.to_vec();
    std::thread::Builder::new()
        .name(ENGINE_THREAD.to_string())
        .stack_size(512 << 20)
        .spawn(move || {
            for case in &work {
                let outcome = std::panic::catch_unwind(|| run_engine(case)).unwrap_or_else(|p| {
                    let message = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
                        .unwrap_or_else(|| "(non-string panic)".to_string());
                    Outcome::Crash(format!("panic: {message}"))
                });
                if tx.send(outcome).is_err() {
                    return;
                }
            }
        })
        .unwrap();
    let limit = Duration::from_secs(20);
    let mut outcomes = Vec::with_capacity(cases.len());
    for case in cases {
        match rx.recv_timeout(limit) {
            Ok(outcome) => outcomes.push(outcome),
            Err(_) => panic!(
                "our engine took more than {limit:?} on case {} (or died): template {:?}, data {}",
                case.id, case.template, case.data
            ),
        }
    }
    outcomes
}

// ---------------------------------------------------------------------------------------
// Comparing and reporting

fn same(go: &Outcome, ours: &Outcome) -> bool {
    match (go, ours) {
        (Outcome::Output(g), Outcome::Output(o)) => {
            // Go's output may be invalid UTF-8 (slicing a string mid-rune); ours is a String,
            // the best it can do is the same text with U+FFFD replacements.
            g == o
                || (std::str::from_utf8(g).is_err() && String::from_utf8_lossy(g).as_bytes() == o)
        }
        (
            Outcome::Error {
                phase: gp,
                message: gm,
                ..
            },
            Outcome::Error {
                phase: op,
                message: om,
                ..
            },
        ) => gp == op && gm == om,
        _ => false,
    }
}

/// For random cases, differences that are current Go's behaviour where the oracle's Go 1.19
/// differs (the corpus covers these with written expectations): the reason, when `go` and
/// `ours` differ only that way.
fn version_difference(case: &Case, go: &Outcome, ours: &Outcome) -> Option<&'static str> {
    if case.source != "random" {
        return None;
    }
    let Outcome::Error { message: gm, .. } = go else {
        return None;
    };
    // Go 1.25+ names the types: "incompatible types for comparison: float64 and int".
    if gm.ends_with("incompatible types for comparison")
        && let Outcome::Error { message: om, .. } = ours
        && let Some(types) = om
            .strip_prefix(gm.as_str())
            .and_then(|r| r.strip_prefix(": "))
        && types.split(" and ").count() == 2
    {
        return Some("incompatible-types message naming the types (Go 1.25+)");
    }
    // Go 1.24+ ranges over integers.
    if let Some((_, n)) = gm.rsplit_once("range can't iterate over ")
        && !n.is_empty()
        && n.trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Some("range over an integer (Go 1.24+)");
    }
    None
}

/// Random templates whose meaning changed after Go 1.19 in ways the oracle cannot show.
fn version_sensitive(case: &Case) -> Option<&'static str> {
    if case.source != "random" {
        return None;
    }
    let t = &case.template;
    if t.contains("else with") {
        return Some("{{else with}} (Go 1.23+)");
    }
    // {{range $x = ...}}: assignment in range (current Go assigns each iteration).
    let mut rest = t.as_str();
    while let Some(i) = rest.find("range") {
        rest = &rest[i + 5..];
        let head = rest.split("}}").next().unwrap_or("");
        if head.contains('=') && !head.contains(":=") {
            return Some("range with = assignment");
        }
    }
    None
}

fn show_bytes(b: &[u8], limit: usize) -> String {
    truncate(&format!("{:?}", String::from_utf8_lossy(b)), limit)
}

fn truncate(s: &str, limit: usize) -> String {
    if s.chars().count() <= limit {
        return s.to_string();
    }
    let cut: String = s.chars().take(limit).collect();
    format!("{cut}… ({} chars)", s.chars().count())
}

fn show(outcome: &Outcome, limit: usize) -> String {
    match outcome {
        Outcome::Output(o) => format!("output {}", show_bytes(o, limit)),
        Outcome::Error {
            phase,
            message,
            partial,
        } => {
            let mut s = format!("{phase} error {}", truncate(&format!("{message:?}"), limit));
            if let Some(p) = partial {
                let _ = write!(s, " [after output {}]", show_bytes(p, limit / 2));
            }
            s
        }
        Outcome::Crash(message) => format!("CRASH {}", truncate(message, limit)),
    }
}

#[derive(Default)]
struct Report {
    /// Per source: (cases, divergences).
    sources: BTreeMap<String, (usize, usize)>,
    divergences: Vec<String>,
    short: Vec<String>,
    tolerated: BTreeMap<&'static str, usize>,
    /// Divergences by a rough category, to point at what to fix first.
    categories: BTreeMap<String, usize>,
    /// What Go made of the random cases: (outputs, parse errors, exec errors).
    random_kinds: (usize, usize, usize),
    checked: usize,
}

impl Report {
    fn record(&mut self, case: &Case, go: &Outcome, ours: &Outcome) {
        self.checked += 1;
        if case.source == "random" {
            match go {
                Outcome::Output(_) => self.random_kinds.0 += 1,
                Outcome::Error { phase, .. } if phase == "parse" => self.random_kinds.1 += 1,
                _ => self.random_kinds.2 += 1,
            }
        }
        let entry = self.sources.entry(case.source.clone()).or_default();
        entry.0 += 1;
        if same(go, ours) {
            return;
        }
        if let Some(why) = version_sensitive(case).or_else(|| version_difference(case, go, ours)) {
            *self.tolerated.entry(why).or_default() += 1;
            return;
        }
        entry.1 += 1;
        *self.categories.entry(category(go, ours)).or_default() += 1;
        let limit = env_usize("GOTMPL_REPORT_LIMIT", 150);
        if self.divergences.len() < limit {
            let mut s = format!("--- {} [{}]\n", case.id, case.source);
            let _ = writeln!(
                s,
                "  template:   {}",
                truncate(&format!("{:?}", case.template), 400)
            );
            if !case.data.is_null() {
                let _ = writeln!(s, "  data:       {}", truncate(&case.data.to_string(), 300));
            }
            if case.missingkey != "default" {
                let _ = writeln!(s, "  missingkey: {}", case.missingkey);
            }
            if case.name != "t" {
                let _ = writeln!(s, "  name:       {:?}", case.name);
            }
            if let Some(n) = &case.note {
                let _ = writeln!(s, "  note:       {n}");
            }
            let who = if case.expect.is_some() {
                "expected"
            } else {
                "go"
            };
            let _ = writeln!(
                s,
                "  {who}:{:width$}{}",
                "",
                show(go, 400),
                width = 11 - who.len()
            );
            let _ = writeln!(s, "  ours:       {}", show(ours, 400));
            self.divergences.push(s);
        } else {
            self.short.push(format!(
                "{}  {}",
                case.id,
                truncate(&format!("{:?}", case.template), 100)
            ));
        }
    }

    fn finish(self, elapsed: Duration, seed: u64, random_count: usize) {
        let failed: usize = self.sources.values().map(|s| s.1).sum();
        let mut out = String::new();
        for d in &self.divergences {
            out.push_str(d);
        }
        if !self.short.is_empty() {
            let _ = writeln!(out, "--- {} more divergences:", self.short.len());
            for s in &self.short {
                let _ = writeln!(out, "  {s}");
            }
        }
        let _ = writeln!(out, "\n=== per source (cases, divergences)");
        for (source, (n, bad)) in &self.sources {
            let _ = writeln!(out, "  {source:<24} {n:>5} {bad:>5}");
        }
        if !self.categories.is_empty() {
            let _ = writeln!(out, "=== divergences by kind");
            let mut kinds: Vec<_> = self.categories.iter().collect();
            kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (kind, n) in kinds {
                let _ = writeln!(out, "  {n:>5}  {kind}");
            }
        }
        let (outputs, parse, exec) = self.random_kinds;
        if outputs + parse + exec > 0 {
            let _ = writeln!(
                out,
                "=== random cases: Go printed {outputs}, failed to parse {parse}, failed to execute {exec}"
            );
        }
        for (why, n) in &self.tolerated {
            let _ = writeln!(
                out,
                "  tolerated (Go 1.19 oracle vs current Go): {n} × {why}"
            );
        }
        let _ = writeln!(
            out,
            "=== {} cases ({random_count} random, seed {seed:#x}) in {:.1}s: {} passed, {} failed",
            self.checked,
            elapsed.as_secs_f64(),
            self.checked - failed,
            failed
        );
        println!("{out}");
        assert!(
            failed == 0,
            "{failed} of {} cases diverge from Go (listed above)",
            self.checked
        );
    }
}

/// A rough kind for a divergence: which side failed how, and for errors the gist of Go's
/// message (its text after the last `: `, with quoted parts and numbers blanked).
fn category(go: &Outcome, ours: &Outcome) -> String {
    let gist = |o: &Outcome| match o {
        Outcome::Output(_) => "output".to_string(),
        Outcome::Crash(m) => {
            let first = m.lines().next().unwrap_or("");
            format!("crash: {}", truncate(first, 60))
        }
        Outcome::Error { phase, message, .. } => {
            let tail = message.rsplit(": ").next().unwrap_or(message);
            let mut blanked = String::new();
            let mut in_quote = false;
            for c in tail.chars() {
                match c {
                    '"' => {
                        in_quote = !in_quote;
                        if in_quote {
                            blanked.push_str("\"…\"");
                        }
                    }
                    _ if in_quote => {}
                    '0'..='9' => {
                        if !blanked.ends_with('N') {
                            blanked.push('N');
                        }
                    }
                    _ => blanked.push(c),
                }
            }
            format!("{phase} error \"{}\"", truncate(&blanked, 60))
        }
    };
    let (g, o) = (gist(go), gist(ours));
    match (go, ours) {
        (Outcome::Output(_), Outcome::Output(_)) => "different output".to_string(),
        (Outcome::Error { .. }, Outcome::Error { .. }) if g == o => format!("different text: {g}"),
        _ => format!("go {g} / ours {o}"),
    }
}

// ---------------------------------------------------------------------------------------
// Random cases

/// xorshift64*: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        for _ in 0..4 {
            r.next();
        }
        r
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn word(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }

    /// An index into `weights`, chosen in proportion to them.
    fn weighted(&mut self, weights: &[usize]) -> usize {
        let total: usize = weights.iter().sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// `count` random cases: mostly generated templates over generated data, some corpus cases
/// broken by a few edits, some token soup (for the lexer's and parser's error paths).
fn random_cases(seed: u64, count: usize, corpus: &[Case]) -> Vec<Case> {
    // Corpus cases with written expectations show current Go where the oracle cannot; complex
    // numbers are Go's but not the engine's (it refuses them), so the corpus alone covers them.
    let bases: Vec<&Case> = corpus
        .iter()
        .filter(|c| c.expect.is_none() && !has_imaginary_literal(&c.template))
        .collect();
    (0..count)
        .map(|i| {
            let case_seed = seed ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
            let mut rng = Rng::new(case_seed);
            let kind = rng.weighted(&[70, if bases.is_empty() { 0 } else { 15 }, 15]);
            let (template, data, missingkey, origin) = match kind {
                0 => {
                    let data = gen_data(&mut rng);
                    let mut template = TemplateGen::new(&mut rng).template();
                    if rng.chance(12) {
                        template = mutate(&mut rng, &template);
                    }
                    let missingkey = match rng.below(20) {
                        0..=2 => "zero",
                        3..=5 => "error",
                        _ => "default",
                    };
                    (
                        template,
                        data,
                        missingkey.to_string(),
                        "generated".to_string(),
                    )
                }
                1 => {
                    let base = *rng.pick(&bases);
                    let template = mutate(&mut rng, &base.template);
                    let origin = format!("{} mutated", base.id);
                    (template, base.data.clone(), base.missingkey.clone(), origin)
                }
                _ => (
                    token_soup(&mut rng),
                    gen_data(&mut rng),
                    "default".to_string(),
                    "token soup".to_string(),
                ),
            };
            Case {
                id: format!("random-{i}"),
                source: "random".to_string(),
                name: "r".to_string(),
                template,
                data,
                missingkey,
                expect: None,
                note: Some(format!("random case {i} of seed {seed:#x}: {origin}")),
            }
        })
        .collect()
}

/// Whether the text has something like `1i` or `2.5i` (a complex constant in an action).
fn has_imaginary_literal(text: &str) -> bool {
    let b = text.as_bytes();
    (1..b.len()).any(|i| {
        b[i] == b'i'
            && b[i - 1].is_ascii_digit()
            && !b
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    })
}

/// Actions made of random tokens.
fn token_soup(rng: &mut Rng) -> String {
    const SOUP: &[&str] = &[
        ".a", ".m.x", ".", "$", "$x", ":=", "=", "|", "(", ")", "1", "-1", "0x1F", "1.5", "1e3",
        "'a'", "\"s\"", "`r`", "if", "else", "end", "range", "with", "define", "template", "block",
        "break", "continue", "nil", "true", "print", "len", "index", "eq", ",", "-", "{{", "}}",
        "/*", "*/", "\n", "..", "#", "\u{e9}", "\t", "\"", "'", "`", "$.a", ".l", "printf",
        "\"%d\"", "and", "not", "slice", "$x :=",
    ];
    let mut s = String::new();
    for _ in 0..1 + rng.below(3) {
        if rng.chance(50) {
            s.push_str(rng.word(TEXTS));
        }
        s.push_str(if rng.chance(15) { "{{- " } else { "{{" });
        for j in 0..rng.below(7) {
            if j > 0 && rng.chance(70) {
                s.push(' ');
            }
            s.push_str(rng.word(SOUP));
        }
        if rng.chance(90) {
            s.push_str(if rng.chance(15) { " -}}" } else { "}}" });
        }
    }
    s
}

/// Keys the data uses and the templates ask for (some are missing from any given data).
const ROOT_KEYS: &[&str] = &["a", "b", "c", "l", "m", "n", "s", "t", "x", "y"];
const INNER_KEYS: &[&str] = &["a", "b", "k", "x", "y", "z"];
/// Numbers that JSON carries exactly (and print in every float format).
const NUMBERS: &[f64] = &[
    0.0,
    1.0,
    -1.0,
    2.0,
    3.0,
    0.5,
    -2.25,
    1.5,
    10.0,
    100.0,
    1e6,
    1e21,
    123_456_789.0,
    2.5e-7,
    42.0,
    7.0,
    0.1,
];
const STRINGS: &[&str] = &[
    "",
    "a",
    "b",
    "hello",
    "Hello, World",
    "x<y&z>",
    "a b",
    "h\u{e9}llo",
    "42",
    "true",
    "tab\there",
    "quote\"d",
    "new\nline",
    "{{x}}",
    "%d",
    "'",
    "=",
];

/// Data: usually a map whose keys mostly hold the kind of value their name suggests (so
/// templates get past their first field), sometimes anything at all.
fn gen_data(rng: &mut Rng) -> Json {
    if rng.chance(8) {
        return gen_value(rng, 1);
    }
    let mut map = serde_json::Map::new();
    for key in ROOT_KEYS {
        if !rng.chance(85) {
            continue;
        }
        let value = if rng.chance(25) {
            gen_value(rng, 0)
        } else {
            match *key {
                "a" => json!(*rng.pick(NUMBERS)),
                "b" | "s" => json!(rng.word(STRINGS)),
                "c" => Json::Bool(rng.chance(50)),
                "n" => Json::Null,
                "l" => Json::Array((0..rng.below(5)).map(|_| gen_scalar(rng)).collect()),
                "y" => Json::Array((0..rng.below(4)).map(|_| gen_map(rng, 1)).collect()),
                _ => gen_map(rng, 1),
            }
        };
        map.insert((*key).to_string(), value);
    }
    Json::Object(map)
}

fn gen_scalar(rng: &mut Rng) -> Json {
    match rng.weighted(&[6, 8, 40, 40]) {
        0 => Json::Null,
        1 => Json::Bool(rng.chance(50)),
        2 => json!(*rng.pick(NUMBERS)),
        _ => json!(rng.word(STRINGS)),
    }
}

fn gen_map(rng: &mut Rng, depth: usize) -> Json {
    let mut map = serde_json::Map::new();
    for key in INNER_KEYS {
        if rng.chance(60) {
            let value = match rng.below(10) {
                0..=5 => gen_scalar(rng),
                6..=8 if depth < 3 => gen_map(rng, depth + 1),
                _ => gen_value(rng, depth + 1),
            };
            map.insert((*key).to_string(), value);
        }
    }
    Json::Object(map)
}

fn gen_value(rng: &mut Rng, depth: usize) -> Json {
    let nested = if depth < 3 { 18 } else { 0 };
    match rng.weighted(&[6, 8, 22, 22, nested, nested]) {
        0 => Json::Null,
        1 => Json::Bool(rng.chance(50)),
        2 => json!(*rng.pick(NUMBERS)),
        3 => json!(rng.word(STRINGS)),
        4 => Json::Array(
            (0..rng.below(5))
                .map(|_| gen_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.below(5) {
                map.insert(
                    (rng.word(INNER_KEYS)).to_string(),
                    gen_value(rng, depth + 1),
                );
            }
            Json::Object(map)
        }
    }
}

const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "10",
    "0x1F",
    "0o17",
    "017",
    "0b101",
    "1_000",
    "42",
    "-7",
    "+3",
    "0X10",
    "'a'",
    "'\\n'",
    "'\\u00e9'",
];
const FLOATS: &[&str] = &[
    "0.5", "1.0", "1.5", "-2.25", "1e3", "2.5e-3", ".5", "1e6", "0x1p-2", "3.0", "0.0", "1e21",
];
const STRING_LITERALS: &[&str] = &[
    "\"\"",
    "\"a\"",
    "\"hello\"",
    "\"a b\"",
    "\"<&>\"",
    "\"tab\\there\"",
    "\"q\\\"uote\"",
    "\"\\u00e9\"",
    "`raw`",
    "`a\\nb`",
    "\"x\"",
    "\"42\"",
    "\"%d\"",
    "\"\\x41\"",
];
const FORMATS: &[&str] = &[
    "\"%v\"",
    "\"%d\"",
    "\"%s\"",
    "\"%q\"",
    "\"%x\"",
    "\"%T\"",
    "\"%t\"",
    "\"%5.2f|\"",
    "\"%-4s|\"",
    "\"%03d\"",
    "\"%e\"",
    "\"%g\"",
    "\"%%\"",
    "\"%+v\"",
    "\"%#v\"",
    "\"%v %v\"",
    "\"%[2]v %[1]v\"",
    "\"%c\"",
    "\"%U\"",
    "\"%6.2v|\"",
    "\"%!\"",
    "\"%X\"",
    "`%v-%v`",
    "\"%08.3f\"",
    "\"% x\"",
    "\"%.2s\"",
    "\"x\"",
];
const TEXTS: &[&str] = &[
    "", "x", " ", "\n", "  \n  ", "abc", "-", "}", "<b>", ":", "\t", "a\nb", "\u{e9}", "  ", ",",
];
const VAR_NAMES: &[&str] = &["$x", "$y", "$i", "$v", "$k"];

/// Functions and how many arguments they usually take (min, max).
const FUNCS: &[(&str, usize, usize)] = &[
    ("and", 1, 3),
    ("or", 1, 3),
    ("not", 1, 1),
    ("len", 1, 1),
    ("index", 1, 3),
    ("slice", 1, 4),
    ("print", 0, 3),
    ("printf", 1, 3),
    ("println", 0, 2),
    ("eq", 2, 3),
    ("ne", 2, 2),
    ("lt", 2, 2),
    ("le", 2, 2),
    ("gt", 2, 2),
    ("ge", 2, 2),
    ("html", 0, 2),
    ("js", 0, 2),
    ("urlquery", 0, 2),
];

/// Generates a template: mostly well-formed, with the variables in scope, the functions with
/// about the right arguments, and templates that never call themselves (Go stops at 100000
/// levels, far past a sensible stack).
struct TemplateGen<'r> {
    rng: &'r mut Rng,
    /// Variables in scope, innermost last; `$` is always there.
    vars: Vec<String>,
    /// Templates that may be called without recursion.
    callable: Vec<String>,
    range_depth: usize,
    /// Nodes left to generate, to keep templates small.
    budget: usize,
    defined: usize,
}

impl<'r> TemplateGen<'r> {
    fn new(rng: &'r mut Rng) -> TemplateGen<'r> {
        let budget = 4 + rng.below(14);
        TemplateGen {
            rng,
            vars: vec!["$".to_string()],
            callable: Vec::new(),
            range_depth: 0,
            budget,
            defined: 0,
        }
    }

    fn template(&mut self) -> String {
        let mut out = String::new();
        for _ in 0..self.rng.weighted(&[70, 20, 10]) {
            // {{define}}: its own variable scope, and it can call only earlier templates.
            let name = format!("d{}", self.defined);
            self.defined += 1;
            let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
            let body = self.list(1);
            self.vars = saved;
            let _ = write!(
                out,
                "{}define \"{name}\"{}{body}{}end{}",
                self.open(),
                self.close(),
                self.open(),
                self.close()
            );
            self.callable.push(name);
            if self.rng.chance(50) {
                out.push_str(self.rng.word(TEXTS));
            }
        }
        out.push_str(&self.list(0));
        out
    }

    /// `{{` or `{{- `, and maybe a space.
    fn open(&mut self) -> &'static str {
        match self.rng.below(10) {
            0 => "{{- ",
            1 => "{{ ",
            _ => "{{",
        }
    }

    fn close(&mut self) -> &'static str {
        match self.rng.below(10) {
            0 => " -}}",
            1 => " }}",
            _ => "}}",
        }
    }

    fn action(&mut self, inner: &str) -> String {
        format!("{}{inner}{}", self.open(), self.close())
    }

    fn list(&mut self, depth: usize) -> String {
        let scope = self.vars.len();
        let mut out = String::new();
        let n = 1 + self.rng.below(if depth == 0 { 5 } else { 3 });
        for _ in 0..n {
            if self.budget == 0 {
                break;
            }
            self.budget -= 1;
            out.push_str(&self.node(depth));
        }
        self.vars.truncate(scope);
        out
    }

    fn node(&mut self, depth: usize) -> String {
        let control = if depth < 3 { 8 } else { 0 };
        let loops = if self.range_depth > 0 { 4 } else { 0 };
        match self
            .rng
            .weighted(&[22, 30, 3, 7, 3, control, control, control, 4, 2, loops, 1])
        {
            0 => self.rng.word(TEXTS).to_string(),
            1 => {
                let pipe = self.pipeline(2);
                self.action(&pipe)
            }
            2 => {
                let c =
                    self.rng
                        .word(&["{{/* c */}}", "{{- /* c */ -}}", "{{/*\n*/}}", "{{/**/}}"]);
                c.to_string()
            }
            3 => {
                let pipe = self.pipeline(2);
                let var = self.rng.word(VAR_NAMES).to_string();
                let s = self.action(&format!("{var} := {pipe}"));
                self.vars.push(var);
                s
            }
            4 => {
                let var = self.rng.pick(&self.vars).clone();
                let pipe = self.pipeline(2);
                self.action(&format!("{var} = {pipe}"))
            }
            5 => self.if_node(depth),
            6 => self.range_node(depth),
            7 => self.with_node(depth),
            8 => {
                if self.callable.is_empty() && self.rng.chance(85) {
                    let pipe = self.pipeline(2);
                    return self.action(&pipe);
                }
                let name = if !self.callable.is_empty() && self.rng.chance(95) {
                    self.rng.pick(&self.callable).clone()
                } else {
                    "nope".to_string()
                };
                let arg = if self.rng.chance(70) {
                    format!(" {}", self.pipeline(1))
                } else {
                    String::new()
                };
                self.action(&format!("template \"{name}\"{arg}"))
            }
            9 => {
                // {{block}} defines its template where it stands; callable only afterwards.
                let name = format!("b{}", self.defined);
                self.defined += 1;
                let pipe = self.pipeline(1);
                // Its body is a template of its own: no variables but $, not in a range.
                let vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
                let ranges = std::mem::take(&mut self.range_depth);
                let body = self.list(depth + 1);
                self.vars = vars;
                self.range_depth = ranges;
                let open = self.action(&format!("block \"{name}\" {pipe}"));
                let end = self.action("end");
                self.callable.push(name);
                format!("{open}{body}{end}")
            }
            10 => {
                let word = if self.rng.chance(50) {
                    "break"
                } else {
                    "continue"
                };
                self.action(word)
            }
            _ => {
                // Rarely, break or continue where they are not allowed.
                if self.rng.chance(70) {
                    return self.rng.word(TEXTS).to_string();
                }
                let word = if self.rng.chance(50) {
                    "break"
                } else {
                    "continue"
                };
                self.action(word)
            }
        }
    }

    fn else_part(&mut self, depth: usize) -> String {
        if self.rng.chance(40) {
            let body = self.list(depth + 1);
            format!("{}{body}", self.action("else"))
        } else {
            String::new()
        }
    }

    fn if_node(&mut self, depth: usize) -> String {
        let scope = self.vars.len();
        let head = self.decl_pipeline();
        let mut s = self.action(&format!("if {head}"));
        s.push_str(&self.list(depth + 1));
        for _ in 0..self.rng.weighted(&[70, 20, 10]) {
            let cond = self.pipeline(2);
            s.push_str(&self.action(&format!("else if {cond}")));
            s.push_str(&self.list(depth + 1));
        }
        s.push_str(&self.else_part(depth));
        s.push_str(&self.action("end"));
        self.vars.truncate(scope);
        s
    }

    fn with_node(&mut self, depth: usize) -> String {
        let scope = self.vars.len();
        let head = self.decl_pipeline();
        let mut s = self.action(&format!("with {head}"));
        s.push_str(&self.list(depth + 1));
        s.push_str(&self.else_part(depth));
        s.push_str(&self.action("end"));
        self.vars.truncate(scope);
        s
    }

    fn range_node(&mut self, depth: usize) -> String {
        let scope = self.vars.len();
        let target = self.collection();
        let decl = match self.rng.below(4) {
            0 => {
                let (i, v) = ("$i".to_string(), "$v".to_string());
                let d = format!("{i}, {v} := ");
                self.vars.push(i);
                self.vars.push(v);
                d
            }
            1 => {
                self.vars.push("$v".to_string());
                "$v := ".to_string()
            }
            _ => String::new(),
        };
        let mut s = self.action(&format!("range {decl}{target}"));
        self.range_depth += 1;
        s.push_str(&self.list(depth + 1));
        self.range_depth -= 1;
        s.push_str(&self.else_part(depth));
        s.push_str(&self.action("end"));
        self.vars.truncate(scope);
        s
    }

    /// A pipeline for if/with, sometimes declaring a variable.
    fn decl_pipeline(&mut self) -> String {
        let pipe = self.pipeline(2);
        if self.rng.chance(15) {
            let var = self.rng.word(VAR_NAMES).to_string();
            let s = format!("{var} := {pipe}");
            self.vars.push(var);
            s
        } else {
            pipe
        }
    }

    /// Something worth ranging over (never an integer: Go 1.19 and current Go differ there).
    fn collection(&mut self) -> String {
        match self.rng.below(10) {
            0 => ".".to_string(),
            1 => "$".to_string(),
            2 => "(slice .l 1)".to_string(),
            3 => format!("(index . \"{}\")", self.rng.pick(ROOT_KEYS)),
            4..=6 => self
                .rng
                .word(&[".l", ".y", ".m", ".x", ".t", ".b"])
                .to_string(),
            _ => self.field(),
        }
    }

    fn field(&mut self) -> String {
        let depth = self.rng.weighted(&[50, 35, 15]);
        // Paths into maps mostly start at the keys that hold maps.
        let root = if depth > 0 && self.rng.chance(85) {
            self.rng.word(&["m", "t", "x"])
        } else {
            self.rng.word(ROOT_KEYS)
        };
        let mut s = format!(".{root}");
        for _ in 0..depth {
            s.push('.');
            s.push_str(self.rng.word(INNER_KEYS));
        }
        s
    }

    /// A number in 0..1000, for chances finer than a percent.
    fn next_percent(&mut self) -> u64 {
        self.rng.next() % 1000
    }

    fn variable(&mut self) -> String {
        let mut v = if self.next_percent() < 15 {
            "$undefined".to_string()
        } else {
            self.rng.pick(&self.vars).clone()
        };
        if self.rng.chance(30) {
            v.push('.');
            v.push_str(self.rng.word(INNER_KEYS));
        }
        v
    }

    fn literal(&mut self) -> String {
        match self.rng.weighted(&[25, 20, 30, 10, 4]) {
            0 => self.rng.word(INTS).to_string(),
            1 => self.rng.word(FLOATS).to_string(),
            2 => self.rng.word(STRING_LITERALS).to_string(),
            3 => self.rng.word(&["true", "false"]).to_string(),
            _ => "nil".to_string(),
        }
    }

    /// An operand: something that can stand as an argument.
    fn operand(&mut self, depth: usize) -> String {
        let nested = if depth > 0 { 12 } else { 0 };
        match self.rng.weighted(&[35, 8, 15, 25, nested, nested / 3]) {
            0 => self.field(),
            1 => ".".to_string(),
            2 => self.variable(),
            3 => self.literal(),
            4 => format!("({})", self.pipeline(depth - 1)),
            _ => format!(
                "({}).{}",
                self.pipeline(depth - 1),
                self.rng.pick(INNER_KEYS)
            ),
        }
    }

    /// An operand of one kind: 0 numbers (float64, as JSON's are), 1 strings, 2 ints.
    fn comparable(&mut self, class: usize, depth: usize) -> String {
        if self.rng.chance(10) {
            return self.operand(depth);
        }
        match class {
            0 => match self.rng.below(3) {
                0 => ".a".to_string(),
                _ => self.rng.word(FLOATS).to_string(),
            },
            1 => match self.rng.below(3) {
                0 => self.rng.word(&[".b", ".s"]).to_string(),
                _ => self.rng.word(STRING_LITERALS).to_string(),
            },
            _ => match self.rng.below(3) {
                0 => (self.rng.word(&["(len .l)", "(len .s)", "(len .)"])).to_string(),
                _ => self.rng.word(INTS).to_string(),
            },
        }
    }

    /// A function call with about the right number of arguments; `piped` when the pipeline
    /// supplies the last one.
    fn call(&mut self, depth: usize, piped: bool) -> String {
        let (name, min, max) = *self.rng.pick(FUNCS);
        let mut n = min + self.rng.below(max - min + 1);
        if self.rng.chance(6) {
            n = self.rng.below(4); // wrong argument counts too
        }
        if piped && n > 0 {
            n -= 1;
        }
        let class = self.rng.chance(75).then(|| self.rng.below(3));
        let mut s = name.to_string();
        for i in 0..n {
            s.push(' ');
            if name == "printf" && i == 0 && self.rng.chance(85) {
                s.push_str(self.rng.word(FORMATS));
            } else if matches!(name, "index" | "len") && i == 0 && self.rng.chance(70) {
                let c = self.collection();
                s.push_str(&c);
            } else if name == "slice" && i == 0 && self.rng.chance(80) {
                s.push_str(
                    self.rng
                        .word(&[".l", ".y", ".s", ".b", "(slice .l 1)", "$.l", "."]),
                );
            } else if matches!(name, "index" | "slice") && i > 0 && self.rng.chance(80) {
                let idx = if name == "index" && self.rng.chance(40) {
                    format!("\"{}\"", self.rng.pick(INNER_KEYS))
                } else {
                    self.rng.below(4).to_string()
                };
                s.push_str(&idx);
            } else if matches!(name, "eq" | "ne" | "lt" | "le" | "gt" | "ge")
                && let Some(class) = class
            {
                // Mostly operands of one kind, so comparisons get past their types.
                let arg = self.comparable(class, depth);
                s.push_str(&arg);
            } else {
                s.push_str(&self.operand(depth));
            }
        }
        s
    }

    fn pipeline(&mut self, depth: usize) -> String {
        let mut s = if self.rng.chance(45) {
            self.operand(depth)
        } else {
            self.call(depth, false)
        };
        for _ in 0..self.rng.weighted(&[75, 20, 5]) {
            s.push_str(" | ");
            if self.rng.chance(98) {
                s.push_str(&self.call(depth, true));
            } else {
                s.push_str(&self.operand(depth));
            }
        }
        s
    }
}

/// Breaks a template: truncation, a deleted character, or a stray token.
fn mutate(rng: &mut Rng, template: &str) -> String {
    const TOKENS: &[&str] = &[
        "{{",
        "}}",
        "(",
        ")",
        "|",
        "$",
        " ",
        "\"",
        "`",
        "'",
        ":=",
        "=",
        ",",
        ".",
        "{{end}}",
        "{{else}}",
        "{{if .a}}",
        "{{range .l}}",
        "{{break}}",
        "{{/*",
        "*/}}",
        "-",
        "nil",
        "$zz",
        "nofunc",
        "\n",
        "{{define \"d0\"}}",
        "0x",
        "1e",
        "#",
    ];
    let mut t = template.to_string();
    for _ in 0..1 + rng.below(2) {
        let cuts: Vec<usize> = t
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(t.len()))
            .collect();
        let at = *rng.pick(&cuts);
        match rng.below(3) {
            0 => t.truncate(at),
            1 => {
                if let Some(c) = t[at..].chars().next() {
                    t.replace_range(at..at + c.len_utf8(), "");
                }
            }
            _ => t.insert_str(at, rng.word(TOKENS)),
        }
    }
    t
}
