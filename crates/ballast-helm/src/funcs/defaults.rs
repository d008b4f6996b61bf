//! sprig's default and flow functions: `default`, `empty`, `coalesce`, `all`, `any`,
//! `ternary`, `deepEqual`. Emptiness follows sprig: nil, false, 0, 0.0, "" and empty
//! collections are empty; structs never are.

use ballast_gotemplate::{Args, Arity, FuncMap, Value};

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    m.pure("default", AtLeast(1), |a| match a.get(1) {
        Some(given) if !empty(given) => Ok(given.clone()),
        _ => Ok(a[0].clone()),
    });
    m.pure("empty", Exact(1), |a| Ok(Value::Bool(empty(&a[0]))));
    m.pure("coalesce", AtLeast(0), |a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    m.pure("all", AtLeast(0), |a| Ok(Value::Bool(a.iter().all(|v| !empty(v)))));
    m.pure("any", AtLeast(0), |a| Ok(Value::Bool(a.iter().any(|v| !empty(v)))));
    m.pure("ternary", Exact(3), |a| {
        Ok(if Args::bool(&a[2])? { a[0].clone() } else { a[1].clone() })
    });
    m.pure("deepEqual", Exact(2), |a| Ok(Value::Bool(deep_equal(&a[0], &a[1]))));
}

/// sprig's `empty`: the zero value of its type (a struct is never empty, a map or slice
/// type of helm's is when it has no entries).
pub(crate) fn empty(v: &Value) -> bool {
    match v {
        Value::Object(o) if matches!(o.kind(), "map" | "slice" | "array") => match v.as_map_value() {
            Value::Map(m) => m.borrow().is_empty(),
            Value::List(l) => l.is_empty(),
            _ => o.keyed_entries().is_some_and(|e| e.is_empty()),
        },
        Value::Object(_) => false,
        v => !v.truthy(),
    }
}

/// Go's `reflect.DeepEqual` on template values: the same type and deeply equal contents
/// (`1` and `1.0` differ, as do `int` and `int64`; NaN differs from itself).
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    deep_equal_at(a, b, 0)
}

fn deep_equal_at(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > 1_000 {
        return false;
    }
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Uint(x), Value::Uint(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            std::rc::Rc::ptr_eq(x, y)
                || x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal_at(p, q, depth + 1))
        }
        (Value::Map(x), Value::Map(y)) => {
            if std::rc::Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| deep_equal_at(p, q, depth + 1)))
        }
        (Value::Object(x), Value::Object(y)) => std::rc::Rc::ptr_eq(x, y),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::strings::test_support::*;
    use ballast_gotemplate::Value;

    #[test]
    fn default_treats_zero_values_as_unset() {
        let d_ = s("d");
        assert_eq!(p("default", &[d_.clone(), NIL]), "d");
        assert_eq!(p("default", &[d_.clone(), i(0)]), "d");
        assert_eq!(p("default", &[d_.clone(), Value::Bool(false)]), "d");
        assert_eq!(p("default", &[d_.clone(), s("")]), "d");
        assert_eq!(p("default", &[d_.clone(), l(vec![])]), "d");
        assert_eq!(p("default", &[d_.clone(), d(vec![])]), "d");
        assert_eq!(p("default", &[d_.clone(), s("x")]), "x");
        assert_eq!(p("default", std::slice::from_ref(&d_)), "d");
        assert_eq!(p("default", &[d_.clone(), f(0.0)]), "d");
        assert_eq!(p("default", &[d_, s("0")]), "0");
    }

    #[test]
    fn empty() {
        assert_eq!(p("empty", &[s("0")]), "false");
        assert_eq!(p("empty", &[i(0)]), "true");
        assert_eq!(p("empty", &[NIL]), "true");
        assert_eq!(p("empty", &[l(vec![])]), "true");
        assert_eq!(p("empty", &[d(vec![("a", i(1))])]), "false");
        assert_eq!(p("empty", &[Value::Bool(false)]), "true");
        assert_eq!(p("empty", &[f(0.0)]), "true");
    }

    #[test]
    fn coalesce_all_any() {
        assert_eq!(p("coalesce", &[i(0), s(""), NIL, s("a"), s("b")]), "a");
        assert_eq!(p("coalesce", &[i(0)]), "<nil>");
        assert_eq!(p("coalesce", &[]), "<nil>");
        assert_eq!(p("all", &[i(1), s("a")]), "true");
        assert_eq!(p("all", &[i(1), s("")]), "false");
        assert_eq!(p("all", &[]), "true");
        assert_eq!(p("any", &[i(0), s("")]), "false");
        assert_eq!(p("any", &[i(0), s("a")]), "true");
        assert_eq!(p("any", &[]), "false");
    }

    #[test]
    fn ternary() {
        assert_eq!(p("ternary", &[s("y"), s("n"), Value::Bool(true)]), "y");
        assert_eq!(p("ternary", &[s("y"), s("n"), Value::Bool(false)]), "n");
        assert_eq!(
            p("ternary", &[s("y"), s("n"), f(1.0)]),
            "ERR wrong type for value; expected bool; got float64"
        );
    }

    #[test]
    fn deep_equal_compares_types() {
        assert_eq!(p("deepEqual", &[i(1), i(1)]), "true");
        assert_eq!(p("deepEqual", &[i(1), f(1.0)]), "false");
        assert_eq!(p("deepEqual", &[l(vec![i(1)]), l(vec![i(1)])]), "true");
        assert_eq!(p("deepEqual", &[d(vec![("a", i(1))]), d(vec![("a", i(1))])]), "true");
        assert_eq!(p("deepEqual", &[NIL, NIL]), "true");
        assert_eq!(p("deepEqual", &[i(1), Value::Int64(1)]), "false");
    }
}
