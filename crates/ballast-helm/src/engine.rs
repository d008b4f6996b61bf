//! The render: every template of every enabled chart parsed into one Go template set and
//! executed, file by file, as Helm's engine does.
//!
//! - Templates are named from the top chart's parent (`mychart/templates/x.yaml`,
//!   `mychart/charts/sub/templates/y.yaml`, an aliased subchart under its alias) and parsed
//!   in Helm's order (more `/` first, then reverse lexicographic), so a parent's `define`
//!   replaces a subchart's of the same name.
//! - Each chart's templates see one shared data map: `.Values` (the chart's scope of the
//!   values), `.Release`, `.Chart`, `.Capabilities`, `.Files`, `.Subcharts` and `.Template`.
//! - Besides sprig, the set has Helm's render-state functions: `include`, `tpl`,
//!   `required`, `fail`, `lookup` (an empty map: no cluster) and `getHostByName` ("").
//! - Every `<no value>` is removed from each file's output; partials (`_*`) are parsed but
//!   not executed; a library chart contributes only its partials.
//! - Errors read as helm v4 prints them ([`reformat_exec_error`], [`cleanup_parse_error`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use ballast_gotemplate::{Args, Arity, ErrorKind, Func, FuncMap, LexAhead, Limits, MissingKey, Templates, Value};

use crate::Error;
use crate::chart::Chart;

/// The name of the root template of the set: the name `tpl` parses its text under.
pub const ROOT_NAME: &str = "gotpl";

/// How deep one name may be `include`d within itself before the render fails.
pub const MAX_INCLUDE_DEPTH: usize = 1000;

const WARN_START: &str = "HELM_ERR_START";
const WARN_END: &str = "HELM_ERR_END";

/// What a render needs besides the chart and its values.
pub struct Context {
    /// `.Release`, shared by every chart ([`crate::capabilities::release_object`]).
    pub release: Value,
    /// `.Capabilities`, shared by every chart.
    pub capabilities: Value,
    /// Bounds of each file's execution.
    pub limits: Limits,
}

struct Renderable {
    /// The template's text, as read.
    data: crate::chart::Blob,
    /// The chart's shared data map (`.`), given `Template` before each execution.
    scope: Value,
    base_path: String,
    /// Of the top chart (not a subchart).
    is_root: bool,
}

impl Renderable {
    /// Gives the chart's data the `Template` of template `name`, returning what it held.
    fn set_template(&self, name: &str) -> Option<Value> {
        let Value::Map(m) = &self.scope else { return None };
        let t = crate::capabilities::template_object(name, &self.base_path);
        m.borrow_mut().insert("Template".into(), t)
    }

    /// Puts back the `Template` [`Renderable::set_template`] returned (none: removed).
    fn put_back_template(&self, before: Option<Value>) {
        if let Value::Map(m) = &self.scope {
            match before {
                Some(t) => m.borrow_mut().insert("Template".into(), t),
                None => m.borrow_mut().remove("Template"),
            };
        }
    }
}

/// True for a partial (`_*`): parsed for its `define`s, never executed.
fn is_partial(name: &str) -> bool {
    name.rsplit('/').next().is_some_and(|b| b.starts_with('_'))
}

fn is_library(chart: &Chart) -> bool {
    chart.metadata.chart_type == "library"
}

/// Helm's `recAllTpls`: the chart's data map, its templates registered under `full_path`.
fn collect(
    chart: &Chart,
    full_path: &str,
    parent: &Value,
    is_root: bool,
    ctx: &Context,
    out: &mut BTreeMap<String, Renderable>,
) -> Value {
    let chart_obj = crate::capabilities::chart_object(&chart.metadata, is_root);
    let values = if is_root {
        get(parent, "Values")
    } else {
        match get(&get(parent, "Values"), &chart.metadata.name) {
            v @ Value::Map(_) => v,
            _ => Value::empty_map(),
        }
    };
    let values = if values.is_nil() { Value::empty_map() } else { values };
    let subcharts = Value::empty_map();
    let mut scope = BTreeMap::new();
    scope.insert("Chart".to_string(), chart_obj);
    scope.insert("Files".to_string(), crate::files::Files::new(&chart.files).into_value());
    scope.insert("Release".to_string(), ctx.release.clone());
    scope.insert("Capabilities".to_string(), ctx.capabilities.clone());
    scope.insert("Values".to_string(), values);
    scope.insert("Subcharts".to_string(), subcharts.clone());
    let scope = Value::map(scope);
    for dep in &chart.dependencies {
        let sub_path = format!("{full_path}/charts/{}", dep.metadata.name);
        let sub = collect(dep, &sub_path, &scope, false, ctx, out);
        if let Value::Map(m) = &subcharts {
            m.borrow_mut().insert(dep.metadata.name.clone(), sub);
        }
    }
    for t in &chart.templates {
        if is_library(chart) && !is_partial(&t.name) {
            continue;
        }
        out.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                data: t.data.clone(),
                scope: scope.clone(),
                base_path: format!("{full_path}/templates"),
                is_root,
            },
        );
    }
    scope
}

fn get(map: &Value, key: &str) -> Value {
    match map {
        Value::Map(m) => m.borrow().get(key).cloned().unwrap_or(Value::Nil),
        _ => Value::Nil,
    }
}

/// Helm's `sortTemplates`: more `/` first, then reverse lexicographic.
pub fn sort_templates<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    // Each name's `/` counted once, not at every comparison.
    let mut keyed: Vec<(usize, String)> = names
        .into_iter()
        .map(|n| (n.bytes().filter(|b| *b == b'/').count(), n.clone()))
        .collect();
    // Descending on (count, name): equal keys are equal names, so an unstable sort is exact.
    keyed.sort_unstable_by(|a, b| b.cmp(a));
    keyed.into_iter().map(|(_, n)| n).collect()
}

fn warn_wrap(msg: &str) -> String {
    format!("{WARN_START}{msg}{WARN_END}")
}

/// Helm's render-state functions added to `funcs`; `include` recursion is counted across
/// the whole render (and `tpl` calls inside it).
pub fn add_render_functions(funcs: &mut FuncMap) {
    let counter: Rc<RefCell<HashMap<String, usize, foldhash::fast::RandomState>>> = Rc::default();
    funcs.insert(
        "include",
        Func::new(Arity::Exact(2), move |env, args| {
            let name = Args::string(&args[0])?;
            {
                let mut c = counter.borrow_mut();
                let n = match c.get_mut(name) {
                    Some(n) => n,
                    None => c.entry(name.to_string()).or_insert(0),
                };
                if *n > MAX_INCLUDE_DEPTH {
                    return Err(format!(
                        "rendering template has a nested reference name: {name}: unable to execute template"
                    ));
                }
                *n += 1;
            }
            let r = env.execute_template(name, args[1].clone());
            if let Some(n) = counter.borrow_mut().get_mut(name) {
                *n = n.saturating_sub(1);
            }
            r.map(Value::from).map_err(|e| e.message)
        }),
    );
    funcs.insert(
        "tpl",
        Func::new(Arity::Exact(2), move |env, args| {
            let src = Args::string(&args[0])?.to_string();
            match env.execute_source(ROOT_NAME, &src, args[1].clone()) {
                Ok(s) => Ok(Value::from(s.replace("<no value>", ""))),
                Err(e) => {
                    let q = ballast_gotemplate::fmt::quote(&src);
                    if e.info.kind == ErrorKind::Parse {
                        Err(format!("cannot parse template {q}: {}", e.message))
                    } else {
                        Err(format!("error during tpl function execution for {q}: {}", e.message))
                    }
                }
            }
        }),
    );
    funcs.insert(
        "required",
        Func::pure(Arity::Exact(2), |args| {
            let warn = Args::string(&args[0])?;
            match &args[1] {
                Value::Nil => Err(warn_wrap(warn)),
                Value::String(s) if s.is_empty() => Err(warn_wrap(warn)),
                v => Ok(v.clone()),
            }
        }),
    );
    funcs.insert(
        "fail",
        Func::pure(Arity::Exact(1), |args| Err(warn_wrap(Args::string(&args[0])?))),
    );
    funcs.insert(
        "lookup",
        Func::pure(Arity::Exact(4), |args| {
            for a in args {
                Args::string(a)?;
            }
            Ok(Value::empty_map())
        }),
    );
    funcs.insert(
        "getHostByName",
        Func::pure(Arity::Exact(1), |args| {
            Args::string(&args[0])?;
            Ok(Value::str(""))
        }),
    );
}

/// Where a template's text is, for [`LexAhead`]: the address and length of its bytes. Equal
/// keys are equal texts (the same bytes); an aliased copy of a chart shares its files' bytes
/// with the original, so its templates share their keys.
pub type TextKey = (usize, usize);

pub(crate) fn text_key(data: &crate::chart::Blob) -> TextKey {
    (data.as_ptr() as usize, data.len())
}

/// Starts lexing, on a second thread, every template [`parse`] may parse from `chart` (a
/// loaded chart, before its disabled subcharts are removed) but those whose parse this thread
/// kept (see [`crate::kept`]), in the order of the parse, when
/// they hold [`ballast_gotemplate::LEX_AHEAD_BYTES`] or more; `None` for less (a thread costs
/// about what it would save). The thread runs `then` once no text is left to lex (other work
/// of the render that can run there). The caller coalesces values meanwhile, then gives it to
/// [`parse`].
pub fn lex_ahead(chart: &Chart, then: impl FnOnce() + Send + 'static) -> Option<LexAhead<TextKey>> {
    fn walk(chart: &Chart, full_path: &str, out: &mut Vec<(String, crate::chart::Blob)>) {
        for dep in &chart.dependencies {
            walk(dep, &format!("{full_path}/charts/{}", dep.metadata.name), out);
        }
        for t in &chart.templates {
            // A text whose parse this thread kept is not lexed (see `kept`).
            if (is_library(chart) && !is_partial(&t.name)) || crate::kept::knows(&t.data, text_key(&t.data)) {
                continue;
            }
            out.push((format!("{full_path}/{}", t.name), t.data.clone()));
        }
    }
    let mut found = Vec::new();
    walk(chart, &chart.metadata.name, &mut found);
    let total: usize = found.iter().map(|(_, data)| data.len()).sum();
    if found.len() < 2 || total < ballast_gotemplate::LEX_AHEAD_BYTES {
        return None;
    }
    let mut by_name: HashMap<String, crate::chart::Blob> = found.into_iter().collect();
    let texts = sort_templates(by_name.keys())
        .into_iter()
        .filter_map(|name| by_name.remove(&name))
        .map(|data| {
            let key = text_key(&data);
            let source: ballast_gotemplate::Source = Box::new(move || crate::chart::utf8_lossy(&data).into_owned());
            (key, source)
        })
        .collect();
    let start = crate::helper_start();
    let ahead = LexAhead::start_then(texts, start, then);
    // The thread is queued on this one's CPU: let it run and move off now (see
    // `helper_start`).
    std::thread::yield_now();
    Some(ahead)
}

/// Renders every template of `chart` (and its enabled subcharts, already in
/// `chart.dependencies`) with `values` (the coalesced top-level values), returning each
/// executed file's output by name, `NOTES.txt` files included: [`parse`] then [`execute`].
pub fn render(
    chart: &Chart,
    values: &Value,
    ctx: &Context,
    ahead: Option<&LexAhead<TextKey>>,
) -> Result<BTreeMap<String, String>, Error> {
    execute(parse(chart, values, ctx, ahead)?, ctx)
}

/// A chart's templates parsed into one set, each with its data, ready for [`execute`].
pub struct Parsed {
    set: Templates,
    tpls: BTreeMap<String, Renderable>,
    order: Vec<String>,
}

impl Drop for Parsed {
    /// What its parses leave is kept for the next render on this thread (see `kept`).
    fn drop(&mut self) {
        crate::kept::keep(&mut self.set);
    }
}

/// Parses every template of `chart` (and its enabled subcharts, already in
/// `chart.dependencies`) into one set, in Helm's order, each with its chart's data built from
/// `values` (the coalesced top-level values) and `ctx`. The texts are parsed from `ahead`
/// ([`lex_ahead`] of the chart as loaded) where given, else lexed here (on a second thread
/// for large charts, while the first parses): the same either way. Nothing is executed: a
/// caller may parse before it checks the values' schemas (whose error comes first).
pub fn parse(chart: &Chart, values: &Value, ctx: &Context, ahead: Option<&LexAhead<TextKey>>) -> Result<Parsed, Error> {
    let mut top = BTreeMap::new();
    top.insert("Values".to_string(), values.clone());
    let top = Value::map(top);
    let mut tpls = BTreeMap::new();
    collect(chart, &chart.metadata.name, &top, true, ctx, &mut tpls);
    let order = sort_templates(tpls.keys());

    // With the parses this render worker kept from its earlier renders (see `kept`).
    let mut set = crate::kept::set();
    set.missing_key(MissingKey::Zero)
        .limits(ctx.limits.clone())
        .root_name(ROOT_NAME);
    match parse_into(&mut set, &tpls, &order, ahead) {
        Ok(()) => Ok(Parsed { set, tpls, order }),
        Err(e) => {
            crate::kept::keep(&mut set);
            Err(e)
        }
    }
}

/// The parse of [`parse`]: the templates `tpls`, in `order`, into `set`.
fn parse_into(
    set: &mut Templates,
    tpls: &BTreeMap<String, Renderable>,
    order: &[String],
    ahead: Option<&LexAhead<TextKey>>,
) -> Result<(), Error> {
    let text = |r: &Renderable| crate::chart::utf8_lossy(&r.data).into_owned();
    let parse_error = |name: &str, e: ballast_gotemplate::Error| Error(cleanup_parse_error(name, &e.message));
    // The files of a chart kept between renders (see `kept`) are known by the identity of
    // their bytes, which the chart holds unchanged: a text parsed before is not even read.
    let identified = crate::kept::chart_is_kept();
    let one = |set: &mut Templates,
               name: &String,
               parse: &mut dyn FnMut(&mut Templates) -> Result<(), ballast_gotemplate::Error>| {
        let r = &tpls[name];
        let result = if identified {
            let pin = || Rc::new(r.data.clone()) as Rc<dyn std::any::Any>;
            set.parse_identified(name, text_key(&r.data), pin, |set| parse(set))
        } else {
            parse(set)
        };
        result.map_err(|e| parse_error(name, e))
    };
    match ahead {
        Some(ahead) => {
            // The texts of charts found disabled since the lexing started are not lexed.
            let wanted: std::collections::HashSet<TextKey> = tpls.values().map(|r| text_key(&r.data)).collect();
            ahead.retain(|k| wanted.contains(k));
            for name in order {
                let r = &tpls[name];
                one(set, name, &mut |set| {
                    set.parse_ahead(name, &text_key(&r.data), ahead, || text(r))
                })?;
            }
        }
        None => {
            // Texts whose parse is kept are not lexed at all: a lexing thread pays only for
            // the others, when they are many.
            let new: usize = order
                .iter()
                .map(|name| &tpls[name].data)
                .filter(|data| !set.knows_file(data, text_key(data)))
                .map(|data| data.len())
                .sum();
            if new < ballast_gotemplate::LEX_AHEAD_BYTES {
                for name in order {
                    one(set, name, &mut |set| set.parse_owned(name, text(&tpls[name])))?;
                }
                return Ok(());
            }
            let files = order.iter().map(|name| (name.clone(), text(&tpls[name]))).collect();
            // No yield: the parse waits for the lexer's first text anyway.
            set.parse_files_with(files, crate::helper_start())
                .map_err(|(name, e)| parse_error(&name, e))?;
        }
    }
    Ok(())
}

/// The template texts among `templates` that name a certificate function making a key, with
/// how many times (up to [`MAX_MAKERS`](crate::funcs::crypto::ahead::MAX_MAKERS)): the
/// `sites` of [`keys_reached`].
pub fn key_sites_by_text(templates: &[crate::chart::Blob]) -> HashMap<TextKey, usize> {
    templates
        .iter()
        .filter_map(|t| {
            let n = crate::funcs::crypto::ahead::key_sites([&t[..]]);
            (n > 0).then(|| (text_key(t), n))
        })
        .collect()
}

/// How many certificate keys (up to [`MAX_MAKERS`]) the render of `parsed` will ask for, so that
/// only those are made ahead: `sites` holds the certificate call sites of each template text
/// that names a certificate function. Each such template (but the partials) is run first as a
/// [`Probe`], in Helm's order, counting the calls it reaches with the values given (most
/// charts name `genCA` behind a TLS switch that is off). A template whose probe stops early
/// (it changes a map, or fails) counts all its sites; a partial that names one (a `define`
/// other templates include) counts them all, as its callers cannot be told from the text.
/// The probes take [`PROBE_BUDGET`] at most, all told, past which every site counts; each
/// puts back the chart data's `Template` it set. Calls a probe misses (a `define` in a
/// template file that is not a partial, a call reached only through `tpl`, values changed by
/// an earlier template) have their keys made on the spot: slower, never wrong.
///
/// [`MAX_MAKERS`]: crate::funcs::crypto::ahead::MAX_MAKERS
/// [`Probe`]: crate::funcs::crypto::ahead::Probe
pub fn keys_reached(parsed: &Parsed, sites: &HashMap<TextKey, usize>) -> usize {
    use crate::funcs::crypto::ahead::{MAX_MAKERS, Probe};
    if sites.is_empty() {
        return 0;
    }
    let sites_of = |name: &String| sites.get(&text_key(&parsed.tpls[name].data)).copied();
    let all = || sites.values().sum::<usize>().min(MAX_MAKERS);
    if parsed.order.iter().any(|n| is_partial(n) && sites_of(n).is_some()) {
        return all();
    }
    let started = std::time::Instant::now();
    let probe = Probe::begin();
    let mut stopped = 0;
    for name in &parsed.order {
        let Some(n) = sites_of(name) else { continue };
        let Some(left) = PROBE_BUDGET.checked_sub(started.elapsed()) else {
            // Probing longer than a key takes to make: make them all.
            return all();
        };
        let r = &parsed.tpls[name];
        let before = r.set_template(name);
        let reached = probe.reached();
        let ran = parsed.set.execute_within(name, &r.scope, left);
        // The probe's `Template` is taken back out of the chart's data, which the chart's
        // other templates (and its parent's, through `.Subcharts`) see.
        r.put_back_template(before);
        if ran.is_err() {
            // The sites it did not reach before it stopped.
            stopped += n.saturating_sub(probe.reached() - reached);
        }
        if probe.reached() + stopped >= MAX_MAKERS {
            break;
        }
    }
    (probe.reached() + stopped).min(MAX_MAKERS)
}

/// Longest a render probes for certificate calls ([`keys_reached`]): about what making a key
/// takes; past it, keys are made for every call site.
const PROBE_BUDGET: std::time::Duration = std::time::Duration::from_millis(50);

/// Executes each template of `parsed` but the partials, in its order, returning each one's
/// output by name. Bounded: each file by `ctx.limits`, and the whole chart by the same output
/// size and time budget.
pub fn execute(parsed: Parsed, ctx: &Context) -> Result<BTreeMap<String, String>, Error> {
    let Parsed { set, tpls, order } = &parsed;
    // Each chart's `.` and the top chart's `.Values` are helm's `common.Values` (a subchart's
    // `.Values` is the same map as its parent's `.Values.<name>`, left unnamed).
    struct Named;
    impl Drop for Named {
        fn drop(&mut self) {
            ballast_gotemplate::value::forget_map_types();
        }
    }
    let _named = Named;
    let mut roots: Vec<*const ()> = Vec::new();
    for r in tpls.values() {
        if let Value::Map(m) = &r.scope
            && !roots.contains(&(Rc::as_ptr(m) as *const ()))
        {
            roots.push(Rc::as_ptr(m) as *const ());
            ballast_gotemplate::value::name_map_type(&r.scope, "common.Values");
            if r.is_root {
                ballast_gotemplate::value::name_map_type(&get(&r.scope, "Values"), "common.Values");
            }
        }
    }
    let mut rendered = BTreeMap::new();
    let started = std::time::Instant::now();
    let mut total = 0usize;
    for name in order {
        if is_partial(name) {
            continue;
        }
        if started.elapsed() > ctx.limits.time_budget {
            return Err(Error(format!(
                "rendering the chart took longer than {:?}; stopped before {name}",
                ctx.limits.time_budget
            )));
        }
        let r = &tpls[name];
        r.set_template(name);
        let out = set
            .execute(name, &r.scope)
            .map_err(|e| Error(shorten(&reformat_exec_error(name, &e.message))))?;
        total = total.saturating_add(out.len());
        if total > ctx.limits.max_output {
            return Err(Error(format!(
                "the chart's rendered output exceeds {} bytes (at {name})",
                ctx.limits.max_output
            )));
        }
        let out = if out.contains("<no value>") {
            out.replace("<no value>", "")
        } else {
            out
        };
        rendered.insert(name.clone(), out);
    }
    crate::free_later(parsed);
    Ok(rendered)
}

/// Most lines and bytes of an error message; a longer one (a chain of a thousand nested
/// `include`s) keeps its beginning and end, with how much was left out in between.
const MAX_ERROR_LINES: usize = 40;
const MAX_ERROR_BYTES: usize = 8 << 10;

/// An error message cut to a readable size: repeated `error calling` links of a one-line chain
/// and the middle lines of a long trace are replaced by a count.
pub fn shorten(msg: &str) -> String {
    const LINK: &str = ": error calling ";
    let mut msg = msg.to_string();
    let links: Vec<&str> = msg.split(LINK).collect();
    if links.len() > 8 {
        let n = links.len();
        let mut out = links[..3].join(LINK);
        out.push_str(&format!("{LINK}[... {} nested calls left out ...]", n - 6));
        out.push_str(LINK);
        out.push_str(&links[n - 3..].join(LINK));
        msg = out;
    }
    let lines: Vec<&str> = msg.lines().collect();
    if lines.len() > MAX_ERROR_LINES {
        let keep = MAX_ERROR_LINES / 2;
        let mut out = lines[..keep].join("\n");
        out.push_str(&format!("\n[... {} lines left out ...]\n", lines.len() - 2 * keep));
        out.push_str(&lines[lines.len() - keep..].join("\n"));
        msg = out;
    }
    if msg.len() > MAX_ERROR_BYTES {
        let cut = |at: usize| (0..=at).rev().find(|i| msg.is_char_boundary(*i)).unwrap_or(0);
        let (head, tail) = (cut(MAX_ERROR_BYTES / 2), cut(msg.len() - MAX_ERROR_BYTES / 2));
        msg = format!(
            "{} [... {} bytes left out ...] {}",
            &msg[..head],
            tail - head,
            &msg[tail..]
        );
    }
    msg
}

/// Helm's `cleanupParseError`: `parse error at (<file>:<line>): <last part>`.
pub fn cleanup_parse_error(filename: &str, msg: &str) -> String {
    let tokens: Vec<&str> = msg.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {msg}");
    }
    format!("parse error at ({}): {}", tokens[1], tokens[tokens.len() - 1])
}

#[derive(PartialEq, Eq)]
struct Traceable {
    location: String,
    executed: String,
    message: String,
}

impl Traceable {
    fn render(&self, out: &mut String) {
        if !self.location.is_empty() {
            out.push_str(&format!("{}\n  ", self.location));
        }
        if !self.executed.is_empty() {
            out.push_str(&format!("{}\n    ", self.executed));
        }
        if !self.message.is_empty() {
            out.push_str(&format!("{}\n", self.message));
        }
    }
}

fn cut_template(msg: &str) -> &str {
    match msg.find(" template:") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// One link of Go's error chain, and the next (the error a function returned, when the
/// message says `error calling NAME: <inner>`).
fn parse_link(s: &str) -> Option<(Traceable, Option<&str>)> {
    let rest = s.strip_prefix("template: ")?;
    if rest.starts_with("no template ") {
        return Some((
            Traceable {
                location: String::new(),
                executed: String::new(),
                message: s.into(),
            },
            None,
        ));
    }
    if let Some(idx) = rest.find(": executing ") {
        let location = &rest[..idx];
        let after = &rest[idx + ": executing ".len()..];
        if let Some(q) = after.strip_prefix('"')
            && let Some(end) = q.find('"')
        {
            let func = &q[..end];
            if let Some(at) = q[end + 1..].strip_prefix(" at <")
                && let Some(end_loc) = at.find(">: ")
            {
                let loc_name = &at[..end_loc];
                let err = &at[end_loc + 3..];
                return Some((
                    Traceable {
                        location: location.into(),
                        executed: format!("executing \"{func}\" at <{loc_name}>:"),
                        message: cut_template(err).into(),
                    },
                    inner_error(err),
                ));
            }
        }
        return None;
    }
    let sep = rest.rfind(": ")?;
    let err = &rest[sep + 2..];
    Some((
        Traceable {
            location: rest[..sep].into(),
            executed: String::new(),
            message: cut_template(err).into(),
        },
        inner_error(err),
    ))
}

/// The error wrapped by `error calling NAME: <inner>`.
fn inner_error(err: &str) -> Option<&str> {
    let rest = err.strip_prefix("error calling ")?;
    let i = rest.find(": ")?;
    Some(&rest[i + 2..])
}

/// Helm's `reformatExecErrorMsg`: a `fail`/`required` message as `execution error at
/// (<file>:<line>:<col>): <msg>`; a chain of template errors as helm v4's multi-line trace;
/// any other error (one a function returned) unchanged.
pub fn reformat_exec_error(filename: &str, msg: &str) -> String {
    let tokens: Vec<&str> = msg.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {msg}");
    }
    if let Some(start) = tokens[2].find(WARN_START)
        && let Some(end) = tokens[2].rfind(WARN_END)
        && end >= start + WARN_START.len()
    {
        return format!(
            "execution error at ({}): {}",
            tokens[1],
            &tokens[2][start + WARN_START.len()..end]
        );
    }
    let mut links: Vec<Traceable> = Vec::new();
    let mut current = Some(msg);
    let mut steps = 0;
    while let Some(s) = current {
        steps += 1;
        let Some((t, next)) = parse_link(s) else {
            return msg.to_string();
        };
        if steps > 10_000 {
            return msg.to_string();
        }
        if links.last() != Some(&t) {
            links.push(t);
        }
        current = next;
    }
    let mut out = String::new();
    for l in &links {
        l.render(&mut out);
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys a render of the chart of `files` (under `t/`) with values `user` makes ahead,
    /// and what it then renders.
    fn keys_then_render(files: &[(&str, &str)], user: &str) -> (usize, Result<BTreeMap<String, String>, Error>) {
        let mut all = vec![("Chart.yaml", "apiVersion: v2\nname: t\nversion: 1.0.0\n")];
        all.extend_from_slice(files);
        let files = all
            .iter()
            .map(|(name, text)| crate::chart::archive::BufferedFile {
                name: name.to_string(),
                data: text.as_bytes().to_vec().into(),
            })
            .collect();
        let chart = crate::chart::load_files(files).unwrap();
        let user = crate::values::parse_values_doc(user).unwrap();
        let (chart, values) = crate::values::prepare(chart, &user).unwrap();
        let ctx = Context {
            release: crate::capabilities::release_object("r", "ns", false, 1),
            capabilities: crate::capabilities::Capabilities::new(None, &[]).unwrap().into_value(),
            limits: Limits::default(),
        };
        let parsed = parse(&chart, &values, &ctx, None).unwrap();
        let texts: Vec<_> = parsed.tpls.values().map(|r| r.data.clone()).collect();
        let sites = key_sites_by_text(&texts);
        let keys = keys_reached(&parsed, &sites);
        (keys, execute(parsed, &ctx))
    }

    const TLS: &str = "{{- if .Values.tls }}{{- $ca := genCA \"ca\" 365 }}\
        {{- $c := genSignedCert \"x\" nil nil 365 $ca }}\
        made: {{ and (hasPrefix \"-----BEGIN\" $ca.Cert) (hasPrefix \"-----BEGIN\" $c.Key) }}{{ end }}";

    #[test]
    fn keys_are_made_ahead_only_for_the_calls_the_values_reach() {
        let (keys, out) = keys_then_render(&[("templates/tls.yaml", TLS)], "tls: false");
        let out = out.unwrap();
        assert_eq!(keys, 0);
        assert_eq!(out["t/templates/tls.yaml"], "");
        // Reached: two keys, and the probe's stand-ins are not what the render prints.
        let (keys, out) = keys_then_render(&[("templates/tls.yaml", TLS)], "tls: true");
        let out = out.unwrap();
        assert_eq!(keys, 2);
        assert_eq!(out["t/templates/tls.yaml"], "made: true");
        let one = "{{- if .Values.tls }}{{ $c := genSelfSignedCert \"x\" nil nil 365 }}{{ end }}";
        let (keys, _) = keys_then_render(&[("templates/a.yaml", one), ("templates/b.yaml", TLS)], "tls: true");
        assert_eq!(keys, 2);
        let (keys, _) = keys_then_render(&[("templates/a.yaml", one)], "tls: true");
        assert_eq!(keys, 1);
    }

    #[test]
    fn a_probe_changes_no_value_and_counts_what_it_cannot_tell() {
        // b.yaml renders first (Helm's order) and must not see what the probe of a.yaml, a
        // template that changes the values before its certificate calls, would have set.
        let setter =
            "{{- $_ := set .Values \"touched\" true }}{{- if .Values.tls }}{{ $ca := genCA \"ca\" 365 }}{{ end }}";
        let reader = "touched: {{ hasKey .Values \"touched\" }}";
        let (keys, out) = keys_then_render(
            &[("templates/a.yaml", setter), ("templates/b.yaml", reader)],
            "tls: false",
        );
        let out = out.unwrap();
        assert_eq!(keys, 1, "a probe stopped by a change counts the template's sites");
        assert_eq!(out["t/templates/b.yaml"], "touched: false");
        // The probe's `.Template` is not left in the chart's data: a parent's template that
        // renders before the subchart's (Helm's order) sees none there.
        let parent = "{{ hasKey .Subcharts.sub \"Template\" }}";
        let (keys, out) = keys_then_render(
            &[
                ("templates/a/b/x.yaml", parent),
                ("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 1.0.0\n"),
                ("charts/sub/templates/tls.yaml", TLS),
            ],
            "sub: {tls: false}",
        );
        assert_eq!(keys, 0);
        assert_eq!(out.unwrap()["t/templates/a/b/x.yaml"], "false");
        // A partial naming a certificate function: its callers are not known, all sites count.
        let partial = "{{- define \"certs\" }}{{ genCA \"ca\" 365 }}{{ end }}";
        let user = "{{- if .Values.tls }}{{ include \"certs\" . }}{{ end }}";
        let (keys, _) = keys_then_render(
            &[("templates/_h.tpl", partial), ("templates/u.yaml", user)],
            "tls: false",
        );
        assert_eq!(keys, 1);
        // A template that fails in the probe counts its sites; the render reports the error.
        let failing = "{{- $ca := genCA \"ca\" 365 }}{{ required \"need x\" .Values.x }}";
        let (keys, out) = keys_then_render(&[("templates/f.yaml", failing)], "y: 1");
        assert_eq!(keys, 1);
        assert!(out.unwrap_err().0.contains("need x"));
    }

    #[test]
    fn templates_sort_deepest_first_then_reverse() {
        let names: Vec<String> = [
            "p/templates/a.yaml",
            "p/templates/b.yaml",
            "p/charts/s/templates/z.yaml",
            "p/templates/_h.tpl",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            sort_templates(&names),
            [
                "p/charts/s/templates/z.yaml",
                "p/templates/b.yaml",
                "p/templates/a.yaml",
                "p/templates/_h.tpl"
            ]
        );
    }

    #[test]
    fn fail_and_required_read_as_execution_errors() {
        let m = "template: q/templates/t.yaml:1:3: executing \"q/templates/t.yaml\" at <fail \"boom\">: error calling fail: HELM_ERR_STARTboomHELM_ERR_END";
        assert_eq!(
            reformat_exec_error("q/templates/t.yaml", m),
            "execution error at (q/templates/t.yaml:1:3): boom"
        );
    }

    #[test]
    fn engine_errors_read_as_a_trace() {
        let m = "template: q/templates/t.yaml:1:10: executing \"q/templates/t.yaml\" at <.Values.x.y>: nil pointer evaluating interface {}.y";
        assert_eq!(
            reformat_exec_error("q/templates/t.yaml", m),
            "q/templates/t.yaml:1:10\n  executing \"q/templates/t.yaml\" at <.Values.x.y>:\n    nil pointer evaluating interface {}.y"
        );
        let m = "template: q/templates/t.yaml:2:3: executing \"q/templates/t.yaml\" at <include \"h\" .>: error calling include: template: q/templates/_h.tpl:1:26: executing \"h\" at <.Values.x.y>: nil pointer evaluating interface {}.y";
        assert_eq!(
            reformat_exec_error("q/templates/t.yaml", m),
            "q/templates/t.yaml:2:3\n  executing \"q/templates/t.yaml\" at <include \"h\" .>:\n    error calling include:\nq/templates/_h.tpl:1:26\n  executing \"h\" at <.Values.x.y>:\n    nil pointer evaluating interface {}.y"
        );
        let m = "template: q/templates/t.yaml:1:3: executing \"q/templates/t.yaml\" at <include \"nope\" .>: error calling include: template: no template \"nope\" associated with template \"gotpl\"";
        assert_eq!(
            reformat_exec_error("q/templates/t.yaml", m),
            "q/templates/t.yaml:1:3\n  executing \"q/templates/t.yaml\" at <include \"nope\" .>:\n    error calling include:\ntemplate: no template \"nope\" associated with template \"gotpl\""
        );
    }

    #[test]
    fn function_errors_stay_one_line() {
        let m = "template: q/templates/t.yaml:1:3: executing \"q/templates/t.yaml\" at <lt 1 2.0>: error calling lt: incompatible types for comparison: int and float64";
        assert_eq!(reformat_exec_error("q/templates/t.yaml", m), m);
    }

    #[test]
    fn long_chains_are_shortened() {
        let link = "template: t.yaml:1:3: executing \"a\" at <include \"a\" .>: error calling include: ";
        let m = format!(
            "{}rendering template has a nested reference name: a: unable to execute template",
            link.repeat(1000)
        );
        let s = shorten(&m);
        assert!(s.len() < 2000, "{}", s.len());
        assert!(s.contains("[... 995 nested calls left out ...]"), "{s}");
        assert!(s.ends_with("rendering template has a nested reference name: a: unable to execute template"));
        assert_eq!(shorten("short"), "short");
    }

    #[test]
    fn parse_errors_keep_the_line() {
        assert_eq!(
            cleanup_parse_error(
                "q/templates/t.yaml",
                "template: q/templates/t.yaml:1: missing value for if"
            ),
            "parse error at (q/templates/t.yaml:1): missing value for if"
        );
    }
}
