//! Argo CD's sync, as its gitops engine runs it: tasks ordered by phase (`PreSync`, `Sync`,
//! `PostSync`), wave (`argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight`), kind (Helm's
//! install order) and name; each wave applied (server-side) and, when another follows or it holds
//! hooks, waited on until healthy (hooks: completed); a failure stops the sync and runs the
//! `SyncFail` hooks; prune in reverse wave order (after the `Sync` phase, or last with
//! `PruneLast=true`); hooks named from `generateName` as Argo CD names them and deleted by their
//! `hook-delete-policy` (default `BeforeHookCreation`).
//!
//! Guarantees: everything is dry-run before the first write (a dry-run failure writes nothing);
//! every delete carries the UID read just before; waits are bounded ([`WAVE_TIMEOUT`]).

use std::time::Duration;

use ballast_api::argo::{ResourceResult, has_option};
use ballast_core::ObjectRef;
use ballast_kube::Cluster;

use crate::argo_apply::{self, Mode, delete_and_wait};
use serde_json::{Value, json};

/// Longest wait for a wave (or a hook) to become healthy (or complete).
pub const WAVE_TIMEOUT: Duration = Duration::from_secs(600);

/// A sync phase, in execution order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Before the objects.
    PreSync,
    /// The objects (and `Sync` hooks).
    Sync,
    /// After every object is healthy.
    PostSync,
    /// Only when the sync failed.
    SyncFail,
}

impl Phase {
    /// Argo CD's name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::PreSync => "PreSync",
            Phase::Sync => "Sync",
            Phase::PostSync => "PostSync",
            Phase::SyncFail => "SyncFail",
        }
    }
}

/// One object to apply in one phase.
#[derive(Clone, Debug)]
pub struct Task {
    /// The object, as it will be applied.
    pub object: Value,
    /// Its reference.
    pub r: ObjectRef,
    /// Phase.
    pub phase: Phase,
    /// Wave.
    pub wave: i64,
    /// A hook (run, awaited, deleted by policy), not a resource of the Application.
    pub hook: bool,
    /// Delete policies (`HookSucceeded`, `HookFailed`, `BeforeHookCreation`).
    pub delete_policies: Vec<String>,
    /// Live and equal to the desired state (set by the comparison).
    pub in_sync: bool,
}

fn annotation<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o["metadata"]["annotations"][key].as_str()
}

fn csv(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The phases an object runs in: `None` for a plain resource (phase `Sync`), `Some(vec![])`
/// for an object never applied (`Skip`, or Helm hook types Argo CD ignores).
pub fn hook_phases(o: &Value) -> Option<Vec<Phase>> {
    if let Some(h) = annotation(o, "argocd.argoproj.io/hook") {
        let mut out = Vec::new();
        for t in csv(h) {
            match t.as_str() {
                "PreSync" => out.push(Phase::PreSync),
                "Sync" => out.push(Phase::Sync),
                "PostSync" => out.push(Phase::PostSync),
                "SyncFail" => out.push(Phase::SyncFail),
                _ => {} // Skip, PreDelete, PostDelete: not part of a sync
            }
        }
        return Some(out);
    }
    let h = annotation(o, "helm.sh/hook")?;
    let types = csv(h);
    if types.iter().all(|t| t == "crd-install") {
        return None;
    }
    let mut out = Vec::new();
    for t in types {
        let p = match t.as_str() {
            "pre-install" | "pre-upgrade" => Phase::PreSync,
            "post-install" | "post-upgrade" => Phase::PostSync,
            _ => continue,
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Some(out)
}

/// The wave: `argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight` (for any object), else 0;
/// unparsable counts as 0.
pub fn wave(o: &Value) -> i64 {
    annotation(o, "argocd.argoproj.io/sync-wave")
        .or_else(|| annotation(o, "helm.sh/hook-weight"))
        .and_then(|w| w.trim().parse().ok())
        .unwrap_or(0)
}

/// Delete policies (Argo CD's, else Helm's mapped); default `BeforeHookCreation`.
pub fn delete_policies(o: &Value) -> Vec<String> {
    if let Some(p) = annotation(o, "argocd.argoproj.io/hook-delete-policy") {
        return csv(p);
    }
    if let Some(p) = annotation(o, "helm.sh/hook-delete-policy") {
        return csv(p)
            .iter()
            .filter_map(|p| match p.as_str() {
                "hook-succeeded" => Some("HookSucceeded".to_string()),
                "hook-failed" => Some("HookFailed".to_string()),
                "before-hook-creation" => Some("BeforeHookCreation".to_string()),
                _ => None,
            })
            .collect();
    }
    vec!["BeforeHookCreation".into()]
}

/// Per-object `argocd.argoproj.io/sync-options`.
pub fn object_options(o: &Value) -> Vec<String> {
    annotation(o, "argocd.argoproj.io/sync-options")
        .map(csv)
        .unwrap_or_default()
}

/// The apply order of kinds within a wave as Argo CD's sync engine (gitops-engine) ranks them,
/// itself derived from Helm's install order; unknown kinds last.
const KIND_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

fn kind_rank(kind: &str) -> usize {
    KIND_ORDER.iter().position(|k| *k == kind).unwrap_or(KIND_ORDER.len())
}

/// Sorts tasks as Argo CD runs them: phase, wave, kind, name.
pub fn order(tasks: &mut [Task]) {
    tasks.sort_by(|a, b| {
        (a.phase, a.wave, kind_rank(&a.r.kind), &a.r.name).cmp(&(b.phase, b.wave, kind_rank(&b.r.kind), &b.r.name))
    });
}

/// Argo CD's name for a hook that has only `generateName`:
/// `generateName + lower("<rev[0:7]>-<phase>-<unix start>")`.
pub fn hook_name(generate_name: &str, revision: &str, phase: Phase, started_unix: i64) -> String {
    let short: String = revision.chars().take(7).collect();
    format!(
        "{generate_name}{}",
        format!("{short}-{}-{started_unix}", phase.name()).to_lowercase()
    )
}

/// Argo CD's health of a live object: `Some((status, message))` for kinds that have one
/// (built-ins, custom resources with conditions), `None` for the rest.
pub fn health(o: &Value) -> Option<(String, String)> {
    let kind = o["kind"].as_str().unwrap_or("");
    let group = o["apiVersion"]
        .as_str()
        .unwrap_or("")
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or("");
    if kind == "Application" && group == "argoproj.io" {
        let sync = o["status"]["sync"]["status"].as_str().unwrap_or("");
        let h = o["status"]["health"]["status"].as_str().unwrap_or("");
        let fresh = o["status"]["sync"]["comparedTo"]["source"] == o["spec"]["source"]
            && o["status"]["sync"]["comparedTo"]["sources"] == o["spec"]["sources"];
        return Some(if sync == "Synced" && h == "Healthy" && fresh {
            ("Healthy".into(), String::new())
        } else if h == "Degraded" {
            ("Degraded".into(), "child application degraded".into())
        } else {
            ("Progressing".into(), format!("child application {sync} {h}"))
        });
    }
    if (group, kind) == ("argoproj.io", "Rollout") {
        return Some(crate::argo_rollout::health(o));
    }
    let builtin = matches!(
        (group, kind),
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet" | "DaemonSet")
            | (
                "",
                "Service" | "Pod" | "PersistentVolumeClaim" | "ReplicationController"
            )
            | ("batch", "Job")
            | ("networking.k8s.io" | "extensions", "Ingress")
            | ("autoscaling", "HorizontalPodAutoscaler")
            | ("apiregistration.k8s.io", "APIService")
    );
    let has_conditions = o["status"]["conditions"].as_array().is_some_and(|c| !c.is_empty());
    if !builtin && (!has_conditions || group.is_empty() || group.ends_with(".k8s.io")) {
        return None;
    }
    if (kind == "Deployment" && o["spec"]["paused"] == true) || (kind == "Job" && o["spec"]["suspend"] == true) {
        return Some(("Suspended".into(), format!("{kind} is paused")));
    }
    if kind == "Pod" && o["status"]["phase"] == "Succeeded" {
        return Some(("Healthy".into(), "pod completed".into()));
    }
    Some(match ballast_health::health(o) {
        ballast_core::HealthStatus::Current => ("Healthy".into(), String::new()),
        ballast_core::HealthStatus::InProgress(m) => ("Progressing".into(), m),
        ballast_core::HealthStatus::Failed(m) => ("Degraded".into(), m),
        ballast_core::HealthStatus::NotFound => ("Missing".into(), String::new()),
    })
}

/// Health codes, best first (Argo CD's order).
pub fn health_rank(s: &str) -> usize {
    ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]
        .iter()
        .position(|h| *h == s)
        .unwrap_or(5)
}

/// A hook's state: `Some(true)` succeeded, `Some(false)` failed, `None` still running.
fn hook_done(o: &Value) -> Option<bool> {
    match o["kind"].as_str().unwrap_or("") {
        "Job" => {
            let conds = o["status"]["conditions"].as_array().cloned().unwrap_or_default();
            let is = |t: &str| conds.iter().any(|c| c["type"] == t && c["status"] == "True");
            if is("Complete") {
                Some(true)
            } else if is("Failed") {
                Some(false)
            } else {
                None
            }
        }
        "Pod" => match o["status"]["phase"].as_str() {
            Some("Succeeded") => Some(true),
            Some("Failed") => Some(false),
            _ => None,
        },
        _ => match health(o) {
            None => Some(true),
            Some((s, _)) if s == "Healthy" => Some(true),
            Some((s, _)) if s == "Degraded" => Some(false),
            _ => None,
        },
    }
}

/// The outcome of a sync.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Per-object results.
    pub results: Vec<ResourceResult>,
    /// Whether every task succeeded.
    pub ok: bool,
    /// What happened.
    pub message: String,
    /// Digests of what was applied (for the drift watch).
    pub applied: Vec<(ObjectRef, Value)>,
}

/// An object Git no longer has: its reference, live UID, wave and sync options.
#[derive(Clone, Debug)]
pub struct PruneCandidate {
    /// Reference.
    pub r: ObjectRef,
    /// Live UID.
    pub uid: String,
    /// Wave.
    pub wave: i64,
    /// Per-object sync options.
    pub options: Vec<String>,
}

/// What the sync may do.
pub struct SyncParams<'a> {
    /// Delete what Git no longer has.
    pub prune: bool,
    /// App-level and operation sync options.
    pub options: &'a [String],
    /// The destination namespace.
    pub namespace: &'a str,
    /// Labels and annotations for a namespace made by `CreateNamespace=true`.
    pub namespace_metadata: Option<&'a Value>,
    /// The operation's `syncStrategy` force (`Force=true` for every object).
    pub force: bool,
}

fn result(t: &ObjectRef, status: &str, message: impl Into<String>, task: Option<&Task>) -> ResourceResult {
    ResourceResult {
        group: t.group.clone(),
        version: t.version.clone(),
        kind: t.kind.clone(),
        namespace: t.namespace.clone().unwrap_or_default(),
        name: t.name.clone(),
        status: status.into(),
        message: Some(message.into()).filter(|m: &String| !m.is_empty()),
        hook_type: task.filter(|t| t.hook).map(|t| t.phase.name().to_string()),
        hook_phase: None,
        sync_phase: task.map(|t| t.phase.name().to_string()),
    }
}

/// Waits until every task of a wave is healthy (hooks: completed). `Err` names the first that
/// failed or did not make it in time.
async fn wait_wave(cluster: &Cluster, tasks: &[&Task]) -> Result<(), (ObjectRef, String)> {
    let deadline = tokio::time::Instant::now() + WAVE_TIMEOUT;
    loop {
        let mut pending = None;
        for t in tasks {
            let live = cluster.get(&t.r).await.map_err(|e| (t.r.clone(), e.to_string()))?;
            let Some(live) = live else {
                if t.hook {
                    // A hook deleted by someone else counts as failed.
                    return Err((t.r.clone(), "hook deleted before it completed".into()));
                }
                pending = Some((t.r.clone(), "missing".to_string()));
                continue;
            };
            if t.hook {
                match hook_done(&live) {
                    Some(true) => {}
                    Some(false) => return Err((t.r.clone(), "hook failed".into())),
                    None => pending = Some((t.r.clone(), "hook running".into())),
                }
            } else if let Some((s, m)) = health(&live) {
                match s.as_str() {
                    "Healthy" | "Suspended" => {}
                    "Degraded" => return Err((t.r.clone(), format!("degraded: {m}"))),
                    _ => pending = Some((t.r.clone(), m)),
                }
            }
        }
        let Some(p) = pending else { return Ok(()) };
        if tokio::time::Instant::now() >= deadline {
            return Err((p.0, format!("not healthy after {WAVE_TIMEOUT:?}: {}", p.1)));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Writes a task's object as its sync options say ([`argo_apply`]).
async fn apply(cluster: &Cluster, t: &Task, how: &How<'_>, dry_run: bool) -> Result<(Value, &'static str), String> {
    let mut o = t.object.clone();
    ballast_plan::prepare_for_apply(&mut o);
    let mode = Mode::of(how.options, how.force, &t.object);
    argo_apply::write(cluster, &t.r, &o, mode, dry_run).await
}

/// The Application-wide settings of how objects are written.
#[derive(Clone, Copy)]
struct How<'a> {
    options: &'a [String],
    force: bool,
}

/// Dry-runs every task; the first failure is returned (nothing written).
pub async fn dry_run(cluster: &Cluster, tasks: &[Task], options: &[String], force: bool) -> Result<(), String> {
    let how = How { options, force };
    let skip_missing = has_option(
        options.iter().map(String::as_str),
        "SkipDryRunOnMissingResource",
        "true",
    );
    for t in tasks {
        if !cluster.serves(&t.r) {
            if skip_missing
                || has_option(
                    object_options(&t.object).iter().map(String::as_str),
                    "SkipDryRunOnMissingResource",
                    "true",
                )
            {
                continue;
            }
            return Err(format!(
                "{}: the server does not serve {}/{}",
                t.r,
                t.r.api_version(),
                t.r.kind
            ));
        }
        if let Some(ns) = &t.r.namespace {
            let nsr = ObjectRef::new("v1", "Namespace", None, ns);
            if cluster.get(&nsr).await.map_err(|e| e.to_string())?.is_none() {
                // Its namespace is made by this sync (an earlier task): checked when applied.
                continue;
            }
        }
        apply(cluster, t, &how, true).await?;
    }
    Ok(())
}

async fn run_group(cluster: &Cluster, group: &[&Task], how: &How<'_>, wait: bool, out: &mut Outcome) -> bool {
    for t in group {
        if t.hook
            && t.delete_policies.iter().any(|p| p == "BeforeHookCreation")
            && let Err(e) = delete_and_wait(cluster, &t.r).await
        {
            out.results.push(result(&t.r, "SyncFailed", e.clone(), Some(t)));
            out.message = e;
            return false;
        }
        if !t.hook && t.in_sync {
            out.results.push(result(&t.r, "Synced", "unchanged", Some(t)));
            continue;
        }
        match apply(cluster, t, how, false).await {
            Ok((live, done)) => {
                let what = if t.hook { "hook created" } else { done };
                out.results.push(result(&t.r, "Synced", what, Some(t)));
                if !t.hook {
                    out.applied.push((t.r.clone(), live));
                }
            }
            Err(e) => {
                out.results.push(result(&t.r, "SyncFailed", e.clone(), Some(t)));
                out.message = e;
                return false;
            }
        }
    }
    let has_hooks = group.iter().any(|t| t.hook);
    if !wait && !has_hooks {
        return true;
    }
    let waited = if wait {
        group.to_vec()
    } else {
        group.iter().copied().filter(|t| t.hook).collect()
    };
    let outcome = wait_wave(cluster, &waited).await;
    // Hook results and delete policies.
    for t in group.iter().filter(|t| t.hook) {
        let failed = matches!(&outcome, Err((r, _)) if *r == t.r);
        if let Some(res) = out
            .results
            .iter_mut()
            .rev()
            .find(|r| r.name == t.r.name && r.kind == t.r.kind && r.hook_type.is_some())
        {
            res.hook_phase = Some(
                if failed {
                    "Failed"
                } else if outcome.is_ok() {
                    "Succeeded"
                } else {
                    "Running"
                }
                .into(),
            );
            if failed {
                res.status = "SyncFailed".into();
            }
        }
        let policy = if failed { "HookFailed" } else { "HookSucceeded" };
        if (failed || outcome.is_ok()) && t.delete_policies.iter().any(|p| p == policy) {
            let _ = delete_and_wait(cluster, &t.r).await;
        }
    }
    match outcome {
        Ok(()) => true,
        Err((r, m)) => {
            out.message = format!("{r}: {m}");
            false
        }
    }
}

/// `PrunePropagationPolicy=foreground|background|orphan` (the last one set); background when
/// absent (Argo CD defaults to foreground: Ballast does not wait for dependents unless asked).
pub fn prune_propagation(options: &[String]) -> kube::api::PropagationPolicy {
    use kube::api::PropagationPolicy as P;
    let value = options
        .iter()
        .rev()
        .find_map(|o| o.split_once('=').filter(|(n, _)| n.trim() == "PrunePropagationPolicy"))
        .map(|(_, v)| v.trim().to_ascii_lowercase());
    match value.as_deref() {
        Some("foreground") => P::Foreground,
        Some("orphan") => P::Orphan,
        _ => P::Background,
    }
}

async fn prune(cluster: &Cluster, candidates: &[PruneCandidate], params: &SyncParams<'_>, out: &mut Outcome) -> bool {
    let enabled = params.prune;
    let propagation = prune_propagation(params.options);
    let mut list = candidates.to_vec();
    // Reverse wave order, and the reverse of the apply order within a wave.
    list.sort_by(|a, b| (b.wave, kind_rank(&b.r.kind), &b.r.name).cmp(&(a.wave, kind_rank(&a.r.kind), &a.r.name)));
    for c in list {
        if !enabled {
            out.results
                .push(result(&c.r, "PruneSkipped", "ignored (requires pruning)", None));
            continue;
        }
        if has_option(c.options.iter().map(String::as_str), "Prune", "false") {
            out.results
                .push(result(&c.r, "PruneSkipped", "ignored (no prune)", None));
            continue;
        }
        match cluster.delete_propagated(&c.r, Some(&c.uid), propagation.clone()).await {
            Ok(_) => out.results.push(result(&c.r, "Pruned", "pruned", None)),
            Err(e) => {
                out.results.push(result(&c.r, "SyncFailed", e.to_string(), None));
                out.message = e.to_string();
                return false;
            }
        }
    }
    true
}

/// Runs a sync: `tasks` (hooks included, ordered by [`order`]) and `candidates` to prune.
pub async fn sync(
    cluster: &Cluster,
    tasks: &[Task],
    candidates: &[PruneCandidate],
    params: &SyncParams<'_>,
) -> Outcome {
    let mut out = Outcome::default();
    let opts = || params.options.iter().map(String::as_str);
    let how = How {
        options: params.options,
        force: params.force,
    };
    if has_option(opts(), "CreateNamespace", "true") && !params.namespace.is_empty() {
        let mut ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": params.namespace}});
        if let Some(meta) = params.namespace_metadata {
            ns["metadata"]["labels"] = meta["labels"].clone();
            ns["metadata"]["annotations"] = meta["annotations"].clone();
        }
        let r = ObjectRef::new("v1", "Namespace", None, params.namespace);
        if let Err(e) = cluster.apply(&r, &ns, false, true).await {
            out.message = e.to_string();
            out.results.push(result(&r, "SyncFailed", e.to_string(), None));
            return out;
        }
    }
    let (main, fail_hooks): (Vec<&Task>, Vec<&Task>) = tasks.iter().partition(|t| t.phase != Phase::SyncFail);
    if let Err(e) = dry_run(cluster, tasks, params.options, params.force).await {
        out.message = format!("one or more objects failed to apply (dry run): {e}");
        return out;
    }
    let prune_last = has_option(opts(), "PruneLast", "true");
    let (late, early): (Vec<PruneCandidate>, Vec<PruneCandidate>) = candidates
        .iter()
        .cloned()
        .partition(|c| prune_last || has_option(c.options.iter().map(String::as_str), "PruneLast", "true"));
    let mut groups: Vec<Vec<&Task>> = Vec::new();
    for t in main {
        match groups.last_mut() {
            Some(g) if g[0].phase == t.phase && g[0].wave == t.wave => g.push(t),
            _ => groups.push(vec![t]),
        }
    }
    let mut ok = true;
    let mut pruned_early = false;
    let count = groups.len();
    for (i, g) in groups.iter().enumerate() {
        if !pruned_early && g[0].phase > Phase::Sync {
            pruned_early = true;
            if !prune(cluster, &early, params, &mut out).await {
                ok = false;
                break;
            }
        }
        if !run_group(cluster, g, &how, i + 1 < count, &mut out).await {
            ok = false;
            break;
        }
    }
    if ok && !pruned_early {
        ok = prune(cluster, &early, params, &mut out).await;
    }
    if ok {
        ok = prune(cluster, &late, params, &mut out).await;
    }
    if !ok {
        let failure = out.message.clone();
        if !fail_hooks.is_empty() {
            let _ = run_group(cluster, &fail_hooks, &how, false, &mut out).await;
        }
        out.message = failure;
        out.ok = false;
        return out;
    }
    out.ok = true;
    out.message = "successfully synced (all tasks run)".into();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, name: &str, ann: Value) -> Value {
        let api = match kind {
            "Job" => "batch/v1",
            "Deployment" | "ReplicaSet" => "apps/v1",
            _ => "v1",
        };
        json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "annotations": ann}})
    }

    #[test]
    fn hooks_map_argo_and_helm_annotations() {
        assert_eq!(hook_phases(&obj("Pod", "p", json!({}))), None);
        assert_eq!(
            hook_phases(&obj("Job", "j", json!({"argocd.argoproj.io/hook": "PreSync,PostSync"}))),
            Some(vec![Phase::PreSync, Phase::PostSync])
        );
        assert_eq!(
            hook_phases(&obj("Job", "j", json!({"argocd.argoproj.io/hook": "Skip"}))),
            Some(vec![])
        );
        assert_eq!(
            hook_phases(&obj("Job", "j", json!({"helm.sh/hook": "pre-install,pre-upgrade"}))),
            Some(vec![Phase::PreSync])
        );
        // Argo CD's annotation wins over Helm's.
        assert_eq!(
            hook_phases(&obj(
                "Job",
                "j",
                json!({"helm.sh/hook": "post-install", "argocd.argoproj.io/hook": "SyncFail"})
            )),
            Some(vec![Phase::SyncFail])
        );
        assert_eq!(
            hook_phases(&obj("Job", "j", json!({"helm.sh/hook": "test"}))),
            Some(vec![])
        );
        assert_eq!(
            hook_phases(&obj("Job", "j", json!({"helm.sh/hook": "crd-install"}))),
            None
        );
    }

    #[test]
    fn waves_and_delete_policies_as_argo_cd() {
        assert_eq!(
            wave(&obj("Pod", "p", json!({"argocd.argoproj.io/sync-wave": "-2"}))),
            -2
        );
        assert_eq!(wave(&obj("Service", "s", json!({"helm.sh/hook-weight": "2"}))), 2);
        assert_eq!(
            wave(&obj("Service", "s", json!({"argocd.argoproj.io/sync-wave": "x"}))),
            0
        );
        assert_eq!(delete_policies(&obj("Job", "j", json!({}))), ["BeforeHookCreation"]);
        assert_eq!(
            delete_policies(&obj(
                "Job",
                "j",
                json!({"helm.sh/hook-delete-policy": "hook-succeeded,before-hook-creation"})
            )),
            ["HookSucceeded", "BeforeHookCreation"]
        );
        assert_eq!(
            hook_name("before-", "abcdef1234", Phase::PreSync, 1700000000),
            "before-abcdef1-presync-1700000000"
        );
    }

    #[test]
    fn order_is_phase_wave_kind_name() {
        let t = |kind: &str, name: &str, phase, wave| Task {
            object: obj(kind, name, json!({})),
            r: ObjectRef::new(
                if kind == "Deployment" { "apps/v1" } else { "v1" },
                kind,
                Some("ns"),
                name,
            ),
            phase,
            wave,
            hook: false,
            delete_policies: vec![],
            in_sync: false,
        };
        let mut tasks = vec![
            t("Deployment", "a", Phase::Sync, 0),
            t("Service", "b", Phase::Sync, 0),
            t("ConfigMap", "z", Phase::Sync, -1),
            t("Pod", "hook", Phase::PostSync, -5),
            t("Pod", "pre", Phase::PreSync, 9),
        ];
        order(&mut tasks);
        let names: Vec<&str> = tasks.iter().map(|t| t.r.name.as_str()).collect();
        assert_eq!(names, ["pre", "z", "b", "a", "hook"]);
    }

    #[test]
    fn prune_propagation_policy_option() {
        use kube::api::PropagationPolicy as P;
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches!(prune_propagation(&o(&[])), P::Background));
        assert!(matches!(
            prune_propagation(&o(&["PrunePropagationPolicy=foreground"])),
            P::Foreground
        ));
        assert!(matches!(
            prune_propagation(&o(&[
                "PrunePropagationPolicy=foreground",
                "PrunePropagationPolicy=Orphan"
            ])),
            P::Orphan
        ));
    }

    #[test]
    fn health_as_argo_cd() {
        let mut d = obj("Deployment", "d", json!({}));
        d["spec"] = json!({"paused": true});
        assert_eq!(health(&d).unwrap().0, "Suspended");
        assert_eq!(health(&obj("ConfigMap", "c", json!({}))), None);
        let svc = obj("Service", "s", json!({}));
        assert_eq!(health(&svc).unwrap().0, "Healthy");
        let mut job = obj("Job", "j", json!({}));
        job["status"] = json!({"conditions": [{"type": "Failed", "status": "True"}]});
        assert_eq!(hook_done(&job), Some(false));
        assert!(health_rank("Degraded") > health_rank("Progressing"));
    }
}
