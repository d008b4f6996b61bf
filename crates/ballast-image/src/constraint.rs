//! Semver constraints with the semantics Flux's image policies (and Helm) use: Masterminds
//! semver v3, not Cargo's. The differences that matter: a bare version means exactly it; `1.x`,
//! `1.2.*` and missing parts are wildcards; `a - b` is an inclusive range; and a prerelease
//! version passes a comparator only when that comparator's own version has a prerelease
//! (`>=1.0.0-0 <2.0.0-0` admits `1.5.0-rc.1`; `>=1.0.0-0 <2.0.0` does not).

use std::cmp::Ordering;

use semver::Version;

/// A parsed constraint: alternatives (`||`), each a list of comparators that must all hold.
#[derive(Clone, Debug)]
pub struct Constraint {
    alternatives: Vec<Vec<Comparator>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Clone, Debug)]
struct Comparator {
    op: Op,
    version: Version,
    /// A wildcard somewhere (`1.x`, `1`, `*`, an empty constraint).
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// Why a constraint does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("improper constraint: {0}")]
pub struct ConstraintError(pub String);

const OPS: &[&str] = &["!=", ">=", "=>", "<=", "=<", "~>", "=", ">", "<", "~", "^"];
const MAX_LEN: usize = 4096;

impl Constraint {
    /// Parses `>=1.0.0 <2.0.0`, `>= 1.0, < 2.0`, `^1.2`, `~1.2.3`, `1.x`, `*`, `1.0 - 1.4`,
    /// `1.0 || >=2.1.0-0`. Refuses what Masterminds refuses (`1.0.0.0`, `>=abc`, `>`).
    pub fn parse(text: &str) -> Result<Self, ConstraintError> {
        if text.len() > MAX_LEN {
            return Err(ConstraintError(format!("{}...", &text[..32])));
        }
        let rewritten = rewrite_ranges(text)?;
        let mut alternatives = Vec::new();
        for alt in rewritten.split("||") {
            let tokens = tokens(alt).ok_or_else(|| ConstraintError(alt.to_string()))?;
            let mut comparators = Vec::new();
            for (op, version) in tokens {
                comparators.push(comparator(&op, &version).ok_or_else(|| ConstraintError(alt.to_string()))?);
            }
            if comparators.is_empty() {
                return Err(ConstraintError(alt.to_string()));
            }
            alternatives.push(comparators);
        }
        Ok(Constraint { alternatives })
    }

    /// True when `v` satisfies some alternative.
    pub fn check(&self, v: &Version) -> bool {
        self.alternatives.iter().any(|alt| alt.iter().all(|c| c.check(v)))
    }
}

/// Splits one alternative into (operator, version) pairs separated by spaces or commas; the
/// operator may be followed by spaces (`>= 1.0`). `None` when something is not a comparator.
fn tokens(alt: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = alt.trim_start_matches(|c: char| c.is_whitespace());
    let mut first = true;
    while !rest.is_empty() {
        if !first {
            // Separator: whitespace, or a comma with optional whitespace.
            let trimmed = rest.trim_start();
            let trimmed = trimmed.strip_prefix(',').map(str::trim_start).unwrap_or(trimmed);
            if trimmed.len() == rest.len() {
                return None;
            }
            rest = trimmed;
            if rest.is_empty() {
                return None;
            }
        }
        first = false;
        let op = OPS.iter().find(|o| rest.starts_with(**o)).copied().unwrap_or("");
        rest = rest[op.len()..].trim_start();
        let end = rest.find(|c: char| c.is_whitespace() || c == ',').unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        out.push((op.to_string(), rest[..end].to_string()));
        rest = &rest[end..];
        if rest.trim().is_empty() {
            break;
        }
    }
    Some(out)
}

/// `a - b` (spaces required around the dash) becomes `>= a, <= b`, as Masterminds rewrites it.
fn rewrite_ranges(text: &str) -> Result<String, ConstraintError> {
    if !text.contains(" - ") {
        return Ok(text.to_string());
    }
    let mut out = Vec::new();
    for alt in text.split("||") {
        let words: Vec<&str> = alt.split_whitespace().collect();
        let mut rewritten = Vec::new();
        let mut i = 0;
        while i < words.len() {
            if i + 2 < words.len() && words[i + 1] == "-" && is_version_text(words[i]) && is_version_text(words[i + 2])
            {
                rewritten.push(format!(">= {}, <= {}", words[i], words[i + 2]));
                i += 3;
            } else {
                rewritten.push(words[i].to_string());
                i += 1;
            }
        }
        out.push(rewritten.join(" "));
    }
    Ok(out.join(" || "))
}

fn is_version_text(s: &str) -> bool {
    !s.is_empty()
        && s.trim_start_matches('v')
            .starts_with(|c: char| c.is_ascii_digit() || "xX*".contains(c))
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// One comparator: `op` and a version that may hold wildcards and a prerelease.
fn comparator(op: &str, text: &str) -> Option<Comparator> {
    let op = match op {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        _ => return None,
    };
    let text = text.strip_prefix('v').unwrap_or(text);
    let (core, suffix) = match text.find(['-', '+']) {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !(is_x(p) || p.bytes().all(|b| b.is_ascii_digit())))
    {
        return None;
    }
    // Prerelease and build only (the `+build` part is kept for parsing, ignored when compared).
    let pre_and_build = suffix;
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let version_text = if is_x(parts[0]) {
        dirty = true;
        format!("0.0.0{pre_and_build}")
    } else if parts.len() < 2 || is_x(parts[1]) {
        dirty = true;
        minor_dirty = true;
        format!("{}.0.0{pre_and_build}", num(parts[0])?)
    } else if parts.len() < 3 || is_x(parts[2]) {
        dirty = true;
        patch_dirty = true;
        format!("{}.{}.0{pre_and_build}", num(parts[0])?, num(parts[1])?)
    } else {
        format!(
            "{}.{}.{}{pre_and_build}",
            num(parts[0])?,
            num(parts[1])?,
            num(parts[2])?
        )
    };
    let version = Version::parse(&version_text).ok()?;
    Some(Comparator {
        op,
        version,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// A numeric part as Masterminds reads it (leading zeros allowed in constraints).
fn num(s: &str) -> Option<u64> {
    s.parse().ok()
}

fn cmp(a: &Version, b: &Version) -> Ordering {
    a.cmp_precedence(b)
}

impl Comparator {
    fn check(&self, v: &Version) -> bool {
        let c = &self.version;
        // A prerelease passes only comparators looking for prereleases.
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        match self.op {
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if self.minor_dirty {
                        return false;
                    }
                    if c.minor != v.minor {
                        return true;
                    }
                    if self.patch_dirty {
                        return (!v.pre.is_empty() || !c.pre.is_empty()) && v.pre != c.pre;
                    }
                }
                cmp(v, c) != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return cmp(v, c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                cmp(v, c) == Ordering::Greater
            }
            Op::Less => cmp(v, c) == Ordering::Less,
            Op::GreaterEqual => cmp(v, c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return cmp(v, c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Tilde => self.tilde(v),
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    cmp(v, c) == Ordering::Equal
                }
            }
            Op::Caret => {
                if cmp(v, c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == c.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if cmp(v, c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// A tag as Flux's semver policy reads it: strict `MAJOR.MINOR.PATCH[-pre][+build]` with an
/// optional leading `v` (`1.2` and `01.2.3` are not versions).
pub fn parse_tag(tag: &str) -> Option<Version> {
    Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        Constraint::parse(c)
            .unwrap_or_else(|e| panic!("{c}: {e}"))
            .check(&Version::parse(v).unwrap())
    }

    #[test]
    fn masterminds_table() {
        // (constraint, version, expected) from Masterminds' documented rules.
        let cases = [
            ("=2.0.0", "1.2.3", false),
            ("=2.0.0", "2.0.0", true),
            ("2.0.0", "2.0.0", true),
            ("4.1", "4.1.0", true),
            ("4.1.x", "4.1.3", true),
            ("1.x", "1.4.0", true),
            ("1.x", "2.0.0", false),
            ("2", "2.9.9", true),
            ("*", "4.1.3", true),
            ("*", "1.0.0-beta", false),
            ("!=4.1", "4.1.0", false),
            ("!=4.1", "5.1.0", true),
            ("!=4.x", "5.1.0", true),
            ("!=4.x", "4.1.0", false),
            (">1.1", "4.1.0", true),
            (">1.1", "1.1.0", false),
            (">1.1", "1.2.0", true),
            (">11", "11.1.0", false),
            (">11", "12.0.0", true),
            ("<1.1", "1.1.0", false),
            ("<1.1", "1.0.9", true),
            (">=1.1", "1.1.0", true),
            ("<=1.1", "1.1.1", true),
            ("<=1.1", "1.2.0", false),
            ("<=1.1.0", "1.1.1", false),
            ("~1.2.3", "1.2.4", true),
            ("~1.2.3", "1.3.0", false),
            ("~1.2", "1.2.9", true),
            ("~1", "1.9.0", true),
            ("~1", "2.0.0", false),
            ("~0.0.0", "5.0.0", true),
            ("^1.2.3", "1.8.0", true),
            ("^1.2.3", "2.0.0", false),
            ("^1.2.3", "1.2.2", false),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            ("^0", "0.9.0", true),
            ("^0.0", "0.0.9", true),
            ("^0.0", "0.1.0", false),
            (">=1.0.0 <2.0.0", "1.5.0", true),
            (">= 1.0, < 2.0", "2.0.0", false),
            ("1.0 - 1.4", "1.4.0", true),
            ("1.0 - 1.4", "1.4.1", true),
            ("1.0.0 - 1.4.0", "1.4.1", false),
            ("1.0 || >=3.1", "3.2.0", true),
            ("1.0 || >=3.1", "2.0.0", false),
            // Prereleases: per comparator.
            (">=1.0.0-0", "1.5.0-rc.1", true),
            (">=1.0.0-0 <2.0.0", "1.5.0-rc.1", false),
            (">=1.0.0-0 <2.0.0-0", "1.5.0-rc.1", true),
            (">=1.0.0", "1.5.0-rc.1", false),
            ("^1.2.3-beta.2", "1.2.3-beta.4", true),
            ("^1.2.3-beta.2", "1.3.0-alpha", true),
            ("~1.2.3-beta.2", "1.2.3-beta.1", false),
            // Build metadata is ignored.
            ("=1.0.0", "1.0.0+build.5", true),
        ];
        for (c, v, want) in cases {
            assert_eq!(ok(c, v), want, "{c} against {v}");
        }
    }

    #[test]
    fn bad_constraints_are_refused() {
        for c in [
            "",
            "1.0 ||",
            "1.0.0.0",
            ">=abc",
            ">",
            "1.0 - ",
            ">=1.0.0 , , <2",
            "=>=1",
        ] {
            assert!(Constraint::parse(c).is_err(), "{c} parsed");
        }
        assert!(Constraint::parse(&"1".repeat(5000)).is_err());
    }

    #[test]
    fn tags_are_parsed_strictly() {
        assert!(parse_tag("v1.2.3").is_some());
        assert!(parse_tag("1.2.3-rc.1+b7").is_some());
        for t in ["1.2", "latest", "01.2.3", "1.2.3.4", "vv1.2.3", ""] {
            assert!(parse_tag(t).is_none(), "{t}");
        }
    }
}
