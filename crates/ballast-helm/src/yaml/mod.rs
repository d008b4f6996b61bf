//! YAML as Helm's Go libraries read and write it.
//!
//! Reading ([`parse_values`], [`parse_document`], [`parse_all`]) follows goyaml.v2 (YAML 1.1:
//! `yes`/`no`/`on`/`off`/`y`/`n` are booleans, keys too; `0777` is octal; timestamps stay
//! strings; anchors, aliases and `<<` merge keys are resolved) and then sigs.k8s.io/yaml's trip
//! through JSON: keys become strings, every number a `float64`, `.inf`/`.nan` fail.
//!
//! Writing: [`to_yaml`] is sigs.k8s.io/yaml's `Marshal` (goyaml.v2's emitter over the JSON form:
//! sorted keys, sequences not indented under a key, long plain strings folded at 80 columns);
//! [`to_yaml_pretty`] is yaml.v3 with a 2-space indent (sequences indented, no folding, floats
//! in `%g` form).

mod emit;
mod emitter;
mod errors;
mod head;
mod lenient;
mod load;
mod quick;
mod resolve;

use std::borrow::Cow;

use ballast_gotemplate::Value;
use ballast_gotemplate::value::Map;

pub use emit::to_yaml;
pub use emit::to_yaml_pretty;
pub(crate) use emit::{format_g_shortest, plain_digits};
pub use head::{Head, HeadMetadata, parse_head, string_field};
pub use load::Mode;

/// How deep values may nest in the readers and writers of this crate (Go allows 10000; no
/// chart comes near, and a bound keeps every recursion far from the thread's stack limit).
pub const MAX_NESTING: usize = 256;

/// A YAML document Helm would refuse, with Helm's message (e.g. `error converting YAML to
/// JSON: yaml: line 3: mapping values are not allowed in this context`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(pub String);

impl YamlError {
    fn new(msg: String) -> YamlError {
        YamlError(msg)
    }
    fn converting(self) -> YamlError {
        YamlError(format!("error converting YAML to JSON: {}", self.0))
    }
}

/// Reads a values file (`values.yaml`, a `-f` file) as helm v4's `LoadValues` does: the text
/// is split into documents at lines starting `---` (k8s' YAML reader), each is read with
/// sigs.k8s.io/yaml into a map, and the maps are deep-merged in order (later wins). Empty
/// documents are skipped, so empty input gives an empty map. Every number is a `Float`.
///
/// The error is `LoadValues`' own text, to which helm prefixes `failed to parse FILE: ` (for
/// `-f`) or `cannot load values.yaml: `: `cannot unmarshal yaml document: error converting
/// YAML to JSON: yaml: line 3: ...`, or `error reading yaml document: invalid Yaml document
/// separator: ...` for a `---` line followed by more than a comment.
pub fn parse_values(src: &str) -> Result<Value, YamlError> {
    let mut out = Map::new();
    let unmarshal = |e: YamlError| YamlError(format!("cannot unmarshal yaml document: {}", e.0));
    for chunk in split_documents(src)? {
        let v = parse_document(&chunk).map_err(unmarshal)?;
        match v {
            Value::Nil => {}
            Value::Map(m) => {
                let m = std::rc::Rc::try_unwrap(m)
                    .map(|c| c.into_inner())
                    .unwrap_or_else(|rc| rc.borrow().clone());
                merge_maps(&mut out, m);
            }
            other => {
                let kind = match other {
                    Value::List(_) => "array",
                    Value::Bool(_) => "bool",
                    Value::Float(_) => "number",
                    _ => "string",
                };
                return Err(unmarshal(YamlError(format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
                ))));
            }
        }
    }
    Ok(Value::map(out))
}

/// helm's `MergeMaps`: `b`'s keys over `a`'s, maps merged recursively.
fn merge_maps(a: &mut Map, b: Map) {
    for (k, v) in b {
        if let (Value::Map(new), Some(Value::Map(old))) = (&v, a.get(&k)) {
            let mut merged = old.borrow().clone();
            merge_maps(&mut merged, new.borrow().clone());
            a.insert(k, Value::map(merged));
            continue;
        }
        a.insert(k, v);
    }
}

/// k8s.io/apimachinery's YAML reader: documents end at a line starting `---` whose rest is
/// blank or a comment; empty documents are dropped. Its line reader ends every line with
/// `\n` (the last one too) and drops the `\r` of `\r\n`. A text with no separator and no
/// `\r` (most values files) is its own one document, borrowed rather than copied line by line.
fn split_documents(src: &str) -> Result<Vec<Cow<'_, str>>, YamlError> {
    if !src.starts_with("---") && !src.contains("\n---") && !src.contains('\r') {
        return Ok(match src {
            "" => Vec::new(),
            _ if src.ends_with('\n') => vec![Cow::Borrowed(src)],
            _ => vec![Cow::Owned(format!("{src}\n"))],
        });
    }
    split_lines(src)
}

/// [`split_documents`] line by line.
fn split_lines(src: &str) -> Result<Vec<Cow<'_, str>>, YamlError> {
    let mut docs = Vec::new();
    let mut doc = String::new();
    for raw in src.split_inclusive('\n') {
        let line = raw
            .strip_suffix('\n')
            .map_or(raw, |l| l.strip_suffix('\r').unwrap_or(l));
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(YamlError(format!(
                    "error reading yaml document: invalid Yaml document separator: {trimmed}"
                )));
            }
            if !doc.is_empty() {
                docs.push(Cow::Owned(std::mem::take(&mut doc)));
            }
            continue;
        }
        doc.push_str(line);
        doc.push('\n');
    }
    if !doc.is_empty() {
        docs.push(Cow::Owned(doc));
    }
    Ok(docs)
}

/// Reads one YAML document as sigs.k8s.io/yaml's `Unmarshal` into `interface{}` does: the
/// first document only, numbers as `Float`, keys as strings; `Nil` for an empty document.
/// Errors are `error converting YAML to JSON: yaml: line N: ...` as Go prints them.
pub fn parse_document(src: &str) -> Result<Value, YamlError> {
    load::decode_first(src, Mode::Json).map_err(YamlError::converting)
}

/// [`parse_document`] for reading a document's head: a mapping that decodes without error
/// keeps only its `apiVersion`, `kind` and `metadata` entries (the rest is checked, not
/// built). Any other document, and every error, is exactly [`parse_document`]'s.
pub fn parse_document_head(src: &str) -> Result<Value, YamlError> {
    load::decode_first_head(src).map_err(YamlError::converting)
}

/// Like [`parse_document`] but keeps goyaml.v2's own number types (`Int64`, `Uint`,
/// `Float`): what a Go struct field sees before JSON (e.g. Chart.yaml's string fields, which
/// sigs.k8s.io/yaml fills from a number's text; see [`parse_head`] for how). NaN and ±Inf
/// still fail, as the JSON step fails on them.
pub fn parse_document_raw(src: &str) -> Result<Value, YamlError> {
    load::decode_first(src, Mode::Raw).map_err(YamlError::converting)
}

/// Every document of a stream, each as [`parse_document`] reads it (empty ones as `Nil`).
pub fn parse_all(src: &str) -> Result<Vec<Value>, YamlError> {
    load::decode_all(src, Mode::Json).map_err(YamlError::converting)
}

#[cfg(test)]
mod tests;
