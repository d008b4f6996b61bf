//! Template sets: Go's multi_test.go cases (definitions across parses, redefinition, empty
//! definitions), plus the `Env` entry points Helm's `include` and `tpl` use, and the limits.

mod common;

use std::rc::Rc;
use std::time::Duration;

use ballast_gotemplate::{Limits, MissingKey, Templates, Value};
use common::*;

const MULTI_TEXT1: &str = r#"{{define "x"}}TEXT{{end}}{{define "dotV"}}{{.V}}{{end}}"#;
const MULTI_TEXT2: &str = r#"{{define "dot"}}{{.}}{{end}}{{define "nested"}}{{template "dot" .}}{{end}}"#;

fn set() -> Templates {
    let mut t = Templates::new(Rc::new(funcs()));
    t.missing_key(MissingKey::Zero);
    t
}

fn tval() -> Value {
    map(vec![
        ("I", Value::Int(17)),
        ("SI", list(vec![Value::Int(3), Value::Int(4), Value::Int(5)])),
        ("U", map(vec![("V", s("v"))])),
    ])
}

fn exec(t: &mut Templates, src: &str, data: &Value) -> Result<String, String> {
    t.parse("main", src).map_err(|e| e.message)?;
    t.execute("main", data).map_err(|e| e.message)
}

#[test]
fn multi_exec_tests() {
    let cases: &[(&str, &str)] = &[
        ("", ""),
        ("some text", "some text"),
        (r#"{{template "x" .SI}}"#, "TEXT"),
        (r#"{{template "x"}}"#, "TEXT"),
        (r#"{{template "dot" .I}}"#, "17"),
        (r#"{{template "dot" .SI}}"#, "[3 4 5]"),
        (r#"{{template "dotV" .U}}"#, "v"),
        (r#"{{template "nested" .I}}"#, "17"),
        (r#"{{template "nested" $x:=.SI}},{{index $x 1}}"#, "[3 4 5],4"),
        (r#"{{oneArg "joe"}}"#, "oneArg=joe"),
    ];
    for (src, want) in cases {
        let mut t = set();
        t.parse("m1", MULTI_TEXT1).unwrap();
        t.parse("m2", MULTI_TEXT2).unwrap();
        assert_eq!(exec(&mut t, src, &tval()).as_deref(), Ok(*want), "{src}");
    }
}

#[test]
fn redefinition_and_empty_definitions() {
    let mut t = set();
    t.parse("a", r#"{{define "foo"}}x{{end}}"#).unwrap();
    t.parse("b", r#"{{define "foo"}}y{{end}}"#).unwrap();
    assert_eq!(exec(&mut t, r#"{{template "foo"}}"#, &Value::Nil).as_deref(), Ok("y"));
    // An empty (white space only) definition does not replace a non-empty one.
    t.parse("c", "{{define \"foo\"}} \n {{end}}").unwrap();
    assert_eq!(exec(&mut t, r#"{{template "foo"}}"#, &Value::Nil).as_deref(), Ok("y"));
    // Two non-empty definitions in one text are an error.
    let e = t
        .parse("d", r#"{{define "z"}}1{{end}}{{define "z"}}2{{end}}"#)
        .unwrap_err();
    assert_eq!(
        e.message,
        "template: d:1: template: multiple definition of template \"z\""
    );
    // The same template name parsed twice: the later wins unless empty.
    let mut t = set();
    t.parse("f", "x").unwrap();
    t.parse("f", "y").unwrap();
    assert_eq!(t.execute("f", &Value::Nil).unwrap(), "y");
    t.parse("f", "  ").unwrap();
    assert_eq!(t.execute("f", &Value::Nil).unwrap(), "y");
    assert!(t.has("f") && !t.has("g"));
    assert_eq!(
        t.execute("g", &Value::Nil).unwrap_err().message,
        "template: no template \"g\" associated with template \"\""
    );
}

#[test]
fn include_and_tpl() {
    let mut t = set();
    t.root_name("gotpl");
    t.parse(
        "helpers",
        r#"{{define "h"}}[{{.}}]{{end}}{{define "nest"}}{{include "h" . | upper}}{{end}}"#,
    )
    .unwrap();
    let d = map(vec![("a", s("x")), ("tp", s("{{ .a }}-{{ include \"h\" 1 }}"))]);
    assert_eq!(exec(&mut t, r#"{{include "nest" .a}}"#, &d).as_deref(), Ok("[X]"));
    assert_eq!(exec(&mut t, r#"{{tpl .tp .}}"#, &d).as_deref(), Ok("x-[1]"));
    // tpl's defines stay in its clone of the set.
    let src = r#"{{tpl "{{define \"h\"}}OVER{{end}}{{template \"h\"}}" .}}|{{include "h" 2}}"#;
    assert_eq!(exec(&mut t, src, &d).as_deref(), Ok("OVER|[2]"));
    assert!(!t.has("tpl"));
    // Errors inside include come back wrapped by the caller.
    let e = exec(&mut t, r#"{{include "nope" .}}"#, &d).unwrap_err();
    assert_eq!(
        e,
        "template: main:1:2: executing \"main\" at <include \"nope\" .>: error calling include: template: no template \"nope\" associated with template \"gotpl\""
    );
    let e = exec(&mut t, r#"{{tpl "{{ .a.b }}" .}}"#, &d).unwrap_err();
    assert_eq!(
        e,
        "template: main:1:2: executing \"main\" at <tpl \"{{ .a.b }}\" .>: error calling tpl: template: tpl:1:5: executing \"tpl\" at <.a.b>: can't evaluate field b in type interface {}"
    );
    let e = exec(&mut t, r#"{{tpl "{{ nofunc }}" .}}"#, &d).unwrap_err();
    assert!(
        e.ends_with("error calling tpl: template: tpl:1: function \"nofunc\" not defined"),
        "{e}"
    );
}

/// The same text run through `tpl` many times (its trees are parsed once and reused) gives the
/// same output each time, with each call's own data, its defines still kept to that call, and
/// the same error each time.
#[test]
fn tpl_of_the_same_text_again() {
    let mut t = set();
    t.root_name("gotpl");
    t.parse("helpers", r#"{{define "h"}}[{{.}}]{{end}}"#).unwrap();
    let d = map(vec![("a", s("x")), ("b", s("y"))]);
    let src = r#"{{range $v := list .a .b}}{{tpl "{{define \"h\"}}<{{.}}>{{end}}{{template \"h\" .}}" $v}}{{include "h" $v}}{{end}}"#;
    assert_eq!(exec(&mut t, src, &d).as_deref(), Ok("<x>[x]<y>[y]"));
    assert_eq!(exec(&mut t, src, &d).as_deref(), Ok("<x>[x]<y>[y]"));
    for _ in 0..2 {
        let e = exec(&mut t, r#"{{tpl "{{ .a.b }}" .}}"#, &d).unwrap_err();
        assert!(
            e.ends_with("executing \"tpl\" at <.a.b>: can't evaluate field b in type interface {}"),
            "{e}"
        );
        let e = exec(&mut t, r#"{{tpl "{{ if }}" .}}"#, &d).unwrap_err();
        assert!(
            e.contains("error calling tpl: template: tpl:1: missing value for if"),
            "{e}"
        );
    }
}

#[test]
fn errors_carry_their_parts() {
    let mut t = set();
    t.parse("f.yaml", "a\n{{ define \"d\" }}\n  {{ .x.y }}{{ end }}")
        .unwrap();
    t.parse("g.yaml", "{{ template \"d\" . }}").unwrap();
    let e = t.execute("g.yaml", &map(vec![])).unwrap_err();
    assert_eq!(
        e.message,
        "template: f.yaml:3:7: executing \"d\" at <.x.y>: nil pointer evaluating interface {}.y"
    );
    assert_eq!(e.info.file, "f.yaml");
    assert_eq!(e.info.template, "d");
    assert_eq!((e.info.line, e.info.col), (3, 7));
    assert_eq!(e.info.context, ".x.y");
    assert_eq!(e.info.detail, "nil pointer evaluating interface {}.y");
    assert_eq!(e.info.function, None);
    t.parse("h.yaml", "\n{{ fail }}").unwrap();
    let e = t.execute("h.yaml", &Value::Nil).unwrap_err();
    assert_eq!(e.info.function.as_deref(), Some("fail"));
    assert_eq!(e.info.detail, "error calling fail: it failed");
    let e = t.parse("p.yaml", "x\n{{ if }}").unwrap_err();
    assert_eq!(e.message, "template: p.yaml:2: missing value for if");
    assert_eq!(
        (e.info.file.as_str(), e.info.line, e.info.detail.as_str()),
        ("p.yaml", 2, "missing value for if")
    );
    // A parse error's line is that of Go's lookahead: here the white space after the fields,
    // which starts on line 1, whatever follows it.
    for src in ["{{true.a.b\n}}", "{{\"s\".a.b\nend\"x\"}}"] {
        let e = t.parse("q.yaml", src).unwrap_err();
        assert!(
            e.message.starts_with("template: q.yaml:1: unexpected . after term"),
            "{}",
            e.message
        );
    }
    let e = t.parse("q.yaml", "{{true.a.b}}\n").unwrap_err();
    assert!(e.message.starts_with("template: q.yaml:1: "), "{}", e.message);
    // Contexts longer than 20 characters are cut as Go does.
    t.parse("l.yaml", "{{ printf \"%s\" (fail) \"aaaaaaaaaaaaaa\" }}")
        .unwrap();
    let e = t.execute("l.yaml", &Value::Nil).unwrap_err();
    assert_eq!(e.info.context, "fail");
    t.parse("m.yaml", "{{ fail | printf \"%s %s\" \"aaaaaaaaaaaaaa\" }}")
        .unwrap();
    let e = t.execute("m.yaml", &Value::Nil).unwrap_err();
    assert_eq!(e.info.context, "fail");
    t.parse("n.yaml", "{{ eq \"aaaaaaaaaaaaaaaaaaaaaa\" 1 }}").unwrap();
    let e = t.execute("n.yaml", &Value::Nil).unwrap_err();
    assert_eq!(e.info.context, "eq \"aaaaaaaaaaaaaaaaaaaaaa\" 1");
}

/// Files of the same text (a library chart vendored by several subcharts) share one parse, yet
/// each is its own template: its own name, output and error positions, and the later file's
/// definitions replace the earlier's as a parse of its own would.
#[test]
fn files_of_the_same_text_are_each_their_own() {
    let text = "a{{ define \"lib.d\" }}\n  {{ .x.y }}{{ end }}\n{{ .k.z }}";
    let mut t = set();
    t.parse("one/_lib.tpl", text).unwrap();
    t.parse("two/_lib.tpl", text).unwrap();
    t.parse("main", "{{ template \"lib.d\" . }}").unwrap();
    let d = map(vec![("k", map(vec![("z", s("v"))]))]);
    assert_eq!(t.execute("one/_lib.tpl", &d).unwrap(), "a\nv");
    assert_eq!(t.execute("two/_lib.tpl", &d).unwrap(), "a\nv");
    let e = t.execute("main", &d).unwrap_err();
    assert_eq!(
        e.message,
        "template: two/_lib.tpl:2:7: executing \"lib.d\" at <.x.y>: nil pointer evaluating interface {}.y"
    );
    let e = t.execute("two/_lib.tpl", &map(vec![("k", s("v"))])).unwrap_err();
    assert_eq!((e.info.file.as_str(), e.info.line), ("two/_lib.tpl", 3));
    assert_eq!(e.info.template, "two/_lib.tpl");
    // The same text under a third name, then a different text defining the same template.
    t.parse("three/_lib.tpl", text).unwrap();
    let e = t.execute("main", &d).unwrap_err();
    assert_eq!(e.info.file, "three/_lib.tpl");
    t.parse("four/_lib.tpl", "{{ define \"lib.d\" }}four{{ end }}").unwrap();
    assert_eq!(t.execute("main", &d).unwrap(), "four");
    assert!(t.canonical("three/_lib.tpl").is_some());
    // A text that fails to parse fails under every name.
    for name in ["bad1", "bad2"] {
        let e = t.parse(name, "{{ if }}").unwrap_err();
        assert_eq!(e.message, format!("template: {name}:1: missing value for if"));
    }
    // A file defining a template of its own name keeps that definition's name.
    let own = "{{ define \"self\" }}body{{ end }}";
    t.parse("self", own).unwrap();
    t.parse("other", own).unwrap();
    assert_eq!(t.execute("self", &d).unwrap(), "body");
    assert_eq!(t.execute("other", &d).unwrap(), "");
    // Texts of one length that differ are parsed each on its own, however many there are.
    for i in 0..12 {
        let text = format!("{{{{ define \"len.{i:02}\" }}}}{i:02}{{{{ end }}}}");
        t.parse(&format!("len{i:02}"), &text).unwrap();
    }
    for i in 0..12 {
        let out = t.execute(&format!("len.{i:02}"), &d);
        assert_eq!(out.unwrap(), format!("{i:02}"));
    }
}

#[test]
fn limits_stop_runaway_templates() {
    let mut t = set();
    t.parse("rec", r#"{{define "r"}}x{{template "r" .}}{{end}}{{template "r" .}}"#)
        .unwrap();
    let e = t.execute("rec", &Value::Nil).unwrap_err();
    assert!(e.message.contains("exceeded maximum template depth"), "{}", e.message);

    let mut t = set();
    t.limits(Limits {
        max_output: 1000,
        ..Limits::default()
    });
    t.parse("big", "{{range 2000}}ab{{end}}").unwrap();
    let e = t.execute("big", &Value::Nil).unwrap_err();
    assert!(
        e.message.contains("output exceeds the limit of 1000 bytes"),
        "{}",
        e.message
    );
    t.parse("grow", "{{$x := \"ab\"}}{{range 30}}{{$x = print $x $x}}{{end}}")
        .unwrap();
    let e = t.execute("grow", &Value::Nil).unwrap_err();
    assert!(e.message.contains("exceeds the output limit"), "{}", e.message);

    let mut t = set();
    t.limits(Limits {
        max_iterations: 100,
        ..Limits::default()
    });
    t.parse("it", "{{range 50}}{{range 50}}{{end}}{{end}}").unwrap();
    let e = t.execute("it", &Value::Nil).unwrap_err();
    assert!(
        e.message.contains("range iterations exceed the limit of 100"),
        "{}",
        e.message
    );

    let mut t = set();
    t.limits(Limits {
        time_budget: Duration::from_millis(50),
        ..Limits::default()
    });
    t.parse("slow", "{{range 100000000}}{{end}}").unwrap();
    let e = t.execute("slow", &Value::Nil).unwrap_err();
    assert!(e.message.contains("time budget"), "{}", e.message);
    // A budget of one execution's own, within the set's.
    let mut t = set();
    t.limits(Limits {
        max_iterations: 1 << 40,
        ..Limits::default()
    });
    t.parse("slow", "{{range 100000000}}{{end}}").unwrap();
    let e = t
        .execute_within("slow", &Value::Nil, Duration::from_millis(20))
        .unwrap_err();
    assert!(e.message.contains("time budget of 20ms"), "{}", e.message);

    let mut t = set();
    t.parse("inc", r#"{{define "i"}}{{include "i" .}}{{end}}{{include "i" .}}"#)
        .unwrap();
    let e = t.execute("inc", &Value::Nil).unwrap_err();
    let tail = &e.message[e.message.len().saturating_sub(300)..];
    assert!(e.message.contains("exceeded maximum template depth"), "{}", tail);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let mut t = set();
    let deep = format!(
        "{}1{}",
        "{{".to_string() + &"(".repeat(100_000),
        ")".repeat(100_000) + "}}"
    );
    let e = t.parse("deep", &deep).unwrap_err();
    assert!(e.message.contains("nesting too deep"), "{}", e.message);
    let deep_if = "{{if 1}}".repeat(100_000);
    let e = t.parse("deepif", &deep_if).unwrap_err();
    assert!(e.message.contains("nesting too deep"), "{}", e.message);
}

#[test]
fn tpl_runs_its_own_text_even_when_empty() {
    let mut t = set();
    t.parse("x", "X").unwrap();
    t.parse("main", "[{{ tpl \"\" . }}][{{ tpl \"  \" . }}]").unwrap();
    assert_eq!(t.execute("main", &Value::Nil).unwrap(), "[][  ]");
}

/// `n` files of about 2 KiB each: definitions (some redefined by later files, one emptily),
/// files that call them, and files of the same text; with `broken`, the files at those
/// indexes hold the given text instead.
fn many_files(n: usize, broken: &[(usize, &str)]) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let name = format!("f{i:03}.yaml");
            let text = match broken.iter().find(|(at, _)| *at == i) {
                Some((_, text)) => text.to_string(),
                None if i % 7 == 3 => format!("{{{{define \"shared\"}}}}{}{{{{end}}}}\n", "same text\n".repeat(200)),
                None if i % 5 == 0 => format!(
                    "{{{{define \"d{}\"}}}}from {i}: {{{{.V | printf \"%q\"}}}}{{{{end}}}}{{{{define \"e\"}}}}{}{{{{end}}}}\n{}",
                    i % 10,
                    if i % 15 == 0 { String::new() } else { format!("e of {i}") },
                    "# filler line of text between actions\n".repeat(50)
                ),
                None => format!(
                    "{}{{{{- range $k, $v := .L }}}}\n{{{{ $k }}}}={{{{ $v }}}} {{{{ template \"d{}\" $ }}}}{{{{ end }}}}\n",
                    "text {{ .V }} and {{ \"a string\" | upper }}\n".repeat(40),
                    (i % 2) * 5
                ),
            };
            (name, text)
        })
        .collect()
}

/// Every template of a set, executed, in name order (errors as their message).
fn run_all(t: &Templates) -> Vec<(String, String)> {
    let mut names: Vec<String> = t.names().map(str::to_string).collect();
    names.sort();
    let data = map(vec![("V", s("v")), ("L", list(vec![s("x"), s("y")]))]);
    names
        .into_iter()
        .map(|n| {
            let out = t.execute(&n, &data).unwrap_or_else(|e| e.message);
            (n, out)
        })
        .collect()
}

#[test]
fn files_lexed_ahead_parse_as_one_by_one() {
    for n in [1, 3, 200] {
        let files = many_files(n, &[]);
        let total: usize = files.iter().map(|(_, t)| t.len()).sum();
        if n == 200 {
            assert!(
                total >= ballast_gotemplate::LEX_AHEAD_BYTES,
                "{total} bytes lex on one thread"
            );
        }
        let mut ahead = set();
        ahead.parse_files(files.clone()).unwrap();
        assert_parses_as_one_by_one(&ahead, files, &format!("{n} files"));
    }
}

/// `set` holds what parsing `files` one by one gives: the same templates (more than there are
/// files: each file defines some), each with the same output and the same tree.
fn assert_parses_as_one_by_one(set_: &Templates, files: Vec<(String, String)>, label: &str) {
    let n = files.len();
    let mut one_by_one = set();
    for (name, text) in files {
        one_by_one.parse_owned(&name, text).unwrap();
    }
    let (a, b) = (run_all(set_), run_all(&one_by_one));
    assert_eq!(a.len(), b.len(), "{label}");
    assert!(a.len() > n, "{label}: {} templates", a.len());
    assert_eq!(a, b, "{label}");
    for (name, _) in &a {
        assert_eq!(set_.canonical(name), one_by_one.canonical(name), "{label}: {name}");
    }
}

#[test]
fn files_lexed_ahead_fail_at_the_first_bad_file() {
    // A parse error, a lex error (an unclosed action) and a bad function, each first or
    // behind another bad file; the error is the first bad file's, as one by one.
    let cases: &[&[(usize, &str)]] = &[
        &[(120, "ok {{ if .V }}no end")],
        &[(57, "{{ .V "), (130, "{{ if }}")],
        &[(0, "{{ nosuchfunction . }}")],
        &[(199, "{{ end }}")],
        &[(80, "{{/* unclosed comment }}"), (81, "{{ .V ")],
    ];
    for broken in cases {
        let files = many_files(200, broken);
        let total: usize = files.iter().map(|(_, t)| t.len()).sum();
        assert!(
            total >= ballast_gotemplate::LEX_AHEAD_BYTES,
            "{total} bytes lex on one thread"
        );
        let first = broken.iter().map(|(i, _)| *i).min().unwrap();
        let (name, err) = set().parse_files(files.clone()).unwrap_err();
        assert_eq!(name, format!("f{first:03}.yaml"));
        let mut one_by_one = set();
        let expected = files
            .into_iter()
            .find_map(|(name, text)| one_by_one.parse_owned(&name, text).err())
            .unwrap();
        assert_eq!(err, expected, "{broken:?}");
        assert!(err.message.contains(&name), "{}", err.message);
    }
}

#[test]
fn lexer_start_runs_on_the_lexer_thread_only_when_there_is_one() {
    for (n, thread) in [(3, None), (200, Some("template-lex"))] {
        let ran_on = std::sync::Mutex::new(None);
        let mut t = set();
        t.parse_files_with(many_files(n, &[]), || {
            *ran_on.lock().unwrap() = Some(std::thread::current().name().map(str::to_string));
        })
        .unwrap();
        let ran_on = ran_on.into_inner().unwrap();
        assert_eq!(ran_on, thread.map(|name| Some(name.to_string())), "{n} files");
    }
}

/// A [`LexAhead`] of `files`, keyed by index, queued in `queued` order (indexes; an index
/// given twice is queued once), with `start` run first on its thread.
fn lex_ahead_of(
    files: &[(String, String)],
    queued: &[usize],
    start: impl FnOnce() + Send + 'static,
) -> ballast_gotemplate::LexAhead<usize> {
    let texts = queued
        .iter()
        .map(|&i| {
            let text = files[i].1.clone();
            let source: ballast_gotemplate::Source = Box::new(move || text);
            (i, source)
        })
        .collect();
    ballast_gotemplate::LexAhead::start(texts, start)
}

/// `then` runs once on the thread after its last text: every text is lexed by then (a
/// parse finds them all, the thread gone), and it runs too when the texts are dropped.
#[test]
fn a_lex_ahead_runs_its_then_once_after_the_texts() {
    let files = many_files(40, &[]);
    let order: Vec<usize> = (0..files.len()).collect();
    let texts = |files: &[(String, String)]| -> Vec<(usize, ballast_gotemplate::Source)> {
        order
            .iter()
            .map(|&i| {
                let text = files[i].1.clone();
                let source: ballast_gotemplate::Source = Box::new(move || text);
                (i, source)
            })
            .collect()
    };
    let (tx, rx) = std::sync::mpsc::channel::<&str>();
    let done = tx.clone();
    let ahead = ballast_gotemplate::LexAhead::start_then(
        texts(&files),
        || {},
        move || {
            let _ = done.send("then");
        },
    );
    assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(30)), Ok("then"));
    let mut from_ahead = set();
    for (i, (name, text)) in files.iter().enumerate() {
        from_ahead.parse_ahead(name, &i, &ahead, || text.clone()).unwrap();
    }
    assert_parses_as_one_by_one(&from_ahead, files.clone(), "all lexed before then");
    // Dropped before the thread may start: `then` still runs, once.
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let dropped = ballast_gotemplate::LexAhead::start_then(
        texts(&files),
        move || {
            let _ = wait.recv();
        },
        move || {
            let _ = tx.send("then, dropped");
        },
    );
    drop(dropped);
    let _ = go.send(());
    assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(30)), Ok("then, dropped"));
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(200)).is_err(),
        "then ran twice"
    );
}

#[test]
fn files_parsed_from_a_lex_ahead_parse_as_one_by_one() {
    let files = many_files(120, &[]);
    let n = files.len();
    // Queued in the parse order, in reverse, partly, with a key twice; some texts dropped
    // before the parse (as a disabled subchart's), some never given.
    let forward: Vec<usize> = (0..n).collect();
    let reverse: Vec<usize> = (0..n).rev().collect();
    let partial: Vec<usize> = (0..n).filter(|i| i % 3 != 1).chain([4, 4, 10]).collect();
    for (case, queued) in [("forward", forward), ("reverse", reverse), ("partial", partial)] {
        // The thread waits until the parse has begun, so that the parse meets texts lexed,
        // being lexed and not yet reached.
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let ahead = lex_ahead_of(&files, &queued, move || {
            let _ = wait.recv();
        });
        ahead.retain(|k| k % 11 != 5);
        let mut from_ahead = set();
        for (i, (name, text)) in files.iter().enumerate() {
            if i == n / 3 {
                let _ = go.send(());
            }
            from_ahead.parse_ahead(name, &i, &ahead, || text.clone()).unwrap();
        }
        assert_parses_as_one_by_one(&from_ahead, files.clone(), case);
    }
}

#[test]
fn a_parse_from_a_lex_ahead_fails_as_one_by_one() {
    // A lex error (an unclosed action), a parse error, a bad function, a bad comment.
    for bad in [
        "{{ .V ",
        "{{ if }}",
        "{{ nosuchfunction . }}",
        "{{/* unclosed comment }}",
    ] {
        let files = many_files(60, &[(37, bad)]);
        let queued: Vec<usize> = (0..files.len()).collect();
        let ahead = lex_ahead_of(&files, &queued, || {});
        let mut t = set();
        let err = files
            .iter()
            .enumerate()
            .find_map(|(i, (name, text))| t.parse_ahead(name, &i, &ahead, || text.clone()).err())
            .expect("an error");
        let mut one_by_one = set();
        let expected = files
            .into_iter()
            .find_map(|(name, text)| one_by_one.parse_owned(&name, text).err())
            .expect("an error");
        assert_eq!(err, expected, "{bad}");
        assert!(err.message.contains("f037.yaml"), "{}", err.message);
    }
}

#[test]
fn a_lex_ahead_dropped_makes_no_more_texts() {
    // Each source holds a sender and says when it is called; the thread waits in its start
    // until the set of texts is dropped.
    let (called_tx, called) = std::sync::mpsc::channel::<usize>();
    let texts = (0..50)
        .map(|i| {
            let tx = called_tx.clone();
            let source: ballast_gotemplate::Source = Box::new(move || {
                let _ = tx.send(i);
                format!("text {i}")
            });
            (i, source)
        })
        .collect();
    drop(called_tx);
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let ahead = ballast_gotemplate::LexAhead::start(texts, move || {
        let _ = wait.recv();
    });
    drop(ahead);
    let _ = go.send(());
    // Every sender is gone (the sources were dropped, none called) once the queue is emptied.
    match called.recv_timeout(std::time::Duration::from_secs(30)) {
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {}
        other => panic!("a text was made after the drop: {other:?}"),
    }
}

/// A set made from the parses another set kept ([`Templates::from_parses`]) does not parse a
/// text it knows again, yet gives each file its own name: the same output, and errors that
/// name the file of this set, as a fresh parse would.
#[test]
fn kept_parses_serve_the_next_set_under_its_own_names() {
    const TEXT: &str = "{{define \"greet\"}}hi {{.}}{{end}}{{template \"greet\" .who}} {{index .list 5}}";
    let data = |n: usize| {
        map(vec![
            ("who", s("you")),
            ("list", list((0..n as i64).map(Value::Int).collect())),
        ])
    };
    let mut first = set();
    first.parse("a/templates/x.yaml", TEXT).unwrap();
    assert_eq!(first.execute("a/templates/x.yaml", &data(6)).unwrap(), "hi you 5");
    let parses = first.take_parses();
    assert!(parses.knows(TEXT));
    assert!(!parses.knows("{{.}}"));
    assert!(parses.text_bytes() >= TEXT.len());

    let mut second = Templates::from_parses(parses);
    second.missing_key(MissingKey::Zero);
    assert!(second.knows(TEXT));
    second.parse("b/templates/y.yaml", TEXT).unwrap();
    assert!(second.has("greet"));
    assert!(
        !second.has("a/templates/x.yaml"),
        "a kept parse adds no template of its own"
    );
    assert_eq!(second.execute("b/templates/y.yaml", &data(6)).unwrap(), "hi you 5");
    let err = second.execute("b/templates/y.yaml", &data(2)).unwrap_err().message;
    let mut fresh = set();
    fresh.parse("b/templates/y.yaml", TEXT).unwrap();
    let want = fresh.execute("b/templates/y.yaml", &data(2)).unwrap_err().message;
    assert_eq!(err, want);
    assert!(err.starts_with("template: b/templates/y.yaml:1:"), "{err}");

    // A text it does not know is parsed as in any set, its errors as a fresh parse's.
    let bad = "{{ if }}";
    let kept_err = second.parse("b/templates/z.yaml", bad).unwrap_err().message;
    let fresh_err = set().parse("b/templates/z.yaml", bad).unwrap_err().message;
    assert_eq!(kept_err, fresh_err);
}

/// A text parsed before under one file name does not serve a file of another name when it
/// defines a template of that name: that file's parse fails as a fresh one does.
#[test]
fn a_kept_parse_of_a_text_defining_the_files_name_is_not_reused() {
    const TEXT: &str = "{{- define \"b/x.yaml\" }}x: 1{{ end }}y: 2\n";
    let mut fresh = set();
    let want = fresh.parse("b/x.yaml", TEXT).unwrap_err().message;
    assert!(want.contains("multiple definition of template"), "{want}");

    // In the same set, after a file of the same text under another name.
    let mut same = set();
    same.parse("a/x.yaml", TEXT).unwrap();
    assert_eq!(same.parse("b/x.yaml", TEXT).unwrap_err().message, want);

    // In a set made from the parses of the first.
    let mut first = set();
    first.parse("a/x.yaml", TEXT).unwrap();
    let mut second = Templates::from_parses(first.take_parses());
    assert_eq!(second.parse("b/x.yaml", TEXT).unwrap_err().message, want);
}
