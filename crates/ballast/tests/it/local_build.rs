//! `ballast build --path` on this machine's files, compared with `kubectl kustomize` (no cluster).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::Run;

fn ballast_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run ballast");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn kubectl_kustomize(dir: &Path) -> String {
    let bin = ballast_local::find_binary("kubectl").unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(bin).arg("kustomize").arg(dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The documents of a YAML stream, sorted, to compare renders regardless of order.
fn objects(stream: &str) -> Vec<Value> {
    let mut docs: Vec<Value> = ballast_render::yaml::parse_stream(stream)
        .unwrap_or_else(|e| panic!("{e}: {stream}"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    docs.sort_by_key(|d| d.to_string());
    docs
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// apps/base (a ConfigMap and a Deployment) and apps/staging (an overlay on ../base with a patch).
fn layout(root: &Path) {
    write(
        root,
        "apps/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- cm.yaml\n- deploy.yaml\n",
    );
    write(
        root,
        "apps/base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: base\n",
    );
    write(
        root,
        "apps/base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: web:1\n",
    );
    write(
        root,
        "apps/staging/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: staging\nnamePrefix: staging-\nresources:\n- ../base\npatches:\n- path: patch.yaml\n",
    );
    write(
        root,
        "apps/staging/patch.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: staging\n",
    );
}

fn outside_work_tree() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("ballast-build-").tempdir().unwrap();
    assert!(
        !dir.path().ancestors().any(|a| a.join(".git").exists()),
        "the temporary directory must not be inside a Git work tree"
    );
    dir
}

#[test]
fn outside_a_work_tree_bases_resolve_as_kubectl_kustomize_does() {
    let dir = outside_work_tree();
    layout(dir.path());
    let overlay = dir.path().join("apps/staging");
    let want = objects(&kubectl_kustomize(&overlay));
    assert_eq!(want.len(), 2);

    // From inside the overlay, from its parent, and by absolute path from elsewhere.
    let here = ballast_in(&overlay, &["build", "--path", "."]).ok();
    assert_eq!(objects(&here.stdout), want, "{}", here.stdout);
    let parent = ballast_in(&dir.path().join("apps"), &["build", "--path", "staging"]).ok();
    assert_eq!(objects(&parent.stdout), want);
    let abs = ballast_in(Path::new("/"), &["build", "--path", overlay.to_str().unwrap()]).ok();
    assert_eq!(objects(&abs.stdout), want);
    // --root confines: the overlay alone cannot reach ../base; apps/ can.
    let confined = ballast_in(&overlay, &["build", "--path", ".", "--root", "."]).fails();
    assert!(
        confined.stderr.contains("../base: refers outside"),
        "{}",
        confined.stderr
    );
    let wider = ballast_in(&overlay, &["build", "--path", ".", "--root", ".."]).ok();
    assert_eq!(objects(&wider.stdout), want);
    let e = ballast_in(&overlay, &["build", "--path", ".", "--root", "../base"]).fails();
    assert!(e.stderr.contains("not inside --root"), "{}", e.stderr);
}

#[test]
fn inside_a_work_tree_the_work_tree_stays_the_root() {
    let dir = outside_work_tree();
    layout(dir.path());
    // A work tree holding only the overlay: ../base is outside it and refused.
    let repo = dir.path().join("apps/staging");
    assert!(
        Command::new("git")
            .args(["init", "--quiet"])
            .current_dir(&repo)
            .status()
            .unwrap()
            .success()
    );
    let e = ballast_in(&repo, &["build", "--path", "."]).fails();
    assert!(e.stderr.contains("../base: refers outside"), "{}", e.stderr);
    // A work tree holding both: built as kubectl kustomize builds it.
    std::fs::remove_dir_all(repo.join(".git")).unwrap();
    assert!(
        Command::new("git")
            .args(["init", "--quiet"])
            .current_dir(dir.path())
            .status()
            .unwrap()
            .success()
    );
    let want = objects(&kubectl_kustomize(&repo));
    let run = ballast_in(&repo, &["build", "--path", "."]).ok();
    assert_eq!(objects(&run.stdout), want);
}

#[test]
fn outside_a_work_tree_what_kustomize_refuses_stays_refused() {
    let dir = outside_work_tree();
    layout(dir.path());
    // A kustomization that is a symlink to a file elsewhere: kubectl kustomize does not take it.
    write(
        dir.path(),
        "elsewhere/kustomization.yaml",
        "configMapGenerator:\n- name: leaked\n  literals:\n  - a=b\n",
    );
    std::fs::create_dir_all(dir.path().join("apps/linked")).unwrap();
    std::os::unix::fs::symlink(
        "../../elsewhere/kustomization.yaml",
        dir.path().join("apps/linked/kustomization.yaml"),
    )
    .unwrap();
    let bin = ballast_local::find_binary("kubectl").unwrap();
    let kustomize = Command::new(&bin)
        .arg("kustomize")
        .arg(dir.path().join("apps/linked"))
        .output()
        .unwrap();
    assert!(!kustomize.status.success());
    let e = ballast_in(&dir.path().join("apps"), &["build", "--path", "linked"]).fails();
    assert!(e.stderr.contains("refers outside"), "{}", e.stderr);
    assert!(!e.stdout.contains("leaked"));
    // A patch above everything the overlay reaches: refused by both.
    write(
        dir.path(),
        "apps/staging/kustomization.yaml",
        "resources:\n- ../base\npatches:\n- path: ../../patch.yaml\n",
    );
    write(
        dir.path(),
        "patch.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: x\n",
    );
    let kustomize = Command::new(&bin)
        .arg("kustomize")
        .arg(dir.path().join("apps/staging"))
        .output()
        .unwrap();
    assert!(!kustomize.status.success());
    let e = ballast_in(&dir.path().join("apps/staging"), &["build", "--path", "."]).fails();
    assert!(e.stderr.contains("refers outside"), "{}", e.stderr);
}
