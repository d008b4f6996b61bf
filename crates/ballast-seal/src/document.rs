//! Manifests: a Secret sealed into a SealedSecret (what `kubeseal` prints), a SealedSecret
//! unsealed into its Secret (what the controller writes), and the values of a SealedSecret
//! sealed again with a newer key (`--re-encrypt`).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::{API_VERSION, Scope, SealError, SealingKey, UnsealingKey, hybrid};

/// Most entries of `encryptedData` (or of a Secret's data) handled.
pub const MAX_ENTRIES: usize = 1000;

/// Annotation kubectl writes, never carried into a template (it may hold the plain values).
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A Secret manifest (`data` and `stringData`, the latter winning) sealed as `kubeseal` does:
/// `scope` (else the Secret's scope annotations), namespace from the Secret (else
/// `default_namespace`). The template keeps the Secret's metadata without its server-side fields,
/// ownerReferences and kubectl's last-applied annotation, and its `type` and `immutable`.
pub fn seal_secret(
    secret: &Value,
    key: &SealingKey,
    scope: Option<Scope>,
    default_namespace: &str,
) -> Result<Value, SealError> {
    let doc = |m: String| SealError::Document(m);
    if secret["kind"] != "Secret" || secret["apiVersion"] != "v1" {
        return Err(doc(format!(
            "expected a v1 Secret, got {} {}",
            secret["apiVersion"].as_str().unwrap_or("?"),
            secret["kind"].as_str().unwrap_or("?")
        )));
    }
    let name = secret["metadata"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| doc("the Secret has no metadata.name".into()))?;
    let namespace = secret["metadata"]["namespace"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or(default_namespace);
    let mut meta = secret["metadata"].as_object().cloned().unwrap_or_default();
    for field in [
        "uid",
        "resourceVersion",
        "generation",
        "selfLink",
        "managedFields",
        "ownerReferences",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "finalizers",
    ] {
        meta.remove(field);
    }
    let mut annotations: BTreeMap<String, String> = meta
        .remove("annotations")
        .and_then(|a| serde_json::from_value(a).ok())
        .unwrap_or_default();
    annotations.remove(LAST_APPLIED);
    let scope = scope.unwrap_or_else(|| Scope::from_annotations(Some(&annotations)));
    for s in [Scope::NamespaceWide, Scope::ClusterWide] {
        if let Some(a) = s.annotation() {
            annotations.remove(a);
        }
    }
    let mut sealed_annotations = Map::new();
    if let Some(a) = scope.annotation() {
        annotations.insert(a.into(), "true".into());
        sealed_annotations.insert(a.into(), "true".into());
    }
    meta.insert("name".into(), name.into());
    meta.insert("namespace".into(), namespace.into());
    meta.insert("creationTimestamp".into(), Value::Null);
    if !annotations.is_empty() {
        meta.insert("annotations".into(), json!(annotations));
    }
    let label = scope.label(namespace, name);
    let mut encrypted = BTreeMap::new();
    for (k, v) in plain_values(secret)? {
        let sealed = hybrid::seal(key, &label, &v)?;
        encrypted.insert(k, STANDARD.encode(sealed));
    }
    let mut template = json!({"metadata": meta});
    if let Some(t) = secret.get("type").filter(|t| t.is_string()) {
        template["type"] = t.clone();
    }
    if let Some(i) = secret.get("immutable").filter(|i| i.is_boolean()) {
        template["immutable"] = i.clone();
    }
    let mut metadata = json!({"creationTimestamp": null, "name": name, "namespace": namespace});
    if !sealed_annotations.is_empty() {
        metadata["annotations"] = Value::Object(sealed_annotations);
    }
    Ok(json!({
        "apiVersion": API_VERSION,
        "kind": "SealedSecret",
        "metadata": metadata,
        "spec": {"encryptedData": encrypted, "template": template}
    }))
}

/// A Secret's values: `data` decoded, then `stringData` over it.
fn plain_values(secret: &Value) -> Result<BTreeMap<String, Vec<u8>>, SealError> {
    let mut out = BTreeMap::new();
    let entries = |field: &str| {
        secret
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    for (k, v) in entries("data") {
        let text = v.as_str().unwrap_or_default();
        let bytes = STANDARD
            .decode(text.as_bytes())
            .map_err(|_| SealError::Document(format!("data.{k} is not valid base64")))?;
        out.insert(k, bytes);
    }
    for (k, v) in entries("stringData") {
        let text = v
            .as_str()
            .ok_or_else(|| SealError::Document(format!("stringData.{k} is not a string")))?;
        out.insert(k, text.as_bytes().to_vec());
    }
    if out.len() > MAX_ENTRIES {
        return Err(SealError::Document(format!("more than {MAX_ENTRIES} entries")));
    }
    Ok(out)
}

/// What a SealedSecret unseals into. `Debug` shows the keys of the data, never the values.
#[derive(Clone, PartialEq)]
pub struct Unsealed {
    /// Namespace (the SealedSecret's).
    pub namespace: String,
    /// Name (the SealedSecret's).
    pub name: String,
    /// The scope the values were unsealed in.
    pub scope: Scope,
    /// `spec.template.metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `spec.template.metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `spec.template.type`.
    pub type_: Option<String>,
    /// `spec.template.immutable`.
    pub immutable: Option<bool>,
    /// The values.
    pub data: BTreeMap<String, Vec<u8>>,
    /// `spec.template.data`: Go templates over the values, each giving the value of its key
    /// (rendered by the controller; [`Unsealed::to_secret`] leaves them out).
    pub templates: BTreeMap<String, String>,
}

impl std::fmt::Debug for Unsealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unsealed")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Unsealed {
    /// The Secret manifest (values base64 in `data`), with `owner` as its ownerReferences when
    /// given.
    pub fn to_secret(&self, owner: Option<Value>) -> Value {
        let data: BTreeMap<&String, String> = self.data.iter().map(|(k, v)| (k, STANDARD.encode(v))).collect();
        let mut metadata = json!({"name": self.name, "namespace": self.namespace});
        if !self.labels.is_empty() {
            metadata["labels"] = json!(self.labels);
        }
        if !self.annotations.is_empty() {
            metadata["annotations"] = json!(self.annotations);
        }
        if let Some(owner) = owner {
            metadata["ownerReferences"] = json!([owner]);
        }
        let mut secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "data": data});
        secret["type"] = json!(self.type_.as_deref().unwrap_or("Opaque"));
        if let Some(i) = self.immutable {
            secret["immutable"] = json!(i);
        }
        secret
    }
}

/// The SealedSecret's namespace, name and scope (from its own metadata), refusing a template
/// that names another Secret or claims another scope: the label binds the values to where the
/// SealedSecret is, and nothing in the template may widen that.
pub fn identity(sealed: &Value) -> Result<(String, String, Scope), SealError> {
    let doc = |m: String| SealError::Document(m);
    if sealed["kind"] != "SealedSecret" {
        return Err(doc("not a SealedSecret".into()));
    }
    let meta = &sealed["metadata"];
    let name = meta["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| doc("no metadata.name".into()))?;
    let namespace = meta["namespace"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| doc("no metadata.namespace".into()))?;
    let annotations: Option<BTreeMap<String, String>> = serde_json::from_value(meta["annotations"].clone()).ok();
    let scope = Scope::from_annotations(annotations.as_ref());
    let template = &sealed["spec"]["template"]["metadata"];
    for (field, own) in [("name", name), ("namespace", namespace)] {
        if let Some(t) = template[field].as_str().filter(|t| !t.is_empty() && *t != own) {
            return Err(doc(format!(
                "spec.template.metadata.{field} {t:?} differs from the SealedSecret's {own:?}"
            )));
        }
    }
    let template_annotations: Option<BTreeMap<String, String>> =
        serde_json::from_value(template["annotations"].clone()).ok();
    let claimed = Scope::from_annotations(template_annotations.as_ref());
    if claimed != Scope::Strict && claimed != scope {
        return Err(doc(format!(
            "spec.template.metadata.annotations claim scope {} but the SealedSecret is {}",
            claimed.name(),
            scope.name()
        )));
    }
    Ok((namespace.to_string(), name.to_string(), scope))
}

/// The entries of `spec.encryptedData`, base64-decoded (the key named on error).
fn encrypted_entries(sealed: &Value) -> Result<Vec<(String, String, Vec<u8>)>, SealError> {
    let spec = &sealed["spec"];
    if spec.get("data").is_some_and(|d| !d.is_null()) {
        return Err(SealError::Document(
            "spec.data (the sealed-secrets v1 format) is not supported; seal again with `ballast seal`".into(),
        ));
    }
    let entries = spec["encryptedData"].as_object().cloned().unwrap_or_default();
    if entries.len() > MAX_ENTRIES {
        return Err(SealError::Document(format!(
            "more than {MAX_ENTRIES} entries in spec.encryptedData"
        )));
    }
    entries
        .into_iter()
        .map(|(k, v)| {
            let text = v.as_str().unwrap_or_default().to_string();
            let bytes = STANDARD
                .decode(text.as_bytes())
                .map_err(|_| SealError::Document(format!("spec.encryptedData.{k} is not valid base64")))?;
            Ok((k, text, bytes))
        })
        .collect()
}

/// Unseals a SealedSecret with `keys` (newest first is fastest): every value of
/// `spec.encryptedData` with the label of the SealedSecret's own namespace, name and scope.
pub fn unseal_sealed_secret(sealed: &Value, keys: &[UnsealingKey]) -> Result<Unsealed, SealError> {
    let (namespace, name, scope) = identity(sealed)?;
    let template = &sealed["spec"]["template"];
    let label = scope.label(&namespace, &name);
    let mut data = BTreeMap::new();
    for (k, _, v) in encrypted_entries(sealed)? {
        let plain = hybrid::unseal(keys, &label, &v).map_err(|e| match e {
            SealError::NoKey | SealError::Malformed => SealError::Document(format!("spec.encryptedData.{k}: {e}")),
            e => e,
        })?;
        data.insert(k, plain);
    }
    let map = |v: &Value| -> BTreeMap<String, String> { serde_json::from_value(v.clone()).unwrap_or_default() };
    Ok(Unsealed {
        namespace,
        name,
        scope,
        labels: map(&template["metadata"]["labels"]),
        annotations: map(&template["metadata"]["annotations"]),
        type_: template["type"].as_str().map(str::to_string),
        immutable: template["immutable"].as_bool(),
        data,
        templates: map(&template["data"]),
    })
}

/// One value sealed again: the base64 text it had and the one it gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resealed {
    /// The key in `spec.encryptedData`.
    pub key: String,
    /// The old base64 text.
    pub old: String,
    /// The new base64 text.
    pub new: String,
}

/// The values of `sealed` that `newest` does not open yet, unsealed with `keys` and sealed
/// again for `newest` in the same scope (`newest` is matched to its private key in `keys` by
/// public key; values it already opens are left alone).
pub fn reseal(sealed: &Value, keys: &[UnsealingKey], newest: &SealingKey) -> Result<Vec<Resealed>, SealError> {
    let (namespace, name, scope) = identity(sealed)?;
    let label = scope.label(&namespace, &name);
    let spki = newest.spki();
    let newest_private: Vec<UnsealingKey> = keys
        .iter()
        .filter(|k| k.sealing_key().spki() == spki)
        .take(1)
        .cloned()
        .collect();
    let mut out = Vec::new();
    for (k, old, v) in encrypted_entries(sealed)? {
        if !newest_private.is_empty() && hybrid::unseal(&newest_private, &label, &v).is_ok() {
            continue;
        }
        let plain = hybrid::unseal(keys, &label, &v)
            .map_err(|e| SealError::Document(format!("{namespace}/{name} spec.encryptedData.{k}: {e}")))?;
        let new = STANDARD.encode(hybrid::seal(newest, &label, &plain)?);
        out.push(Resealed { key: k, old, new });
    }
    Ok(out)
}
