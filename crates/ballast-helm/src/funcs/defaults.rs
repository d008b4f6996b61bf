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
    m.pure("coalesce", AtLeast(0), |a| Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil)));
    m.pure("all", AtLeast(0), |a| Ok(Value::Bool(a.iter().all(|v| !empty(v)))));
    m.pure("any", AtLeast(0), |a| Ok(Value::Bool(a.iter().any(|v| !empty(v)))));
    m.pure("ternary", Exact(3), |a| Ok(if Args::bool(&a[2])? { a[0].clone() } else { a[1].clone() }));
    m.pure("deepEqual", Exact(2), |a| Ok(Value::Bool(deep_equal(&a[0], &a[1]))));
}

/// sprig's `empty`: the zero value of its type (a struct is never empty).
pub(crate) fn empty(v: &Value) -> bool {
    match v {
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
    if depth > 10_000 {
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
                && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| deep_equal_at(p, q, depth + 1)))
        }
        (Value::Object(x), Value::Object(y)) => std::rc::Rc::ptr_eq(x, y),
        _ => false,
    }
}
