//! The webhook server (`ballast controller --webhook-addr`): `POST /hook/<digest>` asks the
//! Receiver's `resources` to reconcile at once.
//!
//! Guarantees, in the order they apply:
//! - a body over [`MAX_BODY`] is refused with 413 before anything else reads it;
//! - an unknown path is 404; each Receiver takes at most [`BURST`] calls at once and
//!   [`PER_SECOND`] a second after that (429 beyond, before any signature is computed);
//! - a suspended or not Ready Receiver answers 503;
//! - the path is recomputed from the Secret's current `token` (`hex(sha256(token + name +
//!   namespace))`, as Flux) and compared in constant time, so a rotated token retires the old
//!   path at once;
//! - signatures and tokens are checked in constant time, on the raw body, before any parsing;
//!   a failure is 401 with an empty body (no detail on what was wrong);
//! - a delivery id (GitHub's `X-GitHub-Delivery`, GitLab's `X-Gitlab-Event-UUID`, Bitbucket's
//!   `X-Request-Id`/`X-Request-UUID`) or, for `github` and `bitbucket`, a body already accepted
//!   within [`REPLAY_WINDOW`] is a replay: 409, no effect;
//! - with a `resourceFilter`, a JSON body that is not an object is 400;
//! - only then is each resource the `resourceFilter` and its own `filter` accept annotated with
//!   `reconcile.fluxcd.io/requestedAt`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_api::notification::{CrossNamespaceObjectReference, Receiver};
use hmac::{Hmac, Mac};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::runtime::reflector::Store;
use sha2::{Digest, Sha256};

use super::filter::{ResourceFilter, request_value};

/// Largest body accepted, in bytes.
pub const MAX_BODY: usize = 1 << 20;
/// Calls a Receiver takes at once.
pub const BURST: f64 = 10.0;
/// Calls a Receiver takes per second, sustained.
pub const PER_SECOND: f64 = 2.0;
/// How long an accepted delivery id is remembered.
pub const REPLAY_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);
/// Delivery ids remembered at most (the oldest are forgotten first).
const REPLAY_MEMORY: usize = 4096;

/// Receiver types served.
pub const SUPPORTED: &[&str] = &[
    "generic",
    "generic-hmac",
    "github",
    "gitlab",
    "bitbucket",
    "harbor",
    "dockerhub",
];

/// `/hook/<hex sha256(token + name + namespace)>`, Flux's `status.webhookPath`.
pub fn webhook_path(token: &str, name: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{token}{name}{namespace}").as_bytes());
    format!("/hook/{}", hex::encode(digest))
}

/// Equal in constant time (for equal lengths; lengths are not secret here).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True when `header` is `<algo>=<hex HMAC(body, token)>` with sha1, sha256 or sha512 (only the
/// algorithms in `allowed`), checked in constant time.
pub fn signature_valid(header: &str, token: &[u8], body: &[u8], allowed: &[&str]) -> bool {
    let Some((algo, sig)) = header.trim().split_once('=') else {
        return false;
    };
    let Ok(sig) = hex::decode(sig) else { return false };
    if !allowed.contains(&algo) {
        return false;
    }
    match algo {
        "sha1" => Hmac::<sha1::Sha1>::new_from_slice(token).is_ok_and(|mut m| {
            m.update(body);
            m.verify_slice(&sig).is_ok()
        }),
        "sha256" => Hmac::<Sha256>::new_from_slice(token).is_ok_and(|mut m| {
            m.update(body);
            m.verify_slice(&sig).is_ok()
        }),
        "sha512" => Hmac::<sha2::Sha512>::new_from_slice(token).is_ok_and(|mut m| {
            m.update(body);
            m.verify_slice(&sig).is_ok()
        }),
        _ => false,
    }
}

/// What a call is, once authenticated.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Reconcile the resources.
    Reconcile,
    /// Answer 200 and do nothing (GitHub's `ping`).
    Acknowledge,
    /// An event type the Receiver does not take, an unsupported `Content-Type` or a payload
    /// that does not decode (400).
    BadRequest,
    /// Bad or missing token or signature (401).
    Unauthorized,
}

/// A GitHub-style signature as Flux checks it for `github` and `bitbucket` (go-github's
/// `ValidatePayload`): `X-Hub-Signature-256`, else `X-Hub-Signature`, holding
/// `<sha1|sha256|sha512>=<hex HMAC(body, token)>`; the body must be JSON or a form.
fn hub_signature(headers: &HeaderMap, token: &[u8], body: &[u8]) -> Verdict {
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
    let Some(sig) = header("x-hub-signature-256").or_else(|| header("x-hub-signature")) else {
        return Verdict::Unauthorized;
    };
    if !signature_valid(sig, token, body, &["sha1", "sha256", "sha512"]) {
        return Verdict::Unauthorized;
    }
    let media = header("content-type")
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json" | "application/x-www-form-urlencoded") => Verdict::Reconcile,
        _ => Verdict::BadRequest,
    }
}

/// Docker Hub's push payload, decoded as Flux decodes it (fields optional, types checked).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct DockerHubPush {
    push_data: Option<DockerHubPushData>,
    repository: Option<DockerHubRepository>,
}

/// `push_data` of [`DockerHubPush`].
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct DockerHubPushData {
    tag: Option<String>,
}

/// `repository` of [`DockerHubPush`].
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct DockerHubRepository {
    repo_url: Option<String>,
}

/// Checks a call to a Receiver of `receiver_type` holding `token`, whose `events` filter is
/// `events` (empty: any). Each type as Flux's notification-controller checks it, with every
/// token and signature compared in constant time.
pub fn verify(receiver_type: &str, token: &str, events: &[String], headers: &HeaderMap, body: &[u8]) -> Verdict {
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let accepted = |event: Option<&str>| {
        events.is_empty() || event.is_some_and(|e| events.iter().any(|x| x.eq_ignore_ascii_case(e)))
    };
    let filtered = |verdict: Verdict, event: Option<&str>| match verdict {
        Verdict::Reconcile if !accepted(event) => Verdict::BadRequest,
        v => v,
    };
    let token_bytes = token.as_bytes();
    match receiver_type {
        "generic" => Verdict::Reconcile,
        "generic-hmac" => match header("x-signature") {
            Some(sig) if signature_valid(sig, token_bytes, body, &["sha1", "sha256", "sha512"]) => Verdict::Reconcile,
            _ => Verdict::Unauthorized,
        },
        "github" => {
            let event = header("x-github-event");
            match hub_signature(headers, token_bytes, body) {
                Verdict::Reconcile if event == Some("ping") => Verdict::Acknowledge,
                v => filtered(v, event),
            }
        }
        "bitbucket" => filtered(hub_signature(headers, token_bytes, body), header("x-event-key")),
        "gitlab" => {
            if !header("x-gitlab-token").is_some_and(|t| same(t.as_bytes(), token_bytes)) {
                Verdict::Unauthorized
            } else {
                filtered(Verdict::Reconcile, header("x-gitlab-event"))
            }
        }
        "harbor" => {
            if header("authorization").is_some_and(|t| same(t.as_bytes(), token_bytes)) {
                Verdict::Reconcile
            } else {
                Verdict::Unauthorized
            }
        }
        // No authentication beyond the secret path (as Flux): the payload must decode.
        "dockerhub" => match serde_json::Deserializer::from_slice(body)
            .into_iter::<DockerHubPush>()
            .next()
        {
            Some(Ok(_)) => Verdict::Reconcile,
            _ => Verdict::BadRequest,
        },
        _ => Verdict::Unauthorized,
    }
}

/// The header naming a delivery, for the Receiver types whose hosts send one.
fn delivery_header(receiver_type: &str) -> &'static [&'static str] {
    match receiver_type {
        "github" => &["x-github-delivery"],
        "gitlab" => &["x-gitlab-event-uuid"],
        "bitbucket" => &["x-request-id", "x-request-uuid"],
        _ => &[],
    }
}

/// True for the types whose every event has a body of its own (a push names its commits), so
/// an accepted body seen again within [`REPLAY_WINDOW`] is a replay whatever its delivery id.
fn unique_bodies(receiver_type: &str) -> bool {
    matches!(receiver_type, "github" | "bitbucket")
}

/// A token bucket.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Shared with the handler.
#[derive(Clone)]
struct Hooks {
    client: kube::Client,
    receivers: Store<Receiver>,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
    deliveries: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Hooks {
    /// Records `id` (per path); false when it was accepted within [`REPLAY_WINDOW`].
    fn first_delivery(&self, path: &str, id: &str) -> bool {
        let Ok(mut seen) = self.deliveries.lock() else {
            return false;
        };
        let now = Instant::now();
        let key = format!("{path} {id}");
        if seen.get(&key).is_some_and(|at| now.duration_since(*at) < REPLAY_WINDOW) {
            return false;
        }
        if seen.len() >= REPLAY_MEMORY {
            seen.retain(|_, at| now.duration_since(*at) < REPLAY_WINDOW);
            if seen.len() >= REPLAY_MEMORY
                && let Some(oldest) = seen.iter().min_by_key(|(_, at)| **at).map(|(k, _)| k.clone())
            {
                seen.remove(&oldest);
            }
        }
        seen.insert(key, now);
        true
    }

    /// Takes a token from the bucket of `path`; false when it is empty.
    fn admit(&self, path: &str) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        if buckets.len() > 10_000 {
            buckets.clear();
        }
        let now = Instant::now();
        let b = buckets
            .entry(path.to_string())
            .or_insert(Bucket { tokens: BURST, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * PER_SECOND).min(BURST);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Serves the webhooks on `addr` until the process ends. Returns the bound address.
pub async fn serve(addr: SocketAddr, client: kube::Client, receivers: Store<Receiver>) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let hooks = Hooks {
        client,
        receivers,
        buckets: Default::default(),
        deliveries: Default::default(),
    };
    let app = Router::new()
        .route("/hook/{digest}", post(handle))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(hooks);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}

async fn handle(State(hooks): State<Hooks>, Path(digest): Path<String>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let path = format!("/hook/{digest}");
    let Some(receiver) = hooks
        .receivers
        .state()
        .into_iter()
        .find(|r| r.status.as_ref().and_then(|s| s.webhook_path.as_deref()) == Some(path.as_str()))
    else {
        return StatusCode::NOT_FOUND;
    };
    if !hooks.admit(&path) {
        return StatusCode::TOO_MANY_REQUESTS;
    }
    let ready = receiver
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.is_true());
    if receiver.spec.suspend == Some(true) || !ready {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let ns = receiver.metadata.namespace.clone().unwrap_or_default();
    let name = receiver.metadata.name.clone().unwrap_or_default();
    let Some(token) = token(&hooks.client, &ns, &receiver.spec.secret_ref.name).await else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    if !same(webhook_path(&token, &name, &ns).as_bytes(), path.as_bytes()) {
        return StatusCode::NOT_FOUND;
    }
    let events = receiver.spec.events.clone().unwrap_or_default();
    match verify(&receiver.spec.receiver_type, &token, &events, &headers, &body) {
        Verdict::Unauthorized => return StatusCode::UNAUTHORIZED,
        Verdict::BadRequest => return StatusCode::BAD_REQUEST,
        Verdict::Acknowledge => return StatusCode::OK,
        Verdict::Reconcile => {}
    }
    let kind = receiver.spec.receiver_type.as_str();
    let filters = match Filters::compile(&receiver) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("receiver {ns}/{name}: {e}");
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    };
    let req = if filters.any() {
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
        match request_value(content_type, &body) {
            Ok(v) => v,
            Err(_) => return StatusCode::BAD_REQUEST,
        }
    } else {
        serde_json::Value::Null
    };
    let delivery = delivery_header(kind)
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()));
    let body_id = unique_bodies(kind).then(|| format!("body {}", hex::encode(Sha256::digest(&body))));
    // Every id is recorded (no short circuit), so a replay under a new delivery id also
    // retires that id.
    let seen: Vec<bool> = [delivery.map(|d| format!("delivery {d}")), body_id]
        .into_iter()
        .flatten()
        .map(|id| hooks.first_delivery(&path, &id))
        .collect();
    if seen.contains(&false) {
        return StatusCode::CONFLICT;
    }
    let mut failed = false;
    for (i, resource) in receiver.spec.resources.iter().enumerate() {
        let r = &resource.reference;
        let chosen = Chosen {
            filters: filters.of(i),
            req: &req,
        };
        if let Err(e) = request_reconcile(&hooks.client, &ns, r, &chosen).await {
            eprintln!("receiver {ns}/{name}: {} {}: {e}", r.kind, r.name);
            failed = true;
        }
    }
    if failed {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// The Secret's `token`, or `None` when it cannot be read.
pub async fn token(client: &kube::Client, ns: &str, secret: &str) -> Option<String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let s = api.get_opt(secret).await.ok()??;
    let t = s.data?.get("token")?.0.clone();
    String::from_utf8(t)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// A Receiver's compiled filters: its `resourceFilter`, and each resource's `filter`.
pub struct Filters {
    top: Option<ResourceFilter>,
    each: Vec<Option<ResourceFilter>>,
}

impl Filters {
    /// Compiles every expression of `receiver`; the first error (naming the field) otherwise.
    pub fn compile(receiver: &Receiver) -> Result<Self, String> {
        let top = receiver
            .spec
            .resource_filter
            .as_deref()
            .map(ResourceFilter::compile)
            .transpose()?;
        let each = receiver
            .spec
            .resources
            .iter()
            .map(|r| {
                r.filter
                    .as_deref()
                    .map(|f| {
                        ResourceFilter::compile(f).map_err(|e| format!("resources[{}].filter: {e}", r.reference.name))
                    })
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        Ok(Filters { top, each })
    }

    /// True when some expression is set (the body is then read as `req`).
    fn any(&self) -> bool {
        self.top.is_some() || self.each.iter().any(Option::is_some)
    }

    /// The filters applying to resource `i`: the top one, then its own.
    fn of(&self, i: usize) -> Vec<&ResourceFilter> {
        self.top
            .iter()
            .chain(self.each.get(i).and_then(Option::as_ref))
            .collect()
    }
}

/// The filters applying to one resource, and the call's `req`.
struct Chosen<'a> {
    filters: Vec<&'a ResourceFilter>,
    req: &'a serde_json::Value,
}

impl Chosen<'_> {
    /// True when every filter accepts `res`.
    fn accepts(&self, res: &serde_json::Value) -> Result<bool, String> {
        for f in &self.filters {
            if !f.accepts(res, self.req)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The API version of a kind a Receiver can name without `apiVersion`.
pub fn default_api_version(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "GitRepository" | "HelmRepository" | "HelmChart" | "OCIRepository" | "Bucket" | "ExternalArtifact" => {
            "source.toolkit.fluxcd.io/v1"
        }
        "Kustomization" => "kustomize.toolkit.fluxcd.io/v1",
        "HelmRelease" => "helm.toolkit.fluxcd.io/v2",
        "ImageRepository" | "ImagePolicy" | "ImageUpdateAutomation" => "image.toolkit.fluxcd.io/v1",
        "ArtifactGenerator" => "source.extensions.fluxcd.io/v1beta1",
        "Application" => "argoproj.io/v1alpha1",
        _ => return None,
    })
}

/// Sets `reconcile.fluxcd.io/requestedAt` to now on the resource (or, with name `*`, on every
/// object of the kind carrying `matchLabels`) in its namespace (default `ns`), when every filter
/// of `chosen` accepts it.
async fn request_reconcile(
    client: &kube::Client,
    ns: &str,
    r: &CrossNamespaceObjectReference,
    chosen: &Chosen<'_>,
) -> Result<(), String> {
    let api_version = r
        .api_version
        .as_deref()
        .or_else(|| default_api_version(&r.kind))
        .ok_or_else(|| format!("unknown kind {}: set apiVersion", r.kind))?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &r.kind));
    let ns = r.namespace.as_deref().unwrap_or(ns);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    let objects: Vec<DynamicObject> = if r.name == "*" {
        let selector: Vec<String> = r
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let list = api
            .list_metadata(&ListParams::default().labels(&selector.join(",")))
            .await
            .map_err(|e| e.to_string())?;
        list.items
            .into_iter()
            .map(|o| DynamicObject {
                types: None,
                metadata: o.metadata,
                data: serde_json::Value::Null,
            })
            .collect()
    } else if !chosen.filters.is_empty() {
        let meta = api.get_metadata(&r.name).await.map_err(|e| e.to_string())?;
        vec![DynamicObject {
            types: None,
            metadata: meta.metadata,
            data: serde_json::Value::Null,
        }]
    } else {
        vec![DynamicObject::new(&r.name, &resource)]
    };
    let mut names = Vec::new();
    for o in objects {
        let Some(name) = o.metadata.name.clone() else { continue };
        if !chosen.filters.is_empty() {
            let res = serde_json::json!({"apiVersion": api_version, "kind": r.kind, "metadata": o.metadata});
            if !chosen.accepts(&res)? {
                continue;
            }
        }
        names.push(name);
    }
    let now = jiff::Timestamp::now().to_string();
    let patch = serde_json::json!({"metadata": {"annotations": {RECONCILE_REQUEST_ANNOTATION: now}}});
    for name in names {
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(algo: &str, token: &str, body: &[u8]) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(token.as_bytes()).unwrap();
        m.update(body);
        format!("{algo}={}", hex::encode(m.finalize().into_bytes()))
    }

    #[test]
    fn github_needs_the_signature_and_answers_ping() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let mut h = HeaderMap::new();
        h.insert("x-github-event", "push".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(verify("github", "t", &[], &h, body), Verdict::Unauthorized);
        h.insert("x-hub-signature-256", signed("sha256", "t", body).parse().unwrap());
        assert_eq!(verify("github", "t", &[], &h, body), Verdict::Reconcile);
        assert_eq!(verify("github", "other", &[], &h, body), Verdict::Unauthorized);
        assert_eq!(verify("github", "t", &[], &h, b"{}"), Verdict::Unauthorized);
        assert_eq!(verify("github", "t", &["tag".into()], &h, body), Verdict::BadRequest);
        h.insert("x-github-event", "ping".parse().unwrap());
        assert_eq!(verify("github", "t", &["push".into()], &h, body), Verdict::Acknowledge);
    }

    #[test]
    fn bitbucket_harbor_and_dockerhub_as_flux_checks_them() {
        let body = br#"{"eventKey":"repo:refs_changed"}"#;
        let mut h = HeaderMap::new();
        h.insert("x-event-key", "repo:refs_changed".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(verify("bitbucket", "t", &[], &h, body), Verdict::Unauthorized);
        h.insert("x-hub-signature", signed("sha256", "t", body).parse().unwrap());
        assert_eq!(verify("bitbucket", "t", &[], &h, body), Verdict::Reconcile);
        assert_eq!(verify("bitbucket", "u", &[], &h, body), Verdict::Unauthorized);
        assert_eq!(verify("bitbucket", "t", &[], &h, b"{}"), Verdict::Unauthorized);
        assert_eq!(
            verify("bitbucket", "t", &["repo:refs_changed".into()], &h, body),
            Verdict::Reconcile
        );
        assert_eq!(
            verify("bitbucket", "t", &["pr:merged".into()], &h, body),
            Verdict::BadRequest
        );
        h.insert("content-type", "text/plain".parse().unwrap());
        assert_eq!(verify("bitbucket", "t", &[], &h, body), Verdict::BadRequest);

        let mut h = HeaderMap::new();
        assert_eq!(verify("harbor", "t", &[], &h, b"{}"), Verdict::Unauthorized);
        h.insert("authorization", "Bearer t".parse().unwrap());
        assert_eq!(verify("harbor", "t", &[], &h, b"{}"), Verdict::Unauthorized);
        h.insert("authorization", "t".parse().unwrap());
        assert_eq!(verify("harbor", "t", &[], &h, b"{}"), Verdict::Reconcile);

        let h = HeaderMap::new();
        let push = br#"{"push_data":{"tag":"1.0"},"repository":{"repo_url":"https://hub/r/a"}}"#;
        assert_eq!(verify("dockerhub", "t", &[], &h, push), Verdict::Reconcile);
        assert_eq!(verify("dockerhub", "t", &[], &h, b"{}"), Verdict::Reconcile);
        assert_eq!(verify("dockerhub", "t", &[], &h, b"not json"), Verdict::BadRequest);
        assert_eq!(
            verify("dockerhub", "t", &[], &h, br#"{"push_data":{"tag":1}}"#),
            Verdict::BadRequest
        );
        assert_eq!(verify("dockerhub", "t", &[], &h, b""), Verdict::BadRequest);
    }

    #[test]
    fn gitlab_and_generic_hmac_and_paths() {
        let mut h = HeaderMap::new();
        h.insert("x-gitlab-token", "t".parse().unwrap());
        assert_eq!(verify("gitlab", "t", &[], &h, b""), Verdict::Reconcile);
        assert_eq!(verify("gitlab", "u", &[], &h, b""), Verdict::Unauthorized);
        let mut h = HeaderMap::new();
        h.insert("x-signature", signed("sha256", "t", b"x").parse().unwrap());
        assert_eq!(verify("generic-hmac", "t", &[], &h, b"x"), Verdict::Reconcile);
        assert_eq!(verify("generic-hmac", "t", &[], &h, b"y"), Verdict::Unauthorized);
        assert!(webhook_path("t", "n", "ns").starts_with("/hook/"));
        assert_eq!(webhook_path("t", "n", "ns").len(), 6 + 64);
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }
}
