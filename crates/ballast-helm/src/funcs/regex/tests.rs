//! Expected values from `helm template` probes and from Go's regexp.

#[path = "go_cases.rs"]
mod go_cases;

use super::test_support::{call, call_err};
use super::*;
use go_cases::GO_CASES;

fn funcs() -> FuncMap {
    let mut m = FuncMap::new();
    register(&mut m);
    m
}

fn s(m: &FuncMap, name: &str, args: &[Value]) -> String {
    call(m, name, args).to_string()
}

#[test]
fn match_and_find() {
    let m = funcs();
    assert_eq!(s(&m, "regexMatch", &["(".into(), "x".into()]), "false");
    assert_eq!(s(&m, "regexMatch", &["^a.c$".into(), "abc".into()]), "true");
    assert_eq!(s(&m, "mustRegexMatch", &["b".into(), "abc".into()]), "true");
    assert_eq!(
        call_err(&m, "mustRegexMatch", &["(".into(), "x".into()]),
        "error parsing regexp: missing closing ): `(`"
    );
    assert_eq!(s(&m, "regexFind", &["b+".into(), "abbbc".into()]), "bbb");
    assert_eq!(s(&m, "regexFind", &["z".into(), "abc".into()]), "");
    assert_eq!(
        call_err(&m, "regexFind", &["(".into(), "x".into()]),
        "regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"
    );
    assert_eq!(
        call_err(&m, "mustRegexFind", &["(".into(), "x".into()]),
        "error parsing regexp: missing closing ): `(`"
    );
}

#[test]
fn find_all() {
    let m = funcs();
    let fa = |p: &str, t: &str, n: i64| s(&m, "regexFindAll", &[p.into(), t.into(), Value::Int(n)]);
    assert_eq!(fa("a.", "abacad", -1), "[ab ac ad]");
    assert_eq!(fa("a.", "abacad", 2), "[ab ac]");
    assert_eq!(fa("a.", "abacad", 0), "[]");
    assert_eq!(fa("x*", "abc", -1), "[   ]");
    assert_eq!(fa("", "abc", -1), "[   ]");
    // From Go's regexp: empty matches right after a match are skipped.
    let q = |p: &str, t: &str| {
        let Value::List(l) = call(&m, "regexFindAll", &[p.into(), t.into(), Value::Int(-1)]) else {
            panic!()
        };
        l.iter().map(|v| v.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(q("a*", "baaac"), ["", "aaa", ""]);
    assert_eq!(q("a|", "baaac"), ["", "a", "a", "a", ""]);
    assert_eq!(q("b*", "abbbcb"), ["", "bbb", "b"]);
    assert_eq!(q(r"\w+", "héllo wörld_1"), ["h", "llo", "w", "rld_1"]);
    assert_eq!(q(r"\d", "1٣2"), ["1", "2"]);
    assert_eq!(q(r"\bx", "éx x"), ["x", "x"]);
    assert_eq!(q("[[:alpha:]]+", "ab1c"), ["ab", "c"]);
    assert_eq!(q(r"\s+", "a\u{a0}b c"), [" "]);
    assert_eq!(q(r"[]a]+", "x]a]y"), ["]a]"]);
    assert_eq!(q(r"[[&]+", "x[&y"), ["[&"]);
    assert_eq!(q(r"\Q.*\E+", "a.*.*b"), [".*", ".*"]);
    assert_eq!(q(r"[\d\s]+", "a1 2b"), ["1 2"]);
    assert_eq!(q(r"[^\D]+", "a12b"), ["12"]);
}

#[test]
fn split() {
    let m = funcs();
    let sp = |p: &str, t: &str, n: i64| s(&m, "regexSplit", &[p.into(), t.into(), Value::Int(n)]);
    assert_eq!(sp("a", "banana", -1), "[b n n ]");
    assert_eq!(sp("a", "banana", 2), "[b nana]");
    assert_eq!(sp("a", "banana", 0), "[]");
    assert_eq!(sp("", "abc", -1), "[a b c]");
    assert_eq!(sp("x*", "abc", -1), "[a b c]");
    assert_eq!(sp("a*", "baaac", -1), "[b c]");
    assert_eq!(sp("a", "", -1), "[]");
    assert_eq!(sp("a|", "baaac", -1), "[b   c]");
    assert_eq!(sp("b*", "abbbcb", -1), "[a c ]");
    assert_eq!(
        call_err(&m, "regexSplit", &["(".into(), "x".into(), Value::Int(1)]),
        "regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"
    );
    assert_eq!(
        s(&m, "mustRegexSplit", &["-".into(), "a-b".into(), Value::Int(-1)]),
        "[a b]"
    );
}

#[test]
fn replace() {
    let m = funcs();
    let r = |f: &str, p: &str, t: &str, w: &str| s(&m, f, &[p.into(), t.into(), w.into()]);
    assert_eq!(r("regexReplaceAll", "a(x*)b", "-ab-axxb-", "${1}W"), "-W-xxW-");
    assert_eq!(r("regexReplaceAll", "a(x*)b", "-ab-axxb-", "$1W"), "---");
    assert_eq!(r("regexReplaceAll", "a(?P<n>x*)b", "-ab-axxb-", "<$n>"), "-<>-<xx>-");
    assert_eq!(
        r("regexReplaceAllLiteral", "a(x*)b", "-ab-axxb-", "${1}"),
        "-${1}-${1}-"
    );
    assert_eq!(
        r("regexReplaceAll", "a(x*)b", "-ab-axxb-", "$$ $2 $x ${"),
        "-$   ${-$   ${-"
    );
    assert_eq!(r("regexReplaceAll", "", "abc", "-"), "-a-b-c-");
    assert_eq!(r("regexReplaceAll", "x*", "abc", "-"), "-a-b-c-");
    assert_eq!(r("regexReplaceAll", "a*", "baaac", "<$0>"), "<>b<aaa>c<>");
    assert_eq!(r("regexReplaceAll", "a|", "baaac", "<$0>"), "<>b<a><a><a>c<>");
    assert_eq!(r("mustRegexReplaceAll", "b", "abc", "x"), "axc");
    assert_eq!(r("mustRegexReplaceAllLiteral", "b", "abc", "$0"), "a$0c");
}

#[test]
fn quote_meta() {
    let m = funcs();
    assert_eq!(
        s(&m, "regexQuoteMeta", &["1.5-2.0?*+()[]{}^$|\\".into()]),
        r"1\.5-2\.0\?\*\+\(\)\[\]\{\}\^\$\|\\"
    );
}

#[test]
fn go_errors() {
    let e = |p: &str| compile(p).unwrap_err();
    // Texts from Go's regexp.
    for (p, want) in [
        ("a{1,2}{3}", "invalid nested repetition operator: `{1,2}{3}`"),
        ("a**", "invalid nested repetition operator: `**`"),
        ("a*?*", "invalid nested repetition operator: `*?*`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("(*)", "missing argument to repetition operator: `*`"),
        ("a|*", "missing argument to repetition operator: `*`"),
        ("(?i)*", "missing argument to repetition operator: `*`"),
        ("*.example.com", "missing argument to repetition operator: `*`"),
        ("a{2}{3}", "invalid nested repetition operator: `{2}{3}`"),
        ("a{2,1}", "invalid repeat count: `{2,1}`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        (r"\8", "invalid escape sequence: `\\8`"),
        (r"x\", "trailing backslash at end of expression: ``"),
        ("ab[cd", "missing closing ]: `[cd`"),
        ("a(b", "missing closing ): `a(b`"),
    ] {
        assert_eq!(e(p), format!("error parsing regexp: {want}"), "{p}");
    }
    for p in [
        "a{",
        "a{x}",
        "{}",
        "x{,3}",
        "{{ .Values }}",
        r"\{",
        "a{2",
        "a{2,",
        "${foo}",
        "^*",
        "a{1000}",
        "a*?",
        "a(?i)*",
        r"\x{41}",
        r"\p{Greek}",
    ] {
        assert!(compile(p).is_ok(), "{p}");
    }
    let f = |p: &str, t: &str| s(&funcs(), "regexFind", &[p.into(), t.into()]);
    assert_eq!(f("a(?i)*", "aaA"), "aa");
    assert_eq!(f(r"\101\12", "xA\n"), "A\n");
    assert_eq!(f(r"\0", "x\0"), "\0");
    assert_eq!(f(r"[\x41-\x{43}]+", "xABCD"), "ABC");
    assert_eq!(
        s(
            &funcs(),
            "regexFind",
            &["{{ \\.(\\w+) }}".into(), "x {{ .Values }} y".into()]
        ),
        "{{ .Values }}"
    );
    assert_eq!(e("a)"), "error parsing regexp: unexpected ): `a)`");
    assert_eq!(e("[a"), "error parsing regexp: missing closing ]: `[a`");
    assert!(e("a{1000}{1000}{1000}").starts_with("error parsing regexp: "));
}

#[test]
fn go_differential() {
    let m = funcs();
    for (p, input, find, repl, split) in GO_CASES {
        let args = |x: Value| vec![Value::str(p), Value::str(input), x];
        assert_eq!(
            s(&m, "regexFindAll", &args(Value::Int(-1))),
            *find,
            "find {p} {input:?}"
        );
        assert_eq!(
            s(&m, "regexReplaceAll", &args("<$1>".into())),
            *repl,
            "replace {p} {input:?}"
        );
        assert_eq!(s(&m, "regexSplit", &args(Value::Int(3))), *split, "split {p} {input:?}");
    }
}

/// Every function of the crypto, dates, random, regex, semver and url groups, with the
/// number of parameters of its Go signature in sprig v3.3.0 (Helm's for getHostByName).
#[test]
fn group_arities() {
    let mut m = FuncMap::new();
    for register in [
        super::super::crypto::register,
        super::super::dates::register,
        super::super::random::register,
        super::register,
        super::super::semver::register,
        super::super::url::register,
    ] {
        register(&mut m);
    }
    let want: &[(&str, usize)] = &[
        ("sha1sum", 1),
        ("sha256sum", 1),
        ("sha512sum", 1),
        ("adler32sum", 1),
        ("bcrypt", 1),
        ("htpasswd", 2),
        ("derivePassword", 5),
        ("genPrivateKey", 1),
        ("buildCustomCert", 2),
        ("genCA", 2),
        ("genCAWithKey", 3),
        ("genSelfSignedCert", 4),
        ("genSelfSignedCertWithKey", 5),
        ("genSignedCert", 5),
        ("genSignedCertWithKey", 6),
        ("encryptAES", 2),
        ("decryptAES", 2),
        ("ago", 1),
        ("date", 2),
        ("date_in_zone", 3),
        ("dateInZone", 3),
        ("date_modify", 2),
        ("dateModify", 2),
        ("must_date_modify", 2),
        ("mustDateModify", 2),
        ("duration", 1),
        ("durationRound", 1),
        ("htmlDate", 1),
        ("htmlDateInZone", 2),
        ("now", 0),
        ("toDate", 2),
        ("mustToDate", 2),
        ("unixEpoch", 1),
        ("randAlphaNum", 1),
        ("randAlpha", 1),
        ("randAscii", 1),
        ("randNumeric", 1),
        ("randBytes", 1),
        ("randInt", 2),
        ("shuffle", 1),
        ("uuidv4", 0),
        ("regexMatch", 2),
        ("mustRegexMatch", 2),
        ("regexFind", 2),
        ("mustRegexFind", 2),
        ("regexFindAll", 3),
        ("mustRegexFindAll", 3),
        ("regexReplaceAll", 3),
        ("mustRegexReplaceAll", 3),
        ("regexReplaceAllLiteral", 3),
        ("mustRegexReplaceAllLiteral", 3),
        ("regexSplit", 3),
        ("mustRegexSplit", 3),
        ("regexQuoteMeta", 1),
        ("semver", 1),
        ("semverCompare", 2),
        ("urlParse", 1),
        ("urlJoin", 1),
        ("getHostByName", 1),
    ];
    for (name, n) in want {
        let f = m.get(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(f.arity, ballast_gotemplate::Arity::Exact(*n), "{name}");
    }
    assert_eq!(m.names().count(), want.len());
}

#[test]
fn dash_after_a_perl_class_is_literal() {
    // redis-ha's `^[\w-\.]+$`: Go accepts it, `-` being a literal.
    let m = funcs();
    assert_eq!(
        s(&m, "regexMatch", &[r"^[\w-\.]+$".into(), "my-master.1".into()]),
        "true"
    );
    assert_eq!(s(&m, "regexMatch", &[r"^[\w-\.]+$".into(), "a b".into()]), "false");
}
