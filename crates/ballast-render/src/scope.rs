//! Which kinds are namespaced.

use std::collections::HashMap;

use ballast_core::Manifest;
use ballast_core::object::split_api_version;
pub use ballast_core::scope::{Scope, Scopes};
use serde_json::Value;

/// Scopes of the built-in kinds, for rendering without a cluster. Unknown kinds are reported as
/// unknown; callers decide whether to assume namespaced.
#[derive(Clone, Debug, Default)]
pub struct BuiltinScopes;

/// Cluster-scoped built-in kinds: (group, kind).
const CLUSTER_KINDS: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
];

impl Scopes for BuiltinScopes {
    fn scope(&self, group: &str, kind: &str) -> Option<Scope> {
        if CLUSTER_KINDS.iter().any(|(g, k)| *g == group && *k == kind) {
            Some(Scope::Cluster)
        } else if is_builtin_group(group) {
            Some(Scope::Namespaced)
        } else {
            None
        }
    }
}

fn is_builtin_group(group: &str) -> bool {
    group.is_empty() || group.ends_with(".k8s.io") || !group.contains('.')
}

/// Scopes declared by CustomResourceDefinitions among the manifests themselves, layered over
/// another [`Scopes`]: a CRD and its custom resources can be rendered (and applied) together.
pub struct WithCrds<'a> {
    inner: &'a dyn Scopes,
    crds: HashMap<(String, String), Scope>,
}

impl<'a> WithCrds<'a> {
    /// Collects the CRDs in `manifests`.
    pub fn new(inner: &'a dyn Scopes, manifests: &[Manifest]) -> Self {
        let crds = manifests
            .iter()
            .filter(|m| {
                m.kind() == "CustomResourceDefinition" && split_api_version(m.api_version()).0 == "apiextensions.k8s.io"
            })
            .filter_map(|m| {
                let spec = m.object.get("spec")?;
                let group = spec.get("group")?.as_str()?.to_string();
                let kind = spec.pointer("/names/kind")?.as_str()?.to_string();
                let scope = match spec.get("scope").and_then(Value::as_str) {
                    Some("Cluster") => Scope::Cluster,
                    _ => Scope::Namespaced,
                };
                Some(((group, kind), scope))
            })
            .collect();
        WithCrds { inner, crds }
    }
}

impl Scopes for WithCrds<'_> {
    fn scope(&self, group: &str, kind: &str) -> Option<Scope> {
        self.inner
            .scope(group, kind)
            .or_else(|| self.crds.get(&(group.to_string(), kind.to_string())).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_scopes() {
        assert_eq!(BuiltinScopes.scope("", "Namespace"), Some(Scope::Cluster));
        assert_eq!(BuiltinScopes.scope("apps", "Deployment"), Some(Scope::Namespaced));
        assert_eq!(BuiltinScopes.scope("example.com", "Widget"), None);
    }
}
