//! Ballast's plain types and pure functions.
//!
//! Nothing here performs I/O or needs an async runtime: every other crate speaks in these words
//! (`ObjectRef`, `Manifest`, `Revision`, `Artifact`, `Plan`, `ChangeSet`, `Inventory`,
//! `HealthStatus`), so they can be tested on plain values.

pub mod changeset;
pub mod duration;
pub mod health;
pub mod inventory;
pub mod manifest;
pub mod object;
pub mod plan;
pub mod revision;
pub mod scope;

pub use changeset::{Change, ChangeSet, ChangeSetEntry};
pub use duration::parse_duration;
pub use health::{HealthReport, HealthStatus};
pub use inventory::{Inventory, InventoryEntry};
pub use manifest::{Manifest, ManifestError, Origin};
pub use object::ObjectRef;
pub use plan::{Action, Plan, Stage, Step};
pub use revision::{Artifact, Revision};
pub use scope::{Scope, Scopes};
