//! `ballast sync`: one reconcile pass.

use std::path::Path;

use anyhow::{Result, bail};
use ballast_apply::{Applier, ApplyOptions, StoredInventory};
use ballast_core::{Change, Inventory, ObjectRef, parse_duration};
use ballast_health::Waiter;

use crate::cli::SyncArgs;
use crate::pipeline::{Prepared, Timer, inventory_store, prepare};

pub async fn run(args: &SyncArgs, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let t = &args.target;
    let timeout = parse_duration(&args.timeout).map_err(anyhow::Error::msg)?;
    // Fetch and render before touching anything: a failure here changes nothing.
    let Prepared {
        desired,
        cluster,
        manifests,
        previous,
    } = prepare(t, kubeconfig, context).await?;
    if manifests.is_empty() && !previous.inventory.is_empty() && !args.allow_empty {
        bail!(
            "{}: the source renders no objects but the inventory owns {}; refusing to prune everything (use --allow-empty if this is intended)",
            desired.path.display(),
            previous.inventory.entries.len()
        );
    }
    refuse_namespace_move(t, &cluster, &manifests, &previous.inventory)?;
    let options = ApplyOptions {
        prune: args.prune,
        stage_timeout: timeout,
        ..crate::pipeline::apply_options(t)?
    };
    let timer = Timer::start();
    let store = inventory_store(&cluster, t);
    let applier = Applier::new(&cluster, options);
    // Every object checked and planned before the first write; a refusal here writes nothing.
    let prepared = applier
        .prepare(&manifests)
        .await
        .map_err(|e| anyhow::anyhow!("sync {}: nothing was written:\n{e}", t.name))?;
    timer.lap("plan");
    timer.note(&format!("{} dry-runs", cluster.dry_runs()));
    // Ownership before the first write: the inventory already holds what this sync is about to
    // create, so a crash at any point leaves nothing that no inventory owns.
    let intended = StoredInventory {
        inventory: Inventory::from_refs(prepared.objects().iter()).union(&previous.inventory),
        revision: previous.revision.clone(),
    };
    store.save(&previous, &intended).await.map_err(|e| {
        anyhow::anyhow!(
            "sync {}: nothing was written: the inventory cannot be saved: {e}",
            t.name
        )
    })?;
    let recorded = if intended.inventory == previous.inventory {
        previous.clone()
    } else {
        intended
    };
    let result = applier.execute(prepared, &previous.inventory).await;
    timer.lap("apply");
    crate::pipeline::report_throttling(&cluster);
    let (changes, failure) = match result {
        Ok(c) => (c, None),
        Err(e) => (e.changes.clone(), Some(e)),
    };
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for entry in &changes.entries {
            writeln!(out, "{entry}")?;
        }
        out.flush()?;
    }
    timer.lap("report");
    // After a failure, ownership stays with everything recorded before the first write: a write
    // the server committed although the client saw an error is never orphaned.
    let inventory = Inventory::after_apply(&recorded.inventory, &changes, failure.is_none());
    let revision = if failure.is_none() {
        Some(desired.revision.clone())
    } else {
        previous.revision.clone()
    };
    // Ownership first: an inventory that cannot be saved is reported with the apply's outcome.
    let saved = store.save(&recorded, &StoredInventory { inventory, revision }).await;
    timer.lap("inventory save");
    match (&failure, saved) {
        (Some(e), Err(save)) => {
            bail!(
                "sync {} failed after {}:\n{e}\nand the inventory could not be saved: {save}",
                t.name,
                changes.summary()
            )
        }
        (None, Err(save)) => bail!(
            "sync {}: applied ({}) but the inventory could not be saved: {save}",
            t.name,
            changes.summary()
        ),
        _ => {}
    }
    if let Some(e) = failure {
        bail!("sync {} failed after {}:\n{e}", t.name, changes.summary());
    }
    if args.wait {
        let refs: Vec<ObjectRef> = changes
            .entries
            .iter()
            .filter(|e| matches!(e.change, Change::Created | Change::Configured | Change::Unchanged))
            .map(|e| e.object.clone())
            .collect();
        let report = Waiter::new(&cluster).wait(&refs, timeout).await;
        if !report.all_healthy() {
            bail!(
                "sync {}: not healthy after {}:\n{}",
                t.name,
                args.timeout,
                report.unhealthy().join("\n")
            );
        }
        eprintln!("all {} objects healthy", refs.len());
    }
    eprintln!(
        "sync {} at {}: {} ({} write requests)",
        t.name,
        desired.revision,
        changes.summary(),
        cluster.writes()
    );
    Ok(0)
}

/// Objects that name no namespace go to `--target-namespace` or `default`, never to the
/// kubeconfig context's namespace. An inventory written when they went to the context's
/// namespace would have the sync create copies in `default` and prune the originals: refused,
/// with the flag that keeps them where they are.
fn refuse_namespace_move(
    target: &crate::cli::SyncTarget,
    cluster: &ballast_kube::Cluster,
    manifests: &[ballast_core::Manifest],
    previous: &Inventory,
) -> Result<()> {
    let context_ns = cluster.default_namespace();
    let chosen = target.target_namespace.as_deref().unwrap_or("default");
    if context_ns == chosen {
        return Ok(());
    }
    let desired: std::collections::HashSet<ObjectRef> = manifests.iter().map(|m| m.object_ref()).collect();
    let moved: Vec<String> = previous
        .refs()
        .into_iter()
        .filter(|r| r.namespace.as_deref() == Some(context_ns))
        .filter(|r| {
            let there = ObjectRef {
                namespace: Some(chosen.to_string()),
                ..r.clone()
            };
            !desired.contains(r) && desired.contains(&there)
        })
        .map(|r| r.to_string())
        .collect();
    if moved.is_empty() {
        return Ok(());
    }
    bail!(
        "sync {}: nothing was written: {} would move from namespace {context_ns} (this kubeconfig context's) to {chosen}: objects that name no namespace go to --target-namespace, else default. Pass --target-namespace {context_ns} to keep them where they are.",
        target.name,
        moved.join(", ")
    )
}
