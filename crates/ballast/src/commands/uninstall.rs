//! `ballast uninstall`: removes Ballast, leaves the workloads it reconciled.

use std::path::Path;

use anyhow::Result;
use ballast_api::{GitRepository, Kustomization};
use ballast_core::ObjectRef;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::cli::UninstallArgs;
use crate::pipeline::connect;

pub async fn run(args: &UninstallArgs, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let client = cluster.client().clone();
    if cluster.serves(&ObjectRef::new(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        Some("x"),
        "x",
    )) {
        let api: Api<Kustomization> = Api::all(client.clone());
        for ks in api.list(&ListParams::default()).await?.items {
            let ns = ks.namespace().unwrap_or_default();
            let nsd: Api<Kustomization> = Api::namespaced(client.clone(), &ns);
            // Without its finalizer the Kustomization goes without pruning what it applied.
            let patch = json!({"metadata": {"finalizers": null}});
            nsd.patch(&ks.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            nsd.delete(&ks.name_any(), &Default::default()).await?;
            println!("✔ Kustomization/{ns}/{} deleted (workloads kept)", ks.name_any());
        }
    }
    if cluster.serves(&ObjectRef::new(
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        Some("x"),
        "x",
    )) {
        let api: Api<GitRepository> = Api::all(client.clone());
        for r in api.list(&ListParams::default()).await?.items {
            let ns = r.namespace().unwrap_or_default();
            Api::<GitRepository>::namespaced(client.clone(), &ns)
                .delete(&r.name_any(), &Default::default())
                .await?;
            println!("✔ GitRepository/{ns}/{} deleted", r.name_any());
        }
    }
    let mut objects: Vec<ObjectRef> = super::install::manifests(&args.namespace)
        .iter()
        .map(|v| {
            ObjectRef::new(
                v["apiVersion"].as_str().unwrap_or_default(),
                v["kind"].as_str().unwrap_or_default(),
                v["metadata"]["namespace"].as_str(),
                v["metadata"]["name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    objects.push(ObjectRef::new(
        "coordination.k8s.io/v1",
        "Lease",
        Some(&args.namespace),
        "ballast-controller-leader",
    ));
    objects.reverse();
    for r in objects {
        if args.keep_namespace && r.is_namespace() {
            continue;
        }
        if cluster.serves(&r) && cluster.delete(&r, None).await? {
            println!("✔ {r} deleted");
        }
    }
    Ok(0)
}
