//! The GitRepository reconciler: resolve, fetch, record the artifact.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ballast_api::condition::{ConditionStatus, remove_condition, set_condition};
use ballast_api::git_repository::{Artifact, GitRepository, GitRepositoryStatus};
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_core::parse_duration;
use ballast_source::{Auth, FetchOptions, GitRef, GitSource};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::context::Context;
use crate::error::ReconcileError;
use crate::status::{condition, mark_failed, mark_ready};

/// Fields Ballast does not implement yet; setting one is reported on the object.
fn unsupported(repo: &GitRepository) -> Vec<&'static str> {
    let s = &repo.spec;
    let mut out = Vec::new();
    if s.provider.as_deref().is_some_and(|p| p != "generic") {
        out.push("spec.provider");
    }
    if s.proxy_secret_ref.is_some() {
        out.push("spec.proxySecretRef");
    }
    if s.recurse_submodules == Some(true) {
        out.push("spec.recurseSubmodules");
    }
    if s.include.as_ref().is_some_and(|i| !i.is_empty()) {
        out.push("spec.include");
    }
    if s.service_account_name.is_some() {
        out.push("spec.serviceAccountName");
    }
    out
}

/// Reconciles one GitRepository. Guarantees: a failed fetch keeps the previous artifact in status
/// (Kustomizations keep applying the last good revision) and says why in `FetchFailed` and `Ready`;
/// a periodic poll that finds the same revision sends no API request (one `ls-remote`, shared
/// with the sources of the same URL polled at the same time).
pub async fn reconcile(repo: Arc<GitRepository>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ns = repo.namespace().unwrap_or_default();
    let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &ns);
    let interval = crate::schedule::interval(Some(&repo.spec.interval), Duration::from_secs(60));
    if repo.spec.suspend == Some(true) {
        ctx.metrics
            .record("GitRepository", &ns, &repo.name_any(), None, started.elapsed());
        return Ok(Action::await_change());
    }
    let generation = repo.meta().generation;
    let mut status = repo.status.clone().unwrap_or_default();
    // A periodic poll of a Ready source (same generation, no new reconcile request) is not
    // announced: when the remote has not moved either, the poll writes nothing at all.
    let requested = repo.annotations().get(RECONCILE_REQUEST_ANNOTATION);
    let settled = status.observed_generation == generation
        && status.last_handled_reconcile_at.as_ref() == requested
        && ballast_api::condition::find(&status.conditions, "Ready").is_some_and(|c| c.is_true())
        && ballast_api::condition::find(&status.conditions, "Reconciling").is_none();
    // kstatus: Reconciling while working (observedGeneration moves only when done).
    crate::status::mark_reconciling(&mut status.conditions, generation, status.observed_generation);
    if !settled {
        let patch = json!({"status": {"conditions": status.conditions}});
        api.patch_status(&repo.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    status.observed_generation = generation;
    status.last_handled_reconcile_at = repo.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned();
    if repo.spec.git_implementation.is_some() {
        ctx.event(
            &*repo,
            EventType::Warning,
            "DeprecatedField",
            "spec.gitImplementation is deprecated and ignored",
        )
        .await;
    }
    if repo.spec.access_from.is_some() {
        ctx.event(
            &*repo,
            EventType::Warning,
            "DeprecatedField",
            "spec.accessFrom is deprecated and ignored (Flux never enforced it): cross-namespace references to this source are not restricted",
        )
        .await;
    }
    let missing = unsupported(&repo);
    let result = if missing.is_empty() {
        fetch(&repo, &ctx).await
    } else {
        Err(ReconcileError::Invalid(format!(
            "not supported yet: {}",
            missing.join(", ")
        )))
    };
    let action = match result {
        Ok((artifact, verified)) => {
            match verified {
                Some((mode, message)) => {
                    let verified = condition(
                        "SourceVerified",
                        ConditionStatus::True,
                        "Succeeded",
                        &message,
                        generation,
                    );
                    set_condition(&mut status.conditions, verified);
                    status.source_verification_mode = Some(mode);
                }
                None => {
                    remove_condition(&mut status.conditions, "SourceVerified");
                    status.source_verification_mode = None;
                }
            }
            // A new revision, or the same one made of other files (`sparseCheckout` changed).
            let changed = status.artifact.as_ref().map(|a| (&a.revision, &a.digest))
                != Some((&artifact.revision, &artifact.digest));
            let message = format!("stored artifact for revision '{}'", artifact.revision);
            if changed {
                ctx.event(&*repo, EventType::Normal, "NewArtifact", &message).await;
            }
            // Same revision: keep the artifact as it was (its time included), so watchers of this
            // object only hear about new revisions.
            if changed {
                status.artifact = Some(artifact);
            }
            status.observed_ignore = repo.spec.ignore.clone();
            status.observed_sparse_checkout = repo.spec.sparse_checkout.clone().filter(|s| !s.is_empty());
            remove_condition(&mut status.conditions, "FetchFailed");
            set_condition(
                &mut status.conditions,
                condition(
                    "ArtifactInStorage",
                    ConditionStatus::True,
                    "Succeeded",
                    &message,
                    generation,
                ),
            );
            mark_ready(&mut status.conditions, "Succeeded", &message, generation);
            Action::requeue(crate::schedule::jittered(interval))
        }
        Err(e) => {
            let message = e.to_string();
            eprintln!("GitRepository {ns}/{}: {}: {message}", repo.name_any(), e.reason());
            if VERIFY_REASONS.contains(&e.reason()) {
                let failed = condition(
                    "SourceVerified",
                    ConditionStatus::False,
                    e.reason(),
                    &message,
                    generation,
                );
                set_condition(&mut status.conditions, failed);
            } else {
                set_condition(
                    &mut status.conditions,
                    condition("FetchFailed", ConditionStatus::True, e.reason(), &message, generation),
                );
            }
            mark_failed(&mut status.conditions, e.reason(), &message, generation, e.stalled());
            ctx.event(&*repo, EventType::Warning, e.reason(), &message).await;
            Action::requeue(crate::schedule::jittered(interval))
        }
    };
    // Nothing moved (same artifact, same conditions): no write.
    let unchanged = repo.status.as_ref().map(|s| json!(s)) == Some(json!(status));
    if !unchanged {
        patch_status(&api, &repo.name_any(), &status).await?;
    }
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.status);
    ctx.metrics
        .record("GitRepository", &ns, &repo.name_any(), ready, started.elapsed());
    Ok(action)
}

async fn patch_status(
    api: &Api<GitRepository>,
    name: &str,
    status: &GitRepositoryStatus,
) -> Result<(), ReconcileError> {
    let patch = json!({"status": status});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// The source spec of a GitRepository, as Ballast's source crate understands it.
pub fn git_ref(repo: &GitRepository) -> GitRef {
    let r = repo.spec.reference.clone().unwrap_or_default();
    if let Some(c) = r.commit.filter(|c| !c.is_empty()) {
        GitRef::Commit(c)
    } else if let Some(n) = r.name.filter(|n| !n.is_empty()) {
        match (n.strip_prefix("refs/heads/"), n.strip_prefix("refs/tags/")) {
            (Some(b), _) => GitRef::Branch(b.into()),
            (_, Some(t)) => GitRef::Tag(t.into()),
            _ if n.starts_with("refs/") => GitRef::Name(n),
            _ => GitRef::Branch(n),
        }
    } else if let Some(s) = r.semver.filter(|s| !s.is_empty()) {
        GitRef::Semver(s)
    } else if let Some(t) = r.tag.filter(|t| !t.is_empty()) {
        GitRef::Tag(t)
    } else {
        GitRef::Branch(r.branch.filter(|b| !b.is_empty()).unwrap_or_else(|| "master".into()))
    }
}

async fn fetch(repo: &GitRepository, ctx: &Context) -> Result<(Artifact, Option<(String, String)>), ReconcileError> {
    let access = GitAccess::of(ctx);
    let (source, _keys) = source_of(repo, &access, git_ref(repo)).await?;
    let timeout = repo
        .spec
        .timeout
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(ReconcileError::Invalid)?;
    let mut options = fetch_options(&access, timeout.unwrap_or(Duration::from_secs(60)));
    options.sparse = repo.spec.sparse_checkout.clone().unwrap_or_default();
    let (fetch_source, fetch_options) = (source.clone(), options.clone());
    let artifact = tokio::task::spawn_blocking(move || ballast_source::fetch(&fetch_source, &fetch_options))
        .await
        .map_err(|e| ReconcileError::Build(e.to_string()))??;
    // Nothing unverified reaches the status (and so no Kustomization).
    let verified = verify(repo, ctx, &source, &options, &artifact.revision).await?;
    Ok((
        Artifact {
            path: artifact.root.display().to_string(),
            url: format!("file://{}", artifact.root.display()),
            revision: artifact.revision.to_string(),
            digest: Some(artifact.digest),
            last_update_time: crate::status::now(),
            ..Default::default()
        },
        verified,
    ))
}

/// Reasons of a failed `spec.verify`, as Flux reports them in `SourceVerified`.
const VERIFY_REASONS: [&str; 4] = [
    "VerificationError",
    "InvalidCommitSignature",
    "InvalidTagSignature",
    "InvalidGitObject",
];

/// `spec.verify`, as Flux's source-controller checks it: the fetched commit's signature (`HEAD`,
/// the default mode), the annotated tag's (`Tag`: the reference must be a tag or a semver range,
/// the tag must be signed and point to the commit), or both (`TagAndHEAD`), against every
/// OpenPGP public key of the Secret. Returns the mode and Flux's `SourceVerified` message, or
/// `None` without `spec.verify`.
async fn verify(
    repo: &GitRepository,
    ctx: &Context,
    source: &ballast_source::GitSource,
    options: &FetchOptions,
    revision: &ballast_core::Revision,
) -> Result<Option<(String, String)>, ReconcileError> {
    let Some(v) = &repo.spec.verify else {
        return Ok(None);
    };
    let mode = v
        .mode
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "HEAD".into());
    let (tag_mode, head_mode) = match mode.as_str() {
        "HEAD" => (false, true),
        "Tag" => (true, false),
        "TagAndHEAD" => (true, true),
        other => {
            return Err(ReconcileError::Invalid(format!(
                "spec.verify.mode {other:?}: expected HEAD, Tag or TagAndHEAD"
            )));
        }
    };
    let fail = |reason: &'static str, message: String| ReconcileError::Source { reason, message };
    let ns = repo.namespace().unwrap_or_default();
    let name = &v.secret_ref.name;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let secret = secrets.get_opt(name).await?.ok_or_else(|| {
        fail(
            "VerificationError",
            format!("PGP public keys secret error: secrets \"{name}\" not found"),
        )
    })?;
    let rings: Vec<Vec<u8>> = secret.data.unwrap_or_default().into_values().map(|v| v.0).collect();
    let keys =
        ballast_source::signature::TrustedKeys::from_armored(&rings.iter().map(Vec::as_slice).collect::<Vec<_>>())
            .map_err(|e| fail("VerificationError", format!("PGP public keys secret error: {e}")))?;
    let commit = revision.commit.clone();
    let mut lines = Vec::new();
    if tag_mode {
        let tag = match git_ref(repo) {
            GitRef::Tag(t) => t,
            GitRef::Semver(_) => revision.name.trim_start_matches("refs/tags/").to_string(),
            _ => {
                return Err(ReconcileError::Invalid(
                    "cannot verify tag object's signature if a tag reference is not specified".into(),
                ));
            }
        };
        let (s, o, t) = (source.clone(), options.clone(), tag.clone());
        let raw = tokio::task::spawn_blocking(move || ballast_source::tag_object(&s, &o, &t))
            .await
            .map_err(|e| ReconcileError::Build(e.to_string()))??
            .ok_or_else(|| {
                fail(
                    "InvalidGitObject",
                    format!("cannot verify signature of tag '{tag}' since it is not signed"),
                )
            })?;
        let points = String::from_utf8_lossy(&raw).lines().next() == Some(&format!("object {commit}"));
        let key = if points {
            keys.verify_tag(&raw)
        } else {
            Err(format!("the tag does not point to commit {commit}"))
        }
        .map_err(|e| {
            fail(
                "InvalidTagSignature",
                format!("signature verification of tag '{tag}' failed: {e}"),
            )
        })?;
        lines.push(format!("tag '{tag}' with key '{key}'"));
    }
    if head_mode {
        let (s, o, c) = (source.clone(), options.clone(), commit.clone());
        let raw = tokio::task::spawn_blocking(move || ballast_source::commit_object(&s, &o, &c))
            .await
            .map_err(|e| ReconcileError::Build(e.to_string()))??;
        let key = keys.verify_commit(&raw).map_err(|e| {
            fail(
                "InvalidCommitSignature",
                format!("signature verification of commit '{commit}' failed: unable to verify Git commit: {e}"),
            )
        })?;
        lines.push(format!("commit '{commit}' with key '{key}'"));
    }
    let message = format!("verified signature of\n\t- {}", lines.join("\n\t- "));
    Ok(Some((mode, message)))
}

/// What reading a GitRepository's tree needs: a client for its secret, the Git cache, and the
/// controller's limits. Made from a [`Context`], or by a caller without one (the CLI).
#[derive(Clone)]
pub struct GitAccess {
    /// Client to read the repository's secret.
    pub client: kube::Client,
    /// Git cache directory.
    pub cache_dir: PathBuf,
    /// Accept `file://` URLs.
    pub allow_file_sources: bool,
    /// Largest Git tree accepted, in bytes.
    pub max_artifact_size: u64,
}

impl GitAccess {
    /// The controller's settings.
    pub fn of(ctx: &Context) -> Self {
        GitAccess {
            client: ctx.client.clone(),
            cache_dir: ctx.cache_dir.clone(),
            allow_file_sources: ctx.allow_file_sources,
            max_artifact_size: ctx.max_artifact_size,
        }
    }
}

fn fetch_options(access: &GitAccess, timeout: Duration) -> FetchOptions {
    let mut options = FetchOptions::new(access.cache_dir.clone(), timeout);
    options.max_artifact_size = access.max_artifact_size;
    options
}

/// The source crate's view of a GitRepository: its URL, `reference`, the credentials of its
/// secret and `spec.insecure`. A `file://` URL is refused unless the controller was started with
/// `--allow-file-sources` (it would read this machine's files on behalf of whoever may create
/// GitRepositories). The guard keeps SSH key files alive.
pub(crate) async fn source_of(
    repo: &GitRepository,
    ctx: &GitAccess,
    reference: GitRef,
) -> Result<(GitSource, Option<tempfile::TempDir>), ReconcileError> {
    if repo.spec.url.starts_with("file://") && !ctx.allow_file_sources {
        return Err(ReconcileError::Invalid(format!(
            "{}: file:// sources are refused; start the controller with --allow-file-sources to accept them",
            ballast_source::redact_url(&repo.spec.url)
        )));
    }
    let ns = repo.namespace().unwrap_or_default();
    let (auth, keys) = auth(repo, ctx, &ns).await?;
    let source = GitSource {
        url: repo.spec.url.clone(),
        reference,
        auth,
        insecure: repo.spec.insecure == Some(true),
    };
    Ok((source, keys))
}

/// The tree of an exact revision (`<ref>@sha1:<commit>`) of `repo`. The directory is derived
/// from the revision inside this process's cache (keyed by URL and credentials), never read from
/// the object's status: a cached copy made for the same URL and credentials is used as is,
/// anything else is fetched (and so checked with the remote, with the repository's credentials).
pub async fn artifact_root(repo: &GitRepository, revision: &str, ctx: &Context) -> Result<PathBuf, ReconcileError> {
    artifact_root_with(repo, revision, &GitAccess::of(ctx)).await
}

/// [`artifact_root`] with explicit settings.
pub async fn artifact_root_with(
    repo: &GitRepository,
    revision: &str,
    access: &GitAccess,
) -> Result<PathBuf, ReconcileError> {
    let commit = revision.rsplit("sha1:").next().unwrap_or_default().to_string();
    let (source, _keys) = source_of(repo, access, GitRef::Commit(commit.clone())).await?;
    let mut options = fetch_options(access, Duration::from_secs(60));
    options.sparse = repo.spec.sparse_checkout.clone().unwrap_or_default();
    let artifact = tokio::task::spawn_blocking(move || match ballast_source::cached(&source, &options, &commit) {
        Some(root) => Ok(root),
        None => ballast_source::fetch(&source, &options).map(|a| a.root),
    })
    .await
    .map_err(|e| ReconcileError::Build(e.to_string()))??;
    Ok(artifact)
}

/// Credentials from the secret named by `spec.secretRef`. SSH keys are written to a private
/// temporary directory that lives as long as the returned guard.
async fn auth(
    repo: &GitRepository,
    ctx: &GitAccess,
    ns: &str,
) -> Result<(Auth, Option<tempfile::TempDir>), ReconcileError> {
    let Some(secret_ref) = &repo.spec.secret_ref else {
        return Ok((Auth::None, None));
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let secret = secrets
        .get_opt(&secret_ref.name)
        .await?
        .ok_or_else(|| ReconcileError::ArtifactNotReady(format!("secret {ns}/{} not found", secret_ref.name)))?;
    let data = secret.data.unwrap_or_default();
    let text = |k: &str| data.get(k).map(|v| String::from_utf8_lossy(&v.0).into_owned());
    if let Some(identity) = text("identity") {
        let known = text("known_hosts").ok_or_else(|| {
            ReconcileError::Invalid(format!(
                "secret {ns}/{}: `identity` needs `known_hosts`",
                secret_ref.name
            ))
        })?;
        let dir = tempfile::tempdir().map_err(|e| ReconcileError::Build(e.to_string()))?;
        let (key, hosts): (PathBuf, PathBuf) = (dir.path().join("identity"), dir.path().join("known_hosts"));
        write_private(&key, &identity)?;
        write_private(&hosts, &known)?;
        return Ok((
            Auth::Ssh {
                identity: key,
                known_hosts: hosts,
            },
            Some(dir),
        ));
    }
    if let Some(token) = text("bearerToken") {
        return Ok((Auth::Bearer(token), None));
    }
    if let (Some(username), Some(password)) = (text("username"), text("password")) {
        return Ok((Auth::Basic { username, password }, None));
    }
    Err(ReconcileError::Invalid(format!(
        "secret {ns}/{}: expected username and password, bearerToken, or identity and known_hosts",
        secret_ref.name
    )))
}

fn write_private(path: &std::path::Path, text: &str) -> Result<(), ReconcileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut text = text.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .map_err(|e| ReconcileError::Build(format!("{}: {e}", path.display())))
}
