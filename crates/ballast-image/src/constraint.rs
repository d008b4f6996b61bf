//! Semver ranges and tags as Flux's image policies read them: constraints with Masterminds
//! semver v3 semantics (the implementation Helm's functions use, `ballast_helm::semver`: a bare
//! version means exactly it; `1.x`, `1.2.*` and missing parts are wildcards; `a - b` is an
//! inclusive range; a prerelease version satisfies an AND group only when one of its
//! constraints names a prerelease), and tags parsed strictly as Flux's `version.ParseVersion`
//! does (`MAJOR.MINOR.PATCH[-pre][+build]` with an optional leading `v`; `1.2` is no version).

pub use ballast_helm::semver::{ConstraintError, Constraints as Constraint, Version};

/// A tag as a version, or `None` when Flux's semver policy would skip it.
pub fn parse_tag(tag: &str) -> Option<Version> {
    semver::Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()?;
    Version::parse(tag).ok()
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
            // Prereleases: admitted by a group naming one (Masterminds v3.4).
            (">=1.0.0-0", "1.5.0-rc.1", true),
            (">=1.0.0-0 <2.0.0", "1.5.0-rc.1", true),
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
        assert_eq!(
            parse_tag("v1.2.3").map(|v| v.original().to_string()).as_deref(),
            Some("v1.2.3")
        );
        assert!(parse_tag("1.2.3-rc.1+b7").is_some());
        for t in ["1.2", "latest", "01.2.3", "1.2.3.4", "vv1.2.3", ""] {
            assert!(parse_tag(t).is_none(), "{t}");
        }
    }
}
