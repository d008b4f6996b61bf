//! Functions a template can call: the registry ([`FuncMap`]), the calling convention
//! ([`Func`], [`Env`]) and typed argument access with Go's error messages ([`Args`]).
//!
//! Go checks a function's existence when a template is parsed and its arity when it is
//! called ("wrong number of args for upper: want 1 got 2"); both use [`Arity`]. A function
//! returns `Err(message)` for Go's "error calling NAME: message".

use std::collections::HashMap;
use std::rc::Rc;

use crate::value::Value;

/// What a function receives besides its arguments: access to the executing template set, for
/// functions such as Helm's `include` and `tpl`.
pub trait Env {
    /// Executes the named template (a `define`d name or a file) with `data` as `.` and `$`,
    /// and returns its output.
    fn execute_template(&mut self, name: &str, data: Value) -> Result<String, crate::Error>;
    /// Parses `src` as a template named `name` in a clone of the current set (its `define`s
    /// do not leak into the set), executes it with `data`, and returns its output.
    fn execute_source(&mut self, name: &str, src: &str, data: Value) -> Result<String, crate::Error>;
}

/// A function's implementation.
pub type FuncImpl = dyn Fn(&mut dyn Env, &[Value]) -> Result<Value, String>;

/// How many arguments a function takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exact(usize),
    /// At least this many (a Go variadic function with this many fixed parameters).
    AtLeast(usize),
}

/// A registered function.
#[derive(Clone)]
pub struct Func {
    /// Its arity, checked before each call.
    pub arity: Arity,
    /// The implementation.
    pub f: Rc<FuncImpl>,
    /// Registered with [`Func::pure`]: no [`Env`], no effect but its result, so that it may
    /// be called again (to find which argument a type error is about).
    pub pure: bool,
    /// The arguments (by index, the piped value last) whose Go parameter type is
    /// `map[string]interface {}` ([`Func::with_map_params`]): a literal `nil` there is a nil
    /// map, which the function takes, but a nil read out of a map or variable (an empty
    /// `interface{}`) does not fit, and the call fails before it is made, as in Go.
    pub map_params: std::ops::Range<usize>,
}

impl Func {
    /// A function of fixed or variadic arity.
    pub fn new(arity: Arity, f: impl Fn(&mut dyn Env, &[Value]) -> Result<Value, String> + 'static) -> Func {
        Func {
            arity,
            f: Rc::new(f),
            pure: false,
            map_params: 0..0,
        }
    }
    /// This function, its arguments `params` (`1..usize::MAX`: every one but the first) being
    /// of Go type `map[string]interface {}` (see [`Func::map_params`]).
    pub fn with_map_params(self, params: std::ops::Range<usize>) -> Func {
        Func {
            map_params: params,
            ..self
        }
    }
    /// A function that needs no [`Env`] and has no effect but its result.
    pub fn pure(arity: Arity, f: impl Fn(&[Value]) -> Result<Value, String> + 'static) -> Func {
        Func {
            pure: true,
            ..Func::new(arity, move |_, a| f(a))
        }
    }
}

/// Functions by name. Go's builtins (`and`, `or`, `not`, `len`, `index`, `slice`, `print`,
/// `printf`, `println`, `eq`, ... ) are always present and need not be registered; a name
/// registered here replaces a builtin of the same name, as in Go's `Funcs`.
#[derive(Clone, Default)]
pub struct FuncMap {
    /// foldhash: the parser looks up every identifier of a template here, and names are short.
    funcs: HashMap<&'static str, Func, foldhash::fast::RandomState>,
}

impl FuncMap {
    /// An empty map (builtins only).
    pub fn new() -> FuncMap {
        FuncMap::default()
    }
    /// Adds or replaces a function.
    pub fn insert(&mut self, name: &'static str, f: Func) {
        self.funcs.insert(name, f);
    }
    /// Adds a function that needs no [`Env`].
    pub fn pure(&mut self, name: &'static str, arity: Arity, f: impl Fn(&[Value]) -> Result<Value, String> + 'static) {
        self.insert(name, Func::pure(arity, f));
    }
    /// The function of that name, if registered.
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.funcs.get(name)
    }
    /// Registered names.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.funcs.keys().copied()
    }
}

/// Typed access to arguments, with the messages Go's reflection gives when a value does not
/// fit a parameter's type ("wrong type for value; expected string; got int"). A function that
/// returns such a message unchanged gets Go's report of it: at the argument, not as "error
/// calling NAME" (and for a constant argument in Go's words, "expected string; found 1").
pub struct Args;

impl Args {
    fn wrong(expected: &str, got: &Value) -> String {
        if got.is_nil() {
            format!("invalid value; expected {expected}")
        } else {
            format!("wrong type for value; expected {expected}; got {}", got.type_name())
        }
    }
    /// A `string` parameter.
    pub fn string(v: &Value) -> Result<&str, String> {
        v.as_str().ok_or_else(|| Args::wrong("string", v))
    }
    /// An `int` parameter: template integer constants and `int` values fit; `int64` and
    /// `float64` values do not, as in Go.
    pub fn int(v: &Value) -> Result<i64, String> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => Err(Args::wrong("int", v)),
        }
    }
    /// An `int64` parameter: integer constants and `int64` values fit.
    pub fn int64(v: &Value) -> Result<i64, String> {
        match v {
            Value::Int(i) | Value::Int64(i) => Ok(*i),
            _ => Err(Args::wrong("int64", v)),
        }
    }
    /// A `float64` parameter: constants of any number kind and `float64` values fit.
    pub fn float64(v: &Value) -> Result<f64, String> {
        match v {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            _ => Err(Args::wrong("float64", v)),
        }
    }
    /// A `string` parameter read as Go reads a string: its bytes. Besides strings, a
    /// [`Value::Bytes`] fits: it stands for a Go string holding bytes that are not UTF-8
    /// (Helm's `.Files.Get` of a binary file, sprig's `toString` of such bytes).
    pub fn bytes(v: &Value) -> Result<&[u8], String> {
        match v {
            Value::String(s) => Ok(s.as_bytes()),
            Value::Bytes(b) => Ok(b),
            _ => Err(Args::wrong("string", v)),
        }
    }
    /// A `bool` parameter.
    pub fn bool(v: &Value) -> Result<bool, String> {
        match v {
            Value::Bool(b) => Ok(*b),
            _ => Err(Args::wrong("bool", v)),
        }
    }
    /// A `map[string]interface{}` parameter (a nil map is accepted as an empty one).
    pub fn map(v: &Value) -> Result<Value, String> {
        match v {
            Value::Map(_) => Ok(v.clone()),
            _ => Err(Args::wrong("map[string]interface {}", v)),
        }
    }
    /// A `[]interface{}` parameter.
    pub fn list(v: &Value) -> Result<Rc<Vec<Value>>, String> {
        match v {
            Value::List(l) => Ok(l.clone()),
            _ => Err(Args::wrong("[]interface {}", v)),
        }
    }
}
