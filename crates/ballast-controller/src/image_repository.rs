//! The ImageRepository reconciler: list an image's tags in its registry every `interval`.
//!
//! Guarantees:
//! - `spec.image` is `[host[:port]/]path` without scheme, tag or digest (else `Stalled`,
//!   `ImageURLInvalid`); `status.canonicalImageName` is the host-qualified name (`alpine` is
//!   `docker.io/library/alpine`, read from `registry-1.docker.io`);
//! - a scan runs when the interval has passed since the last one, the spec changed, or a
//!   reconcile was requested (`reconcile.fluxcd.io/requestedAt`); otherwise nothing is asked of
//!   the registry, a controller restart included;
//! - tags go through the `exclusionList` (default `^.*\.sig$`) and are kept in a file of the
//!   controller's cache (`<cache>/imagerepository/<ns>/<name>/tags.json`, at most
//!   [`ballast_source::oci::MAX_TAGS`] tags), which the ImagePolicy reconciler reads; the status
//!   holds only `lastScanResult` (a digest of the tags as `revision`, the count, the time, the
//!   first ten in descending byte order);
//! - a failed scan keeps the previous result and reports `Ready=False` with Flux's reason
//!   (`AuthenticationFailed`, `ReadOperationFailed`); no credential reaches a message.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ballast_api::image::{ImageRepository, ImageRepositoryStatus, ScanResult};
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_source::oci::{OciClient, OciOptions, OciUrl};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::chart_source;
use crate::context::Context;
use crate::error::ReconcileError;
use crate::status::{mark_failed, mark_ready};

/// Flux's reason for an image name that cannot be used.
pub const IMAGE_URL_INVALID: &str = "ImageURLInvalid";
/// Flux's reason for a failed tag listing.
pub const READ_OPERATION_FAILED: &str = "ReadOperationFailed";

/// The tags of the last scan, as stored for the ImagePolicy reconciler.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannedTags {
    /// `lastScanResult.revision` of this scan.
    pub revision: String,
    /// `status.canonicalImageName` of this scan.
    pub canonical: String,
    /// The tags, in the registry's order, after the exclusion list.
    pub tags: Vec<String>,
}

/// Where the tags of `ns/name` are kept (namespace and name are DNS labels: no path tricks).
fn tags_file(ctx: &Context, ns: &str, name: &str) -> PathBuf {
    ctx.cache_dir
        .join("imagerepository")
        .join(ns)
        .join(name)
        .join("tags.json")
}

/// The tags of the last successful scan of ImageRepository `ns/name`, if this controller holds
/// them.
pub fn scanned_tags(ctx: &Context, ns: &str, name: &str) -> Option<ScannedTags> {
    let text = std::fs::read(tags_file(ctx, ns, name)).ok()?;
    serde_json::from_slice(&text).ok()
}

fn store_tags(ctx: &Context, ns: &str, name: &str, tags: &ScannedTags) -> Result<(), ReconcileError> {
    let path = tags_file(ctx, ns, name);
    let local = |e: std::io::Error| ReconcileError::Build(format!("{}: {e}", path.display()));
    let dir = path.parent().unwrap_or(&ctx.cache_dir);
    std::fs::create_dir_all(dir).map_err(local)?;
    let tmp = dir.join(".tags.json.tmp");
    let body = serde_json::to_vec(tags).map_err(|e| ReconcileError::Build(e.to_string()))?;
    std::fs::write(&tmp, body).map_err(local)?;
    std::fs::rename(&tmp, &path).map_err(local)
}

/// `spec.image` read as Flux reads it: the registry (Docker Hub when the first segment is not a
/// host) and the repository path, and the canonical name. Refuses a scheme, a tag or a digest.
pub fn parse_image(image: &str) -> Result<(OciUrl, String), ReconcileError> {
    let invalid = |why: &str| ReconcileError::Source {
        reason: IMAGE_URL_INVALID,
        message: format!("invalid image {image:?}: {why}"),
    };
    if image.contains("://") {
        return Err(invalid("the image must not have a scheme"));
    }
    if image.contains('@') {
        return Err(invalid("the image must not have a digest"));
    }
    let (first, rest) = match image.split_once('/') {
        Some((f, r)) if f.contains('.') || f.contains(':') || f == "localhost" => (Some(f), r),
        _ => (None, image),
    };
    if rest.contains(':') {
        return Err(invalid(
            "the image must not have a tag (tags are chosen by ImagePolicies)",
        ));
    }
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c);
    if rest.is_empty() || !rest.chars().all(valid) || rest.starts_with('/') || rest.ends_with('/') {
        return Err(invalid(
            "invalid repository name (lowercase letters, digits, '.', '_', '-', '/')",
        ));
    }
    let (registry, canonical_host, path) = match first {
        Some(host) => (host.to_ascii_lowercase(), host.to_ascii_lowercase(), rest.to_string()),
        None if rest.contains('/') => ("registry-1.docker.io".into(), "docker.io".into(), rest.to_string()),
        None => (
            "registry-1.docker.io".into(),
            "docker.io".into(),
            format!("library/{rest}"),
        ),
    };
    let canonical = format!("{canonical_host}/{path}");
    Ok((
        OciUrl {
            registry,
            repository: path,
        },
        canonical,
    ))
}

/// The registry client of `repo` (credentials of `secretRef` for the image's registry, TLS of
/// `certSecretRef`, `insecure`, `timeout`) and the repository to read.
pub async fn client(repo: &ImageRepository, ctx: &Context) -> Result<(OciClient, OciUrl, String), ReconcileError> {
    let ns = repo.namespace().unwrap_or_default();
    let (url, canonical) = parse_image(&repo.spec.image)?;
    let secret = repo.spec.secret_ref.as_ref().map(|s| s.name.as_str());
    let host = canonical.split('/').next().unwrap_or_default().to_string();
    // A docker config names Docker Hub `docker.io` or `index.docker.io`, not the API host.
    let mut hosts = vec![url.registry.clone()];
    if host == "docker.io" {
        hosts.extend(["docker.io".to_string(), "index.docker.io".to_string()]);
    }
    let mut auth = Ok(None);
    for h in &hosts {
        auth = chart_source::basic_auth(&ctx.client, &ns, secret, Some(h)).await;
        if matches!(auth, Ok(Some(_))) || secret.is_none() {
            break;
        }
    }
    let auth = auth?;
    let cert = repo.spec.cert_secret_ref.as_ref().map(|s| s.name.as_str());
    let tls = chart_source::tls(&ctx.client, &ns, cert).await?;
    let interval = crate::schedule::interval(Some(&repo.spec.interval), Duration::from_secs(600));
    let timeout = match repo.spec.timeout.as_deref() {
        Some(_) => chart_source::timeout(repo.spec.timeout.as_deref())?,
        None => interval,
    };
    let options = OciOptions {
        auth,
        tls,
        insecure: repo.spec.insecure == Some(true),
        timeout: Some(timeout.max(Duration::from_secs(1))),
    };
    let client = OciClient::new(options).map_err(|e| chart_source::tls_error(&ns, cert, e))?;
    Ok((client, url, canonical))
}

fn unsupported(repo: &ImageRepository) -> Vec<&'static str> {
    let s = &repo.spec;
    let mut out = Vec::new();
    if s.provider.as_deref().is_some_and(|p| p != "generic") {
        out.push("spec.provider (only generic)");
    }
    if s.service_account_name.is_some() {
        out.push("spec.serviceAccountName");
    }
    if s.proxy_secret_ref.is_some() {
        out.push("spec.proxySecretRef");
    }
    out
}

/// The digest of a tag list (its order ignored).
pub fn tags_revision(tags: &[String]) -> String {
    let mut sorted: Vec<&String> = tags.iter().collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    for t in sorted {
        hasher.update(t.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// Reconciles one ImageRepository.
pub async fn reconcile(repo: Arc<ImageRepository>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ns = repo.namespace().unwrap_or_default();
    let name = repo.name_any();
    let api: Api<ImageRepository> = Api::namespaced(ctx.client.clone(), &ns);
    if repo.spec.suspend == Some(true) {
        return Ok(Action::await_change());
    }
    let generation = repo.meta().generation;
    let mut status = repo.status.clone().unwrap_or_default();
    let interval = crate::schedule::interval(Some(&repo.spec.interval), Duration::from_secs(600));
    let requested = repo.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned();
    if let Some(wait) = scan_not_due(&repo, &status, &ctx, interval, requested.as_deref()) {
        return Ok(Action::requeue(wait));
    }
    crate::status::mark_reconciling(&mut status.conditions, generation, status.observed_generation);
    let patch = json!({"status": {"conditions": status.conditions}});
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    status.observed_generation = generation;
    status.last_handled_reconcile_at = requested;
    let missing = unsupported(&repo);
    let result = if missing.is_empty() {
        scan(&repo, &ctx).await
    } else {
        Err(ReconcileError::Invalid(format!(
            "not supported yet: {}",
            missing.join(", ")
        )))
    };
    match result {
        Ok(scanned) => {
            store_tags(&ctx, &ns, &name, &scanned)?;
            let mut latest = scanned.tags.clone();
            latest.sort_by(|a, b| b.cmp(a));
            latest.truncate(10);
            let changed = status.last_scan_result.as_ref().map(|r| &r.revision) != Some(&scanned.revision);
            let message = format!(
                "successful scan: found {} tags with checksum {}",
                scanned.tags.len(),
                &scanned.revision[..12.min(scanned.revision.len())]
            );
            status.last_scan_result = Some(ScanResult {
                revision: scanned.revision,
                tag_count: scanned.tags.len() as i64,
                scan_time: Some(crate::status::now()),
                latest_tags: Some(latest),
            });
            status.canonical_image_name = Some(scanned.canonical);
            status.observed_exclusion_list = Some(exclusion_list(&repo));
            if changed {
                ctx.event(&*repo, EventType::Normal, "Succeeded", &message).await;
            }
            mark_ready(&mut status.conditions, "Succeeded", &message, generation);
        }
        Err(e) => {
            let message = e.to_string();
            eprintln!("ImageRepository {ns}/{name}: {}: {message}", e.reason());
            let stalled = e.stalled() || e.reason() == IMAGE_URL_INVALID;
            mark_failed(&mut status.conditions, e.reason(), &message, generation, stalled);
            ctx.event(&*repo, EventType::Warning, e.reason(), &message).await;
        }
    }
    let patch = json!({ "status": status });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.status);
    ctx.metrics
        .record("ImageRepository", &ns, &name, ready, started.elapsed());
    Ok(Action::requeue(crate::schedule::jittered(interval)))
}

fn exclusion_list(repo: &ImageRepository) -> Vec<String> {
    match &repo.spec.exclusion_list {
        Some(list) if !list.is_empty() => list.clone(),
        _ => vec![r"^.*\.sig$".to_string()],
    }
}

/// `Some(wait)` when the last scan is recent, for this spec and request, and its tags are still
/// held: nothing to do for `wait`.
fn scan_not_due(
    repo: &ImageRepository,
    status: &ImageRepositoryStatus,
    ctx: &Context,
    interval: Duration,
    requested: Option<&str>,
) -> Option<Duration> {
    let ready = status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.is_true() && c.observed_generation == repo.meta().generation);
    if !ready
        || status.observed_generation != repo.meta().generation
        || status.last_handled_reconcile_at.as_deref() != requested
    {
        return None;
    }
    let result = status.last_scan_result.as_ref()?;
    let held = scanned_tags(ctx, &repo.namespace().unwrap_or_default(), &repo.name_any())?;
    if held.revision != result.revision {
        return None;
    }
    let at: jiff::Timestamp = result.scan_time.as_deref()?.parse().ok()?;
    let elapsed = jiff::Timestamp::now().duration_since(at);
    let elapsed = Duration::try_from(elapsed).ok()?;
    interval.checked_sub(elapsed).filter(|d| !d.is_zero())
}

async fn scan(repo: &ImageRepository, ctx: &Context) -> Result<ScannedTags, ReconcileError> {
    let excluded = ballast_image::exclusions(&exclusion_list(repo))
        .map_err(|e| ReconcileError::Invalid(format!("spec.exclusionList: {e}")))?;
    let (client, url, canonical) = client(repo, ctx).await?;
    let tags = client.tags(&url).await.map_err(|e| {
        chart_source::fetch_error(
            &format!("failed to list the tags of '{canonical}'"),
            e,
            READ_OPERATION_FAILED,
        )
    })?;
    let tags: Vec<String> = tags
        .into_iter()
        .filter(|t| !excluded.iter().any(|r| r.is_match(t)))
        .collect();
    Ok(ScannedTags {
        revision: tags_revision(&tags),
        canonical,
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_are_read_as_flux_reads_them() {
        let (url, canonical) = parse_image("alpine").unwrap();
        assert_eq!(
            (url.registry.as_str(), url.repository.as_str()),
            ("registry-1.docker.io", "library/alpine")
        );
        assert_eq!(canonical, "docker.io/library/alpine");
        let (url, canonical) = parse_image("fluxcd/flux").unwrap();
        assert_eq!(url.repository, "fluxcd/flux");
        assert_eq!(canonical, "docker.io/fluxcd/flux");
        let (url, canonical) = parse_image("127.0.0.1:5000/team/app").unwrap();
        assert_eq!(
            (url.registry.as_str(), url.repository.as_str()),
            ("127.0.0.1:5000", "team/app")
        );
        assert_eq!(canonical, "127.0.0.1:5000/team/app");
        let (url, _) = parse_image("localhost/app").unwrap();
        assert_eq!(url.registry, "localhost");
        for bad in [
            "https://ghcr.io/a/b",
            "ghcr.io/a/b:1.0",
            "app@sha256:00",
            "ghcr.io/A",
            "",
        ] {
            let e = parse_image(bad).unwrap_err();
            assert_eq!(e.reason(), IMAGE_URL_INVALID, "{bad}");
        }
    }

    #[test]
    fn the_revision_ignores_the_order_of_tags() {
        let a = tags_revision(&["1.0.0".into(), "2.0.0".into()]);
        assert_eq!(a, tags_revision(&["2.0.0".into(), "1.0.0".into()]));
        assert_ne!(a, tags_revision(&["1.0.0".into()]));
    }
}
