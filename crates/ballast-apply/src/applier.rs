//! Plan and staged apply.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use ballast_core::{Action, Change, ChangeSet, ChangeSetEntry, Inventory, Manifest, ObjectRef, Plan, Stage, Step};
use ballast_kube::{Cluster, KubeError, conflict_managers};
use ballast_plan::policy::{self, ApplyPolicy};
use ballast_plan::{
    ManagedFields, StageKind, already_applied, apply_order, changed_paths, normalize_for_compare, object_digest,
    owned_digest, prepare_for_apply, stage_of,
};
use futures::stream::{self, StreamExt};

use crate::prune::PruneBudget;
use serde_json::Value;

/// Groups of at least this many objects of one kind in one namespace are read with one LIST.
const LIST_THRESHOLD: usize = 8;

/// Options of one apply; `Default` is what `ballast sync` does without flags.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Take ownership of fields another applier manages.
    pub force: bool,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// How long to wait for CRDs to be Established and Namespaces Active between stages.
    pub stage_timeout: Duration,
    /// Delete inventory entries that are no longer desired.
    pub prune: bool,
    /// Labels naming the owner (the sync or Kustomization), set on every applied object. Prune
    /// deletes only objects whose owner labels name this owner: an object that moved to another
    /// owner, or never carried the labels, is never deleted by this one.
    pub owner_labels: std::collections::BTreeMap<String, String>,
    /// The deletion budget: a prune over it deletes nothing unless approved.
    pub prune_budget: PruneBudget,
    /// This revision's prune was approved: the budget does not apply.
    pub prune_approved: bool,
    /// Delete protected objects too (CRDs whose custom resources exist, Namespaces holding other
    /// objects); system namespaces and `own_namespaces` are never deleted.
    pub allow_protected_prune: bool,
    /// Ballast's own namespaces (where the controller or the inventories live): never pruned.
    pub own_namespaces: Vec<String>,
    /// Recreate (delete, then create) every object whose change touches an immutable field.
    /// Without it, only objects annotated `kustomize.toolkit.fluxcd.io/force: Enabled` are.
    pub recreate: bool,
    /// More field managers whose fields (main resource, any operation) this applier takes
    /// over, besides `ballast_plan::TAKEN_OVER` (a Helm release: `helm`'s client-side entry).
    pub take_over: Vec<String>,
    /// An object that does not exist yet is created without a dry-run first (one request
    /// instead of two): the create itself is validated, but only when its turn comes, after the
    /// objects before it were written (as helm installs). Without it, every object is
    /// validated by a dry-run before anything is written.
    pub create_without_dry_run: bool,
    /// Objects the caller knows are live exactly as this apply would leave them (its own watch
    /// showed each as last applied, from the same desired object since): neither read nor
    /// dry-run, reported `Unchanged` without a digest (the caller keeps the one it has). Objects
    /// whose CRD or Namespace this apply creates or changes are planned as usual. The caller
    /// gives none when the apply prunes anything (prune tells an object re-applied under another
    /// API version by the UID the apply read).
    pub known_applied: HashSet<ObjectRef>,
    /// Objects the caller does not own yet (absent from its inventory): planned by a dry-run
    /// first, whose answer tells whether they exist (a dry-run create has no
    /// `resourceVersion`), sparing the GET. One that exists is read and planned as usual, so
    /// every object is still validated by a dry-run before the first write.
    pub new_objects: HashSet<ObjectRef>,
    /// Objects the caller knows are live as it last applied them (its own watch showed each so,
    /// by its owned fields), whose desired object changed since, each with the digest
    /// ([`object_digest`]) of the live object as the watch last saw it: planned by the
    /// server's dry-run alone, sparing the GET. The answer says whether the apply changes the
    /// object (its digest against the one given); the change lists no fields. Whenever the
    /// answer shows anything the plan needs the live object for (a conflict, an immutable
    /// field, no such object, reconcile disabled, keys of an atomic map outside Git, fields of
    /// a manager to take over), or the object has an `ssa` policy, the object is read and
    /// planned as usual. The caller gives none when the apply prunes anything.
    pub live_as_applied: HashMap<ObjectRef, u64>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            force: false,
            concurrency: 32,
            stage_timeout: Duration::from_secs(60),
            prune: false,
            owner_labels: Default::default(),
            prune_budget: PruneBudget::default(),
            prune_approved: false,
            allow_protected_prune: false,
            own_namespaces: Vec::new(),
            recreate: false,
            take_over: Vec::new(),
            create_without_dry_run: false,
            known_applied: HashSet::new(),
            new_objects: HashSet::new(),
            live_as_applied: HashMap::new(),
        }
    }
}

/// An apply that did not complete. `changes` holds what was done before it stopped, so the caller
/// can keep ownership of everything written (nothing is orphaned) and report it.
#[derive(Debug, thiserror::Error)]
#[error("{}", errors.join("\n"))]
pub struct ApplyError {
    /// What was applied before the failure.
    pub changes: ChangeSet,
    /// Every failure, each starting with the object.
    pub errors: Vec<String>,
    /// Set when the only failure is a prune held back by the deletion budget: every apply went
    /// through and nothing was deleted.
    pub over_budget: bool,
}

impl ApplyError {
    fn new(changes: &ChangeSet, errors: Vec<String>) -> Self {
        ApplyError {
            changes: changes.clone(),
            errors,
            over_budget: false,
        }
    }
}

/// Everything an apply will do, planned before its first write: every object of every stage was
/// checked (names, labels; a server-side dry-run where its kind and namespace exist). Objects
/// whose CRD or Namespace the same apply creates are planned again, with a dry-run, just before
/// their stage.
pub struct PreparedApply<'m> {
    stages: Vec<(StageKind, Vec<&'m Manifest>, Vec<Planned>)>,
}

impl PreparedApply<'_> {
    /// The objects this apply will write or confirm, in apply order: what the inventory must hold
    /// before the first write, so that a crash part-way orphans nothing.
    pub fn objects(&self) -> Vec<ObjectRef> {
        self.stages
            .iter()
            .flat_map(|(_, _, planned)| planned.iter().map(|p| p.step.object.clone()))
            .collect()
    }
}

/// What some objects must wait for before they can be dry-run: Namespaces this apply creates,
/// and kinds whose CRD this apply creates or changes (a custom resource is checked against the
/// schema it will be applied under, not the old one).
#[derive(Default)]
struct Waiting {
    namespaces: HashSet<String>,
    kinds: HashSet<(String, String)>,
}

impl Waiting {
    fn in_namespace(&self, r: &ObjectRef) -> bool {
        r.namespace.as_ref().is_some_and(|ns| self.namespaces.contains(ns))
    }

    fn holds(&self, r: &ObjectRef) -> bool {
        self.in_namespace(r) || self.kinds.contains(&(r.group.clone(), r.kind.clone()))
    }

    /// Records the kinds defined by CRDs that `planned` creates or changes.
    fn add_changed_crds(&mut self, planned: &[Planned]) {
        for p in planned {
            if p.step.object.is_crd() && matches!(p.step.action, Action::Create | Action::Update) {
                let group = p.object.pointer("/spec/group").and_then(Value::as_str);
                let kind = p.object.pointer("/spec/names/kind").and_then(Value::as_str);
                if let (Some(g), Some(k)) = (group, kind) {
                    self.kinds.insert((g.to_string(), k.to_string()));
                }
            }
        }
    }
}

/// Plans and applies manifests against one cluster.
pub struct Applier<'a> {
    cluster: &'a Cluster,
    options: ApplyOptions,
}

struct Planned {
    step: Step,
    object: Value,
    force: bool,
    /// A JSON patch to send before the apply: keys Git lacks in atomic-by-meaning maps.
    removal: Option<Value>,
    /// A JSON patch to send first: the fields of kubectl and Flux become Ballast's.
    takeover: Option<Value>,
    /// Delete the live object (by UID) and create it again: an immutable field changed.
    recreate: bool,
    /// Planned before its CRD or Namespace existed: planned again before its stage is written.
    deferred: bool,
}

impl Planned {
    /// A desired object left as it is by a per-object policy (`reason` names the annotation;
    /// `kustomize.toolkit.fluxcd.io/reconcile` reads `...: disabled`).
    fn ignored(object_ref: ObjectRef, live: Option<Value>, object: Value, annotation: &str) -> Self {
        let desired = live.clone().unwrap_or_else(|| object.clone());
        let mut p = Planned::without_dry_run(object_ref, Action::Ignore, desired, live, object, false);
        if !annotation.is_empty() {
            p.step.reason = Some(format!("{annotation}: disabled"));
        }
        p
    }

    /// A step decided without asking the server (no dry-run, no force).
    fn without_dry_run(
        object_ref: ObjectRef,
        action: Action,
        desired: Value,
        live: Option<Value>,
        object: Value,
        deferred: bool,
    ) -> Self {
        Planned {
            step: Step {
                object: object_ref,
                action,
                desired: Some(desired),
                live,
                reason: None,
                fields: Vec::new(),
            },
            object,
            force: false,
            removal: None,
            takeover: None,
            recreate: false,
            deferred,
        }
    }
}

impl<'a> Applier<'a> {
    /// An applier with the given options.
    pub fn new(cluster: &'a Cluster, options: ApplyOptions) -> Self {
        Applier { cluster, options }
    }

    /// What a sync would do, without writing anything. Objects whose CRD or Namespace is itself
    /// part of the desired state and does not exist yet are planned as `Create` without dry-run.
    pub async fn plan(&self, manifests: &[Manifest], previous: &Inventory) -> Result<Plan, ApplyError> {
        let prepared = self.prepare(manifests).await?;
        let mut plan = Plan::default();
        let mut applied = HashMap::new();
        for (kind, _, planned) in prepared.stages {
            let mut stage = Stage {
                name: kind.name().into(),
                steps: Vec::new(),
            };
            for p in planned {
                if let Some(uid) = p.step.live.as_ref().and_then(uid_of) {
                    applied.insert(uid.to_string(), p.step.object.clone());
                }
                stage.steps.push(p.step);
            }
            plan.stages.push(stage);
        }
        if self.options.prune {
            let current: Vec<ObjectRef> = manifests.iter().map(Manifest::object_ref).collect();
            let scope = self.prune_scope(&applied, previous);
            plan.prunes = crate::prune::plan_prunes(self.cluster, previous.stale(&current), &scope)
                .await
                .map_err(one)?
                .steps;
        }
        Ok(plan)
    }

    /// Checks and plans every object of every stage, without writing anything: names, namespaces
    /// and labels of all objects, and a server-side dry-run of each whose kind and namespace
    /// exist. Any problem stops here, before the first write.
    pub async fn prepare<'m>(&self, manifests: &'m [Manifest]) -> Result<PreparedApply<'m>, ApplyError> {
        let problems: Vec<String> = manifests
            .iter()
            .flat_map(|m| {
                ballast_plan::validate::object_problems(&m.object)
                    .into_iter()
                    .map(move |p| format!("{} ({}): {p}", m.object_ref(), m.origin))
            })
            .collect();
        if !problems.is_empty() {
            return Err(ApplyError::new(&ChangeSet::default(), problems));
        }
        let all: Vec<&Manifest> = manifests.iter().collect();
        let unknown: Vec<&Manifest> = all
            .iter()
            .copied()
            .filter(|m| !self.options.known_applied.contains(&m.object_ref()))
            .collect();
        let mut waiting = Waiting {
            namespaces: pending_namespaces(self.cluster, &unknown).await.map_err(one)?,
            ..Default::default()
        };
        let mut stages = Vec::new();
        let mut errors = Vec::new();
        for (kind, objects) in staged(manifests) {
            let mut planned = Vec::with_capacity(objects.len());
            for r in self.plan_stage(&objects, &waiting).await {
                match r {
                    Ok(p) => planned.push(p),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            waiting.add_changed_crds(&planned);
            stages.push((kind, objects, planned));
        }
        if !errors.is_empty() {
            return Err(ApplyError::new(&ChangeSet::default(), errors));
        }
        Ok(PreparedApply { stages })
    }

    /// Applies `manifests` stage by stage, then prunes what `previous` owned and is no longer
    /// desired (when `options.prune`). Returns the change set of everything done.
    pub async fn apply(&self, manifests: &[Manifest], previous: &Inventory) -> Result<ChangeSet, ApplyError> {
        let prepared = self.prepare(manifests).await?;
        self.execute(prepared, previous).await
    }

    /// Writes a prepared apply stage by stage (each stage's CRDs Established and Namespaces
    /// Active before the next), then prunes. Stops at the first stage with a failure; the error
    /// carries what was written before it.
    pub async fn execute(&self, prepared: PreparedApply<'_>, previous: &Inventory) -> Result<ChangeSet, ApplyError> {
        let mut changes = ChangeSet::default();
        // UID -> the reference it was applied under: one live object is one object, whatever
        // group or version named it.
        let mut applied: HashMap<String, ObjectRef> = HashMap::new();
        let mut current: Vec<ObjectRef> = Vec::new();
        for (kind, objects, mut planned) in prepared.stages {
            current.extend(objects.iter().map(|m| m.object_ref()));
            if planned.iter().any(|p| p.deferred) {
                if objects.iter().any(|m| !self.cluster.serves(&m.object_ref())) {
                    self.cluster
                        .refresh()
                        .await
                        .map_err(|e| ApplyError::new(&changes, vec![e.to_string()]))?;
                }
                // Their CRDs and Namespaces are in place now: plan them for real (a dry-run each,
                // concurrently, large groups read with one LIST).
                let deferred: Vec<&Manifest> = planned
                    .iter()
                    .zip(&objects)
                    .filter(|(p, _)| p.deferred)
                    .map(|(_, m)| *m)
                    .collect();
                let mut again = self.plan_stage(&deferred, &Waiting::default()).await.into_iter();
                let mut errors = Vec::new();
                for p in planned.iter_mut().filter(|p| p.deferred) {
                    match again.next() {
                        Some(Ok(fresh)) => *p = fresh,
                        Some(Err(e)) => errors.push(e.to_string()),
                        None => {}
                    }
                }
                errors.extend(again.filter_map(Result::err).map(|e| e.to_string()));
                if !errors.is_empty() {
                    return Err(ApplyError::new(&changes, errors));
                }
            }
            let results: Vec<(Step, Result<Written, KubeError>)> = stream::iter(planned)
                .map(|p| async move {
                    let change = match p.step.action {
                        Action::Create | Action::Update => self.write(&p).await,
                        Action::Ignore => Ok((
                            Change::Ignored,
                            p.step.live.as_ref().and_then(uid_of).map(str::to_string),
                            None,
                        )),
                        _ => Ok((
                            Change::Unchanged,
                            p.step.live.as_ref().and_then(uid_of).map(str::to_string),
                            None,
                        )),
                    };
                    (p.step, change)
                })
                .buffered(self.options.concurrency.max(1))
                .collect()
                .await;
            let mut errors = Vec::new();
            for (step, result) in results {
                match result {
                    Ok((c, uid, written)) => {
                        let manager = self.cluster.field_manager();
                        let (digest, owned_digest) = match (written, step.desired.as_ref()) {
                            (Some(w), _) => w,
                            (None, Some(d)) => (Some(object_digest(d)), owned_digest(d, manager)),
                            (None, None) => (None, None),
                        };
                        if let Some(uid) = uid {
                            applied.insert(uid, step.object.clone());
                        }
                        changes.entries.push(ChangeSetEntry {
                            object: step.object,
                            change: c,
                            reason: step
                                .reason
                                .filter(|_| matches!(c, Change::Configured | Change::Ignored)),
                            fields: if c == Change::Configured {
                                step.fields
                            } else {
                                Vec::new()
                            },
                            digest,
                            owned_digest,
                        })
                    }
                    Err(e) => errors.push(e.to_string()),
                }
            }
            if !errors.is_empty() {
                return Err(ApplyError::new(&changes, errors));
            }
            if kind == StageKind::Definitions {
                // Known-applied definitions were Established or Active when last applied; no
                // new kind comes from them.
                let refs: Vec<ObjectRef> = objects
                    .iter()
                    .map(|m| m.object_ref())
                    .filter(|r| !self.options.known_applied.contains(r))
                    .collect();
                self.wait_definitions(&refs)
                    .await
                    .map_err(|e| ApplyError::new(&changes, vec![e]))?;
                if refs.iter().any(ObjectRef::is_crd) {
                    self.cluster
                        .refresh()
                        .await
                        .map_err(|e| ApplyError::new(&changes, vec![e.to_string()]))?;
                }
            }
        }
        if self.options.prune {
            let scope = self.prune_scope(&applied, previous);
            let plan = crate::prune::plan_prunes(self.cluster, previous.stale(&current), &scope)
                .await
                .map_err(|e| ApplyError::new(&changes, vec![e.to_string()]))?;
            let errors = crate::prune::execute(
                self.cluster,
                plan.steps,
                &mut changes,
                self.options.allow_protected_prune,
            )
            .await;
            if !errors.is_empty() {
                return Err(ApplyError::new(&changes, errors));
            }
            if let Some(message) = plan.over_budget {
                let mut e = ApplyError::new(&changes, vec![message]);
                e.over_budget = true;
                return Err(e);
            }
        }
        Ok(changes)
    }

    /// Writes one planned step: the removal patch first (if any), then the server-side apply.
    /// Returns the change, the live object's UID and the digest of what the server made of it
    /// (admission included): what the live object should stay until the next sync.
    async fn write(&self, p: &Planned) -> Result<Written, KubeError> {
        if p.recreate {
            self.recreate(p).await?;
        }
        if let Some(patch) = &p.takeover {
            self.take_over(p, patch).await?;
        }
        if let Some(patch) = &p.removal {
            self.cluster.json_patch(&p.step.object, patch).await?;
        }
        let o = self.cluster.apply(&p.step.object, &p.object, false, p.force).await?;
        let c = if p.step.action == Action::Create {
            Change::Created
        } else {
            Change::Configured
        };
        let digests = (Some(object_digest(&o)), owned_digest(&o, self.cluster.field_manager()));
        Ok((c, uid_of(&o).map(str::to_string), Some(digests)))
    }

    /// Sends the takeover patch of a step (field ownership of kubectl, Flux and the listed
    /// managers moved to Ballast's manager), conditional on the `resourceVersion` it was made
    /// from. Another writer meanwhile (a controller writing the object's status, or the
    /// Kustomization writing its own status while it applies itself) makes the server refuse
    /// it (422, the `test` failed): the object is read again and the patch made again from
    /// what it holds now, at most three times in all; nothing left to take over ends it.
    async fn take_over(&self, p: &Planned, patch: &Value) -> Result<(), KubeError> {
        let r = &p.step.object;
        let mut patch = patch.clone();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.cluster.json_patch(r, &patch).await {
                Ok(_) => return Ok(()),
                Err(e @ KubeError::Api { code: 422, .. }) if attempt < 3 => {
                    let Some(live) = self.cluster.get(r).await? else {
                        return Err(e);
                    };
                    match self.takeover_patch(&live, &p.object) {
                        Some(fresh) => patch = fresh,
                        None => return Ok(()),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The patch moving to Ballast's manager what kubectl, Flux and the options' `take_over`
    /// managers own in `live` (`None`: nothing to take over).
    fn takeover_patch(&self, live: &Value, object: &Value) -> Option<Value> {
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let mut from: Vec<&str> = ballast_plan::TAKEN_OVER.to_vec();
        from.extend(self.options.take_over.iter().map(String::as_str));
        ballast_plan::takeover_patch_from(live, &from, self.cluster.field_manager(), api_version)
    }

    /// Deletes the live object of a recreate step (by UID, dependents in the foreground of the
    /// API server's garbage collector) and waits until it is gone, so the apply that follows
    /// creates it anew.
    async fn recreate(&self, p: &Planned) -> Result<(), KubeError> {
        let uid = p.step.live.as_ref().and_then(uid_of);
        self.cluster.delete(&p.step.object, uid).await?;
        let deadline = Instant::now() + self.options.stage_timeout;
        loop {
            match self.cluster.get(&p.step.object).await? {
                Some(l) if uid_of(&l) == uid => {}
                _ => return Ok(()),
            }
            if Instant::now() > deadline {
                return Err(KubeError::Transport {
                    object: p.step.object.to_string(),
                    verb: "recreate",
                    message: format!("still being deleted after {:?}", self.options.stage_timeout),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn prune_scope<'s>(
        &'s self,
        applied: &'s HashMap<String, ObjectRef>,
        previous: &Inventory,
    ) -> crate::prune::PruneScope<'s> {
        crate::prune::PruneScope {
            owner_labels: &self.options.owner_labels,
            applied,
            allow_protected: self.options.allow_protected_prune,
            own_namespaces: &self.options.own_namespaces,
            budget: self.options.prune_budget,
            approved: self.options.prune_approved,
            owned: previous.entries.len(),
        }
    }

    async fn plan_stage(&self, objects: &[&Manifest], waiting: &Waiting) -> Vec<Result<Planned, KubeError>> {
        let mut prefetched = match self.prefetch(objects, waiting).await {
            Ok(p) => p,
            Err(e) => return vec![Err(e)],
        };
        // Futures collected first (not mapped inside the stream): keeps the future Send for any
        // lifetime, so callers can run it on a multi-threaded runtime. Each takes its prefetched
        // live object by value (no copy).
        let mut planned = Vec::with_capacity(objects.len());
        for m in objects.iter().copied() {
            let live = prefetched.remove(&m.object_ref());
            planned.push(self.plan_one(m, waiting, live));
        }
        stream::iter(planned)
            .buffered(self.options.concurrency.max(1))
            .collect()
            .await
    }

    /// Live objects of large groups (same kind and namespace), read with LISTs, all groups at
    /// once. With owner labels, the LIST asks only for objects carrying them (what this owner
    /// applied before: the steady state costs no more than the owner's own objects, however
    /// many others share the namespace); when many objects are missing from it (a first sync, an
    /// adoption) one unfiltered LIST looks for them. Objects of small groups, and the few missing
    /// ones, are left to a GET each. `None` in the map means "does not exist".
    async fn prefetch(
        &self,
        objects: &[&Manifest],
        waiting: &Waiting,
    ) -> Result<HashMap<ObjectRef, Option<Value>>, KubeError> {
        let mut groups: HashMap<(String, String, String, Option<String>), Vec<ObjectRef>> = HashMap::new();
        for m in objects {
            let r = m.object_ref();
            if self.cluster.serves(&r) && !waiting.holds(&r) && !self.options.known_applied.contains(&r) {
                let key = (r.group.clone(), r.version.clone(), r.kind.clone(), r.namespace.clone());
                groups.entry(key).or_default().push(r);
            }
        }
        let selector = (!self.options.owner_labels.is_empty()).then(|| {
            self.options
                .owner_labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        });
        let lists: Vec<_> = groups
            .into_values()
            .filter(|g| g.len() >= LIST_THRESHOLD)
            .map(|refs| self.prefetch_group(refs, selector.clone()))
            .collect();
        let mut out = HashMap::new();
        for found in futures::future::try_join_all(lists).await? {
            out.extend(found);
        }
        Ok(out)
    }

    async fn prefetch_group(
        &self,
        refs: Vec<ObjectRef>,
        selector: Option<String>,
    ) -> Result<Vec<(ObjectRef, Option<Value>)>, KubeError> {
        let names: HashSet<&str> = refs.iter().map(|r| r.name.as_str()).collect();
        let mut live = self.cluster.list_like(&refs[0], &names, selector.as_deref()).await?;
        let mut out = Vec::with_capacity(refs.len());
        let mut missing = Vec::new();
        for r in refs {
            match live.remove(&r.name) {
                Some(v) => out.push((r, Some(v))),
                None if selector.is_none() => out.push((r, None)),
                None => missing.push(r),
            }
        }
        if missing.len() >= LIST_THRESHOLD {
            let names: HashSet<&str> = missing.iter().map(|r| r.name.as_str()).collect();
            let mut all = self.cluster.list_like(&missing[0], &names, None).await?;
            out.extend(missing.into_iter().map(|r| {
                let v = all.remove(&r.name);
                (r, v)
            }));
        }
        Ok(out)
    }

    async fn plan_one(
        &self,
        m: &Manifest,
        waiting: &Waiting,
        prefetched: Option<Option<Value>>,
    ) -> Result<Planned, KubeError> {
        let r = m.object_ref();
        let mut object = m.object.clone();
        prepare_for_apply(&mut object);
        if !self.options.owner_labels.is_empty()
            && let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut)
        {
            let labels = meta
                .entry("labels")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(labels) = labels.as_object_mut() {
                for (k, v) in &self.options.owner_labels {
                    labels.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        if policy::reconcile_disabled(Some(&m.object), None) {
            return Ok(Planned::ignored(r, None, object, policy::RECONCILE_ANNOTATION));
        }
        if !self.cluster.serves(&r) || waiting.in_namespace(&r) {
            // Its CRD or Namespace is created by this same sync; nothing can exist yet.
            let desired = object.clone();
            return Ok(Planned::without_dry_run(r, Action::Create, desired, None, object, true));
        }
        if waiting.holds(&r) {
            // Its CRD changes in this sync: dry-run it against the new schema, once applied.
            let live = self.cluster.get(&r).await?;
            let action = if live.is_some() { Action::Update } else { Action::Create };
            let desired = object.clone();
            return Ok(Planned::without_dry_run(r, action, desired, live, object, true));
        }
        if self.options.known_applied.contains(&r) {
            let mut p = Planned::without_dry_run(r, Action::Unchanged, Value::Null, None, object, false);
            p.step.desired = None;
            return Ok(p);
        }
        let apply_policy = ApplyPolicy::of(&m.object);
        if let Some(seen) = self.options.live_as_applied.get(&r)
            && apply_policy == ApplyPolicy::Override
            && let Some(p) = self.dry_run_planned(m, &r, &object, *seen).await?
        {
            return Ok(p);
        }
        let live = match prefetched {
            Some(live) => live,
            None if self.options.new_objects.contains(&r) && apply_policy != ApplyPolicy::Ignore => {
                match self.create_planned(&r, &object).await? {
                    Some(p) => return Ok(p),
                    None => self.cluster.get(&r).await?,
                }
            }
            None => self.cluster.get(&r).await?,
        };
        // Flux's per-object policies: reconcile disabled on the live object, ssa Ignore, or
        // IfNotPresent on an existing object leave it as it is (still owned).
        if policy::reconcile_disabled(Some(&m.object), live.as_ref()) {
            return Ok(Planned::ignored(r, live, object, policy::RECONCILE_ANNOTATION));
        }
        if live.is_none() && self.options.create_without_dry_run && apply_policy != ApplyPolicy::Ignore {
            let desired = object.clone();
            return Ok(Planned::without_dry_run(
                r,
                Action::Create,
                desired,
                None,
                object,
                false,
            ));
        }
        if apply_policy == ApplyPolicy::Ignore || (apply_policy == ApplyPolicy::IfNotPresent && live.is_some()) {
            let reason = apply_policy.describe();
            let mut p = Planned::ignored(r, live, object, "");
            p.step.reason = Some(reason);
            return Ok(p);
        }
        // Fields kubectl (client side) or Flux own become Ballast's on this apply, unless the
        // object asks to leave other tools' fields alone (`ssa: Merge`).
        let takeover = match (&live, apply_policy) {
            (Some(l), ApplyPolicy::Override | ApplyPolicy::IfNotPresent) => self.takeover_patch(l, &object),
            _ => None,
        };
        if let Some(l) = &live
            && takeover.is_none()
            && already_applied(&object, l, self.cluster.field_manager())
        {
            // The live object already holds exactly what this apply would send: no dry-run.
            let desired = l.clone();
            return Ok(Planned::without_dry_run(
                r,
                Action::Unchanged,
                desired,
                live,
                object,
                false,
            ));
        }
        let (dry, force, reason) = match self.cluster.apply(&r, &object, true, self.options.force).await {
            Ok(dry) => (dry, self.options.force, None),
            Err(KubeError::Conflict { message, .. }) => {
                let managers = conflict_managers(&message);
                let appliers: Vec<&String> = managers
                    .iter()
                    // Our own Update entry (left by a removal patch) is not another applier.
                    // Nor is a manager whose fields this apply takes over (Flux's).
                    .filter(|m| {
                        *m != self.cluster.field_manager()
                            && !(takeover.is_some() && ballast_plan::TAKEN_OVER.contains(&m.as_str()))
                            && live.as_ref().is_some_and(|l| ManagedFields::of(l).is_applier(m))
                    })
                    .collect();
                if !appliers.is_empty() {
                    return Err(KubeError::Conflict {
                        object: r.to_string(),
                        verb: "apply",
                        message: format!("{message} (another applier owns these fields; use --force to take them)"),
                    });
                }
                let dry = self.cluster.apply(&r, &object, true, true).await?;
                (
                    dry,
                    true,
                    Some(format!("drift: fields changed by {}", managers.join(", "))),
                )
            }
            Err(e)
                if e.is_immutable()
                    && live.is_some()
                    && (self.options.recreate || policy::recreate_on_immutable(&m.object)) =>
            {
                // Only a new object can take the change: delete it and create it again.
                let mut p = Planned::without_dry_run(r, Action::Update, object.clone(), live, object, false);
                p.recreate = true;
                p.step.reason = Some(format!("recreated: {e}"));
                return Ok(p);
            }
            Err(e) => return Err(e),
        };
        // Keys of atomic-by-meaning maps that Git lacks and that this server keeps after the
        // apply (it merges the map key by key): removed by a patch just before the apply.
        let extras = ballast_plan::atomic::foreign_keys(&object, &dry);
        if let Some(l) = &live
            && !extras.is_empty()
            && !self.options.force
        {
            let appliers = ballast_plan::atomic::key_appliers(l, &extras, self.cluster.field_manager());
            if !appliers.is_empty() {
                return Err(KubeError::Conflict {
                    object: r.to_string(),
                    verb: "apply",
                    message: format!(
                        "keys Git lacks in {} are applied by {} (another applier owns these fields; use --force to take them)",
                        extras.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", "),
                        appliers.join(", ")
                    ),
                });
            }
        }
        let removal = (!extras.is_empty()).then(|| ballast_plan::atomic::removal_patch(&extras, &dry));
        let mut dry = dry;
        ballast_plan::atomic::remove_keys(&mut dry, &extras);
        let reason = match (reason, &extras) {
            (None, e) if !e.is_empty() => Some("drift: keys added to a selector outside Git".to_string()),
            (r, _) => r,
        };
        let (action, fields) = match &live {
            None => (Action::Create, Vec::new()),
            Some(l) => {
                let (before, after) = (normalize_for_compare(l), normalize_for_compare(&dry));
                if before == after && takeover.is_none() {
                    (Action::Unchanged, Vec::new())
                } else {
                    (Action::Update, changed_paths(&before, &after, 8))
                }
            }
        };
        let reason = match (&takeover, reason) {
            (Some(_), r) => {
                let from: Vec<&str> = live
                    .as_ref()
                    .map(|l| {
                        let mf = ManagedFields::of(l);
                        ballast_plan::TAKEN_OVER
                            .iter()
                            .copied()
                            .filter(|m| mf.manages(m))
                            .collect()
                    })
                    .unwrap_or_default();
                let taken = format!(
                    "taking over fields of {}",
                    if from.is_empty() {
                        "kubectl".to_string()
                    } else {
                        from.join(", ")
                    }
                );
                Some(match r {
                    Some(r) => format!("{r}; {taken}"),
                    None => taken,
                })
            }
            (None, r) => r,
        };
        let step = Step {
            object: r,
            action,
            desired: Some(dry),
            live,
            reason,
            fields,
        };
        Ok(Planned {
            step,
            object,
            force,
            removal,
            takeover,
            recreate: false,
            deferred: false,
        })
    }

    /// The plan of an object live as last applied ([`ApplyOptions::live_as_applied`]) from
    /// its dry-run alone: `None` when the answer shows anything the plan needs the live object
    /// for (the caller reads it and plans as usual).
    async fn dry_run_planned(
        &self,
        m: &Manifest,
        r: &ObjectRef,
        object: &Value,
        seen: u64,
    ) -> Result<Option<Planned>, KubeError> {
        let dry = match self.cluster.apply(r, object, true, self.options.force).await {
            Ok(dry) => dry,
            Err(KubeError::Conflict { .. }) => return Ok(None),
            Err(e) if e.is_immutable() => return Ok(None),
            Err(e) => return Err(e),
        };
        let exists = uid_of(&dry).is_some()
            && dry
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty());
        if !exists
            || policy::reconcile_disabled(Some(&m.object), Some(&dry))
            || !ballast_plan::atomic::foreign_keys(object, &dry).is_empty()
            || self.takeover_patch(&dry, object).is_some()
        {
            return Ok(None);
        }
        let action = if object_digest(&dry) == seen {
            Action::Unchanged
        } else {
            Action::Update
        };
        let mut p = Planned::without_dry_run(r.clone(), action, dry, None, object.clone(), false);
        p.force = self.options.force;
        Ok(Some(p))
    }

    /// A new object's dry-run first: `Some` plan to create it when the answer shows it does not
    /// exist (no `resourceVersion`); `None` when it exists or the answer is a conflict or an
    /// immutable field (the caller reads it and plans as usual).
    async fn create_planned(&self, r: &ObjectRef, object: &Value) -> Result<Option<Planned>, KubeError> {
        let dry = match self.cluster.apply(r, object, true, self.options.force).await {
            Ok(dry) => dry,
            Err(KubeError::Conflict { .. }) => return Ok(None),
            Err(e) if e.is_immutable() => return Ok(None),
            Err(e) => return Err(e),
        };
        let exists = dry
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty());
        if exists {
            return Ok(None);
        }
        let mut p = Planned::without_dry_run(r.clone(), Action::Create, dry, None, object.clone(), false);
        p.force = self.options.force;
        Ok(Some(p))
    }

    async fn wait_definitions(&self, refs: &[ObjectRef]) -> Result<(), String> {
        let deadline = Instant::now() + self.options.stage_timeout;
        for r in refs.iter().filter(|r| r.is_crd() || r.is_namespace()) {
            loop {
                let live = self.cluster.get(r).await.map_err(|e| e.to_string())?;
                let ready = live.as_ref().is_some_and(|l| {
                    if r.is_crd() {
                        condition_true(l, "Established")
                    } else {
                        l.pointer("/status/phase").and_then(Value::as_str) == Some("Active")
                    }
                });
                if ready {
                    break;
                }
                if Instant::now() > deadline {
                    let what = if r.is_crd() { "Established" } else { "Active" };
                    return Err(format!("{r}: not {what} after {:?}", self.options.stage_timeout));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }
}

fn one(e: KubeError) -> ApplyError {
    ApplyError::new(&ChangeSet::default(), vec![e.to_string()])
}

/// Manifests grouped by stage, each sorted by the ordering table.
fn staged(manifests: &[Manifest]) -> Vec<(StageKind, Vec<&Manifest>)> {
    let mut sorted: Vec<&Manifest> = manifests.iter().collect();
    let refs: Vec<ObjectRef> = sorted.iter().map(|m| m.object_ref()).collect();
    let mut idx: Vec<usize> = (0..sorted.len()).collect();
    idx.sort_by(|a, b| apply_order(&refs[*a]).cmp(&apply_order(&refs[*b])));
    sorted = idx.iter().map(|i| sorted[*i]).collect();
    let mut out: Vec<(StageKind, Vec<&Manifest>)> = Vec::new();
    for m in sorted {
        let kind = stage_of(&m.object_ref());
        match out.last_mut() {
            Some((k, v)) if *k == kind => v.push(m),
            _ => out.push((kind, vec![m])),
        }
    }
    out
}

/// Namespaces that the manifests create and that do not exist yet.
async fn pending_namespaces(cluster: &Cluster, manifests: &[&Manifest]) -> Result<HashSet<String>, KubeError> {
    let mut out = HashSet::new();
    for m in manifests {
        let r = m.object_ref();
        if r.is_namespace() && cluster.get(&r).await?.is_none() {
            out.insert(r.name.clone());
        }
    }
    Ok(out)
}

/// What a step did, the UID of the live object it leaves and, for a write, the digests of the
/// server's answer (the object's, and what the field manager owns in it).
type Written = (Change, Option<String>, Option<(Option<u64>, Option<u64>)>);

fn uid_of(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
}

/// True if `status.conditions` has `type` with status `True`.
pub(crate) fn condition_true(object: &Value, kind: &str) -> bool {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some(kind)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}
