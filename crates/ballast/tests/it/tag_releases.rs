//! Tag-driven releases (seed 004): staging follows `main`, production follows `v*` tags through
//! `ref.semver: ">=1.0.0"`. A commit on main reaches staging only; a release tag reaches
//! production; a prerelease tag or a tag that is no version does not.

use ballast_testenv::git::GitRepo;
use ballast_testenv::{GitHttpServer, HttpAuth};

use crate::support::*;

fn app(release: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\ndata:\n  release: \"{release}\"\n")
}

fn release_in(ns: &str) -> Option<String> {
    get("configmap", Some(ns), "app-config").and_then(|c| c["data"]["release"].as_str().map(str::to_string))
}

fn artifact_revision(ns: &str, name: &str) -> String {
    get("gitrepositories.source.toolkit.fluxcd.io", Some(ns), name)
        .and_then(|g| g["status"]["artifact"]["revision"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn staging_follows_main_and_production_follows_release_tags() {
    let ns = namespace("tag-releases");
    let staging = namespace("tag-staging");
    let production = namespace("tag-production");
    let repo = GitRepo::new();
    repo.write("app/configmap.yaml", &app("one"));
    repo.commit("first release");
    repo.tag("v1.0.0");
    let root = tempfile::tempdir().unwrap();
    let bare = repo.publish(root.path(), "app");
    let server = GitHttpServer::start(root.path(), HttpAuth::None);
    let url = server.repo_url("app");
    install();
    let _c = ControllerProcess::start(&ns, &["--lease-namespace", &ns]);
    for (name, reference, target) in [
        ("staging", ["--branch", "main"], &staging),
        ("production", ["--tag-semver", ">=1.0.0"], &production),
    ] {
        ballast(&[
            "create",
            "source",
            "git",
            name,
            "--url",
            &url,
            reference[0],
            reference[1],
            "--interval",
            "1s",
            "-n",
            &ns,
        ])
        .ok();
        ballast(&[
            "create",
            "kustomization",
            name,
            "--source",
            &format!("GitRepository/{name}"),
            "--path",
            "./app",
            "--prune",
            "--target-namespace",
            target,
            "--interval",
            "10m",
            "-n",
            &ns,
        ])
        .ok();
    }
    wait_for("both environments at release one", 90, || {
        (release_in(&staging).as_deref() == Some("one") && release_in(&production).as_deref() == Some("one"))
            .then_some(())
    });
    assert!(artifact_revision(&ns, "production").starts_with("v1.0.0@sha1:"));

    // A commit on main: staging only.
    repo.write("app/configmap.yaml", &app("two"));
    let two = repo.commit("second");
    repo.push(&bare);
    wait_for("staging at release two", 90, || {
        (release_in(&staging).as_deref() == Some("two")).then_some(())
    });
    assert_eq!(release_in(&production).as_deref(), Some("one"));
    assert!(artifact_revision(&ns, "production").starts_with("v1.0.0@sha1:"));

    // A release tag: production follows.
    repo.tag("v1.1.0");
    repo.push(&bare);
    wait_for("production at release two", 90, || {
        (release_in(&production).as_deref() == Some("two")).then_some(())
    });
    assert_eq!(artifact_revision(&ns, "production"), format!("v1.1.0@sha1:{two}"));

    // A prerelease tag and a tag that is no version move nothing.
    repo.write("app/configmap.yaml", &app("three"));
    repo.commit("third");
    repo.tag("v2.0.0-rc.1").tag("latest");
    repo.push(&bare);
    wait_for("staging at release three", 90, || {
        (release_in(&staging).as_deref() == Some("three")).then_some(())
    });
    // A reconcile of the production source that has seen the new tags: still v1.1.0.
    ballast(&["reconcile", "source", "git", "production", "-n", &ns]).ok();
    assert_eq!(artifact_revision(&ns, "production"), format!("v1.1.0@sha1:{two}"));
    assert_eq!(release_in(&production).as_deref(), Some("two"));
}
