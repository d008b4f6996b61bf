//! What Helm's `toYaml` (goyaml.v2 over sigs.k8s.io/yaml's JSON form) and `toYamlPretty`
//! (yaml.v3, indent 2) hand their emitter: the value as nodes with the encoder's choice of
//! string style, map keys in goyaml's order, numbers as goyaml prints them. The emitting
//! itself is [`super::emitter`].

use std::cmp::Ordering;

use ballast_gotemplate::Value;

use super::resolve::{Scalar, resolve};

/// Which goyaml flavour is emitted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    /// goyaml.v2: plain and quoted strings folded past column 80, sequences under a key not
    /// indented, tabs force double quotes.
    V2,
    /// yaml.v3 with `SetIndent(2)`: no folding, sequences indented, tabs allowed in literals.
    V3,
}

/// How the encoder asks for a string to be written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Style {
    Plain,
    Double,
    Literal,
}

/// A node as the encoder hands it to the emitter.
pub(super) enum Node {
    Scalar(String, Style),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// sigs.k8s.io/yaml `Marshal`: JSON (`Object`s via their JSON form, `[]byte` as base64), read
/// back by goyaml.v2 (integers stay integers, other numbers floats) and emitted by goyaml.v2.
/// The output ends with a newline. Fails as `json.Marshal` fails (NaN, ±Inf).
pub fn to_yaml(v: &Value) -> Result<String, String> {
    let node = v2_node(v, 0)?;
    Ok(super::emitter::emit(&node, Flavor::V2))
}

/// Builds the v2 node of a value after its JSON round trip.
fn v2_node(v: &Value, depth: usize) -> Result<Node, String> {
    if depth > super::MAX_NESTING {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    Ok(match v {
        Value::Nil => plain("null"),
        Value::Bool(b) => plain(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => Node::Scalar(i.to_string(), Style::Plain),
        Value::Uint(u) => Node::Scalar(u.to_string(), Style::Plain),
        Value::Float(f) => {
            let text = crate::json::format_float(*f)?;
            Node::Scalar(number_from_json(&text), Style::Plain)
        }
        Value::String(s) => string_node(&fold_nel(s), Flavor::V2),
        Value::Bytes(b) => {
            use base64::Engine as _;
            string_node(&base64::engine::general_purpose::STANDARD.encode(b), Flavor::V2)
        }
        Value::List(l) => Node::Seq(l.iter().map(|i| v2_node(i, depth + 1)).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let m = m
                .try_borrow()
                .map_err(|_| "json: unsupported value: encountered a cycle".to_string())?;
            let mut out = Vec::with_capacity(m.len());
            for (k, item) in sorted_entries(&m, Flavor::V2) {
                out.push((string_node(&fold_nel(k), Flavor::V2), v2_node(item, depth + 1)?));
            }
            Node::Map(out)
        }
        Value::Object(o) => v2_node(&o.to_data(), depth + 1)?,
    })
}

/// yaml.v3's `Encoder` with `SetIndent(2)` over the Go value (no JSON step: floats print in
/// `%g` form, `1e+06`). The output ends with a newline.
pub fn to_yaml_pretty(v: &Value) -> Result<String, String> {
    let node = v3_node(v, 0)?;
    Ok(super::emitter::emit(&node, Flavor::V3))
}

fn v3_node(v: &Value, depth: usize) -> Result<Node, String> {
    if depth > super::MAX_NESTING {
        return Err("yaml: exceeded max depth".into());
    }
    Ok(match v {
        Value::Nil => plain("null"),
        Value::Bool(b) => plain(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => Node::Scalar(i.to_string(), Style::Plain),
        Value::Uint(u) => Node::Scalar(u.to_string(), Style::Plain),
        Value::Float(f) => Node::Scalar(go_yaml_float(*f), Style::Plain),
        Value::String(s) => string_node(s, Flavor::V3),
        Value::Bytes(b) => Node::Seq(b.iter().map(|x| Node::Scalar(x.to_string(), Style::Plain)).collect()),
        Value::List(l) => Node::Seq(l.iter().map(|i| v3_node(i, depth + 1)).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            let m = m.try_borrow().map_err(|_| "yaml: exceeded max depth".to_string())?;
            let mut out = Vec::with_capacity(m.len());
            for (k, item) in sorted_entries(&m, Flavor::V3) {
                out.push((string_node(k, Flavor::V3), v3_node(item, depth + 1)?));
            }
            Node::Map(out)
        }
        Value::Object(o) => v3_node(&o.to_data(), depth + 1)?,
    })
}

fn plain(s: &str) -> Node {
    Node::Scalar(s.to_string(), Style::Plain)
}

/// goyaml's float: `strconv.FormatFloat(f, 'g', -1, 64)`, `.inf`/`-.inf`/`.nan`.
fn go_yaml_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf".into() } else { "-.inf".into() }
    } else {
        format_g_shortest(&format!("{f:e}"))
    }
}

/// A JSON number's text as goyaml.v2 reads and re-prints it: integers (int64 or uint64) as
/// they are, anything else as a float64 in `%g` form (`1e+20`, `1.2345675e+06`).
fn number_from_json(text: &str) -> String {
    match resolve(None, text) {
        Ok(Scalar::Int(i)) => i.to_string(),
        Ok(Scalar::Uint(u)) => u.to_string(),
        Ok(Scalar::Float(f)) => go_yaml_float(f),
        _ => text.to_string(),
    }
}

/// A raw U+0085 survives json.Marshal unescaped and goyaml.v2 then reads it as a line break
/// inside a double-quoted scalar: folded to a space (or n-1 newlines for n in a row), with
/// the blanks around it dropped.
fn fold_nel(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\u{85}') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\u{85}' {
            while out.ends_with([' ', '\t']) {
                out.pop();
            }
            let mut n = 0;
            while i < chars.len() && matches!(chars[i], '\u{85}' | ' ' | '\t') {
                if chars[i] == '\u{85}' {
                    n += 1;
                }
                i += 1;
            }
            if n == 1 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', n - 1));
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The encoder's choice of style for a string: literal if it has a newline, plain if it
/// would read back as the same string, else double-quoted.
fn string_node(s: &str, flavor: Flavor) -> Node {
    let style = if s.contains('\n') {
        Style::Literal
    } else if plain_reads_back(s, flavor) {
        Style::Plain
    } else {
        Style::Double
    };
    Node::Scalar(s.to_string(), style)
}

fn plain_reads_back(s: &str, flavor: Flavor) -> bool {
    if is_base60_float(s) {
        return false;
    }
    match flavor {
        Flavor::V2 => matches!(resolve(None, s), Ok(Scalar::Str)) && !super::resolve::is_timestamp(s),
        Flavor::V3 => v3_plain_is_string(s),
    }
}

/// yaml.v3's resolver (YAML 1.2 core plus timestamps), and its quoting of the YAML 1.1
/// booleans (`yes`, `on`, `n`...).
fn v3_plain_is_string(s: &str) -> bool {
    if matches!(
        s,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF"
    ) {
        return false;
    }
    // Apart from the 1.1 booleans, v3 resolves the plain forms a string can take as v2 does.
    matches!(resolve(None, s), Ok(Scalar::Str)) && !super::resolve::is_timestamp(s)
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    if !matches!(b.get(i), Some(b'0'..=b'9')) {
        return false;
    }
    i += 1;
    while matches!(b.get(i), Some(b'0'..=b'9' | b'_')) {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let g = &b[start..i];
        let ok = match g.len() {
            1 => true,
            2 => g[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while matches!(b.get(i), Some(b'0'..=b'9' | b'_')) {
            i += 1;
        }
    }
    i == b.len()
}

/// A map's entries in goyaml's key order: ASCII keys compared as bytes, others decoded to
/// chars once.
fn sorted_entries(m: &ballast_gotemplate::value::Map, flavor: Flavor) -> Vec<(&String, &Value)> {
    if m.keys().all(|k| k.is_ascii()) {
        let mut entries: Vec<(&String, &Value)> = m.iter().collect();
        entries.sort_by(|a, b| key_order(a.0.as_bytes(), b.0.as_bytes(), flavor));
        return entries;
    }
    let mut keyed: Vec<(Vec<char>, &String, &Value)> = m.iter().map(|(k, v)| (k.chars().collect(), k, v)).collect();
    keyed.sort_by(|a, b| key_order(&a.0, &b.0, flavor));
    keyed.into_iter().map(|(_, k, v)| (k, v)).collect()
}

/// goyaml's map key order: numbers compared as numbers inside strings, non-letters before
/// letters (yaml.v3: letters first right after a digit), letters by code point.
fn key_order<C: Copy + Into<char>>(ar: &[C], br: &[C], flavor: Flavor) -> Ordering {
    let at = |s: &[C], i: usize| -> char { s[i].into() };
    let mut digits = false;
    for i in 0..ar.len().min(br.len()) {
        if at(ar, i) == at(br, i) {
            digits = at(ar, i).is_numeric();
            continue;
        }
        let al = at(ar, i).is_alphabetic();
        let bl = at(br, i).is_alphabetic();
        if al && bl {
            return at(ar, i).cmp(&at(br, i));
        }
        if al || bl {
            let a_first = if digits && flavor == Flavor::V3 { al } else { bl };
            return if a_first { Ordering::Less } else { Ordering::Greater };
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if at(ar, i) == '0' || at(br, i) == '0' {
            let mut j = i;
            while j > 0 && at(ar, j - 1).is_ascii_digit() {
                j -= 1;
                if at(ar, j) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && at(ar, ai).is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(i64::from(at(ar, ai) as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && at(br, bi).is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(i64::from(at(br, bi) as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return at(ar, i).cmp(&at(br, i));
    }
    ar.len().cmp(&br.len())
}

/// Go's shortest `%g` layout from Rust's `{:e}` text (`"1.5e6"` → `"1.5e+06"`, `"1e-1"` →
/// `"0.1"`): exponent form when the exponent is below -4 or at least 6.
pub(crate) fn format_g_shortest(sci: &str) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if digits == "0" {
        out.push('0');
        return out;
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
    } else {
        plain_digits(&mut out, &digits, exp);
    }
    out
}

/// Writes the digits `d1d2...` with the decimal point after position `exp + 1`, without an
/// exponent.
pub(crate) fn plain_digits(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
}
