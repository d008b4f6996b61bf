//! `ballast diff`: what a sync would change.

use std::path::Path;

use anyhow::{Result, anyhow};
use ballast_apply::{Applier, ApplyOptions};
use ballast_core::Action;
use ballast_plan::{normalize_for_compare, unified_diff};
use ballast_render::emit::to_yaml;

use crate::cli::DiffArgs;
use crate::output::{colour, colour_diff};
use crate::pipeline::{Prepared, prepare};

pub async fn run(args: &DiffArgs, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let t = &args.target;
    let Prepared {
        cluster,
        manifests,
        previous,
        ..
    } = prepare(t, kubeconfig, context).await?;
    let options = ApplyOptions {
        prune: !args.no_prune,
        ..crate::pipeline::apply_options(t)?
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
            Action::Skip | Action::Keep | Action::Ignore => {
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
