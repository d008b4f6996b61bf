//! `.helmignore`, in Helm's own dialect (not gitignore's):
//! - one pattern a line, blank lines and lines starting with `#` skipped, no inline comments;
//! - patterns are Go `filepath.Match` globs (`*`, `?`, `[a-z]`, `[^a]`, `\x`); `**` is an error;
//! - a pattern without `/` tests the base name; one with `/` the whole path from the chart
//!   root; a leading `/` anchors (same as with `/` inside);
//! - a trailing `/` matches directories only; a leading `!` negates;
//! - rules are tried in order and the first that decides wins: a matching rule ignores; a
//!   negated rule ignores every path it does *not* match (so `!x` ignores everything but `x`);
//! - the rule `templates/.?*` is always added (hidden files under `templates/`).

/// The file name Helm reads the rules from.
pub const HELM_IGNORE: &str = ".helmignore";

#[derive(Clone, Debug)]
struct Pattern {
    negate: bool,
    must_dir: bool,
    /// Match the base name only.
    base_only: bool,
    glob: Vec<char>,
}

/// Parsed `.helmignore` rules.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

impl Rules {
    /// Parses the text of a `.helmignore` (a UTF-8 byte-order mark is skipped). Errors:
    /// `double-star (**) syntax is not supported`, `syntax error in pattern`.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut r = Rules::default();
        for line in text.trim_start_matches('\u{feff}').lines() {
            r.add(line)?;
        }
        Ok(r)
    }

    /// Adds Helm's default rule, `templates/.?*`.
    pub fn add_defaults(&mut self) {
        // The default rule is valid; `add` cannot fail on it.
        let _ = self.add("templates/.?*");
    }

    /// Adds one rule line.
    pub fn add(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        let chars: Vec<char> = rule.chars().collect();
        go_match(&chars, &['a', 'b', 'c'])?;
        let mut rule = rule;
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let must_dir = rule.ends_with('/');
        if must_dir {
            rule = &rule[..rule.len() - 1];
        }
        let base_only = !rule.contains('/');
        let rule = rule.strip_prefix('/').unwrap_or(rule);
        self.patterns.push(Pattern {
            negate,
            must_dir,
            base_only,
            glob: rule.chars().collect(),
        });
        Ok(())
    }

    /// Whether `path` (from the chart root, `/`-separated; `is_dir` for directories) is
    /// ignored. The root itself (`""`, `.`) never is.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            let subject: Vec<char> = if p.base_only {
                path.rsplit('/').next().unwrap_or(path).chars().collect()
            } else {
                path.chars().collect()
            };
            let matched = go_match(&p.glob, &subject).unwrap_or(false);
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

const BAD: &str = "syntax error in pattern";

/// Go's `filepath.Match` with `/` as the separator: the pattern must match all of `name`.
pub fn go_match(pattern: &[char], name: &[char]) -> Result<bool, String> {
    let mut pattern = pattern;
    let mut name = name;
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&'/'));
        }
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != '/' {
                let (t, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        // Check that the rest of the pattern is well formed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, &[])?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(mut pattern: &[char]) -> (bool, &[char], &[char]) {
    let mut star = false;
    while pattern.first() == Some(&'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            '\\' if i + 1 < pattern.len() => i += 1,
            '[' => in_range = true,
            ']' => in_range = false,
            '*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// Matches one chunk at the start of `s`: the rest of `s` and whether it matched.
fn match_chunk<'a>(mut chunk: &[char], mut s: &'a [char]) -> Result<(&'a [char], bool), String> {
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[0] {
            '[' => {
                let mut r = '\0';
                if !failed {
                    r = s[0];
                    s = &s[1..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk[0] == '-' {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    if s[0] == '/' {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
            c => {
                let c = if c == '\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        None => return Err(BAD.into()),
                        Some(c) => *c,
                    }
                } else {
                    c
                };
                if !failed {
                    if c != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed { Ok((&[], false)) } else { Ok((s, true)) }
}

fn get_esc(chunk: &[char]) -> Result<(char, &[char]), String> {
    let mut chunk = chunk;
    match chunk.first() {
        None | Some('-') | Some(']') => return Err(BAD.into()),
        Some('\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(BAD.into());
            }
        }
        _ => {}
    }
    let r = chunk[0];
    let rest = &chunk[1..];
    if rest.is_empty() {
        return Err(BAD.into());
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> Result<bool, String> {
        go_match(&p.chars().collect::<Vec<_>>(), &n.chars().collect::<Vec<_>>())
    }

    #[test]
    fn filepath_match_as_go() {
        // From Go's path/filepath match tests.
        let cases: &[(&str, &str, Result<bool, ()>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "-", Ok(true)),
            ("[]a]", "]", Err(())),
            ("[-]", "-", Err(())),
            ("[x-]", "x", Err(())),
            ("[a-b-c]", "a", Err(())),
            ("[", "a", Err(())),
            ("[^", "a", Err(())),
            ("a[", "a", Err(())),
            ("a[", "ab", Err(())),
            ("*x", "xxx", Ok(true)),
        ];
        for (p, n, want) in cases {
            assert_eq!(m(p, n).map_err(|_| ()), *want, "{p} {n}");
        }
    }

    #[test]
    fn helmignore_rules() {
        let mut r = Rules::parse("# comment\n\n*.txt\n/top.md\nsub/*.yaml\nbuild/\n").unwrap();
        r.add_defaults();
        assert!(r.ignore("a.txt", false));
        assert!(r.ignore("deep/b.txt", false));
        assert!(r.ignore("top.md", false));
        assert!(!r.ignore("x/top.md", false));
        assert!(r.ignore("sub/a.yaml", false));
        assert!(!r.ignore("x/sub/a.yaml", false));
        assert!(r.ignore("build", true));
        assert!(!r.ignore("build", false));
        assert!(r.ignore("templates/.hidden", false));
        assert!(r.ignore("templates/.git", true));
        assert!(!r.ignore("templates/a.yaml", false));
        assert!(!r.ignore(".", true));
        assert!(!r.ignore("", true));
        // A negated rule ignores what it does not match.
        let r = Rules::parse("!keep.yaml\n").unwrap();
        assert!(!r.ignore("keep.yaml", false));
        assert!(r.ignore("other.yaml", false));
        assert_eq!(
            Rules::parse("a/**/b").unwrap_err(),
            "double-star (**) syntax is not supported"
        );
        assert_eq!(Rules::parse("[").unwrap_err(), "syntax error in pattern");
    }
}
