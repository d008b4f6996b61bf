//! Flux's event payload (`event.toolkit.fluxcd.io` `v1beta1`), Alert matching and duplicate
//! suppression. Pure functions: no I/O.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ballast_api::Alert;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Longest message sent (Flux's limit).
pub const MAX_MESSAGE: usize = 39_000;

/// The object an event is about.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvolvedObject {
    /// Kind, e.g. `Kustomization`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// `group/version`.
    pub api_version: String,
    /// Resource version the event was emitted at.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
}

/// One event, as Flux's notification-controller forwards it to providers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxEvent {
    /// The object.
    pub involved_object: InvolvedObject,
    /// `info` or `error`.
    pub severity: String,
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// Human-readable text (at most [`MAX_MESSAGE`] bytes).
    pub message: String,
    /// CamelCase reason, e.g. `ReconciliationFailed`.
    pub reason: String,
    /// `revision`, `summary` and the Alert's `eventMetadata`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The controller Flux would name (`kustomize-controller`, `source-controller`, ...).
    pub reporting_controller: String,
    /// This replica's identity.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reporting_instance: String,
}

impl FluxEvent {
    /// True for `error` events.
    pub fn is_error(&self) -> bool {
        self.severity == "error"
    }

    /// The key duplicates share: object, severity, reason, message and revision.
    pub fn dedupe_key(&self) -> [u8; 32] {
        let o = &self.involved_object;
        let mut h = Sha256::new();
        for part in [
            &o.kind,
            &o.namespace,
            &o.name,
            &self.severity,
            &self.reason,
            &self.message,
            self.metadata.get("revision").unwrap_or(&String::new()),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.finalize().into()
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// The Flux controller that reports events for `kind`.
pub fn reporting_controller(kind: &str) -> &'static str {
    match kind {
        "Kustomization" => "kustomize-controller",
        "HelmRelease" => "helm-controller",
        "ImageRepository" | "ImagePolicy" => "image-reflector-controller",
        "ImageUpdateAutomation" => "image-automation-controller",
        "Application" => "application-controller",
        _ => "source-controller",
    }
}

/// Why an Alert cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AlertError(pub String);

/// An Alert with its regular expressions compiled.
pub struct CompiledAlert {
    /// The Alert.
    pub alert: Alert,
    inclusion: Vec<regex::Regex>,
    exclusion: Vec<regex::Regex>,
}

/// Longest regular expression accepted, compiled with a bounded size.
const MAX_REGEX: usize = 1024;

fn compile(list: Option<&Vec<String>>, field: &str) -> Result<Vec<regex::Regex>, AlertError> {
    list.into_iter()
        .flatten()
        .map(|r| {
            if r.len() > MAX_REGEX {
                return Err(AlertError(format!("{field}: expression longer than {MAX_REGEX} bytes")));
            }
            regex::RegexBuilder::new(r)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| AlertError(format!("{field}: invalid expression {r:?}: {e}")))
        })
        .collect()
}

impl CompiledAlert {
    /// Compiles the Alert's `inclusionList` and `exclusionList`.
    pub fn new(alert: Alert) -> Result<Self, AlertError> {
        let inclusion = compile(alert.spec.inclusion_list.as_ref(), "inclusionList")?;
        let exclusion = compile(alert.spec.exclusion_list.as_ref(), "exclusionList")?;
        if let Some(s) = alert.spec.event_severity.as_deref()
            && s != "info"
            && s != "error"
        {
            return Err(AlertError(format!("eventSeverity {s:?}: must be info or error")));
        }
        Ok(CompiledAlert {
            alert,
            inclusion,
            exclusion,
        })
    }

    /// True when the Alert sends `event`, about an object with `labels`: not suspended; a
    /// source has the event's kind, its name (or `*`), its namespace (default the Alert's) and
    /// its `matchLabels`; the severity is `error` or the Alert takes `info`; the message matches
    /// an inclusion expression (when there are any) and no exclusion expression.
    pub fn matches(&self, event: &FluxEvent, labels: &BTreeMap<String, String>) -> bool {
        let spec = &self.alert.spec;
        if spec.suspend == Some(true) {
            return false;
        }
        if spec.event_severity.as_deref() == Some("error") && !event.is_error() {
            return false;
        }
        let own_ns = self.alert.metadata.namespace.as_deref().unwrap_or_default();
        let o = &event.involved_object;
        let source = spec.event_sources.iter().any(|s| {
            s.kind == o.kind
                && (s.name == "*" || s.name == o.name)
                && s.namespace.as_deref().unwrap_or(own_ns) == o.namespace
                && s.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v))
        });
        if !source {
            return false;
        }
        if !self.inclusion.is_empty() && !self.inclusion.iter().any(|r| r.is_match(&event.message)) {
            return false;
        }
        !self.exclusion.iter().any(|r| r.is_match(&event.message))
    }

    /// The event as this Alert sends it: with its `summary` and `eventMetadata` (the event's
    /// own keys win on conflicts).
    pub fn decorate(&self, event: &FluxEvent) -> FluxEvent {
        let mut out = event.clone();
        for (k, v) in self.alert.spec.event_metadata.iter().flatten() {
            out.metadata.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if let Some(summary) = &self.alert.spec.summary {
            out.metadata.entry("summary".into()).or_insert_with(|| summary.clone());
        }
        out
    }
}

/// Forgets keys older than the window; remembers at most `capacity` keys.
pub struct Dedupe {
    window: Duration,
    capacity: usize,
    seen: HashMap<[u8; 32], Instant>,
}

impl Dedupe {
    /// Suppresses repeats within `window`, tracking at most `capacity` distinct events.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Dedupe {
            window,
            capacity,
            seen: HashMap::new(),
        }
    }

    /// True the first time a key is seen in the window (the event is to be sent).
    pub fn first(&mut self, key: [u8; 32], now: Instant) -> bool {
        if let Some(at) = self.seen.get(&key)
            && now.duration_since(*at) < self.window
        {
            return false;
        }
        if self.seen.len() >= self.capacity {
            let window = self.window;
            self.seen.retain(|_, at| now.duration_since(*at) < window);
            if self.seen.len() >= self.capacity {
                self.seen.clear();
            }
        }
        self.seen.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast_api::AlertSpec;
    use ballast_api::notification::CrossNamespaceObjectReference;

    fn alert(severity: &str, name: &str, include: &[&str], exclude: &[&str]) -> CompiledAlert {
        let mut a = Alert::new(
            "a",
            AlertSpec {
                event_severity: Some(severity.into()),
                event_sources: vec![CrossNamespaceObjectReference {
                    kind: "Kustomization".into(),
                    name: name.into(),
                    match_labels: (name == "*").then(|| [("team".to_string(), "a".to_string())].into()),
                    ..Default::default()
                }],
                inclusion_list: Some(include.iter().map(|s| s.to_string()).collect()),
                exclusion_list: Some(exclude.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            },
        );
        a.metadata.namespace = Some("ns".into());
        CompiledAlert::new(a).unwrap()
    }

    fn event(severity: &str, name: &str, message: &str) -> FluxEvent {
        FluxEvent {
            involved_object: InvolvedObject {
                kind: "Kustomization".into(),
                namespace: "ns".into(),
                name: name.into(),
                ..Default::default()
            },
            severity: severity.into(),
            message: message.into(),
            ..Default::default()
        }
    }

    #[test]
    fn severity_names_wildcards_labels_and_lists_filter() {
        let none = BTreeMap::new();
        let team: BTreeMap<_, _> = [("team".to_string(), "a".to_string())].into();
        assert!(alert("info", "apps", &[], &[]).matches(&event("info", "apps", "x"), &none));
        assert!(!alert("error", "apps", &[], &[]).matches(&event("info", "apps", "x"), &none));
        assert!(alert("error", "apps", &[], &[]).matches(&event("error", "apps", "x"), &none));
        assert!(!alert("info", "apps", &[], &[]).matches(&event("info", "other", "x"), &none));
        assert!(!alert("info", "*", &[], &[]).matches(&event("info", "other", "x"), &none));
        assert!(alert("info", "*", &[], &[]).matches(&event("info", "other", "x"), &team));
        let lists = alert("info", "apps", &["^apply"], &["dry-run"]);
        assert!(lists.matches(&event("info", "apps", "apply failed"), &none));
        assert!(!lists.matches(&event("info", "apps", "prune failed"), &none));
        assert!(!lists.matches(&event("info", "apps", "apply dry-run failed"), &none));
    }

    #[test]
    fn invalid_expressions_are_refused_by_field() {
        let mut a = alert("info", "apps", &[], &[]).alert;
        a.spec.exclusion_list = Some(vec!["(".into()]);
        let e = CompiledAlert::new(a).err().unwrap();
        assert!(e.0.starts_with("exclusionList"), "{e}");
    }

    #[test]
    fn repeats_within_the_window_are_suppressed() {
        let mut d = Dedupe::new(Duration::from_secs(60), 2);
        let now = Instant::now();
        let k = event("error", "apps", "x").dedupe_key();
        assert!(d.first(k, now));
        assert!(!d.first(k, now + Duration::from_secs(59)));
        assert!(d.first(k, now + Duration::from_secs(61)));
        assert_ne!(k, event("error", "apps", "y").dedupe_key());
    }
}
