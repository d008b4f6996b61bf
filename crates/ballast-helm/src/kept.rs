//! Template parses kept between the renders of one render worker ([`crate::on_render_thread`]),
//! so that a chart rendered again (a controller's next reconcile, the same chart with other
//! values, another release of it) or a text rendered before (bitnami's `common`, vendored by
//! many charts) is not parsed again.
//!
//! Guarantees: a render gets the same set, output and errors with parses kept as without (a
//! parse is pure: the same text with the same functions gives the same bodies, and each file's
//! trees get their own name and source; see [`ballast_gotemplate::Parses`]). Parses are kept
//! only on a render worker, by that worker alone, for texts of [`MAX_TEXT_BYTES`] at most in
//! all (past that, they start again from nothing); a render that panics leaves nothing kept.
//! [`keep_parses`]`(false)` makes every render parse from nothing (cold renders, to measure).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use ballast_gotemplate::{Parses, Templates};

/// Most bytes of template text (files and `tpl` texts) whose parses one worker keeps.
pub const MAX_TEXT_BYTES: usize = 16 << 20;

static KEEP: AtomicBool = AtomicBool::new(true);

thread_local! {
    /// Set on a render worker's thread: parses may be kept there.
    static ON_WORKER: Cell<bool> = const { Cell::new(false) };
    /// The parses this worker's renders kept.
    static KEPT: RefCell<Option<Parses>> = const { RefCell::new(None) };
}

/// Whether render workers keep parses between renders (on unless turned off): off, each render
/// parses every template from nothing, and what was kept is dropped at the next render.
pub fn keep_parses(on: bool) {
    KEEP.store(on, Ordering::Relaxed);
}

/// Marks the calling thread as a render worker (see [`crate::on_render_thread`]).
pub(crate) fn mark_worker() {
    ON_WORKER.set(true);
}

/// Drops what this thread kept (after a panic, whose set may be half made).
pub(crate) fn forget() {
    let kept = KEPT.take();
    drop(kept);
}

/// True if this thread kept the parse of a file of this text: a render will not lex it.
pub(crate) fn knows(text: &[u8]) -> bool {
    KEEP.load(Ordering::Relaxed)
        && KEPT.with(|k| {
            k.borrow()
                .as_ref()
                .is_some_and(|p| std::str::from_utf8(text).is_ok_and(|t| p.knows(t)))
        })
}

/// An empty set of Helm's functions for a render on this thread, with the parses kept here.
pub(crate) fn set() -> Templates {
    let kept = KEPT.take();
    match kept {
        Some(parses) if KEEP.load(Ordering::Relaxed) => Templates::from_parses(parses),
        kept => {
            crate::free_later(kept);
            let mut funcs = crate::funcs::sprig();
            crate::engine::add_render_functions(&mut funcs);
            Templates::new(Rc::new(funcs))
        }
    }
}

/// Keeps what the parses of `set` (made by [`set`]) leave, for this thread's next render.
pub(crate) fn keep(set: &mut Templates) {
    if !ON_WORKER.get() || !KEEP.load(Ordering::Relaxed) {
        return;
    }
    let parses = set.take_parses();
    if parses.text_bytes() > MAX_TEXT_BYTES {
        crate::free_later(parses);
        return;
    }
    KEPT.set(Some(parses));
}

/// The bytes of template text whose parses this thread keeps (0 off a render worker).
pub fn held_text_bytes() -> usize {
    KEPT.with(|k| k.borrow().as_ref().map_or(0, Parses::text_bytes))
}
