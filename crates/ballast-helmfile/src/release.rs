//! Releases of a loaded state: template expressions in their fields executed (`.Release`,
//! `.Values`, `.Environment`), default labels, selectors, `installed`/`condition`, `needs`
//! ordering, and the user values each release gives the Helm engine.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ballast_gotemplate::{Map, Value};

use crate::Error;
use crate::state::{self, State, get, items, text};
use crate::tmpl;

/// One `set` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct SetValue {
    /// The key path (`a.b`).
    pub name: String,
    /// `value:`.
    pub value: Option<String>,
    /// `file:`: the value is read from this file.
    pub file: Option<String>,
    /// `values:`: a list.
    pub values: Vec<String>,
}

/// A release with every template expression executed.
#[derive(Clone, Debug)]
pub struct Release {
    /// `name`.
    pub name: String,
    /// `namespace` (the state's `namespace:` wins); empty means the default.
    pub namespace: String,
    /// `chart` as written.
    pub chart: String,
    /// `version`.
    pub version: String,
    /// `labels` with helmfile's defaults (`name`, `namespace`, `chart`) and `commonLabels`.
    pub labels: BTreeMap<String, String>,
    /// `values` (with `valuesTemplate` first): file names or inline maps.
    pub values: Vec<Value>,
    /// `set`.
    pub set: Vec<SetValue>,
    /// `needs`.
    pub needs: Vec<String>,
    /// `installed` (default true).
    pub installed: bool,
    /// `condition` met (default true).
    pub enabled: bool,
    /// `createNamespace` (the release's, else `helmDefaults`').
    pub create_namespace: bool,
    /// The release's fields as written (for `build`).
    pub spec: Value,
    /// Directory of the state file (charts and values files are relative to it).
    pub dir: PathBuf,
}

impl Release {
    /// helmfile's release id: `namespace/name` (or `name`).
    pub fn id(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }

    /// The chart on disk.
    pub fn chart_path(&self) -> PathBuf {
        tmpl::resolve(&self.dir, &self.chart)
    }
}

fn release_data(st: &State, r: &Value, vals: &Value) -> Value {
    let mut rel = Map::new();
    rel.insert("Name".into(), Value::from(text(&get(r, "name"))));
    rel.insert("Chart".into(), Value::from(text(&get(r, "chart"))));
    rel.insert("Namespace".into(), Value::from(text(&get(r, "namespace"))));
    rel.insert(
        "Labels".into(),
        match get(r, "labels") {
            l @ Value::Map(_) => l,
            _ => Value::empty_map(),
        },
    );
    rel.insert("KubeContext".into(), Value::from(text(&get(r, "kubeContext"))));
    rel.insert("ChartVersion".into(), Value::from(text(&get(r, "version"))));
    let data = tmpl::env_data(&st.env.name, vals);
    if let Value::Map(m) = &data {
        m.borrow_mut().insert("Release".into(), Value::map(rel));
        m.borrow_mut()
            .insert("Namespace".into(), Value::from(text(&st.field("namespace"))));
    }
    data
}

/// Executes the template expressions of one release spec once.
fn execute_once(st: &State, r: &Value, vals: &Value, name: &str) -> Result<Value, Error> {
    let data = release_data(st, r, vals);
    let dir = &st.dir;
    let render = |s: &str| -> Result<String, Error> {
        if s.contains("{{") {
            tmpl::render("stringTemplate", s, &data, dir).map_err(|e| {
                Error(format!(
                    "failed executing templates in release \"{}\".\"{name}\": {}",
                    st.file.display(),
                    e.0
                ))
            })
        } else {
            Ok(s.to_string())
        }
    };
    let mut out = match r {
        Value::Map(m) => m.borrow().clone(),
        _ => Map::new(),
    };
    for key in [
        "name",
        "chart",
        "namespace",
        "version",
        "installedTemplate",
        "conditionTemplate",
    ] {
        if let Some(Value::String(s)) = out.get(key).cloned() {
            out.insert(key.into(), Value::from(render(&s)?.trim().to_string()));
        }
    }
    if let Some(Value::Map(labels)) = out.get("labels").cloned() {
        let mut m = Map::new();
        for (k, v) in labels.borrow().iter() {
            m.insert(k.clone(), Value::from(render(&text(v))?));
        }
        out.insert("labels".into(), Value::map(m));
    }
    for key in ["needs", "values"] {
        if let Some(Value::List(l)) = out.get(key).cloned() {
            let mut list = Vec::new();
            for v in l.iter() {
                list.push(match v {
                    Value::String(s) => Value::from(render(s)?),
                    other => other.clone(),
                });
            }
            out.insert(key.into(), Value::list(list));
        }
    }
    Ok(Value::map(out))
}

/// How deep release templates may inherit from one another.
const MAX_INHERIT: usize = 16;

/// `src`'s fields filled into `dst` as helmfile's mergo merge without override does: a field
/// `dst` lacks (or has empty) is taken, lists are appended, maps merged by key (`dst` wins).
fn fill(dst: &Value, src: &Value) -> Value {
    match (dst, src) {
        (Value::Map(a), Value::Map(b)) => {
            let mut out = a.borrow().clone();
            for (k, v) in b.borrow().iter() {
                let merged = match out.get(k) {
                    None | Some(Value::Nil) => v.clone(),
                    Some(old) => fill(old, v),
                };
                out.insert(k.clone(), merged);
            }
            Value::map(out)
        }
        (Value::List(a), Value::List(b)) => {
            let mut out = a.as_ref().clone();
            out.extend(b.iter().cloned());
            Value::list(out)
        }
        (Value::String(a), b) if a.is_empty() => b.clone(),
        (a, _) => a.clone(),
    }
}

/// A release spec with its `inherit:` templates (from the state's `templates:`) merged in,
/// as helmfile resolves them: each template (itself resolved first, `except` fields
/// dropped) fills the fields, then the release's own fields are filled in.
fn inherit(st: &State, r: &Value, path: &[String]) -> Result<Value, Error> {
    let inherits = items(&get(r, "inherit"));
    if inherits.is_empty() {
        return Ok(r.clone());
    }
    if path.len() > MAX_INHERIT {
        return Err(Error(format!("release templates inherit deeper than {MAX_INHERIT}")));
    }
    let name = text(&get(r, "name"));
    let mut merged = Value::empty_map();
    for inh in &inherits {
        let tname = text(&get(inh, "template"));
        if tname.is_empty() {
            return Ok(r.clone());
        }
        let mut p = path.to_vec();
        p.push(tname.clone());
        if path.contains(&tname) {
            return Err(Error(format!(
                "unable to load release \"{name}\" with template: cyclic inheritance detected: {}",
                p.join("->")
            )));
        }
        let t = get(&st.field("templates"), &tname);
        if t.is_nil() {
            return Err(Error(format!(
                "release \"{name}\" tried to inherit inexistent release template \"{tname}\""
            )));
        }
        let src = inherit(st, &t, &p)?;
        let mut src = match src {
            Value::Map(m) => m.borrow().clone(),
            _ => Map::new(),
        };
        for k in items(&get(inh, "except")) {
            let k = text(&k);
            let field = match k.as_str() {
                "labels" | "values" | "valuesTemplate" | "secrets" | "set" | "setString" => k.clone(),
                "setTemplate" => k.clone(),
                _ => {
                    return Err(Error(format!(
                        "\"{k}\" is not allowed under `inherit`. Allowed values are \"set\", \"setTemplate\", \"values\", \"valuesTemplate\", \"secrets\", and \"labels\""
                    )));
                }
            };
            src.remove(&field);
        }
        merged = fill(&merged, &Value::map(src));
    }
    let mut own = match r {
        Value::Map(m) => m.borrow().clone(),
        _ => Map::new(),
    };
    own.remove("inherit");
    let mut out = match fill(&merged, &Value::map(own)) {
        Value::Map(m) => m.borrow().clone(),
        _ => Map::new(),
    };
    out.remove("inherit");
    Ok(Value::map(out))
}

/// The releases of `st` with templates executed, in file order.
pub fn releases(st: &State) -> Result<Vec<Release>, Error> {
    let vals = st.values();
    let override_ns = text(&st.field("namespace"));
    let common = st.field("commonLabels");
    let defaults = st.field("helmDefaults");
    let mut out = Vec::new();
    for (i, raw) in items(&st.field("releases")).iter().enumerate() {
        let raw_name = text(&get(raw, "name"));
        let mut spec = inherit(st, raw, &[])?;
        if !override_ns.is_empty()
            && let Value::Map(m) = &spec
        {
            let mut m = m.borrow().clone();
            m.insert("namespace".into(), Value::from(override_ns.clone()));
            spec = Value::map(m);
        }
        // helmfile executes until the release stops changing (at most 6 rounds).
        let mut stable = false;
        for _ in 0..6 {
            let next = execute_once(st, &spec, &vals, &raw_name)?;
            let same = format!("{next:?}") == format!("{spec:?}");
            spec = next;
            if same {
                stable = true;
                break;
            }
        }
        if !stable {
            return Err(Error(format!(
                "failed executing templates in release \"{}\".\"{raw_name}\": recursive references can't be resolved",
                st.file.display()
            )));
        }
        // valuesTemplate entries: rendered as YAML, placed before `values`.
        let mut values = Vec::new();
        for vt in items(&get(&spec, "valuesTemplate")) {
            if let Value::Map(_) = vt {
                let y = ballast_helm::yaml::to_yaml(&vt).map_err(Error)?;
                let data = release_data(st, &spec, &vals);
                let r = tmpl::render("stringTemplate", &y, &data, &st.dir).map_err(|e| {
                    Error(format!(
                        "failed executing template expressions in release \"{raw_name}\".values[{}] = \"{y}\": {}",
                        values.len(),
                        e.0
                    ))
                })?;
                values.push(state::first_doc(&r).map_err(Error)?);
            }
        }
        values.extend(items(&get(&spec, "values")));
        let name = text(&get(&spec, "name"));
        if name.is_empty() {
            return Err(Error(format!("{}: releases[{i}] has no name", st.file.display())));
        }
        let chart = text(&get(&spec, "chart"));
        if chart.is_empty() {
            return Err(Error(format!(
                "encountered empty chart while reading release \"{name}\""
            )));
        }
        let namespace = text(&get(&spec, "namespace"));
        let mut labels = BTreeMap::new();
        if let Value::Map(m) = &common {
            for (k, v) in m.borrow().iter() {
                labels.insert(k.clone(), text(v));
            }
        }
        if let Value::Map(m) = get(&spec, "labels") {
            for (k, v) in m.borrow().iter() {
                labels.insert(k.clone(), text(v));
            }
        }
        labels.insert("name".into(), name.clone());
        labels.insert("namespace".into(), namespace.clone());
        labels.insert("chart".into(), chart.rsplit('/').next().unwrap_or("").to_string());
        let installed = match get(&spec, "installedTemplate") {
            Value::Nil => !matches!(get(&spec, "installed"), Value::Bool(false)),
            v => text(&v).trim() != "false",
        };
        let condition = match get(&spec, "conditionTemplate") {
            Value::Nil => text(&get(&spec, "condition")),
            v => text(&v),
        };
        let enabled = condition_enabled(&condition, &vals)?;
        let create_namespace = match get(&spec, "createNamespace") {
            Value::Bool(b) => b,
            _ => !matches!(get(&defaults, "createNamespace"), Value::Bool(false)),
        };
        let set = items(&get(&spec, "set"))
            .iter()
            .map(|s| SetValue {
                name: text(&get(s, "name")),
                value: match get(s, "value") {
                    Value::Nil => None,
                    v => Some(text(&v)),
                },
                file: match get(s, "file") {
                    Value::Nil => None,
                    v => Some(text(&v)),
                },
                values: items(&get(s, "values")).iter().map(text).collect(),
            })
            .collect();
        out.push(Release {
            name,
            namespace,
            chart,
            version: text(&get(&spec, "version")),
            labels,
            values,
            set,
            needs: items(&get(&spec, "needs")).iter().map(text).collect(),
            installed,
            enabled,
            create_namespace,
            spec,
            dir: st.dir.clone(),
        });
    }
    Ok(out)
}

/// helmfile's `condition: foo.enabled`, looked up in the state values.
fn condition_enabled(cond: &str, vals: &Value) -> Result<bool, Error> {
    if cond.is_empty() {
        return Ok(true);
    }
    match cond.to_lowercase().as_str() {
        "true" => return Ok(true),
        "false" => return Ok(false),
        _ => {}
    }
    let keys: Vec<&str> = cond.split('.').collect();
    if keys.last() != Some(&"enabled") {
        return Err(Error(
            "Condition value must be in the form 'foo.enabled' where 'foo' can be modified as necessary".into(),
        ));
    }
    let mut cur = vals.clone();
    let mut path = String::new();
    for key in &keys[..keys.len() - 1] {
        path.push('.');
        path.push_str(key);
        let next = get(&cur, key);
        if next.is_nil() && !matches!(&cur, Value::Map(m) if m.borrow().contains_key(*key)) {
            return Err(Error(format!("environment values field '{path}' not found")));
        }
        if !matches!(next, Value::Map(_)) {
            return Err(Error(format!("environment values field '{path}' is not a map")));
        }
        cur = next;
    }
    match get(&cur, "enabled") {
        Value::Bool(b) => Ok(b),
        Value::Nil => Ok(false),
        _ => Err(Error(format!(
            "environment values field '{path}.enabled' must be a boolean"
        ))),
    }
}

/// A `-l` selector: `k=v` and `k!=v` terms joined by commas, all of which must hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    positive: Vec<(String, String)>,
    negative: Vec<(String, String)>,
}

fn label_term(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_./+-".contains(c))
}

impl Selector {
    /// Parses `k=v,k2!=v2`; a malformed term is helmfile's error.
    pub fn parse(s: &str) -> Result<Selector, Error> {
        let mut sel = Selector {
            positive: Vec::new(),
            negative: Vec::new(),
        };
        for term in s.split(',') {
            if let Some((k, v)) = term.split_once("!=").filter(|(k, v)| label_term(k) && label_term(v)) {
                sel.negative.push((k.into(), v.into()));
            } else if let Some((k, v)) = term.split_once('=').filter(|(k, v)| label_term(k) && label_term(v)) {
                sel.positive.push((k.into(), v.into()));
            } else {
                return Err(Error(format!(
                    "malformed label: {term}. Expected label in form k=v or k!=v"
                )));
            }
        }
        Ok(sel)
    }

    /// Whether the release's labels satisfy every term.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.positive.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.negative.iter().all(|(k, v)| labels.get(k) != Some(v))
    }
}

/// Whether any selector matches (no selectors: everything matches).
pub fn selected(selectors: &[Selector], r: &Release) -> bool {
    selectors.is_empty() || selectors.iter().any(|s| s.matches(&r.labels))
}

/// The release id a `needs` entry of `r` names (`name`, `ns/name` or `ctx/ns/name`; a bare
/// name is in `r`'s namespace).
pub fn need_id(r: &Release, need: &str) -> String {
    let parts: Vec<&str> = need.split('/').collect();
    match parts.as_slice() {
        [name] if r.namespace.is_empty() => name.to_string(),
        [name] => format!("{}/{name}", r.namespace),
        [ns, name] | [_, ns, name] if ns.is_empty() => name.to_string(),
        [ns, name] | [_, ns, name] => format!("{ns}/{name}"),
        _ => need.to_string(),
    }
}

/// Which `needs` of the selected releases join a `diff` or `apply` (helmfile's
/// `--skip-needs`, `--include-needs`, `--include-transitive-needs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Needs {
    /// Only the selected releases (helmfile's default).
    #[default]
    Skip,
    /// The selected releases and what they need directly.
    Direct,
    /// The selected releases and everything they need, transitively.
    Transitive,
}

/// The releases (indices into `all`) a `diff` or `apply` acts on, in batches: each batch
/// holds the releases whose needs are in earlier batches (helmfile's DAG groups), in file
/// order; releases of one batch are independent of each other. `selected` are the releases
/// the selectors chose; `needs` says which of their needs join them.
pub fn batches(all: &[Release], selected: &[usize], needs: Needs) -> Result<Vec<Vec<usize>>, Error> {
    let ids: HashMap<String, usize> = all.iter().enumerate().map(|(i, r)| (r.id(), i)).collect();
    let deps_of = |i: usize| -> Vec<usize> {
        all[i]
            .needs
            .iter()
            .filter_map(|n| ids.get(&need_id(&all[i], n)).copied())
            .collect()
    };
    let mut chosen = vec![false; all.len()];
    let mut queue: Vec<usize> = Vec::new();
    for &i in selected.iter().filter(|&&i| i < all.len()) {
        chosen[i] = true;
        queue.push(i);
    }
    if needs != Needs::Skip {
        let mut k = 0;
        while k < queue.len() {
            let i = queue[k];
            k += 1;
            for d in deps_of(i) {
                if !chosen[d] {
                    chosen[d] = true;
                    if needs == Needs::Transitive {
                        queue.push(d);
                    }
                }
            }
        }
    }
    let deps: Vec<Vec<usize>> = (0..all.len())
        .map(|i| {
            if chosen[i] {
                deps_of(i).into_iter().filter(|&d| chosen[d]).collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let mut done: Vec<bool> = chosen.iter().map(|c| !c).collect();
    let total = chosen.iter().filter(|c| **c).count();
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut placed = 0;
    while placed < total {
        let batch: Vec<usize> = (0..all.len())
            .filter(|&i| !done[i] && deps[i].iter().all(|&d| done[d]))
            .collect();
        if batch.is_empty() {
            return Err(Error(format!("needs: {}", describe_cycle(all, &deps, &done))));
        }
        for &i in &batch {
            done[i] = true;
        }
        placed += batch.len();
        out.push(batch);
    }
    Ok(out)
}

/// `releases` ordered by `needs`: a release after everything it needs, otherwise in file
/// order (helmfile's DAG batches, each batch in file order). A `needs` entry naming no
/// release of the state is an error unless `skip_missing` (it names a release left out by
/// selectors); a cycle is an error naming it.
pub fn order(releases: &[Release], all: &[Release]) -> Result<Vec<usize>, Error> {
    let ids: HashMap<String, usize> = releases.iter().enumerate().map(|(i, r)| (r.id(), i)).collect();
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); releases.len()];
    for (i, r) in releases.iter().enumerate() {
        for need in &r.needs {
            let id = need_id(r, need);
            match ids.get(&id) {
                Some(&j) => deps[i].push(j),
                None if all.iter().any(|a| a.id() == id) => {}
                None => {
                    return Err(Error(format!(
                        "release \"{}\" depends on \"{need}\" which does not match any release in the state",
                        r.id()
                    )));
                }
            }
        }
    }
    let mut done = vec![false; releases.len()];
    let mut out = Vec::new();
    while out.len() < releases.len() {
        let batch: Vec<usize> = (0..releases.len())
            .filter(|&i| !done[i] && deps[i].iter().all(|&d| done[d]))
            .collect();
        if batch.is_empty() {
            return Err(Error(format!("needs: {}", describe_cycle(releases, &deps, &done))));
        }
        for &i in &batch {
            done[i] = true;
        }
        out.extend(batch);
    }
    Ok(out)
}

/// The first cycle among the releases not yet ordered, as `a -> b -> a`.
fn describe_cycle(releases: &[Release], deps: &[Vec<usize>], done: &[bool]) -> String {
    let Some(start) = (0..releases.len()).find(|&i| !done[i]) else {
        return "cycle detected".into();
    };
    let mut path = vec![start];
    let mut cur = start;
    for _ in 0..=releases.len() {
        let Some(&next) = deps[cur].iter().find(|&&d| !done[d]) else {
            break;
        };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let cycle: Vec<String> = path[pos..]
                .iter()
                .chain(std::iter::once(&next))
                .map(|&i| releases[i].id())
                .collect();
            return format!("cycle detected: {}", cycle.join(" -> "));
        }
        path.push(next);
        cur = next;
    }
    "cycle detected".into()
}

/// Escapes a `--set` value as helmfile does (commas, dots in braces kept literal).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('{', "\\{")
        .replace('}', "\\}")
}

/// What the Helm engine needs for one release: values texts (`-f`, in order) and `--set`
/// family arguments, read and rendered here (values files ending in `.gotmpl` rendered with
/// the release's data).
#[derive(Clone, Debug, Default)]
pub struct HelmInput {
    /// Values documents, named for messages.
    pub values: Vec<(String, String)>,
    /// `--set`.
    pub set: Vec<String>,
    /// `--set-file`, paths resolved.
    pub set_file: Vec<String>,
    /// `--set-string` (`setString`).
    pub set_string: Vec<String>,
    /// `--kube-version` (the release's `kubeVersion`, else the state's).
    pub kube_version: Option<String>,
    /// `--api-versions` (the release's `apiVersions`, else the state's).
    pub api_versions: Vec<String>,
}

/// Whether a values or chart reference names something to fetch (go-getter or a URL).
fn is_remote(s: &str) -> bool {
    s.contains("::") || s.contains("://")
}

/// Reads the values of `r` (relative to its state file).
pub fn helm_input(st: &State, r: &Release) -> Result<HelmInput, Error> {
    let mut input = HelmInput::default();
    let data = release_data(st, &r.spec, &st.values());
    if !items(&get(&r.spec, "secrets")).is_empty() {
        return Err(Error(format!(
            "release \"{}\": `secrets` (helm-secrets/sops) are not supported; use values files",
            r.name
        )));
    }
    let handler = match get(&r.spec, "missingFileHandler") {
        Value::Nil => text(&st.field("missingFileHandler")),
        v => text(&v),
    };
    for (i, v) in r.values.iter().enumerate() {
        match v {
            Value::String(s) => {
                if is_remote(s) {
                    return Err(Error(format!(
                        "release \"{}\": values \"{s}\" would be fetched; remote values are not supported (no network)",
                        r.name
                    )));
                }
                let path = tmpl::resolve(&r.dir, s);
                if !path.exists() && !handler.is_empty() && handler != "Error" {
                    // helmfile's Warn/Info/Debug handlers skip a missing values file.
                    continue;
                }
                let src = tmpl::read_limited(&path).map_err(Error)?;
                let text = if s.ends_with(".gotmpl") {
                    tmpl::render(
                        &path.display().to_string(),
                        &src,
                        &data,
                        path.parent().unwrap_or(Path::new(".")),
                    )
                    .map_err(|e| Error(format!("failed to render values files \"{s}\": {}", e.0)))?
                } else {
                    src
                };
                input.values.push((s.to_string(), text));
            }
            Value::Map(_) => {
                let y = ballast_helm::yaml::to_yaml(v).map_err(Error)?;
                input.values.push((format!("values[{i}]"), y));
            }
            Value::Nil => {}
            other => return Err(Error(format!("unexpected type of value: {}", other.type_name()))),
        }
    }
    for s in items(&get(&r.spec, "setString")) {
        input.set_string.push(format!(
            "{}={}",
            text(&get(&s, "name")),
            escape(&text(&get(&s, "value")))
        ));
    }
    input.kube_version = [get(&r.spec, "kubeVersion"), st.field("kubeVersion")]
        .iter()
        .map(text)
        .find(|v| !v.is_empty());
    input.api_versions = {
        let own: Vec<String> = items(&get(&r.spec, "apiVersions")).iter().map(text).collect();
        if own.is_empty() {
            items(&st.field("apiVersions")).iter().map(text).collect()
        } else {
            own
        }
    };
    for s in &r.set {
        if let Some(f) = &s.file {
            input
                .set_file
                .push(format!("{}={}", s.name, tmpl::resolve(&r.dir, f).display()));
        } else if !s.values.is_empty() {
            let vals: Vec<String> = s.values.iter().map(|v| escape(v)).collect();
            input.set.push(format!("{}={{{}}}", s.name, vals.join(",")));
        } else {
            input
                .set
                .push(format!("{}={}", s.name, escape(s.value.as_deref().unwrap_or(""))));
        }
    }
    Ok(input)
}
