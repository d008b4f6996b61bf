//! Checks made on the whole render before the first write: what the API server would refuse for
//! any object (names, namespaces, label and annotation syntax), read off the manifest alone.
//!
//! The server-side dry-run checks everything else, but only for objects whose kind and namespace
//! already exist; objects whose CRD or Namespace this same sync creates are checked here, so a
//! malformed object anywhere in the render stops the sync before anything is written.

use serde_json::Value;

/// Bytes the API server allows for all annotations of one object.
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// The problems of one object (empty when valid), each naming the field.
pub fn object_problems(object: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    let group = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.rsplit_once('/').map(|(g, _)| g))
        .unwrap_or("");
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let name_rule = name_rule(group, kind);
    if let Err(e) = name_rule(name) {
        out.push(format!("metadata.name {name:?}: {e}"));
    }
    if let Some(ns) = object.pointer("/metadata/namespace") {
        match ns.as_str() {
            Some(ns) => {
                if let Err(e) = dns_label(ns) {
                    out.push(format!("metadata.namespace {ns:?}: {e}"));
                }
            }
            None if ns.is_null() => {}
            None => out.push("metadata.namespace: not a string".into()),
        }
    }
    match object.pointer("/metadata/labels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(labels)) => {
            for (k, v) in labels {
                if let Err(e) = qualified_name(k) {
                    out.push(format!("metadata.labels: key {k:?}: {e}"));
                }
                match v.as_str() {
                    Some(v) => {
                        if let Err(e) = label_value(v) {
                            out.push(format!("metadata.labels.{k}: value {v:?}: {e}"));
                        }
                    }
                    None => out.push(format!("metadata.labels.{k}: not a string")),
                }
            }
        }
        Some(_) => out.push("metadata.labels: not a mapping".into()),
    }
    match object.pointer("/metadata/annotations") {
        None | Some(Value::Null) => {}
        Some(Value::Object(annotations)) => {
            let mut size = 0;
            for (k, v) in annotations {
                if let Err(e) = qualified_name(k) {
                    out.push(format!("metadata.annotations: key {k:?}: {e}"));
                }
                match v.as_str() {
                    // Values are never quoted: an annotation may hold something private.
                    Some(v) => size += k.len() + v.len(),
                    None => out.push(format!("metadata.annotations.{k}: not a string")),
                }
            }
            if size > MAX_ANNOTATIONS_BYTES {
                out.push(format!(
                    "metadata.annotations: {size} bytes, more than the {MAX_ANNOTATIONS_BYTES} the API server accepts"
                ));
            }
        }
        Some(_) => out.push("metadata.annotations: not a mapping".into()),
    }
    out
}

type Rule = fn(&str) -> Result<(), String>;

/// The name rule the API server applies to a kind: DNS-1123 labels for Namespaces and
/// Services, DNS-1123 subdomains for the other built-in kinds that use them, and the path-segment
/// rule (which every object name must follow) for the rest, e.g. RBAC roles (`system:...`) and
/// custom resources.
fn name_rule(group: &str, kind: &str) -> Rule {
    match (group, kind) {
        ("", "Namespace" | "Service") => dns_label,
        (
            "",
            "ConfigMap"
            | "Secret"
            | "ServiceAccount"
            | "PersistentVolumeClaim"
            | "PersistentVolume"
            | "Pod"
            | "ReplicationController"
            | "LimitRange"
            | "ResourceQuota"
            | "Endpoints",
        )
        | ("apps", _)
        | ("batch", _)
        | ("autoscaling", _)
        | ("policy", "PodDisruptionBudget")
        | ("networking.k8s.io", "Ingress" | "NetworkPolicy" | "IngressClass")
        | ("scheduling.k8s.io", _)
        | ("storage.k8s.io", _)
        | ("apiextensions.k8s.io", _) => dns_subdomain,
        _ => path_segment,
    }
}

fn path_segment(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name == "." || name == ".." {
        return Err("may not be '.' or '..'".into());
    }
    if name.contains('/') || name.contains('%') {
        return Err("may not contain '/' or '%'".into());
    }
    if name.len() > 253 {
        return Err("must be no more than 253 characters".into());
    }
    Ok(())
}

fn is_alnum_lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// RFC 1123 label: at most 63 lower-case alphanumerics or '-', starting and ending alphanumeric.
pub fn dns_label(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| is_alnum_lower(c) || c == '-')
        && s.starts_with(is_alnum_lower)
        && s.ends_with(is_alnum_lower);
    if ok {
        Ok(())
    } else {
        Err("must be a DNS-1123 label: at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit".into())
    }
}

/// RFC 1123 subdomain: at most 253 characters, dot-separated labels.
pub fn dns_subdomain(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.chars().all(|c| is_alnum_lower(c) || c == '-' || c == '.')
        && s.split('.')
            .all(|part| !part.is_empty() && part.starts_with(is_alnum_lower) && part.ends_with(is_alnum_lower));
    if ok {
        Ok(())
    } else {
        Err("must be a DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' or '.', each part starting and ending with a letter or digit".into())
    }
}

fn name_part(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
        && s.starts_with(alnum)
        && s.ends_with(alnum)
}

/// A label or annotation key: an optional DNS subdomain prefix and '/', then a name of at most 63
/// alphanumerics, '-', '_' or '.', starting and ending alphanumeric.
pub fn qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        dns_subdomain(p).map_err(|e| format!("prefix {e}"))?;
    }
    if name_part(name) {
        Ok(())
    } else {
        Err(
            "name part must be at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
                .into(),
        )
    }
}

/// A label value: empty, or at most 63 alphanumerics, '-', '_' or '.', starting and ending
/// alphanumeric.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.is_empty() || name_part(s) {
        Ok(())
    } else {
        Err(
            "must be empty or at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_objects_pass() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app.config-1", "namespace": "team-a",
                         "labels": {"app.kubernetes.io/name": "web", "empty": ""},
                         "annotations": {"example.com/note": "anything: goes / here"}}});
        assert!(object_problems(&cm).is_empty(), "{:?}", object_problems(&cm));
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:aggregate-to-view:Foo"}});
        assert!(object_problems(&role).is_empty());
    }

    #[test]
    fn bad_names_namespaces_and_labels_are_named() {
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web.v2", "namespace": "Team"}});
        let p = object_problems(&svc);
        assert!(
            p[0].starts_with("metadata.name \"web.v2\": must be a DNS-1123 label"),
            "{p:?}"
        );
        assert!(p[1].starts_with("metadata.namespace \"Team\""), "{p:?}");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a/b", "labels": {"bad key!": "x", "ok": "-bad-"}}});
        let p = object_problems(&cm);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[1].contains("key \"bad key!\""));
        assert!(p[2].contains("metadata.labels.ok"));
        let crd_cr = json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": ".."}});
        assert_eq!(object_problems(&crd_cr).len(), 1);
    }

    #[test]
    fn annotation_values_are_never_quoted() {
        let big = "s3cr3t".repeat(50_000);
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "annotations": {"k": big}}});
        let p = object_problems(&cm);
        assert_eq!(p.len(), 1);
        assert!(!p[0].contains("s3cr3t"));
    }
}
