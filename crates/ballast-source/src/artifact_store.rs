//! Files produced by chart sources (a chart archive, an OCI layer, an index), stored where a
//! reconciler reports them, as Flux lays out its storage:
//! `<kind>/<namespace>/<name>/<file>` under a root directory.
//!
//! Guarantees:
//! - a stored file is complete or absent (written to a temporary file, synced, then renamed);
//! - storing the same bytes again does not rewrite the file (its time is refreshed);
//! - after a store, only the `keep` most recently stored files of that object remain (the one
//!   just stored always does);
//! - kind, namespace, name and file must be single path components (no `/`, no `..`).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::remote::{ChartSourceError, sha256_digest};

/// Where an artifact was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredArtifact {
    /// Path relative to the store's root, as Flux's `artifact.path`:
    /// `helmchart/default/podinfo/podinfo-6.5.0.tgz`.
    pub path: String,
    /// Absolute file path.
    pub file: PathBuf,
    /// `file://` URL of the file.
    pub url: String,
    /// `sha256:<hex>` of the content.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
}

/// A directory of artifacts.
#[derive(Clone, Debug)]
pub struct ArtifactStore {
    root: PathBuf,
    keep: usize,
}

impl ArtifactStore {
    /// A store under `root` keeping `keep` files per object (at least one).
    pub fn new(root: impl Into<PathBuf>, keep: usize) -> Self {
        ArtifactStore {
            root: root.into(),
            keep: keep.max(1),
        }
    }

    /// Stores `bytes` as `<kind>/<namespace>/<name>/<file>` (kind in lower case, e.g.
    /// `helmchart`).
    pub fn store(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        file: &str,
        bytes: &[u8],
    ) -> Result<StoredArtifact, ChartSourceError> {
        for part in [kind, namespace, name, file] {
            if part.is_empty() || part.contains(['/', '\\']) || part == "." || part == ".." {
                return Err(ChartSourceError::Invalid(format!(
                    "invalid artifact path part {part:?}"
                )));
            }
        }
        let kind = kind.to_ascii_lowercase();
        let dir = self.root.join(&kind).join(namespace).join(name);
        let local = |e: std::io::Error| ChartSourceError::Invalid(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(&dir).map_err(local)?;
        let target = dir.join(file);
        let digest = sha256_digest(bytes);
        let same = std::fs::read(&target).is_ok_and(|old| sha256_digest(&old) == digest);
        if same {
            if let Ok(f) = std::fs::File::options().append(true).open(&target) {
                let _ = f.set_modified(std::time::SystemTime::now());
            }
        } else {
            let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(local)?;
            tmp.write_all(bytes).map_err(local)?;
            tmp.as_file().sync_all().map_err(local)?;
            tmp.persist(&target).map_err(|e| local(e.error))?;
        }
        self.collect(&dir, file);
        Ok(StoredArtifact {
            path: format!("{kind}/{namespace}/{name}/{file}"),
            url: format!("file://{}", target.display()),
            file: target,
            digest,
            size: bytes.len() as u64,
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads a stored artifact by its `path` relative to the root (as [`StoredArtifact::path`]
    /// and Flux's `artifact.path`: `<kind>/<namespace>/<name>/<file>`), checking its content
    /// against `digest` (`sha256:<hex>`). A path of any other shape (absolute, `..`, more or
    /// fewer parts), a missing file or other bytes is an error: what a status says is never
    /// trusted further than this store and the digest.
    pub fn open(&self, path: &str, digest: &str) -> Result<Vec<u8>, ChartSourceError> {
        let parts: Vec<&str> = path.split('/').collect();
        let valid = parts.len() == 4
            && parts
                .iter()
                .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains('\\'));
        if !valid {
            return Err(ChartSourceError::Invalid(format!("invalid artifact path {path:?}")));
        }
        let file = parts.iter().fold(self.root.clone(), |dir, p| dir.join(p));
        let bytes = std::fs::read(&file).map_err(|e| ChartSourceError::Invalid(format!("artifact {path}: {e}")))?;
        let actual = sha256_digest(&bytes);
        if actual != digest {
            return Err(ChartSourceError::Invalid(format!(
                "artifact {path}: digest {actual} does not match {digest}"
            )));
        }
        Ok(bytes)
    }

    /// Removes all but the `keep` most recent files of `dir`, never `current`.
    fn collect(&self, dir: &Path, current: &str) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        let mut files: Vec<(std::time::SystemTime, PathBuf, String)> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| {
                let modified = e.metadata().ok()?.modified().ok()?;
                Some((modified, e.path(), e.file_name().to_string_lossy().into_owned()))
            })
            .collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        let mut kept = 1;
        for (_, path, name) in files {
            if name == current {
                continue;
            }
            if kept < self.keep {
                kept += 1;
            } else {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_atomically_and_keeps_the_most_recent() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(dir.path(), 2);
        let a = store
            .store("HelmChart", "default", "web", "web-1.0.0.tgz", b"one")
            .unwrap();
        assert_eq!(a.path, "helmchart/default/web/web-1.0.0.tgz");
        assert_eq!(a.size, 3);
        assert_eq!(std::fs::read(&a.file).unwrap(), b"one");
        assert!(a.url.starts_with("file:///"));
        std::thread::sleep(std::time::Duration::from_millis(20));
        store
            .store("HelmChart", "default", "web", "web-1.1.0.tgz", b"two")
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let c = store
            .store("HelmChart", "default", "web", "web-1.2.0.tgz", b"three")
            .unwrap();
        let mut left: Vec<String> = std::fs::read_dir(c.file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["web-1.1.0.tgz", "web-1.2.0.tgz"]);
        let again = store
            .store("HelmChart", "default", "web", "web-1.2.0.tgz", b"three")
            .unwrap();
        assert_eq!(again.digest, c.digest);
        assert!(store.store("HelmChart", "..", "web", "x", b"").is_err());
        assert!(store.store("HelmChart", "ns", "web", "a/b", b"").is_err());
        assert_eq!(store.open(&c.path, &c.digest).unwrap(), b"three");
        assert!(store.open(&c.path, &a.digest).is_err(), "another digest");
        assert!(
            store.open("helmchart/default/web/web-1.0.0.tgz", &a.digest).is_err(),
            "collected"
        );
        assert!(store.open("helmchart/../web/web-1.2.0.tgz", &c.digest).is_err());
        assert!(store.open("/etc/passwd", &c.digest).is_err());
        assert!(store.open("web/web-1.2.0.tgz", &c.digest).is_err());
    }
}
