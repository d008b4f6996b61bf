use ballast_testenv::git::GitRepo;

use crate::support::*;

/// Syncs a good state, then a broken one that also drops the good object: the sync must fail
/// naming the file and object, delete nothing and leave the inventory as it was.
fn refused(case: &str, file: &str, text: &str, expect: &[&str]) {
    let ns = namespace(&format!("bad-{case}"));
    let repo = GitRepo::new();
    repo.write("good.yaml", &configmap(&ns, "good", "1"));
    repo.commit("good");
    let url = repo.url();
    ballast(&["sync", "--name", &ns, "--url", &url, "--prune"]).ok();
    let inv_rv = resource_version("configmap", Some("default"), &format!("ballast-inventory-{ns}"));
    let good_rv = resource_version("configmap", Some(&ns), "good");

    repo.remove("good.yaml");
    repo.write(file, &text.replace("NS", &ns));
    repo.commit(case);
    let run = ballast(&["sync", "--name", &ns, "--url", &url, "--prune"]).fails();
    for e in expect {
        let e = e.replace("NS", &ns);
        assert!(run.stderr.contains(&e), "{case}: expected {e:?} in:\n{}", run.stderr);
    }
    assert_eq!(
        resource_version("configmap", Some(&ns), "good"),
        good_rv,
        "{case}: the good object was touched"
    );
    assert_eq!(
        resource_version("configmap", Some("default"), &format!("ballast-inventory-{ns}")),
        inv_rv,
        "{case}: inventory changed"
    );
    assert_eq!(inventory(&ns), vec![format!("{ns}_good__ConfigMap")]);
}

#[test]
fn bad_yaml_is_refused() {
    refused(
        "yaml",
        "broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [unclosed\n",
        &["broken.yaml: invalid YAML in document 0 at line"],
    );
}

#[test]
fn missing_kind_is_refused() {
    refused(
        "kind",
        "multi.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nmetadata:\n  name: nokind\n",
        &["multi.yaml (document 1): v1: missing kind"],
    );
}

#[test]
fn duplicate_object_is_refused() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n  namespace: NS\n";
    refused(
        "dup",
        "dups.yaml",
        &format!("{cm}---\n{cm}"),
        &["ConfigMap/NS/twice: defined twice, in dups.yaml (document 0) and in dups.yaml (document 1)"],
    );
}

#[test]
fn unknown_kind_is_refused() {
    refused(
        "unknown",
        "gadget.yaml",
        "apiVersion: nowhere.example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n  namespace: NS\n",
        &["gadget.yaml (document 0): Gadget/NS/g: unknown kind nowhere.example.com/v1 Gadget"],
    );
}

#[test]
fn an_invalid_object_stops_its_stage_before_anything_is_written() {
    // Two new ConfigMaps; one is invalid. Neither may be applied, and nothing pruned.
    refused(
        "invalid",
        "two.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n  namespace: NS\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_Valid\n  namespace: NS\n",
        &["ConfigMap/NS/Not_Valid (two.yaml (document 1)): metadata.name \"Not_Valid\""],
    );
}

#[test]
fn an_object_the_server_refuses_stops_the_sync_before_anything_is_written() {
    // Valid names; the API server's dry-run refuses the data key. Nothing applied.
    refused(
        "server-invalid",
        "two.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n  namespace: NS\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad-key\n  namespace: NS\ndata:\n  \"not a key!\": x\n",
        &["ConfigMap/NS/bad-key: dry-run failed (Invalid)"],
    );
}

#[test]
fn an_empty_source_with_a_non_empty_inventory_is_refused() {
    let ns = namespace("bad-empty");
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", &configmap(&ns, "c", "1"));
    repo.commit("init");
    let url = repo.url();
    ballast(&["sync", "--name", &ns, "--url", &url, "--path", "app", "--prune"]).ok();
    repo.remove("app/cm.yaml");
    repo.write("app/README.md", "nothing here\n");
    repo.commit("empty");
    let run = ballast(&["sync", "--name", &ns, "--url", &url, "--path", "app", "--prune"]).fails();
    assert!(
        run.stderr.contains("renders no objects") && run.stderr.contains("--allow-empty"),
        "{}",
        run.stderr
    );
    assert!(get("configmap", Some(&ns), "c").is_some());
    let run = ballast(&[
        "sync",
        "--name",
        &ns,
        "--url",
        &url,
        "--path",
        "app",
        "--prune",
        "--allow-empty",
    ])
    .ok();
    assert!(
        run.stdout.contains(&format!("ConfigMap/{ns}/c deleted")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_missing_path_is_refused() {
    let repo = GitRepo::new();
    repo.write("a/cm.yaml", &configmap("default", "c", "1"));
    repo.commit("init");
    let url = repo.url();
    let run = ballast(&["sync", "--name", "missing-path", "--url", &url, "--path", "nope"]).fails();
    assert!(run.stderr.contains("path nope: not found"), "{}", run.stderr);
}
