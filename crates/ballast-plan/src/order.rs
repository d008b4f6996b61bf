//! The one ordering table: which stage an object is applied in, and in which order within it.

use ballast_core::ObjectRef;

/// Apply stages, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StageKind {
    /// CRDs, Namespaces and cluster-wide RBAC; waited on (CRDs Established, Namespaces Active)
    /// before the next stage starts.
    Definitions,
    /// Everything else.
    Resources,
}

impl StageKind {
    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            StageKind::Definitions => "definitions",
            StageKind::Resources => "resources",
        }
    }
}

/// Kinds in apply order (groups are not needed to order them). Kinds not listed — custom
/// resources — come after every listed kind.
const KIND_ORDER: &[&str] = &[
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "StorageClass",
    "IngressClass",
    "RuntimeClass",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "Ingress",
    "NetworkPolicy",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const DEFINITION_KINDS: &[(&str, &str)] = &[
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("", "Namespace"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
];

/// The stage an object belongs to.
pub fn stage_of(r: &ObjectRef) -> StageKind {
    if DEFINITION_KINDS.iter().any(|(g, k)| *g == r.group && *k == r.kind) {
        StageKind::Definitions
    } else {
        StageKind::Resources
    }
}

fn kind_rank(kind: &str) -> usize {
    KIND_ORDER.iter().position(|k| *k == kind).unwrap_or(KIND_ORDER.len())
}

/// Sort key for applying: stage, kind rank, then namespace and name.
pub fn apply_order(r: &ObjectRef) -> (StageKind, usize, Option<&str>, &str, &str) {
    (
        stage_of(r),
        kind_rank(&r.kind),
        r.namespace.as_deref(),
        r.kind.as_str(),
        r.name.as_str(),
    )
}

/// Sorts objects for pruning: the reverse of apply order (custom resources before their CRDs,
/// namespaced objects before their Namespace).
pub fn prune_order(refs: &mut [ObjectRef]) {
    refs.sort_by(|a, b| apply_order(b).cmp(&apply_order(a)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(api: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef::new(api, kind, ns, name)
    }

    #[test]
    fn crds_and_namespaces_first_custom_resources_last() {
        let mut refs = vec![
            r("example.com/v1", "Widget", Some("d"), "w"),
            r("apps/v1", "Deployment", Some("d"), "web"),
            r("v1", "ConfigMap", Some("d"), "c"),
            r("v1", "Namespace", None, "d"),
            r(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                "widgets.example.com",
            ),
        ];
        refs.sort_by(|a, b| apply_order(a).cmp(&apply_order(b)));
        let kinds: Vec<&str> = refs.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition",
                "Namespace",
                "ConfigMap",
                "Deployment",
                "Widget"
            ]
        );
        assert_eq!(stage_of(&refs[1]), StageKind::Definitions);
        assert_eq!(stage_of(&refs[2]), StageKind::Resources);
        prune_order(&mut refs);
        let kinds: Vec<&str> = refs.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "Widget",
                "Deployment",
                "ConfigMap",
                "Namespace",
                "CustomResourceDefinition"
            ]
        );
    }

    #[test]
    fn a_custom_kind_named_like_a_builtin_is_not_a_definition() {
        assert_eq!(
            stage_of(&r("example.com/v1", "Namespace", None, "x")),
            StageKind::Resources
        );
    }
}
