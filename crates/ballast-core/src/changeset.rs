//! The one result type of a sync.

use std::fmt;

use crate::object::ObjectRef;

/// What happened to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// Created.
    Created,
    /// Existed and was changed.
    Configured,
    /// Existed and already matched; nothing written.
    Unchanged,
    /// Deleted by prune.
    Deleted,
    /// Left alone and no longer owned (see the entry's reason).
    Skipped,
    /// Desired, but left as it is by a per-object policy (see the entry's reason); still owned.
    Ignored,
    /// Would have been pruned, but is protected: left in the cluster and still owned (see the
    /// entry's reason).
    Kept,
}

impl Change {
    /// Past-tense verb as printed by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Configured => "configured",
            Change::Unchanged => "unchanged",
            Change::Deleted => "deleted",
            Change::Skipped => "skipped",
            Change::Kept => "kept",
            // As Flux prints it.
            Change::Ignored => "skipped",
        }
    }
}

/// One object's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeSetEntry {
    /// The object.
    pub object: ObjectRef,
    /// What happened.
    pub change: Change,
    /// Why, for skipped objects; for drift corrections, who changed the object.
    pub reason: Option<String>,
    /// For configured objects: the fields that were changed back or updated.
    pub fields: Vec<String>,
    /// Digest of the object as applied (normalized), when known: what the live object should
    /// look like until the next sync.
    pub digest: Option<u64>,
    /// Digest of what the applying field manager owns in the object as applied
    /// (`ballast_plan::owned_digest`), when known: a later state with the same is not drift.
    pub owned_digest: Option<u64>,
}

impl fmt::Display for ChangeSetEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.object, self.change.as_str())?;
        if let Some(r) = self
            .reason
            .as_ref()
            .filter(|_| matches!(self.change, Change::Skipped | Change::Kept | Change::Ignored))
        {
            write!(f, " ({r})")?;
        }
        Ok(())
    }
}

/// The result of applying a plan: one entry per object, in the order it was handled. Status,
/// inventory, events, CLI output and metrics are all derived from it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// Entries in handling order.
    pub entries: Vec<ChangeSetEntry>,
}

impl ChangeSet {
    /// Adds one entry.
    pub fn push(&mut self, object: ObjectRef, change: Change, reason: Option<String>) {
        self.entries.push(ChangeSetEntry {
            object,
            change,
            reason,
            fields: Vec::new(),
            digest: None,
            owned_digest: None,
        });
    }

    /// Number of entries with the given change.
    pub fn count(&self, change: Change) -> usize {
        self.entries.iter().filter(|e| e.change == change).count()
    }

    /// True if anything was created, configured or deleted.
    pub fn has_writes(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e.change, Change::Created | Change::Configured | Change::Deleted))
    }

    /// Short summary, e.g. `2 created, 1 configured, 5 unchanged, 1 deleted`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            Change::Created,
            Change::Configured,
            Change::Unchanged,
            Change::Deleted,
            Change::Skipped,
            Change::Kept,
            Change::Ignored,
        ]
        .iter()
        .filter_map(|c| {
            let n = self.count(*c);
            let label = if *c == Change::Ignored {
                "skipped by policy"
            } else {
                c.as_str()
            };
            (n > 0).then(|| format!("{n} {label}"))
        })
        .collect();
        if parts.is_empty() {
            "no objects".into()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_summary() {
        let mut cs = ChangeSet::default();
        cs.push(
            ObjectRef::new("apps/v1", "Deployment", Some("demo"), "web"),
            Change::Configured,
            None,
        );
        cs.push(
            ObjectRef::new("v1", "ConfigMap", Some("demo"), "c"),
            Change::Skipped,
            Some("prune disabled".into()),
        );
        assert_eq!(cs.entries[0].to_string(), "Deployment/demo/web configured");
        assert_eq!(cs.entries[1].to_string(), "ConfigMap/demo/c skipped (prune disabled)");
        assert_eq!(cs.summary(), "1 configured, 1 skipped");
        assert!(cs.has_writes());
    }
}
