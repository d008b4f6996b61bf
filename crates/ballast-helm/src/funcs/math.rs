//! sprig's math functions. Integer maths goes through `int64` as spf13/cast converts (strings
//! parsed, floats truncated, nil 0, overflow wraps); float maths goes through exact decimals
//! as shopspring/decimal does (`addf 0.1 0.2` is 0.3); sequences are capped at [`MAX_ITEMS`].

use ballast_gotemplate::fmt::{format_float_g, sprint_value};
use ballast_gotemplate::{Args, Arity, FuncMap, Value};

/// The longest list `until`, `untilStep` and `seq` build.
pub(crate) const MAX_ITEMS: usize = 1 << 20;

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    m.pure("add1", Exact(1), |a| Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1))));
    m.pure("add", AtLeast(0), |a| {
        Ok(Value::Int64(a.iter().fold(0i64, |s, v| s.wrapping_add(to_int64(v)))))
    });
    m.pure("sub", Exact(2), |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    m.pure("mul", AtLeast(1), |a| {
        Ok(Value::Int64(
            a[1..].iter().fold(to_int64(&a[0]), |p, v| p.wrapping_mul(to_int64(v))),
        ))
    });
    m.pure("div", Exact(2), |a| {
        let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
        if y == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(x.wrapping_div(y)))
    });
    m.pure("mod", Exact(2), |a| {
        let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
        if y == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(x.wrapping_rem(y)))
    });
    for name in ["max", "biggest"] {
        m.pure(name, AtLeast(1), |a| {
            Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
        });
    }
    m.pure("min", AtLeast(1), |a| {
        Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
    });
    m.pure("maxf", AtLeast(1), |a| {
        Ok(Value::Float(
            a[1..].iter().map(to_float64).fold(to_float64(&a[0]), go_max),
        ))
    });
    m.pure("minf", AtLeast(1), |a| {
        Ok(Value::Float(
            a[1..].iter().map(to_float64).fold(to_float64(&a[0]), go_min),
        ))
    });
    m.pure("add1f", Exact(1), |a| decimal_op(&a[0], &[Value::Int(1)], Op::Add));
    m.pure("addf", AtLeast(0), |a| decimal_op(&Value::Float(0.0), a, Op::Add));
    m.pure("subf", AtLeast(1), |a| decimal_op(&a[0], &a[1..], Op::Sub));
    m.pure("mulf", AtLeast(1), |a| decimal_op(&a[0], &a[1..], Op::Mul));
    m.pure("divf", AtLeast(1), |a| decimal_op(&a[0], &a[1..], Op::Div));
    m.pure("ceil", Exact(1), |a| Ok(Value::Float(to_float64(&a[0]).ceil())));
    m.pure("floor", Exact(1), |a| Ok(Value::Float(to_float64(&a[0]).floor())));
    m.pure("round", AtLeast(2), |a| {
        let places = Args::int(&a[1])?;
        let on = match a.get(2) {
            Some(v) => Args::float64(v)?,
            None => 0.5,
        };
        for v in a.iter().skip(3) {
            Args::float64(v)?;
        }
        Ok(Value::Float(round(to_float64(&a[0]), places as f64, on)))
    });
    m.pure("until", Exact(1), |a| {
        let n = Args::int(&a[0])?;
        int_list(until_step(0, n, if n < 0 { -1 } else { 1 })?)
    });
    m.pure("untilStep", Exact(3), |a| {
        int_list(until_step(Args::int(&a[0])?, Args::int(&a[1])?, Args::int(&a[2])?)?)
    });
    m.pure("seq", AtLeast(0), |a| {
        let p = a.iter().map(Args::int).collect::<Result<Vec<_>, _>>()?;
        let items = match p[..] {
            [end] => {
                let inc = if end < 1 { -1 } else { 1 };
                until_step(1, end.wrapping_add(inc), inc)?
            }
            [start, end] => {
                let inc = if end < start { -1 } else { 1 };
                until_step(start, end.wrapping_add(inc), inc)?
            }
            [start, step, end] => {
                let inc = if end < start { -1 } else { 1 };
                if end < start && step > 0 {
                    Vec::new()
                } else {
                    until_step(start, end.wrapping_add(inc), step)?
                }
            }
            _ => Vec::new(),
        };
        let text: Vec<String> = items.iter().map(i64::to_string).collect();
        Ok(Value::from(text.join(" ")))
    });
    m.pure("atoi", Exact(1), |a| Ok(Value::Int(atoi(Args::string(&a[0])?))));
    m.pure("int", Exact(1), |a| Ok(Value::Int(to_int64(&a[0]))));
    m.pure("int64", Exact(1), |a| Ok(Value::Int64(to_int64(&a[0]))));
    m.pure("float64", Exact(1), |a| Ok(Value::Float(to_float64(&a[0]))));
    m.pure("toDecimal", Exact(1), |a| {
        let text = sprint_value(&a[0]);
        Ok(Value::Int64(parse_int_base(&text, 8).unwrap_or(0)))
    });
}

fn int_list(items: Vec<i64>) -> Result<Value, String> {
    Ok(Value::list(items.into_iter().map(Value::Int).collect()))
}

/// sprig's `untilStep`: from `start` towards `stop` (excluded) by `step`; empty when the step
/// does not lead there. More than [`MAX_ITEMS`] items is an error.
pub(crate) fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    let count = if stop < start {
        if step >= 0 {
            return Ok(Vec::new());
        }
        (start as i128 - stop as i128 + (-step as i128) - 1) / -(step as i128)
    } else {
        if step <= 0 {
            return Ok(Vec::new());
        }
        (stop as i128 - start as i128 + step as i128 - 1) / step as i128
    };
    if count > MAX_ITEMS as i128 {
        return Err(format!("sequence of {count} items exceeds the limit of {MAX_ITEMS}"));
    }
    Ok((0..count as i64)
        .map(|i| start.wrapping_add(i.wrapping_mul(step)))
        .collect())
}

/// Go's `int64(f)` on amd64: truncation, with NaN and out-of-range values giving the minimum.
fn float_to_i64(f: f64) -> i64 {
    // 2^63 is exactly representable; every float in [-2^63, 2^63) converts.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// spf13/cast's `ToInt64`: integers as they are, floats truncated, bools 1/0, strings parsed
/// as Go integer literals (`0x1F`, `017`, `1_000`; a trailing `.0` dropped), anything else 0.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Float(f) => float_to_i64(*f),
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_int_base(trim_zero_decimal(s), 0).unwrap_or(0),
        _ => 0,
    }
}

/// spf13/cast's `ToFloat64`: numbers converted, bools 1/0, strings parsed as Go floats,
/// anything else 0.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// cast's `trimZeroDecimal`: `12.00` → `12`, other strings unchanged.
fn trim_zero_decimal(s: &str) -> &str {
    let mut found_zero = false;
    for (i, b) in s.bytes().enumerate().rev() {
        match b {
            b'.' if found_zero => return &s[..i],
            b'.' => {}
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Go's `strconv.ParseFloat(s, 64)`: decimal and hexadecimal (`0x1p3`) forms, `_` between
/// digits, `inf`/`infinity`/`nan` in any case; `None` on a syntax error or an overflow (cast
/// then gives 0).
fn parse_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let magnitude = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            if body.contains('_') && !underscore_ok(body) {
                return None;
            }
            let clean: String = lower.chars().filter(|c| *c != '_').collect();
            let x = match clean.strip_prefix("0x") {
                Some(hex) => parse_hex_float(hex)?,
                None => {
                    let valid = !clean.is_empty()
                        && clean
                            .bytes()
                            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
                        && clean.bytes().any(|b| b.is_ascii_digit());
                    if !valid {
                        return None;
                    }
                    clean.parse::<f64>().ok()?
                }
            };
            if x.is_infinite() {
                return None;
            }
            x
        }
    };
    Some(if neg { -magnitude } else { magnitude })
}

/// The digits after `0x` of a Go hexadecimal float: hex mantissa with an optional point, then
/// a mandatory binary exponent `p±N`.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = s.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int.chars().chain(frac.chars()) {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let shift = exp.checked_sub(i32::try_from(frac.len()).ok()?.checked_mul(4)?)?;
    Some(value * 2f64.powi(shift))
}

/// Go's `strconv.ParseInt(s, base, 64)`; base 0 reads the prefix (`0x`, `0o`, `0b`, `0`) and
/// allows `_` between digits.
pub(crate) fn parse_int_base(s: &str, base: u32) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits, underscores) = if base == 0 {
        let lower = body.to_ascii_lowercase();
        if lower.starts_with("0x") {
            (16, &body[2..], true)
        } else if lower.starts_with("0o") {
            (8, &body[2..], true)
        } else if lower.starts_with("0b") {
            (2, &body[2..], true)
        } else if body.starts_with('0') && body.len() > 1 {
            (8, &body[1..], true)
        } else {
            (10, body, true)
        }
    } else {
        (base, body, false)
    };
    if underscores && base == 0 && !underscore_ok(body) {
        return None;
    }
    let clean: String = digits.chars().filter(|c| !(underscores && *c == '_')).collect();
    if clean.is_empty() {
        return None;
    }
    let mag = u64::from_str_radix(&clean, radix).ok()?;
    if neg {
        if mag > 1 << 63 {
            return None;
        }
        Some((mag as i64).wrapping_neg())
    } else {
        i64::try_from(mag).ok()
    }
}

/// Go's `underscoreOK`: underscores only between digits or after a base prefix.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = '^';
    let mut i = 0;
    let hex = b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'x' | b'o' | b'b');
    if b.len() >= 2 && b[0] == b'0' && hex {
        i = 2;
        saw = '0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = '0';
        } else if c == b'_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
        i += 1;
    }
    saw != '_'
}

/// Go's `strconv.Atoi` as sprig wraps it: decimal only, 0 on a syntax error, the clamped
/// value on overflow.
fn atoi(s: &str) -> i64 {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    match s.parse::<i64>() {
        Ok(v) => v,
        Err(_) if s.starts_with('-') => i64::MIN,
        Err(_) => i64::MAX,
    }
}

/// Go's `math.Max`: NaN wins, +0 beats -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { b } else { a }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: NaN wins, -0 beats +0.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { a } else { b }
    } else if a < b {
        a
    } else {
        b
    }
}

/// sprig's `round`: `places` decimal places, rounding up when the fraction is at least `on`.
fn round(x: f64, places: f64, on: f64) -> f64 {
    let pow = 10f64.powf(places);
    let digit = pow * x;
    let frac = digit - digit.trunc();
    let r = if frac >= on { digit.ceil() } else { digit.floor() };
    r / pow
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A decimal `mantissa × 10^exp`, exact while the mantissa fits an i128.
#[derive(Clone, Copy)]
struct Decimal {
    m: i128,
    e: i32,
}

impl Decimal {
    /// shopspring's `NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let m: i128 = format!("{int}{frac}").parse().ok()?;
        Some(Decimal {
            m,
            e: exp - frac.len() as i32,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(f64::NAN)
    }

    fn scaled(self, e: i32) -> Option<i128> {
        let shift = u32::try_from(self.e.checked_sub(e)?).ok()?;
        self.m.checked_mul(10i128.checked_pow(shift)?)
    }

    fn apply(self, op: Op, o: Decimal) -> Option<Decimal> {
        match op {
            Op::Add | Op::Sub => {
                let e = self.e.min(o.e);
                let (a, b) = (self.scaled(e)?, o.scaled(e)?);
                let m = if matches!(op, Op::Add) {
                    a.checked_add(b)?
                } else {
                    a.checked_sub(b)?
                };
                Some(Decimal { m, e })
            }
            Op::Mul => Some(Decimal {
                m: self.m.checked_mul(o.m)?,
                e: self.e.checked_add(o.e)?,
            }),
            Op::Div => {
                // Rounded half away from zero to 16 decimal places, as shopspring's Div.
                const PLACES: i32 = 16;
                let shift = self.e.checked_sub(o.e)?.checked_add(PLACES)?;
                let (num, den) = if shift >= 0 {
                    (self.m.checked_mul(10i128.checked_pow(shift as u32)?)?, o.m)
                } else {
                    (self.m, o.m.checked_mul(10i128.checked_pow(shift.unsigned_abs())?)?)
                };
                let (q, r) = (num.checked_div(den)?, num.checked_rem(den)?);
                let q = if r.unsigned_abs() * 2 >= den.unsigned_abs() {
                    q + num.signum() * den.signum()
                } else {
                    q
                };
                Some(Decimal { m: q, e: -PLACES })
            }
        }
    }
}

/// sprig's `execDecimalOp`: folds `rest` into `first` with exact decimal arithmetic; falls
/// back to float arithmetic where the decimals outgrow 38 digits.
fn decimal_op(first: &Value, rest: &[Value], op: Op) -> Result<Value, String> {
    let finite = |x: f64| {
        if x.is_finite() {
            Ok(x)
        } else {
            Err(format!("Cannot create a Decimal from {}", format_float_g(x)))
        }
    };
    let mut acc_f = finite(to_float64(first))?;
    let mut acc = Decimal::from_f64(acc_f);
    for v in rest {
        let x = finite(to_float64(v))?;
        if matches!(op, Op::Div) && x == 0.0 {
            return Err("decimal division by 0".into());
        }
        acc = match (acc, Decimal::from_f64(x)) {
            (Some(a), Some(b)) => a.apply(op, b),
            _ => None,
        };
        acc_f = match acc {
            Some(d) => d.to_f64(),
            None => match op {
                Op::Add => acc_f + x,
                Op::Sub => acc_f - x,
                Op::Mul => acc_f * x,
                Op::Div => acc_f / x,
            },
        };
        if acc.is_none() {
            acc = Decimal::from_f64(acc_f);
        }
    }
    Ok(Value::Float(acc_f))
}

#[cfg(test)]
mod tests {
    use super::super::strings::test_support::*;
    use ballast_gotemplate::Value;

    const T: Value = Value::Bool(true);

    #[test]
    fn integer_arithmetic_goes_through_int64() {
        assert_eq!(p("add1", &[i(1)]), "2");
        assert_eq!(p("add1", &[s("5")]), "6");
        assert_eq!(p("add1", &[f(1.9)]), "2");
        assert_eq!(p("add1", &[NIL]), "1");
        assert!(matches!(call("add1", &[i(1)]), Ok(Value::Int64(2))));
        assert_eq!(p("add", &[i(1), f(2.7), s("3"), T]), "7");
        assert_eq!(p("add", &[]), "0");
        assert_eq!(p("sub", &[i(5), s("0x10")]), "-11");
        assert_eq!(p("sub", &[i(1), s("08")]), "1");
        assert_eq!(p("sub", &[i(1), s("010")]), "-7");
        assert_eq!(p("sub", &[i(1), s("1.0")]), "0");
        assert_eq!(p("sub", &[i(1), s("1.5")]), "1");
        assert_eq!(p("sub", &[i(1), s("1_000")]), "-999");
        assert_eq!(p("mul", &[i(2), i(3), i(4)]), "24");
        assert_eq!(p("mul", &[i(i64::MAX), i(2)]), "-2");
    }

    #[test]
    fn div_and_mod() {
        assert_eq!(p("div", &[i(7), i(2)]), "3");
        assert_eq!(p("div", &[i(-7), i(2)]), "-3");
        assert_eq!(p("mod", &[i(-7), i(2)]), "-1");
        assert_eq!(p("div", &[i(1), i(0)]), "ERR runtime error: integer divide by zero");
        assert_eq!(p("mod", &[i(1), i(0)]), "ERR runtime error: integer divide by zero");
    }

    #[test]
    fn max_min_biggest() {
        assert_eq!(p("max", &[i(1), f(2.5)]), "2");
        assert_eq!(p("min", &[i(3), i(1), i(2)]), "1");
        assert_eq!(p("biggest", &[i(1), i(5)]), "5");
        assert_eq!(p("maxf", &[i(1), f(2.5), s("3.5")]), "3.5");
        assert_eq!(p("minf", &[i(1), f(-2.5)]), "-2.5");
        assert_eq!(p("maxf", &[i(1), f(f64::NAN)]), "NaN");
        assert_eq!(p("minf", &[f(f64::NEG_INFINITY), i(1)]), "-Inf");
    }

    #[test]
    fn float_arithmetic_is_decimal() {
        assert_eq!(p("add1f", &[f(1.5)]), "2.5");
        assert_eq!(p("addf", &[f(0.1), f(0.2)]), "0.3");
        assert_eq!(p("addf", &[]), "0");
        assert_eq!(p("subf", &[i(1), f(0.9)]), "0.1");
        assert_eq!(p("mulf", &[f(0.1), i(3)]), "0.3");
        assert_eq!(p("divf", &[i(1), i(3)]), "0.3333333333333333");
        assert_eq!(p("divf", &[i(10), i(3)]), "3.3333333333333335");
        assert_eq!(p("divf", &[i(2), i(3)]), "0.6666666666666667");
        assert_eq!(p("divf", &[i(1), i(0)]), "ERR decimal division by 0");
        assert_eq!(
            p("addf", &[f(f64::INFINITY), i(1)]),
            "ERR Cannot create a Decimal from +Inf"
        );
        assert_eq!(p("addf", &[f(1e300), f(1e300)]), "2e+300");
        assert_eq!(p("mulf", &[f(1e200), f(1e200)]), "+Inf");
        assert_eq!(p("mulf", &[f(0.1), f(0.1), f(0.1)]), "0.001");
        assert_eq!(p("divf", &[i(1), i(7)]), "0.1428571428571429");
        assert_eq!(p("divf", &[i(-2), i(3)]), "-0.6666666666666667");
        assert_eq!(p("subf", &[f(0.3), f(0.1)]), "0.2");
        assert_eq!(p("addf", &[f(1e-20), i(1)]), "1");
        assert_eq!(p("divf", &[f(0.1), f(3e-20)]), "3.3333333333333335e+18");
        assert_eq!(p("add1f", &[s("x")]), "1");
        assert!(matches!(call("addf", &[i(1)]), Ok(Value::Float(_))));
    }

    #[test]
    fn ceil_floor_round() {
        assert_eq!(p("ceil", &[f(1.2)]), "2");
        assert_eq!(p("floor", &[f(-1.2)]), "-2");
        assert_eq!(p("ceil", &[s("2.1")]), "3");
        assert!(matches!(call("ceil", &[i(1)]), Ok(Value::Float(_))));
        assert_eq!(p("round", &[f(2.5), i(0)]), "3");
        assert_eq!(p("round", &[f(3.14158), i(2)]), "3.14");
        assert_eq!(p("round", &[f(-2.5), i(0)]), "-3");
        assert_eq!(p("round", &[f(2.45), i(1)]), "2.5");
        assert_eq!(p("round", &[f(2.44), i(1), f(0.3)]), "2.5");
        assert_eq!(p("round", &[f(1234.5), i(-2)]), "1200");
        assert_eq!(p("round", &[NIL, i(0)]), "0");
        assert_eq!(p("ceil", &[NIL]), "0");
        assert_eq!(p("round", &[f(2.5), i(0), f(0.6)]), "2");
        assert_eq!(p("round", &[f(1.005), i(2)]), "1");
        assert_eq!(
            p("round", &[f(2.5), f(1.5)]),
            "ERR wrong type for value; expected int; got float64"
        );
    }

    #[test]
    fn until_and_until_step() {
        assert_eq!(p("until", &[i(3)]), "[0 1 2]");
        assert_eq!(p("until", &[i(-3)]), "[0 -1 -2]");
        assert_eq!(p("until", &[i(0)]), "[]");
        assert_eq!(p("untilStep", &[i(0), i(10), i(3)]), "[0 3 6 9]");
        assert_eq!(p("untilStep", &[i(10), i(0), i(-3)]), "[10 7 4 1]");
        assert_eq!(p("untilStep", &[i(0), i(10), i(-1)]), "[]");
        assert!(p("until", &[i(1 << 40)]).starts_with("ERR "));
        assert!(p("untilStep", &[i(i64::MIN), i(i64::MAX), i(1)]).starts_with("ERR "));
    }

    #[test]
    fn seq_counts_inclusively() {
        assert_eq!(p("seq", &[i(3)]), "1 2 3");
        assert_eq!(p("seq", &[i(2), i(5)]), "2 3 4 5");
        assert_eq!(p("seq", &[i(5), i(2)]), "5 4 3 2");
        assert_eq!(p("seq", &[i(0), i(2), i(10)]), "0 2 4 6 8 10");
        assert_eq!(p("seq", &[i(10), i(-2), i(0)]), "10 8 6 4 2 0");
        assert_eq!(p("seq", &[i(10), i(2), i(0)]), "");
        assert_eq!(p("seq", &[i(0)]), "1 0");
        assert_eq!(p("seq", &[i(-2)]), "1 0 -1 -2");
        assert_eq!(p("seq", &[]), "");
        assert_eq!(p("seq", &[i(1), i(2), i(3), i(4)]), "");
        assert!(p("seq", &[i(1 << 40)]).starts_with("ERR "));
    }

    #[test]
    fn conversions() {
        assert_eq!(p("atoi", &[s("42")]), "42");
        assert_eq!(p("atoi", &[s("x")]), "0");
        assert_eq!(p("atoi", &[s("+7")]), "7");
        assert_eq!(p("atoi", &[s("99999999999999999999")]), "9223372036854775807");
        assert!(matches!(call("atoi", &[s("1")]), Ok(Value::Int(1))));
        assert_eq!(p("int", &[s("0x1F")]), "31");
        assert_eq!(p("int", &[f(1.9)]), "1");
        assert_eq!(p("int", &[f(-1.9)]), "-1");
        assert_eq!(p("int", &[NIL]), "0");
        assert_eq!(p("int", &[s("abc")]), "0");
        assert_eq!(p("int", &[T]), "1");
        assert_eq!(p("int", &[s("12.00")]), "12");
        assert!(matches!(call("int", &[i(1)]), Ok(Value::Int(1))));
        assert_eq!(p("int64", &[s("5")]), "5");
        assert_eq!(p("int64", &[f(1e30)]), "-9223372036854775808");
        assert!(matches!(call("int64", &[i(5)]), Ok(Value::Int64(5))));
        assert_eq!(p("float64", &[s("1.5")]), "1.5");
        assert_eq!(p("float64", &[i(2)]), "2");
        assert_eq!(p("float64", &[s("x")]), "0");
        assert_eq!(p("float64", &[s("1e3")]), "1000");
        assert!(matches!(call("float64", &[i(1)]), Ok(Value::Float(_))));
        assert_eq!(p("toDecimal", &[s("0777")]), "511");
        assert_eq!(p("toDecimal", &[i(777)]), "511");
        assert_eq!(p("toDecimal", &[s("8")]), "0");
        assert_eq!(p("toDecimal", &[f(1.0)]), "1");
        assert_eq!(p("toDecimal", &[s("-10")]), "-8");
        assert_eq!(p("toDecimal", &[s("0o17")]), "0");
        assert_eq!(p("toDecimal", &[NIL]), "0");
        for (input, want) in [
            ("1e3", "0"),
            (" 5", "0"),
            ("-0x10", "-16"),
            ("0b101", "5"),
            ("0o17", "15"),
            ("1_0", "10"),
            ("_10", "0"),
            ("0_1", "1"),
        ] {
            assert_eq!(p("int", &[s(input)]), want, "int {input:?}");
        }
        assert_eq!(p("int64", &[s("9223372036854775808")]), "0");
        assert_eq!(p("int64", &[s("-9223372036854775808")]), "-9223372036854775808");
        for (input, want) in [
            ("0x1p3", "8"),
            ("1_0", "10"),
            (".5", "0.5"),
            ("5.", "5"),
            ("Inf", "+Inf"),
            ("1e400", "0"),
        ] {
            assert_eq!(p("float64", &[s(input)]), want, "float64 {input:?}");
        }
        assert_eq!(p("int", &[f(f64::NAN)]), "-9223372036854775808");
        assert_eq!(p("add1", &[i(i64::MAX)]), "-9223372036854775808");
        assert_eq!(p("mod", &[i(i64::MIN), i(-1)]), "0");
        assert_eq!(p("div", &[i(i64::MIN), i(-1)]), "-9223372036854775808");
    }
}
