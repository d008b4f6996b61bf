//! RSA keys for certificates made ahead, on helper threads, while a render does its other work.
//!
//! A certificate function (`genCA`, `genSelfSignedCert`, `genSignedCert`) makes a fresh
//! 2048-bit RSA key on each call; that key generation is most of the time a chart that makes
//! certificates takes to render (about 45 ms a key here). A render of a chart whose templates
//! name these functions starts [`KeysAhead`] with one maker thread per call site, two at most
//! (a CA and the certificate it signs are made one right after the other), each making one key
//! at once: the first keys are then ready (or under way) when the render asks for them, two
//! keys asked for together made side by side. Further keys are made on the spot: a maker that
//! made the next key each time one was taken left, per maker, a key made for nothing at the end
//! of most renders (a CA and its certificate take two), CPU taken from the next render. Whether to make keys may be decided on another thread than the render's (the
//! helper that lexes a large chart's templates counts the call sites there, off the render's
//! path, [`KeysAhead::decided_elsewhere`]): a render asking for a key before that decision
//! waits for it.
//!
//! Guarantees: a key made ahead is made by the same function as one made on the spot
//! ([`Key::generate_rsa`]) and used once; no more keys are made ahead than there are call
//! sites, two at most, whether the render reaches them or not; no maker starts once the render
//! is over (dropping [`KeysAhead`]), and each ends with its key made. Where no thread starts (or
//! the deciding thread ends without deciding), keys are made on the spot.

use std::cell::RefCell;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::keys::Key;

/// Most maker threads a render starts.
pub const MAX_MAKERS: usize = 2;

thread_local! {
    /// The keys made ahead (or to be) for the render running on this thread.
    static AHEAD: RefCell<Option<Arc<Slot>>> = const { RefCell::new(None) };
}

/// What a render's keys made ahead have come to, shared with the thread that decides.
struct Slot {
    state: Mutex<State>,
    decided: Condvar,
}

enum State {
    /// Not decided yet.
    Open,
    /// Decided: the makers, if any were started.
    Decided(Option<Makers>),
    /// The render is over: nothing more starts.
    Closed,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts `makers` makers (none if 0) unless the render is over or this was decided.
    fn decide<F: FnOnce() + Send + 'static>(&self, makers: usize, thread_start: &impl Fn() -> F) {
        let mut state = self.lock();
        if matches!(*state, State::Open) {
            *state = State::Decided((makers > 0).then(|| Makers::start(makers, thread_start)).flatten());
            self.decided.notify_all();
        }
    }
}

/// The maker threads, by the channel of their keys.
struct Makers {
    /// The keys made, in the order they were made.
    keys: Receiver<Result<Key, String>>,
}

impl Makers {
    /// `makers` threads ([`MAX_MAKERS`] at most), each making one key at once; `None` if none
    /// started.
    fn start<F: FnOnce() + Send + 'static>(makers: usize, thread_start: &impl Fn() -> F) -> Option<Makers> {
        let (made, keys) = channel();
        let mut started = 0;
        for _ in 0..makers.min(MAX_MAKERS) {
            let made = made.clone();
            let start = thread_start();
            let spawned = std::thread::Builder::new().name("rsa-ahead".into()).spawn(move || {
                start();
                let _ = made.send(Key::generate_rsa(2048));
            });
            started += usize::from(spawned.is_ok());
        }
        (started > 0).then_some(Makers { keys })
    }
}

/// Keys made ahead for the renders on the calling thread, while this is held (see the
/// module's documentation).
pub struct KeysAhead(Arc<Slot>);

impl KeysAhead {
    /// Starts `makers` threads ([`MAX_MAKERS`] at most, none for 0) making 2048-bit RSA keys
    /// ahead for the render about to run on this thread; each runs a `thread_start()` first
    /// (the render's heap settings).
    pub fn start<F: FnOnce() + Send + 'static>(makers: usize, thread_start: impl Fn() -> F) -> KeysAhead {
        let (keys, decider) = KeysAhead::decided_elsewhere(thread_start);
        decider.decide(makers);
        keys
    }

    /// Keys for the render about to run on this thread, as many makers as the returned
    /// [`Decider`] is told (on any thread); a key asked for before then waits for the decision.
    pub fn decided_elsewhere<S>(thread_start: S) -> (KeysAhead, Decider<S>) {
        let slot = Arc::new(Slot {
            state: Mutex::new(State::Open),
            decided: Condvar::new(),
        });
        AHEAD.with(|a| *a.borrow_mut() = Some(slot.clone()));
        (
            KeysAhead(slot.clone()),
            Decider {
                slot: Some(slot),
                thread_start,
            },
        )
    }
}

impl Drop for KeysAhead {
    fn drop(&mut self) {
        AHEAD.with(|a| {
            let mut a = a.borrow_mut();
            if a.as_ref().is_some_and(|slot| Arc::ptr_eq(slot, &self.0)) {
                *a = None;
            }
        });
        *self.0.lock() = State::Closed;
        self.0.decided.notify_all();
    }
}

/// Decides, once, how many makers a render's [`KeysAhead`] starts; dropped undecided, none.
pub struct Decider<S> {
    /// The render's slot, until decided.
    slot: Option<Arc<Slot>>,
    /// Makes what each maker thread runs first.
    thread_start: S,
}

impl<S> Decider<S> {
    /// Starts `makers` makers ([`MAX_MAKERS`] at most, none for 0), unless the render is over.
    pub fn decide<F: FnOnce() + Send + 'static>(mut self, makers: usize)
    where
        S: Fn() -> F,
    {
        if let Some(slot) = self.slot.take() {
            slot.decide(makers, &self.thread_start);
        }
    }
}

impl<S> Drop for Decider<S> {
    fn drop(&mut self) {
        // Undecided: no makers (decided, the slot was taken and is not locked again).
        if let Some(slot) = self.slot.take() {
            slot.decide(0, &|| || {});
        }
    }
}

/// A 2048-bit RSA key made ahead for this thread's render (the first one ready); `None` when no
/// keys are made ahead here or all were taken: make one on the spot. Waits for the decision if
/// it is still to be made.
pub(crate) fn take_rsa_2048() -> Option<Result<Key, String>> {
    let slot = AHEAD.with(|a| a.borrow().clone())?;
    let mut state = slot.lock();
    while matches!(*state, State::Open) {
        state = slot.decided.wait(state).unwrap_or_else(PoisonError::into_inner);
    }
    let State::Decided(Some(makers)) = &*state else {
        return None;
    };
    makers.keys.recv().ok()
}

/// How many times templates of these texts name a certificate function that makes a key
/// (call sites, whether or not the render reaches them), counted up to [`MAX_MAKERS`].
pub fn key_sites<'a>(texts: impl IntoIterator<Item = &'a [u8]>) -> usize {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static NAMES: LazyLock<[Finder<'static>; 3]> =
        LazyLock::new(|| [b"genCA".as_slice(), b"genSelfSignedCert", b"genSignedCert"].map(Finder::new));
    let mut sites = 0;
    for text in texts {
        for name in NAMES.iter() {
            sites += name.find_iter(text).take(MAX_MAKERS).count();
            if sites >= MAX_MAKERS {
                return MAX_MAKERS;
            }
        }
    }
    sites
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The modulus of a 2048-bit RSA key (failing for any other key).
    fn modulus(key: Result<Key, String>) -> Vec<u8> {
        use rsa::traits::PublicKeyParts;
        let Ok(Key::Rsa(key)) = key else {
            panic!("not an RSA key")
        };
        assert_eq!(key.size(), 256);
        key.n().to_bytes_be()
    }

    /// A key is taken from the maker while the guard is held; none before, after the one key
    /// made, or after the guard is dropped (the render then makes its own).
    #[test]
    fn a_key_made_ahead_is_taken_while_the_guard_is_held() {
        assert!(take_rsa_2048().is_none());
        let guard = KeysAhead::start(1, || || {});
        modulus(take_rsa_2048().expect("a key made ahead"));
        assert!(take_rsa_2048().is_none(), "one maker makes one key");
        drop(guard);
        assert!(take_rsa_2048().is_none());
    }

    /// One maker per call site, two at most, each making one key: two different keys, then
    /// none.
    #[test]
    fn two_makers_make_two_keys_side_by_side() {
        let started = std::cell::Cell::new(0);
        let guard = KeysAhead::start(5, || {
            started.set(started.get() + 1);
            || {}
        });
        assert_eq!(started.get(), MAX_MAKERS, "one thread per maker, two at most");
        let first = modulus(take_rsa_2048().expect("a key made ahead"));
        let second = modulus(take_rsa_2048().expect("a key made ahead"));
        assert_ne!(first, second);
        assert!(take_rsa_2048().is_none());
        drop(guard);
    }

    /// Decided on another thread: a key asked for first waits for the decision; decided
    /// against, or the decider gone undecided, the render makes its own keys.
    #[test]
    fn keys_decided_on_another_thread_are_waited_for() {
        let (guard, decider) = KeysAhead::decided_elsewhere(|| || {});
        let decide = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            decider.decide(1);
        });
        modulus(take_rsa_2048().expect("a key made ahead once decided"));
        decide.join().unwrap();
        drop(guard);

        let (_guard, decider) = KeysAhead::decided_elsewhere(|| || {});
        std::thread::spawn(move || decider.decide(0)).join().unwrap();
        assert!(take_rsa_2048().is_none());

        let (_guard, decider) = KeysAhead::decided_elsewhere(|| || {});
        std::thread::spawn(move || drop(decider)).join().unwrap();
        assert!(take_rsa_2048().is_none());
    }

    /// Once the render is over (its guard dropped), a late decision starts no maker.
    #[test]
    fn no_maker_starts_after_the_render() {
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = started.clone();
        let (guard, decider) = KeysAhead::decided_elsewhere(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            || {}
        });
        drop(guard);
        std::thread::spawn(move || decider.decide(2)).join().unwrap();
        assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert!(take_rsa_2048().is_none());
    }

    /// The guard holds keys for its own thread only: another thread's render makes its own.
    #[test]
    fn keys_made_ahead_belong_to_the_thread_that_started_them() {
        let _guard = KeysAhead::start(1, || || {});
        let elsewhere = std::thread::spawn(|| take_rsa_2048().is_none()).join().unwrap();
        assert!(elsewhere);
        assert!(take_rsa_2048().is_some());
    }

    #[test]
    fn certificate_functions_are_found_in_templates() {
        for text in [
            "{{ $ca := genCA \"ca\" 365 }}",
            "{{- $c := genSelfSignedCert \"x\" nil nil 365 }}",
            "{{ genSignedCert \"x\" nil nil 365 $ca }}",
        ] {
            assert_eq!(
                key_sites([b"plain".as_slice(), text.as_bytes()].into_iter()),
                1,
                "{text}"
            );
        }
        assert_eq!(
            key_sites([b"{{ genPrivateKey \"rsa\" }}".as_slice(), b"{{ .Values.ca }}"].into_iter()),
            0
        );
        // A CA and the certificate it signs, in one template or two; counted up to two.
        let pair = b"{{ $ca := genCA \"ca\" 365 }}{{ genSignedCert \"x\" nil nil 365 $ca }}";
        assert_eq!(key_sites([pair.as_slice()].into_iter()), 2);
        let split = [b"{{ genCA \"a\" 1 }}".as_slice(), b"x", b"{{ genCA \"b\" 1 }}"];
        assert_eq!(key_sites(split.into_iter()), 2);
        assert_eq!(key_sites([pair.as_slice(), pair, pair].into_iter()), MAX_MAKERS);
    }
}
