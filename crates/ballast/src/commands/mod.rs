//! One file per verb.

mod build;
mod diff;
mod local;
mod sync;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs the command; returns the exit code.
pub async fn run(cli: Cli) -> Result<u8> {
    let kubeconfig = cli.kubeconfig.as_deref();
    let context = cli.context.as_deref();
    match &cli.command {
        Command::Build(args) => build::run(args).await,
        Command::Diff(args) => diff::run(args, kubeconfig, context).await,
        Command::Sync(args) => sync::run(args, kubeconfig, context).await,
        Command::Local(args) => local::run(args).await,
    }
}
