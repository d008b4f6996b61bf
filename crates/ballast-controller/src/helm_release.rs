//! The HelmRelease reconciler, as named steps: finalize or ensure the finalizer, check the spec,
//! wait for dependencies, get the chart (a HelmChart made from `spec.chart`, or `chartRef`),
//! compose the values, decide (install, upgrade, nothing), act through `ballast-release`,
//! remediate a failure (rollback or uninstall) within the retries, test, correct drift, report.
//!
//! Guarantees:
//! - a release is upgraded only when the chart (name, version), the values or the `forceAt`
//!   annotation ask for it; drift is corrected by re-applying the deployed release's objects;
//! - after the retries are exhausted nothing is attempted (`Stalled=True`, reason
//!   `RetriesExceeded`) until the spec, the chart revision or the values change, or the
//!   `reconcile.fluxcd.io/resetAt` (reset the counts) or `forceAt` (one upgrade) annotation
//!   is set to a new value;
//! - a `pending-*` revision Ballast wrote before this controller process started is an
//!   interrupted operation (one controller acts at a time): it is marked failed and the release
//!   proceeds, so a killed controller never leaves "another operation is in progress";
//! - values from Secrets are never printed: errors name the Secret and key, the values reach
//!   the release through a private temporary file only;
//! - the action fields map onto helm's (as Flux's helm-controller does): `upgrade.force` and
//!   `rollback.force` (conflicts forced, refused updates recreated), `cleanupOnFail`,
//!   `disableWaitForJobs`, `disableSchemaValidation`, `test.filters`,
//!   `uninstall.deletionPropagation` and `uninstall.disableWait` (else the uninstall waits for
//!   the objects to be gone). `install.replace` asks for what Ballast always does (an
//!   uninstalled or failed release's name is reused); `disableOpenAPIValidation` for what it
//!   always does too (no client-side OpenAPI validation: the API server validates what it is
//!   sent). A field set that Ballast does not act on (`rollback.recreate`: helm 4 has no pod
//!   restart) is named in the Ready message and an `IgnoredFields` warning event;
//! - cost: the release's records are read once per reconcile, by their Secrets' names when
//!   `status.history` names them all (one GET each, no scan of the storage namespace), and the
//!   action's own writes are reused, not read again (nor are the objects it applied, for
//!   drift); status writes and the finalizer ask for no reconcile of their own; the status is
//!   written once per reconcile (`Reconciling` on its own only while one runs past 2 s); the
//!   HelmRelease and its HelmChart come from the watches' caches (the HelmRelease is read
//!   again only when its cached status is not the one this process last wrote);
//! - the drift watch holds a release while it is reconciled: its own upgrade is not taken for
//!   drift, a live change made meanwhile still is.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ballast_api::condition::{ConditionStatus, find, remove_condition, set_condition};
use ballast_api::helm_chart::{HelmChart, HelmChartSpec, LocalHelmChartSourceReference};
use ballast_api::helm_release::{
    FORCE_REQUEST_ANNOTATION, HELM_RELEASE_FINALIZER, HelmRelease, HelmReleaseStatus, RESET_REQUEST_ANNOTATION,
    Snapshot, TestHookStatus, shorten_release_name,
};
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_api::oci_repository::OCIRepository;
use ballast_apply::{Applier, ApplyOptions};
use ballast_core::{Action as PlanAction, Change, Inventory, ObjectRef};
use ballast_helm::release::{Release, Status};
use ballast_helm::values::ValueOptions;
use ballast_release::{ActionOptions, HELM_FIELD_MANAGER, Releases, TestFilter};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::{ObjectRef as KubeRef, Store};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use sha2::Digest;

use crate::context::Context;
use crate::drift::DriftWatch;
use crate::error::ReconcileError;
use crate::schedule;
use crate::status::{condition, mark_failed, mark_ready, mark_reconciling, with_progress};

/// Labels on the HelmChart made for a HelmRelease's `spec.chart` (Flux's).
pub const HR_NAME_LABEL: &str = "helm.toolkit.fluxcd.io/name";
/// See [`HR_NAME_LABEL`].
pub const HR_NAMESPACE_LABEL: &str = "helm.toolkit.fluxcd.io/namespace";

/// Snapshots kept in `status.history`.
const HISTORY_KEPT: usize = 10;
/// How long to wait before looking at a dependency or a chart again.
const NOT_READY_RETRY: Duration = Duration::from_secs(5);
/// How a HelmChart still being built is reported: its generation not reconciled yet, or no
/// artifact yet.
const NOT_RECONCILED: &str = "latest generation of object has not been reconciled";
const NO_ARTIFACT: &str = "no artifact";

/// What the HelmRelease controller shares with its reconciles.
pub struct HelmParts {
    /// Watches on the releases' objects.
    pub drift: DriftWatch<HelmRelease>,
    /// Asks the HelmRelease controller to reconcile an object now.
    pub trigger: tokio::sync::mpsc::UnboundedSender<KubeRef<HelmRelease>>,
    /// The controller's cache.
    pub store: Store<HelmRelease>,
    /// When this controller started its HelmRelease controller: a pending revision Ballast
    /// wrote before then was interrupted.
    pub started: jiff::Timestamp,
    /// The HelmCharts, as the watch that triggers HelmRelease reconciles last saw them (updated
    /// before the trigger: a reconcile asked for by a new artifact sees it).
    pub charts: Store<HelmChart>,
    /// Per HelmRelease, the digest of the status this process last wrote ([`status_digest`];
    /// `None` when a write's outcome is unknown).
    pub written: std::sync::Mutex<HashMap<KubeRef<HelmRelease>, Option<u64>>>,
}

impl HelmParts {
    /// Whether the cached `hr` can be reconciled as it is: its status is the one this process
    /// last wrote, or this process never wrote one (the cache was listed after any earlier
    /// write). Otherwise the cache may not hold that write yet and the object is read again.
    fn cache_current(&self, hr: &HelmRelease) -> bool {
        let written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        match written.get(&KubeRef::from_obj(hr)) {
            None => true,
            Some(digest) => *digest == Some(status_digest(hr.status.as_ref())),
        }
    }

    /// Records the outcome of a status write of `hr` (`None`: the write may or may not have
    /// happened).
    fn wrote(&self, hr: &HelmRelease, status: Option<&HelmReleaseStatus>) {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        written.insert(KubeRef::from_obj(hr), status.map(|s| status_digest(Some(s))));
    }

    /// Forgets a HelmRelease that is gone.
    fn forget(&self, hr: &HelmRelease) {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        written.remove(&KubeRef::from_obj(hr));
    }
}

/// A digest of a status as the API server returns it (its JSON).
fn status_digest(status: Option<&HelmReleaseStatus>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&status).unwrap_or_default().hash(&mut hasher);
    hasher.finish()
}

/// The release name: `spec.releaseName`, else `[<targetNamespace>-]<name>`, shortened past 53
/// characters to its first 40, `-` and 12 hex digits of its SHA-256 (as Flux).
pub fn release_name(hr: &HelmRelease) -> String {
    shorten_release_name(&hr.full_release_name(), |s| {
        hex::encode(sha2::Sha256::digest(s.as_bytes()))
    })
}

/// Namespace of the release records.
pub fn storage_namespace(hr: &HelmRelease) -> String {
    hr.storage_namespace()
}

/// Namespace of the release's objects.
pub fn target_namespace(hr: &HelmRelease) -> String {
    hr.target_namespace()
}

/// Flux's `MergeMaps`: `b` deep-merged over `a`, maps recursively, anything else replaced.
fn merge_maps(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge_maps(existing, v),
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (a, b) => *a = b,
    }
}

/// Sets `value` at `path` (Helm's `--set` path syntax) as Flux's `targetPath` does: a quoted
/// value is a string, anything else typed as `--set` types it.
fn set_path(values: &mut Value, path: &str, value: &str) -> Result<(), String> {
    use ballast_helm::values::strvals::{Reader, json_to_value, parse_into};
    let quoted = value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"')) || (value.starts_with('\'') && value.ends_with('\'')));
    let (text, reader) = if quoted {
        (value.trim_matches(['"', '\'']), Reader::String)
    } else {
        (value, Reader::Typed)
    };
    let dest = json_to_value(values);
    parse_into(&format!("{path}={text}"), &dest, reader)?;
    *values = helm_to_json(&dest)?;
    Ok(())
}

/// A Helm value as JSON, numbers kept as Helm prints them (integers stay integers).
fn helm_to_json(v: &ballast_helm::Value) -> Result<Value, String> {
    let text = ballast_helm::json::to_json(v)?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// The values of a release: `valuesFrom` in order (a whole YAML document merged, or one value
/// at `targetPath`), then `values`, as Flux composes them. A missing object or key fails unless
/// `optional`. Errors name the object and key, never a value.
pub async fn compose_values(client: &kube::Client, hr: &HelmRelease) -> Result<Value, ReconcileError> {
    let ns = hr.namespace().unwrap_or_default();
    let mut result = json!({});
    for r in hr.spec.values_from.iter().flatten() {
        let key = r
            .values_key
            .clone()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "values.yaml".into());
        let optional = r.optional == Some(true);
        let what = format!("{} '{ns}/{}'", r.kind, r.name);
        let data: Option<BTreeMap<String, Vec<u8>>> = match r.kind.as_str() {
            "Secret" => {
                let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
                api.get_opt(&r.name).await?.map(|s| {
                    let mut data: BTreeMap<String, Vec<u8>> =
                        s.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
                    for (k, v) in s.string_data.unwrap_or_default() {
                        data.insert(k, v.into_bytes());
                    }
                    data
                })
            }
            "ConfigMap" => {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
                api.get_opt(&r.name).await?.map(|c| {
                    let mut data: BTreeMap<String, Vec<u8>> = c
                        .binary_data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, v.0))
                        .collect();
                    for (k, v) in c.data.unwrap_or_default() {
                        data.insert(k, v.into_bytes());
                    }
                    data
                })
            }
            other => {
                return Err(ReconcileError::Invalid(format!(
                    "spec.valuesFrom: unsupported kind {other:?} (ConfigMap or Secret)"
                )));
            }
        };
        let Some(data) = data else {
            if optional {
                continue;
            }
            return Err(ReconcileError::Dependency(format!("could not find {what}")));
        };
        let Some(bytes) = data.get(&key) else {
            if optional {
                continue;
            }
            return Err(ReconcileError::Dependency(format!("missing key '{key}' in {what}")));
        };
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| ReconcileError::Invalid(format!("key '{key}' in {what} is not UTF-8")))?;
        if let Some(path) = r.target_path.as_deref().filter(|p| !p.is_empty()) {
            // The parser's message may quote the value: the error names the path only.
            set_path(&mut result, path, &text).map_err(|_| {
                ReconcileError::Invalid(format!(
                    "unable to merge value from key '{key}' in {what} into target path '{path}'"
                ))
            })?;
            continue;
        }
        let doc = ballast_helm::values::parse_values_doc(&text).map_err(|_| {
            ReconcileError::Invalid(format!(
                "unable to read values from key '{key}' in {what}: not a YAML map"
            ))
        })?;
        let doc = helm_to_json(&doc).map_err(|_| {
            ReconcileError::Invalid(format!(
                "unable to read values from key '{key}' in {what}: not a YAML map"
            ))
        })?;
        if !doc.is_object() && !doc.is_null() {
            return Err(ReconcileError::Invalid(format!(
                "unable to read values from key '{key}' in {what}: not a YAML map"
            )));
        }
        if doc.is_object() {
            merge_maps(&mut result, doc);
        }
    }
    if let Some(values) = hr.spec.values.clone().filter(Value::is_object) {
        merge_maps(&mut result, values);
    }
    Ok(result)
}

/// JSON with sorted keys: the same values give the same text, whatever their order.
fn canonical(v: &Value) -> String {
    let mut keys = Vec::new();
    fn write(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push("{".into());
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(",".into());
                    }
                    out.push(serde_json::to_string(k).unwrap_or_default());
                    out.push(":".into());
                    write(v, out);
                }
                out.push("}".into());
            }
            Value::Array(a) => {
                out.push("[".into());
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(",".into());
                    }
                    write(v, out);
                }
                out.push("]".into());
            }
            other => out.push(other.to_string()),
        }
    }
    write(v, &mut keys);
    keys.concat()
}

/// `sha256:<hex>` of values, key order aside (empty values and `{}` alike).
pub fn config_digest(values: &Value) -> String {
    let v = if values.is_null() { json!({}) } else { values.clone() };
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(canonical(&v).as_bytes())))
}

fn sha1_hex(values: &Value) -> String {
    let v = if values.is_null() { json!({}) } else { values.clone() };
    hex::encode(sha1::Sha1::digest(canonical(&v).as_bytes()))
}

/// A reconcile's failure, as reported in status.
struct Failure {
    reason: String,
    message: String,
    stalled: bool,
    retry: Option<Duration>,
    /// The HelmChart has not produced the artifact of its current generation yet.
    building: bool,
}

impl From<ReconcileError> for Failure {
    fn from(e: ReconcileError) -> Self {
        let retry =
            matches!(e, ReconcileError::Dependency(_) | ReconcileError::ArtifactNotReady(_)).then_some(NOT_READY_RETRY);
        let reason = match &e {
            ReconcileError::Dependency(_) => "DependencyNotReady",
            ReconcileError::ArtifactNotReady(_) => "ArtifactFailed",
            other => other.reason(),
        };
        Failure {
            reason: reason.into(),
            stalled: e.stalled(),
            message: e.to_string(),
            retry,
            building: false,
        }
    }
}

impl From<kube::Error> for Failure {
    fn from(e: kube::Error) -> Self {
        ReconcileError::from(e).into()
    }
}

/// Reconciles one HelmRelease.
pub async fn reconcile(hr: Arc<HelmRelease>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ns = hr.namespace().unwrap_or_default();
    let name = hr.name_any();
    let api: Api<HelmRelease> = Api::namespaced(ctx.client.clone(), &ns);
    // The status this reconcile builds on is the latest this process wrote: the cache may not
    // hold the previous reconcile's status yet (a drift event right after an upgrade triggers
    // the next one), and a status built on a stale one would undo it (failure counts, history,
    // conditions). Then the object is read again; else the cached one is used as it is.
    let parts = ctx.helm.get();
    let hr = if parts.is_some_and(|p| p.cache_current(&hr)) {
        hr
    } else {
        let Some(hr) = api.get_opt(&name).await? else {
            return Ok(Action::await_change());
        };
        Arc::new(hr)
    };
    if hr.meta().deletion_timestamp.is_some() {
        let done = finalize(&hr, &api, &ctx).await;
        if done.is_ok()
            && let Some(parts) = parts
        {
            parts.forget(&hr);
        }
        return done;
    }
    let hr = if hr.finalizers().iter().any(|f| f == HELM_RELEASE_FINALIZER) {
        hr
    } else {
        // The reconcile goes on with the patched object: adding the finalizer asks for no
        // reconcile of its own (see `asks_for_reconcile`).
        let mut finalizers = hr.finalizers().to_vec();
        finalizers.push(HELM_RELEASE_FINALIZER.into());
        let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": hr.resource_version()}});
        Arc::new(api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?)
    };
    if hr.suspended() {
        ctx.metrics.record("HelmRelease", &ns, &name, None, started.elapsed());
        return Ok(Action::await_change());
    }
    let interval = schedule::interval(Some(&hr.spec.interval), Duration::from_secs(600));
    let generation = hr.meta().generation;
    let mut status = hr.status.clone().unwrap_or_default();
    // Already shown as reconciling this generation (a retry, or the reconcile the chart's
    // artifact asks for): the status written at the end says the rest.
    let shown = status.observed_generation == generation
        && find(&status.conditions, "Reconciling").is_some_and(|c| c.is_true() && c.observed_generation == generation);
    mark_reconciling(&mut status.conditions, generation, status.observed_generation);
    // One status write per outcome: `Reconciling` is written on its own only when the reconcile
    // is still running after `PROGRESS_AFTER` (an action waiting for its objects, hooks, tests).
    let progress = (!shown).then(|| json!({"status": {"conditions": status.conditions}}));
    status.last_handled_reconcile_at = hr.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned();
    // Drift seen while this reconcile runs (its own action's writes included) is judged
    // against the digests it records, when it ends.
    let _hold = ctx.helm.get().map(|parts| parts.drift.hold(&hr));
    let mut progress_written = false;
    let mut progress_tried = false;
    let outcome = with_progress(run(&hr, &ctx, &mut status), async {
        if let Some(patch) = &progress {
            progress_tried = true;
            // Best effort: the outcome's write follows and says it all.
            progress_written = api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .is_ok();
        }
    })
    .await;
    status.observed_generation = generation;
    let action = match outcome {
        Ok(Done { reason, message }) => {
            mark_ready(&mut status.conditions, &reason, &message, generation);
            trigger_dependents(&hr, &ctx);
            Action::requeue(schedule::jittered(interval))
        }
        Err(f) => {
            eprintln!("HelmRelease {ns}/{name}: {}: {}", f.reason, f.message);
            mark_failed(&mut status.conditions, &f.reason, &f.message, generation, f.stalled);
            // A chart still being built is progress, not a failure worth an event; its
            // artifact asks for the next reconcile.
            if !f.building {
                ctx.event(&*hr, EventType::Warning, &f.reason, &f.message).await;
            }
            Action::requeue(schedule::jittered(f.retry.unwrap_or(interval).min(interval)))
        }
    };
    // A reconcile that changed nothing (a periodic one finding the release in sync) writes
    // nothing.
    if progress_written || hr.status.as_ref() != Some(&status) {
        let written = write_status(&api, &name, &status).await;
        if let Some(parts) = parts {
            parts.wrote(&hr, written.as_ref().ok().map(|()| &status));
        }
        written?;
    } else if progress_tried && let Some(parts) = parts {
        // The progress write may have landed (its answer was lost): read the object next time.
        parts.wrote(&hr, None);
    }
    let ready = find(&status.conditions, "Ready").map(|c| c.status);
    ctx.metrics.record("HelmRelease", &ns, &name, ready, started.elapsed());
    Ok(action)
}

/// Writes `status`, retried up to 4 times (200 ms, 400 ms... apart).
async fn write_status(api: &Api<HelmRelease>, name: &str, status: &HelmReleaseStatus) -> Result<(), ReconcileError> {
    let patch = json!({"status": status});
    let mut attempt = 0;
    loop {
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if attempt >= 4 => return Err(e.into()),
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
        }
    }
}

/// A successful reconcile: the `Ready` reason and message.
struct Done {
    reason: String,
    message: String,
}

/// The chart to release: its archive and what identifies it.
struct ChartSource {
    bytes: Vec<u8>,
    /// The artifact's revision.
    revision: String,
    /// The artifact's digest.
    digest: String,
    /// `Chart.yaml` name and version, read from the archive.
    name: String,
    version: String,
    /// The OCI artifact's digest, for snapshots (chartRef OCIRepository).
    oci_digest: Option<String>,
}

fn unsupported(hr: &HelmRelease) -> Vec<&'static str> {
    let s = &hr.spec;
    let mut out = Vec::new();
    if s.kube_config.is_some() {
        out.push("spec.kubeConfig");
    }
    if s.chart.as_ref().is_some_and(|c| c.spec.verify.is_some()) {
        out.push("spec.chart.spec.verify");
    }
    if s.drift_detection
        .as_ref()
        .and_then(|d| d.ignore.as_ref())
        .is_some_and(|i| !i.is_empty())
    {
        out.push("spec.driftDetection.ignore");
    }
    if s.depends_on.iter().flatten().any(|d| d.ready_expr.is_some()) {
        out.push("spec.dependsOn[].readyExpr");
    }
    // Releases install a chart's CRDs on install and leave them on upgrade (Flux's defaults).
    let install = s.install.clone().unwrap_or_default();
    if install.skip_crds == Some(true) || matches!(install.crds.as_deref(), Some("Skip" | "CreateReplace")) {
        out.push("spec.install.crds (other than Create)");
    }
    if matches!(
        s.upgrade.as_ref().and_then(|u| u.crds.as_deref()),
        Some("Create" | "CreateReplace")
    ) {
        out.push("spec.upgrade.crds (other than Skip)");
    }
    if s.upgrade.as_ref().and_then(|u| u.preserve_values) == Some(true) {
        out.push("spec.upgrade.preserveValues");
    }
    out
}

/// Fields set that Ballast accepts without acting on them (each with why): named in the Ready
/// message and in an `IgnoredFields` warning event, never silently ignored.
fn ignored(hr: &HelmRelease) -> Vec<&'static str> {
    let mut out = Vec::new();
    if hr.spec.rollback.as_ref().and_then(|r| r.recreate) == Some(true) {
        out.push("spec.rollback.recreate (helm 4 has no pod restart on rollback)");
    }
    out
}

fn check_spec(hr: &HelmRelease) -> Result<(), ReconcileError> {
    let missing = unsupported(hr);
    if !missing.is_empty() {
        return Err(ReconcileError::Invalid(format!(
            "not supported yet: {}",
            missing.join(", ")
        )));
    }
    match (&hr.spec.chart, &hr.spec.chart_ref) {
        (Some(_), Some(_)) => Err(ReconcileError::Invalid(
            "spec.chart and spec.chartRef are mutually exclusive".into(),
        )),
        (None, None) => Err(ReconcileError::Invalid(
            "one of spec.chart or spec.chartRef is required".into(),
        )),
        _ => Ok(()),
    }?;
    if let Some(r) = &hr.spec.chart_ref
        && !matches!(r.kind.as_str(), "HelmChart" | "OCIRepository")
    {
        return Err(ReconcileError::Invalid(format!(
            "spec.chartRef.kind {:?}: not supported (HelmChart or OCIRepository)",
            r.kind
        )));
    }
    match hr.drift_mode() {
        "enabled" | "warn" | "disabled" => {}
        other => {
            return Err(ReconcileError::Invalid(format!(
                "spec.driftDetection.mode {other:?}: expected enabled, warn or disabled"
            )));
        }
    }
    let target = hr.target_namespace();
    if let Err(e) = ballast_plan::validate::dns_label(&target) {
        return Err(ReconcileError::Invalid(format!("spec.targetNamespace {target:?}: {e}")));
    }
    let storage = hr.storage_namespace();
    if let Err(e) = ballast_plan::validate::dns_label(&storage) {
        return Err(ReconcileError::Invalid(format!(
            "spec.storageNamespace {storage:?}: {e}"
        )));
    }
    Ok(())
}

async fn check_dependencies(hr: &HelmRelease, ctx: &Context) -> Result<(), ReconcileError> {
    let own_ns = hr.namespace().unwrap_or_default();
    for dep in hr.spec.depends_on.iter().flatten() {
        let ns = dep
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| own_ns.clone());
        let api: Api<HelmRelease> = Api::namespaced(ctx.client.clone(), &ns);
        let Some(d) = api.get_opt(&dep.name).await? else {
            return Err(ReconcileError::Dependency(format!(
                "dependency 'HelmRelease/{ns}/{}' not found",
                dep.name
            )));
        };
        let st = d.status.clone().unwrap_or_default();
        let ready = find(&st.conditions, "Ready").is_some_and(|c| c.is_true());
        if !ready || st.observed_generation != d.meta().generation {
            return Err(ReconcileError::Dependency(format!(
                "dependency 'HelmRelease/{ns}/{}' is not ready",
                dep.name
            )));
        }
    }
    Ok(())
}

/// Asks for a reconcile of every HelmRelease that depends on `hr` (it just became Ready).
fn trigger_dependents(hr: &HelmRelease, ctx: &Context) {
    let Some(parts) = ctx.helm.get() else { return };
    let ns = hr.namespace().unwrap_or_default();
    let name = hr.name_any();
    for other in parts.store.state() {
        let other_ns = other.namespace().unwrap_or_default();
        let depends = other.spec.depends_on.iter().flatten().any(|d| {
            d.name == name
                && d.namespace
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| other_ns.clone())
                    == ns
        });
        if depends {
            let _ = parts.trigger.send(KubeRef::from_obj(&*other));
        }
    }
}

/// The HelmChart the controller keeps for `spec.chart` (`None` without one):
/// `<namespace>-<name>` in the source's namespace, the template's metadata, labelled with the
/// HelmRelease (and owned by it when in the same namespace). `ballast diff helmrelease`
/// builds its chart from the same object.
pub fn helm_chart_of(hr: &HelmRelease) -> Option<HelmChart> {
    let template = hr.spec.chart.as_ref()?;
    let own_ns = hr.namespace().unwrap_or_default();
    let t = &template.spec;
    let ns = t
        .source_ref
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| own_ns.clone());
    let mut labels: BTreeMap<String, String> = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(HR_NAME_LABEL.into(), hr.name_any());
    labels.insert(HR_NAMESPACE_LABEL.into(), own_ns.clone());
    let annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    let mut values_files: Vec<String> = t.values_file.iter().cloned().collect();
    values_files.extend(t.values_files.iter().flatten().cloned());
    let mut chart = HelmChart::new(
        &hr.helm_chart_name(),
        HelmChartSpec {
            chart: t.chart.clone(),
            version: t.version.clone().filter(|v| !v.is_empty()),
            source_ref: LocalHelmChartSourceReference {
                api_version: t.source_ref.api_version.clone(),
                kind: t.source_ref.kind.clone(),
                name: t.source_ref.name.clone(),
            },
            interval: t.interval.clone().unwrap_or_else(|| hr.spec.interval.clone()),
            reconcile_strategy: t.reconcile_strategy.clone(),
            values_files: (!values_files.is_empty()).then_some(values_files),
            ignore_missing_values_files: t.ignore_missing_values_files.filter(|i| *i),
            ..HelmChartSpec::default()
        },
    );
    chart.metadata.namespace = Some(ns.clone());
    chart.metadata.labels = Some(labels);
    chart.metadata.annotations = Some(annotations);
    if ns == own_ns
        && let Some(uid) = hr.uid()
    {
        chart.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "helm.toolkit.fluxcd.io/v2".into(),
            kind: "HelmRelease".into(),
            name: hr.name_any(),
            uid,
            block_owner_deletion: Some(false),
            controller: Some(true),
        }]);
    }
    Some(chart)
}

/// Creates or updates the HelmChart of `spec.chart` ([`helm_chart_of`]) and returns it as the
/// API server holds it. A HelmChart already as described (spec, labels, annotations, owner) is
/// left unwritten and taken from the cache of the watch that triggers HelmRelease reconciles
/// (no request: that watch updates the cache before it asks for a reconcile, so a new artifact
/// is seen by the reconcile it triggers); without that cache, it is read (one GET).
async fn ensure_helm_chart(hr: &HelmRelease, ctx: &Context) -> Result<HelmChart, ReconcileError> {
    let Some(chart) = helm_chart_of(hr) else {
        return Err(ReconcileError::Invalid("spec.chart is not set".into()));
    };
    let ns = chart.namespace().unwrap_or_default();
    let name = chart.name_any();
    let api: Api<HelmChart> = Api::namespaced(ctx.client.clone(), &ns);
    let cached = match ctx.helm.get() {
        Some(parts) => parts
            .charts
            .get(&KubeRef::new(&name).within(&ns))
            .map(|c| HelmChart::clone(&c)),
        None => api.get_opt(&name).await?,
    };
    if let Some(live) = cached
        && live.spec == chart.spec
        && live.metadata.labels == chart.metadata.labels
        && live.metadata.annotations.clone().unwrap_or_default()
            == chart.metadata.annotations.clone().unwrap_or_default()
        && live.metadata.owner_references.clone().unwrap_or_default()
            == chart.metadata.owner_references.clone().unwrap_or_default()
    {
        return Ok(live);
    }
    let mut object = serde_json::to_value(&chart).map_err(|e| ReconcileError::Build(e.to_string()))?;
    if let Some(o) = object.as_object_mut() {
        o.remove("status");
    }
    Ok(api
        .patch(&name, &PatchParams::apply("ballast").force(), &Patch::Apply(&object))
        .await?)
}

/// Deletes the HelmChart recorded in `status.helmChart` (made for an earlier `spec.chart`), by
/// the UID read, if it is still labelled as this HelmRelease's.
async fn delete_helm_chart(hr: &HelmRelease, ctx: &Context, recorded: &str) -> Result<(), ReconcileError> {
    let Some((ns, name)) = recorded.split_once('/') else {
        return Ok(());
    };
    let api: Api<HelmChart> = Api::namespaced(ctx.client.clone(), ns);
    let Some(chart) = api.get_opt(name).await? else {
        return Ok(());
    };
    let labels = chart.labels();
    let ours = labels.get(HR_NAME_LABEL) == Some(&hr.name_any())
        && labels.get(HR_NAMESPACE_LABEL).map(String::as_str) == hr.namespace().as_deref();
    if !ours {
        return Ok(());
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: chart.uid(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The chart archive of the release, read from the artifact store by path and digest.
async fn chart_source(
    hr: &HelmRelease,
    ctx: &Context,
    status: &mut HelmReleaseStatus,
) -> Result<ChartSource, ReconcileError> {
    let own_ns = hr.namespace().unwrap_or_default();
    let mut made = None;
    let (kind, ns, name) = if hr.spec.chart.is_some() {
        let chart = ensure_helm_chart(hr, ctx).await?;
        let (ns, name) = (chart.namespace().unwrap_or_default(), chart.name_any());
        status.helm_chart = Some(format!("{ns}/{name}"));
        made = Some(chart);
        ("HelmChart".to_string(), ns, name)
    } else {
        let r = hr.spec.chart_ref.clone().unwrap_or_default();
        if let Some(old) = status.helm_chart.take() {
            delete_helm_chart(hr, ctx, &old).await?;
        }
        let ns = r
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| own_ns.clone());
        (r.kind, ns, r.name)
    };
    let (artifact, oci) = match kind.as_str() {
        "HelmChart" => {
            let chart = match made {
                Some(chart) => chart,
                None => Api::<HelmChart>::namespaced(ctx.client.clone(), &ns)
                    .get_opt(&name)
                    .await?
                    .ok_or_else(|| ReconcileError::ArtifactNotReady(format!("HelmChart '{ns}/{name}' not found")))?,
            };
            let st = chart.status.clone().unwrap_or_default();
            if st.observed_generation != chart.meta().generation {
                return Err(ReconcileError::ArtifactNotReady(format!(
                    "HelmChart '{ns}/{name}' is not ready: {NOT_RECONCILED}"
                )));
            }
            if let Some(c) = find(&st.conditions, "Ready").filter(|c| c.status == ConditionStatus::False) {
                return Err(ReconcileError::ArtifactNotReady(format!(
                    "HelmChart '{ns}/{name}' is not ready: {}",
                    c.message
                )));
            }
            let artifact = st.artifact.ok_or_else(|| {
                ReconcileError::ArtifactNotReady(format!("HelmChart '{ns}/{name}' is not ready: {NO_ARTIFACT}"))
            })?;
            (artifact, false)
        }
        _ => {
            let api: Api<OCIRepository> = Api::namespaced(ctx.client.clone(), &ns);
            let repo = api
                .get_opt(&name)
                .await?
                .ok_or_else(|| ReconcileError::ArtifactNotReady(format!("OCIRepository '{ns}/{name}' not found")))?;
            let artifact = repo.status.and_then(|s| s.artifact).ok_or_else(|| {
                ReconcileError::ArtifactNotReady(format!("OCIRepository '{ns}/{name}' is not ready: no artifact"))
            })?;
            (artifact, true)
        }
    };
    let digest = artifact.digest.clone().unwrap_or_default();
    let bytes = ctx
        .artifacts
        .open(&artifact.path, &digest)
        .map_err(|e| ReconcileError::ArtifactNotReady(format!("{kind} '{ns}/{name}': {e}")))?;
    let (chart_name, chart_version) = {
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || {
            ballast_helm::chart::load_archive(&bytes)
                .map(|c| (c.metadata.name.clone(), c.metadata.version.clone()))
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ReconcileError::Build(e.to_string()))?
        .map_err(|e| ReconcileError::Build(format!("{kind} '{ns}/{name}': chart archive: {e}")))?
    };
    Ok(ChartSource {
        bytes,
        revision: artifact.revision.clone(),
        name: chart_name,
        version: chart_version,
        oci_digest: oci.then(|| artifact.revision.rsplit('@').next().unwrap_or_default().to_string()),
        digest,
    })
}

/// The release's records, read by their known names when `status.history` names them all (the
/// same release and storage namespace, fewer snapshots than are kept), else with one LIST; then
/// a `pending-*` latest revision Ballast wrote before this controller started is recovered
/// (marked failed: the operation that wrote it died with its process). Returns the releases
/// and whether a revision was recovered.
async fn open_releases(
    hr: &HelmRelease,
    ctx: &Context,
    status: &HelmReleaseStatus,
) -> Result<(Releases, bool), ReconcileError> {
    let release = release_name(hr);
    let storage = hr.storage_namespace();
    // As the release's ServiceAccount, if it names one (or the controller's default).
    let account = crate::tenant::account(ctx, hr.spec.service_account_name.as_deref());
    let cluster = crate::tenant::cluster(ctx, &hr.namespace().unwrap_or_default(), account).await?;
    let rules = crate::health_exprs::HealthExprs::compile(hr.spec.health_check_exprs.as_deref().unwrap_or_default())
        .map_err(ReconcileError::Invalid)?
        .map(|e| e.rules());
    let mut releases = Releases::with_storage(&cluster, &hr.target_namespace(), &storage).with_health_rules(rules);
    if let Some(post_render) = post_renderer(hr) {
        releases = releases.with_post_renderer(post_render);
    }
    let complete = status.storage_namespace.as_deref() == Some(storage.as_str())
        && status.history.len() < HISTORY_KEPT
        && status.history.iter().all(|s| s.name == release);
    let known: Vec<i64> = if complete {
        status.history.iter().map(|s| s.version).collect()
    } else {
        Vec::new()
    };
    let e = |e: ballast_release::ReleaseError| ReconcileError::Release(e.0);
    releases.load_known(&release, &known).await.map_err(e)?;
    let recovered = match ctx.helm.get() {
        Some(parts) => releases.recover_interrupted(&release, parts.started).await.map_err(e)?,
        None => false,
    };
    Ok((releases, recovered))
}

fn duration_of(text: Option<&str>, default: Duration) -> Duration {
    text.and_then(|t| ballast_core::parse_duration(t).ok())
        .unwrap_or(default)
}

/// What to do with the release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    Install,
    Upgrade,
    Nothing,
}

/// The release action the HelmRelease asks for, given the release's records.
fn plan(history: &[Release], chart: &ChartSource, digest: &str, force: bool) -> Plan {
    let Some(latest) = history.last() else {
        return Plan::Install;
    };
    let deployed_before = history
        .iter()
        .any(|r| matches!(r.info.status, Status::Deployed | Status::Superseded));
    match latest.info.status {
        Status::Uninstalled | Status::Uninstalling => return Plan::Install,
        Status::Failed if !deployed_before => return Plan::Install,
        _ => {}
    }
    let meta = &latest.chart.metadata;
    let in_sync = latest.info.status == Status::Deployed
        && meta.get("name").and_then(Value::as_str) == Some(chart.name.as_str())
        && meta.get("version").and_then(Value::as_str) == Some(chart.version.as_str())
        && config_digest(&latest.config) == digest;
    if in_sync && !force {
        Plan::Nothing
    } else {
        Plan::Upgrade
    }
}

/// The pipeline proper; updates `status` as it goes.
async fn run(hr: &HelmRelease, ctx: &Context, status: &mut HelmReleaseStatus) -> Result<Done, Failure> {
    check_spec(hr)?;
    check_dependencies(hr, ctx).await?;
    let chart = match chart_source(hr, ctx, status).await {
        Ok(chart) => chart,
        Err(e) => {
            let building = hr.spec.chart.is_some()
                && matches!(&e, ReconcileError::ArtifactNotReady(m) if m.ends_with(NOT_RECONCILED) || m.ends_with(NO_ARTIFACT));
            return Err(Failure {
                building,
                ..Failure::from(e)
            });
        }
    };
    let values = compose_values(&ctx.client, hr).await?;
    let digest = config_digest(&values);
    let generation = hr.meta().generation;
    let release = release_name(hr);
    let namespace = hr.target_namespace();
    let (releases, recovered) = open_releases(hr, ctx, status).await?;
    status.storage_namespace = Some(hr.storage_namespace());

    // A new attempt (spec, chart or values changed) or a reset request clears the counts.
    let new_attempt = status.last_attempted_generation != generation
        || status.last_attempted_revision.as_deref() != Some(chart.revision.as_str())
        || status.last_attempted_config_digest.as_deref() != Some(digest.as_str());
    let reset = hr.annotations().get(RESET_REQUEST_ANNOTATION).cloned();
    let reset_requested = reset.is_some() && reset != status.last_handled_reset_at;
    if new_attempt || reset_requested {
        status.failures = None;
        status.install_failures = None;
        status.upgrade_failures = None;
    }
    if reset_requested {
        status.last_handled_reset_at = reset;
    }
    let ignored = ignored(hr);
    if new_attempt && !ignored.is_empty() {
        let note = format!("fields not applied: {}", ignored.join(", "));
        ctx.event(hr, EventType::Warning, "IgnoredFields", &note).await;
    }
    // What this reconcile works from, as Flux records it every time (a lost status write is
    // corrected by the next reconcile).
    status.last_attempted_revision = Some(chart.revision.clone());
    status.last_attempted_revision_digest = Some(chart.digest.clone());
    status.last_attempted_config_digest = Some(digest.clone());
    status.last_attempted_values_checksum = Some(sha1_hex(&values));
    status.last_attempted_generation = generation;
    let force_at = hr.annotations().get(FORCE_REQUEST_ANNOTATION).cloned();
    let force = force_at.is_some() && force_at != status.last_handled_force_at;

    if recovered {
        ctx.event(
            hr,
            EventType::Warning,
            "PendingRecovered",
            &format!("release {release}: an operation interrupted by a controller restart was marked failed"),
        )
        .await;
    }
    let history = releases
        .history(&release)
        .await
        .map_err(|e| ReconcileError::Release(e.0))?;
    let mut todo = plan(&history, &chart, &digest, force);

    let install = hr.spec.install.clone().unwrap_or_default();
    let upgrade = hr.spec.upgrade.clone().unwrap_or_default();
    let retry_on_failure =
        |s: &Option<ballast_api::helm_release::ActionStrategy>| s.as_ref().is_some_and(|s| s.name == "RetryOnFailure");
    let retry_interval = |s: &Option<ballast_api::helm_release::ActionStrategy>| {
        duration_of(
            s.as_ref().and_then(|s| s.retry_interval.as_deref()),
            Duration::from_secs(300),
        )
    };
    let install_retries = install.remediation.as_ref().and_then(|r| r.retries).unwrap_or(0);
    let upgrade_retries = upgrade.remediation.as_ref().and_then(|r| r.retries).unwrap_or(0);
    let exhausted = |count: Option<i64>, retries: i64| retries >= 0 && count.unwrap_or(0) > retries;

    if todo != Plan::Nothing && !force {
        let (what, count, retries, strategy) = match todo {
            Plan::Install => ("install", status.install_failures, install_retries, &install.strategy),
            _ => ("upgrade", status.upgrade_failures, upgrade_retries, &upgrade.strategy),
        };
        if !retry_on_failure(strategy) && exhausted(count, retries) {
            let last = find(&status.conditions, "Released")
                .filter(|c| c.status == ConditionStatus::False)
                .map(|c| format!(": {}", c.message))
                .unwrap_or_default();
            return Err(Failure {
                reason: "RetriesExceeded".into(),
                message: format!(
                    "Failed to {what} after {} attempt(s){last}; change the spec, publish a new chart revision or change the values, or set the annotation {RESET_REQUEST_ANNOTATION} (retry) or {FORCE_REQUEST_ANNOTATION} (one forced upgrade)",
                    count.unwrap_or(0)
                ),
                stalled: true,
                retry: None,
                building: false,
            });
        }
    }
    if force {
        status.last_handled_force_at = force_at;
        if todo == Plan::Nothing {
            todo = Plan::Upgrade;
        }
    }
    // New post-renderers (or common metadata) change the manifest, not the chart or values.
    let post_digest = post_render_digest(hr);
    if todo == Plan::Nothing && post_digest != status.observed_post_renderers_digest {
        todo = Plan::Upgrade;
    }

    let wait_disabled = match todo {
        Plan::Install => install.disable_wait == Some(true),
        _ => upgrade.disable_wait == Some(true),
    };
    let timeout = duration_of(hr.spec.timeout.as_deref(), Duration::from_secs(300));
    let action_timeout = match todo {
        Plan::Install => duration_of(install.timeout.as_deref(), timeout),
        _ => duration_of(upgrade.timeout.as_deref(), timeout),
    };
    let options = ActionOptions {
        timeout: action_timeout,
        wait: !wait_disabled,
        history_max: usize::try_from(hr.max_history()).unwrap_or(0),
        no_hooks: match todo {
            Plan::Install => install.disable_hooks == Some(true),
            _ => upgrade.disable_hooks == Some(true),
        },
        keep_history: false,
        create_namespace: install.create_namespace == Some(true),
        force: todo != Plan::Install && upgrade.force == Some(true),
        cleanup_on_fail: todo != Plan::Install && upgrade.cleanup_on_fail == Some(true),
        wait_for_jobs: match todo {
            Plan::Install => install.disable_wait_for_jobs != Some(true),
            _ => upgrade.disable_wait_for_jobs != Some(true),
        },
        skip_schema_validation: match todo {
            Plan::Install => install.disable_schema_validation == Some(true),
            _ => upgrade.disable_schema_validation == Some(true),
        },
        ..ActionOptions::default()
    };

    let mut result_message = None;
    if todo != Plan::Nothing {
        let verb = if todo == Plan::Install { "install" } else { "upgrade" };
        status.last_attempted_release_action = Some(verb.into());
        let dir = tempfile::tempdir().map_err(|e| ReconcileError::Build(e.to_string()))?;
        let chart_file = dir.path().join(format!("{}-{}.tgz", chart.name, chart.version));
        let values_file = dir.path().join("values.json");
        write_private(&chart_file, &chart.bytes)?;
        write_private(&values_file, canonical(&values).as_bytes())?;
        let value_options = ValueOptions {
            files: vec![values_file],
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let outcome = match todo {
            Plan::Install => releases.install(&release, &chart_file, &value_options, &options).await,
            _ => releases.upgrade(&release, &chart_file, &value_options, &options).await,
        };
        drop(dir);
        status.last_attempted_release_action_duration = Some(format!("{:.3}s", started.elapsed().as_secs_f64()));
        let outcome = match outcome {
            Ok(r) => run_tests(hr, ctx, &releases, &release, timeout, status)
                .await
                .map(|()| r),
            Err(e) => Err(e.0),
        };
        match outcome {
            Ok(r) => {
                let reason = if todo == Plan::Install {
                    "InstallSucceeded"
                } else {
                    "UpgradeSucceeded"
                };
                let message = format!(
                    "Helm {verb} succeeded for release {namespace}/{release}.v{} with chart {}@{}",
                    r.version, chart.name, chart.version
                );
                set_condition(
                    &mut status.conditions,
                    condition("Released", ConditionStatus::True, reason, &message, generation),
                );
                remove_condition(&mut status.conditions, "Remediated");
                status.observed_post_renderers_digest = post_digest.clone();
                status.install_failures = None;
                status.upgrade_failures = None;
                status.failures = None;
                ctx.event(hr, EventType::Normal, reason, &message).await;
                result_message = Some((reason.to_string(), message));
            }
            Err(e) => {
                let reason = if todo == Plan::Install {
                    "InstallFailed"
                } else {
                    "UpgradeFailed"
                };
                let message = format!(
                    "Helm {verb} failed for release {namespace}/{release} with chart {}@{}: {e}",
                    chart.name, chart.version
                );
                set_condition(
                    &mut status.conditions,
                    condition("Released", ConditionStatus::False, reason, &message, generation),
                );
                ctx.event(hr, EventType::Warning, reason, &message).await;
                status.failures = Some(status.failures.unwrap_or(0) + 1);
                let (count, retries, strategy) = if todo == Plan::Install {
                    status.install_failures = Some(status.install_failures.unwrap_or(0) + 1);
                    (status.install_failures, install_retries, &install.strategy)
                } else {
                    status.upgrade_failures = Some(status.upgrade_failures.unwrap_or(0) + 1);
                    (status.upgrade_failures, upgrade_retries, &upgrade.strategy)
                };
                update_history(status, &releases, &release).await;
                if retry_on_failure(strategy) {
                    let after = retry_interval(strategy);
                    return Err(Failure {
                        reason: reason.into(),
                        message: format!("{message}; retrying in {after:?} (strategy RetryOnFailure)"),
                        stalled: false,
                        retry: Some(after),
                        building: false,
                    });
                }
                let out_of_retries = exhausted(count, retries);
                let remediate_last = if todo == Plan::Install {
                    install
                        .remediation
                        .as_ref()
                        .and_then(|r| r.remediate_last_failure)
                        .unwrap_or(false)
                } else {
                    upgrade
                        .remediation
                        .as_ref()
                        .and_then(|r| r.remediate_last_failure)
                        .unwrap_or(retries > 0)
                };
                // Only a failed revision needs remediation: a chart that failed to render left
                // none.
                let failed_record = releases
                    .history(&release)
                    .await
                    .ok()
                    .and_then(|h| h.last().map(|r| r.info.status == Status::Failed))
                    .unwrap_or(false);
                if failed_record && (!out_of_retries || remediate_last) {
                    remediate(hr, ctx, &releases, &release, todo, timeout, status).await;
                }
                update_history(status, &releases, &release).await;
                if out_of_retries {
                    return Err(Failure {
                        reason: "RetriesExceeded".into(),
                        message: format!(
                            "Failed to {verb} after {} attempt(s): {message}; change the spec, publish a new chart revision or change the values, or set the annotation {RESET_REQUEST_ANNOTATION} (retry) or {FORCE_REQUEST_ANNOTATION} (one forced upgrade)",
                            count.unwrap_or(0)
                        ),
                        stalled: true,
                        retry: None,
                        building: false,
                    });
                }
                return Err(Failure {
                    reason: reason.into(),
                    message,
                    stalled: false,
                    retry: Some(Duration::from_secs(1)),
                    building: false,
                });
            }
        }
    }
    // The history first: a failed drift correction still records the release.
    update_history(status, &releases, &release).await;
    let just_applied = result_message.is_some();
    let drift_note = correct_drift(hr, ctx, &releases, &release, &namespace, just_applied, status)
        .await
        .map_err(|e| Failure {
            retry: Some(Duration::from_secs(10)),
            ..Failure::from(e)
        })?;
    update_history(status, &releases, &release).await;
    if let Some(first) = status.history.first_mut()
        && first.chart_version == chart.version
    {
        first.oci_digest = chart.oci_digest.clone();
    }
    let (reason, message) = match result_message {
        Some(m) => m,
        None => {
            let current = status.history.first();
            let message = match current {
                Some(s) => format!(
                    "Helm release {namespace}/{release}.v{} with chart {}@{} is in sync",
                    s.version, s.chart_name, s.chart_version
                ),
                None => format!("Helm release {namespace}/{release} is in sync"),
            };
            if find(&status.conditions, "Released").is_none_or(|c| c.status != ConditionStatus::True) {
                set_condition(
                    &mut status.conditions,
                    condition(
                        "Released",
                        ConditionStatus::True,
                        "InstallSucceeded",
                        &message,
                        generation,
                    ),
                );
            }
            ("ReconciliationSucceeded".to_string(), message)
        }
    };
    let mut message = match drift_note {
        Some(note) => format!("{message}; {note}"),
        None => message,
    };
    if !ignored.is_empty() {
        message = format!("{message}; fields not applied: {}", ignored.join(", "));
    }
    Ok(Done { reason, message })
}

/// The kustomize steps of `spec.postRenderers` (each `{patches, images}`, deprecated patch
/// fields translated) then `spec.commonMetadata`, in order; empty when there are none.
fn post_render_steps(hr: &HelmRelease) -> Vec<Value> {
    let mut steps = Vec::new();
    for pr in hr.spec.post_renderers.iter().flatten() {
        let Some(k) = &pr.kustomize else { continue };
        let mut patches: Vec<Value> = Vec::new();
        for p in k.patches_strategic_merge.iter().flatten() {
            patches.push(json!({ "patch": p.to_string() }));
        }
        for p in k.patches.iter().flatten() {
            patches.push(serde_json::to_value(p).unwrap_or_default());
        }
        for p in k.patches_json6902.iter().flatten() {
            let ops = serde_json::to_string(&p.patch).unwrap_or_default();
            patches.push(json!({ "patch": ops, "target": p.target }));
        }
        steps.push(json!({
            "patches": if patches.is_empty() { Value::Null } else { Value::Array(patches) },
            "images": k.images,
        }));
    }
    if let Some(meta) = &hr.spec.common_metadata {
        steps.push(json!({ "commonMetadata": meta }));
    }
    steps
}

/// `sha256:<hex>` of the post-render steps: a change asks for an upgrade, as Flux's
/// `observedPostRenderersDigest` does.
fn post_render_digest(hr: &HelmRelease) -> Option<String> {
    let steps = post_render_steps(hr);
    (!steps.is_empty()).then(|| config_digest(&Value::Array(steps)))
}

/// The post-renderer of a HelmRelease: its kustomize steps applied by Ballast's Kustomize
/// engine to the rendered manifest (hooks untouched), or `None` without any.
fn post_renderer(hr: &HelmRelease) -> Option<ballast_release::PostRenderer> {
    let steps = post_render_steps(hr);
    if steps.is_empty() {
        return None;
    }
    let origin = std::path::PathBuf::from(format!(
        "HelmRelease/{}/{}",
        hr.namespace().unwrap_or_default(),
        hr.name_any()
    ));
    Some(Arc::new(move |manifest: &str| {
        let docs = ballast_render::yaml::parse_stream(manifest).map_err(|e| e.to_string())?;
        let mut manifests = Vec::new();
        for (i, doc) in docs.into_iter().filter(|d| !d.is_null()).enumerate() {
            let origin = ballast_core::Origin {
                file: "manifest".into(),
                document: i,
            };
            manifests.push(ballast_core::Manifest::new(doc, origin).map_err(|e| e.to_string())?);
        }
        // No file is read: the steps carry their patches inline.
        let empty = tempfile::tempdir().map_err(|e| e.to_string())?;
        for step in &steps {
            manifests =
                ballast_render::kustomize::apply_overrides(empty.path(), empty.path(), manifests, step, &origin)
                    .map_err(|e| e.to_string())?;
        }
        Ok(ballast_render::emit::to_yaml_stream(
            manifests.iter().map(|m| &m.object),
        ))
    }))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ReconcileError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, bytes))
        .map_err(|e| ReconcileError::Build(format!("{}: {e}", path.display())))
}

/// Runs the chart's tests when `spec.test.enable`; a failure fails the action unless
/// `ignoreFailures`.
async fn run_tests(
    hr: &HelmRelease,
    ctx: &Context,
    releases: &Releases,
    release: &str,
    timeout: Duration,
    status: &mut HelmReleaseStatus,
) -> Result<(), String> {
    let test = hr.spec.test.clone().unwrap_or_default();
    let generation = hr.meta().generation;
    if test.enable != Some(true) {
        remove_condition(&mut status.conditions, "TestSuccess");
        return Ok(());
    }
    let options = ActionOptions {
        timeout: duration_of(test.timeout.as_deref(), timeout),
        test_filter: test_filter(hr),
        ..ActionOptions::default()
    };
    match releases.test(release, &options).await {
        Ok(r) => {
            let message = format!(
                "Helm test succeeded for release {}/{release}.v{}",
                r.namespace, r.version
            );
            set_condition(
                &mut status.conditions,
                condition(
                    "TestSuccess",
                    ConditionStatus::True,
                    "TestSucceeded",
                    &message,
                    generation,
                ),
            );
            ctx.event(hr, EventType::Normal, "TestSucceeded", &message).await;
            Ok(())
        }
        Err(e) => {
            let message = format!("Helm test failed for release {release}: {e}");
            set_condition(
                &mut status.conditions,
                condition(
                    "TestSuccess",
                    ConditionStatus::False,
                    "TestFailed",
                    &message,
                    generation,
                ),
            );
            ctx.event(hr, EventType::Warning, "TestFailed", &message).await;
            if test.ignore_failures == Some(true) {
                Ok(())
            } else {
                Err(message)
            }
        }
    }
}

/// `spec.uninstall` as action options: timeout, hooks, history kept, the propagation of the
/// deletions (`deletionPropagation`, background by default) and the wait for the objects to be
/// gone (unless `disableWait`), as Flux's uninstall.
fn uninstall_options(hr: &HelmRelease, timeout: Duration) -> ActionOptions {
    let u = hr.spec.uninstall.clone().unwrap_or_default();
    ActionOptions {
        timeout: duration_of(u.timeout.as_deref(), timeout),
        no_hooks: u.disable_hooks == Some(true),
        keep_history: u.keep_history == Some(true),
        wait_for_delete: u.disable_wait != Some(true),
        deletion_propagation: match u.deletion_propagation.as_deref() {
            Some("foreground") => PropagationPolicy::Foreground,
            Some("orphan") => PropagationPolicy::Orphan,
            _ => PropagationPolicy::Background,
        },
        ..ActionOptions::default()
    }
}

/// `spec.test.filters` as the tests to run: names to leave out (`exclude: true`) and, when
/// any filter includes, only those.
fn test_filter(hr: &HelmRelease) -> TestFilter {
    let mut filter = TestFilter::default();
    for f in hr.spec.test.iter().flat_map(|t| t.filters.iter().flatten()) {
        if f.exclude == Some(true) {
            filter.skip.push(f.name.clone());
        } else {
            filter.only.push(f.name.clone());
        }
    }
    filter
}

/// Remediates a failed install (uninstall) or upgrade (rollback to the last successful
/// revision, or uninstall), recording `Remediated`.
async fn remediate(
    hr: &HelmRelease,
    ctx: &Context,
    releases: &Releases,
    release: &str,
    failed: Plan,
    timeout: Duration,
    status: &mut HelmReleaseStatus,
) {
    let generation = hr.meta().generation;
    let upgrade_strategy = hr
        .spec
        .upgrade
        .as_ref()
        .and_then(|u| u.remediation.as_ref())
        .map(|r| r.strategy().to_string())
        .unwrap_or_else(|| "rollback".into());
    let uninstall = failed == Plan::Install || upgrade_strategy == "uninstall";
    let outcome = if uninstall {
        let options = uninstall_options(hr, timeout);
        releases
            .uninstall(release, &options)
            .await
            .map(|r| {
                (
                    "UninstallSucceeded",
                    format!(
                        "Helm uninstall succeeded for release {}/{release}.v{}",
                        r.namespace, r.version
                    ),
                )
            })
            .map_err(|e| ("UninstallFailed", e.0))
    } else {
        let r = hr.spec.rollback.clone().unwrap_or_default();
        let options = ActionOptions {
            timeout: duration_of(r.timeout.as_deref(), timeout),
            wait: r.disable_wait != Some(true),
            wait_for_jobs: r.disable_wait_for_jobs != Some(true),
            no_hooks: r.disable_hooks == Some(true),
            history_max: usize::try_from(hr.max_history()).unwrap_or(0),
            force: r.force == Some(true),
            cleanup_on_fail: r.cleanup_on_fail == Some(true),
            ..ActionOptions::default()
        };
        let target = releases.history(release).await.ok().and_then(|h| {
            h.iter()
                .rev()
                .skip(1)
                .find(|r| matches!(r.info.status, Status::Deployed | Status::Superseded))
                .map(|r| r.version)
        });
        match target {
            None => Err((
                "RollbackFailed",
                "no earlier successful revision to roll back to".to_string(),
            )),
            Some(v) => releases
                .rollback(release, Some(v), &options)
                .await
                .map(|r| {
                    (
                        "RollbackSucceeded",
                        format!(
                            "Helm rollback to previous release {}/{release}.v{v} with chart succeeded (now v{})",
                            r.namespace, r.version
                        ),
                    )
                })
                .map_err(|e| ("RollbackFailed", e.0)),
        }
    };
    let (state, reason, message) = match outcome {
        Ok((reason, message)) => (ConditionStatus::True, reason, message),
        Err((reason, message)) => (ConditionStatus::False, reason, message),
    };
    set_condition(
        &mut status.conditions,
        condition("Remediated", state, reason, &message, generation),
    );
    let kind = if state == ConditionStatus::True {
        EventType::Normal
    } else {
        EventType::Warning
    };
    ctx.event(hr, kind, reason, &message).await;
}

/// Re-applies the deployed release's objects (`enabled`: drift corrected, reported), or
/// compares them (`warn`: drift reported), and watches them so a live change asks for a
/// reconcile at once. `disabled` stops watching. `just_applied`: this reconcile's action has
/// applied the release; its writes are the expectations, nothing is read again.
async fn correct_drift(
    hr: &HelmRelease,
    ctx: &Context,
    releases: &Releases,
    release: &str,
    namespace: &str,
    just_applied: bool,
    status: &mut HelmReleaseStatus,
) -> Result<Option<String>, ReconcileError> {
    let Some(parts) = ctx.helm.get() else { return Ok(None) };
    let mode = hr.drift_mode().to_string();
    let history = releases
        .history(release)
        .await
        .map_err(|e| ReconcileError::Release(e.0))?;
    let Some(deployed) = history.iter().rev().find(|r| r.info.status == Status::Deployed) else {
        parts.drift.track(hr, &[], &HashMap::new());
        return Ok(None);
    };
    let objects = ballast_release::objects::release_objects(&ctx.cluster, &deployed.manifest, release, namespace)
        .map_err(|e| ReconcileError::Release(e.0))?;
    let refs: Vec<ObjectRef> = objects.iter().map(|m| m.object_ref()).collect();
    status.inventory = Some(ballast_api::kustomization::ResourceInventory {
        entries: Inventory::from_refs(refs.iter())
            .entries
            .into_iter()
            .map(|e| ballast_api::kustomization::ResourceRef { id: e.id, v: e.v })
            .collect(),
    });
    if mode == "disabled" {
        parts.drift.track(hr, &[], &HashMap::new());
        return Ok(None);
    }
    // As the release's account: the handle its releases were opened with.
    let cluster = releases.cluster().with_field_manager(HELM_FIELD_MANAGER);
    let options = ApplyOptions {
        take_over: vec![HELM_FIELD_MANAGER.to_string()],
        ..ApplyOptions::default()
    };
    let applier = Applier::new(&cluster, options);
    // The action of this reconcile has just applied every object of the release: nothing to
    // correct, and the server's answers are the expectations. A change made since is seen by
    // the drift watch, held until the reconcile ends (see `DriftWatch::hold`).
    // With what helm's manager owns in each answer: another manager's write before the watch
    // saw the object as applied (the controller manager's revision annotation on a Deployment)
    // is not drift.
    let written = releases.applied_digests();
    if just_applied && refs.iter().all(|r| written.contains_key(r)) {
        let mut applied = crate::drift::Applied::default();
        for r in &refs {
            let Some(d) = written.get(r) else { continue };
            applied.digests.insert(r.clone(), d.object);
            if let Some(owned) = d.owned {
                applied.owned.insert(r.clone(), owned);
            }
        }
        parts.drift.track_applied(hr, &refs, &applied);
        return Ok(None);
    }
    let mut digests = HashMap::new();
    let mut owned = HashMap::new();
    let note = if mode == "enabled" {
        let changes = applier
            .apply(&objects, &Inventory::default())
            .await
            .map_err(|e| ReconcileError::Apply(format!("drift correction: {e}")))?;
        digests.extend(
            changes
                .entries
                .iter()
                .filter_map(|e| Some((e.object.clone(), e.digest?))),
        );
        owned.extend(
            changes
                .entries
                .iter()
                .filter_map(|e| Some((e.object.clone(), e.owned_digest?))),
        );
        let corrected: Vec<String> = changes
            .entries
            .iter()
            .filter(|e| matches!(e.change, Change::Created | Change::Configured))
            .map(|e| {
                if e.change == Change::Created {
                    format!("{} (deleted live, recreated)", e.object)
                } else if e.fields.is_empty() {
                    e.object.to_string()
                } else {
                    format!("{} ({})", e.object, e.fields.join(", "))
                }
            })
            .collect();
        if corrected.is_empty() {
            None
        } else {
            let note = format!("drift corrected: {}", corrected.join("; "));
            ctx.metrics.drift_corrected(
                &hr.namespace().unwrap_or_default(),
                &hr.name_any(),
                corrected.len() as u64,
            );
            ctx.event(hr, EventType::Warning, "DriftCorrected", &note).await;
            Some(note)
        }
    } else {
        let plan = applier
            .plan(&objects, &Inventory::default())
            .await
            .map_err(|e| ReconcileError::Apply(format!("drift detection: {e}")))?;
        let drifted: Vec<String> = plan
            .steps()
            .filter(|s| matches!(s.action, PlanAction::Create | PlanAction::Update))
            .map(|s| {
                if s.action == PlanAction::Create {
                    format!("{} (missing)", s.object)
                } else {
                    format!("{} ({})", s.object, s.fields.join(", "))
                }
            })
            .collect();
        for s in plan.steps() {
            if let Some(live) = &s.live {
                digests.insert(s.object.clone(), ballast_plan::object_digest(live));
            }
        }
        if drifted.is_empty() {
            None
        } else {
            let note = format!("drift detected (mode warn, not corrected): {}", drifted.join("; "));
            ctx.event(hr, EventType::Warning, "DriftDetected", &note).await;
            Some(note)
        }
    };
    let applied = crate::drift::Applied {
        digests,
        owned,
        ..Default::default()
    };
    parts.drift.track_applied(hr, &refs, &applied);
    Ok(note)
}

/// `status.history`: the newest revisions first, as Flux's snapshots.
async fn update_history(status: &mut HelmReleaseStatus, releases: &Releases, release: &str) {
    let Ok(history) = releases.history(release).await else {
        return;
    };
    status.last_release_revision = history.last().map(|r| r.version);
    status.history = history.iter().rev().take(HISTORY_KEPT).map(snapshot).collect();
    if let Some(deployed) = history.iter().rev().find(|r| r.info.status == Status::Deployed) {
        let meta = &deployed.chart.metadata;
        status.last_applied_revision = meta.get("version").and_then(Value::as_str).map(String::from);
    }
}

fn snapshot(r: &Release) -> Snapshot {
    let meta = &r.chart.metadata;
    let text = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let record = serde_json::to_vec(r).unwrap_or_default();
    let tests: BTreeMap<String, TestHookStatus> = r
        .hooks
        .iter()
        .filter(|h| h.events.iter().any(|e| e == "test"))
        .filter(|h| !h.last_run.phase.is_empty())
        .map(|h| {
            (
                format!("{}/{}", r.namespace, h.name),
                TestHookStatus {
                    last_started: Some(h.last_run.started_at.clone()).filter(|s| !s.is_empty()),
                    last_completed: Some(h.last_run.completed_at.clone()).filter(|s| !s.is_empty()),
                    phase: Some(h.last_run.phase.clone()),
                },
            )
        })
        .collect();
    Snapshot {
        api_version: Some("v2".into()),
        digest: format!("sha256:{}", hex::encode(sha2::Sha256::digest(&record))),
        name: r.name.clone(),
        namespace: r.namespace.clone(),
        version: r.version,
        status: r.info.status.as_str().to_string(),
        action: None,
        chart_name: text("name"),
        chart_version: text("version"),
        app_version: Some(text("appVersion")).filter(|s| !s.is_empty()),
        config_digest: config_digest(&r.config),
        first_deployed: r.info.first_deployed.clone(),
        last_deployed: r.info.last_deployed.clone(),
        deleted: Some(r.info.deleted.clone()).filter(|s| !s.is_empty()),
        test_hooks: (!tests.is_empty()).then_some(tests),
        oci_digest: None,
    }
}

/// Deleting a HelmRelease: uninstall its release (unless suspended), delete the HelmChart made
/// for it, then let it go.
async fn finalize(hr: &HelmRelease, api: &Api<HelmRelease>, ctx: &Context) -> Result<Action, ReconcileError> {
    if !hr.finalizers().iter().any(|f| f == HELM_RELEASE_FINALIZER) {
        return Ok(Action::await_change());
    }
    let account = crate::tenant::account(ctx, hr.spec.service_account_name.as_deref());
    let account_gone = match crate::tenant::cluster(ctx, &hr.namespace().unwrap_or_default(), account).await {
        Err(ReconcileError::Apply(e)) => {
            // The account to uninstall as is gone: say what stays, and let the object go.
            let note = format!("skipping Helm uninstall of release {}: {e}", release_name(hr));
            ctx.event(hr, EventType::Warning, "UninstallFailed", &note).await;
            true
        }
        other => other.map(|_| false)?,
    };
    if !hr.suspended() && !account_gone {
        let release = release_name(hr);
        let namespace = hr.target_namespace();
        let status = hr.status.clone().unwrap_or_default();
        let (releases, _) = open_releases(hr, ctx, &status).await?;
        let history = releases
            .history(&release)
            .await
            .map_err(|e| ReconcileError::Release(e.0))?;
        if history.last().is_some_and(|r| r.info.status != Status::Uninstalled) {
            let timeout = duration_of(hr.spec.timeout.as_deref(), Duration::from_secs(300));
            let options = uninstall_options(hr, timeout);
            match releases.uninstall(&release, &options).await {
                Ok(_) => {
                    let note = format!("Helm uninstall succeeded for release {namespace}/{release}");
                    ctx.event(hr, EventType::Normal, "UninstallSucceeded", &note).await;
                }
                Err(e) => {
                    ctx.event(hr, EventType::Warning, "UninstallFailed", &e.0).await;
                    return Err(ReconcileError::Release(e.0));
                }
            }
        }
    }
    if let Some(chart) = hr.status.as_ref().and_then(|s| s.helm_chart.clone()) {
        delete_helm_chart(hr, ctx, &chart).await?;
    }
    if let Some(parts) = ctx.helm.get() {
        parts.drift.track(hr, &[], &HashMap::new());
    }
    let finalizers: Vec<String> = hr
        .finalizers()
        .iter()
        .filter(|f| *f != HELM_RELEASE_FINALIZER)
        .cloned()
        .collect();
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": hr.resource_version()}});
    api.patch(&hr.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(Action::await_change())
}

/// What asks for a HelmRelease reconcile when its object changes (as Flux's generation-changed
/// and reconcile-requested predicates): its generation, its annotations (`reconcile.fluxcd.io/*`
/// requests) or its deletion. Status writes, and the finalizer a reconcile adds, ask for none.
pub fn asks_for_reconcile(hr: &HelmRelease) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let meta = hr.meta();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.annotations.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    Some(hasher.finish())
}

/// The HelmReleases to reconcile when a HelmChart or OCIRepository changed.
pub fn releases_of_source(store: &Store<HelmRelease>, kind: &str, ns: &str, name: &str) -> Vec<KubeRef<HelmRelease>> {
    store
        .state()
        .into_iter()
        .filter(|hr| {
            let own = hr.namespace().unwrap_or_default();
            let made = hr
                .status
                .as_ref()
                .and_then(|s| s.helm_chart.as_deref())
                .is_some_and(|c| kind == "HelmChart" && c == format!("{ns}/{name}"));
            let template = kind == "HelmChart"
                && hr.spec.chart.as_ref().is_some_and(|c| {
                    hr.helm_chart_name() == name
                        && c.spec
                            .source_ref
                            .namespace
                            .clone()
                            .filter(|n| !n.is_empty())
                            .unwrap_or_else(|| own.clone())
                            == ns
                });
            let referenced = hr.spec.chart_ref.as_ref().is_some_and(|r| {
                r.kind == kind
                    && r.name == name
                    && r.namespace.clone().filter(|n| !n.is_empty()).unwrap_or(own.clone()) == ns
            });
            made || template || referenced
        })
        .map(|hr| KubeRef::from_obj(&*hr))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_merge_as_flux_and_digest_ignores_key_order() {
        let mut a = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        merge_maps(&mut a, json!({"a": {"b": 2, "c": [3]}, "e": null}));
        assert_eq!(a, json!({"a": {"b": 2, "c": [3]}, "d": "x", "e": null}));
        let x: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": 1}}"#).unwrap();
        let y: Value = serde_json::from_str(r#"{"a": {"x": 1, "y": 2}, "b": 1}"#).unwrap();
        assert_eq!(config_digest(&x), config_digest(&y));
        assert_eq!(config_digest(&Value::Null), config_digest(&json!({})));
        assert_ne!(config_digest(&x), config_digest(&json!({"b": 2})));
    }

    #[test]
    fn target_path_sets_typed_or_quoted_string_values() {
        let mut v = json!({"a": {"keep": true}});
        set_path(&mut v, "a.b.c", "42").unwrap();
        set_path(&mut v, "a.s", "\"42\"").unwrap();
        set_path(&mut v, "list[1]", "x").unwrap();
        assert_eq!(v["a"]["b"]["c"], json!(42));
        assert_eq!(v["a"]["s"], json!("42"));
        assert_eq!(v["a"]["keep"], json!(true));
        assert_eq!(v["list"], json!([null, "x"]));
    }

    fn hr(name: &str, target: Option<&str>, release: Option<&str>) -> HelmRelease {
        serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {"interval": "1m", "targetNamespace": target, "releaseName": release,
                     "chartRef": {"kind": "HelmChart", "name": "c"}}
        }))
        .unwrap()
    }

    #[test]
    fn release_names_as_flux() {
        assert_eq!(release_name(&hr("podinfo", None, None)), "podinfo");
        assert_eq!(release_name(&hr("podinfo", Some("apps"), None)), "apps-podinfo");
        assert_eq!(release_name(&hr("podinfo", Some("apps"), Some("mine"))), "mine");
        let long = release_name(&hr(&"n".repeat(50), Some("team-namespace"), None));
        assert_eq!(long.len(), 53);
        let full = format!("team-namespace-{}", "n".repeat(50));
        let sum = hex::encode(sha2::Sha256::digest(full.as_bytes()));
        assert_eq!(long, format!("{}-{}", &full[..40], &sum[..12]));
    }

    fn record(version: i64, status: &str, chart_version: &str, config: Value) -> Release {
        serde_json::from_value(json!({
            "name": "r", "version": version, "namespace": "default",
            "info": {"status": status, "last_deployed": "2026-01-01T00:00:00Z"},
            "chart": {"metadata": {"name": "c", "version": chart_version}},
            "config": config,
        }))
        .unwrap()
    }

    #[test]
    fn plans_follow_the_records() {
        let chart = ChartSource {
            bytes: Vec::new(),
            revision: "1.0.0".into(),
            digest: String::new(),
            name: "c".into(),
            version: "1.0.0".into(),
            oci_digest: None,
        };
        let values = json!({"a": 1});
        let d = config_digest(&values);
        assert_eq!(plan(&[], &chart, &d, false), Plan::Install);
        let deployed = record(1, "deployed", "1.0.0", values.clone());
        assert_eq!(plan(std::slice::from_ref(&deployed), &chart, &d, false), Plan::Nothing);
        assert_eq!(plan(std::slice::from_ref(&deployed), &chart, &d, true), Plan::Upgrade);
        assert_eq!(
            plan(
                std::slice::from_ref(&deployed),
                &chart,
                &config_digest(&json!({"a": 2})),
                false
            ),
            Plan::Upgrade
        );
        let old = record(1, "deployed", "0.9.0", values.clone());
        assert_eq!(plan(&[old], &chart, &d, false), Plan::Upgrade);
        assert_eq!(
            plan(&[record(1, "failed", "1.0.0", values.clone())], &chart, &d, false),
            Plan::Install
        );
        let failed_upgrade = [
            record(1, "superseded", "1.0.0", values.clone()),
            record(2, "failed", "1.0.0", values.clone()),
        ];
        assert_eq!(plan(&failed_upgrade, &chart, &d, false), Plan::Upgrade);
        assert_eq!(
            plan(&[record(1, "uninstalled", "1.0.0", values)], &chart, &d, false),
            Plan::Install
        );
    }
}
