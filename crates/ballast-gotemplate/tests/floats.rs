//! Float printing against Go's fmt: `tests/data/floats.tsv` holds, for ~430 floats (exact
//! values in Go's `%b` form) and 25 formats, what Go's `fmt.Sprintf` prints (written by
//! `tests/go-oracle/floats.go.txt`).

use ballast_gotemplate::{Value, sprintf};

/// The float64 `m × 2^e` from Go's `%b` text `mp±e`.
fn from_b(s: &str) -> f64 {
    let (m, e) = s.split_once('p').expect("p");
    let neg = m.starts_with('-');
    let m: i64 = m.trim_start_matches('-').parse().expect("mantissa");
    let e: i32 = e.parse().expect("exponent");
    let h = e / 2;
    let x = (m as f64) * 2f64.powi(h) * 2f64.powi(e - h);
    if neg { -x } else { x }
}

#[test]
fn floats_print_as_go() {
    let text = include_str!("data/floats.tsv");
    let mut bad = Vec::new();
    let mut n = 0;
    for line in text.lines() {
        let mut parts = line.splitn(3, '\t');
        let (f, b, want) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let x = from_b(b);
        let got = sprintf(f, &[Value::Float(x)]);
        n += 1;
        if got != want {
            bad.push(format!("{f} {x:e}: got {got:?} want {want:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {n} differ:\n{}",
        bad.len(),
        bad[..bad.len().min(40)].join("\n")
    );
}

/// Undoes the oracle's escaping of `\\` and newlines.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(value).collect()),
        serde_json::Value::Object(o) => Value::map(o.iter().map(|(k, v)| (k.clone(), value(v))).collect()),
    }
}

/// Random verbs, flags, widths and precisions on values of every kind, against Go's
/// `fmt.Sprintf` (`tests/data/sprintf.tsv`, written by `tests/go-oracle/sprintf.go.txt`).
#[test]
fn sprintf_matches_go() {
    let text = include_str!("data/sprintf.tsv");
    let mut bad = Vec::new();
    let mut n = 0;
    for line in text.lines() {
        let mut parts = line.splitn(3, '\t');
        let (f, v, want) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let want = unescape(want);
        let j: serde_json::Value = serde_json::from_str(v).expect("json");
        let got = sprintf(&format!("{f}|"), &[value(&j)]);
        n += 1;
        if got != want {
            bad.push(format!("{f} {v}: got {got:?} want {want:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {n} differ:\n{}",
        bad.len(),
        bad[..bad.len().min(60)].join("\n")
    );
}
