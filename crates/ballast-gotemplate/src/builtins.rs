//! Go's builtin template functions (`text/template/funcs.go`): `and`, `or`, `not`, `len`,
//! `index`, `slice`, `print`, `printf`, `println`, `html`, `js`, `urlquery`, `call` and the
//! comparisons, with Go's error texts. `and`/`or` short-circuit in the executor.

use crate::fmt::{sprint, sprintf, sprintln};
use crate::func::Arity;
use crate::value::Value;

/// A builtin function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Html,
    Js,
    Urlquery,
    Call,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Builtin {
    pub fn from_name(name: &str) -> Option<Builtin> {
        Some(match name {
            "and" => Builtin::And,
            "or" => Builtin::Or,
            "not" => Builtin::Not,
            "len" => Builtin::Len,
            "index" => Builtin::Index,
            "slice" => Builtin::Slice,
            "print" => Builtin::Print,
            "printf" => Builtin::Printf,
            "println" => Builtin::Println,
            "html" => Builtin::Html,
            "js" => Builtin::Js,
            "urlquery" => Builtin::Urlquery,
            "call" => Builtin::Call,
            "eq" => Builtin::Eq,
            "ne" => Builtin::Ne,
            "lt" => Builtin::Lt,
            "le" => Builtin::Le,
            "gt" => Builtin::Gt,
            "ge" => Builtin::Ge,
            _ => return None,
        })
    }

    /// The arity of the Go function's signature.
    pub fn arity(self) -> Arity {
        match self {
            Builtin::And | Builtin::Or | Builtin::Call | Builtin::Index | Builtin::Slice | Builtin::Printf => {
                Arity::AtLeast(1)
            }
            Builtin::Eq => Arity::AtLeast(1),
            Builtin::Print | Builtin::Println | Builtin::Html | Builtin::Js | Builtin::Urlquery => Arity::AtLeast(0),
            Builtin::Not | Builtin::Len => Arity::Exact(1),
            Builtin::Ne | Builtin::Lt | Builtin::Le | Builtin::Gt | Builtin::Ge => Arity::Exact(2),
        }
    }
}

/// Calls a builtin other than `and`/`or` with evaluated arguments.
pub(crate) fn call(b: Builtin, a: &[Value]) -> Result<Value, String> {
    match b {
        Builtin::And => Ok(a.iter().find(|v| !v.truthy()).or(a.last()).cloned().unwrap_or_default()),
        Builtin::Or => Ok(a.iter().find(|v| v.truthy()).or(a.last()).cloned().unwrap_or_default()),
        Builtin::Not => Ok(Value::Bool(!a[0].truthy())),
        Builtin::Len => length(&a[0]).map(|n| Value::Int(n as i64)),
        Builtin::Index => index(&a[0], &a[1..]),
        Builtin::Slice => slice(&a[0], &a[1..]),
        Builtin::Print => Ok(Value::from(sprint(a))),
        Builtin::Printf => {
            let f = a[0].as_str().unwrap_or_default();
            Ok(Value::from(sprintf(f, &a[1..])))
        }
        Builtin::Println => Ok(Value::from(sprintln(a))),
        Builtin::Html => Ok(Value::from(html_escape(&eval_args(a)))),
        Builtin::Js => Ok(Value::from(js_escape(&eval_args(a)))),
        Builtin::Urlquery => Ok(Value::from(query_escape(&eval_args(a)))),
        Builtin::Call => {
            if a[0].is_nil() {
                Err("call of nil".into())
            } else {
                Err(format!("non-function {} of type {}", a[0], a[0].type_name()))
            }
        }
        Builtin::Eq => {
            if a.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            eq(&a[0], &a[1..]).map(Value::Bool)
        }
        Builtin::Ne => eq(&a[0], &a[1..2]).map(|t| Value::Bool(!t)),
        Builtin::Lt => lt(&a[0], &a[1]).map(Value::Bool),
        Builtin::Le => le(&a[0], &a[1]).map(Value::Bool),
        Builtin::Gt => le(&a[0], &a[1]).map(|t| Value::Bool(!t)),
        Builtin::Ge => lt(&a[0], &a[1]).map(|t| Value::Bool(!t)),
    }
}

fn length(v: &Value) -> Result<usize, String> {
    match v {
        Value::Nil => Err("len of nil pointer".into()),
        Value::String(s) => Ok(s.len()),
        Value::Bytes(b) => Ok(b.len()),
        Value::List(l) => Ok(l.len()),
        Value::Map(m) => Ok(m.borrow().len()),
        Value::Object(o) if o.entries().is_some() => length(&v.as_map_value()),
        Value::Object(o) if o.keyed_entries().is_some() => Ok(o.keyed_entries().map_or(0, |e| e.len())),
        // A Go slice or map type of the host (helm's `VersionSet`): its data's length.
        Value::Object(o) if matches!(o.kind(), "slice" | "array" | "map") => length(&o.to_data()),
        other => Err(format!("len of type {}", other.type_name())),
    }
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x: i128 = match index {
        Value::Int(i) | Value::Int64(i) => *i as i128,
        Value::Uint(u) => *u as i128,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => return Err(format!("cannot index slice/array with type {}", other.type_name())),
    };
    if x < 0 || x > cap as i128 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    let zero_of = |v: &Value| match v {
        Value::Object(o) => o.zero_element(),
        _ => None,
    };
    let mut zero = zero_of(item);
    let mut item = item.as_map_value();
    for ix in indexes {
        let next = match &item {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::List(l) => {
                let x = index_arg(ix, l.len())?;
                l.get(x).cloned().ok_or("reflect: slice index out of range")?
            }
            Value::Bytes(b) => {
                let x = index_arg(ix, b.len())?;
                Value::Int(*b.get(x).ok_or("reflect: slice index out of range")? as i64)
            }
            Value::String(s) => {
                let x = index_arg(ix, s.len())?;
                Value::Int(*s.as_bytes().get(x).ok_or("reflect: string index out of range")? as i64)
            }
            Value::Map(m) => {
                let key = match ix {
                    Value::String(k) => k.clone(),
                    Value::Nil => return Err("value is nil; should be of type string".into()),
                    other => return Err(format!("value has type {}; should be string", other.type_name())),
                };
                let found = m.borrow().get(&*key).cloned();
                found.unwrap_or_else(|| zero.clone().unwrap_or_default())
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
        zero = zero_of(&next);
        item = next.as_map_value();
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let data = item.as_map_value();
    let item = &data;
    let len = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        Value::Bytes(b) => b.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0usize, len, len];
    for (i, ix) in indexes.iter().enumerate() {
        idx[i] = index_arg(ix, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(s) => Value::from(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned()),
        Value::List(l) => {
            // A slice of a `[]string` is a `[]string`.
            let part = Value::list(l[idx[0]..idx[1]].to_vec());
            crate::value::copy_type_name(item, &part);
            part
        }
        Value::Bytes(b) => Value::Bytes(b[idx[0]..idx[1]].into()),
        _ => Value::Nil,
    })
}

/// Go's `evalArgs`: one string as is, otherwise `fmt.Sprint` with nil printed `<no value>`.
fn eval_args(a: &[Value]) -> String {
    if let [Value::String(s)] = a {
        return s.to_string();
    }
    let mapped: Vec<Value> = a
        .iter()
        .map(|v| {
            if v.is_nil() {
                Value::from("<no value>")
            } else {
                v.clone()
            }
        })
        .collect();
    sprint(&mapped)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x80 => out.push(c),
            c if crate::fmt::is_go_printable(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Uint(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

const BAD_COMPARISON: &str = "incompatible types for comparison";
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

fn incompatible(a: &Value, b: &Value) -> String {
    format!("{BAD_COMPARISON}: {} and {}", a.type_name(), b.type_name())
}

fn eq(a: &Value, rest: &[Value]) -> Result<bool, String> {
    let k1 = basic_kind(a);
    for b in rest {
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            match (a, b) {
                (Value::Int(x) | Value::Int64(x), Value::Uint(u))
                | (Value::Uint(u), Value::Int(x) | Value::Int64(x)) => *x >= 0 && *x as u64 == *u,
                _ => {
                    if !a.is_nil() && !b.is_nil() {
                        return Err(incompatible(a, b));
                    }
                    a.is_nil() && b.is_nil()
                }
            }
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                (Value::Uint(x), Value::Uint(y)) => x == y,
                (Value::Nil, Value::Nil) => true,
                (Value::Nil, _) | (_, Value::Nil) => false,
                (Value::Map(_), Value::Map(_))
                | (Value::List(_), Value::List(_))
                | (Value::Bytes(_), Value::Bytes(_)) => {
                    return Err(format!(
                        "non-comparable type {}: {}",
                        sprintf("%s", std::slice::from_ref(b)),
                        b.type_name()
                    ));
                }
                // Go maps and slices cannot be compared, but a nil one compares as nil.
                (Value::Object(x), Value::Object(o)) if matches!(o.kind(), "map" | "slice") => {
                    let (x_nil, o_nil) = (x.to_data().is_nil(), o.to_data().is_nil());
                    if x_nil || o_nil {
                        x_nil == o_nil
                    } else {
                        return Err(format!(
                            "non-comparable type {}: {}",
                            sprintf("%s", std::slice::from_ref(b)),
                            b.type_name()
                        ));
                    }
                }
                (Value::Object(x), Value::Object(y)) => {
                    std::ptr::addr_eq(std::rc::Rc::as_ptr(x), std::rc::Rc::as_ptr(y))
                }
                _ => {
                    return Err(format!(
                        "non-comparable types {}: {}, {}: {}",
                        sprintf("%s", std::slice::from_ref(a)),
                        a.type_name(),
                        b.type_name(),
                        b
                    ));
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let k1 = basic_kind(a);
    if k1 == Kind::Invalid {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    let k2 = basic_kind(b);
    if k2 == Kind::Invalid {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    if k1 != k2 {
        return match (a, b) {
            (Value::Int(x) | Value::Int64(x), Value::Uint(u)) => Ok(*x < 0 || (*x as u64) < *u),
            (Value::Uint(u), Value::Int(x) | Value::Int64(x)) => Ok(*x >= 0 && *u < *x as u64),
            _ => Err(incompatible(a, b)),
        };
    }
    Ok(match (a, b) {
        (Value::Bool(_), _) => return Err(BAD_COMPARISON_TYPE.into()),
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        (Value::Uint(x), Value::Uint(y)) => x < y,
        _ => false,
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}
