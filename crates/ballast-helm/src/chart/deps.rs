//! Dependencies as Helm processes them before a render (`ProcessDependenciesWithMerge`):
//! aliases, tags, conditions, removal of disabled subcharts, then `import-values`.

use ballast_gotemplate::Value;

use super::{Chart, Dependency};
use crate::Error;
use crate::values::coalesce::{coalesce_tables, coalesce_values_shared, merge_maps, path_value, table};

/// The deepest chart nesting processed (a guard against pathological inputs).
const MAX_NESTING: usize = 64;

/// Whether `version` satisfies the dependency's `constraint` (Helm's `IsCompatibleRange`): an
/// empty or invalid constraint, or an invalid version, never matches.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    if constraint.trim().is_empty() {
        return false;
    }
    let Ok(v) = crate::semver::Version::parse(version) else {
        return false;
    };
    match crate::semver::Constraints::parse(constraint) {
        Ok(c) => c.check(&v),
        Err(_) => false,
    }
}

/// Enables, aliases and prunes dependencies at every level against the user's values, then
/// merges `import-values` into each parent's defaults (children first). Errors are helm's
/// (`chart dependencies processing failed: type mismatch on sub: %!t(<nil>)`).
pub fn process_dependencies(chart: &mut Chart, user: &Value) -> Result<(), Error> {
    process_enabled(chart, user, "", 0)
        .and_then(|()| process_import_values(chart, 0))
        .map_err(|e| Error(format!("chart dependencies processing failed: {}", e.0)))
}

/// A copy of the subchart matching `dep` (by name and version range), renamed to its alias.
fn alias_dependency(charts: &[Chart], dep: &Dependency) -> Option<Chart> {
    let c = charts
        .iter()
        .find(|c| c.metadata.name == dep.name && is_compatible_range(&dep.version, &c.metadata.version))?;
    let mut out = c.clone();
    if !dep.alias.is_empty() {
        out.metadata.name = dep.alias.clone();
    }
    Some(out)
}

fn process_enabled(c: &mut Chart, v: &Value, path: &str, depth: usize) -> Result<(), Error> {
    if depth > MAX_NESTING {
        return Err(Error(format!(
            "chart {} nests dependencies deeper than {MAX_NESTING} levels",
            c.metadata.name
        )));
    }
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    // Subcharts not listed (by name and compatible version) are kept as they are; listed ones
    // are replaced by their (aliased) copies.
    let mut deps: Vec<Chart> = c
        .dependencies
        .iter()
        .filter(|existing| {
            !c.metadata.dependencies.iter().any(|req| {
                existing.metadata.name == req.name && is_compatible_range(&req.version, &existing.metadata.version)
            })
        })
        .cloned()
        .collect();
    for req in &mut c.metadata.dependencies {
        if let Some(copy) = alias_dependency(&c.dependencies, req) {
            deps.push(copy);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = deps;
    for req in &mut c.metadata.dependencies {
        req.enabled = true;
    }
    // Helm coalesces the whole tree here; when only the `tags` table can be read from it (no
    // conditions, no subchart with dependencies of its own), that table alone is computed.
    let cvals = match tags_only(c, v) {
        Some(tags) => tags,
        None => coalesce_values_shared(c, v, false)?.values(),
    };
    process_tags(&mut c.metadata.dependencies, &cvals);
    process_conditions(&mut c.metadata.dependencies, &cvals, path);
    let removed: Vec<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies.retain(|d| !removed.contains(&d.metadata.name));
    c.metadata.dependencies.retain(|r| !removed.contains(&r.name));
    for sub in &mut c.dependencies {
        let subpath = format!("{path}{}.", sub.metadata.name);
        process_enabled(sub, &cvals, &subpath, depth + 1)?;
    }
    Ok(())
}

/// What [`process_tags`] and [`process_conditions`] read of `coalesce_values(c, v, false)`
/// when that is only its `tags` table: `{tags: ...}` coalesced as the whole tree would have it.
/// `None` (coalesce the whole tree) when a dependency has a condition, a subchart has
/// subcharts or dependencies of its own (the recursion reads the tree), a subchart is named
/// `tags`, or a subchart's key would not hold a map (the whole coalesce reports that error).
fn tags_only(c: &Chart, v: &Value) -> Option<Value> {
    if c.metadata
        .dependencies
        .iter()
        .any(|r| r.condition.split(',').any(|p| !p.trim().is_empty()))
        || c.dependencies
            .iter()
            .any(|d| !d.dependencies.is_empty() || !d.metadata.dependencies.is_empty() || d.metadata.name == "tags")
    {
        return None;
    }
    let get = |v: &Value, key: &str| match v {
        Value::Map(m) => m.borrow().get(key).cloned(),
        _ => None,
    };
    for d in &c.dependencies {
        let name = &d.metadata.name;
        // Absent or a map once the chart's defaults are in (a user null deletes a default).
        let ok = matches!(
            (get(v, name), get(&c.values, name)),
            (None, None | Some(Value::Map(_))) | (Some(Value::Nil), Some(_)) | (Some(Value::Map(_)), _)
        );
        if !ok {
            return None;
        }
    }
    // `coalesce_chart_values` for one key that names no subchart.
    let tags = match (get(v, "tags"), get(&c.values, "tags")) {
        (None, defaults) => defaults,
        (Some(Value::Nil), Some(_)) => None,
        (Some(user @ Value::Map(_)), Some(Value::Map(defaults))) => {
            let out = user.deep_copy();
            if let Value::Map(m) = &out {
                coalesce_tables(m, &defaults, false);
            }
            Some(out)
        }
        (Some(user), _) => Some(user),
    };
    let mut m = ballast_gotemplate::value::Map::new();
    if let Some(t) = tags {
        m.insert("tags".to_string(), t);
    }
    Some(Value::map(m))
}

/// `tags`: a dependency is disabled when none of its tags is true and one is false.
fn process_tags(reqs: &mut [Dependency], cvals: &Value) {
    let Some(Value::Map(tags)) = table(cvals, "tags") else {
        return;
    };
    let tags = tags.borrow();
    for r in reqs.iter_mut() {
        let (mut has_true, mut has_false) = (false, false);
        for t in &r.tags {
            match tags.get(t) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                _ => {}
            }
        }
        r.enabled = has_true || !has_false;
    }
}

/// `condition`: the first of its comma-separated paths that holds a bool decides.
fn process_conditions(reqs: &mut [Dependency], cvals: &Value, path: &str) {
    for r in reqs.iter_mut() {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{path}{cond}")) {
                r.enabled = b;
                break;
            }
        }
    }
}

/// `{a: {b: data}}` for the path `a.b`; `data` itself for `.`.
fn path_to_map(path: &str, data: Value) -> Value {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let mut m = ballast_gotemplate::value::Map::new();
        m.insert(part.to_string(), cur);
        cur = Value::map(m);
    }
    cur
}

fn process_import_values(c: &mut Chart, depth: usize) -> Result<(), Error> {
    if depth > MAX_NESTING {
        return Ok(());
    }
    for d in &mut c.dependencies {
        process_import_values(d, depth + 1)?;
    }
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let mut cvals = coalesce_values_shared(c, &Value::empty_map(), true)?;
    let mut b = Value::empty_map();
    for r in &mut c.metadata.dependencies {
        let mut out = Vec::new();
        for iv in &r.import_values {
            let (child, parent) = match iv {
                Value::Map(m) => {
                    let m = m.borrow();
                    // Go's `fmt.Sprintf("%v", v)`: a missing key is `<nil>`.
                    let get = |k: &str| match m.get(k) {
                        None => "<nil>".to_string(),
                        Some(v) => ballast_gotemplate::fmt::sprint_value(v),
                    };
                    (get("child"), get("parent"))
                }
                Value::String(s) => (format!("exports.{s}"), ".".to_string()),
                _ => continue,
            };
            let mut pair = ballast_gotemplate::value::Map::new();
            pair.insert("child".into(), Value::str(&child));
            pair.insert("parent".into(), Value::str(&parent));
            out.push(Value::map(pair));
            let Some(vv) = table(&cvals.values(), &format!("{}.{child}", r.name)) else {
                continue;
            };
            let imported = path_to_map(&parent, vv.deep_copy());
            b = merge_tables(&b, &imported);
        }
        r.import_values = out;
    }
    // The imports are merged into `cvals` in place (what it shares with the charts' defaults
    // is copied before it is changed).
    if let Value::Map(src) = &b {
        cvals.coalesce_tables(src, true);
    }
    c.values = cvals.values();
    Ok(())
}

/// Helm's `MergeTables(dst, src)`: `dst` wins, nulls kept.
fn merge_tables(dst: &Value, src: &Value) -> Value {
    let out = merge_maps(&Value::empty_map(), dst);
    if let (Value::Map(d), Value::Map(s)) = (&out, src) {
        coalesce_tables(d, s, true);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::coalesce::coalesce_values;
    use crate::values::tests::j;

    fn chart(name: &str, values: &str, deps: Vec<Chart>) -> Chart {
        let mut c = Chart::default();
        c.metadata.name = name.into();
        c.values = crate::yaml::parse_values(values).unwrap();
        c.metadata.dependencies = deps
            .iter()
            .map(|d| Dependency {
                name: d.metadata.name.clone(),
                tags: vec!["t1".into(), "t2".into()],
                ..Dependency::default()
            })
            .collect();
        c.dependencies = deps;
        c
    }

    /// The `tags` table [`tags_only`] computes is the one the whole coalesce holds, and it
    /// declines every case where the whole coalesce fails.
    #[test]
    fn tags_only_reads_what_the_whole_coalesce_holds() {
        let defaults = [
            "{}",
            "tags: {t1: false, t2: true}",
            "tags: {t1: true, nested: {a: 1}}",
            "tags: ~",
            "tags: 5",
            "tags: {t1: false}\nsub: {x: 1}",
            "sub: 3",
            "sub: ~",
        ];
        let users = [
            "{}",
            "tags: {t1: true}",
            "tags: {t1: ~, t2: false}",
            "tags: ~",
            "tags: [a]",
            "tags: {nested: ~}",
            "sub: ~",
            "sub: 1",
            "sub: {y: 2}\ntags: {t2: false}",
        ];
        let mut compared = 0;
        for d in defaults {
            for u in users {
                let c = chart("top", d, vec![chart("sub", "z: 1", vec![])]);
                let user = crate::yaml::parse_values(u).unwrap();
                let full = coalesce_values(&c, &user, false);
                match (tags_only(&c, &user), full) {
                    (Some(quick), Ok(full)) => {
                        let tags = |v: &Value| table(v, "tags").map(|t| j(&t));
                        assert_eq!(tags(&quick), tags(&full), "defaults {d:?}, user {u:?}");
                        compared += 1;
                    }
                    (Some(_), Err(e)) => {
                        panic!("defaults {d:?}, user {u:?}: took the quick path, whole coalesce fails: {e}")
                    }
                    (None, _) => {}
                }
            }
        }
        assert!(compared > 40, "only {compared} cases compared");
        // A condition, or a subchart with dependencies, needs the whole tree.
        let mut c = chart("top", "{}", vec![chart("sub", "{}", vec![])]);
        c.metadata.dependencies[0].condition = "sub.enabled".into();
        assert!(tags_only(&c, &Value::empty_map()).is_none());
        let c = chart("top", "{}", vec![chart("sub", "{}", vec![chart("leaf", "{}", vec![])])]);
        assert!(tags_only(&c, &Value::empty_map()).is_none());
    }
}
