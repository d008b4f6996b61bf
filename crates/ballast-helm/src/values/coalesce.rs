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

/// Which maps of the tree a coalesce builds it may change in place.
///
/// `All`: every one (the tree is a deep copy: the user values and each chart's defaults are
/// copied before they are merged, as helm does). `Made`: only the maps this coalesce made or
/// copied, listed by address and held here (so that no other map takes the address of one
/// the tree has dropped); any other map is shared with the values given or a chart's defaults,
/// and is replaced in its parent by a copy of its first level before it is changed. A tree
/// built this way reads as the deep-copied one: the maps helm's coalescing changes through
/// more than one path (the `global` maps a subchart takes from its parent) are made the
/// coalesce's own before they are shared ([`Owned::own_deeply`]), so a change reaches every
/// path as it does in helm; the maps still shared with chart defaults are never changed.
enum Owned {
    All,
    Made(std::collections::HashMap<usize, MapRef>),
}

fn address(m: &MapRef) -> usize {
    Rc::as_ptr(m) as *const () as usize
}

impl Owned {
    /// A new map, this coalesce's own.
    fn fresh(&mut self, m: Map) -> MapRef {
        let m = Rc::new(RefCell::new(m));
        if let Owned::Made(made) = self {
            made.insert(address(&m), m.clone());
        }
        m
    }
    fn owns(&self, m: &MapRef) -> bool {
        match self {
            Owned::All => true,
            Owned::Made(made) => made.contains_key(&address(m)),
        }
    }
    /// The map held at `key` of `parent` (a map this coalesce owns), made this coalesce's own
    /// (copied, first level only, into `parent` if it was not). `None` if `key` holds no map.
    fn child(&mut self, parent: &MapRef, key: &str) -> Option<MapRef> {
        let Some(Value::Map(m)) = parent.borrow().get(key).cloned() else {
            return None;
        };
        if self.owns(&m) {
            return Some(m);
        }
        let copy = self.fresh(m.borrow().clone());
        parent.borrow_mut().insert(key.to_string(), Value::Map(copy.clone()));
        Some(copy)
    }
    /// [`Owned::child`], and every map beneath it made this coalesce's own as well.
    fn own_deeply(&mut self, parent: &MapRef, key: &str, depth: usize) -> Option<MapRef> {
        let m = self.child(parent, key)?;
        if matches!(self, Owned::Made(_)) && depth < MAX_DEPTH {
            let keys: Vec<String> = m
                .borrow()
                .iter()
                .filter(|(_, v)| matches!(v, Value::Map(_)))
                .map(|(k, _)| k.clone())
                .collect();
            for k in keys {
                self.own_deeply(&m, &k, depth + 1);
            }
        }
        Some(m)
    }
}

/// `dst` coalesced with `src` (Helm's `coalesceTablesFullKey`): `dst` is authoritative and is
/// changed in place; keys only in `src` are copied (shared, not copied deeply).
pub fn coalesce_tables(dst: &MapRef, src: &MapRef, merge: bool) {
    coalesce_tables_at(&mut Owned::All, dst, src, merge, 0);
}

/// [`coalesce_tables`] into `dst`, a map `own` owns.
fn coalesce_tables_at(own: &mut Owned, dst: &MapRef, src: &MapRef, merge: bool, depth: usize) {
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
            Some(Value::Map(_)) => {
                if let Value::Map(sm) = &val
                    && let Some(dm) = own.child(dst, &key)
                {
                    coalesce_tables_at(own, &dm, sm, merge, depth + 1);
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
    coalesce(&mut Owned::All, chart, &dest, merge, 0)?;
    Ok(Value::Map(dest))
}

/// What [`coalesce_values`] gives, built without copying what it does not change: its maps
/// may be those of `user` and of the charts' defaults, so it is to be read, not changed, except
/// through [`Coalesced::coalesce_tables`]. For the trees helm coalesces only to read (a
/// dependency's `condition` and `tags`, `import-values`), which would otherwise copy every
/// chart's defaults each time.
pub fn coalesce_values_shared(chart: &Chart, user: &Value, merge: bool) -> Result<Coalesced, Error> {
    let mut own = Owned::Made(Default::default());
    let top = match user {
        Value::Map(m) => m.borrow().clone(),
        _ => Map::new(),
    };
    let dest = own.fresh(top);
    coalesce(&mut own, chart, &dest, merge, 0)?;
    Ok(Coalesced { own, values: dest })
}

/// A tree of values built by [`coalesce_values_shared`].
pub struct Coalesced {
    own: Owned,
    values: MapRef,
}

impl Coalesced {
    /// The tree, to be read.
    pub fn values(&self) -> Value {
        Value::Map(self.values.clone())
    }
    /// [`coalesce_tables`] of `src` into the tree.
    pub fn coalesce_tables(&mut self, src: &MapRef, merge: bool) {
        coalesce_tables_at(&mut self.own, &self.values, src, merge, 0);
    }
}

fn coalesce(own: &mut Owned, chart: &Chart, dest: &MapRef, merge: bool, depth: usize) -> Result<(), Error> {
    coalesce_chart_values(own, chart, dest, merge);
    coalesce_deps(own, chart, dest, merge, depth)
}

/// The chart's own defaults coalesced into `v` (Helm's `coalesceValues`), a map `own` owns:
/// a deep copy of them when `own` is to own everything, else the defaults themselves.
fn coalesce_chart_values(own: &mut Owned, chart: &Chart, v: &MapRef, merge: bool) {
    let defaults = match own {
        Owned::All => chart.values.deep_copy(),
        Owned::Made(_) => chart.values.clone(),
    };
    let Value::Map(defaults) = defaults else {
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
            Some(Value::Map(_)) => {
                if let Value::Map(src) = &val {
                    let child = merge || chart.dependencies.iter().any(|d| d.metadata.name == key);
                    if let Some(dest) = own.child(v, &key) {
                        coalesce_tables_at(own, &dest, src, child, 0);
                    }
                }
            }
            Some(_) => {}
        }
    }
}

fn coalesce_deps(own: &mut Owned, chart: &Chart, dest: &MapRef, merge: bool, depth: usize) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for sub in &chart.dependencies {
        let name = &sub.metadata.name;
        let cur = dest.borrow().get(name).cloned();
        let dv = match cur {
            None => {
                let m = own.fresh(Map::new());
                dest.borrow_mut().insert(name.clone(), Value::Map(m.clone()));
                m
            }
            Some(Value::Map(_)) => own.child(dest, name).expect("a map"),
            Some(other) => {
                return Err(Error(format!("type mismatch on {name}: {}", go_percent_t(&other))));
            }
        };
        coalesce_globals(own, &dv, dest);
        coalesce(own, sub, &dv, merge, depth + 1)?;
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
/// win; nested maps are coalesced with the parent's entries authoritative. Both are maps `own`
/// owns; the parent's nested global maps, which the child's then shares (helm copies the first
/// level only), are made `own`'s before.
fn coalesce_globals(own: &mut Owned, dest: &MapRef, src: &MapRef) {
    let dg = match dest.borrow().get(GLOBAL_KEY).cloned() {
        None => None,
        Some(Value::Map(_)) => Some(()),
        Some(_) => return,
    };
    let dg = match dg {
        None => own.fresh(Map::new()),
        Some(()) => own.child(dest, GLOBAL_KEY).expect("a map"),
    };
    let sg = match src.borrow().get(GLOBAL_KEY).cloned() {
        None => None,
        Some(Value::Map(_)) => Some(()),
        Some(_) => return,
    };
    let sg = match sg {
        None => own.fresh(Map::new()),
        Some(()) => own.own_deeply(src, GLOBAL_KEY, 0).expect("a map"),
    };
    if !Rc::ptr_eq(&dg, &sg) {
        let entries: Vec<(String, Value)> = sg.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (key, val) in entries {
            let existing = dg.borrow().get(&key).cloned();
            match (&val, existing) {
                (Value::Map(vm), existing) => {
                    let vv = own.fresh(vm.borrow().clone());
                    match existing {
                        None => {
                            dg.borrow_mut().insert(key, Value::Map(vv));
                        }
                        Some(Value::Map(dm)) => {
                            coalesce_tables_at(own, &vv, &dm, true, 0);
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
