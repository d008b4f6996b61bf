//! A chart rendered for a release, as helm's install and upgrade actions render it: the
//! manifest stream (hooks excluded), the hooks with weights and policies, the top chart's
//! notes, the chart as stored and the user values.
//!
//! Guarantees: the manifest is the `helm template` body for the same inputs (same documents,
//! same order, same `# Source:` lines); a render error is helm's message.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value as Json, json};

use super::{ChartRecord, File, HookRecord, HookRun};
use crate::chart::{Chart, Metadata};
use crate::values::ValueOptions;
use crate::{Error, Value, capabilities, engine, output};

/// What a release render needs besides the chart.
#[derive(Clone, Debug, Default)]
pub struct ReleaseRenderOptions {
    /// The release name.
    pub name: String,
    /// The release namespace.
    pub namespace: String,
    /// `.Release.Revision`.
    pub revision: i64,
    /// `.Release.IsUpgrade` (else `IsInstall`).
    pub is_upgrade: bool,
    /// `.Capabilities.KubeVersion` (the cluster's); helm's default when absent.
    pub kube_version: Option<String>,
    /// `-f` and the `--set` family.
    pub values: ValueOptions,
    /// `.Capabilities.APIVersions` entries besides helm's defaults (the cluster's).
    pub api_versions: Vec<String>,
    /// Skip the check of the values against the chart's `values.schema.json` (helm's
    /// `--skip-schema-validation`).
    pub skip_schema_validation: bool,
}

/// A `crds/` file of the chart, installed before anything else on install.
#[derive(Clone, Debug)]
pub struct CrdFile {
    /// Path as helm names it (`demo/crds/x.yaml`).
    pub path: String,
    /// Its text.
    pub text: String,
}

/// A chart rendered for a release.
#[derive(Clone, Debug)]
pub struct RenderedRelease {
    /// `release.manifest`: `---\n# Source: <path>\n<doc>\n` per manifest, in install order.
    pub manifest: String,
    /// The hooks (not yet run), in helm's kind order.
    pub hooks: Vec<HookRecord>,
    /// The top chart's rendered `NOTES.txt`.
    pub notes: String,
    /// The chart as stored in the release.
    pub chart: ChartRecord,
    /// The user values (`config`).
    pub config: Json,
    /// The charts' `crds/` files.
    pub crds: Vec<CrdFile>,
}

/// Renders the chart at `chart` (a directory or `.tgz`) for a release.
pub fn render_release(chart: &Path, opts: &ReleaseRenderOptions) -> Result<RenderedRelease, Error> {
    let (chart, opts): (PathBuf, ReleaseRenderOptions) = (chart.to_path_buf(), opts.clone());
    crate::on_render_thread(move || {
        let user = opts.values.merge()?;
        let chart = crate::chart::load(&chart)?;
        chart.check_installable()?;
        render_loaded(chart, &user, &opts)
    })
}

/// [`render_release`] for a loaded chart and merged user values, on the calling thread.
pub fn render_loaded(chart: Chart, user: &Value, opts: &ReleaseRenderOptions) -> Result<RenderedRelease, Error> {
    let render_err = |e: Error| Error(format!("{}{}", e.0, crate::DEBUG_HINT));
    let (ahead, keys) = crate::work_ahead(&chart, opts.skip_schema_validation);
    let record = chart_record(&chart)?;
    let config = to_json(user)?;
    let mut crds = Vec::new();
    crate::collect_crds(&chart, &chart.metadata.name, &mut crds);
    let crds = crds
        .into_iter()
        .map(|c| CrdFile {
            path: c.path,
            text: String::from_utf8_lossy(&c.data).into_owned(),
        })
        .collect();
    let caps = capabilities::Capabilities::new(opts.kube_version.as_deref(), &opts.api_versions)
        .map_err(|e| Error(format!("invalid kube version: {e}")))?;
    let (chart, values) = crate::values::prepare(chart, user).map_err(render_err)?;
    let kube_version = caps.check_kube_version(&chart.metadata);
    let namespace = if opts.namespace.is_empty() {
        "default"
    } else {
        &opts.namespace
    };
    let ctx = engine::Context {
        release: capabilities::release_object(&opts.name, namespace, opts.is_upgrade, opts.revision),
        capabilities: caps.into_value(),
        limits: ballast_gotemplate::Limits {
            max_stack: crate::RENDER_STACK / 2,
            ..ballast_gotemplate::Limits::default()
        },
    };
    // Parsed before the schemas are checked, as `template_loaded` does; errors in helm's order.
    let parsed = engine::parse(&chart, &values, &ctx, ahead.as_ref());
    if !opts.skip_schema_validation {
        crate::schema_check(&chart, &values).map_err(render_err)?;
    }
    kube_version.map_err(|e| render_err(Error(e)))?;
    let parsed = parsed.map_err(render_err)?;
    let _keys = keys.keys_ahead(&parsed);
    let mut rendered = engine::execute(parsed, &ctx).map_err(render_err)?;
    let notes_path = format!("{}/templates/NOTES.txt", chart.metadata.name);
    let notes = rendered.get(&notes_path).cloned().unwrap_or_default();
    rendered.retain(|p, _| !p.ends_with("NOTES.txt"));
    let parse = |src: &str| crate::yaml::parse_document(src).map_err(|e| e.0);
    let (hooks, manifests) = output::sort_manifests(&rendered, &parse).map_err(render_err)?;
    let mut manifest = String::new();
    for m in &manifests {
        manifest.push_str(&format!("---\n# Source: {}\n{}\n", m.path, m.content));
    }
    let hooks = hooks.iter().map(hook_record).collect();
    crate::free_later((chart, values, rendered));
    Ok(RenderedRelease {
        manifest,
        hooks,
        notes,
        chart: record,
        config,
        crds,
    })
}

fn policies(hook: &output::Hook, annotation: &str) -> Vec<String> {
    hook.manifest
        .head
        .annotations
        .get(annotation)
        .map(|v| {
            v.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A rendered hook as the release stores it (`before-hook-creation` when it names no
/// delete policy).
pub fn hook_record(hook: &output::Hook) -> HookRecord {
    let mut delete_policies = policies(hook, "helm.sh/hook-delete-policy");
    if delete_policies.is_empty() {
        delete_policies.push("before-hook-creation".into());
    }
    HookRecord {
        name: hook.manifest.head.name.clone(),
        kind: hook.manifest.head.kind.clone(),
        path: hook.manifest.path.to_string(),
        manifest: hook.manifest.content.to_string(),
        events: hook.events.clone(),
        last_run: HookRun::default(),
        weight: hook.weight,
        delete_policies,
        output_log_policies: policies(hook, "helm.sh/hook-output-log-policy"),
    }
}

fn to_json(v: &Value) -> Result<Json, Error> {
    let text = crate::json::to_json(v).map_err(Error)?;
    serde_json::from_str(&text).map_err(|e| Error(format!("cannot convert values: {e}")))
}

fn files(list: &[crate::chart::ChartFile]) -> Option<Vec<File>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|f| File {
                name: f.name.clone(),
                data: STANDARD.encode(&f.data),
                extra: Map::new(),
            })
            .collect()
    })
}

/// `Chart.yaml` with Go's JSON keys, empty fields left out (helm's `omitempty`).
pub fn metadata_json(md: &Metadata) -> Json {
    let mut m = Map::new();
    let mut put = |k: &str, v: Json| {
        let empty = match &v {
            Json::String(s) => s.is_empty(),
            Json::Array(a) => a.is_empty(),
            Json::Object(o) => o.is_empty(),
            Json::Bool(b) => !b,
            Json::Null => true,
            Json::Number(_) => false,
        };
        if !empty {
            m.insert(k.to_string(), v);
        }
    };
    put("name", json!(md.name));
    put("home", json!(md.home));
    put("sources", json!(md.sources));
    put("version", json!(md.version));
    put("description", json!(md.description));
    put("keywords", json!(md.keywords));
    let maintainers: Vec<Json> = md
        .maintainers
        .iter()
        .map(|x| {
            let mut o = Map::new();
            for (k, v) in [("name", &x.name), ("email", &x.email), ("url", &x.url)] {
                if !v.is_empty() {
                    o.insert(k.into(), json!(v));
                }
            }
            Json::Object(o)
        })
        .collect();
    put("maintainers", Json::Array(maintainers));
    put("icon", json!(md.icon));
    put("apiVersion", json!(md.api_version));
    put("condition", json!(md.condition));
    put("tags", json!(md.tags));
    put("appVersion", json!(md.app_version));
    put("deprecated", json!(md.deprecated));
    put("annotations", json!(md.annotations.clone().unwrap_or_default()));
    put("kubeVersion", json!(md.kube_version));
    let deps: Vec<Json> = md
        .dependencies
        .iter()
        .map(|d| {
            let mut o = Map::new();
            o.insert("name".into(), json!(d.name));
            if !d.version.is_empty() {
                o.insert("version".into(), json!(d.version));
            }
            o.insert("repository".into(), json!(d.repository));
            if !d.condition.is_empty() {
                o.insert("condition".into(), json!(d.condition));
            }
            if !d.tags.is_empty() {
                o.insert("tags".into(), json!(d.tags));
            }
            if d.enabled {
                o.insert("enabled".into(), json!(true));
            }
            if !d.alias.is_empty() {
                o.insert("alias".into(), json!(d.alias));
            }
            Json::Object(o)
        })
        .collect();
    put("dependencies", Json::Array(deps));
    put("type", json!(md.chart_type));
    Json::Object(m)
}

/// The chart as helm stores it in a release (its subcharts are not stored).
pub fn chart_record(chart: &Chart) -> Result<ChartRecord, Error> {
    let lock = match &chart.lock {
        Some(l) => crate::yaml::parse_values(&String::from_utf8_lossy(l))
            .ok()
            .and_then(|v| to_json(&v).ok())
            .unwrap_or(Json::Null),
        None => Json::Null,
    };
    Ok(ChartRecord {
        metadata: metadata_json(&chart.metadata),
        lock,
        templates: files(&chart.templates),
        values: to_json(&chart.values)?,
        schema: chart.schema.as_ref().map(|s| STANDARD.encode(s)),
        schemamodtime: None,
        files: files(&chart.files),
        extra: Map::new(),
    })
}
