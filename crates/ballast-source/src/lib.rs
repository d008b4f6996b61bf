//! Sources.
//!
//! Git sources: resolve a reference (branch, tag, semver range, commit), fetch it into a
//! content-addressed cache, and hand out an [`ballast_core::Artifact`].
//!
//! Transport is the `git` command line (file://, http(s)://, ssh://), driven with a clean
//! environment: no prompts, no credential helpers, credentials passed through environment
//! configuration (never on the command line or in messages), SSH host keys checked strictly
//! against the given `known_hosts`.
//!
//! Guarantees:
//! - an unchanged commit costs one `ls-remote` and no fetch or checkout;
//! - an artifact directory is complete or absent (written to a temporary directory, then renamed);
//! - errors say which reference, which range or which remote, with credentials redacted;
//! - the cache is isolated per URL and credentials, one fetch at a time per cached repository
//!   (a file lock, so a CLI and a controller sharing a cache do not corrupt it), and old
//!   artifacts are collected (see [`fetch`]);
//! - credentials written in a URL never reach a command line (they become an HTTP header in the
//!   environment), and basic or bearer credentials over plain `http://` are refused unless the
//!   source is marked [`GitSource::insecure`];
//! - a tree larger than [`FetchOptions::max_artifact_size`] (default
//!   [`DEFAULT_MAX_ARTIFACT_SIZE`]) is refused, naming the repository and revision, before any
//!   file is extracted.
//!
//! Helm chart sources (asynchronous, over HTTP(S); see each module for its guarantees):
//! [`helm_repo`] reads an HTTP chart repository's `index.yaml` and downloads charts
//! (`HelmRepository` of the default type), [`oci`] reads OCI registries (`HelmRepository` of
//! `type: oci`, `OCIRepository`), [`chart_package`] packages a chart directory of a source
//! (`HelmChart` from a `GitRepository`), [`chart_archive`] merges `valuesFiles` into a chart
//! and extracts layers, [`artifact_store`] keeps the files they produce, and [`remote`] holds
//! the HTTP client, credentials from secrets and the errors ([`ChartSourceError`]).
//!

pub mod artifact_store;
pub mod chart_archive;
pub mod chart_package;
pub mod commit_signing;
mod git;
mod helm_index;
pub mod helm_repo;
pub mod oci;
pub mod remote;
mod semver_range;
pub mod signature;

use std::path::PathBuf;
use std::time::Duration;

pub use git::{
    ARTIFACT_GRACE, PushAttempt, PushRetryError, Pushed, RebaseError, WriteCheckout, cached, checkout_for_write,
    commit_object, fetch, is_push_rejected, push_retrying, tag_object,
};
pub use helm_repo::{ChartArtifact, ChartIndex, HelmLimits, HelmRepositoryClient, HelmRepositoryOptions, IndexCache};
pub use remote::{BasicAuth, ChartSourceError, HttpClient, Proxy, TlsOptions, basic_auth_from_secret, tls_from_secret};
pub use semver_range::SemverRange;

/// Which revision to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GitRef {
    /// The remote's default branch (its `HEAD`).
    Default,
    /// The tip of a branch.
    Branch(String),
    /// A tag.
    Tag(String),
    /// The highest tag matching a semver range (Masterminds syntax: `>=1.0.0 <2.0.0`, `~1.2`,
    /// `^1`, `1.2.x`, `1.2 - 1.4`, `||`).
    Semver(String),
    /// An exact commit (40 hex digits).
    Commit(String),
    /// Any reference by its full name, e.g. `refs/pull/420/head` or `refs/merge-requests/1/head`
    /// (Flux's `ref.name`); the revision is `<name>@sha1:<commit>`.
    Name(String),
}

/// Credentials for a remote.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// None.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// HTTP bearer token.
    Bearer(String),
    /// SSH private key, checked against `known_hosts` (required; an unknown host is refused).
    Ssh {
        /// Private key file.
        identity: PathBuf,
        /// known_hosts file.
        known_hosts: PathBuf,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::Ssh { identity, known_hosts } => write!(f, "Ssh({}, {})", identity.display(), known_hosts.display()),
        }
    }
}

/// A Git source to fetch.
#[derive(Clone)]
pub struct GitSource {
    /// Remote URL: `file://`, `http://`, `https://` or `ssh://`. User-info in an http(s) URL is
    /// taken as basic credentials (when `auth` is `None`) and removed before git sees the URL.
    pub url: String,
    /// Revision to fetch.
    pub reference: GitRef,
    /// Credentials.
    pub auth: Auth,
    /// Allow basic or bearer credentials over plain `http://` (refused otherwise: they would
    /// travel in clear).
    pub insecure: bool,
}

impl std::fmt::Debug for GitSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitSource")
            .field("url", &redact_url(&self.url))
            .field("reference", &self.reference)
            .field("auth", &self.auth)
            .field("insecure", &self.insecure)
            .finish()
    }
}

/// Default [`FetchOptions::max_artifact_size`]: 256 MiB of files in the extracted tree.
pub const DEFAULT_MAX_ARTIFACT_SIZE: u64 = 256 << 20;

/// Default [`FetchOptions::keep_artifacts`]: artifacts kept per repository.
pub const DEFAULT_KEEP_ARTIFACTS: usize = 5;

/// Where to cache, how long to wait, how much to accept.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Cache directory (repositories and artifacts live under it).
    pub cache_dir: PathBuf,
    /// Limit for each remote operation, and for waiting on another fetch of the same repository.
    pub timeout: Duration,
    /// Largest tree accepted, in bytes (the sum of its file sizes).
    pub max_artifact_size: u64,
    /// Artifacts kept per cached repository (the most recently used; at least one).
    pub keep_artifacts: usize,
    /// TLS settings of an `https://` remote: CA certificates trusted instead of the system's,
    /// a client certificate and key (mutual TLS), or no verification of the server.
    pub tls: TlsOptions,
    /// Directories of the repository the artifact holds (Flux's `sparseCheckout`): empty for
    /// the whole tree. Each must exist at the fetched commit.
    pub sparse: Vec<String>,
}

impl FetchOptions {
    /// Options with the default size limit and retention.
    pub fn new(cache_dir: PathBuf, timeout: Duration) -> Self {
        FetchOptions {
            cache_dir,
            timeout,
            max_artifact_size: DEFAULT_MAX_ARTIFACT_SIZE,
            keep_artifacts: DEFAULT_KEEP_ARTIFACTS,
            tls: TlsOptions::default(),
            sparse: Vec::new(),
        }
    }
}

/// Parses a size: bytes, or a number with `Ki`, `Mi`, `Gi` (powers of 1024) or `k`, `M`, `G`
/// (powers of 1000), as Kubernetes quantities are written.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid size {text:?}: expected e.g. 256Mi"))?;
    let factor: u64 = match unit {
        "" => 1,
        "k" => 1000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => return Err(format!("invalid size {text:?}: unit must be Ki, Mi, Gi, k, M or G")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("invalid size {text:?}: too large"))
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The branch or tag does not exist on the remote.
    #[error("{url}: {kind} {name:?} not found")]
    RefNotFound {
        /// Remote (credentials redacted).
        url: String,
        /// `branch` or `tag`.
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
    /// No tag matches the range.
    #[error("{url}: no tag matches semver range {range:?} (tags: {tags})")]
    NoMatchingTag {
        /// Remote.
        url: String,
        /// The range.
        range: String,
        /// Some tags seen.
        tags: String,
    },
    /// The range does not parse.
    #[error("invalid semver range {range:?}: {message}")]
    InvalidRange {
        /// The range.
        range: String,
        /// Why.
        message: String,
    },
    /// The commit does not exist on the remote.
    #[error("{url}: commit {commit} not found")]
    CommitNotFound {
        /// Remote.
        url: String,
        /// The commit.
        commit: String,
    },
    /// The remote refused our credentials.
    #[error("{url}: authentication failed: {message}")]
    Auth {
        /// Remote.
        url: String,
        /// Git's message.
        message: String,
    },
    /// SSH host key unknown or changed.
    #[error("{url}: host key verification failed: the server's key is not in the given known_hosts; refused")]
    HostKey {
        /// Remote.
        url: String,
    },
    /// The remote cannot be reached or is not a repository.
    #[error("{url}: unreachable: {message}")]
    Unreachable {
        /// Remote.
        url: String,
        /// Git's message.
        message: String,
    },
    /// The operation took longer than the timeout.
    #[error("{url}: timed out after {timeout:?}")]
    Timeout {
        /// Remote.
        url: String,
        /// The limit.
        timeout: Duration,
    },
    /// The commit's tree is larger than the limit; nothing was extracted.
    #[error(
        "{url}: revision {revision} is too large: its files add up to {size} bytes, over the limit of {limit} bytes (raise it with --max-artifact-size); nothing extracted"
    )]
    TooLarge {
        /// Remote.
        url: String,
        /// The revision refused.
        revision: String,
        /// Bytes in the tree.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Bad input (URL scheme, missing known_hosts...).
    #[error("{0}")]
    Invalid(String),
    /// Local failure (cache directory, git not installed...).
    #[error("{0}")]
    Local(String),
}

/// `url` with credentials removed: for http(s) the whole user-info becomes `***@` (a token may
/// stand in the user name); for ssh only a bare user name (`git@`) is kept.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let (userinfo, host) = (&authority[..at], &authority[at + 1..]);
    let shown = if scheme == "ssh" && !userinfo.contains(':') {
        userinfo
    } else {
        "***"
    };
    format!("{scheme}://{shown}@{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::{parse_size, redact_url};

    #[test]
    fn sizes_parse_as_quantities() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("256Mi"), Ok(256 << 20));
        assert_eq!(parse_size("2Gi"), Ok(2 << 30));
        assert_eq!(parse_size("10k"), Ok(10_000));
        assert!(parse_size("12MB").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn credentials_never_survive_redaction() {
        assert_eq!(
            redact_url("https://user:p@ss@example.invalid/r.git"),
            "https://***@example.invalid/r.git"
        );
        assert_eq!(
            redact_url("https://ghp_TOKEN@example.invalid/r.git"),
            "https://***@example.invalid/r.git"
        );
        assert_eq!(
            redact_url("ssh://git@example.invalid/r.git"),
            "ssh://git@example.invalid/r.git"
        );
        assert_eq!(
            redact_url("ssh://git:pw@example.invalid/r.git"),
            "ssh://***@example.invalid/r.git"
        );
        assert_eq!(redact_url("https://example.invalid/a@b"), "https://example.invalid/a@b");
        assert_eq!(redact_url("file:///tmp/x"), "file:///tmp/x");
    }
}
