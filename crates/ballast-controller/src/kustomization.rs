//! The Kustomization reconciler, as named steps: finalize or ensure finalizer, check the spec,
//! wait for dependencies, get the artifact, render, apply and prune, record the inventory, check
//! health, report.

use std::sync::Arc;
use std::time::Duration;

use ballast_api::artifact_generator::ExternalArtifact;
use ballast_api::condition::{ConditionStatus, find, remove_condition, set_condition};
use ballast_api::git_repository::GitRepository;
use ballast_api::kustomization::{Kustomization, KustomizationStatus, ResourceInventory, ResourceRef};
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_api::oci_repository::OCIRepository;
use ballast_apply::{Applier, ApplyOptions};
use ballast_core::{Change, ChangeSet, Inventory, InventoryEntry, Manifest, ObjectRef, parse_duration};
use ballast_health::Waiter;
use ballast_render::{RenderError, RenderSpec, render_with_overrides};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef as KubeRef;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::context::Context;
use crate::error::ReconcileError;
use crate::health_wait::{Ended, Finished, Lookup, WaitFor, Watched};
use crate::render_cache::RenderKey;
use crate::schedule;
use crate::status::{condition, mark_failed, mark_ready, mark_reconciling, with_progress};

/// Finalizer Flux uses; Ballast uses the same so objects move between the two cleanly.
pub const FINALIZER: &str = "finalizers.fluxcd.io";

/// Flux's owner labels, set on every object a Kustomization applies.
fn owner_labels(ks: &Kustomization) -> std::collections::BTreeMap<String, String> {
    [
        (crate::drift::OWNER_LABEL.to_string(), ks.name_any()),
        (
            "kustomize.toolkit.fluxcd.io/namespace".to_string(),
            ks.namespace().unwrap_or_default(),
        ),
    ]
    .into_iter()
    .collect()
}

/// How long to wait before looking at a dependency or a source again.
const DEPENDENCY_RETRY: Duration = Duration::from_secs(10);

/// Reconciles one Kustomization.
pub async fn reconcile(ks: Arc<Kustomization>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ns = ks.namespace().unwrap_or_default();
    let name = ks.name_any();
    let api: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &ns);
    let owner = KubeRef::from_obj(&*ks);
    if ks.meta().deletion_timestamp.is_some() {
        ctx.health_waits.cancel(&owner);
        return finalize(&ks, &api, &ctx).await;
    }
    if !ks.finalizers().iter().any(|f| f == FINALIZER) {
        let mut finalizers = ks.finalizers().to_vec();
        finalizers.push(FINALIZER.into());
        let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": ks.resource_version()}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        // The patch triggers another reconcile with the finalizer in place.
        return Ok(Action::await_change());
    }
    if ks.spec.suspend == Some(true) {
        ctx.health_waits.cancel(&owner);
        ctx.metrics.record("Kustomization", &ns, &name, None, started.elapsed());
        return Ok(Action::await_change());
    }
    let interval = schedule::interval(Some(&ks.spec.interval), Duration::from_secs(600));
    if unchanged(&ks, &ctx) {
        ctx.metrics.unchanged_reconcile();
        ctx.metrics.record(
            "Kustomization",
            &ns,
            &name,
            Some(ConditionStatus::True),
            started.elapsed(),
        );
        return Ok(Action::requeue(schedule::jittered(interval)));
    }
    let retry = schedule::interval(ks.spec.retry_interval.as_deref(), interval);
    let generation = ks.meta().generation;
    // A health wait started by an earlier reconcile for exactly this state (object, generation,
    // source revision, reconcile request, no drift since): still pending, nothing to do; ended,
    // write its outcome without applying again. Anything else cancels it.
    if ctx.health_waits.holds(&owner) {
        let lookup = match wait_key(&ks, &ctx).await {
            Some(key) => ctx.health_waits.lookup(&owner, &key),
            None => {
                ctx.health_waits.cancel(&owner);
                Lookup::None
            }
        };
        match lookup {
            Lookup::Pending => {
                let ready = ks
                    .status
                    .as_ref()
                    .and_then(|s| find(&s.conditions, "Ready"))
                    .map(|c| c.status);
                ctx.metrics
                    .record("Kustomization", &ns, &name, ready, started.elapsed());
                return Ok(Action::requeue(schedule::jittered(interval)));
            }
            Lookup::Finished(finished) => {
                let Finished {
                    ended,
                    mut status,
                    note,
                    timeout,
                } = finished;
                let revision = status.last_attempted_revision.clone().unwrap_or_default();
                let outcome = health_outcome(ended, timeout, revision, note, generation, &mut status);
                let timing = Timing {
                    started,
                    interval,
                    retry,
                };
                return conclude(&ks, &ctx, &api, status, outcome, None, timing).await;
            }
            Lookup::None => {}
        }
    }
    // This reconcile's own writes (a new revision's objects) are not drift; a live change made
    // meanwhile still triggers one more reconcile when it ends.
    let _hold = ctx.drift.hold(&ks);
    let mut status = ks.status.clone().unwrap_or_default();
    // kstatus: Reconciling while working (observedGeneration moves only when done), written
    // on its own only by a reconcile still running after a moment (`with_progress`).
    mark_reconciling(&mut status.conditions, generation, status.observed_generation);
    let progress = json!({"status": {"conditions": status.conditions}});
    let (observed_before, handled_before) = (status.observed_generation, status.last_handled_reconcile_at.clone());
    status.observed_generation = generation;
    status.last_handled_reconcile_at = ks.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned();
    if let Some(v) = &ks.spec.validation {
        let note = format!(
            "spec.validation ({v}) is deprecated and ignored: objects are always validated by a server-side dry-run"
        );
        ctx.event(&*ks, EventType::Warning, "DeprecatedField", &note).await;
    }
    let previous = inventory_of(&status);
    let mut applied = crate::drift::Applied::default();
    let outcome = with_progress(run(&ks, &ctx, &previous, &mut status, &mut applied), async {
        // Best effort: the outcome's write follows and says it all.
        let _ = api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&progress))
            .await;
    })
    .await;
    let outcome = match outcome {
        Ok(Ran::Done(revision, note)) => Outcome::Ready(revision, note),
        Ok(Ran::Unhealthy {
            revision,
            note,
            refs,
            timeout,
        }) => {
            let key = WaitFor {
                uid: ks.uid(),
                generation,
                revision: revision.clone(),
                requested: status.last_handled_reconcile_at.clone(),
            };
            // The status to write once the wait ends: this reconcile's, as if it had waited.
            let later = status.clone();
            if ctx.health_waits.start(
                &ks,
                key,
                Watched {
                    refs: refs.clone(),
                    rules: health_rules(&ks)?,
                },
                timeout,
                later,
                note.clone(),
            ) {
                // As Flux shows a running health check: not Ready yet, the request not handled
                // yet, the generation not observed yet; `lastAppliedRevision` once healthy.
                let timeout_text = ks.spec.timeout.as_deref().unwrap_or(&ks.spec.interval);
                mark_health_running(&mut status, &revision, timeout_text, generation);
                status.observed_generation = observed_before;
                status.last_handled_reconcile_at = handled_before;
                Outcome::Waiting
            } else {
                // The waiting set is full: wait here, in this worker, as before.
                let report = Waiter::new(&ctx.cluster)
                    .with_rules(health_rules(&ks)?)
                    .wait(&refs, timeout)
                    .await;
                let ended = if report.all_healthy() {
                    Ended::Healthy
                } else {
                    Ended::TimedOut(report.unhealthy())
                };
                health_outcome(ended, timeout, revision, note, generation, &mut status)
            }
        }
        Err(e) => Outcome::Failed(e),
    };
    let timing = Timing {
        started,
        interval,
        retry,
    };
    conclude(&ks, &ctx, &api, status, outcome, Some(&applied), timing).await
}

/// Conditions of a health check running off the worker, as Flux shows one: `Ready=Unknown`,
/// `Reconciling=True` and `Healthy=Unknown` (reason `Progressing`).
fn mark_health_running(status: &mut KustomizationStatus, revision: &str, timeout: &str, generation: Option<i64>) {
    let message = format!("Running health checks for revision {revision} with a timeout of {timeout}");
    let progressing = |type_: &str, status: ConditionStatus, message: &str| {
        condition(type_, status, "Progressing", message, generation)
    };
    let list = &mut status.conditions;
    set_condition(
        list,
        progressing("Ready", ConditionStatus::Unknown, "Reconciliation in progress"),
    );
    set_condition(list, progressing("Reconciling", ConditionStatus::True, &message));
    set_condition(list, progressing("Healthy", ConditionStatus::Unknown, &message));
}

/// `Healthy=True`: every object checked is healthy.
fn mark_healthy(status: &mut KustomizationStatus, generation: Option<i64>) {
    let healthy = condition(
        "Healthy",
        ConditionStatus::True,
        "Succeeded",
        "Health check passed",
        generation,
    );
    set_condition(&mut status.conditions, healthy);
}

/// How a Kustomization reconcile ended.
enum Outcome {
    /// Applied (and healthy): the revision and a note for the Ready message.
    Ready(String, Option<String>),
    /// Applied; its health wait goes on off the worker ([`crate::health_wait`]).
    Waiting,
    /// Failed.
    Failed(ReconcileError),
}

/// When a reconcile started, and its requeue intervals on success and on failure.
struct Timing {
    started: std::time::Instant,
    interval: Duration,
    retry: Duration,
}

/// The outcome of a health wait that ended: `Healthy=True` and Ready, or a health failure in
/// the words of a wait held in the worker.
fn health_outcome(
    ended: Ended,
    timeout: Duration,
    revision: String,
    note: Option<String>,
    generation: Option<i64>,
    status: &mut KustomizationStatus,
) -> Outcome {
    match ended {
        Ended::Healthy => {
            mark_healthy(status, generation);
            Outcome::Ready(revision, note)
        }
        Ended::TimedOut(unhealthy) => Outcome::Failed(ReconcileError::Health(format!(
            "health check failed after {timeout:?}: {}",
            unhealthy.join("; ")
        ))),
    }
}

/// Ends a reconcile: the outcome into `status` (conditions, events, dependents on Ready), the
/// status written (it carries the inventory: retried before giving up, so what was applied
/// stays owned), what was `applied` watched for drift, metrics; the requeue.
async fn conclude(
    ks: &Kustomization,
    ctx: &Context,
    api: &Api<Kustomization>,
    mut status: KustomizationStatus,
    outcome: Outcome,
    applied: Option<&crate::drift::Applied>,
    timing: Timing,
) -> Result<Action, ReconcileError> {
    let (ns, name) = (ks.namespace().unwrap_or_default(), ks.name_any());
    let generation = ks.meta().generation;
    let action = match outcome {
        Outcome::Ready(revision, note) => {
            let message = match note {
                Some(note) => format!("Applied revision: {revision}; {note}"),
                None => format!("Applied revision: {revision}"),
            };
            status.last_applied_revision = Some(revision);
            mark_ready(&mut status.conditions, "ReconciliationSucceeded", &message, generation);
            ctx.trigger_dependents(ks);
            Action::requeue(schedule::jittered(timing.interval))
        }
        // The wait asks for a reconcile when it ends; this requeue only backs it up.
        Outcome::Waiting => Action::requeue(schedule::jittered(timing.interval)),
        Outcome::Failed(e) => {
            let message = e.to_string();
            eprintln!("Kustomization {ns}/{name}: {}: {message}", e.reason());
            mark_failed(&mut status.conditions, e.reason(), &message, generation, e.stalled());
            if matches!(e, ReconcileError::Health(_)) {
                set_condition(
                    &mut status.conditions,
                    condition(
                        "Healthy",
                        ConditionStatus::False,
                        "HealthCheckFailed",
                        &message,
                        generation,
                    ),
                );
            }
            let attempted = status.last_attempted_revision.as_deref();
            ctx.event_at_revision(ks, attempted, EventType::Warning, e.reason(), &message)
                .await;
            let again = if matches!(e, ReconcileError::Dependency(_) | ReconcileError::ArtifactNotReady(_)) {
                DEPENDENCY_RETRY.min(timing.retry)
            } else {
                timing.retry
            };
            Action::requeue(schedule::jittered(again))
        }
    };
    let patch = json!({"status": status});
    let mut attempt = 0;
    loop {
        match api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => break,
            Err(e) if attempt >= 4 => return Err(e.into()),
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
        }
    }
    // Watch what we own, so live edits come back as reconciles.
    if let Some(applied) = applied {
        ctx.drift.track_applied(ks, &inventory_of(&status).refs(), applied);
    }
    let ready = find(&status.conditions, "Ready").map(|c| c.status);
    ctx.metrics
        .record("Kustomization", &ns, &name, ready, timing.started.elapsed());
    Ok(action)
}

/// What a health wait of `ks` would have to have been started for to be still valid now:
/// its UID, generation, reconcile request, and the source's current revision (from the trigger
/// watch's cache for a GitRepository, read for other kinds). `None` when the revision is not
/// known.
async fn wait_key(ks: &Kustomization, ctx: &Context) -> Option<WaitFor> {
    let kind = ks.spec.source_ref.kind.as_str();
    let revision = if kind == "GitRepository" {
        cached_git_revision(ks, ctx)?
    } else {
        let ns = source_namespace(ks);
        let name = &ks.spec.source_ref.name;
        let artifact = if kind == "OCIRepository" {
            let api: Api<OCIRepository> = Api::namespaced(ctx.client.clone(), &ns);
            api.get_opt(name).await.ok()??.status?.artifact?
        } else {
            let api: Api<ExternalArtifact> = Api::namespaced(ctx.client.clone(), &ns);
            api.get_opt(name).await.ok()??.status?.artifact?
        };
        artifact.revision
    };
    Some(WaitFor {
        uid: ks.uid(),
        generation: ks.meta().generation,
        revision,
        requested: ks.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned(),
    })
}

/// The namespace of a Kustomization's source.
fn source_namespace(ks: &Kustomization) -> String {
    ks.spec
        .source_ref
        .namespace
        .clone()
        .unwrap_or_else(|| ks.namespace().unwrap_or_default())
}

/// The revision of a Kustomization's GitRepository as the trigger watch's cache holds it (no
/// request).
fn cached_git_revision(ks: &Kustomization, ctx: &Context) -> Option<String> {
    let repos = ctx.git_repositories.get()?;
    let key = kube::runtime::reflector::ObjectRef::<GitRepository>::new(&ks.spec.source_ref.name)
        .within(&source_namespace(ks));
    let repo = repos.get(&key)?;
    repo.status.as_ref()?.artifact.as_ref().map(|a| a.revision.clone())
}

/// True when a reconcile has nothing to do, decided from the caches alone, with no request:
/// the last reconcile succeeded for this generation and this reconcile request, the
/// GitRepository's artifact (from the GitRepository watch's cache) is still the revision it
/// applied, and every object of its inventory is live with the digest it was applied with (from
/// the drift watches, [`crate::drift::DriftWatch::in_sync`]). A drift, a deletion, a new revision,
/// a spec change or `reconcile.fluxcd.io/requestedAt` each make it false, and the full path
/// runs. Kustomizations that wait for health, check health or depend on others, and other
/// source kinds, always take the full path (health and dependencies change without a new
/// revision).
fn unchanged(ks: &Kustomization, ctx: &Context) -> bool {
    let spec = &ks.spec;
    if spec.wait == Some(true)
        || spec.health_checks.as_ref().is_some_and(|h| !h.is_empty())
        || spec.depends_on.as_ref().is_some_and(|d| !d.is_empty())
        || spec.source_ref.kind != "GitRepository"
        // Variables read from ConfigMaps and Secrets may have changed: render again, as Flux
        // does at every interval.
        || spec
            .post_build
            .as_ref()
            .and_then(|p| p["substituteFrom"].as_array())
            .is_some_and(|from| !from.is_empty())
    {
        return false;
    }
    let Some(status) = &ks.status else { return false };
    let generation = ks.meta().generation;
    let ready = find(&status.conditions, "Ready").is_some_and(|c| c.is_true() && c.observed_generation == generation);
    let requested = ks.annotations().get(RECONCILE_REQUEST_ANNOTATION);
    let Some(applied) = status.last_applied_revision.as_deref() else {
        return false;
    };
    if !ready
        || status.observed_generation != generation
        || status.last_handled_reconcile_at.as_ref() != requested
        || status.last_attempted_revision.as_deref() != Some(applied)
    {
        return false;
    }
    cached_git_revision(ks, ctx).as_deref() == Some(applied) && ctx.drift.in_sync(&inventory_of(status).refs())
}

/// What the pipeline did.
enum Ran {
    /// Applied, and healthy (or nothing to check): the revision and a note for the Ready
    /// message.
    Done(String, Option<String>),
    /// Applied, but these objects were not all healthy at a first look: wait for them, for
    /// `timeout`.
    Unhealthy {
        /// The revision applied.
        revision: String,
        /// The note for the Ready message.
        note: Option<String>,
        /// The objects to wait for.
        refs: Vec<ObjectRef>,
        /// How long.
        timeout: Duration,
    },
}

/// The pipeline proper. Updates `status` (inventory, attempted revision) as it goes, so a failure
/// half-way still records everything that was written.
async fn run(
    ks: &Kustomization,
    ctx: &Context,
    previous: &Inventory,
    status: &mut KustomizationStatus,
    applied: &mut crate::drift::Applied,
) -> Result<Ran, ReconcileError> {
    check_spec(ks)?;
    check_dependencies(ks, ctx).await?;
    let (revision, root, ignore) = artifact(ks, ctx).await?;
    status.last_attempted_revision = Some(revision.clone());
    let manifests = build(ks, ctx, &root, &revision, ignore).await?;
    if manifests.is_empty() && !previous.is_empty() {
        return Err(ReconcileError::Build(format!(
            "{}: the source renders no objects but the inventory owns {}; refusing to prune everything",
            ks.spec.path.as_deref().unwrap_or("./"),
            previous.entries.len()
        )));
    }
    // `timeout` defaults to the interval, as the CRD says.
    let interval = schedule::interval(Some(&ks.spec.interval), Duration::from_secs(600));
    let timeout = ks
        .spec
        .timeout
        .as_deref()
        .and_then(|t| parse_duration(t).ok())
        .unwrap_or(interval);
    // What needs no request: objects live as this process applied them from the same desired
    // object (none when something is to be pruned: prune checks the UIDs the apply reads).
    // What needs no GET: objects not owned yet, dry-run first.
    let desired: std::collections::HashMap<ObjectRef, u64> = manifests
        .iter()
        .map(|m| (m.object_ref(), ballast_plan::object_digest(&m.object)))
        .collect();
    let current: Vec<ObjectRef> = manifests.iter().map(Manifest::object_ref).collect();
    let prunes = ks.spec.prune && !previous.stale(&current).is_empty();
    let known_applied: std::collections::HashSet<ObjectRef> = desired
        .iter()
        .filter(|(r, d)| !prunes && ctx.drift.live_as_applied(r, **d))
        .map(|(r, _)| r.clone())
        .collect();
    let owned: std::collections::HashSet<ObjectRef> = previous.refs().into_iter().collect();
    // What needs no GET either: owned objects live as last applied whose desired form changed,
    // planned by their dry-run alone (same gate as `known_applied`).
    let live_as_applied = desired
        .keys()
        .filter(|r| !prunes && owned.contains(*r) && !known_applied.contains(*r))
        .filter_map(|r| ctx.drift.in_sync_digest(r).map(|d| (r.clone(), d)))
        .collect();
    let new_objects = current.into_iter().filter(|r| !owned.contains(r)).collect();
    let options = ApplyOptions {
        force: ks.spec.force == Some(true),
        // `spec.force` as Flux means it: recreate objects whose immutable fields changed.
        recreate: ks.spec.force == Some(true),
        prune: ks.spec.prune,
        owner_labels: owner_labels(ks),
        stage_timeout: timeout,
        prune_budget: prune_budget(ks, ctx)?,
        prune_approved: prune_approved(ks, &revision),
        allow_protected_prune: ks
            .annotations()
            .get(ballast_apply::ALLOW_PROTECTED_ANNOTATION)
            .map(String::as_str)
            == Some("true"),
        own_namespaces: vec![ctx.own_namespace.clone()],
        known_applied,
        new_objects,
        live_as_applied,
        ..Default::default()
    };
    // As the Kustomization's ServiceAccount, if it names one (or the controller's default).
    let account = crate::tenant::account(ctx, ks.spec.service_account_name.as_deref());
    let cluster = crate::tenant::cluster(ctx, &ks.namespace().unwrap_or_default(), account).await?;
    let applier = Applier::new(&cluster, options);
    // Every object checked and planned before the first write.
    let prepared = applier
        .prepare(&manifests)
        .await
        .map_err(|e| ReconcileError::Apply(e.to_string()))?;
    // Ownership before the first write: the status inventory already holds what this reconcile
    // is about to create, so a crash at any point orphans nothing.
    let intended = Inventory::from_refs(prepared.objects().iter()).union(previous);
    if intended != *previous {
        let api: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &ks.namespace().unwrap_or_default());
        let patch = json!({"status": {"inventory": to_status_inventory(&intended)}});
        api.patch_status(&ks.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        status.inventory = Some(to_status_inventory(&intended));
    }
    let result = applier.execute(prepared, previous).await;
    let (changes, failure) = match result {
        Ok(c) => (c, None),
        Err(e) => (e.changes.clone(), Some(e)),
    };
    for e in &changes.entries {
        if let Some(d) = e.digest {
            applied.digests.insert(e.object.clone(), d);
            if matches!(e.change, Change::Created | Change::Configured | Change::Unchanged)
                && let Some(m) = desired.get(&e.object)
            {
                applied.desired.insert(e.object.clone(), *m);
            }
        }
        if let Some(o) = e.owned_digest {
            applied.owned.insert(e.object.clone(), o);
        }
    }
    // After a failure, ownership stays with everything recorded before the first write: a write
    // the server committed although the client saw an error is never orphaned.
    let inventory = Inventory::after_apply(&intended, &changes, failure.is_none());
    status.inventory = Some(to_status_inventory(&inventory));
    report_changes(
        ks,
        ctx,
        &changes,
        &revision,
        status.last_applied_revision.as_deref() == Some(revision.as_str()),
    )
    .await;
    let kept = kept_lines(&changes);
    if let Some(e) = failure {
        if e.over_budget {
            let would_delete: Vec<String> = changes
                .entries
                .iter()
                .filter(|e| {
                    e.change == Change::Kept && e.reason.as_deref().is_some_and(|r| r.starts_with("prune budget"))
                })
                .map(|e| e.object.to_string())
                .collect();
            let message = format!(
                "{e}; approve with the annotation {APPROVE_PRUNE_ANNOTATION}={revision}. Would delete: {}",
                would_delete.join(", ")
            );
            return Err(ReconcileError::PruneBudget(message));
        }
        return Err(ReconcileError::Apply(e.to_string()));
    }
    if !kept.is_empty() {
        ctx.event(ks, EventType::Warning, "PruneProtected", &kept.join("\n"))
            .await;
    }
    let note = (!kept.is_empty()).then(|| format!("not pruned: {}", kept.join("; ")));
    let refs = health_refs(ks, ctx, &changes);
    if refs.is_empty() {
        remove_condition(&mut status.conditions, "Healthy");
        return Ok(Ran::Done(revision, note));
    }
    // One look now; a wait, if needed, goes on off the worker.
    let report = Waiter::new(&cluster)
        .with_rules(health_rules(ks)?)
        .wait(&refs, Duration::ZERO)
        .await;
    if report.all_healthy() {
        mark_healthy(status, ks.meta().generation);
        return Ok(Ran::Done(revision, note));
    }
    Ok(Ran::Unhealthy {
        revision,
        note,
        refs,
        timeout,
    })
}

/// Annotation approving a prune over the deletion budget, for one revision (`main@sha1:<hex>`,
/// or the commit's hash or a prefix of at least 7 of its digits).
pub const APPROVE_PRUNE_ANNOTATION: &str = "ballast.dev/approve-prune";

/// Annotation setting a Kustomization's own deletion budget (`N` or `N,P%`; 0 disables).
pub const PRUNE_BUDGET_ANNOTATION: &str = "ballast.dev/prune-budget";

fn prune_budget(ks: &Kustomization, ctx: &Context) -> Result<ballast_apply::PruneBudget, ReconcileError> {
    match ks.annotations().get(PRUNE_BUDGET_ANNOTATION) {
        Some(text) => ballast_apply::PruneBudget::parse(text)
            .map_err(|e| ReconcileError::Invalid(format!("annotation {PRUNE_BUDGET_ANNOTATION}: {e}"))),
        None => Ok(ctx.prune_budget),
    }
}

fn prune_approved(ks: &Kustomization, revision: &str) -> bool {
    let Some(approved) = ks.annotations().get(APPROVE_PRUNE_ANNOTATION).map(|a| a.trim()) else {
        return false;
    };
    let hash = revision.rsplit(':').next().unwrap_or(revision);
    approved == revision || (approved.len() >= 7 && hash.starts_with(approved))
}

/// The Kustomization's `healthCheckExprs` as health rules (`None` without any).
fn health_rules(ks: &Kustomization) -> Result<Option<ballast_health::Rules>, ReconcileError> {
    let exprs = crate::health_exprs::HealthExprs::compile(ks.spec.health_check_exprs.as_deref().unwrap_or_default())
        .map_err(ReconcileError::Invalid)?;
    Ok(exprs.map(|e| e.rules()))
}

fn check_spec(ks: &Kustomization) -> Result<(), ReconcileError> {
    health_rules(ks)?;
    let s = &ks.spec;
    let mut missing = Vec::new();
    for (field, set) in [
        ("spec.kubeConfig", s.kube_config.is_some()),
        (
            "spec.deletionPolicy (MirrorPrune, Delete, WaitForTermination or Orphan)",
            s.deletion_policy
                .as_deref()
                .is_some_and(|p| !matches!(p, "MirrorPrune" | "Delete" | "WaitForTermination" | "Orphan")),
        ),
        (
            "spec.buildMetadata",
            s.build_metadata.as_ref().is_some_and(|b| !b.is_empty()),
        ),
        ("spec.ignore", s.ignore.as_ref().is_some_and(|i| !i.is_empty())),
    ] {
        if set {
            missing.push(field);
        }
    }
    if let Some(ns) = &s.target_namespace
        && let Err(e) = ballast_plan::validate::dns_label(ns)
    {
        return Err(ReconcileError::Invalid(format!("spec.targetNamespace {ns:?}: {e}")));
    }
    if !SOURCE_KINDS.contains(&s.source_ref.kind.as_str()) {
        missing.push("spec.sourceRef.kind (GitRepository, OCIRepository or ExternalArtifact)");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ReconcileError::Invalid(format!(
            "not supported yet: {}",
            missing.join(", ")
        )))
    }
}

async fn check_dependencies(ks: &Kustomization, ctx: &Context) -> Result<(), ReconcileError> {
    let own_ns = ks.namespace().unwrap_or_default();
    for dep in ks.spec.depends_on.iter().flatten() {
        let ns = dep.namespace.clone().unwrap_or_else(|| own_ns.clone());
        let api: Api<Kustomization> = Api::namespaced(ctx.client.clone(), &ns);
        let Some(d) = api.get_opt(&dep.name).await? else {
            return Err(ReconcileError::Dependency(format!(
                "dependency '{ns}/{}' not found",
                dep.name
            )));
        };
        let st = d.status.clone().unwrap_or_default();
        let ready = find(&st.conditions, "Ready").is_some_and(|c| c.is_true());
        if !ready || st.observed_generation != d.meta().generation {
            return Err(ReconcileError::Dependency(format!(
                "dependency '{ns}/{}' is not ready",
                dep.name
            )));
        }
    }
    Ok(())
}

/// Source kinds a Kustomization reads.
pub const SOURCE_KINDS: &[&str] = &["GitRepository", "OCIRepository", "ExternalArtifact"];

/// The source's revision and a directory holding it: a GitRepository's tree (re-fetched by
/// exact commit if this process's cache does not have it), or an OCIRepository's or
/// ExternalArtifact's artifact extracted into a content-addressed directory (read through the
/// artifact store and checked against its digest).
async fn artifact(
    ks: &Kustomization,
    ctx: &Context,
) -> Result<(String, std::path::PathBuf, Option<String>), ReconcileError> {
    let ns = ks
        .spec
        .source_ref
        .namespace
        .clone()
        .unwrap_or_else(|| ks.namespace().unwrap_or_default());
    let name = &ks.spec.source_ref.name;
    let kind = ks.spec.source_ref.kind.as_str();
    let not_found = || ReconcileError::ArtifactNotReady(format!("Source '{kind}/{ns}/{name}' not found"));
    let no_artifact =
        || ReconcileError::ArtifactNotReady(format!("Source '{kind}/{ns}/{name}' is not ready, artifact not found"));
    if kind == "ExternalArtifact" {
        let api: Api<ExternalArtifact> = Api::namespaced(ctx.client.clone(), &ns);
        let ea = api.get_opt(name).await?.ok_or_else(not_found)?;
        let artifact = ea.status.and_then(|s| s.artifact).ok_or_else(no_artifact)?;
        let root = crate::oci_repository::tree(ctx, "ExternalArtifact", &ns, name, &artifact).await?;
        return Ok((artifact.revision, root, None));
    }
    if kind == "OCIRepository" {
        let api: Api<OCIRepository> = Api::namespaced(ctx.client.clone(), &ns);
        let repo = api.get_opt(name).await?.ok_or_else(not_found)?;
        let status = repo.status.clone().unwrap_or_default();
        let artifact = status.artifact.ok_or_else(no_artifact)?;
        let root = crate::oci_repository::tree(ctx, "OCIRepository", &ns, name, &artifact).await?;
        return Ok((artifact.revision, root, status.observed_ignore));
    }
    // From the source trigger watch's cache when it holds the source (the revision a reconcile
    // triggered by a new artifact sees, see `unchanged`): no request. Else read.
    let key = kube::runtime::reflector::ObjectRef::<GitRepository>::new(name).within(&ns);
    let repo = match ctx.git_repositories.get().and_then(|store| store.get(&key)) {
        Some(repo) => repo,
        None => {
            let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &ns);
            Arc::new(api.get_opt(name).await?.ok_or_else(not_found)?)
        }
    };
    let artifact = repo
        .status
        .as_ref()
        .and_then(|s| s.artifact.clone())
        .ok_or_else(no_artifact)?;
    let ignore = repo.spec.ignore.clone();
    // The path comes from the revision inside our cache, never from `status.artifact.path`.
    let root = crate::git_repository::artifact_root(&repo, &artifact.revision, ctx).await?;
    Ok((artifact.revision, root, ignore))
}

/// Renders `spec.path` under `root`, counted in the metrics.
async fn render(
    root: &std::path::Path,
    spec: &RenderSpec,
    overrides: Option<&serde_json::Value>,
    ctx: &Context,
) -> Result<Vec<Manifest>, ReconcileError> {
    ctx.metrics.rendered();
    match render_with_overrides(root, spec, &ctx.cluster, overrides) {
        Err(RenderError::UnknownKind { .. }) => {
            // A CRD installed since our last discovery (by another Kustomization, say).
            ctx.cluster.refresh().await?;
            ctx.metrics.rendered();
            render_with_overrides(root, spec, &ctx.cluster, overrides).map_err(|e| ReconcileError::Build(e.to_string()))
        }
        other => other.map_err(|e| ReconcileError::Build(e.to_string())),
    }
}

/// The Kustomization's objects, with Flux's Kustomization-level overrides (`targetNamespace`
/// among them) run as Flux's one kustomization file at the path runs them. A path without a
/// kustomization file (or a Kustomization without overrides) is rendered once per source
/// revision and path, shared by the Kustomizations of that path ([`crate::render_cache`]; alone
/// when it decrypts), and the overrides apply on top; a path with its own file is rendered for
/// this Kustomization alone, with the overrides merged into that file in memory. Last,
/// `spec.postBuild`'s variables are substituted into every object, as Flux does after its build.
async fn build(
    ks: &Kustomization,
    ctx: &Context,
    root: &std::path::Path,
    revision: &str,
    ignore: Option<String>,
) -> Result<Vec<Manifest>, ReconcileError> {
    let mut manifests = build_with_overrides(ks, ctx, root, revision, ignore).await?;
    if let Some(vars) = crate::post_build::variables(&ctx.client, ks).await? {
        ballast_render::postbuild::substitute(&mut manifests, &vars, false)
            .map_err(|e| ReconcileError::Build(e.to_string()))?;
    }
    Ok(manifests)
}

async fn build_with_overrides(
    ks: &Kustomization,
    ctx: &Context,
    root: &std::path::Path,
    revision: &str,
    ignore: Option<String>,
) -> Result<Vec<Manifest>, ReconcileError> {
    let path = ks.spec.path.clone().unwrap_or_default();
    let path = path.trim_start_matches("./").trim_start_matches('/');
    let spec = RenderSpec {
        path: if path.is_empty() { ".".into() } else { path.into() },
        // `targetNamespace` is an override (below): the render, shared or not, has none.
        target_namespace: None,
        default_namespace: Some("default".into()),
        ignore,
        decrypt: decryptor(ks, ctx).await?,
        ..Default::default()
    };
    // Flux's Kustomization-level overrides.
    let spec_value = serde_json::to_value(&ks.spec).unwrap_or_default();
    let overrides = json!({
        "namespace": spec_value["targetNamespace"],
        "namePrefix": spec_value["namePrefix"],
        "nameSuffix": spec_value["nameSuffix"],
        "images": spec_value["images"],
        "patches": spec_value["patches"],
        // The deprecated fields go to kustomize's own deprecated fields, as Flux writes them, so
        // they run at their own place in kustomize's order.
        "patchesStrategicMerge": ks.spec.legacy_strategic_merge(),
        "patchesJson6902": ks.spec.legacy_json6902(),
        "commonMetadata": spec_value["commonMetadata"],
        "components": spec_value["components"],
    });
    let mut overrides = overrides;
    if ks.spec.ignore_missing_components == Some(true) {
        ballast_render::kustomize::drop_missing_components(&root.join(&spec.path), &mut overrides);
    }
    let no_overrides = overrides
        .as_object()
        .is_some_and(|o| o.values().all(serde_json::Value::is_null));
    // A path with a kustomization file of its own: Flux writes the overrides into that file, so
    // they run with its own fields (its patches before its name prefix, its replacements after
    // the target namespace, ...). That render is this Kustomization's alone.
    let own_file = !no_overrides && ballast_render::kustomize::kustomization_file(&root.join(&spec.path)).is_some();
    let manifests = if spec.decrypt.is_some() || own_file {
        render(root, &spec, own_file.then_some(&overrides), ctx).await?
    } else {
        let key = RenderKey {
            revision: revision.to_string(),
            root: root.to_path_buf(),
            path: spec.path.clone(),
            ignore: spec.ignore.clone(),
            default_namespace: spec.default_namespace.clone(),
            limits: spec.limits,
        };
        let shared = ctx.renders.get(key, || render(root, &spec, None, ctx)).await?;
        (*shared).clone()
    };
    if spec.decrypt.is_none()
        && let Some(m) = manifests
            .iter()
            .find(|m| m.kind() == "Secret" && m.object.get("sops").is_some())
    {
        return Err(ReconcileError::Build(format!(
            "Secret/{}/{} is SOPS encrypted, configuring decryption is required",
            m.object
                .pointer("/metadata/namespace")
                .and_then(|n| n.as_str())
                .unwrap_or_default(),
            m.name()
        )));
    }
    if no_overrides {
        return Ok(manifests);
    }
    // Without a file of its own, the overrides apply on top of the shared render as Flux's
    // generated file runs them; with one, only `commonMetadata` is left (Flux sets it after the
    // build).
    let overrides = if own_file {
        json!({ "commonMetadata": overrides["commonMetadata"] })
    } else {
        overrides
    };
    let origin = std::path::PathBuf::from(format!(
        "Kustomization/{}/{}",
        ks.namespace().unwrap_or_default(),
        ks.name_any()
    ));
    let base_dir = root.join(&spec.path);
    let mut manifests = ballast_render::kustomize::apply_overrides(root, &base_dir, manifests, &overrides, &origin)
        .map_err(|e| ReconcileError::Build(e.to_string()))?;
    ballast_render::plain::settle_namespaces(&mut manifests, &ctx.cluster)
        .map_err(|e| ReconcileError::Build(e.to_string()))?;
    Ok(manifests)
}

/// The decryption hook of `spec.decryption` (`provider: sops`): age identities from every
/// `*.agekey` key of `secretRef` (a Secret in the Kustomization's namespace). Decryption happens
/// in memory during the render; the MAC of every SOPS document is verified. Errors name the
/// Secret and key, never key material.
async fn decryptor(
    ks: &Kustomization,
    ctx: &Context,
) -> Result<Option<Arc<dyn ballast_render::decrypt::Decrypt>>, ReconcileError> {
    let Some(d) = &ks.spec.decryption else {
        return Ok(None);
    };
    let provider = d["provider"].as_str().unwrap_or_default();
    if provider != "sops" {
        return Err(ReconcileError::Invalid(format!(
            "spec.decryption.provider {provider:?}: only \"sops\" is supported"
        )));
    }
    let mut keys = ballast_sops::Keys::default();
    if let Some(name) = d.pointer("/secretRef/name").and_then(|n| n.as_str()) {
        let ns = ks.namespace().unwrap_or_default();
        let data = crate::chart_source::secret_data(&ctx.client, &ns, name).await?;
        for (key, value) in data.iter().filter(|(k, _)| k.ends_with(".agekey")) {
            let source = format!("spec.decryption.secretRef: Secret {ns}/{name} key {key}");
            let text =
                std::str::from_utf8(value).map_err(|_| ReconcileError::Invalid(format!("{source}: not UTF-8")))?;
            keys.add(text, &source)
                .map_err(|e| ReconcileError::Invalid(e.to_string()))?;
        }
    }
    Ok(Some(Arc::new(ballast_sops::SopsDecryptor::new(keys))))
}

/// The objects whose health `ks` waits for: with `wait`, every object applied (not the
/// Kustomization itself); its `healthChecks`.
fn health_refs(ks: &Kustomization, ctx: &Context, changes: &ChangeSet) -> Vec<ObjectRef> {
    let own_ns = ks.namespace().unwrap_or_default();
    let mut refs: Vec<ObjectRef> = Vec::new();
    if ks.spec.wait == Some(true) {
        let itself = |r: &ObjectRef| {
            r.kind == "Kustomization" && r.name == ks.name_any() && r.namespace.as_deref() == Some(own_ns.as_str())
        };
        refs.extend(
            changes
                .entries
                .iter()
                .filter(|e| matches!(e.change, Change::Created | Change::Configured | Change::Unchanged))
                .filter(|e| !itself(&e.object))
                .map(|e| e.object.clone()),
        );
    }
    for hc in ks.spec.health_checks.iter().flatten() {
        // `flux create kustomization --health-check=Deployment/x.ns` writes no apiVersion: the
        // kind's served group and version, the core group first.
        let api_version = hc
            .api_version
            .clone()
            .or_else(|| ctx.cluster.api_version_of_kind(&hc.kind))
            .unwrap_or_else(|| "v1".into());
        let ns = hc.namespace.clone().or_else(|| Some(own_ns.clone()));
        let r = ObjectRef::new(&api_version, &hc.kind, ns.as_deref(), &hc.name);
        let cluster_scoped =
            ballast_core::Scopes::scope(&ctx.cluster, &r.group, &r.kind) == Some(ballast_core::Scope::Cluster);
        let r = if cluster_scoped {
            ObjectRef { namespace: None, ..r }
        } else {
            r
        };
        refs.push(r);
    }
    refs
}

/// Events summarising a change set: what was written, and — when the revision did not change —
/// which objects drifted and which fields were put back.
async fn report_changes(ks: &Kustomization, ctx: &Context, changes: &ChangeSet, revision: &str, same_revision: bool) {
    let written: Vec<String> = changes
        .entries
        .iter()
        .filter(|e| matches!(e.change, Change::Created | Change::Configured | Change::Deleted))
        .map(|e| e.to_string())
        .collect();
    if written.is_empty() {
        return;
    }
    if same_revision {
        let drifted: Vec<String> = changes
            .entries
            .iter()
            .filter(|e| matches!(e.change, Change::Created | Change::Configured))
            .map(|e| {
                if e.change == Change::Created {
                    format!("{} (deleted live, recreated)", e.object)
                } else if e.fields.is_empty() {
                    e.object.to_string()
                } else {
                    format!("{} ({})", e.object, e.fields.join(", "))
                }
            })
            .collect();
        if !drifted.is_empty() {
            ctx.metrics.drift_corrected(
                &ks.namespace().unwrap_or_default(),
                &ks.name_any(),
                drifted.len() as u64,
            );
            ctx.event(
                ks,
                EventType::Warning,
                "DriftCorrected",
                &format!("drift corrected: {}", drifted.join("; ")),
            )
            .await;
        }
    }
    ctx.event_at_revision(
        ks,
        Some(revision),
        EventType::Normal,
        "ReconciliationSucceeded",
        &written.join("\n"),
    )
    .await;
}

/// Whether deleting `ks` deletes what it applied, by Flux's `spec.deletionPolicy`:
/// `MirrorPrune` (the default) follows `prune`, `Delete` and `WaitForTermination` always delete,
/// `Orphan` (or any other value) never does; a suspended Kustomization never deletes.
fn deletes_on_deletion(ks: &Kustomization) -> bool {
    if ks.spec.suspend == Some(true) {
        return false;
    }
    match ks.spec.deletion_policy.as_deref().unwrap_or("MirrorPrune") {
        "MirrorPrune" => ks.spec.prune,
        "Delete" | "WaitForTermination" => true,
        _ => false,
    }
}

/// `spec.deletionPolicy: WaitForTermination`: waits (every 2 s, up to the Kustomization's
/// timeout) until none of `deleted` exists any more (an object there without a deletion
/// timestamp is another one, created since). On timeout, a warning event; the finalizer goes
/// anyway, as Flux does.
async fn wait_for_termination(
    ks: &Kustomization,
    ctx: &Context,
    cluster: &ballast_kube::Cluster,
    deleted: &[ObjectRef],
) {
    let text = ks.spec.timeout.as_deref().unwrap_or(&ks.spec.interval);
    let timeout = schedule::interval(Some(text), Duration::from_secs(600));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut left = Vec::new();
        for r in deleted {
            match cluster.get(r).await {
                Ok(Some(live)) if live.pointer("/metadata/deletionTimestamp").is_some() => left.push(r.to_string()),
                Ok(_) => {}
                Err(e) => left.push(format!("{r} ({e})")),
            }
        }
        if left.is_empty() {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let note = format!(
                "failed to wait for resources termination ({} after {timeout:?}): {}",
                left.len(),
                left.join(", ")
            );
            ctx.event(ks, EventType::Warning, "TerminationTimeout", &note).await;
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Deleting a Kustomization: delete what it applied when its `deletionPolicy` says so (see
/// [`deletes_on_deletion`]), waiting for the objects to be gone with `WaitForTermination`; then
/// let it go.
async fn finalize(ks: &Kustomization, api: &Api<Kustomization>, ctx: &Context) -> Result<Action, ReconcileError> {
    if !ks.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let status = ks.status.clone().unwrap_or_default();
    let inventory = inventory_of(&status);
    let account = crate::tenant::account(ctx, ks.spec.service_account_name.as_deref());
    let cluster = match crate::tenant::cluster(ctx, &ks.namespace().unwrap_or_default(), account).await {
        Ok(cluster) => Some(cluster),
        Err(e) if deletes_on_deletion(ks) && !inventory.is_empty() => {
            // As Flux does when the account is gone: say what stays, and let the object go.
            let left: Vec<String> = inventory.entries.iter().map(|e| e.id.clone()).collect();
            let note = format!("unable to prune objects ({e}):\n{}", left.join("\n"));
            ctx.event(ks, EventType::Warning, "PruneFailed", &note).await;
            None
        }
        Err(_) => None,
    };
    if let Some(cluster) = cluster.filter(|_| deletes_on_deletion(ks) && !inventory.is_empty()) {
        // Deleting the Kustomization asks for all of it to go: no deletion budget; protected
        // objects (CRDs with custom resources, Namespaces holding others' objects) still stay.
        let options = ApplyOptions {
            prune: true,
            owner_labels: owner_labels(ks),
            prune_budget: ballast_apply::PruneBudget::DISABLED,
            own_namespaces: vec![ctx.own_namespace.clone()],
            allow_protected_prune: ks
                .annotations()
                .get(ballast_apply::ALLOW_PROTECTED_ANNOTATION)
                .map(String::as_str)
                == Some("true"),
            ..Default::default()
        };
        match Applier::new(&cluster, options).apply(&[], &inventory).await {
            Ok(changes) => {
                let deleted: Vec<String> = changes.entries.iter().map(|e| e.to_string()).collect();
                ctx.event(ks, EventType::Normal, "Pruned", &deleted.join("\n")).await;
                if ks.spec.deletion_policy.as_deref() == Some("WaitForTermination") {
                    let gone: Vec<_> = changes
                        .entries
                        .iter()
                        .filter(|e| e.change == Change::Deleted)
                        .map(|e| e.object.clone())
                        .collect();
                    wait_for_termination(ks, ctx, &cluster, &gone).await;
                }
                // Protected objects stay in the cluster; with the Kustomization gone, nothing
                // owns them any more: say so loudly.
                let kept = kept_lines(&changes);
                if !kept.is_empty() {
                    let note = format!("left in the cluster, no longer owned: {}", kept.join("\n"));
                    ctx.event(ks, EventType::Warning, "PruneProtected", &note).await;
                }
            }
            Err(e) => {
                ctx.event(ks, EventType::Warning, "PruneFailed", &e.to_string()).await;
                return Err(ReconcileError::Apply(e.to_string()));
            }
        }
    }
    ctx.drift.track(ks, &[], &Default::default());
    let finalizers: Vec<String> = ks.finalizers().iter().filter(|f| *f != FINALIZER).cloned().collect();
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": ks.resource_version()}});
    api.patch(&ks.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(Action::await_change())
}

/// One line per object a prune kept (protected, or held back by the budget), with the reason.
fn kept_lines(changes: &ChangeSet) -> Vec<String> {
    changes
        .entries
        .iter()
        .filter(|e| e.change == Change::Kept)
        .map(|e| e.to_string())
        .collect()
}

/// The inventory recorded in a status.
pub fn inventory_of(status: &KustomizationStatus) -> Inventory {
    let entries = status
        .inventory
        .as_ref()
        .map(|i| {
            i.entries
                .iter()
                .map(|e| InventoryEntry {
                    id: e.id.clone(),
                    v: e.v.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    Inventory { entries }
}

fn to_status_inventory(inventory: &Inventory) -> ResourceInventory {
    ResourceInventory {
        entries: inventory
            .entries
            .iter()
            .map(|e| ResourceRef {
                id: e.id.clone(),
                v: e.v.clone(),
            })
            .collect(),
    }
}
