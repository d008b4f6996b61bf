//! Walking a document in order: which leaves are encrypted, and the MAC over the plaintext.

use regex::Regex;
use serde_json::Value;
use sha2::{Digest, Sha512};

use crate::Error;
use crate::cipher::{self, Plain};

/// SOPS' `MACOnlyEncryptedInitialization`: SHA-256 of `sops`, hashed first when only encrypted
/// values are covered by the MAC.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b,
    0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// Deepest nesting walked (the parsers bound it already; this bounds the recursion here too).
const MAX_DEPTH: usize = 128;

/// Which values are encrypted, as the `sops` metadata block records it.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// `unencrypted_suffix` (SOPS' default is `_unencrypted` when no other rule is set).
    pub unencrypted_suffix: Option<String>,
    /// `encrypted_suffix`.
    pub encrypted_suffix: Option<String>,
    /// `unencrypted_regex`.
    pub unencrypted_regex: Option<String>,
    /// `encrypted_regex`.
    pub encrypted_regex: Option<String>,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
}

/// [`Rules`] with their regexes compiled.
pub(crate) struct Compiled<'a> {
    rules: &'a Rules,
    unencrypted: Option<Regex>,
    encrypted: Option<Regex>,
}

impl Rules {
    pub(crate) fn compile(&self) -> Result<Compiled<'_>, Error> {
        let re = |r: &Option<String>, name: &str| {
            r.as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| Regex::new(r).map_err(|e| Error::Format(format!("sops.{name}: {e}"))))
                .transpose()
        };
        Ok(Compiled {
            rules: self,
            unencrypted: re(&self.unencrypted_regex, "unencrypted_regex")?,
            encrypted: re(&self.encrypted_regex, "encrypted_regex")?,
        })
    }
}

impl Compiled<'_> {
    /// SOPS' `shouldBeEncrypted`, without the comment rules.
    fn encrypted(&self, path: &[String]) -> bool {
        let r = self.rules;
        let mut yes = true;
        if let Some(s) = r.unencrypted_suffix.as_deref().filter(|s| !s.is_empty())
            && path.iter().any(|k| k.ends_with(s))
        {
            yes = false;
        }
        if let Some(s) = r.encrypted_suffix.as_deref().filter(|s| !s.is_empty()) {
            yes = path.iter().any(|k| k.ends_with(s));
        }
        if let Some(re) = &self.unencrypted
            && path.iter().any(|k| re.is_match(k))
        {
            yes = false;
        }
        if let Some(re) = &self.encrypted {
            yes = path.iter().any(|k| re.is_match(k));
        }
        yes
    }
}

/// Encrypts or decrypts the leaves of a tree in document order, computing the MAC.
pub(crate) struct Walk<'a> {
    rules: Compiled<'a>,
    key: &'a [u8; 32],
    hash: Sha512,
    encrypting: bool,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(rules: Compiled<'a>, key: &'a [u8; 32], encrypting: bool) -> Walk<'a> {
        let mut hash = Sha512::new();
        if rules.rules.mac_only_encrypted {
            hash.update(MAC_ONLY_ENCRYPTED_INIT);
        }
        Walk {
            rules,
            key,
            hash,
            encrypting,
        }
    }

    /// Walks `v` (the document without its `sops` key).
    pub(crate) fn value(&mut self, v: &mut Value, path: &mut Vec<String>, depth: usize) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(Error::Format("document nested too deeply".into()));
        }
        match v {
            Value::Null => Ok(()),
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    path.push(k.clone());
                    self.value(child, path, depth + 1)?;
                    path.pop();
                }
                Ok(())
            }
            // List indices are not part of the path.
            Value::Array(a) => a.iter_mut().try_for_each(|child| self.value(child, path, depth + 1)),
            leaf => self.leaf(leaf, path),
        }
    }

    fn leaf(&mut self, v: &mut Value, path: &[String]) -> Result<(), Error> {
        let encrypted = self.rules.encrypted(path);
        let aad = format!("{}:", path.join(":"));
        let plain = if encrypted && !self.encrypting {
            let text = v.as_str().ok_or_else(|| Error::Value {
                path: aad.clone(),
                problem: "expected an encrypted value (a string), found another type".into(),
            })?;
            let plain = cipher::decrypt(text, self.key, &aad)?;
            *v = plain.clone().into_value();
            plain
        } else {
            Plain::from_value(v).unwrap_or(Plain::Str(String::new()))
        };
        if !self.rules.rules.mac_only_encrypted || encrypted {
            self.hash.update(plain.to_bytes());
        }
        if encrypted && self.encrypting {
            *v = Value::String(cipher::encrypt(&plain, self.key, &aad)?);
        }
        Ok(())
    }

    /// The MAC: uppercase hex SHA-512.
    pub(crate) fn mac(self) -> String {
        hex::encode_upper(self.hash.finalize())
    }
}
