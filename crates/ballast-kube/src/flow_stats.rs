//! What the client's flow control did, for `/metrics` and for the CLI's summary.
//!
//! Guarantees: reading never changes the flow control; counters only grow; clones of a
//! [`FlowStats`] share the same values.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Default)]
struct Values {
    limit: AtomicU64,
    lowest_limit: AtomicU64,
    in_flight: AtomicU64,
    waiting: AtomicU64,
    throttled: AtomicU64,
    rate_limited: AtomicU64,
    server_fairness: AtomicBool,
}

/// Shared view of the client's flow control (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct FlowStats {
    values: Arc<Values>,
}

impl FlowStats {
    /// The in-flight limit now: how many non-watch requests may be sent at once.
    pub fn limit(&self) -> u64 {
        self.values.limit.load(Ordering::Relaxed)
    }

    /// The lowest in-flight limit so far.
    pub fn lowest_limit(&self) -> u64 {
        self.values.lowest_limit.load(Ordering::Relaxed)
    }

    /// Non-watch requests sent and not yet answered.
    pub fn in_flight(&self) -> u64 {
        self.values.in_flight.load(Ordering::Relaxed)
    }

    /// Requests queued for a slot under the in-flight limit.
    pub fn waiting(&self) -> u64 {
        self.values.waiting.load(Ordering::Relaxed)
    }

    /// Answers that told the client to slow down: `429`, `503` with `Retry-After`, `504`, or a
    /// request that timed out.
    pub fn throttled(&self) -> u64 {
        self.values.throttled.load(Ordering::Relaxed)
    }

    /// Requests held back by the client-side rate limit (QPS/burst) before being sent.
    pub fn rate_limited(&self) -> u64 {
        self.values.rate_limited.load(Ordering::Relaxed)
    }

    /// True once the server showed it runs API Priority and Fairness (then the client-side rate
    /// limit is off, as client-go and Flux do).
    pub fn server_fairness(&self) -> bool {
        self.values.server_fairness.load(Ordering::Relaxed)
    }

    pub(crate) fn set_limit(&self, limit: u32) {
        let limit = u64::from(limit);
        self.values.limit.store(limit, Ordering::Relaxed);
        self.values.lowest_limit.fetch_min(limit, Ordering::Relaxed);
    }

    pub(crate) fn start_at(&self, limit: u32) {
        self.values.lowest_limit.store(u64::from(limit), Ordering::Relaxed);
        self.set_limit(limit);
    }

    pub(crate) fn set_queue(&self, in_flight: u32, waiting: usize) {
        self.values.in_flight.store(u64::from(in_flight), Ordering::Relaxed);
        self.values
            .waiting
            .store(u64::try_from(waiting).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub(crate) fn count_throttled(&self) {
        self.values.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_rate_limited(&self) {
        self.values.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn saw_server_fairness(&self) {
        self.values.server_fairness.store(true, Ordering::Relaxed);
    }
}
