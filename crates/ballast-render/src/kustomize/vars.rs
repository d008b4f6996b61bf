//! `vars` (deprecated in kustomize, still honoured): `$(NAME)` in kustomize's default
//! var-reference fields is replaced by a field of a named object, after every other step of
//! the build (so names carry their prefixes, suffixes and hashes). `$$` stands for a literal `$`;
//! a reference to an undeclared var is left as it is.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::fieldspec::FieldSpec;
use super::{Rename, Res, err};
use crate::RenderError;
use crate::root::Root;

/// What kustomizations declare for the end of the build: vars, and name-reference fields of
/// custom kinds (from `crds`).
#[derive(Debug, Default)]
pub(crate) struct Declared {
    pub vars: Vec<Var>,
    pub name_refs: Vec<NameRef>,
}

/// A field of a custom kind that names an object of another kind.
#[derive(Clone, Debug)]
pub(crate) struct NameRef {
    /// The custom kind holding the field.
    pub kind: String,
    /// Path to the name, through lists.
    pub path: Vec<String>,
    /// Kind of the object named.
    pub target: String,
}

/// Reads name-reference fields from OpenAPI definitions in kustomize's `crds` format.
pub(crate) fn load_crd_name_refs(defs: &serde_json::Map<String, Value>, out: &mut Vec<NameRef>) {
    for (name, def) in defs {
        let props = schema_of(def)["properties"].as_object();
        let looks_k8s = props.is_some_and(|p| ["kind", "apiVersion", "metadata"].iter().all(|k| p.contains_key(*k)));
        if !looks_k8s {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name).to_string();
        walk_crd(defs, name, &kind, &mut Vec::new(), out, 0);
    }
}

fn schema_of(def: &Value) -> &Value {
    def.get("Schema").or_else(|| def.get("schema")).unwrap_or(&Value::Null)
}

fn walk_crd(
    defs: &serde_json::Map<String, Value>,
    type_name: &str,
    kind: &str,
    path: &mut Vec<String>,
    out: &mut Vec<NameRef>,
    depth: usize,
) {
    let Some(def) = defs.get(type_name) else { return };
    if depth > 32 {
        return;
    }
    for (prop, schema) in schema_of(def)["properties"].as_object().into_iter().flatten() {
        if schema["x-kubernetes-object-ref-api-version"].is_string()
            && let Some(target) = schema["x-kubernetes-object-ref-kind"].as_str()
        {
            let key = schema["x-kubernetes-object-ref-name-key"].as_str().unwrap_or("name");
            let mut p = path.clone();
            p.push(prop.clone());
            p.push(key.to_string());
            out.push(NameRef {
                kind: kind.to_string(),
                path: p,
                target: target.to_string(),
            });
        }
        if let Some(r) = schema["$ref"].as_str() {
            path.push(prop.clone());
            walk_crd(defs, r, kind, path, out, depth + 1);
            path.pop();
        }
    }
}

/// Fields declared by `crds` follow renamed objects of their kind (same namespace).
pub(crate) fn crd_name_references(refs: &[NameRef], out: &mut [Res]) {
    if refs.is_empty() {
        return;
    }
    let renames: Vec<Rename> = out.iter().filter_map(Res::rename).collect();
    for r in out.iter_mut() {
        let ns = r.namespace().map(str::to_string);
        let kind = r.kind().to_string();
        for nr in refs.iter().filter(|nr| nr.kind == kind) {
            let segs: Vec<&str> = nr.path.iter().map(String::as_str).collect();
            rename_at(&mut r.obj, &segs, &|old: &str| {
                renames
                    .iter()
                    .find(|(k, n, o, _)| *k == nr.target && o == old && *n == ns)
                    .map(|(_, _, _, new)| new.clone())
            });
        }
    }
}

fn rename_at(v: &mut Value, segs: &[&str], lookup: &dyn Fn(&str) -> Option<String>) {
    if let Value::Array(items) = v {
        for item in items {
            rename_at(item, segs, lookup);
        }
        return;
    }
    match segs.split_first() {
        None => {
            if let Some(new) = v.as_str().and_then(lookup) {
                *v = Value::String(new);
            }
        }
        Some((first, rest)) => {
            if let Some(child) = v.get_mut(*first) {
                rename_at(child, rest, lookup);
            }
        }
    }
}

/// A declared var and the kustomization file that declares it.
#[derive(Clone, Debug)]
pub(crate) struct Var {
    pub spec: Value,
    pub file: PathBuf,
    pub index: usize,
}

/// Collects the `vars` of one kustomization; a name declared twice is an error.
pub(crate) fn collect(root: &Root, file: &Path, k: &Value, declared: &mut Declared) -> Result<(), RenderError> {
    let vars = &mut declared.vars;
    for (i, v) in k["vars"].as_array().into_iter().flatten().enumerate() {
        let name = v["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| err(root, file, format!("vars[{i}]: name is required")))?;
        if vars.iter().any(|o| o.spec["name"].as_str() == Some(name)) {
            return Err(err(root, file, format!("vars[{i}]: var '{name}' already encountered")));
        }
        vars.push(Var {
            spec: v.clone(),
            file: file.to_path_buf(),
            index: i,
        });
    }
    Ok(())
}

/// Resolves every var against the built objects and substitutes them.
pub(crate) fn resolve(root: &Root, vars: &[Var], specs: &[FieldSpec], out: &mut [Res]) -> Result<(), RenderError> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values: Vec<(String, Value)> = Vec::new();
    for var in vars {
        let here = |m: String| err(root, &var.file, format!("vars[{}]: {m}", var.index));
        let name = var.spec["name"].as_str().unwrap_or_default();
        // Field names match regardless of case, as kustomize's JSON decoding matches them.
        let objref = ci(&var.spec, "objref");
        let want = |f: &str| ci(objref, f).as_str().filter(|s| !s.is_empty());
        let matches: Vec<&Res> = out
            .iter()
            .filter(|r| {
                want("kind").is_none_or(|k| k == r.kind())
                    && want("name").is_none_or(|n| n == r.name() || n == r.orig_name)
                    && want("namespace").is_none_or(|n| Some(n) == r.namespace())
                    && want("apiVersion").is_none_or(|a| a == r.api_version())
                    && want("group").is_none_or(|g| g == r.group())
            })
            .collect();
        let target = match matches.as_slice() {
            [one] => *one,
            [] => return Err(here(format!("var '{name}': no object matches its objref"))),
            _ => return Err(here(format!("var '{name}': more than one object matches its objref"))),
        };
        let path = ci(ci(&var.spec, "fieldref"), "fieldPath")
            .as_str()
            .filter(|p| !p.is_empty())
            .unwrap_or("metadata.name");
        let value = lookup(&target.obj, path)
            .filter(|v| !v.is_object() && !v.is_array() && !v.is_null())
            .ok_or_else(|| {
                here(format!(
                    "var '{name}': field {path} not found in {}/{}",
                    target.kind(),
                    target.name()
                ))
            })?;
        values.push((name.to_string(), value.clone()));
    }
    for r in out.iter_mut() {
        for spec in specs {
            let _ = super::fieldspec::apply(&mut r.obj, spec, None, &mut |v| {
                match v {
                    Value::Array(items) => items.iter_mut().for_each(|i| substitute(i, &values)),
                    other => substitute(other, &values),
                }
                Ok(())
            });
        }
    }
    Ok(())
}

/// The field `key` of `v`, compared without regard to case (`Null` when absent).
fn ci<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key)
        .or_else(|| {
            v.as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, x)| x)
        })
        .unwrap_or(&Value::Null)
}

/// Reads `a.b[0].c` / `a.b.0.c` style paths.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        let (field, index) = match part.split_once('[') {
            Some((f, rest)) => (f, rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok())),
            None => (part, None),
        };
        if !field.is_empty() {
            cur = match (cur, field.parse::<usize>()) {
                (Value::Array(a), Ok(i)) => a.get(i)?,
                _ => cur.get(field)?,
            };
        }
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

fn substitute(v: &mut Value, values: &[(String, Value)]) {
    match v {
        Value::String(s) => *v = expand(s, values),
        Value::Object(m) => {
            for item in m.values_mut() {
                if let Value::String(s) = item {
                    *item = expand(s, values);
                }
            }
        }
        _ => {}
    }
}

/// Expands `$(NAME)` references; a string that is exactly one reference takes the var's type.
fn expand(input: &str, values: &[(String, Value)]) -> Value {
    let lookup = |name: &str| values.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    if let Some(name) = input.strip_prefix("$(").and_then(|r| r.strip_suffix(')'))
        && !name.contains(')')
        && let Some(v) = lookup(name)
    {
        return v.clone();
    }
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                }
                b'(' => match input[i + 2..].find(')') {
                    Some(end) => {
                        let name = &input[i + 2..i + 2 + end];
                        match lookup(name) {
                            Some(v) => out.push_str(&super::replace::scalar_text(v)),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        i += 2 + end + 1;
                    }
                    None => {
                        out.push_str("$(");
                        i += 2;
                    }
                },
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        } else {
            let ch = input[i..].chars().next().unwrap_or_default();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expands_like_kustomize() {
        let vals = vec![("A".to_string(), json!("x")), ("N".to_string(), json!(3))];
        assert_eq!(expand("$(A)-$(B)-$$-$(N)", &vals), json!("x-$(B)-$-3"));
        assert_eq!(expand("$(N)", &vals), json!(3));
        assert_eq!(expand("a$", &vals), json!("a$"));
    }
}
