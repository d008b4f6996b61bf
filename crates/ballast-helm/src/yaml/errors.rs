//! goyaml.v2's error texts for what saphyr-parser reports, with libyaml's line numbering.

use ballast_gotemplate::Value;
use saphyr_parser::{ScanError, Span};

use super::YamlError;

/// Translates a parser error into goyaml.v2's message, with its odd line numbering (scanner
/// errors print the 1-based line, parser errors the 0-based one, and none on line 0).
pub(super) fn scan_error(src: &str, e: &ScanError) -> YamlError {
    let info = e.info();
    let mark = e.marker();
    let mut line0 = mark.line().saturating_sub(1);
    let (msg, scanner) = match info {
        "while parsing node, found unknown anchor" => {
            let name = anchor_name(src, mark.index());
            return YamlError::new(format!("yaml: unknown anchor '{name}' referenced"));
        }
        "while parsing a block mapping, did not find expected key" => ("did not find expected key", false),
        "while parsing a node, did not find expected node content" => ("did not find expected node content", false),
        "while parsing a flow mapping, did not find expected ',' or '}'" => ("did not find expected ',' or '}'", false),
        "while parsing a flow sequence, expected ',' or ']'" => ("did not find expected ',' or ']'", false),
        "while parsing a block collection, did not find expected '-' indicator" => {
            ("did not find expected '-' indicator", false)
        }
        "while scanning a quoted scalar, found unexpected end of stream" => {
            // libyaml reports it where the stream ends.
            line0 = src.bytes().filter(|b| *b == b'\n').count();
            ("found unexpected end of stream", true)
        }
        i if i.starts_with("invalid trailing content after") => ("did not find expected key", false),
        "comment intercepting the multiline text" => {
            // libyaml ends the scalar at the comment and trips on the next line: a scalar
            // alone on its line was a required key ("could not find expected ':'"), one after
            // `key:` or `-` a finished value followed by a stray node.
            let line = src.lines().nth(line0).unwrap_or("");
            let before_comment = line.split(" #").next().unwrap_or("").trim_start();
            let col = line.len() - line.trim_start().len();
            // What holds the scalar: `- a #c` a sequence, `k: a #c` a mapping; a scalar alone
            // on its line is the value of a `key:` or `-` line above it, or else a key itself.
            let before: Vec<&str> = src.lines().take(line0).collect();
            let opener = before
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .and_then(|prev| {
                    let indent = prev.len() - prev.trim_start().len();
                    let body = prev.split(" #").next().unwrap_or("").trim_end();
                    let last = body.rsplit(' ').next().unwrap_or("");
                    let opens = last.starts_with(['&', '!']) || body.ends_with(':') || body.trim_start() == "-";
                    if indent >= col || !opens {
                        return None;
                    }
                    let body = if last.starts_with(['&', '!']) {
                        body[..body.len() - last.len()].trim_end()
                    } else {
                        body
                    };
                    Some(if body.ends_with('-') { "sequence" } else { "mapping" })
                });
            line0 += 1;
            if before_comment.starts_with("- ") || opener == Some("sequence") {
                ("did not find expected '-' indicator", false)
            } else if before_comment.contains(": ") || opener == Some("mapping") {
                ("did not find expected key", false)
            } else {
                ("could not find expected ':'", true)
            }
        }
        i if i.contains("escape") && i.contains("nicode") || i.contains("surrogate") => {
            ("found invalid Unicode character escape code", true)
        }
        "simple key expect ':'" | "simple key expected" => ("could not find expected ':'", true),
        "mapping values are not allowed in this context" => ("mapping values are not allowed in this context", true),
        "block sequence entries are not allowed in this context" => {
            ("block sequence entries are not allowed in this context", true)
        }
        "a block scalar content cannot start with a tab" => {
            line0 += 1;
            ("found a tab character where an indentation space is expected", true)
        }
        "while scanning a plain scalar, found a tab" => {
            line0 += 1;
            ("found a tab character that violates indentation", true)
        }
        "\"-\" is only valid inside a block" => ("did not find expected node content", false),
        "tabs disallowed within this context (block indentation)" => {
            ("found character that cannot start any token", true)
        }
        i if i.starts_with("unexpected character") || i.starts_with("unexpected end of") => {
            ("found character that cannot start any token", true)
        }
        i => (i, true),
    };
    let line = if scanner { line0 + 1 } else { line0 };
    if line0 == 0 {
        YamlError::new(format!("yaml: {msg}"))
    } else {
        YamlError::new(format!("yaml: line {line}: {msg}"))
    }
}

/// The anchor or alias name at char index `at` (its `*`/`&` included or not).
pub(super) fn anchor_name(src: &str, at: usize) -> String {
    let rest: String = src.chars().skip(at).take(1024).collect();
    let rest = rest.trim_start_matches(['*', '&']);
    rest.chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
        .collect()
}

/// libyaml gives up on an implicit key whose `:` is more than 1024 characters past its start.
pub(super) fn long_key_error(src: &str, map_start: usize, key: Span) -> YamlError {
    let flow = src.chars().nth(map_start) == Some('{');
    let line0 = key.end.line().saturating_sub(1);
    let (msg, line) = if flow {
        ("did not find expected ',' or '}'", line0)
    } else {
        ("mapping values are not allowed in this context", line0 + 1)
    };
    if line0 == 0 {
        YamlError::new(format!("yaml: {msg}"))
    } else {
        YamlError::new(format!("yaml: line {line}: {msg}"))
    }
}

/// A small `%#v`-like print for error messages.
pub(super) fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::String(s) => ballast_gotemplate::fmt::quote(s),
        Value::List(l) => {
            let items: Vec<String> = l.iter().map(go_sharp_v).collect();
            format!("[]interface {{}}{{{}}}", items.join(", "))
        }
        Value::Map(m) => {
            let items: Vec<String> = m
                .borrow()
                .iter()
                .map(|(k, v)| format!("{}:{}", ballast_gotemplate::fmt::quote(k), go_sharp_v(v)))
                .collect();
            format!("map[interface {{}}]interface {{}}{{{}}}", items.join(", "))
        }
        Value::Float(f) => ballast_gotemplate::fmt::format_float_g(*f),
        Value::Uint(u) => format!("{u:#x}"),
        v => v.to_string(),
    }
}
