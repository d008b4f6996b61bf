//! `ballast helm`: releases stored as helm v4 stores them, checked with the reference helm
//! CLI both ways; hooks with weights and delete policies; a failing hook; a stale pending
//! release recovered.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// Runs the reference helm against the test cluster.
fn helm(args: &[&str]) -> Run {
    let bin = ballast_local::find_binary("helm").unwrap_or_else(|e| panic!("{e}"));
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .arg("--kubeconfig")
        .arg(&env().kubeconfig)
        .args(args)
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .output()
        .expect("run helm");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn helm_json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    let run = helm(&a).ok();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("helm {args:?}: {e}\n{}", run.stdout))
}

/// Starts `ballast <args>` in the background.
fn ballast_spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ballast"))
        .arg("--kubeconfig")
        .arg(&env().kubeconfig)
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ballast")
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A chart in a temporary directory: `Chart.yaml` (name demo, `version`), `values.yaml`
/// (`greeting: hello`) and the given templates.
fn chart(version: &str, templates: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path();
    std::fs::create_dir_all(c.join("templates")).unwrap();
    std::fs::write(
        c.join("Chart.yaml"),
        format!("apiVersion: v2\nname: demo\nversion: {version}\nappVersion: \"1.0\"\n"),
    )
    .unwrap();
    std::fs::write(c.join("values.yaml"), "greeting: hello\n").unwrap();
    for (name, text) in templates {
        std::fs::write(c.join("templates").join(name), text).unwrap();
    }
    dir
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  revision: {{ .Release.Revision | quote }}\n";
const NOTES: &str = "Thanks for installing {{ .Release.Name }}.\n";

fn simple_chart() -> tempfile::TempDir {
    chart("0.1.0", &[("cm.yaml", CM), ("NOTES.txt", NOTES)])
}

fn p(dir: &Path) -> String {
    dir.display().to_string()
}

fn uid(kind: &str, ns: &str, name: &str) -> Option<String> {
    get(kind, Some(ns), name).map(|o| o["metadata"]["uid"].as_str().unwrap().to_string())
}

fn cm_data(ns: &str, name: &str, key: &str) -> String {
    get("configmap", Some(ns), name).expect("configmap")["data"][key]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// `(revision, status, description)` of each revision, as `helm history` reads them.
fn helm_history(release: &str, ns: &str) -> Vec<(i64, String, String)> {
    helm_json(&["history", release, "-n", ns])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
                r["description"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_ballast_release_is_read_by_helm() {
    let ns = namespace("hr-read");
    let c = simple_chart();
    let values = c.path().join("mine.yaml");
    std::fs::write(&values, "greeting: hey\nextra:\n  enabled: true\n").unwrap();
    let run = ballast(&[
        "helm",
        "install",
        "web",
        &p(c.path()),
        "-n",
        &ns,
        "-f",
        &values.display().to_string(),
        "--set",
        "extra.level=3",
    ])
    .ok();
    assert!(run.stdout.contains("STATUS: deployed"), "{}", run.stdout);
    assert!(run.stdout.contains("Thanks for installing web."), "{}", run.stdout);
    assert_eq!(cm_data(&ns, "web-cm", "greeting"), "hey");

    let list = helm_json(&["list", "-n", &ns]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["name"], "web");
    assert_eq!(list[0]["revision"], "1");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "demo-0.1.0");
    assert_eq!(list[0]["app_version"], "1.0");
    assert_eq!(
        helm_history("web", &ns),
        vec![(1, "deployed".into(), "Install complete".into())]
    );

    let manifest = helm(&["get", "manifest", "web", "-n", &ns]).ok().stdout;
    assert_eq!(
        manifest,
        "---\n# Source: demo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-cm\ndata:\n  greeting: \"hey\"\n  revision: \"1\"\n\n"
    );
    // `helm template` renders the same manifest.
    let template = helm(&[
        "template",
        "web",
        &p(c.path()),
        "-n",
        &ns,
        "-f",
        &values.display().to_string(),
    ])
    .ok()
    .stdout;
    assert!(template.contains(manifest.trim()), "{template}");
    let user = helm_json(&["get", "values", "web", "-n", &ns]);
    assert_eq!(
        user,
        serde_json::json!({"greeting": "hey", "extra": {"enabled": true, "level": 3}})
    );
    let all = helm_json(&["get", "values", "web", "-n", &ns, "--all"]);
    assert_eq!(all["greeting"], "hey");
    let notes = helm(&["get", "notes", "web", "-n", &ns]).ok().stdout;
    assert!(notes.contains("Thanks for installing web."), "{notes}");
    // The object carries helm's ownership marks and is owned by helm's field manager.
    let cm = get("configmap", Some(&ns), "web-cm").unwrap();
    assert_eq!(cm["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm");
    assert_eq!(cm["metadata"]["annotations"]["meta.helm.sh/release-name"], "web");
    assert_eq!(managers(&cm), vec!["helm".to_string()]);

    // helm upgrades what Ballast installed, in place; Ballast reads helm's revision.
    let before = uid("configmap", &ns, "web-cm");
    helm(&["upgrade", "web", &p(c.path()), "-n", &ns, "--set", "greeting=from-helm"]).ok();
    assert_eq!(uid("configmap", &ns, "web-cm"), before);
    assert_eq!(cm_data(&ns, "web-cm", "greeting"), "from-helm");
    let history = ballast(&["helm", "history", "web", "-n", &ns]).ok();
    let rows = history.lines();
    assert_eq!(rows.len(), 3, "{}", history.stdout);
    assert!(
        rows[1].contains("superseded") && rows[2].contains("deployed"),
        "{}",
        history.stdout
    );
    // And helm uninstalls it.
    helm(&["uninstall", "web", "-n", &ns]).ok();
    assert_eq!(get("configmap", Some(&ns), "web-cm"), None);
    assert!(ballast(&["helm", "list", "-n", &ns]).ok().lines().len() == 1);
}

#[test]
fn a_helm_release_is_upgraded_in_place() {
    let ns = namespace("hr-adopt");
    let v1 = chart(
        "0.1.0",
        &[
            ("cm.yaml", CM),
            (
                "old.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-old\ndata: {a: b}\n",
            ),
            (
                "kept.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-kept\n  annotations:\n    helm.sh/resource-policy: keep\ndata: {a: b}\n",
            ),
        ],
    );
    helm(&["install", "app", &p(v1.path()), "-n", &ns]).ok();
    let cm_uid = uid("configmap", &ns, "app-cm").expect("installed by helm");
    let v2 = chart("0.2.0", &[("cm.yaml", CM)]);
    let run = ballast(&[
        "helm",
        "upgrade",
        "app",
        &p(v2.path()),
        "-n",
        &ns,
        "--set",
        "greeting=ballast",
    ])
    .ok();
    assert!(run.stdout.contains("REVISION: 2"), "{}", run.stdout);
    // Same object (same UID), new data; the dropped object deleted, the kept one kept.
    assert_eq!(uid("configmap", &ns, "app-cm").as_deref(), Some(cm_uid.as_str()));
    assert_eq!(cm_data(&ns, "app-cm", "greeting"), "ballast");
    assert_eq!(cm_data(&ns, "app-cm", "revision"), "2");
    assert_eq!(get("configmap", Some(&ns), "app-old"), None);
    assert!(get("configmap", Some(&ns), "app-kept").is_some());
    // One field manager, helm's: a later `helm upgrade` has no conflict.
    assert_eq!(
        managers(&get("configmap", Some(&ns), "app-cm").unwrap()),
        vec!["helm".to_string()]
    );
    assert_eq!(
        helm_history("app", &ns),
        vec![
            (1, "superseded".into(), "Install complete".into()),
            (2, "deployed".into(), "Upgrade complete".into()),
        ]
    );
    let list = helm_json(&["list", "-n", &ns]);
    assert_eq!(list[0]["chart"], "demo-0.2.0");
    helm(&[
        "upgrade",
        "app",
        &p(v2.path()),
        "-n",
        &ns,
        "--set",
        "greeting=helm-again",
    ])
    .ok();
    assert_eq!(uid("configmap", &ns, "app-cm").as_deref(), Some(cm_uid.as_str()));
    assert_eq!(cm_data(&ns, "app-cm", "greeting"), "helm-again");
}

#[test]
fn an_object_another_release_took_over_is_not_deleted_by_an_upgrade() {
    let ns = namespace("hr-owner");
    let extra = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata: {a: b}\n";
    let v1 = chart("0.1.0", &[("cm.yaml", CM), ("shared.yaml", extra)]);
    ballast(&["helm", "install", "app", &p(v1.path()), "-n", &ns]).ok();
    let shared = uid("configmap", &ns, "shared").expect("installed");
    // Another release now owns it (as `helm upgrade --take-ownership` would mark it).
    kubectl(&[
        "annotate",
        "configmap",
        "shared",
        "-n",
        &ns,
        "--overwrite",
        "meta.helm.sh/release-name=other",
    ]);
    let v2 = chart("0.2.0", &[("cm.yaml", CM)]);
    ballast(&["helm", "upgrade", "app", &p(v2.path()), "-n", &ns]).ok();
    assert_eq!(
        uid("configmap", &ns, "shared").as_deref(),
        Some(shared.as_str()),
        "kept, same object"
    );
    // Uninstalling the release leaves it too; the release's own object goes.
    ballast(&["helm", "uninstall", "app", "-n", &ns]).ok();
    assert_eq!(uid("configmap", &ns, "shared").as_deref(), Some(shared.as_str()));
    assert_eq!(get("configmap", Some(&ns), "app-cm"), None);
}

#[test]
fn helm_rollback_of_a_ballast_release_is_seen_by_ballast() {
    let ns = namespace("hr-rollback");
    let c = simple_chart();
    // upgrade --install installs a release that does not exist.
    let first = ballast(&[
        "helm",
        "upgrade",
        "--install",
        "rb",
        &p(c.path()),
        "-n",
        &ns,
        "--set",
        "greeting=one",
    ])
    .ok();
    assert!(
        first.stdout.contains("Installing it now") && first.stdout.contains("REVISION: 1"),
        "{}",
        first.stdout
    );
    ballast(&[
        "helm",
        "upgrade",
        "rb",
        &p(c.path()),
        "-n",
        &ns,
        "--set",
        "greeting=two",
    ])
    .ok();
    assert_eq!(cm_data(&ns, "rb-cm", "greeting"), "two");
    helm(&["rollback", "rb", "1", "-n", &ns]).ok();
    assert_eq!(cm_data(&ns, "rb-cm", "greeting"), "one");
    let history = ballast(&["helm", "history", "rb", "-n", &ns]).ok();
    let rows = history.lines();
    assert_eq!(rows.len(), 4, "{}", history.stdout);
    assert!(rows[3].starts_with('3'), "{}", history.stdout);
    assert!(
        rows[3].contains("deployed") && rows[3].contains("Rollback to 1"),
        "{}",
        history.stdout
    );
    assert!(rows[2].contains("superseded"), "{}", history.stdout);
    // Ballast rolls back too (to 2), as a new revision helm reads.
    ballast(&["helm", "rollback", "rb", "2", "-n", &ns]).ok();
    assert_eq!(cm_data(&ns, "rb-cm", "greeting"), "two");
    let h = helm_history("rb", &ns);
    assert_eq!(
        h.last().unwrap(),
        &(4, "deployed".to_string(), "Rollback to 2".to_string())
    );
    assert_eq!(h.iter().filter(|r| r.1 == "deployed").count(), 1, "{h:?}");
    let values = helm_json(&["get", "values", "rb", "-n", &ns]);
    assert_eq!(values, serde_json::json!({"greeting": "two"}));
    // History max: only the newest revisions stay, the deployed one among them.
    ballast(&["helm", "upgrade", "rb", &p(c.path()), "-n", &ns, "--history-max", "2"]).ok();
    let h = helm_history("rb", &ns);
    assert_eq!(h.iter().map(|r| r.0).collect::<Vec<_>>(), vec![4, 5], "{h:?}");
    // Uninstall with --keep-history: records kept as uninstalled, objects gone.
    ballast(&["helm", "uninstall", "rb", "-n", &ns, "--keep-history"]).ok();
    assert_eq!(get("configmap", Some(&ns), "rb-cm"), None);
    let h = helm_history("rb", &ns);
    assert_eq!(h.last().unwrap().1, "uninstalled", "{h:?}");
    // Listed only with --all, as helm lists it.
    assert_eq!(ballast(&["helm", "list", "-n", &ns]).ok().lines().len(), 1);
    let all = ballast(&["helm", "list", "-n", &ns, "--all"]).ok();
    assert!(
        all.lines().len() == 2 && all.lines()[1].contains("uninstalled"),
        "{}",
        all.stdout
    );
}

fn hook(name: &str, events: &str, weight: i64, policy: Option<&str>) -> String {
    let policy = policy.map_or(String::new(), |p| format!("    helm.sh/hook-delete-policy: {p}\n"));
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations:\n    helm.sh/hook: {events}\n    helm.sh/hook-weight: \"{weight}\"\n{policy}data:\n  rev: {{{{ .Release.Revision | quote }}}}\n"
    )
}

fn rv(ns: &str, name: &str) -> u64 {
    resource_version("configmap", Some(ns), name).parse().unwrap()
}

/// Waits until a Job exists, then sets its status (`Complete` or `Failed`) as the Job
/// controller would.
fn finish_job(ns: &str, name: &str, condition: &str, message: &str) {
    wait_for(&format!("job {name}"), 60, || get("job", Some(ns), name));
    let patch = format!(
        r#"{{"status": {{"conditions": [{{"type": "{condition}", "status": "True", "reason": "{message}", "message": "{message}", "lastProbeTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}}]}}}}"#
    );
    kubectl(&[
        "patch",
        "job",
        name,
        "-n",
        ns,
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        &patch,
    ]);
}

const JOB: &str = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-job\n  annotations:\n    helm.sh/hook: post-install,post-upgrade\n    helm.sh/hook-delete-policy: hook-succeeded\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox\n";

#[test]
fn hooks_run_by_weight_with_their_delete_policies() {
    let ns = namespace("hr-hooks");
    let c = chart(
        "0.1.0",
        &[
            ("cm.yaml", CM),
            ("h-b.yaml", &hook("h-b", "pre-install,pre-upgrade", 5, None)),
            ("h-a.yaml", &hook("h-a", "pre-install,pre-upgrade", -5, None)),
            ("h-c.yaml", &hook("h-c", "pre-install,pre-upgrade", 0, None)),
            ("h-c2.yaml", &hook("h-c2", "pre-install", 0, None)),
            ("h-gone.yaml", &hook("h-gone", "pre-install", 1, Some("hook-succeeded"))),
            ("h-post.yaml", &hook("h-post", "post-install", 0, Some("hook-failed"))),
            ("job.yaml", JOB),
        ],
    );
    let child = ballast_spawn(&["helm", "install", "hk", &p(c.path()), "-n", &ns, "--timeout", "60s"]);
    finish_job(&ns, "hk-job", "Complete", "Done");
    let run = finish(child).ok();
    assert!(run.stdout.contains("STATUS: deployed"), "{}", run.stdout);
    // Weight, then name: a (-5), c (0), c2 (0), gone (1), b (5); created in that order.
    let order = [rv(&ns, "h-a"), rv(&ns, "h-c"), rv(&ns, "h-c2"), rv(&ns, "h-b")];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    // Pre hooks ran before the manifest was applied, post hooks after.
    assert!(rv(&ns, "h-b") < rv(&ns, "hk-cm"));
    assert!(rv(&ns, "h-post") > rv(&ns, "hk-cm"));
    // hook-succeeded: deleted after success (the ConfigMap and the completed Job).
    assert_eq!(get("configmap", Some(&ns), "h-gone"), None);
    wait_for("hook job deleted", 30, || {
        get("job", Some(&ns), "hk-job").is_none().then_some(())
    });
    // hook-failed only: kept after success. Hooks are not in the manifest.
    assert!(get("configmap", Some(&ns), "h-post").is_some());
    let manifest = helm(&["get", "manifest", "hk", "-n", &ns]).ok().stdout;
    assert!(!manifest.contains("h-a") && manifest.contains("hk-cm"), "{manifest}");
    let hooks = helm(&["get", "hooks", "hk", "-n", &ns]).ok().stdout;
    assert!(hooks.contains("name: h-a") && hooks.contains("name: hk-job"), "{hooks}");
    // before-hook-creation (the default): on upgrade the old hook object is replaced.
    let a_uid = uid("configmap", &ns, "h-a");
    let child = ballast_spawn(&["helm", "upgrade", "hk", &p(c.path()), "-n", &ns, "--timeout", "60s"]);
    finish_job(&ns, "hk-job", "Complete", "Done");
    finish(child).ok();
    assert_ne!(uid("configmap", &ns, "h-a"), a_uid);
    assert_eq!(cm_data(&ns, "h-a", "rev"), "2");
    // h-c2 is a pre-install hook only: not run again.
    assert_eq!(cm_data(&ns, "h-c2", "rev"), "1");
    let h = helm_history("hk", &ns);
    assert_eq!(h.last().unwrap().1, "deployed", "{h:?}");
}

#[test]
fn a_failing_hook_fails_the_release_naming_it() {
    let ns = namespace("hr-hookfail");
    let failing = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-delete-policy: hook-failed\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox\n";
    let c = chart(
        "0.1.0",
        &[
            ("cm.yaml", CM),
            ("first.yaml", &hook("first", "pre-install", -1, Some("hook-succeeded"))),
            ("job.yaml", failing),
        ],
    );
    let child = ballast_spawn(&["helm", "install", "hf", &p(c.path()), "-n", &ns, "--timeout", "60s"]);
    finish_job(&ns, "hf-migrate", "Failed", "BackoffLimitExceeded");
    let run = finish(child).fails();
    assert!(
        run.stderr
            .contains("pre-install hook Job/hf-migrate failed: BackoffLimitExceeded"),
        "{}",
        run.stderr
    );
    // The release is failed, its description naming the hook; nothing of the manifest applied.
    let h = helm_history("hf", &ns);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].1, "failed");
    assert!(h[0].2.contains("Job/hf-migrate"), "{h:?}");
    assert_eq!(get("configmap", Some(&ns), "hf-cm"), None);
    // hook-failed: the failed Job deleted; the earlier hook-succeeded hook deleted too.
    wait_for("failed hook deleted", 30, || {
        get("job", Some(&ns), "hf-migrate").is_none().then_some(())
    });
    assert_eq!(get("configmap", Some(&ns), "first"), None);
    // A failed install can be installed again (new revision).
    let c2 = simple_chart();
    ballast(&["helm", "install", "hf", &p(c2.path()), "-n", &ns]).ok();
    assert_eq!(helm_history("hf", &ns).last().unwrap().1, "deployed");
}

#[test]
fn a_stale_pending_upgrade_is_recovered() {
    let ns = namespace("hr-stale");
    let c = simple_chart();
    ballast(&["helm", "install", "st", &p(c.path()), "-n", &ns]).ok();
    // An upgrade whose pre-upgrade hook never completes, killed mid-way (SIGKILL).
    let blocking = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-wait\n  annotations:\n    helm.sh/hook: pre-upgrade\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox\n";
    let hung = chart("0.2.0", &[("cm.yaml", CM), ("job.yaml", blocking)]);
    let mut child = ballast_spawn(&["helm", "upgrade", "st", &p(hung.path()), "-n", &ns, "--timeout", "2s"]);
    wait_for("hook job", 60, || get("job", Some(&ns), "st-wait"));
    child.kill().unwrap();
    let killed_at = Instant::now();
    child.wait().unwrap();
    let h = helm_history("st", &ns);
    assert_eq!(h.last().unwrap().1, "pending-upgrade", "{h:?}");
    // helm refuses while it is pending; so does Ballast before the operation's deadline.
    let refused = helm(&["upgrade", "st", &p(c.path()), "-n", &ns]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("another operation"), "{}", refused.stderr);
    let early = ballast(&["helm", "upgrade", "st", &p(c.path()), "-n", &ns]).fails();
    assert!(
        early
            .stderr
            .contains("another operation (install/upgrade/rollback) is in progress"),
        "{}",
        early.stderr
    );
    // Past the deadline (3 x timeout + 30 s), the pending revision is marked failed and the
    // upgrade proceeds.
    let deadline = Duration::from_secs(3 * 2 + 30 + 2);
    if let Some(rest) = deadline.checked_sub(killed_at.elapsed()) {
        std::thread::sleep(rest);
    }
    let run = ballast(&[
        "helm",
        "upgrade",
        "st",
        &p(c.path()),
        "-n",
        &ns,
        "--set",
        "greeting=recovered",
    ])
    .ok();
    assert!(run.stdout.contains("REVISION: 3"), "{}", run.stdout);
    assert_eq!(cm_data(&ns, "st-cm", "greeting"), "recovered");
    let h = helm_history("st", &ns);
    assert_eq!(h[1].1, "failed", "{h:?}");
    assert!(h[1].2.contains("interrupted"), "{h:?}");
    assert_eq!(h[2].1, "deployed", "{h:?}");
    assert_eq!(h[0].1, "superseded", "{h:?}");
    // helm works on it again.
    helm(&["upgrade", "st", &p(c.path()), "-n", &ns]).ok();
}

#[test]
fn crds_wait_and_delete_and_rollback_hooks() {
    let ns = namespace("hr-lifecycle");
    let c = chart(
        "0.1.0",
        &[
            ("cm.yaml", CM),
            (
                "widget.yaml",
                "{{ if .Capabilities.APIVersions.Has \"example.com/v1/HrWidget\" }}apiVersion: example.com/v1\nkind: HrWidget\nmetadata:\n  name: {{ .Release.Name }}-w\nspec:\n  size: 1\n{{ end }}",
            ),
            ("pre-rb.yaml", &hook("pre-rb", "pre-rollback", 0, None)),
            ("post-del.yaml", &hook("post-del", "post-delete", 0, None)),
            (
                "pre-del.yaml",
                &hook("pre-del", "pre-delete", 0, Some("hook-succeeded")),
            ),
        ],
    );
    std::fs::create_dir_all(c.path().join("crds")).unwrap();
    std::fs::write(
        c.path().join("crds/widget.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: hrwidgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names:\n    kind: HrWidget\n    plural: hrwidgets\n    singular: hrwidget\n    listKind: HrWidgetList\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n",
    )
    .unwrap();
    // crds/ installed first, then the chart rendered against what the cluster serves (the
    // widget is rendered only when its kind is served), in a namespace it creates.
    let ns = format!("{ns}-new");
    ballast(&["helm", "install", "lc", &p(c.path()), "-n", &ns, "--create-namespace"]).ok();
    assert!(get("hrwidget", Some(&ns), "lc-w").is_some());
    // Not in the manifest: CRDs are never upgraded or deleted with the release.
    let manifest = helm(&["get", "manifest", "lc", "-n", &ns]).ok().stdout;
    assert!(!manifest.contains("CustomResourceDefinition"), "{manifest}");

    // A Deployment that never becomes available (no nodes): --wait fails the upgrade, which is
    // recorded failed while the previous revision stays deployed.
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n";
    std::fs::write(c.path().join("templates/deploy.yaml"), deploy).unwrap();
    let run = ballast(&[
        "helm",
        "upgrade",
        "lc",
        &p(c.path()),
        "-n",
        &ns,
        "--wait",
        "--timeout",
        "3s",
    ])
    .fails();
    assert!(
        run.stderr.contains("resources not ready") && run.stderr.contains("lc-web"),
        "{}",
        run.stderr
    );
    let h = helm_history("lc", &ns);
    assert_eq!(
        h.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        vec!["deployed", "failed"],
        "{h:?}"
    );
    // Roll back to 1: pre-rollback hook runs, the Deployment added by 2 is deleted.
    ballast(&["helm", "rollback", "lc", "1", "-n", &ns]).ok();
    assert!(get("configmap", Some(&ns), "pre-rb").is_some());
    assert_eq!(get("deployment", Some(&ns), "lc-web"), None);
    let h = helm_history("lc", &ns);
    assert_eq!(
        h.last().unwrap(),
        &(3, "deployed".to_string(), "Rollback to 1".to_string())
    );
    // Uninstall: pre-delete (hook-succeeded: then deleted), objects deleted, post-delete.
    ballast(&["helm", "uninstall", "lc", "-n", &ns]).ok();
    assert_eq!(get("configmap", Some(&ns), "lc-cm"), None);
    assert_eq!(get("hrwidget", Some(&ns), "lc-w"), None);
    assert_eq!(get("configmap", Some(&ns), "pre-del"), None);
    assert!(get("configmap", Some(&ns), "post-del").is_some());
    assert!(get("customresourcedefinition", None, "hrwidgets.example.com").is_some());
    let gone = helm(&["history", "lc", "-n", &ns]);
    assert_ne!(gone.code, 0);
    assert!(gone.stderr.contains("not found"), "{}", gone.stderr);
}

#[test]
fn a_client_side_helm_release_moves_to_server_side_apply() {
    let ns = namespace("hr-csa");
    let c = simple_chart();
    helm(&["install", "csa", &p(c.path()), "-n", &ns, "--server-side=false"]).ok();
    let before = get("configmap", Some(&ns), "csa-cm").unwrap();
    assert!(
        before["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["manager"] == "helm" && e["operation"] == "Update"),
        "{before}"
    );
    ballast(&[
        "helm",
        "upgrade",
        "csa",
        &p(c.path()),
        "-n",
        &ns,
        "--set",
        "greeting=ssa",
    ])
    .ok();
    let after = get("configmap", Some(&ns), "csa-cm").unwrap();
    assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"]);
    let entries: Vec<(String, String)> = after["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["manager"].as_str().unwrap().into(),
                e["operation"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(entries, vec![("helm".to_string(), "Apply".to_string())]);
    // helm's next upgrade (server-side, as the release now says) has no conflict.
    helm(&["upgrade", "csa", &p(c.path()), "-n", &ns, "--set", "greeting=helm"]).ok();
    assert_eq!(cm_data(&ns, "csa-cm", "greeting"), "helm");
    assert_eq!(helm_history("csa", &ns).len(), 3);
}

#[test]
fn test_hooks_run_and_are_recorded() {
    let ns = namespace("hr-test");
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-check\n  annotations:\n    helm.sh/hook: test\nspec:\n  restartPolicy: Never\n  containers:\n  - name: c\n    image: busybox\n";
    let c = chart("0.1.0", &[("cm.yaml", CM), ("test.yaml", pod)]);
    ballast(&["helm", "install", "tt", &p(c.path()), "-n", &ns]).ok();
    // Test hooks are not run on install.
    assert_eq!(get("pod", Some(&ns), "tt-check"), None);
    let child = ballast_spawn(&["helm", "test", "tt", "-n", &ns, "--timeout", "60s"]);
    wait_for("test pod", 60, || get("pod", Some(&ns), "tt-check"));
    kubectl(&[
        "patch",
        "pod",
        "tt-check",
        "-n",
        &ns,
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        r#"{"status": {"phase": "Succeeded"}}"#,
    ]);
    let run = finish(child).ok();
    assert!(
        run.stdout.contains("TEST SUITE:     tt-check") && run.stdout.contains("Succeeded"),
        "{}",
        run.stdout
    );
    // helm reads the recorded run.
    let status = helm(&["status", "tt", "-n", &ns]).ok().stdout;
    assert!(status.contains("TEST SUITE:     tt-check"), "{status}");
    assert!(status.contains("Phase:          Succeeded"), "{status}");
    // A failing test names its hook; the release stays deployed.
    let child = ballast_spawn(&["helm", "test", "tt", "-n", &ns, "--timeout", "60s"]);
    wait_for("test pod recreated", 60, || {
        get("pod", Some(&ns), "tt-check").filter(|p| p["status"]["phase"] != "Succeeded")
    });
    kubectl(&[
        "patch",
        "pod",
        "tt-check",
        "-n",
        &ns,
        "--subresource=status",
        "--type",
        "merge",
        "-p",
        r#"{"status": {"phase": "Failed", "message": "exit code 1"}}"#,
    ]);
    let run = finish(child).fails();
    assert!(
        run.stderr.contains("test hook Pod/tt-check failed: exit code 1"),
        "{}",
        run.stderr
    );
    assert_eq!(helm_history("tt", &ns).last().unwrap().1, "deployed");
}
