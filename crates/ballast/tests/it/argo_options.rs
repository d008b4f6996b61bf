//! Argo CD per-object sync options (`Replace=true`, `Force=true`), the implicit retries of an
//! automated sync, label tracking chosen in `argocd-cm`, an Application handed over from Argo CD
//! (objects it tracked adopted, not recreated) and seed 004 (staging auto-syncs, production
//! waits for a manual sync, both from one environment repository).

use ballast_testenv::git::GitRepo;
use serde_json::{Value, json};

use crate::argo::{app, controller, create_app, refresh, spec, state, wait_app};
use crate::support::*;

fn uid(kind: &str, ns: &str, name: &str) -> Value {
    get(kind, Some(ns), name).expect("object exists")["metadata"]["uid"].clone()
}

fn apply_json(v: &Value, extra: &[&str]) {
    apply_with(&v.to_string(), extra);
}

fn result<'a>(a: &'a Value, name: &str) -> &'a Value {
    a["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no result for {name}: {:#}", a["status"]["operationState"]))
}

fn sync(ns: &str, name: &str) {
    let run = ballast(&["app", "sync", name, "-N", ns]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
}

fn job(command: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    \
         argocd.argoproj.io/sync-options: Replace=true,Force=true\nspec:\n  template:\n    spec:\n      \
         restartPolicy: Never\n      containers:\n      - name: m\n        image: busybox\n        \
         command: [\"echo\", \"{command}\"]\n"
    )
}

fn cm(name: &str, annotations: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{annotations}data:\n  k: {value}\n")
}

#[test]
fn replace_and_force_sync_options_replace_whole_objects_and_recreate_immutable_ones() {
    let ns = namespace("argo-replace");
    let repo = GitRepo::new();
    let replace = "  annotations:\n    argocd.argoproj.io/sync-options: Replace=true\n";
    repo.write("opts/replaced.yaml", &cm("replaced", replace, "v1"));
    repo.write("opts/applied.yaml", &cm("applied", "", "v1"));
    repo.write("opts/job.yaml", &job("one"));
    repo.commit("options");
    let _c = controller(&ns);
    create_app(&ns, "opts", spec(&repo, "opts", &ns, false));
    sync(&ns, "opts");
    let a = app(&ns, "opts");
    assert_eq!(result(&a, "replaced")["message"], "created", "{:#}", a["status"]);
    assert_eq!(result(&a, "applied")["message"], "applied (server-side)");
    let job_uid = uid("job", &ns, "migrate");

    // Someone else adds a key to both ConfigMaps.
    for name in ["replaced", "applied"] {
        merge_patch("configmap", name, &ns, r#"{"data":{"extra":"x"}}"#);
    }
    repo.write("opts/replaced.yaml", &cm("replaced", replace, "v2"));
    repo.write("opts/applied.yaml", &cm("applied", "", "v2"));
    repo.write("opts/job.yaml", &job("two"));
    repo.commit("v2");
    sync(&ns, "opts");
    let a = app(&ns, "opts");
    // Replace=true: the object is what Git says, the other writer's key is gone.
    let replaced = get("configmap", Some(&ns), "replaced").unwrap();
    assert_eq!(replaced["data"], json!({"k": "v2"}), "{replaced:#}");
    assert_eq!(result(&a, "replaced")["message"], "replaced");
    // Server-side apply keeps the fields another manager owns.
    let applied = get("configmap", Some(&ns), "applied").unwrap();
    assert_eq!(applied["data"], json!({"k": "v2", "extra": "x"}), "{applied:#}");
    // Replace=true,Force=true: a Job's template is immutable; it is deleted and created again.
    let live = get("job", Some(&ns), "migrate").unwrap();
    assert_ne!(live["metadata"]["uid"], job_uid, "the Job was not recreated");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["echo", "two"])
    );
    assert_eq!(result(&a, "migrate")["message"], "replaced (recreated)");
    assert_eq!(state(&a).2, "Succeeded");

    // An immutable change the server would also refuse as a new object (a negative
    // backoffLimit): the live Job is not deleted, and the sync fails naming the field.
    let job_uid = uid("job", &ns, "migrate");
    repo.write(
        "opts/job.yaml",
        &job("three").replacen("spec:\n", "spec:\n  backoffLimit: -1\n", 1),
    );
    repo.commit("invalid");
    let run = ballast(&["app", "sync", "opts", "-N", &ns]);
    assert_ne!(run.code, 0, "{} {}", run.stdout, run.stderr);
    let a = app(&ns, "opts");
    let op = &a["status"]["operationState"];
    assert_eq!(op["phase"], "Failed", "{op:#}");
    assert!(
        op["message"].as_str().is_some_and(|m| m.contains("backoffLimit")),
        "{op:#}"
    );
    let live = get("job", Some(&ns), "migrate").expect("the Job is kept");
    assert_eq!(live["metadata"]["uid"], job_uid, "the Job was deleted");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["echo", "two"])
    );
}

#[test]
fn automated_sync_without_retry_is_retried_five_times_as_argo_cd() {
    let ns = namespace("argo-implicit");
    let repo = GitRepo::new();
    // Refused by the server (a ConfigMap's data values are strings): the dry run fails.
    repo.write(
        "broken/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  k:\n    nested: 1\n",
    );
    repo.commit("broken");
    let _c = controller(&ns);
    create_app(&ns, "broken", spec(&repo, "broken", &ns, true));
    let a = wait_app(&ns, "broken", 120, |a| {
        a["status"]["operationState"]["retryCount"].as_i64() >= Some(2)
    });
    let op = &a["status"]["operationState"];
    assert_eq!(op["phase"], "Running", "{op:#}");
    assert_eq!(op["operation"]["retry"]["limit"], 5, "{op:#}");
    assert_eq!(op["operation"]["initiatedBy"]["automated"], true);
    assert!(
        op["message"].as_str().unwrap().contains("Retrying attempt #2"),
        "{op:#}"
    );
}

#[test]
fn label_tracking_from_argocd_cm_marks_and_prunes_by_the_instance_label() {
    let ns = namespace("argo-label");
    apply_json(
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "argocd-cm", "namespace": ns},
                "data": {"application.resourceTrackingMethod": "label"}}),
        &[],
    );
    let repo = GitRepo::new();
    repo.write("labels/a.yaml", &cm("a", "", "v"));
    repo.write("labels/b.yaml", &cm("b", "", "v"));
    repo.commit("two");
    let _c = controller(&ns);
    create_app(&ns, "labelled", spec(&repo, "labels", &ns, true));
    wait_app(&ns, "labelled", 90, |a| {
        state(a).0 == "Synced" && state(a).2 == "Succeeded"
    });
    let a = get("configmap", Some(&ns), "a").unwrap();
    assert_eq!(a["metadata"]["labels"]["app.kubernetes.io/instance"], "labelled");
    assert!(
        a["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"].is_null(),
        "label tracking writes no annotation: {a:#}"
    );
    // Ownership is read from the label: b leaves Git and is pruned.
    repo.remove("labels/b.yaml");
    repo.commit("one");
    refresh(&ns, "labelled");
    wait_for("b pruned", 90, || {
        get("configmap", Some(&ns), "b").is_none().then_some(())
    });
    assert!(get("configmap", Some(&ns), "a").is_some());

    // An unknown method is refused by name, nothing synced under a guess.
    apply_json(
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "argocd-cm", "namespace": ns},
                "data": {"application.resourceTrackingMethod": "guess"}}),
        &[],
    );
    create_app(&ns, "guessed", spec(&repo, "labels", &ns, true));
    let g = wait_app(&ns, "guessed", 60, |a| {
        a["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "InvalidSpecError"))
    });
    assert!(g.to_string().contains("unknown tracking method"), "{:#}", g["status"]);
}

#[test]
fn application_handed_over_from_argo_cd_adopts_its_objects_without_recreating_them() {
    let ns = namespace("argo-handover");
    let repo = GitRepo::new();
    repo.write("app/settings.yaml", &cm("settings", "", "v"));
    repo.write(
        "app/web.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    protocol: TCP\n  selector:\n    app: web\n",
    );
    repo.commit("app");
    // What Argo CD left: its objects (server-side applied by its field manager, tracked by
    // annotation), one of them no longer in Git, and the Application with Argo CD's status.
    let tracked = |kind: &str, name: &str| format!("handover:/{kind}:{ns}/{name}");
    let meta = |kind: &str, name: &str| {
        json!({"name": name, "namespace": ns,
               "annotations": {"argocd.argoproj.io/tracking-id": tracked(kind, name)}})
    };
    for (name, value) in [("settings", "v"), ("old", "gone from Git")] {
        apply_json(
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("ConfigMap", name),
                    "data": {"k": value}}),
            &["--server-side", "--field-manager", "argocd-controller"],
        );
    }
    apply_json(
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("Service", "web"),
                "spec": {"ports": [{"port": 80, "protocol": "TCP"}], "selector": {"app": "web"}}}),
        &["--server-side", "--field-manager", "argocd-controller"],
    );
    let before: Vec<Value> = ["settings", "old"]
        .iter()
        .map(|n| uid("configmap", &ns, n))
        .chain([uid("service", &ns, "web")])
        .collect();
    let resource = |kind: &str, name: &str| json!({"version": "v1", "kind": kind, "namespace": ns, "name": name, "status": "Synced"});
    let mut s = spec(&repo, "app", &ns, true);
    s["syncPolicy"] = json!({"automated": {"prune": true}});
    let application = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "handover", "namespace": ns}, "spec": s,
        "status": {"resources": [resource("ConfigMap", "settings"), resource("ConfigMap", "old"),
                                 resource("Service", "web")],
                   "history": [{"id": 7, "revision": "0123456789abcdef0123456789abcdef01234567",
                                "deployedAt": "2026-01-01T00:00:00Z"}]}});
    let _c = controller(&ns);
    apply_json(&application, &[]);
    let a = wait_app(&ns, "handover", 90, |a| {
        state(a).0 == "Synced" && state(a).1 == "Healthy" && state(a).2 == "Succeeded"
    });
    // Adopted in place: same UIDs; Argo CD's object Git no longer has is pruned as Argo CD's
    // own prune would.
    assert_eq!(uid("configmap", &ns, "settings"), before[0]);
    assert_eq!(uid("service", &ns, "web"), before[2]);
    assert!(get("configmap", Some(&ns), "old").is_none(), "old not pruned");
    assert_eq!(result(&a, "old")["status"], "Pruned");
    // The history goes on from Argo CD's ids.
    let history = a["status"]["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["id"], 8, "{history:#?}");
    // And back: the tracking id is Argo CD's, so Argo CD would read these objects as its own;
    // a non-cascading delete leaves them in place for it.
    let settings = get("configmap", Some(&ns), "settings").unwrap();
    assert_eq!(
        settings["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        tracked("ConfigMap", "settings")
    );
    let del = ballast(&["app", "delete", "handover", "-N", &ns, "--cascade=false"]);
    assert_eq!(del.code, 0, "{} {}", del.stdout, del.stderr);
    wait_for("Application gone", 60, || {
        get("applications.argoproj.io", Some(&ns), "handover")
            .is_none()
            .then_some(())
    });
    assert_eq!(uid("configmap", &ns, "settings"), before[0]);
    assert_eq!(uid("service", &ns, "web"), before[2]);
}

fn values(tag: &str) -> String {
    format!("image:\n  repository: registry.local/app1\n  tag: \"{tag}\"\n")
}

#[test]
fn seed_004_staging_auto_syncs_while_production_waits_for_a_manual_sync() {
    let ns = namespace("argo-seed4");
    let staging = namespace("argo-seed4-staging");
    let production = namespace("argo-seed4-prod");
    // The seed's environment repository: a chart and one values file per environment.
    let repo = GitRepo::new();
    repo.write(
        "helm-charts/app1/Chart.yaml",
        "apiVersion: v2\nname: app1\nversion: 0.1.0\n",
    );
    repo.write(
        "helm-charts/app1/templates/release.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-release\ndata:\n  image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n",
    );
    repo.write("environments/staging/values.yaml", &values("main-1111111"));
    repo.write("environments/production/values.yaml", &values("v1.2.3"));
    repo.commit("environments");
    let env_app = |env: &str, dest: &str, automated: bool| {
        let mut s = json!({
            "project": "default",
            "sources": [
                {"repoURL": repo.url(), "targetRevision": "HEAD", "path": "helm-charts/app1",
                 "helm": {"releaseName": "app1", "valueFiles": [format!("$env/environments/{env}/values.yaml")]}},
                {"repoURL": repo.url(), "targetRevision": "HEAD", "ref": "env"}
            ],
            "destination": {"server": "https://kubernetes.default.svc", "namespace": dest}
        });
        if automated {
            s["syncPolicy"] = json!({"automated": {"prune": true, "selfHeal": true}});
        }
        s
    };
    let image = |dest: &str| {
        get("configmap", Some(dest), "app1-release").map(|c| c["data"]["image"].as_str().unwrap_or("").to_string())
    };
    let _c = controller(&ns);
    create_app(&ns, "app1-staging", env_app("staging", &staging, true));
    create_app(&ns, "app1-production", env_app("production", &production, false));
    wait_for("staging deployed", 90, || {
        (image(&staging).as_deref() == Some("registry.local/app1:main-1111111")).then_some(())
    });
    wait_app(&ns, "app1-production", 60, |a| state(a).0 == "OutOfSync");
    assert_eq!(image(&production), None, "production synced without approval");
    sync(&ns, "app1-production");
    assert_eq!(image(&production).as_deref(), Some("registry.local/app1:v1.2.3"));

    // CI updates both environments' values in one commit.
    repo.write("environments/staging/values.yaml", &values("main-2222222"));
    repo.write("environments/production/values.yaml", &values("v1.3.0"));
    repo.commit("release v1.3.0");
    for name in ["app1-staging", "app1-production"] {
        refresh(&ns, name);
    }
    wait_for("staging updated", 90, || {
        (image(&staging).as_deref() == Some("registry.local/app1:main-2222222")).then_some(())
    });
    let p = wait_app(&ns, "app1-production", 60, |a| state(a).0 == "OutOfSync");
    assert_eq!(
        image(&production).as_deref(),
        Some("registry.local/app1:v1.2.3"),
        "production moved without a manual sync: {:#}",
        p["status"]
    );
    sync(&ns, "app1-production");
    assert_eq!(image(&production).as_deref(), Some("registry.local/app1:v1.3.0"));
    let p = wait_app(&ns, "app1-production", 60, |a| state(a).0 == "Synced");
    let history = p["status"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "two manual syncs: {history:#?}");
    assert!(
        history.iter().all(|h| h["initiatedBy"]["automated"] != true),
        "{history:#?}"
    );
    let s = app(&ns, "app1-staging");
    assert!(
        s["status"]["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["initiatedBy"]["automated"] == true),
        "{:#}",
        s["status"]["history"]
    );
}
