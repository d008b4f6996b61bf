//! An Application's sources fetched and rendered, one source (`spec.source`) or several
//! (`spec.sources`), as Argo CD's repo server and controller combine them: every source is
//! fetched (Git, or a chart repository through [`crate::argo_chart`]) at its own `targetRevision` (an operation's `revision`/`revisions` win); a source
//! with `ref` lends its tree to the others' `helm.valueFiles` as `$<ref>/<path>`; a source that
//! has a `ref` and neither `path` nor `chart` is not rendered; the objects of all rendered
//! sources are merged in source order, a later source's object replacing an earlier one with the
//! same group, kind, namespace and name (reported, as Argo CD's `RepeatedResourceWarning`).
//!
//! Guarantees: at most [`MAX_SOURCES`] sources; `$ref` paths never leave the referenced tree;
//! an error names the source (by index and `repoURL`, credentials redacted).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use ballast_api::argo::{Application, ApplicationSource, SyncOperation};
use serde_json::Value;

use crate::application::AppAccess;
use crate::argo_render::{self, RenderContext};

/// Most sources one Application may list.
pub const MAX_SOURCES: usize = 20;

/// What an Application's sources rendered to.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The objects (hooks included), merged in source order.
    pub objects: Vec<Value>,
    /// `status.sourceType` (the first rendered source's).
    pub source_type: &'static str,
    /// The first source's revision (hook names, single-source status).
    pub revision: String,
    /// One revision per source (multi-source only, else empty).
    pub revisions: Vec<String>,
    /// The sources used (one for a single-source Application).
    pub sources: Vec<ApplicationSource>,
    /// `spec.sources` was used.
    pub multi: bool,
    /// Objects produced by more than one source (`kind/namespace/name`).
    pub repeated: Vec<String>,
}

/// Why loading failed: fetching (a `ComparisonError` with status `Unknown`) or rendering.
#[derive(Debug)]
pub enum LoadError {
    /// A source could not be fetched.
    Fetch(String),
    /// A source could not be rendered: why, and the first source's revision.
    Render(String, String),
}

/// The sources an Application syncs: the operation's when it names them, else the spec's;
/// `(sources, multi)`.
pub fn sources_of(app: &Application, op: Option<&SyncOperation>) -> (Vec<ApplicationSource>, bool) {
    if !app.spec.sources.is_empty() {
        let from_op = op.map(|o| o.sources.clone()).filter(|s| !s.is_empty());
        return (from_op.unwrap_or_else(|| app.spec.sources.clone()), true);
    }
    let single = op
        .and_then(|o| o.source.clone())
        .or_else(|| app.spec.source.clone())
        .unwrap_or_default();
    (vec![single], false)
}

/// Fetches and renders the sources of `app` (with the operation `op` when one runs).
pub async fn load(app: &Application, op: Option<&SyncOperation>, access: &AppAccess) -> Result<Loaded, LoadError> {
    let (sources, multi) = sources_of(app, op);
    if sources.len() > MAX_SOURCES {
        return Err(LoadError::Fetch(format!("more than {MAX_SOURCES} sources")));
    }
    let mut roots = Vec::new();
    let mut revisions = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let wanted = op.and_then(|o| {
            if multi {
                o.revisions.get(i).cloned().filter(|r| !r.is_empty())
            } else {
                o.revision.clone()
            }
        });
        let fetched = if is_chart(source) {
            crate::argo_chart::fetch(source, wanted.as_deref(), access)
                .await
                .map(|(dir, version)| (dir.parent().map(PathBuf::from).unwrap_or(dir), version))
        } else {
            crate::application::fetch(source, wanted.as_deref(), access)
                .await
                .map_err(|e| e.to_string())
        };
        let (root, revision) = fetched.map_err(|e| LoadError::Fetch(format!("{}{e}", label(multi, i, source))))?;
        roots.push(root);
        revisions.push(revision);
    }
    let refs: BTreeMap<String, PathBuf> = sources
        .iter()
        .zip(&roots)
        .filter_map(|(s, root)| s.reference.clone().filter(|r| !r.is_empty()).map(|r| (r, root.clone())))
        .collect();
    let app_name = app.metadata.name.clone().unwrap_or_default();
    let namespace = app.spec.destination.namespace.clone().unwrap_or_default();
    let cluster = access.target.clone();
    let (srcs, revs) = (sources.clone(), revisions.clone());
    let rendered = tokio::task::spawn_blocking(move || {
        let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
        for (i, (source, root)) in srcs.iter().zip(&roots).enumerate() {
            let ref_only = source.reference.as_deref().is_some_and(|r| !r.is_empty())
                && source.path.as_deref().unwrap_or("").is_empty()
                && source.chart.as_deref().unwrap_or("").is_empty();
            if multi && ref_only {
                continue;
            }
            let ctx = RenderContext {
                app: &app_name,
                namespace: &namespace,
                revision: &revs[i],
                refs: &refs,
                scopes: &cluster,
            };
            let r = argo_render::render(root, &as_tree(source), &ctx)
                .map_err(|e| format!("{}{e}", label(multi, i, source)))?;
            out.push((r.source_type, r.objects));
        }
        Ok::<_, String>(out)
    })
    .await
    .map_err(|e| LoadError::Render(e.to_string(), String::new()))?
    .map_err(|e| LoadError::Render(e, revisions.first().cloned().unwrap_or_default()))?;
    let source_type = rendered.first().map(|(t, _)| *t).unwrap_or("Directory");
    let (objects, repeated) = merge(rendered.into_iter().map(|(_, o)| o));
    Ok(Loaded {
        objects,
        source_type,
        revision: revisions.first().cloned().unwrap_or_default(),
        revisions: if multi { revisions } else { Vec::new() },
        sources,
        multi,
        repeated,
    })
}

/// A chart from a chart repository (`chart` set).
fn is_chart(source: &ApplicationSource) -> bool {
    source.chart.as_deref().is_some_and(|c| !c.trim().is_empty())
}

/// A chart source as the chart directory it was extracted to (named after the chart, a Helm
/// source); other sources unchanged.
fn as_tree(source: &ApplicationSource) -> ApplicationSource {
    if !is_chart(source) {
        return source.clone();
    }
    let mut s = source.clone();
    s.path = s
        .chart
        .take()
        .map(|c| c.trim().rsplit('/').next().unwrap_or("").to_string());
    s.helm.get_or_insert_with(Default::default);
    s
}

/// `sources[i] (url): ` for a multi-source Application, nothing otherwise.
fn label(multi: bool, i: usize, source: &ApplicationSource) -> String {
    if multi {
        format!("sources[{i}] ({}): ", ballast_source::redact_url(&source.repo_url))
    } else {
        String::new()
    }
}

/// The identity Argo CD merges by: group, kind, namespace, name.
fn identity(o: &Value) -> String {
    let group = o["apiVersion"]
        .as_str()
        .unwrap_or("")
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or("");
    format!(
        "{group}/{}/{}/{}",
        o["kind"].as_str().unwrap_or(""),
        o["metadata"]["namespace"].as_str().unwrap_or(""),
        o["metadata"]["name"]
            .as_str()
            .unwrap_or(o["metadata"]["generateName"].as_str().unwrap_or(""))
    )
}

/// The objects of each source in order; a later object with the same identity replaces the
/// earlier one in place. Returns the objects and the repeated identities.
pub fn merge(per_source: impl IntoIterator<Item = Vec<Value>>) -> (Vec<Value>, Vec<String>) {
    let mut out: Vec<Value> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut repeated = Vec::new();
    for objects in per_source {
        let mut seen_here = HashMap::new();
        for o in objects {
            let id = identity(&o);
            // Objects made with generateName (hooks) are never merged.
            let named = o["metadata"]["name"].as_str().is_some_and(|n| !n.is_empty());
            match at.get(&id) {
                Some(&i) if named && !seen_here.contains_key(&id) => {
                    repeated.push(id.clone());
                    out[i] = o;
                }
                _ => {
                    at.insert(id.clone(), out.len());
                    out.push(o);
                }
            }
            seen_here.insert(id, ());
        }
    }
    (out, repeated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, v: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": v}})
    }

    #[test]
    fn later_source_wins_in_place() {
        let (out, repeated) = merge([vec![cm("a", "1"), cm("b", "1")], vec![cm("a", "2"), cm("c", "2")]]);
        let got: Vec<(String, String)> = out
            .iter()
            .map(|o| {
                (
                    o["metadata"]["name"].as_str().unwrap().to_string(),
                    o["data"]["v"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a".into(), "2".into()),
                ("b".into(), "1".into()),
                ("c".into(), "2".into())
            ]
        );
        assert_eq!(repeated, ["/ConfigMap//a"]);
    }
}
