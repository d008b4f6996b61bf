//! Revisions and artifacts: what a source fetched.

use std::fmt;
use std::path::PathBuf;

/// A fetched revision in Flux's form: `<ref name>@sha1:<40 hex>`, or `sha1:<40 hex>` for an exact
/// commit with no ref name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Revision {
    /// Branch or tag name (`main`, `v1.2.3`); empty for a bare commit.
    pub name: String,
    /// Full commit id, 40 hex digits.
    pub commit: String,
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "sha1:{}", self.commit)
        } else {
            write!(f, "{}@sha1:{}", self.name, self.commit)
        }
    }
}

/// What a source produced: a revision and a directory with its files.
///
/// Guarantee: the directory's content is exactly the tree of `revision.commit` and is never
/// modified after it is produced (it is shared by every user of that commit).
#[derive(Clone, Debug)]
pub struct Artifact {
    /// The revision the files come from.
    pub revision: Revision,
    /// `sha256:<hex>` digest of the artifact's content (the file tree).
    pub digest: String,
    /// Root directory of the checked-out tree.
    pub root: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flux_revision_format() {
        let c = "a".repeat(40);
        let r = Revision {
            name: "main".into(),
            commit: c.clone(),
        };
        assert_eq!(r.to_string(), format!("main@sha1:{c}"));
        let r = Revision {
            name: String::new(),
            commit: c.clone(),
        };
        assert_eq!(r.to_string(), format!("sha1:{c}"));
    }
}
