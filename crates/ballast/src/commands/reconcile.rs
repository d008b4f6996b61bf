//! `ballast reconcile source git NAME` and `ballast reconcile kustomization NAME [--with-source]`.

use std::path::Path;

use anyhow::Result;
use ballast_api::{GitRepository, Kustomization};
use ballast_core::parse_duration;
use kube::api::Api;

use super::flux_objects::{FluxObject, request_and_wait};
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
    }
    Ok(0)
}
