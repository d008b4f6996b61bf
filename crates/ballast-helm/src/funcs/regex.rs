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

/// A counted repetition `{n}`, `{n,}` or `{n,m}` at the start of `s`: its length and its
/// bounds (`None` for a missing maximum; a bound of eight or more digits is out of range, as
/// in Go). Anything else is not a repetition, and Go reads its `{` as a literal.
fn counted_repeat(s: &str) -> Option<(usize, i64, Option<i64>)> {
    let b = s.as_bytes();
    let number = |from: usize| {
        let n = b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        let v = if n >= 8 {
            -1
        } else {
            s[from..from + n].parse::<i64>().unwrap_or(-1)
        };
        (n, v)
    };
    let (n1, min) = number(1);
    if n1 == 0 {
        return None;
    }
    let mut i = 1 + n1;
    let mut max = Some(min);
    if b.get(i) == Some(&b',') {
        i += 1;
        let (n2, v) = number(i);
        max = if n2 == 0 { None } else { Some(v) };
        i += n2;
    }
    (b.get(i) == Some(&b'}')).then_some((i + 1, min, max))
}

/// Rewrites a Go pattern into the `regex` crate's syntax with the same meaning, refusing
/// what Go's parser refuses and the crate would accept (nested repetitions, counts above
/// 1000) with Go's message.
fn translate(p: &str) -> Result<String, String> {
    let err = |code: &str, expr: &str| format!("error parsing regexp: {code}: `{expr}`");
    let mut out = String::with_capacity(p.len() + 8);
    let mut in_class = false;
    let mut class_start = false;
    // Where the last repetition operator began, while it is the last thing read.
    let mut last_repeat: Option<usize> = None;
    // Whether something precedes that a repetition may apply to.
    let mut can_repeat = false;
    // Where a flags-only group `(?i)` begins in the output, while it is the last thing read.
    let mut flags_at: Option<usize> = None;
    let mut i = 0;
    while let Some(c) = p[i..].chars().next() {
        let start = i;
        i += c.len_utf8();
        if in_class {
            let at_class_start = class_start;
            class_start = false;
            match c {
                '\\' => i = translate_escape(p, i, true, &mut out),
                '[' if p[i..].starts_with(':') => {
                    // A POSIX class `[:alpha:]`, copied whole.
                    let end = p[i..].find(']').map_or(p.len(), |e| i + e + 1);
                    out.push_str(&p[start..end]);
                    i = end;
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                ']' if !at_class_start => {
                    out.push(']');
                    in_class = false;
                }
                _ => out.push(c),
            }
            continue;
        }
        let mut repeat_end = None;
        match c {
            '*' | '+' | '?' => repeat_end = Some(i),
            '{' => match counted_repeat(&p[start..]) {
                Some((len, min, max)) => {
                    let end = start + len;
                    if !(0..=1000).contains(&min) || max.is_some_and(|m| !(0..=1000).contains(&m) || min > m) {
                        return Err(err("invalid repeat count", &p[start..end]));
                    }
                    repeat_end = Some(end);
                }
                None => {
                    out.push_str(r"\{");
                    (last_repeat, can_repeat) = (None, true);
                    continue;
                }
            },
            _ => {}
        }
        if let Some(mut end) = repeat_end {
            if p[end..].starts_with('?') {
                end += 1;
            }
            if let Some(prev) = last_repeat {
                return Err(err("invalid nested repetition operator", &p[prev..end]));
            }
            if !can_repeat {
                return Err(err("missing argument to repetition operator", &p[start..end]));
            }
            match flags_at.take() {
                // Go repeats the atom before `(?i)`; the crate wants the operator next to it.
                Some(at) => out.insert_str(at, &p[start..end]),
                None => out.push_str(&p[start..end]),
            }
            i = end;
            last_repeat = Some(start);
            continue;
        }
        let prior_can_repeat = can_repeat;
        let group_at = out.len();
        flags_at = None;
        last_repeat = None;
        can_repeat = true;
        match c {
            '\\' => i = translate_escape(p, i, false, &mut out),
            '[' => {
                out.push('[');
                in_class = true;
                class_start = true;
                if p[i..].starts_with('^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` first in a class is a literal in Go.
                if p[i..].starts_with(']') {
                    out.push_str(r"\]");
                    i += 1;
                }
            }
            '(' => {
                out.push('(');
                can_repeat = false;
                let rest = &p[i..];
                if rest.starts_with('?') {
                    let len = if rest.starts_with("?P<") || rest.starts_with("?<") {
                        rest.find('>').map_or(rest.len(), |k| k + 1)
                    } else {
                        rest.find([':', ')']).map_or(rest.len(), |k| k + 1)
                    };
                    out.push_str(&rest[..len]);
                    i += len;
                    if rest[..len].ends_with(')') {
                        // `(?i)` sets flags without opening a group.
                        can_repeat = prior_can_repeat;
                        flags_at = Some(group_at);
                    }
                }
            }
            '|' => {
                out.push('|');
                can_repeat = false;
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Translates the escape whose backslash ends just before `i`; returns where it ends.
fn translate_escape(p: &str, i: usize, in_class: bool, out: &mut String) -> usize {
    let Some(n) = p[i..].chars().next() else {
        out.push('\\');
        return i;
    };
    let next = i + n.len_utf8();
    let class = |set: &str, neg: bool| match (in_class, neg) {
        (false, false) => format!("[{set}]"),
        (_, true) => format!("[^{set}]"),
        (true, false) => set.to_string(),
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
            let end = p[next..].find(r"\E").map_or(p.len(), |k| next + k);
            let lit = &p[next..end];
            if in_class {
                for q in lit.chars() {
                    out.push_str(&regex::escape(q.encode_utf8(&mut [0; 4])));
                }
            } else {
                out.push_str(&regex::escape(lit));
            }
            return (end + 2).min(p.len());
        }
        'x' | 'p' | 'P' if p[next..].starts_with('{') => {
            // `\x{263a}`, `\p{Greek}`: the braces belong to the escape.
            let end = p[next..].find('}').map_or(p.len(), |k| next + k + 1);
            out.push('\\');
            out.push_str(&p[i..end]);
            return end;
        }
        '0'..='7' if n == '0' || p[next..].starts_with(|c: char| ('0'..='7').contains(&c)) => {
            // Go's octal escapes: up to three digits.
            let digits = p[i..].chars().take(3).take_while(|c| ('0'..='7').contains(c)).count();
            let value = u32::from_str_radix(&p[i..i + digits], 8).unwrap_or(0);
            out.push_str(&format!("\\x{{{value:x}}}"));
            return i + digits;
        }
        _ => {
            out.push('\\');
            out.push(n);
        }
    }
    next
}

/// The part of the pattern the `regex` crate's error points at (its caret line), as byte
/// offsets into `pattern`.
fn error_span(text: &str, pattern: &str) -> Option<(usize, usize)> {
    let mut lines = text.lines().skip(1);
    let shown = lines.next()?.strip_prefix("    ")?;
    let carets = lines.next()?.strip_prefix("    ")?;
    if shown != pattern {
        return None;
    }
    let from = carets.find('^')?;
    let len = carets[from..].chars().take_while(|&c| c == '^').count();
    let byte = |chars: usize| pattern.char_indices().nth(chars).map_or(pattern.len(), |(b, _)| b);
    Some((byte(from), byte(from + len)))
}

/// Go's wording for a pattern the parser refuses, from the `regex` crate's description: Go
/// names the offending part, or for unbalanced groups the whole pattern.
fn go_error(pattern: &str, translated: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    // The span is usable when the translation left the pattern as it was.
    let span = if translated == pattern {
        error_span(&text, pattern)
    } else {
        None
    };
    let part = |to_end: bool| match span {
        Some((a, b)) => &pattern[a..if to_end { pattern.len() } else { b }],
        None => pattern,
    };
    let (code, expr) = if text.contains("unclosed group") {
        ("missing closing )", pattern)
    } else if text.contains("unopened group") {
        ("unexpected )", pattern)
    } else if text.contains("unclosed character class") {
        ("missing closing ]", part(true))
    } else if text.contains("repetition operator missing expression") {
        ("missing argument to repetition operator", part(false))
    } else if text.contains("invalid character class range") {
        ("invalid character class range", part(false))
    } else if text.contains("reached end of pattern prematurely") && pattern.ends_with('\\') {
        ("trailing backslash at end of expression", "")
    } else if text.contains("escape") || text.contains("backreferences") {
        ("invalid escape sequence", part(false))
    } else if text.contains("repetition") || text.contains("decimal") {
        ("invalid repeat count", part(false))
    } else if text.contains("exceeds size limit") {
        ("expression too large", pattern)
    } else {
        ("invalid or unsupported Perl syntax", pattern)
    };
    format!("error parsing regexp: {code}: `{expr}`")
}

/// How many compiled patterns each thread keeps (charts call the same few in loops).
const CACHE_SIZE: usize = 128;

thread_local! {
    static CACHE: std::cell::RefCell<std::collections::HashMap<String, Result<Regex, String>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Compiles a Go pattern, or gives Go's error text; results are cached per thread.
fn compile(pattern: &str) -> Result<Regex, String> {
    if let Some(hit) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return hit;
    }
    let result = compile_uncached(pattern);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_SIZE {
            c.clear();
        }
        c.insert(pattern.to_string(), result.clone());
    });
    result
}

fn compile_uncached(pattern: &str) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    RegexBuilder::new(&translated)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| go_error(pattern, &translated, &e))
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
            Err(ballast_gotemplate::Error {
                message: format!("no template {name}"),
            })
        }
        fn execute_source(&mut self, name: &str, _: &str, _: Value) -> Result<String, ballast_gotemplate::Error> {
            Err(ballast_gotemplate::Error {
                message: format!("no template {name}"),
            })
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

    /// Go's regexp on patterns and inputs like the ones charts use: `FindAllString(s, -1)`,
    /// `ReplaceAllString(s, "<$1>")` and `Split(s, 3)`, printed with `fmt.Sprint`.
    const GO_CASES: &[(&str, &str, &str, &str, &str)] = &[
        (
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "my-app-01",
            "[my-app-01]",
            "<y-app-01>",
            "[ ]",
        ),
        (
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "v1.22.3-gke.10",
            "[]",
            "v1.22.3-gke.10",
            "[v1.22.3-gke.10]",
        ),
        (
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "", "[]", "", "[]"),
        (
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        (
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        ("(\\d+)\\.(\\d+)", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "(\\d+)\\.(\\d+)",
            "v1.22.3-gke.10",
            "[1.22]",
            "v<1>.3-gke.10",
            "[v .3-gke.10]",
        ),
        (
            "(\\d+)\\.(\\d+)",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "(\\d+)\\.(\\d+)",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "(\\d+)\\.(\\d+)",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("(\\d+)\\.(\\d+)", "", "[]", "", "[]"),
        (
            "(\\d+)\\.(\\d+)",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        (
            "(\\d+)\\.(\\d+)",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        ("^v?(\\d+)", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "^v?(\\d+)",
            "v1.22.3-gke.10",
            "[v1]",
            "<1>.22.3-gke.10",
            "[ .22.3-gke.10]",
        ),
        (
            "^v?(\\d+)",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "^v?(\\d+)",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "^v?(\\d+)",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("^v?(\\d+)", "", "[]", "", "[]"),
        (
            "^v?(\\d+)",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        (
            "^v?(\\d+)",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        ("[^a-zA-Z0-9-]", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "[^a-zA-Z0-9-]",
            "v1.22.3-gke.10",
            "[. . .]",
            "v1<>22<>3-gke<>10",
            "[v1 22 3-gke.10]",
        ),
        (
            "[^a-zA-Z0-9-]",
            "Hello, wörld_1 ٣! True",
            "[,   ö _   ٣ !  ]",
            "Hello<><>w<>rld<>1<><><><>True",
            "[Hello  wörld_1 ٣! True]",
        ),
        (
            "[^a-zA-Z0-9-]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[#   \n = ;   = \n     #]",
            "<><>comment<>key<>val<><>k2<>v2<><><><>x",
            "[  comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "[^a-zA-Z0-9-]",
            "aaaa abcd a&b~~c ☺A",
            "[    & ~ ~   ☺]",
            "aaaa<>abcd<>a<>b<><>c<><>A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("[^a-zA-Z0-9-]", "", "[]", "", "[]"),
        (
            "[^a-zA-Z0-9-]",
            "*.example.com x.example.com",
            "[* . .   . .]",
            "<><>example<>com<>x<>example<>com",
            "[  example.com x.example.com]",
        ),
        (
            "[^a-zA-Z0-9-]",
            "STRASSE straße",
            "[  ß]",
            "STRASSE<>stra<>e",
            "[STRASSE stra e]",
        ),
        ("\\s+", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        ("\\s+", "v1.22.3-gke.10", "[]", "v1.22.3-gke.10", "[v1.22.3-gke.10]"),
        (
            "\\s+",
            "Hello, wörld_1 ٣! True",
            "[     ]",
            "Hello,<>wörld_1<>٣!<>True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "\\s+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[  \n   \n  ]",
            "#<>comment<>key=val;<>k2=v2<>#x",
            "[# comment key=val; k2=v2\n  #x]",
        ),
        (
            "\\s+",
            "aaaa abcd a&b~~c ☺A",
            "[     ]",
            "aaaa<>abcd<>a&b~~c<>☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("\\s+", "", "[]", "", "[]"),
        (
            "\\s+",
            "*.example.com x.example.com",
            "[ ]",
            "*.example.com<>x.example.com",
            "[*.example.com x.example.com]",
        ),
        ("\\s+", "STRASSE straße", "[ ]", "STRASSE<>straße", "[STRASSE straße]"),
        ("(?i)^true$", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "(?i)^true$",
            "v1.22.3-gke.10",
            "[]",
            "v1.22.3-gke.10",
            "[v1.22.3-gke.10]",
        ),
        (
            "(?i)^true$",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "(?i)^true$",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "(?i)^true$",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("(?i)^true$", "", "[]", "", "[]"),
        (
            "(?i)^true$",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        (
            "(?i)^true$",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        ("\\.", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "\\.",
            "v1.22.3-gke.10",
            "[. . .]",
            "v1<>22<>3-gke<>10",
            "[v1 22 3-gke.10]",
        ),
        (
            "\\.",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "\\.",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "\\.",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("\\.", "", "[]", "", "[]"),
        (
            "\\.",
            "*.example.com x.example.com",
            "[. . . .]",
            "*<>example<>com x<>example<>com",
            "[* example com x.example.com]",
        ),
        ("\\.", "STRASSE straße", "[]", "STRASSE straße", "[STRASSE straße]"),
        ("-+$", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        ("-+$", "v1.22.3-gke.10", "[]", "v1.22.3-gke.10", "[v1.22.3-gke.10]"),
        (
            "-+$",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "-+$",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "-+$",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("-+$", "", "[]", "", "[]"),
        (
            "-+$",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        ("-+$", "STRASSE straße", "[]", "STRASSE straße", "[STRASSE straße]"),
        ("[[:^alpha:]]+", "my-app-01", "[- -01]", "my<>app<>", "[my app ]"),
        (
            "[[:^alpha:]]+",
            "v1.22.3-gke.10",
            "[1.22.3- .10]",
            "v<>gke<>",
            "[v gke ]",
        ),
        (
            "[[:^alpha:]]+",
            "Hello, wörld_1 ٣! True",
            "[,  ö _1 ٣! ]",
            "Hello<>w<>rld<>True",
            "[Hello w rld_1 ٣! True]",
        ),
        (
            "[[:^alpha:]]+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[#  \n = ;  2= 2\n  #]",
            "<>comment<>key<>val<>k<>v<>x",
            "[ comment key=val; k2=v2\n  #x]",
        ),
        (
            "[[:^alpha:]]+",
            "aaaa abcd a&b~~c ☺A",
            "[    & ~~  ☺]",
            "aaaa<>abcd<>a<>b<>c<>A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("[[:^alpha:]]+", "", "[]", "", "[]"),
        (
            "[[:^alpha:]]+",
            "*.example.com x.example.com",
            "[*. .   . .]",
            "<>example<>com<>x<>example<>com",
            "[ example com x.example.com]",
        ),
        (
            "[[:^alpha:]]+",
            "STRASSE straße",
            "[  ß]",
            "STRASSE<>stra<>e",
            "[STRASSE stra e]",
        ),
        ("\\W+", "my-app-01", "[- -]", "my<>app<>01", "[my app 01]"),
        (
            "\\W+",
            "v1.22.3-gke.10",
            "[. . - .]",
            "v1<>22<>3<>gke<>10",
            "[v1 22 3-gke.10]",
        ),
        (
            "\\W+",
            "Hello, wörld_1 ٣! True",
            "[,  ö  ٣! ]",
            "Hello<>w<>rld_1<>True",
            "[Hello w rld_1 ٣! True]",
        ),
        (
            "\\W+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[#  \n = ;  = \n  #]",
            "<>comment<>key<>val<>k2<>v2<>x",
            "[ comment key=val; k2=v2\n  #x]",
        ),
        (
            "\\W+",
            "aaaa abcd a&b~~c ☺A",
            "[    & ~~  ☺]",
            "aaaa<>abcd<>a<>b<>c<>A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("\\W+", "", "[]", "", "[]"),
        (
            "\\W+",
            "*.example.com x.example.com",
            "[*. .   . .]",
            "<>example<>com<>x<>example<>com",
            "[ example com x.example.com]",
        ),
        (
            "\\W+",
            "STRASSE straße",
            "[  ß]",
            "STRASSE<>stra<>e",
            "[STRASSE stra e]",
        ),
        ("(?m)^\\s*#.*$", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "(?m)^\\s*#.*$",
            "v1.22.3-gke.10",
            "[]",
            "v1.22.3-gke.10",
            "[v1.22.3-gke.10]",
        ),
        (
            "(?m)^\\s*#.*$",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "(?m)^\\s*#.*$",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment   #x]",
            "<>\nkey=val; k2=v2\n<>",
            "[ \nkey=val; k2=v2\n ]",
        ),
        (
            "(?m)^\\s*#.*$",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("(?m)^\\s*#.*$", "", "[]", "", "[]"),
        (
            "(?m)^\\s*#.*$",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        (
            "(?m)^\\s*#.*$",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        ("a{2,3}", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        ("a{2,3}", "v1.22.3-gke.10", "[]", "v1.22.3-gke.10", "[v1.22.3-gke.10]"),
        (
            "a{2,3}",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "a{2,3}",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "a{2,3}",
            "aaaa abcd a&b~~c ☺A",
            "[aaa]",
            "<>a abcd a&b~~c ☺A",
            "[ a abcd a&b~~c ☺A]",
        ),
        ("a{2,3}", "", "[]", "", "[]"),
        (
            "a{2,3}",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        ("a{2,3}", "STRASSE straße", "[]", "STRASSE straße", "[STRASSE straße]"),
        ("(?U)a+", "my-app-01", "[a]", "my-<>pp-01", "[my- pp-01]"),
        ("(?U)a+", "v1.22.3-gke.10", "[]", "v1.22.3-gke.10", "[v1.22.3-gke.10]"),
        (
            "(?U)a+",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "(?U)a+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[a]",
            "# comment\nkey=v<>l; k2=v2\n  #x",
            "[# comment\nkey=v l; k2=v2\n  #x]",
        ),
        (
            "(?U)a+",
            "aaaa abcd a&b~~c ☺A",
            "[a a a a a a]",
            "<><><><> <>bcd <>&b~~c ☺A",
            "[  aa abcd a&b~~c ☺A]",
        ),
        ("(?U)a+", "", "[]", "", "[]"),
        (
            "(?U)a+",
            "*.example.com x.example.com",
            "[a a]",
            "*.ex<>mple.com x.ex<>mple.com",
            "[*.ex mple.com x.ex mple.com]",
        ),
        ("(?U)a+", "STRASSE straße", "[a]", "STRASSE str<>ße", "[STRASSE str ße]"),
        ("(?s).+", "my-app-01", "[my-app-01]", "<>", "[ ]"),
        ("(?s).+", "v1.22.3-gke.10", "[v1.22.3-gke.10]", "<>", "[ ]"),
        (
            "(?s).+",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
            "<>",
            "[ ]",
        ),
        (
            "(?s).+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
            "<>",
            "[ ]",
        ),
        ("(?s).+", "aaaa abcd a&b~~c ☺A", "[aaaa abcd a&b~~c ☺A]", "<>", "[ ]"),
        ("(?s).+", "", "[]", "", "[]"),
        (
            "(?s).+",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
            "<>",
            "[ ]",
        ),
        ("(?s).+", "STRASSE straße", "[STRASSE straße]", "<>", "[ ]"),
        ("\\b\\w", "my-app-01", "[m a 0]", "<>y-<>pp-<>1", "[ y- pp-01]"),
        (
            "\\b\\w",
            "v1.22.3-gke.10",
            "[v 2 3 g 1]",
            "<>1.<>2.<>-<>ke.<>0",
            "[ 1. 2.3-gke.10]",
        ),
        (
            "\\b\\w",
            "Hello, wörld_1 ٣! True",
            "[H w r T]",
            "<>ello, <>ö<>ld_1 ٣! <>rue",
            "[ ello,  örld_1 ٣! True]",
        ),
        (
            "\\b\\w",
            "# comment\nkey=val; k2=v2\n  #x",
            "[c k v k v x]",
            "# <>omment\n<>ey=<>al; <>2=<>2\n  #<>",
            "[#  omment\n ey=val; k2=v2\n  #x]",
        ),
        (
            "\\b\\w",
            "aaaa abcd a&b~~c ☺A",
            "[a a a b c A]",
            "<>aaa <>bcd <>&<>~~<> ☺<>",
            "[ aaa  bcd a&b~~c ☺A]",
        ),
        ("\\b\\w", "", "[]", "", "[]"),
        (
            "\\b\\w",
            "*.example.com x.example.com",
            "[e c x e c]",
            "*.<>xample.<>om <>.<>xample.<>om",
            "[*. xample. om x.example.com]",
        ),
        (
            "\\b\\w",
            "STRASSE straße",
            "[S s e]",
            "<>TRASSE <>traß<>",
            "[ TRASSE  traße]",
        ),
        ("[\\w.-]+@[\\w.-]+", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "[\\w.-]+@[\\w.-]+",
            "v1.22.3-gke.10",
            "[]",
            "v1.22.3-gke.10",
            "[v1.22.3-gke.10]",
        ),
        (
            "[\\w.-]+@[\\w.-]+",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "[\\w.-]+@[\\w.-]+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "[\\w.-]+@[\\w.-]+",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("[\\w.-]+@[\\w.-]+", "", "[]", "", "[]"),
        (
            "[\\w.-]+@[\\w.-]+",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        (
            "[\\w.-]+@[\\w.-]+",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        ("\\pL+", "my-app-01", "[my app]", "<>-<>-01", "[ - -01]"),
        ("\\pL+", "v1.22.3-gke.10", "[v gke]", "<>1.22.3-<>.10", "[ 1.22.3- .10]"),
        (
            "\\pL+",
            "Hello, wörld_1 ٣! True",
            "[Hello wörld True]",
            "<>, <>_1 ٣! <>",
            "[ ,  _1 ٣! True]",
        ),
        (
            "\\pL+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[comment key val k v x]",
            "# <>\n<>=<>; <>2=<>2\n  #<>",
            "[#  \n =val; k2=v2\n  #x]",
        ),
        (
            "\\pL+",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a b c A]",
            "<> <> <>&<>~~<> ☺<>",
            "[    a&b~~c ☺A]",
        ),
        ("\\pL+", "", "[]", "", "[]"),
        (
            "\\pL+",
            "*.example.com x.example.com",
            "[example com x example com]",
            "*.<>.<> <>.<>.<>",
            "[*. .  x.example.com]",
        ),
        ("\\pL+", "STRASSE straße", "[STRASSE straße]", "<> <>", "[   ]"),
        ("\\PL+", "my-app-01", "[- -01]", "my<>app<>", "[my app ]"),
        ("\\PL+", "v1.22.3-gke.10", "[1.22.3- .10]", "v<>gke<>", "[v gke ]"),
        (
            "\\PL+",
            "Hello, wörld_1 ٣! True",
            "[,  _1 ٣! ]",
            "Hello<>wörld<>True",
            "[Hello wörld True]",
        ),
        (
            "\\PL+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[#  \n = ;  2= 2\n  #]",
            "<>comment<>key<>val<>k<>v<>x",
            "[ comment key=val; k2=v2\n  #x]",
        ),
        (
            "\\PL+",
            "aaaa abcd a&b~~c ☺A",
            "[    & ~~  ☺]",
            "aaaa<>abcd<>a<>b<>c<>A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("\\PL+", "", "[]", "", "[]"),
        (
            "\\PL+",
            "*.example.com x.example.com",
            "[*. .   . .]",
            "<>example<>com<>x<>example<>com",
            "[ example com x.example.com]",
        ),
        ("\\PL+", "STRASSE straße", "[ ]", "STRASSE<>straße", "[STRASSE straße]"),
        ("[^\\s]+", "my-app-01", "[my-app-01]", "<>", "[ ]"),
        ("[^\\s]+", "v1.22.3-gke.10", "[v1.22.3-gke.10]", "<>", "[ ]"),
        (
            "[^\\s]+",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
            "<> <> <> <>",
            "[    ٣! True]",
        ),
        (
            "[^\\s]+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment key=val; k2=v2 #x]",
            "<> <>\n<> <>\n  <>",
            "[   \nkey=val; k2=v2\n  #x]",
        ),
        (
            "[^\\s]+",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
            "<> <> <> <>",
            "[    a&b~~c ☺A]",
        ),
        ("[^\\s]+", "", "[]", "", "[]"),
        (
            "[^\\s]+",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
            "<> <>",
            "[   ]",
        ),
        ("[^\\s]+", "STRASSE straße", "[STRASSE straße]", "<> <>", "[   ]"),
        (
            "(?P<key>\\w+)=(?P<val>[^;]*)",
            "my-app-01",
            "[]",
            "my-app-01",
            "[my-app-01]",
        ),
        (
            "(?P<key>\\w+)=(?P<val>[^;]*)",
            "v1.22.3-gke.10",
            "[]",
            "v1.22.3-gke.10",
            "[v1.22.3-gke.10]",
        ),
        (
            "(?P<key>\\w+)=(?P<val>[^;]*)",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "(?P<key>\\w+)=(?P<val>[^;]*)",
            "# comment\nkey=val; k2=v2\n  #x",
            "[key=val k2=v2\n  #x]",
            "# comment\n<key>; <k2>",
            "[# comment\n ;  ]",
        ),
        (
            "(?P<key>\\w+)=(?P<val>[^;]*)",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("(?P<key>\\w+)=(?P<val>[^;]*)", "", "[]", "", "[]"),
        (
            "(?P<key>\\w+)=(?P<val>[^;]*)",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        (
            "(?P<key>\\w+)=(?P<val>[^;]*)",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        (
            "x*",
            "my-app-01",
            "[         ]",
            "<>m<>y<>-<>a<>p<>p<>-<>0<>1<>",
            "[m y -app-01]",
        ),
        (
            "x*",
            "v1.22.3-gke.10",
            "[              ]",
            "<>v<>1<>.<>2<>2<>.<>3<>-<>g<>k<>e<>.<>1<>0<>",
            "[v 1 .22.3-gke.10]",
        ),
        (
            "x*",
            "Hello, wörld_1 ٣! True",
            "[                      ]",
            "<>H<>e<>l<>l<>o<>,<> <>w<>ö<>r<>l<>d<>_<>1<> <>٣<>!<> <>T<>r<>u<>e<>",
            "[H e llo, wörld_1 ٣! True]",
        ),
        (
            "x*",
            "# comment\nkey=val; k2=v2\n  #x",
            "[                            x]",
            "<>#<> <>c<>o<>m<>m<>e<>n<>t<>\n<>k<>e<>y<>=<>v<>a<>l<>;<> <>k<>2<>=<>v<>2<>\n<> <> <>#<>",
            "[#   comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "x*",
            "aaaa abcd a&b~~c ☺A",
            "[                   ]",
            "<>a<>a<>a<>a<> <>a<>b<>c<>d<> <>a<>&<>b<>~<>~<>c<> <>☺<>A<>",
            "[a a aa abcd a&b~~c ☺A]",
        ),
        ("x*", "", "[]", "<>", "[]"),
        (
            "x*",
            "*.example.com x.example.com",
            "[   x          x  x         ]",
            "<>*<>.<>e<>a<>m<>p<>l<>e<>.<>c<>o<>m<> <>.<>e<>a<>m<>p<>l<>e<>.<>c<>o<>m<>",
            "[* . example.com x.example.com]",
        ),
        (
            "x*",
            "STRASSE straße",
            "[              ]",
            "<>S<>T<>R<>A<>S<>S<>E<> <>s<>t<>r<>a<>ß<>e<>",
            "[S T RASSE straße]",
        ),
        ("\\x41\\x{263a}", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "\\x41\\x{263a}",
            "v1.22.3-gke.10",
            "[]",
            "v1.22.3-gke.10",
            "[v1.22.3-gke.10]",
        ),
        (
            "\\x41\\x{263a}",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "\\x41\\x{263a}",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "\\x41\\x{263a}",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("\\x41\\x{263a}", "", "[]", "", "[]"),
        (
            "\\x41\\x{263a}",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        (
            "\\x41\\x{263a}",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        ("[\\x00-\\x1f]", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "[\\x00-\\x1f]",
            "v1.22.3-gke.10",
            "[]",
            "v1.22.3-gke.10",
            "[v1.22.3-gke.10]",
        ),
        (
            "[\\x00-\\x1f]",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "[\\x00-\\x1f]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[\n \n]",
            "# comment<>key=val; k2=v2<>  #x",
            "[# comment key=val; k2=v2   #x]",
        ),
        (
            "[\\x00-\\x1f]",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("[\\x00-\\x1f]", "", "[]", "", "[]"),
        (
            "[\\x00-\\x1f]",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        (
            "[\\x00-\\x1f]",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        ("\\A\\d", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        ("\\A\\d", "v1.22.3-gke.10", "[]", "v1.22.3-gke.10", "[v1.22.3-gke.10]"),
        (
            "\\A\\d",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "\\A\\d",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "\\A\\d",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("\\A\\d", "", "[]", "", "[]"),
        (
            "\\A\\d",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        ("\\A\\d", "STRASSE straße", "[]", "STRASSE straße", "[STRASSE straße]"),
        ("\\d\\z", "my-app-01", "[1]", "my-app-0<>", "[my-app-0 ]"),
        ("\\d\\z", "v1.22.3-gke.10", "[0]", "v1.22.3-gke.1<>", "[v1.22.3-gke.1 ]"),
        (
            "\\d\\z",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "\\d\\z",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "\\d\\z",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("\\d\\z", "", "[]", "", "[]"),
        (
            "\\d\\z",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        ("\\d\\z", "STRASSE straße", "[]", "STRASSE straße", "[STRASSE straße]"),
        ("[a-c&&b]", "my-app-01", "[a]", "my-<>pp-01", "[my- pp-01]"),
        ("[a-c&&b]", "v1.22.3-gke.10", "[]", "v1.22.3-gke.10", "[v1.22.3-gke.10]"),
        (
            "[a-c&&b]",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "[a-c&&b]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[c a]",
            "# <>omment\nkey=v<>l; k2=v2\n  #x",
            "[#  omment\nkey=v l; k2=v2\n  #x]",
        ),
        (
            "[a-c&&b]",
            "aaaa abcd a&b~~c ☺A",
            "[a a a a a b c a & b c]",
            "<><><><> <><><>d <><><>~~<> ☺A",
            "[  aa abcd a&b~~c ☺A]",
        ),
        ("[a-c&&b]", "", "[]", "", "[]"),
        (
            "[a-c&&b]",
            "*.example.com x.example.com",
            "[a c a c]",
            "*.ex<>mple.<>om x.ex<>mple.<>om",
            "[*.ex mple. om x.example.com]",
        ),
        (
            "[a-c&&b]",
            "STRASSE straße",
            "[a]",
            "STRASSE str<>ße",
            "[STRASSE str ße]",
        ),
        ("[~]+", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        ("[~]+", "v1.22.3-gke.10", "[]", "v1.22.3-gke.10", "[v1.22.3-gke.10]"),
        (
            "[~]+",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "[~]+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "[~]+",
            "aaaa abcd a&b~~c ☺A",
            "[~~]",
            "aaaa abcd a&b<>c ☺A",
            "[aaaa abcd a&b c ☺A]",
        ),
        ("[~]+", "", "[]", "", "[]"),
        (
            "[~]+",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        ("[~]+", "STRASSE straße", "[]", "STRASSE straße", "[STRASSE straße]"),
        ("(a|ab)(c|bcd)(d*)", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "(a|ab)(c|bcd)(d*)",
            "v1.22.3-gke.10",
            "[]",
            "v1.22.3-gke.10",
            "[v1.22.3-gke.10]",
        ),
        (
            "(a|ab)(c|bcd)(d*)",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "(a|ab)(c|bcd)(d*)",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "(a|ab)(c|bcd)(d*)",
            "aaaa abcd a&b~~c ☺A",
            "[abcd]",
            "aaaa <a> a&b~~c ☺A",
            "[aaaa   a&b~~c ☺A]",
        ),
        ("(a|ab)(c|bcd)(d*)", "", "[]", "", "[]"),
        (
            "(a|ab)(c|bcd)(d*)",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        (
            "(a|ab)(c|bcd)(d*)",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        ("[^\\]]+", "my-app-01", "[my-app-01]", "<>", "[ ]"),
        ("[^\\]]+", "v1.22.3-gke.10", "[v1.22.3-gke.10]", "<>", "[ ]"),
        (
            "[^\\]]+",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
            "<>",
            "[ ]",
        ),
        (
            "[^\\]]+",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
            "<>",
            "[ ]",
        ),
        ("[^\\]]+", "aaaa abcd a&b~~c ☺A", "[aaaa abcd a&b~~c ☺A]", "<>", "[ ]"),
        ("[^\\]]+", "", "[]", "", "[]"),
        (
            "[^\\]]+",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
            "<>",
            "[ ]",
        ),
        ("[^\\]]+", "STRASSE straße", "[STRASSE straße]", "<>", "[ ]"),
        ("\\Q*.example.com\\E", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "\\Q*.example.com\\E",
            "v1.22.3-gke.10",
            "[]",
            "v1.22.3-gke.10",
            "[v1.22.3-gke.10]",
        ),
        (
            "\\Q*.example.com\\E",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "\\Q*.example.com\\E",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "\\Q*.example.com\\E",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("\\Q*.example.com\\E", "", "[]", "", "[]"),
        (
            "\\Q*.example.com\\E",
            "*.example.com x.example.com",
            "[*.example.com]",
            "<> x.example.com",
            "[  x.example.com]",
        ),
        (
            "\\Q*.example.com\\E",
            "STRASSE straße",
            "[]",
            "STRASSE straße",
            "[STRASSE straße]",
        ),
        (".*", "my-app-01", "[my-app-01]", "<>", "[ ]"),
        (".*", "v1.22.3-gke.10", "[v1.22.3-gke.10]", "<>", "[ ]"),
        (".*", "Hello, wörld_1 ٣! True", "[Hello, wörld_1 ٣! True]", "<>", "[ ]"),
        (
            ".*",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment key=val; k2=v2   #x]",
            "<>\n<>\n<>",
            "[ \n \n  #x]",
        ),
        (".*", "aaaa abcd a&b~~c ☺A", "[aaaa abcd a&b~~c ☺A]", "<>", "[ ]"),
        (".*", "", "[]", "<>", "[]"),
        (
            ".*",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
            "<>",
            "[ ]",
        ),
        (".*", "STRASSE straße", "[STRASSE straße]", "<>", "[ ]"),
        ("^$", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        ("^$", "v1.22.3-gke.10", "[]", "v1.22.3-gke.10", "[v1.22.3-gke.10]"),
        (
            "^$",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "^$",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "^$",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("^$", "", "[]", "<>", "[]"),
        (
            "^$",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        ("^$", "STRASSE straße", "[]", "STRASSE straße", "[STRASSE straße]"),
        ("(?i)straße", "my-app-01", "[]", "my-app-01", "[my-app-01]"),
        (
            "(?i)straße",
            "v1.22.3-gke.10",
            "[]",
            "v1.22.3-gke.10",
            "[v1.22.3-gke.10]",
        ),
        (
            "(?i)straße",
            "Hello, wörld_1 ٣! True",
            "[]",
            "Hello, wörld_1 ٣! True",
            "[Hello, wörld_1 ٣! True]",
        ),
        (
            "(?i)straße",
            "# comment\nkey=val; k2=v2\n  #x",
            "[]",
            "# comment\nkey=val; k2=v2\n  #x",
            "[# comment\nkey=val; k2=v2\n  #x]",
        ),
        (
            "(?i)straße",
            "aaaa abcd a&b~~c ☺A",
            "[]",
            "aaaa abcd a&b~~c ☺A",
            "[aaaa abcd a&b~~c ☺A]",
        ),
        ("(?i)straße", "", "[]", "", "[]"),
        (
            "(?i)straße",
            "*.example.com x.example.com",
            "[]",
            "*.example.com x.example.com",
            "[*.example.com x.example.com]",
        ),
        ("(?i)straße", "STRASSE straße", "[straße]", "STRASSE <>", "[STRASSE  ]"),
    ];

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
}
