//! Image automation's pure parts, shared by the controller (Flux's `ImagePolicy` and
//! `ImageUpdateAutomation`) and the CI helpers of the CLI:
//!
//! - [`constraint`]: semver ranges with Masterminds v3 semantics (what Flux and Helm use);
//! - [`policy`]: choosing the newest tag (`semver`, `alphabetical`, `numerical`, `filterTags`),
//!   skipping tags a policy cannot read instead of failing;
//! - [`setters`]: rewriting values marked `# {"$imagepolicy": "ns:name"}` in YAML files,
//!   changing only the marked scalar's bytes;
//! - [`kustomization`]: `kustomize edit set image`, in place;
//! - [`values`]: one value set by key path (`image.tag`) in a YAML file, in place.

pub mod constraint;
pub mod kustomization;
pub mod policy;
pub mod setters;
pub mod values;

pub use constraint::{Constraint, ConstraintError, Version, parse_tag};
pub use kustomization::{EditError, ImageOverride, parse_override, set_images, split_image};
pub use policy::{Policy, PolicyError, Selection, TagFilter, exclusions, select};
pub use setters::{Change, ImageRef, Marker, ObjectId, SetterError, parse_marker, update};
pub use values::{ValueError, set_value};
