//! sprig's list functions. Like sprig they accept any slice (a list or bytes) and build new
//! lists, never changing their input; the `must` forms and the plain forms fail alike (sprig's
//! plain forms panic, which the template reports as the same error).

use std::collections::HashMap;

use ballast_gotemplate::fmt::sprint_value;
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
        m.pure(name, Exact(1), |a| {
            Ok(items(&a[0], "Cannot find first on type")?
                .first()
                .cloned()
                .unwrap_or(Value::Nil))
        });
    }
    for name in ["last", "mustLast"] {
        m.pure(name, Exact(1), |a| {
            Ok(items(&a[0], "Cannot find last on type")?
                .last()
                .cloned()
                .unwrap_or(Value::Nil))
        });
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
            Ok(Value::list(uniq(items(&a[0], "Cannot find uniq on type")?)))
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
            Ok(Value::list(
                l.into_iter()
                    .filter(|v| !omit.iter().any(|o| deep_equal(v, o)))
                    .collect(),
            ))
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
            // reflect's Slice keeps the slice's type: a part of a `[]string` is one.
            let part = Value::list(l[start as usize..end as usize].to_vec());
            ballast_gotemplate::value::copy_type_name(&a[0], &part);
            Ok(part)
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

/// The first of each group of deeply equal elements, in order. Elements are bucketed by
/// type and printed scalar form first, so long lists of scalars cost about linear time.
fn uniq(l: Vec<Value>) -> Vec<Value> {
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        // Collections share their type's bucket: printing one could be costly (or endless).
        let shown = match &v {
            Value::List(_) | Value::Map(_) | Value::Object(_) => String::new(),
            v => sprint_value(v),
        };
        let key = format!("{}\u{0}{shown}", v.type_name());
        let bucket = seen.entry(key).or_default();
        if !bucket.iter().any(|&k| deep_equal(&v, &out[k])) {
            bucket.push(out.len());
            out.push(v);
        }
    }
    out
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
        // A Go slice type of helm's (`.Capabilities.APIVersions`), seen through reflection.
        Value::Object(o) if matches!(o.kind(), "slice" | "array") => items_with(&o.to_data(), err),
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
                usize::try_from(ix)
                    .ok()
                    .and_then(|ix| l.get(ix))
                    .cloned()
                    .ok_or_else(|| "reflect: slice index out of range".to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Value::list(part));
    }
    Ok(Value::list(out))
}

#[cfg(test)]
mod tests {
    use super::super::strings::test_support::*;

    const NIL_DEREF: &str = "ERR runtime error: invalid memory address or nil pointer dereference";

    fn l12() -> ballast_gotemplate::Value {
        l(vec![i(1), i(2)])
    }

    #[test]
    fn list_and_tuple() {
        assert_eq!(p("list", &[i(1), s("a"), NIL]), "[1 a <nil>]");
        assert_eq!(p("tuple", &[]), "[]");
    }

    #[test]
    fn append_and_prepend() {
        assert_eq!(p("append", &[l(vec![i(1)]), i(2)]), "[1 2]");
        assert_eq!(p("push", &[l(vec![]), i(2)]), "[2]");
        assert_eq!(p("append", &[s("ab"), i(2)]), "ERR Cannot push on type string");
        assert_eq!(p("mustAppend", &[NIL, i(2)]), NIL_DEREF);
        assert_eq!(p("prepend", &[l(vec![i(1)]), i(0)]), "[0 1]");
        assert_eq!(p("mustPrepend", &[i(1), i(0)]), "ERR Cannot prepend on type int");
        // The input list is not changed.
        let list = l12();
        call("append", &[list.clone(), i(3)]).unwrap();
        assert_eq!(list.to_string(), "[1 2]");
    }

    #[test]
    fn first_last_rest_initial() {
        assert_eq!(p("first", &[l12()]), "1");
        assert_eq!(p("first", &[l(vec![])]), "<nil>");
        assert_eq!(p("first", &[s("ab")]), "ERR Cannot find first on type string");
        assert_eq!(p("mustFirst", &[s("ab")]), "ERR Cannot find first on type string");
        assert_eq!(p("last", &[l12()]), "2");
        assert_eq!(p("mustLast", &[l(vec![])]), "<nil>");
        assert_eq!(p("rest", &[l(vec![i(1), i(2), i(3)])]), "[2 3]");
        assert_eq!(p("mustRest", &[l(vec![])]), "[]");
        assert_eq!(p("initial", &[l(vec![i(1), i(2), i(3)])]), "[1 2]");
        assert_eq!(p("mustInitial", &[NIL]), NIL_DEREF);
    }

    #[test]
    fn reverse_uniq_compact_without() {
        assert_eq!(p("reverse", &[l(vec![i(1), i(2), i(3)])]), "[3 2 1]");
        assert_eq!(p("mustReverse", &[s("x")]), "ERR Cannot find reverse on type string");
        let mixed = l(vec![i(1), i(2), i(1), s("1"), f(2.0), l(vec![i(1)]), l(vec![i(1)])]);
        assert_eq!(p("uniq", std::slice::from_ref(&mixed)), "[1 2 1 2 [1]]");
        assert_eq!(p("mustUniq", &[mixed]), "[1 2 1 2 [1]]");
        let sparse = l(vec![
            i(1),
            i(0),
            s(""),
            NIL,
            ballast_gotemplate::Value::Bool(false),
            s("a"),
            l(vec![]),
            d(vec![]),
        ]);
        assert_eq!(p("compact", std::slice::from_ref(&sparse)), "[1 a]");
        assert_eq!(p("mustCompact", &[sparse]), "[1 a]");
        assert_eq!(p("without", &[l(vec![i(1), i(2), i(3), i(1)]), i(1), i(3)]), "[2]");
        assert_eq!(p("mustWithout", &[l12()]), "[1 2]");
    }

    #[test]
    fn has() {
        assert_eq!(p("has", &[i(1), l12()]), "true");
        assert_eq!(p("has", &[f(1.0), l12()]), "false");
        assert_eq!(p("has", &[i(1), NIL]), "false");
        assert_eq!(p("has", &[i(1), s("abc")]), "ERR Cannot find has on type string");
        assert_eq!(p("mustHas", &[i(3), l12()]), "false");
    }

    #[test]
    fn slice() {
        let l4 = l(vec![i(1), i(2), i(3), i(4)]);
        assert_eq!(p("slice", &[l4.clone(), i(1), i(3)]), "[2 3]");
        assert_eq!(p("slice", &[l4.clone(), i(2)]), "[3 4]");
        assert_eq!(p("slice", &[l4]), "[1 2 3 4]");
        assert_eq!(p("slice", &[l(vec![]), i(1)]), "<nil>");
        assert_eq!(
            p("slice", &[l12(), i(1), i(5)]),
            "ERR reflect.Value.Slice: slice index out of bounds"
        );
        assert_eq!(p("mustSlice", &[l12(), s("1")]), "[2]");
        assert_eq!(
            p("mustSlice", &[s("ab")]),
            "ERR list should be type of slice or array but string"
        );
    }

    #[test]
    fn concat() {
        assert_eq!(p("concat", &[l12(), l(vec![i(3)]), l(vec![])]), "[1 2 3]");
        assert_eq!(p("concat", &[]), "[]");
        assert_eq!(
            p("concat", &[l(vec![i(1)]), s("ab")]),
            "ERR Cannot concat type string as list"
        );
    }

    #[test]
    fn chunk() {
        assert_eq!(
            p("chunk", &[i(2), l(vec![i(1), i(2), i(3), i(4), i(5)])]),
            "[[1 2] [3 4] [5]]"
        );
        assert_eq!(p("chunk", &[i(2), l(vec![])]), "[]");
        assert_eq!(
            p("chunk", &[i(0), l12()]),
            "ERR runtime error: makeslice: len out of range"
        );
        assert_eq!(p("mustChunk", &[i(-1), l12()]), "[]");
        assert_eq!(p("mustChunk", &[i(2), s("x")]), "ERR Cannot chunk type string");
    }

    #[test]
    fn more_edge_cases() {
        assert_eq!(p("without", &[NIL, i(1)]), NIL_DEREF);
        assert_eq!(p("compact", &[NIL]), NIL_DEREF);
        assert_eq!(p("concat", &[l(vec![i(1)]), NIL]), NIL_DEREF);
        assert_eq!(p("reverse", &[l(vec![])]), "[]");
        assert_eq!(p("uniq", &[l(vec![])]), "[]");
        let l3 = || l(vec![i(1), i(2), i(3)]);
        assert_eq!(
            p("slice", &[l3(), i(-1)]),
            "ERR reflect.Value.Slice: slice index out of bounds"
        );
        assert_eq!(
            p("slice", &[l3(), i(2), i(1)]),
            "ERR reflect.Value.Slice: slice index out of bounds"
        );
        assert_eq!(p("first", &[l(vec![NIL, i(1)])]), "<nil>");
        assert_eq!(p("chunk", &[i(3), l(vec![i(1)])]), "[[1]]");
        assert_eq!(p("chunk", &[i(-2), l(vec![i(1)])]), "[[1]]");
        assert_eq!(
            p("chunk", &[i(-1), l(vec![i(1)])]),
            "ERR runtime error: makeslice: len out of range"
        );
        assert_eq!(
            p("chunk", &[i(-2), l(vec![i(1), i(2), i(3), i(4)])]),
            "ERR runtime error: makeslice: len out of range"
        );
        assert_eq!(p("has", &[NIL, l(vec![NIL])]), "true");
    }
}
