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
    archive(
        root.path(),
        "mut",
        &[
            ("values.yaml", b"tier: base\nlist:\n- a: 1\nnested:\n  count: 1\n".to_vec()),
            // Executed in helm's order: b.yaml before a.yaml (reverse lexicographic).
            (
                "templates/b.yaml",
                b"tier: {{ .Values.tier }}\na: {{ (index .Values.list 0).a }}\ncount: {{ .Values.nested.count }}\n".to_vec(),
            ),
            (
                "templates/a.yaml",
                b"{{- $_ := set .Values \"tier\" \"changed\" }}{{- $_ := set (index .Values.list 0) \"a\" 2 }}{{- $_ := set .Values.nested \"count\" 2 }}\n".to_vec(),
            ),
        ],
    );
    let archive = root.path().join("mut.tgz");

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

/// Writes a chart `name` under `root` holding `files` (paths in the chart), and returns it
/// archived (`tar czf`).
fn archive(root: &Path, name: &str, files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let dir = root.join(name);
    for (path, data) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    std::fs::write(
        dir.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n"),
    )
    .unwrap();
    let out = root.join(format!("{name}.tgz"));
    let tar = std::process::Command::new("tar")
        .arg("czf")
        .arg(&out)
        .arg("-C")
        .arg(root)
        .arg(name)
        .status()
        .expect("tar (to make the chart archive)");
    assert!(tar.success());
    std::fs::read(out).unwrap()
}

/// Renders the chart of archive `bytes` on a render worker; returns the bytes of its file
/// `file` (a handle on the buffer the archive was read into).
fn render_archive(bytes: &[u8], file: &'static str) -> bytes::Bytes {
    let bytes = bytes.to_vec();
    on_render_thread(move || {
        let chart = ballast_helm::chart::load_archive(&bytes)?;
        let data = chart.files.iter().find(|f| f.name == file).map(|f| f.data.clone());
        ballast_helm::template_loaded(chart, &ballast_helm::Value::empty_map(), &TemplateOptions::default())?;
        Ok(data.unwrap_or_default())
    })
    .unwrap()
}

/// A chart dropped from the kept ones (past `MAX_CHART_BYTES`) is freed whole: the parses of
/// its templates kept by identity do not keep its archive's buffer alive.
#[test]
fn a_chart_dropped_from_the_kept_ones_is_freed_with_its_files() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = tempfile::tempdir().unwrap();
    let small: Vec<Vec<u8>> = (0..3u8)
        .map(|i| {
            // Archives under 1 MiB: read into a plain buffer (see `chart::archive`), whose
            // `Bytes` tell whether they are the last handle on it.
            let mut blob = vec![0u8; 512 << 10];
            blob[0] = i;
            archive(
                root.path(),
                &format!("small{i}"),
                &[
                    ("templates/cm.yaml", format!("a: {i}\n").into_bytes()),
                    ("files/blob", blob),
                ],
            )
        })
        .collect();
    // With the small ones, past what a worker keeps: they are dropped to keep this one.
    // In files of 4 MiB (a chart's files are 5 MiB at most each).
    let names: Vec<String> = (0..kept::MAX_CHART_BYTES / (4 << 20))
        .map(|i| format!("files/part{i}"))
        .collect();
    let mut files: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (n.as_str(), vec![7u8; 4 << 20])).collect();
    files[0].1.truncate((4 << 20) - (256 << 10));
    files.push(("templates/cm.yaml", b"b: 1\n".to_vec()));
    let big = archive(root.path(), "big", &files);

    kept::keep_between_renders(true);
    let blobs: Vec<bytes::Bytes> = small.iter().map(|a| render_archive(a, "files/blob")).collect();
    // Kept: the worker holds each small chart (its files and its template's parse).
    let held = on_render_thread(|| Ok(kept::held_chart_bytes())).unwrap();
    assert!(held >= 3 * (512 << 10), "{held}");
    assert!(blobs.iter().all(|b| !b.is_unique()));

    render_archive(&big, "files/blob");
    // Runs after the worker freed what the render above left.
    let held = on_render_thread(|| Ok(kept::held_chart_bytes())).unwrap();
    assert!(held < kept::MAX_CHART_BYTES + (1 << 20), "{held}");
    let alive = blobs.iter().filter(|b| !b.is_unique()).count();
    assert_eq!(alive, 0, "the dropped charts' archives are still held (held {held})");
}

/// A file whose text defines a template of the file's own name fails as a fresh render does,
/// though another chart rendered before had a file of that text under another name.
#[test]
fn a_text_defining_its_files_name_fails_as_fresh_after_another_chart() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = tempfile::tempdir().unwrap();
    let text = b"{{- define \"b/templates/x.yaml\" }}x: 1{{ end }}y: 2\n".to_vec();
    archive(root.path(), "a", &[("templates/x.yaml", text.clone())]);
    archive(root.path(), "b", &[("templates/x.yaml", text)]);

    kept::keep_between_renders(false);
    let fresh = render(&root.path().join("b"), &[]);
    let err = fresh.as_ref().unwrap_err();
    assert!(err.contains("multiple definition of template"), "{err}");

    // The charts' directories, then their archives (kept, their files known by identity).
    kept::keep_between_renders(true);
    for ext in ["", ".tgz"] {
        render(&root.path().join(format!("a{ext}")), &[]).unwrap();
        assert_eq!(render(&root.path().join(format!("b{ext}")), &[]), fresh);
        assert_eq!(render(&root.path().join(format!("b{ext}")), &[]), fresh);
    }
}
