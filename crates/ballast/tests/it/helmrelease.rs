//! The HelmRelease controller against the test control plane: charts from a GitRepository and
//! an HTTP HelmRepository, upgrades on values and chart versions, remediation and retries,
//! drift, valuesFrom Secrets, dependsOn, adoption of a `helm install` release, the helm CLI
//! reading Ballast's history, a SIGKILLed controller, and bad repository credentials.

use std::path::Path;

use ballast_testenv::charts::{ChartServer, Helm, write_chart};
use ballast_testenv::git::GitRepo;
use serde_json::Value;

use crate::support::*;

/// `kubectl apply` of a YAML text (the CRDs installed first).
fn apply(yaml: &str) {
    install();
    crate::support::apply(yaml);
}

/// The reference helm CLI against the test cluster.
fn helm(home: &Path, args: &[&str]) -> Run {
    let kubeconfig = env().kubeconfig.display().to_string();
    let mut all = vec!["--kubeconfig", kubeconfig.as_str()];
    all.extend_from_slice(args);
    let out = Helm::new(home).command(&all).output().expect("run helm");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `helm history NAME -n NS -o json`.
fn helm_history(ns: &str, name: &str) -> Vec<Value> {
    let home = tempfile::tempdir().unwrap();
    let run = helm(home.path(), &["history", name, "-n", ns, "-o", "json"]).ok();
    serde_json::from_str::<Value>(&run.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until the HelmRelease satisfies `f`; on timeout, fails with its status and the
/// controller's log.
fn wait_hr(controller: &ControllerProcess, ns: &str, name: &str, what: &str, secs: u64, f: impl Fn(&Value) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let hr = get("helmrelease", Some(ns), name).unwrap_or_default();
        if f(&hr) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}: {}\ncontroller log:\n{}",
            serde_json::to_string_pretty(&hr["status"]).unwrap(),
            controller.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn ready_true(kind: &str, ns: &str, name: &str) -> Option<()> {
    ready(kind, ns, name).filter(|(s, _)| s == "True").map(|_| ())
}

/// The ConfigMap chart template of these tests: named after the release (or `cmName`), holding
/// the chart version and `message`.
const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.cmName | default .Release.Name }}\ndata:\n  version: {{ .Chart.Version | quote }}\n  message: {{ .Values.message | default \"none\" | quote }}\n";

/// A Git repository holding chart `demo` at `charts/demo`, and its GitRepository (1s interval).
fn git_chart(ns: &str, templates: &[(&str, &str)]) -> GitRepo {
    let repo = GitRepo::new();
    write_chart(
        &repo.path().join("charts"),
        "demo",
        "0.1.0",
        "message: default\n",
        templates,
    );
    repo.commit("chart");
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: charts\n  namespace: {ns}\nspec:\n  url: {}\n  interval: 1s\n  ref:\n    branch: main\n",
        repo.url()
    ));
    repo
}

/// A HelmRelease of the Git chart with `extra` spec lines (indented by two spaces).
fn git_release(ns: &str, name: &str, extra: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  interval: 1m\n  chart:\n    spec:\n      chart: ./charts/demo\n      interval: 1s\n      sourceRef:\n        kind: GitRepository\n        name: charts\n{extra}"
    )
}

/// The HelmChart and HelmRelease controllers share one HelmChart watch; a graceful shutdown
/// (SIGTERM) still ends the process once a release is installed.
#[test]
fn the_controller_stops_on_sigterm_with_helm_releases() {
    let ns = namespace("hr-stop");
    let _repo = git_chart(&ns, &[("cm.yaml", CM)]);
    let mut controller = ControllerProcess::start(&ns, &[]);
    apply(&git_release(&ns, "demo", ""));
    wait_for("HelmRelease Ready", 120, || ready_true("helmrelease", &ns, "demo"));
    let status = controller.terminate(60);
    assert!(
        status.is_some(),
        "the controller still runs 60 s after SIGTERM:\n{}",
        controller.log()
    );
}

#[test]
fn git_chart_installs_upgrades_on_values_and_uninstalls_on_delete() {
    let ns = namespace("hr-git");
    let _repo = git_chart(&ns, &[("cm.yaml", CM)]);
    let _controller = ControllerProcess::start(&ns, &[]);
    apply(&git_release(&ns, "demo", "  values:\n    message: one\n"));

    let cm = wait_for("the release's ConfigMap", 90, || {
        get("configmap", Some(&ns), "demo").filter(|c| c["data"]["message"] == "one")
    });
    assert_eq!(cm["data"]["version"], "0.1.0");
    assert_eq!(cm["metadata"]["annotations"]["meta.helm.sh/release-name"], "demo");
    wait_for("HelmRelease Ready", 30, || ready_true("helmrelease", &ns, "demo"));
    let hr = get("helmrelease", Some(&ns), "demo").unwrap();
    let st = &hr["status"];
    assert_eq!(st["lastAttemptedRevision"], "0.1.0");
    assert_eq!(st["lastAttemptedReleaseAction"], "install");
    assert!(st["lastAttemptedConfigDigest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(st["lastAttemptedValuesChecksum"].as_str().unwrap().len(), 40);
    assert_eq!(st["helmChart"], format!("{ns}/{ns}-demo"));
    assert_eq!(st["history"][0]["version"], 1);
    assert_eq!(st["history"][0]["status"], "deployed");
    assert_eq!(st["history"][0]["chartName"], "demo");
    assert_eq!(
        live_condition("helmrelease", &ns, "demo", "Released").unwrap().1,
        "InstallSucceeded"
    );
    let chart = get("helmchart", Some(&ns), &format!("{ns}-demo")).expect("the HelmChart made for it");
    assert_eq!(chart["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"], "demo");
    assert!(
        chart["status"]["artifact"]["path"]
            .as_str()
            .unwrap()
            .starts_with(&format!("helmchart/{ns}/{ns}-demo/demo-0.1.0"))
    );

    // The helm CLI reads Ballast's release.
    let history = helm_history(&ns, "demo");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["status"], "deployed");
    assert_eq!(history[0]["chart"], "demo-0.1.0");

    // A values change upgrades in place.
    let uid = cm["metadata"]["uid"].clone();
    merge_patch("helmrelease", "demo", &ns, r#"{"spec":{"values":{"message":"two"}}}"#);
    let cm = wait_for("the upgrade", 60, || {
        get("configmap", Some(&ns), "demo").filter(|c| c["data"]["message"] == "two")
    });
    assert_eq!(cm["metadata"]["uid"], uid, "upgraded in place");
    wait_hr(&_controller, &ns, "demo", "revision 2 in status", 30, |h| {
        h["status"]["history"][0]["version"] == 2 && h["status"]["lastAttemptedReleaseAction"] == "upgrade"
    });
    let history = helm_history(&ns, "demo");
    let statuses: Vec<&str> = history.iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["superseded", "deployed"]);

    // Deleting the HelmRelease uninstalls the release and deletes its HelmChart.
    kubectl(&["delete", "helmrelease", "demo", "-n", &ns, "--timeout=60s"]);
    assert!(get("configmap", Some(&ns), "demo").is_none());
    let secrets = kubectl(&["get", "secrets", "-n", &ns, "-l", "owner=helm,name=demo", "-o", "name"]);
    assert!(secrets.trim().is_empty(), "release records left: {secrets}");
    wait_for("the HelmChart deleted", 30, || {
        get("helmchart", Some(&ns), &format!("{ns}-demo"))
            .is_none()
            .then_some(())
    });
}

#[test]
fn repository_range_upgrades_to_a_new_chart_version() {
    let ns = namespace("hr-repo");
    let root = tempfile::tempdir().unwrap();
    let helm_home = tempfile::tempdir().unwrap();
    let h = Helm::new(helm_home.path());
    let src = tempfile::tempdir().unwrap();
    let repo_dir = root.path().join("repo");
    let chart = write_chart(src.path(), "demo", "1.0.0", "message: from-repo\n", &[]);
    h.package(&chart, &repo_dir);
    h.index(&repo_dir, None);
    let server = ChartServer::start(&repo_dir, None);
    let _controller = ControllerProcess::start(&ns, &[]);
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: {ns}\nspec:\n  url: {}\n  interval: 1m\n---\n\
         apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  interval: 1m\n  chart:\n    spec:\n      chart: demo\n      version: \">=1.0.0 <2.0.0\"\n      interval: 1s\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n",
        server.url
    ));
    wait_for("1.0.0 installed", 90, || {
        get("configmap", Some(&ns), "web").filter(|c| c["data"]["version"] == "1.0.0")
    });
    wait_for("Ready", 30, || ready_true("helmrelease", &ns, "web"));

    // 1.1.0 (in range) and 2.0.0 (out of range) are published: 1.1.0 is released.
    for v in ["1.1.0", "2.0.0"] {
        let chart = write_chart(src.path(), "demo", v, "message: from-repo\n", &[]);
        h.package(&chart, &repo_dir);
    }
    h.index(&repo_dir, None);
    wait_for("1.1.0 released", 60, || {
        get("configmap", Some(&ns), "web").filter(|c| c["data"]["version"] == "1.1.0")
    });
    wait_hr(&_controller, &ns, "web", "status records 1.1.0", 60, |h| {
        h["status"]["lastAttemptedRevision"] == "1.1.0" && h["status"]["history"][0]["chartVersion"] == "1.1.0"
    });
    let history = helm_history(&ns, "web");
    assert_eq!(history.last().unwrap()["chart"], "demo-1.1.0");
}

#[test]
fn failed_upgrades_are_rolled_back_then_stall_with_a_clear_reason() {
    let ns = namespace("hr-remediate");
    let _repo = git_chart(&ns, &[("cm.yaml", CM)]);
    let _controller = ControllerProcess::start(&ns, &[]);
    let spec = "  upgrade:\n    remediation:\n      retries: 1\n  values:\n    message: good\n";
    apply(&git_release(&ns, "rb", spec));
    wait_for("installed", 90, || {
        get("configmap", Some(&ns), "rb").filter(|c| c["data"]["message"] == "good")
    });
    wait_for("Ready", 30, || ready_true("helmrelease", &ns, "rb"));

    // An object name the API server refuses: every upgrade fails once applied.
    merge_patch(
        "helmrelease",
        "rb",
        &ns,
        r#"{"spec":{"values":{"message":"bad","cmName":"Not_A_Valid_Name"}}}"#,
    );
    let (_, reason, message) = wait_for("Stalled after the retries", 120, || {
        live_condition("helmrelease", &ns, "rb", "Stalled").filter(|(s, _, _)| s == "True")
    });
    assert_eq!(reason, "RetriesExceeded");
    assert!(message.contains("Failed to upgrade after 2 attempt(s)"), "{message}");
    assert!(message.contains("Not_A_Valid_Name"), "the cause is named: {message}");
    assert!(
        message.contains("reconcile.fluxcd.io/resetAt"),
        "a way forward: {message}"
    );
    let (s, reason, _) = live_condition("helmrelease", &ns, "rb", "Remediated").unwrap();
    assert_eq!((s.as_str(), reason.as_str()), ("True", "RollbackSucceeded"));
    let (s, _) = ready("helmrelease", &ns, "rb").unwrap();
    assert_eq!(s, "False");
    let hr = get("helmrelease", Some(&ns), "rb").unwrap();
    assert_eq!(hr["status"]["upgradeFailures"], 2);
    // Rolled back: the good values are live again, in a deployed revision.
    assert_eq!(get("configmap", Some(&ns), "rb").unwrap()["data"]["message"], "good");
    let history = helm_history(&ns, "rb");
    let statuses: Vec<&str> = history.iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.last(), Some(&"deployed"), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == "failed").count(), 2, "{statuses:?}");
    let latest = |h: &[Value]| h.iter().filter_map(|r| r["revision"].as_i64()).max().unwrap_or(0);
    let revision = latest(&history);

    // resetAt: the counts are cleared and the upgrade is tried again.
    kubectl(&[
        "annotate",
        "helmrelease",
        "rb",
        "-n",
        &ns,
        "reconcile.fluxcd.io/resetAt=first",
    ]);
    wait_for("the reset handled and a new attempt made", 60, || {
        get("helmrelease", Some(&ns), "rb").filter(|h| h["status"]["lastHandledResetAt"] == "first")?;
        (latest(&helm_history(&ns, "rb")) > revision).then_some(())
    });
    // Stalled again; forceAt: one more upgrade is attempted.
    wait_for("Stalled again", 60, || {
        live_condition("helmrelease", &ns, "rb", "Stalled").filter(|(s, _, _)| s == "True")
    });
    let revision = latest(&helm_history(&ns, "rb"));
    kubectl(&[
        "annotate",
        "helmrelease",
        "rb",
        "-n",
        &ns,
        "reconcile.fluxcd.io/forceAt=once",
    ]);
    wait_for("the forced upgrade attempted", 60, || {
        get("helmrelease", Some(&ns), "rb").filter(|h| h["status"]["lastHandledForceAt"] == "once")?;
        (latest(&helm_history(&ns, "rb")) > revision).then_some(())
    });

    // A spec change is a new attempt: fixed values are released.
    merge_patch(
        "helmrelease",
        "rb",
        &ns,
        r#"{"spec":{"values":{"message":"fixed","cmName":null}}}"#,
    );
    wait_for("fixed values released", 90, || {
        get("configmap", Some(&ns), "rb").filter(|c| c["data"]["message"] == "fixed")
    });
    wait_for("Ready again", 30, || ready_true("helmrelease", &ns, "rb"));
    assert!(live_condition("helmrelease", &ns, "rb", "Stalled").is_none());
}

#[test]
fn drift_of_a_chart_deployment_is_healed() {
    let ns = namespace("hr-drift");
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: {{ .Release.Name }}\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}\n    spec:\n      containers:\n      - name: app\n        image: registry.invalid/app:1.0.0\n";
    let _repo = git_chart(&ns, &[("deploy.yaml", deploy)]);
    let _controller = ControllerProcess::start(&ns, &[]);
    // No kubelet runs the pods: the release does not wait for them.
    apply(&git_release(
        &ns,
        "web",
        "  install:\n    disableWait: true\n  upgrade:\n    disableWait: true\n",
    ));
    wait_for("Ready", 90, || ready_true("helmrelease", &ns, "web"));
    assert_eq!(get("deployment", Some(&ns), "web").unwrap()["spec"]["replicas"], 2);

    kubectl(&["scale", "deployment", "web", "-n", &ns, "--replicas=5"]);
    wait_for("replicas restored", 30, || {
        get("deployment", Some(&ns), "web").filter(|d| d["spec"]["replicas"] == 2)
    });
    wait_for("a drift event naming the field", 30, || {
        events(&ns).into_iter().find(|(r, m)| {
            r == "DriftCorrected" && m.contains(&format!("Deployment/{ns}/web")) && m.contains("spec.replicas")
        })
    });
    // Healing is no new release revision.
    assert_eq!(helm_history(&ns, "web").len(), 1);
}

/// Release revision `n` is the newest in status, Ready=True for the current generation.
fn revision_ready(h: &Value, n: u64) -> bool {
    h["status"]["history"][0]["version"] == n
        && h["status"]["observedGeneration"] == h["metadata"]["generation"]
        && h["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

#[test]
fn an_upgrade_is_one_reconcile_and_a_live_edit_is_still_healed() {
    let ns = namespace("hr-once");
    // The pod template carries the values: an upgrade changes it, and the Deployment
    // controller then writes its revision annotation (a write that is not drift).
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: {{ .Release.Name }}\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}\n      annotations:\n        message: {{ .Values.message | default \"none\" | quote }}\n    spec:\n      containers:\n      - name: app\n        image: registry.invalid/app:1.0.0\n";
    let _repo = git_chart(&ns, &[("deploy.yaml", deploy), ("cm.yaml", CM)]);
    let controller = ControllerProcess::start(&ns, &[]);
    // The source first, so the install does not start with artifact retries (a retry scheduled
    // by an early failure would fire later, inside the counted window).
    wait_for("GitRepository Ready", 90, || ready_true("gitrepository", &ns, "charts"));
    // A 10m interval: no periodic reconcile during the test.
    let release = git_release(
        &ns,
        "web",
        "  install:\n    disableWait: true\n  upgrade:\n    disableWait: true\n  values:\n    message: one\n",
    )
    .replacen("interval: 1m", "interval: 10m", 1);
    apply(&release);
    let revision = |n: &str| {
        get("deployment", Some(&ns), "web")
            .filter(|d| d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == n)
            .map(|_| ())
    };
    wait_for("Ready", 90, || ready_true("helmrelease", &ns, "web"));
    wait_for("the Deployment controller's revision 1", 60, || revision("1"));
    let probe = controller.probe_url();
    // Quiet: any retry the install scheduled (a chart still being built) is done once the count
    // has not moved for 10 s.
    let before = settled_reconciles(&probe, "HelmRelease", &ns, "web");

    merge_patch("helmrelease", "web", &ns, r#"{"spec":{"values":{"message":"two"}}}"#);
    wait_hr(&controller, &ns, "web", "revision 2 Ready", 60, |h| {
        revision_ready(h, 2)
    });
    wait_for("the Deployment controller's revision 2", 60, || revision("2"));

    // A live edit is still drift: healed by one reconcile.
    kubectl(&["scale", "deployment", "web", "-n", &ns, "--replicas=5"]);
    wait_for("replicas restored", 30, || {
        get("deployment", Some(&ns), "web").filter(|d| d["spec"]["replicas"] == 2)
    });
    wait_for("a drift event naming the field", 30, || {
        events(&ns)
            .into_iter()
            .find(|(r, m)| r == "DriftCorrected" && m.contains("spec.replicas"))
    });
    // Quiet again, then count: the upgrade and the correction, one reconcile each (the
    // upgrade's own writes and the revision annotation ask for none).
    let after = settled_reconciles(&probe, "HelmRelease", &ns, "web");
    assert_eq!(
        after - before,
        2,
        "reconciles for one upgrade and one correction\ncontroller log:\n{}",
        controller.log()
    );
    assert_eq!(helm_history(&ns, "web").len(), 2);
}

/// GET requests the controller has sent so far (`ballast_api_requests_total{verb="get"}`).
fn gets_sent(probe: &str) -> u64 {
    let (code, body) = http_get(probe, "/metrics");
    assert_eq!(code, 200, "{body}");
    body.lines()
        .filter(|l| l.starts_with("ballast_api_requests_total{") && l.contains("verb=\"get\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

#[test]
fn an_upgrade_reads_only_its_release_records_and_objects() {
    let ns = namespace("hr-reads");
    let repo = git_chart(&ns, &[("cm.yaml", CM)]);
    let controller = ControllerProcess::start(&ns, &[]);
    wait_for("GitRepository Ready", 90, || ready_true("gitrepository", &ns, "charts"));
    // No polling inside the counted window: the source, the chart and the release every 10m.
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: charts\n  namespace: {ns}\nspec:\n  url: {}\n  interval: 10m\n  ref:\n    branch: main\n",
        repo.url()
    ));
    let release = git_release(
        &ns,
        "app",
        "  install:\n    disableWait: true\n  upgrade:\n    disableWait: true\n  values:\n    message: one\n",
    )
    .replacen("interval: 1m", "interval: 10m", 1)
    .replacen("interval: 1s", "interval: 10m", 1);
    apply(&release);
    wait_for("Ready", 90, || ready_true("helmrelease", &ns, "app"));
    let probe = controller.probe_url();
    let before_reconciles = settled_reconciles(&probe, "HelmRelease", &ns, "app");
    let before = gets_sent(&probe);

    merge_patch("helmrelease", "app", &ns, r#"{"spec":{"values":{"message":"two"}}}"#);
    wait_hr(&controller, &ns, "app", "revision 2 Ready", 60, |h| {
        revision_ready(h, 2)
    });
    let after_reconciles = settled_reconciles(&probe, "HelmRelease", &ns, "app");
    let gets = gets_sent(&probe) - before;
    assert_eq!(after_reconciles - before_reconciles, 1, "{}", controller.log());
    // The upgrade reads the deployed revision's record, probes the next one (a revision the
    // helm CLI may have written) and reads its one object before applying it; the HelmRelease
    // and its HelmChart come from the watches' caches.
    assert!(
        gets <= 3,
        "{gets} GET requests for one upgrade of a one-object chart\ncontroller log:\n{}",
        controller.log()
    );
    assert_eq!(
        get("configmap", Some(&ns), "app").map(|c| c["data"]["message"].clone()),
        Some(Value::from("two"))
    );
}

#[test]
fn values_from_a_secret_are_used_and_never_printed() {
    let ns = namespace("hr-secret");
    let _repo = git_chart(&ns, &[("cm.yaml", CM)]);
    let secret_value = "s3cr3t-v4lue-never-printed";
    apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-values\n  namespace: {ns}\nstringData:\n  values.yaml: |\n    message: {secret_value}\n  other: plain\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base-values\n  namespace: {ns}\ndata:\n  values.yaml: |\n    message: from-configmap\n    cmName: sv\n"
    ));
    let controller = ControllerProcess::start(&ns, &[]);
    apply(&git_release(
        &ns,
        "sv",
        "  valuesFrom:\n  - kind: ConfigMap\n    name: base-values\n  - kind: Secret\n    name: app-values\n  - kind: Secret\n    name: absent\n    optional: true\n",
    ));
    wait_for("the Secret's value released", 90, || {
        get("configmap", Some(&ns), "sv").filter(|c| c["data"]["message"] == secret_value)
    });
    wait_for("Ready", 30, || ready_true("helmrelease", &ns, "sv"));

    // A missing key fails naming the Secret and the key.
    apply(&git_release(
        &ns,
        "missing",
        "  valuesFrom:\n  - kind: Secret\n    name: app-values\n    valuesKey: nope\n",
    ));
    let (_, message) = wait_for("the missing key reported", 60, || {
        ready("helmrelease", &ns, "missing").filter(|(s, m)| s == "False" && m.contains("nope"))
    });
    assert!(message.contains(&format!("Secret '{ns}/app-values'")), "{message}");

    let status = serde_json::to_string(&get("helmrelease", Some(&ns), "sv").unwrap()["status"]).unwrap();
    assert!(!status.contains(secret_value), "status holds the secret value");
    let missing = serde_json::to_string(&get("helmrelease", Some(&ns), "missing").unwrap()).unwrap();
    assert!(!missing.contains(secret_value));
    for (reason, note) in events(&ns) {
        assert!(
            !note.contains(secret_value),
            "event {reason} holds the secret value: {note}"
        );
    }
    assert!(
        !controller.log().contains(secret_value),
        "the log holds the secret value"
    );
}

#[test]
fn depends_on_orders_releases() {
    let ns = namespace("hr-deps");
    let _repo = git_chart(&ns, &[("cm.yaml", CM)]);
    let _controller = ControllerProcess::start(&ns, &[]);
    apply(&git_release(&ns, "second", "  dependsOn:\n  - name: first\n"));
    let (_, message) = wait_for("waiting for its dependency", 60, || {
        ready("helmrelease", &ns, "second").filter(|(s, _)| s == "False")
    });
    assert!(
        message.contains(&format!("dependency 'HelmRelease/{ns}/first'")),
        "{message}"
    );
    assert!(
        get("configmap", Some(&ns), "second").is_none(),
        "released before its dependency"
    );

    apply(&git_release(&ns, "first", ""));
    wait_for("both Ready", 120, || {
        ready_true("helmrelease", &ns, "first")?;
        ready_true("helmrelease", &ns, "second")
    });
    let deployed = |name: &str| {
        let h = get("helmrelease", Some(&ns), name).unwrap();
        h["status"]["history"][0]["firstDeployed"].as_str().unwrap().to_string()
    };
    assert!(deployed("first") <= deployed("second"));
}

#[test]
fn a_helm_install_release_is_adopted_and_upgraded_in_place() {
    let ns = namespace("hr-adopt");
    let repo = git_chart(&ns, &[("cm.yaml", CM)]);
    let home = tempfile::tempdir().unwrap();
    let chart = repo.path().join("charts/demo");
    helm(
        home.path(),
        &[
            "install",
            "adopted",
            chart.to_str().unwrap(),
            "-n",
            &ns,
            "--set",
            "message=by-helm",
        ],
    )
    .ok();
    let before = get("configmap", Some(&ns), "adopted").unwrap();
    assert_eq!(before["data"]["message"], "by-helm");

    let _controller = ControllerProcess::start(&ns, &[]);
    apply(&git_release(&ns, "adopted", "  values:\n    message: by-ballast\n"));
    let after = wait_for("upgraded by the controller", 90, || {
        get("configmap", Some(&ns), "adopted").filter(|c| c["data"]["message"] == "by-ballast")
    });
    assert_eq!(
        after["metadata"]["uid"], before["metadata"]["uid"],
        "no object recreated"
    );
    wait_for("Ready", 30, || ready_true("helmrelease", &ns, "adopted"));
    let history = helm_history(&ns, "adopted");
    let statuses: Vec<&str> = history.iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["superseded", "deployed"]);
    let values = helm(home.path(), &["get", "values", "adopted", "-n", &ns, "-o", "json"]).ok();
    let values: Value = serde_json::from_str(&values.stdout).unwrap();
    assert_eq!(values["message"], "by-ballast");
}

#[test]
fn a_controller_killed_mid_upgrade_recovers_on_restart() {
    let ns = namespace("hr-sigkill");
    // With `slow`, a pre-upgrade hook Job that never completes (no kubelet) holds the upgrade.
    let hook = "{{ if .Values.slow }}apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-slow\n  annotations:\n    helm.sh/hook: pre-upgrade\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: wait\n        image: registry.invalid/wait:1\n{{ end }}\n";
    let _repo = git_chart(&ns, &[("cm.yaml", CM), ("hook.yaml", hook)]);
    let mut controller = ControllerProcess::start(&ns, &[]);
    apply(&git_release(
        &ns,
        "held",
        "  timeout: 10m\n  values:\n    message: v1\n",
    ));
    wait_for("installed", 90, || ready_true("helmrelease", &ns, "held"));

    merge_patch(
        "helmrelease",
        "held",
        &ns,
        r#"{"spec":{"values":{"slow":true,"message":"v2"}}}"#,
    );
    wait_for("an upgrade in progress", 60, || {
        let out = kubectl(&[
            "get",
            "secrets",
            "-n",
            &ns,
            "-l",
            "owner=helm,name=held,status=pending-upgrade",
            "-o",
            "name",
        ]);
        (!out.trim().is_empty()).then_some(())
    });
    controller.kill();

    merge_patch(
        "helmrelease",
        "held",
        &ns,
        r#"{"spec":{"values":{"slow":false,"message":"v3"}}}"#,
    );
    let restarted = ControllerProcess::start(&ns, &[]);
    wait_for("v3 released after the restart", 90, || {
        get("configmap", Some(&ns), "held").filter(|c| c["data"]["message"] == "v3")
    });
    wait_for("Ready", 30, || ready_true("helmrelease", &ns, "held"));
    let history = helm_history(&ns, "held");
    let statuses: Vec<&str> = history.iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["superseded", "failed", "deployed"], "{statuses:?}");
    assert!(
        history[1]["description"].as_str().unwrap().contains("interrupted"),
        "{}",
        history[1]["description"]
    );
    let hr = serde_json::to_string(&get("helmrelease", Some(&ns), "held").unwrap()).unwrap();
    assert!(!hr.contains("another operation"), "{hr}");
    assert!(!restarted.log().contains("another operation"), "{}", restarted.log());
    for (_, note) in events(&ns) {
        assert!(!note.contains("another operation"), "{note}");
    }
}

#[test]
fn bad_repository_credentials_fail_clearly_without_the_password() {
    let ns = namespace("hr-auth");
    let root = tempfile::tempdir().unwrap();
    let helm_home = tempfile::tempdir().unwrap();
    let h = Helm::new(helm_home.path());
    let src = tempfile::tempdir().unwrap();
    let chart = write_chart(src.path(), "demo", "1.0.0", "message: x\n", &[]);
    h.package(&chart, root.path());
    h.index(root.path(), None);
    let server = ChartServer::start(root.path(), Some(("reader", "right-pa55word-42")));
    let wrong = "wr0ng-pa55word-17";
    let controller = ControllerProcess::start(&ns, &[]);
    apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: {ns}\nstringData:\n  username: reader\n  password: {wrong}\n---\n\
         apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: private\n  namespace: {ns}\nspec:\n  url: {}\n  interval: 1m\n  secretRef:\n    name: creds\n---\n\
         apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  interval: 1m\n  chart:\n    spec:\n      chart: demo\n      sourceRef:\n        kind: HelmRepository\n        name: private\n",
        server.url
    ));
    let (_, reason, message) = wait_for("the HelmChart's fetch failure", 60, || {
        live_condition("helmchart", &ns, &format!("{ns}-app"), "FetchFailed").filter(|(s, _, _)| s == "True")
    });
    assert_eq!(reason, "AuthenticationFailed");
    assert!(message.contains("authentication failed"), "{message}");
    let (_, hr_message) = wait_for("the HelmRelease names the cause", 60, || {
        ready("helmrelease", &ns, "app").filter(|(s, m)| s == "False" && m.contains("authentication failed"))
    });
    assert!(
        hr_message.contains(&format!("HelmChart '{ns}/{ns}-app' is not ready")),
        "{hr_message}"
    );
    assert!(
        server.seen_auth.lock().unwrap().iter().any(Option::is_some),
        "credentials were sent"
    );
    for text in [
        serde_json::to_string(&get("helmchart", Some(&ns), &format!("{ns}-app")).unwrap()).unwrap(),
        serde_json::to_string(&get("helmrelease", Some(&ns), "app").unwrap()).unwrap(),
        controller.log(),
        format!("{:?}", events(&ns)),
    ] {
        assert!(
            !text.contains(wrong) && !text.contains("right-pa55word-42"),
            "a password was printed: {text}"
        );
    }
}

#[test]
fn oci_repository_charts_install_and_bad_credentials_fail_clearly() {
    let ns = namespace("hr-oci");
    let password = "oci-pa55word-93";
    let registry = ballast_testenv::charts::Registry::start("ci", password);
    let home = tempfile::tempdir().unwrap();
    let h = Helm::new(home.path());
    let src = tempfile::tempdir().unwrap();
    let chart = write_chart(src.path(), "demo", "1.2.0", "message: from-oci\n", &[]);
    let tgz = h.package(&chart, &home.path().join("out"));
    let repo_url = format!("oci://{}/charts", registry.host());
    h.run(&[
        "push",
        tgz.to_str().unwrap(),
        &repo_url,
        "--plain-http",
        "--username",
        "ci",
        "--password",
        password,
    ]);
    let wrong = "oci-wr0ng-pa55word-61";
    let controller = ControllerProcess::start(&ns, &[]);
    let release = |name: &str, secret: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {secret}\n  namespace: {ns}\nstringData:\n  username: ci\n  password: {}\n---\n\
             apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  type: oci\n  url: {repo_url}\n  insecure: true\n  interval: 1m\n  secretRef:\n    name: {secret}\n---\n\
             apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  interval: 1m\n  chart:\n    spec:\n      chart: demo\n      version: \"1.x\"\n      sourceRef:\n        kind: HelmRepository\n        name: {name}\n",
            if secret == "good" { password } else { wrong }
        )
    };
    apply(&release("oci-app", "good"));
    apply(&release("oci-denied", "bad"));
    let cm = wait_for("the OCI chart released", 90, || {
        get("configmap", Some(&ns), "oci-app").filter(|c| c["data"]["version"] == "1.2.0")
    });
    assert_eq!(cm["data"]["message"], "from-oci");
    wait_for("Ready", 30, || ready_true("helmrelease", &ns, "oci-app"));
    let (_, reason, message) = wait_for("the denied fetch reported", 60, || {
        live_condition("helmchart", &ns, &format!("{ns}-oci-denied"), "FetchFailed").filter(|(s, _, _)| s == "True")
    });
    assert_eq!(reason, "AuthenticationFailed");
    assert!(message.contains("authentication failed"), "{message}");
    wait_for("the HelmRelease names the cause", 60, || {
        ready("helmrelease", &ns, "oci-denied").filter(|(s, m)| s == "False" && m.contains("authentication failed"))
    });
    for text in [
        serde_json::to_string(&get("helmchart", Some(&ns), &format!("{ns}-oci-denied")).unwrap()).unwrap(),
        serde_json::to_string(&get("helmrelease", Some(&ns), "oci-denied").unwrap()).unwrap(),
        controller.log(),
        format!("{:?}", events(&ns)),
    ] {
        assert!(
            !text.contains(wrong) && !text.contains(password),
            "a password was printed: {text}"
        );
    }
}

#[test]
fn v2beta1_and_v2beta2_helm_releases_are_served_and_released() {
    let ns = namespace("hr-beta");
    let _repo = git_chart(&ns, &[("cm.yaml", CM)]);
    let _controller = ControllerProcess::start(&ns, &[]);
    for (version, name) in [("v2beta1", "beta-one"), ("v2beta2", "beta-two")] {
        apply(&format!(
            "apiVersion: helm.toolkit.fluxcd.io/{version}\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  interval: 1m\n  chart:\n    spec:\n      chart: ./charts/demo\n      sourceRef:\n        kind: GitRepository\n        name: charts\n  install:\n    remediation:\n      retries: 2\n  values:\n    message: {version}\n"
        ));
    }
    for (version, name) in [("v2beta1", "beta-one"), ("v2beta2", "beta-two")] {
        wait_for("released", 90, || {
            get("configmap", Some(&ns), name).filter(|c| c["data"]["message"] == version)
        });
        wait_for("Ready", 30, || ready_true("helmrelease", &ns, name));
    }
    // A field v2beta2 never had is refused by the API server for that version.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2beta2\nkind: HelmRelease\nmetadata:\n  name: beta-three\n  namespace: {ns}\nspec:\n  interval: 1m\n  chartRef:\n    kind: HelmChart\n    name: x\n  commonMetadata:\n    labels:\n      a: b\n"
        ),
    )
    .unwrap();
    let out = kubectl_raw(&["apply", "--validate=strict", "-f", &file.path().display().to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("commonMetadata"), "{err}");
}

#[test]
fn tests_run_when_enabled_and_a_suspended_release_is_left_on_delete() {
    let ns = namespace("hr-test");
    let test_hook = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-test\n  annotations:\n    helm.sh/hook: test\ndata:\n  checked: \"yes\"\n";
    let _repo = git_chart(&ns, &[("cm.yaml", CM), ("test.yaml", test_hook)]);
    let _controller = ControllerProcess::start(&ns, &[]);
    apply(&git_release(&ns, "tested", "  test:\n    enable: true\n"));
    wait_for("Ready", 90, || ready_true("helmrelease", &ns, "tested"));
    let (s, reason, message) = live_condition("helmrelease", &ns, "tested", "TestSuccess").expect("TestSuccess");
    assert_eq!((s.as_str(), reason.as_str()), ("True", "TestSucceeded"), "{message}");
    assert!(
        get("configmap", Some(&ns), "tested-test").is_some(),
        "the test hook ran"
    );

    // Suspended, then deleted: the release stays.
    merge_patch("helmrelease", "tested", &ns, r#"{"spec":{"suspend":true}}"#);
    kubectl(&["delete", "helmrelease", "tested", "-n", &ns, "--timeout=60s"]);
    assert!(
        get("configmap", Some(&ns), "tested").is_some(),
        "a suspended release is left installed"
    );
    assert_eq!(helm_history(&ns, "tested").last().unwrap()["status"], "deployed");
}

#[test]
fn post_renderers_and_common_metadata_shape_the_release() {
    let ns = namespace("hr-postrender");
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {{ .Release.Name }}\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}\n    spec:\n      containers:\n      - name: app\n        image: registry.invalid/app:1.0.0\n";
    let _repo = git_chart(&ns, &[("cm.yaml", CM), ("deploy.yaml", deploy)]);
    let _controller = ControllerProcess::start(&ns, &[]);
    let spec = |extra: &str| {
        format!(
            "  install:\n    disableWait: true\n  upgrade:\n    disableWait: true\n  commonMetadata:\n    labels:\n      team: platform\n  postRenderers:\n  - kustomize:\n      images:\n      - name: registry.invalid/app\n        newTag: \"2.0.0\"\n      patches:\n      - target:\n          kind: ConfigMap\n        patch: |\n          - op: add\n            path: /data/extra\n            value: {extra}\n"
        )
    };
    apply(&git_release(&ns, "pr", &spec("first")));
    let cm = wait_for("the post-rendered ConfigMap", 90, || {
        get("configmap", Some(&ns), "pr").filter(|c| c["data"]["extra"] == "first")
    });
    assert_eq!(cm["metadata"]["labels"]["team"], "platform");
    let d = get("deployment", Some(&ns), "pr").unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.invalid/app:2.0.0"
    );
    assert_eq!(d["metadata"]["labels"]["team"], "platform");
    wait_for("Ready", 30, || ready_true("helmrelease", &ns, "pr"));
    // The release records the post-rendered manifest, as helm does.
    let home = tempfile::tempdir().unwrap();
    let manifest = helm(home.path(), &["get", "manifest", "pr", "-n", &ns]).ok().stdout;
    assert!(
        manifest.contains("registry.invalid/app:2.0.0") && manifest.contains("extra: first"),
        "{manifest}"
    );

    // A post-renderer change alone (same chart, same values) upgrades the release.
    apply(&git_release(&ns, "pr", &spec("second")));
    wait_for("the new post-render released", 60, || {
        get("configmap", Some(&ns), "pr").filter(|c| c["data"]["extra"] == "second")
    });
    assert_eq!(helm_history(&ns, "pr").len(), 2);
}

/// A Git chart `demo` with `templates` and, when given, a `values.schema.json`.
fn git_chart_with(ns: &str, templates: &[(&str, &str)], schema: Option<&str>) -> GitRepo {
    let repo = GitRepo::new();
    let root = write_chart(
        &repo.path().join("charts"),
        "demo",
        "0.1.0",
        "message: default\n",
        templates,
    );
    if let Some(schema) = schema {
        std::fs::write(root.join("values.schema.json"), schema).unwrap();
    }
    repo.commit("chart");
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: charts\n  namespace: {ns}\nspec:\n  url: {}\n  interval: 1s\n  ref:\n    branch: main\n",
        repo.url()
    ));
    repo
}

#[test]
fn upgrade_force_recreates_and_cleanup_on_fail_deletes_what_a_failed_upgrade_created() {
    let ns = namespace("hr-force");
    let frozen = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-frozen\nimmutable: true\ndata:\n  message: {{ .Values.message | default \"none\" | quote }}\n";
    let extra = "{{- if .Values.extra }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  made: by-the-upgrade\n{{- end }}\n";
    // A post-upgrade hook the API server refuses: the upgrade fails after its objects were
    // applied.
    let hook = "{{- if .Values.failHook }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\n  annotations:\n    helm.sh/hook: post-upgrade\ndata: {}\n{{- end }}\n";
    let _repo = git_chart_with(
        &ns,
        &[
            ("cm.yaml", CM),
            ("frozen.yaml", frozen),
            ("extra.yaml", extra),
            ("hook.yaml", hook),
        ],
        None,
    );
    let controller = ControllerProcess::start(&ns, &[]);
    let values = "  values:\n    message: one\n";
    apply(&git_release(
        &ns,
        "forced",
        &format!("  upgrade:\n    force: true\n{values}"),
    ));
    apply(&git_release(
        &ns,
        "cleaned",
        &format!("  upgrade:\n    cleanupOnFail: true\n{values}"),
    ));
    apply(&git_release(&ns, "kept", values));
    for name in ["forced", "cleaned", "kept"] {
        wait_for("installed and Ready", 90, || ready_true("helmrelease", &ns, name));
    }

    // force: an immutable ConfigMap's data change is refused as an update; the upgrade
    // deletes it and creates it anew.
    let uid = get("configmap", Some(&ns), "forced-frozen").unwrap()["metadata"]["uid"].clone();
    merge_patch("helmrelease", "forced", &ns, r#"{"spec":{"values":{"message":"two"}}}"#);
    let cm = wait_for("the frozen ConfigMap recreated", 60, || {
        get("configmap", Some(&ns), "forced-frozen").filter(|c| c["data"]["message"] == "two")
    });
    assert_ne!(cm["metadata"]["uid"], uid, "recreated, not updated");
    wait_hr(&controller, &ns, "forced", "the forced upgrade released", 60, |h| {
        h["status"]["history"][0]["version"] == 2 && h["status"]["history"][0]["status"] == "deployed"
    });

    // cleanupOnFail: what the failed upgrade created is deleted; without it, it stays.
    for name in ["cleaned", "kept"] {
        merge_patch(
            "helmrelease",
            name,
            &ns,
            r#"{"spec":{"values":{"extra":true,"failHook":true}}}"#,
        );
    }
    for name in ["cleaned", "kept"] {
        wait_hr(&controller, &ns, name, "the upgrade failed", 90, |h| {
            h["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Released" && c["reason"] == "UpgradeFailed")
            }) && h["status"]["history"][0]["status"] == "failed"
        });
    }
    let (_, _, message) = live_condition("helmrelease", &ns, "cleaned", "Released").unwrap();
    assert!(message.contains("Not_A_Valid_Name"), "{message}");
    assert!(
        get("configmap", Some(&ns), "kept-extra").is_some(),
        "without cleanupOnFail the created object stays"
    );
    assert!(
        get("configmap", Some(&ns), "cleaned-extra").is_none(),
        "cleanupOnFail deletes what the failed upgrade created"
    );
    // What existed before the upgrade is never cleaned up.
    assert!(get("configmap", Some(&ns), "cleaned").is_some());
    assert!(get("configmap", Some(&ns), "cleaned-frozen").is_some());
}

#[test]
fn jobs_schema_test_filters_and_orphan_uninstall_act_as_helm_and_ignored_fields_are_named() {
    let ns = namespace("hr-options");
    // No kubelet on the test control plane: the Job never completes.
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-job\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: run\n        image: registry.invalid/job:1\n";
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {{ .Release.Name }}\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}\n    spec:\n      containers:\n      - name: app\n        image: registry.invalid/app:1\n";
    let test = |n: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ .Release.Name }}}}-test-{n}\n  annotations:\n    helm.sh/hook: test\ndata:\n  ran: \"yes\"\n"
        )
    };
    let (test_a, test_b) = (test("a"), test("b"));
    let schema = r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"message": {"type": "string"}}}"#;
    let repo = git_chart_with(
        &ns,
        &[
            ("cm.yaml", CM),
            ("job.yaml", job),
            ("deploy.yaml", deploy),
            ("test-a.yaml", &test_a),
            ("test-b.yaml", &test_b),
        ],
        Some(schema),
    );
    let controller = ControllerProcess::start(&ns, &[]);
    // install.disableWait: the Deployment's Pod never runs on this control plane.
    let spec = "  install:\n    disableWait: true\n    disableSchemaValidation: true\n  test:\n    enable: true\n    filters:\n    - name: opts-test-b\n      exclude: true\n  rollback:\n    recreate: true\n  uninstall:\n    deletionPropagation: orphan\n  values:\n    message: 5\n";
    apply(&git_release(&ns, "opts", spec));
    wait_hr(&controller, &ns, "opts", "installed and Ready", 90, |h| {
        h["status"]["conditions"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
    });
    // disableSchemaValidation: a value the schema refuses is released.
    assert_eq!(get("configmap", Some(&ns), "opts").unwrap()["data"]["message"], "5");
    // test.filters: the excluded test never ran.
    let (s, _, message) = live_condition("helmrelease", &ns, "opts", "TestSuccess").unwrap();
    assert_eq!(s, "True", "{message}");
    assert!(get("configmap", Some(&ns), "opts-test-a").is_some(), "test a ran");
    assert!(
        get("configmap", Some(&ns), "opts-test-b").is_none(),
        "test b is excluded"
    );
    // A field Ballast does not act on is named, never silently ignored.
    let (_, message) = ready("helmrelease", &ns, "opts").unwrap();
    assert!(message.contains("spec.rollback.recreate"), "{message}");
    assert!(
        events(&ns)
            .iter()
            .any(|(reason, note)| reason == "IgnoredFields" && note.contains("spec.rollback.recreate")),
        "{:?}",
        events(&ns)
    );

    // disableWaitForJobs: with the wait on, a Job that never completes does not hold the
    // install (a chart of a ConfigMap and the Job).
    write_chart(
        &repo.path().join("charts"),
        "jobs",
        "0.1.0",
        "message: default\n",
        &[("cm.yaml", CM), ("job.yaml", job)],
    );
    repo.commit("jobs chart");
    apply(
        &git_release(&ns, "jobs", "  install:\n    disableWaitForJobs: true\n")
            .replace("chart: ./charts/demo", "chart: ./charts/jobs"),
    );
    wait_hr(
        &controller,
        &ns,
        "jobs",
        "installed and Ready with the Job still running",
        90,
        |h| {
            h["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        },
    );
    let job = get("job", Some(&ns), "jobs-job").expect("the Job is installed");
    assert!(job["status"]["succeeded"].is_null(), "the Job has not completed: {job}");

    // deletionPropagation: orphan: the Deployment goes, its ReplicaSet stays.
    wait_for("the Deployment's ReplicaSet", 60, || {
        let out = kubectl(&["get", "replicasets", "-n", &ns, "-l", "app=opts", "-o", "name"]);
        (!out.trim().is_empty()).then_some(())
    });
    kubectl(&["delete", "helmrelease", "opts", "-n", &ns, "--timeout=90s"]);
    assert!(get("deployment", Some(&ns), "opts").is_none());
    let out = kubectl(&["get", "replicasets", "-n", &ns, "-l", "app=opts", "-o", "json"]);
    let sets: Value = serde_json::from_str(&out).unwrap();
    let sets = sets["items"].as_array().unwrap();
    assert_eq!(sets.len(), 1, "the ReplicaSet is orphaned, not deleted");
    assert!(
        sets[0]["metadata"]["ownerReferences"]
            .as_array()
            .is_none_or(|o| o.is_empty()),
        "{}",
        sets[0]
    );
}

#[test]
fn a_release_acts_as_its_service_account() {
    let ns = namespace("hr-tenant");
    let other = format!("{ns}-other");
    let _repo = git_chart(&ns, &[("cm.yaml", CM)]);
    // The tenant may touch ConfigMaps and release records (Secrets) of its own namespace only.
    apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {other}\n---\n\
         apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: tenant\n  namespace: {ns}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: release\n  namespace: {ns}\n\
         rules:\n- apiGroups: [\"\"]\n  resources: [configmaps, secrets]\n  verbs: [\"*\"]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: tenant\n  namespace: {ns}\n\
         roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: release\n\
         subjects:\n- kind: ServiceAccount\n  name: tenant\n  namespace: {ns}\n"
    ));
    let controller = ControllerProcess::start(&ns, &[]);
    apply(&git_release(&ns, "own", "  serviceAccountName: tenant\n"));
    apply(&git_release(
        &ns,
        "escalate",
        &format!("  serviceAccountName: tenant\n  targetNamespace: {other}\n"),
    ));
    wait_for("the tenant's release installed", 90, || {
        get("configmap", Some(&ns), "own")
    });
    wait_hr(&controller, &ns, "own", "Ready", 60, |h| {
        h["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
    });
    wait_hr(&controller, &ns, "escalate", "the install refused", 90, |h| {
        h["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter().any(|c| {
                c["type"] == "Ready"
                    && c["status"] == "False"
                    && c["message"].as_str().is_some_and(|m| m.contains("forbidden"))
            })
        })
    });
    assert!(
        get("configmap", Some(&other), "escalate").is_none(),
        "installed past the tenant's RBAC"
    );
    // The uninstall runs as the account too.
    kubectl(&["delete", "helmrelease", "own", "-n", &ns, "--timeout=60s"]);
    assert!(get("configmap", Some(&ns), "own").is_none());
}

#[test]
fn health_check_exprs_gate_a_release() {
    let ns = namespace("hr-cel");
    let _repo = git_chart(&ns, &[("cm.yaml", CM)]);
    let controller = ControllerProcess::start(&ns, &[]);
    // The release is healthy only once its ConfigMap says "go".
    apply(&git_release(
        &ns,
        "gated",
        "  timeout: 6s\n  values:\n    message: wait\n  healthCheckExprs:\n  - apiVersion: v1\n    kind: ConfigMap\n    \
         current: \"data.message == 'go'\"\n",
    ));
    wait_hr(
        &controller,
        &ns,
        "gated",
        "the install failing its health check",
        90,
        |h| {
            h["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter().any(|c| {
                    c["type"] == "Ready"
                        && c["status"] == "False"
                        && c["message"].as_str().is_some_and(|m| m.contains("healthCheckExprs"))
                })
            })
        },
    );
    merge_patch("helmrelease", "gated", &ns, r#"{"spec":{"values":{"message":"go"}}}"#);
    wait_for("Ready once the expression is true", 90, || {
        ready_true("helmrelease", &ns, "gated")
    });
}
