//! What the chart-source reconcilers (`HelmRepository`, `OCIRepository`) share: credentials and
//! TLS material read from Secrets, timeouts, and Flux's reasons for their failures.
//!
//! Guarantees: a Secret's values never reach an error, a log line, an event or a status; errors
//! name the Secret and the key only.

use std::collections::BTreeMap;
use std::time::Duration;

use ballast_core::parse_duration;
use ballast_source::{BasicAuth, ChartSourceError, TlsOptions};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use crate::error::ReconcileError;

/// Flux's reason for a refused login or unusable credentials.
pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
/// Flux's reason for a URL that cannot be used.
pub const URL_INVALID: &str = "URLInvalid";

/// The data of Secret `ns/name`. A missing Secret is an authentication failure naming it.
pub async fn secret_data(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<BTreeMap<String, Vec<u8>>, ReconcileError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = secrets.get_opt(name).await?.ok_or_else(|| ReconcileError::Source {
        reason: AUTHENTICATION_FAILED,
        message: format!("secret '{ns}/{name}' not found"),
    })?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}

/// Basic credentials of `secretRef` (`username`/`password`, or the `.dockerconfigjson` entry
/// of `registry`), `None` without a `secretRef`. A secret holding neither is refused by name.
pub async fn basic_auth(
    client: &kube::Client,
    ns: &str,
    secret: Option<&str>,
    registry: Option<&str>,
) -> Result<Option<BasicAuth>, ReconcileError> {
    let Some(name) = secret else { return Ok(None) };
    let data = secret_data(client, ns, name).await?;
    let shown = format!("{ns}/{name}");
    match ballast_source::basic_auth_from_secret(&shown, &data, registry) {
        Ok(Some(auth)) => Ok(Some(auth)),
        Ok(None) => Err(ReconcileError::Source {
            reason: AUTHENTICATION_FAILED,
            message: match registry {
                Some(r) => format!(
                    "secret '{shown}': expected username and password, or a .dockerconfigjson with an entry for {r}"
                ),
                None => format!("secret '{shown}': expected username and password"),
            },
        }),
        Err(e) => Err(ReconcileError::Source {
            reason: AUTHENTICATION_FAILED,
            message: e.to_string(),
        }),
    }
}

/// TLS material of `certSecretRef` (`ca.crt`, `tls.crt` + `tls.key`); defaults without one.
pub async fn tls(client: &kube::Client, ns: &str, secret: Option<&str>) -> Result<TlsOptions, ReconcileError> {
    let Some(name) = secret else {
        return Ok(TlsOptions::default());
    };
    let data = secret_data(client, ns, name).await?;
    ballast_source::tls_from_secret(&format!("{ns}/{name}"), &data).map_err(|e| ReconcileError::Source {
        reason: AUTHENTICATION_FAILED,
        message: e.to_string(),
    })
}

/// `spec.timeout`, 60s when unset (Flux's internal default).
pub fn timeout(spec: Option<&str>) -> Result<Duration, ReconcileError> {
    match spec {
        Some(t) => parse_duration(t).map_err(|e| ReconcileError::Invalid(format!("spec.timeout {t:?}: {e}"))),
        None => Ok(Duration::from_secs(60)),
    }
}

/// A fetch failure with Flux's reason: a refused login is `AuthenticationFailed`, anything
/// else `reason`. The message starts with `what` ("failed to fetch Helm repository index").
pub fn fetch_error(what: &str, e: ChartSourceError, reason: &'static str) -> ReconcileError {
    let reason = match e {
        ChartSourceError::Auth { .. } => AUTHENTICATION_FAILED,
        _ => reason,
    };
    ReconcileError::Source {
        reason,
        message: format!("{what}: {e}"),
    }
}

/// A client that could not be built from its TLS material: `AuthenticationFailed`, naming the
/// `certSecretRef` (never its content).
pub fn tls_error(ns: &str, cert_secret: Option<&str>, e: ChartSourceError) -> ReconcileError {
    let what = match cert_secret {
        Some(name) => format!("certSecretRef '{ns}/{name}': "),
        None => String::new(),
    };
    ReconcileError::Source {
        reason: AUTHENTICATION_FAILED,
        message: format!("failed to construct the TLS configuration: {what}{e}"),
    }
}
