//! One SOPS value: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, AES-256-GCM with a 32-byte nonce
//! and the value's key path as additional data.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Number, Value};

use crate::Error;

/// AES-256-GCM with SOPS' 32-byte nonce.
type SopsGcm = AesGcm<Aes256, U32>;

/// The plaintext of a value with the type SOPS records for it.
#[derive(Clone, Debug, PartialEq)]
pub enum Plain {
    /// `str` (also `time` and `comment`, kept as text).
    Str(String),
    /// `int`.
    Int(i64),
    /// `float`.
    Float(f64),
    /// `bool`.
    Bool(bool),
    /// `bytes`.
    Bytes(Vec<u8>),
}

impl Plain {
    /// The bytes SOPS encrypts and hashes for this value (Go's `ToBytes`).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Plain::Str(s) => s.as_bytes().to_vec(),
            Plain::Int(i) => i.to_string().into_bytes(),
            Plain::Float(f) => format_float(*f).into_bytes(),
            Plain::Bool(true) => b"True".to_vec(),
            Plain::Bool(false) => b"False".to_vec(),
            Plain::Bytes(b) => b.clone(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Plain::Str(_) => "str",
            Plain::Int(_) => "int",
            Plain::Float(_) => "float",
            Plain::Bool(_) => "bool",
            Plain::Bytes(_) => "bytes",
        }
    }

    /// A JSON value of a scalar; `None` for null and collections.
    pub fn from_value(v: &Value) -> Option<Plain> {
        Some(match v {
            Value::String(s) => Plain::Str(s.clone()),
            Value::Bool(b) => Plain::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Plain::Int(i),
                None => Plain::Float(n.as_f64()?),
            },
            _ => return None,
        })
    }

    /// As a JSON value (bytes become text, invalid UTF-8 replaced).
    pub fn into_value(self) -> Value {
        match self {
            Plain::Str(s) => Value::String(s),
            Plain::Int(i) => Value::Number(i.into()),
            Plain::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            Plain::Bool(b) => Value::Bool(b),
            Plain::Bytes(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: plain decimal, shortest round trip.
pub fn format_float(f: f64) -> String {
    format!("{f}")
}

#[cfg(test)]
/// Whether `s` has the shape of an encrypted SOPS value.
pub fn is_encrypted(s: &str) -> bool {
    s.starts_with("ENC[AES256_GCM,") && s.ends_with(']')
}

/// Decrypts one value. An empty string stays empty, as in SOPS. Errors never quote the value.
pub fn decrypt(text: &str, key: &[u8; 32], path: &str) -> Result<Plain, Error> {
    if text.is_empty() {
        return Ok(Plain::Str(String::new()));
    }
    let bad = |what: &str| Error::Value {
        path: path.to_string(),
        problem: what.to_string(),
    };
    let inner = text
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| bad("not an ENC[AES256_GCM,…] value"))?;
    let (mut data, mut iv, mut tag, mut ty) = (None, None, None, None);
    for part in inner.split(',') {
        let (k, v) = part.split_once(':').ok_or_else(|| bad("malformed ENC[] value"))?;
        match k {
            "data" => data = Some(v),
            "iv" => iv = Some(v),
            "tag" => tag = Some(v),
            "type" => ty = Some(v),
            _ => return Err(bad("malformed ENC[] value")),
        }
    }
    let b64 = |v: Option<&str>, what: &str| {
        STANDARD
            .decode(v.ok_or_else(|| bad(&format!("ENC[] value without {what}")))?)
            .map_err(|_| bad(&format!("ENC[] value with invalid base64 {what}")))
    };
    let (mut data, iv, tag) = (b64(data, "data")?, b64(iv, "iv")?, b64(tag, "tag")?);
    if iv.len() != 32 || tag.len() != 16 {
        return Err(bad("ENC[] value with an IV other than 32 bytes or a tag other than 16"));
    }
    data.extend_from_slice(&tag);
    let gcm = SopsGcm::new(key.into());
    let plain = gcm
        .decrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: &data,
                aad: path.as_bytes(),
            },
        )
        .map_err(|_| bad("authentication failed (wrong data key, or the value or its key path was changed)"))?;
    let text = || String::from_utf8(plain.clone()).map_err(|_| bad("plaintext is not UTF-8"));
    Ok(match ty.unwrap_or("str") {
        "str" | "time" | "comment" => Plain::Str(text()?),
        "int" => Plain::Int(
            text()?
                .parse()
                .map_err(|_| bad("type int, but the plaintext is not an integer"))?,
        ),
        "float" => Plain::Float(
            text()?
                .parse()
                .map_err(|_| bad("type float, but the plaintext is not a number"))?,
        ),
        "bool" => Plain::Bool(match text()?.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => return Err(bad("type bool, but the plaintext is not a boolean")),
        }),
        "bytes" => Plain::Bytes(plain),
        other => return Err(bad(&format!("unknown value type {other:?}"))),
    })
}

/// Encrypts one value with a fresh random IV. An empty string stays empty, as in SOPS.
pub fn encrypt(value: &Plain, key: &[u8; 32], path: &str) -> Result<String, Error> {
    if matches!(value, Plain::Str(s) if s.is_empty()) {
        return Ok(String::new());
    }
    let mut iv = [0u8; 32];
    OsRng.fill_bytes(&mut iv);
    let gcm = SopsGcm::new(key.into());
    let plain = value.to_bytes();
    let out = gcm
        .encrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: &plain,
                aad: path.as_bytes(),
            },
        )
        .map_err(|_| Error::Value {
            path: path.to_string(),
            problem: "encryption failed".into(),
        })?;
    let (data, tag) = out.split_at(out.len() - 16);
    Ok(format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
        STANDARD.encode(data),
        STANDARD.encode(iv),
        STANDARD.encode(tag),
        value.type_name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_type_and_binds_path() {
        let key = [7u8; 32];
        for v in [
            Plain::Str("s3cr3t".into()),
            Plain::Int(-42),
            Plain::Float(1.5),
            Plain::Bool(false),
            Plain::Bytes(vec![0, 159, 146, 150]),
        ] {
            let enc = encrypt(&v, &key, "a:b:").unwrap();
            assert!(is_encrypted(&enc));
            assert_eq!(decrypt(&enc, &key, "a:b:").unwrap(), v);
            let err = decrypt(&enc, &key, "a:c:").unwrap_err().to_string();
            assert!(err.contains("authentication failed"), "{err}");
        }
        assert_eq!(encrypt(&Plain::Str(String::new()), &key, "x:").unwrap(), "");
    }

    #[test]
    fn floats_print_as_go_does() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(1e21), "1000000000000000000000");
    }
}
