//! What one render worker ([`crate::on_render_thread`]) keeps between its renders, so that a
//! chart rendered again (a controller's next reconcile, the same chart with other values,
//! another release of it) is neither unpacked nor parsed again:
//! - template parses ([`set`], [`keep`]): a text rendered before, in this chart or another
//!   (bitnami's `common`, vendored by many charts), is not lexed or parsed again;
//! - loaded chart archives ([`chart`]): an archive of the same bytes as one loaded before is
//!   not decompressed, and its `Chart.yaml` and values files are not read again.
//!
//! Guarantees: a render gets the same output and errors with what is kept as without. A parse
//! is pure: the same text with the same functions gives the same bodies, and each file's trees
//! get their own name and source (see [`ballast_gotemplate::Parses`]). A kept chart is handed
//! out as a copy whose values maps are its own (templates may change maps in place: `set`,
//! `merge`), its files shared and never changed. Only a render worker keeps, for itself alone:
//! parses of [`MAX_TEXT_BYTES`] of text and [`MAX_SPELLINGS`] shared spellings at most (past
//! that, they start again from nothing) and
//! charts of [`MAX_CHART_BYTES`] of files at most (the oldest dropped first, and with any
//! of them the parses kept by identity, which hold their archives' buffers); a render that
//! panics leaves no parse kept. [`keep_between_renders`]`(false)` makes each render start from
//! nothing (a chart's first render, to measure).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use ballast_gotemplate::{Parses, Templates};

use crate::Error;
use crate::chart::Chart;

/// Most bytes of template text (files and `tpl` texts) whose parses one worker keeps.
pub const MAX_TEXT_BYTES: usize = 16 << 20;

/// Most spellings (names, string constants...) shared by the parses one worker keeps: they
/// grow with texts whose parse is not kept too (`tpl` texts past their cache, say).
pub const MAX_SPELLINGS: usize = 1 << 18;

/// Most bytes of files (decompressed) of the chart archives one worker keeps.
pub const MAX_CHART_BYTES: usize = 32 << 20;

static KEEP: AtomicBool = AtomicBool::new(true);

thread_local! {
    /// Set on a render worker's thread: parses may be kept there.
    static ON_WORKER: Cell<bool> = const { Cell::new(false) };
    /// Whether the render on this thread keeps what it renders (see [`begin_render`]).
    static THIS_RENDER_KEEPS: Cell<bool> = const { Cell::new(true) };
    /// Whether the chart of the render on this thread is a kept chart (see [`chart_is_kept`]).
    static CHART_KEPT: Cell<bool> = const { Cell::new(false) };
    /// The parses this worker's renders kept.
    static KEPT: RefCell<Option<Parses>> = const { RefCell::new(None) };
    /// The chart archives this worker loaded, the latest used last.
    static CHARTS: RefCell<Vec<KeptChart>> = const { RefCell::new(Vec::new()) };
    /// Set when a kept chart was dropped: the parses kept by identity are dropped too (see
    /// [`unpin_if_dropped`]).
    static CHART_DROPPED: Cell<bool> = const { Cell::new(false) };
}

/// Drops the parses of `parses` kept by identity if a kept chart was dropped since: each
/// holds (pins) the buffer its file was read from, the whole decompressed archive, which
/// would otherwise outlive the chart, uncounted and never to be found again.
fn unpin_if_dropped(parses: &mut Parses) {
    if CHART_DROPPED.replace(false) {
        parses.unpin_all();
    }
}

/// A chart archive a worker loaded: its bytes, the chart, and the bytes of the chart's files.
struct KeptChart {
    archive: Box<[u8]>,
    chart: Chart,
    size: usize,
}

/// Whether render workers keep parses and charts between renders (on unless turned off): off,
/// each render unpacks and parses from nothing, and each worker drops what it kept at its next
/// job.
pub fn keep_between_renders(on: bool) {
    KEEP.store(on, Ordering::Relaxed);
}

/// True if the render on this thread keeps what it renders for the next ones: on a render
/// worker, while [`keep_between_renders`] is on, and unless the render said otherwise
/// ([`begin_render`]).
pub(crate) fn keeping() -> bool {
    ON_WORKER.get() && THIS_RENDER_KEEPS.get() && KEEP.load(Ordering::Relaxed)
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

/// True if this thread kept the parse of a file of this identity or text (see
/// [`Parses::knows_file`]): a render will not lex it.
pub(crate) fn knows(text: &[u8], id: (usize, usize)) -> bool {
    keeping() && KEPT.with(|k| k.borrow().as_ref().is_some_and(|p| p.knows_file(text, id)))
}

/// True if the chart of this thread's render is a kept chart ([`chart`]): its files' bytes
/// stay as they are while kept, so their address and length identify their text.
pub(crate) fn chart_is_kept() -> bool {
    CHART_KEPT.get()
}

/// A render begins on this thread: its chart is not known to be kept yet, and it keeps what it
/// renders if `keeps` (not in a process that ends after its renders: `exit_after_renders`,
/// where keeping is work for nothing).
pub(crate) fn begin_render(keeps: bool) {
    CHART_KEPT.set(false);
    THIS_RENDER_KEEPS.set(keeps);
    if !KEEP.load(Ordering::Relaxed) {
        // Keeping turned off: whichever worker runs the next job holds nothing from before.
        crate::free_later(KEPT.take());
        crate::free_later(CHARTS.take());
    }
}

/// An empty set of Helm's functions for a render on this thread, with the parses kept here.
pub(crate) fn set() -> Templates {
    let kept = KEPT.take();
    match kept {
        Some(mut parses) if keeping() => {
            unpin_if_dropped(&mut parses);
            Templates::from_parses(parses)
        }
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
    if !keeping() {
        return;
    }
    let mut parses = set.take_parses();
    unpin_if_dropped(&mut parses);
    if parses.text_bytes() > MAX_TEXT_BYTES || parses.spellings() > MAX_SPELLINGS {
        crate::free_later(parses);
        return;
    }
    KEPT.set(Some(parses));
}

/// The bytes of template text whose parses this thread keeps (0 off a render worker).
pub fn held_text_bytes() -> usize {
    KEPT.with(|k| k.borrow().as_ref().map_or(0, Parses::text_bytes))
}

/// The chart of the archive `bytes`, as `load` (the archive's chart, not yet checked) gives
/// it: a copy of the one kept for the same bytes, else loaded now and, on a render worker,
/// kept.
pub(crate) fn chart(bytes: &[u8], load: impl FnOnce(&[u8]) -> Result<Chart, Error>) -> Result<Chart, Error> {
    if !keeping() {
        let dropped = CHARTS.take();
        crate::free_later(dropped);
        return load(bytes);
    }
    let found = CHARTS.with(|c| {
        let mut charts = c.borrow_mut();
        let i = charts.iter().position(|k| *k.archive == *bytes)?;
        // The latest used last: the first to go is the one unused longest.
        let entry = charts.remove(i);
        let copy = copy_of(&entry.chart);
        charts.push(entry);
        Some(copy)
    });
    if let Some(chart) = found {
        CHART_KEPT.set(true);
        return Ok(chart);
    }
    let chart = load(bytes)?;
    let size = files_bytes(&chart);
    if size <= MAX_CHART_BYTES {
        let copy = copy_of(&chart);
        CHARTS.with(|c| {
            let mut charts = c.borrow_mut();
            let mut held: usize = charts.iter().map(|k| k.size).sum();
            while held + size > MAX_CHART_BYTES && !charts.is_empty() {
                let dropped = charts.remove(0);
                held -= dropped.size;
                crate::free_later(dropped);
                CHART_DROPPED.set(true);
            }
            charts.push(KeptChart {
                archive: bytes.into(),
                chart: copy,
                size,
            });
        });
        CHART_KEPT.set(true);
    }
    Ok(chart)
}

/// The bytes of a chart's files, its subcharts' included.
fn files_bytes(chart: &Chart) -> usize {
    let own = chart
        .templates
        .iter()
        .chain(&chart.files)
        .map(|f| f.data.len())
        .sum::<usize>()
        + [&chart.lock, &chart.raw_values, &chart.schema]
            .iter()
            .filter_map(|b| b.as_ref().map(|b| b.len()))
            .sum::<usize>();
    own + chart.dependencies.iter().map(files_bytes).sum::<usize>()
}

/// A copy of `chart` for a render: its files and values are shared with the kept chart. A
/// render never changes a chart's values in place (dependency processing replaces them with a
/// tree of its own, and coalescing copies what it changes: see `values::coalesce`), so the
/// kept chart stays as it was loaded.
fn copy_of(chart: &Chart) -> Chart {
    chart.clone()
}

/// The spellings the parses this thread keeps share (0 off a render worker): see
/// [`MAX_SPELLINGS`].
pub fn held_spellings() -> usize {
    KEPT.with(|k| k.borrow().as_ref().map_or(0, Parses::spellings))
}

/// The bytes of the files of the charts this thread keeps (0 off a render worker).
pub fn held_chart_bytes() -> usize {
    CHARTS.with(|c| c.borrow().iter().map(|k| k.size).sum())
}
