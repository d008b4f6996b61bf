//! Expectations captured from `helm template` (v4.1.4) over the fixtures in
//! `tests/fixtures/formats/`.

use super::*;
use crate::json::to_json;

fn values_json(src: &str) -> String {
    match parse_values(src) {
        Ok(v) => to_json(&v).unwrap(),
        Err(e) => format!("Error: {e}"),
    }
}

#[test]
fn scalars_resolve_as_goyaml_v2() {
    let src = include_str!("../../tests/fixtures/formats/scalars.yaml");
    assert_eq!(
        values_json(src),
        r#"{"0.1":5,"1":3,"1.5":4,"a":true,"abc":"123","b":false,"big":9007199254740992,"c":true,"d":false,"e":true,"f":"yEs","false":1,"g":511,"h":31,"i":null,"j":"2001-12-14t21:59:43.10-05:00","k":"2002-12-14","l":1000000,"m":0.1,"neg":0,"o":12345678901234567000,"p":1000,"q":12,"r":0.5,"s":1,"t":15,"tf":3,"true":6,"ts":true,"tt":true,"tu":"tRUE","u":5,"v":-5,"w":"1e400","x":"0777","z":null}"#
    );
}

#[test]
fn errors_as_helm_prints_them() {
    let cases: &[(&str, &str)] = &[
        (
            "a: .inf\n",
            "error converting YAML to JSON: json: unsupported value: +Inf",
        ),
        (
            "a: -.Inf\n",
            "error converting YAML to JSON: json: unsupported value: -Inf",
        ),
        (
            "a: .nan\n",
            "error converting YAML to JSON: json: unsupported value: NaN",
        ),
        (
            "a: b: c\n",
            "error converting YAML to JSON: yaml: mapping values are not allowed in this context",
        ),
        (
            "a: 1\nb: 2\nc: d: e\n",
            "error converting YAML to JSON: yaml: line 3: mapping values are not allowed in this context",
        ),
        (
            "a:\n  b: 1\n c: 2\n",
            "error converting YAML to JSON: yaml: line 2: did not find expected key",
        ),
        (
            "- a\n- b\n",
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
        (
            "hello\n",
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface {}",
        ),
        (
            "a: \"abc\n",
            "error converting YAML to JSON: yaml: line 2: found unexpected end of stream",
        ),
        (
            "a:\n\tb: 1\n",
            "error converting YAML to JSON: yaml: line 2: found character that cannot start any token",
        ),
        (
            "a: *x\n",
            "error converting YAML to JSON: yaml: unknown anchor 'x' referenced",
        ),
        (
            "a: &x [*x]\n",
            "error converting YAML to JSON: yaml: anchor 'x' value contains itself",
        ),
        (
            "~: 1\n",
            "error converting YAML to JSON: unsupported map key of type: %!s(<nil>), key: <nil>, value: 1",
        ),
        (
            "[1]: 2\n",
            "error converting YAML to JSON: yaml: invalid map key: []interface {}{1}",
        ),
        (
            "a: !!int abc\n",
            "error converting YAML to JSON: yaml: cannot decode !!str `abc` as a !!int",
        ),
        (
            "a: [1, 2\n",
            "error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'",
        ),
        (
            "a: 1\n---\nb: [\n",
            "error converting YAML to JSON: yaml: line 1: did not find expected node content",
        ),
        (
            "a: 1\nb: 2\n  c: 3\n",
            "error converting YAML to JSON: yaml: line 3: mapping values are not allowed in this context",
        ),
        (
            "a: 1\n- b\n",
            "error converting YAML to JSON: yaml: line 1: did not find expected key",
        ),
        (
            "a: 'x\n",
            "error converting YAML to JSON: yaml: line 2: found unexpected end of stream",
        ),
        (
            "a: |\n  x\n b\n",
            "error converting YAML to JSON: yaml: line 2: did not find expected key",
        ),
        (
            "a: @x\n",
            "error converting YAML to JSON: yaml: found character that cannot start any token",
        ),
        (
            "a: `x\n",
            "error converting YAML to JSON: yaml: found character that cannot start any token",
        ),
        (
            "a: [\n",
            "error converting YAML to JSON: yaml: line 1: did not find expected node content",
        ),
        // A document end marker before any node: libyaml's implicit first document has none.
        (
            "...\n",
            "error converting YAML to JSON: yaml: did not find expected node content",
        ),
        (
            "# c\n\n... # x\na: 1\n",
            "error converting YAML to JSON: yaml: line 2: did not find expected node content",
        ),
        (
            "a: {b: 1\n",
            "error converting YAML to JSON: yaml: line 1: did not find expected ',' or '}'",
        ),
        (
            "\"a\n",
            "error converting YAML to JSON: yaml: line 2: found unexpected end of stream",
        ),
        (
            "a: b\n  c: d\n",
            "error converting YAML to JSON: yaml: line 2: mapping values are not allowed in this context",
        ),
        (
            "key: \"value\" extra\n",
            "error converting YAML to JSON: yaml: did not find expected key",
        ),
        (
            "a: x\n#c\n  - b",
            "error converting YAML to JSON: yaml: line 2: did not find expected key",
        ),
    ];
    let mut bad = Vec::new();
    for (src, want) in cases {
        let got = match parse_values(src) {
            Ok(v) => to_json(&v).unwrap(),
            Err(e) => {
                e.0.strip_prefix("cannot unmarshal yaml document: ")
                    .unwrap_or(&e.0)
                    .to_string()
            }
        };
        if got != *want {
            bad.push(format!("{src:?}\n  got  {got}\n  want {want}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn documents_merge_and_anchors() {
    let cases: &[(&str, &str)] = &[
        ("a: 1\na: 2\n", r#"{"a":2}"#),
        (
            "x: &a {p: 1, q: 2}\ny:\n  p: 0\n  <<: *a\n  r: 3\nz:\n  <<: [*a, {p: 5, s: 6}]\n",
            r#"{"true":{"p":1,"q":2,"r":3},"x":{"p":1,"q":2},"z":{"p":1,"q":2,"s":6}}"#,
        ),
        ("---\na: 1\n---\nb: 2\n", r#"{"a":1,"b":2}"#),
        ("", "{}"),
        ("# c\n", "{}"),
        ("---\n", "{}"),
        ("a: {x: 1}\n---\na: {y: 2}\n", r#"{"a":{"true":2,"x":1}}"#),
        ("a: {x: 1}\nb: 1\n---\na: null\n", r#"{"a":null,"b":1}"#),
        ("a: {x: 1}\n---\na: 5\n---\nc: 1\n", r#"{"a":5,"c":1}"#),
        ("a: [1]\n---\na: [2]\n", r#"{"a":[2]}"#),
        ("a: 1\n--- # x\nb: 2\n...\nc: 3\n", r#"{"a":1,"b":2}"#),
        ("a: 1\n...\n---\nb: 1", r#"{"a":1,"b":1}"#),
        ("a: 1\n  \t\n", r#"{"a":1}"#),
        ("a:\n- b\n c\n", r#"{"a":["b c"]}"#),
        (
            "--- a: 1\n",
            "Error: error reading yaml document: invalid Yaml document separator: a: 1",
        ),
    ];
    let mut bad = Vec::new();
    for (src, want) in cases {
        let got = values_json(src);
        if got != *want {
            bad.push(format!("{src:?}\n  got  {got}\n  want {want}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn fixture_values() -> Value {
    parse_values(include_str!("../../tests/fixtures/formats/styles.yaml")).unwrap()
}

fn diff(got: &str, want: &str) -> String {
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        if g != w {
            return format!("line {}:\n got  {g:?}\n want {w:?}", i + 1);
        }
    }
    format!(
        "lengths differ: got {} lines, want {}",
        got.lines().count(),
        want.lines().count()
    )
}

#[test]
fn to_yaml_matches_helm() {
    let got = to_yaml(&fixture_values()).unwrap();
    let want = include_str!("../../tests/fixtures/formats/styles.toYaml.txt");
    assert!(got == want, "{}", diff(&got, want));
}

#[test]
fn to_yaml_pretty_matches_helm() {
    let got = to_yaml_pretty(&fixture_values()).unwrap();
    let want = include_str!("../../tests/fixtures/formats/styles.toYamlPretty.txt");
    assert!(got == want, "{}", diff(&got, want));
}

#[test]
fn to_json_matches_helm() {
    let v = fixture_values();
    let got = crate::json::to_json(&v).unwrap() + "\n";
    let want = include_str!("../../tests/fixtures/formats/styles.toJson.txt");
    assert!(got == want, "{}", diff(&got, want));
    let got = crate::json::to_pretty_json(&v).unwrap() + "\n";
    let want = include_str!("../../tests/fixtures/formats/styles.toPrettyJson.txt");
    assert!(got == want, "{}", diff(&got, want));
}

/// Writes `toJson`, `toYaml` and `toYamlPretty` of each values file listed (one path a line)
/// in `$BALLAST_FORMATS_CORPUS` into `<path>.ballast.{json,yaml,pretty}`, for comparison
/// with `helm template` output; does nothing without the variable.
#[test]
#[ignore]
fn corpus_dump() {
    let Ok(list) = std::env::var("BALLAST_FORMATS_CORPUS") else {
        return;
    };
    let list = std::fs::read_to_string(list).unwrap();
    for path in list.lines() {
        let src = std::fs::read_to_string(path).unwrap();
        let (j, y, p) = match parse_values(&src) {
            Ok(v) => (
                to_json(&v).unwrap_or_else(|e| e),
                crate::funcs::formats::to_yaml(&v).unwrap_or_else(|e| e),
                to_yaml_pretty(&v)
                    .map(|s| s.strip_suffix('\n').unwrap_or(&s).to_string())
                    .unwrap_or_else(|e| e),
            ),
            Err(e) => (format!("Error: {e}"), format!("Error: {e}"), format!("Error: {e}")),
        };
        std::fs::write(format!("{path}.ballast.json"), j).unwrap();
        std::fs::write(format!("{path}.ballast.yaml"), y).unwrap();
        std::fs::write(format!("{path}.ballast.pretty"), p).unwrap();
    }
}

/// Reads every document of each YAML stream listed in `$BALLAST_FORMATS_DOCS` and reports
/// the ones that fail (for streams `helm` itself printed, there should be none).
#[test]
#[ignore]
fn corpus_documents() {
    let Ok(list) = std::env::var("BALLAST_FORMATS_DOCS") else {
        return;
    };
    let list = std::fs::read_to_string(list).unwrap();
    let mut failures = Vec::new();
    let start = std::time::Instant::now();
    let mut bytes = 0;
    for path in list.lines() {
        let src = std::fs::read_to_string(path).unwrap();
        bytes += src.len();
        for (i, doc) in src.split("\n---\n").enumerate() {
            if let Err(e) = parse_document(doc) {
                failures.push(format!("{path} doc {i}: {e}"));
            }
        }
    }
    eprintln!("{bytes} bytes in {:?}", start.elapsed());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn random_values_match_helm() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats/random");
    let mut checked = 0;
    let mut bad = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let stem = path.with_extension("");
        let want = |kind: &str| std::fs::read_to_string(format!("{}.{kind}.txt", stem.display())).unwrap();
        let v = parse_values(&src).unwrap();
        let got_json = to_json(&v).unwrap();
        let got_yaml = crate::funcs::formats::to_yaml(&v).unwrap();
        let pretty = to_yaml_pretty(&v).unwrap();
        let got_pretty = pretty.strip_suffix('\n').unwrap_or(&pretty);
        for (kind, got) in [
            ("toJson", got_json.as_str()),
            ("toYaml", &got_yaml),
            ("toYamlPretty", got_pretty),
        ] {
            let want = want(kind);
            if got != want {
                bad.push(format!("{} {kind}: {}", path.display(), diff(got, &want)));
            }
        }
        checked += 1;
    }
    assert!(checked >= 8);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn random_block_values_match_helm() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats/random-block");
    let mut checked = 0;
    let mut bad = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let stem = path.with_extension("");
        let want = |kind: &str| std::fs::read_to_string(format!("{}.{kind}.txt", stem.display())).ok();
        let (json, v) = match parse_values(&src) {
            Ok(v) => (to_json(&v).unwrap() + "\n", Some(v)),
            Err(e) => (format!("Error: {e}\n"), None),
        };
        if Some(&json) != want("toJson").as_ref() {
            bad.push(format!(
                "{} toJson: {}",
                path.display(),
                diff(&json, &want("toJson").unwrap_or_default())
            ));
        }
        if let (Some(v), Some(want_yaml), Some(want_pretty)) = (v, want("toYaml"), want("toYamlPretty")) {
            let got = crate::funcs::formats::to_yaml(&v).unwrap();
            if got != want_yaml {
                bad.push(format!("{} toYaml: {}", path.display(), diff(&got, &want_yaml)));
            }
            let pretty = to_yaml_pretty(&v).unwrap();
            if pretty.strip_suffix('\n').unwrap_or(&pretty) != want_pretty {
                bad.push(format!(
                    "{} toYamlPretty: {}",
                    path.display(),
                    diff(&pretty, &want_pretty)
                ));
            }
        }
        checked += 1;
    }
    assert!(checked >= 10);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn line_endings_bom_and_long_keys() {
    let cases: &[(&str, &str)] = &[
        (
            "a: 1\r\nb: |\r\n  x\r\n  y\r\nc: \"p\r\n  q\"\r\nd: >\r\n  m\r\n  n\r\n",
            r#"{"a":1,"b":"x\ny\n","c":"p q","d":"m n\n"}"#,
        ),
        ("\u{feff}a: 1\nb: x\n", r#"{"a":1,"b":"x"}"#),
        // The values reader ends every line, the last one too, with a newline.
        ("a: |\n  x ", r#"{"a":"x \n"}"#),
        ("a: |\n  x", r#"{"a":"x\n"}"#),
        ("a: |-\r\n  x\r\n  y\r\nb: \"p\rq\"\r\n", r#"{"a":"x\ny","b":"p q"}"#),
    ];
    for (src, want) in cases {
        assert_eq!(values_json(src), *want, "{src:?}");
    }
    let long = "k".repeat(1100);
    assert_eq!(
        values_json(&format!("{long}: 1\n")),
        "Error: cannot unmarshal yaml document: error converting YAML to JSON: yaml: mapping values are not allowed in this context"
    );
    assert_eq!(
        values_json(&format!("a: {{\"{long}\": 1}}\n")),
        "Error: cannot unmarshal yaml document: error converting YAML to JSON: yaml: did not find expected ',' or '}'"
    );
    assert!(!values_json(&format!("{}: 1\n", "k".repeat(1024))).starts_with("Error"));
    assert!(values_json(&format!("{}: 1\n", "k".repeat(1025))).starts_with("Error"));
    assert!(!values_json(&format!("a: {{\"{}\": 1}}\n", "k".repeat(1022))).starts_with("Error"));
    assert!(values_json(&format!("a: {{\"{}\": 1}}\n", "k".repeat(1023))).starts_with("Error"));
}

#[test]
fn alias_expansion_is_bounded() {
    let mut src = String::from("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for i in 1..9 {
        let items = vec![format!("*a{}", i - 1); 9].join(",");
        src.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    let start = std::time::Instant::now();
    assert_eq!(
        values_json(&src),
        "Error: cannot unmarshal yaml document: error converting YAML to JSON: yaml: document contains excessive aliasing"
    );
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn deep_nesting_fails_cleanly() {
    // saphyr-parser nests flow collections at most 255 deep (libyaml 10000).
    for depth in [200usize, 300, 20_000] {
        let flow = format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(values_json(&flow).starts_with("Error"), depth > 255, "{depth}");
    }
    // Block nesting is bounded so that no reader or writer recursion can overflow.
    for depth in [MAX_NESTING - 1, MAX_NESTING + 1, 3_000] {
        let mut block = String::new();
        for i in 0..depth {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        let got = parse_values(&block);
        assert_eq!(got.is_err(), depth > MAX_NESTING, "{depth}");
        if let Err(e) = &got {
            // The bound named is Ballast's, not goyaml's 10000 (which would accept it).
            assert!(e.0.contains(&format!("exceeded max depth of {MAX_NESTING}")), "{}", e.0);
        }
        if let Ok(v) = got {
            assert!(to_yaml(&v).is_ok() && to_yaml_pretty(&v).is_ok() && to_json(&v).is_ok());
        }
    }
}

/// Times reading and writing each values file listed in `$BALLAST_FORMATS_BENCH`.
#[test]
#[ignore]
fn corpus_timing() {
    let Ok(list) = std::env::var("BALLAST_FORMATS_BENCH") else {
        return;
    };
    for path in std::fs::read_to_string(list).unwrap().lines() {
        let src = std::fs::read_to_string(path).unwrap();
        let t = std::time::Instant::now();
        let v = parse_values(&src).unwrap();
        let parse = t.elapsed();
        let t = std::time::Instant::now();
        let y = to_yaml(&v).unwrap();
        let yaml = t.elapsed();
        let t = std::time::Instant::now();
        let j = to_json(&v).unwrap();
        let json = t.elapsed();
        let t = std::time::Instant::now();
        let p = to_yaml_pretty(&v).unwrap();
        let pretty = t.elapsed();
        eprintln!(
            "{path}: {} bytes; parse {parse:?}, toYaml {yaml:?} ({}), toJson {json:?} ({}), toYamlPretty {pretty:?} ({})",
            src.len(),
            y.len(),
            j.len(),
            p.len()
        );
    }
}

#[test]
fn merge_keys_in_document_order() {
    let src = "b: &b {a: 2, c: 3}\nx:\n  a: 1\n  <<: *b\ny:\n  <<: *b\n  a: 1\nz:\n  <<: [{a: 5}, *b]\nw:\n  a: 0\n  <<: [{a: 5}, *b]\n";
    assert_eq!(
        values_json(src),
        include_str!("../../tests/fixtures/formats/merge.toJson.txt").trim_end()
    );
}

#[test]
fn yaml_1_1_line_breaks() {
    assert_eq!(
        values_json("a: x\u{85}y\n"),
        "Error: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line 3: could not find expected ':'"
    );
    assert_eq!(
        values_json("a: \"p\u{2028}q\"\nb: |\n  x\u{85}y\n"),
        "Error: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line 6: could not find expected ':'"
    );
}

#[test]
fn quoted_continuations_at_any_indentation() {
    assert_eq!(values_json("a: \"p\nq\"\nb: 1\n"), r#"{"a":"p q","b":1}"#);
    assert_eq!(values_json("a:\n  b: \"p\n q\"\n"), r#"{"a":{"b":"p q"}}"#);
    assert_eq!(values_json("a: 'p\nq'\n"), r#"{"a":"p q"}"#);
    assert_eq!(
        values_json("a: p\nq\n"),
        "Error: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line 3: could not find expected ':'"
    );
}

#[test]
fn json_only_escapes_are_refused() {
    assert_eq!(
        values_json("a: \"http:\\/\\/x\"\n"),
        "Error: cannot unmarshal yaml document: error converting YAML to JSON: yaml: found unknown escape character"
    );
    assert_eq!(
        values_json("b: 1\na: \"x\\\\/y \\\\\\/\"\n"),
        "Error: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line 2: found unknown escape character"
    );
    assert_eq!(
        values_json("a: \"x\\\\/y\"\nb: 'c\\/'\n"),
        r#"{"a":"x\\/y","b":"c\\/"}"#
    );
}

#[test]
fn head_reads_match_full_reads() {
    let head = |v: Result<Value, YamlError>| v.map_err(|e| e.0).and_then(|v| crate::output::head_of(&v));
    for src in [
        "",
        "# only a comment\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    x: 1\ndata:\n  k: v\n",
        "kind: A\nkind: B\nmetadata: {name: n}\nspec: [1, 2, {a: b}]\n",
        "'kind': A\n\"apiVersion\": v\nextra: .5\n",
        "kind: A\nspec:\n  ~: 1\n",
        "kind: A\nspec:\n  18446744073709551615: 1\n",
        "kind: A\nspec:\n  x: .inf\n",
        "kind: A\nspec:\n  .nan: 1\n",
        "kind: A\nspec: &a {x: 1}\nother: *a\n",
        "kind: A\nspec:\n  <<: {x: 1}\n",
        "kind: A\nspec: !!binary '%%'\n",
        "kind: A\nspec: !!int x\n",
        "kind: A\nspec:\n  ? [1]\n  : 2\n",
        "kind: [A]\nspec: 1\n",
        "kind: A\nmetadata:\n  annotations: 5\n",
        "kind: A\nmetadata: 5\nspec: {a: 1}\n",
        "- a\n- b\n",
        "hello\n",
        "x: 1\na: b: c\n",
        "kind: A\nspec:\n  true: 1\n  1.5: 2\n  3: 4\n",
    ] {
        assert_eq!(head(parse_document_head(src)), head(parse_document(src)), "{src:?}");
    }
}

#[test]
fn documents_split_alike_with_and_without_the_shortcut() {
    let texts = [
        "",
        "\n",
        "a: 1",
        "a: 1\n",
        "a: 1\nb: 2\n",
        "a: |\n  x\n  ---\n",
        "a: 1\n---\nb: 2\n",
        "---\na: 1\n",
        "a: 1\r\nb: 2\r\n",
        "a: 1\n--- # c\nb: 2",
        "a: '---'\n",
        "a: 1\n---x\n",
    ];
    for text in texts {
        let short = split_documents(text).map_err(|e| e.0);
        let long = split_lines(text).map_err(|e| e.0);
        assert_eq!(short, long, "{text:?}");
    }
    // The shortcut borrows the text it is given.
    assert!(matches!(split_documents("a: 1\n").unwrap()[0], Cow::Borrowed(_)));
}

/// A key helm's YAML-to-JSON step refuses (null, uint64) inside a value that a later entry of
/// the same key replaces is never met (Go's map keeps the last value): the file reads; where
/// it survives, it fails as before.
#[test]
fn refused_keys_under_replaced_values_are_not_met() {
    assert_eq!(values_json("a:\n  ~: 1\na: true\n"), r#"{"a":true}"#);
    assert_eq!(
        values_json("k:\n  a:\n    2.5: 08\n    null: .nan\n  a: true\nb: 1\n"),
        r#"{"b":1,"k":{"a":true}}"#
    );
    assert_eq!(
        values_json("a: {x: [{18446744073709551615: 1}]}\nb: 2\na: {c: 3}\n"),
        r#"{"a":{"c":3},"b":2}"#
    );
    for text in [
        "a: true\na:\n  ~: 1\n",
        "a:\n  ~: 1\nb: 2\n",
        "a:\n  ~: 1\na:\n  null: 2\n",
    ] {
        let got = values_json(text);
        assert!(
            got.contains("unsupported map key of type: %!s(<nil>)"),
            "{text:?}: {got}"
        );
    }
}
