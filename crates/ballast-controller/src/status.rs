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

/// Marks a failure: `Ready=False` with the reason and message. `stalled` means retrying will not help
/// until the spec changes.
pub fn mark_failed(list: &mut Vec<Condition>, reason: &str, message: &str, generation: Option<i64>, stalled: bool) {
    set_condition(
        list,
        condition("Ready", ConditionStatus::False, reason, message, generation),
    );
    remove_condition(list, "Reconciling");
    if stalled {
        set_condition(
            list,
            condition("Stalled", ConditionStatus::True, reason, message, generation),
        );
    } else {
        remove_condition(list, "Stalled");
    }
}
