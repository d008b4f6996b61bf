//! TOML as Helm's `toToml` (BurntSushi/toml's encoder) writes it and `fromToml` reads it.
//!
//! Writing: keys sorted, plain values before tables, a blank line before each top-level
//! table, nested tables and their keys indented 2 spaces per level, lists of maps as `[[x]]`
//! tables, nil map values dropped, floats in Go's `%g` form with `.0` added when bare.

use std::fmt::Write as _;

use ballast_gotemplate::Value;
use ballast_gotemplate::value::Map;

/// Nesting deeper than this fails (BurntSushi recurses without bound; we refuse instead).
const MAX_DEPTH: usize = crate::yaml::MAX_NESTING;

/// BurntSushi/toml `Encoder.Encode` over the value; the error text as Helm's `toToml`
/// returns it.
pub fn to_toml(v: &Value) -> Result<String, String> {
    // A top-level array of tables would need a key.
    if let Value::List(l) = v
        && is_table_array(l)
    {
        return Err("toml: top-level values must be Go maps or structs".into());
    }
    let mut e = Encoder { out: String::new() };
    e.encode(&[], v, 0)?;
    Ok(e.out)
}

struct Encoder {
    out: String,
}

fn is_table(v: &Value) -> bool {
    match v {
        Value::Map(_) => true,
        Value::List(l) => is_table_array(l),
        Value::Object(o) => is_table(&o.to_data()),
        _ => false,
    }
}

fn is_table_array(l: &[Value]) -> bool {
    !l.is_empty() && l.iter().all(|i| matches!(i, Value::Map(_)))
}

/// A key part, quoted unless it is made of `A-Za-z0-9_-`.
fn quote_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return k.to_string();
    }
    let mut s = String::from('"');
    escape_into(&mut s, k);
    s.push('"');
    s
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn key_path(key: &[&str]) -> String {
    key.iter().map(|k| quote_key(k)).collect::<Vec<_>>().join(".")
}

impl Encoder {
    fn newline(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn indent(&mut self, key: &[&str]) {
        for _ in 1..key.len() {
            self.out.push_str("  ");
        }
    }

    fn encode(&mut self, key: &[&str], v: &Value, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("toml: exceeded max depth".into());
        }
        match v {
            Value::Nil if key.is_empty() => Err("reflect: call of reflect.Value.Type on zero Value".into()),
            Value::Nil => Ok(()),
            Value::Map(m) => {
                if key.len() == 1 {
                    self.newline();
                }
                if !key.is_empty() {
                    self.indent(key);
                    let _ = write!(self.out, "[{}]", key_path(key));
                    self.newline();
                }
                let m = m.borrow();
                self.map_body(key, &m, depth)
            }
            Value::List(l) if !key.is_empty() && is_table_array(l) => {
                for item in l.iter() {
                    let Value::Map(m) = item else { continue };
                    self.newline();
                    self.indent(key);
                    let _ = write!(self.out, "[[{}]]", key_path(key));
                    self.newline();
                    let m = m.borrow();
                    self.map_body(key, &m, depth)?;
                }
                Ok(())
            }
            Value::Object(o) => self.encode(key, &o.to_data(), depth + 1),
            _ => {
                if key.is_empty() {
                    return self.element(v, depth);
                }
                self.indent(key);
                let _ = write!(self.out, "{} = ", quote_key(key[key.len() - 1]));
                self.element(v, depth)?;
                self.newline();
                Ok(())
            }
        }
    }

    fn map_body(&mut self, key: &[&str], m: &Map, depth: usize) -> Result<(), String> {
        let (sub, direct): (Vec<_>, Vec<_>) = m.iter().partition(|(_, v)| is_table(v));
        for (k, v) in direct.into_iter().chain(sub) {
            let mut path = key.to_vec();
            path.push(k.as_str());
            self.encode(&path, v, depth + 1)?;
        }
        Ok(())
    }

    fn element(&mut self, v: &Value, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("toml: exceeded max depth".into());
        }
        match v {
            Value::Nil => return Err("toml: cannot encode array with nil element".into()),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => {
                let _ = write!(self.out, "{i}");
            }
            Value::Uint(u) => {
                let _ = write!(self.out, "{u}");
            }
            Value::Float(f) => self.out.push_str(&toml_float(*f)),
            Value::String(s) => {
                self.out.push('"');
                escape_into(&mut self.out, s);
                self.out.push('"');
            }
            Value::Bytes(b) => {
                let items: Vec<String> = b.iter().map(|x| x.to_string()).collect();
                let _ = write!(self.out, "[{}]", items.join(", "));
            }
            Value::List(l) => {
                if l.iter().any(Value::is_nil) {
                    return Err("toml: cannot encode array with nil element".into());
                }
                self.out.push('[');
                for (i, item) in l.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.element(item, depth + 1)?;
                }
                self.out.push(']');
            }
            Value::Map(m) => {
                let m = m.borrow();
                let (sub, direct): (Vec<_>, Vec<_>) =
                    m.iter().filter(|(_, v)| !v.is_nil()).partition(|(_, v)| is_table(v));
                let has_sub = !sub.is_empty();
                self.out.push('{');
                let groups = [(direct, has_sub), (sub, false)];
                for (group, trail) in groups {
                    let n = group.len();
                    for (i, (k, item)) in group.into_iter().enumerate() {
                        let _ = write!(self.out, "{} = ", quote_key(k));
                        self.element(item, depth + 1)?;
                        if trail || i + 1 != n {
                            self.out.push_str(", ");
                        }
                    }
                }
                self.out.push('}');
            }
            Value::Object(o) => self.element(&o.to_data(), depth + 1)?,
        }
        Ok(())
    }
}

/// BurntSushi's float: `%g` shortest, `.0` appended when there is no `.` or exponent;
/// `nan`, `+inf`, `-inf`.
fn toml_float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if f.is_infinite() {
        return if f > 0.0 { "+inf".into() } else { "-inf".into() };
    }
    let mut s = if f == 0.0 {
        if f.is_sign_negative() {
            "-0".to_string()
        } else {
            "0".to_string()
        }
    } else {
        crate::yaml::format_g_shortest(&format!("{f:e}"))
    };
    if !s.contains(['.', 'e', 'E']) {
        s.push_str(".0");
    }
    s
}

/// BurntSushi/toml `Unmarshal` into `map[string]interface{}`: integers as `int64`, floats as
/// `float64`, date-times as their RFC 3339 text (as `toJson` would print Go's `time.Time`).
pub fn from_toml(src: &str) -> Result<Value, String> {
    let table: ::toml::Table = src
        .parse()
        .map_err(|e: ::toml::de::Error| format!("toml: {}", e.message()))?;
    Ok(table_value(&table))
}

fn table_value(t: &::toml::Table) -> Value {
    Value::map(t.iter().map(|(k, v)| (k.clone(), toml_value(v))).collect())
}

fn toml_value(v: &::toml::Value) -> Value {
    match v {
        ::toml::Value::String(s) => Value::from(s.as_str()),
        ::toml::Value::Integer(i) => Value::Int64(*i),
        ::toml::Value::Float(f) => Value::Float(*f),
        ::toml::Value::Boolean(b) => Value::Bool(*b),
        ::toml::Value::Datetime(d) => Value::from(datetime_text(d)),
        ::toml::Value::Array(a) => Value::list(a.iter().map(toml_value).collect()),
        ::toml::Value::Table(t) => table_value(t),
    }
}

/// A TOML date-time as Go's `time.Time` marshals to JSON (local forms taken as UTC).
fn datetime_text(d: &::toml::value::Datetime) -> String {
    let date = d.date.map_or_else(|| "0000-01-01".to_string(), |x| x.to_string());
    let time = d.time.map_or_else(
        || "00:00:00".to_string(),
        |t| {
            let mut s = format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second.unwrap_or(0));
            if let Some(ns) = t.nanosecond.filter(|n| *n > 0) {
                let frac = format!("{ns:09}");
                s.push('.');
                s.push_str(frac.trim_end_matches('0'));
            }
            s
        },
    );
    let zone = match d.offset {
        None | Some(::toml::value::Offset::Z) => "Z".to_string(),
        Some(o) => o.to_string(),
    };
    format!("{date}T{time}{zone}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_burntsushi() {
        let src = include_str!("../tests/fixtures/formats/toml.yaml");
        let v = crate::yaml::parse_values(src).unwrap();
        let want = include_str!("../tests/fixtures/formats/toml.toToml.txt");
        assert_eq!(to_toml(&v).unwrap(), want);
        assert_eq!(to_toml(&Value::from("abc")).unwrap(), "\"abc\"");
        let floats = crate::json::from_json(
            r#"{"a":1e6,"b":1e-7,"c":123456789.0,"d":0.1,"e":1e20,"f":100000.0,"g":-0.0,"h":[[1,2],{}],"i":[{"x":1},{}]}"#,
        )
        .unwrap();
        assert_eq!(
            to_toml(&floats).unwrap(),
            "a = 1e+06\nb = 1e-07\nc = 1.23456789e+08\nd = 0.1\ne = 1e+20\nf = 100000.0\ng = -0.0\nh = [[1.0, 2.0], {}]\n\n[[i]]\n  x = 1.0\n\n[[i]]\n"
        );
        let nil_in_list = Value::map([("a".to_string(), Value::list(vec![Value::Int(1), Value::Nil]))].into());
        assert_eq!(
            to_toml(&nil_in_list).unwrap_err(),
            "toml: cannot encode array with nil element"
        );
        // An array of tables needs a key; an array of other values is written as one.
        let tables = Value::list(vec![Value::map([("a".to_string(), Value::Int(1))].into())]);
        assert_eq!(
            to_toml(&tables).unwrap_err(),
            "toml: top-level values must be Go maps or structs"
        );
        assert_eq!(to_toml(&Value::list(vec![Value::Int(1)])).unwrap(), "[1]");
    }

    #[test]
    fn decodes_into_go_types() {
        let v = from_toml("x = 1e6\ny = 0x10\nz = \"a\"\nw = 1979-05-27\nv = 07:32:00\n").unwrap();
        assert_eq!(
            crate::json::to_json(&v).unwrap(),
            r#"{"v":"0000-01-01T07:32:00Z","w":"1979-05-27T00:00:00Z","x":1000000,"y":16,"z":"a"}"#
        );
        assert!(from_toml("a = ").is_err());
        let deep = format!("a = {}{}", "[".repeat(5000), "]".repeat(5000));
        let _ = from_toml(&deep);
    }
}
