//! What a render worker keeps between renders (`ballast_helm::kept`): renders one after
//! another, of the same chart with other values and of another chart holding the same texts,
//! print what renders with nothing kept print, errors naming their own chart's files; a kept
//! chart archive's values are the render's own. In their own binary, one at a time: they turn
//! keeping off and on, which every render of the process sees.

use std::path::Path;
use std::sync::Mutex;

use ballast_helm::{TemplateOptions, kept, on_render_thread};

const HELPERS: &str = "{{- define \"app.name\" -}}{{ .Chart.Name }}-{{ .Values.suffix }}{{- end -}}\n";
const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"app.name\" . }}\ndata:\n  size: {{ .Values.size | quote }}\n  tpl: {{ tpl \"{{ .Release.Name }}\" . }}\n";
const CHECKED: &str = "{{- if .Values.strict }}{{ required \"size is required\" .Values.missing }}{{ end }}\n";

fn chart(root: &Path, name: &str) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n"),
    )
    .unwrap();
    std::fs::write(dir.join("values.yaml"), "suffix: a\nsize: 1\nstrict: false\n").unwrap();
    std::fs::write(dir.join("templates/_helpers.tpl"), HELPERS).unwrap();
    std::fs::write(dir.join("templates/cm.yaml"), CONFIGMAP).unwrap();
    std::fs::write(dir.join("templates/checked.yaml"), CHECKED).unwrap();
    dir
}

fn render(chart: &Path, set: &[&str]) -> Result<String, String> {
    let mut opts = TemplateOptions {
        release_name: "rel".into(),
        ..TemplateOptions::default()
    };
    opts.values.set = set.iter().map(|s| s.to_string()).collect();
    ballast_helm::template(chart, &opts).map_err(|e| e.0)
}

/// What the render worker that serves the next render keeps.
fn held() -> usize {
    on_render_thread(|| Ok(kept::held_text_bytes())).unwrap()
}

/// Held by each test: keeping is switched for the whole process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn renders_with_kept_parses_print_what_fresh_renders_print() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = tempfile::tempdir().unwrap();
    let (one, two) = (chart(root.path(), "one"), chart(root.path(), "two"));
    let cases: Vec<(&Path, Vec<&str>)> = vec![
        (&one, vec![]),
        (&one, vec!["size=2", "suffix=b"]),
        (&two, vec![]),
        (&two, vec!["strict=true"]),
        (&one, vec!["strict=true"]),
        (&one, vec![]),
    ];

    kept::keep_between_renders(false);
    let fresh: Vec<_> = cases.iter().map(|(c, set)| render(c, set)).collect();
    assert_eq!(held(), 0, "nothing is kept while keeping is off");

    kept::keep_between_renders(true);
    let kept_renders: Vec<_> = cases.iter().map(|(c, set)| render(c, set)).collect();
    assert!(
        held() >= HELPERS.len() + CONFIGMAP.len() + CHECKED.len(),
        "the worker keeps the parses of the texts it rendered"
    );
    assert_eq!(kept_renders, fresh);

    // The outputs themselves: other values, another chart's name; errors name their chart.
    let out = kept_renders[1].as_ref().unwrap();
    assert!(
        out.contains("  name: one-b\n") && out.contains("  size: \"2\"\n") && out.contains("  tpl: rel\n"),
        "{out}"
    );
    assert!(kept_renders[2].as_ref().unwrap().contains("  name: two-a\n"));
    let err = kept_renders[3].as_ref().unwrap_err();
    assert!(
        err.contains("two/templates/checked.yaml") && err.contains("size is required"),
        "{err}"
    );
    let err = kept_renders[4].as_ref().unwrap_err();
    assert!(
        err.contains("one/templates/checked.yaml") && !err.contains("two/"),
        "{err}"
    );

    // Turned off again, what was kept is dropped at the next render.
    kept::keep_between_renders(false);
    assert_eq!(render(&one, &[]), fresh[0]);
    assert_eq!(held(), 0);
    kept::keep_between_renders(true);
}

/// A chart archive rendered again is taken from what the worker kept, as a copy: a template
/// that changes `.Values` in place (`set`) changes this render's values only.
#[test]
fn a_kept_archive_gives_each_render_values_of_its_own() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("mut");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: mut\nversion: 1.0.0\n").unwrap();
    std::fs::write(
        dir.join("values.yaml"),
        "tier: base\nlist:\n- a: 1\nnested:\n  count: 1\n",
    )
    .unwrap();
    // Executed in helm's order: b.yaml before a.yaml (reverse lexicographic).
    std::fs::write(
        dir.join("templates/b.yaml"),
        "tier: {{ .Values.tier }}\na: {{ (index .Values.list 0).a }}\ncount: {{ .Values.nested.count }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("templates/a.yaml"),
        "{{- $_ := set .Values \"tier\" \"changed\" }}{{- $_ := set (index .Values.list 0) \"a\" 2 }}{{- $_ := set .Values.nested \"count\" 2 }}\n",
    )
    .unwrap();
    let archive = root.path().join("mut-1.0.0.tgz");
    let tar = std::process::Command::new("tar")
        .arg("czf")
        .arg(&archive)
        .arg("-C")
        .arg(root.path())
        .arg("mut")
        .status()
        .expect("tar (to make the chart archive)");
    assert!(tar.success());

    kept::keep_between_renders(true);
    let first = render(&archive, &[]).unwrap();
    assert!(first.contains("tier: base\na: 1\ncount: 1\n"), "{first}");
    assert!(
        on_render_thread(|| Ok(kept::held_chart_bytes())).unwrap() > 0,
        "the worker keeps the archive's chart"
    );
    for _ in 0..3 {
        assert_eq!(render(&archive, &[]).unwrap(), first);
    }
    let other = render(&archive, &["tier=top"]).unwrap();
    assert!(other.contains("tier: top\na: 1\ncount: 1\n"), "{other}");
    assert_eq!(render(&archive, &[]).unwrap(), first);

    kept::keep_between_renders(false);
    assert_eq!(render(&archive, &[]).unwrap(), first);
    assert_eq!(on_render_thread(|| Ok(kept::held_chart_bytes())).unwrap(), 0);
    kept::keep_between_renders(true);
}
