//! `Kustomization` (`kustomize.toolkit.fluxcd.io/v1`).

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::meta::{LocalObjectReference, NamespacedObjectKindReference, NamespacedObjectReference};

/// What to apply from a source, where, and how often.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1",
    kind = "Kustomization",
    namespaced,
    status = "KustomizationStatus",
    shortname = "ks",
    category = "fluxcd",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// The source to apply from.
    pub source_ref: CrossNamespaceSourceReference,
    /// Path in the source (default: its root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Delete objects removed from the source.
    pub prune: bool,
    /// How often to reconcile.
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,
    /// Interval after a failure (default: `interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub retry_interval: Option<String>,
    /// Limit for apply and health checks (default: `interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
    /// Put every namespaced object in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    /// Stop reconciling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Kustomizations that must be Ready first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<NamespacedObjectReference>>,
    /// Objects whose health decides `Healthy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_checks: Option<Vec<NamespacedObjectKindReference>>,
    /// Wait for every applied object to be healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
    /// Take fields other appliers own, and recreate objects whose immutable fields changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Prefix for object names. Not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// Suffix for object names. Not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Labels and annotations for every object. Not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Kustomize patches (`patch` and an optional `target`), applied after the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<serde_json::Value>>,
    /// Image overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<serde_json::Value>>,
    /// Kustomize components (paths relative to `path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// Variable substitution after build (`substitute`, `substituteFrom` ConfigMaps and Secrets),
    /// as Flux does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<serde_json::Value>,
    /// Secret decryption: `provider: sops` with age keys (`*.agekey`) in `secretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<serde_json::Value>,
    /// Apply to another cluster. Not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<serde_json::Value>,
    /// Impersonate a service account. Not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// What deleting the Kustomization does to its objects: `MirrorPrune` (the default: delete
    /// them when `prune` is true), `Delete`, `WaitForTermination` (delete and wait until they are
    /// gone, up to `timeout`), `Orphan` (leave them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<String>,
    /// Deprecated (v1beta1/v1beta2): `client`, `server`, `none`. Accepted and ignored, with a
    /// warning event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<String>,
    /// Deprecated (v1beta1/v1beta2): strategic-merge patches, each a partial object naming its
    /// target. Written into the kustomization's own `patchesStrategicMerge`, as Flux does (see
    /// [`KustomizationSpec::legacy_strategic_merge`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches_strategic_merge: Option<Vec<serde_json::Value>>,
    /// Deprecated (v1beta1/v1beta2): JSON 6902 patches with their target. Written into the
    /// kustomization's own `patchesJson6902` (see [`KustomizationSpec::legacy_json6902`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches_json6902: Option<Vec<Json6902Patch>>,
    /// Kustomize build metadata to add (v1). Not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_metadata: Option<Vec<String>>,
    /// Leave out `components` that are not in the source (v1), instead of failing the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_components: Option<bool>,
    /// CEL health checks for custom resources (v1): `apiVersion`, `kind`, `current`, and the
    /// optional `inProgress` and `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_exprs: Option<Vec<serde_json::Value>>,
    /// Fields excluded from apply and drift detection (v1). Not supported yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<serde_json::Value>>,
}

impl KustomizationSpec {
    /// The deprecated `patchesStrategicMerge` as Flux's kustomize-controller writes them into the
    /// kustomization file: each patch's JSON text (kustomize reads such a string as an inline
    /// patch). `None` when the field is unset.
    pub fn legacy_strategic_merge(&self) -> Option<Vec<serde_json::Value>> {
        let list = self.patches_strategic_merge.as_ref()?;
        Some(list.iter().map(|p| serde_json::Value::String(p.to_string())).collect())
    }

    /// The deprecated `patchesJson6902` as Flux's kustomize-controller writes them into the
    /// kustomization file: the operations as one JSON text, with their target. `None` when the
    /// field is unset.
    pub fn legacy_json6902(&self) -> Option<Vec<serde_json::Value>> {
        let list = self.patches_json6902.as_ref()?;
        Some(
            list.iter()
                .map(|p| {
                    let ops = serde_json::to_string(&p.patch).unwrap_or_default();
                    serde_json::json!({ "patch": ops, "target": p.target })
                })
                .collect(),
        )
    }
}

/// A JSON 6902 patch and the objects it applies to (v1beta1/v1beta2 `patchesJson6902`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Json6902Patch {
    /// The operations.
    pub patch: Vec<JsonPatchOperation>,
    /// Which objects.
    pub target: PatchSelector,
}

/// One RFC 6902 operation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonPatchOperation {
    /// `test`, `remove`, `add`, `replace`, `move` or `copy`.
    pub op: String,
    /// JSON pointer to the field.
    pub path: String,
    /// Source pointer of `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Value of `add`, `replace` and `test`: any JSON value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::meta::any_json")]
    pub value: Option<serde_json::Value>,
}

/// Kustomize's patch target selector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatchSelector {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Annotation selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
    /// Label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
}

/// The source a Kustomization applies from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `GitRepository`, `OCIRepository` or `ExternalArtifact` (`Bucket`: not supported yet).
    pub kind: String,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source; defaults to the Kustomization's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Metadata to set on every object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommonMetadata {
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Observed state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationStatus {
    /// Last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled`, `Healthy`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Revision last applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// Revision last attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// Value of the last handled `reconcile.fluxcd.io/requestedAt` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// What this Kustomization owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
}

/// Owned objects, in Flux's format.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceInventory {
    /// Entries.
    #[serde(default)]
    pub entries: Vec<ResourceRef>,
}

/// `<namespace>_<name>_<group>_<kind>` and the version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceRef {
    /// Object id.
    pub id: String,
    /// API version.
    pub v: String,
}

#[allow(dead_code)]
fn _unused(_: LocalObjectReference) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deprecated_patches_keep_their_own_kustomize_fields() {
        let spec: KustomizationSpec = serde_json::from_value(serde_json::json!({
            "sourceRef": {"kind": "GitRepository", "name": "r"},
            "prune": true,
            "interval": "1m",
            "patchesStrategicMerge": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}],
            "patchesJson6902": [{"target": {"kind": "ConfigMap", "name": "c"}, "patch": [{"op": "add", "path": "/data/n", "value": "1"}]}],
        }))
        .unwrap();
        let sm = spec.legacy_strategic_merge().unwrap();
        let sm: serde_json::Value = serde_json::from_str(sm[0].as_str().unwrap()).unwrap();
        assert_eq!(sm["data"]["k"], "v");
        let json = spec.legacy_json6902().unwrap();
        let ops: serde_json::Value = serde_json::from_str(json[0]["patch"].as_str().unwrap()).unwrap();
        assert_eq!(ops, serde_json::json!([{"op": "add", "path": "/data/n", "value": "1"}]));
        assert_eq!(json[0]["target"], serde_json::json!({"kind": "ConfigMap", "name": "c"}));
        assert_eq!(KustomizationSpec::default().legacy_strategic_merge(), None);
        assert_eq!(KustomizationSpec::default().legacy_json6902(), None);
    }
}
