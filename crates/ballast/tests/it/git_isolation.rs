//! Git isolation in the controller: a file:// GitRepository is refused unless the controller
//! was started with `--allow-file-sources`, and nothing is applied from it.

use ballast_testenv::git::GitRepo;

use crate::support::*;

#[test]
fn a_file_source_is_refused_unless_the_controller_allows_file_sources() {
    let ns = namespace("git-file");
    install();
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", &configmap(&ns, "from-file", "v1"));
    repo.commit("app");
    let objects = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         url: {url}\n  interval: 1s\n  ref:\n    branch: main\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 1s\n  prune: true\n  path: ./app\n  sourceRef:\n    kind: GitRepository\n    name: app\n",
        url = repo.url()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flux.yaml"), objects).unwrap();
    kubectl(&["apply", "-f", &dir.path().join("flux.yaml").display().to_string()]);

    let mut strict = ControllerProcess::start_exactly(&env().kubeconfig, &ns, &[]);
    let (_, message) = wait_for("GitRepository refused", 30, || {
        ready("gitrepository", &ns, "app").filter(|(s, _)| s == "False")
    });
    assert!(message.contains("--allow-file-sources"), "{message}");
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(get("configmap", Some(&ns), "from-file").is_none(), "nothing applied");
    let log = strict.log();
    assert!(
        log.contains(&format!("GitRepository {ns}/app: InvalidSpec:")),
        "the reconcile error is logged with its object: {log}"
    );
    strict.kill();

    let _allowed = ControllerProcess::start(&ns, &[]);
    wait_for("the app applied from file://", 60, || {
        get("configmap", Some(&ns), "from-file")
    });
}

/// Merge-patches the status of a GitRepository (kubectl 1.20 cannot patch a status).
fn patch_repo_status(ns: &str, name: &str, patch: serde_json::Value) {
    let kubeconfig = env().kubeconfig.clone();
    let (ns, name) = (ns.to_string(), name.to_string());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .unwrap();
            let client = kube::Client::try_from(config).unwrap();
            let api: kube::Api<ballast_api::GitRepository> = kube::Api::namespaced(client, &ns);
            api.patch_status(&name, &Default::default(), &kube::api::Patch::Merge(&patch))
                .await
                .unwrap();
        });
}

#[test]
fn the_artifact_path_in_a_status_is_never_read() {
    let ns = namespace("git-path");
    install();
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", &configmap(&ns, "from-git", "v1"));
    repo.commit("app");
    let objects = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         url: {url}\n  interval: 1s\n  ref:\n    branch: main\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 1h\n  prune: true\n  path: ./app\n  sourceRef:\n    kind: GitRepository\n    name: app\n",
        url = repo.url()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flux.yaml"), objects).unwrap();
    kubectl(&["apply", "-f", &dir.path().join("flux.yaml").display().to_string()]);
    let _controller = ControllerProcess::start(&ns, &[]);
    wait_for("the app applied", 60, || get("configmap", Some(&ns), "from-git"));

    // Whoever can write a GitRepository's status points its artifact at other files.
    let evil = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(evil.path().join("app")).unwrap();
    std::fs::write(evil.path().join("app/cm.yaml"), configmap(&ns, "not-from-git", "x")).unwrap();
    let path = evil.path().display().to_string();
    patch_repo_status(
        &ns,
        "app",
        serde_json::json!({"status": {"artifact": {"path": path, "url": format!("file://{path}")}}}),
    );
    let asked = "2030-01-01T00:00:00Z";
    kubectl(&[
        "annotate",
        "--overwrite",
        "kustomization",
        "app",
        "-n",
        &ns,
        &format!("reconcile.fluxcd.io/requestedAt={asked}"),
    ]);
    wait_for("the requested reconcile", 30, || {
        get("kustomization", Some(&ns), "app")
            .filter(|k| k["status"]["lastHandledReconcileAt"] == asked)
            .filter(|k| {
                k["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
            })
    });
    assert!(
        get("configmap", Some(&ns), "not-from-git").is_none(),
        "applied files named by the status"
    );
    assert!(
        get("configmap", Some(&ns), "from-git").is_some(),
        "the Git files still apply"
    );
}

#[test]
fn a_revision_over_the_artifact_size_limit_is_refused_and_nothing_applied() {
    let ns = namespace("git-size");
    let repo = GitRepo::new();
    repo.write("cm.yaml", &configmap(&ns, "sized", "v1"));
    repo.write("blob.txt", &"x".repeat(4096));
    let commit = repo.commit("big");
    let url = repo.url();
    let run = ballast(&["sync", "--name", &ns, "--url", &url, "--max-artifact-size", "2Ki"]).fails();
    assert!(run.code != 101, "no panic: {}", run.stderr);
    assert!(
        run.stderr.contains(&url) && run.stderr.contains(&format!("main@sha1:{commit}")),
        "names the repository and the revision: {}",
        run.stderr
    );
    assert!(run.stderr.contains("too large"), "{}", run.stderr);
    assert!(get("configmap", Some(&ns), "sized").is_none(), "nothing applied");
    ballast(&["sync", "--name", &ns, "--url", &url]).ok();
    assert!(
        get("configmap", Some(&ns), "sized").is_some(),
        "the default limit accepts it"
    );
}
