//! One render per source revision and path, shared by the Kustomizations that render it.
//!
//! Kustomizations of one source, revision and `path` (one base, many tenants differing by
//! `targetNamespace`, `namePrefix` or patches) render the path once: the first renders, those
//! asking meanwhile wait for that render (single flight), and those asking shortly after get
//! it too. Each then applies its own overrides to a copy.
//!
//! Guarantees: the key holds everything that determines the render's output (revision, the
//! artifact's directory, path, ignore rules, default namespace, limits); renders that decrypt
//! are never shared (their caller renders alone). A failed render is not kept. At most
//! [`MAX_ENTRIES`] renders are kept, each for [`KEEP`] after its last use: at rest, none.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ballast_core::Manifest;
use ballast_render::Limits;
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// Most renders kept at once (the least recently used goes first).
pub const MAX_ENTRIES: usize = 32;

/// How long a render is kept after its last use.
pub const KEEP: Duration = Duration::from_secs(60);

/// What determines a render's output.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RenderKey {
    /// The source revision.
    pub revision: String,
    /// The directory holding it.
    pub root: PathBuf,
    /// The path rendered, relative to `root`.
    pub path: PathBuf,
    /// Files left out (`.gitignore` syntax).
    pub ignore: Option<String>,
    /// Namespace of namespaced objects that name none.
    pub default_namespace: Option<String>,
    /// Bounds of the render.
    pub limits: Limits,
}

/// One render, done once.
type Shared = Arc<OnceCell<Arc<Vec<Manifest>>>>;

struct Slot {
    render: Shared,
    used: Instant,
    id: u64,
}

#[derive(Default)]
struct Slots {
    map: HashMap<RenderKey, Slot>,
    next_id: u64,
}

/// Renders by key, shared while in use and for [`KEEP`] after.
#[derive(Clone)]
pub struct RenderCache {
    slots: Arc<Mutex<Slots>>,
    keep: Duration,
}

impl Default for RenderCache {
    fn default() -> Self {
        Self::keeping(KEEP)
    }
}

impl RenderCache {
    /// A cache keeping each render for `keep` after its last use.
    pub fn keeping(keep: Duration) -> Self {
        RenderCache {
            slots: Arc::default(),
            keep,
        }
    }

    /// The render of `key`: kept or in progress, else made by `render` (one caller renders;
    /// the others asking meanwhile wait for it). An error is returned to that caller and not
    /// kept. Must run inside a Tokio runtime (an expiry task is spawned per new entry).
    pub async fn get<E, F, Fut>(&self, key: RenderKey, render: F) -> Result<Arc<Vec<Manifest>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Manifest>, E>>,
    {
        let shared = self.slot(key.clone());
        let out = shared
            .get_or_try_init(|| async { render().await.map(Arc::new) })
            .await
            .cloned();
        if out.is_err() {
            let mut slots = self.lock();
            if slots
                .map
                .get(&key)
                .is_some_and(|s| Arc::ptr_eq(&s.render, &shared) && !s.render.initialized())
            {
                slots.map.remove(&key);
            }
        }
        out
    }

    /// How many renders are kept or in progress.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of `key`, marked used now; a new one (evicting the least recently used when
    /// full) gets a task that drops it once unused for the time it is kept.
    fn slot(&self, key: RenderKey) -> Shared {
        let mut slots = self.lock();
        if let Some(slot) = slots.map.get_mut(&key) {
            slot.used = Instant::now();
            return slot.render.clone();
        }
        if slots.map.len() >= MAX_ENTRIES
            && let Some(oldest) = slots.map.iter().min_by_key(|(_, s)| s.used).map(|(k, _)| k.clone())
        {
            slots.map.remove(&oldest);
        }
        slots.next_id += 1;
        let id = slots.next_id;
        let render = Shared::default();
        slots.map.insert(
            key.clone(),
            Slot {
                render: render.clone(),
                used: Instant::now(),
                id,
            },
        );
        let this = self.clone();
        tokio::spawn(async move { this.expire(key, id).await });
        render
    }

    /// Drops the slot `id` of `key` once unused for the time it is kept.
    async fn expire(&self, key: RenderKey, id: u64) {
        let keep = self.keep;
        let mut wait = keep;
        loop {
            tokio::time::sleep(wait).await;
            let mut slots = self.lock();
            let Some(slot) = slots.map.get(&key).filter(|s| s.id == id) else {
                return;
            };
            let idle = slot.used.elapsed();
            if idle >= keep {
                slots.map.remove(&key);
                return;
            }
            wait = keep - idle;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(path: &str) -> RenderKey {
        RenderKey {
            revision: "main@sha1:1".into(),
            root: "/r".into(),
            path: path.into(),
            ignore: None,
            default_namespace: Some("default".into()),
            limits: Limits::default(),
        }
    }

    #[tokio::test]
    async fn one_render_per_key_even_when_asked_at_once() {
        let cache = RenderCache::default();
        let renders = Arc::new(AtomicUsize::new(0));
        let ask = |path: &'static str| {
            let (cache, renders) = (cache.clone(), renders.clone());
            async move {
                cache
                    .get(key(path), || async {
                        renders.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok::<_, String>(Vec::new())
                    })
                    .await
                    .unwrap()
            }
        };
        let (a, b, c) = tokio::join!(ask("base"), ask("base"), ask("other"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(renders.load(Ordering::SeqCst), 2);
        ask("base").await;
        assert_eq!(renders.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_render_is_not_kept() {
        let cache = RenderCache::default();
        let failed = cache
            .get(key("base"), || async { Err::<Vec<Manifest>, _>("bad") })
            .await;
        assert_eq!(failed.unwrap_err(), "bad");
        assert!(cache.is_empty());
        let ok = cache.get(key("base"), || async { Ok::<_, &str>(Vec::new()) }).await;
        assert!(ok.is_ok());
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn renders_go_once_unused_and_the_count_is_bounded() {
        let cache = RenderCache::default();
        for i in 0..MAX_ENTRIES + 3 {
            let path = format!("p{i}");
            cache
                .get(key(&path), || async { Ok::<_, ()>(Vec::new()) })
                .await
                .unwrap();
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        let brief = RenderCache::keeping(Duration::from_millis(50));
        brief
            .get(key("base"), || async { Ok::<_, ()>(Vec::new()) })
            .await
            .unwrap();
        assert_eq!(brief.len(), 1);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(brief.is_empty());
    }
}
