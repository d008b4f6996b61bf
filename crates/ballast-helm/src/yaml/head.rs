//! The head of a rendered manifest as Helm reads it to sort and classify documents:
//! sigs.k8s.io/yaml into `util.SimpleHead` (`apiVersion`, `kind`, `metadata.name`,
//! `metadata.annotations`), with that library's coercion of numbers and booleans into string
//! fields and encoding/json's error texts.

use std::collections::BTreeMap;

use ballast_gotemplate::Value;

use super::YamlError;
use super::load::{self, Mode};

/// `util.SimpleHead` of a manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// `apiVersion` ("" when absent).
    pub api_version: String,
    /// `kind` ("" when absent).
    pub kind: String,
    /// `metadata`, when present and not null.
    pub metadata: Option<HeadMetadata>,
}

/// `SimpleHead.Metadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeadMetadata {
    /// `metadata.name` ("" when absent).
    pub name: String,
    /// `metadata.annotations` (null values read as "").
    pub annotations: BTreeMap<String, String>,
}

const METADATA_TYPE: &str =
    r#"struct { Name string "json:\"name\""; Annotations map[string]string "json:\"annotations\"" }"#;

/// Reads a rendered document as Helm's `yaml.Unmarshal(doc, &SimpleHead{})` does. Errors are
/// the text after `YAML parse error on FILE: ` (e.g. `error converting YAML to JSON: yaml:
/// line 2: ...` or `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal
/// array into Go struct field SimpleHead.kind of type string`). An empty document gives an
/// empty head.
pub fn parse_head(src: &str) -> Result<Head, YamlError> {
    let v = load::decode_first(src, Mode::Raw).map_err(YamlError::converting)?;
    let unmarshal = |msg: String| YamlError(format!("error unmarshaling JSON: while decoding JSON: json: {msg}"));
    let mut head = Head::default();
    let m = match &v {
        Value::Nil => return Ok(head),
        Value::Map(m) => m.borrow(),
        other => {
            return Err(unmarshal(format!(
                "cannot unmarshal {} into Go value of type util.SimpleHead",
                kind(other)
            )));
        }
    };
    let mut first_error: Option<String> = None;
    let mut fail = |e: String| {
        first_error.get_or_insert(e);
    };
    for (k, item) in m.iter() {
        if k.eq_ignore_ascii_case("apiVersion") {
            match string_field(item) {
                Ok(s) => head.api_version = s,
                Err(kind) => fail(format!(
                    "cannot unmarshal {kind} into Go struct field SimpleHead.apiVersion of type string"
                )),
            }
        } else if k.eq_ignore_ascii_case("kind") {
            match string_field(item) {
                Ok(s) => head.kind = s,
                Err(kind) => fail(format!(
                    "cannot unmarshal {kind} into Go struct field SimpleHead.kind of type string"
                )),
            }
        } else if k.eq_ignore_ascii_case("metadata") {
            match item {
                Value::Nil => head.metadata = None,
                Value::Map(md) => {
                    let meta = head.metadata.get_or_insert_with(HeadMetadata::default);
                    for (mk, mv) in md.borrow().iter() {
                        if mk.eq_ignore_ascii_case("name") {
                            match string_field(mv) {
                                Ok(s) => meta.name = s,
                                Err(kind) => fail(format!(
                                    "cannot unmarshal {kind} into Go struct field .metadata.name of type string"
                                )),
                            }
                        } else if mk.eq_ignore_ascii_case("annotations") {
                            match mv {
                                Value::Nil => meta.annotations.clear(),
                                Value::Map(a) => {
                                    for (ak, av) in a.borrow().iter() {
                                        match string_field(av) {
                                            Ok(s) => {
                                                meta.annotations.insert(ak.clone(), s);
                                            }
                                            Err(kind) => fail(format!(
                                                "cannot unmarshal {kind} into Go struct field .metadata.annotations of type string"
                                            )),
                                        }
                                    }
                                }
                                other => fail(format!(
                                    "cannot unmarshal {} into Go struct field .metadata.annotations of type map[string]string",
                                    kind(other)
                                )),
                            }
                        }
                    }
                }
                other => fail(format!(
                    "cannot unmarshal {} into Go struct field SimpleHead.metadata of type {METADATA_TYPE}",
                    kind(other)
                )),
            }
        }
    }
    match first_error {
        Some(e) => Err(unmarshal(e)),
        None => Ok(head),
    }
}

/// The JSON kind encoding/json names in its messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) | Value::Object(_) => "object",
        Value::List(_) | Value::Bytes(_) => "array",
        Value::Bool(_) => "bool",
        Value::String(_) => "string",
        Value::Nil => "null",
        _ => "number",
    }
}

/// A Go `string` struct field as sigs.k8s.io/yaml fills it from a [`super::parse_document_raw`]
/// value (Chart.yaml's `version: 1.10`, an annotation `weight: 5`): numbers and booleans
/// become their text (floats as float32 `%g`: 1.10 → "1.1", 1e6 → "1e+06"), null leaves "",
/// a list or map fails with the JSON kind Go names (`array`, `object`).
pub fn string_field(v: &Value) -> Result<String, &'static str> {
    Ok(match v {
        Value::Nil => String::new(),
        Value::String(s) => s.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Float(f) => load::float32_text(*f),
        other => return Err(kind(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_as_helm_reads_them() {
        let h = parse_head("apiVersion: 1.10\nkind: true\nmetadata:\n  name: 1e6\n  annotations:\n    a: 1.1\n    b: null\n    c: 16777217\n    w: 5\n").unwrap();
        assert_eq!(h.api_version, "1.1");
        assert_eq!(h.kind, "true");
        let md = h.metadata.unwrap();
        assert_eq!(md.name, "1e+06");
        assert_eq!(md.annotations["a"], "1.1");
        assert_eq!(md.annotations["b"], "");
        assert_eq!(md.annotations["c"], "16777217");
        assert_eq!(md.annotations["w"], "5");
        let err = |src: &str| parse_head(src).unwrap_err().0;
        assert_eq!(
            err("kind: [A]\n"),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field SimpleHead.kind of type string"
        );
        assert_eq!(
            err("kind: A\nmetadata:\n  name: [1]\n"),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field .metadata.name of type string"
        );
        assert_eq!(
            err("kind: A\nmetadata:\n  annotations:\n    a: [1]\n"),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field .metadata.annotations of type string"
        );
        assert_eq!(
            err("kind: A\nmetadata: 5\n"),
            r#"error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go struct field SimpleHead.metadata of type struct { Name string "json:\"name\""; Annotations map[string]string "json:\"annotations\"" }"#
        );
        assert_eq!(
            err("kind: A\nmetadata:\n  annotations: 5\n"),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go struct field .metadata.annotations of type map[string]string"
        );
        assert_eq!(
            err("- a\n- b\n"),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type util.SimpleHead"
        );
        assert_eq!(
            err("hello\n"),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type util.SimpleHead"
        );
        assert_eq!(
            err("x: 1\na: b: c\n"),
            "error converting YAML to JSON: yaml: line 2: mapping values are not allowed in this context"
        );
        assert_eq!(parse_head("").unwrap(), Head::default());
    }
}
