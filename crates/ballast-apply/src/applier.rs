//! Plan and staged apply.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use ballast_core::{Action, Change, ChangeSet, ChangeSetEntry, Inventory, Manifest, ObjectRef, Plan, Stage, Step};
use ballast_kube::{Cluster, FIELD_MANAGER, KubeError, conflict_managers};
use ballast_plan::{
    StageKind, already_applied, apply_order, changed_paths, normalize_for_compare, object_digest, prepare_for_apply,
    stage_of,
};
use futures::stream::{self, StreamExt};
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
    /// leaves alone any object whose owner labels name someone else: an object that moved to
    /// another owner is never deleted by the one it left.
    pub owner_labels: std::collections::BTreeMap<String, String>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            force: false,
            concurrency: 32,
            stage_timeout: Duration::from_secs(60),
            prune: false,
            owner_labels: Default::default(),
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
}

impl Planned {
    /// A step decided without asking the server (no dry-run, no force).
    fn without_dry_run(
        object_ref: ObjectRef,
        action: Action,
        desired: Value,
        live: Option<Value>,
        object: Value,
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
        let all: Vec<&Manifest> = manifests.iter().collect();
        let pending = pending_namespaces(self.cluster, &all).await.map_err(one)?;
        let mut plan = Plan::default();
        let mut errors = Vec::new();
        for (kind, objects) in staged(manifests) {
            let results = self.plan_stage(&objects, &pending).await;
            let mut stage = Stage {
                name: kind.name().into(),
                steps: Vec::new(),
            };
            for r in results {
                match r {
                    Ok(p) => stage.steps.push(p.step),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            plan.stages.push(stage);
        }
        if !errors.is_empty() {
            return Err(ApplyError {
                changes: ChangeSet::default(),
                errors,
            });
        }
        if self.options.prune {
            let current: Vec<ObjectRef> = manifests.iter().map(Manifest::object_ref).collect();
            plan.prunes = crate::prune::plan_prunes(self.cluster, previous.stale(&current), &self.options.owner_labels)
                .await
                .map_err(one)?;
        }
        Ok(plan)
    }

    /// Applies `manifests` stage by stage, then prunes what `previous` owned and is no longer
    /// desired (when `options.prune`). Returns the change set of everything done.
    pub async fn apply(&self, manifests: &[Manifest], previous: &Inventory) -> Result<ChangeSet, ApplyError> {
        let mut changes = ChangeSet::default();
        let fail = |changes: &ChangeSet, errors: Vec<String>| ApplyError {
            changes: changes.clone(),
            errors,
        };
        for (kind, objects) in staged(manifests) {
            let pending = pending_namespaces(self.cluster, &objects)
                .await
                .map_err(|e| fail(&changes, vec![e.to_string()]))?;
            if objects.iter().any(|m| !self.cluster.serves(&m.object_ref())) {
                self.cluster
                    .refresh()
                    .await
                    .map_err(|e| fail(&changes, vec![e.to_string()]))?;
            }
            let mut planned = Vec::new();
            let mut errors = Vec::new();
            for r in self.plan_stage(&objects, &pending).await {
                match r {
                    Ok(p) => planned.push(p),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            if !errors.is_empty() {
                return Err(fail(&changes, errors));
            }
            let results: Vec<(Step, Result<Change, KubeError>)> = stream::iter(planned)
                .map(|p| async move {
                    let change = match p.step.action {
                        Action::Create | Action::Update => {
                            let created = p.step.action == Action::Create;
                            self.cluster
                                .apply(&p.step.object, &p.object, false, p.force)
                                .await
                                .map(|_| if created { Change::Created } else { Change::Configured })
                        }
                        _ => Ok(Change::Unchanged),
                    };
                    (p.step, change)
                })
                .buffered(self.options.concurrency.max(1))
                .collect()
                .await;
            for (step, result) in results {
                match result {
                    Ok(c) => changes.entries.push(ChangeSetEntry {
                        object: step.object,
                        change: c,
                        reason: step.reason.filter(|_| c == Change::Configured),
                        fields: if c == Change::Configured {
                            step.fields
                        } else {
                            Vec::new()
                        },
                        digest: step.desired.as_ref().map(object_digest),
                    }),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            if !errors.is_empty() {
                return Err(fail(&changes, errors));
            }
            if kind == StageKind::Definitions {
                let refs: Vec<ObjectRef> = objects.iter().map(|m| m.object_ref()).collect();
                self.wait_definitions(&refs)
                    .await
                    .map_err(|e| fail(&changes, vec![e]))?;
                if refs.iter().any(ObjectRef::is_crd) {
                    self.cluster
                        .refresh()
                        .await
                        .map_err(|e| fail(&changes, vec![e.to_string()]))?;
                }
            }
        }
        if self.options.prune {
            let current: Vec<ObjectRef> = manifests.iter().map(Manifest::object_ref).collect();
            let steps = crate::prune::plan_prunes(self.cluster, previous.stale(&current), &self.options.owner_labels)
                .await
                .map_err(|e| fail(&changes, vec![e.to_string()]))?;
            let errors = crate::prune::execute(self.cluster, steps, &mut changes).await;
            if !errors.is_empty() {
                return Err(fail(&changes, errors));
            }
        }
        Ok(changes)
    }

    async fn plan_stage(&self, objects: &[&Manifest], pending: &HashSet<String>) -> Vec<Result<Planned, KubeError>> {
        let mut prefetched = match self.prefetch(objects, pending).await {
            Ok(p) => p,
            Err(e) => return vec![Err(e)],
        };
        // Futures collected first (not mapped inside the stream): keeps the future Send for any
        // lifetime, so callers can run it on a multi-threaded runtime. Each takes its prefetched
        // live object by value (no copy).
        let mut planned = Vec::with_capacity(objects.len());
        for m in objects.iter().copied() {
            let live = prefetched.remove(&m.object_ref());
            planned.push(self.plan_one(m, pending, live));
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
        pending: &HashSet<String>,
    ) -> Result<HashMap<ObjectRef, Option<Value>>, KubeError> {
        let mut groups: HashMap<(String, String, String, Option<String>), Vec<ObjectRef>> = HashMap::new();
        for m in objects {
            let r = m.object_ref();
            let in_pending = r.namespace.as_ref().is_some_and(|ns| pending.contains(ns));
            if self.cluster.serves(&r) && !in_pending {
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
        pending: &HashSet<String>,
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
        let unserved = !self.cluster.serves(&r);
        let in_pending_ns = r.namespace.as_ref().is_some_and(|ns| pending.contains(ns));
        if unserved || in_pending_ns {
            // Its CRD or Namespace is created by this same sync; nothing can exist yet.
            let desired = object.clone();
            return Ok(Planned::without_dry_run(r, Action::Create, desired, None, object));
        }
        let live = match prefetched {
            Some(live) => live,
            None => self.cluster.get(&r).await?,
        };
        if let Some(l) = &live
            && already_applied(&object, l, FIELD_MANAGER)
        {
            // The live object already holds exactly what this apply would send: no dry-run.
            let desired = l.clone();
            return Ok(Planned::without_dry_run(r, Action::Unchanged, desired, live, object));
        }
        let (dry, force, reason) = match self.cluster.apply(&r, &object, true, self.options.force).await {
            Ok(dry) => (dry, self.options.force, None),
            Err(KubeError::Conflict { message, .. }) => {
                let managers = conflict_managers(&message);
                let appliers: Vec<&String> = managers
                    .iter()
                    .filter(|m| live.as_ref().is_some_and(|l| has_apply_manager(l, m)))
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
            Err(e) => return Err(e),
        };
        let (action, fields) = match &live {
            None => (Action::Create, Vec::new()),
            Some(l) => {
                let (before, after) = (normalize_for_compare(l), normalize_for_compare(&dry));
                if before == after {
                    (Action::Unchanged, Vec::new())
                } else {
                    (Action::Update, changed_paths(&before, &after, 8))
                }
            }
        };
        let step = Step {
            object: r,
            action,
            desired: Some(dry),
            live,
            reason,
            fields,
        };
        Ok(Planned { step, object, force })
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
    ApplyError {
        changes: ChangeSet::default(),
        errors: vec![e.to_string()],
    }
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

fn has_apply_manager(live: &Value, manager: &str) -> bool {
    live.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|mf| {
            mf.iter().any(|e| {
                e.get("manager").and_then(Value::as_str) == Some(manager)
                    && e.get("operation").and_then(Value::as_str) == Some("Apply")
            })
        })
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
