//! The Flux API as Flux users write it: every served version keeps its fields, and status reads
//! the way kstatus tools expect.

use ballast_testenv::git::GitRepo;
use ballast_testenv::{GitHttpServer, HttpAuth};
use serde_json::Value;

use crate::support::*;

/// A repository served over smart HTTP.
struct Repo {
    repo: GitRepo,
    bare: std::path::PathBuf,
    server: GitHttpServer,
    _root: tempfile::TempDir,
}

impl Repo {
    fn new(files: &[(&str, String)]) -> Self {
        let repo = GitRepo::new();
        for (path, text) in files {
            repo.write(path, text);
        }
        repo.commit("app");
        let root = tempfile::tempdir().unwrap();
        let bare = repo.publish(root.path(), "app");
        let server = GitHttpServer::start(root.path(), HttpAuth::None);
        Repo {
            repo,
            bare,
            server,
            _root: root,
        }
    }

    fn url(&self) -> String {
        self.server.repo_url("app")
    }
}

/// `kubectl apply -f` of a YAML text, as Flux users put their objects in.
fn condition(obj: &Value, type_: &str) -> Option<Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
}

#[test]
fn v1beta2_and_v1beta1_kustomizations_apply_their_deprecated_patches() {
    let ns = namespace("api-patches");
    let repo = Repo::new(&[
        ("beta2/a.yaml", configmap(&ns, "beta2-a", "git")),
        ("beta2/b.yaml", configmap(&ns, "beta2-b", "git")),
        ("beta1/a.yaml", configmap(&ns, "beta1-a", "git")),
        ("beta1/b.yaml", configmap(&ns, "beta1-b", "git")),
    ]);
    install();
    let controller = ControllerProcess::start(&ns, &[]);
    // The strategic-merge patch names the namespace: as in kustomize (and so in Flux), a patch
    // without one matches only objects of the default namespace.
    let ks = |version: &str, dir: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/{version}\nkind: Kustomization\nmetadata:\n  name: {dir}\n  namespace: {ns}\nspec:\n  \
             interval: 10m\n  path: ./{dir}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n  \
             patchesStrategicMerge:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: {dir}-a\n      namespace: {ns}\n    data:\n      patched: strategic-merge\n  \
             patchesJson6902:\n  - target:\n      version: v1\n      kind: ConfigMap\n      name: {dir}-b\n    patch:\n    - op: add\n      path: /data/patched\n      value: json6902\n"
        )
    };
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  ref:\n    branch: main\n  gitImplementation: go-git\n---\n{}---\n{}",
        ks("v1beta2", "beta2"),
        ks("v1beta1", "beta1"),
        url = repo.url()
    ));
    // Stored with the fields, read back through the version they were written in.
    let stored = kubectl(&[
        "get",
        "kustomizations.v1beta1.kustomize.toolkit.fluxcd.io",
        "beta1",
        "-n",
        &ns,
        "-o",
        "json",
    ]);
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        stored["spec"]["patchesJson6902"][0]["patch"][0]["value"], "json6902",
        "{stored}"
    );
    for dir in ["beta2", "beta1"] {
        let a = wait_for("the strategic-merge patch applied", 60, || {
            get("configmap", Some(&ns), &format!("{dir}-a")).filter(|c| c["data"]["patched"].is_string())
        });
        assert_eq!(a["data"]["patched"], "strategic-merge");
        assert_eq!(a["data"]["key"], "git");
        let b = wait_for("the JSON 6902 patch applied", 30, || {
            get("configmap", Some(&ns), &format!("{dir}-b")).filter(|c| c["data"]["patched"].is_string())
        });
        assert_eq!(b["data"]["patched"], "json6902");
        wait_for("Ready", 30, || {
            ready("kustomization", &ns, dir).filter(|(s, _)| s == "True")
        });
        // kstatus: reconciled, this generation observed, nothing in progress or stalled.
        let obj = get("kustomization", Some(&ns), dir).unwrap();
        assert_eq!(obj["status"]["observedGeneration"], obj["metadata"]["generation"]);
        assert!(condition(&obj, "Reconciling").is_none(), "{obj}");
        assert!(condition(&obj, "Stalled").is_none(), "{obj}");
    }
    wait_for("a warning naming gitImplementation", 10, || {
        events(&ns)
            .into_iter()
            .find(|(r, m)| r == "DeprecatedField" && m.contains("spec.gitImplementation"))
    });
    // Status writes do not trigger reconciles: with a 10m interval, the count stays put.
    let probe = controller.probe_url();
    let before = reconciles(&probe, "Kustomization", &ns, "beta2");
    assert!(before >= 1);
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(
        reconciles(&probe, "Kustomization", &ns, "beta2"),
        before,
        "the Kustomization kept reconciling"
    );
    drop(repo.repo);
}

#[test]
fn a_refused_field_names_itself_and_stalls() {
    let ns = namespace("api-refused");
    let repo = Repo::new(&[("app/cm.yaml", configmap(&ns, "settings", "v1"))]);
    install();
    let _controller = ControllerProcess::start(&ns, &[]);
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  ref:\n    branch: main\n---\n\
         apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata:\n  name: with-include\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  include:\n  - repository:\n      name: app\n    fromPath: a\n    toPath: b\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n  \
         kubeConfig:\n    secretRef:\n      name: remote\n",
        url = repo.url()
    ));
    for (kind, name, field) in [
        ("kustomization", "app", "spec.kubeConfig"),
        ("gitrepository", "with-include", "spec.include"),
    ] {
        // Settled: a reconcile in flight (a new source artifact asks for one) shows
        // `Reconciling` for a moment; what must hold is where it ends.
        let obj = wait_for("Ready=False, Stalled, not reconciling", 60, || {
            get(kind, Some(&ns), name).filter(|o| {
                condition(o, "Ready").is_some_and(|c| c["status"] == "False")
                    && condition(o, "Stalled").is_some()
                    && condition(o, "Reconciling").is_none()
            })
        });
        let message = condition(&obj, "Ready").unwrap()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains(field), "{message}");
        let stalled = condition(&obj, "Stalled").expect("Stalled");
        assert_eq!(stalled["status"], "True");
        assert_eq!(stalled["reason"], "InvalidSpec");
        assert!(condition(&obj, "Reconciling").is_none(), "{obj}");
        assert_eq!(obj["status"]["observedGeneration"], obj["metadata"]["generation"]);
    }
    // Nothing was applied for the refused Kustomization.
    assert!(get("configmap", Some(&ns), "settings").is_none());
}

#[test]
fn a_failure_that_will_be_retried_is_reconciling_not_stalled() {
    let ns = namespace("api-retry");
    install();
    let _controller = ControllerProcess::start(&ns, &[]);
    apply(&format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: not-yet\n"
    ));
    let obj = wait_for("Ready=False", 60, || {
        get("kustomization", Some(&ns), "app").filter(|o| condition(o, "Ready").is_some_and(|c| c["status"] == "False"))
    });
    let reconciling = condition(&obj, "Reconciling").expect("Reconciling");
    assert_eq!(reconciling["status"], "True");
    assert_eq!(reconciling["reason"], "ProgressingWithRetry");
    assert!(condition(&obj, "Stalled").is_none(), "{obj}");
}

#[test]
fn a_nested_kustomization_without_status_is_not_healthy() {
    let ns = namespace("api-nested");
    let child = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: child\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  prune: true\n  path: ./child\n  sourceRef:\n    kind: GitRepository\n    name: app\n"
    );
    let repo = Repo::new(&[
        ("parent/child.yaml", child),
        ("child/cm.yaml", configmap(&ns, "from-child", "v1")),
    ]);
    install();
    // No controller yet: the child Kustomization has no status, so --wait cannot call it healthy.
    let run = ballast(&[
        "sync",
        "--name",
        &format!("{ns}-parent"),
        "--url",
        &repo.url(),
        "--path",
        "parent",
        "--wait",
        "--timeout",
        "3s",
    ])
    .fails();
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(text.contains("child"), "{text}");
    assert!(get("kustomization", Some(&ns), "child").is_some());
    // With a controller and its source, the child becomes Ready and the same wait succeeds.
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  ref:\n    branch: main\n",
        url = repo.url()
    ));
    let _controller = ControllerProcess::start(&ns, &[]);
    ballast(&[
        "sync",
        "--name",
        &format!("{ns}-parent"),
        "--url",
        &repo.url(),
        "--path",
        "parent",
        "--wait",
        "--timeout",
        "60s",
    ])
    .ok();
    assert!(get("configmap", Some(&ns), "from-child").is_some());
}

#[test]
fn ref_name_takes_a_pull_request_ref() {
    let ns = namespace("api-refname");
    let repo = Repo::new(&[("app/cm.yaml", configmap(&ns, "settings", "main"))]);
    repo.repo.write("app/cm.yaml", &configmap(&ns, "settings", "pull-420"));
    let commit = repo.repo.commit("the pull request");
    // Only the pull request's ref has the new commit; main stays where it was.
    repo.repo.git(&[
        "push",
        "--quiet",
        &repo.bare.display().to_string(),
        "HEAD:refs/pull/420/head",
    ]);
    install();
    let _controller = ControllerProcess::start(&ns, &[]);
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  ref:\n    name: refs/pull/420/head\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n",
        url = repo.url()
    ));
    let cm = wait_for("the pull request's ConfigMap", 60, || {
        get("configmap", Some(&ns), "settings")
    });
    assert_eq!(cm["data"]["key"], "pull-420");
    let source = get("gitrepository", Some(&ns), "app").unwrap();
    assert_eq!(
        source["status"]["artifact"]["revision"],
        format!("refs/pull/420/head@sha1:{commit}")
    );
}

#[test]
fn kubeconfig_env_is_a_list_of_files() {
    let real = env().kubeconfig.display().to_string();
    let list = format!("/nonexistent/ballast-kubeconfig:{real}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(["get", "kustomizations", "-A"])
        .env("KUBECONFIG", &list)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "KUBECONFIG={list}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn post_build_substitutes_variables_from_the_spec_configmaps_and_secrets() {
    let ns = namespace("api-postbuild");
    let app = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-${{env}}\n  namespace: {ns}\ndata:\n  \
         greeting: ${{greeting:=hello}}\n  region: ${{region}}\n  token: ${{token}}\n  literal: $${{kept}}\n  \
         upper: ${{env^^}}\n  tier: ${{tier:=none}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: script\n  namespace: {ns}\n  \
         annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  run.sh: echo ${{region}} $$\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  replicas: ${{replicas}}\n  \
         selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      \
         containers:\n      - name: web\n        image: nginx:${{tag:=1.27}}\n"
    );
    let repo = Repo::new(&[("app/app.yaml", app)]);
    install();
    let controller = ControllerProcess::start(&ns, &[]);
    let ks = |name: &str, from: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  \
             interval: 2s\n  retryInterval: 2s\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n  \
             postBuild:\n    substitute:\n      replicas: \"2\"\n      region: override\n    substituteFrom:\n{from}"
        )
    };
    apply(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: {ns}\ndata:\n  env: prod\n  region: eu-1\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n  namespace: {ns}\nstringData:\n  token: s3cret-value\n---\n\
         apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  ref:\n    branch: main\n---\n{}",
        ks(
            "app",
            "    - kind: ConfigMap\n      name: cluster-vars\n    - kind: Secret\n      name: cluster-secrets\n    \
             - kind: ConfigMap\n      name: absent\n      optional: true\n"
        ),
        url = repo.url()
    ));
    let settings = wait_for("the substituted ConfigMap", 60, || {
        get("configmap", Some(&ns), "settings-prod")
    });
    let data = &settings["data"];
    assert_eq!(data["greeting"], "hello", "{settings}");
    assert_eq!(data["region"], "override", "inline substitute wins: {settings}");
    assert_eq!(data["token"], "s3cret-value", "from the Secret: {settings}");
    assert_eq!(data["literal"], "${kept}", "$$ escapes: {settings}");
    assert_eq!(data["upper"], "PROD");
    let script = get("configmap", Some(&ns), "script").unwrap();
    assert_eq!(script["data"]["run.sh"], "echo ${region} $$", "disabled: left alone");
    let web = get("deployment", Some(&ns), "web").unwrap();
    assert_eq!(web["spec"]["replicas"], 2, "a substituted number is a number");
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
    wait_for("Ready", 30, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });
    // A changed ConfigMap of variables is applied at the next interval, the source unchanged.
    assert_eq!(data["tier"], "none");
    merge_patch("configmap", "cluster-vars", &ns, r#"{"data":{"tier":"gold"}}"#);
    wait_for("the new variable applied", 60, || {
        get("configmap", Some(&ns), "settings-prod").filter(|c| c["data"]["tier"] == "gold")
    });

    // A required source of variables that is missing fails the build, naming it; nothing is
    // applied or pruned; once it exists the Kustomization becomes Ready.
    apply(&ks("strict", "    - kind: ConfigMap\n      name: later\n"));
    let (_, message) = wait_for("the missing ConfigMap reported", 60, || {
        ready("kustomization", &ns, "strict").filter(|(s, _)| s == "False")
    });
    assert!(message.contains("ConfigMap/later"), "{message}");
    assert!(get("configmap", Some(&ns), "settings-").is_none());
    apply(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  namespace: {ns}\ndata:\n  env: staging\n"
    ));
    wait_for("the ConfigMap of the second Kustomization", 60, || {
        get("configmap", Some(&ns), "settings-staging")
    });
    wait_for("Ready once the variables exist", 60, || {
        ready("kustomization", &ns, "strict").filter(|(s, _)| s == "True")
    });
    // The Secret's value is in no event and in no line of the controller's log.
    assert!(events(&ns).iter().all(|(_, m)| !m.contains("s3cret-value")));
    assert!(!controller.log().contains("s3cret-value"));
    drop(repo.repo);
}

#[test]
fn deletion_policy_decides_what_deleting_a_kustomization_deletes() {
    let ns = namespace("api-delpolicy");
    let held = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: {ns}\n  finalizers:\n  - example.com/hold\ndata:\n  key: git\n"
    );
    let repo = Repo::new(&[
        ("mirror/a.yaml", configmap(&ns, "mirror", "git")),
        ("orphan/a.yaml", configmap(&ns, "orphan", "git")),
        ("delete/a.yaml", configmap(&ns, "delete", "git")),
        ("wait/a.yaml", held),
    ]);
    install();
    let _controller = ControllerProcess::start(&ns, &[]);
    let ks = |name: &str, prune: bool, policy: &str| {
        let policy = if policy.is_empty() {
            String::new()
        } else {
            format!("  deletionPolicy: {policy}\n")
        };
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  \
             interval: 10m\n  timeout: 2m\n  path: ./{name}\n  prune: {prune}\n  sourceRef:\n    kind: GitRepository\n    name: app\n{policy}"
        )
    };
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  ref:\n    branch: main\n---\n{}---\n{}---\n{}---\n{}",
        ks("mirror", false, ""),
        ks("orphan", true, "Orphan"),
        ks("delete", false, "Delete"),
        ks("wait", false, "WaitForTermination"),
        url = repo.url()
    ));
    for name in ["mirror", "orphan", "delete", "wait"] {
        wait_for("Ready", 60, || {
            ready("kustomization", &ns, name).filter(|(s, _)| s == "True")
        });
    }
    assert!(get("configmap", Some(&ns), "held").is_some());
    kubectl(&[
        "delete",
        "kustomization",
        "mirror",
        "orphan",
        "delete",
        "wait",
        "-n",
        &ns,
        "--wait=false",
    ]);
    for name in ["mirror", "orphan", "delete"] {
        wait_for("the Kustomization gone", 60, || {
            get("kustomization", Some(&ns), name).is_none().then_some(())
        });
    }
    assert!(
        get("configmap", Some(&ns), "mirror").is_some(),
        "MirrorPrune without prune keeps"
    );
    assert!(
        get("configmap", Some(&ns), "orphan").is_some(),
        "Orphan keeps even with prune"
    );
    wait_for("Delete deletes even without prune", 30, || {
        get("configmap", Some(&ns), "delete").is_none().then_some(())
    });
    // WaitForTermination: the ConfigMap is terminating but held by its finalizer, and the
    // Kustomization waits for it.
    wait_for("the held ConfigMap terminating", 30, || {
        get("configmap", Some(&ns), "held").filter(|c| c["metadata"]["deletionTimestamp"].is_string())
    });
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        get("kustomization", Some(&ns), "wait").is_some(),
        "the Kustomization went before its object terminated"
    );
    kubectl(&[
        "patch",
        "configmap",
        "held",
        "-n",
        &ns,
        "--type=merge",
        "-p",
        "{\"metadata\":{\"finalizers\":null}}",
    ]);
    wait_for("the waiting Kustomization gone once its object is", 30, || {
        get("kustomization", Some(&ns), "wait").is_none().then_some(())
    });
    drop(repo.repo);
}

#[test]
fn kustomizations_act_as_their_service_account() {
    let ns = namespace("api-tenant");
    let other = format!("{ns}-other");
    let repo = Repo::new(&[
        ("own/a.yaml", configmap(&ns, "own", "git")),
        ("escalate/a.yaml", configmap(&other, "escalate", "git")),
        ("admin/a.yaml", configmap(&other, "admin", "git")),
        ("ghost/a.yaml", configmap(&ns, "ghost", "git")),
    ]);
    install();
    // The tenant may only touch ConfigMaps of its own namespace; `admin` may do anything.
    apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {other}\n---\n\
         apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: tenant\n  namespace: {ns}\n---\n\
         apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: admin\n  namespace: {ns}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: configmaps\n  namespace: {ns}\n\
         rules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [\"*\"]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: tenant\n  namespace: {ns}\n\
         roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: configmaps\n\
         subjects:\n- kind: ServiceAccount\n  name: tenant\n  namespace: {ns}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {ns}-admin\n\
         roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\n\
         subjects:\n- kind: ServiceAccount\n  name: admin\n  namespace: {ns}\n"
    ));
    // Every Kustomization without an account of its own acts as `tenant`.
    let _controller = ControllerProcess::start(&ns, &["--default-service-account=tenant"]);
    let ks = |name: &str, account: &str| {
        let account = if account.is_empty() {
            String::new()
        } else {
            format!("  serviceAccountName: {account}\n")
        };
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  \
             interval: 10m\n  retryInterval: 5s\n  path: ./{name}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n{account}"
        )
    };
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  ref:\n    branch: main\n---\n{}---\n{}---\n{}---\n{}",
        ks("own", ""),
        ks("escalate", ""),
        ks("admin", "admin"),
        ks("ghost", "ghost"),
        url = repo.url()
    ));
    wait_for("the tenant's own ConfigMap applied", 60, || {
        ready("kustomization", &ns, "own").filter(|(s, _)| s == "True")
    });
    assert!(get("configmap", Some(&ns), "own").is_some());
    let (_, message) = wait_for("the escalation refused", 60, || {
        ready("kustomization", &ns, "escalate").filter(|(s, _)| s == "False")
    });
    assert!(
        message.contains("forbidden") && message.contains("escalate"),
        "{message}"
    );
    assert!(
        get("configmap", Some(&other), "escalate").is_none(),
        "written past the tenant's RBAC"
    );
    wait_for("the admin account applies in another namespace", 60, || {
        ready("kustomization", &ns, "admin").filter(|(s, _)| s == "True")
    });
    assert!(get("configmap", Some(&other), "admin").is_some());
    let (_, message) = wait_for("a missing account reported", 60, || {
        ready("kustomization", &ns, "ghost").filter(|(s, _)| s == "False")
    });
    assert!(
        message.contains(&format!("ServiceAccount '{ns}/ghost': not found")),
        "{message}"
    );
    assert!(get("configmap", Some(&ns), "ghost").is_none());
    // Deleting prunes as the account too.
    kubectl(&["delete", "kustomization", "own", "-n", &ns]);
    assert!(get("configmap", Some(&ns), "own").is_none());
    kubectl(&["delete", "clusterrolebinding", &format!("{ns}-admin")]);
    drop(repo.repo);
}

#[test]
fn git_repositories_verify_commit_and_tag_signatures() {
    use ballast_testenv::gpg::GpgHome;
    let ns = namespace("api-verify");
    let trusted = GpgHome::generate("Trusted <trusted@ballast.invalid>", "");
    let stranger = GpgHome::generate("Stranger <stranger@ballast.invalid>", "");
    let repo = Repo::new(&[("app/a.yaml", configmap(&ns, "a", "one"))]);
    let work = repo.repo.path().to_path_buf();
    trusted.git(&work, &["commit", "--quiet", "--allow-empty", "-S", "-m", "signed"]);
    trusted.git(&work, &["tag", "-s", "v1.0.0", "-m", "v1.0.0"]);
    let signed = repo.repo.head();
    repo.repo.push(&repo.bare);
    install();
    let _controller = ControllerProcess::start(&ns, &[]);
    let source = |name: &str, reference: &str, mode: &str| {
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  \
             interval: 1s\n  url: {url}\n  ref:\n    {reference}\n  verify:\n    mode: {mode}\n    secretRef:\n      name: pgp-keys\n",
            url = repo.url()
        )
    };
    apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pgp-keys\n  namespace: {ns}\nstringData:\n  trusted.asc: |\n{}\n---\n{}---\n{}---\n{}",
        trusted
            .public_key()
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        source("head", "branch: main", "HEAD"),
        source("tag", "tag: v1.0.0", "TagAndHEAD"),
        source("branch-tag", "branch: main", "Tag"),
    ));
    for name in ["head", "tag"] {
        wait_for("Ready with verified signatures", 60, || {
            ready("gitrepository", &ns, name).filter(|(s, _)| s == "True")
        });
        let verified = live_condition("gitrepository", &ns, name, "SourceVerified").unwrap();
        assert_eq!(verified.0, "True");
        assert!(
            verified.2.contains(&format!("commit '{signed}' with key")),
            "{verified:?}"
        );
    }
    let tag_verified = live_condition("gitrepository", &ns, "tag", "SourceVerified").unwrap();
    assert!(tag_verified.2.contains("tag 'v1.0.0' with key"), "{tag_verified:?}");
    assert_eq!(
        get("gitrepository", Some(&ns), "tag").unwrap()["status"]["sourceVerificationMode"],
        "TagAndHEAD"
    );
    let (_, message) = wait_for("Tag mode without a tag refused", 60, || {
        ready("gitrepository", &ns, "branch-tag").filter(|(s, _)| s == "False")
    });
    assert!(message.contains("cannot verify tag object's signature"), "{message}");

    // A commit signed by a key the Secret does not hold: refused, the verified artifact kept.
    repo.repo.write("app/a.yaml", &configmap(&ns, "a", "two"));
    repo.repo.git(&["add", "--all"]);
    stranger.git(&work, &["commit", "--quiet", "-S", "-m", "not ours"]);
    let foreign = repo.repo.head();
    repo.repo.push(&repo.bare);
    let failed = wait_for("the foreign signature refused", 60, || {
        live_condition("gitrepository", &ns, "head", "SourceVerified").filter(|c| c.0 == "False")
    });
    assert_eq!(failed.1, "InvalidCommitSignature");
    assert!(
        failed.2.contains(&foreign) && failed.2.contains("unknown entity"),
        "{failed:?}"
    );
    let obj = get("gitrepository", Some(&ns), "head").unwrap();
    assert!(
        obj["status"]["artifact"]["revision"]
            .as_str()
            .unwrap()
            .ends_with(&signed),
        "the unverified revision reached the status: {obj}"
    );
    drop(repo.repo);
}

#[test]
fn health_check_exprs_judge_custom_resources() {
    let ns = namespace("api-cel");
    let group = format!("{ns}.example.com");
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: dials.{group}\nspec:\n  \
         group: {group}\n  names:\n    kind: Dial\n    plural: dials\n  scope: Namespaced\n  versions:\n  - name: v1\n    \
         served: true\n    storage: true\n    subresources:\n      status: {{}}\n    schema:\n      openAPIV3Schema:\n        \
         type: object\n        x-kubernetes-preserve-unknown-fields: true\n"
    );
    let dial =
        format!("apiVersion: {group}/v1\nkind: Dial\nmetadata:\n  name: w\n  namespace: {ns}\nspec:\n  size: 1\n");
    let repo = Repo::new(&[("app/crd.yaml", crd), ("app/dial.yaml", dial)]);
    install();
    let _controller = ControllerProcess::start(&ns, &[]);
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  ref:\n    branch: main\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  timeout: 3m\n  wait: true\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n  \
         healthCheckExprs:\n  - apiVersion: {group}/v1\n    kind: Dial\n    \
         current: \"status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')\"\n",
        url = repo.url()
    ));
    wait_for("the CRD established", 60, || {
        get("customresourcedefinition", None, &format!("dials.{group}")).filter(|c| {
            c["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Established" && c["status"] == "True"))
        })
    });
    wait_for("the Dial applied", 60, || {
        get(&format!("dials.{group}"), Some(&ns), "w")
    });
    // Ready by kstatus (Ready=True) but not Synced: the expression says not yet.
    let status = |synced: &str| {
        format!(
            "{{\"status\":{{\"conditions\":[{{\"type\":\"Ready\",\"status\":\"True\"}},{{\"type\":\"Synced\",\"status\":\"{synced}\"}}]}}}}"
        )
    };
    let patch_status = |synced: &str| {
        kubectl(&[
            "patch",
            &format!("dials.{group}"),
            "w",
            "-n",
            &ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status(synced),
        ]);
    };
    patch_status("False");
    std::thread::sleep(std::time::Duration::from_secs(4));
    let (s, message) = ready("kustomization", &ns, "app").unwrap();
    assert_ne!(s, "True", "Ready while the expression is false: {message}");
    patch_status("True");
    wait_for("Ready once the expression is true", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });
    // A bad expression refuses the spec, naming the entry.
    merge_patch(
        "kustomization",
        "app",
        &ns,
        r#"{"spec":{"healthCheckExprs":[{"apiVersion":"a/v1","kind":"X","current":"status.("}]}}"#,
    );
    let (_, message) = wait_for("the bad expression refused", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "False")
    });
    assert!(message.contains("healthCheckExprs[0].current"), "{message}");
    // The CRD is cluster-wide: leave no kind behind for other tests' short names.
    kubectl(&[
        "delete",
        "customresourcedefinition",
        &format!("dials.{group}"),
        "--wait=false",
    ]);
    drop(repo.repo);
}

#[test]
fn a_sparse_git_repository_serves_only_its_directories() {
    let ns = namespace("api-sparse");
    let repo = Repo::new(&[
        ("app/a.yaml", configmap(&ns, "in-app", "one")),
        ("other/b.yaml", configmap(&ns, "in-other", "one")),
    ]);
    install();
    let _controller = ControllerProcess::start(&ns, &[]);
    let ks = |name: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  \
             interval: 10m\n  path: ./{name}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n"
        )
    };
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  ref:\n    branch: main\n  sparseCheckout:\n  - app\n---\n{}---\n{}",
        ks("app"),
        ks("other"),
        url = repo.url()
    ));
    wait_for("the sparse directory applied", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });
    assert!(get("configmap", Some(&ns), "in-app").is_some());
    let (_, message) = wait_for("the directory left out is not in the artifact", 60, || {
        ready("kustomization", &ns, "other").filter(|(s, _)| s == "False")
    });
    assert!(message.contains("other"), "{message}");
    assert!(get("configmap", Some(&ns), "in-other").is_none());
    let source = get("gitrepository", Some(&ns), "app").unwrap();
    assert_eq!(source["status"]["observedSparseCheckout"], serde_json::json!(["app"]));
    drop(repo.repo);
}
