//! `generators`, `transformers` and `validators`: configurations of kustomize's builtin plugins
//! (`apiVersion: builtin`), given inline, in files, or as the output of a kustomization
//! directory. Each runs as the matching kustomization field would, with the field
//! specifications the configuration itself gives. Anything else (exec, container, Starlark or Go
//! plugins) is refused, by kind, and never run.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::fieldspec::{self, Config};
use super::{Res, err, resolve, strings, transform, vars};
use crate::RenderError;
use crate::root::Root;

/// The configurations listed under `field`, in order.
fn configs(
    root: &Root,
    dir: &Path,
    file: &Path,
    k: &Value,
    field: &str,
    stack: &mut Vec<PathBuf>,
    declared: &mut vars::Declared,
) -> Result<Vec<Value>, RenderError> {
    let mut out = Vec::new();
    for (i, entry) in strings(&k[field]).iter().enumerate() {
        // An entry that parses as YAML objects is an inline configuration; otherwise a path.
        let inline: Vec<Value> = root
            .parse(entry)
            .ok()
            .filter(|docs| !docs.is_empty() && docs.iter().all(|d| d.is_object() || d.is_null()))
            .unwrap_or_default();
        if inline.iter().any(Value::is_object) {
            out.extend(inline.into_iter().filter(Value::is_object));
            continue;
        }
        let path = resolve(root, dir, entry, file).map_err(|e| match e {
            RenderError::Kustomize { message, .. } => err(root, file, format!("{field}[{i}]: {message}")),
            other => other,
        })?;
        if path.is_dir() {
            let mut cfg = Config::default();
            let built = super::build_dir(root, &path, None, stack, declared, &mut cfg)?;
            out.extend(built.into_iter().map(|r| r.obj));
        } else {
            out.extend(super::load_file(root, &path)?.into_iter().map(|r| r.obj));
        }
    }
    Ok(out)
}

/// Refuses anything but a builtin plugin's configuration.
fn builtin_kind<'a>(root: &Root, file: &Path, field: &str, c: &'a Value) -> Result<&'a str, RenderError> {
    let kind = c["kind"].as_str().unwrap_or_default();
    let api = c["apiVersion"].as_str().unwrap_or_default();
    if api != "builtin" {
        return Err(err(
            root,
            file,
            format!(
                "{field}: {kind} ({api}) is not a builtin plugin; exec, container, Starlark and Go plugins are never run"
            ),
        ));
    }
    Ok(kind)
}

/// `generators`: ConfigMapGenerator and SecretGenerator configurations.
pub(crate) fn generators(
    root: &Root,
    dir: &Path,
    file: &Path,
    k: &Value,
    out: &mut Vec<Res>,
    stack: &mut Vec<PathBuf>,
    declared: &mut vars::Declared,
) -> Result<(), RenderError> {
    for c in configs(root, dir, file, k, "generators", stack, declared)? {
        let kind = builtin_kind(root, file, "generators", &c)?;
        let field = match kind {
            "ConfigMapGenerator" => "configMapGenerator",
            "SecretGenerator" => "secretGenerator",
            other => {
                return Err(err(
                    root,
                    file,
                    format!("generators: builtin {other} is not supported as a generator"),
                ));
            }
        };
        let mut g = c.clone();
        if let Some(m) = g.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
            m.remove("metadata");
            m.insert("name".into(), c["metadata"]["name"].clone());
            if let Some(ns) = c["metadata"]["namespace"].as_str() {
                m.insert("namespace".into(), json!(ns));
            }
        }
        super::generate::generators(root, dir, file, &json!({ field: [g] }), out)?;
    }
    Ok(())
}

/// `transformers`, then `validators` (which must leave every object as it was).
pub(crate) fn transformers(
    root: &Root,
    dir: &Path,
    file: &Path,
    k: &Value,
    out: &mut Vec<Res>,
    stack: &mut Vec<PathBuf>,
    declared: &mut vars::Declared,
) -> Result<(), RenderError> {
    for c in configs(root, dir, file, k, "transformers", stack, declared)? {
        let kind = builtin_kind(root, file, "transformers", &c)?;
        run(root, dir, file, kind, &c, out)?;
    }
    for c in configs(root, dir, file, k, "validators", stack, declared)? {
        let kind = builtin_kind(root, file, "validators", &c)?;
        let mut copy = out.clone();
        run(root, dir, file, kind, &c, &mut copy)?;
        let same = copy.len() == out.len() && copy.iter().zip(out.iter()).all(|(a, b)| a.obj == b.obj);
        if !same {
            return Err(err(
                root,
                file,
                format!("validators: {kind}: validator shouldn't modify the resource map"),
            ));
        }
    }
    Ok(())
}

/// Runs one builtin transformer configuration.
fn run(root: &Root, dir: &Path, file: &Path, kind: &str, c: &Value, out: &mut Vec<Res>) -> Result<(), RenderError> {
    let here = |m: String| err(root, file, format!("transformers: {kind}: {m}"));
    let specs = || fieldspec::parse_specs(&c["fieldSpecs"]).map_err(here);
    match kind {
        "AnnotationsTransformer" | "LabelTransformer" => {
            let key = if kind == "LabelTransformer" {
                "labels"
            } else {
                "annotations"
            };
            if let Some(pairs) = transform::string_map(&c[key]) {
                transform::set_map_entries(out, &pairs, &specs()?).map_err(here)?;
            }
        }
        "NamespaceTransformer" => {
            let ns = c["metadata"]["namespace"].as_str().unwrap_or_default();
            if !ns.is_empty() {
                let unset_only = c["unsetOnly"].as_bool().unwrap_or(false);
                let subjects = c["setRoleBindingSubjects"].as_str().unwrap_or_default();
                transform::namespace(out, ns, &specs()?, unset_only, subjects).map_err(here)?;
            }
        }
        "PrefixTransformer" => {
            transform::prefix_suffix(out, c["prefix"].as_str().unwrap_or_default(), &specs()?, true);
        }
        "PrefixSuffixTransformer" => {
            let specs = specs()?;
            transform::prefix_suffix(out, c["prefix"].as_str().unwrap_or_default(), &specs, true);
            transform::prefix_suffix(out, c["suffix"].as_str().unwrap_or_default(), &specs, false);
        }
        "SuffixTransformer" => {
            transform::prefix_suffix(out, c["suffix"].as_str().unwrap_or_default(), &specs()?, false);
        }
        "ImageTagTransformer" => transform::images(out, &c["imageTag"], &specs()?).map_err(here)?,
        "ReplicaCountTransformer" => {
            let name = c["replica"]["name"].as_str().unwrap_or_default();
            let count = c["replica"]["count"].as_i64().unwrap_or(0);
            transform::replicas(out, name, count, &specs()?).map_err(here)?;
        }
        "PatchTransformer" => {
            let mut p = serde_json::Map::new();
            for key in ["patch", "path", "target", "options"] {
                if !c[key].is_null() {
                    p.insert(key.into(), c[key].clone());
                }
            }
            let k = json!({ "patches": [p] });
            transform::patches_tracking_names(out, |out| {
                super::patch::strategic_and_patches(root, dir, file, &k, out)
            })?;
        }
        "PatchStrategicMergeTransformer" => {
            let mut entries = strings(&c["paths"]);
            if let Some(inline) = c["patches"].as_str() {
                entries.push(inline.to_string());
            }
            let k = json!({ "patchesStrategicMerge": entries });
            transform::patches_tracking_names(out, |out| {
                super::patch::strategic_and_patches(root, dir, file, &k, out)
            })?;
        }
        "PatchJson6902Transformer" => {
            let mut p = json!({ "target": c["target"] });
            if let Some(path) = c["path"].as_str() {
                p["path"] = json!(path);
            }
            if let Some(op) = c["jsonOp"].as_str() {
                p["patch"] = json!(op);
            }
            super::patch::json6902_legacy(root, dir, file, &json!({ "patchesJson6902": [p] }), out)?;
        }
        "ReplacementTransformer" => {
            let k = json!({ "replacements": c["replacements"] });
            super::replace::replacements(root, dir, file, &k, out)?;
        }
        "HashTransformer" => {
            for r in out.iter_mut().filter(|r| r.hashed) {
                let hash = super::generate::content_hash(&r.obj);
                let name = format!("{}-{hash}", r.name());
                r.store_prev();
                r.set_name(name);
            }
        }
        other => {
            return Err(err(
                root,
                file,
                // SortOrderTransformer, too: kustomize takes it from sortOptions only.
                format!("transformers: builtin {other} is not supported"),
            ));
        }
    }
    Ok(())
}
