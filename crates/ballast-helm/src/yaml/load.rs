//! Reading YAML as goyaml.v2 does (a node tree, then a decode into Go's `interface{}`), and the
//! sigs.k8s.io/yaml step after it (keys made strings, numbers through JSON).

use std::collections::HashSet;

use ballast_gotemplate::Value;
use ballast_gotemplate::value::Map;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::YamlError;
use super::errors::{anchor_name, go_sharp_v, long_key_error, scan_error};
use super::resolve::{CORE, Scalar, resolve};

/// Nodes deeper than this fail ("exceeded max depth of 256", naming this bound), as goyaml
/// bounds its recursion (at 10000; see [`super::MAX_NESTING`]).
const MAX_DEPTH: usize = super::MAX_NESTING;

#[derive(Debug)]
enum Kind {
    Scalar {
        value: String,
        plain: bool,
        tag: Option<String>,
    },
    Seq(Vec<usize>),
    Map(Vec<usize>),
    Alias {
        target: usize,
        at: usize,
    },
}

#[derive(Debug)]
struct Node {
    kind: Kind,
}

/// One parsed document: an arena of nodes and its root (`None` for an empty document).
struct Doc {
    nodes: Vec<Node>,
    root: Option<usize>,
}

/// How decoded numbers are represented.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As after sigs.k8s.io/yaml's JSON round trip: every number a `Float`; NaN and ±Inf
    /// are errors.
    Json,
    /// As goyaml.v2 leaves them: `Int64`, `Uint` and `Float`.
    Raw,
}

/// Parses every document of `src` into node trees, as leniently as libyaml where saphyr is
/// stricter (see [`super::lenient`]): such a failure is repaired and parsed again, a bounded
/// number of times. Returns the text the nodes index into.
fn parse_source(src: &str, first_only: bool) -> Result<(std::borrow::Cow<'_, str>, Vec<Doc>), YamlError> {
    // libyaml's reader refuses C0/C1 controls (but tab, LF, CR, NEL), DEL, surrogates and
    // U+FFFE/U+FFFF anywhere in the input.
    let allowed = |c: char| matches!(c as u32, 0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..);
    // Fast path: printable ASCII, tab and LF only (rendered manifests nearly always) need
    // neither check below nor any line-break rewriting.
    let plain = src.bytes().all(|b| matches!(b, 0x09 | 0x0A | 0x20..=0x7E));
    if !plain && !src.chars().all(allowed) {
        return Err(YamlError::new("yaml: control characters are not allowed".into()));
    }
    // YAML 1.1 (libyaml) also breaks lines at NEL, LS and PS, which YAML 1.2 (saphyr) does
    // not; a lone CR breaks a line in both, and reads as LF (saphyr does not fold it inside a
    // quoted scalar as libyaml does). Each becomes a LF: the same lines, the same char indices.
    let mut text = if !plain && src.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        let mut out = String::with_capacity(src.len());
        let mut chars = src.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' if chars.peek() != Some(&'\n') => out.push('\n'),
                '\u{85}' | '\u{2028}' | '\u{2029}' => out.push('\n'),
                c => out.push(c),
            }
        }
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(src)
    };
    // libyaml knows only the %YAML and %TAG directives.
    if let Some((n, line)) = text
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        && line.starts_with('%')
        && !line.starts_with("%YAML")
        && !line.starts_with("%TAG")
    {
        return Err(YamlError::new(if n == 0 {
            "yaml: found unknown directive name".to_string()
        } else {
            format!("yaml: line {}: found unknown directive name", n + 1)
        }));
    }
    let mut last_error = None;
    for _ in 0..32 {
        match parse_docs(&text, first_only) {
            Ok(docs) => return Ok((text, docs)),
            Err((e, repair)) => {
                // A repaired text is what libyaml would have read: its error is the one to
                // report.
                let fixed = repair.and_then(|(info, at)| super::lenient::repair(&text, &info, at));
                match fixed {
                    Some(f) => {
                        last_error = Some(e);
                        text = std::borrow::Cow::Owned(f);
                    }
                    None => return Err(e),
                }
            }
        }
    }
    Err(last_error.unwrap_or_else(|| YamlError::new("yaml: invalid document".into())))
}

/// libyaml starts the first document of a stream implicitly at anything but `---`, a
/// directive or the end, and then finds no node at a document end marker (`...`); saphyr skips
/// the marker. The error for a stream whose first line past blanks and comments is `...`.
fn end_marker_first(src: &str) -> Option<YamlError> {
    for (n, line) in src.split('\n').enumerate() {
        let t = line.trim_start_matches([' ', '\t', '\r']);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let marker = line.strip_prefix("...")?;
        if !(marker.is_empty() || marker.starts_with([' ', '\t', '\r'])) {
            return None;
        }
        let msg = "did not find expected node content";
        return Some(YamlError::new(if n == 0 {
            format!("yaml: {msg}")
        } else {
            format!("yaml: line {n}: {msg}")
        }));
    }
    None
}

/// A parser error saphyr's message and char position, kept for [`super::lenient::repair`].
type Repair = Option<(String, usize)>;

/// Parses every document of `src` into node trees.
fn parse_docs(src: &str, first_only: bool) -> Result<Vec<Doc>, (YamlError, Repair)> {
    if let Some(e) = end_marker_first(src) {
        return Err((e, None));
    }
    let mut parser = Parser::new_from_str(src);
    // A block scalar that runs to the end of an input without a final newline has no final
    // line break in libyaml; saphyr adds one.
    let eof_chars = if src.is_empty() || src.ends_with('\n') {
        usize::MAX
    } else {
        src.chars().count()
    };
    // YAML 1.1 has no `\/` escape (1.2 and JSON do): byte offsets of chars, only when needed.
    let char_bytes: Option<Vec<usize>> = src
        .contains("\\/")
        .then(|| src.char_indices().map(|(i, _)| i).chain([src.len()]).collect());
    let mut docs = Vec::new();
    let mut anchors: Vec<Option<usize>> = Vec::new();
    // Open collections: (node index, pending children).
    let mut stack: Vec<(usize, Vec<usize>, usize)> = Vec::new();
    let mut doc: Option<Doc> = None;
    while let Some(next) = parser.next_event() {
        if let Err(e) = &next
            && first_only
            && stack.is_empty()
            && doc.as_ref().is_some_and(|d| d.root.is_some())
            && e.info() == "did not find expected <document start>"
        {
            // The first document is complete; libyaml would trip only on reading the next
            // one, which goyaml.v2's Unmarshal never asks for.
            break;
        }
        let (ev, span): (Event, Span) = next.map_err(|e| {
            let mut info = e.info().to_string();
            if first_only && stack.is_empty() && doc.as_ref().is_none_or(|d| d.root.is_none()) {
                // goyaml.v2 reads only the first document, which may end before the error.
                info.push_str(" (at the root)");
            }
            (scan_error(src, &e), Some((info, e.marker().index())))
        })?;
        let new_node = |doc: &mut Doc, kind: Kind| {
            doc.nodes.push(Node { kind });
            doc.nodes.len() - 1
        };
        match ev {
            Event::StreamStart | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                doc = Some(Doc {
                    nodes: Vec::new(),
                    root: None,
                });
                anchors.clear();
            }
            Event::DocumentEnd => {
                if let Some(d) = doc.take() {
                    docs.push(d);
                }
                if first_only {
                    break;
                }
            }
            Event::Alias(id) => {
                let d = doc
                    .as_mut()
                    .ok_or_else(|| (YamlError::new("yaml: event outside a document".into()), None))?;
                let target = anchors.get(id).copied().flatten().ok_or_else(|| {
                    let name = anchor_name(src, span.start.index());
                    (
                        YamlError::new(format!("yaml: unknown anchor '{name}' referenced")),
                        None,
                    )
                })?;
                let n = new_node(
                    d,
                    Kind::Alias {
                        target,
                        at: span.start.index(),
                    },
                );
                attach(d, &mut stack, n);
            }
            Event::Scalar(value, style, anchor, tag) => {
                let d = doc
                    .as_mut()
                    .ok_or_else(|| (YamlError::new("yaml: event outside a document".into()), None))?;
                if let Some((top, children, start)) = stack.last()
                    && matches!(d.nodes[*top].kind, Kind::Map(_))
                    && children.len() % 2 == 0
                    && span.end.index().saturating_sub(span.start.index()) > 1024
                {
                    return Err((long_key_error(src, *start, span), None));
                }
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                if style == ScalarStyle::DoubleQuoted
                    && let Some(bytes) = &char_bytes
                    && let Some(at) = slash_escape(src, bytes, span)
                {
                    let line0 = src[..at].matches('\n').count();
                    let msg = if line0 == 0 {
                        "yaml: found unknown escape character".to_string()
                    } else {
                        format!("yaml: line {}: found unknown escape character", line0 + 1)
                    };
                    return Err((YamlError::new(msg), None));
                }
                let plain = style == ScalarStyle::Plain;
                let mut value = value.into_owned();
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && span.end.index() >= eof_chars
                    && value.ends_with('\n')
                {
                    value.pop();
                }
                let n = new_node(d, Kind::Scalar { value, plain, tag });
                set_anchor(&mut anchors, anchor, n);
                attach(d, &mut stack, n);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let d = doc
                    .as_mut()
                    .ok_or_else(|| (YamlError::new("yaml: event outside a document".into()), None))?;
                if stack.len() >= MAX_DEPTH {
                    // Ballast's own bound (goyaml's is 10000), named as such.
                    return Err((
                        YamlError::new(format!(
                            "yaml: exceeded max depth of {MAX_DEPTH} (values nested deeper than Ballast reads)"
                        )),
                        None,
                    ));
                }
                let kind = if matches!(ev, Event::SequenceStart(..)) {
                    Kind::Seq(Vec::new())
                } else {
                    Kind::Map(Vec::new())
                };
                let n = new_node(d, kind);
                set_anchor(&mut anchors, anchor, n);
                stack.push((n, Vec::new(), span.start.index()));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let d = doc
                    .as_mut()
                    .ok_or_else(|| (YamlError::new("yaml: event outside a document".into()), None))?;
                let (n, children, _) = stack
                    .pop()
                    .ok_or_else(|| (YamlError::new("yaml: unbalanced collection".into()), None))?;
                match &mut d.nodes[n].kind {
                    Kind::Seq(c) | Kind::Map(c) => *c = children,
                    _ => {}
                }
                attach(d, &mut stack, n);
            }
        }
    }
    if let Some(d) = doc.take() {
        docs.push(d);
    }
    Ok(docs)
}

/// The byte offset of a `\/` escape inside the double-quoted scalar at `span`.
fn slash_escape(src: &str, char_bytes: &[usize], span: Span) -> Option<usize> {
    let start = *char_bytes.get(span.start.index())?;
    let end = *char_bytes.get(span.end.index()).unwrap_or(&src.len());
    let raw = src.get(start..end)?.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' {
            if raw.get(i + 1) == Some(&b'/') {
                return Some(start + i);
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    None
}

fn set_anchor(anchors: &mut Vec<Option<usize>>, id: usize, node: usize) {
    if id == 0 {
        return;
    }
    if anchors.len() <= id {
        anchors.resize(id + 1, None);
    }
    anchors[id] = Some(node);
}

fn attach(doc: &mut Doc, stack: &mut [(usize, Vec<usize>, usize)], n: usize) {
    match stack.last_mut() {
        Some((_, children, _)) => children.push(n),
        None => doc.root = Some(n),
    }
}

/// goyaml.v2's decoder state: alias expansion is bounded as v2 bounds it ("document contains
/// excessive aliasing").
struct Decoder<'a> {
    src: &'a str,
    doc: &'a Doc,
    mode: Mode,
    decode_count: u64,
    alias_count: u64,
    alias_depth: u32,
    expanding: HashSet<usize>,
    /// The first error sigs.k8s.io/yaml's conversion to JSON finds (a null key), reported
    /// only if decoding succeeds.
    key_error: Option<String>,
    /// A NaN or ±Inf was decoded (it fails the JSON step if it is still in the result).
    saw_non_finite: bool,
}

fn allowed_alias_ratio(decode_count: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    if decode_count <= LOW {
        0.99
    } else if decode_count >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decode_count - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

type DResult = Result<Value, YamlError>;

impl Decoder<'_> {
    fn fail(msg: String) -> YamlError {
        YamlError::new(format!("yaml: {msg}"))
    }

    fn node(&mut self, n: usize) -> DResult {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / self.decode_count as f64 > allowed_alias_ratio(self.decode_count)
        {
            return Err(Decoder::fail("document contains excessive aliasing".into()));
        }
        let doc = self.doc;
        match &doc.nodes[n].kind {
            Kind::Scalar { value, plain, tag } => self.scalar(value, *plain, tag.as_deref()),
            Kind::Alias { target, at } => {
                if !self.expanding.insert(n) {
                    let name = anchor_name(self.src, *at);
                    return Err(Decoder::fail(format!("anchor '{name}' value contains itself")));
                }
                self.alias_depth += 1;
                let v = self.node(*target);
                self.alias_depth -= 1;
                self.expanding.remove(&n);
                v
            }
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for &i in items {
                    out.push(self.node(i)?);
                }
                Ok(Value::list(out))
            }
            Kind::Map(_) => {
                let mut m = Map::new();
                self.fill_map(n, &mut m)?;
                Ok(Value::map(m))
            }
        }
    }

    fn scalar(&mut self, value: &str, plain: bool, tag: Option<&str>) -> DResult {
        let resolved = if tag.is_none() && !plain {
            Scalar::Str
        } else {
            resolve(tag, value).map_err(Decoder::fail)?
        };
        Ok(match resolved {
            Scalar::Float(f) if !f.is_finite() => {
                self.saw_non_finite = true;
                Value::Float(f)
            }
            Scalar::Str if tag == Some("tag:yaml.org,2002:binary") => {
                use base64::Engine as _;
                let clean: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(clean)
                    .map_err(|_| Decoder::fail("!!binary value contains invalid base64 data".into()))?;
                Value::from(String::from_utf8_lossy(&bytes).into_owned())
            }
            other => scalar_value(other, value, self.mode),
        })
    }

    /// Decodes mapping node `n` into `m`, merge keys first-come as v2 does them (in place).
    fn fill_map(&mut self, n: usize, m: &mut Map) -> Result<(), YamlError> {
        let doc = self.doc;
        let Kind::Map(children) = &doc.nodes[n].kind else {
            return Err(Decoder::fail(
                "map merge requires map or sequence of maps as the value".into(),
            ));
        };
        // The last entry of each string key (found when first needed): Go's map keeps only
        // its value, so a key that sigs.k8s.io/yaml would refuse inside an earlier one's
        // value is never met.
        let mut last = None;
        for (i, pair) in children.chunks(2).enumerate() {
            let (k, v) = (pair[0], pair.get(1).copied());
            if self.is_merge(k) {
                if let Some(v) = v {
                    self.merge(v, m)?;
                }
                continue;
            }
            // Keys are stringified from their YAML type (a float key prints as float32).
            let mode = std::mem::replace(&mut self.mode, Mode::Raw);
            let key = self.node(k);
            self.mode = mode;
            let key_value = key?;
            let key = match key_string(&key_value) {
                Some(s) => s,
                None => {
                    if matches!(key_value, Value::Map(_) | Value::List(_)) {
                        return Err(Decoder::fail(format!("invalid map key: {}", go_sharp_v(&key_value))));
                    }
                    // A null key: sigs.k8s.io/yaml rejects it after decoding (the last value
                    // given to it is the one Go's map holds).
                    let val = self.raw_value(v)?;
                    self.key_error = Some(format!(
                        "unsupported map key of type: %!s(<nil>), key: <nil>, value: {}",
                        go_sharp_v(&val)
                    ));
                    continue;
                }
            };
            if let Value::Uint(u) = key_value {
                // sigs.k8s.io/yaml has no case for uint64 keys.
                let val = self.raw_value(v)?;
                if self.key_error.is_none() {
                    self.key_error = Some(format!(
                        "unsupported map key of type: uint64, key: {u:#x}, value: {}",
                        go_sharp_v(&val)
                    ));
                }
                continue;
            }
            let before = self.key_error.clone();
            let val = match v {
                Some(v) => self.node(v)?,
                None => Value::Nil,
            };
            if self.key_error != before {
                let last = last.get_or_insert_with(|| self.last_entries(children));
                if last.get(&key).is_some_and(|&j| j != i) {
                    self.key_error = before;
                }
            }
            m.insert(key, val);
        }
        Ok(())
    }

    /// For each string key of the mapping `children` (its key and value nodes in turn), the
    /// index of its last entry. Only scalar keys are read, as [`Decoder::fill_map`] reads
    /// them, and nothing of the decoder's state changes; other keys are left out (the fill
    /// meets them and decides).
    fn last_entries(&mut self, children: &[usize]) -> std::collections::HashMap<String, usize> {
        let mut last = std::collections::HashMap::new();
        if children.len() <= 2 {
            return last;
        }
        let doc = self.doc;
        let saved = (self.key_error.clone(), self.saw_non_finite, self.mode);
        self.mode = Mode::Raw;
        for (i, pair) in children.chunks(2).enumerate() {
            let Kind::Scalar { value, plain, tag } = &doc.nodes[pair[0]].kind else {
                continue;
            };
            if self.is_merge(pair[0]) {
                continue;
            }
            if let Some(key) = self
                .scalar(value, *plain, tag.as_deref())
                .ok()
                .as_ref()
                .and_then(key_string)
            {
                last.insert(key, i);
            }
        }
        (self.key_error, self.saw_non_finite, self.mode) = saved;
        last
    }

    /// Decodes an optional value node with goyaml.v2's own number types (for messages).
    fn raw_value(&mut self, v: Option<usize>) -> DResult {
        let Some(v) = v else { return Ok(Value::Nil) };
        let mode = std::mem::replace(&mut self.mode, Mode::Raw);
        let val = self.node(v);
        self.mode = mode;
        val
    }

    fn is_merge(&self, n: usize) -> bool {
        match &self.doc.nodes[n].kind {
            Kind::Scalar { value, plain, tag } => {
                value == "<<"
                    && ((*plain && tag.is_none()) || tag.as_deref().and_then(|t| t.strip_prefix(CORE)) == Some("merge"))
            }
            _ => false,
        }
    }

    fn merge(&mut self, v: usize, m: &mut Map) -> Result<(), YamlError> {
        let want_map = || Decoder::fail("map merge requires map or sequence of maps as the value".into());
        let doc = self.doc;
        let resolve_alias = |mut i: usize| {
            let mut hops = 0;
            while let Kind::Alias { target, .. } = doc.nodes[i].kind {
                i = target;
                hops += 1;
                if hops > 1000 {
                    break;
                }
            }
            i
        };
        match &doc.nodes[v].kind {
            Kind::Map(_) => self.fill_map(v, m),
            Kind::Alias { .. } => {
                if !matches!(doc.nodes[resolve_alias(v)].kind, Kind::Map(_)) {
                    return Err(want_map());
                }
                self.merge_alias(v, m)
            }
            Kind::Seq(items) => {
                for &i in items.iter().rev() {
                    if !matches!(doc.nodes[resolve_alias(i)].kind, Kind::Map(_)) {
                        return Err(want_map());
                    }
                    if matches!(doc.nodes[i].kind, Kind::Alias { .. }) {
                        self.merge_alias(i, m)?;
                    } else {
                        self.decode_count += 1;
                        self.fill_map(i, m)?;
                    }
                }
                Ok(())
            }
            Kind::Scalar { .. } => Err(want_map()),
        }
    }

    /// Merges an alias of a mapping into `m`, counting it as v2 counts alias decodes.
    fn merge_alias(&mut self, a: usize, m: &mut Map) -> Result<(), YamlError> {
        let Kind::Alias { target, at } = self.doc.nodes[a].kind else {
            return Ok(());
        };
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if !self.expanding.insert(a) {
            let name = anchor_name(self.src, at);
            return Err(Decoder::fail(format!("anchor '{name}' value contains itself")));
        }
        self.alias_depth += 1;
        let r = match self.doc.nodes[target].kind {
            Kind::Alias { .. } => self.merge_alias(target, m),
            _ => {
                self.decode_count += 1;
                self.alias_count += 1;
                self.fill_map(target, m)
            }
        };
        self.alias_depth -= 1;
        self.expanding.remove(&a);
        r
    }
}

/// The JSON key sigs.k8s.io/yaml makes of a YAML key; `None` for null, maps and lists.
/// The value of a resolved scalar spelt `text`, in `mode` (a `!!binary` string aside).
pub(super) fn scalar_value(s: Scalar, text: &str, mode: Mode) -> Value {
    match s {
        Scalar::Null => Value::Nil,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => match mode {
            Mode::Json => Value::Float(i as f64),
            Mode::Raw => Value::Int64(i),
        },
        Scalar::Uint(u) => match mode {
            Mode::Json => Value::Float(u as f64),
            Mode::Raw => Value::Uint(u),
        },
        Scalar::Float(f) => Value::Float(f),
        Scalar::Str => Value::str(text),
    }
}

/// A decoded key as sigs.k8s.io/yaml stringifies it (`None` for a null, a map or a list).
pub(super) fn key_string(k: &Value) -> Option<String> {
    Some(match k {
        Value::String(s) => s.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int64(i) | Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Float(f) => float32_key(*f),
        _ => return None,
    })
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`: how sigs.k8s.io/yaml writes a float into a string
/// field.
pub(crate) fn float32_text(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    super::emit::format_g_shortest(&format!("{:e}", f as f32))
}

/// `strconv.FormatFloat(f, 'g', -1, 32)` with `.inf`/`-.inf`/`.nan` as sigs.k8s.io/yaml
/// prints a float map key.
fn float32_key(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    super::emit::format_g_shortest(&format!("{:e}", f as f32))
}

/// Decodes the first document of `src` (goyaml.v2's `Unmarshal` reads only that one).
/// `Ok(Value::Nil)` for an empty document.
pub fn decode_first(src: &str, mode: Mode) -> Result<Value, YamlError> {
    if let Some(v) = super::quick::decode(src, mode) {
        return Ok(v);
    }
    decode_first_parsed(src, mode)
}

/// [`decode_first`] through the full parser, whatever the text.
pub(super) fn decode_first_parsed(src: &str, mode: Mode) -> Result<Value, YamlError> {
    let (src, docs) = parse_source(src, true)?;
    match docs.first() {
        Some(d) => decode_doc(&src, d, mode),
        None => Ok(Value::Nil),
    }
}

/// Decodes every document of `src`.
pub fn decode_all(src: &str, mode: Mode) -> Result<Vec<Value>, YamlError> {
    let (src, docs) = parse_source(src, false)?;
    docs.iter().map(|d| decode_doc(&src, d, mode)).collect()
}

fn decode_doc(src: &str, doc: &Doc, mode: Mode) -> Result<Value, YamlError> {
    let Some(root) = doc.root else { return Ok(Value::Nil) };
    let mut d = Decoder {
        src,
        doc,
        mode,
        decode_count: 0,
        alias_count: 0,
        alias_depth: 0,
        expanding: HashSet::new(),
        key_error: None,
        saw_non_finite: false,
    };
    let v = d.node(root)?;
    if let Some(e) = d.key_error {
        return Err(YamlError::new(e));
    }
    if d.saw_non_finite {
        crate::json::to_json(&v).map_err(YamlError::new)?;
    }
    Ok(v)
}

/// The root keys a document's head is read from (`output::head_of` looks up only these).
const HEAD_KEYS: [&str; 3] = ["apiVersion", "kind", "metadata"];

impl Decoder<'_> {
    /// True when decoding node `n` cannot fail and needs no alias bookkeeping: no aliases,
    /// tags or merge keys, every key a scalar that is neither null nor an unsigned integer,
    /// no NaN or ±Inf anywhere. Such a node decodes exactly as [`Decoder::node`] would with
    /// any of its map entries left out.
    fn is_plain(&self, n: usize) -> bool {
        match &self.doc.nodes[n].kind {
            Kind::Scalar { value, plain, tag } => {
                tag.is_none() && (!*plain || !matches!(resolve(None, value), Ok(Scalar::Float(f)) if !f.is_finite()))
            }
            Kind::Alias { .. } => false,
            Kind::Seq(items) => items.iter().all(|&i| self.is_plain(i)),
            Kind::Map(children) => children.chunks(2).all(|pair| {
                let key_ok = match &self.doc.nodes[pair[0]].kind {
                    Kind::Scalar { value, plain, tag } => {
                        tag.is_none()
                            && (!*plain
                                || (value != "<<"
                                    && match resolve(None, value) {
                                        Ok(Scalar::Null | Scalar::Uint(_)) | Err(_) => false,
                                        Ok(Scalar::Float(f)) => f.is_finite(),
                                        Ok(_) => true,
                                    }))
                    }
                    _ => false,
                };
                key_ok && pair.get(1).is_none_or(|&v| self.is_plain(v))
            }),
        }
    }

    /// The string key of plain-checked key node `k` when it is one of [`HEAD_KEYS`].
    fn head_key(&self, k: usize) -> Option<&'static str> {
        let Kind::Scalar { value, plain, .. } = &self.doc.nodes[k].kind else {
            return None;
        };
        let name = HEAD_KEYS.iter().find(|h| **h == value.as_str())?;
        // A plain key resolving to something else than a string is not spelt like a head key
        // once stringified (no bool, number or null is spelt `kind`), but check anyway.
        (!*plain || matches!(resolve(None, value), Ok(Scalar::Str))).then_some(*name)
    }
}

/// [`decode_first`] in [`Mode::Json`] with, when the document is a mapping that decodes
/// without error (see [`Decoder::is_plain`]), only its `apiVersion`, `kind` and `metadata`
/// entries kept. Everything else — results and errors — is exactly [`decode_first`]'s.
pub fn decode_first_head(src: &str) -> Result<Value, YamlError> {
    match super::quick::head(src) {
        Some(super::quick::Head::Value(head)) => Ok(head),
        Some(super::quick::Head::Text(head)) if head.is_empty() => Ok(Value::empty_map()),
        Some(super::quick::Head::Text(head)) => decode_first_head_parsed(&head),
        None => decode_first_head_parsed(src),
    }
}

/// [`decode_first_head`] through the full parser, whatever the text.
pub(super) fn decode_first_head_parsed(src: &str) -> Result<Value, YamlError> {
    let (src, docs) = parse_source(src, true)?;
    let Some(doc) = docs.first() else { return Ok(Value::Nil) };
    let Some(root) = doc.root else { return Ok(Value::Nil) };
    let mut d = Decoder {
        src: &src,
        doc,
        mode: Mode::Json,
        decode_count: 0,
        alias_count: 0,
        alias_depth: 0,
        expanding: HashSet::new(),
        key_error: None,
        saw_non_finite: false,
    };
    let Kind::Map(children) = &doc.nodes[root].kind else {
        return decode_doc(&src, doc, Mode::Json);
    };
    if !d.is_plain(root) {
        return decode_doc(&src, doc, Mode::Json);
    }
    let mut m = Map::new();
    for pair in children.chunks(2) {
        if let Some(key) = d.head_key(pair[0]) {
            let val = match pair.get(1) {
                Some(&v) => d.node(v)?,
                None => Value::Nil,
            };
            m.insert(key.to_string(), val);
        }
    }
    Ok(Value::map(m))
}
