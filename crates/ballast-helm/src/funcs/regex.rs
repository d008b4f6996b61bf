//! sprig's regular-expression functions, with Go's RE2 dialect.
//!
//! Patterns run on the `regex` crate after a translation to Go's meaning: `\d \w \s \b` are
//! ASCII-only as in Go, `\Q...\E` quotes, and `[` `&` `~` inside a class are literals. Compiled
//! programs are bounded in size. Go's rules for `n` in `regexFindAll`/`regexSplit` and its
//! `$1`, `${1}`, `$name` replacement expansion are kept. The non-`must` functions fail with Go's
//! `regexp: Compile(...)` panic text on a bad pattern, except `regexMatch`, which is false.

use ballast_gotemplate::{Args, Arity, FuncMap, Value};
use std::sync::Arc;

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
                // Go (Perl syntax) takes `-` after a class such as `\w` as a literal: `[\w-.]`.
                '-' if [r"\w", r"\W", r"\d", r"\D", r"\s", r"\S"]
                    .iter()
                    .any(|e| p[..start].ends_with(e)) =>
                {
                    out.push_str(r"\-");
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

/// How many compiled patterns the process keeps (charts call the same few in loops).
const CACHE_SIZE: usize = 128;

/// Compiled patterns (and Go's error texts), shared by every render of the process: each
/// render runs on its own thread, so a per-thread cache would be empty at each render.
/// Shared, not cloned: a cloned `Regex` starts a new pool of matching caches, which each
/// call would then build again.
static CACHE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Compiled>>> =
    std::sync::LazyLock::new(Default::default);

/// A compiled pattern, or Go's error text.
type Compiled = Result<Arc<Regex>, String>;

/// Compiles a Go pattern, or gives Go's error text; results are cached per process.
fn compile(pattern: &str) -> Compiled {
    if let Some(hit) = CACHE.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return hit;
    }
    let result = compile_uncached(pattern).map(Arc::new);
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= CACHE_SIZE {
            c.clear();
        }
        c.insert(pattern.to_string(), result.clone());
    }
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
fn must_compile(pattern: &str) -> Compiled {
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
            Ok(find_all(&*comp(p)?, s, n))
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
            Ok(split(&*comp(p)?, p, s, n))
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
mod tests;
