//! `ballast export`: Flux objects as YAML, without server-side fields, laid out as `flux export`
//! lays them out.

use std::path::Path;

use anyhow::{Result, bail};
use ballast_api::{GitRepository, HelmChart, HelmRelease, HelmRepository, Kustomization, OCIRepository};
use kube::api::{Api, ListParams};
use serde_json::{Map, Value, json};

use super::flux_format;
use super::flux_objects::FluxObject;
use crate::cli::{ExportArgs, ExportCommand, ExportSource};
use crate::pipeline::connect;

pub async fn run(cmd: &ExportCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let client = cluster.client().clone();
    match cmd {
        ExportCommand::Source(ExportSource::Git(a)) => {
            export::<GitRepository>(Api::namespaced(client, &a.namespace), a).await
        }
        ExportCommand::Source(ExportSource::Helm(a)) => {
            export::<HelmRepository>(Api::namespaced(client, &a.namespace), a).await
        }
        ExportCommand::Source(ExportSource::Chart(a)) => {
            export::<HelmChart>(Api::namespaced(client, &a.namespace), a).await
        }
        ExportCommand::Source(ExportSource::Oci(a)) => {
            export::<OCIRepository>(Api::namespaced(client, &a.namespace), a).await
        }
        ExportCommand::Kustomization(a) => export::<Kustomization>(Api::namespaced(client, &a.namespace), a).await,
        ExportCommand::Helmrelease(a) => export::<HelmRelease>(Api::namespaced(client, &a.namespace), a).await,
    }
}

async fn export<K: FluxObject>(api: Api<K>, a: &ExportArgs) -> Result<u8> {
    let items = match (&a.name, a.all) {
        (Some(name), _) => vec![api.get(name).await?],
        (None, true) => api.list(&ListParams::default()).await?.items,
        (None, false) => bail!("name a {} or pass --all", K::KIND),
    };
    for item in items {
        print!("{}", flux_format::export(&clean(serde_json::to_value(&item)?)));
    }
    Ok(0)
}

/// apiVersion, kind, metadata (name, namespace, labels, annotations minus the reconcile request)
/// and spec.
fn clean(v: Value) -> Value {
    let mut meta = Map::new();
    for key in ["name", "namespace", "labels", "annotations"] {
        if let Some(x) = v["metadata"].get(key) {
            meta.insert(key.into(), x.clone());
        }
    }
    if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
        ann.remove("reconcile.fluxcd.io/requestedAt");
        ann.remove("reconcile.fluxcd.io/forceAt");
        ann.remove("reconcile.fluxcd.io/resetAt");
        ann.remove("kubectl.kubernetes.io/last-applied-configuration");
        if ann.is_empty() {
            meta.remove("annotations");
        }
    }
    let mut spec = v["spec"].clone();
    go_durations(&mut spec, 0);
    json!({"apiVersion": v["apiVersion"], "kind": v["kind"], "metadata": meta, "spec": spec})
}

/// Duration fields as the Flux CLI prints them after reading them into Go's `metav1.Duration`
/// (`5m` → `5m0s`), at any depth of the spec (`chart.spec.interval`); other values as stored.
fn go_durations(v: &mut Value, depth: usize) {
    if depth > 16 {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                match child {
                    Value::String(text) if DURATION_FIELDS.contains(&k.as_str()) => {
                        if let Ok(n) = flux_format::parse_go_duration(text) {
                            *text = flux_format::format_go_duration(n);
                        }
                    }
                    // Values are the chart's, not durations.
                    _ if k == "values" => {}
                    _ => go_durations(child, depth + 1),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| go_durations(x, depth + 1)),
        _ => {}
    }
}

/// Spec fields of Flux's kinds typed `metav1.Duration`.
const DURATION_FIELDS: [&str; 3] = ["interval", "timeout", "retryInterval"];
