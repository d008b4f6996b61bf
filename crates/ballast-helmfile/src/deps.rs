//! A local chart's `Chart.yaml` dependencies that `charts/` lacks, fetched as `helmfile deps`
//! / `helm dependency build` would: `file://` paths, repository URLs (`https://`, `oci://`,
//! with the settings of a `repositories:` entry of the same URL or registry) and `@name` /
//! `alias:name` naming a repository of the state. Remote dependencies go through the chart
//! cache ([`crate::charts`]); the chart with its dependencies is packaged into the cache
//! (content-addressed) and that archive is rendered. The chart's directory is never written.

use std::path::{Path, PathBuf};

use ballast_source::chart_package;
use ballast_source::oci::OciUrl;

use crate::charts::{MAX_LOCAL_CHART, Origin, Repository, explain, fetch, store};
use crate::state::State;

/// A local chart directory as rendered: itself when `charts/` holds every dependency of its
/// `Chart.yaml` (or a dependency names no repository: the loader then says what is missing),
/// else the chart packaged with the missing ones fetched, as `helm dependency build` would.
pub(crate) fn with_dependencies(st: &State, dir: &Path, repos: &[Repository]) -> Result<PathBuf, String> {
    // Most charts declare no dependency: skip reading the whole chart for them.
    let declares = std::fs::read_to_string(dir.join("Chart.yaml")).map_or(true, |t| t.contains("dependencies"))
        || dir.join("requirements.yaml").exists();
    if !declares {
        return Ok(dir.to_path_buf());
    }
    let missing = chart_package::missing_dependencies(dir).map_err(explain)?;
    if missing.iter().all(|d| d.repository.trim().is_empty()) {
        return Ok(dir.to_path_buf());
    }
    let session = st
        .charts
        .session
        .as_ref()
        .ok_or("the chart has dependencies to fetch, and this run has no chart cache directory")?;
    let mut archives = Vec::new();
    // A dependency without a repository is left to the loader, which names what is missing.
    for dep in missing.iter().filter(|d| !d.repository.trim().is_empty()) {
        let repo = dep.repository.trim();
        let what = |e: String| format!("dependency \"{}\" ({repo}): {e}", dep.name);
        let path = if let Some(rel) = repo.strip_prefix("file://") {
            let target = dir.join(rel);
            chart_package::package_chart_dir(&target, ".", None, MAX_LOCAL_CHART)
                .map(|a| (a.name, a.version, a.bytes))
                .map_err(|e| what(explain(e)))?
        } else {
            let named = repo.strip_prefix('@').or_else(|| repo.strip_prefix("alias:"));
            let origin = match named {
                Some(n) => {
                    let r = repos
                        .iter()
                        .find(|x| x.name == n)
                        .ok_or_else(|| what(format!("no repository named \"{n}\" is in repositories:")))?;
                    if r.oci {
                        Origin::Oci {
                            url: r.url.clone(),
                            repo: Some(r.clone()),
                        }
                    } else {
                        Origin::Http(r.clone())
                    }
                }
                None if repo.starts_with("oci://") => Origin::Oci {
                    url: repo.trim_end_matches('/').to_string(),
                    repo: repos.iter().find(|x| x.oci && same_registry(&x.url, repo)).cloned(),
                },
                None if repo.starts_with("http://") || repo.starts_with("https://") => {
                    // helm uses the settings of a configured repository with the same URL.
                    let known = repos
                        .iter()
                        .find(|x| !x.oci && x.url.trim_end_matches('/') == repo.trim_end_matches('/'));
                    Origin::Http(known.cloned().unwrap_or_else(|| Repository::anonymous(repo)))
                }
                None => {
                    return Err(what(
                        "only file://, http(s)://, oci://, @name and alias:name repositories are supported".into(),
                    ));
                }
            };
            let fetched = fetch(session, &origin, &dep.name, &dep.version, false, false, &st.dir)
                .map_err(|e| what(format!("from {}: {e}", origin.shown())))?;
            let bytes = std::fs::read(&fetched.path).map_err(|e| what(format!("{}: {e}", fetched.path.display())))?;
            let version = fetched.version;
            (dep.name.clone(), version, bytes)
        };
        // Two dependencies on one chart version (an alias) share one archive, as in helm.
        if !archives.iter().any(|(n, v, _)| *n == path.0 && *v == path.1) {
            archives.push(path);
        }
    }
    let packaged = chart_package::package_chart_dir_with_archives(dir, archives, MAX_LOCAL_CHART).map_err(explain)?;
    let hex = packaged.digest.trim_start_matches("sha256:");
    let path = session.cache.join("helmfile-charts").join("built").join(format!(
        "{}-{}.tgz",
        &hex[..hex.len().min(32)],
        packaged.name
    ));
    if !path.is_file() {
        store(&path, &packaged.bytes)?;
    }
    Ok(path)
}

fn same_registry(a: &str, b: &str) -> bool {
    matches!((OciUrl::parse(a), OciUrl::parse(b)), (Ok(x), Ok(y)) if x.registry == y.registry)
}
