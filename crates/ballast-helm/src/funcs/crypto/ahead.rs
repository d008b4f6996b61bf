//! RSA keys for certificates made ahead, on a second thread, while a render does its other work.
//!
//! A certificate function (`genCA`, `genSelfSignedCert`, `genSignedCert`) makes a fresh
//! 2048-bit RSA key on each call; that key generation is most of the time a chart that makes
//! certificates takes to render (about 45 ms a key here). A render of a chart whose templates
//! name one of these functions starts [`KeysAhead`], which makes one key at once on a helper
//! thread and, each time the render takes a key, the next one: a key is then ready (or under
//! way) when the render asks for it. Guarantees: a key made ahead is made by the same function
//! as one made on the spot ([`Key::generate_rsa`]) and used once; at most one key is made that
//! the render never takes; the thread ends with the render (dropping [`KeysAhead`]), after
//! the key it is making, if any. Should the thread not start, keys are made on the spot.

use std::cell::RefCell;
use std::sync::mpsc::{Receiver, Sender, channel};

use super::keys::Key;

thread_local! {
    /// The keys made ahead for the render running on this thread.
    static AHEAD: RefCell<Option<Maker>> = const { RefCell::new(None) };
}

/// The helper thread, by its two channels.
struct Maker {
    /// One message per key to make.
    requests: Sender<()>,
    /// The keys made, in order.
    keys: Receiver<Result<Key, String>>,
}

/// Keys made ahead for the renders on the calling thread, while this is held (see the
/// module's documentation).
pub struct KeysAhead(());

impl KeysAhead {
    /// Starts making 2048-bit RSA keys ahead for the render about to run on this thread
    /// (`thread_start` run first on the helper thread: the render's heap settings).
    pub fn start(thread_start: impl FnOnce() + Send + 'static) -> KeysAhead {
        let (requests, asked) = channel::<()>();
        let (made, keys) = channel();
        let started = std::thread::Builder::new().name("rsa-ahead".into()).spawn(move || {
            thread_start();
            for () in asked {
                if made.send(Key::generate_rsa(2048)).is_err() {
                    return;
                }
            }
        });
        if started.is_ok() && requests.send(()).is_ok() {
            AHEAD.with(|a| *a.borrow_mut() = Some(Maker { requests, keys }));
        }
        KeysAhead(())
    }
}

impl Drop for KeysAhead {
    fn drop(&mut self) {
        // Dropping the request channel ends the thread once it is done with its key.
        AHEAD.with(|a| a.borrow_mut().take());
    }
}

/// A 2048-bit RSA key made ahead for this thread's render, the next one being asked for;
/// `None` when no keys are made ahead here (or the thread is gone): make one on the spot.
pub(crate) fn take_rsa_2048() -> Option<Result<Key, String>> {
    AHEAD.with(|a| {
        let a = a.borrow();
        let maker = a.as_ref()?;
        let _ = maker.requests.send(());
        maker.keys.recv().ok()
    })
}

/// True when a template of these texts names a certificate function that makes a key.
pub fn makes_keys<'a>(mut texts: impl Iterator<Item = &'a [u8]>) -> bool {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static NAMES: LazyLock<[Finder<'static>; 3]> =
        LazyLock::new(|| [b"genCA".as_slice(), b"genSelfSignedCert", b"genSignedCert"].map(Finder::new));
    texts.any(|t| NAMES.iter().any(|name| name.find(t).is_some()))
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

    /// Keys are taken from the helper while the guard is held, each a new key; none before
    /// or after (the render then makes its own).
    #[test]
    fn keys_made_ahead_are_new_keys_while_the_guard_is_held() {
        assert!(take_rsa_2048().is_none());
        let guard = KeysAhead::start(|| {});
        let first = modulus(take_rsa_2048().expect("a key made ahead"));
        let second = modulus(take_rsa_2048().expect("a key made ahead"));
        assert_ne!(first, second);
        drop(guard);
        assert!(take_rsa_2048().is_none());
    }

    /// The guard holds keys for its own thread only: another thread's render makes its own.
    #[test]
    fn keys_made_ahead_belong_to_the_thread_that_started_them() {
        let _guard = KeysAhead::start(|| {});
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
            assert!(makes_keys([b"plain".as_slice(), text.as_bytes()].into_iter()), "{text}");
        }
        assert!(!makes_keys(
            [b"{{ genPrivateKey \"rsa\" }}".as_slice(), b"{{ .Values.ca }}"].into_iter()
        ));
    }
}
