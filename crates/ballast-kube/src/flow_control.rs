//! Flow control of the requests to the API server: a tower layer under the retry layer, so each
//! attempt (not each retried request) takes a token of the client-side rate limit
//! ([`crate::token_bucket`]) and a slot of the adaptive in-flight limit
//! ([`crate::adaptive_limit`]), and a retry waiting out its `Retry-After` holds neither.
//!
//! Guarantees:
//! - watches (`watch=true`) are neither rate limited nor counted in flight: they are long
//!   requests that would hold a slot for their whole life;
//! - the client-side rate limit (`--kube-api-qps`, `--kube-api-burst`) applies until a response
//!   shows that the server runs API Priority and Fairness (the `X-Kubernetes-PF-FlowSchema-UID`
//!   header), then the server's own fairness rules, as client-go's users Flux and kubectl do;
//! - every non-watch request waits for a slot under the in-flight limit (never an error), and
//!   frees it when the response's headers arrive; a `429`, a `503` with `Retry-After`, a `504`
//!   or a timed-out request lowers the limit, served requests raise it again;
//! - flow control never changes a request or a response.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::RETRY_AFTER;
use http::{Request, Response, StatusCode};

use crate::adaptive_limit::{AdaptiveLimit, InflightBounds, Outcome};
use crate::flow_stats::FlowStats;
use crate::token_bucket::RateLimit;

/// Default of `--kube-api-qps`: twice Flux's controllers' 50, because one Ballast process does
/// what Flux's source, kustomize and helm controllers do with a client each.
pub const DEFAULT_QPS: f64 = 100.0;

/// Default of `--kube-api-burst`: Flux's controllers' 300.
pub const DEFAULT_BURST: u32 = 300;

/// The header kube-apiserver sets on the responses API Priority and Fairness classified.
pub const FAIRNESS_HEADER: &str = "x-kubernetes-pf-flowschema-uid";

/// How hard the client may press on the API server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClientLimits {
    /// Requests per second after the burst (0 or less: no client-side rate limit).
    pub qps: f64,
    /// Requests that may pass at once before the rate applies.
    pub burst: u32,
    /// Range of the adaptive in-flight limit.
    pub inflight: InflightBounds,
}

impl Default for ClientLimits {
    /// [`DEFAULT_QPS`], [`DEFAULT_BURST`], [`InflightBounds::default`].
    fn default() -> Self {
        ClientLimits {
            qps: DEFAULT_QPS,
            burst: DEFAULT_BURST,
            inflight: InflightBounds::default(),
        }
    }
}

/// How a response or an error counts for the in-flight limit.
pub fn outcome(status: StatusCode, retry_after: bool) -> Outcome {
    match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::GATEWAY_TIMEOUT => Outcome::Refused,
        StatusCode::SERVICE_UNAVAILABLE if retry_after => Outcome::Refused,
        s if s.is_server_error() => Outcome::Other,
        _ => Outcome::Served,
    }
}

/// True when `error` (or an error it wraps) is an I/O timeout (the connector's read or write
/// timeout).
pub fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    // Error chains are short; the bound only guards against a cycle.
    for _ in 0..16 {
        let Some(e) = current else { return false };
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        current = e.source();
    }
    false
}

struct Shared {
    rate: RateLimit,
    limit: Arc<AdaptiveLimit>,
    stats: FlowStats,
}

/// The layer; every service it makes shares one rate limit and one in-flight limit.
#[derive(Clone)]
pub struct FlowLayer {
    shared: Arc<Shared>,
}

impl FlowLayer {
    /// With `limits`, publishing into `stats`.
    pub fn new(limits: &ClientLimits, stats: FlowStats) -> Self {
        FlowLayer {
            shared: Arc::new(Shared {
                rate: RateLimit::new(limits.qps, limits.burst),
                limit: AdaptiveLimit::new(limits.inflight, stats.clone()),
                stats,
            }),
        }
    }
}

impl<S> tower::Layer<S> for FlowLayer {
    type Service = Flow<S>;
    fn layer(&self, inner: S) -> Flow<S> {
        Flow {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service made by [`FlowLayer`].
#[derive(Clone)]
pub struct Flow<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, ReqBody, B> tower::Service<Request<ReqBody>> for Flow<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: std::error::Error + Send + 'static,
    ReqBody: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready goes into the future; a clone stays behind.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let shared = self.shared.clone();
        Box::pin(async move {
            if crate::requests::is_watch(req.uri().query()) {
                return inner.call(req).await;
            }
            if !shared.stats.server_fairness() && !shared.rate.wait().await.is_zero() {
                shared.stats.count_rate_limited();
            }
            let permit = shared.limit.acquire().await;
            let result = inner.call(req).await;
            let outcome = match &result {
                Ok(response) => {
                    if response.headers().contains_key(FAIRNESS_HEADER) {
                        shared.stats.saw_server_fairness();
                    }
                    outcome(response.status(), response.headers().contains_key(RETRY_AFTER))
                }
                Err(e) if timed_out(e) => Outcome::Refused,
                Err(_) => Outcome::Other,
            };
            permit.finish(outcome);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_the_statuses_that_say_the_server_is_loaded() {
        assert_eq!(outcome(StatusCode::TOO_MANY_REQUESTS, true), Outcome::Refused);
        assert_eq!(outcome(StatusCode::TOO_MANY_REQUESTS, false), Outcome::Refused);
        assert_eq!(outcome(StatusCode::SERVICE_UNAVAILABLE, true), Outcome::Refused);
        assert_eq!(outcome(StatusCode::GATEWAY_TIMEOUT, false), Outcome::Refused);
        assert_eq!(outcome(StatusCode::SERVICE_UNAVAILABLE, false), Outcome::Other);
        assert_eq!(outcome(StatusCode::INTERNAL_SERVER_ERROR, false), Outcome::Other);
        for served in [
            StatusCode::OK,
            StatusCode::CREATED,
            StatusCode::NOT_FOUND,
            StatusCode::CONFLICT,
            StatusCode::UNPROCESSABLE_ENTITY,
        ] {
            assert_eq!(outcome(served, false), Outcome::Served);
        }
    }

    #[derive(Debug)]
    struct Wrapper(std::io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "request failed")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_timeout_is_found_anywhere_in_the_error_chain() {
        let timeout = Wrapper(std::io::Error::new(std::io::ErrorKind::TimedOut, "read"));
        assert!(timed_out(&timeout));
        let refused = Wrapper(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connect"));
        assert!(!timed_out(&refused));
    }

    #[test]
    fn defaults_are_documented_ones() {
        let d = ClientLimits::default();
        assert_eq!((d.qps, d.burst), (100.0, 300));
        assert_eq!((d.inflight.floor, d.inflight.ceiling), (1, 256));
    }
}
