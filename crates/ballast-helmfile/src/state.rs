//! One state file loaded as helmfile v1 loads it: the text split into `---` parts, each part
//! rendered as a Go template when the file name ends in `.gotmpl`, its YAML documents merged,
//! `bases` layered under it, the selected environment's values loaded (files, `.gotmpl`
//! files and inline maps, deep-merged in order), and the parts merged in order, each later
//! part seeing the environment the earlier ones built.

use std::path::{Path, PathBuf};

use ballast_gotemplate::{Map, Value};
use ballast_helm::values::merge_maps;

use crate::Error;
use crate::tmpl;

/// The default environment's name; it need not be declared.
pub const DEFAULT_ENV: &str = "default";

/// How deep `bases` and sub-helmfiles may nest.
pub const MAX_DEPTH: usize = 16;

/// The environment a state is evaluated in.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// `-e`.
    pub name: String,
    /// The environment's values (its `values:` entries and what the caller passes down).
    pub values: Value,
    /// The state's top-level `values:` (below the environment's).
    pub defaults: Value,
}

impl Env {
    /// A fresh environment with no values.
    pub fn new(name: &str) -> Env {
        Env {
            name: name.to_string(),
            values: Value::empty_map(),
            defaults: Value::empty_map(),
        }
    }
    /// `.Values`: defaults under the environment's values.
    pub fn merged(&self) -> Value {
        merge_maps(&self.defaults, &self.values)
    }
}

/// Why a state was not loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The selected environment is not declared (helmfile skips such a state).
    UndefinedEnv(String),
    /// Anything else.
    Other(Error),
}

impl From<Error> for LoadError {
    fn from(e: Error) -> Self {
        LoadError::Other(e)
    }
}

impl LoadError {
    /// The message helmfile prints.
    pub fn message(&self) -> String {
        match self {
            LoadError::UndefinedEnv(m) => m.clone(),
            LoadError::Other(e) => e.0.clone(),
        }
    }
}

/// A loaded state file.
#[derive(Clone, Debug)]
pub struct State {
    /// The file as named (joined to its including file's directory).
    pub file: PathBuf,
    /// Its directory: relative paths in it start here.
    pub dir: PathBuf,
    /// The merged state document (a map).
    pub doc: Value,
    /// The environment after every part.
    pub env: Env,
    /// Where remote charts are resolved (set by [`crate::visit`]; none: remote charts are
    /// refused).
    pub charts: crate::charts::Charts,
}

impl State {
    /// `.Values` of the state.
    pub fn values(&self) -> Value {
        self.env.merged()
    }
    /// A top-level field.
    pub fn field(&self, key: &str) -> Value {
        get(&self.doc, key)
    }
}

/// A key of a map value (`Nil` when absent or not a map).
pub fn get(v: &Value, key: &str) -> Value {
    match v {
        Value::Map(m) => m.borrow().get(key).cloned().unwrap_or(Value::Nil),
        _ => Value::Nil,
    }
}

/// The items of a list value (empty when not a list).
pub fn items(v: &Value) -> Vec<Value> {
    match v {
        Value::List(l) => l.as_ref().clone(),
        _ => Vec::new(),
    }
}

/// A scalar as helmfile's string fields read it.
pub fn text(v: &Value) -> String {
    match v {
        Value::Nil => String::new(),
        Value::String(s) => s.to_string(),
        other => ballast_gotemplate::fmt::sprint_value(other),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.borrow().is_empty(),
        _ => false,
    }
}

/// Documents of one part merged as helmfile's `Parse` does (lists appended, maps merged,
/// other fields replaced by a later non-empty value).
fn merge_append(dst: &Value, src: &Value) -> Value {
    match (dst, src) {
        (Value::Map(a), Value::Map(b)) => {
            let mut out = a.borrow().clone();
            for (k, v) in b.borrow().iter() {
                let merged = match out.get(k) {
                    Some(old) => merge_append(old, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::map(out)
        }
        (Value::List(a), Value::List(b)) => {
            let mut out = a.as_ref().clone();
            out.extend(b.iter().cloned());
            Value::list(out)
        }
        (old, new) if is_empty(new) => old.clone(),
        (_, new) => new.clone(),
    }
}

/// Parts merged as helmfile merges them (mergo with override): a later part's non-empty
/// top-level field replaces the earlier one, maps (`environments`, `commonLabels`) merged by key.
fn merge_override(dst: &Value, src: &Value) -> Value {
    let mut out = match dst {
        Value::Map(m) => m.borrow().clone(),
        _ => Map::new(),
    };
    if let Value::Map(b) = src {
        for (k, v) in b.borrow().iter() {
            if is_empty(v) {
                continue;
            }
            let merged = match (out.get(k), v) {
                (Some(Value::Map(old)), Value::Map(new)) => {
                    let mut m = old.borrow().clone();
                    m.extend(new.borrow().iter().map(|(k, v)| (k.clone(), v.clone())));
                    Value::map(m)
                }
                _ => v.clone(),
            };
            out.insert(k.clone(), merged);
        }
    }
    Value::map(out)
}

/// Loads the state file `file` for environment `env_name`. `ctx` is the environment handed
/// down (the earlier parts' or none); `overrode` the values a parent passes (`helmfiles[].values`).
pub fn load(
    file: &Path,
    env_name: &str,
    overrode: Option<&Value>,
    evaluate_bases: bool,
    depth: usize,
) -> Result<State, LoadError> {
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    load_in(file, &dir, env_name, overrode, evaluate_bases, depth)
}

/// [`load`] with relative paths starting at `dir` (a base's paths are relative to the
/// helmfile that lists it, as helmfile resolves them).
fn load_in(
    file: &Path,
    dir: &Path,
    env_name: &str,
    overrode: Option<&Value>,
    evaluate_bases: bool,
    depth: usize,
) -> Result<State, LoadError> {
    if depth > MAX_DEPTH {
        return Err(Error(format!(
            "{}: bases and sub-helmfiles nest deeper than {MAX_DEPTH}",
            file.display()
        ))
        .into());
    }
    let content = tmpl::read_limited(file).map_err(Error)?;
    let content = content.replace("\r\n", "\n");
    let dir = dir.to_path_buf();
    // helmfile v1 renders only `.gotmpl` files (or every file with HELMFILE_RENDER_YAML=true).
    let render = file.extension().is_some_and(|e| e == "gotmpl")
        || std::env::var("HELMFILE_RENDER_YAML").is_ok_and(|v| v == "true");
    let has_env = overrode.is_some();
    let mut env: Option<Env> = None;
    let mut final_doc: Option<Value> = None;
    for (i, part) in content.split("\n---\n").enumerate() {
        let id = format!("{}.part.{i}", file.display());
        let mut ctx = env.clone().unwrap_or_else(|| Env::new(env_name));
        if let Some(o) = overrode {
            ctx.values = merge_maps(&ctx.values, o);
        }
        let raw = if render {
            let data = tmpl::env_data(&ctx.name, &ctx.merged());
            tmpl::render(&id, part, &data, &dir).map_err(|e| Error(format!("error during {id} parsing: {}", e.0)))?
        } else {
            part.to_string()
        };
        let docs = parse_yaml(&raw).map_err(|e| {
            let hint = if render {
                ""
            } else {
                ". Started seeing this since Helmfile v1? Add the .gotmpl file extension"
            };
            Error(format!(
                "failed to read {}: reading document at index 1{hint}: {e}",
                file.display()
            ))
        })?;
        let mut doc = Value::empty_map();
        for d in &docs {
            match d {
                Value::Map(_) => doc = merge_append(&doc, d),
                Value::Nil => {}
                _ => {
                    return Err(Error(format!(
                        "failed to read {}: reading document at index 1: a state document must be a map",
                        file.display()
                    ))
                    .into());
                }
            }
        }
        if evaluate_bases {
            doc = load_bases(&doc, &dir, env_name, overrode, depth)?;
        } else if !items(&get(&doc, "bases")).is_empty() {
            return Err(Error(
                "nested `base` helmfile is unsupported. please submit a feature request if you need this!".into(),
            )
            .into());
        }
        let part_env = load_env_values(&doc, &dir, env_name, env.as_ref(), overrode)
            .map_err(|e| Error(format!("failed to read {}: {}", file.display(), e.0)))?;
        final_doc = Some(match final_doc {
            None => doc,
            Some(prev) => merge_override(&prev, &doc),
        });
        env = Some(part_env);
        let envs = get(final_doc.as_ref().unwrap_or(&Value::Nil), "environments");
        let declared = matches!(&envs, Value::Map(m) if !m.borrow().is_empty());
        if declared
            && evaluate_bases
            && env_name != DEFAULT_ENV
            && get(&envs, env_name).is_nil()
            && !has_key(&envs, env_name)
        {
            return Err(undefined(file, env_name));
        }
    }
    let doc = final_doc.unwrap_or_else(Value::empty_map);
    let envs = get(&doc, "environments");
    let declared = matches!(&envs, Value::Map(m) if !m.borrow().is_empty());
    if !declared && evaluate_bases && !has_env && env_name != DEFAULT_ENV {
        return Err(undefined(file, env_name));
    }
    Ok(State {
        file: file.to_path_buf(),
        dir,
        doc,
        env: env.unwrap_or_else(|| Env::new(env_name)),
        charts: Default::default(),
    })
}

fn has_key(v: &Value, key: &str) -> bool {
    matches!(v, Value::Map(m) if m.borrow().contains_key(key))
}

fn undefined(file: &Path, env: &str) -> LoadError {
    LoadError::UndefinedEnv(format!(
        "failed to read {}: environment \"{env}\" is not defined",
        file.display()
    ))
}

/// `bases:` loaded (each without its own bases) and layered under `doc`: environments merged
/// by name (their `values` lists concatenated, the later layer last), other fields merged as
/// documents are.
fn load_bases(
    doc: &Value,
    dir: &Path,
    env_name: &str,
    overrode: Option<&Value>,
    depth: usize,
) -> Result<Value, LoadError> {
    let bases = items(&get(doc, "bases"));
    if bases.is_empty() {
        return Ok(doc.clone());
    }
    let mut layers = Vec::new();
    for b in &bases {
        let path = tmpl::resolve(dir, &text(b));
        let st = load_in(&path, dir, env_name, overrode, false, depth + 1)?;
        layers.push(st.doc);
    }
    layers.push(doc.clone());
    let mut acc = layers[0].clone();
    for layer in &layers[1..] {
        let mut envs = match get(&acc, "environments") {
            Value::Map(m) => m.borrow().clone(),
            _ => Map::new(),
        };
        if let Value::Map(src) = get(layer, "environments") {
            for (name, spec) in src.borrow().iter() {
                let merged = match envs.get(name) {
                    Some(old) => {
                        let mut vals = items(&get(old, "values"));
                        vals.extend(items(&get(spec, "values")));
                        let out = merge_override(old, spec);
                        if let Value::Map(m) = &out {
                            m.borrow_mut().insert("values".into(), Value::list(vals));
                        }
                        out
                    }
                    None => spec.clone(),
                };
                envs.insert(name.clone(), merged);
            }
        }
        let rest = match layer {
            Value::Map(m) => {
                let mut m = m.borrow().clone();
                m.remove("environments");
                Value::map(m)
            }
            _ => Value::empty_map(),
        };
        acc = merge_append(&acc, &rest);
        if let Value::Map(m) = &acc {
            m.borrow_mut().insert("environments".into(), Value::map(envs));
        }
    }
    if let Value::Map(m) = &acc {
        m.borrow_mut().remove("bases");
    }
    Ok(acc)
}

/// The environment of one part: its environment's `values` entries and its top-level `values`
/// loaded, over the handed-down `ctx`, under what the parent passed (`overrode`).
fn load_env_values(
    doc: &Value,
    dir: &Path,
    env_name: &str,
    ctx: Option<&Env>,
    overrode: Option<&Value>,
) -> Result<Env, Error> {
    let mut load_ctx = ctx.cloned().unwrap_or_else(|| Env::new(env_name));
    if let Some(o) = overrode {
        load_ctx.values = merge_maps(&load_ctx.values, o);
    }
    let spec = get(&get(doc, "environments"), env_name);
    let values = load_values_entries(&items(&get(&spec, "values")), dir, &load_ctx)?;
    let defaults = load_values_entries(&items(&get(doc, "values")), dir, &load_ctx)?;
    let mut env = Env {
        name: env_name.to_string(),
        values,
        defaults,
    };
    if let Some(c) = ctx {
        env.defaults = merge_maps(&c.defaults, &env.defaults);
        env.values = merge_maps(&c.values, &env.values);
    }
    if let Some(o) = overrode {
        env.values = merge_maps(&env.values, o);
    }
    Ok(env)
}

/// Environment values entries: a string is a file (relative to `dir`, rendered first when it
/// ends in `.gotmpl`), a map is inline values; deep-merged in order.
pub fn load_values_entries(entries: &[Value], dir: &Path, ctx: &Env) -> Result<Value, Error> {
    let mut out = Value::empty_map();
    for entry in entries {
        match entry {
            Value::String(s) => {
                let path = tmpl::resolve(dir, s);
                let src = tmpl::read_limited(&path).map_err(Error)?;
                let rendered = if s.ends_with(".gotmpl") {
                    let data = tmpl::env_data(&ctx.name, &ctx.merged());
                    let base = path.parent().unwrap_or(dir);
                    tmpl::render(&path.display().to_string(), &src, &data, base)
                        .map_err(|e| Error(format!("failed to load environment values file \"{s}\": {}", e.0)))?
                } else {
                    src
                };
                let v = first_doc(&rendered)
                    .map_err(|e| Error(format!("failed to load environment values file \"{s}\": {e}")))?;
                match v {
                    Value::Map(_) => out = merge_maps(&out, &v),
                    Value::Nil => {}
                    _ => {
                        return Err(Error(format!(
                            "failed to load environment values file \"{s}\": not a map"
                        )));
                    }
                }
            }
            Value::Map(_) => out = merge_maps(&out, entry),
            Value::Nil => {}
            other => {
                return Err(Error(format!(
                    "unexpected type of value: value={}, type={}",
                    text(other),
                    other.type_name()
                )));
            }
        }
    }
    Ok(out)
}

/// A YAML stream read as helmfile's YAML library (yaml.v3) reads it: only `true`/`false` are
/// booleans, integers are Go `int`s, merge keys (`<<`) and anchors resolved.
pub fn parse_yaml(src: &str) -> Result<Vec<Value>, String> {
    let docs = ballast_render::yaml::parse_stream(src).map_err(|e| e.to_string())?;
    Ok(docs.iter().map(from_json).collect())
}

/// A value of the YAML front end as Go's `interface{}` holds it after yaml.v3.
fn from_json(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::Uint(u),
            _ => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::str(s),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// The first YAML document of `src` (yaml.v3's `Unmarshal`), `Nil` when empty.
pub fn first_doc(src: &str) -> Result<Value, String> {
    parse_yaml(src).map(|d| d.into_iter().next().unwrap_or(Value::Nil))
}
