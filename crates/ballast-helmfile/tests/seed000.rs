//! A repository shaped like seed 000 (`fixtures/seed000`): `staging` and `production`
//! rendered from the same helmfile differ only where their values do.

use std::path::{Path, PathBuf};

use ballast_helmfile::{Options, template};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed000")
}

fn render(env: &str, selectors: &[&str]) -> ballast_helmfile::Output {
    template(&Options {
        file: Some(root().join("helmfile.yaml.gotmpl")),
        environment: env.into(),
        selectors: selectors.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn staging_and_production() {
    for env in ["staging", "production"] {
        let out = render(env, &[]);
        let want = std::fs::read_to_string(root().join(format!("expected-{env}.yaml"))).unwrap();
        if std::env::var("BALLAST_BLESS").is_ok() {
            std::fs::write(root().join(format!("expected-{env}.yaml")), &out.stdout).unwrap();
            continue;
        }
        assert_eq!(out.stdout, want, "{env}");
    }
}

#[test]
fn selectors_reach_into_sub_helmfiles() {
    let out = render("production", &["tier=ops"]);
    let released: Vec<&str> = out.log.lines().filter(|l| l.starts_with("Templating")).collect();
    assert_eq!(
        released,
        [
            "Templating release=sealed-secrets, chart=../../charts/ops-secrets",
            "Templating release=monitoring, chart=../../charts/ops-monitoring",
        ]
    );
}
