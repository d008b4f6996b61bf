//! Never delete or overwrite what Git did not ask for: identity across API groups, exact drift,
//! protected prune, the deletion budget, ownership by inclusion, validation before the first
//! write, crash safety. Each test asserts on the live cluster (UIDs, resourceVersions, objects
//! present or absent), not only on messages.

use ballast_testenv::git::GitRepo;

use crate::controller::Served;
use crate::support::*;

fn uid(kind: &str, ns: Option<&str>, name: &str) -> String {
    get(kind, ns, name).unwrap_or_else(|| panic!("{kind} {name} missing"))["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn sync(name: &str, url: &str, extra: &[&str]) -> Run {
    let mut args = vec!["sync", "--name", name, "--url", url, "--prune"];
    args.extend(extra);
    ballast(&args)
}

fn namespace_yaml(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

fn ingress_v1beta1(ns: &str) -> String {
    format!(
        "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: ing\n  namespace: {ns}\nspec:\n  rules:\n  \
         - host: web.example.test\n    http:\n      paths:\n      - path: /\n        backend:\n          serviceName: web\n          servicePort: 80\n"
    )
}

fn ingress_v1(ns: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ing\n  namespace: {ns}\nspec:\n  rules:\n  \
         - host: web.example.test\n    http:\n      paths:\n      - path: /\n        pathType: ImplementationSpecific\n        \
         backend:\n          service:\n            name: web\n            port:\n              number: 80\n"
    )
}

#[test]
fn an_ingress_moved_to_another_api_group_is_kept() {
    let ns = namespace("safe-group");
    let repo = GitRepo::new();
    repo.write("ing.yaml", &ingress_v1beta1(&ns));
    repo.commit("old group");
    let url = repo.url();
    sync(&ns, &url, &[]).ok();
    let before = uid("ingress.networking.k8s.io", Some(&ns), "ing");
    assert_eq!(inventory(&ns), vec![format!("{ns}_ing_extensions_Ingress")]);

    repo.write("ing.yaml", &ingress_v1(&ns));
    repo.commit("new group");
    let run = sync(&ns, &url, &[]).ok();
    assert!(
        !run.stdout.contains("deleted"),
        "the Ingress was deleted:\n{}",
        run.stdout
    );
    assert_eq!(
        uid("ingress.networking.k8s.io", Some(&ns), "ing"),
        before,
        "the Ingress was replaced"
    );
    assert_eq!(inventory(&ns), vec![format!("{ns}_ing_networking.k8s.io_Ingress")]);
    // And once more: steady state, nothing written.
    let run = sync(&ns, &url, &[]).ok();
    assert!(run.stderr.contains("(0 write requests)"), "{}", run.stderr);
    assert_eq!(uid("ingress.networking.k8s.io", Some(&ns), "ing"), before);
}

#[test]
fn a_delete_never_removes_an_object_recreated_under_the_same_name() {
    let ns = namespace("safe-uid");
    kubectl(&["create", "configmap", "c", "-n", &ns, "--from-literal=k=old"]);
    let old = uid("configmap", Some(&ns), "c");
    kubectl(&["delete", "configmap", "c", "-n", &ns]);
    kubectl(&["create", "configmap", "c", "-n", &ns, "--from-literal=k=new"]);
    let new = uid("configmap", Some(&ns), "c");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let result = rt.block_on(async {
        let cluster = ballast_kube::Cluster::connect(&ballast_kube::ConnectOptions {
            kubeconfig: Some(env().kubeconfig.clone()),
            context: None,
            ..Default::default()
        })
        .await
        .unwrap();
        let r = ballast_core::ObjectRef::new("v1", "ConfigMap", Some(&ns), "c");
        cluster.delete(&r, Some(&old)).await
    });
    let err = result.expect_err("a delete with a stale UID must be refused");
    assert!(err.is_precondition_failed(), "{err}");
    assert_eq!(uid("configmap", Some(&ns), "c"), new, "the new object was deleted");
}

#[test]
fn drift_on_an_atomic_selector_is_healed() {
    let ns = namespace("safe-atomic");
    let repo = GitRepo::new();
    repo.write("svc.yaml", &service(&ns, "web"));
    repo.commit("svc");
    let url = repo.url();
    sync(&ns, &url, &[]).ok();
    merge_patch("svc", "web", &ns, r#"{"spec":{"selector":{"extra":"x"}}}"#);
    let drifted = get("service", Some(&ns), "web").unwrap();
    assert_eq!(drifted["spec"]["selector"]["extra"], "x");
    let run = sync(&ns, &url, &[]).ok();
    assert!(
        run.stdout.contains(&format!("Service/{ns}/web configured")),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    let healed = get("service", Some(&ns), "web").unwrap();
    assert_eq!(healed["spec"]["selector"], serde_json::json!({"app": "web"}));
    // Healed for good: the next sync has nothing to do.
    let run = sync(&ns, &url, &[]).ok();
    assert!(run.stderr.contains("(0 write requests)"), "{}", run.stderr);

    // A key added to a granular map (labels) by someone else is theirs and stays.
    kubectl(&["label", "svc", "web", "-n", &ns, "team=x"]);
    let run = sync(&ns, &url, &[]).ok();
    assert!(run.stderr.contains("(0 write requests)"), "{}", run.stderr);
    assert_eq!(
        get("service", Some(&ns), "web").unwrap()["metadata"]["labels"]["team"],
        "x"
    );
}

#[test]
fn pruning_a_namespace_keeps_it_while_another_unit_has_objects_in_it() {
    let ns = namespace("safe-ns");
    let team = format!("{ns}-team2");
    let a = GitRepo::new();
    a.write("ns.yaml", &namespace_yaml(&team));
    a.write("keep.yaml", &configmap(&ns, "a-keep", "1"));
    a.commit("A owns the namespace");
    let b = GitRepo::new();
    b.write("b.yaml", &configmap(&team, "b", "1"));
    b.commit("B has a ConfigMap in it");
    let (ua, ub) = (a.url(), b.url());
    sync(&format!("{ns}-a"), &ua, &[]).ok();
    sync(&format!("{ns}-b"), &ub, &[]).ok();
    let b_uid = uid("configmap", Some(&team), "b");

    a.remove("ns.yaml");
    a.commit("A drops the namespace");
    let run = sync(&format!("{ns}-a"), &ua, &[]).ok();
    let line =
        format!("Namespace/{team} kept (protected: it holds objects this unit does not delete: ConfigMap/{team}/b");
    assert!(run.stdout.contains(&line), "expected {line:?} in:\n{}", run.stdout);
    assert!(get("namespace", None, &team).is_some(), "the namespace was deleted");
    assert_eq!(uid("configmap", Some(&team), "b"), b_uid, "B's ConfigMap was lost");
    assert!(
        inventory(&format!("{ns}-a")).contains(&format!("_{team}__Namespace")),
        "a kept object leaves the inventory only when deleted"
    );

    // The explicit opt-in deletes it.
    let run = sync(&format!("{ns}-a"), &ua, &["--allow-protected-prune"]).ok();
    assert!(
        run.stdout.contains(&format!("Namespace/{team} deleted")),
        "{}",
        run.stdout
    );
    assert!(!inventory(&format!("{ns}-a")).contains(&format!("_{team}__Namespace")));
}

#[test]
fn the_inventory_namespace_is_never_pruned() {
    let ns = namespace("safe-own");
    let own = format!("{ns}-inv");
    let repo = GitRepo::new();
    repo.write("ns.yaml", &namespace_yaml(&own));
    repo.write("cm.yaml", &configmap(&ns, "c", "1"));
    repo.commit("own namespace in Git");
    let url = repo.url();
    sync(&ns, &url, &["--inventory-namespace", &own]).ok();
    repo.remove("ns.yaml");
    repo.commit("drop it");
    let run = sync(&ns, &url, &["--inventory-namespace", &own, "--allow-protected-prune"]).ok();
    assert!(
        run.stdout
            .contains(&format!("Namespace/{own} kept (a system namespace is never pruned)")),
        "{}",
        run.stdout
    );
    assert!(get("namespace", None, &own).is_some());
}

fn crd(group: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.{group}\nspec:\n  group: {group}\n  \
         scope: Namespaced\n  names:\n    plural: gadgets\n    singular: gadget\n    kind: Gadget\n  versions:\n  - name: v1\n    served: true\n    \
         storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n"
    )
}

#[test]
fn pruning_a_crd_keeps_it_while_custom_resources_of_it_exist() {
    let ns = namespace("safe-crd");
    let group = format!("{ns}.example.com");
    let a = GitRepo::new();
    a.write("crd.yaml", &crd(&group));
    a.write("keep.yaml", &configmap(&ns, "a-keep", "1"));
    a.commit("A owns the CRD");
    let b = GitRepo::new();
    b.write(
        "g.yaml",
        &format!("apiVersion: {group}/v1\nkind: Gadget\nmetadata:\n  name: g\n  namespace: {ns}\nspec:\n  size: 1\n"),
    );
    b.commit("B owns a Gadget");
    let (ua, ub) = (a.url(), b.url());
    sync(&format!("{ns}-a"), &ua, &[]).ok();
    sync(&format!("{ns}-b"), &ub, &[]).ok();
    let g_uid = uid(&format!("gadgets.{group}"), Some(&ns), "g");

    a.remove("crd.yaml");
    a.commit("A drops the CRD");
    let run = sync(&format!("{ns}-a"), &ua, &[]).ok();
    assert!(
        run.stdout.contains(&format!(
            "CustomResourceDefinition/gadgets.{group} kept (protected: custom resources of it still exist: Gadget/{ns}/g"
        )),
        "{}",
        run.stdout
    );
    assert!(
        get("crd", None, &format!("gadgets.{group}")).is_some(),
        "the CRD was deleted"
    );
    assert_eq!(uid(&format!("gadgets.{group}"), Some(&ns), "g"), g_uid);

    // Once the custom resources are gone, the next sync deletes the CRD.
    kubectl(&["delete", &format!("gadgets.{group}"), "g", "-n", &ns]);
    let run = sync(&format!("{ns}-a"), &ua, &[]).ok();
    assert!(
        run.stdout
            .contains(&format!("CustomResourceDefinition/gadgets.{group} deleted")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_prune_over_the_budget_deletes_nothing_until_approved() {
    let ns = namespace("safe-budget");
    let repo = GitRepo::new();
    for i in 0..20 {
        repo.write(&format!("c{i:02}.yaml"), &configmap(&ns, &format!("c{i:02}"), "1"));
    }
    repo.commit("20 objects");
    let url = repo.url();
    sync(&ns, &url, &[]).ok();
    let uids: Vec<String> = (0..20)
        .map(|i| uid("configmap", Some(&ns), &format!("c{i:02}")))
        .collect();
    for i in 5..20 {
        repo.remove(&format!("c{i:02}.yaml"));
    }
    repo.write("c00.yaml", &configmap(&ns, "c00", "2"));
    repo.commit("drop 15, change one");
    let run = sync(&ns, &url, &[]).fails();
    assert!(
        run.stderr
            .contains("prune budget exceeded: 15 deletions of 20 owned objects"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(&format!("ConfigMap/{ns}/c00 configured")),
        "the rest is applied"
    );
    assert!(
        run.stdout
            .contains(&format!("ConfigMap/{ns}/c19 kept (prune budget exceeded"))
    );
    for (i, u) in uids.iter().enumerate() {
        assert_eq!(&uid("configmap", Some(&ns), &format!("c{i:02}")), u, "c{i:02} was lost");
    }
    assert_eq!(inventory(&ns).len(), 20, "withheld objects stay owned");
    // diff says the same, without writing.
    let diff = ballast(&["diff", "--name", &ns, "--url", &url]);
    assert!(diff.stdout.contains("prune budget exceeded"), "{}", diff.stdout);

    let run = sync(&ns, &url, &["--approve-prune"]).ok();
    assert!(
        run.stdout.contains(&format!("ConfigMap/{ns}/c19 deleted")),
        "{}",
        run.stdout
    );
    for i in 5..20 {
        assert!(get("configmap", Some(&ns), &format!("c{i:02}")).is_none());
    }
    assert_eq!(inventory(&ns).len(), 5);
    // A malformed budget is refused before anything happens.
    let run = ballast(&["sync", "--name", &ns, "--url", &url, "--prune", "--prune-budget", "x"]).fails();
    assert!(run.stderr.contains("prune budget \"x\""), "{}", run.stderr);
}

#[test]
fn prune_deletes_only_objects_labelled_as_this_units() {
    let ns = namespace("safe-label");
    let repo = GitRepo::new();
    repo.write("a.yaml", &configmap(&ns, "a", "1"));
    repo.write("b.yaml", &configmap(&ns, "b", "1"));
    repo.commit("two");
    let url = repo.url();
    sync(&ns, &url, &[]).ok();
    // Someone recreates `b` by hand: same name, not this unit's.
    kubectl(&["delete", "configmap", "b", "-n", &ns]);
    kubectl(&["create", "configmap", "b", "-n", &ns, "--from-literal=k=theirs"]);
    let theirs = uid("configmap", Some(&ns), "b");
    repo.remove("b.yaml");
    repo.commit("drop b");
    let run = sync(&ns, &url, &[]).ok();
    assert!(
        run.stdout.contains(&format!(
            "ConfigMap/{ns}/b skipped (prune skipped: not labelled as owned by this unit"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(uid("configmap", Some(&ns), "b"), theirs);
}

#[test]
fn objects_handed_from_a_sync_to_a_kustomization_and_back_are_pruned_by_their_owner_only() {
    let ns = namespace("safe-handover");
    let files = vec![
        ("apps/demo/w.yaml", configmap(&ns, "w", "1")),
        ("apps/demo/keep.yaml", configmap(&ns, "keep", "1")),
    ];
    let served = Served::new(&ns, &files);
    let url = served.url();
    let unit = format!("{ns}-cli");
    // 1. A one-shot sync owns `w` first.
    ballast(&["sync", "--name", &unit, "--url", &url, "--path", "apps/demo", "--prune"]).ok();
    assert_eq!(
        get("configmap", Some(&ns), "w").unwrap()["metadata"]["labels"]["sync.ballast.dev/name"],
        unit.as_str()
    );
    // 2. A Kustomization takes the same objects over.
    served.apply_flux_objects(&ns);
    let _controller = ControllerProcess::start(&ns, &[]);
    wait_for("the Kustomization to own w", 60, || {
        let w = get("configmap", Some(&ns), "w")?;
        (w["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"] == "app").then_some(())
    });
    // 3. `w` leaves Git: the sync that left it does not delete it ... (the Kustomization is
    //    suspended meanwhile, so it cannot prune `w` before the sync has looked at it)
    ballast(&["suspend", "kustomization", "app", "-n", &ns]).ok();
    served.repo.remove("apps/demo/w.yaml");
    served.commit("drop w");
    let run = ballast(&["sync", "--name", &unit, "--url", &url, "--path", "apps/demo", "--prune"]).ok();
    assert!(
        run.stdout
            .contains(&format!("ConfigMap/{ns}/w skipped (prune skipped: now owned by")),
        "{}",
        run.stdout
    );
    // ... its owner, the Kustomization, does.
    ballast(&["resume", "kustomization", "app", "-n", &ns]).ok();
    wait_for("the Kustomization to prune w", 60, || {
        get("configmap", Some(&ns), "w").is_none().then_some(())
    });

    // 4. The other way: `keep` leaves the Kustomization's path for one the sync renders. The
    //    sync takes it over while the Kustomization is suspended; once resumed at the new
    //    revision, the Kustomization never deletes what now names the sync.
    ballast(&["suspend", "kustomization", "app", "-n", &ns]).ok();
    let keep_uid = uid("configmap", Some(&ns), "keep");
    served.repo.remove("apps/demo/keep.yaml");
    served.repo.write("cli/keep.yaml", &configmap(&ns, "keep", "1"));
    served.repo.write("apps/demo/other.yaml", &configmap(&ns, "other", "1"));
    served.commit("keep moves to the CLI's care");
    let head = served.repo.head();
    wait_for("the GitRepository at the new commit", 60, || {
        let repo = get("gitrepository", Some(&ns), "app")?;
        repo["status"]["artifact"]["revision"]
            .as_str()?
            .ends_with(&head)
            .then_some(())
    });
    ballast(&["sync", "--name", &unit, "--url", &url, "--path", "cli", "--prune"]).ok();
    assert_eq!(
        get("configmap", Some(&ns), "keep").unwrap()["metadata"]["labels"]["sync.ballast.dev/name"],
        unit.as_str()
    );
    ballast(&["resume", "kustomization", "app", "-n", &ns]).ok();
    wait_for("the Kustomization to apply other", 60, || {
        get("configmap", Some(&ns), "other").map(|_| ())
    });
    wait_for("the Kustomization at the new revision", 60, || {
        let ks = get("kustomization", Some(&ns), "app")?;
        ks["status"]["lastAppliedRevision"]
            .as_str()?
            .ends_with(&head)
            .then_some(())
    });
    assert_eq!(
        uid("configmap", Some(&ns), "keep"),
        keep_uid,
        "the Kustomization deleted the sync's object"
    );
    // Its owner prunes it.
    served.repo.remove("cli/keep.yaml");
    served.repo.write("cli/x.yaml", &configmap(&ns, "x", "1"));
    served.commit("keep leaves Git");
    let run = ballast(&["sync", "--name", &unit, "--url", &url, "--path", "cli", "--prune"]).ok();
    assert!(
        run.stdout.contains(&format!("ConfigMap/{ns}/keep deleted")),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_names_and_flags_are_refused_before_anything_is_written() {
    let ns = namespace("safe-validate");
    let repo = GitRepo::new();
    repo.write("cm.yaml", &configmap(&ns, "c", "1"));
    repo.commit("one");
    let url = repo.url();
    let run = ballast(&["sync", "--name", "A", "--url", &url]).fails();
    assert!(run.stderr.contains("--name \"A\""), "{}", run.stderr);
    assert!(get("configmap", Some(&ns), "c").is_none(), "an object was written");
    assert!(get("configmap", Some("default"), "ballast-inventory-A").is_none());
    let run = ballast(&["sync", "--name", &ns, "--url", &url, "--target-namespace", "Bad_NS"]).fails();
    assert!(run.stderr.contains("--target-namespace \"Bad_NS\""), "{}", run.stderr);
    assert!(get("configmap", Some(&ns), "c").is_none());

    // An object in a Namespace this same sync creates, with a label the server would refuse:
    // refused before the Namespace is written.
    let fresh = format!("{ns}-fresh");
    repo.write("ns.yaml", &namespace_yaml(&fresh));
    repo.write(
        "bad.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  namespace: {fresh}\n  labels:\n    tier: -front-\n"),
    );
    repo.commit("bad label in a new namespace");
    let run = sync(&ns, &url, &[]).fails();
    assert!(
        run.stderr.contains(&format!(
            "ConfigMap/{fresh}/bad (bad.yaml (document 0)): metadata.labels.tier"
        )),
        "{}",
        run.stderr
    );
    assert!(get("namespace", None, &fresh).is_none(), "the namespace was written");
    assert!(get("configmap", Some(&ns), "c").is_none());
}

#[test]
fn objects_without_a_namespace_do_not_follow_the_kubeconfig_context() {
    let ns = namespace("safe-ctxns");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::copy(&env().kubeconfig, &kubeconfig).unwrap();
    let kc = kubeconfig.display().to_string();
    let set = std::process::Command::new(ballast_local::find_binary("kubectl").unwrap())
        .args([
            "--kubeconfig",
            &kc,
            "config",
            "set-context",
            "--current",
            &format!("--namespace={ns}"),
        ])
        .output()
        .unwrap();
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let repo = GitRepo::new();
    let name = format!("{ns}-nons");
    repo.write(
        "cm.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"),
    );
    repo.commit("no namespace");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(["--kubeconfig", &kc, "sync", "--name", &name, "--url", &repo.url()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(get("configmap", Some("default"), &name).is_some(), "not in default");
    assert!(
        get("configmap", Some(&ns), &name).is_none(),
        "followed the context's namespace"
    );
    assert_eq!(inventory(&name), vec![format!("default_{name}__ConfigMap")]);
    kubectl(&["delete", "configmap", &name, "-n", "default"]);
    kubectl(&[
        "delete",
        "configmap",
        &format!("ballast-inventory-{name}"),
        "-n",
        "default",
    ]);

    // An inventory from when namespace-less objects followed the context: the sync refuses to
    // move them (create copies in default, prune the originals) and names the flag.
    kubectl(&["create", "configmap", &name, "-n", &ns, "--from-literal=k=v"]);
    kubectl(&[
        "label",
        "configmap",
        &name,
        "-n",
        &ns,
        &format!("sync.ballast.dev/name={name}"),
        "sync.ballast.dev/namespace=default",
    ]);
    let original = uid("configmap", Some(&ns), &name);
    let entries = format!(r#"{{"entries":[{{"id":"{ns}_{name}__ConfigMap","v":"v1"}}]}}"#);
    kubectl(&[
        "create",
        "configmap",
        &format!("ballast-inventory-{name}"),
        "-n",
        "default",
        &format!("--from-literal=inventory={entries}"),
    ]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args([
            "--kubeconfig",
            &kc,
            "sync",
            "--name",
            &name,
            "--url",
            &repo.url(),
            "--prune",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("Pass --target-namespace {ns}")), "{stderr}");
    assert!(get("configmap", Some("default"), &name).is_none(), "a copy was created");
    assert_eq!(uid("configmap", Some(&ns), &name), original, "the original was lost");
    kubectl(&[
        "delete",
        "configmap",
        &format!("ballast-inventory-{name}"),
        "-n",
        "default",
    ]);
}

#[test]
fn a_controller_killed_mid_apply_orphans_nothing_and_prunes_what_left_git() {
    let ns = namespace("safe-crash");
    let files = configmap_files(&ns, 300);
    let refs: Vec<(&str, String)> = files.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
    let served = Served::new(&ns, &refs);
    served.apply_flux_objects(&ns);
    let count = || {
        kubectl(&["get", "configmaps", "-n", &ns, "-o", "name"])
            .lines()
            .filter(|l| l.starts_with("configmap/c"))
            .count()
    };
    // A watch notices the first object at once; the controller is killed right then.
    let mut watch = std::process::Command::new(ballast_local::find_binary("kubectl").unwrap())
        .arg("--kubeconfig")
        .arg(&env().kubeconfig)
        .args(["get", "configmaps", "-n", &ns, "--watch", "-o", "name"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (seen, first_object) = std::sync::mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("configmap/c") {
                let _ = seen.send(());
                return;
            }
        }
    });
    let mut first = ControllerProcess::start(&ns, &[]);
    first_object
        .recv_timeout(std::time::Duration::from_secs(90))
        .expect("the apply to start");
    first.kill();
    let _ = watch.kill();
    let _ = watch.wait();
    let at_kill = count();
    assert!(at_kill < 300, "the apply finished before the kill ({at_kill} objects)");
    // The inventory recorded all 300 before the first write.
    let ks = get("kustomization", Some(&ns), "app").unwrap();
    assert_eq!(ks["status"]["inventory"]["entries"].as_array().unwrap().len(), 300);

    for (path, _) in files.iter().skip(200) {
        served.repo.remove(path);
    }
    served.commit("remove 100");
    let _second = ControllerProcess::start(&ns, &["--prune-budget", "0"]);
    wait_for("Ready after restart", 120, || {
        ready("kustomization", &ns, "app").filter(|(s, m)| s == "True" && m.contains("Applied revision"))
    });
    wait_for("the 100 removed objects pruned", 60, || (count() == 200).then_some(()));
    for i in 0..300 {
        let present = get("configmap", Some(&ns), &format!("c{i:03}")).is_some();
        assert_eq!(present, i < 200, "c{i:03}");
    }
    let ks = get("kustomization", Some(&ns), "app").unwrap();
    assert_eq!(ks["status"]["inventory"]["entries"].as_array().unwrap().len(), 200);
}

#[test]
fn a_kustomization_over_its_prune_budget_waits_for_approval() {
    let ns = namespace("safe-ks-budget");
    let files = configmap_files(&ns, 20);
    let refs: Vec<(&str, String)> = files.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
    let served = Served::new(&ns, &refs);
    served.apply_flux_objects(&ns);
    let _controller = ControllerProcess::start(&ns, &[]);
    wait_for("Ready", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });
    for (path, _) in files.iter().skip(5) {
        served.repo.remove(path);
    }
    served.commit("remove 15");
    let message = wait_for("PruneBudgetExceeded", 60, || {
        let ks = get("kustomization", Some(&ns), "app")?;
        let c = ks["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Ready" && c["reason"] == "PruneBudgetExceeded")?
            .clone();
        Some(c["message"].as_str()?.to_string())
    });
    assert!(message.contains(&format!("ConfigMap/{ns}/c019")), "{message}");
    for i in 0..20 {
        assert!(
            get("configmap", Some(&ns), &format!("c{i:03}")).is_some(),
            "c{i:03} lost"
        );
    }
    assert!(
        events(&ns)
            .iter()
            .any(|(r, m)| r == "PruneBudgetExceeded" && m.contains("c019")),
        "no event"
    );
    let revision = get("kustomization", Some(&ns), "app").unwrap()["status"]["lastAttemptedRevision"]
        .as_str()
        .unwrap()
        .to_string();
    kubectl(&[
        "annotate",
        "kustomization",
        "app",
        "-n",
        &ns,
        &format!("ballast.dev/approve-prune={revision}"),
    ]);
    ballast(&["reconcile", "kustomization", "app", "-n", &ns]).ok();
    wait_for("the approved prune", 60, || {
        (0..20)
            .all(|i| get("configmap", Some(&ns), &format!("c{i:03}")).is_some() == (i < 5))
            .then_some(())
    });
}

#[test]
fn the_controller_heals_atomic_drift_and_reports_what_it_keeps() {
    let ns = namespace("safe-ks-keep");
    let team = format!("{ns}-k");
    let files = vec![
        ("apps/demo/svc.yaml", service(&ns, "web")),
        ("apps/demo/ns.yaml", namespace_yaml(&team)),
    ];
    let served = Served::new(&ns, &files);
    served.apply_flux_objects(&ns);
    let controller = ControllerProcess::start(&ns, &[]);
    wait_for("Ready", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });

    // Drift on the atomic selector comes back through the watch, and is put back.
    merge_patch("svc", "web", &ns, r#"{"spec":{"selector":{"extra":"x"}}}"#);
    wait_for("the selector healed", 30, || {
        let svc = get("service", Some(&ns), "web")?;
        (svc["spec"]["selector"] == serde_json::json!({"app": "web"})).then_some(())
    });

    // Another unit puts an object in the Kustomization's namespace; the namespace leaves Git.
    let b = GitRepo::new();
    b.write("b.yaml", &configmap(&team, "b", "1"));
    b.commit("b");
    sync(&format!("{ns}-b"), &b.url(), &[]).ok();
    served.repo.remove("apps/demo/ns.yaml");
    served.commit("drop the namespace");
    let (_, message) = wait_for("the namespace reported as kept", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, m)| s == "True" && m.contains("not pruned"))
    });
    assert!(
        message.contains(&format!(
            "Namespace/{team} kept (protected: it holds objects this unit does not delete: ConfigMap/{team}/b"
        )),
        "{message}"
    );
    assert!(get("namespace", None, &team).is_some());
    assert!(get("configmap", Some(&team), "b").is_some());
    assert!(
        events(&ns)
            .iter()
            .any(|(r, m)| r == "PruneProtected" && m.contains(&team)),
        "no PruneProtected event; log:\n{}",
        controller.log()
    );
    let ks = get("kustomization", Some(&ns), "app").unwrap();
    let ids: Vec<&str> = ks["status"]["inventory"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&format!("_{team}__Namespace").as_str()), "{ids:?}");
}

#[test]
fn drift_on_a_crd_field_marked_atomic_is_healed() {
    let ns = namespace("safe-crd-atomic");
    let group = format!("{ns}.example.com");
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: routes.{group}\nspec:\n  group: {group}\n  \
         scope: Namespaced\n  names:\n    plural: routes\n    singular: route\n    kind: Route\n  versions:\n  - name: v1\n    served: true\n    \
         storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            \
         properties:\n              match:\n                type: object\n                x-kubernetes-map-type: atomic\n                \
         additionalProperties:\n                  type: string\n              labels:\n                type: object\n                \
         additionalProperties:\n                  type: string\n"
    );
    let repo = GitRepo::new();
    repo.write("crd.yaml", &crd);
    repo.write(
        "route.yaml",
        &format!(
            "apiVersion: {group}/v1\nkind: Route\nmetadata:\n  name: r\n  namespace: {ns}\nspec:\n  match:\n    app: web\n  labels:\n    app: web\n"
        ),
    );
    repo.commit("crd and route");
    let url = repo.url();
    sync(&ns, &url, &[]).ok();
    let kind = format!("routes.{group}");
    kubectl(&[
        "patch",
        &kind,
        "r",
        "-n",
        &ns,
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"match":{"extra":"x"},"labels":{"extra":"x"}}}"#,
    ]);
    let run = sync(&ns, &url, &[]).ok();
    assert!(
        run.stdout.contains(&format!("Route/{ns}/r configured")),
        "{}",
        run.stdout
    );
    let live = get(&kind, Some(&ns), "r").unwrap();
    // The atomic map is Git's again; the granular one keeps the other writer's key.
    assert_eq!(live["spec"]["match"], serde_json::json!({"app": "web"}));
    assert_eq!(live["spec"]["labels"], serde_json::json!({"app": "web", "extra": "x"}));
    let run = sync(&ns, &url, &[]).ok();
    assert!(run.stderr.contains("(0 write requests)"), "{}", run.stderr);
}
