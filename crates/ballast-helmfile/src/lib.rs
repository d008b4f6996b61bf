//! Helmfile, as helmfile v1 reads state files, with every release rendered in process by
//! the native Helm engine (`ballast-helm`): no helm or helmfile binary. Charts from chart
//! repositories and OCI registries are fetched into Ballast's cache first ([`charts`]).
//!
//! - [`state`]: one state file: `---` parts rendered as Go templates (`.gotmpl`), `bases`,
//!   `environments` and top-level `values` layered, a missing environment detected as
//!   helmfile detects it.
//! - [`release`]: releases with template expressions executed, labels, selectors, `needs`
//!   ordering, values handed to Helm.
//! - [`tmpl`]: helmfile's template functions (`exec` refused).
//!
//! The entry points: [`visit`] (every state file with its selected releases, sub-helmfiles
//! first as helmfile runs them), then [`template`], [`list`] and [`build`], which print what
//! `helmfile template`, `helmfile list` and `helmfile build` print. For the cluster verbs
//! (`diff`, `apply`, in the CLI): [`batches`] (the `needs` groups a run goes through) and
//! [`release_input`] (a release's chart and values, checked before anything is written).

pub mod charts;
mod deps;
pub mod release;
pub mod state;
pub mod tmpl;
pub mod yaml3;

use std::path::{Path, PathBuf};

pub use ballast_gotemplate::Value;

pub use release::{Needs, Release, Selector, batches};
use state::{LoadError, State, get, items, text};

/// A failed load or render, with helmfile's message where helmfile has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

/// The options of `helmfile [global flags] VERB` that change what is read.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-f`: a state file or a directory of them; none means `helmfile.yaml`,
    /// `helmfile.yaml.gotmpl` or `helmfile.d/`.
    pub file: Option<PathBuf>,
    /// `-e`; empty means `default`.
    pub environment: String,
    /// `-l`, each `k=v[,k2!=v2]`; a release matches if any selector matches.
    pub selectors: Vec<String>,
    /// `--state-values-file`: values files over the top state file's environment values.
    pub state_values_files: Vec<PathBuf>,
    /// `--state-values-set a.b=c`: values over those (Helm's `--set` syntax).
    pub state_values_set: Vec<String>,
    /// Ballast's cache directory: charts from repositories and registries are kept under it;
    /// none refuses them.
    pub cache_dir: Option<PathBuf>,
}

impl Options {
    fn env(&self) -> &str {
        if self.environment.is_empty() {
            state::DEFAULT_ENV
        } else {
            &self.environment
        }
    }
}

/// One visited state file.
#[derive(Clone, Debug)]
pub struct Visited {
    /// The loaded state.
    pub state: State,
    /// Every release of it.
    pub releases: Vec<Release>,
    /// Indices into `releases` the selectors chose, in `needs` order.
    pub selected: Vec<usize>,
}

/// The state files `path` names: the file itself, or a directory's `*.yaml`/`*.yaml.gotmpl`
/// (sorted); a `*` in the last element is a glob.
fn state_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if path.is_dir() || name.contains('*') {
        let (dir, pattern) = if path.is_dir() {
            (path.to_path_buf(), None)
        } else {
            (path.parent().map(Path::to_path_buf).unwrap_or_default(), Some(name))
        };
        let rd = std::fs::read_dir(&dir).map_err(|e| Error(format!("{}: {}", dir.display(), tmpl::io_text(&e))))?;
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                let n = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match &pattern {
                    Some(pat) => ballast_helm::output::go_path_match(pat, &n),
                    None => {
                        n.ends_with(".yaml")
                            || n.ends_with(".yml")
                            || n.ends_with(".yaml.gotmpl")
                            || n.ends_with(".yml.gotmpl")
                    }
                }
            })
            .collect();
        files.sort();
        if files.is_empty() && pattern.is_none() {
            return Err(Error(format!("no state file found in {}", dir.display())));
        }
        return Ok(files);
    }
    Ok(vec![path.to_path_buf()])
}

/// The default state file(s) in the current directory, as helmfile looks for them.
fn default_files() -> Result<Vec<PathBuf>, Error> {
    for f in ["helmfile.yaml", "helmfile.yaml.gotmpl"] {
        if Path::new(f).is_file() {
            return Ok(vec![PathBuf::from(f)]);
        }
    }
    if Path::new("helmfile.d").is_dir() {
        return state_files(Path::new("helmfile.d"));
    }
    Err(Error(
        "no state file found. It must be named helmfile.yaml, helmfile.yaml.gotmpl or helmfile.d/*.{yaml,yaml.gotmpl}, or specified with --file".into(),
    ))
}

/// Loads every state file (sub-helmfiles before their parent's releases, as helmfile runs
/// them), skipping those that do not declare the selected environment, and selects each
/// state's releases. Errors when no state file matched at all, as helmfile does.
pub fn visit(opts: &Options) -> Result<Vec<Visited>, Error> {
    let selectors = opts
        .selectors
        .iter()
        .map(|s| Selector::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let files = match &opts.file {
        Some(f) => state_files(f)?,
        None => default_files()?,
    };
    let overrode = state_values(opts)?;
    let mut out = Vec::new();
    let mut matched = false;
    for f in &files {
        matched |= visit_file(f, opts.env(), overrode.as_ref(), &selectors, 0, &mut out)?;
    }
    let session = opts.cache_dir.clone().map(charts::Charts::new).unwrap_or_default();
    for v in &mut out {
        v.state.charts = session.clone();
    }
    if !matched {
        return Err(Error(format!(
            "err: no releases found that matches specified selector({}) and environment({}), in any helmfile",
            opts.selectors.join(", "),
            opts.env()
        )));
    }
    Ok(out)
}

/// The command line's state values (`--state-values-file`, then `--state-values-set`), given
/// to the top state files as a parent gives values to a sub-helmfile; `None` without any.
fn state_values(opts: &Options) -> Result<Option<Value>, Error> {
    if opts.state_values_files.is_empty() && opts.state_values_set.is_empty() {
        return Ok(None);
    }
    let files: Vec<Value> = opts
        .state_values_files
        .iter()
        .map(|p| Value::from(p.display().to_string()))
        .collect();
    let vals = state::load_values_entries(&files, Path::new(""), &state::Env::new(opts.env()))?;
    for s in &opts.state_values_set {
        ballast_helm::values::strvals::parse_into(s, &vals, ballast_helm::values::strvals::Reader::Typed)
            .map_err(|e| Error(format!("--state-values-set {s}: {e}")))?;
    }
    Ok(Some(vals))
}

fn visit_file(
    file: &Path,
    env: &str,
    overrode: Option<&Value>,
    selectors: &[Selector],
    depth: usize,
    out: &mut Vec<Visited>,
) -> Result<bool, Error> {
    let st = match state::load(file, env, overrode, true, depth) {
        Ok(st) => st,
        Err(LoadError::UndefinedEnv(_)) => return Ok(false),
        Err(LoadError::Other(e)) => return Err(e),
    };
    let mut matched = false;
    for (i, sub) in items(&st.field("helmfiles")).iter().enumerate() {
        let (path, values, sub_sel) = match sub {
            Value::String(s) => (s.to_string(), Vec::new(), None),
            m @ Value::Map(_) => {
                let sels = match get(m, "selectors") {
                    Value::List(l) if !matches!(get(m, "selectorsInherited"), Value::Bool(true)) => {
                        Some(l.iter().map(text).collect::<Vec<_>>())
                    }
                    _ => None,
                };
                (text(&get(m, "path")), items(&get(m, "values")), sels)
            }
            _ => return Err(Error(format!("in .helmfiles[{i}]: an entry must be a path or a map"))),
        };
        let path = tmpl::resolve(&st.dir, &path);
        if path == st.file {
            return Err(Error(format!(
                "{} contains a recursion into the same sub-helmfile at helmfiles[{i}]",
                st.file.display()
            )));
        }
        let overrode = if values.is_empty() {
            None
        } else {
            let ctx = state::Env::new(env);
            Some(
                state::load_values_entries(&values, &st.dir, &ctx)
                    .map_err(|e| Error(format!("in .helmfiles[{i}]: {}", e.0)))?,
            )
        };
        let sels = match sub_sel {
            Some(s) => s.iter().map(|s| Selector::parse(s)).collect::<Result<Vec<_>, _>>()?,
            None => selectors.to_vec(),
        };
        for f in state_files(&path).map_err(|e| Error(format!("in .helmfiles[{i}]: {}", e.0)))? {
            matched |= visit_file(&f, env, overrode.as_ref(), &sels, depth + 1, out)
                .map_err(|e| Error(format!("in .helmfiles[{i}]: {}", e.0)))?;
        }
    }
    let releases = release::releases(&st)?;
    let chosen: Vec<Release> = releases
        .iter()
        .filter(|r| release::selected(selectors, r))
        .cloned()
        .collect();
    let order = release::order(&chosen, &releases)?;
    let index: Vec<usize> = releases
        .iter()
        .enumerate()
        .filter(|(_, r)| release::selected(selectors, r))
        .map(|(i, _)| i)
        .collect();
    let selected: Vec<usize> = order.into_iter().map(|k| index[k]).collect();
    matched |= !selected.is_empty() || (selectors.is_empty() && releases.is_empty());
    out.push(Visited {
        state: st,
        releases,
        selected,
    });
    Ok(matched)
}

/// What `helmfile template` writes: the manifests (stdout) and the progress lines (stderr).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// stdout.
    pub stdout: String,
    /// stderr (helmfile's log lines).
    pub log: String,
    /// Both, interleaved as a terminal shows them.
    pub combined: String,
}

/// Renders one release with the native Helm engine, as `helm template NAME CHART
/// [--namespace NS] -f ... --set ... --include-crds` prints it.
pub fn render_release(st: &State, r: &Release) -> Result<String, Error> {
    let chart = charts::chart_for(st, r)?;
    let input = release::helm_input(st, r)?;
    let (name, namespace) = (r.name.clone(), r.namespace.clone());
    // On Helm's render thread (a large stack for deep template nesting).
    let render = move || -> Result<String, String> {
        use ballast_helm::values::{merge_maps, parse_values_doc, strvals};
        let chart = ballast_helm::chart::load(&chart).map_err(|e| e.0)?;
        chart.check_installable().map_err(|e| e.0)?;
        let mut user = Value::empty_map();
        for (file, src) in &input.values {
            let doc = parse_values_doc(src).map_err(|e| format!("failed to parse {file}: {e}"))?;
            user = merge_maps(&user, &doc);
        }
        for s in &input.set {
            strvals::parse_into(s, &user, strvals::Reader::Typed)
                .map_err(|e| format!("failed parsing --set data: {e}"))?;
        }
        for s in &input.set_string {
            strvals::parse_into(s, &user, strvals::Reader::String)
                .map_err(|e| format!("failed parsing --set-string data: {e}"))?;
        }
        let read = |p: &str| -> Result<Value, String> { tmpl::read_limited(Path::new(p)).map(Value::from) };
        for s in &input.set_file {
            strvals::parse_into(s, &user, strvals::Reader::File(&read))
                .map_err(|e| format!("failed parsing --set-file data: {e}"))?;
        }
        let opts = ballast_helm::TemplateOptions {
            release_name: name,
            namespace,
            include_crds: true,
            kube_version: input.kube_version.clone(),
            api_versions: input.api_versions.clone(),
            ..Default::default()
        };
        ballast_helm::template_loaded(chart, &user, &opts).map_err(|e| e.0)
    };
    ballast_helm::on_render_thread(move || render().map_err(ballast_helm::Error))
        .map_err(|e| Error(format!("in {}: release \"{}\": {}", st.file.display(), r.name, e.0)))
}

/// What a cluster action (`diff`, `apply`) needs of one release, checked before anything
/// is written: the chart (local, or fetched into the cache: [`charts::chart_for`]), and the release's values (each document parsed, every
/// `--set` entry read), so a bad values file fails the whole run naming the file and the
/// release.
pub fn release_input(st: &State, r: &Release) -> Result<(PathBuf, release::HelmInput), Error> {
    use ballast_helm::values::{parse_values_doc, strvals};
    let at = |e: String| Error(format!("in {}: release \"{}\": {e}", st.file.display(), r.name));
    let chart = charts::chart_for(st, r)?;
    let input = release::helm_input(st, r).map_err(|e| at(e.0))?;
    for (file, src) in &input.values {
        parse_values_doc(src).map_err(|e| at(format!("failed to parse {file}: {e}")))?;
    }
    let scratch = Value::empty_map();
    for s in &input.set {
        strvals::parse_into(s, &scratch, strvals::Reader::Typed)
            .map_err(|e| at(format!("failed parsing --set data: {e}")))?;
    }
    for s in &input.set_string {
        strvals::parse_into(s, &scratch, strvals::Reader::String)
            .map_err(|e| at(format!("failed parsing --set-string data: {e}")))?;
    }
    Ok((chart, input))
}

/// The releases `template` renders of a visited state, in order: selected, installed, and
/// whose condition holds.
pub fn to_render(v: &Visited) -> impl Iterator<Item = &Release> {
    v.selected
        .iter()
        .map(|&i| &v.releases[i])
        .filter(|r| r.installed && r.enabled)
}

/// `helmfile template`: each state's releases rendered in `needs` order, each output followed
/// by a newline, as helmfile prints helm's.
pub fn template(opts: &Options) -> Result<Output, Error> {
    let mut out = Output::default();
    for v in visit(opts)? {
        let rs: Vec<&Release> = to_render(&v).collect();
        for r in &rs {
            let line = format!("Building dependency release={}, chart={}\n", r.name, r.chart);
            out.log.push_str(&line);
            out.combined.push_str(&line);
        }
        for r in rs {
            let line = format!("Templating release={}, chart={}\n", r.name, r.chart);
            out.log.push_str(&line);
            out.combined.push_str(&line);
            let text = render_release(&v.state, r)?;
            if !text.is_empty() {
                for s in [&mut out.stdout, &mut out.combined] {
                    s.push_str(&text);
                    s.push('\n');
                }
            }
        }
    }
    Ok(out)
}

/// `helmfile list`: the selected releases as a table (Go tabwriter layout: columns padded to
/// their widest cell and separated by a tab).
pub fn list(opts: &Options) -> Result<String, Error> {
    let mut rows = vec![
        [
            "NAME",
            "NAMESPACE",
            "ENABLED",
            "INSTALLED",
            "LABELS",
            "CHART",
            "VERSION",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for v in visit(opts)? {
        for &i in &v.selected {
            let r = &v.releases[i];
            let labels: Vec<String> = r.labels.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            rows.push(vec![
                r.name.clone(),
                r.namespace.clone(),
                r.enabled.to_string(),
                r.installed.to_string(),
                labels.join(","),
                r.chart.clone(),
                r.version.clone(),
            ]);
        }
    }
    Ok(table(&rows))
}

/// Go's `tabwriter` with minwidth 0, padding 1... as helmfile configures it: each cell but
/// the last padded to its column's width, then a tab.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, Vec::len);
    let mut widths = vec![0; cols];
    for row in rows {
        for (i, c) in row.iter().enumerate().take(cols.saturating_sub(1)) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            if i + 1 < cols {
                s.push_str(c);
                s.push_str(&" ".repeat(widths[i] - c.chars().count()));
                s.push('\t');
            } else {
                s.push_str(c);
            }
        }
        let trimmed = s.trim_end_matches([' ', '\t']).len();
        s.truncate(trimmed);
        s.push('\n');
    }
    s
}

/// The keys of a release as helmfile's `ReleaseSpec` orders them in `build` output.
const RELEASE_KEYS: &[&str] = &[
    "chart",
    "chartPath",
    "directory",
    "version",
    "verify",
    "keyring",
    "enableDNS",
    "devel",
    "wait",
    "waitRetries",
    "waitForJobs",
    "timeout",
    "recreatePods",
    "force",
    "installed",
    "updateStrategy",
    "atomic",
    "rollbackOnFailure",
    "cleanupOnFail",
    "forceConflicts",
    "historyMax",
    "condition",
    "createNamespace",
    "reuseValues",
    "disableOpenAPIValidation",
    "disableValidation",
    "disableValidationOnInstall",
    "missingFileHandler",
    "missingFileHandlerConfig",
    "needs",
    "hooks",
    "unitTests",
    "name",
    "description",
    "namespace",
    "labels",
    "values",
    "secrets",
    "set",
    "setString",
    "valuesTemplate",
    "setTemplate",
    "apiVersions",
    "kubeVersion",
    "env",
    "valuesPathPrefix",
    "kubeContext",
    "insecureSkipTLSVerify",
    "plainHttp",
    "verifyTemplate",
    "waitTemplate",
    "installedTemplate",
    "conditionTemplate",
    "dependencies",
    "jsonPatches",
    "strategicMergePatches",
    "transformers",
    "adopt",
    "forceGoGetter",
    "forceNamespace",
    "skipDeps",
    "skipRefresh",
    "postRenderer",
    "skipSchemaValidation",
    "postRendererArgs",
    "cascade",
    "suppressOutputLineRegex",
    "disableAutoDetectedKubeVersionForDiff",
    "inherit",
    "suppressDiff",
    "deleteWait",
    "deleteTimeout",
    "syncReleaseLabels",
    "takeOwnership",
    "serverSide",
    "trackMode",
    "trackTimeout",
    "trackLogs",
    "trackFailedLogs",
    "helmStuckGrace",
    "trackKinds",
    "skipKinds",
    "trackResources",
    "kubedogQPS",
    "kubedogBurst",
    "trackFailOnError",
];

/// `helmfile build`: every visited state as YAML, after `---` and a `#  Source:` comment.
/// Releases show their fields in helmfile's order, with the default labels; unknown release
/// fields follow in file order.
pub fn build(opts: &Options) -> Result<String, Error> {
    let mut s = String::new();
    for v in visit(opts)? {
        s.push_str(&format!("---\n#  Source: {}\n\n", v.state.file.display()));
        let mut top: Vec<(String, Value)> = vec![
            (
                "filepath".into(),
                Value::from(
                    v.state
                        .file
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                ),
            ),
            ("helmBinary".into(), Value::str("helm")),
            ("kustomizeBinary".into(), Value::str("kustomize")),
        ];
        for key in [
            "environments",
            "helmDefaults",
            "helmfiles",
            "namespace",
            "repositories",
            "commonLabels",
        ] {
            let f = v.state.field(key);
            if !f.is_nil() {
                top.push((key.into(), f));
            }
        }
        let mut rels = Vec::new();
        for &i in &v.selected {
            let r = &v.releases[i];
            let mut fields: Vec<(String, Value)> = Vec::new();
            let spec = &r.spec;
            let mut labels = ballast_gotemplate::Map::new();
            for (k, val) in &r.labels {
                labels.insert(k.clone(), Value::from(val.clone()));
            }
            for key in RELEASE_KEYS {
                let val = match *key {
                    "labels" => Value::map(labels.clone()),
                    "namespace" if r.namespace.is_empty() => Value::Nil,
                    k => get(spec, k),
                };
                if !val.is_nil() {
                    fields.push((key.to_string(), val));
                }
            }
            if let Value::Map(m) = spec {
                for (k, val) in m.borrow().iter() {
                    if !RELEASE_KEYS.contains(&k.as_str()) && !val.is_nil() {
                        fields.push((k.clone(), val.clone()));
                    }
                }
            }
            rels.push(fields);
        }
        s.push_str(&ordered_yaml(&top, 0)?);
        if !rels.is_empty() {
            s.push_str("releases:\n");
            for fields in &rels {
                s.push_str("  - ");
                s.push_str(&yaml3::emit_entries(fields, 4, true)?);
            }
        }
        s.push_str("templates: {}\n");
        let vals = v.state.values();
        if matches!(&vals, Value::Map(m) if m.borrow().is_empty()) {
            s.push_str("renderedvalues: {}\n");
        } else {
            s.push_str("renderedvalues:\n");
            s.push_str(&yaml3::emit(&vals, 2)?);
        }
    }
    Ok(s)
}

/// Fields in the given order at `ind`.
fn ordered_yaml(fields: &[(String, Value)], ind: usize) -> Result<String, Error> {
    yaml3::emit_entries(fields, ind, false)
}

#[cfg(test)]
mod tests;
