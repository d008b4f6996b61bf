//! Core behaviour checked against Go's text/template (and `helm template`) outputs.

mod common;
use ballast_gotemplate::Value;
use common::*;

fn data() -> Value {
    map(vec![
        ("a", s("x")),
        ("n", Value::Float(3.0)),
        ("i", Value::Int(3)),
        ("l", list(vec![s("p"), s("q")])),
        ("m", map(vec![("k2", Value::Int(2)), ("k1", Value::Int(1))])),
        ("nul", Value::Nil),
        ("yes", Value::Bool(true)),
    ])
}

fn ok(src: &str, want: &str) {
    assert_eq!(run(src, &data()).as_deref(), Ok(want), "{src}");
}

fn okz(src: &str, want: &str) {
    assert_eq!(run_with(src, &data(), true).as_deref(), Ok(want), "{src}");
}

fn err(src: &str, want: &str) {
    assert_eq!(run(src, &data()).err().as_deref(), Some(want), "{src}");
}

fn errz(src: &str, want: &str) {
    assert_eq!(run_with(src, &data(), true).err().as_deref(), Some(want), "{src}");
}

#[test]
fn text_and_actions() {
    ok("hello", "hello");
    ok("{{.a}}", "x");
    ok("a {{- \" b \" -}} c", "a b c");
    ok("{{/* c */}}x{{- /* c */ -}} y", "xy");
    ok("{{-3}}", "-3");
    ok(
        "{{ 1e3 }} {{ 0x10 }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 'a' }} {{ 1.5 }}",
        "1000 16 15 5 1000 97 1.5",
    );
    ok("{{ `raw\\n` }}{{ \"q\\t\" }}", "raw\\nq\t");
    ok("{{ .missing }}", "<no value>");
    ok("{{ .nul }}", "<no value>");
    ok("{{ .l }} {{ .m }}", "[p q] map[k1:1 k2:2]");
    ok("{{ .n }}", "3");
}

#[test]
fn pipelines_and_functions() {
    ok("{{ 1 | printf \"%v-%v\" 2 }}", "2-1");
    ok("{{ .a | upper }}", "X");
    ok("{{ (upper .a) }}{{ (dict \"k\" 5).k }}", "X5");
    ok(
        "{{ and 1 0 }} {{ or \"\" \"b\" }} {{ and 1 2 }} {{ or 0 \"\" }}",
        "0 b 2 ",
    );
    ok("{{ and false .missing.x }}", "false");
    ok(
        "{{ not 0 }} {{ len .l }} {{ index .l 1 }} {{ index .m \"k1\" }}",
        "true 2 q 1",
    );
    ok("{{ slice .l 1 }} {{ slice \"abc\" 1 2 }}", "[q] b");
    ok("{{ print 1 2 \"a\" 3 }}|{{ println 1 \"a\" }}|", "1 2a3|1 a\n|");
    ok(
        "{{ html \"<a'>\" }} {{ js \"a'b<\" }} {{ urlquery \"a b&c\" }}",
        "&lt;a&#39;&gt; a\\'b\\u003C a+b%26c",
    );
    ok(
        "{{ eq 1 1 }} {{ eq 1 2 3 1 }} {{ ne \"a\" \"b\" }} {{ lt 1 2 }} {{ ge 2.5 2.5 }}",
        "true true true true true",
    );
    ok("{{ eq .nul nil }} {{ eq .i 3 }}", "true true");
    ok(
        "{{ printf \"%d %s %q %5.2f %x %T %v\" 3 \"s\" \"q\" 3.14159 255 1.5 .nul }}",
        "3 s \"q\"  3.14 ff float64 <nil>",
    );
    ok(
        "{{ printf \"%d\" 1.0 }} {{ printf \"%v\" }} {{ printf \"%d\" 1 3 }}",
        "%!d(float64=1) %!v(MISSING) 1%!(EXTRA int=3)",
    );
}

#[test]
fn variables_and_control() {
    ok("{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}", "12");
    ok("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2");
    ok("{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}", "A");
    ok("{{ if .b }}A{{ else if .a }}B{{ else }}C{{ end }}", "B");
    ok(
        "{{ with .a }}{{ . }}{{ end }}{{ with .b }}x{{ else with .a }}{{ . }}y{{ end }}",
        "xxy",
    );
    ok("{{ range .l }}{{ . }}{{ end }}", "pq");
    ok("{{ range $i, $e := .l }}{{ $i }}={{ $e }},{{ end }}", "0=p,1=q,");
    ok("{{ range $k, $v := .m }}{{ $k }}={{ $v }},{{ end }}", "k1=1,k2=2,");
    ok("{{ range 3 }}{{ . }}{{ end }}", "012");
    ok("{{ range .none }}x{{ else }}empty{{ end }}", "empty");
    ok(
        "{{ range .l }}{{ if eq . \"q\" }}{{ break }}{{ end }}{{ . }}{{ end }}",
        "p",
    );
    ok(
        "{{ range .l }}{{ if eq . \"p\" }}{{ continue }}{{ end }}{{ . }}{{ end }}",
        "q",
    );
    ok("{{ range $i, $e := .l }}{{ $.a }}{{ end }}", "xx");
    ok("{{ define \"d\" }}D{{ . }}{{ end }}{{ template \"d\" .a }}", "Dx");
    ok("{{ block \"b\" .a }}B{{ . }}{{ end }}", "Bx");
    ok(
        "{{ define \"d\" }}[{{ . }}]{{ end }}{{ include \"d\" 5 | upper }}",
        "[5]",
    );
    ok("{{ tpl \"{{ .a }}{{ define \\\"zz\\\" }}{{ end }}\" . }}", "x");
}

#[test]
fn missing_keys_zero() {
    okz("{{ .missing }}", "<no value>");
    errz(
        "{{ .missing.x }}",
        "template: t:1:11: executing \"t\" at <.missing.x>: nil pointer evaluating interface {}.x",
    );
    errz(
        "{{ .a.x }}",
        "template: t:1:5: executing \"t\" at <.a.x>: can't evaluate field x in type interface {}",
    );
    ok("{{ .missing.x }}", "<no value>");
}

#[test]
fn errors() {
    err("{{ foo }}", "template: t:1: function \"foo\" not defined");
    err(
        "{{ upper 1 2 }}",
        "template: t:1:3: executing \"t\" at <upper>: wrong number of args for upper: want 1 got 2",
    );
    err(
        "{{ fail }}",
        "template: t:1:3: executing \"t\" at <fail>: error calling fail: it failed",
    );
    err(
        "{{ eq .n 1 }}",
        "template: t:1:3: executing \"t\" at <eq .n 1>: error calling eq: incompatible types for comparison: float64 and int",
    );
    err(
        "{{ range .a }}{{ end }}",
        "template: t:1:9: executing \"t\" at <.a>: range can't iterate over x",
    );
    err("{{ if }}", "template: t:1: missing value for if");
    err("{{ end }}", "template: t:1: unexpected {{end}}");
    err(
        "{{ 100000000000000000000 }}",
        "template: t:1: integer overflow: \"100000000000000000000\"",
    );
    err(
        "{{ template \"nope\" }}",
        "template: t:1:12: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined",
    );
    err("{{ $x }}", "template: t:1: undefined variable \"$x\"");
    err("{{ break }}", "template: t:1: {{break}} outside {{range}}");
}
