//! sprig's `urlParse` and `urlJoin`, on a port of the parts of Go's `net/url` they use
//! (parsing, percent-decoding and Go's escaping rules per URL part), and Helm's
//! `getHostByName`, which gives "" (Helm resolves names only with `--enable-dns`).

use ballast_gotemplate::{Args, Arity, FuncMap, Map, Value};

/// The URL part a string is escaped for (Go's `encoding` modes).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone) && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => false,
            Mode::Host | Mode::Zone => true,
        },
        b'!' | b'(' | b')' | b'*' if mode == Mode::Fragment => false,
        _ => true,
    }
}

fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if should_escape(b, mode) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Go's `url.EscapeError` and `url.InvalidHostError` texts.
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |j: usize| b.get(j).and_then(|c| char::from(*c).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                    let end = (i + 3).min(b.len());
                    return Err(format!("invalid URL escape {}", go_quote(&s[i..end])));
                };
                let v = (hi << 4 | lo) as u8;
                if mode == Mode::Host && hi < 8 && &s[i..i + 3] != "%25" {
                    return Err(format!("invalid URL escape {}", go_quote(&s[i..i + 3])));
                }
                if mode == Mode::Zone && &s[i..i + 3] != "%25" && v != b' ' && should_escape(v, Mode::Host) {
                    return Err(format!("invalid URL escape {}", go_quote(&s[i..i + 3])));
                }
                out.push(v);
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(format!("invalid character {} in host name", go_quote(&s[i..i + 1])));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn go_quote(s: &str) -> String {
    ballast_gotemplate::fmt::quote(s)
}

/// A parsed URL with the fields sprig reads.
#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,
    /// Escaped user name and optional password, as `Userinfo.String()` gives them.
    user: Option<(String, Option<String>)>,
    host: String,
    path: String,
    raw_query: String,
    fragment: String,
}

fn valid_optional_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let i = host.rfind(']').ok_or("missing ']' in host")?;
        let port = &host[i + 1..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {} after host", go_quote(port)));
        }
        if let Some(zone) = host[..i].find("%25") {
            return Ok(unescape(&host[..zone], Mode::Host)?
                + &unescape(&host[zone..i], Mode::Zone)?
                + &unescape(&host[i..], Mode::Host)?);
        }
    } else if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {} after host", go_quote(port)));
        }
    }
    unescape(host, Mode::Host)
}

fn valid_userinfo(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c))
}

type User = Option<(String, Option<String>)>;

fn parse_authority(authority: &str) -> Result<(User, String), String> {
    let at = authority.rfind('@');
    let host = parse_host(at.map_or(authority, |i| &authority[i + 1..]))?;
    let Some(i) = at else { return Ok((None, host)) };
    let info = &authority[..i];
    if !valid_userinfo(info) {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match info.split_once(':') {
        None => (escape(&unescape(info, Mode::UserPassword)?, Mode::UserPassword), None),
        Some((u, p)) => (
            escape(&unescape(u, Mode::UserPassword)?, Mode::UserPassword),
            Some(escape(&unescape(p, Mode::UserPassword)?, Mode::UserPassword)),
        ),
    };
    Ok((Some(user), host))
}

fn get_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

/// Go's `url.Parse`, with its `parse "<url>": <reason>` errors.
fn parse(raw: &str) -> Result<Url, String> {
    let (rest, frag) = raw.split_once('#').unwrap_or((raw, ""));
    let mut url = parse_no_fragment(rest).map_err(|e| format!("parse {}: {e}", go_quote(rest)))?;
    if !frag.is_empty() {
        url.fragment = unescape(frag, Mode::Fragment).map_err(|e| format!("parse {}: {e}", go_quote(raw)))?;
    }
    Ok(url)
}

fn parse_no_fragment(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = Url::default();
    if raw == "*" {
        url.path = "*".into();
        return Ok(url);
    }
    let (scheme, rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    let mut rest = rest;
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        rest = r;
        url.raw_query = q.into();
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.into();
            return Ok(url);
        }
        if rest.split('/').next().is_some_and(|seg| seg.contains(':')) {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority = &rest[2..];
        let (auth, path) = match authority.find('/') {
            Some(i) => (&authority[..i], &authority[i..]),
            None => (authority, ""),
        };
        (url.user, url.host) = parse_authority(auth)?;
        rest = path;
    }
    url.path = unescape(rest, Mode::Path)?;
    Ok(url)
}

/// `Hostname()`: the host without port and IPv6 brackets.
fn hostname(host: &str) -> &str {
    let mut h = host;
    if let Some(i) = h.rfind(':')
        && valid_optional_port(&h[i..])
    {
        h = &h[..i];
    }
    h.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(h)
}

/// Go's `URL.String()` for a URL built from parts (no raw path or raw fragment).
fn to_string(u: &Url) -> String {
    let mut out = String::new();
    if !u.scheme.is_empty() {
        out.push_str(&u.scheme);
        out.push(':');
    }
    if !u.opaque.is_empty() {
        out.push_str(&u.opaque);
    } else {
        if !u.scheme.is_empty() || !u.host.is_empty() || u.user.is_some() {
            if !u.host.is_empty() || !u.path.is_empty() || u.user.is_some() {
                out.push_str("//");
            }
            if let Some((name, pw)) = &u.user {
                out.push_str(name);
                if let Some(pw) = pw {
                    out.push(':');
                    out.push_str(pw);
                }
                out.push('@');
            }
            out.push_str(&escape(&u.host, Mode::Host));
        }
        let path = if u.path == "*" {
            "*".to_string()
        } else {
            escape(&u.path, Mode::Path)
        };
        if !path.is_empty() && !path.starts_with('/') && !u.host.is_empty() {
            out.push('/');
        }
        if out.is_empty() && path.split('/').next().is_some_and(|seg| seg.contains(':')) {
            out.push_str("./");
        }
        out.push_str(&path);
    }
    if !u.raw_query.is_empty() {
        out.push('?');
        out.push_str(&u.raw_query);
    }
    if !u.fragment.is_empty() {
        out.push('#');
        out.push_str(&escape(&u.fragment, Mode::Fragment));
    }
    out
}

fn url_parse(raw: &str) -> Result<Value, String> {
    let u = parse(raw).map_err(|e| format!("unable to parse url: {e}"))?;
    let mut m = Map::new();
    let user = match &u.user {
        Some((n, Some(p))) => format!("{n}:{p}"),
        Some((n, None)) => n.clone(),
        None => String::new(),
    };
    for (k, v) in [
        ("scheme", u.scheme.as_str()),
        ("host", &u.host),
        ("hostname", hostname(&u.host)),
        ("path", &u.path),
        ("query", &u.raw_query),
        ("opaque", &u.opaque),
        ("fragment", &u.fragment),
        ("userinfo", &user),
    ] {
        m.insert(k.into(), Value::str(v));
    }
    Ok(Value::map(m))
}

/// sprig's `dictGetOrEmpty`: a string entry, "" when absent.
fn get_or_empty(d: &Map, key: &str) -> Result<String, String> {
    match d.get(key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.to_string()),
        Some(Value::Nil) => Err("runtime error: invalid memory address or nil pointer dereference".into()),
        Some(v) => Err(format!(
            "unable to parse {key} key, must be of type string, but {} found",
            v.kind_name()
        )),
    }
}

fn url_join(d: &Value) -> Result<Value, String> {
    let Value::Map(m) = Args::map(d)? else {
        return Ok(Value::str(""));
    };
    let m = m.borrow();
    let mut u = Url {
        scheme: get_or_empty(&m, "scheme")?,
        host: get_or_empty(&m, "host")?,
        path: get_or_empty(&m, "path")?,
        raw_query: get_or_empty(&m, "query")?,
        opaque: get_or_empty(&m, "opaque")?,
        fragment: get_or_empty(&m, "fragment")?,
        user: None,
    };
    let info = get_or_empty(&m, "userinfo")?;
    if !info.is_empty() {
        let probe = format!("proto://{info}@host");
        let parsed = parse(&probe).map_err(|e| format!("unable to parse userinfo in dict: {e}"))?;
        u.user = parsed.user;
    }
    Ok(Value::from(to_string(&u)))
}

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    m.pure("urlParse", Arity::Exact(1), |a| url_parse(Args::string(&a[0])?));
    m.pure("urlJoin", Arity::Exact(1), |a| url_join(&a[0]));
    m.pure("getHostByName", Arity::Exact(1), |a| {
        Args::string(&a[0])?;
        Ok(Value::str(""))
    });
}

#[cfg(test)]
mod tests {
    use super::super::regex::test_support::{call, call_err};
    use super::*;

    fn funcs() -> FuncMap {
        let mut m = FuncMap::new();
        register(&mut m);
        m
    }

    fn parsed(m: &FuncMap, u: &str) -> String {
        call(m, "urlParse", &[u.into()]).to_string()
    }

    fn joined(m: &FuncMap, pairs: &[(&str, &str)]) -> String {
        let d: Map = pairs.iter().map(|(k, v)| (k.to_string(), Value::str(v))).collect();
        call(m, "urlJoin", &[Value::map(d)]).to_string()
    }

    #[test]
    fn url_parse() {
        let m = funcs();
        assert_eq!(
            parsed(&m, "https://user:pa%20ss@host.example:8080/p/a%20th?q=1&r=%20#frag"),
            "map[fragment:frag host:host.example:8080 hostname:host.example opaque: path:/p/a th query:q=1&r=%20 scheme:https userinfo:user:pa%20ss]"
        );
        assert_eq!(
            parsed(&m, "mailto:x@y.z"),
            "map[fragment: host: hostname: opaque:x@y.z path: query: scheme:mailto userinfo:]"
        );
        assert_eq!(
            parsed(&m, "/rel/path?x"),
            "map[fragment: host: hostname: opaque: path:/rel/path query:x scheme: userinfo:]"
        );
        assert_eq!(
            parsed(&m, "http://[::1]:80/x"),
            "map[fragment: host:[::1]:80 hostname:::1 opaque: path:/x query: scheme:http userinfo:]"
        );
        assert_eq!(
            parsed(&m, "HTTP://a/b%2Fc#f%20g"),
            "map[fragment:f g host:a hostname:a opaque: path:/b/c query: scheme:http userinfo:]"
        );
        assert_eq!(
            parsed(&m, ""),
            "map[fragment: host: hostname: opaque: path: query: scheme: userinfo:]"
        );
        assert_eq!(
            parsed(&m, "//h/p"),
            "map[fragment: host:h hostname:h opaque: path:/p query: scheme: userinfo:]"
        );
        assert_eq!(
            parsed(&m, "a:b:c"),
            "map[fragment: host: hostname: opaque:b:c path: query: scheme:a userinfo:]"
        );
        assert_eq!(
            parsed(&m, "http://h?x"),
            "map[fragment: host:h hostname:h opaque: path: query:x scheme:http userinfo:]"
        );
        assert_eq!(
            call_err(&m, "urlParse", &["http://x/%zz".into()]),
            "unable to parse url: parse \"http://x/%zz\": invalid URL escape \"%zz\""
        );
        assert_eq!(
            call_err(&m, "urlParse", &["http://x:y:z/".into()]),
            "unable to parse url: parse \"http://x:y:z/\": invalid port \":z\" after host"
        );
        assert_eq!(
            call_err(&m, "urlParse", &[":x".into()]),
            "unable to parse url: parse \":x\": missing protocol scheme"
        );
        assert_eq!(
            call_err(&m, "urlParse", &["http://a b/".into()]),
            "unable to parse url: parse \"http://a b/\": invalid character \" \" in host name"
        );
    }

    #[test]
    fn url_join() {
        let m = funcs();
        assert_eq!(
            joined(
                &m,
                &[
                    ("scheme", "https"),
                    ("host", "h:1"),
                    ("path", "/a b"),
                    ("query", "x=1"),
                    ("fragment", "f g"),
                    ("userinfo", "u:p%20w")
                ]
            ),
            "https://u:p%20w@h:1/a%20b?x=1#f%20g"
        );
        assert_eq!(
            joined(
                &m,
                &[
                    ("scheme", "https"),
                    ("host", "h:1"),
                    ("path", "/a?b#c%d"),
                    ("userinfo", "u@x")
                ]
            ),
            "https://u%40x@h:1/a%3Fb%23c%25d"
        );
        assert_eq!(joined(&m, &[("scheme", "mailto"), ("opaque", "x@y")]), "mailto:x@y");
        assert_eq!(joined(&m, &[("path", "a:b")]), "./a:b");
        assert_eq!(joined(&m, &[]), "");
        assert_eq!(joined(&m, &[("host", "h"), ("path", "p")]), "//h/p");
        assert_eq!(joined(&m, &[("scheme", "file"), ("path", "/x")]), "file:///x");
        assert_eq!(joined(&m, &[("path", "//x")]), "//x");
        assert_eq!(
            joined(&m, &[("scheme", "http"), ("host", "h"), ("path", "/ü+!$&()*,;=:@[]")]),
            "http://h/%C3%BC+%21$&%28%29%2A,;=:@%5B%5D"
        );
        assert_eq!(joined(&m, &[("host", "ä b")]), "//%C3%A4%20b");
        let mut d = Map::new();
        d.insert("path".into(), Value::Int(1));
        assert_eq!(
            call_err(&m, "urlJoin", &[Value::map(d)]),
            "unable to parse path key, must be of type string, but int found"
        );
        let mut d = Map::new();
        d.insert("userinfo".into(), Value::str("u:p w"));
        assert_eq!(
            call_err(&m, "urlJoin", &[Value::map(d)]),
            "unable to parse userinfo in dict: parse \"proto://u:p w@host\": net/url: invalid userinfo"
        );
        assert_eq!(call(&m, "getHostByName", &["localhost".into()]).to_string(), "");
    }
}
