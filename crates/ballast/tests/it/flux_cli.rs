//! Every command of Flux's getting-started guide and of the flux2-kustomize-helm-example README,
//! typed as written there with `ballast` in place of `flux`, against a real cluster. The
//! kubeconfig comes from $KUBECONFIG (as for `flux`), with the contexts the README names.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use ballast_testenv::git::GitRepo;

use crate::support::*;

/// The test cluster's kubeconfig with extra contexts named as in the README (staging,
/// production, production-clone), all pointing at the test cluster.
fn kubeconfig() -> &'static std::path::Path {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("ballast-flux-cli-")
            .tempdir()
            .unwrap()
            .keep();
        let path = dir.join("kubeconfig");
        std::fs::copy(&env().kubeconfig, &path).unwrap();
        let kc = |args: &[&str]| {
            let bin = ballast_local::find_binary("kubectl").unwrap();
            let out = Command::new(bin)
                .arg("--kubeconfig")
                .arg(&path)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let current = kc(&["config", "current-context"]);
        let cluster = kc(&["config", "view", "-o", "jsonpath={.contexts[0].context.cluster}"]);
        let user = kc(&["config", "view", "-o", "jsonpath={.contexts[0].context.user}"]);
        assert!(!current.is_empty() && !cluster.is_empty());
        for name in ["staging", "production", "production-clone"] {
            kc(&["config", "set-context", name, "--cluster", &cluster, "--user", &user]);
        }
        path
    })
}

/// `ballast <args>` exactly as typed, with $KUBECONFIG set.
fn flux(args: &[&str]) -> Run {
    run(args, Some(kubeconfig()))
}

/// `ballast <args>` without a cluster.
fn offline(args: &[&str]) -> Run {
    run(args, None)
}

fn run(args: &[&str], kubeconfig: Option<&std::path::Path>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ballast"));
    cmd.args(args).env("NO_COLOR", "1").env_remove("KUBECONFIG");
    if let Some(k) = kubeconfig {
        cmd.env("KUBECONFIG", k);
    }
    let out = cmd.output().expect("run ballast");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A provider bootstrap: exit 2 and the `bootstrap git` command for the same path and branch.
fn points_to_bootstrap_git(args: &[&str], path: &str) {
    let run = offline(args).fails();
    assert!(
        run.stderr.contains("ballast bootstrap git") && run.stderr.contains(&format!("--branch=main --path={path}")),
        "{}",
        run.stderr
    );
}

const GUIDE_SOURCE: &str = "---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: master
  url: https://github.com/stefanprodan/podinfo
";

const GUIDE_KUSTOMIZATION: &str = "---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 30m0s
  path: ./kustomize
  prune: true
  retryInterval: 2m0s
  sourceRef:
    kind: GitRepository
    name: podinfo
  targetNamespace: default
  timeout: 3m0s
  wait: true
";

#[test]
fn getting_started_and_example_readme_commands_run_verbatim() {
    install();
    // Getting started: check, bootstrap (provider: pointer), create --export, create, get --watch;
    // suspend and resume further down, once a controller runs.
    let pre = flux(&["check", "--pre"]).ok();
    assert!(pre.stdout.contains("prerequisites checks passed"), "{}", pre.stdout);
    points_to_bootstrap_git(
        &[
            "bootstrap",
            "github",
            "--owner=someone",
            "--repository=fleet-infra",
            "--branch=main",
            "--path=./clusters/my-cluster",
            "--personal",
        ],
        "./clusters/my-cluster",
    );
    let source_args = [
        "create",
        "source",
        "git",
        "podinfo",
        "--url=https://github.com/stefanprodan/podinfo",
        "--branch=master",
        "--interval=1m",
    ];
    let ks_args = [
        "create",
        "kustomization",
        "podinfo",
        "--target-namespace=default",
        "--source=podinfo",
        "--path=./kustomize",
        "--prune=true",
        "--wait=true",
        "--interval=30m",
        "--retry-interval=2m",
        "--health-check-timeout=3m",
    ];
    assert_eq!(
        flux(&[&source_args[..], &["--export"]].concat()).ok().stdout,
        GUIDE_SOURCE
    );
    assert_eq!(
        flux(&[&ks_args[..], &["--export"]].concat()).ok().stdout,
        GUIDE_KUSTOMIZATION
    );
    // The earlier edition of the guide: --interval=30s, and --prune=true without --wait.
    let old = flux(&[
        "create",
        "kustomization",
        "podinfo",
        "--target-namespace=default",
        "--source=podinfo",
        "--path=./kustomize",
        "--prune=true",
        "--interval=5m",
        "--export",
    ])
    .ok();
    assert!(
        old.stdout
            .contains("  interval: 5m0s\n  path: ./kustomize\n  prune: true\n"),
        "{}",
        old.stdout
    );
    assert!(!old.stdout.contains("timeout"), "{}", old.stdout);

    // Without --export the same commands write the objects (to flux-system, as in the guide).
    flux(&source_args).ok();
    let created = flux(&ks_args).ok();
    assert!(created.stdout.contains("podinfo"), "{}", created.stdout);
    let ks = get("kustomization", Some("flux-system"), "podinfo").expect("podinfo Kustomization");
    assert_eq!(ks["spec"]["prune"], true);
    assert_eq!(ks["spec"]["sourceRef"]["kind"], "GitRepository");

    let mut watch = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(["get", "kustomizations", "--watch"])
        .env("KUBECONFIG", kubeconfig())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
        let done = line.starts_with("podinfo");
        seen.push(line);
        if done {
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(seen.iter().any(|l| l.starts_with("NAME")), "{seen:?}");
    assert!(seen.iter().any(|l| l.starts_with("podinfo")), "{seen:?}");

    // Not in the guide: cleaning up before a controller watches flux-system (podinfo's URL is
    // not reachable from the tests).
    flux(&["delete", "kustomization", "podinfo"]).ok();
    flux(&["delete", "source", "git", "podinfo"]).ok();

    // The example README: check with a context, provider bootstraps (pointer), get helmreleases,
    // get kustomizations --watch (above), reconcile --with-source.
    flux(&["check", "--pre", "--context=staging"]).ok();
    for (context, path) in [
        ("staging", "clusters/staging"),
        ("production", "clusters/production"),
        ("production-clone", "clusters/production-clone"),
    ] {
        points_to_bootstrap_git(
            &[
                "bootstrap",
                "github",
                "--components-extra=source-watcher",
                &format!("--context={context}"),
                "--owner=someone",
                "--repository=fleet",
                "--branch=main",
                "--personal",
                &format!("--path={path}"),
            ],
            path,
        );
    }
    // Other tests on the same cluster may hold HelmReleases: either none, or Flux's table.
    let hr = flux(&["get", "helmreleases", "--all-namespaces"]).ok();
    assert!(
        hr.stderr.contains("no HelmRelease objects found") || hr.stdout.starts_with("NAMESPACE"),
        "{}{}",
        hr.stdout,
        hr.stderr
    );

    // `reconcile kustomization flux-system --context=production-clone --with-source`, against
    // what `bootstrap git` would have set up: a flux-system source and Kustomization.
    let repo = GitRepo::new();
    repo.write(
        "clusters/production-clone/settings.yaml",
        &configmap("default", "flux-cli-clone", "from-git"),
    );
    repo.commit("production clone");
    flux(&[
        "create",
        "source",
        "git",
        "flux-system",
        &format!("--url={}", repo.url()),
        "--branch=main",
        "--interval=10m",
    ])
    .ok();
    flux(&[
        "create",
        "kustomization",
        "flux-system",
        "--source=flux-system",
        "--path=./clusters/production-clone",
        "--prune=true",
        "--interval=10m",
    ])
    .ok();
    let _controller = ControllerProcess::start_with(kubeconfig(), "flux-system", &[]);
    let run = flux(&[
        "reconcile",
        "kustomization",
        "flux-system",
        "--context=production-clone",
        "--with-source",
    ])
    .ok();
    assert!(run.stdout.contains("Kustomization"), "{}", run.stdout);
    assert!(get("configmap", Some("default"), "flux-cli-clone").is_some());
    // The guide's `suspend kustomization <name>` and `resume kustomization <name>` (resume waits
    // for the reconcile, as Flux's does).
    flux(&["suspend", "kustomization", "flux-system"]).ok();
    assert_eq!(
        get("kustomization", Some("flux-system"), "flux-system").unwrap()["spec"]["suspend"],
        true
    );
    flux(&["resume", "kustomization", "flux-system"]).ok();
    assert_ne!(
        get("kustomization", Some("flux-system"), "flux-system").unwrap()["spec"]["suspend"],
        true
    );
    // `export` lays objects out as `flux export` does (sorted keys, Go durations).
    let exported = flux(&["export", "source", "git", "flux-system"]).ok().stdout;
    assert!(
        exported.starts_with(
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n"
        ) && exported.contains("  interval: 10m0s\n"),
        "{exported}"
    );
    let exported = flux(&["export", "kustomization", "flux-system"]).ok().stdout;
    assert!(
        exported.contains("  path: ./clusters/production-clone\n  prune: true\n"),
        "{exported}"
    );
    flux(&["delete", "kustomization", "flux-system"]).ok();
    flux(&["delete", "source", "git", "flux-system"]).ok();
}

#[test]
fn flag_forms_flux_accepts() {
    let export = |extra: &[&str]| {
        offline(
            &[
                &["create", "ks", "app", "--source=GitRepository/app.apps", "--export"],
                extra,
            ]
            .concat(),
        )
        .ok()
        .stdout
    };
    // Booleans: --flag, --flag=true, --flag=false; a bare --prune never takes the next word.
    assert!(export(&["--prune"]).contains("prune: true"));
    assert!(export(&["--prune=true"]).contains("prune: true"));
    assert!(export(&["--prune=false"]).contains("prune: false"));
    assert!(export(&["--prune", "--path", "./x"]).contains("path: ./x"));
    assert!(export(&["--wait=false"]).contains("prune: false"));
    offline(&["create", "ks", "app", "--source=app", "--prune=maybe", "--export"]).fails();
    // --source forms; the namespace is the last dot-separated part.
    assert!(export(&[]).contains("  sourceRef:\n    kind: GitRepository\n    name: app\n    namespace: apps\n"));
    let plain = offline(&["create", "ks", "app", "--source=app", "--export"])
        .ok()
        .stdout;
    assert!(
        plain.contains("  sourceRef:\n    kind: GitRepository\n    name: app\n"),
        "{plain}"
    );
    let lower = offline(&["create", "ks", "app", "--source=gitrepository/app", "--export"])
        .ok()
        .stdout;
    assert!(lower.contains("kind: GitRepository"), "{lower}");
    let e = offline(&["create", "ks", "app", "--source=OCIRepository/app", "--export"]).fails();
    assert!(e.stderr.contains("GitRepository sources only"), "{}", e.stderr);
    offline(&["create", "ks", "app", "--source=GitRepository", "--export"]).fails();
    // --depends-on=[ns/]name, repeated or comma-separated.
    let deps = export(&["--depends-on=infra", "--depends-on=ops/db,cache"]);
    assert!(
        deps.contains("  dependsOn:\n  - name: infra\n  - name: db\n    namespace: ops\n  - name: cache\n"),
        "{deps}"
    );
    // --health-check (kept without --wait) brings Flux's default timeout.
    let hc = export(&["--health-check=Deployment/web.apps"]);
    assert!(
        hc.contains("  healthChecks:\n  - kind: Deployment\n    name: web\n    namespace: apps\n")
            && hc.contains("  timeout: 2m0s\n"),
        "{hc}"
    );
    // Source flags: --tag-semver, --ignore-paths, --secret-ref, --label.
    let git = offline(&[
        "create",
        "source",
        "git",
        "podinfo",
        "--url=https://github.com/stefanprodan/podinfo",
        "--tag-semver=>=6.0.0 <7.0.0",
        "--ignore-paths=/*,!/kustomize",
        "--secret-ref=podinfo-auth",
        "--label=team=web",
        "--interval=90s",
        "--export",
    ])
    .ok()
    .stdout;
    assert_eq!(
        git,
        "---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  labels:
    team: web
  name: podinfo
  namespace: flux-system
spec:
  ignore: |-
    /*
    !/kustomize
  interval: 1m30s
  ref:
    semver: '>=6.0.0 <7.0.0'
  secretRef:
    name: podinfo-auth
  url: https://github.com/stefanprodan/podinfo
"
    );
    let tag = offline(&[
        "create",
        "source",
        "git",
        "p",
        "--url=ssh://git@example.invalid/p",
        "--tag=1.2.3",
        "--export",
    ]);
    // Flux names are at least two characters.
    assert!(tag.fails().stderr.contains("RFC 1123"));
    let e = offline(&[
        "create",
        "source",
        "git",
        "pod",
        "--url=https://example.invalid/p",
        "--export",
    ])
    .fails();
    assert!(e.stderr.contains("which revision?"), "{}", e.stderr);
    for provider in ["gitlab", "gitea", "bitbucket-server"] {
        points_to_bootstrap_git(
            &["bootstrap", provider, "--owner=o", "--repository=r", "--path=c/x"],
            "c/x",
        );
    }
}
