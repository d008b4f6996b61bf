//! Notifications: Alerts send reconcilers' events to loopback Providers (generic, signed
//! generic-hmac, through a loopback CONNECT proxy, commit statuses on GitHub's, GitLab's and
//! Gitea's paths, filtered by severity and inclusion/exclusion lists, a hanging one never
//! blocking reconciles); Receivers' webhooks (github, bitbucket, harbor, dockerhub, with a
//! resourceFilter) make their resources reconcile, while a wrong signature or token, a replayed
//! body, a 10 MiB body and a flood of 1,000 calls are refused without effect.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ballast_testenv::git::GitRepo;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::*;

/// One request a [`Recorder`] received.
#[derive(Clone, Debug)]
struct Recorded {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// An HTTP endpoint on 127.0.0.1 recording every request; answers 200 (after answering 500 to
/// the first `failures` requests), or hangs.
struct Recorder {
    url: String,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    fn start(hang: bool) -> Self {
        Self::start_failing(hang, 0)
    }

    fn start_failing(hang: bool, failures: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared, hang, failures));
            }
        });
        Recorder { url, seen }
    }
    fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }
}

/// An HTTP CONNECT proxy on 127.0.0.1 recording the `host:port` of every tunnel it opens.
struct ConnectProxy {
    url: String,
    tunnels: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let shared = tunnels.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || tunnel(client, &shared));
            }
        });
        ConnectProxy { url, tunnels }
    }
    fn tunnels(&self) -> Vec<String> {
        self.tunnels.lock().unwrap().clone()
    }
}

fn tunnel(client: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim_end().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        let _ = (&client).write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    seen.lock().unwrap().push(target.to_string());
    let Ok(upstream) = TcpStream::connect(target) else {
        let _ = (&client).write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    let _ = (&client).write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
    let mut down_write = client;
    // The reader hands over what it buffered past the request head first.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut up_write);
    });
    let _ = std::io::copy(&mut up_read, &mut down_write);
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Recorded>>, hang: bool, failures: usize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let count = {
            let mut seen = seen.lock().unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            seen.push(Recorded { path, headers, body });
            seen.len()
        };
        if hang {
            std::thread::sleep(Duration::from_secs(300));
            return;
        }
        let answer: &[u8] = if count <= failures {
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nfail"
        } else {
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
        };
        let _ = stream.write_all(answer);
    }
}

fn hmac_hex(key: &[u8], body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(body);
    hex_of(&m.finalize().into_bytes())
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn flux_objects(ns: &str, url: &str, repo_interval: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         url: {url}\n  interval: {repo_interval}\n  ref:\n    branch: main\n"
    )
}

fn kustomization(ns: &str, name: &str, path: &str) -> String {
    format!(
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  \
         interval: 1m\n  prune: true\n  path: {path}\n  sourceRef:\n    kind: GitRepository\n    name: app\n"
    )
}

fn provider(ns: &str, name: &str, type_: &str, url: &str, extra: &str) -> String {
    format!(
        "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  \
         type: {type_}\n  address: {url}\n{extra}"
    )
}

fn alert(ns: &str, name: &str, provider: &str, extra: &str) -> String {
    format!(
        "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  \
         providerRef:\n    name: {provider}\n  eventSources:\n  - kind: Kustomization\n    name: '*'\n{extra}"
    )
}

#[test]
fn alerts_reach_generic_and_signed_providers_filtered_and_a_hanging_one_blocks_nothing() {
    let ns = namespace("notify");
    install();
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", &configmap(&ns, "from-git", "v1"));
    repo.commit("app");
    let errors = Recorder::start(false);
    let signed = Recorder::start(false);
    let excluded = Recorder::start(false);
    let hanging = Recorder::start(true);
    let flaky = Recorder::start_failing(false, 1);
    let git_host = Recorder::start(false);
    let token = "hmac-token-4f2a";
    let mut objects = flux_objects(&ns, &repo.url(), "1s");
    objects += &kustomization(&ns, "good", "./app");
    objects += &kustomization(&ns, "broken", "./missing-dir");
    objects += &format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: hmac\n  namespace: {ns}\nstringData:\n  token: {token}\n"
    );
    objects += &provider(&ns, "errors", "generic", &errors.url, "");
    objects += &provider(
        &ns,
        "signed",
        "generic-hmac",
        &signed.url,
        "  secretRef:\n    name: hmac\n",
    );
    objects += &provider(&ns, "excluded", "generic", &excluded.url, "");
    objects += &provider(&ns, "hanging", "generic", &hanging.url, "  timeout: 2m\n");
    objects += &provider(&ns, "flaky", "generic", &flaky.url, "");
    let repo_url = git_host.url.replace("/hook", "/org/app");
    objects += &provider(&ns, "github", "github", &repo_url, "  secretRef:\n    name: hmac\n");
    let proxy = ConnectProxy::start();
    let proxied = Recorder::start(false);
    objects += &provider(
        &ns,
        "proxied",
        "generic",
        &proxied.url,
        &format!("  proxy: {}\n", proxy.url),
    );
    objects += &provider(
        &ns,
        "tls-proxy",
        "generic",
        &errors.url,
        "  proxy: https://127.0.0.1:9\n",
    );
    objects += &provider(&ns, "gitlab", "gitlab", &repo_url, "  secretRef:\n    name: hmac\n");
    objects += &provider(&ns, "gitea", "gitea", &repo_url, "  secretRef:\n    name: hmac\n");
    objects += &alert(&ns, "errors", "errors", "  eventSeverity: error\n");
    objects += &alert(
        &ns,
        "signed",
        "signed",
        "  inclusionList:\n  - missing-dir\n  eventMetadata:\n    env: test\n",
    );
    objects += &alert(&ns, "excluded", "excluded", "  exclusionList:\n  - missing-dir\n");
    objects += &alert(&ns, "hanging", "hanging", "");
    objects += &alert(&ns, "flaky", "flaky", "  eventSeverity: error\n");
    objects += &alert(&ns, "github", "github", "");
    objects += &alert(&ns, "gitlab", "gitlab", "");
    objects += &alert(&ns, "gitea", "gitea", "");
    objects += &alert(&ns, "proxied", "proxied", "  eventSeverity: error\n");
    apply(&objects);
    let _controller = ControllerProcess::start(&ns, &[]);

    // Provider status: an https proxy is refused by name.
    let (_, message) = wait_for("the https-proxied Provider not Ready", 60, || {
        ready("provider", &ns, "tls-proxy").filter(|(s, _)| s == "False")
    });
    assert!(message.contains("https proxies are not supported"), "{message}");
    wait_for("the signed Provider Ready", 60, || {
        ready("provider", &ns, "signed").filter(|(s, _)| s == "True")
    });

    // The error-only alert gets the broken Kustomization's failure, in Flux's payload shape.
    let failure = wait_for("the failure at the error endpoint", 120, || {
        errors.requests().into_iter().find(|r| {
            r.json()["involvedObject"]["name"] == "broken" && r.json()["message"].to_string().contains("missing-dir")
        })
    });
    let event = failure.json();
    assert_eq!(event["severity"], "error");
    assert_eq!(event["involvedObject"]["kind"], "Kustomization");
    assert_eq!(event["involvedObject"]["namespace"], ns.as_str());
    assert_eq!(event["involvedObject"]["apiVersion"], "kustomize.toolkit.fluxcd.io/v1");
    assert_eq!(event["reportingController"], "kustomize-controller");
    assert!(event["timestamp"].as_str().unwrap().ends_with('Z'), "{event}");
    assert!(event["reason"].as_str().is_some_and(|r| !r.is_empty()), "{event}");
    assert!(event["message"].as_str().unwrap().contains("missing-dir"), "{event}");
    let head = repo.head();
    assert_eq!(
        event["metadata"]["revision"],
        format!("main@sha1:{head}").as_str(),
        "the attempted revision: {event}"
    );
    assert_eq!(failure.header("gotk-component"), Some("kustomize-controller"));
    assert!(failure.header("x-signature").is_none());

    // The signed endpoint: the signature is the HMAC of the exact body, the token never in it.
    let signed_failure = wait_for("the failure at the signed endpoint", 120, || {
        signed
            .requests()
            .into_iter()
            .find(|r| r.json()["involvedObject"]["name"] == "broken")
    });
    let want = format!("sha256={}", hmac_hex(token.as_bytes(), &signed_failure.body));
    assert_eq!(signed_failure.header("x-signature"), Some(want.as_str()));
    assert!(!String::from_utf8_lossy(&signed_failure.body).contains(token));
    assert_eq!(signed_failure.json()["metadata"]["env"], "test");

    // The exclusion list: the good Kustomization's success arrives, the failure never does.
    let success = wait_for("the success at the excluding endpoint", 120, || {
        excluded
            .requests()
            .into_iter()
            .find(|r| r.json()["involvedObject"]["name"] == "good" && r.json()["severity"] == "info")
    });
    assert_eq!(success.json()["reason"], "ReconciliationSucceeded");
    assert_eq!(
        success.json()["metadata"]["revision"],
        format!("main@sha1:{head}").as_str()
    );

    // Commit statuses on the GitHub API path for the applied (or attempted) commit.
    let statuses = format!("/api/v3/repos/org/app/statuses/{head}");
    for (name, state) in [("good", "success"), ("broken", "failure")] {
        let r = wait_for(&format!("the {state} commit status of {name}"), 120, || {
            git_host.requests().into_iter().find(|r| {
                r.path == statuses
                    && r.json()["state"] == state
                    && r.json()["context"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with(&format!("kustomization/{name}/"))
            })
        });
        assert_eq!(r.header("authorization"), Some(format!("Bearer {token}").as_str()));
    }

    // GitLab's and Gitea's status APIs get the same outcomes, in their own vocabularies.
    let gitlab = format!("/api/v4/projects/org%2Fapp/statuses/{head}");
    let gitea = format!("/api/v1/repos/org/app/statuses/{head}");
    for (path, key, state, auth) in [
        (&gitlab, "name", "success", ("private-token", token.to_string())),
        (&gitlab, "name", "failed", ("private-token", token.to_string())),
        (
            &gitea,
            "context",
            "success",
            ("authorization", format!("token {token}")),
        ),
        (
            &gitea,
            "context",
            "failure",
            ("authorization", format!("token {token}")),
        ),
    ] {
        let r = wait_for(&format!("the {state} status at {path}"), 120, || {
            git_host.requests().into_iter().find(|r| {
                &r.path == path
                    && r.json()["state"] == state
                    && r.json()[key].as_str().unwrap_or("").starts_with("kustomization/")
            })
        });
        assert_eq!(r.header(auth.0), Some(auth.1.as_str()));
    }

    // The proxied Provider's delivery went through the proxy's tunnel to the endpoint.
    let through = wait_for("the failure delivered through the proxy", 120, || {
        proxied
            .requests()
            .into_iter()
            .find(|r| r.json()["involvedObject"]["name"] == "broken")
    });
    assert_eq!(through.json()["severity"], "error");
    let endpoint = proxied.url.trim_start_matches("http://").trim_end_matches("/hook");
    assert!(
        proxy.tunnels().iter().any(|t| t == endpoint),
        "the proxy opened a tunnel to {endpoint}: {:?}",
        proxy.tunnels()
    );

    // A 500 is retried: the first event the flaky endpoint refused arrives again, identical.
    wait_for("the refused delivery retried, identical", 60, || {
        let seen = flaky.requests();
        let first = seen.first()?;
        seen[1..].iter().any(|r| r.body == first.body).then_some(())
    });

    // The hanging endpoint holds a delivery open, and reconciles go on: a new commit is applied.
    wait_for("a delivery held by the hanging endpoint", 60, || {
        (!hanging.requests().is_empty()).then_some(())
    });
    repo.write("app/cm.yaml", &configmap(&ns, "from-git", "v2"));
    repo.commit("v2");
    merge_patch(
        "kustomization",
        "good",
        &ns,
        r#"{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":"now-1"}}}"#,
    );
    wait_for("the new commit applied while a delivery hangs", 120, || {
        get("configmap", Some(&ns), "from-git").filter(|c| c["data"]["key"] == "v2")
    });

    // Severity and inclusion filters: checked after every endpoint got what it should.
    for r in errors.requests() {
        assert_eq!(
            r.json()["severity"],
            "error",
            "info event at the error-only endpoint: {:?}",
            r.json()
        );
    }
    for r in signed.requests() {
        assert!(
            r.json()["message"].as_str().unwrap().contains("missing-dir"),
            "not included: {:?}",
            r.json()
        );
    }
    for r in excluded.requests() {
        assert!(
            !r.json()["message"].as_str().unwrap().contains("missing-dir"),
            "excluded: {:?}",
            r.json()
        );
    }
}

/// A raw HTTP/1.1 POST on loopback: the status (0 when the server closed the connection
/// before answering).
fn post(base: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    head += "\r\n";
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn annotation(ns: &str) -> Option<String> {
    annotation_of(ns, "app")
}

fn annotation_of(ns: &str, name: &str) -> Option<String> {
    get("gitrepository", Some(ns), name)?["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
        .as_str()
        .map(str::to_string)
}

/// The address the controller's webhook server printed.
fn webhook_base(controller: &ControllerProcess) -> String {
    wait_for("the webhook address", 30, || {
        controller
            .log()
            .split("webhooks on ")
            .nth(1)
            .map(|r| r.lines().next().unwrap_or("").trim().to_string())
    })
}

/// The Receiver's `status.webhookPath` once it is Ready.
fn webhook_path(ns: &str, name: &str) -> String {
    wait_for(&format!("the Receiver {name} Ready"), 60, || {
        ready("receiver", ns, name).filter(|(s, _)| s == "True")
    });
    get("receiver", Some(ns), name).unwrap()["status"]["webhookPath"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_signed_github_push_reconciles_the_source_and_bad_calls_change_nothing() {
    let ns = namespace("receiver");
    install();
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", &configmap(&ns, "pushed", "v1"));
    repo.commit("app");
    let token = "receiver-token-9c1e";
    let mut objects = flux_objects(&ns, &repo.url(), "1h");
    objects += &format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\n  namespace: {ns}\nstringData:\n  token: {token}\n\
         ---\napiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\nmetadata:\n  name: github\n  namespace: {ns}\nspec:\n  \
         type: github\n  events: [push]\n  secretRef:\n    name: hook\n  resources:\n  - kind: GitRepository\n    name: app\n"
    );
    apply(&objects);
    let controller = ControllerProcess::start(&ns, &["--webhook-addr", "127.0.0.1:0"]);
    let base = webhook_base(&controller);
    let path = wait_for("the Receiver's webhookPath", 60, || {
        get("receiver", Some(&ns), "github")?["status"]["webhookPath"]
            .as_str()
            .map(str::to_string)
    });
    let digest = hex_of(&Sha256::digest(format!("{token}github{ns}").as_bytes()));
    assert_eq!(path, format!("/hook/{digest}"), "Flux's path derivation");
    wait_for("the GitRepository Ready", 60, || {
        ready("gitrepository", &ns, "app").filter(|(s, _)| s == "True")
    });

    let body = br#"{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000"}"#;
    let good = format!("sha256={}", hmac_hex(token.as_bytes(), body));
    let bad = format!("sha256={}", hmac_hex(b"wrong-token", body));
    let push = |sig: &str, body: &[u8]| {
        post(
            &base,
            &path,
            &[
                ("X-GitHub-Event", "push"),
                ("X-Hub-Signature-256", sig),
                ("X-GitHub-Delivery", "delivery-1"),
            ],
            body,
        )
    };

    assert_eq!(push(&bad, body), 401, "wrong signature");
    assert_eq!(
        push(&good, b"{\"ref\":\"refs/heads/other\"}"),
        401,
        "signature of another body"
    );
    assert_eq!(
        post(&base, &path, &[("X-GitHub-Event", "push")], body),
        401,
        "no signature"
    );
    assert_eq!(post(&base, "/hook/0000", &[], body), 404, "unknown path");
    let big = vec![b' '; 10 << 20];
    let status = push(&good, &big);
    assert!(status == 413 || status == 0, "a 10 MiB body is refused: {status}");
    let ping = post(
        &base,
        &path,
        &[("X-GitHub-Event", "ping"), ("X-Hub-Signature-256", &good)],
        body,
    );
    assert_eq!(ping, 200, "ping answered");
    // A flood of 1,000 calls from 20 connections at once: the Receiver's rate limit answers
    // 429 before any signature work, every other one is refused, and nothing changes.
    let statuses = flood(
        &base,
        &path,
        1000,
        &[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &bad)],
        body,
    );
    assert!(statuses.contains(&429), "a flood is limited");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "every call refused: {:?}",
        statuses.iter().filter(|s| **s != 401 && **s != 429).collect::<Vec<_>>()
    );
    assert_eq!(annotation(&ns), None, "refused calls changed nothing");

    // A valid push (once the bucket has refilled) asks the GitRepository to reconcile.
    let status = wait_for("a valid push accepted", 30, || {
        let s = push(&good, body);
        (s != 429).then_some(s)
    });
    assert_eq!(status, 200);
    let requested = annotation(&ns).expect("the reconcile request annotation");
    wait_for("the GitRepository handled the request", 60, || {
        let repo = get("gitrepository", Some(&ns), "app")?;
        (repo["status"]["lastHandledReconcileAt"].as_str() == Some(requested.as_str())).then_some(())
    });

    // The same delivery again (a replay of the accepted body and signature) changes nothing.
    let status = wait_for("the replay answered", 30, || {
        let s = push(&good, body);
        (s != 429).then_some(s)
    });
    assert_eq!(status, 409, "a replayed delivery is refused");
    // The old body and its signature under a fresh delivery id: still a replay.
    let status = wait_for("the replayed body answered", 30, || {
        let s = post(
            &base,
            &path,
            &[
                ("X-GitHub-Event", "push"),
                ("X-Hub-Signature-256", &good),
                ("X-GitHub-Delivery", "delivery-forged"),
            ],
            body,
        );
        (s != 429).then_some(s)
    });
    assert_eq!(status, 409, "an old body under a new delivery id is refused");
    assert_eq!(annotation(&ns), Some(requested), "the replays changed nothing");
}

/// `count` POSTs spread over 20 threads at once; every status.
fn flood(base: &str, path: &str, count: usize, headers: &[(&str, &str)], body: &[u8]) -> Vec<u16> {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| {
                    (0..count / 20)
                        .map(|_| post(base, path, headers, body))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    })
}

fn receiver(ns: &str, name: &str, type_: &str, extra: &str, resources: &str) -> String {
    format!(
        "---\napiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  \
         type: {type_}\n  secretRef:\n    name: hook\n{extra}  resources:\n{resources}"
    )
}

fn labelled_repo(ns: &str, name: &str, url: &str) -> String {
    format!(
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n  namespace: {ns}\n  \
         labels:\n    team: web\nspec:\n  url: {url}\n  interval: 1h\n  ref:\n    branch: main\n"
    )
}

#[test]
fn bitbucket_harbor_and_dockerhub_receivers_and_a_resource_filter() {
    let ns = namespace("receivers");
    install();
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", &configmap(&ns, "pushed", "v1"));
    repo.commit("app");
    let token = "receivers-token-51d0";
    let app = "  - kind: GitRepository\n    name: app\n";
    let team = "  - kind: GitRepository\n    name: '*'\n    matchLabels:\n      team: web\n";
    let mut objects = format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\n  namespace: {ns}\nstringData:\n  token: {token}\n"
    );
    objects += &labelled_repo(&ns, "app", &repo.url());
    objects += &labelled_repo(&ns, "site", &repo.url());
    objects += &receiver(&ns, "bitbucket", "bitbucket", "  events: ['repo:refs_changed']\n", app);
    objects += &receiver(&ns, "harbor", "harbor", "", app);
    // The Receiver's resourceFilter and the resource's own filter stack (both must accept).
    let team_named_by_tag =
        format!("{team}    filter: req.push_data.tag.split('-').first().value() == res.metadata.name\n");
    objects += &receiver(
        &ns,
        "dockerhub",
        "dockerhub",
        "  resourceFilter: has(req.push_data)\n",
        &team_named_by_tag,
    );
    objects += &receiver(
        &ns,
        "sets",
        "generic",
        "  resourceFilter: sets.contains([1], [1])\n",
        app,
    );
    apply(&objects);
    let controller = ControllerProcess::start(&ns, &["--webhook-addr", "127.0.0.1:0"]);
    let base = webhook_base(&controller);

    // A filter using Flux's sets extension is refused by name.
    let (_, message) = wait_for("the sets Receiver not Ready", 60, || {
        ready("receiver", &ns, "sets").filter(|(s, _)| s == "False")
    });
    assert!(message.contains("sets"), "{message}");

    // Bitbucket Server: X-Hub-Signature over the body, the event in X-Event-Key.
    let path = webhook_path(&ns, "bitbucket");
    let body = br#"{"eventKey":"repo:refs_changed","changes":[{"toHash":"1111111111111111111111111111111111111111"}]}"#;
    let good = format!("sha256={}", hmac_hex(token.as_bytes(), body));
    let bad = format!("sha256={}", hmac_hex(b"wrong-token", body));
    let call = |sig: &str, event: &str, request: &str, body: &[u8]| {
        post(
            &base,
            &path,
            &[
                ("X-Hub-Signature", sig),
                ("X-Event-Key", event),
                ("X-Request-Id", request),
            ],
            body,
        )
    };
    assert_eq!(call(&bad, "repo:refs_changed", "r-1", body), 401, "wrong signature");
    assert_eq!(call(&good, "pr:merged", "r-2", body), 400, "an event not taken");
    assert_eq!(annotation(&ns), None, "refused calls changed nothing");
    assert_eq!(call(&good, "repo:refs_changed", "r-3", body), 200);
    let first = annotation(&ns).expect("the bitbucket push asked app to reconcile");
    assert_eq!(
        call(&good, "repo:refs_changed", "r-3", body),
        409,
        "the same delivery again"
    );
    assert_eq!(call(&good, "repo:refs_changed", "r-4", body), 409, "the old body again");
    assert_eq!(annotation(&ns), Some(first.clone()), "replays changed nothing");

    // Harbor: the Authorization header is the token itself.
    let path = webhook_path(&ns, "harbor");
    let event = br#"{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"tag":"1.0"}]}}"#;
    assert_eq!(post(&base, &path, &[], event), 401, "no token");
    let bearer = format!("Bearer {token}");
    assert_eq!(
        post(&base, &path, &[("Authorization", &bearer)], event),
        401,
        "not Flux's form"
    );
    assert_eq!(
        post(&base, &path, &[("Authorization", "other")], event),
        401,
        "wrong token"
    );
    assert_eq!(annotation(&ns), Some(first.clone()), "refused calls changed nothing");
    assert_eq!(post(&base, &path, &[("Authorization", token)], event), 200);
    let second = annotation(&ns).unwrap();
    assert_ne!(second, first, "the harbor call asked app to reconcile again");

    // Docker Hub: no signature (the path is the secret); the payload must decode; the
    // resourceFilter picks, of the labelled repositories, the one the tag names.
    let path = webhook_path(&ns, "dockerhub");
    assert_eq!(post(&base, &path, &[], b"not json"), 400);
    assert_eq!(post(&base, &path, &[], br#"{"push_data":{"tag":7}}"#), 400);
    let no_push = br#"{"repository":{"repo_url":"https://hub.docker.test/r/org/site"}}"#;
    assert_eq!(
        post(&base, &path, &[], no_push),
        200,
        "valid, and the resourceFilter refuses all"
    );
    assert_eq!(annotation_of(&ns, "site"), None);
    let push = br#"{"push_data":{"tag":"site-1.2.0"},"repository":{"repo_url":"https://hub.docker.test/r/org/site"}}"#;
    assert_eq!(post(&base, &path, &[], push), 200);
    let site = annotation_of(&ns, "site").expect("both filters accepted site");
    assert_eq!(annotation(&ns), Some(second), "the resource's filter refused app");
    wait_for("site handled the request", 60, || {
        let repo = get("gitrepository", Some(&ns), "site")?;
        (repo["status"]["lastHandledReconcileAt"].as_str() == Some(site.as_str())).then_some(())
    });
}
