//! goyaml.v2's reading of a plain scalar (YAML 1.1): `yes`/`on`/`y` are booleans, `0777` is
//! octal, `0x1F` hex, `1_000` an integer, `~` null, `2001-12-14` a timestamp (kept as its
//! text), `.inf`/`.nan` floats.

/// What a plain (or tagged) scalar resolves to.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// `~`, `null`, empty.
    Null,
    /// `true`, `yes`, `on`, `y` and their negations.
    Bool(bool),
    /// An integer that fits an int64.
    Int(i64),
    /// An integer above int64's range that fits a uint64.
    Uint(u64),
    /// A float (possibly infinite or NaN).
    Float(f64),
    /// A string (also a timestamp, which v2 leaves as its text for `interface{}`).
    Str,
}

/// The YAML core tag prefix.
pub const CORE: &str = "tag:yaml.org,2002:";

/// The kind of the scalar's resolved tag, for `cannot decode !!str ... as a !!int`.
fn short(s: &Scalar, timestamp: bool) -> &'static str {
    match s {
        Scalar::Null => "!!null",
        Scalar::Bool(_) => "!!bool",
        Scalar::Int(_) | Scalar::Uint(_) => "!!int",
        Scalar::Float(_) => "!!float",
        Scalar::Str if timestamp => "!!timestamp",
        Scalar::Str => "!!str",
    }
}

fn keyword(s: &str) -> Option<Scalar> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Scalar::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Scalar::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// Resolves `value` under `tag` (a full tag, `None` for a plain untagged scalar) as goyaml.v2
/// does; `Err` carries v2's "cannot decode" message. `Ok((Scalar::Str, _))` means the text
/// itself is the value; the bool says it looked like a timestamp.
pub fn resolve(tag: Option<&str>, value: &str) -> Result<Scalar, String> {
    let tag_suffix = tag.map(|t| t.strip_prefix(CORE).unwrap_or("\u{0}"));
    // Only "", str, bool, int, float and timestamp tags are resolved; others keep the text.
    match tag_suffix {
        None | Some("str" | "bool" | "int" | "float" | "timestamp") => {}
        Some(_) => return Ok(Scalar::Str),
    }
    let (resolved, timestamp) = resolve_plain(value, tag_suffix);
    match tag_suffix {
        None | Some("str") => Ok(resolved),
        Some(want) => {
            let got = short(&resolved, timestamp);
            if got[2..] == *want {
                return Ok(resolved);
            }
            if want == "float"
                && let Scalar::Int(i) = resolved
            {
                return Ok(Scalar::Float(i as f64));
            }
            Err(format!("cannot decode {got} `{value}` as a !!{want}"))
        }
    }
}

fn resolve_plain(value: &str, tag: Option<&str>) -> (Scalar, bool) {
    if tag == Some("str") {
        return (Scalar::Str, false);
    }
    let hint = match value.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => return (Scalar::Str, false),
    };
    if let Some(k) = keyword(value) {
        return (k, false);
    }
    match hint {
        b'.' => {
            if is_yaml_float(value)
                && let Some(f) = parse_float(value)
            {
                return (Scalar::Float(f), false);
            }
        }
        b'D' | b'S' => {
            if (tag.is_none() || tag == Some("timestamp")) && is_timestamp(value) {
                return (Scalar::Str, true);
            }
            let plain: String = value.chars().filter(|c| *c != '_').collect();
            if let Some(n) = parse_go_int(&plain) {
                return (n, false);
            }
            if is_yaml_float(&plain)
                && let Some(f) = parse_float(&plain)
            {
                return (Scalar::Float(f), false);
            }
            if let Some(bits) = plain.strip_prefix("0b") {
                if let Some(n) = parse_digits(bits, 2, false) {
                    return (n, false);
                }
            } else if let Some(bits) = plain.strip_prefix("-0b")
                && let Some(n) = parse_digits(bits, 2, true)
            {
                return (n, false);
            }
        }
        _ => {}
    }
    (Scalar::Str, false)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// A float in range (Go's ParseFloat fails on overflow).
fn parse_float(s: &str) -> Option<f64> {
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`.
fn parse_go_int(s: &str) -> Option<Scalar> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (base, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    let n = parse_digits(digits, base, neg)?;
    // ParseUint takes no sign.
    if matches!(n, Scalar::Uint(_)) && s.starts_with('+') {
        return None;
    }
    Some(n)
}

fn parse_digits(digits: &str, base: u32, neg: bool) -> Option<Scalar> {
    if digits.is_empty() {
        return None;
    }
    let mut mag: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(base)?;
        mag = mag.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    if neg {
        if mag <= 1u64 << 63 {
            Some(Scalar::Int((mag as i128).wrapping_neg() as i64))
        } else {
            None
        }
    } else if let Ok(i) = i64::try_from(mag) {
        Some(Scalar::Int(i))
    } else {
        Some(Scalar::Uint(mag))
    }
}

/// goyaml.v2's timestamp forms: `2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00` (also `t`),
/// `2006-1-2 15:4:5.999999999`.
pub(crate) fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let year = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if year != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    let mut p = Cursor { b, i: 5 };
    let Some(month) = p.num(1, 2) else { return false };
    if !p.eat(b'-') {
        return false;
    }
    let Some(day) = p.num(1, 2) else { return false };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(&s[..4], month) {
        return false;
    }
    if p.i == b.len() {
        return true;
    }
    let zoned = match b[p.i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    p.i += 1;
    let Some(h) = p.num(1, 2) else { return false };
    if !p.eat(b':') {
        return false;
    }
    let Some(m) = p.num(1, 2) else { return false };
    if !p.eat(b':') {
        return false;
    }
    let Some(sec) = p.num(1, 2) else { return false };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    if p.i < b.len() && (b[p.i] == b'.' || b[p.i] == b',') {
        p.i += 1;
        let start = p.i;
        while p.i < b.len() && b[p.i].is_ascii_digit() {
            p.i += 1;
        }
        if p.i == start {
            return false;
        }
    }
    if !zoned {
        return p.i == b.len();
    }
    match b.get(p.i) {
        Some(b'Z') => p.i + 1 == b.len(),
        Some(b'+' | b'-') => {
            p.i += 1;
            let Some(zh) = p.num(2, 2) else { return false };
            if !p.eat(b':') {
                return false;
            }
            let Some(zm) = p.num(2, 2) else { return false };
            zh <= 24 && zm <= 60 && p.i == b.len()
        }
        _ => false,
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn num(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        let mut n = 0u32;
        while self.i < self.b.len() && self.i - start < max && self.b[self.i].is_ascii_digit() {
            n = n * 10 + u32::from(self.b[self.i] - b'0');
            self.i += 1;
        }
        (self.i - start >= min).then_some(n)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
}

fn days_in_month(year: &str, month: u32) -> u32 {
    let y: u32 = year.parse().unwrap_or(1);
    match month {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_plain_scalars() {
        let r = |s| resolve(None, s).unwrap();
        assert_eq!(r("yes"), Scalar::Bool(true));
        assert_eq!(r("No"), Scalar::Bool(false));
        assert_eq!(r("yEs"), Scalar::Str);
        assert_eq!(r("tRUE"), Scalar::Str);
        assert_eq!(r("0777"), Scalar::Int(511));
        assert_eq!(r("0x1F"), Scalar::Int(31));
        assert_eq!(r("0o17"), Scalar::Int(15));
        assert_eq!(r("0b101"), Scalar::Int(5));
        assert_eq!(r("-0b101"), Scalar::Int(-5));
        assert_eq!(r("1_000"), Scalar::Int(1000));
        assert_eq!(r("+12"), Scalar::Int(12));
        assert_eq!(r("08"), Scalar::Float(8.0));
        assert_eq!(r("12345678901234567890"), Scalar::Uint(12345678901234567890));
        assert_eq!(r("1e400"), Scalar::Str);
        assert_eq!(r(".5"), Scalar::Float(0.5));
        assert_eq!(r("1e6"), Scalar::Float(1e6));
        assert_eq!(r("2001-12-14t21:59:43.10-05:00"), Scalar::Str);
        assert_eq!(r("~"), Scalar::Null);
        assert_eq!(r(""), Scalar::Null);
        assert_eq!(r("<<"), Scalar::Str);
        assert_eq!(resolve(Some("tag:yaml.org,2002:float"), "3"), Ok(Scalar::Float(3.0)));
        assert_eq!(
            resolve(Some("tag:yaml.org,2002:int"), "abc"),
            Err("cannot decode !!str `abc` as a !!int".into())
        );
        assert_eq!(resolve(Some("tag:yaml.org,2002:str"), "1"), Ok(Scalar::Str));
        assert_eq!(resolve(Some("!foo"), "1"), Ok(Scalar::Str));
    }
}
