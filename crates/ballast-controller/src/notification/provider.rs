//! What each Provider type sends: URL, headers and body of one delivery. Pure functions; the
//! token and the Secret's headers go into request headers only, never into a body, a log or an
//! error.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::event::FluxEvent;

/// Provider types Ballast sends to.
pub const SUPPORTED: &[&str] = &["generic", "generic-hmac", "slack", "msteams", "discord"];

/// One HTTP POST to make.
pub struct Delivery {
    /// Target URL (may hold a secret path: never printed unredacted).
    pub address: String,
    /// Request headers (values are secrets as far as logs are concerned).
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Vec<u8>,
}

/// A Provider's settings, resolved with its Secret.
#[derive(Clone, Default)]
pub struct Target {
    /// `spec.type`.
    pub provider_type: String,
    /// Webhook URL.
    pub address: String,
    /// The Secret's `token`.
    pub token: Option<String>,
    /// The Secret's `headers`.
    pub headers: BTreeMap<String, String>,
    /// `spec.channel`.
    pub channel: Option<String>,
    /// `spec.username`.
    pub username: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("type", &self.provider_type)
            .field("address", &ballast_source::redact_url(&self.address))
            .finish_non_exhaustive()
    }
}

/// Hex HMAC-SHA256 of `body` with `key`, as `X-Signature: sha256=<hex>` carries it.
pub fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The request `target` gets for `event`; `Err` names what is missing.
pub fn delivery(target: &Target, event: &FluxEvent) -> Result<Delivery, String> {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    let body = match target.provider_type.as_str() {
        "generic" | "generic-hmac" => {
            headers.push(("gotk-component".into(), event.reporting_controller.clone()));
            serde_json::to_vec(event).map_err(|e| e.to_string())?
        }
        "slack" => {
            if let Some(token) = &target.token {
                headers.push(("authorization".into(), format!("Bearer {token}")));
            }
            serde_json::to_vec(&slack(target, event)).map_err(|e| e.to_string())?
        }
        "msteams" => serde_json::to_vec(&msteams(event)).map_err(|e| e.to_string())?,
        "discord" => {
            // Discord accepts Slack's payload on `<webhook>/slack`.
            serde_json::to_vec(&slack(target, event)).map_err(|e| e.to_string())?
        }
        other => return Err(format!("provider type {other:?} is not supported")),
    };
    for (k, v) in &target.headers {
        headers.push((k.to_ascii_lowercase(), v.clone()));
    }
    if target.provider_type == "generic-hmac" {
        let token = target
            .token
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or("generic-hmac needs a token in the secretRef")?;
        headers.push((
            "x-signature".into(),
            format!("sha256={}", hmac_sha256_hex(token.as_bytes(), &body)),
        ));
    }
    let mut address = target.address.clone();
    if target.provider_type == "discord" && !address.trim_end_matches('/').ends_with("/slack") {
        address = format!("{}/slack", address.trim_end_matches('/'));
    }
    Ok(Delivery { address, headers, body })
}

fn title(event: &FluxEvent) -> String {
    let o = &event.involved_object;
    format!("{}/{}.{}", o.kind, o.name, o.namespace)
}

fn slack(target: &Target, event: &FluxEvent) -> Value {
    let fields: Vec<Value> = event
        .metadata
        .iter()
        .map(|(k, v)| json!({"title": k, "value": v, "short": false}))
        .collect();
    let mut payload = json!({
        "username": target.username.clone().unwrap_or_else(|| event.reporting_controller.clone()),
        "icon_url": "https://avatars.githubusercontent.com/u/52158677",
        "attachments": [{
            "fallback": format!("{}\n{}", title(event), event.message),
            "color": if event.is_error() { "danger" } else { "good" },
            "author_name": title(event),
            "text": event.message,
            "mrkdwn_in": ["text"],
            "fields": fields,
        }],
    });
    if let Some(channel) = &target.channel {
        payload["channel"] = json!(channel);
    }
    payload
}

fn msteams(event: &FluxEvent) -> Value {
    let facts: Vec<Value> = event
        .metadata
        .iter()
        .map(|(k, v)| json!({"title": k, "value": v}))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": title(event), "weight": "bolder", "size": "medium",
                     "color": if event.is_error() { "attention" } else { "good" }},
                    {"type": "TextBlock", "text": event.message, "wrap": true},
                    {"type": "FactSet", "facts": facts},
                ],
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> FluxEvent {
        FluxEvent {
            severity: "error".into(),
            message: "apply failed".into(),
            reporting_controller: "kustomize-controller".into(),
            ..Default::default()
        }
    }

    #[test]
    fn generic_hmac_signs_the_exact_body() {
        let t = Target {
            provider_type: "generic-hmac".into(),
            address: "http://127.0.0.1/x".into(),
            token: Some("s3cret".into()),
            ..Default::default()
        };
        let d = delivery(&t, &event()).unwrap();
        let sig = d.headers.iter().find(|(k, _)| k == "x-signature").unwrap();
        assert_eq!(sig.1, format!("sha256={}", hmac_sha256_hex(b"s3cret", &d.body)));
        assert!(!String::from_utf8_lossy(&d.body).contains("s3cret"));
        let no_token = Target { token: None, ..t };
        assert!(delivery(&no_token, &event()).is_err());
    }

    #[test]
    fn slack_attachment_has_colour_author_and_fields() {
        let t = Target {
            provider_type: "slack".into(),
            address: "http://127.0.0.1/x".into(),
            channel: Some("ops".into()),
            ..Default::default()
        };
        let mut e = event();
        e.metadata.insert("revision".into(), "main@sha1:abc".into());
        let body: Value = serde_json::from_slice(&delivery(&t, &e).unwrap().body).unwrap();
        assert_eq!(body["channel"], "ops");
        assert_eq!(body["attachments"][0]["color"], "danger");
        assert_eq!(body["attachments"][0]["fields"][0]["value"], "main@sha1:abc");
    }
}
