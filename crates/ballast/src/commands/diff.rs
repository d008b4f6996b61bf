//! `ballast diff`: what a sync would change.

use std::path::Path;

use anyhow::{Result, anyhow};
use ballast_apply::{Applier, ApplyOptions, InventoryStore};
use ballast_core::Action;
use ballast_plan::{normalize_for_compare, unified_diff};
use ballast_render::emit::to_yaml;

use crate::cli::DiffArgs;
use crate::output::{colour, colour_diff};
use crate::pipeline::{connect, render, resolve_source};

pub async fn run(args: &DiffArgs, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let t = &args.target;
    let desired = resolve_source(&t.source).await?;
    let cluster = connect(kubeconfig, context).await?;
    let manifests = render(
        &desired,
        t.target_namespace.as_deref(),
        Some(cluster.default_namespace()),
        &cluster,
    )?;
    let previous = InventoryStore::new(&cluster, &t.name, &t.inventory_namespace)
        .load()
        .await?;
    let options = ApplyOptions {
        force: t.force,
        prune: !args.no_prune,
        ..Default::default()
    };
    let plan = Applier::new(&cluster, options)
        .plan(&manifests, &previous.inventory)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let coloured = colour();
    let mut out = String::new();
    for step in plan.steps() {
        let live = step.live.as_ref().map(normalize_for_compare);
        let desired = step.desired.as_ref().map(normalize_for_compare);
        let text = match step.action {
            Action::Unchanged => continue,
            Action::Skip => {
                out.push_str(&format!(
                    "# {} {}\n",
                    step.object,
                    step.reason.as_deref().unwrap_or("skipped")
                ));
                continue;
            }
            Action::Prune => unified_diff(&step.object, live.as_ref(), None, &to_yaml),
            Action::Create | Action::Update => unified_diff(&step.object, live.as_ref(), desired.as_ref(), &to_yaml),
        };
        if let Some(reason) = &step.reason {
            out.push_str(&format!("# {}: {reason}\n", step.object));
        }
        out.push_str(&if coloured { colour_diff(&text) } else { text });
    }
    print!("{out}");
    Ok(if plan.has_changes() { 1 } else { 0 })
}
