//! One file per verb.

pub mod app;
mod bootstrap;
mod build;
mod check;
pub mod commit_push;
mod controller;
mod create;
mod create_helm;
mod diff;
mod diff_helmrelease;
mod events;
mod export;
mod flux_format;
mod flux_objects;
mod flux_secret;
mod get;
mod helm;
mod helmfile;
mod helmfile_apply;
mod helmfile_live;
mod helmrelease;
mod image;
pub mod image_edit;
pub mod install;
mod local;
mod reconcile;
mod render;
pub(crate) mod seal;
mod sops;
mod sync;
mod target;
pub(crate) mod template;
mod tree;
mod uninstall;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs the command; returns the exit code.
pub async fn run(cli: Cli) -> Result<u8> {
    crate::pipeline::set_client_limits(ballast_kube::ClientLimits {
        qps: cli.kube_api_qps,
        burst: cli.kube_api_burst,
        ..Default::default()
    });
    let kubeconfig = cli.kubeconfig.as_deref();
    let context = cli.context.as_deref();
    match &cli.command {
        Command::Build(args) => build::run(args).await,
        Command::Template(args) => template::run(args),
        Command::Sops(cmd) => sops::run(cmd),
        Command::Seal(args) => seal::run(args, kubeconfig, context).await,
        Command::Helm(cmd) => helm::run(cmd, kubeconfig, context).await,
        Command::Helmfile(args) => helmfile::run(args, kubeconfig, context).await,
        Command::Render(args) => render::run(args),
        Command::Set(cmd) => image_edit::run_set(cmd),
        Command::Bump(cmd) => image_edit::run_bump(cmd).await,
        Command::CommitPush(args) => commit_push::run(args),
        Command::Diff(args) => diff::run(args, kubeconfig, context).await,
        Command::DiffHelmrelease(args) => diff_helmrelease::run(args, kubeconfig, context).await,
        Command::Sync(args) => sync::run(args, kubeconfig, context).await,
        Command::Local(args) => local::run(args).await,
        Command::Controller(args) => controller::run(args, kubeconfig, context).await,
        Command::Install(args) => install::run(args, kubeconfig, context).await,
        Command::Create(cmd) => create::run(cmd, kubeconfig, context).await,
        Command::Get(cmd) => get::run(cmd, kubeconfig, context).await,
        Command::Reconcile(cmd) => reconcile::run(cmd, kubeconfig, context).await,
        Command::Suspend(cmd) => target::run(target::Verb::Suspend, cmd, kubeconfig, context).await,
        Command::Resume(cmd) => target::run(target::Verb::Resume, cmd, kubeconfig, context).await,
        Command::Delete(cmd) => target::run(target::Verb::Delete, cmd, kubeconfig, context).await,
        Command::Check(args) => check::run(args, kubeconfig, context).await,
        Command::Uninstall(args) => uninstall::run(args, kubeconfig, context).await,
        Command::Export(cmd) => export::run(cmd, kubeconfig, context).await,
        Command::Events(args) => events::run(args, kubeconfig, context).await,
        Command::Tree(cmd) => tree::run(cmd, kubeconfig, context).await,
        Command::History(cmd) => helmrelease::history_command(cmd, kubeconfig, context).await,
        Command::Rollback(cmd) => helmrelease::rollback_command(cmd, kubeconfig, context).await,
        Command::Bootstrap(cmd) => bootstrap::run(cmd, kubeconfig, context).await,
        Command::App(cmd) => app::run(cmd, kubeconfig, context).await,
    }
}
