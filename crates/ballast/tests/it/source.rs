use ballast_testenv::git::GitRepo;
use ballast_testenv::ssh::SshServer;
use ballast_testenv::{GitHttpServer, HttpAuth};

use crate::support::*;

fn value(ns: &str) -> String {
    get("configmap", Some(ns), "release").expect("configmap")["data"]["key"]
        .as_str()
        .unwrap()
        .to_string()
}

fn tagged_repo(ns: &str) -> GitRepo {
    let repo = GitRepo::new();
    for v in ["v0.9.0", "v1.0.0", "v1.2.0", "v1.2.3", "v2.0.0", "v2.1.0-rc.1"] {
        repo.write("cm.yaml", &configmap(ns, "release", v));
        repo.commit(v);
        repo.tag(v);
    }
    repo.write("cm.yaml", &configmap(ns, "release", "main-tip"));
    repo.commit("tip");
    repo
}

#[test]
fn branch_tag_semver_and_commit() {
    let ns = namespace("src-refs");
    let repo = tagged_repo(&ns);
    let url = repo.url();
    let sync = |extra: &[&str]| {
        let mut args = vec!["sync", "--name", &ns, "--url", &url];
        args.extend_from_slice(extra);
        ballast(&args)
    };
    let run = sync(&["--semver", ">=1.0.0 <2.0.0"]).ok();
    assert_eq!(value(&ns), "v1.2.3");
    let sha = repo.git(&["rev-parse", "v1.2.3^{commit}"]);
    assert!(
        run.stderr.contains(&format!("fetched v1.2.3@sha1:{}", sha.trim())),
        "{}",
        run.stderr
    );
    sync(&["--semver", "~1.0"]).ok();
    assert_eq!(value(&ns), "v1.0.0");
    sync(&["--semver", ">=2.0.0"]).ok();
    assert_eq!(value(&ns), "v2.0.0", "pre-releases are not picked by a plain range");
    sync(&["--tag", "v0.9.0"]).ok();
    assert_eq!(value(&ns), "v0.9.0");
    sync(&["--branch", "main"]).ok();
    assert_eq!(value(&ns), "main-tip");
    let first = repo.git(&["rev-parse", "v1.2.0^{commit}"]);
    let run = sync(&["--commit", first.trim()]).ok();
    assert_eq!(value(&ns), "v1.2.0");
    assert!(
        run.stderr.contains(&format!("fetched sha1:{}", first.trim())),
        "{}",
        run.stderr
    );

    let run = sync(&["--semver", ">=3.0.0"]).fails();
    assert!(
        run.stderr.contains("no tag matches semver range \">=3.0.0\""),
        "{}",
        run.stderr
    );
    let run = sync(&["--branch", "nope"]).fails();
    assert!(run.stderr.contains("branch \"nope\" not found"), "{}", run.stderr);
    let run = sync(&["--tag", "v9"]).fails();
    assert!(run.stderr.contains("tag \"v9\" not found"), "{}", run.stderr);
    assert_eq!(value(&ns), "v1.2.0", "a failed fetch changed the cluster");
}

#[test]
fn smart_http_with_basic_auth_and_bearer_token() {
    let ns = namespace("src-http");
    let repo = GitRepo::new();
    repo.write("cm.yaml", &configmap(&ns, "release", "over-http"));
    repo.commit("init");
    let root = tempfile::tempdir().unwrap();
    repo.publish(root.path(), "app");

    let basic = GitHttpServer::start(root.path(), HttpAuth::Basic("git".into(), "s3cret-pass".into()));
    let url = basic.repo_url("app");
    // Credentials over plain http:// are refused unless asked for, before anything is sent.
    let run = ballast(&[
        "sync",
        "--name",
        &ns,
        "--url",
        &url,
        "--username",
        "git",
        "--password",
        "s3cret-pass",
    ])
    .fails();
    assert!(run.stderr.contains("plain http://"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret-pass"), "password echoed: {}", run.stderr);
    assert!(get("configmap", Some(&ns), "release").is_none(), "nothing applied");
    ballast(&[
        "sync",
        "--name",
        &ns,
        "--url",
        &url,
        "--username",
        "git",
        "--password",
        "s3cret-pass",
        "--insecure",
    ])
    .ok();
    assert_eq!(value(&ns), "over-http");
    let run = ballast(&[
        "sync",
        "--name",
        &ns,
        "--url",
        &url,
        "--username",
        "git",
        "--password",
        "wrong-pass",
        "--insecure",
    ])
    .fails();
    assert!(run.stderr.contains("authentication failed"), "{}", run.stderr);
    assert!(!run.stderr.contains("wrong-pass"), "password echoed: {}", run.stderr);
    let run = ballast(&["sync", "--name", &ns, "--url", &url]).fails();
    assert!(run.stderr.contains("authentication failed"), "{}", run.stderr);

    let bearer = GitHttpServer::start(root.path(), HttpAuth::Bearer("tok-123".into()));
    let url = bearer.repo_url("app");
    ballast(&["sync", "--name", &ns, "--url", &url, "--token", "tok-123", "--insecure"]).ok();
    let run = ballast(&["sync", "--name", &ns, "--url", &url, "--token", "bad", "--insecure"]).fails();
    assert!(run.stderr.contains("authentication failed"), "{}", run.stderr);

    let run = ballast(&["sync", "--name", &ns, "--url", "http://127.0.0.1:1/none.git"]).fails();
    assert!(run.stderr.contains("unreachable"), "{}", run.stderr);
}

#[test]
fn ssh_checks_host_keys() {
    let ns = namespace("src-ssh");
    let repo = GitRepo::new();
    repo.write("cm.yaml", &configmap(&ns, "release", "over-ssh"));
    repo.commit("init");
    let root = tempfile::tempdir().unwrap();
    let bare = repo.publish(root.path(), "app");
    let server = SshServer::start();
    let url = server.url(&bare);
    let key = server.client_key.display().to_string();

    let wrong = server.wrong_known_hosts.display().to_string();
    let run = ballast(&[
        "sync",
        "--name",
        &ns,
        "--url",
        &url,
        "--private-key-file",
        &key,
        "--known-hosts-file",
        &wrong,
    ])
    .fails();
    assert!(run.stderr.contains("host key verification failed"), "{}", run.stderr);
    let empty = tempfile::NamedTempFile::new().unwrap();
    let empty = empty.path().display().to_string();
    let run = ballast(&[
        "sync",
        "--name",
        &ns,
        "--url",
        &url,
        "--private-key-file",
        &key,
        "--known-hosts-file",
        &empty,
    ])
    .fails();
    assert!(run.stderr.contains("host key verification failed"), "{}", run.stderr);
    assert!(get("configmap", Some(&ns), "release").is_none());

    let known = server.known_hosts.display().to_string();
    ballast(&[
        "sync",
        "--name",
        &ns,
        "--url",
        &url,
        "--private-key-file",
        &key,
        "--known-hosts-file",
        &known,
    ])
    .ok();
    assert_eq!(value(&ns), "over-ssh");
}
