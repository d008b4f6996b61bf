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

/// Field managers whose fields Ballast takes over on its first apply, as Flux does for its
/// predecessors: client-side `kubectl apply` (`kubectl-client-side-apply`, older `kubectl`,
/// `before-first-apply`) and Flux's own `kustomize-controller`. Once theirs are Ballast's, a
/// field removed from Git is removed from the cluster.
pub const TAKEN_OVER: [&str; 4] = [
    "kubectl-client-side-apply",
    "kubectl",
    "before-first-apply",
    "kustomize-controller",
];

/// The annotation client-side `kubectl apply` keeps the last applied object in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A JSON patch that moves the fields of the [`TAKEN_OVER`] managers (main resource only) into
/// `manager`'s `Apply` entry for `api_version`, and drops the last-applied annotation; conditional
/// on the live `resourceVersion`. `None` when there is nothing to take over.
pub fn takeover_patch(live: &Value, manager: &str, api_version: &str) -> Option<Value> {
    takeover_patch_from(live, &TAKEN_OVER, manager, api_version)
}

/// [`takeover_patch`] for the managers named in `from` (main resource only), whatever their
/// operation; `manager`'s own `Apply` entry is never among them. A Helm release applied as
/// `helm` takes over `helm`'s client-side (`Update`) entry this way, as helm 4 does when a
/// release moves from client-side to server-side apply.
pub fn takeover_patch_from(live: &Value, from: &[&str], manager: &str, api_version: &str) -> Option<Value> {
    let entries = live.pointer("/metadata/managedFields")?.as_array()?;
    let mine = |e: &Value| {
        e.get("manager").and_then(Value::as_str) == Some(manager)
            && e.get("operation").and_then(Value::as_str) == Some("Apply")
            && e.get("subresource").and_then(Value::as_str).unwrap_or("").is_empty()
    };
    let taken = |e: &Value| {
        let name = e.get("manager").and_then(Value::as_str).unwrap_or("");
        let sub = e.get("subresource").and_then(Value::as_str).unwrap_or("");
        from.contains(&name) && sub.is_empty() && !mine(e)
    };
    let has_annotation = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .is_some();
    if !entries.iter().any(taken) && !has_annotation {
        return None;
    }
    let mut fields = Value::Object(Map::new());
    for e in entries.iter().filter(|e| taken(e) || mine(e)) {
        if let Some(f) = e.get("fieldsV1") {
            merge_sets(&mut fields, f);
        }
    }
    if let Some(Value::Object(annotations)) = fields.pointer_mut("/f:metadata/f:annotations") {
        annotations.remove(&format!("f:{LAST_APPLIED}"));
    }
    let mut kept: Vec<Value> = entries.iter().filter(|e| !taken(e) && !mine(e)).cloned().collect();
    kept.push(serde_json::json!({
        "manager": manager, "operation": "Apply", "apiVersion": api_version,
        "fieldsType": "FieldsV1", "fieldsV1": fields,
    }));
    let rv = live
        .pointer("/metadata/resourceVersion")
        .cloned()
        .unwrap_or(Value::Null);
    let mut ops = vec![
        serde_json::json!({"op": "test", "path": "/metadata/resourceVersion", "value": rv}),
        serde_json::json!({"op": "replace", "path": "/metadata/managedFields", "value": kept}),
    ];
    if has_annotation {
        let path = format!(
            "/metadata/annotations/{}",
            LAST_APPLIED.replace('~', "~0").replace('/', "~1")
        );
        ops.push(serde_json::json!({"op": "remove", "path": path}));
    }
    Some(Value::Array(ops))
}

/// Union of two field sets.
fn merge_sets(into: &mut Value, from: &Value) {
    let (Value::Object(a), Value::Object(b)) = (into, from) else {
        return;
    };
    for (k, v) in b {
        merge_sets(a.entry(k.clone()).or_insert_with(|| Value::Object(Map::new())), v);
    }
}

#[cfg(test)]
mod takeover_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_managers_own_update_entry_joins_its_apply_entry() {
        let live = json!({"metadata": {"resourceVersion": "3", "managedFields": [
            {"manager": "helm", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:a": {}}}},
            {"manager": "helm", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:b": {}}}}]}});
        let patch = takeover_patch_from(&live, &["helm"], "helm", "v1").unwrap();
        let fields = patch[1]["value"].as_array().unwrap();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0]["operation"], "Apply");
        assert_eq!(fields[0]["fieldsV1"], json!({"f:data": {"f:a": {}, "f:b": {}}}));
        let applied_only = json!({"metadata": {"managedFields": [live["metadata"]["managedFields"][1].clone()]}});
        assert!(takeover_patch_from(&applied_only, &["helm"], "helm", "v1").is_none());
        assert!(takeover_patch(&live, "helm", "v1").is_none());
    }

    #[test]
    fn kubectl_and_flux_fields_become_ballasts() {
        let live = json!({"metadata": {"resourceVersion": "9",
            "annotations": {LAST_APPLIED: "{}", "keep": "x"},
            "managedFields": [
                {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:annotations": {"f:keep": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                                                          "f:spec": {"f:replicas": {}}}},
                {"manager": "kustomize-controller", "operation": "Apply", "apiVersion": "apps/v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:paused": {}}}},
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
                 "subresource": "status", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}}]}});
        let patch = takeover_patch(&live, "ballast", "apps/v1").unwrap();
        let fields = &patch[1]["value"];
        assert_eq!(fields.as_array().unwrap().len(), 2, "{fields}");
        assert_eq!(fields[0]["manager"], "kube-controller-manager");
        let ours = &fields[1];
        assert_eq!(ours["manager"], "ballast");
        assert_eq!(ours["fieldsV1"]["f:spec"], json!({"f:replicas": {}, "f:paused": {}}));
        assert_eq!(ours["fieldsV1"]["f:metadata"]["f:annotations"], json!({"f:keep": {}}));
        assert_eq!(
            patch[2]["path"],
            "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"
        );
        assert!(takeover_patch(&json!({"metadata": {"managedFields": []}}), "ballast", "v1").is_none());
    }
}
