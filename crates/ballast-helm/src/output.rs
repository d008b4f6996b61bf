//! Rendered files printed as `helm template` prints them: split into documents, sorted into
//! hooks and manifests, manifests in Helm's install order, `--include-crds`, `--skip-tests`
//! and `--show-only`.
//!
//! Guarantees: the output for the same rendered files is always the same; a document that is
//! not YAML, or whose `kind`, `metadata.name` or annotations have the wrong shape, fails with
//! `YAML parse error on <file>: ...` as helm's; nothing here panics on any input.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use ballast_gotemplate::Value;
use regex::Regex;

use crate::Error;

/// Helm's `InstallOrder`: manifests are stable-sorted by the position of their kind here;
/// kinds not listed come last, alphabetically, in file order among equals.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The hook events Helm knows (`helm.sh/hook` values, lower-cased and trimmed).
pub const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// What `helm template` needs of a document: its head, as Helm's `SimpleHead`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.annotations`, values as strings.
    pub annotations: BTreeMap<String, String>,
}

/// One document of a rendered file, borrowed from the rendered files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest<'f> {
    /// The file it came from (`chart/templates/x.yaml`).
    pub path: &'f str,
    /// The document, trimmed of surrounding whitespace.
    pub content: &'f str,
    /// Its head.
    pub head: Head,
}

/// A document with a known `helm.sh/hook` annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook<'f> {
    /// The document and its file.
    pub manifest: Manifest<'f>,
    /// Its events (`pre-install`, ...; `test-success` is kept as `test`).
    pub events: Vec<String>,
    /// `helm.sh/hook-weight` (0 when absent or not an integer).
    pub weight: i64,
}

impl Hook<'_> {
    /// True for a `test` hook (left out by `--skip-tests`).
    pub fn is_test(&self) -> bool {
        self.events.iter().any(|e| e == "test")
    }
}

/// A raw file of a chart's `crds/` directory, named from the top chart's parent
/// (`chart/charts/sub/crds/x.yaml`).
#[derive(Clone, Debug)]
pub struct Crd {
    /// Path as printed in `# Source:`.
    pub path: String,
    /// The file as written.
    pub data: Vec<u8>,
}

/// The options of `helm template` that shape its output.
#[derive(Clone, Debug, Default)]
pub struct PrintOptions {
    /// Print the raw `crds/` files first.
    pub include_crds: bool,
    /// Leave out `test` hooks.
    pub skip_tests: bool,
    /// Print only documents of these templates (Go `filepath.Match` patterns on the path
    /// without the top chart's name).
    pub show_only: Vec<String>,
    /// `--no-hooks`: leave out every hook.
    pub no_hooks: bool,
}

/// A YAML reader for a document's head: the first document of `src` as a value (nil for
/// an empty or comment-only document), or the parser's message as helm prints it after
/// `YAML parse error on <file>: ` (`error converting YAML to JSON: yaml: line N: ...`).
pub type ParseDoc<'a> = &'a dyn Fn(&str) -> Result<Value, String>;

static SEP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*").expect("static regex"));

/// Helm's `SplitManifests`: the documents of a file, in order, each trimmed; documents empty
/// before trimming are dropped.
pub fn split_manifests(file: &str) -> Vec<String> {
    documents(file).map(str::to_string).collect()
}

/// [`split_manifests`] as slices of `file`.
pub fn documents(file: &str) -> impl Iterator<Item = &str> {
    SEP.split(file.trim()).filter(|d| !d.is_empty()).map(str::trim)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Uint(_) | Value::Float(_) => "number",
        Value::String(_) | Value::Bytes(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) | Value::Object(_) => "object",
    }
}

fn type_error(v: &Value, field: &str, ty: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go {field} of type {ty}",
        json_kind(v)
    )
}

/// A scalar as sigs.k8s.io/yaml gives it to a string field; `None` for a list or a map.
fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::Nil => Some(String::new()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) | Value::Int64(i) => Some(i.to_string()),
        Value::Uint(u) => Some(u.to_string()),
        Value::Float(f) => Some(ballast_gotemplate::fmt::format_float_g(*f)),
        Value::String(s) => Some(s.to_string()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::List(_) | Value::Map(_) | Value::Object(_) => None,
    }
}

const METADATA_TYPE: &str =
    "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }";

/// Reads a document's head as Helm's `SimpleHead` (sigs.k8s.io/yaml into a Go struct):
/// scalars become strings, a list or map where a string or struct belongs is an error.
pub fn head_of(doc: &Value) -> Result<Head, String> {
    let mut head = Head::default();
    let map = match doc {
        Value::Nil => return Ok(head),
        Value::Map(m) => m.borrow(),
        v => return Err(type_error(v, "value", "util.SimpleHead")),
    };
    for (key, field) in [("apiVersion", &mut head.api_version), ("kind", &mut head.kind)] {
        if let Some(v) = map.get(key) {
            *field =
                scalar_string(v).ok_or_else(|| type_error(v, &format!("struct field SimpleHead.{key}"), "string"))?;
        }
    }
    let meta = match map.get("metadata") {
        None | Some(Value::Nil) => return Ok(head),
        Some(Value::Map(m)) => m.borrow(),
        Some(v) => return Err(type_error(v, "struct field SimpleHead.metadata", METADATA_TYPE)),
    };
    if let Some(v) = meta.get("name") {
        head.name = scalar_string(v).ok_or_else(|| type_error(v, "struct field .metadata.name", "string"))?;
    }
    match meta.get("annotations") {
        None | Some(Value::Nil) => {}
        Some(Value::Map(m)) => {
            for (k, v) in m.borrow().iter() {
                let s =
                    scalar_string(v).ok_or_else(|| type_error(v, "struct field .metadata.annotations", "string"))?;
                head.annotations.insert(k.clone(), s);
            }
        }
        Some(v) => {
            return Err(type_error(v, "struct field .metadata.annotations", "map[string]string"));
        }
    }
    Ok(head)
}

fn kind_rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

/// Helm's `lessByKind`: known kinds by install order, unknown kinds after them, alphabetically.
fn kind_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (kind_rank(a), kind_rank(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Helm's `SortManifests`: every non-partial file (in path order) split into documents, each
/// parsed for its head, hooks separated from manifests (documents with unknown hook names are
/// dropped), both stable-sorted by kind in install order.
pub fn sort_manifests<'f>(
    files: impl IntoIterator<Item = (&'f String, &'f String)>,
    parse: ParseDoc<'_>,
) -> Result<(Vec<Hook<'f>>, Vec<Manifest<'f>>), Error> {
    let mut hooks = Vec::new();
    let mut manifests = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in documents(content) {
            let head = parse(doc)
                .and_then(|v| head_of(&v))
                .map_err(|e| Error(format!("YAML parse error on {path}: {e}")))?;
            let manifest = Manifest {
                path,
                content: doc,
                head,
            };
            let Some(hook_types) = manifest.head.annotations.get("helm.sh/hook").cloned() else {
                manifests.push(manifest);
                continue;
            };
            let mut events = Vec::new();
            let mut unknown = false;
            for t in hook_types.split(',') {
                let t = t.trim().to_lowercase();
                if !HOOK_EVENTS.contains(&t.as_str()) {
                    unknown = true;
                    break;
                }
                events.push(if t == "test-success" { "test".to_string() } else { t });
            }
            if unknown {
                continue;
            }
            let weight = manifest
                .head
                .annotations
                .get("helm.sh/hook-weight")
                .and_then(|w| go_atoi(w))
                .unwrap_or(0);
            hooks.push(Hook {
                manifest,
                events,
                weight,
            });
        }
    }
    manifests.sort_by(|a, b| kind_cmp(&a.head.kind, &b.head.kind));
    hooks.sort_by(|a, b| kind_cmp(&a.manifest.head.kind, &b.manifest.head.kind));
    Ok((hooks, manifests))
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits, within 64 bits.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The whole `helm template` output for rendered files (path → text, partials and
/// `NOTES.txt` included or not: both are skipped) and the charts' `crds/` files.
pub fn print(
    files: &BTreeMap<String, String>,
    crds: &[Crd],
    opts: &PrintOptions,
    parse: ParseDoc<'_>,
) -> Result<String, Error> {
    let files = files.iter().filter(|(p, _)| !p.ends_with("NOTES.txt"));
    let (hooks, manifests) = sort_manifests(files, parse)?;
    // Room for the whole output at once: grown by doubling, a large chart's output (6 MB for
    // the umbrella of the benchmarks) was copied about twice over, into fresh pages each time.
    let printed_crds = if opts.include_crds { crds } else { &[] };
    let crd_bytes: usize = printed_crds.iter().map(|c| c.path.len() + c.data.len()).sum();
    let docs = manifests.iter().chain(hooks.iter().map(|h| &h.manifest));
    let doc_bytes: usize = docs.map(|m| m.path.len() + m.content.len()).sum();
    let count = printed_crds.len() + manifests.len() + hooks.len();
    let mut release_manifest = String::with_capacity(crd_bytes + doc_bytes + count * DOCUMENT_FRAME + 1);
    if opts.include_crds {
        for crd in crds {
            push_document(&mut release_manifest, &crd.path, &String::from_utf8_lossy(&crd.data));
        }
    }
    for m in &manifests {
        push_document(&mut release_manifest, m.path, m.content);
    }
    // `release_manifest.trim()` and a newline, without a copy.
    let kept = release_manifest.trim_end().len();
    release_manifest.truncate(kept);
    let lead = release_manifest.len() - release_manifest.trim_start().len();
    release_manifest.drain(..lead);
    let mut out = release_manifest;
    out.push('\n');
    for h in &hooks {
        if opts.no_hooks || (opts.skip_tests && h.is_test()) {
            continue;
        }
        push_document(&mut out, h.manifest.path, h.manifest.content);
    }
    if opts.show_only.is_empty() {
        return Ok(out);
    }
    show_only(&out, &opts.show_only)
}

/// The bytes [`push_document`] adds to a document and its path.
const DOCUMENT_FRAME: usize = "---\n# Source: \n\n".len();

/// Appends `---`, the `# Source:` line and the document, as helm prints each.
fn push_document(out: &mut String, path: &str, content: &str) {
    out.reserve(path.len() + content.len() + DOCUMENT_FRAME);
    out.push_str("---\n# Source: ");
    out.push_str(path);
    out.push('\n');
    out.push_str(content);
    out.push('\n');
}

static SOURCE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"# Source: [^/\n]+/(.+)").expect("static regex"));

/// `--show-only`: the documents whose `# Source:` path (less the chart name) matches one of
/// the patterns, pattern by pattern; a pattern matching nothing is an error.
fn show_only(out: &str, patterns: &[String]) -> Result<String, Error> {
    let docs = split_manifests(out);
    let mut picked = String::new();
    for pattern in patterns {
        let mut missing = true;
        for doc in &docs {
            let Some(path) = SOURCE.captures(doc).and_then(|c| c.get(1)) else {
                continue;
            };
            if go_path_match(pattern, path.as_str()) {
                picked.push_str(&format!("---\n{doc}\n"));
                missing = false;
            }
        }
        if missing {
            return Err(Error(format!("could not find template {pattern} in chart")));
        }
    }
    Ok(picked)
}

/// Go's `path/filepath.Match` with `/` separators: `*` and `?` do not cross `/`, `[...]`
/// classes with `^` negation and ranges, `\` escapes. A malformed pattern matches nothing.
pub fn go_path_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n, 0).unwrap_or(false)
}

fn match_from(p: &[char], n: &[char], depth: usize) -> Option<bool> {
    if depth > 256 {
        return None;
    }
    let Some(&c) = p.first() else {
        return Some(n.is_empty());
    };
    match c {
        '*' => {
            let rest = &p[1..];
            for i in 0..=n.len() {
                if match_from(rest, &n[i..], depth + 1)? {
                    return Some(true);
                }
                if i < n.len() && n[i] == '/' {
                    break;
                }
            }
            // Validate the rest of the pattern even when nothing matched, as Go does.
            Some(false)
        }
        '?' => match n.first() {
            Some(&ch) if ch != '/' => match_from(&p[1..], &n[1..], depth + 1),
            _ => Some(false),
        },
        '[' => {
            let (matched, used) = match_class(&p[1..], n.first().copied())?;
            if !matched {
                return Some(false);
            }
            match_from(&p[1 + used..], &n[1..], depth + 1)
        }
        '\\' => {
            let &lit = p.get(1)?;
            if n.first() == Some(&lit) {
                match_from(&p[2..], &n[1..], depth + 1)
            } else {
                Some(false)
            }
        }
        _ => {
            if n.first() == Some(&c) {
                match_from(&p[1..], &n[1..], depth + 1)
            } else {
                Some(false)
            }
        }
    }
}

/// A `[...]` class (after the `[`): whether `ch` matches, and how many pattern characters
/// the class used (including the `]`). `None` for a malformed class.
fn match_class(p: &[char], ch: Option<char>) -> Option<(bool, usize)> {
    let mut i = 0;
    let negated = p.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &c = p.get(i)?;
        if c == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = read_class_char(p, &mut i)?;
        let mut hi = lo;
        if p.get(i) == Some(&'-') {
            i += 1;
            hi = read_class_char(p, &mut i)?;
        }
        if let Some(ch) = ch
            && lo <= ch
            && ch <= hi
        {
            matched = true;
        }
    }
    let ch = ch?;
    if ch == '/' {
        return Some((false, i));
    }
    Some((matched != negated, i))
}

fn read_class_char(p: &[char], i: &mut usize) -> Option<char> {
    let &c = p.get(*i)?;
    if c == '-' || c == ']' {
        return None;
    }
    *i += 1;
    if c == '\\' {
        let &e = p.get(*i)?;
        *i += 1;
        return Some(e);
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny reader for the test documents: `key: value` lines, two-space nesting.
    fn parse(src: &str) -> Result<Value, String> {
        if src.contains('[') {
            return Err("error converting YAML to JSON: yaml: line 1: did not find expected node content".into());
        }
        let root = Value::empty_map();
        let mut stack: Vec<(usize, Value)> = vec![(0, root.clone())];
        let mut any = false;
        for line in src.lines() {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') || t == "---" {
                continue;
            }
            any = true;
            let indent = line.len() - t.len();
            while stack.len() > 1 && stack.last().map(|s| s.0) > Some(indent) {
                stack.pop();
            }
            let (k, v) = t.split_once(':').ok_or("yaml: bad line")?;
            let k = k.trim().trim_matches('"');
            let v = v.trim().trim_matches('"');
            let Value::Map(m) = stack.last().expect("root").1.clone() else {
                unreachable!()
            };
            if v.is_empty() {
                let child = Value::empty_map();
                m.borrow_mut().insert(k.into(), child.clone());
                stack.push((indent + 2, child));
            } else {
                m.borrow_mut().insert(k.into(), Value::str(v));
            }
        }
        Ok(if any { root } else { Value::Nil })
    }

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    const A: &str = "# leading comment\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc   \n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n    helm.sh/hook: pre-install\n---\n# only comment\n---\napiVersion: x/v1\nkind: Zeta\nmetadata:\n  name: z\n---\napiVersion: x/v1\nkind: Alpha\nmetadata:\n  name: a\n--- \napiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    \"helm.sh/hook\": test\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: u\n  annotations:\n    \"helm.sh/hook\": bogus\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n\n\n";
    const B: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: post\n  annotations:\n    helm.sh/hook: post-install,pre-upgrade\n";

    /// As `helm template x` printed the probe chart `p` (templates a.yaml, b.yaml, empty.yaml).
    const EXPECTED: &str = "---\n# Source: p/templates/a.yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n---\n# Source: p/templates/a.yaml\n# leading comment\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n---\n# Source: p/templates/a.yaml\n# only comment\n---\n# Source: p/templates/a.yaml\napiVersion: x/v1\nkind: Alpha\nmetadata:\n  name: a\n---\n# Source: p/templates/a.yaml\napiVersion: x/v1\nkind: Zeta\nmetadata:\n  name: z\n---\n# Source: p/templates/a.yaml\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n    helm.sh/hook: pre-install\n---\n# Source: p/templates/a.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    \"helm.sh/hook\": test\n---\n# Source: p/templates/b.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: post\n  annotations:\n    helm.sh/hook: post-install,pre-upgrade\n";

    fn probe_files() -> BTreeMap<String, String> {
        files(&[
            ("p/templates/a.yaml", A),
            ("p/templates/b.yaml", B),
            ("p/templates/empty.yaml", ""),
            ("p/templates/_h.tpl", "kind: X\n"),
            ("p/templates/NOTES.txt", "notes x"),
        ])
    }

    #[test]
    fn prints_as_helm_template() {
        let out = print(&probe_files(), &[], &PrintOptions::default(), &parse).unwrap();
        assert_eq!(out, EXPECTED);
    }

    #[test]
    fn crds_first_and_tests_skipped() {
        let crds = [Crd {
            path: "p/crds/c.yaml".into(),
            data: b"kind: CustomResourceDefinition\nmetadata:\n  name: c\n".to_vec(),
        }];
        let opts = PrintOptions {
            include_crds: true,
            skip_tests: true,
            ..Default::default()
        };
        let out = print(&probe_files(), &crds, &opts, &parse).unwrap();
        assert!(out.starts_with("---\n# Source: p/crds/c.yaml\nkind: CustomResourceDefinition\nmetadata:\n  name: c\n\n---\n# Source: p/templates/a.yaml\napiVersion: v1\nkind: Namespace\n"));
        assert!(!out.contains("name: t\n"));
        assert!(out.ends_with("helm.sh/hook: post-install,pre-upgrade\n"));
    }

    #[test]
    fn only_hooks_start_with_an_empty_line() {
        let f = files(&[(
            "q/templates/t.yaml",
            "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: \" Test-Success \"\n",
        )]);
        let out = print(&f, &[], &PrintOptions::default(), &parse).unwrap();
        assert_eq!(
            out,
            "\n---\n# Source: q/templates/t.yaml\nkind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: \" Test-Success \"\n"
        );
        let empty = print(
            &files(&[("q/templates/t.yaml", "  \n")]),
            &[],
            &PrintOptions::default(),
            &parse,
        )
        .unwrap();
        assert_eq!(empty, "\n");
    }

    #[test]
    fn show_only_picks_documents_by_pattern() {
        let opts = PrintOptions {
            show_only: vec!["templates/b.yaml".into()],
            ..Default::default()
        };
        let out = print(&probe_files(), &[], &opts, &parse).unwrap();
        assert_eq!(out, format!("---\n# Source: p/templates/b.yaml\n{}\n", B.trim()));
        let opts = PrintOptions {
            show_only: vec!["templates/nope.yaml".into()],
            ..Default::default()
        };
        let e = print(&probe_files(), &[], &opts, &parse).unwrap_err();
        assert_eq!(e.0, "could not find template templates/nope.yaml in chart");
        let opts = PrintOptions {
            show_only: vec!["templates/*".into()],
            ..Default::default()
        };
        let out = print(&probe_files(), &[], &opts, &parse).unwrap();
        // The hook document that starts with `---` loses its head when split again, as in helm.
        assert!(out.starts_with("---\n# Source: p/templates/a.yaml\napiVersion: v1\nkind: Namespace\n"));
        assert!(out.contains(
            "---\n# Source: p/templates/a.yaml\n---\n# Source: p/templates/a.yaml\napiVersion: v1\nkind: Pod\n"
        ));
    }

    #[test]
    fn yaml_errors_name_the_file() {
        let e = print(
            &files(&[("q/templates/t.yaml", "a: [\n")]),
            &[],
            &PrintOptions::default(),
            &parse,
        )
        .unwrap_err();
        assert_eq!(
            e.0,
            "YAML parse error on q/templates/t.yaml: error converting YAML to JSON: yaml: line 1: did not find expected node content"
        );
        let meta = Value::map([("metadata".to_string(), Value::str("x"))].into_iter().collect());
        assert_eq!(
            head_of(&meta).unwrap_err(),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go struct field SimpleHead.metadata of type struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }"
        );
        assert_eq!(
            head_of(&Value::list(vec![])).unwrap_err(),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type util.SimpleHead"
        );
        let kind = Value::map([("kind".to_string(), Value::Float(5.0))].into_iter().collect());
        assert_eq!(head_of(&kind).unwrap().kind, "5");
    }

    #[test]
    fn split_like_helm() {
        assert_eq!(
            split_manifests("---\na: 1\n---\n---\nb: 2\n--- \n"),
            vec!["a: 1", "---\nb: 2"]
        );
        assert_eq!(split_manifests("a: 1\n---\n   \n---\nb"), vec!["a: 1", "---\nb"]);
        assert!(split_manifests(" \n ").is_empty());
    }

    #[test]
    fn kinds_sort_in_install_order() {
        let f = files(&[(
            "c/templates/a.yaml",
            "kind: Foo\n---\nkind: Deployment\n---\nkind: Bar\n---\nkind: Service\n---\nkind: Foo\nmetadata:\n  name: second\n",
        )]);
        let (_, m) = sort_manifests(&f, &parse).unwrap();
        let kinds: Vec<_> = m.iter().map(|m| (m.head.kind.as_str(), m.head.name.as_str())).collect();
        assert_eq!(
            kinds,
            [
                ("Service", ""),
                ("Deployment", ""),
                ("Bar", ""),
                ("Foo", ""),
                ("Foo", "second")
            ]
        );
    }

    #[test]
    fn path_match_is_go_filepath_match() {
        assert!(go_path_match("templates/*.yaml", "templates/a.yaml"));
        assert!(!go_path_match("*", "templates/a.yaml"));
        assert!(go_path_match("templates/[ab].yaml", "templates/b.yaml"));
        assert!(!go_path_match("templates/[^ab].yaml", "templates/b.yaml"));
        assert!(go_path_match("templates/?.yaml", "templates/c.yaml"));
        assert!(go_path_match(
            "charts/sub/templates/x.yaml",
            "charts/sub/templates/x.yaml"
        ));
        assert!(!go_path_match("templates/[", "templates/["));
    }
}
