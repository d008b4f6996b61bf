//! Helm's and sprig's data-format functions: `toYaml`, `mustToYaml`, `toYamlPretty`,
//! `fromYaml`, `fromYamlArray`, `toJson`, `mustToJson`, `fromJson`, `fromJsonArray`,
//! `mustFromJson`, `toPrettyJson`, `mustToPrettyJson`, `toRawJson`, `mustToRawJson`, `toToml`,
//! `fromToml`.
//!
//! As in Helm, the non-`must` writers give "" on a value they cannot encode (NaN, ±Inf), the
//! readers give a map holding `Error` (or a one-string list) instead of failing, and `toToml`
//! gives the error text. `toRawJson` fails the render, as sprig's panics.

use ballast_gotemplate::value::Map;
use ballast_gotemplate::{Args, Arity, FuncMap, Value};

use crate::json::{self, Target};
use crate::yaml::{self, YamlError};

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    m.pure("toYaml", Arity::Exact(1), |a| {
        Ok(Value::from(to_yaml(&a[0]).unwrap_or_default()))
    });
    m.pure("mustToYaml", Arity::Exact(1), |a| to_yaml(&a[0]).map(Value::from));
    m.pure("toYamlPretty", Arity::Exact(1), |a| {
        let s = yaml::to_yaml_pretty(&a[0]).unwrap_or_default();
        Ok(Value::from(s.strip_suffix('\n').unwrap_or(&s).to_string()))
    });
    m.pure("fromYaml", Arity::Exact(1), |a| Ok(from_yaml(Args::string(&a[0])?)));
    m.pure("fromYamlArray", Arity::Exact(1), |a| {
        Ok(from_yaml_array(Args::string(&a[0])?))
    });
    m.pure("toJson", Arity::Exact(1), |a| {
        Ok(Value::from(json::to_json(&a[0]).unwrap_or_default()))
    });
    m.pure("mustToJson", Arity::Exact(1), |a| json::to_json(&a[0]).map(Value::from));
    m.pure("toPrettyJson", Arity::Exact(1), |a| {
        Ok(Value::from(json::to_pretty_json(&a[0]).unwrap_or_default()))
    });
    m.pure("mustToPrettyJson", Arity::Exact(1), |a| {
        json::to_pretty_json(&a[0]).map(Value::from)
    });
    m.pure("toRawJson", Arity::Exact(1), |a| {
        json::to_raw_json(&a[0]).map(Value::from)
    });
    m.pure("mustToRawJson", Arity::Exact(1), |a| {
        json::to_raw_json(&a[0]).map(Value::from)
    });
    m.pure("fromJson", Arity::Exact(1), |a| {
        Ok(match json::from_json_into(Args::string(&a[0])?, Target::Map) {
            Ok(v) => v,
            Err(json::JsonError {
                message,
                partial: Some(Value::Map(m)),
            }) => {
                m.borrow_mut().insert("Error".into(), Value::from(message));
                Value::Map(m)
            }
            Err(e) => error_map(e.message),
        })
    });
    m.pure("fromJsonArray", Arity::Exact(1), |a| {
        Ok(match json::from_json_into(Args::string(&a[0])?, Target::List) {
            Ok(v) => v,
            Err(e) => Value::list(vec![Value::from(e.message)]),
        })
    });
    m.pure("mustFromJson", Arity::Exact(1), |a| {
        json::from_json(Args::string(&a[0])?)
    });
    m.pure("toToml", Arity::Exact(1), |a| {
        // The encoder's errors are its result; a nil makes it panic, which fails the call.
        if a[0].is_nil() {
            return Err("reflect: call of reflect.Value.Type on zero Value".into());
        }
        Ok(Value::from(crate::toml::to_toml(&a[0]).unwrap_or_else(|e| e)))
    });
    m.pure("fromToml", Arity::Exact(1), |a| {
        Ok(match crate::toml::from_toml(Args::string(&a[0])?) {
            Ok(v) => v,
            Err(e) => error_map(e),
        })
    });
}

/// Helm's `toYaml` text: sigs.k8s.io/yaml `Marshal` without its trailing newline; the error
/// as `mustToYaml` reports it.
pub fn to_yaml(v: &Value) -> Result<String, String> {
    let s = yaml::to_yaml(v).map_err(|e| format!("error marshaling into JSON: {e}"))?;
    Ok(match s.strip_suffix('\n') {
        Some(t) => t.to_string(),
        None => s,
    })
}

fn error_map(msg: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), Value::from(msg));
    Value::map(m)
}

/// The JSON type name Go's decoder names in "cannot unmarshal X into Go value".
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::Bool(_) => "bool",
        Value::String(_) => "string",
        _ => "number",
    }
}

fn unmarshal_error(kind: &str, go_type: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go value of type {go_type}"
    )
}

/// Helm's `fromYaml`: the first document as a map (empty for an empty document), or a map
/// holding the error under `Error`.
pub fn from_yaml(src: &str) -> Value {
    match yaml::parse_document(src) {
        Ok(Value::Nil) => Value::empty_map(),
        Ok(v @ Value::Map(_)) => v,
        Ok(other) => error_map(unmarshal_error(json_kind(&other), "map[string]interface {}")),
        Err(YamlError(e)) => error_map(e),
    }
}

/// Helm's `fromYamlArray`: the first document as a list (empty for an empty document), or a
/// one-element list holding the error text.
pub fn from_yaml_array(src: &str) -> Value {
    match yaml::parse_document(src) {
        Ok(Value::Nil) => Value::list(Vec::new()),
        Ok(v @ Value::List(_)) => v,
        Ok(other) => Value::list(vec![Value::from(unmarshal_error(json_kind(&other), "[]interface {}"))]),
        Err(YamlError(e)) => Value::list(vec![Value::from(e)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast_gotemplate::Env;

    struct NoEnv;
    impl Env for NoEnv {
        fn execute_template(&mut self, _: &str, _: Value) -> Result<String, ballast_gotemplate::Error> {
            unreachable!()
        }
        fn execute_source(&mut self, _: &str, _: &str, _: Value) -> Result<String, ballast_gotemplate::Error> {
            unreachable!()
        }
    }

    /// Calls a registered function on one string and prints the result with `toJson`.
    fn call(name: &str, arg: Value) -> String {
        let mut m = FuncMap::new();
        register(&mut m);
        let f = m.get(name).unwrap();
        let v = (f.f)(&mut NoEnv, &[arg]).unwrap();
        match v {
            Value::String(s) if !name.starts_with("from") => s.to_string(),
            v => json::to_json(&v).unwrap(),
        }
    }

    #[test]
    fn readers_match_helm() {
        // (function, argument, `{{ fn arg | toJson }}` as helm v4.1.4 printed it)
        let cases: &[(&str, &str, &str)] = &[
            (
                "fromYaml",
                "- a",
                r#"{"Error":"error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"}"#,
            ),
            (
                "fromYaml",
                "a: [",
                r#"{"Error":"error converting YAML to JSON: yaml: line 1: did not find expected node content"}"#,
            ),
            ("fromYaml", "", "{}"),
            (
                "fromYaml",
                "1",
                r#"{"Error":"error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go value of type map[string]interface {}"}"#,
            ),
            ("fromYaml", "a: 1\n---\nb: 2", r#"{"a":1}"#),
            (
                "fromYamlArray",
                "a: 1",
                r#"["error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []interface {}"]"#,
            ),
            ("fromYamlArray", "", "[]"),
            ("fromYamlArray", "- 1\n- on", "[1,true]"),
            (
                "fromYamlArray",
                "true",
                r#"["error unmarshaling JSON: while decoding JSON: json: cannot unmarshal bool into Go value of type []interface {}"]"#,
            ),
            (
                "fromYaml",
                "a:\n  command: [\n    \"x\",\n  \"y z\"\n  ]\nb: 1",
                r#"{"a":{"command":["x","y z"]},"b":1}"#,
            ),
            ("fromYaml", "a:\t1\nb: [1,\t2]", r#"{"a":1,"b":[1,2]}"#),
            (
                "fromYaml",
                "a: 1 \t\nb:\n\t- x",
                r#"{"Error":"error converting YAML to JSON: yaml: line 3: found character that cannot start any token"}"#,
            ),
            (
                "fromYaml",
                "a: |\n\tx\n",
                r#"{"Error":"error converting YAML to JSON: yaml: line 2: found a tab character where an indentation space is expected"}"#,
            ),
            (
                "fromYaml",
                "a:\n  - b\n\t- c",
                r#"{"Error":"error converting YAML to JSON: yaml: line 3: found a tab character that violates indentation"}"#,
            ),
            ("fromYaml", "a: b\t# c\nd: \"e\"\t\n", r#"{"a":"b","d":"e"}"#),
            (
                "fromYaml",
                "- [a,\n- b]",
                r#"{"Error":"error converting YAML to JSON: yaml: line 1: did not find expected node content"}"#,
            ),
            ("fromYaml", "a: {b: 1,\nc: 2}", r#"{"a":{"b":1,"c":2}}"#),
            ("fromYaml", "a: \"x\n y\"", r#"{"a":"x y"}"#),
            ("fromYaml", "a: x\n y\n  z", r#"{"a":"x y z"}"#),
            ("fromYaml", "%YAML 1.1\n---\na: 1", r#"{"a":1}"#),
            ("fromYaml", "a: !!binary aGVsbG8=", r#"{"a":"hello"}"#),
            ("fromYaml", "a: !custom x", r#"{"a":"x"}"#),
            ("fromYaml", "? a\n: 1", r#"{"a":1}"#),
            ("fromYaml", "a: &x 1\nb: *x", r#"{"a":1,"b":1}"#),
            ("fromYaml", "a:\n- 1\n-   - 2", r#"{"a":[1,[2]]}"#),
            ("fromYaml", "\n  a: 1\n  b:\n    - x\n", r#"{"a":1,"b":["x"]}"#),
            ("fromYaml", "  \n\n  a: 1\n  b: 2  \n", r#"{"a":1,"b":2}"#),
            ("fromYaml", "---\na: 1\n", r#"{"a":1}"#),
            ("fromYaml", "# c\n---\n# d\na: [1,2]\n...\n", r#"{"a":[1,2]}"#),
            ("fromYaml", "a:\n- b: 1\n  c: 2\n- d\n", r#"{"a":[{"b":1,"c":2},"d"]}"#),
            ("fromYaml", "  a: 1\n b: 2\n", r#"{"a":1}"#),
            ("fromYamlArray", "\n- a\n-  b\n", r#"["a","b"]"#),
            (
                "fromJson",
                "é",
                r#"{"Error":"invalid character 'Ã' looking for beginning of value"}"#,
            ),
            (
                "fromJson",
                "\u{feff}{}",
                r#"{"Error":"invalid character 'ï' looking for beginning of value"}"#,
            ),
            (
                "fromJson",
                "{\"a\":1}x",
                r#"{"Error":"invalid character 'x' after top-level value"}"#,
            ),
            (
                "fromJson",
                "[1 2]",
                r#"{"Error":"invalid character '2' after array element"}"#,
            ),
            (
                "fromJson",
                "\"\\ud800\"",
                r#"{"Error":"json: cannot unmarshal string into Go value of type map[string]interface {}"}"#,
            ),
            ("fromJson", "{\"a\":\"\\u00e9\\t\"}", r#"{"a":"é\t"}"#),
            ("mustFromJson", "1", "1"),
            ("fromJsonArray", "[1,[2,{\"a\":null}]]", r#"[1,[2,{"a":null}]]"#),
            (
                "fromJson",
                "[1]",
                r#"{"Error":"json: cannot unmarshal array into Go value of type map[string]interface {}"}"#,
            ),
            ("fromJson", "{\"a\":", r#"{"Error":"unexpected end of JSON input"}"#),
            (
                "fromJson",
                "{\"a\" 1}",
                r#"{"Error":"invalid character '1' after object key"}"#,
            ),
            ("fromJson", "null", "null"),
            (
                "fromJsonArray",
                "{}",
                r#"["json: cannot unmarshal object into Go value of type []interface {}"]"#,
            ),
            (
                "fromJsonArray",
                "nul",
                r#"["invalid character ' ' in literal null (expecting 'l')"]"#,
            ),
            ("mustFromJson", "[1, \"a\"]", r#"[1,"a"]"#),
            (
                "fromJson",
                "{\"a\": 1e400}",
                r#"{"Error":"json: cannot unmarshal number 1e400 into Go value of type float64","a":null}"#,
            ),
            (
                "fromJson",
                "{\"a\": tru}",
                r#"{"Error":"invalid character '}' in literal true (expecting 'e')"}"#,
            ),
            (
                "fromJson",
                "{\"a\": \"\\x\"}",
                r#"{"Error":"invalid character 'x' in string escape code"}"#,
            ),
            (
                "fromJson",
                "{\"a\": 01}",
                r#"{"Error":"invalid character '1' after object key:value pair"}"#,
            ),
            ("fromJson", "", r#"{"Error":"unexpected end of JSON input"}"#),
            ("fromJson", "  ", r#"{"Error":"unexpected end of JSON input"}"#),
            (
                "fromJson",
                "{\"a\": -}",
                r#"{"Error":"invalid character '}' in numeric literal"}"#,
            ),
            (
                "fromJson",
                "{\"a\": 1.}",
                r#"{"Error":"invalid character '}' after decimal point in numeric literal"}"#,
            ),
            (
                "fromJson",
                "{,}",
                r#"{"Error":"invalid character ',' looking for beginning of object key string"}"#,
            ),
            (
                "fromJson",
                "[1,]",
                r#"{"Error":"invalid character ']' looking for beginning of value"}"#,
            ),
            (
                "fromJson",
                "\"a\nb\"",
                r#"{"Error":"invalid character '\\n' in string literal"}"#,
            ),
        ];
        let mut bad = Vec::new();
        for (name, arg, want) in cases {
            let arg = arg.replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\");
            let got = call(name, Value::from(arg.as_str()));
            if got != *want {
                bad.push(format!("{name} {arg:?}\n  got  {got}\n  want {want}"));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    /// `tests/fixtures/formats/fromYaml-cases.json`: [input, `{{ fromYaml input | toJson }}`
    /// as helm printed it] pairs.
    #[test]
    fn from_yaml_cases_match_helm() {
        let mut bad = Vec::new();
        for file in [
            include_str!("../../tests/fixtures/formats/fromYaml-cases.json"),
            include_str!("../../tests/fixtures/formats/fromYaml-cases2.json"),
        ] {
            let cases = json::from_json(file).unwrap();
            let Value::List(cases) = cases else { unreachable!() };
            for case in cases.iter() {
                let Value::List(pair) = case else { unreachable!() };
                let (Some(input), Some(want)) = (pair[0].as_str(), pair[1].as_str()) else {
                    unreachable!()
                };
                let got = json::to_json(&from_yaml(input)).unwrap();
                if got != want {
                    bad.push(format!("{input:?}\n  got  {got}\n  want {want}"));
                }
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn writers_match_helm() {
        assert_eq!(call("toRawJson", Value::from("<&>")), r#""<&>""#);
        assert_eq!(call("toJson", Value::from("<&>")), r#""\u003c\u0026\u003e""#);
        assert_eq!(call("toPrettyJson", Value::list(vec![])), "[]");
        let v = json::from_json(r#"{"a":[1,{}]}"#).unwrap();
        assert_eq!(call("toPrettyJson", v), "{\n  \"a\": [\n    1,\n    {}\n  ]\n}");
        assert_eq!(call("toYaml", Value::from("abc")), "abc");
        assert_eq!(call("toYaml", Value::Nil), "null");
        assert_eq!(call("toYaml", Value::Float(1.5)), "1.5");
        assert_eq!(call("toYaml", Value::Int(3)), "3");
        assert_eq!(call("toYamlPretty", Value::Int(3)), "3");
        assert_eq!(call("toYaml", Value::from("a\nb\n\n")), "|+\n  a\n  b\n");
        assert_eq!(call("toYamlPretty", Value::from("a\nb\n\n")), "|+\n  a\n  b\n");
        assert_eq!(call("toYamlPretty", Value::from("a  \n")), "\"a  \\n\"");
        assert_eq!(call("toYaml", Value::from("a  b   c\n")), "|\n  a  b   c");
        let l = Value::list(vec![Value::Int(1), Value::from("a"), Value::empty_map()]);
        assert_eq!(call("toYaml", l), "- 1\n- a\n- {}");
        let l = Value::list(vec![Value::from("a\nb"), Value::list(vec![Value::from("x")])]);
        assert_eq!(call("toYaml", l), "- |-\n  a\n  b\n- - x");
        let long =
            "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt uuuu";
        assert_eq!(
            call("toYaml", Value::from(long)),
            "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq\n  rrrr ssss tttt uuuu"
        );
        assert_eq!(
            call("toYaml", Value::from(format!("a\tb {long}"))),
            "\"a\\tb aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  qqqq rrrr ssss tttt uuuu\""
        );
        assert_eq!(call("toToml", Value::from("abc")), "\"abc\"");
        // A nil makes the encoder panic: the call fails (checked with helm v4.1.4).
        let mut m = FuncMap::new();
        register(&mut m);
        assert_eq!(
            (m.get("toToml").unwrap().f)(&mut NoEnv, &[Value::Nil]).unwrap_err(),
            "reflect: call of reflect.Value.Type on zero Value"
        );
    }

    #[test]
    fn template_numbers_match_helm() {
        let entries = [
            ("a", Value::Float(1.0 / 3.0)),
            ("b", Value::Float(1e21)),
            ("c", Value::Float(0.3)),
            ("d", Value::Int64(5)),
            ("e", Value::Float(1.0)),
            ("f", Value::Float(100.0)),
            ("g", Value::Float(1.5e6)),
            ("h", Value::Float(1e-7)),
            ("i", Value::Int(123456789)),
            ("j", Value::list(vec![])),
        ];
        let d = Value::map(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        assert_eq!(
            call("toYaml", d.clone()),
            "a: 0.3333333333333333\nb: 1e+21\nc: 0.3\nd: 5\ne: 1\nf: 100\ng: 1500000\nh: 1e-07\ni: 123456789\nj: []"
        );
        assert_eq!(
            call("toJson", d.clone()),
            r#"{"a":0.3333333333333333,"b":1e+21,"c":0.3,"d":5,"e":1,"f":100,"g":1500000,"h":1e-7,"i":123456789,"j":[]}"#
        );
        assert_eq!(
            call("toYamlPretty", d.clone()),
            "a: 0.3333333333333333\nb: 1e+21\nc: 0.3\nd: 5\ne: 1\nf: 100\ng: 1.5e+06\nh: 1e-07\ni: 123456789\nj: []"
        );
        assert_eq!(
            call("toToml", d),
            "a = 0.3333333333333333\nb = 1e+21\nc = 0.3\nd = 5\ne = 1.0\nf = 100.0\ng = 1.5e+06\nh = 1e-07\ni = 123456789\nj = []\n"
        );
        assert_eq!(call("toYaml", Value::Float(f64::NAN)), "");
        assert_eq!(call("toJson", Value::Float(f64::INFINITY)), "");
    }

    #[test]
    fn complex_keys_match_helm() {
        let src = include_str!("../../tests/fixtures/formats/keys.yaml");
        let v = crate::yaml::parse_values(src).unwrap();
        let k = match &v {
            Value::Map(m) => m.borrow().get("k").cloned().unwrap(),
            _ => unreachable!(),
        };
        assert_eq!(
            call("toYaml", k.clone()),
            include_str!("../../tests/fixtures/formats/keys.toYaml.txt").trim_end_matches('\n')
        );
        assert_eq!(
            call("toYamlPretty", k),
            include_str!("../../tests/fixtures/formats/keys.toYamlPretty.txt").trim_end_matches('\n')
        );
    }
}
