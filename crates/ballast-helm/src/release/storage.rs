//! The release Secret as helm v4's Secret driver writes it: `sh.helm.release.v1.<name>.v<rev>`
//! of type `helm.sh/release.v1`, labels `name`, `owner=helm`, `status`, `version`,
//! `createdAt`/`modifiedAt`, and `data.release` = base64(gzip(JSON)) (itself base64 in the
//! API object, as any Secret data).
//!
//! Guarantees: decoding accepts the record gzipped or not (helm's readers do), refuses a
//! record larger than [`MAX_RECORD`] once inflated, and never panics on any input.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use super::{Release, Status};
use crate::Error;

/// The Secret type of helm's release records.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";

/// Labels helm's driver sets itself (user release labels are every other label).
pub const SYSTEM_LABELS: &[&str] = &["name", "owner", "status", "version", "createdAt", "modifiedAt"];

/// The largest record accepted once inflated (1 GiB is far beyond the 1 MiB a Secret holds).
pub const MAX_RECORD: u64 = 64 << 20;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b, 0x08];

/// `sh.helm.release.v1.<name>.v<version>`.
pub fn secret_name(name: &str, version: i64) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

/// The record as helm's `encodeRelease`: JSON, gzip (best compression), base64.
pub fn encode(release: &Release) -> Result<String, Error> {
    let json = serde_json::to_vec(release).map_err(|e| Error(format!("cannot encode release: {e}")))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&json)
        .map_err(|e| Error(format!("cannot compress release: {e}")))?;
    let zipped = gz
        .finish()
        .map_err(|e| Error(format!("cannot compress release: {e}")))?;
    Ok(STANDARD.encode(zipped))
}

/// The record from helm's encoded text (base64 of gzipped or plain JSON).
pub fn decode(text: &str) -> Result<Release, Error> {
    let raw = STANDARD
        .decode(text.trim())
        .map_err(|e| Error(format!("release record is not base64: {e}")))?;
    let json = if raw.starts_with(GZIP_MAGIC) {
        let mut out = Vec::new();
        GzDecoder::new(raw.as_slice())
            .take(MAX_RECORD + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error(format!("release record is not valid gzip: {e}")))?;
        if out.len() as u64 > MAX_RECORD {
            return Err(Error(format!("release record larger than {MAX_RECORD} bytes")));
        }
        out
    } else {
        raw
    };
    serde_json::from_slice(&json).map_err(|e| Error(format!("release record is not a release: {e}")))
}

/// The labels of a record's Secret. `created` chooses `createdAt` (a new Secret) or
/// `modifiedAt` (an update), set to `now` in Unix seconds.
pub fn labels(release: &Release, created: bool, now: i64) -> BTreeMap<String, String> {
    let mut labels = release.labels.clone();
    for l in SYSTEM_LABELS {
        labels.remove(*l);
    }
    labels.insert("name".into(), release.name.clone());
    labels.insert("owner".into(), "helm".into());
    labels.insert("status".into(), release.info.status.as_str().into());
    labels.insert("version".into(), release.version.to_string());
    labels.insert(if created { "createdAt" } else { "modifiedAt" }.into(), now.to_string());
    labels
}

/// The Secret that stores `release` in `namespace` (helm's storage namespace).
pub fn to_secret(release: &Release, namespace: &str, created: bool, now: i64) -> Result<Value, Error> {
    let record = encode(release)?;
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(&release.name, release.version),
            "namespace": namespace,
            "labels": labels(release, created, now),
        },
        "type": SECRET_TYPE,
        "data": { "release": STANDARD.encode(record.as_bytes()) },
    }))
}

/// The record of a release Secret as the API returns it (`data.release` base64 of the
/// record); user labels land in `labels`.
pub fn from_secret(secret: &Value) -> Result<Release, Error> {
    let name = secret
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>");
    let data = secret
        .pointer("/data/release")
        .and_then(Value::as_str)
        .ok_or_else(|| Error(format!("Secret {name}: no data.release")))?;
    let record = STANDARD
        .decode(data)
        .map_err(|e| Error(format!("Secret {name}: data.release is not base64: {e}")))?;
    let record = String::from_utf8(record).map_err(|_| Error(format!("Secret {name}: data.release is not text")))?;
    let mut release = decode(&record).map_err(|e| Error(format!("Secret {name}: {}", e.0)))?;
    if let Some(Value::Object(ls)) = secret.pointer("/metadata/labels") {
        for (k, v) in ls {
            if let (false, Some(v)) = (SYSTEM_LABELS.contains(&k.as_str()), v.as_str()) {
                release.labels.insert(k.clone(), v.to_string());
            }
        }
    }
    Ok(release)
}

/// The label selector of every record of `name`.
pub fn selector(name: &str) -> String {
    format!("owner=helm,name={name}")
}

/// Of a release's records, the latest revision.
pub fn latest(records: &[Release]) -> Option<&Release> {
    records.iter().max_by_key(|r| r.version)
}

/// Of a release's records, the latest with status `deployed`.
pub fn last_deployed(records: &[Release]) -> Option<&Release> {
    records
        .iter()
        .filter(|r| r.info.status == Status::Deployed)
        .max_by_key(|r| r.version)
}
