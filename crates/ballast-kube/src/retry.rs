//! Retries of API requests the server did not serve: a tower layer under kube's client, so it
//! covers every request Ballast makes (discovery, reads, applies, deletes, watches).
//!
//! Guarantees:
//! - `429 Too Many Requests`, and `503 Service Unavailable` with `Retry-After`, are retried for
//!   any verb: the server says it did not process the request. `Retry-After` (seconds) is
//!   honoured, up to [`RetryPolicy::max_retry_after`];
//! - other `5xx` are retried only for requests that are safe to send twice: reads (`GET`,
//!   `HEAD`, `OPTIONS`), server-side apply (`PATCH` as `application/apply-patch+yaml`, which
//!   converges to the same object), and `DELETE` with a UID precondition (it cannot hit a
//!   newer object of the same name). A create, an update or a merge patch that failed with a
//!   `500` may have been applied, and is returned to the caller as is;
//! - at most [`RetryPolicy::max_retries`] retries, with exponential backoff and jitter; the last
//!   response is returned as it came, so the caller's error names the real status;
//! - a request whose body cannot be copied (a stream) is sent once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{Method, Request, Response, StatusCode};
use kube::client::Body;

/// How many times and how long to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubled at each retry.
    pub base: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured (a longer one is cut to this).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 5 retries, 200 ms doubling up to 5 s, `Retry-After` up to 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based) of a request that got `status`, or
    /// `None` when it must not be retried. `resend_safe`: the request may be sent twice
    /// ([`resend_safe`]).
    pub fn delay(
        &self,
        status: StatusCode,
        retry_after: Option<&str>,
        resend_safe: bool,
        attempt: u32,
    ) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        let after = retry_after.and_then(parse_retry_after);
        let not_processed =
            status == StatusCode::TOO_MANY_REQUESTS || (status == StatusCode::SERVICE_UNAVAILABLE && after.is_some());
        let transient = matches!(status.as_u16(), 500 | 502 | 503 | 504);
        if !(not_processed || (transient && resend_safe)) {
            return None;
        }
        Some(match after {
            Some(after) => after.min(self.max_retry_after),
            None => self.backoff(attempt),
        })
    }

    /// `base * 2^attempt`, at most `max_delay`, less up to a fifth of it at random (so many
    /// clients refused at once do not come back at once).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let full = self.base.saturating_mul(1u32 << attempt.min(16)).min(self.max_delay);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        full - full / 5 * (nanos % 1000) / 1000
    }
}

/// `Retry-After` in seconds. An HTTP date (which the Kubernetes API server does not send) is
/// not understood and falls back to the backoff.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// True when sending the request twice has the effect of sending it once: reads, server-side
/// apply, and deletes with a UID precondition.
pub fn resend_safe(method: &Method, content_type: Option<&str>, body: Option<&[u8]>) -> bool {
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => true,
        Method::PATCH => content_type.is_some_and(|c| c.starts_with("application/apply-patch")),
        Method::DELETE => body
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .is_some_and(|v| v["preconditions"]["uid"].as_str().is_some_and(|u| !u.is_empty())),
        _ => false,
    }
}

/// The layer: wraps the HTTP client under kube's own layers.
#[derive(Clone, Copy, Debug, Default)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// With a policy.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryLayer { policy }
    }
}

impl<S> tower::Layer<S> for RetryLayer {
    type Service = Retry<S>;
    fn layer(&self, inner: S) -> Retry<S> {
        Retry {
            inner,
            policy: self.policy,
        }
    }
}

/// The service made by [`RetryLayer`].
#[derive(Clone, Debug)]
pub struct Retry<S> {
    inner: S,
    policy: RetryPolicy,
}

/// A copy of `req` to send again, when its body can be copied.
fn copy(req: &Request<Body>) -> Option<Request<Body>> {
    let body = req.body().try_clone()?;
    let mut out = Request::new(body);
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = req.uri().clone();
    *out.version_mut() = req.version();
    *out.headers_mut() = req.headers().clone();
    Some(out)
}

impl<S, B> tower::Service<Request<Body>> for Retry<S>
where
    S: tower::Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // The service that was polled ready goes into the future; a clone stays behind.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let policy = self.policy;
        Box::pin(async move {
            let content_type = req
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            // Only a delete's body (its preconditions) decides whether resending is safe.
            let body_bytes = match req.body().try_clone() {
                Some(b) if req.method() == Method::DELETE => b.collect_bytes().await.ok(),
                _ => None,
            };
            let safe = resend_safe(req.method(), content_type.as_deref(), body_bytes.as_deref());
            let method = req.method().clone();
            let path = req.uri().path().to_string();
            let mut req = req;
            let mut attempt = 0;
            loop {
                let again = copy(&req);
                let response = inner.call(req).await?;
                let Some(next) = again else { return Ok(response) };
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let Some(delay) = policy.delay(response.status(), retry_after.as_deref(), safe, attempt) else {
                    return Ok(response);
                };
                eprintln!(
                    "{method} {path}: {}; retrying in {:.1}s (retry {} of {})",
                    response.status(),
                    delay.as_secs_f64(),
                    attempt + 1,
                    policy.max_retries
                );
                drop(response);
                tokio::time::sleep(delay).await;
                attempt += 1;
                req = next;
                std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    #[test]
    fn too_many_requests_is_retried_for_every_verb_after_retry_after() {
        let p = policy();
        assert_eq!(
            p.delay(StatusCode::TOO_MANY_REQUESTS, Some("1"), false, 0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            p.delay(StatusCode::TOO_MANY_REQUESTS, Some(" 3 "), false, 4),
            Some(Duration::from_secs(3))
        );
        // A long Retry-After is cut; a missing or unreadable one falls back to the backoff.
        assert_eq!(
            p.delay(StatusCode::TOO_MANY_REQUESTS, Some("3600"), false, 0),
            Some(Duration::from_secs(30))
        );
        let d = p.delay(
            StatusCode::TOO_MANY_REQUESTS,
            Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            false,
            1,
        );
        assert!(
            d.is_some_and(|d| d <= Duration::from_millis(400) && d >= Duration::from_millis(320)),
            "{d:?}"
        );
        assert_eq!(
            p.delay(StatusCode::TOO_MANY_REQUESTS, Some("1"), false, 5),
            None,
            "bounded"
        );
    }

    #[test]
    fn server_errors_are_retried_only_when_resending_is_safe() {
        let p = policy();
        assert!(p.delay(StatusCode::SERVICE_UNAVAILABLE, Some("2"), false, 0).is_some());
        assert!(p.delay(StatusCode::SERVICE_UNAVAILABLE, None, false, 0).is_none());
        assert!(p.delay(StatusCode::SERVICE_UNAVAILABLE, None, true, 0).is_some());
        assert!(p.delay(StatusCode::INTERNAL_SERVER_ERROR, None, false, 0).is_none());
        assert!(p.delay(StatusCode::GATEWAY_TIMEOUT, None, true, 0).is_some());
        assert!(p.delay(StatusCode::NOT_IMPLEMENTED, None, true, 0).is_none());
        assert!(p.delay(StatusCode::CONFLICT, None, true, 0).is_none());
        assert!(p.delay(StatusCode::NOT_FOUND, None, true, 0).is_none());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let p = policy();
        for (attempt, full) in [
            (0, 200),
            (1, 400),
            (2, 800),
            (3, 1600),
            (4, 3200),
            (5, 5000),
            (30, 5000),
        ] {
            let d = p.backoff(attempt);
            let full = Duration::from_millis(full);
            assert!(d <= full && d >= full - full / 5, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn which_requests_may_be_sent_twice() {
        assert!(resend_safe(&Method::GET, None, None));
        assert!(resend_safe(
            &Method::PATCH,
            Some("application/apply-patch+yaml"),
            Some(b"{}")
        ));
        assert!(!resend_safe(
            &Method::PATCH,
            Some("application/merge-patch+json"),
            Some(b"{}")
        ));
        assert!(!resend_safe(&Method::POST, Some("application/json"), Some(b"{}")));
        assert!(!resend_safe(&Method::PUT, Some("application/json"), Some(b"{}")));
        assert!(!resend_safe(
            &Method::DELETE,
            None,
            Some(br#"{"propagationPolicy":"Background"}"#)
        ));
        assert!(!resend_safe(&Method::DELETE, None, None));
        assert!(resend_safe(
            &Method::DELETE,
            Some("application/json"),
            Some(br#"{"preconditions":{"uid":"0f1e"}}"#)
        ));
    }
}
