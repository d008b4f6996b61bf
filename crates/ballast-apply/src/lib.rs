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
//! - prune deletes only inventory entries, only objects still managed by Ballast, never objects
//!   annotated `kustomize.toolkit.fluxcd.io/prune: disabled`.

mod applier;
mod inventory_store;
mod prune;

pub use applier::{Applier, ApplyError, ApplyOptions};
pub use inventory_store::{InventoryStore, StoredInventory};
pub use prune::PRUNE_ANNOTATION;
