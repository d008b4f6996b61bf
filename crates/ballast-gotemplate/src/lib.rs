//! Go's `text/template`, faithfully: the same syntax, the same evaluation and printing rules,
//! the same error messages, so that templates written for Go render byte for byte the same.
//!
//! No Helm knowledge lives here; Helm's functions are registered through [`FuncMap`].
//!
//! Use: build a [`Templates`] set with a [`FuncMap`], [`Templates::parse`] each file into it
//! (its `define`s join the set), then [`Templates::execute`] a template by name with data.
//! Execution is bounded by [`Limits`] (output size, call depth and stack, range iterations,
//! time); exceeding one is an [`Error`] of kind [`ErrorKind::Limit`], never a hang or a crash.
//!
//! Semantics are Go 1.23's (as Helm v4 uses): `range` over an integer, `else with`,
//! `break`/`continue`, short-circuit `and`/`or`, `missingkey` options. A template is parsed
//! once into a tree and executed over it; values are shared (`Rc`), never deep-copied.
//!
//! Functions that run templates (Helm's `include` and `tpl`) receive an [`Env`]:
//! [`Env::execute_template`] runs a template of the set, [`Env::execute_source`] parses a text
//! in an overlay of the set (its `define`s do not leak) and runs it.
//!
//! Errors carry Go's full text in [`Error::message`] and its parts in [`ErrorInfo`].

mod ahead;
mod builtins;

/// The address of a local: how deep the current thread's stack is, for stack budgets.
#[inline(never)]
pub(crate) fn stack_addr() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}
mod exec;
pub mod fmt;
pub mod func;
mod lex;
mod parse;
pub mod value;

pub use ahead::{LexAhead, Source};
pub use fmt::sprintf;
pub use func::{Args, Arity, Env, Func, FuncMap};
pub use value::{Map, Object, Value};

use std::collections::HashMap;
use std::rc::Rc;

/// What missing map keys evaluate to (Go's `missingkey` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: the missing value prints `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: nil for `map[string]interface{}` (prints `<no value>` too).
    Zero,
    /// `missingkey=error`: a missing key is an error.
    Error,
}

/// Bounds on one execution.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Maximum output bytes of one execution (including nested `template` calls).
    pub max_output: usize,
    /// Maximum nesting of `template` calls and of function calls back into the engine.
    pub max_depth: usize,
    /// Stack bytes one execution may use for nested `template`/`include`/`tpl` calls (the
    /// executor recurses); the executing thread needs this much plus some headroom. The
    /// default, 1 MiB, fits a 2 MiB thread and allows about 800 nested `include`s in a release
    /// build (3000 `template`s); Helm allows 1000 nested `include`s of one name, so run
    /// on a thread with a larger stack and raise this to reach that.
    pub max_stack: usize,
    /// Maximum total `range` iterations.
    pub max_iterations: u64,
    /// Wall-clock budget for one execution.
    pub time_budget: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_output: 64 << 20,
            max_depth: 10_000,
            max_stack: 1 << 20,
            max_iterations: 10_000_000,
            time_budget: std::time::Duration::from_secs(30),
        }
    }
}

/// What stage an [`Error`] comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ErrorKind {
    /// A parse error: `template: NAME:LINE: MSG`.
    #[default]
    Parse,
    /// An execution error: `template: FILE:LINE:COL: executing "NAME" at <ACTION>: MSG`.
    Exec,
    /// A [`Limits`] bound was exceeded.
    Limit,
}

/// A parse or execution error, with Go's position and wording. `message` is Go's full text;
/// `info` holds its parts, for callers (Helm) that print errors their own way.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// Go's full message, e.g. `template: x.yaml:3:5: executing "x.yaml" at <.Values.a>: ...`.
    pub message: String,
    /// The parts of the message.
    pub info: Box<ErrorInfo>,
}

/// The parts of an [`Error`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Parse, execution or limit error.
    pub kind: ErrorKind,
    /// The executing template's name (a file or a `define`d name); empty for parse errors.
    pub template: String,
    /// The file (Go's `ParseName`) the failing node was parsed from.
    pub file: String,
    /// 1-based line of the failing node (of the current token for parse errors).
    pub line: usize,
    /// 0-based byte column of the failing node in its line, as Go prints it (exec errors).
    pub col: usize,
    /// The failing action's text as Go quotes it in `<...>`, cut to 20 characters + `...`.
    pub context: String,
    /// The bare message, e.g. `error calling eq: incompatible types for comparison`.
    pub detail: String,
    /// The function whose call failed, when the message is `error calling NAME: ...`.
    pub function: Option<String>,
}

impl Error {
    /// An error with only a message (no position).
    pub fn msg(message: impl Into<String>) -> Error {
        let message = message.into();
        let info = ErrorInfo {
            detail: message.clone(),
            kind: ErrorKind::Exec,
            ..ErrorInfo::default()
        };
        Error {
            message,
            info: Box::new(info),
        }
    }
    /// A parse error from its full Go text `template: NAME:LINE: MSG`.
    pub(crate) fn parse(message: String) -> Error {
        let mut e = ErrorInfo {
            kind: ErrorKind::Parse,
            ..ErrorInfo::default()
        };
        if let Some(rest) = message.strip_prefix("template: ") {
            // NAME may itself contain ':'; the line is the first ":DIGITS: " that ends a prefix.
            let mut i = 0;
            while let Some(off) = rest[i..].find(": ") {
                let head = &rest[..i + off];
                if let Some((name, line)) = head.rsplit_once(':')
                    && !line.is_empty()
                    && line.bytes().all(|b| b.is_ascii_digit())
                {
                    e.file = name.to_string();
                    e.line = line.parse().unwrap_or(0);
                    e.detail = rest[i + off + 2..].to_string();
                    break;
                }
                i += off + 2;
            }
        }
        Error {
            message,
            info: Box::new(e),
        }
    }
}

/// The total bytes of text from which [`Templates::parse_files`] lexes on a second thread: below
/// it, starting the thread costs about what it saves.
pub const LEX_AHEAD_BYTES: usize = 128 << 10;

/// A set of associated templates (Go's `*template.Template` with its common set).
#[derive(Clone)]
pub struct Templates {
    funcs: Rc<FuncMap>,
    missing_key: MissingKey,
    limits: Limits,
    root_name: String,
    trees: parse::TreeMap,
    /// Shared by the parses of the set's files.
    interner: parse::Interner,
    /// Texts already parsed by [`Env::execute_source`] (Helm's `tpl`), with their trees.
    sources: std::cell::RefCell<SourceCache>,
}

/// The trees of texts run through [`Env::execute_source`], by text: a chart calls `tpl` on the
/// same few texts many times (bitnami's `common.tplvalues.render` on every label map), and a
/// parse is pure (the same name, text and functions give the same trees). Bounded by
/// [`SourceCache::MAX_BYTES`] of text; past that, it starts again from nothing.
#[derive(Clone, Default)]
pub(crate) struct SourceCache {
    /// By text: the name it was parsed as, and its trees.
    by_text: HashMap<Box<str>, (Box<str>, ParsedSource), parse::FastHash>,
    bytes: usize,
}

/// The trees of one parsed text, shared.
pub(crate) type ParsedSource = Rc<[parse::Named]>;

impl SourceCache {
    /// Most bytes of text (keys) the cache holds.
    const MAX_BYTES: usize = 4 << 20;

    /// The trees of `src` parsed as `name`, if cached.
    pub(crate) fn get(&self, name: &str, src: &str) -> Option<ParsedSource> {
        match self.by_text.get(src) {
            Some((n, trees)) if &**n == name => Some(trees.clone()),
            _ => None,
        }
    }

    /// The bytes of text (and names) the cache holds.
    pub(crate) fn borrow_bytes(&self) -> usize {
        self.bytes
    }

    /// Remembers the trees of `src` parsed as `name`; a text that would take the cache past
    /// its bound empties it first (kept between renders, it would otherwise stay full of the
    /// texts of renders long gone), one larger than the bound is not remembered.
    pub(crate) fn put(&mut self, name: &str, src: &str, trees: ParsedSource) {
        let cost = src.len() + name.len();
        if cost > Self::MAX_BYTES {
            return;
        }
        if self.bytes + cost > Self::MAX_BYTES {
            self.by_text.clear();
            self.bytes = 0;
        }
        self.bytes += cost;
        self.by_text.insert(src.into(), (name.into(), trees));
    }
}

/// What the parses of one set leave for the sets parsed after it with the same functions: the
/// parse of each file text (its trees' bodies) and the shared spellings, so that a text parsed
/// before is not parsed again ([`Templates::from_parses`], [`Templates::take_parses`]). A
/// parse is pure, the same text with the same functions giving the same bodies: a set built
/// from kept parses is the set a fresh parse builds. Each file's trees still get their own
/// name and source (for positions in errors). Not [`Send`]: kept by the thread that parses.
pub struct Parses {
    funcs: Rc<FuncMap>,
    interner: parse::Interner,
    sources: SourceCache,
}

impl Parses {
    /// Nothing kept yet, for sets of these functions.
    pub fn new(funcs: Rc<FuncMap>) -> Parses {
        Parses {
            funcs,
            interner: parse::Interner::default(),
            sources: SourceCache::default(),
        }
    }
    /// True if a file of this text was parsed (its parse is kept and would be used).
    pub fn knows(&self, text: &str) -> bool {
        self.interner.knows(text)
    }
    /// True if a file of this identity (see [`Templates::parse_identified`]) or of this text
    /// was parsed (its parse is kept and would be used).
    pub fn knows_file(&self, text: &[u8], id: (usize, usize)) -> bool {
        self.interner.knows_file(text, id)
    }
    /// The bytes of the file texts whose parse is kept (what memory they hold grows with it).
    pub fn text_bytes(&self) -> usize {
        self.interner.file_bytes() + self.sources.borrow_bytes()
    }
    /// How many spellings the kept parses share (names, chains of names, string and number
    /// constants, function names): these grow with every new text parsed, including texts
    /// whose parse is not kept (see [`Parses::text_bytes`]).
    pub fn spellings(&self) -> usize {
        self.interner.spellings()
    }
    /// Drops the parses kept by identity (see [`Templates::parse_identified`]), and with them
    /// the pins that keep those identities' bytes alive; parses kept by text stay.
    pub fn unpin_all(&mut self) {
        self.interner.unpin_all();
    }
    /// The functions the kept parses resolved their calls to.
    pub fn funcs(&self) -> &Rc<FuncMap> {
        &self.funcs
    }
}

impl Templates {
    /// An empty set calling `funcs` besides Go's builtins.
    pub fn new(funcs: Rc<FuncMap>) -> Templates {
        Templates {
            funcs,
            missing_key: MissingKey::Default,
            limits: Limits::default(),
            root_name: String::new(),
            trees: parse::TreeMap::default(),
            interner: parse::Interner::default(),
            sources: Default::default(),
        }
    }
    /// An empty set of `parses`' functions that parses with what `parses` kept.
    pub fn from_parses(parses: Parses) -> Templates {
        let mut set = Templates::new(parses.funcs);
        set.interner = parses.interner;
        set.sources = std::cell::RefCell::new(parses.sources);
        set
    }
    /// True if a file of this text was parsed into this set or into the sets whose parses it
    /// was made from ([`Templates::from_parses`]): parsing it again is no work.
    pub fn knows(&self, text: &str) -> bool {
        self.interner.knows(text)
    }
    /// True if a file of this identity (see [`Templates::parse_identified`]) or of this text
    /// was parsed into this set or into the sets whose parses it was made from.
    pub fn knows_file(&self, text: &[u8], id: (usize, usize)) -> bool {
        self.interner.knows_file(text, id)
    }
    /// Parses the file `name` whose text its caller identifies by `id`: the address and length
    /// of bytes that `pin()` keeps alive and unchanged while held (an immutable shared buffer),
    /// so that no other text can have that identity meanwhile. If this set or the sets whose
    /// parses it was made from ([`Templates::from_parses`]) parsed a file of that identity, its
    /// trees serve this file (under this file's name, as for a text known by content) and the
    /// text is not read; else `parse` parses the file (`parse_owned`, `parse_ahead`: that one
    /// file, once) and its parse is kept under `id`, holding `pin()`.
    pub fn parse_identified(
        &mut self,
        name: &str,
        id: (usize, usize),
        pin: impl FnOnce() -> Rc<dyn std::any::Any>,
        parse: impl FnOnce(&mut Templates) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if parse::parse_pinned(&mut self.trees, &mut self.interner, name, id) {
            return Ok(());
        }
        parse(self)?;
        parse::pin_last(&mut self.interner, id, pin());
        Ok(())
    }
    /// What this set's parses (its files' and `tpl`'s so far) leave for the next sets: see
    /// [`Parses`]. The set keeps its trees and can still be executed; its later parses start
    /// from nothing kept.
    pub fn take_parses(&mut self) -> Parses {
        Parses {
            funcs: self.funcs.clone(),
            interner: std::mem::take(&mut self.interner),
            sources: std::mem::take(&mut *self.sources.borrow_mut()),
        }
    }
    /// Sets the `missingkey` option.
    pub fn missing_key(&mut self, m: MissingKey) -> &mut Templates {
        self.missing_key = m;
        self
    }
    /// Sets the execution limits.
    pub fn limits(&mut self, l: Limits) -> &mut Templates {
        self.limits = l;
        self
    }
    /// Names the set (Go's root template name, e.g. Helm's `gotpl`), as quoted in
    /// "no template "x" associated with template "gotpl"".
    pub fn root_name(&mut self, name: &str) -> &mut Templates {
        self.root_name = name.to_string();
        self
    }
    /// Parses `src` as the template `name`, adding it and its `define`s to the set. As in Go, a
    /// later definition replaces an earlier one unless its body is empty; two non-empty
    /// definitions of one name in the same `src` are an error.
    pub fn parse(&mut self, name: &str, src: &str) -> Result<(), Error> {
        self.parse_owned(name, src.to_string())
    }
    /// [`Templates::parse`] of a text the set then keeps as it is (no copy of it).
    pub fn parse_owned(&mut self, name: &str, src: String) -> Result<(), Error> {
        self.parse_lexed(name, parse::Lexed::later(src))
    }
    fn parse_lexed(&mut self, name: &str, lexed: parse::Lexed) -> Result<(), Error> {
        parse::parse_into(&mut self.trees, &mut self.interner, name, lexed, &self.funcs).map_err(Error::parse)
    }
    /// [`Templates::parse_owned`] of each `(name, text)` of `files` in turn: the same set, and
    /// on failure the same first error (with that file's name) as the calls one after another.
    ///
    /// When the texts hold [`LEX_AHEAD_BYTES`] or more, a second thread lexes each text while
    /// this one parses the texts before it (lexing is about two fifths of a parse); it stops
    /// at the first error. Should that thread fail to start, the texts are parsed here alone.
    pub fn parse_files(&mut self, files: Vec<(String, String)>) -> Result<(), (String, Error)> {
        self.parse_files_with(files, || {})
    }
    /// [`Templates::parse_files`], with `lexer_start` run first on the lexer thread when there
    /// is one (a caller that sets up each thread's heap, say).
    pub fn parse_files_with(
        &mut self,
        files: Vec<(String, String)>,
        lexer_start: impl FnOnce() + Send,
    ) -> Result<(), (String, Error)> {
        let total: usize = files.iter().map(|(_, text)| text.len()).sum();
        if files.len() < 2 || total < LEX_AHEAD_BYTES {
            for (name, text) in files {
                self.parse_owned(&name, text).map_err(|e| (name, e))?;
            }
            return Ok(());
        }
        // The lexer takes the files from the front of this queue in order; whatever it has not
        // taken when it ends (all of them if it never started) is parsed here after what it sent.
        let queue = std::sync::Mutex::new(files.into_iter());
        let next = || queue.lock().unwrap_or_else(|e| e.into_inner()).next();
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::channel();
            let lexer = std::thread::Builder::new()
                .name("template-lex".into())
                .spawn_scoped(scope, || {
                    let tx = tx;
                    lexer_start();
                    while let Some((name, text)) = next() {
                        // The parse has stopped (an error) when nothing receives.
                        if tx.send((name, parse::Lexed::now(text))).is_err() {
                            return;
                        }
                    }
                });
            // If it did not start, its closure and with it the sender are gone: `rx` ends now.
            drop(lexer);
            for (name, lexed) in rx {
                self.parse_lexed(&name, lexed).map_err(|e| (name, e))?;
            }
            while let Some((name, text)) = next() {
                self.parse_owned(&name, text).map_err(|e| (name, e))?;
            }
            Ok(())
        })
    }
    /// [`Templates::parse_owned`] of the text under `key` in `ahead` as `name`: from its items
    /// if the thread lexed it (waiting if it is lexing it now), else from its source, else (a
    /// key never given or already taken) from `text()`. The same set and errors as
    /// `parse_owned(name, text())`.
    pub fn parse_ahead<K: Eq + std::hash::Hash + Clone + Send + 'static>(
        &mut self,
        name: &str,
        key: &K,
        ahead: &LexAhead<K>,
        text: impl FnOnce() -> String,
    ) -> Result<(), Error> {
        match ahead.take(key) {
            ahead::Taken::Lexed(lexed) => self.parse_lexed(name, lexed),
            ahead::Taken::Source(source) => self.parse_owned(name, source()),
            ahead::Taken::Missing => self.parse_owned(name, text()),
        }
    }
    /// True if the set holds a template of that name.
    pub fn has(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }
    /// The parsed body of template `name` printed back in canonical form, as Go's
    /// `Tree.Root.String()` does (for tests comparing parses).
    pub fn canonical(&self, name: &str) -> Option<String> {
        let tree = self.trees.get(name)?;
        let mut out = String::new();
        parse::write_list(&tree.root, &mut out);
        Some(out)
    }
    /// Names of the templates in the set (files and `define`s), in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.trees.keys().map(|k| &**k)
    }
    /// Executes the template `name` with `data` as `.` and `$`.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let Some(tree) = self.trees.get(name) else {
            return Err(Error::msg(format!(
                "template: no template {} associated with template {}",
                fmt::quote(name),
                fmt::quote(&self.root_name)
            )));
        };
        exec::Exec::new(self, tree.clone()).run(data)
    }
    /// [`Templates::execute`] within `budget` of wall-clock time (at most the set's own
    /// [`Limits::time_budget`]).
    pub fn execute_within(&self, name: &str, data: &Value, budget: std::time::Duration) -> Result<String, Error> {
        let Some(tree) = self.trees.get(name) else {
            return self.execute(name, data);
        };
        exec::Exec::new(self, tree.clone())
            .within(budget.min(self.limits.time_budget))
            .run(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `tpl` text cache stays within its bound, and a text that would take it past the
    /// bound empties it first: the newest texts are the ones cached.
    #[test]
    fn source_cache_starts_again_when_full() {
        let mut cache = SourceCache::default();
        let trees: ParsedSource = Rc::from(Vec::new());
        let text = |i: usize| format!("{i}{}", "x".repeat(SourceCache::MAX_BYTES / 3 - 2));
        for i in 0..3 {
            cache.put("t", &text(i), trees.clone());
        }
        assert!(cache.get("t", &text(0)).is_some() && cache.get("t", &text(2)).is_some());
        assert!(cache.get("other name", &text(0)).is_none());
        cache.put("t", &text(3), trees.clone());
        assert!(cache.get("t", &text(3)).is_some(), "the newest text is cached");
        assert!(cache.get("t", &text(0)).is_none());
        assert!(cache.borrow_bytes() <= SourceCache::MAX_BYTES);
        cache.put("t", &"x".repeat(SourceCache::MAX_BYTES + 1), trees);
        assert!(
            cache.get("t", &text(3)).is_some(),
            "a text past the bound is not cached"
        );
    }
}
