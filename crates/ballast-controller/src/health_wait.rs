//! Health waits that hold no reconcile worker.
//!
//! A Kustomization whose objects are not all healthy right after its apply hands the wait to
//! [`HealthWaits`]: one task per waiting Kustomization polls the objects (every 0.5 s at first,
//! backing off to every 5 s) until all are healthy or the timeout passes, then asks for a
//! reconcile through the controller's trigger channel. That reconcile finds the ended wait and
//! writes the outcome without applying again, provided nothing changed meanwhile: the same
//! object (UID), generation, source revision and reconcile request, and no drift of its objects
//! (noted by the [`DriftWatch`]). Anything else cancels the wait and the reconcile runs in full.
//!
//! Guarantees: at most [`LOOKS_AT_ONCE`] waits look at their objects at the same time, so the
//! requests health waits send stay bounded however many Kustomizations wait (as they were when
//! each wait held one of the controller's workers); at most [`MAX_WAITS`] waits at once (beyond, the caller waits in its worker, as
//! before); a wait's entry holds the status to write at its end (inventory included) and is
//! dropped when that status is written, when it is cancelled (a new revision, spec or request,
//! drift, suspension, deletion), or, once ended, when the set is full; nothing survives a
//! restart (a fresh reconcile applies and waits again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ballast_api::Kustomization;
use ballast_api::kustomization::KustomizationStatus;
use ballast_core::ObjectRef;
use ballast_health::Waiter;
use ballast_kube::Cluster;
use kube::runtime::reflector::ObjectRef as KubeRef;
use tokio::sync::mpsc::UnboundedSender;

use crate::drift::DriftWatch;

/// Most Kustomizations waiting off the workers at once.
pub const MAX_WAITS: usize = 1024;

/// Most waits looking at their objects at the same moment (the others queue for their turn).
pub const LOOKS_AT_ONCE: usize = 4;

/// First pause between two looks at the objects; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// Longest pause between two looks at the objects (Flux's poll interval).
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// What a wait was started for; a reconcile that sees anything else cancels it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitFor {
    /// The Kustomization's UID.
    pub uid: Option<String>,
    /// Its generation.
    pub generation: Option<i64>,
    /// The source revision applied.
    pub revision: String,
    /// Its `reconcile.fluxcd.io/requestedAt` annotation.
    pub requested: Option<String>,
}

/// The objects a wait looks at, and the health rules that judge some of them (the
/// Kustomization's `healthCheckExprs`).
pub struct Watched {
    /// The objects.
    pub refs: Vec<ObjectRef>,
    /// Rules replacing kstatus for the objects they cover.
    pub rules: Option<ballast_health::Rules>,
}

/// How a wait ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every object became healthy.
    Healthy,
    /// The timeout passed: the objects not healthy, `Kind/ns/name: why` each.
    TimedOut(Vec<String>),
}

/// A wait that ended, with what its reconcile left to write.
pub struct Finished {
    /// How it ended.
    pub ended: Ended,
    /// The status the reconcile that started the wait computed (inventory, attempted revision,
    /// observed generation, handled request): the outcome is written on top of it.
    pub status: KustomizationStatus,
    /// The note of the apply (objects not pruned), for the Ready message.
    pub note: Option<String>,
    /// The wait's timeout, for the failure message.
    pub timeout: Duration,
}

/// A wait of one Kustomization, as a reconcile finds it.
pub enum Lookup {
    /// No wait (or one for something else, now cancelled).
    None,
    /// Still waiting.
    Pending,
    /// Ended: the entry is gone, its outcome is to be written.
    Finished(Finished),
}

struct Entry {
    key: WaitFor,
    status: KustomizationStatus,
    note: Option<String>,
    timeout: Duration,
    ended: Arc<Mutex<Option<Ended>>>,
    task: tokio::task::AbortHandle,
}

/// The waiting set: pending health waits, by Kustomization.
pub struct HealthWaits {
    entries: Mutex<HashMap<KubeRef<Kustomization>, Entry>>,
    cluster: Cluster,
    drift: DriftWatch,
    trigger: UnboundedSender<KubeRef<Kustomization>>,
    looks: Arc<tokio::sync::Semaphore>,
}

impl HealthWaits {
    /// An empty set polling through `cluster`, noting drift through `drift`, and asking for
    /// reconciles on `trigger`.
    pub fn new(cluster: Cluster, drift: DriftWatch, trigger: UnboundedSender<KubeRef<Kustomization>>) -> Self {
        HealthWaits {
            entries: Mutex::new(HashMap::new()),
            cluster,
            drift,
            trigger,
            looks: Arc::new(tokio::sync::Semaphore::new(LOOKS_AT_ONCE)),
        }
    }

    /// Starts waiting for `refs` of `ks` to be healthy, for `timeout` from now, replacing any
    /// wait of `ks`; `status` and `note` are kept for the outcome. False (nothing started)
    /// when [`MAX_WAITS`] waits are pending.
    pub fn start(
        &self,
        ks: &Kustomization,
        key: WaitFor,
        watched: Watched,
        timeout: Duration,
        status: KustomizationStatus,
        note: Option<String>,
    ) -> bool {
        let owner = KubeRef::from_obj(ks);
        let mut entries = self.lock();
        if let Some(old) = entries.remove(&owner) {
            old.task.abort();
        } else if entries.len() >= MAX_WAITS {
            // Ended waits whose reconcile never came (their Kustomization gone) make room; a
            // Kustomization whose outcome is dropped so just applies and waits again.
            let ended: Vec<KubeRef<Kustomization>> = entries
                .iter()
                .filter(|(_, e)| e.ended.lock().unwrap_or_else(|p| p.into_inner()).is_some())
                .map(|(k, _)| k.clone())
                .collect();
            for k in ended {
                entries.remove(&k);
                self.drift.unnote(&k);
            }
            if entries.len() >= MAX_WAITS {
                return false;
            }
        }
        let ended = Arc::new(Mutex::new(None));
        let task = tokio::spawn(watch(
            self.cluster.clone(),
            self.looks.clone(),
            watched,
            Instant::now() + timeout,
            ended.clone(),
            self.trigger.clone(),
            owner.clone(),
        ))
        .abort_handle();
        // Drift from now on (this reconcile's own writes are held) cancels the wait.
        self.drift.note(&owner);
        entries.insert(
            owner,
            Entry {
                key,
                status,
                note,
                timeout,
                ended,
                task,
            },
        );
        true
    }

    /// The wait of `owner` for exactly `key`. A wait for anything else, or whose objects
    /// drifted meanwhile, is cancelled (and [`Lookup::None`] returned); an ended one is removed
    /// and returned.
    pub fn lookup(&self, owner: &KubeRef<Kustomization>, key: &WaitFor) -> Lookup {
        let mut entries = self.lock();
        let Some(entry) = entries.get(owner) else {
            return Lookup::None;
        };
        if entry.key != *key || self.drift.noted_drift(owner) {
            drop(entries);
            self.cancel(owner);
            return Lookup::None;
        }
        let ended = entry.ended.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(ended) = ended else {
            return Lookup::Pending;
        };
        let Some(entry) = entries.remove(owner) else {
            return Lookup::None;
        };
        self.drift.unnote(owner);
        Lookup::Finished(Finished {
            ended,
            status: entry.status,
            note: entry.note,
            timeout: entry.timeout,
        })
    }

    /// Cancels the wait of `owner`, if any.
    pub fn cancel(&self, owner: &KubeRef<Kustomization>) {
        if let Some(entry) = self.lock().remove(owner) {
            entry.task.abort();
        }
        self.drift.unnote(owner);
    }

    /// True when a wait of `owner` is pending or ended and not yet collected.
    pub fn holds(&self, owner: &KubeRef<Kustomization>) -> bool {
        self.lock().contains_key(owner)
    }

    /// How many waits are pending or ended and not yet collected.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no wait is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<KubeRef<Kustomization>, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Looks at `refs` until all are healthy or `deadline` passes (the reconcile looked once just
/// before), records how it ended in `ended`, and asks for a reconcile of `owner`.
async fn watch(
    cluster: Cluster,
    looks: Arc<tokio::sync::Semaphore>,
    Watched { refs, rules }: Watched,
    deadline: Instant,
    ended: Arc<Mutex<Option<Ended>>>,
    trigger: UnboundedSender<KubeRef<Kustomization>>,
    owner: KubeRef<Kustomization>,
) {
    let mut pause = FIRST_PAUSE;
    let outcome = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(pause.min(left)).await;
        let report = {
            // Never closed: the set owns the semaphore for its whole life.
            let _turn = looks.acquire().await;
            Waiter::new(&cluster)
                .with_rules(rules.clone())
                .wait(&refs, Duration::ZERO)
                .await
        };
        if report.all_healthy() {
            break Ended::Healthy;
        }
        if Instant::now() >= deadline {
            break Ended::TimedOut(report.unhealthy());
        }
        pause = (pause * 2).min(MAX_PAUSE);
    };
    *ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
    let _ = trigger.send(owner);
}
