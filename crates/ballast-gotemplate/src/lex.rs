//! The lexer: template text into items, with Go's rules for delimiters, trim markers
//! (`{{- ` and ` -}}`, the space is required), comments, quoted strings, numbers and keywords.
//!
//! The whole input is lexed eagerly into a caller's buffer (a set reuses one for all its
//! parses); an error item ends the stream, its message kept beside the items ([`lex`]'s result)
//! so that items stay plain 16-byte records of where their text is in the input.

/// The kind of a lexed item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Error,
    Bool,
    Char,
    CharConstant,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Tok {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Tok::Block
                | Tok::Break
                | Tok::Continue
                | Tok::Dot
                | Tok::Define
                | Tok::Else
                | Tok::End
                | Tok::If
                | Tok::Nil
                | Tok::Range
                | Tok::Template
                | Tok::With
        )
    }
}

/// One lexed item: its kind, where its text is in the input, and its 1-based line. The text
/// itself is [`Item::val`] of the input (empty for [`Tok::Error`]: the message is `lex`'s).
///
/// White space inside an action is not an item of its own (Go's `itemSpace`) but a mark on the
/// item after it: the parser needs it only to split operands (`f .a .b`, not `f .a.b`), and a
/// third of an action's items were spaces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub typ: Tok,
    /// White space comes between this item and the one before it in the same action.
    pub space_before: bool,
    line: u32,
    pos: u32,
    len: u32,
}

impl Item {
    /// The byte offset of the item in the input.
    pub fn pos(&self) -> usize {
        self.pos as usize
    }
    /// The byte offset just past the item.
    pub fn end(&self) -> usize {
        self.pos as usize + self.len as usize
    }
    /// The 1-based line the item starts on.
    pub fn line(&self) -> usize {
        self.line as usize
    }
    /// The item's text: its slice of `input`, the text it was lexed from.
    pub fn val<'s>(&self, input: &'s str) -> &'s str {
        input.get(self.pos()..self.end()).unwrap_or_default()
    }

    /// Go's `item.String()`, used in "unexpected ..." parse errors, for an item of `input` (an
    /// `Error` item's message is the lexer's, written by the caller).
    pub fn describe(&self, input: &str) -> String {
        let val = self.val(input);
        match self.typ {
            Tok::Eof => "EOF".into(),
            Tok::Error => val.into(),
            t if t.is_keyword() => format!("<{val}>"),
            _ if val.chars().count() > 10 => {
                let short: String = val.chars().take(10).collect();
                format!("{}...", crate::fmt::quote(&short))
            }
            _ => crate::fmt::quote(val),
        }
    }
}

/// The largest input the lexer takes: item offsets are 32-bit (chart archives are limited far
/// below this).
const MAX_INPUT: usize = u32::MAX as usize;

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

/// The offset of the first `{{` in `s` (a SIMD search for the pair: text is mostly long runs
/// without delimiters, and JSON-heavy text has many single `{`).
fn find_left_delim(s: &str) -> Option<usize> {
    LEFT_FINDER.find(s.as_bytes())
}

/// The search for `{{`.
static LEFT_FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(LEFT));

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1])
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0]) && b[1] == b'-'
}

fn keyword(word: &str) -> Option<Tok> {
    Some(match word {
        "block" => Tok::Block,
        "break" => Tok::Break,
        "continue" => Tok::Continue,
        "define" => Tok::Define,
        "else" => Tok::Else,
        "end" => Tok::End,
        "if" => Tok::If,
        "range" => Tok::Range,
        "nil" => Tok::Nil,
        "template" => Tok::Template,
        "with" => Tok::With,
        _ => return None,
    })
}

struct Lexer<'s, 'b> {
    input: &'s str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: i32,
    /// White space was skipped since the last item (see [`Item::space_before`]).
    space: bool,
    items: &'b mut Vec<Item>,
    error: String,
}

/// Lexes `input` into `items` (cleared first), ending with `Eof` or `Error`; returns the message
/// of that error (empty after `Eof`).
pub(crate) fn lex(input: &str, items: &mut Vec<Item>) -> String {
    items.clear();
    if input.len() > MAX_INPUT {
        items.push(Item {
            typ: Tok::Error,
            space_before: false,
            line: 1,
            pos: 0,
            len: 0,
        });
        return format!("template of {} bytes is larger than {MAX_INPUT} bytes", input.len());
    }
    // At most about a dozen items per action (with the text before it) in public charts:
    // reserved once rather than grown (only the pages written are ever touched).
    items.reserve(LEFT_FINDER.find_iter(input.as_bytes()).count() * 12 + 4);
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        line: 1,
        start_line: 1,
        paren_depth: 0,
        space: false,
        items,
        error: String::new(),
    };
    l.run();
    l.error
}

impl<'s> Lexer<'s, '_> {
    fn rest(&self) -> &'s str {
        &self.input[self.pos..]
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }
    fn backup(&mut self, c: Option<char>) {
        if let Some(c) = c {
            self.pos -= c.len_utf8();
            if c == '\n' {
                self.line -= 1;
            }
        }
    }
    /// Pushes an item of `len` bytes from `start`, taking the white-space mark.
    fn push(&mut self, typ: Tok, len: usize) {
        // Offsets and lines fit in 32 bits: `lex` takes no input longer than MAX_INPUT.
        self.items.push(Item {
            typ,
            space_before: std::mem::take(&mut self.space),
            line: self.start_line as u32,
            pos: self.start as u32,
            len: len as u32,
        });
    }
    fn emit(&mut self, typ: Tok) {
        self.push(typ, self.pos - self.start);
        self.start = self.pos;
        self.start_line = self.line;
    }
    fn ignore(&mut self) {
        self.start = self.pos;
        self.start_line = self.line;
    }
    /// Moves to `pos` by skipping (not via next), counting newlines.
    fn skip_to(&mut self, pos: usize) {
        self.line += self.input.as_bytes()[self.pos..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = pos;
    }
    fn error(&mut self, msg: String) {
        self.push(Tok::Error, 0);
        self.error = msg;
    }
    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }
    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn run(&mut self) {
        loop {
            if !self.lex_text() {
                return;
            }
            if !self.lex_left_delim() {
                return;
            }
        }
    }

    /// Lexes text up to the next `{{`; false at the end of input.
    fn lex_text(&mut self) -> bool {
        if let Some(x) = find_left_delim(self.rest()) {
            if x > 0 {
                let delim = self.pos + x;
                let mut text_end = delim;
                if has_left_trim(&self.input[delim + LEFT.len()..]) {
                    let t = &self.input[self.start..delim];
                    text_end = self.start + t.trim_end_matches([' ', '\t', '\r', '\n']).len();
                }
                self.skip_to(text_end);
                if self.pos > self.start {
                    self.emit(Tok::Text);
                }
                self.skip_to(delim);
                self.ignore();
            }
            true
        } else {
            self.skip_to(self.input.len());
            if self.pos > self.start {
                self.emit(Tok::Text);
            }
            self.emit(Tok::Eof);
            false
        }
    }

    /// At `{{`: lexes a comment or an action; false when lexing must stop.
    fn lex_left_delim(&mut self) -> bool {
        self.pos += LEFT.len();
        let trim = has_left_trim(self.rest());
        let after = if trim { 2 } else { 0 };
        if self.input[self.pos + after..].starts_with("/*") {
            self.skip_to(self.pos + after);
            self.ignore();
            return self.lex_comment();
        }
        self.emit(Tok::LeftDelim);
        self.skip_to(self.pos + after);
        self.ignore();
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn lex_comment(&mut self) -> bool {
        self.pos += 2;
        let Some(x) = self.rest().find("*/") else {
            self.error("unclosed comment".into());
            return false;
        };
        self.skip_to(self.pos + x + 2);
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".into());
            return false;
        }
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT.len();
        if trim {
            let rest = self.rest();
            let n = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
            self.skip_to(self.pos + n);
        }
        self.ignore();
        true
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn lex_right_delim(&mut self) {
        let trim = has_right_trim(self.rest());
        if trim {
            self.skip_to(self.pos + 2);
            self.ignore();
        }
        self.pos += RIGHT.len();
        self.emit(Tok::RightDelim);
        if trim {
            let rest = self.rest();
            let n = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
            self.skip_to(self.pos + n);
            self.ignore();
        }
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if c.is_ascii() && is_space(c as u8) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    /// Lexes the inside of an action up to and including `}}`; false when lexing must stop.
    fn lex_inside_action(&mut self) -> bool {
        loop {
            let (delim, _) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.lex_right_delim();
                    return true;
                }
                self.error("unclosed left paren".into());
                return false;
            }
            let r = self.next();
            match r {
                None => {
                    self.error("unclosed action".into());
                    return false;
                }
                Some(c) if c.is_ascii() && is_space(c as u8) => {
                    self.backup(r);
                    self.lex_space();
                }
                Some('=') => self.emit(Tok::Assign),
                Some(':') => {
                    if self.next() != Some('=') {
                        self.error("expected :=".into());
                        return false;
                    }
                    self.emit(Tok::Declare);
                }
                Some('|') => self.emit(Tok::Pipe),
                Some('"') => {
                    if !self.lex_quote() {
                        return false;
                    }
                }
                Some('`') => {
                    if !self.lex_raw_quote() {
                        return false;
                    }
                }
                Some('$') => {
                    if !self.lex_variable() {
                        return false;
                    }
                }
                Some('\'') => {
                    if !self.lex_char() {
                        return false;
                    }
                }
                Some('.') => {
                    let next_is_digit = self.peek().is_some_and(|c| c.is_ascii_digit());
                    if !next_is_digit {
                        if !self.lex_field_or_variable(Tok::Field) {
                            return false;
                        }
                    } else {
                        self.backup(r);
                        if !self.lex_number() {
                            return false;
                        }
                    }
                }
                Some(c) if c == '+' || c == '-' || c.is_ascii_digit() => {
                    self.backup(r);
                    if !self.lex_number() {
                        return false;
                    }
                }
                Some(c) if is_alnum(c) => {
                    self.backup(r);
                    if !self.lex_identifier() {
                        return false;
                    }
                }
                Some('(') => {
                    self.emit(Tok::LeftParen);
                    self.paren_depth += 1;
                }
                Some(')') => {
                    self.emit(Tok::RightParen);
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        self.error("unexpected right paren".into());
                        return false;
                    }
                }
                Some(c) if c.is_ascii() && !c.is_ascii_control() => self.emit(Tok::Char),
                Some(c) => {
                    self.error(format!("unrecognized character in action: {}", go_unicode(c)));
                    return false;
                }
            }
        }
    }

    /// A run of white space: marks the next item (Go emits a space item here), except for the
    /// one space of a ` -}}` trim marker.
    fn lex_space(&mut self) {
        let start = self.pos;
        let end = start
            + self.input.as_bytes()[start..]
                .iter()
                .take_while(|&&b| is_space(b))
                .count();
        self.skip_to(end);
        let before = &self.input[self.pos - 1..];
        if has_right_trim(before) && before[2..].starts_with(RIGHT) {
            let c = self.input[..self.pos].chars().next_back();
            self.backup(c);
            if end - start == 1 {
                return;
            }
        }
        self.space = true;
        self.ignore();
    }

    fn lex_identifier(&mut self) -> bool {
        loop {
            // ASCII letters, digits and `_` a byte at a time (none is a newline); any other
            // letter or digit a character at a time.
            let ascii = self
                .rest()
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_');
            self.pos += ascii.count();
            match self.peek() {
                Some(c) if !c.is_ascii() && is_alnum(c) => {
                    self.next();
                }
                _ => break,
            }
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            self.error(format!("bad character {}", go_unicode(c)));
            return false;
        }
        let word = &self.input[self.start..self.pos];
        if let Some(k) = keyword(word) {
            self.emit(k);
        } else if word == "true" || word == "false" {
            self.emit(Tok::Bool);
        } else {
            self.emit(Tok::Identifier);
        }
        true
    }

    fn lex_variable(&mut self) -> bool {
        if self.at_terminator() {
            self.emit(Tok::Variable);
            return true;
        }
        self.lex_field_or_variable(Tok::Variable)
    }

    fn lex_field_or_variable(&mut self, typ: Tok) -> bool {
        if self.at_terminator() {
            self.emit(if typ == Tok::Variable { Tok::Variable } else { Tok::Dot });
            return true;
        }
        loop {
            // ASCII letters, digits and `_` a byte at a time (none is a newline); any other
            // letter or digit a character at a time.
            let ascii = self
                .rest()
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_');
            self.pos += ascii.count();
            match self.peek() {
                Some(c) if !c.is_ascii() && is_alnum(c) => {
                    self.next();
                }
                _ => break,
            }
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            self.error(format!("bad character {}", go_unicode(c)));
            return false;
        }
        self.emit(typ);
        true
    }

    fn lex_char(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    None | Some('\n') => {
                        self.error("unterminated character constant".into());
                        return false;
                    }
                    _ => {}
                },
                None | Some('\n') => {
                    self.error("unterminated character constant".into());
                    return false;
                }
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(Tok::CharConstant);
        true
    }

    fn lex_number(&mut self) -> bool {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            self.error(format!("bad number syntax: {}", crate::fmt::quote(&text)));
            return false;
        }
        self.emit(Tok::Number);
        true
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    None | Some('\n') => {
                        self.error("unterminated quoted string".into());
                        return false;
                    }
                    _ => {}
                },
                None | Some('\n') => {
                    self.error("unterminated quoted string".into());
                    return false;
                }
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(Tok::String);
        true
    }

    fn lex_raw_quote(&mut self) -> bool {
        let Some(x) = self.rest().find('`') else {
            self.error("unterminated raw quoted string".into());
            return false;
        };
        self.skip_to(self.pos + x + 1);
        self.emit(Tok::RawString);
        true
    }
}

/// Go's `%#U`: `U+0023 '#'`.
fn go_unicode(c: char) -> String {
    if crate::fmt::is_go_printable(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Tok, String)> {
        let mut items = Vec::new();
        lex(s, &mut items);
        items.into_iter().map(|i| (i.typ, i.val(s).to_string())).collect()
    }

    #[test]
    fn trims_and_comments() {
        let k = kinds("a  {{- 3 -}}  b{{/* c */}}d");
        assert_eq!(
            k,
            vec![
                (Tok::Text, "a".into()),
                (Tok::LeftDelim, "{{".into()),
                (Tok::Number, "3".into()),
                (Tok::RightDelim, "}}".into()),
                (Tok::Text, "b".into()),
                (Tok::Text, "d".into()),
                (Tok::Eof, "".into()),
            ]
        );
    }

    /// White space in an action marks the item after it; the one space of ` -}}` does not.
    #[test]
    fn white_space_marks_the_next_item() {
        let input = "{{ .a  .b.c\n| f -}} x {{ 1 -}}";
        let mut items = Vec::new();
        assert_eq!(lex(input, &mut items), "");
        let marks: Vec<(Tok, &str, bool, usize)> = items
            .iter()
            .map(|i| (i.typ, i.val(input), i.space_before, i.line()))
            .collect();
        assert_eq!(
            marks,
            vec![
                (Tok::LeftDelim, "{{", false, 1),
                (Tok::Field, ".a", true, 1),
                (Tok::Field, ".b", true, 1),
                (Tok::Field, ".c", false, 1),
                (Tok::Pipe, "|", true, 2),
                (Tok::Identifier, "f", true, 2),
                (Tok::RightDelim, "}}", false, 2),
                (Tok::Text, "x ", false, 2),
                (Tok::LeftDelim, "{{", false, 2),
                (Tok::Number, "1", true, 2),
                (Tok::RightDelim, "}}", false, 2),
                (Tok::Eof, "", false, 2),
            ]
        );
        // A lexing error after white space keeps the mark (the parser's error line needs it).
        lex("{{ .a \nend\"", &mut items);
        assert!(items.last().is_some_and(|i| i.typ == Tok::Error && i.space_before));
    }

    #[test]
    fn negative_number_without_space() {
        let k = kinds("{{-3}}");
        assert_eq!(k[1], (Tok::Number, "-3".into()));
    }
}
