//! What a sync owns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::changeset::{Change, ChangeSet};
use crate::object::ObjectRef;

/// One owned object, in Flux's inventory format: `id` is `<namespace>_<name>_<group>_<kind>`,
/// `v` the API version it was applied with.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InventoryEntry {
    /// `<namespace>_<name>_<group>_<kind>`.
    pub id: String,
    /// API version.
    pub v: String,
}

/// The set of objects a sync applied and therefore owns. Prune deletes only what is in the
/// previous inventory and not in the current desired state — never anything found by search.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Entries sorted by id.
    pub entries: Vec<InventoryEntry>,
}

impl Inventory {
    /// Builds an inventory from object references (sorted, de-duplicated).
    pub fn from_refs<'a>(refs: impl IntoIterator<Item = &'a ObjectRef>) -> Self {
        let map: BTreeMap<String, String> = refs
            .into_iter()
            .map(|r| (r.inventory_id(), r.version.clone()))
            .collect();
        Inventory {
            entries: map.into_iter().map(|(id, v)| InventoryEntry { id, v }).collect(),
        }
    }

    /// The objects a change set leaves owned: everything applied (created, configured, unchanged)
    /// and every protected object kept from a prune; deleted and skipped objects are dropped.
    pub fn from_change_set(cs: &ChangeSet) -> Self {
        Self::from_refs(
            cs.entries
                .iter()
                .filter(|e| {
                    matches!(
                        e.change,
                        Change::Created | Change::Configured | Change::Unchanged | Change::Kept | Change::Ignored
                    )
                })
                .map(|e| &e.object),
        )
    }

    /// The references held, skipping malformed entries.
    pub fn refs(&self) -> Vec<ObjectRef> {
        self.entries
            .iter()
            .filter_map(|e| ObjectRef::from_inventory_id(&e.id, &e.v))
            .collect()
    }

    /// True if the inventory owns nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Objects owned by `self` (the previous inventory) that `current` no longer has: the prune set.
    pub fn stale(&self, current: &[ObjectRef]) -> Vec<ObjectRef> {
        let keep: std::collections::HashSet<&ObjectRef> = current.iter().collect();
        self.refs().into_iter().filter(|r| !keep.contains(r)).collect()
    }

    /// What a sync owns after applying. A complete apply owns exactly what it applied (and the
    /// protected objects a prune kept): without prune, as with Flux's `prune: false`, objects
    /// removed from Git leave the inventory and are never touched again, even when prune is
    /// turned on later. An apply that stopped half-way also keeps everything owned before (and
    /// recorded before its first write), so nothing written or owned is ever orphaned.
    pub fn after_apply(previous: &Inventory, changes: &ChangeSet, completed: bool) -> Inventory {
        let applied = Self::from_change_set(changes);
        if completed { applied } else { applied.union(previous) }
    }

    /// Union of two inventories (used when an apply fails half-way: nothing applied is forgotten).
    /// Where both hold an object, `self`'s version wins (`self` is what was just applied).
    pub fn union(&self, other: &Inventory) -> Inventory {
        let refs: Vec<ObjectRef> = other.refs().into_iter().chain(self.refs()).collect();
        Self::from_refs(refs.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_is_previous_minus_current() {
        let a = ObjectRef::new("v1", "ConfigMap", Some("d"), "a");
        let b = ObjectRef::new("v1", "ConfigMap", Some("d"), "b");
        let ns = ObjectRef::new("v1", "Namespace", None, "d");
        let prev = Inventory::from_refs([&a, &b, &ns]);
        assert_eq!(prev.stale(std::slice::from_ref(&a)), vec![ns.clone(), b.clone()]);
        assert_eq!(prev.entries[0].id, "_d__Namespace");
        assert!(prev.stale(&[a.clone(), b.clone(), ns.clone()]).is_empty());
        let u = Inventory::from_refs([&a]).union(&Inventory::from_refs([&b]));
        assert_eq!(u.refs().len(), 2);
        let old = ObjectRef::new("autoscaling/v2beta2", "HorizontalPodAutoscaler", Some("d"), "h");
        let new = ObjectRef::new("autoscaling/v2", "HorizontalPodAutoscaler", Some("d"), "h");
        assert_eq!(
            Inventory::from_refs([&new])
                .union(&Inventory::from_refs([&old]))
                .entries[0]
                .v,
            "v2"
        );
    }
}
