//! Scopes: what a sealed value is bound to, through the OAEP label.

use std::collections::BTreeMap;

/// Annotation making a SealedSecret cluster-wide (any name, any namespace).
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";
/// Annotation making a SealedSecret namespace-wide (any name in its namespace).
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";

/// What a sealed value may be unsealed as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// Only under its namespace and name (label `<namespace>/<name>`).
    #[default]
    Strict,
    /// Any name in its namespace (label `<namespace>`).
    NamespaceWide,
    /// Anywhere (empty label).
    ClusterWide,
}

impl Scope {
    /// `strict`, `namespace-wide` or `cluster-wide` (kubeseal's `--scope`).
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "strict" => Some(Scope::Strict),
            "namespace-wide" => Some(Scope::NamespaceWide),
            "cluster-wide" => Some(Scope::ClusterWide),
            _ => None,
        }
    }

    /// The name `--scope` takes.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }

    /// The scope annotations say: `cluster-wide: "true"` wins over `namespace-wide: "true"`;
    /// neither is strict.
    pub fn from_annotations(annotations: Option<&BTreeMap<String, String>>) -> Scope {
        let on = |k: &str| annotations.and_then(|a| a.get(k)).is_some_and(|v| v == "true");
        if on(CLUSTER_WIDE_ANNOTATION) {
            Scope::ClusterWide
        } else if on(NAMESPACE_WIDE_ANNOTATION) {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        }
    }

    /// The annotation that marks this scope (none for strict).
    pub fn annotation(self) -> Option<&'static str> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some(NAMESPACE_WIDE_ANNOTATION),
            Scope::ClusterWide => Some(CLUSTER_WIDE_ANNOTATION),
        }
    }

    /// The OAEP label of a value sealed for `namespace`/`name` in this scope.
    pub fn label(self, namespace: &str, name: &str) -> Vec<u8> {
        match self {
            Scope::Strict => format!("{namespace}/{name}").into_bytes(),
            Scope::NamespaceWide => namespace.as_bytes().to_vec(),
            Scope::ClusterWide => Vec::new(),
        }
    }
}
