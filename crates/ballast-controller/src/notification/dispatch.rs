//! Sends events to the Providers of matching Alerts, off the reconcile path.
//!
//! Guarantees:
//! - [`Dispatcher::send`] never waits: events go into a bounded queue ([`QUEUE`]); when it is
//!   full the event is dropped and counted, never blocking a reconcile;
//! - an event equal to one seen within [`DEDUPE_WINDOW`] (same object, severity, reason,
//!   message and revision) is sent once;
//! - each delivery runs in its own task (at most [`IN_FLIGHT`] at once), each attempt bounded
//!   by the Provider's `timeout` (default 15 s); connection errors, timeouts, 429 and 5xx are
//!   retried [`ATTEMPTS`] times in all with a doubling wait; other answers are final;
//! - the Provider's address, token and headers are read from its Secret at delivery time, go
//!   into the request only, and never into a log line (URLs are shown redacted and without path);
//! - a delivery goes through a proxy only when the Provider sets one (`spec.proxy`, the
//!   secretRef's `proxy`, `proxySecretRef` with `address`, `username`, `password`; the last
//!   wins, as in Flux), tunnelled with `CONNECT`; the environment's proxy variables are never
//!   read. An unusable proxy (not `http://`) leaves the Provider not Ready.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballast_api::notification::{Alert, Provider};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::reflector::Store;
use tokio::sync::{Semaphore, mpsc};

use super::event::{CompiledAlert, Dedupe, FluxEvent};
use super::provider::{self, Target};

/// Events waiting to be matched.
pub const QUEUE: usize = 1024;
/// Deliveries in flight at once.
pub const IN_FLIGHT: usize = 32;
/// Attempts per delivery.
pub const ATTEMPTS: u32 = 4;
/// First wait between attempts (then doubled).
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Repeats of an event within this window are suppressed.
pub const DEDUPE_WINDOW: Duration = Duration::from_secs(300);

/// One event and the labels of its object (for `matchLabels`).
pub struct Outgoing {
    /// The event.
    pub event: FluxEvent,
    /// The object's labels.
    pub labels: BTreeMap<String, String>,
}

/// The sending side: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Dispatcher {
    tx: mpsc::Sender<Outgoing>,
    alerts: Store<Alert>,
}

impl Dispatcher {
    /// Starts the matching task; `alerts` is a cache of the Alerts.
    pub fn start(client: kube::Client, alerts: Store<Alert>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(client, alerts.clone(), rx));
        Dispatcher { tx, alerts }
    }

    /// True when some Alert exists (events are worth building).
    pub fn has_alerts(&self) -> bool {
        !self.alerts.is_empty()
    }

    /// Queues an event; drops it (with a log line) when the queue is full.
    pub fn send(&self, out: Outgoing) {
        if let Err(mpsc::error::TrySendError::Full(out)) = self.tx.try_send(out) {
            let o = &out.event.involved_object;
            eprintln!(
                "notification: queue full, event {} of {} {}/{} dropped",
                out.event.reason, o.kind, o.namespace, o.name
            );
        }
    }
}

async fn run(client: kube::Client, alerts: Store<Alert>, mut rx: mpsc::Receiver<Outgoing>) {
    let mut dedupe = Dedupe::new(DEDUPE_WINDOW, 4096);
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(out) = rx.recv().await {
        if !dedupe.first(out.event.dedupe_key(), Instant::now()) {
            continue;
        }
        for alert in alerts.state() {
            let Ok(compiled) = CompiledAlert::new((*alert).clone()) else {
                continue; // reported on the Alert's status
            };
            if !compiled.matches(&out.event, &out.labels) {
                continue;
            }
            let event = compiled.decorate(&out.event);
            let ns = alert.metadata.namespace.clone().unwrap_or_default();
            let provider = alert.spec.provider_ref.name.clone();
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let client = client.clone();
            tokio::spawn(async move {
                deliver(&client, &ns, &provider, &event).await;
                drop(permit);
            });
        }
    }
}

/// Why a Provider cannot be sent to.
#[derive(Debug)]
pub struct ProviderError(pub String);

/// Reads the Provider `ns/name` and its Secrets: the target and the client to reach it.
pub async fn resolve(
    client: &kube::Client,
    provider: &Provider,
) -> Result<(Target, ballast_source::HttpClient), ProviderError> {
    let ns = provider.metadata.namespace.clone().unwrap_or_default();
    let spec = &provider.spec;
    if !provider::SUPPORTED.contains(&spec.provider_type.as_str()) {
        return Err(ProviderError(format!(
            "type {:?} is not supported (supported: {})",
            spec.provider_type,
            provider::SUPPORTED.join(", ")
        )));
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    // Flux's order: spec.proxy, then the secretRef's `proxy`, then proxySecretRef; the last wins.
    let mut proxy = spec.proxy.clone().map(|url| (url, None));
    let mut target = Target {
        provider_type: spec.provider_type.clone(),
        address: spec.address.clone().unwrap_or_default(),
        channel: spec.channel.clone(),
        username: spec.username.clone(),
        uid: provider.metadata.uid.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(r) = &spec.secret_ref {
        let data = secret_data(&secrets, &r.name).await?;
        let text = |k: &str| data.get(k).map(|v| String::from_utf8_lossy(v).trim().to_string());
        if let Some(a) = text("address") {
            target.address = a;
        }
        target.token = text("token");
        if let Some(p) = text("proxy").filter(|p| !p.is_empty()) {
            proxy = Some((p, None));
        }
        if let Some(h) = text("headers") {
            target.headers = parse_headers(&h)
                .ok_or_else(|| ProviderError(format!("secret {}: headers is not a map of strings", r.name)))?;
        }
    }
    if target.address.is_empty() {
        return Err(ProviderError(
            "no address (spec.address or the secret's address)".into(),
        ));
    }
    let mut tls = ballast_source::TlsOptions::default();
    if let Some(r) = &spec.cert_secret_ref {
        let data = secret_data(&secrets, &r.name).await?;
        tls = ballast_source::tls_from_secret(&r.name, &data).map_err(|e| ProviderError(e.to_string()))?;
    }
    if let Some(r) = &spec.proxy_secret_ref {
        let data = secret_data(&secrets, &r.name).await?;
        let text = |k: &str| data.get(k).map(|v| String::from_utf8_lossy(v).trim().to_string());
        let address = text("address")
            .filter(|a| !a.is_empty())
            .ok_or_else(|| ProviderError(format!("secret {}: no proxy address", r.name)))?;
        let auth = text("username").map(|username| ballast_source::BasicAuth {
            username,
            password: text("password").unwrap_or_default(),
        });
        proxy = Some((address, auth));
    }
    let proxy = proxy
        .map(|(url, auth)| ballast_source::Proxy::parse(&url, auth))
        .transpose()
        .map_err(|e| ProviderError(e.to_string()))?;
    let timeout = match &spec.timeout {
        Some(t) => ballast_core::duration::parse_duration(t).map_err(|e| ProviderError(format!("timeout: {e}")))?,
        None => Duration::from_secs(15),
    };
    let http = ballast_source::HttpClient::with_proxy(&tls, timeout, proxy.as_ref())
        .map_err(|e| ProviderError(e.to_string()))?;
    Ok((target, http))
}

async fn secret_data(secrets: &Api<Secret>, name: &str) -> Result<BTreeMap<String, Vec<u8>>, ProviderError> {
    let secret = secrets
        .get_opt(name)
        .await
        .map_err(|e| ProviderError(format!("secret {name}: {e}")))?
        .ok_or_else(|| ProviderError(format!("secret {name} not found")))?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}

/// The Secret's `headers`: one `Name: value` per line (a flat YAML map of strings); `None`
/// when a line is not of that shape.
pub fn parse_headers(text: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (k, v) = line.split_once(':')?;
        let unquote = |s: &str| {
            let s = s.trim();
            s.strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                .unwrap_or(s)
                .to_string()
        };
        let k = unquote(k);
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return None;
        }
        out.insert(k, unquote(v));
    }
    Some(out)
}

/// The scheme and host of `url`, for log lines (never its path, which may be a secret).
fn host_of(url: &str) -> String {
    match url.parse::<axum::http::Uri>() {
        Ok(u) => format!("{}://{}", u.scheme_str().unwrap_or("?"), u.host().unwrap_or("?")),
        Err(_) => "an invalid URL".into(),
    }
}

async fn deliver(client: &kube::Client, ns: &str, name: &str, event: &FluxEvent) {
    let api: Api<Provider> = Api::namespaced(client.clone(), ns);
    let provider = match api.get_opt(name).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            eprintln!("notification: provider {ns}/{name} not found");
            return;
        }
        Err(e) => {
            eprintln!("notification: provider {ns}/{name}: {e}");
            return;
        }
    };
    if provider.spec.suspend == Some(true) {
        return;
    }
    let (target, http) = match resolve(client, &provider).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("notification: provider {ns}/{name}: {}", e.0);
            return;
        }
    };
    let delivery = match provider::delivery(&target, event) {
        Ok(Some(d)) => d,
        Ok(None) => return,
        Err(e) => {
            eprintln!("notification: provider {ns}/{name}: {e}");
            return;
        }
    };
    let headers: Vec<_> = delivery
        .headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                axum::http::HeaderName::from_bytes(k.as_bytes()).ok()?,
                axum::http::HeaderValue::from_str(v).ok()?,
            ))
        })
        .collect();
    let shown = host_of(&delivery.address);
    let mut wait = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let retry = match http.post(&delivery.address, &headers, delivery.body.clone()).await {
            Ok(r) if r.status.is_success() => return,
            Ok(r) => {
                let code = r.status.as_u16();
                eprintln!("notification: provider {ns}/{name} ({shown}): status {code} (attempt {attempt})");
                code == 429 || code >= 500
            }
            Err(e) => {
                let kind = match e {
                    ballast_source::ChartSourceError::Timeout { .. } => "timed out",
                    _ => "unreachable",
                };
                eprintln!("notification: provider {ns}/{name} ({shown}): {kind} (attempt {attempt})");
                true
            }
        };
        if !retry || attempt == ATTEMPTS {
            return;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_a_flat_map_and_logs_show_only_the_host() {
        let h = parse_headers("X-Team: \"ops\"\nAuthorization: Bearer x\n").unwrap();
        assert_eq!(h["X-Team"], "ops");
        assert_eq!(h["Authorization"], "Bearer x");
        assert!(parse_headers("- a\n").is_none());
        assert_eq!(host_of("https://hooks.example/T000/secret"), "https://hooks.example");
    }
}
