//! Helm's `--set` syntax (`strvals`): `a.b=c,d[0]=e,f={x,y}`, parsed into a values map.
//!
//! Four readers share one grammar: `--set` types its scalars (`true`, `false`, `null`, int64
//! integers, everything else a string), `--set-string` keeps strings, `--set-file` reads the
//! named file, `--set-json` decodes a JSON value. `--set-literal` ([`parse_literal_into`]) has
//! its own simpler grammar: no escapes, no commas, the whole rest is the value.
//!
//! Error texts are Helm's, including the type mismatches Go reports as
//! `unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}`.

use std::cell::RefCell;
use std::rc::Rc;

use ballast_gotemplate::Value;
use ballast_gotemplate::value::Map;

/// The deepest `a.b.c...` nesting accepted (Helm's `MaxNestedNameLevel`).
pub const MAX_NESTED_NAME_LEVEL: usize = 30;
/// The largest list index accepted (Helm's `MaxIndex`).
pub const MAX_INDEX: usize = 65536;

/// Why parsing stopped: the end of input (not an error at the top) or a message.
enum Stop {
    Eof,
    Err(String),
}

impl From<String> for Stop {
    fn from(s: String) -> Stop {
        Stop::Err(s)
    }
}

type Res<T> = Result<T, Stop>;

/// How a scalar value's text becomes a value.
pub enum Reader<'a> {
    /// `--set`: typed scalars.
    Typed,
    /// `--set-string`: strings.
    String,
    /// `--set-json`: a JSON value.
    Json,
    /// `--set-file`: the text is a path, the value is what the function returns for it.
    File(&'a dyn Fn(&str) -> Result<Value, String>),
}

struct Scanner {
    chars: Vec<char>,
    pos: usize,
}

impl Scanner {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }
    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }
    /// Runes up to one of `stop` (consumed); `\x` gives `x` when `escapes`. `Ok((runes, None))`
    /// means the input ended.
    fn until(&mut self, stop: &[char], escapes: bool) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.next() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some('\\') if escapes => match self.next() {
                    None => return (v, None),
                    Some(n) => v.push(n),
                },
                Some(c) => v.push(c),
            }
        }
    }
}

struct Parser<'a> {
    sc: Scanner,
    reader: Reader<'a>,
}

/// Go's message for a failed type assertion on a value `got` expected to be `want`.
fn conversion(got: &Value, want: &str) -> String {
    let got = if got.is_nil() {
        "nil".to_string()
    } else {
        got.type_name()
    };
    format!("unable to parse key: interface conversion: interface {{}} is {got}, not {want}")
}

fn set(data: &Rc<RefCell<Map>>, key: &str, v: Value) {
    if !key.is_empty() {
        data.borrow_mut().insert(key.to_string(), v);
    }
}

fn set_index(list: &mut Vec<Value>, i: i64, v: Value) -> Result<(), String> {
    if i < 0 {
        return Err(format!("negative {i} index not allowed"));
    }
    let i = i as usize;
    if i > MAX_INDEX {
        return Err(format!(
            "index of {i} is greater than maximum supported index of {MAX_INDEX}"
        ));
    }
    if list.len() <= i {
        list.resize(i + 1, Value::Nil);
    }
    list[i] = v;
    Ok(())
}

/// `--set` typing: booleans and `null` in any case, `0`, base-10 int64 integers not starting
/// with `0`; anything else stays a string.
pub fn typed_val(s: &str) -> Value {
    if s.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if s.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if s.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if s == "0" {
        return Value::Int64(0);
    }
    if !s.is_empty()
        && !s.starts_with('0')
        && parse_go_int(s)
        && let Ok(i) = s.trim_start_matches('+').parse::<i64>()
    {
        return Value::Int64(i);
    }
    Value::str(s)
}

/// Whether `s` has the shape `strconv.ParseInt(s, 10, 64)` accepts: an optional sign, digits.
fn parse_go_int(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// A JSON document decoded as Helm decodes it: numbers float64, objects maps.
pub fn json_to_value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::str(s),
        serde_json::Value::Array(a) => Value::list(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => Value::map(o.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect()),
    }
}

impl Parser<'_> {
    fn read(&self, s: &str) -> Result<Value, String> {
        match &self.reader {
            Reader::Typed => Ok(typed_val(s)),
            Reader::String | Reader::Json => Ok(Value::str(s)),
            Reader::File(f) => f(s),
        }
    }

    fn parse(&mut self, data: &Rc<RefCell<Map>>) -> Result<(), String> {
        loop {
            match self.key(data, 0) {
                Ok(()) => {}
                Err(Stop::Eof) => return Ok(()),
                Err(Stop::Err(e)) => return Err(e),
            }
        }
    }

    /// Blanks, then a comma or the end (both consumed: an empty value) or anything else (left).
    fn empty_val(&mut self) -> bool {
        loop {
            match self.sc.next() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.sc.unread();
                    return false;
                }
            }
        }
    }

    /// One JSON value at the cursor (none before a comma or the end: `null`), then blanks and
    /// an optional comma. The parse goes on after it, as after any value: the next key read
    /// finds the end.
    fn json_value(&mut self) -> Res<Value> {
        if self.empty_val() {
            return Ok(Value::Nil);
        }
        let rest: String = self.sc.chars[self.sc.pos..].iter().collect();
        let (v, read) = crate::json::decode_first(&rest).map_err(Stop::Err)?;
        let used = rest[..read].chars().count();
        self.sc.pos += used;
        // Anything but blanks and a comma is left for the next key.
        self.empty_val();
        Ok(v)
    }

    fn key(&mut self, data: &Rc<RefCell<Map>>, level: usize) -> Res<()> {
        let (k, last) = self.sc.until(&['=', '[', ',', '.'], true);
        match last {
            None => {
                if k.is_empty() {
                    Err(Stop::Eof)
                } else {
                    Err(Stop::Err(format!("key {k:?} has no value")))
                }
            }
            Some(',') => {
                set(data, &k, Value::str(""));
                Err(Stop::Err(format!("key {k:?} has no value (cannot end with ,)")))
            }
            Some('=') => {
                if matches!(self.reader, Reader::Json) {
                    let v = self.json_value()?;
                    set(data, &k, v);
                    return Ok(());
                }
                match self.val_list() {
                    Ok(l) => {
                        set(data, &k, Value::list(l));
                        Ok(())
                    }
                    Err(ListErr::Eof) => {
                        set(data, &k, Value::str(""));
                        Err(Stop::Eof)
                    }
                    Err(ListErr::NotList) => {
                        let (rs, _) = self.sc.until(&[','], true);
                        let v = self.read(&rs)?;
                        set(data, &k, v);
                        Ok(())
                    }
                    Err(ListErr::Err(e)) => Err(Stop::Err(e)),
                }
            }
            Some('[') => {
                let i = self.key_index()?;
                let existing = data.borrow().get(&k).cloned();
                let mut list = match existing {
                    None => Vec::new(),
                    Some(Value::List(l)) => l.as_ref().clone(),
                    Some(other) => return Err(Stop::Err(conversion(&other, "[]interface {}"))),
                };
                let r = self.list_item(&mut list, i, level);
                set(data, &k, Value::list(list));
                r
            }
            Some(_) => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(Stop::Err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let existing = data.borrow().get(&k).cloned();
                let inner = match existing {
                    None => Rc::new(RefCell::new(Map::new())),
                    Some(Value::Map(m)) => m,
                    Some(other) => return Err(Stop::Err(conversion(&other, "map[string]interface {}"))),
                };
                let r = self.key(&inner, level);
                let empty = inner.borrow().is_empty();
                if r.is_ok() && empty {
                    return Err(Stop::Err(format!("key map {k:?} has no value")));
                }
                if !empty {
                    set(data, &k, Value::Map(inner));
                }
                r
            }
        }
    }

    fn key_index(&mut self) -> Res<i64> {
        let (v, last) = self.sc.until(&[']'], true);
        if last.is_none() {
            return Err(Stop::Eof);
        }
        go_atoi(&v).map_err(|e| Stop::Err(format!("error parsing index: {e}")))
    }

    fn list_item(&mut self, list: &mut Vec<Value>, i: i64, level: usize) -> Res<()> {
        if i < 0 {
            return Err(Stop::Err(format!("negative {i} index not allowed")));
        }
        let (k, last) = self.sc.until(&['[', '.', '='], true);
        if !k.is_empty() {
            let runes: Vec<String> = k.chars().map(go_quote_rune).collect();
            return Err(Stop::Err(format!(
                "unexpected data at end of array index: [{}]",
                runes.join(" ")
            )));
        }
        match last {
            None => Err(Stop::Eof),
            Some('=') => {
                if matches!(self.reader, Reader::Json) {
                    let v = self.json_value()?;
                    return Ok(set_index(list, i, v)?);
                }
                match self.val_list() {
                    Ok(l) => Ok(set_index(list, i, Value::list(l))?),
                    Err(ListErr::Eof) => Ok(set_index(list, i, Value::str(""))?),
                    Err(ListErr::NotList) => {
                        let (rs, _) = self.sc.until(&[','], true);
                        let v = self.read(&rs)?;
                        Ok(set_index(list, i, v)?)
                    }
                    Err(ListErr::Err(e)) => Err(Stop::Err(e)),
                }
            }
            Some('[') => {
                let next = self.key_index()?;
                let mut inner = match list.get(i as usize) {
                    None | Some(Value::Nil) => Vec::new(),
                    Some(Value::List(l)) => l.as_ref().clone(),
                    Some(other) => return Err(Stop::Err(conversion(other, "[]interface {}"))),
                };
                self.list_item(&mut inner, next, level)?;
                Ok(set_index(list, i, Value::list(inner))?)
            }
            Some(_) => {
                let inner = match list.get(i as usize) {
                    Some(Value::Map(m)) => m.clone(),
                    _ => Rc::new(RefCell::new(Map::new())),
                };
                self.key(&inner, level)?;
                Ok(set_index(list, i, Value::Map(inner))?)
            }
        }
    }

    fn val_list(&mut self) -> Result<Vec<Value>, ListErr> {
        match self.sc.next() {
            None => return Err(ListErr::Eof),
            Some('{') => {}
            Some(_) => {
                self.sc.unread();
                return Err(ListErr::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.sc.until(&[',', '}'], true);
            match last {
                None => return Err(ListErr::Err("list must terminate with '}'".into())),
                Some('}') => {
                    if let Some(c) = self.sc.next()
                        && c != ','
                    {
                        self.sc.unread();
                    }
                    list.push(self.read(&rs).map_err(ListErr::Err)?);
                    return Ok(list);
                }
                Some(_) => list.push(self.read(&rs).map_err(ListErr::Err)?),
            }
        }
    }
}

enum ListErr {
    Eof,
    NotList,
    Err(String),
}

/// Go's `strconv.Atoi`, with its error text.
fn go_atoi(s: &str) -> Result<i64, String> {
    if parse_go_int(s)
        && let Ok(i) = s.trim_start_matches('+').parse::<i64>()
    {
        return Ok(i);
    }
    if parse_go_int(s) {
        return Err(format!("strconv.Atoi: parsing {s:?}: value out of range"));
    }
    Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"))
}

/// Go's `%q` of one rune: `'x'`.
fn go_quote_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '\\' => "'\\\\'".into(),
        '\n' => "'\\n'".into(),
        '\t' => "'\\t'".into(),
        '\r' => "'\\r'".into(),
        c if c.is_control() => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

/// Parses `s` with `reader` into `dest` (Helm's `ParseInto`, `ParseIntoString`, `ParseJSON`,
/// `ParseIntoFile`); `dest` is changed in place, also when an error is returned.
pub fn parse_into(s: &str, dest: &Value, reader: Reader<'_>) -> Result<(), String> {
    let Value::Map(data) = dest else {
        return Err("values are not a map".into());
    };
    let mut p = Parser {
        sc: Scanner {
            chars: s.chars().collect(),
            pos: 0,
        },
        reader,
    };
    p.parse(data)
}

/// `--set` values (`strvals.Parse`) into a new map.
pub fn parse(s: &str) -> Result<Value, String> {
    let v = Value::empty_map();
    parse_into(s, &v, Reader::Typed)?;
    Ok(v)
}

/// `--set-literal`: keys split at `.` and `[i]` (no escapes), the value is the whole rest of
/// the string, commas included, as a string.
pub fn parse_literal_into(s: &str, dest: &Value) -> Result<(), String> {
    let Value::Map(data) = dest else {
        return Err("values are not a map".into());
    };
    let mut sc = Scanner {
        chars: s.chars().collect(),
        pos: 0,
    };
    match literal_key(&mut sc, data, 0) {
        Ok(()) | Err(Stop::Eof) => Ok(()),
        Err(Stop::Err(e)) => Err(e),
    }
}

fn literal_rest(sc: &mut Scanner) -> String {
    let rest: String = sc.chars[sc.pos..].iter().collect();
    sc.pos = sc.chars.len();
    rest
}

fn literal_key(sc: &mut Scanner, data: &Rc<RefCell<Map>>, level: usize) -> Res<()> {
    let (k, last) = sc.until(&['=', '[', '.'], false);
    match last {
        None => {
            if k.is_empty() {
                Err(Stop::Eof)
            } else {
                Err(Stop::Err(format!("key {k:?} has no value")))
            }
        }
        Some('=') => {
            let v = literal_rest(sc);
            set(data, &k, Value::str(&v));
            Ok(())
        }
        Some('[') => {
            let (idx, last) = sc.until(&[']'], false);
            if last.is_none() {
                return Err(Stop::Eof);
            }
            let i = go_atoi(&idx).map_err(|e| Stop::Err(format!("error parsing index: {e}")))?;
            let existing = data.borrow().get(&k).cloned();
            let mut list = match existing {
                None => Vec::new(),
                Some(Value::List(l)) => l.as_ref().clone(),
                Some(other) => return Err(Stop::Err(conversion(&other, "[]interface {}"))),
            };
            let r = literal_list_item(sc, &mut list, i, level);
            set(data, &k, Value::list(list));
            r
        }
        Some(_) => {
            let level = level + 1;
            if level > MAX_NESTED_NAME_LEVEL {
                return Err(Stop::Err(format!(
                    "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                )));
            }
            let existing = data.borrow().get(&k).cloned();
            let inner = match existing {
                None => Rc::new(RefCell::new(Map::new())),
                Some(Value::Map(m)) => m,
                Some(other) => return Err(Stop::Err(conversion(&other, "map[string]interface {}"))),
            };
            let r = literal_key(sc, &inner, level);
            let empty = inner.borrow().is_empty();
            if r.is_ok() && empty {
                return Err(Stop::Err(format!("key map {k:?} has no value")));
            }
            if !empty {
                set(data, &k, Value::Map(inner));
            }
            r
        }
    }
}

fn literal_list_item(sc: &mut Scanner, list: &mut Vec<Value>, i: i64, level: usize) -> Res<()> {
    if i < 0 {
        return Err(Stop::Err(format!("negative {i} index not allowed")));
    }
    let (k, last) = sc.until(&['[', '.', '='], false);
    if !k.is_empty() {
        let runes: Vec<String> = k.chars().map(go_quote_rune).collect();
        return Err(Stop::Err(format!(
            "unexpected data at end of array index: [{}]",
            runes.join(" ")
        )));
    }
    match last {
        None => Err(Stop::Eof),
        Some('=') => {
            let v = literal_rest(sc);
            Ok(set_index(list, i, Value::str(&v))?)
        }
        Some('[') => {
            let (idx, last) = sc.until(&[']'], false);
            if last.is_none() {
                return Err(Stop::Eof);
            }
            let next = go_atoi(&idx).map_err(|e| Stop::Err(format!("error parsing index: {e}")))?;
            let mut inner = match list.get(i as usize) {
                None | Some(Value::Nil) => Vec::new(),
                Some(Value::List(l)) => l.as_ref().clone(),
                Some(other) => return Err(Stop::Err(conversion(other, "[]interface {}"))),
            };
            literal_list_item(sc, &mut inner, next, level)?;
            Ok(set_index(list, i, Value::list(inner))?)
        }
        Some(_) => {
            let inner = match list.get(i as usize) {
                Some(Value::Map(m)) => m.clone(),
                _ => Rc::new(RefCell::new(Map::new())),
            };
            literal_key(sc, &inner, level)?;
            Ok(set_index(list, i, Value::Map(inner))?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values as `toJson` prints them (Helm's probes print `{{ toJson .Values }}`).
    fn j(v: &Value) -> String {
        match v {
            Value::Nil => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int64(i) | Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::String(s) => serde_json::to_string(&**s).unwrap(),
            Value::List(l) => format!("[{}]", l.iter().map(j).collect::<Vec<_>>().join(",")),
            Value::Map(m) => format!(
                "{{{}}}",
                m.borrow()
                    .iter()
                    .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), j(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            _ => "?".into(),
        }
    }

    fn set(args: &[&str]) -> Result<String, String> {
        let v = Value::empty_map();
        for a in args {
            parse_into(a, &v, Reader::Typed)?;
        }
        Ok(j(&v))
    }

    #[test]
    fn typed_scalars_as_helm() {
        assert_eq!(
            set(&["a=1,b=true,c=TRUE,d=null,e=007,f=0,g=-5,h=+5,i=1.5,j=9223372036854775808,k=,l={a,b,c},m=x\\,y,n\\.o=1,p=a=b"])
                .unwrap(),
            r#"{"a":1,"b":true,"c":true,"d":null,"e":"007","f":0,"g":-5,"h":5,"i":"1.5","j":"9223372036854775808","k":"","l":["a","b","c"],"m":"x,y","n.o":1,"p":"a=b"}"#
        );
        assert!(matches!(typed_val("12"), Value::Int64(12)));
    }

    #[test]
    fn nesting_and_lists() {
        assert_eq!(set(&["a.b=2,a=1"]).unwrap(), r#"{"a":1}"#);
        assert_eq!(
            set(&["a.b.c=1,a.d=2", "a.b.e=3"]).unwrap(),
            r#"{"a":{"b":{"c":1,"e":3},"d":2}}"#
        );
        assert_eq!(
            set(&["a[0].b=1,a[0].c=2,a[2][1]=z"]).unwrap(),
            r#"{"a":[{"b":1,"c":2},null,[null,"z"]]}"#
        );
        assert_eq!(set(&["a[1]=x", "a[3]=y"]).unwrap(), r#"{"a":[null,"x",null,"y"]}"#);
        assert_eq!(set(&["a={b,c},d=1"]).unwrap(), r#"{"a":["b","c"],"d":1}"#);
        assert_eq!(set(&["a={}"]).unwrap(), r#"{"a":[""]}"#);
        assert_eq!(set(&["a[0]={x,y}"]).unwrap(), r#"{"a":[["x","y"]]}"#);
        assert_eq!(set(&["a[0]"]).unwrap(), r#"{"a":[]}"#);
        assert_eq!(set(&["a."]).unwrap(), "{}");
        assert_eq!(set(&["=1"]).unwrap(), "{}");
        assert_eq!(set(&["\\=x=1,a\\\\b=2"]).unwrap(), r#"{"=x":1,"a\\b":2}"#);
        assert_eq!(set(&["a=x y ,b= c"]).unwrap(), r#"{"a":"x y ","b":" c"}"#);
    }

    #[test]
    fn errors_as_helm() {
        let cases = [
            (
                "a=1,a.b=2",
                "unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}",
            ),
            (
                "a=1,a[0]=2",
                "unable to parse key: interface conversion: interface {} is int64, not []interface {}",
            ),
            (
                "a[0]=1,a.b=2",
                "unable to parse key: interface conversion: interface {} is []interface {}, not map[string]interface {}",
            ),
            (
                "a[0]=1,a[0][1]=3",
                "unable to parse key: interface conversion: interface {} is int64, not []interface {}",
            ),
            (
                "a=null,a.b=1",
                "unable to parse key: interface conversion: interface {} is nil, not map[string]interface {}",
            ),
            ("a", "key \"a\" has no value"),
            ("a,", "key \"a\" has no value (cannot end with ,)"),
            ("a[-1]=1", "negative -1 index not allowed"),
            (
                "a[x]=1",
                "error parsing index: strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            (
                "a[70000]=1",
                "index of 70000 is greater than maximum supported index of 65536",
            ),
            ("a[0]x=1", "unexpected data at end of array index: ['x']"),
            ("a={b,c", "list must terminate with '}'"),
            ("a.=1", "key map \"a\" has no value"),
            ("a..b=1", "key map \"a\" has no value"),
            (
                "a[ 1]=x",
                "error parsing index: strconv.Atoi: parsing \" 1\": invalid syntax",
            ),
            (",", "key \"\" has no value (cannot end with ,)"),
            ("a=1,,b=2", "key \"\" has no value (cannot end with ,)"),
            ("a={},b={{x}}", "key \"}\" has no value"),
        ];
        for (input, want) in cases {
            assert_eq!(set(&[input]).unwrap_err(), want, "{input}");
        }
        let deep = (0..32).map(|i| format!("k{i}")).collect::<Vec<_>>().join(".") + "=1";
        assert!(
            set(&[&deep])
                .unwrap_err()
                .contains("maximum supported nested level of 30")
        );
        let ok = (0..31).map(|i| format!("k{i}")).collect::<Vec<_>>().join(".") + "=1";
        assert!(set(&[&ok]).is_ok());
    }

    #[test]
    fn string_json_file_literal() {
        let v = Value::empty_map();
        parse_into("a=1,b=true,c=null", &v, Reader::String).unwrap();
        assert_eq!(j(&v), r#"{"a":"1","b":"true","c":"null"}"#);

        let v = Value::empty_map();
        parse_into(r#"a={"b":[1,2]} , c=3"#, &v, Reader::Json).unwrap();
        assert_eq!(j(&v), r#"{" c":3,"a":{"b":[1,2]}}"#);
        let v = Value::empty_map();
        parse_into(r#"a[1]={"x":1}"#, &v, Reader::Json).unwrap();
        assert_eq!(j(&v), r#"{"a":[null,{"x":1}]}"#);
        // After a JSON value the parse goes on: a path through a list index is set, a key
        // map left empty is an error, an empty value is null.
        let v = Value::empty_map();
        parse_into("a[0].x=[],e[0][1]=1e3", &v, Reader::Json).unwrap();
        assert_eq!(j(&v), r#"{"a":[{"x":[]}],"e":[[null,1000]]}"#);
        let v = Value::empty_map();
        parse_into("a=,b= ,c=2", &v, Reader::Json).unwrap();
        assert_eq!(j(&v), r#"{"a":null,"b":null,"c":2}"#);
        // Read as Go's stream decoder reads: a lone surrogate is U+FFFD, what follows a
        // complete value is the next key.
        let v = Value::empty_map();
        parse_into(r#"a="\ud800x""#, &v, Reader::Json).unwrap();
        assert_eq!(j(&v), "{\"a\":\"\u{fffd}x\"}");
        assert_eq!(
            parse_into("a=1x", &Value::empty_map(), Reader::Json).unwrap_err(),
            "key \"x\" has no value"
        );
        for bad in ["a.=1", "a..b=[]", "a.={}"] {
            assert_eq!(
                parse_into(bad, &Value::empty_map(), Reader::Json).unwrap_err(),
                "key map \"a\" has no value",
                "{bad}"
            );
        }
        for bad in ["a=[1", "a=1 x", "a=1,,b=2"] {
            assert!(parse_into(bad, &Value::empty_map(), Reader::Json).is_err(), "{bad}");
        }

        let read = |p: &str| -> Result<Value, String> {
            if p == "f.txt" {
                Ok(Value::str("hello"))
            } else {
                Err(format!("open {p}: no such file or directory"))
            }
        };
        let v = Value::empty_map();
        parse_into("a={f.txt}", &v, Reader::File(&read)).unwrap();
        assert_eq!(j(&v), r#"{"a":["hello"]}"#);
        assert_eq!(
            parse_into("a=f.txt,b=/nonexist", &v, Reader::File(&read)).unwrap_err(),
            "open /nonexist: no such file or directory"
        );

        let v = Value::empty_map();
        parse_literal_into("a.b\\.c=x,y=z\\,w", &v).unwrap();
        assert_eq!(j(&v), r#"{"a":{"b\\":{"c":"x,y=z\\,w"}}}"#);
        let v = Value::empty_map();
        parse_literal_into("a[0]=1", &v).unwrap();
        assert_eq!(j(&v), r#"{"a":["1"]}"#);
    }
}
