//! The ImagePolicy reconciler: choose the newest tag of an ImageRepository's last scan.
//!
//! Guarantees:
//! - runs when the policy changes, when its ImageRepository's scan changes (a new
//!   `lastScanResult.revision`), and every `interval` when one is set;
//! - the choice is `ballast-image`'s (`exclusionList` already applied by the scan, then
//!   `filterTags`, then `semver` with Masterminds semantics, `alphabetical` or `numerical`); the
//!   tag is the registry's spelling; tags a numerical policy cannot read are skipped and named in
//!   the `Ready` message, never fatal;
//! - `status.latestRef{name, tag, digest}` (and `v1beta2`'s `latestImage`); the image chosen
//!   before is kept in `observedPreviousRef`; with `digestReflectionPolicy: IfNotPresent` the
//!   digest is looked up once per tag, with `Always` at every run, with `Never` (the default) not
//!   at all; the digest is the one the tag resolves to, for a multi-platform tag the image
//!   index's (or Docker manifest list's) own digest, as Flux reports it;
//! - when nothing matches, `latestRef` keeps the previous choice and `Ready=False` says why.

use std::sync::Arc;
use std::time::Duration;

use ballast_api::image::{ImagePolicy, ImagePolicyStatus, ImageRef, ImageRepository};
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_image::{Policy, TagFilter};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::{ObjectRef as KubeRef, Store};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::context::Context;
use crate::error::ReconcileError;
use crate::image_repository;
use crate::status::{mark_failed, mark_ready};

/// Flux's reason when the ImageRepository has no scan to choose from.
pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";

/// The policy's rule, checked.
pub fn policy_of(p: &ImagePolicy) -> Result<(Policy, Option<TagFilter>), ReconcileError> {
    let invalid = |e: ballast_image::PolicyError| ReconcileError::Invalid(e.to_string());
    let choice = &p.spec.policy;
    let policy = match (&choice.semver, &choice.alphabetical, &choice.numerical) {
        (Some(s), None, None) => Policy::semver(&s.range).map_err(invalid)?,
        (None, Some(a), None) => Policy::Alphabetical {
            descending: Policy::descending(a.order.as_deref().unwrap_or("")).map_err(invalid)?,
        },
        (None, None, Some(n)) => Policy::Numerical {
            descending: Policy::descending(n.order.as_deref().unwrap_or("")).map_err(invalid)?,
        },
        _ => {
            return Err(ReconcileError::Invalid(
                "spec.policy must set exactly one of semver, alphabetical, numerical".into(),
            ));
        }
    };
    let filter = match &p.spec.filter_tags {
        Some(f) => Some(
            TagFilter::new(
                f.pattern.as_deref().unwrap_or("^.*$"),
                f.extract.as_deref().unwrap_or(""),
            )
            .map_err(invalid)?,
        ),
        None => None,
    };
    Ok((policy, filter))
}

/// Every ImagePolicy of `store` that refers to ImageRepository `repo`.
pub fn policies_of(store: &Store<ImagePolicy>, repo: &ImageRepository) -> Vec<KubeRef<ImagePolicy>> {
    let ns = repo.namespace().unwrap_or_default();
    let name = repo.name_any();
    store
        .state()
        .into_iter()
        .filter(|p| {
            let own = p.namespace().unwrap_or_default();
            let r = &p.spec.image_repository_ref;
            r.name == name && r.namespace.clone().unwrap_or(own) == ns
        })
        .map(|p| KubeRef::from_obj(&*p))
        .collect()
}

/// Reconciles one ImagePolicy.
pub async fn reconcile(policy: Arc<ImagePolicy>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ns = policy.namespace().unwrap_or_default();
    let name = policy.name_any();
    let api: Api<ImagePolicy> = Api::namespaced(ctx.client.clone(), &ns);
    if policy.spec.suspend == Some(true) {
        return Ok(Action::await_change());
    }
    let generation = policy.meta().generation;
    let mut status = policy.status.clone().unwrap_or_default();
    status.observed_generation = generation;
    status.last_handled_reconcile_at = policy.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned();
    let requeue = policy
        .spec
        .interval
        .as_deref()
        .map(|i| crate::schedule::interval(Some(i), Duration::from_secs(600)));
    match evaluate(&policy, &ctx, &ns, &status).await {
        Ok((chosen, skipped)) => {
            let previous = status.latest();
            if previous.as_ref() != Some(&chosen) {
                if let Some(prev) = previous.filter(|p| p.tag != chosen.tag || p.name != chosen.name) {
                    status.observed_previous_ref = Some(prev.clone());
                    status.observed_previous_image = Some(format!("{}:{}", prev.name, prev.tag));
                }
                let note = format!("Latest image tag for {} resolved to {}", chosen.name, chosen.tag);
                ctx.event(&*policy, EventType::Normal, "Succeeded", &note).await;
            }
            let mut message = format!("Latest image tag for {} resolved to {}", chosen.name, chosen.tag);
            if !skipped.is_empty() {
                let shown: Vec<&str> = skipped.iter().take(10).map(String::as_str).collect();
                message.push_str(&format!(
                    " ({} tags skipped, not readable by the policy: {}{})",
                    skipped.len(),
                    shown.join(", "),
                    if skipped.len() > shown.len() { ", ..." } else { "" }
                ));
            }
            status.latest_image = Some(format!("{}:{}", chosen.name, chosen.tag));
            status.latest_ref = Some(chosen);
            mark_ready(&mut status.conditions, "Succeeded", &message, generation);
        }
        Err(e) => {
            let mut message = e.to_string();
            if let Some(prev) = status.latest() {
                message.push_str(&format!("; keeping the previous image {}:{}", prev.name, prev.tag));
            }
            let stalled = e.stalled();
            mark_failed(&mut status.conditions, e.reason(), &message, generation, stalled);
            ctx.event(&*policy, EventType::Warning, e.reason(), &message).await;
        }
    }
    write_status(&api, &name, &status).await?;
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.status);
    ctx.metrics.record("ImagePolicy", &ns, &name, ready, started.elapsed());
    Ok(match requeue {
        Some(d) => Action::requeue(crate::schedule::jittered(d)),
        None => Action::await_change(),
    })
}

async fn write_status(api: &Api<ImagePolicy>, name: &str, status: &ImagePolicyStatus) -> Result<(), ReconcileError> {
    let patch = json!({ "status": status });
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// The chosen image and the tags skipped.
async fn evaluate(
    policy: &ImagePolicy,
    ctx: &Context,
    ns: &str,
    status: &ImagePolicyStatus,
) -> Result<(ImageRef, Vec<String>), ReconcileError> {
    let (rule, filter) = policy_of(policy)?;
    let reflect = policy.spec.digest_reflection_policy.as_deref().unwrap_or("Never");
    match reflect {
        "Never" | "IfNotPresent" => {}
        "Always" if policy.spec.interval.is_some() => {}
        "Always" => {
            return Err(ReconcileError::Invalid(
                "spec.digestReflectionPolicy Always needs spec.interval".into(),
            ));
        }
        other => {
            return Err(ReconcileError::Invalid(format!(
                "spec.digestReflectionPolicy {other:?}: expected Never, IfNotPresent or Always"
            )));
        }
    }
    let r = &policy.spec.image_repository_ref;
    let repo_ns = r.namespace.clone().unwrap_or_else(|| ns.to_string());
    let repos: Api<ImageRepository> = Api::namespaced(ctx.client.clone(), &repo_ns);
    let not_ready = |why: String| ReconcileError::Source {
        reason: DEPENDENCY_NOT_READY,
        message: why,
    };
    let repo = repos
        .get_opt(&r.name)
        .await?
        .ok_or_else(|| not_ready(format!("ImageRepository '{repo_ns}/{}' not found", r.name)))?;
    let revision = repo
        .status
        .as_ref()
        .and_then(|s| s.last_scan_result.as_ref())
        .map(|s| s.revision.clone())
        .ok_or_else(|| {
            not_ready(format!(
                "ImageRepository '{repo_ns}/{}' has not been scanned yet",
                r.name
            ))
        })?;
    let scanned = image_repository::scanned_tags(ctx, &repo_ns, &r.name)
        .filter(|s| s.revision == revision)
        .ok_or_else(|| {
            not_ready(format!(
                "the tags of ImageRepository '{repo_ns}/{}' are not held yet",
                r.name
            ))
        })?;
    let selection =
        ballast_image::select(&scanned.tags, &[], filter.as_ref(), &rule).map_err(|e| ReconcileError::Source {
            reason: "ReconciliationFailed",
            message: format!("cannot determine latest tag for policy: {e}"),
        })?;
    let mut chosen = ImageRef {
        name: repo.spec.image.clone(),
        tag: selection.tag,
        digest: None,
    };
    let known = status
        .latest()
        .filter(|l| l.name == chosen.name && l.tag == chosen.tag)
        .and_then(|l| l.digest);
    chosen.digest = match reflect {
        "IfNotPresent" if known.is_some() => known,
        "IfNotPresent" | "Always" => {
            let (client, url, _) = image_repository::client(&repo, ctx).await?;
            let digest = client.reference_digest(&url, &chosen.tag).await.map_err(|e| {
                crate::chart_source::fetch_error(
                    &format!("failed to read the digest of {}:{}", chosen.name, chosen.tag),
                    e,
                    image_repository::READ_OPERATION_FAILED,
                )
            })?;
            Some(digest)
        }
        _ => None,
    };
    Ok((chosen, selection.skipped))
}
