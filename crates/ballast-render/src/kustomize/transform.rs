//! The builtin transformers, in kustomize's order, and name-reference rewriting.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::fieldspec::{self, Config, FieldSpec};
use super::{Res, err};
use crate::RenderError;
use crate::root::Root;

/// Applies this kustomization's transformers to `out`, in kustomize's order, with the field
/// specifications of `cfg`.
pub(crate) fn apply_all(
    root: &Root,
    dir: &Path,
    file: &Path,
    k: &Value,
    out: &mut Vec<Res>,
    cfg: &Config,
) -> Result<(), RenderError> {
    let here = |m: String| err(root, file, m);
    patches_tracking_names(out, |out| super::patch::strategic_and_patches(root, dir, file, k, out))?;
    if let Some(ns) = k["namespace"].as_str().filter(|n| !n.is_empty()) {
        namespace(out, ns, &cfg.namespace, false, "").map_err(here)?;
    }
    let prefix = k["namePrefix"].as_str().unwrap_or("");
    let suffix = k["nameSuffix"].as_str().unwrap_or("");
    prefix_suffix(out, prefix, &cfg.name_prefix, true);
    prefix_suffix(out, suffix, &cfg.name_suffix, false);
    for (i, entry) in k["labels"].as_array().into_iter().flatten().enumerate() {
        let pairs =
            string_map(&entry["pairs"]).ok_or_else(|| err(root, file, format!("labels[{i}]: pairs is required")))?;
        let mut specs = fieldspec::parse_specs(&entry["fields"]).map_err(|m| here(format!("labels[{i}]: {m}")))?;
        add_specs(&mut specs, &cfg.labels);
        if entry["includeSelectors"].as_bool().unwrap_or(false) {
            add_specs(&mut specs, &cfg.common_labels);
        } else {
            if entry["includeTemplates"].as_bool().unwrap_or(false) {
                add_specs(&mut specs, &cfg.template_labels);
            }
            add_specs(&mut specs, &[FieldSpec::new("metadata/labels", true)]);
        }
        set_map_entries(out, &pairs, &specs).map_err(here)?;
    }
    if let Some(labels) = string_map(&k["commonLabels"]) {
        set_map_entries(out, &labels, &cfg.common_labels).map_err(here)?;
    }
    if let Some(ann) = string_map(&k["commonAnnotations"]) {
        set_map_entries(out, &ann, &cfg.common_annotations).map_err(here)?;
    }
    super::patch::json6902_legacy(root, dir, file, k, out)?;
    for (i, rep) in k["replicas"].as_array().into_iter().flatten().enumerate() {
        let name = rep["name"]
            .as_str()
            .ok_or_else(|| err(root, file, format!("replicas[{i}]: name is required")))?;
        let count = rep["count"]
            .as_i64()
            .ok_or_else(|| err(root, file, format!("replicas[{i}]: count is required")))?;
        replicas(out, name, count, &cfg.replicas).map_err(|m| here(format!("replicas[{i}]: {m}")))?;
    }
    for img in k["images"].as_array().into_iter().flatten() {
        images(out, img, &cfg.images).map_err(here)?;
    }
    super::replace::replacements(root, dir, file, k, out)?;
    Ok(())
}

/// Runs patches, remembering the previous identity of any object a patch renames.
pub(crate) fn patches_tracking_names(
    out: &mut Vec<Res>,
    run: impl FnOnce(&mut Vec<Res>) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    let before: Vec<(String, Option<String>, String)> = out
        .iter()
        .map(|r| {
            (
                r.kind().to_string(),
                r.namespace().map(str::to_string),
                r.name().to_string(),
            )
        })
        .collect();
    let origins: Vec<_> = out.iter().map(|r| r.origin.clone()).collect();
    run(out)?;
    if out.len() == before.len() {
        for (r, ((kind, ns, name), origin)) in out.iter_mut().zip(before.into_iter().zip(origins)) {
            if r.origin == origin && (r.kind() != kind || r.name() != name) {
                r.prev.push((kind, ns.unwrap_or_else(|| "default".into()), name));
            }
        }
    }
    Ok(())
}

fn add_specs(specs: &mut Vec<FieldSpec>, more: &[FieldSpec]) {
    for fs in more {
        if !specs.iter().any(|s| s.gvk == fs.gvk && s.path == fs.path) {
            specs.push(fs.clone());
        }
    }
}

/// A map of strings (numbers and booleans written as YAML writes them), if `v` is a map.
pub(crate) fn string_map(v: &Value) -> Option<Map<String, Value>> {
    let m = v.as_object()?;
    Some(
        m.iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => super::replace::scalar_text(other),
                };
                (k.clone(), Value::String(s))
            })
            .collect(),
    )
}

/// Sets `entries` in the maps at `specs` (labels, annotations).
pub(crate) fn set_map_entries(
    out: &mut [Res],
    entries: &Map<String, Value>,
    specs: &[FieldSpec],
) -> Result<(), String> {
    if entries.is_empty() {
        return Ok(());
    }
    let empty = json!({});
    for r in out.iter_mut() {
        for spec in specs {
            fieldspec::apply(&mut r.obj, spec, Some(&empty), &mut |node| {
                if node.is_null() {
                    *node = json!({});
                }
                match node.as_object_mut() {
                    Some(m) => {
                        for (k, v) in entries {
                            m.insert(k.clone(), v.clone());
                        }
                        Ok(())
                    }
                    None => Err(format!("{}: expected a map", spec.path)),
                }
            })?;
        }
    }
    Ok(())
}

/// The namespace transformer: `metadata.namespace` of namespaced objects, the fields `specs`
/// name, and the namespace of RoleBinding subjects (`subjects`: `defaultOnly` (or empty),
/// `allServiceAccounts` or `none`). With `unset_only`, only empty namespaces are set.
pub(crate) fn namespace(
    out: &mut [Res],
    ns: &str,
    specs: &[FieldSpec],
    unset_only: bool,
    subjects: &str,
) -> Result<(), String> {
    if !matches!(subjects, "" | "defaultOnly" | "allServiceAccounts" | "none") {
        return Err(format!(
            "invalid value {subjects:?} for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
        ));
    }
    let set = |v: &mut Value| {
        if !unset_only || v.as_str().is_none_or(str::is_empty) {
            *v = json!(ns);
        }
    };
    for r in out.iter_mut() {
        if r.obj.as_object().is_none_or(|m| m.is_empty()) {
            continue;
        }
        r.store_prev();
        if !super::nameref::cluster_scoped(&r.obj)
            && let Some(meta) = r.obj.get_mut("metadata").and_then(Value::as_object_mut)
        {
            let v = meta.entry("namespace").or_insert(Value::Null);
            if v.is_null() {
                *v = json!("");
            }
            set(v);
        }
        let binding = matches!(r.kind(), "RoleBinding" | "ClusterRoleBinding");
        if binding && subjects != "none" {
            for s in list(&mut r.obj, &["subjects"]) {
                let wanted = if subjects == "allServiceAccounts" {
                    s["kind"] == "ServiceAccount"
                } else {
                    s["name"] == "default"
                };
                if wanted && let Some(m) = s.as_object_mut() {
                    let v = m.entry("namespace").or_insert(json!(""));
                    set(v);
                }
            }
        }
        let v1 = r.api_version() == "v1";
        for spec in specs {
            if spec.path == "metadata/namespace"
                || (spec.path == "metadata/name" && !v1)
                || (binding
                    && spec.path == "subjects/namespace"
                    && matches!(spec.gvk.kind.as_str(), "RoleBinding" | "ClusterRoleBinding"))
            {
                continue;
            }
            fieldspec::apply(&mut r.obj, spec, Some(&json!("")), &mut |v| {
                if v.is_object() || v.is_array() {
                    return Err("namespace field specs must target scalar nodes".into());
                }
                set(v);
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// A name prefix (or suffix) on the fields `specs` name, except for CustomResourceDefinitions,
/// APIServices and Namespaces.
pub(crate) fn prefix_suffix(out: &mut [Res], affix: &str, specs: &[FieldSpec], is_prefix: bool) {
    if affix.is_empty() {
        return;
    }
    for r in out.iter_mut() {
        let kind = r.org_kind().to_string();
        let skip = kind == "CustomResourceDefinition"
            || kind == "Namespace"
            || (kind == "APIService" && r.group() == "apiregistration.k8s.io");
        if skip {
            continue;
        }
        let (group, version) = {
            let (g, v) = fieldspec::group_version(&r.obj);
            (g.to_string(), v.to_string())
        };
        for spec in specs {
            if !spec.gvk.selects(&group, &version, &kind) {
                continue;
            }
            if spec.path == "metadata/name" {
                if is_prefix {
                    r.prefixes.push(affix.to_string());
                } else {
                    r.suffixes.push(affix.to_string());
                }
                r.store_prev();
            }
            let _ = fieldspec::apply(&mut r.obj, spec, None, &mut |v| {
                if let Some(s) = v.as_str() {
                    *v = json!(if is_prefix {
                        format!("{affix}{s}")
                    } else {
                        format!("{s}{affix}")
                    });
                }
                Ok(())
            });
        }
    }
}

/// Sets the replica count of objects named `name` (now or before) at `specs`.
pub(crate) fn replicas(out: &mut [Res], name: &str, count: i64, specs: &[FieldSpec]) -> Result<(), String> {
    let mut found = false;
    for spec in specs {
        for r in out.iter_mut() {
            let (group, version) = {
                let (g, v) = fieldspec::group_version(&r.obj);
                (g.to_string(), v.to_string())
            };
            let now = r.name() == name && spec.gvk.selects(&group, &version, r.kind());
            let before = r
                .prev
                .iter()
                .any(|(k, _, n)| n == name && spec.gvk.selects(&group, &version, k));
            if !(now || before) {
                continue;
            }
            found = true;
            fieldspec::apply(&mut r.obj, spec, Some(&json!(count)), &mut |v| {
                *v = json!(count);
                Ok(())
            })?;
        }
    }
    if !found {
        let gvks: Vec<String> = specs.iter().map(|s| s.gvk.kind.clone()).collect();
        return Err(format!(
            "resource with name {name} does not match a config with the following GVK {gvks:?}"
        ));
    }
    Ok(())
}

/// One `images` entry: every `containers`/`initContainers` list anywhere in an object (except
/// CustomResourceDefinitions), then the fields `specs` name.
pub(crate) fn images(out: &mut [Res], entry: &Value, specs: &[FieldSpec]) -> Result<(), String> {
    let Some(name) = entry["name"].as_str() else {
        return Ok(());
    };
    for r in out.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        containers_anywhere(&mut r.obj, &mut |image| retag(image, name, entry));
        for spec in specs {
            fieldspec::apply(&mut r.obj, spec, None, &mut |v| {
                if let Some(new) = v.as_str().and_then(|image| retag(image, name, entry)) {
                    *v = json!(new);
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn containers_anywhere(v: &mut Value, update: &mut dyn FnMut(&str) -> Option<String>) {
    match v {
        Value::Object(m) => {
            for (key, child) in m.iter_mut() {
                containers_anywhere(child, update);
                if (key == "containers" || key == "initContainers")
                    && let Value::Array(items) = child
                {
                    for c in items {
                        if let Some(new) = c.get("image").and_then(Value::as_str).and_then(&mut *update) {
                            c["image"] = json!(new);
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                containers_anywhere(item, update);
            }
        }
        _ => {}
    }
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
    if !image_matches(image, name) {
        return None;
    }
    let (base, tag, digest) = ballast_image::split_image(image);
    let mut base = base.to_string();
    let (mut tag, mut digest) = (tag.to_string(), digest.to_string());
    if let Some(n) = entry["newName"].as_str().filter(|s| !s.is_empty()) {
        base = n.to_string();
    }
    let text = |k: &str| match &entry[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => super::replace::scalar_text(other),
    };
    let (new_tag, new_digest, suffix) = (text("newTag"), text("digest"), text("tagSuffix"));
    if !new_tag.is_empty() && !new_digest.is_empty() {
        (tag, digest) = (new_tag, new_digest);
    } else if !new_tag.is_empty() {
        (tag, digest) = (new_tag, String::new());
    } else if !new_digest.is_empty() {
        (tag, digest) = (String::new(), new_digest);
    } else if !suffix.is_empty() {
        tag.push_str(&suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        base = format!("{base}:{tag}");
    }
    if !digest.is_empty() {
        base = format!("{base}@{digest}");
    }
    Some(base)
}

/// `image` is `name`, optionally with `:tag` and then `@sha256:digest`.
fn image_matches(image: &str, name: &str) -> bool {
    let Some(mut rest) = image.strip_prefix(name) else {
        return false;
    };
    let tag_char = |c: char| c.is_ascii_alphanumeric() || "_.{}-".contains(c);
    if let Some(r) = rest.strip_prefix(':') {
        let end = r.find(|c: char| !tag_char(c)).unwrap_or(r.len());
        rest = &r[end..];
    }
    if let Some(r) = rest.strip_prefix("@sha256:") {
        rest = r.trim_start_matches(tag_char);
    }
    rest.is_empty()
}

/// Every reference to a renamed object follows it (the `nameReference` table of `cfg`).
pub(crate) fn fix_name_references(out: &mut [Res], cfg: &Config) -> Result<(), String> {
    super::nameref::fix(out, &cfg.name_reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_like_kustomize() {
        let split = ballast_image::split_image;
        assert_eq!(split("nginx"), ("nginx", "", ""));
        assert_eq!(split("nginx:1.2"), ("nginx", "1.2", ""));
        assert_eq!(split("localhost:5000/app:v1"), ("localhost:5000/app", "v1", ""));
        assert_eq!(split("app@sha256:abc"), ("app", "", "sha256:abc"));
        assert_eq!(split("app:1@sha256:abc"), ("app", "1", "sha256:abc"));
        assert!(image_matches("nginx:1@sha256:ab", "nginx"));
        assert!(!image_matches("nginx-x:1", "nginx"));
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
