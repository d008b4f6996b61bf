//! `ballast install`: CRDs, namespace, RBAC and the controller Deployment.

use std::path::Path;

use anyhow::{Result, anyhow};
use ballast_apply::{Applier, ApplyOptions};
use ballast_core::{Inventory, Manifest, Origin};
use ballast_render::emit::to_yaml_stream;
use serde_json::{Value, json};

use crate::cli::InstallArgs;
use crate::pipeline::connect;

/// The image `install` and `bootstrap` deploy by default: what `scripts/build-image` tags.
pub const DEFAULT_IMAGE: &str = concat!("ballast:", env!("CARGO_PKG_VERSION"));

/// Everything `install` applies, in order; the controller runs `image`.
pub fn manifests(namespace: &str, image: &str) -> Vec<Value> {
    let mut out = ballast_api::crd_values();
    let labels = json!({"app.kubernetes.io/part-of": "ballast", "app.kubernetes.io/component": "controller"});
    out.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}}));
    out.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "ballast-controller", "namespace": namespace, "labels": labels}}));
    // The controller applies arbitrary objects, like Flux's kustomize-controller: cluster-admin.
    out.push(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": format!("ballast-controller-{namespace}"), "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "ballast-controller", "namespace": namespace}]}),
    );
    out.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "ballast-controller", "namespace": namespace, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "ballast-controller"}},
            "template": {"metadata": {"labels": {"app": "ballast-controller"}},
                "spec": {"serviceAccountName": "ballast-controller",
                    "containers": [{"name": "controller", "image": image,
                        "args": ["controller", "--leader-elect", format!("--lease-namespace={namespace}"), "--metrics-addr=0.0.0.0:8080"],
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
                        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}}]}}}}));
    out
}

/// Wraps values as manifests with a synthetic origin.
pub fn as_manifests(values: Vec<Value>, origin: &str) -> Result<Vec<Manifest>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            Manifest::new(
                v,
                Origin {
                    file: origin.into(),
                    document: i,
                },
            )
            .map_err(|e| anyhow!("{e}"))
        })
        .collect()
}

pub async fn run(args: &InstallArgs, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let mut values = manifests(&args.namespace, &args.image);
    // CRDs another installation may already serve: Bitnami's SealedSecret (always), Argo CD's
    // Application and AppProject (with --argo).
    let mut foreign: Vec<Value> = ballast_api::sealed_secret_crds()
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();
    if args.argo {
        foreign.extend(
            ballast_api::argo_crds()
                .iter()
                .filter_map(|c| serde_json::to_value(c).ok()),
        );
    }
    let argo = foreign;
    if args.export {
        values.splice(0..0, argo);
        print!("---\n{}", to_yaml_stream(values.iter()));
        return Ok(0);
    }
    let cluster = connect(kubeconfig, context).await?;
    let mut argo_kept = Vec::new();
    for crd in argo {
        let name = crd["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let r = ballast_core::ObjectRef::new("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, &name);
        if let Some(live) = cluster.get(&r).await?
            && !written_by_ballast(&live)
        {
            println!("CustomResourceDefinition/{name} kept: the cluster serves another installation's own");
            continue;
        }
        argo_kept.push(crd);
    }
    values.splice(0..0, argo_kept);
    let manifests = as_manifests(values, "install")?;
    let changes = Applier::new(
        &cluster,
        ApplyOptions {
            force: true,
            ..Default::default()
        },
    )
    .apply(&manifests, &Inventory::default())
    .await
    .map_err(|e| anyhow!("install failed:\n{e}"))?;
    for e in &changes.entries {
        println!("{e}");
    }
    Ok(0)
}

/// Whether a live CRD was applied by Ballast (field manager `ballast`), rather than by Argo CD's
/// installation.
fn written_by_ballast(live: &Value) -> bool {
    live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| m["manager"] == "ballast" && m["operation"] == "Apply")
}
