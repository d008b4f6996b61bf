//! Charts: loading from a directory or a `.tgz` ([`load()`], [`load_archive`]), `.helmignore`
//! ([`ignore`]), `Chart.yaml` metadata ([`metadata`]), dependencies ([`deps`]).

pub mod archive;
pub mod deps;
pub mod ignore;
pub mod load;
pub mod metadata;
#[cfg(test)]
mod tests;

pub use load::{check_dependencies, load, load_archive, load_dir, load_files};

use ballast_gotemplate::Value;

/// A loaded chart, as Helm's `chart.Chart`.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// `Chart.lock` (v2) or `requirements.lock` (v1), raw.
    pub lock: Option<Blob>,
    /// Files under `templates/`, named from the chart root (`templates/deployment.yaml`).
    pub templates: Vec<ChartFile>,
    /// `values.yaml` parsed (a map; empty when the file is absent).
    pub values: Value,
    /// `values.yaml` as written.
    pub raw_values: Option<Blob>,
    /// `values.schema.json`.
    pub schema: Option<Blob>,
    /// Every other file (`crds/`, `files/`, `README.md`, `.helmignore`...): `.Files`.
    pub files: Vec<ChartFile>,
    /// Subcharts from `charts/` (directories and archives).
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// Helm's `checkIfInstallable`: only application charts render; then an apiVersion v3
    /// chart, which helm v4 loads but does not render, is refused (before its `kubeVersion`,
    /// schema and templates are looked at).
    pub fn check_installable(&self) -> Result<(), crate::Error> {
        match self.metadata.chart_type.as_str() {
            "" | "application" => {}
            t => return Err(crate::Error(format!("{t} charts are not installable"))),
        }
        if self.metadata.api_version == "v3" {
            return Err(crate::Error("invalid chart apiVersion".into()));
        }
        Ok(())
    }

    /// The values a subchart's templates see: the map under `name` (its name or alias) in its
    /// parent's values; an empty map if absent.
    pub fn scoped_values(parent_values: &Value, name: &str) -> Value {
        match parent_values {
            Value::Map(m) => match m.borrow().get(name) {
                Some(v @ Value::Map(_)) => v.clone(),
                _ => Value::empty_map(),
            },
            _ => Value::empty_map(),
        }
    }
}

/// `data` as text, invalid UTF-8 replaced by U+FFFD as `String::from_utf8_lossy` does; borrowed
/// when already valid (checked by the faster `std::str::from_utf8` first).
pub fn utf8_lossy(data: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(data),
    }
}

/// A chart file's bytes: shared, cheap to clone and to slice. A chart read from an archive
/// keeps its files as slices of the one decompressed archive, with no copy of their own.
pub type Blob = bytes::Bytes;

/// `data` without a leading UTF-8 byte-order mark, as Helm reads every chart file.
pub fn without_bom(data: Blob) -> Blob {
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        data.slice(3..)
    } else {
        data
    }
}

/// A file of a chart: its path from the chart root, with `/` separators, and its bytes.
#[derive(Clone, Debug)]
pub struct ChartFile {
    /// Path from the chart root.
    pub name: String,
    /// Content.
    pub data: Blob,
}

/// `Chart.yaml`, as Helm's `chart.Metadata`.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    /// `name`.
    pub name: String,
    /// `home`.
    pub home: String,
    /// `sources`.
    pub sources: Vec<String>,
    /// `version`.
    pub version: String,
    /// `description`.
    pub description: String,
    /// `keywords`.
    pub keywords: Vec<String>,
    /// `maintainers`.
    pub maintainers: Vec<Maintainer>,
    /// `icon`.
    pub icon: String,
    /// `apiVersion` (`v1` or `v2`).
    pub api_version: String,
    /// `condition`.
    pub condition: String,
    /// `tags`.
    pub tags: String,
    /// `appVersion`.
    pub app_version: String,
    /// `deprecated`.
    pub deprecated: bool,
    /// `annotations`.
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
    /// `kubeVersion`.
    pub kube_version: String,
    /// `dependencies` (v2), or those of `requirements.yaml` (v1).
    pub dependencies: Vec<Dependency>,
    /// `type` (`application` or `library`; empty means application).
    pub chart_type: String,
}

/// A maintainer in `Chart.yaml`.
#[derive(Clone, Debug, Default)]
pub struct Maintainer {
    /// `name`.
    pub name: String,
    /// `email`.
    pub email: String,
    /// `url`.
    pub url: String,
}

/// A dependency in `Chart.yaml` or `requirements.yaml`.
#[derive(Clone, Debug, Default)]
pub struct Dependency {
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `repository`.
    pub repository: String,
    /// `condition`.
    pub condition: String,
    /// `tags`.
    pub tags: Vec<String>,
    /// Whether it is enabled after conditions and tags (Helm's `Enabled`).
    pub enabled: bool,
    /// `import-values`: strings or `{child, parent}` maps.
    pub import_values: Vec<Value>,
    /// `alias`.
    pub alias: String,
}
