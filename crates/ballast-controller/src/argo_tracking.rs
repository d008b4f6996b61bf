//! How an Application marks the objects it owns and recognises them again, as Argo CD's
//! `application.resourceTrackingMethod` (key of the `argocd-cm` ConfigMap in the control
//! namespace) chooses (`util/argo/resource_tracking.go`):
//!
//! - `annotation` (the default since Argo CD 3.0): `argocd.argoproj.io/tracking-id:
//!   <app>:<group>/<kind>:<namespace>/<name>` written and read;
//! - `label`: the instance label (`app.kubernetes.io/instance`, or `application.instanceLabelKey`
//!   of `argocd-cm`) set to the Application's instance name, written and read; a name longer
//!   than 63 characters cannot be a label value and is refused;
//! - `annotation+label`: both written (the label cut to 63 characters), ownership read from the
//!   annotation only.
//!
//! Guarantees: an unknown method is refused by name (nothing is written under a guess); the
//! ConfigMap is read once per reconcile; ownership is never inferred from anything else.

use ballast_api::argo::{TRACKING_ID, parse_tracking_id};
use ballast_core::ObjectRef;
use serde_json::{Value, json};

/// Argo CD's settings ConfigMap.
pub const SETTINGS_CONFIGMAP: &str = "argocd-cm";
/// Its key choosing the tracking method.
pub const METHOD_KEY: &str = "application.resourceTrackingMethod";
/// Its key naming the instance label.
pub const LABEL_KEY: &str = "application.instanceLabelKey";
/// Argo CD's default instance label.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// A tracking method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// `argocd.argoproj.io/tracking-id` only.
    #[default]
    Annotation,
    /// The instance label only.
    Label,
    /// Both; the annotation is read.
    AnnotationAndLabel,
}

/// The tracking in force for an Application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracking {
    /// Method.
    pub method: Method,
    /// The instance label's key.
    pub label_key: String,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking {
            method: Method::Annotation,
            label_key: INSTANCE_LABEL.into(),
        }
    }
}

impl Tracking {
    /// The tracking `argocd-cm`'s `data` asks for; `Err` names an unknown method.
    pub fn from_settings(data: &Value) -> Result<Tracking, String> {
        let method = match data[METHOD_KEY].as_str().map(str::trim).unwrap_or("") {
            "" | "annotation" => Method::Annotation,
            "label" => Method::Label,
            "annotation+label" => Method::AnnotationAndLabel,
            other => {
                return Err(format!(
                    "{SETTINGS_CONFIGMAP} {METHOD_KEY}: unknown tracking method {other:?} (annotation, label or annotation+label)"
                ));
            }
        };
        let label_key = data[LABEL_KEY]
            .as_str()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .unwrap_or(INSTANCE_LABEL)
            .to_string();
        Ok(Tracking { method, label_key })
    }

    /// Reads `argocd-cm` in `namespace` (absent: the default, annotation tracking).
    pub async fn load(cluster: &ballast_kube::Cluster, namespace: &str) -> Result<Tracking, String> {
        let r = ObjectRef::new("v1", "ConfigMap", Some(namespace), SETTINGS_CONFIGMAP);
        match cluster.get(&r).await {
            Ok(Some(cm)) => Tracking::from_settings(&cm["data"]),
            Ok(None) => Ok(Tracking::default()),
            Err(e) => Err(format!("reading {namespace}/{SETTINGS_CONFIGMAP}: {e}")),
        }
    }

    /// Marks `o` as owned by `app` (its tracking id `id`).
    pub fn mark(&self, o: &mut Value, app: &str, id: &str) -> Result<(), String> {
        let annotate = self.method != Method::Label;
        let label = self.method != Method::Annotation;
        if annotate {
            if !o["metadata"]["annotations"].is_object() {
                o["metadata"]["annotations"] = json!({});
            }
            o["metadata"]["annotations"][TRACKING_ID] = json!(id);
        }
        if label {
            let value = if self.method == Method::Label {
                if app.len() > 63 {
                    return Err(format!(
                        "label tracking: the Application name {app:?} is longer than a label value may be (63 characters)"
                    ));
                }
                app.to_string()
            } else {
                app.chars().take(63).collect()
            };
            if !o["metadata"]["labels"].is_object() {
                o["metadata"]["labels"] = json!({});
            }
            o["metadata"]["labels"][self.label_key.as_str()] = json!(value);
        }
        Ok(())
    }

    /// The Application that owns `live`, as this method reads it.
    pub fn owner(&self, live: &Value) -> Option<String> {
        match self.method {
            Method::Label => live["metadata"]["labels"][self.label_key.as_str()]
                .as_str()
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            _ => annotation_owner(live),
        }
    }
}

/// The Application the tracking annotation of `live` names.
pub fn annotation_owner(live: &Value) -> Option<String> {
    let id = live["metadata"]["annotations"][TRACKING_ID].as_str()?;
    parse_tracking_id(id).map(|p| p.0.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj() -> Value {
        json!({"metadata": {"name": "x"}})
    }

    #[test]
    fn settings_choose_the_method_and_label_key() {
        assert_eq!(Tracking::from_settings(&json!(null)).unwrap(), Tracking::default());
        let t = Tracking::from_settings(&json!({METHOD_KEY: "label"})).unwrap();
        assert_eq!((t.method, t.label_key.as_str()), (Method::Label, INSTANCE_LABEL));
        let t = Tracking::from_settings(&json!({METHOD_KEY: "annotation+label", LABEL_KEY: "team/app"})).unwrap();
        assert_eq!(
            (t.method, t.label_key.as_str()),
            (Method::AnnotationAndLabel, "team/app")
        );
        let e = Tracking::from_settings(&json!({METHOD_KEY: "guess"})).unwrap_err();
        assert!(e.contains("\"guess\""), "{e}");
    }

    #[test]
    fn marks_and_reads_as_argo_cd() {
        let id = "web:/ConfigMap:ns/x";
        let mut o = obj();
        Tracking::default().mark(&mut o, "web", id).unwrap();
        assert_eq!(o["metadata"]["annotations"][TRACKING_ID], id);
        assert!(o["metadata"]["labels"].is_null());
        assert_eq!(Tracking::default().owner(&o).as_deref(), Some("web"));

        let label = Tracking {
            method: Method::Label,
            ..Default::default()
        };
        let mut o = obj();
        label.mark(&mut o, "web", id).unwrap();
        assert_eq!(o["metadata"]["labels"][INSTANCE_LABEL], "web");
        assert!(o["metadata"]["annotations"].is_null());
        assert_eq!(label.owner(&o).as_deref(), Some("web"));
        assert_eq!(
            Tracking::default().owner(&o),
            None,
            "annotation tracking ignores the label"
        );
        assert!(label.mark(&mut obj(), &"a".repeat(64), id).is_err());

        let both = Tracking {
            method: Method::AnnotationAndLabel,
            ..Default::default()
        };
        let long = "b".repeat(70);
        let mut o = obj();
        both.mark(&mut o, &long, id).unwrap();
        assert_eq!(o["metadata"]["labels"][INSTANCE_LABEL].as_str().unwrap().len(), 63);
        assert_eq!(both.owner(&o).as_deref(), Some("web"), "read from the annotation");
    }
}
