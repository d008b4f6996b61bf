//! A YAML front end that reads Kubernetes manifests the way Flux and kustomize do.
//!
//! Events come from `saphyr-parser`; values are built straight into `serde_json::Value` (no
//! intermediate YAML tree). Plain scalars are resolved with the rules of Go's `yaml.v3`, which
//! kustomize and Flux use: `true`/`false` (three casings) are booleans but `yes`/`on` stay strings;
//! integers follow Go's base-prefix rules, so `0755` is octal (493) as Kubernetes users expect;
//! `~`, `null` and the empty scalar are null. Anchors, aliases and merge keys (`<<`) are supported;
//! a duplicate key is an error. Streams are bounded by [`Limits`] (documents, size after alias
//! expansion, nesting), and error messages never quote a scalar's value.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

use crate::limits::{Limit, Limits, MAX_DEPTH, VALUE_OVERHEAD};

/// A syntax error, or a limit reached, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Index of the document (0-based) in which the error was found.
    pub document: usize,
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub column: usize,
    /// What is wrong. Never quotes a scalar's value (it may be a secret).
    pub message: String,
    /// The stream is valid so far but goes over this limit.
    pub limit: Option<Limit>,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return f.write_str(&self.message);
        }
        let prefix = if self.limit.is_some() { "" } else { "invalid YAML in " };
        write!(
            f,
            "{prefix}document {} at line {} column {}: {}",
            self.document, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for YamlError {}

/// An open collection: its items so far, its anchor, the expanded size when it started, and
/// its height so far (1 + the height of its highest child; a scalar has height 0).
enum Frame {
    Seq(Vec<Value>, usize, u64, usize),
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
        merges: Vec<Value>,
        start: u64,
        height: usize,
    },
}

/// Documents of a stream and the bytes they take once aliases are expanded (see
/// [`crate::limits`] for how they are counted).
#[derive(Debug, Default)]
pub struct Parsed {
    /// One value per document, in order; an empty document is `Value::Null`.
    pub docs: Vec<Value>,
    /// Expanded size of all documents together.
    pub expanded: u64,
    /// Per document, the JSON pointers of values written as an explicit null (`null`, `~`, a
    /// `!!null` tag), as opposed to left empty: kustomize's merge keeps the former only.
    pub explicit_nulls: Vec<Vec<String>>,
}

/// Parses a multi-document YAML stream within the default [`Limits`]. Returns one value per
/// document, in order; an empty document is `Value::Null`.
pub fn parse_stream(text: &str) -> Result<Vec<Value>, YamlError> {
    parse_stream_limited(text, &Limits::default()).map(|p| p.docs)
}

/// Parses a multi-document YAML stream, refusing more than `limits.max_documents` documents, an
/// expanded size over `limits.max_expanded_size` (counted over the whole stream, checked before
/// an alias is copied) and nesting deeper than [`MAX_DEPTH`].
pub fn parse_stream_limited(text: &str, limits: &Limits) -> Result<Parsed, YamlError> {
    let source = text;
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    // Anchored values with their expanded size and height.
    let mut anchors: HashMap<usize, (Value, u64, usize)> = HashMap::new();
    let mut expanded = 0u64;
    let mut explicit_nulls: Vec<Vec<String>> = Vec::new();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError {
            document: docs.len(),
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
            limit: None,
        })?;
        let at = |message: String, limit: Option<Limit>| YamlError {
            document: docs.len(),
            line: span.start.line(),
            column: span.start.col() + 1,
            message,
            limit,
        };
        let err = |message: String| at(message, None);
        let add = |expanded: &mut u64, n: u64| -> Result<(), YamlError> {
            if expanded.saturating_add(n) > limits.max_expanded_size {
                return Err(at(
                    Limit::ExpandedSize.message("the expanded size (aliases included)", limits.max_expanded_size),
                    Some(Limit::ExpandedSize),
                ));
            }
            *expanded += n;
            Ok(())
        };
        // The copy an anchor keeps counts too.
        let keep = |expanded: &mut u64, anchor: usize, n: u64| if anchor == 0 { Ok(()) } else { add(expanded, n) };
        let depth = |stack: &Vec<Frame>| -> Result<(), YamlError> {
            if stack.len() >= MAX_DEPTH {
                return Err(at(
                    Limit::Depth.message("nesting", MAX_DEPTH as u64),
                    Some(Limit::Depth),
                ));
            }
            Ok(())
        };
        let (value, height) = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                if docs.len() >= limits.max_documents {
                    return Err(at(
                        Limit::Documents.message("the number of documents", limits.max_documents as u64),
                        Some(Limit::Documents),
                    ));
                }
                anchors.clear();
                continue;
            }
            Event::DocumentEnd => {
                docs.push(root.take().unwrap_or(Value::Null));
                continue;
            }
            Event::SequenceStart(anchor, _) => {
                depth(&stack)?;
                let start = expanded;
                add(&mut expanded, VALUE_OVERHEAD)?;
                stack.push(Frame::Seq(Vec::new(), anchor, start, 1));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                depth(&stack)?;
                let start = expanded;
                add(&mut expanded, VALUE_OVERHEAD)?;
                stack.push(Frame::Map {
                    map: Map::new(),
                    key: None,
                    anchor,
                    merges: Vec::new(),
                    start,
                    height: 1,
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor, start, height)) => {
                    let size = expanded - start;
                    keep(&mut expanded, anchor, size)?;
                    let v = remember(&mut anchors, anchor, Value::Array(items), size, height);
                    (v, height)
                }
                _ => return Err(err("unbalanced sequence".into())),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    mut map,
                    anchor,
                    merges,
                    start,
                    height,
                    ..
                }) => {
                    for merged in merges {
                        merge_into(&mut map, merged).map_err(&err)?;
                    }
                    let size = expanded - start;
                    keep(&mut expanded, anchor, size)?;
                    let v = remember(&mut anchors, anchor, Value::Object(map), size, height);
                    (v, height)
                }
                _ => return Err(err("unbalanced mapping".into())),
            },
            Event::Alias(id) => match anchors.get(&id) {
                Some((v, n, h)) => {
                    // Counted before the copy is made: a bomb stops here, small. Nesting
                    // aliases inside aliases must not build a value deeper than a document may
                    // be either (later walks recurse).
                    if stack.len() + h > MAX_DEPTH {
                        return Err(at(
                            Limit::Depth.message("nesting (aliases included)", MAX_DEPTH as u64),
                            Some(Limit::Depth),
                        ));
                    }
                    add(&mut expanded, *n)?;
                    (v.clone(), *h)
                }
                None => return Err(err("alias to an unknown anchor".into())),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let text = clip_at_eof(source, text, style, span.end.index());
                let n = text.len() as u64 + VALUE_OVERHEAD;
                add(&mut expanded, n)?;
                if let Some(Frame::Map { key: key @ None, .. }) = stack.last_mut() {
                    *key = Some(text.into_owned());
                    continue;
                }
                let v = resolve_scalar(&text, style, tag.as_deref()).map_err(&err)?;
                if v.is_null() && !text.is_empty() {
                    let pointer: String = stack
                        .iter()
                        .map(|f| match f {
                            Frame::Seq(items, ..) => format!("/{}", items.len()),
                            Frame::Map { key, .. } => {
                                format!(
                                    "/{}",
                                    key.as_deref().unwrap_or("").replace('~', "~0").replace('/', "~1")
                                )
                            }
                        })
                        .collect();
                    explicit_nulls.resize(explicit_nulls.len().max(docs.len() + 1), Vec::new());
                    explicit_nulls[docs.len()].push(pointer);
                }
                keep(&mut expanded, anchor, n)?;
                (remember(&mut anchors, anchor, v, n, 0), 0)
            }
        };
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq(items, _, _, h)) => {
                *h = (*h).max(height + 1);
                items.push(value)
            }
            Some(Frame::Map {
                map,
                key,
                merges,
                height: h,
                ..
            }) => match key.take() {
                Some(k) if k == "<<" => {
                    *h = (*h).max(height + 1);
                    merges.push(value)
                }
                Some(k) => {
                    *h = (*h).max(height + 1);
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
    Ok(Parsed {
        docs,
        expanded,
        explicit_nulls,
    })
}

fn remember(
    anchors: &mut HashMap<usize, (Value, u64, usize)>,
    anchor: usize,
    v: Value,
    size: u64,
    height: usize,
) -> Value {
    if anchor != 0 {
        anchors.insert(anchor, (v.clone(), size, height));
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

/// A block scalar that runs to the end of a file lacking a final line break ends without one
/// (as Go's YAML reads it), where the parser would add it.
fn clip_at_eof<'a>(
    source: &str,
    scalar: std::borrow::Cow<'a, str>,
    style: ScalarStyle,
    end: usize,
) -> std::borrow::Cow<'a, str> {
    let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
    if !block || source.ends_with('\n') || !scalar.ends_with('\n') {
        return scalar;
    }
    // Only the file's last scalar: nothing but blanks after it.
    let rest: String = source.chars().skip(end).collect();
    if !rest.trim().is_empty() {
        return scalar;
    }
    let mut s = scalar.into_owned();
    s.pop();
    std::borrow::Cow::Owned(s)
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
                // The scalar itself is not quoted: it may be a secret.
                _ => Err(format!(
                    "a {} scalar tagged !!{} is not a valid {}",
                    style_name(style),
                    tag.suffix,
                    tag.suffix
                )),
            },
            _ => Ok(resolve_plain(text)),
        };
    }
    Ok(match style {
        ScalarStyle::Plain => resolve_plain(text),
        _ => Value::String(text.to_string()),
    })
}

fn style_name(style: ScalarStyle) -> &'static str {
    match style {
        ScalarStyle::Plain => "plain",
        ScalarStyle::SingleQuoted => "single-quoted",
        ScalarStyle::DoubleQuoted => "double-quoted",
        ScalarStyle::Literal => "literal block",
        ScalarStyle::Folded => "folded block",
    }
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
    fn explicit_nulls_are_told_from_empty_values() {
        let p = parse_stream_limited(
            "a:\nb: null\nc: ~\nd:\n  e: Null\n  f: [1, null]\n---\nx: !!null null\n",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(p.explicit_nulls[0], ["/b", "/c", "/d/e", "/d/f/1"]);
        assert_eq!(p.explicit_nulls[1], ["/x"]);
    }

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
        assert_eq!(e.limit, Some(Limit::ExpandedSize), "{e}");
        assert!(e.message.contains("expanded size"), "{e}");
    }

    fn small() -> Limits {
        Limits {
            max_documents: 10,
            max_expanded_size: 64 * 1024,
            ..Limits::default()
        }
    }

    #[test]
    fn a_large_string_aliased_many_times_is_refused_before_it_is_copied() {
        let big = "x".repeat(1 << 20);
        let mut text = format!("a: &a \"{big}\"\nb: [");
        text.push_str(&"*a, ".repeat(100_000));
        text.push_str("*a]\n");
        let started = std::time::Instant::now();
        let e = parse_stream(&text).unwrap_err();
        assert_eq!(e.limit, Some(Limit::ExpandedSize), "{e}");
        assert_eq!((e.document, e.line), (0, 2), "{e}");
        assert_eq!(
            e.to_string(),
            "document 0 at line 2 column 249: the expanded size (aliases included) is over the limit of 64 MiB (raise it with --max-expanded-size)"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn the_expanded_size_counts_over_the_whole_file_not_per_document() {
        // Each document alone stays under the limit; together they are far over it.
        let doc = format!("a: &a \"{}\"\nb: [{}]\n", "x".repeat(1024), ["*a"; 50].join(", "));
        assert!(parse_stream_limited(&doc, &small()).is_ok());
        let text = format!("---\n{doc}").repeat(10_000);
        let e = parse_stream_limited(
            &text,
            &Limits {
                max_documents: 10_000,
                ..small()
            },
        )
        .unwrap_err();
        assert_eq!((e.limit, e.document), (Some(Limit::ExpandedSize), 1), "{e}");
    }

    #[test]
    fn documents_per_file_are_limited() {
        let ok = "---\na: 1\n".repeat(10);
        assert_eq!(parse_stream_limited(&ok, &small()).unwrap().docs.len(), 10);
        let e = parse_stream_limited(&format!("{ok}---\nb: 2\n"), &small()).unwrap_err();
        assert_eq!((e.limit, e.document), (Some(Limit::Documents), 10), "{e}");
        assert!(
            e.to_string()
                .contains("the number of documents is over the limit of 10 (raise it with --max-documents)"),
            "{e}"
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let n = MAX_DEPTH + 1;
        // saphyr-parser stops deep flow collections itself; block nesting is ours to stop.
        assert!(parse_stream(&format!("{}{}", "[".repeat(n), "]".repeat(n))).is_err());
        let mut block = String::new();
        for i in 0..n {
            block.push_str(&format!("{}k:\n", "  ".repeat(i)));
        }
        assert_eq!(parse_stream(&block).unwrap_err().limit, Some(Limit::Depth));
        let ok = MAX_DEPTH - 1;
        assert!(parse_stream(&format!("{}{}", "[".repeat(ok), "]".repeat(ok))).is_ok());
        // Aliases of deep values nested in each other would otherwise build values thousands
        // of levels deep from a few short lines.
        let deep = |inner: &str| format!("{}{inner}{}", "[".repeat(200), "]".repeat(200));
        let mut text = format!("a0: &a0 {}\n", deep("x"));
        for i in 1..50 {
            text.push_str(&format!("a{i}: &a{i} {}\n", deep(&format!("*a{}", i - 1))));
        }
        let e = parse_stream(&text).unwrap_err();
        assert_eq!((e.limit, e.line), (Some(Limit::Depth), 2), "{e}");
    }

    #[test]
    fn tag_errors_do_not_quote_the_scalar() {
        for text in [
            "k: !!int s3cr3t-literal-value\n",
            "k: !!bool 's3cr3t-literal-value'\n",
            "k: !!float |\n  s3cr3t-literal-value\n",
        ] {
            let e = parse_stream(text).unwrap_err().to_string();
            assert!(e.contains("scalar tagged !!"), "{e}");
            assert!(!e.contains("s3cr3t"), "{e}");
        }
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
