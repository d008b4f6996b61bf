//! `ballast tree kustomization NAME`: the objects a Kustomization manages, nested Kustomizations
//! expanded (`tree helmrelease` is in `helmrelease.rs`).

use std::path::Path;

use anyhow::Result;
use ballast_api::Kustomization;
use ballast_core::ObjectRef;
use kube::api::Api;

use crate::cli::{TreeArgs, TreeCommand};
use crate::pipeline::connect;

pub async fn run(cmd: &TreeCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let (name, namespace) = match cmd {
        TreeCommand::Kustomization(TreeArgs { name, namespace }) => (name, namespace),
        TreeCommand::Helmrelease(TreeArgs { name, namespace }) => {
            return super::helmrelease::tree(&cluster, namespace, name).await;
        }
    };
    println!("Kustomization/{namespace}/{name}");
    let mut out = String::new();
    walk(cluster.client(), namespace, name, "", &mut out, 0).await?;
    print!("{out}");
    Ok(0)
}

async fn walk(client: &kube::Client, ns: &str, name: &str, prefix: &str, out: &mut String, depth: usize) -> Result<()> {
    let api: Api<Kustomization> = Api::namespaced(client.clone(), ns);
    let ks = api.get(name).await?;
    let inventory = ballast_controller::kustomization::inventory_of(&ks.status.unwrap_or_default());
    let refs: Vec<ObjectRef> = inventory.refs();
    for (i, r) in refs.iter().enumerate() {
        let last = i + 1 == refs.len();
        out.push_str(&format!("{prefix}{}{r}\n", if last { "└── " } else { "├── " }));
        if r.kind == "Kustomization" && r.group == "kustomize.toolkit.fluxcd.io" && depth < 8 {
            let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
            let child_ns = r.namespace.clone().unwrap_or_else(|| ns.to_string());
            Box::pin(walk(client, &child_ns, &r.name, &child_prefix, out, depth + 1)).await?;
        }
    }
    Ok(())
}
