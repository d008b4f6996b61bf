use ballast_testenv::git::GitRepo;
use ballast_testenv::{GitHttpServer, HttpAuth};

use crate::support::*;

/// An app repository served over smart HTTP, with the Flux objects that sync it (made with
/// `ballast create ... --export`, as seed 003 does with `flux create`) in `clusters/test/`.
pub(crate) struct Served {
    pub(crate) repo: GitRepo,
    bare: std::path::PathBuf,
    server: GitHttpServer,
    _root: tempfile::TempDir,
}

impl Served {
    pub(crate) fn new(ns: &str, files: &[(&str, String)]) -> Self {
        let repo = GitRepo::new();
        for (path, text) in files {
            repo.write(path, text);
        }
        repo.commit("app");
        let root = tempfile::tempdir().unwrap();
        let bare = repo.publish(root.path(), "app");
        let server = GitHttpServer::start(root.path(), HttpAuth::None);
        let served = Served {
            repo,
            bare,
            server,
            _root: root,
        };
        let url = served.server.repo_url("app");
        let source = ballast(&[
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
            "-n",
            ns,
            "--export",
        ])
        .ok();
        let ks = ballast(&[
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
            "-n",
            ns,
            "--export",
        ])
        .ok();
        served.repo.write("clusters/test/source.yaml", &source.stdout);
        served.repo.write("clusters/test/app.yaml", &ks.stdout);
        served.commit("add flux objects");
        served
    }

    pub(crate) fn url(&self) -> String {
        self.server.repo_url("app")
    }

    /// Puts the Flux objects of `clusters/test` into the cluster with a one-shot sync; the
    /// controller does the rest.
    pub(crate) fn apply_flux_objects(&self, ns: &str) {
        install();
        let url = self.url();
        ballast(&[
            "sync",
            "--name",
            &format!("{ns}-flux"),
            "--url",
            &url,
            "--path",
            "clusters/test",
        ])
        .ok();
    }

    pub(crate) fn commit(&self, message: &str) {
        self.repo.commit(message);
        self.repo.push(&self.bare);
    }
}

#[test]
fn seed_flow_apply_change_prune_drift_and_delete() {
    let ns = namespace("ctl-seed");
    let served = Served::new(
        &ns,
        &[
            ("apps/demo/cm.yaml", configmap(&ns, "settings", "v1")),
            ("apps/demo/deploy.yaml", deployment(&ns, "web", 2)),
        ],
    );
    // The Flux objects go in with a one-shot sync of clusters/test; the controller does the rest.
    served.apply_flux_objects(&ns);
    let _controller = ControllerProcess::start(&ns, &[]);

    wait_for("the app to be applied", 60, || get("configmap", Some(&ns), "settings"));
    wait_for("Kustomization Ready", 30, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });
    let ks = get("kustomization", Some(&ns), "app").unwrap();
    let ids: Vec<&str> = ks["status"]["inventory"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&format!("{ns}_settings__ConfigMap").as_str())
            && ids.contains(&format!("{ns}_web_apps_Deployment").as_str()),
        "{ids:?}"
    );
    assert!(
        ks["status"]["lastAppliedRevision"]
            .as_str()
            .unwrap()
            .starts_with("main@sha1:")
    );

    // A new commit is applied without waiting for the Kustomization's 10m interval.
    served
        .repo
        .write("apps/demo/cm.yaml", &configmap(&ns, "settings", "v2"));
    served.commit("v2");
    wait_for("v2 applied", 30, || {
        get("configmap", Some(&ns), "settings").filter(|c| c["data"]["key"] == "v2")
    });

    // Drift: a scale and an edit are put back within seconds, with an event naming the fields.
    kubectl(&["scale", "deployment", "web", "-n", &ns, "--replicas=5"]);
    let started = std::time::Instant::now();
    wait_for("replicas restored", 5, || {
        get("deployment", Some(&ns), "web").filter(|d| d["spec"]["replicas"] == 2)
    });
    eprintln!("drift healed in {:?}", started.elapsed());
    wait_for("a drift event", 10, || {
        events(&ns).into_iter().find(|(r, m)| {
            r == "DriftCorrected" && m.contains(&format!("Deployment/{ns}/web")) && m.contains("spec.replicas")
        })
    });
    kubectl(&["delete", "configmap", "settings", "-n", &ns]);
    wait_for("deleted object recreated", 5, || {
        get("configmap", Some(&ns), "settings")
    });

    // A removed file is pruned.
    served.repo.remove("apps/demo/deploy.yaml");
    served.commit("drop web");
    wait_for("web pruned", 30, || {
        get("deployment", Some(&ns), "web").is_none().then_some(())
    });

    // Deleting the Kustomization (prune: true) deletes what it applied.
    ballast(&["delete", "kustomization", "app", "-n", &ns, "--timeout", "30s"]).ok();
    assert!(get("configmap", Some(&ns), "settings").is_none());
}

#[test]
fn seed_v1beta1_manifests_are_accepted() {
    let ns = namespace("ctl-v1beta1");
    let repo = GitRepo::new();
    repo.write("4-gitops/manifests/cm.yaml", &configmap(&ns, "from-v1beta1", "ok"));
    repo.commit("app");
    let root = tempfile::tempdir().unwrap();
    repo.publish(root.path(), "material-example");
    let server = GitHttpServer::start(root.path(), HttpAuth::None);
    install();
    let _controller = ControllerProcess::start(&ns, &[]);
    // Seed 002's example-source.yaml and example-gitops-app.yaml, with our URL and namespace.
    let manifests = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1beta1\nkind: GitRepository\nmetadata:\n  name: example-repo\n  namespace: {ns}\nspec:\n  interval: 10m\n  url: {url}\n  ref:\n    branch: main\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: example-gitops-app\n  namespace: {ns}\nspec:\n  sourceRef:\n    kind: GitRepository\n    name: example-repo\n  interval: 10m\n  path: ./4-gitops/manifests\n  prune: true\n  validation: client\n",
        url = server.repo_url("material-example")
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), manifests).unwrap();
    kubectl(&["apply", "-f", &file.path().display().to_string()]);
    wait_for("the v1beta1 Kustomization applied", 60, || {
        get("configmap", Some(&ns), "from-v1beta1")
    });
    wait_for("Ready", 30, || {
        ready("kustomization", &ns, "example-gitops-app").filter(|(s, _)| s == "True")
    });
    wait_for("a deprecation warning naming the field", 10, || {
        events(&ns)
            .into_iter()
            .find(|(r, m)| r == "DeprecatedField" && m.contains("spec.validation"))
    });
}

#[test]
fn health_check_failure_names_the_object() {
    let ns = namespace("ctl-health");
    let served = Served::new(&ns, &[("apps/demo/deploy.yaml", deployment(&ns, "web", 1))]);
    served.apply_flux_objects(&ns);
    kubectl(&[
        "patch",
        "kustomization",
        "app",
        "-n",
        &ns,
        "--type=merge",
        "-p",
        r#"{"spec":{"wait":true,"timeout":"3s"}}"#,
    ]);
    let _controller = ControllerProcess::start(&ns, &[]);
    let (_, message) = wait_for("Ready=False from the health check", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, m)| s == "False" && m.contains("health check"))
    });
    assert!(
        message.contains(&format!("Deployment/{ns}/web")) && message.contains("replicas"),
        "{message}"
    );
    let ks = get("kustomization", Some(&ns), "app").unwrap();
    let reason = ks["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()["reason"]
        .clone();
    assert_eq!(reason, "HealthCheckFailed");
}

#[test]
fn a_git_server_that_goes_away_keeps_the_last_state() {
    let ns = namespace("ctl-gone");
    let served = Served::new(&ns, &[("apps/demo/cm.yaml", configmap(&ns, "settings", "v1"))]);
    served.apply_flux_objects(&ns);
    let _controller = ControllerProcess::start(&ns, &[]);
    wait_for("applied", 60, || get("configmap", Some(&ns), "settings"));
    drop(served);
    let (_, message) = wait_for("GitRepository Ready=False", 30, || {
        ready("gitrepository", &ns, "app").filter(|(s, _)| s == "False")
    });
    assert!(
        message.contains("unreachable") || message.contains("127.0.0.1"),
        "{message}"
    );
    // The Kustomization keeps the last applied revision; nothing is pruned.
    ballast(&["reconcile", "kustomization", "app", "-n", &ns, "--timeout", "30s"]).ok();
    assert!(get("configmap", Some(&ns), "settings").is_some());
}

#[test]
fn suspend_resume_and_depends_on() {
    let ns = namespace("ctl-deps");
    let served = Served::new(
        &ns,
        &[
            ("apps/demo/cm.yaml", configmap(&ns, "settings", "v1")),
            ("apps/later/cm.yaml", configmap(&ns, "later", "1")),
        ],
    );
    // A second Kustomization that depends on the first.
    let later = ballast(&[
        "create",
        "kustomization",
        "later",
        "--source",
        "GitRepository/app",
        "--path",
        "./apps/later",
        "--prune",
        "--interval",
        "10m",
        "--depends-on",
        "app",
        "-n",
        &ns,
        "--export",
    ])
    .ok();
    served.repo.write("clusters/test/later.yaml", &later.stdout);
    served.commit("later");
    served.apply_flux_objects(&ns);
    ballast(&["suspend", "kustomization", "app", "-n", &ns]).ok();
    let _controller = ControllerProcess::start(&ns, &[]);
    // `app` is suspended, so `later` waits for it.
    let (_, message) = wait_for("later waits for app", 60, || {
        ready("kustomization", &ns, "later").filter(|(s, _)| s == "False")
    });
    assert!(message.contains("dependency") && message.contains("app"), "{message}");
    assert!(
        get("configmap", Some(&ns), "settings").is_none(),
        "a suspended Kustomization applied"
    );
    assert!(get("configmap", Some(&ns), "later").is_none());
    let run = ballast(&["resume", "kustomization", "app", "-n", &ns, "--timeout", "60s"]).ok();
    assert!(run.stdout.contains("reconciliation completed"), "{}", run.stdout);
    assert!(get("configmap", Some(&ns), "settings").is_some());
    wait_for("later applied once app is ready", 20, || {
        get("configmap", Some(&ns), "later")
    });
    let list = ballast(&["get", "kustomizations", "-n", &ns]).ok();
    assert!(
        list.stdout
            .lines()
            .filter(|l| l.contains("main@sha1:") && l.contains("True"))
            .count()
            == 2,
        "{}",
        list.stdout
    );
}

#[test]
fn only_the_leader_acts_and_a_standby_takes_over() {
    let ns = namespace("ctl-leader");
    let served = Served::new(&ns, &[("apps/demo/cm.yaml", configmap(&ns, "settings", "v1"))]);
    served.apply_flux_objects(&ns);
    let elect = ["--leader-elect", "--lease-namespace", ns.as_str()];
    let mut first = ControllerProcess::start(&ns, &elect);
    wait_for("the first to lead", 30, || {
        first.log().contains("acquired the lease").then_some(())
    });
    let second = ControllerProcess::start(&ns, &elect);
    wait_for("the second to wait", 30, || {
        second.log().contains("waiting for the lease").then_some(())
    });
    wait_for("applied by the leader", 60, || get("configmap", Some(&ns), "settings"));

    assert_eq!(http_get(&first.probe_url(), "/readyz").0, 200);
    assert_eq!(http_get(&second.probe_url(), "/readyz").0, 503);
    assert_eq!(http_get(&second.probe_url(), "/healthz").0, 200);
    let (_, metrics) = http_get(&first.probe_url(), "/metrics");
    let ready_line = format!(
        "gotk_reconcile_condition{{kind=\"Kustomization\",name=\"app\",namespace=\"{ns}\",type=\"Ready\",status=\"True\"}} 1"
    );
    assert!(metrics.contains(&ready_line), "{metrics}");
    assert!(metrics.contains("gotk_reconcile_duration_seconds_bucket"), "{metrics}");
    let (_, standby) = http_get(&second.probe_url(), "/metrics");
    assert!(!standby.contains("name=\"app\""), "the standby reconciled:\n{standby}");

    // The leader dies without a word; the standby takes over once the lease expires.
    first.kill();
    wait_for("the standby to lead", 40, || {
        second.log().contains("acquired the lease").then_some(())
    });
    served
        .repo
        .write("apps/demo/cm.yaml", &configmap(&ns, "settings", "v2"));
    served.commit("v2");
    wait_for("v2 applied by the new leader", 30, || {
        get("configmap", Some(&ns), "settings").filter(|c| c["data"]["key"] == "v2")
    });
}

#[test]
fn a_controller_killed_mid_apply_converges_after_restart() {
    let ns = namespace("ctl-kill");
    let files = configmap_files(&ns, 200);
    let refs: Vec<(&str, String)> = files.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
    let served = Served::new(&ns, &refs);
    served.apply_flux_objects(&ns);
    let mut first = ControllerProcess::start(&ns, &[]);
    wait_for("the apply to start", 60, || {
        let out = kubectl(&["get", "configmaps", "-n", &ns, "-o", "name"]);
        (out.lines().filter(|l| l.starts_with("configmap/c")).count() > 0).then_some(())
    });
    first.kill();
    let _second = ControllerProcess::start(&ns, &[]);
    wait_for("Ready after restart", 90, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });
    let out = kubectl(&["get", "configmaps", "-n", &ns, "-o", "name"]);
    assert_eq!(out.lines().filter(|l| l.starts_with("configmap/c")).count(), 200);
    let ks = get("kustomization", Some(&ns), "app").unwrap();
    assert_eq!(
        ks["status"]["inventory"]["entries"].as_array().unwrap().len(),
        200,
        "inventory not intact"
    );
    // Everything it applied is owned: deleting the Kustomization leaves nothing behind.
    ballast(&["delete", "kustomization", "app", "-n", &ns, "--timeout", "60s"]).ok();
    let out = kubectl(&["get", "configmaps", "-n", &ns, "-o", "name"]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("configmap/c")).count(),
        0,
        "orphans left:\n{out}"
    );
}

#[test]
fn flux_overrides_and_a_kustomize_overlay_in_the_source() {
    let ns = namespace("ctl-overrides");
    let served = Served::new(
        &ns,
        &[
            (
                "apps/demo/kustomization.yaml",
                format!(
                    "namespace: {ns}\nnamePrefix: own-\nresources:\n- deploy.yaml\nconfigMapGenerator:\n- name: settings\n  literals:\n  - level=info\n"
                ),
            ),
            ("apps/demo/deploy.yaml", deployment(&ns, "web", 1)),
            (
                "apps/monitoring/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  monitored: \"true\"\n".to_string(),
            ),
        ],
    );
    served.apply_flux_objects(&ns);
    // Written into the path's own file as Flux does: the patch names the Deployment as the file's
    // resources do (it runs before the prefix), and `namePrefix` replaces the file's `own-`.
    let patch = serde_json::json!({"spec": {
        "components": ["../monitoring"],
        "namePrefix": "p-",
        "images": [{"name": "registry.invalid/app", "newTag": "2.0.0"}],
        "patches": [{"target": {"kind": "Deployment", "name": "web"}, "patch": "- op: replace\n  path: /spec/replicas\n  value: 3\n"}],
        "commonMetadata": {"labels": {"team": "blue"}},
    }});
    kubectl(&[
        "patch",
        "kustomization",
        "app",
        "-n",
        &ns,
        "--type=merge",
        "-p",
        &patch.to_string(),
    ]);
    let _controller = ControllerProcess::start(&ns, &[]);
    let web = wait_for("the overridden Deployment", 60, || {
        get("deployment", Some(&ns), "p-web")
    });
    assert_eq!(web["spec"]["replicas"], 3);
    assert_eq!(web["metadata"]["labels"]["team"], "blue");
    assert_eq!(
        web["metadata"]["annotations"]["monitored"], "true",
        "the component was not applied"
    );
    let c = &web["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "registry.invalid/app:2.0.0");
    let cm = kubectl(&["get", "configmaps", "-n", &ns, "-o", "name"]);
    assert!(cm.lines().any(|l| l.starts_with("configmap/p-settings-")), "{cm}");
}
