//! The SealedSecret reconciler, compatible with Bitnami's sealed-secrets controller: a
//! `bitnami.com/v1alpha1` SealedSecret becomes the Secret of its template, owned by it.
//!
//! Guarantees:
//! - keys are Secrets in the key namespace labelled `sealedsecrets.bitnami.com/sealed-secrets-key:
//!   active` (`tls.key` PKCS #1 or PKCS #8 PEM, `tls.crt`), as sealed-secrets writes them, so a
//!   key Secret copied from a sealed-secrets installation works as it is; when there is none, a
//!   4096-bit key is generated at start; with a renewal period, a new key is added whenever the
//!   newest is that old — the newest key seals (its certificate is served at `/v1/cert.pem`), all
//!   keys unseal, none is ever deleted;
//! - `spec.template.data` values are Go templates (sprig) over the unsealed values, as
//!   sealed-secrets renders them;
//! - values unseal with the label of the SealedSecret's own namespace, name and scope (its
//!   metadata annotations); a template naming another Secret or claiming another scope is refused;
//! - the Secret gets the template's labels, annotations, type and immutable, the SealedSecret's
//!   name and namespace, and an ownerReference (controller) to the SealedSecret unless the
//!   template says `sealedsecrets.bitnami.com/skip-set-owner-references: "true"`; an existing
//!   Secret that is neither owned by the SealedSecret nor annotated
//!   `sealedsecrets.bitnami.com/managed: "true"` is left alone (`ErrUpdateFailed`);
//! - status condition `Synced` and events `Unsealed`, `ErrUnsealFailed`, `ErrUpdateFailed` as
//!   sealed-secrets writes them; messages name keys of the data, never a value, and nothing
//!   decrypted is logged.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ballast_api::sealed_secret::{SealedSecret, SealedSecretCondition, SealedSecretStatus};
use ballast_seal::{KEY_LABEL, UnsealingKey};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use serde_json::json;

use crate::context::Context;
use crate::error::ReconcileError;

/// Annotation letting a SealedSecret take over an existing Secret.
pub const MANAGED_ANNOTATION: &str = "sealedsecrets.bitnami.com/managed";
/// Template annotation: no ownerReference on the Secret (it outlives its SealedSecret).
pub const SKIP_OWNER_ANNOTATION: &str = "sealedsecrets.bitnami.com/skip-set-owner-references";
/// `generateName` of new key Secrets (sealed-secrets' default `--key-prefix`).
pub const KEY_PREFIX: &str = "sealed-secrets-key";
/// The field manager of unsealed Secrets.
const FIELD_MANAGER: &str = "ballast-sealed-secrets";
/// Most key Secrets read.
const MAX_KEY_SECRETS: u32 = 500;

/// The newest certificate (PEM), shared with the HTTP server's `/v1/cert.pem`.
pub type CertSlot = Arc<RwLock<Option<String>>>;

/// How keys are kept.
#[derive(Clone, Debug)]
pub struct KeyOptions {
    /// Namespace of the key Secrets.
    pub namespace: String,
    /// Add a key when the newest is this old (`None`: never).
    pub renew_period: Option<Duration>,
    /// RSA size of new keys.
    pub bits: usize,
    /// Subject CN of new certificates (empty: empty subject).
    pub cn: String,
}

/// One key read from its Secret.
#[derive(Clone)]
struct LoadedKey {
    uid: String,
    version: String,
    name: String,
    created: Option<jiff::Timestamp>,
    key: UnsealingKey,
    cert_pem: String,
}

/// The controller's keys, read from their Secrets (each parsed once per resourceVersion).
pub struct KeyRing {
    options: KeyOptions,
    client: kube::Client,
    cert: CertSlot,
    loaded: tokio::sync::Mutex<Vec<LoadedKey>>,
    /// Key Secrets that could not be read (uid, resourceVersion), reported once.
    broken: std::sync::Mutex<Vec<(String, String)>>,
}

impl KeyRing {
    /// A ring over the key Secrets of `options.namespace`; `cert` gets the newest certificate.
    pub fn new(client: kube::Client, options: KeyOptions, cert: CertSlot) -> Self {
        KeyRing {
            options,
            client,
            cert,
            loaded: tokio::sync::Mutex::new(Vec::new()),
            broken: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The keys, newest first (creation time, then name), read again from the cluster.
    pub async fn keys(&self) -> Result<Vec<UnsealingKey>, kube::Error> {
        Ok(self.refresh().await?.into_iter().map(|k| k.key).collect())
    }

    async fn refresh(&self) -> Result<Vec<LoadedKey>, kube::Error> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.options.namespace);
        let list = api
            .list(
                &ListParams::default()
                    .labels(&format!("{KEY_LABEL}=active"))
                    .limit(MAX_KEY_SECRETS),
            )
            .await?;
        let mut loaded = self.loaded.lock().await;
        let mut next = Vec::new();
        for secret in list.items {
            let uid = secret.metadata.uid.clone().unwrap_or_default();
            let version = secret.metadata.resource_version.clone().unwrap_or_default();
            if let Some(k) = loaded.iter().find(|k| k.uid == uid && k.version == version) {
                next.push(k.clone());
                continue;
            }
            match read_key(&secret) {
                Ok(k) => next.push(k),
                Err(e) => {
                    let mut broken = self.broken.lock().unwrap_or_else(|p| p.into_inner());
                    if !broken.contains(&(uid.clone(), version.clone())) {
                        eprintln!(
                            "SealedSecret keys: {}/{} is not a usable key: {e}",
                            self.options.namespace,
                            secret.name_any()
                        );
                        broken.push((uid, version));
                    }
                }
            }
        }
        next.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.name.cmp(&a.name)));
        *loaded = next.clone();
        let newest = next.first().map(|k| k.cert_pem.clone());
        *self.cert.write().unwrap_or_else(|p| p.into_inner()) = newest;
        Ok(next)
    }

    /// Makes a key and writes its Secret; returns the Secret's name.
    pub async fn generate(&self) -> Result<String, ReconcileError> {
        let (bits, cn) = (self.options.bits, self.options.cn.clone());
        let generated = tokio::task::spawn_blocking(move || ballast_seal::generate(bits, &cn))
            .await
            .map_err(|e| ReconcileError::Build(format!("key generation: {e}")))?
            .map_err(|e| ReconcileError::Build(e.to_string()))?;
        let secret: Secret = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"generateName": KEY_PREFIX, "namespace": self.options.namespace,
                         "labels": {KEY_LABEL: "active"}},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.key": generated.key_pem, "tls.crt": generated.cert_pem}
        }))
        .map_err(|e| ReconcileError::Build(e.to_string()))?;
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.options.namespace);
        let created = api.create(&PostParams::default(), &secret).await?;
        let name = created.name_any();
        eprintln!(
            "SealedSecret keys: new key written to {}/{name}",
            self.options.namespace
        );
        self.refresh().await?;
        Ok(name)
    }

    /// Generates a key when there is none, or when the newest is older than the renewal
    /// period. Returns how long until the next key is due.
    pub async fn maintain(&self) -> Result<Option<Duration>, ReconcileError> {
        let keys = self.refresh().await?;
        let Some(newest) = keys.first() else {
            self.generate().await?;
            return Ok(self.options.renew_period);
        };
        let Some(period) = self.options.renew_period else {
            return Ok(None);
        };
        let age = newest
            .created
            .map(|c| jiff::Timestamp::now().duration_since(c))
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or_default();
        if age >= period {
            self.generate().await?;
            return Ok(Some(period));
        }
        Ok(Some(period - age))
    }

    /// Keeps keys: the first at once, then one per renewal period; failures are logged and
    /// retried after 30 s. Never returns.
    pub async fn run(self: Arc<Self>) {
        loop {
            let wait = match self.maintain().await {
                Ok(Some(next)) => next.clamp(Duration::from_secs(1), Duration::from_secs(600)),
                Ok(None) => Duration::from_secs(600),
                Err(e) => {
                    eprintln!("SealedSecret keys in {}: {e}", self.options.namespace);
                    Duration::from_secs(30)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

fn read_key(secret: &Secret) -> Result<LoadedKey, String> {
    let field = |k: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(k))
            .map(|b| b.0.clone())
            .ok_or_else(|| format!("no {k}"))
    };
    let crt = field("tls.crt")?;
    let (key, _) = ballast_seal::read_key_secret(&field("tls.key")?, &crt).map_err(|e| e.to_string())?;
    let cert_pem = String::from_utf8_lossy(&crt).into_owned();
    Ok(LoadedKey {
        uid: secret.metadata.uid.clone().unwrap_or_default(),
        version: secret.metadata.resource_version.clone().unwrap_or_default(),
        name: secret.name_any(),
        created: secret
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(|t| t.0.to_string().parse().ok()),
        key,
        cert_pem,
    })
}

/// Most output of one `spec.template.data` template.
const MAX_TEMPLATE_OUTPUT: usize = 1 << 20;

/// `spec.template.data`, as sealed-secrets runs it: each value a Go template (sprig functions)
/// over the unsealed values (`{{ .password }}`), its output the value of its key. A template
/// that does not parse is reported with Go's message (the template is in the manifest, not a
/// secret); one that fails while running only by its key, since the message could quote a value.
fn render_templates(mut unsealed: ballast_seal::Unsealed) -> Result<ballast_seal::Unsealed, String> {
    if unsealed.templates.is_empty() {
        return Ok(unsealed);
    }
    use ballast_gotemplate::{Limits, Templates, Value};
    let mut set = Templates::new(std::rc::Rc::new(ballast_helm::funcs::sprig()));
    set.limits(Limits {
        max_output: MAX_TEMPLATE_OUTPUT,
        ..Limits::default()
    });
    let data: ballast_gotemplate::Map = unsealed
        .data
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(String::from_utf8_lossy(v).into_owned())))
        .collect();
    let data = Value::map(data);
    for (key, text) in &unsealed.templates {
        set.parse(key, text)
            .map_err(|e| format!("spec.template.data.{key}: {}", e.message))?;
        let out = set
            .execute(key, &data)
            .map_err(|_| format!("spec.template.data.{key}: the template failed while running"))?;
        unsealed.data.insert(key.clone(), out.into_bytes());
    }
    Ok(unsealed)
}

/// Reconciles one SealedSecret.
pub async fn reconcile(ss: Arc<SealedSecret>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    if ss.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let Some(ring) = ctx.sealing.get() else {
        return Ok(Action::await_change());
    };
    let ns = ss.namespace().unwrap_or_default();
    let name = ss.name_any();
    let keys = ring.keys().await?;
    let value = serde_json::to_value(&*ss).map_err(|e| ReconcileError::Build(e.to_string()))?;
    let unsealed = match ballast_seal::unseal_sealed_secret(&value, &keys)
        .map_err(|e| e.to_string())
        .and_then(render_templates)
    {
        Ok(u) => u,
        Err(e) => {
            let message = if keys.is_empty() {
                format!("{e} (no key Secret in {} yet)", ring.options.namespace)
            } else {
                e
            };
            report(&ss, &ctx, false, "ErrUnsealFailed", &message).await?;
            // A key imported later makes it work: look again.
            return Ok(Action::requeue(crate::schedule::jittered(Duration::from_secs(60))));
        }
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let uid = ss.metadata.uid.clone().unwrap_or_default();
    let live = secrets.get_opt(&name).await?;
    if let Some(live) = &live {
        let owned = live
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.uid == uid && o.controller == Some(true));
        let managed = live
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(MANAGED_ANNOTATION))
            .is_some_and(|v| v == "true");
        if !owned && !managed {
            let message = format!("Resource {name:?} already exists and is not managed by SealedSecret");
            report(&ss, &ctx, false, "ErrUpdateFailed", &message).await?;
            return Ok(Action::requeue(crate::schedule::jittered(Duration::from_secs(300))));
        }
    }
    let owner = (unsealed.annotations.get(SKIP_OWNER_ANNOTATION).map(String::as_str) != Some("true")).then(|| {
        json!({"apiVersion": ballast_seal::API_VERSION, "kind": "SealedSecret", "name": name, "uid": uid,
               "controller": true, "blockOwnerDeletion": true})
    });
    let mut secret = unsealed.to_secret(owner);
    // The write is conditional on what was judged above: the resourceVersion read (a Secret
    // changed since is refused, 409) or, for an absent Secret, a create (one that appeared
    // since is refused, 409); the next reconcile judges again.
    let written = match live.and_then(|l| l.metadata.resource_version) {
        Some(rv) => {
            secret["metadata"]["resourceVersion"] = json!(rv);
            secrets
                .patch(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&secret),
                )
                .await
        }
        None => {
            // Never the serde message: it could quote a value.
            let secret: Secret = serde_json::from_value(secret)
                .map_err(|_| ReconcileError::Build(format!("Secret {ns}/{name}: not a valid Secret")))?;
            let params = PostParams {
                field_manager: Some(FIELD_MANAGER.to_string()),
                ..Default::default()
            };
            secrets.create(&params, &secret).await
        }
    };
    written.map_err(|e| ReconcileError::Apply(format!("Secret {ns}/{name}: {}", without_body(&e))))?;
    report(&ss, &ctx, true, "Unsealed", "SealedSecret unsealed successfully").await?;
    Ok(Action::requeue(crate::schedule::jittered(Duration::from_secs(600))))
}

/// An API error's message without anything of the request (the API server does not echo
/// Secret data in errors, but only the status text is kept anyway).
fn without_body(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.reason),
        e => e.to_string(),
    }
}

/// Writes the `Synced` condition and, when it changed, the event.
async fn report(ss: &SealedSecret, ctx: &Context, ok: bool, reason: &str, message: &str) -> Result<(), ReconcileError> {
    let now = crate::status::now();
    let status = if ok { "True" } else { "False" };
    let previous = ss
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Synced"));
    let changed = previous.is_none_or(|p| p.status != status || p.message.as_deref() != Some(message))
        || ss.status.as_ref().and_then(|s| s.observed_generation) != ss.metadata.generation;
    if !changed {
        return Ok(());
    }
    let transition = match previous {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => Some(now.clone()),
    };
    let new = SealedSecretStatus {
        observed_generation: ss.metadata.generation,
        conditions: vec![SealedSecretCondition {
            type_: "Synced".into(),
            status: status.into(),
            last_update_time: Some(now),
            last_transition_time: transition,
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
        }],
    };
    let api: Api<SealedSecret> = Api::namespaced(ctx.client.clone(), &ss.namespace().unwrap_or_default());
    api.patch_status(
        &ss.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": new})),
    )
    .await?;
    let type_ = if ok { EventType::Normal } else { EventType::Warning };
    ctx.event(ss, type_, reason, message).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsealed(templates: &[(&str, &str)]) -> ballast_seal::Unsealed {
        ballast_seal::Unsealed {
            namespace: "ns".into(),
            name: "db".into(),
            scope: ballast_seal::Scope::Strict,
            labels: Default::default(),
            annotations: Default::default(),
            type_: None,
            immutable: None,
            data: [("password".to_string(), b"hunter2".to_vec())].into(),
            templates: templates.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn template_data_renders_over_the_values_and_failures_never_quote_them() {
        let out = render_templates(unsealed(&[
            ("dsn", "pg://app:{{ .password | upper }}@db"),
            ("plain", "text"),
        ]))
        .unwrap();
        assert_eq!(out.data["dsn"], b"pg://app:HUNTER2@db");
        assert_eq!(out.data["plain"], b"text");
        assert_eq!(out.data["password"], b"hunter2");
        let err = render_templates(unsealed(&[("bad", "{{ .password ")])).unwrap_err();
        assert!(err.starts_with("spec.template.data.bad: "), "{err}");
        let err = render_templates(unsealed(&[("n", "{{ mustToDate \"2006-01-02\" .password }}")])).unwrap_err();
        assert_eq!(err, "spec.template.data.n: the template failed while running");
        assert!(!err.contains("hunter2"));
    }
}
