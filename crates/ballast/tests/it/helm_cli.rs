//! The Flux CLI's Helm verbs typed with `ballast`: `create source helm|oci` (and `--export` as
//! Flux's own golden files print it), `get|export|reconcile|suspend|resume|delete source
//! helm|chart|oci`, the credentials Secret `create source helm` writes, and the HelmRelease
//! verbs (`create|get|export|suspend|resume|delete|reconcile|history|rollback|tree
//! helmrelease`).

use ballast_testenv::charts::write_chart;
use ballast_testenv::git::GitRepo;

use crate::support::{ControllerProcess, Run, ballast, get, kubectl, namespace, wait_for};
use std::process::Command;

/// `ballast <args>` without a cluster (for `--export`).
fn offline(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .env_remove("BALLAST_HELM_PASSWORD")
        .output()
        .expect("run ballast");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The Flux CRDs, Helm kinds included (`ballast install`), once.
fn helm_source_crds() {
    crate::support::install();
}

// Expected texts: the Flux CLI's golden files (cmd/flux/testdata/create_source_helm/*.golden,
// testdata/oci/export*.golden), the namespace template filled with flux-system.

#[test]
fn create_source_helm_export_prints_what_flux_prints() {
    let https = offline(&[
        "create",
        "source",
        "helm",
        "podinfo",
        "--url=https://stefanprodan.github.io/charts/podinfo",
        "--interval",
        "5m",
        "--export",
    ])
    .ok();
    assert_eq!(
        https.stdout,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 5m0s\n  url: https://stefanprodan.github.io/charts/podinfo\n"
    );
    let oci = offline(&[
        "create",
        "source",
        "helm",
        "podinfo",
        "--url=oci://ghcr.io/stefanprodan/charts/podinfo",
        "--interval",
        "5m",
        "--export",
    ])
    .ok();
    assert_eq!(
        oci.stdout,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 5m0s\n  type: oci\n  url: oci://ghcr.io/stefanprodan/charts/podinfo\n"
    );
    let with_secret = offline(&[
        "create",
        "source",
        "helm",
        "podinfo",
        "--url=oci://ghcr.io/stefanprodan/charts/podinfo",
        "--interval",
        "5m",
        "--secret-ref=creds",
        "--export",
    ])
    .ok();
    assert_eq!(
        with_secret.stdout,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 5m0s\n  secretRef:\n    name: creds\n  type: oci\n  url: oci://ghcr.io/stefanprodan/charts/podinfo\n"
    );
    let bad = offline(&[
        "create",
        "source",
        "helm",
        "podinfo",
        "--url=git://example.com/charts",
        "--export",
    ])
    .fails();
    assert!(
        bad.stderr
            .contains("url scheme 'git' not supported, can be: http, https and oci"),
        "{}",
        bad.stderr
    );
    // As Flux: --export prints the HelmRepository only; the password goes nowhere.
    let creds = offline(&[
        "create",
        "source",
        "helm",
        "podinfo",
        "--url=https://charts.example/",
        "--username=u",
        "--password=hunter2-secret",
        "--pass-credentials",
        "--export",
    ])
    .ok();
    assert!(!creds.stdout.contains("secretRef") && !creds.stdout.contains("passCredentials"));
    assert!(!creds.stdout.contains("hunter2") && !creds.stderr.contains("hunter2"));
}

#[test]
fn create_source_oci_export_prints_what_flux_prints() {
    let base = [
        "create",
        "source",
        "oci",
        "podinfo",
        "--url=oci://ghcr.io/stefanprodan/manifests/podinfo",
        "--tag=6.3.5",
        "--interval",
        "10m",
    ];
    let plain = offline(&[&base[..], &["--export"]].concat()).ok();
    assert_eq!(
        plain.stdout,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  ref:\n    tag: 6.3.5\n  url: oci://ghcr.io/stefanprodan/manifests/podinfo\n"
    );
    let secret = offline(&[&base[..], &["--secret-ref=creds", "--export"]].concat()).ok();
    assert_eq!(
        secret.stdout,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  ref:\n    tag: 6.3.5\n  secretRef:\n    name: creds\n  url: oci://ghcr.io/stefanprodan/manifests/podinfo\n"
    );
    let layer = offline(
        &[
            &base[..],
            &[
                "--layer-selector=application/vnd.cncf.helm.chart.content.v1.tar+gzip:copy",
                "--export",
            ],
        ]
        .concat(),
    )
    .ok();
    assert_eq!(
        layer.stdout,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n  ref:\n    tag: 6.3.5\n  url: oci://ghcr.io/stefanprodan/manifests/podinfo\n"
    );
    let op = offline(
        &[
            &base[..],
            &[
                "--layer-selector=application/vnd.cncf.helm.chart.content.v1.tar+gzip:move",
                "--export",
            ],
        ]
        .concat(),
    )
    .fails();
    assert!(
        op.stderr.contains(
            "invalid --layer-selector \"application/vnd.cncf.helm.chart.content.v1.tar+gzip:move\": operation must be \"extract\" or \"copy\""
        ),
        "{}",
        op.stderr
    );
    let form = offline(
        &[
            &base[..],
            &[
                "--layer-selector=application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                "--export",
            ],
        ]
        .concat(),
    )
    .fails();
    assert!(
        form.stderr.contains("must be in the format '<media-type>:<operation>'"),
        "{}",
        form.stderr
    );
    let noref = offline(&[
        "create",
        "source",
        "oci",
        "podinfo",
        "--url=oci://ghcr.io/stefanprodan/manifests/podinfo",
        "--export",
    ])
    .fails();
    assert!(
        noref.stderr.contains("--tag, --tag-semver or --digest is required"),
        "{}",
        noref.stderr
    );
}

#[test]
fn create_source_helm_writes_the_credentials_secret_and_never_prints_the_password() {
    helm_source_crds();
    let ns = namespace("hcli-src");
    let run = ballast(&[
        "create",
        "source",
        "helm",
        "charts",
        "--url=https://charts.example/repo",
        "--username=reader",
        "--password=hunter2-secret",
        "--pass-credentials",
        "-n",
        &ns,
    ])
    .ok();
    assert!(
        !run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stdout.contains(&format!("Secret/{ns}/helm-charts created")),
        "{}",
        run.stdout
    );
    let secret = get("secret", Some(&ns), "helm-charts").expect("secret helm-charts");
    assert_eq!(secret["type"], "kubernetes.io/basic-auth");
    assert_eq!(secret["data"]["username"], "cmVhZGVy");
    assert_eq!(secret["data"]["password"], "aHVudGVyMi1zZWNyZXQ=");
    let repo = get("helmrepositories.source.toolkit.fluxcd.io", Some(&ns), "charts").expect("repo");
    assert_eq!(repo["spec"]["secretRef"]["name"], "helm-charts");
    assert_eq!(repo["spec"]["passCredentials"], true);
    assert_eq!(repo["spec"]["interval"], "1m0s");
    assert!(repo["spec"].get("type").is_none());

    // Again with another password: both are configured, not duplicated.
    let again = ballast(&[
        "create",
        "source",
        "helm",
        "charts",
        "--url=https://charts.example/repo",
        "--username=reader",
        "--password=rotated-secret",
        "-n",
        &ns,
    ])
    .ok();
    assert!(again.stdout.contains("configured"), "{}", again.stdout);
    let secret = get("secret", Some(&ns), "helm-charts").unwrap();
    assert_eq!(secret["data"]["password"], "cm90YXRlZC1zZWNyZXQ=");

    // export source helm: the object as Flux exports it, no status, no secret values.
    let exported = ballast(&["export", "source", "helm", "charts", "-n", &ns]).ok().stdout;
    assert_eq!(
        exported,
        format!(
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: {ns}\nspec:\n  interval: 1m0s\n  secretRef:\n    name: helm-charts\n  url: https://charts.example/repo\n"
        )
    );
}

#[test]
fn get_reconcile_suspend_resume_delete_helm_sources() {
    helm_source_crds();
    let ns = namespace("hcli-get");
    ballast(&[
        "create",
        "source",
        "helm",
        "oci-charts",
        "--url=oci://registry.example/charts",
        "-n",
        &ns,
    ])
    .ok();
    ballast(&[
        "create",
        "source",
        "oci",
        "manifests",
        "--url=oci://registry.example/manifests",
        "--tag-semver=1.x",
        "-n",
        &ns,
    ])
    .ok();
    ballast(&[
        "create",
        "source",
        "chart",
        "podinfo",
        "--source=HelmRepository/oci-charts",
        "--chart=podinfo",
        "--chart-version=6.x",
        "-n",
        &ns,
    ])
    .ok();

    // A type: oci HelmRepository is static: Ready as Flux lists it, never waited for.
    let helm = ballast(&["get", "sources", "helm", "-n", &ns]).ok();
    let lines = helm.lines();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"]
    );
    assert_eq!(
        lines[1].split('\t').map(str::trim).collect::<Vec<_>>(),
        ["oci-charts", "", "False", "True", "Helm repository is Ready"]
    );
    let r = ballast(&["reconcile", "source", "helm", "oci-charts", "-n", &ns]).ok();
    assert!(
        r.stdout.contains("✔ reconciliation not supported by the object"),
        "{}",
        r.stdout
    );

    // Nothing reconciles the others in this test: listed as waiting.
    let oci = ballast(&["get", "sources", "oci", "-n", &ns]).ok();
    assert!(oci.lines()[1].starts_with("manifests"), "{}", oci.stdout);
    assert!(oci.lines()[1].ends_with("waiting to be reconciled"), "{}", oci.stdout);
    let charts = ballast(&["get", "sources", "chart", "-A"]).ok();
    assert!(
        charts
            .lines()
            .iter()
            .any(|l| l.starts_with(&ns) && l.contains("podinfo")),
        "{}",
        charts.stdout
    );

    // export source chart / oci: the spec, durations as Go prints them.
    let exported = ballast(&["export", "source", "chart", "podinfo", "-n", &ns])
        .ok()
        .stdout;
    assert!(
        exported.contains("spec:\n  chart: podinfo\n  interval: 1m0s\n  reconcileStrategy: ChartVersion\n  sourceRef:\n    kind: HelmRepository\n    name: oci-charts\n  version: 6.x\n"),
        "{exported}"
    );
    let exported = ballast(&["export", "source", "oci", "--all", "-n", &ns]).ok().stdout;
    assert!(exported.contains("  ref:\n    semver: 1.x\n"), "{exported}");

    // suspend / resume (a suspended object refuses reconcile) / delete.
    ballast(&["suspend", "source", "chart", "podinfo", "-n", &ns]).ok();
    let hc = get("helmcharts.source.toolkit.fluxcd.io", Some(&ns), "podinfo").unwrap();
    assert_eq!(hc["spec"]["suspend"], true);
    let refused = ballast(&["reconcile", "source", "chart", "podinfo", "-n", &ns]).fails();
    assert!(refused.stderr.contains("suspended"), "{}", refused.stderr);
    let listed = ballast(&["get", "sources", "chart", "-n", &ns]).ok();
    assert!(listed.lines()[1].contains("\tTrue "), "{}", listed.stdout);
    ballast(&["suspend", "source", "oci", "manifests", "-n", &ns]).ok();
    ballast(&["resume", "source", "helm", "oci-charts", "-n", &ns]).ok();
    ballast(&["delete", "source", "oci", "manifests", "-n", &ns, "--timeout", "30s"]).ok();
    assert!(get("ocirepositories.source.toolkit.fluxcd.io", Some(&ns), "manifests").is_none());
    ballast(&["delete", "source", "chart", "podinfo", "-n", &ns, "--timeout", "30s"]).ok();
    ballast(&["delete", "source", "helm", "oci-charts", "-n", &ns, "--timeout", "30s"]).ok();
    assert!(get("helmrepositories.source.toolkit.fluxcd.io", Some(&ns), "oci-charts").is_none());
}

// Expected texts: Flux's cmd/flux/testdata/create_hr/{basic,or_basic,hc_basic}.yaml.
#[test]
fn create_helmrelease_export_prints_what_flux_prints() {
    let basic = offline(&[
        "create",
        "helmrelease",
        "podinfo",
        "--source",
        "Helmrepository/podinfo",
        "--chart",
        "podinfo",
        "--interval=1m0s",
        "--export",
    ])
    .ok();
    assert_eq!(
        basic.stdout,
        "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      reconcileStrategy: ChartVersion\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n  interval: 1m0s\n"
    );
    for (kind, _) in [("OCIRepository", "or_basic"), ("HelmChart", "hc_basic")] {
        let out = offline(&[
            "create",
            "hr",
            "podinfo",
            "--chart-ref",
            &format!("{kind}/podinfo"),
            "--interval=1m0s",
            "--export",
        ])
        .ok();
        assert_eq!(
            out.stdout,
            format!(
                "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  chartRef:\n    kind: {kind}\n    name: podinfo\n  interval: 1m0s\n"
            )
        );
    }
    for (args, error) in [
        (
            vec!["create", "helmrelease", "podinfo", "--export"],
            "chart or chart-ref is required",
        ),
        (
            vec![
                "create",
                "helmrelease",
                "podinfo",
                "--chart",
                "podinfo",
                "--chart-ref",
                "foobar/podinfo",
                "--export",
            ],
            "cannot use --chart in combination with --chart-ref",
        ),
        (
            vec![
                "create",
                "helmrelease",
                "podinfo",
                "--source",
                "foobar/podinfo",
                "--chart",
                "podinfo",
                "--export",
            ],
            "source kind 'foobar' is not supported, must be one of: HelmRepository, GitRepository, Bucket",
        ),
        (
            vec![
                "create",
                "helmrelease",
                "podinfo",
                "--chart-ref",
                "foobar/podinfo",
                "--export",
            ],
            "chart reference kind 'foobar' is not supported, must be one of: OCIRepository, HelmChart",
        ),
    ] {
        let run = offline(&args).fails();
        assert!(run.stderr.contains(error), "{args:?}: {}", run.stderr);
    }

    // Every other flag, in the fields Flux writes for it.
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    std::fs::write(&a, "replicaCount: 2\nimage:\n  tag: '1.0'\n  pullPolicy: Always\n").unwrap();
    std::fs::write(&b, "image:\n  tag: '2.0'\nextra: [1, two]\n").unwrap();
    let full = offline(&[
        "create",
        "hr",
        "web",
        "-n",
        "apps",
        "--source=HelmRepository/charts.flux-system",
        "--chart=podinfo",
        "--chart-version=>=6.0.0 <7.0.0",
        "--values",
        a.to_str().unwrap(),
        "--values",
        b.to_str().unwrap(),
        "--values-from=secret/web-values",
        "--target-namespace=prod",
        "--create-target-namespace",
        "--release-name=web-prod",
        "--depends-on=infra,ops/db",
        "--interval=10m",
        "--export",
    ])
    .ok();
    assert_eq!(
        full.stdout,
        "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      reconcileStrategy: ChartVersion\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n        namespace: flux-system\n      version: '>=6.0.0 <7.0.0'\n  dependsOn:\n  - name: infra\n  - name: db\n    namespace: ops\n  install:\n    createNamespace: true\n  interval: 10m0s\n  releaseName: web-prod\n  storageNamespace: prod\n  targetNamespace: prod\n  values:\n    extra:\n    - 1\n    - two\n    image:\n      pullPolicy: Always\n      tag: '2.0'\n    replicaCount: 2\n  valuesFrom:\n  - kind: Secret\n    name: web-values\n"
    );
}

/// A chart directory at `version` (one ConfigMap named after the release).
fn chart(dir: &std::path::Path, version: &str) -> String {
    let root = ballast_testenv::charts::write_chart(&dir.join(version), "app", version, "message: hi\n", &[]);
    root.display().to_string()
}

#[test]
fn helmrelease_verbs_on_a_release_the_cli_installed() {
    helm_source_crds();
    let ns = namespace("hcli-hr");
    let dir = tempfile::tempdir().unwrap();
    // The release the HelmRelease names (release name = its name, same namespace), made by the
    // helm verbs: revisions 1 (1.0.0) and 2 (2.0.0).
    ballast(&["helm", "install", "web", &chart(dir.path(), "1.0.0"), "-n", &ns]).ok();
    ballast(&["helm", "upgrade", "web", &chart(dir.path(), "2.0.0"), "-n", &ns]).ok();
    let created = ballast(&[
        "create",
        "hr",
        "web",
        "-n",
        &ns,
        "--source=HelmRepository/charts",
        "--chart=app",
        "--chart-version=2.0.0",
    ])
    .ok();
    assert!(
        created.stdout.contains(&format!("HelmRelease/{ns}/web created")),
        "{}",
        created.stdout
    );

    // get: Flux's columns; no controller here, so no status yet.
    let got = ballast(&["get", "helmreleases", "-n", &ns]).ok();
    assert_eq!(
        got.lines()[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"]
    );
    assert!(got.lines()[1].starts_with("web"), "{}", got.stdout);
    let sourced = ballast(&["get", "hr", "-n", &ns, "--show-source"]).ok();
    assert_eq!(
        sourced.lines()[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "SOURCE", "REVISION", "SUSPENDED", "READY", "MESSAGE"]
    );
    assert_eq!(
        sourced.lines()[1]
            .split('\t')
            .map(str::trim)
            .take(2)
            .collect::<Vec<_>>(),
        ["web", format!("HelmRepository/{ns}/charts").as_str()]
    );

    // export: as `flux export hr` lays it out.
    let exported = ballast(&["export", "helmrelease", "web", "-n", &ns]).ok().stdout;
    assert_eq!(
        exported,
        format!(
            "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  chart:\n    spec:\n      chart: app\n      reconcileStrategy: ChartVersion\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n      version: 2.0.0\n  interval: 1m0s\n"
        )
    );

    // history: the release records, newest first.
    let history = ballast(&["history", "helmrelease", "web", "-n", &ns]).ok();
    let rows: Vec<Vec<&str>> = history
        .lines()
        .iter()
        .map(|l| l.split('\t').map(str::trim).collect())
        .collect();
    assert_eq!(
        rows[0],
        ["REVISION", "CHART", "APP VERSION", "STATUS", "UPDATED", "DIGEST"]
    );
    assert_eq!(rows[1][..4], ["2", "app@2.0.0", "2.0.0", "deployed"]);
    assert_eq!(rows[2][..4], ["1", "app@1.0.0", "1.0.0", "superseded"]);

    // A HelmRelease in another namespace naming the same release: objects and records in the
    // target namespace (`create hr` sets storageNamespace to it, as Flux does).
    let other = namespace("hcli-hr-other");
    ballast(&[
        "create",
        "hr",
        "remote",
        "-n",
        &other,
        "--source=HelmRepository/charts",
        "--chart=app",
        &format!("--target-namespace={ns}"),
        "--release-name=web",
    ])
    .ok();
    let remote = ballast(&["history", "hr", "remote", "-n", &other]).ok();
    assert_eq!(remote.stdout, history.stdout);

    // tree: the objects of the deployed release (no inventory in the status: from its manifest).
    let tree = ballast(&["tree", "hr", "web", "-n", &ns]).ok();
    assert_eq!(tree.stdout, format!("HelmRelease/{ns}/web\n└── ConfigMap/{ns}/web\n"));

    // reconcile --force --reset: the three annotations carry the same token (nothing
    // reconciles here, so the wait ends at its timeout with an error).
    let r = ballast(&[
        "reconcile",
        "hr",
        "web",
        "-n",
        &ns,
        "--force",
        "--reset",
        "--timeout",
        "1s",
    ])
    .fails();
    assert!(r.stderr.contains("not reconciled within"), "{}", r.stderr);
    let hr = get("helmreleases.helm.toolkit.fluxcd.io", Some(&ns), "web").unwrap();
    let ann = &hr["metadata"]["annotations"];
    let token = ann["reconcile.fluxcd.io/requestedAt"].as_str().unwrap();
    assert_eq!(ann["reconcile.fluxcd.io/forceAt"], token);
    assert_eq!(ann["reconcile.fluxcd.io/resetAt"], token);
    let exported = ballast(&["export", "hr", "web", "-n", &ns]).ok().stdout;
    assert!(!exported.contains("annotations"), "{exported}");

    // rollback: the HelmRelease is suspended first, then the release rolls back to 1 as a new
    // revision 3 (what `helm rollback` records).
    let rb = ballast(&["rollback", "helmrelease", "web", "1", "-n", &ns]).ok();
    assert!(rb.stdout.contains("✔ HelmRelease web suspended"), "{}", rb.stdout);
    let hr = get("helmreleases.helm.toolkit.fluxcd.io", Some(&ns), "web").unwrap();
    assert_eq!(hr["spec"]["suspend"], true);
    assert!(
        hr["metadata"]["annotations"]["ballast.dev/rolled-back"]
            .as_str()
            .unwrap()
            .starts_with("1@")
    );
    let cm = get("configmap", Some(&ns), "web").unwrap();
    assert_eq!(cm["data"]["version"], "1.0.0");
    let history = ballast(&["helm", "history", "web", "-n", &ns]).ok();
    assert!(history.stdout.contains("Rollback to 1"), "{}", history.stdout);
    // Suspended: reconcile refuses until resumed.
    let refused = ballast(&["reconcile", "hr", "web", "-n", &ns]).fails();
    assert!(refused.stderr.contains("suspended"), "{}", refused.stderr);
    let listed = ballast(&["get", "hr", "-n", &ns]).ok();
    assert!(listed.lines()[1].contains("\tTrue "), "{}", listed.stdout);
    // A revision that does not exist is refused before anything is written.
    let missing = ballast(&["rollback", "hr", "web", "9", "-n", &ns]).fails();
    assert!(missing.stderr.contains("has no revision 9"), "{}", missing.stderr);

    // delete: gone (no finalizer without a controller).
    ballast(&["delete", "hr", "web", "-n", &ns, "--timeout", "30s"]).ok();
    assert!(get("helmreleases.helm.toolkit.fluxcd.io", Some(&ns), "web").is_none());
}

/// Waits until the HelmRelease is Ready at `version` (the controller's work).
fn ready_at(ns: &str, name: &str, version: &str) {
    wait_for(&format!("HelmRelease {name} Ready at {version}"), 120, || {
        let hr = get("helmreleases.helm.toolkit.fluxcd.io", Some(ns), name)?;
        let ready = hr["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        (ready && hr["status"]["history"][0]["chartVersion"] == version).then_some(())
    });
}

#[test]
fn helmrelease_verbs_with_the_controller() {
    helm_source_crds();
    let ns = namespace("hcli-ctl");
    let repo = GitRepo::new();
    write_chart(&repo.path().join("charts"), "demo", "0.1.0", "message: default\n", &[]);
    repo.commit("chart 0.1.0");
    let url = repo.url();
    ballast(&[
        "create", "source", "git", "charts", "--url", &url, "--branch", "main", "-n", &ns,
    ])
    .ok();
    let _controller = ControllerProcess::start(&ns, &[]);
    ballast(&[
        "create",
        "hr",
        "demo",
        "-n",
        &ns,
        "--source=GitRepository/charts",
        "--chart=./charts/demo",
        "--interval=1h",
    ])
    .ok();
    ready_at(&ns, "demo", "0.1.0");

    // get: Flux's row for a released HelmRelease.
    let got = ballast(&["get", "hr", "-n", &ns]).ok();
    let row: Vec<&str> = got.lines()[1].split('\t').map(str::trim).collect();
    assert_eq!(row[..4], ["demo", "0.1.0", "False", "True"], "{}", got.stdout);

    // A new chart version in Git: reconcile --with-source walks GitRepository, HelmChart,
    // HelmRelease, as Flux's golden output does.
    write_chart(&repo.path().join("charts"), "demo", "0.2.0", "message: default\n", &[]);
    repo.commit("chart 0.2.0");
    let r = ballast(&["reconcile", "hr", "demo", "-n", &ns, "--with-source", "--timeout", "2m"]).ok();
    let order: Vec<&str> = r
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("► annotating"))
        .collect();
    assert_eq!(
        order,
        [
            format!("► annotating GitRepository charts in {ns} namespace"),
            format!("► annotating HelmChart {ns}-demo in {ns} namespace"),
            format!("► annotating HelmRelease demo in {ns} namespace"),
        ],
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("✔ fetched revision 0.2.0\n"), "{}", r.stdout);
    assert!(r.stdout.ends_with("✔ applied revision 0.2.0\n"), "{}", r.stdout);
    assert_eq!(get("configmap", Some(&ns), "demo").unwrap()["data"]["version"], "0.2.0");

    // history: records with the digests of status.history.
    let history = ballast(&["history", "hr", "demo", "-n", &ns]).ok();
    let rows: Vec<Vec<&str>> = history
        .lines()
        .iter()
        .map(|l| l.split('\t').map(str::trim).collect())
        .collect();
    assert_eq!(
        rows[1][..4],
        ["2", "demo@0.2.0", "0.2.0", "deployed"],
        "{}",
        history.stdout
    );
    assert_eq!(
        rows[2][..4],
        ["1", "demo@0.1.0", "0.1.0", "superseded"],
        "{}",
        history.stdout
    );
    assert!(rows[1][5].starts_with("sha256:"), "{}", history.stdout);

    // tree: the release's objects.
    let tree = ballast(&["tree", "hr", "demo", "-n", &ns]).ok();
    assert_eq!(tree.stdout, format!("HelmRelease/{ns}/demo\n└── ConfigMap/{ns}/demo\n"));

    // --force: one forced upgrade, a new revision with the same chart.
    ballast(&["reconcile", "hr", "demo", "-n", &ns, "--force", "--timeout", "2m"]).ok();
    let history = ballast(&["history", "hr", "demo", "-n", &ns]).ok();
    assert!(history.lines()[1].starts_with("3"), "{}", history.stdout);

    // rollback: suspended first, so the controller leaves the rolled-back release alone; a
    // reconcile is refused while suspended; resume upgrades it back to the spec's chart.
    let rb = ballast(&["rollback", "hr", "demo", "1", "-n", &ns]).ok();
    assert!(
        rb.stdout.contains("rolled back to revision 1 (now revision 4)"),
        "{}",
        rb.stdout
    );
    assert_eq!(get("configmap", Some(&ns), "demo").unwrap()["data"]["version"], "0.1.0");
    ballast(&["reconcile", "hr", "demo", "-n", &ns]).fails();
    let listed = ballast(&["get", "hr", "-n", &ns]).ok();
    assert!(listed.lines()[1].contains("\tTrue "), "{}", listed.stdout);
    let resumed = ballast(&["resume", "hr", "demo", "-n", &ns, "--timeout", "2m"]).ok();
    assert!(
        resumed.stdout.contains("reconciliation completed: 0.2.0"),
        "{}",
        resumed.stdout
    );
    assert_eq!(get("configmap", Some(&ns), "demo").unwrap()["data"]["version"], "0.2.0");
    let history = ballast(&["history", "hr", "demo", "-n", &ns]).ok();
    let rows: Vec<Vec<&str>> = history
        .lines()
        .iter()
        .map(|l| l.split('\t').map(str::trim).collect())
        .collect();
    assert_eq!(
        rows[1][..4],
        ["5", "demo@0.2.0", "0.2.0", "deployed"],
        "{}",
        history.stdout
    );
    assert_eq!(
        rows[2][..4],
        ["4", "demo@0.1.0", "0.1.0", "superseded"],
        "{}",
        history.stdout
    );

    // delete: the finalizer uninstalls the release.
    ballast(&["delete", "hr", "demo", "-n", &ns, "--timeout", "2m"]).ok();
    assert!(get("configmap", Some(&ns), "demo").is_none());
}

#[test]
fn diff_helmrelease_shows_the_next_upgrade_and_never_a_secret_value() {
    helm_source_crds();
    let ns = namespace("hcli-diff");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  version: {{ .Chart.Version | quote }}\n  message: {{ .Values.message | default \"none\" | quote }}\n";
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-creds\nstringData:\n  password: {{ .Values.password | quote }}\n";
    let repo = GitRepo::new();
    write_chart(
        &repo.path().join("charts"),
        "demo",
        "0.1.0",
        "message: default\npassword: none\n",
        &[("cm.yaml", cm), ("secret.yaml", secret)],
    );
    repo.commit("chart 0.1.0");
    let url = repo.url();
    ballast(&[
        "create", "source", "git", "charts", "--url", &url, "--branch", "main", "-n", &ns,
    ])
    .ok();
    kubectl(&[
        "create",
        "secret",
        "generic",
        "demo-values",
        "-n",
        &ns,
        "--from-literal=values.yaml=password: s3cr3t-one",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, "message: one\n").unwrap();
    let _controller = ControllerProcess::start(&ns, &[]);
    ballast(&[
        "create",
        "hr",
        "demo",
        "-n",
        &ns,
        "--source=GitRepository/charts",
        "--chart=./charts/demo",
        "--values",
        values.to_str().unwrap(),
        "--values-from=Secret/demo-values",
        "--interval=1h",
    ])
    .ok();
    ready_at(&ns, "demo", "0.1.0");
    let diff = |extra: &[&str]| {
        let mut args = vec!["diff", "helmrelease", "demo", "-n", &ns];
        args.extend_from_slice(extra);
        ballast(&args)
    };

    // In sync: exit 0, nothing printed.
    let same = diff(&["--allow-file-sources"]);
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
    assert_eq!(same.stdout, "");
    // file:// charts need the flag, as in the controller.
    let refused = diff(&[]).fails();
    assert!(refused.stderr.contains("file://"), "{}", refused.stderr);

    // Suspended (so the controller leaves it), then changed: values, the valuesFrom Secret and
    // the chart version.
    ballast(&["suspend", "hr", "demo", "-n", &ns]).ok();
    kubectl(&[
        "patch",
        "helmrelease",
        "demo",
        "-n",
        &ns,
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"values":{"message":"two"}}}"#,
    ]);
    kubectl(&[
        "patch",
        "secret",
        "demo-values",
        "-n",
        &ns,
        "--type",
        "merge",
        "-p",
        r#"{"stringData":{"values.yaml":"password: s3cr3t-two"}}"#,
    ]);
    write_chart(
        &repo.path().join("charts"),
        "demo",
        "0.2.0",
        "message: default\npassword: none\n",
        &[("cm.yaml", cm), ("secret.yaml", secret)],
    );
    repo.commit("chart 0.2.0");
    // The chart is built from the source's current artifact, as the HelmChart reconciler
    // builds it: fetch the new commit first.
    ballast(&["reconcile", "source", "git", "charts", "-n", &ns]).ok();
    let changed = diff(&["--allow-file-sources"]);
    assert_eq!(changed.code, 1, "{}{}", changed.stdout, changed.stderr);
    let out = &changed.stdout;
    assert!(
        out.contains("-  message: one\n") && out.contains("+  message: two\n"),
        "{out}"
    );
    assert!(
        out.contains("-  version: 0.1.0\n") && out.contains("+  version: 0.2.0\n"),
        "{out}"
    );
    assert!(out.contains(&format!("Secret/{ns}/demo-creds")), "{out}");
    for text in [&changed.stdout, &changed.stderr, &same.stderr] {
        assert!(!text.contains("s3cr3t"), "a secret value was printed:\n{text}");
        assert!(
            !text.contains("czNjcjN0"),
            "a secret value was printed (base64):\n{text}"
        );
    }
    assert!(changed.stderr.contains("upgrade of release"), "{}", changed.stderr);
    // Nothing was written: the release is still at revision 1, the ConfigMap unchanged.
    assert_eq!(get("configmap", Some(&ns), "demo").unwrap()["data"]["message"], "one");
    let history = ballast(&["history", "hr", "demo", "-n", &ns]).ok();
    assert_eq!(history.lines().len(), 2, "{}", history.stdout);

    // A HelmRelease that does not exist: exit 2.
    ballast(&["diff", "hr", "nope", "-n", &ns]).fails();
}

// Flux's cmd/flux/testdata/export: objects written as objects.yaml writes them, exported as
// helm-repo.yaml, helm-chart.yaml (identical) and helm-release.yaml print them — except the
// fields Flux's CRDs default on the server (`provider: generic` of the HelmRepository;
// `reconcileStrategy` and `version: '*'` of the HelmRelease's chart template), which Ballast's
// CRDs leave unset. Durations are printed as Go's `metav1.Duration` prints them (`5m0s`).
#[test]
fn export_prints_what_flux_export_prints() {
    helm_source_crds();
    let ns = namespace("hcli-export");
    let objects = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: flux-system\n  namespace: {ns}\nspec:\n  interval: 5m\n  timeout: 1m0s\n  url: https://stefanprodan.github.io/podinfo\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata:\n  name: flux-system\n  namespace: {ns}\nspec:\n  chart: podinfo\n  interval: 1m0s\n  reconcileStrategy: ChartVersion\n  sourceRef:\n    kind: HelmRepository\n    name: podinfo\n  version: '*'\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: flux-system\n  namespace: {ns}\nspec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: flux-systen\n        namespace: {ns}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("objects.yaml"), objects).unwrap();
    kubectl(&["apply", "-f", dir.path().join("objects.yaml").to_str().unwrap()]);
    let repo = ballast(&["export", "source", "helm", "flux-system", "-n", &ns]).ok();
    assert_eq!(
        repo.stdout,
        format!(
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: flux-system\n  namespace: {ns}\nspec:\n  interval: 5m0s\n  timeout: 1m0s\n  url: https://stefanprodan.github.io/podinfo\n"
        )
    );
    let chart = ballast(&["export", "source", "chart", "flux-system", "-n", &ns]).ok();
    assert_eq!(
        chart.stdout,
        format!(
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata:\n  name: flux-system\n  namespace: {ns}\nspec:\n  chart: podinfo\n  interval: 1m0s\n  reconcileStrategy: ChartVersion\n  sourceRef:\n    kind: HelmRepository\n    name: podinfo\n  version: '*'\n"
        )
    );
    let release = ballast(&["export", "helmrelease", "flux-system", "-n", &ns]).ok();
    assert_eq!(
        release.stdout,
        format!(
            "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: flux-system\n  namespace: {ns}\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: flux-systen\n        namespace: {ns}\n  interval: 5m0s\n"
        )
    );
}

// Flux's cmd/flux/testdata/create_source_chart/basic.yaml (its test runs with the interval flag
// reset to zero, hence `--interval 0s` here) and the errors of create_source_chart_test.go.
#[test]
fn create_source_chart_export_prints_what_flux_prints() {
    let basic = offline(&[
        "create",
        "source",
        "chart",
        "podinfo",
        "--source",
        "helmrepository/podinfo",
        "--chart",
        "podinfo",
        "--interval",
        "0s",
        "--export",
    ])
    .ok();
    assert_eq!(
        basic.stdout,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  chart: podinfo\n  interval: 0s\n  reconcileStrategy: ChartVersion\n  sourceRef:\n    kind: HelmRepository\n    name: podinfo\n"
    );
    for (args, error) in [
        (
            vec!["create", "source", "chart", "podinfo", "--export"],
            "chart source is required",
        ),
        (
            vec![
                "create",
                "source",
                "chart",
                "podinfo",
                "--source",
                "helmrepository/podinfo",
                "--export",
            ],
            "chart name or path is required",
        ),
        (
            vec![
                "create",
                "source",
                "chart",
                "podinfo",
                "--source",
                "foobar/podinfo",
                "--export",
            ],
            "source kind 'foobar' is not supported, must be one of: HelmRepository, GitRepository, Bucket",
        ),
    ] {
        let run = offline(&args).fails();
        assert!(run.stderr.contains(error), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn diff_helmrelease_of_an_oci_chart_ref_fetches_through_the_controllers_source_mirror() {
    use ballast_testenv::charts::{Helm, Registry};
    helm_source_crds();
    let ns = namespace("hcli-diff-oci");
    let password = "mirror-pa55word-27";
    let registry = Registry::start("ci", password);
    let home = tempfile::tempdir().unwrap();
    let h = Helm::new(home.path());
    let src = tempfile::tempdir().unwrap();
    let chart = write_chart(src.path(), "demo", "1.0.0", "message: from-oci\n", &[]);
    let tgz = h.package(&chart, &home.path().join("out"));
    h.run(&[
        "push",
        tgz.to_str().unwrap(),
        &format!("oci://{}/charts", registry.host()),
        "--plain-http",
        "--username",
        "ci",
        "--password",
        password,
    ]);
    // The manifests name an upstream registry this machine cannot reach; the controller and
    // the diff read it from the loopback mirror.
    let mirror = format!(
        "oci://charts.invalid/charts=oci://{}/charts,pass-credentials",
        registry.host()
    );
    kubectl(&[
        "create",
        "secret",
        "generic",
        "registry-login",
        "-n",
        &ns,
        "--from-literal=username=ci",
        &format!("--from-literal=password={password}"),
    ]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: demo\n  namespace: {ns}\nspec:\n  url: oci://charts.invalid/charts/demo\n  interval: 1m\n  ref:\n    tag: 1.0.0\n  secretRef:\n    name: registry-login\n  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n---\n\
             apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: demo\n  namespace: {ns}\nspec:\n  interval: 1h\n  chartRef:\n    kind: OCIRepository\n    name: demo\n  values:\n    message: one\n"
        ),
    )
    .unwrap();
    let _controller = ControllerProcess::start(&ns, &["--source-mirror", &mirror]);
    kubectl(&["apply", "-f", &file.path().display().to_string()]);
    ready_at(&ns, "demo", "1.0.0");
    assert_eq!(get("configmap", Some(&ns), "demo").unwrap()["data"]["message"], "one");

    let diff = |extra: &[&str]| {
        let mut args = vec!["diff", "helmrelease", "demo", "-n", &ns, "--timeout", "30s"];
        args.extend_from_slice(extra);
        ballast(&args)
    };
    let same = diff(&["--source-mirror", &mirror]);
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
    ballast(&["suspend", "hr", "demo", "-n", &ns]).ok();
    kubectl(&[
        "patch",
        "helmrelease",
        "demo",
        "-n",
        &ns,
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"values":{"message":"two"}}}"#,
    ]);
    let changed = diff(&["--source-mirror", &mirror]);
    assert_eq!(changed.code, 1, "{}{}", changed.stdout, changed.stderr);
    assert!(
        changed.stdout.contains("-  message: one\n") && changed.stdout.contains("+  message: two\n"),
        "{}",
        changed.stdout
    );
    assert!(changed.stderr.contains("with chart demo@1.0.0"), "{}", changed.stderr);
    // Without the mirror the upstream registry is what it tries, and cannot reach: exit 2.
    let unreachable = diff(&[]);
    assert_eq!(unreachable.code, 2, "{}{}", unreachable.stdout, unreachable.stderr);
    assert!(unreachable.stderr.contains("charts.invalid"), "{}", unreachable.stderr);
    for run in [&same, &changed, &unreachable] {
        assert!(
            !run.stdout.contains(password) && !run.stderr.contains(password),
            "the password was printed"
        );
    }
}
