//! The HTTP(S) client under the Helm repository and OCI registry clients, and their errors.
//!
//! Guarantees:
//! - every response body is read with a byte limit; a larger body is refused while streaming
//!   (never buffered whole first);
//! - every request (with its redirects) is bounded by a timeout;
//! - redirects are followed at most [`MAX_REDIRECTS`] times, and an `Authorization` header only
//!   goes to the host it was meant for (a registry redirecting a blob to storage elsewhere never
//!   receives the registry's credentials);
//! - credentials never appear in an error: URLs are shown with user-info redacted and headers
//!   are never printed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::redact_url;

/// Redirects followed per request.
pub const MAX_REDIRECTS: usize = 10;

/// TLS settings of a source (Flux's `certSecretRef`: `ca.crt`, `tls.crt`, `tls.key`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM certificates trusted instead of the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate chain (mutual TLS), with `client_key_pem`.
    pub client_cert_pem: Option<Vec<u8>>,
    /// PEM client private key.
    pub client_key_pem: Option<Vec<u8>>,
    /// Accept any server certificate (helm's `--insecure-skip-tls-verify`, helmfile's
    /// `skipTLSVerify`): the connection is encrypted but the server is not authenticated.
    /// Off unless a user asks for it by name.
    pub insecure_skip_verify: bool,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca", &self.ca_pem.is_some())
            .field("client_cert", &self.client_cert_pem.is_some())
            .field("client_key", &self.client_key_pem.as_ref().map(|_| "***"))
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

/// Basic credentials from a source's `secretRef` (`username`, `password`).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicAuth({}, ***)", self.username)
    }
}

impl BasicAuth {
    /// The `Authorization` header value.
    pub(crate) fn header(&self) -> HeaderValue {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.username, self.password));
        let mut v = HeaderValue::from_str(&format!("Basic {token}")).unwrap_or(HeaderValue::from_static(""));
        v.set_sensitive(true);
        v
    }
}

/// Basic credentials from a source's `secretRef` data: `username` and `password`, or, for a
/// registry, a `.dockerconfigjson` entry for `registry` (`host[:port]`). `None` when the secret
/// holds neither. Errors name the secret and the missing key, never a value.
pub fn basic_auth_from_secret(
    secret: &str,
    data: &std::collections::BTreeMap<String, Vec<u8>>,
    registry: Option<&str>,
) -> Result<Option<BasicAuth>, ChartSourceError> {
    let text = |k: &str| -> Result<Option<String>, ChartSourceError> {
        data.get(k)
            .map(|v| {
                String::from_utf8(v.clone())
                    .map_err(|_| ChartSourceError::Invalid(format!("secret {secret}: {k} is not UTF-8")))
            })
            .transpose()
    };
    match (text("username")?, text("password")?) {
        (Some(username), Some(password)) => return Ok(Some(BasicAuth { username, password })),
        (None, None) => {}
        _ => {
            return Err(ChartSourceError::Invalid(format!(
                "secret {secret}: username and password must be given together"
            )));
        }
    }
    let (Some(registry), Some(config)) = (registry, data.get(".dockerconfigjson")) else {
        return Ok(None);
    };
    let json: serde_json::Value = serde_json::from_slice(config)
        .map_err(|_| ChartSourceError::Invalid(format!("secret {secret}: .dockerconfigjson is not JSON")))?;
    let Some(auths) = json.get("auths").and_then(|a| a.as_object()) else {
        return Ok(None);
    };
    let entry = auths.iter().find(|(k, _)| {
        let host = k.split("://").last().unwrap_or(k);
        host.split('/').next() == Some(registry)
    });
    let Some((_, entry)) = entry else { return Ok(None) };
    let field = |k: &str| entry.get(k).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
    if let (Some(u), Some(p)) = (field("username"), field("password")) {
        return Ok(Some(BasicAuth {
            username: u.to_string(),
            password: p.to_string(),
        }));
    }
    let Some(auth) = field("auth") else { return Ok(None) };
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ChartSourceError::Invalid(format!("secret {secret}: the auth of {registry} is not base64")))?;
    let (u, p) = decoded.split_once(':').ok_or_else(|| {
        ChartSourceError::Invalid(format!("secret {secret}: the auth of {registry} is not user:password"))
    })?;
    Ok(Some(BasicAuth {
        username: u.to_string(),
        password: p.to_string(),
    }))
}

/// TLS settings from a `certSecretRef`'s data (`ca.crt`, `tls.crt`, `tls.key`), or from the
/// keys older `secretRef`s used (`caFile`, `certFile`, `keyFile`).
pub fn tls_from_secret(
    secret: &str,
    data: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<TlsOptions, ChartSourceError> {
    let pick = |a: &str, b: &str| data.get(a).or_else(|| data.get(b)).cloned();
    let tls = TlsOptions {
        ca_pem: pick("ca.crt", "caFile"),
        client_cert_pem: pick("tls.crt", "certFile"),
        client_key_pem: pick("tls.key", "keyFile"),
        insecure_skip_verify: false,
    };
    if tls.client_cert_pem.is_some() != tls.client_key_pem.is_some() {
        return Err(ChartSourceError::Invalid(format!(
            "secret {secret}: tls.crt and tls.key must be given together"
        )));
    }
    Ok(tls)
}

/// Why a chart repository or registry operation failed. Messages name the URL (credentials
/// redacted) and never carry credentials.
#[derive(Debug, thiserror::Error)]
pub enum ChartSourceError {
    /// The server refused the credentials, or asked for some and none were given.
    #[error("{url}: authentication failed ({status}){hint}")]
    Auth {
        /// URL (redacted).
        url: String,
        /// HTTP status.
        status: u16,
        /// What to check.
        hint: &'static str,
    },
    /// The server answered with an unexpected status.
    #[error("{url}: unexpected status {status}{detail}")]
    Status {
        /// URL (redacted).
        url: String,
        /// HTTP status.
        status: u16,
        /// A short excerpt of the server's error, when it had one.
        detail: String,
    },
    /// Connection, TLS or protocol failure.
    #[error("{url}: unreachable: {message}")]
    Unreachable {
        /// URL (redacted).
        url: String,
        /// Why.
        message: String,
    },
    /// The request took longer than the timeout.
    #[error("{url}: timed out after {timeout:?}")]
    Timeout {
        /// URL (redacted).
        url: String,
        /// The limit.
        timeout: Duration,
    },
    /// The body is larger than allowed; it was not kept.
    #[error("{url}: {what} is larger than the limit of {limit} bytes; refused")]
    TooLarge {
        /// URL (redacted).
        url: String,
        /// Index, chart, manifest, layer...
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// Content does not match the digest it was announced with.
    #[error("{url}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// URL (redacted).
        url: String,
        /// Announced digest.
        expected: String,
        /// Digest of what was received.
        actual: String,
    },
    /// The chart is not in the repository's index, or no version matches.
    #[error("{0}")]
    NotFound(String),
    /// Bad input or bad server data (URL, range, index, manifest).
    #[error("{0}")]
    Invalid(String),
}

/// A response whose body was read within its limit.
pub struct Response {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body, at most the limit asked for.
    pub body: Vec<u8>,
}

impl Response {
    /// The first 200 characters of the body, as a `: ...` suffix for an error, or nothing.
    pub fn detail(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text: String = text.trim().chars().take(200).collect();
        if text.is_empty() {
            String::new()
        } else {
            format!(": {text}")
        }
    }
}

/// The verifier of [`TlsOptions::insecure_skip_verify`]: any certificate chain is accepted,
/// handshake signatures are still checked (so the peer holds the key of the certificate it
/// showed).
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Which hosts receive an `Authorization` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthScope {
    /// Only the host (and port) of the first URL.
    SameHost,
    /// Any host a redirect leads to (Flux's `passCredentials`).
    AnyHost,
}

/// An HTTP proxy every connection is tunnelled through (`CONNECT host:port`), whatever the
/// target's scheme: TLS to an `https` target runs inside the tunnel.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// `http://host:port` of the proxy (an `https` proxy is refused).
    pub url: String,
    /// `Proxy-Authorization: Basic` credentials.
    pub auth: Option<BasicAuth>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &redact_url(&self.url))
            .field("auth", &self.auth)
            .finish()
    }
}

impl Proxy {
    /// The proxy at `url` (`http://[user:password@]host[:port]`; credentials in the URL are
    /// moved to [`Proxy::auth`] unless `auth` is given). Errors never show the credentials.
    pub fn parse(url: &str, auth: Option<BasicAuth>) -> Result<Self, ChartSourceError> {
        let shown = redact_url(url);
        let uri: Uri = url
            .trim()
            .parse()
            .map_err(|_| ChartSourceError::Invalid(format!("proxy {shown}: not a URL")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(ChartSourceError::Invalid(format!(
                    "proxy {shown}: https proxies are not supported (use an http:// proxy; TLS to the target runs inside its tunnel)"
                )));
            }
            _ => {
                return Err(ChartSourceError::Invalid(format!(
                    "proxy {shown}: the scheme must be http"
                )));
            }
        }
        let authority = uri
            .authority()
            .ok_or_else(|| ChartSourceError::Invalid(format!("proxy {shown}: no host")))?;
        let (userinfo, host) = match authority.as_str().rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority.as_str()),
        };
        let auth = auth.or_else(|| {
            userinfo.map(|u| {
                let (user, password) = u.split_once(':').unwrap_or((u, ""));
                BasicAuth {
                    username: user.to_string(),
                    password: password.to_string(),
                }
            })
        });
        Ok(Proxy {
            url: format!("http://{host}"),
            auth,
        })
    }
}

/// The connection pool: direct, or through a [`Proxy`].
#[derive(Clone)]
enum Pool {
    Direct(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
    Tunnelled(Client<HttpsConnector<Tunnel<HttpConnector>>, Full<Bytes>>),
}

impl Pool {
    async fn request(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        match self {
            Pool::Direct(c) => c.request(req).await,
            Pool::Tunnelled(c) => c.request(req).await,
        }
    }
}

/// HTTP/1.1 client over rustls (ring), with the system's roots or the given CA. The process
/// environment's proxy variables are not read: a proxy is used only when one is given.
#[derive(Clone)]
pub struct HttpClient {
    client: Pool,
    timeout: Duration,
}

impl HttpClient {
    /// A client trusting `tls.ca_pem` (or the system roots), presenting the client certificate
    /// if one is given; every request is bounded by `timeout`.
    pub fn new(tls: &TlsOptions, timeout: Duration) -> Result<Self, ChartSourceError> {
        Self::with_proxy(tls, timeout, None)
    }

    /// [`HttpClient::new`], every connection tunnelled through `proxy` when one is given.
    pub fn with_proxy(tls: &TlsOptions, timeout: Duration, proxy: Option<&Proxy>) -> Result<Self, ChartSourceError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ChartSourceError::Invalid(format!("TLS: {e}")))?;
        let mut roots = rustls::RootCertStore::empty();
        match &tls.ca_pem {
            Some(pem) => {
                let mut count = 0;
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| ChartSourceError::Invalid(format!("ca.crt: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| ChartSourceError::Invalid(format!("ca.crt: {e}")))?;
                    count += 1;
                }
                if count == 0 {
                    return Err(ChartSourceError::Invalid("ca.crt: no PEM certificate".into()));
                }
            }
            None => {
                let native = native_roots();
                roots.add_parsable_certificates(native);
            }
        }
        let builder = if tls.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
        } else {
            builder.with_root_certificates(roots)
        };
        let config = match (&tls.client_cert_pem, &tls.client_key_pem) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_slice_iter(cert)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ChartSourceError::Invalid(format!("tls.crt: {e}")))?;
                let key = PrivateKeyDer::from_pem_slice(key)
                    .map_err(|_| ChartSourceError::Invalid("tls.key: not a PEM private key".into()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| ChartSourceError::Invalid(format!("tls.crt/tls.key: {e}")))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(ChartSourceError::Invalid(
                    "tls.crt and tls.key must be given together".into(),
                ));
            }
        };
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(timeout));
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1();
        let executor = hyper_util::rt::TokioExecutor::new();
        let client = match proxy {
            None => Pool::Direct(Client::builder(executor).build(builder.wrap_connector(tcp))),
            Some(p) => {
                let uri: Uri = p
                    .url
                    .parse()
                    .map_err(|_| ChartSourceError::Invalid(format!("proxy {}: not a URL", redact_url(&p.url))))?;
                let mut tunnel = Tunnel::new(uri, tcp);
                if let Some(auth) = &p.auth {
                    tunnel = tunnel.with_auth(auth.header());
                }
                Pool::Tunnelled(Client::builder(executor).build(builder.wrap_connector(tunnel)))
            }
        };
        Ok(HttpClient { client, timeout })
    }

    /// POSTs `body` to `url` with `headers` (marked sensitive: never printed), without following
    /// redirects (a redirect is answered as it is). The response body is read up to 64 KiB; the
    /// whole exchange is bounded by the client's timeout.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(header::HeaderName, HeaderValue)],
        body: Vec<u8>,
    ) -> Result<Response, ChartSourceError> {
        let shown = redact_url(url);
        let exchange = async {
            let mut req = Request::post(parse_uri(url)?)
                .header(header::USER_AGENT, concat!("ballast/", env!("CARGO_PKG_VERSION")));
            for (name, value) in headers {
                let mut value = value.clone();
                value.set_sensitive(true);
                req = req.header(name, value);
            }
            let req = req
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| ChartSourceError::Invalid(format!("{shown}: {e}")))?;
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| ChartSourceError::Unreachable {
                    url: shown.clone(),
                    message: error_chain(&e),
                })?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let mut stream = resp.into_body();
            let mut buf = Vec::new();
            while let Some(frame) = stream.frame().await {
                let Ok(frame) = frame else { break };
                if let Ok(data) = frame.into_data() {
                    if buf.len() + data.len() > 64 << 10 {
                        break;
                    }
                    buf.extend_from_slice(&data);
                }
            }
            Ok(Response {
                status,
                headers,
                body: buf,
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(ChartSourceError::Timeout {
                url: shown,
                timeout: self.timeout,
            }),
        }
    }

    /// GETs `url`, following redirects, reading at most `limit` bytes of body (`what` names the
    /// body in the error). `auth` goes to the first URL's host, or to every host with
    /// [`AuthScope::AnyHost`].
    pub(crate) async fn get(
        &self,
        url: &str,
        accept: Option<&str>,
        auth: Option<&HeaderValue>,
        scope: AuthScope,
        limit: u64,
        what: &'static str,
    ) -> Result<Response, ChartSourceError> {
        self.get_with(url, accept, &[], auth, scope, limit, what).await
    }

    /// GETs `url` without credentials, following redirects, reading at most `limit` bytes of
    /// body (`what` names it in errors).
    pub async fn get_public(&self, url: &str, limit: u64, what: &'static str) -> Result<Response, ChartSourceError> {
        self.get(url, None, None, AuthScope::SameHost, limit, what).await
    }

    /// [`HttpClient::get`] with extra request headers (e.g. `If-None-Match`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn get_with(
        &self,
        url: &str,
        accept: Option<&str>,
        extra: &[(header::HeaderName, String)],
        auth: Option<&HeaderValue>,
        scope: AuthScope,
        limit: u64,
        what: &'static str,
    ) -> Result<Response, ChartSourceError> {
        let shown = redact_url(url);
        match tokio::time::timeout(
            self.timeout,
            self.get_inner(url, accept, extra, auth, scope, limit, what),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ChartSourceError::Timeout {
                url: shown,
                timeout: self.timeout,
            }),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn get_inner(
        &self,
        url: &str,
        accept: Option<&str>,
        extra: &[(header::HeaderName, String)],
        auth: Option<&HeaderValue>,
        scope: AuthScope,
        limit: u64,
        what: &'static str,
    ) -> Result<Response, ChartSourceError> {
        let first = parse_uri(url)?;
        let origin = authority_of(&first);
        let mut uri = first;
        for _ in 0..=MAX_REDIRECTS {
            let shown = redact_url(&uri.to_string());
            let mut req = Request::get(uri.clone());
            if let Some(accept) = accept {
                req = req.header(header::ACCEPT, accept);
            }
            req = req.header(header::USER_AGENT, concat!("ballast/", env!("CARGO_PKG_VERSION")));
            for (name, value) in extra {
                req = req.header(name, value.as_str());
            }
            if let Some(auth) = auth
                && (scope == AuthScope::AnyHost || authority_of(&uri) == origin)
            {
                req = req.header(header::AUTHORIZATION, auth.clone());
            }
            let req = req
                .body(Full::new(Bytes::new()))
                .map_err(|e| ChartSourceError::Invalid(format!("{shown}: {e}")))?;
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| ChartSourceError::Unreachable {
                    url: shown.clone(),
                    message: error_chain(&e),
                })?;
            let status = resp.status();
            if status.is_redirection()
                && let Some(location) = resp.headers().get(header::LOCATION).and_then(|l| l.to_str().ok())
            {
                uri = resolve_location(&uri, location)?;
                continue;
            }
            let headers = resp.headers().clone();
            // Error bodies are read only a little: they are for messages.
            let limit = if status.is_success() {
                limit
            } else {
                limit.min(64 << 10)
            };
            if let Some(len) = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                && len > limit
                && status.is_success()
            {
                return Err(ChartSourceError::TooLarge {
                    url: shown,
                    what,
                    limit,
                });
            }
            let mut body = resp.into_body();
            let mut buf = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| ChartSourceError::Unreachable {
                    url: shown.clone(),
                    message: error_chain(&e),
                })?;
                if let Ok(data) = frame.into_data() {
                    if buf.len() as u64 + data.len() as u64 > limit {
                        if status.is_success() {
                            return Err(ChartSourceError::TooLarge {
                                url: shown,
                                what,
                                limit,
                            });
                        }
                        break;
                    }
                    buf.extend_from_slice(&data);
                }
            }
            return Ok(Response {
                status,
                headers,
                body: buf,
            });
        }
        Err(ChartSourceError::Unreachable {
            url: redact_url(url),
            message: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }
}

/// The system's trusted roots; an empty list when none can be read (then only connections to
/// hosts with a configured CA succeed).
fn native_roots() -> Vec<CertificateDer<'static>> {
    rustls_native_certs::load_native_certs().certs
}

/// Parses an absolute http(s) URL; user-info is refused (credentials come from secrets).
pub(crate) fn parse_uri(url: &str) -> Result<Uri, ChartSourceError> {
    let uri: Uri = url
        .parse()
        .map_err(|e| ChartSourceError::Invalid(format!("{}: invalid URL: {e}", redact_url(url))))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(ChartSourceError::Invalid(format!(
                "{}: only http:// and https:// URLs are supported here",
                redact_url(url)
            )));
        }
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(ChartSourceError::Invalid(format!(
            "{}: credentials in the URL are not accepted; use secretRef",
            redact_url(url)
        )));
    }
    Ok(uri)
}

/// `host[:port]` with the scheme's default port made explicit, for same-host checks.
pub(crate) fn authority_of(uri: &Uri) -> String {
    let host = uri.host().unwrap_or("").to_ascii_lowercase();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    format!("{host}:{port}")
}

fn resolve_location(base: &Uri, location: &str) -> Result<Uri, ChartSourceError> {
    if location.contains("://") {
        return parse_uri(location);
    }
    let scheme = base.scheme_str().unwrap_or("https");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or("");
    let text = if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map(|i| i + 1).unwrap_or(0)];
        format!("{scheme}://{authority}{dir}{location}")
    };
    parse_uri(&text)
}

/// An error and its sources, on one line.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    let mut depth = 0;
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
        depth += 1;
        if depth > 8 {
            break;
        }
    }
    out
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_http_with_credentials_moved_out_of_the_url() {
        let p = Proxy::parse("http://me:s3cret@127.0.0.1:3128", None).unwrap();
        assert_eq!(p.url, "http://127.0.0.1:3128");
        assert_eq!(p.auth.as_ref().map(|a| a.password.as_str()), Some("s3cret"));
        assert!(!format!("{p:?}").contains("s3cret"));
        let given = BasicAuth {
            username: "u".into(),
            password: "p".into(),
        };
        let p = Proxy::parse("http://127.0.0.1:3128", Some(given.clone())).unwrap();
        assert_eq!(p.auth, Some(given));
        let https = Proxy::parse("https://me:s3cret@proxy:443", None)
            .unwrap_err()
            .to_string();
        assert!(
            https.contains("https proxies are not supported") && !https.contains("s3cret"),
            "{https}"
        );
        assert!(Proxy::parse("socks5://proxy:1080", None).is_err());
        assert!(Proxy::parse("not a url", None).is_err());
    }

    #[test]
    fn redirects_resolve_against_the_current_url() {
        let base: Uri = "http://127.0.0.1:8080/charts/index.yaml".parse().unwrap();
        assert_eq!(
            resolve_location(&base, "/v2/x").unwrap().to_string(),
            "http://127.0.0.1:8080/v2/x"
        );
        assert_eq!(
            resolve_location(&base, "a.tgz").unwrap().to_string(),
            "http://127.0.0.1:8080/charts/a.tgz"
        );
        assert_eq!(
            resolve_location(&base, "https://s3.example/x?sig=1")
                .unwrap()
                .to_string(),
            "https://s3.example/x?sig=1"
        );
    }

    #[test]
    fn same_host_compares_default_ports() {
        let a: Uri = "https://example.com/x".parse().unwrap();
        let b: Uri = "https://EXAMPLE.com:443/y".parse().unwrap();
        let c: Uri = "https://example.com:8443/y".parse().unwrap();
        assert_eq!(authority_of(&a), authority_of(&b));
        assert_ne!(authority_of(&a), authority_of(&c));
    }

    #[test]
    fn credentials_in_urls_are_refused_without_echo() {
        let e = parse_uri("https://user:s3cret@example.com/").unwrap_err().to_string();
        assert!(!e.contains("s3cret"), "{e}");
        assert!(parse_uri("ftp://example.com/").is_err());
    }

    #[test]
    fn credentials_come_from_secrets_without_echo() {
        use std::collections::BTreeMap;
        let data = |pairs: &[(&str, &str)]| -> BTreeMap<String, Vec<u8>> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect()
        };
        let b = basic_auth_from_secret("s", &data(&[("username", "u"), ("password", "pw1")]), None)
            .unwrap()
            .unwrap();
        assert_eq!((b.username.as_str(), b.password.as_str()), ("u", "pw1"));
        let e = basic_auth_from_secret("s", &data(&[("password", "pw1")]), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("secret s") && !e.contains("pw1"), "{e}");
        assert_eq!(basic_auth_from_secret("s", &data(&[]), Some("r")).unwrap(), None);
        let docker =
            r#"{"auths":{"https://ghcr.io":{"auth":"cm9ib3Q6cHcy"},"127.0.0.1:5000":{"username":"a","password":"b"}}}"#;
        let d = data(&[(".dockerconfigjson", docker)]);
        let b = basic_auth_from_secret("s", &d, Some("ghcr.io")).unwrap().unwrap();
        assert_eq!((b.username.as_str(), b.password.as_str()), ("robot", "pw2"));
        let b = basic_auth_from_secret("s", &d, Some("127.0.0.1:5000"))
            .unwrap()
            .unwrap();
        assert_eq!(b.username, "a");
        assert_eq!(basic_auth_from_secret("s", &d, Some("quay.io")).unwrap(), None);
        let t = tls_from_secret("c", &data(&[("ca.crt", "CA"), ("certFile", "C"), ("keyFile", "K")])).unwrap();
        assert_eq!(t.ca_pem.as_deref(), Some(&b"CA"[..]));
        assert_eq!(t.client_key_pem.as_deref(), Some(&b"K"[..]));
        let e = tls_from_secret("c", &data(&[("tls.key", "K")]))
            .unwrap_err()
            .to_string();
        assert!(!e.contains('K') || !e.contains(": K"), "{e}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let b = BasicAuth {
            username: "u".into(),
            password: "s3cret".into(),
        };
        assert!(!format!("{b:?}").contains("s3cret"));
        let t = TlsOptions {
            client_key_pem: Some(b"KEY".to_vec()),
            ..Default::default()
        };
        assert!(!format!("{t:?}").contains("KEY"));
    }
}
