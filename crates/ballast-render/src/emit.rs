//! Writes values as YAML, in the layout `kubectl` prints (block style, sequences not indented
//! under their key). Strings are quoted whenever a reader could take them for anything else, so
//! [`crate::yaml::parse_stream`] reads the output back to the same value.

use std::fmt::Write;

use serde_json::Value;

use crate::yaml::resolve_plain;

/// One value as a YAML document (without the `---` separator), ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

/// Several values as a multi-document stream separated by `---`.
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(v));
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, level: usize) {
    for (k, v) in m {
        indent(out, level);
        out.push_str(&string(k, level));
        out.push(':');
        write_child(out, v, level, true);
    }
}

fn write_seq(out: &mut String, a: &[Value], level: usize) {
    for v in a {
        indent(out, level);
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                // First key on the dash line, the rest aligned under it.
                let mut inner = String::new();
                write_map(&mut inner, m, level + 2);
                out.push(' ');
                out.push_str(&inner[level + 2..]);
            }
            _ => write_child(out, v, level, false),
        }
    }
}

fn write_child(out: &mut String, v: &Value, level: usize, in_map: bool) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, level + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, if in_map { level } else { level + 2 });
        }
        Value::String(s) if is_block_candidate(s) => {
            let chomp = if s.ends_with('\n') { "" } else { "-" };
            let _ = writeln!(out, " |{chomp}");
            for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
                if !line.is_empty() {
                    indent(out, level + 2);
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        other => {
            out.push(' ');
            out.push_str(&scalar_at(other, level));
            out.push('\n');
        }
    }
}

fn is_block_candidate(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\t', '\n'])
        && !s.ends_with("\n\n")
        && !s.chars().any(|c| c.is_control() && c != '\n')
        && s.split('\n').all(|l| !l.ends_with([' ', '\t']))
}

fn scalar(v: &Value) -> String {
    scalar_at(v, 0)
}

fn scalar_at(v: &Value, level: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s, level),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn string(s: &str, _level: usize) -> String {
    if needs_quotes(s) {
        serde_json::to_string(s).unwrap_or_default()
    } else {
        s.to_string()
    }
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || !matches!(resolve_plain(s), Value::String(_)) {
        return true;
    }
    // YAML 1.1 booleans: other readers (kubectl's sigs.k8s.io/yaml) take them for booleans.
    if matches!(
        s,
        "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO" | "on" | "On" | "ON" | "off" | "Off" | "OFF"
    ) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first.is_whitespace() {
        return true;
    }
    if s.ends_with([' ', ':']) || s.contains(": ") || s.contains(" #") {
        return true;
    }
    s.chars().any(|c| c.is_control()) || s.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_stream;
    use serde_json::json;

    #[test]
    fn layout_matches_kubectl() {
        let v = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}], "x": []}});
        assert_eq!(
            to_yaml(&v),
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: 80\n  x: []\n"
        );
    }

    #[test]
    fn round_trips_tricky_strings() {
        let v = json!({
            "a": "0755", "b": "true", "c": "yes", "d": "", "e": "- x", "f": "a: b", "g": "multi\nline\n",
            "h": "no-newline\nend", "i": " lead", "j": "1.5", "k": "x #y", "l": null, "m": 1.5, "n": [[1, 2], {}],
            "o": "tab\there", "p": "trail \nx", "q": "@at", "r": "~"
        });
        let back = parse_stream(&to_yaml(&v)).unwrap();
        assert_eq!(back[0], v, "{}", to_yaml(&v));
    }

    #[test]
    fn streams_separate_documents() {
        let s = to_yaml_stream([&json!({"a": 1}), &json!({"b": 2})]);
        assert_eq!(s, "a: 1\n---\nb: 2\n");
    }
}
