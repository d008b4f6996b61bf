//! sprig's list functions. Like sprig they accept any slice (a list or bytes) and build new
//! lists, never changing their input; the `must` forms and the plain forms fail alike (sprig's
//! plain forms panic, which the template reports as the same error).

use ballast_gotemplate::{Args, Arity, FuncMap, Value};

use super::defaults::{deep_equal, empty};
use super::math::to_int64;

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    for name in ["list", "tuple"] {
        m.pure(name, AtLeast(0), |a| Ok(Value::list(a.to_vec())));
    }
    for name in ["append", "push", "mustAppend", "mustPush"] {
        m.pure(name, Exact(2), |a| {
            let mut l = items(&a[0], "Cannot push on type")?;
            l.push(a[1].clone());
            Ok(Value::list(l))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        m.pure(name, Exact(2), |a| {
            let mut l = items(&a[0], "Cannot prepend on type")?;
            l.insert(0, a[1].clone());
            Ok(Value::list(l))
        });
    }
    for name in ["first", "mustFirst"] {
        m.pure(name, Exact(1), |a| Ok(items(&a[0], "Cannot find first on type")?.first().cloned().unwrap_or(Value::Nil)));
    }
    for name in ["last", "mustLast"] {
        m.pure(name, Exact(1), |a| Ok(items(&a[0], "Cannot find last on type")?.last().cloned().unwrap_or(Value::Nil)));
    }
    for name in ["rest", "mustRest"] {
        m.pure(name, Exact(1), |a| {
            let l = items(&a[0], "Cannot find rest on type")?;
            Ok(Value::list(l.get(1..).unwrap_or_default().to_vec()))
        });
    }
    for name in ["initial", "mustInitial"] {
        m.pure(name, Exact(1), |a| {
            let l = items(&a[0], "Cannot find initial on type")?;
            Ok(Value::list(l[..l.len().saturating_sub(1)].to_vec()))
        });
    }
    for name in ["reverse", "mustReverse"] {
        m.pure(name, Exact(1), |a| {
            let mut l = items(&a[0], "Cannot find reverse on type")?;
            l.reverse();
            Ok(Value::list(l))
        });
    }
    for name in ["uniq", "mustUniq"] {
        m.pure(name, Exact(1), |a| {
            let mut out: Vec<Value> = Vec::new();
            for v in items(&a[0], "Cannot find uniq on type")? {
                if !out.iter().any(|o| deep_equal(&v, o)) {
                    out.push(v);
                }
            }
            Ok(Value::list(out))
        });
    }
    for name in ["compact", "mustCompact"] {
        m.pure(name, Exact(1), |a| {
            let l = items(&a[0], "Cannot compact on type")?;
            Ok(Value::list(l.into_iter().filter(|v| !empty(v)).collect()))
        });
    }
    for name in ["without", "mustWithout"] {
        m.pure(name, AtLeast(1), |a| {
            let l = items(&a[0], "Cannot find without on type")?;
            let omit = &a[1..];
            Ok(Value::list(l.into_iter().filter(|v| !omit.iter().any(|o| deep_equal(v, o))).collect()))
        });
    }
    for name in ["has", "mustHas"] {
        m.pure(name, Exact(2), |a| {
            if a[1].is_nil() {
                return Ok(Value::Bool(false));
            }
            let l = items(&a[1], "Cannot find has on type")?;
            Ok(Value::Bool(l.iter().any(|v| deep_equal(&a[0], v))))
        });
    }
    for name in ["slice", "mustSlice"] {
        m.pure(name, AtLeast(1), |a| {
            let l = items_with(&a[0], |k| format!("list should be type of slice or array but {k}"))?;
            if l.is_empty() {
                return Ok(Value::Nil);
            }
            let start = a.get(1).map_or(0, to_int64);
            let end = if a.len() < 3 { l.len() as i64 } else { to_int64(&a[2]) };
            if start < 0 || end < start || end > l.len() as i64 {
                return Err("reflect.Value.Slice: slice index out of bounds".into());
            }
            Ok(Value::list(l[start as usize..end as usize].to_vec()))
        });
    }
    m.pure("concat", AtLeast(0), |a| {
        let mut out = Vec::new();
        for v in a {
            out.extend(items_with(v, |k| format!("Cannot concat type {k} as list"))?);
        }
        Ok(Value::list(out))
    });
    for name in ["chunk", "mustChunk"] {
        m.pure(name, Exact(2), |a| {
            let size = Args::int(&a[0])?;
            let l = items(&a[1], "Cannot chunk type")?;
            chunk(size, &l)
        });
    }
}

/// The Go kind name of a value as sprig's error messages print it.
fn kind(v: &Value) -> &'static str {
    v.kind_name()
}

fn items(v: &Value, what: &str) -> Result<Vec<Value>, String> {
    items_with(v, |k| format!("{what} {k}"))
}

/// The elements of a slice value; a nil fails as Go's nil-interface reflection does.
fn items_with(v: &Value, err: impl Fn(&str) -> String) -> Result<Vec<Value>, String> {
    match v {
        Value::List(l) => Ok(l.to_vec()),
        Value::Bytes(b) => Ok(b.iter().map(|x| Value::Uint(u64::from(*x))).collect()),
        Value::Nil => Err("runtime error: invalid memory address or nil pointer dereference".into()),
        v => Err(err(kind(v))),
    }
}

/// sprig's `chunk`: lists of `size` elements, the last one shorter. The chunk count is
/// sprig's float formula, so sizes of zero or below fail or give odd results as there.
fn chunk(size: i64, l: &[Value]) -> Result<Value, String> {
    const BAD_LEN: &str = "runtime error: makeslice: len out of range";
    let len = l.len() as i64;
    let count = ((len - 1) as f64 / size as f64).floor() + 1.0;
    if !count.is_finite() || count < 0.0 {
        return Err(BAD_LEN.into());
    }
    let count = count as i64;
    let mut out = Vec::new();
    for i in 0..count {
        let mut clen = size;
        if i == count - 1 {
            clen = (len as f64 % size as f64).floor() as i64;
            if clen == 0 {
                clen = size;
            }
        }
        if clen < 0 {
            return Err(BAD_LEN.into());
        }
        let from = i.saturating_mul(size);
        let part = (0..clen)
            .map(|j| {
                let ix = from.saturating_add(j);
                usize::try_from(ix).ok().and_then(|ix| l.get(ix)).cloned().ok_or_else(|| {
                    format!("reflect: slice index out of range")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Value::list(part));
    }
    Ok(Value::list(out))
}
