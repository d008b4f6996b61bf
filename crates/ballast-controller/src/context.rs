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
    /// Asks the Kustomization controller to reconcile an object now.
    pub trigger: UnboundedSender<KubeRef<Kustomization>>,
    /// The Kustomization controller's cache, once it runs.
    pub kustomizations: OnceLock<Store<Kustomization>>,
    /// Default deletion budget of a Kustomization's prune.
    pub prune_budget: ballast_apply::PruneBudget,
    /// The controller's own namespace: never pruned.
    pub own_namespace: String,
    /// Accept GitRepositories with `file://` URLs.
    pub allow_file_sources: bool,
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
        let drift = DriftWatch::new(cluster.clone(), trigger.clone(), health);
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            cluster,
            artifacts: ballast_source::artifact_store::ArtifactStore::new(cache_dir.join("artifacts"), 3),
            cache_dir,
            metrics,
            drift,
            trigger,
            kustomizations: OnceLock::new(),
            prune_budget: ballast_apply::PruneBudget::default(),
            own_namespace: "flux-system".into(),
            allow_file_sources: false,
            max_artifact_size: ballast_source::DEFAULT_MAX_ARTIFACT_SIZE,
            index_cache: std::sync::Arc::new(ballast_source::IndexCache::new(64)),
            source_mirrors: Default::default(),
            helm: OnceLock::new(),
            argo: OnceLock::new(),
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

    /// Publishes an event on `object` (best effort: a failure to record is not a reconcile failure).
    pub async fn event<K: Resource<DynamicType = ()>>(&self, object: &K, type_: EventType, reason: &str, note: &str) {
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
}
