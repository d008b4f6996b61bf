//! The sealed-secrets hybrid format of one value:
//!
//! ```text
//! session = 32 random bytes
//! wrapped = RSA-OAEP(SHA-256, MGF1-SHA-256, label)(session)
//! sealed  = AES-256-GCM(session, nonce = 12 zero bytes, no AAD)(plaintext) ‖ 16-byte tag
//! value   = uint16_be(len(wrapped)) ‖ wrapped ‖ sealed
//! ```
//!
//! A zero nonce is safe because every session key is fresh and seals one value only.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256;

use crate::{SealError, SealingKey, UnsealingKey};

/// Largest plaintext sealed or unsealed: a Secret holds at most 1 MiB.
pub const MAX_VALUE: usize = 1 << 20;

/// Most keys tried on one value (a controller keeps one per renewal period).
pub const MAX_KEYS: usize = 256;

const SESSION_KEY_LEN: usize = 32;

/// Seals `plaintext` for `label` (see [`crate::Scope::label`]).
pub fn seal(key: &SealingKey, label: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    if plaintext.len() > MAX_VALUE {
        return Err(SealError::TooLarge(plaintext.len()));
    }
    let mut session = [0u8; SESSION_KEY_LEN];
    aws_lc_rs::rand::fill(&mut session).map_err(|_| SealError::Crypto("no randomness"))?;
    let oaep = key.oaep()?;
    let mut wrapped = vec![0u8; oaep.ciphertext_size()];
    let wrapped_len = oaep
        .encrypt(&OAEP_SHA256_MGF1SHA256, &session, &mut wrapped, Some(label))
        .map_err(|_| SealError::Crypto("RSA-OAEP encryption failed"))?
        .len();
    wrapped.truncate(wrapped_len);
    let len = u16::try_from(wrapped.len()).map_err(|_| SealError::Crypto("RSA key too large"))?;
    let aes = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &session).map_err(|_| SealError::Crypto("AES key"))?);
    let mut sealed = plaintext.to_vec();
    aes.seal_in_place_append_tag(Nonce::assume_unique_for_key([0u8; 12]), Aad::empty(), &mut sealed)
        .map_err(|_| SealError::Crypto("AES-GCM encryption failed"))?;
    let mut out = Vec::with_capacity(2 + wrapped.len() + sealed.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Unseals `value` for `label` with the first of `keys` that opens it (at most [`MAX_KEYS`]
/// tried). Which key failed and why is not told apart: a wrong key, a wrong label and a
/// tampered value all give [`SealError::NoKey`].
pub fn unseal(keys: &[UnsealingKey], label: &[u8], value: &[u8]) -> Result<Vec<u8>, SealError> {
    if value.len() > MAX_VALUE + 2 + 1024 + 16 {
        return Err(SealError::TooLarge(value.len()));
    }
    let malformed = SealError::Malformed;
    let (len, rest) = value.split_first_chunk::<2>().ok_or(malformed.clone())?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len + 16 {
        return Err(malformed);
    }
    let (wrapped, sealed) = rest.split_at(len);
    for key in keys.iter().take(MAX_KEYS) {
        let oaep = key.oaep()?;
        if oaep.key_size_bytes() != wrapped.len() {
            continue;
        }
        let mut session = vec![0u8; oaep.min_output_size()];
        let Ok(opened) = oaep.decrypt(&OAEP_SHA256_MGF1SHA256, wrapped, &mut session, Some(label)) else {
            continue;
        };
        if opened.len() != SESSION_KEY_LEN {
            continue;
        }
        let Ok(unbound) = UnboundKey::new(&AES_256_GCM, opened) else {
            continue;
        };
        let aes = LessSafeKey::new(unbound);
        let mut buf = sealed.to_vec();
        if let Ok(plain) = aes.open_in_place(Nonce::assume_unique_for_key([0u8; 12]), Aad::empty(), &mut buf) {
            let n = plain.len();
            buf.truncate(n);
            return Ok(buf);
        }
    }
    Err(SealError::NoKey)
}
