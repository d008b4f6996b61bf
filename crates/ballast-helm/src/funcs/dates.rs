//! sprig's date functions over a model of Go's `time.Time`: an instant, a location (UTC, the
//! local zone, a named IANA zone or a fixed offset) and an optional monotonic reading, printed
//! as Go prints it (`2026-11-29 21:28:28.248928387 +0000 UTC m=+0.106120170`).
//!
//! Layouts use Go's reference time (see [`layout`]); durations are Go's ([`duration`]).

mod duration;
mod layout;

use std::rc::Rc;
use std::sync::LazyLock;
use std::time::Instant;

use ballast_gotemplate::{Args, Arity, FuncMap, Object, Value};
use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};

use layout::{Civil, ParsedZone};

/// Where the monotonic clock readings of `now` count from.
static START: LazyLock<Instant> = LazyLock::new(Instant::now);

/// A Go `*time.Location`.
#[derive(Clone)]
enum Loc {
    Utc,
    Local,
    /// An IANA zone by name.
    Zone(String, TimeZone),
    /// `time.FixedZone(name, offset)`.
    Fixed(String, i32),
}

impl Loc {
    fn name(&self) -> &str {
        match self {
            Loc::Utc => "UTC",
            Loc::Local => "Local",
            Loc::Zone(n, _) | Loc::Fixed(n, _) => n,
        }
    }
    /// The zone abbreviation and offset in effect at `ts`.
    fn lookup(&self, ts: Timestamp) -> (String, i32) {
        let info = |tz: &TimeZone| {
            let i = tz.to_offset_info(ts);
            (i.abbreviation().to_string(), i.offset().seconds())
        };
        match self {
            Loc::Utc => ("UTC".into(), 0),
            Loc::Local => info(&TimeZone::system()),
            Loc::Zone(_, tz) => info(tz),
            Loc::Fixed(n, off) => (n.clone(), *off),
        }
    }
    /// Go's `time.LoadLocation`.
    fn load(name: &str) -> Option<Loc> {
        match name {
            "" | "UTC" => Some(Loc::Utc),
            "Local" => Some(Loc::Local),
            _ => TimeZone::get(name).ok().map(|tz| Loc::Zone(name.into(), tz)),
        }
    }
}

/// A Go `time.Time`.
#[derive(Clone)]
pub(crate) struct GoTime {
    ts: Timestamp,
    loc: Loc,
    /// Monotonic clock reading in nanoseconds, for times from `now`.
    mono: Option<i64>,
}

/// The method name that reads a time's state back from its object; not a Go identifier, so
/// templates cannot call it.
const STATE: &str = "ballast:time";

fn civil(ts: Timestamp, offset: i32) -> Civil {
    let tz = Offset::from_seconds(offset)
        .map(TimeZone::fixed)
        .unwrap_or(TimeZone::UTC);
    let z = ts.to_zoned(tz);
    Civil {
        year: i64::from(z.year()),
        month: z.month() as u8,
        day: z.day() as u8,
        hour: z.hour() as u8,
        minute: z.minute() as u8,
        second: z.second() as u8,
        nanos: z.subsec_nanosecond() as u32,
        yday: z.day_of_year() as u16,
        weekday: z.weekday().to_sunday_zero_offset() as u8,
    }
}

impl GoTime {
    fn now() -> GoTime {
        let mono = i64::try_from(START.elapsed().as_nanos()).ok();
        GoTime {
            ts: Timestamp::now(),
            loc: Loc::Local,
            mono,
        }
    }
    fn unix(secs: i64) -> GoTime {
        let ts = Timestamp::new(secs.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second()), 0)
            .unwrap_or(Timestamp::UNIX_EPOCH);
        GoTime {
            ts,
            loc: Loc::Local,
            mono: None,
        }
    }
    fn zero() -> GoTime {
        let ts = jiff::civil::date(1, 1, 1)
            .to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MIN);
        GoTime {
            ts,
            loc: Loc::Utc,
            mono: None,
        }
    }
    fn format(&self, layout: &str) -> String {
        let (name, off) = self.loc.lookup(self.ts);
        layout::format(layout, &civil(self.ts, off), &name, off)
    }
    fn in_loc(&self, loc: Loc) -> GoTime {
        GoTime {
            ts: self.ts,
            loc,
            mono: None,
        }
    }
    fn unix_nanos(&self) -> i128 {
        self.ts.as_nanosecond()
    }
    /// `t.Add(d)`; the monotonic reading moves too.
    fn add(&self, d: i64) -> GoTime {
        let ts = Timestamp::from_nanosecond(self.unix_nanos() + i128::from(d)).unwrap_or(self.ts);
        GoTime {
            ts,
            loc: self.loc.clone(),
            mono: self.mono.and_then(|m| m.checked_add(d)),
        }
    }
    /// `t.Sub(u)`, saturating as Go's does.
    fn sub(&self, u: &GoTime) -> i64 {
        if let (Some(a), Some(b)) = (self.mono, u.mono) {
            return a.saturating_sub(b);
        }
        let d = self.unix_nanos() - u.unix_nanos();
        d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
    /// `time.Since(t)`.
    fn since(&self) -> i64 {
        GoTime::now().sub(self)
    }
    /// Go's `Time.String()`.
    fn string(&self) -> String {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.mono {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            let (secs, nanos) = (m / 1_000_000_000, m % 1_000_000_000);
            s.push_str(&format!(" m={sign}{secs}.{nanos:09}"));
        }
        s
    }
    fn value(self) -> Value {
        Value::Object(Rc::new(self))
    }
    /// The time inside a `time.Time` value, if it is one.
    fn from_value(v: &Value) -> Option<GoTime> {
        let Value::Object(o) = v else { return None };
        if o.type_name() != "time.Time" {
            return None;
        }
        let state = o.method(STATE, &[])?.ok()?;
        GoTime::decode(state.as_str()?)
    }
    fn encode(&self) -> String {
        let mono = self.mono.map_or("-".to_string(), |m| m.to_string());
        let (kind, name, off) = match &self.loc {
            Loc::Utc => ("u", "", 0),
            Loc::Local => ("l", "", 0),
            Loc::Zone(n, _) => ("z", n.as_str(), 0),
            Loc::Fixed(n, o) => ("f", n.as_str(), *o),
        };
        format!("{} {mono} {kind} {off} {name}", self.unix_nanos())
    }
    fn decode(s: &str) -> Option<GoTime> {
        let mut it = s.splitn(5, ' ');
        let ts = Timestamp::from_nanosecond(it.next()?.parse().ok()?).ok()?;
        let mono = match it.next()? {
            "-" => None,
            m => Some(m.parse().ok()?),
        };
        let (kind, off, name) = (it.next()?, it.next()?.parse().ok()?, it.next().unwrap_or(""));
        let loc = match kind {
            "u" => Loc::Utc,
            "l" => Loc::Local,
            "z" => Loc::load(name)?,
            _ => Loc::Fixed(name.into(), off),
        };
        Some(GoTime { ts, loc, mono })
    }
}

/// A `time.Month` or `time.Weekday`: an integer printed as its name.
struct GoNamedInt {
    type_name: &'static str,
    name: &'static str,
    value: i64,
}

impl Object for GoNamedInt {
    fn type_name(&self) -> String {
        self.type_name.into()
    }
    fn kind(&self) -> &'static str {
        "int"
    }
    fn field(&self, name: &str) -> Option<Value> {
        (name == "String").then(|| Value::str(self.name))
    }
    fn fmt_go(&self) -> String {
        self.name.into()
    }
    fn to_data(&self) -> Value {
        Value::Int(self.value)
    }
}

fn named_int(type_name: &'static str, name: &'static str, value: i64) -> Value {
    Value::Object(Rc::new(GoNamedInt { type_name, name, value }))
}

/// A `time.Duration` as a template sees it (`Sub` gives one).
struct GoDuration(i64);

impl Object for GoDuration {
    fn type_name(&self) -> String {
        "time.Duration".into()
    }
    fn kind(&self) -> &'static str {
        "int64"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let d = self.0;
        Some(match name {
            "String" => Value::from(duration::to_string(d)),
            "Nanoseconds" => Value::Int64(d),
            "Microseconds" => Value::Int64(d / 1_000),
            "Milliseconds" => Value::Int64(d / 1_000_000),
            "Seconds" => Value::Float(d as f64 / 1e9),
            "Minutes" => Value::Float(d as f64 / 6e10),
            "Hours" => Value::Float(d as f64 / 3.6e12),
            _ => return None,
        })
    }
    fn fmt_go(&self) -> String {
        duration::to_string(self.0)
    }
    fn to_data(&self) -> Value {
        Value::Int64(self.0)
    }
}

impl Object for GoTime {
    fn type_name(&self) -> String {
        "time.Time".into()
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let (_, off) = self.loc.lookup(self.ts);
        let c = civil(self.ts, off);
        Some(match name {
            "Year" => Value::Int(c.year),
            "Month" => named_int("time.Month", layout::month_name(c.month), i64::from(c.month)),
            "Day" => Value::Int(i64::from(c.day)),
            "Hour" => Value::Int(i64::from(c.hour)),
            "Minute" => Value::Int(i64::from(c.minute)),
            "Second" => Value::Int(i64::from(c.second)),
            "Nanosecond" => Value::Int(i64::from(c.nanos)),
            "YearDay" => Value::Int(i64::from(c.yday)),
            "Weekday" => named_int("time.Weekday", layout::weekday_name(c.weekday), i64::from(c.weekday)),
            "Unix" => Value::Int64(self.ts.as_second()),
            "UnixMilli" => Value::Int64((self.unix_nanos() / 1_000_000) as i64),
            "UnixMicro" => Value::Int64((self.unix_nanos() / 1_000) as i64),
            "UnixNano" => Value::Int64(self.unix_nanos() as i64),
            "UTC" => self.in_loc(Loc::Utc).value(),
            "Local" => self.in_loc(Loc::Local).value(),
            "String" => Value::from(self.string()),
            "IsZero" => Value::Bool(self.ts == GoTime::zero().ts),
            "Location" => Value::str(self.loc.name()),
            _ => return None,
        })
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let want = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!("wrong number of args for {name}: want {n} got {}", args.len()))
            }
        };
        let time_arg = |v: &Value| {
            GoTime::from_value(v)
                .ok_or_else(|| format!("wrong type for value; expected time.Time; got {}", v.type_name()))
        };
        Some(match name {
            STATE => Ok(Value::from(self.encode())),
            "Format" => want(1).and_then(|_| Ok(Value::from(self.format(Args::string(&args[0])?)))),
            "Add" => want(1).and_then(|_| Ok(self.add(Args::int64(&args[0])?).value())),
            "Sub" => want(1).and_then(|_| Ok(Value::Object(Rc::new(GoDuration(self.sub(&time_arg(&args[0])?)))))),
            "Before" => want(1).and_then(|_| Ok(Value::Bool(self.ts < time_arg(&args[0])?.ts))),
            "After" => want(1).and_then(|_| Ok(Value::Bool(self.ts > time_arg(&args[0])?.ts))),
            "Equal" => want(1).and_then(|_| Ok(Value::Bool(self.ts == time_arg(&args[0])?.ts))),
            "AddDate" => want(3).and_then(|_| {
                let (y, m, d) = (Args::int(&args[0])?, Args::int(&args[1])?, Args::int(&args[2])?);
                Ok(self.add_date(y, m, d).value())
            }),
            _ => return None,
        })
    }
    fn fmt_go(&self) -> String {
        self.string()
    }
    fn to_data(&self) -> Value {
        Value::from(self.format("2006-01-02T15:04:05.999999999Z07:00"))
    }
}

impl GoTime {
    /// `t.AddDate(y, m, d)`: civil fields added and normalized in the time's zone.
    fn add_date(&self, y: i64, m: i64, d: i64) -> GoTime {
        let (_, off) = self.loc.lookup(self.ts);
        let c = civil(self.ts, off);
        let months = c.year * 12 + i64::from(c.month) - 1 + y * 12 + m;
        let (year, month) = (months.div_euclid(12), months.rem_euclid(12) + 1);
        let base = jiff::civil::Date::new(year.clamp(-9999, 9999) as i16, month as i8, 1)
            .ok()
            .and_then(|first| first.checked_add(jiff::Span::new().days(i64::from(c.day) - 1 + d)).ok());
        let Some(date) = base else { return self.clone() };
        let dt = date.at(c.hour as i8, c.minute as i8, c.second as i8, c.nanos as i32);
        GoTime {
            ts: self.civil_to_ts(dt),
            loc: self.loc.clone(),
            mono: None,
        }
    }
    fn civil_to_ts(&self, dt: jiff::civil::DateTime) -> Timestamp {
        let tz = match &self.loc {
            Loc::Utc => TimeZone::UTC,
            Loc::Local => TimeZone::system(),
            Loc::Zone(_, tz) => tz.clone(),
            Loc::Fixed(_, off) => Offset::from_seconds(*off).map(TimeZone::fixed).unwrap_or(TimeZone::UTC),
        };
        dt.to_zoned(tz).map(|z| z.timestamp()).unwrap_or(self.ts)
    }
}

/// `time.ParseInLocation(layout, value, time.Local)`.
fn parse_local(layout_s: &str, value: &str) -> Result<GoTime, String> {
    let p = layout::parse(layout_s, value)?;
    let dt = jiff::civil::DateTime::new(
        p.year as i16,
        p.month as i8,
        p.day as i8,
        p.hour as i8,
        p.minute as i8,
        p.second as i8,
        p.nanos as i32,
    )
    .map_err(|e| e.to_string())?;
    let as_utc = dt.to_zoned(TimeZone::UTC).map_err(|e| e.to_string())?.timestamp();
    let shift = |ts: Timestamp, secs: i32| Timestamp::new(ts.as_second() - i64::from(secs), ts.subsec_nanosecond());
    Ok(match p.zone {
        ParsedZone::None => {
            let ts = dt.to_zoned(TimeZone::system()).map_err(|e| e.to_string())?.timestamp();
            GoTime {
                ts,
                loc: Loc::Local,
                mono: None,
            }
        }
        ParsedZone::Utc => GoTime {
            ts: as_utc,
            loc: Loc::Utc,
            mono: None,
        },
        ParsedZone::Offset(off, name) => {
            let ts = shift(as_utc, off).map_err(|e| e.to_string())?;
            let (local_name, local_off) = Loc::Local.lookup(ts);
            let loc = if local_off == off && (name.is_empty() || local_name == name) {
                Loc::Local
            } else {
                Loc::Fixed(name, off)
            };
            GoTime { ts, loc, mono: None }
        }
        ParsedZone::Name(name, gmt) => {
            let (local_name, local_off) = Loc::Local.lookup(as_utc);
            if local_name == name {
                let ts = shift(as_utc, local_off).map_err(|e| e.to_string())?;
                GoTime {
                    ts,
                    loc: Loc::Local,
                    mono: None,
                }
            } else {
                GoTime {
                    ts: as_utc,
                    loc: Loc::Fixed(name, gmt.unwrap_or(0)),
                    mono: None,
                }
            }
        }
    })
}

/// sprig's date argument: a time, or seconds since the epoch as `int`/`int64`; anything
/// else means now.
fn date_arg(v: &Value, ints: bool) -> GoTime {
    match v {
        Value::Int(i) | Value::Int64(i) if ints => GoTime::unix(*i),
        _ => GoTime::from_value(v).unwrap_or_else(GoTime::now),
    }
}

fn date_in_zone(fmt: &str, date: &Value, zone: &str) -> Value {
    let t = date_arg(date, true);
    let loc = Loc::load(zone).unwrap_or(Loc::Utc);
    Value::from(t.in_loc(loc).format(fmt))
}

/// A `time.Time` parameter.
fn time_param(v: &Value) -> Result<GoTime, String> {
    if v.is_nil() {
        return Err("invalid value; expected time.Time".into());
    }
    GoTime::from_value(v).ok_or_else(|| format!("wrong type for value; expected time.Time; got {}", v.type_name()))
}

fn duration_round(v: &Value) -> String {
    let d = match v {
        Value::String(s) => duration::parse(s).unwrap_or(0),
        Value::Int64(i) => *i,
        _ => GoTime::from_value(v).map_or(0, |t| t.since()),
    };
    let u = d.unsigned_abs();
    const H: u64 = 3_600_000_000_000;
    for (unit, suffix) in [
        (H * 24 * 365, "y"),
        (H * 24 * 30, "mo"),
        (H * 24, "d"),
        (H, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ] {
        if u > unit {
            return format!("{}{suffix}", u / unit);
        }
    }
    "0s".into()
}

/// `strconv.ParseInt(s, 10, 64)` as sprig uses it: 0 on bad syntax, the nearest bound when
/// out of range.
fn parse_int_clamped(s: &str) -> i64 {
    if let Ok(n) = s.parse::<i64>() {
        return n;
    }
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        0
    } else if s.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }
}

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    m.pure("now", Arity::Exact(0), |_| Ok(GoTime::now().value()));
    m.pure("date", Arity::Exact(2), |a| {
        Ok(date_in_zone(Args::string(&a[0])?, &a[1], "Local"))
    });
    m.pure("htmlDate", Arity::Exact(1), |a| {
        Ok(date_in_zone("2006-01-02", &a[0], "Local"))
    });
    m.pure("htmlDateInZone", Arity::Exact(2), |a| {
        Ok(date_in_zone("2006-01-02", &a[0], Args::string(&a[1])?))
    });
    for name in ["dateInZone", "date_in_zone"] {
        m.pure(name, Arity::Exact(3), |a| {
            Ok(date_in_zone(Args::string(&a[0])?, &a[1], Args::string(&a[2])?))
        });
    }
    for name in ["dateModify", "date_modify"] {
        m.pure(name, Arity::Exact(2), |a| {
            let (fmt, t) = (Args::string(&a[0])?, time_param(&a[1])?);
            Ok(match duration::parse(fmt) {
                Ok(d) => t.add(d).value(),
                Err(_) => t.value(),
            })
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        m.pure(name, Arity::Exact(2), |a| {
            let (fmt, t) = (Args::string(&a[0])?, time_param(&a[1])?);
            Ok(t.add(duration::parse(fmt)?).value())
        });
    }
    m.pure("ago", Arity::Exact(1), |a| {
        let t = date_arg(&a[0], true);
        Ok(Value::from(duration::to_string(duration::round(
            t.since(),
            duration::SECOND,
        ))))
    });
    m.pure("duration", Arity::Exact(1), |a| {
        let n = match &a[0] {
            Value::String(s) => parse_int_clamped(s),
            Value::Int64(i) => *i,
            _ => 0,
        };
        Ok(Value::from(duration::to_string(n.wrapping_mul(duration::SECOND))))
    });
    m.pure("durationRound", Arity::Exact(1), |a| {
        Ok(Value::from(duration_round(&a[0])))
    });
    m.pure("toDate", Arity::Exact(2), |a| {
        let (fmt, s) = (Args::string(&a[0])?, Args::string(&a[1])?);
        Ok(parse_local(fmt, s).unwrap_or_else(|_| GoTime::zero()).value())
    });
    m.pure("mustToDate", Arity::Exact(2), |a| {
        let (fmt, s) = (Args::string(&a[0])?, Args::string(&a[1])?);
        parse_local(fmt, s).map(GoTime::value)
    });
    m.pure("unixEpoch", Arity::Exact(1), |a| {
        Ok(Value::from(time_param(&a[0])?.ts.as_second().to_string()))
    });
}

#[cfg(test)]
mod tests;
