//! `SealedSecret` (`bitnami.com/v1alpha1`), as Bitnami's sealed-secrets serves it: values
//! sealed for the cluster's key (see `ballast-seal`) and a template of the Secret they unseal
//! into.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Sealed values and the Secret they become.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "bitnami.com",
    version = "v1alpha1",
    kind = "SealedSecret",
    namespaced,
    status = "SealedSecretStatus",
    shortname = "sealedsecret",
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[0].message"}"#,
    printcolumn = r#"{"name":"Synced","type":"string","jsonPath":".status.conditions[0].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretSpec {
    /// Key -> base64 of the sealed value.
    #[serde(default)]
    pub encrypted_data: BTreeMap<String, String>,
    /// The Secret to write (its name and namespace are the SealedSecret's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<SecretTemplateSpec>,
    /// The sealed-secrets v1 format (one blob); refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// The template of the unsealed Secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplateSpec {
    /// Labels and annotations of the Secret (name and namespace are forced to the
    /// SealedSecret's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::meta::any_json")]
    pub metadata: Option<serde_json::Value>,
    /// The Secret's `type` (default `Opaque`).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub type_: Option<String>,
    /// The Secret's `immutable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// Go templates (sprig functions) over the unsealed values: each output is the value of its
    /// key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
}

/// Observed state, in sealed-secrets' shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretStatus {
    /// The generation last unsealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Synced`.
    #[serde(default)]
    pub conditions: Vec<SealedSecretCondition>,
}

/// A sealed-secrets condition (`lastUpdateTime` besides `lastTransitionTime`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretCondition {
    /// `Synced`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True` or `False`.
    pub status: String,
    /// When it was last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// One CamelCase word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What happened (never a secret value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The SealedSecret CRD as Ballast installs it: `bitnami.com/v1alpha1`, sealed-secrets' names,
/// status subresource.
pub fn sealed_secret_crds() -> Vec<CustomResourceDefinition> {
    vec![crate::crd::structural(SealedSecret::crd())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crd_is_sealed_secrets_own_name_and_version() {
        let crd = serde_json::to_value(&sealed_secret_crds()[0]).unwrap();
        assert_eq!(crd["metadata"]["name"], "sealedsecrets.bitnami.com");
        assert_eq!(crd["spec"]["versions"][0]["name"], "v1alpha1");
        assert!(crd["spec"]["versions"][0]["subresources"]["status"].is_object());
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        assert_eq!(
            spec["template"]["properties"]["metadata"]["x-kubernetes-preserve-unknown-fields"],
            true
        );
        assert_eq!(spec["encryptedData"]["additionalProperties"]["type"], "string");
    }
}
