//! Kustomization throughput: a health wait holds no worker (a plain Kustomization becomes Ready
//! while another waits, with `--concurrency 1`), and Kustomizations of one path and revision
//! share one render.

use crate::support::*;

/// The GitRepository `apps` of `ns` over `published`, polled every second.
fn source(published: &Published, ns: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: apps\n  namespace: {ns}\n\
         spec:\n  url: {}\n  interval: 1s\n  ref:\n    branch: main\n",
        published.url()
    )
}

/// A Kustomization of the GitRepository `apps` with extra `spec` lines (two-space indented).
fn kustomization(ns: &str, name: &str, path: &str, extra: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {ns}\n\
         spec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: apps\n{extra}"
    )
}

#[test]
fn a_health_wait_holds_no_worker() {
    install();
    let ns = namespace("tp-wait");
    let bare = Published::new(&[
        ("apps/a/cm.yaml", configmap(&ns, "a", "1")),
        ("apps/b/cm.yaml", configmap(&ns, "b", "1")),
        ("apps/c/cm.yaml", configmap(&ns, "c", "1")),
        ("apps/d/cm.yaml", configmap(&ns, "d", "1")),
    ]);
    // `a` checks the health of a ConfigMap nobody has created yet, for up to 30 minutes; `d`
    // depends on `a`.
    let gate = format!(
        "  timeout: 30m\n  healthChecks:\n  - apiVersion: v1\n    kind: ConfigMap\n    name: gate\n    namespace: {ns}\n"
    );
    apply(&format!(
        "{}---\n{}---\n{}",
        source(&bare, &ns),
        kustomization(&ns, "a", "./apps/a", &gate),
        kustomization(&ns, "d", "./apps/d", "  dependsOn:\n  - name: a\n"),
    ));
    let controller = ControllerProcess::start(&ns, &["--concurrency", "1"]);
    wait_for("a applied its objects", 120, || get("configmap", Some(&ns), "a"));
    // Only now `b`: with one worker, it is reconciled while `a` is waiting for its health check.
    apply(&kustomization(&ns, "b", "./apps/b", ""));
    wait_for("b Ready while a waits", 120, || {
        ready("kustomization", &ns, "b").filter(|(s, _)| s == "True")
    });
    let (status, reason, message) =
        live_condition("kustomization", &ns, "a", "Ready").expect("a has a Ready condition");
    assert!(
        status == "Unknown" && reason == "Progressing",
        "a: {status} {reason}: {message}"
    );
    let (healthy, _, message) =
        live_condition("kustomization", &ns, "a", "Healthy").expect("a has a Healthy condition");
    assert_eq!(healthy, "Unknown", "{message}");
    assert!(message.contains("Running health checks for revision"), "{message}");
    let a = get("kustomization", Some(&ns), "a").unwrap();
    assert!(a["status"]["lastAppliedRevision"].is_null(), "{}", a["status"]);
    assert!(
        a["status"]["lastAttemptedRevision"]
            .as_str()
            .is_some_and(|r| r.starts_with("main@sha1:")),
        "{}",
        a["status"]
    );
    assert_eq!(inventory_len(&a), 1, "{}", a["status"]);
    // `d` waits for `a`.
    assert!(
        get("configmap", Some(&ns), "d").is_none(),
        "d applied before a was Ready"
    );

    // A new revision while `a` waits: the wait is cancelled, the revision applied, and `a`
    // waits again, for that revision.
    bare.repo().write("apps/a/cm.yaml", &configmap(&ns, "a", "2"));
    let revision = bare.push("a: 2");
    wait_for("a applied the new revision while waiting", 120, || {
        get("configmap", Some(&ns), "a").filter(|cm| cm["data"]["key"] == "2")
    });
    wait_for("a waits for the new revision's health", 120, || {
        live_condition("kustomization", &ns, "a", "Healthy").filter(|(s, _, m)| s == "Unknown" && m.contains(&revision))
    });
    // Drift while waiting is healed: the wait is cancelled and the full path runs.
    kubectl(&["delete", "configmap", "a", "-n", &ns]);
    wait_for("a's ConfigMap put back while a waits", 120, || {
        get("configmap", Some(&ns), "a")
    });
    // A controller restarted mid-wait: the new one applies and waits again.
    drop(controller);
    let controller = ControllerProcess::start(&ns, &["--concurrency", "1"]);

    // The object becomes healthy: `a` ends Ready, and `d` follows.
    apply(&configmap(&ns, "gate", "open"));
    let (_, message) = wait_for("a Ready once its health check passes", 120, || {
        ready("kustomization", &ns, "a").filter(|(s, _)| s == "True")
    });
    assert_eq!(message, format!("Applied revision: {revision}"));
    let (healthy, reason, _) = live_condition("kustomization", &ns, "a", "Healthy").unwrap();
    assert_eq!((healthy.as_str(), reason.as_str()), ("True", "Succeeded"));
    let a = get("kustomization", Some(&ns), "a").unwrap();
    assert_eq!(a["status"]["lastAppliedRevision"], a["status"]["lastAttemptedRevision"]);
    wait_for("d applied once a is Ready", 120, || get("configmap", Some(&ns), "d"));
    wait_for("d Ready", 120, || {
        ready("kustomization", &ns, "d").filter(|(s, _)| s == "True")
    });

    // A health check that times out: Ready=False, HealthCheckFailed, naming the object.
    let short = format!(
        "  timeout: 3s\n  healthChecks:\n  - apiVersion: v1\n    kind: ConfigMap\n    name: never\n    namespace: {ns}\n"
    );
    apply(&kustomization(&ns, "c", "./apps/c", &short));
    let (_, message) = wait_for("c Ready=False from its health check", 120, || {
        ready("kustomization", &ns, "c").filter(|(s, _)| s == "False")
    });
    assert!(
        message.contains("health check failed") && message.contains(&format!("ConfigMap/{ns}/never")),
        "{message}"
    );
    let (_, reason, _) = live_condition("kustomization", &ns, "c", "Ready").unwrap();
    assert_eq!(reason, "HealthCheckFailed");
    let (healthy, reason, _) = live_condition("kustomization", &ns, "c", "Healthy").unwrap();
    assert_eq!((healthy.as_str(), reason.as_str()), ("False", "HealthCheckFailed"));
    assert!(get("configmap", Some(&ns), "c").is_some());
    drop(controller);
}

/// How many entries the Kustomization's status inventory holds.
fn inventory_len(ks: &serde_json::Value) -> usize {
    ks["status"]["inventory"]["entries"].as_array().map_or(0, Vec::len)
}

/// `ballast_kustomization_renders_total` from the controller's `/metrics`.
fn renders(probe: &str) -> u64 {
    let (code, body) = http_get(probe, "/metrics");
    assert_eq!(code, 200, "{body}");
    body.lines()
        .find(|l| l.starts_with("ballast_kustomization_renders_total"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[test]
fn kustomizations_of_one_path_share_a_render() {
    install();
    let ns = namespace("tp-render");
    // The base names no namespace: each tenant's `targetNamespace` puts it in its own (with
    // kustomize's namespace transformer, as Flux: the RoleBinding's `default` ServiceAccount
    // follows); the last tenant also prefixes its names and patches the ConfigMap with a
    // strategic-merge patch naming no namespace (Flux runs patches before the namespace).
    let base =
        |v: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  key: \"{v}\"\n");
    let binding = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: readers\n\
                   roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: view\n\
                   subjects:\n- kind: ServiceAccount\n  name: default\n  namespace: default\n";
    let bare = Published::new(&[
        ("base/cm.yaml", base("1")),
        ("base/rb.yaml", binding.to_string()),
        ("other/cm.yaml", configmap(&ns, "other", "1")),
    ]);
    let tenants: Vec<String> = (0..4).map(|i| format!("{ns}-t{i}")).collect();
    let mut docs = vec![source(&bare, &ns)];
    for (i, t) in tenants.iter().enumerate() {
        kubectl(&["create", "namespace", t]);
        docs.push(kustomization(
            &ns,
            &format!("tenant{i}"),
            "./base",
            &format!(
                "  targetNamespace: {t}\n{}",
                if i == 3 {
                    "  namePrefix: p-\n  patches:\n  - patch: |\n      apiVersion: v1\n      kind: ConfigMap\n      \
                     metadata:\n        name: settings\n      data:\n        patched: \"yes\"\n"
                } else {
                    ""
                }
            ),
        ));
    }
    docs.push(kustomization(&ns, "other", "./other", ""));
    apply(&docs.join("---\n"));
    let controller = ControllerProcess::start(&ns, &[]);
    let probe = controller.probe_url();
    let object = |i: usize| if i == 3 { "p-settings" } else { "settings" };
    let names: Vec<String> = (0..4)
        .map(|i| format!("tenant{i}"))
        .chain(["other".to_string()])
        .collect();
    let all_at = |revision: &str| {
        for name in &names {
            wait_for(&format!("{name} Ready at {revision}"), 180, || {
                ready("kustomization", &ns, name).filter(|(s, m)| s == "True" && m.contains(revision))
            });
        }
    };
    all_at("main@sha1:");
    for (i, t) in tenants.iter().enumerate() {
        let cm = get("configmap", Some(t), object(i)).expect("the tenant's ConfigMap");
        assert_eq!(cm["data"]["key"], "1");
        assert_eq!(cm["data"]["patched"].as_str(), (i == 3).then_some("yes"));
        let rb_name = if i == 3 { "p-readers" } else { "readers" };
        let rb = get("rolebinding", Some(t), rb_name).expect("the tenant's RoleBinding");
        assert_eq!(rb["subjects"][0]["namespace"], t.as_str(), "{rb}");
    }
    assert!(get("configmap", Some(&ns), "other").is_some());
    // One render of `./base` for the four tenants, one of `./other`.
    assert_eq!(renders(&probe), 2);

    // A new revision: each path renders once more.
    bare.repo().write("base/cm.yaml", &base("2"));
    bare.repo().write("other/cm.yaml", &configmap(&ns, "other", "2"));
    let revision = bare.push("v2");
    all_at(&revision);
    for (i, t) in tenants.iter().enumerate() {
        let cm = get("configmap", Some(t), object(i)).unwrap();
        assert_eq!(cm["data"]["key"], "2");
    }
    assert_eq!(get("configmap", Some(&ns), "other").unwrap()["data"]["key"], "2");
    assert_eq!(renders(&probe), 4);
    for t in &tenants {
        kubectl(&["delete", "namespace", t, "--wait=false"]);
    }
}
