//! Bad charts: each must give a clear error (naming the file or the cause), quickly, with
//! bounded memory, and never a panic.
//!
//! Every case runs in a child process of this test binary (the `child` test, selected by
//! `BALLAST_BAD_CHART`), under `prlimit --as` (address space limited to [`MEMORY_LIMIT`]) and
//! a wall-clock limit of [`TIME_LIMIT`], so that a runaway render fails this test instead of
//! exhausting the machine. The child writes `ERROR:` and the message, or `OK:` when the
//! render unexpectedly succeeded, to the file `BALLAST_BAD_CHART_OUT`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ballast_helm::TemplateOptions;

/// Address space a child may map (the test binary itself needs a few hundred MiB of it).
const MEMORY_LIMIT: u64 = 2 << 30;
/// Time a child may take (debug build).
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// A clear error is short enough to read.
const MAX_MESSAGE: usize = 64 << 10;

fn write(dir: &Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
    std::fs::write(p, content).expect("write");
}

fn chart(dir: &Path, name: &str) -> PathBuf {
    let root = dir.join(name);
    write(
        &root,
        "Chart.yaml",
        &format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
    );
    root
}

/// A gzipped tar whose entries are written with raw names (the `tar` crate refuses `..`
/// through its checked setters).
fn archive(path: &Path, entries: &[(&str, &str)]) {
    let file = std::fs::File::create(path).expect("create archive");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (name, content) in entries {
        let mut h = tar::Header::new_old();
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, content.as_bytes()).expect("append");
    }
    let gz = b.into_inner().expect("finish tar");
    gz.finish().expect("finish gzip").flush().expect("flush");
}

/// Builds the bad chart `name` under `dir`; returns the path to render.
fn build(name: &str, dir: &Path) -> PathBuf {
    match name {
        "syntax" => {
            let c = chart(dir, "syntax");
            write(
                &c,
                "templates/bad.yaml",
                "kind: ConfigMap\n{{ if .Values.x }}\nname: a\n",
            );
            c
        }
        "required" => {
            let c = chart(dir, "required");
            write(
                &c,
                "templates/deploy.yaml",
                "image: {{ required \"image.tag is required\" .Values.tag }}\n",
            );
            c
        }
        "schema" => {
            let c = chart(dir, "schema");
            write(&c, "values.yaml", "replicas: three\n");
            write(
                &c,
                "values.schema.json",
                r#"{"type":"object","properties":{"replicas":{"type":"integer"}},"required":["replicas"]}"#,
            );
            write(&c, "templates/t.yaml", "r: {{ .Values.replicas }}\n");
            c
        }
        "include-loop" => {
            let c = chart(dir, "loop");
            write(
                &c,
                "templates/cm.yaml",
                "{{- define \"loop.a\" }}{{ include \"loop.b\" . }}{{ end }}\n\
                 {{- define \"loop.b\" }}{{ include \"loop.a\" . }}{{ end }}\n\
                 x: {{ include \"loop.a\" . }}\n",
            );
            c
        }
        "tpl-loop" => {
            let c = chart(dir, "tplloop");
            write(&c, "values.yaml", "again: \"{{ tpl .Values.again . }}\"\n");
            write(&c, "templates/cm.yaml", "x: {{ tpl .Values.again . }}\n");
            c
        }
        "dotdot-tgz" => {
            let p = dir.join("evil-0.1.0.tgz");
            archive(
                &p,
                &[
                    ("evil/Chart.yaml", "apiVersion: v2\nname: evil\nversion: 0.1.0\n"),
                    ("evil/templates/cm.yaml", "kind: ConfigMap\n"),
                    ("evil/../../escaped.yaml", "kind: Secret\n"),
                ],
            );
            p
        }
        "absolute-tgz" => {
            let p = dir.join("abs-0.1.0.tgz");
            archive(
                &p,
                &[
                    ("abs/Chart.yaml", "apiVersion: v2\nname: abs\nversion: 0.1.0\n"),
                    ("/tmp/abs-escaped.yaml", "kind: Secret\n"),
                ],
            );
            p
        }
        "until-1gib" => {
            let c = chart(dir, "until");
            write(&c, "templates/t.yaml", "n: {{ until 1073741824 | len }}\n");
            c
        }
        other => panic!("no bad chart named {other}"),
    }
}

/// The child side: renders one bad chart and prints the outcome.
#[test]
fn child() {
    let (Ok(name), Some(out)) = (
        std::env::var("BALLAST_BAD_CHART"),
        std::env::var_os("BALLAST_BAD_CHART_OUT"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = build(&name, dir.path());
    let opts = TemplateOptions {
        release_name: "bad".into(),
        ..TemplateOptions::default()
    };
    let result = match ballast_helm::template(&path, &opts) {
        Ok(rendered) => format!("OK:{} bytes", rendered.len()),
        Err(e) => format!("ERROR:{e}"),
    };
    std::fs::write(out, result).expect("write the outcome");
}

/// Runs `name` in a bounded child and returns its error message.
fn bad(name: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary");
    let mut cmd = if Command::new("prlimit").arg("--version").output().is_ok() {
        let mut c = Command::new("prlimit");
        c.arg(format!("--as={MEMORY_LIMIT}")).arg("--").arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let outdir = tempfile::tempdir().expect("tempdir");
    let outfile = outdir.path().join("outcome");
    cmd.args(["--exact", "child", "--test-threads=1"])
        .env("BALLAST_BAD_CHART", name)
        .env("BALLAST_BAD_CHART_OUT", &outfile)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn the child test");
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: no error within {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("child output");
    let Ok(text) = std::fs::read_to_string(&outfile) else {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let tail: Vec<&str> = all.lines().rev().take(12).collect();
        panic!(
            "{name}: the render crashed ({}; address space limited to {MEMORY_LIMIT} bytes)\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    };
    let Some(msg) = text.strip_prefix("ERROR:") else {
        panic!("{name}: rendered without an error ({text})");
    };
    let msg = msg.to_string();
    assert!(
        msg.len() <= MAX_MESSAGE,
        "{name}: a {} byte error is not clear",
        msg.len()
    );
    assert!(
        !msg.contains("not implemented yet"),
        "{name}: the engine is not there yet: {msg}"
    );
    msg
}

fn assert_words(name: &str, msg: &str, all: &[&str], any: &[&str]) {
    for w in all {
        assert!(msg.contains(w), "{name}: the error should name {w:?}: {msg}");
    }
    if !any.is_empty() {
        assert!(
            any.iter().any(|w| msg.to_lowercase().contains(&w.to_lowercase())),
            "{name}: the error should say one of {any:?}: {msg}"
        );
    }
}

#[test]
fn syntax_error_names_file_and_line() {
    let m = bad("syntax");
    assert_words(
        "syntax",
        &m,
        &["syntax/templates/bad.yaml"],
        &["unexpected EOF", "parse error"],
    );
}

#[test]
fn missing_required_value_gives_its_message() {
    let m = bad("required");
    assert_words(
        "required",
        &m,
        &["required/templates/deploy.yaml", "image.tag is required"],
        &[],
    );
}

#[test]
fn failed_schema_names_the_value() {
    let m = bad("schema");
    assert_words("schema", &m, &["replicas"], &["schema"]);
}

#[test]
fn include_loop_is_stopped() {
    let m = bad("include-loop");
    assert_words("include-loop", &m, &[], &["loop.a", "loop.b"]);
    assert_words(
        "include-loop",
        &m,
        &[],
        &["nested", "recurs", "depth", "limit", "exceeded"],
    );
}

#[test]
fn tpl_loop_is_stopped() {
    let m = bad("tpl-loop");
    assert_words(
        "tpl-loop",
        &m,
        &["tplloop/templates/cm.yaml"],
        &["nested", "recurs", "depth", "limit", "exceeded"],
    );
}

#[test]
fn archive_with_parent_entries_is_refused() {
    let m = bad("dotdot-tgz");
    assert_words("dotdot-tgz", &m, &[".."], &[]);
}

#[test]
fn archive_with_absolute_entries_is_refused() {
    let m = bad("absolute-tgz");
    assert_words("absolute-tgz", &m, &[], &["absolute", "/tmp/abs-escaped.yaml"]);
}

#[test]
fn huge_until_is_refused() {
    let m = bad("until-1gib");
    assert_words("until-1gib", &m, &["until", "until/templates/t.yaml"], &[]);
}

#[test]
fn bad_archives_hold_what_they_claim() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, escaping) in [
        ("dotdot-tgz", "evil/../../escaped.yaml"),
        ("absolute-tgz", "/tmp/abs-escaped.yaml"),
    ] {
        let p = build(name, dir.path());
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(&p).expect("open"));
        let mut ar = tar::Archive::new(gz);
        let names: Vec<String> = ar
            .entries()
            .expect("entries")
            .map(|e| String::from_utf8_lossy(&e.expect("entry").path_bytes()).into_owned())
            .collect();
        assert!(names.iter().any(|n| n == escaping), "{name}: {names:?}");
    }
}
