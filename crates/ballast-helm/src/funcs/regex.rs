//! sprig's regular-expression functions, with Go's RE2 dialect.
//!
//! Patterns run on the `regex` crate after a translation to Go's meaning: `\d \w \s \b` are
//! ASCII-only as in Go, `\Q...\E` quotes, and `[` `&` `~` inside a class are literals. Compiled
//! programs are bounded in size. Go's rules for `n` in `regexFindAll`/`regexSplit` and its
//! `$1`, `${1}`, `$name` replacement expansion are kept. The non-`must` functions fail with Go's
//! `regexp: Compile(...)` panic text on a bad pattern, except `regexMatch`, which is false.

use ballast_gotemplate::{Args, Arity, FuncMap, Value};
use regex::{Regex, RegexBuilder};

/// Upper bound on a compiled program, so a template cannot exhaust memory with `a{1000}{1000}`.
const SIZE_LIMIT: usize = 8 << 20;

/// Rewrites a Go pattern into the `regex` crate's syntax with the same meaning.
fn translate(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 8);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = class_start;
        class_start = false;
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let class = |set: &str, neg: bool| match (in_class, neg) {
                    (false, false) => format!("[{set}]"),
                    (false, true) => format!("[^{set}]"),
                    (true, false) => set.to_string(),
                    (true, true) => format!("[^{set}]"),
                };
                match n {
                    'd' => out.push_str(&class("0-9", false)),
                    'D' => out.push_str(&class("0-9", true)),
                    'w' => out.push_str(&class("0-9A-Za-z_", false)),
                    'W' => out.push_str(&class("0-9A-Za-z_", true)),
                    's' => out.push_str(&class(r"\t\n\f\r ", false)),
                    'S' => out.push_str(&class(r"\t\n\f\r ", true)),
                    'b' if !in_class => out.push_str(r"(?-u:\b)"),
                    'B' if !in_class => out.push_str(r"(?-u:\B)"),
                    'Q' => {
                        let mut lit = String::new();
                        while let Some(q) = chars.next() {
                            if q == '\\' && chars.peek() == Some(&'E') {
                                chars.next();
                                break;
                            }
                            lit.push(q);
                        }
                        if in_class {
                            for q in lit.chars() {
                                out.push_str(&regex::escape(q.encode_utf8(&mut [0; 4])));
                            }
                        } else {
                            out.push_str(&regex::escape(&lit));
                        }
                    }
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                out.push('[');
                in_class = true;
                class_start = true;
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                // A `]` first in a class is a literal in Go.
                if chars.peek() == Some(&']') {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            '[' if in_class => {
                if chars.peek() == Some(&':') {
                    // A POSIX class `[:alpha:]`, copied whole.
                    out.push('[');
                    for q in chars.by_ref() {
                        out.push(q);
                        if q == ']' {
                            break;
                        }
                    }
                } else {
                    out.push_str(r"\[");
                }
            }
            ']' if in_class && !at_class_start => {
                out.push(']');
                in_class = false;
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Go's wording for a pattern the parser refuses, from the `regex` crate's description.
fn go_error(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    let code = if text.contains("unclosed group") {
        "missing closing )"
    } else if text.contains("unopened group") {
        "unexpected )"
    } else if text.contains("unclosed character class") {
        "missing closing ]"
    } else if text.contains("repetition operator missing expression") {
        "missing argument to repetition operator"
    } else if text.contains("invalid character class range") {
        "invalid character class range"
    } else if text.contains("escape") {
        "invalid escape sequence"
    } else if text.contains("repetition") || text.contains("decimal") {
        "invalid repeat count"
    } else if text.contains("exceeds size limit") {
        "expression too large"
    } else {
        "invalid or unsupported Perl syntax"
    };
    format!("error parsing regexp: {code}: `{pattern}`")
}

/// Compiles a Go pattern, or gives Go's error text.
fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(&translate(pattern))
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| go_error(pattern, &e))
}

/// Go's `regexp.MustCompile` panic text, as the template engine reports it.
fn must_compile(pattern: &str) -> Result<Regex, String> {
    compile(pattern).map_err(|e| {
        let quoted = if pattern.contains('`') || pattern.chars().any(|c| c.is_control() && c != '\t') {
            ballast_gotemplate::fmt::quote(pattern)
        } else {
            format!("`{pattern}`")
        };
        format!("regexp: Compile({quoted}): {e}")
    })
}

fn strings(v: Vec<&str>) -> Value {
    Value::list(v.into_iter().map(Value::str).collect())
}

/// `FindAllString(s, n)`: every match when `n < 0`, else at most `n`.
fn find_all(re: &Regex, s: &str, n: i64) -> Value {
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    strings(re.find_iter(s).take(limit).map(|m| m.as_str()).collect())
}

/// Go's `Split(s, n)`: `n == 0` gives nothing, `n > 0` at most `n` pieces, `n < 0` all.
fn split(re: &Regex, pattern: &str, s: &str, n: i64) -> Value {
    if n == 0 {
        return Value::list(Vec::new());
    }
    if !pattern.is_empty() && s.is_empty() {
        return strings(vec![""]);
    }
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in re.find_iter(s).take(limit) {
        if out.len() + 1 == limit {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(&s[beg..end]);
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(&s[beg..]);
    }
    strings(out)
}

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    m.pure("regexMatch", Arity::Exact(2), |a| {
        let (p, s) = (Args::string(&a[0])?, Args::string(&a[1])?);
        Ok(Value::Bool(compile(p).is_ok_and(|re| re.is_match(s))))
    });
    m.pure("mustRegexMatch", Arity::Exact(2), |a| {
        let (p, s) = (Args::string(&a[0])?, Args::string(&a[1])?);
        Ok(Value::Bool(compile(p)?.is_match(s)))
    });
    for (name, comp) in [
        ("regexFindAll", must_compile as fn(&str) -> _),
        ("mustRegexFindAll", compile),
    ] {
        m.pure(name, Arity::Exact(3), move |a| {
            let (p, s, n) = (Args::string(&a[0])?, Args::string(&a[1])?, Args::int(&a[2])?);
            Ok(find_all(&comp(p)?, s, n))
        });
    }
    for (name, comp) in [("regexFind", must_compile as fn(&str) -> _), ("mustRegexFind", compile)] {
        m.pure(name, Arity::Exact(2), move |a| {
            let (p, s) = (Args::string(&a[0])?, Args::string(&a[1])?);
            Ok(Value::str(comp(p)?.find(s).map_or("", |m| m.as_str())))
        });
    }
    for (name, comp) in [
        ("regexReplaceAll", must_compile as fn(&str) -> _),
        ("mustRegexReplaceAll", compile),
    ] {
        m.pure(name, Arity::Exact(3), move |a| {
            let (p, s, r) = (Args::string(&a[0])?, Args::string(&a[1])?, Args::string(&a[2])?);
            Ok(Value::from(comp(p)?.replace_all(s, r).into_owned()))
        });
    }
    for (name, comp) in [
        ("regexReplaceAllLiteral", must_compile as fn(&str) -> _),
        ("mustRegexReplaceAllLiteral", compile),
    ] {
        m.pure(name, Arity::Exact(3), move |a| {
            let (p, s, r) = (Args::string(&a[0])?, Args::string(&a[1])?, Args::string(&a[2])?);
            Ok(Value::from(comp(p)?.replace_all(s, regex::NoExpand(r)).into_owned()))
        });
    }
    for (name, comp) in [
        ("regexSplit", must_compile as fn(&str) -> _),
        ("mustRegexSplit", compile),
    ] {
        m.pure(name, Arity::Exact(3), move |a| {
            let (p, s, n) = (Args::string(&a[0])?, Args::string(&a[1])?, Args::int(&a[2])?);
            Ok(split(&comp(p)?, p, s, n))
        });
    }
    m.pure("regexQuoteMeta", Arity::Exact(1), |a| {
        Ok(Value::from(quote_meta(Args::string(&a[0])?)))
    });
}

/// Go's `regexp.QuoteMeta`: a backslash before each of `\.+*?()|[]{}^$`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Calling registered functions from unit tests, without a template engine.
#[cfg(test)]
pub(crate) mod test_support {
    use ballast_gotemplate::{Arity, Env, FuncMap, Value};

    struct NoEnv;

    impl Env for NoEnv {
        fn execute_template(&mut self, name: &str, _: Value) -> Result<String, ballast_gotemplate::Error> {
            Err(ballast_gotemplate::Error::msg(format!("no template {name}")))
        }
        fn execute_source(&mut self, name: &str, _: &str, _: Value) -> Result<String, ballast_gotemplate::Error> {
            Err(ballast_gotemplate::Error::msg(format!("no template {name}")))
        }
    }

    /// Calls `name` with `args`, checking the arity first as the executor does.
    pub(crate) fn try_call(m: &FuncMap, name: &str, args: &[Value]) -> Result<Value, String> {
        let f = m.get(name).unwrap_or_else(|| panic!("{name} not registered"));
        match f.arity {
            Arity::Exact(n) => assert_eq!(args.len(), n, "arity of {name}"),
            Arity::AtLeast(n) => assert!(args.len() >= n, "arity of {name}"),
        }
        (f.f)(&mut NoEnv, args)
    }

    /// Calls `name`, expecting success.
    pub(crate) fn call(m: &FuncMap, name: &str, args: &[Value]) -> Value {
        try_call(m, name, args).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// Calls `name`, expecting an error, and returns its message.
    pub(crate) fn call_err(m: &FuncMap, name: &str, args: &[Value]) -> String {
        match try_call(m, name, args) {
            Ok(v) => panic!("{name} gave {v:?}"),
            Err(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{call, call_err};
    use super::*;

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
        assert_eq!(e("a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(e("[a"), "error parsing regexp: missing closing ]: `[a`");
        assert!(e("a{1000}{1000}{1000}").starts_with("error parsing regexp: "));
    }
}
