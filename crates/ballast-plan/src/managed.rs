//! One view of an object's `metadata.managedFields`: who owns which field.
//!
//! The no-op check ([`crate::already_applied`]), the conflict check (is a conflicting manager an
//! applier, or an imperative edit?) and prune (is the object still Ballast's?) all read ownership
//! through this view, so they cannot disagree about what the server recorded.

use serde_json::{Map, Value};

/// One entry of `metadata.managedFields`.
#[derive(Clone, Copy, Debug)]
pub struct ManagedEntry<'a> {
    /// The field manager (`ballast`, `kubectl`, `kube-controller-manager`...).
    pub manager: &'a str,
    /// `Apply` (server-side apply) or `Update` (any other write).
    pub operation: &'a str,
    /// The API version the fields were recorded with.
    pub api_version: Option<&'a str>,
    /// The subresource written (`status`, `scale`), if any.
    pub subresource: Option<&'a str>,
    /// The owned field set (`fieldsV1`), when recorded in that format.
    pub fields: Option<&'a Map<String, Value>>,
}

impl ManagedEntry<'_> {
    /// True for a server-side apply entry.
    pub fn is_apply(&self) -> bool {
        self.operation == "Apply"
    }
}

/// The parsed `managedFields` of a live object.
#[derive(Clone, Debug, Default)]
pub struct ManagedFields<'a> {
    entries: Vec<ManagedEntry<'a>>,
}

impl<'a> ManagedFields<'a> {
    /// Reads the entries of `live` (none when it has no `managedFields`).
    pub fn of(live: &'a Value) -> Self {
        let entries = live
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| {
                        Some(ManagedEntry {
                            manager: e.get("manager")?.as_str()?,
                            operation: e.get("operation").and_then(Value::as_str).unwrap_or(""),
                            api_version: e.get("apiVersion").and_then(Value::as_str),
                            subresource: e.get("subresource").and_then(Value::as_str).filter(|s| !s.is_empty()),
                            fields: (e.get("fieldsType").and_then(Value::as_str) == Some("FieldsV1"))
                                .then(|| e.get("fieldsV1").and_then(Value::as_object))
                                .flatten(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        ManagedFields { entries }
    }

    /// Every entry.
    pub fn entries(&self) -> &[ManagedEntry<'a>] {
        &self.entries
    }

    /// True if `manager` owns any field of the object (by any operation).
    pub fn manages(&self, manager: &str) -> bool {
        self.entries.iter().any(|e| e.manager == manager)
    }

    /// True if `manager` owns fields through server-side apply: it is another *applier*, whose
    /// fields are taken only with `--force`, not an imperative edit (drift).
    pub fn is_applier(&self, manager: &str) -> bool {
        self.entries.iter().any(|e| e.manager == manager && e.is_apply())
    }

    /// The field set of `manager`'s one `Apply` entry on the main resource, if there is exactly
    /// one and it was recorded with `api_version`. `None` means "cannot be read with certainty".
    pub fn applied_set(&self, manager: &str, api_version: Option<&str>) -> Option<&'a Map<String, Value>> {
        let mut mine = self
            .entries
            .iter()
            .filter(|e| e.manager == manager && e.is_apply() && e.subresource.is_none());
        let entry = mine.next()?;
        if mine.next().is_some() || entry.api_version != api_version {
            return None;
        }
        entry.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn appliers_and_editors_are_told_apart() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "ballast", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:a": {}}}},
            {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:b": {}}}},
        ]}});
        let mf = ManagedFields::of(&live);
        assert!(mf.manages("ballast") && mf.manages("kubectl-edit") && !mf.manages("helm"));
        assert!(mf.is_applier("ballast") && !mf.is_applier("kubectl-edit"));
        assert!(mf.applied_set("ballast", Some("v1")).is_some());
        assert!(mf.applied_set("ballast", Some("v2")).is_none());
        assert!(mf.applied_set("kubectl-edit", Some("v1")).is_none());
        assert!(ManagedFields::of(&json!({})).entries().is_empty());
    }
}
