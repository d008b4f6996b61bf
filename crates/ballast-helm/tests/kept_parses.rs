//! Parses kept between renders on a render worker (`ballast_helm::kept`): renders one after
//! another, of the same chart with other values and of another chart holding the same texts,
//! print what renders with nothing kept print, errors naming their own chart's files. One test
//! in its own binary: it turns keeping off and on, which every render of the process sees.

use std::path::Path;

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

#[test]
fn renders_with_kept_parses_print_what_fresh_renders_print() {
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

    kept::keep_parses(false);
    let fresh: Vec<_> = cases.iter().map(|(c, set)| render(c, set)).collect();
    assert_eq!(held(), 0, "nothing is kept while keeping is off");

    kept::keep_parses(true);
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
    kept::keep_parses(false);
    assert_eq!(render(&one, &[]), fresh[0]);
    assert_eq!(held(), 0);
    kept::keep_parses(true);
}
