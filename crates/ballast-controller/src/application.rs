//! The Argo CD `Application` reconciler (`argoproj.io/v1alpha1`), started only when the cluster
//! serves `applications.argoproj.io`.
//!
//! Each reconcile: fetch the source (Git: branch, tag, commit or `HEAD`, through
//! `ballast-source` as `ballast sync` fetches), render it ([`crate::argo_render`]), mark every
//! object with Argo CD's tracking annotation, compare with the live objects (a server-side dry
//! run), then sync ([`crate::argo_sync`]) when an `operation` asks for it, or when
//! `syncPolicy.automated` is on and the Application is `OutOfSync` (drift re-synced only with
//! `selfHeal`; a revision whose automated sync failed is not retried automatically), and write
//! Argo CD's status: `sync`, `health`, `resources`, `operationState`, `history`, `reconciledAt`.
//!
//! Ownership: an object belongs to the Application when its `argocd.argoproj.io/tracking-id`
//! annotation names it (`<app>:<group>/<kind>:<namespace>/<name>`, the format Argo CD writes,
//! so both tools read each other's objects), or, with label tracking chosen in `argocd-cm`, its
//! instance label ([`crate::argo_tracking`]). Only such objects are ever pruned, each delete
//! carrying the UID just read. The `resources-finalizer.argocd.argoproj.io` finalizer deletes
//! them (except `Delete=false`) when the Application is deleted.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ballast_api::argo::{
    AppCondition, Application, ApplicationSource, ApplicationStatus, HealthStatus, Operation, OperationState,
    ResourceStatus, RevisionHistory, SyncOperationResult, SyncStatus, has_option, tracking_id,
};
use ballast_core::ObjectRef;
use ballast_source::{FetchOptions, GitRef, GitSource};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef as KubeRef;
use serde_json::{Value, json};

use crate::argo_sources::LoadError;
use crate::argo_sync::{self, Phase, PruneCandidate, SyncParams, Task};
use crate::argo_tracking::Tracking;
use crate::context::Context;
use crate::drift::DriftWatch;
use crate::error::ReconcileError;

/// The label Ballast adds to every object of an Application (value: the tracking name) so the
/// drift watch selects them; ownership is read by [`Tracking`] only.
pub const APP_LABEL: &str = "ballast.dev/argocd-application";
/// Argo CD's cascade-delete finalizer.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// Argo CD's refresh request annotation (removed once handled).
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";
/// How often an Application is compared with Git without other triggers (Argo CD's default
/// `timeout.reconciliation`).
pub const RECONCILIATION: Duration = Duration::from_secs(120);

/// What reading and comparing an Application needs: the cluster, the Git cache and the
/// controller's limits. Made from a [`Context`], or by a caller without one (the CLI).
#[derive(Clone)]
pub struct AppAccess {
    /// The cluster Ballast runs in (Applications, Secrets, `argocd-cm`).
    pub cluster: ballast_kube::Cluster,
    /// The destination cluster the objects go to (the same cluster unless the destination is a
    /// registered cluster, [`crate::argo_cluster`]).
    pub target: ballast_kube::Cluster,
    /// Git cache directory.
    pub cache_dir: std::path::PathBuf,
    /// Accept `file://` repository URLs.
    pub allow_file_sources: bool,
    /// Largest Git tree accepted, in bytes.
    pub max_artifact_size: u64,
    /// The control plane's namespace (Applications there are tracked by their bare name).
    pub own_namespace: String,
    /// How objects are marked as owned and recognised (`argocd-cm`; read by the reconcile and
    /// by [`diff`] from the Application's control namespace).
    pub tracking: Tracking,
}

impl AppAccess {
    /// The controller's settings.
    pub fn of(ctx: &Context) -> Self {
        AppAccess {
            cluster: ctx.cluster.clone(),
            target: ctx.cluster.clone(),
            cache_dir: ctx.cache_dir.clone(),
            allow_file_sources: ctx.allow_file_sources,
            max_artifact_size: ctx.max_artifact_size,
            own_namespace: ctx.own_namespace.clone(),
            tracking: Tracking::default(),
        }
    }
}

/// One object's difference: live (absent: to create) and desired after a server-side dry run
/// (absent: to prune).
pub type Difference = (ObjectRef, Option<Value>, Option<Value>);

/// What syncing `app` now would change, as the controller compares (render, dry run, ignore
/// differences, prune candidates); hooks left out. `Err` says why it could not be computed.
pub async fn diff(app: &Application, access: &AppAccess) -> Result<(String, Vec<Difference>), String> {
    let app_name = app.instance_name(&control_namespace(app, access));
    if app.spec.source.is_none() && app.spec.sources.is_empty() {
        return Err("spec.source or spec.sources is required".into());
    }
    let mut access = access.clone();
    let control = control_namespace(app, &access);
    access.tracking = Tracking::load(&access.cluster, &control).await?;
    let dest = crate::argo_cluster::resolve(access.cluster.client(), &control, &app.spec.destination).await?;
    if let Some(remote) = dest.remote {
        access.target = remote;
    }
    let access = &access;
    let namespace = app.spec.destination.namespace.clone().unwrap_or_default();
    let loaded = crate::argo_sources::load(app, None, access)
        .await
        .map_err(|e| match e {
            LoadError::Fetch(m) | LoadError::Render(m, _) => m,
        })?;
    let revision = loaded.revision.clone();
    let mut tasks = tasks(loaded.objects, &app_name, &namespace, &revision, 0, access)?;
    let live = compare(app, &mut tasks, access).await;
    let mut out = Vec::new();
    for t in tasks.iter().filter(|t| !t.hook && !t.in_sync) {
        let mut desired = t.object.clone();
        ballast_plan::prepare_for_apply(&mut desired);
        let dry = access.target.apply(&t.r, &desired, true, true).await.ok();
        let clean = |v: Option<Value>| v.map(|v| ballast_plan::normalize_for_compare(&v));
        out.push((
            t.r.clone(),
            clean(live.get(&t.r).cloned()),
            clean(dry.or(Some(desired))),
        ));
    }
    for (c, l) in prune_candidates(app, &app_name, &tasks, access).await {
        out.push((c.r, Some(ballast_plan::normalize_for_compare(&l)), None));
    }
    Ok((revision, out))
}

/// The condition naming fields that are set but that Ballast does not act on yet (the sync
/// still runs; a warning, as Argo CD's `*Warning` condition types).
pub const UNSUPPORTED_WARNING: &str = "UnsupportedFieldWarning";

/// Fields of `app` that are set but not acted on by Ballast (others that cannot be honoured,
/// such as a destination no cluster Secret names, stop the reconcile with `InvalidSpecError`).
pub fn unsupported_fields(app: &Application) -> Vec<String> {
    let mut out = Vec::new();
    for option in app.sync_options() {
        let (name, value) = option.split_once('=').unwrap_or((option.as_str(), ""));
        // Options Ballast acts on, and the others at the value that changes nothing.
        let honoured = matches!(
            name,
            "CreateNamespace"
                | "PruneLast"
                | "ServerSideApply"
                | "ApplyOutOfSyncOnly"
                | "FailOnSharedResource"
                | "RespectIgnoreDifferences"
                | "Replace"
                | "Validate"
                | "SkipDryRunOnMissingResource"
                | "PrunePropagationPolicy"
        ) || (name, value) == ("ClientSideApplyMigration", "false");
        if !honoured {
            out.push(format!("spec.syncPolicy.syncOptions {option}"));
        }
    }
    out.extend(crate::argo_ignore::refused(&app.spec.ignore_differences));
    for (k, v) in &app.spec.extra {
        if !v.is_null() && k != "info" {
            out.push(format!("spec.{k}"));
        }
    }
    if let Some(op) = app.operation.as_ref().and_then(|o| o.sync.as_ref()) {
        if !op.resources.is_empty() {
            out.push("operation.sync.resources".to_string());
        }
        if op.dry_run == Some(true) {
            out.push("operation.sync.dryRun".to_string());
        }
        if op
            .sync_strategy
            .as_ref()
            .and_then(Value::as_object)
            .is_some_and(|m| m.keys().any(|k| k != "apply" && k != "hook"))
        {
            out.push("operation.sync.syncStrategy".to_string());
        }
    }
    out
}

/// The operation's `syncStrategy.apply.force` or `syncStrategy.hook.force` (`argocd app sync
/// --force`).
fn strategy_force(strategy: Option<&Value>) -> bool {
    strategy.is_some_and(|s| s["apply"]["force"] == true || s["hook"]["force"] == true)
}

/// The condition saying why an automated sync waits for a sync window.
pub const SYNC_WINDOW_CONDITION: &str = "SyncWindowBlocked";
/// How often a sync blocked by a sync window is looked at again (a window opening or closing
/// is seen within this).
pub const WINDOW_POLL: Duration = Duration::from_secs(20);

/// How soon an Application whose health is not settled (`Progressing`, `Missing`) is looked at
/// again.
pub const PROGRESS_POLL: Duration = Duration::from_secs(3);

/// The Application controller's parts.
pub struct ArgoParts {
    /// Drift of the Applications' objects.
    pub drift: DriftWatch<Application>,
}

fn control_namespace(app: &Application, ctx: &AppAccess) -> String {
    match app.metadata.namespace.as_deref() {
        Some(ns) if ns == "argocd" || ns == ctx.own_namespace => ns.to_string(),
        _ => "argocd".into(),
    }
}

/// The Git reference of a `targetRevision`: `HEAD` (or empty) the default branch, 40 hex digits a
/// commit, anything else a branch (then a tag, as Argo CD resolves names).
pub fn git_refs(target: Option<&str>) -> Vec<GitRef> {
    match target.map(str::trim).filter(|t| !t.is_empty() && *t != "HEAD") {
        None => vec![GitRef::Default],
        Some(t) if t.len() == 40 && t.chars().all(|c| c.is_ascii_hexdigit()) => vec![GitRef::Commit(t.to_lowercase())],
        Some(t) => match (t.strip_prefix("refs/heads/"), t.strip_prefix("refs/tags/")) {
            (Some(b), _) => vec![GitRef::Branch(b.into())],
            (_, Some(tag)) => vec![GitRef::Tag(tag.into())],
            _ => vec![GitRef::Branch(t.into()), GitRef::Tag(t.into())],
        },
    }
}

/// Fetches one Git source at `revision` (else its `targetRevision`): its tree and commit.
pub(crate) async fn fetch(
    source: &ApplicationSource,
    revision: Option<&str>,
    ctx: &AppAccess,
) -> Result<(std::path::PathBuf, String), ReconcileError> {
    if source.repo_url.starts_with("file://") && !ctx.allow_file_sources {
        return Err(ReconcileError::Invalid(format!(
            "{}: file:// sources are refused; start the controller with --allow-file-sources to accept them",
            ballast_source::redact_url(&source.repo_url)
        )));
    }
    // Argo CD's repository Secrets: credentials and TLS settings (never for file://).
    let creds = if source.repo_url.starts_with("file://") {
        crate::argo_chart::RepoCreds::default()
    } else {
        crate::argo_chart::credentials(ctx.cluster.client(), &ctx.own_namespace, &source.repo_url)
            .await
            .map_err(ReconcileError::Build)?
    };
    // SSH: the key with Argo CD's known host keys (the files live until this fetch ends).
    let mut _ssh_files = None;
    let auth = match (creds.auth, &creds.ssh_private_key) {
        (_, Some(key)) if source.repo_url.starts_with("ssh://") => {
            let (auth, files) = crate::argo_ssh::auth(ctx.cluster.client(), &ctx.own_namespace, key)
                .await
                .map_err(ReconcileError::Build)?;
            _ssh_files = Some(files);
            auth
        }
        (Some(b), _) => ballast_source::Auth::Basic {
            username: b.username,
            password: b.password,
        },
        (None, _) => ballast_source::Auth::None,
    };
    let mut last = None;
    for reference in git_refs(revision.or(source.target_revision.as_deref())) {
        let git = GitSource {
            url: source.repo_url.clone(),
            reference,
            auth: auth.clone(),
            insecure: false,
        };
        let mut options = FetchOptions::new(ctx.cache_dir.clone(), Duration::from_secs(60));
        options.max_artifact_size = ctx.max_artifact_size;
        options.tls = creds.tls.clone();
        match tokio::task::spawn_blocking(move || ballast_source::fetch(&git, &options))
            .await
            .map_err(|e| ReconcileError::Build(e.to_string()))?
        {
            Ok(a) => return Ok((a.root, a.revision.commit.clone())),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .map(ReconcileError::from)
        .unwrap_or_else(|| ReconcileError::Build("no revision".into())))
}

/// The desired objects as tasks: namespace defaulted to the destination's, tracking annotation
/// and drift label added, hooks named and phased, ordered as Argo CD runs them.
fn tasks(
    objects: Vec<Value>,
    app_name: &str,
    namespace: &str,
    revision: &str,
    started: i64,
    ctx: &AppAccess,
) -> Result<Vec<Task>, String> {
    let mut out = Vec::new();
    let label = label_value(app_name);
    for mut o in objects {
        let api_version = o["apiVersion"].as_str().unwrap_or("").to_string();
        let kind = o["kind"].as_str().unwrap_or("").to_string();
        let probe = ObjectRef::new(&api_version, &kind, Some("default"), "x");
        let namespaced = ctx
            .target
            .api_resource(&probe)
            .map(|(_, scope)| scope == ballast_core::Scope::Namespaced)
            .unwrap_or(kind != "CustomResourceDefinition" && kind != "Namespace");
        if namespaced {
            if o["metadata"]["namespace"].as_str().unwrap_or("").is_empty() && !namespace.is_empty() {
                o["metadata"]["namespace"] = json!(namespace);
            }
        } else if let Some(m) = o["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        let phases = argo_sync::hook_phases(&o);
        let hook = phases.is_some();
        let phases = phases.unwrap_or_else(|| vec![Phase::Sync]);
        for phase in phases {
            let mut o = o.clone();
            if o["metadata"]["name"].as_str().unwrap_or("").is_empty() {
                let Some(generate) = o["metadata"]["generateName"].as_str().filter(|g| !g.is_empty()) else {
                    return Err(format!("{kind}: no metadata.name"));
                };
                o["metadata"]["name"] = json!(argo_sync::hook_name(generate, revision, phase, started));
            }
            let name = o["metadata"]["name"].as_str().unwrap_or("").to_string();
            let ns = o["metadata"]["namespace"].as_str().map(str::to_string);
            let r = ObjectRef::new(&api_version, &kind, ns.as_deref(), &name);
            let id = tracking_id(app_name, &r.group, &kind, ns.as_deref().unwrap_or(namespace), &name);
            ctx.tracking.mark(&mut o, app_name, &id)?;
            if !o["metadata"]["labels"].is_object() {
                o["metadata"]["labels"] = json!({});
            }
            o["metadata"]["labels"][APP_LABEL] = json!(label);
            out.push(Task {
                wave: argo_sync::wave(&o),
                delete_policies: argo_sync::delete_policies(&o),
                object: o,
                r,
                phase,
                hook,
                in_sync: false,
            });
        }
    }
    argo_sync::order(&mut out);
    Ok(out)
}

/// A label value for the tracking name (≤ 63 characters; longer names are cut and suffixed by
/// a digest).
fn label_value(name: &str) -> String {
    if name.len() <= 63 && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return name.to_string();
    }
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(name.as_bytes()));
    let keep: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).take(40).collect();
    format!("{keep}-{}", &digest[..16])
}

/// Compares each non-hook task with its live object (server-side dry run), marking `in_sync`;
/// returns the live objects.
async fn compare(app: &Application, tasks: &mut [Task], ctx: &AppAccess) -> HashMap<ObjectRef, Value> {
    let mut live_of = HashMap::new();
    for t in tasks.iter_mut().filter(|t| !t.hook) {
        let Ok(Some(live)) = ctx.target.get(&t.r).await else {
            continue;
        };
        let mut desired = t.object.clone();
        ballast_plan::prepare_for_apply(&mut desired);
        if let Ok(mut dry) = ctx.target.apply(&t.r, &desired, true, true).await {
            let mut l = live.clone();
            crate::argo_ignore::normalize(&app.spec.ignore_differences, &t.r, &mut dry, &mut l);
            t.in_sync = ballast_plan::object_digest(&dry) == ballast_plan::object_digest(&l);
        }
        live_of.insert(t.r.clone(), live);
    }
    live_of
}

/// Objects the last status listed that Git no longer has, live and still tracked by this
/// Application.
async fn prune_candidates(
    app: &Application,
    app_name: &str,
    tasks: &[Task],
    ctx: &AppAccess,
) -> Vec<(PruneCandidate, Value)> {
    let mut out = Vec::new();
    let previous = app.status.as_ref().map(|s| s.resources.clone()).unwrap_or_default();
    for res in previous {
        let api_version = if res.group.is_empty() {
            res.version.clone()
        } else {
            format!("{}/{}", res.group, res.version)
        };
        let r = ObjectRef::new(&api_version, &res.kind, res.namespace.as_deref(), &res.name);
        if tasks
            .iter()
            .any(|t| t.r.group == r.group && t.r.kind == r.kind && t.r.namespace == r.namespace && t.r.name == r.name)
        {
            continue;
        }
        let Ok(Some(live)) = ctx.target.get(&r).await else {
            continue;
        };
        if ctx.tracking.owner(&live).as_deref() != Some(app_name) {
            continue;
        }
        let c = PruneCandidate {
            r,
            uid: live["metadata"]["uid"].as_str().unwrap_or_default().to_string(),
            wave: argo_sync::wave(&live),
            options: argo_sync::object_options(&live),
        };
        out.push((c, live));
    }
    out
}

fn resource_status(r: &ObjectRef, synced: bool, live: Option<&Value>, wave: i64, prune: bool) -> ResourceStatus {
    let health = match live {
        None => Some(HealthStatus {
            status: "Missing".into(),
            ..Default::default()
        }),
        Some(l) => argo_sync::health(l).map(|(s, m)| HealthStatus {
            status: s,
            message: Some(m).filter(|m| !m.is_empty()),
            ..Default::default()
        }),
    };
    ResourceStatus {
        group: r.group.clone(),
        version: r.version.clone(),
        kind: r.kind.clone(),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        status: Some(if synced { "Synced" } else { "OutOfSync" }.into()),
        health,
        hook: None,
        requires_pruning: prune.then_some(true),
        sync_wave: Some(wave),
    }
}

struct Comparison {
    resources: Vec<ResourceStatus>,
    synced: bool,
    health: HealthStatus,
    /// Objects another Application tracks, with its name.
    shared: Vec<(ObjectRef, String)>,
}

async fn assess(
    app: &Application,
    app_name: &str,
    tasks: &mut [Task],
    ctx: &AppAccess,
) -> (Comparison, Vec<PruneCandidate>) {
    let live = compare(app, tasks, ctx).await;
    let candidates = prune_candidates(app, app_name, tasks, ctx).await;
    let mut resources: Vec<ResourceStatus> = tasks
        .iter()
        .filter(|t| !t.hook)
        .map(|t| resource_status(&t.r, t.in_sync, live.get(&t.r), t.wave, false))
        .collect();
    resources.extend(
        candidates
            .iter()
            .map(|(c, l)| resource_status(&c.r, false, Some(l), c.wave, true)),
    );
    let synced = resources.iter().all(|r| r.status.as_deref() == Some("Synced"));
    let mut worst: Option<HealthStatus> = None;
    for r in resources.iter().filter(|r| r.requires_pruning != Some(true)) {
        let Some(h) = &r.health else { continue };
        if h.status == "Missing" {
            continue;
        }
        if worst
            .as_ref()
            .is_none_or(|w| argo_sync::health_rank(&h.status) > argo_sync::health_rank(&w.status))
        {
            worst = Some(h.clone());
        }
    }
    let health = if resources
        .iter()
        .all(|r| r.health.as_ref().is_some_and(|h| h.status == "Missing"))
    {
        // No live resources at all (or none rendered): Missing, as Argo CD.
        HealthStatus {
            status: "Missing".into(),
            ..Default::default()
        }
    } else {
        worst.unwrap_or(HealthStatus {
            status: "Healthy".into(),
            ..Default::default()
        })
    };
    let shared = tasks
        .iter()
        .filter(|t| !t.hook)
        .filter_map(|t| {
            let other = crate::shared_resource::other_owner(live.get(&t.r)?, app_name, &ctx.tracking)?;
            Some((t.r.clone(), other))
        })
        .collect();
    (
        Comparison {
            resources,
            synced,
            health,
            shared,
        },
        candidates.into_iter().map(|(c, _)| c).collect(),
    )
}

fn condition(type_: &str, message: String) -> AppCondition {
    AppCondition {
        type_: type_.into(),
        message,
        last_transition_time: Some(crate::status::now()),
    }
}

/// Writes `status`. With `ran`, the operation is cleared too, but only while it is still the
/// one that was run: a newer operation written meanwhile (another `app sync`) is kept for the
/// next reconcile, never wiped unrun. The check and the clear are one write, preconditioned on
/// the `resourceVersion` read.
async fn write(
    app: &Application,
    ctx: &Context,
    status: &ApplicationStatus,
    ran: Option<&Operation>,
) -> Result<(), ReconcileError> {
    write_with(app, ctx, status, ran, &BTreeMap::new()).await
}

/// [`write`], setting (`Some`) or removing (`None`) `annotations` in the same patch, so that
/// whoever reads the status also reads the annotations it was decided with.
async fn write_with(
    app: &Application,
    ctx: &Context,
    status: &ApplicationStatus,
    ran: Option<&Operation>,
    annotations: &BTreeMap<String, Option<String>>,
) -> Result<(), ReconcileError> {
    let api: Api<Application> = Api::namespaced(
        ctx.client.clone(),
        app.metadata.namespace.as_deref().unwrap_or("default"),
    );
    let name = app.metadata.name.as_deref().unwrap_or_default();
    // A merge patch keeps what it does not name: lists that became empty are sent as null.
    let mut body = serde_json::to_value(status).unwrap_or_else(|_| json!({}));
    for key in ["conditions", "resources", "history", "operationState", "sync", "health"] {
        if body.get(key).is_none() {
            body[key] = Value::Null;
        }
    }
    let mut patch = json!({"status": body});
    let mut notes = serde_json::Map::new();
    if app
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(REFRESH_ANNOTATION))
    {
        notes.insert(REFRESH_ANNOTATION.into(), Value::Null);
    }
    for (key, value) in annotations {
        notes.insert(key.clone(), value.clone().map_or(Value::Null, Value::String));
    }
    if !notes.is_empty() {
        patch["metadata"] = json!({"annotations": notes});
    }
    let Some(ran) = ran else {
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        return Ok(());
    };
    for _ in 0..5 {
        let Some(fresh) = api.get_opt(name).await? else {
            return Ok(());
        };
        let mut p = patch.clone();
        if fresh.operation.as_ref() == Some(ran) {
            p["operation"] = Value::Null;
            if p.get("metadata").is_none() {
                p["metadata"] = json!({});
            }
            p["metadata"]["resourceVersion"] = json!(fresh.metadata.resource_version);
        }
        match api.patch(name, &PatchParams::default(), &Patch::Merge(&p)).await {
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            other => {
                other?;
                return Ok(());
            }
        }
    }
    // Still racing after five tries: write the status, leave the operation to the next reconcile.
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}

/// Ends `op` unrun, in phase `Error` with `message` (as Argo CD ends an operation whose
/// manifests could not be generated), so whoever asked for it stops waiting.
fn end_operation(status: &mut ApplicationStatus, op: &Operation, message: String) {
    let now = crate::status::now();
    status.operation_state = Some(OperationState {
        operation: op.clone(),
        phase: "Error".into(),
        message: Some(message),
        started_at: now.clone(),
        finished_at: Some(now),
        ..Default::default()
    });
}

async fn finalize(
    app: &Application,
    ctx: &Context,
    access: &AppAccess,
    app_name: &str,
) -> Result<Action, ReconcileError> {
    let has = app
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f.starts_with(RESOURCES_FINALIZER));
    if has {
        for res in app.status.as_ref().map(|s| s.resources.clone()).unwrap_or_default() {
            let api_version = if res.group.is_empty() {
                res.version.clone()
            } else {
                format!("{}/{}", res.group, res.version)
            };
            let r = ObjectRef::new(&api_version, &res.kind, res.namespace.as_deref(), &res.name);
            let Ok(Some(live)) = access.target.get(&r).await else {
                continue;
            };
            if access.tracking.owner(&live).as_deref() != Some(app_name)
                || has_option(
                    argo_sync::object_options(&live).iter().map(String::as_str),
                    "Delete",
                    "false",
                )
            {
                continue;
            }
            access.target.delete(&r, live["metadata"]["uid"].as_str()).await?;
        }
        let keep: Vec<String> = app
            .metadata
            .finalizers
            .iter()
            .flatten()
            .filter(|f| !f.starts_with(RESOURCES_FINALIZER))
            .cloned()
            .collect();
        let api: Api<Application> = Api::namespaced(
            ctx.client.clone(),
            app.metadata.namespace.as_deref().unwrap_or("default"),
        );
        let patch = json!({"metadata": {"finalizers": keep, "resourceVersion": app.metadata.resource_version}});
        api.patch(
            app.metadata.name.as_deref().unwrap_or_default(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    }
    Ok(Action::await_change())
}

/// Reconciles one Application.
pub async fn reconcile(app: Arc<Application>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    // The watch cache may lag behind this controller's own last write (an operation already
    // run and cleared, a sync already recorded): decide from the API server's copy.
    let api: Api<Application> = Api::namespaced(
        ctx.client.clone(),
        app.metadata.namespace.as_deref().unwrap_or("default"),
    );
    let Some(app) = api.get_opt(app.metadata.name.as_deref().unwrap_or_default()).await? else {
        return Ok(Action::await_change());
    };
    let app = Arc::new(app);
    let mut access = AppAccess::of(&ctx);
    let app_name = app.instance_name(&control_namespace(&app, &access));
    let control = control_namespace(&app, &access);
    let tracking = Tracking::load(&ctx.cluster, &control).await;
    access.tracking = tracking.clone().unwrap_or_default();
    let dest = crate::argo_cluster::resolve(&ctx.client, &control, &app.spec.destination).await;
    if let Ok(Some(remote)) = dest.as_ref().map(|d| d.remote.clone()) {
        access.target = remote;
    }
    if app.metadata.deletion_timestamp.is_some() {
        // An unreadable or unknown tracking method, or an unreachable destination, deletes
        // nothing.
        return match (&tracking, &dest) {
            (Ok(_), Ok(_)) => finalize(&app, &ctx, &access, &app_name).await,
            (Err(e), _) | (_, Err(e)) => Err(ReconcileError::Invalid(e.clone())),
        };
    }
    let mut status = app.status.clone().unwrap_or_default();
    status.reconciled_at = Some(crate::status::now());
    status.conditions.retain(|c| {
        !matches!(
            c.type_.as_str(),
            "InvalidSpecError"
                | "ComparisonError"
                | "SyncError"
                | "RepeatedResourceWarning"
                | UNSUPPORTED_WARNING
                | SYNC_WINDOW_CONDITION
        ) && c.type_ != crate::shared_resource::CONDITION
            && c.type_ != crate::auto_rollback::CONDITION
    });
    let now = jiff::Timestamp::now();
    // A retry of a failed operation waiting in the status (none while a new operation waits).
    let pending_retry = status
        .operation_state
        .clone()
        .filter(|_| app.operation.is_none())
        .and_then(|s| crate::argo_retry::pending(&s).map(|at| (s, at)));
    let requeue = Action::requeue(crate::schedule::jittered(RECONCILIATION));
    let op = app.operation.clone().filter(|o| o.sync.is_some());
    let invalid = if let Err(e) = &tracking {
        Some(e.clone())
    } else if let Err(e) = &dest {
        Some(format!("application destination spec is invalid: {e}"))
    } else if app.spec.source.is_none() && app.spec.sources.is_empty() {
        Some("spec.source or spec.sources is required".to_string())
    } else {
        None
    };
    if let Some(message) = invalid {
        if let Some(op) = &op {
            end_operation(&mut status, op, format!("the Application is invalid: {message}"));
        }
        status.conditions.push(condition("InvalidSpecError", message));
        write(&app, &ctx, &status, op.as_ref()).await?;
        // Looked at again: a cluster Secret or `argocd-cm` may be fixed without the
        // Application changing.
        return Ok(requeue);
    }
    let dest = dest.map_err(ReconcileError::Invalid)?;
    let cluster_id = (dest.server.as_str(), dest.name.as_str());
    // The AppProject: its source and destination restrictions (Argo CD's InvalidSpecError).
    let project = match crate::app_project::load(&ctx.client, &app, &control_namespace(&app, &access)).await {
        Ok(p) => Ok(p).and_then(|p| {
            let refused = crate::app_project::validate(&app, &p, cluster_id);
            if refused.is_empty() { Ok(p) } else { Err(refused) }
        }),
        Err(m) => Err(vec![m]),
    };
    let project = match project {
        Ok(p) => p,
        Err(messages) => {
            if let Some(op) = &op {
                end_operation(
                    &mut status,
                    op,
                    format!("the Application is invalid: {}", messages.join("; ")),
                );
            }
            for m in messages {
                status.conditions.push(condition("InvalidSpecError", m));
            }
            write(&app, &ctx, &status, op.as_ref()).await?;
            return Ok(requeue);
        }
    };
    let mut unsupported = unsupported_fields(&app);
    unsupported.extend(crate::app_project::unenforced(&project));
    if !unsupported.is_empty() {
        status.conditions.push(condition(
            UNSUPPORTED_WARNING,
            format!(
                "set but not supported by Ballast yet (not acted on): {}",
                unsupported.join(", ")
            ),
        ));
    }
    // What is asked: a new operation, else a retry that is due.
    let requested = op.clone().or_else(|| {
        pending_retry.as_ref().filter(|(_, at)| *at <= now).map(|(s, _)| {
            // `retry.refresh`: the retry syncs the source's latest revision.
            let mut o = s.operation.clone();
            if o.retry.as_ref().and_then(|r| r.refresh) == Some(true)
                && let Some(sync) = o.sync.as_mut()
            {
                sync.revision = None;
            }
            o
        })
    });
    let sync_op = requested.as_ref().and_then(|o| o.sync.clone()).unwrap_or_default();
    let asked = requested.as_ref().and(Some(&sync_op));
    let (sources, _) = crate::argo_sources::sources_of(&app, asked);
    let source = sources.first().cloned().unwrap_or_default();
    let namespace = app.spec.destination.namespace.clone().unwrap_or_default();
    let started = jiff::Timestamp::now();
    let loaded = match crate::argo_sources::load(&app, asked, &access).await {
        Ok(x) => Ok(x),
        Err(LoadError::Render(e, revision)) => Err((e, revision)),
        Err(LoadError::Fetch(e)) => {
            let message = format!("failed to fetch {}: {e}", ballast_source::redact_url(&source.repo_url));
            if let Some(op) = &op {
                end_operation(&mut status, op, message.clone());
            }
            status.conditions.push(condition("ComparisonError", message));
            status.sync = Some(SyncStatus {
                status: "Unknown".into(),
                ..status.sync.clone().unwrap_or_default()
            });
            write(&app, &ctx, &status, op.as_ref()).await?;
            return Ok(requeue);
        }
    };
    let revision = match &loaded {
        Ok(l) => l.revision.clone(),
        Err((_, r)) => r.clone(),
    };
    let rendered = match loaded.map_err(|(e, _)| e).and_then(|mut r| {
        let st = r.source_type;
        tasks(
            std::mem::take(&mut r.objects),
            &app_name,
            &namespace,
            &revision,
            started.as_second(),
            &access,
        )
        .map(|t| (t, st, r))
    }) {
        Ok(x) => x,
        Err(e) => {
            status.conditions.push(condition(
                "ComparisonError",
                format!("rendering {}: {e}", source.path.as_deref().unwrap_or(".")),
            ));
            if let Some(op) = &op {
                end_operation(&mut status, op, format!("rendering failed: {e}"));
            }
            status.sync = Some(SyncStatus {
                status: "Unknown".into(),
                revision: Some(revision),
                ..Default::default()
            });
            write(&app, &ctx, &status, op.as_ref()).await?;
            return Ok(requeue);
        }
    };
    let (mut tasks, source_type, loaded) = rendered;
    status.source_type = Some(source_type.into());
    if !loaded.repeated.is_empty() {
        status.conditions.push(condition(
            "RepeatedResourceWarning",
            format!(
                "objects produced by more than one source (the last source wins): {}",
                loaded.repeated.join(", ")
            ),
        ));
    }
    let (cmp, candidates) = assess(&app, &app_name, &mut tasks, &access).await;
    let compared_to = if loaded.multi {
        json!({"sources": loaded.sources, "destination": app.spec.destination})
    } else {
        json!({"source": source, "destination": app.spec.destination})
    };
    // Multi-source: Argo CD records `revisions`/`sources` and leaves `revision`/`source` empty.
    let (one_source, one_revision) = if loaded.multi {
        (None, String::new())
    } else {
        (Some(source.clone()), revision.clone())
    };

    // Decide: an operation, or automated sync of an OutOfSync Application.
    let automated = app.automated().cloned();
    let last = status.operation_state.clone();
    let same_revision_last = last
        .as_ref()
        .and_then(|s| s.sync_result.as_ref())
        .map(|r| r.revision.as_str())
        == Some(revision.as_str());
    let held = requested.is_none() && crate::auto_rollback::held(&app).is_some_and(|h| h == revision);
    if held {
        status.conditions.push(condition(
            crate::auto_rollback::CONDITION,
            format!(
                "rolled back on Degraded: {revision} is held out of automated sync; a newer revision lifts the hold"
            ),
        ));
    }
    let (mut run, prune, initiated) = if let Some(op) = &requested {
        (
            true,
            sync_op.prune == Some(true),
            op.initiated_by
                .clone()
                .unwrap_or_else(|| json!({"username": "ballast"})),
        )
    } else if pending_retry.is_some() {
        // A retry waits for its back-off.
        (false, false, Value::Null)
    } else if held && automated.is_some() {
        (false, false, Value::Null)
    } else if let Some(a) = &automated {
        let last_failed =
            same_revision_last && last.as_ref().is_some_and(|s| s.phase == "Failed" || s.phase == "Error");
        let drift_only = same_revision_last && last.as_ref().is_some_and(|s| s.phase == "Succeeded");
        let all_prune = !cmp.resources.is_empty() && cmp.resources.iter().all(|r| r.requires_pruning == Some(true));
        if cmp.synced || last_failed || (drift_only && a.self_heal != Some(true)) {
            (false, false, Value::Null)
        } else if a.prune == Some(true) && all_prune && a.allow_empty != Some(true) {
            status
                .conditions
                .push(condition("SyncError", "auto-sync will wipe out all resources".into()));
            (false, false, Value::Null)
        } else {
            (true, a.prune == Some(true), json!({"automated": true}))
        }
    } else {
        (false, false, Value::Null)
    };

    // Sync windows: a blocked automated sync waits (condition), a blocked manual one stays
    // requested and Running, as Argo CD keeps it.
    let mut clear = op.clone();
    let mut requeue = requeue;
    if run {
        let manual = initiated.get("automated") != Some(&Value::Bool(true));
        let verdict = crate::sync_window::blocked(&project.spec.sync_windows, &app, manual, now);
        if let Some(why) = verdict.unwrap_or_else(Some) {
            run = false;
            requeue = Action::requeue(WINDOW_POLL);
            if let Some(op) = &op {
                clear = None;
                status.operation_state = Some(OperationState {
                    operation: op.clone(),
                    phase: "Running".into(),
                    message: Some(format!("Sync operation blocked by sync window: {why}")),
                    started_at: crate::status::now(),
                    ..Default::default()
                });
            } else {
                status.conditions.push(condition(
                    SYNC_WINDOW_CONDITION,
                    format!("automated sync blocked: {why}"),
                ));
            }
        }
    }
    if let Some((_, at)) = pending_retry.as_ref().filter(|_| !run) {
        let wait = now.duration_until(*at);
        requeue = Action::requeue(Duration::try_from(wait).unwrap_or_default() + Duration::from_secs(1));
    }
    let qualified = crate::shared_resource::qualified_name(&app, &control_namespace(&app, &access));
    let shared: Vec<(ObjectRef, String)> = cmp
        .shared
        .iter()
        .map(|(r, other)| (r.clone(), crate::shared_resource::message(r, &qualified, other)))
        .collect();
    for (_, m) in &shared {
        status
            .conditions
            .push(condition(crate::shared_resource::CONDITION, m.clone()));
    }
    if run {
        let retry_count = pending_retry
            .as_ref()
            .filter(|_| op.is_none())
            .and_then(|(s, _)| s.retry_count);
        let operation = Operation {
            sync: Some(ballast_api::argo::SyncOperation {
                revision: (!loaded.multi).then(|| revision.clone()),
                revisions: loaded.revisions.clone(),
                prune: Some(prune),
                sync_options: sync_op.sync_options.clone(),
                source: sync_op.source.clone(),
                ..Default::default()
            }),
            initiated_by: Some(initiated.clone()),
            retry: requested
                .as_ref()
                .and_then(|o| o.retry.clone())
                .or_else(|| app.spec.sync_policy.as_ref().and_then(|p| p.retry.clone()))
                .or_else(|| requested.is_none().then(crate::argo_retry::automated_default)),
            ..Default::default()
        };
        let started_at = crate::status::now();
        status.operation_state = Some(OperationState {
            operation: operation.clone(),
            phase: "Running".into(),
            message: Some("sync running".into()),
            started_at: started_at.clone(),
            retry_count,
            ..Default::default()
        });
        write(&app, &ctx, &status, None).await?;
        let mut options: Vec<String> = app.sync_options().to_vec();
        options.extend(sync_op.sync_options.iter().cloned());
        let params = SyncParams {
            prune,
            force: strategy_force(sync_op.sync_strategy.as_ref()),
            options: &options,
            namespace: &namespace,
            namespace_metadata: app
                .spec
                .sync_policy
                .as_ref()
                .and_then(|p| p.managed_namespace_metadata.as_ref()),
        };
        let respected =
            crate::argo_ignore::respected(&app.spec.ignore_differences, &options, &tasks, &access.target).await;
        let to_sync = respected.as_deref().unwrap_or(&tasks);
        let gate = crate::sync_gate::check(&project, cluster_id, to_sync, &shared, &options);
        let outcome = match crate::sync_gate::refused(&gate) {
            Some(refused) => refused,
            None => {
                let allowed: Vec<Task> = to_sync.iter().filter(|t| !gate.skip.contains(&t.r)).cloned().collect();
                let mut outcome = argo_sync::sync(&access.target, &allowed, &candidates, &params).await;
                crate::sync_gate::finish(gate, &mut outcome);
                outcome
            }
        };
        let finished = crate::status::now();
        let mut state = OperationState {
            operation,
            phase: if outcome.ok { "Succeeded" } else { "Failed" }.into(),
            message: Some(outcome.message.clone()),
            sync_result: Some(SyncOperationResult {
                revision: one_revision.clone(),
                source: one_source.clone(),
                revisions: loaded.revisions.clone(),
                sources: if loaded.multi {
                    loaded.sources.clone()
                } else {
                    Vec::new()
                },
                resources: outcome.results.clone(),
            }),
            started_at: started_at.clone(),
            finished_at: Some(finished.clone()),
            retry_count,
        };
        if !outcome.ok
            && crate::argo_retry::schedule(&mut state, jiff::Timestamp::now())
            && let Some(at) = crate::argo_retry::pending(&state)
        {
            let wait = jiff::Timestamp::now().duration_until(at);
            requeue = Action::requeue(Duration::try_from(wait).unwrap_or_default() + Duration::from_secs(1));
        }
        status.operation_state = Some(state);
        if outcome.ok {
            let id = status.history.iter().map(|h| h.id).max().unwrap_or(-1) + 1;
            status.history.push(RevisionHistory {
                id,
                revision: one_revision.clone(),
                revisions: loaded.revisions.clone(),
                sources: if loaded.multi {
                    loaded.sources.clone()
                } else {
                    Vec::new()
                },
                deployed_at: finished,
                deploy_started_at: Some(started_at),
                source: one_source.clone(),
                initiated_by: Some(initiated),
            });
            let limit = app.spec.revision_history_limit.unwrap_or(10).max(1) as usize;
            if status.history.len() > limit {
                let cut = status.history.len() - limit;
                status.history.drain(..cut);
            }
        } else {
            status.conditions.push(condition("SyncError", outcome.message.clone()));
        }
        ctx.event(
            &*app,
            if outcome.ok {
                kube::runtime::events::EventType::Normal
            } else {
                kube::runtime::events::EventType::Warning
            },
            if outcome.ok {
                "OperationCompleted"
            } else {
                "OperationFailed"
            },
            &format!("sync to {revision}: {}", outcome.message),
        )
        .await;
    }
    // Status after the sync (or the comparison alone).
    let cmp = if run {
        let mut fresh = tasks.clone();
        let mut after = app.as_ref().clone();
        if let Some(s) = after.status.as_mut() {
            s.resources = cmp.resources.clone();
        }
        assess(&after, &app_name, &mut fresh, &access).await.0
    } else {
        cmp
    };
    status.sync = Some(SyncStatus {
        status: if cmp.synced { "Synced" } else { "OutOfSync" }.into(),
        revision: (!loaded.multi).then(|| revision.clone()),
        revisions: loaded.revisions.clone(),
        compared_to: Some(compared_to),
    });
    // Argo CD follows its objects' status through its cache; Ballast looks again soon while
    // the Application is not settled (status changes alone trigger nothing).
    let settled = matches!(cmp.health.status.as_str(), "Healthy" | "Degraded" | "Suspended");
    let mut requeue = if settled {
        requeue
    } else {
        Action::requeue(crate::schedule::jittered(PROGRESS_POLL))
    };
    let mut health = cmp.health;
    let previous = status.health.as_ref();
    health.last_transition_time = match previous {
        Some(p) if p.status == health.status => p.last_transition_time.clone(),
        _ => Some(crate::status::now()),
    };
    status.health = Some(health);
    status.resources = cmp.resources;
    // Rollback on Degraded (`ballast.dev/rollback-on-degraded`).
    let target = requested.is_none().then_some(revision.as_str());
    let decision = crate::auto_rollback::decide(&app, &status, target, jiff::Timestamp::now());
    if let Some((_, message)) = &decision.rollback {
        status
            .conditions
            .push(condition(crate::auto_rollback::CONDITION, message.clone()));
        ctx.event(
            &*app,
            kube::runtime::events::EventType::Warning,
            "RolledBackOnDegraded",
            message,
        )
        .await;
    }
    if let Some(recheck) = decision.recheck {
        requeue = Action::requeue(recheck.min(RECONCILIATION));
    }
    // The annotations decided (the healthy revision remembered, a hold set or lifted) go with
    // the status they were decided from; a rollback's operation follows.
    write_with(&app, &ctx, &status, clear.as_ref(), &decision.annotations).await?;
    if let Some(patch) = crate::auto_rollback::operation(&decision) {
        let api: Api<Application> = Api::namespaced(
            ctx.client.clone(),
            app.metadata.namespace.as_deref().unwrap_or("default"),
        );
        api.patch(
            app.metadata.name.as_deref().unwrap_or_default(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    }
    // Drift: watch what the Application owns, expecting what is live now (the watch runs on
    // the local cluster: a registered cluster's drift is seen by the periodic comparison).
    if let Some(parts) = ctx.argo.get().filter(|_| dest.remote.is_none()) {
        let mut refs = Vec::new();
        let mut digests = HashMap::new();
        for t in tasks.iter().filter(|t| !t.hook) {
            if let Ok(Some(live)) = ctx.cluster.get(&t.r).await {
                digests.insert(t.r.clone(), ballast_plan::object_digest(&live));
            }
            refs.push(t.r.clone());
        }
        parts.drift.track(&app, &refs, &digests);
    }
    Ok(requeue)
}

/// What of an Application asks for a reconcile: `spec`, `operation`, annotations, finalizers
/// and deletion (its status has no subresource, so `generation` moves with every status write
/// and cannot be used).
pub fn asks_for_reconcile(app: &Application) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&app.spec).unwrap_or_default().hash(&mut h);
    serde_json::to_string(&app.operation).unwrap_or_default().hash(&mut h);
    app.metadata
        .annotations
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect::<BTreeMap<_, _>>()
        .hash(&mut h);
    app.metadata.finalizers.hash(&mut h);
    app.metadata.deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

/// A reference for the drift trigger.
pub fn key(app: &Application) -> KubeRef<Application> {
    KubeRef::from_obj(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_revision_as_argo_cd_resolves_it() {
        assert!(matches!(git_refs(None)[0], GitRef::Default));
        assert!(matches!(git_refs(Some("HEAD"))[0], GitRef::Default));
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert!(matches!(&git_refs(Some(sha))[0], GitRef::Commit(c) if c == sha));
        let named = git_refs(Some("v1.2.0"));
        assert!(matches!(&named[0], GitRef::Branch(b) if b == "v1.2.0"));
        assert!(matches!(&named[1], GitRef::Tag(t) if t == "v1.2.0"));
    }

    #[test]
    fn unsupported_fields_are_named() {
        let app: Application = serde_json::from_value(json!({
            "metadata": {"name": "a"},
            "spec": {"project": "default", "destination": {"name": "in-cluster"},
                     "syncPolicy": {"retry": {"limit": 2},
                                    "syncOptions": ["CreateNamespace=true", "Replace=true", "Validate=false",
                                                    "PrunePropagationPolicy=orphan", "ClientSideApplyMigration=true"]},
                     "ignoreDifferences": [{"kind": "Deployment", "jqPathExpressions": [".spec", ".spec | length"]}],
                     "info": [{"name": "x", "value": "y"}], "somethingNew": true},
            "operation": {"sync": {"dryRun": true, "syncStrategy": {"apply": {"force": true}}}}
        }))
        .unwrap();
        assert_eq!(
            unsupported_fields(&app),
            [
                "spec.syncPolicy.syncOptions ClientSideApplyMigration=true",
                "spec.ignoreDifferences[0].jqPathExpressions[1] \".spec | length\": unsupported jq at \"length\"",
                "spec.somethingNew",
                "operation.sync.dryRun"
            ]
        );
    }

    #[test]
    fn label_value_is_a_valid_label() {
        assert_eq!(label_value("guestbook"), "guestbook");
        let long = label_value(&"x".repeat(100));
        assert!(long.len() <= 63);
        assert_eq!(label_value("team_gb"), "team_gb");
    }
}
