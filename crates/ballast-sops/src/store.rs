//! Reading and writing the four file formats.

use ballast_render::emit::to_yaml;
use ballast_render::yaml::parse_stream;
use serde_json::{Map, Value};

use crate::metadata::{flatten, unflatten};
use crate::{Error, MAX_INPUT};

/// A SOPS file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML (one document).
    Yaml,
    /// JSON.
    Json,
    /// `KEY=value` lines; metadata as flattened `sops_…` keys.
    Dotenv,
    /// Any bytes, kept as the `data` value of a JSON envelope.
    Binary,
}

impl Format {
    /// The format SOPS (and Flux) infer from a file name: `.yaml`/`.yml`, `.json` (and a
    /// `.dockerconfigjson` key), `.env`; anything else is binary.
    pub fn for_path(path: &str) -> Format {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else if lower.ends_with(".json") || lower.ends_with(".dockerconfigjson") {
            Format::Json
        } else if lower.ends_with(".env") {
            Format::Dotenv
        } else {
            Format::Binary
        }
    }

    /// The format of an encrypted document, from its marker bytes (Flux's rule for Secret data).
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        [Format::Json, Format::Dotenv, Format::Yaml]
            .into_iter()
            .find(|f| crate::is_encrypted(bytes, *f))
    }
}

/// The marker that shows a document of `format` is encrypted.
pub(crate) fn marker(format: Format) -> Option<&'static [u8]> {
    Some(match format {
        Format::Yaml => b"mac: ENC[",
        Format::Json | Format::Binary => b"\"mac\": \"ENC[",
        Format::Dotenv => b"sops_mac=ENC[",
    })
}

/// A loaded document: the tree (a mapping) and its `sops` block.
pub(crate) struct Doc {
    pub tree: Value,
    pub sops: Value,
}

fn text(bytes: &[u8]) -> Result<&str, Error> {
    if bytes.len() > MAX_INPUT {
        return Err(Error::Format(format!("larger than {MAX_INPUT} bytes")));
    }
    std::str::from_utf8(bytes).map_err(|_| Error::Format("not UTF-8".into()))
}

/// Parses a mapping in `format` (dotenv: `(key, value)` pairs in order; binary: the raw text).
pub(crate) fn load_plain(bytes: &[u8], format: Format) -> Result<Value, Error> {
    let t = text(bytes)?;
    match format {
        Format::Yaml => {
            let mut docs = parse_stream(t).map_err(|e| Error::Format(format!("YAML: {e}")))?;
            docs.retain(|d| !d.is_null());
            if docs.len() != 1 || !docs[0].is_object() {
                return Err(Error::Format("expected one YAML document holding a mapping".into()));
            }
            Ok(docs.remove(0))
        }
        Format::Json => {
            let v: Value = serde_json::from_str(t).map_err(|e| Error::Format(format!("JSON: line {}", e.line())))?;
            if !v.is_object() {
                return Err(Error::Format("expected a JSON object".into()));
            }
            Ok(v)
        }
        Format::Dotenv => {
            let mut m = Map::new();
            for (i, line) in t.split('\n').enumerate() {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (k, v) = line
                    .split_once('=')
                    .ok_or_else(|| Error::Format(format!("dotenv line {}: no '=' (the line is not shown)", i + 1)))?;
                m.insert(k.to_string(), Value::String(v.replace("\\n", "\n")));
            }
            Ok(Value::Object(m))
        }
        Format::Binary => {
            let mut m = Map::new();
            m.insert("data".into(), Value::String(t.to_string()));
            Ok(Value::Object(m))
        }
    }
}

/// Loads an encrypted document.
pub(crate) fn load(bytes: &[u8], format: Format) -> Result<Doc, Error> {
    // The binary format is a JSON envelope.
    let parse_as = if format == Format::Binary { Format::Json } else { format };
    let mut tree = load_plain(bytes, parse_as)?;
    let m = tree
        .as_object_mut()
        .ok_or_else(|| Error::Format("not a mapping".into()))?;
    let sops = if format == Format::Dotenv {
        let keys: Vec<String> = m.keys().filter(|k| k.starts_with("sops_")).cloned().collect();
        let mut flat = Vec::new();
        for k in keys {
            if let Some(Value::String(v)) = m.shift_remove(&k) {
                flat.push((k["sops_".len()..].to_string(), v));
            }
        }
        if flat.is_empty() { None } else { Some(unflatten(&flat)) }
    } else {
        m.shift_remove("sops")
    };
    let sops = sops.ok_or_else(|| Error::Format("no sops metadata: the document is not encrypted".into()))?;
    Ok(Doc { tree, sops })
}

fn dotenv_line(out: &mut String, k: &str, v: &Value) -> Result<(), Error> {
    let v = match v {
        Value::String(s) => s.replace('\n', "\\n"),
        Value::Null => String::new(),
        Value::Number(_) | Value::Bool(_) => crate::Plain::from_value(v)
            .map(|p| String::from_utf8_lossy(&p.to_bytes()).into_owned())
            .unwrap_or_default(),
        _ => {
            return Err(Error::Format(format!(
                "dotenv cannot hold the nested value of key {k:?}"
            )));
        }
    };
    out.push_str(k);
    out.push('=');
    out.push_str(&v);
    out.push('\n');
    Ok(())
}

fn json_pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Writes a decrypted tree in `format`.
pub(crate) fn emit_plain(tree: &Value, format: Format) -> Result<Vec<u8>, Error> {
    Ok(match format {
        Format::Yaml => to_yaml(tree).into_bytes(),
        Format::Json => json_pretty(tree),
        Format::Dotenv => {
            let mut out = String::new();
            for (k, v) in tree.as_object().into_iter().flatten() {
                dotenv_line(&mut out, k, v)?;
            }
            out.into_bytes()
        }
        Format::Binary => match tree.get("data") {
            Some(Value::String(s)) => s.clone().into_bytes(),
            _ => return Err(Error::Format("a binary document needs a string `data` value".into())),
        },
    })
}

/// Writes an encrypted document in `format`, its `sops` block as the `sops` tool writes it.
pub(crate) fn emit_encrypted(doc: Doc, format: Format) -> Result<Vec<u8>, Error> {
    let Doc { mut tree, sops } = doc;
    if format == Format::Dotenv {
        let mut out = String::new();
        for (k, v) in tree.as_object().into_iter().flatten() {
            dotenv_line(&mut out, k, v)?;
        }
        let mut flat = Vec::new();
        flatten(&sops, "", &mut flat);
        for (k, v) in flat {
            dotenv_line(&mut out, &format!("sops_{k}"), &Value::String(v))?;
        }
        return Ok(out.into_bytes());
    }
    if let Some(m) = tree.as_object_mut() {
        m.insert("sops".into(), sops);
    }
    Ok(match format {
        Format::Yaml => to_yaml(&tree).into_bytes(),
        _ => json_pretty(&tree),
    })
}
