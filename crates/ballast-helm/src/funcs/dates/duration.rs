//! Go's `time.Duration`: `String()`, `ParseDuration` and `Round`, on signed nanoseconds.

use super::layout::quote;

/// Nanoseconds per unit.
pub(crate) const SECOND: i64 = 1_000_000_000;

/// Go's `Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn to_string(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < SECOND as u64 {
        if u == 0 {
            return "0s".into();
        }
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let (frac, whole) = fraction(u, prec);
        out = format!("{whole}{frac}{unit}");
    } else {
        let (frac, whole) = fraction(u, 9);
        u = whole;
        let secs = u % 60;
        u /= 60;
        out.insert_str(0, &format!("{secs}{frac}s"));
        if u > 0 {
            out.insert_str(0, &format!("{}m", u % 60));
            u /= 60;
            if u > 0 {
                out.insert_str(0, &format!("{u}h"));
            }
        }
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// The `prec` lowest decimal digits of `v` as a fraction (".5", trailing zeros dropped, ""
/// when zero) and what is left above them.
fn fraction(v: u64, prec: u32) -> (String, u64) {
    let scale = 10u64.pow(prec);
    let digits = v % scale;
    if digits == 0 {
        return (String::new(), v / scale);
    }
    let s = format!("{digits:0width$}", width = prec as usize);
    (format!(".{}", s.trim_end_matches('0')), v / scale)
}

const LIMIT: u64 = 1 << 63;

fn leading_int(s: &str) -> Result<(u64, &str), ()> {
    let mut x: u64 = 0;
    let mut i = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        if x > LIMIT / 10 {
            return Err(());
        }
        x = x * 10 + u64::from(b - b'0');
        if x > LIMIT {
            return Err(());
        }
        i += 1;
    }
    Ok((x, &s[i..]))
}

fn leading_fraction(s: &str) -> (u64, f64, &str) {
    let (mut x, mut scale, mut overflow) = (0u64, 1f64, false);
    let mut i = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        i += 1;
        if overflow {
            continue;
        }
        if x > (LIMIT - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(b - b'0');
        if y > LIMIT {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[i..])
}

fn unit(u: &str) -> Option<u64> {
    Some(match u {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Go's `time.ParseDuration`, with its error texts.
pub(crate) fn parse(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s.starts_with('.') || s.as_bytes()[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let before = s.len();
        let (v, rest) = leading_int(s).map_err(|_| invalid())?;
        s = rest;
        let pre = before != s.len();
        let (mut f, mut scale, mut post) = (0, 1.0, false);
        if let Some(rest) = s.strip_prefix('.') {
            let before = rest.len();
            (f, scale, s) = leading_fraction(rest);
            post = before != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        let i = s.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(s.len());
        if i == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let u = &s[..i];
        s = &s[i..];
        let unit = unit(u).ok_or_else(|| format!("time: unknown unit {} in duration {}", quote(u), quote(orig)))?;
        if v > LIMIT / unit {
            return Err(invalid());
        }
        let mut v = v * unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        d += v;
        if d > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

/// Go's `Duration.Round(m)` for `m > 0`: halfway values round away from zero, saturating.
pub(crate) fn round(d: i64, m: i64) -> i64 {
    let mut r = d % m;
    if d < 0 {
        r = -r;
        if r + r < m {
            return d + r;
        }
        return d.checked_sub(m - r).unwrap_or(i64::MIN);
    }
    if r + r < m {
        return d - r;
    }
    d.checked_add(m - r).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        for (d, s) in [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (4 * 60 * SECOND + 5 * SECOND, "4m5s"),
            (4 * 60 * SECOND + 5_001_000_000, "4m5.001s"),
            (5 * 3600 * SECOND + 6 * 60 * SECOND + 7_001_000_000, "5h6m7.001s"),
            (8 * 60 * SECOND + 1, "8m0.000000001s"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
            (-SECOND, "-1s"),
        ] {
            assert_eq!(to_string(d), s);
        }
    }

    #[test]
    fn parsing() {
        for (s, d) in [
            ("0", 0),
            ("5s", 5 * SECOND),
            ("-1.5h", -5400 * SECOND),
            ("1h2m3s4ms5us6ns", 3723 * SECOND + 4_005_006),
            ("1µs", 1000),
            (".5s", SECOND / 2),
            ("+5m", 300 * SECOND),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
        ] {
            assert_eq!(parse(s), Ok(d), "{s}");
        }
        assert_eq!(parse("bad").unwrap_err(), "time: invalid duration \"bad\"");
        assert_eq!(parse("").unwrap_err(), "time: invalid duration \"\"");
        assert_eq!(parse("5").unwrap_err(), "time: missing unit in duration \"5\"");
        assert_eq!(parse("5x").unwrap_err(), "time: unknown unit \"x\" in duration \"5x\"");
        assert_eq!(
            parse("9223372036854775808ns").unwrap_err(),
            "time: invalid duration \"9223372036854775808ns\""
        );
    }
}
