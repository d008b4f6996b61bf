//! A release's objects: its manifest stream read into objects, each put in the release
//! namespace when its kind is namespaced and it names none, and marked as helm marks what it
//! owns (`app.kubernetes.io/managed-by: Helm`, `meta.helm.sh/release-name`,
//! `meta.helm.sh/release-namespace`), so the helm CLI can take over what Ballast installed.

use std::path::PathBuf;

use ballast_core::Scope;
use ballast_core::{Manifest, ObjectRef, Origin};
use ballast_kube::Cluster;
use serde_json::{Value, json};

use crate::ReleaseError;

/// The annotation that keeps an object on uninstall and when an upgrade drops it.
pub const RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// The documents of a manifest stream (comments and empty documents dropped).
pub fn documents(text: &str) -> Result<Vec<Value>, ReleaseError> {
    let docs = ballast_render::yaml::parse_stream(text).map_err(|e| ReleaseError(format!("release manifest: {e}")))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// `object` in the release namespace when its kind is namespaced and it names no namespace.
fn place(cluster: &Cluster, object: &mut Value, namespace: &str) {
    let api_version = object["apiVersion"].as_str().unwrap_or("").to_string();
    let kind = object["kind"].as_str().unwrap_or("").to_string();
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let has_ns = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let r = ObjectRef::new(&api_version, &kind, None, name);
    let namespaced = match cluster.api_resource(&r) {
        Some((_, scope)) => matches!(scope, Scope::Namespaced),
        None => true,
    };
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if namespaced && !has_ns {
            meta.insert("namespace".into(), json!(namespace));
        } else if !namespaced {
            meta.remove("namespace");
        }
    }
}

/// Adds helm's ownership label and annotations.
fn mark(object: &mut Value, release: &str, namespace: &str) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if !labels.is_object() {
        *labels = json!({});
    }
    labels["app.kubernetes.io/managed-by"] = json!("Helm");
    let ann = meta.entry("annotations").or_insert_with(|| json!({}));
    if !ann.is_object() {
        *ann = json!({});
    }
    ann["meta.helm.sh/release-name"] = json!(release);
    ann["meta.helm.sh/release-namespace"] = json!(namespace);
}

/// The objects of a release manifest, placed and marked, ready to apply.
pub fn release_objects(
    cluster: &Cluster,
    manifest: &str,
    release: &str,
    namespace: &str,
) -> Result<Vec<Manifest>, ReleaseError> {
    let mut out = Vec::new();
    for (i, mut doc) in documents(manifest)?.into_iter().enumerate() {
        place(cluster, &mut doc, namespace);
        mark(&mut doc, release, namespace);
        let origin = Origin {
            file: PathBuf::from("manifest"),
            document: i,
        };
        out.push(Manifest::new(doc, origin).map_err(|e| ReleaseError(e.to_string()))?);
    }
    Ok(out)
}

/// A hook document placed in the release namespace (hooks are not marked: helm does not
/// adopt them).
pub fn hook_object(cluster: &Cluster, manifest: &str, namespace: &str) -> Result<Manifest, ReleaseError> {
    let mut doc = documents(manifest)?
        .into_iter()
        .next()
        .ok_or_else(|| ReleaseError("empty hook".into()))?;
    place(cluster, &mut doc, namespace);
    let origin = Origin {
        file: PathBuf::from("hook"),
        document: 0,
    };
    Manifest::new(doc, origin).map_err(|e| ReleaseError(e.to_string()))
}

/// True when the object asks to be kept (`helm.sh/resource-policy: keep`).
pub fn keep(m: &Manifest) -> bool {
    m.object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(RESOURCE_POLICY))
        .and_then(Value::as_str)
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("keep"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_as_helm_does() {
        let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "y"}}});
        mark(&mut o, "web", "apps");
        assert_eq!(
            o["metadata"]["labels"],
            json!({"x": "y", "app.kubernetes.io/managed-by": "Helm"})
        );
        assert_eq!(
            o["metadata"]["annotations"],
            json!({"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "apps"})
        );
        let mut bad = json!({"metadata": {"name": "a", "labels": null, "annotations": "x"}});
        mark(&mut bad, "web", "apps");
        assert_eq!(bad["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm");
    }

    #[test]
    fn keep_policy() {
        let m = |ann: Value| {
            Manifest::new(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "annotations": ann}}),
                Origin {
                    file: PathBuf::from("m"),
                    document: 0,
                },
            )
            .unwrap()
        };
        assert!(keep(&m(json!({RESOURCE_POLICY: "keep"}))));
        assert!(keep(&m(json!({RESOURCE_POLICY: " Keep "}))));
        assert!(!keep(&m(json!({RESOURCE_POLICY: "delete"}))));
        assert!(!keep(&m(json!({}))));
    }

    #[test]
    fn documents_skip_empty_ones() {
        let docs = documents("---\n# Source: a\napiVersion: v1\nkind: A\n---\n---\n# c\n").unwrap();
        assert_eq!(docs.len(), 1);
        assert!(documents("a: [").is_err());
    }
}
