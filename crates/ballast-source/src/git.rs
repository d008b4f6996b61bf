//! Fetching through the `git` command line.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ballast_core::{Artifact, Revision};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::commit_signing::CommitSigner;
use crate::{Auth, FetchOptions, GitRef, GitSource, SemverRange, SourceError, redact_url};

/// Resolves `source.reference` on the remote and returns the artifact of that commit, fetching
/// and checking it out only when the cache does not already hold it. Blocking.
///
/// Guarantees:
/// - the cache is keyed by the URL (without credentials) and a salted digest of the
///   credentials: a caller never gets a copy fetched with someone else's credentials;
/// - every call reaches the remote with the caller's credentials first (`ls-remote`), an exact
///   commit included, so a cached copy is never served to a caller the remote refuses; calls
///   of one process with the same URL and credentials share a listing that started after they
///   asked (never an older one), so many sources of one repository polled at once cost about
///   two `ls-remote`s;
/// - one fetch at a time per cached repository, across processes (an exclusive file lock);
/// - a tree larger than [`FetchOptions::max_artifact_size`] is refused before anything is
///   extracted;
/// - after a new artifact is made, only the [`FetchOptions::keep_artifacts`] most recently used
///   artifacts of that repository are kept (and any used in the last [`ARTIFACT_GRACE`]).
pub fn fetch(source: &GitSource, options: &FetchOptions) -> Result<Artifact, SourceError> {
    let git = Git::cached(source, options)?;
    let (name, commit) = git.resolve()?;
    let revision = Revision {
        name,
        commit: commit.clone(),
    };
    let artifact_dir = git.dir.join("artifacts").join(artifact_name(&commit, &options.sparse)?);
    if let Some(artifact) = serve(&artifact_dir, &revision) {
        return Ok(artifact);
    }
    let _lock = git.lock()?;
    // Another process may have made it while we waited for the lock.
    if let Some(artifact) = serve(&artifact_dir, &revision) {
        return Ok(artifact);
    }
    let repo = git.repository()?;
    git.fetch_commit(&repo, &source.reference, &commit)?;
    let digest = git.checkout(&repo, &revision, &artifact_dir)?;
    git.collect(&commit);
    Ok(Artifact {
        revision,
        root: artifact_dir.join("tree"),
        digest,
    })
}

/// The tree of `commit` if this cache already holds it for exactly this source (same URL, same
/// credentials), without contacting the remote: for a caller that holds a revision this process
/// fetched and verified moments ago (the Kustomization reconciler reading its GitRepository's
/// artifact). The path is derived from the cache key and the commit, never taken from outside.
pub fn cached(source: &GitSource, options: &FetchOptions, commit: &str) -> Option<PathBuf> {
    if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let git = Git::cached(source, options).ok()?;
    let dir = git
        .dir
        .join("artifacts")
        .join(artifact_name(&commit.to_lowercase(), &options.sparse).ok()?);
    let revision = Revision {
        name: String::new(),
        commit: commit.to_lowercase(),
    };
    serve(&dir, &revision).map(|a| a.root)
}

/// The raw commit object `commit` (`git cat-file commit`) from this process's cache of
/// `source`, which [`fetch`] filled: what a signature check reads.
pub fn commit_object(source: &GitSource, options: &FetchOptions, commit: &str) -> Result<Vec<u8>, SourceError> {
    let git = Git::cached(source, options)?;
    let repo = git.repository()?;
    git.run(Some(&repo), &["cat-file", "commit", commit])
}

/// The annotated tag object `tag` (`git cat-file tag`) as the remote has it now, fetched into
/// this process's cache of `source`; `None` for a lightweight tag (a ref straight to a commit).
pub fn tag_object(source: &GitSource, options: &FetchOptions, tag: &str) -> Result<Option<Vec<u8>>, SourceError> {
    let git = Git::cached(source, options)?;
    let _lock = git.lock()?;
    let repo = git.repository()?;
    let kept = format!("refs/ballast/tags/{tag}");
    let spec = format!("+refs/tags/{tag}:{kept}");
    git.run(
        Some(&repo),
        &["fetch", "--quiet", "--no-tags", "--depth=1", git.remote.as_str(), &spec],
    )?;
    let kind = git.run(Some(&repo), &["cat-file", "-t", &kept])?;
    if String::from_utf8_lossy(&kind).trim() != "tag" {
        return Ok(None);
    }
    git.run(Some(&repo), &["cat-file", "tag", &kept]).map(Some)
}

/// The directory name of the artifact of `commit`: the commit for the whole tree, else the
/// commit and a digest of the sparse directories. A directory that is absolute, climbs out
/// (`..`) or is empty is refused.
fn artifact_name(commit: &str, sparse: &[String]) -> Result<String, SourceError> {
    if sparse.is_empty() {
        return Ok(commit.to_string());
    }
    let dirs = sparse_dirs(sparse)?;
    let digest = Sha256::digest(dirs.join("\n").as_bytes());
    Ok(format!("{commit}-sparse-{}", &hex::encode(digest)[..16]))
}

/// The sparse directories, normalized (`./a/b/` is `a/b`), sorted and deduplicated.
fn sparse_dirs(sparse: &[String]) -> Result<Vec<String>, SourceError> {
    let mut dirs = Vec::new();
    for d in sparse {
        let norm = d.trim().trim_start_matches("./").trim_end_matches('/').to_string();
        if norm.is_empty() || norm.starts_with('/') || norm.split('/').any(|p| p == ".." || p == "." || p.is_empty()) {
            return Err(SourceError::Invalid(format!(
                "sparse checkout dir {d:?}: not a relative directory of the repository"
            )));
        }
        dirs.push(norm);
    }
    dirs.sort();
    dirs.dedup();
    Ok(dirs)
}

/// An artifact already in the cache, marked as used now (its `digest` file's modification time
/// is the last use, which [`Git::collect`] reads).
fn serve(artifact_dir: &Path, revision: &Revision) -> Option<Artifact> {
    let digest_file = artifact_dir.join("digest");
    let digest = fs::read_to_string(&digest_file).ok()?;
    let tree = artifact_dir.join("tree");
    if !tree.is_dir() {
        return None;
    }
    if let Ok(f) = fs::File::options().append(true).open(&digest_file) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
    Some(Artifact {
        revision: revision.clone(),
        digest,
        root: tree,
    })
}

/// Artifacts used this recently are never collected, whatever their rank (a render may be
/// reading one).
pub const ARTIFACT_GRACE: Duration = Duration::from_secs(600);

struct Git<'a> {
    source: &'a GitSource,
    options: &'a FetchOptions,
    /// The URL for messages (credentials redacted).
    url: String,
    /// The URL given to git: user-info removed (credentials travel in the environment only).
    remote: String,
    /// The credentials in effect (explicit, or taken from the URL).
    auth: Auth,
    /// This source's cache directory: `<cache>/<key>/{repo,artifacts,lock}` (see
    /// [`Git::cached`]; empty for a write checkout, which uses no cache).
    dir: PathBuf,
    env: Vec<(String, String)>,
    /// The TLS files git reads (removed when the fetch ends).
    _tls: Option<tempfile::TempDir>,
}

/// Writes the TLS settings git reads from files into a private temporary directory (files
/// readable by this user only, removed with it) and names them in `env` (`GIT_SSL_CAINFO`,
/// `GIT_SSL_CERT`, `GIT_SSL_KEY`; `GIT_SSL_NO_VERIFY` when the server is not to be verified:
/// the environment, because git's `http.sslCAInfo` setting is not honoured by every build).
/// `None` when no file is needed.
fn tls_env(tls: &crate::TlsOptions, env: &mut Vec<(String, String)>) -> Result<Option<tempfile::TempDir>, SourceError> {
    if tls.insecure_skip_verify {
        env.push(("GIT_SSL_NO_VERIFY".into(), "1".into()));
    }
    let files = [
        ("GIT_SSL_CAINFO", "ca.pem", &tls.ca_pem),
        ("GIT_SSL_CERT", "client.pem", &tls.client_cert_pem),
        ("GIT_SSL_KEY", "client-key.pem", &tls.client_key_pem),
    ];
    if files.iter().all(|(_, _, pem)| pem.is_none()) {
        return Ok(None);
    }
    let local = |e: std::io::Error| SourceError::Local(format!("TLS files: {e}"));
    let dir = tempfile::Builder::new()
        .prefix("ballast-git-tls-")
        .tempdir()
        .map_err(local)?;
    for (key, name, pem) in files {
        let Some(pem) = pem else { continue };
        let path = dir.path().join(name);
        let mut file = fs::OpenOptions::new();
        file.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        std::io::Write::write_all(&mut file.open(&path).map_err(local)?, pem).map_err(local)?;
        env.push((key.into(), path.display().to_string()));
    }
    Ok(Some(dir))
}

impl<'a> Git<'a> {
    fn new(source: &'a GitSource, options: &'a FetchOptions) -> Result<Self, SourceError> {
        let url = redact_url(&source.url);
        let scheme = source.url.split_once("://").map(|(s, _)| s).unwrap_or("");
        if !matches!(scheme, "file" | "http" | "https" | "ssh") {
            return Err(SourceError::Invalid(format!(
                "{url}: unsupported URL scheme; use file://, http(s):// or ssh://"
            )));
        }
        let (remote, auth) = split_credentials(&source.url, &source.auth);
        if scheme == "http" && matches!(auth, Auth::Basic { .. } | Auth::Bearer(_)) && !source.insecure {
            return Err(SourceError::Invalid(format!(
                "{url}: credentials over plain http:// are refused (they would travel in clear); \
                 use https://, or opt in with `insecure` (GitRepository spec.insecure, ballast --insecure)"
            )));
        }

        let mut env: Vec<(String, String)> = vec![
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            ("GIT_ASKPASS".into(), "/bin/false".into()),
            ("SSH_ASKPASS".into(), "/bin/false".into()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_PROTOCOL".into(), "version=2".into()),
            ("LC_ALL".into(), "C".into()),
        ];
        let mut config: Vec<(&str, String)> = vec![
            ("credential.helper", String::new()),
            ("protocol.file.allow", "always".into()),
        ];
        match &auth {
            Auth::None => {}
            Auth::Basic { username, password } => {
                let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
                config.push(("http.extraHeader", format!("Authorization: Basic {token}")));
            }
            Auth::Bearer(token) => config.push(("http.extraHeader", format!("Authorization: Bearer {token}"))),
            Auth::Ssh { identity, known_hosts } => {
                for (what, p) in [("private key", identity), ("known_hosts", known_hosts)] {
                    if !p.is_file() {
                        return Err(SourceError::Invalid(format!(
                            "{url}: {what} file {} not found",
                            p.display()
                        )));
                    }
                }
                env.push(("GIT_SSH_COMMAND".into(), format!(
                    "ssh -i '{}' -o IdentitiesOnly=yes -o UserKnownHostsFile='{}' -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10",
                    identity.display(), known_hosts.display()
                )));
            }
        }
        let tls = if scheme == "https" {
            tls_env(&options.tls, &mut env)?
        } else {
            None
        };
        if scheme == "ssh" && !matches!(auth, Auth::Ssh { .. }) {
            // Never fall back to the user's own keys or known_hosts: be explicit or fail.
            env.push(("GIT_SSH_COMMAND".into(), "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10".into()));
        }
        env.push(("GIT_CONFIG_COUNT".into(), config.len().to_string()));
        for (i, (k, v)) in config.into_iter().enumerate() {
            env.push((format!("GIT_CONFIG_KEY_{i}"), k.to_string()));
            env.push((format!("GIT_CONFIG_VALUE_{i}"), v));
        }
        Ok(Git {
            source,
            options,
            url,
            remote,
            auth,
            dir: PathBuf::new(),
            env,
            _tls: tls,
        })
    }

    /// A handle on this source's cache directory.
    fn cached(source: &'a GitSource, options: &'a FetchOptions) -> Result<Self, SourceError> {
        let mut git = Git::new(source, options)?;
        git.dir = options
            .cache_dir
            .join(cache_key(&options.cache_dir, &git.remote, &git.auth)?);
        Ok(git)
    }

    /// Runs git, returning stdout; a non-zero exit is classified into a [`SourceError`].
    fn run(&self, dir: Option<&Path>, args: &[&str]) -> Result<Vec<u8>, SourceError> {
        let mut cmd = Command::new("git");
        if let Some(d) = dir {
            cmd.arg("--git-dir").arg(d);
        }
        self.run_cmd(cmd, args)
    }

    /// Runs git in a working tree.
    fn run_in(&self, work: &Path, args: &[&str]) -> Result<Vec<u8>, SourceError> {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(work);
        self.run_cmd(cmd, args)
    }

    fn run_cmd(&self, mut cmd: Command, args: &[&str]) -> Result<Vec<u8>, SourceError> {
        cmd.args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| SourceError::Local(format!("cannot run git: {e} (install git)")))?;
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        let out_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_end(&mut buf);
            }
            buf
        });
        let err_reader = std::thread::spawn(move || {
            let mut buf = String::new();
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_string(&mut buf);
            }
            buf
        });
        let deadline = Instant::now() + self.options.timeout;
        let status = loop {
            if let Some(s) = child.try_wait().map_err(|e| SourceError::Local(e.to_string()))? {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SourceError::Timeout {
                    url: self.url.clone(),
                    timeout: self.options.timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = out_reader.join().unwrap_or_default();
        let stderr = err_reader.join().unwrap_or_default();
        if status.success() {
            return Ok(stdout);
        }
        Err(self.classify(&stderr))
    }

    fn classify(&self, stderr: &str) -> SourceError {
        let message = stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("hint:"))
            .map(|l| l.replace(&self.source.url, &self.url).replace(&self.remote, &self.url))
            .collect::<Vec<_>>()
            .join("; ");
        let url = self.url.clone();
        let has = |s: &str| stderr.contains(s);
        if has("Host key verification failed") || has("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            SourceError::HostKey { url }
        } else if has("Authentication failed")
            || has_status(stderr, "401")
            || has_status(stderr, "403")
            || has("could not read Username")
            || has("Permission denied")
        {
            SourceError::Auth { url, message }
        } else {
            SourceError::Unreachable { url, message }
        }
    }

    /// (ref name, commit) for the requested reference, from one `ls-remote`.
    /// `git ls-remote --symref` of the remote, shared by every caller of this process with the
    /// same cache key (same URL, same credentials): a caller waits for a listing in flight and
    /// takes the first one that *started* after it asked, so a listing is never older than the
    /// call (a push before the call is always seen), while many sources of one repository polled
    /// at once cost about two listings, not one each. Without a cache (a write checkout), each
    /// call lists on its own.
    fn listing(&self) -> Result<Vec<u8>, SourceError> {
        type Slot = std::sync::Arc<std::sync::Mutex<Option<(Instant, std::sync::Arc<Vec<u8>>)>>>;
        static LISTINGS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<PathBuf, Slot>>> =
            std::sync::OnceLock::new();
        let args = ["ls-remote", "--symref", self.remote.as_str()];
        if self.dir.as_os_str().is_empty() {
            return self.run(None, &args);
        }
        let asked = Instant::now();
        let slot = {
            let mut map = LISTINGS
                .get_or_init(Default::default)
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            map.entry(self.dir.clone()).or_default().clone()
        };
        let mut last = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((started, out)) = &*last
            && *started >= asked
        {
            return Ok(out.to_vec());
        }
        let started = Instant::now();
        let out = self.run(None, &args)?;
        *last = Some((started, std::sync::Arc::new(out.clone())));
        Ok(out)
    }

    fn resolve(&self) -> Result<(String, String), SourceError> {
        if let GitRef::Commit(c) = &self.source.reference {
            if c.len() != 40 || !c.chars().all(|ch| ch.is_ascii_hexdigit()) {
                return Err(SourceError::Invalid(format!("commit {c:?}: expected 40 hex digits")));
            }
            // The remote must accept these credentials now, even when the cache holds the commit.
            self.run(None, &["ls-remote", &self.remote, "HEAD"])?;
            return Ok((String::new(), c.to_lowercase()));
        }
        let out = self.listing()?;
        let text = String::from_utf8_lossy(&out);
        let mut refs: BTreeMap<String, String> = BTreeMap::new();
        let mut head_target = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("ref: ") {
                if let Some((target, name)) = rest.split_once('\t')
                    && name == "HEAD"
                {
                    head_target = Some(target.to_string());
                }
                continue;
            }
            if let Some((sha, name)) = line.split_once('\t') {
                refs.insert(name.to_string(), sha.to_string());
            }
        }
        // A peeled annotated tag (`refs/tags/x^{}`) names the commit; prefer it.
        let tag_commit = |t: &str| {
            refs.get(&format!("refs/tags/{t}^{{}}"))
                .or_else(|| refs.get(&format!("refs/tags/{t}")))
                .cloned()
        };
        match &self.source.reference {
            GitRef::Default => {
                let target = head_target.ok_or_else(|| SourceError::Unreachable {
                    url: self.url.clone(),
                    message: "the remote has no default branch (HEAD); name a branch".into(),
                })?;
                let name = target.strip_prefix("refs/heads/").unwrap_or(&target).to_string();
                let sha = refs.get(&target).cloned().ok_or_else(|| SourceError::RefNotFound {
                    url: self.url.clone(),
                    kind: "branch",
                    name: name.clone(),
                })?;
                Ok((name, sha))
            }
            GitRef::Branch(b) => refs
                .get(&format!("refs/heads/{b}"))
                .map(|sha| (b.clone(), sha.clone()))
                .ok_or_else(|| SourceError::RefNotFound {
                    url: self.url.clone(),
                    kind: "branch",
                    name: b.clone(),
                }),
            GitRef::Tag(t) => tag_commit(t)
                .map(|sha| (t.clone(), sha))
                .ok_or_else(|| SourceError::RefNotFound {
                    url: self.url.clone(),
                    kind: "tag",
                    name: t.clone(),
                }),
            GitRef::Semver(range) => {
                let parsed = SemverRange::parse(range).map_err(|message| SourceError::InvalidRange {
                    range: range.clone(),
                    message,
                })?;
                let tags: Vec<&str> = refs
                    .keys()
                    .filter_map(|k| k.strip_prefix("refs/tags/"))
                    .filter(|t| !t.ends_with("^{}"))
                    .collect();
                match parsed.highest(tags.iter().copied()) {
                    Some((tag, _)) => Ok((tag.to_string(), tag_commit(tag).unwrap_or_default())),
                    None => Err(SourceError::NoMatchingTag {
                        url: self.url.clone(),
                        range: range.clone(),
                        tags: if tags.is_empty() {
                            "none".into()
                        } else {
                            tags.iter().take(10).copied().collect::<Vec<_>>().join(", ")
                        },
                    }),
                }
            }
            GitRef::Name(n) => refs
                .get(&format!("{n}^{{}}"))
                .or_else(|| refs.get(n))
                .map(|sha| (n.clone(), sha.clone()))
                .ok_or_else(|| SourceError::RefNotFound {
                    url: self.url.clone(),
                    kind: "reference",
                    name: n.clone(),
                }),
            GitRef::Commit(_) => unreachable!("handled above"),
        }
    }

    /// Takes this source's cache lock (exclusive, across processes), waiting at most the
    /// timeout for another fetch of the same repository to finish. Released when dropped.
    fn lock(&self) -> Result<fs::File, SourceError> {
        let local = |e: std::io::Error| SourceError::Local(format!("{}: {e}", self.dir.display()));
        fs::create_dir_all(&self.dir).map_err(local)?;
        let file = fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join("lock"))
            .map_err(local)?;
        let deadline = Instant::now() + self.options.timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(SourceError::Timeout {
                        url: self.url.clone(),
                        timeout: self.options.timeout,
                    });
                }
                Err(fs::TryLockError::Error(e)) => return Err(local(e)),
            }
        }
    }

    /// Deletes this source's artifacts beyond the `keep_artifacts` most recently used, except
    /// `current`, the base of the next incremental checkout, and any used within
    /// [`ARTIFACT_GRACE`]; and leftovers of interrupted checkouts. Called with the lock held.
    fn collect(&self, current: &str) {
        let artifacts = self.dir.join("artifacts");
        let Ok(entries) = fs::read_dir(&artifacts) else { return };
        let now = std::time::SystemTime::now();
        let mut found: Vec<(std::time::SystemTime, PathBuf, String)> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp-") {
                // Every writer holds the lock: a temporary directory seen now is abandoned.
                let _ = fs::remove_dir_all(entry.path());
                continue;
            }
            let used = fs::metadata(entry.path().join("digest"))
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            found.push((used, entry.path(), name));
        }
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        for (rank, (used, path, name)) in found.into_iter().enumerate() {
            let recent = now.duration_since(used).map(|d| d < ARTIFACT_GRACE).unwrap_or(true);
            if rank < self.options.keep_artifacts.max(1) || recent || name == current {
                continue;
            }
            let _ = fs::remove_dir_all(&path);
        }
    }

    /// The bare cache repository for this source (created on first use).
    fn repository(&self) -> Result<PathBuf, SourceError> {
        let repo = self.dir.join("repo");
        if !repo.join("HEAD").is_file() {
            fs::create_dir_all(&repo).map_err(|e| SourceError::Local(format!("{}: {e}", repo.display())))?;
            self.run(None, &["init", "--bare", "--quiet", &repo.display().to_string()])?;
        }
        Ok(repo)
    }

    fn has_commit(&self, repo: &Path, commit: &str) -> bool {
        self.run(Some(repo), &["cat-file", "-e", &format!("{commit}^{{commit}}")])
            .is_ok()
    }

    fn fetch_commit(&self, repo: &Path, reference: &GitRef, commit: &str) -> Result<(), SourceError> {
        if self.has_commit(repo, commit) {
            return Ok(());
        }
        let url = self.remote.as_str();
        let refspec = match reference {
            GitRef::Branch(b) => Some(format!("+refs/heads/{b}:refs/ballast/fetched")),
            GitRef::Tag(t) => Some(format!("+refs/tags/{t}:refs/ballast/fetched")),
            GitRef::Name(n) => Some(format!("+{n}:refs/ballast/fetched")),
            GitRef::Default | GitRef::Semver(_) | GitRef::Commit(_) => None,
        };
        let first = match refspec {
            Some(spec) => self
                .run(Some(repo), &["fetch", "--quiet", "--no-tags", "--depth=1", url, &spec])
                .map(|_| ()),
            None => self
                .run(Some(repo), &["fetch", "--quiet", "--no-tags", "--depth=1", url, commit])
                .map(|_| ()),
        };
        if first.is_err() || !self.has_commit(repo, commit) {
            // The ref moved between ls-remote and fetch, or the server refuses a bare commit
            // want: fetch everything and look again.
            self.run(
                Some(repo),
                &["fetch", "--quiet", "--no-tags", url, "+refs/*:refs/ballast/all/*"],
            )?;
        }
        if !self.has_commit(repo, commit) {
            return Err(SourceError::CommitNotFound {
                url: self.url.clone(),
                commit: commit.to_string(),
            });
        }
        Ok(())
    }

    /// Writes the commit's tree to `<artifact_dir>/tree` and its digest to `<artifact_dir>/digest`.
    /// A tree over the size limit is refused before anything is written.
    fn checkout(&self, repo: &Path, revision: &Revision, artifact_dir: &Path) -> Result<String, SourceError> {
        let commit = revision.commit.as_str();
        let listing = self.run(Some(repo), &["ls-tree", "-r", "-l", "--full-tree", commit])?;
        let dirs = sparse_dirs(&self.options.sparse)?;
        let listing = if dirs.is_empty() {
            listing
        } else {
            sparse_listing(&listing, &dirs)?
        };
        let (listing, size) = split_sizes(&listing);
        if size > self.options.max_artifact_size {
            return Err(SourceError::TooLarge {
                url: self.url.clone(),
                revision: revision.to_string(),
                size,
                limit: self.options.max_artifact_size,
            });
        }
        let local = |e: std::io::Error| SourceError::Local(format!("{}: {e}", artifact_dir.display()));
        let parent = artifact_dir.parent().unwrap_or(artifact_dir);
        fs::create_dir_all(parent).map_err(local)?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempdir_in(parent)
            .map_err(local)?;
        let tree = tmp.path().join("tree");
        let incremental = match self.base_artifact(repo, commit, parent).filter(|_| dirs.is_empty()) {
            Some((base, base_tree)) => self
                .checkout_incremental(repo, &base, commit, &base_tree, &tree)
                .is_ok(),
            None => false,
        };
        if !incremental {
            if tree.exists() {
                fs::remove_dir_all(&tree).map_err(local)?;
            }
            fs::create_dir_all(&tree).map_err(local)?;
            let paths: Vec<&str> = dirs.iter().map(String::as_str).collect();
            self.extract(repo, commit, &paths, &tree)?;
        }
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&listing)));
        fs::write(tmp.path().join("digest"), &digest).map_err(local)?;
        let tmp_path = tmp.keep();
        if fs::rename(&tmp_path, artifact_dir).is_err() {
            // Another fetch finished the same commit first; theirs is identical.
            let _ = fs::remove_dir_all(&tmp_path);
        }
        // The next commit of this repository starts from this one (a whole tree only).
        if dirs.is_empty() {
            let _ = fs::write(repo.join(LAST_CHECKOUT), commit);
        }
        Ok(digest)
    }

    /// `git archive` of `commit` (only `paths`, when given) extracted into `tree`.
    fn extract(&self, repo: &Path, commit: &str, paths: &[&str], tree: &Path) -> Result<(), SourceError> {
        let local = |e: std::io::Error| SourceError::Local(format!("{}: {e}", tree.display()));
        let mut args = vec!["--literal-pathspecs", "archive", "--format=tar", commit];
        if !paths.is_empty() {
            args.push("--");
            args.extend_from_slice(paths);
        }
        let tar = self.run(Some(repo), &args)?;
        let mut child = Command::new("tar")
            .args(["-x", "-C"])
            .arg(tree)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SourceError::Local(format!("cannot run tar: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            stdin.write_all(&tar).map_err(local)?;
        }
        let out = child.wait_with_output().map_err(local)?;
        if !out.status.success() {
            return Err(SourceError::Local(format!(
                "extracting {commit}: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    /// The artifact of the last commit checked out from this repository, if it is still there.
    fn base_artifact(&self, repo: &Path, commit: &str, artifacts: &Path) -> Option<(String, PathBuf)> {
        let base = fs::read_to_string(repo.join(LAST_CHECKOUT)).ok()?;
        let base = base.trim();
        if base == commit || base.is_empty() || !base.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let dir = artifacts.join(base);
        (dir.join("digest").is_file() && dir.join("tree").is_dir()).then(|| (base.to_string(), dir.join("tree")))
    }

    /// Builds `tree` from the artifact of `base`: unchanged files are hard links to it (artifacts
    /// are never written after they are made), and only the files that differ between the two
    /// commits are removed or extracted. Any surprise (a submodule, an odd path, too many
    /// changes, a file system without hard links) is an error, and the caller extracts the whole
    /// commit instead.
    fn checkout_incremental(
        &self,
        repo: &Path,
        base: &str,
        commit: &str,
        base_tree: &Path,
        tree: &Path,
    ) -> Result<(), SourceError> {
        let raw = self.run(
            Some(repo),
            &["diff-tree", "-r", "-z", "--no-renames", "--raw", base, commit],
        )?;
        let changes = parse_raw_diff(&raw).ok_or_else(|| SourceError::Local("unexpected diff".into()))?;
        if changes.len() > MAX_INCREMENTAL {
            return Err(SourceError::Local("too many changes".into()));
        }
        let local = |e: std::io::Error| SourceError::Local(format!("{}: {e}", tree.display()));
        link_tree(base_tree, tree).map_err(local)?;
        let mut extract = Vec::new();
        for (status, path) in &changes {
            let target = tree.join(path);
            match fs::symlink_metadata(&target) {
                Ok(m) if m.is_dir() => fs::remove_dir_all(&target).map_err(local)?,
                Ok(_) => fs::remove_file(&target).map_err(local)?,
                Err(_) => {}
            }
            if *status == 'D' {
                // Directories left empty disappear, as they would from a fresh checkout.
                let mut dir = target.parent();
                while let Some(d) = dir.filter(|d| *d != tree) {
                    if fs::remove_dir(d).is_err() {
                        break;
                    }
                    dir = d.parent();
                }
            } else {
                extract.push(path.as_str());
            }
        }
        if !extract.is_empty() {
            self.extract(repo, commit, &extract, tree)?;
        }
        Ok(())
    }
}

/// `git ls-tree -r -l` output back in `git ls-tree -r` form (the digest input, unchanged from
/// before sizes were read) and the sum of the blob sizes: the extracted tree's size.
/// The lines of a `git ls-tree -r -l` listing under one of `dirs`; every directory must hold
/// something (as Flux checks), else an error naming it.
fn sparse_listing(long: &[u8], dirs: &[String]) -> Result<Vec<u8>, SourceError> {
    let mut out = Vec::new();
    let mut found = vec![false; dirs.len()];
    for line in long.split_inclusive(|b| *b == b'\n') {
        let path = line.split(|b| *b == b'\t').nth(1).unwrap_or_default();
        let path = path.strip_suffix(b"\n").unwrap_or(path);
        if let Some(i) = dirs
            .iter()
            .position(|d| path.starts_with(d.as_bytes()) && path.get(d.len()) == Some(&b'/'))
        {
            found[i] = true;
            out.extend_from_slice(line);
        }
    }
    if let Some(i) = found.iter().position(|f| !f) {
        return Err(SourceError::Invalid(format!(
            "sparse checkout dir '{}' does not exist in repository",
            dirs[i]
        )));
    }
    Ok(out)
}

fn split_sizes(long: &[u8]) -> (Vec<u8>, u64) {
    let mut plain = Vec::with_capacity(long.len());
    let mut total = 0u64;
    for line in long.split_inclusive(|b| *b == b'\n') {
        let Some(tab) = line.iter().position(|b| *b == b'\t') else {
            plain.extend_from_slice(line);
            continue;
        };
        let (meta, rest) = line.split_at(tab);
        let meta = String::from_utf8_lossy(meta);
        let mut fields = meta.split_whitespace();
        let (mode, kind, object, size) = (fields.next(), fields.next(), fields.next(), fields.next());
        match (mode, kind, object) {
            (Some(mode), Some(kind), Some(object)) => {
                plain.extend_from_slice(format!("{mode} {kind} {object}").as_bytes());
                total = total.saturating_add(size.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0));
            }
            _ => plain.extend_from_slice(meta.as_bytes()),
        }
        plain.extend_from_slice(rest);
    }
    (plain, total)
}

/// `url` without user-info, and the credentials to use: explicit `auth` wins; otherwise
/// user-info in an http(s) URL becomes basic auth (a lone user name is a token), so a
/// credential written in the URL is never passed to git on its command line. An ssh URL keeps
/// its user name (not a secret) and loses any password.
pub(crate) fn split_credentials(url: &str, auth: &Auth) -> (String, Auth) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), auth.clone());
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let Some(at) = authority.rfind('@') else {
        return (url.to_string(), auth.clone());
    };
    let (userinfo, host) = (&authority[..at], &authority[at + 1..]);
    if scheme == "ssh" {
        let user = userinfo.split(':').next().unwrap_or_default();
        return (format!("{scheme}://{user}@{host}{path}"), auth.clone());
    }
    let stripped = format!("{scheme}://{host}{path}");
    if *auth != Auth::None {
        return (stripped, auth.clone());
    }
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let auth = Auth::Basic {
        username: percent_decode(user),
        password: percent_decode(password),
    };
    (stripped, auth)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cache directory name of a source: a digest of the URL (credentials removed) and of the
/// credentials, salted with a random value private to this cache (so the name reveals nothing
/// about a password, even to someone who can list the cache). SSH keys count by content, not by
/// file name.
fn cache_key(cache_dir: &Path, remote: &str, auth: &Auth) -> Result<String, SourceError> {
    let local = |e: std::io::Error| SourceError::Local(format!("{}: {e}", cache_dir.display()));
    let salt = cache_salt(cache_dir).map_err(local)?;
    let mut h = Sha256::new();
    h.update(&salt);
    h.update(remote.as_bytes());
    h.update([0]);
    match auth {
        Auth::None => h.update(b"none"),
        Auth::Basic { username, password } => {
            h.update(b"basic\0");
            h.update(username.as_bytes());
            h.update([0]);
            h.update(password.as_bytes());
        }
        Auth::Bearer(token) => {
            h.update(b"bearer\0");
            h.update(token.as_bytes());
        }
        Auth::Ssh { identity, known_hosts } => {
            h.update(b"ssh\0");
            h.update(fs::read(identity).unwrap_or_default());
            h.update([0]);
            h.update(fs::read(known_hosts).unwrap_or_default());
        }
    }
    Ok(hex::encode(&h.finalize()[..12]))
}

/// 32 random bytes kept in `<cache>/salt` (mode 0600), made on first use.
fn cache_salt(cache_dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = cache_dir.join("salt");
    if let Ok(salt) = fs::read(&path)
        && salt.len() == 32
    {
        return Ok(salt);
    }
    fs::create_dir_all(cache_dir)?;
    let mut salt = vec![0u8; 32];
    fs::File::open("/dev/urandom")?.read_exact(&mut salt)?;
    let tmp = tempfile::NamedTempFile::new_in(cache_dir)?;
    fs::write(tmp.path(), &salt)?;
    // Whoever renames first wins; everyone then reads the same salt.
    match tmp.persist_noclobber(&path) {
        Ok(_) => Ok(salt),
        Err(_) => fs::read(&path),
    }
}

/// Where a bare cache repository remembers its last checked-out commit.
const LAST_CHECKOUT: &str = "ballast-last-checkout";

/// More changed files than this: extract the whole commit rather than patch the previous one.
const MAX_INCREMENTAL: usize = 2000;

/// `git diff-tree -r -z --raw` output as (status, path). `None` for anything but plain files and
/// symlinks added, deleted, modified or changed in type, and for paths that are not plain
/// relative paths.
fn parse_raw_diff(raw: &[u8]) -> Option<Vec<(char, String)>> {
    let mut out = Vec::new();
    let mut fields = raw.split(|b| *b == 0).filter(|f| !f.is_empty());
    while let Some(meta) = fields.next() {
        let meta = std::str::from_utf8(meta).ok()?;
        let path = std::str::from_utf8(fields.next()?).ok()?;
        let mut parts = meta.trim_start_matches(':').split(' ');
        let (old_mode, new_mode) = (parts.next()?, parts.next()?);
        let status = parts.nth(2)?.chars().next()?;
        let plain = |m: &str| matches!(m, "000000" | "100644" | "100755" | "120000");
        if !matches!(status, 'A' | 'D' | 'M' | 'T') || !plain(old_mode) || !plain(new_mode) {
            return None;
        }
        let p = Path::new(path);
        if p.is_absolute() || p.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            return None;
        }
        out.push((status, path.to_string()));
    }
    Some(out)
}

/// Recreates `from` at `to`: directories made, files hard-linked, symlinks copied.
fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, &dest)?;
        } else if kind.is_dir() {
            link_tree(&entry.path(), &dest)?;
        } else {
            fs::hard_link(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// A working copy of one branch, for writing: change files under [`WriteCheckout::path`], then
/// [`WriteCheckout::commit_all`] and [`WriteCheckout::push`]. Credentials are handled as for
/// fetches. Removed when dropped.
pub struct WriteCheckout {
    dir: tempfile::TempDir,
    branch: String,
    push_branch: Option<String>,
    push_refspec: Option<String>,
    push_options: Vec<String>,
    signer: Option<CommitSigner>,
    source: GitSource,
    options: FetchOptions,
}

/// Clones `source`'s branch for writing; a branch (or repository) that does not exist yet
/// starts empty and is created by the first push.
pub fn checkout_for_write(source: &GitSource, options: &FetchOptions) -> Result<WriteCheckout, SourceError> {
    let GitRef::Branch(branch) = &source.reference else {
        return Err(SourceError::Invalid("writing needs a branch".into()));
    };
    let dir = tempfile::Builder::new()
        .prefix("ballast-write-")
        .tempdir()
        .map_err(|e| SourceError::Local(e.to_string()))?;
    let git = Git::new(source, options)?;
    let work = dir.path().display().to_string();
    let exists = git
        .run(None, &["ls-remote", "--heads", &git.remote, branch])
        .map(|out| !out.is_empty())?;
    if exists {
        git.run(
            None,
            &[
                "clone",
                "--quiet",
                "--single-branch",
                "--branch",
                branch,
                &git.remote,
                &work,
            ],
        )?;
    } else {
        git.run(None, &["init", "--quiet", &format!("--initial-branch={branch}"), &work])?;
        git.run_in(dir.path(), &["remote", "add", "origin", &git.remote])?;
    }
    Ok(WriteCheckout {
        dir,
        branch: branch.clone(),
        push_branch: None,
        push_refspec: None,
        push_options: Vec::new(),
        signer: None,
        source: source.clone(),
        options: options.clone(),
    })
}

impl WriteCheckout {
    /// The working tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Makes [`WriteCheckout::push_rebasing`] push to `branch` instead of the checkout branch
    /// (Flux's `git.push.branch`: a branch for review). That branch is then its own remote head
    /// (or the checkout branch when the remote has no such branch yet) plus the new commit,
    /// force-pushed as Flux does: it belongs to the automation.
    pub fn set_push_branch(&mut self, branch: &str) {
        self.push_branch = (branch != self.branch).then(|| branch.to_string());
    }

    /// Makes [`WriteCheckout::push_rebasing`] also push `refspec` (`src:dst`, Flux's
    /// `git.push.refspec`) once the branch is pushed, without force: `src` names a ref of this
    /// checkout (`HEAD`, `refs/heads/<checkout or push branch>`). A deletion (empty `src`), a
    /// forced refspec (`+`) and anything but one `src:dst` pair are refused, as Flux does.
    pub fn set_push_refspec(&mut self, refspec: &str) -> Result<(), SourceError> {
        let invalid = |why: &str| SourceError::Invalid(format!("push refspec {refspec:?}: {why}"));
        if refspec.starts_with('+') {
            return Err(invalid("forced refspecs are not supported"));
        }
        let Some((src, dst)) = refspec.split_once(':') else {
            return Err(invalid("expected <src>:<dst>"));
        };
        if src.is_empty() {
            return Err(invalid("deletion refspecs are not supported"));
        }
        let bad = |r: &str| {
            r.is_empty()
                || r.contains(':')
                || r.starts_with('-')
                || r.chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "~^?*[\\".contains(c))
                || r.contains("..")
        };
        if bad(src) || bad(dst) {
            return Err(invalid("not a valid reference pair"));
        }
        self.push_refspec = Some(refspec.to_string());
        Ok(())
    }

    /// Push options sent with every push (`git push -o key=value`, or `-o key` for an empty
    /// value; Flux's `git.push.options`). The server must accept push options.
    pub fn set_push_options(&mut self, options: &BTreeMap<String, String>) {
        self.push_options = options
            .iter()
            .map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") })
            .collect();
    }

    /// Signs every commit made from now on with `signer` (a `gpgsig` header, as `git commit -S`
    /// writes it).
    pub fn set_signer(&mut self, signer: CommitSigner) {
        self.signer = Some(signer);
    }

    /// True when the remote has `branch`.
    fn remote_has_branch(&self, git: &Git, branch: &str) -> Result<bool, SourceError> {
        let head = format!("refs/heads/{branch}");
        let out = git.run_in(self.path(), &["ls-remote", "--heads", "origin", &head])?;
        Ok(!out.is_empty())
    }

    /// Fetches the remote's `branch` and makes the work tree exactly its head (local edits and
    /// untracked files dropped).
    fn reset_to_remote(&self, git: &Git, branch: &str) -> Result<(), SourceError> {
        let head = format!("refs/heads/{branch}");
        git.run_in(self.path(), &["fetch", "--quiet", "origin", &head])?;
        git.run_in(self.path(), &["reset", "--quiet", "--hard", "FETCH_HEAD"])?;
        git.run_in(self.path(), &["clean", "--quiet", "-fdx"])?;
        Ok(())
    }

    /// `git push` arguments before the refspec: the push options.
    fn push_args(&self) -> Vec<&str> {
        self.push_options.iter().flat_map(|o| ["-o", o.as_str()]).collect()
    }

    /// Rewrites `HEAD` as the same commit signed by the signer (the work tree is unchanged).
    fn sign_head(&self, git: &Git<'_>, signer: &CommitSigner) -> Result<String, SourceError> {
        let raw = git.run_in(self.path(), &["cat-file", "commit", "HEAD"])?;
        let signed = signer
            .sign_commit(&raw)
            .map_err(|e| SourceError::Invalid(e.to_string()))?;
        let file = tempfile::NamedTempFile::new().map_err(|e| SourceError::Local(e.to_string()))?;
        fs::write(file.path(), &signed).map_err(|e| SourceError::Local(e.to_string()))?;
        let path = file.path().display().to_string();
        let new = git.run_in(self.path(), &["hash-object", "-t", "commit", "-w", &path])?;
        let new = String::from_utf8_lossy(&new).trim().to_string();
        let old = git.run_in(self.path(), &["rev-parse", "HEAD"])?;
        let old = String::from_utf8_lossy(&old).trim().to_string();
        git.run_in(self.path(), &["update-ref", "-m", "sign", "HEAD", &new, &old])?;
        Ok(new)
    }

    /// Commits every change; returns the new commit, or `None` when nothing changed.
    pub fn commit_all(
        &self,
        message: &str,
        author_name: &str,
        author_email: &str,
    ) -> Result<Option<String>, SourceError> {
        let git = Git::new(&self.source, &self.options)?;
        git.run_in(self.path(), &["add", "--all"])?;
        let status = git.run_in(self.path(), &["status", "--porcelain"])?;
        if status.is_empty() {
            return Ok(None);
        }
        let name = format!("user.name={author_name}");
        let email = format!("user.email={author_email}");
        git.run_in(
            self.path(),
            &[
                "-c",
                &name,
                "-c",
                &email,
                "commit",
                "--quiet",
                "--no-verify",
                "-m",
                message,
            ],
        )?;
        if let Some(signer) = &self.signer {
            return self.sign_head(&git, signer).map(Some);
        }
        let head = git.run_in(self.path(), &["rev-parse", "HEAD"])?;
        Ok(Some(String::from_utf8_lossy(&head).trim().to_string()))
    }

    /// Pushes the branch to the remote (fast-forward only: a concurrent change is an error, never
    /// overwritten).
    pub fn push(&self) -> Result<(), SourceError> {
        let git = Git::new(&self.source, &self.options)?;
        let spec = format!("HEAD:refs/heads/{}", self.branch);
        git.run_in(self.path(), &["push", "--quiet", "origin", &spec])
            .map(|_| ())
    }

    /// Commits the edit `apply` makes to the work tree and pushes it to the checkout branch, so
    /// that no commit is ever lost: the push is fast-forward only, and when the remote refuses
    /// it because the branch moved (non-fast-forward), the new head is fetched, the work tree
    /// reset to it, `apply` run again on it (the edit is redone, not replayed as a patch, so it
    /// never conflicts) and the push retried — at most `attempts` times in all.
    ///
    /// `apply` is called once per attempt, on a clean work tree at the branch head; the message
    /// is computed from its result by `message`. With [`WriteCheckout::set_push_branch`] the
    /// commit goes to that branch instead (force-pushed, so never refused), and the edit is made
    /// on that branch's remote head when it exists (as Flux does), so an update already pushed
    /// there is not committed again. Every push carries
    /// the [`WriteCheckout::set_push_options`]; once the commit is pushed, the
    /// [`WriteCheckout::set_push_refspec`] is pushed too (once, never forced). Commits are
    /// signed when [`WriteCheckout::set_signer`] was called. The retry rule is
    /// [`push_retrying`]'s. Returns what was pushed, or [`Pushed::Nothing`] when `apply` left
    /// nothing to commit (nothing is pushed then). Other errors (authentication, an
    /// unreachable remote, a refused refspec) are returned at once, without a retry.
    pub fn push_rebasing<T, E>(
        &self,
        attempts: usize,
        author: (&str, &str),
        mut apply: impl FnMut(&Path) -> Result<T, E>,
        message: impl Fn(&T) -> Result<String, E>,
    ) -> Result<Pushed<T>, RebaseError<E>> {
        let git = Git::new(&self.source, &self.options)?;
        let target = self.push_branch.as_deref().unwrap_or(&self.branch);
        let spec = format!("HEAD:refs/heads/{target}");
        // Not `--quiet`: git then keeps the `[rejected] (fetch first)` line a retry needs.
        let force = if self.push_branch.is_some() {
            "--force"
        } else {
            "--no-force"
        };
        let mut push = vec!["push", force];
        push.extend(self.push_args());
        push.extend(["origin", spec.as_str()]);
        // As Flux does, work on the push branch when the remote has it: a later run then finds
        // its update already there and pushes nothing, instead of committing it again on top of
        // the checkout branch (a new commit that a non-forced refspec push would be refused).
        let base = match &self.push_branch {
            Some(branch) if self.remote_has_branch(&git, branch)? => branch.as_str(),
            _ => self.branch.as_str(),
        };
        if base != self.branch {
            self.reset_to_remote(&git, base)?;
        }
        let outcome = push_retrying(attempts, |attempt| {
            let mut run = || -> Result<PushAttempt<Pushed<T>, RebaseError<E>>, RebaseError<E>> {
                if attempt > 0 {
                    self.reset_to_remote(&git, base)?;
                }
                let edit = apply(self.path()).map_err(RebaseError::Edit)?;
                let text = message(&edit).map_err(RebaseError::Edit)?;
                let Some(commit) = self.commit_all(&text, author.0, author.1)? else {
                    return Ok(PushAttempt::Pushed(Pushed::Nothing));
                };
                Ok(match git.run_in(self.path(), &push) {
                    Ok(_) => PushAttempt::Pushed(Pushed::Commit {
                        commit,
                        edit,
                        attempts: attempt + 1,
                    }),
                    Err(SourceError::Unreachable { message, .. } | SourceError::Auth { message, .. })
                        if is_push_rejected(&message) =>
                    {
                        PushAttempt::Rejected(message)
                    }
                    Err(e) => PushAttempt::Failed(e.into()),
                })
            };
            run().unwrap_or_else(PushAttempt::Failed)
        });
        let pushed = match outcome {
            Ok((pushed, _)) => pushed,
            Err(PushRetryError::Failed(e)) => return Err(e),
            Err(PushRetryError::Retries { attempts, message }) => {
                return Err(RebaseError::Retries { attempts, message });
            }
        };
        if let (Pushed::Commit { .. }, Some(refspec)) = (&pushed, &self.push_refspec) {
            if let Some(branch) = &self.push_branch {
                // As in Flux's checkout, the push branch is a local branch holding the commit.
                git.run_in(self.path(), &["branch", "--force", "--quiet", branch, "HEAD"])?;
            }
            let mut push = vec!["push", "--quiet", "--no-force"];
            push.extend(self.push_args());
            push.extend(["origin", "--", refspec.as_str()]);
            git.run_in(self.path(), &push)?;
        }
        Ok(pushed)
    }
}

/// What one attempt of [`push_retrying`] came to.
#[derive(Debug)]
pub enum PushAttempt<T, E> {
    /// Done (pushed, or nothing to push).
    Pushed(T),
    /// The remote refused the push because the branch moved (git's message): retry.
    Rejected(String),
    /// Any other failure: no retry.
    Failed(E),
}

/// Why [`push_retrying`] gave up.
#[derive(Debug)]
pub enum PushRetryError<E> {
    /// An attempt failed for another reason than a moved branch.
    Failed(E),
    /// Every attempt was refused because the branch kept moving.
    Retries {
        /// Attempts made.
        attempts: usize,
        /// Git's last refusal.
        message: String,
    },
}

/// The one retry rule of every push that must not lose a commit: runs `attempt(0)`,
/// `attempt(1)`, ... until one pushes or fails for a reason other than a moved branch, at most
/// `attempts` times (at least once). `attempt(n)` with `n > 0` first catches up with the
/// branch that moved (fetch, then rebase or redo the edit) and never forces. Returns the
/// result and the attempts made.
pub fn push_retrying<T, E>(
    attempts: usize,
    mut attempt: impl FnMut(usize) -> PushAttempt<T, E>,
) -> Result<(T, usize), PushRetryError<E>> {
    let attempts = attempts.max(1);
    let mut last = String::new();
    for n in 0..attempts {
        match attempt(n) {
            PushAttempt::Pushed(t) => return Ok((t, n + 1)),
            PushAttempt::Rejected(message) => last = message,
            PushAttempt::Failed(e) => return Err(PushRetryError::Failed(e)),
        }
    }
    Err(PushRetryError::Retries {
        attempts,
        message: last,
    })
}

/// True when `text` holds the HTTP status `code` as a word of its own (not inside a commit hash
/// such as `c401b23...`, which a refused push prints).
fn has_status(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// A push refused because the remote branch moved (`git push` says `[rejected]`, `fetch first`
/// or `non-fast-forward`; or, when it moved while the push was received, `cannot lock ref` /
/// `failed to update ref`).
pub fn is_push_rejected(message: &str) -> bool {
    [
        "[rejected]",
        "non-fast-forward",
        "fetch first",
        "stale info",
        "failed to update ref",
        "cannot lock ref",
    ]
    .iter()
    .any(|s| message.contains(s))
}

/// What [`WriteCheckout::push_rebasing`] did.
#[derive(Debug)]
pub enum Pushed<T> {
    /// The edit left the tree as it was: no commit, no push.
    Nothing,
    /// A commit was pushed.
    Commit {
        /// The commit pushed.
        commit: String,
        /// What the last run of the edit returned.
        edit: T,
        /// Pushes tried (1 when the branch did not move meanwhile).
        attempts: usize,
    },
}

/// Why [`WriteCheckout::push_rebasing`] pushed nothing.
#[derive(Debug, thiserror::Error)]
pub enum RebaseError<E> {
    /// A Git operation failed.
    #[error("{0}")]
    Git(#[from] SourceError),
    /// The edit (or the message) failed.
    #[error("{0}")]
    Edit(E),
    /// The branch kept moving: every attempt was refused as non-fast-forward.
    #[error("push refused {attempts} times: the branch kept moving ({message})")]
    Retries {
        /// Attempts made.
        attempts: usize,
        /// Git's last refusal.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A bare remote with `main` holding `app.yaml`, and a checkout of it for writing.
    /// Pushes `image: app:<tag>` in `app.yaml` with `message`, as the automation's bot.
    fn push_image(checkout: &WriteCheckout, tag: &str, message: &str) -> Pushed<()> {
        checkout
            .push_rebasing(
                3,
                ("bot", "bot@example.invalid"),
                |dir| fs::write(dir.join("app.yaml"), format!("image: app:{tag}\n")),
                |_| Ok::<_, std::io::Error>(message.to_string()),
            )
            .unwrap()
    }

    fn remote_and_checkout() -> (tempfile::TempDir, GitSource, FetchOptions) {
        let tmp = tempfile::tempdir().unwrap();
        let remote = tmp.path().join("remote.git");
        let seed = tmp.path().join("seed");
        fs::create_dir_all(&seed).unwrap();
        sh(
            tmp.path(),
            &[
                "init",
                "--quiet",
                "--bare",
                "--initial-branch=main",
                remote.to_str().unwrap(),
            ],
        );
        sh(&seed, &["init", "--quiet", "--initial-branch=main"]);
        fs::write(seed.join("app.yaml"), "image: app:1.0.0\n").unwrap();
        sh(&seed, &["add", "."]);
        sh(&seed, &["commit", "--quiet", "-m", "seed"]);
        sh(&seed, &["push", "--quiet", remote.to_str().unwrap(), "main"]);
        let source = GitSource {
            url: format!("file://{}", remote.display()),
            reference: GitRef::Branch("main".into()),
            auth: Auth::None,
            insecure: false,
        };
        let options = FetchOptions::new(tmp.path().join("cache"), Duration::from_secs(30));
        (tmp, source, options)
    }

    #[test]
    fn push_rebasing_redoes_the_edit_on_a_branch_that_moved_and_loses_no_commit() {
        let (tmp, source, options) = remote_and_checkout();
        let checkout = checkout_for_write(&source, &options).unwrap();
        // Someone else pushes between our checkout and our push.
        let other = checkout_for_write(&source, &options).unwrap();
        fs::write(other.path().join("other.yaml"), "x: 1\n").unwrap();
        other.commit_all("theirs", "o", "o@example.invalid").unwrap();
        other.push().unwrap();
        let mut runs = 0;
        let pushed = checkout
            .push_rebasing(
                3,
                ("bot", "bot@example.invalid"),
                |dir| {
                    runs += 1;
                    fs::write(dir.join("app.yaml"), "image: app:2.0.0\n").map(|_| runs)
                },
                |runs| Ok::<_, std::io::Error>(format!("update (run {runs})")),
            )
            .unwrap();
        let Pushed::Commit { commit, attempts, edit } = pushed else {
            panic!("nothing pushed")
        };
        assert_eq!((attempts, edit), (2, 2), "refused once, redone on the new head");
        let remote = tmp.path().join("remote.git");
        let log = sh(&remote, &["log", "--format=%s", "main"]);
        assert_eq!(log.lines().collect::<Vec<_>>(), ["update (run 2)", "theirs", "seed"]);
        assert_eq!(sh(&remote, &["rev-parse", "main"]), commit);
        // Nothing left to change: no commit, no push.
        let again = checkout_for_write(&source, &options).unwrap();
        let pushed = push_image(&again, "2.0.0", "m");
        assert!(matches!(pushed, Pushed::Nothing));
        assert_eq!(sh(&remote, &["rev-parse", "main"]), commit);
    }

    #[test]
    fn push_rebasing_to_a_review_branch_leaves_the_checkout_branch_alone() {
        let (tmp, source, options) = remote_and_checkout();
        let remote = tmp.path().join("remote.git");
        let main = sh(&remote, &["rev-parse", "main"]);
        let mut checkout = checkout_for_write(&source, &options).unwrap();
        checkout.set_push_branch("image-updates");
        let pushed = push_image(&checkout, "3.0.0", "review me");
        assert!(matches!(pushed, Pushed::Commit { .. }));
        assert_eq!(sh(&remote, &["rev-parse", "main"]), main);
        assert_eq!(sh(&remote, &["log", "--format=%s", "-1", "image-updates"]), "review me");
        assert_eq!(sh(&remote, &["rev-parse", "image-updates^"]), main);
    }

    #[test]
    fn a_second_run_to_a_push_branch_builds_on_it_and_pushes_nothing_already_there() {
        let (tmp, source, options) = remote_and_checkout();
        let remote = tmp.path().join("remote.git");
        let run = |tag: &str| {
            let mut checkout = checkout_for_write(&source, &options).unwrap();
            checkout.set_push_branch("auto");
            checkout.set_push_refspec("auto:refs/heads/review/auto").unwrap();
            push_image(&checkout, tag, &format!("to {tag}"))
        };
        assert!(matches!(run("2.0.0"), Pushed::Commit { .. }));
        let first = sh(&remote, &["rev-parse", "auto"]);
        assert_eq!(sh(&remote, &["rev-parse", "review/auto"]), first);
        // The same update again: already on the push branch, so no new commit and no push
        // (starting again from `main` would commit it anew and the refspec push be refused).
        assert!(matches!(run("2.0.0"), Pushed::Nothing));
        assert_eq!(sh(&remote, &["rev-parse", "auto"]), first);
        // A new update goes on top of the push branch, and the refspec fast-forwards.
        assert!(matches!(run("2.1.0"), Pushed::Commit { .. }));
        assert_eq!(sh(&remote, &["rev-parse", "auto^"]), first);
        assert_eq!(
            sh(&remote, &["rev-parse", "review/auto"]),
            sh(&remote, &["rev-parse", "auto"])
        );
        let log = sh(&remote, &["log", "--format=%s", "auto"]);
        assert_eq!(log.lines().collect::<Vec<_>>(), ["to 2.1.0", "to 2.0.0", "seed"]);
    }

    #[test]
    fn signed_commits_pass_git_verify_commit_and_bad_keys_are_refused() {
        use crate::commit_signing::CommitSigner;
        let gpg = ballast_testenv::gpg::GpgHome::generate("Bot <bot@example.invalid>", "s3cret phrase");
        let key = gpg.secret_key.as_bytes();
        assert!(
            CommitSigner::from_armored(key, None)
                .unwrap_err()
                .to_string()
                .contains("passphrase")
        );
        let wrong = CommitSigner::from_armored(key, Some(b"nope")).unwrap_err().to_string();
        assert!(wrong.contains("unlock") && !wrong.contains("nope"), "{wrong}");
        assert!(CommitSigner::from_armored(b"not a key", None).is_err());
        // Like Go's ReadArmoredKeyRing, only the first armored block is read.
        let twice = format!("{}{}", gpg.secret_key, gpg.secret_key);
        let first = CommitSigner::from_armored(twice.as_bytes(), Some(b"s3cret phrase")).unwrap();
        assert_eq!(first.fingerprint().to_uppercase(), gpg.fingerprint);
        let signer = CommitSigner::from_armored(key, Some(b"s3cret phrase")).unwrap();
        assert_eq!(signer.fingerprint().to_uppercase(), gpg.fingerprint);

        let (tmp, source, options) = remote_and_checkout();
        let remote = tmp.path().join("remote.git");
        let mut checkout = checkout_for_write(&source, &options).unwrap();
        checkout.set_signer(signer);
        let pushed = push_image(&checkout, "4.0.0", "signed update\n\nwith a body");
        let Pushed::Commit { commit, .. } = pushed else {
            panic!("nothing pushed")
        };
        assert_eq!(sh(&remote, &["rev-parse", "main"]), commit);
        let status = gpg.verify_commit(&remote, &commit).unwrap();
        assert!(status.contains("GOODSIG") && status.contains("VALIDSIG"), "{status}");
        assert!(status.contains(&gpg.fingerprint), "{status}");
        assert_eq!(
            sh(&remote, &["log", "--format=%an|%B", "-1", "main"]),
            "bot|signed update\n\nwith a body"
        );
        // An unsigned commit is refused by the same check.
        let parent = sh(&remote, &["rev-parse", "main^"]);
        assert!(gpg.verify_commit(&remote, &parent).is_err());
    }

    #[test]
    fn push_refspec_and_push_options_follow_flux() {
        let (tmp, source, options) = remote_and_checkout();
        let remote = tmp.path().join("remote.git");
        sh(&remote, &["config", "receive.advertisePushOptions", "true"]);
        let hook = remote.join("hooks/pre-receive");
        let seen = tmp.path().join("push-options");
        fs::write(
            &hook,
            format!(
                "#!/bin/sh\ni=0\nwhile [ $i -lt \"${{GIT_PUSH_OPTION_COUNT:-0}}\" ]; do eval \"echo \\$GIT_PUSH_OPTION_$i\" >> '{}'; i=$((i+1)); done\n",
                seen.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let mut checkout = checkout_for_write(&source, &options).unwrap();
        for bad in [
            "+refs/heads/main:refs/heads/x",
            ":refs/heads/x",
            "refs/heads/main",
            "a:b c",
            "-x:y",
        ] {
            assert!(checkout.set_push_refspec(bad).is_err(), "{bad}");
        }
        checkout.set_push_branch("auto");
        checkout
            .set_push_refspec("refs/heads/auto:refs/heads/for-review")
            .unwrap();
        checkout.set_push_options(&BTreeMap::from([
            ("merge_request.create".to_string(), String::new()),
            ("merge_request.target".to_string(), "release".to_string()),
        ]));
        let main = sh(&remote, &["rev-parse", "main"]);
        let pushed = push_image(&checkout, "5.0.0", "update");
        let Pushed::Commit { commit, .. } = pushed else {
            panic!("nothing pushed")
        };
        assert_eq!(sh(&remote, &["rev-parse", "main"]), main, "the checkout branch moved");
        assert_eq!(sh(&remote, &["rev-parse", "auto"]), commit);
        assert_eq!(sh(&remote, &["rev-parse", "for-review"]), commit);
        // Both pushes (branch, then refspec) carried the options.
        assert_eq!(
            fs::read_to_string(&seen).unwrap(),
            "merge_request.create\nmerge_request.target=release\n".repeat(2)
        );
    }

    #[test]
    fn http_statuses_are_words_not_parts_of_a_hash() {
        assert!(has_status("The requested URL returned error: 401", "401"));
        assert!(has_status("error: 403\n", "403"));
        assert!(!has_status(
            "cannot lock ref: is at c401b23a but expected f489f5",
            "401"
        ));
        assert!(!has_status("commit 4031", "403"));
    }

    #[test]
    fn credentials_in_a_url_become_a_header_never_an_argument() {
        let (url, auth) = split_credentials("https://git:p%40ss@example.invalid/r.git", &Auth::None);
        assert_eq!(url, "https://example.invalid/r.git");
        assert_eq!(
            auth,
            Auth::Basic {
                username: "git".into(),
                password: "p@ss".into()
            }
        );
        let (url, auth) = split_credentials("https://TOKEN@example.invalid/r.git", &Auth::None);
        assert_eq!(url, "https://example.invalid/r.git");
        assert_eq!(
            auth,
            Auth::Basic {
                username: "TOKEN".into(),
                password: String::new()
            }
        );
        // Explicit credentials win; the URL's are dropped all the same.
        let (url, auth) = split_credentials("http://u:p@example.invalid/r.git", &Auth::Bearer("t".into()));
        assert_eq!(url, "http://example.invalid/r.git");
        assert_eq!(auth, Auth::Bearer("t".into()));
        // ssh keeps its user name, never a password.
        let (url, _) = split_credentials("ssh://git:pw@example.invalid/r.git", &Auth::None);
        assert_eq!(url, "ssh://git@example.invalid/r.git");
        let (url, auth) = split_credentials("file:///tmp/a@b", &Auth::None);
        assert_eq!((url.as_str(), auth), ("file:///tmp/a@b", Auth::None));
    }

    #[test]
    fn basic_or_bearer_over_plain_http_needs_insecure() {
        let tmp = tempfile::tempdir().unwrap();
        let options = FetchOptions::new(tmp.path().to_path_buf(), Duration::from_secs(5));
        let mut source = GitSource {
            url: "http://user:secret@127.0.0.1:1/r.git".into(),
            reference: GitRef::Default,
            auth: Auth::None,
            insecure: false,
        };
        let e = Git::new(&source, &options).err().expect("refused").to_string();
        assert!(e.contains("plain http://") && e.contains("insecure"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        source.insecure = true;
        assert!(Git::new(&source, &options).is_ok());
        source.url = "http://127.0.0.1:1/r.git".into();
        source.insecure = false;
        assert!(Git::new(&source, &options).is_ok(), "no credentials, no refusal");
        source.url = "https://127.0.0.1:1/r.git".into();
        source.auth = Auth::Bearer("t".into());
        assert!(Git::new(&source, &options).is_ok());
    }

    #[test]
    fn tree_size_is_read_from_the_long_listing_and_the_digest_input_is_unchanged() {
        let long = b"100644 blob aaaa     120\ta.yaml\n040000 tree bbbb       -\tdir\n160000 commit cccc       -\tsub\n100755 blob dddd  3000\tx/run.sh\n";
        let (plain, size) = split_sizes(long);
        assert_eq!(size, 3120);
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            "100644 blob aaaa\ta.yaml\n040000 tree bbbb\tdir\n160000 commit cccc\tsub\n100755 blob dddd\tx/run.sh\n"
        );
    }

    #[test]
    fn cache_keys_differ_by_credentials_and_hide_them() {
        let tmp = tempfile::tempdir().unwrap();
        let url = "https://example.invalid/r.git";
        let a = cache_key(tmp.path(), url, &Auth::None).unwrap();
        let b = cache_key(
            tmp.path(),
            url,
            &Auth::Basic {
                username: "u".into(),
                password: "p".into(),
            },
        )
        .unwrap();
        let c = cache_key(tmp.path(), url, &Auth::Bearer("p".into())).unwrap();
        assert!(a != b && b != c && a != c);
        assert_eq!(a, cache_key(tmp.path(), url, &Auth::None).unwrap(), "stable");
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            a,
            cache_key(other.path(), url, &Auth::None).unwrap(),
            "salted per cache"
        );
    }
}
