//! Renders an artifact directory into Kubernetes manifests.
//!
//! Pure: files in, [`Manifest`]s out; no cluster access. What the renderer needs to know about the
//! cluster (which kinds are namespaced) comes in through the [`Scopes`] trait.
//!
//! Engines: [`plain`] (every YAML/JSON file under a path, recursively) and [`kustomize`] (a
//! native build of a directory with a `kustomization.yaml`, used wherever the plain walk meets one).
//!
//! Safety: every file either engine reads goes through [`Root`], which resolves symlinks and
//! refuses anything outside the repository root, and refuses files over the size limit before
//! reading them; YAML is parsed within [`Limits`] (documents per file, size after alias
//! expansion, nesting), and the whole render within a total size and object count (defaults
//! and flags in [`limits`]). Error messages never quote scalar values or generator literals.

pub mod decrypt;
pub mod emit;
pub mod envsubst;
pub mod kustomize;
pub mod limits;
pub mod plain;
pub mod postbuild;
pub mod root;
pub mod scope;
pub mod yaml;

use std::path::PathBuf;
use std::sync::Arc;

use ballast_core::{ManifestError, Origin};

pub use limits::Limits;
pub use plain::{render_plain, render_with_overrides};
pub use root::Root;
pub use scope::{BuiltinScopes, Scope, Scopes};

/// What to render and how.
#[derive(Clone, Debug, Default)]
pub struct RenderSpec {
    /// Directory to render, relative to the artifact root (`.` or empty for the root).
    pub path: PathBuf,
    /// When set, every namespaced object is put in this namespace (Flux `targetNamespace`).
    pub target_namespace: Option<String>,
    /// Namespace for namespaced objects that name none (the kubeconfig context's namespace).
    pub default_namespace: Option<String>,
    /// Files to leave out, in `.gitignore` syntax (Flux `GitRepository.spec.ignore`); `None`
    /// means [`plain::DEFAULT_IGNORE`]. `.sourceignore` files in the tree apply in both cases.
    pub ignore: Option<String>,
    /// Bounds on what the render reads and produces.
    pub limits: Limits,
    /// Decrypts encrypted files and objects in memory (Flux `spec.decryption`); `None` leaves
    /// them as they are.
    pub decrypt: Option<Arc<dyn decrypt::Decrypt>>,
}

/// Why a render failed. Every variant names the file (and object or document) at fault.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The path to render does not exist or is not a directory.
    #[error("path {0}: not found in the source (or not a directory)")]
    PathNotFound(PathBuf),
    /// A path or symlink points outside the repository.
    #[error("{0}: refers outside the repository root; refused")]
    OutsideRoot(PathBuf),
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A file is not valid YAML or JSON.
    #[error("{file}: {error}")]
    Syntax {
        /// File.
        file: PathBuf,
        /// Position and cause.
        error: yaml::YamlError,
    },
    /// A document is not a Kubernetes object.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Two documents describe the same object.
    #[error("{object}: defined twice, in {first} and in {second}")]
    Duplicate {
        /// `Kind/ns/name`.
        object: String,
        /// First definition.
        first: Origin,
        /// Second definition.
        second: Origin,
    },
    /// No API serves the object's kind.
    #[error(
        "{origin}: {object}: unknown kind {api_version} {kind}: the cluster serves no such API and no CustomResourceDefinition in this source defines it"
    )]
    UnknownKind {
        /// Where the object is.
        origin: Origin,
        /// `Kind/ns/name`.
        object: String,
        /// apiVersion.
        api_version: String,
        /// Kind.
        kind: String,
    },
    /// A file, or the render, is over one of the [`Limits`].
    #[error("{file}: {message}")]
    Limit {
        /// File (or what was being rendered).
        file: PathBuf,
        /// Which limit, and how to raise it.
        message: String,
    },
    /// An encrypted file or object cannot be decrypted.
    #[error("{file}: {message}")]
    Decrypt {
        /// File (and document) or object.
        file: PathBuf,
        /// Why; never a plaintext value.
        message: String,
    },
    /// Flux's `postBuild` substitution failed on an object.
    #[error("{object}: {message}")]
    Substitute {
        /// The object (`Kind/namespace/name`), or `postBuild` for the variables themselves.
        object: PathBuf,
        /// Why; never a variable's value.
        message: String,
    },
    /// A kustomization cannot be built.
    #[error("{file}: {message}")]
    Kustomize {
        /// The kustomization file.
        file: PathBuf,
        /// What is wrong, starting with the entry.
        message: String,
    },
}
