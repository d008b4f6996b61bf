//! A rendered object and where it came from.

use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

use crate::object::ObjectRef;

/// Where a manifest was read: a file relative to the artifact root and the document's index in
/// that file (0-based).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    /// File path relative to the artifact root.
    pub file: PathBuf,
    /// Index of the YAML document in the file, starting at 0.
    pub document: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (document {})", self.file.display(), self.document)
    }
}

/// One desired object, as data, exactly as it will be sent to the API server.
///
/// Invariant (checked by [`Manifest::new`]): the object has a non-empty `apiVersion`, `kind` and
/// `metadata.name`.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The object.
    pub object: Value,
    /// Where it was read.
    pub origin: Origin,
}

/// A document that is not a Kubernetes object.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{origin}: {problem}")]
pub struct ManifestError {
    /// Where the document is.
    pub origin: Origin,
    /// What is wrong with it.
    pub problem: String,
}

impl Manifest {
    /// Wraps an object, checking it has `apiVersion`, `kind` and `metadata.name`.
    pub fn new(object: Value, origin: Origin) -> Result<Self, ManifestError> {
        let err = |problem: String| ManifestError {
            origin: origin.clone(),
            problem,
        };
        if !object.is_object() {
            return Err(err("not a mapping; expected a Kubernetes object".into()));
        }
        let field = |name: &str| object.get(name).and_then(Value::as_str).unwrap_or("");
        if field("apiVersion").is_empty() {
            return Err(err("missing apiVersion".into()));
        }
        if field("kind").is_empty() {
            return Err(err(format!("{}: missing kind", field("apiVersion"))));
        }
        let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            return Err(err(format!("{}: missing metadata.name", field("kind"))));
        }
        Ok(Manifest { object, origin })
    }

    /// `apiVersion` of the object.
    pub fn api_version(&self) -> &str {
        self.object["apiVersion"].as_str().unwrap_or_default()
    }

    /// `kind` of the object.
    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `metadata.namespace`, if set and not empty.
    pub fn namespace(&self) -> Option<&str> {
        self.object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Sets `metadata.namespace` (or removes it with `None`).
    pub fn set_namespace(&mut self, namespace: Option<&str>) {
        let meta = self.object.as_object_mut().and_then(|o| o.get_mut("metadata"));
        if let Some(Value::Object(meta)) = meta {
            match namespace {
                Some(ns) => {
                    meta.insert("namespace".into(), Value::String(ns.into()));
                }
                None => {
                    meta.remove("namespace");
                }
            }
        }
    }

    /// The value of an annotation, if present.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        annotation(&self.object, key)
    }

    /// The object's identity.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(self.api_version(), self.kind(), self.namespace(), self.name())
    }
}

/// The value of an annotation on any object, if present.
pub fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.pointer("/metadata/annotations")?.get(key)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn origin() -> Origin {
        Origin {
            file: "a.yaml".into(),
            document: 2,
        }
    }

    #[test]
    fn rejects_objects_without_identity() {
        let e = Manifest::new(json!({"kind": "ConfigMap"}), origin()).unwrap_err();
        assert_eq!(e.to_string(), "a.yaml (document 2): missing apiVersion");
        let e = Manifest::new(json!({"apiVersion": "v1", "metadata": {"name": "x"}}), origin()).unwrap_err();
        assert_eq!(e.to_string(), "a.yaml (document 2): v1: missing kind");
        let e = Manifest::new(json!({"apiVersion": "v1", "kind": "ConfigMap"}), origin()).unwrap_err();
        assert!(e.to_string().contains("ConfigMap: missing metadata.name"));
        assert!(Manifest::new(json!([1]), origin()).is_err());
    }

    #[test]
    fn accessors_and_namespace() {
        let mut m = Manifest::new(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "annotations": {"a": "b"}}}),
            origin(),
        )
        .unwrap();
        assert_eq!(m.namespace(), None);
        m.set_namespace(Some("demo"));
        assert_eq!(m.object_ref().to_string(), "ConfigMap/demo/x");
        assert_eq!(m.annotation("a"), Some("b"));
    }
}
