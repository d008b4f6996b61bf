//! Health of objects, with kstatus semantics.

use std::fmt;

use crate::object::ObjectRef;

/// kstatus-compatible status of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthStatus {
    /// Reconciled and ready.
    Current,
    /// Still progressing; the message says what is missing.
    InProgress(String),
    /// Failed; the message says why.
    Failed(String),
    /// The object does not exist.
    NotFound,
}

impl HealthStatus {
    /// True for [`HealthStatus::Current`].
    pub fn is_current(&self) -> bool {
        matches!(self, HealthStatus::Current)
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HealthStatus::Current => f.write_str("ready"),
            HealthStatus::InProgress(m) => write!(f, "{m}"),
            HealthStatus::Failed(m) => write!(f, "failed: {m}"),
            HealthStatus::NotFound => f.write_str("not found"),
        }
    }
}

/// Health of a set of objects after waiting.
#[derive(Clone, Debug, Default)]
pub struct HealthReport {
    /// Every object checked, with its last status.
    pub objects: Vec<(ObjectRef, HealthStatus)>,
}

impl HealthReport {
    /// True when every object is current.
    pub fn all_healthy(&self) -> bool {
        self.objects.iter().all(|(_, s)| s.is_current())
    }

    /// `Kind/ns/name: why` for each object that is not current.
    pub fn unhealthy(&self) -> Vec<String> {
        self.objects
            .iter()
            .filter(|(_, s)| !s.is_current())
            .map(|(r, s)| format!("{r}: {s}"))
            .collect()
    }
}
