//! `helmCharts`: local charts inflated with the native Helm engine ([`ballast_helm`]), as
//! `kustomize build --enable-helm` does with `helm template`.
//!
//! Each entry is rendered from `<chartHome>/<name>` (`chartHome` defaults to `charts`, or
//! `helmGlobals.chartHome`; with both `version` and `repo`, `<chartHome>/<name>-<version>/<name>`)
//! with kustomize's values: the values file (`valuesFile`, default the chart's
//! `values.yaml`) combined with `valuesInline` as `valuesMerge` says (`override`, the default:
//! inline wins; `merge`: the file wins; `replace`: inline alone), then each
//! `additionalValuesFiles` entry. `releaseName`, `namespace`, `includeCRDs`, `skipTests`,
//! `skipHooks`, `apiVersions` and `kubeVersion` are `helm template`'s flags.
//!
//! Safety: every file of the chart and every values file is read through [`Root`] (confined to
//! the repository, within its size limits); a chart that is not in the repository is refused
//! (no network, no `helm pull`), and so is an entry without `releaseName` (helm would make up a
//! name from the clock).

use std::path::{Path, PathBuf};

use ballast_helm::chart::ignore::{HELM_IGNORE, Rules};
use serde_json::Value;

use super::{Res, err, load_text, rel};
use crate::RenderError;
use crate::root::Root;

/// Most files one chart may hold (subcharts included).
const MAX_CHART_FILES: usize = 20_000;
/// Deepest directory nesting read in a chart.
const MAX_CHART_DEPTH: usize = 32;

/// The objects of every `helmCharts` entry of the kustomization `file` in `dir`, appended to
/// `out` in entry order.
pub(crate) fn generate(root: &Root, dir: &Path, file: &Path, k: &Value, out: &mut Vec<Res>) -> Result<(), RenderError> {
    let Some(entries) = k.get("helmCharts") else {
        return Ok(());
    };
    let entries = match entries {
        Value::Null => return Ok(()),
        Value::Array(a) => a,
        _ => return Err(err(root, file, "helmCharts: expected a list")),
    };
    let global_home = k
        .pointer("/helmGlobals/chartHome")
        .and_then(Value::as_str)
        .unwrap_or("");
    for (i, entry) in entries.iter().enumerate() {
        let here = |m: String| err(root, file, format!("helmCharts[{i}]: {m}"));
        let text = inflate(root, dir, entry, global_home).map_err(|e| match e {
            Failure::Message(m) => here(m),
            Failure::Render(e) => e,
        })?;
        out.extend(load_text(root, file, &text)?);
    }
    Ok(())
}

enum Failure {
    Message(String),
    Render(RenderError),
}

impl From<String> for Failure {
    fn from(m: String) -> Failure {
        Failure::Message(m)
    }
}

impl From<RenderError> for Failure {
    fn from(e: RenderError) -> Failure {
        Failure::Render(e)
    }
}

fn string_field(entry: &Value, key: &str) -> Result<String, String> {
    match entry.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{key}: expected a string")),
    }
}

fn bool_field(entry: &Value, key: &str) -> Result<bool, String> {
    match entry.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{key}: expected a boolean")),
    }
}

fn string_list(entry: &Value, key: &str) -> Result<Vec<String>, String> {
    match entry.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{key}: expected a list of strings"))
            })
            .collect(),
        Some(_) => Err(format!("{key}: expected a list of strings")),
    }
}

const FIELDS: &[&str] = &[
    "name",
    "version",
    "repo",
    "releaseName",
    "namespace",
    "additionalValuesFiles",
    "valuesFile",
    "valuesInline",
    "valuesMerge",
    "includeCRDs",
    "skipHooks",
    "apiVersions",
    "kubeVersion",
    "nameTemplate",
    "skipTests",
    "debug",
    "devel",
];

/// Reads a file of the repository, relative to the kustomization directory.
fn read_in_root(root: &Root, dir: &Path, path: &str, what: &str) -> Result<String, Failure> {
    if path.contains("://") {
        return Err(format!("{what} {path}: remote files are not allowed").into());
    }
    let p = dir.join(path);
    let canon = root.confine(&p)?;
    Ok(root.read(&canon)?)
}

fn inflate(root: &Root, dir: &Path, entry: &Value, global_home: &str) -> Result<String, Failure> {
    let Value::Object(map) = entry else {
        return Err("expected a mapping".to_string().into());
    };
    if let Some(key) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("{key}: unknown field").into());
    }
    let name = string_field(entry, "name")?;
    if name.is_empty() {
        return Err("chart name cannot be empty".to_string().into());
    }
    let version = string_field(entry, "version")?;
    let repo = string_field(entry, "repo")?;
    let release = string_field(entry, "releaseName")?;
    if release.is_empty() {
        return Err(format!(
            "{name}: releaseName is required (helm would generate a name from the clock, different at every render)"
        )
        .into());
    }
    if !string_field(entry, "nameTemplate")?.is_empty() {
        return Err("nameTemplate: not supported".to_string().into());
    }
    let merge = match string_field(entry, "valuesMerge")?.as_str() {
        "" | "override" => ValuesMerge::Override,
        "merge" => ValuesMerge::Merge,
        "replace" => ValuesMerge::Replace,
        _ => return Err("valuesMerge must be one of [merge override replace]".to_string().into()),
    };
    let home = if global_home.is_empty() { "charts" } else { global_home };
    let mut home_dir = dir.join(home);
    if !version.is_empty() && !repo.is_empty() {
        home_dir = home_dir.join(format!("{name}-{version}"));
    }
    let chart_dir = home_dir.join(&name);
    if !chart_dir.is_dir() {
        if repo.is_empty() {
            return Err(format!(
                "no repo specified for pull, no chart found at {}",
                rel(root, &chart_dir).display()
            )
            .into());
        }
        return Err(format!(
            "{name}: chart not found at {} and charts are not pulled from repositories ({repo}): no network; vendor the chart there",
            rel(root, &chart_dir).display()
        )
        .into());
    }
    let chart_dir = root.confine(&chart_dir)?;

    // The values file kustomize hands to helm (-f), then the additional ones.
    let values_file = string_field(entry, "valuesFile")?;
    let inline = match entry.get("valuesInline") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("valuesInline: expected a mapping".to_string().into()),
    };
    let read_values = || -> Result<String, Failure> {
        if values_file.is_empty() {
            let p = chart_dir.join("values.yaml");
            Ok(root.read(&root.confine(&p)?)?)
        } else {
            read_in_root(root, dir, &values_file, "valuesFile")
        }
    };
    let mut docs: Vec<(String, String)> = Vec::new();
    let values_name = if values_file.is_empty() {
        format!("{name}/values.yaml")
    } else {
        values_file.clone()
    };
    if inline.is_empty() {
        docs.push((values_name, read_values()?));
    } else {
        let inline = Value::Object(inline);
        let merged = match merge {
            ValuesMerge::Replace => inline,
            ValuesMerge::Override | ValuesMerge::Merge => {
                let text = read_values()?;
                let file_values = root
                    .parse(&text)
                    .map_err(|e| format!("{values_name}: {e}"))?
                    .into_iter()
                    .next()
                    .unwrap_or(Value::Null);
                let file_values = if file_values.is_null() {
                    Value::Object(Default::default())
                } else {
                    file_values
                };
                if merge == ValuesMerge::Override {
                    merge2(&inline, file_values)
                } else {
                    merge2(&file_values, inline)
                }
            }
        };
        // kustomize writes the merged values as YAML for helm; JSON is YAML and keeps
        // every string a string, as its writer does.
        docs.push((format!("{name}-kustomize-values.yaml"), merged.to_string()));
    }
    for f in string_list(entry, "additionalValuesFiles")? {
        let text = read_in_root(root, dir, &f, "additionalValuesFiles")?;
        docs.push((f, text));
    }
    let files = read_chart(root, &chart_dir)?;
    let opts = ballast_helm::TemplateOptions {
        release_name: release,
        namespace: string_field(entry, "namespace")?,
        include_crds: bool_field(entry, "includeCRDs")?,
        skip_tests: bool_field(entry, "skipTests")?,
        no_hooks: bool_field(entry, "skipHooks")?,
        kube_version: Some(string_field(entry, "kubeVersion")?).filter(|v| !v.is_empty()),
        api_versions: string_list(entry, "apiVersions")?,
        ..Default::default()
    };
    // helm's advice to rerun with --debug does not apply here.
    Ok(ballast_helm::template_files(files, docs, &opts)
        .map_err(|e| format!("{name}: {}", e.0.trim_end_matches(ballast_helm::DEBUG_HINT)))?)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ValuesMerge {
    Override,
    Merge,
    Replace,
}

/// kyaml's `merge2.Merge(src, dest)` on plain values: maps merge key by key, a `null` in `src`
/// removes the key, anything else in `src` replaces what `dest` has.
fn merge2(src: &Value, dest: Value) -> Value {
    match (src, dest) {
        (Value::Object(s), Value::Object(mut d)) => {
            for (k, v) in s {
                if v.is_null() {
                    d.remove(k);
                    continue;
                }
                let merged = match d.remove(k) {
                    Some(old) => merge2(v, old),
                    None => v.clone(),
                };
                d.insert(k.clone(), merged);
            }
            Value::Object(d)
        }
        (s, _) => s.clone(),
    }
}

/// Every file under the chart directory that its `.helmignore` (plus Helm's default rule)
/// keeps, read through the root (symlinks followed only within it), named from the chart root
/// with `/` separators, in path order.
fn read_chart(root: &Root, chart_dir: &Path) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let ignore_path = chart_dir.join(HELM_IGNORE);
    let mut rules = if ignore_path.is_file() {
        let text = root.read(&ignore_path)?;
        Rules::parse(&text).map_err(|e| format!("{}: {e}", rel(root, &ignore_path).display()))?
    } else {
        Rules::default()
    };
    rules.add_defaults();
    let mut files = Vec::new();
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(chart_dir.to_path_buf(), String::new(), 0)];
    while let Some((d, prefix, depth)) = stack.pop() {
        if depth > MAX_CHART_DEPTH {
            return Err(format!("{}: directories nested too deep", rel(root, &d).display()).into());
        }
        let io = |source| RenderError::Io {
            path: rel(root, &d),
            source,
        };
        let mut names: Vec<String> = std::fs::read_dir(&d)
            .map_err(io)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        names.sort();
        for n in names {
            let p = d.join(&n);
            let name = if prefix.is_empty() { n } else { format!("{prefix}/{n}") };
            let canon = root.confine(&p)?;
            if canon.is_dir() {
                if !rules.ignore(&name, true) {
                    stack.push((p, name, depth + 1));
                }
                continue;
            }
            if rules.ignore(&name, false) {
                continue;
            }
            if files.len() >= MAX_CHART_FILES {
                return Err(format!("{}: more than {MAX_CHART_FILES} files", rel(root, chart_dir).display()).into());
            }
            let data = root.read_bytes(&p)?;
            root.charge(data.len() as u64)
                .map_err(|m| format!("{}: {m}", rel(root, &p).display()))?;
            files.push((name, data));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge2_overrides_maps_and_deletes_nulls() {
        let dest = json!({"a": 1, "b": {"x": 1, "y": 2}, "l": [1, 2], "gone": 1});
        let src = json!({"b": {"y": 3, "z": 4}, "l": [3], "gone": null});
        assert_eq!(
            merge2(&src, dest),
            json!({"a": 1, "b": {"x": 1, "y": 3, "z": 4}, "l": [3]})
        );
    }
}
