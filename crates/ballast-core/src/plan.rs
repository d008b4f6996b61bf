//! The typed plan: what a sync would do to each object.

use serde_json::Value;

use crate::object::ObjectRef;

/// What will happen to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Absent from the cluster; will be created.
    Create,
    /// Present and different from what applying would produce; will be updated.
    Update,
    /// Present and equal to what applying would produce; nothing is written.
    Unchanged,
    /// In the previous inventory, not in the desired state; will be deleted.
    Prune,
    /// Left alone and dropped from the inventory, with a reason (e.g. prune disabled by
    /// annotation, now owned by another unit, the same object applied under another API group).
    Skip,
    /// Desired, but left as it is by a per-object policy (`kustomize.toolkit.fluxcd.io/ssa:
    /// Ignore` or `IfNotPresent` on an existing object, `kustomize.toolkit.fluxcd.io/reconcile:
    /// disabled`): nothing written, still owned.
    Ignore,
    /// Would be pruned but is protected (a CRD with custom resources, a Namespace holding
    /// objects of others, a prune over the deletion budget): left in the cluster and kept in the
    /// inventory, with the reason, until it can be deleted.
    Keep,
}

impl Action {
    /// Lower-case verb for output.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Prune => "prune",
            Action::Skip => "skip",
            Action::Keep => "keep",
            Action::Ignore => "ignore",
        }
    }
}

/// One object's step in a plan.
#[derive(Clone, Debug)]
pub struct Step {
    /// The object.
    pub object: ObjectRef,
    /// What will happen to it.
    pub action: Action,
    /// The object as it would be after applying (the dry-run result), when known.
    pub desired: Option<Value>,
    /// The object as it is now, when it exists.
    pub live: Option<Value>,
    /// Why the step is skipped, or other detail worth showing.
    pub reason: Option<String>,
    /// For updates: the fields that differ (`spec.replicas`, ...), at most a handful.
    pub fields: Vec<String>,
}

/// Objects that are applied together; a stage completes (and its CRDs and Namespaces are ready)
/// before the next starts.
#[derive(Clone, Debug, Default)]
pub struct Stage {
    /// Name for messages, e.g. `definitions`, `resources`.
    pub name: String,
    /// Steps in apply order.
    pub steps: Vec<Step>,
}

/// Desired vs live for a whole sync: staged apply steps, then prunes.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Apply stages in order.
    pub stages: Vec<Stage>,
    /// Prune and skipped-prune steps, executed after every stage succeeded.
    pub prunes: Vec<Step>,
}

impl Plan {
    /// Every step, stages first, then prunes.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.stages
            .iter()
            .flat_map(|s| s.steps.iter())
            .chain(self.prunes.iter())
    }

    /// True when applying the plan would write something.
    pub fn has_changes(&self) -> bool {
        self.steps()
            .any(|s| matches!(s.action, Action::Create | Action::Update | Action::Prune))
    }
}
