//! Deciding, without asking the API server, that a server-side apply would change nothing.
//!
//! A no-op sync of N objects would otherwise cost N dry-run requests. The three conditions below
//! are read off the live object alone (one LIST serves a whole kind):
//!
//! 1. every field of the desired object is in the live object with the same value (lists item by
//!    item, in order; the server may add defaulted fields and items of maps, never change ours);
//! 2. every field the field manager owns (its `Apply` entry in `managedFields`) is still in the
//!    desired object: nothing was removed from Git that the apply would remove from the cluster;
//! 3. every desired field is owned by the field manager: the whole value where the server records
//!    it as one field (an atomic map, list or struct such as a Service's `spec.selector`, a
//!    LabelSelector, a container's `args`, any CRD field marked `x-kubernetes-map-type: atomic`),
//!    else key by key and item by item. Any write by someone else to an atomic value takes its
//!    ownership away from us (the API server moves ownership of a field to its last writer), so a
//!    live atomic map that gained a key Git lacks is never read as "unchanged": it goes to the
//!    dry-run, which puts Git's value back.
//!
//! Together they mean the apply would leave the object, and who owns what, as it is. Anything
//! this module cannot read with certainty (another `apiVersion` in the managed entry, `null`
//! values, an unknown field-set key, a different list length) answers "not settled", and the
//! caller falls back to a dry-run, so a wrong "no" only costs a request and a wrong "yes" is
//! never given on purpose.

use serde_json::{Map, Value};

use crate::managed::ManagedFields;

/// True if server-side applying `desired` (as it would be sent, owner labels included) with
/// field manager `manager` would not change `live`. See the module documentation for the rules.
pub fn already_applied(desired: &Value, live: &Value, manager: &str) -> bool {
    let managed = ManagedFields::of(live);
    let Some(owned) = managed.applied_set(manager, desired.get("apiVersion").and_then(Value::as_str)) else {
        return false;
    };
    let (Value::Object(d), Value::Object(l)) = (desired, live) else {
        return false;
    };
    // An atomic-by-meaning map holding keys Git lacks is drift, whoever owns them.
    if !crate::atomic::foreign_keys(desired, live).is_empty() {
        return false;
    }
    for (k, v) in d {
        let ok = match k.as_str() {
            "apiVersion" | "kind" => l.get(k) == Some(v),
            // Status is never written by an apply of the main resource.
            "status" => true,
            "metadata" => metadata_contained(v, l.get(k)) && metadata_owned(v, l.get(k), owned.get("f:metadata")),
            _ => contained(v, l.get(k)) && owns(v, l.get(k), owned.get(&format!("f:{k}"))),
        };
        if !ok {
            return false;
        }
    }
    owned_present(owned, desired)
}

/// The desired metadata fields the server records ownership of (labels, annotations,
/// finalizers, owner references) are owned. Name and namespace identify the object and are never
/// recorded.
fn metadata_owned(desired: &Value, live: Option<&Value>, set: Option<&Value>) -> bool {
    let Value::Object(d) = desired else { return false };
    let set = set.and_then(Value::as_object);
    d.iter().all(|(k, v)| match k.as_str() {
        "name" | "namespace" | "creationTimestamp" | "generateName" => true,
        _ => owns(
            v,
            live.and_then(|l| l.get(k)),
            set.and_then(|s| s.get(&format!("f:{k}"))),
        ),
    })
}

/// `set` (the manager's field set at this value, if any) covers every field of `desired`. An
/// empty set owns the whole value: a scalar, or an atomic map, list or struct, which must then be
/// live exactly as desired (a key or field Git removed from an atomic value would otherwise stay,
/// the live value a superset of Git's). Otherwise each key and item must be owned in turn.
/// Empty desired maps and lists ask for nothing. `live` is the live value at the same place
/// (lists were checked item by item in order by [`contained`]).
fn owns(desired: &Value, live: Option<&Value>, set: Option<&Value>) -> bool {
    if is_empty_container(desired) {
        return true;
    }
    let Some(Value::Object(set)) = set else { return false };
    if set.is_empty() {
        // Owned as one value: a scalar, or an atomic map/list/struct, replaced whole by an apply.
        return match desired {
            Value::Object(_) | Value::Array(_) => live.is_some_and(|l| same_value(desired, l)),
            _ => true,
        };
    }
    match desired {
        Value::Object(d) => d
            .iter()
            .all(|(k, v)| is_null_timestamp(k, v) || owns(v, live.and_then(|l| l.get(k)), set.get(&format!("f:{k}")))),
        Value::Array(items) => items.iter().enumerate().all(|(i, item)| {
            owns(
                item,
                live.and_then(|l| l.as_array()).and_then(|l| l.get(i)),
                owned_item(set, item),
            )
        }),
        // A scalar recorded with children: not a shape we can read.
        _ => false,
    }
}

/// Equal values, a `creationTimestamp: null` in `desired` (which the server drops) aside.
fn same_value(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            let wanted = d.iter().filter(|(k, v)| !is_null_timestamp(k, v)).count();
            wanted == l.len()
                && d.iter()
                    .all(|(k, v)| is_null_timestamp(k, v) || l.get(k).is_some_and(|lv| same_value(v, lv)))
        }
        (Value::Array(d), Value::Array(l)) => d.len() == l.len() && d.iter().zip(l).all(|(a, b)| same_value(a, b)),
        (d, l) => d == l,
    }
}

/// `creationTimestamp: null`, written by many generators (in pod templates too); the server
/// drops it.
fn is_null_timestamp(key: &str, value: &Value) -> bool {
    key == "creationTimestamp" && value.is_null()
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().all(|(k, v)| is_null_timestamp(k, v)),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The field set entry of a list item: `k:{keys}` when the item carries those key values,
/// `v:<value>` for an item of a set.
fn owned_item<'a>(set: &'a Map<String, Value>, item: &Value) -> Option<&'a Value> {
    set.iter().find_map(|(key, child)| {
        let found = if let Some(k) = key.strip_prefix("k:") {
            matches!(serde_json::from_str::<Value>(k), Ok(Value::Object(wanted))
                if wanted.iter().all(|(wk, wv)| item.get(wk) == Some(wv)))
        } else if let Some(v) = key.strip_prefix("v:") {
            serde_json::from_str::<Value>(v).is_ok_and(|wanted| wanted == *item)
        } else {
            false
        };
        found.then_some(child)
    })
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
        (Value::Object(d), None) | (Value::Object(d), Some(Value::Null)) => {
            d.iter().all(|(k, v)| is_null_timestamp(k, v))
        }
        (Value::Array(d), None) | (Value::Array(d), Some(Value::Null)) => d.is_empty(),
        (Value::Object(d), Some(Value::Object(l))) => {
            d.iter().all(|(k, v)| is_null_timestamp(k, v) || contained(v, l.get(k)))
        }
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

    fn service(selector: Value, managed: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "web", "namespace": "a", "managedFields": managed},
               "spec": {"selector": selector, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}],
                        "clusterIP": "10.96.0.9", "type": "ClusterIP", "sessionAffinity": "None"}})
    }

    fn service_desired() -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "a"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}})
    }

    fn ours(spec: Value) -> Value {
        json!({"manager": "ballast", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
               "fieldsV1": {"f:spec": spec}})
    }

    fn ports() -> Value {
        json!({"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {}}})
    }

    #[test]
    fn an_atomic_map_owned_whole_is_settled() {
        let live = service(
            json!({"app": "web"}),
            json!([ours(json!({"f:selector": {}, "f:ports": ports()}))]),
        );
        assert!(already_applied(&service_desired(), &live, "ballast"));
    }

    #[test]
    fn a_key_added_to_an_atomic_map_is_drift() {
        // `kubectl patch --type merge -p '{"spec":{"selector":{"extra":"x"}}}'`: the patch's
        // manager takes the whole atomic selector; the live map is a superset of Git's.
        let live = service(
            json!({"app": "web", "extra": "x"}),
            json!([ours(json!({"f:ports": ports()})),
                   {"manager": "kubectl-patch", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:selector": {}}}}]),
        );
        assert!(!already_applied(&service_desired(), &live, "ballast"));
    }

    #[test]
    fn a_granular_map_may_hold_other_managers_keys() {
        // Labels are granular: a key another manager added is theirs, and the apply keeps it.
        let mut l = live(owned(), json!({}));
        l["metadata"]["managedFields"].as_array_mut().unwrap().push(
            json!({"manager": "kubectl-label", "operation": "Update", "apiVersion": "apps/v1",
                         "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}}),
        );
        assert!(already_applied(&desired(), &l, "ballast"));
    }

    #[test]
    fn a_desired_field_owned_only_by_someone_else_is_not_settled() {
        // Same value, but the apply would make Ballast its (co-)owner: not a no-op.
        let mut o = owned();
        o["f:spec"].as_object_mut().unwrap().remove("f:replicas");
        assert!(!already_applied(&desired(), &live(o, json!({})), "ballast"));
        // A map whose keys were all taken by someone else (only "." left) is not ours either.
        let mut o = owned();
        o["f:metadata"]["f:labels"] = json!({".": {}});
        assert!(!already_applied(&desired(), &live(o, json!({})), "ballast"));
    }

    #[test]
    fn a_key_git_removed_from_an_atomic_value_is_not_settled() {
        // Ballast owns the selector whole; Git dropped `tier` from it.
        let live = service(
            json!({"app": "web", "tier": "fe"}),
            json!([ours(json!({"f:selector": {}, "f:ports": ports()}))]),
        );
        assert!(!already_applied(&service_desired(), &live, "ballast"));
        // Same for an atomic list of structs that lost a field.
        let desired = json!({"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "t"},
                             "spec": {"rules": [{"verbs": ["get"]}]}});
        let mut live = desired.clone();
        live["spec"]["rules"][0]["resourceNames"] = json!(["x"]);
        live["metadata"]["managedFields"] = json!([ours(json!({"f:rules": {}}))]);
        assert!(!already_applied(&desired, &live, "ballast"));
        live["spec"]["rules"][0]
            .as_object_mut()
            .unwrap()
            .remove("resourceNames");
        assert!(already_applied(&desired, &live, "ballast"));
    }

    #[test]
    fn null_creation_timestamps_in_templates_are_ignored() {
        let mut d = desired();
        d["spec"]["template"]["metadata"] = json!({"creationTimestamp": null});
        assert!(already_applied(&d, &live(owned(), json!({})), "ballast"));
    }
}
