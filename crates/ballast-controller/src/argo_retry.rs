//! Retry of a failed Argo CD sync with back-off, as Argo CD's controller retries
//! (`controller/appcontroller.go` `processRequestedAppOperation`, `RetryStrategy.NextRetryAt`).
//!
//! After a failed attempt, while `retryCount < limit` (or `limit < 0`), the operation stays in
//! phase `Running` with `finishedAt` set, `retryCount` incremented and the message
//! `<message>. Retrying attempt #N at <time>.`; the next attempt starts once
//! `finishedAt + duration × factor^(N−1)` (capped by `maxDuration`) has passed. The wait
//! defaults are Argo CD's: 5 s, factor 2, at most 3 min; a bare number is seconds. Once the
//! retries are spent the operation fails with `(retried N times).` appended.

use std::time::Duration;

use ballast_api::argo::{OperationState, RetryStrategy};
use serde_json::Value;

/// Argo CD's default first wait.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(5);
/// Argo CD's default factor.
pub const DEFAULT_FACTOR: i64 = 2;
/// Argo CD's default longest wait.
pub const DEFAULT_MAX: Duration = Duration::from_secs(180);
/// Most attempts Ballast makes whatever the limit (a negative limit is "unlimited" in Argo CD).
pub const MAX_ATTEMPTS: i64 = 1000;

/// Attempts Argo CD retries an automated sync that names no `retry`.
pub const AUTOMATED_LIMIT: i64 = 5;

/// The retry of an automated sync whose Application sets no `syncPolicy.retry`: Argo CD's
/// controller gives every automated operation `RetryStrategy{Limit: 5}` (default back-off)
/// unless the sync policy names one.
pub fn automated_default() -> RetryStrategy {
    RetryStrategy {
        limit: Some(AUTOMATED_LIMIT),
        ..Default::default()
    }
}

fn duration_of(v: Option<&Value>) -> Result<Option<Duration>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_u64().map(Duration::from_secs)),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => match s.trim().parse::<u64>() {
            Ok(secs) => Ok(Some(Duration::from_secs(secs))),
            Err(_) => ballast_core::duration::parse_duration(s)
                .map(Some)
                .map_err(|_| format!("unable to parse {s} as a duration")),
        },
        Some(other) => Err(format!("unable to parse {other} as a duration")),
    }
}

/// The wait before attempt `retry_count + 1` (`retry_count` retries already made, the first
/// retry waiting `duration`).
pub fn backoff(strategy: &RetryStrategy, retry_count: i64) -> Result<Duration, String> {
    let b = strategy.backoff.as_ref();
    let duration = duration_of(b.and_then(|b| b.get("duration")))?.unwrap_or(DEFAULT_DURATION);
    let max = duration_of(b.and_then(|b| b.get("maxDuration")))?.unwrap_or(DEFAULT_MAX);
    let factor = b
        .and_then(|b| b.get("factor"))
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_FACTOR);
    let wait = duration.as_secs_f64() * (factor as f64).powf(retry_count.clamp(0, 64) as f64);
    let wait = if max.is_zero() {
        wait
    } else {
        wait.min(max.as_secs_f64())
    };
    Ok(Duration::from_secs_f64(wait.clamp(0.0, 365.0 * 24.0 * 3600.0)))
}

/// Whether another attempt is allowed after `retry_count` retries.
pub fn may_retry(strategy: &RetryStrategy, retry_count: i64) -> bool {
    let limit = strategy.limit.unwrap_or(0);
    retry_count < MAX_ATTEMPTS && (limit < 0 || retry_count < limit)
}

/// A retry waiting in `state` (phase `Running` with `finishedAt`): when it is due.
pub fn pending(state: &OperationState) -> Option<jiff::Timestamp> {
    if state.phase != "Running" {
        return None;
    }
    let finished: jiff::Timestamp = state.finished_at.as_deref()?.parse().ok()?;
    let strategy = state.operation.retry.clone().unwrap_or_default();
    // `retryCount` was incremented when the retry was scheduled: the wait is that of the
    // previous count.
    let wait = backoff(&strategy, state.retry_count.unwrap_or(1).max(1) - 1).ok()?;
    let wait = jiff::SignedDuration::try_from(wait).ok()?;
    finished.checked_add(wait).ok()
}

/// Turns a failed `state` into a scheduled retry when its strategy allows one (phase
/// `Running`, `retryCount` + 1, Argo CD's message); else marks the retries spent in the
/// message. Returns whether a retry was scheduled.
pub fn schedule(state: &mut OperationState, now: jiff::Timestamp) -> bool {
    let strategy = state.operation.retry.clone().unwrap_or_default();
    let count = state.retry_count.unwrap_or(0);
    let message = state.message.clone().unwrap_or_default();
    if !may_retry(&strategy, count) {
        if count > 0 {
            state.message = Some(format!("{message} (retried {count} times)."));
        }
        return false;
    }
    let at = backoff(&strategy, count)
        .ok()
        .and_then(|w| jiff::SignedDuration::try_from(w).ok())
        .and_then(|w| now.checked_add(w).ok())
        .unwrap_or(now);
    state.phase = "Running".into();
    state.finished_at = Some(now.to_string());
    state.retry_count = Some(count + 1);
    let kitchen = at.to_zoned(jiff::tz::TimeZone::UTC).strftime("%-I:%M%p").to_string();
    state.message = Some(format!("{message}. Retrying attempt #{} at {kitchen}.", count + 1));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strategy(v: Value) -> RetryStrategy {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn backoff_as_argo_cd() {
        let s = strategy(json!({"limit": 3, "backoff": {"duration": "2s", "factor": 3, "maxDuration": "10s"}}));
        assert_eq!(backoff(&s, 0).unwrap(), Duration::from_secs(2));
        assert_eq!(backoff(&s, 1).unwrap(), Duration::from_secs(6));
        assert_eq!(backoff(&s, 2).unwrap(), Duration::from_secs(10), "capped");
        let d = strategy(json!({"limit": 1}));
        assert_eq!(backoff(&d, 0).unwrap(), Duration::from_secs(5));
        assert_eq!(backoff(&d, 10).unwrap(), Duration::from_secs(180));
        let bare = strategy(json!({"backoff": {"duration": "7"}}));
        assert_eq!(
            backoff(&bare, 0).unwrap(),
            Duration::from_secs(7),
            "a bare number is seconds"
        );
        assert!(backoff(&strategy(json!({"backoff": {"duration": "x"}})), 0).is_err());
        assert!(may_retry(&s, 2) && !may_retry(&s, 3));
        assert!(may_retry(&strategy(json!({"limit": -1})), 500));
        assert!(!may_retry(&strategy(json!({})), 0));
    }

    #[test]
    fn scheduled_retry_is_running_with_count_then_spent() {
        let now: jiff::Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
        let mut st = OperationState {
            phase: "Failed".into(),
            message: Some("one or more objects failed to apply".into()),
            ..Default::default()
        };
        st.operation.retry = Some(strategy(json!({"limit": 1, "backoff": {"duration": "4s"}})));
        assert!(schedule(&mut st, now));
        assert_eq!(st.phase, "Running");
        assert_eq!(st.retry_count, Some(1));
        assert_eq!(
            st.message.as_deref(),
            Some("one or more objects failed to apply. Retrying attempt #1 at 12:00PM.")
        );
        assert_eq!(pending(&st), Some("2026-11-30T12:00:04Z".parse().unwrap()));
        st.phase = "Failed".into();
        st.message = Some("failed again".into());
        assert!(!schedule(&mut st, now));
        assert_eq!(st.message.as_deref(), Some("failed again (retried 1 times)."));
    }
}
