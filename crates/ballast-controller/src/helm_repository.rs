//! The HelmRepository reconciler.
//!
//! - Default type (an HTTP chart repository): every `interval` (1m when unset, as Flux) the
//!   repository's `index.yaml` is read with the `secretRef` basic credentials (sent to other
//!   hosts only with `passCredentials`), the `certSecretRef` TLS material and `timeout`; a new
//!   index is checked (a Helm index with an `apiVersion`) and stored as the artifact
//!   `helmrepository/<ns>/<name>/index-<hex>.yaml`, revision and digest `sha256:<hex>` of the
//!   index as served (Flux's revision). An unchanged index leaves the artifact as it was.
//! - `type: oci`: as in Flux 2.x there is no index and no artifact, and nothing is polled (charts
//!   are pulled by the HelmCharts that use the repository, with its credentials). Ballast checks
//!   on each spec change what it can without a login: the URL (`oci://host/path`, no tag or
//!   digest) and, when `secretRef` is set, that the Secret exists and holds credentials for the
//!   registry's host; `Ready` says so (Flux leaves the status empty, which kstatus-style readers
//!   cannot tell from "never reconciled"). A previous index artifact is dropped from the status.
//! - A failed fetch keeps the previous artifact (HelmCharts keep their last chart) and reports
//!   `FetchFailed` and `Ready=False` with Flux's reason; the message names the URL (credentials
//!   redacted) and the Secret, never a credential.

use std::sync::Arc;
use std::time::Duration;

use ballast_api::condition::{ConditionStatus, remove_condition, set_condition};
use ballast_api::git_repository::Artifact;
use ballast_api::helm_repository::{HelmRepository, HelmRepositoryStatus};
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_source::helm_repo::{ChartIndex, HelmRepositoryClient, HelmRepositoryOptions};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::chart_source::{self, URL_INVALID};
use crate::context::Context;
use crate::error::ReconcileError;
use crate::status::{condition, mark_failed, mark_ready};

/// Interval when `spec.interval` is unset (Flux's internal default).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Fields Ballast does not implement; setting one is reported on the object.
fn unsupported(repo: &HelmRepository) -> Vec<&'static str> {
    let mut out = Vec::new();
    if repo.spec.provider.as_deref().is_some_and(|p| p != "generic") {
        out.push("spec.provider (only generic)");
    }
    if let Some(t) = repo.spec.repository_type.as_deref()
        && t != "default"
        && t != "oci"
    {
        out.push("spec.type (default or oci)");
    }
    out
}

/// Reconciles one HelmRepository (see the module documentation for what each type does).
pub async fn reconcile(repo: Arc<HelmRepository>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ns = repo.namespace().unwrap_or_default();
    let name = repo.name_any();
    let api: Api<HelmRepository> = Api::namespaced(ctx.client.clone(), &ns);
    if repo.spec.suspend == Some(true) {
        ctx.metrics
            .record("HelmRepository", &ns, &name, None, started.elapsed());
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
    if repo.spec.access_from.is_some() {
        ctx.event(
            &*repo,
            EventType::Warning,
            "DeprecatedField",
            "spec.accessFrom is deprecated and ignored (Flux never enforced it): cross-namespace references to this source are not restricted",
        )
        .await;
    }
    let missing = unsupported(&repo);
    let oci = repo.spec.is_oci();
    let result = if !missing.is_empty() {
        Err(ReconcileError::Invalid(format!(
            "not supported yet: {}",
            missing.join(", ")
        )))
    } else if oci {
        check_oci(&repo, &ctx, &ns).await.map(|()| None)
    } else {
        fetch_index(&repo, &ctx, &ns, status.artifact.as_ref()).await.map(Some)
    };
    let interval = crate::schedule::interval(repo.spec.interval.as_deref(), DEFAULT_INTERVAL);
    let action = match result {
        Ok(None) => {
            // type: oci — no index, no artifact.
            status.artifact = None;
            status.url = None;
            remove_condition(&mut status.conditions, "FetchFailed");
            remove_condition(&mut status.conditions, "ArtifactInStorage");
            let message = format!(
                "Helm repository is Ready: {} (type oci: no index; charts are pulled by the HelmCharts that use it)",
                ballast_source::redact_url(&repo.spec.url)
            );
            mark_ready(&mut status.conditions, "Succeeded", &message, generation);
            Action::await_change()
        }
        Ok(Some((artifact, size))) => {
            let changed = status.artifact.as_ref().map(|a| &a.revision) != Some(&artifact.revision);
            let message = format!("stored artifact: revision '{}'", artifact.revision);
            if changed {
                let note = format!(
                    "stored fetched index of size {size} from '{}'",
                    ballast_source::redact_url(&repo.spec.url)
                );
                ctx.event(&*repo, EventType::Normal, "NewArtifact", &note).await;
                status.url = Some(artifact.url.clone());
                status.artifact = Some(artifact);
            }
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
            Action::requeue(crate::schedule::jittered(interval))
        }
        Err(e) => {
            let message = e.to_string();
            eprintln!("HelmRepository {ns}/{name}: {}: {message}", e.reason());
            set_condition(
                &mut status.conditions,
                condition("FetchFailed", ConditionStatus::True, e.reason(), &message, generation),
            );
            mark_failed(&mut status.conditions, e.reason(), &message, generation, e.stalled());
            ctx.event(&*repo, EventType::Warning, e.reason(), &message).await;
            if oci && e.stalled() {
                Action::await_change()
            } else {
                Action::requeue(crate::schedule::jittered(interval))
            }
        }
    };
    patch_status(&api, &name, &status).await?;
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.status);
    ctx.metrics
        .record("HelmRepository", &ns, &name, ready, started.elapsed());
    Ok(action)
}

/// Writes the whole status; `artifact` and `url` are removed (not left as they were) when unset.
async fn patch_status(
    api: &Api<HelmRepository>,
    name: &str,
    status: &HelmRepositoryStatus,
) -> Result<(), ReconcileError> {
    let mut value = serde_json::to_value(status).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        for key in ["artifact", "url"] {
            map.entry(key).or_insert(serde_json::Value::Null);
        }
    }
    let patch = json!({ "status": value });
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// What a `type: oci` repository can be checked for without a login: its URL, and the
/// credentials of its `secretRef` (present and usable for the registry's host).
async fn check_oci(repo: &HelmRepository, ctx: &Context, ns: &str) -> Result<(), ReconcileError> {
    let url = ballast_source::oci::OciUrl::parse(&repo.spec.url).map_err(|e| ReconcileError::Source {
        reason: URL_INVALID,
        message: e.to_string(),
    })?;
    let secret = repo.spec.secret_ref.as_ref().map(|s| s.name.as_str());
    chart_source::basic_auth(&ctx.client, ns, secret, Some(&url.registry)).await?;
    let cert = repo.spec.cert_secret_ref.as_ref().map(|s| s.name.as_str());
    chart_source::tls(&ctx.client, ns, cert).await?;
    Ok(())
}

/// The repository's client: URL, credentials, TLS, timeout.
async fn client(repo: &HelmRepository, ctx: &Context, ns: &str) -> Result<HelmRepositoryClient, ReconcileError> {
    // A `--source-mirror` of the URL is used from here on; messages keep naming the spec's URL.
    let mirrored = ctx.source_mirrors.rewrite(&repo.spec.url);
    let url = &mirrored.url;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ReconcileError::Source {
            reason: URL_INVALID,
            message: format!(
                "{}: a Helm repository URL starts with http:// or https:// (oci:// needs type: oci)",
                ballast_source::redact_url(url)
            ),
        });
    }
    ballast_source::helm_repo::resolve_reference(url, "index.yaml").map_err(|e| ReconcileError::Source {
        reason: URL_INVALID,
        message: e.to_string(),
    })?;
    let secret = repo.spec.secret_ref.as_ref().map(|s| s.name.as_str());
    let auth = chart_source::basic_auth(&ctx.client, ns, secret, None).await?;
    let cert = repo.spec.cert_secret_ref.as_ref().map(|s| s.name.as_str());
    let tls = chart_source::tls(&ctx.client, ns, cert).await?;
    let auth = mirrored.auth(&ctx.client, auth, None).await?;
    let tls = if mirrored.credentials { tls } else { Default::default() };
    let options = HelmRepositoryOptions {
        auth,
        tls,
        pass_credentials: repo.spec.pass_credentials == Some(true),
        timeout: Some(chart_source::timeout(repo.spec.timeout.as_deref())?),
        ..Default::default()
    };
    // The URL was checked above: what is left to fail is the TLS configuration.
    HelmRepositoryClient::new(url, options).map_err(|e| chart_source::tls_error(ns, cert, e))
}

/// Reads the index; stores it when its digest is new (checked as a Helm index first). Returns
/// the artifact and the index's size.
async fn fetch_index(
    repo: &HelmRepository,
    ctx: &Context,
    ns: &str,
    previous: Option<&Artifact>,
) -> Result<(Artifact, u64), ReconcileError> {
    let client = client(repo, ctx, ns).await?;
    let (bytes, digest) = client
        .index_file()
        .await
        .map_err(|e| chart_source::fetch_error("failed to fetch Helm repository index", e, "Failed"))?;
    let size = bytes.len() as u64;
    if let Some(prev) = previous.filter(|p| p.digest.as_deref() == Some(digest.as_str()))
        && ctx.artifacts.open(&prev.path, &digest).is_ok()
    {
        return Ok((prev.clone(), size));
    }
    let shown = client.url();
    let bytes = tokio::task::spawn_blocking(move || ChartIndex::parse(&bytes).map(|_| bytes))
        .await
        .map_err(|e| ReconcileError::Build(e.to_string()))?
        .map_err(|e| ReconcileError::Source {
            reason: "IndexationFailed",
            message: format!("failed to load Helm repository index from {shown}: {e}"),
        })?;
    let hex = digest.trim_start_matches("sha256:").to_string();
    let name = repo.name_any();
    let store = ctx.artifacts.clone();
    let file = format!("index-{hex}.yaml");
    let ns_owned = ns.to_string();
    let stored = tokio::task::spawn_blocking(move || store.store("helmrepository", &ns_owned, &name, &file, &bytes))
        .await
        .map_err(|e| ReconcileError::Build(e.to_string()))?
        .map_err(|e| ReconcileError::Source {
            reason: "StorageOperationFailed",
            message: format!("failed to store the index: {e}"),
        })?;
    Ok((
        Artifact {
            path: stored.path,
            url: stored.url,
            revision: stored.digest.clone(),
            digest: Some(stored.digest),
            last_update_time: crate::status::now(),
            size: i64::try_from(stored.size).ok(),
            metadata: None,
        },
        size,
    ))
}
