//! Helm values: `-f` files and the `--set` family, coalescing with chart defaults.

use std::path::PathBuf;

/// The user-supplied values of one render, as `helm template` takes them, applied in this
/// order: `-f` files (deep-merged in order), then `--set`, `--set-string`, `--set-json`,
/// `--set-file`, `--set-literal`, each list in order.
#[derive(Clone, Debug, Default)]
pub struct ValueOptions {
    /// `-f`/`--values` files.
    pub files: Vec<PathBuf>,
    /// `--set a=b,c.d=e`.
    pub set: Vec<String>,
    /// `--set-string`.
    pub set_string: Vec<String>,
    /// `--set-json a={"b":1}`.
    pub set_json: Vec<String>,
    /// `--set-file a=path`.
    pub set_file: Vec<String>,
    /// `--set-literal a=b,c` (the whole right side, commas included).
    pub set_literal: Vec<String>,
}
