//! Coalescing (Helm's `CoalesceValues`, `MergeValues`, `CoalesceTables`, `MergeTables`) and
//! value paths (`Values.Table`, `Values.PathValue`).
//!
//! Rules: the destination (user values) wins; keys only in the source (chart defaults) are
//! copied; maps are coalesced recursively; a map never replaces a scalar nor a scalar a map
//! (the destination is kept). When coalescing (not merging), a destination `null` for a key
//! the source has deletes the key (inside tables: only when the source's value is not null). Every subchart gets the map under its name, coalesced with
//! its own defaults, and the parent's `global` map copied into it (the parent's globals win).

use std::cell::RefCell;
use std::rc::Rc;

use ballast_gotemplate::Value;
use ballast_gotemplate::value::Map;

use crate::Error;
use crate::chart::Chart;

/// The key of the values copied into every subchart.
pub const GLOBAL_KEY: &str = "global";

/// How deep maps are walked; deeper tables are left as they are.
const MAX_DEPTH: usize = 256;

type MapRef = Rc<RefCell<Map>>;

/// `dst` coalesced with `src` (Helm's `coalesceTablesFullKey`): `dst` is authoritative and is
/// changed in place; keys only in `src` are copied (shared, not copied deeply).
pub fn coalesce_tables(dst: &MapRef, src: &MapRef, merge: bool) {
    coalesce_tables_at(dst, src, merge, 0);
}

fn coalesce_tables_at(dst: &MapRef, src: &MapRef, merge: bool, depth: usize) {
    if Rc::ptr_eq(dst, src) || depth > MAX_DEPTH {
        return;
    }
    let entries: Vec<(String, Value)> = src.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, val) in entries {
        let dv = dst.borrow().get(&key).cloned();
        match dv {
            None => {
                dst.borrow_mut().insert(key, val);
            }
            // A user null deletes a default, unless the default is null too.
            Some(Value::Nil) if !merge && !val.is_nil() => {
                dst.borrow_mut().remove(&key);
            }
            Some(Value::Map(dm)) => {
                if let Value::Map(sm) = &val {
                    coalesce_tables_at(&dm, sm, merge, depth + 1);
                }
            }
            Some(_) => {}
        }
    }
}

/// Deep merge (Helm's `loader.MergeMaps`, used between `-f` files): maps merge recursively,
/// anything else in `b` replaces what `a` has (`null` included). Returns a new map.
pub fn merge_maps(a: &Value, b: &Value) -> Value {
    merge_maps_at(a, b, 0)
}

fn merge_maps_at(a: &Value, b: &Value, depth: usize) -> Value {
    let mut out = match a {
        Value::Map(m) => m.borrow().clone(),
        _ => Map::new(),
    };
    if let Value::Map(bm) = b {
        for (k, v) in bm.borrow().iter() {
            let merged = match (v, out.get(k)) {
                (Value::Map(_), Some(av @ Value::Map(_))) if depth < MAX_DEPTH => merge_maps_at(av, v, depth + 1),
                _ => v.clone(),
            };
            out.insert(k.clone(), merged);
        }
    }
    Value::map(out)
}

/// Chart values coalesced with `user` values (Helm's `CoalesceValues` when `merge` is false,
/// `MergeValues` when true): a deep copy of `user` with the chart's defaults filled in, and
/// each dependency's map under its name filled with its defaults and the globals.
///
/// Fails only when a subchart's key holds a non-map (`type mismatch on sub: ...`).
pub fn coalesce_values(chart: &Chart, user: &Value, merge: bool) -> Result<Value, Error> {
    let dest = match user.deep_copy() {
        Value::Map(m) => m,
        _ => Rc::new(RefCell::new(Map::new())),
    };
    coalesce(chart, &dest, merge, 0)?;
    Ok(Value::Map(dest))
}

fn coalesce(chart: &Chart, dest: &MapRef, merge: bool, depth: usize) -> Result<(), Error> {
    coalesce_chart_values(chart, dest, merge);
    coalesce_deps(chart, dest, merge, depth)
}

/// The chart's own defaults coalesced into `v` (Helm's `coalesceValues`).
fn coalesce_chart_values(chart: &Chart, v: &MapRef, merge: bool) {
    let Value::Map(defaults) = chart.values.deep_copy() else {
        return;
    };
    let entries: Vec<(String, Value)> = defaults.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, val) in entries {
        let cur = v.borrow().get(&key).cloned();
        match cur {
            None => {
                v.borrow_mut().insert(key, val);
            }
            Some(Value::Nil) if !merge => {
                v.borrow_mut().remove(&key);
            }
            Some(Value::Map(dest)) => {
                if let Value::Map(src) = &val {
                    let child = merge || chart.dependencies.iter().any(|d| d.metadata.name == key);
                    coalesce_tables(&dest, src, child);
                }
            }
            Some(_) => {}
        }
    }
}

fn coalesce_deps(chart: &Chart, dest: &MapRef, merge: bool, depth: usize) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for sub in &chart.dependencies {
        let name = &sub.metadata.name;
        let cur = dest.borrow().get(name).cloned();
        let dv = match cur {
            None => {
                let m = Rc::new(RefCell::new(Map::new()));
                dest.borrow_mut().insert(name.clone(), Value::Map(m.clone()));
                m
            }
            Some(Value::Map(m)) => m,
            Some(other) => {
                return Err(Error(format!("type mismatch on {name}: {}", go_percent_t(&other))));
            }
        };
        coalesce_globals(&dv, dest);
        coalesce(sub, &dv, merge, depth + 1)?;
    }
    Ok(())
}

/// fmt's `%t` of any value: `true`/`false`, or `%!t(int64=1)`.
fn go_percent_t(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Nil => "%!t(<nil>)".into(),
        other => format!(
            "%!t({}={})",
            other.type_name(),
            ballast_gotemplate::fmt::sprint_value(other)
        ),
    }
}

/// The parent's `global` map (in `src`) copied into the child's (`dest`): the parent's keys
/// win; nested maps are coalesced with the parent's entries authoritative.
fn coalesce_globals(dest: &MapRef, src: &MapRef) {
    let dg = match dest.borrow().get(GLOBAL_KEY).cloned() {
        None => Rc::new(RefCell::new(Map::new())),
        Some(Value::Map(m)) => m,
        Some(_) => return,
    };
    let sg = match src.borrow().get(GLOBAL_KEY).cloned() {
        None => Rc::new(RefCell::new(Map::new())),
        Some(Value::Map(m)) => m,
        Some(_) => return,
    };
    if !Rc::ptr_eq(&dg, &sg) {
        let entries: Vec<(String, Value)> = sg.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (key, val) in entries {
            let existing = dg.borrow().get(&key).cloned();
            match (&val, existing) {
                (Value::Map(vm), existing) => {
                    let vv = Rc::new(RefCell::new(vm.borrow().clone()));
                    match existing {
                        None => {
                            dg.borrow_mut().insert(key, Value::Map(vv));
                        }
                        Some(Value::Map(dm)) => {
                            coalesce_tables(&vv, &dm, true);
                            dg.borrow_mut().insert(key, Value::Map(vv));
                        }
                        Some(_) => {}
                    }
                }
                (_, Some(Value::Map(_))) => {}
                (_, _) => {
                    dg.borrow_mut().insert(key, val);
                }
            }
        }
    }
    dest.borrow_mut().insert(GLOBAL_KEY.into(), Value::Map(dg));
}

/// The map at a dotted path (Helm's `Values.Table`): every step must be a map.
pub fn table(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v.clone();
    for part in path.split('.') {
        let next = match &cur {
            Value::Map(m) => m.borrow().get(part).cloned(),
            _ => None,
        };
        cur = next?;
        if !matches!(cur, Value::Map(_)) {
            return None;
        }
    }
    Some(cur)
}

/// The non-map value at a dotted path (Helm's `Values.PathValue`); `None` when a step is
/// missing, not a map, or the value itself is a map.
pub fn path_value(v: &Value, path: &str) -> Option<Value> {
    if path.is_empty() {
        return None;
    }
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (table(v, p)?, k),
        None => (v.clone(), path),
    };
    let Value::Map(m) = parent else {
        return None;
    };
    let found = m.borrow().get(key).cloned()?;
    if matches!(found, Value::Map(_)) {
        None
    } else {
        Some(found)
    }
}
