//! An in-flight limit that adapts to the API server: how many non-watch requests the client
//! sends at once, lowered when the server says it is overloaded and raised again slowly while
//! it serves.
//!
//! The rules (additive increase, decrease on every refusal):
//! - the limit starts at the ceiling, so a healthy server sees the client's full concurrency;
//! - a refusal (`429`, `503` with `Retry-After`, `504`, a timeout) first brings the limit down
//!   to the most requests that were in flight since the last increase (a limit above what was
//!   used says nothing), then one lower per refusal: `n` refusals out of `c` requests leave
//!   about `c - n`, what the server accepted;
//! - for [`HOLD`] after a refusal the limit does not grow (the refused requests come back after
//!   the server's `Retry-After`, one second from kube-apiserver, and find the lower limit);
//!   after that, each `limit` requests served raise it by one, up to the ceiling.
//!
//! Guarantees: the limit stays within `[floor, ceiling]` (`floor >= 1`); never more requests
//! in flight than the limit; a request over the limit waits in a first-come first-served queue
//! (never an error); a waiter that is dropped gives its turn (or its slot) to the next.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::flow_stats::FlowStats;

/// How long after a refusal the limit does not grow.
pub const HOLD: Duration = Duration::from_secs(2);

/// The range the limit moves in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InflightBounds {
    /// The lowest limit (at least 1).
    pub floor: u32,
    /// The highest limit, and the first.
    pub ceiling: u32,
}

impl Default for InflightBounds {
    /// 1 to 256: a refusing server may bring the client down to one request at a time; a
    /// healthy one never limits the applier's and the reconcilers' concurrency (32 applies per
    /// reconcile, a few reconciles at once).
    fn default() -> Self {
        InflightBounds { floor: 1, ceiling: 256 }
    }
}

/// How a request ended, for the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered it (any status but a refusal).
    Served,
    /// The server refused it for load or it timed out.
    Refused,
    /// Neither (a connection error, a dropped request): the limit is left as it is.
    Other,
}

/// The limit's arithmetic, apart from any clock or queue.
#[derive(Debug)]
pub struct Window {
    floor: u32,
    ceiling: u32,
    limit: u32,
    in_flight: u32,
    /// Most requests in flight at once since the last increase.
    peak: u32,
    /// Requests served since the last change.
    served: u32,
    /// No growth before this instant.
    hold_until: Option<Instant>,
}

impl Window {
    /// A window at its ceiling.
    pub fn new(bounds: InflightBounds) -> Self {
        let floor = bounds.floor.max(1);
        let ceiling = bounds.ceiling.max(floor);
        Window {
            floor,
            ceiling,
            limit: ceiling,
            in_flight: 0,
            peak: 0,
            served: 0,
            hold_until: None,
        }
    }

    /// The limit now.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// True when one more request may be sent.
    pub fn has_room(&self) -> bool {
        self.in_flight < self.limit
    }

    /// A request is sent (the caller checked [`Window::has_room`]).
    pub fn start(&mut self) {
        self.in_flight = self.in_flight.saturating_add(1);
        self.peak = self.peak.max(self.in_flight);
    }

    /// A request ended at `now` with `outcome`.
    pub fn finish(&mut self, outcome: Outcome, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Served => {
                if self.hold_until.is_some_and(|until| now < until) {
                    return;
                }
                self.served = self.served.saturating_add(1);
                if self.served >= self.limit && self.limit < self.ceiling {
                    self.limit += 1;
                    self.served = 0;
                    self.peak = self.in_flight;
                }
            }
            Outcome::Refused => {
                self.limit = self.limit.min(self.peak.max(1)).saturating_sub(1).max(self.floor);
                self.peak = self.peak.min(self.limit);
                self.served = 0;
                self.hold_until = Some(now + HOLD);
            }
            Outcome::Other => {}
        }
    }
}

struct Queue {
    window: Window,
    waiters: VecDeque<oneshot::Sender<()>>,
}

/// The shared limit with its queue of waiting requests.
pub struct AdaptiveLimit {
    queue: Mutex<Queue>,
    stats: FlowStats,
}

impl AdaptiveLimit {
    /// A limit within `bounds`, published into `stats`.
    pub fn new(bounds: InflightBounds, stats: FlowStats) -> Arc<Self> {
        let window = Window::new(bounds);
        stats.start_at(window.limit());
        Arc::new(AdaptiveLimit {
            queue: Mutex::new(Queue {
                window,
                waiters: VecDeque::new(),
            }),
            stats,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot to send one request: at once when there is room and nobody waits, else in turn.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        let rx = {
            let mut q = self.lock();
            if q.waiters.is_empty() && q.window.has_room() {
                q.window.start();
                self.stats.set_queue(q.window.in_flight(), 0);
                return Permit::new(self.clone());
            }
            let (tx, rx) = oneshot::channel();
            q.waiters.push_back(tx);
            self.stats.set_queue(q.window.in_flight(), q.waiters.len());
            rx
        };
        let mut turn = Turn {
            rx,
            limit: self.clone(),
            granted: false,
        };
        // The queue drops a sender unsent only for a waiter that left, never for this one.
        let _ = (&mut turn.rx).await;
        turn.granted = true;
        Permit::new(self.clone())
    }

    /// Ends a request and hands the free slots to the waiters, first come first served.
    fn finish(&self, outcome: Outcome) {
        let mut q = self.lock();
        q.window.finish(outcome, Instant::now());
        if outcome == Outcome::Refused {
            self.stats.count_throttled();
        }
        while q.window.has_room() {
            let Some(tx) = q.waiters.pop_front() else { break };
            // A waiter that went away gets nothing; its slot goes to the next.
            if tx.send(()).is_ok() {
                q.window.start();
            }
        }
        self.stats.set_limit(q.window.limit());
        self.stats.set_queue(q.window.in_flight(), q.waiters.len());
    }
}

/// A waiter's place in the queue; dropped before its turn, it leaves the queue, and dropped
/// after being handed a slot it did not use, it frees the slot.
struct Turn {
    rx: oneshot::Receiver<()>,
    limit: Arc<AdaptiveLimit>,
    granted: bool,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.granted {
            return;
        }
        self.rx.close();
        if self.rx.try_recv().is_ok() {
            self.limit.finish(Outcome::Other);
        }
    }
}

/// One request's slot under the limit; [`Permit::finish`] says how it ended (dropped without
/// it: [`Outcome::Other`]).
pub struct Permit {
    limit: Option<Arc<AdaptiveLimit>>,
}

impl Permit {
    fn new(limit: Arc<AdaptiveLimit>) -> Self {
        Permit { limit: Some(limit) }
    }

    /// Frees the slot, telling the limit how the request ended.
    pub fn finish(mut self, outcome: Outcome) {
        if let Some(limit) = self.limit.take() {
            limit.finish(outcome);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(limit) = self.limit.take() {
            limit.finish(Outcome::Other);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(floor: u32, ceiling: u32) -> InflightBounds {
        InflightBounds { floor, ceiling }
    }

    /// Sends `n` requests at once and ends them with `outcomes`, in order.
    fn round(w: &mut Window, outcomes: &[Outcome], now: Instant) {
        for _ in outcomes {
            assert!(w.has_room());
            w.start();
        }
        for o in outcomes {
            w.finish(*o, now);
        }
    }

    #[test]
    fn refusals_bring_the_limit_to_what_the_server_accepted() {
        let t0 = Instant::now();
        let mut w = Window::new(bounds(1, 256));
        assert_eq!(w.limit(), 256);
        // 32 sent, the server accepted 1: the limit goes to the floor, not to 256 - 31.
        let mut outcomes = vec![Outcome::Served];
        outcomes.extend([Outcome::Refused; 31]);
        round(&mut w, &outcomes, t0);
        assert_eq!(w.limit(), 1);
        // 100 sent, half refused (interleaved): about 50 left.
        let mut w = Window::new(bounds(1, 256));
        let outcomes: Vec<Outcome> = (0..100)
            .map(|i| if i % 2 == 0 { Outcome::Served } else { Outcome::Refused })
            .collect();
        round(&mut w, &outcomes, t0);
        assert!((48..=52).contains(&w.limit()), "{}", w.limit());
    }

    #[test]
    fn the_limit_never_leaves_its_bounds() {
        let t0 = Instant::now();
        let mut w = Window::new(bounds(4, 8));
        round(&mut w, &[Outcome::Refused; 8], t0);
        assert_eq!(w.limit(), 4);
        round(&mut w, &[Outcome::Refused; 4], t0);
        assert_eq!(w.limit(), 4);
        let later = t0 + HOLD * 10;
        for _ in 0..100 {
            round(&mut w, &[Outcome::Served], later);
        }
        assert_eq!(w.limit(), 8);
        // A floor of 0 is 1; a ceiling under the floor is the floor.
        let w = Window::new(bounds(0, 0));
        assert_eq!(w.limit(), 1);
    }

    #[test]
    fn growth_waits_for_the_hold_then_takes_limit_successes_per_step() {
        let t0 = Instant::now();
        let mut w = Window::new(bounds(1, 256));
        round(&mut w, &[Outcome::Refused; 4], t0);
        assert_eq!(w.limit(), 1);
        // Served requests within the hold do not raise it.
        for _ in 0..50 {
            round(&mut w, &[Outcome::Served], t0 + HOLD / 2);
        }
        assert_eq!(w.limit(), 1);
        // After it: 1 success -> 2, 2 more -> 3, 3 more -> 4.
        let later = t0 + HOLD;
        round(&mut w, &[Outcome::Served], later);
        assert_eq!(w.limit(), 2);
        round(&mut w, &[Outcome::Served; 2], later);
        assert_eq!(w.limit(), 3);
        round(&mut w, &[Outcome::Served; 2], later);
        assert_eq!(w.limit(), 3);
        round(&mut w, &[Outcome::Served], later);
        assert_eq!(w.limit(), 4);
    }

    #[test]
    fn other_outcomes_change_nothing_but_the_count() {
        let t0 = Instant::now();
        let mut w = Window::new(bounds(1, 4));
        round(&mut w, &[Outcome::Refused], t0);
        let before = w.limit();
        round(&mut w, &[Outcome::Other; 1], t0 + HOLD * 2);
        assert_eq!(w.limit(), before);
        assert_eq!(w.in_flight(), 0);
    }

    #[tokio::test]
    async fn requests_over_the_limit_wait_in_order_and_get_freed_slots() {
        let stats = FlowStats::default();
        let limit = AdaptiveLimit::new(bounds(1, 2), stats.clone());
        let a = limit.acquire().await;
        let b = limit.acquire().await;
        assert_eq!(stats.in_flight(), 2);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for i in 0..3 {
            let (limit, order) = (limit.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let p = limit.acquire().await;
                order.lock().unwrap().push(i);
                p.finish(Outcome::Served);
            }));
            // Each is queued before the next asks.
            while stats.waiting() < i + 1 {
                tokio::task::yield_now().await;
            }
        }
        assert_eq!(stats.waiting(), 3);
        // A refusal lowers the limit to 1: freeing `a` frees nothing (b still holds the slot).
        a.finish(Outcome::Refused);
        assert_eq!(stats.limit(), 1);
        assert_eq!(stats.lowest_limit(), 1);
        assert_eq!(stats.throttled(), 1);
        assert_eq!(stats.waiting(), 3);
        b.finish(Outcome::Served);
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
        assert_eq!(stats.in_flight(), 0);
        assert_eq!(stats.waiting(), 0);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_loses_its_turn_not_the_slot() {
        let stats = FlowStats::default();
        let limit = AdaptiveLimit::new(bounds(1, 1), stats.clone());
        let held = limit.acquire().await;
        // A waiter dropped while queued.
        let gone = tokio::time::timeout(Duration::from_millis(20), limit.acquire()).await;
        assert!(gone.is_err());
        let next = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.acquire().await.finish(Outcome::Served) })
        };
        while stats.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        held.finish(Outcome::Served);
        next.await.unwrap();
        assert_eq!(stats.in_flight(), 0);
        // And a permit dropped unfinished frees its slot.
        drop(limit.acquire().await);
        assert_eq!(stats.in_flight(), 0);
        limit.acquire().await.finish(Outcome::Served);
    }
}
