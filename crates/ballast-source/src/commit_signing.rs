//! OpenPGP signatures for Git commits (Flux's `git.commit.signingKey`): an armored private key,
//! optionally protected by a passphrase, signs the commit object as `git commit -S` does, so
//! `git verify-commit` with the matching public key accepts it.
//!
//! Guarantees:
//! - the key is read and unlocked once, when the signer is made: a key that does not parse, a
//!   key ring of more than one key, a protected key without a passphrase and a wrong
//!   passphrase are refused then, never half-way through a push;
//! - the signing key is the newest subkey whose binding allows signing, else the primary key
//!   (as Go's OpenPGP implementation chooses);
//! - errors never carry the key or the passphrase.

use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, SignedSecretKey};
use pgp::types::{KeyDetails, Password, SigningKey};

/// Why a signing key cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("signing key: {0}")]
pub struct SigningError(String);

/// Signs Git commit objects with one OpenPGP key.
pub struct CommitSigner {
    key: SignedSecretKey,
    passphrase: Password,
}

impl std::fmt::Debug for CommitSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CommitSigner({})", self.fingerprint())
    }
}

impl CommitSigner {
    /// Reads an armored private key (`git.asc`) and its optional passphrase, and checks that it
    /// can sign.
    pub fn from_armored(armored: &[u8], passphrase: Option<&[u8]>) -> Result<Self, SigningError> {
        let text = std::str::from_utf8(armored).map_err(|_| SigningError("not armored text".into()))?;
        let (keys, _) = SignedSecretKey::from_string_many(text)
            .map_err(|e| SigningError(format!("not an OpenPGP private key ({e})")))?;
        let mut keys = keys
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SigningError(format!("not an OpenPGP private key ({e})")))?;
        if keys.len() > 1 {
            return Err(SigningError(
                "more than one key in the key ring: cannot tell which one signs".into(),
            ));
        }
        let key = keys.pop().ok_or_else(|| SigningError("no private key found".into()))?;
        let signer = CommitSigner {
            key,
            passphrase: passphrase.map(Password::from).unwrap_or_else(Password::empty),
        };
        if signer.encrypted() && passphrase.is_none() {
            return Err(SigningError(
                "the key is protected by a passphrase and the Secret has no 'passphrase'".into(),
            ));
        }
        signer
            .sign(b"probe")
            .map_err(|_| SigningError("cannot unlock the key (wrong passphrase?) or it cannot sign".into()))?;
        Ok(signer)
    }

    /// The fingerprint of the primary key, in hex.
    pub fn fingerprint(&self) -> String {
        self.key.primary_key.fingerprint().to_string()
    }

    fn encrypted(&self) -> bool {
        self.key.primary_key.secret_params().is_encrypted()
            || self
                .key
                .secret_subkeys
                .iter()
                .any(|s| s.key.secret_params().is_encrypted())
    }

    /// The key that signs: the newest subkey allowed to sign, else the primary key.
    fn signing_key(&self) -> &dyn SigningKey {
        let sub = self
            .key
            .secret_subkeys
            .iter()
            .filter(|s| s.signatures.iter().any(|sig| sig.key_flags().sign()))
            .max_by_key(|s| s.key.created_at());
        match sub {
            Some(s) => &s.key,
            None => &self.key.primary_key,
        }
    }

    /// An armored detached signature of `data` (a binary signature, as Git makes).
    pub fn sign(&self, data: &[u8]) -> Result<String, SigningError> {
        let key = Box::new(self.signing_key());
        let sig = DetachedSignature::sign_binary_data(rand::thread_rng(), &key, &self.passphrase, key.hash_alg(), data)
            .map_err(|e| SigningError(format!("signing failed ({e})")))?;
        sig.to_armored_string(ArmorOptions::default())
            .map_err(|e| SigningError(format!("signing failed ({e})")))
    }

    /// `commit` (a raw commit object, as `git cat-file commit` prints it) with its signature in
    /// a `gpgsig` header, as Git writes it.
    pub fn sign_commit(&self, commit: &[u8]) -> Result<Vec<u8>, SigningError> {
        let end = commit
            .windows(2)
            .position(|w| w == b"\n\n")
            .map(|i| i + 1)
            .unwrap_or(commit.len());
        if commit[..end].split(|b| *b == b'\n').any(|l| l.starts_with(b"gpgsig")) {
            return Err(SigningError("the commit is already signed".into()));
        }
        let sig = self.sign(commit)?;
        let mut out = Vec::with_capacity(commit.len() + sig.len() + 64);
        out.extend_from_slice(&commit[..end]);
        for (i, line) in sig.trim_end_matches('\n').split('\n').enumerate() {
            out.extend_from_slice(if i == 0 { b"gpgsig " } else { b" " });
            out.extend_from_slice(line.trim_end_matches('\r').as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(&commit[end..]);
        Ok(out)
    }
}
