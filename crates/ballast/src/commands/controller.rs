//! `ballast controller`.

use std::path::Path;

use anyhow::Result;
use ballast_controller::ControllerOptions;

use crate::cli::ControllerArgs;
use crate::pipeline::{ballast_cache_dir, connect};

pub async fn run(args: &ControllerArgs, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let identity = args.identity.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "ballast".into());
        format!("{}-{}", host.trim(), std::process::id())
    });
    let options = ControllerOptions {
        cache_dir: ballast_cache_dir().join("git"),
        concurrency: args.concurrency.max(1),
        metrics_addr: args.metrics_addr,
        leader_election: args.leader_elect,
        lease_namespace: args.lease_namespace.clone(),
        identity,
        watch_namespace: args.watch_namespace.clone(),
        prune_budget: ballast_apply::PruneBudget::parse(&args.prune_budget).map_err(anyhow::Error::msg)?,
        allow_file_sources: args.allow_file_sources,
        default_service_account: args.default_service_account.clone().filter(|s| !s.is_empty()),
        max_artifact_size: ballast_source::parse_size(&args.max_artifact_size).map_err(anyhow::Error::msg)?,
        watch_unready_after: ballast_core::parse_duration(&args.watch_unready_after).map_err(anyhow::Error::msg)?,
        source_mirrors: ballast_controller::source_mirror::SourceMirrors::parse(&args.source_mirrors)
            .map_err(anyhow::Error::msg)?,
        webhook_addr: args.webhook_addr,
        sealed_secret_keys: ballast_controller::sealed_secret::KeyOptions {
            namespace: args
                .sealed_secrets_key_namespace
                .clone()
                .unwrap_or_else(|| args.lease_namespace.clone()),
            renew_period: Some(
                ballast_core::parse_duration(&args.sealed_secrets_key_renew_period).map_err(anyhow::Error::msg)?,
            )
            .filter(|d| !d.is_zero()),
            bits: args.sealed_secrets_key_size,
            cn: args.sealed_secrets_my_cn.clone(),
        },
    };
    ballast_controller::run(cluster, options).await?;
    Ok(0)
}
