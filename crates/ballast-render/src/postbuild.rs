//! Flux's `postBuild` variable substitution on rendered objects.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ballast_core::manifest::Manifest;

use crate::RenderError;
use crate::envsubst;

/// The label or annotation that, set to `disabled`, leaves an object unsubstituted (Flux's).
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Substitutes `vars` into every object of `manifests` as Flux's kustomize-controller does after
/// the build: each object is written as YAML, its `${...}` replaced ([`envsubst`]), and the text
/// read back, so a value such as `replicas: ${REPLICAS}` becomes a number when the variable holds
/// one. Objects labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` are left
/// alone; with no variable at all nothing is touched (not even `$$`). Variable names must match
/// `^[_a-zA-Z][_a-zA-Z0-9]*$`. With `strict`, a variable used without a default and not set is
/// an error. Errors name the object (and the variable), never a value.
pub fn substitute(
    manifests: &mut [Manifest],
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<(), RenderError> {
    if vars.is_empty() {
        return Ok(());
    }
    for name in vars.keys() {
        let mut chars = name.chars();
        let valid = chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
            && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
        if !valid {
            return Err(RenderError::Substitute {
                object: "postBuild".into(),
                message: format!("'{name}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"),
            });
        }
    }
    for m in manifests.iter_mut() {
        let disabled = ["labels", "annotations"]
            .iter()
            .any(|f| m.object["metadata"][f][SUBSTITUTE_KEY] == "disabled");
        if disabled {
            continue;
        }
        let object = PathBuf::from(format!(
            "{}/{}",
            m.kind(),
            match m.object["metadata"]["namespace"].as_str() {
                Some(ns) => format!("{ns}/{}", m.name()),
                None => m.name().to_string(),
            }
        ));
        let fail = |message: String| RenderError::Substitute {
            object: object.clone(),
            message,
        };
        let text = crate::emit::to_yaml(&m.object);
        // Nothing to substitute (a lone `$$` is still read as `$`, as Flux does).
        if !text.contains("${") && !text.contains("$$") {
            continue;
        }
        let out = envsubst::substitute(&text, |k| vars.get(k).map(String::as_str), strict)
            .map_err(|e| fail(format!("variable substitution failed: {e}")))?;
        let mut docs = crate::yaml::parse_stream(&out)
            .map_err(|e| fail(format!("the object is no longer valid YAML after substitution: {e}")))?;
        if docs.len() != 1 || !docs[0].is_object() {
            return Err(fail(
                "the object is no longer one YAML object after substitution".into(),
            ));
        }
        let origin = m.origin.clone();
        *m = Manifest::new(docs.remove(0), origin)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast_core::manifest::Origin;
    use serde_json::json;

    fn manifest(object: serde_json::Value) -> Manifest {
        Manifest::new(
            object,
            Origin {
                file: "app.yaml".into(),
                document: 0,
            },
        )
        .unwrap()
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn values_are_substituted_and_read_back_with_their_types() {
        let mut ms = vec![manifest(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web-${env}", "namespace": "apps"},
            "spec": {"replicas": "${replicas}", "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:${tag:=latest}", "args": ["$${literal}", "$HOME"]}
            ]}}}
        }))];
        substitute(&mut ms, &vars(&[("env", "prod"), ("replicas", "3")]), false).unwrap();
        let o = &ms[0].object;
        assert_eq!(ms[0].name(), "web-prod");
        assert_eq!(o["spec"]["replicas"], 3);
        let c = &o["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "nginx:latest");
        assert_eq!(c["args"], json!(["${literal}", "$HOME"]));
    }

    #[test]
    fn disabled_objects_and_empty_variables_are_left_alone() {
        let object = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "script", "annotations": {SUBSTITUTE_KEY: "disabled"}},
            "data": {"run.sh": "echo ${HOME} $$"}
        });
        let mut ms = vec![manifest(object.clone())];
        substitute(&mut ms, &vars(&[("HOME", "x")]), false).unwrap();
        assert_eq!(ms[0].object, object);
        let plain =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "${HOME} $$"}});
        let mut ms = vec![manifest(plain.clone())];
        substitute(&mut ms, &BTreeMap::new(), false).unwrap();
        assert_eq!(ms[0].object, plain);
    }

    #[test]
    fn errors_name_the_object_and_never_a_value() {
        let mut ms = vec![manifest(json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"},
            "stringData": {"token": "${token"}
        }))];
        let e = substitute(&mut ms, &vars(&[("token", "hunter2")]), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Secret/a/s") && e.contains("missing closing brace"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let bad = substitute(&mut ms, &vars(&[("bad-name", "x")]), false)
            .unwrap_err()
            .to_string();
        assert!(bad.contains("'bad-name' var name is invalid"), "{bad}");
        let mut ms = vec![manifest(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "${unset}"}}),
        )];
        let strict = substitute(&mut ms, &vars(&[("x", "1")]), true).unwrap_err().to_string();
        assert!(
            strict.contains("ConfigMap/c") && strict.contains("\"unset\""),
            "{strict}"
        );
    }
}
