//! `ballast helmfile diff|apply` against the test cluster: helmfile's `--detailed-exitcode`
//! (0 no change, 2 changes, 1 error), apply in `needs` order and idempotent, only changed
//! releases upgraded, `installed: false` uninstalled, the releases read by the reference
//! helm CLI, a bad values file applying nothing; seed 000's repository applied, then
//! rendered into a Git repository and synced (the rendered-manifests pattern).

use std::path::{Path, PathBuf};
use std::process::Command;

use ballast_testenv::git::GitRepo;
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

/// `name -> (revision, status)` of the releases `helm list` shows in `ns`.
fn helm_list(ns: &str) -> Vec<(String, String, String)> {
    let run = helm(&["list", "-n", ns, "-o", "json"]).ok();
    let v: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let mut out: Vec<(String, String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["revision"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| r["revision"].to_string()),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn hf(dir: &Path, args: &[&str]) -> Run {
    let file = dir.join("helmfile.yaml").display().to_string();
    let mut a = vec!["helmfile", "-f", &file];
    a.extend_from_slice(args);
    ballast(&a)
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n";

/// A helmfile with three releases of one local chart, written in the reverse of their
/// `needs` order (c needs b, b needs a), in namespace `ns` (created by `createNamespace`).
fn project(ns: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("charts/demo/Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    );
    write(&d.join("charts/demo/values.yaml"), "greeting: hello\n");
    write(&d.join("charts/demo/templates/cm.yaml"), CM);
    write(&d.join("values/c.yaml"), "greeting: from-c\n");
    write(
        &d.join("helmfile.yaml"),
        &format!(
            "helmDefaults:\n  createNamespace: true\nreleases:\n\
             - name: c\n  namespace: {ns}\n  chart: ./charts/demo\n  values:\n  - values/c.yaml\n  needs:\n  - {ns}/b\n\
             - name: b\n  namespace: {ns}\n  chart: ./charts/demo\n  needs:\n  - {ns}/a\n\
             - name: a\n  namespace: {ns}\n  chart: ./charts/demo\n"
        ),
    );
    dir
}

fn greeting(ns: &str, name: &str) -> Option<String> {
    get("configmap", Some(ns), name).map(|o| o["data"]["greeting"].as_str().unwrap_or("").to_string())
}

fn record_version(ns: &str, release: &str, revision: u32) -> u64 {
    resource_version("secret", Some(ns), &format!("sh.helm.release.v1.{release}.v{revision}"))
        .parse()
        .unwrap()
}

#[test]
fn diff_exit_codes_apply_in_needs_order_idempotent_and_read_by_helm() {
    // A namespace name not created yet: createNamespace creates it.
    let ns = format!("hfile-{}", std::process::id());
    let dir = project(&ns);
    let d = dir.path();

    // Before anything: changes (2 with --detailed-exitcode, 0 without), nothing written.
    let run = hf(d, &["diff", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    for name in ["a-cm", "b-cm", "c-cm"] {
        assert!(run.stdout.contains(name), "diff does not name {name}:\n{}", run.stdout);
    }
    assert!(run.stderr.contains("Affected releases are:"), "{}", run.stderr);
    assert!(run.stderr.contains("  c (./charts/demo) UPDATED"), "{}", run.stderr);
    assert_eq!(hf(d, &["diff"]).code, 0);
    assert!(get("namespace", None, &ns).is_none(), "diff wrote the namespace");

    // Apply: every release installed, in needs order, readable by helm.
    let run = hf(d, &["apply"]).ok();
    assert!(run.stderr.contains("UPDATED RELEASES:"), "{}", run.stderr);
    assert_eq!(
        helm_list(&ns),
        [
            ("a".to_string(), "1".to_string(), "deployed".to_string()),
            ("b".into(), "1".into(), "deployed".into()),
            ("c".into(), "1".into(), "deployed".into()),
        ]
    );
    // Each release's record was written after the one it needs was deployed.
    assert!(record_version(&ns, "a", 1) < record_version(&ns, "b", 1));
    assert!(record_version(&ns, "b", 1) < record_version(&ns, "c", 1));
    assert_eq!(greeting(&ns, "c-cm").as_deref(), Some("from-c"));
    assert_eq!(greeting(&ns, "a-cm").as_deref(), Some("hello"));

    // Idempotent: no change detected, nothing written.
    let run = hf(d, &["diff", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "");
    let rv = record_version(&ns, "c", 1);
    let run = hf(d, &["apply", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("No affected releases"), "{}", run.stderr);
    assert_eq!(record_version(&ns, "c", 1), rv);
    assert_eq!(
        helm_list(&ns).iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["1", "1", "1"]
    );

    // A values change upgrades only that release.
    write(&d.join("values/c.yaml"), "greeting: changed\n");
    let run = hf(d, &["diff", "--detailed-exitcode", "--context", "1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout.contains("c-cm") && run.stdout.contains("changed"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("a-cm") && !run.stdout.contains("b-cm"),
        "{}",
        run.stdout
    );
    let run = hf(d, &["apply", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(greeting(&ns, "c-cm").as_deref(), Some("changed"));
    assert_eq!(
        helm_list(&ns)
            .iter()
            .map(|r| (r.0.as_str(), r.1.as_str()))
            .collect::<Vec<_>>(),
        [("a", "1"), ("b", "1"), ("c", "2")]
    );
    let history = helm(&["history", "c", "-n", &ns, "-o", "json"]).ok();
    let history: Value = serde_json::from_str(&history.stdout).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "deployed"]);

    // A bad values file: exit 1 naming the file and the release, nothing applied.
    write(&d.join("values/c.yaml"), "greeting: [unclosed\n");
    write(&d.join("charts/demo/values.yaml"), "greeting: hello-again\n");
    for verb in ["diff", "apply"] {
        let run = hf(d, &[verb, "--detailed-exitcode"]);
        assert_eq!(run.code, 1, "{verb}\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("values/c.yaml") && run.stderr.contains("release \"c\""),
            "{verb}: {}",
            run.stderr
        );
    }
    assert_eq!(
        greeting(&ns, "a-cm").as_deref(),
        Some("hello"),
        "apply wrote despite the error"
    );
    write(&d.join("values/c.yaml"), "greeting: changed\n");
    write(&d.join("charts/demo/values.yaml"), "greeting: hello\n");

    // installed: false uninstalls a present release; the others stay.
    let text = std::fs::read_to_string(d.join("helmfile.yaml")).unwrap();
    write(
        &d.join("helmfile.yaml"),
        &text.replace("- name: c\n", "- name: c\n  installed: false\n"),
    );
    let run = hf(d, &["diff", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("  c (./charts/demo) DELETED"), "{}", run.stderr);
    let run = hf(d, &["apply"]).ok();
    assert!(run.stderr.contains("DELETED RELEASES:"), "{}", run.stderr);
    assert!(get("configmap", Some(&ns), "c-cm").is_none());
    assert_eq!(
        helm_list(&ns).iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(hf(d, &["apply", "--detailed-exitcode"]).code, 0);
    kubectl(&["delete", "namespace", &ns, "--wait=false"]);
}

#[test]
fn selectors_and_needs_flags() {
    let ns = namespace("hfile-sel");
    let dir = project(&ns);
    let d = dir.path();
    // Only c, without what it needs (helmfile's default --skip-needs).
    let run = hf(d, &["-l", "name=c", "diff", "--detailed-exitcode"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.contains("c-cm") && !run.stdout.contains("b-cm"),
        "{}",
        run.stdout
    );
    // --include-needs: c and b; --include-transitive-needs: a too.
    let run = hf(d, &["-l", "name=c", "diff", "--include-needs"]);
    assert!(
        run.stdout.contains("b-cm") && !run.stdout.contains("a-cm"),
        "{}",
        run.stdout
    );
    let run = hf(d, &["-l", "name=c", "diff", "--include-transitive-needs"]);
    assert!(run.stdout.contains("a-cm"), "{}", run.stdout);
    // No release matches: helmfile's exit code 3.
    let run = hf(d, &["-l", "name=none", "diff"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("no releases found"), "{}", run.stderr);
    // --show-secrets is refused: Secret values are never printed.
    assert_eq!(hf(d, &["diff", "--show-secrets"]).code, 1);
    // apply --include-transitive-needs installs the chain, concurrency 1.
    hf(
        d,
        &[
            "-l",
            "name=c",
            "apply",
            "--include-transitive-needs",
            "--concurrency",
            "1",
        ],
    )
    .ok();
    assert_eq!(helm_list(&ns).len(), 3);
}

fn copy_dir(from: &Path, to: &Path, edit: &dyn Fn(&str) -> String) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t, edit);
        } else {
            write(&t, &edit(&std::fs::read_to_string(&p).unwrap()));
        }
    }
}

/// Seed 000's repository (the ballast-helmfile fixture) with its namespaces made unique to
/// this run (`kube-system`, `apps`, `monitoring` prefixed).
fn seed000(prefix: &str) -> tempfile::TempDir {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ballast-helmfile/tests/fixtures/seed000");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path(), &|t: &str| {
        t.replace("kube-system", &format!("{prefix}-system"))
            .replace("namespace: apps", &format!("namespace: {prefix}-apps"))
            .replace("namespace: monitoring", &format!("namespace: {prefix}-monitoring"))
    });
    dir
}

fn seed(dir: &Path, args: &[&str]) -> Run {
    let file = dir.join("helmfile.yaml.gotmpl").display().to_string();
    let mut a = vec!["helmfile", "-f", &file, "-e", "staging"];
    a.extend_from_slice(args);
    ballast(&a)
}

fn image(ns: &str) -> String {
    get("deployment", Some(ns), "demoapp").expect("deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn seed000_staging_apply_then_rendered_manifests_synced() {
    let p = format!("s0-{}", std::process::id());
    let dir = seed000(&p);
    let d = dir.path();
    let (system, apps) = (format!("{p}-system"), format!("{p}-apps"));

    let run = seed(d, &["apply", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(
        helm_list(&system),
        [("sealed-secrets".into(), "1".into(), "deployed".into())]
    );
    assert_eq!(helm_list(&apps), [("demoapp".into(), "1".into(), "deployed".into())]);
    assert!(get("serviceaccount", Some(&system), "sealed-secrets-stg").is_some());
    assert_eq!(image(&apps), "registry.example.com/demoapp:1.4.2");
    assert!(get("ingress", Some(&apps), "demoapp").is_some());

    // A second apply changes nothing, and says so.
    let run = seed(d, &["apply", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("No affected releases"), "{}", run.stderr);

    // A values change upgrades only demoapp.
    let gitops = d.join("releases/gitops/helmfile.yaml.gotmpl");
    let text = std::fs::read_to_string(&gitops).unwrap();
    write(&gitops, &text.replace("\"1.4.2\"", "\"1.4.3\""));
    let run = seed(d, &["apply", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(image(&apps), "registry.example.com/demoapp:1.4.3");
    assert_eq!(helm_list(&apps)[0].1, "2");
    assert_eq!(helm_list(&system)[0].1, "1");

    // The rendered-manifests pattern: the same environment rendered into a Git repository
    // (other namespaces, so the two owners never meet) and synced reaches the same objects.
    let q = format!("r0-{}", std::process::id());
    let copy = seed000(&q);
    let gitops = copy.path().join("releases/gitops/helmfile.yaml.gotmpl");
    let text = std::fs::read_to_string(&gitops).unwrap();
    write(&gitops, &text.replace("\"1.4.2\"", "\"1.4.3\""));
    for ns in [format!("{q}-system"), format!("{q}-apps")] {
        kubectl(&["create", "namespace", &ns]);
    }
    let repo = GitRepo::new();
    let unit = copy.path().display().to_string();
    let out = repo.path().join("staging").display().to_string();
    ballast(&["render", &unit, "-e", "staging", "--out", &out]).ok();
    ballast(&["render", &unit, "-e", "staging", "--check", &out]).ok();
    repo.commit("rendered staging");
    let url = repo.url();
    ballast(&["sync", "--name", &q, "--url", &url, "--path", "staging", "--prune"]).ok();
    let rendered = format!("{q}-apps");
    assert_eq!(image(&rendered), image(&apps));
    let a = get("ingress", Some(&apps), "demoapp").unwrap();
    let b = get("ingress", Some(&rendered), "demoapp").unwrap();
    assert_eq!(a["spec"], b["spec"]);
    assert!(get("serviceaccount", Some(&format!("{q}-system")), "sealed-secrets-stg").is_some());
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n";

#[test]
fn a_failed_release_stops_what_needs_it_and_atomic_removes_it() {
    let ns = namespace("hfile-fail");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("charts/web/Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    write(&d.join("charts/web/templates/deploy.yaml"), DEPLOY);
    write(
        &d.join("charts/demo/Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    );
    write(&d.join("charts/demo/values.yaml"), "greeting: hello\n");
    write(&d.join("charts/demo/templates/cm.yaml"), CM);
    // A Deployment never becomes available (the test cluster has no nodes): with wait, the
    // install fails; atomic uninstalls it; b, which needs it, is never installed.
    let state = format!(
        "releases:\n\
         - name: a\n  namespace: {ns}\n  chart: ./charts/web\n  wait: true\n  timeout: 2\n  atomic: true\n\
         - name: b\n  namespace: {ns}\n  chart: ./charts/demo\n  needs:\n  - {ns}/a\n"
    );
    write(&d.join("helmfile.yaml"), &state);
    let run = hf(d, &["apply"]);
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("release \"a\"") && run.stderr.contains("resources not ready"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("atomic: uninstalled"), "{}", run.stderr);
    assert!(helm_list(&ns).is_empty(), "{:?}", helm_list(&ns));
    assert!(get("deployment", Some(&ns), "a-web").is_none());
    assert!(
        get("configmap", Some(&ns), "b-cm").is_none(),
        "b applied after a failed"
    );

    // helmDefaults Ballast does not implement are refused by name, before anything is written.
    write(
        &d.join("helmfile.yaml"),
        &format!("helmDefaults:\n  force: true\n{state}"),
    );
    let run = hf(d, &["diff"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("helmDefaults.force is not supported"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_custom_resource_whose_crd_a_needed_release_installs() {
    let ns = namespace("hfile-crd");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let group = format!("hf{}.example.com", std::process::id());
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.{group}\nspec:\n  group: {group}\n  names: {{kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n"
    );
    write(
        &d.join("charts/defs/Chart.yaml"),
        "apiVersion: v2\nname: defs\nversion: 0.1.0\n",
    );
    write(&d.join("charts/defs/crds/gadget.yaml"), &crd);
    write(&d.join("charts/defs/templates/cm.yaml"), CM);
    write(
        &d.join("charts/use/Chart.yaml"),
        "apiVersion: v2\nname: use\nversion: 0.1.0\n",
    );
    write(
        &d.join("charts/use/templates/gadget.yaml"),
        &format!("apiVersion: {group}/v1\nkind: Gadget\nmetadata:\n  name: g1\nspec:\n  size: 3\n"),
    );
    write(
        &d.join("helmfile.yaml"),
        &format!(
            "releases:\n- name: use\n  namespace: {ns}\n  chart: ./charts/use\n  needs: [{ns}/defs]\n- name: defs\n  namespace: {ns}\n  chart: ./charts/defs\n"
        ),
    );
    let run = hf(d, &["apply", "--skip-diff-on-install"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(get(&format!("gadgets.{group}"), Some(&ns), "g1").is_some());
    assert_eq!(helm_list(&ns).len(), 2);
    // Installed: the next diff plans both and finds nothing to change.
    let run = hf(d, &["diff", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
}

#[test]
fn seed000_production_installs_monitoring_after_the_release_it_needs() {
    let p = format!("s1-{}", std::process::id());
    let dir = seed000(&p);
    let file = dir.path().join("helmfile.yaml.gotmpl").display().to_string();
    let run = ballast(&[
        "helmfile",
        "-f",
        &file,
        "-e",
        "production",
        "apply",
        "--detailed-exitcode",
    ]);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let (system, mon) = (format!("{p}-system"), format!("{p}-monitoring"));
    assert_eq!(helm_list(&mon), [("monitoring".into(), "1".into(), "deployed".into())]);
    assert!(get("configmap", Some(&mon), "monitoring-dashboards").is_some());
    assert!(get("serviceaccount", Some(&system), "sealed-secrets-prd-pro").is_some());
    assert!(record_version(&system, "sealed-secrets", 1) < record_version(&mon, "monitoring", 1));
    let run = ballast(&[
        "helmfile",
        "-f",
        &file,
        "-e",
        "production",
        "apply",
        "--detailed-exitcode",
    ]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
}

#[test]
fn atomic_rolls_a_failed_upgrade_back() {
    let ns = namespace("hfile-atomic");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("charts/demo/Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    );
    write(&d.join("charts/demo/values.yaml"), "greeting: hello\n");
    write(&d.join("charts/demo/templates/cm.yaml"), CM);
    write(
        &d.join("helmfile.yaml"),
        &format!(
            "helmDefaults:\n  atomic: true\n  timeout: 2\nreleases:\n- name: a\n  namespace: {ns}\n  chart: ./charts/demo\n"
        ),
    );
    hf(d, &["apply"]).ok();
    // The new revision adds a Deployment that never becomes available: atomic waits, the
    // upgrade fails and is rolled back to revision 1.
    write(&d.join("charts/demo/templates/deploy.yaml"), DEPLOY);
    let run = hf(d, &["apply"]);
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("atomic: rolled back"), "{}", run.stderr);
    let history = helm(&["history", "a", "-n", &ns, "-o", "json"]).ok();
    let history: Value = serde_json::from_str(&history.stdout).unwrap();
    let rows: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[1].0, "failed", "{rows:?}");
    assert_eq!(rows[2], ("deployed".to_string(), "Rollback to 1".to_string()));
    assert!(get("deployment", Some(&ns), "a-web").is_none());
}

/// Seed 000's flow with the controller: the staging environment rendered into a second Git
/// repository, committed, and followed by a GitRepository + Kustomization; a values change in
/// the source repository, rendered and committed again, reaches the cluster with no command
/// typed against it.
#[test]
fn seed000_rendered_into_git_is_followed_by_the_controller() {
    let q = format!("c0-{}", std::process::id());
    let copy = seed000(&q);
    let ns = namespace("seed000-ctl");
    for n in [format!("{q}-system"), format!("{q}-apps")] {
        kubectl(&["create", "namespace", &n]);
    }
    let repo = GitRepo::new();
    let unit = copy.path().display().to_string();
    let out = repo.path().join("staging").display().to_string();
    ballast(&["render", &unit, "-e", "staging", "--out", &out]).ok();
    repo.commit("rendered staging");
    let _controller = ControllerProcess::start(&ns, &[]);
    let url = repo.url();
    let manifest = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: rendered\n  namespace: {ns}\nspec:\n  \
         interval: 1s\n  url: {url}\n  ref:\n    branch: main\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: staging\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  path: ./staging\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: rendered\n"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    write(file.path(), &manifest);
    kubectl(&["apply", "-f", file.path().to_str().unwrap()]);
    let apps = format!("{q}-apps");
    let first = wait_for("the rendered staging applied by the controller", 90, || {
        get("deployment", Some(&apps), "demoapp").map(|_| image(&apps))
    });
    assert_eq!(first, "registry.example.com/demoapp:1.4.2");

    // A values change in the source repository: the rendered directory is out of date until
    // rendered again; once committed, the controller applies it.
    let gitops = copy.path().join("releases/gitops/helmfile.yaml.gotmpl");
    let text = std::fs::read_to_string(&gitops).unwrap();
    write(&gitops, &text.replace("\"1.4.2\"", "\"1.4.7\""));
    assert_eq!(ballast(&["render", &unit, "-e", "staging", "--check", &out]).code, 1);
    ballast(&["render", &unit, "-e", "staging", "--out", &out]).ok();
    ballast(&["render", &unit, "-e", "staging", "--check", &out]).ok();
    repo.commit("rendered staging: demoapp 1.4.7");
    wait_for("the new image applied by the controller", 90, || {
        (image(&apps) == "registry.example.com/demoapp:1.4.7").then_some(())
    });
    assert!(get("serviceaccount", Some(&format!("{q}-system")), "sealed-secrets-stg").is_some());
}

/// Releases of charts from an HTTP chart repository (basic auth) and an OCI registry:
/// installed with the versions helm picks, read by helm, unchanged on a second run, upgraded
/// when the constraint admits a newer version; no credential in any output.
#[test]
fn repository_and_oci_charts_apply_diff_and_upgrade_with_the_version_constraint() {
    use ballast_testenv::charts::{ChartServer, Helm, Registry, write_chart};
    let ns = namespace("hfile-repo");
    let (user, http_pw, oci_pw) = ("ci", "hf-http-pa55-206", "hf-oci-pa55-918");
    let home = tempfile::tempdir().unwrap();
    let h = Helm::new(home.path());
    let src = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    for v in ["1.0.0", "1.1.0"] {
        let c = write_chart(&src.path().join(v), "web", v, "message: web\n", &[]);
        h.package(&c, repo.path());
    }
    h.index(repo.path(), None);
    let server = ChartServer::start(repo.path(), Some((user, http_pw)));
    let registry = Registry::start(user, oci_pw);
    let db = write_chart(src.path(), "db", "0.3.0", "message: db\n", &[]);
    let tgz = h.package(&db, &src.path().join("oci"));
    h.run(&[
        "push",
        tgz.to_str().unwrap(),
        &format!("oci://{}/charts", registry.host()),
        "--plain-http",
        "--username",
        user,
        "--password",
        oci_pw,
    ]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let state = |web_version: &str| {
        format!(
            "repositories:\n- name: web\n  url: {}\n  username: {user}\n  password: {http_pw}\n\
             - name: oci\n  url: {}/charts\n  oci: true\n  plainHttp: true\n  username: {user}\n  password: {oci_pw}\n\
             releases:\n- name: front\n  namespace: {ns}\n  chart: web/web\n  version: '{web_version}'\n\
             - name: store\n  namespace: {ns}\n  chart: oci/db\n  version: 0.3.0\n  needs:\n  - {ns}/front\n",
            server.url,
            registry.host()
        )
    };
    write(&d.join("helmfile.yaml"), &state("~1.0.0"));
    let version =
        |name: &str| get("configmap", Some(&ns), name).map(|o| o["data"]["version"].as_str().unwrap_or("").to_string());
    let quiet = |run: &Run| {
        for pw in [http_pw, oci_pw] {
            assert!(
                !run.stdout.contains(pw) && !run.stderr.contains(pw),
                "a password was printed"
            );
        }
    };

    let run = hf(d, &["apply"]).ok();
    quiet(&run);
    assert_eq!(version("front").as_deref(), Some("1.0.0"));
    assert_eq!(version("store").as_deref(), Some("0.3.0"));
    let listed = helm(&["list", "-n", &ns, "-o", "json"]).ok().stdout;
    assert!(
        listed.contains("\"chart\":\"web-1.0.0\"") && listed.contains("\"chart\":\"db-0.3.0\""),
        "{listed}"
    );

    // Nothing changed: no difference, nothing applied, no chart downloaded again.
    let before = server.seen_auth.lock().unwrap().len();
    let run = hf(d, &["diff", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let run = hf(d, &["apply", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("No affected releases"), "{}", run.stderr);
    assert_eq!(
        server.seen_auth.lock().unwrap().len() - before,
        2,
        "each run reads the index once and downloads no chart"
    );

    // A wider constraint picks 1.1.0: diff shows it, apply upgrades only that release.
    write(&d.join("helmfile.yaml"), &state("^1.0.0"));
    let run = hf(d, &["diff", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("1.1.0") && !run.stdout.contains("store"),
        "{}",
        run.stdout
    );
    quiet(&run);
    hf(d, &["apply"]).ok();
    assert_eq!(version("front").as_deref(), Some("1.1.0"));
    let listed = helm_list(&ns);
    assert_eq!(
        listed.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect::<Vec<_>>(),
        [("front", "2"), ("store", "1")]
    );

    // Wrong credentials: the run fails naming the release and the repository, applies nothing.
    write(
        &d.join("helmfile.yaml"),
        &state("^1.0.0").replace(http_pw, "wr0ng-pa55"),
    );
    let run = hf(d, &["apply"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("release \"front\"")
            && run.stderr.contains("repository \"web\"")
            && run.stderr.contains("authentication failed"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("wr0ng-pa55"), "{}", run.stderr);
}
