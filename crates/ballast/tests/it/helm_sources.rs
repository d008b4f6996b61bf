//! Chart sources in the controller: HelmRepository over a real HTTP chart repository (charts
//! packaged and indexed by the reference helm, served on loopback with and without basic auth)
//! and of type oci, OCIRepository over Debian's docker-registry (charts pushed with
//! `helm push --plain-http`), and a Kustomization applying an OCIRepository's artifact.

use std::path::Path;

use ballast_testenv::charts::{ChartServer, Helm, Registry, pushed_digest, write_chart};
use serde_json::Value;

use crate::support::*;

const SECRET: &str = "Hs-s3cret-Pa55-7781";

/// `kubectl apply` of a YAML stream.
fn basic_secret(ns: &str, name: &str, user: &str, password: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\nstringData:\n  username: {user}\n  password: {password}\n---\n"
    )
}

fn helm_repository(ns: &str, name: &str, url: &str, secret: Option<&str>) -> String {
    let secret = secret
        .map(|s| format!("  secretRef:\n    name: {s}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  url: {url}\n  interval: 2s\n{secret}---\n"
    )
}

/// Waits until `kind/name` has `Ready` with `status`; returns the object.
fn wait_ready(kind: &str, ns: &str, name: &str, status: &str) -> Value {
    wait_for(&format!("{kind} {name} Ready={status}"), 60, || {
        let o = get(kind, Some(ns), name)?;
        let generation = o["metadata"]["generation"].as_i64();
        let (s, _, _) = condition_of(&o, "Ready")?;
        // ExternalArtifact's status has no observedGeneration (as Flux's).
        let observed = o["status"]["observedGeneration"].as_i64().or(generation);
        (s == status && observed == generation).then_some(o)
    })
}

fn artifact(obj: &Value) -> (String, String, String) {
    let a = &obj["status"]["artifact"];
    (
        a["path"].as_str().unwrap_or("").to_string(),
        a["revision"].as_str().unwrap_or("").to_string(),
        a["digest"].as_str().unwrap_or("").to_string(),
    )
}

/// `sha256:<hex>` of a file, by the system's sha256sum.
fn sha256_file(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    format!("sha256:{}", text.split_whitespace().next().unwrap())
}

/// Standard base64 with padding (what a basic `Authorization` header carries).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn events(ns: &str) -> String {
    kubectl(&["get", "events", "-n", ns, "-o", "json"])
}

/// A chart repository directory with `app` at `versions`, indexed with relative URLs.
fn chart_repo(home: &Path, dir: &Path, versions: &[&str]) {
    let helm = Helm::new(home);
    for v in versions {
        let src = tempfile::tempdir().unwrap();
        let chart = write_chart(src.path(), "app", v, "message: hi\n", &[]);
        helm.package(&chart, dir);
    }
    helm.index(dir, None);
}

#[test]
fn helm_repository_stores_the_index_with_and_without_basic_auth() {
    let ns = namespace("hsrc-http");
    let home = tempfile::tempdir().unwrap();
    let open_dir = tempfile::tempdir().unwrap();
    let private_dir = tempfile::tempdir().unwrap();
    chart_repo(home.path(), open_dir.path(), &["1.0.0"]);
    chart_repo(home.path(), private_dir.path(), &["1.0.0", "1.1.0"]);
    let open = ChartServer::start(open_dir.path(), None);
    let private = ChartServer::start(private_dir.path(), Some(("reader", SECRET)));
    let _controller = ControllerProcess::start(&ns, &[]);
    let controller_log = || _controller.log();
    let mut yaml = basic_secret(&ns, "good", "reader", SECRET);
    yaml += &basic_secret(&ns, "bad", "reader", &format!("{SECRET}-wrong"));
    yaml += &helm_repository(&ns, "open", &open.url, None);
    yaml += &helm_repository(&ns, "private", &private.url, Some("good"));
    yaml += &helm_repository(&ns, "wrong", &private.url, Some("bad"));
    yaml += &helm_repository(&ns, "anonymous", &private.url, None);
    yaml += &helm_repository(&ns, "missing", &private.url, Some("nowhere"));
    yaml += &format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: badca\n  namespace: {ns}\nstringData:\n  ca.crt: not-a-certificate-7781\n---\n"
    );
    yaml += &helm_repository(&ns, "badtls", &open.url.replace("http://", "https://"), None)
        .replace("spec:\n", "spec:\n  certSecretRef:\n    name: badca\n");
    apply(&yaml);

    for (name, dir) in [("open", open_dir.path()), ("private", private_dir.path())] {
        let o = wait_ready("helmrepository", &ns, name, "True");
        let (path, revision, digest) = artifact(&o);
        let index_digest = sha256_file(&dir.join("index.yaml"));
        assert_eq!(revision, index_digest, "{name}: revision is the index digest");
        assert_eq!(digest, index_digest);
        let hex = index_digest.trim_start_matches("sha256:");
        assert_eq!(path, format!("helmrepository/{ns}/{name}/index-{hex}.yaml"));
        let (s, reason, _) = condition_of(&o, "ArtifactInStorage").unwrap();
        assert_eq!((s.as_str(), reason.as_str()), ("True", "Succeeded"));
        assert!(condition_of(&o, "FetchFailed").is_none());
        assert!(condition_of(&o, "Reconciling").is_none());
        assert!(o["status"]["url"].as_str().unwrap().starts_with("file://"));
    }
    // The basic credentials reached the private server.
    assert!(
        private
            .seen_auth
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.as_deref().is_some_and(|a| a.starts_with("Basic "))),
        "no basic auth seen"
    );

    // Refused credentials: FetchFailed with a clear message, no password anywhere.
    let o = wait_ready("helmrepository", &ns, "wrong", "False");
    let (s, reason, message) = condition_of(&o, "FetchFailed").unwrap();
    assert_eq!(
        (s.as_str(), reason.as_str()),
        ("True", "AuthenticationFailed"),
        "{message}"
    );
    assert!(
        message.contains("authentication failed (401)") && message.contains(&private.url),
        "{message}"
    );
    assert!(o["status"]["artifact"].is_null());
    let o = wait_ready("helmrepository", &ns, "anonymous", "False");
    let (_, reason, message) = condition_of(&o, "Ready").unwrap();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    let o = wait_ready("helmrepository", &ns, "missing", "False");
    let (_, reason, message) = condition_of(&o, "Ready").unwrap();
    assert_eq!(reason, "AuthenticationFailed");
    assert!(
        message.contains(&format!("secret '{ns}/nowhere' not found")),
        "{message}"
    );

    let o = wait_ready("helmrepository", &ns, "badtls", "False");
    let (_, reason, message) = condition_of(&o, "Ready").unwrap();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(message.contains(&format!("certSecretRef '{ns}/badca'")), "{message}");
    assert!(!message.contains("not-a-certificate-7781"), "{message}");

    // A new chart version: the interval reads the new index, the revision moves.
    let before = artifact(&get("helmrepository", Some(&ns), "open").unwrap()).1;
    chart_repo(home.path(), open_dir.path(), &["1.0.0", "2.0.0"]);
    let new_digest = sha256_file(&open_dir.path().join("index.yaml"));
    assert_ne!(before, new_digest);
    wait_for("the open repository's new index", 60, || {
        let o = get("helmrepository", Some(&ns), "open")?;
        (artifact(&o).1 == new_digest).then_some(())
    });

    let everything = format!(
        "{}\n{}\n{}",
        kubectl(&["get", "helmrepositories", "-n", &ns, "-o", "json"]),
        events(&ns),
        controller_log()
    );
    assert!(everything.contains("AuthenticationFailed"), "the failure is reported");
    assert!(!everything.contains(SECRET), "a password leaked");
    let encoded = base64(format!("reader:{SECRET}").as_bytes());
    assert!(!everything.contains(&encoded), "a basic auth header leaked");
}

#[test]
fn helm_repository_of_type_oci_has_no_artifact() {
    let ns = namespace("hsrc-ocirepo");
    let _controller = ControllerProcess::start(&ns, &[]);
    let mut yaml = basic_secret(&ns, "creds", "ci", SECRET);
    for (name, url, secret) in [
        ("charts", "oci://127.0.0.1:5999/charts", Some("creds")),
        ("nosecret", "oci://127.0.0.1:5999/charts", Some("absent")),
        ("tagged", "oci://127.0.0.1:5999/charts:1.0.0", None),
    ] {
        yaml += &helm_repository(&ns, name, url, secret).replace("spec:\n", "spec:\n  type: oci\n");
    }
    apply(&yaml);
    // No registry listens there: type oci reads nothing until a HelmChart pulls a chart.
    let o = wait_ready("helmrepository", &ns, "charts", "True");
    assert!(o["status"]["artifact"].is_null(), "{o}");
    assert!(condition_of(&o, "ArtifactInStorage").is_none());
    let (_, _, message) = condition_of(&o, "Ready").unwrap();
    assert!(message.contains("type oci"), "{message}");
    let o = wait_ready("helmrepository", &ns, "nosecret", "False");
    let (_, reason, message) = condition_of(&o, "Ready").unwrap();
    assert_eq!(reason, "AuthenticationFailed");
    assert!(message.contains("absent"), "{message}");
    let o = wait_ready("helmrepository", &ns, "tagged", "False");
    let (_, reason, message) = condition_of(&o, "Ready").unwrap();
    assert_eq!(reason, "URLInvalid", "{message}");
}

/// Packages `app` at `version` with a plain manifest under `app/manifests/` and pushes it.
/// Returns the manifest digest and the archive's path.
fn push_app(helm: &Helm, work: &Path, registry: &Registry, ns: &str, version: &str) -> (String, std::path::PathBuf) {
    push_app_with(helm, work, registry, ns, version, &[])
}

/// [`push_app`] with more files under the chart (path, text).
fn push_app_with(
    helm: &Helm,
    work: &Path,
    registry: &Registry,
    ns: &str,
    version: &str,
    extra: &[(&str, &str)],
) -> (String, std::path::PathBuf) {
    let src = work.join(format!("src-{version}"));
    let chart = write_chart(&src, "app", version, "message: hi\n", &[]);
    std::fs::create_dir_all(chart.join("manifests")).unwrap();
    std::fs::write(
        chart.join("manifests/cm.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-oci\n  namespace: {ns}\ndata:\n  version: \"{version}\"\n"
        ),
    )
    .unwrap();
    for (path, text) in extra {
        std::fs::write(chart.join(path), text).unwrap();
    }
    let tgz = helm.package(&chart, &work.join("out"));
    let out = helm.run(&[
        "push",
        tgz.to_str().unwrap(),
        &format!("oci://{}/charts", registry.host()),
        "--plain-http",
        "--username",
        "ci",
        "--password",
        SECRET,
    ]);
    (pushed_digest(&out), tgz)
}

fn oci_repository(ns: &str, name: &str, url: &str, reference: &str, secret: &str, extra: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  url: {url}\n  interval: 2s\n  insecure: true\n  secretRef:\n    name: {secret}\n  ref:\n    {reference}\n{extra}---\n"
    )
}

#[test]
fn oci_repository_by_tag_semver_and_digest_feeds_a_kustomization() {
    let ns = namespace("hsrc-oci");
    let work = tempfile::tempdir().unwrap();
    let helm = Helm::new(&work.path().join("helm"));
    let registry = Registry::start("ci", SECRET);
    let (d100, tgz100) = push_app(&helm, work.path(), &registry, &ns, "1.0.0");
    let url = format!("oci://{}/charts/app", registry.host());
    let _controller = ControllerProcess::start(&ns, &[]);
    let dockerconfig = serde_json::json!({"auths": {registry.host(): {"username": "ci", "password": SECRET}}});
    let mut yaml = basic_secret(&ns, "basic", "ci", SECRET);
    yaml += &basic_secret(&ns, "wrong", "ci", "not-the-password");
    yaml += &format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: docker\n  namespace: {ns}\ntype: kubernetes.io/dockerconfigjson\nstringData:\n  .dockerconfigjson: '{dockerconfig}'\n---\n"
    );
    yaml += &oci_repository(&ns, "bytag", &url, "tag: 1.0.0", "basic", "");
    yaml += &oci_repository(&ns, "bysemver", &url, "semver: \">=1.0.0\"", "docker", "");
    yaml += &oci_repository(&ns, "bydigest", &url, &format!("digest: {d100}"), "basic", "");
    yaml += &oci_repository(
        &ns,
        "copy",
        &url,
        "tag: 1.0.0",
        "basic",
        "  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n",
    );
    yaml += &oci_repository(&ns, "notag", &url, "tag: 9.9.9", "basic", "");
    let zeros = format!("sha256:{}", "0".repeat(64));
    yaml += &oci_repository(&ns, "baddigest", &url, &format!("digest: {zeros}"), "basic", "");
    yaml += &oci_repository(&ns, "badcreds", &url, "tag: 1.0.0", "wrong", "");
    yaml += &format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  interval: 1m\n  prune: true\n  path: ./app/manifests\n  sourceRef:\n    kind: OCIRepository\n    name: bysemver\n---\n"
    );
    apply(&yaml);

    let o = wait_ready("ocirepository", &ns, "bytag", "True");
    let (path, revision, digest) = artifact(&o);
    assert_eq!(revision, format!("1.0.0@{d100}"));
    let hex = digest.trim_start_matches("sha256:");
    assert_eq!(path, format!("ocirepository/{ns}/bytag/{hex}.tgz"));
    assert_eq!(digest, sha256_file(&tgz100), "the chart layer, as pushed");
    let (_, _, message) = condition_of(&o, "Ready").unwrap();
    assert!(message.contains(&revision), "{message}");
    let o = wait_ready("ocirepository", &ns, "bydigest", "True");
    assert_eq!(artifact(&o).1, d100, "a digest reference's revision is the digest");
    let o = wait_ready("ocirepository", &ns, "copy", "True");
    assert_eq!(artifact(&o).2, sha256_file(&tgz100));
    assert_eq!(o["status"]["observedLayerSelector"]["operation"], "copy", "{o}");
    let o = wait_ready("ocirepository", &ns, "bysemver", "True");
    assert_eq!(artifact(&o).1, format!("1.0.0@{d100}"));
    let first_update = o["status"]["artifact"]["lastUpdateTime"].clone();

    // The Kustomization applies the artifact's manifests.
    let ks = wait_ready("kustomization", &ns, "app", "True");
    assert_eq!(ks["status"]["lastAppliedRevision"], format!("1.0.0@{d100}"));
    let cm = get("configmap", Some(&ns), "from-oci").expect("applied from the OCI artifact");
    assert_eq!(cm["data"]["version"], "1.0.0");

    // Errors are clear; credentials never printed.
    let o = wait_ready("ocirepository", &ns, "notag", "False");
    let (s, reason, message) = condition_of(&o, "FetchFailed").unwrap();
    assert_eq!(
        (s.as_str(), reason.as_str()),
        ("True", "OCIArtifactPullFailed"),
        "{message}"
    );
    assert!(
        message.contains("tag '9.9.9'") && message.contains("9.9.9\""),
        "{message}"
    );
    let o = wait_ready("ocirepository", &ns, "baddigest", "False");
    let (_, reason, message) = condition_of(&o, "Ready").unwrap();
    assert_eq!(reason, "OCIArtifactPullFailed");
    assert!(message.contains(&zeros), "{message}");
    let o = wait_ready("ocirepository", &ns, "badcreds", "False");
    let (_, reason, message) = condition_of(&o, "Ready").unwrap();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(message.contains(&registry.host()), "{message}");

    // Several reconciles of an unchanged revision leave the artifact as it was.
    std::thread::sleep(std::time::Duration::from_secs(5));
    let o = get("ocirepository", Some(&ns), "bysemver").unwrap();
    assert_eq!(o["status"]["artifact"]["lastUpdateTime"], first_update);

    // A new tag moves the semver revision, and the Kustomization follows.
    let (d110, _) = push_app(&helm, work.path(), &registry, &ns, "1.1.0");
    wait_for("bysemver at 1.1.0", 60, || {
        let o = get("ocirepository", Some(&ns), "bysemver")?;
        (artifact(&o).1 == format!("1.1.0@{d110}")).then_some(())
    });
    let o = get("ocirepository", Some(&ns), "bytag").unwrap();
    assert_eq!(artifact(&o).1, format!("1.0.0@{d100}"), "a tag reference stays");
    wait_for("the ConfigMap of 1.1.0", 60, || {
        let cm = get("configmap", Some(&ns), "from-oci")?;
        (cm["data"]["version"] == "1.1.0").then_some(())
    });
    let ks = wait_ready("kustomization", &ns, "app", "True");
    assert_eq!(ks["status"]["lastAppliedRevision"], format!("1.1.0@{d110}"));

    let everything = format!(
        "{}\n{}\n{}",
        kubectl(&["get", "ocirepositories", "-n", &ns, "-o", "json"]),
        events(&ns),
        _controller.log()
    );
    assert!(everything.contains("AuthenticationFailed"));
    assert!(!everything.contains(SECRET), "a password leaked");
    assert!(!everything.contains("not-the-password"), "a password leaked");
}

#[test]
fn artifact_generator_splits_a_repository_into_external_artifacts() {
    let ns = namespace("hsrc-gen");
    let repo = ballast_testenv::git::GitRepo::new();
    let cm = |name: &str, value: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  v: \"{value}\"\n"
        )
    };
    repo.write("apps/base/app.yaml", &cm("app", "1"));
    repo.write("apps/staging/kustomization.yaml", "resources:\n- ../base/app.yaml\n");
    repo.write("apps/staging/notes.txt", "not a manifest");
    repo.write("infrastructure/infra.yaml", &cm("infra", "1"));
    let first = repo.commit("one");
    let _controller = ControllerProcess::start(&ns, &[]);
    let generator = format!(
        "apiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\nmetadata:\n  name: split\n  namespace: {ns}\nspec:\n  sources:\n  - alias: monorepo\n    kind: GitRepository\n    name: mono\n  artifacts:\n  - name: infrastructure\n    originRevision: \"@monorepo\"\n    copy:\n    - from: \"@monorepo/infrastructure/**\"\n      to: \"@artifact/\"\n  - name: apps\n    copy:\n    - from: \"@monorepo/apps/base/**\"\n      to: \"@artifact/base/\"\n    - from: \"@monorepo/apps/staging/**\"\n      to: \"@artifact/staging/\"\n      exclude: [\"*.txt\"]\n  - name: pinned\n    revision: \"@monorepo\"\n    copy:\n    - from: \"@monorepo/infrastructure/infra.yaml\"\n      to: \"@artifact/one.yaml\"\n---\n"
    );
    let ks = |name: &str, source: &str, path: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  interval: 10m\n  prune: true\n  path: {path}\n  sourceRef:\n    kind: ExternalArtifact\n    name: {source}\n---\n"
        )
    };
    let mut yaml = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: mono\n  namespace: {ns}\nspec:\n  url: {}\n  interval: 1s\n  ref:\n    branch: main\n---\n",
        repo.url()
    );
    yaml += &generator;
    yaml += &ks("infra", "infrastructure", "./");
    yaml += &ks("apps", "apps", "./staging");
    apply(&yaml);

    let g = wait_ready("artifactgenerator", &ns, "split", "True");
    assert_eq!(g["status"]["inventory"].as_array().map(Vec::len), Some(3), "{g}");
    let infra = wait_ready("externalartifact", &ns, "infrastructure", "True");
    let (path, revision, digest) = artifact(&infra);
    assert_eq!(revision, format!("latest@{digest}"));
    assert_eq!(
        path,
        format!(
            "externalartifact/{ns}/infrastructure/{}.tar.gz",
            digest.trim_start_matches("sha256:")
        )
    );
    assert_eq!(
        infra["status"]["artifact"]["metadata"]["org.opencontainers.image.revision"],
        format!("main@sha1:{first}")
    );
    assert_eq!(infra["spec"]["sourceRef"]["kind"], "ArtifactGenerator");
    let pinned = wait_ready("externalartifact", &ns, "pinned", "True");
    assert_eq!(artifact(&pinned).1, format!("main@sha1:{first}"));
    wait_ready("kustomization", &ns, "infra", "True");
    wait_ready("kustomization", &ns, "apps", "True");
    assert_eq!(get("configmap", Some(&ns), "infra").unwrap()["data"]["v"], "1");
    assert_eq!(get("configmap", Some(&ns), "app").unwrap()["data"]["v"], "1");
    let apps_before = artifact(&get("externalartifact", Some(&ns), "apps").unwrap()).1;

    // A change under apps/ only: a new apps revision, the infrastructure artifact unchanged.
    repo.write("apps/base/app.yaml", &cm("app", "2"));
    repo.commit("two");
    wait_for("the app ConfigMap from the new apps artifact", 60, || {
        (get("configmap", Some(&ns), "app")?["data"]["v"] == "2").then_some(())
    });
    let apps_after = artifact(&get("externalartifact", Some(&ns), "apps").unwrap()).1;
    assert_ne!(apps_before, apps_after);
    let infra_now = get("externalartifact", Some(&ns), "infrastructure").unwrap();
    assert_eq!(
        artifact(&infra_now).1,
        revision,
        "content unchanged, revision unchanged"
    );
    assert_eq!(
        infra_now["status"]["artifact"]["lastUpdateTime"],
        infra["status"]["artifact"]["lastUpdateTime"]
    );

    // An output dropped from the spec: its ExternalArtifact is deleted.
    merge_patch(
        "artifactgenerator",
        "split",
        &ns,
        r#"{"spec":{"artifacts":[{"name":"infrastructure","copy":[{"from":"@monorepo/infrastructure/**","to":"@artifact/"}]},{"name":"apps","copy":[{"from":"@monorepo/apps/base/**","to":"@artifact/base/"},{"from":"@monorepo/apps/staging/**","to":"@artifact/staging/","exclude":["*.txt"]}]}]}}"#,
    );
    wait_for("the pinned ExternalArtifact deleted", 60, || {
        get("externalartifact", Some(&ns), "pinned").is_none().then_some(())
    });

    // A spec Ballast cannot honour is refused by name, and stalls.
    merge_patch(
        "artifactgenerator",
        "split",
        &ns,
        r#"{"spec":{"sources":[{"alias":"monorepo","kind":"GitRepository","name":"mono"},{"alias":"b","kind":"Bucket","name":"x"}]}}"#,
    );
    let g = wait_ready("artifactgenerator", &ns, "split", "False");
    let (s, reason, message) = condition_of(&g, "Stalled").unwrap();
    assert_eq!((s.as_str(), reason.as_str()), ("True", "InvalidSpec"));
    assert!(message.contains("kind Bucket is not supported yet"), "{message}");
    // A copy matching nothing names the pattern.
    merge_patch(
        "artifactgenerator",
        "split",
        &ns,
        r#"{"spec":{"sources":[{"alias":"monorepo","kind":"GitRepository","name":"mono"}],"artifacts":[{"name":"apps","copy":[{"from":"@monorepo/nothing/**","to":"@artifact/"}]}]}}"#,
    );
    wait_for("a failing copy reported", 60, || {
        let g = get("artifactgenerator", Some(&ns), "split")?;
        let (s, _, message) = condition_of(&g, "Ready")?;
        (s == "False" && message.contains("nothing/**") && message.contains("matches no files")).then_some(())
    });
}

#[test]
fn oci_repository_ignore_layer_selector_and_suspend() {
    let ns = namespace("hsrc-oci2");
    let work = tempfile::tempdir().unwrap();
    let helm = Helm::new(&work.path().join("helm"));
    let registry = Registry::start("ci", SECRET);
    let skipped = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: skipped\n  namespace: {ns}\n");
    push_app_with(
        &helm,
        work.path(),
        &registry,
        &ns,
        "1.0.0",
        &[("manifests/skip.yaml", &skipped)],
    );
    let url = format!("oci://{}/charts/app", registry.host());
    let _controller = ControllerProcess::start(&ns, &[]);
    let mut yaml = basic_secret(&ns, "basic", "ci", SECRET);
    yaml += &oci_repository(&ns, "ignoring", &url, "tag: 1.0.0", "basic", "  ignore: skip.yaml\n");
    yaml += &oci_repository(
        &ns,
        "wrongtype",
        &url,
        "tag: 1.0.0",
        "basic",
        "  layerSelector:\n    mediaType: application/x-none\n",
    );
    yaml += &oci_repository(&ns, "held", &url, "semver: \">=1.0.0\"", "basic", "");
    yaml += &oci_repository(&ns, "follows", &url, "semver: \">=1.0.0\"", "basic", "");
    yaml += &format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  interval: 1m\n  prune: true\n  path: ./app/manifests\n  sourceRef:\n    kind: OCIRepository\n    name: ignoring\n---\n"
    );
    apply(&yaml);

    // ignore: the rules are recorded and honoured where the tree is rendered.
    let o = wait_ready("ocirepository", &ns, "ignoring", "True");
    assert_eq!(o["status"]["observedIgnore"], "skip.yaml");
    wait_ready("kustomization", &ns, "app", "True");
    assert!(get("configmap", Some(&ns), "from-oci").is_some());
    assert!(
        get("configmap", Some(&ns), "skipped").is_none(),
        "an ignored file was applied"
    );

    // An OCIRepository as a generator's source; the artifact takes its revision.
    apply(&format!(
        "apiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\nmetadata:\n  name: from-oci\n  namespace: {ns}\nspec:\n  sources:\n  - alias: chart\n    kind: OCIRepository\n    name: ignoring\n  artifacts:\n  - name: one-file\n    revision: \"@chart\"\n    copy:\n    - from: \"@chart/app/manifests/cm.yaml\"\n      to: \"@artifact/deploy/\"\n"
    ));
    let ea = wait_ready("externalartifact", &ns, "one-file", "True");
    assert_eq!(artifact(&ea).1, artifact(&o).1, "the source's revision");

    // A layer selector that matches nothing names the layers there are.
    let o = wait_ready("ocirepository", &ns, "wrongtype", "False");
    let (_, reason, message) = condition_of(&o, "FetchFailed").unwrap();
    assert_eq!(reason, "OCIArtifactPullFailed");
    assert!(
        message.contains("no layer of type application/x-none")
            && message.contains("application/vnd.cncf.helm.chart.content.v1.tar+gzip"),
        "{message}"
    );

    // A suspended repository stays where it is while another one moves on.
    let held = wait_ready("ocirepository", &ns, "held", "True");
    let held_revision = artifact(&held).1;
    assert!(held_revision.starts_with("1.0.0@"), "{held_revision}");
    wait_ready("ocirepository", &ns, "follows", "True");
    merge_patch("ocirepository", "held", &ns, r#"{"spec":{"suspend":true}}"#);
    let (d110, _) = push_app(&helm, work.path(), &registry, &ns, "1.1.0");
    wait_for("the unsuspended repository at 1.1.0", 60, || {
        let o = get("ocirepository", Some(&ns), "follows")?;
        (artifact(&o).1 == format!("1.1.0@{d110}")).then_some(())
    });
    // Another reconcile of `follows` after that one, so every interval has come round.
    let seen = get("ocirepository", Some(&ns), "follows").unwrap()["metadata"]["resourceVersion"].clone();
    merge_patch(
        "ocirepository",
        "follows",
        &ns,
        r#"{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":"again"}}}"#,
    );
    wait_for("another reconcile of follows", 60, || {
        let o = get("ocirepository", Some(&ns), "follows")?;
        (o["status"]["lastHandledReconcileAt"] == "again" && o["metadata"]["resourceVersion"] != seen).then_some(())
    });
    let held = get("ocirepository", Some(&ns), "held").unwrap();
    assert_eq!(artifact(&held).1, held_revision, "a suspended repository moved");
}
