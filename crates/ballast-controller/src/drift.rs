//! Drift: live changes to managed objects, noticed through watches.
//!
//! Every object a Kustomization owns is watched (one watch per group/version/kind, across
//! namespaces, selecting only objects that carry the owner label, started on first need). After
//! each sync the reconciler records, per object, the digest of what it applied. A watch event whose
//! normalized digest differs from that — an edit, a scale, a delete — asks for a reconcile of the
//! owner at once. Status-only changes and our own writes leave the digest unchanged and trigger
//! nothing. While an owner is held ([`DriftWatch::hold`], for the length of its reconcile), what
//! its objects show is remembered and compared, when the hold ends, with the digests the
//! reconcile recorded: the reconcile's own writes (a new revision's objects) trigger nothing, a
//! live change made meanwhile still does. A change limited to fields the owner's field manager
//! does not own (a controller's annotation, such as the Deployment revision) is not drift: once
//! an object was seen as expected, what the manager's fields hold ([`owned_digest`]) is its
//! baseline, and a later state with the same baseline triggers nothing. The owner's apply answers
//! give the baseline too ([`DriftWatch::track_applied`]), so a controller that writes to a new
//! object before the watch shows it as applied wakes nothing either.
//!
//! The watches also keep, per owned object, the digest of its live state as last seen (a
//! `u64`, not the object, and one of its manager's fields): [`DriftWatch::in_sync`] tells from
//! memory alone, with no request, whether everything an owner owns is live as it was applied
//! (other managers' fields aside). A watch that restarts (relist)
//! forgets what it saw of its kind until the relist has shown it again, and asks the owners of
//! objects gone meanwhile to reconcile.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ballast_api::Kustomization;
use ballast_core::ObjectRef;
use ballast_kube::Cluster;
use ballast_plan::{object_digest, owned_digest};
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::ObjectRef as KubeRef;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc::UnboundedSender;

use crate::watch_health::WatchHealth;

/// The label every object applied by a Kustomization carries (with its name as value).
pub const OWNER_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";

/// The label helm (and Ballast's releases) put on every object of a release.
pub const HELM_MANAGED_LABEL: &str = "app.kubernetes.io/managed-by=Helm";

/// What is known of one object an owner applied (one entry per object, so that each object's
/// reference is kept once here rather than once per fact).
struct Tracked<K: kube::Resource<DynamicType = ()>> {
    /// Its owner.
    owner: KubeRef<K>,
    /// Digest the live object should keep (the apply's answer), once applied by this process.
    expected: Option<u64>,
    /// What the field manager's fields held when the object was last seen as expected.
    baseline: Option<u64>,
    /// Digest of the desired object it was last applied from (see
    /// [`DriftWatch::live_as_applied`]).
    desired: Option<u64>,
}

struct State<K: kube::Resource<DynamicType = ()>> {
    tracked: HashMap<ObjectRef, Tracked<K>>,
    owned_by: HashMap<KubeRef<K>, Vec<ObjectRef>>,
    /// Digest of each watched object's live state as its watch last saw it, and of what the
    /// field manager owns in it (the watches select only labelled objects, so this is bounded
    /// by what the owners applied).
    live: HashMap<ObjectRef, (u64, Option<u64>)>,
    watching: HashSet<(String, String, String)>,
    /// Owners being reconciled: the last digest each of their objects showed meanwhile (`None`
    /// once deleted).
    held: HashMap<KubeRef<K>, HashMap<ObjectRef, Vec<Seen>>>,
    /// Owners whose drift triggers are noted ([`DriftWatch::note`]): whether one was sent.
    notes: HashMap<KubeRef<K>, bool>,
}

/// What one apply of an owner's objects left, per object ([`DriftWatch::track_applied`]).
#[derive(Default)]
pub struct Applied {
    /// Digest of the server's answer: what the live object should stay.
    pub digests: HashMap<ObjectRef, u64>,
    /// Digest of what the field manager owns in that answer ([`owned_digest`]).
    pub owned: HashMap<ObjectRef, u64>,
    /// Digest of the desired object it was applied from ([`object_digest`] of the manifest).
    pub desired: HashMap<ObjectRef, u64>,
}

/// One state a watch reported: `None` once deleted, else its digest and the digest of what the
/// field manager owns in it.
type Seen = Option<(u64, Option<u64>)>;

/// States remembered per object while its owner is held (the latest ones).
const HELD_STATES: usize = 8;

impl<K: kube::Resource<DynamicType = ()>> Default for State<K> {
    fn default() -> Self {
        State {
            tracked: HashMap::new(),
            owned_by: HashMap::new(),
            live: HashMap::new(),
            watching: HashSet::new(),
            held: HashMap::new(),
            notes: HashMap::new(),
        }
    }
}

/// Watches managed objects and asks for reconciles of their owner (a Kustomization, or
/// another kind of owner `K` such as a HelmRelease) when they drift.
pub struct DriftWatch<K: kube::Resource<DynamicType = ()> = Kustomization> {
    state: Arc<Mutex<State<K>>>,
    cluster: Cluster,
    trigger: UnboundedSender<KubeRef<K>>,
    health: WatchHealth,
    selector: &'static str,
    /// The field manager the owners' objects are applied with, when ownership is judged.
    manager: Option<Arc<str>>,
}

impl<K: kube::Resource<DynamicType = ()>> Clone for DriftWatch<K> {
    fn clone(&self) -> Self {
        DriftWatch {
            state: self.state.clone(),
            cluster: self.cluster.clone(),
            trigger: self.trigger.clone(),
            health: self.health.clone(),
            selector: self.selector,
            manager: self.manager.clone(),
        }
    }
}

impl DriftWatch<Kustomization> {
    /// A drift watch of Kustomizations' objects (selected by [`OWNER_LABEL`]) that sends owners
    /// to reconcile on `trigger` and reports its watches' failures to `health`.
    pub fn new(cluster: Cluster, trigger: UnboundedSender<KubeRef<Kustomization>>, health: WatchHealth) -> Self {
        Self::with_selector(cluster, trigger, health, OWNER_LABEL)
    }
}

impl<K: kube::Resource<DynamicType = ()> + 'static> DriftWatch<K> {
    /// A drift watch of the objects matching the label `selector` (the watches select only
    /// them), owned by objects of kind `K`.
    pub fn with_selector(
        cluster: Cluster,
        trigger: UnboundedSender<KubeRef<K>>,
        health: WatchHealth,
        selector: &'static str,
    ) -> Self {
        DriftWatch {
            state: Arc::new(Mutex::new(State::default())),
            manager: None,
            cluster,
            trigger,
            health,
            selector,
        }
    }

    /// The same watch, judging ownership by field manager `manager` (the one the owners'
    /// objects are applied with): a change limited to fields neither it nor a manager its
    /// applies take over owns is not drift (see the module documentation). Without it, any
    /// change is.
    pub fn with_manager(mut self, manager: &str) -> Self {
        self.manager = Some(manager.into());
        self
    }

    /// Records what `owner` owns now, and the digest each applied object should keep; starts
    /// watches for kinds not watched yet.
    pub fn track(&self, owner: &K, objects: &[ObjectRef], digests: &HashMap<ObjectRef, u64>) {
        let applied = Applied {
            digests: digests.clone(),
            ..Default::default()
        };
        self.track_applied(owner, objects, &applied);
    }

    /// As [`Self::track`], with more of what the apply left: per object, what the field
    /// manager owns in the apply's answer (a later state whose owned fields are the same is not
    /// drift even if the watch never saw the object exactly as applied: another manager wrote
    /// to it before this call, as the controller manager does to a new Deployment), and the
    /// desired object's digest ([`Self::live_as_applied`]).
    pub fn track_applied(&self, owner: &K, objects: &[ObjectRef], applied: &Applied) {
        let (digests, baselines) = (&applied.digests, &applied.owned);
        let owner = KubeRef::from_obj(owner);
        let mut new_kinds = Vec::new();
        {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let keep: std::collections::HashSet<&ObjectRef> = objects.iter().collect();
            for old in st.owned_by.remove(&owner).unwrap_or_default() {
                if st.tracked.get(&old).is_some_and(|t| t.owner == owner) && !keep.contains(&old) {
                    st.tracked.remove(&old);
                }
            }
            for r in objects {
                // The apply's answer says what the manager's fields hold; else a state seen as
                // applied does (one seen before this call, or later by the watch).
                let seen = digests
                    .get(r)
                    .and_then(|d| st.live.get(r).filter(|(l, _)| l == d).and_then(|(_, o)| *o));
                let t = st.tracked.entry(r.clone()).or_insert_with(|| Tracked {
                    owner: owner.clone(),
                    expected: None,
                    baseline: None,
                    desired: None,
                });
                t.owner = owner.clone();
                // Without a new digest (not applied this time), the last known one still holds.
                if let Some(d) = digests.get(r)
                    && t.expected.replace(*d) != Some(*d)
                {
                    t.baseline = None;
                    t.desired = None;
                }
                if let Some(d) = applied.desired.get(r) {
                    t.desired = Some(*d);
                }
                if digests.contains_key(r)
                    && let Some(b) = baselines.get(r).copied().or(seen)
                {
                    t.baseline = Some(b);
                }
                let key = (r.group.clone(), r.version.clone(), r.kind.clone());
                if st.watching.insert(key) {
                    new_kinds.push(r.clone());
                }
            }
            if !objects.is_empty() {
                st.owned_by.insert(owner, objects.to_vec());
            }
        }
        for r in new_kinds {
            self.spawn_watch(r);
        }
    }

    /// Holds `owner`'s drift triggers until the returned guard is dropped (one reconcile of it:
    /// the controller never runs two at once). Meanwhile the last state each of its objects
    /// shows is remembered; on drop, an object deleted meanwhile, or whose last digest differs
    /// from the expectation recorded by then ([`DriftWatch::track`]), asks for one reconcile of
    /// the owner. The owner's own writes during the reconcile, once tracked, trigger nothing.
    pub fn hold(&self, owner: &K) -> DriftHold<K> {
        let owner = KubeRef::from_obj(owner);
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .held
            .insert(owner.clone(), HashMap::new());
        DriftHold {
            watch: self.clone(),
            owner,
        }
    }

    /// Ends a hold: whether anything `owner` still owns drifted meanwhile (see [`Self::hold`]).
    fn release(&self, owner: &KubeRef<K>) {
        let drifted = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let held = st.held.remove(owner).unwrap_or_default();
            let mut drifted = false;
            for (r, states) in held {
                if st.tracked.get(&r).is_some_and(|t| &t.owner == owner) {
                    // In order: a state as expected sets the baseline the later ones are read by.
                    let last = states.into_iter().fold(false, |_, seen| judge(&mut st, &r, seen));
                    drifted |= last;
                }
            }
            drifted
        };
        if drifted {
            self.ask(owner.clone());
        }
    }

    fn spawn_watch(&self, like: ObjectRef) {
        let Some((ar, _)) = self.cluster.api_resource(&like) else {
            return;
        };
        let api: Api<DynamicObject> = Api::all_with(self.cluster.client().clone(), &ar);
        let this = self.clone();
        tokio::spawn(async move {
            // Only objects a Kustomization applied (they carry its owner label): the watch
            // neither lists nor streams the rest of the cluster. An object whose label is
            // removed leaves the selection, which the server reports as a deletion: the owner
            // reconciles and puts the label back.
            let config = watcher::Config::default().labels(this.selector);
            let mut events = watcher(api, config).default_backoff().boxed();
            let name = if like.group.is_empty() {
                format!("drift {}/{}", like.version, like.kind)
            } else {
                format!("drift {}/{}/{}", like.group, like.version, like.kind)
            };
            while let Some(event) = events.next().await {
                match event {
                    // The initial list counts too: an object created before its watch started
                    // gets its baseline there (else a controller's later annotation is drift).
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                        this.health.succeeded(&name);
                        this.observe(&like, o, false)
                    }
                    Ok(watcher::Event::Delete(o)) => {
                        this.health.succeeded(&name);
                        this.observe(&like, o, true)
                    }
                    Ok(watcher::Event::Init) => {
                        this.health.succeeded(&name);
                        this.forget_kind(&like);
                    }
                    Ok(watcher::Event::InitDone) => {
                        this.health.succeeded(&name);
                        this.missing_after_relist(&like);
                    }
                    Err(e) => this.health.failed(&name, &e.to_string()),
                }
            }
        });
    }

    /// True when every object of `objects` (what `owner` owns) is live with the digest it was
    /// applied with, or (with a field manager) with the fields that manager owns as they were
    /// then, as the watches last saw it: the same judgement as a drift trigger's. Answered from
    /// memory: no request. False for an object not applied by this process yet, not seen by its
    /// watch yet (a watch starting or relisting), deleted, or drifted.
    pub fn in_sync(&self, objects: &[ObjectRef]) -> bool {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        objects.iter().all(|r| st.in_sync(r))
    }

    /// True when object `r` is in sync ([`Self::in_sync`]) and was last applied from a desired
    /// object of digest `desired` ([`Applied::desired`]): applying that object again would
    /// change nothing. Answered from memory: no request.
    pub fn live_as_applied(&self, r: &ObjectRef, desired: u64) -> bool {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.tracked.get(r).and_then(|t| t.desired) == Some(desired) && st.in_sync(r)
    }

    /// The digest of object `r` as its watch last saw it, when it is in sync
    /// ([`Self::in_sync`]): live as this process last applied it, whatever it was applied
    /// from. Answered from memory: no request.
    pub fn in_sync_digest(&self, r: &ObjectRef) -> Option<u64> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.in_sync(r).then(|| st.live.get(r).map(|(d, _)| *d)).flatten()
    }

    /// A watch of `like`'s kind (re)lists: what it saw of that kind is forgotten until the list
    /// shows it again.
    fn forget_kind(&self, like: &ObjectRef) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.live.retain(|r, _| !same_kind(r, like));
    }

    /// After a relist of `like`'s kind: owners of objects the list did not show (deleted while
    /// the watch was down) reconcile.
    fn missing_after_relist(&self, like: &ObjectRef) {
        let owners: HashSet<KubeRef<K>> = {
            let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.tracked
                .iter()
                .filter(|(r, t)| same_kind(r, like) && t.expected.is_some() && !st.live.contains_key(*r))
                .map(|(_, t)| t.owner.clone())
                .collect()
        };
        for owner in owners {
            self.ask(owner);
        }
    }

    fn observe(&self, like: &ObjectRef, mut object: DynamicObject, deleted: bool) {
        // Items of the watch's initial list come without their type; put it back so they
        // digest like the objects of watch events and of applies.
        object.types = Some(kube::api::TypeMeta {
            api_version: like.api_version(),
            kind: like.kind.clone(),
        });
        let r = ObjectRef {
            group: like.group.clone(),
            version: like.version.clone(),
            kind: like.kind.clone(),
            namespace: object.metadata.namespace.clone(),
            name: object.metadata.name.clone().unwrap_or_default(),
        };
        let owner = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            // What the watch sees is kept even before an owner is known: an object created by
            // a sync is usually seen before the sync records it.
            let live = (!deleted).then(|| serde_json::to_value(&object).unwrap_or_default());
            let seen: Seen = live.map(|live| {
                let owned = self.manager.as_deref().and_then(|m| owned_digest(&live, m));
                (object_digest(&live), owned)
            });
            match seen {
                Some(s) => {
                    st.live.insert(r.clone(), s);
                }
                None => {
                    st.live.remove(&r);
                }
            }
            let Some(owner) = st.tracked.get(&r).map(|t| t.owner.clone()) else {
                return;
            };
            if let Some(held) = st.held.get_mut(&owner) {
                let states = held.entry(r).or_default();
                if states.len() >= HELD_STATES {
                    states.remove(0);
                }
                states.push(seen);
                return;
            }
            if !judge(&mut st, &r, seen) {
                return;
            }
            owner
        };
        self.ask(owner);
    }

    /// Asks for a reconcile of `owner` because its objects drifted (noted when asked for).
    fn ask(&self, owner: KubeRef<K>) {
        if let Some(note) = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .notes
            .get_mut(&owner)
        {
            *note = true;
        }
        let _ = self.trigger.send(owner);
    }

    /// Notes from now on whether a drift of `owner`'s objects asks for a reconcile (while a
    /// health wait of it is pending, see [`crate::health_wait`]), until [`Self::unnote`].
    pub fn note(&self, owner: &KubeRef<K>) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.notes.insert(owner.clone(), false);
    }

    /// True when a drift of `owner`'s objects asked for a reconcile since [`Self::note`].
    pub fn noted_drift(&self, owner: &KubeRef<K>) -> bool {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.notes.get(owner).copied().unwrap_or(false)
    }

    /// Stops noting `owner`'s drift triggers.
    pub fn unnote(&self, owner: &KubeRef<K>) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.notes.remove(owner);
    }
}

impl<K: kube::Resource<DynamicType = ()>> State<K> {
    /// Object `r` is live as applied, or with its field manager's fields as then.
    fn in_sync(&self, r: &ObjectRef) -> bool {
        match (self.tracked.get(r), self.live.get(r)) {
            (Some(t), Some((l, owned))) => {
                t.expected == Some(*l) || (t.expected.is_some() && owned.is_some() && t.baseline == *owned)
            }
            _ => false,
        }
    }
}

/// Same group, version and kind.
fn same_kind(a: &ObjectRef, b: &ObjectRef) -> bool {
    a.kind == b.kind && a.group == b.group && a.version == b.version
}

/// Whether object `r` drifted in state `seen`: deleted, or other than expected with its field
/// manager's fields other than in its baseline. Only a known expectation can be drifted from;
/// without one, wait for a sync. A state as expected becomes the baseline.
fn judge<K: kube::Resource<DynamicType = ()>>(st: &mut State<K>, r: &ObjectRef, seen: Seen) -> bool {
    let Some((digest, owned)) = seen else { return true };
    let Some(t) = st.tracked.get_mut(r) else { return false };
    match t.expected {
        None => false,
        Some(e) if e == digest => {
            t.baseline = owned;
            false
        }
        Some(_) => owned.is_none() || t.baseline != owned,
    }
}

/// A hold on an owner's drift triggers ([`DriftWatch::hold`]); dropping it ends the hold.
pub struct DriftHold<K: kube::Resource<DynamicType = ()> + 'static> {
    watch: DriftWatch<K>,
    owner: KubeRef<K>,
}

impl<K: kube::Resource<DynamicType = ()> + 'static> Drop for DriftHold<K> {
    fn drop(&mut self) {
        self.watch.release(&self.owner);
    }
}
