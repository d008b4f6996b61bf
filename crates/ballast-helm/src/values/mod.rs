//! Helm values: `-f` files and the `--set` family ([`ValueOptions::merge`]), coalescing with
//! chart defaults ([`coalesce`]), dependency conditions, tags, aliases and `import-values`
//! ([`prepare`]).
//!
//! A render, as `helm template` orders it:
//! 1. [`crate::chart::load()`] (checks that listed dependencies are in `charts/`), then
//!    [`crate::chart::Chart::check_installable`] (library charts);
//! 2. [`ValueOptions::merge`]: the user's values;
//! 3. [`crate::capabilities::Capabilities::new`] and `check_kube_version` (the chart's
//!    `kubeVersion`);
//! 4. [`prepare`]: the enabled charts and the values tree;
//! 5. [`crate::schema::validate`] unless `--skip-schema-validation`;
//! 6. per chart, `.Values` is [`crate::chart::Chart::scoped_values`] of its parent's values
//!    under its (alias) name, `.Chart` is [`crate::capabilities::chart_object`], `.Files` is
//!    [`crate::files::Files`] of its own `files`.
//!
//! The entry point for a render is [`prepare`]: it takes the loaded chart and the merged user
//! values and returns the chart with only its enabled dependencies (aliased copies renamed)
//! and the coalesced values tree that `.Values` shows at the top; a subchart's `.Values` is the
//! map under its name (or alias) in its parent's values.

pub mod coalesce;
pub mod strvals;

use std::path::{Path, PathBuf};

use ballast_gotemplate::Value;

use crate::Error;
use crate::chart::Chart;
pub use coalesce::{coalesce_values, merge_maps, path_value, table};

/// The user-supplied values of one render, as `helm template` takes them, applied in Helm's
/// order: `-f` files (deep-merged in order), then `--set-json`, `--set`, `--set-string`,
/// `--set-file`, `--set-literal`, each list in order.
#[derive(Clone, Debug, Default)]
pub struct ValueOptions {
    /// `-f`/`--values` files.
    pub files: Vec<PathBuf>,
    /// `--set a=b,c.d=e`.
    pub set: Vec<String>,
    /// `--set-string`.
    pub set_string: Vec<String>,
    /// `--set-json a={"b":1}`.
    pub set_json: Vec<String>,
    /// `--set-file a=path`.
    pub set_file: Vec<String>,
    /// `--set-literal a=b,c` (the whole right side, commas included).
    pub set_literal: Vec<String>,
}

/// The most bytes read from one `-f` or `--set-file` file.
pub const MAX_VALUES_FILE: u64 = 64 << 20;

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("open {}: {}", path.display(), go_io_error(&e)))?;
    let mut buf = Vec::new();
    f.take(MAX_VALUES_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("read {}: {}", path.display(), go_io_error(&e)))?;
    if buf.len() as u64 > MAX_VALUES_FILE {
        return Err(format!("{}: file larger than {MAX_VALUES_FILE} bytes", path.display()));
    }
    Ok(buf)
}

/// Go's text for common I/O errors (`no such file or directory`).
pub(crate) fn go_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            // Rust appends " (os error N)".
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}

/// A values document (`values.yaml`, an `-f` file) read as helm v4's `LoadValues` reads it:
/// YAML 1.1 through JSON (every number float64), documents deep-merged, an empty document an
/// empty map; a document that is not a map is an error (`cannot unmarshal yaml document: ...`).
pub fn parse_values_doc(text: &str) -> Result<Value, String> {
    crate::yaml::parse_values(text).map_err(|e| e.to_string())
}

impl ValueOptions {
    /// The user values: a map, never nil. Errors carry Helm's texts (`failed to parse x.yaml:
    /// ...`, `failed parsing --set data: key "a" has no value`).
    pub fn merge(&self) -> Result<Value, Error> {
        let mut base = Value::empty_map();
        for path in &self.files {
            let raw = read_file(path).map_err(Error)?;
            let text = String::from_utf8_lossy(&raw);
            let cur = parse_values_doc(&text).map_err(|e| Error(format!("failed to parse {}: {e}", path.display())))?;
            base = merge_maps(&base, &cur);
        }
        for value in &self.set_json {
            let trimmed = value.trim();
            if trimmed.starts_with('{') {
                let Ok(cur) = crate::json::from_json_into(trimmed, crate::json::Target::Map) else {
                    return Err(Error(format!("failed parsing --set-json data JSON: {value}")));
                };
                base = merge_maps(&base, &cur);
            } else if strvals::parse_into(value, &base, strvals::Reader::Json).is_err() {
                return Err(Error(format!("failed parsing --set-json data {value}")));
            }
        }
        for value in &self.set {
            strvals::parse_into(value, &base, strvals::Reader::Typed)
                .map_err(|e| Error(format!("failed parsing --set data: {e}")))?;
        }
        for value in &self.set_string {
            strvals::parse_into(value, &base, strvals::Reader::String)
                .map_err(|e| Error(format!("failed parsing --set-string data: {e}")))?;
        }
        let read = |p: &str| -> Result<Value, String> {
            let raw = read_file(Path::new(p))?;
            Ok(Value::str(&String::from_utf8_lossy(&raw)))
        };
        for value in &self.set_file {
            strvals::parse_into(value, &base, strvals::Reader::File(&read))
                .map_err(|e| Error(format!("failed parsing --set-file data: {e}")))?;
        }
        for value in &self.set_literal {
            strvals::parse_literal_into(value, &base)
                .map_err(|e| Error(format!("failed parsing --set-literal data: {e}")))?;
        }
        Ok(base)
    }
}

/// Prepares a chart and the user's values for rendering, as `helm template` does before it
/// executes templates (Helm's `ProcessDependenciesWithMerge` then `CoalesceValues`):
///
/// 1. dependencies: aliased copies made (renamed to the alias), `tags` (from the top-level
///    values) and `condition`s applied, disabled subcharts removed, at every level;
/// 2. `import-values` merged under each parent's defaults (children first);
/// 3. the values coalesced: chart defaults < user values, a user `null` deletes a default,
///    each subchart's map (under its name or alias) coalesced with its defaults, `global`
///    copied down into every subchart's map.
///
/// Returns the chart with only its enabled dependencies (at every level; `Metadata.dependencies`
/// likewise, with aliases as names and `import-values` in map form) and the values of the
/// top chart. Schema validation is separate: [`crate::schema::validate`].
pub fn prepare(chart: Chart, user: &Value) -> Result<(Chart, Value), Error> {
    let mut chart = chart;
    crate::chart::deps::process_dependencies(&mut chart, user)?;
    let vals = coalesce_values(&chart, user, false)?;
    Ok((chart, vals))
}

#[cfg(test)]
pub(crate) mod tests;
