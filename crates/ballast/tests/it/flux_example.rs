//! fluxcd/flux2-kustomize-helm-example, `clusters/staging`, reconciled unchanged: its files (in
//! `tests/fixtures/flux2-kustomize-helm-example`, see the README there) are committed to a Git
//! fixture repository, bootstrapped as `flux bootstrap` would, and reconciled by `ballast
//! controller` with its chart registries served on loopback through `--source-mirror`:
//! ArtifactGenerator → ExternalArtifacts, Kustomizations in dependsOn order, OCIRepository +
//! `chartRef`, `install.strategy: RetryOnFailure`, a HelmRepository chart, and the staging patches.
//!
//! The example needs a cluster of its own (fixed namespaces such as `flux-system`, cluster-scoped
//! CRDs and ClusterIssuer, a controller watching every namespace): it runs on a dedicated
//! control plane. That control plane has no kubelet, so the test plays the kubelet's part for
//! pod status only: a background loop marks pods Running and Ready (and a Job's pods
//! Succeeded) through the Pod status subresource; kube-controller-manager then makes
//! ReplicaSets, Deployments and Jobs available the real way.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ballast_testenv::charts::{ChartServer, Helm, Registry};
use ballast_testenv::git::GitRepo;
use serde_json::Value;

use crate::support::wait_for;

const MIRROR_PASSWORD: &str = "Fx-mirror-Pa55-4410";
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/flux2-kustomize-helm-example"
);
const CHARTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ballast-helm/tests/fixtures/charts");

/// The dedicated cluster, reached with kubectl and the reference helm.
struct Cluster {
    kubeconfig: PathBuf,
}

impl Cluster {
    fn kubectl_raw(&self, args: &[&str]) -> std::process::Output {
        let bin = ballast_local::find_binary("kubectl").unwrap_or_else(|e| panic!("{e}"));
        Command::new(bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("kubectl")
    }

    fn kubectl(&self, args: &[&str]) -> String {
        let out = self.kubectl_raw(args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn apply(&self, yaml: &str) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("objects.yaml");
        std::fs::write(&file, yaml).unwrap();
        self.kubectl(&["apply", "-f", file.to_str().unwrap()]);
    }

    fn get(&self, kind: &str, ns: Option<&str>, name: &str) -> Option<Value> {
        let mut args = vec!["get", kind, name, "-o", "json", "--ignore-not-found"];
        if let Some(ns) = ns {
            args.extend(["-n", ns]);
        }
        let out = self.kubectl(&args);
        (!out.trim().is_empty()).then(|| serde_json::from_str(&out).expect("json"))
    }

    /// The Ready condition of a Flux object once it is True for its current generation.
    fn ready(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let o = self.get(kind, Some(ns), name)?;
        let c = o["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Ready")?
            .clone();
        let generation = o["metadata"]["generation"].as_i64();
        let observed = o["status"]["observedGeneration"].as_i64().or(generation);
        (c["status"] == "True" && observed == generation).then_some(c)
    }

    fn ballast(&self, args: &[&str], cache: &Path) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_ballast"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("BALLAST_CACHE", cache)
            .env("NO_COLOR", "1")
            .output()
            .expect("run ballast")
    }
}

/// Plays the kubelet's part for pod status (nothing else): every pod not yet Ready is marked
/// Running with Ready=True, a Job's pod Succeeded, through the status subresource. Stops when
/// dropped.
struct PodStatusLoop {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PodStatusLoop {
    fn start(kubeconfig: &Path) -> PodStatusLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let cluster = Cluster {
            kubeconfig: kubeconfig.to_path_buf(),
        };
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                mark_pods(&cluster);
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        });
        PodStatusLoop {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for PodStatusLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn mark_pods(cluster: &Cluster) {
    let out = cluster.kubectl_raw(&["get", "pods", "-A", "-o", "json"]);
    if !out.status.success() {
        return;
    }
    let Ok(list) = serde_json::from_slice::<Value>(&out.stdout) else {
        return;
    };
    let now = "2026-01-01T00:00:00Z";
    for pod in list["items"].as_array().into_iter().flatten() {
        let phase = pod["status"]["phase"].as_str().unwrap_or("");
        if phase == "Running" || phase == "Succeeded" || pod["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
        let name = pod["metadata"]["name"].as_str().unwrap_or("");
        let of_job = pod["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|o| o.iter().any(|r| r["kind"] == "Job"));
        let containers: Vec<&str> = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        let status = if of_job {
            let statuses: Vec<Value> = containers
                .iter()
                .map(|c| {
                    serde_json::json!({"name": c, "ready": false, "restartCount": 0, "image": "", "imageID": "",
                        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}}})
                })
                .collect();
            serde_json::json!({"phase": "Succeeded", "startTime": now, "containerStatuses": statuses,
                "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now}]})
        } else {
            let statuses: Vec<Value> = containers
                .iter()
                .map(|c| {
                    serde_json::json!({"name": c, "ready": true, "started": true, "restartCount": 0, "image": "", "imageID": "",
                        "state": {"running": {"startedAt": now}}})
                })
                .collect();
            serde_json::json!({"phase": "Running", "startTime": now, "containerStatuses": statuses,
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
                    {"type": "Ready", "status": "True", "lastTransitionTime": now}]})
        };
        let patch = serde_json::json!({ "status": status }).to_string();
        let _ = cluster.kubectl_raw(&[
            "patch",
            "pod",
            name,
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch,
        ]);
    }
}

/// Copies the fixture into the Git work tree (the fixture's own README.ballast.md stays out).
fn copy_fixture(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "README.ballast.md" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_fixture(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `spec.url` of the first document of `kind` in a fixture file.
fn spec_url(file: &str, kind: &str) -> String {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join(file)).unwrap();
    let doc = text
        .split("\n---")
        .find(|d| d.contains(&format!("kind: {kind}\n")))
        .unwrap_or_else(|| panic!("no {kind} in {file}"));
    doc.lines()
        .find_map(|l| l.trim().strip_prefix("url: "))
        .unwrap_or_else(|| panic!("no url in {file}"))
        .trim()
        .to_string()
}

/// The test control plane's Kubernetes version is v1.20.2; the published podinfo chart requires
/// `>=1.23.0-0` (`kubeVersion`), which Helm, and Ballast as Helm, refuse to install there. Its
/// stand-in is the published archive of the Helm fixtures repackaged by the reference helm
/// without that one `Chart.yaml` line; every template and value is as published.
fn repackage(
    helm: &Helm,
    work: &Path,
    archive: &str,
    name: &str,
    edit: impl FnOnce(&Path, String) -> String,
) -> PathBuf {
    let src = work.join(format!("{name}-src"));
    std::fs::create_dir_all(&src).unwrap();
    let status = Command::new("tar")
        .args(["xzf", &format!("{CHARTS}/{archive}"), "-C"])
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success());
    let chart = src.join(name);
    let meta = std::fs::read_to_string(chart.join("Chart.yaml")).unwrap();
    let without: Vec<&str> = meta.lines().filter(|l| !l.starts_with("kubeVersion:")).collect();
    assert_eq!(
        without.len() + 1,
        meta.lines().count(),
        "one kubeVersion line in {meta}"
    );
    let meta = edit(&chart, without.join("\n") + "\n");
    std::fs::write(chart.join("Chart.yaml"), meta).unwrap();
    helm.package(&chart, &work.join("packaged"))
}

/// The stand-in for the registry's cert-manager chart, version `v1.19.1` (the example asks for
/// `semver: "1.x"`). The published chart (the Helm fixtures' `cert-manager-v0.0.0.tgz`) renders
/// the example's values, but the test control plane (Kubernetes v1.20.2, no pod network) cannot
/// take it: its CRDs carry fields v1.20 does not know (`selectableFields`,
/// `x-kubernetes-validations`) and list-map keys whose empty defaults v1.20 refuses, and its
/// webhook configurations (`failurePolicy: Fail`) would refuse every cert-manager object since
/// no webhook can be reached. This chart keeps what the example relies on: the values
/// `crds.enabled`/`crds.keep` (the ClusterIssuer CRD, structural, kept or not as the real chart
/// does), `config` (written to the controller's ConfigMap, as the real chart does) and a
/// `cert-manager` Deployment.
fn cert_manager_chart(helm: &Helm, work: &Path) -> PathBuf {
    let crd = "{{- if .Values.crds.enabled }}\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: clusterissuers.cert-manager.io\n  {{- if .Values.crds.keep }}\n  annotations:\n    helm.sh/resource-policy: keep\n  {{- end }}\nspec:\n  group: cert-manager.io\n  names:\n    kind: ClusterIssuer\n    listKind: ClusterIssuerList\n    plural: clusterissuers\n    singular: clusterissuer\n  scope: Cluster\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    subresources:\n      status: {}\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            x-kubernetes-preserve-unknown-fields: true\n          status:\n            type: object\n            x-kubernetes-preserve-unknown-fields: true\n{{- end }}\n";
    let config = "{{- if .Values.config }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cert-manager\n  namespace: {{ .Release.Namespace }}\ndata:\n  config.yaml: |\n    apiVersion: controller.config.cert-manager.io/v1alpha1\n    kind: ControllerConfiguration\n    {{- .Values.config | toYaml | nindent 4 }}\n{{- end }}\n";
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cert-manager\n  namespace: {{ .Release.Namespace }}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: cert-manager\n  template:\n    metadata:\n      labels:\n        app: cert-manager\n    spec:\n      containers:\n      - name: cert-manager-controller\n        image: registry.invalid/cert-manager-controller:{{ .Chart.AppVersion }}\n        args:\n        - --config=/var/cert-manager/config/config.yaml\n";
    let chart = ballast_testenv::charts::write_chart(
        &work.join("cert-manager-src"),
        "cert-manager",
        "v1.19.1",
        "crds:\n  enabled: false\n  keep: true\nconfig: {}\n",
        &[
            ("crd-clusterissuers.yaml", crd),
            ("controller-config.yaml", config),
            ("deployment.yaml", deployment),
        ],
    );
    helm.package(&chart, &work.join("packaged"))
}

/// The stand-in for podinfo 6.14.1 (see [`repackage`]).
fn podinfo_chart(helm: &Helm, work: &Path) -> PathBuf {
    repackage(helm, work, "podinfo-6.14.1.tgz", "podinfo", |_, meta| meta)
}

/// A structural CRD of the Gateway API (`gateway.networking.k8s.io/v1`), schema kept minimal.
fn gateway_api_crd(kind: &str, plural: &str, scope: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {plural}.gateway.networking.k8s.io\n  annotations:\n    api-approved.kubernetes.io: https://github.com/kubernetes-sigs/gateway-api/pull/3328\nspec:\n  group: gateway.networking.k8s.io\n  names:\n    kind: {kind}\n    listKind: {kind}List\n    plural: {plural}\n    singular: {singular}\n  scope: {scope}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    subresources:\n      status: {{}}\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            x-kubernetes-preserve-unknown-fields: true\n          status:\n            type: object\n            x-kubernetes-preserve-unknown-fields: true\n",
        singular = kind.to_lowercase()
    )
}

/// The stand-in for the registry's `gateway-helm` chart (no copy of it is available offline):
/// a chart of that name and version 1.8.0 that installs, from `crds/`, the Gateway API CRDs the
/// example's `infrastructure/configs` and podinfo's HTTPRoute use (GatewayClass, Gateway,
/// HTTPRoute), and runs one Deployment, `envoy-gateway`, as the real chart does.
fn gateway_helm_chart(helm: &Helm, work: &Path) -> PathBuf {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: envoy-gateway\n  namespace: {{ .Release.Namespace }}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: envoy-gateway\n  template:\n    metadata:\n      labels:\n        app: envoy-gateway\n    spec:\n      containers:\n      - name: envoy-gateway\n        image: registry.invalid/envoy-gateway:{{ .Chart.Version }}\n";
    let chart = ballast_testenv::charts::write_chart(
        &work.join("gateway-helm-src"),
        "gateway-helm",
        "1.8.0",
        "",
        &[("deployment.yaml", deployment)],
    );
    std::fs::create_dir_all(chart.join("crds")).unwrap();
    for (kind, plural, scope) in [
        ("GatewayClass", "gatewayclasses", "Cluster"),
        ("Gateway", "gateways", "Namespaced"),
        ("HTTPRoute", "httproutes", "Namespaced"),
    ] {
        std::fs::write(
            chart.join("crds").join(format!("{plural}.yaml")),
            gateway_api_crd(kind, plural, scope),
        )
        .unwrap();
    }
    helm.package(&chart, &work.join("packaged"))
}

fn push(helm: &Helm, tgz: &Path, to: &str) {
    helm.run(&[
        "push",
        tgz.to_str().unwrap(),
        to,
        "--plain-http",
        "--username",
        "mirror",
        "--password",
        MIRROR_PASSWORD,
    ]);
}

/// The part of an OCI URL before its last path segment (`oci://host/a/chart` → `oci://host/a`).
fn parent(url: &str) -> &str {
    url.rsplit_once('/').map(|(p, _)| p).unwrap()
}

fn last_ready_time(c: &Value) -> String {
    c["lastTransitionTime"].as_str().unwrap_or("").to_string()
}

#[test]
fn staging_reconciles_unchanged_from_local_chart_mirrors() {
    let env = ballast_testenv::dedicated_cluster();
    let k = Cluster {
        kubeconfig: env.kubeconfig.clone(),
    };
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let helm = Helm::new(&work.path().join("helm"));

    // The chart registries, on loopback. podinfo: an HTTP Helm repository indexed by helm.
    let podinfo_dir = work.path().join("podinfo-repo");
    std::fs::create_dir_all(&podinfo_dir).unwrap();
    std::fs::copy(
        podinfo_chart(&helm, work.path()),
        podinfo_dir.join("podinfo-6.14.1.tgz"),
    )
    .unwrap();
    helm.index(&podinfo_dir, None);
    let podinfo_server = ChartServer::start(&podinfo_dir, None);
    // cert-manager and gateway-helm: OCI charts in docker-registry, pushed by helm.
    let registry = Registry::start("mirror", MIRROR_PASSWORD);
    let cert_manager_url = spec_url("infrastructure/controllers/cert-manager.yaml", "OCIRepository");
    let gateway_url = spec_url("infrastructure/controllers/envoy-gateway.yaml", "OCIRepository");
    let podinfo_url = spec_url("apps/base/podinfo/repository.yaml", "HelmRepository");
    assert!(cert_manager_url.ends_with("/cert-manager") && gateway_url.ends_with("/gateway-helm"));
    let cert_manager_mirror = format!("oci://{}/jetstack/charts", registry.host());
    let gateway_mirror = format!("oci://{}/envoyproxy", registry.host());
    push(&helm, &cert_manager_chart(&helm, work.path()), &cert_manager_mirror);
    push(&helm, &gateway_helm_chart(&helm, work.path()), &gateway_mirror);

    // The example in Git, as `flux bootstrap` leaves it: gotk-sync.yaml (a GitRepository
    // flux-system of this repository and the flux-system Kustomization of ./clusters/staging)
    // and gotk-components.yaml, which for Flux holds its controllers; Ballast's controller runs
    // outside the cluster here, so it holds the flux-system Namespace only.
    let repo = GitRepo::new();
    copy_fixture(Path::new(FIXTURE), repo.path());
    let sync = format!(
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  url: {}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./clusters/staging\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
        repo.url()
    );
    let components = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n";
    repo.write("clusters/staging/flux-system/gotk-sync.yaml", &sync);
    repo.write("clusters/staging/flux-system/gotk-components.yaml", components);
    repo.commit("Add Flux sync manifests");

    let install = k.ballast(&["install"], &cache);
    assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
    k.apply(components);
    // The mirror's own login: read by the controller, sent to the mirror only.
    k.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: chart-mirror\n  namespace: flux-system\nstringData:\n  username: mirror\n  password: {MIRROR_PASSWORD}\n"
    ));
    let _pods = PodStatusLoop::start(&k.kubeconfig);
    let mirrors = [
        format!("{podinfo_url}={}", podinfo_server.url),
        format!(
            "{}={cert_manager_mirror},secret=flux-system/chart-mirror",
            parent(&cert_manager_url)
        ),
        format!(
            "{}={gateway_mirror},secret=flux-system/chart-mirror",
            parent(&gateway_url)
        ),
    ];
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("controller.err");
    let mut args: Vec<String> = vec![
        "controller".into(),
        "--metrics-addr".into(),
        "127.0.0.1:0".into(),
        "--allow-file-sources".into(),
    ];
    for m in &mirrors {
        args.extend(["--source-mirror".into(), m.clone()]);
    }
    let mut controller = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .arg("--kubeconfig")
        .arg(&k.kubeconfig)
        .args(&args)
        .env("BALLAST_CACHE", log_dir.path().join("cache"))
        .stdout(std::fs::File::create(log_dir.path().join("controller.out")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start controller");
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _kill = Kill(&mut controller);
    let controller_log = || std::fs::read_to_string(&log).unwrap_or_default();

    // Bootstrap: the sync manifests, applied once; from here on the cluster follows Git.
    k.apply(&sync);

    let wait = |what: &str, secs: u64, kind: &str, ns: &str, name: &str| -> Value {
        let mut last = String::new();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_for(what, secs, || {
                let r = k.ready(kind, ns, name);
                if r.is_none() {
                    last = k
                        .get(kind, Some(ns), name)
                        .map(|o| o["status"].to_string())
                        .unwrap_or_else(|| "absent".into());
                }
                r
            })
        }));
        found.unwrap_or_else(|_| {
            panic!(
                "{what}: {kind} {ns}/{name} not Ready: {last}\ncontroller log:\n{}",
                controller_log()
            )
        })
    };

    let boot = wait(
        "the flux-system Kustomization",
        120,
        "kustomization",
        "flux-system",
        "flux-system",
    );
    assert!(boot["message"].as_str().unwrap_or("").contains("main@sha1:"), "{boot}");

    // The ArtifactGenerator publishes the two ExternalArtifacts the Kustomizations follow.
    for artifact in ["infrastructure", "apps"] {
        let ea = wait("an ExternalArtifact", 120, "externalartifact", "flux-system", artifact);
        let full = k.get("externalartifact", Some("flux-system"), artifact).unwrap();
        assert!(
            full["status"]["artifact"]["digest"]
                .as_str()
                .unwrap_or("")
                .starts_with("sha256:"),
            "{artifact}: {full} {ea}"
        );
        let source = &full["spec"]["sourceRef"];
        assert_eq!(source["kind"], "ArtifactGenerator", "{full}");
        assert_eq!(source["name"], "flux-system", "{full}");
    }

    // dependsOn: infra-controllers → infra-configs → apps.
    let controllers = wait(
        "infra-controllers",
        300,
        "kustomization",
        "flux-system",
        "infra-controllers",
    );
    let configs = wait("infra-configs", 300, "kustomization", "flux-system", "infra-configs");
    let apps = wait("apps", 300, "kustomization", "flux-system", "apps");
    assert!(
        last_ready_time(&controllers) <= last_ready_time(&configs)
            && last_ready_time(&configs) <= last_ready_time(&apps),
        "Ready in dependsOn order: {controllers} {configs} {apps}"
    );

    // The three HelmReleases, Ready, and readable by the reference helm.
    for (ns, name) in [
        ("cert-manager", "cert-manager"),
        ("envoy-gateway-system", "envoy-gateway"),
        ("podinfo", "podinfo"),
    ] {
        wait("a HelmRelease", 120, "helmrelease", ns, name);
    }
    let kubeconfig = k.kubeconfig.to_str().unwrap();
    let list = helm.run(&["list", "-A", "-o", "json", "--kubeconfig", kubeconfig]);
    let list: Value = serde_json::from_str(list.lines().next().unwrap_or("[]")).unwrap();
    let releases: Vec<(String, String, String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["namespace"].as_str().unwrap_or("").to_string(),
                r["name"].as_str().unwrap_or("").to_string(),
                r["chart"].as_str().unwrap_or("").to_string(),
                r["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (ns, name, chart) in [
        ("cert-manager", "cert-manager", "cert-manager-v1.19.1"),
        ("envoy-gateway-system", "envoy-gateway", "gateway-helm-1.8.0"),
        ("podinfo", "podinfo", "podinfo-6.14.1"),
    ] {
        assert!(
            releases.contains(&(ns.into(), name.into(), chart.into(), "deployed".into())),
            "{name} in helm list -A: {releases:?}"
        );
    }

    // The OCIRepositories report the example's URL, not the mirror's; revision tag@digest.
    let oci = k.get("ocirepository", Some("cert-manager"), "cert-manager").unwrap();
    assert_eq!(oci["spec"]["url"], cert_manager_url.as_str());
    let revision = oci["status"]["artifact"]["revision"].as_str().unwrap_or("");
    assert!(revision.starts_with("v1.19.1@sha256:"), "{oci}");
    assert!(!oci.to_string().contains(&registry.host()), "{oci}");
    let hr = k.get("helmrepository", Some("podinfo"), "podinfo").unwrap();
    assert!(!hr["status"].to_string().contains(&podinfo_server.url), "{hr}");

    // cert-manager's values reached the chart: crds.enabled installed its CRD (crds.keep:
    // false leaves it unannotated), config.enableGatewayAPI is in its ConfigMap; infra-configs'
    // ClusterIssuer carries the staging ACME server its patch sets.
    let crd = k
        .get("crd", None, "clusterissuers.cert-manager.io")
        .expect("ClusterIssuer CRD");
    assert!(
        crd["metadata"]["annotations"]["helm.sh/resource-policy"].is_null(),
        "{crd}"
    );
    let config = k
        .get("configmap", Some("cert-manager"), "cert-manager")
        .expect("cert-manager config");
    assert!(
        config["data"]["config.yaml"]
            .as_str()
            .unwrap_or("")
            .contains("enableGatewayAPI: true"),
        "{config}"
    );
    let issuer = k.get("clusterissuer", None, "letsencrypt").expect("ClusterIssuer");
    assert_eq!(
        issuer["spec"]["acme"]["server"],
        "https://acme-staging-v02.api.letsencrypt.org/directory"
    );
    let gateway = k
        .get("gateway", Some("envoy-gateway-system"), "envoy")
        .expect("Gateway");
    assert_eq!(gateway["spec"]["gatewayClassName"], "envoy");

    // apps/staging's patch: the chart version range and the HTTPRoute hostname.
    let chart = k
        .get("helmchart", Some("podinfo"), "podinfo-podinfo")
        .expect("HelmChart");
    assert_eq!(chart["spec"]["version"], ">=1.0.0-alpha", "{chart}");
    let values = helm.run(&[
        "get",
        "values",
        "podinfo",
        "-n",
        "podinfo",
        "-o",
        "json",
        "--kubeconfig",
        kubeconfig,
    ]);
    let values: Value = serde_json::from_str(values.lines().next().unwrap_or("{}")).unwrap();
    assert_eq!(
        values["httpRoute"]["hostnames"],
        serde_json::json!(["podinfo.staging"]),
        "{values}"
    );
    assert_eq!(values["redis"]["enabled"], true, "{values}");
    let route = k.get("httproute", Some("podinfo"), "podinfo").expect("HTTPRoute");
    assert_eq!(
        route["spec"]["hostnames"],
        serde_json::json!(["podinfo.staging"]),
        "{route}"
    );
    let deploy = k
        .get("deployment", Some("podinfo"), "podinfo")
        .expect("podinfo Deployment");
    assert_eq!(deploy["status"]["availableReplicas"], 1, "{deploy}");

    // No credential reached a log.
    assert!(!controller_log().contains(MIRROR_PASSWORD));
}
