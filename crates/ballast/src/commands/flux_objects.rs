//! Helpers shared by `get`, `reconcile`, `suspend`, `resume` and `delete`: the two kinds behind
//! one small interface.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use ballast_api::condition::{Condition, find};
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_api::{GitRepository, HelmChart, HelmRelease, HelmRepository, Kustomization, OCIRepository};
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

/// A Flux kind as the CLI sees it.
pub trait FluxObject:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + std::fmt::Debug
    + serde::Serialize
{
    /// Kind name for messages.
    const KIND: &'static str;
    /// Status conditions.
    fn conditions(&self) -> Vec<Condition>;
    /// Revision to show (artifact or last applied).
    fn revision(&self) -> String;
    /// `spec.suspend`.
    fn suspended(&self) -> bool;
    /// `status.lastHandledReconcileAt`.
    fn last_handled(&self) -> Option<String>;
    /// `status.observedGeneration`.
    fn observed_generation(&self) -> Option<i64>;
    /// True for an object no controller reconciles (a `type: oci` HelmRepository, as in Flux):
    /// `get` shows it ready, `reconcile` does not wait for it.
    fn is_static(&self) -> bool {
        false
    }
    /// The revision `get` lists (Flux shortens hex digests in some kinds).
    fn list_revision(&self) -> String {
        self.revision()
    }
    /// True when `get` shortens hex digests in the message, as Flux does for Helm sources.
    const SHORT_HEX_MESSAGE: bool = false;
    /// The header of `get`'s revision column (Flux's `LAST SCAN`, `LATEST IMAGE`, `LAST RUN`
    /// for the image kinds).
    const REVISION_COLUMN: &'static str = "REVISION";
    /// `Kind/namespace/name` of the object's source (`get helmreleases --show-source`).
    fn source_ref(&self) -> String {
        String::new()
    }
}

impl FluxObject for HelmRelease {
    const KIND: &'static str = "HelmRelease";
    fn conditions(&self) -> Vec<Condition> {
        self.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default()
    }
    /// As Flux: the chart version of the latest release snapshot, else the last attempted
    /// revision.
    fn revision(&self) -> String {
        let Some(s) = self.status.as_ref() else {
            return String::new();
        };
        match s.history.first() {
            Some(h) => h.chart_version.clone(),
            None => s.last_attempted_revision.clone().unwrap_or_default(),
        }
    }
    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }
    fn last_handled(&self) -> Option<String> {
        self.status.as_ref().and_then(|s| s.last_handled_reconcile_at.clone())
    }
    fn observed_generation(&self) -> Option<i64> {
        self.status.as_ref().and_then(|s| s.observed_generation)
    }
    /// As Flux: the `chartRef`, else the chart template's `sourceRef`, namespace defaulted.
    fn source_ref(&self) -> String {
        let own = self.metadata.namespace.clone().unwrap_or_default();
        let ns = |n: &Option<String>| n.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| own.clone());
        if let Some(r) = &self.spec.chart_ref {
            return format!("{}/{}/{}", r.kind, ns(&r.namespace), r.name);
        }
        match &self.spec.chart {
            Some(c) => {
                let r = &c.spec.source_ref;
                format!("{}/{}/{}", r.kind, ns(&r.namespace), r.name)
            }
            None => String::new(),
        }
    }
}

/// The artifact revision of a source's status.
fn artifact_revision(a: Option<&ballast_api::git_repository::Artifact>) -> String {
    a.map(|a| a.revision.clone()).unwrap_or_default()
}

/// A source kind with `status.{conditions, artifact, lastHandledReconcileAt,
/// observedGeneration}` and `spec.suspend`.
macro_rules! source_kind {
    ($ty:ty, $kind:literal, short_revision: $short:literal, static: |$o:ident| $static:expr) => {
        impl FluxObject for $ty {
            const KIND: &'static str = $kind;
            const SHORT_HEX_MESSAGE: bool = true;
            fn conditions(&self) -> Vec<Condition> {
                self.status
                    .as_ref()
                    .map(|s| s.conditions.clone())
                    .unwrap_or_default()
            }
            fn revision(&self) -> String {
                artifact_revision(self.status.as_ref().and_then(|s| s.artifact.as_ref()))
            }
            fn suspended(&self) -> bool {
                self.spec.suspend == Some(true)
            }
            fn last_handled(&self) -> Option<String> {
                self.status
                    .as_ref()
                    .and_then(|s| s.last_handled_reconcile_at.clone())
            }
            fn observed_generation(&self) -> Option<i64> {
                self.status.as_ref().and_then(|s| s.observed_generation)
            }
            fn is_static(&self) -> bool {
                let $o = self;
                $static
            }
            fn list_revision(&self) -> String {
                if $short {
                    truncate_hex(&self.revision())
                } else {
                    self.revision()
                }
            }
        }
    };
}

source_kind!(HelmRepository, "HelmRepository", short_revision: true, static: |o| o.spec.is_oci());
// A chart's revision is a semver; Flux never shortens it.
source_kind!(HelmChart, "HelmChart", short_revision: false, static: |_o| false);
source_kind!(OCIRepository, "OCIRepository", short_revision: true, static: |_o| false);

/// Every run of 40 to 128 lowercase hex digits (SHA-1 to SHA-512) cut to its first 8, as the
/// Flux CLI prints revisions and messages.
pub fn truncate_hex(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < bytes.len() {
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if hex(bytes[i]) && (i == 0 || !word(bytes[i - 1])) {
            let mut j = i;
            while j < bytes.len() && hex(bytes[j]) {
                j += 1;
            }
            let len = j - i;
            if (40..=128).contains(&len) && (j == bytes.len() || !word(bytes[j])) {
                out.push_str(&text[i..i + 8]);
                i = j;
                continue;
            }
            out.push_str(&text[i..j]);
            i = j;
            continue;
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

impl FluxObject for GitRepository {
    const KIND: &'static str = "GitRepository";
    fn conditions(&self) -> Vec<Condition> {
        self.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default()
    }
    fn revision(&self) -> String {
        self.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| a.revision.clone())
            .unwrap_or_default()
    }
    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }
    fn last_handled(&self) -> Option<String> {
        self.status.as_ref().and_then(|s| s.last_handled_reconcile_at.clone())
    }
    fn observed_generation(&self) -> Option<i64> {
        self.status.as_ref().and_then(|s| s.observed_generation)
    }
}

impl FluxObject for Kustomization {
    const KIND: &'static str = "Kustomization";
    fn conditions(&self) -> Vec<Condition> {
        self.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default()
    }
    fn revision(&self) -> String {
        self.status
            .as_ref()
            .and_then(|s| s.last_applied_revision.clone())
            .unwrap_or_default()
    }
    fn suspended(&self) -> bool {
        self.spec.suspend == Some(true)
    }
    fn last_handled(&self) -> Option<String> {
        self.status.as_ref().and_then(|s| s.last_handled_reconcile_at.clone())
    }
    fn observed_generation(&self) -> Option<i64> {
        self.status.as_ref().and_then(|s| s.observed_generation)
    }
}

/// (`True`/`False`/`Unknown`, message) of the Ready condition.
pub fn ready<K: FluxObject>(o: &K) -> (String, String) {
    if o.is_static() {
        return ("True".into(), "Helm repository is Ready".into());
    }
    match find(&o.conditions(), "Ready") {
        Some(c) => (format!("{:?}", c.status), c.message.clone()),
        None => ("Unknown".into(), "waiting to be reconciled".into()),
    }
}

/// Sets `reconcile.fluxcd.io/requestedAt` and waits until the controller handled it; returns the
/// object as it was then. Fails with the Ready message if the reconcile failed.
pub async fn request_and_wait<K: FluxObject>(api: &Api<K>, name: &str, timeout: Duration) -> Result<K> {
    request_and_wait_with(api, name, timeout, &[]).await
}

/// `request_and_wait`, setting `also` (more annotations, e.g. `reconcile.fluxcd.io/forceAt`) to
/// the same token.
pub async fn request_and_wait_with<K: FluxObject>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    also: &[&str],
) -> Result<K> {
    let Some(current) = api.get_opt(name).await? else {
        bail!("{} {name} not found", K::KIND)
    };
    if current.suspended() {
        bail!("{} {name} is suspended; resume it first", K::KIND);
    }
    if current.is_static() {
        println!("✔ reconciliation not supported by the object");
        return Ok(current);
    }
    let token = jiff::Timestamp::now().to_string();
    let mut annotations = serde_json::Map::new();
    annotations.insert(RECONCILE_REQUEST_ANNOTATION.into(), json!(token));
    for a in also {
        annotations.insert((*a).into(), json!(token));
    }
    let patch = json!({"metadata": {"annotations": annotations}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    println!(
        "► annotating {} {name} in {} namespace",
        K::KIND,
        current.namespace().unwrap_or_default()
    );
    println!("◎ waiting for {} reconciliation", K::KIND);
    let deadline = Instant::now() + timeout;
    loop {
        let o = api.get(name).await?;
        if o.last_handled().as_deref() == Some(token.as_str()) && o.observed_generation() == o.meta().generation {
            let (status, message) = ready(&o);
            if status == "True" {
                return Ok(o);
            }
            bail!("{} {name} reconciliation failed: {message}", K::KIND);
        }
        if Instant::now() > deadline {
            let (_, message) = ready(&o);
            bail!(
                "{} {name}: not reconciled within {timeout:?} (is `ballast controller` running?): {message}",
                K::KIND
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sets `spec.suspend`.
pub async fn set_suspend<K: FluxObject>(api: &Api<K>, name: &str, suspend: bool) -> Result<()> {
    let patch = json!({"spec": {"suspend": suspend}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}
