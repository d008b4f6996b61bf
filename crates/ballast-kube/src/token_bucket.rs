//! A client-side rate limit in client-go's shape: a token bucket of `burst` tokens refilled at
//! `qps` tokens per second, one token per request.
//!
//! Guarantees:
//! - over any interval of `t` seconds at most `burst + qps * t` requests pass;
//! - waiters are served in the order they asked (each reserves its token when it asks, so a
//!   later caller never overtakes an earlier one), and no caller waits longer than
//!   `(1 + callers waiting before it) / qps` seconds;
//! - a bucket with `qps <= 0` (or not finite) lets everything through at once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The bucket's arithmetic, apart from any clock, so it can be tested with chosen instants.
#[derive(Debug)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    /// Tokens available at `at`; negative when callers have reserved tokens not yet refilled.
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket: `burst` requests may pass at once (at least one), then `qps` per second.
    pub fn new(qps: f64, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            qps,
            burst,
            tokens: burst,
            at: now,
        }
    }

    /// True when the bucket limits nothing (`qps` not positive or not finite).
    pub fn unlimited(&self) -> bool {
        !(self.qps.is_finite() && self.qps > 0.0)
    }

    /// Takes one token at `now` and returns how long the caller must wait before sending
    /// (zero when a token was there).
    pub fn reserve(&mut self, now: Instant) -> Duration {
        if self.unlimited() {
            return Duration::ZERO;
        }
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.qps).min(self.burst);
        self.at = self.at.max(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.qps)
        }
    }
}

/// A [`TokenBucket`] shared by concurrent callers.
#[derive(Debug)]
pub struct RateLimit {
    bucket: Mutex<TokenBucket>,
}

impl RateLimit {
    /// `qps` requests per second after a burst of `burst`; `qps <= 0`: no limit.
    pub fn new(qps: f64, burst: u32) -> Self {
        RateLimit {
            bucket: Mutex::new(TokenBucket::new(qps, burst, Instant::now())),
        }
    }

    /// Waits for this caller's token. Returns the time waited.
    pub async fn wait(&self) -> Duration {
        let delay = {
            let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
            bucket.reserve(Instant::now())
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_passes_at_once_then_requests_are_spaced_by_one_over_qps() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 3, t0);
        for _ in 0..3 {
            assert_eq!(b.reserve(t0), Duration::ZERO);
        }
        // The bucket is empty: the next callers are spaced 100 ms apart, in order.
        let waits: Vec<Duration> = (0..3).map(|_| b.reserve(t0)).collect();
        let close = |d: Duration, want: Duration| d.abs_diff(want) < ms(1);
        assert!(
            close(waits[0], ms(100)) && close(waits[1], ms(200)) && close(waits[2], ms(300)),
            "{waits:?}"
        );
        // Once the reserved tokens are refilled (0.3 s) and one more second passed, the bucket
        // is full again but never fuller than its burst.
        let later = t0 + ms(10_000);
        for _ in 0..3 {
            assert_eq!(b.reserve(later), Duration::ZERO);
        }
        assert!(close(b.reserve(later), ms(100)));
    }

    #[test]
    fn a_request_waits_only_for_the_part_of_a_token_missing() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(4.0, 1, t0);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        // 150 ms later 0.6 of a token is back: 100 ms more to wait.
        let d = b.reserve(t0 + ms(150));
        assert!(d.abs_diff(ms(100)) < ms(1), "{d:?}");
    }

    #[test]
    fn a_clock_that_goes_back_does_not_refill() {
        let t0 = Instant::now() + ms(1000);
        let mut b = TokenBucket::new(1.0, 1, t0);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        let d = b.reserve(t0 - ms(500));
        assert!(d.abs_diff(ms(1000)) < ms(1), "{d:?}");
    }

    #[test]
    fn no_positive_qps_means_no_limit() {
        let t0 = Instant::now();
        for qps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut b = TokenBucket::new(qps, 1, t0);
            assert!(b.unlimited());
            for _ in 0..1000 {
                assert_eq!(b.reserve(t0), Duration::ZERO);
            }
        }
    }
}
