//! Releases whose charts come from chart repositories and OCI registries, against real
//! servers on loopback (a static HTTP chart repository behind basic auth, docker-registry
//! with an htpasswd user), compared with what the reference helm CLI prints for the same
//! chart versions.

use std::path::{Path, PathBuf};

use ballast_helmfile::{Options, template};
use ballast_testenv::charts::{ChartServer, Helm, HttpsChartServer, Pki, Registry, write_chart};

const USER: &str = "ci";
const HTTP_PASSWORD: &str = "http-pa55-7731";
const OCI_PASSWORD: &str = "oci-pa55-4410";

/// A chart whose ConfigMap shows the chart's name, version and a value.
fn chart(dir: &Path, name: &str, version: &str) -> PathBuf {
    let cm = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ .Release.Name }}}}-{name}\ndata:\n  chart: {{{{ .Chart.Name }}}}-{{{{ .Chart.Version }}}}\n  message: {{{{ .Values.message | quote }}}}\n"
    );
    write_chart(
        &dir.join(version),
        name,
        version,
        &format!("message: {name}-default\n"),
        &[("cm.yaml", &cm)],
    )
}

/// The reference servers with their charts: `web` 1.0.0, 1.1.0, 2.0.0-rc.1 in the HTTP
/// repository; `db` 0.3.0, 0.4.0 in the registry under `charts/`.
struct Fixture {
    helm: Helm,
    http: ChartServer,
    registry: Registry,
    _dirs: Vec<tempfile::TempDir>,
}

impl Fixture {
    fn start() -> Fixture {
        let home = tempfile::tempdir().unwrap();
        let helm = Helm::new(home.path());
        let src = tempfile::tempdir().unwrap();
        let repo = tempfile::tempdir().unwrap();
        for v in ["1.0.0", "1.1.0", "2.0.0-rc.1"] {
            helm.package(&chart(src.path(), "web", v), repo.path());
        }
        helm.index(repo.path(), None);
        let http = ChartServer::start(repo.path(), Some((USER, HTTP_PASSWORD)));
        let registry = Registry::start(USER, OCI_PASSWORD);
        let out = src.path().join("oci");
        for v in ["0.3.0", "0.4.0"] {
            let tgz = helm.package(&chart(src.path(), "db", v), &out);
            helm.run(&[
                "push",
                tgz.to_str().unwrap(),
                &format!("oci://{}/charts", registry.host()),
                "--plain-http",
                "--username",
                USER,
                "--password",
                OCI_PASSWORD,
            ]);
        }
        Fixture {
            helm,
            http,
            registry,
            _dirs: vec![home, src, repo],
        }
    }

    /// The `repositories:` of a state, with the given HTTP password.
    fn repositories(&self, http_password: &str) -> String {
        format!(
            "repositories:\n- name: web\n  url: {}\n  username: {USER}\n  password: {http_password}\n- name: oci\n  url: {}/charts\n  oci: true\n  plainHttp: true\n  username: {USER}\n  password: {OCI_PASSWORD}\n",
            self.http.url,
            self.registry.host()
        )
    }

    /// What `helm template NAME ...` prints, with the HTTP repository's credentials.
    fn helm_http(&self, release: &str, chart: &str, version: Option<&str>, devel: bool) -> String {
        let mut args = vec![
            "template",
            release,
            chart,
            "--repo",
            &self.http.url,
            "--username",
            USER,
            "--password",
            HTTP_PASSWORD,
            "--include-crds",
        ];
        if let Some(v) = version {
            args.extend(["--version", v]);
        }
        if devel {
            args.push("--devel");
        }
        stdout(&self.helm, &args)
    }

    /// What `helm template NAME oci://.../charts/CHART ...` prints.
    fn helm_oci(&self, release: &str, chart: &str, version: Option<&str>) -> String {
        let url = format!("oci://{}/charts/{chart}", self.registry.host());
        let mut args = vec![
            "template",
            release,
            &url,
            "--plain-http",
            "--username",
            USER,
            "--password",
            OCI_PASSWORD,
            "--include-crds",
        ];
        if let Some(v) = version {
            args.extend(["--version", v]);
        }
        stdout(&self.helm, &args)
    }

    /// The number of requests the HTTP repository has answered.
    fn http_requests(&self) -> usize {
        self.http.seen_auth.lock().unwrap().len()
    }
}

fn stdout(helm: &Helm, args: &[&str]) -> String {
    let out = helm.command(args).output().expect("run helm");
    assert!(
        out.status.success(),
        "helm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn state(dir: &Path, text: &str) -> PathBuf {
    let f = dir.join("helmfile.yaml");
    std::fs::write(&f, text).unwrap();
    f
}

fn opts(file: &Path, cache: &Path) -> Options {
    Options {
        file: Some(file.to_path_buf()),
        cache_dir: Some(cache.to_path_buf()),
        ..Default::default()
    }
}

#[test]
fn repository_and_oci_charts_render_as_helm_templates_them_and_are_cached() {
    let fx = Fixture::start();
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let oci_url = format!("oci://{}/charts/db", fx.registry.host());
    let file = state(
        dir.path(),
        &format!(
            "{}releases:\n\
             - name: front\n  chart: web/web\n  version: ^1.0\n  values:\n  - message: from-helmfile\n\
             - name: edge\n  chart: web/web\n  devel: true\n\
             - name: store\n  chart: oci/db\n  version: 0.3.0\n\
             - name: direct\n  chart: {oci_url}\n  version: '>=0.3.0 <1.0.0'\n  plainHttp: true\n",
            fx.repositories(HTTP_PASSWORD)
        ),
    );
    let out = template(&opts(&file, cache.path())).unwrap();
    let front = fx
        .helm_http("front", "web", Some("^1.0"), false)
        .replace("web-default", "from-helmfile");
    assert!(front.contains("chart: web-1.1.0"), "helm picked {front}");
    let edge = fx.helm_http("edge", "web", None, true);
    assert!(edge.contains("chart: web-2.0.0-rc.1"), "helm picked {edge}");
    let store = fx.helm_oci("store", "db", Some("0.3.0"));
    let direct = fx.helm_oci("direct", "db", Some(">=0.3.0 <1.0.0"));
    assert!(direct.contains("chart: db-0.4.0"), "helm picked {direct}");
    assert_eq!(out.stdout, format!("{front}\n{edge}\n{store}\n{direct}\n"));
    assert!(!out.combined.contains(HTTP_PASSWORD) && !out.combined.contains(OCI_PASSWORD));

    // A second run downloads no chart: the index is read again (a constraint may pick a new
    // version), the archives come from the cache.
    let before = fx.http_requests();
    let again = template(&opts(&file, cache.path())).unwrap();
    assert_eq!(again.stdout, out.stdout);
    assert_eq!(fx.http_requests() - before, 1, "only index.yaml is asked for again");

    // Exact versions found in the cache cost no request at all.
    let pinned = state(
        dir.path(),
        &format!(
            "{}releases:\n- name: front\n  chart: web/web\n  version: 1.1.0\n- name: store\n  chart: oci/db\n  version: 0.3.0\n",
            fx.repositories(HTTP_PASSWORD)
        ),
    );
    template(&opts(&pinned, cache.path())).unwrap();
    let before = fx.http_requests();
    let third = template(&opts(&pinned, cache.path())).unwrap();
    assert_eq!(fx.http_requests(), before, "a pinned cached chart makes no request");
    assert!(third.stdout.contains("chart: web-1.1.0") && third.stdout.contains("chart: db-0.3.0"));
}

#[test]
fn bad_credentials_unknown_charts_and_unmatched_versions_fail_clearly() {
    let fx = Fixture::start();
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let wrong = "wr0ng-pa55-5521";
    let run = |repos: &str, release: &str| {
        let file = state(dir.path(), &format!("{repos}releases:\n{release}"));
        template(&opts(&file, cache.path())).unwrap_err().0
    };
    let e = run(&fx.repositories(wrong), "- name: front\n  chart: web/web\n");
    assert!(
        e.contains("helmfile.yaml")
            && e.contains("release \"front\"")
            && e.contains("repository \"web\"")
            && e.contains("authentication failed (401)"),
        "{e}"
    );
    assert!(!e.contains(wrong) && !e.contains(HTTP_PASSWORD), "{e}");

    let bad_oci = fx.repositories(HTTP_PASSWORD).replace(OCI_PASSWORD, wrong);
    let e = run(&bad_oci, "- name: store\n  chart: oci/db\n  version: 0.3.0\n");
    assert!(
        e.contains("release \"store\"") && e.contains("repository \"oci\"") && e.contains("authentication failed"),
        "{e}"
    );
    assert!(!e.contains(wrong) && !e.contains(OCI_PASSWORD), "{e}");

    let e = run(&fx.repositories(HTTP_PASSWORD), "- name: front\n  chart: web/nope\n");
    assert!(
        e.contains("release \"front\"") && e.contains("no chart named \"nope\""),
        "{e}"
    );

    let e = run(
        &fx.repositories(HTTP_PASSWORD),
        "- name: front\n  chart: web/web\n  version: '>=3.0.0'\n",
    );
    assert!(
        e.contains("release \"front\"") && e.contains("no version of chart \"web\" matches \">=3.0.0\""),
        "{e}"
    );

    let e = run(
        &fx.repositories(HTTP_PASSWORD),
        "- name: store\n  chart: oci/db\n  version: ~0.9\n",
    );
    assert!(
        e.contains("release \"store\"") && e.contains("no tag matches \"~0.9\""),
        "{e}"
    );

    let verified = fx.repositories(HTTP_PASSWORD).replace(
        "  username: ci\n  password: http",
        "  verify: true\n  username: ci\n  password: http",
    );
    let e = run(&verified, "- name: front\n  chart: web/web\n");
    assert!(
        e.contains("repository \"web\": verify (chart provenance) is not supported"),
        "{e}"
    );

    let e = run(&fx.repositories(HTTP_PASSWORD), "- name: x\n  chart: elsewhere/web\n");
    assert!(e.contains("no repository named \"elsewhere\""), "{e}");
}

#[test]
fn local_chart_dependencies_come_from_repositories_as_helm_dependency_build() {
    let fx = Fixture::start();
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let app = write_chart(
        dir.path(),
        "app",
        "0.1.0",
        "message: app\nweb:\n  message: from-parent\n",
        &[],
    );
    // web by URL, db by registry URL, web again under an alias by repository name, and a
    // chart next to it by path.
    chart(dir.path(), "lib", "0.0.1");
    let deps = format!(
        "dependencies:\n- name: web\n  version: ~1.0.0\n  repository: {}\n- name: db\n  version: ^0.3.0\n  repository: oci://{}/charts\n\
         - name: web\n  alias: edge\n  version: 1.0.0\n  repository: '@web'\n- name: lib\n  version: 0.0.1\n  repository: file://../0.0.1/lib\n",
        fx.http.url,
        fx.registry.host()
    );
    let chart_yaml = app.join("Chart.yaml");
    let meta = std::fs::read_to_string(&chart_yaml).unwrap();
    std::fs::write(&chart_yaml, format!("{meta}{deps}")).unwrap();
    let file = state(
        dir.path(),
        &format!(
            "{}releases:\n- name: full\n  chart: ./app\n",
            fx.repositories(HTTP_PASSWORD)
        ),
    );
    let out = template(&opts(&file, cache.path())).unwrap();
    assert!(!app.join("charts").exists(), "the source chart is left as it is");

    // What helm renders with those versions vendored (web 1.0.0, db 0.3.0).
    let vendored = tempfile::tempdir().unwrap();
    let copy = write_chart(
        vendored.path(),
        "app",
        "0.1.0",
        "message: app\nweb:\n  message: from-parent\n",
        &[],
    );
    std::fs::write(copy.join("Chart.yaml"), format!("{meta}{deps}")).unwrap();
    let charts = copy.join("charts");
    std::fs::create_dir_all(&charts).unwrap();
    let web = fx.helm.command(&[
        "pull",
        "web",
        "--repo",
        &fx.http.url,
        "--username",
        USER,
        "--password",
        HTTP_PASSWORD,
        "--version",
        "~1.0.0",
        "-d",
        charts.to_str().unwrap(),
    ]);
    run_ok(web);
    let db = fx.helm.command(&[
        "pull",
        &format!("oci://{}/charts/db", fx.registry.host()),
        "--plain-http",
        "--username",
        USER,
        "--password",
        OCI_PASSWORD,
        "--version",
        "^0.3.0",
        "-d",
        charts.to_str().unwrap(),
    ]);
    run_ok(db);
    fx.helm.package(&dir.path().join("0.0.1/lib"), &charts);
    let expected = stdout(
        &fx.helm,
        &["template", "full", copy.to_str().unwrap(), "--include-crds"],
    );
    for c in ["web-1.0.0", "db-0.3.0", "lib-0.0.1"] {
        assert!(expected.contains(&format!("chart: {c}")), "{c} in {expected}");
    }
    assert!(expected.contains("# Source: app/charts/edge/"), "{expected}");
    assert_eq!(out.stdout, format!("{expected}\n"));
}

fn run_ok(mut cmd: std::process::Command) {
    let out = cmd.output().expect("run helm");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn https_repositories_with_ca_client_certificates_or_skipped_verification() {
    let home = tempfile::tempdir().unwrap();
    let helm = Helm::new(home.path());
    let src = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    helm.package(&chart(src.path(), "web", "1.0.0"), repo.path());
    helm.index(repo.path(), None);
    let pki = Pki::generate();
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain = HttpsChartServer::start_on(bind(), repo.path(), &pki, false);
    let mutual = HttpsChartServer::start_on(bind(), repo.path(), &pki, true);
    let dir = tempfile::tempdir().unwrap();
    for (name, pem) in [
        ("ca.pem", &pki.ca),
        ("client.pem", &pki.client_cert),
        ("client-key.pem", &pki.client_key),
    ] {
        std::fs::write(dir.path().join(name), pem).unwrap();
    }
    let run = |repo: &str, cache: &Path| {
        let file = state(
            dir.path(),
            &format!("repositories:\n- name: web\n{repo}releases:\n- name: a\n  chart: web/web\n"),
        );
        template(&opts(&file, cache))
    };
    let expected = stdout(
        &helm,
        &[
            "template",
            "a",
            repo.path().join("web-1.0.0.tgz").to_str().unwrap(),
            "--include-crds",
        ],
    );

    // The server's CA given by caFile (relative to the state file).
    let cache = tempfile::tempdir().unwrap();
    let out = run(&format!("  url: {}\n  caFile: ca.pem\n", plain.url), cache.path()).unwrap();
    assert_eq!(out.stdout, format!("{expected}\n"));

    // Unknown issuer: a TLS error naming the release and the repository.
    let cache = tempfile::tempdir().unwrap();
    let e = run(&format!("  url: {}\n", plain.url), cache.path()).unwrap_err().0;
    assert!(
        e.contains("release \"a\"") && e.contains("repository \"web\"") && e.to_lowercase().contains("certificate"),
        "{e}"
    );
    // ... unless verification is skipped by name.
    let out = run(&format!("  url: {}\n  skipTLSVerify: true\n", plain.url), cache.path()).unwrap();
    assert_eq!(out.stdout, format!("{expected}\n"));

    // A server that requires a client certificate: certFile and keyFile.
    let cache = tempfile::tempdir().unwrap();
    let e = run(&format!("  url: {}\n  caFile: ca.pem\n", mutual.url), cache.path())
        .unwrap_err()
        .0;
    assert!(e.contains("repository \"web\"") && e.contains("unreachable"), "{e}");
    let out = run(
        &format!(
            "  url: {}\n  caFile: ca.pem\n  certFile: client.pem\n  keyFile: client-key.pem\n",
            mutual.url
        ),
        cache.path(),
    )
    .unwrap();
    assert_eq!(out.stdout, format!("{expected}\n"));
}
