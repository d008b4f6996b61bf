//! Counts of the requests sent to the API server, by verb: a tower layer under the retry layer,
//! so every attempt that reaches the wire is counted once (discovery, reads, watches, writes).
//!
//! Guarantees: counting never changes a request; the counts only grow; clones of a
//! [`RequestCounts`] share the same counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use http::{Method, Request};

/// The verbs counted, in the order [`RequestCounts::snapshot`] returns them. `discovery` is a
/// read of `/api`, `/apis` or a group-version; `list` a read of a collection, `get` of one
/// object (or its subresource), `watch` any request with `watch=true`.
pub const VERBS: [&str; 9] = [
    "discovery",
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "other",
];

/// Shared request counters (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct RequestCounts {
    counts: Arc<[AtomicU64; VERBS.len()]>,
}

impl RequestCounts {
    /// Counts one request of `method` to `path` with `query`.
    pub fn count(&self, method: &Method, path: &str, query: Option<&str>) {
        self.counts[verb_index(method, path, query)].fetch_add(1, Ordering::Relaxed);
    }

    /// Every request counted so far.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// `(verb, count)` for every verb of [`VERBS`], in that order.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        VERBS
            .iter()
            .zip(self.counts.iter())
            .map(|(v, c)| (*v, c.load(Ordering::Relaxed)))
            .collect()
    }
}

/// True when a request's query asks for a watch (`watch=true` or `watch=1`): a long request that
/// stays open as long as the server streams events.
pub fn is_watch(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"))
}

/// The index in [`VERBS`] of a request, from its method, path and query alone.
fn verb_index(method: &Method, path: &str, query: Option<&str>) -> usize {
    let watch = is_watch(query);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // `/api/v1/...` or `/apis/<group>/<version>/...`; what follows names the resource.
    let rest: &[&str] = match segments.first() {
        Some(&"api") => segments.get(2..).unwrap_or(&[]),
        Some(&"apis") => segments.get(3..).unwrap_or(&[]),
        _ => &[],
    };
    let rest = match rest {
        ["namespaces", _, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    let name = |v: &str| VERBS.iter().position(|x| *x == v).unwrap_or(VERBS.len() - 1);
    match *method {
        Method::GET if watch => name("watch"),
        Method::GET if rest.is_empty() => name("discovery"),
        Method::GET if rest.len() == 1 => name("list"),
        Method::GET => name("get"),
        Method::POST => name("create"),
        Method::PUT => name("update"),
        Method::PATCH => name("patch"),
        Method::DELETE => name("delete"),
        _ => name("other"),
    }
}

/// The layer counting requests into a [`RequestCounts`].
#[derive(Clone, Debug)]
pub struct CountLayer {
    counts: RequestCounts,
}

impl CountLayer {
    /// Counts into `counts`.
    pub fn new(counts: RequestCounts) -> Self {
        CountLayer { counts }
    }
}

impl<S> tower::Layer<S> for CountLayer {
    type Service = Count<S>;
    fn layer(&self, inner: S) -> Count<S> {
        Count {
            inner,
            counts: self.counts.clone(),
        }
    }
}

/// The service made by [`CountLayer`].
#[derive(Clone, Debug)]
pub struct Count<S> {
    inner: S,
    counts: RequestCounts,
}

impl<S, B> tower::Service<Request<B>> for Count<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.counts.count(req.method(), req.uri().path(), req.uri().query());
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verb(method: Method, path: &str, query: Option<&str>) -> &'static str {
        VERBS[verb_index(&method, path, query)]
    }

    #[test]
    fn requests_are_named_by_verb() {
        assert_eq!(verb(Method::GET, "/api", None), "discovery");
        assert_eq!(verb(Method::GET, "/apis/apps/v1", None), "discovery");
        assert_eq!(verb(Method::GET, "/api/v1/namespaces", None), "list");
        assert_eq!(verb(Method::GET, "/api/v1/namespaces/fleet", None), "get");
        assert_eq!(
            verb(Method::GET, "/api/v1/namespaces/fleet/configmaps", Some("limit=500")),
            "list"
        );
        assert_eq!(verb(Method::GET, "/api/v1/namespaces/fleet/configmaps/a", None), "get");
        assert_eq!(
            verb(
                Method::GET,
                "/apis/apps/v1/deployments",
                Some("labelSelector=x&watch=true")
            ),
            "watch"
        );
        assert_eq!(
            verb(Method::GET, "/apis/apps/v1/namespaces/a/deployments/b/status", None),
            "get"
        );
        assert_eq!(
            verb(Method::PATCH, "/apis/apps/v1/namespaces/a/deployments/b", None),
            "patch"
        );
        assert_eq!(verb(Method::POST, "/api/v1/namespaces/a/events", None), "create");
        assert_eq!(verb(Method::PUT, "/api/v1/namespaces/a/configmaps/b", None), "update");
        assert_eq!(
            verb(Method::DELETE, "/api/v1/namespaces/a/configmaps/b", None),
            "delete"
        );
        assert_eq!(verb(Method::HEAD, "/api/v1/namespaces/a/configmaps/b", None), "other");
    }

    #[test]
    fn counts_grow_and_are_shared_by_clones() {
        let counts = RequestCounts::default();
        let clone = counts.clone();
        clone.count(&Method::GET, "/api/v1/namespaces/a/configmaps", None);
        clone.count(&Method::PATCH, "/api/v1/namespaces/a/configmaps/b", None);
        assert_eq!(counts.total(), 2);
        let snap = counts.snapshot();
        assert_eq!(snap.len(), VERBS.len());
        assert!(snap.contains(&("list", 1)) && snap.contains(&("patch", 1)));
    }
}
