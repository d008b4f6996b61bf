//! The plain renderer: every `*.yaml`, `*.yml` and `*.json` under a path, recursively.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use ballast_core::{Manifest, ObjectRef, Origin};
use serde_json::Value;

use crate::limits::Limit;
use crate::root::{Root, expanded_size};
use crate::scope::{Scope, Scopes, WithCrds};
use crate::yaml::YamlError;
use crate::{RenderError, RenderSpec};

/// What Flux leaves out of an artifact when `spec.ignore` is not set (besides dotfiles, which the
/// plain renderer always skips): CI configuration and binary assets.
pub const DEFAULT_IGNORE: &str = "*.jpg\n*.jpeg\n*.gif\n*.png\n*.wmv\n*.flv\n*.tar.gz\n*.zip\n\
    cloudbuild.yaml\nappveyor.yml\ncodeship-services.yml\ncodeship-steps.yml\n";

/// Ignore rules: each matcher is rooted at the directory its rules came from.
struct Ignores(Vec<ignore::gitignore::Gitignore>);

impl Ignores {
    fn new(root: &Path, spec: Option<&str>) -> Result<Self, RenderError> {
        let mut out = Ignores(Vec::new());
        out.add(root, spec.unwrap_or(DEFAULT_IGNORE), Path::new("spec.ignore"))?;
        Ok(out)
    }

    fn add(&mut self, dir: &Path, rules: &str, origin: &Path) -> Result<(), RenderError> {
        let mut b = ignore::gitignore::GitignoreBuilder::new(dir);
        for line in rules.lines() {
            b.add_line(None, line).map_err(|e| RenderError::Io {
                path: origin.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
            })?;
        }
        let gi = b.build().map_err(|e| RenderError::Io {
            path: origin.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
        })?;
        self.0.push(gi);
        Ok(())
    }

    fn ignored(&self, path: &Path, is_dir: bool) -> bool {
        let mut verdict = false;
        for gi in &self.0 {
            if !path.starts_with(gi.path()) {
                continue;
            }
            match gi.matched(path, is_dir) {
                ignore::Match::Ignore(_) => verdict = true,
                ignore::Match::Whitelist(_) => verdict = false,
                ignore::Match::None => {}
            }
        }
        verdict
    }
}

/// Renders `spec.path` under `root`.
///
/// Guarantees:
/// - files are read in a deterministic order (sorted by path, byte-wise), documents in file order;
/// - hidden files and directories (`.git`, `.github`, ...) are skipped;
/// - nothing outside `root` is read: a path or symlink that resolves outside it is an error;
/// - every document is a Kubernetes object (`apiVersion`, `kind`, `metadata.name`) or empty;
///   `kind: List` documents are expanded into their items;
/// - no two objects share group/kind/namespace/name;
/// - namespaced objects get `spec.target_namespace` (or `spec.default_namespace` when they name
///   none); cluster-scoped objects lose any namespace they carry;
/// - a kind that `scopes` does not know and no CRD in the output defines is an error.
pub fn render_plain(root: &Path, spec: &RenderSpec, scopes: &dyn Scopes) -> Result<Vec<Manifest>, RenderError> {
    render_with_overrides(root, spec, scopes, None)
}

/// [`render_plain`], with Flux's Kustomization-level `overrides` merged in memory into the
/// kustomization file at `spec.path` when there is one ([`crate::kustomize::build_edited`]);
/// a path without one renders as [`render_plain`] does (the caller applies the overrides on
/// top, [`crate::kustomize::apply_overrides`]). Nothing in `root` is modified.
pub fn render_with_overrides(
    root: &Path,
    spec: &RenderSpec,
    scopes: &dyn Scopes,
    overrides: Option<&Value>,
) -> Result<Vec<Manifest>, RenderError> {
    let root = Root::new(root, spec.limits)?.with_decrypt(spec.decrypt.clone());
    let start = root.join(&spec.path);
    let start = start
        .canonicalize()
        .map_err(|_| RenderError::PathNotFound(spec.path.clone()))?;
    if !start.starts_with(&*root) {
        return Err(RenderError::OutsideRoot(spec.path.clone()));
    }
    if !start.is_dir() {
        return Err(RenderError::PathNotFound(spec.path.clone()));
    }
    let mut files = Vec::new();
    let mut ignores = Ignores::new(&root, spec.ignore.as_deref())?;
    // `.sourceignore` files between the root and the start directory apply too.
    for dir in start
        .ancestors()
        .filter(|d| d.starts_with(&*root) && *d != start)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        load_sourceignore(&root, dir, &mut ignores)?;
    }
    collect_files(&root, &start, &mut files, &mut HashSet::new(), &mut ignores)?;
    files.sort();

    let mut manifests = Vec::new();
    for file in &files {
        if file.is_dir() {
            let edit = overrides.filter(|_| *file == start);
            manifests.extend(crate::kustomize::build_edited(&root, file, edit)?);
        } else {
            let rel = root.rel(file);
            let text = root.read(file)?;
            let docs = parse_file(&root, &rel, &text)?;
            for (index, doc) in docs.into_iter().enumerate() {
                if doc.is_null() {
                    continue;
                }
                let origin = Origin {
                    file: rel.clone(),
                    document: index,
                };
                push_object(doc, origin, &mut manifests)?;
            }
        }
        check_objects(&root, file, manifests.len())?;
    }
    if let Some(d) = root.decryptor() {
        for m in &mut manifests {
            d.object(&mut m.object).map_err(|message| RenderError::Decrypt {
                file: PathBuf::from(m.origin.to_string()),
                message,
            })?;
        }
    }
    check_output(&root, spec, &manifests)?;
    assign_namespaces(&mut manifests, spec, scopes)?;
    check_duplicates(&manifests)?;
    Ok(manifests)
}

fn check_objects(root: &Root, file: &Path, n: usize) -> Result<(), RenderError> {
    let max = root.limits().max_objects;
    if n > max {
        return Err(RenderError::Limit {
            file: root.rel(file),
            message: Limit::Objects.message("the number of objects rendered so far", max as u64),
        });
    }
    Ok(())
}

/// What the engines produced (patches, replacements and generators included) must fit in the
/// render size too.
fn check_output(root: &Root, spec: &RenderSpec, manifests: &[Manifest]) -> Result<(), RenderError> {
    let max = root.limits().max_render_size;
    let mut total = 0u64;
    for m in manifests {
        total += expanded_size(&m.object);
        if total > max {
            return Err(RenderError::Limit {
                file: spec.path.clone(),
                message: Limit::RenderSize.message("the size of the rendered objects", max),
            });
        }
    }
    Ok(())
}

fn parse_file(root: &Root, rel: &Path, text: &str) -> Result<Vec<Value>, RenderError> {
    let is_json = rel.extension().is_some_and(|e| e == "json");
    if is_json {
        let v = serde_json::from_str::<Value>(text).map_err(|e| RenderError::Syntax {
            file: rel.to_path_buf(),
            error: YamlError {
                document: 0,
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
                limit: None,
            },
        })?;
        root.charge(expanded_size(&v)).map_err(|message| RenderError::Limit {
            file: rel.to_path_buf(),
            message,
        })?;
        return Ok(vec![v]);
    }
    root.parse(text).map_err(|error| RenderError::Syntax {
        file: rel.to_path_buf(),
        error,
    })
}

fn push_object(doc: Value, origin: Origin, out: &mut Vec<Manifest>) -> Result<(), RenderError> {
    let is_list = doc.get("kind").and_then(Value::as_str).is_some_and(|k| k == "List")
        && doc.get("items").is_some_and(Value::is_array);
    if is_list {
        if let Some(Value::Array(items)) = doc.get("items") {
            for item in items {
                out.push(Manifest::new(item.clone(), origin.clone())?);
            }
        }
        return Ok(());
    }
    out.push(Manifest::new(doc, origin)?);
    Ok(())
}

fn load_sourceignore(root: &Root, dir: &Path, ignores: &mut Ignores) -> Result<(), RenderError> {
    let file = dir.join(".sourceignore");
    match fs::symlink_metadata(&file) {
        Ok(m) if m.file_type().is_symlink() || !m.is_file() => {
            return Err(RenderError::OutsideRoot(root.rel(&file)));
        }
        Ok(_) => {}
        Err(_) => return Ok(()),
    }
    let text = root.read(&file)?;
    ignores.add(dir, &text, &root.rel(&file))
}

fn collect_files(
    root: &Root,
    dir: &Path,
    out: &mut Vec<PathBuf>,
    seen: &mut HashSet<PathBuf>,
    ignores: &mut Ignores,
) -> Result<(), RenderError> {
    let rel = |p: &Path| root.rel(p);
    if !seen.insert(dir.to_path_buf()) {
        return Ok(()); // a symlink loop inside the repository: visit once
    }
    if crate::kustomize::kustomization_file(dir).is_some() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    load_sourceignore(root, dir, ignores)?;
    let entries = fs::read_dir(dir).map_err(|source| RenderError::Io { path: rel(dir), source })?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        let meta = fs::symlink_metadata(&path).map_err(|source| RenderError::Io {
            path: rel(&path),
            source,
        })?;
        // A symlink (to a file or a directory) is followed only when it resolves inside the
        // root; a dangling one is refused too.
        let target = if meta.file_type().is_symlink() {
            match path.canonicalize() {
                Ok(t) if t.starts_with(&**root) => t,
                _ => return Err(RenderError::OutsideRoot(rel(&path))),
            }
        } else {
            path.clone()
        };
        if ignores.ignored(&path, target.is_dir()) {
            continue;
        }
        if target.is_dir() {
            collect_files(root, &target, out, seen, ignores)?;
        } else if is_manifest_file(name) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_manifest_file(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")
}

fn assign_namespaces(manifests: &mut [Manifest], spec: &RenderSpec, scopes: &dyn Scopes) -> Result<(), RenderError> {
    let scopes = WithCrds::new(scopes, manifests);
    let mut scoped = Vec::with_capacity(manifests.len());
    for m in manifests.iter() {
        let r = m.object_ref();
        match scopes.scope(&r.group, &r.kind) {
            Some(s) => scoped.push(s),
            None => {
                return Err(RenderError::UnknownKind {
                    origin: m.origin.clone(),
                    object: r.to_string(),
                    api_version: m.api_version().to_string(),
                    kind: m.kind().to_string(),
                });
            }
        }
    }
    for (m, scope) in manifests.iter_mut().zip(scoped) {
        match scope {
            Scope::Cluster => m.set_namespace(None),
            Scope::Namespaced => {
                if let Some(ns) = &spec.target_namespace {
                    m.set_namespace(Some(ns));
                } else if m.namespace().is_none()
                    && let Some(ns) = &spec.default_namespace
                {
                    m.set_namespace(Some(ns));
                }
            }
        }
    }
    Ok(())
}

/// Settles objects after a Kustomization's overrides ([`crate::kustomize::apply_overrides`],
/// whose namespace transformer, like kustomize's, sets a namespace on every kind it does not know
/// as cluster-scoped): objects of a kind that `scopes` (or a CRD among `manifests`) says is
/// cluster-scoped lose their namespace, as the API server drops it; objects of kinds it does not
/// know are left as they are. Errors when two objects then coincide.
pub fn settle_namespaces(manifests: &mut [Manifest], scopes: &dyn Scopes) -> Result<(), RenderError> {
    let scopes = WithCrds::new(scopes, manifests);
    let cluster: Vec<bool> = manifests
        .iter()
        .map(|m| {
            let r = m.object_ref();
            scopes.scope(&r.group, &r.kind) == Some(Scope::Cluster)
        })
        .collect();
    for (m, cluster) in manifests.iter_mut().zip(cluster) {
        if cluster && m.namespace().is_some() {
            m.set_namespace(None);
        }
    }
    check_duplicates(manifests)
}

fn check_duplicates(manifests: &[Manifest]) -> Result<(), RenderError> {
    let mut seen: HashMap<ObjectRef, &Origin> = HashMap::with_capacity(manifests.len());
    for m in manifests {
        let r = m.object_ref();
        if let Some(first) = seen.get(&r) {
            return Err(RenderError::Duplicate {
                object: r.to_string(),
                first: (*first).clone(),
                second: m.origin.clone(),
            });
        }
        seen.insert(r, &m.origin);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::BuiltinScopes;
    use crate::yaml::parse_stream_limited;
    use std::fs::write;

    fn spec() -> RenderSpec {
        RenderSpec {
            path: ".".into(),
            default_namespace: Some("default".into()),
            ..Default::default()
        }
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            write(p, text).unwrap();
        }
        dir
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ";

    #[test]
    fn renders_recursively_in_order() {
        let d = tree(&[
            ("b/z.yaml", &format!("{CM}z\n")),
            ("a.yml", &format!("{CM}a\n---\n{CM}a2\n  namespace: other\n")),
            (
                "c.json",
                r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n","namespace":"x"}}"#,
            ),
            ("notes.txt", "ignored"),
            (".hidden/x.yaml", "not: [valid"),
        ]);
        let ms = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap();
        let names: Vec<String> = ms.iter().map(|m| m.object_ref().to_string()).collect();
        assert_eq!(
            names,
            [
                "ConfigMap/default/a",
                "ConfigMap/other/a2",
                "ConfigMap/default/z",
                "Namespace/n"
            ]
        );
        assert_eq!(ms[1].origin.to_string(), "a.yml (document 1)");
    }

    #[test]
    fn target_namespace_applies_to_namespaced_only() {
        let d = tree(&[(
            "a.yaml",
            &format!("{CM}a\n  namespace: x\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: t\n"),
        )]);
        let s = RenderSpec {
            target_namespace: Some("t".into()),
            ..spec()
        };
        let ms = render_plain(d.path(), &s, &BuiltinScopes).unwrap();
        assert_eq!(ms[0].namespace(), Some("t"));
        assert_eq!(ms[1].namespace(), None);
    }

    #[test]
    fn settling_drops_cluster_namespaces_and_finds_coincidences() {
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: \
                   gs.example.com\nspec:\n  group: example.com\n  scope: Cluster\n  names:\n    kind: G\n    \
                   plural: gs\n";
        let text = format!(
            "{crd}---\napiVersion: example.com/v1\nkind: G\nmetadata:\n  name: g\n  namespace: t\n---\n\
             apiVersion: example.com/v1\nkind: Unknown\nmetadata:\n  name: u\n  namespace: t\n---\n{CM}a\n  namespace: t\n"
        );
        let mut ms: Vec<Manifest> = crate::yaml::parse_stream(&text)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let origin = Origin {
                    file: "a.yaml".into(),
                    document: i,
                };
                Manifest::new(v, origin).unwrap()
            })
            .collect();
        settle_namespaces(&mut ms, &BuiltinScopes).unwrap();
        let namespaces: Vec<_> = ms.iter().map(Manifest::namespace).collect();
        assert_eq!(namespaces, [None, None, Some("t"), Some("t")]);
        let mut twice = [ms[3].clone(), ms[3].clone()];
        assert!(matches!(
            settle_namespaces(&mut twice, &BuiltinScopes),
            Err(RenderError::Duplicate { .. })
        ));
    }

    #[test]
    fn errors_name_file_and_document() {
        let d = tree(&[(
            "bad.yaml",
            &format!("{CM}ok\n---\nkind: ConfigMap\nmetadata:\n  name: x\n"),
        )]);
        let e = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap_err();
        assert_eq!(e.to_string(), "bad.yaml (document 1): missing apiVersion");

        let d = tree(&[("x.yaml", "a: [1\n")]);
        let e = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap_err().to_string();
        assert!(e.starts_with("x.yaml: invalid YAML in document 0"), "{e}");

        let d = tree(&[("a.yaml", &format!("{CM}same\n")), ("b.yaml", &format!("{CM}same\n"))]);
        let e = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap_err().to_string();
        assert_eq!(
            e,
            "ConfigMap/default/same: defined twice, in a.yaml (document 0) and in b.yaml (document 0)"
        );

        let d = tree(&[(
            "w.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
        )]);
        let e = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap_err().to_string();
        assert!(
            e.starts_with("w.yaml (document 0): Widget/w: unknown kind example.com/v1 Widget"),
            "{e}"
        );
    }

    #[test]
    fn crd_in_the_same_source_defines_its_kind() {
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names:\n    kind: Widget\n";
        let d = tree(&[
            ("crd.yaml", crd),
            (
                "w.yaml",
                "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
            ),
        ]);
        let ms = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap();
        assert_eq!(ms[1].namespace(), Some("default"));
    }

    #[test]
    fn a_directory_with_a_kustomization_is_built_by_kustomize() {
        let d = tree(&[
            ("app/kustomization.yaml", "namePrefix: p-\nresources:\n- cm.yaml\n"),
            ("app/cm.yaml", &format!("{CM}a\n")),
            ("other.yaml", &format!("{CM}b\n")),
        ]);
        let names: Vec<String> = render_plain(d.path(), &spec(), &BuiltinScopes)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        assert_eq!(names, ["p-a", "b"]);
        let d = tree(&[("app/kustomization.yaml", "openapi: {}\n")]);
        let e = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap_err().to_string();
        assert_eq!(e, "app/kustomization.yaml: openapi: not supported yet");
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let outside = tree(&[("secret.yaml", &format!("{CM}stolen\n"))]);
        let d = tree(&[("a.yaml", &format!("{CM}a\n"))]);
        std::os::unix::fs::symlink(outside.path().join("secret.yaml"), d.path().join("link.yaml")).unwrap();
        let e = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap_err().to_string();
        assert_eq!(e, "link.yaml: refers outside the repository root; refused");
        let s = RenderSpec {
            path: "../".into(),
            ..spec()
        };
        assert!(matches!(
            render_plain(d.path(), &s, &BuiltinScopes),
            Err(RenderError::OutsideRoot(_))
        ));
    }

    #[test]
    fn symlinked_directories_out_of_the_root_are_refused() {
        let outside = tree(&[("secret.yaml", &format!("{CM}stolen\n"))]);
        let d = tree(&[("a.yaml", &format!("{CM}a\n"))]);
        std::os::unix::fs::symlink(outside.path(), d.path().join("linked")).unwrap();
        let e = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap_err().to_string();
        assert_eq!(e, "linked: refers outside the repository root; refused");
        // Rendering the link itself as the path is refused too.
        let s = RenderSpec {
            path: "linked".into(),
            ..spec()
        };
        let e = render_plain(d.path(), &s, &BuiltinScopes).unwrap_err().to_string();
        assert_eq!(e, "linked: refers outside the repository root; refused");
        // A symlinked directory inside the root is followed.
        let d = tree(&[("real/a.yaml", &format!("{CM}a\n"))]);
        std::os::unix::fs::symlink(d.path().join("real"), d.path().join("z-link")).unwrap();
        let s = RenderSpec {
            path: "z-link".into(),
            ..spec()
        };
        assert_eq!(render_plain(d.path(), &s, &BuiltinScopes).unwrap().len(), 1);
    }

    #[test]
    fn files_over_the_size_limit_are_refused_before_reading() {
        let d = tree(&[("a.yaml", &format!("{CM}a\n"))]);
        // Sparse: 9 MiB by its metadata, nothing on disk.
        fs::File::create(d.path().join("big.yaml"))
            .unwrap()
            .set_len(9 << 20)
            .unwrap();
        let e = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap_err().to_string();
        assert_eq!(
            e,
            "big.yaml: its size (9 MiB) is over the limit of 8 MiB (raise it with --max-file-size)"
        );
        let s = RenderSpec {
            limits: crate::Limits {
                max_file_size: 16,
                ..Default::default()
            },
            ..spec()
        };
        let e = render_plain(d.path(), &s, &BuiltinScopes).unwrap_err().to_string();
        assert!(
            e.starts_with("a.yaml: its size (") && e.contains("limit of 16 bytes"),
            "{e}"
        );
    }

    #[test]
    fn the_render_size_and_object_count_are_limited() {
        let many: String = (0..20).map(|i| format!("---\n{CM}c{i}\n")).collect();
        let d = tree(&[("a.yaml", &many), ("b.yaml", &many.replace(" c", " d"))]);
        let limited = |limits: crate::Limits| {
            let s = RenderSpec { limits, ..spec() };
            render_plain(d.path(), &s, &BuiltinScopes).map(|ms| ms.len())
        };
        assert_eq!(limited(crate::Limits::default()).unwrap(), 40);
        let e = limited(crate::Limits {
            max_objects: 30,
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "b.yaml: the number of objects rendered so far is over the limit of 30 (raise it with --max-objects)"
        );
        // One file fits, two do not.
        let one = parse_stream_limited(&many, &crate::Limits::default()).unwrap().expanded;
        let e = limited(crate::Limits {
            max_render_size: one + one / 2,
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("b.yaml: the render's expanded size is over the limit of")
                && e.ends_with("(raise it with --max-render-size)"),
            "{e}"
        );
    }

    #[test]
    fn ignore_rules_and_sourceignore_leave_files_out() {
        let d = tree(&[
            ("a.yaml", &format!("{CM}a\n")),
            ("cloudbuild.yaml", "steps: []\n"),
            ("drafts/x.yaml", "not: an object\n"),
            ("keep/b.yaml", &format!("{CM}b\n")),
            ("keep/skip.yaml", "not: an object\n"),
            (".sourceignore", "drafts/\n"),
            ("keep/.sourceignore", "skip.yaml\n"),
        ]);
        let names = |ms: Vec<Manifest>| ms.iter().map(|m| m.name().to_string()).collect::<Vec<_>>();
        assert_eq!(
            names(render_plain(d.path(), &spec(), &BuiltinScopes).unwrap()),
            ["a", "b"]
        );
        // spec.ignore replaces the defaults (cloudbuild.yaml is read again) and adds its own rules.
        let s = RenderSpec {
            ignore: Some("a.yaml\n".into()),
            ..spec()
        };
        let e = render_plain(d.path(), &s, &BuiltinScopes).unwrap_err().to_string();
        assert!(e.starts_with("cloudbuild.yaml (document 0): missing apiVersion"), "{e}");
        let s = RenderSpec {
            ignore: Some("a.yaml\ncloudbuild.yaml\n".into()),
            ..spec()
        };
        assert_eq!(names(render_plain(d.path(), &s, &BuiltinScopes).unwrap()), ["b"]);
        // Rendering a subdirectory still honours the root's .sourceignore.
        let s = RenderSpec {
            path: "keep".into(),
            ..spec()
        };
        assert_eq!(names(render_plain(d.path(), &s, &BuiltinScopes).unwrap()), ["b"]);
    }

    #[test]
    fn lists_are_expanded_and_empty_documents_skipped() {
        let d = tree(&[(
            "l.yaml",
            "---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n",
        )]);
        let ms = render_plain(d.path(), &spec(), &BuiltinScopes).unwrap();
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].name(), "a");
    }
}
