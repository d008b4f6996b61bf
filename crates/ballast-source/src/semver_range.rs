//! Semver ranges in the syntax Flux users write (Masterminds), on top of the `semver` crate.

use semver::{Version, VersionReq};

/// A parsed range: alternatives separated by `||`, each a set of comparators that must all hold.
#[derive(Clone, Debug)]
pub struct SemverRange {
    alternatives: Vec<VersionReq>,
}

impl SemverRange {
    /// Parses `>=1.0.0 <2.0.0`, `~1.2`, `^1`, `1.2.x`, `1.2 - 1.4`, `>=1.0, <2.0`, `1.0 || 2.x`.
    /// A bare version means exactly that version (Masterminds), not a caret range (Cargo).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut alternatives = Vec::new();
        for alt in text.split("||") {
            let tokens: Vec<&str> = alt
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|t| !t.is_empty())
                .collect();
            let mut comparators = Vec::new();
            let mut i = 0;
            while i < tokens.len() {
                let t = tokens[i];
                if i + 2 < tokens.len() && tokens[i + 1] == "-" {
                    comparators.push(format!(">={}", strip_v(t)));
                    comparators.push(format!("<={}", strip_v(tokens[i + 2])));
                    i += 3;
                    continue;
                }
                let is_op = t.chars().all(|c| "<>=!~^".contains(c));
                let (op, version) = if is_op && i + 1 < tokens.len() {
                    i += 1;
                    (t.to_string(), tokens[i])
                } else {
                    let split = t.find(|c: char| !"<>=!~^".contains(c)).unwrap_or(t.len());
                    (t[..split].to_string(), &t[split..])
                };
                let version = strip_v(version);
                let op = match op.as_str() {
                    "" if version.contains(['x', 'X', '*']) => String::new(),
                    "" => "=".into(),
                    "~>" => "~".into(),
                    "!=" => return Err("!= is not supported".into()),
                    o => o.into(),
                };
                comparators.push(format!("{op}{version}"));
                i += 1;
            }
            if comparators.is_empty() {
                return Err("empty range".into());
            }
            let req = VersionReq::parse(&comparators.join(", ")).map_err(|e| e.to_string())?;
            alternatives.push(req);
        }
        Ok(SemverRange { alternatives })
    }

    /// True if `v` satisfies any alternative.
    pub fn matches(&self, v: &Version) -> bool {
        self.alternatives.iter().any(|r| r.matches(v))
    }

    /// The highest tag that parses as a version and matches, with its version.
    pub fn highest<'a>(&self, tags: impl IntoIterator<Item = &'a str>) -> Option<(&'a str, Version)> {
        tags.into_iter()
            .filter_map(|t| parse_version(t).map(|v| (t, v)))
            .filter(|(_, v)| self.matches(v))
            .max_by(|a, b| a.1.cmp(&b.1))
    }
}

fn strip_v(s: &str) -> &str {
    s.strip_prefix(['v', 'V']).unwrap_or(s)
}

/// Parses a tag as a version leniently: `v1.2.3`, `1.2` (as 1.2.0), `1` (as 1.0.0),
/// `1.2.3-rc.1`, `1.2.3+build`.
pub fn parse_version(tag: &str) -> Option<Version> {
    let t = strip_v(tag);
    if let Ok(v) = Version::parse(t) {
        return Some(v);
    }
    let end = t.find(['-', '+']).unwrap_or(t.len());
    let (core, rest) = t.split_at(end);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || !parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let mut full = parts.join(".");
    for _ in parts.len()..3 {
        full.push_str(".0");
    }
    Version::parse(&format!("{full}{rest}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAGS: &[&str] = &[
        "v0.9.0",
        "v1.0.0",
        "v1.2.0",
        "v1.2.5",
        "v1.3.0",
        "v2.0.0",
        "v2.1.0-rc.1",
        "latest",
        "1.10",
    ];

    fn pick(range: &str) -> Option<&'static str> {
        SemverRange::parse(range)
            .unwrap()
            .highest(TAGS.iter().copied())
            .map(|(t, _)| t)
    }

    #[test]
    fn masterminds_ranges() {
        assert_eq!(pick(">=1.0.0 <2.0.0"), Some("1.10"));
        assert_eq!(pick(">=1.0.0, <1.3.0"), Some("v1.2.5"));
        assert_eq!(pick("~1.2"), Some("v1.2.5"));
        assert_eq!(pick("^1.2"), Some("1.10"));
        assert_eq!(pick("1.2.x"), Some("v1.2.5"));
        assert_eq!(pick("1.2.0"), Some("v1.2.0"));
        assert_eq!(pick("1.0 - 1.2.9"), Some("v1.2.5"));
        assert_eq!(pick(">= 2.0.0"), Some("v2.0.0"));
        assert_eq!(pick("~0.9 || ~1.3"), Some("v1.3.0"));
        assert_eq!(pick(">=3.0.0"), None);
        assert_eq!(pick("*"), Some("v2.0.0"));
        assert!(SemverRange::parse("not a range").is_err());
    }
}
