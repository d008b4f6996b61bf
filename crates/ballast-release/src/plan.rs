//! [`Releases::plan`]: what an upgrade (or, for a release that does not exist, an install)
//! would change on the cluster, computed without writing anything.
//!
//! The chart is rendered exactly as the action would render it (same render path, the
//! revision it would get, `.Release.IsUpgrade`), its objects placed and marked as the action
//! marks them, and compared with the live cluster by a server-side dry-run with helm's field
//! manager (the plan `ballast diff` prints). Objects the previous deployed manifest held and
//! the new one drops are planned as deletions, unless kept
//! (`helm.sh/resource-policy: keep`) or owned by another release. The diff masks Secret
//! values as `ballast diff` does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ballast_apply::{Applier, ApplyOptions};
use ballast_core::{Action, Inventory, Manifest, ObjectRef, Plan, Step};
use ballast_helm::release::{HookRecord, Status};
use ballast_helm::values::ValueOptions;
use ballast_plan::{normalize_for_compare, unified_diff_with_context};
use ballast_render::emit::to_yaml;
use serde_json::Value;

use crate::objects::{documents, keep, release_objects};
use crate::{ActionOptions, HELM_FIELD_MANAGER, ReleaseError, Releases, err};

/// What an upgrade or install of a release would change.
#[derive(Clone, Debug, Default)]
pub struct ReleasePlan {
    /// The release exists (an upgrade); false: an install (no revision, or only an
    /// uninstalled latest one, as `helm upgrade --install` decides).
    pub exists: bool,
    /// Per-object actions: creates, updates and unchanged objects in apply order; the objects
    /// the new manifest drops as `Prune` steps (`plan.prunes`).
    pub plan: Plan,
    /// Unified diff of every changed object (live → desired), Secret values masked.
    pub diff: String,
    /// True when applying the plan would write or delete an object, or a hook differs.
    pub changed: bool,
    /// The hooks that differ from the revision an upgrade replaces (every hook of an
    /// install), as a masked diff; empty with `ActionOptions::no_hooks`. Part of `diff`.
    pub hooks_diff: String,
}

/// The masked unified diff of a plan's changed objects, as `ballast diff` prints it (without
/// colour): unchanged objects omitted, skipped ones named with their reason.
pub fn plan_diff(plan: &Plan) -> String {
    plan_diff_with_context(plan, 3)
}

/// [`plan_diff`] with `context` lines around each change.
pub fn plan_diff_with_context(plan: &Plan, context: usize) -> String {
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
            Action::Prune => unified_diff_with_context(&step.object, live.as_ref(), None, &to_yaml, context),
            Action::Create | Action::Update => {
                unified_diff_with_context(&step.object, live.as_ref(), desired.as_ref(), &to_yaml, context)
            }
        };
        if let Some(reason) = &step.reason {
            out.push_str(&format!("# {}: {reason}\n", step.object));
        }
        out.push_str(&text);
    }
    out
}

/// A hook's identity and its object (unparsable documents compare as text).
fn hook_object(h: &HookRecord) -> (String, Option<Value>) {
    let object = documents(&h.manifest).ok().and_then(|d| d.into_iter().next());
    (format!("{}/{}/{}", h.path, h.kind, h.name), object)
}

/// The masked diff of the hooks that differ between `old` and `new` (helm-diff compares
/// hooks unless told not to).
fn hooks_diff(old: &[HookRecord], new: &[HookRecord]) -> String {
    let old: BTreeMap<String, (Option<Value>, &str)> = old
        .iter()
        .map(|h| {
            let (k, o) = hook_object(h);
            (k, (o, h.manifest.as_str()))
        })
        .collect();
    let new: BTreeMap<String, (Option<Value>, &str)> = new
        .iter()
        .map(|h| {
            let (k, o) = hook_object(h);
            (k, (o, h.manifest.as_str()))
        })
        .collect();
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = String::new();
    for k in keys {
        let (a, b) = (old.get(k), new.get(k));
        if a.map(|x| x.1) == b.map(|x| x.1) {
            continue;
        }
        let object = [b, a]
            .into_iter()
            .flatten()
            .find_map(|x| x.0.as_ref())
            .and_then(|o| {
                let origin = ballast_core::Origin {
                    file: "hook".into(),
                    document: 0,
                };
                Manifest::new(o.clone(), origin).ok()
            })
            .map(|m| m.object_ref());
        let Some(r) = object else {
            out.push_str(&format!("# hook {k} changed (not a readable object)\n"));
            continue;
        };
        let text = unified_diff_with_context(
            &r,
            a.and_then(|x| x.0.as_ref()),
            b.and_then(|x| x.0.as_ref()),
            &to_yaml,
            3,
        );
        if !text.is_empty() {
            out.push_str(&format!("# hook {k}\n{text}"));
        }
    }
    out
}

impl Releases {
    /// What `upgrade` (or `install` when the release does not exist) of `chart` with `values`
    /// would change, without writing anything: no record, no object, no recovery of a
    /// pending revision. With `opts.create_namespace`, an install into a missing namespace
    /// plans its creation. An install's plan includes the chart's CRDs (helm installs them
    /// first); an upgrade never touches CRDs, as helm. Hooks are not planned.
    pub async fn plan(
        &self,
        name: &str,
        chart: &Path,
        values: &ValueOptions,
        opts: &ActionOptions,
    ) -> Result<ReleasePlan, ReleaseError> {
        let records = self.stored(name).await?;
        let latest = records.last().map(|s| &s.release);
        let exists = latest.is_some_and(|l| l.info.status != Status::Uninstalled);
        let version = latest.map_or(1, |l| l.version + 1);
        // The objects of the revision an upgrade replaces: the last deployed one (else the
        // latest), as `upgrade` deletes what it dropped.
        let current = records
            .iter()
            .rev()
            .find(|s| s.release.info.status == Status::Deployed)
            .map(|s| &s.release)
            .or(latest.filter(|_| exists));
        let rendered = self.render(name, chart, values, version, exists, opts).await?;
        let mut objects = Vec::new();
        if opts.create_namespace && !exists {
            let r = ObjectRef::new("v1", "Namespace", None, &self.namespace);
            if self.cluster.get(&r).await.map_err(err)?.is_none() {
                let origin = ballast_core::Origin {
                    file: "namespace".into(),
                    document: 0,
                };
                objects.push(Manifest::new(self.namespace_object(), origin).map_err(err)?);
            }
        }
        if !exists {
            for c in &rendered.crds {
                for (i, doc) in documents(&c.text)?.into_iter().enumerate() {
                    let origin = ballast_core::Origin {
                        file: c.path.clone().into(),
                        document: i,
                    };
                    objects.push(Manifest::new(doc, origin).map_err(err)?);
                }
            }
        }
        objects.extend(release_objects(
            &self.cluster,
            &rendered.manifest,
            name,
            &self.namespace,
        )?);
        let options = ApplyOptions {
            take_over: vec![HELM_FIELD_MANAGER.to_string()],
            ..ApplyOptions::default()
        };
        let mut plan = Applier::new(&self.cluster, options)
            .plan(&objects, &Inventory::default())
            .await
            .map_err(err)?;
        if let Some(current) = current {
            let old = release_objects(&self.cluster, &current.manifest, name, &self.namespace)?;
            plan.prunes = self.dropped(name, &old, &objects).await?;
        }
        let hooks_diff = if opts.no_hooks {
            String::new()
        } else {
            hooks_diff(
                current.filter(|_| exists).map(|c| c.hooks.as_slice()).unwrap_or(&[]),
                &rendered.hooks,
            )
        };
        let diff = plan_diff(&plan) + &hooks_diff;
        let changed = plan.has_changes() || !hooks_diff.is_empty();
        Ok(ReleasePlan {
            exists,
            plan,
            diff,
            changed,
            hooks_diff,
        })
    }

    /// The deletions `upgrade` would make: live objects of `old` absent from `new`, not kept
    /// and owned by this release (as `delete_dropped` decides), last installed first.
    async fn dropped(&self, release: &str, old: &[Manifest], new: &[Manifest]) -> Result<Vec<Step>, ReleaseError> {
        let wanted: BTreeSet<String> = new.iter().map(|m| m.object_ref().to_string()).collect();
        let mut steps = Vec::new();
        for m in old.iter().rev() {
            let r = m.object_ref();
            if wanted.contains(&r.to_string()) || !self.cluster.serves(&r) {
                continue;
            }
            let Some(live) = self.cluster.get(&r).await.map_err(err)? else {
                continue;
            };
            if !self.owns(release, &live) {
                continue;
            }
            let kept = keep(m);
            steps.push(Step {
                object: r,
                action: if kept { Action::Keep } else { Action::Prune },
                desired: None,
                live: Some(live),
                reason: kept.then(|| format!("{}: keep", crate::objects::RESOURCE_POLICY)),
                fields: Vec::new(),
            });
        }
        Ok(steps)
    }
}
