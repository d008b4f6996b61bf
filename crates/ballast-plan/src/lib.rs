//! Desired vs live, as a typed [`ballast_core::Plan`]: normalization, comparison, the one ordering
//! table, prune selection and the masked diff. Pure: tested on plain values.

pub mod atomic;
pub mod diff;
pub mod managed;
pub mod normalize;
pub mod order;
pub mod policy;
pub mod settled;
pub mod validate;

pub use diff::{mask_secret, unified_diff, unified_diff_with_context};
pub use managed::{LAST_APPLIED, ManagedEntry, ManagedFields, TAKEN_OVER, takeover_patch, takeover_patch_from};
pub use normalize::{changed_paths, normalize_for_compare, object_digest, owned_digest, prepare_for_apply};
pub use order::{StageKind, apply_order, prune_order, stage_of};
pub use settled::already_applied;
