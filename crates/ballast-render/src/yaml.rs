//! A YAML front end that reads Kubernetes manifests the way Flux and kustomize do.
//!
//! Events come from `saphyr-parser`; values are built straight into `serde_json::Value` (no
//! intermediate YAML tree). Plain scalars are resolved with the rules of Go's `yaml.v3`, which
//! kustomize and Flux use: `true`/`false` (three casings) are booleans but `yes`/`on` stay strings;
//! integers follow Go's base-prefix rules, so `0755` is octal (493) as Kubernetes users expect;
//! `~`, `null` and the empty scalar are null. Anchors, aliases and merge keys (`<<`) are supported;
//! a duplicate key is an error.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

/// A syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Index of the document (0-based) in which the error was found.
    pub document: usize,
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid YAML in document {} at line {} column {}: {}",
            self.document, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for YamlError {}

enum Frame {
    Seq(Vec<Value>, usize),
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
        merges: Vec<Value>,
    },
}

/// Most values aliases may copy into one document (a "billion laughs" guard).
pub const ALIAS_BUDGET: usize = 100_000;

fn size(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(size).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(size).sum::<usize>(),
        _ => 1,
    }
}

/// Parses a multi-document YAML stream. Returns one value per document, in order; an empty
/// document is `Value::Null`. Aliases may copy at most [`ALIAS_BUDGET`] values per document.
pub fn parse_stream(text: &str) -> Result<Vec<Value>, YamlError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    let mut anchors: HashMap<usize, (Value, usize)> = HashMap::new();
    let mut copied = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError {
            document: docs.len(),
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let err = |message: String| YamlError {
            document: docs.len(),
            line: span.start.line(),
            column: span.start.col() + 1,
            message,
        };
        let value = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                anchors.clear();
                copied = 0;
                continue;
            }
            Event::DocumentEnd => {
                docs.push(root.take().unwrap_or(Value::Null));
                continue;
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), anchor));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map {
                    map: Map::new(),
                    key: None,
                    anchor,
                    merges: Vec::new(),
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor)) => remember(&mut anchors, anchor, Value::Array(items)),
                _ => return Err(err("unbalanced sequence".into())),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    mut map,
                    anchor,
                    merges,
                    ..
                }) => {
                    for merged in merges {
                        merge_into(&mut map, merged).map_err(&err)?;
                    }
                    remember(&mut anchors, anchor, Value::Object(map))
                }
                _ => return Err(err("unbalanced mapping".into())),
            },
            Event::Alias(id) => match anchors.get(&id) {
                Some((v, n)) => {
                    copied += n;
                    if copied > ALIAS_BUDGET {
                        return Err(err(format!("aliases expand to more than {ALIAS_BUDGET} values")));
                    }
                    v.clone()
                }
                None => return Err(err("alias to an unknown anchor".into())),
            },
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(Frame::Map { key: key @ None, .. }) = stack.last_mut() {
                    *key = Some(text.into_owned());
                    continue;
                }
                let v = resolve_scalar(&text, style, tag.as_deref()).map_err(&err)?;
                remember(&mut anchors, anchor, v)
            }
        };
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq(items, _)) => items.push(value),
            Some(Frame::Map { map, key, merges, .. }) => match key.take() {
                Some(k) if k == "<<" => merges.push(value),
                Some(k) => {
                    if map.insert(k.clone(), value).is_some() {
                        return Err(err(format!("mapping key {k:?} already defined")));
                    }
                }
                None => {
                    // A non-scalar used as a key (or an alias as a key).
                    match value {
                        Value::String(s) => *key = Some(s),
                        Value::Number(n) => *key = Some(n.to_string()),
                        Value::Bool(b) => *key = Some(b.to_string()),
                        _ => return Err(err("complex mapping keys are not supported".into())),
                    }
                }
            },
        }
    }
    Ok(docs)
}

fn remember(anchors: &mut HashMap<usize, (Value, usize)>, anchor: usize, v: Value) -> Value {
    if anchor != 0 {
        anchors.insert(anchor, (v.clone(), size(&v)));
    }
    v
}

fn merge_into(map: &mut Map<String, Value>, merged: Value) -> Result<(), String> {
    match merged {
        Value::Object(m) => {
            for (k, v) in m {
                map.entry(k).or_insert(v);
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                merge_into(map, item)?;
            }
            Ok(())
        }
        _ => Err("merge key << needs a mapping or a list of mappings".into()),
    }
}

fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag
        && (tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!")
    {
        return match tag.suffix.as_str() {
            "str" | "binary" | "timestamp" => Ok(Value::String(text.to_string())),
            "null" => Ok(Value::Null),
            "bool" | "int" | "float" => match resolve_plain(text) {
                v @ (Value::Bool(_) | Value::Number(_)) => Ok(v),
                _ => Err(format!("cannot read {text:?} as !!{}", tag.suffix)),
            },
            _ => Ok(resolve_plain(text)),
        };
    }
    Ok(match style {
        ScalarStyle::Plain => resolve_plain(text),
        _ => Value::String(text.to_string()),
    })
}

/// Resolves an untagged plain scalar to null, bool, number or string (Go yaml.v3 rules).
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
        | ".NAN" => return Value::String(text.to_string()),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Value::String(text.to_string());
    }
    if let Some(i) = parse_go_int(text) {
        return Value::Number(i.into());
    }
    if looks_like_float(text)
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, `0x`/`0o`/`0b` prefixes, a leading `0` for
/// octal, and `_` separators only after a base prefix.
fn parse_go_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower, false)
    };
    if digits.is_empty() || (!prefixed && digits.contains('_')) {
        return None;
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    let v = if neg { -magnitude } else { magnitude };
    i64::try_from(v).ok()
}

/// Go yaml.v3's float shape: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn looks_like_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
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
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_resolve_like_go_yaml_v3() {
        let docs = parse_stream(
            "a: 0755\nb: yes\nc: true\nd: ~\ne: 1.5\nf: '0755'\ng: 0x1F\nh: 1_000\ni: -3\nj: 1e3\nk:\nl: 08\nm: v1.2\n",
        )
        .unwrap();
        assert_eq!(
            docs[0],
            json!({"a": 493, "b": "yes", "c": true, "d": null, "e": 1.5, "f": "0755", "g": 31,
                   "h": "1_000", "i": -3, "j": 1000.0, "k": null, "l": 8.0, "m": "v1.2"})
        );
    }

    #[test]
    fn multi_document_streams_keep_empty_documents() {
        let docs = parse_stream("---\na: 1\n---\n---\nb: [1, 2]\n").unwrap();
        assert_eq!(docs, vec![json!({"a": 1}), Value::Null, json!({"b": [1, 2]})]);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let docs = parse_stream("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\nlist: [*b]\n").unwrap();
        assert_eq!(docs[0]["derived"], json!({"x": 1, "y": 3}));
        assert_eq!(docs[0]["list"], json!([{"x": 1, "y": 2}]));
    }

    #[test]
    fn errors_carry_document_and_line() {
        let e = parse_stream("a: 1\n---\nb: [1, 2\nc: 3\n").unwrap_err();
        assert_eq!(e.document, 1);
        assert!(e.line >= 3, "{e}");
        let e = parse_stream("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("already defined"), "{e}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse_stream(&text).unwrap_err();
        assert!(e.message.contains("aliases expand"), "{e}");
    }

    #[test]
    fn tags_force_types() {
        let docs = parse_stream("a: !!str 123\nb: !!int \"7\"\n").unwrap();
        assert_eq!(docs[0], json!({"a": "123", "b": 7}));
    }

    #[test]
    fn block_scalars() {
        let docs = parse_stream("a: |\n  line1\n  line2\nb: >-\n  folded\n  text\n").unwrap();
        assert_eq!(docs[0], json!({"a": "line1\nline2\n", "b": "folded text"}));
    }
}
