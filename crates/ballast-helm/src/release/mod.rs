//! Helm's release record as helm v4 stores it (`release.v1` JSON), the storage Secret that
//! holds it ([`storage`]), and a chart rendered for a release ([`render`]).
//!
//! Guarantees: a record read from JSON and written back keeps every field, known or not
//! (unknown ones in `extra`), in helm's field order; times are kept as the strings helm wrote.

pub mod render;
pub mod storage;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A release's status, as helm writes it in `info.status` and the Secret's `status` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `unknown`.
    Unknown,
    /// `deployed`: the current release.
    Deployed,
    /// `uninstalled` (kept with `--keep-history`).
    Uninstalled,
    /// `superseded` by a later revision.
    Superseded,
    /// `failed`.
    Failed,
    /// `uninstalling`.
    Uninstalling,
    /// `pending-install`: an install in progress.
    PendingInstall,
    /// `pending-upgrade`: an upgrade in progress.
    PendingUpgrade,
    /// `pending-rollback`: a rollback in progress.
    PendingRollback,
}

impl Status {
    /// The text helm writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// Reads helm's text; anything else is [`Status::Unknown`].
    pub fn parse(s: &str) -> Status {
        match s {
            "deployed" => Status::Deployed,
            "uninstalled" => Status::Uninstalled,
            "superseded" => Status::Superseded,
            "failed" => Status::Failed,
            "uninstalling" => Status::Uninstalling,
            "pending-install" => Status::PendingInstall,
            "pending-upgrade" => Status::PendingUpgrade,
            "pending-rollback" => Status::PendingRollback,
            _ => Status::Unknown,
        }
    }

    /// True for the `pending-*` states: an operation holds the release.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Status::parse(&s))
    }
}

fn is_empty(s: &str) -> bool {
    s.is_empty()
}

/// `info`: when and how the release was deployed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Info {
    /// RFC 3339 time of the first install of this release.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub first_deployed: String,
    /// RFC 3339 time of this revision.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub last_deployed: String,
    /// RFC 3339 time of its uninstall.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub deleted: String,
    /// What happened (`Install complete`, `Upgrade complete`, `Rollback to 2`, the failure).
    #[serde(default)]
    pub description: String,
    /// The status.
    pub status: Status,
    /// The rendered `NOTES.txt`.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub notes: String,
    /// Fields helm writes that this model does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A file of the stored chart: `data` is base64.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct File {
    /// Path from the chart root (`templates/cm.yaml`).
    pub name: String,
    /// The content, base64 (Go `[]byte`).
    #[serde(default)]
    pub data: String,
    /// Other fields (`modtime`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The chart a release was made from, as helm stores it (subcharts are not stored).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChartRecord {
    /// `Chart.yaml` with Go's JSON keys.
    #[serde(default)]
    pub metadata: Value,
    /// `Chart.lock`, or null.
    #[serde(default)]
    pub lock: Value,
    /// `templates/`.
    #[serde(default)]
    pub templates: Option<Vec<File>>,
    /// The chart's default values.
    #[serde(default)]
    pub values: Value,
    /// `values.schema.json`, base64, or null.
    #[serde(default)]
    pub schema: Option<String>,
    /// The schema file's time (helm v4), kept where helm writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemamodtime: Option<String>,
    /// Other files of the chart, or null.
    #[serde(default)]
    pub files: Option<Vec<File>>,
    /// Other fields (`schemamodtime`, `modtime`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChartRecord {
    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.metadata.get("name").and_then(Value::as_str).unwrap_or("")
    }

    /// `metadata.version`.
    pub fn version(&self) -> &str {
        self.metadata.get("version").and_then(Value::as_str).unwrap_or("")
    }

    /// `metadata.appVersion`.
    pub fn app_version(&self) -> &str {
        self.metadata.get("appVersion").and_then(Value::as_str).unwrap_or("")
    }
}

/// When a hook last ran and how it ended.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HookRun {
    /// RFC 3339 start time.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub started_at: String,
    /// RFC 3339 end time.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub completed_at: String,
    /// `Unknown`, `Running`, `Succeeded` or `Failed`.
    #[serde(default)]
    pub phase: String,
}

/// A hook of the release.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HookRecord {
    /// `metadata.name` of the hook object.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// The template it came from (`demo/templates/hook.yaml`).
    pub path: String,
    /// The rendered document.
    pub manifest: String,
    /// Its events (`pre-install`, ...).
    #[serde(default)]
    pub events: Vec<String>,
    /// Its last run.
    #[serde(default)]
    pub last_run: HookRun,
    /// `helm.sh/hook-weight`.
    #[serde(default)]
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` entries (`before-hook-creation` when none given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_policies: Vec<String>,
    /// `helm.sh/hook-output-log-policy` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_log_policies: Vec<String>,
}

/// One revision of a release, as helm v4 stores it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Release {
    /// The release name.
    pub name: String,
    /// When and how.
    pub info: Info,
    /// The chart.
    pub chart: ChartRecord,
    /// The user-supplied values only (`-f`, `--set`), a map.
    #[serde(default)]
    pub config: Value,
    /// The rendered manifests, hooks excluded (`---\n# Source: ...` stream).
    #[serde(default)]
    pub manifest: String,
    /// The hooks.
    #[serde(default)]
    pub hooks: Vec<HookRecord>,
    /// The revision (1, 2, ...).
    pub version: i64,
    /// The release namespace.
    #[serde(default)]
    pub namespace: String,
    /// `ssa` (server-side apply, helm 4's default) or `csa`.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub apply_method: String,
    /// User labels of the storage Secret (not in the JSON).
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
    /// Fields helm writes that this model does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Release {
    /// The release's status.
    pub fn status(&self) -> Status {
        self.info.status
    }
}

/// A time as Go's `time.RFC3339Nano` prints a UTC time (trailing zeros of the fraction cut).
pub fn rfc3339(t: jiff::Timestamp) -> String {
    let secs = t.as_second();
    let nanos = t.subsec_nanosecond();
    let whole = jiff::Timestamp::from_second(secs).unwrap_or(t);
    let base = whole.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests;
