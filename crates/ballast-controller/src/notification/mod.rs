//! Notifications (`notification.toolkit.fluxcd.io`): events out to Providers through Alerts
//! ([`dispatch`]), webhooks in through Receivers ([`receiver`]), and the small reconcilers
//! that report whether each Provider, Alert and Receiver can be used (`Ready`; a Receiver's
//! `status.webhookPath`).

pub mod dispatch;
pub mod event;
pub mod filter;
pub mod provider;
pub mod receiver;

use std::sync::Arc;
use std::time::Duration;

use ballast_api::notification::{Alert, NotificationStatus, Provider, Receiver};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::context::Context;
use crate::error::ReconcileError;
use crate::status::{mark_failed, mark_ready};

/// Rechecks every object this often (Secrets are not watched).
const RECHECK: Duration = Duration::from_secs(600);

async fn write_status<K>(client: &kube::Client, obj: &K, outcome: Result<String, String>, webhook_path: Option<String>)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K: HasNotificationStatus,
{
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(client.clone(), &ns);
    let generation = obj.meta().generation;
    let mut status = obj.notification_status().cloned().unwrap_or_default();
    match &outcome {
        Ok(message) => mark_ready(&mut status.conditions, "Succeeded", message, generation),
        Err(message) => mark_failed(&mut status.conditions, "ValidationFailed", message, generation, true),
    }
    status.observed_generation = generation;
    status.webhook_path = webhook_path;
    let patch = json!({"status": status});
    if let Err(e) = api
        .patch_status(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        eprintln!("{} {ns}/{}: status: {e}", K::kind(&()), obj.name_any());
    }
}

/// Access to the shared status type.
pub trait HasNotificationStatus {
    /// The status, if any.
    fn notification_status(&self) -> Option<&NotificationStatus>;
}

impl HasNotificationStatus for Provider {
    fn notification_status(&self) -> Option<&NotificationStatus> {
        self.status.as_ref()
    }
}
impl HasNotificationStatus for Alert {
    fn notification_status(&self) -> Option<&NotificationStatus> {
        self.status.as_ref()
    }
}
impl HasNotificationStatus for Receiver {
    fn notification_status(&self) -> Option<&NotificationStatus> {
        self.status.as_ref()
    }
}

/// Checks a Provider: supported type, Secrets readable, an address, a usable proxy if any.
pub async fn reconcile_provider(p: Arc<Provider>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let outcome = dispatch::resolve(&ctx.client, &p)
        .await
        .map(|_| "Provider initialized".to_string())
        .map_err(|e| e.0);
    write_status(&ctx.client, &*p, outcome, None).await;
    Ok(Action::requeue(RECHECK))
}

/// Checks an Alert: its expressions compile and its Provider exists.
pub async fn reconcile_alert(a: Arc<Alert>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let ns = a.namespace().unwrap_or_default();
    let mut outcome = event::CompiledAlert::new((*a).clone())
        .map(|_| "Alert initialized".to_string())
        .map_err(|e| e.0);
    if outcome.is_ok() {
        let providers: Api<Provider> = Api::namespaced(ctx.client.clone(), &ns);
        if providers.get_opt(&a.spec.provider_ref.name).await?.is_none() {
            outcome = Err(format!("provider {} not found", a.spec.provider_ref.name));
        }
    }
    write_status(&ctx.client, &*a, outcome, None).await;
    Ok(Action::requeue(RECHECK))
}

/// Checks a Receiver and publishes its `webhookPath`.
pub async fn reconcile_receiver(r: Arc<Receiver>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let ns = r.namespace().unwrap_or_default();
    let name = r.name_any();
    let secret = &r.spec.secret_ref.name;
    let (outcome, path) = if !receiver::SUPPORTED.contains(&r.spec.receiver_type.as_str()) {
        (
            Err(format!(
                "type {:?} is not supported (supported: {})",
                r.spec.receiver_type,
                receiver::SUPPORTED.join(", ")
            )),
            None,
        )
    } else if let Err(e) = receiver::Filters::compile(&r) {
        (Err(e), None)
    } else {
        match receiver::token(&ctx.client, &ns, secret).await {
            Some(token) => {
                let path = receiver::webhook_path(&token, &name, &ns);
                (Ok(format!("Receiver initialized for path: {path}")), Some(path))
            }
            None => (Err(format!("secret {secret}: no token")), None),
        }
    };
    write_status(&ctx.client, &*r, outcome, path).await;
    Ok(Action::requeue(RECHECK))
}

/// The Provider, Alert and Receiver controllers, the event dispatcher (set on `ctx`) and, with
/// `webhook_addr`, the webhook server. Nothing when the cluster does not serve the API (then a
/// `webhook_addr` is an error).
pub(crate) async fn controllers(
    ctx: &Arc<Context>,
    options: &crate::ControllerOptions,
    health: &crate::watch_health::WatchHealth,
    config: kube::runtime::controller::Config,
) -> Result<Vec<futures::future::BoxFuture<'static, ()>>, crate::ControllerError> {
    use crate::RunLogged;
    use futures::FutureExt;

    let mut out: Vec<futures::future::BoxFuture<'static, ()>> = Vec::new();
    let served = ["Provider", "Alert"]
        .iter()
        .all(|k| crate::serves(ctx, "notification.toolkit.fluxcd.io/v1beta3", k))
        && crate::serves(ctx, "notification.toolkit.fluxcd.io/v1", "Receiver");
    if !served {
        if options.webhook_addr.is_some() {
            return Err(crate::ControllerError::MissingCrds(
                "notification.toolkit.fluxcd.io/v1 Receiver".into(),
            ));
        }
        eprintln!("the cluster does not serve notification.toolkit.fluxcd.io: notifications not started");
        return Ok(out);
    }
    use crate::api;
    let client = ctx.client.clone();
    let ns = &options.watch_namespace;

    let alerts = crate::controller_of(api::<Alert>(&client, ns), health, "Alert", &config);
    let _ = ctx
        .notifier
        .set(dispatch::Dispatcher::start(client.clone(), alerts.store()));
    out.push(alerts.run_logged(reconcile_alert, ctx, "Alert").boxed());

    let providers = crate::controller_of(api::<Provider>(&client, ns), health, "Provider", &config);
    out.push(providers.run_logged(reconcile_provider, ctx, "Provider").boxed());

    let receivers = crate::controller_of(api::<Receiver>(&client, ns), health, "Receiver", &config);
    if let Some(addr) = options.webhook_addr {
        let bound = receiver::serve(addr, client.clone(), receivers.store())
            .await
            .map_err(|source| crate::ControllerError::Listen { addr, source })?;
        eprintln!("ballast controller {}: webhooks on http://{bound}", options.identity);
    }
    out.push(receivers.run_logged(reconcile_receiver, ctx, "Receiver").boxed());
    Ok(out)
}
