//! `ballast helmfile template` with repository credentials from the environment, as helmfile
//! reads them: templated (`requiredEnv`) in a `.gotmpl` state, or `<NAME>_USERNAME` /
//! `<NAME>_PASSWORD` when the entry has none. A static chart repository on loopback behind
//! basic auth; charts kept in the cache given by `BALLAST_CACHE`.

use std::path::Path;
use std::process::{Command, Output};

use ballast_testenv::charts::{ChartServer, Helm, write_chart};

const PASSWORD: &str = "env-pa55-6612";

fn template(dir: &Path, cache: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ballast"));
    cmd.args(["helmfile", "-f"])
        .arg(dir.join("helmfile.yaml.gotmpl"))
        .arg("template")
        .env("BALLAST_CACHE", cache)
        .env_remove("WEB_TOKEN")
        .env_remove("PRIVATE_CHARTS_USERNAME")
        .env_remove("PRIVATE_CHARTS_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ballast")
}

#[test]
fn credentials_come_from_the_environment_and_are_never_printed() {
    let home = tempfile::tempdir().unwrap();
    let helm = Helm::new(home.path());
    let src = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let chart = write_chart(src.path(), "web", "1.2.3", "message: from-repo\n", &[]);
    helm.package(&chart, repo.path());
    helm.index(repo.path(), None);
    let server = ChartServer::start(repo.path(), Some(("ci", PASSWORD)));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("helmfile.yaml.gotmpl"),
        format!(
            "repositories:\n- name: web\n  url: {url}\n  username: ci\n  password: {{{{ requiredEnv \"WEB_TOKEN\" }}}}\n\
             - name: private-charts\n  url: {url}\nreleases:\n- name: a\n  chart: web/web\n- name: b\n  chart: private-charts/web\n",
            url = server.url
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();

    let out = template(
        dir.path(),
        cache.path(),
        &[
            ("WEB_TOKEN", PASSWORD),
            ("PRIVATE_CHARTS_USERNAME", "ci"),
            ("PRIVATE_CHARTS_PASSWORD", PASSWORD),
        ],
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    let expected = |name: &str| {
        format!(
            "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  version: \"1.2.3\"\n  message: \"from-repo\"\n\n"
        )
    };
    assert_eq!(stdout, format!("{}{}", expected("a"), expected("b")));
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));

    // Without the variables: requiredEnv names what is missing; the environment fallback
    // leaves the request anonymous, refused by the server.
    let out = template(dir.path(), cache.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("WEB_TOKEN"), "{stderr}");
    std::fs::write(
        dir.path().join("helmfile.yaml.gotmpl"),
        format!(
            "repositories:\n- name: private-charts\n  url: {}\nreleases:\n- name: b\n  chart: private-charts/web\n  version: '>=1.0.0'\n",
            server.url
        ),
    )
    .unwrap();
    let out = template(dir.path(), cache.path(), &[("PRIVATE_CHARTS_PASSWORD", "wr0ng-pa55")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("release \"b\"") && stderr.contains("repository \"private-charts\"") && stderr.contains("401"),
        "{stderr}"
    );
    assert!(!stderr.contains("wr0ng-pa55"), "{stderr}");
}
