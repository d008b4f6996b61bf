//! Identity of a Kubernetes object.

use std::fmt;

/// Identifies one object: API group and version, kind, namespace (absent for cluster-scoped
/// objects) and name.
///
/// Equality and ordering ignore the version: two manifests of the same group/kind/namespace/name
/// are the same object, whatever version they are written in.
#[derive(Clone, Debug, Eq)]
pub struct ObjectRef {
    /// API group; empty for the core group.
    pub group: String,
    /// API version within the group (`v1`, `v1beta1`).
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace, `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

impl ObjectRef {
    /// Builds a reference from an `apiVersion` string (`apps/v1`, `v1`).
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Self {
        let (group, version) = split_api_version(api_version);
        ObjectRef {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }

    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The identifier Flux uses in inventories: `<namespace>_<name>_<group>_<kind>`.
    pub fn inventory_id(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.namespace.as_deref().unwrap_or(""),
            self.name,
            self.group,
            self.kind
        )
    }

    /// Parses an inventory identifier and its version back into a reference.
    ///
    /// Namespaces, groups and kinds cannot contain `_`, but some names can (RBAC objects): the
    /// first part is the namespace, the last two the group and kind, the rest the name.
    pub fn from_inventory_id(id: &str, version: &str) -> Option<Self> {
        let (namespace, rest) = id.split_once('_')?;
        let (rest, kind) = rest.rsplit_once('_')?;
        let (name, group) = rest.rsplit_once('_')?;
        if name.is_empty() || kind.is_empty() {
            return None;
        }
        Some(ObjectRef {
            namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
            name: name.to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
            version: version.to_string(),
        })
    }

    /// True for `CustomResourceDefinition` objects.
    pub fn is_crd(&self) -> bool {
        self.kind == "CustomResourceDefinition" && self.group == "apiextensions.k8s.io"
    }

    /// True for core `Namespace` objects.
    pub fn is_namespace(&self) -> bool {
        self.kind == "Namespace" && self.group.is_empty()
    }

    fn key(&self) -> (&str, &str, Option<&str>, &str) {
        (&self.group, &self.kind, self.namespace.as_deref(), &self.name)
    }
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

impl PartialEq for ObjectRef {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl std::hash::Hash for ObjectRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

impl PartialOrd for ObjectRef {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ObjectRef {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// `Kind/namespace/name` for namespaced objects, `Kind/name` for cluster-scoped ones — the form
/// every message and CLI line starts with.
impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_id_round_trips() {
        let r = ObjectRef::new("apps/v1", "Deployment", Some("demo"), "web");
        assert_eq!(r.inventory_id(), "demo_web_apps_Deployment");
        let back = ObjectRef::from_inventory_id(&r.inventory_id(), "v1").unwrap();
        assert_eq!(back, r);
        assert_eq!(back.api_version(), "apps/v1");
        let ns = ObjectRef::new("v1", "Namespace", None, "demo");
        assert_eq!(ns.inventory_id(), "_demo__Namespace");
        assert_eq!(ObjectRef::from_inventory_id("_demo__Namespace", "v1").unwrap(), ns);
        assert!(ObjectRef::from_inventory_id("bad", "v1").is_none());
        let rbac = ObjectRef::new("rbac.authorization.k8s.io/v1", "ClusterRole", None, "ci_reader_x");
        assert_eq!(
            ObjectRef::from_inventory_id(&rbac.inventory_id(), "v1").unwrap().name,
            "ci_reader_x"
        );
    }

    #[test]
    fn display_and_equality_ignore_version() {
        let a = ObjectRef::new("apps/v1", "Deployment", Some("demo"), "web");
        let b = ObjectRef::new("apps/v1beta1", "Deployment", Some("demo"), "web");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "Deployment/demo/web");
        assert_eq!(ObjectRef::new("v1", "Namespace", None, "x").to_string(), "Namespace/x");
    }
}
