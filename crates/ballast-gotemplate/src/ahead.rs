//! Lexing ahead of the parse: texts lexed on a second thread while the caller does other work
//! (a chart's values coalesced and checked), then parsed from those items by
//! [`crate::Templates::parse_ahead`].
//!
//! Guarantees: a parse from an item lexed ahead gives the same trees and the same errors as a
//! parse of the text alone (the lexer is the same function either way); a text the thread has
//! not reached is taken back and lexed by the parse, so the parse never waits for more than the
//! one text the thread is lexing; dropping the [`LexAhead`] stops the thread after that text.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::parse::Lexed;

/// Makes a text on the lexer thread (a chart file's bytes decoded, say).
pub type Source = Box<dyn FnOnce() -> String + Send>;

/// Texts, each under a key, being lexed on a second thread in the order given.
pub struct LexAhead<K: Eq + Hash + Clone + Send + 'static> {
    shared: Arc<Shared<K>>,
}

struct Shared<K> {
    state: Mutex<State<K>>,
    /// Signalled each time a text is lexed.
    lexed_one: Condvar,
}

struct State<K> {
    /// Not yet taken by the thread.
    queue: VecDeque<(K, Source)>,
    /// The key the thread is lexing now.
    lexing: Option<K>,
    /// Lexed, not yet taken by the parse.
    lexed: HashMap<K, Lexed>,
}

/// What [`LexAhead::take`] found for a key.
pub(crate) enum Taken {
    /// Lexed by the thread.
    Lexed(Lexed),
    /// Not reached by the thread: its source, to be lexed by the parse.
    Source(Source),
    /// Never given, or already taken.
    Missing,
}

impl<K: Eq + Hash + Clone + Send + 'static> LexAhead<K> {
    /// Starts a thread (named `template-lex`) that runs `thread_start` (a caller that sets up
    /// each thread's heap, say), then makes and lexes each text of `texts` in turn. A key given
    /// twice is lexed once (its first source). Should the thread fail to start, every text is
    /// left to the parse.
    pub fn start(texts: Vec<(K, Source)>, thread_start: impl FnOnce() + Send + 'static) -> LexAhead<K> {
        LexAhead::start_then(texts, thread_start, || {})
    }

    /// [`LexAhead::start`], the thread running `then` once no text is left to lex (all lexed,
    /// taken back by the parse, dropped by [`LexAhead::retain`], or the [`LexAhead`] dropped):
    /// other work that can wait until the texts are lexed.
    pub fn start_then(
        texts: Vec<(K, Source)>,
        thread_start: impl FnOnce() + Send + 'static,
        then: impl FnOnce() + Send + 'static,
    ) -> LexAhead<K> {
        let mut seen = std::collections::HashSet::with_capacity(texts.len());
        let queue = texts.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue,
                lexing: None,
                lexed: HashMap::new(),
            }),
            lexed_one: Condvar::new(),
        });
        let worker = shared.clone();
        // Not joined: dropping the handle detaches the thread, which ends once the queue is
        // empty (see `Drop`).
        let _ = std::thread::Builder::new().name("template-lex".into()).spawn(move || {
            thread_start();
            worker.run();
            drop(worker);
            then();
        });
        LexAhead { shared }
    }

    /// Drops the texts the thread has not reached whose key `keep` refuses (those of a chart
    /// found disabled since the start).
    pub fn retain(&self, keep: impl Fn(&K) -> bool) {
        self.shared.lock().queue.retain(|(k, _)| keep(k));
    }

    /// The text under `key`: lexed (waiting if the thread is lexing it now), or its source if
    /// the thread has not reached it (it then never will).
    pub(crate) fn take(&self, key: &K) -> Taken {
        let mut state = self.shared.lock();
        loop {
            if let Some(lexed) = state.lexed.remove(key) {
                return Taken::Lexed(lexed);
            }
            if state.lexing.as_ref() == Some(key) {
                state = self.shared.lexed_one.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            return match state.queue.iter().position(|(k, _)| k == key) {
                Some(i) => match state.queue.remove(i) {
                    Some((_, source)) => Taken::Source(source),
                    None => Taken::Missing,
                },
                None => Taken::Missing,
            };
        }
    }
}

impl<K: Eq + Hash + Clone + Send + 'static> Drop for LexAhead<K> {
    fn drop(&mut self) {
        self.shared.lock().queue.clear();
    }
}

impl<K: Eq + Hash + Clone> Shared<K> {
    fn lock(&self) -> MutexGuard<'_, State<K>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) {
        loop {
            let (key, source) = {
                let mut state = self.lock();
                let Some((key, source)) = state.queue.pop_front() else {
                    return;
                };
                state.lexing = Some(key.clone());
                (key, source)
            };
            // A panic in `source` must not leave the parse waiting on `lexing`.
            let lexed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Lexed::now(source())));
            let mut state = self.lock();
            state.lexing = None;
            if let Ok(lexed) = lexed {
                state.lexed.insert(key, lexed);
            }
            drop(state);
            self.lexed_one.notify_all();
        }
    }
}
