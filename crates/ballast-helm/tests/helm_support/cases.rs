//! `fixtures/charts/cases.yaml`: the conformance cases, read with a small loader on
//! `saphyr-parser` (plain scalars, sequences and mappings; every scalar kept as its text).

use std::path::{Path, PathBuf};

use ballast_helm::TemplateOptions;
use ballast_helm::values::ValueOptions;
use saphyr_parser::{Event, Parser};

/// A YAML node of the cases file.
#[derive(Debug)]
enum Node {
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

fn load(src: &str) -> Result<Node, String> {
    let mut stack: Vec<(Node, Option<String>)> = Vec::new();
    let mut root = None;
    for ev in Parser::new_from_str(src) {
        let (ev, span) = ev.map_err(|e| format!("cases.yaml: {e}"))?;
        let node = match ev {
            Event::SequenceStart(..) => {
                stack.push((Node::Seq(Vec::new()), None));
                continue;
            }
            Event::MappingStart(..) => {
                stack.push((Node::Map(Vec::new()), None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some((n, None)) => n,
                _ => return Err(format!("cases.yaml: unbalanced at line {}", span.start.line())),
            },
            Event::Scalar(s, ..) => Node::Scalar(s.into_owned()),
            Event::Alias(_) => return Err("cases.yaml: aliases are not used here".into()),
            _ => continue,
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some((Node::Seq(items), _)) => items.push(node),
            Some((Node::Map(entries), key)) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => match node {
                    Node::Scalar(k) => *key = Some(k),
                    _ => return Err("cases.yaml: keys must be scalars".into()),
                },
            },
            Some((Node::Scalar(_), _)) => unreachable!("scalars are never pushed"),
        }
    }
    root.ok_or_else(|| "cases.yaml: empty".into())
}

/// One `helm template` call and what it must give.
#[derive(Clone, Debug, Default)]
pub struct Case {
    /// Unique name, used in reports.
    pub name: String,
    /// The chart (a `.tgz` or a directory), absolute.
    pub chart: PathBuf,
    /// Release name.
    pub release: String,
    /// `-n`, empty for none.
    pub namespace: String,
    /// `-f` files, absolute.
    pub values: Vec<PathBuf>,
    /// `--set` flags.
    pub set: Vec<String>,
    /// `--set-string` flags.
    pub set_string: Vec<String>,
    /// `--set-json` flags.
    pub set_json: Vec<String>,
    /// `--set-file` flags (paths relative to the fixtures directory are made absolute).
    pub set_file: Vec<String>,
    /// `--set-literal` flags.
    pub set_literal: Vec<String>,
    /// `--kube-version`.
    pub kube_version: Option<String>,
    /// `--api-versions`.
    pub api_versions: Vec<String>,
    /// `--include-crds`.
    pub include_crds: bool,
    /// `--skip-tests`.
    pub skip_tests: bool,
    /// `--is-upgrade`.
    pub is_upgrade: bool,
    /// `--show-only`.
    pub show_only: Vec<String>,
    /// Both must fail.
    pub error: bool,
}

fn scalar(n: &Node, what: &str) -> Result<String, String> {
    match n {
        Node::Scalar(s) => Ok(s.clone()),
        _ => Err(format!("{what}: expected a scalar")),
    }
}

fn list(n: &Node, what: &str) -> Result<Vec<String>, String> {
    match n {
        Node::Seq(items) => items.iter().map(|i| scalar(i, what)).collect(),
        Node::Scalar(s) => Ok(vec![s.clone()]),
        Node::Map(_) => Err(format!("{what}: expected a list")),
    }
}

fn boolean(n: &Node, what: &str) -> Result<bool, String> {
    match scalar(n, what)?.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("{what}: expected true or false, got {other:?}")),
    }
}

impl Case {
    fn from_node(n: &Node, dir: &Path) -> Result<Case, String> {
        let Node::Map(entries) = n else {
            return Err("cases.yaml: each case must be a mapping".into());
        };
        let mut c = Case {
            release: "release-name".into(),
            ..Case::default()
        };
        for (k, v) in entries {
            let what = format!("case {:?} key {k}", c.name);
            match k.as_str() {
                "name" => c.name = scalar(v, &what)?,
                "chart" => c.chart = dir.join(scalar(v, &what)?),
                "release" => c.release = scalar(v, &what)?,
                "namespace" => c.namespace = scalar(v, &what)?,
                "values" => c.values = list(v, &what)?.iter().map(|f| dir.join(f)).collect(),
                "set" => c.set = list(v, &what)?,
                "setString" => c.set_string = list(v, &what)?,
                "setJson" => c.set_json = list(v, &what)?,
                "setFile" => {
                    c.set_file = list(v, &what)?
                        .into_iter()
                        .map(|f| match f.split_once('=') {
                            Some((key, path)) => format!("{key}={}", dir.join(path).display()),
                            None => f,
                        })
                        .collect()
                }
                "setLiteral" => c.set_literal = list(v, &what)?,
                "kubeVersion" => c.kube_version = Some(scalar(v, &what)?),
                "apiVersions" => c.api_versions = list(v, &what)?,
                "includeCrds" => c.include_crds = boolean(v, &what)?,
                "skipTests" => c.skip_tests = boolean(v, &what)?,
                "isUpgrade" => c.is_upgrade = boolean(v, &what)?,
                "showOnly" => c.show_only = list(v, &what)?,
                "error" => c.error = boolean(v, &what)?,
                _ => return Err(format!("{what}: unknown key")),
            }
        }
        if c.name.is_empty() || c.chart.as_os_str().is_empty() {
            return Err(format!("a case lacks name or chart: {c:?}"));
        }
        if !c.chart.exists() {
            return Err(format!("case {}: chart {} does not exist", c.name, c.chart.display()));
        }
        Ok(c)
    }

    /// The arguments after `helm`.
    pub fn helm_args(&self) -> Vec<String> {
        let mut a = vec!["template".to_string(), self.release.clone()];
        a.push(self.chart.display().to_string());
        if !self.namespace.is_empty() {
            a.extend(["--namespace".into(), self.namespace.clone()]);
        }
        for f in &self.values {
            a.extend(["--values".into(), f.display().to_string()]);
        }
        let flags = [
            ("--set", &self.set),
            ("--set-string", &self.set_string),
            ("--set-json", &self.set_json),
            ("--set-file", &self.set_file),
            ("--set-literal", &self.set_literal),
            ("--api-versions", &self.api_versions),
            ("--show-only", &self.show_only),
        ];
        for (flag, vals) in flags {
            for v in vals {
                a.extend([flag.to_string(), v.clone()]);
            }
        }
        if let Some(v) = &self.kube_version {
            a.extend(["--kube-version".into(), v.clone()]);
        }
        for (on, flag) in [
            (self.include_crds, "--include-crds"),
            (self.skip_tests, "--skip-tests"),
            (self.is_upgrade, "--is-upgrade"),
        ] {
            if on {
                a.push(flag.into());
            }
        }
        a
    }

    /// The same call for `ballast_helm::template` (options added later keep their defaults).
    #[allow(clippy::needless_update)]
    pub fn options(&self) -> TemplateOptions {
        TemplateOptions {
            release_name: self.release.clone(),
            namespace: self.namespace.clone(),
            values: ValueOptions {
                files: self.values.clone(),
                set: self.set.clone(),
                set_string: self.set_string.clone(),
                set_json: self.set_json.clone(),
                set_file: self.set_file.clone(),
                set_literal: self.set_literal.clone(),
                ..ValueOptions::default()
            },
            include_crds: self.include_crds,
            skip_tests: self.skip_tests,
            kube_version: self.kube_version.clone(),
            api_versions: self.api_versions.clone(),
            show_only: self.show_only.clone(),
            is_upgrade: self.is_upgrade,
            ..TemplateOptions::default()
        }
    }
}

/// Reads every case of `dir/cases.yaml`; names are unique.
pub fn read(dir: &Path) -> Result<Vec<Case>, String> {
    let path = dir.join("cases.yaml");
    let src = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let Node::Seq(items) = load(&src)? else {
        return Err("cases.yaml: expected a list of cases".into());
    };
    let cases = items
        .iter()
        .map(|n| Case::from_node(n, dir))
        .collect::<Result<Vec<_>, _>>()?;
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("cases.yaml: case {} appears twice", w[0]));
    }
    Ok(cases)
}
