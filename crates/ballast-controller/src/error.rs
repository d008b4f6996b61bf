//! Reconcile failures.

/// Why a reconcile failed. Each variant maps to a Flux condition reason.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Talking to the API server failed.
    #[error("{0}")]
    Kube(#[from] kube::Error),
    /// A Ballast cluster call failed.
    #[error("{0}")]
    Cluster(#[from] ballast_kube::KubeError),
    /// Fetching the source failed.
    #[error("{0}")]
    Fetch(#[from] ballast_source::SourceError),
    /// The source is not ready or has no artifact.
    #[error("{0}")]
    ArtifactNotReady(String),
    /// Rendering failed.
    #[error("{0}")]
    Build(String),
    /// Applying failed.
    #[error("{0}")]
    Apply(String),
    /// Everything was applied, but the prune was over the deletion budget: nothing was deleted.
    #[error("{0}")]
    PruneBudget(String),
    /// Health checks failed.
    #[error("{0}")]
    Health(String),
    /// A dependency is not ready.
    #[error("{0}")]
    Dependency(String),
    /// The spec is invalid; retrying will not help.
    #[error("{0}")]
    Invalid(String),
    /// A chart could not be fetched from its repository or registry (credentials never in the
    /// message).
    #[error("{0}")]
    ChartPull(String),
    /// A Helm release action failed.
    #[error("{0}")]
    Release(String),
    /// A chart source (HTTP chart repository, OCI registry) failed, with Flux's reason
    /// (`AuthenticationFailed`, `OCIArtifactPullFailed`, `URLInvalid`, ...).
    #[error("{message}")]
    Source {
        /// Flux's condition reason.
        reason: &'static str,
        /// What failed (no credentials).
        message: String,
    },
}

impl ReconcileError {
    /// The Flux condition reason for this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::Kube(_) | ReconcileError::Cluster(_) => "ReconciliationFailed",
            ReconcileError::Fetch(_) => "GitOperationFailed",
            ReconcileError::ArtifactNotReady(_) => "ArtifactFailed",
            ReconcileError::Build(_) => "BuildFailed",
            ReconcileError::Apply(_) => "ReconciliationFailed",
            ReconcileError::PruneBudget(_) => "PruneBudgetExceeded",
            ReconcileError::Health(_) => "HealthCheckFailed",
            ReconcileError::Dependency(_) => "DependencyNotReady",
            ReconcileError::Invalid(_) => "InvalidSpec",
            ReconcileError::ChartPull(_) => "ChartPullError",
            ReconcileError::Release(_) => "ReleaseFailed",
            ReconcileError::Source { reason, .. } => reason,
        }
    }

    /// True when retrying cannot help until the spec changes.
    pub fn stalled(&self) -> bool {
        matches!(self, ReconcileError::Invalid(_))
    }
}
