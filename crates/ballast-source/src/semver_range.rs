//! Semver ranges over Git tags as Flux's `GitRepository` `ref.semver` reads them: Masterminds
//! semver v3 constraints, tags parsed strictly (an optional leading `v`; `1.10` or `latest` are
//! not versions and are skipped), the highest matching tag chosen.

use ballast_image::{Constraint, Version, parse_tag};

/// A parsed range.
#[derive(Clone, Debug)]
pub struct SemverRange {
    constraint: Constraint,
}

impl SemverRange {
    /// Parses `>=1.0.0 <2.0.0`, `~1.2`, `^1`, `1.2.x`, `1.2 - 1.4`, `>=1.0, <2.0`, `1.0 || 2.x`.
    /// A bare version means exactly that version (Masterminds), not a caret range (Cargo).
    pub fn parse(text: &str) -> Result<Self, String> {
        Constraint::parse(text)
            .map(|constraint| SemverRange { constraint })
            .map_err(|e| e.to_string())
    }

    /// True if `v` satisfies the range.
    pub fn matches(&self, v: &Version) -> bool {
        self.constraint.check(v)
    }

    /// The highest tag that parses as a version and matches, with its version.
    pub fn highest<'a>(&self, tags: impl IntoIterator<Item = &'a str>) -> Option<(&'a str, Version)> {
        tags.into_iter()
            .filter_map(|t| parse_tag(t).map(|v| (t, v)))
            .filter(|(_, v)| self.matches(v))
            .max_by(|a, b| a.1.compare(&b.1).then_with(|| b.0.cmp(a.0)))
    }
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
        // `1.10` is no strict version: skipped, as Flux skips it.
        assert_eq!(pick(">=1.0.0 <2.0.0"), Some("v1.3.0"));
        assert_eq!(pick(">=1.0.0, <1.3.0"), Some("v1.2.5"));
        assert_eq!(pick("~1.2"), Some("v1.2.5"));
        assert_eq!(pick("^1.2"), Some("v1.3.0"));
        assert_eq!(pick(">=2.1.0-0"), Some("v2.1.0-rc.1"));
        assert_eq!(pick("1.2.x"), Some("v1.2.5"));
        assert_eq!(pick("1.2.0"), Some("v1.2.0"));
        assert_eq!(pick("1.0 - 1.2.9"), Some("v1.2.5"));
        assert_eq!(pick(">= 2.0.0"), Some("v2.0.0"));
        assert_eq!(pick("~0.9 || ~1.3"), Some("v1.3.0"));
        assert_eq!(pick(">=3.0.0"), None);
        assert_eq!(pick("*"), Some("v2.0.0"));
        assert!(SemverRange::parse("not a range").is_err());
        assert!(SemverRange::parse(">=1.0.0 !=1.2.0").is_ok());
    }
}
