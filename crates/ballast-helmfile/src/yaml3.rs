//! YAML as helmfile writes it (yaml.v3's encoder with indent 2: lists indented under their
//! key), for `toYaml` in state templates and for `build`.

use ballast_gotemplate::Value;

use crate::Error;

/// `v` as helmfile's `toYaml` prints it (with the final newline).
pub fn to_yaml(v: &Value) -> Result<String, Error> {
    if is_block(v) { emit(v, 0) } else { scalar(v, 2) }
}

/// A scalar as YAML at indentation `ind` (block scalars' lines re-indented).
pub fn scalar(v: &Value, ind: usize) -> Result<String, Error> {
    match v {
        Value::Map(m) if m.borrow().is_empty() => return Ok("{}\n".into()),
        Value::List(l) if l.is_empty() => return Ok("[]\n".into()),
        _ => {}
    }
    let y = ballast_helm::yaml::to_yaml(v).map_err(Error)?;
    let mut lines = y.lines();
    let mut out = String::from(lines.next().unwrap_or(""));
    out.push('\n');
    for l in lines {
        if l.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&" ".repeat(ind));
            out.push_str(l.strip_prefix("  ").unwrap_or(l));
            out.push('\n');
        }
    }
    Ok(out)
}

/// Whether `v` is written as a block (a non-empty map or list).
pub fn is_block(v: &Value) -> bool {
    matches!(v, Value::Map(m) if !m.borrow().is_empty()) || matches!(v, Value::List(l) if !l.is_empty())
}

/// Map entries as goyaml v3 (indent 2, lists indented under their key) writes them, the
/// first line without indentation (the caller placed it), the others at `ind`.
pub fn emit_entries(entries: &[(String, Value)], ind: usize, first_inline: bool) -> Result<String, Error> {
    let mut s = String::new();
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 || !first_inline {
            s.push_str(&" ".repeat(ind));
        }
        let key = scalar(&Value::from(k.clone()), ind)?;
        s.push_str(key.trim_end());
        s.push(':');
        if is_block(v) {
            s.push('\n');
            s.push_str(&emit(v, ind + 2)?);
        } else {
            s.push(' ');
            s.push_str(&scalar(v, ind + 2)?);
        }
    }
    Ok(s)
}

/// A map or list as goyaml v3 with indent 2 writes it, at `ind`.
pub fn emit(v: &Value, ind: usize) -> Result<String, Error> {
    match v {
        Value::Map(m) => {
            let entries: Vec<(String, Value)> = m.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            emit_entries(&entries, ind, false)
        }
        Value::List(l) => {
            let mut s = String::new();
            for item in l.iter() {
                s.push_str(&" ".repeat(ind));
                s.push_str("- ");
                if is_block(item) {
                    let inner = emit(item, ind + 2)?;
                    s.push_str(inner.trim_start());
                } else {
                    s.push_str(&scalar(item, ind + 2)?);
                }
            }
            Ok(s)
        }
        other => scalar(other, ind),
    }
}
