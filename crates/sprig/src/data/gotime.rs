//! Go's `time` package as Sprig's date functions see it: `time.Time` values (an instant, a
//! location and an optional monotonic reading) that print like Go's `Time.String`, layout
//! based formatting and parsing (`"2006-01-02T15:04:05Z07:00"`), and `time.Duration`'s
//! parsing and printing. Zones come from the system's time zone database through `jiff`,
//! as Go reads `/usr/share/zoneinfo`.
//!
//! Formatting and parsing follow Go's `time/format.go` step by step (Go 1.19, which the
//! oracle runs; later releases format identically).

use helmrelease_gotmpl::{Function, IntType, Object, Signature, Type, Value};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Nanoseconds per second.
const NANOS: i128 = 1_000_000_000;
/// Unix time of Go's zero `Time` (January 1, year 1, UTC).
const ZERO_TIME_UNIX: i64 = -62_135_596_800;
/// Unix time of 1885-01-01, the start of the range in which Go keeps monotonic readings.
const MONO_WALL_START: i64 = -2_682_288_000;
/// Go's type name for its times.
pub(crate) const TYPE_NAME: &str = "time.Time";
/// The field through which a [`GoTime`] object hands its state back to this module. It holds
/// a NUL, so no template can name it.
const STATE_FIELD: &str = "\0sprig.time";

/// A `*time.Location`.
#[derive(Clone)]
pub(crate) enum Loc {
    /// `time.UTC` (also the zero `Time`'s nil location).
    Utc,
    /// `time.Local`: the system zone.
    Local(TimeZone),
    /// A location loaded by name from the zone database.
    Zone(String, TimeZone),
    /// `time.FixedZone(name, offset)`, as parsing makes for unknown zones.
    Fixed(String, i32),
}

impl Loc {
    /// `time.Local`.
    pub(crate) fn local() -> Loc {
        Loc::Local(TimeZone::try_system().unwrap_or(TimeZone::UTC))
    }

    /// The zone abbreviation and offset (seconds east of UTC) in effect at `sec`.
    pub(crate) fn lookup(&self, sec: i64) -> (String, i32) {
        match self {
            Loc::Utc => ("UTC".to_string(), 0),
            Loc::Fixed(name, off) => (name.clone(), *off),
            Loc::Local(tz) | Loc::Zone(_, tz) => {
                let ts = clamp_timestamp(sec);
                let info = tz.to_offset_info(ts);
                (info.abbreviation().to_string(), info.offset().seconds())
            }
        }
    }

    /// Go's `lookupName`: the offset of a zone abbreviation this location uses, preferring
    /// the one in effect around `unix` (a wall time read as UTC).
    fn lookup_name(&self, name: &str, unix: i64) -> Option<i32> {
        match self {
            Loc::Utc => (name == "UTC").then_some(0),
            Loc::Fixed(n, off) => (n == name).then_some(*off),
            Loc::Local(tz) | Loc::Zone(_, tz) => {
                // First: a zone with that name whose offset puts `unix` inside it.
                for probe in [
                    unix,
                    unix.saturating_sub(86_400),
                    unix.saturating_add(86_400),
                ] {
                    let (abbr, off) = self.lookup(probe);
                    if abbr == name {
                        let (abbr2, off2) = self.lookup(unix.saturating_sub(i64::from(off)));
                        if abbr2 == name && off2 == off {
                            return Some(off);
                        }
                    }
                }
                // Then any zone of the location with that name.
                let ts = clamp_timestamp(unix);
                tz.preceding(ts)
                    .take(2000)
                    .chain(tz.following(ts).take(2000))
                    .find(|t| t.abbreviation() == name)
                    .map(|t| t.offset().seconds())
            }
        }
    }

    fn encode(&self) -> String {
        match self {
            Loc::Utc => "U".to_string(),
            Loc::Local(_) => "L".to_string(),
            Loc::Zone(name, _) => format!("Z{name}"),
            Loc::Fixed(name, off) => format!("F{off}\u{1}{name}"),
        }
    }

    fn decode(s: &str) -> Option<Loc> {
        let (kind, rest) = s.split_at_checked(1)?;
        Some(match kind {
            "U" => Loc::Utc,
            "L" => Loc::local(),
            "Z" => load_location(rest)?,
            "F" => {
                let (off, name) = rest.split_once('\u{1}')?;
                Loc::Fixed(name.to_string(), off.parse().ok()?)
            }
            _ => return None,
        })
    }
}

fn clamp_timestamp(sec: i64) -> Timestamp {
    let sec = sec.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    Timestamp::from_second(sec).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `time.LoadLocation`: `""` and `"UTC"` are UTC, `"Local"` the system zone, anything else
/// a zone database name (matched case-sensitively, as Go's file lookup is).
pub(crate) fn load_location(name: &str) -> Option<Loc> {
    match name {
        "" | "UTC" => return Some(Loc::Utc),
        "Local" => return Some(Loc::local()),
        _ => {}
    }
    if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
        return None;
    }
    let tz = TimeZone::get(name).ok()?;
    // jiff matches names case-insensitively; Go's zoneinfo file lookup does not.
    if tz.iana_name().is_some_and(|n| n != name) {
        return None;
    }
    Some(Loc::Zone(name.to_string(), tz))
}

/// A Go `time.Time`.
#[derive(Clone)]
pub(crate) struct GoTime {
    /// Seconds since the Unix epoch.
    pub(crate) sec: i64,
    /// Nanoseconds within the second, 0..1e9.
    pub(crate) nsec: u32,
    pub(crate) loc: Loc,
    /// Monotonic clock reading in nanoseconds (only `time.Now` has one).
    pub(crate) mono: Option<i64>,
}

/// The process's monotonic clock origin, as Go's runtime keeps one.
fn mono_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl GoTime {
    /// `time.Now()`: local time with a monotonic reading.
    pub(crate) fn now() -> GoTime {
        let origin = mono_origin();
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| (d.as_secs() as i64, d.subsec_nanos()))
            .unwrap_or((0, 0));
        let mono = i64::try_from(origin.elapsed().as_nanos()).unwrap_or(i64::MAX);
        GoTime {
            sec: since.0,
            nsec: since.1,
            loc: Loc::local(),
            // Go's readings start just above zero.
            mono: Some(mono.saturating_add(1)),
        }
    }

    /// `time.Unix(sec, 0)`: in the local zone.
    pub(crate) fn unix(sec: i64) -> GoTime {
        GoTime {
            sec,
            nsec: 0,
            loc: Loc::local(),
            mono: None,
        }
    }

    /// The zero `time.Time`.
    pub(crate) fn zero() -> GoTime {
        GoTime {
            sec: ZERO_TIME_UNIX,
            nsec: 0,
            loc: Loc::Utc,
            mono: None,
        }
    }

    /// `t.In(loc)` (drops the monotonic reading, as Go does).
    pub(crate) fn in_loc(&self, loc: Loc) -> GoTime {
        GoTime {
            loc,
            mono: None,
            ..self.clone()
        }
    }

    fn total_nanos(&self) -> i128 {
        i128::from(self.sec) * NANOS + i128::from(self.nsec)
    }

    /// `t.Add(d)`.
    pub(crate) fn add(&self, d: i64) -> GoTime {
        let total = self.total_nanos() + i128::from(d);
        let sec = total.div_euclid(NANOS);
        let mut t = GoTime {
            sec: i64::try_from(sec).unwrap_or(if sec < 0 { i64::MIN } else { i64::MAX }),
            nsec: total.rem_euclid(NANOS) as u32,
            loc: self.loc.clone(),
            mono: None,
        };
        // Go keeps the monotonic reading while the wall time stays in its compact range.
        if let Some(m) = self.mono
            && (MONO_WALL_START..MONO_WALL_START + (1 << 33)).contains(&t.sec)
        {
            t.mono = m.checked_add(d);
        }
        t
    }

    /// `t.Sub(u)`, saturating at the limits of `time.Duration`.
    pub(crate) fn sub(&self, u: &GoTime) -> i64 {
        if let (Some(a), Some(b)) = (self.mono, u.mono) {
            return a.saturating_sub(b);
        }
        let d = self.total_nanos() - u.total_nanos();
        i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
    }

    /// `time.Since(t)`.
    pub(crate) fn since(&self) -> i64 {
        GoTime::now().sub(self)
    }

    /// `t.Format(layout)`.
    pub(crate) fn format(&self, layout: &str) -> String {
        let (name, offset) = self.loc.lookup(self.sec);
        let local = i128::from(self.sec) + i128::from(offset);
        let days = local.div_euclid(86_400);
        let secs_of_day = local.rem_euclid(86_400) as i64;
        let mut out = String::with_capacity(layout.len() + 10);
        let mut date: Option<(i64, u32, u32, u32)> = None;
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, std, suffix) = next_std_chunk(rest);
            out.push_str(prefix);
            let Some(std) = std else { break };
            rest = suffix;
            let (year, month, day, yday) = *date.get_or_insert_with(|| civil_from_days(days));
            let hour = secs_of_day / 3600;
            let min = secs_of_day / 60 % 60;
            let sec = secs_of_day % 60;
            match std {
                Std::Year => append_int(&mut out, year.abs() % 100, 2),
                Std::LongYear => append_int(&mut out, year, 4),
                Std::Month => out.push_str(&MONTHS[month as usize - 1][..3]),
                Std::LongMonth => out.push_str(MONTHS[month as usize - 1]),
                Std::NumMonth => append_int(&mut out, i64::from(month), 0),
                Std::ZeroMonth => append_int(&mut out, i64::from(month), 2),
                Std::WeekDay => out.push_str(&DAYS[weekday(days)][..3]),
                Std::LongWeekDay => out.push_str(DAYS[weekday(days)]),
                Std::Day => append_int(&mut out, i64::from(day), 0),
                Std::UnderDay => {
                    if day < 10 {
                        out.push(' ');
                    }
                    append_int(&mut out, i64::from(day), 0);
                }
                Std::ZeroDay => append_int(&mut out, i64::from(day), 2),
                Std::UnderYearDay => {
                    if yday < 100 {
                        out.push(' ');
                        if yday < 10 {
                            out.push(' ');
                        }
                    }
                    append_int(&mut out, i64::from(yday), 0);
                }
                Std::ZeroYearDay => append_int(&mut out, i64::from(yday), 3),
                Std::Hour => append_int(&mut out, hour, 2),
                Std::Hour12 | Std::ZeroHour12 => {
                    let hr = if hour % 12 == 0 { 12 } else { hour % 12 };
                    append_int(&mut out, hr, if std == Std::Hour12 { 0 } else { 2 });
                }
                Std::Minute => append_int(&mut out, min, 0),
                Std::ZeroMinute => append_int(&mut out, min, 2),
                Std::Second => append_int(&mut out, sec, 0),
                Std::ZeroSecond => append_int(&mut out, sec, 2),
                Std::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
                Std::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
                Std::Tz(tz) => format_offset(&mut out, tz, offset),
                Std::ZoneName => {
                    if name.is_empty() {
                        let zone = offset / 60;
                        out.push(if zone < 0 { '-' } else { '+' });
                        append_int(&mut out, i64::from(zone.abs() / 60), 2);
                        append_int(&mut out, i64::from(zone.abs() % 60), 2);
                    } else {
                        out.push_str(&name);
                    }
                }
                Std::Frac { digits, trim, sep } => {
                    format_nano(&mut out, self.nsec, digits, trim, sep);
                }
            }
        }
        out
    }

    /// `t.String()`: the date with nanoseconds, offset and zone name, and the monotonic
    /// reading when there is one.
    pub(crate) fn string(&self) -> String {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.mono {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            let (m1, m2) = (m / 1_000_000_000, m % 1_000_000_000);
            let (m0, m1) = (m1 / 1_000_000_000, m1 % 1_000_000_000);
            s.push_str(" m=");
            s.push(sign);
            let mut width = 0;
            if m0 != 0 {
                s.push_str(&m0.to_string());
                width = 9;
            }
            s.push_str(&format!("{m1:0width$}.{m2:09}"));
        }
        s
    }

    /// The (year, month, day, day of year) of the wall clock, and the seconds of its day.
    fn civil(&self) -> ((i64, u32, u32, u32), i64, i128) {
        let (_, offset) = self.loc.lookup(self.sec);
        let local = i128::from(self.sec) + i128::from(offset);
        let days = local.div_euclid(86_400);
        (civil_from_days(days), local.rem_euclid(86_400) as i64, days)
    }

    /// The value templates see.
    pub(crate) fn into_value(self) -> Value {
        Value::Object(Rc::new(self))
    }

    /// A `time.Time` argument, when `v` is one.
    pub(crate) fn from_value(v: &Value) -> Option<GoTime> {
        let Value::Object(o) = v else { return None };
        if o.type_name() != TYPE_NAME {
            return None;
        }
        let Some(Value::String(state)) = o.field(STATE_FIELD) else {
            return None;
        };
        GoTime::decode(&state)
    }

    fn encode(&self) -> String {
        let mono = self.mono.map_or("-".to_string(), |m| m.to_string());
        format!("{} {} {} {}", self.sec, self.nsec, mono, self.loc.encode())
    }

    fn decode(s: &str) -> Option<GoTime> {
        let mut parts = s.splitn(4, ' ');
        let sec = parts.next()?.parse().ok()?;
        let nsec = parts.next()?.parse().ok()?;
        let mono = match parts.next()? {
            "-" => None,
            m => Some(m.parse().ok()?),
        };
        let loc = Loc::decode(parts.next()?)?;
        Some(GoTime {
            sec,
            nsec,
            loc,
            mono,
        })
    }
}

impl std::fmt::Debug for GoTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.string())
    }
}

impl Object for GoTime {
    fn type_name(&self) -> String {
        TYPE_NAME.to_string()
    }

    fn field(&self, name: &str) -> Option<Value> {
        (name == STATE_FIELD).then(|| Value::string(self.encode()))
    }

    fn method(&self, name: &str) -> Option<Rc<dyn Function>> {
        let method = METHODS.iter().find(|m| m.0 == name)?;
        Some(Rc::new(TimeMethod {
            t: self.clone(),
            method: method.0,
        }))
    }

    fn format(&self) -> String {
        self.string()
    }

    /// `time.Time.MarshalJSON`: RFC 3339 with nanoseconds, trailing zeros trimmed.
    fn json_form(&self) -> Option<helmrelease_gotmpl::JsonForm> {
        Some(helmrelease_gotmpl::JsonForm::Value(Value::string(
            self.format("2006-01-02T15:04:05.999999999Z07:00"),
        )))
    }
}

/// The `time.Time` methods templates can call: name, parameters, Go type.
const METHODS: &[(&str, &[Type], &str)] = &[
    ("Format", &[Type::String], "func(string) string"),
    ("String", &[], "func() string"),
    ("Unix", &[], "func() int64"),
    ("UnixMilli", &[], "func() int64"),
    ("UnixMicro", &[], "func() int64"),
    ("UnixNano", &[], "func() int64"),
    ("Year", &[], "func() int"),
    ("YearDay", &[], "func() int"),
    ("Day", &[], "func() int"),
    ("Hour", &[], "func() int"),
    ("Minute", &[], "func() int"),
    ("Second", &[], "func() int"),
    ("Nanosecond", &[], "func() int"),
    ("IsZero", &[], "func() bool"),
    ("UTC", &[], "func() time.Time"),
    ("Local", &[], "func() time.Time"),
    ("Add", &[Type::Int64], "func(time.Duration) time.Time"),
    (
        "AddDate",
        &[Type::Int, Type::Int, Type::Int],
        "func(int, int, int) time.Time",
    ),
    ("Before", &[Type::Any], "func(time.Time) bool"),
    ("After", &[Type::Any], "func(time.Time) bool"),
    ("Equal", &[Type::Any], "func(time.Time) bool"),
];

/// A method bound to a time.
struct TimeMethod {
    t: GoTime,
    method: &'static str,
}

impl Function for TimeMethod {
    fn call(&self, args: &[Value]) -> Result<Value, String> {
        let t = &self.t;
        let int = |i: i64| Value::int(i);
        let int64 = |i: i128| {
            Value::Int(
                i64::try_from(i).unwrap_or(if i < 0 { i64::MIN } else { i64::MAX }),
                IntType::Int64,
            )
        };
        let ((year, _, day, yday), secs, _) = t.civil();
        let other = || {
            args.first()
                .and_then(GoTime::from_value)
                .ok_or_else(|| "wrong type for value; expected time.Time".to_string())
        };
        Ok(match self.method {
            "Format" => Value::string(t.format(match args.first() {
                Some(Value::String(s)) => s,
                _ => "",
            })),
            "String" => Value::string(t.string()),
            "Unix" => int64(i128::from(t.sec)),
            "UnixMilli" => int64(t.total_nanos().div_euclid(1_000_000)),
            "UnixMicro" => int64(t.total_nanos().div_euclid(1_000)),
            // Go's UnixNano wraps outside its range; the year 1678..2262 span is what matters.
            "UnixNano" => int64(t.total_nanos()),
            "Year" => int(year),
            "YearDay" => int(i64::from(yday)),
            "Day" => int(i64::from(day)),
            "Hour" => int(secs / 3600),
            "Minute" => int(secs / 60 % 60),
            "Second" => int(secs % 60),
            "Nanosecond" => int(i64::from(t.nsec)),
            "IsZero" => Value::Bool(t.sec == ZERO_TIME_UNIX && t.nsec == 0),
            "UTC" => t.in_loc(Loc::Utc).into_value(),
            "Local" => t.in_loc(Loc::local()).into_value(),
            "Add" => t.add(int_of(args.first())).into_value(),
            "AddDate" => {
                let ((y, m, d, _), secs, _) = t.civil();
                let y = y.saturating_add(int_of(args.first()));
                let m = i64::from(m).saturating_add(int_of(args.get(1)));
                let d = i64::from(d).saturating_add(int_of(args.get(2)));
                date(
                    y,
                    m,
                    d,
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60,
                    t.nsec,
                    t.loc.clone(),
                )
                .into_value()
            }
            "Before" => Value::Bool(t.total_nanos() < other()?.total_nanos()),
            "After" => Value::Bool(t.total_nanos() > other()?.total_nanos()),
            "Equal" => Value::Bool(t.total_nanos() == other()?.total_nanos()),
            _ => Value::Nil,
        })
    }

    fn signature(&self) -> Signature {
        let params = METHODS
            .iter()
            .find(|m| m.0 == self.method)
            .map_or(&[][..], |m| m.1);
        Signature::fixed(params)
    }

    fn type_name(&self) -> String {
        METHODS
            .iter()
            .find(|m| m.0 == self.method)
            .map_or("func()", |m| m.2)
            .to_string()
    }
}

fn int_of(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Int(i, _)) => *i,
        _ => 0,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Days before each month in a non-leap year (Go's `daysBefore`).
const DAYS_BEFORE: [u32; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in(month: u32, year: i64) -> u32 {
    if month == 2 && is_leap(year) {
        return 29;
    }
    DAYS_BEFORE[month as usize] - DAYS_BEFORE[month as usize - 1]
}

/// Weekday (0 = Sunday) of a day counted from 1970-01-01, a Thursday.
fn weekday(days: i128) -> usize {
    (days + 4).rem_euclid(7) as usize
}

/// Proleptic Gregorian (year, month, day, day of year) of a day counted from 1970-01-01.
fn civil_from_days(days: i128) -> (i64, u32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = if m <= 2 { y + 1 } else { y };
    let year = i64::try_from(year).unwrap_or(i64::MAX);
    let yday = DAYS_BEFORE[m as usize - 1] + d + u32::from(m > 2 && is_leap(year));
    (year, m, d, yday)
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (month 1..12, any day).
fn days_from_civil(year: i128, month: u32, day: i128) -> i128 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i128::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + day - 1
}

/// `time.Date(year, month, day, hour, min, sec, nsec, loc)`, normalizing out-of-range
/// fields as Go does.
#[allow(clippy::too_many_arguments)]
pub(crate) fn date(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: u32,
    loc: Loc,
) -> GoTime {
    // Normalize the month into 1..12, carrying into the year.
    let m0 = i128::from(month) - 1;
    let year = i128::from(year) + m0.div_euclid(12);
    let month = (m0.rem_euclid(12) + 1) as u32;
    let days = days_from_civil(year, month, i128::from(day));
    let wall = days * 86_400 + i128::from(hour) * 3600 + i128::from(min) * 60 + i128::from(sec);
    let wall = i64::try_from(wall).unwrap_or(if wall < 0 { i64::MIN } else { i64::MAX });
    // Go looks up the offset at the wall time read as UTC, then again at the corrected
    // instant.
    let (_, off1) = loc.lookup(wall);
    let (_, off) = loc.lookup(wall.saturating_sub(i64::from(off1)));
    GoTime {
        sec: wall.saturating_sub(i64::from(off)),
        nsec,
        loc,
        mono: None,
    }
}

/// Go's `appendInt`: decimal, zero-padded to `width` digits, sign first.
fn append_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", x.unsigned_abs()));
}

fn format_nano(out: &mut String, nsec: u32, digits: usize, trim: bool, sep: char) {
    let all = format!("{nsec:09}");
    let mut n = digits.min(9);
    if trim {
        while n > 0 && all.as_bytes()[n - 1] == b'0' {
            n -= 1;
        }
        if n == 0 {
            return;
        }
    }
    out.push(sep);
    out.push_str(&all[..n]);
}

/// The numeric zone forms.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TzForm {
    /// `Z0700`, `Z07:00`, `Z070000`, `Z07`, `Z07:00:00`: `Z` for UTC.
    Iso {
        colon: bool,
        seconds: bool,
        short: bool,
    },
    /// `-0700`, `-07:00`, `-070000`, `-07`, `-07:00:00`.
    Num {
        colon: bool,
        seconds: bool,
        short: bool,
    },
}

fn format_offset(out: &mut String, form: TzForm, offset: i32) {
    let (iso, colon, seconds, short) = match form {
        TzForm::Iso {
            colon,
            seconds,
            short,
        } => (true, colon, seconds, short),
        TzForm::Num {
            colon,
            seconds,
            short,
        } => (false, colon, seconds, short),
    };
    if iso && offset == 0 {
        out.push('Z');
        return;
    }
    let zone = offset / 60;
    out.push(if zone < 0 { '-' } else { '+' });
    let (zone, abs) = (zone.abs(), offset.abs());
    append_int(out, i64::from(zone / 60), 2);
    if colon {
        out.push(':');
    }
    if !short {
        append_int(out, i64::from(zone % 60), 2);
    }
    if seconds {
        if colon {
            out.push(':');
        }
        append_int(out, i64::from(abs % 60), 2);
    }
}

/// One layout element (Go's `std*` constants).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    ZoneName,
    Tz(TzForm),
    /// `.000` (`trim` false) or `.999` (`trim` true), with `,` or `.` before.
    Frac {
        digits: usize,
        trim: bool,
        sep: char,
    },
}

/// Go's `nextStdChunk`: the text before the first layout element, the element, the rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| b.len() >= i + s.len() && &b[i..i + s.len()] == s.as_bytes();
    let lower_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_lowercase);
    for i in 0..b.len() {
        let hit = |std: Std, len: usize| Some((&layout[..i], Some(std), &layout[i + len..]));
        let found = match b[i] {
            b'J' if at(i, "Jan") => {
                if at(i, "January") {
                    hit(Std::LongMonth, 7)
                } else if !lower_at(i + 3) {
                    hit(Std::Month, 3)
                } else {
                    None
                }
            }
            b'M' if b.len() >= i + 3 => {
                if at(i, "Mon") {
                    if at(i, "Monday") {
                        hit(Std::LongWeekDay, 6)
                    } else if !lower_at(i + 3) {
                        hit(Std::WeekDay, 3)
                    } else {
                        None
                    }
                } else if at(i, "MST") {
                    hit(Std::ZoneName, 3)
                } else {
                    None
                }
            }
            b'0' => {
                if b.len() >= i + 2 && (b'1'..=b'6').contains(&b[i + 1]) {
                    let std = [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ][usize::from(b[i + 1] - b'1')];
                    hit(std, 2)
                } else if at(i, "002") {
                    hit(Std::ZeroYearDay, 3)
                } else {
                    None
                }
            }
            b'1' => {
                if b.get(i + 1) == Some(&b'5') {
                    hit(Std::Hour, 2)
                } else {
                    hit(Std::NumMonth, 1)
                }
            }
            b'2' => {
                if at(i, "2006") {
                    hit(Std::LongYear, 4)
                } else {
                    hit(Std::Day, 1)
                }
            }
            b'_' => {
                if b.get(i + 1) == Some(&b'2') {
                    if at(i + 1, "2006") {
                        // "_2006" is a literal underscore, then the year.
                        return (&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]);
                    }
                    hit(Std::UnderDay, 2)
                } else if at(i, "__2") {
                    hit(Std::UnderYearDay, 3)
                } else {
                    None
                }
            }
            b'3' => hit(Std::Hour12, 1),
            b'4' => hit(Std::Minute, 1),
            b'5' => hit(Std::Second, 1),
            b'P' if b.get(i + 1) == Some(&b'M') => hit(Std::PM, 2),
            b'p' if b.get(i + 1) == Some(&b'm') => hit(Std::Pm, 2),
            b'-' | b'Z' => {
                let iso = b[i] == b'Z';
                let make = |colon, seconds, short| {
                    if iso {
                        TzForm::Iso {
                            colon,
                            seconds,
                            short,
                        }
                    } else {
                        TzForm::Num {
                            colon,
                            seconds,
                            short,
                        }
                    }
                };
                let c = b[i] as char;
                if at(i, &format!("{c}070000")) {
                    hit(Std::Tz(make(false, true, false)), 7)
                } else if at(i, &format!("{c}07:00:00")) {
                    hit(Std::Tz(make(true, true, false)), 9)
                } else if at(i, &format!("{c}0700")) {
                    hit(Std::Tz(make(false, false, false)), 5)
                } else if at(i, &format!("{c}07:00")) {
                    hit(Std::Tz(make(true, false, false)), 6)
                } else if at(i, &format!("{c}07")) {
                    hit(Std::Tz(make(false, false, true)), 3)
                } else {
                    None
                }
            }
            b'.' | b',' if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                // Only a run not followed by another digit is a fractional second.
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    hit(
                        Std::Frac {
                            digits: j - (i + 1),
                            trim: ch == b'9',
                            sep: b[i] as char,
                        },
                        j - i,
                    )
                }
            }
            _ => None,
        };
        if let Some(found) = found {
            return found;
        }
    }
    (layout, None, "")
}

/// The `quote` of Go's time package: bytes outside printable ASCII as `\x` escapes.
fn quote(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for &c in s {
        if !(b' '..0x80).contains(&c) {
            out.push_str(&format!("\\x{c:02x}"));
        } else {
            if c == b'"' || c == b'\\' {
                out.push('\\');
            }
            out.push(c as char);
        }
    }
    out.push('"');
    out
}

fn is_digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// `getnum`: one or two digits (exactly two when `fixed`).
fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    if !is_digit(s, 0) {
        return None;
    }
    if !is_digit(s, 1) {
        if fixed {
            return None;
        }
        return Some((i64::from(s[0] - b'0'), &s[1..]));
    }
    Some((
        i64::from(s[0] - b'0') * 10 + i64::from(s[1] - b'0'),
        &s[2..],
    ))
}

/// `getnum3`: one to three digits (exactly three when `fixed`).
fn getnum3(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let mut n = 0;
    let mut i = 0;
    while i < 3 && is_digit(s, i) {
        n = n * 10 + i64::from(s[i] - b'0');
        i += 1;
    }
    if i == 0 || fixed && i != 3 {
        return None;
    }
    Some((n, &s[i..]))
}

/// `leadingInt`: the leading digits, `None` on overflow past 2^63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > 1 << 63 {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// time's `atoi`: an optionally signed decimal, all of `s`.
fn atoi(s: &[u8]) -> Option<i64> {
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (q, rem) = leading_int(s)?;
    if !rem.is_empty() {
        return None;
    }
    let x = q as i64;
    Some(if neg { x.wrapping_neg() } else { x })
}

/// `skip`: consumes `prefix` from `value`, runs of spaces matching runs of spaces.
fn skip<'v>(mut value: &'v [u8], mut prefix: &[u8]) -> Result<&'v [u8], &'v [u8]> {
    while let Some(&p) = prefix.first() {
        if p == b' ' {
            if value.first().is_some_and(|&c| c != b' ') {
                return Err(value);
            }
            while prefix.first() == Some(&b' ') {
                prefix = &prefix[1..];
            }
            while value.first() == Some(&b' ') {
                value = &value[1..];
            }
            continue;
        }
        if value.first() != Some(&p) {
            return Err(value);
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Ok(value)
}

/// `lookup`: a case-insensitive prefix match against a name table.
fn lookup_name<'v>(
    table: &[&str],
    value: &'v [u8],
    len: Option<usize>,
) -> Option<(usize, &'v [u8])> {
    for (i, name) in table.iter().enumerate() {
        let name = match len {
            Some(n) => &name[..n],
            None => name,
        };
        let n = name.len();
        if value.len() >= n && value[..n].eq_ignore_ascii_case(name.as_bytes()) {
            return Some((i, &value[n..]));
        }
    }
    None
}

/// `parseTimeZone`: the length of a zone abbreviation at the start of `value`.
fn parse_time_zone(value: &[u8]) -> Option<usize> {
    if value.len() < 3 {
        return None;
    }
    if value.len() >= 4 && (&value[..4] == b"ChST" || &value[..4] == b"MeST") {
        return Some(4);
    }
    if &value[..3] == b"GMT" {
        return Some(3 + parse_signed_offset(&value[3..]));
    }
    if value[0] == b'+' || value[0] == b'-' {
        let n = parse_signed_offset(value);
        return (n > 0).then_some(n);
    }
    let upper = value
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        5 if value[4] == b'T' => Some(5),
        4 if value[3] == b'T' || &value[..4] == b"WITA" => Some(4),
        3 => Some(3),
        _ => None,
    }
}

/// `parseSignedOffset`: a sign and an hour offset up to 23; its length, or 0.
fn parse_signed_offset(value: &[u8]) -> usize {
    match value.first() {
        Some(b'+' | b'-') => {}
        _ => return 0,
    }
    match leading_int(&value[1..]) {
        Some((x, rem)) if rem.len() != value.len() - 1 && x <= 23 => value.len() - rem.len(),
        _ => 0,
    }
}

/// `parseNanoseconds`: a separator and up to nine digits (more are dropped).
fn parse_nanoseconds(value: &[u8], nbytes: usize) -> Result<u32, bool> {
    if !matches!(value.first(), Some(b'.' | b',')) {
        return Err(false);
    }
    let nbytes = nbytes.min(10);
    let ns = atoi(&value[1..nbytes]).ok_or(false)?;
    if ns < 0 {
        // "fractional second out of range"
        return Err(true);
    }
    let mut ns = ns;
    for _ in 0..10 - nbytes {
        ns *= 10;
    }
    Ok(ns as u32)
}

/// Go's `parse(layout, value, defaultLocation, local)`; the error is Go's `ParseError`
/// text.
pub(crate) fn parse(
    layout: &str,
    value: &str,
    default_loc: &Loc,
    local: &Loc,
) -> Result<GoTime, String> {
    let (alayout, avalue) = (layout.as_bytes(), value.as_bytes());
    let perr = |elem: &[u8], val: &[u8], msg: &str| {
        if msg.is_empty() {
            format!(
                "parsing time {} as {}: cannot parse {} as {}",
                quote(avalue),
                quote(alayout),
                quote(val),
                quote(elem)
            )
        } else {
            format!("parsing time {}{msg}", quote(avalue))
        }
    };
    let mut layout = layout;
    let mut value: &[u8] = avalue;
    let (mut am, mut pm) = (false, false);
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0u32);
    let mut utc = false;
    let mut zone_offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    loop {
        let (prefix, std, suffix) = next_std_chunk(layout);
        let stdstr = &layout.as_bytes()[prefix.len()..layout.len() - suffix.len()];
        value = match skip(value, prefix.as_bytes()) {
            Ok(v) => v,
            Err(v) => return Err(perr(prefix.as_bytes(), v, "")),
        };
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(perr(b"", value, &format!(": extra text: {}", quote(value))));
            }
            break;
        };
        layout = suffix;
        let mut range_err = "";
        // `None`: a syntax error at `hold`.
        let ok: Option<()> = (|| {
            match std {
                Std::Year => {
                    if value.len() < 2 {
                        return None;
                    }
                    let y = atoi(&value[..2])?;
                    value = &value[2..];
                    year = if y >= 69 { y + 1900 } else { y + 2000 };
                }
                Std::LongYear => {
                    if value.len() < 4 || !is_digit(value, 0) {
                        return None;
                    }
                    let p = &value[..4];
                    value = &value[4..];
                    year = atoi(p)?;
                }
                Std::Month | Std::LongMonth => {
                    let len = (std == Std::Month).then_some(3);
                    let (m, rest) = lookup_name(&MONTHS, value, len)?;
                    month = m as i64 + 1;
                    value = rest;
                }
                Std::NumMonth | Std::ZeroMonth => {
                    let (m, rest) = getnum(value, std == Std::ZeroMonth)?;
                    value = rest;
                    month = m;
                    if !(1..=12).contains(&m) {
                        range_err = "month";
                    }
                }
                Std::WeekDay | Std::LongWeekDay => {
                    let len = (std == Std::WeekDay).then_some(3);
                    let (_, rest) = lookup_name(&DAYS, value, len)?;
                    value = rest;
                }
                Std::Day | Std::UnderDay | Std::ZeroDay => {
                    if std == Std::UnderDay && value.first() == Some(&b' ') {
                        value = &value[1..];
                    }
                    let (d, rest) = getnum(value, std == Std::ZeroDay)?;
                    day = d;
                    value = rest;
                }
                Std::UnderYearDay | Std::ZeroYearDay => {
                    for _ in 0..2 {
                        if std == Std::UnderYearDay && value.first() == Some(&b' ') {
                            value = &value[1..];
                        }
                    }
                    let (d, rest) = getnum3(value, std == Std::ZeroYearDay)?;
                    yday = d;
                    value = rest;
                }
                Std::Hour => {
                    let (h, rest) = getnum(value, false)?;
                    hour = h;
                    value = rest;
                    if !(0..24).contains(&h) {
                        range_err = "hour";
                    }
                }
                Std::Hour12 | Std::ZeroHour12 => {
                    let (h, rest) = getnum(value, std == Std::ZeroHour12)?;
                    hour = h;
                    value = rest;
                    if !(0..=12).contains(&h) {
                        range_err = "hour";
                    }
                }
                Std::Minute | Std::ZeroMinute => {
                    let (m, rest) = getnum(value, std == Std::ZeroMinute)?;
                    min = m;
                    value = rest;
                    if !(0..60).contains(&m) {
                        range_err = "minute";
                    }
                }
                Std::Second | Std::ZeroSecond => {
                    let (s, rest) = getnum(value, std == Std::ZeroSecond)?;
                    sec = s;
                    value = rest;
                    if !(0..60).contains(&s) {
                        range_err = "second";
                        return Some(());
                    }
                    // A fractional second the layout does not ask for is still taken.
                    if value.len() >= 2 && matches!(value[0], b'.' | b',') && is_digit(value, 1) {
                        let (_, next, _) = next_std_chunk(layout);
                        if matches!(next, Some(Std::Frac { .. })) {
                            return Some(());
                        }
                        let mut n = 2;
                        while n < value.len() && is_digit(value, n) {
                            n += 1;
                        }
                        let parsed = parse_nanoseconds(value, n);
                        value = &value[n..];
                        match parsed {
                            Ok(ns) => nsec = ns,
                            Err(true) => range_err = "fractional second",
                            Err(false) => return None,
                        }
                    }
                }
                Std::PM | Std::Pm => {
                    if value.len() < 2 {
                        return None;
                    }
                    let p = &value[..2];
                    value = &value[2..];
                    let (pm_text, am_text): (&[u8], &[u8]) = if std == Std::PM {
                        (b"PM", b"AM")
                    } else {
                        (b"pm", b"am")
                    };
                    if p == pm_text {
                        pm = true;
                    } else if p == am_text {
                        am = true;
                    } else {
                        return None;
                    }
                }
                Std::Tz(form) => {
                    let (iso, colon, seconds, short) = match form {
                        TzForm::Iso {
                            colon,
                            seconds,
                            short,
                        } => (true, colon, seconds, short),
                        TzForm::Num {
                            colon,
                            seconds,
                            short,
                        } => (false, colon, seconds, short),
                    };
                    if iso && !seconds && value.first() == Some(&b'Z') {
                        value = &value[1..];
                        utc = true;
                        return Some(());
                    }
                    let (sign, hh, mm, ss): (u8, &[u8], &[u8], &[u8]);
                    if colon && !seconds {
                        if value.len() < 6 || value[3] != b':' {
                            return None;
                        }
                        (sign, hh, mm, ss) = (value[0], &value[1..3], &value[4..6], &b"00"[..]);
                        value = &value[6..];
                    } else if short {
                        if value.len() < 3 {
                            return None;
                        }
                        (sign, hh, mm, ss) = (value[0], &value[1..3], &b"00"[..], &b"00"[..]);
                        value = &value[3..];
                    } else if colon && seconds {
                        if value.len() < 9 || value[3] != b':' || value[6] != b':' {
                            return None;
                        }
                        (sign, hh, mm, ss) = (value[0], &value[1..3], &value[4..6], &value[7..9]);
                        value = &value[9..];
                    } else if seconds {
                        if value.len() < 7 {
                            return None;
                        }
                        (sign, hh, mm, ss) = (value[0], &value[1..3], &value[3..5], &value[5..7]);
                        value = &value[7..];
                    } else {
                        if value.len() < 5 {
                            return None;
                        }
                        (sign, hh, mm, ss) = (value[0], &value[1..3], &value[3..5], &b"00"[..]);
                        value = &value[5..];
                    }
                    let hr = atoi(hh)?;
                    let mm = atoi(mm)?;
                    let ss = atoi(ss)?;
                    let off = (hr.wrapping_mul(60).wrapping_add(mm))
                        .wrapping_mul(60)
                        .wrapping_add(ss) as i32;
                    zone_offset = Some(match sign {
                        b'+' => off,
                        b'-' => off.wrapping_neg(),
                        _ => return None,
                    });
                }
                Std::ZoneName => {
                    if value.len() >= 3 && &value[..3] == b"UTC" {
                        utc = true;
                        value = &value[3..];
                        return Some(());
                    }
                    let n = parse_time_zone(value)?;
                    zone_name = Some(String::from_utf8_lossy(&value[..n]).into_owned());
                    value = &value[n..];
                }
                Std::Frac { digits, trim, .. } => {
                    if !trim {
                        let ndigit = 1 + digits;
                        if value.len() < ndigit {
                            return None;
                        }
                        let parsed = parse_nanoseconds(value, ndigit);
                        value = &value[ndigit..];
                        match parsed {
                            Ok(ns) => nsec = ns,
                            Err(true) => range_err = "fractional second",
                            Err(false) => return None,
                        }
                    } else {
                        if value.len() < 2
                            || !matches!(value[0], b'.' | b',')
                            || !value[1].is_ascii_digit()
                        {
                            return Some(());
                        }
                        let mut i = 0;
                        while i < 9 && i + 1 < value.len() && value[i + 1].is_ascii_digit() {
                            i += 1;
                        }
                        let parsed = parse_nanoseconds(value, 1 + i);
                        value = &value[1 + i..];
                        match parsed {
                            Ok(ns) => nsec = ns,
                            Err(true) => range_err = "fractional second",
                            Err(false) => return None,
                        }
                    }
                }
            }
            Some(())
        })();
        if !range_err.is_empty() {
            return Err(perr(stdstr, value, &format!(": {range_err} out of range")));
        }
        if ok.is_none() {
            // Go reports the value as it stood when the element failed: some elements have
            // consumed their text by then, others not.
            return Err(perr(stdstr, value, ""));
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let mut d = 0i64;
        let mut m = 0i64;
        if is_leap(year) {
            if yday == 31 + 29 {
                m = 2;
                d = 29;
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(perr(b"", value, ": day-of-year out of range"));
        }
        if m == 0 {
            m = (yday - 1) / 31 + 1;
            if i64::from(DAYS_BEFORE[m as usize]) < yday {
                m += 1;
            }
            d = yday - i64::from(DAYS_BEFORE[m as usize - 1]);
        }
        if month >= 0 && month != m {
            return Err(perr(b"", value, ": day-of-year does not match month"));
        }
        month = m;
        if day >= 0 && day != d {
            return Err(perr(b"", value, ": day-of-year does not match day"));
        }
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > i64::from(days_in(month.clamp(1, 12) as u32, year)) {
        return Err(perr(b"", value, ": day out of range"));
    }
    if utc {
        return Ok(date(year, month, day, hour, min, sec, nsec, Loc::Utc));
    }
    if let Some(offset) = zone_offset {
        let mut t = date(year, month, day, hour, min, sec, nsec, Loc::Utc);
        t.sec = t.sec.saturating_sub(i64::from(offset));
        let (name, local_off) = local.lookup(t.sec);
        let zname = zone_name.unwrap_or_default();
        if local_off == offset && (zname.is_empty() || name == zname) {
            t.loc = local.clone();
        } else {
            t.loc = Loc::Fixed(zname, offset);
        }
        return Ok(t);
    }
    if let Some(zname) = zone_name {
        let mut t = date(year, month, day, hour, min, sec, nsec, Loc::Utc);
        if let Some(offset) = local.lookup_name(&zname, t.sec) {
            t.sec = t.sec.saturating_sub(i64::from(offset));
            t.loc = local.clone();
            return Ok(t);
        }
        let mut offset = 0;
        if zname.len() > 3 && zname.starts_with("GMT") {
            offset = atoi(&zname.as_bytes()[3..]).unwrap_or(0).wrapping_mul(3600) as i32;
        }
        t.loc = Loc::Fixed(zname, offset);
        return Ok(t);
    }
    Ok(date(
        year,
        month,
        day,
        hour,
        min,
        sec,
        nsec,
        default_loc.clone(),
    ))
}

/// `time.ParseDuration`.
pub(crate) fn parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(orig.as_bytes()));
    let mut s = orig.as_bytes();
    let mut d: u64 = 0;
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let pl = s.len();
        let (mut v, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let pre = pl != s.len();
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let pl = s.len();
            // leadingFraction: stops accumulating on overflow.
            let mut overflow = false;
            let mut i = 0;
            while i < s.len() && s[i].is_ascii_digit() {
                if !overflow {
                    if f > (i64::MAX as u64) / 10 {
                        overflow = true;
                    } else {
                        let y = f * 10 + u64::from(s[i] - b'0');
                        if y > 1 << 63 {
                            overflow = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                i += 1;
            }
            s = &s[i..];
            post = pl != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        let i = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if i == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                quote(orig.as_bytes())
            ));
        }
        let u = &s[..i];
        s = &s[i..];
        let unit: u64 = match u {
            b"ns" => 1,
            // "µs" (micro sign) and "μs" (Greek mu).
            b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
            b"ms" => 1_000_000,
            b"s" => 1_000_000_000,
            b"m" => 60_000_000_000,
            b"h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(u),
                    quote(orig.as_bytes())
                ));
            }
        };
        if v > (1 << 63) / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            // uint64 arithmetic wraps in Go; so does ours.
            v = v.wrapping_add((f as f64 * (unit as f64 / scale)) as u64);
            if v > 1 << 63 {
                return Err(invalid());
            }
        }
        d = d.wrapping_add(v);
        if d > 1 << 63 {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > i64::MAX as u64 {
        return Err(invalid());
    }
    Ok(d as i64)
}

/// `time.Duration.String`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn duration_string(d: i64) -> String {
    let mut u = d.unsigned_abs();
    let neg = d < 0;
    let mut out: Vec<u8> = Vec::with_capacity(32);
    // Built back to front, as Go does.
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".to_string();
        }
        out.push(b's');
        let prec = if u < 1_000 {
            out.push(b'n');
            0
        } else if u < 1_000_000 {
            out.extend_from_slice(&"µ".as_bytes().iter().rev().copied().collect::<Vec<_>>());
            3
        } else {
            out.push(b'm');
            6
        };
        u = fmt_frac(&mut out, u, prec);
        fmt_int(&mut out, u);
    } else {
        out.push(b's');
        u = fmt_frac(&mut out, u, 9);
        fmt_int(&mut out, u % 60);
        u /= 60;
        if u > 0 {
            out.push(b'm');
            fmt_int(&mut out, u % 60);
            u /= 60;
            if u > 0 {
                out.push(b'h');
                fmt_int(&mut out, u);
            }
        }
    }
    if neg {
        out.push(b'-');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `fmtFrac`, reversed: the fraction digits of `v / 10^prec`, trailing zeros (and the point)
/// omitted; returns the integer part.
fn fmt_frac(out: &mut Vec<u8>, mut v: u64, prec: usize) -> u64 {
    let mut print = false;
    for _ in 0..prec {
        let digit = (v % 10) as u8;
        print = print || digit != 0;
        if print {
            out.push(b'0' + digit);
        }
        v /= 10;
    }
    if print {
        out.push(b'.');
    }
    v
}

/// `fmtInt`, reversed.
fn fmt_int(out: &mut Vec<u8>, mut v: u64) {
    if v == 0 {
        out.push(b'0');
        return;
    }
    while v > 0 {
        out.push(b'0' + (v % 10) as u8);
        v /= 10;
    }
}

/// `time.Duration.Round(m)`.
pub(crate) fn duration_round(d: i64, m: i64) -> i64 {
    if m <= 0 {
        return d;
    }
    let mut r = d % m;
    let less_than_half = |x: i64, y: i64| (x as u64).wrapping_add(x as u64) < y as u64;
    if d < 0 {
        r = -r;
        if less_than_half(r, m) {
            return d + r;
        }
        if let Some(d1) = d.checked_sub(m).map(|x| x + r)
            && d1 < d
        {
            return d1;
        }
        return i64::MIN;
    }
    if less_than_half(r, m) {
        return d - r;
    }
    if let Some(d1) = d.checked_add(m - r)
        && d1 > d
    {
        return d1;
    }
    i64::MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(sec: i64, nsec: u32) -> GoTime {
        GoTime {
            sec,
            nsec,
            loc: Loc::Utc,
            mono: None,
        }
    }

    #[test]
    fn formats_like_go() {
        let t = utc(1_136_214_245, 123_456_000); // 2006-01-02T15:04:05.123456Z
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2006-01-02T15:04:05Z"
        );
        assert_eq!(t.string(), "2006-01-02 15:04:05.123456 +0000 UTC");
        assert_eq!(
            t.format("Mon Jan _2 3:04PM .000 __2 002"),
            "Mon Jan  2 3:04PM .123   2 002"
        );
        assert_eq!(GoTime::zero().string(), "0001-01-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn parses_like_go() {
        let t = parse("2006-01-02", "2020-02-29", &Loc::Utc, &Loc::Utc).unwrap();
        assert_eq!(t.sec, 1_582_934_400);
        assert_eq!(
            parse("2006-01-02", "2021-02-29", &Loc::Utc, &Loc::Utc).unwrap_err(),
            "parsing time \"2021-02-29\": day out of range"
        );
        let t = parse(
            "2006-01-02T15:04:05Z07:00",
            "2020-01-01T10:00:00+05:30",
            &Loc::Utc,
            &Loc::Utc,
        )
        .unwrap();
        assert_eq!(t.string(), "2020-01-01 10:00:00 +0530 +0530");
    }

    #[test]
    fn parses_zone_names_against_a_local_zone() {
        // What Go's toDate prints with TZ=America/New_York (the oracle, run by hand).
        let ny = load_location("America/New_York").unwrap();
        let cases = [
            (
                "2006-01-02 MST",
                "2020-07-01 EDT",
                "2020-07-01 00:00:00 -0400 EDT",
            ),
            (
                "2006-01-02 MST",
                "2020-07-01 EST",
                "2020-07-01 01:00:00 -0400 EDT",
            ),
            (
                "2006-01-02 MST",
                "2020-01-01 EDT",
                "2019-12-31 23:00:00 -0500 EST",
            ),
            (
                "2006-01-02 -0700",
                "2020-07-01 -0400",
                "2020-07-01 00:00:00 -0400 EDT",
            ),
            (
                "2006-01-02 -0700",
                "2020-07-01 -0500",
                "2020-07-01 00:00:00 -0500 -0500",
            ),
            (
                "2006-01-02 15:04",
                "2020-03-08 02:30",
                "2020-03-08 01:30:00 -0500 EST",
            ),
            (
                "2006-01-02 15:04",
                "2020-11-01 01:30",
                "2020-11-01 01:30:00 -0400 EDT",
            ),
            (
                "2006-01-02 MST",
                "2020-07-01 XYZ",
                "2020-07-01 00:00:00 +0000 XYZ",
            ),
        ];
        for (layout, value, want) in cases {
            let t = parse(layout, value, &ny, &ny).unwrap();
            assert_eq!(t.string(), want, "{layout} {value}");
        }
        assert!(load_location("america/new_york").is_none());
        assert!(load_location("../etc/passwd").is_none());
    }

    #[test]
    fn durations() {
        assert_eq!(duration_string(0), "0s");
        assert_eq!(duration_string(1_500), "1.5µs");
        assert_eq!(duration_string(3_600_000_000_000), "1h0m0s");
        assert_eq!(duration_string(-90_000_000_000), "-1m30s");
        assert_eq!(duration_string(i64::MIN), "-2562047h47m16.854775808s");
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("1.5h").unwrap(), 5_400_000_000_000);
        assert_eq!(
            parse_duration("1x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"1x\""
        );
        assert_eq!(duration_round(1_499_999_999, 1_000_000_000), 1_000_000_000);
        assert_eq!(
            duration_round(-1_500_000_000, 1_000_000_000),
            -2_000_000_000
        );
    }
}
