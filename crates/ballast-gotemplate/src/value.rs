//! The values a template computes with: a small reflection model of the Go values Helm charts
//! see (`interface{}` holding nil, bool, int, int64, float64, string, `[]byte`, `[]interface{}`,
//! `map[string]interface{}` and opaque structs).
//!
//! Maps are shared and mutable, like Go maps: sprig's `set`, `unset` and `merge` change a map in
//! place and every holder sees the change (charts rely on it, across files). Lists are immutable
//! and cheap to clone.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// The entries of a Go `map[string]interface{}`, kept in key order (Go prints and ranges maps
/// sorted by key).
pub type Map = BTreeMap<String, Value>;

/// A Go value as a template sees it.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's nil: an absent map key, a YAML `null`, an untyped `nil`.
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int`: template integer constants, `len`, `atoi`, `int`.
    Int(i64),
    /// `int64`: sprig arithmetic results, `--set` integers.
    Int64(i64),
    /// `uint64`.
    Uint(u64),
    /// `float64`: every number read from YAML or JSON values.
    Float(f64),
    /// `string`.
    String(Rc<str>),
    /// `[]byte`.
    Bytes(Rc<[u8]>),
    /// `[]interface{}` (also stands for `[]string`, printed the same way).
    List(Rc<Vec<Value>>),
    /// `map[string]interface{}`, shared and mutable.
    Map(Rc<RefCell<Map>>),
    /// A Go struct or pointer with fields and methods (`.Files`, `.Capabilities`, certificates).
    Object(Rc<dyn Object>),
}

/// A Go struct or pointer the template can read fields of and call methods on.
pub trait Object {
    /// The Go type name as `%T` and `typeOf` print it, e.g. `*chart.Metadata`.
    fn type_name(&self) -> String;
    /// The Go kind as `kindOf` prints it (`struct` or `ptr`).
    fn kind(&self) -> &'static str {
        "ptr"
    }
    /// A field, or a method that takes no arguments; `None` if the type has neither.
    fn field(&self, name: &str) -> Option<Value>;
    /// A method called with arguments; `None` if the type has no such method.
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let _ = (name, args);
        None
    }
    /// How fmt's `%v` prints it.
    fn fmt_go(&self) -> String;
    /// How fmt's `%#v` prints it, where that is not `%v`'s way (`None`, the default).
    fn fmt_go_sharp(&self) -> Option<String> {
        None
    }
    /// How an action prints it (text/template's `printableValue`): a pointer as what it
    /// points to, and a value reached through fields (addressable) with the `String` method of
    /// its pointer. The default: as `%v` prints it.
    fn fmt_print(&self) -> String {
        self.fmt_go()
    }
    /// What a function receives for it as an argument: Go passes a copy in an `interface{}`,
    /// which is not addressable, so methods of its pointer (`String`) no longer apply. `None`
    /// (the default) when that is the same value.
    fn boxed(&self) -> Option<Value> {
        None
    }
    /// The value as encoding/json sees it (for `toJson`, `toYaml`); `Nil` if it marshals to null.
    fn to_data(&self) -> Value;
    /// For a Go map type (e.g. Helm's `.Files`, a `map[string][]byte`): its entries, which
    /// `range`, `len` and `index` use as a map's; `None` (the default) for a struct or pointer.
    fn entries(&self) -> Option<Map> {
        None
    }
    /// For a Go map whose keys are not strings (e.g. struct keys): its entries in Go's sorted
    /// key order; `range` gives each key as the index value, `len` counts them. `None` (the
    /// default) for every other type.
    fn keyed_entries(&self) -> Option<Vec<(Value, Value)>> {
        None
    }
    /// For a Go map type whose values are not `interface{}` (helm's `map[string]string`):
    /// the zero value `index` gives for a missing key. `None` (the default): nil.
    fn zero_element(&self) -> Option<Value> {
        None
    }
    /// For a Go struct: its JSON fields in declaration order, as encoding/json writes them
    /// (`toJson` keeps struct order where a map's keys are sorted); `None` (the default) to
    /// encode [`Object::to_data`].
    fn json_fields(&self) -> Option<Vec<(String, Value)>> {
        None
    }
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::String(Rc::from(s))
    }
    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }
    /// A fresh map value.
    pub fn map(entries: Map) -> Value {
        Value::Map(Rc::new(RefCell::new(entries)))
    }
    /// An empty fresh map value.
    pub fn empty_map() -> Value {
        Value::map(Map::new())
    }

    /// True for [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Go's truth for `if`, `with`, `and`, `or`, `not`: false, 0, nil, "" and empty
    /// collections are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(o) => match o.keyed_entries() {
                Some(e) => !e.is_empty(),
                None => o.entries().is_none_or(|e| !e.is_empty()),
            },
        }
    }

    /// The Go type name as `%T` and sprig's `typeOf` print it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Uint(_) => "uint64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(l) => list_type_name(l).into(),
            Value::Map(m) => map_type_name(m).into(),
            Value::Object(o) => o.type_name(),
        }
    }

    /// The Go kind as sprig's `kindOf` prints it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint(_) => "uint64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind(),
        }
    }

    /// The string inside a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// An integer value of any integer kind, as i64.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            Value::Uint(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// An [`Object`] of a Go map type as the map of its entries, one of a Go slice type (helm's
    /// `VersionSet`) as the list of its data; any other value as it is.
    pub fn as_map_value(&self) -> Value {
        match self {
            Value::Object(o) if matches!(o.kind(), "slice" | "array") => o.to_data(),
            Value::Object(o) => o.entries().map(Value::map).unwrap_or_else(|| self.clone()),
            v => v.clone(),
        }
    }

    /// A deep copy: maps are copied, so changes to the copy do not reach the original.
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::Map(m) => {
                // The tree cloned as it is (no sort and no search to rebuild it), then the
                // maps and lists in it copied in turn.
                let mut copy = m.borrow().clone();
                for v in copy.values_mut() {
                    if matches!(v, Value::Map(_) | Value::List(_)) {
                        *v = v.deep_copy();
                    }
                }
                Value::map(copy)
            }
            Value::List(l) => Value::list(l.iter().map(Value::deep_copy).collect()),
            v => v.clone(),
        }
    }
}

impl fmt::Display for Value {
    /// fmt's `%v`, as `fmt.Sprint` prints a single value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::fmt::sprint_value(self))
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Int64(i) => write!(f, "Int64({i})"),
            Value::Uint(u) => write!(f, "Uint({u})"),
            Value::Float(x) => write!(f, "Float({x:?})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Bytes(b) => write!(f, "Bytes({b:?})"),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.borrow().iter()).finish(),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(Rc::from(s))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::list(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deep copy holds the same entries, and no map of it is a map of the original, at
    /// any depth (inside lists too); scalars and strings are shared as they are.
    #[test]
    fn deep_copy_shares_no_map() {
        let inner = Value::map(Map::from([("x".to_string(), Value::Int(1))]));
        let in_list = Value::map(Map::from([("y".to_string(), Value::str("s"))]));
        let original = Value::map(Map::from([
            ("a".to_string(), inner.clone()),
            ("b".to_string(), Value::list(vec![in_list.clone(), Value::Nil])),
            ("c".to_string(), Value::Float(2.5)),
            ("d".to_string(), Value::empty_map()),
        ]));
        let copy = original.deep_copy();
        assert_eq!(format!("{copy:?}"), format!("{original:?}"));
        let get = |v: &Value, k: &str| match v {
            Value::Map(m) => m.borrow().get(k).cloned().unwrap_or_default(),
            _ => Value::Nil,
        };
        let (Value::Map(copied_inner), Value::Map(inner)) = (get(&copy, "a"), inner) else {
            panic!("maps");
        };
        assert!(!Rc::ptr_eq(&copied_inner, &inner));
        copied_inner.borrow_mut().insert("x".into(), Value::Int(2));
        assert_eq!(format!("{:?}", get(&original, "a")), r#"{"x": Int(1)}"#);
        let Value::List(list) = get(&copy, "b") else {
            panic!("a list");
        };
        let (Value::Map(copied), Value::Map(orig)) = (&list[0], &in_list) else {
            panic!("maps");
        };
        assert!(!Rc::ptr_eq(copied, orig));
        let (Value::Map(a), Value::Map(b)) = (get(&copy, "d"), get(&original, "d")) else {
            panic!("maps");
        };
        assert!(!Rc::ptr_eq(&a, &b));
    }
}

/// Go type names given to shared values by address ([`name_map_type`], [`name_list_type`]),
/// each value held by a weak reference: while named, no other value can have its address (the
/// allocation stays until its last weak reference goes), and one changed in place by
/// `Rc::make_mut` is copied first.
struct TypeNames<T>(std::collections::HashMap<usize, (std::rc::Weak<T>, &'static str)>);

impl<T> TypeNames<T> {
    /// Most values named on a thread at once (past it, new ones keep their plain Go type).
    const MAX: usize = 1 << 16;

    fn new() -> TypeNames<T> {
        TypeNames(std::collections::HashMap::new())
    }
    fn name(&mut self, v: &Rc<T>, name: &'static str) {
        if self.0.len() < Self::MAX {
            self.0.insert(Rc::as_ptr(v) as usize, (Rc::downgrade(v), name));
        }
    }
    fn of(&self, v: &Rc<T>) -> Option<&'static str> {
        self.0.get(&(Rc::as_ptr(v) as usize)).map(|(_, t)| *t)
    }
}

thread_local! {
    /// Maps that stand for a named Go map type during an execution on this thread (helm's
    /// `common.Values`): see [`name_map_type`].
    static MAP_TYPE_NAMES: RefCell<TypeNames<RefCell<Map>>> = RefCell::new(TypeNames::new());
    /// Lists that stand for a Go slice of another element type (`[]string` of `splitList`,
    /// `[]int` of `until`): see [`name_list_type`].
    static LIST_TYPE_NAMES: RefCell<TypeNames<Vec<Value>>> = RefCell::new(TypeNames::new());
}

/// Has `%T`, `%#v`, `typeOf` and type errors name map `m` as Go type `name` (a named type
/// whose underlying type is `map[string]interface {}`, such as helm's `common.Values`) on
/// this thread, until [`forget_map_types`].
pub fn name_map_type(m: &Value, name: &'static str) {
    if let Value::Map(m) = m {
        MAP_TYPE_NAMES.with(|n| n.borrow_mut().name(m, name));
    }
}

/// Has `%T`, `%#v`, `typeOf` and type errors name list `l` as Go slice type `name` (`[]string`,
/// `[]int`) on this thread, until [`forget_map_types`]. Its printing and elements are those of
/// any list.
pub fn name_list_type(l: &Value, name: &'static str) {
    if let Value::List(l) = l {
        LIST_TYPE_NAMES.with(|n| n.borrow_mut().name(l, name));
    }
}

/// Gives `copy` (a copy of `original`: `deepCopy`, Go's `slice`) the Go type name
/// `original` has, if [`name_map_type`] or [`name_list_type`] gave it one.
pub fn copy_type_name(original: &Value, copy: &Value) {
    match (original, copy) {
        (Value::Map(m), Value::Map(c)) => MAP_TYPE_NAMES.with(|n| {
            let mut n = n.borrow_mut();
            if let Some(name) = n.of(m) {
                n.name(c, name);
            }
        }),
        (Value::List(l), Value::List(c)) => LIST_TYPE_NAMES.with(|n| {
            let mut n = n.borrow_mut();
            if let Some(name) = n.of(l) {
                n.name(c, name);
            }
        }),
        _ => {}
    }
}

/// Forgets the names given by [`name_map_type`] and [`name_list_type`] on this thread.
pub fn forget_map_types() {
    MAP_TYPE_NAMES.with(|n| n.borrow_mut().0.clear());
    LIST_TYPE_NAMES.with(|n| n.borrow_mut().0.clear());
}

fn list_type_name(l: &Rc<Vec<Value>>) -> &'static str {
    LIST_TYPE_NAMES.with(|n| n.borrow().of(l)).unwrap_or("[]interface {}")
}

fn map_type_name(m: &Rc<RefCell<Map>>) -> &'static str {
    MAP_TYPE_NAMES
        .with(|n| n.borrow().of(m))
        .unwrap_or("map[string]interface {}")
}
