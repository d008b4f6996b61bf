//! Helm charts rendered natively, byte for byte as `helm template` (helm v4) prints them.
//!
//! The parts, in the order a render uses them:
//! - [`chart`]: loading a chart from a directory or a `.tgz` (safely), `.helmignore`,
//!   `Chart.yaml`, dependencies in `charts/`.
//! - [`values`]: Helm's values: `-f` files and the `--set` family, coalescing with chart
//!   defaults, globals, dependency conditions, tags and `import-values`; [`schema`] validation.
//! - [`yaml`], [`json`], [`toml`]: the data formats as Helm's Go libraries read and write them.
//! - [`funcs`]: sprig v3 and Helm's functions, on [`ballast_gotemplate`].
//! - [`engine`]: every template of every enabled chart parsed into one set and executed.
//! - [`output`]: documents split, sorted in Helm's install order and printed as `helm template`.
//! - [`release`]: Helm's release record and its storage Secret, as helm v4 writes them.

pub mod capabilities;
pub mod chart;
pub mod engine;
pub mod files;
pub mod funcs;
pub mod json;
pub mod kept;
pub mod output;
pub mod release;
pub mod schema;
pub mod semver;
pub mod toml;
pub mod values;
pub mod yaml;

pub use ballast_gotemplate::Value;
pub use chart::Chart;
pub use kept::keep_between_renders;

use std::path::Path;

/// A failed load, values merge, render or print, with the message `helm` would give
/// (file, line and column, the cause), never a panic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

/// The options of `helm template` that change what is printed.
#[derive(Clone, Debug, Default)]
pub struct TemplateOptions {
    /// Release name (`helm template NAME`); empty means `release-name`.
    pub release_name: String,
    /// `-n`: the release namespace; empty means `default`.
    pub namespace: String,
    /// `-f` and the `--set` family.
    pub values: values::ValueOptions,
    /// `--include-crds`: print the raw `crds/` files first.
    pub include_crds: bool,
    /// `--skip-tests`: leave out `test` hooks.
    pub skip_tests: bool,
    /// `--kube-version`: `.Capabilities.KubeVersion` (default v1.35.0 as helm v4.1.4).
    pub kube_version: Option<String>,
    /// `--api-versions`: extra `.Capabilities.APIVersions` entries.
    pub api_versions: Vec<String>,
    /// `--show-only`: print only these templates (paths from the chart's parent, e.g.
    /// `mychart/templates/svc.yaml`).
    pub show_only: Vec<String>,
    /// `--is-upgrade`: `.Release.IsUpgrade` true, `IsInstall` false.
    pub is_upgrade: bool,
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
    /// `--no-hooks`: leave out every hook.
    pub no_hooks: bool,
}

/// The message helm appends to an error found while rendering (not while loading).
pub const DEBUG_HINT: &str = "\n\nUse --debug flag to render out invalid YAML";

/// Stack of the thread a render runs on: deep `include`/`tpl` nesting recurses.
const RENDER_STACK: usize = 256 << 20;

thread_local! {
    /// On a render thread: what the render leaves to free once its result is handed back.
    static LEFTOVERS: std::cell::RefCell<Option<Vec<Box<dyn std::any::Any>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Frees `x` after the render's result has been handed back when called on a render thread
/// (see [`on_render_thread`]); anywhere else, now. For the large parts of a render (the chart,
/// its values, the parsed templates): freeing them is a tenth of a large chart's render.
pub(crate) fn free_later<T: 'static>(x: T) {
    let now = LEFTOVERS.with(|l| match l.borrow_mut().as_mut() {
        Some(kept) => {
            kept.push(Box::new(x));
            None
        }
        None => Some(x),
    });
    drop(now);
}

thread_local! {
    /// Set by [`exit_after_renders`] on the thread that starts renders.
    static EXIT_AFTER_RENDERS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Declares that this process exits as soon as the renders the calling thread starts are done
/// (`ballast template`): what such a render leaves to free (see [`free_later`]) is then left
/// to the process's exit, which takes the whole heap back at once, rather than freed one
/// allocation at a time on the render thread while the caller prints and exits (freeing is a
/// tenth of a large chart's render, and on a machine whose other CPU is busy it delays the
/// caller). Never call this on a thread of a process that keeps running: each render's chart,
/// values and trees would stay allocated.
pub fn exit_after_renders() {
    EXIT_AFTER_RENDERS.with(|e| e.set(true));
}

/// Runs `f` on a render worker, a thread with a stack large enough for [`RENDER_STACK`]'s
/// budget, allocating from the caller's arena, and returns its result as soon as `f` returns:
/// what the render handed to `free_later` is freed on that thread afterwards, while the caller
/// goes on. A panic in `f` is an error. [`template`] runs on it; a caller of
/// [`template_loaded`] should.
///
/// Workers are kept between renders ([`MAX_IDLE_WORKERS`] of them at most while idle), each
/// with the charts and template parses of its earlier renders ([`kept`]); the last one to
/// finish serves the next render, so that a caller rendering one chart after another keeps one
/// worker. A render finds a new worker when none is idle: renders run side by side.
pub fn on_render_thread<T: Send + 'static>(f: impl FnOnce() -> Result<T, Error> + Send + 'static) -> Result<T, Error> {
    let failed = || Error("the render failed unexpectedly".into());
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let arena = current_arena();
    let leave_leftovers = EXIT_AFTER_RENDERS.with(std::cell::Cell::get);
    let mut job: Job = Box::new(move |idle| {
        use_arena(arena);
        LEFTOVERS.with(|l| *l.borrow_mut() = Some(Vec::new()));
        kept::begin_render(!leave_leftovers);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
            // The set a panic left may be half made: nothing of it is kept.
            kept::forget();
            Err(failed())
        });
        // Idle before the result is handed back: a caller's next render finds this worker.
        idle();
        // The caller may be gone (its own thread ended): nothing to hand back then.
        let _ = tx.send(result);
        let leftovers = LEFTOVERS.with(|l| l.borrow_mut().take());
        if leave_leftovers {
            std::mem::forget(leftovers);
            return None;
        }
        leftovers
    });
    // An idle worker, else a new one (an idle worker that has ended gives the job back).
    loop {
        let worker = idle_workers().pop();
        match worker {
            Some(worker) => match worker.send(job) {
                Ok(()) => break,
                Err(std::sync::mpsc::SendError(back)) => job = back,
            },
            None => {
                start_worker(job)?;
                break;
            }
        }
    }
    rx.recv().unwrap_or_else(|_| Err(failed()))
}

/// A render as a render worker runs it: it calls the worker's `idle` (the worker joins the idle
/// ones) right before it hands its result back, then returns what it left to free
/// ([`free_later`]).
type Job = Box<dyn FnOnce(&mut dyn FnMut()) -> Leftovers + Send>;

/// What a render left to free.
type Leftovers = Option<Vec<Box<dyn std::any::Any>>>;

/// Most render workers kept waiting for a render (each keeps its parses: see [`kept`]).
pub const MAX_IDLE_WORKERS: usize = 2;

/// The render workers waiting for a render, taken from the end: those that keep what they
/// rendered last (the latest last), those that hold nothing first.
fn idle_workers() -> std::sync::MutexGuard<'static, Vec<std::sync::mpsc::SyncSender<Job>>> {
    static IDLE: std::sync::Mutex<Vec<std::sync::mpsc::SyncSender<Job>>> = std::sync::Mutex::new(Vec::new());
    IDLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts a render worker running `job` first. While workers keep what they render (see
/// [`kept`]), once a job has its result the worker joins the idle workers (or is to end, when
/// [`MAX_IDLE_WORKERS`] are idle already), the result is handed back, and the worker frees what
/// the job left: a render sent to it meanwhile starts once that is done, with what those
/// leftovers kept, rather than on a new worker with nothing kept. Otherwise it frees first
/// and joins the idle workers after, and a caller's next render, not waiting for that, starts
/// on another worker alongside the freeing.
fn start_worker(job: Job) -> Result<(), Error> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(1);
    std::thread::Builder::new()
        .name("helm-render".into())
        .stack_size(RENDER_STACK)
        .spawn(move || {
            kept::mark_worker();
            let mut job = job;
            loop {
                let mut joined = None;
                // A worker that keeps what it rendered goes last, taken first; one holding
                // nothing goes first, taken last.
                let join = |keeps: bool| {
                    let mut idle = idle_workers();
                    let room = idle.len() < MAX_IDLE_WORKERS;
                    if room && keeps {
                        idle.push(tx.clone());
                    } else if room {
                        idle.insert(0, tx.clone());
                    }
                    room
                };
                let leftovers = job(&mut || {
                    if kept::keeping() {
                        joined = Some(join(true));
                    }
                });
                drop(leftovers);
                let waiting = match joined {
                    Some(waiting) => waiting,
                    None => join(false),
                };
                if !waiting {
                    return;
                }
                match rx.recv() {
                    Ok(next) => job = next,
                    Err(_) => return,
                }
            }
        })
        .map(drop)
        .map_err(|e| Error(format!("cannot start the render: {e}")))
}

/// The jemalloc arena the calling thread allocates from (`None` where jemalloc is not there
/// to ask).
pub(crate) fn current_arena() -> Option<u32> {
    use tikv_jemalloc_ctl::{Access, AsName};
    b"thread.arena\0".name().read().ok()
}

/// Makes the calling thread allocate from `arena` (see [`current_arena`]); nothing if `None`
/// or refused. A helper thread started per render takes its caller's arena: left to itself,
/// each new thread is given the least used arena, and the renders of one process wander
/// among arenas, faulting in fresh pages each time. Measured with `render_loop` (airflow, 60
/// renders in one process): with huge pages and no background thread (a one-shot command
/// rendering several charts), 2,100 page faults per render before, 60 once bound; with the
/// controller's heap (4 KiB pages, background thread), 175 before, 135 once bound.
pub(crate) fn use_arena(arena: Option<u32>) {
    use tikv_jemalloc_ctl::{Access, AsName};
    if let Some(arena) = arena {
        let _ = b"thread.arena\0".name().write(arena);
    }
}

/// What a helper thread of a render (the lexer) runs first: it allocates from the caller's
/// arena ([`use_arena`]) and moves itself to another CPU than the caller's ([`move_off`]).
/// The caller, having started the thread, yields once (`std::thread::yield_now`) so that it
/// runs and moves at once.
pub(crate) fn helper_start() -> impl FnOnce() + Send + Clone + 'static {
    let arena = current_arena();
    let caller_cpu = current_cpu();
    move || {
        use_arena(arena);
        let _ = move_off(caller_cpu);
    }
}

/// The CPU the calling thread runs on, where that can be asked.
fn current_cpu() -> Option<usize> {
    #[cfg(target_os = "linux")]
    return nix::sched::sched_getcpu().ok();
    #[cfg(not(target_os = "linux"))]
    None
}

/// Moves the calling thread to another CPU than `cpu` (when it may run on another), then
/// lets it run anywhere again: it stays where it was moved until the scheduler moves it. A
/// new thread is queued on its creator's CPU; where the kernel does not balance it to an idle
/// CPU (seen on 2-CPU virtual machines: a thread started by a busy thread ran only when its
/// creator stopped, 3 ms later, the other CPU idle), a helper would share its caller's CPU
/// instead of working beside it. Blocking the caller until the helper has moved is no
/// cure there: the caller's CPU halts, and waking it again took up to 2 ms. Returns the CPU
/// it was moved to, `None` if it was not moved (no other CPU allowed, or no way to ask).
fn move_off(cpu: Option<usize>) -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
        let me = nix::unistd::Pid::from_raw(0);
        let (Some(cpu), Ok(allowed)) = (cpu, sched_getaffinity(me)) else {
            return None;
        };
        let mut others = allowed;
        if others.unset(cpu).is_err() || !(0..CpuSet::count()).any(|c| others.is_set(c).unwrap_or(false)) {
            return None;
        }
        sched_setaffinity(me, &others).ok()?;
        let moved_to = current_cpu();
        let _ = sched_setaffinity(me, &allowed);
        moved_to
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpu;
        None
    }
}

/// Renders the chart at `chart` (a directory or a `.tgz`) with the user values of
/// `opts.values` and prints it exactly as `helm template` does. Runs on its own thread
/// (a large stack for deep template nesting).
pub fn template(chart: &Path, opts: &TemplateOptions) -> Result<String, Error> {
    let (chart, opts) = (chart.to_path_buf(), opts.clone());
    on_render_thread(move || {
        locate(&chart)?;
        let user = opts.values.merge()?;
        let chart = chart::load(&chart)?;
        chart.check_installable()?;
        template_loaded(chart, &user, &opts)
    })
}

/// [`template`] for a chart given as its files (paths from the chart root, `/`-separated,
/// `.helmignore` already applied) and values files given as texts (`-f`, in order; names for
/// messages), for callers that read files themselves (Kustomize's `helmCharts`, confined to
/// a repository). `opts.values` is not read.
pub fn template_files(
    files: Vec<(String, Vec<u8>)>,
    values: Vec<(String, String)>,
    opts: &TemplateOptions,
) -> Result<String, Error> {
    let opts = opts.clone();
    on_render_thread(move || {
        let files = files
            .into_iter()
            .map(|(name, data)| chart::archive::BufferedFile {
                name,
                data: chart::without_bom(data.into()),
            })
            .collect();
        let mut user = Value::empty_map();
        for (name, text) in &values {
            let doc = values::parse_values_doc(text).map_err(|e| Error(format!("failed to parse {name}: {e}")))?;
            user = values::merge_maps(&user, &doc);
        }
        let chart = chart::load_files(files)?;
        chart.check_installable()?;
        chart::check_dependencies(&chart)?;
        template_loaded(chart, &user, &opts)
    })
}

/// Helm's release name check (an empty name stands for helm template's default,
/// `release-name`): at most 53 characters of a DNS subdomain.
fn check_release_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Ok(());
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    if name.len() <= 53 && name.split('.').all(label_ok) {
        return Ok(());
    }
    Err(Error(format!(
        "release name check failed: release name {name:?}: invalid release name, must match regex \
         ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
    )))
}

/// [`template`] for a chart already loaded and user values already merged (`opts.values` is
/// not read), on the calling thread.
pub fn template_loaded(chart: Chart, user: &Value, opts: &TemplateOptions) -> Result<String, Error> {
    let render_err = |e: Error| Error(format!("{}{DEBUG_HINT}", e.0));
    let caps = capabilities::Capabilities::new(opts.kube_version.as_deref(), &opts.api_versions).map_err(Error)?;
    check_release_name(&opts.release_name)?;
    let (ahead, keys) = work_ahead(&chart, opts.skip_schema_validation);
    // Coalescing and the schema come before helm creates its release: their errors have no
    // --debug hint.
    let (chart, values) = values::prepare(chart, user)?;
    let kube_version = caps.check_kube_version(&chart.metadata);
    let name = if opts.release_name.is_empty() {
        "release-name"
    } else {
        &opts.release_name
    };
    let namespace = if opts.namespace.is_empty() {
        "default"
    } else {
        &opts.namespace
    };
    let ctx = engine::Context {
        release: capabilities::release_object(name, namespace, opts.is_upgrade, 1),
        capabilities: caps.into_value(),
        limits: ballast_gotemplate::Limits {
            max_stack: RENDER_STACK / 2,
            ..ballast_gotemplate::Limits::default()
        },
    };
    // Parsed before the schemas are checked, while the helper thread of `work_ahead` reads
    // them; errors are still reported in helm's order (schema, kubeVersion, then templates).
    let parsed = engine::parse(&chart, &values, &ctx, ahead.as_ref());
    if !opts.skip_schema_validation {
        schema_check(&chart, &values)?;
    }
    // From here on, helm has a release to show: its errors end with the --debug hint.
    kube_version.map_err(|e| render_err(Error(e)))?;
    let parsed = parsed.map_err(render_err)?;
    let _keys = keys.keys_ahead(&parsed);
    let rendered = engine::execute(parsed, &ctx).map_err(render_err)?;
    let print = output::PrintOptions {
        include_crds: opts.include_crds,
        skip_tests: opts.skip_tests,
        show_only: opts.show_only.clone(),
        no_hooks: opts.no_hooks,
    };
    let mut crds = Vec::new();
    if opts.include_crds {
        collect_crds(&chart, &chart.metadata.name, &mut crds);
    }
    let parse = |src: &str| yaml::parse_document_head(src).map_err(|e| e.0);
    let printed = output::print(&rendered, &crds, &print, &parse).map_err(|e| {
        if e.0.starts_with("YAML parse error") {
            render_err(e)
        } else {
            e
        }
    });
    free_later((chart, values, rendered, crds));
    printed
}

/// Helm's `LocateChart` for a chart that is not on disk: a path is "not found"; any other
/// name would be looked up in a repository, which `ballast template` never does.
fn locate(chart: &Path) -> Result<(), Error> {
    if std::fs::metadata(chart).is_ok() {
        return Ok(());
    }
    let name = chart.to_string_lossy();
    let name = name.trim();
    if chart.is_absolute() || name.starts_with('.') {
        return Err(Error(format!(
            "path {} not found",
            ballast_gotemplate::fmt::quote(name)
        )));
    }
    match name.split_once('/') {
        None => Err(Error(format!(
            "non-absolute URLs should be in form of repo_name/path_to_chart, got: {name}"
        ))),
        Some((repo, _)) => Err(Error(format!(
            "{name}: not a local chart, and charts are not fetched from repositories (repo {repo}); download it first"
        ))),
    }
}

/// Starts, on a second thread, what a render of `chart` (just loaded) can do beside it: its
/// templates lexed in parse order ([`engine::lex_ahead`]), then the certificate call sites
/// they hold found ([`KeySites`], to make keys ahead, [`funcs::crypto::ahead`]), then its
/// schemas read (unless `skip_schema`) while the render thread parses, which it does before it
/// checks them. Lexing comes first because the parse needs it first: measured on redis (150 KB
/// schema), the parse took 1.85 ms instead of 2.2, and the schema was read before the parse
/// ended; a render that reaches a schema still being read waits for it rather than read it a
/// second time. For a chart too small to gain from a second thread, no lexing ahead, and the
/// call sites are found here. The lexing is at work while what is returned is held.
fn work_ahead(chart: &Chart, skip_schema: bool) -> (Option<ballast_gotemplate::LexAhead<engine::TextKey>>, KeySites) {
    fn texts(chart: &Chart, out: &mut Vec<chart::Blob>) {
        out.extend(chart.templates.iter().map(|t| t.data.clone()));
        for dep in &chart.dependencies {
            texts(dep, out);
        }
    }
    let schemas = if skip_schema {
        Vec::new()
    } else {
        schema::documents(chart)
    };
    let mut templates = Vec::new();
    texts(chart, &mut templates);
    let templates = std::sync::Arc::new(templates);
    let on_helper = templates.clone();
    let (found, sites) = std::sync::mpsc::sync_channel(1);
    let lexing = engine::lex_ahead(chart, move || {
        let _ = found.send(engine::key_sites_by_text(&on_helper));
        schema::prepare_ahead(&schemas)
    });
    if lexing.is_some() {
        return (lexing, KeySites::Finding(sites));
    }
    (None, KeySites::Found(engine::key_sites_by_text(&templates)))
}

/// The certificate call sites of a chart's templates ([`engine::key_sites_by_text`]).
enum KeySites {
    /// Being found on a helper thread.
    Finding(std::sync::mpsc::Receiver<std::collections::HashMap<engine::TextKey, usize>>),
    /// Found.
    Found(std::collections::HashMap<engine::TextKey, usize>),
}

impl KeySites {
    /// Keys made ahead for the render of `parsed` about to run on this thread: as many as its
    /// templates reach with its values ([`engine::keys_reached`]); `None` for none (a helper
    /// that ended without finding the sites means none either: keys are then made on the spot).
    fn keys_ahead(self, parsed: &engine::Parsed) -> Option<funcs::crypto::ahead::KeysAhead> {
        let sites = match self {
            KeySites::Found(sites) => sites,
            KeySites::Finding(found) => found.recv().ok()?,
        };
        let keys = engine::keys_reached(parsed, &sites);
        (keys > 0).then(|| funcs::crypto::ahead::KeysAhead::start(keys, helper_start))
    }
}

/// Values schema validation (`values.schema.json` of each chart).
fn schema_check(chart: &Chart, values: &Value) -> Result<(), Error> {
    schema::validate(chart, values)
}

/// Helm's `CRDObjects`: each chart's `crds/*.{yaml,yml,json}` files, the chart's own first,
/// then its (enabled) subcharts', named from the top chart's parent.
fn collect_crds(chart: &Chart, full_path: &str, out: &mut Vec<output::Crd>) {
    for f in &chart.files {
        let ext = f.name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        if f.name.starts_with("crds/") && matches!(ext.as_deref(), Some("yaml" | "yml" | "json")) {
            out.push(output::Crd {
                path: format!("{full_path}/{}", f.name),
                data: f.data.to_vec(),
            });
        }
    }
    for dep in &chart.dependencies {
        collect_crds(dep, &format!("{full_path}/charts/{}", dep.metadata.name), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The render thread allocates from its caller's arena, whichever that is: here one made
    /// for this test, which jemalloc never gives a new thread by itself.
    #[test]
    fn the_render_thread_takes_its_callers_arena() {
        use tikv_jemalloc_ctl::{Access, AsName};
        let made: u32 = b"arenas.create\0".name().read().expect("arenas.create");
        use_arena(Some(made));
        assert_eq!(current_arena(), Some(made));
        let seen = on_render_thread(|| Ok(current_arena())).expect("render thread");
        assert_eq!(seen, Some(made));
    }

    /// What a render hands to `free_later` is freed on its thread once the result is back;
    /// after `exit_after_renders` on the calling thread (its own thread here: the setting is
    /// per thread), it is left to the process's exit instead, and the result is the same.
    #[test]
    fn leftovers_are_freed_unless_left_to_the_exit() {
        use std::sync::Arc;
        use std::time::{Duration, Instant};
        let render = |held: Arc<()>| {
            on_render_thread(move || {
                free_later(held);
                Ok(7)
            })
        };
        // Waits until the render thread has dropped its copy of `held`.
        let freed = |held: &Arc<()>, what: &str| {
            let start = Instant::now();
            while Arc::strong_count(held) > 1 {
                assert!(start.elapsed() < Duration::from_secs(30), "{what}");
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        std::thread::spawn(move || {
            let held = Arc::new(());
            assert_eq!(render(held.clone()).expect("render"), 7);
            freed(&held, "leftovers not freed");

            exit_after_renders();
            let held = Arc::new(());
            assert_eq!(render(held.clone()).expect("render"), 7);
            // Freed, it would be within microseconds of the result: a wrong outcome can pass
            // only on a machine that stalls the render thread this long, a right one never fails.
            std::thread::sleep(Duration::from_millis(300));
            assert_eq!(Arc::strong_count(&held), 2, "leftovers freed after exit_after_renders");
        })
        .join()
        .expect("test thread");
        // Threads that did not ask still free theirs.
        let held = Arc::new(());
        assert_eq!(render(held.clone()).expect("render"), 7);
        freed(&held, "leftovers not freed on another thread");
    }

    /// A helper moves to another CPU than its caller's where it may run on one, and may run
    /// anywhere again after.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_helper_moves_off_its_callers_cpu() {
        use nix::sched::{CpuSet, sched_getaffinity};
        let me = nix::unistd::Pid::from_raw(0);
        let allowed = sched_getaffinity(me).expect("affinity");
        let count = (0..CpuSet::count())
            .filter(|c| allowed.is_set(*c).unwrap_or(false))
            .count();
        let caller = current_cpu().expect("sched_getcpu");
        let (moved_to, after) = std::thread::spawn(move || {
            let moved_to = move_off(Some(caller));
            (moved_to, sched_getaffinity(me).expect("affinity"))
        })
        .join()
        .expect("helper");
        assert_eq!(after, allowed, "the helper's affinity is restored");
        if count >= 2 {
            let moved_to = moved_to.expect("moved with another CPU allowed");
            assert_ne!(moved_to, caller);
            assert!(allowed.is_set(moved_to).expect("cpu"), "moved to an allowed CPU");
        } else {
            assert_eq!(moved_to, None, "one CPU allowed: nowhere to move");
        }
        // No CPU to leave: nothing done.
        assert_eq!(std::thread::spawn(|| move_off(None)).join().expect("helper"), None);
    }

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
    }

    /// As `helm template r .` printed it: the parent's `define` wins over the subchart's,
    /// subchart values are scoped and coalesced, a library chart gives only its defines,
    /// `tpl` sees `.Template`, `<no value>` is removed.
    #[test]
    fn renders_charts_and_subcharts_as_helm() {
        let d = tempfile::tempdir().expect("tempdir");
        write(
            d.path(),
            &[
                ("p/Chart.yaml", "apiVersion: v2\nname: p\nversion: 0.1.0\n"),
                ("p/values.yaml", "a: top\nsub:\n  b: fromparent\n"),
                ("p/templates/_x.tpl", r#"{{ define "x" }}parent-x{{ end }}"#),
                (
                    "p/templates/a.yaml",
                    "kind: A\nx: {{ include \"x\" . }}\ns: {{ include \"s\" .Subcharts.sub }}\nt: {{ tpl \"{{ .Values.a }}-{{ .Template.Name }}\" . }}\nm: \"{{ .Values.missing }}\"\nl: {{ include \"l\" . }}\n",
                ),
                ("p/charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
                ("p/charts/sub/values.yaml", "b: subdefault\nc: subonly\n"),
                (
                    "p/charts/sub/templates/_x.tpl",
                    r#"{{ define "x" }}sub-x{{ end }}{{ define "s" }}sub-s {{ .Values.b }}{{ end }}"#,
                ),
                (
                    "p/charts/sub/templates/b.yaml",
                    "kind: B\nx: {{ include \"x\" . }}\nb: {{ .Values.b }}\nc: {{ .Values.c }}\nbase: {{ .Template.BasePath }}\n",
                ),
                (
                    "p/charts/lib/Chart.yaml",
                    "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
                ),
                ("p/charts/lib/templates/_l.tpl", r#"{{ define "l" }}lib-l{{ end }}"#),
                ("p/charts/lib/templates/never.yaml", "kind: Never\n"),
            ],
        );
        let out = template(
            &d.path().join("p"),
            &TemplateOptions {
                release_name: "r".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            out,
            "---\n# Source: p/templates/a.yaml\nkind: A\nx: parent-x\ns: sub-s fromparent\nt: top-p/templates/a.yaml\nm: \"\"\nl: lib-l\n---\n# Source: p/charts/sub/templates/b.yaml\nkind: B\nx: parent-x\nb: fromparent\nc: subonly\nbase: p/charts/sub/templates\n"
        );
    }

    /// A chart with a failing schema, an unmet `kubeVersion` and a template that does not
    /// parse: helm's first error is the schema's, then the kubeVersion's, then the template's,
    /// though the templates are parsed before the schemas are checked; the same with the
    /// schemas read on the helper thread (a chart large enough for it) and without.
    #[test]
    fn errors_come_in_helms_order() {
        let filler = format!("{{{{/* {} */}}}}\n", "x".repeat(4000));
        for large in [false, true] {
            let d = tempfile::tempdir().expect("tempdir");
            let mut files = vec![
                (
                    "c/Chart.yaml".to_string(),
                    "apiVersion: v2\nname: c\nversion: 0.1.0\nkubeVersion: '>=99.0.0'\n".to_string(),
                ),
                ("c/values.yaml".to_string(), "x: 1\n".to_string()),
                (
                    "c/values.schema.json".to_string(),
                    r#"{"properties": {"x": {"type": "string"}}}"#.to_string(),
                ),
                ("c/templates/bad.yaml".to_string(), "a: {{ nope }}\n".to_string()),
            ];
            if large {
                let n = ballast_gotemplate::LEX_AHEAD_BYTES / filler.len() + 2;
                files.extend((0..n).map(|i| (format!("c/templates/f{i}.yaml"), filler.clone())));
            }
            let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
            write(d.path(), &files);
            let chart = d.path().join("c");
            let err = |set: &[&str]| {
                let opts = TemplateOptions {
                    values: values::ValueOptions {
                        set: set.iter().map(|s| s.to_string()).collect(),
                        ..Default::default()
                    },
                    kube_version: Some("1.35.0".into()),
                    ..Default::default()
                };
                template(&chart, &opts).expect_err("fails").0
            };
            let schema = err(&[]);
            assert!(
                schema.starts_with("values don't meet the specifications"),
                "{large}: {schema}"
            );
            assert!(
                !schema.contains("nope") && !schema.contains("kubeVersion"),
                "{large}: {schema}"
            );
            let kube = err(&["x=a"]);
            assert!(
                kube.starts_with("chart requires kubeVersion: >=99.0.0"),
                "{large}: {kube}"
            );
            std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: c\nversion: 0.1.0\n").expect("write");
            let parse = err(&["x=a"]);
            assert!(parse.contains("function \"nope\" not defined"), "{large}: {parse}");
            // And once everything is mended, it renders.
            std::fs::write(chart.join("templates/bad.yaml"), "a: {{ .Values.x }}\n").expect("write");
            let opts = TemplateOptions {
                values: values::ValueOptions {
                    set: vec!["x=a".into()],
                    ..Default::default()
                },
                ..Default::default()
            };
            let out = template(&chart, &opts).expect("renders");
            assert!(out.contains("# Source: c/templates/bad.yaml\na: a\n"), "{large}: {out}");
        }
    }

    #[test]
    fn release_names_are_checked_as_helm_checks_them() {
        let d = tempfile::tempdir().expect("tempdir");
        write(
            d.path(),
            &[
                ("q/Chart.yaml", "apiVersion: v2\nname: q\nversion: 0.1.0\n"),
                ("q/templates/t.yaml", "x: {{ .Release.Name }}\n"),
            ],
        );
        let run = |name: &str| {
            let opts = TemplateOptions {
                release_name: name.into(),
                ..TemplateOptions::default()
            };
            template(&d.path().join("q"), &opts)
        };
        for ok in ["a", "my-rel.v2", &"a".repeat(53), "1a"] {
            assert!(run(ok).is_ok(), "{ok}");
        }
        for bad in ["UPPER", "a_b", "ok.", "-a", "a..b", &"a".repeat(54)] {
            let e = run(bad).unwrap_err().0;
            assert!(
                e.starts_with(&format!(
                    "release name check failed: release name {bad:?}: invalid release name"
                )),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn errors_read_as_helm_prints_them() {
        let d = tempfile::tempdir().expect("tempdir");
        write(
            d.path(),
            &[
                ("q/Chart.yaml", "apiVersion: v2\nname: q\nversion: 0.1.0\n"),
                ("q/templates/t.yaml", "{{ required \"need x\" .Values.x }}"),
            ],
        );
        let e = template(&d.path().join("q"), &TemplateOptions::default()).unwrap_err();
        assert_eq!(
            e.0,
            format!("execution error at (q/templates/t.yaml:1:3): need x{DEBUG_HINT}")
        );
        // Before the release exists (values, schema): as helm prints them, no hint.
        write(
            d.path(),
            &[
                ("q/charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
                ("q/values.yaml", "sub: text\n"),
            ],
        );
        let e = template(&d.path().join("q"), &TemplateOptions::default()).unwrap_err();
        assert_eq!(e.0, "type mismatch on sub: %!t(string=text)");
        // Declared in Chart.yaml, the subchart's values are coalesced while dependencies are
        // processed, and helm's error says so.
        write(
            d.path(),
            &[(
                "q/Chart.yaml",
                "apiVersion: v2\nname: q\nversion: 0.1.0\ndependencies:\n- name: sub\n  version: 0.1.0\n",
            )],
        );
        let e = template(&d.path().join("q"), &TemplateOptions::default()).unwrap_err();
        assert_eq!(
            e.0,
            "chart dependencies processing failed: type mismatch on sub: %!t(string=text)"
        );
        write(
            d.path(),
            &[("q/Chart.yaml", "apiVersion: v2\nname: q\nversion: 0.1.0\n")],
        );
        write(
            d.path(),
            &[
                ("q/values.yaml", "x: 1\n"),
                ("q/values.schema.json", r#"{"properties": {"x": {"type": "string"}}}"#),
            ],
        );
        let e = template(&d.path().join("q"), &TemplateOptions::default()).unwrap_err();
        assert_eq!(
            e.0,
            "values don't meet the specifications of the schema(s) in the following chart(s):\nq:\n- at '/x': got number, want string\n"
        );
        std::fs::remove_file(d.path().join("q/values.schema.json")).expect("rm");
        write(
            d.path(),
            &[("q/values.yaml", "{}\n"), ("q/templates/t.yaml", "{{ .Values.x.y }}")],
        );
        let e = template(&d.path().join("q"), &TemplateOptions::default()).unwrap_err();
        assert_eq!(
            e.0,
            format!(
                "q/templates/t.yaml:1:10\n  executing \"q/templates/t.yaml\" at <.Values.x.y>:\n    nil pointer evaluating interface {{}}.y{DEBUG_HINT}"
            )
        );
    }
}
