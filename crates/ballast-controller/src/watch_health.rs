//! Whether the controller's watches work: a watch that keeps failing makes `/readyz` fail.
//!
//! Guarantees:
//! - every watch error is logged with the watch's name; the first of a run of failures, then at
//!   most one line per [`LOG_EVERY`], then a line when the watch works again;
//! - a watch whose failures have gone on for longer than the threshold (default
//!   [`UNREADY_AFTER`]) turns `/readyz` red, naming the watch and its last error. A successful
//!   list between failures does not count as recovery (a list that works while every watch is
//!   refused is still a broken watch): the watch is healthy again once it has gone [`QUIET`]
//!   without a failure after a success.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a watch may fail before the controller reports itself not ready.
pub const UNREADY_AFTER: Duration = Duration::from_secs(60);

/// At most one log line per failing watch in this period.
pub const LOG_EVERY: Duration = Duration::from_secs(30);

/// A watch is healthy again after a success followed by this long without a failure (longer
/// than the watcher's longest backoff, 30 s).
pub const QUIET: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Failing {
    since: Instant,
    last_failure: Instant,
    last_success: Option<Instant>,
    logged: Instant,
    last_error: String,
}

impl Failing {
    fn recovered(&self, now: Instant) -> bool {
        self.last_success
            .is_some_and(|s| s >= self.last_failure && now.duration_since(self.last_failure) >= QUIET)
    }
}

/// Failing watches, shared by the watches and the `/readyz` handler.
#[derive(Clone, Debug)]
pub struct WatchHealth {
    failing: Arc<Mutex<BTreeMap<String, Failing>>>,
    threshold: Duration,
}

impl Default for WatchHealth {
    fn default() -> Self {
        WatchHealth::new(UNREADY_AFTER)
    }
}

impl WatchHealth {
    /// Watches failing longer than `threshold` make the controller not ready.
    pub fn new(threshold: Duration) -> Self {
        WatchHealth {
            failing: Arc::default(),
            threshold,
        }
    }

    /// Records an error of watch `name`.
    pub fn failed(&self, name: &str, error: &str) {
        self.failed_at(name, error, Instant::now());
    }

    /// Records that watch `name` delivered an event (a list or a watch event).
    pub fn succeeded(&self, name: &str) {
        self.succeeded_at(name, Instant::now());
    }

    /// Why the controller is not ready, if a watch has failed for too long.
    pub fn problem(&self) -> Option<String> {
        self.problem_at(Instant::now())
    }

    fn succeeded_at(&self, name: &str, now: Instant) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = failing.get_mut(name) {
            f.last_success = Some(now);
        }
    }

    fn failed_at(&self, name: &str, error: &str, now: Instant) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        if failing.get(name).is_some_and(|f| f.recovered(now)) {
            failing.remove(name);
        }
        match failing.get_mut(name) {
            None => {
                eprintln!("watch {name}: failed: {error}; retrying");
                failing.insert(
                    name.to_string(),
                    Failing {
                        since: now,
                        last_failure: now,
                        last_success: None,
                        logged: now,
                        last_error: error.to_string(),
                    },
                );
            }
            Some(f) => {
                if now.duration_since(f.logged) >= LOG_EVERY {
                    eprintln!(
                        "watch {name}: still failing after {}s: {error}",
                        now.duration_since(f.since).as_secs()
                    );
                    f.logged = now;
                }
                f.last_failure = now;
                f.last_error = error.to_string();
            }
        }
    }

    fn problem_at(&self, now: Instant) -> Option<String> {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        failing.retain(|name, f| {
            let keep = !f.recovered(now);
            if !keep {
                eprintln!(
                    "watch {name}: working again (it failed from {}s to {}s ago)",
                    now.duration_since(f.since).as_secs(),
                    now.duration_since(f.last_failure).as_secs()
                );
            }
            keep
        });
        let stuck: Vec<String> = failing
            .iter()
            .filter(|(_, f)| {
                now.duration_since(f.since) >= self.threshold
                    && (f.last_success.is_none() || now.duration_since(f.last_failure) < QUIET)
            })
            .map(|(name, f)| {
                format!(
                    "watch {name} failing for {}s: {}",
                    now.duration_since(f.since).as_secs(),
                    f.last_error
                )
            })
            .collect();
        (!stuck.is_empty()).then(|| stuck.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_watch_down_past_the_threshold_makes_the_controller_unready() {
        let health = WatchHealth::new(60 * S);
        let t0 = Instant::now();
        assert_eq!(health.problem_at(t0), None);
        health.failed_at("GitRepository", "connection refused", t0);
        assert_eq!(health.problem_at(t0 + 59 * S), None, "a short outage is tolerated");
        health.failed_at("GitRepository", "403 Forbidden", t0 + 30 * S);
        let problem = health.problem_at(t0 + 61 * S).expect("not ready");
        assert!(
            problem.contains("watch GitRepository failing for 61s: 403 Forbidden"),
            "{problem}"
        );
    }

    #[test]
    fn lists_that_work_between_refused_watches_are_not_a_recovery() {
        let health = WatchHealth::new(10 * S);
        let t0 = Instant::now();
        for i in 0..20 {
            health.failed_at("Kustomization", "watch refused", t0 + i * S);
            health.succeeded_at("Kustomization", t0 + i * S + S / 2);
        }
        assert!(health.problem_at(t0 + 20 * S).is_some());
    }

    #[test]
    fn a_transient_error_followed_by_success_never_turns_readyz_red_and_heals() {
        let health = WatchHealth::new(60 * S);
        let t0 = Instant::now();
        health.failed_at("drift v1/ConfigMap", "connection reset", t0);
        health.succeeded_at("drift v1/ConfigMap", t0 + S);
        for t in [30, 59, 60, 61, 90] {
            assert_eq!(health.problem_at(t0 + t * S), None, "at {t}s");
        }
        // Healed: a new failure starts a new count.
        health.failed_at("drift v1/ConfigMap", "again", t0 + 100 * S);
        assert_eq!(health.problem_at(t0 + 150 * S), None);
        assert!(health.problem_at(t0 + 161 * S).is_some());
    }

    #[test]
    fn every_stuck_watch_is_named() {
        let health = WatchHealth::new(S);
        let t0 = Instant::now();
        health.failed_at("a", "e1", t0);
        health.failed_at("b", "e2", t0);
        let problem = health.problem_at(t0 + 2 * S).unwrap();
        assert!(problem.contains("watch a") && problem.contains("watch b"), "{problem}");
    }
}
