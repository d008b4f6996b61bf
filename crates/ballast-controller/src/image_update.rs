//! The ImageUpdateAutomation reconciler: write the images the selected ImagePolicies chose into
//! the files of a Git repository, commit and push.
//!
//! Guarantees:
//! - runs every `interval`, on spec and annotation changes, and when an ImagePolicy of its
//!   namespace chooses a new image;
//! - the work tree is a fresh clone of the checkout branch (`git.checkout.ref.branch`, else the
//!   GitRepository's branch) with the GitRepository's credentials; only files under
//!   `update.path` are read, the path is confined to the work tree (`..` and absolute paths are
//!   refused), symbolic links are never followed (nor written through), and only YAML files
//!   holding the literal `"$imagepolicy"` are parsed; a file is written only when a value
//!   changed, and only the marked values' bytes change (`ballast-image`'s setters);
//! - only policies of the automation's namespace that `policySelector` selects (default: all)
//!   and that have chosen an image apply;
//! - nothing changed: no commit, no push, `Ready=True` "repository up-to-date". Otherwise one
//!   commit by `git.commit.author` with the `messageTemplate` (Go template with sprig; data
//!   `.AutomationObject`, `.Changed.FileChanges`, `.Changed.Objects`, `.Changed.Changes`,
//!   `.Values`; default "Update from image update automation"), pushed to `git.push.branch` or
//!   the checkout branch by [`ballast_source::WriteCheckout::push_rebasing`]: a branch that
//!   moved meanwhile is fetched, the setters run again on its new head, and the push retried
//!   (at most [`PUSH_ATTEMPTS`] times) — a concurrent commit is never overwritten;
//! - with `git.commit.signingKey`, the Secret's `git.asc` OpenPGP key (unlocked with its
//!   `passphrase`) signs every commit; a missing or unusable key fails the run before anything
//!   is cloned, naming the Secret, never showing the key or the passphrase;
//! - `git.push.options` go with every push; `git.push.refspec` is pushed once the branch is,
//!   never forced (a forced or deleting refspec is refused);
//! - status: `lastAutomationRunTime` every run, `lastPushCommit`/`lastPushTime` only on a push,
//!   `observedPolicies`, `observedSourceRevision`; failures with Flux's reasons
//!   (`GitOperationFailed`, `UpdateFailed`, `InvalidSourceConfiguration`,
//!   `InvalidPolicySelector`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ballast_api::GitRepository;
use ballast_api::image::{ImagePolicy, ImageRef, ImageUpdateAutomation, ImageUpdateAutomationStatus};
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_source::commit_signing::CommitSigner;
use ballast_source::{FetchOptions, GitRef, Pushed, RebaseError};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::{ObjectRef as KubeRef, Store};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::context::Context;
use crate::error::ReconcileError;
pub use crate::image_message::{Changed, DEFAULT_MESSAGE, commit_message};
use crate::status::{mark_failed, mark_ready};

/// Pushes tried before giving up on a branch that keeps moving.
pub const PUSH_ATTEMPTS: usize = 5;
/// Files and directories visited at most under `update.path`.
pub const MAX_ENTRIES: usize = 100_000;
/// Largest file read for markers.
pub const MAX_FILE_SIZE: u64 = 4 << 20;

const INVALID_SOURCE: &str = "InvalidSourceConfiguration";
const INVALID_SELECTOR: &str = "InvalidPolicySelector";
const UPDATE_FAILED: &str = "UpdateFailed";
const GIT_FAILED: &str = "GitOperationFailed";

fn failure(reason: &'static str, message: impl Into<String>) -> ReconcileError {
    ReconcileError::Source {
        reason,
        message: message.into(),
    }
}

/// Runs the setters over `path` (relative) of the work tree `root`, writing every file whose
/// values changed. `lookup` answers `(namespace, name)` of a marker with the policy's image.
/// Refuses a `path` that leaves the tree; skips symbolic links, `.git`, files over
/// [`MAX_FILE_SIZE`] and files that are not UTF-8.
pub fn update_tree(
    root: &Path,
    path: &str,
    lookup: &dyn Fn(&str, &str) -> Option<ballast_image::ImageRef>,
) -> Result<Changed, String> {
    let relative = Path::new(path.trim_start_matches("./"));
    if relative.is_absolute() || relative.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("update.path {path:?} must stay inside the repository"));
    }
    let mut start = root.to_path_buf();
    for c in relative.components() {
        if let Component::Normal(part) = c {
            start.push(part);
            let meta = std::fs::symlink_metadata(&start).map_err(|e| format!("update.path {path:?}: {e}"))?;
            if meta.file_type().is_symlink() {
                return Err(format!("update.path {path:?} goes through a symbolic link; refused"));
            }
        }
    }
    let mut changed = Changed::default();
    let mut stack: Vec<PathBuf> = vec![start];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let meta = std::fs::symlink_metadata(&dir).map_err(|e| e.to_string())?;
        if meta.is_file() {
            visit(root, &dir, lookup, &mut changed)?;
            continue;
        }
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", shown(root, &dir)))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            seen += 1;
            if seen > MAX_ENTRIES {
                return Err(format!("more than {MAX_ENTRIES} files under update.path; refused"));
            }
            let Ok(kind) = entry.file_type() else { continue };
            let p = entry.path();
            if kind.is_symlink() {
                continue;
            }
            if kind.is_dir() {
                if entry.file_name() != ".git" {
                    stack.push(p);
                }
            } else if kind.is_file() {
                visit(root, &p, lookup, &mut changed)?;
            }
        }
    }
    Ok(changed)
}

fn shown(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn visit(
    root: &Path,
    file: &Path,
    lookup: &dyn Fn(&str, &str) -> Option<ballast_image::ImageRef>,
    changed: &mut Changed,
) -> Result<(), String> {
    let yaml = file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e == "yaml" || e == "yml");
    if !yaml {
        return Ok(());
    }
    let Ok(meta) = std::fs::symlink_metadata(file) else {
        return Ok(());
    };
    if !meta.is_file() || meta.len() > MAX_FILE_SIZE {
        return Ok(());
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(());
    };
    if !text.contains(ballast_image::setters::MARKER) {
        return Ok(());
    }
    let (out, changes) = ballast_image::update(&text, lookup).map_err(|e| format!("{}: {e}", shown(root, file)))?;
    if changes.is_empty() {
        return Ok(());
    }
    std::fs::write(file, out).map_err(|e| format!("{}: {e}", shown(root, file)))?;
    changed.files.insert(shown(root, file), changes);
    Ok(())
}

/// Every ImageUpdateAutomation of `store` in the namespace of `policy`.
pub fn automations_for(
    store: &Store<ImageUpdateAutomation>,
    policy: &ImagePolicy,
) -> Vec<KubeRef<ImageUpdateAutomation>> {
    let ns = policy.namespace().unwrap_or_default();
    store
        .state()
        .into_iter()
        .filter(|a| a.namespace().unwrap_or_default() == ns)
        .map(|a| KubeRef::from_obj(&*a))
        .collect()
}

/// The commit signer of `git.commit.signingKey`: the Secret's `git.asc` key, unlocked with
/// its `passphrase`. Errors name the Secret and the key, never their values.
async fn signer(
    ctx: &Context,
    ns: &str,
    git: &ballast_api::image::GitSpec,
) -> Result<Option<CommitSigner>, ReconcileError> {
    let Some(key) = &git.commit.signing_key else {
        return Ok(None);
    };
    let name = &key.secret_ref.name;
    let data = crate::chart_source::secret_data(&ctx.client, ns, name).await?;
    let armored = data.get("git.asc").ok_or_else(|| {
        failure(
            INVALID_SOURCE,
            format!("signing key secret '{ns}/{name}' does not contain a 'git.asc' key"),
        )
    })?;
    CommitSigner::from_armored(armored, data.get("passphrase").map(Vec::as_slice))
        .map(Some)
        .map_err(|e| failure(INVALID_SOURCE, format!("secret '{ns}/{name}': {e}")))
}

/// Reconciles one ImageUpdateAutomation.
pub async fn reconcile(auto: Arc<ImageUpdateAutomation>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ns = auto.namespace().unwrap_or_default();
    let name = auto.name_any();
    let api: Api<ImageUpdateAutomation> = Api::namespaced(ctx.client.clone(), &ns);
    if auto.spec.suspend == Some(true) {
        return Ok(Action::await_change());
    }
    let generation = auto.meta().generation;
    let mut status = auto.status.clone().unwrap_or_default();
    crate::status::mark_reconciling(&mut status.conditions, generation, status.observed_generation);
    let patch = json!({"status": {"conditions": status.conditions}});
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    status.observed_generation = generation;
    status.last_handled_reconcile_at = auto.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned();
    let interval = crate::schedule::interval(Some(&auto.spec.interval), Duration::from_secs(600));
    let result = run(&auto, &ctx, &ns, &mut status).await;
    status.last_automation_run_time = Some(crate::status::now());
    match result {
        Ok(Some((commit, branch, message))) => {
            let note = format!(
                "pushed commit '{}' to branch '{branch}'\n{message}",
                &commit[..7.min(commit.len())]
            );
            status.last_push_commit = Some(commit);
            status.last_push_time = status.last_automation_run_time.clone();
            ctx.event(&*auto, EventType::Normal, "Succeeded", &note).await;
            mark_ready(&mut status.conditions, "Succeeded", &note, generation);
        }
        Ok(None) => mark_ready(&mut status.conditions, "Succeeded", "repository up-to-date", generation),
        Err(e) => {
            let message = e.to_string();
            eprintln!("ImageUpdateAutomation {ns}/{name}: {}: {message}", e.reason());
            let stalled = e.stalled() || matches!(e.reason(), INVALID_SOURCE | INVALID_SELECTOR);
            mark_failed(&mut status.conditions, e.reason(), &message, generation, stalled);
            ctx.event(&*auto, EventType::Warning, e.reason(), &message).await;
        }
    }
    let patch = json!({ "status": status });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.status);
    ctx.metrics
        .record("ImageUpdateAutomation", &ns, &name, ready, started.elapsed());
    Ok(Action::requeue(crate::schedule::jittered(interval)))
}

/// The selected policies with a chosen image, by name.
async fn policies(
    auto: &ImageUpdateAutomation,
    ctx: &Context,
    ns: &str,
) -> Result<BTreeMap<String, ImageRef>, ReconcileError> {
    let api: Api<ImagePolicy> = Api::namespaced(ctx.client.clone(), ns);
    let selector = auto.spec.policy_selector.clone().unwrap_or_default();
    let mut out = BTreeMap::new();
    for p in api.list(&ListParams::default()).await?.items {
        let labels = p.metadata.labels.clone().unwrap_or_default();
        if !selector
            .matches(&labels)
            .map_err(|e| failure(INVALID_SELECTOR, format!("spec.policySelector: {e}")))?
        {
            continue;
        }
        if let Some(latest) = p.status.as_ref().and_then(|s| s.latest()) {
            out.insert(p.name_any(), latest);
        }
    }
    Ok(out)
}

/// One run: `Some((commit, branch, message))` when a commit was pushed.
async fn run(
    auto: &ImageUpdateAutomation,
    ctx: &Context,
    ns: &str,
    status: &mut ImageUpdateAutomationStatus,
) -> Result<Option<(String, String, String)>, ReconcileError> {
    let update = auto.spec.update.clone().unwrap_or_default();
    if update.strategy.as_deref().is_some_and(|s| s != "Setters") {
        return Err(ReconcileError::Invalid(format!(
            "spec.update.strategy {:?}: only Setters",
            update.strategy.unwrap_or_default()
        )));
    }
    let source = &auto.spec.source_ref;
    if source.kind != "GitRepository" {
        return Err(failure(
            INVALID_SOURCE,
            format!("spec.sourceRef.kind {:?}: only GitRepository", source.kind),
        ));
    }
    let Some(git) = auto.spec.git.clone() else {
        return Err(failure(INVALID_SOURCE, "spec.git is required to commit and push"));
    };
    let repo_ns = source.namespace.clone().unwrap_or_else(|| ns.to_string());
    let repos: Api<GitRepository> = Api::namespaced(ctx.client.clone(), &repo_ns);
    let repo = repos.get_opt(&source.name).await?.ok_or_else(|| {
        failure(
            "DependencyNotReady",
            format!("GitRepository '{repo_ns}/{}' not found", source.name),
        )
    })?;
    let branch = match git.checkout.as_ref().map(|c| &c.reference) {
        Some(r) => match r.branch.as_deref().filter(|b| !b.is_empty()) {
            Some(b) => b.to_string(),
            None => {
                return Err(failure(
                    INVALID_SOURCE,
                    "spec.git.checkout.ref: only a branch can be checked out for writing",
                ));
            }
        },
        None => match crate::git_repository::git_ref(&repo) {
            GitRef::Branch(b) => b,
            _ => {
                return Err(failure(
                    INVALID_SOURCE,
                    format!(
                        "GitRepository '{repo_ns}/{}' does not follow a branch; set spec.git.checkout.ref.branch",
                        source.name
                    ),
                ));
            }
        },
    };
    let push_branch = git
        .push
        .as_ref()
        .and_then(|p| p.branch.clone())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| branch.clone());
    let push = git.push.clone().unwrap_or_default();
    let refspec = push.refspec.clone().filter(|r| !r.is_empty());
    let push_options = push.options.clone().unwrap_or_default();
    let signer = signer(ctx, ns, &git).await?;
    let selected = policies(auto, ctx, ns).await?;
    status.observed_policies = Some(selected.clone());
    let access = crate::git_repository::GitAccess::of(ctx);
    let (source, _keys) = crate::git_repository::source_of(&repo, &access, GitRef::Branch(branch.clone())).await?;
    let mut options = FetchOptions::new(ctx.cache_dir.clone(), Duration::from_secs(120));
    options.max_artifact_size = ctx.max_artifact_size;
    let automation = (ns.to_string(), auto.name_any());
    let template = git.commit.message_template.clone();
    let values = git.commit.message_template_values.clone().unwrap_or_default();
    let author = git.commit.author.clone();
    let path = update.path.unwrap_or_default();
    let own_ns = ns.to_string();
    let pushed = tokio::task::spawn_blocking(move || {
        let mut checkout = ballast_source::checkout_for_write(&source, &options).map_err(ReconcileError::from)?;
        checkout.set_push_branch(&push_branch);
        if let Some(refspec) = &refspec {
            checkout
                .set_push_refspec(refspec)
                .map_err(|e| ReconcileError::Invalid(format!("spec.git.push.refspec: {e}")))?;
        }
        checkout.set_push_options(&push_options);
        if let Some(signer) = signer {
            checkout.set_signer(signer);
        }
        let lookup = |pns: &str, pname: &str| {
            (pns == own_ns)
                .then(|| selected.get(pname))
                .flatten()
                .map(|r| ballast_image::ImageRef {
                    name: r.name.clone(),
                    tag: r.tag.clone(),
                    digest: r.digest.clone(),
                })
        };
        let result = checkout.push_rebasing(
            PUSH_ATTEMPTS,
            (&author.name, &author.email),
            |dir| update_tree(dir, &path, &lookup),
            |changed| commit_message(template.as_deref(), (&automation.0, &automation.1), &values, changed),
        );
        let head = std::process::Command::new("git")
            .arg("-C")
            .arg(checkout.path())
            .args(["rev-parse", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        match result {
            Ok(Pushed::Nothing) => Ok((None, head)),
            Ok(Pushed::Commit { commit, edit, attempts }) => {
                let mut message =
                    commit_message(template.as_deref(), (&automation.0, &automation.1), &values, &edit)
                        .unwrap_or_default();
                if attempts > 1 {
                    message.push_str(&format!(
                        "\n(pushed at attempt {attempts}: the branch moved meanwhile; the update was redone on its new head)"
                    ));
                }
                let target = match &refspec {
                    Some(r) => format!("{push_branch}' and refspec '{r}"),
                    None => push_branch,
                };
                Ok((Some((commit, target, message)), head))
            }
            Err(RebaseError::Git(e)) => Err(failure(GIT_FAILED, e.to_string())),
            Err(RebaseError::Edit(e)) if e.starts_with("messageTemplate") || e.contains("update.path") => {
                Err(ReconcileError::Invalid(e))
            }
            Err(RebaseError::Edit(e)) => Err(failure(UPDATE_FAILED, e)),
            Err(e @ RebaseError::Retries { .. }) => Err(failure(GIT_FAILED, e.to_string())),
        }
    })
    .await
    .map_err(|e| ReconcileError::Build(e.to_string()))??;
    let (pushed, head) = pushed;
    if let Some(head) = head {
        status.observed_source_revision = Some(format!("{branch}@sha1:{head}"));
    }
    Ok(pushed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(tag: &str) -> ballast_image::ImageRef {
        ballast_image::ImageRef {
            name: "reg.example/app".into(),
            tag: tag.into(),
            digest: None,
        }
    }

    #[test]
    fn setters_run_only_inside_the_tree_and_never_through_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("apps")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let marked = "spec:\n  image: reg.example/app:1.0.0 # {\"$imagepolicy\": \"ns:app\"}\n";
        std::fs::write(root.join("apps/deploy.yaml"), marked).unwrap();
        std::fs::write(root.join("apps/notes.txt"), marked).unwrap();
        std::fs::write(outside.join("x.yaml"), marked).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("apps/link")).unwrap();
        std::os::unix::fs::symlink(outside.join("x.yaml"), root.join("apps/x.yaml")).unwrap();
        let lookup = |ns: &str, n: &str| (ns == "ns" && n == "app").then(|| image("2.0.0"));
        let changed = update_tree(&root, "./apps", &lookup).unwrap();
        assert_eq!(changed.files.keys().collect::<Vec<_>>(), ["apps/deploy.yaml"]);
        assert!(
            std::fs::read_to_string(root.join("apps/deploy.yaml"))
                .unwrap()
                .contains("app:2.0.0 #")
        );
        assert_eq!(
            std::fs::read_to_string(outside.join("x.yaml")).unwrap(),
            marked,
            "link followed"
        );
        assert_eq!(std::fs::read_to_string(root.join("apps/notes.txt")).unwrap(), marked);
        assert!(update_tree(&root, "../outside", &lookup).is_err());
        assert!(update_tree(&root, "/etc", &lookup).is_err());
        assert!(
            update_tree(&root, "apps/link", &lookup)
                .unwrap_err()
                .contains("symbolic link")
        );
        // A second run finds nothing to change.
        assert!(update_tree(&root, "", &lookup).unwrap().files.is_empty());
    }
}
