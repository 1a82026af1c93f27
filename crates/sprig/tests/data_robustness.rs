//! No input makes Sprig's math, date, encoding, hash and crypto functions panic: every
//! function runs on every combination of awkward arguments (nil, extremes, malformed
//! strings, layouts, lists, maps, times) and must answer with output or an error, as Go's
//! text/template answers a function's error or panic.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers: panicking is failing

use helmrelease_gotmpl::{MissingKey, Template, Value};
use serde_json::json;

/// Awkward argument values, as JSON (Helm values).
fn values() -> Vec<serde_json::Value> {
    vec![
        json!(null),
        json!(""),
        json!("x"),
        json!(-1),
        json!(0),
        json!(9.223_372_036_854_776e18),
        json!(-9.223_372_036_854_776e18),
        json!(1e308),
        json!(-0.5),
        json!("NaN"),
        json!("-9223372036854775808"),
        json!("0x7fffffffffffffff"),
        json!("2006-01-02T15:04:05.999999999Z07:00"),
        json!("__2 002 Jan _2 .000 ,999 -07:00:00 MST PM"),
        json!("2562047h47m16.854775807s"),
        json!("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"),
        json!("\u{0}\u{ff}é✓"),
        json!([1, "a", null]),
        json!({"Cert": "x", "Key": "y"}),
        json!(true),
    ]
}

/// Functions and the number of arguments to try them with (generators that make RSA keys
/// and `htpasswd`'s bcrypt are left out: each call takes long in a debug build).
const FUNCTIONS: &[(&str, &[usize])] = &[
    ("add", &[0, 1, 2]),
    ("add1", &[1]),
    ("sub", &[2]),
    ("div", &[2]),
    ("mod", &[2]),
    ("mul", &[1, 2]),
    ("max", &[1, 2]),
    ("min", &[1, 2]),
    ("floor", &[1]),
    ("ceil", &[1]),
    ("round", &[2, 3]),
    ("addf", &[1, 2]),
    ("add1f", &[1]),
    ("subf", &[2]),
    ("divf", &[2]),
    ("mulf", &[2]),
    ("maxf", &[2]),
    ("minf", &[2]),
    ("randInt", &[2]),
    ("date", &[2]),
    ("dateInZone", &[3]),
    ("htmlDate", &[1]),
    ("htmlDateInZone", &[2]),
    ("dateModify", &[2]),
    ("mustDateModify", &[2]),
    ("ago", &[1]),
    ("duration", &[1]),
    ("durationRound", &[1]),
    ("toDate", &[2]),
    ("mustToDate", &[2]),
    ("unixEpoch", &[1]),
    ("b64enc", &[1]),
    ("b64dec", &[1]),
    ("b32enc", &[1]),
    ("b32dec", &[1]),
    ("sha1sum", &[1]),
    ("sha256sum", &[1]),
    ("sha512sum", &[1]),
    ("adler32sum", &[1]),
    ("randAlphaNum", &[1]),
    ("randAlpha", &[1]),
    ("randNumeric", &[1]),
    ("randAscii", &[1]),
    ("randBytes", &[1]),
    ("uuidv4", &[0]),
    ("derivePassword", &[5]),
    ("encryptAES", &[2]),
    ("decryptAES", &[2]),
    ("buildCustomCert", &[2]),
    ("genCAWithKey", &[3]),
    ("genSelfSignedCertWithKey", &[5]),
    ("genSignedCertWithKey", &[6]),
    ("getHostByName", &[1]),
];

/// Literals and times the data cannot hold, tried in the first position.
const LITERALS: &[&str] = &[
    "(toDate \"2006\" \"2020\")",
    "(toDate \"2006\" \"x\")",
    "now",
    "-9223372036854775808",
    "9223372036854775807",
    "1.5",
];

#[test]
fn no_input_panics() {
    let vals = values();
    let mut runs = 0;
    for &(name, arities) in FUNCTIONS {
        for &arity in arities {
            // Each position is a data field .vI; a few templates also pass literals and
            // times in the first position.
            let args: Vec<String> = (0..arity).map(|i| format!(".v{i}")).collect();
            let mut texts = vec![format!("{{{{ {name} {} }}}}", args.join(" "))];
            if arity > 0 {
                for op in LITERALS {
                    let mut a = args.clone();
                    a[0] = op.to_string();
                    texts.push(format!("{{{{ {name} {} }}}}", a.join(" ")));
                }
            }
            for text in texts {
                let mut t = Template::new("t");
                t.funcs(&helmrelease_sprig::funcs());
                t.missing_key(MissingKey::Zero);
                t.parse(&text).expect("parses");
                // Every value in every position, the others held at a rotating value
                // (all combinations for up to two arguments).
                let combos: Vec<Vec<usize>> = match arity {
                    0 => vec![vec![]],
                    1 => (0..vals.len()).map(|a| vec![a]).collect(),
                    2 => (0..vals.len())
                        .flat_map(|a| (0..vals.len()).map(move |b| vec![a, b]))
                        .collect(),
                    n => (0..n)
                        .flat_map(|pos| {
                            (0..vals.len()).map(move |v| {
                                (0..n)
                                    .map(|i| if i == pos { v } else { (v + i) % 20 })
                                    .collect()
                            })
                        })
                        .collect(),
                };
                for combo in combos {
                    let mut data = serde_json::Map::new();
                    for (i, &v) in combo.iter().enumerate() {
                        data.insert(format!("v{i}"), vals[v].clone());
                    }
                    let data = Value::from_json(&serde_json::Value::Object(data));
                    let _ = t.execute(&data);
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 10_000, "{runs} runs");
}

#[test]
fn date_layouts_and_values_never_panic() {
    // Layout elements and value fragments, combined pairwise.
    let pieces = [
        "2006",
        "06",
        "01",
        "1",
        "Jan",
        "January",
        "02",
        "2",
        "_2",
        "__2",
        "002",
        "15",
        "3",
        "03",
        "4",
        "04",
        "5",
        "05",
        "PM",
        "pm",
        "MST",
        "Z0700",
        "Z07:00",
        "-07",
        "-070000",
        "Z07:00:00",
        ".000",
        ",999",
        ".9",
        "Mon",
        "Monday",
        " ",
        "-",
        "T",
        "GMT+3",
        "+14",
        "ChST",
        "99",
        "é",
        "",
        "9999999999",
    ];
    let mut t = Template::new("t");
    t.funcs(&helmrelease_sprig::funcs());
    t.parse("{{ toDate .l .v }}|{{ mustToDate .l .v }}|{{ date .l (toDate .l .v) }}")
        .expect("parses");
    let mut runs = 0;
    for a in pieces {
        for b in pieces {
            for (layout, value) in [(format!("{a}{b}"), format!("{b}{a}")), (a.into(), b.into())] {
                let data = Value::from_json(&json!({ "l": layout, "v": value }));
                let _ = t.execute(&data);
                runs += 1;
            }
        }
    }
    assert!(runs > 1000);
}
