//! `ballast uninstall`: removes Ballast, leaves the workloads it reconciled.
//!
//! Guarantees, whether or not a controller (Ballast's or Flux's) is still running:
//! - no workload is pruned: every Kustomization and HelmRelease is suspended before it is
//!   deleted, and a controller finalizing a suspended one deletes nothing (Flux's rule, which
//!   Ballast follows: no prune, no Helm uninstall), so there is no window in which a deletion can
//!   be taken for a prune or uninstall request;
//! - only Flux's finalizer (`finalizers.fluxcd.io`) is ever removed. An object that also carries
//!   another controller's finalizer is left to that controller: it is reported, its CRD (and the
//!   namespace it lives in) are kept so that controller can finish, and the command ends with an
//!   error saying what to do; run it again once the other finalizer is gone.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use ballast_api::{
    ArtifactGenerator, ExternalArtifact, GitRepository, HelmChart, HelmRelease, HelmRepository, Kustomization,
    OCIRepository,
};
use ballast_core::ObjectRef;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::cli::UninstallArgs;
use crate::pipeline::connect;

/// Flux's finalizer, the only one uninstall removes.
const FLUX_FINALIZER: &str = "finalizers.fluxcd.io";

/// Passes over the Kustomizations: one that appears while uninstalling is suspended too.
const PASSES: usize = 3;

/// An object left in place because another controller's finalizer holds it.
struct Blocked {
    what: String,
    namespace: String,
    crd: &'static str,
    finalizers: Vec<String>,
}

pub async fn run(args: &UninstallArgs, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let client = cluster.client().clone();
    let mut blocked: Vec<Blocked> = Vec::new();
    let kustomizations_served = cluster.serves(&ObjectRef::new(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        Some("x"),
        "x",
    ));
    if kustomizations_served {
        sweep_kustomizations(&client, &mut blocked).await?;
    }
    if cluster.serves(&ObjectRef::new(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        Some("x"),
        "x",
    )) {
        sweep_helm_releases(&client, &mut blocked).await?;
    }
    // Sources: deleted before their CRDs, so a foreign finalizer on one keeps its CRD.
    remove_sources::<GitRepository>(
        &cluster,
        &client,
        "gitrepositories.source.toolkit.fluxcd.io",
        &mut blocked,
    )
    .await?;
    remove_sources::<HelmRepository>(
        &cluster,
        &client,
        "helmrepositories.source.toolkit.fluxcd.io",
        &mut blocked,
    )
    .await?;
    remove_sources::<HelmChart>(&cluster, &client, "helmcharts.source.toolkit.fluxcd.io", &mut blocked).await?;
    remove_sources::<OCIRepository>(
        &cluster,
        &client,
        "ocirepositories.source.toolkit.fluxcd.io",
        &mut blocked,
    )
    .await?;
    // A generator first: its ExternalArtifacts are owned by it.
    remove_sources::<ArtifactGenerator>(
        &cluster,
        &client,
        "artifactgenerators.source.extensions.fluxcd.io",
        &mut blocked,
    )
    .await?;
    remove_sources::<ExternalArtifact>(
        &cluster,
        &client,
        "externalartifacts.source.toolkit.fluxcd.io",
        &mut blocked,
    )
    .await?;
    // Image automation: the automations first (they write to Git), then what they read.
    remove_sources::<ballast_api::ImageUpdateAutomation>(
        &cluster,
        &client,
        "imageupdateautomations.image.toolkit.fluxcd.io",
        &mut blocked,
    )
    .await?;
    remove_sources::<ballast_api::ImagePolicy>(
        &cluster,
        &client,
        "imagepolicies.image.toolkit.fluxcd.io",
        &mut blocked,
    )
    .await?;
    remove_sources::<ballast_api::ImageRepository>(
        &cluster,
        &client,
        "imagerepositories.image.toolkit.fluxcd.io",
        &mut blocked,
    )
    .await?;
    let mut objects: Vec<ObjectRef> = super::install::manifests(&args.namespace, super::install::DEFAULT_IMAGE)
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
        if r.is_namespace() && (args.keep_namespace || blocked.iter().any(|b| b.namespace == r.name)) {
            continue;
        }
        if r.kind == "CustomResourceDefinition" && r.name == KUSTOMIZATION_CRD && kustomizations_served {
            // Deleting the CRD deletes its objects: one created since the sweep above would be
            // finalized unsuspended. Sweep again right before.
            sweep_kustomizations(&client, &mut blocked).await?;
            if blocked.iter().any(|b| b.crd == KUSTOMIZATION_CRD) {
                println!("◎ {r} kept: objects of this kind wait for another controller's finalizer");
                continue;
            }
        }
        if r.kind == "CustomResourceDefinition" && blocked.iter().any(|b| b.crd == r.name) {
            println!("◎ {r} kept: objects of this kind wait for another controller's finalizer");
            continue;
        }
        if !cluster.serves(&r) {
            continue;
        }
        // Only the object read: one recreated under the same name meanwhile is not deleted.
        let Some(live) = cluster.get(&r).await? else {
            continue;
        };
        match cluster.delete(&r, live["metadata"]["uid"].as_str()).await {
            Ok(true) => println!("✔ {r} deleted"),
            Ok(false) => {}
            Err(e) if e.is_precondition_failed() => println!("◎ {r} kept: recreated while uninstalling"),
            Err(e) => return Err(e.into()),
        }
    }
    if !blocked.is_empty() {
        let list: Vec<String> = blocked
            .iter()
            .map(|b| format!("{} (finalizers: {})", b.what, b.finalizers.join(", ")))
            .collect();
        bail!(
            "uninstall is incomplete: {} still held by another controller's finalizer, which Ballast never removes; \
             let that controller finish (or remove its finalizer yourself), then run `ballast uninstall` again",
            list.join("; ")
        );
    }
    Ok(0)
}

/// The Kustomization CRD.
const KUSTOMIZATION_CRD: &str = "kustomizations.kustomize.toolkit.fluxcd.io";

/// Suspends every Kustomization, then deletes each and takes Flux's finalizer off it; those held
/// by another finalizer are added to `blocked`. Repeats (a few times) while new ones appear.
async fn sweep_kustomizations(client: &kube::Client, blocked: &mut Vec<Blocked>) -> Result<()> {
    let api: Api<Kustomization> = Api::all(client.clone());
    for _ in 0..PASSES {
        let items: Vec<Kustomization> = api
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter(|ks| !blocked.iter().any(|b| b.what == describe(ks)))
            .collect();
        if items.is_empty() {
            break;
        }
        // Every Kustomization is suspended before any is deleted (one already being deleted
        // too: uninstalling never prunes).
        for ks in &items {
            let nsd: Api<Kustomization> = Api::namespaced(client.clone(), &ks.namespace().unwrap_or_default());
            if ks.spec.suspend != Some(true) {
                let patch = json!({"spec": {"suspend": true}});
                nsd.patch(&ks.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
            }
        }
        for ks in &items {
            let nsd: Api<Kustomization> = Api::namespaced(client.clone(), &ks.namespace().unwrap_or_default());
            match remove(&nsd, ks, KUSTOMIZATION_CRD).await? {
                None => println!("✔ {} deleted (suspended first: workloads kept)", describe(ks)),
                Some(b) => blocked.push(b),
            }
        }
    }
    Ok(())
}

/// The HelmRelease CRD.
const HELM_RELEASE_CRD: &str = "helmreleases.helm.toolkit.fluxcd.io";

/// Every HelmRelease suspended, then deleted: a controller finalizing a suspended HelmRelease
/// leaves its release installed, so no workload is uninstalled.
async fn sweep_helm_releases(client: &kube::Client, blocked: &mut Vec<Blocked>) -> Result<()> {
    let api: Api<HelmRelease> = Api::all(client.clone());
    let items = api.list(&ListParams::default()).await?.items;
    for hr in &items {
        if hr.spec.suspend != Some(true) {
            let nsd: Api<HelmRelease> = Api::namespaced(client.clone(), &hr.namespace().unwrap_or_default());
            let patch = json!({"spec": {"suspend": true}});
            nsd.patch(&hr.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
    }
    for hr in &items {
        let nsd: Api<HelmRelease> = Api::namespaced(client.clone(), &hr.namespace().unwrap_or_default());
        match remove(&nsd, hr, HELM_RELEASE_CRD).await? {
            None => println!("✔ {} deleted (suspended first: release kept)", describe(hr)),
            Some(b) => blocked.push(b),
        }
    }
    Ok(())
}

/// Deletes every object of source kind `K` (its CRD named `crd`; any group), if the cluster
/// serves it;
/// those held by another finalizer are added to `blocked`.
async fn remove_sources<K>(
    cluster: &ballast_kube::Cluster,
    client: &kube::Client,
    crd: &'static str,
    blocked: &mut Vec<Blocked>,
) -> Result<()>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let kind = K::kind(&());
    let api_version = K::api_version(&());
    if !cluster.serves(&ObjectRef::new(&api_version, &kind, Some("x"), "x")) {
        return Ok(());
    }
    let api: Api<K> = Api::all(client.clone());
    for r in api.list(&ListParams::default()).await?.items {
        let nsd: Api<K> = Api::namespaced(client.clone(), &r.meta().namespace.clone().unwrap_or_default());
        match remove(&nsd, &r, crd).await? {
            None => println!("✔ {} deleted", describe(&r)),
            Some(b) => blocked.push(b),
        }
    }
    Ok(())
}

/// `Kind/namespace/name`.
fn describe<K: Resource<DynamicType = ()>>(o: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        o.meta().namespace.as_deref().unwrap_or_default(),
        o.meta().name.as_deref().unwrap_or_default()
    )
}

/// Deletes `o` and takes Flux's finalizer off it (a running controller may put it back or take
/// it off itself at any moment, so this looks again until the object is gone or only other
/// finalizers hold it). `None` when the object is gone.
async fn remove<K>(api: &Api<K>, o: &K, crd: &'static str) -> Result<Option<Blocked>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let name = o.name_any();
    if o.meta().deletion_timestamp.is_none() {
        // Only the object read: one recreated under the same name meanwhile is not deleted.
        let dp = DeleteParams {
            preconditions: Some(kube::api::Preconditions {
                uid: o.meta().uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::background()
        };
        match api.delete(&name, &dp).await {
            Ok(_) => {}
            // 409: the name now holds another object; the one read is gone.
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let Some(live) = api.get_opt(&name).await? else {
            return Ok(None);
        };
        let finalizers = live.finalizers().to_vec();
        let others: Vec<String> = finalizers.iter().filter(|f| *f != FLUX_FINALIZER).cloned().collect();
        if finalizers.iter().any(|f| f == FLUX_FINALIZER) {
            // The resourceVersion makes this a compare-and-swap: another controller's finalizer
            // added meanwhile is never dropped.
            let patch = json!({"metadata": {"finalizers": others, "resourceVersion": live.resource_version()}});
            match api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) | Err(kube::Error::Api(_)) => {}
                Err(e) => return Err(e.into()),
            }
        } else if !others.is_empty() {
            return Ok(Some(Blocked {
                what: describe(&live),
                namespace: live.namespace().unwrap_or_default(),
                crd,
                finalizers: others,
            }));
        }
        if std::time::Instant::now() > deadline {
            bail!("{}: still present after 30s", describe(&live));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
