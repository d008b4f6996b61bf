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
