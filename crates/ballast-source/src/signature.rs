//! OpenPGP signature checks of Git objects (Flux's GitRepository `spec.verify`): a commit's
//! `gpgsig` header and an annotated tag's trailing signature, against the armored public key
//! rings the user trusts.
//!
//! Guarantees:
//! - a signature counts only when it verifies with a trusted primary key, or with a subkey whose
//!   binding to its primary key verifies;
//! - the signed payload is the object exactly as Git signs it (the commit without its `gpgsig`
//!   header; the tag without its signature block);
//! - an unsigned object, an unreadable signature and a signature by an unknown key are errors.

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;

/// The public keys a GitRepository trusts.
pub struct TrustedKeys {
    keys: Vec<SignedPublicKey>,
}

impl TrustedKeys {
    /// Reads every key of every armored key ring of `rings` (the values of the Secret). Keys
    /// whose self-signatures do not verify are left out.
    pub fn from_armored(rings: &[&[u8]]) -> Result<Self, String> {
        let mut keys = Vec::new();
        for ring in rings {
            let Ok(text) = std::str::from_utf8(ring) else {
                continue;
            };
            let Ok((parsed, _)) = SignedPublicKey::from_string_many(text) else {
                continue;
            };
            keys.extend(parsed.flatten().filter(|k| k.verify_bindings().is_ok()));
        }
        if keys.is_empty() {
            return Err("no valid OpenPGP public key in the secret".into());
        }
        Ok(TrustedKeys { keys })
    }

    /// Verifies a raw commit object (`git cat-file commit`); returns the signing key's id.
    pub fn verify_commit(&self, raw: &[u8]) -> Result<String, String> {
        let text = std::str::from_utf8(raw).map_err(|_| "the commit is not UTF-8".to_string())?;
        let (payload, signature) = split_commit(text).ok_or("the commit is not signed")?;
        self.verify(payload.as_bytes(), &signature)
    }

    /// Verifies a raw annotated tag object (`git cat-file tag`); returns the signing key's id.
    pub fn verify_tag(&self, raw: &[u8]) -> Result<String, String> {
        let text = std::str::from_utf8(raw).map_err(|_| "the tag is not UTF-8".to_string())?;
        let at = tag_signature_start(text).ok_or("the tag is not signed")?;
        self.verify(&raw[..at], &text[at..])
    }

    fn verify(&self, payload: &[u8], armored: &str) -> Result<String, String> {
        let (signature, _) =
            DetachedSignature::from_string(armored).map_err(|e| format!("unreadable signature ({e})"))?;
        for key in &self.keys {
            if signature.verify(key, payload).is_ok() {
                return Ok(key_id(key.primary_key.legacy_key_id().to_string()));
            }
            for sub in &key.public_subkeys {
                if sub.verify_bindings(&key.primary_key).is_ok() && signature.verify(&sub.key, payload).is_ok() {
                    return Ok(key_id(sub.key.legacy_key_id().to_string()));
                }
            }
        }
        Err("openpgp: signature made by unknown entity".into())
    }
}

fn key_id(hex: String) -> String {
    hex.to_uppercase()
}

/// A signed commit split into what was signed (the object without its `gpgsig` header) and the
/// armored signature; `None` when unsigned.
fn split_commit(text: &str) -> Option<(String, String)> {
    let (headers, rest) = text.split_once("\n\n").map_or((text, None), |(h, r)| (h, Some(r)));
    let mut payload = String::with_capacity(text.len());
    let mut signature: Option<String> = None;
    let mut in_sig = false;
    for line in headers.split('\n') {
        if let Some(first) = line.strip_prefix("gpgsig ") {
            signature = Some(format!("{first}\n"));
            in_sig = true;
            continue;
        }
        if in_sig && let Some(cont) = line.strip_prefix(' ') {
            if let Some(s) = signature.as_mut() {
                s.push_str(cont);
                s.push('\n');
            }
            continue;
        }
        in_sig = false;
        payload.push_str(line);
        payload.push('\n');
    }
    if let Some(rest) = rest {
        payload.push('\n');
        payload.push_str(rest);
    }
    signature.map(|s| (payload, s))
}

/// Where the signature block of an annotated tag starts.
fn tag_signature_start(text: &str) -> Option<usize> {
    let marker = "-----BEGIN PGP SIGNATURE-----";
    let at = text.rfind(marker)?;
    (at == 0 || text.as_bytes()[at - 1] == b'\n').then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_splits_into_payload_and_signature() {
        let raw = "tree t\nparent p\nauthor a\ncommitter c\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nmessage\n";
        let (payload, sig) = split_commit(raw).unwrap();
        assert_eq!(payload, "tree t\nparent p\nauthor a\ncommitter c\n\nmessage\n");
        assert_eq!(
            sig,
            "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n"
        );
        assert!(split_commit("tree t\n\nunsigned\n").is_none());
        let tag = "object o\ntype commit\ntag v1\ntagger t\n\nrelease\n-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n";
        assert_eq!(
            &tag[..tag_signature_start(tag).unwrap()],
            "object o\ntype commit\ntag v1\ntagger t\n\nrelease\n"
        );
        assert!(tag_signature_start("object o\n\nplain\n").is_none());
        assert!(TrustedKeys::from_armored(&[b"not a key"]).is_err());
    }
}
