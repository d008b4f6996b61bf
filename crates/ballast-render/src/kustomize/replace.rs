//! `replacements`: copy a value from one field (of one resource, or a literal `sourceValue`)
//! into fields of the resources a target selects, with kustomize's field-path syntax
//! (`a.b.[name=x].c`, `*`, list indexes) and its `delimiter`/`index`/`create` options.

use std::path::Path;

use serde_json::{Map, Value};

use super::{Res, err, rel, resolve};
use crate::RenderError;
use crate::root::Root;
use crate::yaml::parse_stream;

/// Runs every entry of `replacements` over `out`, in order.
pub(crate) fn replacements(
    root: &Root,
    dir: &Path,
    file: &Path,
    k: &Value,
    out: &mut [Res],
) -> Result<(), RenderError> {
    for (i, entry) in k["replacements"].as_array().into_iter().flatten().enumerate() {
        let what = format!("replacements[{i}]");
        let here = |m: String| err(root, file, format!("{what}: {m}"));
        let list = match entry["path"].as_str() {
            Some(path) => {
                if !entry["source"].is_null() || !entry["targets"].is_null() {
                    return Err(here("cannot specify both path and inline replacement".into()));
                }
                let p = resolve(root, dir, path, file)?;
                let text = root.read(&p).map_err(|e| here(e.to_string()))?;
                let doc = root
                    .parse(&text)
                    .map_err(|e| here(format!("{}: {e}", rel(root, &p).display())))?
                    .into_iter()
                    .next()
                    .unwrap_or(Value::Null);
                match doc {
                    Value::Array(items) => items,
                    Value::Object(_) => vec![doc],
                    _ => return Err(here(format!("{path}: expected a replacement or a list of them"))),
                }
            }
            None => vec![entry.clone()],
        };
        for (j, r) in list.iter().enumerate() {
            let what = if entry["path"].is_string() {
                format!("{what} ({}[{j}])", entry["path"].as_str().unwrap_or_default())
            } else {
                what.clone()
            };
            apply_one(r, out).map_err(|m| err(root, file, format!("{what}{m}")))?;
        }
    }
    Ok(())
}

/// One replacement. Errors start with the part at fault (`.source`, `.targets[1]`).
fn apply_one(r: &Value, out: &mut [Res]) -> Result<(), String> {
    let targets = r["targets"]
        .as_array()
        .filter(|_| !r["source"].is_null() || !r["sourceValue"].is_null())
        .ok_or(": replacements must specify a source and at least one target")?;
    let value = match (&r["source"], &r["sourceValue"]) {
        (Value::Null, v) => Value::String(scalar_text(v)),
        (_, Value::Null) => source_value(&r["source"], out).map_err(|m| format!(".source: {m}"))?,
        _ => return Err(": value and resource selectors are mutually exclusive".into()),
    };
    for (t, target) in targets.iter().enumerate() {
        apply_target(target, &value, out).map_err(|m| format!(".targets[{t}]: {m}"))?;
    }
    Ok(())
}

fn source_value(src: &Value, out: &[Res]) -> Result<Value, String> {
    let selector = IdSelector::new(src)?;
    let matches: Vec<&Res> = out.iter().filter(|r| selector.matches(r)).collect();
    let path = src["fieldPath"]
        .as_str()
        .filter(|p| !p.is_empty())
        .unwrap_or("metadata.name");
    let described = describe(src, src["fieldPath"].as_str().unwrap_or(""));
    let source = match matches.as_slice() {
        [one] => *one,
        [] => return Err(format!("nothing selected by {described}")),
        _ => return Err(format!("multiple matches for selector {described}")),
    };
    let found = lookup(&source.obj, &split_path(path))
        .filter(|v| !is_nil_or_empty(v))
        .ok_or_else(|| {
            format!(
                "fieldPath `{path}` is missing for replacement source {}",
                describe(src, "")
            )
        })?;
    let options = &src["options"];
    match options["delimiter"].as_str().filter(|d| !d.is_empty()) {
        None => Ok(found.clone()),
        Some(delimiter) => {
            if found.is_object() || found.is_array() {
                return Err("delimiter option can only be used with scalar nodes".into());
            }
            let text = scalar_text(found);
            let parts: Vec<&str> = text.split(delimiter).collect();
            let index = options["index"].as_i64().unwrap_or(0);
            usize::try_from(index)
                .ok()
                .and_then(|i| parts.get(i))
                .map(|p| Value::String((*p).to_string()))
                .ok_or_else(|| format!("options.index {index} is out of bounds for value {text}"))
        }
    }
}

/// The source selector as kustomize prints it: `Kind.version.group/name.namespace[:fieldPath]`.
fn describe(src: &Value, path: &str) -> String {
    let f = |k: &str, missing: &'static str| src[k].as_str().filter(|s| !s.is_empty()).unwrap_or(missing).to_string();
    let mut s = format!(
        "{}.{}.{}/{}.{}",
        f("kind", "[noKind]"),
        f("version", "[noVer]"),
        f("group", "[noGrp]"),
        f("name", "[noName]"),
        f("namespace", "[noNs]")
    );
    if !path.is_empty() {
        s.push(':');
        s.push_str(path);
    }
    s
}

fn effective_ns(ns: &str) -> &str {
    if ns.is_empty() { "default" } else { ns }
}

fn group_version(r: &Res) -> (&str, &str) {
    let api = r.api_version();
    api.rsplit_once('/').unwrap_or(("", api))
}

fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// A scalar's text as YAML would show it (strings unquoted).
pub(crate) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Splits a field path on `.`, keeping `[key=a.b]` together and `\.` as a literal dot.
pub(crate) fn split_path(path: &str) -> Vec<String> {
    let mut raw: Vec<String> = path.split('.').map(str::to_string).collect();
    if raw.len() > 1 && raw[0].is_empty() {
        raw.remove(0);
    }
    let mut parts: Vec<String> = Vec::new();
    for piece in raw {
        match parts.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(&piece);
            }
            _ => parts.push(piece),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let p = &parts[i];
        if p.starts_with('[') && !p.ends_with(']') {
            let mut joined = vec![p.clone()];
            while i + 1 < parts.len() {
                i += 1;
                joined.push(parts[i].clone());
                if parts[i].ends_with(']') {
                    break;
                }
            }
            let s = joined.join(".");
            out.push(if s.contains('=') {
                s
            } else {
                s.trim_matches(|c| c == '[' || c == ']').to_string()
            });
        } else {
            out.push(p.clone());
        }
        i += 1;
    }
    out.into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Reads the value at a path: fields, `[key=value]` (exact), `[=value]`, and list indexes.
fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for part in path {
        cur = if let Some((key, want)) = list_match(part) {
            cur.as_array()?.iter().find(|e| match key {
                "" => scalar_text(e) == want,
                k => e.get(k).map(scalar_text).as_deref() == Some(want),
            })?
        } else if let Ok(i) = part.parse::<usize>() {
            cur.as_array()?.get(i)?
        } else if part == "-" {
            cur.as_array()?.last()?
        } else {
            cur.as_object()?.get(part)?
        };
    }
    Some(cur)
}

/// `[key=value]` as (key, value).
fn list_match(part: &str) -> Option<(&str, &str)> {
    part.strip_prefix('[')?.strip_suffix(']')?.split_once('=')
}

fn apply_target(target: &Value, value: &Value, out: &mut [Res]) -> Result<(), String> {
    let select = target
        .get("select")
        .filter(|s| s.is_object())
        .ok_or("target must specify resources to select")?;
    let select_re = IdSelector::new(select)?;
    let rejects = target["reject"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| Ok((r, IdSelector::new(r)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let mut paths: Vec<String> = super::strings(&target["fieldPaths"]);
    if paths.is_empty() {
        paths.push("metadata.name".into());
    }
    let options = &target["options"];
    for r in out.iter_mut() {
        if !labels_and_annotations_match(r, select)? {
            continue;
        }
        let mut rejected = false;
        for (rj, re) in &rejects {
            let has_meta = rj["labelSelector"].is_string() || rj["annotationSelector"].is_string();
            if has_meta && labels_and_annotations_match(r, rj)? {
                rejected = true;
            }
            if !re.empty && re.matches(r) {
                rejected = true;
            }
        }
        if rejected || !select_re.matches(r) {
            continue;
        }
        for path in &paths {
            copy_to(&mut r.obj, value, path, options)?;
        }
    }
    Ok(())
}

fn labels_and_annotations_match(r: &Res, sel: &Value) -> Result<bool, String> {
    for (field, meta) in [("labelSelector", "labels"), ("annotationSelector", "annotations")] {
        if let Some(text) = sel[field].as_str()
            && !super::patch::selector_matches(text, r.obj.pointer(&format!("/metadata/{meta}")))
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A select or reject entry's resource id: group, version, kind, name and namespace, each
/// matched exactly when set (the namespace as the effective one, empty meaning `default`).
struct IdSelector {
    fields: Vec<(&'static str, String)>,
    empty: bool,
}

impl IdSelector {
    fn new(sel: &Value) -> Result<Self, String> {
        let fields: Vec<(&'static str, String)> = ["group", "version", "kind", "name", "namespace"]
            .into_iter()
            .filter_map(|f| sel[f].as_str().filter(|p| !p.is_empty()).map(|p| (f, p.to_string())))
            .collect();
        Ok(IdSelector {
            empty: fields.is_empty(),
            fields,
        })
    }

    /// True if the resource's current or any previous id (kind, namespace, name) matches, as in
    /// kustomize.
    fn matches(&self, r: &Res) -> bool {
        let (g, v) = group_version(r);
        let current = (r.kind(), r.namespace().unwrap_or(""), r.name());
        let original = (r.kind(), r.namespace().unwrap_or(""), r.orig_name.as_str());
        [current, original]
            .into_iter()
            .chain(r.prev.iter().map(|(k, n, m)| (k.as_str(), n.as_str(), m.as_str())))
            .any(|(kind, ns, name)| {
                self.fields.iter().all(|(f, want)| match *f {
                    "group" => g == want,
                    "version" => v == want,
                    "kind" => kind == want,
                    "name" => name == want,
                    _ => effective_ns(ns) == effective_ns(want),
                })
            })
    }
}

/// Writes `value` into every field `path` matches in `obj` (creating it with `create`).
fn copy_to(obj: &mut Value, value: &Value, path: &str, options: &Value) -> Result<(), String> {
    let create = options["create"].as_bool().unwrap_or(false);
    let parts = split_path(path);
    let mut found = Vec::new();
    match_path(obj, &parts, create, String::new(), &mut found).map_err(|e| {
        if create {
            format!("unable to find or create field {path:?} in replacement target: {e}")
        } else {
            format!("unable to find field {path:?} in replacement target: {e}")
        }
    })?;
    if found.is_empty() {
        return Err(if create {
            format!("unable to find or create field {path:?} in replacement target")
        } else {
            format!("unable to find field {path:?} in replacement target")
        });
    }
    for (pointer, created) in found {
        if let Some(field) = obj.pointer_mut(&pointer) {
            set_value(field, value, created, options)?;
        }
    }
    Ok(())
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Collects JSON pointers of the nodes `path` matches, each with whether it was just created.
/// `[key=value]` matches elements whose `key` matches the regex `value` (unanchored), as in
/// kustomize; `*` matches every element of a list; a number is a list index.
fn match_path(
    node: &mut Value,
    path: &[String],
    create: bool,
    at: String,
    out: &mut Vec<(String, bool)>,
) -> Result<(), String> {
    let Some(part) = path.first() else {
        out.push((at, false));
        return Ok(());
    };
    let rest = &path[1..];
    let new_node = |next: Option<&String>| match next {
        Some(n) if list_match(n).is_some() || n.parse::<usize>().is_ok() => Value::Array(Vec::new()),
        Some(_) => Value::Object(Map::new()),
        None => Value::Null,
    };
    if let Ok(idx) = part.parse::<usize>() {
        let items = node.as_array_mut().ok_or("wrong node kind: expected a list")?;
        if idx == items.len() && create {
            items.push(new_node(rest.first()));
        }
        let len = items.len();
        let item = items
            .get_mut(idx)
            .ok_or_else(|| format!("index {idx} specified but only {len} elements found"))?;
        return match_path(item, rest, create, format!("{at}/{idx}"), out);
    }
    if let Some(part) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
        let (key, pattern) = part
            .split_once('=')
            .ok_or("list path element must contain fieldName=fieldValue for element to match")?;
        let re = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
        let items = node.as_array_mut().ok_or("wrong node kind: expected a list")?;
        let mut any = false;
        for (i, item) in items.iter_mut().enumerate() {
            let hit = match key {
                "" => !item.is_object() && !item.is_array() && re.is_match(&scalar_text(item)),
                k => item
                    .get(k)
                    .filter(|v| !v.is_null())
                    .is_some_and(|v| re.is_match(&scalar_text(v))),
            };
            if hit {
                any = true;
                match_path(item, rest, create, format!("{at}/{i}"), out)?;
            }
        }
        if !any && create {
            let elem = match key {
                "" => resolve_scalar(pattern),
                k => {
                    let mut m = Map::new();
                    m.insert(k.to_string(), resolve_scalar(pattern));
                    Value::Object(m)
                }
            };
            items.push(elem);
            let i = items.len() - 1;
            return match_path(&mut items[i], rest, create, format!("{at}/{i}"), out);
        }
        return Ok(());
    }
    if part == "*" {
        let items = node.as_array_mut().ok_or("wrong node kind: expected a list")?;
        for (i, item) in items.iter_mut().enumerate() {
            match_path(item, rest, create, format!("{at}/{i}"), out)?;
        }
        return Ok(());
    }
    let Some(map) = node.as_object_mut() else {
        return Ok(());
    };
    let pointer = format!("{at}/{}", escape(part));
    match map.get_mut(part.as_str()) {
        Some(child) => match_path(child, rest, create, pointer, out),
        None if create => {
            map.insert(part.clone(), new_node(rest.first()));
            if rest.is_empty() {
                out.push((pointer, true));
                return Ok(());
            }
            let child = map.get_mut(part.as_str()).ok_or("created field vanished")?;
            match_path(child, rest, create, pointer, out)
        }
        None => Ok(()),
    }
}

/// A plain YAML scalar's value (`8080` a number, `true` a boolean, otherwise a string).
pub(crate) fn resolve_scalar(text: &str) -> Value {
    if text.is_empty() {
        return Value::String(String::new());
    }
    match parse_stream(text).ok().and_then(|d| d.into_iter().next()) {
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v,
        Some(Value::Null) => Value::Null,
        _ => Value::String(text.to_string()),
    }
}

/// Sets one target field. A scalar target keeps its type (the new text is read as that type
/// where it can be); a just-created scalar takes the type the text has in plain YAML; other
/// targets are replaced by the value.
fn set_value(field: &mut Value, value: &Value, created: bool, options: &Value) -> Result<(), String> {
    let mut value = value.clone();
    if let Some(delimiter) = options["delimiter"].as_str().filter(|d| !d.is_empty()) {
        if field.is_object() || field.is_array() {
            return Err("delimiter option can only be used with scalar nodes".into());
        }
        let current = scalar_text(field);
        let mut parts: Vec<String> = current.split(delimiter).map(str::to_string).collect();
        let v = scalar_text(&value);
        let index = options["index"].as_i64().unwrap_or(0);
        match usize::try_from(index) {
            Err(_) => parts.insert(0, v),
            Ok(i) if i >= parts.len() => parts.push(v),
            Ok(i) => parts[i] = v,
        }
        value = Value::String(parts.join(delimiter));
    }
    let text = || match &value {
        Value::Object(_) | Value::Array(_) => String::new(),
        v => scalar_text(v),
    };
    *field = match field {
        Value::String(_) => Value::String(text()),
        Value::Number(_) | Value::Bool(_) => match resolve_scalar(&text()) {
            v @ (Value::Number(_) | Value::Bool(_)) => v,
            _ => Value::String(text()),
        },
        Value::Null if created && (value.is_object() || value.is_array()) => value,
        Value::Null => resolve_scalar(&text()),
        _ => value,
    };
    Ok(())
}
