//! The quick check against the full validator: whatever the quick check admits, the full
//! validator must find valid, and every schema [`subset`] reads must compile. Checked on the
//! schemas of the conformance charts with their default values and values changed at random,
//! then on schemas and values built at random from the subset's keywords (fixed seeds).

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use ballast_gotemplate::Value;
use serde_json::{Value as J, json};

use super::Quick;
use crate::chart::Chart;
use crate::schema::{compile, to_json};

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn map(entries: Vec<(String, Value)>) -> Value {
    Value::Map(Rc::new(RefCell::new(entries.into_iter().collect())))
}

const KEYS: &[&str] = &["a", "b", "c", "enabled", "port", "name"];

/// A template value of any kind, as values files and `--set` produce them.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let leaves = 13;
    let kinds = if depth == 0 { leaves } else { leaves + 2 };
    match rng.below(kinds) {
        0 => Value::Nil,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::Int64(rng.below(5) as i64 - 1),
        3 => Value::Float(rng.below(5) as f64 - 1.0),
        4 => Value::Float(*rng.pick(&[0.5, 1.5, -2.5, 1e20, 9_007_199_254_740_993.0])),
        5 => Value::Uint(rng.below(3) as u64),
        6 => Value::Int(rng.below(3) as i64),
        7..=11 => Value::String((*rng.pick(&["", "a", "b", "ab", "abc", "1", "true", "é"])).into()),
        12 => Value::Bytes(b"ab".as_slice().into()),
        13 => Value::List(Rc::new(
            (0..rng.below(4)).map(|_| random_value(rng, depth - 1)).collect(),
        )),
        _ => map((0..rng.below(4))
            .map(|_| (rng.pick(KEYS).to_string(), random_value(rng, depth - 1)))
            .collect()),
    }
}

/// A deep copy (maps are shared and mutable).
fn deep_copy(v: &Value) -> Value {
    match v {
        Value::Map(m) => map(m.borrow().iter().map(|(k, v)| (k.clone(), deep_copy(v))).collect()),
        Value::List(l) => Value::List(Rc::new(l.iter().map(deep_copy).collect())),
        other => other.clone(),
    }
}

/// `v` with one place changed: a value replaced, a key removed or added.
fn mutate(v: &Value, rng: &mut Rng) -> Value {
    match v {
        Value::Map(m) if !m.borrow().is_empty() && rng.below(4) != 0 => {
            let mut entries: Vec<(String, Value)> = m.borrow().iter().map(|(k, v)| (k.clone(), deep_copy(v))).collect();
            let i = rng.below(entries.len());
            match rng.below(8) {
                0 => {
                    entries.remove(i);
                }
                1 => entries.push((rng.pick(KEYS).to_string(), random_value(rng, 2))),
                _ => entries[i].1 = mutate(&entries[i].1, rng),
            }
            map(entries)
        }
        Value::List(l) if !l.is_empty() && rng.below(3) != 0 => {
            let mut items: Vec<Value> = l.iter().map(deep_copy).collect();
            let i = rng.below(items.len());
            items[i] = mutate(&items[i], rng);
            Value::List(Rc::new(items))
        }
        _ => random_value(rng, 2),
    }
}

/// Fails if the quick check admits values the full validator rejects. Returns whether it
/// admitted them.
fn agree(quick: &Quick, full: &jsonschema::Validator, v: &Value, what: &str) -> bool {
    let admitted = quick.admits(v);
    if admitted {
        let errors: Vec<String> = full.iter_errors(&to_json(v)).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{what}: admitted by the quick check, rejected by the full validator: {errors:?}\nvalues: {}",
            to_json(v)
        );
    }
    admitted
}

/// Every chart of the conformance fixtures that has a `values.schema.json` (subcharts too),
/// with the values it is validated against by default.
fn fixture_schemas() -> Vec<(String, J, Value)> {
    fn walk(chart: &Chart, values: &Value, out: &mut Vec<(String, J, Value)>) {
        if let Some(schema) = &chart.schema {
            let doc: J = serde_json::from_slice(schema).unwrap();
            out.push((chart.metadata.name.clone(), doc, values.clone()));
        }
        for d in &chart.dependencies {
            walk(d, &Chart::scoped_values(values, &d.metadata.name), out);
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/charts");
    let mut archives: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tgz"))
        .collect();
    archives.sort();
    let mut out = Vec::new();
    for path in archives {
        let chart = crate::chart::load(&path).unwrap();
        let (chart, values) = crate::values::prepare(chart, &Value::empty_map()).unwrap();
        walk(&chart, &values, &mut out);
    }
    out
}

#[test]
fn fixture_schemas_agree_with_the_full_validator() {
    let schemas = fixture_schemas();
    assert!(schemas.len() >= 10, "{} schemas in the fixtures", schemas.len());
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut read = Vec::new();
    for (name, doc, defaults) in &schemas {
        let Ok(quick) = Quick::read(doc.clone()) else {
            continue;
        };
        read.push(name.as_str());
        let full = compile(doc).unwrap_or_else(|e| panic!("{name}: read by the quick check, not compiled: {e}"));
        // With its default values, each chart's schema passes without the full validator.
        assert!(full.is_valid(&to_json(defaults)), "{name}: defaults invalid");
        assert!(
            agree(&quick, &full, defaults, name),
            "{name}: the quick check is not sure of the defaults"
        );
        let mut admitted = 0;
        for _ in 0..400 {
            let mut v = mutate(defaults, &mut rng);
            for _ in 0..rng.below(3) {
                v = mutate(&v, &mut rng);
            }
            admitted += usize::from(agree(&quick, &full, &v, name));
        }
        assert!(admitted > 0, "{name}: no changed values admitted");
    }
    // Outside the subset: alertmanager and traefik (both use `pattern`).
    assert_eq!(read.len(), schemas.len() - 2, "read {read:?}");
    for name in ["cert-manager", "redis", "postgresql", "mariadb", "loki", "prometheus"] {
        assert!(
            read.contains(&name),
            "{name} not read by the quick check: read {read:?}"
        );
    }
}

const NAMES: &[&str] = &["a", "b", "c"];
const TYPES: &[&str] = &["null", "boolean", "integer", "number", "string", "array", "object"];

fn random_json(rng: &mut Rng, depth: usize) -> J {
    match rng.below(if depth == 0 { 9 } else { 11 }) {
        0 => J::Null,
        1 => J::Bool(rng.below(2) == 0),
        2 => json!(rng.below(4) as i64 - 1),
        3 => json!(*rng.pick(&[1.0, 0.5, 1.5, -1.0, 1e20])),
        4..=7 => json!(*rng.pick(&["", "a", "b", "ab", "1", "é"])),
        8 => json!(9_007_199_254_740_993u64),
        9 => J::Array((0..rng.below(3)).map(|_| random_json(rng, depth - 1)).collect()),
        _ => J::Object(
            (0..rng.below(3))
                .map(|_| (rng.pick(NAMES).to_string(), random_json(rng, depth - 1)))
                .collect(),
        ),
    }
}

fn random_schema(rng: &mut Rng, depth: usize) -> J {
    if rng.below(8) == 0 {
        return J::Bool(rng.below(4) != 0);
    }
    let mut m = serde_json::Map::new();
    for _ in 0..1 + rng.below(3) {
        let keyword = *rng.pick(&[
            "type",
            "type",
            "type",
            "properties",
            "properties",
            "additionalProperties",
            "items",
            "required",
            "enum",
            "const",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "minProperties",
            "maxProperties",
            "allOf",
            "anyOf",
            "$ref",
            "description",
            "default",
            "x-custom",
        ]);
        let sub = |rng: &mut Rng| {
            if depth == 0 {
                J::Bool(true)
            } else {
                random_schema(rng, depth - 1)
            }
        };
        let v = match keyword {
            "type" if rng.below(3) == 0 => json!([rng.pick(TYPES), rng.pick(TYPES)]),
            "type" => json!(rng.pick(TYPES)),
            "properties" => J::Object(
                (0..1 + rng.below(2))
                    .map(|_| (rng.pick(NAMES).to_string(), sub(rng)))
                    .collect(),
            ),
            "additionalProperties" | "items" => sub(rng),
            "required" => json!([rng.pick(NAMES)]),
            "enum" => J::Array((0..1 + rng.below(3)).map(|_| random_json(rng, 1)).collect()),
            "const" | "default" | "x-custom" => random_json(rng, 1),
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                json!(*rng.pick(&[
                    json!(0),
                    json!(1),
                    json!(-1),
                    json!(0.5),
                    json!(1.0),
                    json!(9_007_199_254_740_993u64)
                ]))
            }
            "allOf" | "anyOf" => J::Array((0..1 + rng.below(2)).map(|_| sub(rng)).collect()),
            "$ref" => json!("#/$defs/s"),
            "description" => json!("d"),
            _ => json!(rng.below(3)),
        };
        m.insert(keyword.to_string(), v);
    }
    J::Object(m)
}

#[test]
fn random_schemas_agree_with_the_full_validator() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let drafts = [
        None,
        Some("http://json-schema.org/draft-07/schema#"),
        Some("https://json-schema.org/draft/2020-12/schema"),
    ];
    let (mut cases, mut read, mut admitted) = (0, 0, 0);
    for _ in 0..3_000 {
        let mut doc = random_schema(&mut rng, 2);
        let Some(root) = doc.as_object_mut() else { continue };
        root.insert("$defs".into(), json!({ "s": random_schema(&mut rng, 1) }));
        if let Some(d) = rng.pick(&drafts) {
            root.insert("$schema".into(), json!(d));
        }
        cases += 1;
        let Ok(quick) = Quick::read(doc.clone()) else {
            continue;
        };
        read += 1;
        let full = compile(&doc).unwrap_or_else(|e| panic!("read by the quick check, not compiled: {e}\n{doc}"));
        for _ in 0..10 {
            let v = random_value(&mut rng, 2);
            admitted += usize::from(agree(&quick, &full, &v, &doc.to_string()));
        }
    }
    assert!(read > cases / 2, "{read} of {cases} random schemas read");
    assert!(admitted > read, "{admitted} of {} random values admitted", read * 10);
}

#[test]
fn refused_schemas() {
    for doc in [
        json!({"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}),
        json!({"$schema": "https://example.com/meta", "type": "object"}),
        json!({"properties": {"a": {"pattern": "^a"}}}),
        json!({"properties": {"a": {"$id": "x", "type": "string"}}}),
        json!({"$ref": "other.json#/a"}),
        json!({"$ref": "#/$defs/missing"}),
        json!({"$ref": "#anchor"}),
        json!({"type": "integr"}),
        json!({"type": ["string", "string"]}),
        json!({"required": ["a", "a"]}),
        json!({"minLength": -1}),
        json!({"minimum": "1"}),
        json!({"items": [true]}),
        json!({"enum": []}),
        json!({"allOf": []}),
        json!({"description": 5}),
        json!({"$defs": {"unused": {"oneOf": [true]}}}),
    ] {
        assert!(Quick::read(doc.clone()).is_err(), "read: {doc}");
    }
    // Recursive schemas end.
    let doc =
        json!({"$defs": {"t": {"type": "object", "additionalProperties": {"$ref": "#/$defs/t"}}}, "$ref": "#/$defs/t"});
    let quick = Quick::read(doc).unwrap();
    let v = map(vec![("a".into(), map(vec![("b".into(), Value::empty_map())]))]);
    assert!(quick.admits(&v));
    assert!(!quick.admits(&map(vec![("a".into(), Value::Int(1))])));
}
