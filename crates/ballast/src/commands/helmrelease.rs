//! `ballast history|rollback|tree helmrelease NAME`: a HelmRelease's release records and the
//! objects it manages.
//!
//! `rollback helmrelease` suspends the HelmRelease before rolling its release back (through
//! `ballast_release::Releases::rollback`): the HelmRelease controller would otherwise see a
//! release that differs from the spec and upgrade it again at its next reconcile. The
//! rollback stays until `ballast resume helmrelease NAME`, which upgrades the release back to
//! what the spec asks for (as Flux's controller does after a manual `helm rollback`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use ballast_api::HelmRelease;
use ballast_api::helm_release::Snapshot;
use ballast_controller::helm_release::{release_name, storage_namespace, target_namespace};
use ballast_core::{Inventory, InventoryEntry, ObjectRef, parse_duration};
use ballast_helm::release::{Release, Status};
use ballast_kube::Cluster;
use ballast_release::{ActionOptions, Releases};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::cli::{HistoryCommand, RollbackCommand};
use crate::pipeline::connect;

/// `history helmrelease`.
pub async fn history_command(cmd: &HistoryCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let HistoryCommand::Helmrelease(a) = cmd;
    let cluster = connect(kubeconfig, context).await?;
    history(&cluster, &a.namespace, &a.name).await
}

/// `rollback helmrelease`.
pub async fn rollback_command(cmd: &RollbackCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let RollbackCommand::Helmrelease(a) = cmd;
    let timeout = parse_duration(&a.timeout).map_err(anyhow::Error::msg)?;
    let cluster = connect(kubeconfig, context).await?;
    rollback(&cluster, &a.namespace, &a.name, a.revision, timeout).await
}

/// Annotation on a HelmRelease suspended by `rollback helmrelease`: the release revision it
/// rolled back to and when.
pub const ROLLBACK_ANNOTATION: &str = "ballast.dev/rolled-back";

/// A record's time as `YYYY-MM-DD HH:MM:SS` (UTC); the text as stored when it does not parse.
fn when(rfc3339: &str) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// Rows padded as the Flux CLI's tables are (tab-separated, padded columns).
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, v)| format!("{v:<w$}", w = widths[c]))
            .collect();
        out.push_str(line.join("\t").trim_end());
        out.push('\n');
    }
    out
}

/// The releases of a HelmRelease as its controller reaches them: objects in the target
/// namespace, records in the storage namespace.
pub(super) fn releases_of(cluster: &Cluster, hr: &HelmRelease) -> Releases {
    Releases::with_storage(cluster, &target_namespace(hr), &storage_namespace(hr))
}

/// The release records of a HelmRelease, oldest first.
async fn records(cluster: &Cluster, hr: &HelmRelease) -> Result<Vec<Release>> {
    releases_of(cluster, hr)
        .history(&release_name(hr))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// `history helmrelease NAME`: every release record (revision, chart, app version, status,
/// time), with the digest Flux's controller recorded for it in `status.history`.
pub async fn history(cluster: &Cluster, namespace: &str, name: &str) -> Result<u8> {
    let api: Api<HelmRelease> = Api::namespaced(cluster.client().clone(), namespace);
    let hr = api.get(name).await?;
    let snapshots: Vec<Snapshot> = hr.status.as_ref().map(|s| s.history.clone()).unwrap_or_default();
    let records = records(cluster, &hr).await?;
    if records.is_empty() && snapshots.is_empty() {
        bail!(
            "HelmRelease {namespace}/{name}: release {}/{} has no history yet",
            target_namespace(&hr),
            release_name(&hr)
        );
    }
    let mut rows = vec![
        ["REVISION", "CHART", "APP VERSION", "STATUS", "UPDATED", "DIGEST"]
            .map(String::from)
            .to_vec(),
    ];
    for r in records.iter().rev() {
        let digest = snapshots
            .iter()
            .find(|s| s.version == r.version && s.name == r.name)
            .map(|s| short_digest(&s.digest))
            .unwrap_or_else(|| "-".into());
        rows.push(vec![
            r.version.to_string(),
            format!("{}@{}", r.chart.name(), r.chart.version()),
            r.chart.app_version().to_string(),
            r.info.status.to_string(),
            when(&r.info.last_deployed),
            digest,
        ]);
    }
    // Snapshots whose records were pruned (history_max) still show what Flux recorded.
    for s in &snapshots {
        if !records.iter().any(|r| r.version == s.version && r.name == s.name) {
            rows.push(vec![
                s.version.to_string(),
                format!("{}@{}", s.chart_name, s.chart_version),
                s.app_version.clone().unwrap_or_default(),
                s.status.clone(),
                when(&s.last_deployed),
                short_digest(&s.digest),
            ]);
        }
    }
    print!("{}", table(&rows));
    Ok(0)
}

/// `sha256:<first 12 digits>` (character-safe on any status text).
fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", hex.chars().take(12).collect::<String>()),
        None => d.chars().take(12).collect(),
    }
}

/// `rollback helmrelease NAME [REVISION]`: suspends the HelmRelease (annotated with what was
/// rolled back), then rolls its release back as `helm rollback` does.
pub async fn rollback(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    revision: Option<i64>,
    timeout: Duration,
) -> Result<u8> {
    let api: Api<HelmRelease> = Api::namespaced(cluster.client().clone(), namespace);
    let hr = api.get(name).await?;
    let release = release_name(&hr);
    let target_ns = target_namespace(&hr);
    let releases = releases_of(cluster, &hr);
    let history = releases.history(&release).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(latest) = history.last() else {
        bail!("HelmRelease {namespace}/{name}: release {target_ns}/{release} has no revision to roll back");
    };
    let to = revision.filter(|r| *r > 0).unwrap_or(latest.version - 1);
    if !history.iter().any(|r| r.version == to) {
        bail!("HelmRelease {namespace}/{name}: release {target_ns}/{release} has no revision {to}");
    }
    // Suspend first, so the controller cannot upgrade the release back in between.
    let patch = json!({
        "metadata": {"annotations": {ROLLBACK_ANNOTATION: format!("{to}@{}", jiff::Timestamp::now())}},
        "spec": {"suspend": true},
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    println!("✔ HelmRelease {name} suspended");
    let opts = ActionOptions {
        timeout,
        ..ActionOptions::default()
    };
    let done = releases
        .rollback(&release, Some(to), &opts)
        .await
        .map_err(|e| anyhow::anyhow!("release {target_ns}/{release}: {e}"))?;
    println!(
        "✔ release {target_ns}/{release} rolled back to revision {to} (now revision {})",
        done.version
    );
    println!("  `ballast resume helmrelease {name} -n {namespace}` upgrades it to the spec again");
    Ok(0)
}

/// `tree helmrelease NAME`: the objects of the release, from `status.inventory` (the latest
/// release manifest when the status has none).
pub async fn tree(cluster: &Cluster, namespace: &str, name: &str) -> Result<u8> {
    let api: Api<HelmRelease> = Api::namespaced(cluster.client().clone(), namespace);
    let hr = api.get(name).await?;
    let mut refs: Vec<ObjectRef> = match hr.status.as_ref().and_then(|s| s.inventory.as_ref()) {
        Some(inv) => Inventory {
            entries: inv
                .entries
                .iter()
                .map(|e| InventoryEntry {
                    id: e.id.clone(),
                    v: e.v.clone(),
                })
                .collect(),
        }
        .refs(),
        None => Vec::new(),
    };
    if refs.is_empty() {
        let records = records(cluster, &hr).await?;
        if let Some(latest) = records.iter().rev().find(|r| r.info.status == Status::Deployed) {
            for m in
                ballast_release::objects::release_objects(cluster, &latest.manifest, &latest.name, &latest.namespace)
                    .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                refs.push(m.object_ref());
            }
        }
    }
    println!("HelmRelease/{namespace}/{name}");
    for (i, r) in refs.iter().enumerate() {
        let last = i + 1 == refs.len();
        println!("{}{r}", if last { "└── " } else { "├── " });
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_times_never_panic() {
        assert_eq!(short_digest("sha256:0123456789abcdef"), "sha256:0123456789ab");
        assert_eq!(short_digest("sha256:ééééééééééééé"), "sha256:éééééééééééé");
        assert_eq!(short_digest("x"), "x");
        assert_eq!(when("2026-11-30T01:02:03Z"), "2026-11-30 01:02:03");
        assert_eq!(when("not a time"), "not a time");
    }
}
