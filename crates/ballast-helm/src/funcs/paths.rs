//! sprig's path functions: Go's `path` (`base dir clean ext isAbs`) and `path/filepath` with
//! the Unix separator (`osBase osClean osDir osExt osIsAbs`), which behave the same.

use ballast_gotemplate::{Args, Arity, FuncMap, Value};

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    use Arity::Exact;
    for (name, f) in [
        ("base", base as fn(&str) -> String),
        ("osBase", base),
        ("dir", dir),
        ("osDir", dir),
        ("clean", clean),
        ("osClean", clean),
        ("ext", ext),
        ("osExt", ext),
    ] {
        m.pure(name, Exact(1), move |a| Ok(f(Args::string(&a[0])?).into()));
    }
    for name in ["isAbs", "osIsAbs"] {
        m.pure(name, Exact(1), |a| {
            Ok(Value::Bool(Args::string(&a[0])?.starts_with('/')))
        });
    }
}

/// Go's `path.Base`: the last element, trailing slashes dropped; "." for "", "/" for slashes.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

/// Go's `path.Dir`: everything before the last slash, cleaned.
fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..cut])
}

/// Go's `path.Ext`: from the last dot of the last element, or "".
fn ext(p: &str) -> String {
    for (i, b) in p.bytes().enumerate().rev() {
        match b {
            b'/' => break,
            b'.' => return p[i..].to_string(),
            _ => {}
        }
    }
    String::new()
}

/// Go's `path.Clean`: the shortest equivalent path by lexical processing (`.` and `..`
/// resolved, repeated slashes merged); "." for an empty result.
fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            e => parts.push(e),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::super::strings::test_support::*;

    #[test]
    fn path_functions() {
        for (name, input, want) in [
            ("base", "/a/b/", "b"),
            ("base", "", "."),
            ("base", "///", "/"),
            ("dir", "/a/b/c", "/a/b"),
            ("dir", "a", "."),
            ("dir", "/", "/"),
            ("clean", "a//b/../c/.", "a/c"),
            ("clean", "/../a", "/a"),
            ("clean", "", "."),
            ("clean", "../../a", "../../a"),
            ("ext", "a/b.tar.gz", ".gz"),
            ("ext", "a.b/c", ""),
            ("isAbs", "/a", "true"),
            ("isAbs", "a", "false"),
            ("osBase", "a/b", "b"),
            ("osDir", "a/b", "a"),
            ("osClean", "a/./b", "a/b"),
            ("osExt", "x.y", ".y"),
            ("osIsAbs", "/", "true"),
        ] {
            assert_eq!(p(name, &[s(input)]), want, "{name} {input:?}");
        }
    }
}
