//! Prometheus metrics, named like Flux's so existing dashboards work.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ballast_api::ConditionStatus;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// An object's labels. The kind is a constant and the name and namespace are shared by every
/// series of the object (its duration histogram and its three Ready gauges, made together by
/// its first [`Metrics::record`]): a series costs no allocation of its own per label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectLabels {
    kind: &'static str,
    name: Arc<str>,
    namespace: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerbLabels {
    verb: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabels {
    kind: &'static str,
    name: Arc<str>,
    namespace: Arc<str>,
    r#type: &'static str,
    status: &'static str,
}

/// The controller's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    duration: Family<ObjectLabels, Histogram>,
    condition: Family<ConditionLabels, Gauge>,
    drift: Family<ObjectLabels, Counter>,
    api_requests: Family<VerbLabels, Counter>,
    request_source: Arc<std::sync::OnceLock<ballast_kube::RequestCounts>>,
    flow: FlowMetrics,
    unchanged: Counter,
    renders: Counter,
}

/// The client's flow control on `/metrics`, read from its [`ballast_kube::FlowStats`].
#[derive(Clone, Default)]
struct FlowMetrics {
    source: Arc<std::sync::OnceLock<ballast_kube::FlowStats>>,
    limit: Gauge,
    in_flight: Gauge,
    waiting: Gauge,
    throttled: Counter,
    rate_limited: Counter,
}

impl FlowMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "ballast_api_inflight_limit",
            "Non-watch requests the client sends to the API server at once now (lowered when the server refuses for load)",
            self.limit.clone(),
        );
        registry.register(
            "ballast_api_inflight_requests",
            "Non-watch requests sent to the API server and not answered yet",
            self.in_flight.clone(),
        );
        registry.register(
            "ballast_api_queued_requests",
            "Requests waiting for a slot under the in-flight limit",
            self.waiting.clone(),
        );
        registry.register(
            "ballast_api_throttled",
            "API server answers that refused a request for load (429, 503 with Retry-After, 504) and timeouts",
            self.throttled.clone(),
        );
        registry.register(
            "ballast_api_rate_limited",
            "Requests held back by the client-side rate limit (--kube-api-qps, --kube-api-burst)",
            self.rate_limited.clone(),
        );
    }

    /// Brings the metrics up to the source's values.
    fn update(&self) {
        let Some(stats) = self.source.get() else { return };
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.limit.set(gauge(stats.limit()));
        self.in_flight.set(gauge(stats.in_flight()));
        self.waiting.set(gauge(stats.waiting()));
        self.throttled
            .inc_by(stats.throttled().saturating_sub(self.throttled.get()));
        self.rate_limited
            .inc_by(stats.rate_limited().saturating_sub(self.rate_limited.get()));
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let duration = Family::<ObjectLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.01, 2.0, 14))
        });
        let condition = Family::<ConditionLabels, Gauge>::default();
        let drift = Family::<ObjectLabels, Counter>::default();
        registry.register(
            "gotk_reconcile_duration_seconds",
            "Duration of a reconcile, per object",
            duration.clone(),
        );
        registry.register(
            "gotk_reconcile_condition",
            "Ready condition of each object (1 for its current status)",
            condition.clone(),
        );
        registry.register(
            "ballast_drift_corrections",
            "Live changes to managed objects that were corrected",
            drift.clone(),
        );
        let api_requests = Family::<VerbLabels, Counter>::default();
        registry.register(
            "ballast_api_requests",
            "Requests sent to the API server, by verb (every attempt of a retried request)",
            api_requests.clone(),
        );
        let flow = FlowMetrics::default();
        flow.register(&mut registry);
        let unchanged = Counter::default();
        registry.register(
            "ballast_kustomization_unchanged_reconciles",
            "Kustomization reconciles answered from the caches alone (no request)",
            unchanged.clone(),
        );
        let renders = Counter::default();
        registry.register(
            "ballast_kustomization_renders",
            "Renders of a Kustomization's path (one per source revision and path when shared)",
            renders.clone(),
        );
        Metrics {
            registry: Arc::new(Mutex::new(registry)),
            duration,
            condition,
            drift,
            api_requests,
            request_source: Arc::default(),
            flow,
            unchanged,
            renders,
        }
    }
}

impl Metrics {
    /// Records a reconcile's duration and the object's Ready status.
    pub fn record(
        &self,
        kind: &'static str,
        namespace: &str,
        name: &str,
        ready: Option<ConditionStatus>,
        took: Duration,
    ) {
        let (name, namespace): (Arc<str>, Arc<str>) = (name.into(), namespace.into());
        let labels = ObjectLabels {
            kind,
            name: name.clone(),
            namespace: namespace.clone(),
        };
        self.duration.get_or_create(&labels).observe(took.as_secs_f64());
        if let Some(ready) = ready {
            for (s, v) in [
                ("True", ConditionStatus::True),
                ("False", ConditionStatus::False),
                ("Unknown", ConditionStatus::Unknown),
            ] {
                let l = ConditionLabels {
                    kind,
                    name: name.clone(),
                    namespace: namespace.clone(),
                    r#type: "Ready",
                    status: s,
                };
                self.condition.get_or_create(&l).set(i64::from(ready == v));
            }
        }
    }

    /// Counts drift corrections for a Kustomization.
    pub fn drift_corrected(&self, namespace: &str, name: &str, count: u64) {
        let labels = ObjectLabels {
            kind: "Kustomization",
            name: name.into(),
            namespace: namespace.into(),
        };
        self.drift.get_or_create(&labels).inc_by(count);
    }

    /// Serves `counts` as `ballast_api_requests_total{verb}` (the first source given stays).
    pub fn count_requests(&self, counts: ballast_kube::RequestCounts) {
        let _ = self.request_source.set(counts);
    }

    /// Serves `stats` as `ballast_api_inflight_limit`, `ballast_api_inflight_requests`,
    /// `ballast_api_queued_requests`, `ballast_api_throttled_total` and
    /// `ballast_api_rate_limited_total` (the first source given stays).
    pub fn watch_flow(&self, stats: ballast_kube::FlowStats) {
        let _ = self.flow.source.set(stats);
    }

    /// Counts a Kustomization reconcile answered from the caches alone.
    pub fn unchanged_reconcile(&self) {
        self.unchanged.inc();
    }

    /// Counts a render of a Kustomization's path.
    pub fn rendered(&self) {
        self.renders.inc();
    }

    /// Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Brought up to the source's counts under the registry's lock: one encoder at a time.
        if let Some(counts) = self.request_source.get() {
            for (verb, n) in counts.snapshot() {
                let counter = self.api_requests.get_or_create(&VerbLabels { verb });
                counter.inc_by(n.saturating_sub(counter.get()));
            }
        }
        self.flow.update();
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}
