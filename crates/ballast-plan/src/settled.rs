//! Deciding, without asking the API server, that a server-side apply would change nothing.
//!
//! A no-op sync of N objects would otherwise cost N dry-run requests. Both conditions below are
//! read off the live object alone (one LIST serves a whole kind):
//!
//! 1. every field of the desired object is in the live object with the same value (lists item by
//!    item, in order; the server may add defaulted fields and items of maps, never change ours);
//! 2. every field the field manager owns (its `Apply` entry in `managedFields`) is still in the
//!    desired object: nothing was removed from Git that the apply would remove from the cluster.
//!
//! Together they mean the apply would leave the object as it is. Anything this module cannot
//! read with certainty (another `apiVersion` in the managed entry, `null` values, an unknown
//! field-set key, a different list length) answers "not settled", and the caller falls back to a
//! dry-run, so a wrong "no" only costs a request and a wrong "yes" is never given on purpose.

use serde_json::{Map, Value};

/// True if server-side applying `desired` (as it would be sent, owner labels included) with
/// field manager `manager` would not change `live`. See the module documentation for the rules.
pub fn already_applied(desired: &Value, live: &Value, manager: &str) -> bool {
    let Some(owned) = owned_fields(live, manager, desired.get("apiVersion").and_then(Value::as_str)) else {
        return false;
    };
    let (Value::Object(d), Value::Object(l)) = (desired, live) else {
        return false;
    };
    for (k, v) in d {
        let ok = match k.as_str() {
            "apiVersion" | "kind" => l.get(k) == Some(v),
            // Status is never written by an apply of the main resource.
            "status" => true,
            "metadata" => metadata_contained(v, l.get(k)),
            _ => contained(v, l.get(k)),
        };
        if !ok {
            return false;
        }
    }
    owned_present(owned, desired)
}

/// The `fieldsV1` of `manager`'s single `Apply` entry, if it was made with `api_version`.
fn owned_fields<'a>(live: &'a Value, manager: &str, api_version: Option<&str>) -> Option<&'a Map<String, Value>> {
    let entries = live.pointer("/metadata/managedFields")?.as_array()?;
    let mut mine = entries.iter().filter(|e| {
        e.get("manager").and_then(Value::as_str) == Some(manager)
            && e.get("operation").and_then(Value::as_str) == Some("Apply")
    });
    let entry = mine.next()?;
    if mine.next().is_some() || entry.get("apiVersion").and_then(Value::as_str) != api_version {
        return None;
    }
    if entry.get("fieldsType").and_then(Value::as_str) != Some("FieldsV1") {
        return None;
    }
    entry.get("fieldsV1")?.as_object()
}

fn metadata_contained(desired: &Value, live: Option<&Value>) -> bool {
    let (Value::Object(d), Some(Value::Object(l))) = (desired, live) else {
        return false;
    };
    d.iter().all(|(k, v)| match k.as_str() {
        // Written as `creationTimestamp: null` by many generators; the server ignores it.
        "creationTimestamp" if v.is_null() => true,
        _ => contained(v, l.get(k)),
    })
}

/// `desired` is in `live`: maps key by key, lists item by item with equal lengths, scalars equal.
/// An empty desired map or list is satisfied by an absent one (the server omits empty maps).
fn contained(desired: &Value, live: Option<&Value>) -> bool {
    match (desired, live) {
        (Value::Null, _) => false,
        (Value::Object(d), None) | (Value::Object(d), Some(Value::Null)) => d.is_empty(),
        (Value::Array(d), None) | (Value::Array(d), Some(Value::Null)) => d.is_empty(),
        (Value::Object(d), Some(Value::Object(l))) => d.iter().all(|(k, v)| contained(v, l.get(k))),
        (Value::Array(d), Some(Value::Array(l))) => {
            d.len() == l.len() && d.iter().zip(l).all(|(a, b)| contained(a, Some(b)))
        }
        (d, Some(l)) => d == l,
        (_, None) => false,
    }
}

/// Every path of the field set is present in `desired`.
fn owned_present(set: &Map<String, Value>, desired: &Value) -> bool {
    set.iter().all(|(key, child)| {
        if key == "." {
            return true;
        }
        let child = match child.as_object() {
            Some(c) => c,
            None => return false,
        };
        let found = if let Some(name) = key.strip_prefix("f:") {
            desired.get(name)
        } else if let Some(k) = key.strip_prefix("k:") {
            let Ok(Value::Object(wanted)) = serde_json::from_str::<Value>(k) else {
                return false;
            };
            desired.as_array().and_then(|items| {
                items
                    .iter()
                    .find(|i| wanted.iter().all(|(wk, wv)| i.get(wk) == Some(wv)))
            })
        } else if let Some(v) = key.strip_prefix("v:") {
            let Ok(wanted) = serde_json::from_str::<Value>(v) else {
                return false;
            };
            desired
                .as_array()
                .and_then(|items| items.iter().find(|i| **i == wanted))
        } else if let Some(i) = key.strip_prefix("i:") {
            i.parse::<usize>()
                .ok()
                .and_then(|i| desired.as_array().and_then(|a| a.get(i)))
        } else {
            return false;
        };
        match found {
            None => false,
            Some(_) if child.is_empty() => true,
            Some(v) => owned_present(child, v),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(fields: Value, extra: Value) -> Value {
        let mut l = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "a", "uid": "u", "resourceVersion": "7",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"app": "web", "team": "x"},
                "managedFields": [
                    {"manager": "ballast", "operation": "Apply", "apiVersion": "apps/v1",
                     "fieldsType": "FieldsV1", "fieldsV1": fields},
                    {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
                     "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}}]},
            "spec": {"replicas": 2, "progressDeadlineSeconds": 600,
                "template": {"spec": {"containers": [
                    {"name": "app", "image": "web:1", "imagePullPolicy": "IfNotPresent",
                     "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}},
            "status": {"replicas": 2}
        });
        if let Value::Object(e) = extra {
            for (k, v) in e {
                l["spec"][k] = v;
            }
        }
        l
    }

    fn owned() -> Value {
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
               "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                   "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {},
                       "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:protocol": {}}}}}}}}})
    }

    fn desired() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "a", "labels": {"app": "web"}, "creationTimestamp": null},
               "spec": {"replicas": 2, "template": {"spec": {"containers": [
                   {"name": "app", "image": "web:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}},
               "status": {}})
    }

    #[test]
    fn unchanged_object_with_server_defaults_is_settled() {
        assert!(already_applied(&desired(), &live(owned(), json!({})), "ballast"));
    }

    #[test]
    fn a_changed_value_is_not_settled() {
        let mut d = desired();
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2");
        assert!(!already_applied(&d, &live(owned(), json!({})), "ballast"));
        // Drift: the live object was scaled by someone else.
        assert!(!already_applied(
            &desired(),
            &live(owned(), json!({"replicas": 5})),
            "ballast"
        ));
    }

    #[test]
    fn a_field_removed_from_git_is_not_settled() {
        // The manager still owns `spec.replicas`, which Git no longer sets: the apply would drop it.
        let mut d = desired();
        d["spec"].as_object_mut().unwrap().remove("replicas");
        assert!(!already_applied(&d, &live(owned(), json!({})), "ballast"));
        // A removed list item.
        let mut d = desired();
        d["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([]);
        assert!(!already_applied(&d, &live(owned(), json!({})), "ballast"));
    }

    #[test]
    fn other_managers_and_versions_are_not_trusted() {
        assert!(!already_applied(&desired(), &live(owned(), json!({})), "someone-else"));
        let mut l = live(owned(), json!({}));
        l["metadata"]["managedFields"][0]["apiVersion"] = json!("apps/v1beta2");
        assert!(!already_applied(&desired(), &l, "ballast"));
        let mut l = live(owned(), json!({}));
        l["metadata"]["managedFields"][0]["operation"] = json!("Update");
        assert!(!already_applied(&desired(), &l, "ballast"));
    }

    #[test]
    fn nulls_extra_items_and_unknown_keys_fall_back() {
        let mut d = desired();
        d["spec"]["paused"] = Value::Null;
        assert!(!already_applied(&d, &live(owned(), json!({})), "ballast"));
        let mut l = live(owned(), json!({}));
        l["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar"}));
        assert!(!already_applied(&desired(), &l, "ballast"));
        let mut o = owned();
        o["f:spec"]["x:odd"] = json!({});
        assert!(!already_applied(&desired(), &live(o, json!({})), "ballast"));
    }

    #[test]
    fn empty_maps_match_absent_ones() {
        let mut d = desired();
        d["metadata"]["annotations"] = json!({});
        assert!(already_applied(&d, &live(owned(), json!({})), "ballast"));
    }
}
