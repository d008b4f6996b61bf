//! The OCIRepository reconciler: resolve `ref` (digest, else semver range with `semverFilter`,
//! else tag, else `latest`) to a manifest, pull the layer `layerSelector` picks, store it.
//!
//! Guarantees:
//! - the revision is Flux's: `<tag>@sha256:<manifest digest>`, or `sha256:<digest>` for a
//!   digest reference; an unchanged revision (with the same `layerSelector` and `ignore`, and
//!   its artifact still in storage) costs one manifest request (and a tag list for a range),
//!   pulls nothing and leaves `status.artifact` as it was, so only new revisions reach the
//!   Kustomizations and HelmReleases that follow it;
//! - the artifact is the selected layer as pushed, stored as
//!   `ocirepository/<ns>/<name>/<sha256 hex of the layer>.tgz`, `digest` its sha256, `metadata`
//!   the manifest's annotations; with `operation: extract` (the default) the layer must be a
//!   gzip tar, checked by extracting it safely ([`tree`]) before the artifact is reported;
//! - `ignore` is honoured where the tree is rendered (as a GitRepository's), and recorded in
//!   `status.observedIgnore`;
//! - a failed pull keeps the previous artifact and reports `FetchFailed` and `Ready=False` with
//!   Flux's reason (`OCIArtifactPullFailed`, `AuthenticationFailed`, `URLInvalid`,
//!   `OCIArtifactLayerOperationFailed`); messages name the repository and reference, never a
//!   credential.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ballast_api::condition::{ConditionStatus, remove_condition, set_condition};
use ballast_api::git_repository::Artifact;
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_api::oci_repository::{OCILayerSelector, OCIRepository, OCIRepositoryStatus};
use ballast_source::oci::{LayerOperation, LayerSelector, OciClient, OciOptions, OciReference, OciUrl};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::chart_source::{self, URL_INVALID};
use crate::context::Context;
use crate::error::ReconcileError;
use crate::source_mirror::SourceMirrors;
use crate::status::{condition, mark_failed, mark_ready};

/// Flux's reason for a failed pull.
pub const PULL_FAILED: &str = "OCIArtifactPullFailed";
/// Flux's reason for a layer that cannot be extracted.
pub const LAYER_OPERATION_FAILED: &str = "OCIArtifactLayerOperationFailed";

/// Fields Ballast does not implement; setting one is reported on the object.
fn unsupported(repo: &OCIRepository) -> Vec<&'static str> {
    let s = &repo.spec;
    let mut out = Vec::new();
    if s.provider.as_deref().is_some_and(|p| p != "generic") {
        out.push("spec.provider (only generic)");
    }
    if s.verify.is_some() {
        out.push("spec.verify");
    }
    if s.service_account_name.is_some() {
        out.push("spec.serviceAccountName");
    }
    if s.proxy_secret_ref.is_some() {
        out.push("spec.proxySecretRef");
    }
    out
}

/// `layerSelector` as the source crate reads it; an unknown operation is an invalid spec.
pub fn layer_selector(selector: Option<&OCILayerSelector>) -> Result<LayerSelector, ReconcileError> {
    let Some(s) = selector else {
        return Ok(LayerSelector::default());
    };
    let operation = match s.operation.as_deref() {
        None | Some("") | Some("extract") => LayerOperation::Extract,
        Some("copy") => LayerOperation::Copy,
        Some(other) => {
            return Err(ReconcileError::Invalid(format!(
                "spec.layerSelector.operation {other:?}: expected extract or copy"
            )));
        }
    };
    Ok(LayerSelector {
        media_type: s.media_type.clone().filter(|m| !m.is_empty()),
        operation,
    })
}

/// `ref` as the source crate reads it (Flux's precedence: digest, semver, tag, `latest`).
pub fn reference(repo: &OCIRepository) -> OciReference {
    let r = repo.spec.reference.clone().unwrap_or_default();
    OciReference::from_fields(
        r.tag.as_deref(),
        r.semver.as_deref(),
        r.semver_filter.as_deref(),
        r.digest.as_deref(),
    )
}

fn describe(reference: &OciReference) -> String {
    match reference {
        OciReference::Tag(t) => format!("tag '{t}'"),
        OciReference::Digest(d) => format!("digest '{d}'"),
        OciReference::Semver { range, filter: None } => format!("semver '{range}'"),
        OciReference::Semver { range, filter: Some(f) } => format!("semver '{range}' (tags matching '{f}')"),
    }
}

/// Reconciles one OCIRepository.
pub async fn reconcile(repo: Arc<OCIRepository>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ns = repo.namespace().unwrap_or_default();
    let name = repo.name_any();
    let api: Api<OCIRepository> = Api::namespaced(ctx.client.clone(), &ns);
    if repo.spec.suspend == Some(true) {
        ctx.metrics.record("OCIRepository", &ns, &name, None, started.elapsed());
        return Ok(Action::await_change());
    }
    let generation = repo.meta().generation;
    let mut status = repo.status.clone().unwrap_or_default();
    crate::status::mark_reconciling(&mut status.conditions, generation, status.observed_generation);
    let patch = json!({"status": {"conditions": status.conditions}});
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    status.observed_generation = generation;
    status.last_handled_reconcile_at = repo.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned();
    let interval = crate::schedule::interval(Some(&repo.spec.interval), Duration::from_secs(600));
    let missing = unsupported(&repo);
    let result = if missing.is_empty() {
        pull(&repo, &ctx, &ns, &status).await
    } else {
        Err(ReconcileError::Invalid(format!(
            "not supported yet: {}",
            missing.join(", ")
        )))
    };
    match result {
        Ok(artifact) => {
            let changed = status.artifact.as_ref() != Some(&artifact);
            let message = format!("stored artifact for digest '{}'", artifact.revision);
            if changed {
                let note = format!(
                    "stored artifact with revision '{}' from '{}'",
                    artifact.revision,
                    ballast_source::redact_url(&repo.spec.url)
                );
                ctx.event(&*repo, EventType::Normal, "NewArtifact", &note).await;
                status.url = Some(artifact.url.clone());
                status.artifact = Some(artifact);
            }
            status.observed_ignore = repo.spec.ignore.clone();
            status.observed_layer_selector = repo.spec.layer_selector.clone();
            remove_condition(&mut status.conditions, "FetchFailed");
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
        }
        Err(e) => {
            let message = e.to_string();
            eprintln!("OCIRepository {ns}/{name}: {}: {message}", e.reason());
            set_condition(
                &mut status.conditions,
                condition("FetchFailed", ConditionStatus::True, e.reason(), &message, generation),
            );
            mark_failed(&mut status.conditions, e.reason(), &message, generation, e.stalled());
            ctx.event(&*repo, EventType::Warning, e.reason(), &message).await;
        }
    }
    patch_status(&api, &name, &status).await?;
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.status);
    ctx.metrics
        .record("OCIRepository", &ns, &name, ready, started.elapsed());
    Ok(Action::requeue(crate::schedule::jittered(interval)))
}

async fn patch_status(
    api: &Api<OCIRepository>,
    name: &str,
    status: &OCIRepositoryStatus,
) -> Result<(), ReconcileError> {
    let patch = json!({ "status": status });
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// The registry client of `repo`: credentials (basic or `.dockerconfigjson` for the URL's
/// host), TLS material, `insecure`, `timeout`.
/// The URL returned is the one to pull from: the spec's, or its `--source-mirror`.
async fn client(
    repo: &OCIRepository,
    kube: &kube::Client,
    mirrors: &SourceMirrors,
    ns: &str,
) -> Result<(OciClient, String), ReconcileError> {
    let url = OciUrl::parse(&repo.spec.url).map_err(|e| ReconcileError::Source {
        reason: URL_INVALID,
        message: e.to_string(),
    })?;
    let secret = repo.spec.secret_ref.as_ref().map(|s| s.name.as_str());
    let auth = chart_source::basic_auth(kube, ns, secret, Some(&url.registry)).await?;
    let cert = repo.spec.cert_secret_ref.as_ref().map(|s| s.name.as_str());
    let tls = chart_source::tls(kube, ns, cert).await?;
    let mirrored = mirrors.rewrite(&repo.spec.url);
    let options = if mirrored.mirrored {
        OciUrl::parse(&mirrored.url).map_err(|e| ReconcileError::Source {
            reason: URL_INVALID,
            message: format!("source mirror of {}: {e}", ballast_source::redact_url(&repo.spec.url)),
        })?;
        OciOptions {
            auth: mirrored.auth(kube, auth, mirrored.registry().as_deref()).await?,
            tls: if mirrored.credentials { tls } else { Default::default() },
            insecure: mirrored.plain_http,
            timeout: Some(chart_source::timeout(repo.spec.timeout.as_deref())?),
        }
    } else {
        OciOptions {
            auth,
            tls,
            insecure: repo.spec.insecure == Some(true),
            timeout: Some(chart_source::timeout(repo.spec.timeout.as_deref())?),
        }
    };
    // What can fail here is the TLS configuration.
    let client = OciClient::new(options).map_err(|e| chart_source::tls_error(ns, cert, e))?;
    Ok((client, mirrored.url))
}

/// Resolves the reference; pulls and stores the layer unless the current artifact already
/// holds this revision with the same layer selector and ignore rules.
async fn pull(
    repo: &OCIRepository,
    ctx: &Context,
    ns: &str,
    status: &OCIRepositoryStatus,
) -> Result<Artifact, ReconcileError> {
    let selector = layer_selector(repo.spec.layer_selector.as_ref())?;
    let reference = reference(repo);
    let (client, url) = client(repo, &ctx.client, &ctx.source_mirrors, ns).await?;
    let what = format!(
        "failed to pull artifact from '{}' ({})",
        ballast_source::redact_url(&repo.spec.url),
        describe(&reference)
    );
    let resolved = client
        .resolve(&url, &reference)
        .await
        .map_err(|e| chart_source::fetch_error(&what, e, PULL_FAILED))?;
    if let Some(current) = &status.artifact
        && current.revision == resolved.revision
        && status.observed_layer_selector == repo.spec.layer_selector
        && status.observed_ignore == repo.spec.ignore
        && current
            .digest
            .as_deref()
            .is_some_and(|d| ctx.artifacts.open(&current.path, d).is_ok())
    {
        return Ok(current.clone());
    }
    let annotations = resolved.manifest.annotations.clone();
    let pulled = client
        .pull_layer(resolved, &selector, ctx.max_artifact_size)
        .await
        .map_err(|e| chart_source::fetch_error(&what, e, PULL_FAILED))?;
    let revision = pulled.revision.clone();
    let operation = pulled.operation;
    // The blob was checked against the layer's digest: it is the sha256 of these bytes.
    let hex = pulled.layer.digest.trim_start_matches("sha256:").to_string();
    let bytes = pulled.bytes;
    let store = ctx.artifacts.clone();
    let (ns_owned, name) = (ns.to_string(), repo.name_any());
    let trees = trees_dir(ctx);
    let max = ctx.max_artifact_size;
    let stored = tokio::task::spawn_blocking(move || {
        if operation == LayerOperation::Extract {
            extract_tree(&trees, &hex, &bytes, max).map_err(|e| ReconcileError::Source {
                reason: LAYER_OPERATION_FAILED,
                message: format!("failed to extract layer of revision '{revision}': {e}"),
            })?;
        }
        store
            .store("ocirepository", &ns_owned, &name, &format!("{hex}.tgz"), &bytes)
            .map_err(|e| ReconcileError::Source {
                reason: "StorageOperationFailed",
                message: format!("failed to store the artifact: {e}"),
            })
            .map(|s| (s, revision))
    })
    .await
    .map_err(|e| ReconcileError::Build(e.to_string()))??;
    let (stored, revision) = stored;
    Ok(Artifact {
        path: stored.path,
        url: stored.url,
        revision,
        digest: Some(stored.digest),
        last_update_time: crate::status::now(),
        size: i64::try_from(stored.size).ok(),
        metadata: (!annotations.is_empty()).then_some(annotations),
    })
}

/// The layer `repo` selects, pulled as its reconciler pulls it (credentials, TLS, `insecure`,
/// `--source-mirror`) but kept in memory, not stored: the bytes and the revision. For
/// `ballast diff helmrelease` of a `chartRef` OCIRepository.
pub async fn fetch_layer(
    kube: &kube::Client,
    repo: &OCIRepository,
    mirrors: &SourceMirrors,
    max_size: u64,
) -> Result<(Vec<u8>, String), ReconcileError> {
    let ns = repo.namespace().unwrap_or_default();
    let selector = layer_selector(repo.spec.layer_selector.as_ref())?;
    let reference = reference(repo);
    let (client, url) = client(repo, kube, mirrors, &ns).await?;
    let what = format!(
        "failed to pull artifact from '{}' ({})",
        ballast_source::redact_url(&repo.spec.url),
        describe(&reference)
    );
    let resolved = client
        .resolve(&url, &reference)
        .await
        .map_err(|e| chart_source::fetch_error(&what, e, PULL_FAILED))?;
    let pulled = client
        .pull_layer(resolved, &selector, max_size)
        .await
        .map_err(|e| chart_source::fetch_error(&what, e, PULL_FAILED))?;
    Ok((pulled.bytes, pulled.revision))
}

/// Where extracted artifacts live: `<cache>/artifact-trees/<sha256 hex>/`.
fn trees_dir(ctx: &Context) -> PathBuf {
    ctx.cache_dir.join("artifact-trees")
}

/// Extracts `bytes` (a gzip tar whose sha256 is `hex`) into `<trees>/<hex>` unless already
/// there: into a fresh temporary directory first, renamed into place when complete, so a tree
/// that exists is whole. Safe extraction ([`ballast_source::chart_archive::extract_tgz`]): no
/// path outside the tree, no links, at most `max` bytes.
fn extract_tree(trees: &Path, hex: &str, bytes: &[u8], max: u64) -> Result<PathBuf, String> {
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("invalid digest {hex:?}"));
    }
    let target = trees.join(hex);
    if target.is_dir() {
        // Used now: kept by the collection below.
        let _ = std::fs::File::open(&target).and_then(|f| f.set_modified(std::time::SystemTime::now()));
        return Ok(target);
    }
    collect_trees(trees);
    std::fs::create_dir_all(trees).map_err(|e| format!("{}: {e}", trees.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".extract-")
        .tempdir_in(trees)
        .map_err(|e| format!("{}: {e}", trees.display()))?;
    ballast_source::chart_archive::extract_tgz(bytes, tmp.path(), max).map_err(|e| e.to_string())?;
    match std::fs::rename(tmp.path(), &target) {
        Ok(()) => {
            // The directory moved: nothing left for the guard to remove.
            let _ = tmp.keep();
            Ok(target)
        }
        // Another reconcile extracted the same bytes first.
        Err(_) if target.is_dir() => Ok(target),
        Err(e) => Err(format!("{}: {e}", target.display())),
    }
}

/// Trees kept at least, however old.
const KEEP_TREES: usize = 32;
/// A tree used within this time is never collected.
const TREE_GRACE: Duration = Duration::from_secs(600);

/// Removes extracted trees beyond the [`KEEP_TREES`] most recently used that were not used
/// within [`TREE_GRACE`] (a tree being rendered was touched when it was handed out).
fn collect_trees(trees: &Path) {
    let Ok(rd) = std::fs::read_dir(trees) else { return };
    let mut dirs: Vec<(std::time::SystemTime, PathBuf)> = rd
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    let now = std::time::SystemTime::now();
    for (modified, dir) in dirs.into_iter().skip(KEEP_TREES) {
        if now.duration_since(modified).is_ok_and(|age| age > TREE_GRACE) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The extracted tree of a stored `.tar.gz` artifact (an OCIRepository's or an
/// ExternalArtifact's), for a Kustomization or a generator. The artifact is read through the
/// store by its path, which must lie under that object's own directory
/// (`<kind in lower case>/<ns>/<name>/`), and checked against its digest; the tree is then the
/// content-addressed directory of that digest under the cache (extracted on first use).
pub async fn tree(
    ctx: &Context,
    kind: &str,
    ns: &str,
    name: &str,
    artifact: &Artifact,
) -> Result<PathBuf, ReconcileError> {
    let source = format!("{kind}/{ns}/{name}");
    let digest = artifact.digest.clone().ok_or_else(|| {
        ReconcileError::ArtifactNotReady(format!("Source '{source}' has an artifact without a digest"))
    })?;
    let prefix = format!("{}/{ns}/{name}/", kind.to_ascii_lowercase());
    if !artifact.path.starts_with(&prefix) {
        return Err(ReconcileError::ArtifactNotReady(format!(
            "Source '{source}': artifact path {:?} is not this object's",
            artifact.path
        )));
    }
    let store = ctx.artifacts.clone();
    let path = artifact.path.clone();
    let trees = trees_dir(ctx);
    let max = ctx.max_artifact_size;
    tokio::task::spawn_blocking(move || {
        let bytes = store
            .open(&path, &digest)
            .map_err(|e| ReconcileError::ArtifactNotReady(format!("Source '{source}': {e}")))?;
        let hex = digest.trim_start_matches("sha256:");
        extract_tree(&trees, hex, &bytes, max)
            .map_err(|e| ReconcileError::Build(format!("Source '{source}': cannot extract the artifact: {e}")))
    })
    .await
    .map_err(|e| ReconcileError::Build(e.to_string()))?
}
