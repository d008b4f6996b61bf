//! SOPS files with age keys: decryption (MAC verified) and encryption that the `sops` tool reads.
//!
//! Formats: YAML, JSON, dotenv and binary (a JSON envelope with one `data` value), as the `sops`
//! tool writes them: every leaf selected by the rules of the `sops` block
//! (`unencrypted_suffix`, `encrypted_suffix`, `unencrypted_regex`, `encrypted_regex`) is an
//! `ENC[AES256_GCM,…]` value bound to its key path; the data key is wrapped for each age
//! recipient; the MAC (SHA-512 over the plaintext leaves, encrypted with the data key) is
//! verified on every decryption, and a mismatch is an error.
//!
//! Guarantees: plaintext stays in memory (nothing here writes files); no error message quotes
//! a plaintext value or a key; inputs are bounded ([`MAX_INPUT`], nesting, stanza count); only
//! age X25519 keys are supported — PGP, cloud KMS and Vault keys, Shamir key groups and
//! post-quantum age recipients are refused by name.

mod cipher;
mod metadata;
mod render;
mod store;
mod tree;

use std::str::FromStr;

use age::x25519;

pub use cipher::Plain;
pub use metadata::Metadata;
pub use render::SopsDecryptor;
pub use store::Format;
pub use tree::Rules;

/// Largest encrypted document read (Flux's limit for encrypted files).
pub const MAX_INPUT: usize = 5 << 20;

/// Why a document cannot be decrypted or encrypted. Never quotes a plaintext value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document is not a well-formed SOPS document.
    #[error("not a valid SOPS document: {0}")]
    Format(String),
    /// One value cannot be decrypted.
    #[error("value at {path:?}: {problem}")]
    Value {
        /// Key path (`stringData:password:`).
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// No identity matches any recipient.
    #[error("{}", no_identity(recipients, unsupported))]
    NoIdentity {
        /// age recipients of the document.
        recipients: Vec<String>,
        /// Master keys of unsupported kinds (`pgp <fingerprint>`, `kms <arn>`, …).
        unsupported: Vec<String>,
    },
    /// The MAC does not match the content: the file was changed after encryption.
    #[error("MAC mismatch: the document was modified after it was encrypted (or its MAC is missing)")]
    MacMismatch,
    /// A feature of SOPS Ballast does not support.
    #[error("{0}")]
    Unsupported(String),
    /// An identity or recipient cannot be read.
    #[error("{0}")]
    Key(String),
}

fn no_identity(recipients: &[String], unsupported: &[String]) -> String {
    let mut s = String::from("no age identity matches any recipient of the document");
    if !recipients.is_empty() {
        s.push_str(&format!(" (age recipients: {})", recipients.join(", ")));
    }
    if !unsupported.is_empty() {
        s.push_str(&format!(
            "; master keys of unsupported kinds (only age is supported): {}",
            unsupported.join(", ")
        ));
    }
    s
}

/// age identities (`AGE-SECRET-KEY-1…`) to decrypt with.
#[derive(Default)]
pub struct Keys {
    identities: Vec<x25519::Identity>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({} age identities)", self.identities.len())
    }
}

impl Keys {
    /// Adds every `AGE-SECRET-KEY-1…` line of `text` (an age key file: comments and blank
    /// lines are skipped). `source` names the text in errors (never the key).
    pub fn add(&mut self, text: &str, source: &str) -> Result<usize, Error> {
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let id = x25519::Identity::from_str(line).map_err(|_| {
                Error::Key(format!(
                    "{source}: line {}: not an age X25519 identity (AGE-SECRET-KEY-1…)",
                    i + 1
                ))
            })?;
            self.identities.push(id);
            n += 1;
        }
        Ok(n)
    }

    /// Number of identities.
    pub fn len(&self) -> usize {
        self.identities.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    /// The recipients of these identities.
    pub fn recipients(&self) -> Vec<String> {
        self.identities.iter().map(|i| i.to_public().to_string()).collect()
    }
}

/// Parses an age recipient (`age1…`).
pub fn parse_recipient(s: &str) -> Result<x25519::Recipient, Error> {
    if s.starts_with("age1pq1") {
        return Err(Error::Unsupported(format!(
            "post-quantum age recipient {s} is not supported"
        )));
    }
    x25519::Recipient::from_str(s.trim()).map_err(|_| Error::Key(format!("{s:?} is not an age X25519 recipient")))
}

/// Whether `bytes` look like a SOPS document of `format` (the marker bytes Flux looks for).
pub fn is_encrypted(bytes: &[u8], format: Format) -> bool {
    store::marker(format).is_some_and(|m| bytes.windows(m.len()).any(|w| w == m))
}

/// Decrypts `bytes`, a SOPS document in `input` format, verifying its MAC, and writes the
/// plaintext in `output` format.
pub fn decrypt(bytes: &[u8], input: Format, output: Format, keys: &Keys) -> Result<Vec<u8>, Error> {
    let doc = store::load(bytes, input)?;
    let tree = decrypt_doc(doc, keys)?;
    store::emit_plain(&tree, output)
}

/// Decrypts a parsed SOPS document (a JSON or YAML mapping with its `sops` key), verifying
/// its MAC; returns it without the `sops` key.
pub fn decrypt_value(mut doc: serde_json::Value, keys: &Keys) -> Result<serde_json::Value, Error> {
    let sops = doc
        .as_object_mut()
        .and_then(|m| m.shift_remove("sops"))
        .ok_or_else(|| Error::Format("no sops metadata".into()))?;
    decrypt_doc(store::Doc { tree: doc, sops }, keys)
}

fn decrypt_doc(doc: store::Doc, keys: &Keys) -> Result<serde_json::Value, Error> {
    let md = Metadata::parse(&doc.sops)?;
    let key = md.data_key(keys)?;
    let mut tree = doc.tree;
    let mut walk = tree::Walk::new(md.rules.compile()?, &key, false);
    walk.value(&mut tree, &mut Vec::new(), 0)?;
    let computed = walk.mac();
    let stored = match cipher::decrypt(&md.mac, &key, &md.mac_aad()) {
        Ok(Plain::Str(s)) => s,
        _ => return Err(Error::MacMismatch),
    };
    // Both are public hashes of the plaintext's integrity, not secrets.
    if stored.is_empty() || !stored.eq_ignore_ascii_case(&computed) {
        return Err(Error::MacMismatch);
    }
    Ok(tree)
}

/// Encrypts `bytes` (a plain document in `format`) for age `recipients` under `rules`, as the
/// `sops` tool does (default rule: `unencrypted_suffix: _unencrypted`).
pub fn encrypt(bytes: &[u8], format: Format, recipients: &[x25519::Recipient], rules: Rules) -> Result<Vec<u8>, Error> {
    if recipients.is_empty() {
        return Err(Error::Key("no age recipient to encrypt for".into()));
    }
    let mut rules = rules;
    if rules.unencrypted_suffix.is_none()
        && rules.encrypted_suffix.is_none()
        && rules.unencrypted_regex.is_none()
        && rules.encrypted_regex.is_none()
    {
        rules.unencrypted_suffix = Some("_unencrypted".into());
    }
    let mut tree = store::load_plain(bytes, format)?;
    let mut key = [0u8; 32];
    {
        use aes_gcm::aead::OsRng;
        use aes_gcm::aead::rand_core::RngCore;
        OsRng.fill_bytes(&mut key);
    }
    let mut md = Metadata::new(recipients, &key, rules.clone())?;
    let mut walk = tree::Walk::new(rules.compile()?, &key, true);
    walk.value(&mut tree, &mut Vec::new(), 0)?;
    let mac = walk.mac();
    md.mac = cipher::encrypt(&Plain::Str(mac), &key, &md.mac_aad())?;
    store::emit_encrypted(
        store::Doc {
            tree,
            sops: md.to_value(),
        },
        format,
    )
}
