//! Conditions, times and the one place that turns an outcome into status.

use ballast_api::condition::{Condition, ConditionStatus, remove_condition, set_condition};

/// Now, RFC 3339 with seconds (as Kubernetes writes times).
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

/// A condition dated now.
pub fn condition(
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: type_.into(),
        status,
        observed_generation: generation,
        last_transition_time: now(),
        reason: reason.into(),
        message: message.into(),
    }
}

/// Marks the object as reconciled: `Ready=True`, no `Reconciling`/`Stalled`.
pub fn mark_ready(list: &mut Vec<Condition>, reason: &str, message: &str, generation: Option<i64>) {
    set_condition(
        list,
        condition("Ready", ConditionStatus::True, reason, message, generation),
    );
    remove_condition(list, "Reconciling");
    remove_condition(list, "Stalled");
}

/// Marks the start of a reconcile, as kstatus reads it: `Reconciling=True` (reason
/// `Progressing`), no `Stalled`; and when the spec is new (`generation` not yet observed),
/// `Ready=Unknown`, since the previous `Ready` described an older spec.
pub fn mark_reconciling(list: &mut Vec<Condition>, generation: Option<i64>, observed: Option<i64>) {
    let message = "Reconciliation in progress";
    set_condition(
        list,
        condition("Reconciling", ConditionStatus::True, "Progressing", message, generation),
    );
    remove_condition(list, "Stalled");
    if generation != observed {
        set_condition(
            list,
            condition("Ready", ConditionStatus::Unknown, "Progressing", message, generation),
        );
    }
}

/// Marks a failure: `Ready=False` with the reason and message. `stalled` means retrying will not
/// help until the spec changes: `Stalled=True` and no `Reconciling`. Otherwise the object is
/// retried: `Reconciling=True` with reason `ProgressingWithRetry` and no `Stalled`.
pub fn mark_failed(list: &mut Vec<Condition>, reason: &str, message: &str, generation: Option<i64>, stalled: bool) {
    set_condition(
        list,
        condition("Ready", ConditionStatus::False, reason, message, generation),
    );
    if stalled {
        remove_condition(list, "Reconciling");
        set_condition(
            list,
            condition("Stalled", ConditionStatus::True, reason, message, generation),
        );
    } else {
        remove_condition(list, "Stalled");
        set_condition(
            list,
            condition(
                "Reconciling",
                ConditionStatus::True,
                "ProgressingWithRetry",
                message,
                generation,
            ),
        );
    }
}

/// How long a reconcile runs before its `Reconciling` condition is written on its own.
pub const PROGRESS_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs `work`; when it is still running after [`PROGRESS_AFTER`], runs `progress` (the write
/// of `Reconciling`) alongside, once. A reconcile then writes its status once, at its outcome,
/// and one that takes longer shows `Reconciling` meanwhile. Both are done when this returns, so
/// the outcome's write always comes after the progress write.
pub async fn with_progress<T>(work: impl Future<Output = T>, progress: impl Future<Output = ()>) -> T {
    let mut work = std::pin::pin!(work);
    tokio::select! {
        biased;
        out = &mut work => return out,
        () = tokio::time::sleep(PROGRESS_AFTER) => {}
    }
    tokio::join!(work, progress).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast_api::condition::find;

    fn status_of(list: &[Condition], type_: &str) -> Option<(ConditionStatus, String)> {
        find(list, type_).map(|c| (c.status, c.reason.clone()))
    }

    #[test]
    fn kstatus_conditions_through_a_reconcile() {
        let mut list = Vec::new();
        mark_reconciling(&mut list, Some(2), Some(1));
        assert_eq!(
            status_of(&list, "Reconciling"),
            Some((ConditionStatus::True, "Progressing".into()))
        );
        assert_eq!(
            status_of(&list, "Ready"),
            Some((ConditionStatus::Unknown, "Progressing".into()))
        );
        mark_failed(&mut list, "BuildFailed", "bad", Some(2), false);
        assert_eq!(
            status_of(&list, "Reconciling"),
            Some((ConditionStatus::True, "ProgressingWithRetry".into()))
        );
        assert_eq!(status_of(&list, "Stalled"), None);
        // A retry of the same generation keeps Ready=False until it succeeds.
        mark_reconciling(&mut list, Some(2), Some(2));
        assert_eq!(
            status_of(&list, "Ready"),
            Some((ConditionStatus::False, "BuildFailed".into()))
        );
        mark_failed(&mut list, "InvalidSpec", "no", Some(2), true);
        assert_eq!(
            status_of(&list, "Stalled"),
            Some((ConditionStatus::True, "InvalidSpec".into()))
        );
        assert_eq!(status_of(&list, "Reconciling"), None);
        mark_ready(&mut list, "ReconciliationSucceeded", "ok", Some(2));
        assert_eq!(
            status_of(&list, "Ready"),
            Some((ConditionStatus::True, "ReconciliationSucceeded".into()))
        );
        assert_eq!(status_of(&list, "Reconciling"), None);
        assert_eq!(status_of(&list, "Stalled"), None);
    }
}
