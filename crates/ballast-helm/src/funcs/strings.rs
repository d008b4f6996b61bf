//! sprig's string functions: trimming, case, abbreviation, quoting, indenting, splitting and
//! joining, with Go's byte-oriented slicing and simple (one rune to one rune) case mappings.
//!
//! Every function that can grow its input (`repeat`, `indent`, `nindent`, `replace`, `wrap`,
//! `wrapWith`) refuses to build more than [`MAX_OUTPUT`] bytes.

use ballast_gotemplate::fmt::{quote as go_quote, sprint_value};
use ballast_gotemplate::{Args, Arity, FuncMap, Map, Value};

/// The largest string a function of this group builds (64 MiB).
pub(crate) const MAX_OUTPUT: usize = 64 << 20;

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    use Arity::{AtLeast, Exact};
    m.pure("hello", Exact(0), |_| Ok(Value::str("Hello!")));
    m.pure("abbrev", Exact(2), |a| {
        Ok(abbrev(Args::int(&a[0])?, Args::string(&a[1])?).into())
    });
    m.pure("abbrevboth", Exact(3), |a| {
        let (left, right, s) = (Args::int(&a[0])?, Args::int(&a[1])?, Args::string(&a[2])?);
        if right < 4 || left > 0 && right < 7 {
            return Ok(Value::str(s));
        }
        Ok(abbreviate_full(s, left, right).into())
    });
    m.pure("trunc", Exact(2), |a| {
        Ok(trunc(Args::int(&a[0])?, Args::string(&a[1])?).into())
    });
    m.pure("trim", Exact(1), |a| Ok(Value::str(Args::string(&a[0])?.trim())));
    for name in ["trimall", "trimAll"] {
        m.pure(name, Exact(2), |a| {
            let cut = Args::string(&a[0])?;
            Ok(Value::str(Args::string(&a[1])?.trim_matches(|c| cut.contains(c))))
        });
    }
    m.pure("trimSuffix", Exact(2), |a| {
        let (suffix, s) = (Args::string(&a[0])?, Args::string(&a[1])?);
        Ok(Value::str(s.strip_suffix(suffix).unwrap_or(s)))
    });
    m.pure("trimPrefix", Exact(2), |a| {
        let (prefix, s) = (Args::string(&a[0])?, Args::string(&a[1])?);
        Ok(Value::str(s.strip_prefix(prefix).unwrap_or(s)))
    });
    m.pure("upper", Exact(1), |a| {
        Ok(Args::string(&a[0])?
            .chars()
            .map(simple_upper)
            .collect::<String>()
            .into())
    });
    m.pure("lower", Exact(1), |a| {
        Ok(Args::string(&a[0])?
            .chars()
            .map(simple_lower)
            .collect::<String>()
            .into())
    });
    m.pure("title", Exact(1), |a| Ok(title(Args::string(&a[0])?).into()));
    m.pure("untitle", Exact(1), |a| Ok(untitle(Args::string(&a[0])?).into()));
    m.pure("substr", Exact(3), |a| {
        substr(Args::int(&a[0])?, Args::int(&a[1])?, Args::string(&a[2])?).map(Value::from)
    });
    m.pure("repeat", Exact(2), |a| {
        repeat(Args::string(&a[1])?, Args::int(&a[0])?).map(Value::from)
    });
    m.pure("nospace", Exact(1), |a| Ok(nospace(Args::string(&a[0])?).into()));
    m.pure("initials", Exact(1), |a| Ok(initials(Args::string(&a[0])?).into()));
    m.pure("swapcase", Exact(1), |a| Ok(swapcase(Args::string(&a[0])?).into()));
    m.pure("snakecase", Exact(1), |a| {
        Ok(lower_words(Args::string(&a[0])?, '_').into())
    });
    m.pure("kebabcase", Exact(1), |a| {
        Ok(lower_words(Args::string(&a[0])?, '-').into())
    });
    m.pure("camelcase", Exact(1), |a| Ok(pascal_case(Args::string(&a[0])?).into()));
    m.pure("wrap", Exact(2), |a| {
        wrap(Args::string(&a[1])?, Args::int(&a[0])?, "\n", false).map(Value::from)
    });
    m.pure("wrapWith", Exact(3), |a| {
        let (width, sep, s) = (Args::int(&a[0])?, Args::string(&a[1])?, Args::string(&a[2])?);
        wrap(s, width, if sep.is_empty() { "\n" } else { sep }, true).map(Value::from)
    });
    m.pure("contains", Exact(2), |a| {
        Ok(Args::string(&a[1])?.contains(Args::string(&a[0])?).into())
    });
    m.pure("hasPrefix", Exact(2), |a| {
        Ok(Args::string(&a[1])?.starts_with(Args::string(&a[0])?).into())
    });
    m.pure("hasSuffix", Exact(2), |a| {
        Ok(Args::string(&a[1])?.ends_with(Args::string(&a[0])?).into())
    });
    m.pure("quote", AtLeast(0), |a| {
        let quoted: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(|v| go_quote(&strval(v))).collect();
        Ok(quoted.join(" ").into())
    });
    m.pure("squote", AtLeast(0), |a| {
        let quoted: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", sprint_value(v)))
            .collect();
        Ok(quoted.join(" ").into())
    });
    m.pure("cat", AtLeast(0), |a| {
        let parts: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(sprint_value).collect();
        Ok(parts.join(" ").into())
    });
    m.pure("indent", Exact(2), |a| {
        indent(Args::int(&a[0])?, Args::string(&a[1])?, false).map(Value::from)
    });
    m.pure("nindent", Exact(2), |a| {
        indent(Args::int(&a[0])?, Args::string(&a[1])?, true).map(Value::from)
    });
    m.pure("replace", Exact(3), |a| {
        replace(Args::string(&a[2])?, Args::string(&a[0])?, Args::string(&a[1])?).map(Value::from)
    });
    m.pure("plural", Exact(3), |a| {
        let (one, many, n) = (Args::string(&a[0])?, Args::string(&a[1])?, Args::int(&a[2])?);
        Ok(Value::str(if n == 1 { one } else { many }))
    });
    m.pure("toString", Exact(1), |a| {
        Ok(match &a[0] {
            // Bytes that are not UTF-8 stay bytes: a Go string holding them (see `Args::bytes`).
            Value::Bytes(b) if std::str::from_utf8(b).is_err() => a[0].clone(),
            v => strval(v).into(),
        })
    });
    m.pure("toStrings", Exact(1), |a| Ok(string_list(&to_strings(&a[0]))));
    m.pure("split", Exact(2), |a| {
        let (sep, s) = (Args::string(&a[0])?, Args::string(&a[1])?);
        Ok(indexed_map(go_split(s, sep, -1)))
    });
    m.pure("splitn", Exact(3), |a| {
        let (sep, n, s) = (Args::string(&a[0])?, Args::int(&a[1])?, Args::string(&a[2])?);
        Ok(indexed_map(go_split(s, sep, n)))
    });
    m.pure("splitList", Exact(2), |a| {
        let (sep, s) = (Args::string(&a[0])?, Args::string(&a[1])?);
        Ok(Value::list(go_split(s, sep, -1).into_iter().map(Value::from).collect()))
    });
    m.pure("join", Exact(2), |a| {
        Ok(to_strings(&a[1]).join(Args::string(&a[0])?).into())
    });
    m.pure("sortAlpha", Exact(1), |a| {
        let mut items = match &a[0] {
            Value::List(_) | Value::Bytes(_) => to_strings(&a[0]),
            Value::Object(o) if matches!(o.kind(), "slice" | "array") => to_strings(&a[0]),
            v => vec![strval(v)],
        };
        items.sort();
        Ok(string_list(&items))
    });
}

/// sprig's `strval`: a string as is, bytes as text, anything else as fmt's `%v` prints it.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        v => sprint_value(v),
    }
}

/// sprig's `strslice` (`toStrings`, `join`): the elements of a list, nils dropped, each through
/// [`strval`]; a nil gives no element; any other value one element.
pub(crate) fn to_strings(v: &Value) -> Vec<String> {
    match v {
        Value::Nil => Vec::new(),
        Value::List(l) => l.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Bytes(b) => b.iter().map(|x| x.to_string()).collect(),
        Value::Object(o) if matches!(o.kind(), "slice" | "array") => to_strings(&o.to_data()),
        v => vec![strval(v)],
    }
}

fn string_list(items: &[String]) -> Value {
    Value::list(items.iter().map(|s| Value::str(s)).collect())
}

fn indexed_map(parts: Vec<String>) -> Value {
    let map: Map = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::from(p)))
        .collect();
    // sprig's `map[string]string`.
    Value::Object(std::rc::Rc::new(crate::capabilities::StringMap(Some(map))))
}

/// A byte range of `s` as text; a cut inside a UTF-8 sequence shows as U+FFFD, since Go's
/// byte slice would hold invalid UTF-8.
fn byte_slice(s: &str, from: usize, to: usize) -> String {
    match s.get(from..to) {
        Some(x) => x.to_string(),
        None => String::from_utf8_lossy(&s.as_bytes()[from..to]).into_owned(),
    }
}

fn ensure_size(len: usize) -> Result<(), String> {
    if len > MAX_OUTPUT {
        Err(format!("result of {len} bytes exceeds the limit of {MAX_OUTPUT} bytes"))
    } else {
        Ok(())
    }
}

/// `trunc`: the first `c` bytes, or for a negative `c` the last `-c` bytes.
fn trunc(c: i64, s: &str) -> String {
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return byte_slice(s, (len + c) as usize, s.len());
    }
    if c >= 0 && len > c {
        return byte_slice(s, 0, c as usize);
    }
    s.to_string()
}

/// `substr`: Go's `s[:end]` for a negative start, `s[start:]` for a negative or too large
/// end, `s[start:end]` otherwise, with Go's out-of-range panics as errors.
fn substr(start: i64, end: i64, s: &str) -> Result<String, String> {
    let len = s.len() as i64;
    let (from, to) = if start < 0 {
        if end < 0 {
            return Err(format!("runtime error: slice bounds out of range [:{end}]"));
        }
        if end > len {
            return Err(format!(
                "runtime error: slice bounds out of range [:{end}] with length {len}"
            ));
        }
        (0, end)
    } else if end < 0 || end > len {
        if start > len {
            return Err(format!("runtime error: slice bounds out of range [{start}:{len}]"));
        }
        (start, len)
    } else {
        if start > end {
            return Err(format!("runtime error: slice bounds out of range [{start}:{end}]"));
        }
        (start, end)
    };
    Ok(byte_slice(s, from as usize, to as usize))
}

fn repeat(s: &str, count: i64) -> Result<String, String> {
    if count < 0 {
        return Err("strings: negative Repeat count".into());
    }
    ensure_size(s.len().saturating_mul(count as usize))?;
    Ok(s.repeat(count as usize))
}

fn indent(spaces: i64, s: &str, newline: bool) -> Result<String, String> {
    if spaces < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let pad = spaces as usize;
    let lines = s.bytes().filter(|b| *b == b'\n').count() + 1;
    ensure_size(pad.saturating_mul(lines).saturating_add(s.len()))?;
    let pad = " ".repeat(pad);
    let mut out = String::with_capacity(s.len() + pad.len() * lines + 1);
    if newline {
        out.push('\n');
    }
    out.push_str(&pad);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    Ok(out)
}

/// Go's `strings.Replace(s, old, new, -1)`: an empty `old` matches before each rune and at
/// the end.
fn replace(s: &str, old: &str, new: &str) -> Result<String, String> {
    let matches = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    let grown = matches.saturating_mul(new.len()).saturating_add(s.len());
    ensure_size(grown)?;
    Ok(s.replace(old, new))
}

/// Go's `strings.SplitN(s, sep, n)` (n < 0: all parts; n == 0: none); an empty separator
/// splits into runes.
fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<&str> = s.char_indices().map(|(i, c)| &s[i..i + c.len_utf8()]).collect();
        if n < 0 || chars.len() <= n as usize {
            return chars.into_iter().map(str::to_string).collect();
        }
        let n = n as usize;
        let mut out: Vec<String> = chars[..n - 1].iter().map(|c| c.to_string()).collect();
        out.push(chars[n - 1..].concat());
        return out;
    }
    if n < 0 {
        s.split(sep).map(str::to_string).collect()
    } else {
        s.splitn(n as usize, sep).map(str::to_string).collect()
    }
}

fn abbrev(width: i64, s: &str) -> String {
    if width < 4 {
        return s.to_string();
    }
    abbreviate_full(s, 0, width)
}

/// goutils' `AbbreviateFull` on bytes, its errors giving "".
fn abbreviate_full(s: &str, offset: i64, width: i64) -> String {
    let len = s.len() as i64;
    if s.is_empty() || width < 4 {
        return String::new();
    }
    if len <= width {
        return s.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    if offset <= 4 {
        return byte_slice(s, 0, (width - 3) as usize) + "...";
    }
    if width < 7 {
        return String::new();
    }
    if offset + width - 3 < len {
        let rest = String::from_utf8_lossy(&s.as_bytes()[offset as usize..]).into_owned();
        return format!("...{}", abbreviate_full(&rest, 0, width - 3));
    }
    format!("...{}", byte_slice(s, (len - (width - 3)) as usize, s.len()))
}

/// Go's `unicode.ToUpper`: the simple one-rune mapping (`ß` stays `ß`).
pub(crate) fn simple_upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => match c as u32 {
            0x1f80..=0x1faf if (c as u32) & 0x8 == 0 => char::from_u32(c as u32 + 8).unwrap_or(c),
            0x1fb3 => '\u{1fbc}',
            0x1fc3 => '\u{1fcc}',
            0x1ff3 => '\u{1ffc}',
            _ => c,
        },
    }
}

/// Go's `unicode.ToLower`: the simple one-rune mapping.
pub(crate) fn simple_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut low = c.to_lowercase();
    match (low.next(), low.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`.
fn simple_title(c: char) -> char {
    match c as u32 {
        0x1c4..=0x1c6 => '\u{1c5}',
        0x1c7..=0x1c9 => '\u{1c8}',
        0x1ca..=0x1cc => '\u{1cb}',
        0x1f1..=0x1f3 => '\u{1f2}',
        0x1f88..=0x1f8f | 0x1f98..=0x1f9f | 0x1fa8..=0x1faf | 0x1fbc | 0x1fcc | 0x1ffc => c,
        _ => simple_upper(c),
    }
}

/// Go's `unicode.IsTitle` (category Lt).
fn is_title(c: char) -> bool {
    matches!(c as u32, 0x1c5 | 0x1c8 | 0x1cb | 0x1f2 | 0x1f88..=0x1f8f | 0x1f98..=0x1f9f | 0x1fa8..=0x1faf | 0x1fbc | 0x1fcc | 0x1ffc)
}

/// Go's `strings.Title`: the first letter of each word in title case, where words are
/// separated by anything but ASCII letters, digits and `_`, and non-ASCII letters and digits.
fn title(s: &str) -> String {
    let separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphabetic() || c.is_numeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if separator(prev) { simple_title(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// goutils' `Uncapitalize`: the first rune of each whitespace-separated word lowered.
fn untitle(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if c.is_whitespace() {
                next = true;
                c
            } else if next {
                next = false;
                simple_lower(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils' `SwapCase`: upper and title to lower, lower to title after whitespace or at the
/// start, other lower to upper.
fn swapcase(s: &str) -> String {
    let mut after_space = true;
    s.chars()
        .map(|c| {
            if c.is_uppercase() && !c.is_lowercase() || is_title(c) {
                after_space = false;
                simple_lower(c)
            } else if c.is_lowercase() {
                let out = if after_space { simple_title(c) } else { simple_upper(c) };
                after_space = false;
                out
            } else {
                after_space = c.is_whitespace();
                c
            }
        })
        .collect()
}

/// Go's `unicode.IsSpace` of a byte taken as a rune (goutils walks bytes).
fn byte_is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// goutils' `DeleteWhiteSpace`: walks bytes, so multi-byte runes are re-encoded byte by byte
/// as Latin-1 when anything was deleted.
fn nospace(s: &str) -> String {
    if !s.bytes().any(byte_is_space) {
        return s.to_string();
    }
    s.bytes().filter(|b| !byte_is_space(*b)).map(char::from).collect()
}

/// goutils' `Initials`: the first byte of each whitespace-separated word, as a rune.
fn initials(s: &str) -> String {
    let mut gap = true;
    let mut out = String::new();
    for b in s.bytes() {
        if byte_is_space(b) {
            gap = true;
        } else if gap {
            out.push(char::from(b));
            gap = false;
        }
    }
    out
}

/// goutils' `WrapCustom` on bytes: breaks at the last space within `width`, long words kept
/// whole unless `long_words`.
fn wrap(s: &str, width: i64, newline: &str, long_words: bool) -> Result<String, String> {
    if s.is_empty() {
        return Ok(String::new());
    }
    let width = width.max(1).min(i64::from(u32::MAX)) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0;
    let mut out: Vec<u8> = Vec::new();
    while len - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        if let Some(space) = b[offset..end].iter().rposition(|c| *c == b' ') {
            out.extend_from_slice(&b[offset..offset + space]);
            out.extend_from_slice(newline.as_bytes());
            offset += space + 1;
        } else if long_words {
            out.extend_from_slice(&b[offset..offset + width]);
            out.extend_from_slice(newline.as_bytes());
            offset += width;
        } else {
            let end = width + offset;
            match b[end..].iter().position(|c| *c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(i) => {
                    out.extend_from_slice(&b[offset..end + i]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = end + i + 1;
                }
            }
        }
        ensure_size(out.len())?;
    }
    out.extend_from_slice(&b[offset..]);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// xstrings' `isAlphabet`: a letter, but not a CJK ideograph.
fn is_alpha(c: char) -> bool {
    c.is_alphabetic() && !matches!(c as u32, 0x4e00..=0x9fcc | 0x3400..=0x4d85 | 0x20000..=0x2b81d)
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() && !matches!(c, '$' | '+' | '<' | '=' | '>' | '^' | '`' | '|' | '~')
        || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control() && is_unicode_punct(c))
}

/// A coarse test for Unicode punctuation (category P) outside ASCII.
fn is_unicode_punct(c: char) -> bool {
    matches!(c as u32, 0xa1 | 0xa7 | 0xab | 0xb6 | 0xb7 | 0xbb | 0xbf | 0x2010..=0x2027 | 0x2030..=0x205e | 0x3001..=0x3003 | 0x3008..=0x3011)
}

/// xstrings' word scanner: the next word's type, the word, and the rest.
fn next_word(s: &str) -> (Word, &str, &str) {
    let mut it = s.char_indices().peekable();
    let Some((_, first)) = it.next() else {
        return (Word::Invalid, "", "");
    };
    let end_of = |pos: Option<usize>| pos.unwrap_or(s.len());
    let take_while = |start: usize, pred: &dyn Fn(char) -> bool| -> usize {
        end_of(
            s[start..]
                .char_indices()
                .find(|(_, c)| !pred(*c))
                .map(|(i, _)| start + i),
        )
    };
    let n = first.len_utf8();
    let (wt, end) = if is_connector(first) {
        (Word::Connector, take_while(n, &is_connector))
    } else if is_punct(first) {
        (Word::Punct, take_while(n, &is_punct))
    } else if first.is_uppercase() {
        match s[n..].chars().next() {
            None => (Word::Upper, n),
            Some(c) if c.is_uppercase() => {
                // A run of capitals; in "HTTPStatus" the last capital starts the next word.
                let run_end = take_while(n, &|c: char| c.is_uppercase());
                match s[run_end..].chars().next() {
                    Some(c) if is_alpha(c) => {
                        let last = s[..run_end].chars().next_back().map_or(0, char::len_utf8);
                        (Word::Upper, run_end - last)
                    }
                    _ => (Word::Upper, run_end),
                }
            }
            Some(c) if is_alpha(c) => (Word::Upper, take_while(n, &|c: char| is_alpha(c) && !c.is_uppercase())),
            Some(_) => (Word::Upper, n),
        }
    } else if is_alpha(first) {
        (Word::Alpha, take_while(n, &|c: char| is_alpha(c) && !c.is_uppercase()))
    } else if first.is_numeric() {
        (Word::Number, take_while(n, &char::is_numeric))
    } else {
        let other = |c: char| !(is_connector(c) || is_alpha(c) || c.is_numeric() || is_punct(c));
        (Word::Other, take_while(n, &other))
    };
    (wt, &s[..end], &s[end..])
}

fn push_lower(out: &mut String, wt: Word, word: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else {
            out.push(if c.is_uppercase() { simple_lower(c) } else { c });
        }
    }
}

/// xstrings' `ToSnakeCase`/`ToKebabCase`: words lowered and joined by `connector`.
fn lower_words(s: &str, connector: char) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let (mut wt, mut word, mut rest) = next_word(s);
    while !rest.is_empty() {
        if wt != Word::Connector {
            push_lower(&mut out, wt, word, connector);
        }
        let (prev, last) = (wt, word);
        (wt, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while wt == Word::Alpha || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if !matches!(wt, Word::Invalid | Word::Punct | Word::Connector) {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let number = word;
                (wt, word, rest) = next_word(rest);
                if wt != Word::Alpha {
                    push_lower(&mut out, Word::Number, number, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                push_lower(&mut out, Word::Number, number, connector);
                while wt == Word::Alpha || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if !matches!(wt, Word::Invalid | Word::Connector | Word::Punct) {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, wt, word, connector);
    out
}

/// xstrings' `ToPascalCase` (sprig's `camelcase`): leading connectors kept, each word's first
/// rune upper-cased and the capitals that directly follow a capital word start lowered
/// (`HTTPServer` → `Httpserver`); of a run of connectors one is kept between words.
fn pascal_case(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    let mut first = None;
    for c in chars.by_ref() {
        if !is_connector(c) {
            first = Some(c);
            break;
        }
        out.push(c);
    }
    let Some(first) = first else {
        // Only connectors: the last one is written twice.
        if let Some(last) = s.chars().next_back() {
            out.push(last);
        }
        return out;
    };
    let mut lowering = first.is_uppercase();
    let mut prev = simple_upper(first);
    for c in chars {
        let cur = if is_connector(c) && is_connector(prev) {
            out.push(prev);
            prev = c;
            continue;
        } else if is_connector(prev) {
            lowering = c.is_uppercase();
            simple_upper(c)
        } else {
            out.push(prev);
            if lowering && c.is_uppercase() {
                simple_lower(c)
            } else {
                lowering = false;
                c
            }
        };
        prev = cur;
    }
    out.push(prev);
    out
}

/// Helpers for this module's and the sibling modules' tests: call a registered function the
/// way the template executor does and print its result as the template would.
#[cfg(test)]
pub(crate) mod test_support {
    use ballast_gotemplate::fmt::sprint_value;
    use ballast_gotemplate::{Env, Error, FuncMap, Map, Value};

    /// An [`Env`] for functions that must not need one.
    struct NoEnv;

    impl Env for NoEnv {
        fn execute_template(&mut self, _: &str, _: Value) -> Result<String, Error> {
            panic!("no template execution in these tests")
        }
        fn execute_source(&mut self, _: &str, _: &str, _: Value) -> Result<String, Error> {
            panic!("no template execution in these tests")
        }
    }

    /// The map of every function of this crate's pure groups.
    pub fn funcs() -> FuncMap {
        crate::funcs::sprig()
    }

    /// Calls `name`, giving its value or its error text.
    pub fn call(name: &str, args: &[Value]) -> Result<Value, String> {
        let m = funcs();
        let f = m.get(name).unwrap_or_else(|| panic!("{name} is not registered"));
        match f.arity {
            ballast_gotemplate::Arity::Exact(n) => assert_eq!(args.len(), n, "{name} arity"),
            ballast_gotemplate::Arity::AtLeast(n) => assert!(args.len() >= n, "{name} arity"),
        }
        (f.f)(&mut NoEnv, args)
    }

    /// Calls `name` and prints the result with `%v` (`<nil>` for nil, which a template prints
    /// as nothing), or `ERR <message>`.
    pub fn p(name: &str, args: &[Value]) -> String {
        match call(name, args) {
            Ok(v) => sprint_value(&v),
            Err(e) => format!("ERR {e}"),
        }
    }

    /// An `int` (template integer constant).
    pub fn i(n: i64) -> Value {
        Value::Int(n)
    }
    /// A `float64`.
    pub fn f(x: f64) -> Value {
        Value::Float(x)
    }
    /// A `string`.
    pub fn s(x: &str) -> Value {
        Value::str(x)
    }
    /// A `[]interface{}`.
    pub fn l(items: Vec<Value>) -> Value {
        Value::list(items)
    }
    /// A fresh `map[string]interface{}`.
    pub fn d(entries: Vec<(&str, Value)>) -> Value {
        Value::map(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map>())
    }
    /// nil.
    pub const NIL: Value = Value::Nil;
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use ballast_gotemplate::Value;

    #[test]
    fn abbrev_and_abbrevboth() {
        assert_eq!(p("abbrev", &[i(5), s("hello world")]), "he...");
        assert_eq!(p("abbrev", &[i(3), s("hello world")]), "hello world");
        assert_eq!(p("abbrev", &[i(20), s("hello")]), "hello");
        assert_eq!(p("abbrevboth", &[i(5), i(10), s("1234 5678 9123")]), "...5678...");
        assert_eq!(p("abbrevboth", &[i(0), i(4), s("hello world")]), "h...");
        assert_eq!(p("abbrevboth", &[i(1), i(5), s("hello world")]), "hello world");
    }

    #[test]
    fn trunc_counts_bytes_from_either_end() {
        assert_eq!(p("trunc", &[i(-2), s("abcdef")]), "ef");
        assert_eq!(p("trunc", &[i(5), s("abc")]), "abc");
        assert_eq!(p("trunc", &[i(0), s("abc")]), "");
        assert_eq!(p("trunc", &[i(-5), s("abc")]), "abc");
        assert_eq!(p("trunc", &[i(-3), s("abc")]), "abc");
        assert_eq!(p("trunc", &[i(3), s("héllo")]), "hé");
        assert_eq!(
            p("trunc", &[f(1.5), s("abc")]),
            "ERR wrong type for value; expected int; got float64"
        );
        assert_eq!(
            p("trunc", &[Value::Int64(2), s("abc")]),
            "ERR wrong type for value; expected int; got int64"
        );
        assert_eq!(
            p("trunc", &[i(2), f(1.5)]),
            "ERR wrong type for value; expected string; got float64"
        );
    }

    #[test]
    fn trims() {
        assert_eq!(p("trim", &[s("  a b \n\t")]), "a b");
        assert_eq!(p("trimall", &[s("$"), s("$$5.00$")]), "5.00");
        assert_eq!(p("trimAll", &[s("ab"), s("abxba")]), "x");
        assert_eq!(p("trimSuffix", &[s("-"), s("hello-")]), "hello");
        assert_eq!(p("trimPrefix", &[s("-"), s("-hello")]), "hello");
    }

    #[test]
    fn case_functions() {
        assert_eq!(p("upper", &[s("héllo ß ǆ")]), "HÉLLO ß Ǆ");
        assert_eq!(p("lower", &[s("HÉLLO İ Σ")]), "héllo i σ");
        assert_eq!(
            p("title", &[s("hello world-foo_bar élan 3rd")]),
            "Hello World-Foo_bar Élan 3rd"
        );
        assert_eq!(p("untitle", &[s("Hello World FOO")]), "hello world fOO");
        assert_eq!(p("swapcase", &[s("hello World ABC def")]), "HELLO wORLD abc DEF");
    }

    #[test]
    fn substr_slices_like_go() {
        assert_eq!(p("substr", &[i(1), i(10), s("abc")]), "bc");
        assert_eq!(p("substr", &[i(0), i(-1), s("abc")]), "abc");
        assert_eq!(p("substr", &[i(-1), i(2), s("abc")]), "ab");
        assert_eq!(p("substr", &[i(1), i(1), s("abc")]), "");
        assert_eq!(
            p("substr", &[i(5), i(-1), s("abc")]),
            "ERR runtime error: slice bounds out of range [5:3]"
        );
        assert_eq!(
            p("substr", &[i(2), i(1), s("abc")]),
            "ERR runtime error: slice bounds out of range [2:1]"
        );
        assert_eq!(
            p("substr", &[i(-1), i(5), s("abc")]),
            "ERR runtime error: slice bounds out of range [:5] with length 3"
        );
        assert_eq!(
            p("substr", &[i(-1), i(-1), s("abc")]),
            "ERR runtime error: slice bounds out of range [:-1]"
        );
    }

    #[test]
    fn repeat_is_bounded() {
        assert_eq!(p("repeat", &[i(3), s("ab")]), "ababab");
        assert_eq!(p("repeat", &[i(0), s("ab")]), "");
        assert_eq!(p("repeat", &[i(-1), s("ab")]), "ERR strings: negative Repeat count");
        assert!(p("repeat", &[i(1 << 40), s("ab")]).starts_with("ERR "));
    }

    #[test]
    fn nospace_and_initials_walk_bytes() {
        assert_eq!(p("nospace", &[s("a b\tc\nd")]), "abcd");
        assert_eq!(p("nospace", &[s("é b")]), "Ã©b");
        assert_eq!(p("initials", &[s("first  last name")]), "fln");
        assert_eq!(p("initials", &[s("élan vital")]), "Ãv");
    }

    #[test]
    fn snake_and_kebab_case() {
        for (input, want) in [
            ("FirstName", "first_name"),
            ("HTTPServer", "http_server"),
            ("http2xx", "http_2xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
            ("GO PATH-x_y", "go_path_x_y"),
            ("a_1_b", "a_1_b"),
            ("foo.bar", "foo.bar"),
        ] {
            assert_eq!(p("snakecase", &[s(input)]), want, "{input}");
        }
        assert_eq!(p("kebabcase", &[s("FirstName HTTPServer")]), "first-name-http-server");
    }

    #[test]
    fn camelcase_is_pascal_case() {
        for (input, want) in [
            ("some_words", "SomeWords"),
            ("http_server", "HttpServer"),
            ("_complex__case_", "_Complex_Case_"),
            ("some words", "SomeWords"),
            ("GOLANG_IS_GREAT", "GolangIsGreat"),
            ("fooBar baz", "FooBarBaz"),
            ("foo-bar", "FooBar"),
            ("HTTPServer", "Httpserver"),
            ("a", "A"),
            ("__a", "__A"),
            ("aBC", "ABC"),
            ("ABc", "Abc"),
            ("a-BCD", "ABcd"),
            ("FooBAR", "FooBAR"),
            ("xHTTPx", "XHTTPx"),
            ("a__b", "A_B"),
            ("a_", "A_"),
            ("-", "--"),
            ("A1B2", "A1B2"),
            ("AÉÉ", "Aéé"),
            ("a  b", "A B"),
            ("a_B_C", "ABC"),
            ("ab.cD", "Ab.cD"),
        ] {
            assert_eq!(p("camelcase", &[s(input)]), want, "{input}");
        }
    }

    #[test]
    fn wrap_and_wrap_with() {
        assert_eq!(p("wrap", &[i(5), s("Hello World and more")]), "Hello\nWorld\nand\nmore");
        assert_eq!(p("wrap", &[i(3), s("abcdefgh ij")]), "abcdefgh\nij");
        assert_eq!(p("wrap", &[i(0), s("a b")]), "a\nb");
        assert_eq!(p("wrapWith", &[i(5), s("\t"), s("Hello World")]), "Hello\tWorld");
        assert_eq!(p("wrapWith", &[i(3), s("|"), s("abcdefgh ij")]), "abc|def|gh|ij");
    }

    #[test]
    fn contains_prefix_suffix() {
        assert_eq!(p("contains", &[s("cat"), s("catch")]), "true");
        assert_eq!(p("hasPrefix", &[s("ca"), s("catch")]), "true");
        assert_eq!(p("hasSuffix", &[s("ch"), s("catch")]), "true");
        assert_eq!(p("hasSuffix", &[s("x"), s("catch")]), "false");
    }

    #[test]
    fn quote_squote_cat() {
        let list = l(vec![i(1), s("two"), NIL]);
        assert_eq!(
            p("quote", &[s("a\"b"), i(1), NIL, f(2.5), Value::Bool(true)]),
            r#""a\"b" "1" "2.5" "true""#
        );
        assert_eq!(p("quote", &[]), "");
        assert_eq!(p("quote", &[NIL]), "");
        assert_eq!(p("quote", std::slice::from_ref(&list)), r#""[1 two <nil>]""#);
        assert_eq!(p("quote", &[d(vec![("a", i(1))])]), r#""map[a:1]""#);
        assert_eq!(
            p("squote", &[s("a'b"), i(1), NIL, list.clone()]),
            "'a'b' '1' '[1 two <nil>]'"
        );
        assert_eq!(p("cat", &[s("a"), i(1), NIL, s("b"), list]), "a 1 b [1 two <nil>]");
        assert_eq!(p("cat", &[]), "");
    }

    #[test]
    fn indent_and_nindent() {
        assert_eq!(p("indent", &[i(2), s("a\nb\n")]), "  a\n  b\n  ");
        assert_eq!(p("nindent", &[i(2), s("a\nb")]), "\n  a\n  b");
        assert_eq!(p("indent", &[i(0), s("")]), "");
        assert_eq!(p("indent", &[i(-1), s("a")]), "ERR strings: negative Repeat count");
        assert!(p("nindent", &[i(1 << 40), s("a")]).starts_with("ERR "));
    }

    #[test]
    fn replace_and_plural() {
        assert_eq!(p("replace", &[s("a"), s("b"), s("banana")]), "bbnbnb");
        assert_eq!(p("replace", &[s(""), s("-"), s("abc")]), "-a-b-c-");
        assert_eq!(p("plural", &[s("one"), s("many"), i(1)]), "one");
        assert_eq!(p("plural", &[s("one"), s("many"), i(2)]), "many");
    }

    #[test]
    fn to_string_and_to_strings() {
        assert_eq!(p("toString", &[NIL]), "<nil>");
        assert_eq!(p("toString", &[f(1.5)]), "1.5");
        assert_eq!(p("toString", &[Value::Bool(true)]), "true");
        assert_eq!(
            p("toString", &[d(vec![("a", i(1)), ("b", d(vec![("c", i(2))]))])]),
            "map[a:1 b:map[c:2]]"
        );
        assert_eq!(p("toStrings", &[l(vec![i(1), s("two"), NIL])]), "[1 two]");
        assert_eq!(p("toStrings", &[s("ab")]), "[ab]");
        assert_eq!(p("toStrings", &[NIL]), "[]");
        assert_eq!(p("toStrings", &[i(3)]), "[3]");
    }

    #[test]
    fn splits() {
        assert_eq!(p("split", &[s(","), s("a,b,,c")]), "map[_0:a _1:b _2: _3:c]");
        assert_eq!(p("split", &[s(""), s("abc")]), "map[_0:a _1:b _2:c]");
        assert_eq!(p("splitList", &[s(","), s("a,b")]), "[a b]");
        assert_eq!(p("splitList", &[s(","), s("")]), "[]");
        assert_eq!(p("splitn", &[s(","), i(2), s("a,b,c")]), "map[_0:a _1:b,c]");
        assert_eq!(p("splitn", &[s(","), i(0), s("a,b,c")]), "map[]");
        assert_eq!(p("splitn", &[s(","), i(-1), s("a,b,c")]), "map[_0:a _1:b _2:c]");
    }

    #[test]
    fn join_and_sort_alpha() {
        assert_eq!(p("join", &[s("-"), l(vec![i(1), s("two"), NIL])]), "1-two");
        assert_eq!(p("join", &[s("-"), s("abc")]), "abc");
        assert_eq!(p("join", &[s("-"), NIL]), "");
        assert_eq!(p("join", &[s("-"), l(vec![i(1), NIL, f(2.5)])]), "1-2.5");
        assert_eq!(p("sortAlpha", &[l(vec![s("b"), s("a"), i(10), i(2)])]), "[10 2 a b]");
        assert_eq!(p("sortAlpha", &[s("x")]), "[x]");
        assert_eq!(p("sortAlpha", &[d(vec![("a", i(1))])]), "[map[a:1]]");
    }

    #[test]
    fn unicode_edge_cases() {
        for (name, input, want) in [
            ("snakecase", "caféAuLait", "café_au_lait"),
            ("snakecase", "ÉtéChaud", "été_chaud"),
            ("snakecase", "a1B", "a1_b"),
            ("snakecase", "ABC1", "abc1"),
            ("snakecase", "x--y__z", "x__y__z"),
            ("snakecase", "__init__", "__init__"),
            ("snakecase", "a.B", "a.b"),
            ("snakecase", "1a", "1a"),
            ("snakecase", "hello世界World", "hello_世界_world"),
            ("snakecase", "v1.2.3", "v1.2.3"),
            ("snakecase", "A", "a"),
            ("snakecase", "aB$c", "a_b_$_c"),
            ("kebabcase", "ServiceAccountName", "service-account-name"),
            ("kebabcase", "my.app_name2", "my.app-name2"),
            ("title", "don't stop", "Don'T Stop"),
            ("title", "ǆemal ᾳ", "ǅemal ᾼ"),
            ("swapcase", "ǅa ß", "ǆA ß"),
            ("upper", "ᾳ ŉ", "ᾼ ŉ"),
            ("untitle", "Élan ÉLAN", "élan éLAN"),
            ("initials", "a\u{a0}b", "ab"),
            ("nospace", "a\u{a0}b", "aÂb"),
        ] {
            assert_eq!(p(name, &[s(input)]), want, "{name} {input:?}");
        }
        assert_eq!(p("wrap", &[i(4), s("héllo wörld")]), "héllo\nwörld");
        assert_eq!(p("abbrev", &[i(4), s("héllo")]), "h...");
        assert_eq!(p("quote", &[s("é\u{a0}\x01\u{200b}")]), r#""é\u00a0\x01\u200b""#);
        assert_eq!(p("split", &[s("é"), s("aébéc")]), "map[_0:a _1:b _2:c]");
        assert_eq!(p("splitn", &[s(""), i(2), s("abc")]), "map[_0:a _1:bc]");
        assert_eq!(p("cat", &[i(1), i(2), s("x"), i(3)]), "1 2 x 3");
    }

    #[test]
    fn hello() {
        assert_eq!(p("hello", &[]), "Hello!");
    }

    #[test]
    fn more_abbreviation_and_wrapping() {
        let long = s("1234567890abcdefghij");
        assert_eq!(p("abbrevboth", &[i(10), i(10), long.clone()]), "...abcd...");
        assert_eq!(p("abbrevboth", &[i(3), i(7), long.clone()]), "1234...");
        assert_eq!(p("abbrevboth", &[i(15), i(10), long]), "...defghij");
        assert_eq!(p("abbrevboth", &[i(5), i(7), s("abcdefghijkl")]), "...f...");
        assert_eq!(p("abbrev", &[i(10), s("")]), "");
        assert_eq!(p("wrapWith", &[i(3), s(""), s("abcdefgh")]), "abc\ndef\ngh");
        assert_eq!(p("wrap", &[i(10), s("")]), "");
        assert_eq!(p("wrap", &[i(3), s("  a  b  ")]), "a \nb  ");
        assert_eq!(p("wrapWith", &[i(4), s("-"), s("ab cd ef gh")]), "ab-cd-ef-gh");
        assert_eq!(p("squote", &[NIL]), "");
        for name in ["initials", "untitle", "swapcase", "snakecase", "camelcase"] {
            assert_eq!(p(name, &[s("")]), "", "{name}");
        }
    }

    #[test]
    fn every_function_is_registered_with_go_arity() {
        use ballast_gotemplate::Arity::{AtLeast, Exact};
        let m = funcs();
        let names = "abbrev abbrevboth trunc trim trimall trimAll trimSuffix trimPrefix upper lower title untitle substr repeat nospace initials swapcase snakecase camelcase kebabcase wrap wrapWith contains hasPrefix hasSuffix quote squote cat indent nindent replace plural toString toStrings split splitList splitn join sortAlpha hello list tuple append push mustAppend mustPush prepend mustPrepend first mustFirst rest mustRest last mustLast initial mustInitial reverse mustReverse uniq mustUniq without mustWithout has mustHas slice mustSlice concat chunk mustChunk compact mustCompact dict get set unset hasKey pluck keys pick omit merge mergeOverwrite mustMerge mustMergeOverwrite values dig deepCopy mustDeepCopy add1 add sub div mod mul max min biggest ceil floor round add1f addf subf divf mulf maxf minf until untilStep seq atoi int int64 float64 toDecimal default empty coalesce all any ternary deepEqual typeOf typeIs typeIsLike kindOf kindIs b64enc b64dec b32enc b32dec base dir clean ext isAbs osBase osClean osDir osExt osIsAbs";
        let missing: Vec<&str> = names.split_whitespace().filter(|n| m.get(n).is_none()).collect();
        assert!(missing.is_empty(), "{missing:?}");
        for (name, arity) in [
            ("trunc", Exact(2)),
            ("indent", Exact(2)),
            ("nindent", Exact(2)),
            ("substr", Exact(3)),
            ("splitn", Exact(3)),
            ("wrapWith", Exact(3)),
            ("quote", AtLeast(0)),
            ("hello", Exact(0)),
            ("default", AtLeast(1)),
            ("dict", AtLeast(0)),
            ("merge", AtLeast(1)),
            ("pick", AtLeast(1)),
            ("without", AtLeast(1)),
            ("slice", AtLeast(1)),
            ("concat", AtLeast(0)),
            ("dig", AtLeast(0)),
            ("mul", AtLeast(1)),
            ("max", AtLeast(1)),
            ("round", AtLeast(2)),
            ("seq", AtLeast(0)),
            ("untilStep", Exact(3)),
            ("ternary", Exact(3)),
            ("typeIs", Exact(2)),
        ] {
            assert_eq!(m.get(name).map(|f| f.arity), Some(arity), "{name}");
        }
    }
}
