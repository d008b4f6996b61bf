//! The [`Applier`]: turns desired manifests into a [`ballast_core::Plan`] (for `diff`) or applies
//! them stage by stage (for `sync`) and returns the [`ballast_core::ChangeSet`].
//!
//! Rules it keeps:
//! - objects are compared as a server-side dry-run apply would leave them, normalized; an
//!   unchanged object costs a GET and a dry-run, never a write;
//! - stages (CRDs, Namespaces, cluster RBAC first) are planned completely before any of their
//!   objects is written: an invalid object stops its stage before anything in it is applied;
//! - CRDs must be Established and Namespaces Active before the next stage starts;
//! - a conflict with another *applier* is an error unless forced; fields taken by an imperative
//!   edit (an `Update` operation, e.g. `kubectl scale`) are drift and are taken back;
//! - every object of every stage is checked (and dry-run where its kind and namespace exist)
//!   before the first write ([`Applier::prepare`]); the caller records the prepared objects in
//!   the inventory before [`Applier::execute`] writes, so a crash part-way orphans nothing;
//! - prune deletes only inventory entries whose owner labels name this owner, only objects still
//!   managed by Ballast, never the same live object (UID) applied under another group, never
//!   objects annotated `kustomize.toolkit.fluxcd.io/prune: disabled`, never protected objects
//!   (system namespaces; CRDs with custom resources and Namespaces with other objects unless
//!   allowed), and nothing at all when over the deletion budget unless approved; every delete
//!   carries a UID precondition.

mod applier;
mod inventory_store;
mod prune;

pub use applier::{Applier, ApplyError, ApplyOptions, PreparedApply};
pub use inventory_store::{InventoryStore, StoredInventory};
pub use prune::{ALLOW_PROTECTED_ANNOTATION, PRUNE_ANNOTATION, PruneBudget, SYSTEM_NAMESPACES};
