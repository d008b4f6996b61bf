//! Hooks run as helm runs them: the hooks of one event by weight, then name; each one's
//! previous object deleted first (`before-hook-creation`, the default), then created and
//! waited for (a Job until Complete, a Pod until Succeeded, any other kind at once); on a
//! failure the failed hook is deleted if it says `hook-failed`, and the hooks that already
//! succeeded are deleted if they say `hook-succeeded`; after every hook of the event
//! succeeded, those saying `hook-succeeded` are deleted.
//!
//! Guarantees: a failure names the event, the hook's kind and name, and why; hooks are never
//! part of the release manifest and never pruned.

use std::time::{Duration, Instant};

use ballast_core::{HealthStatus, ObjectRef};
use ballast_helm::release::{HookRecord, rfc3339};
use ballast_kube::Cluster;
use serde_json::Value;

use crate::ReleaseError;
use crate::objects::hook_object;

const POLL: Duration = Duration::from_millis(250);

fn has_policy(h: &HookRecord, policy: &str) -> bool {
    h.delete_policies.iter().any(|p| p == policy)
}

fn now() -> String {
    rfc3339(jiff::Timestamp::now())
}

/// [`Cluster::delete_and_wait`], its error a [`ReleaseError`].
async fn delete_and_wait(
    cluster: &Cluster,
    r: &ObjectRef,
    uid: Option<&str>,
    timeout: Duration,
) -> Result<(), ReleaseError> {
    cluster
        .delete_and_wait(r, uid, timeout)
        .await
        .map_err(|e| ReleaseError(e.to_string()))
}

/// How a hook object stands: `Ok(true)` done, `Ok(false)` still running, `Err` failed.
fn hook_state(kind: &str, object: &Value) -> Result<bool, String> {
    match kind {
        "Job" => match ballast_health::health(object) {
            HealthStatus::Current => Ok(true),
            HealthStatus::Failed(why) if why.is_empty() => Err("job failed".into()),
            HealthStatus::Failed(why) => Err(why),
            _ => Ok(false),
        },
        "Pod" => match object.pointer("/status/phase").and_then(Value::as_str) {
            Some("Succeeded") => Ok(true),
            Some("Failed") => {
                let why = object
                    .pointer("/status/message")
                    .or_else(|| object.pointer("/status/reason"))
                    .and_then(Value::as_str)
                    .unwrap_or("pod failed");
                Err(why.to_string())
            }
            _ => Ok(false),
        },
        _ => Ok(true),
    }
}

/// Waits for a hook's object to complete.
async fn wait_hook(cluster: &Cluster, r: &ObjectRef, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        match cluster.get(r).await {
            Ok(Some(o)) => match hook_state(&r.kind, &o) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(why) => return Err(why),
            },
            Ok(None) => return Err("deleted while it ran".into()),
            Err(e) => return Err(e.to_string()),
        }
        if Instant::now() >= deadline {
            return Err(format!("not complete within {}s", timeout.as_secs()));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Runs the hooks of `event` among `hooks` (their `last_run` updated in place).
pub async fn run(
    cluster: &Cluster,
    hooks: &mut [HookRecord],
    event: &str,
    namespace: &str,
    timeout: Duration,
) -> Result<(), ReleaseError> {
    run_selected(cluster, hooks, event, namespace, timeout, &|_| true).await
}

/// [`run`] for the hooks of `event` that `selected` keeps; the others are left as they are
/// (not run, their last run unchanged).
pub async fn run_selected(
    cluster: &Cluster,
    hooks: &mut [HookRecord],
    event: &str,
    namespace: &str,
    timeout: Duration,
    selected: &(dyn Fn(&HookRecord) -> bool + Sync),
) -> Result<(), ReleaseError> {
    let mut order: Vec<usize> = (0..hooks.len())
        .filter(|&i| hooks[i].events.iter().any(|e| e == event) && selected(&hooks[i]))
        .collect();
    order.sort_by(|&a, &b| (hooks[a].weight, &hooks[a].name).cmp(&(hooks[b].weight, &hooks[b].name)));
    // Each hook run, with the UID its apply returned: a delete policy deletes that object only.
    let mut done: Vec<(usize, ObjectRef, Option<String>)> = Vec::new();
    for i in order {
        let object = hook_object(cluster, &hooks[i].manifest, namespace)?;
        let r = object.object_ref();
        if has_policy(&hooks[i], "before-hook-creation") {
            delete_and_wait(cluster, &r, None, timeout).await?;
        }
        hooks[i].last_run.started_at = now();
        hooks[i].last_run.completed_at.clear();
        hooks[i].last_run.phase = "Running".into();
        let mut uid = None;
        let outcome = match cluster.apply(&r, &object.object, false, true).await {
            Ok(applied) => {
                uid = applied["metadata"]["uid"].as_str().map(str::to_string);
                wait_hook(cluster, &r, timeout).await
            }
            Err(e) => Err(e.to_string()),
        };
        hooks[i].last_run.completed_at = now();
        if let Err(why) = outcome {
            hooks[i].last_run.phase = "Failed".into();
            if has_policy(&hooks[i], "hook-failed") && uid.is_some() {
                let _ = cluster.delete(&r, uid.as_deref()).await;
            }
            for (j, done_ref, done_uid) in &done {
                if has_policy(&hooks[*j], "hook-succeeded") && done_uid.is_some() {
                    let _ = cluster.delete(done_ref, done_uid.as_deref()).await;
                }
            }
            return Err(ReleaseError(format!(
                "{event} hook {}/{} failed: {why}",
                hooks[i].kind, hooks[i].name
            )));
        }
        hooks[i].last_run.phase = "Succeeded".into();
        done.push((i, r, uid));
    }
    for (j, r, uid) in &done {
        if has_policy(&hooks[*j], "hook-succeeded") && uid.is_some() {
            delete_and_wait(cluster, r, uid.as_deref(), timeout).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hook_states() {
        assert_eq!(hook_state("ConfigMap", &json!({})), Ok(true));
        assert_eq!(hook_state("Pod", &json!({"status": {"phase": "Running"}})), Ok(false));
        assert_eq!(hook_state("Pod", &json!({"status": {"phase": "Succeeded"}})), Ok(true));
        assert!(hook_state("Pod", &json!({"status": {"phase": "Failed"}})).is_err());
        let job = |c: Value| json!({"apiVersion": "batch/v1", "kind": "Job", "status": {"conditions": c}});
        assert_eq!(hook_state("Job", &job(json!([]))), Ok(false));
        assert_eq!(
            hook_state("Job", &job(json!([{"type": "Complete", "status": "True"}]))),
            Ok(true)
        );
        assert!(
            hook_state(
                "Job",
                &job(json!([{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]))
            )
            .is_err()
        );
    }
}
