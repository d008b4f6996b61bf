//! Go's `fmt` printing rules: `%v` for every value type (this file's first part) and
//! `Sprintf` verbs (`%v %s %d %q %x %t %f %g %e %T`, widths, flags and the `%!` error forms).

use crate::value::Value;

/// `fmt.Sprint(v)` for one value: `%v`.
pub fn sprint_value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, true);
    out
}

/// `fmt.Sprint(args...)`: operands printed with `%v`, a space added between two operands when
/// neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        write_value(&mut out, a, true);
    }
    out
}

/// `fmt.Sprintln(args...)`: operands separated by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a, true);
    }
    out.push('\n');
    out
}

/// `%v` of a value into `out`. `top` is false inside a collection, where nil prints `<nil>`
/// as it does at the top level too (the template's own "bare nil prints nothing" rule lives in
/// the executor, not here).
pub(crate) fn write_value(out: &mut String, v: &Value, _top: bool) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Uint(u) => out.push_str(&u.to_string()),
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => {
            out.push('[');
            for (i, x) in b.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&x.to_string());
            }
            out.push(']');
        }
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, x, false);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, x)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(out, x, false);
            }
            out.push(']');
        }
        Value::Object(o) => out.push_str(&o.fmt_go()),
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 64)` as `%v` uses it: the shortest digits that round-trip,
/// in exponent form when the decimal exponent is below -4 or at least 6 (`1e+06`, `1e-05`).
pub fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.234567e6", "-5e-5".
    let sci = shortest_e(f);
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// Go's `strconv.Quote`: a double-quoted string with Go escapes (`\n`, `\t`, `\"`, `\\`,
/// `\x7f`, `\u00a0`...), printable Unicode kept as is. `%q` and sprig's `quote` print this.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint` for characters above ASCII: control and format
/// characters, separators other than the space, and non-characters are not printable.
pub(crate) fn is_go_printable(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    !(c.is_control()
        || (0x80..0xa0).contains(&u)
        || u == 0xa0
        || u == 0xad
        || (0x2000..=0x200f).contains(&u)
        || (0x2028..=0x202f).contains(&u)
        || (0x205f..=0x206f).contains(&u)
        || u == 0x3000
        || u == 0xfeff
        || (0xfff9..=0xfffb).contains(&u)
        || (0xd800..=0xdfff).contains(&u)
        || u == 0xfffe
        || u == 0xffff)
}

/// Flags and sizes of one `%` directive.
#[derive(Clone, Copy, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt.Sprintf`: verbs `%v %+v %s %d %q %x %X %o %O %b %c %U %t %f %F %e %E %g %G %T %%`,
/// width, precision (`*` too) and flags `- + # 0 space`, with Go's error forms for a bad verb
/// (`%!d(string=x)`), a missing operand (`%!v(MISSING)`) and extra operands
/// (`%!(EXTRA int=3)`). Floats print with Go's `strconv` rules.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16 * args.len());
    let b = format.as_bytes();
    let end = b.len();
    let mut i = 0;
    let mut arg_num = 0;
    let mut reordered = false;
    while i < end {
        let last = i;
        while i < end && b[i] != b'%' {
            i += 1;
        }
        if i > last {
            out.push_str(&format[last..i]);
        }
        if i >= end {
            break;
        }
        i += 1;
        let mut f = Flags::default();
        let mut good_arg_num = true;
        while i < end {
            match b[i] {
                b'#' => f.sharp = true,
                b'0' => f.zero = !f.minus,
                b'+' => f.plus = true,
                b'-' => {
                    f.minus = true;
                    f.zero = false;
                }
                b' ' => f.space = true,
                _ => break,
            }
            i += 1;
        }
        // An explicit argument index, then the width.
        let mut after_index = arg_number(b, &mut i, &mut arg_num, args.len(), &mut reordered, &mut good_arg_num);
        if i < end && b[i] == b'*' {
            i += 1;
            match int_from_arg(args, &mut arg_num) {
                Some(w) => {
                    if w < 0 {
                        f.minus = true;
                        f.zero = false;
                    }
                    f.wid = Some(w.unsigned_abs() as usize);
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
            after_index = false;
        } else {
            let (n, ni) = parse_num(b, i);
            f.wid = n;
            i = ni;
            if after_index && f.wid.is_some() {
                good_arg_num = false;
            }
        }
        // Precision.
        if i + 1 < end && b[i] == b'.' {
            i += 1;
            if after_index {
                good_arg_num = false;
            }
            after_index = arg_number(b, &mut i, &mut arg_num, args.len(), &mut reordered, &mut good_arg_num);
            if i < end && b[i] == b'*' {
                i += 1;
                match int_from_arg(args, &mut arg_num) {
                    Some(p) if p >= 0 => f.prec = Some(p as usize),
                    _ => {
                        f.prec = None;
                        out.push_str("%!(BADPREC)");
                    }
                }
                after_index = false;
            } else {
                let (n, ni) = parse_num(b, i);
                f.prec = Some(n.unwrap_or(0));
                i = ni;
            }
        }
        if !after_index {
            after_index = arg_number(b, &mut i, &mut arg_num, args.len(), &mut reordered, &mut good_arg_num);
        }
        let _ = after_index;
        if i >= end {
            out.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('?');
        i += verb.len_utf8();
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good_arg_num {
            out.push_str("%!");
            out.push(verb);
            out.push_str("(BADINDEX)");
            continue;
        }
        if arg_num >= args.len() {
            out.push_str("%!");
            out.push(verb);
            out.push_str("(MISSING)");
            continue;
        }
        if verb == 'v' {
            f.sharp_v = f.sharp;
            f.sharp = false;
            f.plus_v = f.plus;
            f.plus = false;
        }
        print_arg(&mut out, &args[arg_num], verb, &f);
        arg_num += 1;
    }
    if !reordered && arg_num < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, a) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            if a.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(&a.type_name());
                out.push('=');
                print_arg(&mut out, a, 'v', &Flags::default());
            }
        }
        out.push(')');
    }
    out
}

/// Go's `argNumber`: an explicit `[n]` argument index at `i`; true if one was found.
fn arg_number(
    b: &[u8],
    i: &mut usize,
    arg_num: &mut usize,
    num_args: usize,
    reordered: &mut bool,
    good: &mut bool,
) -> bool {
    if *i >= b.len() || b[*i] != b'[' {
        return false;
    }
    *reordered = true;
    // parseArgNumber: at least "[n]".
    let rest = &b[*i..];
    let (index, wid, ok) = if rest.len() < 3 {
        (0usize, 1usize, false)
    } else {
        match rest.iter().position(|c| *c == b']') {
            Some(close) => {
                let (n, ni) = parse_num(rest, 1);
                match n {
                    Some(n) if ni == close && n >= 1 => (n - 1, close + 1, true),
                    _ => (0, close + 1, false),
                }
            }
            None => (0, 1, false),
        }
    };
    *i += wid;
    if ok && index < num_args {
        *arg_num = index;
        return true;
    }
    *good = false;
    ok
}

fn int_from_arg(args: &[Value], arg_num: &mut usize) -> Option<i64> {
    let a = args.get(*arg_num)?;
    *arg_num += 1;
    let n = match a {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => i64::try_from(*u).ok()?,
        _ => return None,
    };
    if !(-1_000_000..=1_000_000).contains(&n) {
        return None;
    }
    Some(n)
}

fn parse_num(b: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let start = i;
    let mut n: usize = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        if n > 1_000_000 {
            return (None, b.len());
        }
        n = n * 10 + (b[i] - b'0') as usize;
        i += 1;
    }
    if i == start { (None, i) } else { (Some(n), i) }
}

fn write_padding(out: &mut String, n: usize, f: &Flags) {
    let c = if f.zero { '0' } else { ' ' };
    for _ in 0..n {
        out.push(c);
    }
}

/// Go's `fmt.pad`: width counted in runes, left or right padding.
fn pad(out: &mut String, s: &str, f: &Flags) {
    let Some(w) = f.wid.filter(|w| *w > 0) else {
        out.push_str(s);
        return;
    };
    let n = s.chars().count();
    let fill = w.saturating_sub(n);
    if f.minus {
        out.push_str(s);
        write_padding(out, fill, f);
    } else {
        write_padding(out, fill, f);
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, v: &Value, verb: char) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if v.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(&v.type_name());
        out.push('=');
        print_arg(out, v, 'v', &Flags::default());
    }
    out.push(')');
}

fn bad_verb_flags(out: &mut String, v: &Value, verb: char, f: &Flags) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    out.push_str(&v.type_name());
    out.push('=');
    let mut g = *f;
    g.sharp_v = false;
    g.plus_v = false;
    print_arg(out, v, 'v', &g);
    out.push(')');
}

fn print_arg(out: &mut String, v: &Value, verb: char, f: &Flags) {
    if v.is_nil() {
        match verb {
            'T' | 'v' => pad(out, "<nil>", f),
            _ => bad_verb(out, v, verb),
        }
        return;
    }
    if verb == 'T' {
        let t = v.type_name();
        fmt_s(out, &t, f);
        return;
    }
    match v {
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, f),
            _ => bad_verb_flags(out, v, verb, f),
        },
        Value::Int(i) | Value::Int64(i) => fmt_integer_verb(out, *i as u64, true, verb, f, v),
        Value::Uint(u) => fmt_integer_verb(out, *u, false, verb, f, v),
        Value::Float(x) => match verb {
            'v' => fmt_float(out, *x, 'g', None, f),
            'b' | 'g' | 'G' | 'x' | 'X' => fmt_float(out, *x, verb, None, f),
            'f' | 'e' | 'E' => fmt_float(out, *x, verb, Some(6), f),
            'F' => fmt_float(out, *x, 'f', Some(6), f),
            _ => bad_verb_flags(out, v, verb, f),
        },
        Value::String(s) => fmt_string(out, s, verb, f, v),
        Value::Bytes(bytes) => match verb {
            's' => fmt_s(out, &String::from_utf8_lossy(bytes), f),
            'q' => fmt_q(out, &String::from_utf8_lossy(bytes), f),
            'x' => fmt_sx(out, bytes, false, f),
            'X' => fmt_sx(out, bytes, true, f),
            _ => {
                out.push('[');
                for (k, x) in bytes.iter().enumerate() {
                    if k > 0 {
                        out.push(' ');
                    }
                    fmt_integer_verb(out, *x as u64, false, verb, f, &Value::Uint(*x as u64));
                }
                out.push(']');
            }
        },
        Value::List(l) if f.sharp_v => {
            out.push_str(&v.type_name());
            out.push('{');
            for (k, x) in l.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                print_elem(out, x, verb, f);
            }
            out.push('}');
        }
        Value::Map(m) if f.sharp_v => {
            out.push_str(&v.type_name());
            out.push('{');
            for (k, (key, x)) in m.borrow().iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                fmt_string(out, key, verb, f, &Value::from(key.as_str()));
                out.push(':');
                print_elem(out, x, verb, f);
            }
            out.push('}');
        }
        Value::List(l) => {
            out.push('[');
            for (k, x) in l.iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                print_elem(out, x, verb, f);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (k, (key, x)) in m.borrow().iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                fmt_string(out, key, verb, f, &Value::from(key.as_str()));
                out.push(':');
                print_elem(out, x, verb, f);
            }
            out.push(']');
        }
        Value::Object(o) => match o.fmt_go_sharp().filter(|_| f.sharp_v) {
            Some(sharp) => pad(out, &sharp, f),
            None => pad(out, &o.fmt_go(), f),
        },
        Value::Nil => pad(out, "<nil>", f),
    }
}

/// An element inside a collection: a nil prints `<nil>` whatever the verb.
fn print_elem(out: &mut String, v: &Value, verb: char, f: &Flags) {
    if v.is_nil() {
        out.push_str(if f.sharp_v { "interface {}(nil)" } else { "<nil>" });
    } else {
        print_arg(out, v, verb, f);
    }
}

fn fmt_string(out: &mut String, s: &str, verb: char, f: &Flags, v: &Value) {
    match verb {
        'v' => {
            if f.sharp_v {
                fmt_q(out, s, f)
            } else {
                fmt_s(out, s, f)
            }
        }
        's' => fmt_s(out, s, f),
        'x' => fmt_sx(out, s.as_bytes(), false, f),
        'X' => fmt_sx(out, s.as_bytes(), true, f),
        'q' => fmt_q(out, s, f),
        _ => bad_verb_flags(out, v, verb, f),
    }
}

fn truncate(s: &str, f: &Flags) -> String {
    match f.prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    }
}

fn fmt_s(out: &mut String, s: &str, f: &Flags) {
    let t = truncate(s, f);
    pad(out, &t, f);
}

fn fmt_q(out: &mut String, s: &str, f: &Flags) {
    let t = truncate(s, f);
    if f.sharp && !t.contains('`') && t.chars().all(|c| c == '\t' || !(c.is_control() || c == '\u{FEFF}')) {
        pad(out, &format!("`{t}`"), f);
    } else if f.plus {
        pad(out, &quote_ascii(&t), f);
    } else {
        pad(out, &quote(&t), f);
    }
}

fn quote_ascii(s: &str) -> String {
    let q = quote(s);
    let mut out = String::with_capacity(q.len());
    for c in q.chars() {
        if (c as u32) < 0x80 {
            out.push(c);
        } else if (c as u32) < 0x10000 {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(&format!("\\U{:08x}", c as u32));
        }
    }
    out
}

fn fmt_sx(out: &mut String, b: &[u8], upper: bool, f: &Flags) {
    let digits: &[u8] = if upper {
        b"0123456789ABCDEFX"
    } else {
        b"0123456789abcdefx"
    };
    let length = match f.prec {
        Some(p) if p < b.len() => p,
        _ => b.len(),
    };
    let mut width = 2 * length;
    if width > 0 {
        if f.space {
            if f.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if f.sharp {
            width += 2;
        }
    } else {
        if let Some(w) = f.wid {
            write_padding(out, w, f);
        }
        return;
    }
    let wid = f.wid.unwrap_or(0);
    if wid > width && !f.minus {
        write_padding(out, wid - width, f);
    }
    if f.sharp {
        out.push('0');
        out.push(digits[16] as char);
    }
    for (i, c) in b[..length].iter().enumerate() {
        if f.space && i > 0 {
            out.push(' ');
            if f.sharp {
                out.push('0');
                out.push(digits[16] as char);
            }
        }
        out.push(digits[(c >> 4) as usize] as char);
        out.push(digits[(c & 0xf) as usize] as char);
    }
    if wid > width && f.minus {
        write_padding(out, wid - width, f);
    }
}

fn fmt_integer_verb(out: &mut String, u: u64, signed: bool, verb: char, f: &Flags, v: &Value) {
    match verb {
        'v' | 'd' => fmt_integer(out, u, 10, signed, verb, false, f),
        'b' => fmt_integer(out, u, 2, signed, verb, false, f),
        'o' | 'O' => fmt_integer(out, u, 8, signed, verb, false, f),
        'x' => fmt_integer(out, u, 16, signed, verb, false, f),
        'X' => fmt_integer(out, u, 16, signed, verb, true, f),
        'c' => {
            let c = rune_of(u, signed);
            pad(out, &c.to_string(), f);
        }
        'q' => {
            let c = rune_of(u, signed);
            let q = if f.plus {
                quote_ascii(&c.to_string())
            } else {
                quote(&c.to_string())
            };
            let inner = &q[1..q.len() - 1];
            let inner = match inner {
                "\\\"" => "\"",
                "'" => "\\'",
                other => other,
            };
            pad(out, &format!("'{inner}'"), f);
        }
        'U' => {
            let p = f.prec.filter(|p| *p > 4).unwrap_or(4);
            let mut s = format!("U+{:0p$X}", u);
            if f.sharp && u <= 0x10FFFF && char::from_u32(u as u32).is_some_and(is_go_printable) {
                s.push_str(&format!(" '{}'", char::from_u32(u as u32).unwrap_or('?')));
            }
            let mut g = *f;
            g.zero = false;
            pad(out, &s, &g);
        }
        _ => bad_verb_flags(out, v, verb, f),
    }
}

fn rune_of(u: u64, signed: bool) -> char {
    let x = if signed && (u as i64) < 0 { u64::MAX } else { u };
    u32::try_from(x).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}')
}

/// Go's `fmt.fmtInteger`.
fn fmt_integer(out: &mut String, u: u64, base: u64, signed: bool, verb: char, upper: bool, f: &Flags) {
    let negative = signed && (u as i64) < 0;
    let mut u = if negative { (u as i64).unsigned_abs() } else { u };
    let mut prec = 0usize;
    if let Some(p) = f.prec {
        prec = p;
        if p == 0 && u == 0 {
            let mut g = *f;
            g.zero = false;
            write_padding(out, f.wid.unwrap_or(0), &g);
            return;
        }
    } else if f.zero
        && let Some(w) = f.wid
    {
        prec = w;
        if negative || f.plus || f.space {
            prec = prec.saturating_sub(1);
        }
    }
    let digits: &[u8] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut buf: Vec<u8> = Vec::with_capacity(24 + prec);
    loop {
        buf.push(digits[(u % base) as usize]);
        u /= base;
        if u == 0 {
            break;
        }
    }
    while buf.len() < prec {
        buf.push(b'0');
    }
    if f.sharp {
        match base {
            2 => buf.extend_from_slice(b"b0"),
            8 if buf.last() != Some(&b'0') => buf.push(b'0'),
            16 => {
                buf.push(if upper { b'X' } else { b'x' });
                buf.push(b'0');
            }
            _ => {}
        }
    }
    if verb == 'O' {
        buf.extend_from_slice(b"o0");
    }
    if negative {
        buf.push(b'-');
    } else if f.plus {
        buf.push(b'+');
    } else if f.space {
        buf.push(b' ');
    }
    buf.reverse();
    let s = String::from_utf8(buf).unwrap_or_default();
    let mut g = *f;
    g.zero = false;
    pad(out, &s, &g);
}

/// The shortest digits that read back as `x`, in `{:e}` form; among candidates of that length,
/// the one closest to `x` (correct rounding, ties to even), as Go's `strconv` picks.
fn shortest_e(x: f64) -> String {
    let s = format!("{x:e}");
    let n = s
        .split_once('e')
        .map_or(0, |(m, _)| m.bytes().filter(u8::is_ascii_digit).count());
    if n > 1 {
        let r = format!("{:.*e}", n - 1, x);
        if r != s && r.parse::<f64>() == Ok(x) {
            return r;
        }
    }
    s
}

/// Decimal digits of a float: `digits` (no leading zeros; empty for zero) and the decimal
/// point position `dp` (value = 0.digits × 10^dp).
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

/// Shortest round-trip digits (`prec` None) or `prec` significant digits, correctly rounded.
fn float_digits(x: f64, sig: Option<usize>) -> Digits {
    let x = x.abs();
    if x == 0.0 {
        return Digits { d: Vec::new(), dp: 0 };
    }
    let s = match sig {
        None => shortest_e(x),
        Some(p) => format!("{:.*e}", p.saturating_sub(1), x),
    };
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let mut d: Vec<u8> = m.bytes().filter(u8::is_ascii_digit).collect();
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    if d == b"0" {
        d.clear();
    }
    Digits { d, dp: e + 1 }
}

fn fmt_e_digits(out: &mut String, dg: &Digits, prec: usize, e_char: char) {
    let first = dg.d.first().copied().unwrap_or(b'0');
    out.push(first as char);
    if prec > 0 {
        out.push('.');
        for k in 1..=prec {
            out.push(dg.d.get(k).copied().unwrap_or(b'0') as char);
        }
    }
    out.push(e_char);
    let exp = if dg.d.is_empty() { 0 } else { dg.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

fn fmt_f_digits(out: &mut String, dg: &Digits, prec: usize) {
    if dg.dp > 0 {
        for k in 0..dg.dp as usize {
            out.push(dg.d.get(k).copied().unwrap_or(b'0') as char);
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for k in 0..prec as i32 {
            let idx = dg.dp + k;
            let c = if idx < 0 {
                b'0'
            } else {
                dg.d.get(idx as usize).copied().unwrap_or(b'0')
            };
            out.push(c as char);
        }
    }
}

/// Go's `strconv.FormatFloat(x, verb, prec, 64)` for verbs `e E f g G` (prec None = shortest).
pub fn format_float(x: f64, verb: char, prec: Option<usize>) -> String {
    let mut out = String::new();
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    let ax = x.abs();
    match verb {
        'f' => match prec {
            Some(p) => out.push_str(&format!("{ax:.p$}")),
            None => {
                let dg = float_digits(ax, None);
                let p = (dg.d.len() as i32 - dg.dp).max(0) as usize;
                fmt_f_digits(&mut out, &dg, p);
            }
        },
        'e' | 'E' => match prec {
            Some(p) => {
                let dg = float_digits(ax, Some(p + 1));
                fmt_e_digits(&mut out, &dg, p, verb);
            }
            None => {
                let dg = float_digits(ax, None);
                let p = dg.d.len().saturating_sub(1);
                fmt_e_digits(&mut out, &dg, p, verb);
            }
        },
        _ => {
            // 'g' / 'G'
            let e_char = if verb == 'G' { 'E' } else { 'e' };
            let shortest = prec.is_none();
            let dg = match prec {
                None => float_digits(ax, None),
                Some(p) => float_digits(ax, Some(p.max(1))),
            };
            let nd = dg.d.len().max(1) as i32;
            let dp = if dg.d.is_empty() { 1 } else { dg.dp };
            let mut p = match prec {
                None => nd,
                Some(p) => p.max(1) as i32,
            };
            let mut eprec = p;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                fmt_e_digits(&mut out, &dg, (p - 1).max(0) as usize, e_char);
            } else {
                if p > dp {
                    p = nd;
                }
                let dg2 = Digits { d: dg.d.clone(), dp };
                fmt_f_digits(&mut out, &dg2, (p - dp).max(0) as usize);
            }
        }
    }
    out
}

/// Go's `strconv` `'x'`/`'X'` (hexadecimal mantissa and binary exponent, `0x1.8p+01`) and
/// `'b'` (`4503599627370496p-52`) formats of a finite float.
fn format_float_bits(x: f64, verb: char, prec: Option<usize>) -> String {
    let bits = x.to_bits();
    let neg = bits >> 63 != 0;
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp -= 1023;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if verb == 'b' {
        out.push_str(&format!("{mant}p{}{}", if exp - 52 >= 0 { "+" } else { "" }, exp - 52));
        return out;
    }
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if let Some(p) = prec.filter(|p| *p < 15) {
        let shift = (p * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8] = if verb == 'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    out.push('0');
    out.push(verb);
    out.push(if (mant >> 60) & 1 == 1 { '1' } else { '0' });
    mant <<= 4;
    match prec {
        None if mant != 0 => {
            out.push('.');
            while mant != 0 {
                out.push(hex[((mant >> 60) & 15) as usize] as char);
                mant <<= 4;
            }
        }
        Some(p) if p > 0 => {
            out.push('.');
            for _ in 0..p {
                out.push(hex[((mant >> 60) & 15) as usize] as char);
                mant <<= 4;
            }
        }
        _ => {}
    }
    out.push(if verb == 'X' { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

/// Go's `fmt.fmtFloat`: sign handling, padding (zeros after the sign), NaN and infinities.
fn fmt_float(out: &mut String, x: f64, verb: char, default_prec: Option<usize>, f: &Flags) {
    let prec = if f.prec.is_some() { f.prec } else { default_prec };
    let s = match verb {
        'x' | 'X' | 'b' if x.is_finite() => format_float_bits(x, verb, prec),
        _ => format_float(x, verb, prec),
    };
    let mut num = if s.starts_with('-') || s.starts_with('+') {
        s
    } else {
        format!("+{s}")
    };
    if f.space && num.starts_with('+') && !f.plus {
        num.replace_range(0..1, " ");
    }
    let second = num.as_bytes().get(1).copied();
    if second == Some(b'I') || second == Some(b'N') {
        let mut g = *f;
        g.zero = false;
        if second == Some(b'N') && !f.space && !f.plus {
            num.remove(0);
        }
        pad(out, &num, &g);
        return;
    }
    if f.sharp && verb != 'b' {
        sharp_float(&mut num, verb, prec);
    }
    if f.plus || !num.starts_with('+') {
        if f.zero
            && let Some(w) = f.wid
            && w > num.len()
        {
            out.push_str(&num[..1]);
            write_padding(out, w - num.len(), f);
            out.push_str(&num[1..]);
            return;
        }
        pad(out, &num, f);
        return;
    }
    pad(out, &num[1..], f);
}

/// The `#` flag on floats (Go's `fmtFloat`): always a decimal point, and `%#g`/`%#x` keep
/// trailing zeros up to the precision (6 by default). `num` starts with its sign.
fn sharp_float(num: &mut String, verb: char, prec: Option<usize>) {
    let mut digits: i64 = match verb {
        'v' | 'g' | 'G' | 'x' => prec.map_or(6, |p| p as i64),
        _ => 0,
    };
    let bytes = num.as_bytes().to_vec();
    let mut body: Vec<u8> = vec![bytes[0]];
    let mut tail: Vec<u8> = Vec::new();
    let mut has_point = false;
    let mut saw_nonzero = false;
    let mut i = 1;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'.' => has_point = true,
            b'p' | b'P' => {
                tail.extend_from_slice(&bytes[i..]);
                break;
            }
            b'e' | b'E' if verb != 'x' && verb != 'X' => {
                tail.extend_from_slice(&bytes[i..]);
                break;
            }
            _ => {
                if c != b'0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
        body.push(c);
        i += 1;
    }
    if !has_point {
        if body.len() == 2 && body[1] == b'0' {
            digits -= 1;
        }
        body.push(b'.');
    }
    while digits > 0 {
        body.push(b'0');
        digits -= 1;
    }
    body.extend_from_slice(&tail);
    *num = String::from_utf8(body).unwrap_or_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_percent_v() {
        for (f, s) in [
            (999999.0, "999999"),
            (1000000.0, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.0, "1"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (123456.5, "123456.5"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
        ] {
            assert_eq!(format_float_g(f), s, "{f}");
        }
    }

    #[test]
    fn quote_escapes_as_go() {
        assert_eq!(quote("a\"b\\c\n\t\u{7f}é"), "\"a\\\"b\\\\c\\n\\t\\x7fé\"");
    }
}
