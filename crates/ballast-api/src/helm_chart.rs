//! `HelmChart` (`source.toolkit.fluxcd.io/v1`): one chart, at a version or the newest in a
//! range, from a `HelmRepository`, or packaged from a path of a `GitRepository` or `Bucket`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::git_repository::Artifact;

/// Which chart to build, from where.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmChart",
    namespaced,
    status = "HelmChartStatus",
    shortname = "hc",
    category = "fluxcd",
    printcolumn = r#"{"name":"Chart","type":"string","jsonPath":".spec.chart"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.version"}"#,
    printcolumn = r#"{"name":"Source Kind","type":"string","jsonPath":".spec.sourceRef.kind"}"#,
    printcolumn = r#"{"name":"Source Name","type":"string","jsonPath":".spec.sourceRef.name"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartSpec {
    /// Chart name in a `HelmRepository`, or the chart's path in a `GitRepository`/`Bucket`.
    pub chart: String,
    /// Version or Masterminds semver range (`^1.2`, `>=1.0 <2.0`, `*`); the newest match is
    /// taken, pre-releases only when the range names one. Default `*`. Ignored for charts
    /// from Git or a bucket (the chart's own version is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The source: a `HelmRepository`, `GitRepository` or `Bucket` in the same namespace.
    pub source_ref: LocalHelmChartSourceReference,
    /// How often to check for a new version.
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,
    /// When a chart from Git or a bucket is rebuilt: `ChartVersion` (the default; when the
    /// chart's version changes) or `Revision` (every source revision; the version gets the
    /// revision as build metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_strategy: Option<String>,
    /// Values files in the chart, merged in order over its `values.yaml` into the artifact's
    /// `values.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_files: Option<Vec<String>>,
    /// Skip `valuesFiles` that do not exist instead of failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_values_files: Option<bool>,
    /// Stop reconciling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Signature verification of OCI charts (cosign, notation). Not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<serde_json::Value>,
    /// Deprecated (v1beta1/v1beta2): one values file. Read as the first of `valuesFiles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,
    /// Deprecated (v1beta1/v1beta2): namespaces allowed to refer to this source. Accepted and
    /// ignored, with a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<serde_json::Value>,
}

impl HelmChartSpec {
    /// The version range, `*` when unset or empty.
    pub fn version_range(&self) -> &str {
        match self.version.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => v,
            _ => "*",
        }
    }

    /// `valuesFile` (deprecated) then `valuesFiles`, in merge order.
    pub fn all_values_files(&self) -> Vec<&str> {
        self.values_file
            .iter()
            .chain(self.values_files.iter().flatten())
            .map(String::as_str)
            .collect()
    }

    /// True with `reconcileStrategy: Revision`.
    pub fn rebuild_on_revision(&self) -> bool {
        self.reconcile_strategy.as_deref() == Some("Revision")
    }
}

/// The source of a `HelmChart`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalHelmChartSourceReference {
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `HelmRepository`, `GitRepository` or `Bucket`.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
}

/// Observed state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartStatus {
    /// Last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Revision of the source artifact the chart was last built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_source_artifact_revision: Option<String>,
    /// Name of the last chart built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_chart_name: Option<String>,
    /// `valuesFiles` of the last build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_values_files: Option<Vec<String>>,
    /// `Ready`, `Reconciling`, `Stalled`, `FetchFailed`, `BuildFailed`, `ArtifactInStorage`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Where the last chart can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The last chart built: revision = chart version, digest of the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Value of the last handled `reconcile.fluxcd.io/requestedAt` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
