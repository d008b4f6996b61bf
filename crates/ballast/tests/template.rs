//! `ballast template`: a local chart rendered without a cluster, printed byte for byte as
//! `helm template` (v4.1.4) printed it for the same flags (`fixtures/template/expected-*.yaml`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/template")
}

fn ballast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(args)
        .current_dir(fixtures())
        .output()
        .expect("run ballast")
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).expect("expected output")
}

#[test]
fn prints_what_helm_template_prints() {
    let out = ballast(&[
        "template",
        "shop",
        "web",
        "-n",
        "store",
        "-f",
        "prod.yaml",
        "--set",
        "replicas=3,image.tag=1.27",
        "--include-crds",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected("expected-full.yaml"));
}

#[test]
fn show_only_and_skip_tests() {
    let out = ballast(&[
        "template",
        "shop",
        "web",
        "--skip-tests",
        "--show-only",
        "templates/service.yaml",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected("expected-show-only.yaml")
    );
}

#[test]
fn a_bad_render_names_the_file_and_exits_2() {
    let out = ballast(&["template", "shop", "web", "--set", "service.port=["]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    // helm: "... yaml: line 8: did not find expected ',' or ']'"; the parser's own words may differ.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "Error: YAML parse error on web/templates/service.yaml: error converting YAML to JSON: yaml: line 8: "
        ),
        "{err}"
    );
    assert!(
        err.ends_with("\n\nUse --debug flag to render out invalid YAML\n"),
        "{err}"
    );
    let out = ballast(&["template", "shop", "no-such-chart"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: non-absolute URLs should be in form of repo_name/path_to_chart, got: no-such-chart\n"
    );
    let out = ballast(&["template", "shop", "./no-such-chart"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: path \"./no-such-chart\" not found\n"
    );
    let out = ballast(&["template", "shop", "web", "--show-only", "templates/nope.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: could not find template templates/nope.yaml in chart\n"
    );
}
