//! `ballast app list|get|diff|sync|history|rollback|delete`: Argo CD Applications, as `argocd
//! app` handles them. `delete` cascades through the resources finalizer (added when absent), or
//! with `--cascade=false` removes it first so the objects stay. `sync` and `rollback` write the `operation` field as `argocd app sync` and
//! `argocd app rollback` write it and wait for the controller's `operationState`; `rollback` is
//! refused while automated sync is on (as Argo CD). Exit codes: `diff` 0 (no change), 1
//! (changes), 2 (error); `sync`/`rollback` 0 (Succeeded), 1 (Failed), 2 (error or timeout).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use ballast_api::Application;
use ballast_controller::application::{AppAccess, diff};
use clap::{ArgAction, Args, Subcommand};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::pipeline::{ballast_cache_dir, connect};

/// `app`.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// List Applications with their sync and health status.
    List(AppListArgs),
    /// Show an Application: source, destination, status and its objects.
    Get(AppNameArgs),
    /// What a sync would change (exit 0: none, 1: changes, 2: error).
    Diff(AppNameArgs),
    /// Ask the controller to sync now (writes `operation.sync`) and wait for the result.
    Sync(AppSyncArgs),
    /// The deployment history.
    History(AppNameArgs),
    /// Sync to the revision of a history entry (refused while automated sync is on).
    Rollback(AppRollbackArgs),
    /// Delete an Application, with its objects (default) or without (`--cascade=false`).
    Delete(AppDeleteArgs),
}

/// `app delete`.
#[derive(Debug, Args)]
pub struct AppDeleteArgs {
    #[command(flatten)]
    pub app: AppNameArgs,
    /// Delete the Application's objects too (through its resources finalizer).
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub cascade: bool,
    /// How long to wait until the Application is gone.
    #[arg(long, default_value = "5m")]
    pub timeout: String,
}

/// `app list`.
#[derive(Debug, Args)]
pub struct AppListArgs {
    /// Namespace of the Applications.
    #[arg(short = 'N', long = "app-namespace", default_value = "argocd")]
    pub app_namespace: String,
    /// Every namespace.
    #[arg(short = 'A', long, action = ArgAction::SetTrue)]
    pub all_namespaces: bool,
}

/// An Application by name.
#[derive(Debug, Args)]
pub struct AppNameArgs {
    /// Application name.
    pub name: String,
    /// Namespace of the Application.
    #[arg(short = 'N', long = "app-namespace", default_value = "argocd")]
    pub app_namespace: String,
}

/// `app sync`.
#[derive(Debug, Args)]
pub struct AppSyncArgs {
    #[command(flatten)]
    pub app: AppNameArgs,
    /// Delete objects Git no longer has.
    #[arg(long, action = ArgAction::SetTrue)]
    pub prune: bool,
    /// Revision to sync (default: the source's targetRevision).
    #[arg(long)]
    pub revision: Option<String>,
    /// Sync options for this sync (`Name=value`, repeatable).
    #[arg(long = "sync-option")]
    pub sync_options: Vec<String>,
    /// How long to wait for the result.
    #[arg(long, default_value = "10m")]
    pub timeout: String,
}

/// `app rollback`.
#[derive(Debug, Args)]
pub struct AppRollbackArgs {
    #[command(flatten)]
    pub app: AppNameArgs,
    /// History id (default: the entry before the last).
    pub id: Option<i64>,
    /// How long to wait for the result.
    #[arg(long, default_value = "10m")]
    pub timeout: String,
}

/// Runs an `app` command.
pub async fn run(cmd: &AppCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let client = cluster.client().clone();
    let api = |ns: &str| -> Api<Application> { Api::namespaced(client.clone(), ns) };
    match cmd {
        AppCommand::List(a) => {
            let apps: Api<Application> = if a.all_namespaces {
                Api::all(client.clone())
            } else {
                api(&a.app_namespace)
            };
            let list = apps
                .list(&ListParams::default())
                .await
                .context("listing Applications")?;
            println!(
                "{:<30} {:<12} {:<12} {:<12} {:<10} REPO",
                "NAME", "SYNC", "HEALTH", "REVISION", "PROJECT"
            );
            for app in list.items {
                let st = app.status.clone().unwrap_or_default();
                let rev: String = st
                    .sync
                    .as_ref()
                    .and_then(|s| s.revision.clone())
                    .unwrap_or_default()
                    .chars()
                    .take(7)
                    .collect();
                println!(
                    "{:<30} {:<12} {:<12} {:<12} {:<10} {}",
                    qualified(&app, a.all_namespaces),
                    st.sync.map(|s| s.status).unwrap_or_else(|| "Unknown".into()),
                    st.health.map(|h| h.status).unwrap_or_else(|| "Unknown".into()),
                    rev,
                    app.spec.project,
                    app.spec
                        .source
                        .as_ref()
                        .map(|s| ballast_source::redact_url(&s.repo_url))
                        .unwrap_or_default()
                );
            }
            Ok(0)
        }
        AppCommand::Get(a) => {
            let app = get(&api(&a.app_namespace), &a.name).await?;
            print_app(&app);
            Ok(0)
        }
        AppCommand::Diff(a) => {
            let app = get(&api(&a.app_namespace), &a.name).await?;
            let access = AppAccess {
                cluster: cluster.clone(),
                target: cluster.clone(),
                cache_dir: ballast_cache_dir().join("git"),
                allow_file_sources: true,
                max_artifact_size: ballast_source::DEFAULT_MAX_ARTIFACT_SIZE,
                own_namespace: control_namespace(&cluster, &app).await,
                tracking: Default::default(),
            };
            let (revision, changes) = diff(&app, &access).await.map_err(|e| anyhow!("{}: {e}", a.name))?;
            let yaml = |v: &serde_json::Value| ballast_render::emit::to_yaml(v);
            for (r, live, desired) in &changes {
                print!(
                    "{}",
                    ballast_plan::diff::unified_diff(r, live.as_ref(), desired.as_ref(), &yaml)
                );
            }
            eprintln!("{}: {} object(s) differ at {revision}", a.name, changes.len());
            Ok(if changes.is_empty() { 0 } else { 1 })
        }
        AppCommand::Sync(a) => {
            let apps = api(&a.app.app_namespace);
            let app = get(&apps, &a.app.name).await?;
            let revision = a
                .revision
                .clone()
                .or_else(|| app.spec.source.as_ref().and_then(|s| s.target_revision.clone()))
                .unwrap_or_else(|| "HEAD".into());
            let op = json!({"operation": {
                "sync": {"revision": revision, "prune": a.prune, "syncOptions": a.sync_options},
                "initiatedBy": {"username": whoami()}}});
            operate(&apps, &app, op, &a.timeout).await
        }
        AppCommand::History(a) => {
            let app = get(&api(&a.app_namespace), &a.name).await?;
            println!("{:<4} {:<22} REVISION", "ID", "DATE");
            for h in app.status.map(|s| s.history).unwrap_or_default() {
                if h.revisions.is_empty() {
                    let path = h.source.as_ref().and_then(|s| s.path.clone()).unwrap_or_default();
                    println!("{:<4} {:<22} {} ({})", h.id, h.deployed_at, h.revision, path);
                } else {
                    // Multi-source: one revision per source.
                    let each: Vec<String> = h
                        .revisions
                        .iter()
                        .zip(
                            h.sources
                                .iter()
                                .map(|s| s.path.clone().or(s.reference.clone()).unwrap_or_default()),
                        )
                        .map(|(r, p)| format!("{r} ({p})"))
                        .collect();
                    println!("{:<4} {:<22} {}", h.id, h.deployed_at, each.join(", "));
                }
            }
            Ok(0)
        }
        AppCommand::Rollback(a) => {
            let apps = api(&a.app.app_namespace);
            let app = get(&apps, &a.app.name).await?;
            if app.automated().is_some() {
                bail!("rollback cannot be initiated when auto-sync is enabled");
            }
            let history = app.status.clone().map(|s| s.history).unwrap_or_default();
            let entry = match a.id {
                Some(id) => history.iter().find(|h| h.id == id),
                None => history.iter().rev().nth(1),
            }
            .ok_or_else(|| {
                anyhow!(
                    "{}: no history entry {}",
                    a.app.name,
                    a.id.map(|i| i.to_string()).unwrap_or_else(|| "before the last".into())
                )
            })?;
            let sync = if entry.revisions.is_empty() {
                json!({"revision": entry.revision, "source": entry.source})
            } else {
                json!({"revisions": entry.revisions, "sources": entry.sources})
            };
            let op = json!({"operation": {
                "sync": sync,
                "initiatedBy": {"username": whoami()}}});
            operate(&apps, &app, op, &a.timeout).await
        }
        AppCommand::Delete(a) => delete(&api(&a.app.app_namespace), a).await,
    }
}

/// Sets the resources finalizer as `--cascade` asks (added for a cascading delete, removed for
/// an orphaning one; the write is preconditioned on the version read), then deletes the
/// Application with the UID read and waits until it is gone.
async fn delete(api: &Api<Application>, a: &AppDeleteArgs) -> Result<u8> {
    use ballast_controller::application::RESOURCES_FINALIZER;
    let name = &a.app.name;
    let timeout = ballast_core::parse_duration(&a.timeout).map_err(anyhow::Error::msg)?;
    let app = get(api, name).await?;
    let finalizers: Vec<String> = app.metadata.finalizers.clone().unwrap_or_default();
    let has = finalizers.iter().any(|f| f.starts_with(RESOURCES_FINALIZER));
    let wanted: Option<Vec<String>> = match (a.cascade, has) {
        (true, false) => Some(
            finalizers
                .iter()
                .cloned()
                .chain([RESOURCES_FINALIZER.to_string()])
                .collect(),
        ),
        (false, true) => Some(
            finalizers
                .iter()
                .filter(|f| !f.starts_with(RESOURCES_FINALIZER))
                .cloned()
                .collect(),
        ),
        _ => None,
    };
    if let Some(f) = wanted {
        let patch = json!({"metadata": {"finalizers": f, "resourceVersion": app.metadata.resource_version}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .with_context(|| format!("setting the finalizers of Application {name}"))?;
    }
    let uid = app.metadata.uid.clone();
    let params = kube::api::DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid,
            resource_version: None,
        }),
        ..Default::default()
    };
    api.delete(name, &params)
        .await
        .with_context(|| format!("deleting Application {name}"))?;
    let deadline = tokio::time::Instant::now() + timeout;
    while api
        .get_opt(name)
        .await?
        .is_some_and(|n| n.metadata.uid == app.metadata.uid)
    {
        if tokio::time::Instant::now() >= deadline {
            bail!("Application {name} is still there after {timeout:?} (its objects are being deleted)");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "Application {name} deleted{}",
        if a.cascade {
            " with its objects"
        } else {
            " (its objects kept)"
        }
    );
    Ok(0)
}

/// The control plane's namespace as the objects of `app` show it: their tracking ids name the
/// Application bare (it lives in the control namespace) or as `<namespace>_<name>`; `argocd`
/// (Argo CD's) when no live object tells.
async fn control_namespace(cluster: &ballast_kube::Cluster, app: &Application) -> String {
    let name = app.metadata.name.clone().unwrap_or_default();
    let ns = app.metadata.namespace.clone().unwrap_or_default();
    for r in app.status.iter().flat_map(|s| s.resources.iter()).take(20) {
        let api_version = if r.group.is_empty() {
            r.version.clone()
        } else {
            format!("{}/{}", r.group, r.version)
        };
        let or = ballast_core::ObjectRef::new(&api_version, &r.kind, r.namespace.as_deref(), &r.name);
        let Ok(Some(live)) = cluster.get(&or).await else {
            continue;
        };
        // The tracking annotation, else the instance label (label tracking).
        let owner = ballast_controller::argo_tracking::annotation_owner(&live).or_else(|| {
            live["metadata"]["labels"][ballast_controller::argo_tracking::INSTANCE_LABEL]
                .as_str()
                .map(str::to_string)
        });
        match owner {
            Some(owner) if owner == name => return ns,
            Some(owner) if owner == format!("{ns}_{name}") => return "argocd".into(),
            _ => {}
        }
    }
    "argocd".into()
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "ballast".into())
}

fn qualified(app: &Application, with_ns: bool) -> String {
    let name = app.metadata.name.clone().unwrap_or_default();
    if with_ns {
        format!("{}/{name}", app.metadata.namespace.clone().unwrap_or_default())
    } else {
        name
    }
}

async fn get(api: &Api<Application>, name: &str) -> Result<Application> {
    api.get_opt(name)
        .await
        .with_context(|| format!("reading Application {name}"))?
        .ok_or_else(|| anyhow!("Application {name} not found"))
}

/// Writes the operation and waits until the controller finished it: the operation cleared (the
/// controller clears only the operation it ran, after writing its result) and the operation
/// state finished. `finishedAt` has second precision, so two syncs in one second look alike:
/// it is not what tells them apart.
async fn operate(api: &Api<Application>, app: &Application, patch: serde_json::Value, timeout: &str) -> Result<u8> {
    let name = app.metadata.name.clone().unwrap_or_default();
    let timeout = ballast_core::parse_duration(timeout).map_err(anyhow::Error::msg)?;
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("writing the operation of Application {name}"))?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let now = get(api, &name).await?;
        let state = now.status.as_ref().and_then(|s| s.operation_state.clone());
        if let Some(s) = state.filter(|s| s.finished_at.is_some() && s.phase != "Running" && now.operation.is_none()) {
            for r in s
                .sync_result
                .as_ref()
                .map(|r| r.resources.as_slice())
                .unwrap_or_default()
            {
                println!(
                    "{:<10} {:<24} {:<20} {:<40} {:<12} {}",
                    r.sync_phase.clone().unwrap_or_default(),
                    r.kind,
                    r.namespace,
                    r.name,
                    r.status,
                    r.message.clone().unwrap_or_default()
                );
            }
            println!("Phase: {}\nMessage: {}", s.phase, s.message.clone().unwrap_or_default());
            return Ok(if s.phase == "Succeeded" { 0 } else { 1 });
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("Application {name}: the operation did not finish within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn print_app(app: &Application) {
    let st = app.status.clone().unwrap_or_default();
    let src = app.spec.source.clone().unwrap_or_default();
    println!(
        "Name:          {}/{}",
        app.metadata.namespace.clone().unwrap_or_default(),
        app.metadata.name.clone().unwrap_or_default()
    );
    println!("Project:       {}", app.spec.project);
    println!("Repo:          {}", ballast_source::redact_url(&src.repo_url));
    println!(
        "Target:        {}",
        src.target_revision.clone().unwrap_or_else(|| "HEAD".into())
    );
    println!("Path:          {}", src.path.clone().unwrap_or_default());
    println!(
        "Destination:   {} {}",
        app.spec
            .destination
            .server
            .clone()
            .or(app.spec.destination.name.clone())
            .unwrap_or_default(),
        app.spec.destination.namespace.clone().unwrap_or_default()
    );
    println!(
        "Sync Policy:   {}",
        if app.automated().is_some() {
            "Automated"
        } else {
            "Manual"
        }
    );
    println!(
        "Sync Status:   {} ({})",
        st.sync
            .as_ref()
            .map(|s| s.status.clone())
            .unwrap_or_else(|| "Unknown".into()),
        st.sync.as_ref().and_then(|s| s.revision.clone()).unwrap_or_default()
    );
    println!(
        "Health Status: {}",
        st.health
            .as_ref()
            .map(|h| h.status.clone())
            .unwrap_or_else(|| "Unknown".into())
    );
    if let Some(op) = &st.operation_state {
        println!("Operation:     {} {}", op.phase, op.message.clone().unwrap_or_default());
    }
    for c in &st.conditions {
        println!("Condition:     {}: {}", c.type_, c.message);
    }
    println!();
    println!(
        "{:<12} {:<24} {:<20} {:<40} {:<10} HEALTH",
        "GROUP", "KIND", "NAMESPACE", "NAME", "STATUS"
    );
    for r in &st.resources {
        println!(
            "{:<12} {:<24} {:<20} {:<40} {:<10} {}",
            r.group,
            r.kind,
            r.namespace.clone().unwrap_or_default(),
            r.name,
            r.status.clone().unwrap_or_default(),
            r.health.as_ref().map(|h| h.status.clone()).unwrap_or_default()
        );
    }
}
