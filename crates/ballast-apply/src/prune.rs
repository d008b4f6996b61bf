//! Prune: delete what the previous inventory owned and the desired state no longer has.

use ballast_core::{Action, Change, ChangeSet, ObjectRef, Step};
use ballast_kube::{Cluster, FIELD_MANAGER, KubeError};
use ballast_plan::prune_order;
use serde_json::Value;

/// Per-object opt-out, as in Flux: an object annotated with this key set to `disabled` is never
/// pruned (it is dropped from the inventory and left in the cluster).
pub const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";

/// Prune steps for stale inventory entries, in reverse apply order. Objects already gone are
/// left out; objects that opt out, are no longer managed by Ballast, or whose kind is no longer
/// served are `Skip` steps with a reason.
pub(crate) async fn plan_prunes(
    cluster: &Cluster,
    mut stale: Vec<ObjectRef>,
    owner: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<Step>, KubeError> {
    prune_order(&mut stale);
    let mut steps = Vec::new();
    for mut r in stale {
        if !cluster.serves(&r) {
            // Recorded under a version the server no longer serves: find the object by another.
            match cluster.served_version(&r) {
                Some(v) => r.version = v,
                None => {
                    steps.push(skip(r, None, "its kind is no longer served"));
                    continue;
                }
            }
        }
        let Some(live) = cluster.get(&r).await? else {
            continue;
        };
        let annotation = live
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(PRUNE_ANNOTATION))
            .and_then(Value::as_str);
        let other_owner = owner.iter().find_map(|(k, v)| {
            let theirs = live
                .pointer("/metadata/labels")
                .and_then(|l| l.get(k))
                .and_then(Value::as_str)?;
            (theirs != v).then(|| format!("{k}={theirs}"))
        });
        if annotation == Some("disabled") {
            steps.push(skip(r, Some(live), &format!("{PRUNE_ANNOTATION}: disabled")));
        } else if let Some(other) = other_owner {
            steps.push(skip(r, Some(live), &format!("now owned by {other}")));
        } else if !managed_by_us(&live) {
            steps.push(skip(r, Some(live), "no longer managed by ballast"));
        } else {
            steps.push(Step {
                object: r,
                action: Action::Prune,
                desired: None,
                live: Some(live),
                reason: None,
                fields: Vec::new(),
            });
        }
    }
    Ok(steps)
}

fn skip(object: ObjectRef, live: Option<Value>, reason: &str) -> Step {
    Step {
        object,
        action: Action::Skip,
        desired: None,
        live,
        reason: Some(format!("prune skipped: {reason}")),
        fields: Vec::new(),
    }
}

fn managed_by_us(live: &Value) -> bool {
    live.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|mf| {
            mf.iter()
                .any(|e| e.get("manager").and_then(Value::as_str) == Some(FIELD_MANAGER))
        })
}

/// Executes prune steps in order, recording each outcome. Returns the errors (the rest still run).
pub(crate) async fn execute(cluster: &Cluster, steps: Vec<Step>, changes: &mut ChangeSet) -> Vec<String> {
    let mut errors = Vec::new();
    for step in steps {
        match step.action {
            Action::Prune => match cluster.delete(&step.object).await {
                Ok(_) => changes.push(step.object, Change::Deleted, None),
                Err(e) => errors.push(e.to_string()),
            },
            _ => changes.push(step.object, Change::Skipped, step.reason),
        }
    }
    errors
}
