//! What each Provider type sends: URL, headers and body of one delivery. Pure functions; the
//! token and the Secret's headers go into request headers only, never into a body, a log or an
//! error.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::event::FluxEvent;

/// Provider types Ballast sends to.
pub const SUPPORTED: &[&str] = &[
    "generic",
    "generic-hmac",
    "slack",
    "msteams",
    "discord",
    "github",
    "gitlab",
    "gitea",
];

/// Provider types that post a commit status rather than a message.
pub const COMMIT_STATUS: &[&str] = &["github", "gitlab", "gitea"];

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
    /// The Provider's UID (commit status context).
    pub uid: String,
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

/// The request `target` gets for `event`; `Ok(None)` when the provider skips it (a commit
/// status for a `Progressing` event or one without a revision); `Err` names what is missing.
pub fn delivery(target: &Target, event: &FluxEvent) -> Result<Option<Delivery>, String> {
    if COMMIT_STATUS.contains(&target.provider_type.as_str()) {
        return commit_status(target, event);
    }
    message(target, event).map(Some)
}

fn message(target: &Target, event: &FluxEvent) -> Result<Delivery, String> {
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

/// The commit of a revision: `<ref>@sha1:<hex>`, `sha1:<hex>` or a bare hex commit.
pub fn commit_of(revision: &str) -> Option<&str> {
    let sha = revision.rsplit_once(':').map(|(_, s)| s).unwrap_or(revision);
    (sha.len() >= 7 && sha.len() <= 64 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then_some(sha)
}

/// `ReconciliationSucceeded` → `reconciliation succeeded`.
fn describe(reason: &str) -> String {
    let mut out = String::new();
    for (i, c) in reason.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// A commit status on the Git host's API for the event's revision (Flux's shape: state success
/// for info, failure for error; context `<kind>/<name>/<provider uid prefix>`, lower case).
fn commit_status(target: &Target, event: &FluxEvent) -> Result<Option<Delivery>, String> {
    if event.reason == "Progressing" {
        return Ok(None);
    }
    let Some(sha) = event.metadata.get("revision").and_then(|r| commit_of(r)) else {
        return Ok(None);
    };
    let token = target
        .token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or("a commit status provider needs a token in the secretRef")?;
    let uri: axum::http::Uri = target.address.parse().map_err(|_| "address is not a URL".to_string())?;
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri.authority().map(|a| a.as_str()).ok_or("address has no host")?;
    let project = uri.path().trim_matches('/').trim_end_matches(".git");
    if project.split('/').filter(|p| !p.is_empty()).count() < 2 {
        return Err("address must be the repository's URL: <host>/<owner>/<repository>".into());
    }
    let o = &event.involved_object;
    let uid_prefix = target.uid.split('-').next().unwrap_or_default();
    let context = format!("{}/{}/{uid_prefix}", o.kind, o.name).to_lowercase();
    let description = describe(&event.reason);
    let (url, auth, body) = match target.provider_type.as_str() {
        "github" => {
            let base = if host == "github.com" {
                "https://api.github.com".to_string()
            } else {
                format!("{scheme}://{host}/api/v3")
            };
            let state = if event.is_error() { "failure" } else { "success" };
            (
                format!("{base}/repos/{project}/statuses/{sha}"),
                ("authorization".to_string(), format!("Bearer {token}")),
                json!({"state": state, "context": context, "description": description}),
            )
        }
        "gitlab" => {
            let state = if event.is_error() { "failed" } else { "success" };
            (
                format!(
                    "{scheme}://{host}/api/v4/projects/{}/statuses/{sha}",
                    project.replace('/', "%2F")
                ),
                ("private-token".to_string(), token.to_string()),
                json!({"state": state, "name": context, "description": description}),
            )
        }
        _ => {
            let state = if event.is_error() { "failure" } else { "success" };
            (
                format!("{scheme}://{host}/api/v1/repos/{project}/statuses/{sha}"),
                ("authorization".to_string(), format!("token {token}")),
                json!({"state": state, "context": context, "description": description}),
            )
        }
    };
    Ok(Some(Delivery {
        address: url,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json".into()),
            auth,
        ],
        body: serde_json::to_vec(&body).map_err(|e| e.to_string())?,
    }))
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
        let d = delivery(&t, &event()).unwrap().unwrap();
        let sig = d.headers.iter().find(|(k, _)| k == "x-signature").unwrap();
        assert_eq!(sig.1, format!("sha256={}", hmac_sha256_hex(b"s3cret", &d.body)));
        assert!(!String::from_utf8_lossy(&d.body).contains("s3cret"));
        let no_token = Target { token: None, ..t };
        assert!(delivery(&no_token, &event()).is_err());
    }

    #[test]
    fn commit_statuses_use_each_hosts_path_and_skip_progressing() {
        let t = Target {
            provider_type: "github".into(),
            address: "http://127.0.0.1:9/org/app.git".into(),
            token: Some("t".into()),
            uid: "abcd1234-ef".into(),
            ..Default::default()
        };
        let mut e = event();
        e.involved_object.kind = "Kustomization".into();
        e.involved_object.name = "Apps".into();
        e.reason = "ReconciliationFailed".into();
        e.metadata
            .insert("revision".into(), format!("main@sha1:{}", "a".repeat(40)));
        let d = delivery(&t, &e).unwrap().unwrap();
        assert_eq!(
            d.address,
            format!("http://127.0.0.1:9/api/v3/repos/org/app/statuses/{}", "a".repeat(40))
        );
        let body: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(body["state"], "failure");
        assert_eq!(body["context"], "kustomization/apps/abcd1234");
        assert_eq!(body["description"], "reconciliation failed");
        let gitlab = Target {
            provider_type: "gitlab".into(),
            ..t.clone()
        };
        assert!(
            delivery(&gitlab, &e)
                .unwrap()
                .unwrap()
                .address
                .contains("/api/v4/projects/org%2Fapp/statuses/")
        );
        e.reason = "Progressing".into();
        assert!(delivery(&t, &e).unwrap().is_none());
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
        let body: Value = serde_json::from_slice(&delivery(&t, &e).unwrap().unwrap().body).unwrap();
        assert_eq!(body["channel"], "ops");
        assert_eq!(body["attachments"][0]["color"], "danger");
        assert_eq!(body["attachments"][0]["fields"][0]["value"], "main@sha1:abc");
    }
}
