//! Robustness: random token soup never panics, hangs or overflows; it parses and runs or
//! returns an error.

mod common;

use ballast_gotemplate::Value;
use common::*;

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{-",
    "-}}",
    "/*",
    "*/",
    "(",
    ")",
    "|",
    ":=",
    "=",
    "$",
    "$x",
    ".",
    ".a",
    ".a.b",
    "..",
    "\"",
    "\"s\"",
    "`",
    "`r`",
    "'",
    "'a'",
    "'\\''",
    "\\",
    "1",
    "-1",
    "1.5e3",
    "0x",
    "0x1p4",
    "1_0",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "nil",
    "true",
    " ",
    "\n",
    "\t",
    "print",
    "printf",
    "len",
    "index",
    "slice",
    "eq",
    "lt",
    "and",
    "or",
    "not",
    "html",
    "js",
    "urlquery",
    "call",
    "echo",
    "dict",
    "list",
    ",",
    "é",
    "€",
    "\u{1}",
    "{",
    "}",
    "\"\\x",
    "\"\\u00",
    "\"\\1€\"",
    "%",
    "\"%v\"",
    "\"%*d\"",
    "\"%[2]v\"",
];

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn token_soup_never_panics() {
    let data = map(vec![
        ("a", map(vec![("b", s("x"))])),
        ("l", list(vec![Value::Int(1), Value::Nil])),
    ]);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for _ in 0..20_000 {
        let n = 1 + (rng.next() % 14) as usize;
        let mut src = String::new();
        for _ in 0..n {
            src.push_str(PIECES[(rng.next() % PIECES.len() as u64) as usize]);
        }
        if run_with(&src, &data, true).is_ok() {
            parsed += 1;
        }
        let _ = run(&format!("{{{{{src}}}}}"), &data);
    }
    assert!(parsed > 100, "{parsed}");
}
