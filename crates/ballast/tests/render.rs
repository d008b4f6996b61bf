//! `ballast render UNIT --out DIR` and `--check DIR`: a Helmfile environment rendered one
//! file per object, rewritten when a value changes (stale files removed), checked for drift;
//! and `ballast helmfile template|list` on the same helmfile.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn ballast(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run ballast")
}

const HELMFILE: &str = r#"environments:
  staging:
    values:
    - env/staging.yaml
  production:
    values:
    - env/production.yaml
---
releases:
- name: web
  namespace: apps
  chart: ./charts/app
  values:
  - replicas: {{ .Values.replicas }}
- name: extra
  namespace: apps
  chart: ./charts/app
  installed: {{ .Values.extra }}
"#;

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  env: {{ .Release.Namespace }}
";

fn source() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        &[
            ("helmfile.yaml.gotmpl", HELMFILE),
            ("env/staging.yaml", "replicas: 1\nextra: true\n"),
            ("env/production.yaml", "replicas: 3\nextra: false\n"),
            ("charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
            ("charts/app/values.yaml", "replicas: 1\n"),
            ("charts/app/templates/all.yaml", DEPLOY),
        ],
    );
    d
}

fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn render_out_then_check() {
    let src = source();
    let out: PathBuf = src.path().join("rendered/staging");
    let o = ballast(
        src.path(),
        &["render", ".", "-e", "staging", "--out", "rendered/staging"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        files(&out),
        [
            ".ballast-render",
            "apps/configmap-extra-config.yaml",
            "apps/configmap-web-config.yaml",
            "apps/deployment.apps-extra.yaml",
            "apps/deployment.apps-web.yaml",
        ]
    );
    let web = std::fs::read_to_string(out.join("apps/deployment.apps-web.yaml")).unwrap();
    assert_eq!(
        web,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  replicas: 1\n"
    );

    // Up to date: --check exits 0 and writes nothing.
    let o = ballast(
        src.path(),
        &["render", ".", "-e", "staging", "--check", "rendered/staging"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));

    // A values change: --check exits 1 naming the file; --out rewrites it and removes the
    // files of the release that is no longer installed.
    write(src.path(), &[("env/staging.yaml", "replicas: 2\nextra: false\n")]);
    let o = ballast(
        src.path(),
        &["render", ".", "-e", "staging", "--check", "rendered/staging"],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("changed: apps/deployment.apps-web.yaml"), "{err}");
    assert!(
        err.contains("no longer rendered: apps/deployment.apps-extra.yaml"),
        "{err}"
    );
    let o = ballast(
        src.path(),
        &["render", ".", "-e", "staging", "--out", "rendered/staging"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        files(&out),
        [
            ".ballast-render",
            "apps/configmap-web-config.yaml",
            "apps/deployment.apps-web.yaml"
        ]
    );
    let web = std::fs::read_to_string(out.join("apps/deployment.apps-web.yaml")).unwrap();
    assert!(web.ends_with("replicas: 2\n"), "{web}");
    let o = ballast(
        src.path(),
        &["render", ".", "-e", "staging", "--check", "rendered/staging"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));

    // A missing environment fails the render (exit 2) and leaves the directory alone.
    let o = ballast(src.path(), &["render", ".", "-e", "qa", "--out", "rendered/staging"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("environment(qa)"));
    assert_eq!(files(&out).len(), 3);
}

#[test]
fn helmfile_template_and_list() {
    // Objects in Helm's install order (ConfigMap before Deployment), as helm template prints.
    let src = source();
    let o = ballast(src.path(), &["helmfile", "-e", "production", "template"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "---\n# Source: app/templates/all.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  env: apps\n---\n# Source: app/templates/all.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  replicas: 3\n\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Building dependency release=web, chart=./charts/app\nTemplating release=web, chart=./charts/app\n"
    );
    let o = ballast(
        src.path(),
        &["helmfile", "list", "-e", "production", "-l", "name=extra"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "NAME \tNAMESPACE\tENABLED\tINSTALLED\tLABELS                             \tCHART       \tVERSION\nextra\tapps     \ttrue   \tfalse    \tchart:app,name:extra,namespace:apps\t./charts/app\n"
    );
}

#[test]
fn render_a_chart_and_a_plain_directory() {
    let src = source();
    write(
        src.path(),
        &[
            (
                "plain/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: x\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n",
            ),
            ("kust/kustomization.yaml", "namespace: k\nresources:\n- cm.yaml\n"),
            (
                "kust/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
            ),
        ],
    );
    let o = ballast(
        src.path(),
        &["render", "charts/app", "-n", "shop", "--out", "out/chart"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        files(&src.path().join("out/chart")),
        [
            ".ballast-render",
            "shop/configmap-app-config.yaml",
            "shop/deployment.apps-app.yaml"
        ]
    );
    let o = ballast(src.path(), &["render", "plain", "--out", "out/plain"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        files(&src.path().join("out/plain")),
        [".ballast-render", "_/namespace-x.yaml", "x/configmap-a.yaml"]
    );
    let o = ballast(src.path(), &["render", "kust", "--out", "out/kust"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        files(&src.path().join("out/kust")),
        [".ballast-render", "k/configmap-b.yaml"]
    );
    // Files in DIR that a render did not write are left alone.
    write(src.path(), &[("out/kust/README.md", "mine\n")]);
    let o = ballast(src.path(), &["render", "kust", "--out", "out/kust"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(src.path().join("out/kust/README.md").is_file());
}

#[test]
fn state_values_set_reaches_the_render() {
    let src = source();
    let o = ballast(
        src.path(),
        &[
            "render",
            ".",
            "-e",
            "production",
            "--state-values-set",
            "replicas=5",
            "--out",
            "out",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let web = std::fs::read_to_string(src.path().join("out/apps/deployment.apps-web.yaml")).unwrap();
    assert!(web.ends_with("replicas: 5\n"), "{web}");
    let o = ballast(
        src.path(),
        &[
            "helmfile",
            "--state-values-set",
            "replicas=4",
            "-e",
            "production",
            "build",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("renderedvalues:\n  extra: false\n  replicas: 4\n"));
}
