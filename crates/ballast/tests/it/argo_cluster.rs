//! Argo CD connections: Git over SSH (`sshPrivateKey`, `argocd-ssh-known-hosts-cm`) and over
//! mutual TLS, chart repositories over TLS (repository Secret client certificates, `insecure`,
//! `argocd-tls-certs-cm`), and destinations that are registered clusters: the test API server
//! registered again under its 127.0.0.1 URL as a cluster Secret
//! (`argocd.argoproj.io/secret-type: cluster`) with a ServiceAccount's token, and Applications
//! deploying through it by `destination.name`.

use serde_json::{Value, json};

use crate::argo::{controller, create_app, refresh, state, wait_app};
use crate::support::*;

fn conditions(a: &Value) -> String {
    a["status"]["conditions"].to_string()
}

/// A repository whose `app` folder holds one ConfigMap, `name`.
fn cm_repo(name: &str) -> ballast_testenv::git::GitRepo {
    let repo = ballast_testenv::git::GitRepo::new();
    let cm = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n");
    repo.write("app/cm.yaml", &cm);
    repo.commit("app");
    repo
}

/// An automated, pruning Application of `source`, deployed to its own namespace.
fn auto_app(ns: &str, name: &str, source: Value) {
    create_app(
        ns,
        name,
        json!({"project": "default", "source": source,
               "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
               "syncPolicy": {"automated": {"prune": true}}}),
    );
}

/// An automated, pruning Application of the `app` folder of the Git repository `url`.
fn git_app(ns: &str, name: &str, url: &str) {
    auto_app(
        ns,
        name,
        json!({"repoURL": url, "targetRevision": "HEAD", "path": "app"}),
    );
}

#[test]
fn destination_name_deploys_through_a_cluster_secret_with_a_service_account_token() {
    let ns = namespace("argo-remote");
    let dest = namespace("argo-remote-dest");
    let denied = namespace("argo-remote-denied");
    // A ServiceAccount that may write in `dest` only.
    kubectl(&["create", "serviceaccount", "deployer", "-n", &dest]);
    kubectl(&[
        "create",
        "rolebinding",
        "deployer-admin",
        "--clusterrole=admin",
        &format!("--serviceaccount={dest}:deployer"),
        "-n",
        &dest,
    ]);
    let token = kubectl(&["create", "token", "deployer", "-n", &dest, "--duration=2h"])
        .trim()
        .to_string();
    let kc: Value = serde_json::from_str(&kubectl(&["config", "view", "--raw", "--flatten", "-o", "json"])).unwrap();
    let cluster = &kc["clusters"][0]["cluster"];
    let server = cluster["server"].as_str().unwrap().to_string();
    assert!(server.starts_with("https://127.0.0.1:"), "{server}");
    assert!(cluster["certificate-authority-data"].is_string(), "{cluster}");
    let config = json!({"bearerToken": token,
        "tlsClientConfig": {"caData": cluster["certificate-authority-data"], "insecure": false}});
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "cluster-loopback", "namespace": ns,
                     "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "stringData": {"name": "loopback", "server": server, "config": config.to_string()}});
    apply(&secret.to_string());

    let repo = cm_repo("settings");
    let spec = |name: &str, namespace: &str| {
        json!({"project": "default",
               "source": {"repoURL": repo.url(), "targetRevision": "HEAD", "path": "app"},
               "destination": {"name": name, "namespace": namespace},
               "syncPolicy": {"automated": {"prune": true}, "retry": {"limit": 0}}})
    };
    let _c = controller(&ns);
    create_app(&ns, "remote", spec("loopback", &dest));
    let a = wait_app(&ns, "remote", 90, |a| {
        state(a).0 == "Synced" && state(a).2 == "Succeeded"
    });
    assert_eq!(a["status"]["sync"]["comparedTo"]["destination"]["name"], "loopback");
    let cm = get("configmap", Some(&dest), "settings").expect("deployed through the cluster Secret");
    assert_eq!(
        cm["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        format!("remote:/ConfigMap:{dest}/settings")
    );

    // The token is what writes: where the ServiceAccount may not, the sync fails as forbidden.
    create_app(&ns, "remote-denied", spec("loopback", &denied));
    let a = wait_app(&ns, "remote-denied", 90, |a| state(a).2 == "Failed");
    let message = a["status"]["operationState"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains(&format!("system:serviceaccount:{dest}:deployer")),
        "{message}"
    );
    assert!(!a.to_string().contains(&token), "the token leaked into the status");
    assert!(get("configmap", Some(&denied), "settings").is_none());

    // An unknown cluster name: Argo CD's InvalidSpecError, nothing synced.
    create_app(&ns, "nowhere", spec("nope", &dest));
    let a = wait_app(&ns, "nowhere", 60, |a| conditions(a).contains("InvalidSpecError"));
    assert!(
        conditions(&a).contains("there are no clusters with this name: nope"),
        "{}",
        conditions(&a)
    );

    // Pruning goes through the registered cluster too.
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  k: v\n",
    );
    repo.commit("renamed");
    refresh(&ns, "remote");
    wait_for("settings pruned, other deployed", 90, || {
        (get("configmap", Some(&dest), "settings").is_none() && get("configmap", Some(&dest), "other").is_some())
            .then_some(())
    });
}

fn apply_secret(ns: &str, name: &str, string_data: Value) {
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns,
                     "labels": {"argocd.argoproj.io/secret-type": "repository"}},
        "stringData": string_data});
    apply(&secret.to_string());
}

fn chart_app(ns: &str, name: &str, url: &str) {
    auto_app(
        ns,
        name,
        json!({"repoURL": url, "chart": "hello", "targetRevision": "1.0.0"}),
    );
}

fn synced(ns: &str, name: &str) -> Value {
    wait_app(ns, name, 120, |a| state(a).0 == "Synced" && state(a).2 == "Succeeded")
}

#[test]
fn chart_repositories_over_tls_with_repository_secret_client_certificates_ca_and_insecure() {
    use ballast_testenv::charts::{Helm, HttpsChartServer, Pki, write_chart};
    let ns = namespace("argo-tls");
    let work = tempfile::tempdir().unwrap();
    let helm = Helm::new(&work.path().join("helm"));
    let repo_dir = work.path().join("repo");
    let chart = write_chart(&work.path().join("src"), "hello", "1.0.0", "message: hi\n", &[]);
    helm.package(&chart, &repo_dir);
    helm.index(&repo_dir, None);
    let pki = Pki::generate();
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain = HttpsChartServer::start_on(bind(), &repo_dir, &pki, false);
    let mutual = HttpsChartServer::start_on(bind(), &repo_dir, &pki, true);
    let _c = controller(&ns);

    // A server whose certificate nothing vouches for: reached with `insecure: "true"` only.
    apply_secret(
        &ns,
        "plain",
        json!({"url": plain.url, "type": "helm", "insecure": "true"}),
    );
    chart_app(&ns, "insecure", &plain.url);
    synced(&ns, "insecure");
    assert!(get("configmap", Some(&ns), "insecure").is_some());

    // Mutual TLS: refused without the CA and a client certificate ...
    chart_app(&ns, "mtls", &mutual.url);
    let a = wait_app(&ns, "mtls", 120, |a| {
        a["status"]["conditions"].to_string().contains("ComparisonError")
    });
    assert!(get("configmap", Some(&ns), "mtls").is_none(), "{:#}", a["status"]);
    // ... then the CA from argocd-tls-certs-cm (by host) and the client certificate from the
    // repository Secret, as Argo CD reads them.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "argocd-tls-certs-cm", "namespace": ns},
        "data": {"127.0.0.1": pki.ca}});
    apply(&cm.to_string());
    apply_secret(
        &ns,
        "mutual",
        json!({"url": mutual.url, "type": "helm",
               "tlsClientCertData": pki.client_cert, "tlsClientCertKey": pki.client_key}),
    );
    refresh(&ns, "mtls");
    let a = synced(&ns, "mtls");
    assert_eq!(a["status"]["sync"]["revision"], "1.0.0");
    assert!(get("configmap", Some(&ns), "mtls").is_some());
    assert!(
        !a.to_string().contains("PRIVATE KEY"),
        "the client key leaked into the status"
    );
}

#[test]
fn git_repository_over_mutual_tls_with_repository_secret_credentials_and_ca() {
    use ballast_testenv::charts::Pki;
    use ballast_testenv::tls_proxy::TlsProxy;
    use ballast_testenv::{GitHttpServer, HttpAuth};
    const PASSWORD: &str = "argo-git-pw-7";
    let ns = namespace("argo-gittls");
    let repo = cm_repo("from-tls");
    let root = tempfile::tempdir().unwrap();
    repo.publish(root.path(), "app");
    let http = GitHttpServer::start(root.path(), HttpAuth::Basic("argo".into(), PASSWORD.into()));
    let upstream: std::net::SocketAddr = http.url.trim_start_matches("http://").parse().unwrap();
    let pki = Pki::generate();
    let proxy = TlsProxy::start(upstream, &pki, true);
    let url = format!("{}/app.git", proxy.url);
    let _c = controller(&ns);
    git_app(&ns, "gittls", &url);
    // Neither trusted nor identified: a ComparisonError, nothing applied.
    wait_app(&ns, "gittls", 120, |a| {
        a["status"]["conditions"].to_string().contains("ComparisonError")
    });
    assert!(get("configmap", Some(&ns), "from-tls").is_none());
    // The CA by host, and a repository Secret with the client certificate and credentials.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "argocd-tls-certs-cm", "namespace": ns},
        "data": {"127.0.0.1": pki.ca}});
    apply(&cm.to_string());
    apply_secret(
        &ns,
        "app-git",
        json!({"url": url, "type": "git", "username": "argo", "password": PASSWORD,
               "tlsClientCertData": pki.client_cert, "tlsClientCertKey": pki.client_key}),
    );
    refresh(&ns, "gittls");
    let a = synced(&ns, "gittls");
    assert!(get("configmap", Some(&ns), "from-tls").is_some());
    let text = a.to_string();
    assert!(
        !text.contains(PASSWORD) && !text.contains("PRIVATE KEY"),
        "a credential in the status"
    );
}

#[test]
fn git_over_ssh_with_the_repository_secret_key_and_argo_cd_known_hosts() {
    use ballast_testenv::ssh::SshServer;
    let ns = namespace("argo-ssh");
    let repo = cm_repo("over-ssh");
    let root = tempfile::tempdir().unwrap();
    let bare = repo.publish(root.path(), "app");
    let server = SshServer::start();
    let url = server.url(&bare);
    let key = std::fs::read_to_string(&server.client_key).unwrap();
    let _c = controller(&ns);
    apply_secret(&ns, "app-ssh", json!({"url": url, "type": "git", "sshPrivateKey": key}));
    git_app(&ns, "ssh", &url);
    // No known host keys: refused (never trusted on first use), nothing applied.
    wait_app(&ns, "ssh", 120, |a| {
        a["status"]["conditions"].to_string().contains("no SSH host keys")
    });
    assert!(get("configmap", Some(&ns), "over-ssh").is_none());
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "argocd-ssh-known-hosts-cm", "namespace": ns},
        "data": {"ssh_known_hosts": std::fs::read_to_string(&server.known_hosts).unwrap()}});
    apply(&cm.to_string());
    refresh(&ns, "ssh");
    let a = synced(&ns, "ssh");
    assert!(get("configmap", Some(&ns), "over-ssh").is_some());
    assert!(!a.to_string().contains("PRIVATE KEY"), "the key leaked into the status");
}
