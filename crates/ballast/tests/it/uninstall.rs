//! `ballast uninstall` with a controller still running: nothing it reconciled is pruned, and
//! another controller's finalizer is left alone. Runs on its own control plane (uninstall removes
//! the CRDs every other test uses).

use std::path::Path;
use std::process::Command;

use ballast_testenv::git::GitRepo;

use crate::support::*;

fn ballast_on(kubeconfig: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn kubectl_on(kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    Command::new(ballast_local::find_binary("kubectl").unwrap())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap()
}

fn apply_on(kubeconfig: &Path, yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("objects.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = kubectl_on(kubeconfig, &["apply", "-f", &file.display().to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `metadata.uid` of an object, or None when it does not exist.
fn uid_on(kubeconfig: &Path, kind: &str, ns: &str, name: &str) -> Option<String> {
    let out = kubectl_on(
        kubeconfig,
        &[
            "get",
            kind,
            name,
            "-n",
            ns,
            "-o",
            "jsonpath={.metadata.uid}",
            "--ignore-not-found",
        ],
    );
    let uid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !uid.is_empty()).then_some(uid)
}

fn jsonpath_on(kubeconfig: &Path, kind: &str, ns: &str, name: &str, path: &str) -> String {
    let out = kubectl_on(
        kubeconfig,
        &[
            "get",
            kind,
            name,
            "-n",
            ns,
            "-o",
            &format!("jsonpath={path}"),
            "--ignore-not-found",
        ],
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn uninstall_with_a_running_controller_prunes_nothing_and_keeps_foreign_finalizers() {
    let plane = tempfile::tempdir().unwrap();
    let dir = plane.path().display().to_string();
    let up = ballast_on(Path::new("/nonexistent"), &["local", "up", "--dir", &dir]);
    assert_eq!(up.code, 0, "{}{}", up.stdout, up.stderr);
    let kc = plane.path().join("kubeconfig");
    struct Down<'a>(&'a str, &'a Path);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = ballast_on(self.1, &["local", "down", "--dir", self.0]);
        }
    }
    let _down = Down(&dir, &kc);
    assert_eq!(ballast_on(&kc, &["install"]).code, 0);

    let ns = "uninstall-race";
    assert!(kubectl_on(&kc, &["create", "namespace", ns]).status.success());
    let repo = GitRepo::new();
    repo.write("app/deploy.yaml", &deployment(ns, "web", 1));
    repo.write("app/cm.yaml", &configmap(ns, "settings", "v1"));
    repo.write("held/cm.yaml", &configmap(ns, "held-settings", "v1"));
    ballast_testenv::charts::write_chart(&repo.path().join("charts"), "demo", "0.1.0", "message: kept\n", &[]);
    repo.commit("app");
    let flux = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         url: {url}\n  interval: 1s\n  ref:\n    branch: main\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 1s\n  prune: true\n  path: ./app\n  sourceRef:\n    kind: GitRepository\n    name: app\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: held\n  namespace: {ns}\n  \
         finalizers:\n  - example.com/keep\nspec:\n  interval: 1s\n  prune: true\n  path: ./held\n  sourceRef:\n    \
         kind: GitRepository\n    name: app\n---\n\
         apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: rel\n  namespace: {ns}\nspec:\n  \
         interval: 1m\n  chart:\n    spec:\n      chart: ./charts/demo\n      sourceRef:\n        kind: GitRepository\n        \
         name: app\n",
        url = repo.url()
    );
    apply_on(&kc, &flux);
    let _controller = ControllerProcess::start_with(&kc, ns, &[]);
    let owned = [
        ("deployment", "web"),
        ("configmap", "settings"),
        ("configmap", "held-settings"),
        ("configmap", "rel"),
    ];
    let uids: Vec<String> = owned
        .iter()
        .map(|(kind, name)| {
            wait_for(&format!("{kind}/{name} applied by the controller"), 60, || {
                uid_on(&kc, kind, ns, name)
            })
        })
        .collect();
    wait_for("the controller's finalizer on both Kustomizations", 30, || {
        ["app", "held"]
            .iter()
            .all(|k| {
                jsonpath_on(&kc, "kustomization", ns, k, "{.metadata.finalizers}").contains("finalizers.fluxcd.io")
            })
            .then_some(())
    });

    // The controller keeps running throughout.
    let run = ballast_on(&kc, &["uninstall", "--keep-namespace"]).fails();
    assert!(
        run.stderr.contains("Kustomization/uninstall-race/held") && run.stderr.contains("example.com/keep"),
        "names the object and the finalizer it waits for: {}",
        run.stderr
    );
    assert!(
        run.stdout.contains("Kustomization/uninstall-race/app deleted"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("HelmRelease/uninstall-race/rel deleted (suspended first: release kept)"),
        "{}",
        run.stdout
    );
    // Give a running controller every chance to prune, then look.
    std::thread::sleep(std::time::Duration::from_secs(3));
    for ((kind, name), uid) in owned.iter().zip(&uids) {
        assert_eq!(
            uid_on(&kc, kind, ns, name).as_ref(),
            Some(uid),
            "{kind}/{name} was deleted or replaced"
        );
    }
    assert!(uid_on(&kc, "kustomization", ns, "app").is_none());
    assert!(uid_on(&kc, "helmrelease", ns, "rel").is_none());
    assert!(
        uid_on(&kc, "secret", ns, "sh.helm.release.v1.rel.v1").is_some(),
        "the Helm release stays installed"
    );
    let finalizers = jsonpath_on(&kc, "kustomization", ns, "held", "{.metadata.finalizers}");
    assert!(
        finalizers.contains("example.com/keep"),
        "foreign finalizer kept: {finalizers}"
    );
    assert!(
        !finalizers.contains("finalizers.fluxcd.io"),
        "ours removed: {finalizers}"
    );
    assert_eq!(jsonpath_on(&kc, "kustomization", ns, "held", "{.spec.suspend}"), "true");
    assert!(
        kubectl_on(&kc, &["get", "crd", "kustomizations.kustomize.toolkit.fluxcd.io"])
            .status
            .success(),
        "the CRD stays while an object of its kind waits"
    );

    // Once the other controller lets go, uninstall completes; the workloads still stay.
    let patch = r#"{"metadata":{"finalizers":null}}"#;
    assert!(
        kubectl_on(
            &kc,
            &["patch", "kustomization", "held", "-n", ns, "--type=merge", "-p", patch]
        )
        .status
        .success()
    );
    ballast_on(&kc, &["uninstall", "--keep-namespace"]).ok();
    wait_for("the Kustomization CRD removed", 30, || {
        (!kubectl_on(&kc, &["get", "crd", "kustomizations.kustomize.toolkit.fluxcd.io"])
            .status
            .success())
        .then_some(())
    });
    for ((kind, name), uid) in owned.iter().zip(&uids) {
        assert_eq!(uid_on(&kc, kind, ns, name).as_ref(), Some(uid), "{kind}/{name}");
    }
}
