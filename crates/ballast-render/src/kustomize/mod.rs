//! A native Kustomize engine: builds a directory with a `kustomization.yaml` into the objects
//! `kustomize build` (v5) produces, in the same order.
//!
//! Supported: `resources` (files, directories, nested kustomizations; any `FooList` is replaced
//! by its items), `bases`, `namespace`, `namePrefix`, `nameSuffix`, `commonLabels`, `labels`,
//! `commonAnnotations`, `images`, `replicas`, `configMapGenerator`, `secretGenerator`,
//! `generatorOptions`, `patches` (strategic merge or JSON 6902, inline or from a file, with target
//! selectors), `patchesStrategicMerge`, `patchesJson6902`, `replacements`, `vars`, `crds`
//! (name-reference extensions), `components`, `sortOptions`, `configurations`, `helmCharts` and
//! `helmGlobals` (local charts inflated by the native Helm engine, see `helm`), and
//! `generators`/`transformers`/`validators` holding kustomize's builtin plugin configurations
//! (see `plugins`). The builtin transformers, name references and vars work from kustomize's
//! field-spec tables (`fieldspec`, `builtin_fieldspecs.yaml`) plus `configurations:`. Strategic
//! merge follows the Kubernetes OpenAPI definitions (see `smp`). Output is in kustomize's legacy
//! order unless `sortOptions` says otherwise. Other fields are refused with an error naming them.
//!
//! Safety: nothing outside the repository root is read: every file (kustomization files
//! themselves, resources, patches, generator files and env files, components, replacement
//! sources, `crds`, `configurations`, plugin configurations) is read through [`Root`], which
//! follows symlinks and refuses a target outside the root, and within its [`Limits`]; `openapi` is refused without being
//! read. Remote resources are refused, a cycle of kustomizations is an error, and every error
//! names the kustomization file and the entry at fault, never a generator literal.

#[cfg(test)]
mod confine_tests;
mod fieldspec;
mod generate;
mod helm;
mod nameref;
mod order;
mod patch;
mod plugins;
mod replace;
mod smp;
mod transform;
mod vars;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use ballast_core::{Manifest, Origin};
use serde_json::Value;

use self::fieldspec::Config;
use crate::RenderError;
use crate::limits::Limits;
use crate::root::Root;

/// File names that make a directory a kustomization.
pub const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file of `dir`, if it has one. A symlink counts even when its target is
/// outside the root or missing, so that reading it fails instead of the directory being taken
/// for a plain one.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| fs::symlink_metadata(p).is_ok_and(|m| !m.is_dir()))
}

/// One resource while building: the object, where it came from, and its identity before any
/// renaming (references to it use that name).
#[derive(Clone, Debug)]
pub(crate) struct Res {
    pub obj: Value,
    pub origin: Origin,
    pub orig_name: String,
    /// Generated ConfigMap/Secret whose name gets the content hash at the end.
    pub hashed: bool,
    /// Every previous identity, oldest first: (kind, namespace or `default`, name). Name
    /// references find renamed objects through these.
    pub prev: Vec<(String, String, String)>,
    /// Name prefixes and suffixes applied, in order.
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// JSON pointers of fields written as an explicit `null` in the source (kept by patches,
    /// where empty ones go).
    pub explicit_nulls: Vec<String>,
}

impl Res {
    pub fn new(obj: Value, origin: Origin) -> Res {
        let orig_name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Res {
            obj,
            origin,
            orig_name,
            hashed: false,
            prev: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            explicit_nulls: Vec::new(),
        }
    }
    /// Remembers the current identity before a change of name or namespace.
    pub fn store_prev(&mut self) {
        let ns = self.namespace().unwrap_or("default").to_string();
        let id = (self.kind().to_string(), ns, self.name().to_string());
        self.prev.push(id);
    }
    /// The kind this object had first.
    pub fn org_kind(&self) -> &str {
        self.prev.first().map(|p| p.0.as_str()).unwrap_or_else(|| self.kind())
    }
    pub fn kind(&self) -> &str {
        self.obj["kind"].as_str().unwrap_or_default()
    }
    pub fn api_version(&self) -> &str {
        self.obj["apiVersion"].as_str().unwrap_or_default()
    }
    pub fn group(&self) -> &str {
        self.api_version().rsplit_once('/').map(|(g, _)| g).unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
    pub fn namespace(&self) -> Option<&str> {
        self.obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
    pub fn set_name(&mut self, name: String) {
        self.obj["metadata"]["name"] = Value::String(name);
    }
    /// `(kind, namespace, original name, current name)` if the resource was renamed.
    pub fn rename(&self) -> Option<Rename> {
        (self.name() != self.orig_name).then(|| {
            (
                self.kind().to_string(),
                self.namespace().map(str::to_string),
                self.orig_name.clone(),
                self.name().to_string(),
            )
        })
    }
}

/// A renamed resource: kind, namespace, original name, current name.
pub(crate) type Rename = (String, Option<String>, String, String);

/// Builds the kustomization in `dir` (inside `root`) within the default [`Limits`].
pub fn build(root: &Path, dir: &Path) -> Result<Vec<Manifest>, RenderError> {
    build_in(&Root::new(root, Limits::default())?, dir)
}

/// Builds the kustomization in `dir`, reading only files inside `root`, within its limits.
pub fn build_in(root: &Root, dir: &Path) -> Result<Vec<Manifest>, RenderError> {
    build_edited(root, dir, None)
}

/// Builds the kustomization in `dir` with Flux's Kustomization-level `overrides` (if any) merged
/// into its top-level kustomization file in memory, as Flux's kustomize-controller writes them
/// into that file before building (see [`merge_flux_overrides`]): they run in kustomize's one
/// transformer order together with the file's own fields, after its own components. Nothing is
/// written to disk; kustomizations the file includes are read as they are.
pub fn build_edited(root: &Root, dir: &Path, overrides: Option<&Value>) -> Result<Vec<Manifest>, RenderError> {
    let mut stack = Vec::new();
    let mut declared = vars::Declared::default();
    let mut cfg = Config::default();
    let mut resources = build_dir(root, dir, overrides, &mut stack, &mut declared, &mut cfg)?;
    let dir = root.confine(dir)?;
    let file = kustomization_file(&dir).ok_or_else(|| RenderError::PathNotFound(rel(root, &dir)))?;
    finish(&mut resources, &cfg).map_err(|m| err(root, &file, m))?;
    vars::crd_name_references(&declared.name_refs, &mut resources);
    vars::resolve(root, &declared.vars, &cfg.var_reference, &mut resources)?;
    let mut k = read_kustomization(root, &file)?;
    if let Some(o) = overrides {
        merge_flux_overrides(&mut k, o);
    }
    order::sort(root, &file, &k, &mut resources)?;
    resources
        .into_iter()
        .map(|r| Manifest::new(r.obj, r.origin).map_err(RenderError::from))
        .collect()
}

/// Applies Flux's Kustomization-level overrides to rendered objects, as Flux does by writing them
/// into the kustomization file at the Kustomization's path: `components` (relative to
/// `base_dir`) first, then the transformers in the order kustomize runs them from one file:
/// the deprecated `patchesStrategicMerge`, `patches` (strategic merge or JSON 6902 with
/// targets), `namespace` (Flux's `targetNamespace`:
/// kustomize's namespace transformer, so besides `metadata.namespace` of every object kustomize
/// takes as namespaced it renames `Namespace` objects, moves RoleBinding/ClusterRoleBinding
/// subjects named `default`, APIService services and CRD conversion webhook services, and leaves
/// the other cluster-scoped objects alone), `namePrefix`, `nameSuffix`, the deprecated
/// `patchesJson6902`, `images`, then
/// `commonMetadata` (labels and annotations on each object's metadata only). References to
/// renamed objects follow. `origin` names the source of the overrides in errors.
pub fn apply_overrides(
    root: &Path,
    base_dir: &Path,
    manifests: Vec<Manifest>,
    overrides: &Value,
    origin: &Path,
) -> Result<Vec<Manifest>, RenderError> {
    let root = &Root::new(root, Limits::default())?;
    let base_dir = root.confine(base_dir)?;
    let mut out: Vec<Res> = manifests.into_iter().map(|m| Res::new(m.object, m.origin)).collect();
    // Components first (paths relative to the Kustomization's path), as Flux's wrapper does.
    let mut cfg = Config::builtin().clone();
    for entry in strings(&overrides["components"]) {
        let path = resolve(root, &base_dir, &entry, origin)?;
        apply_component(
            root,
            &path,
            &mut out,
            &mut Vec::new(),
            &mut vars::Declared::default(),
            &mut cfg,
        )?;
    }
    let k = serde_json::json!({
        "namespace": overrides["namespace"],
        "namePrefix": overrides["namePrefix"],
        "nameSuffix": overrides["nameSuffix"],
        "images": overrides["images"],
        "patches": overrides["patches"],
        "patchesStrategicMerge": overrides["patchesStrategicMerge"],
        "patchesJson6902": overrides["patchesJson6902"],
    });
    transform::apply_all(root, root, origin, &k, &mut out, &cfg)?;
    for field in ["labels", "annotations"] {
        if let Some(add) = overrides
            .pointer(&format!("/commonMetadata/{field}"))
            .and_then(Value::as_object)
        {
            for r in out.iter_mut() {
                let meta = r.obj["metadata"].as_object_mut();
                if let Some(meta) = meta {
                    let m = meta.entry(field).or_insert_with(|| Value::Object(Default::default()));
                    if let Some(m) = m.as_object_mut() {
                        m.extend(add.clone());
                    }
                }
            }
        }
    }
    transform::fix_name_references(&mut out, &cfg).map_err(|m| err(root, origin, m))?;
    out.into_iter()
        .map(|r| Manifest::new(r.obj, r.origin).map_err(RenderError::from))
        .collect()
}

/// Merges Flux's Kustomization-level `overrides` (`namespace` for `targetNamespace`,
/// `namePrefix`, `nameSuffix`, `patches`, the deprecated `patchesStrategicMerge` and
/// `patchesJson6902`, `components`, `images`) into the kustomization `k` as Flux's
/// kustomize-controller does when the path has a kustomization file of its own: a `namespace`,
/// `namePrefix` or `nameSuffix` given replaces the file's; the patch lists and `components` are
/// appended after the file's own; an image merges into the file's entry of the
/// same `name` like an overlay (its `newName` if set, its `newTag` and `digest` together if
/// either is set), else it is appended. Other keys (`commonMetadata`, which Flux sets after the
/// build) are ignored.
pub fn merge_flux_overrides(k: &mut Value, overrides: &Value) {
    let Some(map) = k.as_object_mut() else {
        return;
    };
    for field in ["namespace", "namePrefix", "nameSuffix"] {
        if let Some(v) = overrides[field].as_str() {
            map.insert(field.into(), Value::String(v.into()));
        }
    }
    for field in ["patches", "patchesStrategicMerge", "patchesJson6902", "components"] {
        if let Some(add) = overrides[field].as_array().filter(|a| !a.is_empty())
            && let Some(list) = list_mut(map, field)
        {
            list.extend(add.iter().cloned());
        }
    }
    let Some(add) = overrides["images"].as_array().filter(|a| !a.is_empty()) else {
        return;
    };
    let Some(list) = list_mut(map, "images") else {
        return;
    };
    let set = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    for image in add {
        let Some(slot) = list.iter_mut().find(|i| i["name"] == image["name"]) else {
            list.push(image.clone());
            continue;
        };
        let Some(slot) = slot.as_object_mut() else {
            continue;
        };
        if set(&image["newName"]) {
            slot.insert("newName".into(), image["newName"].clone());
        }
        if set(&image["newTag"]) || set(&image["digest"]) {
            for field in ["newTag", "digest"] {
                match image.get(field).filter(|v| set(v)) {
                    Some(v) => slot.insert(field.into(), v.clone()),
                    None => slot.remove(field),
                };
            }
        }
    }
}

/// Flux's `ignoreMissingComponents`: leaves out of `overrides["components"]` every component
/// that does not exist relative to `base_dir` (the Kustomization's path), as Flux does before
/// writing the list into the kustomization file. A component that exists is kept, and is then
/// confined to the source like any other.
pub fn drop_missing_components(base_dir: &Path, overrides: &mut Value) {
    if let Some(list) = overrides["components"].as_array_mut() {
        list.retain(|c| c.as_str().is_some_and(|c| base_dir.join(c).exists()));
    }
}

/// The list `field` of a kustomization, made an empty list when missing or not a list.
fn list_mut<'a>(map: &'a mut serde_json::Map<String, Value>, field: &str) -> Option<&'a mut Vec<Value>> {
    let list = map.entry(field).or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    list.as_array_mut()
}

/// The error for one kustomization file.
pub(crate) fn err(root: &Path, file: &Path, message: impl Into<String>) -> RenderError {
    RenderError::Kustomize {
        file: rel(root, file),
        message: message.into(),
    }
}

pub(crate) fn rel(root: &Path, p: &Path) -> PathBuf {
    p.strip_prefix(root).unwrap_or(p).to_path_buf()
}

/// Resolves `entry` relative to `dir`, refusing anything that leaves `root`.
pub(crate) fn resolve(root: &Root, dir: &Path, entry: &str, file: &Path) -> Result<PathBuf, RenderError> {
    if entry.contains("://") || entry.starts_with("github.com/") || entry.starts_with("git@") {
        return Err(err(root, file, format!("{entry}: remote resources are not allowed")));
    }
    let p = dir.join(entry);
    let canon = p
        .canonicalize()
        .map_err(|_| err(root, file, format!("{entry}: not found")))?;
    if !canon.starts_with(&**root) {
        return Err(err(
            root,
            file,
            format!("{entry}: refers outside the repository root; refused"),
        ));
    }
    Ok(canon)
}

const SUPPORTED: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "replicas",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "components",
    "sortOptions",
    "replacements",
    "vars",
    "crds",
    "configurations",
    "transformers",
    "generators",
    "validators",
    "helmCharts",
    "helmGlobals",
];

/// Fields that hold a list of strings (kustomize refuses anything else in them).
const STRING_LISTS: &[&str] = &[
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "transformers",
    "generators",
    "validators",
    "patchesStrategicMerge",
];

/// Fields that hold a list of mappings (kustomize refuses a string or a number in them, as
/// `- file.yaml` appended under `images:` instead of `resources:`).
const MAPPING_LISTS: &[&str] = &[
    "images",
    "replicas",
    "labels",
    "patches",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "replacements",
    "vars",
    "helmCharts",
];

fn build_dir(
    root: &Root,
    dir: &Path,
    overrides: Option<&Value>,
    stack: &mut Vec<PathBuf>,
    declared: &mut vars::Declared,
    acc_cfg: &mut Config,
) -> Result<Vec<Res>, RenderError> {
    let dir = root.confine(dir)?;
    let file = kustomization_file(&dir).ok_or_else(|| RenderError::PathNotFound(rel(root, &dir)))?;
    if stack.contains(&dir) {
        let chain: Vec<String> = stack
            .iter()
            .chain(std::iter::once(&dir))
            .map(|d| rel(root, d).display().to_string())
            .collect();
        return Err(err(
            root,
            &file,
            format!("cycle of kustomizations: {}", chain.join(" -> ")),
        ));
    }
    let mut k = read_kustomization(root, &file)?;
    if let Some(o) = overrides {
        merge_flux_overrides(&mut k, o);
    }
    if !stack.is_empty() && k["kind"].as_str() == Some("Component") {
        return Err(err(root, &file, "a Component can only be listed under components"));
    }
    stack.push(dir.clone());
    let mut out: Vec<Res> = Vec::new();
    let mut cfg = Config::builtin().clone();
    load_resources(root, &file, &k, &mut out, stack, declared, &mut cfg)?;
    load_configurations(root, &dir, &file, &k, &mut cfg)?;
    generate::generators(root, &dir, &file, &k, &mut out)?;
    helm::generate(root, &dir, &file, &k, &mut out)?;
    plugins::generators(root, &dir, &file, &k, &mut out, stack, declared)?;
    stack.pop();
    for entry in strings(&k["components"]) {
        let path = resolve(root, &dir, &entry, &file)?;
        apply_component(root, &path, &mut out, stack, declared, &mut cfg)?;
    }
    vars::collect(root, &file, &k, declared)?;
    check_crds(root, &dir, &file, &k, declared)?;
    transform::apply_all(root, &dir, &file, &k, &mut out, &cfg)?;
    stack.push(dir.clone());
    plugins::transformers(root, &dir, &file, &k, &mut out, stack, declared)?;
    stack.pop();
    check_unique(root, &file, &out)?;
    acc_cfg
        .merge(&cfg)
        .map_err(|m| err(root, &file, format!("configurations: {m}")))?;
    Ok(out)
}

/// `configurations`: files of field specifications added to the builtin tables (for this
/// kustomization and those that include it).
fn load_configurations(root: &Root, dir: &Path, file: &Path, k: &Value, cfg: &mut Config) -> Result<(), RenderError> {
    for (i, entry) in strings(&k["configurations"]).iter().enumerate() {
        let here = |m: String| err(root, file, format!("configurations[{i}]: {m}"));
        let path = resolve(root, dir, entry, file)?;
        let text = root.read(&path)?;
        let docs = root.parse(&text).map_err(|e| here(format!("{entry}: {e}")))?;
        for doc in docs.iter().filter(|d| !d.is_null()) {
            let c = Config::parse(doc).map_err(|m| here(format!("{entry}: {m}")))?;
            cfg.merge(&c).map_err(|m| here(format!("{entry}: {m}")))?;
        }
    }
    Ok(())
}

/// Reads a kustomization file, refusing fields the engine does not support.
fn read_kustomization(root: &Root, file: &Path) -> Result<Value, RenderError> {
    let text = root.read(file)?;
    let k = root
        .parse(&text)
        .map_err(|error| RenderError::Syntax {
            file: rel(root, file),
            error,
        })?
        .into_iter()
        .next()
        .unwrap_or(Value::Null);
    let Value::Object(map) = &k else {
        return Err(err(root, file, "not a mapping"));
    };
    if let Some(key) = map.keys().find(|key| !SUPPORTED.contains(&key.as_str())) {
        return Err(err(root, file, format!("{key}: not supported yet")));
    }
    for key in STRING_LISTS {
        match &map.get(*key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                if let Some(i) = items.iter().position(|v| !v.is_string()) {
                    return Err(err(root, file, format!("{key}[{i}]: expected a string")));
                }
            }
            Some(_) => return Err(err(root, file, format!("{key}: expected a list of strings"))),
        }
    }
    for key in MAPPING_LISTS {
        match &map.get(*key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                if let Some(i) = items.iter().position(|v| !v.is_object()) {
                    return Err(err(
                        root,
                        file,
                        format!("{key}[{i}]: expected a mapping, found {}", items[i]),
                    ));
                }
            }
            Some(_) => return Err(err(root, file, format!("{key}: expected a list of mappings"))),
        }
    }
    Ok(k)
}

/// Adds the objects of `resources` and `bases` (files, or directories built as kustomizations).
fn load_resources(
    root: &Root,
    file: &Path,
    k: &Value,
    out: &mut Vec<Res>,
    stack: &mut Vec<PathBuf>,
    declared: &mut vars::Declared,
    cfg: &mut Config,
) -> Result<(), RenderError> {
    // The kustomization file's directory.
    let dir = file.parent().unwrap_or(Path::new("."));
    for key in ["resources", "bases"] {
        for entry in strings(&k[key]) {
            let path = resolve(root, dir, &entry, file)?;
            if path.is_dir() {
                out.extend(build_dir(root, &path, None, stack, declared, cfg)?);
            } else {
                out.extend(load_file(root, &path)?);
            }
        }
    }
    Ok(())
}

/// A `kind: Component` kustomization applied to the resources accumulated so far: its own
/// resources are added, then its generators and transformers run over everything.
fn apply_component(
    root: &Root,
    dir: &Path,
    out: &mut Vec<Res>,
    stack: &mut Vec<PathBuf>,
    declared: &mut vars::Declared,
    cfg: &mut Config,
) -> Result<(), RenderError> {
    let file = kustomization_file(dir).ok_or_else(|| RenderError::PathNotFound(rel(root, dir)))?;
    if stack.iter().any(|d| d == dir) {
        return Err(err(root, &file, "cycle of kustomizations through a component"));
    }
    let k = read_kustomization(root, &file)?;
    if k["kind"].as_str() != Some("Component") {
        return Err(err(root, &file, "listed in components but its kind is not Component"));
    }
    stack.push(dir.to_path_buf());
    load_resources(root, &file, &k, out, stack, declared, cfg)?;
    load_configurations(root, dir, &file, &k, cfg)?;
    generate::generators(root, dir, &file, &k, out)?;
    helm::generate(root, dir, &file, &k, out)?;
    plugins::generators(root, dir, &file, &k, out, stack, declared)?;
    for entry in strings(&k["components"]) {
        let path = resolve(root, dir, &entry, &file)?;
        apply_component(root, &path, out, stack, declared, cfg)?;
    }
    vars::collect(root, &file, &k, declared)?;
    check_crds(root, dir, &file, &k, declared)?;
    transform::apply_all(root, dir, &file, &k, out, cfg)?;
    plugins::transformers(root, dir, &file, &k, out, stack, declared)?;
    stack.pop();
    Ok(())
}

/// `crds`: files of OpenAPI definitions (a map of type name to `{Schema: ...}`, kustomize's
/// format) whose properties carry `x-kubernetes-object-ref-kind` (with
/// `x-kubernetes-object-ref-api-version` and optionally `x-kubernetes-object-ref-name-key`):
/// such fields of the custom kinds follow renamed objects, as built-in references do. Other
/// extensions there are not read.
fn check_crds(
    root: &Root,
    dir: &Path,
    file: &Path,
    k: &Value,
    declared: &mut vars::Declared,
) -> Result<(), RenderError> {
    for (i, entry) in strings(&k["crds"]).iter().enumerate() {
        let path = resolve(root, dir, entry, file)?;
        let text = root
            .read(&path)
            .map_err(|e| err(root, file, format!("crds[{i}]: {e}")))?;
        let doc = root
            .parse(&text)
            .map_err(|e| err(root, file, format!("crds[{i}]: {entry}: {e}")))?
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        let defs = doc.as_object().ok_or_else(|| {
            err(
                root,
                file,
                format!("crds[{i}]: {entry}: unable to parse open API definition: expected a map of type names to definitions"),
            )
        })?;
        vars::load_crd_name_refs(defs, &mut declared.name_refs);
    }
    Ok(())
}

/// Reads the objects of one resource file.
pub(crate) fn load_file(root: &Root, path: &Path) -> Result<Vec<Res>, RenderError> {
    let text = root.read(path)?;
    load_text(root, path, &text)
}

/// The objects of a YAML stream, as if read from `path` (errors and origins name it).
pub(crate) fn load_text(root: &Root, path: &Path, text: &str) -> Result<Vec<Res>, RenderError> {
    let r = rel(root, path);
    let parsed = root
        .parse_full(text)
        .map_err(|error| RenderError::Syntax { file: r.clone(), error })?;
    let (docs, nulls) = (parsed.docs, parsed.explicit_nulls);
    let mut out = Vec::new();
    // Any `FooList` with `items` is replaced by its items, which come after the file's other
    // objects (as in kustomize); `items: null` is an empty list.
    // (document, object, its JSON pointer in the document)
    let mut queue: std::collections::VecDeque<(usize, Value, String)> = docs
        .into_iter()
        .enumerate()
        .filter(|(_, d)| !d.is_null())
        .map(|(i, d)| (i, d, String::new()))
        .collect();
    while let Some((i, obj, at)) = queue.pop_front() {
        let is_list = obj["kind"].as_str().is_some_and(|k| k.ends_with("List"));
        match obj.get("items") {
            Some(Value::Array(inner)) if is_list => queue.extend(
                inner
                    .iter()
                    .enumerate()
                    .map(|(n, o)| (i, o.clone(), format!("{at}/items/{n}"))),
            ),
            Some(Value::Null) if is_list => {}
            Some(other) if is_list => {
                return Err(RenderError::Kustomize {
                    file: r.clone(),
                    message: format!(
                        "expected array in {}/items, but found {}",
                        obj["kind"].as_str().unwrap_or_default(),
                        if other.is_object() { "a map" } else { "a scalar" }
                    ),
                });
            }
            _ => {
                let origin = Origin {
                    file: r.clone(),
                    document: i,
                };
                let m = Manifest::new(obj, origin)?;
                let mut res = Res::new(m.object, m.origin);
                res.explicit_nulls = nulls
                    .get(i)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.strip_prefix(at.as_str()))
                    .filter(|p| p.starts_with('/'))
                    .map(str::to_string)
                    .collect();
                out.push(res);
            }
        }
    }
    Ok(out)
}

fn check_unique(root: &Root, file: &Path, out: &[Res]) -> Result<(), RenderError> {
    let mut seen = HashSet::new();
    for r in out {
        // kustomize's ids include the version: one name may appear once per version.
        let id = (
            r.api_version().to_string(),
            r.kind().to_string(),
            r.namespace().map(str::to_string),
            r.name().to_string(),
        );
        if !seen.insert(id) {
            return Err(err(
                root,
                file,
                format!(
                    "{}/{}: may not add resource with an already registered id",
                    r.kind(),
                    r.name()
                ),
            ));
        }
    }
    Ok(())
}

/// Final step of the top-level build: content hashes on generated names, then every reference
/// to a renamed object follows it.
fn finish(out: &mut [Res], cfg: &Config) -> Result<(), String> {
    for r in out.iter_mut().filter(|r| r.hashed) {
        let hash = generate::content_hash(&r.obj);
        let name = format!("{}-{hash}", r.name());
        r.store_prev();
        r.set_name(name);
    }
    // kustomize rewrites every object's annotations when it drops its own: none left, no field.
    for r in out.iter_mut() {
        if let Some(meta) = r.obj.get_mut("metadata").and_then(Value::as_object_mut)
            && meta
                .get("annotations")
                .is_some_and(|a| a.is_null() || a.as_object().is_some_and(|m| m.is_empty()))
        {
            meta.remove("annotations");
        }
    }
    transform::fix_name_references(out, cfg)
}

/// A YAML list of strings (absent: empty).
pub(crate) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flux_overrides_rename_retag_patch_and_label() {
        let m = |v: Value| {
            Manifest::new(
                v,
                Origin {
                    file: "a.yaml".into(),
                    document: 0,
                },
            )
            .unwrap()
        };
        let cm =
            m(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1"}}));
        let dep = m(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1",
                "envFrom": [{"configMapRef": {"name": "settings"}}]}]}}}}),
        );
        let overrides = json!({
            "namePrefix": "p-", "images": [{"name": "nginx", "newTag": "2"}],
            "patches": [{"target": {"kind": "ConfigMap"}, "patch": "- op: add\n  path: /data/b\n  value: \"2\"\n"}],
            "commonMetadata": {"labels": {"team": "x"}, "annotations": {"note": "y"}},
        });
        let tmp = std::env::temp_dir();
        let out = apply_overrides(
            &tmp,
            &tmp,
            vec![cm, dep],
            &overrides,
            Path::new("Kustomization/flux-system/app"),
        )
        .unwrap();
        assert_eq!(out[0].name(), "p-settings");
        assert_eq!(out[0].object["data"]["b"], "2");
        assert_eq!(out[0].object["metadata"]["labels"]["team"], "x");
        let c = &out[1].object["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "nginx:2");
        assert_eq!(c["envFrom"][0]["configMapRef"]["name"], "p-settings");
        assert!(
            out[1].object["spec"]["template"]["metadata"].is_null(),
            "commonMetadata touches metadata only"
        );
    }
}

#[cfg(test)]
mod component_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flux_components_apply_relative_to_the_path() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("apps/demo")).unwrap();
        fs::create_dir_all(d.path().join("apps/monitoring")).unwrap();
        fs::write(
            d.path().join("apps/monitoring/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  monitored: \"true\"\n",
        )
        .unwrap();
        let cm = Manifest::new(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            Origin {
                file: "c.yaml".into(),
                document: 0,
            },
        )
        .unwrap();
        let overrides = json!({"components": ["../monitoring"]});
        let out = apply_overrides(
            d.path(),
            &d.path().join("apps/demo"),
            vec![cm],
            &overrides,
            Path::new("ks"),
        )
        .unwrap();
        assert_eq!(out[0].object["metadata"]["annotations"]["monitored"], "true");
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;

    /// A file name appended under `images:` (meant for `resources:`) is refused, naming the
    /// file and the entry, as kustomize refuses it; nothing is rendered.
    #[test]
    fn a_string_in_a_list_of_mappings_is_refused() {
        let d = tempfile::tempdir().unwrap();
        fs::write(
            d.path().join("kustomization.yaml"),
            "resources:\n- cm.yaml\nimages:\n- name: nginx\n  newTag: \"2\"\n- db-sealed.yaml\n",
        )
        .unwrap();
        fs::write(
            d.path().join("cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        )
        .unwrap();
        let e = build(d.path(), d.path()).unwrap_err().to_string();
        assert!(e.contains("kustomization.yaml"), "{e}");
        assert!(e.contains("images[1]: expected a mapping"), "{e}");
        assert!(e.contains("db-sealed.yaml"), "{e}");
    }
}
