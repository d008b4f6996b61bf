//! Image automation end to end: tags pushed to a real registry (Debian's docker-registry with
//! htpasswd on loopback, zero-layer manifests over the registry HTTP API), ImageRepository
//! scans, ImagePolicies choose, an ImageUpdateAutomation commits and pushes to a Git
//! repository served over smart HTTP, and a Kustomization applies what was pushed.

use std::path::Path;
use std::process::Command;

use ballast_testenv::charts::Registry;
use ballast_testenv::git::GitRepo;
use ballast_testenv::{GitHttpServer, HttpAuth};
use serde_json::Value;

use crate::support::*;

pub(crate) const SECRET: &str = "img-Pa55-word";

/// The file `path` at the tip of `branch` of a bare repository, if any.
fn show(bare: &Path, branch: &str, path: &str) -> Option<String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(["show", &format!("{branch}:{path}")])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git_log(bare: &Path, branch: &str) -> Vec<String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(["log", "--format=%an <%ae>|%s", branch])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn latest_tag(ns: &str, policy: &str) -> Option<String> {
    let p = get("imagepolicy", Some(ns), policy)?;
    p["status"]["latestRef"]["tag"].as_str().map(str::to_string)
}

/// The Deployment as written in Git: commented, oddly indented, a quoted value elsewhere; only
/// the marked value may change.
fn deployment(ns: &str, image: &str) -> String {
    format!(
        "# the web app\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n    name: web   # keep\n    namespace: {ns}\nspec:\n    replicas: 0\n    selector:\n        matchLabels: {{app: web}}\n    template:\n        metadata:\n            labels:\n                app: web\n        spec:\n            containers:\n              - name: web\n                # the image below is set by the automation\n                image: {image}    # {{\"$imagepolicy\": \"{ns}:app\"}}\n                args: [\"--port\",   \"8080\"]\n"
    )
}

#[test]
fn new_tags_flow_from_the_registry_into_git_and_onto_the_cluster() {
    let ns = namespace("img");
    let registry = Registry::start("ci", SECRET);
    let host = registry.host();
    let image = format!("{host}/team/app");
    registry.push_tags(
        "team/app",
        &[
            "1.0.0",
            "0.9.0",
            "1.1.0-rc.1",
            "5",
            "12",
            "20260528-153652",
            "main-3-abc",
            "main-10-def",
            "nightly.sig",
        ],
    );

    let repo = GitRepo::new();
    let original = deployment(&ns, &format!("{image}:0.9.0"));
    repo.write("apps/demo/deploy.yaml", &original);
    let values = format!("app:\n  tag: \"5\" # {{\"$imagepolicy\": \"{ns}:numbers:tag\"}}\n");
    repo.write("review/values.yaml", &values);
    let other = format!("build: main-3-abc # {{\"$imagepolicy\": \"{ns}:builds:tag\"}}\n");
    repo.write("other/build.yaml", &other);
    repo.commit("app");
    let root = tempfile::tempdir().unwrap();
    let bare = repo.publish(root.path(), "app");
    Command::new("git")
        .arg("--git-dir")
        .arg(&bare)
        .args(["config", "http.receivepack", "true"])
        .status()
        .unwrap();
    let server = GitHttpServer::start(root.path(), HttpAuth::None);
    let url = server.repo_url("app");

    let docker = serde_json::json!({"auths": {host.clone(): {"username": "ci", "password": SECRET}}}).to_string();
    let wrong =
        serde_json::json!({"auths": {host.clone(): {"username": "ci", "password": "not-the-Pa55"}}}).to_string();
    let mut objects = String::new();
    for (name, config) in [("regcred", &docker), ("badcred", &wrong)] {
        objects.push_str(&format!(
            "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '{config}'\n"
        ));
    }
    objects.push_str(&format!(
        r#"---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: app, namespace: {ns}}}
spec: {{url: "{url}", ref: {{branch: main}}, interval: 1s}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: app, namespace: {ns}}}
spec: {{sourceRef: {{kind: GitRepository, name: app}}, path: ./apps/demo, prune: true, interval: 10m}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: app, namespace: {ns}}}
spec: {{image: "{image}", interval: 2s, insecure: true, secretRef: {{name: regcred}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: denied, namespace: {ns}}}
spec: {{image: "{image}", interval: 1m, insecure: true, secretRef: {{name: badcred}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: app, namespace: {ns}, labels: {{deploy: main}}}}
spec: {{imageRepositoryRef: {{name: app}}, policy: {{semver: {{range: ">=1.0.0"}}}}, digestReflectionPolicy: IfNotPresent}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: numbers, namespace: {ns}, labels: {{deploy: review}}}}
spec: {{imageRepositoryRef: {{name: app}}, policy: {{numerical: {{order: asc}}}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: builds, namespace: {ns}, labels: {{deploy: main}}}}
spec:
  imageRepositoryRef: {{name: app}}
  filterTags: {{pattern: '^main-(?P<n>[0-9]+)-', extract: '$n'}}
  policy: {{numerical: {{}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: letters, namespace: {ns}}}
spec:
  imageRepositoryRef: {{name: app}}
  filterTags: {{pattern: '^main-[0-9]+-(?P<sha>[a-z]+)$', extract: '$sha'}}
  policy: {{alphabetical: {{order: asc}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: main, namespace: {ns}}}
spec:
  interval: 2s
  sourceRef: {{kind: GitRepository, name: app}}
  policySelector: {{matchLabels: {{deploy: main}}}}
  update: {{path: ./apps, strategy: Setters}}
  git:
    commit:
      author: {{name: image-bot, email: bot@example.invalid}}
      messageTemplate: |-
        {{{{ .Values.prefix }}}} {{{{ .AutomationObject }}}}{{{{ range .Changed.Changes }}}} {{{{ .OldValue }}}} -> {{{{ .NewValue }}}}{{{{ end }}}}
      messageTemplateValues: {{prefix: "[auto]"}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: others, namespace: {ns}}}
spec:
  interval: 2s
  sourceRef: {{kind: GitRepository, name: app}}
  policySelector: {{matchLabels: {{deploy: main}}}}
  update: {{path: ./other}}
  git:
    commit: {{author: {{name: image-bot, email: bot@example.invalid}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: review, namespace: {ns}}}
spec:
  interval: 2s
  sourceRef: {{kind: GitRepository, name: app}}
  policySelector: {{matchLabels: {{deploy: review}}}}
  update: {{path: ./review}}
  git:
    checkout: {{ref: {{branch: main}}}}
    commit: {{author: {{name: image-bot, email: bot@example.invalid}}}}
    push: {{branch: image-updates}}
"#
    ));
    install();
    apply(&objects);
    let _controller = ControllerProcess::start(&ns, &[]);

    // Scans: the exclusion list drops the .sig tag; the policies choose.
    let scanned = wait_for("ImageRepository scanned", 120, || {
        let r = get("imagerepository", Some(&ns), "app")?;
        r["status"]["lastScanResult"]["tagCount"].as_i64()
    });
    assert_eq!(scanned, 8, "nightly.sig excluded");
    let r = get("imagerepository", Some(&ns), "app").unwrap();
    assert_eq!(r["status"]["canonicalImageName"], image.as_str());
    assert_eq!(r["status"]["lastScanResult"]["latestTags"][0], "main-3-abc");
    assert_eq!(wait_for("semver policy", 60, || latest_tag(&ns, "app")), "1.0.0");
    assert_eq!(wait_for("numerical policy", 60, || latest_tag(&ns, "numbers")), "12");
    assert_eq!(
        wait_for("filtered numerical policy", 60, || latest_tag(&ns, "builds")),
        "main-10-def"
    );
    assert_eq!(
        wait_for("alphabetical policy", 60, || latest_tag(&ns, "letters")),
        "main-10-def"
    );
    let numbers = get("imagepolicy", Some(&ns), "numbers").unwrap();
    let (status, _, message) = condition_of(&numbers, "Ready").unwrap();
    assert_eq!(status, "True");
    assert!(
        message.contains("20260528-153652") && message.contains("skipped"),
        "{message}"
    );
    let app = get("imagepolicy", Some(&ns), "app").unwrap();
    assert_eq!(app["status"]["latestRef"]["name"], image.as_str());
    assert!(
        app["status"]["latestRef"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // Wrong password: reported, never shown.
    let denied = wait_for("denied scan reported", 60, || {
        let r = get("imagerepository", Some(&ns), "denied")?;
        condition_of(&r, "Ready").filter(|c| c.0 == "False")
    });
    assert_eq!(denied.1, "AuthenticationFailed", "{denied:?}");
    assert!(
        !denied.2.contains("not-the-Pa55") && !denied.2.contains(SECRET),
        "{denied:?}"
    );
    let all_events = format!("{:?}", events(&ns));
    assert!(!all_events.contains("not-the-Pa55") && !all_events.contains(SECRET));

    // The Kustomization applies what Git says: first 0.9.0 as committed, then what the
    // automation writes (1.0.0 with its digest reflected).
    let applied_image = |want: String| {
        let ns = ns.clone();
        move || {
            let d = get("deployment", Some(&ns), "web")?;
            (d["spec"]["template"]["spec"]["containers"][0]["image"] == want.as_str()).then_some(())
        }
    };
    let digest_of = |tag: &str| {
        let p = get("imagepolicy", Some(&ns), "app")?;
        (p["status"]["latestRef"]["tag"] == tag)
            .then(|| p["status"]["latestRef"]["digest"].as_str().map(str::to_string))?
    };
    let d1 = wait_for("digest of 1.0.0", 60, || digest_of("1.0.0"));
    wait_for(
        "the Deployment applied at 1.0.0",
        180,
        applied_image(format!("{image}:1.0.0@{d1}")),
    );
    let after_first = show(&bare, "main", "apps/demo/deploy.yaml").unwrap();
    assert_eq!(
        after_first,
        original.replace(":0.9.0", &format!(":1.0.0@{d1}")),
        "only the marked value changed"
    );
    // The builds policy changed other/build.yaml on main, in its own commit.
    let build = wait_for("other/build.yaml updated on main", 120, || {
        show(&bare, "main", "other/build.yaml").filter(|t| t.contains("main-10-def"))
    });
    assert_eq!(build, other.replace("main-3-abc", "main-10-def"));
    // Nothing more to change: later runs push nothing.
    let run_at = |name: &str| {
        get("imageupdateautomation", Some(&ns), name)
            .and_then(|a| a["status"]["lastAutomationRunTime"].as_str().map(str::to_string))
    };
    let first_run = wait_for("main automation ran", 60, || run_at("main"));
    wait_for("main automation ran again", 60, || {
        run_at("main").filter(|t| *t != first_run)
    });
    let auto_commits = |log: &[String]| log.iter().filter(|l| l.contains("|[auto]")).count();
    assert_eq!(
        auto_commits(&git_log(&bare, "main")),
        1,
        "{:#?}",
        git_log(&bare, "main")
    );

    // A new tag: a commit in Git, then on the cluster.
    registry.push_tags("team/app", &["1.2.0"]);
    let d2 = wait_for("digest of 1.2.0", 60, || digest_of("1.2.0"));
    assert_ne!(d1, d2);
    wait_for(
        "the Deployment applied at 1.2.0",
        180,
        applied_image(format!("{image}:1.2.0@{d2}")),
    );
    let written = show(&bare, "main", "apps/demo/deploy.yaml").unwrap();
    assert_eq!(
        written,
        original.replace(":0.9.0", &format!(":1.2.0@{d2}")),
        "only the marked value changed"
    );
    let log = git_log(&bare, "main");
    for expected in [
        format!("image-bot <bot@example.invalid>|[auto] {ns}/main {image}:0.9.0 -> {image}:1.0.0@{d1}"),
        format!("image-bot <bot@example.invalid>|[auto] {ns}/main {image}:1.0.0@{d1} -> {image}:1.2.0@{d2}"),
        "image-bot <bot@example.invalid>|Update from image update automation".to_string(),
    ] {
        assert!(log.contains(&expected), "{expected} not in {log:#?}");
    }
    assert_eq!(
        log.last().map(|l| l.ends_with("|app")),
        Some(true),
        "no commit lost: {log:#?}"
    );
    let p = get("imagepolicy", Some(&ns), "app").unwrap();
    assert_eq!(p["status"]["observedPreviousRef"]["tag"], "1.0.0");
    let a = wait_for("main automation status after the push", 60, || {
        let a = get("imageupdateautomation", Some(&ns), "main")?;
        (a["status"]["observedPolicies"]["app"]["tag"] == "1.2.0").then_some(a)
    });
    let head = String::from_utf8_lossy(
        &Command::new("git")
            .arg("--git-dir")
            .arg(&bare)
            .args(["log", "--format=%H %s", "main"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    let pushed = a["status"]["lastPushCommit"].as_str().unwrap();
    assert!(
        head.lines().any(|l| l.starts_with(pushed) && l.contains("1.2.0")),
        "{pushed} {head}"
    );
    assert!(a["status"]["lastPushTime"].is_string());
    assert!(a["status"]["observedPolicies"].get("numbers").is_none(), "not selected");
    assert_eq!(condition_of(&a, "Ready").unwrap().0, "True");

    // The review automation pushed to its own branch; main's review/ is untouched.
    let review = wait_for("review branch pushed", 120, || {
        show(&bare, "image-updates", "review/values.yaml")
    });
    assert_eq!(review, values.replace("\"5\"", "\"12\""));
    assert_eq!(show(&bare, "main", "review/values.yaml").unwrap(), values);
    drop(server);
}

/// A served Git repository that accepts pushes, holding `files`.
fn served_repo(files: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf, GitHttpServer) {
    let repo = GitRepo::new();
    for (path, text) in files {
        repo.write(path, text);
    }
    repo.commit("app");
    let root = tempfile::tempdir().unwrap();
    let bare = repo.publish(root.path(), "app");
    Command::new("git")
        .arg("--git-dir")
        .arg(&bare)
        .args(["config", "http.receivepack", "true"])
        .status()
        .unwrap();
    let server = GitHttpServer::start(root.path(), HttpAuth::None);
    (root, bare, server)
}

#[test]
fn the_cli_creates_lists_reconciles_suspends_and_resumes_image_automation() {
    let ns = namespace("imgcli");
    let registry = Registry::start("ci", SECRET);
    let host = registry.host();
    let image = format!("{host}/team/cli");
    registry.push_tags("team/cli", &["1.0.0", "1.1.0", "2.0.0"]);
    let file = format!("image: {image}:1.0.0 # {{\"$imagepolicy\": \"{ns}:cli\"}}\n");
    let (_root, bare, server) = served_repo(&[("deploy/app.yaml", &file)]);
    let url = server.repo_url("app");
    install();
    let docker = serde_json::json!({"auths": {host.clone(): {"username": "ci", "password": SECRET}}}).to_string();
    apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: regcred, namespace: {ns}}}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '{docker}'\n"
    ));
    ballast(&[
        "create",
        "source",
        "git",
        "app",
        "--url",
        &url,
        "--branch",
        "main",
        "--interval",
        "1m",
        "-n",
        &ns,
    ])
    .ok();

    // --export prints what Flux's CLI prints for the same flags.
    let exported = ballast(&[
        "create",
        "image",
        "policy",
        "cli",
        "--image-ref",
        "cli",
        "--select-semver",
        "<2.0.0",
        "-n",
        &ns,
        "--export",
    ])
    .ok()
    .stdout;
    assert!(
        exported.contains("kind: ImagePolicy") && exported.contains("range: <2.0.0"),
        "{exported}"
    );
    assert!(
        get("imagepolicy", Some(&ns), "cli").is_none(),
        "--export applies nothing"
    );

    ballast(&[
        "create",
        "image",
        "repository",
        "cli",
        "--image",
        &image,
        "--secret-ref",
        "regcred",
        "--insecure",
        "--interval",
        "10m",
        "-n",
        &ns,
    ])
    .ok();
    ballast(&[
        "create",
        "image",
        "policy",
        "cli",
        "--image-ref",
        "cli",
        "--select-semver",
        "<2.0.0",
        "-n",
        &ns,
    ])
    .ok();
    ballast(&[
        "create",
        "image",
        "update",
        "cli",
        "--git-repo-ref",
        "app",
        "--git-repo-path",
        "./deploy",
        "--checkout-branch",
        "main",
        "--author-email",
        "cli@example.invalid",
        "--interval",
        "10m",
        "-n",
        &ns,
    ])
    .ok();
    // A concurrent push: someone else's commit lands on main while the automation's push is
    // received (a pre-receive hook moves main, once). The automation must fetch it, redo its
    // update on top and push again — never overwrite it.
    let work = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(work.path())
            .args(["-c", "user.name=human", "-c", "user.email=human@example.invalid"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["clone", "--quiet", bare.to_str().unwrap(), "."]);
    std::fs::write(work.path().join("human.txt"), "by hand\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "by hand"]);
    git(&["push", "--quiet", "origin", "HEAD:refs/heads/human"]);
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\nunset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\nif [ ! -e raced ]; then touch raced; git update-ref refs/heads/main refs/heads/human; fi\nexit 0\n",
    )
    .unwrap();
    Command::new("chmod").arg("755").arg(&hook).status().unwrap();

    let _controller = ControllerProcess::start(&ns, &[]);

    let out = ballast(&["reconcile", "image", "repository", "cli", "-n", &ns, "--timeout", "2m"])
        .ok()
        .stdout;
    assert!(out.contains("✔ scan fetched 3 tags"), "{out}");
    wait_for("policy resolved", 60, || {
        latest_tag(&ns, "cli").filter(|t| t == "1.1.0")
    });
    let out = ballast(&["reconcile", "image", "update", "cli", "-n", &ns, "--timeout", "2m"])
        .ok()
        .stdout;
    assert!(out.contains("✔ last push commit"), "{out}");
    assert_eq!(
        show(&bare, "main", "deploy/app.yaml").unwrap(),
        file.replace(":1.0.0", ":1.1.0")
    );
    let log = git_log(&bare, "main");
    assert_eq!(log.len(), 3, "{log:#?}");
    assert_eq!(log[0], "Flux <cli@example.invalid>|Update from image update automation");
    assert_eq!(
        log[1], "human <human@example.invalid>|by hand",
        "the concurrent commit is kept"
    );
    assert!(log[2].ends_with("|app"), "{log:#?}");
    assert!(bare.join("raced").exists(), "the race happened");
    assert_eq!(show(&bare, "main", "human.txt").as_deref(), Some("by hand\n"));
    // Said in the push's event (the Ready message is the latest run's: "up-to-date").
    wait_for("the push event names the second attempt", 30, || {
        events(&ns)
            .iter()
            .any(|(_, m)| m.contains("pushed at attempt 2"))
            .then_some(())
    });

    let out = ballast(&["get", "images", "all", "-n", &ns]).ok().stdout;
    for expected in ["LAST SCAN", "LATEST IMAGE", "LAST RUN", &format!("{image}:1.1.0")] {
        assert!(out.contains(expected), "{expected} not in {out}");
    }
    let out = ballast(&["get", "images", "policy", "-n", &ns]).ok().stdout;
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("cli") && l.contains("True")),
        "{out}"
    );

    // v1beta2 is served: a policy written for it is reconciled, and reads back with
    // `latestImage`.
    apply(&format!(
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata: {{name: legacy, namespace: {ns}}}\nspec: {{imageRepositoryRef: {{name: cli}}, policy: {{semver: {{range: '~1.0'}}}}}}\n"
    ));
    wait_for("v1beta2 policy resolved", 60, || {
        latest_tag(&ns, "legacy").filter(|t| t == "1.0.0")
    });
    let legacy: Value = serde_json::from_str(&kubectl(&[
        "get",
        "imagepolicies.v1beta2.image.toolkit.fluxcd.io",
        "legacy",
        "-n",
        &ns,
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(legacy["apiVersion"], "image.toolkit.fluxcd.io/v1beta2");
    assert_eq!(legacy["status"]["latestImage"], format!("{image}:1.0.0").as_str());

    ballast(&["suspend", "image", "update", "cli", "-n", &ns]).ok();
    let a = get("imageupdateautomation", Some(&ns), "cli").unwrap();
    assert_eq!(a["spec"]["suspend"], true);
    let refused = ballast(&["reconcile", "image", "update", "cli", "-n", &ns]).fails();
    assert!(refused.stderr.contains("suspended"), "{}", refused.stderr);
    let out = ballast(&["resume", "image", "update", "cli", "-n", &ns, "--timeout", "2m"])
        .ok()
        .stdout;
    assert!(out.contains("reconciliation completed"), "{out}");
    assert_eq!(git_log(&bare, "main").len(), 3, "nothing more to push");
    ballast(&["delete", "image", "policy", "cli", "-n", &ns]).ok();
    assert!(get("imagepolicy", Some(&ns), "cli").is_none());
}

/// Flux's signing, push refspec, push options, struct-keyed `.Changed` data and multi-platform
/// digests together: a tag that is an OCI image index is reflected with the index's own digest;
/// the automation's commit is signed with the Secret's passphrase-protected key (made by GnuPG,
/// accepted by `git verify-commit`), pushed to its branch and to the refspec, each push carrying
/// the push options; a Secret without `git.asc` is reported without any secret value.
#[test]
fn signed_commits_refspecs_push_options_and_index_digests() {
    let ns = namespace("imgsign");
    let registry = Registry::start("ci", SECRET);
    let host = registry.host();
    let image = format!("{host}/team/multi");
    registry.push_tags("team/multi", &["1.0.0"]);
    let (index, platforms) = registry.push_index("team/multi", "2.0.0", &["linux/amd64", "linux/arm64"]);
    assert!(!platforms.contains(&index));

    let file = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: {image}:1.0.0 # {{\"$imagepolicy\": \"{ns}:multi\"}}\n"
    );
    let (root, bare, server) = served_repo(&[("deploy/app.yaml", &file)]);
    let url = server.repo_url("app");
    // The server records the push options every push carries.
    let seen = root.path().join("push-options");
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$GIT_PUSH_OPTION_COUNT:$GIT_PUSH_OPTION_0:$GIT_PUSH_OPTION_1\" >> '{}'\n",
            seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    Command::new("git")
        .arg("--git-dir")
        .arg(&bare)
        .args(["config", "receive.advertisePushOptions", "true"])
        .status()
        .unwrap();
    let main_before = git_log(&bare, "main");

    let passphrase = "sign-Pa55-phrase";
    let gpg = ballast_testenv::gpg::GpgHome::generate("Image Bot <bot@example.invalid>", passphrase);
    let docker = serde_json::json!({"auths": {host.clone(): {"username": "ci", "password": SECRET}}}).to_string();
    let template = "Update {{ len .Changed.Objects }} object(s)\n\
                    {{ range $file, $objects := .Changed.FileChanges }}{{ range $o, $changes := $objects }}\
                    - {{ $file }}: {{ $o.Kind }} {{ $o.Namespace }}/{{ $o.Name }}{{ range $changes }} {{ .OldValue }} -> {{ .NewValue }}{{ end }}\n\
                    {{ end }}{{ end }}";
    let key_yaml = serde_json::to_string(&gpg.secret_key).unwrap();
    install();
    apply(&format!(
        r#"apiVersion: v1
kind: Secret
metadata: {{name: regcred, namespace: {ns}}}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{docker}'
---
apiVersion: v1
kind: Secret
metadata: {{name: signing, namespace: {ns}}}
stringData:
  git.asc: {key_yaml}
  passphrase: "{passphrase}"
---
apiVersion: v1
kind: Secret
metadata: {{name: nokey, namespace: {ns}}}
stringData: {{passphrase: "{passphrase}"}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: app, namespace: {ns}}}
spec: {{url: "{url}", ref: {{branch: main}}, interval: 10m}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: multi, namespace: {ns}}}
spec: {{image: "{image}", interval: 10m, insecure: true, secretRef: {{name: regcred}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: multi, namespace: {ns}}}
spec: {{imageRepositoryRef: {{name: multi}}, policy: {{semver: {{range: ">=1.0.0"}}}}, digestReflectionPolicy: IfNotPresent}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: signed, namespace: {ns}}}
spec:
  interval: 10m
  sourceRef: {{kind: GitRepository, name: app}}
  update: {{path: ./deploy}}
  git:
    checkout: {{ref: {{branch: main}}}}
    commit:
      author: {{name: image-bot, email: bot@example.invalid}}
      signingKey: {{secretRef: {{name: signing}}}}
      messageTemplate: {template_yaml}
    push:
      branch: auto
      refspec: refs/heads/auto:refs/heads/review/auto
      options: {{ci.skip: "true", note: hello}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: unsigned, namespace: {ns}}}
spec:
  interval: 10m
  sourceRef: {{kind: GitRepository, name: app}}
  update: {{path: ./deploy}}
  git:
    commit:
      author: {{name: image-bot, email: bot@example.invalid}}
      signingKey: {{secretRef: {{name: nokey}}}}
    push: {{branch: never}}
"#,
        template_yaml = serde_json::to_string(template).unwrap()
    ));
    let _controller = ControllerProcess::start(&ns, &[]);

    // The index tag is chosen and its digest is the index's own, not a platform's.
    let reflected = wait_for("the index digest reflected", 120, || {
        let p = get("imagepolicy", Some(&ns), "multi")?;
        (p["status"]["latestRef"]["tag"] == "2.0.0")
            .then(|| p["status"]["latestRef"]["digest"].as_str().map(str::to_string))?
    });
    assert_eq!(reflected, index);

    // The commit lands on the push branch and on the refspec's destination, signed.
    let written = wait_for("the signed commit pushed", 180, || {
        show(&bare, "review/auto", "deploy/app.yaml").filter(|t| t.contains("2.0.0"))
    });
    assert_eq!(written, file.replace(":1.0.0 ", &format!(":2.0.0@{index} ")));
    let rev = |r: &str| {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(&bare)
            .args(["rev-parse", r])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let commit = rev("auto");
    assert_eq!(rev("review/auto"), commit);
    assert_eq!(git_log(&bare, "main"), main_before, "the checkout branch is untouched");
    let status = gpg
        .verify_commit(&bare, &commit)
        .expect("git verify-commit accepts the commit");
    assert!(
        status.contains("GOODSIG") && status.contains(&gpg.fingerprint),
        "{status}"
    );
    assert!(gpg.verify_commit(&bare, "main").is_err(), "main's commit is not signed");
    let message = String::from_utf8_lossy(
        &Command::new("git")
            .arg("--git-dir")
            .arg(&bare)
            .args(["log", "--format=%B", "-1", &commit])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    assert_eq!(
        message,
        format!("Update 1 object(s)\n- deploy/app.yaml: Deployment prod/web {image}:1.0.0 -> {image}:2.0.0@{index}")
    );
    // Both pushes (branch, refspec) carried the options, in Flux's form.
    let options = std::fs::read_to_string(&seen).unwrap();
    assert_eq!(options, "2:ci.skip=true:note=hello\n".repeat(2), "{options}");
    // A later run (a policy or source event) marks Ready Unknown while it runs and keeps
    // lastPushCommit, so wait for a settled Ready rather than read it once.
    let a = wait_for("signed automation ready", 60, || {
        let a = get("imageupdateautomation", Some(&ns), "signed")?;
        let ready = condition_of(&a, "Ready").is_some_and(|c| c.0 != "Unknown");
        (a["status"]["lastPushCommit"] == commit.as_str() && ready).then_some(a)
    });
    assert_eq!(condition_of(&a, "Ready").unwrap().0, "True", "{a:#}");

    // A Secret without the key: reported by name, no secret value anywhere.
    let failed = wait_for("missing key reported", 120, || {
        let a = get("imageupdateautomation", Some(&ns), "unsigned")?;
        condition_of(&a, "Ready").filter(|c| c.0 == "False")
    });
    assert!(failed.2.contains("git.asc") && failed.2.contains("nokey"), "{failed:?}");
    let shown = format!("{failed:?}{:?}", events(&ns));
    assert!(!shown.contains(passphrase) && !shown.contains("PRIVATE KEY"));
    assert!(show(&bare, "never", "deploy/app.yaml").is_none());
    drop(server);
}
