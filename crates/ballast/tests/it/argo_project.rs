//! Argo CD's AppProject enforced (sources, destinations, kinds), sync windows, sync retry,
//! shared resources, rollback on Degraded and `app delete`, against the test control plane.

use ballast_testenv::git::GitRepo;
use serde_json::{Value, json};

use crate::argo::{app, controller, create_app, kubelet, spec, state, wait_app};
use crate::support::*;

fn apply_json(v: &Value) {
    apply(&v.to_string());
}

fn project(ns: &str, name: &str, spec: Value) {
    apply_json(&json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": name, "namespace": ns}, "spec": spec}));
}

/// Asks the controller to look at the Application again (Argo CD's refresh annotation).
fn refresh(ns: &str, name: &str) {
    kubectl(&[
        "annotate",
        "applications.argoproj.io",
        name,
        "-n",
        ns,
        "--overwrite",
        &format!(
            "argocd.argoproj.io/refresh=n{}",
            std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos()
        ),
    ]);
}

fn conditions(a: &Value) -> Vec<(String, String)> {
    a["status"]["conditions"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|c| {
                    (
                        c["type"].as_str().unwrap_or("").to_string(),
                        c["message"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn has_condition(a: &Value, type_: &str, text: &str) -> bool {
    conditions(a).iter().any(|(t, m)| t == type_ && m.contains(text))
}

/// One ConfigMap and one Service in `dir`, committed.
fn small_app(repo: &GitRepo, dir: &str) {
    repo.write(
        &format!("{dir}/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  k: v\n",
    );
    repo.write(
        &format!("{dir}/svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    protocol: TCP\n  selector:\n    app: web\n",
    );
    repo.commit(dir);
}

#[test]
fn app_project_refuses_source_destination_and_kinds_as_argo_cd() {
    let ns = namespace("argo-proj");
    let repo = GitRepo::new();
    small_app(&repo, "small");
    let _c = controller(&ns);

    // A project that does not exist.
    let mut s = spec(&repo, "small", &ns, true);
    s["project"] = json!("nope");
    create_app(&ns, "lost", s);
    wait_app(&ns, "lost", 60, |a| {
        has_condition(
            a,
            "InvalidSpecError",
            "Application referencing project nope which does not exist",
        )
    });

    // Source not allowed: InvalidSpecError in Argo CD's words, nothing synced.
    project(
        &ns,
        "restricted",
        json!({"sourceRepos": ["https://git.example/team/*"],
               "destinations": [{"server": "https://kubernetes.default.svc", "namespace": ns}]}),
    );
    let mut s = spec(&repo, "small", &ns, true);
    s["project"] = json!("restricted");
    // No retry (Argo CD retries an automated sync 5 times unless told otherwise).
    s["syncPolicy"]["retry"] = json!({"limit": 0});
    create_app(&ns, "small", s);
    wait_app(&ns, "small", 60, |a| {
        has_condition(
            a,
            "InvalidSpecError",
            &format!(
                "application repo {} is not permitted in project 'restricted'",
                repo.url()
            ),
        )
    });
    assert!(
        get("configmap", Some(&ns), "settings").is_none(),
        "synced against its project"
    );

    // Source allowed by a glob, destination namespace not.
    project(
        &ns,
        "restricted",
        json!({"sourceRepos": ["file://**"],
               "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-*"}]}),
    );
    // No refresh: a changed AppProject concerns its Applications at once.
    wait_app(&ns, "small", 60, |a| {
        has_condition(
            a,
            "InvalidSpecError",
            &format!(
                "application destination server 'https://kubernetes.default.svc' and namespace '{ns}' do not match any of the allowed destinations in project 'restricted'"
            ),
        )
    });
    assert!(get("configmap", Some(&ns), "settings").is_none());

    // Destination allowed, Services refused: the sync fails naming the object, nothing applied.
    project(
        &ns,
        "restricted",
        json!({"sourceRepos": ["!https://git.example/secret/*"],
               "destinations": [{"name": "in-cluster", "namespace": ns}],
               "namespaceResourceBlacklist": [{"group": "", "kind": "Service"}]}),
    );

    let a = wait_app(&ns, "small", 60, |a| state(a).2 == "Failed");
    assert!(
        conditions(&a).iter().all(|(t, _)| t != "InvalidSpecError"),
        "{:?}",
        conditions(&a)
    );
    let message = a["status"]["operationState"]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "one or more synchronization tasks are not valid: resource :Service is not permitted in project restricted"
    );
    let results = a["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap();
    let svc = results.iter().find(|r| r["kind"] == "Service").expect("Service result");
    assert_eq!(svc["status"], "SyncFailed");
    assert!(
        get("configmap", Some(&ns), "settings").is_none(),
        "a refused kind let other objects be applied"
    );

    // Allowed: a manual sync (the failed revision is not retried automatically) succeeds.
    project(
        &ns,
        "restricted",
        json!({"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": ns}],
               "namespaceResourceWhitelist": [{"group": "", "kind": "*"}]}),
    );
    let sync = ballast(&["app", "sync", "small", "-N", &ns, "--timeout", "2m"]);
    assert_eq!(sync.code, 0, "{} {}", sync.stdout, sync.stderr);
    assert!(get("service", Some(&ns), "web").is_some());
}

#[test]
fn deny_sync_window_blocks_automated_and_manual_sync_until_removed() {
    let ns = namespace("argo-window");
    let repo = GitRepo::new();
    small_app(&repo, "small");
    let _c = controller(&ns);
    project(
        &ns,
        "frozen",
        json!({"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
               "syncWindows": [
                 {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["small*"],
                  "timeZone": "Europe/Berlin"},
                 {"kind": "deny", "schedule": "0 0 1 1 *", "duration": "1m", "namespaces": ["*"]}]}),
    );
    let mut s = spec(&repo, "small", &ns, true);
    s["project"] = json!("frozen");
    create_app(&ns, "small", s);
    let a = wait_app(&ns, "small", 60, |a| {
        has_condition(
            a,
            "SyncWindowBlocked",
            "automated sync blocked: deny sync window active",
        )
    });
    assert_eq!(state(&a).0, "OutOfSync");
    assert!(
        get("configmap", Some(&ns), "settings").is_none(),
        "synced inside a deny window"
    );
    // A manual sync waits too (manualSync is not set): Running, blocked.
    let sync = ballast(&["app", "sync", "small", "-N", &ns, "--timeout", "3s"]);
    assert_ne!(sync.code, 0, "{} {}", sync.stdout, sync.stderr);
    let a = wait_app(&ns, "small", 60, |a| {
        a["status"]["operationState"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Sync operation blocked by sync window"))
    });
    assert_eq!(state(&a).2, "Running");
    assert!(get("configmap", Some(&ns), "settings").is_none());

    // manualSync on the window: the waiting manual sync runs (the AppProject change is seen).
    project(
        &ns,
        "frozen",
        json!({"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
               "syncWindows": [
                 {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["small*"],
                  "timeZone": "Europe/Berlin", "manualSync": true}]}),
    );
    wait_app(&ns, "small", 60, |a| state(a).2 == "Succeeded");
    assert!(get("configmap", Some(&ns), "settings").is_some());

    // Automated sync is still blocked: a new revision waits.
    repo.write(
        "small/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  k: v2\n",
    );
    let second = repo.commit("v2");
    refresh(&ns, "small");
    let a = wait_app(&ns, "small", 60, |a| {
        a["status"]["sync"]["revision"] == second.as_str() && has_condition(a, "SyncWindowBlocked", "deny")
    });
    assert_eq!(state(&a).0, "OutOfSync");
    assert_eq!(get("configmap", Some(&ns), "settings").unwrap()["data"]["k"], "v");

    // The window removed: the automated sync runs (no refresh: the AppProject change is seen).
    merge_patch(
        "appprojects.argoproj.io",
        "frozen",
        &ns,
        r#"{"spec": {"syncWindows": null}}"#,
    );
    let a = wait_app(&ns, "small", 90, |a| {
        state(a).0 == "Synced" && a["status"]["operationState"]["syncResult"]["revision"] == second.as_str()
    });
    assert!(!has_condition(&a, "SyncWindowBlocked", ""), "{:?}", conditions(&a));
    assert_eq!(get("configmap", Some(&ns), "settings").unwrap()["data"]["k"], "v2");
}

#[test]
fn failed_sync_retried_with_backoff_until_it_succeeds() {
    let ns = namespace("argo-retry");
    let missing = format!("{ns}-later");
    let repo = GitRepo::new();
    repo.write(
        "retry/cm.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: elsewhere\n  namespace: {missing}\ndata:\n  k: v\n"
        ),
    );
    repo.commit("a ConfigMap in a namespace that does not exist yet");
    let _c = controller(&ns);
    let mut s = spec(&repo, "retry", &ns, true);
    s["syncPolicy"]["retry"] = json!({"limit": 20, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "4s"}});
    create_app(&ns, "retry", s);
    // Failed, and scheduled again: Running with a retry count, as Argo CD shows it.
    let a = wait_app(&ns, "retry", 60, |a| {
        a["status"]["operationState"]["retryCount"].as_i64().unwrap_or(0) >= 2
    });
    let message = a["status"]["operationState"]["message"].as_str().unwrap_or("");
    assert!(message.contains("Retrying attempt #"), "{message}");
    assert!(a["status"]["history"].as_array().is_none_or(|h| h.is_empty()));
    kubectl(&["create", "namespace", &missing]);
    let a = wait_app(&ns, "retry", 90, |a| state(a).2 == "Succeeded");
    assert!(a["status"]["operationState"]["retryCount"].as_i64().unwrap() >= 2);
    assert!(get("configmap", Some(&missing), "elsewhere").is_some());

    // A limit spent: Failed, with the count in the message.
    repo.write(
        "retry/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: elsewhere\n  namespace: never-there-x\ndata:\n  k: v\n",
    );
    repo.commit("a namespace that never comes");
    merge_patch(
        "applications.argoproj.io",
        "retry",
        &ns,
        r#"{"spec": {"syncPolicy": {"retry": {"limit": 1, "backoff": {"duration": "1s"}}}}}"#,
    );
    let a = wait_app(&ns, "retry", 90, |a| state(a).2 == "Failed");
    let message = a["status"]["operationState"]["message"].as_str().unwrap_or("");
    assert!(message.ends_with("(retried 1 times)."), "{message}");
    assert_eq!(a["status"]["operationState"]["retryCount"], 1);
}

#[test]
fn another_apps_object_is_not_taken_over_and_named_in_shared_resource_warning() {
    let ns = namespace("argo-shared");
    let repo = GitRepo::new();
    small_app(&repo, "one");
    small_app(&repo, "two");
    let _c = controller(&ns);
    create_app(&ns, "one", spec(&repo, "one", &ns, true));
    wait_app(&ns, "one", 60, |a| state(a).2 == "Succeeded");
    let cm = get("configmap", Some(&ns), "settings").unwrap();
    let uid = cm["metadata"]["uid"].clone();
    let mut s = spec(&repo, "two", &ns, true);
    s["syncPolicy"]["retry"] = json!({"limit": 0});
    create_app(&ns, "two", s);
    let a = wait_app(&ns, "two", 60, |a| state(a).2 == "Failed");
    assert!(
        has_condition(
            &a,
            "SharedResourceWarning",
            "ConfigMap/settings is part of applications two and one"
        ),
        "{:?}",
        conditions(&a)
    );
    let results = a["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap();
    let r = results
        .iter()
        .find(|r| r["kind"] == "ConfigMap" && r["name"] == "settings")
        .expect("ConfigMap result");
    assert_eq!(r["status"], "SyncFailed");
    let cm = get("configmap", Some(&ns), "settings").unwrap();
    assert_eq!(cm["metadata"]["uid"], uid);
    assert_eq!(
        cm["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        format!("one:/ConfigMap:{ns}/settings"),
        "taken over"
    );

    // `app delete --cascade=false` keeps the objects; the default cascade deletes them.
    let del = ballast(&["app", "delete", "two", "-N", &ns, "--cascade=false"]);
    assert_eq!(del.code, 0, "{} {}", del.stdout, del.stderr);
    assert!(get("applications.argoproj.io", Some(&ns), "two").is_none());
    assert!(get("configmap", Some(&ns), "settings").is_some());
    assert!(get("service", Some(&ns), "web").is_some());
    let del = ballast(&["app", "delete", "one", "-N", &ns]);
    assert_eq!(del.code, 0, "{} {}", del.stdout, del.stderr);
    assert!(get("applications.argoproj.io", Some(&ns), "one").is_none());
    assert!(
        get("configmap", Some(&ns), "settings").is_none(),
        "cascade kept the objects"
    );
}

fn web(version: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  progressDeadlineSeconds: 3\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n        v: \"{version}\"\n    spec:\n      containers:\n      - name: web\n        image: example.invalid/web:{version}\n"
    )
}

#[test]
fn degraded_app_rolled_back_to_last_healthy_revision_which_is_then_held() {
    let ns = namespace("argo-rod");
    let repo = GitRepo::new();
    repo.write("web/deploy.yaml", &web("1"));
    let good = repo.commit("good");
    let _c = controller(&ns);
    let app_json = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "web", "namespace": ns,
                     "annotations": {"ballast.dev/rollback-on-degraded": "4s"}},
        "spec": spec(&repo, "web", &ns, true)});
    apply_json(&app_json);
    wait_app(&ns, "web", 90, |a| {
        kubelet(&ns, "v=1", &[]);
        state(a) == ("Synced".into(), "Healthy".into(), "Succeeded".into())
    });
    wait_for("the healthy revision remembered", 60, || {
        let a = app(&ns, "web");
        (a["metadata"]["annotations"]["ballast.dev/last-healthy-history-id"] == "0").then_some(())
    });

    // A revision whose Pods never become ready: Degraded once the progress deadline passes.
    repo.write("web/deploy.yaml", &web("2"));
    let bad = repo.commit("bad");
    refresh(&ns, "web");
    let a = wait_app(&ns, "web", 120, |a| {
        kubelet(&ns, "v=1", &[]);
        a["metadata"]["annotations"]["ballast.dev/held-revision"] == bad.as_str()
            && a["status"]["operationState"]["syncResult"]["revision"] == good.as_str()
            && state(a).2 == "Succeeded"
    });
    assert_eq!(
        a["status"]["operationState"]["operation"]["initiatedBy"]["username"],
        "ballast-rollback-on-degraded"
    );
    let history = a["status"]["history"].as_array().unwrap();
    let revisions: Vec<&str> = history.iter().map(|h| h["revision"].as_str().unwrap()).collect();
    assert_eq!(revisions, [good.as_str(), bad.as_str(), good.as_str()]);
    let events = kubectl(&["get", "events", "-n", &ns, "-o", "json"]);
    assert!(events.contains("RolledBackOnDegraded"), "no event");
    let d = get("deployment", Some(&ns), "web").unwrap();
    assert_eq!(d["spec"]["template"]["metadata"]["labels"]["v"], "1");

    // Held: automated sync leaves the bad revision alone and says so.
    refresh(&ns, "web");
    let a = wait_app(&ns, "web", 60, |a| {
        kubelet(&ns, "v=1", &[]);
        has_condition(a, "RolledBackOnDegraded", "held out of automated sync")
    });
    assert_eq!(state(&a).0, "OutOfSync");
    let d = get("deployment", Some(&ns), "web").unwrap();
    assert_eq!(d["spec"]["template"]["metadata"]["labels"]["v"], "1");

    // A newer revision lifts the hold and is synced (the Deployment as the healthy one, so no
    // progress deadline is at stake; a ConfigMap added).
    repo.write("web/deploy.yaml", &web("1"));
    repo.write(
        "web/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  k: v\n",
    );
    let newer = repo.commit("newer");
    refresh(&ns, "web");
    let a = wait_app(&ns, "web", 120, |a| {
        kubelet(&ns, "v=1", &[]);
        a["status"]["operationState"]["syncResult"]["revision"] == newer.as_str() && state(a).2 == "Succeeded"
    });
    assert!(a["metadata"]["annotations"]["ballast.dev/held-revision"].is_null());
    assert!(get("configmap", Some(&ns), "extra").is_some());
}
