//! Tables from Masterminds semver v3.4's own tests, and probes of `helm template`.

use super::*;

#[path = "go_cases.rs"]
mod go_cases;

const CHECK_ONE: &[(&str, &str, bool)] = &[
    ("=2.0.0", "1.2.3", false),
    ("=2.0.0", "2.0.0", true),
    ("=2.0", "1.2.3", false),
    ("=2.0", "2.0.0", true),
    ("=2.0", "2.0.1", true),
    ("4.1", "4.1.0", true),
    ("!=4.1.0", "4.1.0", false),
    ("!=4.1.0", "4.1.1", true),
    ("!=4.1", "4.1.0", false),
    ("!=4.1", "4.1.1", false),
    ("!=4.1", "5.1.0-alpha.1", false),
    ("!=4.1.0", "5.1.0-alpha.1", false),
    ("!=4.1-alpha", "4.1.0", true),
    ("!=4.1", "5.1.0", true),
    ("<11", "0.1.0", true),
    ("<11", "11.1.0", false),
    ("<1.1", "0.1.0", true),
    ("<1.1", "1.1.0", false),
    ("<1.1", "1.1.1", false),
    ("<=11", "1.2.3", true),
    ("<=11", "12.2.3", false),
    ("<=11", "11.2.3", true),
    ("<=1.1", "1.2.3", false),
    ("<=1.1", "0.1.0", true),
    ("<=1.1", "1.1.0", true),
    ("<=1.1", "1.1.1", true),
    (">1.1", "4.1.0", true),
    (">1.1", "1.1.0", false),
    (">0", "0", false),
    (">0", "1", true),
    (">0", "0.0.1-alpha", false),
    (">0.0", "0.0.1-alpha", false),
    (">0-0", "0.0.1-alpha", false),
    (">0.0-0", "0.0.1-alpha", false),
    (">0", "0.0.0-alpha", false),
    (">0-0", "0.0.0-alpha", false),
    (">0.0.0-0", "0.0.0-alpha", true),
    (">1.2.3-alpha.1", "1.2.3-alpha.2", true),
    (">1.2.3-alpha.1", "1.3.3-alpha.2", true),
    (">11", "11.1.0", false),
    (">11.1", "11.1.0", false),
    (">11.1", "11.1.1", false),
    (">11.1", "11.2.1", true),
    (">=11", "11.1.2", true),
    (">=11.1", "11.1.2", true),
    (">=11.1", "11.0.2", false),
    (">=1.1", "4.1.0", true),
    (">=1.1", "1.1.0", true),
    (">=1.1", "0.0.9", false),
    (">=0", "0.0.1-alpha", false),
    (">=0.0", "0.0.1-alpha", false),
    (">=0-0", "0.0.1-alpha", true),
    (">=0.0-0", "0.0.1-alpha", true),
    (">=0", "0.0.0-alpha", false),
    (">=0-0", "0.0.0-alpha", true),
    (">=0.0.0-0", "0.0.0-alpha", true),
    (">=0.0.0-0", "1.2.3", true),
    (">=0.0.0-0", "3.4.5-beta.1", true),
    ("<0", "0.0.0-alpha", false),
    ("<0-z", "0.0.0-alpha", true),
    (">=0", "0", true),
    ("=0", "1", false),
    ("*", "1", true),
    ("*", "4.5.6", true),
    ("*", "1.2.3-alpha.1", false),
    ("*-0", "1.2.3-alpha.1", true),
    ("2.*", "1", false),
    ("2.*", "3.4.5", false),
    ("2.*", "2.1.1", true),
    ("2.1.*", "2.1.1", true),
    ("2.1.*", "2.2.1", false),
    ("", "1", true), // An empty string is treated as * or wild card
    ("", "4.5.6", true),
    ("", "1.2.3-alpha.1", false),
    ("2", "1", false),
    ("2", "3.4.5", false),
    ("2", "2.1.1", true),
    ("2.1", "2.1.1", true),
    ("2.1", "2.2.1", false),
    ("~1.2.3", "1.2.4", true),
    ("~1.2.3", "1.3.4", false),
    ("~1.2", "1.2.4", true),
    ("~1.2", "1.3.4", false),
    ("~1", "1.2.4", true),
    ("~1", "2.3.4", false),
    ("~0.2.3", "0.2.5", true),
    ("~0.2.3", "0.3.5", false),
    ("~1.2.3-beta.2", "1.2.3-beta.4", true),
    ("~1.2.3-beta.2", "1.2.4-beta.2", true),
    ("~1.2.3-beta.2", "1.3.4-beta.2", false),
    ("^1.2.3", "1.8.9", true),
    ("^1.2.3", "2.8.9", false),
    ("^1.2.3", "1.2.1", false),
    ("^1.1.0", "2.1.0", false),
    ("^1.2.0", "2.2.1", false),
    ("^1.2.0", "1.2.1-alpha.1", false),
    ("^1.2.0-alpha.0", "1.2.1-alpha.1", true),
    ("^1.2.0-alpha.0", "1.2.1-alpha.0", true),
    ("^1.2.0-alpha.2", "1.2.0-alpha.1", false),
    ("^1.2", "1.8.9", true),
    ("^1.2", "2.8.9", false),
    ("^1", "1.8.9", true),
    ("^1", "2.8.9", false),
    ("^0.2.3", "0.2.5", true),
    ("^0.2.3", "0.5.6", false),
    ("^0.2", "0.2.5", true),
    ("^0.2", "0.5.6", false),
    ("^0.0.3", "0.0.3", true),
    ("^0.0.3", "0.0.4", false),
    ("^0.0", "0.0.3", true),
    ("^0.0", "0.1.4", false),
    ("^0.0", "1.0.4", false),
    ("^0", "0.2.3", true),
    ("^0", "1.1.4", false),
    ("^0.2.3-beta.2", "0.2.3-beta.4", true),
    ("^0.2.3-beta.2", "0.2.4-beta.2", true),
    ("^0.2.3-beta.2", "0.3.4-beta.2", false),
    ("^0.2.3-beta.2", "0.2.3-beta.2", true),
];
const CHECK_ALL: &[(&str, &str, bool)] = &[
    ("*", "1.2.3", true),
    ("~0.0.0", "1.2.3", true),
    ("0.x.x", "1.2.3", false),
    ("0.0.x", "1.2.3", false),
    ("0.0.0", "1.2.3", false),
    ("*", "1.2.3", true),
    ("^0.0.0", "1.2.3", false),
    ("= 2.0", "1.2.3", false),
    ("= 2.0", "2.0.0", true),
    ("4.1", "4.1.0", true),
    ("4.1.x", "4.1.3", true),
    ("1.x", "1.4", true),
    ("!=4.1", "4.1.0", false),
    ("!=4.1-alpha", "4.1.0-alpha", false),
    ("!=4.1-alpha", "4.1.1-alpha", false),
    ("!=4.1-alpha", "4.1.0", true),
    ("!=4.1", "5.1.0", true),
    ("!=4.x", "5.1.0", true),
    ("!=4.x", "4.1.0", false),
    ("!=4.1.x", "4.2.0", true),
    ("!=4.2.x", "4.2.3", false),
    (">1.1", "4.1.0", true),
    (">1.1", "1.1.0", false),
    ("<1.1", "0.1.0", true),
    ("<1.1", "1.1.0", false),
    ("<1.1", "1.1.1", false),
    ("<1.x", "1.1.1", false),
    ("<1.x", "0.1.1", true),
    ("<1.x", "2.0.0", false),
    ("<1.1.x", "1.2.1", false),
    ("<1.1.x", "1.1.500", false),
    ("<1.1.x", "1.0.500", true),
    ("<1.2.x", "1.1.1", true),
    (">=1.1", "4.1.0", true),
    (">=1.1", "4.1.0-beta", false),
    (">=1.1", "1.1.0", true),
    (">=1.1", "0.0.9", false),
    ("<=1.1", "0.1.0", true),
    ("<=1.1", "0.1.0-alpha", false),
    ("<=1.1-a", "0.1.0-alpha", true),
    ("<=1.1", "1.1.0", true),
    ("<=1.x", "1.1.0", true),
    ("<=2.x", "3.0.0", false),
    ("<=1.1", "1.1.1", true),
    ("<=1.1.x", "1.2.500", false),
    ("<=4.5", "3.4.0", true),
    ("<=4.5", "3.7.0", true),
    ("<=4.5", "4.6.3", false),
    (">1.1, <2", "1.1.1", false),
    (">1.1, <2", "1.2.1", true),
    (">1.1, <3", "4.3.2", false),
    (">=1.1, <2, !=1.2.3", "1.2.3", false),
    (">1.1 <2", "1.1.1", false),
    (">1.1 <2", "1.2.1", true),
    (">1.1    <3", "4.3.2", false),
    (">=1.1    <2    !=1.2.3", "1.2.3", false),
    (">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
    (">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false),
    (">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", true),
    (">=1.1, <2, !=1.2.3 || > 3", "3.0.0", false),
    (">=1.1, <2, !=1.2.3 || > 3", "1.2.3", false),
    (">=1.1 <2 !=1.2.3", "1.2.3", false),
    (">=1.1 <2 !=1.2.3 || > 3", "4.1.2", true),
    (">=1.1 <2 !=1.2.3 || > 3", "3.1.2", false),
    (">=1.1 <2 !=1.2.3 || >= 3", "3.0.0", true),
    (">=1.1 <2 !=1.2.3 || > 3", "3.0.0", false),
    (">=1.1 <2 !=1.2.3 || > 3", "1.2.3", false),
    ("> 1.1, <     2", "1.1.1", false),
    (">   1.1, <2", "1.2.1", true),
    (">1.1, <  3", "4.3.2", false),
    (">= 1.1, <     2, !=1.2.3", "1.2.3", false),
    ("> 1.1 < 2", "1.1.1", false),
    (">1.1 < 2", "1.2.1", true),
    ("> 1.1    <3", "4.3.2", false),
    (">=1.1    < 2    != 1.2.3", "1.2.3", false),
    (">= 1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
    (">= 1.1, <2, != 1.2.3 || > 3", "3.1.2", false),
    (">= 1.1, <2, != 1.2.3 || >= 3", "3.0.0", true),
    (">= 1.1, <2, !=1.2.3 || > 3", "3.0.0", false),
    (">= 1.1, <2, !=1.2.3 || > 3", "1.2.3", false),
    (">= 1.1 <2 != 1.2.3", "1.2.3", false),
    (">= 1.1 <2 != 1.2.3 || > 3", "4.1.2", true),
    (">= 1.1 <2 != 1.2.3 || > 3", "3.1.2", false),
    (">= 1.1 <2 != 1.2.3 || >= 3", "3.0.0", true),
    (">= 1.1 < 2 !=1.2.3 || > 3", "3.0.0", false),
    (">=1.1 < 2 !=1.2.3 || > 3", "1.2.3", false),
    (">= 1.0.0  <= 2.0.0-beta", "1.0.1-beta", true),
    (">= 1.0.0  <= 2.0.0-beta", "1.0.1", true),
    (">= 1.0.0  <= 2.0.0-beta", "3.0.0", false),
    (">= 1.0.0  <= 2.0.0-beta || > 3", "1.0.1-beta", true),
    (">= 1.0.0  <= 2.0.0-beta || > 3", "3.0.1-beta", false),
    (">= 1.0.0  <= 2.0.0-beta != 1.0.1 || > 3", "1.0.1-beta", true),
    (">= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3", "1.0.1-beta", false),
    (">= 1.0.0-0  <= 2.0.0", "1.0.1-beta", true),
    ("1.1 - 2", "1.1.1", true),
    ("1.5.0 - 4.5", "3.7.0", true),
    ("1.1-3", "4.3.2", false),
    ("^1.1", "1.1.1", true),
    ("^1.1", "4.3.2", false),
    ("^1.x", "1.1.1", true),
    ("^2.x", "1.1.1", false),
    ("^1.x", "2.1.1", false),
    ("^1.x", "1.1.1-beta1", false),
    ("^1.1.2-alpha", "1.2.1-beta1", true),
    ("^1.2.x-alpha", "1.1.1-beta1", false),
    ("^0.0.1", "0.0.1", true),
    ("^0.0.1", "0.3.1", false),
    ("~*", "2.1.1", true),
    ("~1", "2.1.1", false),
    ("~1", "1.3.5", true),
    ("~1", "1.4", true),
    ("~1.x", "2.1.1", false),
    ("~1.x", "1.3.5", true),
    ("~1.x", "1.4", true),
    ("~1.1", "1.1.1", true),
    ("~1.1", "1.1.1-alpha", false),
    ("~1.1-alpha", "1.1.1-beta", true),
    ("~1.1.1-beta", "1.1.1-alpha", false),
    ("~1.1.1-beta", "1.1.1", true),
    ("~1.2.3", "1.2.5", true),
    ("~1.2.3", "1.2.2", false),
    ("~1.2.3", "1.3.2", false),
    ("~1.1", "1.2.3", false),
    ("~1.3", "2.4.5", false),
    ("1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true),
    ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true),
];
const NEW: &[(&str, usize, usize, bool)] = &[
    (">= 1.1", 1, 1, false),
    (">40.50.60, < 50.70", 1, 2, false),
    ("2.0", 1, 1, false),
    ("v2.3.5-20161202202307-sha.e8fc5e5", 1, 1, false),
    (">= bar", 0, 0, true),
    ("BAR >= 1.2.3", 0, 0, true),
    (">= 1.2.3 < 2.0", 1, 2, false),
    (">= 1.2.3 < 2.0 || => 3.0 < 4", 2, 2, false),
    (">= 1.2.3, < 2.0", 1, 2, false),
    (">= 1.2.3, < 2.0 || => 3.0, < 4", 2, 2, false),
    ("3 - 4 || => 3.0, < 4", 2, 2, false),
    ("12.3.4.1234", 0, 0, true),
    ("12.23.4.1234", 0, 0, true),
    ("12.3.34.1234", 0, 0, true),
];
const PARSE: &[(&str, bool)] = &[
    ("1.2.3", false),
    ("1.2.3-alpha.01", true),
    ("1.2.3+test.01", false),
    ("1.2.3-alpha.-1", false),
    ("v1.2.3", false),
    ("1.0", false),
    ("v1.0", false),
    ("1", false),
    ("v1", false),
    ("1.2.beta", true),
    ("v1.2.beta", true),
    ("foo", true),
    ("1.2-5", false),
    ("v1.2-5", false),
    ("1.2-beta.5", false),
    ("v1.2-beta.5", false),
    ("\n1.2", true),
    ("\nv1.2", true),
    ("1.2.0-x.Y.0+metadata", false),
    ("v1.2.0-x.Y.0+metadata", false),
    ("1.2.0-x.Y.0+metadata-width-hypen", false),
    ("v1.2.0-x.Y.0+metadata-width-hypen", false),
    ("1.2.3-rc1-with-hypen", false),
    ("v1.2.3-rc1-with-hypen", false),
    ("1.2.3.4", true),
    ("v1.2.3.4", true),
    ("1.2.2147483648", false),
    ("1.2147483648.3", false),
    ("2147483648.3.0", false),
    ("12.3.4.1234", true),
    ("12.23.4.1234", true),
    ("12.3.34.1234", true),
    ("20221209-update-renovatejson-v4", false),
    ("1.1.2+.123", true),
    ("1.0.0-alpha_beta", true),
    ("1.0.0-alpha..", true),
    ("1.0.0-alpha..1", true),
    ("9.8.7+meta+meta", true),
    ("1.2.31----RC-SNAPSHOT.12.09.1--.12+788", true),
    ("01.1.1", false),
];
const COMPARE: &[(&str, &str, i32)] = &[
    ("1.2.3", "1.5.1", -1),
    ("2.2.3", "1.5.1", 1),
    ("2.2.3", "2.2.2", 1),
    ("3.2-beta", "3.2-beta", 0),
    ("1.3", "1.1.4", 1),
    ("4.2", "4.2-beta", 1),
    ("4.2-beta", "4.2", -1),
    ("4.2-alpha", "4.2-beta", -1),
    ("4.2-alpha", "4.2-alpha", 0),
    ("4.2-beta.2", "4.2-beta.1", 1),
    ("4.2-beta2", "4.2-beta1", 1),
    ("4.2-beta", "4.2-beta.2", -1),
    ("4.2-beta", "4.2-beta.foo", -1),
    ("4.2-beta.2", "4.2-beta", 1),
    ("4.2-beta.foo", "4.2-beta", 1),
    ("1.2+bar", "1.2+baz", 0),
    ("1.0.0-beta.4", "1.0.0-beta.-2", -1),
    ("1.0.0-beta.-2", "1.0.0-beta.-3", -1),
    ("1.0.0-beta.-3", "1.0.0-beta.5", 1),
];

fn check(c: &str, v: &str) -> bool {
    let cs = Constraints::parse(c).unwrap_or_else(|e| panic!("{c}: {e}"));
    let v = Version::parse(v).unwrap_or_else(|e| panic!("{v}: {e}"));
    cs.check(&v)
}

#[test]
fn single_constraints() {
    for (c, v, want) in CHECK_ONE {
        let con = Constraint::parse(c).unwrap_or_else(|e| panic!("{c}: {e}"));
        let pre = !con.con.pre.is_empty();
        let ver = Version::parse(v).unwrap();
        assert_eq!(con.check(&ver, pre), *want, "{c} on {v}");
    }
}

#[test]
fn constraint_sets() {
    for (c, v, want) in CHECK_ALL {
        assert_eq!(check(c, v), *want, "{c} on {v}");
    }
}

#[test]
fn constraint_parsing() {
    for (c, ors, count, err) in NEW {
        match Constraints::parse(c) {
            Ok(cs) => {
                assert!(!err, "{c} parsed");
                assert_eq!(cs.groups.len(), *ors, "{c}");
                assert_eq!(cs.groups[0].len(), *count, "{c}");
            }
            Err(e) => assert!(err, "{c}: {e}"),
        }
    }
}

#[test]
fn version_parsing() {
    for (v, err) in PARSE {
        assert_eq!(Version::parse(v).is_err(), *err, "{v}");
    }
}

#[test]
fn comparison() {
    for (a, b, want) in COMPARE {
        let (a, b) = (Version::parse(a).unwrap(), Version::parse(b).unwrap());
        assert_eq!(a.compare(&b) as i32, *want, "{a} vs {b}");
    }
}

#[test]
fn constraint_strings() {
    for (c, want) in [
        ("*", "*"),
        (">=1.2.3", ">=1.2.3"),
        (">= 1.2.3", ">=1.2.3"),
        ("2.x,   >=1.2.3 || >4.5.6, < 5.7", "2.x >=1.2.3 || >4.5.6 <5.7"),
        ("1.2", "1.2"),
    ] {
        assert_eq!(Constraints::parse(c).unwrap().to_string(), want);
    }
}

#[test]
fn helm_probes() {
    assert!(!check(">=1.20.0", "v1.35.0-gke.1"));
    assert!(check(">=1.20.0-0", "v1.35.0-gke.1"));
    assert!(check("^1.2 || ~3", "3.4.1"));
    assert!(check("1.2 - 1.4", "1.4.9"));
    assert!(!check(">1, <x", "1.0"));
    let err = |c: &str| Constraints::parse(c).unwrap_err().to_string();
    assert_eq!(err("foo"), "improper constraint: foo");
    assert_eq!(err("1.2.3-01"), "constraint parser error");
    let verr = |v: &str| Version::parse(v).unwrap_err().to_string();
    assert_eq!(verr("1.2.x"), "invalid semantic version");
    assert_eq!(verr(""), "invalid semantic version");
    assert_eq!(verr("1.2.3-01"), "version segment starts with 0");
    assert_eq!(
        verr("99999999999999999999"),
        "error parsing version segment: strconv.ParseUint: parsing \"99999999999999999999\": value out of range"
    );
    let v = Version::parse("v1.2.3-beta.1+meta").unwrap();
    assert_eq!(v.to_string(), "1.2.3-beta.1+meta");
    assert_eq!(v.inc_minor().to_string(), "1.3.0");
    assert_eq!(v.inc_minor().original(), "v1.3.0");
    assert_eq!(v.inc_patch().to_string(), "1.2.3");
    assert_eq!(v.inc_major().to_string(), "2.0.0");
    assert_eq!(v.set_prerelease("rc").unwrap().to_string(), "1.2.3-rc+meta");
    assert_eq!(v.set_metadata("").unwrap().to_string(), "1.2.3-beta.1");
    assert_eq!(Version::parse("01.2").unwrap().to_string(), "1.2.0");
}

#[test]
fn go_differential() {
    for (c, v, want) in go_cases::GO_CASES {
        let got = Constraints::parse(c)
            .map_err(|e| e.to_string())
            .and_then(|cs| Version::parse(v).map(|v| cs.check(&v)).map_err(|e| e.to_string()));
        assert_eq!(
            got.as_ref().map_err(String::as_str),
            want.as_ref().map_err(|e| *e),
            "{c:?} on {v:?}"
        );
    }
}

/// `Constraints::parse_plain` reads every string it accepts as the reference's patterns do:
/// the Go cases, then strings built at random from the grammar's pieces (a fixed seed).
#[test]
fn plain_constraints_read_as_the_patterns() {
    let same = |c: &str| -> bool {
        let Some(plain) = Constraints::parse_plain(c) else {
            return false;
        };
        let patterns = Constraints::parse_with_patterns(c);
        assert_eq!(format!("{plain:?}"), format!("{patterns:?}"), "{c:?}");
        true
    };
    let mut plain = 0;
    for (c, _, _) in go_cases::GO_CASES {
        plain += usize::from(same(c));
    }
    assert!(plain > go_cases::GO_CASES.len() / 2, "{plain} Go cases read plainly");
    for c in [
        ">=1.23.0-0",
        ">= 1.19.0-0 < 1.36.0",
        "^1.2.x || ~2.0",
        ">=1.16.0-0, <1.35.0",
        "v1.2.3",
        "*",
    ] {
        assert!(same(c), "{c:?} read plainly");
    }
    const PIECES: &[&str] = &[
        "1", "2", "0", "01", "10", "x", "X", "*", ".", "-", "+", "alpha", "b-1", "v", " ", "\t", ",", "||", "|", ">",
        "<", "=", "!", "~", "^", "1.2.3", " - ", "beta.1", "..", "-0", "+build.5", ", ", "=>", "~>",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut tried, mut read) = (0, 0);
    for _ in 0..200_000 {
        let n = 1 + (next() % 9) as usize;
        let c: String = (0..n)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        tried += 1;
        read += usize::from(same(&c));
    }
    assert!(read > tried / 50, "{read} of {tried} random constraints read plainly");
}
