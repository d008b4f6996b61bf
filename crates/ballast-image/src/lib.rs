//! Image automation's pure parts, shared by the controller (Flux's `ImagePolicy` and
//! `ImageUpdateAutomation`) and the CI helpers of the CLI:
//!
//! - [`constraint`]: semver ranges with Masterminds v3 semantics (what Flux and Helm use);
//! - [`policy`]: choosing the newest tag (`semver`, `alphabetical`, `numerical`, `filterTags`),
//!   skipping tags a policy cannot read instead of failing;
//! - [`setters`]: rewriting values marked `# {"$imagepolicy": "ns:name"}` in YAML files,
//!   changing only the marked scalar's bytes.

pub mod constraint;
pub mod policy;
pub mod setters;

pub use constraint::{Constraint, ConstraintError, parse_tag};
pub use policy::{Policy, PolicyError, Selection, TagFilter, exclusions, select};
pub use setters::{Change, ImageRef, Marker, ObjectId, SetterError, parse_marker, update};
