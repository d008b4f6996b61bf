//! RSA keys for certificates made ahead, on helper threads, while a render does its other work.
//!
//! A certificate function (`genCA`, `genSelfSignedCert`, `genSignedCert`) makes a fresh
//! 2048-bit RSA key on each call; that key generation is most of the time a chart that makes
//! certificates takes to render (about 45 ms a key here). Before a render executes its
//! templates, those whose text names these functions are run as a [`Probe`] with the render's
//! values: the probe counts the calls they reach (making no key) and the render starts
//! [`KeysAhead`] with one maker thread per call reached, two at most (a CA and the certificate
//! it signs are made one right after the other), each making one key at once: two keys asked
//! for together are made side by side. Further keys are made on the spot. Most charts name
//! `genCA` behind a TLS switch that is off by default: counting the call sites of the text
//! alone made, for such charts, two keys for nothing at each render (redis and airflow in a
//! render loop took 5x as long), CPU taken from the render and the next ones.
//!
//! Guarantees: a key made ahead is made by the same function as one made on the spot
//! ([`Key::generate_rsa`]) and used once; no more keys are made ahead than the probe counted
//! (two at most; a template whose probe stopped early counts all its call sites); a probe
//! changes no map (the functions that would, fail within it), makes no key and takes 50 ms at
//! most in all (`engine::PROBE_BUDGET`); makers start
//! only while [`KeysAhead`] is held, and each ends with its key made. Where no thread starts,
//! keys are made on the spot.

use std::cell::RefCell;
use std::sync::mpsc::{Receiver, channel};

use super::keys::Key;

/// Most maker threads a render starts.
pub const MAX_MAKERS: usize = 2;

thread_local! {
    /// The keys made ahead for the render running on this thread.
    static AHEAD: RefCell<Option<Makers>> = const { RefCell::new(None) };
}

/// The maker threads, by the channel of their keys.
struct Makers {
    /// The keys made, in the order they were made.
    keys: Receiver<Result<Key, String>>,
}

impl Makers {
    /// `makers` threads ([`MAX_MAKERS`] at most), each making one key at once; `None` if none
    /// started.
    fn start<F: FnOnce() + Send + 'static>(makers: usize, thread_start: impl Fn() -> F) -> Option<Makers> {
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

/// Keys made ahead for the render on the calling thread, while this is held (see the module's
/// documentation).
pub struct KeysAhead(());

impl KeysAhead {
    /// Starts `makers` threads ([`MAX_MAKERS`] at most, none for 0) making 2048-bit RSA keys
    /// ahead for the render about to run on this thread; each runs a `thread_start()` first
    /// (the render's heap settings).
    pub fn start<F: FnOnce() + Send + 'static>(makers: usize, thread_start: impl Fn() -> F) -> KeysAhead {
        let makers = if makers > 0 {
            Makers::start(makers, thread_start)
        } else {
            None
        };
        AHEAD.with(|a| *a.borrow_mut() = makers);
        KeysAhead(())
    }
}

impl Drop for KeysAhead {
    fn drop(&mut self) {
        // The makers still at work end with their key made, sent to no one.
        AHEAD.with(|a| *a.borrow_mut() = None);
    }
}

/// A 2048-bit RSA key made ahead for this thread's render (the first one ready); `None` when no
/// keys are made ahead here or all were taken: make one on the spot.
pub(crate) fn take_rsa_2048() -> Option<Result<Key, String>> {
    AHEAD.with(|a| a.borrow().as_ref().and_then(|m| m.keys.recv().ok()))
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

thread_local! {
    /// While a [`Probe`] runs on this thread: the certificate calls it reached.
    static PROBE: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// A probe run of templates on this thread, to learn how many certificate keys a render will
/// ask for before it starts making them: while it lives, the certificate functions make no key
/// and count their call instead ([`probed_call`]), and the functions that change a map fail
/// ([`probe_forbids_change`]), so that a probe leaves the render's data as it found it.
pub struct Probe(());

impl Probe {
    /// Starts a probe on this thread.
    pub fn begin() -> Probe {
        PROBE.set(Some(0));
        Probe(())
    }

    /// The certificate calls reached so far.
    pub fn reached(&self) -> usize {
        PROBE.get().unwrap_or(0)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        PROBE.set(None);
    }
}

/// Within a [`Probe`], counts a call of a key-making certificate function and returns true:
/// the caller returns a stand-in and makes no key.
pub(crate) fn probed_call() -> bool {
    match PROBE.get() {
        Some(n) => {
            PROBE.set(Some(n + 1));
            true
        }
        None => false,
    }
}

/// Within a [`Probe`], the error of a function that would change a map (`set`, `unset`,
/// `merge`...): the probe stops there.
pub(crate) fn probe_forbids_change() -> Result<(), String> {
    match PROBE.get() {
        Some(_) => Err("a probe changes no map".into()),
        None => Ok(()),
    }
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
