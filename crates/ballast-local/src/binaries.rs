//! Finding the control-plane binaries.

use std::path::{Path, PathBuf};

/// Paths of the binaries a control plane needs.
#[derive(Clone, Debug)]
pub struct Binaries {
    /// etcd.
    pub etcd: PathBuf,
    /// kube-apiserver.
    pub kube_apiserver: PathBuf,
    /// kube-controller-manager.
    pub kube_controller_manager: PathBuf,
}

/// A binary could not be found.
#[derive(Debug, thiserror::Error)]
#[error(
    "{name} not found (looked in {searched}); install it with `scripts/install-deps` (cached under ~/.cache/ballast/bin)"
)]
pub struct BinariesError {
    /// Missing binary.
    pub name: String,
    /// Where we looked.
    pub searched: String,
}

impl Binaries {
    /// Directories searched, in order: `$BALLAST_BIN_DIR`, `$BALLAST_CACHE/bin` (default
    /// `~/.cache/ballast/bin`), then `$PATH`.
    pub fn search_path() -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(d) = std::env::var_os("BALLAST_BIN_DIR") {
            dirs.push(PathBuf::from(d));
        }
        dirs.push(cache_dir().join("bin"));
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        dirs
    }

    /// Finds every binary or says which is missing and how to install it.
    pub fn find() -> Result<Self, BinariesError> {
        Ok(Binaries {
            etcd: find_binary("etcd")?,
            kube_apiserver: find_binary("kube-apiserver")?,
            kube_controller_manager: find_binary("kube-controller-manager")?,
        })
    }
}

/// Ballast's cache directory: `$BALLAST_CACHE`, or `~/.cache/ballast`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BALLAST_CACHE") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache").join("ballast")
}

/// Finds one binary on [`Binaries::search_path`].
pub fn find_binary(name: &str) -> Result<PathBuf, BinariesError> {
    let dirs = Binaries::search_path();
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
        .ok_or_else(|| BinariesError {
            name: name.to_string(),
            searched: dirs
                .iter()
                .take(2)
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
                + ", $PATH",
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
