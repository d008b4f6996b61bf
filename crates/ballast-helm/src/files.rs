//! `.Files`: a chart's non-template files (Helm's `engine.files`, a `map[string][]byte` with
//! methods), as a [`Value::Object`].
//!
//! Methods: `Get` (string, "" if missing), `GetBytes` (bytes, empty if missing), `Glob`
//! (gobwas glob with `/` as separator: `*` and `?` do not cross `/`, `**` does; `{a,b}`,
//! `[a-z]`, `[!a]`; an invalid pattern matches everything, as `**`), `Lines` (the lines, a
//! final newline dropped), `AsConfig` / `AsSecrets` (a YAML map of base name → content, keys
//! sorted; base64 content for `AsSecrets`). A file name that is not a method reads as a map key
//! (the file's bytes).

use std::collections::BTreeMap;
use std::rc::Rc;

use ballast_gotemplate::Value;
use ballast_gotemplate::func::Args;
use ballast_gotemplate::value::{Map, Object};

use crate::chart::ChartFile;

/// The files of one chart, by path from the chart root.
#[derive(Clone, Debug, Default)]
pub struct Files {
    files: BTreeMap<String, crate::chart::Blob>,
}

impl Files {
    /// The `.Files` of a chart's files (`Chart::files`).
    pub fn new(files: &[ChartFile]) -> Files {
        Files {
            files: files.iter().map(|f| (f.name.clone(), f.data.clone())).collect(),
        }
    }

    /// This set as a template value.
    pub fn into_value(self) -> Value {
        Value::Object(Rc::new(self))
    }

    /// The files in path order, as `range` over `.Files` visits them (path → bytes).
    pub fn entries(&self) -> impl Iterator<Item = (&str, Value)> + '_ {
        self.files
            .iter()
            .map(|(k, v)| (k.as_str(), Value::Bytes(Rc::from(&v[..]))))
    }

    /// How many files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when there are no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// `GetBytes`.
    pub fn get_bytes(&self, name: &str) -> Rc<[u8]> {
        self.files
            .get(name)
            .map_or_else(|| Rc::from(Vec::new()), |b| Rc::from(&b[..]))
    }

    /// `Get`: the content as a string (invalid UTF-8 replaced).
    pub fn get(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.get_bytes(name)).into_owned()
    }

    /// `Glob`: the files whose path matches `pattern`.
    pub fn glob(&self, pattern: &str) -> Files {
        let re = glob_regex(pattern).unwrap_or_else(|| glob_regex("**").expect("the pattern ** compiles"));
        Files {
            files: self
                .files
                .iter()
                .filter(|(k, _)| re.is_match(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// `Lines`: the file split at `\n`, one final newline dropped; empty when the file is
    /// missing. An empty existing file fails as in Helm (an index out of range).
    pub fn lines(&self, path: &str) -> Result<Vec<String>, String> {
        let Some(data) = self.files.get(path) else {
            return Ok(Vec::new());
        };
        let s = String::from_utf8_lossy(data);
        if s.is_empty() {
            return Err("runtime error: index out of range [-1]".into());
        }
        let s = s.strip_suffix('\n').unwrap_or(&s);
        Ok(s.split('\n').map(str::to_string).collect())
    }

    fn as_map(&self, encode: bool) -> String {
        let mut m = Map::new();
        for (k, v) in &self.files {
            let base = k.rsplit('/').next().unwrap_or(k).to_string();
            let s = if encode {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(v)
            } else {
                String::from_utf8_lossy(v).into_owned()
            };
            m.insert(base, Value::str(&s));
        }
        let y = crate::yaml::to_yaml(&Value::map(m)).unwrap_or_default();
        y.strip_suffix('\n').unwrap_or(&y).to_string()
    }

    /// `AsConfig`: base name → content, as YAML.
    pub fn as_config(&self) -> String {
        self.as_map(false)
    }

    /// `AsSecrets`: base name → base64 content, as YAML.
    pub fn as_secrets(&self) -> String {
        self.as_map(true)
    }
}

impl Object for Files {
    fn type_name(&self) -> String {
        "engine.files".into()
    }
    fn kind(&self) -> &'static str {
        "map"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AsConfig" => Some(Value::str(&self.as_config())),
            "AsSecrets" => Some(Value::str(&self.as_secrets())),
            _ => self.files.get(name).map(|d| Value::Bytes(Rc::from(&d[..]))),
        }
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let one = |args: &[Value]| -> Result<String, String> {
            match args {
                [a] => Args::string(a).map(str::to_string),
                _ => Err(format!("wrong number of args for {name}: want 1 got {}", args.len())),
            }
        };
        let r = match name {
            // A file that is not UTF-8 comes back as bytes standing for Go's byte string, so
            // that `b64enc`, `sha256sum` and `len` see the file's own bytes.
            "Get" => one(args).map(|p| {
                let bytes = self.get_bytes(&p);
                match std::str::from_utf8(&bytes) {
                    Ok(s) => Value::str(s),
                    Err(_) => Value::Bytes(bytes),
                }
            }),
            "GetBytes" => one(args).map(|p| Value::Bytes(self.get_bytes(&p))),
            "Glob" => one(args).map(|p| self.glob(&p).into_value()),
            "Lines" => one(args).and_then(|p| self.lines(&p)).map(|l| {
                let lines = Value::list(l.into_iter().map(Value::from).collect());
                ballast_gotemplate::value::name_list_type(&lines, "[]string");
                lines
            }),
            "AsConfig" | "AsSecrets" if !args.is_empty() => {
                Err(format!("wrong number of args for {name}: want 0 got {}", args.len()))
            }
            "AsConfig" => Ok(Value::str(&self.as_config())),
            "AsSecrets" => Ok(Value::str(&self.as_secrets())),
            _ => return None,
        };
        Some(r)
    }
    fn fmt_go(&self) -> String {
        let items: Vec<String> = self
            .files
            .iter()
            .map(|(k, v)| {
                let bytes: Vec<String> = v.iter().map(|b| b.to_string()).collect();
                format!("{k}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", items.join(" "))
    }
    fn entries(&self) -> Option<Map> {
        Some(
            self.files
                .iter()
                .map(|(k, v)| (k.clone(), Value::Bytes(Rc::from(&v[..]))))
                .collect(),
        )
    }
    fn to_data(&self) -> Value {
        use base64::Engine;
        let m: Map = self
            .files
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Value::str(&base64::engine::general_purpose::STANDARD.encode(v)),
                )
            })
            .collect();
        Value::map(m)
    }
}

/// A gobwas glob (separator `/`) as an anchored regular expression; `None` if invalid.
pub fn glob_regex(pattern: &str) -> Option<regex::Regex> {
    glob_regex_with(pattern, Some('/'))
}

/// A gobwas glob as an anchored regular expression, with `separator` (which `*` and `?` do not
/// match; `**` does) or none (`*` matches anything); `None` if invalid.
pub fn glob_regex_with(pattern: &str, separator: Option<char>) -> Option<regex::Regex> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pos = 0;
    let any = match separator {
        Some(s) => format!("[^{}]", escape_class(s)),
        None => ".".to_string(),
    };
    let body = glob_seq(&chars, &mut pos, 0, &any)?;
    if pos != chars.len() {
        return None;
    }
    regex::Regex::new(&format!("(?s)^{body}$")).ok()
}

/// Translates until the end, or (inside braces) an unnested `,` or `}`.
fn glob_seq(c: &[char], pos: &mut usize, depth: usize, any: &str) -> Option<String> {
    if depth > 32 {
        return None;
    }
    let mut out = String::new();
    while *pos < c.len() {
        let ch = c[*pos];
        match ch {
            ',' | '}' if depth > 0 => return Some(out),
            '\\' => {
                let next = *c.get(*pos + 1)?;
                out.push_str(&regex::escape(&next.to_string()));
                *pos += 2;
            }
            '*' => {
                if c.get(*pos + 1) == Some(&'*') {
                    out.push_str(".*");
                    *pos += 2;
                } else {
                    out.push_str(any);
                    out.push('*');
                    *pos += 1;
                }
            }
            '?' => {
                out.push_str(any);
                *pos += 1;
            }
            '[' => {
                *pos += 1;
                let negate = c.get(*pos) == Some(&'!');
                if negate {
                    *pos += 1;
                }
                let mut class = String::new();
                let mut closed = false;
                while *pos < c.len() {
                    let x = c[*pos];
                    *pos += 1;
                    match x {
                        ']' => {
                            closed = true;
                            break;
                        }
                        '-' if !class.is_empty() && c.get(*pos).is_some_and(|n| *n != ']') => class.push('-'),
                        '\\' => {
                            let n = *c.get(*pos)?;
                            *pos += 1;
                            class.push_str(&escape_class(n));
                        }
                        x => class.push_str(&escape_class(x)),
                    }
                }
                if !closed || class.is_empty() {
                    return None;
                }
                out.push_str(&format!("[{}{class}]", if negate { "^" } else { "" }));
            }
            '{' => {
                *pos += 1;
                let mut alts = Vec::new();
                loop {
                    alts.push(glob_seq(c, pos, depth + 1, any)?);
                    match c.get(*pos) {
                        Some(',') => *pos += 1,
                        Some('}') => {
                            *pos += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                out.push_str(&format!("(?:{})", alts.join("|")));
            }
            x => {
                out.push_str(&regex::escape(&x.to_string()));
                *pos += 1;
            }
        }
    }
    if depth > 0 { None } else { Some(out) }
}

fn escape_class(c: char) -> String {
    if matches!(c, '\\' | '[' | ']' | '^' | '-' | '&' | '~') {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[(&str, &str)]) -> Files {
        Files::new(
            &names
                .iter()
                .map(|(n, d)| ChartFile {
                    name: n.to_string(),
                    data: d.as_bytes().to_vec().into(),
                })
                .collect::<Vec<_>>(),
        )
    }

    fn names(f: &Files) -> Vec<String> {
        f.files.keys().cloned().collect()
    }

    #[test]
    fn glob_as_gobwas() {
        let f = files(&[
            ("a.txt", "a"),
            ("files/b.txt", "b"),
            ("files/sub/c.txt", "c"),
            ("files/d.json", "d"),
            ("README.md", "r"),
        ]);
        assert_eq!(names(&f.glob("*.txt")), ["a.txt"]);
        assert_eq!(names(&f.glob("files/*")), ["files/b.txt", "files/d.json"]);
        assert_eq!(
            names(&f.glob("files/**")),
            ["files/b.txt", "files/d.json", "files/sub/c.txt"]
        );
        assert_eq!(names(&f.glob("**.txt")), ["a.txt", "files/b.txt", "files/sub/c.txt"]);
        assert_eq!(names(&f.glob("files/*.{txt,json}")), ["files/b.txt", "files/d.json"]);
        assert_eq!(names(&f.glob("files/[a-c].*")), ["files/b.txt"]);
        assert_eq!(names(&f.glob("files/[!b].*")), ["files/d.json"]);
        assert_eq!(names(&f.glob("?.txt")), ["a.txt"]);
        // An invalid pattern is `**`.
        assert_eq!(f.glob("files/[").files.len(), 5);
        assert_eq!(f.glob("{a").files.len(), 5);
    }

    #[test]
    fn as_config_and_secrets_as_helm() {
        let f = files(&[
            ("a.txt", "a"),
            ("files/b.txt", "b\nline two\n"),
            ("files/sub/c.txt", "c\n"),
            ("files/d.json", "{\"d\":1}\n"),
        ]);
        assert_eq!(
            f.glob("files/**").as_config(),
            "b.txt: |\n  b\n  line two\nc.txt: |\n  c\nd.json: |\n  {\"d\":1}"
        );
        assert_eq!(
            f.glob("files/*").as_secrets(),
            "b.txt: YgpsaW5lIHR3bwo=\nd.json: eyJkIjoxfQo="
        );
        assert_eq!(f.glob("nomatch").as_config(), "{}");
    }

    #[test]
    fn get_lines_and_methods() {
        let f = files(&[("a.txt", "x\ny\n"), ("e", ""), ("two", "1\n\n2")]);
        assert_eq!(f.get("a.txt"), "x\ny\n");
        assert_eq!(f.get("missing"), "");
        assert_eq!(f.lines("a.txt").unwrap(), ["x", "y"]);
        assert_eq!(f.lines("two").unwrap(), ["1", "", "2"]);
        assert!(f.lines("missing").unwrap().is_empty());
        assert!(f.lines("e").is_err());
        let v = f.clone().into_value();
        let Value::Object(o) = &v else { unreachable!() };
        assert_eq!(o.type_name(), "engine.files");
        assert!(matches!(o.method("Get", &[Value::str("a.txt")]), Some(Ok(Value::String(s))) if &*s == "x\ny\n"));
        assert_eq!(
            o.method("Get", &[Value::Int(1)]).unwrap().unwrap_err(),
            "wrong type for value; expected string; got int"
        );
        assert!(o.method("Nope", &[]).is_none());
        assert_eq!(files(&[("a", "hi")]).fmt_go(), "map[a:[104 105]]");
    }
}
