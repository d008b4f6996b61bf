//! Argo CD Applications reconciled by Ballast, with test data re-typed from
//! argocd-example-apps (`tests/fixtures/argocd-example-apps`). The test control plane has no
//! kubelet: the tests play it, marking Pods Ready (Deployments, ReplicaSets become available)
//! or Succeeded/Failed (Jobs complete or fail), one step at a time where order matters.

use std::path::Path;
use std::sync::OnceLock;

use ballast_testenv::git::GitRepo;
use serde_json::{Value, json};

use crate::support::*;

fn install_argo() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        install();
        ballast(&["install", "--argo"]).ok();
    });
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/argocd-example-apps")
}

fn copy_into(repo: &GitRepo, dir: &Path, prefix: &str) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if e.file_type().unwrap().is_dir() {
            copy_into(repo, &e.path(), &rel);
        } else {
            repo.write(&rel, &std::fs::read_to_string(e.path()).unwrap());
        }
    }
}

/// The example apps in a Git repository (served over file://).
pub(crate) fn example_repo() -> GitRepo {
    let repo = GitRepo::new();
    copy_into(&repo, &fixtures(), "");
    repo.commit("argocd-example-apps");
    repo
}

/// A controller for Applications in `ns` (its control namespace: Applications there are
/// tracked by their bare name, as in Argo CD's `argocd` namespace).
pub(crate) fn controller(ns: &str) -> ControllerProcess {
    install_argo();
    ControllerProcess::start(ns, &["--lease-namespace", ns])
}

pub(crate) fn create_app(ns: &str, name: &str, spec: Value) {
    let app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": ns}, "spec": spec});
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.json");
    std::fs::write(&file, app.to_string()).unwrap();
    kubectl(&["create", "-f", file.to_str().unwrap()]);
}

pub(crate) fn spec(repo: &GitRepo, path: &str, ns: &str, automated: bool) -> Value {
    let mut s = json!({
        "project": "default",
        "source": {"repoURL": repo.url(), "targetRevision": "HEAD", "path": path},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": ns}
    });
    if automated {
        s["syncPolicy"] = json!({"automated": {"prune": true, "selfHeal": true}});
    }
    s
}

/// Asks for a refresh of the Application, as `argocd app get --refresh` does.
pub(crate) fn refresh(ns: &str, name: &str) {
    kubectl(&[
        "annotate",
        "applications.argoproj.io",
        name,
        "-n",
        ns,
        "argocd.argoproj.io/refresh=normal",
        "--overwrite",
    ]);
}

pub(crate) fn app(ns: &str, name: &str) -> Value {
    get("applications.argoproj.io", Some(ns), name).expect("application exists")
}

/// Plays kubelet for the Pods in `ns` matching `selector` (all when empty): Job Pods become
/// Succeeded (or Failed when their Job is in `failing`), the others Running and Ready.
pub(crate) fn kubelet(ns: &str, selector: &str, failing: &[&str]) {
    let mut args = vec!["get", "pods", "-n", ns, "-o", "json"];
    if !selector.is_empty() {
        args.extend(["-l", selector]);
    }
    let pods: Value = serde_json::from_str(&kubectl(&args)).unwrap();
    for pod in pods["items"].as_array().unwrap() {
        let name = pod["metadata"]["name"].as_str().unwrap();
        let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
        if phase != "Pending" {
            continue;
        }
        let patch = match pod["metadata"]["labels"]["job-name"].as_str() {
            Some(job) if failing.contains(&job) => json!({"status": {"phase": "Failed"}}),
            Some(_) => json!({"status": {"phase": "Succeeded"}}),
            None => json!({"status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}),
        };
        let _ = kubectl_raw(&[
            "patch",
            "pod",
            name,
            "-n",
            ns,
            "--subresource=status",
            "--type",
            "merge",
            "-p",
            &patch.to_string(),
        ]);
    }
}

/// Waits until `done` holds for the Application; on timeout, fails showing its status and the
/// controller's log.
pub(crate) fn wait_app(ns: &str, name: &str, secs: u64, mut done: impl FnMut(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let a = app(ns, name);
        if done(&a) {
            return a;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for Application {ns}/{name}: {:#}\npods: {}",
            a["status"],
            kubectl(&["get", "pods", "-n", ns, "-o", "wide"])
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

pub(crate) fn state(a: &Value) -> (String, String, String) {
    (
        a["status"]["sync"]["status"].as_str().unwrap_or("").to_string(),
        a["status"]["health"]["status"].as_str().unwrap_or("").to_string(),
        a["status"]["operationState"]["phase"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

#[test]
fn guestbook_synced_healthy_tracked_as_argo_cd_and_self_healed() {
    let ns = namespace("argo-gb");
    let repo = example_repo();
    let _c = controller(&ns);
    create_app(&ns, "guestbook", spec(&repo, "guestbook", &ns, true));
    let a = wait_app(&ns, "guestbook", 120, |a| {
        kubelet(&ns, "", &[]);
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    let commit = repo.head();
    assert_eq!(a["status"]["sync"]["revision"], commit.as_str());
    assert_eq!(a["status"]["sourceType"], "Directory");
    assert_eq!(a["status"]["history"].as_array().unwrap().len(), 1);
    assert_eq!(a["status"]["history"][0]["revision"], commit.as_str());
    assert_eq!(
        a["status"]["resources"].as_array().unwrap().len(),
        2,
        "{}",
        a["status"]["resources"]
    );
    // The tracking annotation exactly as Argo CD writes it.
    let d = get("deployment", Some(&ns), "guestbook-ui").unwrap();
    assert_eq!(
        d["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        format!("guestbook:apps/Deployment:{ns}/guestbook-ui")
    );
    let s = get("service", Some(&ns), "guestbook-ui").unwrap();
    assert_eq!(
        s["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        format!("guestbook:/Service:{ns}/guestbook-ui")
    );
    // The CLI reads what the controller wrote.
    let list = ballast(&["app", "list", "-N", &ns]).ok();
    assert!(
        list.stdout.contains("guestbook") && list.stdout.contains("Synced") && list.stdout.contains("Healthy"),
        "{}",
        list.stdout
    );
    let got = ballast(&["app", "get", "guestbook", "-N", &ns]).ok();
    assert!(got.stdout.contains("Sync Policy:   Automated"), "{}", got.stdout);
    assert!(got.stdout.contains("guestbook-ui"), "{}", got.stdout);
    let diff = ballast(&["app", "diff", "guestbook", "-N", &ns]);
    assert_eq!(diff.code, 0, "{} {}", diff.stdout, diff.stderr);
    let hist = ballast(&["app", "history", "guestbook", "-N", &ns]).ok();
    assert!(hist.stdout.contains(&commit), "{}", hist.stdout);
    // Rollback is refused while automated sync is on, as Argo CD refuses it.
    let rb = ballast(&["app", "rollback", "guestbook", "0", "-N", &ns]);
    assert_ne!(rb.code, 0);
    assert!(
        rb.stderr
            .contains("rollback cannot be initiated when auto-sync is enabled"),
        "{}",
        rb.stderr
    );

    // Self-heal: a scaled Deployment is put back.
    kubectl(&["scale", "deployment", "guestbook-ui", "-n", &ns, "--replicas=3"]);
    wait_for("self-heal of the scaled Deployment", 60, || {
        let d = get("deployment", Some(&ns), "guestbook-ui")?;
        (d["spec"]["replicas"] == 1).then_some(())
    });
}

#[test]
fn sync_waves_run_in_order_each_wave_healthy_before_the_next() {
    let ns = namespace("argo-waves");
    let repo = example_repo();
    let _c = controller(&ns);
    create_app(&ns, "sync-waves", spec(&repo, "sync-waves", &ns, true));
    let jobs = || -> Vec<String> {
        let v: Value = serde_json::from_str(&kubectl(&["get", "jobs", "-n", &ns, "-o", "json"])).unwrap();
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    // PreSync: the generateName hook, named as Argo CD names it; nothing else yet.
    let pre = wait_for("the PreSync hook", 60, || {
        jobs().into_iter().find(|j| j.starts_with("upgrade-sql-schema"))
    });
    let short: String = repo.head().chars().take(7).collect();
    assert!(pre.starts_with(&format!("upgrade-sql-schema{short}-presync-")), "{pre}");
    assert!(
        get("replicaset", Some(&ns), "backend").is_none(),
        "wave 0 applied before PreSync completed"
    );
    kubelet(&ns, &format!("job-name={pre}"), &[]);
    // Wave 0 (backend) must be healthy before wave 1 (a Sync hook) runs.
    wait_for("wave 0", 60, || get("replicaset", Some(&ns), "backend"));
    wait_for("backend pod", 60, || {
        let p = kubectl(&["get", "pods", "-n", &ns, "-l", "tier=backend", "-o", "name"]);
        (!p.trim().is_empty()).then_some(())
    });
    assert!(
        !jobs().contains(&"maint-page-up".to_string()),
        "wave 1 before wave 0 was healthy"
    );
    kubelet(&ns, "tier=backend", &[]);
    wait_for("wave 1", 60, || {
        jobs().contains(&"maint-page-up".to_string()).then_some(())
    });
    assert!(
        get("replicaset", Some(&ns), "frontend").is_none(),
        "wave 2 before the wave 1 hook completed"
    );
    wait_for("wave 1 hook completed", 60, || {
        kubelet(&ns, "job-name=maint-page-up", &[]);
        get("replicaset", Some(&ns), "frontend")
    });
    assert!(
        !jobs().contains(&"maint-page-down".to_string()),
        "wave 3 before wave 2 was healthy"
    );
    wait_for("wave 3", 60, || {
        kubelet(&ns, "tier=frontend", &[]);
        jobs().contains(&"maint-page-down".to_string()).then_some(())
    });
    let a = wait_for("sync-waves Synced", 60, || {
        kubelet(&ns, "", &[]);
        let a = app(&ns, "sync-waves");
        (state(&a).2 == "Succeeded").then_some(a)
    });
    let order: Vec<String> = a["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    let pos = |n: &str| {
        order
            .iter()
            .position(|o| o.starts_with(n))
            .unwrap_or_else(|| panic!("{n} in {order:?}"))
    };
    assert!(pos("upgrade-sql-schema") < pos("backend"));
    assert!(pos("backend") < pos("maint-page-up"));
    assert!(pos("maint-page-up") < pos("frontend"));
    assert!(pos("frontend") < pos("maint-page-down"));
    assert_eq!(state(&a).0, "Synced", "{}", a["status"]);
}

#[test]
fn failing_presync_hook_stops_the_sync_and_runs_syncfail_hooks() {
    let ns = namespace("argo-fail");
    let repo = example_repo();
    let _c = controller(&ns);
    let mut s = spec(&repo, "presync-fail", &ns, true);
    // No retry (Argo CD retries an automated sync 5 times unless told otherwise).
    s["syncPolicy"]["retry"] = json!({"limit": 0});
    create_app(&ns, "presync-fail", s);
    let a = wait_for("the sync to fail", 120, || {
        kubelet(&ns, "", &["migrate"]);
        let a = app(&ns, "presync-fail");
        (state(&a).2 == "Failed").then_some(a)
    });
    assert!(
        get("configmap", Some(&ns), "app-config").is_none(),
        "the Sync phase ran after a failed PreSync hook"
    );
    assert!(get("job", Some(&ns), "on-failure").is_some(), "SyncFail hook not run");
    let results = a["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap();
    let migrate = results.iter().find(|r| r["name"] == "migrate").expect("migrate result");
    assert_eq!(migrate["hookPhase"], "Failed");
    assert_eq!(migrate["hookType"], "PreSync");
    assert_eq!(state(&a).0, "OutOfSync");
    assert!(
        a["status"]["history"].as_array().is_none_or(|h| h.is_empty()),
        "a failed sync is not history"
    );
}

#[test]
fn manual_app_waits_for_app_sync_and_keeps_prune_false_objects() {
    let ns = namespace("argo-manual");
    let repo = example_repo();
    let cm = |name: &str, extra: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra}data:\n  k: v\n")
    };
    repo.write(
        "manual/keep.yaml",
        &cm(
            "keep",
            "  annotations:\n    argocd.argoproj.io/sync-options: Prune=false\n",
        ),
    );
    repo.write("manual/drop.yaml", &cm("drop", ""));
    let first = repo.commit("manual app");
    let _c = controller(&ns);
    create_app(&ns, "manual", spec(&repo, "manual", &ns, false));
    wait_for("manual OutOfSync", 60, || {
        let a = app(&ns, "manual");
        (state(&a).0 == "OutOfSync").then_some(())
    });
    assert!(
        get("configmap", Some(&ns), "keep").is_none(),
        "a manual Application synced by itself"
    );
    let diff = ballast(&["app", "diff", "manual", "-N", &ns]);
    assert_eq!(diff.code, 1, "{} {}", diff.stdout, diff.stderr);
    assert!(diff.stdout.contains("name: drop"), "{}", diff.stdout);
    let sync = ballast(&["app", "sync", "manual", "-N", &ns]);
    assert_eq!(sync.code, 0, "{} {}", sync.stdout, sync.stderr);
    assert!(sync.stdout.contains("Phase: Succeeded"), "{}", sync.stdout);
    assert!(get("configmap", Some(&ns), "keep").is_some() && get("configmap", Some(&ns), "drop").is_some());
    wait_for("manual Synced", 30, || {
        (state(&app(&ns, "manual")).0 == "Synced").then_some(())
    });

    // Both leave Git; a pruning sync deletes `drop` and keeps `keep` (Prune=false).
    repo.remove("manual/keep.yaml").remove("manual/drop.yaml");
    repo.write("manual/other.yaml", &cm("other", ""));
    repo.commit("only other");
    let sync = ballast(&["app", "sync", "manual", "-N", &ns, "--prune"]);
    assert_eq!(sync.code, 0, "{} {}", sync.stdout, sync.stderr);
    assert!(get("configmap", Some(&ns), "drop").is_none(), "drop not pruned");
    assert!(
        get("configmap", Some(&ns), "keep").is_some(),
        "Prune=false object pruned"
    );
    assert!(sync.stdout.contains("PruneSkipped"), "{}", sync.stdout);
    let a = app(&ns, "manual");
    let keep = a["status"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "keep")
        .cloned()
        .expect("keep listed");
    assert_eq!(keep["requiresPruning"], true);
    assert_eq!(
        state(&a).0,
        "OutOfSync",
        "an object requiring pruning keeps the Application OutOfSync"
    );

    // History and rollback to the first revision.
    let hist = ballast(&["app", "history", "manual", "-N", &ns]).ok();
    assert!(hist.stdout.contains(&first), "{}", hist.stdout);
    let rb = ballast(&["app", "rollback", "manual", "0", "-N", &ns]);
    assert_eq!(rb.code, 0, "{} {}", rb.stdout, rb.stderr);
    assert!(
        get("configmap", Some(&ns), "drop").is_some(),
        "rollback did not restore the first revision"
    );
    let a = app(&ns, "manual");
    assert_eq!(a["status"]["operationState"]["syncResult"]["revision"], first.as_str());
    let history = a["status"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[2]["revision"], first.as_str());
    assert_eq!(history[2]["id"], 2);
    // As in Argo CD, the Application still compares with its targetRevision (HEAD): OutOfSync.
    wait_for("OutOfSync after rollback", 30, || {
        (state(&app(&ns, "manual")).0 == "OutOfSync").then_some(())
    });
}

#[test]
fn app_of_apps_renders_children_helm_and_kustomize() {
    let ns = namespace("argo-apps");
    let repo = example_repo();
    let _c = controller(&ns);
    let mut s = spec(&repo, "apps", &ns, true);
    s["source"]["helm"] = json!({"parameters": [
        {"name": "config.spec.source.repoURL", "value": repo.url()},
        {"name": "config.spec.source.targetRevision", "value": "main"},
        {"name": "config.namespace", "value": ns}
    ]});
    create_app(&ns, "apps", s);
    for child in [
        "example.guestbook",
        "example.helm-guestbook",
        "example.kustomize-guestbook",
    ] {
        wait_for(child, 120, || {
            let a = get("applications.argoproj.io", Some(&ns), child)?;
            (a["status"]["operationState"]["phase"] == "Succeeded").then_some(())
        });
    }
    // Each child in its own namespace (CreateNamespace=true), rendered by its tool.
    assert!(get("deployment", Some("guestbook"), "guestbook-ui").is_some());
    let helm =
        get("deployment", Some("helm-guestbook"), "helm-guestbook").expect("helm release name as the Deployment name");
    assert_eq!(
        helm["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        "example.helm-guestbook:apps/Deployment:helm-guestbook/helm-guestbook"
    );
    assert!(
        get("deployment", Some("kustomize-guestbook"), "kustomize-guestbook-ui").is_some(),
        "namePrefix"
    );
    let parent = app(&ns, "apps");
    assert_eq!(parent["status"]["sourceType"], "Helm");
    let child = get("applications.argoproj.io", Some(&ns), "example.guestbook").unwrap();
    assert_eq!(
        child["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        format!("apps:argoproj.io/Application:{ns}/example.guestbook")
    );
}

#[test]
fn helm_hooks_mapped_to_argo_phases_and_hook_weight_as_wave() {
    let ns = namespace("argo-hh");
    let repo = example_repo();
    let _c = controller(&ns);
    create_app(&ns, "helm-hooks", spec(&repo, "helm-hooks", &ns, true));
    let a = wait_app(&ns, "helm-hooks", 120, |a| {
        kubelet(&ns, "", &[]);
        state(a).2 == "Succeeded"
    });
    let results = a["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap()
        .clone();
    let find = |kind: &str, name: &str| {
        results
            .iter()
            .position(|r| r["kind"] == kind && r["name"].as_str().unwrap().starts_with(name))
            .unwrap_or_else(|| panic!("{kind}/{name} in {results:?}"))
    };
    let (schema, up, rs, svc, down) = (
        find("Job", "upgrade-sql-schema"),
        find("Job", "maint-page-up"),
        find("ReplicaSet", "frontend"),
        find("Service", "frontend"),
        find("Job", "maint-page-down"),
    );
    assert!(schema < up && up < rs && rs < svc && svc < down, "{results:#?}");
    assert_eq!(results[schema]["hookType"], "PreSync");
    assert_eq!(results[down]["hookType"], "PostSync");
    assert!(
        results[svc]["hookType"].is_null(),
        "a Service with only helm.sh/hook-weight is no hook"
    );
    let svc_status = a["status"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "Service")
        .cloned()
        .unwrap();
    assert_eq!(svc_status["syncWave"], 2);
}

#[test]
fn pre_post_sync_kustomize_bases_with_hooks_deleted_on_success() {
    let ns = namespace("argo-pps");
    let repo = example_repo();
    let _c = controller(&ns);
    create_app(&ns, "pre-post-sync", spec(&repo, "pre-post-sync", &ns, true));
    let a = wait_app(&ns, "pre-post-sync", 120, |a| {
        kubelet(&ns, "", &[]);
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    assert_eq!(a["status"]["sourceType"], "Kustomize");
    assert!(get("deployment", Some(&ns), "pre-post-sync-kustomize-guestbook-ui").is_some());
    // HookSucceeded: both hooks are gone once they completed.
    assert!(get("job", Some(&ns), "pre-post-sync-before").is_none());
    assert!(get("job", Some(&ns), "pre-post-sync-after").is_none());
    let results = a["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap();
    let hook = results
        .iter()
        .find(|r| r["name"] == "pre-post-sync-before")
        .expect("PreSync hook result");
    assert_eq!(hook["hookPhase"], "Succeeded");
}

#[test]
fn jsonnet_guestbook_and_jsonnet_tlas_ext_vars_libs() {
    let ns = namespace("argo-jsonnet");
    let repo = example_repo();
    let _c = controller(&ns);
    create_app(&ns, "jsonnet-guestbook", spec(&repo, "jsonnet-guestbook", &ns, true));
    // Argo CD shows this app Progressing: its Service is a LoadBalancer that never gets an
    // address on a cluster without a load balancer.
    let a = wait_app(&ns, "jsonnet-guestbook", 120, |a| {
        kubelet(&ns, "", &[]);
        let deployment_healthy = a["status"]["resources"].as_array().is_some_and(|r| {
            r.iter()
                .any(|r| r["kind"] == "Deployment" && r["health"]["status"] == "Healthy")
        });
        deployment_healthy && state(a) == ("Synced".into(), "Progressing".into(), "Succeeded".into())
    });
    assert_eq!(a["status"]["sourceType"], "Directory");
    let d = get("deployment", Some(&ns), "jsonnet-guestbook-ui").expect("jsonnet Deployment");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "quay.io/argoprojlabs/argocd-e2e-container:0.2"
    );
    let s = get("service", Some(&ns), "jsonnet-guestbook-ui").expect("jsonnet Service");
    assert_eq!(s["spec"]["type"], "LoadBalancer");
    let svc = a["status"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "Service")
        .expect("Service in resources")
        .clone();
    assert_eq!(svc["health"]["status"], "Progressing", "{svc}");
    let dep = a["status"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "Deployment")
        .expect("Deployment in resources")
        .clone();
    assert_eq!(dep["health"]["status"], "Healthy", "{dep}");

    // tlas, extVars (one as code, one with a build variable) and libs.
    let mut s = spec(&repo, "jsonnet-tla", &ns, true);
    s["source"]["directory"] = json!({"jsonnet": {
        "extVars": [{"name": "app", "value": "$ARGOCD_APP_NAME"},
                    {"name": "limits", "value": "{cpu: '%dm' % (250 * 2)}", "code": true}],
        "tlas": [{"name": "tier", "value": "web"}, {"name": "replicas", "value": "1 + 2", "code": true}],
        "libs": ["jsonnet-lib"]}});
    create_app(&ns, "settings", s);
    wait_app(&ns, "settings", 120, |a| {
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    let cm = get("configmap", Some(&ns), "settings-web").expect("ConfigMap from the Jsonnet List");
    assert_eq!(cm["data"], json!({"tier": "web", "replicas": "3", "cpu": "500m"}));
    assert!(
        get("configmap", Some(&ns), "must-not-exist").is_none(),
        ".libsonnet rendered on its own"
    );

    // A Jsonnet error is a ComparisonError naming the file and line, and nothing is applied.
    repo.write("jsonnet-tla/broken.jsonnet", "{\n  a: error 'no such setting'\n}\n");
    repo.commit("broken jsonnet");
    refresh(&ns, "settings");
    let a = wait_app(&ns, "settings", 120, |a| {
        a["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["message"].as_str().unwrap_or("").contains("broken.jsonnet:2"))
        })
    });
    assert!(
        a["status"]["conditions"].to_string().contains("no such setting"),
        "{}",
        a["status"]["conditions"]
    );
}

#[test]
fn multi_source_helm_with_ref_values_and_a_directory() {
    let ns = namespace("argo-multi");
    let repo = example_repo();
    // A second repository holding only values, used through `ref: values`.
    let values = GitRepo::new();
    values.write("envs/prod/values.yaml", "replicaCount: 2\nservice:\n  port: 8080\n");
    values.commit("prod values");
    let _c = controller(&ns);
    let s = json!({
        "project": "default",
        "sources": [
            {"repoURL": repo.url(), "targetRevision": "HEAD", "path": "helm-guestbook",
             "helm": {"releaseName": "multi", "valueFiles": ["values.yaml", "$values/envs/prod/values.yaml"]}},
            {"repoURL": values.url(), "targetRevision": "HEAD", "ref": "values"},
            {"repoURL": repo.url(), "targetRevision": "HEAD", "path": "guestbook"}
        ],
        "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
        "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}
    });
    create_app(&ns, "multi", s);
    let a = wait_app(&ns, "multi", 120, |a| {
        kubelet(&ns, "", &[]);
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    let (head, values_head) = (repo.head(), values.head());
    // Objects of both rendered sources; the values from the `ref` source applied.
    let d = get("deployment", Some(&ns), "multi-helm-guestbook").expect("chart Deployment");
    assert_eq!(d["spec"]["replicas"], 2);
    let svc = get("service", Some(&ns), "multi-helm-guestbook").expect("chart Service");
    assert_eq!(svc["spec"]["ports"][0]["port"], 8080);
    assert!(
        get("deployment", Some(&ns), "guestbook-ui").is_some(),
        "directory source"
    );
    // Status and history as Argo CD writes them for multi-source Applications.
    let st = &a["status"];
    assert_eq!(
        st["sync"]["revisions"],
        json!([head, values_head, head]),
        "{}",
        st["sync"]
    );
    assert!(st["sync"].get("revision").is_none(), "{}", st["sync"]);
    assert_eq!(st["sync"]["comparedTo"]["sources"].as_array().map(Vec::len), Some(3));
    let h = &st["history"][0];
    assert_eq!(h["revisions"], json!([head, values_head, head]), "{h}");
    assert_eq!(h["sources"][1]["ref"], "values", "{h}");
    assert!(h.get("revision").is_none() && h.get("source").is_none(), "{h}");
    assert_eq!(
        st["operationState"]["syncResult"]["revisions"].as_array().map(Vec::len),
        Some(3)
    );
    let hist = ballast(&["app", "history", "multi", "-N", &ns]).ok();
    assert!(hist.stdout.contains(&values_head), "{}", hist.stdout);

    // A new commit to the values repository alone is picked up.
    values.write("envs/prod/values.yaml", "replicaCount: 3\nservice:\n  port: 8080\n");
    values.commit("three replicas");
    refresh(&ns, "multi");
    wait_for("the values repository's change applied", 120, || {
        let d = get("deployment", Some(&ns), "multi-helm-guestbook")?;
        (d["spec"]["replicas"] == 3).then_some(())
    });

    // A `$ref` that names no source is a ComparisonError, nothing guessed.
    let mut bad = a["spec"].clone();
    bad["sources"][0]["helm"]["valueFiles"] = json!(["$nothing/values.yaml"]);
    bad["syncPolicy"] = Value::Null;
    create_app(&ns, "multi-bad", bad);
    wait_app(&ns, "multi-bad", 120, |a| {
        a["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter().any(|c| {
                c["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("no source has ref \"nothing\"")
            })
        })
    });
}

/// An Argo CD repository Secret (`repository` or `repo-creds`) in `ns`.
fn repo_secret(ns: &str, name: &str, kind: &str, url: &str, user: &str, password: &str, extra: &str) {
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    argocd.argoproj.io/secret-type: {kind}\nstringData:\n  url: {url}\n  type: helm\n  username: {user}\n  password: {password}\n{extra}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret.yaml");
    std::fs::write(&file, yaml).unwrap();
    kubectl(&["apply", "-f", file.to_str().unwrap()]);
}

fn chart_spec(ns: &str, repo_url: &str, chart: &str, revision: &str) -> Value {
    json!({
        "project": "default",
        "source": {"repoURL": repo_url, "chart": chart, "targetRevision": revision,
                   "helm": {"parameters": [{"name": "message", "value": "from-argo"}]}},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
        "syncPolicy": {"automated": {"prune": true}}
    })
}

#[test]
fn helm_charts_from_http_and_oci_repositories_with_repository_secrets() {
    use ballast_testenv::charts::{ChartServer, Helm, Registry, write_chart};
    const PASSWORD: &str = "argo-chart-pw-1";
    let ns = namespace("argo-charts");
    let work = tempfile::tempdir().unwrap();
    let helm = Helm::new(&work.path().join("helm"));
    let repo_dir = work.path().join("repo");
    for v in ["1.0.0", "1.1.0", "2.0.0"] {
        let chart = write_chart(&work.path().join(format!("src-{v}")), "hello", v, "message: hi\n", &[]);
        helm.package(&chart, &repo_dir);
    }
    helm.index(&repo_dir, None);
    let server = ChartServer::start(&repo_dir, Some(("argo", PASSWORD)));
    let _c = controller(&ns);

    // Without credentials the repository refuses: a ComparisonError, nothing applied.
    create_app(&ns, "exact", chart_spec(&ns, &server.url, "hello", "1.0.0"));
    let a = wait_app(&ns, "exact", 120, |a| {
        a["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "ComparisonError"))
    });
    assert!(get("configmap", Some(&ns), "exact").is_none());
    // The repository Secret, as Argo CD reads it, then a refresh.
    repo_secret(&ns, "hello-repo", "repository", &server.url, "argo", PASSWORD, "");
    refresh(&ns, "exact");
    let a2 = wait_app(&ns, "exact", 120, |a| {
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    assert_eq!(a2["status"]["sync"]["revision"], "1.0.0");
    assert_eq!(a2["status"]["sourceType"], "Helm");
    assert_eq!(a2["status"]["history"][0]["source"]["chart"], "hello");
    let cm = get("configmap", Some(&ns), "exact").expect("chart ConfigMap");
    assert_eq!(cm["data"], json!({"version": "1.0.0", "message": "from-argo"}));
    for status in [&a["status"], &a2["status"]] {
        assert!(!status.to_string().contains(PASSWORD), "a credential in the status");
    }
    let seen = server.seen_auth.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|h| h.as_deref().is_some_and(|h| h.starts_with("Basic "))),
        "{seen:?}"
    );

    // The exact version is cached: another Application of the same chart version asks the
    // repository nothing (only exact versions exist so far: no index is read either).
    let before = server.seen_auth.lock().unwrap().len();
    create_app(&ns, "exact-again", chart_spec(&ns, &server.url, "hello", "1.0.0"));
    wait_app(&ns, "exact-again", 120, |a| {
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    let after: Vec<_> = server.seen_auth.lock().unwrap()[before..].to_vec();
    assert!(after.is_empty(), "requests for a cached chart version: {after:?}");

    // A semver constraint takes the newest match.
    create_app(&ns, "ranged", chart_spec(&ns, &server.url, "hello", "^1.0.0"));
    let r = wait_app(&ns, "ranged", 120, |a| {
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    assert_eq!(r["status"]["sync"]["revision"], "1.1.0");
    assert_eq!(
        get("configmap", Some(&ns), "ranged").unwrap()["data"]["version"],
        "1.1.0"
    );

    // OCI: `host/path` without a scheme, credentials from a `repo-creds` prefix Secret.
    let registry = Registry::start("ci", PASSWORD);
    let chart = write_chart(&work.path().join("src-oci"), "hello", "3.0.0", "message: hi\n", &[]);
    let tgz = helm.package(&chart, &work.path().join("oci-out"));
    helm.run(&[
        "push",
        tgz.to_str().unwrap(),
        &format!("oci://{}/charts", registry.host()),
        "--plain-http",
        "--username",
        "ci",
        "--password",
        PASSWORD,
    ]);
    repo_secret(
        &ns,
        "registry-creds",
        "repo-creds",
        &registry.host(),
        "ci",
        PASSWORD,
        "  enableOCI: \"true\"\n",
    );
    create_app(
        &ns,
        "oci",
        chart_spec(&ns, &format!("{}/charts", registry.host()), "hello", ">=3.0.0"),
    );
    let o = wait_app(&ns, "oci", 120, |a| {
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    assert_eq!(o["status"]["sync"]["revision"], "3.0.0");
    assert_eq!(get("configmap", Some(&ns), "oci").unwrap()["data"]["version"], "3.0.0");
}

#[test]
fn ignore_differences_jq_managed_fields_and_respect_in_sync() {
    let ns = namespace("argo-ignore");
    let repo = GitRepo::new();
    let deploy = |image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: {image}\n"
        )
    };
    let cm = |other: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: git\n  other: {other}\n")
    };
    repo.write("ignore/deploy.yaml", &deploy("nginx:1"));
    repo.write("ignore/cm.yaml", &cm("one"));
    repo.commit("app");
    let _c = controller(&ns);
    let mut s = spec(&repo, "ignore", &ns, true);
    s["syncPolicy"]["syncOptions"] = json!(["RespectIgnoreDifferences=true"]);
    s["ignoreDifferences"] = json!([
        {"group": "apps", "kind": "Deployment", "jqPathExpressions": [".spec.replicas"]},
        {"group": "", "kind": "ConfigMap", "name": "settings", "managedFieldsManagers": ["operator"]},
        {"group": "*", "kind": "Secret", "jqPathExpressions": [".data | keys"]}
    ]);
    create_app(&ns, "ignore", s);
    let a = wait_app(&ns, "ignore", 120, |a| {
        kubelet(&ns, "", &[]);
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    // The expression outside the subset is refused by name in a condition.
    let conds = a["status"]["conditions"].to_string();
    assert!(
        conds.contains("jqPathExpressions[0]") && conds.contains(".data | keys"),
        "{conds}"
    );

    // Scaled by hand (say, an autoscaler): ignored, so Synced and not healed back.
    kubectl(&["scale", "deployment", "web", "-n", &ns, "--replicas=3"]);
    // A field of the ConfigMap taken over by another manager: ignored too.
    kubectl(&[
        "patch",
        "configmap",
        "settings",
        "-n",
        &ns,
        "--type",
        "merge",
        "--field-manager",
        "operator",
        "-p",
        r#"{"data":{"mode":"live"}}"#,
    ]);
    let before = app(&ns, "ignore")["status"]["reconciledAt"].clone();
    std::thread::sleep(std::time::Duration::from_secs(1));
    refresh(&ns, "ignore");
    let a = wait_app(&ns, "ignore", 60, |a| a["status"]["reconciledAt"] != before);
    assert_eq!(state(&a).0, "Synced", "{}", a["status"]);
    assert_eq!(get("deployment", Some(&ns), "web").unwrap()["spec"]["replicas"], 3);

    // A new commit is synced; RespectIgnoreDifferences keeps the ignored live values.
    repo.write("ignore/deploy.yaml", &deploy("nginx:2"));
    repo.write("ignore/cm.yaml", &cm("two"));
    let head = repo.commit("nginx 2");
    refresh(&ns, "ignore");
    wait_app(&ns, "ignore", 120, |a| {
        kubelet(&ns, "", &[]);
        a["status"]["operationState"]["syncResult"]["revision"] == head.as_str()
            && state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    let d = get("deployment", Some(&ns), "web").unwrap();
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:2");
    assert_eq!(
        d["spec"]["replicas"], 3,
        "the ignored replicas were overwritten by the sync"
    );
    let c = get("configmap", Some(&ns), "settings").unwrap();
    assert_eq!(c["data"], json!({"mode": "live", "other": "two"}));
}

/// A stub of Argo Rollouts' `Rollout` CRD (no controller): any spec, a status subresource.
fn rollout_crd() {
    let crd = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: rollouts.argoproj.io
spec:
  group: argoproj.io
  names: {kind: Rollout, listKind: RolloutList, plural: rollouts, singular: rollout, shortNames: [ro]}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crd.yaml");
    std::fs::write(&file, crd).unwrap();
    kubectl(&["apply", "-f", file.to_str().unwrap()]);
    wait_for("the Rollout CRD established", 60, || {
        kubectl_raw(&["get", "rollouts.argoproj.io", "-A"])
            .status
            .success()
            .then_some(())
    });
}

#[test]
fn blue_green_rollout_progressing_until_the_active_service_is_cut_over() {
    let ns = namespace("argo-bg");
    rollout_crd();
    let repo = example_repo();
    let _c = controller(&ns);
    create_app(&ns, "blue-green", spec(&repo, "blue-green", &ns, true));
    // No Rollouts controller: Argo CD shows the app Progressing (spec not observed).
    let a = wait_app(&ns, "blue-green", 120, |a| {
        state(a) == ("Synced".into(), "Progressing".into(), "Succeeded".into())
    });
    assert_eq!(a["status"]["sourceType"], "Helm");
    let rollout = a["status"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "Rollout")
        .expect("Rollout in resources")
        .clone();
    assert_eq!(rollout["health"]["status"], "Progressing", "{rollout}");
    assert!(get("service", Some(&ns), "blue-green-argotest").is_some());
    assert!(get("service", Some(&ns), "blue-green-argotest-preview").is_some());
    // Play the Rollouts controller: observed, one replica available, active Service cut over.
    let r = get("rollouts.argoproj.io", Some(&ns), "blue-green-argotest").expect("Rollout");
    let generation = r["metadata"]["generation"].as_i64().unwrap();
    let status = json!({"status": {"observedGeneration": generation.to_string(), "currentPodHash": "abc",
        "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "stableRS": "abc",
        "blueGreen": {"activeSelector": "abc"}}});
    kubectl(&[
        "patch",
        "rollouts.argoproj.io",
        "blue-green-argotest",
        "-n",
        &ns,
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        &status.to_string(),
    ]);
    wait_app(&ns, "blue-green", 120, |a| {
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
}
