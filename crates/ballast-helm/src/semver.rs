//! Semantic versions and version constraints as Helm reads them (Masterminds semver v3.4).
//!
//! [`Version::parse`] is lenient the way Helm is: a `v` prefix and missing minor or patch
//! numbers are accepted (`v1.2` is 1.2.0), leading zeros in the numbers too; pre-release and
//! build metadata are validated. [`Constraints::parse`] reads the constraint grammar charts use
//! for `kubeVersion`, dependency versions and `semverCompare`: comparisons `= != > < >= <= =>
//! =<`, tilde `~ ~>`, caret `^`, wildcards `x X *`, hyphen ranges `1.2 - 1.4`, AND by spaces or
//! commas and OR by `||`. A version with a pre-release satisfies an AND group only when one of
//! the group's constraints names a pre-release (so `>=1.20.0-0` admits `1.35.0-gke.1` and
//! `>=1.20.0` does not).

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// Why a version string was refused; the texts are Masterminds'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionError(String);

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VersionError {}

const INVALID: &str = "invalid semantic version";
const STARTS_ZERO: &str = "version segment starts with 0";
const BAD_PRERELEASE: &str = "invalid prerelease string";
const BAD_METADATA: &str = "invalid metadata string";

/// A semantic version: three numbers, an optional pre-release and build metadata, and the
/// text it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Length of a run of dot-separated non-empty identifiers (`[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*`)
/// at the start of `s`.
fn ident_run(s: &[u8]) -> usize {
    let mut i = 0;
    loop {
        let start = i;
        while i < s.len() && is_ident_char(s[i]) {
            i += 1;
        }
        if i == start {
            // An empty identifier: the run ends before the dot that led here.
            return start.saturating_sub(1);
        }
        if i < s.len() && s[i] == b'.' && i + 1 < s.len() && is_ident_char(s[i + 1]) {
            i += 1;
        } else {
            return i;
        }
    }
}

fn parse_number(digits: &str) -> Result<u64, VersionError> {
    digits.parse::<u64>().map_err(|_| {
        VersionError(format!(
            "error parsing version segment: strconv.ParseUint: parsing \"{digits}\": value out of range"
        ))
    })
}

fn validate_prerelease(p: &str) -> Result<(), VersionError> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err(VersionError(BAD_PRERELEASE.into()));
        }
        if part.bytes().all(|b| b.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err(VersionError(STARTS_ZERO.into()));
            }
        } else if !part.bytes().all(is_ident_char) {
            return Err(VersionError(BAD_PRERELEASE.into()));
        }
    }
    Ok(())
}

fn validate_metadata(m: &str) -> Result<(), VersionError> {
    if m.split('.').any(|p| p.is_empty() || !p.bytes().all(is_ident_char)) {
        return Err(VersionError(BAD_METADATA.into()));
    }
    Ok(())
}

impl Version {
    /// Parses a version leniently: `v1.2.3`, `1.2`, `1`, `1.2.3-rc.1+build`.
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        let b = s.as_bytes();
        let mut i = usize::from(b.first() == Some(&b'v'));
        let mut nums: Vec<&str> = Vec::with_capacity(3);
        while nums.len() < 3 {
            if !nums.is_empty() {
                if b.get(i) != Some(&b'.') || !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    break;
                }
                i += 1;
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(VersionError(INVALID.into()));
            }
            nums.push(&s[start..i]);
        }
        let mut pre = "";
        let mut metadata = "";
        if b.get(i) == Some(&b'-') {
            let n = ident_run(&b[i + 1..]);
            if n == 0 {
                return Err(VersionError(INVALID.into()));
            }
            pre = &s[i + 1..i + 1 + n];
            i += 1 + n;
        }
        if b.get(i) == Some(&b'+') {
            let n = ident_run(&b[i + 1..]);
            if n == 0 {
                return Err(VersionError(INVALID.into()));
            }
            metadata = &s[i + 1..i + 1 + n];
            i += 1 + n;
        }
        if i != b.len() {
            return Err(VersionError(INVALID.into()));
        }
        let major = parse_number(nums[0])?;
        let minor = nums.get(1).map(|n| parse_number(n)).transpose()?.unwrap_or(0);
        let patch = nums.get(2).map(|n| parse_number(n)).transpose()?.unwrap_or(0);
        if !pre.is_empty() {
            validate_prerelease(pre)?;
        }
        if !metadata.is_empty() {
            validate_metadata(metadata)?;
        }
        Ok(Version {
            major,
            minor,
            patch,
            pre: pre.into(),
            metadata: metadata.into(),
            original: s.into(),
        })
    }

    /// The major number.
    pub fn major(&self) -> u64 {
        self.major
    }
    /// The minor number (0 when the text had none).
    pub fn minor(&self) -> u64 {
        self.minor
    }
    /// The patch number (0 when the text had none).
    pub fn patch(&self) -> u64 {
        self.patch
    }
    /// The pre-release, without its `-` ("" when none).
    pub fn prerelease(&self) -> &str {
        &self.pre
    }
    /// The build metadata, without its `+` ("" when none).
    pub fn metadata(&self) -> &str {
        &self.metadata
    }
    /// The text the version was parsed from.
    pub fn original(&self) -> &str {
        &self.original
    }

    fn v_prefix(&self) -> &'static str {
        if self.original.starts_with('v') { "v" } else { "" }
    }
    fn with_original(mut self, prefix: &str) -> Version {
        self.original = format!("{prefix}{self}");
        self
    }
    /// The next patch version (a pre-release just drops its pre-release), metadata dropped.
    pub fn inc_patch(&self) -> Version {
        let mut n = self.clone();
        if self.pre.is_empty() {
            n.patch = self.patch.wrapping_add(1);
        }
        n.pre.clear();
        n.metadata.clear();
        n.with_original(self.v_prefix())
    }
    /// The next minor version, patch 0, no pre-release or metadata.
    pub fn inc_minor(&self) -> Version {
        let mut n = self.clone();
        n.minor = self.minor.wrapping_add(1);
        n.patch = 0;
        n.pre.clear();
        n.metadata.clear();
        n.with_original(self.v_prefix())
    }
    /// The next major version, minor and patch 0, no pre-release or metadata.
    pub fn inc_major(&self) -> Version {
        let mut n = self.clone();
        n.major = self.major.wrapping_add(1);
        n.minor = 0;
        n.patch = 0;
        n.pre.clear();
        n.metadata.clear();
        n.with_original(self.v_prefix())
    }
    /// The same version with another pre-release ("" removes it); the pre-release is validated.
    pub fn set_prerelease(&self, pre: &str) -> Result<Version, VersionError> {
        if !pre.is_empty() {
            validate_prerelease(pre)?;
        }
        let mut n = self.clone();
        n.pre = pre.into();
        Ok(n.with_original(self.v_prefix()))
    }
    /// The same version with other build metadata ("" removes it); the metadata is validated.
    pub fn set_metadata(&self, metadata: &str) -> Result<Version, VersionError> {
        if !metadata.is_empty() {
            validate_metadata(metadata)?;
        }
        let mut n = self.clone();
        n.metadata = metadata.into();
        Ok(n.with_original(self.v_prefix()))
    }

    /// Semantic-version precedence: numbers, then pre-release (a release ranks above its
    /// pre-releases); metadata is ignored.
    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }
}

impl fmt::Display for Version {
    /// The canonical form `MAJOR.MINOR.PATCH[-PRE][+META]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let mut pa = a.split('.');
    let mut pb = b.split('.');
    loop {
        match (pa.next(), pb.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let d = compare_pre_part(x.unwrap_or(""), y.unwrap_or(""));
                if d != Ordering::Equal {
                    return d;
                }
            }
        }
    }
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(a), Ok(b)) => {
            if a > b {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

/// Why a constraint string was refused; the texts are Masterminds'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstraintError(String);

impl fmt::Display for ConstraintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConstraintError {}

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

impl Op {
    fn from_text(s: &str) -> Option<Op> {
        Some(match s {
            "" | "=" => Op::TildeOrEqual,
            "!=" => Op::NotEqual,
            ">" => Op::Greater,
            "<" => Op::Less,
            ">=" | "=>" => Op::GreaterEqual,
            "<=" | "=<" => Op::LessEqual,
            "~" | "~>" => Op::Tilde,
            "^" => Op::Caret,
            _ => return None,
        })
    }
}

/// One comparison, e.g. `>= 1.2.x`.
#[derive(Clone, Debug)]
struct Constraint {
    op: Op,
    op_text: String,
    text: String,
    con: Version,
    /// Some part was a wildcard or missing.
    dirty: bool,
    /// The minor part (and so the patch) was a wildcard or missing.
    minor_dirty: bool,
    /// Only the patch part was a wildcard or missing.
    patch_dirty: bool,
}

/// A version in a constraint: `v?` three parts of digits or wildcards, pre-release, metadata.
/// The part classes keep `|` as the reference grammar does.
const CV: &str = r"v?([0-9|xX*]+)(\.[0-9|xX*]+)?(\.[0-9|xX*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
/// The operators; the empty one (plain equality) is an alternative too.
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

fn must(re: &str) -> Regex {
    // The patterns are constants checked by the tests.
    Regex::new(re).unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
}

/// Go's `\s` (ASCII white space only).
const WS: &str = r"[\t\n\f\r ]";

static ONE: LazyLock<Regex> = LazyLock::new(|| must(&format!(r"^{WS}*({OPS}){WS}*({CV}){WS}*$")));
static RANGE: LazyLock<Regex> = LazyLock::new(|| must(&format!(r"{WS}*({CV}){WS}+-{WS}+({CV}){WS}*")));
static FIND: LazyLock<Regex> = LazyLock::new(|| must(&format!(r"({OPS}){WS}*({CV})")));
static VALID: LazyLock<Regex> = LazyLock::new(|| {
    must(&format!(
        r"^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$"
    ))
});

/// A version in a constraint, split as the pattern `CV` groups it: the whole text, the major
/// part, `.minor` and `.patch` with their dots, and `-pre-release` with its dash (each empty
/// when absent).
#[derive(Clone, Copy)]
struct Cv<'a> {
    text: &'a str,
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    pre: &'a str,
}

/// Go's `\s` (ASCII white space only), as a byte test.
fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// A part of a version's number: `[0-9|xX*]` less `|` (a text with `|` is left to the
/// patterns).
fn is_part_char(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'x' | b'X' | b'*')
}

fn is_op_char(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'<' | b'>' | b'~' | b'^')
}

/// Reads a version at `s[start..]` as the pattern `CV` does (greedy): its split and the index
/// after it, or `None` when no version starts there.
fn read_cv(s: &str, start: usize) -> Option<(Cv<'_>, usize)> {
    let b = s.as_bytes();
    let run = |from: usize, f: fn(u8) -> bool| from + b[from..].iter().take_while(|c| f(**c)).count();
    let mut i = start + usize::from(b.get(start) == Some(&b'v'));
    let major_start = i;
    i = run(i, is_part_char);
    if i == major_start {
        return None;
    }
    let major_end = i;
    // `.minor`, then `.patch`: a dot followed by at least one part character.
    let mut dotted = [(i, i); 2];
    for d in &mut dotted {
        let from = i;
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(|c| is_part_char(*c)) {
            i = run(i + 1, is_part_char);
        }
        *d = (from, i);
    }
    // `-pre-release` and `+metadata`: a sign followed by dot-separated identifiers.
    let mut signed = [(i, i); 2];
    for (d, sign) in signed.iter_mut().zip([b'-', b'+']) {
        let from = i;
        if b.get(i) == Some(&sign) {
            let n = ident_run(&b[i + 1..]);
            if n > 0 {
                i += 1 + n;
            }
        }
        *d = (from, i);
    }
    let cv = Cv {
        text: &s[start..i],
        major: &s[major_start..major_end],
        minor: &s[dotted[0].0..dotted[0].1],
        patch: &s[dotted[1].0..dotted[1].1],
        pre: &s[signed[0].0..signed[0].1],
    };
    Some((cv, i))
}

/// One constraint as read without the patterns: the text a `FIND` match would hold (for
/// messages), the operator and the version.
type PlainConstraint<'a> = (&'a str, &'a str, Cv<'a>);

/// The constraints of one `||` branch, read without the patterns when the branch is in the
/// plain form every chart writes: white space, then constraints each an operator (a run of
/// `=!<>~^`), white space and a version, separated by white space or one comma (with white
/// space around it), then white space. The patterns read such a branch the same way
/// (`VALID` matches it and `FIND` finds these constraints), since a version cannot end
/// where a separator is not. `None` for anything else, left to the patterns: `|`, a hyphen
/// range, a misplaced comma or operator, a version followed by another character.
fn read_plain(part: &str) -> Option<Vec<PlainConstraint<'_>>> {
    let b = part.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        i
    };
    let mut found = Vec::new();
    let mut i = skip_ws(0);
    loop {
        let op_start = i;
        while i < b.len() && is_op_char(b[i]) {
            i += 1;
        }
        let op = &part[op_start..i];
        Op::from_text(op)?;
        let (cv, end) = read_cv(part, skip_ws(i))?;
        found.push((&part[op_start..end], op, cv));
        i = skip_ws(end);
        if i == b.len() {
            return Some(found);
        }
        if b[i] == b',' {
            i = skip_ws(i + 1);
        } else if i == end {
            // Neither white space nor a comma after the version.
            return None;
        }
    }
}

fn is_wild(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    fn parse(c: &str) -> Result<Constraint, ConstraintError> {
        if c.is_empty() {
            return Ok(Constraint {
                op: Op::TildeOrEqual,
                op_text: String::new(),
                text: String::new(),
                con: Version::parse("0.0.0").map_err(|e| ConstraintError(e.0))?,
                dirty: true,
                minor_dirty: false,
                patch_dirty: false,
            });
        }
        let m = ONE
            .captures(c)
            .ok_or_else(|| ConstraintError(format!("improper constraint: {c}")))?;
        let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
        Constraint::from_parts(
            c,
            g(1),
            Cv {
                text: g(2),
                major: g(3),
                minor: g(4),
                patch: g(5),
                pre: g(6),
            },
        )
    }

    /// The constraint of operator `op` on version `cv`, as read from the text `c`.
    fn from_parts(c: &str, op: &str, cv: Cv<'_>) -> Result<Constraint, ConstraintError> {
        let op_kind = Op::from_text(op).ok_or_else(|| ConstraintError(format!("improper constraint: {c}")))?;
        let Cv {
            text,
            major,
            minor,
            patch,
            pre,
        } = cv;
        let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
        let ver = if is_wild(major) || major.is_empty() {
            dirty = true;
            format!("0.0.0{pre}")
        } else if minor.is_empty() || is_wild(&minor[1..]) {
            dirty = true;
            minor_dirty = true;
            format!("{major}.0.0{pre}")
        } else if patch.is_empty() || is_wild(&patch[1..]) {
            dirty = true;
            patch_dirty = true;
            format!("{major}{minor}.0{pre}")
        } else {
            text.to_string()
        };
        let con = Version::parse(&ver).map_err(|_| ConstraintError("constraint parser error".into()))?;
        Ok(Constraint {
            op: op_kind,
            op_text: op.into(),
            text: text.into(),
            con,
            dirty,
            minor_dirty,
            patch_dirty,
        })
    }

    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op {
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    }
                    if self.minor_dirty {
                        return false;
                    }
                    if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    }
                    if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
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
                v.compare(c) == Ordering::Greater
            }
            Op::Less => v.compare(c) == Ordering::Less,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => self.caret(v),
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
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

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
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
        c.patch == v.patch
    }
}

/// One or more AND groups of constraints joined by OR.
#[derive(Clone, Debug)]
pub struct Constraints {
    groups: Vec<Vec<Constraint>>,
    /// Per group: some constraint names a pre-release, so pre-release versions may match.
    has_pre: Vec<bool>,
}

/// Hyphen ranges (`1.2 - 1.4`) become `>= 1.2, <= 1.4 `, first occurrence of each in turn.
fn rewrite_ranges(c: &str) -> String {
    let mut out = c.to_string();
    for m in RANGE.captures_iter(c) {
        let (Some(whole), Some(lo), Some(hi)) = (m.get(0), m.get(1), m.get(11)) else {
            continue;
        };
        let t = format!(">= {}, <= {} ", lo.as_str(), hi.as_str());
        out = out.replacen(whole.as_str(), &t, 1);
    }
    out
}

impl Constraints {
    /// Parses a constraint string; an empty one (or an empty OR branch) admits every release.
    pub fn parse(c: &str) -> Result<Constraints, ConstraintError> {
        match Constraints::parse_plain(c) {
            Some(parsed) => parsed,
            None => Constraints::parse_with_patterns(c),
        }
    }

    /// [`Constraints::parse`] without regular expressions (compiling them costs more than a
    /// whole small chart's render in a fresh process), when every `||` branch is in the plain
    /// form of [`read_plain`] and no hyphen range can match; `None` otherwise.
    fn parse_plain(c: &str) -> Option<Result<Constraints, ConstraintError>> {
        // A hyphen range needs white space before its `-`.
        if c.as_bytes().windows(2).any(|w| is_ws(w[0]) && w[1] == b'-') {
            return None;
        }
        let parts: Vec<Vec<PlainConstraint<'_>>> = c
            .split("||")
            .map(|part| if part.contains('|') { None } else { read_plain(part) })
            .collect::<Option<_>>()?;
        let mut groups = Vec::with_capacity(parts.len());
        let mut has_pre = Vec::with_capacity(parts.len());
        for part in parts {
            let mut group = Vec::with_capacity(part.len());
            let mut pre = false;
            for (text, op, cv) in part {
                match Constraint::from_parts(text, op, cv) {
                    Ok(pc) => {
                        pre |= !pc.con.pre.is_empty();
                        group.push(pc);
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            groups.push(group);
            has_pre.push(pre);
        }
        Some(Ok(Constraints { groups, has_pre }))
    }

    /// [`Constraints::parse`] by the reference's own patterns.
    fn parse_with_patterns(c: &str) -> Result<Constraints, ConstraintError> {
        let c = rewrite_ranges(c);
        let mut groups = Vec::new();
        let mut has_pre = Vec::new();
        for part in c.split("||") {
            if !VALID.is_match(part) {
                return Err(ConstraintError(format!("improper constraint: {part}")));
            }
            let mut found: Vec<&str> = FIND.find_iter(part).map(|m| m.as_str()).collect();
            if found.is_empty() {
                found.push(part);
            }
            let mut group = Vec::with_capacity(found.len());
            let mut pre = false;
            for s in found {
                let pc = Constraint::parse(s)?;
                pre |= !pc.con.pre.is_empty();
                group.push(pc);
            }
            groups.push(group);
            has_pre.push(pre);
        }
        Ok(Constraints { groups, has_pre })
    }

    /// True when `v` satisfies every constraint of some AND group.
    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .zip(&self.has_pre)
            .any(|(g, &pre)| g.iter().all(|c| c.check(v, pre)))
    }
}

impl fmt::Display for Constraints {
    /// The groups joined by ` || `, each constraint as written (operator and version).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|c| format!("{}{}", c.op_text, c.text))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        f.write_str(&groups.join(" || "))
    }
}

#[cfg(test)]
mod tests;
