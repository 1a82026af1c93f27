//! Sprig's date functions: `now`, `date`, `dateInZone`, `htmlDate`, `htmlDateInZone`,
//! `dateModify`, `mustDateModify`, `ago`, `duration`, `durationRound`, `toDate`,
//! `mustToDate`, `unixEpoch` (and their snake_case aliases).

use super::gotime::{self, GoTime, Loc};
use super::{def, str_arg};
use helmrelease_gotmpl::{Funcs, IntType, Signature, Type, Value};

/// Go's `time.Second` and friends, in nanoseconds.
const SECOND: u64 = 1_000_000_000;

pub(super) fn register(funcs: &mut Funcs) {
    def(
        funcs,
        "now",
        Signature::fixed(&[]),
        "func() time.Time",
        |_| Ok(GoTime::now().into_value()),
    );
    def(
        funcs,
        "date",
        Signature::fixed(&[Type::String, Type::Any]),
        "func(string, interface {}) string",
        |a| Ok(date_in_zone(str_arg(a, 0), &a[1], "Local")),
    );
    for name in ["dateInZone", "date_in_zone"] {
        def(
            funcs,
            name,
            Signature::fixed(&[Type::String, Type::Any, Type::String]),
            "func(string, interface {}, string) string",
            |a| Ok(date_in_zone(str_arg(a, 0), &a[1], str_arg(a, 2))),
        );
    }
    def(
        funcs,
        "htmlDate",
        Signature::fixed(&[Type::Any]),
        "func(interface {}) string",
        |a| Ok(date_in_zone("2006-01-02", &a[0], "Local")),
    );
    def(
        funcs,
        "htmlDateInZone",
        Signature::fixed(&[Type::Any, Type::String]),
        "func(interface {}, string) string",
        |a| Ok(date_in_zone("2006-01-02", &a[0], str_arg(a, 1))),
    );
    for name in ["dateModify", "date_modify"] {
        def(
            funcs,
            name,
            Signature::fixed(&[Type::String, Type::Any]),
            "func(string, time.Time) time.Time",
            |a| {
                let t = time_param(&a[1])?;
                // An unparsable duration leaves the date as it is.
                Ok(match gotime::parse_duration(str_arg(a, 0)) {
                    Ok(d) => t.add(d),
                    Err(_) => t,
                }
                .into_value())
            },
        );
    }
    for name in ["mustDateModify", "must_date_modify"] {
        def(
            funcs,
            name,
            Signature::fixed(&[Type::String, Type::Any]),
            "func(string, time.Time) (time.Time, error)",
            |a| {
                let t = time_param(&a[1])?;
                let d = gotime::parse_duration(str_arg(a, 0))?;
                Ok(t.add(d).into_value())
            },
        );
    }
    def(
        funcs,
        "ago",
        Signature::fixed(&[Type::Any]),
        "func(interface {}) string",
        |a| {
            let t = match &a[0] {
                Value::Int(i, IntType::Int | IntType::Int64) => GoTime::unix(*i),
                v => GoTime::from_value(v).unwrap_or_else(GoTime::now),
            };
            let d = gotime::duration_round(t.since(), SECOND as i64);
            Ok(Value::string(gotime::duration_string(d)))
        },
    );
    def(
        funcs,
        "duration",
        Signature::fixed(&[Type::Any]),
        "func(interface {}) string",
        |a| {
            let n = match &a[0] {
                Value::String(s) => parse_int10(s).unwrap_or(0),
                Value::Int(i, IntType::Int64) => *i,
                // Plain ints (template literals) and floats are not handled by Sprig: 0.
                _ => 0,
            };
            Ok(Value::string(gotime::duration_string(
                n.wrapping_mul(SECOND as i64),
            )))
        },
    );
    def(
        funcs,
        "durationRound",
        Signature::fixed(&[Type::Any]),
        "func(interface {}) string",
        |a| {
            let d = match &a[0] {
                Value::String(s) => gotime::parse_duration(s).unwrap_or(0),
                Value::Int(i, IntType::Int64) => *i,
                v => GoTime::from_value(v).map_or(0, |t| t.since()),
            };
            Ok(Value::string(duration_round_text(d)))
        },
    );
    def(
        funcs,
        "toDate",
        Signature::fixed(&[Type::String, Type::String]),
        "func(string, string) time.Time",
        |a| {
            let local = Loc::local();
            Ok(gotime::parse(str_arg(a, 0), str_arg(a, 1), &local, &local)
                .unwrap_or_else(|_| GoTime::zero())
                .into_value())
        },
    );
    def(
        funcs,
        "mustToDate",
        Signature::fixed(&[Type::String, Type::String]),
        "func(string, string) (time.Time, error)",
        |a| {
            let local = Loc::local();
            Ok(gotime::parse(str_arg(a, 0), str_arg(a, 1), &local, &local)?.into_value())
        },
    );
    def(
        funcs,
        "unixEpoch",
        Signature::fixed(&[Type::Any]),
        "func(time.Time) string",
        |a| Ok(Value::string(time_param(&a[0])?.sec.to_string())),
    );
}

/// A `time.Time` parameter. Go's executor rejects other types before the call; our
/// signature types have no `time.Time`, so the check happens here, with Go's wording.
fn time_param(v: &Value) -> Result<GoTime, String> {
    GoTime::from_value(v).ok_or_else(|| {
        let got = match v {
            Value::Nil => "interface {}".to_string(),
            v => v.type_name(),
        };
        format!("wrong type for value; expected time.Time; got {got}")
    })
}

/// Sprig's `dateInZone`: times as they are, integers as Unix seconds, anything else "now";
/// an unknown zone falls back to UTC.
fn date_in_zone(layout: &str, date: &Value, zone: &str) -> Value {
    let t = match date {
        Value::Int(i, IntType::Int | IntType::Int64 | IntType::Int32) => GoTime::unix(*i),
        v => GoTime::from_value(v).unwrap_or_else(GoTime::now),
    };
    let loc = gotime::load_location(zone).unwrap_or(Loc::Utc);
    Value::string(t.in_loc(loc).format(layout))
}

/// `strconv.ParseInt(s, 10, 64)`.
fn parse_int10(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Sprig's `durationRound`: the largest whole unit (years of 365 days, months of 30) a
/// duration strictly exceeds.
fn duration_round_text(d: i64) -> String {
    let u = d.unsigned_abs();
    let hour = 3600 * SECOND;
    let day = 24 * hour;
    let units = [
        (365 * day, "y"),
        (30 * day, "mo"),
        (day, "d"),
        (hour, "h"),
        (60 * SECOND, "m"),
        (SECOND, "s"),
    ];
    for (size, suffix) in units {
        if u > size {
            return format!("{}{suffix}", u / size);
        }
    }
    "0s".to_string()
}
