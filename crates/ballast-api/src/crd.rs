//! The CustomResourceDefinitions, generated from the types.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::{GitRepository, Kustomization};

/// Every CRD Ballast serves, each with `v1` (storage) and the older `v1beta2` and `v1beta1`
/// versions served with the same schema.
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    [GitRepository::crd(), Kustomization::crd()]
        .into_iter()
        .map(structural)
        .map(with_older_versions)
        .collect()
}

/// Makes the generated schema acceptable to every API server we support: free-form fields
/// (`serde_json::Value`) become objects that preserve unknown fields, and `default`s (which
/// serde's `#[serde(default)]` produces) are dropped — defaults belong to the reconcilers.
fn structural(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let mut v = serde_json::to_value(&crd).unwrap_or_default();
    if let Some(versions) = v.pointer_mut("/spec/versions").and_then(|x| x.as_array_mut()) {
        for version in versions {
            if let Some(schema) = version.pointer_mut("/schema/openAPIV3Schema") {
                fix(schema);
            }
        }
    }
    serde_json::from_value(v).unwrap_or(crd)
}

fn fix(schema: &mut serde_json::Value) {
    let Some(map) = schema.as_object_mut() else { return };
    map.remove("default");
    let typed = [
        "type",
        "properties",
        "items",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
        "anyOf",
        "oneOf",
        "allOf",
    ]
    .iter()
    .any(|k| map.contains_key(*k));
    if !typed {
        map.insert("type".into(), "object".into());
        map.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
    }
    if let Some(props) = map.get_mut("properties").and_then(|p| p.as_object_mut()) {
        props.values_mut().for_each(fix);
    }
    if let Some(items) = map.get_mut("items") {
        fix(items);
    }
}

fn with_older_versions(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let v1 = crd.spec.versions[0].clone();
    for name in ["v1beta2", "v1beta1"] {
        let mut older = v1.clone();
        older.name = name.to_string();
        older.storage = false;
        older.deprecated = Some(true);
        older.deprecation_warning = Some(format!(
            "{}/{name} {} is deprecated, upgrade to v1",
            crd.spec.group, crd.spec.names.kind
        ));
        crd.spec.versions.push(older);
    }
    crd
}

/// The CRDs as JSON values, ready to apply or print.
pub fn crd_values() -> Vec<serde_json::Value> {
    all_crds()
        .iter()
        .map(|c| serde_json::to_value(c).unwrap_or_default())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_serve_three_versions_and_store_v1() {
        for crd in all_crds() {
            let names: Vec<&str> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
            assert_eq!(names, ["v1", "v1beta2", "v1beta1"]);
            let storage: Vec<bool> = crd.spec.versions.iter().map(|v| v.storage).collect();
            assert_eq!(storage, [true, false, false]);
            assert!(
                crd.spec
                    .versions
                    .iter()
                    .all(|v| v.subresources.as_ref().is_some_and(|s| s.status.is_some()))
            );
        }
        let ks = serde_json::to_value(&all_crds()[1]).unwrap();
        let props = &ks["spec"]["versions"][2]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        assert!(props.get("validation").is_some(), "v1beta1 validation must be accepted");
        assert_eq!(props["interval"]["pattern"], "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$");
        assert_eq!(props["postBuild"]["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(props["patches"]["items"]["type"], "object");
        let text = serde_json::to_string(&ks).unwrap();
        assert!(!text.contains("\"default\""), "defaults left in the schema");
    }
}
