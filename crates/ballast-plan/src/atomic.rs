//! Maps that are one value by meaning: a Service's `spec.selector`, a ReplicationController's
//! `spec.selector`, a pod's `nodeSelector`.
//!
//! Kubernetes declares them atomic (`x-kubernetes-map-type: atomic`) since 1.21-1.22; older API
//! servers merge them key by key. There, a key someone else added (`kubectl patch svc web
//! --type merge -p '{"spec":{"selector":{"extra":"x"}}}'`, after which the Service selects no
//! pods) belongs to its writer, and a server-side apply of Git's selector leaves it in place.
//! For these maps Ballast holds the whole value to Git's: keys the live map has and Git's lacks
//! are drift, removed by a merge patch (with the live `resourceVersion` as precondition) before
//! the apply. Where the server itself knows a field is atomic (every `LabelSelector`, any CRD
//! field marked atomic), another writer takes the whole value's ownership and the no-op check
//! ([`crate::already_applied`]) sees it without this table.

use serde_json::{Map, Value};

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

/// The JSON merge patch that removes `extras` (from [`foreign_keys`]), conditional on the live
/// object's `resourceVersion`.
pub fn removal_patch(extras: &[(String, Vec<String>)], resource_version: Option<&str>) -> Value {
    let mut patch = Value::Object(Map::new());
    for (path, keys) in extras {
        let mut node = &mut patch;
        for segment in path.trim_start_matches('/').split('/') {
            node = node
                .as_object_mut()
                .expect("objects only")
                .entry(segment.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        if let Value::Object(m) = node {
            for k in keys {
                m.insert(k.clone(), Value::Null);
            }
        }
    }
    if let Some(rv) = resource_version {
        patch["metadata"] = serde_json::json!({ "resourceVersion": rv });
    }
    patch
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
            removal_patch(&extras, Some("7")),
            json!({"spec": {"selector": {"extra": null}}, "metadata": {"resourceVersion": "7"}})
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
}
