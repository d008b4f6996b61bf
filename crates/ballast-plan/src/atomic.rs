//! Maps that are one value by meaning: a Service's `spec.selector`, a ReplicationController's
//! `spec.selector`, a pod's `nodeSelector`.
//!
//! Kubernetes declares them atomic (`x-kubernetes-map-type: atomic`) since 1.21-1.22; older API
//! servers merge them key by key. There, a key someone else added (`kubectl patch svc web
//! --type merge -p '{"spec":{"selector":{"extra":"x"}}}'`, after which the Service selects no
//! pods) belongs to its writer, and a server-side apply of Git's selector leaves it in place.
//! For these maps Ballast holds the whole value to Git's: keys the live map has and Git's lacks
//! are drift, removed by a JSON patch (each removal conditional on the value it removes) just
//! before the apply, unless another server-side applier owns them (then only with `--force`). Where the server itself knows a field is atomic (every `LabelSelector`, any CRD
//! field marked atomic), another writer takes the whole value's ownership and the no-op check
//! ([`crate::already_applied`]) sees it without this table.

use serde_json::Value;

use crate::normalize::pod_spec_path;

/// JSON pointers of the atomic-by-meaning maps of a kind (`group`, `kind`).
pub fn atomic_map_paths(group: &str, kind: &str) -> Vec<String> {
    let mut out = Vec::new();
    if group.is_empty() && matches!(kind, "Service" | "ReplicationController") {
        out.push("/spec/selector".to_string());
    }
    let workload = matches!(
        (group, kind),
        ("", "Pod" | "ReplicationController" | "PodTemplate")
            | ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
            | ("batch", "Job" | "CronJob")
    );
    if workload && let Some(pod) = pod_spec_path(kind) {
        out.push(format!("{pod}/nodeSelector"));
    }
    out
}

/// Keys of atomic-by-meaning maps that the live object has and the desired one lacks, by the
/// map's JSON pointer. Maps Git does not set at all are left alone.
pub fn foreign_keys(desired: &Value, live: &Value) -> Vec<(String, Vec<String>)> {
    let api_version = desired.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let kind = desired.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut out = Vec::new();
    for path in atomic_map_paths(group, kind) {
        let Some(Value::Object(d)) = desired.pointer(&path) else {
            continue;
        };
        let Some(Value::Object(l)) = live.pointer(&path) else {
            continue;
        };
        let extra: Vec<String> = l.keys().filter(|k| !d.contains_key(*k)).cloned().collect();
        if !extra.is_empty() {
            out.push((path, extra));
        }
    }
    out
}

/// The JSON patch (RFC 6902) that removes `extras` (from [`foreign_keys`]) from `live`, each
/// removal preceded by a `test` of the value it removes: the patch fails, removing nothing, if
/// any of those keys changed since they were read; nothing else of the object is a condition.
pub fn removal_patch(extras: &[(String, Vec<String>)], live: &Value) -> Value {
    let mut ops = Vec::new();
    for (path, keys) in extras {
        for k in keys {
            let pointer = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
            let value = live
                .pointer(path)
                .and_then(|m| m.get(k))
                .cloned()
                .unwrap_or(Value::Null);
            ops.push(serde_json::json!({"op": "test", "path": pointer, "value": value}));
            ops.push(serde_json::json!({"op": "remove", "path": pointer}));
        }
    }
    Value::Array(ops)
}

/// Other server-side appliers (not `manager`) that own any of `extras` key by key in `live`:
/// their keys are taken only with `--force`.
pub fn key_appliers(live: &Value, extras: &[(String, Vec<String>)], manager: &str) -> Vec<String> {
    let managed = crate::managed::ManagedFields::of(live);
    let mut out: Vec<String> = Vec::new();
    for e in managed.entries() {
        if e.manager == manager || !e.is_apply() || e.subresource.is_some() {
            continue;
        }
        let Some(fields) = e.fields else { continue };
        let owns_one = extras.iter().any(|(path, keys)| {
            let mut set = Some(fields);
            for segment in path.trim_start_matches('/').split('/') {
                set = set
                    .and_then(|s| s.get(&format!("f:{segment}")))
                    .and_then(Value::as_object);
            }
            set.is_some_and(|s| keys.iter().any(|k| s.contains_key(&format!("f:{k}"))))
        });
        if owns_one && !out.iter().any(|m| m == e.manager) {
            out.push(e.manager.to_string());
        }
    }
    out
}

/// Removes `extras` from an object (a dry-run result, so it shows what the sync will leave).
pub fn remove_keys(object: &mut Value, extras: &[(String, Vec<String>)]) {
    for (path, keys) in extras {
        if let Some(Value::Object(m)) = object.pointer_mut(path) {
            for k in keys {
                m.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_selector_keys_are_found_and_removed() {
        let desired = json!({"apiVersion": "v1", "kind": "Service", "spec": {"selector": {"app": "web"}}});
        let mut live = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"resourceVersion": "7"},
                              "spec": {"selector": {"app": "web", "extra": "x"}}});
        let extras = foreign_keys(&desired, &live);
        assert_eq!(extras, vec![("/spec/selector".to_string(), vec!["extra".to_string()])]);
        assert_eq!(
            removal_patch(&extras, &live),
            json!([{"op": "test", "path": "/spec/selector/extra", "value": "x"},
                   {"op": "remove", "path": "/spec/selector/extra"}])
        );
        let slashed = vec![("/spec/selector".to_string(), vec!["example.com/x~y".to_string()])];
        assert_eq!(
            removal_patch(&slashed, &live)[1]["path"],
            "/spec/selector/example.com~1x~0y"
        );
        remove_keys(&mut live, &extras);
        assert_eq!(live["spec"]["selector"], json!({"app": "web"}));
        assert!(foreign_keys(&desired, &live).is_empty());
    }

    #[test]
    fn node_selectors_of_workloads_and_unset_maps() {
        let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}}});
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd", "zone": "b"}}}}});
        assert_eq!(foreign_keys(&desired, &live)[0].0, "/spec/template/spec/nodeSelector");
        // Git does not set it: whatever is live is someone else's business.
        let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {}}}});
        assert!(foreign_keys(&desired, &live).is_empty());
        // Labels are granular, never in the table.
        assert!(atomic_map_paths("", "ConfigMap").is_empty());
    }

    #[test]
    fn keys_owned_by_another_applier_are_named() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "ballast", "operation": "Apply", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:selector": {"f:app": {}}}}},
            {"manager": "helm", "operation": "Apply", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:selector": {"f:extra": {}}}}},
            {"manager": "kubectl-patch", "operation": "Update", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:selector": {"f:other": {}}}}}]}});
        let extras = vec![(
            "/spec/selector".to_string(),
            vec!["extra".to_string(), "other".to_string()],
        )];
        assert_eq!(key_appliers(&live, &extras, "ballast"), vec!["helm".to_string()]);
        let only_edit = vec![("/spec/selector".to_string(), vec!["other".to_string()])];
        assert!(key_appliers(&live, &only_edit, "ballast").is_empty());
    }
}
