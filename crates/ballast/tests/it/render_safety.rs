//! Render safety against hostile sources: nothing outside the repository root is read, input is
//! bounded, and secrets never appear in messages. Every refusal is checked on the live cluster:
//! nothing applied, nothing pruned, the inventory unchanged.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use ballast_testenv::git::GitRepo;

use crate::support::*;

const SECRET: &str = "s3cr3t-literal-value";

/// A repository synced once with a good ConfigMap; `change` then breaks it (the good file is
/// removed too, so a sync that went ahead would prune it). The sync must fail with `expect` in
/// its messages, show no secret, and leave the cluster and the inventory as they were.
fn refused(case: &str, change: impl FnOnce(&GitRepo, &str), expect: &[&str]) -> (String, Run) {
    let ns = namespace(&format!("safe-{case}"));
    let repo = GitRepo::new();
    repo.write("good.yaml", &configmap(&ns, "good", "1"));
    repo.commit("good");
    let url = repo.url();
    ballast(&["sync", "--name", &ns, "--url", &url, "--prune"]).ok();
    let inv_rv = resource_version("configmap", Some("default"), &format!("ballast-inventory-{ns}"));
    let good_rv = resource_version("configmap", Some(&ns), "good");

    repo.remove("good.yaml");
    change(&repo, &ns);
    repo.commit(case);
    let run = ballast(&["sync", "--name", &ns, "--url", &url, "--prune"]).fails();
    let all = format!("{}{}", run.stdout, run.stderr);
    for e in expect {
        assert!(all.contains(e), "{case}: expected {e:?} in:\n{all}");
    }
    assert!(!all.contains(SECRET), "{case}: the secret leaked:\n{all}");
    assert_eq!(
        resource_version("configmap", Some(&ns), "good"),
        good_rv,
        "{case}: good touched"
    );
    assert_eq!(
        resource_version("configmap", Some("default"), &format!("ballast-inventory-{ns}")),
        inv_rv,
        "{case}: inventory changed"
    );
    assert_eq!(inventory(&ns), vec![format!("{ns}_good__ConfigMap")]);
    assert_eq!(objects(&ns), ["configmap/good"], "{case}");
    // diff and build refuse it the same way.
    ballast(&["diff", "--name", &ns, "--url", &url]).fails();
    let build = ballast(&["build", "--url", &url]).fails();
    assert!(!format!("{}{}", build.stdout, build.stderr).contains(SECRET));
    (ns, run)
}

/// ConfigMaps and Secrets in a namespace, `kind/name`, sorted (leaving out what Kubernetes
/// puts in every namespace: the service-account token and the root CA ConfigMap).
fn objects(ns: &str) -> Vec<String> {
    let out = kubectl(&["get", "configmaps,secrets", "-n", ns, "-o", "name"]);
    let mut v: Vec<String> = out
        .lines()
        .filter(|l| !l.starts_with("secret/default-token-") && *l != "configmap/kube-root-ca.crt")
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// A directory outside every repository, holding what a symlink would smuggle in.
fn outside(ns: &str) -> tempfile::TempDir {
    let d = tempfile::Builder::new().prefix("ballast-outside-").tempdir().unwrap();
    std::fs::write(
        d.path().join("kustomization.yaml"),
        format!(
            "namespace: {ns}\nsecretGenerator:\n- name: stolen\n  literals:\n  - password={SECRET}\nconfigMapGenerator:\n- name: stolen-config\n  literals:\n  - a=b\n"
        ),
    )
    .unwrap();
    std::fs::write(d.path().join("id_rsa"), SECRET).unwrap();
    d
}

fn link(repo: &GitRepo, target: &Path, at: &str) {
    let l = repo.path().join(at);
    std::fs::create_dir_all(l.parent().unwrap()).unwrap();
    symlink(target, l).unwrap();
}

#[test]
fn a_symlinked_kustomization_outside_the_repository_is_refused_and_its_secret_never_applied() {
    let mut keep = None;
    refused(
        "kfile",
        |repo, ns| {
            let out = outside(ns);
            link(repo, &out.path().join("kustomization.yaml"), "app/kustomization.yaml");
            keep = Some(out);
        },
        &["app/kustomization.yaml: refers outside the repository root"],
    );
}

#[test]
fn a_symlinked_generator_file_outside_the_repository_is_refused() {
    let mut keep = None;
    refused(
        "genfile",
        |repo, ns| {
            let out = outside(ns);
            repo.write(
                "app/kustomization.yaml",
                &format!("namespace: {ns}\nsecretGenerator:\n- name: key\n  files:\n  - id_rsa\n"),
            );
            link(repo, &out.path().join("id_rsa"), "app/id_rsa");
            keep = Some(out);
        },
        &["app/kustomization.yaml: secretGenerator[0]: id_rsa: refers outside the repository root"],
    );
}

#[test]
fn a_relative_symlink_climbing_out_of_a_local_directory_is_refused() {
    let ns = namespace("safe-rel");
    let top = tempfile::tempdir().unwrap();
    let out = outside(&ns);
    std::fs::create_dir_all(top.path().join("repo/app")).unwrap();
    std::fs::create_dir_all(top.path().join("outside")).unwrap();
    std::fs::copy(
        out.path().join("kustomization.yaml"),
        top.path().join("outside/kustomization.yaml"),
    )
    .unwrap();
    symlink(
        "../../outside/kustomization.yaml",
        top.path().join("repo/app/kustomization.yaml"),
    )
    .unwrap();
    let repo = top.path().join("repo").display().to_string();
    let run = ballast(&["sync", "--name", &ns, "--path", &repo]).fails();
    assert!(
        run.stderr
            .contains("app/kustomization.yaml: refers outside the repository root"),
        "{}",
        run.stderr
    );
    assert!(!format!("{}{}", run.stdout, run.stderr).contains(SECRET));
    assert!(objects(&ns).is_empty(), "{:?}", objects(&ns));
    assert!(get("configmap", Some("default"), &format!("ballast-inventory-{ns}")).is_none());
}

#[test]
fn a_symlink_inside_the_repository_is_followed() {
    let ns = namespace("safe-inside");
    let repo = GitRepo::new();
    repo.write(
        "shared/kustomization.yaml",
        &format!("namespace: {ns}\nconfigMapGenerator:\n- name: shared\n  literals:\n  - a=b\n"),
    );
    repo.write("app/README.md", "the kustomization is shared\n");
    symlink(
        "../shared/kustomization.yaml",
        repo.path().join("app/kustomization.yaml"),
    )
    .unwrap();
    repo.commit("shared");
    ballast(&["sync", "--name", &ns, "--url", &repo.url(), "--path", "app"]).ok();
    let names = objects(&ns);
    assert!(names.iter().any(|n| n.starts_with("configmap/shared-")), "{names:?}");
}

#[test]
fn secret_generator_errors_never_show_the_literal() {
    refused(
        "literal",
        |repo, ns| {
            repo.write(
                "app/kustomization.yaml",
                &format!("namespace: {ns}\nsecretGenerator:\n- name: s\n  literals:\n  - user=admin\n  - {SECRET}\n"),
            );
        },
        &["app/kustomization.yaml: secretGenerator[0]: literals[1]: expected key=value"],
    );
    refused(
        "envline",
        |repo, ns| {
            repo.write(
                "app/kustomization.yaml",
                &format!("namespace: {ns}\nsecretGenerator:\n- name: s\n  envs:\n  - app.env\n"),
            );
            // A bare name is a key with an empty value (as in kustomize); this line is no name.
            repo.write("app/app.env", &format!("USER=admin\n{SECRET} is not a key\n"));
        },
        &["secretGenerator[0]: app/app.env: line 2: a key of"],
    );
}

#[test]
fn a_tag_error_in_a_secret_never_shows_the_value() {
    refused(
        "tag",
        |repo, ns| {
            repo.write(
                "secret.yaml",
                &format!(
                    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: {ns}\nstringData:\n  password: !!int {SECRET}\n"
                ),
            );
        },
        &["secret.yaml: invalid YAML in document 0 at line 7", "tagged !!int"],
    );
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    let started = Instant::now();
    refused(
        "bomb",
        |repo, _| {
            let mut text = format!("a: &a \"{}\"\nb: [", "x".repeat(1 << 20));
            text.push_str(&"*a, ".repeat(99_999));
            text.push_str("*a]\n");
            repo.write("bomb.yaml", &text);
        },
        &["bomb.yaml: document 0 at line 2", "(raise it with --max-expanded-size)"],
    );
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}

/// 10,000 documents, each expanding to most of the per-file limit through nested anchors.
pub fn near_limit_documents(n: usize) -> String {
    let row = |a: &str, k: usize| vec![format!("*{a}"); k].join(", ");
    let doc = format!(
        "a0: &a0 {}\na1: &a1 [{}]\na2: &a2 [{}]\na3: &a3 [{}]\na4: [{}]\na5: [{}]\n",
        "x".repeat(256),
        row("a0", 16),
        row("a1", 16),
        row("a2", 16),
        row("a3", 16),
        row("a3", 8)
    );
    format!("---\n{doc}").repeat(n)
}

#[test]
fn ten_thousand_documents_near_the_limit_are_refused() {
    refused(
        "docs",
        |repo, _| {
            repo.write("many.yaml", &near_limit_documents(10_000));
        },
        &["many.yaml: document 1 at line", "(raise it with --max-expanded-size)"],
    );
}

#[test]
fn render_limits_are_set_by_flags() {
    let dir = tempfile::tempdir().unwrap();
    let docs: String = (0..20)
        .map(|i| format!("---\n{}", configmap("default", &format!("c{i}"), "1")))
        .collect();
    std::fs::write(dir.path().join("cms.yaml"), &docs).unwrap();
    let path = dir.path().display().to_string();
    ballast(&["build", "--path", &path]).ok();
    let run = ballast(&["build", "--path", &path, "--max-file-size", "1Ki"]).fails();
    assert!(
        run.stderr.contains("cms.yaml: its size (")
            && run
                .stderr
                .contains("over the limit of 1 KiB (raise it with --max-file-size)"),
        "{}",
        run.stderr
    );
    let run = ballast(&["build", "--path", &path, "--max-documents", "10"]).fails();
    assert!(
        run.stderr.contains("cms.yaml: document 10 at line") && run.stderr.contains("--max-documents"),
        "{}",
        run.stderr
    );
    let run = ballast(&["build", "--path", &path, "--max-objects", "19"]).fails();
    assert!(run.stderr.contains("--max-objects"), "{}", run.stderr);
    let run = ballast(&["build", "--path", &path, "--max-render-size", "4Ki"]).fails();
    assert!(run.stderr.contains("--max-render-size"), "{}", run.stderr);
    let run = ballast(&["build", "--path", &path, "--max-file-size", "lots"]).fails();
    assert!(run.stderr.contains("expected a positive size"), "{}", run.stderr);
}

/// The controller path: a Kustomization whose source turns hostile reports it in its Ready
/// condition, without the secret there, in events or in the log, and applies nothing of it.
#[test]
fn the_controller_refuses_a_symlink_out_and_a_bad_literal_without_showing_the_secret() {
    use ballast_testenv::{GitHttpServer, HttpAuth};

    let ns = namespace("safe-ctl");
    let repo = GitRepo::new();
    repo.write("apps/demo/cm.yaml", &configmap(&ns, "settings", "v1"));
    repo.commit("app");
    let root = tempfile::tempdir().unwrap();
    let bare = repo.publish(root.path(), "app");
    let server = GitHttpServer::start(root.path(), HttpAuth::None);
    let url = server.repo_url("app");
    let create = |args: &[&str]| ballast(&[args, &["-n", &ns, "--export"]].concat()).ok().stdout;
    let source = create(&[
        "create",
        "source",
        "git",
        "app",
        "--url",
        &url,
        "--branch",
        "main",
        "--interval",
        "1s",
    ]);
    let ks = create(&[
        "create",
        "kustomization",
        "app",
        "--source",
        "GitRepository/app",
        "--path",
        "./apps/demo",
        "--prune",
        "--interval",
        "10m",
    ]);
    install();
    let flux = tempfile::tempdir().unwrap();
    std::fs::write(flux.path().join("flux.yaml"), format!("{source}---\n{ks}")).unwrap();
    let flux_path = flux.path().display().to_string();
    ballast(&["sync", "--name", &format!("{ns}-flux"), "--path", &flux_path]).ok();
    let controller = ControllerProcess::start(&ns, &[]);
    wait_for("the app to be applied", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });

    // A symlinked kustomization.yaml pointing out of the repository.
    let out = outside(&ns);
    link(
        &repo,
        &out.path().join("kustomization.yaml"),
        "apps/demo/kustomization.yaml",
    );
    repo.commit("symlink out");
    repo.push(&bare);
    let (_, message) = wait_for("the symlink to be refused", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, m)| s == "False" && m.contains("refers outside"))
    });
    assert!(
        message.contains("apps/demo/kustomization.yaml: refers outside the repository root"),
        "{message}"
    );

    // A secretGenerator literal without '='.
    repo.remove("apps/demo/kustomization.yaml");
    repo.write(
        "apps/demo/kustomization.yaml",
        &format!("resources:\n- cm.yaml\nsecretGenerator:\n- name: s\n  literals:\n  - {SECRET}\n"),
    );
    repo.commit("bad literal");
    repo.push(&bare);
    let (_, message) = wait_for("the literal to be refused", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, m)| s == "False" && m.contains("literals[0]"))
    });
    assert!(
        message.contains("secretGenerator[0]: literals[0]: expected key=value"),
        "{message}"
    );

    let status = serde_json::to_string(&get("kustomization", Some(&ns), "app").unwrap()).unwrap();
    assert!(!status.contains(SECRET), "the secret is in the Kustomization: {status}");
    let events = events(&ns);
    assert!(events.iter().any(|(_, m)| m.contains("refers outside")), "{events:?}");
    assert!(
        !format!("{events:?}").contains(SECRET),
        "the secret is in an event: {events:?}"
    );
    assert!(!controller.log().contains(SECRET), "the secret is in the log");
    // Nothing of it was applied and nothing pruned.
    assert_eq!(objects(&ns), ["configmap/settings"]);
}
