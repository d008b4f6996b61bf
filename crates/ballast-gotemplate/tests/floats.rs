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
