//! Argo CD's API (`argoproj.io/v1alpha1`): [`Application`] and [`AppProject`], with Argo CD's
//! field names, so manifests written for Argo CD are read as they are.
//!
//! An `Application` carries, besides `spec` and `status`, a top-level `operation`: a request to
//! sync that the CLI writes and the controller executes and clears. Argo CD's CRD has no status
//! subresource (status is written with a plain patch); Ballast's CRDs ([`argo_crds`]) keep that
//! shape, with a schema that preserves unknown fields, so Argo CD's own CRDs and Ballast's accept
//! the same objects. Fields Ballast does not act on are kept (`extra`) and reported by the
//! reconciler, never dropped.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Argo CD's API group.
pub const ARGO_GROUP: &str = "argoproj.io";
/// Argo CD's API version.
pub const ARGO_API_VERSION: &str = "argoproj.io/v1alpha1";
/// The annotation Argo CD (3.x default) and Ballast write on every object of an Application:
/// `<app>:<group>/<kind>:<namespace>/<name>`.
pub const TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";

/// An Argo CD Application: a source in Git rendered and synced to a destination.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Application {
    /// Always `argoproj.io/v1alpha1` when written.
    #[serde(default, rename = "apiVersion")]
    pub api_version: String,
    /// Always `Application` when written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// What to deploy, where, and how.
    #[serde(default)]
    pub spec: ApplicationSpec,
    /// A requested sync, cleared by the controller once it started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// What the controller observed and did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ApplicationStatus>,
}

/// An Argo CD AppProject: a group of Applications with restrictions (source repositories,
/// destinations, resource kinds, sync windows), enforced by the Application controller; the
/// `default` project allows everything when absent, as Argo CD creates it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AppProject {
    /// Always `argoproj.io/v1alpha1` when written.
    #[serde(default, rename = "apiVersion")]
    pub api_version: String,
    /// Always `AppProject` when written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    pub metadata: ObjectMeta,
    /// Restrictions.
    #[serde(default)]
    pub spec: AppProjectSpec,
}

/// `AppProject.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectSpec {
    /// Allowed source repositories (globs; `*` = any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_repos: Vec<String>,
    /// Allowed destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<Destination>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Sync windows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_windows: Vec<SyncWindow>,
    /// Cluster-scoped kinds allowed (none when empty or absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resource_whitelist: Vec<ResourceRestriction>,
    /// Cluster-scoped kinds refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resource_blacklist: Vec<ResourceRestriction>,
    /// Namespaced kinds allowed (every kind when absent, none when empty, as Argo CD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_resource_whitelist: Option<Vec<ResourceRestriction>>,
    /// Namespaced kinds refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_resource_blacklist: Vec<ResourceRestriction>,
    /// Every other field, kept as is.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A group/kind (and, for cluster-scoped kinds, name) pattern of an AppProject's resource
/// lists: Go `filepath.Match` globs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceRestriction {
    /// API group glob (`""` = core).
    #[serde(default)]
    pub group: String,
    /// Kind glob.
    #[serde(default)]
    pub kind: String,
    /// Name glob (cluster-scoped lists only; any name when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One sync window of an AppProject.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindow {
    /// `allow` or `deny`.
    #[serde(default)]
    pub kind: String,
    /// 5-field cron schedule.
    #[serde(default)]
    pub schedule: String,
    /// Go duration.
    #[serde(default)]
    pub duration: String,
    /// Application name globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<String>,
    /// Namespace globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Cluster globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    /// Manual syncs allowed while the window blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_sync: Option<bool>,
    /// Time zone of the schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Match `applications`, `namespaces` and `clusters` all (instead of any).
    #[serde(default, rename = "andOperator", skip_serializing_if = "Option::is_none")]
    pub and_operator: Option<bool>,
    /// Let a sync started while allowed run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_overrun: Option<bool>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `Application.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// The one source (or use `sources`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Several sources (not supported by Ballast yet: reported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Where to deploy.
    #[serde(default)]
    pub destination: Destination,
    /// AppProject name (`default` exists implicitly).
    #[serde(default)]
    pub project: String,
    /// How to sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Differences to ignore when comparing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// History entries kept (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i64>,
    /// Every other field, kept as is (reported when set).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A Git (or Helm repository) source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// Repository URL.
    #[serde(default, rename = "repoURL")]
    pub repo_url: String,
    /// Directory in the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Branch, tag, commit or `HEAD` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Chart name in a Helm repository (not supported by Ballast yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Reference name for multi-source values.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Source name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Helm options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmSource>,
    /// Kustomize options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizeSource>,
    /// Plain directory options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectorySource>,
    /// Config Management Plugin (not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<Value>,
}

/// `source.helm`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmSource {
    /// Values files in the chart directory, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_files: Vec<String>,
    /// Values as a YAML string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// Values as an object (wins over `values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_object: Option<Value>,
    /// `--set` (or `--set-string` with `forceString`) parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<HelmParameter>,
    /// Release name (default: the Application's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Leave out the chart's `crds/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_crds: Option<bool>,
    /// Leave out test hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_tests: Option<bool>,
    /// `.Release.Namespace` (default: the destination namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `.Capabilities.KubeVersion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// Extra `.Capabilities.APIVersions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
    /// Missing value files are not an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_value_files: Option<bool>,
    /// Skip `values.schema.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_schema_validation: Option<bool>,
    /// Every other field, kept (reported when set).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One Helm parameter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmParameter {
    /// Values path.
    #[serde(default)]
    pub name: String,
    /// Value.
    #[serde(default)]
    pub value: String,
    /// Set as a string (`--set-string`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_string: Option<bool>,
}

/// `source.kustomize`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeSource {
    /// Prefix for every name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// Suffix for every name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// `kustomize edit set image` strings (`name=new:tag`, `name:tag`, `name@digest`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Labels added to every object (and selectors).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_labels: BTreeMap<String, String>,
    /// Annotations added to every object.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_annotations: BTreeMap<String, String>,
    /// Namespace for every namespaced object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Replica overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<KustomizeReplica>,
    /// Kustomize `patches` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Value>,
    /// Kustomize components.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Every other field, kept (reported when set).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One replica override.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KustomizeReplica {
    /// Workload name.
    #[serde(default)]
    pub name: String,
    /// Replicas (a number or a numeric string, as Argo CD accepts).
    #[serde(default)]
    pub count: Value,
}

/// `source.directory`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectorySource {
    /// Read subdirectories too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurse: Option<bool>,
    /// Only files matching this glob (or `{a,b}` list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// Leave out files matching this glob (or `{a,b}` list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    /// Jsonnet options (not supported by Ballast yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonnet: Option<Value>,
}

/// `spec.destination`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// API server URL (`https://kubernetes.default.svc` = this cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Cluster name (`in-cluster` = this cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace for namespaced objects that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `spec.syncPolicy`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Sync automatically (`automated: {}` turns it on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<Automated>,
    /// `Name=value` options (`CreateNamespace=true`, `PruneLast=true`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    /// Retry of failed syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Labels and annotations of a namespace made by `CreateNamespace=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_namespace_metadata: Option<Value>,
}

impl SyncPolicy {
    /// Whether option `name` is set to `value` (case-insensitive on the value, as Argo CD).
    pub fn has_option(&self, name: &str, value: &str) -> bool {
        has_option(self.sync_options.iter().map(String::as_str), name, value)
    }
}

/// Whether one of `options` (`Name=value`) sets `name` to `value`.
pub fn has_option<'a>(options: impl IntoIterator<Item = &'a str>, name: &str, value: &str) -> bool {
    options.into_iter().any(|o| {
        o.split_once('=')
            .is_some_and(|(n, v)| n.trim() == name && v.trim().eq_ignore_ascii_case(value))
    })
}

/// `syncPolicy.automated`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Automated {
    /// Delete objects no longer in Git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Re-sync when live objects drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_heal: Option<bool>,
    /// Allow a sync that would leave no objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_empty: Option<bool>,
    /// `false` turns automation off while keeping the settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `syncPolicy.retry`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// Attempts (negative: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// Back-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Value>,
    /// Let a retry pick up a newer revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<bool>,
}

/// `spec.ignoreDifferences[]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIgnoreDifferences {
    /// API group (empty = core).
    #[serde(default)]
    pub group: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Name (any when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace (any when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// JSON pointers to ignore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_pointers: Vec<String>,
    /// jq expressions (not supported by Ballast yet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jq_path_expressions: Vec<String>,
    /// Field managers whose fields are ignored (not supported by Ballast yet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
}

/// The top-level `operation` (as `argocd app sync` writes it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// A sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOperation>,
    /// Who asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<Value>,
    /// Retry settings of this operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Extra info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Value>,
}

/// `operation.sync`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperation {
    /// Revision to sync (default: the source's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Prune objects no longer in Git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Dry run only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Sync options for this operation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    /// Source to sync (a rollback sets it from history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Only these objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Value>,
    /// `apply` or `hook` strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_strategy: Option<Value>,
}

/// `Application.status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// Comparison with Git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncStatus>,
    /// Aggregated health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// Every object of the Application.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
    /// The last (or running) operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    /// Successful syncs, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<RevisionHistory>,
    /// When the Application was last compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<String>,
    /// `Helm`, `Kustomize` or `Directory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// Conditions (`InvalidSpecError`, `ComparisonError`, `SyncError`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<AppCondition>,
    /// Images and URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Value>,
}

/// `status.sync`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// `Synced`, `OutOfSync` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// The commit compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// What was compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<Value>,
}

/// A health status and message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatus {
    /// `Healthy`, `Suspended`, `Progressing`, `Missing`, `Degraded` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed (RFC 3339; Application health only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// One object of `status.resources`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// API group.
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `Synced` or `OutOfSync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Health (for kinds that have one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// A hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<bool>,
    /// Live but no longer in Git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_pruning: Option<bool>,
    /// Sync wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_wave: Option<i64>,
}

/// `status.operationState`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// The operation.
    #[serde(default)]
    pub operation: Operation,
    /// `Running`, `Terminating`, `Failed`, `Error` or `Succeeded`.
    #[serde(default)]
    pub phase: String,
    /// What happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Per-object results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncOperationResult>,
    /// Start (RFC 3339).
    #[serde(default)]
    pub started_at: String,
    /// End (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Retries so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i64>,
}

/// `operationState.syncResult`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResult {
    /// The commit synced.
    #[serde(default)]
    pub revision: String,
    /// The source synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Each object's result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceResult>,
}

/// One object's sync result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    /// API group.
    #[serde(default)]
    pub group: String,
    /// API version.
    #[serde(default)]
    pub version: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `Synced`, `SyncFailed`, `Pruned` or `PruneSkipped`.
    #[serde(default)]
    pub status: String,
    /// What happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `PreSync`, `Sync`, `PostSync`, `SyncFail` for hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_type: Option<String>,
    /// `Running`, `Succeeded`, `Failed` for hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_phase: Option<String>,
    /// The phase the object was synced in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_phase: Option<String>,
}

/// One entry of `status.history`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionHistory {
    /// Auto-incremented id.
    #[serde(default)]
    pub id: i64,
    /// The commit deployed.
    #[serde(default)]
    pub revision: String,
    /// When (RFC 3339).
    #[serde(default)]
    pub deployed_at: String,
    /// When the sync started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_started_at: Option<String>,
    /// The source deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Who asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<Value>,
}

/// One of `status.conditions`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppCondition {
    /// Type.
    #[serde(default, rename = "type")]
    pub type_: String,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// When it last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

impl Application {
    /// The automated sync policy when on (`automated` set and not `enabled: false`).
    pub fn automated(&self) -> Option<&Automated> {
        self.spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.automated.as_ref())
            .filter(|a| a.enabled != Some(false))
    }

    /// The sync options of the Application.
    pub fn sync_options(&self) -> &[String] {
        self.spec
            .sync_policy
            .as_ref()
            .map(|p| p.sync_options.as_slice())
            .unwrap_or_default()
    }

    /// The name Argo CD writes in tracking ids: `<name>` for an Application in the control
    /// plane's namespace, `<namespace>_<name>` for one elsewhere ("apps in any namespace").
    pub fn instance_name(&self, control_namespace: &str) -> String {
        let name = self.metadata.name.clone().unwrap_or_default();
        match self.metadata.namespace.as_deref() {
            Some(ns) if ns != control_namespace => format!("{ns}_{name}"),
            _ => name,
        }
    }
}

/// Argo CD's tracking id of an object: `<app>:<group>/<kind>:<namespace>/<name>`; the
/// namespace of a cluster-scoped object is the destination namespace (as Argo CD writes it).
pub fn tracking_id(app: &str, group: &str, kind: &str, namespace: &str, name: &str) -> String {
    format!("{app}:{group}/{kind}:{namespace}/{name}")
}

/// Parses a tracking id into `(app, group, kind, namespace, name)`.
pub fn parse_tracking_id(id: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let (app, rest) = id.split_once(':')?;
    let (gk, nn) = rest.split_once(':')?;
    let (group, kind) = gk.split_once('/')?;
    let (ns, name) = nn.split_once('/')?;
    if app.is_empty() || kind.is_empty() || name.is_empty() {
        return None;
    }
    Some((app, group, kind, ns, name))
}

macro_rules! resource {
    ($ty:ty, $kind:literal, $plural:literal) => {
        impl kube::Resource for $ty {
            type DynamicType = ();
            type Scope = k8s_openapi::NamespaceResourceScope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                ARGO_GROUP.into()
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                "v1alpha1".into()
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

resource!(Application, "Application", "applications");
resource!(AppProject, "AppProject", "appprojects");

/// The CRDs of Argo CD's `Application` and `AppProject` as Ballast installs them (kept apart from
/// Flux's [`crate::all_crds`]): `argoproj.io/v1alpha1`, namespaced, Argo CD's names, short names
/// and columns, no status subresource (as Argo CD's), and a schema that keeps every field
/// (`x-kubernetes-preserve-unknown-fields` under `spec`, `operation` and `status`), so objects
/// written for Argo CD's own CRDs are accepted unchanged.
pub fn argo_crds() -> Vec<CustomResourceDefinition> {
    let app = serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "applications.argoproj.io",
            "labels": {"app.kubernetes.io/name": "applications.argoproj.io", "app.kubernetes.io/part-of": "argocd"}
        },
        "spec": {
            "group": ARGO_GROUP,
            "names": {"kind": "Application", "listKind": "ApplicationList", "plural": "applications",
                      "singular": "application", "shortNames": ["app", "apps"]},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1alpha1", "served": true, "storage": true,
                "additionalPrinterColumns": [
                    {"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"},
                    {"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"},
                    {"name": "Revision", "type": "string", "jsonPath": ".status.sync.revision", "priority": 10},
                    {"name": "Project", "type": "string", "jsonPath": ".spec.project", "priority": 10}
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["metadata", "spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": {"type": "object", "required": ["destination", "project"],
                                 "x-kubernetes-preserve-unknown-fields": true},
                        "operation": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }
                }},
                "subresources": {}
            }]
        }
    });
    let project = serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "appprojects.argoproj.io",
            "labels": {"app.kubernetes.io/name": "appprojects.argoproj.io", "app.kubernetes.io/part-of": "argocd"}
        },
        "spec": {
            "group": ARGO_GROUP,
            "names": {"kind": "AppProject", "listKind": "AppProjectList", "plural": "appprojects",
                      "singular": "appproject", "shortNames": ["appproj", "appprojs"]},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1alpha1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["metadata", "spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }
                }}
            }]
        }
    });
    [app, project]
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    const GUESTBOOK: &str = r#"{
      "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
      "metadata": {"name": "guestbook", "namespace": "argocd",
                   "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
      "spec": {
        "project": "default",
        "source": {"repoURL": "https://example.invalid/argocd-example-apps.git",
                   "targetRevision": "HEAD", "path": "guestbook",
                   "directory": {"recurse": true, "exclude": "{a.yaml,b.yaml}"},
                   "helm": {"valueFiles": ["values-production.yaml"], "releaseName": "gb",
                            "parameters": [{"name": "service.type", "value": "NodePort", "forceString": true}],
                            "valuesObject": {"replicaCount": 2}, "passCredentials": false},
                   "kustomize": {"namePrefix": "p-", "images": ["gcr.io/x/guestbook:v2"],
                                 "replicas": [{"name": "guestbook-ui", "count": 3}]}},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
        "syncPolicy": {"automated": {"prune": true, "selfHeal": true},
                       "syncOptions": ["CreateNamespace=true", "PruneLast=true"],
                       "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}},
        "ignoreDifferences": [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]
      },
      "operation": {"sync": {"revision": "HEAD", "prune": true, "syncOptions": ["ServerSideApply=true"]},
                    "initiatedBy": {"username": "admin"}},
      "status": {"sync": {"status": "Synced", "revision": "abc"}, "health": {"status": "Healthy"},
                 "history": [{"id": 1, "revision": "abc", "deployedAt": "2026-01-01T00:00:00Z"}],
                 "reconciledAt": "2026-01-01T00:00:00Z"}
    }"#;

    #[test]
    fn argo_cd_application_reads_with_argo_field_names_and_round_trips() {
        let v: Value = serde_json::from_str(GUESTBOOK).unwrap();
        let app: Application = serde_json::from_value(v.clone()).unwrap();
        let src = app.spec.source.as_ref().unwrap();
        assert_eq!(src.repo_url, "https://example.invalid/argocd-example-apps.git");
        assert_eq!(src.directory.as_ref().unwrap().recurse, Some(true));
        let helm = src.helm.as_ref().unwrap();
        assert_eq!(helm.value_files, ["values-production.yaml"]);
        assert_eq!(helm.parameters[0].force_string, Some(true));
        assert_eq!(helm.extra.get("passCredentials"), Some(&Value::Bool(false)));
        assert_eq!(src.kustomize.as_ref().unwrap().replicas[0].count, 3);
        assert_eq!(app.automated().unwrap().self_heal, Some(true));
        assert!(
            app.spec
                .sync_policy
                .as_ref()
                .unwrap()
                .has_option("CreateNamespace", "true")
        );
        assert!(
            !app.spec
                .sync_policy
                .as_ref()
                .unwrap()
                .has_option("ServerSideApply", "true")
        );
        assert_eq!(app.spec.ignore_differences[0].json_pointers, ["/spec/replicas"]);
        assert_eq!(
            app.operation.as_ref().unwrap().sync.as_ref().unwrap().sync_options,
            ["ServerSideApply=true"]
        );
        assert_eq!(app.status.as_ref().unwrap().history[0].id, 1);
        // Nothing is lost on the way back.
        let back = serde_json::to_value(&app).unwrap();
        assert_eq!(back["spec"], v["spec"]);
        assert_eq!(back["operation"], v["operation"]);
        assert_eq!(back["status"], v["status"]);
    }

    #[test]
    fn automated_off_when_disabled_and_on_when_empty() {
        let mut app = Application::default();
        app.spec.sync_policy = Some(SyncPolicy {
            automated: Some(Automated::default()),
            ..Default::default()
        });
        assert!(app.automated().is_some(), "`automated: {{}}` turns it on");
        app.spec
            .sync_policy
            .as_mut()
            .unwrap()
            .automated
            .as_mut()
            .unwrap()
            .enabled = Some(false);
        assert!(app.automated().is_none());
    }

    #[test]
    fn tracking_id_has_argo_cd_format() {
        let id = tracking_id("guestbook", "apps", "Deployment", "default", "guestbook-ui");
        assert_eq!(id, "guestbook:apps/Deployment:default/guestbook-ui");
        assert_eq!(
            parse_tracking_id(&id),
            Some(("guestbook", "apps", "Deployment", "default", "guestbook-ui"))
        );
        assert_eq!(
            parse_tracking_id("gb:/Service:ns/svc"),
            Some(("gb", "", "Service", "ns", "svc"))
        );
        assert_eq!(parse_tracking_id("nonsense"), None);
        let mut app = Application::default();
        app.metadata.name = Some("gb".into());
        app.metadata.namespace = Some("argocd".into());
        assert_eq!(app.instance_name("argocd"), "gb");
        app.metadata.namespace = Some("team".into());
        assert_eq!(app.instance_name("argocd"), "team_gb");
    }

    #[test]
    fn crds_are_argo_cds_names_without_status_subresource() {
        let crds = argo_crds();
        assert_eq!(crds.len(), 2);
        let app = serde_json::to_value(&crds[0]).unwrap();
        assert_eq!(app["metadata"]["name"], "applications.argoproj.io");
        assert_eq!(app["spec"]["names"]["shortNames"], serde_json::json!(["app", "apps"]));
        let v = &app["spec"]["versions"][0];
        assert_eq!(v["name"], "v1alpha1");
        assert_eq!(
            v["subresources"],
            serde_json::json!({}),
            "no status subresource, as Argo CD"
        );
        let props = &v["schema"]["openAPIV3Schema"]["properties"];
        for field in ["spec", "operation", "status"] {
            assert_eq!(props[field]["x-kubernetes-preserve-unknown-fields"], true, "{field}");
        }
        let proj = serde_json::to_value(&crds[1]).unwrap();
        assert_eq!(proj["metadata"]["name"], "appprojects.argoproj.io");
        assert_eq!(Application::plural(&()), "applications");
        assert_eq!(Application::api_version(&()), ARGO_API_VERSION);
    }
}
