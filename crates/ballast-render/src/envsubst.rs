//! The variable language of Flux's `postBuild` substitution: `${var}` and its bash-like
//! operators, read exactly as Flux's kustomize-controller reads them.
//!
//! - `${var}`; `${#var}` (length in bytes); `${var^}`, `${var^^}`, `${var,}`, `${var,,}` (case);
//!   `${var:n}`, `${var:n:len}` (substring, negative `n` from the end); `${var#p}`, `${var##p}`,
//!   `${var%p}`, `${var%%p}` (strip the shortest or longest glob match, Go `path.Match` globs);
//!   `${var/p/r}`, `${var//p/r}`, `${var/#p/r}`, `${var/%p/r}` (replace); `${var=d}`,
//!   `${var:=d}`, `${var:-d}` (default when unset or empty; `:?` and `:+` read the same way).
//!   Defaults and arguments may hold `${...}` themselves.
//! - Only the braced form is a variable: `$var` is text. `$$` is one literal `$` outside braces, so
//!   `$${var}` gives the text `${var}`; inside a replace pattern or replacement `\/`, `\\` and `$$`
//!   escape.
//! - As in Flux, `${var-d}` is an error (missing closing brace), and so are an unclosed `${`, an
//!   empty or invalid name, and a malformed operator; errors never quote a value.
//! - Unset variables are empty, unless strict: then a variable read without a default operator
//!   is an error naming it.
//!
//! Bounded: nesting depth of `${` and the size of the output.

use std::fmt;

/// At most this many `${` inside one another.
const MAX_DEPTH: usize = 64;
/// At most this many bytes of output for one text.
const MAX_OUTPUT: usize = 64 << 20;

/// Why a text cannot be substituted. The messages are Flux's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstError {
    /// A malformed `${...}`.
    BadSubstitution,
    /// `${name` not followed by `}` or an operator.
    MissingClosingBrace,
    /// `${` not followed by a name.
    VariableName,
    /// An operator's argument cannot be read.
    FuncSubstitution,
    /// A variable without a default operator is not set (strict mode).
    NotSet(String),
    /// Nested too deep, or the output grew too large.
    TooLarge,
}

impl fmt::Display for SubstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadSubstitution => f.write_str("bad substitution"),
            Self::MissingClosingBrace => f.write_str("missing closing brace"),
            Self::VariableName => f.write_str("unable to parse variable name"),
            Self::FuncSubstitution => f.write_str("unable to parse substitution within function"),
            Self::NotSet(name) => write!(f, "variable not set (strict mode): {name:?}"),
            Self::TooLarge => write!(
                f,
                "substitution nested deeper than {MAX_DEPTH} or larger than {} MiB",
                MAX_OUTPUT >> 20
            ),
        }
    }
}

impl std::error::Error for SubstError {}

/// One piece of a parsed text.
#[derive(Debug)]
enum Node {
    Text(String),
    /// `${param<op>args...}`; `op` is empty for a plain `${param}`.
    Var {
        op: String,
        param: String,
        args: Vec<Node>,
    },
}

/// Replaces every `${...}` of `text`. `lookup` gives a variable's value, `None` when unset.
pub fn substitute<'a>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
    strict: bool,
) -> Result<String, SubstError> {
    let nodes = Parser {
        s: text.chars().collect(),
        i: 0,
        depth: 0,
    }
    .parse_text()?;
    let mut out = String::with_capacity(text.len());
    for n in &nodes {
        eval(n, &lookup, strict, &mut out)?;
    }
    Ok(out)
}

fn eval<'a>(
    node: &Node,
    lookup: &impl Fn(&str) -> Option<&'a str>,
    strict: bool,
    out: &mut String,
) -> Result<(), SubstError> {
    match node {
        Node::Text(t) => out.push_str(t),
        Node::Var { op, param, args } => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                let mut v = String::new();
                eval(a, lookup, strict, &mut v)?;
                values.push(v);
            }
            let value = lookup(param);
            if strict && value.is_none() && !matches!(op.as_str(), "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?") {
                return Err(SubstError::NotSet(param.clone()));
            }
            out.push_str(&apply(op, value.unwrap_or(""), &values));
        }
    }
    if out.len() > MAX_OUTPUT {
        return Err(SubstError::TooLarge);
    }
    Ok(())
}

/// The operator `op` on `v` with its arguments (an unknown operator gives the value or default).
fn apply(op: &str, v: &str, args: &[String]) -> String {
    let arg = |i: usize| args.get(i).map(String::as_str);
    match op {
        "," => first_char(v, false),
        ",," => v.to_lowercase(),
        "^" => first_char(v, true),
        "^^" => v.to_uppercase(),
        "#" if args.is_empty() => v.len().to_string(),
        "#" => arg(0).map_or(v.to_string(), |p| trim_prefix(v, p, false)),
        "##" => arg(0).map_or(v.to_string(), |p| trim_prefix(v, p, true)),
        "%" => arg(0).map_or(v.to_string(), |p| trim_suffix(v, p, false)),
        "%%" => arg(0).map_or(v.to_string(), |p| trim_suffix(v, p, true)),
        ":" => substring(v, args),
        "/" | "//" => match (arg(0), arg(1)) {
            (None, _) => v.to_string(),
            (Some(p), r) if op == "/" => v.replacen(p, r.unwrap_or(""), 1),
            (Some(p), r) => v.replace(p, r.unwrap_or("")),
        },
        "/#" => match (arg(0), arg(1)) {
            (Some(p), Some(r)) if args.len() == 2 && v.starts_with(p) => v.replacen(p, r, 1),
            _ => v.to_string(),
        },
        "/%" => match (arg(0), arg(1)) {
            (Some(p), Some(r)) if args.len() == 2 && v.ends_with(p) => format!("{}{r}", &v[..v.len() - p.len()]),
            _ => v.to_string(),
        },
        _ if v.is_empty() && !args.is_empty() => args.concat(),
        _ => v.to_string(),
    }
}

fn first_char(v: &str, upper: bool) -> String {
    let mut chars = v.chars();
    match chars.next() {
        None => String::new(),
        Some(c) if upper => c.to_uppercase().chain(chars).collect(),
        Some(c) => c.to_lowercase().chain(chars).collect(),
    }
}

/// `${v:pos}` and `${v:pos:len}` on bytes, as Flux does (an unreadable number gives `v`).
fn substring(v: &str, args: &[String]) -> String {
    let bytes = v.as_bytes();
    let n = bytes.len() as i64;
    let Some(pos) = args.first().and_then(|a| a.parse::<i64>().ok()) else {
        return v.to_string();
    };
    let pos = if pos < 0 { (n + pos).max(0) } else { pos };
    let slice = |from: i64, to: i64| String::from_utf8_lossy(&bytes[from as usize..to as usize]).into_owned();
    let Some(len) = args.get(1) else {
        return if pos < n { slice(pos, n) } else { String::new() };
    };
    let Ok(len) = len.parse::<i64>() else {
        return v.to_string();
    };
    if len < 0 {
        let end = n + len;
        return if end < pos { String::new() } else { slice(pos, end) };
    }
    if pos.saturating_add(len) >= n {
        return if pos < n { slice(pos, n) } else { String::new() };
    }
    slice(pos, pos + len)
}

/// Strips from the start of `v` the shortest (or longest) prefix that the glob `pattern` matches
/// whole; a bad pattern leaves `v` as it is.
fn trim_prefix(v: &str, pattern: &str, longest: bool) -> String {
    let pat: Vec<char> = pattern.chars().collect();
    let chars: Vec<char> = v.chars().collect();
    let mut found = None;
    // Candidates from the whole value down to one character, as Flux tries them.
    for end in (1..=chars.len()).rev() {
        match glob(&pat, &chars[..end]) {
            Err(()) => return v.to_string(),
            Ok(true) if longest => {
                found = Some(end);
                break;
            }
            Ok(true) => found = Some(end),
            Ok(false) => {}
        }
    }
    match found {
        Some(end) => chars[end..].iter().collect(),
        None => v.to_string(),
    }
}

/// [`trim_prefix`] on the reversed value and the reversed pattern, as Flux does.
fn trim_suffix(v: &str, pattern: &str, longest: bool) -> String {
    let rev = |s: &str| s.chars().rev().collect::<String>();
    rev(&trim_prefix(&rev(v), &rev(pattern), longest))
}

/// Go's `path.Match`: `*` (any run without `/`), `?` (one character but `/`), `[...]` classes with
/// `^` negation and ranges, `\` escapes. `Err` for a malformed pattern.
fn glob(p: &[char], s: &[char]) -> Result<bool, ()> {
    let Some((&c, rest)) = p.split_first() else {
        return Ok(s.is_empty());
    };
    match c {
        '*' => {
            let rest = {
                let mut r = rest;
                while r.first() == Some(&'*') {
                    r = &r[1..];
                }
                r
            };
            // Check the remaining pattern once for errors even if nothing is left to match.
            let mut any = false;
            for k in 0..=s.len() {
                if k > 0 && s[k - 1] == '/' {
                    break;
                }
                if glob(rest, &s[k..])? {
                    any = true;
                    break;
                }
            }
            if !any {
                check(rest)?;
            }
            Ok(any)
        }
        '?' => match s.split_first() {
            Some((&h, tail)) if h != '/' => glob(rest, tail),
            _ => check(rest).map(|_| false),
        },
        '[' => {
            let (matched, after) = class(rest, s.first().copied())?;
            if matched {
                glob(after, &s[1..])
            } else {
                check(after).map(|_| false)
            }
        }
        '\\' => {
            let Some((&e, rest)) = rest.split_first() else {
                return Err(());
            };
            match s.split_first() {
                Some((&h, tail)) if h == e => glob(rest, tail),
                _ => check(rest).map(|_| false),
            }
        }
        _ => match s.split_first() {
            Some((&h, tail)) if h == c => glob(rest, tail),
            _ => check(rest).map(|_| false),
        },
    }
}

/// Whether a pattern is well formed (what `path.Match` reports as `ErrBadPattern`).
fn check(p: &[char]) -> Result<(), ()> {
    let mut p = p;
    while let Some((&c, rest)) = p.split_first() {
        p = match c {
            '[' => class(rest, None)?.1,
            '\\' if rest.is_empty() => return Err(()),
            '\\' => &rest[1..],
            _ => rest,
        };
    }
    Ok(())
}

/// A `[...]` class after its `[`: whether `c` is in it (false for `None`), and the pattern
/// after its `]`.
fn class(p: &[char], c: Option<char>) -> Result<(bool, &[char]), ()> {
    let (negated, mut p) = match p.first() {
        Some('^') => (true, &p[1..]),
        _ => (false, p),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        match p.first() {
            None => return Err(()),
            Some(']') if !first => {
                p = &p[1..];
                break;
            }
            _ => {}
        }
        first = false;
        let (lo, rest) = class_char(p)?;
        p = rest;
        let mut hi = lo;
        if p.first() == Some(&'-') {
            let (h, rest) = class_char(&p[1..])?;
            hi = h;
            p = rest;
        }
        if c.is_some_and(|c| lo <= c && c <= hi) {
            matched = true;
        }
    }
    let hit = c.is_some() && matched != negated;
    Ok((hit, p))
}

fn class_char(p: &[char]) -> Result<(char, &[char]), ()> {
    match p {
        [] | ['-' | ']', ..] => Err(()),
        ['\\', e, rest @ ..] => Ok((*e, rest)),
        ['\\'] => Err(()),
        [c, rest @ ..] => Ok((*c, rest)),
    }
}

struct Parser {
    s: Vec<char>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn opens(&self) -> bool {
        self.peek() == Some('$') && self.at(1) == Some('{')
    }

    /// The whole text: runs of text (`$$` read as `$`) and `${...}`.
    fn parse_text(&mut self) -> Result<Vec<Node>, SubstError> {
        let mut nodes = Vec::new();
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if self.opens() {
                if !text.is_empty() {
                    nodes.push(Node::Text(std::mem::take(&mut text)));
                }
                self.i += 2;
                nodes.push(self.parse_var()?);
            } else if c == '$' && self.at(1) == Some('$') {
                text.push('$');
                self.i += 2;
            } else {
                text.push(c);
                self.i += 1;
            }
        }
        if !text.is_empty() {
            nodes.push(Node::Text(text));
        }
        Ok(nodes)
    }

    /// A run of characters that `accept(c, position from 1)` takes, at least one.
    fn run(&mut self, accept: impl Fn(char, usize) -> bool) -> Option<String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if !accept(c, out.chars().count() + 1) {
                break;
            }
            out.push(c);
            self.i += 1;
        }
        (!out.is_empty()).then_some(out)
    }

    fn close(&mut self) -> Result<(), SubstError> {
        if self.peek() == Some('}') {
            self.i += 1;
            Ok(())
        } else {
            Err(SubstError::BadSubstitution)
        }
    }

    /// After `${`.
    fn parse_var(&mut self) -> Result<Node, SubstError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SubstError::TooLarge);
        }
        let node = self.parse_var_body();
        self.depth -= 1;
        node
    }

    fn parse_var_body(&mut self) -> Result<Node, SubstError> {
        let ident = |c: char, _| c.is_alphanumeric() || c == '_';
        if self.peek() == Some('#') {
            self.i += 1;
            let param = self.run(ident).ok_or(SubstError::BadSubstitution)?;
            self.close()?;
            return Ok(Node::Var {
                op: "#".into(),
                param,
                args: Vec::new(),
            });
        }
        let param = self.run(ident).ok_or(SubstError::VariableName)?;
        let var = |op: String, args: Vec<Node>| Node::Var {
            op,
            param: param.clone(),
            args,
        };
        match self.peek() {
            Some(':') if matches!(self.at(1), Some('=' | '-' | '?' | '+')) => self.default(var),
            Some('=') => self.default(var),
            Some(':') => {
                self.i += 1;
                let mut args = vec![self.param(|c| c != ':' && c != '}', false)?];
                if self.peek() == Some('}') {
                    self.i += 1;
                    return Ok(var(":".into(), args));
                }
                self.run(|c, _| c == ':').ok_or(SubstError::BadSubstitution)?;
                args.push(self.param(|c| c != '}', false)?);
                self.close()?;
                Ok(var(":".into(), args))
            }
            Some(',' | '^') => {
                let op = self.run(|c, n| (c == ',' || c == '^') && n < 3).unwrap_or_default();
                self.close()?;
                Ok(var(op, Vec::new()))
            }
            Some(mark @ ('#' | '%')) => {
                let op = self.run(|c, n| c == mark && n < 3).unwrap_or_default();
                let args = vec![self.param(|c| c != '}', false)?];
                self.close()?;
                Ok(var(op, args))
            }
            Some('/') => {
                let op = self
                    .run(|c, n| (n == 1 && c == '/') || (n == 2 && matches!(c, '/' | '#' | '%')))
                    .unwrap_or_default();
                let pattern = if self.peek() == Some('/') {
                    Node::Text(String::new())
                } else {
                    self.param(|c| c != '/', true)?
                };
                self.run(|c, _| c == '/').ok_or(SubstError::BadSubstitution)?;
                let mut args = vec![pattern];
                if self.peek() != Some('}') {
                    args.push(self.param(|c| c != '}', true)?);
                }
                self.close()?;
                Ok(var(op, args))
            }
            Some('}') => {
                self.i += 1;
                Ok(var(String::new(), Vec::new()))
            }
            _ => Err(SubstError::MissingClosingBrace),
        }
    }

    /// `=`, `:=`, `:-`, `:?`, `:+` and their arguments up to `}`.
    fn default(&mut self, var: impl Fn(String, Vec<Node>) -> Node) -> Result<Node, SubstError> {
        let op = if self.peek() == Some('=') {
            self.i += 1;
            "=".to_string()
        } else {
            let op: String = self.s[self.i..self.i + 2].iter().collect();
            self.i += 2;
            op
        };
        let mut args = Vec::new();
        loop {
            if self.peek() == Some('}') {
                self.i += 1;
                return Ok(var(op, args));
            }
            args.push(self.param(|c| c != '}', false)?);
        }
    }

    /// One argument: a nested `${...}`, or a run of text `accept` takes (with `escape`, `$$`,
    /// `\/` and `\\` give their second character), stopping before a nested `${`.
    fn param(&mut self, accept: impl Fn(char) -> bool, escape: bool) -> Result<Node, SubstError> {
        if self.opens() {
            self.i += 2;
            return self.parse_var();
        }
        let escaped = |p: &Self| {
            escape
                && matches!(
                    (p.peek(), p.at(1)),
                    (Some('$'), Some('$')) | (Some('\\'), Some('/' | '\\'))
                )
        };
        let mut text = String::new();
        let mut first = true;
        while let Some(c) = self.peek() {
            if !first && self.opens() {
                break;
            }
            if escaped(self) {
                text.push(self.s[self.i + 1]);
                self.i += 2;
            } else if accept(c) {
                text.push(c);
                self.i += 1;
            } else {
                break;
            }
            first = false;
        }
        if first {
            return Err(SubstError::FuncSubstitution);
        }
        Ok(Node::Text(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn sub(text: &str) -> Result<String, SubstError> {
        let vars: BTreeMap<&str, &str> = [
            ("name", "web-app"),
            ("empty", ""),
            ("file", "dir/sub/archive.tar.gz"),
            ("n", "3"),
            ("word", "hello"),
            ("path", "/a/b"),
        ]
        .into();
        substitute(text, |k| vars.get(k).copied(), false)
    }

    #[test]
    fn variables_and_text() {
        assert_eq!(sub("a ${name} b").unwrap(), "a web-app b");
        assert_eq!(sub("${name}${n}").unwrap(), "web-app3");
        assert_eq!(sub("${missing}|").unwrap(), "|");
        assert_eq!(sub("$name $ {name} $").unwrap(), "$name $ {name} $");
        assert_eq!(sub("$${name}").unwrap(), "${name}");
        assert_eq!(sub("a$$b $$$").unwrap(), "a$b $$");
        assert_eq!(sub("no vars at all").unwrap(), "no vars at all");
    }

    #[test]
    fn operators() {
        assert_eq!(sub("${#name}").unwrap(), "7");
        assert_eq!(
            sub("${word^}|${word^^}|${name,}|${name,,}").unwrap(),
            "Hello|HELLO|web-app|web-app"
        );
        assert_eq!(
            sub("${name:4}|${name:1:2}|${name:-3}|${name:1:-1}|${name:9}").unwrap(),
            "app|eb|web-app|eb-ap|"
        );
        // Flux reads the offset as Go's Atoi does: a space makes it unreadable, so the value stays.
        assert_eq!(sub("${name: -3}").unwrap(), "web-app");
        assert_eq!(
            sub("${file#*/}|${file##*/}|${file%.*}|${file%%.*}").unwrap(),
            "sub/archive.tar.gz|sub/archive.tar.gz|dir/sub/archive.tar|dir/sub/archive"
        );
        assert_eq!(
            sub("${name/-/_}|${file//\\//:}|${name/#web/api}|${name/%app/svc}").unwrap(),
            "web_app|dir:sub:archive.tar.gz|api-app|web-svc"
        );
        assert_eq!(sub("${name/-/}|${name/a}").unwrap_err(), SubstError::BadSubstitution);
        assert_eq!(sub("${name/-/}").unwrap(), "webapp");
        assert_eq!(
            sub("${missing:=x}|${empty:-y}|${missing=z}|${name:=x}").unwrap(),
            "x|y|z|web-app"
        );
        assert_eq!(sub("${missing:=a${n}b}").unwrap(), "a3b");
        assert_eq!(sub("${missing:=${name}}").unwrap(), "web-app");
        assert_eq!(sub("${path/\\/a/x}").unwrap(), "x/b");
    }

    #[test]
    fn errors_as_flux_reports_them() {
        assert_eq!(sub("${name").unwrap_err().to_string(), "missing closing brace");
        assert_eq!(sub("${name-d}").unwrap_err().to_string(), "missing closing brace");
        assert_eq!(sub("${}").unwrap_err().to_string(), "unable to parse variable name");
        assert_eq!(sub("${-x}").unwrap_err().to_string(), "unable to parse variable name");
        assert_eq!(
            sub("${name:=abc").unwrap_err().to_string(),
            "unable to parse substitution within function"
        );
        assert_eq!(
            sub("${name#}").unwrap_err().to_string(),
            "unable to parse substitution within function"
        );
        assert_eq!(sub("${##}").unwrap_err().to_string(), "bad substitution");
        assert_eq!(sub("${name^x}").unwrap_err().to_string(), "bad substitution");
        let deep = format!("{}x{}", "${a:=".repeat(100), "}".repeat(100));
        assert_eq!(sub(&deep).unwrap_err(), SubstError::TooLarge);
    }

    #[test]
    fn strict_mode_names_what_is_unset_unless_defaulted() {
        let vars: BTreeMap<&str, &str> = [("a", "1")].into();
        let strict = |t: &str| substitute(t, |k| vars.get(k).copied(), true);
        assert_eq!(strict("${a}").unwrap(), "1");
        assert_eq!(strict("${b:=2}|${b:-3}|${b=4}").unwrap(), "2|3|4");
        assert_eq!(
            strict("${b}").unwrap_err().to_string(),
            "variable not set (strict mode): \"b\""
        );
        assert!(strict("${#b}").is_err());
    }

    #[test]
    fn globs_follow_go_path_match() {
        let m = |p: &str, s: &str| glob(&p.chars().collect::<Vec<_>>(), &s.chars().collect::<Vec<_>>());
        assert_eq!(m("a*c", "abbc"), Ok(true));
        assert_eq!(m("a*c", "ab/c"), Ok(false));
        assert_eq!(m("a?c", "abc"), Ok(true));
        assert_eq!(m("[a-c]x", "bx"), Ok(true));
        assert_eq!(m("[^a-c]x", "bx"), Ok(false));
        assert_eq!(m("\\*", "*"), Ok(true));
        assert_eq!(m("[a-", "a"), Err(()));
        assert_eq!(m("x[", "y"), Err(()));
        // A bad pattern leaves the value alone.
        assert_eq!(trim_prefix("abc", "[", false), "abc");
        assert_eq!(trim_suffix("a.b.c", ".*", false), "a.b");
        assert_eq!(trim_suffix("a.b.c", ".*", true), "a");
    }
}
