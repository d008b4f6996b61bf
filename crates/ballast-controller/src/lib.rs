//! Ballast's controller: Flux-compatible `GitRepository` and `Kustomization` reconcilers, and
//! `HelmChart` and `HelmRelease` reconcilers when the cluster serves their CRDs.
//!
//! - A GitRepository is fetched every `interval` (and on spec changes and reconcile requests);
//!   its artifact is a directory in the local content-addressed cache.
//! - A Kustomization reconciles every `interval`, on spec changes, on
//!   `reconcile.fluxcd.io/requestedAt`, as soon as its GitRepository has a new artifact, when a
//!   dependency becomes Ready, and when an object it owns drifts (see [`drift`]).
//! - Status writes do not trigger reconciles: the watches pass on a change of generation,
//!   annotations, finalizers or deletion only ([`schedule`] adds jitter to every requeue and a
//!   floor of [`schedule::MIN_INTERVAL`] to intervals).
//! - Reconciles run concurrently (bounded); one slow or failing object never blocks the others.
//! - With leader election, only the holder of the Lease runs reconcilers; losing the lease ends
//!   [`run`] with an error so the process restarts clean.
//! - Every failed reconcile is logged on stderr with the object (`Kind ns/name: error`); every
//!   watch failure is logged, and a watch failing for longer than
//!   [`ControllerOptions::watch_unready_after`] turns `/readyz` red until it works again.
//! - GitRepositories with `file://` URLs are refused unless
//!   [`ControllerOptions::allow_file_sources`] is set.
//! - A HelmChart reconciles every `interval`, on spec changes and reconcile requests, and when
//!   its GitRepository has a new artifact or its HelmRepository changes; a HelmRelease every
//!   `interval`, on spec and annotation changes, when its HelmChart or OCIRepository has a new
//!   artifact, when a dependency becomes Ready, and when an object of its release drifts.
//! - Chart sources: a HelmRepository's index is read every `interval` and stored as an artifact
//!   ([`helm_repository`]); an OCIRepository's layer likewise ([`oci_repository`]), and a
//!   Kustomization whose `sourceRef` is an OCIRepository follows its artifact as it follows a
//!   GitRepository's.
//! - Notifications ([`notification`]): every event a reconciler records is also queued for the
//!   matching Alerts and sent to their Providers off the reconcile path; with
//!   [`ControllerOptions::webhook_addr`], Receivers' webhooks ask their resources to reconcile.
//! - Source composition (Flux 2.7): an ArtifactGenerator runs whenever one of its sources has a
//!   new artifact and publishes ExternalArtifacts ([`artifact_generator`]), which Kustomizations
//!   follow as they follow an OCIRepository.
//! - Image automation, when the cluster serves `image.toolkit.fluxcd.io/v1`: ImageRepositories
//!   scan tags every `interval` ([`image_repository`]); an ImagePolicy chooses again when its
//!   repository's scan changes ([`image_policy`]); an ImageUpdateAutomation runs every
//!   `interval` and when a policy of its namespace chooses a new image ([`image_update`]).

pub mod app_project;
pub mod application;
pub mod argo_apply;
pub mod argo_chart;
pub mod argo_cluster;
pub mod argo_ignore;
pub mod argo_jsonnet;
pub mod argo_render;
pub mod argo_retry;
pub mod argo_rollout;
pub mod argo_sources;
pub mod argo_ssh;
pub mod argo_sync;
pub mod argo_tracking;
mod artifact_copy;
pub mod artifact_generator;
pub mod auto_rollback;
pub mod chart_source;
mod context;
pub mod drift;
mod error;
pub mod git_repository;
pub mod health_exprs;
pub mod health_wait;
pub mod helm_chart;
pub mod helm_release;
pub mod helm_repository;
mod http;
mod image_message;
pub mod image_policy;
pub mod image_repository;
pub mod image_update;
pub mod kustomization;
pub mod leader;
mod metrics;
pub mod notification;
pub mod oci_repository;
pub mod post_build;
pub mod render_cache;
pub mod schedule;
pub mod sealed_secret;
pub mod shared_resource;
pub mod source_mirror;
mod status;
pub mod sync_gate;
pub mod sync_window;
pub mod tenant;
pub mod watch_health;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ballast_api::{
    ArtifactGenerator, ExternalArtifact, GitRepository, HelmChart, HelmRelease, HelmRepository, Kustomization,
    OCIRepository,
};
use ballast_kube::Cluster;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef as KubeRef;
use kube::runtime::{WatchStreamExt, reflector, watcher};

pub use context::Context;
pub use error::ReconcileError;
pub use metrics::Metrics;

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct ControllerOptions {
    /// Git cache directory.
    pub cache_dir: PathBuf,
    /// Reconciles in flight at once, per kind.
    pub concurrency: u16,
    /// Address of `/healthz`, `/readyz`, `/metrics`.
    pub metrics_addr: SocketAddr,
    /// Elect a leader through a Lease (off: this process always acts).
    pub leader_election: bool,
    /// Namespace of the Lease.
    pub lease_namespace: String,
    /// This replica's identity (Lease holder, event reporter instance).
    pub identity: String,
    /// Reconcile only objects in this namespace (default: all namespaces).
    pub watch_namespace: Option<String>,
    /// The deletion budget of every Kustomization that does not set its own
    /// (`ballast.dev/prune-budget` annotation).
    pub prune_budget: ballast_apply::PruneBudget,
    /// Accept GitRepositories with `file://` URLs (refused by default: they read this machine's
    /// files).
    pub allow_file_sources: bool,
    /// ServiceAccount a Kustomization without `spec.serviceAccountName` acts as (`None`: the
    /// controller itself).
    pub default_service_account: Option<String>,
    /// Largest Git tree accepted, in bytes.
    pub max_artifact_size: u64,
    /// A watch failing this long makes `/readyz` fail.
    pub watch_unready_after: Duration,
    /// Mirrors of chart sources' URLs (`--source-mirror`, see [`source_mirror`]).
    pub source_mirrors: source_mirror::SourceMirrors,
    /// Address of the Receivers' webhook server (`--webhook-addr`; off when `None`).
    pub webhook_addr: Option<SocketAddr>,
    /// SealedSecret keys: namespace, renewal, size (see [`sealed_secret`]).
    pub sealed_secret_keys: sealed_secret::KeyOptions,
}

/// Why the controller stopped.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The health/metrics listener could not start.
    #[error("cannot serve probes on {addr}: {source}")]
    Listen {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Leader election failed or the lease was lost.
    #[error("leader election: {0}")]
    Leadership(String),
    /// The CRDs are not installed.
    #[error("the cluster does not serve {0}; install the CRDs first with `ballast install`")]
    MissingCrds(String),
}

/// Runs the controllers until SIGTERM/SIGINT (then returns `Ok`) or until leadership is lost.
pub async fn run(cluster: Cluster, options: ControllerOptions) -> Result<(), ControllerError> {
    for (api_version, kind) in [
        ("source.toolkit.fluxcd.io/v1", "GitRepository"),
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
        ("source.toolkit.fluxcd.io/v1", "HelmRepository"),
        ("source.toolkit.fluxcd.io/v1", "OCIRepository"),
        ("source.toolkit.fluxcd.io/v1", "ExternalArtifact"),
        ("source.extensions.fluxcd.io/v1beta1", "ArtifactGenerator"),
    ] {
        if !cluster.serves(&ballast_core::ObjectRef::new(api_version, kind, Some("default"), "x")) {
            return Err(ControllerError::MissingCrds(format!("{api_version} {kind}")));
        }
    }
    let metrics = Metrics::default();
    metrics.count_requests(cluster.requests().clone());
    metrics.watch_flow(cluster.flow().clone());
    let ready = Arc::new(AtomicBool::new(false));
    let health = watch_health::WatchHealth::new(options.watch_unready_after);
    let cert = sealed_secret::CertSlot::default();
    let probe = http::Probe {
        ready: ready.clone(),
        metrics: metrics.clone(),
        watches: health.clone(),
        cert: cert.clone(),
    };
    let addr = http::serve(options.metrics_addr, probe)
        .await
        .map_err(|source| ControllerError::Listen {
            addr: options.metrics_addr,
            source,
        })?;
    eprintln!(
        "ballast controller {}: probes and metrics on http://{addr}",
        options.identity
    );

    let lease = options.leader_election.then(|| leader::LeaseConfig {
        namespace: options.lease_namespace.clone(),
        name: "ballast-controller-leader".into(),
        identity: options.identity.clone(),
        duration: Duration::from_secs(15),
        renew: Duration::from_secs(2),
    });
    if let Some(cfg) = &lease {
        let api: Api<Lease> = Api::namespaced(cluster.client().clone(), &cfg.namespace);
        let mut said = false;
        loop {
            match leader::try_acquire(&api, cfg).await {
                Ok(true) => break,
                Ok(false) if !said => {
                    eprintln!("waiting for the lease {}/{}", cfg.namespace, cfg.name);
                    said = true;
                }
                Ok(false) => {}
                Err(e) => eprintln!("lease {}/{}: {e}", cfg.namespace, cfg.name),
            }
            tokio::time::sleep(cfg.renew).await;
        }
        eprintln!("acquired the lease {}/{}", cfg.namespace, cfg.name);
    }

    let (trigger, triggers) = tokio::sync::mpsc::unbounded_channel();
    let mut ctx = Context::new(
        cluster,
        options.cache_dir.clone(),
        metrics,
        trigger,
        &options.identity,
        health.clone(),
    );
    ctx.allow_file_sources = options.allow_file_sources;
    ctx.default_service_account = options.default_service_account.clone();
    ctx.source_mirrors = Arc::new(options.source_mirrors.clone());
    ctx.max_artifact_size = options.max_artifact_size;
    ctx.prune_budget = options.prune_budget;
    ctx.own_namespace = options.lease_namespace.clone();
    let ctx = Arc::new(ctx);
    let client = ctx.client.clone();
    let (repos, kustomizations): (Api<GitRepository>, Api<Kustomization>) = match &options.watch_namespace {
        Some(ns) => (Api::namespaced(client.clone(), ns), Api::namespaced(client.clone(), ns)),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let config = controller::Config::default().concurrency(options.concurrency);

    let repo_controller = controller_of(repos.clone(), &health, "GitRepository", &config);
    let repo_controller = repo_controller.run_logged(git_repository::reconcile, &ctx, "GitRepository");

    let ks_controller = controller_of(kustomizations, &health, "Kustomization", &config);
    let store = ks_controller.store();
    let _ = ctx.kustomizations.set(store.clone());
    // Only a new artifact concerns a Kustomization, not the source's progress conditions. The
    // cache a Kustomization reads its source's revision from (to decide that nothing changed) is
    // this watch's own: it is updated before the event triggers the Kustomizations, so a
    // reconcile triggered by a new artifact always sees it (another watch's cache could lag and
    // let the reconcile conclude "unchanged", losing the push until the next interval).
    let (source_cache, source_writer) = reflector::store();
    let _ = ctx.git_repositories.set(source_cache);
    let sources = watched(repos, &health, "GitRepository (Kustomization sources)")
        .reflect(source_writer)
        .touched_objects()
        .predicate_filter(artifact_revision, Default::default());
    let oci_sources: Api<OCIRepository> = match &options.watch_namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let oci_sources = watched(oci_sources, &health, "OCIRepository (Kustomization sources)")
        .touched_objects()
        .predicate_filter(oci_artifact, Default::default());
    let external: Api<ExternalArtifact> = match &options.watch_namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let external = watched(external, &health, "ExternalArtifact (Kustomization sources)")
        .touched_objects()
        .predicate_filter(
            |ea: &ExternalArtifact| revision_hash(ea.status.as_ref().and_then(|s| s.artifact.as_ref())),
            Default::default(),
        );
    let ks_for_external = store.clone();
    let ks_controller = ks_controller.watches_stream(external, move |ea: ExternalArtifact| {
        using_source(&ks_for_external, "ExternalArtifact", &ea)
    });
    let ks_for_oci = store.clone();
    let ks_controller = ks_controller.watches_stream(oci_sources, move |repo: OCIRepository| {
        using_source(&ks_for_oci, "OCIRepository", &repo)
    });
    let ks_controller = ks_controller
        .watches_stream(sources, move |repo: GitRepository| {
            // A source changed (new artifact, most likely): every Kustomization using it.
            let ns = repo.metadata.namespace.clone().unwrap_or_default();
            let name = repo.metadata.name.clone().unwrap_or_default();
            store
                .state()
                .into_iter()
                .filter(|ks| {
                    let own = ks.metadata.namespace.clone().unwrap_or_default();
                    ks.spec.source_ref.kind == "GitRepository"
                        && ks.spec.source_ref.name == name
                        && ks.spec.source_ref.namespace.clone().unwrap_or(own) == ns
                })
                .map(|ks| KubeRef::from_obj(&*ks))
                .collect::<Vec<_>>()
        })
        .reconcile_on(tokio_stream(triggers))
        .run_logged(kustomization::reconcile, &ctx, "Kustomization");

    let mut controllers: Vec<futures::future::BoxFuture<'static, ()>> =
        vec![repo_controller.boxed(), ks_controller.boxed()];
    controllers.extend(helm_controllers(&ctx, &options, &health, config_for(&options)));
    controllers.extend(image_controllers(&ctx, &options, &health, config_for(&options)));
    // Argo CD's API: a separate controller, only when the cluster serves it.
    controllers.extend(argo_controllers(&ctx, &options, &health, config_for(&options)));
    // Bitnami's SealedSecret, when the cluster serves it.
    controllers.extend(sealed_secret_controllers(
        &ctx,
        &options,
        &health,
        config_for(&options),
        cert,
    ));
    // Notifications: Alerts out, Receivers in.
    controllers.extend(notification::controllers(&ctx, &options, &health, config_for(&options)).await?);

    // --- Chart sources: HelmRepository, OCIRepository ---
    {
        let (helm_repos, oci_repos): (Api<HelmRepository>, Api<OCIRepository>) = match &options.watch_namespace {
            Some(ns) => (Api::namespaced(client.clone(), ns), Api::namespaced(client.clone(), ns)),
            None => (Api::all(client.clone()), Api::all(client.clone())),
        };
        let helm_controller = controller_of(helm_repos, &health, "HelmRepository", &config).run_logged(
            helm_repository::reconcile,
            &ctx,
            "HelmRepository",
        );
        controllers.push(helm_controller.boxed());
        let oci_controller = controller_of(oci_repos, &health, "OCIRepository", &config).run_logged(
            oci_repository::reconcile,
            &ctx,
            "OCIRepository",
        );
        controllers.push(oci_controller.boxed());
    }
    // --- end chart sources ---

    // --- Source composition: ArtifactGenerator -> ExternalArtifact ---
    {
        let generators: Api<ArtifactGenerator> = match &options.watch_namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let (git, oci): (Api<GitRepository>, Api<OCIRepository>) = match &options.watch_namespace {
            Some(ns) => (Api::namespaced(client.clone(), ns), Api::namespaced(client.clone(), ns)),
            None => (Api::all(client.clone()), Api::all(client.clone())),
        };
        let gen_controller = controller_of(generators, &health, "ArtifactGenerator", &config);
        let gen_store = gen_controller.store();
        let git_sources = watched(git, &health, "GitRepository (ArtifactGenerator sources)")
            .touched_objects()
            .predicate_filter(artifact_revision, Default::default());
        let oci_sources = watched(oci, &health, "OCIRepository (ArtifactGenerator sources)")
            .touched_objects()
            .predicate_filter(oci_artifact, Default::default());
        let for_git = gen_store.clone();
        let for_oci = gen_store;
        let gen_controller = gen_controller
            .watches_stream(git_sources, move |repo: GitRepository| {
                generators_using(&for_git, "GitRepository", &repo)
            })
            .watches_stream(oci_sources, move |repo: OCIRepository| {
                generators_using(&for_oci, "OCIRepository", &repo)
            })
            .run_logged(artifact_generator::reconcile, &ctx, "ArtifactGenerator");
        controllers.push(gen_controller.boxed());
    }
    // --- end source composition ---

    ready.store(true, Ordering::Relaxed);
    let controllers = futures::future::join_all(controllers);
    match lease {
        None => {
            controllers.await;
            Ok(())
        }
        Some(cfg) => {
            let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
            let keep = keep_lease(api.clone(), cfg.clone());
            tokio::select! {
                _ = controllers => {
                    ready.store(false, Ordering::Relaxed);
                    release(&api, &cfg).await;
                    Ok(())
                }
                e = keep => Err(e),
            }
        }
    }
}

fn config_for(options: &ControllerOptions) -> controller::Config {
    controller::Config::default().concurrency(options.concurrency)
}

fn serves(ctx: &Context, api_version: &str, kind: &str) -> bool {
    ctx.cluster
        .serves(&ballast_core::ObjectRef::new(api_version, kind, Some("default"), "x"))
}

/// The HelmChart and HelmRelease controllers, for the CRDs the cluster serves (a missing one is
/// logged once and its controller not started).
fn helm_controllers(
    ctx: &Arc<Context>,
    options: &ControllerOptions,
    health: &watch_health::WatchHealth,
    config: controller::Config,
) -> Vec<futures::future::BoxFuture<'static, ()>> {
    let mut out: Vec<futures::future::BoxFuture<'static, ()>> = Vec::new();
    let client = ctx.client.clone();
    let ns = &options.watch_namespace;
    let charts_served = serves(ctx, "source.toolkit.fluxcd.io/v1", "HelmChart");
    if !charts_served {
        eprintln!(
            "the cluster does not serve source.toolkit.fluxcd.io/v1 HelmChart: HelmChart and HelmRelease controllers not started"
        );
        return out;
    }
    // One watch of HelmCharts, one cache: the HelmChart controller and the HelmRelease
    // trigger (below) both read it, each through its own predicate. The cache is written
    // before either hears of a change, so a HelmRelease reconcile asked for by a new artifact
    // sees it.
    let (store, chart_writer) = reflector::store_shared::<HelmChart>(SHARED_EVENTS_BUFFER);
    let (Some(for_charts), Some(for_releases)) = (chart_writer.subscribe(), chart_writer.subscribe()) else {
        eprintln!(
            "HelmChart watch: the shared cache takes no subscriber: HelmChart and HelmRelease controllers not started"
        );
        return out;
    };
    // Driven with the HelmChart controller, and dropped when it ends (the shutdown signal).
    let chart_watch = watched(api::<HelmChart>(&client, ns), health, "HelmChart")
        .reflect_shared(chart_writer)
        .for_each(|_| futures::future::ready(()));
    let chart_changes =
        changed_only(for_charts, asks_for_reconcile).filter_map(|c| futures::future::ready(c.ok().map(Arc::new)));
    let chart_controller =
        unthrottled(Controller::for_shared_stream(chart_changes, store.clone())).with_config(config.clone());
    let git_sources = watched(
        api::<GitRepository>(&client, ns),
        health,
        "GitRepository (HelmChart sources)",
    )
    .touched_objects()
    .predicate_filter(artifact_revision, Default::default());
    let s1 = store.clone();
    let mut chart_controller = chart_controller.watches_stream(git_sources, move |repo: GitRepository| {
        let state = s1.state();
        helm_chart::charts_of_source(
            state.iter().map(|c| &**c),
            "GitRepository",
            &repo.namespace().unwrap_or_default(),
            &repo.name_any(),
        )
    });
    if serves(ctx, "source.toolkit.fluxcd.io/v1", "HelmRepository") {
        let repos = watched(
            api::<HelmRepository>(&client, ns),
            health,
            "HelmRepository (HelmChart sources)",
        )
        .touched_objects()
        .predicate_filter(helm_repository_changed, Default::default());
        let s2 = store.clone();
        chart_controller = chart_controller.watches_stream(repos, move |repo: HelmRepository| {
            let state = s2.state();
            helm_chart::charts_of_source(
                state.iter().map(|c| &**c),
                "HelmRepository",
                &repo.namespace().unwrap_or_default(),
                &repo.name_any(),
            )
        });
    }
    let chart_run = chart_controller.run_logged(helm_chart::reconcile, ctx, "HelmChart");
    out.push(
        futures::future::select(chart_run.boxed(), chart_watch.boxed())
            .map(|_| ())
            .boxed(),
    );
    let chart_store = store;

    if !serves(ctx, "helm.toolkit.fluxcd.io/v2", "HelmRelease") {
        eprintln!(
            "the cluster does not serve helm.toolkit.fluxcd.io/v2 HelmRelease: HelmRelease controller not started"
        );
        return out;
    }
    // Its own predicate: the finalizer and status writes ask for no reconcile.
    let hr_controller = controller_with(
        api::<HelmRelease>(&client, ns),
        health,
        "HelmRelease",
        &config,
        helm_release::asks_for_reconcile,
    );
    let store = hr_controller.store();
    let (trigger, triggers) = tokio::sync::mpsc::unbounded_channel();
    let drift = drift::DriftWatch::with_selector(
        ctx.cluster.clone(),
        trigger.clone(),
        health.clone(),
        drift::HELM_MANAGED_LABEL,
    )
    .with_manager(ballast_release::HELM_FIELD_MANAGER);
    let started = jiff::Timestamp::now();
    let _ = ctx.helm.set(helm_release::HelmParts {
        drift,
        trigger,
        store: store.clone(),
        started,
        charts: chart_store,
        written: Default::default(),
    });
    let charts = changed_only(for_releases, chart_artifact);
    let s1 = store.clone();
    let mut hr_controller = hr_controller.watches_stream(charts, move |chart: HelmChart| {
        helm_release::releases_of_source(
            &s1,
            "HelmChart",
            &chart.namespace().unwrap_or_default(),
            &chart.name_any(),
        )
    });
    if serves(ctx, "source.toolkit.fluxcd.io/v1", "OCIRepository") {
        let repos = watched(
            api::<OCIRepository>(&client, ns),
            health,
            "OCIRepository (HelmRelease sources)",
        )
        .touched_objects()
        .predicate_filter(oci_artifact, Default::default());
        let s2 = store.clone();
        hr_controller = hr_controller.watches_stream(repos, move |repo: OCIRepository| {
            helm_release::releases_of_source(
                &s2,
                "OCIRepository",
                &repo.namespace().unwrap_or_default(),
                &repo.name_any(),
            )
        });
    }
    out.push(
        hr_controller
            .reconcile_on(tokio_stream(triggers))
            .run_logged(helm_release::reconcile, ctx, "HelmRelease")
            .boxed(),
    );
    out
}

/// The image automation controllers (ImageRepository, ImagePolicy, ImageUpdateAutomation),
/// when the cluster serves `image.toolkit.fluxcd.io/v1` (else logged once and not started).
fn image_controllers(
    ctx: &Arc<Context>,
    options: &ControllerOptions,
    health: &watch_health::WatchHealth,
    config: controller::Config,
) -> Vec<futures::future::BoxFuture<'static, ()>> {
    use ballast_api::image::{IMAGE_API_VERSION, ImagePolicy, ImageRepository, ImageUpdateAutomation};
    if !serves(ctx, IMAGE_API_VERSION, "ImageUpdateAutomation") {
        eprintln!("the cluster does not serve {IMAGE_API_VERSION} ImageUpdateAutomation: image automation not started");
        return Vec::new();
    }
    let client = ctx.client.clone();
    let ns = &options.watch_namespace;
    let mut out: Vec<futures::future::BoxFuture<'static, ()>> = Vec::new();

    let repos = controller_of(api::<ImageRepository>(&client, ns), health, "ImageRepository", &config).run_logged(
        image_repository::reconcile,
        ctx,
        "ImageRepository",
    );
    out.push(repos.boxed());

    let policies = controller_of(api::<ImagePolicy>(&client, ns), health, "ImagePolicy", &config);
    let policy_store = policies.store();
    let scans = watched(
        api::<ImageRepository>(&client, ns),
        health,
        "ImageRepository (ImagePolicy sources)",
    )
    .touched_objects()
    .predicate_filter(
        |r: &ImageRepository| {
            hash_of(
                r.status
                    .as_ref()
                    .and_then(|s| s.last_scan_result.as_ref())
                    .map(|s| &s.revision),
            )
        },
        Default::default(),
    );
    let policies = policies
        .watches_stream(scans, move |repo: ImageRepository| {
            image_policy::policies_of(&policy_store, &repo)
        })
        .run_logged(image_policy::reconcile, ctx, "ImagePolicy");
    out.push(policies.boxed());

    let automations = controller_of(
        api::<ImageUpdateAutomation>(&client, ns),
        health,
        "ImageUpdateAutomation",
        &config,
    );
    let auto_store = automations.store();
    let chosen = watched(
        api::<ImagePolicy>(&client, ns),
        health,
        "ImagePolicy (ImageUpdateAutomation sources)",
    )
    .touched_objects()
    .predicate_filter(
        |p: &ImagePolicy| hash_of(p.status.as_ref().and_then(|s| s.latest())),
        Default::default(),
    );
    let automations = automations
        .watches_stream(chosen, move |policy: ImagePolicy| {
            image_update::automations_for(&auto_store, &policy)
        })
        .run_logged(image_update::reconcile, ctx, "ImageUpdateAutomation");
    out.push(automations.boxed());
    out
}

/// The Argo CD `Application` controller, when the cluster serves `applications.argoproj.io`
/// (else logged once and not started). Kept apart from the Flux controllers: it shares only the
/// context (cluster, Git cache, events).
fn argo_controllers(
    ctx: &Arc<Context>,
    options: &ControllerOptions,
    health: &watch_health::WatchHealth,
    config: controller::Config,
) -> Vec<futures::future::BoxFuture<'static, ()>> {
    use ballast_api::Application;
    if !serves(ctx, ballast_api::argo::ARGO_API_VERSION, "Application") {
        eprintln!("the cluster does not serve argoproj.io/v1alpha1 Application: Application controller not started");
        return Vec::new();
    }
    let api: Api<Application> = match &options.watch_namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    let (store, writer) = reflector::store();
    let (trigger, triggers) = tokio::sync::mpsc::unbounded_channel();
    let drift = drift::DriftWatch::with_selector(ctx.cluster.clone(), trigger, health.clone(), application::APP_LABEL);
    let _ = ctx.argo.set(application::ArgoParts { drift });
    let apps = store.clone();
    let mut controller = unthrottled(Controller::for_stream(
        watched(api, health, "Application")
            .reflect(writer)
            .applied_objects()
            .predicate_filter(application::asks_for_reconcile, Default::default()),
        store,
    ));
    // A changed AppProject (restrictions, sync windows) concerns the Applications using it.
    if serves(ctx, ballast_api::argo::ARGO_API_VERSION, "AppProject") {
        let projects: Api<ballast_api::argo::AppProject> = match &options.watch_namespace {
            Some(ns) => Api::namespaced(ctx.client.clone(), ns),
            None => Api::all(ctx.client.clone()),
        };
        controller = controller.watches_stream(
            watched(projects, health, "AppProject").touched_objects(),
            move |p: ballast_api::argo::AppProject| app_project::applications_of(&apps.state(), &p),
        );
    }
    let controller = controller
        .with_config(config)
        .reconcile_on(tokio_stream(triggers))
        .run_logged(application::reconcile, ctx, "Application");
    vec![controller.boxed()]
}

/// The SealedSecret controller and its key keeper, when the cluster serves
/// `sealedsecrets.bitnami.com` (else logged once and not started).
fn sealed_secret_controllers(
    ctx: &Arc<Context>,
    options: &ControllerOptions,
    health: &watch_health::WatchHealth,
    config: controller::Config,
    cert: sealed_secret::CertSlot,
) -> Vec<futures::future::BoxFuture<'static, ()>> {
    use ballast_api::SealedSecret;
    if !serves(ctx, ballast_seal::API_VERSION, "SealedSecret") {
        eprintln!("the cluster does not serve bitnami.com/v1alpha1 SealedSecret: SealedSecret controller not started");
        return Vec::new();
    }
    let ring = Arc::new(sealed_secret::KeyRing::new(
        ctx.client.clone(),
        options.sealed_secret_keys.clone(),
        cert,
    ));
    let _ = ctx.sealing.set(ring.clone());
    // Ends with the process, not with the controllers: it only sleeps between key checks.
    tokio::spawn(ring.run());
    // A Secret edited or deleted concerns its owner at once (metadata only: the watch holds no
    // Secret data).
    let secrets = watched(
        api::<kube::core::PartialObjectMeta<k8s_openapi::api::core::v1::Secret>>(&ctx.client, &options.watch_namespace),
        health,
        "Secret (SealedSecret outputs)",
    )
    .touched_objects();
    let controller = controller_of(
        api::<SealedSecret>(&ctx.client, &options.watch_namespace),
        health,
        "SealedSecret",
        &config,
    )
    .owns_stream(secrets)
    .run_logged(sealed_secret::reconcile, ctx, "SealedSecret");
    vec![controller.boxed()]
}

/// A HelmRepository's spec and index revision: either changing concerns its HelmCharts.
fn helm_repository_changed(repo: &HelmRepository) -> Option<u64> {
    hash_of((
        repo.metadata.generation,
        repo.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| &a.revision),
    ))
}

/// The digest of a HelmChart's artifact.
fn chart_artifact(chart: &HelmChart) -> Option<u64> {
    revision_hash(chart.status.as_ref().and_then(|s| s.artifact.as_ref()))
}

/// The digest of an OCIRepository's artifact.
fn oci_artifact(repo: &OCIRepository) -> Option<u64> {
    revision_hash(repo.status.as_ref().and_then(|s| s.artifact.as_ref()))
}

/// Renews the lease until it is lost; returns why.
async fn keep_lease(api: Api<Lease>, cfg: leader::LeaseConfig) -> ControllerError {
    let mut last_ok = std::time::Instant::now();
    loop {
        tokio::time::sleep(cfg.renew).await;
        match leader::try_acquire(&api, &cfg).await {
            Ok(true) => last_ok = std::time::Instant::now(),
            Ok(false) => {
                return ControllerError::Leadership(format!(
                    "lease {}/{} taken by another replica",
                    cfg.namespace, cfg.name
                ));
            }
            Err(e) if last_ok.elapsed() > cfg.duration => {
                return ControllerError::Leadership(format!("could not renew the lease for {:?}: {e}", cfg.duration));
            }
            Err(_) => {}
        }
    }
}

/// Gives the lease up on a clean shutdown so another replica takes over at once.
async fn release(api: &Api<Lease>, cfg: &leader::LeaseConfig) {
    let patch = serde_json::json!({"spec": {"holderIdentity": null}});
    let _ = api
        .patch(
            &cfg.name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await;
}

/// `K` in the watched namespace, or in all namespaces.
fn api<K>(client: &kube::Client, ns: &Option<String>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The controller of `K` most kinds use: a watch of `api` (its health reported as `what`)
/// into a reflector store, an object passed on only when [`asks_for_reconcile`] sees a change.
pub(crate) fn controller_of<K>(
    api: Api<K>,
    health: &watch_health::WatchHealth,
    what: &'static str,
    config: &controller::Config,
) -> Controller<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    controller_with(api, health, what, config, asks_for_reconcile)
}

/// [`controller_of`] with another predicate: an object is passed on when `changed` gives a new
/// value for it.
pub(crate) fn controller_with<K>(
    api: Api<K>,
    health: &watch_health::WatchHealth,
    what: &'static str,
    config: &controller::Config,
    changed: fn(&K) -> Option<u64>,
) -> Controller<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (store, writer) = reflector::store();
    unthrottled(Controller::for_stream(
        watched(api, health, what)
            .reflect(writer)
            .applied_objects()
            .predicate_filter(changed, Default::default()),
        store,
    ))
    .with_config(config.clone())
}

/// The backoff of a controller's merged trigger stream (its own watch and the watches that
/// trigger it): none, so that one watch's failures never hold back another's events. Each watch
/// backs off on its own ([`watched`], client-go's schedule); kube-runtime's default would also
/// pause the whole merged stream after any of them failed (0.8 s, doubling up to 30 s): a watch
/// of a kind the cluster refuses (not served, not allowed, a proxy in the way) would delay every
/// change of the controller's own objects, and the first report of the controller's own watch
/// failing, by up to that long.
#[derive(Clone, Copy, Debug)]
struct NoTriggerBackoff;

impl Iterator for NoTriggerBackoff {
    type Item = Duration;
    /// Always a zero pause: the merged stream is read again at once (never "given up").
    fn next(&mut self) -> Option<Duration> {
        Some(Duration::ZERO)
    }
}

impl kube::runtime::utils::Backoff for NoTriggerBackoff {
    fn reset(&mut self) {}
}

/// `controller` with [`NoTriggerBackoff`]: every controller is built through this.
fn unthrottled<K>(controller: Controller<K>) -> Controller<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    controller.trigger_backoff(NoTriggerBackoff)
}

/// Events a shared watch cache buffers for its slowest subscriber.
const SHARED_EVENTS_BUFFER: usize = 256;

/// The objects of a shared watch's subscription passed on only when `changed` gives a new value
/// for them, as [`WatchStreamExt::predicate_filter`] does for a watch of its own (the same
/// cache of the last value per object, kept an hour after an object was last seen).
fn changed_only<K>(
    objects: impl futures::Stream<Item = Arc<K>> + Send + 'static,
    changed: fn(&K) -> Option<u64>,
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: kube::Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    objects
        .map(|o| Ok::<K, watcher::Error>(K::clone(&o)))
        .predicate_filter(changed, Default::default())
}

/// Running a controller until the shutdown signal, every failed reconcile logged.
pub(crate) trait RunLogged<K> {
    /// Runs `reconcile` for each object (errors requeued by [`error_policy`]), logging failures
    /// as `kind`.
    fn run_logged<F, Fut>(
        self,
        reconcile: F,
        ctx: &Arc<Context>,
        kind: &'static str,
    ) -> impl std::future::Future<Output = ()> + Send + 'static
    where
        F: FnMut(Arc<K>, Arc<Context>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Action, ReconcileError>> + Send + 'static;
}

impl<K> RunLogged<K> for Controller<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    fn run_logged<F, Fut>(
        self,
        reconcile: F,
        ctx: &Arc<Context>,
        kind: &'static str,
    ) -> impl std::future::Future<Output = ()> + Send + 'static
    where
        F: FnMut(Arc<K>, Arc<Context>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Action, ReconcileError>> + Send + 'static,
    {
        self.shutdown_on_signal()
            .run(reconcile, error_policy, ctx.clone())
            .for_each(move |result| {
                log_result(kind, result);
                futures::future::ready(())
            })
    }
}

/// A watch of `api` with client-go's backoff, reporting its failures and recoveries to `health`.
///
/// Objects come without `metadata.managedFields`: no reconciler reads its own objects' field
/// ownership (the objects it applies are read fresh), and the entries are often the largest part
/// of a cached object, kept once per object in every watch cache.
fn watched<K>(
    api: Api<K>,
    health: &watch_health::WatchHealth,
    name: &'static str,
) -> impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let health = health.clone();
    watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|object| object.meta_mut().managed_fields = None)
        .inspect(move |event| match event {
            Ok(_) => health.succeeded(name),
            Err(e) => health.failed(name, &e.to_string()),
        })
}

/// Logs a failed reconcile with its object (`Kind ns/name: error`); watch errors are logged by
/// [`watched`].
fn log_result<K: kube::Resource>(
    kind: &str,
    result: Result<(KubeRef<K>, Action), controller::Error<ReconcileError, watcher::Error>>,
) {
    match result {
        Ok(_) | Err(controller::Error::QueueError(_)) => {}
        Err(controller::Error::ReconcilerFailed(e, object)) => {
            let ns = object.namespace.as_deref().unwrap_or_default();
            eprintln!("{kind} {ns}/{}: reconcile failed: {e}", object.name);
        }
        Err(e) => eprintln!("{kind} controller: {e}"),
    }
}

/// What of an object asks for a reconcile: its spec (`generation`), its annotations
/// (`reconcile.fluxcd.io/requestedAt`, prune approvals, budgets), its finalizers and its
/// deletion. Status writes change none of them, so the reconcilers' own status patches do not
/// trigger another reconcile.
fn asks_for_reconcile<K: kube::Resource>(obj: &K) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let meta = obj.meta();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.annotations.hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    Some(hasher.finish())
}

/// Every Kustomization whose `sourceRef` is `kind`/`source` (its namespace defaulting to the
/// Kustomization's).
fn using_source<K: kube::Resource>(
    store: &reflector::Store<Kustomization>,
    kind: &str,
    source: &K,
) -> Vec<KubeRef<Kustomization>> {
    let ns = source.meta().namespace.clone().unwrap_or_default();
    let name = source.meta().name.clone().unwrap_or_default();
    store
        .state()
        .into_iter()
        .filter(|ks| {
            let own = ks.metadata.namespace.clone().unwrap_or_default();
            ks.spec.source_ref.kind == kind
                && ks.spec.source_ref.name == name
                && ks.spec.source_ref.namespace.clone().unwrap_or(own) == ns
        })
        .map(|ks| KubeRef::from_obj(&*ks))
        .collect()
}

/// Every ArtifactGenerator reading `kind`/`source` (its namespace defaulting to the generator's).
fn generators_using<K: kube::Resource>(
    store: &reflector::Store<ArtifactGenerator>,
    kind: &str,
    source: &K,
) -> Vec<KubeRef<ArtifactGenerator>> {
    let ns = source.meta().namespace.clone().unwrap_or_default();
    let name = source.meta().name.clone().unwrap_or_default();
    store
        .state()
        .into_iter()
        .filter(|g| {
            let own = g.metadata.namespace.clone().unwrap_or_default();
            g.spec
                .sources
                .iter()
                .any(|s| s.kind == kind && s.name == name && s.namespace.clone().unwrap_or_else(|| own.clone()) == ns)
        })
        .map(|g| KubeRef::from_obj(&*g))
        .collect()
}

/// A hash of an artifact's revision and digest (none yet counts too).
fn revision_hash(artifact: Option<&ballast_api::git_repository::Artifact>) -> Option<u64> {
    hash_of(artifact.map(|a| (&a.revision, &a.digest)))
}

/// A predicate's value: the hash of what it watches.
fn hash_of(value: impl std::hash::Hash) -> Option<u64> {
    use std::hash::Hasher;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    Some(hasher.finish())
}

/// The revision of a GitRepository's artifact (none yet counts too).
fn artifact_revision(repo: &GitRepository) -> Option<u64> {
    hash_of(
        repo.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| &a.revision),
    )
}

fn error_policy<K>(_object: Arc<K>, _error: &ReconcileError, _ctx: Arc<Context>) -> Action {
    Action::requeue(schedule::jittered(Duration::from_secs(15)))
}

fn tokio_stream<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    /// Another watch failing over and over does not hold back the controller's own events: the
    /// object arrives 10 ms (of the test's virtual clock) after the errors start and is
    /// reconciled then, not after kube-runtime's trigger backoff (0.8 s and more).
    #[tokio::test(start_paused = true)]
    async fn a_failing_watch_does_not_delay_the_controllers_own_events() {
        let (store, mut writer) = reflector::store::<ConfigMap>();
        writer.apply_watcher_event(&watcher::Event::InitDone);
        let object = ConfigMap {
            metadata: kube::api::ObjectMeta {
                name: Some("own".into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let own = futures::stream::once(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok::<_, watcher::Error>(watcher::Event::Apply(object))
        })
        .chain(futures::stream::pending())
        .reflect(writer)
        .applied_objects();
        let failing = futures::stream::iter((0..20).map(|_| Err::<ConfigMap, _>(watcher::Error::NoResourceVersion)))
            .chain(futures::stream::pending());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let started = tokio::time::Instant::now();
        let controller = unthrottled(Controller::for_stream(own, store))
            .watches_stream(failing, |_: ConfigMap| None::<KubeRef<ConfigMap>>)
            .run(
                move |cm: Arc<ConfigMap>, _: Arc<()>| {
                    let _ = tx.send((cm.name_any(), started.elapsed()));
                    futures::future::ready(Ok::<_, std::io::Error>(Action::await_change()))
                },
                |_, _, _| Action::await_change(),
                Arc::new(()),
            );
        tokio::spawn(controller.for_each(|_| futures::future::ready(())));
        // The clock is virtual: a minute passes at once when nothing else can happen.
        let (name, after) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .ok()
            .flatten()
            .expect("the controller's own object is reconciled within a minute");
        assert_eq!(name, "own");
        assert!(
            after < Duration::from_millis(200),
            "reconciled {after:?} after the errors started: the failing watch held the stream back"
        );
    }
}
