//! Name references: once every name is final, each field listed in the `nameReference` table
//! (builtin, plus `configurations:`) that names an object which was renamed or moved to another
//! namespace is updated. A scalar field gets the new name; a map field (`subjects` of a
//! RoleBinding, `webhooks[].clientConfig.service`) gets the new name and namespace. The candidate
//! objects are chosen as kustomize chooses them: by a previous name, by kind, by `roleRef`'s kind
//! and group, by namespace, then by the prefixes and suffixes applied.

use serde_json::{Value, json};

use super::Res;
use super::fieldspec::{self, Gvk, NameBackRef};
use crate::scope::{BuiltinScopes, Scope, Scopes};

/// What a referral candidate looks like, copied so that referrers can be edited meanwhile.
struct Candidate {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
    cluster: bool,
    /// (kind, namespace, name) of every previous identity.
    prev: Vec<(String, String, String)>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

/// Whether kustomize takes an object of this apiVersion and kind for cluster-scoped: a built-in
/// cluster-scoped kind in an API version its schema knows. Anything else, custom resources and
/// API versions newer than that schema included, counts as namespaced.
pub(crate) fn cluster_scoped(obj: &Value) -> bool {
    let (group, _) = fieldspec::group_version(obj);
    let kind = obj["kind"].as_str().unwrap_or_default();
    BuiltinScopes.scope(group, kind) == Some(Scope::Cluster)
        && super::smp::known_kind(obj["apiVersion"].as_str().unwrap_or_default(), kind)
}

fn effective(ns: &str) -> &str {
    if ns.is_empty() { "default" } else { ns }
}

/// Ids equal in namespace, where no namespace is `default`.
fn ns_equal(a: &str, b: &str) -> bool {
    effective(a) == effective(b)
}

/// Whether the shorter list is the end of the longer one (equal lengths: equal lists).
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long[long.len() - short.len()..] == *short
}

struct Referrer {
    namespace: String,
    cluster: bool,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    role_ref: Option<(String, String)>,
}

/// Rewrites every reference in `out` to a renamed object. Fails when a reference could name
/// more than one object.
pub(crate) fn fix(out: &mut [Res], table: &[NameBackRef]) -> Result<(), String> {
    let candidates: Vec<Candidate> = out
        .iter()
        .map(|r| Candidate {
            group: r.group().to_string(),
            version: fieldspec::group_version(&r.obj).1.to_string(),
            kind: r.kind().to_string(),
            name: r.name().to_string(),
            namespace: r.namespace().unwrap_or_default().to_string(),
            cluster: cluster_scoped(&r.obj),
            prev: r.prev.clone(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        })
        .collect();
    if candidates.iter().all(|c| c.prev.is_empty()) {
        return Ok(());
    }
    for r in out.iter_mut() {
        let (org_kind, group, version) = {
            let (g, v) = fieldspec::group_version(&r.obj);
            (r.org_kind().to_string(), g.to_string(), v.to_string())
        };
        let role_ref = r.obj.get("roleRef").and_then(|rr| {
            Some((
                rr.get("apiGroup")?.as_str()?.to_string(),
                rr.get("kind")?.as_str()?.to_string(),
            ))
        });
        let referrer = Referrer {
            namespace: r.namespace().unwrap_or_default().to_string(),
            cluster: cluster_scoped(&r.obj),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
            role_ref,
        };
        // Objects this one could refer to: same namespace, cluster-scoped, or (for a
        // RoleBinding) in a namespace one of its ServiceAccount subjects names.
        let subject_namespaces: Vec<String> = if r.kind() == "RoleBinding" {
            r.obj["subjects"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["kind"] == "ServiceAccount")
                .filter_map(|s| s["namespace"].as_str().map(str::to_string))
                .collect()
        } else {
            Vec::new()
        };
        let visible: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| {
                referrer.cluster
                    || c.cluster
                    || ns_equal(&c.namespace, &referrer.namespace)
                    || subject_namespaces.contains(&c.namespace)
            })
            .collect();
        for backref in table {
            for spec in &backref.specs {
                if !spec.gvk.selects(&group, &version, &org_kind) {
                    continue;
                }
                let role_ref_path = spec.path.ends_with("roleRef/name");
                let mut set = |node: &mut Value| -> Result<(), String> {
                    set_reference(node, &visible, &backref.target, role_ref_path, &referrer)
                };
                fieldspec::apply(&mut r.obj, spec, None, &mut set)?;
            }
        }
    }
    Ok(())
}

fn set_reference(
    node: &mut Value,
    visible: &[&Candidate],
    target: &Gvk,
    role_ref_path: bool,
    referrer: &Referrer,
) -> Result<(), String> {
    match node {
        Value::String(old) => {
            if let Some(c) = select(old, visible.to_vec(), target, role_ref_path, referrer, false)? {
                *node = json!(c.name);
            }
            Ok(())
        }
        Value::Object(map) => {
            let Some(old) = map.get("name").and_then(Value::as_str).map(str::to_string) else {
                return Err("path config error; no 'name' field in node".into());
            };
            let pool: Vec<&Candidate> = match map.get("namespace").and_then(Value::as_str) {
                None => visible.to_vec(),
                Some(ns) => {
                    let by_org: Vec<&Candidate> = visible
                        .iter()
                        .copied()
                        .filter(|c| {
                            let org_ns = c.prev.first().map(|p| p.1.as_str()).unwrap_or(effective(&c.namespace));
                            org_ns == effective(ns)
                        })
                        .collect();
                    if by_org.is_empty() {
                        visible.iter().copied().filter(|c| c.namespace == ns).collect()
                    } else {
                        by_org
                    }
                }
            };
            if let Some(c) = select(&old, pool, target, role_ref_path, referrer, true)? {
                if c.name == old && c.namespace.is_empty() {
                    return Ok(());
                }
                map.insert("name".into(), json!(c.name));
                if !c.namespace.is_empty() {
                    map.insert("namespace".into(), json!(c.namespace));
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                if item.is_string() || item.is_object() {
                    set_reference(item, visible, target, role_ref_path, referrer)?;
                }
            }
            Ok(())
        }
        Value::Null => Ok(()),
        _ => Err("node must be a scalar, sequence or map".into()),
    }
}

fn select<'a>(
    old: &str,
    pool: Vec<&'a Candidate>,
    target: &Gvk,
    role_ref_path: bool,
    referrer: &Referrer,
    with_namespace: bool,
) -> Result<Option<&'a Candidate>, String> {
    let prev_selected = |c: &Candidate, gvk: &Gvk| c.prev.iter().any(|(k, _, _)| gvk.selects(&c.group, &c.version, k));
    let mut found: Vec<&Candidate> = pool
        .into_iter()
        .filter(|c| c.prev.iter().any(|(_, _, n)| n == old))
        .filter(|c| prev_selected(c, target))
        .filter(|c| match (&referrer.role_ref, role_ref_path) {
            (Some((group, kind)), true) => prev_selected(
                c,
                &Gvk {
                    group: group.clone(),
                    version: String::new(),
                    kind: kind.clone(),
                },
            ),
            _ => true,
        })
        .filter(|c| {
            referrer.cluster || c.cluster || c.kind == "ServiceAccount" || ns_equal(&referrer.namespace, &c.namespace)
        })
        .collect();
    if found.len() == 1 {
        return Ok(found.pop());
    }
    let affixes = |c: &Candidate, allow_empty: bool| {
        let p = (allow_empty && (c.prefixes.is_empty() || referrer.prefixes.is_empty()))
            || same_ending(&c.prefixes, &referrer.prefixes);
        let s = (allow_empty && (c.suffixes.is_empty() || referrer.suffixes.is_empty()))
            || same_ending(&c.suffixes, &referrer.suffixes);
        p && s
    };
    found.retain(|c| affixes(c, true));
    if found.len() > 1 {
        found.retain(|c| affixes(c, false));
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => {
            let first = found[0];
            let identical = found
                .iter()
                .all(|c| c.name == first.name && (!with_namespace || c.namespace == first.namespace));
            if identical {
                Ok(Some(first))
            } else {
                let ids: Vec<String> = found
                    .iter()
                    .map(|c| format!("{}/{} in namespace {:?}", c.kind, c.name, c.namespace))
                    .collect();
                Err(format!(
                    "found multiple possible referrals for {old:?}: {}",
                    ids.join(", ")
                ))
            }
        }
    }
}
