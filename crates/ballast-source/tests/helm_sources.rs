//! Chart sources against real parts on loopback: an HTTP chart repository built with the
//! reference `helm package` and `helm repo index` served by a small static server (with and
//! without basic auth), Debian's `docker-registry` with an htpasswd user and charts pushed with
//! `helm push --plain-http`, and a small in-test registry for what docker-registry lacks (a
//! token service, tag pagination, blob redirects to another host).

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use ballast_source::helm_repo::{HelmLimits, HelmRepositoryClient, HelmRepositoryOptions, IndexCache};
use ballast_source::oci::{HELM_CHART_LAYER, LayerOperation, LayerSelector, OciClient, OciOptions, OciReference};
use ballast_source::{BasicAuth, ChartSourceError};
use ballast_testenv::charts::{ChartServer, Helm, HttpsChartServer, Pki, Registry, pushed_digest};
use base64::Engine;

const SECRET: &str = "s3cret-Pa55";

/// Runs helm with its configuration and caches in `home`.
fn run_helm(home: &Path, args: &[&str]) -> String {
    Helm::new(home).run(args)
}

/// Packages chart `name` at `version` into `out` with the reference helm; returns the archive.
fn package(home: &Path, out: &Path, name: &str, version: &str) -> PathBuf {
    let src = home.join("src").join(format!("{name}-{version}"));
    std::fs::create_dir_all(src.join("templates")).unwrap();
    std::fs::write(
        src.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"{version}\"\n"),
    )
    .unwrap();
    std::fs::write(src.join("values.yaml"), "replicas: 1\n").unwrap();
    std::fs::write(
        src.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  v: {{ .Chart.Version | quote }}\n",
    )
    .unwrap();
    std::fs::create_dir_all(out).unwrap();
    run_helm(home, &["package", src.to_str().unwrap(), "-d", out.to_str().unwrap()]);
    out.join(format!("{name}-{version}.tgz"))
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn free_listener() -> TcpListener {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

/// A chart repository directory with podinfo 1.0.0, 1.1.0, 2.0.0-rc.1, indexed for `url`
/// (relative URLs when `url` is None).
fn chart_repo(home: &Path, dir: &Path, url: Option<&str>) -> BTreeMap<String, Vec<u8>> {
    let mut archives = BTreeMap::new();
    for v in ["1.0.0", "1.1.0", "2.0.0-rc.1"] {
        let tgz = package(home, dir, "podinfo", v);
        archives.insert(v.to_string(), std::fs::read(tgz).unwrap());
    }
    let mut args = vec!["repo", "index", dir.to_str().unwrap()];
    if let Some(url) = url {
        args.extend(["--url", url]);
    }
    run_helm(home, &args);
    archives
}

fn basic(user: &str, password: &str) -> Option<BasicAuth> {
    Some(BasicAuth {
        username: user.into(),
        password: password.into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_repository_resolves_ranges_and_downloads_verified_charts() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("repo");
    let listener = free_listener();
    let url = format!("http://{}/charts", listener.local_addr().unwrap());
    let archives = chart_repo(home.path(), &dir.join("charts"), Some(&url));
    let server = ChartServer::start_on(listener, &dir, None);
    assert!(url.starts_with(&server.url));

    let client = HelmRepositoryClient::new(&url, HelmRepositoryOptions::default()).unwrap();
    let cache = IndexCache::default();
    let index = client.index(&cache).await.unwrap();
    assert!(index.digest.starts_with("sha256:"));
    let again = client.index(&cache).await.unwrap();
    assert!(Arc::ptr_eq(&index, &again), "an unchanged index is parsed once");
    assert_eq!(cache.len(), 1);
    assert_eq!(
        server
            .seen_auth
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.as_deref() == Some("304"))
            .count(),
        1,
        "the second read is conditional and not downloaded again"
    );
    // A changed index is downloaded and parsed again.
    let mut text = std::fs::read_to_string(dir.join("charts/index.yaml")).unwrap();
    text.push_str("# changed\n");
    std::fs::write(dir.join("charts/index.yaml"), text).unwrap();
    let changed = client.index(&cache).await.unwrap();
    assert_ne!(changed.digest, index.digest);
    assert_eq!(cache.len(), 2);

    for (range, want) in [
        ("", "1.1.0"),
        ("^1", "1.1.0"),
        ("~1.0", "1.0.0"),
        (">=2.0.0-0", "2.0.0-rc.1"),
    ] {
        let chart = client.fetch_chart(&index, "podinfo", range).await.unwrap();
        assert_eq!(chart.revision(), want, "range {range:?}");
        assert_eq!(chart.digest, sha256(&archives[want]));
        assert_eq!(chart.bytes, archives[want]);
    }
    let e = client
        .fetch_chart(&index, "podinfo", ">=3")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(">=3") && e.contains("1.1.0"), "{e}");
    let e = client.fetch_chart(&index, "nginx", "*").await.unwrap_err().to_string();
    assert!(e.contains("\"nginx\"") && e.contains(&url), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_repository_with_relative_urls_and_size_limits() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("repo");
    let listener = free_listener();
    chart_repo(home.path(), &dir, None);
    let server = ChartServer::start_on(listener, &dir, None);
    let cache = IndexCache::default();
    let client = HelmRepositoryClient::new(&format!("{}/", server.url), HelmRepositoryOptions::default()).unwrap();
    let index = client.index(&cache).await.unwrap();
    assert_eq!(index.resolve("podinfo", "1.0.0").unwrap().urls, ["podinfo-1.0.0.tgz"]);
    let chart = client.fetch_chart(&index, "podinfo", "1.0.0").await.unwrap();
    assert_eq!(chart.url, format!("{}/podinfo-1.0.0.tgz", server.url));

    let tiny = |max_index_size, max_chart_size| HelmRepositoryOptions {
        limits: HelmLimits {
            max_index_size,
            max_chart_size,
        },
        ..Default::default()
    };
    let small_index = HelmRepositoryClient::new(&server.url, tiny(100, 10 << 20)).unwrap();
    let e = small_index.index(&IndexCache::default()).await.unwrap_err();
    assert!(matches!(e, ChartSourceError::TooLarge { what: "index", .. }), "{e}");
    let small_chart = HelmRepositoryClient::new(&server.url, tiny(1 << 20, 100)).unwrap();
    let e = small_chart.fetch_chart(&index, "podinfo", "*").await.unwrap_err();
    assert!(matches!(e, ChartSourceError::TooLarge { what: "chart", .. }), "{e}");

    // A chart whose bytes differ from the index digest is refused.
    std::fs::write(dir.join("podinfo-1.0.0.tgz"), b"tampered").unwrap();
    let e = client
        .fetch_chart(&index, "podinfo", "1.0.0")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("digest mismatch"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_repository_basic_auth_and_pass_credentials() {
    let home = tempfile::tempdir().unwrap();
    // Charts on a second host (another port), the index on the first.
    let charts_listener = free_listener();
    let charts_url = format!("http://{}", charts_listener.local_addr().unwrap());
    let charts_dir = home.path().join("charts");
    chart_repo(home.path(), &charts_dir, Some(&charts_url));
    let index_dir = home.path().join("index");
    std::fs::create_dir_all(&index_dir).unwrap();
    std::fs::copy(charts_dir.join("index.yaml"), index_dir.join("index.yaml")).unwrap();
    let charts = ChartServer::start_on(charts_listener, &charts_dir, Some(("user", SECRET)));
    let index_server = ChartServer::start_on(free_listener(), &index_dir, Some(("user", SECRET)));

    let opts = |auth, pass_credentials| HelmRepositoryOptions {
        auth,
        pass_credentials,
        ..Default::default()
    };
    let cache = IndexCache::default();

    // Wrong password: a clear error that names the repository, never the secret.
    for auth in [basic("user", "wrong-password"), None] {
        let client = HelmRepositoryClient::new(&index_server.url, opts(auth, false)).unwrap();
        let e = client.index(&cache).await.unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, ChartSourceError::Auth { status: 401, .. }), "{msg}");
        assert!(
            msg.contains(&index_server.url) && msg.contains("authentication failed"),
            "{msg}"
        );
        assert!(!msg.contains("wrong-password") && !msg.contains(SECRET), "{msg}");
        assert!(!format!("{e:?}").contains("wrong-password"));
    }

    // Right password: the index loads; the chart host is another host, so without
    // passCredentials it gets no credentials and refuses.
    let client = HelmRepositoryClient::new(&index_server.url, opts(basic("user", SECRET), false)).unwrap();
    let index = client.index(&cache).await.unwrap();
    let e = client
        .fetch_chart(&index, "podinfo", "^1")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("authentication failed") && e.contains(&charts_url), "{e}");
    assert!(!e.contains(SECRET), "{e}");
    assert!(
        charts.seen_auth.lock().unwrap().iter().all(Option::is_none),
        "credentials leaked to another host"
    );

    let client = HelmRepositoryClient::new(&index_server.url, opts(basic("user", SECRET), true)).unwrap();
    let index = client.index(&cache).await.unwrap();
    let chart = client.fetch_chart(&index, "podinfo", "^1").await.unwrap();
    assert_eq!(chart.version, "1.1.0");
}

/// Debian's docker-registry on loopback with an htpasswd user; killed when dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_registry_with_htpasswd_serves_pushed_charts() {
    let home = tempfile::tempdir().unwrap();
    let registry = Registry::start("ci", SECRET);
    let repo_url = format!("oci://127.0.0.1:{}/charts", registry.port);
    let mut archives = BTreeMap::new();
    let mut digests = BTreeMap::new();
    for v in ["1.0.0", "1.1.0", "2.0.0-rc.1", "1.2.0+build.7"] {
        let tgz = package(home.path(), &home.path().join("out"), "podinfo", v);
        let out = run_helm(
            home.path(),
            &[
                "push",
                tgz.to_str().unwrap(),
                &repo_url,
                "--plain-http",
                "--username",
                "ci",
                "--password",
                SECRET,
            ],
        );
        digests.insert(v.to_string(), pushed_digest(&out));
        archives.insert(v.to_string(), std::fs::read(&tgz).unwrap());
    }

    let options = |auth| OciOptions {
        auth,
        insecure: true,
        ..Default::default()
    };
    let client = OciClient::new(options(basic("ci", SECRET))).unwrap();
    let limit = HelmLimits::default().max_chart_size;
    for (range, want) in [
        ("1.0.0", "1.0.0"),
        ("", "1.2.0+build.7"),
        ("~1.1", "1.1.0"),
        (">=2.0.0-0", "2.0.0-rc.1"),
        ("1.2.0+build.7", "1.2.0+build.7"),
    ] {
        let chart = client.fetch_chart(&repo_url, "podinfo", range, limit).await.unwrap();
        assert_eq!(chart.revision(), want, "range {range:?}");
        assert_eq!(chart.bytes, archives[want]);
        assert_eq!(chart.digest, sha256(&archives[want]));
    }
    let e = client
        .fetch_chart(&repo_url, "podinfo", ">=3", limit)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(">=3") && e.contains("oci://127.0.0.1"), "{e}");
    let e = client
        .fetch_chart(&repo_url, "podinfo", "9.9.9", limit)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("9.9.9"), "{e}");

    // OCIRepository: tag, semver and digest references; revision as Flux reports it.
    let chart_repo = format!("{repo_url}/podinfo");
    let copy = LayerSelector {
        media_type: Some(HELM_CHART_LAYER.into()),
        operation: LayerOperation::Copy,
    };
    let by_tag = client
        .fetch_artifact(&chart_repo, &OciReference::Tag("1.0.0".into()), &copy, limit)
        .await
        .unwrap();
    assert_eq!(by_tag.revision, format!("1.0.0@{}", digests["1.0.0"]));
    assert_eq!(by_tag.bytes, archives["1.0.0"]);
    // operation: extract gives the chart's tree.
    let tree = home.path().join("extracted");
    ballast_source::chart_archive::extract_tgz(&by_tag.bytes, &tree, 1 << 20).unwrap();
    let chart_yaml = std::fs::read_to_string(tree.join("podinfo/Chart.yaml")).unwrap();
    assert!(chart_yaml.contains("version: 1.0.0"), "{chart_yaml}");
    let by_semver = client
        .fetch_artifact(
            &chart_repo,
            &OciReference::Semver {
                range: "<1.2".into(),
                filter: None,
            },
            &copy,
            limit,
        )
        .await
        .unwrap();
    assert_eq!(by_semver.revision, format!("1.1.0@{}", digests["1.1.0"]));
    let by_digest = client
        .fetch_artifact(
            &chart_repo,
            &OciReference::Digest(digests["1.0.0"].clone()),
            &LayerSelector::default(),
            limit,
        )
        .await
        .unwrap();
    assert_eq!(by_digest.revision, digests["1.0.0"]);
    assert_eq!(by_digest.tag, None);
    let e = client
        .fetch_artifact(
            &chart_repo,
            &OciReference::Tag("1.0.0".into()),
            &LayerSelector {
                media_type: Some("application/x-nope".into()),
                operation: LayerOperation::Extract,
            },
            limit,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("application/x-nope") && e.contains(HELM_CHART_LAYER), "{e}");

    // Bad or missing credentials: a clear error naming the registry, never the secret.
    for (auth, hint) in [
        (basic("ci", "wrong-password"), "refused the credentials"),
        (None, "none were given"),
    ] {
        let client = OciClient::new(options(auth)).unwrap();
        let e = client.fetch_chart(&repo_url, "podinfo", "^1", limit).await.unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, ChartSourceError::Auth { status: 401, .. }), "{msg}");
        assert!(
            msg.contains(&format!("127.0.0.1:{}", registry.port)) && msg.contains(hint),
            "{msg}"
        );
        assert!(!msg.contains("wrong-password") && !msg.contains(SECRET), "{msg}");
    }

    // Without `insecure` the client speaks TLS to a plain-HTTP registry and fails clearly.
    let client = OciClient::new(OciOptions {
        auth: basic("ci", SECRET),
        timeout: Some(Duration::from_secs(5)),
        ..Default::default()
    })
    .unwrap();
    let e = client
        .fetch_chart(&repo_url, "podinfo", "1.0.0", limit)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("unreachable") && !e.contains(SECRET), "{e}");
}

/// What the in-test registry saw.
#[derive(Default)]
struct Seen {
    token_requests: Vec<String>,
    storage_auth: Vec<Option<String>>,
}

#[derive(Clone)]
struct TokenRegistry {
    port: u16,
    storage_port: u16,
    tags: Vec<String>,
    manifests: Arc<BTreeMap<String, Vec<u8>>>,
    blobs: Arc<BTreeMap<String, Vec<u8>>>,
    seen: Arc<Mutex<Seen>>,
}

const TOKEN: &str = "pull-token-123";

async fn token_registry(State(st): State<TokenRegistry>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let reply = |status: u16, body: Vec<u8>| Response::builder().status(status).body(Body::from(body)).unwrap();
    if path == "/token" {
        st.seen.lock().unwrap().token_requests.push(query.clone());
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("robot:{SECRET}"))
        );
        let public = query.contains("repository%3Apublic%2Fapp%3Apull");
        if auth.as_deref() != Some(want.as_str()) && !(public && auth.is_none()) {
            return reply(401, b"{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}".to_vec());
        }
        return reply(200, format!("{{\"token\":\"{TOKEN}\"}}").into_bytes());
    }
    if path.starts_with("/storage/") {
        st.seen.lock().unwrap().storage_auth.push(auth);
        let digest = path.trim_start_matches("/storage/");
        return st
            .blobs
            .get(digest)
            .map(|b| reply(200, b.clone()))
            .unwrap_or_else(|| reply(404, Vec::new()));
    }
    let repo = if path.starts_with("/v2/public/app/") {
        "public/app"
    } else {
        "org/app"
    };
    if auth.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return Response::builder()
            .status(401)
            .header(
                "www-authenticate",
                format!(
                    "Bearer realm=\"http://127.0.0.1:{}/token\",service=\"test-registry\",scope=\"repository:{repo}:pull\"",
                    st.port
                ),
            )
            .body(Body::empty())
            .unwrap();
    }
    if path == "/v2/org/app/tags/list" {
        // Pages of two tags at most, whatever `n` asks.
        let last = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("last="))
            .map(str::to_string);
        let start = last
            .and_then(|l| st.tags.iter().position(|t| *t == l).map(|i| i + 1))
            .unwrap_or(0);
        let page: Vec<&String> = st.tags.iter().skip(start).take(2).collect();
        let body = serde_json::json!({"name": "org/app", "tags": page}).to_string();
        let mut resp = Response::builder().status(200);
        if start + 2 < st.tags.len() {
            resp = resp.header(
                "link",
                format!(
                    "</v2/org/app/tags/list?n=2&last={}>; rel=\"next\"",
                    page[page.len() - 1]
                ),
            );
        }
        return resp.body(Body::from(body)).unwrap();
    }
    if let Some(reference) = path
        .strip_prefix("/v2/org/app/manifests/")
        .or_else(|| path.strip_prefix("/v2/public/app/manifests/"))
    {
        return st
            .manifests
            .get(reference)
            .map(|m| reply(200, m.clone()))
            .unwrap_or_else(|| reply(404, Vec::new()));
    }
    if let Some(digest) = path
        .strip_prefix("/v2/org/app/blobs/")
        .or_else(|| path.strip_prefix("/v2/public/app/blobs/"))
    {
        return Response::builder()
            .status(307)
            .header(
                "location",
                format!("http://127.0.0.1:{}/storage/{digest}", st.storage_port),
            )
            .body(Body::empty())
            .unwrap();
    }
    reply(404, Vec::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_token_service_pagination_and_redirects_to_storage() {
    let listener = free_listener();
    let port = listener.local_addr().unwrap().port();
    let storage_listener = free_listener();
    let storage_port = storage_listener.local_addr().unwrap().port();

    let layer = b"not really a tarball".to_vec();
    let layer_digest = sha256(&layer);
    let config = b"{}".to_vec();
    let config_digest = sha256(&config);
    let tags: Vec<String> = ["0.9.0", "1.0.0", "latest", "1.4.0", "1.3.2", "2.0.0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut manifests = BTreeMap::new();
    for t in &tags {
        let m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.cncf.flux.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.cncf.flux.content.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}],
            "annotations": {"org.opencontainers.image.revision": t},
        })
        .to_string()
        .into_bytes();
        manifests.insert(sha256(&m), m.clone());
        manifests.insert(t.clone(), m);
    }
    let mut blobs = BTreeMap::new();
    blobs.insert(layer_digest.clone(), layer.clone());
    blobs.insert(config_digest, config);
    let state = TokenRegistry {
        port,
        storage_port,
        tags: tags.clone(),
        manifests: Arc::new(manifests.clone()),
        blobs: Arc::new(blobs),
        seen: Arc::new(Mutex::new(Seen::default())),
    };
    for l in [listener, storage_listener] {
        let st = state.clone();
        tokio::spawn(async move {
            let listener = tokio::net::TcpListener::from_std(l).unwrap();
            let app = axum::Router::new().fallback(token_registry).with_state(st);
            let _ = axum::serve(listener, app).await;
        });
    }

    let url = format!("oci://127.0.0.1:{port}/org/app");
    let client = OciClient::new(OciOptions {
        auth: basic("robot", SECRET),
        insecure: true,
        ..Default::default()
    })
    .unwrap();
    let repo = ballast_source::oci::OciUrl::parse(&url).unwrap();
    assert_eq!(client.tags(&repo).await.unwrap(), tags, "every page is read");

    let art = client
        .fetch_artifact(
            &url,
            &OciReference::Semver {
                range: ">=1.0.0 <2.0.0".into(),
                filter: None,
            },
            &LayerSelector::default(),
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(art.tag.as_deref(), Some("1.4.0"));
    let filtered = client
        .fetch_artifact(
            &url,
            &OciReference::Semver {
                range: "*".into(),
                filter: Some(r"^1\.3\.".into()),
            },
            &LayerSelector::default(),
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(filtered.tag.as_deref(), Some("1.3.2"));
    assert_eq!(art.revision, format!("1.4.0@{}", sha256(&manifests["1.4.0"])));
    assert_eq!(art.bytes, layer);
    assert_eq!(art.operation, LayerOperation::Extract);
    let latest = client
        .fetch_artifact(
            &url,
            &OciReference::Tag("latest".into()),
            &LayerSelector::default(),
            1 << 20,
        )
        .await
        .unwrap();
    assert!(latest.revision.starts_with("latest@sha256:"));

    {
        let seen = state.seen.lock().unwrap();
        assert_eq!(
            seen.token_requests.len(),
            1,
            "the token is kept for the repository: {:?}",
            seen.token_requests
        );
        assert!(seen.token_requests[0].contains("scope=repository%3Aorg%2Fapp%3Apull"));
        assert!(seen.token_requests[0].contains("service=test-registry"));
        assert!(!seen.storage_auth.is_empty());
        assert!(
            seen.storage_auth.iter().all(Option::is_none),
            "the registry token went to the storage host"
        );
    }

    // A layer over the limit is refused before download.
    let e = client
        .fetch_artifact(&url, &OciReference::Tag("1.0.0".into()), &LayerSelector::default(), 4)
        .await
        .unwrap_err();
    assert!(matches!(e, ChartSourceError::TooLarge { .. }), "{e}");

    // An anonymous client gets a pull token for the public repository, and none for the other.
    let anonymous = OciClient::new(OciOptions {
        insecure: true,
        ..Default::default()
    })
    .unwrap();
    let public = anonymous
        .fetch_artifact(
            &format!("oci://127.0.0.1:{port}/public/app"),
            &OciReference::Tag("1.0.0".into()),
            &LayerSelector::default(),
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(public.bytes, layer);
    let e = anonymous.tags(&repo).await.unwrap_err().to_string();
    assert!(e.contains("none were given"), "{e}");

    // The token service refuses a bad password: clear, secret-free.
    let bad = OciClient::new(OciOptions {
        auth: basic("robot", "wrong-password"),
        insecure: true,
        ..Default::default()
    })
    .unwrap();
    let e = bad.tags(&repo).await.unwrap_err().to_string();
    assert!(e.contains("authentication failed") && e.contains("/token"), "{e}");
    assert!(!e.contains("wrong-password"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_repository_trusts_the_given_ca_and_presents_a_client_certificate() {
    let home = tempfile::tempdir().unwrap();
    let pki = Pki::generate();
    let dir = home.path().join("repo");
    let listener = free_listener();
    let url = format!("https://{}", listener.local_addr().unwrap());
    chart_repo(home.path(), &dir, Some(&url));
    let _server = HttpsChartServer::start_on(listener, &dir, &pki, false);

    // Unknown issuer without the CA: a clear TLS error.
    let cache = IndexCache::default();
    let client = HelmRepositoryClient::new(&url, HelmRepositoryOptions::default()).unwrap();
    let e = client.index(&cache).await.unwrap_err().to_string();
    assert!(
        e.contains("unreachable") && e.to_lowercase().contains("certificate"),
        "{e}"
    );

    let ca_only = |mtls: bool| {
        let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        data.insert("ca.crt".into(), pki.ca.clone().into_bytes());
        if mtls {
            data.insert("tls.crt".into(), pki.client_cert.clone().into_bytes());
            data.insert("tls.key".into(), pki.client_key.clone().into_bytes());
        }
        HelmRepositoryOptions {
            tls: ballast_source::tls_from_secret("certs", &data).unwrap(),
            ..Default::default()
        }
    };
    let client = HelmRepositoryClient::new(&url, ca_only(false)).unwrap();
    let index = client.index(&cache).await.unwrap();
    let chart = client.fetch_chart(&index, "podinfo", "^1").await.unwrap();
    assert_eq!(chart.version, "1.1.0");

    // Verification skipped when asked for by name (helm's --insecure-skip-tls-verify).
    let skip = HelmRepositoryOptions {
        tls: ballast_source::TlsOptions {
            insecure_skip_verify: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let client = HelmRepositoryClient::new(&url, skip).unwrap();
    let index = client.index(&IndexCache::default()).await.unwrap();
    assert_eq!(index.resolve("podinfo", "^1").unwrap().version, "1.1.0");

    // A server that requires a client certificate.
    let listener = free_listener();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let dir2 = home.path().join("repo2");
    chart_repo(home.path(), &dir2, Some(&url));
    let _mutual = HttpsChartServer::start_on(listener, &dir2, &pki, true);
    let client = HelmRepositoryClient::new(&url, ca_only(false)).unwrap();
    let e = client.index(&cache).await.unwrap_err().to_string();
    assert!(e.contains("unreachable"), "{e}");
    let client = HelmRepositoryClient::new(&url, ca_only(true)).unwrap();
    let index = client.index(&cache).await.unwrap();
    assert_eq!(index.resolve("podinfo", "~1.0").unwrap().version, "1.0.0");
}

#[test]
fn a_chart_packaged_from_a_source_renders_in_helm_as_its_directory_does() {
    let home = tempfile::tempdir().unwrap();
    let src = home.path().join("git");
    let dir = src.join("deploy/chart");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.3.0\n").unwrap();
    std::fs::write(dir.join("values.yaml"), "replicas: 2\nimage: nginx\n").unwrap();
    std::fs::write(dir.join("values-prod.yaml"), "replicas: 5\n").unwrap();
    std::fs::write(dir.join(".helmignore"), "*.md\n").unwrap();
    std::fs::write(dir.join("NOTES.md"), "ignored\n").unwrap();
    std::fs::write(
        dir.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n  image: {{ .Values.image | default \"none\" }}\n  version: {{ .Chart.Version }}\n",
    )
    .unwrap();
    let artifact =
        ballast_source::chart_package::package_chart_dir(&src, "deploy/chart", Some("abcdef012345"), 1 << 20).unwrap();
    assert_eq!(artifact.version, "0.3.0+abcdef012345");
    let ours = home.path().join("ours.tgz");
    std::fs::write(&ours, &artifact.bytes).unwrap();
    let rendered = run_helm(home.path(), &["template", "x", ours.to_str().unwrap()]);
    assert!(rendered.contains("version: 0.3.0+abcdef012345"), "{rendered}");
    assert!(rendered.contains("replicas: \"2\""), "{rendered}");

    // helm package of the same directory holds the same files.
    let out = home.path().join("out");
    run_helm(
        home.path(),
        &["package", dir.to_str().unwrap(), "-d", out.to_str().unwrap()],
    );
    let list = |bytes: &[u8]| -> Vec<String> {
        let mut a = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        let mut v: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let helms = std::fs::read(out.join("web-0.3.0.tgz")).unwrap();
    assert_eq!(list(&artifact.bytes), list(&helms));

    // valuesFiles: values.yaml then values-prod.yaml, merged into the artifact's values.yaml.
    let (merged, used) = ballast_source::chart_archive::with_values_files(
        &artifact.bytes,
        &["values.yaml", "values-prod.yaml"],
        false,
        1 << 20,
    )
    .unwrap();
    assert_eq!(used.len(), 2);
    let merged_path = home.path().join("merged.tgz");
    std::fs::write(&merged_path, merged).unwrap();
    let rendered = run_helm(home.path(), &["template", "x", merged_path.to_str().unwrap()]);
    assert!(
        rendered.contains("replicas: \"5\"") && rendered.contains("image: nginx"),
        "{rendered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_times_out_with_a_clear_error() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::from_std(free_listener()).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let started = Instant::now();
    let client = HelmRepositoryClient::new(
        &url,
        HelmRepositoryOptions {
            timeout: Some(Duration::from_millis(500)),
            ..Default::default()
        },
    )
    .unwrap();
    let e = client.index(&IndexCache::default()).await.unwrap_err();
    assert!(matches!(e, ChartSourceError::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("timed out after 500ms"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_from_a_source_gets_its_dependencies_from_paths_and_repositories() {
    let home = tempfile::tempdir().unwrap();
    // An HTTP repository with podinfo 1.0.0 and 1.1.0 (and a 2.0.0 pre-release).
    let listener = free_listener();
    let repo_url = format!("http://{}/", listener.local_addr().unwrap());
    let repo_dir = home.path().join("repo");
    chart_repo(home.path(), &repo_dir, Some(&repo_url));
    let _server = ChartServer::start_on(listener, &repo_dir, None);

    let src = home.path().join("git");
    let write = |rel: &str, text: &str| {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "charts/common/Chart.yaml",
        "apiVersion: v2\nname: common\nversion: 0.2.0\n",
    );
    write(
        "charts/common/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: common-{{ .Release.Name }}\n",
    );
    write(
        "charts/app/Chart.yaml",
        &format!(
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: common\n  version: 0.2.0\n  repository: file://../common\n- name: podinfo\n  version: ^1\n  repository: {repo_url}\n"
        ),
    );
    write(
        "charts/app/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-{{ .Release.Name }}\n",
    );

    // Without fetching, the missing dependencies are named.
    let e = ballast_source::chart_package::package_chart_dir(&src, "charts/app", None, 1 << 20)
        .unwrap_err()
        .to_string();
    assert!(e.contains("common") && e.contains("podinfo"), "{e}");

    let sources = ballast_source::chart_package::DependencySources::default();
    let artifact =
        ballast_source::chart_package::package_chart_dir_with_dependencies(&src, "charts/app", None, 1 << 20, &sources)
            .await
            .unwrap();
    let path = home.path().join("app.tgz");
    std::fs::write(&path, &artifact.bytes).unwrap();
    let rendered = run_helm(home.path(), &["template", "x", path.to_str().unwrap()]);
    for name in ["app-x", "common-x", "name: x"] {
        assert!(rendered.contains(name), "{name} missing in {rendered}");
    }
    assert!(
        rendered.contains("v: \"1.1.0\""),
        "podinfo ^1 resolves to 1.1.0: {rendered}"
    );

    // A path out of the source and a named repository are refused by name.
    write(
        "charts/bad/Chart.yaml",
        "apiVersion: v2\nname: bad\nversion: 1.0.0\ndependencies:\n- name: x\n  version: 1.0.0\n  repository: file://../../../repo\n",
    );
    let e =
        ballast_source::chart_package::package_chart_dir_with_dependencies(&src, "charts/bad", None, 1 << 20, &sources)
            .await
            .unwrap_err()
            .to_string();
    assert!(e.contains("\"x\"") && e.contains("leaves the source"), "{e}");
    write(
        "charts/named/Chart.yaml",
        "apiVersion: v2\nname: named\nversion: 1.0.0\ndependencies:\n- name: y\n  version: 1.0.0\n  repository: \"@stable\"\n",
    );
    let e = ballast_source::chart_package::package_chart_dir_with_dependencies(
        &src,
        "charts/named",
        None,
        1 << 20,
        &sources,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("@stable") && e.contains("vendor it"), "{e}");
}

/// A registry answering the tag list with 429, a 5xx, an HTML page (status 200) and a JSON
/// object that is not a tag list: each is an error naming the registry, never "no tags".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_tag_lists_that_are_not_tag_lists_are_errors_not_empty() {
    async fn odd(req: Request) -> Response {
        let reply = |status: u16, ct: &str, body: &str| {
            Response::builder()
                .status(status)
                .header("content-type", ct)
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        match req.uri().path() {
            "/v2/busy/app/tags/list" => reply(429, "application/json", r#"{"errors":[{"code":"TOOMANYREQUESTS"}]}"#),
            "/v2/down/app/tags/list" => reply(503, "text/plain", "maintenance"),
            "/v2/html/app/tags/list" => reply(200, "text/html", "<html><body>Sign in</body></html>"),
            "/v2/ok/app/tags/list" => reply(200, "application/json", r#"{"name":"ok/app","tags":["1.0.0"]}"#),
            _ => reply(404, "application/json", "{}"),
        }
    }
    let listener = free_listener();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let _ = axum::serve(listener, axum::Router::new().fallback(odd)).await;
    });
    let client = OciClient::new(OciOptions {
        insecure: true,
        timeout: Some(Duration::from_secs(20)),
        ..Default::default()
    })
    .unwrap();
    let repo = |name: &str| ballast_source::oci::OciUrl::parse(&format!("oci://127.0.0.1:{port}/{name}/app")).unwrap();
    assert_eq!(client.tags(&repo("ok")).await.unwrap(), ["1.0.0"]);
    for name in ["busy", "down", "html"] {
        let e = client.tags(&repo(name)).await.expect_err(name).to_string();
        assert!(e.contains(&format!("127.0.0.1:{port}")), "{name}: {e}");
    }
}
