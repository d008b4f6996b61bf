//! Rollback on Degraded, a Ballast extension of Argo CD's Application: with the annotation
//! `ballast.dev/rollback-on-degraded: <duration>`, an Application that stays `Degraded` for that
//! long after a successful sync is synced back to the last revision it was seen `Healthy` at
//! (from `status.history`), and the revision it left is held out of automated sync until a
//! newer one arrives. An event and the condition [`CONDITION`] say what happened.
//!
//! Bookkeeping lives in the annotations of the Applications that ask for it (their status keeps
//! Argo CD's shape):
//! [`LAST_HEALTHY`] (the history id last seen Synced and Healthy) and [`HELD`] (the revision held
//! back). The rollback itself is an `operation` written as `ballast app rollback` writes it, so
//! it runs, is recorded and is reported like any other sync.

use std::collections::BTreeMap;
use std::time::Duration;

use ballast_api::argo::{Application, ApplicationStatus, RevisionHistory};
use serde_json::{Value, json};

/// The annotation that turns the rollback on: how long `Degraded` lasts before it.
pub const ANNOTATION: &str = "ballast.dev/rollback-on-degraded";
/// The history id last seen Synced and Healthy.
pub const LAST_HEALTHY: &str = "ballast.dev/last-healthy-history-id";
/// The revision held out of automated sync after a rollback.
pub const HELD: &str = "ballast.dev/held-revision";
/// The condition that reports a rollback and the hold.
pub const CONDITION: &str = "RolledBackOnDegraded";
/// Who the rollback operation names as its initiator.
pub const INITIATOR: &str = "ballast-rollback-on-degraded";

fn annotation<'a>(app: &'a Application, key: &str) -> Option<&'a str> {
    app.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// The revision held out of automated sync, if any.
pub fn held(app: &Application) -> Option<&str> {
    annotation(app, HELD).filter(|h| !h.is_empty())
}

/// What to do after a reconcile's status is known.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    /// Annotations to write (`None` removes).
    pub annotations: BTreeMap<String, Option<String>>,
    /// A rollback to this history entry, with the message for the event and condition.
    pub rollback: Option<(RevisionHistory, String)>,
    /// Look again after this long (a Degraded Application not yet due).
    pub recheck: Option<Duration>,
}

/// Decides from `status` (just computed) at `now`; `target` is the revision the source's
/// `targetRevision` resolves to (`None` when this reconcile ran an operation for another one).
pub fn decide(app: &Application, status: &ApplicationStatus, target: Option<&str>, now: jiff::Timestamp) -> Decision {
    let mut d = Decision::default();
    // A newer revision lifts the hold.
    if let Some(h) = held(app)
        && target.is_some_and(|t| t != h)
    {
        d.annotations.insert(HELD.into(), None);
    }
    // Only Applications that ask for the rollback are annotated.
    let Some(after) = annotation(app, ANNOTATION) else {
        return d;
    };
    let Some(latest) = status.history.last() else {
        return d;
    };
    let op_ok = status.operation_state.as_ref().is_some_and(|s| s.phase == "Succeeded");
    let health = status.health.as_ref();
    let healthy = health.is_some_and(|h| h.status == "Healthy");
    let synced = status.sync.as_ref().is_some_and(|s| s.status == "Synced");
    let last_healthy = annotation(app, LAST_HEALTHY).and_then(|v| v.parse::<i64>().ok());
    if healthy && synced && op_ok && last_healthy != Some(latest.id) {
        d.annotations.insert(LAST_HEALTHY.into(), Some(latest.id.to_string()));
        return d;
    }
    let Ok(after) = ballast_core::duration::parse_duration(after) else {
        return d;
    };
    if !op_ok || health.is_none_or(|h| h.status != "Degraded") || last_healthy == Some(latest.id) {
        return d;
    }
    let Some(target) = status.history.iter().find(|h| Some(h.id) == last_healthy) else {
        return d;
    };
    if target.revision == latest.revision {
        return d;
    }
    // Degraded since the later of the sync's end and the health change.
    let since = [
        health.and_then(|h| h.last_transition_time.as_deref()),
        Some(latest.deployed_at.as_str()),
    ]
    .into_iter()
    .flatten()
    .filter_map(|t| t.parse::<jiff::Timestamp>().ok())
    .max();
    let Some(since) = since else { return d };
    let elapsed = now.duration_since(since);
    let after_signed = jiff::SignedDuration::try_from(after).unwrap_or(jiff::SignedDuration::MAX);
    if elapsed < after_signed {
        let left = after_signed.checked_sub(elapsed).unwrap_or_default();
        d.recheck = Some(Duration::try_from(left).unwrap_or(after) + Duration::from_secs(1));
        return d;
    }
    let message = format!(
        "Degraded for {} after the sync to {}: rolled back to {} (history id {}); {} is held out of automated sync until a newer revision arrives",
        annotation(app, ANNOTATION).unwrap_or_default(),
        latest.revision,
        target.revision,
        target.id,
        latest.revision
    );
    d.annotations.insert(HELD.into(), Some(latest.revision.clone()));
    d.rollback = Some((target.clone(), message));
    d
}

/// For a rollback, the merge patch that starts it: the `operation` (as `ballast app rollback`
/// writes it). The decision's annotations are written with the status.
pub fn operation(decision: &Decision) -> Option<Value> {
    let (entry, _) = decision.rollback.as_ref()?;
    Some(json!({"operation": {
        "sync": {"revision": entry.revision, "source": entry.source},
        "initiatedBy": {"username": INITIATOR}
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast_api::argo::{HealthStatus, OperationState, SyncStatus};

    fn entry(id: i64, rev: &str, at: &str) -> RevisionHistory {
        RevisionHistory {
            id,
            revision: rev.into(),
            deployed_at: at.into(),
            ..Default::default()
        }
    }

    fn status(health: &str, since: &str) -> ApplicationStatus {
        ApplicationStatus {
            history: vec![
                entry(0, "good", "2026-11-30T11:00:00Z"),
                entry(1, "bad", "2026-11-30T12:00:00Z"),
            ],
            health: Some(HealthStatus {
                status: health.into(),
                message: None,
                last_transition_time: Some(since.into()),
            }),
            sync: Some(SyncStatus {
                status: "Synced".into(),
                ..Default::default()
            }),
            operation_state: Some(OperationState {
                phase: "Succeeded".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn app(annotations: &[(&str, &str)]) -> Application {
        let mut a = Application::default();
        a.metadata.annotations = Some(
            annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        a
    }

    #[test]
    fn healthy_is_remembered_and_degraded_rolls_back_when_due() {
        let now: jiff::Timestamp = "2026-11-30T12:01:00Z".parse().unwrap();
        let d = decide(
            &app(&[(ANNOTATION, "1m")]),
            &status("Healthy", "2026-11-30T12:00:30Z"),
            Some("bad"),
            now,
        );
        assert_eq!(d.annotations.get(LAST_HEALTHY), Some(&Some("1".to_string())));
        let d = decide(&app(&[]), &status("Healthy", "2026-11-30T12:00:30Z"), Some("bad"), now);
        assert_eq!(d, Decision::default(), "not annotated: nothing written");
        let a = app(&[(ANNOTATION, "1m"), (LAST_HEALTHY, "0")]);
        // Degraded for 30 s only: not yet, look again in time.
        let d = decide(&a, &status("Degraded", "2026-11-30T12:00:30Z"), Some("bad"), now);
        assert!(d.rollback.is_none());
        assert_eq!(d.recheck, Some(Duration::from_secs(31)));
        // Degraded for 2 min: back to "good", "bad" held.
        let d = decide(
            &a,
            &status("Degraded", "2026-11-30T11:59:00Z"),
            Some("bad"),
            now + jiff::SignedDuration::from_secs(60),
        );
        let (target, message) = d.rollback.clone().unwrap();
        assert_eq!(target.revision, "good");
        assert!(message.contains("rolled back to good"), "{message}");
        assert_eq!(d.annotations.get(HELD), Some(&Some("bad".to_string())));
        let p = operation(&d).unwrap();
        assert_eq!(p["operation"]["sync"]["revision"], "good");
        // Without the annotation nothing happens.
        let d = decide(
            &app(&[(LAST_HEALTHY, "0")]),
            &status("Degraded", "2026-11-30T10:00:00Z"),
            Some("bad"),
            now,
        );
        assert_eq!(d, Decision::default());
        // A newer revision lifts the hold.
        let d = decide(&app(&[(HELD, "bad")]), &status("Healthy", "x"), Some("newer"), now);
        assert_eq!(d.annotations.get(HELD), Some(&None));
        // The rollback's own sync (to another revision than the target's) keeps it.
        let d = decide(&app(&[(HELD, "bad")]), &status("Healthy", "x"), None, now);
        assert_eq!(d.annotations.get(HELD), None);
    }
}
