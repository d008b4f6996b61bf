//! Charts that are not on disk: `chart: repo/name` from a state's `repositories:` (HTTP(S)
//! chart repositories and OCI registries) and `chart: oci://host/path/name`, resolved as
//! helm resolves them and kept in Ballast's cache, before a release renders.
//!
//! Guarantees:
//! - a version is picked as helm picks it: an exact version, else the newest version matching
//!   the constraint (`version:` empty means the newest stable one; pre-releases only when the
//!   constraint names one, or with `devel: true` on the release or in `helmDefaults`, which
//!   means `>0.0.0-0` as for helm's `--devel`);
//! - every chart archive is kept under the cache directory, keyed by repository URL, chart and
//!   resolved version; an exact version found there costs no request at all, a constraint one
//!   index (or tag list) request per repository and run, and a cached archive is never
//!   downloaded again. Archives are written to a temporary file and renamed, so a cached
//!   archive is complete;
//! - transport, authentication, TLS, size limits and digests are those of `ballast-source`
//!   ([`HelmRepositoryClient`], [`OciClient`]); credentials come from the repository entry
//!   (`username`/`password`, else the `<NAME>_USERNAME`/`<NAME>_PASSWORD` environment
//!   variables as helmfile reads them) and go only where those clients send them;
//! - errors name the state file, the release and the repository (its URL with credentials
//!   redacted), never a credential.
//!
//! A local chart's dependencies from repositories: [`crate::deps`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ballast_gotemplate::Value;
use ballast_helm::semver::Version;
use ballast_source::oci::{OciClient, OciOptions, OciUrl};
use ballast_source::{
    BasicAuth, ChartIndex, ChartSourceError, HelmRepositoryClient, HelmRepositoryOptions, IndexCache, TlsOptions,
    redact_url,
};

use crate::Error;
use crate::release::Release;
use crate::state::{State, get, items, text};
use crate::tmpl;

/// Largest chart archive accepted (helm has no limit; Flux's default is 10 MiB).
const MAX_CHART_SIZE: u64 = 64 << 20;
/// Largest local chart directory packaged with its dependencies.
pub(crate) const MAX_LOCAL_CHART: u64 = 256 << 20;

/// The chart resolution of one run: where archives are cached, and the indexes and tag lists
/// already read in this run (each repository is asked once per run). Shared by every state
/// file a run visits.
#[derive(Clone, Default)]
pub struct Charts {
    pub(crate) session: Option<Arc<Session>>,
}

impl std::fmt::Debug for Charts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.session {
            Some(s) => write!(f, "Charts({})", s.cache.display()),
            None => f.write_str("Charts(no cache)"),
        }
    }
}

pub(crate) struct Session {
    pub(crate) cache: PathBuf,
    index_cache: Arc<IndexCache>,
    indexes: Mutex<HashMap<String, Arc<ChartIndex>>>,
    tags: Mutex<HashMap<String, Vec<String>>>,
}

impl Charts {
    /// Charts cached under `cache_dir` (created when first needed).
    pub fn new(cache_dir: PathBuf) -> Charts {
        Charts {
            session: Some(Arc::new(Session {
                cache: cache_dir,
                index_cache: Arc::new(IndexCache::new(16)),
                indexes: Mutex::new(HashMap::new()),
                tags: Mutex::new(HashMap::new()),
            })),
        }
    }
}

/// One entry of `repositories:`.
#[derive(Clone)]
pub struct Repository {
    /// `name`.
    pub name: String,
    /// `url` (for OCI, `oci://` added when absent).
    pub url: String,
    /// `oci: true`.
    pub oci: bool,
    auth: Option<BasicAuth>,
    ca_file: String,
    cert_file: String,
    key_file: String,
    skip_tls_verify: bool,
    pass_credentials: bool,
    plain_http: bool,
    verify: bool,
}

impl Repository {
    /// A repository known by its URL only (a chart dependency's `repository:`): no
    /// credentials, default TLS.
    pub fn anonymous(url: &str) -> Repository {
        Repository {
            name: url.to_string(),
            url: url.to_string(),
            oci: url.starts_with("oci://"),
            auth: None,
            ca_file: String::new(),
            cert_file: String::new(),
            key_file: String::new(),
            skip_tls_verify: false,
            pass_credentials: false,
            plain_http: false,
            verify: false,
        }
    }
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .field("oci", &self.oci)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

pub(crate) fn flag(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        v => text(v).trim() == "true",
    }
}

/// The `repositories:` of a state, credentials completed from the environment as helmfile
/// does (`<NAME>_USERNAME`, `<NAME>_PASSWORD`, the name upper-cased with `-` as `_`).
pub fn repositories(st: &State) -> Result<Vec<Repository>, Error> {
    let mut out = Vec::new();
    for (i, r) in items(&st.field("repositories")).iter().enumerate() {
        let name = text(&get(r, "name"));
        let mut url = text(&get(r, "url")).trim().to_string();
        if name.is_empty() || url.is_empty() {
            return Err(Error(format!(
                "in {}: repositories[{i}]: a repository needs a name and a url",
                st.file.display()
            )));
        }
        let oci = flag(&get(r, "oci"));
        if oci && !url.starts_with("oci://") {
            url = format!("oci://{url}");
        }
        let env_name = name.to_uppercase().replace('-', "_");
        let pick = |key: &str, var: &str| -> String {
            let own = text(&get(r, key));
            if own.is_empty() {
                std::env::var(format!("{env_name}_{var}")).unwrap_or_default()
            } else {
                own
            }
        };
        let (username, password) = (pick("username", "USERNAME"), pick("password", "PASSWORD"));
        let auth = (!username.is_empty() || !password.is_empty()).then_some(BasicAuth { username, password });
        out.push(Repository {
            name,
            url,
            oci,
            auth,
            ca_file: text(&get(r, "caFile")),
            cert_file: text(&get(r, "certFile")),
            key_file: text(&get(r, "keyFile")),
            skip_tls_verify: flag(&get(r, "skipTLSVerify")) || flag(&get(r, "insecureSkipTLSVerify")),
            pass_credentials: flag(&get(r, "passCredentials")),
            plain_http: flag(&get(r, "plainHttp")),
            verify: flag(&get(r, "verify")),
        });
    }
    Ok(out)
}

/// Where a chart is fetched from.
pub(crate) enum Origin {
    /// An HTTP(S) chart repository.
    Http(Repository),
    /// An OCI repository holding the chart under `<url>/<chart>`; the entry whose
    /// credentials and settings apply, if any.
    Oci {
        /// `oci://host/path`.
        url: String,
        /// The `repositories:` entry that applies.
        repo: Option<Repository>,
    },
}

impl Origin {
    fn url(&self) -> String {
        match self {
            Origin::Http(r) => redact_url(&r.url),
            Origin::Oci { url, .. } => url.clone(),
        }
    }

    pub(crate) fn shown(&self) -> String {
        match self {
            Origin::Http(r) | Origin::Oci { repo: Some(r), .. } => {
                format!("repository \"{}\" ({})", r.name, self.url())
            }
            Origin::Oci { repo: None, .. } => format!("registry {}", self.url()),
        }
    }
}

/// The chart a release renders: a local directory or archive as written, or the archive of
/// a repository chart in the cache (fetched when missing), or a local chart packaged with the
/// dependencies it lacks. Errors name the state file, the release and the repository.
pub fn chart_for(st: &State, r: &Release) -> Result<PathBuf, Error> {
    let at = |e: String| Error(format!("in {}: release \"{}\": {e}", st.file.display(), r.name));
    let local = r.chart_path();
    let repos = repositories(st).map_err(|e| at(e.0))?;
    if !r.chart.starts_with("oci://") && local.exists() {
        if local.is_dir() {
            return crate::deps::with_dependencies(st, &local, &repos).map_err(at);
        }
        return Ok(local);
    }
    let (origin, chart) = origin(r, &repos).map_err(at)?;
    if let Origin::Http(repo) | Origin::Oci { repo: Some(repo), .. } = &origin
        && repo.verify
    {
        return Err(at(format!(
            "repository \"{}\": verify (chart provenance) is not supported by ballast helmfile",
            repo.name
        )));
    }
    let session = st.charts.session.as_ref().ok_or_else(|| {
        at(format!(
            "chart \"{}\" comes from {}, and this run has no chart cache directory",
            r.chart,
            origin.shown()
        ))
    })?;
    let devel = flag(&get(&r.spec, "devel")) || flag(&get(&st.field("helmDefaults"), "devel"));
    let version = r.version.trim();
    let range = if version.is_empty() && devel {
        ">0.0.0-0"
    } else {
        version
    };
    let skip_tls =
        flag(&get(&r.spec, "insecureSkipTLSVerify")) || flag(&get(&st.field("helmDefaults"), "insecureSkipTLSVerify"));
    let plain_http = flag(&get(&r.spec, "plainHttp"));
    fetch(session, &origin, &chart, range, skip_tls, plain_http, &st.dir)
        .map(|f| f.path)
        .map_err(|e| at(format!("chart \"{}\" from {}: {e}", r.chart, origin.shown())))
}

/// The origin of a release's remote chart and the chart's name in it.
fn origin(r: &Release, repos: &[Repository]) -> Result<(Origin, String), String> {
    if r.chart.starts_with("oci://") {
        let full = OciUrl::parse(r.chart.trim_end_matches('/')).map_err(|e| e.to_string())?;
        let (parent, name) = full
            .repository
            .rsplit_once('/')
            .ok_or_else(|| format!("chart \"{}\": no chart name after the registry", r.chart))?;
        let url = format!("oci://{}/{parent}", full.registry);
        // helm logs in per registry host: an OCI repository entry on the same host lends its
        // credentials and settings.
        let repo = repos
            .iter()
            .find(|x| x.oci && OciUrl::parse(&x.url).is_ok_and(|u| u.registry == full.registry))
            .cloned();
        return Ok((Origin::Oci { url, repo }, name.to_string()));
    }
    if r.chart.contains("::") || r.chart.contains("://") {
        return Err(format!(
            "chart \"{}\": only local charts, repository/chart and oci:// charts are supported (go-getter and chart URLs are not fetched)",
            redact_url(&r.chart)
        ));
    }
    let Some((repo_name, name)) = r.chart.split_once('/') else {
        return Err(format!(
            "chart \"{}\" is not a local chart ({} does not exist), and not of the form repository/chart",
            r.chart,
            r.chart_path().display()
        ));
    };
    let repo = repos.iter().find(|x| x.name == repo_name).ok_or_else(|| {
        format!(
            "chart \"{}\" is not a local chart ({} does not exist), and no repository named \"{repo_name}\" is in repositories:",
            r.chart,
            r.chart_path().display()
        )
    })?;
    let origin = if repo.oci {
        Origin::Oci {
            url: repo.url.trim_end_matches('/').to_string(),
            repo: Some(repo.clone()),
        }
    } else {
        Origin::Http(repo.clone())
    };
    Ok((origin, name.to_string()))
}

/// True for a full version (`1.2.3`, `1.2.3-rc.1+b`): looked up in the cache before any
/// request, and fetched from a registry by tag.
fn pinned(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && Version::parse(v).is_ok()
}

/// Where the archive of `chart` at `version` from `url` is kept.
fn cached_path(cache: &Path, url: &str, chart: &str, version: &str) -> PathBuf {
    use sha2::Digest;
    let key = hex::encode(sha2::Sha256::digest(format!("{url}\n{chart}\n{version}").as_bytes()));
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    cache
        .join("helmfile-charts")
        .join(&key[..32])
        .join(format!("{}-{}.tgz", safe(chart), safe(version)))
}

/// Writes `bytes` at `path` completely or not at all.
pub(crate) fn store(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let dir = path.parent().ok_or("cache path without a directory")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("{}: {}", path.display(), e.error))?;
    Ok(())
}

fn read_pem(dir: &Path, file: &str, what: &str) -> Result<Option<Vec<u8>>, String> {
    if file.is_empty() {
        return Ok(None);
    }
    let p = tmpl::resolve(dir, file);
    std::fs::read(&p)
        .map(Some)
        .map_err(|e| format!("{what} {}: {}", p.display(), tmpl::io_text(&e)))
}

/// The TLS settings of a repository entry (files relative to the state file's directory);
/// verification is skipped only when the entry (`skipTLSVerify`) or the release / helmDefaults
/// (`insecureSkipTLSVerify`) ask for it.
fn tls(repo: Option<&Repository>, dir: &Path, skip_verify: bool) -> Result<TlsOptions, String> {
    let insecure_skip_verify = skip_verify || repo.is_some_and(|r| r.skip_tls_verify);
    let Some(r) = repo else {
        return Ok(TlsOptions {
            insecure_skip_verify,
            ..Default::default()
        });
    };
    Ok(TlsOptions {
        ca_pem: read_pem(dir, &r.ca_file, "caFile")?,
        client_cert_pem: read_pem(dir, &r.cert_file, "certFile")?,
        client_key_pem: read_pem(dir, &r.key_file, "keyFile")?,
        insecure_skip_verify,
    })
}

/// Explains a source error in helmfile's terms (never with credentials).
pub(crate) fn explain(e: ChartSourceError) -> String {
    match e {
        ChartSourceError::Auth { url, status, .. } => {
            format!("{url}: authentication failed ({status}): check the repository's username and password")
        }
        e => e.to_string(),
    }
}

/// Runs `work` on a thread of its own with a current-thread runtime (the caller may itself be
/// inside a runtime).
fn block_on<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    std::thread::Builder::new()
        .name("helmfile-chart-fetch".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the fetch: {e}"))?;
            rt.block_on(work)
        })
        .map_err(|e| format!("cannot start the fetch: {e}"))?
        .join()
        .unwrap_or_else(|_| Err("the fetch failed unexpectedly".into()))
}

/// A chart archive in the cache.
pub(crate) struct Fetched {
    /// The archive.
    pub path: PathBuf,
    /// The version picked.
    pub version: String,
}

/// The cached archive of `chart` at `range` from `origin`, fetched when missing.
pub(crate) fn fetch(
    session: &Arc<Session>,
    origin: &Origin,
    chart: &str,
    range: &str,
    skip_tls: bool,
    plain_http: bool,
    dir: &Path,
) -> Result<Fetched, String> {
    let key_url = match origin {
        Origin::Http(repo) => &repo.url,
        Origin::Oci { url, .. } => url,
    };
    if pinned(range) {
        let path = cached_path(&session.cache, key_url, chart, range);
        if path.is_file() {
            return Ok(Fetched {
                path,
                version: range.to_string(),
            });
        }
    }
    match origin {
        Origin::Http(repo) => {
            let options = HelmRepositoryOptions {
                auth: repo.auth.clone(),
                tls: tls(Some(repo), dir, skip_tls)?,
                pass_credentials: repo.pass_credentials,
                limits: ballast_source::HelmLimits {
                    max_chart_size: MAX_CHART_SIZE,
                    ..Default::default()
                },
                ..Default::default()
            };
            let client = HelmRepositoryClient::new(&repo.url, options).map_err(explain)?;
            let known = session
                .indexes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&repo.url)
                .cloned();
            let (session2, url, chart2, range2) =
                (session.clone(), repo.url.clone(), chart.to_string(), range.to_string());
            block_on(async move {
                let index = match known {
                    Some(i) => i,
                    None => {
                        let i = client.index(&session2.index_cache).await.map_err(explain)?;
                        session2
                            .indexes
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(url.clone(), i.clone());
                        i
                    }
                };
                let entry = index
                    .resolve(&chart2, &range2)
                    .map_err(|e| format!("{}: {}", client.url(), explain(e)))?;
                let version = entry.version.clone();
                let path = cached_path(&session2.cache, &url, &chart2, &version);
                if !path.is_file() {
                    let artifact = client.download(entry).await.map_err(explain)?;
                    store(&path, &artifact.bytes)?;
                }
                Ok(Fetched { path, version })
            })
        }
        Origin::Oci { url, repo } => {
            let options = OciOptions {
                auth: repo.as_ref().and_then(|r| r.auth.clone()),
                tls: tls(repo.as_ref(), dir, skip_tls)?,
                insecure: plain_http || repo.as_ref().is_some_and(|r| r.plain_http),
                ..Default::default()
            };
            let client = OciClient::new(options).map_err(explain)?;
            let target = OciUrl::parse(url).map_err(explain)?.join(chart);
            let known = session
                .tags
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&target.to_string())
                .cloned();
            let (session2, url, chart2, range2) = (session.clone(), url.clone(), chart.to_string(), range.to_string());
            block_on(async move {
                let version = if pinned(&range2) {
                    range2.clone()
                } else {
                    let tags = match known {
                        Some(t) => t,
                        None => {
                            let t = client.tags(&target).await.map_err(explain)?;
                            session2
                                .tags
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(target.to_string(), t.clone());
                            t
                        }
                    };
                    let range = if range2.is_empty() { "*" } else { range2.as_str() };
                    ballast_source::oci::newest_matching(&tags, range, &target).map_err(explain)?
                };
                let path = cached_path(&session2.cache, &url, &chart2, &version);
                if !path.is_file() {
                    let artifact = client
                        .fetch_chart(&url, &chart2, &version, MAX_CHART_SIZE)
                        .await
                        .map_err(explain)?;
                    store(&path, &artifact.bytes)?;
                }
                Ok(Fetched { path, version })
            })
        }
    }
}
