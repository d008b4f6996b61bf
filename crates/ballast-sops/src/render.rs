//! The render hook: Flux's `spec.decryption` rules over what a build reads and produces.

use ballast_render::decrypt::{Decrypt, FileUse};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::{Format, Keys, decrypt, decrypt_value, is_encrypted};

/// Annotation that leaves an object encrypted (Flux's opt-out).
pub const DECRYPT_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/decrypt";

/// Decrypts, as Flux's kustomize-controller does:
/// - generator `files` (format from the data key's name), generator `envs` (format from the
///   file name, dotenv when that says binary) and patch files, when they carry the format's
///   marker bytes;
/// - any object of the build with a non-empty `sops.mac` (its JSON form);
/// - a Secret's `data` value that base64-decodes to an encrypted document (format detected
///   from its marker bytes; written in the format of the data key's name).
///
/// Objects annotated `kustomize.toolkit.fluxcd.io/decrypt: disabled` are left as they are.
/// Unlike Flux, the MAC is always verified.
#[derive(Debug)]
pub struct SopsDecryptor {
    keys: Keys,
}

impl SopsDecryptor {
    /// A decryptor with these identities.
    pub fn new(keys: Keys) -> SopsDecryptor {
        SopsDecryptor { keys }
    }
}

/// Whether an object carries a SOPS block with a MAC (Flux's `isSOPSEncryptedResource`).
pub fn is_encrypted_object(object: &Value) -> bool {
    object
        .get("sops")
        .and_then(|s| s.get("mac"))
        .is_some_and(|m| !m.is_null() && m.as_str() != Some(""))
}

impl Decrypt for SopsDecryptor {
    fn file(&self, bytes: Vec<u8>, usage: FileUse<'_>) -> Result<Vec<u8>, String> {
        let format = match usage {
            FileUse::GeneratorFile(key) => Format::for_path(key),
            FileUse::GeneratorEnv(path) => match Format::for_path(path) {
                Format::Binary => Format::Dotenv,
                f => f,
            },
            FileUse::Patch(path) => Format::for_path(path),
        };
        if !is_encrypted(&bytes, format) {
            return Ok(bytes);
        }
        decrypt(&bytes, format, format, &self.keys).map_err(|e| format!("SOPS decryption failed: {e}"))
    }

    fn object(&self, object: &mut Value) -> Result<(), String> {
        if object
            .pointer(&format!(
                "/metadata/annotations/{}",
                DECRYPT_ANNOTATION.replace('/', "~1")
            ))
            .and_then(Value::as_str)
            == Some("disabled")
        {
            return Ok(());
        }
        let what = || {
            format!(
                "{} {}",
                object["kind"].as_str().unwrap_or_default(),
                object
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            )
        };
        if is_encrypted_object(object) {
            let plain = decrypt_value(object.clone(), &self.keys)
                .map_err(|e| format!("{}: SOPS decryption failed: {e}", what()))?;
            *object = plain;
            return Ok(());
        }
        if object["kind"] != "Secret" {
            return Ok(());
        }
        let name = what();
        let Some(data) = object.get_mut("data").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        for (key, value) in data.iter_mut() {
            let Some(bytes) = value.as_str().and_then(|s| STANDARD.decode(s).ok()) else {
                continue;
            };
            let Some(input) = Format::detect(&bytes) else {
                continue;
            };
            let out = decrypt(&bytes, input, Format::for_path(key), &self.keys)
                .map_err(|e| format!("{name}: data key {key:?}: SOPS decryption failed: {e}"))?;
            *value = Value::String(STANDARD.encode(out));
        }
        Ok(())
    }
}
