//! Argo CD's `spec.ignoreDifferences`: which fields of an object are left out of the
//! comparison (and, with the sync option `RespectIgnoreDifferences=true`, out of the sync).
//!
//! An entry applies to an object when its `group` and `kind` match (`*` is a wildcard, as Argo
//! CD globs them) and its `name`/`namespace`, when set, are the object's. Its fields:
//! - `jsonPointers` (RFC 6901);
//! - `jqPathExpressions`, a subset of jq paths: `.a.b`, `."a.b"`, `.["a/b"]`, `.a[]`, `.a[]?`,
//!   `.a[0]`, and `select(.path == LITERAL)` / `select(.path != LITERAL)` (string, number,
//!   `true`, `false`, `null`), steps optionally joined by `|` — e.g.
//!   `.spec.template.spec.containers[] | select(.name == "sidecar") | .image`. Anything else is
//!   refused with the reason ([`parse_jq`]), reported in a condition, and ignores nothing;
//! - `managedFieldsManagers`: the fields the live object's `managedFields` give to one of these
//!   managers (`fieldsV1`) are left out of both sides.
//!
//! Guarantees: never panics on any input; an expression is at most [`MAX_EXPR`] characters.

use ballast_api::argo::{ResourceIgnoreDifferences, has_option};
use ballast_core::ObjectRef;
use serde_json::{Map, Value};

use crate::argo_sync::Task;

/// Longest jq expression accepted.
pub const MAX_EXPR: usize = 1_000;

/// One step of a path into a JSON document.
#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// One step of a jq path expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// `.key`, `."key"`, `["key"]`.
    Key(String),
    /// `[N]`.
    Index(usize),
    /// `[]` / `[]?`: every element (or value).
    Each,
    /// `select(.path == value)` (`true`) or `!=` (`false`).
    Select(Vec<Step>, bool, Value),
}

/// Parses a jq path expression of the supported subset.
pub fn parse_jq(expr: &str) -> Result<Vec<Step>, String> {
    if expr.len() > MAX_EXPR {
        return Err(format!("longer than {MAX_EXPR} characters"));
    }
    let mut p = Parser {
        s: expr.as_bytes(),
        i: 0,
    };
    let steps = p.steps(false)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unsupported jq at {:?}", &expr[p.i..]));
    }
    if steps.is_empty() {
        return Err("an empty path".into());
    }
    Ok(steps)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, t: &str) -> bool {
        if self.s[self.i..].starts_with(t.as_bytes()) {
            self.i += t.len();
            true
        } else {
            false
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let start = self.i;
        self.i += 1; // the opening quote
        let mut escaped = false;
        while let Some(c) = self.peek() {
            self.i += 1;
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
                return serde_json::from_str(text).map_err(|e| format!("string {text}: {e}"));
            }
        }
        Err("an unterminated string".into())
    }

    /// Steps until the end, `)` or `==`/`!=` (inside `select`).
    fn steps(&mut self, inner: bool) -> Result<Vec<Step>, String> {
        let mut out = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => return Ok(out),
                Some(b')' | b'=' | b'!') if inner => return Ok(out),
                Some(b'|') if !inner => {
                    self.i += 1;
                }
                Some(b'.') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"') => out.push(Step::Key(self.string()?)),
                        Some(b'[') => {}
                        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                            let start = self.i;
                            while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
                                self.i += 1;
                            }
                            let key = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                            out.push(Step::Key(key));
                        }
                        _ if inner => {} // `.` alone: the element itself
                        _ => return Err(format!("unsupported jq after '.' at {}", self.i)),
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if self.eat("]") {
                        self.eat("?");
                        out.push(Step::Each);
                    } else if self.peek() == Some(b'"') {
                        let key = self.string()?;
                        self.ws();
                        if !self.eat("]") {
                            return Err("expected ']'".into());
                        }
                        out.push(Step::Key(key));
                    } else {
                        let start = self.i;
                        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                            self.i += 1;
                        }
                        let n = std::str::from_utf8(&self.s[start..self.i])
                            .ok()
                            .and_then(|t| t.parse().ok())
                            .ok_or("only [], [\"key\"] and [N] are supported")?;
                        if !self.eat("]") {
                            return Err("expected ']'".into());
                        }
                        self.eat("?");
                        out.push(Step::Index(n));
                    }
                }
                Some(b's') if !inner && self.eat("select(") => {
                    let path = self.steps(true)?;
                    self.ws();
                    let equal = if self.eat("==") {
                        true
                    } else if self.eat("!=") {
                        false
                    } else {
                        return Err("select supports only `.path == value` and `.path != value`".into());
                    };
                    self.ws();
                    let value = self.literal()?;
                    self.ws();
                    if !self.eat(")") {
                        return Err("expected ')' closing select".into());
                    }
                    out.push(Step::Select(path, equal, value));
                }
                Some(_) => {
                    let rest = String::from_utf8_lossy(&self.s[self.i..]).into_owned();
                    return Err(format!("unsupported jq at {rest:?}"));
                }
            }
        }
    }

    fn literal(&mut self) -> Result<Value, String> {
        if self.peek() == Some(b'"') {
            return self.string().map(Value::String);
        }
        for (word, v) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            if self.eat(word) {
                return Ok(v);
            }
        }
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || b"-+.eE".contains(&c)) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Number>(t).ok())
            .map(Value::Number)
            .ok_or_else(|| "select compares with a string, number, true, false or null only".into())
    }
}

fn get<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, s| match s {
        Seg::Key(k) => v.get(k),
        Seg::Index(i) => v.get(i),
    })
}

fn follow(v: &Value, steps: &[Step]) -> Option<Value> {
    let mut cur = v;
    for s in steps {
        cur = match s {
            Step::Key(k) => cur.get(k)?,
            Step::Index(i) => cur.get(i)?,
            _ => return None,
        };
    }
    Some(cur.clone())
}

/// The concrete paths in `doc` an expression designates (existing ones only).
pub fn jq_paths(doc: &Value, steps: &[Step]) -> Vec<Vec<Seg>> {
    let mut paths: Vec<Vec<Seg>> = vec![Vec::new()];
    for step in steps {
        let mut next = Vec::new();
        for p in paths {
            let Some(v) = get(doc, &p) else { continue };
            match step {
                Step::Key(k) if v.get(k).is_some() => next.push([p.clone(), vec![Seg::Key(k.clone())]].concat()),
                Step::Index(i) if v.get(i).is_some() => next.push([p.clone(), vec![Seg::Index(*i)]].concat()),
                Step::Each => match v {
                    Value::Array(a) => next.extend((0..a.len()).map(|i| [p.clone(), vec![Seg::Index(i)]].concat())),
                    Value::Object(m) => next.extend(m.keys().map(|k| [p.clone(), vec![Seg::Key(k.clone())]].concat())),
                    _ => {}
                },
                Step::Select(path, equal, lit) => {
                    let got = follow(v, path).unwrap_or(Value::Null);
                    if (got == *lit) == *equal {
                        next.push(p);
                    }
                }
                _ => {}
            }
        }
        paths = next;
    }
    paths.retain(|p| !p.is_empty());
    paths
}

/// Removes the paths from `doc` (array indices highest first, so earlier ones stay valid).
pub fn remove_paths(doc: &mut Value, mut paths: Vec<Vec<Seg>>) {
    paths.sort_by(|a, b| b.iter().map(seg_key).cmp(a.iter().map(seg_key)));
    paths.dedup();
    for p in paths {
        let Some((last, parent)) = p.split_last() else { continue };
        let target = parent.iter().try_fold(&mut *doc, |cur, s| match s {
            Seg::Key(k) => cur.get_mut(k),
            Seg::Index(i) => cur.get_mut(*i),
        });
        let Some(cur) = target else { continue };
        match (cur, last) {
            (Value::Object(m), Seg::Key(k)) => {
                m.remove(k);
            }
            (Value::Array(a), Seg::Index(i)) if *i < a.len() => {
                a.remove(*i);
            }
            _ => {}
        }
    }
}

fn seg_key(s: &Seg) -> (usize, String) {
    match s {
        Seg::Key(k) => (usize::MAX, k.clone()),
        Seg::Index(i) => (*i, String::new()),
    }
}

/// Parses an RFC 6901 pointer into path segments (numbers into indices where `doc` has arrays).
fn pointer_path(doc: &Value, pointer: &str) -> Option<Vec<Seg>> {
    let mut out = Vec::new();
    let mut cur = doc;
    for raw in pointer.strip_prefix('/')?.split('/') {
        let key = raw.replace("~1", "/").replace("~0", "~");
        let seg = match cur {
            Value::Array(_) => Seg::Index(key.parse().ok()?),
            _ => Seg::Key(key),
        };
        cur = match &seg {
            Seg::Key(k) => cur.get(k)?,
            Seg::Index(i) => cur.get(i)?,
        };
        out.push(seg);
    }
    Some(out)
}

/// Paths of `doc` owned by `managers` according to `live`'s `managedFields`.
pub fn managed_paths(doc: &Value, live: &Value, managers: &[String]) -> Vec<Vec<Seg>> {
    let mut out = Vec::new();
    for entry in live["metadata"]["managedFields"].as_array().into_iter().flatten() {
        let manager = entry["manager"].as_str().unwrap_or("");
        if managers.iter().any(|m| m == manager)
            && let Some(fields) = entry["fieldsV1"].as_object()
        {
            owned(doc, fields, &mut Vec::new(), &mut out, 0);
        }
    }
    out
}

/// Walks a `fieldsV1` set over `v` (at `at`), collecting the leaves that exist in `v`.
fn owned(v: &Value, fields: &Map<String, Value>, at: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>, depth: usize) {
    if depth > 64 {
        return;
    }
    for (key, sub) in fields {
        let sub = sub.as_object();
        let leaf = sub.is_none_or(|m| m.is_empty() || (m.len() == 1 && m.contains_key(".")));
        let child: Option<(Seg, &Value)> = if let Some(name) = key.strip_prefix("f:") {
            v.get(name).map(|c| (Seg::Key(name.to_string()), c))
        } else if let Some(k) = key.strip_prefix("k:") {
            let want: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            v.as_array().and_then(|a| {
                a.iter()
                    .position(|item| want.iter().all(|(wk, wv)| keyed_equal(&item[wk.as_str()], wv)))
                    .map(|i| (Seg::Index(i), &a[i]))
            })
        } else if let Some(val) = key.strip_prefix("v:") {
            let want: Value = serde_json::from_str(val).unwrap_or(Value::Null);
            v.as_array()
                .and_then(|a| a.iter().position(|item| *item == want).map(|i| (Seg::Index(i), &a[i])))
        } else if let Some(i) = key.strip_prefix("i:") {
            i.parse::<usize>()
                .ok()
                .and_then(|i| v.get(i).map(|c| (Seg::Index(i), c)))
        } else {
            None
        };
        let Some((seg, c)) = child else { continue };
        at.push(seg);
        if leaf {
            out.push(at.clone());
        } else if let Some(m) = sub {
            owned(c, m, at, out, depth + 1);
        }
        at.pop();
    }
}

/// Key fields compare as the API server writes them (a port number may be a string in Git).
fn keyed_equal(a: &Value, b: &Value) -> bool {
    a == b || (a.is_number() && b.is_number() && a.as_f64() == b.as_f64())
}

/// `pattern` matches `s`, `*` matching any run of characters.
fn wildcard(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else { return false };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// The entries that apply to the object `r`.
pub fn matching<'a>(entries: &'a [ResourceIgnoreDifferences], r: &ObjectRef) -> Vec<&'a ResourceIgnoreDifferences> {
    entries
        .iter()
        .filter(|d| wildcard(&d.group, &r.group) && wildcard(&d.kind, &r.kind))
        .filter(|d| d.name.as_deref().is_none_or(|n| n.is_empty() || n == r.name))
        .filter(|d| {
            d.namespace
                .as_deref()
                .is_none_or(|n| n.is_empty() || Some(n) == r.namespace.as_deref())
        })
        .collect()
}

/// Every path of `doc` the entries ignore (`live` gives the managed fields).
pub fn ignored_paths(entries: &[&ResourceIgnoreDifferences], doc: &Value, live: &Value) -> Vec<Vec<Seg>> {
    let mut out = Vec::new();
    for d in entries {
        out.extend(d.json_pointers.iter().filter_map(|p| pointer_path(doc, p)));
        for e in &d.jq_path_expressions {
            if let Ok(steps) = parse_jq(e) {
                out.extend(jq_paths(doc, &steps));
            }
        }
        if !d.managed_fields_managers.is_empty() {
            out.extend(managed_paths(doc, live, &d.managed_fields_managers));
        }
    }
    out
}

/// Removes from `desired` and `live` what the entries matching `r` ignore, for comparison.
pub fn normalize(entries: &[ResourceIgnoreDifferences], r: &ObjectRef, desired: &mut Value, live: &mut Value) {
    let m = matching(entries, r);
    if m.is_empty() {
        return;
    }
    let snapshot = live.clone();
    let d = ignored_paths(&m, desired, &snapshot);
    let l = ignored_paths(&m, live, &snapshot);
    remove_paths(desired, d);
    remove_paths(live, l);
}

/// `RespectIgnoreDifferences=true`: `desired` keeps the live values of the ignored fields, so a
/// sync does not overwrite them (a field absent live is left out).
pub fn respect(entries: &[ResourceIgnoreDifferences], r: &ObjectRef, desired: &mut Value, live: &Value) {
    let m = matching(entries, r);
    if m.is_empty() {
        return;
    }
    let from_live = ignored_paths(&m, live, live);
    let in_desired = ignored_paths(&m, desired, live);
    remove_paths(desired, in_desired);
    for p in from_live {
        if let Some(v) = get(live, &p).cloned() {
            set(desired, &p, v);
        }
    }
}

/// With `RespectIgnoreDifferences=true` among `options`: the tasks with the ignored fields of
/// each object that exists taken from its live copy ([`respect`]); `None` without the option.
pub async fn respected(
    entries: &[ResourceIgnoreDifferences],
    options: &[String],
    tasks: &[Task],
    cluster: &ballast_kube::Cluster,
) -> Option<Vec<Task>> {
    if !has_option(options.iter().map(String::as_str), "RespectIgnoreDifferences", "true") || entries.is_empty() {
        return None;
    }
    let mut out = tasks.to_vec();
    for t in out.iter_mut().filter(|t| !t.hook) {
        if matching(entries, &t.r).is_empty() {
            continue;
        }
        if let Ok(Some(live)) = cluster.get(&t.r).await {
            respect(entries, &t.r, &mut t.object, &live);
        }
    }
    Some(out)
}

/// Sets `path` in `doc` to `v`, creating objects on the way; an array index past the end appends.
fn set(doc: &mut Value, path: &[Seg], v: Value) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let mut cur = doc;
    for s in parent {
        cur = match s {
            Seg::Key(k) => {
                if !cur.is_object() {
                    *cur = Value::Object(Map::new());
                }
                let Value::Object(m) = cur else { return };
                m.entry(k.clone()).or_insert(Value::Null)
            }
            Seg::Index(i) => match cur {
                Value::Array(a) if *i < a.len() => &mut a[*i],
                _ => return,
            },
        };
    }
    match (cur, last) {
        (Value::Object(m), Seg::Key(k)) => {
            m.insert(k.clone(), v);
        }
        (Value::Array(a), Seg::Index(_)) => a.push(v),
        (c @ Value::Null, Seg::Key(k)) => {
            let mut m = Map::new();
            m.insert(k.clone(), v);
            *c = Value::Object(m);
        }
        _ => {}
    }
}

/// The jq expressions of `entries` that are refused, each `ignoreDifferences[i].jqPathExpressions[j]
/// "expr": reason`.
pub fn refused(entries: &[ResourceIgnoreDifferences]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, d) in entries.iter().enumerate() {
        for (j, e) in d.jq_path_expressions.iter().enumerate() {
            if let Err(why) = parse_jq(e) {
                out.push(format!(
                    "spec.ignoreDifferences[{i}].jqPathExpressions[{j}] {:?}: {why}",
                    e.chars().take(100).collect::<String>()
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn del(doc: &Value, expr: &str) -> Value {
        let mut d = doc.clone();
        let steps = parse_jq(expr).unwrap();
        let paths = jq_paths(&d, &steps);
        remove_paths(&mut d, paths);
        d
    }

    #[test]
    fn jq_subset_deletes_as_jq_del() {
        let doc = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "app", "image": "a:1", "env": [{"name": "X"}]},
            {"name": "sidecar", "image": "s:1"}]}}},
            "metadata": {"annotations": {"a.b/c": "1", "keep": "2"}}});
        assert_eq!(del(&doc, ".spec.replicas")["spec"].get("replicas"), None);
        let d = del(&doc, ".spec.template.spec.containers[]?.image");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"],
            json!([
            {"name": "app", "env": [{"name": "X"}]}, {"name": "sidecar"}])
        );
        let d = del(&doc, r#".spec.template.spec.containers[] | select(.name == "sidecar")"#);
        assert_eq!(d["spec"]["template"]["spec"]["containers"].as_array().unwrap().len(), 1);
        let d = del(
            &doc,
            r#".spec.template.spec.containers[] | select(.name != "sidecar") | .image"#,
        );
        assert_eq!(d["spec"]["template"]["spec"]["containers"][1]["image"], "s:1");
        assert!(d["spec"]["template"]["spec"]["containers"][0].get("image").is_none());
        let d = del(&doc, r#".metadata.annotations."a.b/c""#);
        assert_eq!(d["metadata"]["annotations"], json!({"keep": "2"}));
        let d = del(&doc, r#".metadata.annotations["keep"]"#);
        assert_eq!(d["metadata"]["annotations"], json!({"a.b/c": "1"}));
        // Both containers removed from the end first, so indices stay right.
        let d = del(&doc, ".spec.template.spec.containers[]");
        assert_eq!(d["spec"]["template"]["spec"]["containers"], json!([]));
    }

    #[test]
    fn other_jq_refused_with_a_reason() {
        for e in [
            "",
            ".a | length",
            "map(.x)",
            ".a[] | select(.b | test(\"x\"))",
            ".a[1:2]",
            "del(.a)",
        ] {
            assert!(parse_jq(e).is_err(), "{e}");
        }
        let entries = vec![ResourceIgnoreDifferences {
            kind: "Deployment".into(),
            jq_path_expressions: vec![".ok".into(), ".a | length".into()],
            ..Default::default()
        }];
        let r = refused(&entries);
        assert_eq!(r.len(), 1);
        assert!(r[0].contains("jqPathExpressions[1]"), "{r:?}");
    }

    #[test]
    fn managed_fields_of_named_managers() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "hpa", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "ballast", "operation": "Apply", "fieldsV1": {"f:spec": {"f:template": {}}}},
            {"manager": "injector", "operation": "Update", "fieldsV1": {"f:spec": {"f:containers": {
                "k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}}}}}}]},
            "spec": {"replicas": 5, "template": {"x": 1}, "containers": [{"name": "app"}, {"name": "sidecar", "image": "s"}]}});
        let mut d = live.clone();
        let paths = managed_paths(&d, &live, &["hpa".into(), "injector".into()]);
        remove_paths(&mut d, paths);
        assert!(d["spec"].get("replicas").is_none());
        assert_eq!(d["spec"]["template"], json!({"x": 1}));
        assert_eq!(d["spec"]["containers"], json!([{"name": "app"}, {"name": "sidecar"}]));
    }

    #[test]
    fn matching_and_respect() {
        let entries = vec![ResourceIgnoreDifferences {
            group: "apps".into(),
            kind: "*".into(),
            name: Some("web".into()),
            json_pointers: vec!["/spec/replicas".into()],
            ..Default::default()
        }];
        let r = |name: &str| ObjectRef {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            namespace: Some("ns".into()),
            name: name.into(),
        };
        assert_eq!(matching(&entries, &r("web")).len(), 1);
        assert!(matching(&entries, &r("other")).is_empty());
        let mut desired = json!({"spec": {"replicas": 1, "x": 1}});
        respect(&entries, &r("web"), &mut desired, &json!({"spec": {"replicas": 4}}));
        assert_eq!(desired, json!({"spec": {"replicas": 4, "x": 1}}));
        let mut desired = json!({"spec": {"replicas": 1}});
        respect(&entries, &r("web"), &mut desired, &json!({"spec": {}}));
        assert_eq!(desired, json!({"spec": {}}));
        assert!(wildcard("*.k8s.io", "networking.k8s.io") && !wildcard("apps", "") && wildcard("", ""));
    }
}
