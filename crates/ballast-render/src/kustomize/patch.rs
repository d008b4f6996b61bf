//! Patches: strategic merge (built-in kinds by their OpenAPI definitions; custom resources with
//! lists replaced) and JSON 6902, selected by name or by a target selector.

use std::path::Path;

use serde_json::Value;

use super::{Res, err, resolve, strings};
use crate::RenderError;
use crate::decrypt::FileUse;
use crate::root::Root;

/// `patchesStrategicMerge` and `patches`.
pub(crate) fn strategic_and_patches(
    root: &Root,
    dir: &Path,
    file: &Path,
    k: &Value,
    out: &mut Vec<Res>,
) -> Result<(), RenderError> {
    for (i, entry) in strings(&k["patchesStrategicMerge"]).iter().enumerate() {
        let what = format!("patchesStrategicMerge[{i}]");
        let text = inline_or_file(root, dir, file, entry, &what)?;
        for doc in docs(root, file, &text, &what)? {
            apply_smp_by_name(root, file, &doc, out, &what)?;
        }
    }
    for (i, entry) in k["patches"].as_array().into_iter().flatten().enumerate() {
        let what = format!("patches[{i}]");
        let text = match (entry["patch"].as_str(), entry["path"].as_str()) {
            (Some(p), _) => p.to_string(),
            (None, Some(path)) => read(root, dir, file, path, &what)?,
            (None, None) => return Err(err(root, file, format!("{what}: patch or path is required"))),
        };
        let parsed = docs(root, file, &text, &what)?;
        let is_json6902 = parsed.len() == 1 && parsed[0].is_array();
        match (is_json6902, entry.get("target").filter(|t| t.is_object())) {
            (true, Some(target)) => {
                let ops = parsed[0].clone();
                for r in select(root, file, target, out, &what)? {
                    json6902(root, file, &mut out[r], &ops, &what)?;
                }
            }
            (true, None) => return Err(err(root, file, format!("{what}: a JSON 6902 patch needs a target"))),
            (false, Some(target)) => {
                for doc in &parsed {
                    for r in select(root, file, target, out, &what)? {
                        merge_into(&mut out[r], doc);
                    }
                }
                remove_deleted(out);
            }
            (false, None) => {
                for doc in &parsed {
                    apply_smp_by_name(root, file, doc, out, &what)?;
                }
            }
        }
    }
    Ok(())
}

/// `patchesJson6902`.
pub(crate) fn json6902_legacy(
    root: &Root,
    dir: &Path,
    file: &Path,
    k: &Value,
    out: &mut [Res],
) -> Result<(), RenderError> {
    for (i, entry) in k["patchesJson6902"].as_array().into_iter().flatten().enumerate() {
        let what = format!("patchesJson6902[{i}]");
        let text = match (entry["patch"].as_str(), entry["path"].as_str()) {
            (Some(p), _) => p.to_string(),
            (None, Some(path)) => read(root, dir, file, path, &what)?,
            (None, None) => return Err(err(root, file, format!("{what}: patch or path is required"))),
        };
        let ops = docs(root, file, &text, &what)?
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        let targets = select(root, file, &entry["target"], out, &what)?;
        if targets.is_empty() {
            return Err(err(root, file, format!("{what}: the target matches no resource")));
        }
        for r in targets {
            json6902(root, file, &mut out[r], &ops, &what)?;
        }
    }
    Ok(())
}

fn inline_or_file(root: &Root, dir: &Path, file: &Path, entry: &str, what: &str) -> Result<String, RenderError> {
    if entry.contains('\n') || entry.trim_start().starts_with('{') {
        Ok(entry.to_string())
    } else {
        read(root, dir, file, entry, what)
    }
}

fn read(root: &Root, dir: &Path, file: &Path, path: &str, what: &str) -> Result<String, RenderError> {
    let p = resolve(root, dir, path, file)?;
    let text = root.read(&p).map_err(|e| err(root, file, format!("{what}: {e}")))?;
    if root.decryptor().is_none() {
        return Ok(text);
    }
    let bytes = root
        .decrypt_file(&p, text.into_bytes(), FileUse::Patch(path))
        .map_err(|e| err(root, file, format!("{what}: {e}")))?;
    String::from_utf8(bytes).map_err(|_| err(root, file, format!("{what}: decrypted patch is not UTF-8")))
}

fn docs(root: &Root, file: &Path, text: &str, what: &str) -> Result<Vec<Value>, RenderError> {
    let parsed = root.parse(text).map_err(|e| err(root, file, format!("{what}: {e}")))?;
    Ok(parsed.into_iter().filter(|d| !d.is_null()).collect())
}

fn apply_smp_by_name(
    root: &Root,
    file: &Path,
    patch: &Value,
    out: &mut Vec<Res>,
    what: &str,
) -> Result<(), RenderError> {
    let kind = patch["kind"].as_str().unwrap_or_default();
    let name = patch
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ns = patch
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or("default");
    let api_version = patch["apiVersion"].as_str().unwrap_or_default();
    // As kustomize: the object whose current or any previous identity is the patch's (apiVersion,
    // kind, name, and namespace, where none means `default`; cluster-scoped kinds have none).
    let matches: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, r)| r.api_version() == api_version)
        .filter(|(_, r)| {
            let cluster = super::nameref::cluster_scoped(&r.obj);
            let current = (r.kind(), r.namespace().unwrap_or("default"), r.name());
            std::iter::once(current)
                .chain(r.prev.iter().map(|(k, n, m)| (k.as_str(), n.as_str(), m.as_str())))
                .any(|(k, n, m)| k == kind && m == name && (cluster || n == ns))
        })
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [one] => {
            merge_into(&mut out[*one], patch);
            remove_deleted(out);
            Ok(())
        }
        [] => Err(err(root, file, format!("{what}: no resource matches {kind}/{name}"))),
        _ => Err(err(
            root,
            file,
            format!("{what}: {kind}/{name} matches more than one resource; set a namespace"),
        )),
    }
}

/// Indices of the resources a `target` selects.
fn select(root: &Root, file: &Path, target: &Value, out: &[Res], what: &str) -> Result<Vec<usize>, RenderError> {
    let anchored = |field: &str| -> Result<Option<regex::Regex>, RenderError> {
        match target[field].as_str() {
            Some(p) => regex::Regex::new(&format!("^(?:{p})$"))
                .map(Some)
                .map_err(|e| err(root, file, format!("{what}: target.{field}: {e}"))),
            None => Ok(None),
        }
    };
    let (name, namespace) = (anchored("name")?, anchored("namespace")?);
    let labels = selector(target["labelSelector"].as_str());
    let annotations = selector(target["annotationSelector"].as_str());
    Ok(out
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let version = r.api_version().rsplit('/').next().unwrap_or("");
            target["kind"].as_str().is_none_or(|k| k == r.kind())
                && target["group"].as_str().is_none_or(|g| g == r.group())
                && target["version"].as_str().is_none_or(|v| v == version)
                && name
                    .as_ref()
                    .is_none_or(|re| re.is_match(r.name()) || re.is_match(&r.orig_name))
                && namespace.as_ref().is_none_or(|re| {
                    // The original or current namespace, empty meaning `default`; cluster-scoped
                    // objects have none to match.
                    let cluster = super::nameref::cluster_scoped(&r.obj);
                    let current = r.namespace().unwrap_or("default");
                    let original = r.prev.first().map(|p| p.1.as_str()).unwrap_or(current);
                    !cluster && (re.is_match(original) || re.is_match(current))
                })
                && labels.iter().all(|c| c.matches(r.obj.pointer("/metadata/labels")))
                && annotations
                    .iter()
                    .all(|c| c.matches(r.obj.pointer("/metadata/annotations")))
        })
        .map(|(i, _)| i)
        .collect())
}

struct Requirement {
    key: String,
    value: Option<String>,
    negate: bool,
}

impl Requirement {
    fn matches(&self, map: Option<&Value>) -> bool {
        let actual = map.and_then(|m| m.get(&self.key)).and_then(Value::as_str);
        let hit = match &self.value {
            Some(v) => actual == Some(v.as_str()),
            None => actual.is_some(),
        };
        hit != self.negate
    }
}

/// True if the labels or annotations `map` satisfy the selector `text` (`a=b,c!=d,e,!f`).
pub(crate) fn selector_matches(text: &str, map: Option<&Value>) -> bool {
    selector(Some(text)).iter().all(|c| c.matches(map))
}

/// Equality-based selectors: `a=b,c!=d,e`.
fn selector(text: Option<&str>) -> Vec<Requirement> {
    text.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if let Some((k, v)) = s.split_once("!=") {
                Requirement {
                    key: k.trim().into(),
                    value: Some(v.trim().into()),
                    negate: true,
                }
            } else if let Some((k, v)) = s.split_once("==").or_else(|| s.split_once('=')) {
                Requirement {
                    key: k.trim().into(),
                    value: Some(v.trim().into()),
                    negate: false,
                }
            } else if let Some(k) = s.strip_prefix('!') {
                Requirement {
                    key: k.trim().into(),
                    value: None,
                    negate: true,
                }
            } else {
                Requirement {
                    key: s.into(),
                    value: None,
                    negate: false,
                }
            }
        })
        .collect()
}

fn json6902(root: &Root, file: &Path, r: &mut Res, ops: &Value, what: &str) -> Result<(), RenderError> {
    // Validate the whole patch first, then apply it one operation at a time: as with
    // kustomize's JSON patch library, `replace` of a missing key of a map adds it.
    let _: json_patch::Patch =
        serde_json::from_value(ops.clone()).map_err(|e| err(root, file, format!("{what}: {e}")))?;
    for op in ops.as_array().into_iter().flatten() {
        let mut op = op.clone();
        // `test` of a missing key for null passes, as in kustomize's patch library.
        if op["op"] == "test"
            && op["value"].is_null()
            && let Some(path) = op["path"].as_str()
            && r.obj.pointer(path).is_none()
            && let Some((parent, _)) = path.rsplit_once('/')
            && r.obj.pointer(parent).is_some_and(Value::is_object)
        {
            continue;
        }
        if op["op"] == "replace"
            && let Some(path) = op["path"].as_str()
            && r.obj.pointer(path).is_none()
            && let Some((parent, _)) = path.rsplit_once('/')
            && r.obj.pointer(parent).is_some_and(Value::is_object)
        {
            op["op"] = Value::String("add".into());
        }
        let patch: json_patch::Patch =
            serde_json::from_value(Value::Array(vec![op])).map_err(|e| err(root, file, format!("{what}: {e}")))?;
        json_patch::patch(&mut r.obj, &patch)
            .map_err(|e| err(root, file, format!("{what}: {}/{}: {e}", r.kind(), r.name())))?;
    }
    Ok(())
}

fn remove_deleted(out: &mut Vec<Res>) {
    out.retain(|r| r.obj.get("$patch").and_then(Value::as_str) != Some("delete"));
}

/// Strategic merge (see [`super::smp`]): by the OpenAPI definitions for built-in kinds, lists
/// replaced for custom resources. The patch's identity is the target's: its name, namespace,
/// apiVersion and kind are taken from `base`, so they never rename or move it. A patch that
/// deletes the resource marks it with `$patch: delete` for [`remove_deleted`].
fn merge_into(res: &mut Res, patch: &Value) {
    let explicit = res.explicit_nulls.clone();
    let base = &mut res.obj;
    let mut patch = patch.clone();
    if let Some(p) = patch.as_object_mut() {
        for key in ["apiVersion", "kind"] {
            if let Some(v) = base.get(key) {
                p.insert(key.to_string(), v.clone());
            }
        }
        if let Some(m) = p.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in ["name", "namespace"] {
                match base.pointer(&format!("/metadata/{key}")) {
                    Some(v) => {
                        m.insert(key.to_string(), v.clone());
                    }
                    None => {
                        m.remove(key);
                    }
                }
            }
        }
    }
    match super::smp::merge_resource(base, &patch) {
        Some(mut v) => {
            super::smp::drop_null_fields(&mut v, &explicit);
            super::smp::dedupe_keyed_lists(&mut v);
            *base = v;
        }
        None => base["$patch"] = Value::String("delete".into()),
    }
}
