use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::*;

fn git_repository(ns: &str, name: &str, url: &str, interval: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n  namespace: {ns}\n\
         spec:\n  url: {url}\n  interval: {interval}\n  ref:\n    branch: main\n"
    )
}

fn kustomization(ns: &str, name: &str, source: &str, path: &str, interval: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {ns}\n\
         spec:\n  interval: {interval}\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n"
    )
}

/// Applies YAML documents with kubectl.
fn apply_docs(docs: &[String]) {
    apply(&docs.join("---\n"));
}

/// From the controller's `/metrics`: requests sent to the API server other than watches (a
/// watch is one long request that stays open; re-opening one is not a reconcile's doing),
/// Kustomization reconciles answered from the caches alone, and GitRepository reconciles.
fn counters(probe: &str) -> (u64, u64, u64) {
    let (code, body) = http_get(probe, "/metrics");
    assert_eq!(code, 200, "{body}");
    let (mut requests, mut unchanged, mut polls) = (0.0, 0.0, 0.0);
    for line in body.lines() {
        let value = || {
            line.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        if line.starts_with("ballast_api_requests_total{") && !line.contains("verb=\"watch\"") {
            requests += value();
        } else if line.starts_with("ballast_kustomization_unchanged_reconciles_total") {
            unchanged += value();
        } else if line.starts_with("gotk_reconcile_duration_seconds_count{") && line.contains("kind=\"GitRepository\"")
        {
            polls += value();
        }
    }
    (requests as u64, unchanged as u64, polls as u64)
}

#[test]
fn an_unchanged_reconcile_sends_no_request_and_drift_still_heals() {
    let ns = namespace("scale-noop");
    let files: Vec<(String, String)> = (0..4)
        .map(|i| (format!("apps/demo/cm-{i}.yaml"), configmap(&ns, &format!("c{i}"), "1")))
        .chain([("apps/demo/web.yaml".to_string(), deployment(&ns, "web", 1))])
        .collect();
    let published = Published::new(&files);
    install();
    // The source polls every 2 s, the Kustomization reconciles every 2 s: nothing changes.
    apply_docs(&[
        git_repository(&ns, "apps", &published.url(), "2s"),
        kustomization(&ns, "demo", "apps", "./apps/demo", "2s"),
    ]);
    let controller = ControllerProcess::start(&ns, &[]);
    let probe = controller.probe_url();
    wait_for("Kustomization Ready", 120, || {
        ready("kustomization", &ns, "demo").filter(|(s, _)| s == "True")
    });
    // Once the drift watches have seen every object as applied, reconciles come from the caches.
    wait_for("a reconcile answered from the caches", 120, || {
        (counters(&probe).1 >= 2).then_some(())
    });
    let (before, unchanged, polls) = counters(&probe);
    wait_for("three more unchanged reconciles and source polls", 120, || {
        let (_, u, p) = counters(&probe);
        (u >= unchanged + 3 && p >= polls + 3).then_some(())
    });
    let (after, _, _) = counters(&probe);
    assert_eq!(
        after - before,
        0,
        "unchanged reconciles and source polls sent API requests ({before} -> {after})"
    );

    // Drift still arrives through the watch: an edit and a deletion are put back.
    merge_patch("configmap", "c1", &ns, r#"{"data":{"key":"edited"}}"#);
    let started = std::time::Instant::now();
    wait_for("the edit undone", 60, || {
        get("configmap", Some(&ns), "c1").filter(|c| c["data"]["key"] == "1")
    });
    eprintln!("edit healed in {:?}", started.elapsed());
    kubectl(&["delete", "configmap", "c2", "-n", &ns]);
    let started = std::time::Instant::now();
    wait_for("the deleted object recreated", 60, || get("configmap", Some(&ns), "c2"));
    eprintln!("deletion healed in {:?}", started.elapsed());
    kubectl(&["scale", "deployment", "web", "-n", &ns, "--replicas=3"]);
    wait_for("the scale undone", 60, || {
        get("deployment", Some(&ns), "web").filter(|d| d["spec"]["replicas"] == 1)
    });
    // And then reconciles are answered from the caches again.
    let (_, unchanged, _) = counters(&probe);
    wait_for("unchanged reconciles again after the heals", 120, || {
        (counters(&probe).1 >= unchanged + 2).then_some(())
    });
}

/// Writes by other field managers to fields Ballast does not own (a controller's annotation, a
/// label, a status) wake no reconcile of the owner; a scale of a field it owns still does. The
/// barrier: a scale of another Kustomization's Deployment, healed, comes through the same
/// Deployment watch after the foreign writes, so they were all seen before it was healed.
#[test]
fn other_managers_writes_wake_nothing_and_a_scale_is_still_healed() {
    let ns = namespace("scale-foreign");
    let files: Vec<(String, String)> = vec![
        ("apps/a/web.yaml".into(), deployment(&ns, "web", 1)),
        ("apps/a/cm.yaml".into(), configmap(&ns, "a", "1")),
        ("apps/b/barrier.yaml".into(), deployment(&ns, "barrier", 1)),
        ("apps/b/cm.yaml".into(), configmap(&ns, "b", "1")),
    ];
    let published = Published::new(&files);
    install();
    // Hour-long intervals: no periodic reconcile inside the test.
    apply_docs(&[
        git_repository(&ns, "apps", &published.url(), "1h"),
        kustomization(&ns, "a", "apps", "./apps/a", "1h"),
        kustomization(&ns, "b", "apps", "./apps/b", "1h"),
    ]);
    let controller = ControllerProcess::start(&ns, &[]);
    let probe = controller.probe_url();
    for name in ["a", "b"] {
        wait_for(&format!("Kustomization {name} Ready"), 120, || {
            ready("kustomization", &ns, name).filter(|(s, _)| s == "True")
        });
    }
    let before = settled_reconciles(&probe, "Kustomization", &ns, "a");
    let foreign = "--field-manager=foreign-controller";
    for round in 1..=5 {
        let note = format!("note=round-{round}");
        kubectl(&[
            "annotate",
            "deployment",
            "web",
            "-n",
            &ns,
            &note,
            "--overwrite",
            foreign,
        ]);
        let tier = format!("tier=round-{round}");
        kubectl(&["label", "deployment", "web", "-n", &ns, &tier, "--overwrite", foreign]);
        let status = format!(r#"{{"status":{{"observedGeneration":{round}}}}}"#);
        kubectl(&[
            "patch",
            "deployment",
            "web",
            "-n",
            &ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status,
            foreign,
        ]);
        kubectl(&["annotate", "configmap", "a", "-n", &ns, &note, "--overwrite", foreign]);
        // The barrier: B's owned fields edited, and put back through the same watches.
        kubectl(&["scale", "deployment", "barrier", "-n", &ns, "--replicas=3"]);
        merge_patch("configmap", "b", &ns, r#"{"data":{"key":"edited"}}"#);
        wait_for(&format!("round {round}: B's scale and edit healed"), 60, || {
            let scaled = get("deployment", Some(&ns), "barrier").filter(|d| d["spec"]["replicas"] == 1);
            let edited = get("configmap", Some(&ns), "b").filter(|c| c["data"]["key"] == "1");
            scaled.and(edited)
        });
    }
    let after = settled_reconciles(&probe, "Kustomization", &ns, "a");
    assert_eq!(
        after,
        before,
        "other managers' writes woke reconciles of A; log:\n{}",
        controller.log()
    );
    // What they wrote stays: it is not Ballast's.
    let web = get("deployment", Some(&ns), "web").unwrap();
    assert_eq!(web["metadata"]["annotations"]["note"], "round-5");

    // A scale of A's own field is drift: healed, by a reconcile of A.
    kubectl(&["scale", "deployment", "web", "-n", &ns, "--replicas=4"]);
    wait_for("A's scale healed", 60, || {
        get("deployment", Some(&ns), "web").filter(|d| d["spec"]["replicas"] == 1)
    });
    // The reconcile is counted when it ends, after its apply put the replicas back.
    wait_for("the heal counted as a reconcile of A", 60, || {
        (reconciles(&probe, "Kustomization", &ns, "a") > after).then_some(())
    });
}

/// `ballast_api_requests_total` of the controller at `probe`, by verb.
fn requests_by_verb(probe: &str) -> BTreeMap<String, u64> {
    let (code, body) = http_get(probe, "/metrics");
    assert_eq!(code, 200, "{body}");
    body.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("ballast_api_requests_total{verb=\"")?;
            let (verb, value) = rest.split_once("\"}")?;
            Some((verb.to_string(), value.trim().parse::<f64>().ok()? as u64))
        })
        .collect()
}

/// Requests of `verb` between two counts.
fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>, verb: &str) -> u64 {
    after.get(verb).copied().unwrap_or(0) - before.get(verb).copied().unwrap_or(0)
}

/// Twenty objects in groups too small for a LIST (each would be read with a GET): a first apply
/// reads none of them (a dry-run of each tells it is new), and a push that changes some reads
/// none either: the unchanged ones are live as this process applied them, from the same desired
/// objects, as the drift watches show; the changed ones, live as last applied too, are planned by
/// their dry-run alone. Exactly the changed objects are written.
#[test]
fn a_first_apply_and_a_push_read_only_what_they_must() {
    let request_sync = |ns: &str, token: &str| {
        kubectl(&[
            "annotate",
            "gitrepository",
            "apps",
            "-n",
            ns,
            "--overwrite",
            &format!("reconcile.fluxcd.io/requestedAt={token}"),
        ])
    };
    let ns = namespace("scale-reads");
    let secret = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\nstringData:\n  key: value\n"
        )
    };
    let account =
        |name: &str| format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n");
    let mut files: Vec<(String, String)> = Vec::new();
    for i in 0..7 {
        files.push((format!("apps/demo/cm-{i}.yaml"), configmap(&ns, &format!("c{i}"), "1")));
        files.push((format!("apps/demo/secret-{i}.yaml"), secret(&format!("s{i}"))));
    }
    for i in 0..6 {
        files.push((format!("apps/demo/sa-{i}.yaml"), account(&format!("a{i}"))));
    }
    let published = Published::new(&files);
    install();
    apply_docs(&[
        git_repository(&ns, "apps", &published.url(), "1h"),
        kustomization(&ns, "demo", "apps", "./apps/demo", "1h"),
    ]);
    let controller = ControllerProcess::start(&ns, &[]);
    let probe = controller.probe_url();
    wait_for("Kustomization Ready", 120, || {
        ready("kustomization", &ns, "demo").filter(|(s, _)| s == "True")
    });
    settled_reconciles(&probe, "Kustomization", &ns, "demo");
    let cold = requests_by_verb(&probe);
    eprintln!("first apply of 20 objects: {cold:?}");
    assert!(
        cold.get("get").copied().unwrap_or(0) < 10,
        "the first apply read the objects it creates: {cold:?}"
    );
    for i in 0..7 {
        assert!(get("configmap", Some(&ns), &format!("c{i}")).is_some());
        assert!(get("secret", Some(&ns), &format!("s{i}")).is_some());
    }

    published
        .repo()
        .write("apps/demo/cm-3.yaml", &configmap(&ns, "c3", "2"));
    published.push("c3 is 2");
    request_sync(&ns, "push-1");
    wait_for("the push applied", 120, || {
        get("configmap", Some(&ns), "c3").filter(|c| c["data"]["key"] == "2")
    });
    settled_reconciles(&probe, "Kustomization", &ns, "demo");
    let pushed = requests_by_verb(&probe);
    eprintln!("push changing 1 of 20 objects: {pushed:?}");
    assert!(
        delta(&cold, &pushed, "get") < 10,
        "the push read objects it did not change: {cold:?} -> {pushed:?}"
    );

    // Changed objects live as last applied: their dry-runs alone plan them, no GET at all.
    let before = configmaps(&ns);
    let changed = ["c0", "c1", "c3"];
    for name in changed {
        let file = format!("apps/demo/cm-{}.yaml", &name[1..]);
        published.repo().write(&file, &configmap(&ns, name, "3"));
    }
    published.repo().write(
        "apps/demo/secret-2.yaml",
        &secret("s2").replace("key: value", "key: changed"),
    );
    published.push("c0, c1, c3 are 3; s2 changed");
    request_sync(&ns, "push-2");
    wait_for("the second push applied", 120, || {
        let s2 = get("secret", Some(&ns), "s2")?;
        let applied = changed
            .iter()
            .all(|n| get("configmap", Some(&ns), n).is_some_and(|c| c["data"]["key"] == "3"));
        (applied && s2["data"]["key"] == "Y2hhbmdlZA==").then_some(())
    });
    settled_reconciles(&probe, "Kustomization", &ns, "demo");
    let second = requests_by_verb(&probe);
    eprintln!("push changing 4 of 20 objects: {second:?}");
    assert_eq!(
        delta(&pushed, &second, "get"),
        0,
        "the push read objects live as last applied: {pushed:?} -> {second:?}"
    );
    // Exactly the changed ConfigMaps were written.
    let after = configmaps(&ns);
    for (name, (value, version)) in &after {
        let (old_value, old_version) = &before[name];
        if changed.contains(&name.as_str()) {
            assert_eq!(value, "3", "{name}");
            assert_ne!(version, old_version, "{name} was not written");
        } else {
            assert_eq!((value, version), (old_value, old_version), "{name} was written");
        }
    }

    // A live edit of an unchanged object is still drift: put back, by reading it again.
    merge_patch("configmap", "c5", &ns, r#"{"data":{"key":"edited"}}"#);
    wait_for("the edit undone", 60, || {
        get("configmap", Some(&ns), "c5").filter(|c| c["data"]["key"] == "1")
    });
}

/// A push reaches the cluster through the source's new artifact alone: the Kustomization's own
/// interval (10 m) never comes due in this test, and its "nothing changed" shortcut must see the
/// new revision whenever the new artifact triggers it. Five pushes in a row, each applied.
#[test]
fn every_push_is_applied_through_the_source_trigger_alone() {
    let ns = namespace("scale-push");
    let published = Published::new(&[("apps/demo/cm.yaml".to_string(), configmap(&ns, "c", "0"))]);
    install();
    apply_docs(&[
        git_repository(&ns, "apps", &published.url(), "1s"),
        kustomization(&ns, "demo", "apps", "./apps/demo", "10m"),
    ]);
    let _controller = ControllerProcess::start(&ns, &[]);
    wait_for("Kustomization Ready", 120, || {
        ready("kustomization", &ns, "demo").filter(|(s, _)| s == "True")
    });
    for i in 1..=5 {
        let value = i.to_string();
        published
            .repo()
            .write("apps/demo/cm.yaml", &configmap(&ns, "c", &value));
        let revision = published.push(&format!("value {i}"));
        wait_for(&format!("push {i} ({revision}) applied"), 90, || {
            get("configmap", Some(&ns), "c").filter(|c| c["data"]["key"] == value.as_str())
        });
    }
}

/// The `data.key` and resourceVersion of every ConfigMap in `ns`, by name.
fn configmaps(ns: &str) -> BTreeMap<String, (String, String)> {
    let list: Value = serde_json::from_str(&kubectl(&["get", "configmaps", "-n", ns, "-o", "json"])).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"].is_string())
        .map(|c| {
            (
                c["metadata"]["name"].as_str().unwrap().to_string(),
                (
                    c["data"]["key"].as_str().unwrap_or("").to_string(),
                    c["metadata"]["resourceVersion"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// Kustomizations of `ns` Ready for their generation, with `revision` applied when given.
fn ready_count(ns: &str, revision: Option<&str>) -> usize {
    let list: Value = serde_json::from_str(&kubectl(&["get", "kustomizations", "-n", ns, "-o", "json"])).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| {
            let generation = &k["metadata"]["generation"];
            let ready = k["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True" && &c["observedGeneration"] == generation)
            });
            ready && revision.is_none_or(|r| k["status"]["lastAppliedRevision"] == r)
        })
        .count()
}

#[test]
fn three_hundred_apps_end_ready_and_a_push_changes_exactly_what_changed() {
    const APPS: usize = 300;
    const PER_SOURCE: usize = 10;
    let ns = namespace("scale-fleet");
    let app_file = |a: usize, name: &str, value: &str| {
        (
            format!("apps/app-{a:03}/{name}.yaml"),
            configmap(&ns, &format!("app-{a:03}-{name}"), value),
        )
    };
    let files: Vec<(String, String)> = (0..APPS)
        .flat_map(|a| [app_file(a, "a", "1"), app_file(a, "b", "1")])
        .collect();
    let published = Published::new(&files);
    install();
    let mut docs: Vec<String> = (0..APPS / PER_SOURCE)
        .map(|g| git_repository(&ns, &format!("src-{g:02}"), &published.url(), "2s"))
        .collect();
    docs.extend((0..APPS).map(|a| {
        kustomization(
            &ns,
            &format!("app-{a:03}"),
            &format!("src-{:02}", a / PER_SOURCE),
            &format!("./apps/app-{a:03}"),
            "10m",
        )
    }));
    apply_docs(&docs);
    let _controller = ControllerProcess::start(&ns, &["--concurrency", "8"]);
    wait_for("every app Ready", 1200, || {
        (ready_count(&ns, None) == APPS).then_some(())
    });
    let before = configmaps(&ns);
    assert_eq!(
        before.len(),
        2 * APPS,
        "{:?}",
        before.keys().take(5).collect::<Vec<_>>()
    );

    // One push: `a` of every third app changes, `b` of app 1 goes; nothing else moves.
    for a in (0..APPS).step_by(3) {
        let (path, text) = app_file(a, "a", "2");
        published.repo().write(&path, &text);
    }
    published.repo().remove("apps/app-001/b.yaml");
    let revision = published.push("every third app");
    wait_for("every app at the new revision", 1200, || {
        (ready_count(&ns, Some(&revision)) == APPS).then_some(())
    });
    let after = configmaps(&ns);
    let mut changed = Vec::new();
    for (name, (value, rv)) in &before {
        match after.get(name) {
            None => assert_eq!(name, "app-001-b", "only app-001-b is pruned"),
            Some((v, r)) if r != rv => {
                assert_eq!(v, "2", "{name} was written but its value is {v}");
                changed.push(name.clone());
            }
            Some((v, _)) => assert_eq!(v, value, "{name}"),
        }
    }
    let expected: Vec<String> = (0..APPS).step_by(3).map(|a| format!("app-{a:03}-a")).collect();
    assert_eq!(changed, expected, "exactly the changed objects were written");
    assert!(!after.contains_key("app-001-b"), "app-001-b pruned");
    assert_eq!(after.len(), 2 * APPS - 1);
}
