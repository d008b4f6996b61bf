//! Helm charts from chart repositories for Argo CD sources (`source.chart` + `repoURL`): an
//! HTTP repository (`http(s)://`, through its `index.yaml`) or an OCI registry (`repoURL`
//! `host/path` without a scheme, or `oci://host/path`), `targetRevision` an exact version or a
//! semver constraint (newest match; empty or `*` the newest). Downloads go through
//! `ballast-source`'s `helm_repo` and `oci` clients and are kept, extracted, under the cache
//! directory by repository, chart and version, so an exact version is downloaded once.
//!
//! Credentials come from Argo CD's repository Secrets in the controller's namespace: label
//! `argocd.argoproj.io/secret-type: repository` (its `url` equal to `repoURL`) wins over
//! `repo-creds` (the longest `url` prefix of `repoURL`); fields `username`, `password`, `type`
//! (`helm`), `enableOCI`, and TLS as Argo CD reads it: `tlsClientCertData` and
//! `tlsClientCertKey` (a PEM client certificate and key, for mutual TLS), `insecure: "true"`
//! (the server's certificate not verified), and the CA certificates trusted for the
//! repository's host from the `argocd-tls-certs-cm` ConfigMap (key: the host name, value: PEM
//! certificates, trusted for that host). The same Secrets serve Git
//! sources ([`crate::application`]; `sshPrivateKey` through [`crate::argo_ssh`]). They are
//! never logged or put in a status or error.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use ballast_api::argo::ApplicationSource;
use ballast_source::oci::{OciClient, OciOptions};
use ballast_source::{BasicAuth, HelmLimits, HelmRepositoryClient, HelmRepositoryOptions, IndexCache, TlsOptions};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams};
use sha2::{Digest, Sha256};

use crate::application::AppAccess;

/// Argo CD's ConfigMap of CA certificates by repository host.
pub const TLS_CERTS_CONFIGMAP: &str = "argocd-tls-certs-cm";
/// The label of Argo CD's repository Secrets.
pub const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";
/// Largest chart archive accepted.
pub const MAX_CHART: u64 = 64 << 20;
/// Limit of each registry or repository request.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Where a chart comes from.
#[derive(Debug, PartialEq, Eq)]
pub enum ChartRepo {
    /// An HTTP repository (its URL).
    Http(String),
    /// An OCI registry repository, as `oci://host/path`.
    Oci(String),
}

/// The repository `repo_url` names (`enable_oci` from its Secret forces OCI).
pub fn chart_repo(repo_url: &str, enable_oci: bool) -> ChartRepo {
    let url = repo_url.trim().trim_end_matches('/');
    if let Some(rest) = url.strip_prefix("oci://") {
        return ChartRepo::Oci(format!("oci://{rest}"));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        if enable_oci {
            let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
            return ChartRepo::Oci(format!("oci://{rest}"));
        }
        return ChartRepo::Http(url.to_string());
    }
    ChartRepo::Oci(format!("oci://{url}"))
}

/// Credentials and settings of one repository, from its Secret.
#[derive(Default)]
pub struct RepoCreds {
    /// Basic credentials.
    pub auth: Option<BasicAuth>,
    /// `enableOCI: "true"`.
    pub enable_oci: bool,
    /// TLS settings (client certificate, `insecure`, CA from [`TLS_CERTS_CONFIGMAP`]).
    pub tls: TlsOptions,
    /// `sshPrivateKey` (Git over SSH).
    pub ssh_private_key: Option<String>,
}

/// The host name of `url` (no scheme, user-info, port or path), lower case.
pub fn host_of(url: &str) -> String {
    let rest = url.trim().split_once("://").map(|(_, r)| r).unwrap_or(url.trim());
    let authority = rest.split('/').next().unwrap_or("");
    let authority = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(authority)
    };
    host.to_lowercase()
}

/// The CA certificates `argocd-tls-certs-cm` in `namespace` holds for `host` (absent: none).
async fn trusted_ca(client: &kube::Client, namespace: &str, host: &str) -> Result<Option<Vec<u8>>, String> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let cm = api
        .get_opt(TLS_CERTS_CONFIGMAP)
        .await
        .map_err(|e| format!("reading {namespace}/{TLS_CERTS_CONFIGMAP}: {e}"))?;
    Ok(cm
        .and_then(|c| c.data)
        .and_then(|d| d.get(host).cloned())
        .filter(|pem| !pem.trim().is_empty())
        .map(String::into_bytes))
}

pub(crate) fn field(s: &Secret, key: &str) -> Option<String> {
    if let Some(v) = s.data.as_ref().and_then(|d| d.get(key)) {
        return String::from_utf8(v.0.clone()).ok();
    }
    s.string_data.as_ref().and_then(|d| d.get(key).cloned())
}

/// `a` and `b` name the same repository (scheme, case of the host and a trailing `/` aside).
fn same_url(a: &str, b: &str) -> bool {
    let norm = |u: &str| {
        let u = u.trim().trim_end_matches('/').to_lowercase();
        u.strip_prefix("oci://").map(str::to_string).unwrap_or(u)
    };
    norm(a) == norm(b)
}

/// The credentials for `repo_url` among the repository Secrets of `namespace`.
pub async fn credentials(client: &kube::Client, namespace: &str, repo_url: &str) -> Result<RepoCreds, String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let lp = ListParams::default().labels(&format!("{SECRET_TYPE_LABEL} in (repository,repo-creds)"));
    let secrets = api
        .list(&lp)
        .await
        .map_err(|e| format!("listing repository Secrets in {namespace}: {e}"))?;
    let mut best: Option<(usize, &Secret)> = None; // (rank, secret): repository beats repo-creds
    for s in &secrets.items {
        let Some(url) = field(s, "url") else { continue };
        let kind = s
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SECRET_TYPE_LABEL))
            .map(String::as_str);
        let rank = match kind {
            Some("repository") if same_url(&url, repo_url) => usize::MAX,
            Some("repo-creds") => {
                let prefix = url.trim_end_matches('/').to_lowercase();
                let target = repo_url.trim().to_lowercase();
                let strip = |u: &str| u.strip_prefix("oci://").map(str::to_string).unwrap_or(u.to_string());
                let (prefix, target) = (strip(&prefix), strip(&target));
                if target == prefix || target.starts_with(&format!("{prefix}/")) {
                    prefix.len()
                } else {
                    continue;
                }
            }
            _ => continue,
        };
        if best.is_none_or(|(r, _)| rank > r) {
            best = Some((rank, s));
        }
    }
    let ca_pem = trusted_ca(client, namespace, &host_of(repo_url)).await?;
    let Some((_, s)) = best else {
        return Ok(RepoCreds {
            tls: TlsOptions {
                ca_pem,
                ..Default::default()
            },
            ..Default::default()
        });
    };
    let auth = match (field(s, "username"), field(s, "password")) {
        (Some(username), Some(password)) if !username.is_empty() => Some(BasicAuth { username, password }),
        _ => None,
    };
    let pem = |key: &str| field(s, key).filter(|v| !v.trim().is_empty()).map(String::into_bytes);
    let tls = TlsOptions {
        ca_pem,
        client_cert_pem: pem("tlsClientCertData"),
        client_key_pem: pem("tlsClientCertKey"),
        insecure_skip_verify: field(s, "insecure").is_some_and(|v| v.trim() == "true"),
    };
    if tls.client_cert_pem.is_some() != tls.client_key_pem.is_some() {
        return Err(format!(
            "repository Secret {}: tlsClientCertData and tlsClientCertKey go together",
            s.metadata.name.as_deref().unwrap_or_default()
        ));
    }
    Ok(RepoCreds {
        auth,
        enable_oci: field(s, "enableOCI").is_some_and(|v| v == "true"),
        tls,
        ssh_private_key: field(s, "sshPrivateKey").filter(|k| !k.trim().is_empty()),
    })
}

fn index_cache() -> &'static IndexCache {
    static CACHE: OnceLock<IndexCache> = OnceLock::new();
    CACHE.get_or_init(|| IndexCache::new(16))
}

/// The cache directory of `chart` `version` from `repo`.
fn cache_dir(cache: &Path, repo: &str, chart: &str, version: &str) -> PathBuf {
    let key = hex::encode(Sha256::digest(format!("{repo}\n{chart}\n{version}").as_bytes()));
    cache.join("argo-charts").join(key)
}

/// Fetches `source.chart` at `version` (else `targetRevision`) and extracts it; returns the
/// directory holding the chart and the chart version.
pub async fn fetch(
    source: &ApplicationSource,
    version: Option<&str>,
    access: &AppAccess,
) -> Result<(PathBuf, String), String> {
    let chart = source.chart.as_deref().unwrap_or("").trim();
    if chart.is_empty() || chart.contains("..") {
        return Err(format!("spec.source.chart {chart:?} is not a chart name"));
    }
    // The archive's folder is the chart's own name (an OCI chart may be `path/name`).
    let base = chart.rsplit('/').next().unwrap_or(chart);
    let range = version.or(source.target_revision.as_deref()).unwrap_or("").trim();
    let range = if range == "HEAD" { "" } else { range };
    let creds = credentials(access.cluster.client(), &access.own_namespace, &source.repo_url).await?;
    let repo = chart_repo(&source.repo_url, creds.enable_oci);
    let repo_key = match &repo {
        ChartRepo::Http(u) | ChartRepo::Oci(u) => u.clone(),
    };
    if ballast_source::oci::is_exact_version(range) {
        let dir = cache_dir(&access.cache_dir, &repo_key, chart, range);
        if dir.join(base).join("Chart.yaml").is_file() {
            return Ok((dir.join(base), range.to_string()));
        }
    }
    let redacted = ballast_source::redact_url(&source.repo_url);
    let failed = |e: ballast_source::ChartSourceError| format!("chart {chart} {range} from {redacted}: {e}");
    let artifact = match &repo {
        ChartRepo::Oci(url) => {
            let client = OciClient::new(OciOptions {
                auth: creds.auth,
                tls: creds.tls,
                insecure: is_loopback(url),
                timeout: Some(TIMEOUT),
            })
            .map_err(failed)?;
            client.fetch_chart(url, chart, range, MAX_CHART).await.map_err(failed)?
        }
        ChartRepo::Http(url) => {
            let client = HelmRepositoryClient::new(
                url,
                HelmRepositoryOptions {
                    auth: creds.auth,
                    tls: creds.tls,
                    timeout: Some(TIMEOUT),
                    limits: HelmLimits {
                        max_chart_size: MAX_CHART,
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .map_err(failed)?;
            let index = client.index(index_cache()).await.map_err(failed)?;
            client.fetch_chart(&index, chart, range).await.map_err(failed)?
        }
    };
    let dir = cache_dir(&access.cache_dir, &repo_key, chart, &artifact.version);
    if !dir.join(base).join("Chart.yaml").is_file() {
        let parent = access.cache_dir.join("argo-charts");
        std::fs::create_dir_all(&parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let tmp = tempfile::tempdir_in(&parent).map_err(|e| e.to_string())?;
        ballast_source::chart_archive::extract_tgz(&artifact.bytes, tmp.path(), MAX_CHART * 4).map_err(failed)?;
        if !tmp.path().join(chart).join("Chart.yaml").is_file() {
            return Err(format!(
                "chart {chart} {}: the archive has no {chart}/Chart.yaml",
                artifact.version
            ));
        }
        let kept = tmp.keep();
        // Another reconcile may have put the same version there first: either copy is good.
        if std::fs::rename(&kept, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&kept);
        }
    }
    Ok((dir.join(base), artifact.version))
}

/// A registry on this machine is reached over plain HTTP (as `helm` does for `localhost`).
fn is_loopback(url: &str) -> bool {
    let host = url.trim_start_matches("oci://").split('/').next().unwrap_or("");
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_url_forms_as_argo_cd_reads_them() {
        assert_eq!(
            chart_repo("https://charts.example/", false),
            ChartRepo::Http("https://charts.example".into())
        );
        assert_eq!(
            chart_repo("registry.example/charts", false),
            ChartRepo::Oci("oci://registry.example/charts".into())
        );
        assert_eq!(
            chart_repo("oci://127.0.0.1:5000/c", false),
            ChartRepo::Oci("oci://127.0.0.1:5000/c".into())
        );
        assert_eq!(
            chart_repo("https://r.example/c", true),
            ChartRepo::Oci("oci://r.example/c".into())
        );
        assert!(same_url("HTTPS://r.example/c/", "https://r.example/c"));
    }

    #[test]
    fn host_names_as_argo_cd_keys_its_certificates() {
        assert_eq!(host_of("https://127.0.0.1:8443/charts"), "127.0.0.1");
        assert_eq!(host_of("https://user@Charts.Example/x"), "charts.example");
        assert_eq!(host_of("registry.example:5000/charts"), "registry.example");
        assert_eq!(host_of("oci://[::1]:5000/c"), "::1");
    }

    #[test]
    fn loopback_registries() {
        assert!(is_loopback("oci://127.0.0.1:5000/x") && !is_loopback("oci://r.example/x"));
    }
}
