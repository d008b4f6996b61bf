//! When to reconcile again: intervals with a floor, and jitter so objects created together do
//! not stay in step.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use ballast_core::parse_duration;

/// The shortest interval honoured: `interval`, `retryInterval` (and a GitRepository's
/// `interval`) below it are raised to it, so `0s` or `1ms` cannot make a reconcile loop.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Jitter added to every requeue: up to this fraction of the delay, either way.
pub const JITTER: f64 = 0.05;

/// A Go duration from the spec, raised to [`MIN_INTERVAL`]; `default` when absent or invalid
/// (the CRD's pattern refuses invalid ones before they reach the controller).
pub fn interval(text: Option<&str>, default: Duration) -> Duration {
    text.and_then(|t| parse_duration(t).ok())
        .unwrap_or(default)
        .max(MIN_INTERVAL)
}

/// `delay` moved by a random amount of at most [`JITTER`] of it, either way.
pub fn jittered(delay: Duration) -> Duration {
    // A fresh `RandomState` is randomly keyed: its hash of nothing is a random number.
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let unit = (random as f64 / u64::MAX as f64) * 2.0 - 1.0; // in [-1, 1]
    delay.mul_f64(1.0 + JITTER * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_have_a_floor_and_a_default() {
        assert_eq!(interval(Some("0s"), Duration::from_secs(60)), MIN_INTERVAL);
        assert_eq!(interval(Some("1ms"), Duration::from_secs(60)), MIN_INTERVAL);
        assert_eq!(interval(Some("5m"), Duration::from_secs(60)), Duration::from_secs(300));
        assert_eq!(interval(None, Duration::from_secs(60)), Duration::from_secs(60));
    }

    #[test]
    fn requeues_are_jittered_within_bounds() {
        let base = Duration::from_secs(100);
        let samples: Vec<Duration> = (0..200).map(|_| jittered(base)).collect();
        assert!(
            samples
                .iter()
                .all(|d| *d >= Duration::from_secs(95) && *d <= Duration::from_secs(105))
        );
        let distinct: std::collections::BTreeSet<_> = samples.iter().collect();
        assert!(distinct.len() > 100, "jitter is not random");
    }
}
