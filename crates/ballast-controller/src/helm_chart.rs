//! The HelmChart reconciler: one chart, fetched from a `HelmRepository` (an HTTP chart
//! repository, or an OCI registry with `type: oci`) at a version or the newest match of a semver
//! range, or packaged from a path of a `GitRepository`'s artifact; `valuesFiles` merged into its
//! `values.yaml`; stored in the artifact store as `helmchart/<ns>/<name>/<chart>-<version>.tgz`.
//!
//! Guarantees:
//! - a failed fetch or build keeps the previous artifact in status and says why in
//!   `FetchFailed` or `BuildFailed` and `Ready`;
//! - the artifact changes (and HelmReleases hear of it) only when the archive's digest does;
//! - credentials are read from the source's Secrets and never appear in status, events or
//!   errors (errors name the Secret and the key).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ballast_api::condition::{ConditionStatus, remove_condition, set_condition};
use ballast_api::git_repository::{Artifact, GitRepository};
use ballast_api::helm_chart::{HelmChart, HelmChartStatus};
use ballast_api::helm_repository::HelmRepository;
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_source::chart_package::{DependencySources, package_chart_dir_with_dependencies, revision_metadata};
use ballast_source::oci::{OciClient, OciOptions, OciUrl};
use ballast_source::{
    BasicAuth, ChartSourceError, HelmLimits, HelmRepositoryClient, HelmRepositoryOptions, IndexCache, TlsOptions,
    basic_auth_from_secret, tls_from_secret,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::context::Context;
use crate::error::ReconcileError;
use crate::git_repository::GitAccess;
use crate::status::{condition, mark_failed, mark_ready, mark_reconciling, with_progress};

/// How one chart is fetched or packaged.
#[derive(Clone)]
pub struct ChartBuild {
    /// Git cache directory (charts from a GitRepository).
    pub cache_dir: PathBuf,
    /// Accept GitRepositories with `file://` URLs.
    pub allow_file_sources: bool,
    /// Limit for each request to a repository or registry (a source's own `timeout` wins).
    pub timeout: Duration,
    /// Largest chart archive, Git tree or index accepted, in bytes.
    pub max_size: u64,
    /// Parsed repository indexes, by digest, shared between builds.
    pub index_cache: Arc<IndexCache>,
    /// Mirrors of repository URLs (`--source-mirror`).
    pub mirrors: Arc<crate::source_mirror::SourceMirrors>,
}

impl Default for ChartBuild {
    fn default() -> Self {
        ChartBuild {
            cache_dir: std::env::temp_dir().join("ballast-cache"),
            allow_file_sources: false,
            timeout: Duration::from_secs(60),
            max_size: HelmLimits::default().max_chart_size,
            index_cache: Arc::new(IndexCache::new(32)),
            mirrors: Default::default(),
        }
    }
}

impl ChartBuild {
    /// The controller's settings.
    pub fn of(ctx: &Context) -> Self {
        ChartBuild {
            cache_dir: ctx.cache_dir.clone(),
            allow_file_sources: ctx.allow_file_sources,
            timeout: Duration::from_secs(60),
            max_size: HelmLimits::default().max_chart_size,
            index_cache: ctx.index_cache.clone(),
            mirrors: ctx.source_mirrors.clone(),
        }
    }
}

/// A chart fetched or packaged, ready to store.
#[derive(Clone)]
pub struct BuiltChart {
    /// The chart archive (`.tgz`), `valuesFiles` merged.
    pub bytes: Vec<u8>,
    /// Chart name.
    pub name: String,
    /// Chart version (with build metadata under `reconcileStrategy: Revision`).
    pub version: String,
    /// The revision Flux reports: the version.
    pub revision: String,
    /// Revision of the source artifact it was built from (Git sources).
    pub source_revision: Option<String>,
    /// `valuesFiles` merged.
    pub values_files: Vec<String>,
}

impl std::fmt::Debug for BuiltChart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltChart")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("size", &self.bytes.len())
            .finish()
    }
}

/// A failed pull with Flux's reason: `AuthenticationFailed` for refused credentials,
/// `ChartPullError` otherwise.
fn pull(e: ChartSourceError) -> ReconcileError {
    crate::chart_source::fetch_error("chart pull error", e, "ChartPullError")
}

fn built(e: ChartSourceError) -> ReconcileError {
    ReconcileError::Build(e.to_string())
}

/// Fetches or packages the chart `chart` names, exactly as the reconciler does, without
/// writing anything to the cluster.
pub async fn build(client: &kube::Client, chart: &HelmChart, opts: &ChartBuild) -> Result<BuiltChart, ReconcileError> {
    let ns = chart.namespace().unwrap_or_default();
    let spec = &chart.spec;
    let source = &spec.source_ref;
    let mut out = match source.kind.as_str() {
        "HelmRepository" => {
            let api: Api<HelmRepository> = Api::namespaced(client.clone(), &ns);
            let repo = api.get_opt(&source.name).await?.ok_or_else(|| {
                ReconcileError::ArtifactNotReady(format!("HelmRepository '{ns}/{}' not found", source.name))
            })?;
            from_repository(client, &repo, &spec.chart, spec.version_range(), opts).await?
        }
        "GitRepository" => {
            let api: Api<GitRepository> = Api::namespaced(client.clone(), &ns);
            let repo = api.get_opt(&source.name).await?.ok_or_else(|| {
                ReconcileError::ArtifactNotReady(format!("GitRepository '{ns}/{}' not found", source.name))
            })?;
            let revision = repo
                .status
                .as_ref()
                .and_then(|s| s.artifact.as_ref())
                .map(|a| a.revision.clone())
                .ok_or_else(|| {
                    ReconcileError::ArtifactNotReady(format!(
                        "GitRepository '{ns}/{}' is not ready, artifact not found",
                        source.name
                    ))
                })?;
            let access = GitAccess {
                client: client.clone(),
                cache_dir: opts.cache_dir.clone(),
                allow_file_sources: opts.allow_file_sources,
                max_artifact_size: ballast_source::DEFAULT_MAX_ARTIFACT_SIZE,
            };
            let root = crate::git_repository::artifact_root_with(&repo, &revision, &access).await?;
            let metadata = spec.rebuild_on_revision().then(|| revision_metadata(&revision));
            let path = spec.chart.trim_start_matches("./").to_string();
            let sources = DependencySources {
                http: HelmRepositoryOptions {
                    timeout: Some(opts.timeout),
                    ..Default::default()
                },
                oci: OciOptions {
                    timeout: Some(opts.timeout),
                    ..Default::default()
                },
                index_cache: opts.index_cache.clone(),
            };
            // Packaging holds chart values that are not `Send`: it runs on a blocking thread.
            let max_size = opts.max_size;
            let handle = tokio::runtime::Handle::current();
            let artifact = tokio::task::spawn_blocking(move || {
                handle.block_on(package_chart_dir_with_dependencies(
                    &root,
                    &path,
                    metadata.as_deref(),
                    max_size,
                    &sources,
                ))
            })
            .await
            .map_err(|e| ReconcileError::Build(e.to_string()))?
            .map_err(built)?;
            BuiltChart {
                revision: artifact.version.clone(),
                name: artifact.name,
                version: artifact.version,
                bytes: artifact.bytes,
                source_revision: Some(revision),
                values_files: Vec::new(),
            }
        }
        other => {
            return Err(ReconcileError::Invalid(format!(
                "spec.sourceRef.kind {other:?}: not supported (HelmRepository or GitRepository)"
            )));
        }
    };
    let files = spec.all_values_files();
    if !files.is_empty() {
        let ignore = spec.ignore_missing_values_files == Some(true);
        let (bytes, used) = ballast_source::chart_archive::with_values_files(
            &out.bytes,
            &files,
            ignore,
            opts.max_size.saturating_mul(4),
        )
        .map_err(built)?;
        out.bytes = bytes;
        out.values_files = used;
    }
    Ok(out)
}

/// Reads a Secret's data (`None` when absent). Errors name the Secret only.
async fn secret_data(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, ReconcileError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = api
        .get_opt(name)
        .await?
        .ok_or_else(|| ReconcileError::ChartPull(format!("secret '{ns}/{name}' not found")))?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}

/// Credentials and TLS settings of a HelmRepository, from its Secrets.
async fn repository_auth(
    client: &kube::Client,
    repo: &HelmRepository,
    registry: Option<&str>,
) -> Result<(Option<BasicAuth>, TlsOptions), ReconcileError> {
    let ns = repo.namespace().unwrap_or_default();
    let mut auth = None;
    let mut tls = TlsOptions::default();
    if let Some(r) = &repo.spec.secret_ref {
        let data = secret_data(client, &ns, &r.name).await?;
        auth = basic_auth_from_secret(&format!("{ns}/{}", r.name), &data, registry).map_err(pull)?;
        // Flux reads TLS keys from `secretRef` too (deprecated there).
        if !repo.spec.is_oci() {
            tls = tls_from_secret(&format!("{ns}/{}", r.name), &data).map_err(pull)?;
        }
    }
    if let Some(r) = &repo.spec.cert_secret_ref {
        let data = secret_data(client, &ns, &r.name).await?;
        tls = tls_from_secret(&format!("{ns}/{}", r.name), &data).map_err(pull)?;
    }
    Ok((auth, tls))
}

async fn from_repository(
    client: &kube::Client,
    repo: &HelmRepository,
    chart: &str,
    range: &str,
    opts: &ChartBuild,
) -> Result<BuiltChart, ReconcileError> {
    let timeout = repo
        .spec
        .timeout
        .as_deref()
        .and_then(|t| ballast_core::parse_duration(t).ok())
        .unwrap_or(opts.timeout);
    // A `--source-mirror` of the URL: the source's credentials reach it only when it says so.
    let mirrored = opts.mirrors.rewrite(&repo.spec.url);
    let registry = mirrored.registry();
    let keep = async |(auth, tls): (Option<BasicAuth>, TlsOptions)| -> Result<_, ReconcileError> {
        let auth = mirrored.auth(client, auth, registry.as_deref()).await?;
        Ok((
            auth,
            if mirrored.credentials {
                tls
            } else {
                TlsOptions::default()
            },
        ))
    };
    let artifact = if repo.spec.is_oci() {
        let registry = OciUrl::parse(&repo.spec.url).map_err(pull)?.registry;
        let (auth, tls) = keep(repository_auth(client, repo, Some(&registry)).await?).await?;
        let insecure = if mirrored.mirrored {
            mirrored.plain_http
        } else {
            repo.spec.insecure == Some(true)
        };
        let client = OciClient::new(OciOptions {
            auth,
            tls,
            insecure,
            timeout: Some(timeout),
        })
        .map_err(pull)?;
        client
            .fetch_chart(&mirrored.url, chart, range, opts.max_size)
            .await
            .map_err(pull)?
    } else {
        let (auth, tls) = keep(repository_auth(client, repo, None).await?).await?;
        let client = HelmRepositoryClient::new(
            &mirrored.url,
            HelmRepositoryOptions {
                auth,
                tls,
                pass_credentials: repo.spec.pass_credentials == Some(true),
                timeout: Some(timeout),
                limits: HelmLimits {
                    max_chart_size: opts.max_size,
                    ..Default::default()
                },
            },
        )
        .map_err(pull)?;
        let index = client.index(&opts.index_cache).await.map_err(pull)?;
        client.fetch_chart(&index, chart, range).await.map_err(pull)?
    };
    Ok(BuiltChart {
        revision: artifact.version.clone(),
        name: artifact.name,
        version: artifact.version,
        bytes: artifact.bytes,
        source_revision: None,
        values_files: Vec::new(),
    })
}

/// Reconciles one HelmChart.
pub async fn reconcile(chart: Arc<HelmChart>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ns = chart.namespace().unwrap_or_default();
    let name = chart.name_any();
    let api: Api<HelmChart> = Api::namespaced(ctx.client.clone(), &ns);
    let interval = crate::schedule::interval(Some(&chart.spec.interval), Duration::from_secs(600));
    if chart.spec.suspend == Some(true) || chart.meta().deletion_timestamp.is_some() {
        ctx.metrics.record("HelmChart", &ns, &name, None, started.elapsed());
        return Ok(Action::await_change());
    }
    let generation = chart.meta().generation;
    let mut status = chart.status.clone().unwrap_or_default();
    mark_reconciling(&mut status.conditions, generation, status.observed_generation);
    // One status write per outcome: `Reconciling` on its own only for a reconcile still running
    // after `PROGRESS_AFTER` (a slow pull).
    let progress = json!({"status": {"conditions": status.conditions}});
    status.observed_generation = generation;
    status.last_handled_reconcile_at = chart.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned();
    let work = async {
        if chart.spec.verify.is_some() {
            return Err(ReconcileError::Invalid("spec.verify: not supported yet".into()));
        }
        let built = build(&ctx.client, &chart, &ChartBuild::of(&ctx)).await?;
        let file = format!("{}-{}.tgz", built.name, built.version);
        let stored = ctx
            .artifacts
            .store("HelmChart", &ns, &name, &file, &built.bytes)
            .map_err(|e| ReconcileError::Build(e.to_string()))?;
        Ok((built, stored))
    };
    let result = with_progress(work, async {
        // Best effort: the outcome's write follows and says it all.
        let _ = api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&progress))
            .await;
    })
    .await;
    let action = match result {
        Ok((built, stored)) => {
            let changed = status.artifact.as_ref().and_then(|a| a.digest.as_deref()) != Some(stored.digest.as_str())
                || status.artifact.as_ref().map(|a| a.path.as_str()) != Some(stored.path.as_str());
            let verb = if built.source_revision.is_some() {
                "packaged"
            } else {
                "pulled"
            };
            let message = format!("{verb} '{}' chart with version '{}'", built.name, built.version);
            if changed {
                status.artifact = Some(Artifact {
                    path: stored.path.clone(),
                    url: stored.url.clone(),
                    revision: built.revision.clone(),
                    digest: Some(stored.digest.clone()),
                    last_update_time: crate::status::now(),
                    size: i64::try_from(stored.size).ok(),
                    metadata: None,
                });
                status.url = Some(stored.url.clone());
                ctx.event(&*chart, EventType::Normal, "ChartPullSucceeded", &message)
                    .await;
            }
            status.observed_chart_name = Some(built.name.clone());
            status.observed_source_artifact_revision = built.source_revision.clone();
            status.observed_values_files = (!built.values_files.is_empty()).then_some(built.values_files.clone());
            remove_condition(&mut status.conditions, "FetchFailed");
            remove_condition(&mut status.conditions, "BuildFailed");
            set_condition(
                &mut status.conditions,
                condition(
                    "ArtifactInStorage",
                    ConditionStatus::True,
                    "Succeeded",
                    &message,
                    generation,
                ),
            );
            mark_ready(&mut status.conditions, "Succeeded", &message, generation);
            Action::requeue(crate::schedule::jittered(interval))
        }
        Err(e) => {
            let message = e.to_string();
            eprintln!("HelmChart {ns}/{name}: {}: {message}", e.reason());
            let (kind, other) = match e {
                ReconcileError::Build(_) | ReconcileError::Invalid(_) => ("BuildFailed", "FetchFailed"),
                _ => ("FetchFailed", "BuildFailed"),
            };
            remove_condition(&mut status.conditions, other);
            set_condition(
                &mut status.conditions,
                condition(kind, ConditionStatus::True, e.reason(), &message, generation),
            );
            mark_failed(&mut status.conditions, e.reason(), &message, generation, e.stalled());
            ctx.event(&*chart, EventType::Warning, e.reason(), &message).await;
            let again = if matches!(e, ReconcileError::ArtifactNotReady(_)) {
                Duration::from_secs(10).min(interval)
            } else {
                interval
            };
            Action::requeue(crate::schedule::jittered(again))
        }
    };
    // Written even when it looks unchanged (the cached object may be older than the last
    // write); the API server stores nothing, and tells no watcher, for a patch that changes
    // nothing.
    patch_status(&api, &name, &status).await?;
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.status);
    ctx.metrics.record("HelmChart", &ns, &name, ready, started.elapsed());
    Ok(action)
}

async fn patch_status(api: &Api<HelmChart>, name: &str, status: &HelmChartStatus) -> Result<(), ReconcileError> {
    let patch = json!({"status": status});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// The HelmCharts to reconcile when a source changed: those in its namespace naming it.
pub fn charts_of_source<'a>(
    charts: impl IntoIterator<Item = &'a HelmChart>,
    kind: &str,
    ns: &str,
    name: &str,
) -> Vec<kube::runtime::reflector::ObjectRef<HelmChart>> {
    charts
        .into_iter()
        .filter(|c| {
            c.spec.source_ref.kind == kind && c.spec.source_ref.name == name && c.namespace().as_deref() == Some(ns)
        })
        .map(kube::runtime::reflector::ObjectRef::from_obj)
        .collect()
}
