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

/// One lexed item: its kind and where its text is in the input. The text itself is
/// [`Item::val`] of the input (empty for [`Tok::Error`]: the message is `lex`'s); its line is
/// [`line_at`] its offset (Go's item line is always the line its text starts on, so it is
/// counted only when an error needs it, not kept for every item).
///
/// White space inside an action is not an item of its own (Go's `itemSpace`) but a mark on the
/// item after it: the parser needs it only to split operands (`f .a .b`, not `f .a.b`), and a
/// third of an action's items were spaces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub typ: Tok,
    /// White space comes between this item and the one before it in the same action.
    pub space_before: bool,
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
    /// The 1-based line the item starts on in `input`, the text it was lexed from.
    pub fn line(&self, input: &str) -> usize {
        line_at(input, self.pos())
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

/// The 1-based line of byte `pos` of `input`.
pub(crate) fn line_at(input: &str, pos: usize) -> usize {
    let before = input.as_bytes().get(..pos).unwrap_or(input.as_bytes());
    1 + memchr::memchr_iter(b'\n', before).count()
}

/// The largest input the lexer takes: item offsets are 32-bit (chart archives are limited far
/// below this).
const MAX_INPUT: usize = u32::MAX as usize;

const LEFT: &str = "{{";
const RIGHT: &[u8] = b"}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

/// ASCII letters, digits and `_`: the bytes of a word that need no decoding.
fn is_word_byte(b: u8) -> bool {
    WORD_BYTES[b as usize]
}

/// [`is_word_byte`] by byte value (words are most of what an action holds).
static WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    table
};

/// The offset of the first `{{` in `s` (a SIMD search for the pair: text is mostly long runs
/// without delimiters, and JSON-heavy text has many single `{`).
fn find_left_delim(s: &[u8]) -> Option<usize> {
    LEFT_FINDER.find(s)
}

/// The search for `{{`.
static LEFT_FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(LEFT));

fn has_left_trim(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == b'-' && is_space(b[1])
}

fn has_right_trim(b: &[u8]) -> bool {
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

/// The lexer's state. It steps through the input a byte at a time: every byte Go's grammar
/// treats specially is ASCII, and a byte of a multi-byte character is never ASCII, so only a
/// non-ASCII character where a letter may stand (a word, an error message) is decoded.
struct Lexer<'s, 'b> {
    input: &'s str,
    pos: usize,
    start: usize,
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
        paren_depth: 0,
        space: false,
        items,
        error: String::new(),
    };
    l.run();
    l.error
}

impl<'s> Lexer<'s, '_> {
    /// The input as bytes (what the lexer steps through).
    fn bytes(&self) -> &'s [u8] {
        self.input.as_bytes()
    }
    fn rest(&self) -> &'s [u8] {
        &self.bytes()[self.pos..]
    }
    /// The byte at `pos + ahead`, if any.
    fn byte(&self, ahead: usize) -> Option<u8> {
        self.bytes().get(self.pos + ahead).copied()
    }
    /// The character at `pos` (decoded: it may be any character).
    fn peek_char(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }
    /// Pushes an item of `len` bytes from `start`, taking the white-space mark.
    fn push(&mut self, typ: Tok, len: usize) {
        // Offsets fit in 32 bits: `lex` takes no input longer than MAX_INPUT.
        self.items.push(Item {
            typ,
            space_before: std::mem::take(&mut self.space),
            pos: self.start as u32,
            len: len as u32,
        });
    }
    fn emit(&mut self, typ: Tok) {
        self.push(typ, self.pos - self.start);
        self.start = self.pos;
    }
    /// Moves one byte on and emits an item of it.
    fn emit_byte(&mut self, typ: Tok) {
        self.pos += 1;
        self.emit(typ);
    }
    fn ignore(&mut self) {
        self.start = self.pos;
    }
    fn error(&mut self, msg: String) {
        self.push(Tok::Error, 0);
        self.error = msg;
    }
    /// Moves past the next byte if it is one of `valid` (all ASCII).
    fn accept(&mut self, valid: &[u8]) -> bool {
        match self.byte(0) {
            Some(b) if valid.contains(&b) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }
    fn accept_run(&mut self, valid: &[u8]) {
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
                if has_left_trim(&self.bytes()[delim + LEFT.len()..]) {
                    let t = &self.input[self.start..delim];
                    text_end = self.start + t.trim_end_matches([' ', '\t', '\r', '\n']).len();
                }
                self.pos = text_end;
                if self.pos > self.start {
                    self.emit(Tok::Text);
                }
                self.pos = delim;
                self.ignore();
            }
            true
        } else {
            self.pos = self.input.len();
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
        if self.bytes()[self.pos + after..].starts_with(b"/*") {
            self.pos += after;
            self.ignore();
            return self.lex_comment();
        }
        self.emit(Tok::LeftDelim);
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn lex_comment(&mut self) -> bool {
        self.pos += 2;
        let Some(x) = memchr::memmem::find(self.rest(), b"*/") else {
            self.error("unclosed comment".into());
            return false;
        };
        self.pos += x + 2;
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
            self.skip_space_run();
        }
        self.ignore();
        true
    }

    /// Moves past a run of white space.
    fn skip_space_run(&mut self) {
        self.pos += self.rest().iter().take_while(|&&b| is_space(b)).count();
    }

    /// Whether `}}` (or ` -}}`) comes next, and whether it is trimmed.
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn lex_right_delim(&mut self, trim: bool) {
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += RIGHT.len();
        self.emit(Tok::RightDelim);
        if trim {
            self.skip_space_run();
            self.ignore();
        }
    }

    fn at_terminator(&self) -> bool {
        match self.byte(0) {
            None => true,
            Some(b) if is_space(b) => true,
            Some(b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    /// Lexes the inside of an action up to and including `}}`; false when lexing must stop.
    fn lex_inside_action(&mut self) -> bool {
        loop {
            let Some(b) = self.byte(0) else {
                self.error("unclosed action".into());
                return false;
            };
            if b == b'}' || is_space(b) {
                let (delim, trim) = self.at_right_delim();
                if delim {
                    if self.paren_depth == 0 {
                        self.lex_right_delim(trim);
                        return true;
                    }
                    self.error("unclosed left paren".into());
                    return false;
                }
            }
            let ok = match b {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    self.lex_space();
                    true
                }
                b'=' => {
                    self.emit_byte(Tok::Assign);
                    true
                }
                b':' => {
                    if self.byte(1) != Some(b'=') {
                        self.error("expected :=".into());
                        return false;
                    }
                    self.pos += 2;
                    self.emit(Tok::Declare);
                    true
                }
                b'|' => {
                    self.emit_byte(Tok::Pipe);
                    true
                }
                b'"' => self.lex_quote(),
                b'`' => self.lex_raw_quote(),
                b'$' => {
                    self.pos += 1;
                    self.lex_variable()
                }
                b'\'' => self.lex_char(),
                b'.' => {
                    if self.byte(1).is_some_and(|c| c.is_ascii_digit()) {
                        self.lex_number()
                    } else {
                        self.pos += 1;
                        self.lex_field_or_variable(Tok::Field)
                    }
                }
                b'+' | b'-' | b'0'..=b'9' => self.lex_number(),
                b'(' => {
                    self.emit_byte(Tok::LeftParen);
                    self.paren_depth += 1;
                    true
                }
                b')' => {
                    self.emit_byte(Tok::RightParen);
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        self.error("unexpected right paren".into());
                        return false;
                    }
                    true
                }
                _ if is_word_byte(b) => self.lex_identifier(),
                _ if b.is_ascii() && !b.is_ascii_control() => {
                    self.emit_byte(Tok::Char);
                    true
                }
                _ => {
                    let c = self.peek_char().unwrap_or('\0');
                    if is_alnum(c) {
                        self.lex_identifier()
                    } else {
                        self.error(format!("unrecognized character in action: {}", go_unicode(c)));
                        false
                    }
                }
            };
            if !ok {
                return false;
            }
        }
    }

    /// A run of white space: marks the next item (Go emits a space item here), except for the
    /// one space of a ` -}}` trim marker.
    fn lex_space(&mut self) {
        let start = self.pos;
        self.skip_space_run();
        let end = self.pos;
        let before = &self.bytes()[self.pos - 1..];
        if has_right_trim(before) && before[2..].starts_with(RIGHT) {
            // The last space is the trim marker's (a space is one byte).
            self.pos -= 1;
            if end - start == 1 {
                return;
            }
        }
        self.space = true;
        self.ignore();
    }

    /// Moves past a word: letters, digits and `_` (ASCII a byte at a time, any other letter or
    /// digit a character at a time).
    fn skip_word(&mut self) {
        loop {
            let bytes = self.bytes();
            let mut pos = self.pos;
            while pos < bytes.len() && is_word_byte(bytes[pos]) {
                pos += 1;
            }
            self.pos = pos;
            match self.byte(0) {
                Some(b) if !b.is_ascii() => match self.peek_char() {
                    Some(c) if is_alnum(c) => self.pos += c.len_utf8(),
                    _ => break,
                },
                _ => break,
            }
        }
    }

    /// After a word: an error unless a terminator comes next.
    fn end_word(&mut self) -> bool {
        if self.at_terminator() {
            return true;
        }
        let c = self.peek_char().unwrap_or('\0');
        self.error(format!("bad character {}", go_unicode(c)));
        false
    }

    fn lex_identifier(&mut self) -> bool {
        self.skip_word();
        if !self.end_word() {
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

    /// After `$`.
    fn lex_variable(&mut self) -> bool {
        if self.at_terminator() {
            self.emit(Tok::Variable);
            return true;
        }
        self.lex_field_or_variable(Tok::Variable)
    }

    /// After `.` (a field) or `$` (a variable).
    fn lex_field_or_variable(&mut self, typ: Tok) -> bool {
        if self.at_terminator() {
            self.emit(if typ == Tok::Variable { Tok::Variable } else { Tok::Dot });
            return true;
        }
        self.skip_word();
        if !self.end_word() {
            return false;
        }
        self.emit(typ);
        true
    }

    /// At `'`.
    fn lex_char(&mut self) -> bool {
        self.pos += 1;
        loop {
            match self.byte(0) {
                Some(b'\\') => {
                    self.pos += 1;
                    match self.byte(0) {
                        None | Some(b'\n') => {
                            self.error("unterminated character constant".into());
                            return false;
                        }
                        _ => self.pos += 1,
                    }
                }
                None | Some(b'\n') => {
                    self.error("unterminated character constant".into());
                    return false;
                }
                Some(b'\'') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
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
        const DECIMAL: &[u8] = b"0123456789_";
        const HEX: &[u8] = b"0123456789abcdefABCDEF_";
        self.accept(b"+-");
        let mut digits = DECIMAL;
        if self.accept(b"0") {
            if self.accept(b"xX") {
                digits = HEX;
            } else if self.accept(b"oO") {
                digits = b"01234567_";
            } else if self.accept(b"bB") {
                digits = b"01_";
            }
        }
        self.accept_run(digits);
        if self.accept(b".") {
            self.accept_run(digits);
        }
        if digits.len() == DECIMAL.len() && self.accept(b"eE") {
            self.accept(b"+-");
            self.accept_run(DECIMAL);
        }
        if digits.len() == HEX.len() && self.accept(b"pP") {
            self.accept(b"+-");
            self.accept_run(DECIMAL);
        }
        self.accept(b"i");
        if let Some(c) = self.peek_char().filter(|c| is_alnum(*c)) {
            self.pos += c.len_utf8();
            return false;
        }
        true
    }

    /// At `"`: a search for the bytes that end or escape a string.
    fn lex_quote(&mut self) -> bool {
        self.pos += 1;
        loop {
            let Some(x) = memchr::memchr3(b'"', b'\\', b'\n', self.rest()) else {
                self.pos = self.input.len();
                self.error("unterminated quoted string".into());
                return false;
            };
            self.pos += x + 1;
            match self.bytes()[self.pos - 1] {
                b'"' => break,
                b'\\' => match self.byte(0) {
                    // The escaped character: if it is a multi-byte one, the search goes on
                    // from its second byte, which is never ASCII.
                    Some(c) if c != b'\n' => self.pos += 1,
                    _ => {
                        self.error("unterminated quoted string".into());
                        return false;
                    }
                },
                _ => {
                    self.error("unterminated quoted string".into());
                    return false;
                }
            }
        }
        self.emit(Tok::String);
        true
    }

    /// At `` ` ``.
    fn lex_raw_quote(&mut self) -> bool {
        self.pos += 1;
        let Some(x) = memchr::memchr(b'`', self.rest()) else {
            self.error("unterminated raw quoted string".into());
            return false;
        };
        self.pos += x + 1;
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
            .map(|i| (i.typ, i.val(input), i.space_before, i.line(input)))
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

    /// Multi-byte characters: letters in words, anything in strings, an error where neither;
    /// lines are those of each item's first byte.
    #[test]
    fn characters_of_more_than_one_byte() {
        let input = "é{{ aé٣ .é $é \"a\\\"é\\é\" 'é' `€\n` }}\n{{ 1 € }}";
        let mut items = Vec::new();
        assert_eq!(lex(input, &mut items), "unrecognized character in action: U+20AC '€'");
        let got: Vec<(Tok, &str, usize)> = items.iter().map(|i| (i.typ, i.val(input), i.line(input))).collect();
        assert_eq!(
            got,
            vec![
                (Tok::Text, "é", 1),
                (Tok::LeftDelim, "{{", 1),
                (Tok::Identifier, "aé٣", 1),
                (Tok::Field, ".é", 1),
                (Tok::Variable, "$é", 1),
                (Tok::String, "\"a\\\"é\\é\"", 1),
                (Tok::CharConstant, "'é'", 1),
                (Tok::RawString, "`€\n`", 1),
                (Tok::RightDelim, "}}", 2),
                (Tok::Text, "\n", 2),
                (Tok::LeftDelim, "{{", 3),
                (Tok::Number, "1", 3),
                (Tok::Error, "", 3),
            ]
        );
        assert_eq!(lex("{{ \"a\\", &mut items), "unterminated quoted string");
        assert_eq!(lex("{{ \"a\\\n\" }}", &mut items), "unterminated quoted string");
        assert_eq!(lex("{{ 1é }}", &mut items), "bad number syntax: \"1é\"");
        assert_eq!(lex("{{ aé€ }}", &mut items), "bad character U+20AC '€'");
    }

    #[test]
    fn negative_number_without_space() {
        let k = kinds("{{-3}}");
        assert_eq!(k[1], (Tok::Number, "-3".into()));
    }
}
