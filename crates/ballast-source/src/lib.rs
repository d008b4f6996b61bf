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
//! - errors say which reference, which range or which remote, with credentials redacted.

mod git;
mod semver_range;

use std::path::PathBuf;
use std::time::Duration;

pub use git::{WriteCheckout, checkout_for_write, fetch};
pub use semver_range::{SemverRange, parse_version};

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
#[derive(Clone, Debug)]
pub struct GitSource {
    /// Remote URL: `file://`, `http://`, `https://` or `ssh://`.
    pub url: String,
    /// Revision to fetch.
    pub reference: GitRef,
    /// Credentials.
    pub auth: Auth,
}

/// Where to cache and how long to wait.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Cache directory (repositories and artifacts live under it).
    pub cache_dir: PathBuf,
    /// Limit for each remote operation.
    pub timeout: Duration,
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
    use super::redact_url;

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
