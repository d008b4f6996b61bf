//! The `sops` metadata block: master keys, data-key recovery, rules, MAC.

use std::io::Read;

use age::x25519;
use serde_json::{Map, Value, json};

use crate::tree::Rules;
use crate::{Error, Keys};

/// Master-key kinds Ballast does not support, refused by name.
const UNSUPPORTED: [&str; 7] = ["pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms", "key_groups"];

/// Most age stanzas read from one file.
const MAX_STANZAS: usize = 64;

/// An age recipient stanza: the recipient and the armored age file holding the data key.
#[derive(Clone, Debug)]
pub struct AgeStanza {
    /// `age1…` recipient.
    pub recipient: String,
    /// Armored age file whose plaintext is the 32-byte data key.
    pub enc: String,
}

/// The parts of the `sops` block Ballast reads and writes.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    /// age recipients.
    pub age: Vec<AgeStanza>,
    /// Master keys of kinds Ballast does not support (`pgp`, `kms`, …), as `kind identifier`.
    pub unsupported: Vec<String>,
    /// `lastmodified`, as written.
    pub last_modified: String,
    /// `mac`, encrypted.
    pub mac: String,
    /// Which values are encrypted.
    pub rules: Rules,
    /// `version`.
    pub version: String,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Metadata {
    /// Reads a `sops` block (already unflattened for dotenv).
    pub fn parse(v: &Value) -> Result<Metadata, Error> {
        let m = v
            .as_object()
            .ok_or_else(|| Error::Format("the sops metadata is not a mapping".into()))?;
        let mut md = Metadata::default();
        for st in m
            .get("age")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .take(MAX_STANZAS)
        {
            let (Some(recipient), Some(enc)) = (text(&st["recipient"]), text(&st["enc"])) else {
                return Err(Error::Format("sops.age entry without recipient or enc".into()));
            };
            md.age.push(AgeStanza { recipient, enc });
        }
        for kind in UNSUPPORTED {
            for entry in m.get(kind).and_then(Value::as_array).into_iter().flatten() {
                let id = ["fp", "arn", "resource_id", "vault_url", "vault_address", "key_id"]
                    .iter()
                    .find_map(|f| entry.get(*f).and_then(text));
                md.unsupported.push(match id {
                    Some(id) => format!("{kind} {id}"),
                    None => kind.to_string(),
                });
            }
        }
        md.last_modified = m.get("lastmodified").and_then(text).unwrap_or_default();
        md.mac = m.get("mac").and_then(text).unwrap_or_default();
        md.version = m.get("version").and_then(text).unwrap_or_default();
        let s = |k: &str| m.get(k).and_then(text).filter(|s| !s.is_empty());
        md.rules = Rules {
            unencrypted_suffix: s("unencrypted_suffix"),
            encrypted_suffix: s("encrypted_suffix"),
            unencrypted_regex: s("unencrypted_regex"),
            encrypted_regex: s("encrypted_regex"),
            mac_only_encrypted: s("mac_only_encrypted").is_some_and(|v| v == "true" || v == "True"),
        };
        for k in ["encrypted_comment_regex", "unencrypted_comment_regex"] {
            if s(k).is_some() {
                return Err(Error::Unsupported(format!("sops.{k} is not supported")));
            }
        }
        if md.age.is_empty() && md.unsupported.is_empty() {
            return Err(Error::Format("the sops metadata names no master key".into()));
        }
        Ok(md)
    }

    /// Recovers the data key with one of `keys`, trying each age stanza in turn.
    pub fn data_key(&self, keys: &Keys) -> Result<[u8; 32], Error> {
        for st in &self.age {
            if st.recipient.starts_with("age1pq1") {
                continue;
            }
            let Ok(decryptor) = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(st.enc.as_bytes())) else {
                continue;
            };
            let ids = keys.identities.iter().map(|i| i as &dyn age::Identity);
            let Ok(mut reader) = decryptor.decrypt(ids) else {
                continue;
            };
            let mut key = Vec::with_capacity(32);
            if reader.by_ref().take(33).read_to_end(&mut key).is_ok()
                && let Ok(key) = <[u8; 32]>::try_from(key.as_slice())
            {
                return Ok(key);
            }
        }
        let mut unsupported = self.unsupported.clone();
        unsupported.extend(
            self.age
                .iter()
                .filter(|s| s.recipient.starts_with("age1pq1"))
                .map(|s| format!("post-quantum age {}", s.recipient)),
        );
        Err(Error::NoIdentity {
            recipients: self
                .age
                .iter()
                .filter(|s| !s.recipient.starts_with("age1pq1"))
                .map(|s| s.recipient.clone())
                .collect(),
            unsupported,
        })
    }

    /// A new block for `recipients`, the data key wrapped for each.
    pub fn new(recipients: &[x25519::Recipient], key: &[u8; 32], rules: Rules) -> Result<Metadata, Error> {
        let mut age = Vec::new();
        for r in recipients {
            let enc = age::encrypt_and_armor(r, key).map_err(|e| Error::Key(format!("age encryption failed: {e}")))?;
            age.push(AgeStanza {
                recipient: r.to_string(),
                enc,
            });
        }
        let now = jiff::Timestamp::now();
        Ok(Metadata {
            age,
            unsupported: Vec::new(),
            last_modified: jiff::Timestamp::from_second(now.as_second())
                .unwrap_or(now)
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
            mac: String::new(),
            rules,
            version: "3.9.0".into(),
        })
    }

    /// The block as SOPS writes it.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "age".into(),
            Value::Array(
                self.age
                    .iter()
                    .map(|s| json!({"recipient": s.recipient, "enc": s.enc}))
                    .collect(),
            ),
        );
        m.insert("lastmodified".into(), json!(self.last_modified));
        m.insert("mac".into(), json!(self.mac));
        let r = &self.rules;
        for (k, v) in [
            ("unencrypted_suffix", &r.unencrypted_suffix),
            ("encrypted_suffix", &r.encrypted_suffix),
            ("unencrypted_regex", &r.unencrypted_regex),
            ("encrypted_regex", &r.encrypted_regex),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        if r.mac_only_encrypted {
            m.insert("mac_only_encrypted".into(), json!(true));
        }
        m.insert("version".into(), json!(self.version));
        Value::Object(m)
    }

    /// The additional data of the MAC: `lastmodified` as Go's RFC 3339 (no fraction, `Z` for UTC).
    pub fn mac_aad(&self) -> String {
        let s = self.last_modified.as_str();
        let (main, zone) = match s.find(['Z', 'z']) {
            Some(i) => (&s[..i], "Z"),
            None => match s.get(19..).and_then(|rest| rest.find(['+', '-']).map(|j| 19 + j)) {
                Some(i) => (&s[..i], &s[i..]),
                None => (s, ""),
            },
        };
        let main = main.split('.').next().unwrap_or(main);
        let zone = if zone == "+00:00" { "Z" } else { zone };
        format!("{main}{zone}")
    }
}

/// Turns dotenv's flattened `sops_…` keys (`age__list_0__map_enc`) back into a tree.
pub fn unflatten(flat: &[(String, String)]) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in flat {
        let mut cur = &mut root;
        let mut parts = key.split("__").peekable();
        let mut first = true;
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            let next = || {
                if last {
                    Value::String(value.clone())
                } else {
                    Value::Null
                }
            };
            if let Some(n) = part
                .strip_prefix("list_")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|_| !first)
            {
                if !cur.is_array() {
                    *cur = Value::Array(Vec::new());
                }
                let Some(a) = cur.as_array_mut() else { break };
                if n >= MAX_STANZAS {
                    break;
                }
                while a.len() <= n {
                    a.push(Value::Null);
                }
                if last {
                    a[n] = next();
                }
                cur = &mut a[n];
            } else {
                let name = if first {
                    part
                } else {
                    part.strip_prefix("map_").unwrap_or(part)
                };
                if !cur.is_object() {
                    *cur = Value::Object(Map::new());
                }
                let Some(m) = cur.as_object_mut() else { break };
                let slot = m.entry(name.to_string()).or_insert(Value::Null);
                if last {
                    *slot = next();
                }
                cur = slot;
            }
            first = false;
        }
    }
    root
}

/// The inverse of [`unflatten`]: `(key, value)` pairs without the `sops_` prefix.
pub fn flatten(v: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}__map_{k}")
                };
                flatten(c, &key, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                flatten(c, &format!("{prefix}__list_{i}"), out);
            }
        }
        Value::Null => {}
        other => out.push((prefix.to_string(), text(other).unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_metadata_round_trips() {
        let flat = vec![
            ("age__list_0__map_recipient".to_string(), "age1x".to_string()),
            ("age__list_0__map_enc".to_string(), "E".to_string()),
            ("lastmodified".to_string(), "2024-11-12T13:33:42Z".to_string()),
        ];
        let v = unflatten(&flat);
        assert_eq!(v["age"][0]["recipient"], "age1x");
        let mut back = Vec::new();
        flatten(&v, "", &mut back);
        assert_eq!(back, flat);
    }

    #[test]
    fn mac_aad_is_go_rfc3339() {
        let md = |s: &str| Metadata {
            last_modified: s.into(),
            ..Default::default()
        };
        assert_eq!(md("2024-11-12T13:33:42Z").mac_aad(), "2024-11-12T13:33:42Z");
        assert_eq!(md("2024-11-12T13:33:42.123456Z").mac_aad(), "2024-11-12T13:33:42Z");
        assert_eq!(md("2024-11-12T13:33:42+02:00").mac_aad(), "2024-11-12T13:33:42+02:00");
    }
}
