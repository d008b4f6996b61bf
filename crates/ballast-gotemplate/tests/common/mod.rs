//! Helpers shared by the integration tests: values from a compact notation and a runner.

#![allow(dead_code)]

use std::rc::Rc;

use ballast_gotemplate::{Arity, FuncMap, Map, MissingKey, Templates, Value};

/// A map value from pairs.
pub fn map(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::map(m)
}

/// A list value.
pub fn list(items: Vec<Value>) -> Value {
    Value::list(items)
}

/// A string value.
pub fn s(x: &str) -> Value {
    Value::from(x)
}

/// The functions tests use besides the builtins.
pub fn funcs() -> FuncMap {
    let mut f = FuncMap::new();
    f.pure("upper", Arity::Exact(1), |a| match &a[0] {
        Value::String(s) => Ok(Value::from(s.to_uppercase())),
        _ => Err("not a string".to_string()),
    });
    f.pure("echo", Arity::AtLeast(0), |a| {
        Ok(a.first().cloned().unwrap_or_default())
    });
    f.pure("oneArg", Arity::Exact(1), |a| {
        Ok(Value::from(format!("oneArg={}", a[0])))
    });
    f.pure("twoArgs", Arity::Exact(2), |a| {
        Ok(Value::from(format!("twoArgs={}{}", a[0], a[1])))
    });
    f.pure("fail", Arity::Exact(0), |_| Err("it failed".to_string()));
    f.pure("dict", Arity::AtLeast(0), |a| {
        let mut m = Map::new();
        for p in a.chunks_exact(2) {
            m.insert(ballast_gotemplate::fmt::sprint(&p[..1]), p[1].clone());
        }
        Ok(Value::map(m))
    });
    f.pure("list", Arity::AtLeast(0), |a| Ok(Value::list(a.to_vec())));
    f.pure("float", Arity::Exact(1), |a| {
        Ok(Value::Float(a[0].as_i64().unwrap_or(0) as f64))
    });
    f.pure("add", Arity::AtLeast(0), |a| {
        Ok(Value::Int(a.iter().filter_map(Value::as_i64).sum()))
    });
    f.pure("die", Arity::Exact(0), |_| Err("die".to_string()));
    f.pure("zeroArgs", Arity::Exact(0), |_| Ok(Value::from("zeroArgs")));
    f.pure("mapOfThree", Arity::Exact(0), |_| {
        Ok(map(vec![("three", Value::Int(3))]))
    });
    f.pure("makemap", Arity::AtLeast(0), |a| {
        let mut m = Map::new();
        for p in a.chunks(2) {
            let k = p[0].as_str().unwrap_or_default().to_string();
            m.insert(k, p.get(1).cloned().unwrap_or_default());
        }
        Ok(Value::map(m))
    });
    f.insert(
        "include",
        ballast_gotemplate::Func::new(Arity::Exact(2), |env, a| {
            let name = a[0].as_str().unwrap_or_default().to_string();
            env.execute_template(&name, a[1].clone())
                .map(Value::from)
                .map_err(|e| e.message)
        }),
    );
    f.insert(
        "tpl",
        ballast_gotemplate::Func::new(Arity::Exact(2), |env, a| {
            let src = a[0].as_str().unwrap_or_default().to_string();
            env.execute_source("tpl", &src, a[1].clone())
                .map(Value::from)
                .map_err(|e| e.message)
        }),
    );
    f
}

/// Parses `src` as "t" (with missingkey=zero when `zero`) and executes it with `data`.
pub fn run_with(src: &str, data: &Value, zero: bool) -> Result<String, String> {
    let mut t = Templates::new(Rc::new(funcs()));
    if zero {
        t.missing_key(MissingKey::Zero);
    }
    t.parse("t", src).map_err(|e| e.message)?;
    t.execute("t", data).map_err(|e| e.message)
}

/// [`run_with`] with missingkey=default.
pub fn run(src: &str, data: &Value) -> Result<String, String> {
    run_with(src, data, false)
}
