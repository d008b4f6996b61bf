//! Loading whole charts, against what `helm template` shows of them.

use std::path::Path;

use super::*;
use crate::values::tests::j;

fn write(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, data) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
}

fn tgz(top: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (n, d) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("{top}/{n}"), d.as_bytes()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn file_names(c: &Chart) -> Vec<&str> {
    c.files.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn yaml_1_1_metadata_helmignore_and_files() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        &[
            (
                "Chart.yaml",
                b"apiVersion: v2\nname: N\nversion: 1.10\nappVersion: 1.0\n",
            ),
            ("templates/t.yaml", b"x"),
            ("templates/.hidden", b"x"),
            ("files/a.txt", b"x\n"),
            ("files/b.yaml", b"y\n"),
            ("crds/c.yaml", b"c\n"),
            ("README.md", b"r\n"),
            ("values.yaml", b"a: 1\n"),
            (".helmignore", b"*.md\n"),
        ],
    );
    let c = load(tmp.path()).unwrap();
    // `N` is YAML 1.1's false; numbers become their Go text.
    assert_eq!(c.metadata.name, "false");
    assert_eq!(c.metadata.version, "1.1");
    assert_eq!(c.metadata.app_version, "1");
    assert_eq!(
        file_names(&c),
        [".helmignore", "crds/c.yaml", "files/a.txt", "files/b.yaml"]
    );
    let t: Vec<&str> = c.templates.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(t, ["templates/t.yaml"]);
    assert_eq!(j(&c.values), r#"{"a":1}"#);
    // A negated rule ignores everything it does not match, Chart.yaml included.
    std::fs::write(tmp.path().join(".helmignore"), "*.md\n!files/*.txt\n").unwrap();
    assert_eq!(load(tmp.path()).unwrap_err().0, "Chart.yaml file is missing");
}

#[test]
fn v1_requirements_and_archived_subchart() {
    let tmp = tempfile::tempdir().unwrap();
    let sub = tgz(
        "sub",
        &[
            ("Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
            ("values.yaml", "on: true\nk: 1\n"),
            ("templates/s.yaml", "s"),
        ],
    );
    write(
        tmp.path(),
        &[
            ("Chart.yaml", b"name: v1c\nversion: 0.1.0\n"),
            (
                "requirements.yaml",
                b"dependencies:\n- name: sub\n  version: 0.1.0\n  condition: sub.on\n",
            ),
            ("templates/t.yaml", b"x"),
            ("charts/sub-0.1.0.tgz", &sub),
            ("charts/sub-0.1.0.tgz.prov", b"p"),
        ],
    );
    let c = load(tmp.path()).unwrap();
    assert_eq!(c.metadata.api_version, "v1");
    assert_eq!(file_names(&c), ["charts/sub-0.1.0.tgz.prov", "requirements.yaml"]);
    assert_eq!(c.dependencies.len(), 1);
    assert_eq!(c.dependencies[0].templates[0].name, "templates/s.yaml");
    let (c2, vals) = crate::values::prepare(c.clone(), &ballast_gotemplate::Value::empty_map()).unwrap();
    assert_eq!(j(&vals), r#"{"sub":{"global":{},"k":1,"true":true}}"#);
    assert_eq!(c2.dependencies.len(), 1);
    let user = crate::values::strvals::parse("sub.on=false").unwrap();
    let (c3, vals) = crate::values::prepare(c, &user).unwrap();
    assert_eq!(j(&vals), r#"{"sub":{"on":false}}"#);
    assert!(c3.dependencies.is_empty());
}

#[test]
fn load_errors_as_helm() {
    let cases: &[(&str, &str)] = &[
        (
            "apiVersion: v2\nname: L\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: 1.0.0\n- name: zz\n",
            "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: redis, zz",
        ),
        (
            "apiVersion: v2\nversion: 0.1.0\n",
            "validation: chart.metadata.name is required",
        ),
        (
            "apiVersion: v2\nname: a/b\nversion: 0.1.0\n",
            "validation: chart.metadata.name \"a/b\" is invalid",
        ),
        (
            "apiVersion: v2\nname: ..\nversion: 0.1.0\n",
            "validation: chart.metadata.name \"..\" is not allowed",
        ),
        (
            "apiVersion: v2\nname: L\n",
            "validation: chart.metadata.version is required",
        ),
        (
            "apiVersion: v2\nname: L\nversion: x.y\n",
            "validation: chart.metadata.version \"x.y\" is invalid",
        ),
        (
            "apiVersion: v2\nname: L\nversion: 1.0.0\ntype: foo\n",
            "validation: chart.metadata.type must be application or library",
        ),
        (
            "apiVersion: v2\nname: L\nversion: 1.0.0\ndependencies:\n- name: a\n  alias: \"x y\"\n",
            "validation: dependency \"a\" has disallowed characters in the alias",
        ),
        (
            "apiVersion: v2\nname: L\nversion: 1.0.0\ndependencies:\n- name: a\n- name: a\n",
            "validation: more than one dependency with name or alias \"a\"",
        ),
        (
            "apiVersion: v2\nname: L\nversion: 1.0.0\nfoo: [\n",
            "cannot load Chart.yaml: error converting YAML to JSON: yaml: line 4: did not find expected node content",
        ),
        (
            "apiVersion: v2\nname: L\nversion: 1.0.0\nkeywords: 5\n",
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go struct field Metadata.keywords of type []string",
        ),
        // helm v4 loads an apiVersion v3 chart, whose metadata is checked as v2's.
        (
            "apiVersion: v3\nname: L\nversion: x.y\n",
            "validation: chart.metadata.version \"x.y\" is invalid",
        ),
        // An apiVersion helm has no loader for fails before the rest is read.
        ("apiVersion: V2\nname: L\nversion: 1.0.0\n", "unsupported chart version"),
        (
            "apiVersion: 2\nname: L\nversion: 1.0.0\nkeywords: 5\n",
            "unsupported chart version",
        ),
    ];
    for (chart_yaml, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            &[("Chart.yaml", chart_yaml.as_bytes()), ("templates/t.yaml", b"x")],
        );
        assert_eq!(load(tmp.path()).unwrap_err().0, *want, "{chart_yaml}");
    }
    // A v3 chart loads, then is refused as not installable: its type first, then its version.
    for (chart_yaml, want) in [
        ("apiVersion: v3\nname: L\nversion: 1.0.0\n", "invalid chart apiVersion"),
        (
            "apiVersion: v3\nname: L\nversion: 1.0.0\ntype: library\n",
            "library charts are not installable",
        ),
        (
            "apiVersion: v2\nname: L\nversion: 1.0.0\ntype: library\n",
            "library charts are not installable",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), &[("Chart.yaml", chart_yaml.as_bytes())]);
        assert_eq!(load(tmp.path()).unwrap().check_installable().unwrap_err().0, want);
    }
    // As a subchart, v3 loads (and renders, as in helm).
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        &[
            ("Chart.yaml", b"apiVersion: v2\nname: L\nversion: 1.0.0\n"),
            ("charts/s/Chart.yaml", b"apiVersion: v3\nname: s\nversion: 1.0.0\n"),
        ],
    );
    let chart = load(tmp.path()).unwrap();
    assert!(chart.check_installable().is_ok());
    assert_eq!(chart.dependencies[0].metadata.api_version, "v3");
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        &[
            ("Chart.yaml", b"apiVersion: v2\nname: L\nversion: 1.0.0\n"),
            ("values.yaml", b"a: ["),
        ],
    );
    assert_eq!(
        load(tmp.path()).unwrap_err().0,
        "cannot load values.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line 1: did not find expected node content"
    );
    write(tmp.path(), &[("values.yaml", b""), ("Chart.lock", b"a: [\n")]);
    assert_eq!(
        load(tmp.path()).unwrap_err().0,
        "cannot load Chart.lock: error converting YAML to JSON: yaml: line 1: did not find expected node content"
    );
    std::fs::remove_file(tmp.path().join("Chart.lock")).unwrap();
    write(tmp.path(), &[("charts/foo.txt", b"hi")]);
    assert_eq!(
        load(tmp.path()).unwrap_err().0,
        "error unpacking subchart foo.txt in L: Chart.yaml file is missing"
    );
    std::fs::remove_file(tmp.path().join("charts/foo.txt")).unwrap();
    write(tmp.path(), &[("charts/e/Chart.yaml", b"apiVersion: v2")]);
    assert_eq!(
        load(tmp.path()).unwrap_err().0,
        "error unpacking subchart e in L: validation: chart.metadata.name is required"
    );
    // Directories under charts/ starting with `_` or `.` are skipped; an empty one loads nothing.
    std::fs::remove_dir_all(tmp.path().join("charts/e")).unwrap();
    write(tmp.path(), &[("charts/_x/Chart.yaml", b"bad: [")]);
    std::fs::create_dir_all(tmp.path().join("charts/empty")).unwrap();
    assert!(load(tmp.path()).unwrap().dependencies.is_empty());
}

#[test]
fn archive_chart_loads() {
    let a = tgz(
        "p",
        &[
            ("Chart.yaml", "apiVersion: v2\nname: p\nversion: 0.1.0\n"),
            ("templates/a.yaml", "a"),
        ],
    );
    let c = load_archive(&a).unwrap();
    assert_eq!(c.metadata.name, "p");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("p-0.1.0.tgz");
    std::fs::write(&path, &a).unwrap();
    assert_eq!(load(&path).unwrap().templates.len(), 1);
}

#[test]
fn chart_object_as_helm_prints_it() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        &[
            (
                "Chart.yaml",
                b"apiVersion: v2\nname: q\nversion: 0.1.0\nannotations: {a: b}\nmaintainers: [{name: m, email: e}]\ndependencies:\n- name: sub\n  version: 0.1.0\n  alias: s2\n  import-values: [foo]\n  condition: a.b\n  tags: [t1]\n",
            ),
            ("charts/sub/Chart.yaml", b"apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
        ],
    );
    let c = load(tmp.path()).unwrap();
    let (c, _) = crate::values::prepare(c, &ballast_gotemplate::Value::empty_map()).unwrap();
    let top = crate::capabilities::chart_object(&c.metadata, true);
    assert_eq!(
        crate::json::to_json(&top).unwrap(),
        r#"{"APIVersion":"v2","Annotations":{"a":"b"},"AppVersion":"","Condition":"","Dependencies":[{"Alias":"s2","Condition":"a.b","Enabled":true,"ImportValues":[{"child":"exports.foo","parent":"."}],"Name":"s2","Repository":"","Tags":["t1"],"Version":"0.1.0"}],"Deprecated":false,"Description":"","Home":"","Icon":"","IsRoot":true,"Keywords":[],"KubeVersion":"","Maintainers":[{"Email":"e","Name":"m","URL":""}],"Name":"q","Sources":[],"Tags":"","Type":"","Version":"0.1.0"}"#
    );
    // A chart without annotations has helm's nil map[string]string: null.
    let sub = crate::capabilities::chart_object(&c.dependencies[0].metadata, false);
    assert_eq!(
        crate::json::to_json(&sub).unwrap(),
        r#"{"APIVersion":"v2","Annotations":null,"AppVersion":"","Condition":"","Dependencies":[],"Deprecated":false,"Description":"","Home":"","Icon":"","IsRoot":false,"Keywords":[],"KubeVersion":"","Maintainers":[],"Name":"s2","Sources":[],"Tags":"","Type":"","Version":"0.1.0"}"#
    );
}

#[test]
fn helmignore_patterns_as_helm() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files: Vec<(&str, &[u8])> = vec![
        ("Chart.yaml", b"apiVersion: v2\nname: hi\nversion: 0.1.0\n"),
        ("templates/t.yaml", b"x"),
        (
            ".helmignore",
            b"# comment\n*.txt\n/top.md\nsub/*.yaml\nbuild/\n[ab].md\nsecret?\n*.bak\n.hidden\n  docs/readme  \n",
        ),
    ];
    for f in [
        "a.txt",
        "top.md",
        "x/top.md",
        "sub/a.yaml",
        "sub/deep/b.yaml",
        "sub/c.json",
        "build/o",
        "x/build/o",
        "a.md",
        "b.md",
        "c.md",
        "secret1",
        "secret12",
        "docs/readme",
        "docs/.hidden",
        ".hidden",
        "x/y.bak",
    ] {
        files.push((f, b"\n"));
    }
    write(tmp.path(), &files);
    let c = load(tmp.path()).unwrap();
    // `helm template` shows these in `.Files`.
    assert_eq!(
        file_names(&c),
        [
            ".helmignore",
            "c.md",
            "secret12",
            "sub/c.json",
            "sub/deep/b.yaml",
            "x/top.md"
        ]
    );
}

/// A chart's own files, subcharts and their files, for comparing two loads.
fn outline(c: &Chart) -> Vec<String> {
    use sha2::Digest as _;
    let mut out = vec![format!("chart {} {}", c.metadata.name, c.metadata.version)];
    for f in c.templates.iter().chain(&c.files) {
        out.push(format!("{} {}", f.name, hex::encode(sha2::Sha256::digest(&f.data))));
    }
    for d in &c.dependencies {
        out.extend(outline(d).into_iter().map(|l| format!("  {l}")));
    }
    out
}

/// A chart directory whose `charts/` holds several archives large enough to be read on two
/// threads loads as each archive loaded alone, in `charts/` order; a corrupt archive among
/// them gives the error of its turn, as when archives are read one by one.
#[test]
fn archive_subcharts_read_on_two_threads_load_as_one_by_one() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/charts");
    let names = ["airflow-25.1.0.tgz", "podinfo-6.14.1.tgz", "redis-23.1.1.tgz"];
    let tmp = tempfile::tempdir().unwrap();
    let chart = b"apiVersion: v2\nname: umbrella\nversion: 1.0.0\n";
    write(tmp.path(), &[("Chart.yaml", chart)]);
    let mut total = 0;
    for n in names {
        let data = std::fs::read(fixtures.join(n)).unwrap();
        total += data.len();
        write(tmp.path(), &[(&format!("charts/{n}"), &data)]);
    }
    assert!(
        total >= load::UNPACK_ON_TWO_THREADS_FROM,
        "the test's archives are too small"
    );
    let loaded = load(tmp.path()).unwrap();
    let mut expected = vec!["chart umbrella 1.0.0".to_string()];
    for n in names {
        let alone = load(&fixtures.join(n)).unwrap();
        expected.extend(outline(&alone).into_iter().map(|l| format!("  {l}")));
    }
    assert_eq!(outline(&loaded), expected);

    // redis's archive cut short: its error, in its turn (after airflow and podinfo loaded).
    let redis = std::fs::read(fixtures.join("redis-23.1.1.tgz")).unwrap();
    std::fs::write(tmp.path().join("charts/redis-23.1.1.tgz"), &redis[..redis.len() / 2]).unwrap();
    let alone = load_archive(&redis[..redis.len() / 2]).unwrap_err().0;
    let err = load(tmp.path()).unwrap_err().0;
    assert_eq!(
        err,
        format!("error unpacking subchart redis-23.1.1.tgz in umbrella: {alone}")
    );
}
