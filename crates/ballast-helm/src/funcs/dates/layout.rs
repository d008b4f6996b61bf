//! Go's reference-time layouts ("Mon Jan 2 15:04:05 MST 2006"): formatting and parsing as
//! Go's `time.Format` and `time.Parse` do, over civil fields and a zone offset.

/// One layout element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// Fractional seconds: digits, separator, and whether trailing zeros are trimmed (`9`).
    Frac(usize, u8, bool),
}

fn starts_lower(s: &str) -> bool {
    s.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
}

fn is_digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// Splits `layout` at its first element: the literal text before it, the element, the rest.
fn next_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let has = |i: usize, s: &str| layout[i..].starts_with(s);
    for i in 0..b.len() {
        let found = |std: Std, len: usize| Some((&layout[..i], Some(std), &layout[i + len..]));
        let hit = match b[i] {
            b'J' if has(i, "Jan") => {
                if has(i, "January") {
                    found(Std::LongMonth, 7)
                } else if !starts_lower(&layout[i + 3..]) {
                    found(Std::Month, 3)
                } else {
                    None
                }
            }
            b'M' if has(i, "Monday") => found(Std::LongWeekDay, 6),
            b'M' if has(i, "Mon") && !starts_lower(&layout[i + 3..]) => found(Std::WeekDay, 3),
            b'M' if has(i, "MST") => found(Std::Tz, 3),
            b'0' if b.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => {
                let std = [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][usize::from(b[i + 1] - b'1')];
                found(std, 2)
            }
            b'0' if has(i, "002") => found(Std::ZeroYearDay, 3),
            b'1' if has(i, "15") => found(Std::Hour, 2),
            b'1' => found(Std::NumMonth, 1),
            b'2' if has(i, "2006") => found(Std::LongYear, 4),
            b'2' => found(Std::Day, 1),
            b'_' if has(i, "_2006") => Some((&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..])),
            b'_' if has(i, "_2") => found(Std::UnderDay, 2),
            b'_' if has(i, "__2") => found(Std::UnderYearDay, 3),
            b'3' => found(Std::Hour12, 1),
            b'4' => found(Std::Minute, 1),
            b'5' => found(Std::Second, 1),
            b'P' if has(i, "PM") => found(Std::PM, 2),
            b'p' if has(i, "pm") => found(Std::Pm, 2),
            b'-' if has(i, "-070000") => found(Std::NumSecondsTz, 7),
            b'-' if has(i, "-07:00:00") => found(Std::NumColonSecondsTz, 9),
            b'-' if has(i, "-0700") => found(Std::NumTz, 5),
            b'-' if has(i, "-07:00") => found(Std::NumColonTz, 6),
            b'-' if has(i, "-07") => found(Std::NumShortTz, 3),
            b'Z' if has(i, "Z070000") => found(Std::Iso8601SecondsTz, 7),
            b'Z' if has(i, "Z07:00:00") => found(Std::Iso8601ColonSecondsTz, 9),
            b'Z' if has(i, "Z0700") => found(Std::Iso8601Tz, 5),
            b'Z' if has(i, "Z07:00") => found(Std::Iso8601ColonTz, 6),
            b'Z' if has(i, "Z07") => found(Std::Iso8601ShortTz, 3),
            c @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if is_digit(b, j) {
                    None
                } else {
                    found(Std::Frac(j - (i + 1), c, ch == b'9'), j - i)
                }
            }
            _ => None,
        };
        if let Some(h) = hit {
            return h;
        }
    }
    (layout, None, "")
}

/// Calendar and clock fields of an instant in some zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanos: u32,
    /// Day of the year, 1-based.
    pub yday: u16,
    /// 0 for Sunday.
    pub weekday: u8,
}

const LONG_MONTHS: [&str; 12] = [
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
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Go's month name (`time.Month.String()`).
pub(crate) fn month_name(m: u8) -> &'static str {
    LONG_MONTHS
        .get(usize::from(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("%!Month")
}

/// Go's weekday name, 0 for Sunday.
pub(crate) fn weekday_name(d: u8) -> &'static str {
    LONG_DAYS.get(usize::from(d)).copied().unwrap_or("%!Weekday")
}

fn push_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", x.unsigned_abs()));
}

/// Go's `Time.Format` for a time with these civil fields, zone abbreviation and offset (in
/// seconds east of UTC).
pub(crate) fn format(layout: &str, c: &Civil, zone_name: &str, offset: i32) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let mut layout = layout;
    loop {
        let (prefix, std, suffix) = next_chunk(layout);
        out.push_str(prefix);
        let Some(std) = std else { break };
        layout = suffix;
        let hour12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::Year => push_int(&mut out, c.year.abs() % 100, 2),
            Std::LongYear => push_int(&mut out, c.year, 4),
            Std::Month => out.push_str(&month_name(c.month)[..3]),
            Std::LongMonth => out.push_str(month_name(c.month)),
            Std::NumMonth => push_int(&mut out, i64::from(c.month), 0),
            Std::ZeroMonth => push_int(&mut out, i64::from(c.month), 2),
            Std::WeekDay => out.push_str(&weekday_name(c.weekday)[..3]),
            Std::LongWeekDay => out.push_str(weekday_name(c.weekday)),
            Std::Day => push_int(&mut out, i64::from(c.day), 0),
            Std::UnderDay => {
                if c.day < 10 {
                    out.push(' ');
                }
                push_int(&mut out, i64::from(c.day), 0);
            }
            Std::ZeroDay => push_int(&mut out, i64::from(c.day), 2),
            Std::UnderYearDay => {
                if c.yday < 100 {
                    out.push(' ');
                    if c.yday < 10 {
                        out.push(' ');
                    }
                }
                push_int(&mut out, i64::from(c.yday), 0);
            }
            Std::ZeroYearDay => push_int(&mut out, i64::from(c.yday), 3),
            Std::Hour => push_int(&mut out, i64::from(c.hour), 2),
            Std::Hour12 => push_int(&mut out, i64::from(hour12), 0),
            Std::ZeroHour12 => push_int(&mut out, i64::from(hour12), 2),
            Std::Minute => push_int(&mut out, i64::from(c.minute), 0),
            Std::ZeroMinute => push_int(&mut out, i64::from(c.minute), 2),
            Std::Second => push_int(&mut out, i64::from(c.second), 0),
            Std::ZeroSecond => push_int(&mut out, i64::from(c.second), 2),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::Tz => {
                if zone_name.is_empty() {
                    let zone = offset / 60;
                    out.push(if zone < 0 { '-' } else { '+' });
                    push_int(&mut out, i64::from(zone.abs() / 60), 2);
                    push_int(&mut out, i64::from(zone.abs() % 60), 2);
                } else {
                    out.push_str(zone_name);
                }
            }
            Std::Frac(n, sep, trim) => {
                let digits = format!("{:09}", c.nanos);
                let mut n = n.min(9);
                if trim {
                    while n > 0 && digits.as_bytes()[n - 1] == b'0' {
                        n -= 1;
                    }
                    if n == 0 {
                        continue;
                    }
                }
                out.push(char::from(sep));
                out.push_str(&digits[..n]);
            }
            tz => {
                let iso = matches!(
                    tz,
                    Std::Iso8601Tz
                        | Std::Iso8601ColonTz
                        | Std::Iso8601SecondsTz
                        | Std::Iso8601ShortTz
                        | Std::Iso8601ColonSecondsTz
                );
                if offset == 0 && iso {
                    out.push('Z');
                    continue;
                }
                let zone = offset / 60;
                out.push(if zone < 0 { '-' } else { '+' });
                let (zone, abs) = (zone.abs(), offset.abs());
                push_int(&mut out, i64::from(zone / 60), 2);
                let colon = matches!(
                    tz,
                    Std::Iso8601ColonTz | Std::NumColonTz | Std::Iso8601ColonSecondsTz | Std::NumColonSecondsTz
                );
                if colon {
                    out.push(':');
                }
                if !matches!(tz, Std::NumShortTz | Std::Iso8601ShortTz) {
                    push_int(&mut out, i64::from(zone % 60), 2);
                }
                if matches!(
                    tz,
                    Std::Iso8601SecondsTz | Std::NumSecondsTz | Std::NumColonSecondsTz | Std::Iso8601ColonSecondsTz
                ) {
                    if colon {
                        out.push(':');
                    }
                    push_int(&mut out, i64::from(abs % 60), 2);
                }
            }
        }
    }
    out
}

/// Go's `time.quote` for parse errors: printable ASCII as is (with `"` and `\` escaped),
/// other bytes as `\xNN`.
pub(crate) fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

fn quote_bytes(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in s {
        if !b.is_ascii() || b < b' ' {
            out.push_str(&format!("\\x{b:02x}"));
        } else {
            if b == b'"' || b == b'\\' {
                out.push('\\');
            }
            out.push(char::from(b));
        }
    }
    out.push('"');
    out
}

/// The zone a parsed time names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ParsedZone {
    /// No zone in the value: the default location applies.
    None,
    /// `Z` or `UTC`.
    Utc,
    /// A numeric offset (seconds east), with the abbreviation if one was also parsed.
    Offset(i32, String),
    /// An abbreviation alone (`CET`); `GMT+3` carries its offset.
    Name(String, Option<i32>),
}

/// The result of parsing a value with a layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub year: i64,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanos: u32,
    pub zone: ParsedZone,
}

const BAD: &str = "bad";

fn getnum(s: &[u8], fixed: bool) -> Result<(i64, &[u8]), &'static str> {
    let b = s;
    if !is_digit(b, 0) {
        return Err(BAD);
    }
    if !is_digit(b, 1) {
        if fixed {
            return Err(BAD);
        }
        return Ok((i64::from(b[0] - b'0'), &s[1..]));
    }
    Ok((i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'), &s[2..]))
}

fn getnum3(s: &[u8], fixed: bool) -> Result<(i64, &[u8]), &'static str> {
    let b = s;
    let mut n = 0;
    let mut i = 0;
    while i < 3 && is_digit(b, i) {
        n = n * 10 + i64::from(b[i] - b'0');
        i += 1;
    }
    if i == 0 || fixed && i != 3 {
        return Err(BAD);
    }
    Ok((n, &s[i..]))
}

fn atoi(s: &[u8]) -> Result<i64, &'static str> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 18 {
        return Err(BAD);
    }
    let v = digits.iter().fold(0i64, |a, &d| a * 10 + i64::from(d - b'0'));
    Ok(if neg { -v } else { v })
}

fn lookup<'a>(tab: &[&str], val: &'a [u8]) -> Result<(usize, &'a [u8]), &'static str> {
    for (i, name) in tab.iter().enumerate() {
        if val.len() >= name.len() && val[..name.len()].eq_ignore_ascii_case(name.as_bytes()) {
            return Ok((i, &val[name.len()..]));
        }
    }
    Err(BAD)
}

fn skip<'a>(mut value: &'a [u8], prefix: &str) -> Result<&'a [u8], ()> {
    let mut prefix = prefix.as_bytes();
    let trim = |s: &'a [u8]| &s[s.iter().take_while(|&&c| c == b' ').count()..];
    while let Some(p) = prefix.first() {
        if *p == b' ' {
            if !value.is_empty() && value[0] != b' ' {
                return Err(());
            }
            prefix = &prefix[prefix.iter().take_while(|&&c| c == b' ').count()..];
            value = trim(value);
            continue;
        }
        if value.first() != Some(p) {
            return Err(());
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Ok(value)
}

fn parse_nanos(value: &[u8], nbytes: usize) -> Result<(u32, &'static str), &'static str> {
    if !matches!(value.first(), Some(b'.' | b',')) {
        return Err(BAD);
    }
    let nbytes = nbytes.min(10);
    let mut ns = atoi(&value[1..nbytes])?;
    if ns < 0 {
        return Ok((0, "fractional second"));
    }
    for _ in 0..10 - nbytes {
        ns *= 10;
    }
    Ok((ns as u32, ""))
}

/// Length of a zone abbreviation at the start of `value`, as Go's `parseTimeZone` accepts.
fn time_zone_len(value: &[u8]) -> Option<usize> {
    let b = value;
    if b.len() < 3 {
        return None;
    }
    if value.starts_with(b"ChST") || value.starts_with(b"MeST") {
        return Some(4);
    }
    if value.starts_with(b"GMT") {
        return Some(gmt_len(value));
    }
    if b[0] == b'+' || b[0] == b'-' {
        let n = signed_offset_len(value);
        return (n > 0).then_some(n);
    }
    let upper = b.iter().take(6).take_while(|c| c.is_ascii_uppercase()).count();
    match upper {
        3 => Some(3),
        4 if b[3] == b'T' || value.starts_with(b"WITA") => Some(4),
        5 if b[4] == b'T' => Some(5),
        _ => None,
    }
}

fn gmt_len(value: &[u8]) -> usize {
    let rest = &value[3..];
    if rest.is_empty() {
        return 3;
    }
    3 + signed_offset_len(rest)
}

fn signed_offset_len(value: &[u8]) -> usize {
    let b = value;
    if !matches!(b.first(), Some(b'+' | b'-')) {
        return 0;
    }
    let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return 0;
    }
    match atoi(&value[1..1 + digits]) {
        Ok(x) if x <= 23 => 1 + digits,
        _ => 0,
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `time.Parse` fields, with `ParseError` texts.
pub(crate) fn parse(layout: &str, value: &str) -> Result<Parsed, String> {
    let (alayout, avalue) = (layout, value);
    let perr = |lay_elem: &str, val_elem: &[u8], msg: &str| {
        if msg.is_empty() {
            format!(
                "parsing time {} as {}: cannot parse {} as {}",
                quote(avalue),
                quote(alayout),
                quote_bytes(val_elem),
                quote(lay_elem)
            )
        } else {
            format!("parsing time {}{msg}", quote(avalue))
        }
    };
    let (mut layout, mut value) = (layout, value.as_bytes());
    let (mut am, mut pm) = (false, false);
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0u32);
    let mut utc = false;
    let mut zone_offset: Option<i32> = None;
    let mut zone_name = String::new();
    loop {
        let (prefix, std, suffix) = next_chunk(layout);
        let std_str = &layout[prefix.len()..layout.len() - suffix.len()];
        value = skip(value, prefix).map_err(|_| perr(prefix, value, ""))?;
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(perr("", value, &format!(": extra text: {}", quote_bytes(value))));
            }
            break;
        };
        layout = suffix;
        let mut range_err = "";
        let res: Result<(), &str> = (|| {
            match std {
                Std::Year => {
                    if value.len() < 2 {
                        return Err(BAD);
                    }
                    if let Ok(y) = atoi(&value[..2]) {
                        year = if y >= 69 { y + 1900 } else { y + 2000 };
                        value = &value[2..];
                    } else {
                        return Err(BAD);
                    }
                }
                Std::LongYear => {
                    if value.len() < 4 || !is_digit(value, 0) {
                        return Err(BAD);
                    }
                    let digits = &value[..4];
                    value = &value[4..];
                    year = atoi(digits)?;
                }
                Std::Month | Std::LongMonth => {
                    let names: Vec<&str> = if std == Std::Month {
                        LONG_MONTHS.iter().map(|m| &m[..3]).collect()
                    } else {
                        LONG_MONTHS.to_vec()
                    };
                    let (m, rest) = lookup(&names, value)?;
                    month = m as i64 + 1;
                    value = rest;
                }
                Std::NumMonth | Std::ZeroMonth => {
                    let (m, rest) = getnum(value, std == Std::ZeroMonth)?;
                    (month, value) = (m, rest);
                    if !(1..=12).contains(&month) {
                        range_err = "month";
                    }
                }
                Std::WeekDay | Std::LongWeekDay => {
                    let names: Vec<&str> = if std == Std::WeekDay {
                        LONG_DAYS.iter().map(|d| &d[..3]).collect()
                    } else {
                        LONG_DAYS.to_vec()
                    };
                    value = lookup(&names, value)?.1;
                }
                Std::Day | Std::UnderDay | Std::ZeroDay => {
                    if std == Std::UnderDay {
                        value = value.strip_prefix(b" ").unwrap_or(value);
                    }
                    (day, value) = getnum(value, std == Std::ZeroDay)?;
                }
                Std::UnderYearDay | Std::ZeroYearDay => {
                    for _ in 0..2 {
                        if std == Std::UnderYearDay {
                            value = value.strip_prefix(b" ").unwrap_or(value);
                        }
                    }
                    (yday, value) = getnum3(value, std == Std::ZeroYearDay)?;
                }
                Std::Hour => {
                    (hour, value) = getnum(value, false)?;
                    if !(0..24).contains(&hour) {
                        range_err = "hour";
                    }
                }
                Std::Hour12 | Std::ZeroHour12 => {
                    (hour, value) = getnum(value, std == Std::ZeroHour12)?;
                    if !(0..=12).contains(&hour) {
                        range_err = "hour";
                    }
                }
                Std::Minute | Std::ZeroMinute => {
                    (min, value) = getnum(value, std == Std::ZeroMinute)?;
                    if !(0..60).contains(&min) {
                        range_err = "minute";
                    }
                }
                Std::Second | Std::ZeroSecond => {
                    (sec, value) = getnum(value, std == Std::ZeroSecond)?;
                    if !(0..60).contains(&sec) {
                        range_err = "second";
                        return Ok(());
                    }
                    let b = value;
                    if b.len() >= 2 && matches!(b[0], b'.' | b',') && is_digit(b, 1) {
                        if matches!(next_chunk(layout).1, Some(Std::Frac(..))) {
                            return Ok(());
                        }
                        let mut n = 2;
                        while is_digit(b, n) {
                            n += 1;
                        }
                        let frac = value;
                        value = &value[n..];
                        (nsec, range_err) = parse_nanos(frac, n)?;
                    }
                }
                Std::PM | Std::Pm => {
                    if value.len() < 2 {
                        return Err(BAD);
                    }
                    let (p, rest) = value.split_at(2);
                    value = rest;
                    let (pm_s, am_s): (&[u8], &[u8]) = if std == Std::PM { (b"PM", b"AM") } else { (b"pm", b"am") };
                    if p == pm_s {
                        pm = true;
                    } else if p == am_s {
                        am = true;
                    } else {
                        return Err(BAD);
                    }
                }
                Std::Tz => {
                    if value.starts_with(b"UTC") {
                        utc = true;
                        value = &value[3..];
                        return Ok(());
                    }
                    let n = time_zone_len(value).ok_or(BAD)?;
                    zone_name = String::from_utf8_lossy(&value[..n]).into_owned();
                    value = &value[n..];
                }
                Std::Frac(n, _, false) => {
                    let ndigit = 1 + n;
                    if value.len() < ndigit {
                        return Err(BAD);
                    }
                    let frac = value;
                    value = &value[ndigit..];
                    (nsec, range_err) = parse_nanos(frac, ndigit)?;
                }
                Std::Frac(_, _, true) => {
                    let b = value;
                    if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
                        return Ok(());
                    }
                    let mut i = 0;
                    while i < 9 && is_digit(b, i + 1) {
                        i += 1;
                    }
                    let frac = value;
                    value = &value[1 + i..];
                    (nsec, range_err) = parse_nanos(frac, 1 + i)?;
                }
                tz => {
                    if matches!(tz, Std::Iso8601Tz | Std::Iso8601ShortTz | Std::Iso8601ColonTz)
                        && value.starts_with(b"Z")
                    {
                        value = &value[1..];
                        utc = true;
                        return Ok(());
                    }
                    let b = value;
                    let (sign, hh, mm, ss, rest) = match tz {
                        Std::Iso8601ColonTz | Std::NumColonTz => {
                            if b.len() < 6 || b[3] != b':' {
                                return Err(BAD);
                            }
                            (b[0], &value[1..3], &value[4..6], b"00".as_slice(), &value[6..])
                        }
                        Std::NumShortTz | Std::Iso8601ShortTz => {
                            if b.len() < 3 {
                                return Err(BAD);
                            }
                            (b[0], &value[1..3], b"00".as_slice(), b"00".as_slice(), &value[3..])
                        }
                        Std::Iso8601ColonSecondsTz | Std::NumColonSecondsTz => {
                            if b.len() < 9 || b[3] != b':' || b[6] != b':' {
                                return Err(BAD);
                            }
                            (b[0], &value[1..3], &value[4..6], &value[7..9], &value[9..])
                        }
                        Std::Iso8601SecondsTz | Std::NumSecondsTz => {
                            if b.len() < 7 {
                                return Err(BAD);
                            }
                            (b[0], &value[1..3], &value[3..5], &value[5..7], &value[7..])
                        }
                        _ => {
                            if b.len() < 5 {
                                return Err(BAD);
                            }
                            (b[0], &value[1..3], &value[3..5], b"00".as_slice(), &value[5..])
                        }
                    };
                    value = rest;
                    let off = (atoi(hh)? * 60 + atoi(mm)?) * 60 + atoi(ss)?;
                    let off = match sign {
                        b'+' => off,
                        b'-' => -off,
                        _ => return Err(BAD),
                    };
                    zone_offset = Some(off as i32);
                }
            }
            Ok(())
        })();
        if !range_err.is_empty() {
            return Err(perr(std_str, value, &format!(": {range_err} out of range")));
        }
        if res.is_err() {
            return Err(perr(std_str, value, ""));
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let mut m = 0;
        let mut d = 0;
        if is_leap(year) {
            if yday == 31 + 29 {
                m = 2;
                d = 29;
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(perr("", value, ": day-of-year out of range"));
        }
        if m == 0 {
            let before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
            m = (yday - 1) / 31 + 1;
            if before[m as usize] < yday {
                m += 1;
            }
            d = yday - before[(m - 1) as usize];
        }
        if month >= 0 && month != m {
            return Err(perr("", value, ": day-of-year does not match month"));
        }
        month = m;
        if day >= 0 && day != d {
            return Err(perr("", value, ": day-of-year does not match day"));
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
    if day < 1 || day > days_in(month, year) {
        return Err(perr("", value, ": day out of range"));
    }
    let zone = if utc {
        ParsedZone::Utc
    } else if let Some(off) = zone_offset {
        ParsedZone::Offset(off, zone_name)
    } else if !zone_name.is_empty() {
        let gmt = zone_name
            .strip_prefix("GMT")
            .filter(|r| !r.is_empty())
            .and_then(|r| atoi(r.as_bytes()).ok());
        ParsedZone::Name(zone_name, gmt.map(|h| (h * 3600) as i32))
    } else {
        ParsedZone::None
    };
    Ok(Parsed {
        year,
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
        minute: min as u8,
        second: sec as u8,
        nanos: nsec,
        zone,
    })
}
