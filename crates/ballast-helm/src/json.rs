//! JSON as Go's encoding/json writes and reads it: compact output with sorted keys, `<`, `>`,
//! `&`, U+2028 and U+2029 escaped, floats in `'f'` form between 1e-6 and 1e21 and in
//! exponent form outside (`1e+21`, `1e-7`), `[]byte` as base64; numbers read as `float64`;
//! errors worded as Go words them.

use std::fmt::Write as _;

use ballast_gotemplate::Value;
use ballast_gotemplate::value::Map;

/// Nesting deeper than this is refused (Go's reading limit is 10000; see
/// [`crate::yaml::MAX_NESTING`]).
const MAX_DEPTH: usize = crate::yaml::MAX_NESTING;

/// `json.Marshal`: compact, HTML characters escaped.
pub fn to_json(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    Encoder {
        out: &mut out,
        escape_html: true,
        indent: false,
    }
    .value(v, 0)?;
    Ok(out)
}

/// `json.MarshalIndent(v, "", "  ")`.
pub fn to_pretty_json(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    Encoder {
        out: &mut out,
        escape_html: true,
        indent: true,
    }
    .value(v, 0)?;
    Ok(out)
}

/// An `Encoder` with `SetEscapeHTML(false)`, without its trailing newline (sprig's
/// `toRawJson`).
pub fn to_raw_json(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    Encoder {
        out: &mut out,
        escape_html: false,
        indent: false,
    }
    .value(v, 0)?;
    Ok(out)
}

struct Encoder<'a> {
    out: &'a mut String,
    escape_html: bool,
    indent: bool,
}

impl Encoder<'_> {
    fn newline(&mut self, depth: usize) {
        self.out.push('\n');
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("json: unsupported value: encountered a cycle".into());
        }
        match v {
            Value::Nil => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => {
                let _ = write!(self.out, "{i}");
            }
            Value::Uint(u) => {
                let _ = write!(self.out, "{u}");
            }
            Value::Float(f) => self.out.push_str(&format_float(*f)?),
            Value::String(s) => write_string(self.out, s, self.escape_html),
            Value::Bytes(b) => {
                use base64::Engine as _;
                self.out.push('"');
                self.out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
                self.out.push('"');
            }
            Value::List(l) => {
                if l.is_empty() {
                    self.out.push_str("[]");
                    return Ok(());
                }
                self.out.push('[');
                for (i, item) in l.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    if self.indent {
                        self.newline(depth + 1);
                    }
                    self.value(item, depth + 1)?;
                }
                if self.indent {
                    self.newline(depth);
                }
                self.out.push(']');
            }
            Value::Map(m) => {
                let m = m
                    .try_borrow()
                    .map_err(|_| "json: unsupported value: encountered a cycle".to_string())?;
                self.object(m.iter().map(|(k, v)| (k.as_str(), v)), depth)?;
            }
            Value::Object(o) => match o.json_fields() {
                Some(fields) => self.object(fields.iter().map(|(k, v)| (k.as_str(), v)), depth)?,
                None => self.value(&o.to_data(), depth)?,
            },
        }
        Ok(())
    }

    /// A JSON object of these members, in this order.
    fn object<'v>(
        &mut self,
        members: impl ExactSizeIterator<Item = (&'v str, &'v Value)>,
        depth: usize,
    ) -> Result<(), String> {
        if members.len() == 0 {
            self.out.push_str("{}");
            return Ok(());
        }
        self.out.push('{');
        for (i, (k, item)) in members.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            if self.indent {
                self.newline(depth + 1);
            }
            write_string(self.out, k, self.escape_html);
            self.out.push(':');
            if self.indent {
                self.out.push(' ');
            }
            self.value(item, depth + 1)?;
        }
        if self.indent {
            self.newline(depth);
        }
        self.out.push('}');
        Ok(())
    }
}

/// encoding/json's float64: shortest digits, `'f'` form for 1e-6 <= |x| < 1e21, else
/// `'e'` form with a 1- or more-digit exponent (`1e-7`, `1e+21`). NaN and ±Inf fail.
pub fn format_float(f: f64) -> Result<String, String> {
    if f.is_nan() {
        return Err("json: unsupported value: NaN".into());
    }
    if f.is_infinite() {
        return Err(format!(
            "json: unsupported value: {}",
            if f > 0.0 { "+Inf" } else { "-Inf" }
        ));
    }
    let abs = f.abs();
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let sign = if exp < 0 { '-' } else { '+' };
        let a = exp.unsigned_abs();
        // Go prints at least two exponent digits, then trims "e-0N" to "e-N".
        return Ok(if exp < 0 || a >= 10 {
            format!("{mantissa}e{sign}{a}")
        } else {
            format!("{mantissa}e{sign}0{a}")
        });
    }
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
    } else {
        crate::yaml::plain_digits(&mut out, &digits, exp);
    }
    Ok(out)
}

/// A Go JSON string literal.
pub fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '<' | '>' | '&' if escape_html => None,
            '\u{2028}' | '\u{2029}' => None,
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// What Go's `json.Unmarshal` is decoding into, for its "cannot unmarshal" message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `interface{}`: any value.
    Any,
    /// `map[string]interface{}`.
    Map,
    /// `[]interface{}`.
    List,
}

/// `json.Unmarshal` into `interface{}`: numbers become `Float`; errors as Go words them
/// (`invalid character 'x' looking for beginning of value`, `unexpected end of JSON input`).
pub fn from_json(src: &str) -> Result<Value, String> {
    from_json_into(src, Target::Any).map_err(|e| e.message)
}

/// `json.Decoder.Decode` into `interface{}` of the first value in `src` (JSON blanks before
/// it skipped), as `--set-json` reads a value: the value and the bytes read. Whatever follows
/// a complete value is left unread, as Go's stream decoder leaves it (`1x` gives 1, `x` left).
pub fn decode_first(src: &str) -> Result<(Value, usize), String> {
    let mut p = JsonParser::new(src);
    p.ws();
    let v = p.value(0)?;
    match p.type_error {
        Some(message) => Err(message),
        None => Ok((v, p.i)),
    }
}

/// A failed `json.Unmarshal`.
#[derive(Debug)]
pub struct JsonError {
    /// Go's message.
    pub message: String,
    /// What Go leaves in the target after a type error found past the syntax check (a number
    /// out of float64's range is left as nil, the rest decoded); `None` after a syntax error
    /// or a top-level type mismatch.
    pub partial: Option<Value>,
}

/// `json.Unmarshal` into a map, a list or `interface{}` (`json: cannot unmarshal array into
/// Go value of type map[string]interface {}` when the kind differs; `null` gives `Nil`).
pub fn from_json_into(src: &str, target: Target) -> Result<Value, JsonError> {
    let syntax = |message| JsonError { message, partial: None };
    let mut p = JsonParser::new(src);
    p.ws();
    let v = p.value(0).map_err(syntax)?;
    p.ws();
    if p.i < p.b.len() {
        return Err(syntax(p.invalid("after top-level value")));
    }
    let kind = match &v {
        Value::Nil => return Ok(v),
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    };
    let mismatch = match (target, kind) {
        (Target::Any, _) | (Target::Map, "object") | (Target::List, "array") => None,
        (Target::Map, _) => Some("map[string]interface {}"),
        (Target::List, _) => Some("[]interface {}"),
    };
    if let Some(go_type) = mismatch {
        return Err(syntax(format!(
            "json: cannot unmarshal {kind} into Go value of type {go_type}"
        )));
    }
    match p.type_error {
        Some(message) => Err(JsonError {
            message,
            partial: Some(v),
        }),
        None => Ok(v),
    }
}

struct JsonParser<'a> {
    b: &'a [u8],
    src: &'a str,
    i: usize,
    /// The first type error (Go reports syntax errors first, then decodes on).
    type_error: Option<String>,
}

impl<'a> JsonParser<'a> {
    fn new(src: &'a str) -> JsonParser<'a> {
        JsonParser {
            b: src.as_bytes(),
            src,
            i: 0,
            type_error: None,
        }
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn invalid(&self, context: &str) -> String {
        if self.i >= self.b.len() {
            return "unexpected end of JSON input".into();
        }
        // Go's scanner reads bytes: a non-ASCII character is named by its first byte.
        let c = char::from(self.b[self.i]);
        let shown = match c {
            '\'' => "'\\''".to_string(),
            '"' => "'\"'".to_string(),
            c => {
                let q = ballast_gotemplate::fmt::quote(&c.to_string());
                format!("'{}'", &q[1..q.len() - 1])
            }
        };
        format!("invalid character {shown} {context}")
    }

    /// At the end of input Go's scanner feeds a space to the pending state: inside a literal
    /// or a number that is "invalid character ' '".
    fn invalid_at_end(&self, context: &str) -> String {
        if self.i >= self.b.len() {
            format!("invalid character ' ' {context}")
        } else {
            self.invalid(context)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("exceeded max depth".into());
        }
        match self.b.get(self.i) {
            None => Err("unexpected end of JSON input".into()),
            Some(b'{') => {
                self.i += 1;
                let mut m = Map::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Value::map(m));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(self.invalid("looking for beginning of object key string"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return Err(self.invalid("after object key"));
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    m.insert(k, v);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.invalid("after object key:value pair")),
                    }
                }
                Ok(Value::map(m))
            }
            Some(b'[') => {
                self.i += 1;
                let mut l = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Value::list(l));
                }
                loop {
                    self.ws();
                    l.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.invalid("after array element")),
                    }
                }
                Ok(Value::list(l))
            }
            Some(b'"') => Ok(Value::from(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.invalid("looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        for (n, expect) in word.bytes().enumerate() {
            if n == 0 {
                self.i += 1;
                continue;
            }
            if self.b.get(self.i) != Some(&expect) {
                return Err(self.invalid_at_end(&format!("in literal {word} (expecting '{}')", expect as char)));
            }
            self.i += 1;
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.i < self.b.len() && self.b[self.i].is_ascii_digit() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.b[self.i] == b'-' {
            self.i += 1;
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.invalid_at_end("in numeric literal"));
            }
        }
        if self.b.get(self.i) == Some(&b'0') {
            self.i += 1;
        } else {
            self.digits();
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.invalid_at_end("after decimal point in numeric literal"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.invalid_at_end("in exponent of numeric literal"));
            }
        }
        let text = &self.src[start..self.i];
        Ok(match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Value::Float(f),
            _ => {
                if self.type_error.is_none() {
                    self.type_error = Some(format!(
                        "json: cannot unmarshal number {text} into Go value of type float64"
                    ));
                }
                Value::Nil
            }
        })
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        let mut start = self.i;
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err("unexpected end of JSON input".into());
            };
            match c {
                b'"' => {
                    out.push_str(&self.src[start..self.i]);
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.src[start..self.i]);
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return Err("unexpected end of JSON input".into());
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.b.get(self.i) == Some(&b'\\')
                                && self.b.get(self.i + 1) == Some(&b'u')
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                    out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                                } else {
                                    out.push('\u{fffd}');
                                    self.i = save;
                                }
                            } else {
                                out.push(char::from_u32(hi).unwrap_or('\u{fffd}'));
                            }
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.invalid("in string escape code"));
                        }
                    }
                    start = self.i;
                }
                c if c < 0x20 => return Err(self.invalid("in string literal")),
                _ => self.i += 1,
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut n = 0;
        for _ in 0..4 {
            let Some(d) = self.b.get(self.i).and_then(|c| (*c as char).to_digit(16)) else {
                return Err(self.invalid("in \\u hexadecimal character escape"));
            };
            n = n * 16 + d;
            self.i += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_encoding_json() {
        let f = |x| format_float(x).unwrap();
        assert_eq!(f(1e6), "1000000");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(1e-7), "1e-7");
        assert_eq!(f(1e21), "1e+21");
        assert_eq!(f(1.5e300), "1.5e+300");
        assert_eq!(f(1e20), "100000000000000000000");
        assert_eq!(f(-0.0), "-0");
        assert_eq!(f(12345678901234567890.0), "12345678901234567000");
        assert_eq!(f(0.000001), "0.000001");
        assert!(format_float(f64::INFINITY).unwrap_err().contains("+Inf"));
    }

    #[test]
    fn strings_escaped() {
        let mut s = String::new();
        write_string(&mut s, "<&>\u{2028}\"\\\n\u{1}é", true);
        assert_eq!(s, r#""\u003c\u0026\u003e\u2028\"\\\n\u0001é""#);
    }

    #[test]
    fn reads_go_json() {
        let v = from_json(r#"{"a": [1, 2.5, "x", null, true], "b": {}}"#).unwrap();
        assert_eq!(to_json(&v).unwrap(), r#"{"a":[1,2.5,"x",null,true],"b":{}}"#);
        assert_eq!(from_json("{").unwrap_err(), "unexpected end of JSON input");
        assert_eq!(
            from_json("x").unwrap_err(),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            from_json("{} x").unwrap_err(),
            "invalid character 'x' after top-level value"
        );
        assert_eq!(
            from_json_into("[1]", Target::Map).unwrap_err().message,
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
        );
    }
}
