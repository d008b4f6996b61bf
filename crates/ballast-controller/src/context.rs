//! What every reconcile shares.

use std::path::PathBuf;
use std::sync::OnceLock;

use ballast_api::Kustomization;
use kube::runtime::reflector::{ObjectRef as KubeRef, Store};
use tokio::sync::mpsc::UnboundedSender;

use ballast_kube::Cluster;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use crate::drift::DriftWatch;
use crate::metrics::Metrics;
use crate::watch_health::WatchHealth;

/// Shared state of the reconcilers.
pub struct Context {
    /// Client for typed calls.
    pub client: kube::Client,
    /// The cluster boundary the engine applies through.
    pub cluster: Cluster,
    /// Git cache (repositories and artifacts).
    pub cache_dir: PathBuf,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Kubernetes events.
    pub recorder: Recorder,
    /// Watches on managed objects.
    pub drift: DriftWatch,
    /// Kustomizations waiting for their objects' health, off the workers.
    pub health_waits: crate::health_wait::HealthWaits,
    /// Renders shared by Kustomizations of one source revision and path.
    pub renders: crate::render_cache::RenderCache,
    /// Asks the Kustomization controller to reconcile an object now.
    pub trigger: UnboundedSender<KubeRef<Kustomization>>,
    /// The Kustomization controller's cache, once it runs.
    pub kustomizations: OnceLock<Store<Kustomization>>,
    /// The cache of the GitRepository watch that triggers Kustomizations, once it runs (a
    /// Kustomization reads its source's revision there when deciding that nothing changed; it is
    /// updated before that watch's trigger, so a triggered reconcile never sees an older revision).
    pub git_repositories: OnceLock<Store<ballast_api::git_repository::GitRepository>>,
    /// Default deletion budget of a Kustomization's prune.
    pub prune_budget: ballast_apply::PruneBudget,
    /// The controller's own namespace: never pruned.
    pub own_namespace: String,
    /// Accept GitRepositories with `file://` URLs.
    pub allow_file_sources: bool,
    /// ServiceAccount a Kustomization without `spec.serviceAccountName` acts as.
    pub default_service_account: Option<String>,
    /// Largest Git tree accepted, in bytes.
    pub max_artifact_size: u64,
    /// Files made by chart sources (`HelmChart`, `OCIRepository`), under `<cache>/artifacts`,
    /// laid out as Flux's storage: `<kind>/<namespace>/<name>/<file>`. Readers go through
    /// [`ArtifactStore::open`](ballast_source::artifact_store::ArtifactStore::open), which checks
    /// the path's shape and the digest.
    pub artifacts: ballast_source::artifact_store::ArtifactStore,
    /// Parsed Helm repository indexes, by digest, shared by every HelmChart.
    pub index_cache: std::sync::Arc<ballast_source::IndexCache>,
    /// Mirrors of chart sources (`--source-mirror`), applied where their clients are built.
    pub source_mirrors: std::sync::Arc<crate::source_mirror::SourceMirrors>,
    /// The HelmRelease controller's parts, once it runs.
    pub helm: OnceLock<crate::helm_release::HelmParts>,
    /// The Argo CD Application controller's parts, once it runs.
    pub argo: OnceLock<crate::application::ArgoParts>,
    /// Sends events to matching Alerts, when the cluster serves the notification API.
    pub notifier: OnceLock<crate::notification::dispatch::Dispatcher>,
    /// This replica's identity (events' `reportingInstance`).
    pub identity: String,
    /// The SealedSecret controller's keys, once it runs.
    pub sealing: OnceLock<std::sync::Arc<crate::sealed_secret::KeyRing>>,
}

impl Context {
    /// A context for a cluster.
    pub fn new(
        cluster: Cluster,
        cache_dir: PathBuf,
        metrics: Metrics,
        trigger: UnboundedSender<KubeRef<Kustomization>>,
        identity: &str,
        health: WatchHealth,
    ) -> Self {
        let client = cluster.client().clone();
        let reporter = Reporter {
            controller: "ballast".into(),
            instance: Some(identity.into()),
        };
        // Drift is judged on the fields Ballast's applies own: another manager's writes (the
        // controller manager's revision annotation on a Deployment) wake nothing.
        let drift = DriftWatch::new(cluster.clone(), trigger.clone(), health).with_manager(cluster.field_manager());
        let health_waits = crate::health_wait::HealthWaits::new(cluster.clone(), drift.clone(), trigger.clone());
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            health_waits,
            renders: Default::default(),
            client,
            cluster,
            artifacts: ballast_source::artifact_store::ArtifactStore::new(cache_dir.join("artifacts"), 3),
            cache_dir,
            metrics,
            drift,
            trigger,
            kustomizations: OnceLock::new(),
            git_repositories: OnceLock::new(),
            prune_budget: ballast_apply::PruneBudget::default(),
            own_namespace: "flux-system".into(),
            allow_file_sources: false,
            default_service_account: None,
            max_artifact_size: ballast_source::DEFAULT_MAX_ARTIFACT_SIZE,
            index_cache: std::sync::Arc::new(ballast_source::IndexCache::new(64)),
            source_mirrors: Default::default(),
            helm: OnceLock::new(),
            argo: OnceLock::new(),
            notifier: OnceLock::new(),
            identity: identity.into(),
            sealing: OnceLock::new(),
        }
    }

    /// Asks for a reconcile of every Kustomization that depends on `ks` (it just became Ready).
    pub fn trigger_dependents(&self, ks: &Kustomization) {
        let Some(store) = self.kustomizations.get() else { return };
        let ns = ks.metadata.namespace.clone().unwrap_or_default();
        let name = ks.metadata.name.clone().unwrap_or_default();
        for other in store.state() {
            let other_ns = other.metadata.namespace.clone().unwrap_or_default();
            let depends = other
                .spec
                .depends_on
                .iter()
                .flatten()
                .any(|d| d.name == name && d.namespace.clone().unwrap_or_else(|| other_ns.clone()) == ns);
            if depends {
                let _ = self.trigger.send(KubeRef::from_obj(&*other));
            }
        }
    }

    /// Publishes an event on `object` (best effort: a failure to record is not a reconcile
    /// failure), and queues it for the matching Alerts (never waiting on a Provider).
    pub async fn event<K: Resource<DynamicType = ()> + serde::Serialize>(
        &self,
        object: &K,
        type_: EventType,
        reason: &str,
        note: &str,
    ) {
        self.event_at_revision(object, None, type_, reason, note).await;
    }

    /// [`Context::event`] for an object whose status does not hold the revision yet: Alerts
    /// get `revision` in the event's metadata.
    pub async fn event_at_revision<K: Resource<DynamicType = ()> + serde::Serialize>(
        &self,
        object: &K,
        revision: Option<&str>,
        type_: EventType,
        reason: &str,
        note: &str,
    ) {
        self.notify(object, revision, type_, reason, note);
        let mut note = note.to_string();
        if note.len() > 1000 {
            let mut cut = 997;
            while !note.is_char_boundary(cut) {
                cut -= 1;
            }
            note.truncate(cut);
            note.push_str("...");
        }
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: "Reconcile".into(),
            secondary: None,
        };
        let _ = self.recorder.publish(&event, &object.object_ref(&())).await;
    }

    /// Queues the event for the Alerts (when some exist), in Flux's payload shape; the
    /// revision is the object's last attempted, applied or stored one.
    fn notify<K: Resource<DynamicType = ()> + serde::Serialize>(
        &self,
        object: &K,
        revision: Option<&str>,
        type_: EventType,
        reason: &str,
        note: &str,
    ) {
        use crate::notification::{dispatch::Outgoing, event};
        let Some(notifier) = self.notifier.get() else { return };
        if !notifier.has_alerts() {
            return;
        }
        let r = object.object_ref(&());
        let mut metadata = std::collections::BTreeMap::new();
        if let Some(revision) = revision {
            metadata.insert("revision".to_string(), revision.to_string());
        } else if let Ok(value) = serde_json::to_value(object) {
            let revision = [
                "/status/lastAttemptedRevision",
                "/status/lastAppliedRevision",
                "/status/artifact/revision",
                "/status/sync/revision",
            ]
            .iter()
            .find_map(|p| value.pointer(p).and_then(|v| v.as_str()).filter(|v| !v.is_empty()));
            if let Some(revision) = revision {
                metadata.insert("revision".to_string(), revision.to_string());
            }
        }
        let kind = r.kind.clone().unwrap_or_default();
        let out = Outgoing {
            event: event::FluxEvent {
                involved_object: event::InvolvedObject {
                    kind: kind.clone(),
                    namespace: r.namespace.unwrap_or_default(),
                    name: r.name.unwrap_or_default(),
                    uid: r.uid.unwrap_or_default(),
                    api_version: r.api_version.unwrap_or_default(),
                    resource_version: r.resource_version.unwrap_or_default(),
                },
                severity: if type_ == EventType::Warning { "error" } else { "info" }.into(),
                timestamp: crate::status::now(),
                message: event::truncate(note.to_string(), event::MAX_MESSAGE),
                reason: reason.into(),
                metadata,
                reporting_controller: event::reporting_controller(&kind).into(),
                reporting_instance: self.identity.clone(),
            },
            labels: object.meta().labels.clone().unwrap_or_default(),
        };
        notifier.send(out);
    }
}
