//! OCI registries: Helm charts of a `HelmRepository` of `type: oci`, and `OCIRepository`
//! artifacts, through the OCI Distribution API (tags, manifests, blobs).
//!
//! Guarantees:
//! - authentication follows the registry's `WWW-Authenticate` challenge: `Basic` sends the
//!   secret's credentials, `Bearer` exchanges them (or nothing, for anonymous pulls) at the
//!   token service for a pull token, kept per repository for the client's life and renewed on
//!   a 401; a refusal is an [`ChartSourceError::Auth`] naming the registry, never the
//!   credentials;
//! - tag listing follows `Link: <...>; rel="next"` pagination, at most [`MAX_TAG_PAGES`] pages
//!   and [`MAX_TAGS`] tags;
//! - manifests are read with a 4 MiB limit, layers with the caller's limit; a manifest fetched
//!   by digest and every blob are checked against their digest;
//! - `oci://` URLs name a repository without tag or digest; plain `http://` is used only when
//!   [`OciOptions::insecure`] is set.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use ballast_helm::semver::{Constraints, Version};
use http::HeaderValue;
use http::header;

use crate::helm_repo::ChartArtifact;
use crate::remote::{AuthScope, BasicAuth, ChartSourceError, HttpClient, Response, TlsOptions, sha256_digest};

/// Media type of a Helm chart's layer.
pub const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Media type of a Helm chart's config blob.
pub const HELM_CHART_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Pages of tags read at most.
pub const MAX_TAG_PAGES: usize = 1000;
/// Tags kept at most.
pub const MAX_TAGS: usize = 100_000;
/// Largest manifest accepted.
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;

const MANIFEST_ACCEPT: &str =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Image manifests and multi-platform indexes, both OCI and Docker.
const ANY_MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// A repository in a registry, from `oci://host[:port]/path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OciUrl {
    /// `host[:port]`.
    pub registry: String,
    /// Repository path in the registry.
    pub repository: String,
}

impl OciUrl {
    /// Parses `oci://host[:port]/path`; a tag or digest in the URL is refused (it belongs in
    /// `ref` or the chart version).
    pub fn parse(url: &str) -> Result<OciUrl, ChartSourceError> {
        let rest = url
            .strip_prefix("oci://")
            .ok_or_else(|| ChartSourceError::Invalid(format!("{url}: an OCI URL starts with oci://")))?;
        let rest = rest.trim_end_matches('/');
        let (registry, repository) = rest
            .split_once('/')
            .ok_or_else(|| ChartSourceError::Invalid(format!("{url}: no repository path after the registry")))?;
        if registry.is_empty() || registry.contains('@') {
            return Err(ChartSourceError::Invalid(format!(
                "oci://{}: invalid registry host (credentials belong in secretRef)",
                registry.rsplit('@').next().unwrap_or("")
            )));
        }
        let last = repository.rsplit('/').next().unwrap_or("");
        if last.contains(':') || repository.contains('@') {
            return Err(ChartSourceError::Invalid(format!(
                "{url}: the URL must not carry a tag or digest"
            )));
        }
        let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c);
        if repository.is_empty() || !repository.chars().all(valid) {
            return Err(ChartSourceError::Invalid(format!(
                "{url}: invalid repository name (lowercase letters, digits, '.', '_', '-', '/')"
            )));
        }
        Ok(OciUrl {
            registry: registry.to_ascii_lowercase(),
            repository: repository.to_string(),
        })
    }

    /// The repository `name` under this one (a chart of an OCI `HelmRepository`).
    pub fn join(&self, name: &str) -> OciUrl {
        OciUrl {
            registry: self.registry.clone(),
            repository: format!("{}/{}", self.repository, name.trim_matches('/')),
        }
    }
}

impl std::fmt::Display for OciUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oci://{}/{}", self.registry, self.repository)
    }
}

/// A content descriptor of a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// Media type.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// An image manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// `sha256:<hex>` of the manifest bytes.
    pub digest: String,
    /// Media type of the manifest.
    pub media_type: String,
    /// The config blob.
    pub config: Descriptor,
    /// Layers in order.
    pub layers: Vec<Descriptor>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Settings of a registry client.
#[derive(Clone, Debug, Default)]
pub struct OciOptions {
    /// Basic credentials (`secretRef` `username`/`password`), sent as basic auth or exchanged
    /// for a token.
    pub auth: Option<BasicAuth>,
    /// TLS settings (`certSecretRef`).
    pub tls: TlsOptions,
    /// Plain `http://` (Flux's `insecure`).
    pub insecure: bool,
    /// Limit for each request (default 60s).
    pub timeout: Option<Duration>,
}

/// A client of one registry's repositories, keeping pull tokens per repository.
pub struct OciClient {
    http: HttpClient,
    options: OciOptions,
    tokens: Mutex<HashMap<String, HeaderValue>>,
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl OciClient {
    /// A client with these settings.
    pub fn new(options: OciOptions) -> Result<Self, ChartSourceError> {
        let http = HttpClient::new(&options.tls, options.timeout.unwrap_or(Duration::from_secs(60)))?;
        Ok(OciClient {
            http,
            options,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    fn base(&self, repo: &OciUrl) -> String {
        let scheme = if self.options.insecure { "http" } else { "https" };
        format!("{scheme}://{}/v2/{}", repo.registry, repo.repository)
    }

    /// GETs a registry URL of `repo`, answering one authentication challenge.
    async fn get(
        &self,
        repo: &OciUrl,
        url: &str,
        accept: Option<&str>,
        limit: u64,
        what: &'static str,
    ) -> Result<Response, ChartSourceError> {
        let key = format!("{}/{}", repo.registry, repo.repository);
        let cached = self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
        let resp = self
            .http
            .get(url, accept, cached.as_ref(), AuthScope::SameHost, limit, what)
            .await?;
        if resp.status != 401 {
            return Ok(resp);
        }
        let challenge = resp
            .headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge);
        let auth = match challenge {
            Some(Challenge::Basic) => match &self.options.auth {
                Some(b) => b.header(),
                None => return Err(self.auth_error(url, 401, true)),
            },
            Some(Challenge::Bearer { realm, service, scope }) => {
                let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", repo.repository));
                self.token(&realm, service.as_deref(), &scope).await?
            }
            None => return Err(self.auth_error(url, 401, self.options.auth.is_none())),
        };
        let resp = self
            .http
            .get(url, accept, Some(&auth), AuthScope::SameHost, limit, what)
            .await?;
        if resp.status == 401 || resp.status == 403 {
            return Err(self.auth_error(url, resp.status.as_u16(), false));
        }
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(key, auth);
        Ok(resp)
    }

    fn auth_error(&self, url: &str, status: u16, none_given: bool) -> ChartSourceError {
        ChartSourceError::Auth {
            url: crate::redact_url(url),
            status,
            hint: if none_given {
                ": the registry asks for credentials and none were given (secretRef)"
            } else {
                ": the registry refused the credentials of the secretRef"
            },
        }
    }

    /// A pull token from the registry's token service.
    async fn token(&self, realm: &str, service: Option<&str>, scope: &str) -> Result<HeaderValue, ChartSourceError> {
        let mut url = format!(
            "{realm}{}scope={}",
            if realm.contains('?') { '&' } else { '?' },
            encode(scope)
        );
        if let Some(service) = service {
            url.push_str(&format!("&service={}", encode(service)));
        }
        let basic = self.options.auth.as_ref().map(BasicAuth::header);
        let resp = self
            .http
            .get(
                &url,
                Some("application/json"),
                basic.as_ref(),
                AuthScope::SameHost,
                1 << 20,
                "token",
            )
            .await?;
        if resp.status == 401 || resp.status == 403 {
            return Err(self.auth_error(&url, resp.status.as_u16(), self.options.auth.is_none()));
        }
        if !resp.status.is_success() {
            return Err(ChartSourceError::Status {
                url: crate::redact_url(&url),
                status: resp.status.as_u16(),
                detail: resp.detail(),
            });
        }
        let json: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|e| ChartSourceError::Invalid(format!("{}: token response: {e}", crate::redact_url(realm))))?;
        let token = json
            .get("token")
            .or_else(|| json.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ChartSourceError::Invalid(format!("{}: the token response has no token", crate::redact_url(realm)))
            })?;
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ChartSourceError::Invalid(format!("{}: invalid token", crate::redact_url(realm))))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Every tag of `repo`, in the registry's order, following pagination.
    pub async fn tags(&self, repo: &OciUrl) -> Result<Vec<String>, ChartSourceError> {
        let mut url = format!("{}/tags/list?n=1000", self.base(repo));
        let mut tags = Vec::new();
        for _ in 0..MAX_TAG_PAGES {
            let resp = self
                .get(repo, &url, Some("application/json"), 16 << 20, "tag list")
                .await?;
            check(&url, &resp)?;
            let json: serde_json::Value = serde_json::from_slice(&resp.body)
                .map_err(|e| ChartSourceError::Invalid(format!("{url}: tag list: {e}")))?;
            if let Some(list) = json.get("tags").and_then(|t| t.as_array()) {
                tags.extend(list.iter().filter_map(|t| t.as_str()).map(str::to_string));
            }
            if tags.len() > MAX_TAGS {
                return Err(ChartSourceError::Invalid(format!(
                    "{repo}: more than {MAX_TAGS} tags; refused"
                )));
            }
            let next = resp
                .headers
                .get(header::LINK)
                .and_then(|l| l.to_str().ok())
                .and_then(next_link);
            match next {
                Some(next) if next.starts_with('/') => {
                    let scheme = if self.options.insecure { "http" } else { "https" };
                    url = format!("{scheme}://{}{next}", repo.registry);
                }
                Some(next) => url = next,
                None => return Ok(tags),
            }
        }
        Err(ChartSourceError::Invalid(format!(
            "{repo}: more than {MAX_TAG_PAGES} pages of tags; refused"
        )))
    }

    /// The image manifest of `reference` (a tag or `sha256:` digest).
    pub async fn manifest(&self, repo: &OciUrl, reference: &str) -> Result<Manifest, ChartSourceError> {
        let url = format!("{}/manifests/{reference}", self.base(repo));
        let resp = self
            .get(repo, &url, Some(MANIFEST_ACCEPT), MAX_MANIFEST_SIZE, "manifest")
            .await?;
        if resp.status == 404 {
            return Err(ChartSourceError::NotFound(format!("{repo}: no manifest {reference:?}")));
        }
        check(&url, &resp)?;
        let digest = sha256_digest(&resp.body);
        if reference.starts_with("sha256:") && reference != digest {
            return Err(ChartSourceError::DigestMismatch {
                url,
                expected: reference.to_string(),
                actual: digest,
            });
        }
        parse_manifest(&resp.body, digest).map_err(|e| ChartSourceError::Invalid(format!("{repo}:{reference}: {e}")))
    }

    /// The digest of what `reference` (a tag) points at, as a registry client resolving it
    /// reports it: an image manifest's, or a multi-platform image index's (OCI image index or
    /// Docker manifest list) own digest — never one platform's. The digest is computed from
    /// the bytes served; an answer that is not a manifest or an index is refused.
    pub async fn reference_digest(&self, repo: &OciUrl, reference: &str) -> Result<String, ChartSourceError> {
        let url = format!("{}/manifests/{reference}", self.base(repo));
        let resp = self
            .get(repo, &url, Some(ANY_MANIFEST_ACCEPT), MAX_MANIFEST_SIZE, "manifest")
            .await?;
        if resp.status == 404 {
            return Err(ChartSourceError::NotFound(format!("{repo}: no manifest {reference:?}")));
        }
        check(&url, &resp)?;
        let json: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|e| ChartSourceError::Invalid(format!("{repo}:{reference}: manifest: {e}")))?;
        let indexed = json.get("manifests").is_some_and(|m| m.is_array());
        if !indexed && json.get("config").is_none() {
            return Err(ChartSourceError::Invalid(format!(
                "{repo}:{reference}: neither an image manifest nor an image index"
            )));
        }
        Ok(sha256_digest(&resp.body))
    }

    /// The blob of `desc`, at most `limit` bytes, checked against its digest.
    pub async fn blob(&self, repo: &OciUrl, desc: &Descriptor, limit: u64) -> Result<Vec<u8>, ChartSourceError> {
        let url = format!("{}/blobs/{}", self.base(repo), desc.digest);
        if desc.size > limit {
            return Err(ChartSourceError::TooLarge {
                url,
                what: "layer",
                limit,
            });
        }
        let resp = self.get(repo, &url, None, limit, "layer").await?;
        check(&url, &resp)?;
        let actual = sha256_digest(&resp.body);
        if actual != desc.digest {
            return Err(ChartSourceError::DigestMismatch {
                url,
                expected: desc.digest.clone(),
                actual,
            });
        }
        Ok(resp.body)
    }

    /// A chart of an OCI `HelmRepository` at `repository_url` (`oci://host/path`): `chart` at
    /// the exact `version`, or the newest tag matching the range (empty means `*`). Helm's tags
    /// write `+` as `_`.
    pub async fn fetch_chart(
        &self,
        repository_url: &str,
        chart: &str,
        range: &str,
        limit: u64,
    ) -> Result<ChartArtifact, ChartSourceError> {
        let repo = OciUrl::parse(repository_url)?.join(chart);
        let range = range.trim();
        let version = if is_exact_version(range) {
            range.to_string()
        } else {
            let tags = self.tags(&repo).await?;
            newest_matching(&tags, if range.is_empty() { "*" } else { range }, &repo)?
        };
        let tag = version.replace('+', "_");
        let manifest = self.manifest(&repo, &tag).await?;
        let layer = manifest
            .layers
            .iter()
            .find(|l| l.media_type == HELM_CHART_LAYER)
            .ok_or_else(|| {
                ChartSourceError::Invalid(format!(
                    "{repo}:{tag}: not a Helm chart: no layer of type {HELM_CHART_LAYER} (layers: {})",
                    manifest
                        .layers
                        .iter()
                        .map(|l| l.media_type.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let bytes = self.blob(&repo, layer, limit).await?;
        Ok(ChartArtifact {
            name: chart.to_string(),
            version,
            digest: layer.digest.clone(),
            url: format!("{repo}:{tag}"),
            bytes,
        })
    }

    /// An `OCIRepository` artifact: the manifest `reference` points at, and the layer
    /// `selector` picks (the first one without a media type).
    pub async fn fetch_artifact(
        &self,
        url: &str,
        reference: &OciReference,
        selector: &LayerSelector,
        limit: u64,
    ) -> Result<OciArtifact, ChartSourceError> {
        let resolved = self.resolve(url, reference).await?;
        self.pull_layer(resolved, selector, limit).await
    }

    /// The manifest `reference` points at, and the revision Flux reports for it
    /// (`<tag>@sha256:<manifest digest>`, or the digest alone), without pulling any layer: an
    /// unchanged revision costs a tag list (for a semver range) and one manifest request.
    pub async fn resolve(&self, url: &str, reference: &OciReference) -> Result<ResolvedManifest, ChartSourceError> {
        let repo = OciUrl::parse(url)?;
        let (tag, target) = match reference {
            OciReference::Digest(d) => (None, d.clone()),
            OciReference::Tag(t) => (Some(t.clone()), t.clone()),
            OciReference::Semver { range, filter } => {
                let mut tags = self.tags(&repo).await?;
                if let Some(filter) = filter {
                    let re = regex::Regex::new(filter)
                        .map_err(|e| ChartSourceError::Invalid(format!("invalid semverFilter {filter:?}: {e}")))?;
                    tags.retain(|t| re.is_match(t));
                }
                let t = newest_matching(&tags, range, &repo)?;
                (Some(t.clone()), t)
            }
        };
        let manifest = self.manifest(&repo, &target).await?;
        let revision = match &tag {
            Some(t) => format!("{t}@{}", manifest.digest),
            None => manifest.digest.clone(),
        };
        Ok(ResolvedManifest {
            repo,
            tag,
            revision,
            manifest,
        })
    }

    /// The layer of a resolved manifest that `selector` picks, at most `limit` bytes, checked
    /// against its digest.
    pub async fn pull_layer(
        &self,
        resolved: ResolvedManifest,
        selector: &LayerSelector,
        limit: u64,
    ) -> Result<OciArtifact, ChartSourceError> {
        let ResolvedManifest {
            repo,
            tag,
            revision,
            manifest,
        } = resolved;
        let layer = match &selector.media_type {
            Some(mt) => manifest.layers.iter().find(|l| &l.media_type == mt),
            None => manifest.layers.first(),
        }
        .ok_or_else(|| {
            ChartSourceError::Invalid(format!(
                "{repo}@{}: no layer{} (layers: {})",
                manifest.digest,
                selector
                    .media_type
                    .as_ref()
                    .map(|m| format!(" of type {m}"))
                    .unwrap_or_default(),
                manifest
                    .layers
                    .iter()
                    .map(|l| l.media_type.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?
        .clone();
        let bytes = self.blob(&repo, &layer, limit).await?;
        Ok(OciArtifact {
            url: repo.to_string(),
            tag,
            revision,
            manifest,
            layer,
            operation: selector.operation,
            bytes,
        })
    }
}

/// A manifest found for an `OCIRepository` reference, before any layer is pulled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedManifest {
    /// The repository.
    pub repo: OciUrl,
    /// The tag, unless the reference was a digest.
    pub tag: Option<String>,
    /// Flux's revision: `<tag>@sha256:<manifest digest>`, or the digest alone.
    pub revision: String,
    /// The manifest.
    pub manifest: Manifest,
}

/// True for a full version (`1.2.3`, `v1.2.3-rc.1+b`): fetched by tag without listing tags.
/// Anything shorter (`1`, `1.2`) is a range, as for Flux.
/// `text` is one exact version (`1.2.3`, `v1.2.3-rc.1`), not a range.
pub fn is_exact_version(text: &str) -> bool {
    let core = text.strip_prefix('v').unwrap_or(text);
    let core = core.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && Version::parse(text).is_ok()
}

/// The tag holding the newest version matching `range` (tags with `_` read as `+`), as helm
/// picks a chart version among a registry's tags.
pub fn newest_matching(tags: &[String], range: &str, repo: &OciUrl) -> Result<String, ChartSourceError> {
    let constraints = Constraints::parse(range)
        .map_err(|e| ChartSourceError::Invalid(format!("invalid version range {range:?}: {e}")))?;
    let mut best: Option<(Version, &String)> = None;
    for t in tags {
        let Ok(v) = Version::parse(&t.replace('_', "+")) else {
            continue;
        };
        if !constraints.check(&v) {
            continue;
        }
        if best.as_ref().is_none_or(|(b, _)| v.compare(b).is_gt()) {
            best = Some((v, t));
        }
    }
    best.map(|(v, t)| {
        if t.contains('_') {
            t.replace('_', "+")
        } else {
            v.original().to_string()
        }
    })
    .ok_or_else(|| {
        let mut shown: Vec<&str> = tags.iter().rev().take(5).map(String::as_str).collect();
        shown.reverse();
        ChartSourceError::NotFound(format!(
            "{repo}: no tag matches {range:?} (tags: {})",
            if shown.is_empty() {
                "none".to_string()
            } else {
                shown.join(", ")
            }
        ))
    })
}

/// Which manifest an `OCIRepository` follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OciReference {
    /// A tag (`latest` when nothing is given, as in Flux).
    Tag(String),
    /// The tag of the newest version matching a Masterminds range, among the tags matching
    /// `filter` (a regular expression, Flux's `semverFilter`) when given.
    Semver {
        /// The range.
        range: String,
        /// Tags considered.
        filter: Option<String>,
    },
    /// A manifest digest (`sha256:...`).
    Digest(String),
}

impl OciReference {
    /// Flux's precedence over `ref`'s fields: `digest`, then `semver` (with `semverFilter`),
    /// then `tag`, then the tag `latest`. Empty strings count as absent.
    pub fn from_fields(
        tag: Option<&str>,
        semver: Option<&str>,
        semver_filter: Option<&str>,
        digest: Option<&str>,
    ) -> OciReference {
        let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        if let Some(d) = given(digest) {
            OciReference::Digest(d)
        } else if let Some(range) = given(semver) {
            OciReference::Semver {
                range,
                filter: given(semver_filter),
            }
        } else {
            OciReference::Tag(given(tag).unwrap_or_else(|| "latest".into()))
        }
    }
}

/// What to do with the selected layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LayerOperation {
    /// Untar (gzip) the layer into the artifact's tree.
    #[default]
    Extract,
    /// Keep the layer as one file.
    Copy,
}

/// Flux's `layerSelector`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerSelector {
    /// The first layer of this media type; the first layer when absent.
    pub media_type: Option<String>,
    /// Extract or copy.
    pub operation: LayerOperation,
}

/// An `OCIRepository` artifact.
#[derive(Clone, PartialEq, Eq)]
pub struct OciArtifact {
    /// `oci://host/path`.
    pub url: String,
    /// The tag, unless the reference was a digest.
    pub tag: Option<String>,
    /// Flux's revision: `<tag>@sha256:<manifest digest>`, or the digest alone.
    pub revision: String,
    /// The manifest.
    pub manifest: Manifest,
    /// The selected layer.
    pub layer: Descriptor,
    /// What the layer is for.
    pub operation: LayerOperation,
    /// The layer's bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for OciArtifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OciArtifact")
            .field("url", &self.url)
            .field("revision", &self.revision)
            .field("layer", &self.layer)
            .field("operation", &self.operation)
            .field("size", &self.bytes.len())
            .finish()
    }
}

fn check(url: &str, resp: &Response) -> Result<(), ChartSourceError> {
    crate::helm_repo::check_status(url, resp)
}

fn parse_manifest(body: &[u8], digest: String) -> Result<Manifest, String> {
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("manifest: {e}"))?;
    let media_type = json
        .get("mediaType")
        .and_then(|m| m.as_str())
        .unwrap_or("application/vnd.oci.image.manifest.v1+json")
        .to_string();
    if media_type.contains("index") || media_type.contains("manifest.list") {
        return Err(format!(
            "the reference points at an index ({media_type}), not an image manifest"
        ));
    }
    let config = json
        .get("config")
        .map(descriptor)
        .transpose()?
        .ok_or("manifest: no config")?;
    let layers = json
        .get("layers")
        .and_then(|l| l.as_array())
        .map(|l| l.iter().map(descriptor).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();
    Ok(Manifest {
        digest,
        media_type,
        config,
        layers,
        annotations: annotations(&json),
    })
}

fn descriptor(v: &serde_json::Value) -> Result<Descriptor, String> {
    let digest = v.get("digest").and_then(|d| d.as_str()).unwrap_or("");
    let hex = digest.strip_prefix("sha256:").unwrap_or("");
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("unsupported digest {digest:?} (sha256 only)"));
    }
    Ok(Descriptor {
        media_type: v.get("mediaType").and_then(|m| m.as_str()).unwrap_or("").to_string(),
        digest: digest.to_string(),
        size: v.get("size").and_then(|s| s.as_u64()).unwrap_or(0),
        annotations: annotations(v),
    })
}

fn annotations(v: &serde_json::Value) -> BTreeMap<String, String> {
    v.get("annotations")
        .and_then(|a| a.as_object())
        .map(|a| {
            a.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses `Basic realm=...` or `Bearer realm="...",service="...",scope="..."`.
fn parse_challenge(text: &str) -> Option<Challenge> {
    let (scheme, params) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut map = HashMap::new();
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (quoted[..end].to_string(), &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        map.insert(key, value);
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge::Bearer {
        realm: map.remove("realm")?,
        service: map.remove("service"),
        scope: map.remove("scope"),
    })
}

/// The URL of `rel="next"` in a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "").eq_ignore_ascii_case("rel=\"next\"") || p.trim() == "rel=next");
        is_next.then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_urls_parse_and_refuse_tags() {
        let u = OciUrl::parse("oci://127.0.0.1:5000/charts").unwrap();
        assert_eq!(u.registry, "127.0.0.1:5000");
        assert_eq!(u.join("podinfo").to_string(), "oci://127.0.0.1:5000/charts/podinfo");
        assert!(OciUrl::parse("oci://ghcr.io/org/app:1.0").is_err());
        assert!(OciUrl::parse("oci://ghcr.io/org/app@sha256:00").is_err());
        assert!(OciUrl::parse("https://ghcr.io/org/app").is_err());
        assert!(OciUrl::parse("oci://ghcr.io").is_err());
        let e = OciUrl::parse("oci://u:s3cret@ghcr.io/a").unwrap_err().to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn challenges_parse() {
        assert_eq!(
            parse_challenge("Basic realm=\"Registry Realm\""),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn link_headers_give_the_next_page() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#),
            Some("/v2/a/tags/list?n=2&last=b".into())
        );
        assert_eq!(next_link(r#"<https://x/y>; rel="prev""#), None);
    }

    #[test]
    fn newest_tag_in_range() {
        let repo = OciUrl::parse("oci://r/a").unwrap();
        let tags: Vec<String> = ["latest", "1.0.0", "1.2.0", "2.0.0-rc.1", "1.3.0_build.1", "v1.1.0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(newest_matching(&tags, "*", &repo).unwrap(), "1.3.0+build.1");
        assert_eq!(newest_matching(&tags, "<1.2", &repo).unwrap(), "v1.1.0");
        assert_eq!(newest_matching(&tags, ">=2.0.0-0", &repo).unwrap(), "2.0.0-rc.1");
        let e = newest_matching(&tags, ">=3", &repo).unwrap_err().to_string();
        assert!(e.contains(">=3") && e.contains("oci://r/a"), "{e}");
    }

    #[test]
    fn manifests_parse_and_indexes_are_refused() {
        let d = format!("sha256:{}", "a".repeat(64));
        let body = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{HELM_CHART_CONFIG}","digest":"{d}","size":10}},"layers":[{{"mediaType":"{HELM_CHART_LAYER}","digest":"{d}","size":20}}],"annotations":{{"org.opencontainers.image.version":"1.0.0"}}}}"#
        );
        let m = parse_manifest(body.as_bytes(), "sha256:x".into()).unwrap();
        assert_eq!(m.layers[0].size, 20);
        assert_eq!(m.annotations["org.opencontainers.image.version"], "1.0.0");
        let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert!(
            parse_manifest(index.as_bytes(), "sha256:x".into())
                .unwrap_err()
                .contains("index")
        );
        let bad = body.replace(&d, "md5:00");
        assert!(parse_manifest(bad.as_bytes(), "sha256:x".into()).is_err());
    }

    #[test]
    fn only_full_versions_skip_the_tag_list() {
        assert!(is_exact_version("1.2.3"));
        assert!(is_exact_version("1.2.3-rc.1+build.7"));
        assert!(!is_exact_version("1"));
        assert!(!is_exact_version("1.2"));
        assert!(!is_exact_version("1.2.x"));
        assert!(!is_exact_version(">=1.2.3"));
        assert!(!is_exact_version(""));
    }

    #[test]
    fn references_follow_flux_precedence() {
        assert_eq!(
            OciReference::from_fields(None, None, None, None),
            OciReference::Tag("latest".into())
        );
        assert_eq!(
            OciReference::from_fields(Some("v1"), Some(">=1"), Some("^v"), None),
            OciReference::Semver {
                range: ">=1".into(),
                filter: Some("^v".into())
            }
        );
        assert_eq!(
            OciReference::from_fields(Some("v1"), Some(">=1"), None, Some("sha256:ab")),
            OciReference::Digest("sha256:ab".into())
        );
        assert_eq!(
            OciReference::from_fields(Some("v1"), Some(""), None, Some(" ")),
            OciReference::Tag("v1".into())
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }
}
