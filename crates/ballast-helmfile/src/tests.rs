//! Unit tests: environments and layering, `needs`, selectors, sub-helmfiles, `installed`,
//! templated values files, refused `exec`.

use std::path::{Path, PathBuf};

use crate::{Options, build, list, template, visit};

/// A temporary directory with a chart `chart/` whose one ConfigMap shows `.Values.msg`.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut all = vec![
        ("chart/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
        ("chart/values.yaml", "msg: default\n"),
        (
            "chart/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  msg: {{ .Values.msg | quote }}\n",
        ),
    ];
    all.extend_from_slice(files);
    for (name, text) in all {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn opts(dir: &Path, file: &str, env: &str, sel: &[&str]) -> Options {
    Options {
        file: Some(dir.join(file)),
        environment: env.into(),
        selectors: sel.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn cm(name: &str, ns: &str, msg: &str) -> String {
    format!(
        "---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  msg: \"{msg}\"\n\n"
    )
}

const LAYERED: &str = r#"environments:
  staging:
    values:
    - common.yaml
    - env/staging.yaml
  production:
    values:
    - common.yaml
    - env/production.yaml.gotmpl
---
releases:
- name: web
  namespace: {{ .Values.ns }}
  chart: ./chart
  values:
  - msg: {{ .Values.greeting }}-{{ .Environment.Name }}
"#;

#[test]
fn a_value_is_overridden_per_environment() {
    let d = repo(&[
        ("helmfile.yaml.gotmpl", LAYERED),
        ("common.yaml", "greeting: hello\nns: apps\n"),
        ("env/staging.yaml", "ns: apps-staging\n"),
        (
            "env/production.yaml.gotmpl",
            "greeting: {{ .Environment.Name | upper }}\n",
        ),
    ]);
    let staging = template(&opts(d.path(), "helmfile.yaml.gotmpl", "staging", &[])).unwrap();
    assert_eq!(staging.stdout, cm("web", "apps-staging", "hello-staging"));
    let prod = template(&opts(d.path(), "helmfile.yaml.gotmpl", "production", &[])).unwrap();
    assert_eq!(prod.stdout, cm("web", "apps", "PRODUCTION-production"));
}

#[test]
fn a_missing_environment_is_helmfiles_error() {
    let d = repo(&[
        ("helmfile.yaml.gotmpl", LAYERED),
        ("common.yaml", "greeting: hi\nns: a\n"),
    ]);
    let err = template(&opts(d.path(), "helmfile.yaml.gotmpl", "qa", &[])).unwrap_err();
    assert_eq!(
        err.0,
        "err: no releases found that matches specified selector() and environment(qa), in any helmfile"
    );
    // A state without environments and a non-default environment: the same.
    let d = repo(&[("helmfile.yaml", "releases:\n- name: a\n  chart: ./chart\n")]);
    let err = template(&opts(d.path(), "helmfile.yaml", "qa", &[])).unwrap_err();
    assert!(err.0.contains("environment(qa)"), "{err}");
    // The default environment needs no declaration.
    assert!(template(&opts(d.path(), "helmfile.yaml", "", &[])).is_ok());
}

#[test]
fn bases_layer_environments_under_the_state() {
    let d = repo(&[
        (
            "bases/envs.yaml",
            "environments:\n  staging:\n    values:\n    - msg: from-base\n      keep: base\n",
        ),
        (
            "helmfile.yaml.gotmpl",
            "bases:\n- bases/envs.yaml\nenvironments:\n  staging:\n    values:\n    - msg: from-state\n---\nreleases:\n- name: r\n  chart: ./chart\n  values:\n  - msg: {{ .Values.msg }}-{{ .Values.keep }}\n",
        ),
    ]);
    let out = template(&opts(d.path(), "helmfile.yaml.gotmpl", "staging", &[])).unwrap();
    assert_eq!(out.stdout, cm("r", "default", "from-state-base"));
}

const NEEDS: &str = "releases:
- name: c
  chart: ./chart
  needs: [b]
- name: b
  chart: ./chart
  needs: [a]
- name: a
  chart: ./chart
- name: d
  chart: ./chart
";

#[test]
fn releases_render_in_needs_order() {
    let d = repo(&[("helmfile.yaml", NEEDS)]);
    let out = template(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap();
    let order: Vec<&str> = out
        .log
        .lines()
        .filter_map(|l| l.strip_prefix("Templating release="))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(order, ["a", "d", "b", "c"]);
}

#[test]
fn a_needs_cycle_is_a_clear_error() {
    let d = repo(&[(
        "helmfile.yaml",
        "releases:\n- name: a\n  chart: ./chart\n  needs: [b]\n- name: b\n  chart: ./chart\n  needs: [a]\n",
    )]);
    let err = template(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap_err();
    assert_eq!(err.0, "needs: cycle detected: a -> b -> a");
    let d = repo(&[(
        "helmfile.yaml",
        "releases:\n- name: a\n  chart: ./chart\n  needs: [zzz]\n",
    )]);
    let err = template(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap_err();
    assert!(err.0.contains("depends on \"zzz\""), "{err}");
}

#[test]
fn selectors_choose_releases() {
    let d = repo(&[(
        "helmfile.yaml",
        "releases:\n- name: a\n  chart: ./chart\n  labels: {tier: web}\n- name: b\n  chart: ./chart\n  labels: {tier: db}\n- name: c\n  namespace: x\n  chart: ./chart\n",
    )]);
    let names = |sel: &[&str]| -> Vec<String> {
        visit(&opts(d.path(), "helmfile.yaml", "", sel))
            .unwrap()
            .iter()
            .flat_map(|v| {
                v.selected
                    .iter()
                    .map(|&i| v.releases[i].name.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert_eq!(names(&["tier=web"]), ["a"]);
    assert_eq!(names(&["tier!=web"]), ["b", "c"]);
    assert_eq!(names(&["tier=web", "name=b"]), ["a", "b"]);
    assert_eq!(names(&["namespace=x"]), ["c"]);
    let err = visit(&opts(d.path(), "helmfile.yaml", "", &["tier=db,name=a"])).unwrap_err();
    assert!(err.0.starts_with("err: no releases found"), "{err}");
    let err = visit(&opts(d.path(), "helmfile.yaml", "", &["tier"])).unwrap_err();
    assert_eq!(err.0, "malformed label: tier. Expected label in form k=v or k!=v");
    let err = template(&opts(d.path(), "helmfile.yaml", "", &["tier=none"])).unwrap_err();
    assert!(
        err.0
            .starts_with("err: no releases found that matches specified selector(tier=none)")
    );
}

#[test]
fn sub_helmfiles_get_values_and_selectors() {
    let d = repo(&[
        (
            "helmfile.yaml.gotmpl",
            "environments:\n  prod:\n    values:\n    - region: eu\n---\nhelmfiles:\n- path: releases/apps.yaml.gotmpl\n  values:\n  - region: {{ .Values.region }}\n- path: releases/ops.yaml\n  selectors: [tier=ops]\nreleases:\n- name: top\n  chart: ./chart\n",
        ),
        (
            "releases/apps.yaml.gotmpl",
            "releases:\n- name: app\n  chart: ../chart\n  values:\n  - msg: {{ .Values.region }}-{{ .Environment.Name }}\n",
        ),
        (
            "releases/ops.yaml",
            "releases:\n- name: mon\n  chart: ../chart\n  labels: {tier: ops}\n- name: other\n  chart: ../chart\n",
        ),
    ]);
    // ops.yaml declares no environments and gets no values: skipped for `prod`, as helmfile does.
    let out = template(&opts(d.path(), "helmfile.yaml.gotmpl", "prod", &[])).unwrap();
    assert_eq!(
        out.stdout,
        format!("{}{}", cm("app", "default", "eu-prod"), cm("top", "default", "default"))
    );
    // In the default environment ops.yaml loads and its own selector applies.
    let out = template(&opts(d.path(), "helmfile.yaml.gotmpl", "", &[])).unwrap();
    let names: Vec<&str> = out
        .log
        .lines()
        .filter_map(|l| l.strip_prefix("Templating release="))
        .collect();
    assert_eq!(
        names,
        ["app, chart=../chart", "mon, chart=../chart", "top, chart=./chart"]
    );
}

#[test]
fn installed_false_and_conditions_leave_a_release_out() {
    let d = repo(&[(
        "helmfile.yaml.gotmpl",
        "values:\n- db:\n    enabled: false\n---\nreleases:\n- name: a\n  chart: ./chart\n  installed: false\n- name: b\n  chart: ./chart\n- name: db\n  chart: ./chart\n  condition: db.enabled\n",
    )]);
    let out = template(&opts(d.path(), "helmfile.yaml.gotmpl", "", &[])).unwrap();
    assert_eq!(out.stdout, cm("b", "default", "default"));
    let table = list(&opts(d.path(), "helmfile.yaml.gotmpl", "", &[])).unwrap();
    assert_eq!(
        table,
        "NAME\tNAMESPACE\tENABLED\tINSTALLED\tLABELS                        \tCHART  \tVERSION\n\
         a   \t         \ttrue   \tfalse    \tchart:chart,name:a,namespace: \t./chart\n\
         b   \t         \ttrue   \ttrue     \tchart:chart,name:b,namespace: \t./chart\n\
         db  \t         \tfalse  \ttrue     \tchart:chart,name:db,namespace:\t./chart\n"
    );
}

#[test]
fn templated_values_files_see_the_release() {
    let d = repo(&[
        (
            "helmfile.yaml.gotmpl",
            "environments:\n  dev:\n    values:\n    - suffix: x\n---\nreleases:\n- name: web\n  namespace: shop\n  chart: ./chart\n  values:\n  - values/web.yaml.gotmpl\n  - values/plain.yaml\n  set:\n  - name: extra\n    value: a,b\n",
        ),
        (
            "values/web.yaml.gotmpl",
            "msg: {{ .Release.Name }}-{{ .Release.Namespace }}-{{ .Values.suffix }}-{{ .Environment.Name }}\n",
        ),
        ("values/plain.yaml", "other: \"{{ not rendered }}\"\n"),
    ]);
    let out = template(&opts(d.path(), "helmfile.yaml.gotmpl", "dev", &[])).unwrap();
    assert_eq!(out.stdout, cm("web", "shop", "web-shop-x-dev"));
}

#[test]
fn exec_is_refused_by_name() {
    let d = repo(&[(
        "helmfile.yaml.gotmpl",
        "releases:\n- name: a\n  chart: ./chart\n  version: {{ exec \"id\" (list) }}\n",
    )]);
    let err = template(&opts(d.path(), "helmfile.yaml.gotmpl", "", &[])).unwrap_err();
    assert!(err.0.contains("error calling exec: exec is refused"), "{err}");
}

#[test]
fn plain_yaml_is_not_a_template_in_v1() {
    let d = repo(&[(
        "helmfile.yaml",
        "releases:\n- name: a\n  chart: ./chart\n  labels:\n    t: \"{{ .Environment.Name }}\"\n",
    )]);
    let v = visit(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap();
    // Release fields are still templates (helmfile executes them per release).
    assert_eq!(v[0].releases[0].labels["t"], "default");
    let d = repo(&[("helmfile.yaml", "releases: {{ .Values }}\n")]);
    let err = visit(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap_err();
    assert!(err.0.contains("Add the .gotmpl file extension"), "{err}");
}

#[test]
fn remote_charts_need_a_cache_and_a_known_repository() {
    let d = repo(&[(
        "helmfile.yaml",
        "repositories:\n- name: bitnami\n  url: https://charts.example.invalid\n  password: s3cr3t-value\nreleases:\n- name: a\n  chart: bitnami/nginx\n- name: b\n  chart: other/nginx\n",
    )]);
    let err = template(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap_err();
    assert!(
        err.0.contains("release \"a\"") && err.0.contains("repository \"bitnami\"") && err.0.contains("no chart cache"),
        "{err}"
    );
    assert!(!err.0.contains("s3cr3t"), "{err}");
    let v = &visit(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap()[0];
    let err = crate::release_input(&v.state, &v.releases[1]).unwrap_err();
    assert!(
        err.0.contains("helmfile.yaml") && err.0.contains("no repository named \"other\""),
        "{err}"
    );
}

#[test]
fn build_prints_the_resolved_state() {
    let d = repo(&[(
        "helmfile.yaml",
        "namespace: ns\nreleases:\n- name: a\n  chart: ./chart\n  needs: [b]\n- name: b\n  chart: ./chart\n",
    )]);
    let o = opts(d.path(), "helmfile.yaml", "", &[]);
    let out = build(&o).unwrap();
    let file: PathBuf = d.path().join("helmfile.yaml");
    assert_eq!(
        out,
        format!(
            "---\n#  Source: {}\n\nfilepath: helmfile.yaml\nhelmBinary: helm\nkustomizeBinary: kustomize\nnamespace: ns\nreleases:\n  - chart: ./chart\n    name: b\n    namespace: ns\n    labels:\n      chart: chart\n      name: b\n      namespace: ns\n  - chart: ./chart\n    needs:\n      - b\n    name: a\n    namespace: ns\n    labels:\n      chart: chart\n      name: a\n      namespace: ns\ntemplates: {{}}\nrenderedvalues: {{}}\n",
            file.display()
        )
    );
}

#[test]
fn needs_resolve_namespaces_and_glob_sub_helmfiles() {
    let d = repo(&[
        (
            "helmfile.yaml",
            "helmfiles:\n- releases/*.yaml\nreleases:\n- name: app\n  namespace: apps\n  chart: ./chart\n  needs: [db, infra/net]\n- name: db\n  namespace: apps\n  chart: ./chart\n- name: net\n  namespace: infra\n  chart: ./chart\n",
        ),
        ("releases/b.yaml", "releases:\n- name: second\n  chart: ../chart\n"),
        ("releases/a.yaml", "releases:\n- name: first\n  chart: ../chart\n"),
    ]);
    let out = template(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap();
    let names: Vec<&str> = out
        .log
        .lines()
        .filter_map(|l| l.strip_prefix("Templating release="))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(names, ["first", "second", "db", "net", "app"]);
}

#[test]
fn set_string_kube_version_and_missing_file_handler() {
    let d = repo(&[
        (
            "chart/templates/kv.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kv\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  n: {{ kindOf .Values.n | quote }}\n",
        ),
        (
            "helmfile.yaml",
            "kubeVersion: v1.30.2\nreleases:\n- name: a\n  chart: ./chart\n  missingFileHandler: Warn\n  values:\n  - absent.yaml\n  setString:\n  - name: n\n    value: \"12\"\n",
        ),
    ]);
    let out = template(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap();
    assert!(
        out.stdout.contains("  kube: \"v1.30.2\"\n  n: \"string\"\n"),
        "{}",
        out.stdout
    );
    let d = repo(&[(
        "helmfile.yaml",
        "releases:\n- name: a\n  chart: ./chart\n  values:\n  - absent.yaml\n",
    )]);
    let err = template(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap_err();
    assert!(err.0.contains("absent.yaml: no such file or directory"), "{err}");
    let d = repo(&[(
        "helmfile.yaml",
        "releases:\n- name: a\n  chart: ./chart\n  values:\n  - git::https://example.invalid/x.git@v.yaml\n",
    )]);
    let err = template(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap_err();
    assert!(err.0.contains("remote values are not supported"), "{err}");
}

#[test]
fn helmfile_template_functions() {
    let d = repo(&[
        ("data/a.txt", "from-file"),
        (
            "helmfile.yaml.gotmpl",
            r#"values:
- m:
    k: v
  list: [x, y]
---
{{ $m := dict "a" (dict "b" 1) }}
releases:
- name: a
  chart: ./chart
  labels:
    get: {{ get "a.b" $m | quote }}
    dflt: {{ get "a.z" "dz" $m | quote }}
    nil: {{ getOrNil "a.z" $m | toString | quote }}
    file: {{ readFile "data/a.txt" | quote }}
    isfile: {{ isFile "data/a.txt" | quote }}
    tpl: {{ tpl "{{ .Values.m.k }}-t" . | quote }}
    env: {{ env "BALLAST_HELMFILE_TEST_UNSET" | default "none" | quote }}
    yaml: {{ toYaml .Values.list | quote }}
    dir: {{ readDir "data" | join "," | quote }}
"#,
        ),
    ]);
    let v = visit(&opts(d.path(), "helmfile.yaml.gotmpl", "", &[])).unwrap();
    let l = &v[0].releases[0].labels;
    assert_eq!(l["get"], "1");
    assert_eq!(l["dflt"], "dz");
    assert_eq!(l["nil"], "<nil>");
    assert_eq!(l["file"], "from-file");
    assert_eq!(l["isfile"], "true");
    assert_eq!(l["tpl"], "v-t");
    assert_eq!(l["env"], "none");
    // yaml.v3 quotes YAML 1.1 booleans such as `y`.
    assert_eq!(l["yaml"], "- x\n- \"y\"\n");
    assert_eq!(l["dir"], "data/a.txt");
    let d = repo(&[(
        "helmfile.yaml.gotmpl",
        "releases:\n- name: a\n  chart: ./chart\n  version: {{ requiredEnv \"BALLAST_HELMFILE_TEST_UNSET\" }}\n",
    )]);
    let err = visit(&opts(d.path(), "helmfile.yaml.gotmpl", "", &[])).unwrap_err();
    assert!(
        err.0
            .contains("required env var `BALLAST_HELMFILE_TEST_UNSET` is not set"),
        "{err}"
    );
    let d = repo(&[(
        "helmfile.yaml.gotmpl",
        "releases:\n- name: {{ get \"x.y\" .Values }}\n  chart: ./chart\n",
    )]);
    let err = visit(&opts(d.path(), "helmfile.yaml.gotmpl", "", &[])).unwrap_err();
    assert!(err.0.contains("no value exist for key \"x\" in map[]"), "{err}");
}

#[test]
fn state_values_from_the_command_line() {
    let d = repo(&[
        ("helmfile.yaml.gotmpl", LAYERED),
        ("common.yaml", "greeting: hello\nns: apps\n"),
        ("env/staging.yaml", "ns: apps-staging\n"),
        ("override.yaml", "greeting: hi\n"),
    ]);
    let mut o = opts(d.path(), "helmfile.yaml.gotmpl", "staging", &[]);
    o.state_values_files = vec![d.path().join("override.yaml")];
    o.state_values_set = vec!["ns=cli".into()];
    let out = template(&o).unwrap();
    assert_eq!(out.stdout, cm("web", "cli", "hi-staging"));
}

/// Names of each batch `diff`/`apply` would run.
fn batch_names(v: &crate::Visited, needs: crate::Needs) -> Vec<Vec<String>> {
    crate::batches(&v.releases, &v.selected, needs)
        .unwrap()
        .into_iter()
        .map(|b| b.into_iter().map(|i| v.releases[i].name.clone()).collect())
        .collect()
}

const CHAIN: &str = "releases:
- name: c
  chart: ./chart
  needs: [b]
- name: b
  chart: ./chart
  needs: [a]
- name: a
  chart: ./chart
- name: x
  chart: ./chart
";

#[test]
fn batches_group_independent_releases_and_include_needs_on_request() {
    let d = repo(&[("helmfile.yaml", CHAIN)]);
    let all = visit(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap();
    assert_eq!(
        batch_names(&all[0], crate::Needs::Skip),
        [vec!["a", "x"], vec!["b"], vec!["c"]]
    );
    let only_c = visit(&opts(d.path(), "helmfile.yaml", "", &["name=c"])).unwrap();
    assert_eq!(batch_names(&only_c[0], crate::Needs::Skip), [vec!["c"]]);
    assert_eq!(batch_names(&only_c[0], crate::Needs::Direct), [vec!["b"], vec!["c"]]);
    assert_eq!(
        batch_names(&only_c[0], crate::Needs::Transitive),
        [vec!["a"], vec!["b"], vec!["c"]]
    );
}

#[test]
fn release_input_names_a_bad_values_file_and_its_release() {
    let d = repo(&[
        ("bad.yaml", "msg: [unclosed\n"),
        (
            "helmfile.yaml",
            "releases:\n- name: web\n  chart: ./chart\n  values:\n  - bad.yaml\n- name: far\n  chart: oci://example.invalid/charts/x\n",
        ),
    ]);
    let v = &visit(&opts(d.path(), "helmfile.yaml", "", &[])).unwrap()[0];
    let e = crate::release_input(&v.state, &v.releases[0]).unwrap_err();
    assert!(e.0.contains("release \"web\"") && e.0.contains("bad.yaml"), "{e}");
    let e = crate::release_input(&v.state, &v.releases[1]).unwrap_err();
    assert!(
        e.0.contains("release \"far\"") && e.0.contains("registry oci://example.invalid/charts"),
        "{e}"
    );
}
