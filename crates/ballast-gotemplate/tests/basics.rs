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

/// Outputs and errors probed with `helm template` (Go 1.25's text/template, missingkey=zero),
/// on values as Helm loads them (numbers are float64).
#[test]
fn helm_probed() {
    let v = map(vec![
        ("str", s("abc")),
        ("l", list(vec![Value::Float(1.0), Value::Float(2.0)])),
        ("nul", Value::Nil),
    ]);
    let d = map(vec![("Values", v)]);
    let ok = |src: &str, want: &str| assert_eq!(run_with(src, &d, true).as_deref(), Ok(want), "{src}");
    let err = |src: &str, want: &str| {
        let e = run_with(src, &d, true).unwrap_err();
        assert!(e.ends_with(want), "{src}: {e}");
    };
    ok(
        "a: {{ range $i := 3 }}{{ $i }}{{ end }} {{ range 0 }}x{{ else }}none{{ end }} {{ with .Values.zz }}a{{ else with .Values.str }}{{ . }}{{ else }}c{{ end }}",
        "a: 012 none abc",
    );
    err(
        "a: {{ range $i, $e := 3 }}{{ $i }}{{ end }}",
        "t:1:22: executing \"t\" at <3>: can't use 3 to iterate over more than one variable",
    );
    err(
        "a: {{ range .Values.str }}{{ end }}",
        "t:1:19: executing \"t\" at <.Values.str>: range can't iterate over abc",
    );
    ok(
        "a: {{ range $k, $v := .Values.l }}{{ $k }}{{ $v }}{{ end }} {{ range -2 }}x{{ else }}neg{{ end }}",
        "a: 0112 neg",
    );
    ok("a: {{ $x := 1 }}{{ range $x = .Values.l }}{{ end }}{{ $x }}", "a: 2");
    ok(
        "a: {{ printf \"%v %s %d\" .Values.nul .Values.l .Values.l }} {{ print .Values.nul \"a\" .Values.nul 1 2 }}",
        "a: <nil> [%!s(float64=1) %!s(float64=2)] [%!d(float64=1) %!d(float64=2)] <nil>a<nil> 1 2",
    );
    err(
        "a: {{ .Values.l.x }}",
        "t:1:13: executing \"t\" at <.Values.l.x>: can't evaluate field x in type interface {}",
    );
    err(
        "a: {{ .Values.nope.x }}",
        "t:1:13: executing \"t\" at <.Values.nope.x>: nil pointer evaluating interface {}.x",
    );
    ok(
        "a: {{ template \"zz\" }}{{ define \"zz\" }}{{ .x }}{{ end }}",
        "a: <no value>",
    );
    err(
        "a: {{ (index .Values.l 0).x }}",
        "t:1:23: executing \"t\" at <0>: can't evaluate field x in type float64",
    );
    err(
        "a: {{ eq .Values.l .Values.l }}",
        "error calling eq: non-comparable type [%!s(float64=1) %!s(float64=2)]: []interface {}",
    );
    err(
        "a: {{ index .Values.l 2 }}",
        "error calling index: reflect: slice index out of range",
    );
    err(
        "a: {{ index .Values.l 5 }}",
        "error calling index: index out of range: 5",
    );
    err(
        "a: {{ lt .Values.nul 1 }}",
        "error calling lt: invalid type for comparison",
    );
    err(
        "a: {{ eq 1 .Values.str }}",
        "error calling eq: incompatible types for comparison: int and string",
    );
    err("a: {{ len .Values.nope }}", "error calling len: len of nil pointer");
    err(
        "a: {{ call .Values.str }}",
        "error calling call: non-function .Values.str of type string",
    );
    err("{{ $x = 1 }}", "t:1:8: executing \"t\" at <1>: undefined variable: $x");
    ok(
        "a: {{ eq .Values.nul 1 }} {{ eq 1 .Values.nul }} {{ ne .Values.nul \"\" }}",
        "a: false false true",
    );
}

struct Cert {
    cert: String,
}

impl ballast_gotemplate::Object for Cert {
    fn type_name(&self) -> String {
        "sprig.certificate".into()
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(s(&self.cert)),
            "Key" => Some(s("KEY")),
            _ => None,
        }
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "Has" => Some(Ok(Value::Bool(args.first().and_then(Value::as_str) == Some("v1")))),
            "Fail" => Some(Err("method failed".into())),
            _ => None,
        }
    }
    fn fmt_go(&self) -> String {
        format!("{{{} KEY}}", self.cert)
    }
    fn to_data(&self) -> Value {
        Value::Nil
    }
}

#[test]
fn objects_fields_and_methods() {
    let o = Value::Object(std::rc::Rc::new(Cert { cert: "PEM".into() }));
    let d = map(vec![("c", o.clone())]);
    let ok = |src: &str, want: &str| assert_eq!(run_with(src, &d, true).as_deref(), Ok(want), "{src}");
    let err = |src: &str, want: &str| {
        let e = run_with(src, &d, true).unwrap_err();
        assert!(e.ends_with(want), "{src}: {e}");
    };
    ok(
        "{{ .c.Cert }} {{ .c.Key }} {{ .c }} {{ printf \"%T %v\" .c .c }}",
        "PEM KEY {PEM KEY} sprig.certificate {PEM KEY}",
    );
    ok(
        "{{ .c.Has \"v1\" }} {{ .c.Has \"v2\" }} {{ \"v1\" | .c.Has }} {{ $c := .c }}{{ $c.Cert }}",
        "true false true PEM",
    );
    ok("{{ with .c }}{{ .Key }}{{ end }} {{ if .c }}yes{{ end }}", "KEY yes");
    err(
        "{{ .c.Nope }}",
        "at <.c.Nope>: can't evaluate field Nope in type interface {}",
    );
    err(
        "{{ $c := .c }}{{ $c.Nope }}",
        "at <$c.Nope>: can't evaluate field Nope in type sprig.certificate",
    );
    err("{{ .c.Fail }}", "at <.c.Fail>: error calling Fail: method failed");
    err(
        "{{ .c.Cert 1 }}",
        "at <.c.Cert>: Cert has arguments but cannot be invoked as function",
    );
    err("{{ len .c }}", "error calling len: len of type sprig.certificate");
}

/// A number constant spelt as a float with a whole value (`1e3`, `2.0`, `0x1p4`) fits an
/// integer parameter, as Go's parser makes it an integer too (`NumberNode.IsInt`; checked with
/// `helm template`: `seq 1e3` prints 1 to 1000); one with a fraction, out of `int64`, or piped
/// as a value (a float64 then) does not.
#[test]
fn integral_float_constants_fit_integer_parameters() {
    use ballast_gotemplate::{Args, Arity, FuncMap, Templates};
    let mut f = FuncMap::new();
    f.pure("times", Arity::Exact(2), |a| {
        let n = Args::int(&a[0])?;
        let s = Args::string(&a[1])?;
        Ok(Value::from(s.repeat(n.clamp(0, 100) as usize)))
    });
    let mut t = Templates::new(std::rc::Rc::new(f));
    let d = map(vec![]);
    let mut run = |src: &str| {
        t.parse("t", src).unwrap();
        t.execute("t", &d).map_err(|e| e.message)
    };
    for (src, want) in [
        ("{{ times 3.0 \"ab\" }}", "ababab"),
        ("{{ times 1e1 \"x\" }}", "xxxxxxxxxx"),
        ("{{ times 0x1p2 \"y\" }}", "yyyy"),
        ("{{ times -0.0 \"z\" }}", ""),
    ] {
        assert_eq!(run(src).as_deref(), Ok(want), "{src}");
    }
    for (src, want) in [
        (
            "{{ times 1.5 \"x\" }}",
            "template: t:1:9: executing \"t\" at <1.5>: expected integer; found 1.5",
        ),
        (
            "{{ times 1e19 \"x\" }}",
            "template: t:1:9: executing \"t\" at <1e19>: expected integer; found 1e19",
        ),
        (
            "{{ \"x\" | times 2.0 | times 1.5 }}",
            "template: t:1:27: executing \"t\" at <1.5>: expected integer; found 1.5",
        ),
    ] {
        assert_eq!(run(src).unwrap_err(), want, "{src}");
    }
}

/// A function rejecting an argument's type fails as Go's argument evaluation does (probed
/// with `helm template` using sprig's `upper(string)` and `trunc(int, string)`).
#[test]
fn argument_type_errors_name_the_argument() {
    use ballast_gotemplate::{Args, Arity, FuncMap, MissingKey, Templates};
    let mut f = FuncMap::new();
    f.pure("upper", Arity::Exact(1), |a| {
        Ok(Value::from(Args::string(&a[0])?.to_uppercase()))
    });
    f.pure("trunc", Arity::Exact(2), |a| {
        let n = Args::int(&a[0])?;
        let s = Args::string(&a[1])?;
        Ok(Value::from(s.chars().take(n.max(0) as usize).collect::<String>()))
    });
    let mut t = Templates::new(std::rc::Rc::new(f));
    t.missing_key(MissingKey::Zero);
    let values = map(vec![("one", Value::Float(1.0)), ("nul", Value::Nil), ("str", s("abc"))]);
    let d = map(vec![("Values", values)]);
    let run = |t: &mut Templates, src: &str| {
        t.parse("t", src).unwrap();
        t.execute("t", &d).unwrap_err().message
    };
    let cases = [
        (
            "a: {{ upper .Values.one }}",
            "t:1:19: executing \"t\" at <.Values.one>: wrong type for value; expected string; got float64",
        ),
        (
            "a: {{ .Values.one | upper }}",
            "t:1:20: executing \"t\" at <upper>: wrong type for value; expected string; got float64",
        ),
        (
            "a: {{ upper .Values.nul }}",
            "t:1:19: executing \"t\" at <.Values.nul>: wrong type for value; expected string; got interface {}",
        ),
        (
            "a: {{ trunc .Values.one \"abc\" }}",
            "t:1:19: executing \"t\" at <.Values.one>: wrong type for value; expected int; got float64",
        ),
        (
            "a: {{ trunc \"x\" \"abc\" }}",
            "t:1:12: executing \"t\" at <\"x\">: expected integer; found \"x\"",
        ),
        (
            "a: {{ upper 1 }}",
            "t:1:12: executing \"t\" at <1>: expected string; found 1",
        ),
        (
            "a: {{ upper nil }}",
            "t:1:12: executing \"t\" at <nil>: cannot assign nil to string",
        ),
        (
            "a: {{ printf .Values.nul 1 }}",
            "t:1:20: executing \"t\" at <.Values.nul>: wrong type for value; expected string; got interface {}",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(run(&mut t, src), format!("template: {want}"), "{src}");
    }
}

/// With arguments of the wrong type in several places, the error is the one Go's evaluator
/// meets first: explicit arguments in order, then the piped value, whatever order the
/// function checks its parameters in; a parenthesized pipeline is reported at the node
/// evaluated last inside it (each checked with `helm template`, sprig's `plural(one, many
/// string, count int)` and `repeat(count int, str string)`, here checking their parameters
/// last to first).
#[test]
fn argument_type_errors_come_in_go_order() {
    use ballast_gotemplate::{Args, Arity, FuncMap, MissingKey, Templates};
    let mut f = FuncMap::new();
    f.pure("plural", Arity::Exact(3), |a| {
        let n = Args::int(&a[2])?;
        let (one, many) = (Args::string(&a[1])?, Args::string(&a[0])?);
        Ok(Value::from(if n == 1 { one } else { many }))
    });
    f.pure("repeat", Arity::Exact(2), |a| {
        let s = Args::string(&a[1])?;
        let n = Args::int(&a[0])?;
        Ok(Value::from(s.repeat(n.clamp(0, 10) as usize)))
    });
    f.pure("list", Arity::AtLeast(0), |a| Ok(Value::list(a.to_vec())));
    let mut t = Templates::new(std::rc::Rc::new(f));
    t.missing_key(MissingKey::Zero);
    let d = map(vec![]);
    let run = |t: &mut Templates, src: &str| {
        t.parse("t", src).unwrap();
        t.execute("t", &d).unwrap_err().message
    };
    let cases = [
        (
            "{{ \"x\" | plural \"one\" \"many\" }}",
            "t:1:22: executing \"t\" at <\"many\">: wrong type for value; expected int; got string",
        ),
        (
            "{{ plural \"one\" \"many\" \"x\" }}",
            "t:1:23: executing \"t\" at <\"x\">: expected integer; found \"x\"",
        ),
        (
            "{{ 3 | repeat \"ab\" }}",
            "t:1:14: executing \"t\" at <\"ab\">: expected integer; found \"ab\"",
        ),
        (
            "{{ repeat 2 (list 1 2) }}",
            "t:1:20: executing \"t\" at <2>: wrong type for value; expected string; got []interface {}",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(run(&mut t, src), format!("template: {want}"), "{src}");
    }
}
