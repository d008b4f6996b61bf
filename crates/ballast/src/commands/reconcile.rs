//! `ballast reconcile source git|helm|chart|oci NAME` and `ballast reconcile kustomization NAME
//! [--with-source]`.

use std::path::Path;

use anyhow::Result;
use ballast_api::helm_release::{FORCE_REQUEST_ANNOTATION, RESET_REQUEST_ANNOTATION};
use ballast_api::{GitRepository, HelmChart, HelmRelease, HelmRepository, Kustomization, OCIRepository};
use ballast_core::parse_duration;
use kube::api::Api;

use super::flux_objects::{FluxObject, request_and_wait, request_and_wait_with};

/// The chart of a HelmRelease, with its source, as `flux reconcile hr --with-source`: the
/// HelmChart of `spec.chart` (`<namespace>-<name>` in the source's namespace) or of a
/// `chartRef` HelmChart, both with their sources; a `chartRef` OCIRepository alone.
async fn reconcile_release_source(client: &kube::Client, hr: &HelmRelease, timeout: std::time::Duration) -> Result<()> {
    let own_ns = hr.metadata.namespace.clone().unwrap_or_default();
    if let Some(r) = &hr.spec.chart_ref {
        let ns = r.namespace.clone().filter(|n| !n.is_empty()).unwrap_or(own_ns);
        match r.kind.as_str() {
            "HelmChart" => {
                reconcile_chart(client, &ns, &r.name, true, timeout).await?;
            }
            "OCIRepository" => {
                let api: Api<OCIRepository> = Api::namespaced(client.clone(), &ns);
                let o = request_and_wait(&api, &r.name, timeout).await?;
                println!("✔ fetched revision {}", o.revision());
            }
            other => anyhow::bail!("cannot reconcile source of kind {other}"),
        }
        return Ok(());
    }
    // The controller records the HelmChart it made as `status.helmChart` (`namespace/name`).
    if let Some((ns, name)) = hr
        .status
        .as_ref()
        .and_then(|s| s.helm_chart.as_deref())
        .and_then(|c| c.split_once('/'))
    {
        reconcile_chart(client, ns, name, true, timeout).await?;
        return Ok(());
    }
    let Some(chart) = &hr.spec.chart else {
        anyhow::bail!("HelmRelease has neither spec.chart nor spec.chartRef");
    };
    let ns = chart
        .spec
        .source_ref
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or(own_ns);
    reconcile_chart(client, &ns, &hr.helm_chart_name(), true, timeout).await?;
    Ok(())
}

/// Reconciles a HelmChart, its source first with `with_source` (as `flux reconcile source chart
/// --with-source` and `flux reconcile hr --with-source` do).
pub async fn reconcile_chart(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    with_source: bool,
    timeout: std::time::Duration,
) -> Result<HelmChart> {
    let api: Api<HelmChart> = Api::namespaced(client.clone(), namespace);
    if with_source {
        let chart = api.get(name).await?;
        let source = &chart.spec.source_ref;
        match source.kind.as_str() {
            "HelmRepository" => {
                let sources: Api<HelmRepository> = Api::namespaced(client.clone(), namespace);
                let s = request_and_wait(&sources, &source.name, timeout).await?;
                if !s.is_static() {
                    println!("✔ fetched revision {}", s.revision());
                }
            }
            "GitRepository" => {
                let sources: Api<GitRepository> = Api::namespaced(client.clone(), namespace);
                let s = request_and_wait(&sources, &source.name, timeout).await?;
                println!("✔ fetched revision {}", s.revision());
            }
            other => anyhow::bail!("cannot reconcile source of kind {other}"),
        }
    }
    let o = request_and_wait(&api, name, timeout).await?;
    println!("✔ fetched revision {}", o.revision());
    Ok(o)
}
use crate::cli::{ReconcileCommand, ReconcileSource};
use crate::pipeline::connect;

pub async fn run(cmd: &ReconcileCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let client = cluster.client().clone();
    match cmd {
        ReconcileCommand::Source(ReconcileSource::Git(a)) => {
            let api: Api<GitRepository> = Api::namespaced(client, &a.namespace);
            let o = request_and_wait(&api, &a.name, parse_duration(&a.timeout).map_err(anyhow::Error::msg)?).await?;
            println!("✔ fetched revision {}", o.revision());
        }
        ReconcileCommand::Source(ReconcileSource::Helm(a)) => {
            let api: Api<HelmRepository> = Api::namespaced(client, &a.namespace);
            let o = request_and_wait(&api, &a.name, parse_duration(&a.timeout).map_err(anyhow::Error::msg)?).await?;
            if !o.is_static() {
                println!("✔ fetched revision {}", o.revision());
            }
        }
        ReconcileCommand::Source(ReconcileSource::Oci(a)) => {
            let api: Api<OCIRepository> = Api::namespaced(client, &a.namespace);
            let o = request_and_wait(&api, &a.name, parse_duration(&a.timeout).map_err(anyhow::Error::msg)?).await?;
            println!("✔ fetched revision {}", o.revision());
        }
        ReconcileCommand::Source(ReconcileSource::Chart(c)) => {
            let a = &c.target;
            let timeout = parse_duration(&a.timeout).map_err(anyhow::Error::msg)?;
            reconcile_chart(&client, &a.namespace, &a.name, c.with_source, timeout).await?;
        }
        ReconcileCommand::Helmrelease(h) => {
            let a = &h.target;
            let timeout = parse_duration(&a.timeout).map_err(anyhow::Error::msg)?;
            let api: Api<HelmRelease> = Api::namespaced(client.clone(), &a.namespace);
            if h.with_source {
                let hr = api.get(&a.name).await?;
                if hr.suspended() {
                    anyhow::bail!("HelmRelease {} is suspended; resume it first", a.name);
                }
                reconcile_release_source(&client, &hr, timeout).await?;
            }
            let mut also = Vec::new();
            if h.force {
                also.push(FORCE_REQUEST_ANNOTATION);
            }
            if h.reset {
                also.push(RESET_REQUEST_ANNOTATION);
            }
            let o = request_and_wait_with(&api, &a.name, timeout, &also).await?;
            println!("✔ applied revision {}", o.revision());
        }
        ReconcileCommand::Kustomization(k) => {
            let a = &k.target;
            let timeout = parse_duration(&a.timeout).map_err(anyhow::Error::msg)?;
            let api: Api<Kustomization> = Api::namespaced(client.clone(), &a.namespace);
            if k.with_source {
                let ks = api.get(&a.name).await?;
                let ns = ks
                    .spec
                    .source_ref
                    .namespace
                    .clone()
                    .unwrap_or_else(|| a.namespace.clone());
                let sources: Api<GitRepository> = Api::namespaced(client, &ns);
                let s = request_and_wait(&sources, &ks.spec.source_ref.name, timeout).await?;
                println!("✔ fetched revision {}", s.revision());
            }
            let o = request_and_wait(&api, &a.name, timeout).await?;
            println!("✔ applied revision {}", o.revision());
        }
        ReconcileCommand::Image(cmd) => super::image::reconcile(client, cmd).await?,
    }
    Ok(0)
}
