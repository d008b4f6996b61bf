//! The CI helpers `ballast set image`, `set value` and `bump image` on real files, checked
//! byte for byte and, for kustomizations, through the reference `kubectl kustomize`. No cluster.

use std::path::Path;
use std::process::Command;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run ballast");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn kustomize(dir: &Path) -> String {
    let kubectl = ballast_local::find_binary("kubectl").unwrap_or_else(|e| panic!("{e} (scripts/install-deps)"));
    let out = Command::new(kubectl)
        .args(["kustomize", dir.to_str().unwrap()])
        .output()
        .expect("run kubectl kustomize");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hashgenerator-dep\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: hashgenerator\n  template:\n    metadata:\n      labels:\n        app: hashgenerator\n    spec:\n      containers:\n        - name: hashgenerator\n          image: IMAGE_PLACEHOLDER\n";

/// Seed 002's flow: `kustomize edit set image IMAGE_PLACEHOLDER=jakousa/dwk-4-gitops-app:$SHA`
/// in CI, then commit. The file comes out as kustomize writes it for this input.
#[test]
fn set_image_on_the_seed_002_kustomization_writes_what_kustomize_writes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("manifests/deployment.yaml"), DEPLOYMENT).unwrap();
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- manifests/deployment.yaml\nimages:\n- name: IMAGE_PLACEHOLDER\n  newName: jakousa/dwk-4-gitops-app\n  newTag: fdafd7088d04892815ed037cf30ca4f61c7af2f7\n";
    let file = dir.path().join("kustomization.yaml");
    std::fs::write(&file, kustomization).unwrap();
    let sha = "0b5e0f0c9d3a3e3b8f3b6a4c2d1e0f9a8b7c6d5e";
    let path = dir.path().to_str().unwrap();
    let arg = format!("IMAGE_PLACEHOLDER=jakousa/dwk-4-gitops-app:{sha}");
    let out = run(&["set", "image", "--path", path, &arg]);
    assert_eq!(out.code, 0, "{} {}", out.stdout, out.stderr);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        kustomization.replace("fdafd7088d04892815ed037cf30ca4f61c7af2f7", sha)
    );
    assert!(kustomize(dir.path()).contains(&format!("image: jakousa/dwk-4-gitops-app:{sha}")));
    // The same again: nothing to do, exit 3, file untouched.
    let out = run(&["set", "image", "--path", path, &arg, "--output", "json"]);
    assert_eq!(out.code, 3, "{} {}", out.stdout, out.stderr);
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(json["changed"], false);
    // A purely numeric tag is quoted, so the kustomization still reads it as a string.
    let out = run(&["set", "image", "--path", path, "IMAGE_PLACEHOLDER=*:20260130"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("  newTag: \"20260130\"\n")
    );
    assert!(kustomize(dir.path()).contains("image: jakousa/dwk-4-gitops-app:20260130"));
}

#[test]
fn set_image_keeps_comments_and_adds_new_images_sorted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deployment.yaml"),
        DEPLOYMENT.replace("IMAGE_PLACEHOLDER", "nginx:1.25"),
    )
    .unwrap();
    let kustomization = "# managed by CI\nresources:\n  - deployment.yaml   # the app\nimages:\n  - name: redis # cache\n    newTag: '7.0'\n";
    let file = dir.path().join("kustomization.yaml");
    std::fs::write(&file, kustomization).unwrap();
    let path = dir.path().to_str().unwrap();
    let out = run(&[
        "set",
        "image",
        "--path",
        path,
        "nginx=mirror.local/nginx:1.27@sha256:abcd",
        "redis:7.2",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "# managed by CI\nresources:\n  - deployment.yaml   # the app\nimages:\n  - name: nginx\n    newName: mirror.local/nginx\n    newTag: \"1.27\"\n    digest: sha256:abcd\n  - name: redis # cache\n    newTag: '7.2'\n"
    );
    assert!(kustomize(dir.path()).contains("image: mirror.local/nginx:1.27@sha256:abcd"));
    // Bad arguments: exit 2 naming the argument, file untouched.
    let before = std::fs::read_to_string(&file).unwrap();
    let out = run(&["set", "image", "--path", path, "nginx:1.2/3"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("nginx:1.2/3"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    let out = run(&["set", "image", "--path", "/nonexistent-dir", "a:1"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no kustomization.yaml"), "{}", out.stderr);
}

#[test]
fn set_value_and_bump_image_edit_helm_values_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let values =
        "# staging values\nimage:\n  repository: ghcr.io/org/app  # app image\n  tag: \"1.4.0\"\n\nreplicaCount: 2\n";
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, values).unwrap();
    let f = file.to_str().unwrap();
    let out = run(&["set", "value", f, "image.tag=1.5.0", "image.pullPolicy=Always"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "# staging values\nimage:\n  repository: ghcr.io/org/app  # app image\n  tag: \"1.5.0\"\n  pullPolicy: Always\n\nreplicaCount: 2\n"
    );
    let out = run(&[
        "bump",
        "image",
        "app",
        "--to",
        "1.5.0",
        "--file",
        f,
        "--key",
        "image.tag",
    ]);
    assert_eq!(out.code, 3, "{} {}", out.stdout, out.stderr);
    let out = run(&[
        "bump",
        "image",
        "app",
        "--to",
        "1.6.0",
        "--file",
        f,
        "--key",
        "image.tag",
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        (json["changed"].as_bool(), json["tag"].as_str()),
        (Some(true), Some("1.6.0"))
    );
    assert!(std::fs::read_to_string(&file).unwrap().contains("  tag: \"1.6.0\"\n"));
    // A mapping is not a value.
    let out = run(&["set", "value", f, "image=x"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("values.yaml") && out.stderr.contains("mapping"),
        "{}",
        out.stderr
    );
}

#[test]
fn bump_image_in_a_kustomization_keeps_the_new_name_and_drops_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deployment.yaml"),
        DEPLOYMENT.replace("IMAGE_PLACEHOLDER", "app"),
    )
    .unwrap();
    let file = dir.path().join("kustomization.yaml");
    std::fs::write(
        &file,
        "resources:\n- deployment.yaml\nimages:\n- name: app\n  newName: registry.local/app\n  newTag: 1.0.0\n  digest: sha256:0000\n",
    )
    .unwrap();
    let out = run(&[
        "bump",
        "image",
        "app",
        "--to",
        "v1.1.0",
        "--path",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "resources:\n- deployment.yaml\nimages:\n- name: app\n  newName: registry.local/app\n  newTag: v1.1.0\n"
    );
    assert!(kustomize(dir.path()).contains("image: registry.local/app:v1.1.0"));
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Two CI jobs edit the same repository: the second push is not a fast-forward, so it is
/// rebased onto the first and pushed; both commits end up on the branch. A conflicting edit is
/// refused without pushing or forcing anything.
#[test]
fn commit_push_rebases_onto_a_concurrent_push_and_never_forces() {
    let root = tempfile::tempdir().unwrap();
    let remote = root.path().join("remote.git");
    git(
        root.path(),
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            remote.to_str().unwrap(),
        ],
    );
    let url = format!("file://{}", remote.display());
    let seed = root.path().join("seed");
    git(root.path(), &["clone", "--quiet", &url, seed.to_str().unwrap()]);
    std::fs::write(seed.join("values.yaml"), "image:\n  tag: \"1.0.0\"\n").unwrap();
    std::fs::write(seed.join("other.yaml"), "a: 1\n").unwrap();
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "--quiet", "-m", "seed"]);
    git(&seed, &["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
    let a = root.path().join("a");
    let b = root.path().join("b");
    git(root.path(), &["clone", "--quiet", &url, a.to_str().unwrap()]);
    git(root.path(), &["clone", "--quiet", &url, b.to_str().unwrap()]);

    // Nothing changed: exit 3, nothing pushed.
    let push = |dir: &Path, msg: &str| {
        run(&[
            "commit-push",
            "--repo",
            dir.to_str().unwrap(),
            "--branch",
            "main",
            "-m",
            msg,
            "--author-name",
            "ci",
            "--author-email",
            "ci@example.invalid",
            "-o",
            "json",
        ])
    };
    assert_eq!(push(&a, "nothing").code, 3);

    // Job A bumps the tag and pushes; job B, from the older head, edits another file.
    let out = run(&[
        "set",
        "value",
        a.join("values.yaml").to_str().unwrap(),
        "image.tag=1.1.0",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = push(&a, "bump app to 1.1.0");
    assert_eq!(out.code, 0, "{} {}", out.stdout, out.stderr);
    std::fs::write(b.join("other.yaml"), "a: 2\n").unwrap();
    let out = push(&b, "other change");
    assert_eq!(out.code, 0, "{} {}", out.stdout, out.stderr);
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(json["rebases"], 1, "{}", out.stdout);
    let log = git(&remote, &["log", "--format=%s", "main"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        ["other change", "bump app to 1.1.0", "seed"]
    );
    assert_eq!(git(&remote, &["show", "main:values.yaml"]), "image:\n  tag: \"1.1.0\"");

    // Job C, still on the seed, sets the same value differently: a conflict, nothing pushed.
    let c = root.path().join("c");
    git(root.path(), &["clone", "--quiet", &url, c.to_str().unwrap()]);
    git(&c, &["reset", "--quiet", "--hard", "HEAD~2"]);
    let out = run(&[
        "set",
        "value",
        c.join("values.yaml").to_str().unwrap(),
        "image.tag=2.0.0",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = push(&c, "bump app to 2.0.0");
    assert_eq!(out.code, 2, "{} {}", out.stdout, out.stderr);
    assert!(out.stderr.contains("conflicts"), "{}", out.stderr);
    assert_eq!(git(&remote, &["log", "--format=%s", "-1", "main"]), "other change");
    assert_eq!(git(&c, &["status", "--porcelain"]), "", "the rebase was not undone");
}

/// `bump image --from-registry`: the newest tag of a real registry (docker-registry with
/// htpasswd) in a semver range, prereleases and tags that are no version skipped; a wrong
/// password fails without showing it.
#[test]
fn bump_image_from_a_registry_picks_the_newest_tag_in_range() {
    use crate::image_automation::SECRET;
    let registry = ballast_testenv::charts::Registry::start("ci", SECRET);
    registry.push_tags(
        "org/app",
        &["1.0.0", "1.4.2", "v1.5.0", "2.0.0", "1.6.0-rc.1", "latest", "1.10"],
    );
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, "image:\n  repository: org/app\n  tag: 1.0.0 # bumped by CI\n").unwrap();
    let repo = format!("{}/org/app", registry.host());
    let bump = |password: &str, range: &str| {
        Command::new(env!("CARGO_BIN_EXE_ballast"))
            .args([
                "bump",
                "image",
                "app",
                "--from-registry",
                &repo,
                "--policy",
                range,
                "--insecure",
            ])
            .args([
                "--username",
                "ci",
                "--file",
                values.to_str().unwrap(),
                "--key",
                "image.tag",
                "-o",
                "json",
            ])
            .env("BALLAST_REGISTRY_PASSWORD", password)
            .output()
            .expect("run ballast")
    };
    let out = bump(SECRET, ">=1.0.0 <2.0.0");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["tag"], "v1.5.0");
    assert_eq!(
        std::fs::read_to_string(&values).unwrap(),
        "image:\n  repository: org/app\n  tag: v1.5.0 # bumped by CI\n"
    );
    let out = bump(SECRET, ">=1.0.0 <2.0.0");
    assert_eq!(out.status.code(), Some(3), "nothing newer: nothing to do");
    let out = bump("wrong-password", ">=1.0.0");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("401") || err.to_lowercase().contains("unauthorized"),
        "{err}"
    );
    assert!(!err.contains("wrong-password"), "{err}");
    let out = bump(SECRET, ">=3.0.0");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tag matches"));
}
