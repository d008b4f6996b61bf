//! The parser: items into trees (Go's `text/template/parse`), one per template name: the file
//! itself and each `define`/`block` in it. Function names are checked against the builtins and
//! the [`FuncMap`] at parse time, variables against the declarations in scope.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;

use crate::builtins::Builtin;
use crate::func::{Func, FuncMap};
use crate::lex::{Item, Tok, lex};
use crate::value::Value;

/// A parsed template: its name, the file it came from (with the whole text, for positions),
/// and its body.
pub(crate) struct Tree {
    pub name: Rc<str>,
    pub source: Rc<Source>,
    /// Shared by the trees of files with the same text (see [`Interner`]).
    pub root: Rc<Vec<Node>>,
}

/// The text a tree was parsed from, for line and column numbers in errors.
pub(crate) struct Source {
    pub parse_name: String,
    /// Shared by the sources of files of the same text (see [`Interner`]).
    pub text: Rc<String>,
}

impl Source {
    /// Go's `ErrorContext` location: `name:line:col`, col the 0-based byte offset in its line.
    pub fn line_col(&self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.text.len());
        let before = &self.text.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        let col = match before.iter().rposition(|b| *b == b'\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        (line, col)
    }
}

/// Literal text of a template: a range of its shared source (no copy of its own).
pub(crate) struct Text {
    source: Rc<Source>,
    start: usize,
    end: usize,
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.source.text.get(self.start..self.end).unwrap_or_default()
    }
}

/// A node of a template body.
pub(crate) enum Node {
    Text(Text),
    Action(Pipe),
    If(Box<Branch>),
    With(Box<Branch>),
    Range(Box<Branch>),
    Template(Box<TemplateCall>),
    Break,
    Continue,
}

/// The parts of `if`, `with` and `range`.
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

/// `{{template "name" pipeline}}`.
pub(crate) struct TemplateCall {
    pub pos: usize,
    pub name: Rc<str>,
    pub pipe: Option<Pipe>,
}

/// A pipeline with its declarations: `$x := a | b c`.
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Rc<str>>,
    pub cmds: Vec<Cmd>,
}

/// One stage of a pipeline.
pub(crate) struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A function as resolved at parse time.
#[derive(Clone)]
pub(crate) enum Callee {
    Builtin(Builtin),
    Func(Func),
}

/// An operand. Its payloads are at most two words (shared constants behind `Rc`, the rare
/// chain boxed), so that an operand is 32 bytes: the parser moves each one twice (onto its
/// stack of operands, then into its command).
pub(crate) enum Arg {
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, Rc<Number>),
    String(usize, Rc<StrConst>),
    Field(usize, Names),
    Variable(usize, Names),
    Ident(usize, Rc<Ident>),
    Pipe(Box<Pipe>),
    Chain(usize, Box<Chain>),
}

// The size the parser's moves are tuned for (see [`Arg`]).
const _: () = assert!(std::mem::size_of::<Arg>() <= 32);

/// A function name as a template spells it, with what it resolved to when parsed (shared by
/// every call of that name in a set; a set's functions do not change).
pub(crate) struct Ident {
    pub name: Rc<str>,
    pub callee: Callee,
}

/// A string constant: its spelling (quoted, as error messages print it) and its value.
pub(crate) struct StrConst {
    pub quoted: Box<str>,
    pub value: Value,
}

/// Fields read from the result of a term that is not a field or variable: `(pipeline).a.b`.
pub(crate) struct Chain {
    pub node: Arg,
    pub fields: Names,
}

/// A chain of field or variable names (`.Values.image.tag`, `$x.a`), shared by every node that
/// spells the same chain (see [`Interner`]).
pub(crate) type Names = Rc<[Rc<str>]>;

/// What a set's parses share so that a name, a chain of names or a string constant spelt many
/// times (`.Values`, `"common.names.fullname"`) is allocated once: fewer allocations to parse
/// a chart, and fewer to free when its trees are dropped. Keys are the source spelling.
#[derive(Default)]
pub(crate) struct Interner {
    names: std::collections::HashSet<Rc<str>, FastHash>,
    chains: HashMap<Box<str>, Names, FastHash>,
    strings: HashMap<Box<str>, Rc<StrConst>, FastHash>,
    /// Identifiers (function names) with what each resolved to.
    idents: HashMap<Box<str>, Rc<Ident>, FastHash>,
    /// Number constants by their spelling (`4` of `nindent 4` is in most templates).
    numbers: HashMap<Box<str>, Rc<Number>, FastHash>,
    /// The lexer's item buffer, reused by each parse (its pages are touched once per set).
    items: Vec<Item>,
    /// The trees of each file parsed so far, by the length of its text (at most
    /// [`FILES_PER_LENGTH`] of a length): a file whose text another file of the set already had
    /// (a library chart vendored by several subcharts) gets trees of its own name and source
    /// that share that parse's bodies. A parse is pure: the same text and functions give the
    /// same bodies. Keyed by length rather than a hash of the text: most files have a length
    /// no other has and are never read whole a second time.
    files: HashMap<usize, Vec<ParsedFile>, FastHash>,
    /// Files by an identity their caller gives their text (the address and length of bytes
    /// that the pin, held here, keeps alive and unchanged): a file of a known identity is
    /// not read at all, not even compared.
    pinned: HashMap<(usize, usize), Pinned, FastHash>,
    /// The last file parsed, if its parse is one to keep (for [`pin_last`]).
    last: Option<ParsedFile>,
    /// The bytes of the texts of [`Interner::files`] and [`Interner::pinned`].
    file_bytes: usize,
}

/// A file of [`Interner::pinned`]: its parse, and what keeps its identity its own.
type Pinned = (ParsedFile, Rc<dyn std::any::Any>);

/// Most files of one length [`Interner::files`] keeps (and compares a new file of that length
/// with).
const FILES_PER_LENGTH: usize = 8;

/// A parsed file: its source, and its trees (the file's own last).
#[derive(Clone)]
struct ParsedFile {
    source: Rc<Source>,
    trees: Vec<Named>,
}

/// The interner's hasher: foldhash, several times cheaper than SipHash on the short names of
/// templates, still seeded per process.
pub(crate) type FastHash = foldhash::fast::RandomState;

/// Trees by template name (looked up at each `template` and `include`).
pub(crate) type TreeMap = HashMap<Rc<str>, Rc<Tree>, FastHash>;

impl Clone for Interner {
    /// The names, chains and strings; not the item buffer (scratch space of a parse).
    fn clone(&self) -> Interner {
        Interner {
            names: self.names.clone(),
            chains: self.chains.clone(),
            strings: self.strings.clone(),
            idents: self.idents.clone(),
            numbers: self.numbers.clone(),
            items: Vec::new(),
            files: self.files.clone(),
            pinned: self.pinned.clone(),
            last: None,
            file_bytes: self.file_bytes,
        }
    }
}

impl Interner {
    /// True if a file of this text was parsed with this interner (its parse is kept).
    pub(crate) fn knows(&self, text: &str) -> bool {
        self.files
            .get(&text.len())
            .is_some_and(|same_length| same_length.iter().any(|f| f.source.text.as_str() == text))
    }

    /// True if a file of this identity (see [`Interner::pinned`]) or of this text was parsed.
    pub(crate) fn knows_file(&self, text: &[u8], id: (usize, usize)) -> bool {
        self.pinned.contains_key(&id) || std::str::from_utf8(text).is_ok_and(|t| self.knows(t))
    }

    /// Drops the files kept by identity (and what their pins hold).
    pub(crate) fn unpin_all(&mut self) {
        self.file_bytes -= self.pinned.keys().map(|id| id.1).sum::<usize>();
        self.pinned.clear();
    }

    /// The bytes of the texts whose parse is kept.
    pub(crate) fn file_bytes(&self) -> usize {
        self.file_bytes
    }

    /// How many spellings (names, chains, strings, identifiers, numbers) are shared.
    pub(crate) fn spellings(&self) -> usize {
        self.names.len() + self.chains.len() + self.strings.len() + self.idents.len() + self.numbers.len()
    }

    /// The shared copy of `name`.
    fn name(&mut self, name: &str) -> Rc<str> {
        if let Some(n) = self.names.get(name) {
            return n.clone();
        }
        let n: Rc<str> = Rc::from(name);
        self.names.insert(n.clone());
        n
    }
}

/// A number constant: its text and the value Go gives it (`int` when it has no `.eEpP`,
/// `float64` otherwise), or the exec-time error for an integer out of int range.
pub(crate) struct Number {
    pub text: Box<str>,
    pub value: Result<Value, String>,
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Bool(p, _)
            | Arg::Number(p, _)
            | Arg::String(p, _)
            | Arg::Field(p, _)
            | Arg::Variable(p, _)
            | Arg::Ident(p, _)
            | Arg::Chain(p, _) => *p,
            Arg::Pipe(p) => p.pos,
        }
    }
}

/// Go's `Node.String()`, as error messages quote nodes.
pub(crate) trait GoString {
    fn write_go(&self, out: &mut String);
    fn go_string(&self) -> String {
        let mut s = String::new();
        self.write_go(&mut s);
        s
    }
}

impl GoString for Arg {
    fn write_go(&self, out: &mut String) {
        match self {
            Arg::Dot(_) => out.push('.'),
            Arg::Nil(_) => out.push_str("nil"),
            Arg::Bool(_, b) => out.push_str(if *b { "true" } else { "false" }),
            Arg::Number(_, n) => out.push_str(&n.text),
            Arg::String(_, c) => out.push_str(&c.quoted),
            Arg::Field(_, f) => {
                for x in f.iter() {
                    out.push('.');
                    out.push_str(x);
                }
            }
            Arg::Variable(_, v) => {
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    out.push_str(x);
                }
            }
            Arg::Ident(_, ident) => out.push_str(&ident.name),
            Arg::Pipe(p) => p.write_go(out),
            Arg::Chain(_, chain) => {
                let Chain { node, fields } = &**chain;
                if let Arg::Pipe(p) = node {
                    out.push('(');
                    p.write_go(out);
                    out.push(')');
                } else {
                    node.write_go(out);
                }
                for f in fields.iter() {
                    out.push('.');
                    out.push_str(f);
                }
            }
        }
    }
}

impl GoString for Cmd {
    fn write_go(&self, out: &mut String) {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if let Arg::Pipe(p) = a {
                out.push('(');
                p.write_go(out);
                out.push(')');
            } else {
                a.write_go(out);
            }
        }
    }
}

impl GoString for Pipe {
    fn write_go(&self, out: &mut String) {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(v);
            }
            out.push_str(if self.is_assign { " = " } else { " := " });
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            c.write_go(out);
        }
    }
}

impl GoString for TemplateCall {
    fn write_go(&self, out: &mut String) {
        let _ = write!(out, "{{{{template {}", crate::fmt::quote(&self.name));
        if let Some(p) = &self.pipe {
            out.push(' ');
            p.write_go(out);
        }
        out.push_str("}}");
    }
}

/// Writes a body as Go's `ListNode.String()` (the template in canonical form).
pub(crate) fn write_list(list: &[Node], out: &mut String) {
    for n in list {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => {
                out.push_str("{{");
                p.write_go(out);
                out.push_str("}}");
            }
            Node::If(b) => write_branch("if", b, out),
            Node::With(b) => write_branch("with", b, out),
            Node::Range(b) => write_branch("range", b, out),
            Node::Template(t) => t.write_go(out),
            Node::Break => out.push_str("{{break}}"),
            Node::Continue => out.push_str("{{continue}}"),
        }
    }
}

fn write_branch(kw: &str, b: &Branch, out: &mut String) {
    out.push_str("{{");
    out.push_str(kw);
    out.push(' ');
    b.pipe.write_go(out);
    out.push_str("}}");
    write_list(&b.list, out);
    if let Some(e) = &b.else_list {
        out.push_str("{{else}}");
        write_list(e, out);
    }
    out.push_str("{{end}}");
}

/// What kind of node an execution position refers to (Go's `state.at`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AtKind {
    Pipe,
    Cmd,
    Arg,
}

/// Go's text of the node of `kind` at byte `pos` in `list`, if there is one.
pub(crate) fn find_context(list: &[Node], pos: usize, kind: AtKind) -> Option<String> {
    list.iter().find_map(|n| match n {
        Node::Text(_) | Node::Break | Node::Continue => None,
        Node::Action(p) => find_in_pipe(p, pos, kind),
        Node::If(b) | Node::With(b) | Node::Range(b) => find_in_pipe(&b.pipe, pos, kind)
            .or_else(|| find_context(&b.list, pos, kind))
            .or_else(|| b.else_list.as_deref().and_then(|e| find_context(e, pos, kind))),
        Node::Template(t) => t.pipe.as_ref().and_then(|p| find_in_pipe(p, pos, kind)),
    })
}

fn find_in_pipe(p: &Pipe, pos: usize, kind: AtKind) -> Option<String> {
    if kind == AtKind::Pipe && p.pos == pos {
        return Some(p.go_string());
    }
    p.cmds.iter().find_map(|c| {
        if kind == AtKind::Cmd && c.pos == pos {
            return Some(c.go_string());
        }
        c.args.iter().find_map(|a| find_in_arg(a, pos, kind))
    })
}

fn find_in_arg(a: &Arg, pos: usize, kind: AtKind) -> Option<String> {
    match a {
        Arg::Pipe(p) => find_in_pipe(p, pos, kind),
        Arg::Chain(p, chain) => {
            if kind == AtKind::Arg && *p == pos {
                return Some(a.go_string());
            }
            find_in_arg(&chain.node, pos, kind)
        }
        _ => (kind == AtKind::Arg && a.pos() == pos).then(|| a.go_string()),
    }
}

/// True if the body holds only white space (Go's `IsEmptyTree`): such a definition does not
/// replace an earlier one.
pub(crate) fn is_empty_tree(list: &[Node]) -> bool {
    list.iter().all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

/// A tree with its name.
pub(crate) type Named = (Rc<str>, Rc<Tree>);

/// What ends an item list.
enum Stop {
    End,
    Else,
}

type PResult<T> = Result<T, String>;

/// Stack bytes the parser may use for nesting.
const PARSE_STACK: usize = 256 << 10;

pub(crate) struct Parser<'f, 's> {
    toks: Vec<Item>,
    /// The text the items are slices of.
    text: &'s str,
    /// The message of the lexer's final `Error` item, if any.
    lex_error: String,
    i: usize,
    hi: usize,
    /// The parse stopped at the white space before item `hi` (see [`Parser::format_err`]).
    stopped_at_space: bool,
    parse_name: String,
    vars: Vec<String>,
    range_depth: usize,
    /// Where the action being parsed starts, for errors that name its line.
    action_pos: Option<usize>,
    funcs: &'f FuncMap,
    source: Rc<Source>,
    stack_base: usize,
    /// Trees parsed from this text, in order of completion.
    pub trees: Vec<Named>,
    /// Names, chains and string constants seen so far (by this parse and, through a set,
    /// by earlier ones).
    interner: &'f mut Interner,
    /// Work stacks of the nodes, commands and arguments being collected, at every level of
    /// nesting: a list is moved off its stack into a vector of exactly its length once it is
    /// complete (most commands have one to three arguments; a vector grown by pushes would
    /// hold at least four, and a long list would be copied at each doubling).
    node_stack: Vec<Node>,
    cmd_stack: Vec<Cmd>,
    arg_stack: Vec<Arg>,
}

/// Parses `text` as template `name`: the trees of the file and of its `define`s, or Go's
/// parse error message ("template: NAME:LINE: ...").
pub(crate) fn parse(name: &str, text: &str, funcs: &FuncMap) -> Result<Vec<Named>, String> {
    parse_with(name, text, funcs, &mut Interner::default())
}

/// [`parse`], sharing `interner` with other parses.
pub(crate) fn parse_with(
    name: &str,
    text: &str,
    funcs: &FuncMap,
    interner: &mut Interner,
) -> Result<Vec<Named>, String> {
    parse_owned(name, text.to_string(), funcs, interner)
}

/// [`parse_with`] of a text the trees then own (no copy of it).
pub(crate) fn parse_owned(
    name: &str,
    text: String,
    funcs: &FuncMap,
    interner: &mut Interner,
) -> Result<Vec<Named>, String> {
    parse_file_text(name, Lexed::later(text), funcs, interner).map(|(trees, _)| trees)
}

/// A template's text with its items, when they were lexed ahead of the parse (on another
/// thread: see [`crate::Templates::parse_files`]); else the text alone, lexed by the parse.
pub(crate) struct Lexed {
    text: String,
    /// The items and the lexer's error message ([`lex`]'s result).
    items: Option<(Vec<Item>, String)>,
}

impl Lexed {
    /// `text` lexed now.
    pub(crate) fn now(text: String) -> Lexed {
        let mut items = Vec::new();
        let error = lex(&text, &mut items);
        Lexed {
            text,
            items: Some((items, error)),
        }
    }
    /// `text`, to be lexed by the parse (into the set's reused item buffer).
    pub(crate) fn later(text: String) -> Lexed {
        Lexed { text, items: None }
    }
}

/// [`parse_owned`], and whether the file's own tree is the last of the trees (it is not when
/// the text defines a template of the file's own name: the two share one entry).
fn parse_file_text(
    name: &str,
    lexed: Lexed,
    funcs: &FuncMap,
    interner: &mut Interner,
) -> Result<(Vec<Named>, bool), String> {
    let source = Rc::new(Source {
        parse_name: name.to_string(),
        text: Rc::new(lexed.text),
    });
    // The items are slices of the text of this handle, which outlives the parser.
    let shared = source.clone();
    let (toks, lex_error) = match lexed.items {
        Some(lexed) => lexed,
        None => {
            let mut toks = std::mem::take(&mut interner.items);
            let error = lex(&shared.text, &mut toks);
            (toks, error)
        }
    };
    let mut p = Parser {
        toks,
        text: &shared.text,
        lex_error,
        i: 0,
        hi: 0,
        stopped_at_space: false,
        parse_name: name.to_string(),
        vars: vec!["$".into()],
        range_depth: 0,
        action_pos: None,
        funcs,
        source,
        stack_base: crate::stack_addr(),
        trees: Vec::new(),
        interner,
        node_stack: Vec::new(),
        cmd_stack: Vec::new(),
        arg_stack: Vec::new(),
    };
    let parsed = p.parse_top(name).map_err(|m| p.format_err(&m));
    // The buffer goes back for the next parse.
    p.interner.items = std::mem::take(&mut p.toks);
    parsed.map(|own_last| (p.trees, own_last))
}

impl<'s> Parser<'_, 's> {
    /// The shared copy of `name` (see [`Interner`]).
    fn intern(&mut self, name: &str) -> Rc<str> {
        self.interner.name(name)
    }

    /// The shared chain of names spelt `key` in the source: fields (`.a.b`: `a`, `b`) or a
    /// variable and its fields (`$x.a`: `$x`, `a`).
    fn intern_chain(&mut self, key: &str) -> Names {
        if let Some(c) = self.interner.chains.get(key) {
            return c.clone();
        }
        // Split at each `.` byte by hand: chains are short, and `str::split` sets up a
        // searcher per piece.
        let body = key.strip_prefix('.').unwrap_or(key);
        let mut parts = Vec::with_capacity(4);
        let mut start = 0;
        for (i, b) in body.bytes().enumerate() {
            if b == b'.' {
                parts.push(self.interner.name(&body[start..i]));
                start = i + 1;
            }
        }
        parts.push(self.interner.name(&body[start..]));
        let chain: Names = parts.into();
        self.interner.chains.insert(key.into(), chain.clone());
        chain
    }
    fn format_err(&self, msg: &str) -> String {
        let hi = self.hi.min(self.toks.len().saturating_sub(1));
        // Go's line is its lookahead's: the white space before `hi` when the parse stopped
        // there, which starts on the line of the (one-line) item before it.
        let at = if self.stopped_at_space {
            hi.saturating_sub(1)
        } else {
            hi
        };
        let line = self.toks.get(at).map_or(1, |t| t.line(self.text));
        format!("template: {}:{}: {}", self.parse_name, line, msg)
    }

    fn next(&mut self) -> Item {
        let idx = self.i.min(self.toks.len() - 1);
        self.i = idx + 1;
        if idx > self.hi {
            self.hi = idx;
        }
        self.toks[idx]
    }
    fn backup(&mut self) {
        self.i -= 1;
    }
    fn peek(&mut self) -> Item {
        let t = self.next();
        self.backup();
        t
    }
    fn expect(&mut self, typ: Tok, context: &str) -> PResult<Item> {
        let t = self.next();
        if t.typ != typ {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }
    fn unexpected(&self, t: &Item, context: &str) -> String {
        if t.typ == Tok::Error {
            let mut extra = String::new();
            let action_line = self.action_pos.map(|p| crate::lex::line_at(self.text, p));
            if let Some(action_line) = action_line.filter(|l| *l != t.line(self.text)) {
                extra = format!(" in action started at {}:{action_line}", self.parse_name);
                if self.lex_error.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return format!("{}{extra}", self.lex_error);
        }
        format!("unexpected {} in {context}", t.describe(self.text))
    }

    fn add_tree(&mut self, name: Rc<str>, root: Vec<Node>) -> PResult<()> {
        let tree = Rc::new(Tree {
            name: name.clone(),
            source: self.source.clone(),
            root: Rc::new(root),
        });
        if let Some(idx) = self.trees.iter().position(|(n, _)| *n == name) {
            if is_empty_tree(&self.trees[idx].1.root) {
                self.trees[idx] = (name, tree);
            } else if !is_empty_tree(&tree.root) {
                return Err(format!(
                    "template: multiple definition of template {}",
                    crate::fmt::quote(&name)
                ));
            }
            return Ok(());
        }
        self.trees.push((name, tree));
        Ok(())
    }

    /// The trees of the whole text; true if the file's own tree is the last of them.
    fn parse_top(&mut self, name: &str) -> PResult<bool> {
        let mark = self.node_stack.len();
        while self.peek().typ != Tok::Eof {
            if self.peek().typ == Tok::LeftDelim {
                let save = self.i;
                self.next();
                if self.next().typ == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Ok(n) => self.node_stack.push(n),
                Err(Stop::End) => return Err("unexpected {{end}}".into()),
                Err(Stop::Else) => return Err("unexpected {{else}}".into()),
            }
        }
        let root = self.node_stack.drain(mark..).collect();
        let own_last = !self.trees.iter().any(|(n, _)| **n == *name);
        self.add_tree(Rc::from(name), root)?;
        Ok(own_last)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        let t = self.next();
        if t.typ != Tok::String && t.typ != Tok::RawString {
            return Err(self.unexpected(&t, CONTEXT));
        }
        let name = unquote(t.val(self.text))?;
        self.expect(Tok::RightDelim, CONTEXT)?;
        let (root, stop) = self.item_list()?;
        if let Stop::Else = stop {
            return Err(format!("unexpected {{{{else}}}} in {CONTEXT}"));
        }
        self.add_tree(Rc::from(name.as_str()), root)?;
        self.vars = saved_vars;
        self.range_depth = saved_depth;
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Stop)> {
        let mark = self.node_stack.len();
        while self.peek().typ != Tok::Eof {
            match self.text_or_action()? {
                Ok(n) => self.node_stack.push(n),
                Err(stop) => return Ok((self.node_stack.drain(mark..).collect(), stop)),
            }
        }
        Err("unexpected EOF".into())
    }

    fn text_or_action(&mut self) -> PResult<Result<Node, Stop>> {
        let t = self.next();
        match t.typ {
            Tok::Text => Ok(Ok(Node::Text(Text {
                source: self.source.clone(),
                start: t.pos(),
                end: t.end(),
            }))),
            Tok::LeftDelim => {
                self.action_pos = Some(t.pos());
                let r = self.action();
                self.action_pos = None;
                r
            }
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> PResult<Result<Node, Stop>> {
        let t = self.next();
        match t.typ {
            Tok::Block => return self.block_control().map(Ok),
            Tok::Break => return self.break_control(t.pos(), "break").map(Ok),
            Tok::Continue => return self.break_control(t.pos(), "continue").map(Ok),
            Tok::Else => return self.else_control().map(Err),
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Err(Stop::End));
            }
            Tok::If => return self.control("if").map(|b| Ok(Node::If(b))),
            Tok::Range => return self.control("range").map(|b| Ok(Node::Range(b))),
            Tok::With => return self.control("with").map(|b| Ok(Node::With(b))),
            Tok::Template => return self.template_control().map(Ok),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Tok::RightDelim)?;
        Ok(Ok(Node::Action(pipe)))
    }

    fn break_control(&mut self, pos: usize, word: &str) -> PResult<Node> {
        let t = self.next();
        if t.typ != Tok::RightDelim {
            return Err(self.unexpected(&t, &format!("{{{{{word}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(format!("{{{{{word}}}}} outside {{{{range}}}}"));
        }
        let _ = pos;
        Ok(if word == "break" { Node::Break } else { Node::Continue })
    }

    fn else_control(&mut self) -> PResult<Stop> {
        let p = self.peek();
        if p.typ == Tok::If || p.typ == Tok::With {
            return Ok(Stop::Else);
        }
        self.expect(Tok::RightDelim, "else")?;
        Ok(Stop::Else)
    }

    /// An error when nesting (of parentheses and control structures) gets too deep to parse
    /// within the stack budget.
    fn check_nesting(&self) -> PResult<()> {
        if self.stack_base.abs_diff(crate::stack_addr()) > PARSE_STACK {
            return Err("template nesting too deep".into());
        }
        Ok(())
    }

    fn control(&mut self, context: &str) -> PResult<Box<Branch>> {
        self.check_nesting()?;
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, stop) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Stop::Else = stop {
            let p = self.peek();
            if context == "if" && p.typ == Tok::If {
                self.next();
                else_list = Some(vec![Node::If(self.control("if")?)]);
            } else if context == "with" && p.typ == Tok::With {
                self.next();
                else_list = Some(vec![Node::With(self.control("with")?)]);
            } else {
                let (l, stop) = self.item_list()?;
                if let Stop::Else = stop {
                    return Err("expected end; found {{else}}".into());
                }
                else_list = Some(l);
            }
        }
        self.vars.truncate(mark);
        Ok(Box::new(Branch { pipe, list, else_list }))
    }

    fn template_name(&mut self, t: &Item, context: &str) -> PResult<String> {
        match t.typ {
            Tok::String | Tok::RawString => unquote(t.val(self.text)),
            _ => Err(self.unexpected(t, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let t = self.next();
        let name = self.template_name(&t, CONTEXT)?;
        let mut pipe = None;
        if self.next().typ != Tok::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, Tok::RightDelim)?);
        }
        Ok(Node::Template(Box::new(TemplateCall {
            pos: t.pos(),
            name: Rc::from(name.as_str()),
            pipe,
        })))
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let t = self.next();
        let name = self.template_name(&t, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, Tok::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        let (root, stop) = self.item_list()?;
        if let Stop::Else = stop {
            return Err(format!("unexpected {{{{else}}}} in {CONTEXT}"));
        }
        self.vars = saved_vars;
        self.range_depth = saved_depth;
        let name: Rc<str> = Rc::from(name.as_str());
        self.add_tree(name.clone(), root)?;
        Ok(Node::Template(Box::new(TemplateCall {
            pos: t.pos(),
            name,
            pipe: Some(pipe),
        })))
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        self.check_nesting()?;
        let pos = self.peek().pos();
        let mut pipe = Pipe {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek();
            if v.typ != Tok::Variable {
                break;
            }
            let save = self.i;
            self.next();
            let next = self.peek();
            if next.typ == Tok::Assign || next.typ == Tok::Declare {
                pipe.is_assign = next.typ == Tok::Assign;
                self.next();
                pipe.decl.push(self.intern(v.val(self.text)));
                self.vars.push(v.val(self.text).to_string());
                break;
            } else if next.typ == Tok::Char && next.val(self.text) == "," {
                self.next();
                pipe.decl.push(self.intern(v.val(self.text)));
                self.vars.push(v.val(self.text).to_string());
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek().typ {
                        Tok::Variable | Tok::RightDelim | Tok::RightParen => continue 'decls,
                        _ => return Err("range can only initialize variables".into()),
                    }
                }
                return Err(format!("too many declarations in {context}"));
            } else {
                self.i = save;
                break;
            }
        }
        let mark = self.cmd_stack.len();
        loop {
            let t = self.next();
            if t.typ == end {
                pipe.cmds = self.cmd_stack.drain(mark..).collect();
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match t.typ {
                Tok::Bool
                | Tok::CharConstant
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    self.cmd_stack.push(c);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::String(..)
            ) {
                return Err(format!("non executable command in pipeline stage {}", i + 1));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Cmd> {
        let pos = self.peek().pos();
        let mark = self.arg_stack.len();
        loop {
            self.peek();
            let op = self.operand()?;
            let got = op.is_some();
            if let Some(op) = op {
                self.arg_stack.push(op);
            }
            let t = self.next();
            match t.typ {
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                // After an operand and white space, the next operand (an item that is not one
                // is then unexpected).
                _ if got && t.space_before => {
                    self.backup();
                    continue;
                }
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if self.arg_stack.len() == mark {
            return Err("empty command".into());
        }
        let args = self.arg_stack.drain(mark..).collect();
        Ok(Cmd { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        // Fields right after the term (no white space between) are a chain on it.
        let chained = |t: Item| t.typ == Tok::Field && !t.space_before;
        if chained(self.peek()) {
            let pos = self.peek().pos();
            let mut end = pos;
            while chained(self.peek()) {
                end = self.next().end();
            }
            return Ok(Some(match node {
                // `.a.b` and `$x.a` are spelt without a break in the source: the chain is
                // interned by that spelling.
                Arg::Field(start, _) | Arg::Variable(start, _) => {
                    let source = self.source.clone();
                    let chain = self.intern_chain(source.text.get(start..end).unwrap_or_default());
                    if matches!(node, Arg::Field(..)) {
                        Arg::Field(pos, chain)
                    } else {
                        Arg::Variable(pos, chain)
                    }
                }
                Arg::Bool(..) | Arg::String(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                    // Go looked ahead at the white space after the last field, if any.
                    self.stopped_at_space = self.peek().space_before;
                    return Err(format!(
                        "unexpected . after term {}",
                        crate::fmt::quote(&node.go_string())
                    ));
                }
                other => {
                    let source = self.source.clone();
                    let fields = self.intern_chain(source.text.get(pos..end).unwrap_or_default());
                    Arg::Chain(pos, Box::new(Chain { node: other, fields }))
                }
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next();
        let (pos, val) = (t.pos(), t.val(self.text));
        Ok(Some(match t.typ {
            Tok::Identifier => {
                if let Some(ident) = self.interner.idents.get(val) {
                    return Ok(Some(Arg::Ident(pos, ident.clone())));
                }
                let callee = match self.funcs.get(val) {
                    Some(f) => Callee::Func(f.clone()),
                    None => match Builtin::from_name(val) {
                        Some(b) => Callee::Builtin(b),
                        None => return Err(format!("function {} not defined", crate::fmt::quote(val))),
                    },
                };
                let ident = Rc::new(Ident {
                    name: self.intern(val),
                    callee,
                });
                self.interner.idents.insert(val.into(), ident.clone());
                Arg::Ident(pos, ident)
            }
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Variable => {
                let head = val.split('.').next().unwrap_or_default();
                if !self.vars.iter().any(|v| **v == *head) {
                    return Err(format!("undefined variable {}", crate::fmt::quote(head)));
                }
                Arg::Variable(pos, self.intern_chain(val))
            }
            Tok::Field => Arg::Field(pos, self.intern_chain(val)),
            Tok::Bool => Arg::Bool(pos, val == "true"),
            Tok::CharConstant | Tok::Number => {
                let n = match self.interner.numbers.get(val) {
                    Some(n) => n.clone(),
                    None => {
                        let n = Rc::new(number(val, t.typ)?);
                        self.interner.numbers.insert(val.into(), n.clone());
                        n
                    }
                };
                Arg::Number(pos, n)
            }
            Tok::LeftParen => Arg::Pipe(Box::new(self.pipeline("parenthesized pipeline", Tok::RightParen)?)),
            Tok::String | Tok::RawString => {
                let constant = match self.interner.strings.get(val) {
                    Some(c) => c.clone(),
                    None => {
                        let c = Rc::new(StrConst {
                            quoted: val.into(),
                            value: Value::from(unquote(val)?),
                        });
                        self.interner.strings.insert(val.into(), c.clone());
                        c
                    }
                };
                Arg::String(pos, constant)
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// Go's `strconv.Unquote` for the string forms the lexer produces.
pub(crate) fn unquote(s: &str) -> PResult<String> {
    if let Some(raw) = s.strip_prefix('`') {
        let raw = raw.strip_suffix('`').ok_or("invalid syntax")?;
        return Ok(raw.replace('\r', ""));
    }
    let inner = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .ok_or("invalid syntax")?;
    // Without escapes (and quotes) each character stands for itself.
    if !inner.contains(['\\', '"']) {
        return Ok(inner.to_string());
    }
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while !rest.is_empty() {
        let (c, tail) = unquote_char(rest, '"')?;
        match c {
            Unq::Char(c) => out.push(c),
            Unq::Byte(b) => {
                // A \x or octal escape: a raw byte. Non-UTF-8 bytes cannot be held in a Rust
                // string; they become U+FFFD as Go's printing of them would.
                if b < 0x80 {
                    out.push(b as char);
                } else {
                    out.push('\u{FFFD}');
                }
            }
        }
        rest = tail;
    }
    Ok(out)
}

enum Unq {
    Char(char),
    Byte(u8),
}

fn unquote_char(s: &str, quote: char) -> PResult<(Unq, &str)> {
    let mut chars = s.chars();
    let c = chars.next().ok_or("invalid syntax")?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err("invalid syntax".into());
    }
    if c != '\\' {
        return Ok((Unq::Char(c), chars.as_str()));
    }
    let e = chars.next().ok_or("invalid syntax")?;
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some('\u{07}'),
        'b' => Some('\u{08}'),
        'f' => Some('\u{0c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{0b}'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return Err("invalid syntax".into());
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((Unq::Char(c), rest));
    }
    let hex = |n: usize| -> PResult<(u32, &str)> {
        if rest.len() < n || !rest.is_char_boundary(n) {
            return Err("invalid syntax".into());
        }
        let v = u32::from_str_radix(&rest[..n], 16).map_err(|_| "invalid syntax")?;
        Ok((v, &rest[n..]))
    };
    match e {
        'x' => {
            let (v, tail) = hex(2)?;
            Ok((Unq::Byte(v as u8), tail))
        }
        'u' | 'U' => {
            let (v, tail) = hex(if e == 'u' { 4 } else { 8 })?;
            let c = char::from_u32(v).ok_or("invalid syntax")?;
            Ok((Unq::Char(c), tail))
        }
        '0'..='7' => {
            if rest.len() < 2 || !rest.is_char_boundary(2) {
                return Err("invalid syntax".into());
            }
            let digits = format!("{e}{}", &rest[..2]);
            let v = u32::from_str_radix(&digits, 8).map_err(|_| "invalid syntax")?;
            if v > 255 {
                return Err("invalid syntax".into());
            }
            Ok((Unq::Byte(v as u8), &rest[2..]))
        }
        _ => Err("invalid syntax".into()),
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`-like integer parse into i128 (None on syntax error).
fn parse_go_int(text: &str) -> Option<i128> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    if !underscores_ok(&digits, prefixed) {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    let mut v: i128 = 0;
    for c in clean.chars() {
        let d = c.to_digit(radix)? as i128;
        v = v.checked_mul(radix as i128)?.checked_add(d)?;
        if v > u64::MAX as i128 + 1 {
            return Some(if neg { -v } else { v });
        }
    }
    Some(if neg { -v } else { v })
}

fn underscores_ok(digits: &str, prefixed: bool) -> bool {
    if !digits.contains('_') {
        return true;
    }
    let b = digits.as_bytes();
    // After a base prefix an underscore may come first; otherwise only between digits.
    for (i, c) in b.iter().enumerate() {
        if *c == b'_' {
            let prev_ok = if i == 0 { prefixed } else { b[i - 1] != b'_' };
            let next_ok = i + 1 < b.len() && b[i + 1] != b'_';
            if !prev_ok || !next_ok {
                return false;
            }
        }
    }
    true
}

/// A hexadecimal float constant (`0x1p60`, `-0x1.8p-2`): hex mantissa, binary exponent.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let body = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X"))?;
    let (mant, exp) = body.split_once(['p', 'P'])?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut m: u128 = 0;
    let mut shift: i64 = 0;
    for (i, c) in int_part.chars().chain(frac_part.chars()).enumerate() {
        let d = c.to_digit(16)? as u128;
        if m >> 120 == 0 {
            m = m * 16 + d;
            if i >= int_part.len() {
                shift -= 4;
            }
        } else if i < int_part.len() {
            shift += 4;
        }
    }
    let e: i64 = exp.parse().ok()?;
    let e = (e + shift).clamp(-2000, 2000) as i32;
    let h = e / 2;
    let v = (m as f64) * 2f64.powi(h) * 2f64.powi(e - h);
    if !v.is_finite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// A number constant as Go's parser and `idealConstant` see it.
fn number(text: &str, typ: Tok) -> PResult<Number> {
    let boxed = text.to_string().into_boxed_str();
    if typ == Tok::CharConstant {
        let inner = &text[1..];
        let (c, tail) = unquote_char(inner, '\'')?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let v = match c {
            Unq::Char(c) => c as i64,
            Unq::Byte(b) => b as i64,
        };
        return Ok(Number {
            text: boxed,
            value: Ok(Value::Int(v)),
        });
    }
    if text.ends_with('i') {
        return Err(format!("illegal number syntax: {}", crate::fmt::quote(text)));
    }
    let has_float_marks = text.contains(['.', 'e', 'E', 'p', 'P']);
    let lower = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    let is_hex = lower.starts_with("0x");
    if let Some(i) = parse_go_int(text) {
        if i >= i64::MIN as i128 && i <= i64::MAX as i128 {
            return Ok(Number {
                text: boxed,
                value: Ok(Value::Int(i as i64)),
            });
        }
        if i >= 0 && i <= u64::MAX as i128 {
            return Ok(Number {
                text: boxed,
                value: Err(format!("{text} overflows int")),
            });
        }
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let f = if is_hex {
        parse_hex_float(&clean)
    } else {
        clean.parse::<f64>().ok().filter(|f| f.is_finite())
    };
    match f {
        Some(f) => {
            if !has_float_marks {
                return Err(format!("integer overflow: {}", crate::fmt::quote(text)));
            }
            Ok(Number {
                text: boxed,
                value: Ok(Value::Float(f)),
            })
        }
        None => Err(format!("illegal number syntax: {}", crate::fmt::quote(text))),
    }
}

/// The trees of file `name`: those of an earlier file of the same text, renamed and pointing
/// at this file's source (so that errors name this file), or a parse of it.
fn parse_file(name: &str, lexed: Lexed, funcs: &FuncMap, interner: &mut Interner) -> Result<Vec<Named>, String> {
    interner.last = None;
    let key = lexed.text.len();
    let earlier = interner
        .files
        .get(&key)
        .and_then(|same_length| same_length.iter().find(|f| *f.source.text == lexed.text))
        .filter(|earlier| serves(earlier, name));
    if let Some(earlier) = earlier {
        let (trees, _) = renamed(earlier, name);
        interner.last = Some(earlier.clone());
        return Ok(trees);
    }
    let (trees, own_last) = parse_file_text(name, lexed, funcs, interner)?;
    // Kept only when the file's own tree is the last (it is not when a `define` of the file's
    // own name came first: that tree must keep its name).
    if let Some((_, t)) = trees.last().filter(|_| own_last) {
        let parsed = ParsedFile {
            source: t.source.clone(),
            trees: trees.clone(),
        };
        interner.last = Some(parsed.clone());
        let same_length = interner.files.entry(key).or_default();
        if same_length.len() < FILES_PER_LENGTH {
            interner.file_bytes += parsed.source.text.len();
            same_length.push(parsed);
        }
    }
    Ok(trees)
}

/// True if the trees of `earlier` can serve a file `name` of the same text: not if the text
/// defines a template of that name (parsed as `name`, that `define` and the file's own tree
/// are one template: a fresh parse fails with "multiple definition", or keeps the `define`).
fn serves(earlier: &ParsedFile, name: &str) -> bool {
    let defines = &earlier.trees[..earlier.trees.len().saturating_sub(1)];
    !defines.iter().any(|(n, _)| &**n == name)
}

/// The trees of `earlier` for a file `name` of the same text: the same bodies, the file's own
/// tree renamed, each pointing at a source of this name (sharing the text), so that errors
/// name this file; and that source.
fn renamed(earlier: &ParsedFile, name: &str) -> (Vec<Named>, Rc<Source>) {
    let source = Rc::new(Source {
        parse_name: name.to_string(),
        text: earlier.source.text.clone(),
    });
    let own: Rc<str> = Rc::from(name);
    let last = earlier.trees.len() - 1;
    let trees = earlier
        .trees
        .iter()
        .enumerate()
        .map(|(i, (n, t))| {
            let n = if i == last { own.clone() } else { n.clone() };
            let tree = Tree {
                name: n.clone(),
                source: source.clone(),
                root: t.root.clone(),
            };
            (n, Rc::new(tree))
        })
        .collect();
    (trees, source)
}

/// [`parse_into`] of a file whose text an earlier file had under the same `id` (see
/// [`Interner::pinned`]): its trees, without reading the text; false if no file had that `id`.
pub(crate) fn parse_pinned(set: &mut TreeMap, interner: &mut Interner, name: &str, id: (usize, usize)) -> bool {
    let Some((earlier, _)) = interner.pinned.get(&id).filter(|(earlier, _)| serves(earlier, name)) else {
        return false;
    };
    let (trees, _) = renamed(earlier, name);
    insert(set, trees);
    true
}

/// Keeps the last file parsed ([`parse_into`]) under `id`, with `pin` (see
/// [`Interner::pinned`]); nothing if that parse is not one to keep.
pub(crate) fn pin_last(interner: &mut Interner, id: (usize, usize), pin: Rc<dyn std::any::Any>) {
    if let Some(last) = interner.last.take() {
        interner.file_bytes += id.1;
        interner.pinned.insert(id, (last, pin));
    }
}

/// Parses a file into the map `set` with Go's association rule: a later definition replaces an
/// earlier one unless its body is empty.
pub(crate) fn parse_into(
    set: &mut TreeMap,
    interner: &mut Interner,
    name: &str,
    lexed: Lexed,
    funcs: &FuncMap,
) -> Result<(), String> {
    let trees = parse_file(name, lexed, funcs, interner)?;
    insert(set, trees);
    Ok(())
}

/// Adds a file's trees to the map with Go's association rule (see [`parse_into`]).
fn insert(set: &mut TreeMap, trees: Vec<Named>) {
    for (n, t) in trees {
        if set.contains_key(&n) && is_empty_tree(&t.root) {
            continue;
        }
        set.insert(n, t);
    }
}
