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
    let options = ApplyOptions {
        force: t.force,
        prune: args.prune,
        stage_timeout: timeout,
        owner_labels: crate::pipeline::owner_labels(t),
        ..Default::default()
    };
    let timer = Timer::start();
    let result = Applier::new(&cluster, options)
        .apply(&manifests, &previous.inventory)
        .await;
    timer.lap("plan and apply");
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
    let inventory = Inventory::after_apply(&previous.inventory, &changes, failure.is_none(), args.prune);
    let revision = if failure.is_none() {
        Some(desired.revision.clone())
    } else {
        previous.revision.clone()
    };
    // Ownership first: an inventory that cannot be saved is reported with the apply's outcome.
    let saved = inventory_store(&cluster, t)
        .save(&previous, &StoredInventory { inventory, revision })
        .await;
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
