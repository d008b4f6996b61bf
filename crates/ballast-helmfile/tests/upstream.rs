//! Conformance with helmfile's own snapshot tests (`fixtures/upstream`, see its NOTICE.md):
//! the same input helmfile, the output helmfile recorded (log lines and manifests as a
//! terminal shows them).

use std::path::{Path, PathBuf};

use ballast_helmfile::{Options, build, list, template};

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/snapshot")
        .join(name)
}

fn expected(name: &str, file: &str) -> String {
    std::fs::read_to_string(case(name).join(file)).expect("expected output")
}

fn opts(name: &str, env: &str, selectors: &[&str]) -> Options {
    Options {
        file: Some(case(name).join("input.yaml.gotmpl")),
        environment: env.into(),
        selectors: selectors.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn environments_releases_without_same_yaml_part() {
    let name = "environments_releases_without_same_yaml_part";
    let out = template(&opts(name, "prod", &[])).unwrap();
    assert_eq!(out.combined, expected(name, "output.yaml"));
}

#[test]
fn environments_values_gotmpl_with_environment_name() {
    let name = "environments_values_gotmpl_with_environment_name";
    let out = template(&opts(name, "test", &[])).unwrap();
    assert_eq!(out.combined, expected(name, "output.yaml"));
}

#[test]
fn environment_missing_in_subhelmfile() {
    let name = "environment_missing_in_subhelmfile";
    let out = template(&opts(name, "test", &[])).unwrap();
    assert_eq!(out.combined, expected(name, "output.yaml"));
}

#[test]
fn issue_493_template_yaml_anchors_merge() {
    let name = "issue_493_template_yaml_anchors_merge";
    let out = list(&opts(name, "", &[])).unwrap();
    assert_eq!(out, expected(name, "output.yaml"));
}

#[test]
fn kubedog_tracking_build() {
    let name = "kubedog_tracking";
    let o = opts(name, "", &[]);
    let out = build(&o).unwrap();
    let want = expected(name, "gopkg.in-yaml.v3-output.yaml").replace(
        "__workingdir__/testdata/snapshot/kubedog_tracking/input.yaml.gotmpl",
        &o.file.as_ref().unwrap().display().to_string(),
    );
    assert_eq!(out, want);
}

/// helmfile's run also added the (unused) chart repository with `helm repo add`; those two
/// log lines are not printed here (no repository is contacted), the rest is identical.
#[test]
fn release_template_inheritance() {
    let name = "release_template_inheritance";
    let out = template(&opts(name, "", &[])).unwrap();
    let want: String = expected(name, "output.yaml")
        .lines()
        .filter(|l| !l.starts_with("Adding repo") && !l.contains("has been added to your repositories"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(out.combined, want);
}
