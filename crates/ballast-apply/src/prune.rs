//! Prune: delete what the previous inventory owned and the desired state no longer has — and
//! nothing else.
//!
//! An object is deleted only when all of these hold:
//! - it is in the previous inventory and not desired any more (the caller's stale list);
//! - it is not the same live object (same UID) as one applied in this sync under another API
//!   group or version (an Ingress moved from `extensions` to `networking.k8s.io` is one object);
//! - its owner labels name this unit (ownership by inclusion: no label, no delete);
//! - Ballast's field manager still manages it, and it is not annotated
//!   `kustomize.toolkit.fluxcd.io/prune: disabled`;
//! - it is not protected: a system namespace or Ballast's own (never), a CRD while custom
//!   resources of it exist that this prune does not delete, a Namespace while it holds objects
//!   this prune does not delete (unless allowed by [`ALLOW_PROTECTED_ANNOTATION`] on the object
//!   or by the caller);
//! - the prune as a whole stays within the deletion budget, or was approved.
//!
//! Every delete carries the UID read before it as a precondition, so an object recreated under
//! the same name in the meantime is never deleted in its place.

use std::collections::{BTreeMap, HashMap, HashSet};

use ballast_core::{Action, Change, ChangeSet, ObjectRef, Step};
use ballast_kube::{Cluster, KubeError};
use ballast_plan::{ManagedFields, prune_order};
use serde_json::Value;

/// Per-object opt-out, as in Flux: an object annotated with this key set to `disabled` is never
/// pruned (it is dropped from the inventory and left in the cluster).
pub const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";

/// Per-object opt-in: `"true"` lets prune delete this object even though it is protected (a CRD
/// whose custom resources still exist, a Namespace holding objects of others). System namespaces
/// and Ballast's own are never deleted.
pub const ALLOW_PROTECTED_ANNOTATION: &str = "ballast.dev/allow-protected-prune";

/// Namespaces prune never deletes, whatever the annotations and flags.
pub const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// How many deletions one sync may make without an approval. A prune is over budget when it
/// deletes more than `max_objects` objects *and* more than `max_percent` percent of the unit's
/// inventory; `max_objects == 0` disables the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneBudget {
    /// Deletions allowed whatever the inventory's size (0: no budget).
    pub max_objects: usize,
    /// Share of the inventory, in percent, that may be deleted beyond `max_objects`.
    pub max_percent: u32,
}

impl Default for PruneBudget {
    fn default() -> Self {
        PruneBudget {
            max_objects: 10,
            max_percent: 25,
        }
    }
}

impl PruneBudget {
    /// No budget: any number of deletions.
    pub const DISABLED: PruneBudget = PruneBudget {
        max_objects: 0,
        max_percent: 0,
    };

    /// True if deleting `deletions` objects of an inventory of `owned` exceeds the budget.
    pub fn exceeded(&self, deletions: usize, owned: usize) -> bool {
        self.max_objects > 0
            && deletions > self.max_objects
            && (deletions as u128) * 100 > (self.max_percent as u128) * (owned as u128)
    }

    /// `"10"` (objects, default percentage) or `"10,25%"`; `"0"` disables.
    pub fn parse(text: &str) -> Result<PruneBudget, String> {
        let bad = || format!("prune budget {text:?}: expected <objects> or <objects>,<percent>% (0 disables)");
        let (objects, percent) = match text.split_once(',') {
            Some((o, p)) => (o.trim(), Some(p.trim().trim_end_matches('%'))),
            None => (text.trim(), None),
        };
        let max_objects = objects.parse().map_err(|_| bad())?;
        let max_percent = match percent {
            Some(p) => p.parse().ok().filter(|p| *p <= 100).ok_or_else(bad)?,
            None => PruneBudget::default().max_percent,
        };
        Ok(PruneBudget {
            max_objects,
            max_percent,
        })
    }
}

impl std::fmt::Display for PruneBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.max_objects == 0 {
            f.write_str("no budget")
        } else {
            write!(f, "{},{}%", self.max_objects, self.max_percent)
        }
    }
}

/// What prune needs besides the stale list.
pub(crate) struct PruneScope<'a> {
    /// Labels naming this unit; an object must carry all of them, with these values.
    pub owner_labels: &'a BTreeMap<String, String>,
    /// UIDs of the objects applied in this sync, with the reference they were applied under.
    pub applied: &'a HashMap<String, ObjectRef>,
    /// Delete protected objects too (never system namespaces or `own_namespaces`).
    pub allow_protected: bool,
    /// Namespaces never deleted besides [`SYSTEM_NAMESPACES`] (Ballast's own).
    pub own_namespaces: &'a [String],
    /// The deletion budget, and whether this prune was approved beyond it.
    pub budget: PruneBudget,
    /// The prune was approved for this revision: the budget does not apply.
    pub approved: bool,
    /// Size of the unit's previous inventory (the budget's percentage base).
    pub owned: usize,
}

/// The result of planning a prune: the steps, and the budget message when the prune was held
/// back (every would-be deletion is then a `Keep` step).
pub(crate) struct PrunePlan {
    pub steps: Vec<Step>,
    pub over_budget: Option<String>,
}

/// Prune steps for stale inventory entries, in reverse apply order. Objects already gone are
/// left out; the rest are `Prune`, `Skip` (dropped from the inventory) or `Keep` (kept in the
/// cluster and in the inventory) steps with a reason.
pub(crate) async fn plan_prunes(
    cluster: &Cluster,
    mut stale: Vec<ObjectRef>,
    scope: &PruneScope<'_>,
) -> Result<PrunePlan, KubeError> {
    prune_order(&mut stale);
    if stale.iter().any(|r| r.is_crd() || r.is_namespace()) {
        // What a Namespace may hold, or which custom resources a CRD serves, is read from
        // discovery: make it current (CRDs created by others since this process started).
        cluster.refresh().await?;
    }
    let mut steps = Vec::new();
    // Objects this prune deletes, by group/kind/namespace/name: a Namespace or CRD is protected
    // by everything else it holds.
    let mut deleting: HashSet<(String, String, Option<String>, String)> = HashSet::new();
    for mut r in stale {
        if !cluster.serves(&r) {
            // Recorded under a version the server no longer serves: find the object by another.
            match cluster.served_version(&r) {
                Some(v) => r.version = v,
                None => {
                    steps.push(step(r, Action::Skip, None, "its kind is no longer served"));
                    continue;
                }
            }
        }
        let Some(live) = cluster.get(&r).await? else {
            continue;
        };
        let uid = live.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("");
        let annotation = |key: &str| {
            live.pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if let Some(same) = scope.applied.get(uid) {
            let reason = format!("the same object as {same}, applied as {}", same.api_version());
            steps.push(step(r, Action::Skip, Some(live), &reason));
            continue;
        }
        if ballast_plan::policy::reconcile_disabled(None, Some(&live)) {
            let reason = format!("{}: disabled", ballast_plan::policy::RECONCILE_ANNOTATION);
            steps.push(step(r, Action::Skip, Some(live), &reason));
            continue;
        }
        if annotation(PRUNE_ANNOTATION).is_some_and(|v| v.eq_ignore_ascii_case("disabled")) {
            let reason = format!("{PRUNE_ANNOTATION}: disabled");
            steps.push(step(r, Action::Skip, Some(live), &reason));
            continue;
        }
        if let Some(why) = not_ours(&live, scope.owner_labels) {
            steps.push(step(r, Action::Skip, Some(live), &why));
            continue;
        }
        if !ManagedFields::of(&live).manages(cluster.field_manager()) {
            steps.push(step(r, Action::Skip, Some(live), "no longer managed by ballast"));
            continue;
        }
        if r.is_namespace() && (SYSTEM_NAMESPACES.contains(&r.name.as_str()) || scope.own_namespaces.contains(&r.name))
        {
            steps.push(step(r, Action::Keep, Some(live), "a system namespace is never pruned"));
            continue;
        }
        let allowed = scope.allow_protected || allowed_by_annotation(&live);
        if !allowed {
            let held = if r.is_crd() {
                custom_resources_held(cluster, &live, &deleting).await?
            } else if r.is_namespace() {
                namespace_held(cluster, &r.name, &deleting).await?
            } else {
                None
            };
            if let Some(why) = held {
                let reason = format!(
                    "protected: {why} (to delete it anyway, annotate it {ALLOW_PROTECTED_ANNOTATION}=true, or its Kustomization, or sync with --allow-protected-prune)"
                );
                steps.push(step(r, Action::Keep, Some(live), &reason));
                continue;
            }
        }
        deleting.insert((r.group.clone(), r.kind.clone(), r.namespace.clone(), r.name.clone()));
        steps.push(Step {
            object: r,
            action: Action::Prune,
            desired: None,
            live: Some(live),
            reason: None,
            fields: Vec::new(),
        });
    }
    let deletions = steps.iter().filter(|s| s.action == Action::Prune).count();
    let mut over_budget = None;
    if !scope.approved && scope.budget.exceeded(deletions, scope.owned) {
        let message = format!(
            "prune budget exceeded: {deletions} deletions of {} owned objects is more than {} objects and {}% of the inventory; nothing was deleted. Approve this revision's prune (sync --approve-prune, or the Kustomization annotation ballast.dev/approve-prune=<revision>), or raise the budget (--prune-budget, ballast.dev/prune-budget)",
            scope.owned, scope.budget.max_objects, scope.budget.max_percent
        );
        for s in steps.iter_mut().filter(|s| s.action == Action::Prune) {
            s.action = Action::Keep;
            s.reason = Some("prune budget exceeded, waiting for approval".into());
        }
        over_budget = Some(message);
    }
    Ok(PrunePlan { steps, over_budget })
}

/// Why an object's owner labels do not name this unit, if they do not.
fn not_ours(live: &Value, owner: &BTreeMap<String, String>) -> Option<String> {
    let label = |k: &str| {
        live.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
    };
    if owner.iter().all(|(k, v)| label(k) == Some(v.as_str())) {
        return None;
    }
    // Name the unit that owns it now, if its labels say.
    for (kind, name_key, ns_key) in [
        (
            "Kustomization",
            "kustomize.toolkit.fluxcd.io/name",
            "kustomize.toolkit.fluxcd.io/namespace",
        ),
        ("sync", "sync.ballast.dev/name", "sync.ballast.dev/namespace"),
    ] {
        if let Some(name) = label(name_key) {
            let ns = label(ns_key).map(|n| format!("{n}/")).unwrap_or_default();
            return Some(format!("now owned by {kind} {ns}{name}"));
        }
    }
    let missing: Vec<&str> = owner.keys().map(String::as_str).collect();
    Some(format!(
        "not labelled as owned by this unit ({} not set)",
        missing.join(", ")
    ))
}

fn step(object: ObjectRef, action: Action, live: Option<Value>, reason: &str) -> Step {
    let reason = if action == Action::Keep {
        reason.to_string()
    } else {
        format!("prune skipped: {reason}")
    };
    Step {
        object,
        action,
        desired: None,
        live,
        reason: Some(reason),
        fields: Vec::new(),
    }
}

/// For a CRD: its custom resources that this prune does not delete, as a reason to keep it.
/// When they cannot be listed (no served version known to discovery while the CRD says objects
/// are stored), the CRD is kept too: deleting it would delete them all.
async fn custom_resources_held(
    cluster: &Cluster,
    crd: &Value,
    deleting: &HashSet<(String, String, Option<String>, String)>,
) -> Result<Option<String>, KubeError> {
    let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or("");
    let kind = crd.pointer("/spec/names/kind").and_then(Value::as_str).unwrap_or("");
    let served: Vec<&str> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
                .filter_map(|v| v.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let like = served
        .iter()
        .map(|v| ObjectRef::new(&format!("{group}/{v}"), kind, None, ""))
        .find(|r| cluster.serves(r));
    let Some(like) = like else {
        let stored = crd
            .pointer("/status/storedVersions")
            .and_then(Value::as_array)
            .is_some_and(|v| !v.is_empty());
        return Ok(
            stored.then(|| format!("its custom resources ({kind}.{group}) cannot be listed to make sure none exist"))
        );
    };
    let items = cluster.list_all(&like, None).await?;
    let held: Vec<String> = items
        .iter()
        .filter_map(|o| {
            let ns = o
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_string);
            let name = o.pointer("/metadata/name").and_then(Value::as_str)?.to_string();
            let key = (group.to_string(), kind.to_string(), ns.clone(), name.clone());
            (!deleting.contains(&key))
                .then(|| ObjectRef::new(&like.api_version(), kind, ns.as_deref(), &name).to_string())
        })
        .collect();
    Ok(describe_held(&held, "custom resources of it still exist"))
}

/// For a Namespace: the objects in it that this prune does not delete (what the cluster made for
/// itself excluded: events, the default service account and token secrets, the root CA config
/// map, objects with owner references, endpoints of services).
async fn namespace_held(
    cluster: &Cluster,
    namespace: &str,
    deleting: &HashSet<(String, String, Option<String>, String)>,
) -> Result<Option<String>, KubeError> {
    let kinds = cluster.namespaced_listable_kinds();
    let lists: Vec<_> = kinds.iter().map(|k| cluster.list_all(k, Some(namespace))).collect();
    let results = futures::future::join_all(lists).await;
    let mut seen_uids = HashSet::new();
    let mut services = HashSet::new();
    let mut candidates = Vec::new();
    for (like, result) in kinds.iter().zip(results) {
        let items = match result {
            Ok(items) => items,
            // A kind this client may not list (RBAC) or an aggregated API that is down: when
            // unsure, keep the namespace.
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Ok(Some(format!("its contents cannot be listed ({e})"))),
        };
        for o in items {
            let uid = o
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if !uid.is_empty() && !seen_uids.insert(uid) {
                continue; // the same object served by another group (Ingress, Event)
            }
            let name = o
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if like.group.is_empty() && like.kind == "Service" {
                services.insert(name.clone());
            }
            candidates.push((like.clone(), name, o));
        }
    }
    let held: Vec<String> = candidates
        .into_iter()
        .filter(|(like, name, o)| {
            let key = (
                like.group.clone(),
                like.kind.clone(),
                Some(namespace.to_string()),
                name.clone(),
            );
            !deleting.contains(&key) && !made_by_the_cluster(like, name, o, &services)
        })
        .map(|(like, name, _)| ObjectRef::new(&like.api_version(), &like.kind, Some(namespace), &name).to_string())
        .collect();
    Ok(describe_held(&held, "it holds objects this unit does not delete"))
}

fn made_by_the_cluster(like: &ObjectRef, name: &str, o: &Value, services: &HashSet<String>) -> bool {
    let has_owner = o
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let core = like.group.is_empty();
    has_owner
        || like.kind == "Event"
        || (core && like.kind == "ServiceAccount" && name == "default")
        || (core
            && like.kind == "Secret"
            && o.get("type").and_then(Value::as_str) == Some("kubernetes.io/service-account-token"))
        || (core && like.kind == "ConfigMap" && name == "kube-root-ca.crt")
        || (core && like.kind == "Endpoints" && services.contains(name))
}

fn describe_held(held: &[String], what: &str) -> Option<String> {
    if held.is_empty() {
        return None;
    }
    let shown: Vec<&str> = held.iter().take(3).map(String::as_str).collect();
    let more = if held.len() > shown.len() {
        format!(" and {} more", held.len() - shown.len())
    } else {
        String::new()
    };
    Some(format!("{what}: {}{more}", shown.join(", ")))
}

/// Executes prune steps in order, recording each outcome. Returns the errors (the rest still
/// run). Just before a Namespace or CRD is deleted, what it holds is looked at again with what
/// this prune actually deleted: an object whose delete was refused or failed, or one created
/// since the plan, keeps it (its delete would take them with it).
pub(crate) async fn execute(
    cluster: &Cluster,
    steps: Vec<Step>,
    changes: &mut ChangeSet,
    allow_protected: bool,
) -> Vec<String> {
    let mut errors = Vec::new();
    let mut deleted: HashSet<(String, String, Option<String>, String)> = HashSet::new();
    for step in steps {
        match step.action {
            Action::Prune => {
                let live = step.live.clone().unwrap_or(Value::Null);
                let held = if step.object.is_namespace() {
                    namespace_held(cluster, &step.object.name, &deleted).await
                } else if step.object.is_crd() {
                    custom_resources_held(cluster, &live, &deleted).await
                } else {
                    Ok(None)
                };
                match held {
                    Ok(Some(why)) if !(allow_protected || allowed_by_annotation(&live)) => {
                        changes.push(step.object, Change::Kept, Some(format!("protected: {why}")));
                        continue;
                    }
                    Err(e) => {
                        errors.push(e.to_string());
                        continue;
                    }
                    _ => {}
                }
                let uid = live.pointer("/metadata/uid").and_then(Value::as_str);
                match cluster.delete(&step.object, uid).await {
                    Ok(_) => {
                        let r = &step.object;
                        deleted.insert((r.group.clone(), r.kind.clone(), r.namespace.clone(), r.name.clone()));
                        changes.push(step.object, Change::Deleted, None);
                    }
                    Err(e) if e.is_precondition_failed() => changes.push(
                        step.object,
                        Change::Kept,
                        Some("replaced by another object of the same name since it was read".into()),
                    ),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            Action::Keep => changes.push(step.object, Change::Kept, step.reason),
            _ => changes.push(step.object, Change::Skipped, step.reason),
        }
    }
    errors
}

/// True if the object opts in to being pruned although protected.
fn allowed_by_annotation(live: &Value) -> bool {
    live.pointer("/metadata/annotations")
        .and_then(|a| a.get(ALLOW_PROTECTED_ANNOTATION))
        .and_then(Value::as_str)
        == Some("true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_needs_both_count_and_share() {
        let b = PruneBudget::default();
        assert!(!b.exceeded(10, 20)); // not more than 10
        assert!(!b.exceeded(11, 100)); // 11% of the inventory
        assert!(b.exceeded(11, 40)); // 27.5%
        assert!(b.exceeded(300, 300));
        assert!(!PruneBudget::DISABLED.exceeded(1000, 1000));
        assert_eq!(PruneBudget::parse("0").unwrap(), PruneBudget::DISABLED.with_percent(25));
        assert_eq!(
            PruneBudget::parse("5,50%").unwrap(),
            PruneBudget {
                max_objects: 5,
                max_percent: 50
            }
        );
        assert!(PruneBudget::parse("x").is_err());
        assert!(PruneBudget::parse("5,150%").is_err());
    }

    impl PruneBudget {
        fn with_percent(mut self, p: u32) -> Self {
            self.max_percent = p;
            self
        }
    }

    #[test]
    fn ownership_is_by_inclusion() {
        let owner: BTreeMap<String, String> = [("o/name".to_string(), "a".to_string())].into();
        let live = |labels: serde_json::Value| serde_json::json!({"metadata": {"labels": labels}});
        assert_eq!(not_ours(&live(serde_json::json!({"o/name": "a"})), &owner), None);
        let other = serde_json::json!({"o/name": "b", "sync.ballast.dev/name": "b", "sync.ballast.dev/namespace": "d"});
        assert_eq!(not_ours(&live(other), &owner).unwrap(), "now owned by sync d/b");
        assert!(
            not_ours(&live(serde_json::json!({})), &owner)
                .unwrap()
                .contains("not labelled")
        );
    }
}
