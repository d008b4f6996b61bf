//! Helm charts rendered natively, byte for byte as `helm template` (helm v4) prints them.
//!
//! The parts, in the order a render uses them:
//! - [`chart`]: loading a chart from a directory or a `.tgz` (safely), `.helmignore`,
//!   `Chart.yaml`, dependencies in `charts/`.
//! - [`values`]: Helm's values: `-f` files and the `--set` family, coalescing with chart
//!   defaults, globals, dependency conditions, tags and `import-values`; [`schema`] validation.
//! - [`yaml`], [`json`], [`toml`]: the data formats as Helm's Go libraries read and write them.
//! - [`funcs`]: sprig v3 and Helm's functions, on [`ballast_gotemplate`].
//! - [`engine`]: every template of every enabled chart parsed into one set and executed.
//! - [`output`]: documents split, sorted in Helm's install order and printed as `helm template`.

pub mod capabilities;
pub mod chart;
pub mod engine;
pub mod files;
pub mod funcs;
pub mod json;
pub mod output;
pub mod schema;
pub mod semver;
pub mod toml;
pub mod values;
pub mod yaml;

pub use ballast_gotemplate::Value;
pub use chart::Chart;
