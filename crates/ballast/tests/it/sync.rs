use ballast_testenv::git::GitRepo;

use crate::support::*;

fn sync(name: &str, repo: &GitRepo, extra: &[&str]) -> Run {
    let url = repo.url();
    let mut args = vec!["sync", "--name", name, "--url", &url, "--path", ".", "--prune"];
    args.extend_from_slice(extra);
    ballast(&args)
}

#[test]
fn create_resync_change_and_prune() {
    let ns = namespace("sync-flow");
    let repo = GitRepo::new();
    repo.write("cm.yaml", &configmap(&ns, "settings", "v1"));
    repo.write("app/deploy.yaml", &deployment(&ns, "web", 1));
    repo.write("app/svc.yaml", &service(&ns, "web"));
    repo.commit("init");

    let run = sync(&ns, &repo, &[]).ok();
    for line in [
        format!("ConfigMap/{ns}/settings created"),
        format!("Deployment/{ns}/web created"),
        format!("Service/{ns}/web created"),
    ] {
        assert!(
            run.lines().contains(&line.as_str()),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
    for (kind, name) in [("configmap", "settings"), ("deployment", "web"), ("service", "web")] {
        let live = get(kind, Some(&ns), name).expect("created");
        assert!(
            managers(&live).contains(&"ballast".to_string()),
            "{kind}/{name} managers: {:?}",
            managers(&live)
        );
    }
    assert_eq!(inventory(&ns).len(), 3);

    // A second sync of the same commit writes nothing.
    let objects = [("configmap", "settings"), ("deployment", "web"), ("service", "web")];
    let before: Vec<String> = objects.iter().map(|(k, n)| resource_version(k, Some(&ns), n)).collect();
    let inv_before = resource_version("configmap", Some("default"), &format!("ballast-inventory-{ns}"));
    let run = sync(&ns, &repo, &[]).ok();
    assert!(run.lines().iter().all(|l| l.ends_with(" unchanged")), "{}", run.stdout);
    assert_eq!(run.lines().len(), 3);
    assert!(run.stderr.contains("(0 write requests)"), "{}", run.stderr);
    let after: Vec<String> = objects.iter().map(|(k, n)| resource_version(k, Some(&ns), n)).collect();
    assert_eq!(before, after, "a no-op sync moved resourceVersions");
    assert_eq!(
        inv_before,
        resource_version("configmap", Some("default"), &format!("ballast-inventory-{ns}"))
    );

    // A change in Git is configured.
    repo.write("app/deploy.yaml", &deployment(&ns, "web", 2));
    repo.commit("scale");
    let run = sync(&ns, &repo, &[]).ok();
    assert!(
        run.lines()
            .contains(&format!("Deployment/{ns}/web configured").as_str()),
        "{}",
        run.stdout
    );
    assert_eq!(get("deployment", Some(&ns), "web").unwrap()["spec"]["replicas"], 2);

    // A field removed from Git is removed from the cluster (a no-op check must not hide it):
    // the live object still holds every field Git sets, but the apply would drop the label.
    let labelled = configmap(&ns, "settings", "v1").replace("metadata:\n", "metadata:\n  labels:\n    tier: gold\n");
    assert!(labelled.contains("tier: gold"), "{labelled}");
    repo.write("cm.yaml", &labelled);
    repo.commit("label");
    sync(&ns, &repo, &[]).ok();
    assert_eq!(
        get("configmap", Some(&ns), "settings").unwrap()["metadata"]["labels"]["tier"],
        "gold"
    );
    repo.write("cm.yaml", &configmap(&ns, "settings", "v1"));
    repo.commit("unlabel");
    let run = sync(&ns, &repo, &[]).ok();
    assert!(
        run.lines()
            .contains(&format!("ConfigMap/{ns}/settings configured").as_str()),
        "{}",
        run.stdout
    );
    let live = get("configmap", Some(&ns), "settings").unwrap();
    assert!(live["metadata"]["labels"].get("tier").is_none(), "{live}");

    // A removed file is pruned.
    repo.remove("cm.yaml");
    repo.commit("remove settings");
    let run = sync(&ns, &repo, &[]).ok();
    assert!(
        run.lines()
            .contains(&format!("ConfigMap/{ns}/settings deleted").as_str()),
        "{}",
        run.stdout
    );
    assert!(get("configmap", Some(&ns), "settings").is_none());
    assert_eq!(inventory(&ns).len(), 2);
    assert!(
        run.stderr.contains(&format!("main@sha1:{}", repo.head())),
        "{}",
        run.stderr
    );
}

#[test]
fn without_prune_removed_objects_leave_the_inventory_for_good() {
    let ns = namespace("sync-noprune");
    let repo = GitRepo::new();
    repo.write("a.yaml", &configmap(&ns, "a", "1"));
    repo.write("b.yaml", &configmap(&ns, "b", "1"));
    repo.commit("init");
    let url = repo.url();
    ballast(&["sync", "--name", &ns, "--url", &url]).ok();
    repo.remove("b.yaml");
    repo.commit("drop b");
    ballast(&["sync", "--name", &ns, "--url", &url]).ok();
    assert!(get("configmap", Some(&ns), "b").is_some(), "deleted without --prune");
    assert_eq!(inventory(&ns), vec![format!("{ns}_a__ConfigMap")]);
    // As with Flux's `prune: false`: it left the inventory, so turning prune on later never
    // deletes it.
    let rv = resource_version("configmap", Some(&ns), "b");
    let run = ballast(&["sync", "--name", &ns, "--url", &url, "--prune"]).ok();
    assert!(!run.stdout.contains("deleted"), "{}", run.stdout);
    assert_eq!(resource_version("configmap", Some(&ns), "b"), rv, "touched again");
}

#[test]
fn prune_opt_out_annotation_is_honoured() {
    let ns = namespace("sync-optout");
    let repo = GitRepo::new();
    let keep = configmap(&ns, "keep", "1").replace(
        "metadata:\n",
        "metadata:\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n",
    );
    repo.write("keep.yaml", &keep);
    repo.write("drop.yaml", &configmap(&ns, "drop", "1"));
    repo.write("stay.yaml", &configmap(&ns, "stay", "1"));
    repo.commit("init");
    sync(&ns, &repo, &[]).ok();
    repo.remove("keep.yaml");
    repo.remove("drop.yaml");
    repo.commit("remove two");
    let run = sync(&ns, &repo, &[]).ok();
    assert!(
        run.stdout.contains(&format!(
            "ConfigMap/{ns}/keep skipped (prune skipped: kustomize.toolkit.fluxcd.io/prune: disabled)"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("ConfigMap/{ns}/drop deleted")),
        "{}",
        run.stdout
    );
    assert!(get("configmap", Some(&ns), "keep").is_some());
    assert!(get("configmap", Some(&ns), "drop").is_none());
    assert_eq!(inventory(&ns), vec![format!("{ns}_stay__ConfigMap")]);
}

#[test]
fn crd_namespace_and_custom_resource_in_one_pass() {
    let ns = format!("crd-{}", std::process::id());
    let repo = GitRepo::new();
    repo.write("crd.yaml", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.ballast.example.com\nspec:\n  group: ballast.example.com\n  scope: Namespaced\n  names:\n    kind: Widget\n    plural: widgets\n    singular: widget\n    listKind: WidgetList\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n");
    repo.write(
        "ns.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
    );
    repo.write("widget.yaml", &format!("apiVersion: ballast.example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: {ns}\nspec:\n  size: 3\n"));
    repo.write("cm.yaml", &configmap(&ns, "c", "1"));
    repo.commit("init");
    let run = sync(&ns, &repo, &[]).ok();
    let lines = run.lines();
    let pos = |needle: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("{needle} missing:\n{}", run.stdout))
    };
    assert!(
        pos("CustomResourceDefinition/widgets.ballast.example.com created") < pos(&format!("Widget/{ns}/w1 created"))
    );
    assert!(pos(&format!("Namespace/{ns} created")) < pos(&format!("ConfigMap/{ns}/c created")));
    assert_eq!(get("widget", Some(&ns), "w1").unwrap()["spec"]["size"], 3);
    let run = sync(&ns, &repo, &[]).ok();
    assert!(run.lines().iter().all(|l| l.ends_with(" unchanged")), "{}", run.stdout);
}

#[test]
fn conflict_with_another_applier_needs_force() {
    let ns = namespace("sync-conflict");
    let repo = GitRepo::new();
    repo.write("cm.yaml", &configmap(&ns, "c", "from-git"));
    repo.commit("init");
    sync(&ns, &repo, &[]).ok();
    let other = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(other.path(), configmap(&ns, "c", "from-other")).unwrap();
    let path = other.path().display().to_string();
    kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=other-tool",
        "--force-conflicts",
        "-f",
        &path,
    ]);

    let run = sync(&ns, &repo, &[]).fails();
    assert!(run.stderr.contains(&format!("ConfigMap/{ns}/c")), "{}", run.stderr);
    assert!(
        run.stderr.contains("Conflict") && run.stderr.contains("other-tool") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(get("configmap", Some(&ns), "c").unwrap()["data"]["key"], "from-other");

    let run = sync(&ns, &repo, &["--force"]).ok();
    assert!(
        run.stdout.contains(&format!("ConfigMap/{ns}/c configured")),
        "{}",
        run.stdout
    );
    assert_eq!(get("configmap", Some(&ns), "c").unwrap()["data"]["key"], "from-git");
}

#[test]
fn live_edits_show_in_diff_and_sync_restores_them() {
    let ns = namespace("sync-drift");
    let repo = GitRepo::new();
    repo.write("deploy.yaml", &deployment(&ns, "web", 2));
    repo.write("cm.yaml", &configmap(&ns, "c", "git"));
    repo.commit("init");
    sync(&ns, &repo, &[]).ok();
    kubectl(&["scale", "deployment", "web", "-n", &ns, "--replicas=5"]);
    kubectl(&[
        "patch",
        "configmap",
        "c",
        "-n",
        &ns,
        "--type=merge",
        "-p",
        r#"{"data":{"key":"edited"}}"#,
    ]);
    let url = repo.url();
    let diff = ballast(&["diff", "--name", &ns, "--url", &url]);
    assert_eq!(diff.code, 1, "{}\n{}", diff.stdout, diff.stderr);
    assert!(
        diff.stdout.contains("-  replicas: 5") && diff.stdout.contains("+  replicas: 2"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("-  key: edited") && diff.stdout.contains("+  key: git"),
        "{}",
        diff.stdout
    );
    let run = sync(&ns, &repo, &[]).ok();
    assert!(
        run.stdout.contains(&format!("Deployment/{ns}/web configured")),
        "{}",
        run.stdout
    );
    assert_eq!(get("deployment", Some(&ns), "web").unwrap()["spec"]["replicas"], 2);
    assert_eq!(get("configmap", Some(&ns), "c").unwrap()["data"]["key"], "git");
    assert_eq!(ballast(&["diff", "--name", &ns, "--url", &url]).code, 0);
}

#[test]
fn wait_reports_the_unhealthy_deployment() {
    let ns = namespace("sync-wait");
    let repo = GitRepo::new();
    repo.write("deploy.yaml", &deployment(&ns, "web", 1));
    repo.write("svc.yaml", &service(&ns, "web"));
    repo.commit("init");
    // No kubelet here: the Pods never become ready.
    let run = sync(&ns, &repo, &["--wait", "--timeout", "3s"]).fails();
    assert!(run.stderr.contains(&format!("Deployment/{ns}/web: ")), "{}", run.stderr);
    assert!(run.stderr.contains("replicas"), "{}", run.stderr);
    assert!(
        !run.stderr.contains(&format!("Service/{ns}/web:")),
        "healthy objects are not reported: {}",
        run.stderr
    );

    let ns2 = namespace("sync-wait-ok");
    let ok = GitRepo::new();
    ok.write("cm.yaml", &configmap(&ns2, "c", "1"));
    ok.write("svc.yaml", &service(&ns2, "web"));
    ok.commit("init");
    let run = sync(&ns2, &ok, &["--wait", "--timeout", "20s"]).ok();
    assert!(run.stderr.contains("all 2 objects healthy"), "{}", run.stderr);
}

#[test]
fn target_namespace_moves_namespaced_objects() {
    let ns = namespace("sync-target");
    let repo = GitRepo::new();
    repo.write("cm.yaml", &configmap("elsewhere", "c", "1"));
    repo.commit("init");
    sync(&ns, &repo, &["--target-namespace", &ns]).ok();
    assert!(get("configmap", Some(&ns), "c").is_some());
}

#[test]
fn many_objects_of_one_kind_are_planned_from_one_list() {
    let ns = namespace("sync-many");
    let repo = GitRepo::new();
    for i in 0..20 {
        repo.write(&format!("cm-{i:02}.yaml"), &configmap(&ns, &format!("c{i:02}"), "1"));
    }
    repo.commit("twenty");
    let run = sync(&ns, &repo, &[]).ok();
    assert_eq!(
        run.lines().iter().filter(|l| l.ends_with(" created")).count(),
        20,
        "{}",
        run.stdout
    );
    let rvs: Vec<String> = (0..20)
        .map(|i| resource_version("configmap", Some(&ns), &format!("c{i:02}")))
        .collect();
    let run = sync(&ns, &repo, &[]).ok();
    assert_eq!(
        run.lines().iter().filter(|l| l.ends_with(" unchanged")).count(),
        20,
        "{}",
        run.stdout
    );
    let after: Vec<String> = (0..20)
        .map(|i| resource_version("configmap", Some(&ns), &format!("c{i:02}")))
        .collect();
    assert_eq!(rvs, after);

    repo.write("cm-03.yaml", &configmap(&ns, "c03", "2"));
    for i in 15..20 {
        repo.remove(&format!("cm-{i:02}.yaml"));
    }
    repo.commit("change one, drop five");
    let run = sync(&ns, &repo, &[]).ok();
    assert_eq!(
        run.lines()
            .iter()
            .filter(|l| l.ends_with(" configured"))
            .map(|l| l.to_string())
            .collect::<Vec<_>>(),
        [format!("ConfigMap/{ns}/c03 configured")]
    );
    assert_eq!(
        run.lines().iter().filter(|l| l.ends_with(" deleted")).count(),
        5,
        "{}",
        run.stdout
    );
    assert_eq!(
        run.lines().iter().filter(|l| l.ends_with(" unchanged")).count(),
        14,
        "{}",
        run.stdout
    );
}

#[test]
fn an_object_moved_to_another_sync_is_not_pruned_by_the_old_one() {
    let ns = namespace("sync-move");
    let (a, b) = (GitRepo::new(), GitRepo::new());
    a.write("data.yaml", &configmap(&ns, "data", "1"));
    a.write("keep.yaml", &configmap(&ns, "keep-a", "1"));
    a.commit("a");
    b.write("keep.yaml", &configmap(&ns, "keep-b", "1"));
    b.commit("b");
    let (name_a, name_b) = (format!("{ns}-a"), format!("{ns}-b"));
    sync(&name_a, &a, &[]).ok();
    sync(&name_b, &b, &[]).ok();
    // The object moves from A's repository to B's; B syncs first and takes it over.
    a.remove("data.yaml");
    a.commit("move out");
    b.write("data.yaml", &configmap(&ns, "data", "1"));
    b.commit("move in");
    sync(&name_b, &b, &[]).ok();
    assert_eq!(
        get("configmap", Some(&ns), "data").unwrap()["metadata"]["labels"]["sync.ballast.dev/name"],
        name_b.as_str()
    );
    let run = sync(&name_a, &a, &[]).ok();
    assert!(
        run.stdout.contains(&format!(
            "ConfigMap/{ns}/data skipped (prune skipped: now owned by sync default/{name_b})"
        )),
        "{}",
        run.stdout
    );
    assert!(
        get("configmap", Some(&ns), "data").is_some(),
        "the old owner deleted the moved object"
    );
}

#[test]
fn a_kustomize_overlay_syncs_with_hashed_generators_and_prunes_old_ones() {
    let ns = namespace("sync-kustomize");
    let repo = GitRepo::new();
    repo.write(
        "base/kustomization.yaml",
        "resources:\n- deploy.yaml\nconfigMapGenerator:\n- name: settings\n  literals:\n  - level=info\n",
    );
    repo.write(
        "base/deploy.yaml",
        &deployment("PLACEHOLDER", "web", 1)
            .replace("  namespace: PLACEHOLDER\n", "")
            .replace(
                "        resources:",
                "        envFrom:\n        - configMapRef:\n            name: settings\n        resources:",
            ),
    );
    repo.write(
        "overlays/prod/kustomization.yaml",
        &format!("namespace: {ns}\nnamePrefix: prod-\nresources:\n- ../../base\nreplicas:\n- name: web\n  count: 2\n"),
    );
    repo.commit("overlay");
    let url = repo.url();
    let run = ballast(&[
        "sync",
        "--name",
        &ns,
        "--url",
        &url,
        "--path",
        "overlays/prod",
        "--prune",
    ])
    .ok();
    let cm_line = run
        .lines()
        .into_iter()
        .find(|l| l.starts_with(&format!("ConfigMap/{ns}/prod-settings-")))
        .unwrap_or_else(|| panic!("{}", run.stdout))
        .to_string();
    let cm = cm_line
        .split('/')
        .nth(2)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let web = get("deployment", Some(&ns), "prod-web").expect("prefixed deployment");
    assert_eq!(web["spec"]["replicas"], 2);
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
        cm.as_str()
    );
    // A change to the generator's data gives a new name; the old ConfigMap is pruned.
    repo.write(
        "base/kustomization.yaml",
        "resources:\n- deploy.yaml\nconfigMapGenerator:\n- name: settings\n  literals:\n  - level=debug\n",
    );
    repo.commit("debug");
    let run = ballast(&[
        "sync",
        "--name",
        &ns,
        "--url",
        &url,
        "--path",
        "overlays/prod",
        "--prune",
    ])
    .ok();
    assert!(
        run.stdout.contains(&format!("ConfigMap/{ns}/{cm} deleted")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("Deployment/{ns}/prod-web configured")),
        "{}",
        run.stdout
    );
}
