//! Flux's `spec.postBuild` of a Kustomization: the variables substituted into its objects after
//! the build (`ballast_render::postbuild`).

use std::collections::BTreeMap;

use ballast_api::Kustomization;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, ResourceExt};
use serde::Deserialize;

use crate::error::ReconcileError;

/// `spec.postBuild` as Flux defines it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostBuild {
    #[serde(default)]
    substitute: BTreeMap<String, String>,
    #[serde(default)]
    substitute_from: Vec<SubstituteReference>,
}

#[derive(Debug, Deserialize)]
struct SubstituteReference {
    kind: String,
    name: String,
    #[serde(default)]
    optional: bool,
}

/// The variables of `spec.postBuild`, or `None` without one: the data of each `substituteFrom`
/// ConfigMap (`data`) or Secret (`data`, decoded) of the Kustomization's namespace in order, a
/// later one overriding an earlier one, then `substitute` over them all; newlines are removed from
/// every value, as Flux does. A missing object fails unless `optional`. Errors name the object,
/// never a value.
pub async fn variables(
    client: &kube::Client,
    ks: &Kustomization,
) -> Result<Option<BTreeMap<String, String>>, ReconcileError> {
    let Some(raw) = &ks.spec.post_build else {
        return Ok(None);
    };
    let spec: PostBuild =
        serde_json::from_value(raw.clone()).map_err(|e| ReconcileError::Invalid(format!("spec.postBuild: {e}")))?;
    let ns = ks.namespace().unwrap_or_default();
    let mut vars = BTreeMap::new();
    let clean = |v: &str| v.replace('\n', "");
    for r in &spec.substitute_from {
        let missing = || {
            ReconcileError::Build(format!(
                "substitute from '{}/{}' error: {} '{ns}/{}' not found",
                r.kind, r.name, r.kind, r.name
            ))
        };
        match r.kind.as_str() {
            "ConfigMap" => {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
                match api.get_opt(&r.name).await? {
                    Some(cm) => {
                        for (k, v) in cm.data.unwrap_or_default() {
                            vars.insert(k, clean(&v));
                        }
                    }
                    None if r.optional => {}
                    None => return Err(missing()),
                }
            }
            "Secret" => {
                let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
                match api.get_opt(&r.name).await? {
                    Some(s) => {
                        for (k, v) in s.data.unwrap_or_default() {
                            vars.insert(k, clean(&String::from_utf8_lossy(&v.0)));
                        }
                    }
                    None if r.optional => {}
                    None => return Err(missing()),
                }
            }
            other => {
                return Err(ReconcileError::Invalid(format!(
                    "spec.postBuild.substituteFrom: unsupported kind {other:?} (ConfigMap or Secret)"
                )));
            }
        }
    }
    for (k, v) in &spec.substitute {
        vars.insert(k.clone(), clean(v));
    }
    Ok(Some(vars))
}
