//! `ballast render UNIT --out DIR | --check DIR`: the rendered-manifests pattern. A unit (a
//! Helmfile environment, a chart, a Kustomize or plain path) is rendered and written one
//! file per object, so CI can commit the result to a GitOps repository that Ballast (or Flux)
//! then syncs like any other.
//!
//! Objects a chart renders without a namespace are given the release namespace when their
//! kind is namespaced (built-in kinds, or kinds whose CRD is in the same render), as `helm
//! install` would place them, so the written files deploy where Helm would have put them;
//! kinds of unknown scope are left as rendered.
//!
//! Layout, deterministic for the same objects: `<namespace>/<kind>[.<group>]-<name>.yaml`
//! (lowercase kind; `_` for objects that state no namespace), each file the object as the
//! kubectl-style emitter writes it. `DIR/.ballast-render` lists the files written, sorted; a
//! later run removes the files it listed that no longer render (and only those: other files
//! in DIR are left alone). `--check` writes nothing and exits 1 when DIR differs.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use ballast_core::{Manifest, Origin};
use ballast_render::scope::WithCrds;
use ballast_render::{BuiltinScopes, RenderSpec, Scope, Scopes, render_plain};
use serde_json::Value;

use crate::cli::RenderUnitArgs;

/// The file listing what a render wrote, inside the output directory.
pub const MANIFEST: &str = ".ballast-render";

/// Without a cluster, kinds we do not know are taken as namespaced.
struct AssumeNamespaced;

impl Scopes for AssumeNamespaced {
    fn scope(&self, group: &str, kind: &str) -> Option<Scope> {
        BuiltinScopes.scope(group, kind).or(Some(Scope::Namespaced))
    }
}

/// What a unit path is.
enum Unit {
    Helmfile(PathBuf),
    Chart(PathBuf),
    Plain(PathBuf),
}

fn classify(path: &Path) -> Result<Unit> {
    if path.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".tgz") {
            return Ok(Unit::Chart(path.to_path_buf()));
        }
        return Ok(Unit::Helmfile(path.to_path_buf()));
    }
    if !path.is_dir() {
        bail!("{}: no such file or directory", path.display());
    }
    if path.join("Chart.yaml").is_file() {
        return Ok(Unit::Chart(path.to_path_buf()));
    }
    for f in ["helmfile.yaml", "helmfile.yaml.gotmpl", "helmfile.d"] {
        if path.join(f).exists() {
            return Ok(Unit::Helmfile(path.join(f)));
        }
    }
    Ok(Unit::Plain(path.to_path_buf()))
}

/// The objects of a rendered YAML stream (empty documents dropped).
fn objects_of(text: &str) -> Result<Vec<Value>> {
    let docs = ballast_render::yaml::parse_stream(text).map_err(|e| anyhow::anyhow!("rendered output: {e}"))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn render_unit(args: &RenderUnitArgs) -> Result<Vec<Value>> {
    match classify(&args.unit)? {
        Unit::Helmfile(file) => {
            let opts = ballast_helmfile::Options {
                file: Some(file),
                environment: args.environment.clone().unwrap_or_default(),
                selectors: args.selector.clone(),
                state_values_files: args.state_values_file.clone(),
                state_values_set: args.state_values_set.clone(),
                cache_dir: Some(crate::pipeline::ballast_cache_dir()),
            };
            let mut released = Vec::new();
            for v in ballast_helmfile::visit(&opts)? {
                for r in ballast_helmfile::to_render(&v) {
                    let text = ballast_helmfile::render_release(&v.state, r)?;
                    released.push((objects_of(&text)?, r.namespace.clone()));
                }
            }
            Ok(in_release_namespaces(released))
        }
        Unit::Chart(chart) => {
            let name = match &args.release {
                Some(n) => n.clone(),
                None => chart
                    .file_stem()
                    .map(|s| s.to_string_lossy().trim_end_matches(".tar").to_string())
                    .unwrap_or_else(|| "release-name".into()),
            };
            let opts = ballast_helm::TemplateOptions {
                release_name: name,
                namespace: args.namespace.clone(),
                include_crds: true,
                values: ballast_helm::values::ValueOptions {
                    files: args.values.clone(),
                    ..Default::default()
                },
                ..Default::default()
            };
            let text = ballast_helm::template(&chart, &opts)?;
            Ok(in_release_namespaces(vec![(
                objects_of(&text)?,
                args.namespace.clone(),
            )]))
        }
        Unit::Plain(dir) => {
            let spec = RenderSpec {
                path: PathBuf::from("."),
                target_namespace: None,
                default_namespace: None,
                ignore: None,
                limits: args.render.limits(),
                decrypt: args.render.decrypt()?,
            };
            Ok(render_plain(&dir, &spec, &AssumeNamespaced)?
                .into_iter()
                .map(|m| m.object)
                .collect())
        }
    }
}

/// Each release's objects, those of a namespaced kind without a namespace placed in the
/// release's namespace (`default` when it names none).
fn in_release_namespaces(released: Vec<(Vec<Value>, String)>) -> Vec<Value> {
    let all: Vec<Manifest> = released
        .iter()
        .flat_map(|(objs, _)| objs.iter())
        .enumerate()
        .filter_map(|(i, o)| {
            Manifest::new(
                o.clone(),
                Origin {
                    file: PathBuf::from("rendered"),
                    document: i,
                },
            )
            .ok()
        })
        .collect();
    let scopes = WithCrds::new(&BuiltinScopes, &all);
    let mut out = Vec::new();
    for (objs, ns) in released {
        let ns = if ns.is_empty() { "default".to_string() } else { ns };
        for mut o in objs {
            let api = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let group = api.rsplit_once('/').map(|(g, _)| g).unwrap_or("").to_string();
            let kind = o.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
            let missing = o
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
            if missing
                && scopes.scope(&group, &kind) == Some(Scope::Namespaced)
                && let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), Value::String(ns.clone()));
            }
            out.push(o);
        }
    }
    out
}

/// A safe path element from an object field (no separators, never `.`/`..`, never empty).
fn element(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => "_".into(),
        _ => cleaned,
    }
}

/// The file of an object, relative to the output directory.
pub fn file_of(obj: &Value) -> String {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
    let kind = s("/kind").to_lowercase();
    let group = s("/apiVersion").rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let ns = s("/metadata/namespace");
    let kind = if group.is_empty() {
        kind
    } else {
        format!("{kind}.{group}")
    };
    format!(
        "{}/{}-{}.yaml",
        element(if ns.is_empty() { "_" } else { ns }),
        element(&kind),
        element(s("/metadata/name"))
    )
}

/// The files a render owns: path → content; errors when two objects map to one file.
fn layout(objects: &[Value]) -> Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    for obj in objects {
        let path = file_of(obj);
        let text = ballast_render::emit::to_yaml(obj);
        if files.insert(path.clone(), text).is_some() {
            bail!("two rendered objects would be written to the same file {path} (same kind, namespace and name)");
        }
    }
    Ok(files)
}

fn manifest_text(files: &BTreeMap<String, String>) -> String {
    let mut s =
        String::from("# Files written by `ballast render`; a later render removes those it no longer writes.\n");
    for p in files.keys() {
        s.push_str(p);
        s.push('\n');
    }
    s
}

/// The files a previous render listed (only plain relative paths are trusted).
fn previous(dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join(MANIFEST)) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| Path::new(l).components().all(|c| matches!(c, Component::Normal(_))))
        .map(str::to_string)
        .collect()
}

/// Writes `files` into `dir`, removing what the previous render listed and this one does
/// not. Returns (written, unchanged, removed).
fn write_out(dir: &Path, files: &BTreeMap<String, String>) -> Result<(usize, usize, usize)> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let (mut written, mut unchanged, mut removed) = (0, 0, 0);
    for (rel, text) in files {
        let path = dir.join(rel);
        if std::fs::read_to_string(&path).is_ok_and(|old| &old == text) {
            unchanged += 1;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
        written += 1;
    }
    for rel in previous(dir) {
        if files.contains_key(&rel) {
            continue;
        }
        let path = dir.join(&rel);
        if path.is_file() {
            std::fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?;
            removed += 1;
            // Remove directories left empty, up to the output directory.
            let mut parent = path.parent();
            while let Some(p) = parent {
                if p == dir || std::fs::remove_dir(p).is_err() {
                    break;
                }
                parent = p.parent();
            }
        }
    }
    std::fs::write(dir.join(MANIFEST), manifest_text(files))
        .with_context(|| format!("write {}", dir.join(MANIFEST).display()))?;
    Ok((written, unchanged, removed))
}

/// What differs between `dir` and `files`, one line each.
fn check(dir: &Path, files: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, text) in files {
        match std::fs::read_to_string(dir.join(rel)) {
            Ok(old) if &old == text => {}
            Ok(_) => out.push(format!("changed: {rel}")),
            Err(_) => out.push(format!("missing: {rel}")),
        }
    }
    for rel in previous(dir) {
        if !files.contains_key(&rel) && dir.join(&rel).is_file() {
            out.push(format!("no longer rendered: {rel}"));
        }
    }
    if std::fs::read_to_string(dir.join(MANIFEST)).ok().as_deref() != Some(manifest_text(files).as_str()) {
        out.push(format!("changed: {MANIFEST}"));
    }
    out
}

/// Exit 0: written, or up to date; 1: `--check` found DIR out of date; 2: the render failed.
pub fn run(args: &RenderUnitArgs) -> Result<u8> {
    let files = match render_unit(args).and_then(|objs| layout(&objs)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("Error: {e:#}");
            return Ok(2);
        }
    };
    if let Some(dir) = &args.check {
        let diffs = check(dir, &files);
        if diffs.is_empty() {
            eprintln!("{} is up to date ({} objects)", dir.display(), files.len());
            return Ok(0);
        }
        for d in &diffs {
            eprintln!("{d}");
        }
        eprintln!("{} is out of date: run ballast render with --out", dir.display());
        return Ok(1);
    }
    let Some(dir) = &args.out else {
        bail!("--out or --check is required")
    };
    let (written, unchanged, removed) = write_out(dir, &files)?;
    eprintln!(
        "{}: {} objects ({written} written, {unchanged} unchanged, {removed} removed)",
        dir.display(),
        files.len()
    );
    Ok(0)
}
