//! sprig's dict functions. Maps are shared like Go maps: `set`, `unset`, `merge` and
//! `mergeOverwrite` change the destination in place and return it. Merging follows mergo:
//! nested maps merge deeply; `merge` fills only missing or empty keys; `mergeOverwrite`
//! replaces every key the source has (with its value, even an empty or nil one), while nested
//! maps still merge key by key.

use std::cell::RefCell;
use std::rc::Rc;

use ballast_gotemplate::{Args, Arity, FuncMap, Map, Value};

use super::strings::strval;

/// The deepest nesting `merge` and `deepCopy` follow (a map that holds itself would otherwise
/// recurse without end).
const MAX_DEPTH: usize = 1_000;

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    m.pure("dict", AtLeast(0), |a| {
        let mut map = Map::new();
        for pair in a.chunks(2) {
            map.insert(strval(&pair[0]), pair.get(1).cloned().unwrap_or_else(|| Value::str("")));
        }
        Ok(Value::map(map))
    });
    m.pure("get", Exact(2), |a| {
        let key = Args::string(&a[1])?;
        Ok(map_arg(&a[0])?
            .and_then(|d| d.borrow().get(key).cloned())
            .unwrap_or_else(|| Value::str("")))
    });
    m.pure("set", Exact(3), |a| {
        crate::funcs::crypto::ahead::probe_forbids_change()?;
        let key = Args::string(&a[1])?;
        let d = map_arg(&a[0])?.ok_or("assignment to entry in nil map")?;
        d.borrow_mut().insert(key.to_string(), a[2].clone());
        Ok(Value::Map(d))
    });
    m.pure("unset", Exact(2), |a| {
        crate::funcs::crypto::ahead::probe_forbids_change()?;
        let key = Args::string(&a[1])?;
        match map_arg(&a[0])? {
            Some(d) => {
                d.borrow_mut().remove(key);
                Ok(Value::Map(d))
            }
            None => Ok(Value::empty_map()),
        }
    });
    m.pure("hasKey", Exact(2), |a| {
        let key = Args::string(&a[1])?;
        Ok(Value::Bool(
            map_arg(&a[0])?.is_some_and(|d| d.borrow().contains_key(key)),
        ))
    });
    m.pure("pluck", AtLeast(1), |a| {
        let key = Args::string(&a[0])?;
        let mut out = Vec::new();
        for d in &a[1..] {
            if let Some(v) = map_arg(d)?.and_then(|d| d.borrow().get(key).cloned()) {
                out.push(v);
            }
        }
        Ok(Value::list(out))
    });
    m.pure("keys", AtLeast(0), |a| {
        let mut out = Vec::new();
        for d in a {
            if let Some(d) = map_arg(d)? {
                out.extend(d.borrow().keys().map(|k| Value::str(k)));
            }
        }
        Ok(Value::list(out))
    });
    m.pure("values", Exact(1), |a| {
        Ok(Value::list(
            map_arg(&a[0])?
                .map(|d| d.borrow().values().cloned().collect())
                .unwrap_or_default(),
        ))
    });
    m.pure("pick", AtLeast(1), |a| {
        let d = map_arg(&a[0])?;
        let mut out = Map::new();
        for k in &a[1..] {
            let k = Args::string(k)?;
            if let Some(v) = d.as_ref().and_then(|d| d.borrow().get(k).cloned()) {
                out.insert(k.to_string(), v);
            }
        }
        Ok(Value::map(out))
    });
    m.pure("omit", AtLeast(1), |a| {
        let d = map_arg(&a[0])?;
        let omit = a[1..].iter().map(Args::string).collect::<Result<Vec<_>, _>>()?;
        let out: Map = match d {
            Some(d) => d
                .borrow()
                .iter()
                .filter(|(k, _)| !omit.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            None => Map::new(),
        };
        Ok(Value::map(out))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        m.pure(name, AtLeast(1), move |a| {
            crate::funcs::crypto::ahead::probe_forbids_change()?;
            let srcs = a[1..].iter().map(map_arg).collect::<Result<Vec<_>, _>>()?;
            let mut dst = map_arg(&a[0])?;
            for src in srcs.into_iter().flatten() {
                let d = dst.get_or_insert_with(|| Rc::new(RefCell::new(Map::new())));
                merge_into(d, &src, overwrite, 0)?;
            }
            Ok(dst.map_or_else(Value::empty_map, Value::Map))
        });
    }
    m.pure("dig", AtLeast(0), |a| {
        if a.len() < 3 {
            return Err("dig needs at least three arguments".into());
        }
        let mut cur = dict_of(&a[a.len() - 1])?;
        let default = &a[a.len() - 2];
        let keys = &a[..a.len() - 2];
        for (i, k) in keys.iter().enumerate() {
            let Value::String(k) = k else {
                return Err(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    go_type(k)
                ));
            };
            let step = match cur.borrow().get(&**k) {
                None => return Ok(default.clone()),
                Some(v) => v.clone(),
            };
            if i + 1 == keys.len() {
                return Ok(step);
            }
            cur = dict_of(&step)?;
        }
        Ok(default.clone())
    });
    // Their `map[string]interface {}` parameters (see `Func::map_params`).
    for (name, maps) in [
        ("get", 0..1),
        ("set", 0..1),
        ("unset", 0..1),
        ("hasKey", 0..1),
        ("pluck", 1..usize::MAX),
        ("keys", 0..usize::MAX),
        ("values", 0..1),
        ("pick", 0..1),
        ("omit", 0..1),
        ("merge", 0..usize::MAX),
        ("mustMerge", 0..usize::MAX),
        ("mergeOverwrite", 0..usize::MAX),
        ("mustMergeOverwrite", 0..usize::MAX),
    ] {
        if let Some(f) = m.get(name).cloned() {
            m.insert(name, f.with_map_params(maps));
        }
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        m.pure(name, Exact(1), |a| {
            if a[0].is_nil() {
                return Err("reflect: call of reflect.Value.Type on zero Value".into());
            }
            deep_copy(&a[0], 0)
        });
    }
}

/// A `map[string]interface{}` parameter; `None` for Go's nil map.
fn map_arg(v: &Value) -> Result<Option<Rc<RefCell<Map>>>, String> {
    match v {
        Value::Nil => Ok(None),
        Value::Map(m) => Ok(Some(m.clone())),
        v => Args::map(v).map(|_| None),
    }
}

fn go_type(v: &Value) -> String {
    if v.is_nil() { "nil".into() } else { v.type_name() }
}

/// `v.(map[string]interface{})`, failing as Go's type assertion does. A map helm holds as
/// `common.Values` (`.`, `.Values`) passes here, where Go's assertion fails: its type is
/// known by address only, and the same map passed through `merge` or `set` is a plain map in
/// Go, which must pass.
fn dict_of(v: &Value) -> Result<Rc<RefCell<Map>>, String> {
    match v {
        Value::Map(m) => Ok(m.clone()),
        v => Err(format!(
            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
            go_type(v)
        )),
    }
}

/// mergo's emptiness (the zero value, looking through interfaces).
fn is_empty(v: &Value) -> bool {
    !matches!(v, Value::Object(_)) && !v.truthy()
}

/// mergo's `deepMerge` of one map into another, in place.
fn merge_into(dst: &Rc<RefCell<Map>>, src: &Rc<RefCell<Map>>, overwrite: bool, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("maps nested deeper than {MAX_DEPTH} levels"));
    }
    // Copy the source entries first: the source may be the destination itself.
    let entries: Vec<(String, Value)> = src.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, sv) in entries {
        let dv = dst.borrow().get(&key).cloned();
        if sv.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(key, Value::Nil);
            }
            continue;
        }
        if let (Value::Map(s), Some(Value::Map(d))) = (&sv, &dv)
            && !Rc::ptr_eq(s, d)
        {
            merge_into(d, s, overwrite, depth + 1)?;
        }
        if let Some(d) = &dv
            && !is_empty(d)
            && (matches!(sv, Value::List(_) | Value::Bytes(_)) && !overwrite
                || matches!((&sv, d), (Value::Map(_), Value::Map(_))))
        {
            continue;
        }
        if overwrite || dv.as_ref().is_none_or(is_empty) {
            dst.borrow_mut().insert(key, sv);
        }
    }
    Ok(())
}

/// copystructure's `Copy`: maps and lists copied all the way down.
fn deep_copy(v: &Value, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("deepCopy error: values nested deeper than {MAX_DEPTH} levels"));
    }
    let copy = match v {
        Value::Map(m) => {
            let entries: Vec<(String, Value)> = m.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let mut out = Map::new();
            for (k, x) in entries {
                out.insert(k, deep_copy(&x, depth + 1)?);
            }
            Value::map(out)
        }
        Value::List(l) => Value::list(l.iter().map(|x| deep_copy(x, depth + 1)).collect::<Result<_, _>>()?),
        v => return Ok(v.clone()),
    };
    // copystructure keeps Go types: a copy of `.Values` is a `common.Values`.
    ballast_gotemplate::value::copy_type_name(v, &copy);
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::super::strings::test_support::*;
    use ballast_gotemplate::Value;

    #[test]
    fn dict() {
        assert_eq!(p("dict", &[s("a"), i(1), s("b")]), "map[a:1 b:]");
        assert_eq!(p("dict", &[i(1), i(2), NIL, i(3)]), "map[1:2 <nil>:3]");
        assert_eq!(p("dict", &[]), "map[]");
    }

    #[test]
    fn get_set_unset_has_key() {
        let m = d(vec![("a", i(1))]);
        assert_eq!(p("get", &[m.clone(), s("a")]), "1");
        assert_eq!(p("get", &[m.clone(), s("zz")]), "");
        assert_eq!(p("get", &[NIL, s("zz")]), "");
        // set changes the map in place and returns it.
        assert_eq!(p("set", &[m.clone(), s("b"), i(2)]), "map[a:1 b:2]");
        assert_eq!(m.to_string(), "map[a:1 b:2]");
        assert_eq!(p("set", &[NIL, s("x"), i(1)]), "ERR assignment to entry in nil map");
        assert_eq!(p("unset", &[m.clone(), s("a")]), "map[b:2]");
        assert_eq!(m.to_string(), "map[b:2]");
        assert_eq!(p("unset", &[NIL, s("a")]), "map[]");
        assert_eq!(p("hasKey", &[m.clone(), s("b")]), "true");
        assert_eq!(p("hasKey", &[NIL, s("a")]), "false");
        assert_eq!(
            p("hasKey", &[s("x"), s("a")]),
            "ERR wrong type for value; expected map[string]interface {}; got string"
        );
    }

    /// Executes `src` with `.Values` an empty map, giving the output or the error's text.
    fn run(src: &str) -> String {
        let mut set = ballast_gotemplate::Templates::new(std::rc::Rc::new(funcs()));
        set.missing_key(ballast_gotemplate::MissingKey::Zero)
            .parse("t", src)
            .unwrap();
        let mut top = ballast_gotemplate::Map::new();
        top.insert("Values".into(), Value::empty_map());
        set.execute("t", &Value::map(top)).unwrap_or_else(|e| e.message)
    }

    #[test]
    fn a_nil_read_from_a_map_is_not_a_map_argument() {
        let wrong = "wrong type for value; expected map[string]interface {}; got interface {}";
        for (src, at) in [
            (r#"{{ pick .Values.nope "a" }}"#, "1:15"),
            (r#"{{ get .Values.nope "a" }}"#, "1:14"),
            (r#"{{ hasKey .Values.nope "a" }}"#, "1:17"),
            (r#"{{ keys (dict) .Values.nope }}"#, "1:22"),
            (r#"{{ pluck "a" (dict) .Values.nope }}"#, "1:27"),
            (r#"{{ merge (dict) .Values.nope }}"#, "1:23"),
            // The map parameter comes first: its error before the key's.
            (r#"{{ get .Values.nope 1 }}"#, "1:14"),
        ] {
            let got = run(src);
            assert!(got.contains(&format!("t:{at}")) && got.ends_with(wrong), "{src}: {got}");
        }
        // A key of the wrong type before the map is reported first.
        assert!(run(r#"{{ pluck 1 .Values.nope }}"#).ends_with("expected string; found 1"));
        // A literal nil is a nil map; a piped nil too (Go unwraps the pipeline's value).
        assert_eq!(
            run(r#"{{ pick nil "a" }}|{{ hasKey nil "a" }}|{{ .Values.nope | keys }}"#),
            "map[]|false|[]"
        );
    }

    #[test]
    fn go_slice_types_of_results() {
        assert_eq!(
            run(
                r#"{{ typeOf (splitList "," "a") }} {{ typeOf (until 2) }} {{ typeOf (keys (dict)) }} {{ typeOf (list 1) }}"#
            ),
            "[]string []int []string []interface {}"
        );
        // Kept by a copy and a slice, not by a list made anew.
        assert_eq!(
            run(
                r#"{{ $l := sortAlpha (list "b" "a") }}{{ typeOf (deepCopy $l) }} {{ typeOf (slice $l 1) }} {{ typeOf (append $l "c") }} {{ typeOf (deepCopy .Values) }}"#
            ),
            "[]string []string []interface {} map[string]interface {}"
        );
        assert_eq!(
            run(r#"{{ printf "%#v %#v" (splitList "," "a,b") (list "a" nil) }}"#),
            r#"[]string{"a", "b"} []interface {}{"a", interface {}(nil)}"#
        );
        assert!(run(r#"{{ splitList "," "a" | trunc 1 }}"#).ends_with("expected string; got []string"));
    }

    #[test]
    fn pluck_keys_values_pick_omit() {
        let ps = [s("a"), d(vec![("a", i(1))]), d(vec![("b", i(2))]), d(vec![("a", i(3))])];
        assert_eq!(p("pluck", &ps), "[1 3]");
        assert_eq!(
            p("keys", &[d(vec![("b", i(1)), ("a", i(2))]), d(vec![("c", i(3))])]),
            "[a b c]"
        );
        assert_eq!(p("keys", &[]), "[]");
        assert_eq!(p("values", &[d(vec![("a", i(1))])]), "[1]");
        let abc = || d(vec![("a", i(1)), ("b", i(2)), ("c", i(3))]);
        assert_eq!(p("pick", &[abc(), s("a"), s("c"), s("z")]), "map[a:1 c:3]");
        assert_eq!(p("omit", &[abc(), s("a"), s("z")]), "map[b:2 c:3]");
    }

    #[test]
    fn merge_fills_missing_and_empty_keys_in_place() {
        let dst = d(vec![
            ("a", i(1)),
            ("b", d(vec![("c", i(1))])),
            ("e", s("")),
            ("z", i(0)),
            ("l", l(vec![i(1)])),
            ("n", s("x")),
        ]);
        let src = d(vec![
            ("a", i(2)),
            ("b", d(vec![("c", i(2)), ("d", i(2))])),
            ("e", s("E")),
            ("z", i(5)),
            ("l", l(vec![i(2)])),
            ("n", d(vec![("q", i(1))])),
            ("new", NIL),
            ("new2", i(3)),
        ]);
        let want = "map[a:1 b:map[c:1 d:2] e:E l:[1] n:x new2:3 z:5]";
        assert_eq!(p("merge", &[dst.clone(), src]), want);
        assert_eq!(dst.to_string(), want);
        assert_eq!(p("mustMerge", &[NIL, d(vec![("a", i(1))])]), "map[a:1]");
        assert_eq!(p("merge", &[d(vec![("a", i(1))]), NIL]), "map[a:1]");
        assert_eq!(
            p("merge", &[d(vec![("a", l(vec![]))]), d(vec![("a", l(vec![i(1)]))])]),
            "map[a:[1]]"
        );
        // Merging a map into itself terminates.
        let own = d(vec![("a", d(vec![("b", i(1))]))]);
        assert_eq!(p("merge", &[own.clone(), own]), "map[a:map[b:1]]");
    }

    #[test]
    fn merge_overwrite_replaces_with_any_source_value() {
        let dst = d(vec![
            ("a", i(1)),
            ("b", d(vec![("c", i(1))])),
            ("e", s("x")),
            ("l", l(vec![i(1)])),
            ("n", s("x")),
            ("k", i(1)),
            ("t", Value::Bool(true)),
        ]);
        let src = d(vec![
            ("a", i(2)),
            ("b", d(vec![("c", i(2)), ("d", i(2))])),
            ("e", s("")),
            ("l", l(vec![i(2)])),
            ("n", d(vec![("q", i(1))])),
            ("k", NIL),
            ("new2", i(3)),
            ("t", Value::Bool(false)),
        ]);
        let want = "map[a:2 b:map[c:2 d:2] e: k:<nil> l:[2] n:map[q:1] new2:3 t:false]";
        assert_eq!(p("mergeOverwrite", &[dst.clone(), src]), want);
        assert_eq!(dst.to_string(), want);
        assert_eq!(p("mustMergeOverwrite", &[d(vec![]), d(vec![("x", i(1))])]), "map[x:1]");
    }

    #[test]
    fn dig() {
        let ab = || d(vec![("a", d(vec![("b", i(1))]))]);
        assert_eq!(p("dig", &[s("a"), s("b"), s("def"), ab()]), "1");
        assert_eq!(p("dig", &[s("a"), s("x"), s("def"), ab()]), "def");
        assert_eq!(
            p("dig", &[s("a"), s("b"), s("def"), d(vec![("a", i(1))])]),
            "ERR interface conversion: interface {} is int, not map[string]interface {}"
        );
        assert_eq!(p("dig", &[s("a"), s("def")]), "ERR dig needs at least three arguments");
        assert_eq!(
            p("dig", &[s("a"), s("def"), s("x")]),
            "ERR interface conversion: interface {} is string, not map[string]interface {}"
        );
        assert_eq!(
            p("dig", &[i(1), s("def"), d(vec![("a", i(1))])]),
            "ERR interface conversion: interface {} is int, not string"
        );
    }

    #[test]
    fn deep_copy_is_independent() {
        let a = d(vec![("x", d(vec![("y", i(1))]))]);
        let b = call("deepCopy", std::slice::from_ref(&a)).unwrap();
        let Value::Map(bm) = &b else { panic!("not a map") };
        let inner = bm.borrow().get("x").cloned().unwrap();
        call("set", &[inner, s("y"), i(2)]).unwrap();
        assert_eq!(a.to_string(), "map[x:map[y:1]]");
        assert_eq!(b.to_string(), "map[x:map[y:2]]");
        assert_eq!(
            p("mustDeepCopy", &[NIL]),
            "ERR reflect: call of reflect.Value.Type on zero Value"
        );
    }

    #[test]
    fn more_merge_cases() {
        let cases = [
            (
                "mergeOverwrite",
                d(vec![("a", d(vec![("b", i(1))]))]),
                d(vec![("a", d(vec![]))]),
                "map[a:map[b:1]]",
            ),
            (
                "merge",
                d(vec![("a", NIL)]),
                d(vec![("a", d(vec![("b", i(1))]))]),
                "map[a:map[b:1]]",
            ),
            ("merge", d(vec![("a", d(vec![]))]), d(vec![("a", s("x"))]), "map[a:x]"),
            (
                "mergeOverwrite",
                d(vec![("a", d(vec![("x", i(1))]))]),
                d(vec![("a", s("s"))]),
                "map[a:s]",
            ),
            (
                "merge",
                d(vec![("a", s("x"))]),
                d(vec![("a", l(vec![i(1)]))]),
                "map[a:x]",
            ),
            (
                "merge",
                d(vec![("a", i(0))]),
                d(vec![("a", Value::Bool(false))]),
                "map[a:false]",
            ),
            (
                "mergeOverwrite",
                d(vec![("a", l(vec![i(1), i(2)]))]),
                d(vec![("a", l(vec![]))]),
                "map[a:[]]",
            ),
            (
                "merge",
                d(vec![("a", l(vec![]))]),
                d(vec![("a", l(vec![]))]),
                "map[a:[]]",
            ),
        ];
        for (name, dst, src, want) in cases {
            assert_eq!(p(name, &[dst, src]), want, "{name}");
        }
        let three = [d(vec![]), d(vec![("a", i(1))]), d(vec![("a", i(2)), ("b", i(3))])];
        assert_eq!(p("merge", &three), "map[a:1 b:3]");
    }

    #[test]
    fn nil_maps_read_as_empty() {
        assert_eq!(p("pick", &[NIL, s("a")]), "map[]");
        assert_eq!(p("omit", &[NIL, s("a")]), "map[]");
        assert_eq!(p("values", &[NIL]), "[]");
        assert_eq!(p("dict", &[s("a")]), "map[a:]");
        assert_eq!(
            p("pluck", &[s("a"), d(vec![("a", i(1))]), s("x")]),
            "ERR wrong type for value; expected map[string]interface {}; got string"
        );
    }
}
