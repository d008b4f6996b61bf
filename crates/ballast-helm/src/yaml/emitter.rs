//! A port of libyaml's block emitter (as goyaml.v2 and yaml.v3 carry it) for the events a
//! Go map/slice/scalar tree produces: block mappings and sequences, `{}`/`[]` when empty,
//! `? ` keys when a key is too long or multi-line, and scalars in plain, single-quoted,
//! double-quoted or literal style, folded past the best width where libyaml folds.

use super::emit::{Flavor, Node, Style};

/// What libyaml's `analyze_scalar` learns about a scalar.
#[derive(Debug, PartialEq, Eq)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{FEFF}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c) || c == '\0',
    }
}

/// Bytes no rule of [`analyze_chars`] reacts to anywhere but at the start (`-` and `.` are
/// indicators there: `- `, `---`, `...`).
fn is_inert(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-')
}

/// [`analyze_chars`], answered at once for a word of inert bytes (most names, images and
/// numbers written as strings): any style fits it.
fn analyze(value: &str, flavor: Flavor) -> Analysis {
    if !value.is_empty() && !value.starts_with(['-', '.']) && value.bytes().all(is_inert) {
        return Analysis {
            multiline: false,
            flow_plain_allowed: true,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
    }
    analyze_chars(value, flavor)
}

/// libyaml's analysis, character by character (an ASCII text byte by byte, without decoding).
fn analyze_chars(value: &str, flavor: Flavor) -> Analysis {
    if value.is_ascii() {
        analyze_each(value, value.bytes().map(char::from), flavor)
    } else {
        analyze_each(value, value.chars(), flavor)
    }
}

/// [`analyze_chars`] over `chars`, the characters of `value`.
fn analyze_each(value: &str, chars: impl Iterator<Item = char>, flavor: Flavor) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let mut tabs = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    // One pass over the characters with one of lookahead (no copy of the text).
    let mut chars = chars.peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let last = next.is_none();
        let followed_by_whitespace = is_blank_or_end(next);
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if flavor == Flavor::V3 && c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if first {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if first {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank_or_end(Some(c));
        first = false;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tabs || special {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// The final style libyaml writes a scalar in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Written {
    Plain,
    Single,
    Double,
    Literal,
}

struct Emitter {
    flavor: Flavor,
    out: String,
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
    best_width: usize,
    /// The state after the node being emitted is a block sequence item (v3's indent rule).
    in_sequence_item: bool,
}

/// Emits one document holding `node`, as goyaml's `Marshal` does (no `---`, newline at end).
pub(super) fn emit(node: &Node, flavor: Flavor) -> String {
    let mut e = Emitter {
        flavor,
        out: String::new(),
        column: 0,
        indent: -1,
        indents: Vec::new(),
        whitespace: true,
        indention: true,
        best_width: if flavor == Flavor::V2 { 80 } else { usize::MAX },
        in_sequence_item: false,
    };
    e.node(
        node,
        Ctx {
            mapping: false,
            simple_key: false,
            root: true,
        },
    );
    e.write_indent();
    e.out
}

#[derive(Clone, Copy)]
struct Ctx {
    mapping: bool,
    simple_key: bool,
    root: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }
    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }
    /// Writes a break character of the text as libyaml does (`\n` as a newline, the other
    /// breaks as they are) and starts a new line.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
        self.indention = true;
    }
    fn write_str(&mut self, s: &str) {
        self.out.push_str(s);
        self.column += s.chars().count();
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { 2 } else { 0 };
        } else if !indentless {
            self.indent += 2;
        }
    }
    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, ind: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.write_str(ind);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn node(&mut self, node: &Node, ctx: Ctx) {
        let _ = ctx.root;
        match node {
            Node::Scalar(s, style) => self.scalar(s, *style, ctx),
            Node::Seq(items) => {
                if items.is_empty() {
                    self.write_indicator("[", true, true, false);
                    self.write_indicator("]", false, false, false);
                    return;
                }
                let indentless = self.flavor == Flavor::V2 && ctx.mapping && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    let saved = self.in_sequence_item;
                    self.in_sequence_item = true;
                    self.node(
                        item,
                        Ctx {
                            mapping: false,
                            simple_key: false,
                            root: false,
                        },
                    );
                    self.in_sequence_item = saved;
                }
                self.pop_indent();
            }
            Node::Map(entries) => {
                if entries.is_empty() {
                    self.write_indicator("{", true, true, false);
                    self.write_indicator("}", false, false, false);
                    return;
                }
                self.increase_indent(false, false);
                for (k, v) in entries {
                    self.write_indent();
                    let simple = match k {
                        Node::Scalar(s, _) => s.len() <= 128 && !analyze(s, self.flavor).multiline,
                        _ => false,
                    };
                    self.in_sequence_item = false;
                    if simple {
                        self.node(
                            k,
                            Ctx {
                                mapping: true,
                                simple_key: true,
                                root: false,
                            },
                        );
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.node(
                            k,
                            Ctx {
                                mapping: true,
                                simple_key: false,
                                root: false,
                            },
                        );
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.in_sequence_item = false;
                    self.node(
                        v,
                        Ctx {
                            mapping: true,
                            simple_key: false,
                            root: false,
                        },
                    );
                }
                self.pop_indent();
            }
        }
    }

    fn select_style(&self, a: &Analysis, style: Style, ctx: Ctx, empty: bool) -> Written {
        let mut w = match style {
            Style::Plain => Written::Plain,
            Style::Double => Written::Double,
            Style::Literal => Written::Literal,
        };
        if ctx.simple_key && a.multiline {
            w = Written::Double;
        }
        if w == Written::Plain && (!a.block_plain_allowed || (empty && ctx.simple_key)) {
            w = Written::Single;
        }
        if w == Written::Single && !a.single_quoted_allowed {
            w = Written::Double;
        }
        if w == Written::Literal && (!a.block_allowed || ctx.simple_key) {
            w = Written::Double;
        }
        w
    }

    fn scalar(&mut self, s: &str, style: Style, ctx: Ctx) {
        let a = analyze(s, self.flavor);
        let written = self.select_style(&a, style, ctx, s.is_empty());
        // v3 aligns a scalar's continuation lines differently inside sequence items only
        // through the block indent; scalars take parent + 2.
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match written {
            Written::Plain => self.write_plain(s, allow_breaks),
            Written::Single => self.write_single(s, allow_breaks),
            Written::Double => self.write_double(s, allow_breaks),
            Written::Literal => self.write_literal(s),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, s: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        // No line can be broken when the scalar has no space or ends before the width:
        // the text as it is.
        if !allow_breaks || !s.contains(' ') || self.column + s.len() <= self.best_width {
            self.write_str(s);
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let mut spaces = false;
        for (i, c) in s.char_indices() {
            if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && !s[i + 1..].starts_with(' ') {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        for (i, c) in s.char_indices() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i + 1 < s.len()
                    && !s[i + 1..].starts_with(' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let mut spaces = false;
        for (i, c) in s.char_indices() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let esc = match c {
                    '\0' => Some('0'),
                    '\u{7}' => Some('a'),
                    '\u{8}' => Some('b'),
                    '\t' => Some('t'),
                    '\n' => Some('n'),
                    '\u{b}' => Some('v'),
                    '\u{c}' => Some('f'),
                    '\r' => Some('r'),
                    '\u{1b}' => Some('e'),
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '\u{85}' => Some('N'),
                    '\u{a0}' => Some('_'),
                    '\u{2028}' => Some('L'),
                    '\u{2029}' => Some('P'),
                    _ => None,
                };
                match esc {
                    Some(e) => self.put(e),
                    None => {
                        let v = c as u32;
                        let text = if v <= 0xFF {
                            format!("x{v:02X}")
                        } else if v <= 0xFFFF {
                            format!("u{v:04X}")
                        } else {
                            format!("U{v:08X}")
                        };
                        self.write_str(&text);
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && i > 0 && i + 1 < s.len() {
                    self.write_indent();
                    if s[i + 1..].starts_with(' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, s: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator when the text starts with a space or
        // a break, a chomping indicator from its trailing breaks.
        let first = s.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            self.write_indicator("2", false, false, false);
        }
        let mut rev = s.chars().rev();
        let last = rev.next();
        let chomp = match last {
            None => Some("-"),
            Some(c) if !is_break(c) => Some("-"),
            Some(_) => match rev.next() {
                None => Some("+"),
                Some(c) if is_break(c) => Some("+"),
                Some(_) => None,
            },
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        // Line by line: the text between two breaks as it is, each line (which always
        // follows the header's break or a break of the text) indented first.
        let mut rest = s;
        while !rest.is_empty() {
            let end = rest.find(is_break).unwrap_or(rest.len());
            if end > 0 {
                self.write_indent();
                self.write_str(&rest[..end]);
                self.indention = false;
            }
            let Some(c) = rest[end..].chars().next() else { break };
            self.write_break(c);
            rest = &rest[end + c.len_utf8()..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut answers as the character-by-character analysis does.
    #[test]
    fn inert_words_analyse_as_libyaml_does() {
        let words = [
            "redis",
            "bitnami/redis",
            "8.2.1-debian-12-r0",
            "a-",
            "a.",
            "x_y",
            "0",
            "1e3",
            "true",
            "null",
            "-",
            "-a",
            ".",
            "...",
            "---",
            "a b",
            "a:b",
            "a: b",
            "a#b",
            "a #b",
            "é",
            "a\tb",
            "a\n",
            "",
        ];
        for w in words {
            for flavor in [Flavor::V2, Flavor::V3] {
                assert_eq!(analyze(w, flavor), analyze_chars(w, flavor), "{w:?}");
            }
        }
    }
}
