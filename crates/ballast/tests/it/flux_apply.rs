//! Flux's apply semantics: per-object policies (`ssa`, `force`, `reconcile`), `prune: false`,
//! taking over fields from kubectl and Flux, and recreating objects whose immutable fields
//! changed. Each test asserts on the live cluster.

use ballast_testenv::git::GitRepo;

use crate::controller::Served;
use crate::support::*;

fn sync(name: &str, url: &str, extra: &[&str]) -> Run {
    let mut args = vec!["sync", "--name", name, "--url", url, "--prune"];
    args.extend(extra);
    ballast(&args)
}

fn uid(kind: &str, ns: &str, name: &str) -> String {
    get(kind, Some(ns), name).unwrap_or_else(|| panic!("{kind} {name} missing"))["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn annotated(text: &str, key: &str, value: &str) -> String {
    text.replacen(
        "metadata:\n",
        &format!("metadata:\n  annotations:\n    {key}: {value}\n"),
        1,
    )
}

fn secret(ns: &str, name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\nstringData:\n  token: {value}\n"
    )
}

#[test]
fn ssa_if_not_present_creates_once_and_never_overwrites() {
    let ns = namespace("flux-ifnp");
    let repo = GitRepo::new();
    let placeholder = |v: &str| {
        annotated(
            &secret(&ns, "token", v),
            "kustomize.toolkit.fluxcd.io/ssa",
            "IfNotPresent",
        )
    };
    repo.write("secret.yaml", &placeholder("placeholder"));
    repo.write("cm.yaml", &configmap(&ns, "c", "1"));
    repo.commit("placeholder");
    let url = repo.url();
    sync(&ns, &url, &[]).ok();
    // An operator fills it in.
    kubectl(&[
        "patch",
        "secret",
        "token",
        "-n",
        &ns,
        "-p",
        r#"{"stringData":{"token":"filled-in"}}"#,
    ]);
    let filled = get("secret", Some(&ns), "token").unwrap()["data"]["token"].clone();
    let rv = resource_version("secret", Some(&ns), "token");
    repo.write("secret.yaml", &placeholder("changed-in-git"));
    repo.commit("git changes it too");
    let run = sync(&ns, &url, &[]).ok();
    assert!(
        run.stdout.contains(&format!(
            "Secret/{ns}/token skipped (kustomize.toolkit.fluxcd.io/ssa: IfNotPresent)"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(resource_version("secret", Some(&ns), "token"), rv, "overwritten");
    assert_eq!(get("secret", Some(&ns), "token").unwrap()["data"]["token"], filled);
    assert!(inventory(&ns).contains(&format!("{ns}_token__Secret")), "still owned");
    // Gone from the cluster: created again from Git.
    kubectl(&["delete", "secret", "token", "-n", &ns]);
    let run = sync(&ns, &url, &[]).ok();
    assert!(
        run.stdout.contains(&format!("Secret/{ns}/token created")),
        "{}",
        run.stdout
    );
    // Still owned, so removed from Git it is pruned.
    repo.remove("secret.yaml");
    repo.commit("drop it");
    let run = sync(&ns, &url, &[]).ok();
    assert!(
        run.stdout.contains(&format!("Secret/{ns}/token deleted")),
        "{}",
        run.stdout
    );
}

#[test]
fn ssa_ignore_is_never_applied() {
    let ns = namespace("flux-ignore");
    let repo = GitRepo::new();
    repo.write(
        "ignored.yaml",
        &annotated(
            &configmap(&ns, "ignored", "1"),
            "kustomize.toolkit.fluxcd.io/ssa",
            "Ignore",
        ),
    );
    repo.write("cm.yaml", &configmap(&ns, "c", "1"));
    repo.commit("one ignored");
    let run = sync(&ns, &repo.url(), &[]).ok();
    assert!(
        run.stdout.contains(&format!(
            "ConfigMap/{ns}/ignored skipped (kustomize.toolkit.fluxcd.io/ssa: Ignore)"
        )),
        "{}",
        run.stdout
    );
    assert!(get("configmap", Some(&ns), "ignored").is_none(), "applied");
    assert!(get("configmap", Some(&ns), "c").is_some());
}

#[test]
fn reconcile_disabled_in_the_cluster_pauses_apply_and_prune() {
    let ns = namespace("flux-paused");
    let repo = GitRepo::new();
    repo.write("cm.yaml", &configmap(&ns, "paused", "1"));
    repo.write("other.yaml", &configmap(&ns, "other", "1"));
    repo.commit("init");
    let url = repo.url();
    sync(&ns, &url, &[]).ok();
    kubectl(&[
        "annotate",
        "configmap",
        "paused",
        "-n",
        &ns,
        "kustomize.toolkit.fluxcd.io/reconcile=disabled",
    ]);
    kubectl(&[
        "patch",
        "configmap",
        "paused",
        "-n",
        &ns,
        "-p",
        r#"{"data":{"key":"hand-made"}}"#,
    ]);
    repo.write("cm.yaml", &configmap(&ns, "paused", "2"));
    repo.commit("git changes it");
    let run = sync(&ns, &url, &[]).ok();
    assert!(
        run.stdout.contains(&format!(
            "ConfigMap/{ns}/paused skipped (kustomize.toolkit.fluxcd.io/reconcile: disabled)"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(
        get("configmap", Some(&ns), "paused").unwrap()["data"]["key"],
        "hand-made"
    );
    let paused = uid("configmap", &ns, "paused");
    repo.remove("cm.yaml");
    repo.commit("removed from Git");
    sync(&ns, &url, &[]).ok();
    assert_eq!(
        uid("configmap", &ns, "paused"),
        paused,
        "pruned although reconcile is disabled"
    );
    // `enabled` in Git resumes it.
    repo.write(
        "cm.yaml",
        &annotated(
            &configmap(&ns, "paused", "3"),
            "kustomize.toolkit.fluxcd.io/reconcile",
            "enabled",
        ),
    );
    repo.commit("resume");
    sync(&ns, &url, &[]).ok();
    assert_eq!(get("configmap", Some(&ns), "paused").unwrap()["data"]["key"], "3");
}

fn labelled_deployment(ns: &str, name: &str, extra_label: bool) -> String {
    let d = deployment(ns, name, 1);
    if extra_label {
        d.replacen("metadata:\n", "metadata:\n  labels:\n    legacy: \"yes\"\n", 1)
    } else {
        d
    }
}

#[test]
fn fields_of_kubectl_and_flux_are_taken_over_so_git_can_remove_them() {
    let ns = namespace("flux-takeover");
    let dir = tempfile::tempdir().unwrap();
    let client = dir.path().join("client.yaml");
    std::fs::write(&client, labelled_deployment(&ns, "client", true)).unwrap();
    kubectl(&["apply", "-f", &client.display().to_string()]);
    let flux = dir.path().join("flux.yaml");
    // Quantities as strings: a 1.20 server refuses a server-side apply of a numeric one.
    std::fs::write(
        &flux,
        labelled_deployment(&ns, "flux", true).replace("cpu: 1", "cpu: \"1\""),
    )
    .unwrap();
    kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=kustomize-controller",
        "-f",
        &flux.display().to_string(),
    ]);
    let before = (uid("deployment", &ns, "client"), uid("deployment", &ns, "flux"));

    // Git has both without the `legacy` label (and one with a changed replica count).
    let repo = GitRepo::new();
    repo.write("client.yaml", &labelled_deployment(&ns, "client", false));
    repo.write("flux.yaml", &deployment(&ns, "flux", 2));
    repo.commit("adopt");
    let url = repo.url();
    let run = sync(&ns, &url, &[]).ok();
    assert!(!run.stderr.contains("Conflict"), "{}", run.stderr);
    for name in ["client", "flux"] {
        let d = get("deployment", Some(&ns), name).unwrap();
        assert!(
            d["metadata"]["labels"].get("legacy").is_none(),
            "{name}: legacy label kept: {d}"
        );
        assert!(
            d["metadata"]["annotations"]
                .get("kubectl.kubernetes.io/last-applied-configuration")
                .is_none(),
            "{name}: last-applied annotation kept"
        );
        let managers = managers(&d);
        for gone in [
            "kubectl-client-side-apply",
            "kustomize-controller",
            "before-first-apply",
        ] {
            assert!(
                !managers.iter().any(|m| m == gone),
                "{name}: {gone} still manages: {managers:?}"
            );
        }
    }
    assert_eq!(get("deployment", Some(&ns), "flux").unwrap()["spec"]["replicas"], 2);
    assert_eq!(
        (uid("deployment", &ns, "client"), uid("deployment", &ns, "flux")),
        before,
        "adopted, not recreated"
    );
    let run = sync(&ns, &url, &[]).ok();
    assert!(run.stderr.contains("(0 write requests)"), "{}", run.stderr);
}

#[test]
fn ssa_merge_leaves_other_tools_fields() {
    let ns = namespace("flux-merge");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.yaml");
    std::fs::write(&file, labelled_deployment(&ns, "web", true)).unwrap();
    kubectl(&["apply", "-f", &file.display().to_string()]);
    let repo = GitRepo::new();
    repo.write(
        "d.yaml",
        &annotated(
            &labelled_deployment(&ns, "web", false),
            "kustomize.toolkit.fluxcd.io/ssa",
            "Merge",
        ),
    );
    repo.commit("merge");
    sync(&ns, &repo.url(), &[]).ok();
    let d = get("deployment", Some(&ns), "web").unwrap();
    assert_eq!(d["metadata"]["labels"]["legacy"], "yes", "Merge keeps kubectl's fields");
    assert!(managers(&d).iter().any(|m| m == "kubectl-client-side-apply"));
}

fn job(ns: &str, image: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  namespace: {ns}\nspec:\n  template:\n    spec:\n      \
         restartPolicy: Never\n      containers:\n      - name: migrate\n        image: {image}\n"
    )
}

#[test]
fn an_immutable_change_is_refused_unless_the_object_may_be_recreated() {
    let ns = namespace("flux-recreate");
    let repo = GitRepo::new();
    repo.write("job.yaml", &job(&ns, "registry.invalid/migrate:1"));
    repo.commit("job v1");
    let url = repo.url();
    sync(&ns, &url, &[]).ok();
    let first = uid("job", &ns, "migrate");
    repo.write("job.yaml", &job(&ns, "registry.invalid/migrate:2"));
    repo.commit("job v2");
    let run = sync(&ns, &url, &[]).fails();
    assert!(run.stderr.contains("field is immutable"), "{}", run.stderr);
    assert_eq!(uid("job", &ns, "migrate"), first);
    // The per-object policy lets it be recreated.
    repo.write(
        "job.yaml",
        &annotated(
            &job(&ns, "registry.invalid/migrate:2"),
            "kustomize.toolkit.fluxcd.io/force",
            "Enabled",
        ),
    );
    repo.commit("job v2, force");
    let run = sync(&ns, &url, &[]).ok();
    assert!(
        run.stdout.contains(&format!("Job/{ns}/migrate configured")),
        "{}",
        run.stdout
    );
    let live = get("job", Some(&ns), "migrate").unwrap();
    assert_ne!(live["metadata"]["uid"].as_str().unwrap(), first, "not recreated");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.invalid/migrate:2"
    );

    // `--force` does it for any object: a Service's clusterIP.
    let svc = |ip: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: fixed\n  namespace: {ns}\nspec:\n  clusterIP: {ip}\n  ports:\n  - port: 80\n"
        )
    };
    let suffix = std::process::id() % 200 + 20;
    repo.write("svc.yaml", &svc(&format!("10.96.201.{suffix}")));
    repo.commit("svc");
    sync(&ns, &url, &[]).ok();
    repo.write("svc.yaml", &svc(&format!("10.96.202.{suffix}")));
    repo.commit("svc moves");
    sync(&ns, &url, &[]).fails();
    sync(&ns, &url, &["--force"]).ok();
    assert_eq!(
        get("service", Some(&ns), "fixed").unwrap()["spec"]["clusterIP"],
        format!("10.96.202.{suffix}").as_str()
    );
}

#[test]
fn a_kustomization_without_prune_lets_removed_objects_go_for_good() {
    let ns = namespace("flux-noprune");
    let files = vec![
        ("apps/demo/a.yaml", configmap(&ns, "a", "1")),
        ("apps/demo/b.yaml", configmap(&ns, "b", "1")),
    ];
    let served = Served::new(&ns, &files);
    served.apply_flux_objects(&ns);
    merge_patch("kustomization", "app", &ns, r#"{"spec":{"prune":false}}"#);
    let _controller = ControllerProcess::start(&ns, &[]);
    wait_for("b applied", 60, || get("configmap", Some(&ns), "b").map(|_| ()));
    served.repo.remove("apps/demo/b.yaml");
    served.commit("drop b");
    let ids = || -> Vec<String> {
        get("kustomization", Some(&ns), "app").unwrap()["status"]["inventory"]["entries"]
            .as_array()
            .map(|a| a.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    wait_for("b out of the inventory", 60, || {
        (!ids().contains(&format!("{ns}_b__ConfigMap"))).then_some(())
    });
    let b = uid("configmap", &ns, "b");
    merge_patch("kustomization", "app", &ns, r#"{"spec":{"prune":true}}"#);
    wait_for("Ready with prune on", 60, || {
        let ks = get("kustomization", Some(&ns), "app")?;
        let generation = ks["metadata"]["generation"].as_i64()?;
        (ks["status"]["observedGeneration"].as_i64()? == generation).then_some(())?;
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });
    assert_eq!(uid("configmap", &ns, "b"), b, "deleted after prune was turned on");
}

#[test]
fn the_controller_honours_if_not_present_and_spec_force() {
    let ns = namespace("flux-ks-policies");
    let files = vec![
        (
            "apps/demo/secret.yaml",
            annotated(
                &secret(&ns, "token", "placeholder"),
                "kustomize.toolkit.fluxcd.io/ssa",
                "IfNotPresent",
            ),
        ),
        ("apps/demo/job.yaml", job(&ns, "registry.invalid/migrate:1")),
    ];
    let served = Served::new(&ns, &files);
    served.apply_flux_objects(&ns);
    merge_patch("kustomization", "app", &ns, r#"{"spec":{"force":true}}"#);
    let _controller = ControllerProcess::start(&ns, &[]);
    wait_for("Ready", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });
    let first = uid("job", &ns, "migrate");
    // The operator fills in the placeholder; the drift watch sees it and leaves it.
    kubectl(&[
        "patch",
        "secret",
        "token",
        "-n",
        &ns,
        "-p",
        r#"{"stringData":{"token":"filled-in"}}"#,
    ]);
    let filled = get("secret", Some(&ns), "token").unwrap()["data"]["token"].clone();
    served
        .repo
        .write("apps/demo/job.yaml", &job(&ns, "registry.invalid/migrate:2"));
    served.commit("job v2");
    wait_for("the Job recreated", 60, || {
        let j = get("job", Some(&ns), "migrate")?;
        (j["metadata"]["uid"].as_str()? != first).then_some(())
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(get("secret", Some(&ns), "token").unwrap()["data"]["token"], filled);
}
