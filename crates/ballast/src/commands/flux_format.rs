//! What `create --export` prints, in the form the Flux CLI prints it: Go durations (`5m0s`), keys
//! sorted, and YAML laid out and quoted as Go's YAML library writes it.

use anyhow::{Result, bail};
use serde_json::{Map, Value};

const NANOS: [(&str, u128); 7] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a Go duration (`300ms`, `1.5h`, `2h45m`) into nanoseconds, exactly.
pub fn parse_go_duration(text: &str) -> Result<u128> {
    let bad = || anyhow::anyhow!("invalid duration {text:?}: expected e.g. 30s, 5m, 1h30m");
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t == "0" {
        return Ok(0);
    }
    if t.is_empty() || t.starts_with('-') {
        return Err(bad());
    }
    let mut total: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let int_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let int: u128 = if int_len == 0 {
            0
        } else {
            rest[..int_len].parse().map_err(|_| bad())?
        };
        rest = &rest[int_len..];
        let mut frac = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            frac = &r[..n];
            rest = &r[n..];
        }
        if int_len == 0 && frac.is_empty() {
            return Err(bad());
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = NANOS
            .iter()
            .find(|(u, _)| *u == &rest[..unit_len])
            .map(|(_, n)| *n)
            .ok_or_else(bad)?;
        rest = &rest[unit_len..];
        let mut value = int.checked_mul(unit).ok_or_else(bad)?;
        let mut scale = unit;
        for d in frac.bytes() {
            scale /= 10;
            if scale == 0 {
                break;
            }
            value += u128::from(d - b'0') * scale;
        }
        total = total.checked_add(value).ok_or_else(bad)?;
    }
    if total > i64::MAX as u128 {
        return Err(bad());
    }
    Ok(total)
}

/// Nanoseconds as Go's `time.Duration.String()` writes them: `1h0m0s`, `1m30s`, `1.5s`, `500ms`.
pub fn format_go_duration(nanos: u128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, size) = if nanos < 1_000 {
            ("ns", 1)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", fraction(nanos, size));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = nanos / 60_000_000_000 % 60;
    let seconds = fraction(nanos % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `n / size` with the remainder as decimals, trailing zeros dropped.
fn fraction(n: u128, size: u128) -> String {
    let whole = n / size;
    let rem = n % size;
    if rem == 0 {
        return whole.to_string();
    }
    let digits = size.ilog10() as usize;
    let frac = format!("{rem:0digits$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// A flag's Go duration, normalised as Flux writes it (`5m` → `5m0s`).
pub fn go_duration(flag: &str, text: &str) -> Result<String> {
    match parse_go_duration(text) {
        Ok(n) => Ok(format_go_duration(n)),
        Err(e) => bail!("--{flag}: {e}"),
    }
}

/// `---`, the object, a newline: what `flux create ... --export` prints.
pub fn export(value: &Value) -> String {
    let mut out = String::from("---\n");
    write_value(&mut out, &sorted(value), 0, false);
    out
}

/// Keys sorted at every level, as Go's YAML library writes maps.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Writes `v` at `level`; `inline` when the cursor already stands after `- ` or `key:`.
fn write_value(out: &mut String, v: &Value, level: usize, inline: bool) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (i, (k, child)) in m.iter().enumerate() {
                if !(inline && i == 0) {
                    pad(out, level);
                }
                out.push_str(&scalar_string(k));
                out.push(':');
                match child {
                    Value::Object(cm) if !cm.is_empty() => {
                        out.push('\n');
                        write_value(out, child, level + 2, false);
                    }
                    // Go's YAML library writes a sequence under a key at the key's indentation.
                    Value::Array(a) if !a.is_empty() => {
                        out.push('\n');
                        write_value(out, child, level, false);
                    }
                    Value::String(s) if s.contains('\n') => literal(out, s, level + 2),
                    _ => {
                        out.push(' ');
                        out.push_str(&scalar(child));
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                pad(out, level);
                out.push_str("- ");
                match item {
                    Value::Object(m) if !m.is_empty() => write_value(out, item, level + 2, true),
                    Value::Array(x) if !x.is_empty() => {
                        out.push('\n');
                        write_value(out, item, level + 2, false);
                    }
                    _ => {
                        out.push_str(&scalar(item));
                        out.push('\n');
                    }
                }
            }
        }
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn literal(out: &mut String, s: &str, level: usize) {
    out.push_str(if s.ends_with('\n') { " |\n" } else { " |-\n" });
    for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
        if !line.is_empty() {
            pad(out, level);
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Plain when a YAML reader takes it back as the same string, else single-quoted.
fn scalar_string(s: &str) -> String {
    if needs_quotes(s) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_string()
    }
}

fn needs_quotes(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if s.is_empty()
        || matches!(
            lower.as_str(),
            "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | ".inf" | "-.inf" | ".nan"
        )
    {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first.is_whitespace() || s.ends_with(char::is_whitespace) {
        return true;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.chars().any(char::is_control) {
        return true;
    }
    let numeric = s.trim_start_matches(['+', '-']);
    numeric.parse::<f64>().is_ok()
        || (numeric.starts_with("0x") && i64::from_str_radix(&numeric[2..], 16).is_ok())
        || (numeric.starts_with("0o") && i64::from_str_radix(&numeric[2..], 8).is_ok())
        || (numeric.chars().all(|c| c.is_ascii_digit() || c == '_' || c == ':')
            && numeric.starts_with(|c: char| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_as_go_writes_them() {
        for (input, want) in [
            ("1m", "1m0s"),
            ("30m", "30m0s"),
            ("2m", "2m0s"),
            ("30s", "30s"),
            ("90s", "1m30s"),
            ("1h", "1h0m0s"),
            ("1.5h", "1h30m0s"),
            ("2h45m", "2h45m0s"),
            ("1.5s", "1.5s"),
            ("500ms", "500ms"),
            ("0", "0s"),
            ("1m0.25s", "1m0.25s"),
            ("1500us", "1.5ms"),
        ] {
            assert_eq!(go_duration("interval", input).unwrap(), want, "{input}");
        }
        for bad in ["", "5", "m", "5d", "-1m", "1.m5"] {
            assert!(go_duration("interval", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn yaml_as_go_writes_it() {
        let v = json!({"spec": {"z": [{"name": "a", "namespace": "b"}], "semver": ">=1.0.0 <2.0.0",
            "ignore": "a\nb", "b": true, "n": "123", "num": "0x1F", "s": "plain/text"}, "apiVersion": "v1"});
        assert_eq!(
            export(&v),
            "---\napiVersion: v1\nspec:\n  b: true\n  ignore: |-\n    a\n    b\n  'n': '123'\n  num: '0x1F'\n  s: plain/text\n  semver: '>=1.0.0 <2.0.0'\n  z:\n  - name: a\n    namespace: b\n"
        );
    }
}
