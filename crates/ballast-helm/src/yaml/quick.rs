//! A quick structural check of a rendered document, so that its head is read without running
//! the full YAML parser over the whole text (a CRD of thousands of lines has a head of five).
//!
//! [`head_lines`] accepts only a strict, common subset of block YAML — printable characters
//! (ASCII, and beyond it those go-yaml reads as printable that are no line break), a
//! block mapping at the root, plain keys, single-line plain or quoted scalars, `|`/`>` block
//! scalars, `[]`/`{}`, no anchors, aliases, tags, flow collections, multi-line plain scalars,
//! `\x`/`\u` escapes or `.inf`/`.nan` — in which every document parses without error and
//! decodes (as [`super::load::decode_first_head`] does) to a mapping whose entries outside the
//! head cannot fail. For such a document it returns the lines of its root `apiVersion`,
//! `kind` and `metadata` entries: a document whose head reads exactly as the whole one's.
//! Anything else gives `None`, and the caller parses the whole text as before.

use ballast_gotemplate::Value;
use ballast_gotemplate::value::Map;

use super::load::{Mode, key_string, scalar_value};
use super::resolve::{Scalar, resolve};

/// Nesting past this is left to the full parser.
const MAX_DEPTH: usize = 64;
/// libyaml's bound on the length of a simple key.
const MAX_KEY: usize = 1024;

/// One line: its indentation (spaces), the text after it (trailing spaces removed), and the
/// whole line.
#[derive(Clone, Copy)]
struct Line<'s> {
    indent: usize,
    text: &'s str,
    raw: &'s str,
}

impl Line<'_> {
    /// Blank or a comment: no content outside block scalars.
    fn is_filler(&self) -> bool {
        self.text.is_empty() || self.text.starts_with('#')
    }
    fn is_seq_entry(&self) -> bool {
        self.text == "-" || self.text.starts_with("- ")
    }
}

struct Checker<'s> {
    lines: Vec<Line<'s>>,
    i: usize,
}

/// A document the check accepted: its lines and its root entries (start line, is a head key).
struct Checked<'s> {
    lines: Vec<Line<'s>>,
    entries: Vec<(usize, bool)>,
}

/// Whether every byte is printable ASCII or `\n`. Blocks of 64 bytes are tested without
/// an early exit, which the compiler turns into vector instructions.
fn printable_ascii(b: &[u8]) -> bool {
    let bad = |c: u8| (c < 0x20 && c != b'\n') | (c > 0x7E);
    let mut blocks = b.chunks_exact(64);
    for block in &mut blocks {
        if block.iter().fold(false, |acc, &c| acc | bad(c)) {
            return false;
        }
    }
    !blocks.remainder().iter().any(|&c| bad(c))
}

/// Whether every character of `s` is printable ASCII, `\n`, or beyond ASCII one that go-yaml
/// reads as printable (U+00A0 to U+FFFD, U+10000 and above) and not as a line break (YAML
/// 1.1's U+2028 and U+2029; U+0085 is below the range) nor a byte order mark (U+FEFF).
/// Outside ASCII the subset's syntax is unchanged: every character it looks at (indentation,
/// indicators, quotes, ` #`) is ASCII, and the bytes of other characters are never mistaken
/// for one, so such characters only ever stand in comments, keys and scalars.
fn printable(s: &str) -> bool {
    printable_ascii(s.as_bytes())
        || s.chars().all(|c| match c {
            '\n' | ' '..='~' => true,
            '\u{A0}'..='\u{FFFD}' => !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}'),
            '\u{10000}'.. => true,
            _ => false,
        })
}

/// `s` without its leading spaces (ASCII: counted in bytes).
fn skip_spaces(s: &str) -> &str {
    &s[leading_spaces(s.as_bytes())..]
}

/// How many spaces `b` starts with, counted eight bytes at a time: the lines of rendered
/// manifests are deeply indented (a CRD's schema, 20 to 40 spaces), and counting byte by
/// byte was half of the check's time.
fn leading_spaces(b: &[u8]) -> usize {
    let mut n = 0;
    for word in b.chunks_exact(8) {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        let other = u64::from_le_bytes(bytes) ^ u64::from_le_bytes([b' '; 8]);
        if other != 0 {
            return n + (other.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + b[n..].iter().take_while(|&&c| c == b' ').count()
}

/// `s` without its trailing spaces.
fn trim_spaces_end(s: &str) -> &str {
    let n = s.bytes().rev().take_while(|&c| c == b' ').count();
    &s[..s.len() - n]
}

/// Where a ` #` comment starts in `s` (the offset of its space).
fn comment_start(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    memchr::memchr_iter(b'#', b)
        .find(|&k| k > 0 && b[k - 1] == b' ')
        .map(|k| k - 1)
}

/// Whether `s` holds `: `.
fn has_colon_space(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr_iter(b':', b).any(|k| b.get(k + 1) == Some(&b' '))
}

/// Checks that `src` is in the subset described in the module docs.
fn check(src: &str) -> Option<Checked<'_>> {
    if !printable(src) {
        return None;
    }
    // The lines, split at each `\n` (found by memchr's SIMD search over the whole text).
    let mut lines = Vec::with_capacity(src.len() / 24 + 1);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', src.as_bytes()).chain([src.len()]) {
        let l = &src[start..end];
        let text = skip_spaces(l);
        lines.push(Line {
            indent: l.len() - text.len(),
            text: trim_spaces_end(text),
            raw: l,
        });
        start = end + 1;
    }
    let mut c = Checker { lines, i: 0 };
    c.skip_filler();
    let first = *c.lines.get(c.i)?;
    if first.indent != 0 || first.is_seq_entry() {
        return None;
    }
    let mut entries = Vec::new();
    c.map(0, None, 0, Some(&mut entries))?;
    c.skip_filler();
    if c.i < c.lines.len() {
        return None;
    }
    Some(Checked {
        lines: c.lines,
        entries,
    })
}

/// The lines of `src`'s root `apiVersion`, `kind` and `metadata` entries (joined, in order),
/// when `src` is in the subset described in the module docs; `None` otherwise.
#[cfg(test)]
pub(super) fn head_lines(src: &str) -> Option<String> {
    check(src).map(|c| c.head_text())
}

impl Checked<'_> {
    /// The lines of the root `apiVersion`, `kind` and `metadata` entries, joined in order.
    fn head_text(&self) -> String {
        let Checked { lines, entries } = self;
        let mut out = String::new();
        for (k, &(start, head)) in entries.iter().enumerate() {
            if !head {
                continue;
            }
            let end = entries.get(k + 1).map_or(lines.len(), |e| e.0);
            for l in &lines[start..end] {
                out.push_str(l.raw);
                out.push('\n');
            }
        }
        out
    }
}

/// `src` decoded in `mode` as [`super::load::decode_first`] decodes it, when `src` is in the
/// subset and uses none of what [`Reader`] leaves to the full parser; `None` otherwise.
pub(super) fn decode(src: &str, mode: Mode) -> Option<Value> {
    let checked = check(src)?;
    let mut r = Reader {
        lines: &checked.lines,
        i: 0,
        mode,
    };
    let mut m = Map::new();
    r.map(0, None, &mut m)?;
    Some(Value::map(m))
}

/// The head of a document in the subset, for [`super::load::decode_first_head`].
pub(super) enum Head {
    /// Its root `apiVersion`, `kind` and `metadata` entries, decoded as JSON values.
    Value(Value),
    /// The lines of those entries, for the full parser (the reader left them to it).
    Text(String),
}

/// The head of `src` when `src` is in the subset (the rest of it is only checked).
pub(super) fn head(src: &str) -> Option<Head> {
    let checked = check(src)?;
    let mut r = Reader {
        lines: &checked.lines,
        i: 0,
        mode: Mode::Json,
    };
    let mut m = Map::new();
    for &(start, head) in &checked.entries {
        if head {
            r.i = start;
            let text = r.lines[start].text;
            if r.entry(text, 0, &mut m).is_none() {
                return Some(Head::Text(checked.head_text()));
            }
        }
    }
    Some(Head::Value(Value::map(m)))
}

/// Decodes a document [`check`] accepted, walking it as the checker did. Left to the full
/// parser (`None`): scalars over several lines (plain or quoted), folded (`>`) block scalars
/// with a more indented line, `\/` escapes, and block scalars whose blank lines hold more
/// spaces than their indentation.
struct Reader<'r, 's> {
    lines: &'r [Line<'s>],
    i: usize,
    mode: Mode,
}

impl<'s> Reader<'_, 's> {
    fn peek(&mut self) -> Option<Line<'s>> {
        while self.lines.get(self.i).is_some_and(|l| l.is_filler()) {
            self.i += 1;
        }
        self.lines.get(self.i).copied()
    }

    /// A block mapping at `indent` into `out`, `first` an entry already on the current line.
    fn map(&mut self, indent: usize, first: Option<&'s str>, out: &mut Map) -> Option<()> {
        if let Some(text) = first {
            self.entry(text, indent, out)?;
        }
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            self.entry(line.text, indent, out)?;
        }
        Some(())
    }

    fn entry(&mut self, text: &'s str, indent: usize, out: &mut Map) -> Option<()> {
        let (key, quoted, rest) = split_key(text)?;
        let key = if quoted {
            key.to_string()
        } else {
            key_string(&scalar_value(resolve(None, key).ok()?, key, Mode::Raw))?
        };
        self.i += 1;
        let value = self.value(rest, indent, true)?;
        out.insert(key, value);
        Some(())
    }

    fn value(&mut self, rest: &'s str, indent: usize, in_map: bool) -> Option<Value> {
        if rest.is_empty() || rest.starts_with('#') {
            return match self.peek() {
                Some(l)
                    if l.indent > indent
                        && let Some(is_map) = empty_flow(l.text) =>
                {
                    self.i += 1;
                    Some(if is_map {
                        Value::empty_map()
                    } else {
                        Value::list(Vec::new())
                    })
                }
                Some(l) if l.indent > indent => {
                    if l.is_seq_entry() {
                        self.seq(l.indent)
                    } else {
                        let mut m = Map::new();
                        self.map(l.indent, None, &mut m)?;
                        Some(Value::map(m))
                    }
                }
                Some(l) if in_map && l.indent == indent && l.is_seq_entry() => self.seq(indent),
                _ => Some(Value::Nil),
            };
        }
        match rest.as_bytes()[0] {
            b'|' | b'>' => self.block_text(indent, strip_comment(&rest[1..]) == "-", rest.starts_with('>')),
            b'"' => match double_quoted(rest, 1) {
                Quote::Closed(after) => unescape(&rest[1..rest.len() - after.len() - 1]).map(Value::from),
                _ => None,
            },
            b'\'' => match single_quoted(rest, 1) {
                Quote::Closed(after) => Some(Value::from(rest[1..rest.len() - after.len() - 1].replace("''", "'"))),
                _ => None,
            },
            b'{' => Some(Value::empty_map()),
            b'[' => flow_items(rest, self.mode).map(Value::list),
            _ => {
                let v = plain(rest)?;
                if comment_start(rest).is_none() && self.continues(indent) {
                    return None;
                }
                Some(scalar_value(resolve(None, v).ok()?, v, self.mode))
            }
        }
    }

    /// True when a plain scalar under a node at `indent` goes on over the next lines.
    fn continues(&self, indent: usize) -> bool {
        self.lines[self.i..]
            .iter()
            .find(|l| !l.text.is_empty())
            .is_some_and(|l| l.indent > indent && !l.text.starts_with('#'))
    }

    fn seq(&mut self, indent: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent || (line.indent == indent && !line.is_seq_entry()) {
                break;
            }
            let after = &line.text[1..];
            let item = skip_spaces(after);
            if split_key(item).is_some() {
                let mut m = Map::new();
                self.map(indent + 1 + (after.len() - item.len()), Some(item), &mut m)?;
                items.push(Value::map(m));
            } else {
                self.i += 1;
                items.push(self.value(item, indent, false)?);
            }
        }
        Some(Value::list(items))
    }

    /// A block scalar's lines under a node at `indent`, the last line break kept unless
    /// `strip`. A `|` scalar (`folded` false) keeps its lines from the first one's indentation
    /// on, with the empty lines between them. A `>` scalar is folded as goyaml.v2 folds one
    /// whose lines are all at one indentation: lines next to each other joined by a space, a
    /// run of empty lines between two as that many line breaks (before the first as well); a
    /// more indented line, around which goyaml.v2 keeps the line breaks, is left to the full
    /// parser.
    fn block_text(&mut self, indent: usize, strip: bool, folded: bool) -> Option<Value> {
        let mut content: Option<usize> = None;
        let mut text = String::new();
        let mut blanks = 0;
        // A last line with no line break after it (the end of the input) keeps none.
        let mut ends_input = false;
        while let Some(l) = self.lines.get(self.i) {
            if l.text.is_empty() {
                if content.is_some_and(|c| l.raw.len() > c) {
                    return None;
                }
                blanks += 1;
                self.i += 1;
                continue;
            }
            if l.indent <= indent {
                break;
            }
            let c = match content {
                None => *content.insert(l.indent),
                Some(c) if folded && l.indent != c => return None,
                Some(c) => {
                    // Between two lines: a `|` scalar keeps the line break; a `>` one makes it
                    // a space, unless empty lines stand between them.
                    if !folded {
                        text.push('\n');
                    } else if blanks == 0 {
                        text.push(' ');
                    }
                    c
                }
            };
            text.extend(std::iter::repeat_n('\n', blanks));
            blanks = 0;
            text.push_str(&l.raw[c..]);
            self.i += 1;
            ends_input = self.i == self.lines.len();
        }
        if content.is_some() && !strip && !ends_input {
            text.push('\n');
        }
        Some(Value::from(text))
    }
}

/// The text of a one-line `"..."` scalar's inside, its escapes replaced (`None` for `\/`,
/// which goyaml.v2 reads its own way).
fn unescape(inside: &str) -> Option<String> {
    if !inside.contains('\\') {
        return Some(inside.to_string());
    }
    let mut out = String::with_capacity(inside.len());
    let mut chars = inside.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '0' => '\0',
            'a' => '\x07',
            'b' => '\x08',
            't' => '\t',
            'n' => '\n',
            'v' => '\x0b',
            'f' => '\x0c',
            'r' => '\r',
            'e' => '\x1b',
            ' ' => ' ',
            '"' => '"',
            '\\' => '\\',
            _ => return None,
        });
    }
    Some(out)
}

/// The items of a one-line flow sequence [`flow_seq`] accepted, decoded in `mode`.
fn flow_items(s: &str, mode: Mode) -> Option<Vec<Value>> {
    let mut items = Vec::new();
    let mut rest = skip_spaces(&s[1..]);
    if rest.starts_with(']') {
        return Some(items);
    }
    loop {
        let after_item = match rest.as_bytes().first()? {
            b'"' => match double_quoted(rest, 1) {
                Quote::Closed(a) => {
                    items.push(Value::from(unescape(&rest[1..rest.len() - a.len() - 1])?));
                    a
                }
                _ => return None,
            },
            b'\'' => match single_quoted(rest, 1) {
                Quote::Closed(a) => {
                    items.push(Value::from(rest[1..rest.len() - a.len() - 1].replace("''", "'")));
                    a
                }
                _ => return None,
            },
            _ => {
                let end = rest.find([',', ']']).unwrap_or(rest.len());
                let item = trim_spaces_end(&rest[..end]);
                items.push(scalar_value(resolve(None, item).ok()?, item, mode));
                &rest[end..]
            }
        };
        let after_item = skip_spaces(after_item);
        if after_item.starts_with(']') {
            return Some(items);
        }
        rest = skip_spaces(after_item.strip_prefix(',')?);
    }
}

impl<'s> Checker<'s> {
    fn skip_filler(&mut self) {
        while self.lines.get(self.i).is_some_and(|l| l.is_filler()) {
            self.i += 1;
        }
    }

    /// The next content line, without consuming it.
    fn peek(&mut self) -> Option<Line<'s>> {
        self.skip_filler();
        self.lines.get(self.i).copied()
    }

    /// A block mapping at `indent`. `first` is an entry already read from the current line
    /// (after `- `); `root` collects the root entries' starts.
    fn map(
        &mut self,
        indent: usize,
        first: Option<&'s str>,
        depth: usize,
        mut root: Option<&mut Vec<(usize, bool)>>,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        if let Some(text) = first {
            self.entry(text, indent, depth)?;
        }
        loop {
            let Some(line) = self.peek() else { return Some(()) };
            if line.indent < indent {
                return Some(());
            }
            if line.indent > indent
                || line.is_seq_entry()
                || line.text.starts_with("---")
                || line.text.starts_with("...")
            {
                return None;
            }
            if let Some(r) = root.as_deref_mut() {
                let (key, quoted, _) = split_key(line.text)?;
                let is_head = matches!(key, "apiVersion" | "kind" | "metadata") && (quoted || plain_key_ok(key));
                r.push((self.i, is_head));
            }
            self.entry(line.text, indent, depth)?;
        }
    }

    /// One `key: value` entry of a mapping at `indent`, `text` on the current line.
    fn entry(&mut self, text: &'s str, indent: usize, depth: usize) -> Option<()> {
        let (key, quoted, rest) = split_key(text)?;
        if !key_ok(key, quoted) {
            return None;
        }
        self.i += 1;
        self.value(rest, indent, true, depth)
    }

    /// The value after `key:` or `- ` (`rest`, trimmed) of a node at `indent`. `in_map`:
    /// a block sequence may then sit at the key's own indentation.
    fn value(&mut self, rest: &'s str, indent: usize, in_map: bool, depth: usize) -> Option<()> {
        if rest.is_empty() || rest.starts_with('#') {
            return match self.peek() {
                Some(l) if l.indent > indent && empty_flow(l.text).is_some() => {
                    self.i += 1;
                    Some(())
                }
                Some(l) if l.indent > indent => {
                    if l.is_seq_entry() {
                        self.seq(l.indent, depth + 1)
                    } else {
                        self.map(l.indent, None, depth + 1, None)
                    }
                }
                Some(l) if in_map && l.indent == indent && l.is_seq_entry() => self.seq(indent, depth + 1),
                _ => Some(()),
            };
        }
        match rest.as_bytes()[0] {
            b'|' | b'>' => {
                if !matches!(strip_comment(&rest[1..]), "" | "-") {
                    return None;
                }
                self.block_scalar(indent)
            }
            b'"' => self.quoted(rest, indent, double_quoted),
            b'\'' => self.quoted(rest, indent, single_quoted),
            b'{' => empty_flow(rest).map(|_| ()),
            b'[' => trailing_ok(flow_seq(rest)?),
            _ => {
                let v = plain(rest)?;
                if non_finite(v) || comment_start(rest).is_some() {
                    // A comment ends the scalar: no continuation lines may follow.
                    return (!non_finite(v)).then_some(());
                }
                self.plain_continuation(indent)
            }
        }
    }

    /// The continuation lines of a plain scalar under a node at `indent`: more indented, the
    /// first comment line ending them. Inside a plain scalar a line may start with any
    /// character (`- x`, `[x]`, `&x` are text there, as goyaml.v2 reads them); a line with
    /// `: `, a trailing `:` or a ` #` comment is left to the full parser.
    fn plain_continuation(&mut self, indent: usize) -> Option<()> {
        let mut k = self.i;
        while let Some(l) = self.lines.get(k) {
            if l.text.is_empty() {
                k += 1;
                continue;
            }
            if l.indent <= indent || l.text.starts_with('#') {
                break;
            }
            if has_colon_space(l.text) || comment_start(l.text).is_some() || l.text.ends_with(':') {
                return None;
            }
            k += 1;
            self.i = k;
        }
        Some(())
    }

    /// A quoted scalar starting `rest` (`close` scans a piece of it from an offset), on this
    /// line or continued on more indented lines, blank lines between them.
    fn quoted(&mut self, rest: &'s str, indent: usize, close: fn(&str, usize) -> Quote<'_>) -> Option<()> {
        let (mut piece, mut from) = (rest, 1);
        loop {
            match close(piece, from) {
                Quote::Closed(after) => return trailing_ok(after),
                Quote::Bad => return None,
                Quote::Open => {}
            }
            let l = self.lines.get(self.i)?;
            self.i += 1;
            if l.text.is_empty() {
                continue;
            }
            if l.indent <= indent {
                return None;
            }
            (piece, from) = (l.text, 0);
        }
    }

    /// A block sequence at `indent`, at its first `-` line.
    fn seq(&mut self, indent: usize, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        loop {
            let Some(line) = self.peek() else { return Some(()) };
            if line.indent < indent || (line.indent == indent && !line.is_seq_entry()) {
                return Some(());
            }
            if line.indent > indent {
                return None;
            }
            let after = &line.text[1..];
            let item = skip_spaces(after);
            if item.starts_with('-') && (item == "-" || item.starts_with("- ")) {
                return None;
            }
            let item_indent = indent + 1 + (after.len() - item.len());
            match split_key(item) {
                Some(_) => {
                    self.map(item_indent, Some(item), depth + 1, None)?;
                }
                _ => {
                    self.i += 1;
                    self.value(item, indent, false, depth + 1)?;
                }
            }
        }
    }

    /// The content lines of a `|` or `>` scalar under a node at `indent` (the header line
    /// consumed already): all more indented than the node, none less than the first.
    fn block_scalar(&mut self, indent: usize) -> Option<()> {
        let mut content: Option<usize> = None;
        while let Some(l) = self.lines.get(self.i) {
            if l.text.is_empty() {
                // Spaces before the first content line could exceed its indentation.
                if content.is_none() && l.indent > 0 {
                    return None;
                }
                self.i += 1;
                continue;
            }
            if l.indent <= indent {
                break;
            }
            match content {
                None => content = Some(l.indent),
                Some(c) if l.indent < c => return None,
                Some(_) => {}
            }
            self.i += 1;
        }
        Some(())
    }
}

/// A `key:` or `key: value` line: the key (its text, and whether it was quoted) and the
/// trimmed text after `key:`. Quoted keys are taken only without escapes.
fn split_key(text: &str) -> Option<(&str, bool, &str)> {
    if let Some(q) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let end = text[1..].find(q)? + 1;
        let key = &text[1..end];
        if key.contains('\\') || text[end + 1..].starts_with(q) {
            return None;
        }
        let after = skip_spaces(&text[end + 1..]);
        let rest = after.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        return Some((key, true, skip_spaces(rest)));
    }
    let b = text.as_bytes();
    for k in memchr::memchr2_iter(b':', b'#', b) {
        match b[k] {
            b':' if k + 1 == b.len() || b[k + 1] == b' ' => {
                let key = trim_spaces_end(&text[..k]);
                return Some((key, false, skip_spaces(&text[k + 1..])));
            }
            b'#' if k > 0 && b[k - 1] == b' ' => return None,
            _ => {}
        }
    }
    None
}

/// A key that decodes to a JSON object key without error (a quoted one always does).
fn key_ok(key: &str, quoted: bool) -> bool {
    key.len() <= MAX_KEY && (quoted || plain_key_ok(key))
}

/// A plain key that decodes to a JSON object key without error.
fn plain_key_ok(key: &str) -> bool {
    key.len() <= MAX_KEY
        && plain_start(key)
        && key != "<<"
        && match resolve(None, key) {
            Ok(Scalar::Null | Scalar::Uint(_)) | Err(_) => false,
            Ok(Scalar::Float(f)) => f.is_finite(),
            Ok(_) => true,
        }
}

/// True when a plain scalar may start `s` (no indicator, no `- `).
fn plain_start(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(c)
            if c.is_ascii_alphanumeric()
                || *c >= 0x80
                || matches!(
                    c,
                    b'/' | b'.' | b'_' | b'~' | b'+' | b'$' | b'(' | b')' | b'^' | b'<' | b'=' | b';' | b'\\'
                ) =>
        {
            true
        }
        Some(b'-' | b':' | b'?') => b.get(1).is_some_and(|c| *c != b' '),
        _ => false,
    }
}

/// A single-line plain scalar `rest`, without its trailing comment.
fn plain(rest: &str) -> Option<&str> {
    if !plain_start(rest) {
        return None;
    }
    let v = strip_comment(rest);
    if has_colon_space(v) || v.ends_with(':') {
        return None;
    }
    Some(v)
}

/// `s` up to a ` #` comment, trailing spaces removed.
fn strip_comment(s: &str) -> &str {
    let cut = comment_start(s).unwrap_or(s.len());
    trim_spaces_end(&s[..cut])
}

/// An empty flow collection with nothing but spaces inside and an optional comment after
/// (`{}`, `{ }`, `[ ]`): `Some(true)` for a mapping, `Some(false)` for a sequence.
fn empty_flow(s: &str) -> Option<bool> {
    let t = strip_comment(s).as_bytes();
    let (&open, rest) = t.split_first()?;
    let (&close, inside) = rest.split_last()?;
    if !inside.iter().all(|b| *b == b' ') {
        return None;
    }
    match (open, close) {
        (b'{', b'}') => Some(true),
        (b'[', b']') => Some(false),
        _ => None,
    }
}

/// A plain value that decodes to ±Inf or NaN (which the JSON step refuses). Only the
/// `.inf` and `.nan` spellings do (a number out of range stays a string, as Go's `ParseFloat`
/// fails on it), and they start with `.`, `+` or `-`: nothing else is resolved.
fn non_finite(v: &str) -> bool {
    matches!(v.as_bytes().first(), Some(b'.' | b'+' | b'-'))
        && matches!(resolve(None, v), Ok(Scalar::Float(f)) if !f.is_finite())
}

/// A one-line flow sequence of quoted or simple plain scalars (`["a", b]`, `[]`): the text
/// after it.
fn flow_seq(s: &str) -> Option<&str> {
    let mut rest = skip_spaces(&s[1..]);
    if let Some(after) = rest.strip_prefix(']') {
        return Some(after);
    }
    loop {
        let after_item = match rest.as_bytes().first()? {
            b'"' => match double_quoted(rest, 1) {
                Quote::Closed(a) => a,
                _ => return None,
            },
            b'\'' => match single_quoted(rest, 1) {
                Quote::Closed(a) => a,
                _ => return None,
            },
            _ => {
                let end = rest.find([',', ']']).unwrap_or(rest.len());
                let item = trim_spaces_end(&rest[..end]);
                let simple =
                    |c: u8| c.is_ascii_alphanumeric() || c >= 0x80 || matches!(c, b'.' | b'_' | b'/' | b'-' | b'*');
                if !plain_start(item) || !item.bytes().all(simple) || non_finite(item) {
                    return None;
                }
                &rest[end..]
            }
        };
        let after_item = skip_spaces(after_item);
        if let Some(after) = after_item.strip_prefix(']') {
            return Some(after);
        }
        rest = skip_spaces(after_item.strip_prefix(',')?);
        if rest.starts_with(']') {
            return None;
        }
    }
}

/// What follows a quoted scalar on its line: nothing or a comment.
fn trailing_ok(after: &str) -> Option<()> {
    let t = skip_spaces(after);
    (t.is_empty() || (t.starts_with('#') && t.len() < after.len())).then_some(())
}

/// How a piece of a quoted scalar ends.
enum Quote<'s> {
    /// Closed: the text after the closing quote.
    Closed(&'s str),
    /// Still open at the end of the piece.
    Open,
    /// Something left to the full parser (an escape other than the simple ones).
    Bad,
}

/// A piece of a `"..."` scalar scanned from `from`, with simple escapes only.
fn double_quoted(s: &str, from: usize) -> Quote<'_> {
    let b = s.as_bytes();
    let mut k = from;
    while k < b.len() {
        match b[k] {
            b'"' => return Quote::Closed(&s[k + 1..]),
            b'\\' => {
                let ok = b.get(k + 1).is_some_and(|e| {
                    matches!(
                        e,
                        b'0' | b'a' | b'b' | b't' | b'n' | b'v' | b'f' | b'r' | b'e' | b' ' | b'"' | b'/' | b'\\'
                    )
                });
                if !ok {
                    return Quote::Bad;
                }
                k += 2;
            }
            _ => k += 1,
        }
    }
    Quote::Open
}

/// A piece of a `'...'` scalar scanned from `from`.
fn single_quoted(s: &str, from: usize) -> Quote<'_> {
    let b = s.as_bytes();
    let mut k = from;
    while k < b.len() {
        if b[k] == b'\'' {
            if b.get(k + 1) == Some(&b'\'') {
                k += 2;
                continue;
            }
            return Quote::Closed(&s[k + 1..]);
        }
        k += 1;
    }
    Quote::Open
}
#[cfg(test)]
mod tests {
    use super::super::load::{Mode, decode_first_head, decode_first_head_parsed, decode_first_parsed};
    use super::{decode, head_lines};

    #[test]
    fn leading_spaces_counts_words_and_tails() {
        for n in 0..40 {
            for tail in ["", "x", "x ", "\u{e9} ", " "] {
                let s = format!("{}{tail}", " ".repeat(n));
                let want = s.bytes().take_while(|&c| c == b' ').count();
                assert_eq!(super::leading_spaces(s.as_bytes()), want, "{s:?}");
            }
        }
    }

    /// The quick path (when taken) reads the same head, or fails the same way, as the full parse.
    fn same(doc: &str) -> bool {
        let quick = format!("{:?}", decode_first_head(doc));
        let full = format!("{:?}", decode_first_head_parsed(doc));
        assert_eq!(quick, full, "document:\n{doc}");
        head_lines(doc).is_some()
    }

    #[test]
    fn quick_heads_read_as_the_full_parse() {
        let taken = [
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    a: \"1\"\n    b: 'it''s'\ndata:\n  k: |\n    line\n\n    more\n  j: >-\n    folded\n",
            "# c\nkind: Pod # trailing\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    args: [] # none\n    env:\n      - name: A\n        value: \"x\\ty\"\n    resources: {}\n",
            "kind: A\nspec:\n  x: .5\n  y: 1e3\n  z: ~\n  w: yes\n  list:\n  -\n  - a\n  - - not\n",
            "metadata:\n  name: 1.10\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-weight: \"-5\"\nkind: Job\n",
            "kind: A\nmetadata:\n  annotations:\n    k: |-\n      text\n    l: v\n",
            "spec:\n  x: 1\n",
            "kind: A\nkind: B\n",
            "kind: A\nmetadata: \n",
            "kind: A\nmetadata:\n  name: a:b\n  annotations: {}\n",
            "kind: A\nmetadata:\n  labels: { }\n  annotations:   {  } # none\nspec:\n  a:\n    [ ]\n  b:\n    {   }\n  c: [  ]\n",
            "kind: A\nmetadata:\n  name: long\n    name\n\n    more\n  annotations:\n    a: 'x\n      y'\n    b: \"p\n      q\"\nspec:\n  - a\n    b\n  - k: v\n      w\n",
            "kind: A\nspec:\n  x: [a, \"b\", 'c' , 1.5, -x]\n  y: [ \"v1\" ] # c\n  z:\n    {}\n",
            "\"kind\": A\n'metadata':\n  \"name\": x\n  annotations:\n    \"helm.sh/hook\": test\nspec:\n  p: ^[a-z]+$\n  r: :metric:sum\n",
            "kind: A\nspec: \"a\n\n  b\"\n",
            "kind: A\nmetadata:\n  name: x\nspec:\n  d: 'It''s\n\n    more\n\n\n    end'\n  x: a `kubectl apply\n    --dry-run` b\n    - c\n    [d] {e} &f *g !h |i >j %k @l\n  l:\n  - m\n    -- n\n",
        ];
        for doc in taken {
            same(doc);
        }
        // Plain scalars over lines starting with any character, quoted ones over blank lines.
        assert!(same(taken[taken.len() - 1]));
        // Outside the subset: the full parser decides (and errors stay the same).
        let left = [
            "kind: A\nspec:\n  x: .inf\n",
            "kind: A\nspec: &a\n  x: 1\nother: *a\n",
            "kind: A\nspec:\n  x: !!str 1\n",
            "kind: A\nspec:\n  x: [a, b, ]\n",
            "kind: A\nspec:\n  x: [a: b]\n",
            "kind: A\nspec:\n  x: [.nan]\n",
            "kind: A\nspec:\n  x: {a: b}\n",
            "kind: A\nspec:\n  \"a\\tb\": x\n",
            "kind: A\nspec:\n  x: %a\n",
            "kind: A\nspec:\n  x: \"a\n  b\"\n",
            "kind: A\nspec:\n  x: a: b\n",
            "kind: A\n  bad: 1\n",
            "kind: A\nspec:\n\tx: 1\n",
            "- a\n- b\n",
            "kind: A\n<<: {}\n",
            "kind: A\nspec:\n  18446744073709551615: x\n",
            "kind: A\nspec:\n  x: |\n    a\n   b\n",
            "kind: A\nspec:\n  x: \"\\u00e9\"\n",
            "kind: A\nspec:\n  - a\n  b: c\n",
            "kind: A\nmetadata:\n  name: @x\n",
            "kind: A\n---\nkind: B\n",
            "kind: A\nspec: |+\n  a\n\n",
            "kind: A\nspec: a\n  b: c\n",
            "kind: A\nspec: a # c\n  b\n",
            "kind: A\nspec: 'a\nb'\n",
            "kind: A\nspec:\n  x: 'a\n  b'\n",
            "kind: A\nspec:\n  x: a\n    - c: d\n",
            "kind: A\nspec:\n  x: a\n    b:\n",
        ];
        for doc in left {
            assert!(!same(doc), "quick path taken for:\n{doc}");
        }
    }

    /// A document decoded by the quick reader (when it takes it) is the full decoder's, in
    /// both modes.
    fn same_decode(doc: &str) -> bool {
        let mut taken = false;
        for mode in [Mode::Json, Mode::Raw] {
            let full = format!("{:?}", decode_first_parsed(doc, mode));
            if let Some(v) = decode(doc, mode) {
                taken = true;
                assert_eq!(
                    format!("{:?}", Ok::<_, super::super::YamlError>(v)),
                    full,
                    "document:\n{doc}"
                );
            }
        }
        taken
    }

    #[test]
    fn quick_decodes_read_as_the_full_parse() {
        let taken = [
            "a: 1\nb: 1.5\nc: yes\nd: ~\ne: \"x\\ty\\\"z\\\\\"\nf: 'it''s'\ng: 0x1F\nh: 0o17\ni: 017\nj: 1_000\nk: -3\nl: 18446744073709551615\nm: 2001-12-14\n",
            "1: a\ntrue: b\n1.5: c\n0x1F: d\n\"q\": e\n'r s': f\nno: g\n-2: h\n",
            "a:\n  b:\n    c: d\n  e:\n  - 1\n  - x: y\n    z: w\n  -\n  - 2\nf:\n- 2\ng: {}\nh: []\ni:\n  {}\nj:\n  []\nk:\n",
            "lit: |\n  one\n    two\n\n  three\n\n\nstrip: |-\n  a\n  b\n\nempty: |\nafter: x\nlead: |\n\n  x\ncomment: |  # c\n  # not a comment\n  y\n",
            "flow: [a, \"b\", 'c' , 1.5, -x, yes]\nempty: [ ]\nq: [\"a\\nb\", 'it''s']\n",
            "list:\n  - name: a # c\n    value: \"1\"\n  - name: b\n    items:\n    - x\n    - y\n# trailing\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    app: \"a\"\ndata:\n  k: |\n    line\n",
            // Folded scalars: lines joined by a space, runs of empty lines as line breaks.
            "a: >\n  folded\nb: >-\n  one\n  two  \n\n  three\n\n\n  four # not a comment\nc: >\n\n  lead\n  x\n\n\nd: >-\n\ne: > # c\n  # text\n  - item\nf:\n  - >-\n    in a list\n    two\n  - >\n    z",
            "locationSnippet: >-\n  {{ if .x }}\n  y\n\n  z\nlast: >\n  end",
            // Characters beyond ASCII in comments, keys, scalars of every kind.
            "# the metric\u{2019}s labels \u{2014} \u{1F680}\na: caf\u{e9} # \u{fc}ber\nb: \"\u{e9}t\u{e9}\"\nc: '\u{4e2d}\u{6587}'\n\u{e9}: 1\nd:\n  - \u{a0}x\u{a0}\n  - [\u{e9}, \"\u{fc}\"]\ne: |\n  # \u{2019}\n  \u{1F600} \u{fffd}\n",
        ];
        for doc in taken {
            assert!(same_decode(doc), "quick reader not taken for:\n{doc}");
        }
        // Line breaks to YAML 1.1 beyond ASCII, a byte order mark, controls: the full parser.
        for c in [
            '\u{85}', '\u{2028}', '\u{2029}', '\u{feff}', '\u{80}', '\u{9f}', '\u{fffe}', '\t', '\r',
        ] {
            for doc in [
                format!("# a{c}b: 1\nx: 1\n"),
                format!("x: a{c}b\n"),
                format!("x: |\n  a{c}b\n"),
            ] {
                assert!(!same_decode(&doc), "quick reader taken for:\n{doc:?}");
                assert!(!same(&doc), "quick path taken for:\n{doc:?}");
            }
        }
        // Checked, but left to the full decoder.
        let left = [
            "a: long\n  plain\n",
            "a: >\n  folded\n    more indented\n",
            "a: >-\n  x\n\n    y\n  z\n",
            "a: >\n  x\n     \n  y\n",
            "a: 'x\n  y'\n",
            "a: \"x\\/y\"\n",
            "a: |\n  x\n     \n  y\n",
        ];
        for doc in left {
            assert!(!same_decode(doc), "quick reader taken for:\n{doc}");
        }
    }

    /// Every values file of every fixture chart (subcharts too) and every rendered document
    /// decodes the same through both paths, and most through the quick one.
    #[test]
    fn fixture_values_and_documents_decode_the_same() {
        fn values_of(c: &crate::chart::Chart, out: &mut Vec<String>) {
            if let Some(v) = &c.raw_values {
                out.push(String::from_utf8_lossy(v).into_owned());
            }
            for d in &c.dependencies {
                values_of(d, out);
            }
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/charts");
        let (mut docs, mut quick) = (0, 0);
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.path().extension().is_none_or(|x| x != "tgz") {
                continue;
            }
            let mut texts = Vec::new();
            if let Ok(chart) = crate::chart::load(&e.path()) {
                values_of(&chart, &mut texts);
            }
            if let Ok(text) = crate::template(&e.path(), &crate::TemplateOptions::default()) {
                texts.extend(crate::output::split_manifests(&text));
            }
            for t in texts {
                docs += 1;
                quick += usize::from(same_decode(&t));
            }
        }
        assert!(
            docs > 600 && quick * 100 > docs * 90,
            "{quick} of {docs} texts decoded quickly"
        );
    }

    /// Every document of every fixture chart's rendering (default values) reads the same
    /// through both paths, and most take the quick one.
    #[test]
    fn fixture_documents_read_the_same() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/charts");
        let (mut docs, mut quick) = (0, 0);
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.path().extension().is_none_or(|x| x != "tgz") {
                continue;
            }
            let opts = crate::TemplateOptions::default();
            let Ok(text) = crate::template(&e.path(), &opts) else {
                continue;
            };
            for doc in crate::output::split_manifests(&text) {
                docs += 1;
                quick += usize::from(same(&doc));
            }
        }
        assert!(
            docs > 500 && quick * 100 > docs * 95,
            "{quick} of {docs} documents read quickly"
        );
    }
}
