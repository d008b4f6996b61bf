//! Image policies as Flux's `ImagePolicy` applies them: tags minus the exclusion list, then
//! `filterTags` (`pattern`, `extract`), then one of `semver`, `alphabetical`, `numerical`. The
//! chosen tag is always the registry's original spelling.
//!
//! Where Flux fails the whole policy on one odd tag (`numerical` with a tag such as
//! `20260528-153652`), Ballast skips that tag and reports it in [`Selection::skipped`].

use std::collections::BTreeMap;

use regex::Regex;

use crate::constraint::{Constraint, parse_tag};

/// Why a policy chose nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    /// A regular expression (filter or exclusion) does not compile.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    Regex {
        /// The pattern as written.
        pattern: String,
        /// What the regex engine said.
        reason: String,
    },
    /// The semver range does not parse.
    #[error("invalid semver range {range:?}: {reason}")]
    Range {
        /// The range as written.
        range: String,
        /// What is wrong.
        reason: String,
    },
    /// An `order` other than `asc` / `desc`.
    #[error("invalid order {0:?}: must be asc or desc")]
    Order(String),
    /// No tag is left to choose from.
    #[error("no tag matches the policy ({considered} tags considered)")]
    NoCandidate {
        /// How many tags were left after the exclusion list and the filter.
        considered: usize,
    },
}

/// How the newest tag is chosen.
#[derive(Clone, Debug)]
pub enum Policy {
    /// The highest version in the range (Masterminds semantics).
    Semver(Constraint),
    /// Byte order; `descending: false` (Flux's `asc`, the default) picks the greatest.
    Alphabetical {
        /// `order: desc`: pick the smallest.
        descending: bool,
    },
    /// Numeric order of the tags read as floating-point numbers.
    Numerical {
        /// `order: desc`: pick the smallest.
        descending: bool,
    },
}

impl Policy {
    /// A semver policy over `range`.
    pub fn semver(range: &str) -> Result<Self, PolicyError> {
        Constraint::parse(range)
            .map(Policy::Semver)
            .map_err(|e| PolicyError::Range {
                range: range.to_string(),
                reason: e.to_string(),
            })
    }

    /// Reads Flux's `order` field (`asc` or `desc`, any case; empty means `asc`).
    pub fn descending(order: &str) -> Result<bool, PolicyError> {
        match order.to_ascii_lowercase().as_str() {
            "" | "asc" => Ok(false),
            "desc" => Ok(true),
            _ => Err(PolicyError::Order(order.to_string())),
        }
    }
}

/// `filterTags`: keep tags matching `pattern`; with `extract`, compare the expansion
/// (`$1`, `${name}`) instead of the tag itself.
#[derive(Clone, Debug)]
pub struct TagFilter {
    pattern: Regex,
    extract: String,
}

impl TagFilter {
    /// Compiles the filter (Go RE2 syntax, which Rust's `regex` shares for these uses).
    pub fn new(pattern: &str, extract: &str) -> Result<Self, PolicyError> {
        Ok(TagFilter {
            pattern: compile(pattern)?,
            extract: extract.to_string(),
        })
    }
}

fn compile(pattern: &str) -> Result<Regex, PolicyError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| PolicyError::Regex {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })
}

/// Compiles an `exclusionList` (Flux's default when empty: `^.*\.sig$`).
pub fn exclusions(list: &[String]) -> Result<Vec<Regex>, PolicyError> {
    if list.is_empty() {
        return Ok(vec![compile(r"^.*\.sig$")?]);
    }
    list.iter().map(|p| compile(p)).collect()
}

/// What a policy chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// The chosen tag, as the registry spells it.
    pub tag: String,
    /// Tags the policy could not read (numerical: not a number), skipped rather than fatal.
    pub skipped: Vec<String>,
}

/// Chooses the newest of `tags` (the registry's list) by `policy`, after `excluded` and
/// `filter`.
pub fn select(
    tags: &[String],
    excluded: &[Regex],
    filter: Option<&TagFilter>,
    policy: &Policy,
) -> Result<Selection, PolicyError> {
    // Compared value -> original tag; a later tag with the same value wins, as in Flux.
    let mut candidates: BTreeMap<String, String> = BTreeMap::new();
    for tag in tags.iter().filter(|t| !excluded.iter().any(|r| r.is_match(t))) {
        match filter {
            None => {
                candidates.insert(tag.clone(), tag.clone());
            }
            Some(f) => {
                if let Some(caps) = f.pattern.captures(tag) {
                    let value = if f.extract.is_empty() {
                        tag.clone()
                    } else {
                        let mut out = String::new();
                        caps.expand(&f.extract, &mut out);
                        out
                    };
                    candidates.insert(value, tag.clone());
                }
            }
        }
    }
    let considered = candidates.len();
    let mut skipped = Vec::new();
    let chosen = match policy {
        Policy::Semver(range) => candidates
            .iter()
            .filter_map(|(value, tag)| parse_tag(value).map(|v| (v, tag)))
            .filter(|(v, _)| range.check(v))
            .max_by(|a, b| a.0.compare(&b.0).then_with(|| b.1.cmp(a.1)))
            .map(|(_, tag)| tag.clone()),
        Policy::Alphabetical { descending } => {
            let mut it = candidates.iter();
            let pick = if *descending { it.next() } else { it.next_back() };
            pick.map(|(_, tag)| tag.clone())
        }
        Policy::Numerical { descending } => {
            let mut numbers = Vec::new();
            for (value, tag) in &candidates {
                match value.parse::<f64>() {
                    Ok(n) if !n.is_nan() => numbers.push((n, value, tag)),
                    _ => skipped.push(tag.clone()),
                }
            }
            let order = |a: &(f64, &String, &String), b: &(f64, &String, &String)| {
                a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1))
            };
            let pick = if *descending {
                numbers.into_iter().min_by(order)
            } else {
                numbers.into_iter().max_by(order)
            };
            pick.map(|(_, _, tag)| tag.clone())
        }
    };
    match chosen {
        Some(tag) => Ok(Selection { tag, skipped }),
        None => Err(PolicyError::NoCandidate { considered }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn pick(list: &[&str], filter: Option<(&str, &str)>, policy: Policy) -> Result<Selection, PolicyError> {
        let filter = filter.map(|(p, e)| TagFilter::new(p, e).unwrap());
        select(&tags(list), &exclusions(&[]).unwrap(), filter.as_ref(), &policy)
    }

    #[test]
    fn semver_picks_the_highest_in_range_with_its_original_spelling() {
        let list = [
            "1.0.0",
            "v1.3.0",
            "1.2.9",
            "2.0.0",
            "1.4.0-rc.1",
            "latest",
            "1.5",
            "sha256-abc.sig",
        ];
        let s = pick(&list, None, Policy::semver(">=1.0.0 <2.0.0").unwrap()).unwrap();
        assert_eq!(s.tag, "v1.3.0");
        let s = pick(&list, None, Policy::semver(">=1.0.0-0 <2.0.0-0").unwrap()).unwrap();
        assert_eq!(s.tag, "1.4.0-rc.1");
        assert_eq!(
            pick(&list, None, Policy::semver(">=3").unwrap()),
            Err(PolicyError::NoCandidate { considered: 7 })
        );
        assert!(matches!(Policy::semver(">=x.y"), Err(PolicyError::Range { .. })));
    }

    #[test]
    fn alphabetical_both_orders_and_exclusions() {
        let list = [
            "RELEASE.2024-01-02",
            "RELEASE.2024-03-01",
            "RELEASE.2023-12-31",
            "zzz.sig",
        ];
        let s = pick(&list, None, Policy::Alphabetical { descending: false }).unwrap();
        assert_eq!(s.tag, "RELEASE.2024-03-01");
        let s = pick(&list, None, Policy::Alphabetical { descending: true }).unwrap();
        assert_eq!(s.tag, "RELEASE.2023-12-31");
        assert_eq!(Policy::descending("DESC"), Ok(true));
        assert!(Policy::descending("up").is_err());
    }

    #[test]
    fn numerical_with_extract_skips_odd_tags() {
        let list = [
            "main-10-abc",
            "main-9-def",
            "main-100-fff",
            "feature-200-aaa",
            "main-x-1",
        ];
        let s = pick(
            &list,
            Some((r"^main-(?P<n>[^-]+)-", "$n")),
            Policy::Numerical { descending: false },
        )
        .unwrap();
        assert_eq!(s.tag, "main-100-fff");
        assert_eq!(s.skipped, vec!["main-x-1".to_string()]);
        let s = pick(
            &list,
            Some((r"^main-(\d+)-", "${1}")),
            Policy::Numerical { descending: true },
        )
        .unwrap();
        assert_eq!(s.tag, "main-9-def");
        // Flux fails the whole policy on this tag; here it is skipped.
        let s = pick(
            &["20260528-153652", "3", "12"],
            None,
            Policy::Numerical { descending: false },
        )
        .unwrap();
        assert_eq!((s.tag.as_str(), s.skipped.len()), ("12", 1));
    }

    #[test]
    fn filter_without_extract_and_bad_patterns() {
        let s = pick(
            &["1.0.0", "1.1.0-debug", "1.0.5"],
            Some((r"^\d+\.\d+\.\d+$", "")),
            Policy::semver("*").unwrap(),
        );
        assert_eq!(s.unwrap().tag, "1.0.5");
        assert!(matches!(TagFilter::new("(", ""), Err(PolicyError::Regex { .. })));
    }
}
