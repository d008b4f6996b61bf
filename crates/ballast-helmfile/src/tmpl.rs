//! Helmfile's template functions and the rendering of `.gotmpl` text: sprig and Helm's data
//! functions from `ballast-helm`, plus helmfile's own (`env`, `requiredEnv`, `readFile`,
//! `get`, `getOrNil`, `tpl`, `required`, `fail`). `exec` is refused by name: a state file
//! never runs programs here.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use ballast_gotemplate::{Args, Arity, Func, FuncMap, Templates, Value};

use crate::Error;

/// The most bytes `readFile` reads.
const MAX_READ: u64 = 16 << 20;

/// The function map of a render whose relative paths (`readFile`) start at `base`.
pub fn funcs(base: &Path) -> FuncMap {
    let mut m = ballast_helm::funcs::sprig();
    m.pure("env", Arity::Exact(1), |a| {
        Ok(Value::from(std::env::var(Args::string(&a[0])?).unwrap_or_default()))
    });
    m.pure("requiredEnv", Arity::Exact(1), |a| {
        let name = Args::string(&a[0])?;
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Value::from(v)),
            _ => Err(format!("required env var `{name}` is not set")),
        }
    });
    let dir = base.to_path_buf();
    m.pure("readFile", Arity::Exact(1), move |a| {
        let p = resolve(&dir, Args::string(&a[0])?);
        read_limited(&p).map(Value::from)
    });
    m.pure("exec", Arity::AtLeast(0), |_| {
        Err("exec is refused: Ballast renders state files without running programs".into())
    });
    m.pure("get", Arity::AtLeast(2), |a| {
        let path = Args::string(&a[0])?;
        let (default, obj) = match a.len() {
            2 => (None, &a[1]),
            3 => (Some(&a[1]), &a[2]),
            n => {
                return Err(format!(
                    "unexpected number of args passed to the template function get(path, [def, ]obj): expected 1 or 2, got {}",
                    n - 1
                ));
            }
        };
        match (lookup(obj, path), default) {
            (Ok(v), _) => Ok(v),
            (Err(_), Some(d)) => Ok(d.clone()),
            (Err(e), None) => Err(e),
        }
    });
    m.pure("getOrNil", Arity::Exact(2), |a| {
        Ok(lookup(&a[1], Args::string(&a[0])?).unwrap_or(Value::Nil))
    });
    m.pure("toYaml", Arity::Exact(1), |a| {
        crate::yaml3::to_yaml(&a[0]).map(Value::from).map_err(|e| e.0)
    });
    m.pure("fromYaml", Arity::Exact(1), |a| {
        let s = Args::string(&a[0])?;
        crate::state::first_doc(s).map_err(|e| format!("{e}, offending yaml: {s}"))
    });
    m.pure("expandenv", Arity::Exact(1), |a| {
        Ok(Value::from(expand_env(Args::string(&a[0])?)))
    });
    m.pure("setValueAtPath", Arity::Exact(3), |a| {
        let path = Args::string(&a[0])?;
        let keys: Vec<&str> = path.split('.').collect();
        let mut cur = a[2].clone();
        for k in &keys[..keys.len() - 1] {
            let next = match &cur {
                Value::Map(m) => m.borrow().get(*k).cloned(),
                _ => None,
            };
            cur = match next {
                Some(n @ Value::Map(_)) => n,
                _ => {
                    return Err(format!(
                        "failed to set value at path \"{path}\": value for key \"{k}\" does not exist"
                    ));
                }
            };
        }
        match &cur {
            Value::Map(m) => {
                m.borrow_mut().insert(keys[keys.len() - 1].to_string(), a[1].clone());
            }
            _ => return Err(format!("failed to set value at path \"{path}\": not a map")),
        }
        Ok(a[2].clone())
    });
    let dir = base.to_path_buf();
    m.pure("isFile", Arity::Exact(1), move |a| {
        Ok(Value::Bool(resolve(&dir, Args::string(&a[0])?).is_file()))
    });
    let dir = base.to_path_buf();
    m.pure("isDir", Arity::Exact(1), move |a| {
        Ok(Value::Bool(resolve(&dir, Args::string(&a[0])?).is_dir()))
    });
    let dir = base.to_path_buf();
    m.pure("readDir", Arity::Exact(1), move |a| {
        let rel = Args::string(&a[0])?;
        let p = resolve(&dir, rel);
        let rd = std::fs::read_dir(&p).map_err(|e| format!("ReadDir \"{}\": {}", p.display(), io_text(&e)))?;
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| Path::new(rel).join(e.file_name()).display().to_string())
            .collect();
        names.sort();
        Ok(Value::list(names.into_iter().map(Value::from).collect()))
    });
    m.pure("required", Arity::Exact(2), |a| match &a[1] {
        Value::Nil => Err(Args::string(&a[0])?.to_string()),
        Value::String(s) if s.is_empty() => Err(Args::string(&a[0])?.to_string()),
        v => Ok(v.clone()),
    });
    m.pure("fail", Arity::Exact(1), |a| Err(Args::string(&a[0])?.to_string()));
    m.insert(
        "tpl",
        Func::new(Arity::Exact(2), |env, a| {
            let src = Args::string(&a[0])?.to_string();
            env.execute_source("tpl", &src, a[1].clone())
                .map(Value::from)
                .map_err(|e| e.message)
        }),
    );
    m
}

/// A dotted path looked up in nested maps, with helmfile's message for a missing step.
fn lookup(obj: &Value, path: &str) -> Result<Value, String> {
    let mut cur = obj.clone();
    for key in path.split('.').filter(|k| !k.is_empty()) {
        let next = match &cur {
            Value::Map(m) => m.borrow().get(key).cloned(),
            other => {
                return Err(format!(
                    "unexpected type({}) of value for key \"{key}\": it must be either map[string]any or any struct",
                    other.type_name()
                ));
            }
        };
        cur = match next {
            Some(v) => v,
            None => {
                return Err(format!(
                    "no value exist for key \"{key}\" in {}",
                    ballast_gotemplate::fmt::sprint_value(&cur)
                ));
            }
        };
    }
    Ok(cur)
}

/// `$NAME` and `${NAME}` replaced by the environment's values (Go's `os.ExpandEnv`).
fn expand_env(s: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' && i + 1 < chars.len() {
            let (name, next) = if chars[i + 1] == '{' {
                match chars[i + 2..].iter().position(|&c| c == '}') {
                    Some(end) => (chars[i + 2..i + 2 + end].iter().collect::<String>(), i + 3 + end),
                    None => {
                        out.push('$');
                        i += 1;
                        continue;
                    }
                }
            } else {
                let len = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .count();
                (chars[i + 1..i + 1 + len].iter().collect::<String>(), i + 1 + len)
            };
            if name.is_empty() && next == i + 1 {
                out.push('$');
                i += 1;
                continue;
            }
            out.push_str(&std::env::var(&name).unwrap_or_default());
            i = next;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// `p` relative to `base` unless absolute.
pub fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// Reads a text file of at most [`MAX_READ`] bytes.
pub fn read_limited(p: &Path) -> Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(p).map_err(|e| format!("open {}: {}", p.display(), io_text(&e)))?;
    let mut buf = Vec::new();
    f.take(MAX_READ + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("read {}: {}", p.display(), io_text(&e)))?;
    if buf.len() as u64 > MAX_READ {
        return Err(format!("{}: file larger than {MAX_READ} bytes", p.display()));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Go's wording of common I/O errors.
pub fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Renders `src` (named `name` in messages) as a Go template with `data`, relative paths
/// starting at `base`.
pub fn render(name: &str, src: &str, data: &Value, base: &Path) -> Result<String, Error> {
    let mut t = Templates::new(Rc::new(funcs(base)));
    t.parse(name, src).map_err(|e| Error(e.message))?;
    t.execute(name, data).map_err(|e| Error(e.message))
}

/// The data of a state-file or environment-values render: `.Environment` (`Name`, `Values`,
/// `KubeContext`), `.Values`, `.StateValues` and `.Namespace`.
pub fn env_data(env_name: &str, values: &Value) -> Value {
    let mut env = ballast_gotemplate::value::Map::new();
    env.insert("Name".into(), Value::str(env_name));
    env.insert("Values".into(), values.clone());
    env.insert("KubeContext".into(), Value::str(""));
    let mut top = ballast_gotemplate::value::Map::new();
    top.insert("Environment".into(), Value::map(env));
    top.insert("Values".into(), values.clone());
    top.insert("StateValues".into(), values.clone());
    top.insert("Namespace".into(), Value::str(""));
    Value::map(top)
}
