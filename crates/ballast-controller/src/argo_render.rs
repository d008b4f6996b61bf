//! Rendering an Argo CD Application's source as Argo CD's repo server does: a Helm chart
//! (`helm template` semantics, in process), a Kustomize directory (the kustomization edited the
//! way `kustomize edit` edits it for `spec.source.kustomize`, then built by the native engine), or
//! a plain directory (`*.yaml`, `*.yml`, `*.json`; `recurse`, `include`, `exclude`) whose
//! `*.jsonnet` files are evaluated in process ([`crate::argo_jsonnet`]).
//!
//! Guarantees: nothing outside the repository root is read (every path is resolved and checked,
//! Kustomize reads through the engine's `Root`); sizes are bounded (the render limits, at most
//! [`MAX_FILES`] files for a directory); features Ballast lacks (plugins) are refused by
//! name, never ignored. A chart from a chart repository is fetched and extracted first
//! ([`crate::argo_chart`]) and comes here as a chart directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ballast_api::argo::{ApplicationSource, DirectorySource, HelmSource, KustomizeSource};
use ballast_core::Scopes;
use ballast_render::{RenderSpec, render_plain};
use serde_json::{Value, json};

use crate::argo_jsonnet;

/// Most files a directory source may hold.
pub const MAX_FILES: usize = 10_000;
/// Largest manifest file read.
const MAX_FILE: u64 = 8 << 20;

/// What a source renders to.
pub struct Rendered {
    /// The objects, in source order (hooks included).
    pub objects: Vec<Value>,
    /// `Helm`, `Kustomize` or `Directory` (Argo CD's `status.sourceType`).
    pub source_type: &'static str,
}

/// What rendering a source needs besides its tree.
pub struct RenderContext<'a> {
    /// The Application's name (Helm's default release name, `$ARGOCD_APP_NAME`).
    pub app: &'a str,
    /// The destination namespace.
    pub namespace: &'a str,
    /// The revision fetched (`$ARGOCD_APP_REVISION`).
    pub revision: &'a str,
    /// The trees of the Application's `ref` sources, by ref name (`$name/path` value files).
    pub refs: &'a BTreeMap<String, PathBuf>,
    /// Namespace scopes of kinds (Kustomize).
    pub scopes: &'a dyn Scopes,
}

/// Renders `source` from the repository tree at `root`.
pub fn render(root: &Path, source: &ApplicationSource, ctx: &RenderContext<'_>) -> Result<Rendered, String> {
    let (app, namespace, scopes) = (ctx.app, ctx.namespace, ctx.scopes);
    if source.chart.is_some() {
        return Err("spec.source.chart: the chart must be fetched from its repository before rendering".into());
    }
    if source.plugin.is_some() {
        return Err("spec.source.plugin (Config Management Plugins) is not supported".into());
    }
    let rel = source.path.clone().unwrap_or_default();
    let rel = rel.trim_start_matches("./").trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let dir = confined(root, Path::new(rel))?;
    if !dir.is_dir() {
        return Err(format!("app path does not exist: {rel}"));
    }
    let is_helm = source.helm.is_some() || dir.join("Chart.yaml").is_file();
    let kfile = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .map(|n| dir.join(n))
        .find(|f| f.is_file());
    if is_helm {
        let helm = source.helm.clone().unwrap_or_default();
        let objects = helm_template(&dir, &helm, app, namespace, ctx.refs)?;
        return Ok(Rendered {
            objects,
            source_type: "Helm",
        });
    }
    if let Some(kfile) = kfile {
        let objects = kustomize(root, rel, &kfile, source.kustomize.as_ref(), namespace, scopes)?;
        return Ok(Rendered {
            objects,
            source_type: "Kustomize",
        });
    }
    let env = build_env(source, ctx);
    let objects = directory(root, &dir, &source.directory.clone().unwrap_or_default(), &env)?;
    Ok(Rendered {
        objects,
        source_type: "Directory",
    })
}

/// `root/rel` resolved, refused when it leaves `root`.
fn confined(root: &Path, rel: &Path) -> Result<PathBuf, String> {
    let root = root.canonicalize().map_err(|e| format!("{}: {e}", root.display()))?;
    let full = root.join(rel);
    let resolved = match full.canonicalize() {
        Ok(p) => p,
        Err(_) => return Ok(full), // reported as missing by the caller
    };
    if !resolved.starts_with(&root) {
        return Err(format!("{}: outside the repository", rel.display()));
    }
    Ok(resolved)
}

/// The build variables Argo CD offers to Jsonnet `extVars`/`tlas` values.
fn build_env(source: &ApplicationSource, ctx: &RenderContext<'_>) -> argo_jsonnet::BuildEnv {
    [
        ("ARGOCD_APP_NAME", ctx.app),
        ("ARGOCD_APP_NAMESPACE", ctx.namespace),
        ("ARGOCD_APP_REVISION", ctx.revision),
        (
            "ARGOCD_APP_REVISION_SHORT",
            ctx.revision.get(..7).unwrap_or(ctx.revision),
        ),
        ("ARGOCD_APP_SOURCE_PATH", source.path.as_deref().unwrap_or("")),
        ("ARGOCD_APP_SOURCE_REPO_URL", source.repo_url.as_str()),
        (
            "ARGOCD_APP_SOURCE_TARGET_REVISION",
            source.target_revision.as_deref().unwrap_or(""),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn parse_documents(text: &str, file: &str) -> Result<Vec<Value>, String> {
    let docs = ballast_render::yaml::parse_stream(text).map_err(|e| format!("{file}: {e}"))?;
    objects_of(docs, file)
}

/// Documents as objects: nulls dropped, `List` kinds expanded, anything else refused.
fn objects_of(docs: Vec<Value>, file: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for doc in docs {
        match doc {
            Value::Null => {}
            Value::Object(_)
                if doc["kind"] == "List"
                    || doc["kind"]
                        .as_str()
                        .is_some_and(|k| k.ends_with("List") && doc.get("items").is_some()) =>
            {
                out.extend(doc["items"].as_array().cloned().unwrap_or_default());
            }
            Value::Object(_) => out.push(doc),
            _ => return Err(format!("{file}: a document is not a Kubernetes object")),
        }
    }
    for o in &out {
        if o["apiVersion"].as_str().unwrap_or("").is_empty() || o["kind"].as_str().unwrap_or("").is_empty() {
            return Err(format!("{file}: an object lacks apiVersion or kind"));
        }
    }
    Ok(out)
}

/// A glob or Argo CD's `{a,b}` list of globs.
fn globs(pattern: &str) -> Result<globset::GlobSet, String> {
    let mut b = globset::GlobSetBuilder::new();
    let g = globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map_err(|e| format!("directory glob {pattern:?}: {e}"))?;
    b.add(g);
    b.build().map_err(|e| e.to_string())
}

/// A directory's manifests (`*.yaml`, `*.yml`, `*.json`) and Jsonnet files (`*.jsonnet`,
/// evaluated to an object or an array of objects; `*.libsonnet` only imported), by path order.
fn directory(
    root: &Path,
    dir: &Path,
    opts: &DirectorySource,
    env: &argo_jsonnet::BuildEnv,
) -> Result<Vec<Value>, String> {
    let include = opts
        .include
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(globs)
        .transpose()?;
    let exclude = opts
        .exclude
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(globs)
        .transpose()?;
    let recurse = opts.recurse == Some(true);
    let mut files = Vec::new();
    let mut queue = vec![dir.to_path_buf()];
    while let Some(d) = queue.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .map_err(|e| format!("{}: {e}", d.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = e.path();
            let resolved = path.canonicalize().map_err(|e| format!("{}: {e}", path.display()))?;
            if !resolved.starts_with(dir) {
                return Err(format!("{}: outside the app path", path.display()));
            }
            if resolved.is_dir() {
                if recurse {
                    queue.push(path);
                }
                continue;
            }
            if ![".yaml", ".yml", ".json", ".jsonnet"].iter().any(|x| name.ends_with(x)) {
                continue;
            }
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().into_owned();
            if include
                .as_ref()
                .is_some_and(|g| !g.is_match(&rel) && !g.is_match(&name))
            {
                continue;
            }
            if exclude.as_ref().is_some_and(|g| g.is_match(&rel) || g.is_match(&name)) {
                continue;
            }
            files.push((rel, resolved));
            if files.len() > MAX_FILES {
                return Err(format!("more than {MAX_FILES} manifest files"));
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for (rel, path) in files {
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len > MAX_FILE {
            return Err(format!("{rel}: larger than {MAX_FILE} bytes"));
        }
        if rel.ends_with(".jsonnet") {
            let jsonnet = opts.jsonnet.clone().unwrap_or_default();
            let docs = match argo_jsonnet::evaluate(root, &path, &jsonnet, env)? {
                Value::Array(items) => items,
                other => vec![other],
            };
            out.extend(objects_of(docs, &rel)?);
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{rel}: {e}"))?;
        out.extend(parse_documents(&text, &rel)?);
    }
    Ok(out)
}

/// A `valueFiles` entry: `$ref/path` from the tree of the `ref` source named `ref`, else a path
/// in the chart directory; `None` when the file is missing.
fn value_file(dir: &Path, f: &str, refs: &BTreeMap<String, PathBuf>) -> Result<Option<PathBuf>, String> {
    let path = match f.strip_prefix('$') {
        Some(rest) => {
            let (name, rel) = rest.split_once('/').unwrap_or((rest, ""));
            let root = refs
                .get(name)
                .ok_or_else(|| format!("valueFiles: {f}: no source has ref {name:?}"))?;
            confined(root, Path::new(rel)).map_err(|e| format!("valueFiles: {e}"))?
        }
        None => confined(dir, Path::new(f)).map_err(|e| format!("valueFiles: {e}"))?,
    };
    Ok(path.is_file().then_some(path))
}

fn helm_template(
    dir: &Path,
    helm: &HelmSource,
    app: &str,
    namespace: &str,
    refs: &BTreeMap<String, PathBuf>,
) -> Result<Vec<Value>, String> {
    let unsupported: Vec<&String> = helm
        .extra
        .iter()
        .filter(|(k, v)| !v.is_null() && !matches!(k.as_str(), "passCredentials" | "version"))
        .map(|(k, _)| k)
        .collect();
    if !unsupported.is_empty() {
        return Err(format!("spec.source.helm: not supported yet: {unsupported:?}"));
    }
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut values = ballast_helm::values::ValueOptions::default();
    for f in &helm.value_files {
        match value_file(dir, f, refs)? {
            Some(path) => values.files.push(path),
            None if helm.ignore_missing_value_files == Some(true) => {}
            None => return Err(format!("valueFiles: {f}: no such file")),
        }
    }
    // `valuesObject` wins over `values` (Argo CD uses one of them, after the files).
    let inline = match (&helm.values_object, &helm.values) {
        (Some(o), _) if !o.is_null() => Some(serde_json::to_string(o).map_err(|e| e.to_string())?),
        (_, Some(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    if let Some(text) = inline {
        let p = tmp.path().join("values.yaml");
        std::fs::write(&p, text).map_err(|e| e.to_string())?;
        values.files.push(p);
    }
    for p in &helm.parameters {
        let kv = format!("{}={}", p.name, p.value);
        if p.force_string == Some(true) {
            values.set_string.push(kv);
        } else {
            values.set.push(kv);
        }
    }
    let opts = ballast_helm::TemplateOptions {
        release_name: helm
            .release_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| app.to_string()),
        namespace: helm.namespace.clone().unwrap_or_else(|| namespace.to_string()),
        values,
        include_crds: helm.skip_crds != Some(true),
        skip_tests: helm.skip_tests == Some(true),
        kube_version: helm.kube_version.clone(),
        api_versions: helm.api_versions.clone(),
        skip_schema_validation: helm.skip_schema_validation == Some(true),
        ..Default::default()
    };
    let text = ballast_helm::template(dir, &opts).map_err(|e| format!("helm template: {}", e.0))?;
    parse_documents(&text, "helm template")
}

/// An `images` entry as `kustomize edit set image` reads it: `name=newName:tag@digest`,
/// `name:tag`, `name@digest` or `name=newName`.
pub fn parse_image(spec: &str) -> Value {
    let (name, rest) = match spec.split_once('=') {
        Some((n, r)) => (n.to_string(), Some(r)),
        None => (String::new(), None),
    };
    let target = rest.unwrap_or(spec);
    let (target, digest) = match target.split_once('@') {
        Some((t, d)) => (t, Some(d)),
        None => (target, None),
    };
    let slash = target.rfind('/').map_or(0, |i| i + 1);
    let (image, tag) = match target[slash..].rfind(':') {
        Some(i) => (&target[..slash + i], Some(&target[slash + i + 1..])),
        None => (target, None),
    };
    let mut out = serde_json::Map::new();
    if rest.is_some() {
        out.insert("name".into(), json!(name));
        if !image.is_empty() {
            out.insert("newName".into(), json!(image));
        }
    } else {
        out.insert("name".into(), json!(image));
    }
    if let Some(t) = tag {
        out.insert("newTag".into(), json!(t));
    }
    if let Some(d) = digest {
        out.insert("digest".into(), json!(d));
    }
    Value::Object(out)
}

/// Edits a kustomization (as data) the way Argo CD's `kustomize edit` calls do for
/// `spec.source.kustomize`.
pub fn edit_kustomization(k: &mut Value, opts: &KustomizeSource) -> Result<(), String> {
    let unsupported: Vec<&String> = opts
        .extra
        .iter()
        .filter(|(k, v)| !v.is_null() && !matches!(k.as_str(), "version"))
        .map(|(k, _)| k)
        .collect();
    if !unsupported.is_empty() {
        return Err(format!("spec.source.kustomize: not supported yet: {unsupported:?}"));
    }
    let Some(map) = k.as_object_mut() else {
        return Err("kustomization is not a mapping".into());
    };
    if let Some(p) = &opts.name_prefix {
        map.insert("namePrefix".into(), json!(p));
    }
    if let Some(s) = &opts.name_suffix {
        map.insert("nameSuffix".into(), json!(s));
    }
    if let Some(ns) = &opts.namespace {
        map.insert("namespace".into(), json!(ns));
    }
    if !opts.images.is_empty() {
        let mut images: Vec<Value> = map.get("images").and_then(Value::as_array).cloned().unwrap_or_default();
        for spec in &opts.images {
            let new = parse_image(spec);
            match images.iter_mut().find(|i| i["name"] == new["name"]) {
                Some(old) => {
                    if let (Some(o), Some(n)) = (old.as_object_mut(), new.as_object()) {
                        for (k, v) in n {
                            o.insert(k.clone(), v.clone());
                        }
                    }
                }
                None => images.push(new),
            }
        }
        images.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        map.insert("images".into(), Value::Array(images));
    }
    for (key, add) in [
        ("commonLabels", &opts.common_labels),
        ("commonAnnotations", &opts.common_annotations),
    ] {
        if add.is_empty() {
            continue;
        }
        let entry = map.entry(key).or_insert_with(|| json!({}));
        if !entry.is_object() {
            *entry = json!({});
        }
        if let Some(o) = entry.as_object_mut() {
            for (k, v) in add {
                o.insert(k.clone(), json!(v));
            }
        }
    }
    if !opts.replicas.is_empty() {
        let mut list: Vec<Value> = map
            .get("replicas")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for r in &opts.replicas {
            let count = match &r.count {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("kustomize.replicas {}: count is not a number", r.name))?;
            list.retain(|e| e["name"] != r.name.as_str());
            list.push(json!({"name": r.name, "count": count}));
        }
        map.insert("replicas".into(), Value::Array(list));
    }
    if !opts.patches.is_empty() {
        let mut list: Vec<Value> = map
            .get("patches")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        list.extend(opts.patches.iter().cloned());
        map.insert("patches".into(), Value::Array(list));
    }
    if !opts.components.is_empty() {
        let mut list: Vec<Value> = map
            .get("components")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        list.extend(opts.components.iter().map(|c| json!(c)));
        map.insert("components".into(), Value::Array(list));
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path, budget: &mut usize) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for e in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        *budget = budget.checked_sub(1).ok_or("too many files in the repository")?;
        let ty = e.file_type().map_err(|e| e.to_string())?;
        let target = to.join(e.file_name());
        if ty.is_dir() {
            if e.file_name() == ".git" {
                continue;
            }
            copy_tree(&e.path(), &target, budget)?;
        } else if ty.is_symlink() {
            let link = std::fs::read_link(e.path()).map_err(|e| e.to_string())?;
            std::os::unix::fs::symlink(link, &target).map_err(|e| e.to_string())?;
        } else {
            std::fs::copy(e.path(), &target).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn kustomize(
    root: &Path,
    rel: &str,
    kfile: &Path,
    opts: Option<&KustomizeSource>,
    namespace: &str,
    scopes: &dyn Scopes,
) -> Result<Vec<Value>, String> {
    let tmp;
    let build_root = match opts {
        Some(opts) => {
            // As Argo CD: edit the kustomization of a private copy, then build.
            tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
            let mut budget = 100_000;
            copy_tree(root, tmp.path(), &mut budget)?;
            let name = kfile.file_name().unwrap_or_default();
            let copy = tmp.path().join(rel).join(name);
            let text = std::fs::read_to_string(&copy).map_err(|e| format!("{rel}: {e}"))?;
            let mut k = ballast_render::yaml::parse_stream(&text)
                .map_err(|e| format!("{rel}: {e}"))?
                .into_iter()
                .next()
                .unwrap_or_else(|| json!({}));
            edit_kustomization(&mut k, opts)?;
            // JSON is YAML: the engine reads it as it reads the original.
            std::fs::write(&copy, serde_json::to_string(&k).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
            tmp.path().to_path_buf()
        }
        None => root.to_path_buf(),
    };
    let spec = RenderSpec {
        path: rel.into(),
        target_namespace: None,
        default_namespace: Some(namespace.to_string()),
        ignore: None,
        ..Default::default()
    };
    let manifests = render_plain(&build_root, &spec, scopes).map_err(|e| e.to_string())?;
    Ok(manifests.into_iter().map(|m| m.object).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_parse_as_kustomize_edit_set_image() {
        assert_eq!(
            parse_image("gcr.io/heptio-images/ks-guestbook-demo:0.2"),
            json!({"name": "gcr.io/heptio-images/ks-guestbook-demo", "newTag": "0.2"})
        );
        assert_eq!(
            parse_image("nginx=my.reg:5000/nginx:1.25"),
            json!({"name": "nginx", "newName": "my.reg:5000/nginx", "newTag": "1.25"})
        );
        assert_eq!(
            parse_image("nginx@sha256:abc"),
            json!({"name": "nginx", "digest": "sha256:abc"})
        );
        assert_eq!(parse_image("localhost:5000/app"), json!({"name": "localhost:5000/app"}));
    }

    #[test]
    fn kustomization_edited_as_argo_cd_edits_it() {
        let mut k =
            json!({"resources": ["a.yaml"], "images": [{"name": "nginx", "newTag": "1"}], "commonLabels": {"x": "1"}});
        let opts: KustomizeSource = serde_json::from_value(json!({
            "namePrefix": "p-", "nameSuffix": "-s", "images": ["nginx:2", "redis=r:7"],
            "commonLabels": {"team": "a"}, "commonAnnotations": {"note": "n"},
            "replicas": [{"name": "web", "count": "3"}],
            "patches": [{"target": {"kind": "Deployment"}, "patch": "[]"}]
        }))
        .unwrap();
        edit_kustomization(&mut k, &opts).unwrap();
        assert_eq!(k["namePrefix"], "p-");
        assert_eq!(k["nameSuffix"], "-s");
        assert_eq!(
            k["images"],
            json!([{"name": "nginx", "newTag": "2"}, {"name": "redis", "newName": "r", "newTag": "7"}])
        );
        assert_eq!(k["commonLabels"], json!({"x": "1", "team": "a"}));
        assert_eq!(k["commonAnnotations"], json!({"note": "n"}));
        assert_eq!(k["replicas"], json!([{"name": "web", "count": 3}]));
        assert_eq!(k["patches"].as_array().unwrap().len(), 1);
        let bad: KustomizeSource = serde_json::from_value(json!({"forceCommonLabels": true})).unwrap();
        assert!(
            edit_kustomization(&mut k, &bad)
                .unwrap_err()
                .contains("forceCommonLabels")
        );
    }

    #[test]
    fn directory_recurse_include_exclude() {
        let d = tempfile::tempdir().unwrap();
        let cm = |n: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n");
        std::fs::write(d.path().join("a.yaml"), cm("a")).unwrap();
        std::fs::write(d.path().join("b.yml"), cm("b")).unwrap();
        std::fs::write(d.path().join("notes.txt"), "x").unwrap();
        // Jsonnet: an array, a List, a lone object; `.libsonnet` is only imported.
        std::fs::write(
            d.path().join("j.libsonnet"),
            "{ cm(n):: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: n}} }",
        )
        .unwrap();
        std::fs::write(
            d.path().join("j.jsonnet"),
            "local j = import 'j.libsonnet'; [j.cm('j1'), {apiVersion: 'v1', kind: 'List', items: [j.cm('j2')]}]",
        )
        .unwrap();
        std::fs::write(d.path().join("k.jsonnet"), "(import 'j.libsonnet').cm('k')").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(
            d.path().join("sub/c.json"),
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
        )
        .unwrap();
        let dir = d.path().canonicalize().unwrap();
        let names = |o: &DirectorySource| -> Vec<String> {
            directory(&dir, &dir, o, &Default::default())
                .unwrap()
                .iter()
                .map(|v| v["metadata"]["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names(&DirectorySource::default()), ["a", "b", "j1", "j2", "k"]);
        let rec = DirectorySource {
            recurse: Some(true),
            ..Default::default()
        };
        assert_eq!(names(&rec), ["a", "b", "j1", "j2", "k", "c"]);
        let ex = DirectorySource {
            recurse: Some(true),
            exclude: Some("{b.yml,sub/*}".into()),
            ..Default::default()
        };
        assert_eq!(names(&ex), ["a", "j1", "j2", "k"]);
        let inc = DirectorySource {
            recurse: Some(true),
            include: Some("*.json".into()),
            ..Default::default()
        };
        assert_eq!(names(&inc), ["c"]);
    }
}
