//! `values.schema.json`: each chart's coalesced values (subcharts too, under their name or
//! alias) validated with the `jsonschema` crate, offline (a `$ref` to anything outside the
//! schema is refused), errors worded as helm v4 prints them:
//!
//! ```text
//! values don't meet the specifications of the schema(s) in the following chart(s):
//! mychart:
//! - at '/port': got string, want integer
//! - at '/list': validation failed
//!   - at '/list': minItems: got 1, want 2
//!   - at '/list/0': got number, want string
//! - at '': additional properties 'extra' not allowed
//! ```
//!
//! Errors are grouped by the property they fall under, as Helm's validator reports them; a
//! property with several errors is "validation failed" with the errors indented under it.
//! Helm lists sibling properties in a random order; here they are sorted by path, and a
//! value's own errors come first, except `additionalProperties`/`unevaluatedProperties`,
//! which come last.

use std::fmt::Write as _;

use ballast_gotemplate::Value;
use jsonschema::error::{TypeKind, ValidationErrorKind};

use crate::Error;
use crate::chart::Chart;

mod explain;
mod quick;

/// Whether `doc` is a draft 6 or 7 schema, where a `$ref` stands alone (every keyword beside
/// it ignored): `Some(true)`; `Some(false)` for 2019-09, 2020-12 or no `$schema` (the full
/// validator's default, 2020-12); `None` for any other draft or a `$schema` that is not a
/// string, which only the full validator reads.
fn lone_ref_draft(doc: &serde_json::Value) -> Option<bool> {
    match doc.get("$schema") {
        None => Some(false),
        Some(serde_json::Value::String(uri)) => match uri.trim_end_matches('#') {
            "https://json-schema.org/draft/2020-12/schema"
            | "http://json-schema.org/draft/2020-12/schema"
            | "https://json-schema.org/draft/2019-09/schema"
            | "http://json-schema.org/draft/2019-09/schema"
            | "https://json-schema.org/schema"
            | "http://json-schema.org/schema" => Some(false),
            "https://json-schema.org/draft-07/schema"
            | "http://json-schema.org/draft-07/schema"
            | "https://json-schema.org/draft-06/schema"
            | "http://json-schema.org/draft-06/schema" => Some(true),
            _ => None,
        },
        Some(_) => None,
    }
}

/// A retriever that fetches nothing: schemas are validated offline.
struct Offline;

impl jsonschema::Retrieve for Offline {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("refusing to load {uri}: schemas are validated offline and may only reference themselves").into())
    }
}

/// A template value as JSON data (what Helm's validator sees of the values).
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) | Value::Int64(i) => J::from(*i),
        Value::Uint(u) => J::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
        Value::String(s) => J::String(s.to_string()),
        Value::Bytes(b) => {
            use base64::Engine;
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(m.borrow().iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::Object(o) => to_json(&o.to_data()),
    }
}

/// Validates the values of `chart` and of every subchart (the map under its name) against
/// their `values.schema.json`. The error lists every failing chart, parent first.
pub fn validate(chart: &Chart, values: &Value) -> Result<(), Error> {
    let mut out = String::new();
    validate_into(chart, values, &mut out, 0);
    if out.is_empty() {
        Ok(())
    } else {
        Err(Error(format!(
            "values don't meet the specifications of the schema(s) in the following chart(s):\n{out}"
        )))
    }
}

fn validate_into(chart: &Chart, values: &Value, out: &mut String, depth: usize) {
    if depth > 64 {
        return;
    }
    if let Some(schema) = &chart.schema
        && let Err(e) = validate_single(values, schema)
    {
        let _ = write!(out, "{}:\n{e}", chart.metadata.name);
    }
    for sub in &chart.dependencies {
        let sv = match values {
            Value::Map(m) => m
                .borrow()
                .get(&sub.metadata.name)
                .cloned()
                .unwrap_or_else(Value::empty_map),
            _ => Value::empty_map(),
        };
        validate_into(sub, &sv, out, depth + 1);
    }
}

/// The schema documents of `chart` and of all its subcharts (disabled ones too), for
/// [`prepare_ahead`].
pub fn documents(chart: &Chart) -> Vec<crate::chart::Blob> {
    fn walk(chart: &Chart, out: &mut Vec<crate::chart::Blob>, depth: usize) {
        if depth > 64 {
            return;
        }
        out.extend(chart.schema.iter().cloned());
        for sub in &chart.dependencies {
            walk(sub, out, depth + 1);
        }
    }
    let mut out = Vec::new();
    walk(chart, &mut out, 0);
    out
}

/// Reads each document of `docs` into the process's cache of schemas (on the render's helper
/// thread once it has lexed the templates, while the render thread parses them: [`validate`]
/// then finds them read, or waits for the one being read). A document that cannot be read is
/// kept with its error, which [`validate`] reports.
pub fn prepare_ahead(docs: &[crate::chart::Blob]) {
    for doc in docs {
        let _ = prepared(doc);
    }
}

/// Most schemas kept by [`prepared`] (the cache is emptied when full).
const MAX_COMPILED: usize = 64;

type Compiled = std::sync::Arc<jsonschema::Validator>;

/// One schema document as [`prepared`] keeps it.
struct Prepared {
    /// The quick check, when it reads the document.
    quick: Option<quick::Quick>,
    /// The full validator: compiled at once for a schema outside the quick subset, else on
    /// the first values the quick check is not sure of.
    full: std::sync::OnceLock<Compiled>,
    /// The document, when the quick check does not hold it (for [`explain::explain`]).
    doc: Option<serde_json::Value>,
}

impl Prepared {
    fn full(&self) -> Result<Compiled, String> {
        if let Some(v) = self.full.get() {
            return Ok(v.clone());
        }
        let quick = self.quick.as_ref().ok_or("schema not compiled\n")?;
        let v = compile(quick.doc())?;
        let _ = self.full.set(v.clone());
        Ok(v)
    }
}

fn compile(doc: &serde_json::Value) -> Result<Compiled, String> {
    Ok(std::sync::Arc::new(
        jsonschema::options()
            .with_retriever(Offline)
            .with_base_uri("file:///values.schema.json")
            .build(doc)
            .map_err(|e| format!("{e}\n"))?,
    ))
}

/// One schema document, parsed once per process: a chart rendered again (or a subchart
/// shared by many charts) reuses it. Keyed by the document's bytes (hashing them is cheaper
/// than a digest, and a hit compares them whole). A document being parsed by another thread
/// (the render's helper, see [`prepare_ahead`]) is waited for, not parsed a second time.
fn prepared(schema: &[u8]) -> Result<std::sync::Arc<Prepared>, String> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Slot = Arc<OnceLock<Result<Arc<Prepared>, String>>>;
    // foldhash: the key is the whole document, hashed at each render (SipHash was 0.5% of a
    // redis render).
    type Cache = HashMap<Box<[u8]>, Slot, foldhash::fast::RandomState>;
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let slot = {
        let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
        match c.get(schema) {
            Some(slot) => slot.clone(),
            None => {
                if c.len() >= MAX_COMPILED {
                    c.clear();
                }
                let slot = Slot::default();
                c.insert(schema.into(), slot.clone());
                slot
            }
        }
    };
    slot.get_or_init(|| prepare(schema)).clone()
}

/// Parses one schema document: its quick check, or its full validator when the quick check
/// cannot read it.
fn prepare(schema: &[u8]) -> Result<std::sync::Arc<Prepared>, String> {
    let doc: serde_json::Value = serde_json::from_slice(schema).map_err(|e| format!("{e}\n"))?;
    let prepared = match quick::Quick::read(doc) {
        Ok(quick) => Prepared {
            quick: Some(quick),
            full: std::sync::OnceLock::new(),
            doc: None,
        },
        Err(doc) => Prepared {
            quick: None,
            full: std::sync::OnceLock::from(compile(&doc)?),
            doc: Some(doc),
        },
    };
    Ok(std::sync::Arc::new(prepared))
}

/// Validates values against one schema document. The error is the list of findings (each
/// line ending in a newline), or why the schema could not be used. Values the quick check
/// ([`quick::Quick::admits`]) is sure of pass without the full validator.
pub fn validate_single(values: &Value, schema: &[u8]) -> Result<(), String> {
    let prepared = prepared(schema)?;
    if let Some(quick) = &prepared.quick
        && quick.admits(values)
    {
        return Ok(());
    }
    let doc = prepared.quick.as_ref().map(quick::Quick::doc).or(prepared.doc.as_ref());
    full_findings(&prepared.full()?, values, doc)
}

/// The full validator's findings, worded as Helm's: as [`explain::explain`] finds them where
/// it reads the schema `doc`, else from the validator's own errors.
fn full_findings(validator: &Compiled, values: &Value, doc: Option<&serde_json::Value>) -> Result<(), String> {
    let instance = to_json(values);
    if validator.is_valid(&instance) {
        return Ok(());
    }
    if let Some(text) = doc.and_then(|d| explain::explain(d, &instance)) {
        return Err(text);
    }
    let mut errors: Vec<Finding> = Vec::new();
    // Missing properties of one object are reported together.
    let mut missing: Vec<(String, Vec<String>)> = Vec::new();
    for e in validator.iter_errors(&instance) {
        let path = e.instance_path().as_str().to_string();
        if let ValidationErrorKind::Required { property } = e.kind() {
            let p = property
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| property.to_string());
            match missing.iter_mut().find(|(mp, _)| *mp == path) {
                Some((_, props)) => props.push(p),
                None => missing.push((path, vec![p])),
            }
            continue;
        }
        errors.push(Finding {
            path,
            message: message(e.kind(), e.instance()),
            last: matches!(
                e.kind(),
                ValidationErrorKind::AdditionalProperties { .. } | ValidationErrorKind::UnevaluatedProperties { .. }
            ),
        });
    }
    for (path, props) in missing {
        let message = if props.len() == 1 {
            format!("missing property '{}'", props[0])
        } else {
            format!("missing properties {}", quoted_list(&props))
        };
        errors.insert(
            0,
            Finding {
                path,
                message,
                last: false,
            },
        );
    }
    if errors.is_empty() {
        return Ok(());
    }
    let mut out = String::new();
    render_group("", &errors, 0, &mut out);
    Err(out)
}

struct Finding {
    path: String,
    message: String,
    last: bool,
}

/// The first segment of `path` under `prefix` (`/a/b` under `` is `/a`).
fn child_of(prefix: &str, path: &str) -> Option<String> {
    let rest = path.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('/')?;
    let seg = rest.split('/').next().unwrap_or(rest);
    Some(format!("{prefix}/{seg}"))
}

/// Prints the findings under `prefix`: its own first (those of `additionalProperties` last),
/// each child property as one line, or "validation failed" with its findings indented.
fn render_group(prefix: &str, findings: &[Finding], indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    let own: Vec<&Finding> = findings.iter().filter(|f| f.path == prefix).collect();
    let mut children: Vec<String> = findings.iter().filter_map(|f| child_of(prefix, &f.path)).collect();
    children.sort();
    children.dedup();
    for f in own.iter().filter(|f| !f.last) {
        let _ = writeln!(out, "{pad}- at '{}': {}", f.path, f.message);
    }
    for c in children {
        let under: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.path == c || f.path.starts_with(&format!("{c}/")))
            .collect();
        if under.len() == 1 {
            let _ = writeln!(out, "{pad}- at '{}': {}", under[0].path, under[0].message);
        } else {
            let _ = writeln!(out, "{pad}- at '{c}': validation failed");
            let owned: Vec<Finding> = under
                .iter()
                .map(|f| Finding {
                    path: f.path.clone(),
                    message: f.message.clone(),
                    last: f.last,
                })
                .collect();
            render_group(&c, &owned, indent + 1, out);
        }
    }
    for f in own.iter().filter(|f| f.last) {
        let _ = writeln!(out, "{pad}- at '{}': {}", f.path, f.message);
    }
}

/// A JSON value's type as Helm's validator names it (`number` for every number).
fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// A value in a message: strings in single quotes, the rest as JSON (whole numbers without
/// a fraction).
fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("'{s}'"),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn quoted_list(items: &[String]) -> String {
    items.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

/// The message for one error, as Helm's validator words it.
fn message(kind: &ValidationErrorKind, instance: &serde_json::Value) -> String {
    use ValidationErrorKind as K;
    let got = show(instance);
    let len = |v: &serde_json::Value| -> usize {
        match v {
            serde_json::Value::String(s) => s.chars().count(),
            serde_json::Value::Array(a) => a.len(),
            serde_json::Value::Object(o) => o.len(),
            _ => 0,
        }
    };
    match kind {
        K::Type { kind } => {
            // In the validator's type order: null, boolean, integer, number, string, array, object.
            let want: Vec<String> = match kind {
                TypeKind::Single(t) => vec![t.to_string()],
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
            };
            format!("got {}, want {}", type_name(instance), want.join(" or "))
        }
        K::Required { property } => {
            let p = property
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| property.to_string());
            format!("missing property '{p}'")
        }
        K::AdditionalProperties { unexpected } => {
            format!("additional properties {} not allowed", quoted_list(unexpected))
        }
        K::UnevaluatedProperties { unexpected } => {
            format!("unevaluated properties {} not allowed", quoted_list(unexpected))
        }
        K::Enum { options } => {
            // Go's `%v` of null is `<nil>`.
            let shown = |v: &serde_json::Value| if v.is_null() { "<nil>".to_string() } else { show(v) };
            let opts = match options.as_ref() {
                serde_json::Value::Array(a) => a.iter().map(shown).collect::<Vec<_>>().join(", "),
                other => shown(other),
            };
            format!("value must be one of {opts}")
        }
        K::Constant { expected_value } if expected_value.is_null() => "value must be <nil>".into(),
        K::Constant { expected_value } => format!("value must be {}", show(expected_value)),
        K::Pattern { pattern } => format!("{got} does not match pattern '{pattern}'"),
        K::Minimum { limit } => format!("minimum: got {got}, want {}", show(limit)),
        K::Maximum { limit } => format!("maximum: got {got}, want {}", show(limit)),
        K::ExclusiveMinimum { limit } => format!("exclusiveMinimum: got {got}, want {}", show(limit)),
        K::ExclusiveMaximum { limit } => format!("exclusiveMaximum: got {got}, want {}", show(limit)),
        K::MinLength { limit } => format!("minLength: got {}, want {limit}", len(instance)),
        K::MaxLength { limit } => format!("maxLength: got {}, want {limit}", len(instance)),
        K::MinItems { limit } => format!("minItems: got {}, want {limit}", len(instance)),
        K::MaxItems { limit } => format!("maxItems: got {}, want {limit}", len(instance)),
        K::MinProperties { limit } => format!("minProperties: got {}, want {limit}", len(instance)),
        K::MaxProperties { limit } => format!("maxProperties: got {}, want {limit}", len(instance)),
        K::MultipleOf { multiple_of } => format!("multipleOf: got {got}, want {multiple_of}"),
        K::UniqueItems => "items are not unique".into(),
        K::Format { format } => format!("{got} is not valid '{format}'"),
        K::FalseSchema => "false schema".into(),
        K::Not { .. } => "'not' failed".into(),
        K::AnyOf { .. } => "'anyOf' failed".into(),
        K::OneOfNotValid { .. } => "'oneOf' failed, none matched".into(),
        K::OneOfMultipleValid { .. } => "'oneOf' failed, more than one matched".into(),
        K::Contains => "no items match contains schema".into(),
        K::PropertyNames { error } => format!("invalid propertyName {}", show(error.instance())),
        K::Referencing(e) => e.to_string(),
        other => format!("{} failed", other.keyword()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["name"],
 "additionalProperties": false,
 "properties": {"name": {"type": "string"}, "port": {"type": "integer", "minimum": 1, "maximum": 10}, "mode": {"enum": ["a", "b"]}, "tag": {"type": "string", "pattern": "^v"}, "list": {"type": "array", "items": {"type": "string"}, "minItems": 2}, "sub": {"type": "object"}, "global": {}, "obj": {"type":"object", "required":["a","b"], "properties": {"c": {"const": 5}}}, "n": {"type": ["string","null"]}, "s": {"minLength": 3, "maxLength": 4}}}"#;

    fn chart() -> Chart {
        let mut c = Chart::default();
        c.metadata.name = "S".into();
        c.schema = Some(SCHEMA.as_bytes().into());
        let mut sub = Chart::default();
        sub.metadata.name = "sub".into();
        sub.schema = Some(br#"{"type":"object","properties":{"v":{"type":"boolean"}}}"#.as_slice().into());
        c.dependencies.push(sub);
        c
    }

    fn check(set: &str) -> String {
        let user = if set.is_empty() {
            Value::empty_map()
        } else {
            crate::values::strvals::parse(set).unwrap()
        };
        let c = chart();
        let vals = crate::values::coalesce_values(&c, &user, false).unwrap();
        validate(&c, &vals).map(|_| "ok".to_string()).unwrap_or_else(|e| e.0)
    }

    const HEAD: &str = "values don't meet the specifications of the schema(s) in the following chart(s):\n";

    /// A document is parsed once however many threads ask for it at once: each gets the one
    /// parse (the same value), and a document that cannot be parsed gives each the same error.
    #[test]
    fn a_schema_is_prepared_once_for_threads_asking_at_once() {
        let doc: Vec<u8> = format!(
            r#"{{"properties": {{"x": {{"type": "string", "description": "{}"}}}}}}"#,
            "once ".repeat(20_000)
        )
        .into_bytes();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let got: Vec<_> = (0..4)
            .map(|_| {
                let (doc, barrier) = (doc.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    prepared(&doc).expect("prepared")
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        assert!(got.iter().all(|p| std::sync::Arc::ptr_eq(p, &got[0])));
        let bad = b"{ not json";
        let e = prepared(bad).err().expect("an error");
        assert_eq!(prepared(bad).err(), Some(e));
    }

    #[test]
    fn required() {
        assert_eq!(check(""), format!("{HEAD}S:\n- at '': missing property 'name'\n"));
    }

    #[test]
    fn type_enum_pattern_items_additional() {
        // Helm lists sibling properties in a random order; ours is sorted.
        assert_eq!(
            check("name=x,port=a,mode=c,tag=x,extra=1,list[0]=1"),
            format!(
                "{HEAD}S:\n- at '/list': validation failed\n  - at '/list': minItems: got 1, want 2\n  - at '/list/0': got number, want string\n- at '/mode': value must be one of 'a', 'b'\n- at '/port': got string, want integer\n- at '/tag': 'x' does not match pattern '^v'\n- at '': additional properties 'extra' not allowed\n"
            )
        );
    }

    #[test]
    fn limits_const_and_type_sets() {
        assert_eq!(
            check("name=x,port=20,obj.c=4,n=1,s=ab"),
            format!(
                "{HEAD}S:\n- at '/n': got number, want null or string\n- at '/obj': validation failed\n  - at '/obj': missing properties 'a', 'b'\n  - at '/obj/c': value must be 5\n- at '/port': maximum: got 20, want 10\n- at '/s': minLength: got 2, want 3\n"
            )
        );
    }

    #[test]
    fn nested_single_errors_and_type_order() {
        // As helm prints for traefik: a single error deep in a property is one line.
        let schema = br#"{"type": "object", "properties": {"ports": {"type": "object", "properties": {"web": {"type": "object", "properties": {"port": {"type": "integer"}}}}}, "replicas": {"type": ["integer", "null"]}}}"#;
        let vals = crate::values::strvals::parse("replicas=abc,ports.web.port=x").unwrap();
        assert_eq!(
            validate_single(&vals, schema).unwrap_err(),
            "- at '/ports/web/port': got string, want integer\n- at '/replicas': got string, want null or integer\n"
        );
    }

    #[test]
    fn subcharts_too() {
        assert_eq!(
            check("name=x,sub.v=1"),
            format!("{HEAD}sub:\n- at '/v': got number, want boolean\n")
        );
        assert_eq!(
            check("name=1,sub.v=1,s=abcdef"),
            format!(
                "{HEAD}S:\n- at '/name': got number, want string\n- at '/s': maxLength: got 6, want 4\nsub:\n- at '/v': got number, want boolean\n"
            )
        );
        assert_eq!(check("name=x"), "ok");
    }

    #[test]
    fn remote_refs_refused() {
        let schema = br#"{"$ref": "https://example.com/schema.json"}"#;
        let err = validate_single(&Value::empty_map(), schema).unwrap_err();
        assert!(err.contains("offline"), "{err}");
    }
}
