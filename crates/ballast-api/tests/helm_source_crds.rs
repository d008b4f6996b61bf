//! The Helm source CRDs on a real API server (1.20): accepted as structural schemas, and
//! objects written in every served version keep their fields through storage.

use std::path::Path;
use std::process::Command;

fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let bin = ballast_local::find_binary("kubectl").unwrap_or_else(|e| panic!("{e} (scripts/install-deps)"));
    let mut child = Command::new(bin)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or("").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn helm_source_crds_are_served_and_keep_every_version_s_fields() {
    let cluster = ballast_testenv::cluster();
    let kc = cluster.kubeconfig.as_path();
    let crds: Vec<serde_json::Value> = ballast_api::helm_source_crds()
        .iter()
        .map(|c| serde_json::to_value(c).unwrap())
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": crds}).to_string();
    kubectl(kc, &["apply", "-f", "-"], Some(&list));
    for name in [
        "helmrepositories.source.toolkit.fluxcd.io",
        "helmcharts.source.toolkit.fluxcd.io",
        "ocirepositories.source.toolkit.fluxcd.io",
    ] {
        kubectl(
            kc,
            &[
                "wait",
                "--for",
                "condition=established",
                "--timeout",
                "60s",
                &format!("crd/{name}"),
            ],
            None,
        );
    }
    kubectl(kc, &["create", "namespace", "helm-src"], None);
    let objects = r#"
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: podinfo, namespace: helm-src}
spec: {type: oci, url: "oci://127.0.0.1:5000/charts", interval: 5m, insecure: true, secretRef: {name: creds}}
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: HelmRepository
metadata: {name: bitnami, namespace: helm-src}
spec: {url: "https://charts.example", interval: 10m, passCredentials: true, certSecretRef: {name: tls}}
---
apiVersion: source.toolkit.fluxcd.io/v1beta1
kind: HelmRepository
metadata: {name: old, namespace: helm-src}
spec: {url: "https://charts.example", interval: 10m, timeout: 30s}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: podinfo, namespace: helm-src}
spec:
  chart: podinfo
  version: ">=6.0.0 <7.0.0"
  interval: 1m
  sourceRef: {kind: HelmRepository, name: podinfo}
  valuesFiles: [values.yaml, values-prod.yaml]
  ignoreMissingValuesFiles: true
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: HelmChart
metadata: {name: from-git, namespace: helm-src}
spec: {chart: ./charts/web, interval: 1m, reconcileStrategy: Revision, valuesFile: values-dev.yaml, sourceRef: {kind: GitRepository, name: app}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: manifests, namespace: helm-src}
spec:
  url: oci://ghcr.io/example/manifests
  interval: 10m
  ref: {semver: ">=1.0.0", semverFilter: ".*-rc.*"}
  layerSelector: {mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip, operation: copy}
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: old, namespace: helm-src}
spec: {url: "oci://ghcr.io/example/app", interval: 10m, ref: {tag: latest}}
"#;
    kubectl(kc, &["apply", "-f", "-"], Some(objects));
    let get = |kind: &str, name: &str| -> serde_json::Value {
        let out = kubectl(
            kc,
            &[
                "get",
                &format!("{kind}.v1.source.toolkit.fluxcd.io"),
                name,
                "-n",
                "helm-src",
                "-o",
                "json",
            ],
            None,
        );
        serde_json::from_str(&out).unwrap()
    };
    let hr = get("helmrepositories", "podinfo");
    assert_eq!(hr["spec"]["type"], "oci");
    assert_eq!(hr["spec"]["insecure"], true);
    let hr: ballast_api::HelmRepository = serde_json::from_value(hr).unwrap();
    assert!(hr.spec.is_oci());
    let b = get("helmrepositories", "bitnami");
    assert_eq!(b["spec"]["passCredentials"], true);
    assert_eq!(b["spec"]["certSecretRef"]["name"], "tls");
    assert_eq!(get("helmrepositories", "old")["spec"]["timeout"], "30s");
    let hc: ballast_api::HelmChart = serde_json::from_value(get("helmcharts", "podinfo")).unwrap();
    assert_eq!(hc.spec.version_range(), ">=6.0.0 <7.0.0");
    assert_eq!(hc.spec.ignore_missing_values_files, Some(true));
    let git: ballast_api::HelmChart = serde_json::from_value(get("helmcharts", "from-git")).unwrap();
    assert!(git.spec.rebuild_on_revision());
    assert_eq!(git.spec.all_values_files(), ["values-dev.yaml"]);
    let oci: ballast_api::OCIRepository = serde_json::from_value(get("ocirepositories", "manifests")).unwrap();
    let r = oci.spec.reference.unwrap();
    assert_eq!(r.semver_filter.as_deref(), Some(".*-rc.*"));
    assert_eq!(oci.spec.layer_selector.unwrap().operation.as_deref(), Some("copy"));
    assert_eq!(get("ocirepositories", "old")["spec"]["ref"]["tag"], "latest");

    // A field the version does not have is pruned from that version's objects (kubectl's own
    // validation, which would refuse it first, is off).
    kubectl(
        kc,
        &["apply", "--validate=false", "-f", "-"],
        Some(
            "apiVersion: source.toolkit.fluxcd.io/v1beta1\nkind: HelmRepository\nmetadata: {name: typed, namespace: helm-src}\nspec: {url: \"https://charts.example\", interval: 1m, type: oci}\n",
        ),
    );
    assert!(
        get("helmrepositories", "typed")["spec"].get("type").is_none(),
        "v1beta1 has no type"
    );
}
