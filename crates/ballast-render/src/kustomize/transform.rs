//! The builtin transformers, in kustomize's order, and name-reference rewriting.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::{Rename, Res, err};
use crate::RenderError;
use crate::root::Root;
use crate::scope::{BuiltinScopes, Scope, Scopes};

const WORKLOADS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "StatefulSet",
    "Job",
    "ReplicationController",
];

/// Applies this kustomization's transformers to `out`.
pub(crate) fn apply_all(
    root: &Root,
    dir: &Path,
    file: &Path,
    k: &Value,
    out: &mut Vec<Res>,
) -> Result<(), RenderError> {
    super::patch::strategic_and_patches(root, dir, file, k, out)?;
    if let Some(ns) = k["namespace"].as_str().filter(|n| !n.is_empty()) {
        for r in out.iter_mut() {
            let scope = BuiltinScopes.scope(r.group(), r.kind()).unwrap_or(Scope::Namespaced);
            if scope == Scope::Namespaced {
                r.obj["metadata"]["namespace"] = json!(ns);
            }
            if matches!(r.kind(), "RoleBinding" | "ClusterRoleBinding") {
                for s in list(&mut r.obj, &["subjects"]) {
                    if s["kind"] == "ServiceAccount" && s["name"] == "default" {
                        s["namespace"] = json!(ns);
                    }
                }
            }
        }
    }
    let prefix = k["namePrefix"].as_str().unwrap_or("");
    let suffix = k["nameSuffix"].as_str().unwrap_or("");
    if !prefix.is_empty() || !suffix.is_empty() {
        for r in out
            .iter_mut()
            .filter(|r| r.kind() != "CustomResourceDefinition" && r.kind() != "Namespace")
        {
            let name = format!("{prefix}{}{suffix}", r.name());
            r.set_name(name);
        }
    }
    if let Some(labels) = k["commonLabels"].as_object() {
        for r in out.iter_mut() {
            add_labels(&mut r.obj, labels, true, true);
        }
    }
    for (i, entry) in k["labels"].as_array().into_iter().flatten().enumerate() {
        let pairs = entry["pairs"]
            .as_object()
            .ok_or_else(|| err(root, file, format!("labels[{i}]: pairs is required")))?;
        let selectors = entry["includeSelectors"].as_bool().unwrap_or(false);
        let templates = selectors || entry["includeTemplates"].as_bool().unwrap_or(false);
        for r in out.iter_mut() {
            add_labels(&mut r.obj, pairs, selectors, templates);
        }
    }
    if let Some(ann) = k["commonAnnotations"].as_object() {
        for r in out.iter_mut() {
            merge_map(&mut r.obj, &["metadata", "annotations"], ann, true);
            let kind = r.kind().to_string();
            if WORKLOADS.contains(&kind.as_str()) {
                merge_map(&mut r.obj, &["spec", "template", "metadata", "annotations"], ann, true);
            } else if kind == "CronJob" {
                merge_map(
                    &mut r.obj,
                    &["spec", "jobTemplate", "metadata", "annotations"],
                    ann,
                    true,
                );
                merge_map(
                    &mut r.obj,
                    &["spec", "jobTemplate", "spec", "template", "metadata", "annotations"],
                    ann,
                    true,
                );
            }
        }
    }
    super::patch::json6902_legacy(root, dir, file, k, out)?;
    for (i, rep) in k["replicas"].as_array().into_iter().flatten().enumerate() {
        let name = rep["name"]
            .as_str()
            .ok_or_else(|| err(root, file, format!("replicas[{i}]: name is required")))?;
        let count = rep["count"]
            .as_i64()
            .ok_or_else(|| err(root, file, format!("replicas[{i}]: count is required")))?;
        for r in out.iter_mut() {
            let scalable = matches!(
                r.kind(),
                "Deployment" | "ReplicationController" | "ReplicaSet" | "StatefulSet"
            );
            if scalable && (r.name() == name || r.orig_name == name) {
                r.obj["spec"]["replicas"] = json!(count);
            }
        }
    }
    for img in k["images"].as_array().into_iter().flatten() {
        let Some(name) = img["name"].as_str() else { continue };
        for r in out.iter_mut() {
            for spec in pod_specs_mut(&mut r.obj) {
                for field in ["containers", "initContainers"] {
                    for c in list(spec, &[field]) {
                        if let Some(image) = c["image"].as_str()
                            && let Some(updated) = retag(image, name, img)
                        {
                            c["image"] = json!(updated);
                        }
                    }
                }
            }
        }
    }
    super::replace::replacements(root, dir, file, k, out)?;
    Ok(())
}

/// The value at `path`, without creating anything on the way.
pub(crate) fn at<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get_mut(*key)?;
    }
    Some(cur)
}

/// The array at `path` (if any), mutable.
fn list<'a>(v: &'a mut Value, path: &[&str]) -> impl Iterator<Item = &'a mut Value> {
    at(v, path).and_then(Value::as_array_mut).into_iter().flatten()
}

/// The new image string if `image` is `name` (with any tag or digest), per an `images` entry.
fn retag(image: &str, name: &str, entry: &Value) -> Option<String> {
    let (base, tag, digest) = split_image(image);
    if base != name {
        return None;
    }
    let base = entry["newName"].as_str().unwrap_or(base);
    if let Some(d) = entry["digest"].as_str() {
        return Some(format!("{base}@{d}"));
    }
    if let Some(t) = entry["newTag"].as_str() {
        return Some(format!("{base}:{t}"));
    }
    Some(match (tag, digest) {
        (_, Some(d)) => format!("{base}@{d}"),
        (Some(t), None) => format!("{base}:{t}"),
        (None, None) => base.to_string(),
    })
}

/// (name, tag, digest) of an image reference; a `:` in the registry's host:port is not a tag.
fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

fn add_labels(obj: &mut Value, labels: &Map<String, Value>, selectors: bool, templates: bool) {
    merge_map(obj, &["metadata", "labels"], labels, true);
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let workload = WORKLOADS.contains(&kind.as_str());
    if templates {
        if workload {
            merge_map(obj, &["spec", "template", "metadata", "labels"], labels, true);
        }
        if kind == "CronJob" {
            merge_map(obj, &["spec", "jobTemplate", "metadata", "labels"], labels, true);
            merge_map(
                obj,
                &["spec", "jobTemplate", "spec", "template", "metadata", "labels"],
                labels,
                true,
            );
        }
        if kind == "StatefulSet" {
            for t in list(obj, &["spec", "volumeClaimTemplates"]) {
                merge_map(t, &["metadata", "labels"], labels, true);
            }
        }
    }
    if selectors {
        match kind.as_str() {
            "Service" => merge_map(obj, &["spec", "selector"], labels, true),
            "ReplicationController" => merge_map(obj, &["spec", "selector"], labels, true),
            "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" => {
                merge_map(obj, &["spec", "selector", "matchLabels"], labels, true)
            }
            "PodDisruptionBudget" => merge_map(obj, &["spec", "selector", "matchLabels"], labels, false),
            "NetworkPolicy" => merge_map(obj, &["spec", "podSelector", "matchLabels"], labels, false),
            _ => {}
        }
    }
}

/// Merges `add` into the map at `path`; with `create`, missing maps on the way are created.
fn merge_map(obj: &mut Value, path: &[&str], add: &Map<String, Value>, create: bool) {
    let mut cur = obj;
    for key in path {
        if !cur.is_object() {
            return;
        }
        if cur.get(*key).is_none_or(Value::is_null) {
            if !create {
                return;
            }
            cur[*key] = json!({});
        }
        cur = &mut cur[*key];
    }
    if let Some(m) = cur.as_object_mut() {
        for (k, v) in add {
            m.insert(k.clone(), v.clone());
        }
    }
}

/// Pod specs inside an object (Pod, workloads, CronJob).
pub(crate) fn pod_specs_mut(obj: &mut Value) -> Vec<&mut Value> {
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let path: &[&str] = match kind.as_str() {
        "Pod" => &["spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        k if WORKLOADS.contains(&k) => &["spec", "template", "spec"],
        _ => return Vec::new(),
    };
    let mut cur = obj;
    for key in path {
        match cur.get_mut(*key) {
            Some(v) => cur = v,
            None => return Vec::new(),
        }
    }
    vec![cur]
}

/// Every reference to a renamed ConfigMap, Secret, ServiceAccount, Service or
/// PersistentVolumeClaim follows the new name (same namespace only).
pub(crate) fn fix_name_references(out: &mut [Res]) {
    let renames: Vec<Rename> = out
        .iter()
        .filter(|r| r.group().is_empty())
        .filter(|r| {
            matches!(
                r.kind(),
                "ConfigMap" | "Secret" | "ServiceAccount" | "Service" | "PersistentVolumeClaim"
            )
        })
        .filter_map(Res::rename)
        .collect();
    if renames.is_empty() {
        return;
    }
    for r in out.iter_mut() {
        let ns = r.namespace().map(str::to_string);
        let lookup = |kind: &str, old: &str| {
            renames
                .iter()
                .find(|(k, n, o, _)| k == kind && o == old && *n == ns)
                .map(|(_, _, _, new)| new.clone())
        };
        let kind = r.kind().to_string();
        for spec in pod_specs_mut(&mut r.obj) {
            rename_in_pod_spec(spec, &lookup);
        }
        match kind.as_str() {
            "Ingress" => {
                for tls in list(&mut r.obj, &["spec", "tls"]) {
                    rename(tls, &["secretName"], "Secret", &lookup);
                }
                for rule in list(&mut r.obj, &["spec", "rules"]) {
                    for p in list(rule, &["http", "paths"]) {
                        rename(p, &["backend", "service", "name"], "Service", &lookup);
                        rename(p, &["backend", "serviceName"], "Service", &lookup);
                    }
                }
            }
            "RoleBinding" | "ClusterRoleBinding" => {
                for s in list(&mut r.obj, &["subjects"]) {
                    let same_ns = s.get("namespace").and_then(Value::as_str).map(str::to_string) == ns
                        || s.get("namespace").is_none();
                    if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount") && same_ns {
                        rename(s, &["name"], "ServiceAccount", &lookup);
                    }
                }
            }
            "StatefulSet" => rename(&mut r.obj, &["spec", "serviceName"], "Service", &lookup),
            "ServiceAccount" => {
                for field in ["secrets", "imagePullSecrets"] {
                    for s in list(&mut r.obj, &[field]) {
                        rename(s, &["name"], "Secret", &lookup);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Renames the reference at `path` in `v` (if present) to the new name of a renamed `kind`.
fn rename(v: &mut Value, path: &[&str], kind: &str, lookup: &dyn Fn(&str, &str) -> Option<String>) {
    if let Some(field) = at(v, path)
        && let Some(old) = field.as_str()
        && let Some(new) = lookup(kind, old)
    {
        *field = json!(new);
    }
}

fn rename_in_pod_spec(spec: &mut Value, lookup: &dyn Fn(&str, &str) -> Option<String>) {
    rename(spec, &["serviceAccountName"], "ServiceAccount", lookup);
    for s in list(spec, &["imagePullSecrets"]) {
        rename(s, &["name"], "Secret", lookup);
    }
    for v in list(spec, &["volumes"]) {
        rename(v, &["configMap", "name"], "ConfigMap", lookup);
        rename(v, &["secret", "secretName"], "Secret", lookup);
        rename(
            v,
            &["persistentVolumeClaim", "claimName"],
            "PersistentVolumeClaim",
            lookup,
        );
        for src in list(v, &["projected", "sources"]) {
            rename(src, &["configMap", "name"], "ConfigMap", lookup);
            rename(src, &["secret", "name"], "Secret", lookup);
        }
    }
    for field in ["containers", "initContainers"] {
        for c in list(spec, &[field]) {
            for e in list(c, &["env"]) {
                rename(e, &["valueFrom", "configMapKeyRef", "name"], "ConfigMap", lookup);
                rename(e, &["valueFrom", "secretKeyRef", "name"], "Secret", lookup);
            }
            for e in list(c, &["envFrom"]) {
                rename(e, &["configMapRef", "name"], "ConfigMap", lookup);
                rename(e, &["secretRef", "name"], "Secret", lookup);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_like_kustomize() {
        assert_eq!(split_image("nginx"), ("nginx", None, None));
        assert_eq!(split_image("nginx:1.2"), ("nginx", Some("1.2"), None));
        assert_eq!(
            split_image("localhost:5000/app:v1"),
            ("localhost:5000/app", Some("v1"), None)
        );
        assert_eq!(split_image("app@sha256:abc"), ("app", None, Some("sha256:abc")));
        let e = json!({"newTag": "2.0"});
        assert_eq!(retag("nginx:1.2", "nginx", &e).as_deref(), Some("nginx:2.0"));
        assert_eq!(retag("other:1.2", "nginx", &e), None);
        let e = json!({"newName": "mirror/nginx", "digest": "sha256:1"});
        assert_eq!(
            retag("nginx:1.2", "nginx", &e).as_deref(),
            Some("mirror/nginx@sha256:1")
        );
    }
}
