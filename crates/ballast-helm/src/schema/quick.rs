//! A quick check of values against a `values.schema.json`, for schemas written in the few
//! keywords charts use (`type`, `properties`, `additionalProperties`, `items`, `required`,
//! `enum`, `const`, numeric and size limits, `allOf`, `anyOf`, `$ref` into the same
//! document), read directly from the parsed document without compiling it.
//!
//! Guarantee: [`Quick::admits`] returns `true` only when the full validator (the `jsonschema`
//! crate, as `super::compile` builds it) would report no error for the same schema and
//! values. Whenever it cannot be sure (a number it cannot compare exactly, a value it cannot
//! see as the full validator does, values that fail), it says `false` and the caller runs
//! the full validator, which decides and words the errors. The check never reports an error
//! itself.
//!
//! The full validator also validates the schema against its draft's meta-schema;
//! [`Quick::read`] stands in for that by checking the shape of every keyword it reads,
//! everywhere in the document (definitions not referenced included), and leaves a schema
//! with anything else (another keyword, draft or kind of `$ref`) to the full validator.

use std::cmp::Ordering;

use ballast_gotemplate::Value;
use serde_json::{Map, Number, Value as J};

/// Deepest nesting of schemas (and of `$ref`s followed) the check walks before giving up.
const MAX_DEPTH: usize = 128;

/// A schema document the quick check reads.
pub struct Quick {
    doc: J,
    /// Draft 6 or 7: a `$ref` stands alone, every keyword beside it ignored (as the full
    /// validator does for drafts up to 7); in 2019-09 and 2020-12 it applies with them.
    lone_ref: bool,
}

impl Quick {
    /// `doc` as a quick check when it is a schema this check reads: its `$schema` names
    /// draft 6, 7, 2019-09 or 2020-12 (or is absent: the full validator's default is
    /// 2020-12), it uses no keyword this check does not evaluate (`pattern`, `oneOf`, ...),
    /// every keyword it does use has the shape its meta-schema requires, `$id` and `$schema`
    /// appear only at the root, and every `$ref` is a JSON pointer into the document that
    /// resolves to a schema. Otherwise the document is given back, for the full validator.
    pub fn read(doc: J) -> Result<Quick, J> {
        let lone_ref = super::lone_ref_draft(&doc);
        let Some(lone_ref) = lone_ref else {
            return Err(doc);
        };
        if doc.get("$id").is_some_and(|id| !id.is_string()) {
            return Err(doc);
        }
        let mut walk = Walk {
            root: &doc,
            seen: vec![&doc as *const J],
        };
        if walk.schema(&doc, 0, true) {
            Ok(Quick { doc, lone_ref })
        } else {
            Err(doc)
        }
    }

    /// Whether `values` surely meet the schema. `false` means "not sure", not "invalid".
    pub fn admits(&self, values: &Value) -> bool {
        Check {
            root: &self.doc,
            lone_ref: self.lone_ref,
        }
        .admits(&self.doc, values, 0)
    }

    /// The schema document.
    pub fn doc(&self) -> &J {
        &self.doc
    }
}

struct Walk<'a> {
    root: &'a J,
    /// Targets of `$ref`s already walked (by address), so that recursive schemas end.
    seen: Vec<*const J>,
}

impl<'a> Walk<'a> {
    fn schema(&mut self, node: &'a J, depth: usize, root: bool) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let map = match node {
            J::Bool(_) => return true,
            J::Object(m) => m,
            _ => return false,
        };
        map.iter().all(|(k, v)| self.keyword(k, v, depth, root))
    }

    fn schemas_in_map(&mut self, v: &'a J, depth: usize) -> bool {
        match v {
            J::Object(m) => m.values().all(|s| self.schema(s, depth + 1, false)),
            _ => false,
        }
    }

    fn schemas_in_list(&mut self, v: &'a J, depth: usize) -> bool {
        match v {
            J::Array(a) => !a.is_empty() && a.iter().all(|s| self.schema(s, depth + 1, false)),
            _ => false,
        }
    }

    fn keyword(&mut self, k: &str, v: &'a J, depth: usize, root: bool) -> bool {
        match k {
            "$schema" | "$id" => root,
            "$ref" => match v.as_str().and_then(|r| pointer(self.root, r)) {
                Some(target) => {
                    let addr = target as *const J;
                    if self.seen.contains(&addr) {
                        true
                    } else {
                        self.seen.push(addr);
                        self.schema(target, depth + 1, false)
                    }
                }
                None => false,
            },
            "title" | "description" | "$comment" => v.is_string(),
            "examples" => v.is_array(),
            "readOnly" | "writeOnly" | "deprecated" => v.is_boolean(),
            "type" => match v {
                J::String(t) => type_name(t),
                J::Array(ts) => {
                    !ts.is_empty()
                        && ts
                            .iter()
                            .enumerate()
                            .all(|(i, t)| t.as_str().is_some_and(type_name) && !ts[..i].contains(t))
                }
                _ => false,
            },
            "properties" | "$defs" | "definitions" => self.schemas_in_map(v, depth),
            "additionalProperties" => self.schema(v, depth + 1, false),
            // The array (tuple) form means different things in different drafts.
            "items" => !v.is_array() && self.schema(v, depth + 1, false),
            "allOf" | "anyOf" => self.schemas_in_list(v, depth),
            "required" => match v {
                J::Array(names) => names
                    .iter()
                    .enumerate()
                    .all(|(i, n)| n.is_string() && !names[..i].contains(n)),
                _ => false,
            },
            "enum" => v.as_array().is_some_and(|a| !a.is_empty()),
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => v.is_number(),
            "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties" => v.is_u64(),
            // What some draft gives a meaning that this check does not evaluate: a schema using
            // one anywhere is left to the full validator.
            "additionalItems"
            | "contains"
            | "contentEncoding"
            | "contentMediaType"
            | "contentSchema"
            | "dependencies"
            | "dependentRequired"
            | "dependentSchemas"
            | "discriminator"
            | "else"
            | "format"
            | "id"
            | "if"
            | "maxContains"
            | "minContains"
            | "multipleOf"
            | "not"
            | "oneOf"
            | "pattern"
            | "patternProperties"
            | "prefixItems"
            | "propertyNames"
            | "then"
            | "uniqueItems"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "$anchor"
            | "$dynamicAnchor"
            | "$dynamicRef"
            | "$recursiveAnchor"
            | "$recursiveRef"
            | "$vocabulary" => false,
            // `default`, `const` (any value) and words no draft defines.
            _ => true,
        }
    }
}

fn type_name(t: &str) -> bool {
    matches!(
        t,
        "null" | "boolean" | "integer" | "number" | "string" | "array" | "object"
    )
}

/// The schema a `$ref` names, when it is a JSON pointer into this document (`#`, `#/a/b`,
/// with `~0`/`~1` escapes and no percent-encoding).
fn pointer<'a>(root: &'a J, r: &str) -> Option<&'a J> {
    let frag = r.strip_prefix('#')?;
    if frag.contains('%') {
        return None;
    }
    if frag.is_empty() {
        return Some(root);
    }
    if !frag.starts_with('/') {
        return None;
    }
    root.pointer(frag)
}

struct Check<'a> {
    root: &'a J,
    lone_ref: bool,
}

impl Check<'_> {
    fn admits(&self, schema: &J, v: &Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let map = match schema {
            J::Bool(b) => return *b,
            J::Object(m) => m,
            _ => return false,
        };
        if map.is_empty() {
            return true;
        }
        // What the full validator would see in place of these is not read here.
        if matches!(v, Value::Object(_)) || matches!(v, Value::Float(f) if !f.is_finite()) {
            return false;
        }
        if self.lone_ref
            && let Some(r) = map.get("$ref")
        {
            return self.keyword(map, "$ref", r, v, depth);
        }
        map.iter().all(|(k, kv)| self.keyword(map, k, kv, v, depth))
    }

    fn keyword(&self, map: &Map<String, J>, k: &str, kv: &J, v: &Value, depth: usize) -> bool {
        match k {
            "$ref" => match kv.as_str().and_then(|r| pointer(self.root, r)) {
                Some(target) => self.admits(target, v, depth + 1),
                None => false,
            },
            "type" => match kv {
                J::String(t) => has_type(t, v),
                J::Array(ts) => ts.iter().any(|t| t.as_str().is_some_and(|t| has_type(t, v))),
                _ => false,
            },
            "properties" => match (v, kv) {
                (Value::Map(m), J::Object(props)) => {
                    let m = m.borrow();
                    props
                        .iter()
                        .all(|(name, sub)| m.get(name).is_none_or(|x| self.admits(sub, x, depth + 1)))
                }
                (_, J::Object(_)) => true,
                _ => false,
            },
            "additionalProperties" => match v {
                Value::Map(m) => {
                    let props = map.get("properties").and_then(J::as_object);
                    m.borrow()
                        .iter()
                        .filter(|(key, _)| !props.is_some_and(|p| p.contains_key(key.as_str())))
                        .all(|(_, x)| self.admits(kv, x, depth + 1))
                }
                _ => true,
            },
            "items" => match v {
                Value::List(l) => l.iter().all(|x| self.admits(kv, x, depth + 1)),
                _ => true,
            },
            "required" => match (v, kv) {
                (Value::Map(m), J::Array(names)) => {
                    let m = m.borrow();
                    names.iter().all(|n| n.as_str().is_some_and(|n| m.contains_key(n)))
                }
                (_, J::Array(_)) => true,
                _ => false,
            },
            "enum" => kv
                .as_array()
                .is_some_and(|opts| opts.iter().any(|o| equal(v, o) == Some(true))),
            "const" => equal(v, kv) == Some(true),
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                let (Some(n), J::Number(limit)) = (number(v), kv) else {
                    // Not a number: the keyword does not apply (a bad limit was refused by `Quick::read`).
                    return number(v).is_none() && kv.is_number();
                };
                match (k, compare(n, limit)) {
                    ("minimum", Some(o)) => o != Ordering::Less,
                    ("maximum", Some(o)) => o != Ordering::Greater,
                    ("exclusiveMinimum", Some(o)) => o == Ordering::Greater,
                    ("exclusiveMaximum", Some(o)) => o == Ordering::Less,
                    _ => false,
                }
            }
            "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties" => {
                let Some(limit) = kv.as_u64() else { return false };
                let len = match (k, v) {
                    ("minLength" | "maxLength", Value::String(s)) => s.chars().count(),
                    // The full validator sees bytes as base64 text; not counted here.
                    ("minLength" | "maxLength", Value::Bytes(_)) => return false,
                    ("minItems" | "maxItems", Value::List(l)) => l.len(),
                    ("minProperties" | "maxProperties", Value::Map(m)) => m.borrow().len(),
                    // Another kind of value: the keyword does not apply.
                    _ => return true,
                } as u64;
                if k.starts_with("min") {
                    len >= limit
                } else {
                    len <= limit
                }
            }
            "allOf" => kv
                .as_array()
                .is_some_and(|a| a.iter().all(|s| self.admits(s, v, depth + 1))),
            "anyOf" => kv
                .as_array()
                .is_some_and(|a| a.iter().any(|s| self.admits(s, v, depth + 1))),
            // Annotations, definitions and unknown words assert nothing; `Quick::read` refused the
            // schema if it held anything else.
            _ => true,
        }
    }
}

/// Whether `v` is of JSON type `t` as the full validator sees it (numbers read from YAML are
/// floats; a whole float is an `integer` in drafts 6 and later).
fn has_type(t: &str, v: &Value) -> bool {
    match t {
        "null" => matches!(v, Value::Nil),
        "boolean" => matches!(v, Value::Bool(_)),
        "integer" => match v {
            Value::Int(_) | Value::Int64(_) | Value::Uint(_) => true,
            Value::Float(f) => f.is_finite() && f.fract() == 0.0,
            _ => false,
        },
        "number" => number(v).is_some(),
        "string" => matches!(v, Value::String(_) | Value::Bytes(_)),
        "array" => matches!(v, Value::List(_)),
        "object" => matches!(v, Value::Map(_)),
        _ => false,
    }
}

/// A template value's number, if it is one.
#[derive(Clone, Copy)]
enum Num {
    I(i64),
    U(u64),
    F(f64),
}

fn number(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) | Value::Int64(i) => Some(Num::I(*i)),
        Value::Uint(u) => Some(Num::U(*u)),
        Value::Float(f) if f.is_finite() => Some(Num::F(*f)),
        _ => None,
    }
}

/// Largest integer every `f64` comparison below holds exactly.
const EXACT: i128 = 1 << 53;

/// `a` against `b`, when both are whole numbers or both are exactly representable as `f64`;
/// `None` otherwise (the caller is then not sure).
fn compare(a: Num, b: &Number) -> Option<Ordering> {
    let whole = |n: Num| match n {
        Num::I(i) => Some(i as i128),
        Num::U(u) => Some(u as i128),
        Num::F(_) => None,
    };
    let b_whole = b.as_i64().map(i128::from).or_else(|| b.as_u64().map(i128::from));
    if let (Some(x), Some(y)) = (whole(a), b_whole) {
        return Some(x.cmp(&y));
    }
    let as_f64 = |w: Option<i128>, f: Option<f64>| match (w, f) {
        (Some(i), _) if i.abs() <= EXACT => Some(i as f64),
        (Some(_), _) => None,
        (None, f) => f,
    };
    let x = as_f64(whole(a), if let Num::F(f) = a { Some(f) } else { None })?;
    let y = as_f64(b_whole, if b_whole.is_none() { b.as_f64() } else { None })?;
    x.partial_cmp(&y)
}

/// Whether `v` equals the JSON value `j` as JSON Schema compares values (numbers by value),
/// or `None` when this check cannot tell.
fn equal(v: &Value, j: &J) -> Option<bool> {
    match (v, j) {
        (Value::Nil, J::Null) => Some(true),
        (Value::Bool(a), J::Bool(b)) => Some(a == b),
        (Value::String(a), J::String(b)) => Some(**a == **b),
        (Value::List(a), J::Array(b)) => {
            if a.len() != b.len() {
                return Some(false);
            }
            let mut all = true;
            for (x, y) in a.iter().zip(b) {
                all &= equal(x, y)?;
            }
            Some(all)
        }
        (Value::Map(a), J::Object(b)) => {
            let a = a.borrow();
            if a.len() != b.len() {
                return Some(false);
            }
            let mut all = true;
            for (k, x) in a.iter() {
                all &= match b.get(k) {
                    Some(y) => equal(x, y)?,
                    None => false,
                };
            }
            Some(all)
        }
        (Value::Bytes(_) | Value::Object(_), _) => None,
        (Value::Float(f), _) if !f.is_finite() => None,
        _ => match (number(v), j) {
            // Whole numbers with whole numbers and floats with floats only: how the full
            // validator matches an integer against a float is not assumed here.
            (Some(Num::F(a)), J::Number(b)) if b.is_f64() => b.as_f64().map(|b| a == b),
            (Some(n @ (Num::I(_) | Num::U(_))), J::Number(b)) if !b.is_f64() => {
                compare(n, b).map(|o| o == Ordering::Equal)
            }
            (Some(_), J::Number(_)) => None,
            // Different JSON types are never equal.
            _ => Some(false),
        },
    }
}

#[cfg(test)]
mod tests;
