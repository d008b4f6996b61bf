//! Which kinds are namespaced.

/// Whether a kind's objects live in a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Namespaced.
    Namespaced,
    /// Cluster-scoped.
    Cluster,
}

/// Answers "is this kind namespaced?"; `None` means the kind is unknown.
pub trait Scopes {
    /// Scope of `kind` in API `group` (empty for core), or `None` if unknown.
    fn scope(&self, group: &str, kind: &str) -> Option<Scope>;
}
