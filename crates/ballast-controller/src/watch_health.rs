//! Whether the controller's watches work: a watch that keeps failing makes `/readyz` fail.
//!
//! Guarantees:
//! - every watch error is logged with the watch's name; the first of a run of failures, then at
//!   most one line per [`LOG_EVERY`], then a line when the watch works again;
//! - a watch that has failed without a success in between for longer than the threshold
//!   (default [`UNREADY_AFTER`]) turns `/readyz` red, naming the watch and its last error, until
//!   it succeeds again (its next event, including the initial list after a re-connection).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a watch may fail before the controller reports itself not ready.
pub const UNREADY_AFTER: Duration = Duration::from_secs(60);

/// At most one log line per failing watch in this period.
pub const LOG_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Failing {
    since: Instant,
    logged: Instant,
    last_error: String,
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

    /// Records that watch `name` works (it delivered an event).
    pub fn succeeded(&self, name: &str) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = failing.remove(name) {
            eprintln!(
                "watch {name}: re-established after failing for {}s",
                f.since.elapsed().as_secs()
            );
        }
    }

    /// Why the controller is not ready, if a watch has failed for too long.
    pub fn problem(&self) -> Option<String> {
        self.problem_at(Instant::now())
    }

    fn failed_at(&self, name: &str, error: &str, now: Instant) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        match failing.get_mut(name) {
            None => {
                eprintln!("watch {name}: failed: {error}; retrying");
                failing.insert(
                    name.to_string(),
                    Failing {
                        since: now,
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
                f.last_error = error.to_string();
            }
        }
    }

    fn problem_at(&self, now: Instant) -> Option<String> {
        let failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        let stuck: Vec<String> = failing
            .iter()
            .filter(|(_, f)| now.duration_since(f.since) >= self.threshold)
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

    #[test]
    fn a_watch_failing_past_the_threshold_makes_the_controller_unready_until_it_succeeds() {
        let health = WatchHealth::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(health.problem_at(t0), None);
        health.failed_at("GitRepository", "connection refused", t0);
        assert_eq!(
            health.problem_at(t0 + Duration::from_secs(59)),
            None,
            "a short outage is tolerated"
        );
        health.failed_at("GitRepository", "403 Forbidden", t0 + Duration::from_secs(30));
        let problem = health.problem_at(t0 + Duration::from_secs(61)).expect("not ready");
        assert!(
            problem.contains("watch GitRepository failing for 61s: 403 Forbidden"),
            "{problem}"
        );
        health.succeeded("GitRepository");
        assert_eq!(health.problem_at(t0 + Duration::from_secs(62)), None);
        // A new failure starts a new count.
        health.failed_at("GitRepository", "again", t0 + Duration::from_secs(63));
        assert_eq!(health.problem_at(t0 + Duration::from_secs(100)), None);
    }

    #[test]
    fn every_stuck_watch_is_named() {
        let health = WatchHealth::new(Duration::from_secs(1));
        let t0 = Instant::now();
        health.failed_at("a", "e1", t0);
        health.failed_at("b", "e2", t0);
        let problem = health.problem_at(t0 + Duration::from_secs(2)).unwrap();
        assert!(problem.contains("watch a") && problem.contains("watch b"), "{problem}");
    }
}
