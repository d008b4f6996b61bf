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
    create_app(&ns, "presync-fail", spec(&repo, "presync-fail", &ns, true));
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
