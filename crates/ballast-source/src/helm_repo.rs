//! HTTP Helm chart repositories (Flux `HelmRepository` of the default type): `index.yaml`,
//! version resolution and chart download.
//!
//! Guarantees:
//! - the index is read with a size limit ([`HelmLimits::max_index_size`], 50 MiB by default as
//!   in Flux) and parsed off the async runtime by a streaming reader that keeps only what
//!   resolution needs (a 16.5 MB index of 40,000 versions peaks at about 56 MB of process RSS,
//!   text included, where a whole-document tree took 300 MB); a parsed index is kept in an
//!   [`IndexCache`] keyed by the sha256 of its bytes, so an unchanged index is parsed once
//!   however many charts and reconciles read it;
//! - a version is resolved as Helm does: an exact version string first, then the newest version
//!   satisfying the Masterminds range (pre-releases only when the range names one); an empty
//!   range means `*`;
//! - the chart URL is `urls[0]` of the entry, resolved against the repository URL when relative;
//!   the download is bounded by [`HelmLimits::max_chart_size`] (10 MiB by default) and checked
//!   against the index's `digest` when the index has one;
//! - basic credentials go to the index, and to the chart only when it is on the repository's
//!   host (and port) unless `pass_credentials` is set (Flux's `passCredentials`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ballast_helm::Value;
use ballast_helm::semver::{Constraints, Version};

use crate::redact_url;
use crate::remote::{
    AuthScope, BasicAuth, ChartSourceError, HttpClient, TlsOptions, authority_of, parse_uri, sha256_digest,
};

/// Size limits for chart sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HelmLimits {
    /// Largest `index.yaml` accepted (bytes).
    pub max_index_size: u64,
    /// Largest chart archive accepted (bytes).
    pub max_chart_size: u64,
}

impl Default for HelmLimits {
    /// Flux's defaults: 50 MiB for an index, 10 MiB for a chart.
    fn default() -> Self {
        HelmLimits {
            max_index_size: 50 << 20,
            max_chart_size: 10 << 20,
        }
    }
}

/// One chart version of an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Chart name.
    pub name: String,
    /// Chart version as written in the index.
    pub version: String,
    /// Download URLs (absolute or relative to the repository URL).
    pub urls: Vec<String>,
    /// sha256 hex of the archive, when the index has it.
    pub digest: Option<String>,
    /// `appVersion`, when present.
    pub app_version: Option<String>,
}

/// The part of a repository index that resolution needs, each chart's versions newest first.
#[derive(Debug, Default)]
pub struct ChartIndex {
    /// `sha256:<hex>` of the index file: the revision Flux reports for a `HelmRepository`.
    pub digest: String,
    entries: BTreeMap<String, Vec<IndexEntry>>,
}

impl ChartIndex {
    /// Parses an `index.yaml` (or its JSON form). Entries without a name, a version or a URL
    /// are skipped, as Helm skips invalid entries.
    pub fn parse(bytes: &[u8]) -> Result<ChartIndex, ChartSourceError> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| ChartSourceError::Invalid("index.yaml: not UTF-8 text".into()))?;
        let (api_version, mut entries) = match crate::helm_index::read(text) {
            Ok(crate::helm_index::Streamed::Index(api, entries)) => (api, entries),
            Ok(crate::helm_index::Streamed::Fallback) => parse_whole(text)?,
            Err(e) => return Err(ChartSourceError::Invalid(format!("index.yaml: {e}"))),
        };
        if api_version.is_empty() {
            return Err(ChartSourceError::Invalid(
                "index.yaml: no apiVersion (is this a Helm repository?)".into(),
            ));
        }
        entries.values_mut().for_each(|l| sort_newest_first(l));
        Ok(ChartIndex {
            digest: sha256_digest(bytes),
            entries,
        })
    }

    /// Chart names in the index.
    pub fn charts(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Versions of a chart, newest first.
    pub fn versions(&self, chart: &str) -> &[IndexEntry] {
        self.entries.get(chart).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The entry for `chart` and `range` (empty means `*`): the exact version if the index has
    /// it, else the newest matching version.
    pub fn resolve(&self, chart: &str, range: &str) -> Result<&IndexEntry, ChartSourceError> {
        let versions =
            self.entries.get(chart).filter(|v| !v.is_empty()).ok_or_else(|| {
                ChartSourceError::NotFound(format!("no chart named {chart:?} in the repository index"))
            })?;
        let range = range.trim();
        if let Some(e) = versions.iter().find(|e| !range.is_empty() && e.version == range) {
            return Ok(e);
        }
        let range = if range.is_empty() { "*" } else { range };
        let constraints = Constraints::parse(range)
            .map_err(|e| ChartSourceError::Invalid(format!("invalid version range {range:?}: {e}")))?;
        versions
            .iter()
            .find(|e| Version::parse(&e.version).is_ok_and(|v| constraints.check(&v)))
            .ok_or_else(|| {
                let newest: Vec<&str> = versions.iter().take(5).map(|e| e.version.as_str()).collect();
                ChartSourceError::NotFound(format!(
                    "no version of chart {chart:?} matches {range:?} (newest: {})",
                    newest.join(", ")
                ))
            })
    }
}

/// The whole-document reader, for indexes the streaming reader steps aside from.
type Entries = BTreeMap<String, Vec<IndexEntry>>;

fn parse_whole(text: &str) -> Result<(String, Entries), ChartSourceError> {
    let doc = ballast_helm::yaml::parse_document_raw(text)
        .map_err(|e| ChartSourceError::Invalid(format!("index.yaml: {e}")))?;
    let Value::Map(top) = doc else {
        return Err(ChartSourceError::Invalid("index.yaml: not a mapping".into()));
    };
    let top = top.borrow();
    let api_version = top.get("apiVersion").and_then(scalar).unwrap_or_default();
    let mut entries = BTreeMap::new();
    if let Some(Value::Map(charts)) = top.get("entries") {
        for (name, versions) in charts.borrow().iter() {
            let Value::List(versions) = versions else { continue };
            entries.insert(name.clone(), versions.iter().filter_map(|v| entry(name, v)).collect());
        }
    }
    Ok((api_version, entries))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string()),
        Value::Int(i) | Value::Int64(i) => Some(i.to_string()),
        Value::Uint(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn entry(name: &str, v: &Value) -> Option<IndexEntry> {
    let Value::Map(m) = v else { return None };
    let m = m.borrow();
    let version = m.get("version").and_then(scalar).filter(|s| !s.is_empty())?;
    let urls: Vec<String> = match m.get("urls") {
        Some(Value::List(l)) => l.iter().filter_map(scalar).collect(),
        _ => Vec::new(),
    };
    if urls.is_empty() {
        return None;
    }
    Some(IndexEntry {
        name: m.get("name").and_then(scalar).unwrap_or_else(|| name.to_string()),
        version,
        urls,
        digest: m.get("digest").and_then(scalar).filter(|s| !s.is_empty()),
        app_version: m.get("appVersion").and_then(scalar),
    })
}

/// Newest first by semver; versions that do not parse go last, in index order.
fn sort_newest_first(list: &mut [IndexEntry]) {
    list.sort_by(|a, b| match (Version::parse(&a.version), Version::parse(&b.version)) {
        (Ok(a), Ok(b)) => b.compare(&a),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
    });
}

/// Parsed indexes by the sha256 of their bytes, shared by every repository client; at most
/// `capacity` indexes are kept (the least recently used is dropped first). It also remembers
/// each index URL's `ETag`/`Last-Modified`, so an unchanged index is asked for conditionally
/// and not downloaded again (a `304 Not Modified` reuses the cached index).
#[derive(Debug)]
pub struct IndexCache {
    inner: Mutex<Vec<(String, Arc<ChartIndex>)>>,
    validators: Mutex<HashMap<String, Validator>>,
    capacity: usize,
}

/// What a server said identifies an index version.
#[derive(Clone, Debug)]
struct Validator {
    etag: Option<String>,
    last_modified: Option<String>,
    digest: String,
}

impl Default for IndexCache {
    fn default() -> Self {
        IndexCache::new(32)
    }
}

impl IndexCache {
    /// A cache of at most `capacity` parsed indexes (at least one).
    pub fn new(capacity: usize) -> Self {
        IndexCache {
            inner: Mutex::new(Vec::new()),
            validators: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The cached index with this digest, now the most recently used.
    pub fn get(&self, digest: &str) -> Option<Arc<ChartIndex>> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let at = inner.iter().position(|(d, _)| d == digest)?;
        let item = inner.remove(at);
        let index = item.1.clone();
        inner.push(item);
        Some(index)
    }

    /// Keeps `index`, dropping the least recently used beyond the capacity.
    pub fn insert(&self, index: Arc<ChartIndex>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.retain(|(d, _)| *d != index.digest);
        inner.push((index.digest.clone(), index));
        while inner.len() > self.capacity {
            inner.remove(0);
        }
    }

    /// Number of cached indexes.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A chart fetched from a repository or registry: the artifact of a `HelmChart`.
#[derive(Clone, PartialEq, Eq)]
pub struct ChartArtifact {
    /// Chart name.
    pub name: String,
    /// Chart version (the revision Flux reports for a `HelmChart`).
    pub version: String,
    /// `sha256:<hex>` of the archive.
    pub digest: String,
    /// Where it was downloaded from (credentials redacted).
    pub url: String,
    /// The chart archive (`.tgz`).
    pub bytes: Vec<u8>,
}

impl ChartArtifact {
    /// The revision Flux reports for a `HelmChart`: the chart version.
    pub fn revision(&self) -> &str {
        &self.version
    }
}

impl std::fmt::Debug for ChartArtifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChartArtifact")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("digest", &self.digest)
            .field("url", &self.url)
            .field("size", &self.bytes.len())
            .finish()
    }
}

/// Settings of an HTTP chart repository (a `HelmRepository` of the default type).
#[derive(Clone, Debug, Default)]
pub struct HelmRepositoryOptions {
    /// Basic credentials (`secretRef` `username`/`password`).
    pub auth: Option<BasicAuth>,
    /// TLS settings (`certSecretRef`).
    pub tls: TlsOptions,
    /// Send the credentials to chart URLs on other hosts too.
    pub pass_credentials: bool,
    /// Limit for each request (Flux's `timeout`, default 60s).
    pub timeout: Option<Duration>,
    /// Size limits.
    pub limits: HelmLimits,
}

/// A client for one HTTP chart repository.
pub struct HelmRepositoryClient {
    url: String,
    http: HttpClient,
    options: HelmRepositoryOptions,
}

impl HelmRepositoryClient {
    /// A client for the repository at `url` (`http://` or `https://`).
    pub fn new(url: &str, options: HelmRepositoryOptions) -> Result<Self, ChartSourceError> {
        parse_uri(url)?;
        let http = HttpClient::new(&options.tls, options.timeout.unwrap_or(Duration::from_secs(60)))?;
        Ok(HelmRepositoryClient {
            url: url.to_string(),
            http,
            options,
        })
    }

    /// The repository URL (credentials redacted).
    pub fn url(&self) -> String {
        redact_url(&self.url)
    }

    /// Fetches `index.yaml`; parses it unless `cache` already has an index with its digest.
    pub async fn index(&self, cache: &IndexCache) -> Result<Arc<ChartIndex>, ChartSourceError> {
        let url = resolve_reference(&self.url, "index.yaml")?;
        let auth = self.options.auth.as_ref().map(BasicAuth::header);
        let scope = if self.options.pass_credentials {
            AuthScope::AnyHost
        } else {
            AuthScope::SameHost
        };
        // Ask conditionally when the index this URL last gave is still cached.
        let known = cache
            .validators
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&url)
            .cloned()
            .and_then(|v| cache.get(&v.digest).map(|index| (v, index)));
        let mut conditions = Vec::new();
        if let Some((v, _)) = &known {
            if let Some(etag) = &v.etag {
                conditions.push((http::header::IF_NONE_MATCH, etag.clone()));
            }
            if let Some(lm) = &v.last_modified {
                conditions.push((http::header::IF_MODIFIED_SINCE, lm.clone()));
            }
        }
        let resp = self
            .http
            .get_with(
                &url,
                Some("application/x-yaml, application/yaml, text/yaml, */*"),
                &conditions,
                auth.as_ref(),
                scope,
                self.options.limits.max_index_size,
                "index",
            )
            .await?;
        if resp.status == http::StatusCode::NOT_MODIFIED
            && let Some((_, index)) = known
        {
            return Ok(index);
        }
        check_status(&url, &resp)?;
        let digest = sha256_digest(&resp.body);
        let header =
            |name: http::header::HeaderName| resp.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let validator = Validator {
            etag: header(http::header::ETAG),
            last_modified: header(http::header::LAST_MODIFIED),
            digest: digest.clone(),
        };
        {
            let mut validators = cache.validators.lock().unwrap_or_else(|p| p.into_inner());
            if validator.etag.is_some() || validator.last_modified.is_some() {
                if validators.len() >= 1024 {
                    validators.clear();
                }
                validators.insert(url.clone(), validator);
            } else {
                validators.remove(&url);
            }
        }
        if let Some(index) = cache.get(&digest) {
            return Ok(index);
        }
        let body = resp.body;
        let shown = redact_url(&url);
        let index = tokio::task::spawn_blocking(move || ChartIndex::parse(&body))
            .await
            .map_err(|e| ChartSourceError::Invalid(format!("{shown}: parsing the index failed: {e}")))?
            .map_err(|e| ChartSourceError::Invalid(format!("{shown}: {e}")))?;
        let index = Arc::new(index);
        cache.insert(index.clone());
        Ok(index)
    }

    /// The repository's `index.yaml` exactly as served, and its `sha256:<hex>` digest (Flux's
    /// `HelmRepository` revision), read within [`HelmLimits::max_index_size`] with the
    /// repository's credentials. Not parsed: the caller checks it with [`ChartIndex::parse`]
    /// when the digest is new.
    pub async fn index_file(&self) -> Result<(Vec<u8>, String), ChartSourceError> {
        let url = resolve_reference(&self.url, "index.yaml")?;
        let auth = self.options.auth.as_ref().map(BasicAuth::header);
        let scope = if self.options.pass_credentials {
            AuthScope::AnyHost
        } else {
            AuthScope::SameHost
        };
        let resp = self
            .http
            .get(
                &url,
                Some("application/x-yaml, application/yaml, text/yaml, */*"),
                auth.as_ref(),
                scope,
                self.options.limits.max_index_size,
                "index",
            )
            .await?;
        check_status(&url, &resp)?;
        let digest = sha256_digest(&resp.body);
        Ok((resp.body, digest))
    }

    /// Resolves `chart` at `range` in `index` and downloads it.
    pub async fn fetch_chart(
        &self,
        index: &ChartIndex,
        chart: &str,
        range: &str,
    ) -> Result<ChartArtifact, ChartSourceError> {
        let entry = index.resolve(chart, range).map_err(|e| with_repo(e, &self.url()))?;
        self.download(entry).await
    }

    /// Downloads the archive of one index entry.
    pub async fn download(&self, entry: &IndexEntry) -> Result<ChartArtifact, ChartSourceError> {
        let first = entry.urls.first().ok_or_else(|| {
            ChartSourceError::Invalid(format!(
                "chart {} {} has no URL in the index",
                entry.name, entry.version
            ))
        })?;
        let url = resolve_reference(&self.url, first)?;
        let same_host = authority_of(&parse_uri(&url)?) == authority_of(&parse_uri(&self.url)?);
        let auth = self
            .options
            .auth
            .as_ref()
            .filter(|_| same_host || self.options.pass_credentials)
            .map(BasicAuth::header);
        let scope = if self.options.pass_credentials {
            AuthScope::AnyHost
        } else {
            AuthScope::SameHost
        };
        let resp = self
            .http
            .get(
                &url,
                None,
                auth.as_ref(),
                scope,
                self.options.limits.max_chart_size,
                "chart",
            )
            .await?;
        check_status(&url, &resp)?;
        let digest = sha256_digest(&resp.body);
        if let Some(expected) = &entry.digest {
            let expected = format!("sha256:{}", expected.trim_start_matches("sha256:").to_ascii_lowercase());
            if expected != digest {
                return Err(ChartSourceError::DigestMismatch {
                    url: redact_url(&url),
                    expected,
                    actual: digest,
                });
            }
        }
        Ok(ChartArtifact {
            name: entry.name.clone(),
            version: entry.version.clone(),
            digest,
            url: redact_url(&url),
            bytes: resp.body,
        })
    }
}

fn with_repo(e: ChartSourceError, repo: &str) -> ChartSourceError {
    match e {
        ChartSourceError::NotFound(m) => ChartSourceError::NotFound(format!("{repo}: {m}")),
        ChartSourceError::Invalid(m) => ChartSourceError::Invalid(format!("{repo}: {m}")),
        e => e,
    }
}

/// Maps a non-success status to an error; 401/403 as an authentication failure.
pub(crate) fn check_status(url: &str, resp: &crate::remote::Response) -> Result<(), ChartSourceError> {
    let status = resp.status.as_u16();
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(ChartSourceError::Auth {
            url: redact_url(url),
            status,
            hint: ": check the username and password of the secretRef",
        }),
        404 => Err(ChartSourceError::NotFound(format!(
            "{}: not found (404)",
            redact_url(url)
        ))),
        _ => Err(ChartSourceError::Status {
            url: redact_url(url),
            status,
            detail: resp.detail(),
        }),
    }
}

/// `reference` resolved against the repository URL as Helm does: the repository path is taken
/// as a directory (a trailing `/` added), and the repository's query string is kept.
pub fn resolve_reference(base: &str, reference: &str) -> Result<String, ChartSourceError> {
    if reference.contains("://") {
        return Ok(reference.to_string());
    }
    let (base_no_query, query) = match base.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (base, None),
    };
    let uri = parse_uri(base_no_query)?;
    let scheme = uri.scheme_str().unwrap_or("https");
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
    let (path_part, ref_query) = match reference.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (reference, None),
    };
    let path = if path_part.starts_with('/') {
        path_part.to_string()
    } else {
        let dir = format!("{}/", uri.path().trim_end_matches('/'));
        normalize_path(&format!("{dir}{path_part}"))
    };
    let query = ref_query.or(query).map(|q| format!("?{q}")).unwrap_or_default();
    Ok(format!("{scheme}://{authority}{path}{query}"))
}

/// Removes `.` and `..` segments.
fn normalize_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "." => {}
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"apiVersion: v1
entries:
  podinfo:
  - name: podinfo
    version: 6.5.0
    urls: [podinfo-6.5.0.tgz]
    digest: abc
  - name: podinfo
    version: 6.6.0-rc.1
    urls: [podinfo-6.6.0-rc.1.tgz]
  - name: podinfo
    version: 6.4.1
    appVersion: 6.4.1
    urls: [https://cdn.example/podinfo-6.4.1.tgz]
  - name: podinfo
    version: 5.0.0
    urls: []
  broken:
  - name: broken
generated: "2026-01-01T00:00:00Z"
"#;

    #[test]
    fn newest_match_without_prereleases_unless_asked() {
        let index = ChartIndex::parse(INDEX.as_bytes()).unwrap();
        assert_eq!(index.resolve("podinfo", "").unwrap().version, "6.5.0");
        assert_eq!(index.resolve("podinfo", "*").unwrap().version, "6.5.0");
        assert_eq!(index.resolve("podinfo", "<6.5.0").unwrap().version, "6.4.1");
        assert_eq!(index.resolve("podinfo", ">=6.5.0-0").unwrap().version, "6.6.0-rc.1");
        assert_eq!(index.resolve("podinfo", "6.6.0-rc.1").unwrap().version, "6.6.0-rc.1");
        assert_eq!(index.resolve("podinfo", "~6.4").unwrap().version, "6.4.1");
        assert_eq!(index.resolve("podinfo", "6.x").unwrap().version, "6.5.0");
        // the entry without URLs is skipped
        assert_eq!(index.versions("podinfo").len(), 3);
        assert!(index.versions("broken").is_empty());
    }

    #[test]
    fn misses_say_what_was_asked_and_what_exists() {
        let index = ChartIndex::parse(INDEX.as_bytes()).unwrap();
        let e = index.resolve("podinfo", ">=7").unwrap_err().to_string();
        assert!(e.contains(">=7") && e.contains("6.5.0"), "{e}");
        let e = index.resolve("nginx", "*").unwrap_err().to_string();
        assert!(e.contains("nginx"), "{e}");
        let e = index.resolve("podinfo", ">=>1").unwrap_err().to_string();
        assert!(e.contains("invalid version range"), "{e}");
    }

    #[test]
    fn not_an_index_is_refused() {
        assert!(ChartIndex::parse(b"<html>hi</html>").is_err());
        assert!(ChartIndex::parse(b"entries: {}").is_err());
        assert!(ChartIndex::parse(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn the_streaming_reader_agrees_with_the_whole_document_reader() {
        let Ok(crate::helm_index::Streamed::Index(api, streamed)) = crate::helm_index::read(INDEX) else {
            panic!("the index streams")
        };
        let (whole_api, whole) = parse_whole(INDEX).unwrap();
        assert_eq!(api, whole_api);
        assert_eq!(streamed, whole);
        assert_eq!(streamed["podinfo"].len(), 3);
    }

    #[test]
    fn anchors_fall_back_to_the_whole_document_reader() {
        let text = "apiVersion: v1\nentries:\n  a:\n  - &base\n    name: a\n    version: 1.0.0\n    urls: [a-1.0.0.tgz]\n  b:\n  - *base\n";
        let index = ChartIndex::parse(text.as_bytes()).unwrap();
        assert_eq!(index.resolve("a", "*").unwrap().version, "1.0.0");
        assert_eq!(index.resolve("b", "*").unwrap().name, "a");
        let e = ChartIndex::parse(b"apiVersion: v1\nentries: {a: [")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("index.yaml: "), "{e}");
    }

    #[test]
    fn json_indexes_parse_too() {
        let index = ChartIndex::parse(
            br#"{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"1.0.0","urls":["a-1.0.0.tgz"]}]}}"#,
        )
        .unwrap();
        assert_eq!(index.resolve("a", "^1").unwrap().version, "1.0.0");
    }

    #[test]
    fn chart_urls_resolve_like_helm() {
        let r = |b, u| resolve_reference(b, u).unwrap();
        assert_eq!(r("http://h:1/charts", "a-1.tgz"), "http://h:1/charts/a-1.tgz");
        assert_eq!(r("http://h:1/charts/", "a-1.tgz"), "http://h:1/charts/a-1.tgz");
        assert_eq!(r("http://h:1", "index.yaml"), "http://h:1/index.yaml");
        assert_eq!(r("http://h:1/charts", "/other/a.tgz"), "http://h:1/other/a.tgz");
        assert_eq!(r("http://h:1/charts", "../x/a.tgz"), "http://h:1/x/a.tgz");
        assert_eq!(
            r("http://h:1/charts?token=t", "a.tgz"),
            "http://h:1/charts/a.tgz?token=t"
        );
        assert_eq!(r("http://h:1/charts", "https://cdn/a.tgz"), "https://cdn/a.tgz");
    }

    #[test]
    fn the_cache_keeps_the_most_recent() {
        let cache = IndexCache::new(2);
        for d in ["a", "b", "c"] {
            cache.insert(Arc::new(ChartIndex {
                digest: d.into(),
                entries: BTreeMap::new(),
            }));
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_some());
    }
}
