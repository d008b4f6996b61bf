//! What may be synced, checked before the sync starts: the AppProject's kind and namespace
//! restrictions (Argo CD's permission validator: any refused task fails the whole operation
//! before anything is applied, `one or more synchronization tasks are not valid: ...`, each
//! refused task `SyncFailed` with its reason), and objects another Application tracks
//! ([`crate::shared_resource`]: left out of the sync and failed, or the whole operation failed
//! with `FailOnSharedResource=true`).

use ballast_api::argo::{AppProject, ResourceResult, has_option};
use ballast_core::ObjectRef;

use crate::argo_sync::{Outcome, Task};

/// The gate's verdict.
#[derive(Debug, Default)]
pub struct Gate {
    /// The whole operation fails with this message, nothing applied.
    pub fail: Option<String>,
    /// Tasks left out of the sync (another Application's objects).
    pub skip: Vec<ObjectRef>,
    /// Results of the refused or skipped tasks.
    pub results: Vec<ResourceResult>,
}

fn failed(t: &Task, message: String) -> ResourceResult {
    ResourceResult {
        group: t.r.group.clone(),
        version: t.r.version.clone(),
        kind: t.r.kind.clone(),
        namespace: t.r.namespace.clone().unwrap_or_default(),
        name: t.r.name.clone(),
        status: "SyncFailed".into(),
        message: Some(message),
        hook_type: t.hook.then(|| t.phase.name().to_string()),
        hook_phase: None,
        sync_phase: Some(t.phase.name().to_string()),
    }
}

/// Checks `tasks` against `project` (on the destination `cluster`, its `(server, name)`) and the
/// objects `shared` (reference, message).
pub fn check(
    project: &AppProject,
    cluster: (&str, &str),
    tasks: &[Task],
    shared: &[(ObjectRef, String)],
    options: &[String],
) -> Gate {
    let mut gate = Gate::default();
    let mut reasons: Vec<String> = Vec::new();
    for t in tasks {
        if let Some(why) = crate::app_project::object_refused(
            project,
            &t.r.group,
            &t.r.kind,
            &t.r.name,
            t.r.namespace.as_deref(),
            cluster,
        ) {
            gate.results.push(failed(t, why.clone()));
            if !reasons.contains(&why) {
                reasons.push(why);
            }
        }
    }
    if !reasons.is_empty() {
        reasons.sort();
        gate.fail = Some(format!(
            "one or more synchronization tasks are not valid: {}",
            reasons.join("; ")
        ));
        return gate;
    }
    if let Some((_, first)) = shared.first()
        && has_option(options.iter().map(String::as_str), "FailOnSharedResource", "true")
    {
        gate.fail = Some(format!("Shared resource found: {first}"));
        return gate;
    }
    for (r, message) in shared {
        if let Some(t) = tasks.iter().find(|t| &t.r == r) {
            gate.results.push(failed(t, message.clone()));
            gate.skip.push(r.clone());
        }
    }
    gate
}

/// The outcome of an operation the gate failed as a whole.
pub fn refused(gate: &Gate) -> Option<Outcome> {
    gate.fail.as_ref().map(|m| Outcome {
        results: gate.results.clone(),
        ok: false,
        message: m.clone(),
        applied: Vec::new(),
    })
}

/// Adds the skipped tasks' failures to the sync's `outcome`.
pub fn finish(gate: Gate, outcome: &mut Outcome) {
    if gate.results.is_empty() {
        return;
    }
    let messages: Vec<String> = gate.results.iter().filter_map(|r| r.message.clone()).collect();
    outcome.ok = false;
    outcome.message = format!("{}; not taken over: {}", outcome.message, messages.join("; "));
    outcome.results.extend(gate.results);
}
