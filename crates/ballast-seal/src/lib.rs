//! Sealing and unsealing Secrets in the format of Bitnami's sealed-secrets, so that what
//! `kubeseal` seals Ballast's controller unseals and the other way round.
//!
//! - [`hybrid`]: one value — RSA-OAEP (SHA-256, label by [`Scope`]) wraps a fresh AES-256-GCM
//!   key; byte-for-byte the format of sealed-secrets' `pkg/crypto`.
//! - [`key`]: certificates and private keys in the controller's Secret format (`tls.crt`,
//!   `tls.key`), generation of 4096-bit keys; RSA in AWS-LC, constant-time.
//! - [`document`]: a Secret manifest sealed into a `bitnami.com/v1alpha1` SealedSecret
//!   (`kubeseal`), a SealedSecret unsealed into the Secret the controller writes.
//!
//! Guarantees: no plaintext and no private key in any error or `Debug` output; sizes are capped
//! ([`hybrid::MAX_VALUE`], [`document::MAX_ENTRIES`]); bad input is an error, never a panic.

mod der;
pub mod document;
pub mod hybrid;
pub mod key;
pub mod pem;
pub mod scope;

pub use document::{Unsealed, seal_secret, unseal_sealed_secret};
pub use hybrid::{seal, unseal};
pub use key::{GeneratedKey, SealingKey, UnsealingKey, generate, read_key_secret};
pub use scope::Scope;

/// `apiVersion` of SealedSecrets.
pub const API_VERSION: &str = "bitnami.com/v1alpha1";
/// Label of the controller's key Secrets (value `active`), as sealed-secrets sets it.
pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";

/// Why sealing or unsealing failed. Messages name keys of the data, never values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// A certificate or key cannot be read or made.
    #[error("{0}")]
    Key(String),
    /// The cryptographic library refused an operation.
    #[error("{0}")]
    Crypto(&'static str),
    /// A value is larger than a Secret may hold.
    #[error("a value of {0} bytes is larger than a Secret may hold")]
    TooLarge(usize),
    /// A sealed value is not in the sealed-secrets format.
    #[error("malformed sealed value (too short for the format)")]
    Malformed,
    /// No key opened a sealed value.
    #[error(
        "no key could decrypt it: it was sealed with a key this controller does not hold, or for another name, namespace or scope"
    )]
    NoKey,
    /// A manifest is not what was expected.
    #[error("{0}")]
    Document(String),
}
