//! `ballast suspend`, `ballast resume`, `ballast delete`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use ballast_api::{GitRepository, HelmChart, HelmRelease, HelmRepository, Kustomization, OCIRepository};
use ballast_core::parse_duration;
use kube::api::{Api, DeleteParams, Preconditions};

use super::flux_objects::{FluxObject, request_and_wait, set_suspend};
use crate::cli::{NamedArgs, TargetCommand, TargetSource};
use crate::pipeline::connect;

/// What to do to the target.
#[derive(Clone, Copy)]
pub enum Verb {
    /// Stop reconciling.
    Suspend,
    /// Resume and wait for a reconcile.
    Resume,
    /// Delete and wait until it is gone.
    Delete,
}

pub async fn run(verb: Verb, cmd: &TargetCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let client = cluster.client().clone();
    match cmd {
        TargetCommand::Source(TargetSource::Git(a)) => {
            act::<GitRepository>(verb, Api::namespaced(client, &a.namespace), a).await
        }
        TargetCommand::Source(TargetSource::Helm(a)) => {
            act::<HelmRepository>(verb, Api::namespaced(client, &a.namespace), a).await
        }
        TargetCommand::Source(TargetSource::Chart(a)) => {
            act::<HelmChart>(verb, Api::namespaced(client, &a.namespace), a).await
        }
        TargetCommand::Source(TargetSource::Oci(a)) => {
            act::<OCIRepository>(verb, Api::namespaced(client, &a.namespace), a).await
        }
        TargetCommand::Kustomization(a) => act::<Kustomization>(verb, Api::namespaced(client, &a.namespace), a).await,
        TargetCommand::Helmrelease(a) => act::<HelmRelease>(verb, Api::namespaced(client, &a.namespace), a).await,
        TargetCommand::Image(cmd) => super::image::target(verb, client, cmd).await,
    }
}

pub(super) async fn act<K: FluxObject>(verb: Verb, api: Api<K>, a: &NamedArgs) -> Result<u8> {
    let timeout = parse_duration(&a.timeout).map_err(anyhow::Error::msg)?;
    match verb {
        Verb::Suspend => {
            set_suspend(&api, &a.name, true).await?;
            println!("✔ {} {} suspended", K::KIND, a.name);
        }
        Verb::Resume => {
            set_suspend(&api, &a.name, false).await?;
            println!("► {} {} resumed", K::KIND, a.name);
            let o = request_and_wait(&api, &a.name, timeout).await?;
            if !o.is_static() {
                println!("✔ {} reconciliation completed: {}", K::KIND, o.revision());
            }
        }
        Verb::Delete => {
            // The delete carries the UID read here: an object recreated meanwhile is not deleted.
            let Some(current) = api.get_opt(&a.name).await? else {
                bail!("{} {} not found in {} namespace", K::KIND, a.name, a.namespace);
            };
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: current.meta().uid.clone(),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            api.delete(&a.name, &params).await?;
            println!("► deleting {} {} in {} namespace", K::KIND, a.name, a.namespace);
            let deadline = Instant::now() + timeout;
            while api.get_opt(&a.name).await?.is_some() {
                if Instant::now() > deadline {
                    bail!(
                        "{} {} still present after {timeout:?} (its finalizer needs `ballast controller`)",
                        K::KIND,
                        a.name
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            println!("✔ {} deleted", K::KIND);
        }
    }
    Ok(0)
}
