//! Normalization before apply and before comparison.

use serde_json::{Map, Value};

/// Makes a manifest acceptable to every supported API server before it is sent, the way Flux
/// does for native kinds:
/// - ports of containers and Services get `protocol: TCP` when they name none (API servers before
///   1.21 reject server-side apply of a port without its list key);
/// - numeric resource quantities (`cpu: 2`, `memory: 1e9`) become strings;
/// - defaults the server fills in inside atomic values are sent explicitly (RBAC subjects of
///   kind User/Group get `apiGroup: rbac.authorization.k8s.io`, NetworkPolicy ports `protocol:
///   TCP`), so an unchanged object is read as unchanged without a dry-run.
///
/// Only built-in kinds are touched; custom resources are sent as written.
pub fn prepare_for_apply(object: &mut Value) {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match kind.as_str() {
        "Service" => {
            if let Some(ports) = object.pointer_mut("/spec/ports") {
                default_protocol(ports);
            }
        }
        "ResourceQuota" => {
            if let Some(hard) = object.pointer_mut("/spec/hard") {
                stringify_quantities(hard);
            }
        }
        "LimitRange" => {
            if let Some(Value::Array(limits)) = object.pointer_mut("/spec/limits") {
                for l in limits {
                    if let Value::Object(m) = l {
                        for (k, v) in m.iter_mut() {
                            if k != "type" {
                                stringify_quantities(v);
                            }
                        }
                    }
                }
            }
        }
        // Defaults the API server fills in inside values it records as one (atomic) field: sent
        // explicitly, the live value equals Git's and the no-op check needs no dry-run.
        "RoleBinding" | "ClusterRoleBinding" => {
            if let Some(Value::Array(subjects)) = object.pointer_mut("/subjects") {
                for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
                    let kind = s.get("kind").and_then(Value::as_str).unwrap_or("");
                    if matches!(kind, "User" | "Group") && !s.contains_key("apiGroup") {
                        s.insert("apiGroup".into(), Value::String("rbac.authorization.k8s.io".into()));
                    }
                }
            }
        }
        "NetworkPolicy" => {
            for rules in ["ingress", "egress"] {
                if let Some(Value::Array(rules)) = object.pointer_mut(&format!("/spec/{rules}")) {
                    for rule in rules.iter_mut() {
                        if let Some(ports) = rule.get_mut("ports") {
                            default_protocol(ports);
                        }
                    }
                }
            }
        }
        "PersistentVolumeClaim" => {
            if let Some(r) = object.pointer_mut("/spec/resources") {
                stringify_resources(r);
            }
        }
        _ => {}
    }
    if let Some(pod_spec) = pod_spec_path(&kind).and_then(|p| object.pointer_mut(p)) {
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            if let Some(Value::Array(cs)) = pod_spec.get_mut(list) {
                for c in cs {
                    if let Some(ports) = c.get_mut("ports") {
                        default_protocol(ports);
                    }
                    if let Some(r) = c.get_mut("resources") {
                        stringify_resources(r);
                    }
                }
            }
        }
        if let Some(overhead) = pod_spec.get_mut("overhead") {
            stringify_quantities(overhead);
        }
    }
}

pub(crate) fn pod_spec_path(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" | "PodTemplate" => {
            Some(if kind == "PodTemplate" {
                "/template/spec"
            } else {
                "/spec/template/spec"
            })
        }
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

fn default_protocol(ports: &mut Value) {
    if let Value::Array(ports) = ports {
        for p in ports {
            if let Value::Object(p) = p {
                p.entry("protocol").or_insert_with(|| Value::String("TCP".into()));
            }
        }
    }
}

fn stringify_resources(resources: &mut Value) {
    for key in ["limits", "requests"] {
        if let Some(q) = resources.get_mut(key) {
            stringify_quantities(q);
        }
    }
}

fn stringify_quantities(map: &mut Value) {
    if let Value::Object(m) = map {
        for v in m.values_mut() {
            if let Value::Number(n) = v {
                *v = Value::String(n.to_string());
            }
        }
    }
}

/// Metadata fields the server owns; they never make two objects different.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// The part of an object that comparison looks at: no `status`, no server-owned metadata
/// (`managedFields`, `resourceVersion`, `generation`, `uid`, `creationTimestamp`, `selfLink`), and no
/// empty `annotations`/`labels` maps.
pub fn normalize_for_compare(object: &Value) -> Value {
    let mut out = Map::new();
    if let Value::Object(m) = object {
        for (k, v) in m {
            match k.as_str() {
                "status" => {}
                "metadata" => {
                    let mut meta = Map::new();
                    if let Value::Object(mm) = v {
                        for (mk, mv) in mm {
                            if SERVER_METADATA.contains(&mk.as_str()) {
                                continue;
                            }
                            if matches!(mk.as_str(), "annotations" | "labels")
                                && mv.as_object().is_some_and(Map::is_empty)
                            {
                                continue;
                            }
                            meta.insert(mk.clone(), mv.clone());
                        }
                    }
                    out.insert(k.clone(), Value::Object(meta));
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

/// A digest of an object's comparable part (see [`normalize_for_compare`]): equal digests mean
/// no difference a sync would correct. Key order does not matter (a LIST item and a GET of the
/// same object digest alike). Stable within one build of Ballast. Computed in one walk, without
/// copying the object.
pub fn object_digest(object: &Value) -> u64 {
    let Value::Object(m) = object else {
        return value_hash(object);
    };
    let mut sum = 0u64;
    for (k, v) in m {
        let h = match k.as_str() {
            "status" => continue,
            "metadata" => {
                let mut meta = 0u64;
                if let Value::Object(mm) = v {
                    for (mk, mv) in mm {
                        if SERVER_METADATA.contains(&mk.as_str())
                            || (matches!(mk.as_str(), "annotations" | "labels")
                                && mv.as_object().is_some_and(Map::is_empty))
                        {
                            continue;
                        }
                        meta = meta.wrapping_add(entry_hash(mk, value_hash(mv)));
                    }
                }
                entry_hash(k, meta)
            }
            _ => entry_hash(k, value_hash(v)),
        };
        sum = sum.wrapping_add(h);
    }
    sum
}

/// A digest of what server-side applies by `manager` hold in `live`: the values of the fields
/// of its one `Apply` entry and of the entries of the managers its applies take over
/// ([`crate::TAKEN_OVER`]) (a list, or a field owned as a whole, taken whole), plus the whole
/// of each atomic-by-meaning map (see [`crate::atomic`]). A write by someone else to fields
/// those managers do not own (a controller's annotation) leaves it unchanged; a change of a
/// field they own, or of who owns it (an edit takes the field), changes it. `None` when the
/// entry cannot be read with certainty (see [`crate::ManagedFields::applied_set`]).
pub fn owned_digest(live: &Value, manager: &str) -> Option<u64> {
    let api_version = live.get("apiVersion").and_then(Value::as_str);
    let managed = crate::ManagedFields::of(live);
    let set = managed.applied_set(manager, api_version)?;
    let mut sum = owned_hash(set, live);
    for e in managed.entries() {
        if crate::TAKEN_OVER.contains(&e.manager) {
            let h = e.fields.map_or(0, |f| owned_hash(f, live));
            sum = sum.wrapping_add(entry_hash(e.manager, h));
        }
    }
    let group = api_version.and_then(|v| v.rsplit_once('/')).map_or("", |(g, _)| g);
    let kind = live.get("kind").and_then(Value::as_str).unwrap_or("");
    for path in crate::atomic::atomic_map_paths(group, kind) {
        sum = sum.wrapping_add(entry_hash(&path, live.pointer(&path).map_or(0, value_hash)));
    }
    Some(sum)
}

/// The values under a managed-fields set (`f:name` keys: one field; any other key, such as
/// `.` or a list item's `k:`/`v:`/`i:`: the value whole). The set's depth bounds the walk.
fn owned_hash(set: &Map<String, Value>, value: &Value) -> u64 {
    let mut sum = 0u64;
    for (key, sub) in set {
        let h = match key.strip_prefix("f:") {
            Some(name) => {
                let child = value.get(name).unwrap_or(&Value::Null);
                match (sub.as_object(), child) {
                    (Some(s), Value::Object(_)) if !s.is_empty() => owned_hash(s, child),
                    _ => value_hash(child),
                }
            }
            None => value_hash(value),
        };
        sum = sum.wrapping_add(entry_hash(key, h));
    }
    sum
}

fn entry_hash(key: &str, value: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    value.hash(&mut h);
    h.finish()
}

/// Order-insensitive for maps (entries summed), order-sensitive for lists.
fn value_hash(v: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match v {
        Value::Null => 0u8.hash(&mut h),
        Value::Bool(b) => (1u8, b).hash(&mut h),
        Value::Number(n) => (2u8, n.to_string()).hash(&mut h),
        Value::String(s) => (3u8, s).hash(&mut h),
        Value::Array(a) => {
            4u8.hash(&mut h);
            for x in a {
                value_hash(x).hash(&mut h);
            }
        }
        Value::Object(m) => {
            let sum = m
                .iter()
                .fold(0u64, |acc, (k, x)| acc.wrapping_add(entry_hash(k, value_hash(x))));
            (5u8, sum).hash(&mut h);
        }
    }
    h.finish()
}

/// Paths (`spec.replicas`, `data.key`, `spec.template.spec.containers[0].image`) where two
/// normalized objects differ, in order; at most `limit` of them.
pub fn changed_paths(before: &Value, after: &Value, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    walk("", before, after, &mut out, limit);
    out
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || a == b {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))).collect();
            keys.dedup();
            for k in keys {
                walk(
                    &join(k),
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                    limit,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (ea, eb)) in x.iter().zip(y).enumerate() {
                walk(&format!("{path}[{i}]"), ea, eb, out, limit);
            }
        }
        _ => out.push(if path.is_empty() { ".".into() } else { path.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn changed_paths_name_the_fields() {
        let a = json!({"spec": {"replicas": 5, "template": {"spec": {"containers": [{"image": "a:1"}]}}}, "data": {"k": "x"}});
        let b = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "a:2"}]}}}, "data": {"k": "x", "n": "1"}});
        assert_eq!(
            changed_paths(&a, &b, 10),
            ["spec.replicas", "spec.template.spec.containers[0].image", "data.n"]
        );
        assert_eq!(changed_paths(&a, &b, 1), ["spec.replicas"]);
        assert!(changed_paths(&a, &a, 10).is_empty());
    }

    use super::*;
    use serde_json::json;

    fn deployment(replicas: i64, revision: &str, replicas_owner: &str) -> Value {
        let ours = json!({"f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}}}}}}});
        let mut entries = vec![json!({"manager": "helm", "operation": "Apply", "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1", "fieldsV1": ours})];
        if replicas_owner == "helm" {
            entries[0]["fieldsV1"]["f:spec"]["f:replicas"] = json!({});
        } else {
            entries.push(
                json!({"manager": replicas_owner, "operation": "Update", "apiVersion": "apps/v1",
                "subresource": "scale", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}),
            );
        }
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "managedFields": entries,
                "annotations": {"deployment.kubernetes.io/revision": revision}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": "a:1"}]}}},
            "status": {"replicas": replicas}})
    }

    #[test]
    fn owned_digest_ignores_other_writers_fields_only() {
        let applied = deployment(1, "1", "helm");
        let d = owned_digest(&applied, "helm").unwrap();
        // The deployment controller's annotation and status: not ours.
        assert_eq!(owned_digest(&deployment(1, "2", "helm"), "helm"), Some(d));
        assert_ne!(object_digest(&deployment(1, "2", "helm")), object_digest(&applied));
        // A scale takes the field (its value and its owner change).
        assert_ne!(owned_digest(&deployment(3, "1", "kubectl"), "helm"), Some(d));
        // An edit of a field we own, in a list item.
        let mut edited = applied.clone();
        edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("a:2");
        assert_ne!(owned_digest(&edited, "helm"), Some(d));
        // A client-side `kubectl apply` adds a field: its manager's fields are taken over.
        let mut csa = applied.clone();
        csa["metadata"]["managedFields"]
            .as_array_mut()
            .unwrap()
            .push(json!({"manager": "kubectl-client-side-apply",
            "operation": "Update", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:minReadySeconds": {}}}}));
        csa["spec"]["minReadySeconds"] = json!(5);
        assert_ne!(owned_digest(&csa, "helm"), Some(d));
        // Another manager's entry is not readable as ours.
        assert_eq!(owned_digest(&applied, "ballast"), None);
    }

    #[test]
    fn ports_get_protocol_and_quantities_become_strings() {
        let mut d = json!({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
             "resources": {"limits": {"cpu": 2, "memory": "1Gi"}, "requests": {"cpu": 0.5}}}]}}}});
        prepare_for_apply(&mut d);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["ports"][1]["protocol"], "UDP");
        assert_eq!(c["resources"]["limits"]["cpu"], "2");
        assert_eq!(c["resources"]["requests"]["cpu"], "0.5");
        let mut s = json!({"kind": "Service", "spec": {"ports": [{"port": 80}]}});
        prepare_for_apply(&mut s);
        assert_eq!(s["spec"]["ports"][0]["protocol"], "TCP");
        let mut cr = json!({"kind": "Widget", "spec": {"ports": [{"port": 80}]}});
        prepare_for_apply(&mut cr);
        assert!(cr["spec"]["ports"][0].get("protocol").is_none());
    }

    #[test]
    fn compare_ignores_server_fields() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "uid": "1",
            "resourceVersion": "5", "managedFields": [], "creationTimestamp": "t", "annotations": {}},
            "data": {"k": "v"}, "status": {}});
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "uid": "1",
            "resourceVersion": "6"}, "data": {"k": "v"}});
        assert_eq!(normalize_for_compare(&live), normalize_for_compare(&desired));
        let changed = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "w"}});
        assert_ne!(normalize_for_compare(&live), normalize_for_compare(&changed));
        assert_eq!(object_digest(&live), object_digest(&desired));
        assert_ne!(object_digest(&live), object_digest(&changed));
        // Key order does not matter; list order does; status and server metadata do not.
        let reordered = json!({"data": {"k": "v"}, "metadata": {"creationTimestamp": "u", "name": "a"},
            "kind": "ConfigMap", "apiVersion": "v1", "status": {"x": 1}});
        assert_eq!(object_digest(&live), object_digest(&reordered));
        assert_ne!(
            object_digest(&json!({"a": [1, 2]})),
            object_digest(&json!({"a": [2, 1]}))
        );
        assert_ne!(
            object_digest(&json!({"a": {"b": 1}})),
            object_digest(&json!({"b": {"a": 1}}))
        );
    }
}
