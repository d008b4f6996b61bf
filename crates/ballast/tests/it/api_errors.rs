//! API errors: `ballast` talks to the real API server through a loopback proxy that refuses the
//! first requests with 429 or 503, and still succeeds.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use crate::support::*;

struct Flaky {
    client: kube::Client,
    /// Requests refused so far.
    refused: AtomicU32,
    /// Refuse this many requests...
    refuse: u32,
    /// ...with this status...
    status: StatusCode,
    /// ...and this Retry-After.
    retry_after: Option<&'static str>,
    /// Refuse every watch request with 403 (lists still work).
    refuse_watches: bool,
}

/// A plain-HTTP proxy on 127.0.0.1 in front of the test API server (it forwards with the test
/// kubeconfig's credentials), refusing the first `refuse` requests. Stops with the process.
struct FlakyProxy {
    kubeconfig: PathBuf,
    state: Arc<Flaky>,
    _dir: tempfile::TempDir,
}

impl FlakyProxy {
    fn start(refuse: u32, status: StatusCode, retry_after: Option<&'static str>) -> Self {
        Self::start_with(refuse, status, retry_after, false)
    }

    /// A proxy that forwards everything but watches, which it refuses with 403.
    fn refusing_watches() -> Self {
        Self::start_with(0, StatusCode::OK, None, true)
    }

    fn start_with(refuse: u32, status: StatusCode, retry_after: Option<&'static str>, refuse_watches: bool) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let kubeconfig = env().kubeconfig.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
                let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                    .await
                    .unwrap();
                let state = Arc::new(Flaky {
                    client: kube::Client::try_from(config).unwrap(),
                    refused: AtomicU32::new(0),
                    refuse,
                    status,
                    retry_after,
                    refuse_watches,
                });
                tx.send(state.clone()).unwrap();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(forward).with_state(state);
                let _ = axum::serve(listener, app).await;
            });
        });
        let state = rx.recv().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: proxy\n  cluster:\n    server: http://{addr}\n\
                 users:\n- name: anonymous\n  user: {{}}\ncontexts:\n- name: proxy\n  context:\n    cluster: proxy\n    \
                 user: anonymous\n    namespace: default\ncurrent-context: proxy\n"
            ),
        )
        .unwrap();
        FlakyProxy {
            kubeconfig,
            state,
            _dir: dir,
        }
    }

    fn refused(&self) -> u32 {
        self.state.refused.load(Ordering::SeqCst)
    }

    fn ballast(&self, args: &[&str]) -> Run {
        ballast_at(&self.kubeconfig, args)
    }
}

async fn forward(State(st): State<Arc<Flaky>>, req: Request) -> Response {
    let refuse = st
        .refused
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < st.refuse).then_some(n + 1))
        .is_ok();
    let watch = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    if st.refuse_watches && watch {
        let mut r = Response::new(Body::from(
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"watch refused by the test proxy","reason":"Forbidden","code":403}"#,
        ));
        *r.status_mut() = StatusCode::FORBIDDEN;
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return r;
    }
    if refuse {
        let mut r = Response::new(Body::from(
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"try later","code":429}"#,
        ));
        *r.status_mut() = st.status;
        if let Some(after) = st.retry_after {
            r.headers_mut().insert("retry-after", HeaderValue::from_static(after));
        }
        return r;
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let mut out = axum::http::Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "host" | "authorization" | "connection" | "content-length"
        ) {
            out = out.header(name, value);
        }
    }
    let request = out.body(kube::client::Body::from(bytes.to_vec())).unwrap();
    match st.client.send(request).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            parts.headers.remove("connection");
            parts.headers.remove("transfer-encoding");
            parts.headers.remove("content-length");
            Response::from_parts(parts, Body::new(body))
        }
        Err(e) => {
            let mut r = Response::new(Body::from(e.to_string()));
            *r.status_mut() = StatusCode::BAD_GATEWAY;
            r
        }
    }
}

fn manifests(ns: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cm.yaml"), configmap(ns, "through-proxy", "v1")).unwrap();
    std::fs::write(dir.path().join("deploy.yaml"), deployment(ns, "web", 1)).unwrap();
    dir
}

#[test]
fn sync_succeeds_when_the_api_server_answers_429_with_retry_after() {
    let ns = namespace("api-429");
    let proxy = FlakyProxy::start(3, StatusCode::TOO_MANY_REQUESTS, Some("1"));
    let dir = manifests(&ns);
    let path = dir.path().display().to_string();
    let started = std::time::Instant::now();
    let run = proxy.ballast(&["sync", "--name", &ns, "--path", &path]).ok();
    let took = started.elapsed();
    assert_eq!(proxy.refused(), 3, "the proxy refused three requests");
    assert!(run.stderr.contains("429"), "retries are logged: {}", run.stderr);
    // Discovery sends requests concurrently: the three waits may overlap, each lasts 1s.
    assert!(
        took >= std::time::Duration::from_secs(1),
        "Retry-After honoured: {took:?}"
    );
    assert!(get("configmap", Some(&ns), "through-proxy").is_some());
    assert!(get("deployment", Some(&ns), "web").is_some());
}

#[test]
fn sync_succeeds_when_the_api_server_answers_503_to_reads() {
    let ns = namespace("api-503");
    // No Retry-After: only requests that are safe to resend are retried; the first ones
    // (discovery) are reads.
    let proxy = FlakyProxy::start(2, StatusCode::SERVICE_UNAVAILABLE, None);
    let dir = manifests(&ns);
    let path = dir.path().display().to_string();
    let run = proxy.ballast(&["sync", "--name", &ns, "--path", &path]).ok();
    assert_eq!(proxy.refused(), 2);
    assert!(run.stderr.contains("503"), "{}", run.stderr);
    assert!(get("configmap", Some(&ns), "through-proxy").is_some());
}

#[test]
fn a_server_that_keeps_refusing_is_an_error_not_a_hang() {
    let ns = namespace("api-down");
    let proxy = FlakyProxy::start(1000, StatusCode::SERVICE_UNAVAILABLE, Some("0"));
    let dir = manifests(&ns);
    let path = dir.path().display().to_string();
    let run = proxy.ballast(&["sync", "--name", &ns, "--path", &path]).fails();
    assert!(run.code != 101, "no panic: {}", run.stderr);
    assert!(
        proxy.refused() >= 6,
        "the first request was tried 6 times: {}",
        proxy.refused()
    );
    assert!(get("configmap", Some(&ns), "through-proxy").is_none());
}

#[test]
fn a_watch_that_cannot_be_established_turns_readyz_red_and_is_logged() {
    let ns = namespace("api-watch");
    install();
    let proxy = FlakyProxy::refusing_watches();
    let controller = ControllerProcess::start_with(&proxy.kubeconfig, &ns, &["--watch-unready-after", "2s"]);
    let probe = controller.probe_url();
    // Every watch fails; /readyz lists those past the threshold, which all are soon. Several
    // watches read GitRepositories (the sources' own, the Kustomizations' and HelmCharts' view
    // of them): one of them is named.
    let body = wait_for("/readyz to fail naming a GitRepository watch", 30, || {
        let (code, body) = http_get(&probe, "/readyz");
        (code == 503 && body.contains("watch GitRepository")).then_some(body)
    });
    assert!(body.contains(" failing for "), "{body}");
    assert!(body.contains("watch refused"), "names the error: {body}");
    // Each watch logs its own failure (they start independently: wait for both).
    wait_for("both watches' failures logged", 30, || {
        let log = controller.log();
        (log.contains("watch GitRepository: failed") && log.contains("watch Kustomization: failed")).then_some(())
    });
}
