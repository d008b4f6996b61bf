//! Root confinement of every file the Kustomize engine reads, and secrets kept out of errors.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use crate::scope::BuiltinScopes;
use crate::{RenderError, RenderSpec, render_plain};

const SECRET: &str = "s3cr3t-literal-value";

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
}

/// A repository root and, next to it (outside), a directory an attacker's symlinks point to.
struct Case {
    _top: tempfile::TempDir,
    root: std::path::PathBuf,
    outside: std::path::PathBuf,
}

impl Case {
    fn new(files: &[(&str, &str)]) -> Case {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("repo");
        let outside = top.path().join("outside");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(&outside).unwrap();
        write(&root, files);
        write(
            &outside,
            &[
                (
                    "kustomization.yaml",
                    &format!("secretGenerator:\n- name: stolen\n  literals:\n  - password={SECRET}\n"),
                ),
                (
                    "cm.yaml",
                    &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\ndata:\n  k: {SECRET}\n"),
                ),
                ("data.txt", SECRET),
                ("app.env", &format!("PASSWORD={SECRET}\n")),
                ("patch.yaml", "- op: add\n  path: /data/stolen\n  value: x\n"),
                ("crd.json", "{}"),
                (
                    "component/kustomization.yaml",
                    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: stolen-\n",
                ),
            ],
        );
        Case {
            _top: top,
            root,
            outside,
        }
    }

    fn link(&self, target: &str, link: &str) -> &Self {
        let l = self.root.join(link);
        fs::create_dir_all(l.parent().unwrap()).unwrap();
        symlink(self.outside.join(target), l).unwrap();
        self
    }

    fn link_inside(&self, target: &str, link: &str) -> &Self {
        let l = self.root.join(link);
        fs::create_dir_all(l.parent().unwrap()).unwrap();
        symlink(self.root.join(target), l).unwrap();
        self
    }

    fn render(&self) -> Result<Vec<String>, RenderError> {
        self.render_at(".")
    }

    fn render_at(&self, path: &str) -> Result<Vec<String>, RenderError> {
        let spec = RenderSpec {
            path: path.into(),
            default_namespace: Some("default".into()),
            ..Default::default()
        };
        render_plain(&self.root, &spec, &BuiltinScopes)
            .map(|ms| ms.iter().map(|m| m.object_ref().to_string()).collect())
    }

    /// The render fails, naming `expect`, and says nothing of the outside files' contents.
    fn refused(&self, expect: &str) {
        let e = self.render().expect_err("must be refused").to_string();
        assert!(e.contains(expect), "expected {expect:?} in: {e}");
        assert!(e.contains("refers outside the repository root"), "{e}");
        assert!(!e.contains(SECRET), "{e}");
        assert!(!e.contains("stolen"), "{e}");
    }
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: \"1\"\n";

#[test]
fn a_symlinked_kustomization_file_outside_the_root_is_refused() {
    let c = Case::new(&[("app/cm.yaml", CM)]);
    c.link("kustomization.yaml", "app/kustomization.yaml");
    c.refused("app/kustomization.yaml: refers outside the repository root");
    // The same through a base another kustomization refers to.
    let c = Case::new(&[
        ("overlay/kustomization.yaml", "resources:\n- ../base\n"),
        ("base/cm.yaml", CM),
    ]);
    c.link("kustomization.yaml", "base/kustomization.yaml");
    c.refused("base/kustomization.yaml: refers outside the repository root");
    // Built directly, too.
    let e = super::build(&c.root, &c.root.join("overlay")).unwrap_err().to_string();
    assert!(e.starts_with("base/kustomization.yaml: refers outside"), "{e}");
}

#[test]
fn a_symlinked_component_kustomization_outside_the_root_is_refused() {
    let c = Case::new(&[
        (
            "app/kustomization.yaml",
            "resources:\n- cm.yaml\ncomponents:\n- ../comp\n",
        ),
        ("app/cm.yaml", CM),
    ]);
    c.link("component/kustomization.yaml", "comp/kustomization.yaml");
    c.refused("comp/kustomization.yaml: refers outside the repository root");
    // A component directory that is itself a symlink out.
    let c = Case::new(&[
        (
            "app/kustomization.yaml",
            "resources:\n- cm.yaml\ncomponents:\n- ../comp\n",
        ),
        ("app/cm.yaml", CM),
    ]);
    c.link("component", "comp");
    let e = c.render_at("app").unwrap_err().to_string();
    assert_eq!(
        e,
        "app/kustomization.yaml: ../comp: refers outside the repository root; refused"
    );
    // Walked from the root, the symlinked directory itself is refused first.
    c.refused("comp: refers outside");
}

#[test]
fn symlinked_resources_patches_and_generator_files_outside_the_root_are_refused() {
    let k = |body: &str| format!("resources:\n- cm.yaml\n{body}");
    let cases: &[(&str, &str, &str)] = &[
        ("resources:\n- link.yaml\n", "cm.yaml", "link.yaml: refers outside"),
        (
            &k("patches:\n- path: link.yaml\n  target:\n    kind: ConfigMap\n"),
            "patch.yaml",
            "link.yaml: refers outside",
        ),
        (
            &k("patchesJson6902:\n- path: link.yaml\n  target:\n    version: v1\n    kind: ConfigMap\n    name: app\n"),
            "patch.yaml",
            "link.yaml: refers outside",
        ),
        (
            &k("configMapGenerator:\n- name: g\n  files:\n  - link.yaml\n"),
            "data.txt",
            "link.yaml: refers outside",
        ),
        (
            &k("secretGenerator:\n- name: g\n  envs:\n  - link.yaml\n"),
            "app.env",
            "link.yaml: refers outside",
        ),
        (&k("crds:\n- link.yaml\n"), "crd.json", "link.yaml: refers outside"),
        (
            &k("replacements:\n- path: link.yaml\n"),
            "patch.yaml",
            "link.yaml: refers outside",
        ),
    ];
    for (kustomization, target, expect) in cases {
        let c = Case::new(&[("app/kustomization.yaml", kustomization), ("app/cm.yaml", CM)]);
        c.link(target, "app/link.yaml");
        let e = c.render().expect_err(kustomization).to_string();
        assert!(e.starts_with("app/kustomization.yaml: "), "{kustomization}: {e}");
        assert!(e.contains(expect), "{kustomization}: {e}");
        assert!(!e.contains(SECRET), "{e}");
    }
}

#[test]
fn dot_dot_escapes_are_refused() {
    for body in [
        "resources:\n- ../../outside/cm.yaml\n",
        "resources:\n- ../../outside\n",
        "configMapGenerator:\n- name: g\n  files:\n  - ../../outside/data.txt\n",
        "secretGenerator:\n- name: g\n  envs:\n  - ../../outside/app.env\n",
        "components:\n- ../../outside/component\n",
        "crds:\n- ../../outside/crd.json\n",
    ] {
        let c = Case::new(&[("app/kustomization.yaml", body)]);
        let e = c.render().expect_err(body).to_string();
        assert!(e.contains("refers outside the repository root"), "{body}: {e}");
        assert!(!e.contains(SECRET), "{e}");
    }
}

#[test]
fn openapi_is_refused_without_being_read() {
    let c = Case::new(&[("app/kustomization.yaml", "openapi:\n  path: ../../outside/crd.json\n")]);
    let e = c.render().unwrap_err().to_string();
    assert_eq!(e, "app/kustomization.yaml: openapi: not supported yet");
}

#[test]
fn symlinks_inside_the_root_are_followed() {
    let c = Case::new(&[
        ("shared/kustomization.yaml", "resources:\n- cm.yaml\n"),
        ("shared/cm.yaml", CM),
        ("shared/data.txt", "hello"),
    ]);
    c.link_inside("shared/kustomization.yaml", "app/kustomization.yaml")
        .link_inside("shared/cm.yaml", "app/cm.yaml")
        .link_inside("shared/data.txt", "gen/data.txt");
    write(
        &c.root,
        &[(
            "gen/kustomization.yaml",
            "configMapGenerator:\n- name: g\n  files:\n  - data.txt\n",
        )],
    );
    // app/ and shared/ build the same ConfigMap: render them apart.
    let spec = |path: &str| RenderSpec {
        path: path.into(),
        default_namespace: Some("default".into()),
        ..Default::default()
    };
    let names = |path: &str| {
        render_plain(&c.root, &spec(path), &BuiltinScopes)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names("app"), ["app"]);
    assert_eq!(names("gen").len(), 1);
}

#[test]
fn generator_errors_never_quote_literals_or_env_lines() {
    let cases: &[(&str, &str)] = &[
        (
            &format!("secretGenerator:\n- name: s\n  literals:\n  - {SECRET}\n"),
            "secretGenerator[0]: literals[0]: expected key=value",
        ),
        (
            &format!("secretGenerator:\n- name: s\n  literals:\n  - \"password: {SECRET}=x\"\n"),
            "secretGenerator[0]: literals[0]: key of",
        ),
        (
            "secretGenerator:\n- name: s\n  envs:\n  - app.env\n",
            "secretGenerator[0]: app/app.env: line 2: a key of",
        ),
        (
            "configMapGenerator:\n- name: s\n  envs:\n  - bad-key.env\n",
            "configMapGenerator[0]: app/bad-key.env: line 1: a key of",
        ),
    ];
    for (k, expect) in cases {
        let c = Case::new(&[
            ("app/kustomization.yaml", k),
            ("app/app.env", &format!("# comment\n{SECRET} is not a key\n")),
            ("app/bad-key.env", &format!("{SECRET} x={SECRET}\n")),
        ]);
        let e = c.render().expect_err(k).to_string();
        assert!(e.contains(expect), "expected {expect:?} in: {e}");
        assert!(!e.contains(SECRET), "the literal leaked: {e}");
    }
}

#[test]
fn tag_errors_never_quote_the_scalar() {
    let c = Case::new(&[(
        "secret.yaml",
        &format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: !!int {SECRET}\n"),
    )]);
    let e = c.render().unwrap_err().to_string();
    assert!(
        e.contains("secret.yaml: invalid YAML in document 0 at line 6") && e.contains("not a valid int"),
        "{e}"
    );
    assert!(!e.contains(SECRET), "{e}");
    let c = Case::new(&[
        ("app/kustomization.yaml", "resources:\n- s.yaml\n"),
        (
            "app/s.yaml",
            &format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: !!bool \"{SECRET}\"\n"),
        ),
    ]);
    let e = c.render().unwrap_err().to_string();
    assert!(e.contains("app/s.yaml: invalid YAML") && !e.contains(SECRET), "{e}");
}

#[test]
fn configurations_and_plugin_configurations_outside_the_root_are_refused() {
    let c = Case::new(&[
        (
            "kustomization.yaml",
            "resources:\n- cm.yaml\nconfigurations:\n- conf.yaml\n",
        ),
        ("cm.yaml", CM),
    ]);
    c.link("cm.yaml", "conf.yaml");
    c.refused("conf.yaml");
    for field in ["transformers", "generators", "validators"] {
        let k = format!("resources:\n- cm.yaml\n{field}:\n- plugin.yaml\n");
        let c = Case::new(&[("kustomization.yaml", k.as_str()), ("cm.yaml", CM)]);
        c.link("cm.yaml", "plugin.yaml");
        c.refused("plugin.yaml");
    }
}
