//! Helm releases on a cluster, stored exactly as the helm CLI (v4) stores them, so either
//! tool can list, upgrade, roll back or uninstall what the other did.
//!
//! Actions (each writes its revision first in a `pending-*` state, then the outcome):
//! - [`Releases::install`]: pending-install → pre-install hooks → server-side apply of the
//!   manifest (field manager `helm`, as helm 4) → wait (kstatus, optional) → post-install →
//!   `deployed`; any failure → `failed`, described as helm describes it.
//! - [`Releases::upgrade`]: revision N+1 (pending-upgrade) → pre-upgrade hooks → apply →
//!   objects the new manifest dropped deleted (unless `helm.sh/resource-policy: keep`) →
//!   wait → post-upgrade → the previous deployed revision `superseded`, this one `deployed`.
//! - [`Releases::rollback`]: a new revision copying revision R (`Rollback to R`), with
//!   pre-/post-rollback hooks.
//! - [`Releases::uninstall`]: `uninstalling` → pre-delete hooks → objects deleted (keep
//!   honoured) → post-delete hooks → records deleted, or kept as `uninstalled`.
//! - [`Releases::test`]: the `test` hooks of the deployed revision, their runs recorded.
//! - History is pruned to `history_max` revisions, never removing the last deployed one.
//!
//! A release whose latest revision is `pending-*` is held by an operation in progress. Ballast
//! records when its own operation gives up; once that time has passed (or, for a record
//! another tool left, once it is older than [`ActionOptions::pending_grace`]), the record is
//! stale: it is marked `failed` and the new action proceeds. A release is never held forever.
//!
//! Reads: a [`Releases`] value reads a release's records once (one LIST by label, or GETs by
//! the records' known names with [`Releases::load_known`]) and then keeps them in step with its
//! own writes, so an action and everything its caller reads after it cost no further scan of
//! the storage namespace. A value is meant for one operation (a command, a reconcile): a new
//! value sees other writers' changes. Two writers never both create the same revision (the
//! create fails for the second), which is what keeps concurrent actions apart.

pub mod hooks;
pub mod objects;
pub mod plan;
pub mod store;

pub use plan::{ReleasePlan, plan_diff, plan_diff_with_context};

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use ballast_apply::{Applier, ApplyOptions};
use ballast_core::{Inventory, Manifest, ObjectRef};
use ballast_helm::release::render::{ReleaseRenderOptions, RenderedRelease, render_release};
use ballast_helm::release::{Info, Release, Status, rfc3339};
use ballast_helm::values::ValueOptions;
use ballast_kube::Cluster;
use kube::api::PropagationPolicy;
use serde_json::Map;

use crate::objects::{keep, release_objects};
use crate::store::{Store, Stored};

/// The field manager helm 4 applies with; Ballast's releases use it too, so an upgrade by
/// either tool owns the same fields.
pub const HELM_FIELD_MANAGER: &str = "helm";

/// A failed release action; the message says which step and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReleaseError(pub String);

/// Options shared by every action.
#[derive(Clone, Debug)]
pub struct ActionOptions {
    /// How long each hook, and the wait for the release's objects, may take.
    pub timeout: Duration,
    /// Wait for every object of the release to be healthy (kstatus) before post hooks.
    pub wait: bool,
    /// Revisions kept (0: all). helm's upgrade default is 10.
    pub history_max: usize,
    /// Run no hooks.
    pub no_hooks: bool,
    /// uninstall: keep the records, marked `uninstalled`.
    pub keep_history: bool,
    /// A pending record another tool left (no Ballast deadline) is stale once this old.
    pub pending_grace: Duration,
    /// install: create the release namespace when it does not exist.
    pub create_namespace: bool,
    /// upgrade and rollback: fields another manager owns are taken (conflicts forced), and an
    /// object whose update the API server refuses (an immutable field) is deleted and created
    /// anew (helm's `--force`).
    pub force: bool,
    /// upgrade and rollback: when the action fails, the objects it created (absent before it)
    /// are deleted (helm's `--cleanup-on-fail`).
    pub cleanup_on_fail: bool,
    /// With `wait`, Jobs are waited for until complete (helm's `--wait-for-jobs`); else they
    /// are left out of the wait.
    pub wait_for_jobs: bool,
    /// The values are not checked against the chart's `values.schema.json` (helm's
    /// `--skip-schema-validation`).
    pub skip_schema_validation: bool,
    /// uninstall: how each deletion reaches the object's dependents (helm's
    /// `--cascade`: background, foreground or orphan).
    pub deletion_propagation: PropagationPolicy,
    /// uninstall: wait (at most `timeout`) until the deleted objects are gone (helm's
    /// `uninstall --wait`).
    pub wait_for_delete: bool,
    /// test: which tests run (helm's `test --filter`).
    pub test_filter: TestFilter,
}

/// The tests a `test` runs, by hook name (helm's `--filter name=...` and `!name=...`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestFilter {
    /// Only these run (all when empty).
    pub only: Vec<String>,
    /// These never run.
    pub skip: Vec<String>,
}

impl TestFilter {
    /// True when the test hook `name` runs.
    pub fn runs(&self, name: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|n| n == name)) && !self.skip.iter().any(|n| n == name)
    }
}

impl Default for ActionOptions {
    fn default() -> Self {
        ActionOptions {
            timeout: Duration::from_secs(300),
            wait: false,
            history_max: 10,
            no_hooks: false,
            keep_history: false,
            pending_grace: Duration::from_secs(300),
            create_namespace: false,
            force: false,
            cleanup_on_fail: false,
            wait_for_jobs: true,
            skip_schema_validation: false,
            deletion_propagation: PropagationPolicy::Background,
            wait_for_delete: false,
            test_filter: TestFilter::default(),
        }
    }
}

/// True when a pending revision is no longer held by a live operation: Ballast's deadline
/// (Unix seconds) has passed, or, for a revision without one (another tool's), its
/// `last_deployed` is older than `grace` (or unreadable).
pub fn is_stale(release: &Release, deadline: Option<i64>, now: i64, grace: Duration) -> bool {
    match deadline {
        Some(d) => now > d,
        None => {
            let at: Option<jiff::Timestamp> = release.info.last_deployed.parse().ok();
            let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
            at.is_none_or(|t| now.saturating_sub(t.as_second()) > grace)
        }
    }
}

/// A post-renderer (helm's `--post-renderer`): the rendered manifest in, the manifest to
/// install out. Hooks are not post-rendered.
pub type PostRenderer = std::sync::Arc<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

/// What the server answered to the latest apply of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppliedDigests {
    /// Digest of the whole answer.
    pub object: u64,
    /// Digest of what helm's field manager owns in it, when known.
    pub owned: Option<u64>,
}

/// The releases of one namespace (records stored there, as helm's default).
pub struct Releases {
    cluster: Cluster,
    store: Store,
    namespace: String,
    post_render: Option<PostRenderer>,
    /// Health rules replacing kstatus for the objects they cover (`healthCheckExprs`).
    health_rules: Option<ballast_health::Rules>,
    /// The records read so far, by release name, oldest first, with this value's writes.
    known: Mutex<HashMap<String, Vec<Stored>>>,
    /// The digests of each object this value applied (the server's answer to its latest apply,
    /// and what helm's field manager owns in it).
    applied: Mutex<HashMap<ObjectRef, AppliedDigests>>,
}

/// At most this many revisions past the latest known one are probed by name before
/// [`Releases::load_known`] falls back to one LIST.
const PROBE_MAX: i64 = 8;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn refs(manifests: &[Manifest]) -> Vec<ObjectRef> {
    manifests.iter().map(Manifest::object_ref).collect()
}

fn err(e: impl std::fmt::Display) -> ReleaseError {
    ReleaseError(e.to_string())
}

impl Releases {
    /// Releases in `namespace`; objects are applied with field manager [`HELM_FIELD_MANAGER`].
    pub fn new(cluster: &Cluster, namespace: &str) -> Self {
        Releases {
            cluster: cluster.with_field_manager(HELM_FIELD_MANAGER),
            store: Store::new(cluster.client().clone(), namespace),
            namespace: namespace.to_string(),
            post_render: None,
            health_rules: None,
            known: Mutex::default(),
            applied: Mutex::default(),
        }
    }

    /// Releases whose objects go in `namespace` and whose records are stored in
    /// `storage_namespace` (Flux's `storageNamespace`; helm itself stores them with the objects,
    /// as [`Releases::new`] does).
    pub fn with_storage(cluster: &Cluster, namespace: &str, storage_namespace: &str) -> Self {
        Releases {
            cluster: cluster.with_field_manager(HELM_FIELD_MANAGER),
            store: Store::new(cluster.client().clone(), storage_namespace),
            namespace: namespace.to_string(),
            post_render: None,
            health_rules: None,
            known: Mutex::default(),
            applied: Mutex::default(),
        }
    }

    /// The same releases, every rendered manifest passed through `post_render` before it is
    /// recorded and applied (install, upgrade and plan).
    pub fn with_post_renderer(mut self, post_render: PostRenderer) -> Self {
        self.post_render = Some(post_render);
        self
    }

    /// The cluster handle these releases act through (an impersonating one for a HelmRelease
    /// with a ServiceAccount).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The same releases, waiting for the objects `rules` covers by them instead of kstatus
    /// (Flux's `healthCheckExprs`).
    pub fn with_health_rules(mut self, rules: Option<ballast_health::Rules>) -> Self {
        self.health_rules = rules;
        self
    }

    /// Every revision of `name`, oldest first (read once per value, then kept in step with
    /// this value's writes).
    pub async fn history(&self, name: &str) -> Result<Vec<Release>, ReleaseError> {
        Ok(self.stored(name).await?.into_iter().map(|s| s.release).collect())
    }

    /// Reads the records of `name` by their Secrets' names when the caller knows which
    /// revisions exist (`versions`: every revision it saw, e.g. a HelmRelease's
    /// `status.history`): each is read with a GET, then the revisions after the latest are
    /// probed until one is missing, so a revision another tool wrote since is found. Falls
    /// back to one LIST when `versions` is empty or its latest revision is gone (the history
    /// changed in a way the names cannot tell). Either way the records are then known to this
    /// value.
    ///
    /// With `versions` empty (a caller that knows of no revision: a new HelmRelease), the LIST
    /// is answered from the API server's watch cache ([`Store::history_cached`]): its cost does
    /// not grow with the Secrets of the storage namespace. A record written in the cache's last
    /// moments of lag may be missing from the answer: the window is that of a writer coming
    /// between a consistent LIST and the create of the next revision, made a few milliseconds
    /// longer (see [`Store::history_cached`]).
    pub async fn load_known(&self, name: &str, versions: &[i64]) -> Result<(), ReleaseError> {
        let Some(&latest) = versions.iter().max() else {
            let records = self.store.history_cached(name).await?;
            self.lock().insert(name.to_string(), records);
            return Ok(());
        };
        let mut records = Vec::new();
        let mut wanted: Vec<i64> = versions.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        for v in wanted {
            if let Some(s) = self.store.get(name, v).await? {
                records.push(s);
            } else if v == latest {
                return self.reload(name).await;
            }
        }
        let mut next = latest.saturating_add(1);
        loop {
            if next > latest.saturating_add(PROBE_MAX) {
                return self.reload(name).await;
            }
            match self.store.get(name, next).await? {
                Some(s) => records.push(s),
                None => break,
            }
            next = next.saturating_add(1);
        }
        self.lock().insert(name.to_string(), records);
        Ok(())
    }

    /// Forgets what was read of `name` and reads its records again (one LIST).
    async fn reload(&self, name: &str) -> Result<(), ReleaseError> {
        self.lock().remove(name);
        self.stored(name).await.map(|_| ())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Stored>>> {
        self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The records of `name`, oldest first: read once (one LIST), then as this value wrote them.
    async fn stored(&self, name: &str) -> Result<Vec<Stored>, ReleaseError> {
        if let Some(known) = self.lock().get(name) {
            return Ok(known.clone());
        }
        let records = self.store.history(name).await?;
        self.lock().insert(name.to_string(), records.clone());
        Ok(records)
    }

    /// Records a write of `release` in what this value knows (when it knows that release).
    fn remember(&self, release: &Release, deadline: Option<i64>) {
        let mut known = self.lock();
        let Some(records) = known.get_mut(&release.name) else {
            return;
        };
        let stored = Stored {
            release: release.clone(),
            deadline,
        };
        match records.iter_mut().find(|s| s.release.version == release.version) {
            Some(s) => *s = stored,
            None => {
                records.push(stored);
                records.sort_by_key(|s| s.release.version);
            }
        }
    }

    /// Creates the record of a new revision (fails if it exists).
    async fn create_record(&self, release: &Release, deadline: Option<i64>) -> Result<(), ReleaseError> {
        if let Err(e) = self.store.create(release, deadline).await {
            // Another writer got there first: what this value knew is out of date.
            self.lock().remove(&release.name);
            return Err(e);
        }
        self.remember(release, deadline);
        Ok(())
    }

    /// Replaces the record of a revision.
    async fn update_record(&self, release: &Release, deadline: Option<i64>) -> Result<(), ReleaseError> {
        if let Err(e) = self.store.update(release, deadline).await {
            self.lock().remove(&release.name);
            return Err(e);
        }
        self.remember(release, deadline);
        Ok(())
    }

    /// Deletes the record of a revision.
    async fn delete_record(&self, name: &str, version: i64) -> Result<(), ReleaseError> {
        self.store.delete(name, version).await?;
        if let Some(records) = self.lock().get_mut(name) {
            records.retain(|s| s.release.version != version);
        }
        Ok(())
    }

    /// Marks failed a `pending-*` latest revision of `name` that Ballast wrote (it carries an
    /// operation deadline) before `started`: the process that was running the operation is
    /// gone, so nothing will complete it. Returns whether a revision was recovered.
    pub async fn recover_interrupted(&self, name: &str, started: jiff::Timestamp) -> Result<bool, ReleaseError> {
        let records = self.stored(name).await?;
        let Some(last) = records.last() else {
            return Ok(false);
        };
        let status = last.release.info.status;
        if !status.is_pending() || last.deadline.is_none() {
            return Ok(false);
        }
        let written: Option<jiff::Timestamp> = last.release.info.last_deployed.parse().ok();
        if written.is_some_and(|t| t >= started) {
            return Ok(false);
        }
        let mut release = last.release.clone();
        release.info.status = Status::Failed;
        release.info.description =
            format!("{status} interrupted: the controller stopped before completing (recovered by Ballast on restart)");
        self.update_record(&release, None).await?;
        Ok(true)
    }

    /// The latest revision of every release in the namespace, by name.
    pub async fn list(&self) -> Result<Vec<Release>, ReleaseError> {
        let mut latest: Vec<Release> = Vec::new();
        for s in self.store.all().await? {
            match latest.last_mut() {
                Some(l) if l.name == s.release.name => *l = s.release,
                _ => latest.push(s.release),
            }
        }
        Ok(latest)
    }

    /// The server's version: the discovery's (no request), else asked now.
    async fn kube_version(&self) -> Option<String> {
        if let Some(v) = self.cluster.server_version() {
            return Some(v);
        }
        self.cluster
            .client()
            .apiserver_version()
            .await
            .ok()
            .map(|v| v.git_version)
    }

    async fn render(
        &self,
        name: &str,
        chart: &Path,
        values: &ValueOptions,
        revision: i64,
        is_upgrade: bool,
        opts: &ActionOptions,
    ) -> Result<RenderedRelease, ReleaseError> {
        let opts = ReleaseRenderOptions {
            name: name.to_string(),
            namespace: self.namespace.clone(),
            revision,
            is_upgrade,
            kube_version: self.kube_version().await,
            values: values.clone(),
            api_versions: self.cluster.api_versions(),
            skip_schema_validation: opts.skip_schema_validation,
        };
        let chart = chart.to_path_buf();
        let mut rendered = tokio::task::spawn_blocking(move || render_release(&chart, &opts))
            .await
            .map_err(err)?
            .map_err(|e| ReleaseError(e.0))?;
        if let Some(post_render) = &self.post_render {
            rendered.manifest =
                post_render(&rendered.manifest).map_err(|e| ReleaseError(format!("post-render: {e}")))?;
        }
        Ok(rendered)
    }

    /// The records of `name`, with a stale pending latest revision recovered (marked
    /// failed); an error if a live operation holds it.
    async fn records(&self, name: &str, opts: &ActionOptions) -> Result<Vec<Stored>, ReleaseError> {
        let mut records = self.stored(name).await?;
        let Some(last) = records.last_mut() else {
            return Ok(records);
        };
        let status = last.release.info.status;
        if !status.is_pending() {
            return Ok(records);
        }
        if !is_stale(&last.release, last.deadline, now().as_second(), opts.pending_grace) {
            return Err(ReleaseError(format!(
                "release {name}: another operation (install/upgrade/rollback) is in progress (revision {} is {status}); it is recovered once its deadline passes",
                last.release.version
            )));
        }
        last.release.info.status = Status::Failed;
        last.release.info.description =
            format!("{status} interrupted: the operation stopped before completing (recovered by Ballast)");
        last.deadline = None;
        self.update_record(&last.release, None).await?;
        Ok(records)
    }

    fn deadline(opts: &ActionOptions) -> i64 {
        let t = i64::try_from(opts.timeout.as_secs()).unwrap_or(i64::MAX / 4);
        // Pre hooks, the wait and post hooks each have the timeout; a margin covers the
        // applies and the record writes.
        now().as_second().saturating_add(t.saturating_mul(3)).saturating_add(30)
    }

    /// Applies a release's objects with server-side apply (`force`: conflicts forced, refused
    /// updates recreated). The objects it created are added to `created`, also when it fails.
    async fn apply(&self, objects: &[Manifest], force: bool, created: &mut Vec<ObjectRef>) -> Result<(), ReleaseError> {
        if objects.is_empty() {
            return Ok(());
        }
        // helm's client-side entry (a release helm applied with `--server-side=false`) joins
        // helm's apply entry, as helm 4 does when it moves a release to server-side apply.
        // As helm: a new object is validated by its create, not by a dry-run first.
        let options = ApplyOptions {
            take_over: vec![HELM_FIELD_MANAGER.to_string()],
            force,
            recreate: force,
            create_without_dry_run: true,
            ..ApplyOptions::default()
        };
        let applier = Applier::new(&self.cluster, options);
        let (changes, outcome) = match applier.apply(objects, &Inventory::default()).await {
            Ok(changes) => (changes, Ok(())),
            Err(e) => (e.changes.clone(), Err(err(e))),
        };
        created.extend(
            changes
                .entries
                .iter()
                .filter(|e| e.change == ballast_core::Change::Created)
                .map(|e| e.object.clone()),
        );
        self.applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(changes.entries.iter().filter_map(|e| {
                let digests = AppliedDigests {
                    object: e.digest?,
                    owned: e.owned_digest,
                };
                Some((e.object.clone(), digests))
            }));
        outcome
    }

    /// The digests of each object this value applied, as the server answered its latest apply
    /// (what the live object stays until someone else changes it, and what helm's field
    /// manager owns in it); objects it never applied are absent.
    pub fn applied_digests(&self) -> HashMap<ObjectRef, AppliedDigests> {
        self.applied.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn wait(&self, objects: &[Manifest], opts: &ActionOptions) -> Result<(), ReleaseError> {
        if !opts.wait || objects.is_empty() {
            return Ok(());
        }
        let mut waited = refs(objects);
        if !opts.wait_for_jobs {
            waited.retain(|r| !(r.kind == "Job" && r.group == "batch"));
        }
        let report = ballast_health::Waiter::new(&self.cluster)
            .with_rules(self.health_rules.clone())
            .wait(&waited, opts.timeout)
            .await;
        if report.all_healthy() {
            Ok(())
        } else {
            Err(ReleaseError(format!(
                "resources not ready: {}",
                report.unhealthy().join("; ")
            )))
        }
    }

    async fn hooks(&self, release: &mut Release, event: &str, opts: &ActionOptions) -> Result<(), ReleaseError> {
        if opts.no_hooks {
            return Ok(());
        }
        hooks::run(&self.cluster, &mut release.hooks, event, &self.namespace, opts.timeout).await
    }

    /// Deletes `old` objects absent from `new` (unless kept), last installed first. Only the
    /// live object this release owns is deleted: one whose `meta.helm.sh/release-name` or
    /// `-namespace` names another release is left alone (it was taken over), and the delete
    /// carries the UID read, so an object recreated meanwhile is never removed.
    /// Returns the objects deleted.
    async fn delete_dropped(
        &self,
        release: &str,
        old: &[Manifest],
        new: &[Manifest],
        propagation: PropagationPolicy,
    ) -> Result<Vec<ObjectRef>, ReleaseError> {
        let wanted: BTreeSet<String> = new.iter().map(|m| m.object_ref().to_string()).collect();
        let mut errors = Vec::new();
        let mut deleted = Vec::new();
        for m in old.iter().rev() {
            let r = m.object_ref();
            if wanted.contains(&r.to_string()) || keep(m) || !self.cluster.serves(&r) {
                continue;
            }
            let live = match self.cluster.get(&r).await {
                Ok(Some(live)) => live,
                Ok(None) => continue,
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            };
            if !self.owns(release, &live) {
                continue;
            }
            let uid = live.pointer("/metadata/uid").and_then(|u| u.as_str());
            match self.cluster.delete_propagated(&r, uid, propagation.clone()).await {
                Ok(_) => deleted.push(r),
                Err(e) => errors.push(e.to_string()),
            }
        }
        if errors.is_empty() {
            Ok(deleted)
        } else {
            Err(ReleaseError(errors.join("; ")))
        }
    }

    /// Deletes an object a failed action created (by the UID read, if this release still
    /// owns it).
    async fn delete_created(&self, release: &str, r: &ObjectRef) -> Result<(), ReleaseError> {
        let Some(live) = self.cluster.get(r).await.map_err(err)? else {
            return Ok(());
        };
        if !self.owns(release, &live) {
            return Ok(());
        }
        let uid = live.pointer("/metadata/uid").and_then(|u| u.as_str());
        self.cluster.delete(r, uid).await.map(|_| ()).map_err(err)
    }

    /// Waits (at most `timeout`) until every object of `refs` is gone.
    async fn wait_deleted(&self, refs: &[ObjectRef], timeout: Duration) -> Result<(), ReleaseError> {
        let deadline = std::time::Instant::now() + timeout;
        for r in refs {
            loop {
                if self.cluster.get(r).await.map_err(err)?.is_none() {
                    break;
                }
                if std::time::Instant::now() >= deadline {
                    return Err(ReleaseError(format!(
                        "{r}: still there {}s after its deletion",
                        timeout.as_secs()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        Ok(())
    }

    /// False when the live object's `meta.helm.sh/release-name` or `-namespace` names another
    /// release (another release took it over).
    fn owns(&self, release: &str, live: &serde_json::Value) -> bool {
        let owner = |key: &str| ballast_core::manifest::annotation(live, key);
        !(owner("meta.helm.sh/release-name").is_some_and(|n| n != release)
            || owner("meta.helm.sh/release-namespace").is_some_and(|n| n != self.namespace))
    }

    /// The Namespace `--create-namespace` creates.
    fn namespace_object(&self) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": self.namespace, "labels": {"name": self.namespace}},
        })
    }

    /// Applies the CRDs of a chart first (helm installs `crds/` before anything else and
    /// never upgrades or deletes them).
    async fn install_crds(&self, rendered: &RenderedRelease) -> Result<(), ReleaseError> {
        let mut crds = Vec::new();
        for c in &rendered.crds {
            for (i, doc) in objects::documents(&c.text)?.into_iter().enumerate() {
                let origin = ballast_core::Origin {
                    file: c.path.clone().into(),
                    document: i,
                };
                crds.push(Manifest::new(doc, origin).map_err(err)?);
            }
        }
        if crds.is_empty() {
            return Ok(());
        }
        self.apply(&crds, false, &mut Vec::new()).await?;
        self.cluster.refresh().await.map_err(err)
    }

    /// Creates the release namespace when it does not exist (helm's `--create-namespace`).
    async fn create_namespace(&self) -> Result<(), ReleaseError> {
        let r = ObjectRef::new("v1", "Namespace", None, &self.namespace);
        if self.cluster.get(&r).await.map_err(err)?.is_some() {
            return Ok(());
        }
        let ns = self.namespace_object();
        self.cluster.apply(&r, &ns, false, false).await.map_err(err)?;
        Ok(())
    }

    /// Installs the chart at `chart` as release `name` (revision 1, or after the last
    /// revision when only uninstalled or failed records remain).
    pub async fn install(
        &self,
        name: &str,
        chart: &Path,
        values: &ValueOptions,
        opts: &ActionOptions,
    ) -> Result<Release, ReleaseError> {
        let records = self.records(name, opts).await?;
        if let Some(last) = records.last()
            && !matches!(last.release.info.status, Status::Uninstalled | Status::Failed)
        {
            return Err(ReleaseError(format!(
                "cannot re-use a name that is still in use: release {name} exists (revision {}, {})",
                last.release.version, last.release.info.status
            )));
        }
        let version = records.last().map_or(1, |s| s.release.version + 1);
        if opts.create_namespace {
            self.create_namespace().await?;
        }
        let mut rendered = self.render(name, chart, values, version, false, opts).await?;
        if !rendered.crds.is_empty() {
            // As helm: CRDs first, then the chart rendered again against what the cluster now
            // serves (`.Capabilities.APIVersions` holds the new kinds).
            self.install_crds(&rendered).await?;
            rendered = self.render(name, chart, values, version, false, opts).await?;
        }
        let objects = release_objects(&self.cluster, &rendered.manifest, name, &self.namespace)?;
        let t = rfc3339(now());
        let mut release = Release {
            name: name.to_string(),
            info: Info {
                first_deployed: t.clone(),
                last_deployed: t,
                deleted: String::new(),
                description: "Initial install underway".into(),
                status: Status::PendingInstall,
                notes: rendered.notes.clone(),
                extra: Map::new(),
            },
            chart: rendered.chart,
            config: rendered.config,
            manifest: rendered.manifest,
            hooks: rendered.hooks,
            version,
            namespace: self.namespace.clone(),
            apply_method: "ssa".into(),
            labels: Default::default(),
            extra: Map::new(),
        };
        self.create_record(&release, Some(Self::deadline(opts))).await?;
        let outcome = async {
            self.hooks(&mut release, "pre-install", opts).await?;
            self.apply(&objects, false, &mut Vec::new()).await?;
            self.wait(&objects, opts).await?;
            self.hooks(&mut release, "post-install", opts).await
        }
        .await;
        self.finish(&mut release, outcome, "Install complete").await?;
        self.prune_history(name, opts).await?;
        Ok(release)
    }

    /// Writes the outcome of an action: `deployed` (every other deployed revision
    /// `superseded`, as helm does), or `failed` with helm's description, returning the error.
    async fn finish(
        &self,
        release: &mut Release,
        outcome: Result<(), ReleaseError>,
        done: &str,
    ) -> Result<(), ReleaseError> {
        match outcome {
            Ok(()) => {
                for s in self.stored(&release.name).await? {
                    if s.release.info.status == Status::Deployed && s.release.version != release.version {
                        let mut p = s.release;
                        p.info.status = Status::Superseded;
                        self.update_record(&p, None).await?;
                    }
                }
                release.info.status = Status::Deployed;
                if release.info.description.ends_with("underway") {
                    release.info.description = done.to_string();
                }
                self.update_record(release, None).await
            }
            Err(e) => {
                release.info.status = Status::Failed;
                release.info.description = format!("Release {:?} failed: {e}", release.name);
                self.update_record(release, None).await?;
                Err(ReleaseError(format!("release {} failed: {e}", release.name)))
            }
        }
    }

    /// Upgrades release `name` to the chart at `chart` with `values`.
    pub async fn upgrade(
        &self,
        name: &str,
        chart: &Path,
        values: &ValueOptions,
        opts: &ActionOptions,
    ) -> Result<Release, ReleaseError> {
        let records = self.records(name, opts).await?;
        let Some(latest) = records.last().map(|s| s.release.clone()) else {
            return Err(ReleaseError(format!("release {name}: has no deployed releases")));
        };
        let deployed = records
            .iter()
            .rev()
            .find(|s| s.release.info.status == Status::Deployed)
            .map(|s| s.release.clone());
        if deployed.is_none() && matches!(latest.info.status, Status::Uninstalled | Status::Uninstalling) {
            return Err(ReleaseError(format!("release {name}: has no deployed releases")));
        }
        let current = deployed.unwrap_or_else(|| latest.clone());
        let version = latest.version + 1;
        let rendered = self.render(name, chart, values, version, true, opts).await?;
        let t = rfc3339(now());
        let mut release = Release {
            name: name.to_string(),
            info: Info {
                first_deployed: current.info.first_deployed.clone(),
                last_deployed: t,
                deleted: String::new(),
                description: "Preparing upgrade".into(),
                status: Status::PendingUpgrade,
                notes: rendered.notes.clone(),
                extra: Map::new(),
            },
            chart: rendered.chart,
            config: rendered.config,
            manifest: rendered.manifest,
            hooks: rendered.hooks,
            version,
            namespace: self.namespace.clone(),
            apply_method: "ssa".into(),
            labels: current.labels.clone(),
            extra: Map::new(),
        };
        self.change(&mut release, &current, "upgrade", "Upgrade complete", opts)
            .await?;
        Ok(release)
    }

    /// The common part of upgrade and rollback: pending record, pre hooks, apply, delete what
    /// the new manifest dropped, wait, post hooks, outcome.
    async fn change(
        &self,
        release: &mut Release,
        current: &Release,
        event: &str,
        done: &str,
        opts: &ActionOptions,
    ) -> Result<(), ReleaseError> {
        let name = release.name.clone();
        let new = release_objects(&self.cluster, &release.manifest, &name, &self.namespace)?;
        let old = release_objects(&self.cluster, &current.manifest, &name, &self.namespace)?;
        self.create_record(release, Some(Self::deadline(opts))).await?;
        let mut created = Vec::new();
        let outcome = async {
            self.hooks(release, &format!("pre-{event}"), opts).await?;
            self.apply(&new, opts.force, &mut created).await?;
            self.delete_dropped(&name, &old, &new, PropagationPolicy::Background)
                .await?;
            self.wait(&new, opts).await?;
            self.hooks(release, &format!("post-{event}"), opts).await
        }
        .await;
        let outcome = match outcome {
            Err(e) if opts.cleanup_on_fail && !created.is_empty() => {
                // As helm: only what this action created goes, never what existed before it.
                let mut errors = Vec::new();
                for r in created.iter().rev() {
                    if let Err(e) = self.delete_created(&name, r).await {
                        errors.push(e.0);
                    }
                }
                Err(if errors.is_empty() {
                    e
                } else {
                    ReleaseError(format!("{e}; cleanup on fail: {}", errors.join("; ")))
                })
            }
            other => other,
        };
        if release.info.description == "Preparing upgrade" {
            release.info.description = "Upgrade underway".into();
        }
        self.finish(release, outcome, done).await?;
        self.prune_history(&name, opts).await
    }

    /// Rolls release `name` back to `revision` (default: the one before the latest) as a new
    /// revision.
    pub async fn rollback(
        &self,
        name: &str,
        revision: Option<i64>,
        opts: &ActionOptions,
    ) -> Result<Release, ReleaseError> {
        let records = self.records(name, opts).await?;
        let Some(latest) = records.last().map(|s| s.release.clone()) else {
            return Err(ReleaseError(format!("release: not found: {name}")));
        };
        let target_version = revision.filter(|r| *r > 0).unwrap_or(latest.version - 1);
        let Some(target) = records
            .iter()
            .find(|s| s.release.version == target_version)
            .map(|s| s.release.clone())
        else {
            return Err(ReleaseError(format!(
                "release {name}: revision {target_version} not found"
            )));
        };
        // As helm: the objects to delete are those of the latest revision (a failed upgrade's
        // new objects go too), not only of the last deployed one.
        let current = latest.clone();
        let mut hooks = target.hooks.clone();
        for h in &mut hooks {
            h.last_run = Default::default();
        }
        let mut release = Release {
            name: name.to_string(),
            info: Info {
                first_deployed: current.info.first_deployed.clone(),
                last_deployed: rfc3339(now()),
                deleted: String::new(),
                description: format!("Rollback to {target_version}"),
                status: Status::PendingRollback,
                notes: target.info.notes.clone(),
                extra: Map::new(),
            },
            chart: target.chart.clone(),
            config: target.config.clone(),
            manifest: target.manifest.clone(),
            hooks,
            version: latest.version + 1,
            namespace: self.namespace.clone(),
            apply_method: "ssa".into(),
            labels: target.labels.clone(),
            extra: Map::new(),
        };
        let done = release.info.description.clone();
        self.change(&mut release, &current, "rollback", &done, opts).await?;
        Ok(release)
    }

    /// Uninstalls release `name`: its objects deleted (kept ones left), its records deleted
    /// or, with `keep_history`, kept as `uninstalled`.
    pub async fn uninstall(&self, name: &str, opts: &ActionOptions) -> Result<Release, ReleaseError> {
        let records = self.records(name, opts).await?;
        let Some(mut release) = records.last().map(|s| s.release.clone()) else {
            return Err(ReleaseError(format!(
                "uninstall: Release not loaded: {name}: release: not found"
            )));
        };
        if release.info.status == Status::Uninstalled {
            return Err(ReleaseError(format!("release {name} is already uninstalled")));
        }
        release.info.status = Status::Uninstalling;
        release.info.deleted = rfc3339(now());
        self.update_record(&release, Some(Self::deadline(opts))).await?;
        let objects = release_objects(&self.cluster, &release.manifest, name, &self.namespace)?;
        let outcome = async {
            self.hooks(&mut release, "pre-delete", opts).await?;
            let deleted = self
                .delete_dropped(name, &objects, &[], opts.deletion_propagation.clone())
                .await?;
            if opts.wait_for_delete {
                self.wait_deleted(&deleted, opts.timeout).await?;
            }
            self.hooks(&mut release, "post-delete", opts).await
        }
        .await;
        if let Err(e) = outcome {
            release.info.status = Status::Failed;
            release.info.description = format!("uninstallation completed with 1 error(s): {e}");
            self.update_record(&release, None).await?;
            return Err(ReleaseError(format!("release {name}: uninstall failed: {e}")));
        }
        if opts.keep_history {
            release.info.status = Status::Uninstalled;
            release.info.description = "Uninstallation complete".into();
            self.update_record(&release, None).await?;
        } else {
            for s in &records {
                self.delete_record(name, s.release.version).await?;
            }
        }
        Ok(release)
    }

    /// Runs the `test` hooks of the deployed revision of `name` (as `helm test`); their last
    /// runs are recorded in the revision whatever the outcome.
    pub async fn test(&self, name: &str, opts: &ActionOptions) -> Result<Release, ReleaseError> {
        let records = self.stored(name).await?;
        let Some(mut release) = records
            .iter()
            .rev()
            .find(|s| s.release.info.status == Status::Deployed)
            .map(|s| s.release.clone())
        else {
            return Err(ReleaseError(format!("release {name}: has no deployed releases")));
        };
        let filter = &opts.test_filter;
        let outcome = hooks::run_selected(
            &self.cluster,
            &mut release.hooks,
            "test",
            &self.namespace,
            opts.timeout,
            &|h| filter.runs(&h.name),
        )
        .await;
        self.update_record(&release, None).await?;
        outcome.map(|()| release)
    }

    /// Deletes the oldest revisions beyond `history_max`, never the last deployed one.
    async fn prune_history(&self, name: &str, opts: &ActionOptions) -> Result<(), ReleaseError> {
        if opts.history_max == 0 {
            return Ok(());
        }
        let records = self.stored(name).await?;
        if records.len() <= opts.history_max {
            return Ok(());
        }
        let last_deployed = records
            .iter()
            .rev()
            .find(|s| s.release.info.status == Status::Deployed)
            .map(|s| s.release.version);
        let mut excess = records.len() - opts.history_max;
        for s in &records {
            if excess == 0 {
                break;
            }
            if Some(s.release.version) == last_deployed {
                continue;
            }
            self.delete_record(name, s.release.version).await?;
            excess -= 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(last_deployed: &str) -> Release {
        serde_json::from_value(serde_json::json!({
            "name": "r", "version": 2, "namespace": "default",
            "info": {"status": "pending-upgrade", "last_deployed": last_deployed},
            "chart": {"metadata": {"name": "c", "version": "1.0.0"}},
        }))
        .unwrap()
    }

    #[test]
    fn test_filters_select_as_helm() {
        let all = TestFilter::default();
        assert!(all.runs("a") && all.runs("b"));
        let skip = TestFilter {
            skip: vec!["b".into()],
            ..TestFilter::default()
        };
        assert!(skip.runs("a") && !skip.runs("b"));
        let only = TestFilter {
            only: vec!["a".into(), "b".into()],
            skip: vec!["b".into()],
        };
        assert!(only.runs("a") && !only.runs("b") && !only.runs("c"));
    }

    #[test]
    fn pending_revisions_go_stale() {
        let grace = Duration::from_secs(300);
        let t = "2026-01-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap().as_second();
        let r = pending("2026-01-01T00:00:00Z");
        // Ballast's own: held until its deadline, whatever its age.
        assert!(!is_stale(&r, Some(t + 100), t + 100, grace));
        assert!(is_stale(&r, Some(t + 100), t + 101, grace));
        assert!(!is_stale(&r, Some(t + 10_000), t + 1_000, grace));
        // Another tool's: held for the grace period after its last write.
        assert!(!is_stale(&r, None, t + 300, grace));
        assert!(is_stale(&r, None, t + 301, grace));
        // Unreadable time: never held forever.
        assert!(is_stale(&pending(""), None, t, grace));
    }
}
