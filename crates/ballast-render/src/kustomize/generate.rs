//! `configMapGenerator`, `secretGenerator`, `generatorOptions`, and kustomize's name hash.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{Res, err, rel, resolve, strings};
use crate::RenderError;
use crate::decrypt::FileUse;
use crate::root::Root;

/// Adds (or merges into, or replaces) the generated ConfigMaps and Secrets.
pub(crate) fn generators(
    root: &Root,
    dir: &Path,
    file: &Path,
    k: &Value,
    out: &mut Vec<Res>,
) -> Result<(), RenderError> {
    let global = &k["generatorOptions"];
    for (field, kind) in [("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")] {
        for (i, g) in k[field].as_array().into_iter().flatten().enumerate() {
            let here = |m: String| err(root, file, format!("{field}[{i}]: {m}"));
            // `resolve` names the kustomization and the entry; add which generator.
            let within = |e: RenderError| match e {
                RenderError::Kustomize { message, .. } => here(message),
                other => other,
            };
            let name = g["name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .ok_or_else(|| here("name is required".into()))?;
            let mut data: BTreeMap<String, String> = BTreeMap::new();
            let mut binary: BTreeMap<String, Vec<u8>> = BTreeMap::new();
            // Errors name the entry and line, never the text: it may hold a secret.
            for (j, lit) in strings(&g["literals"]).iter().enumerate() {
                let (key, value) = lit
                    .split_once('=')
                    .ok_or_else(|| here(format!("literals[{j}]: expected key=value (the entry is not shown)")))?;
                check_key(key).map_err(|m| here(format!("literals[{j}]: {m}")))?;
                data.insert(key.to_string(), unquote(value).to_string());
            }
            for entry in strings(&g["files"]) {
                let (key, path) = match entry.split_once('=') {
                    Some((k, p)) => (k.to_string(), p.to_string()),
                    None => (
                        Path::new(&entry)
                            .file_name()
                            .and_then(|n| n.to_str())
                            .unwrap_or(&entry)
                            .to_string(),
                        entry.clone(),
                    ),
                };
                let p = resolve(root, dir, &path, file).map_err(within)?;
                let bytes = root.read_data_bytes(&p).map_err(|e| here(e.to_string()))?;
                let bytes = root
                    .decrypt_file(&p, bytes, FileUse::GeneratorFile(&key))
                    .map_err(|e| here(e.to_string()))?;
                check_key(&key).map_err(|m| here(format!("{}: {m}", rel(root, &p).display())))?;
                // A file that is not UTF-8 goes to binaryData (base64), as in kustomize.
                match String::from_utf8(bytes) {
                    Ok(text) => {
                        data.insert(key, text);
                    }
                    Err(e) => {
                        binary.insert(key, e.into_bytes());
                    }
                }
            }
            let mut envs = strings(&g["envs"]);
            if let Some(e) = g["env"].as_str() {
                envs.push(e.to_string());
            }
            for entry in envs {
                let p = resolve(root, dir, &entry, file).map_err(within)?;
                let text = root.read_data(&p).map_err(|e| here(e.to_string()))?;
                let text = match root.decryptor() {
                    None => text,
                    Some(_) => {
                        let bytes = root
                            .decrypt_file(&p, text.into_bytes(), FileUse::GeneratorEnv(&entry))
                            .map_err(|e| here(e.to_string()))?;
                        String::from_utf8(bytes).map_err(|_| here("decrypted env file is not UTF-8".into()))?
                    }
                };
                let env = rel(root, &p);
                for (n, line) in text.lines().enumerate() {
                    // As kustomize: leading blanks go, trailing ones stay; a line without `=`
                    // is a key with an empty value.
                    let line = if n == 0 {
                        line.trim_start_matches('\u{feff}')
                    } else {
                        line
                    };
                    let line = line.trim_start();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let at = |m: &str| here(format!("{}: line {}: {m}", env.display(), n + 1));
                    let (key, value) = line.split_once('=').unwrap_or((line, ""));
                    check_env_name(key).map_err(|m| at(&m))?;
                    data.insert(key.to_string(), value.to_string());
                }
            }
            let opts = |key: &str| -> Option<Value> {
                let mut m = Map::new();
                for src in [&global[key], &g["options"][key]] {
                    if let Some(o) = src.as_object() {
                        m.extend(o.clone());
                    }
                }
                (!m.is_empty()).then_some(Value::Object(m))
            };
            // As in kustomize, a flag set in generatorOptions holds for every generator.
            let flag =
                |key: &str| g["options"][key].as_bool().unwrap_or(false) || global[key].as_bool().unwrap_or(false);
            let mut meta = json!({"name": name});
            if let Some(ns) = g["namespace"].as_str() {
                meta["namespace"] = json!(ns);
            }
            if let Some(l) = opts("labels") {
                meta["labels"] = l;
            }
            if let Some(a) = opts("annotations") {
                meta["annotations"] = a;
            }
            let b64 = encode_base64;
            let mut encoded: Map<String, Value> = data
                .iter()
                .map(|(k, v)| {
                    let v = if kind == "Secret" { b64(v.as_bytes()) } else { v.clone() };
                    (k.clone(), Value::String(v))
                })
                .collect();
            let mut binary_data = Map::new();
            for (k, v) in &binary {
                let target = if kind == "Secret" {
                    &mut encoded
                } else {
                    &mut binary_data
                };
                target.insert(k.clone(), Value::String(b64(v)));
            }
            let mut obj = json!({"apiVersion": "v1", "kind": kind, "metadata": meta});
            // kustomize writes `data: {}` on an empty Secret, and no data on an empty ConfigMap.
            if !encoded.is_empty() || kind == "Secret" {
                obj["data"] = Value::Object(encoded);
            }
            if !binary_data.is_empty() {
                obj["binaryData"] = Value::Object(binary_data);
            }
            if kind == "Secret" {
                obj["type"] = json!(g["type"].as_str().unwrap_or("Opaque"));
            }
            if flag("immutable") {
                obj["immutable"] = json!(true);
            }
            let hashed = !flag("disableNameSuffixHash");
            // As in kustomize, an unknown behavior means create.
            let behavior = ["merge", "replace"]
                .into_iter()
                .find(|b| g["behavior"].as_str() == Some(b))
                .unwrap_or("create");
            // As kustomize: the object whose current or any previous identity is the generated
            // one's (kind, name, and namespace, where none means `default`).
            let ns = g["namespace"].as_str().filter(|n| !n.is_empty()).unwrap_or("default");
            let existing = out.iter().position(|r| {
                let current = (r.kind(), r.namespace().unwrap_or("default"), r.name());
                r.api_version() == "v1"
                    && std::iter::once(current)
                        .chain(r.prev.iter().map(|(k, n, m)| (k.as_str(), n.as_str(), m.as_str())))
                        .any(|(k, n, m)| k == kind && n == ns && m == name)
            });
            match (behavior, existing) {
                ("create", None) => {
                    let mut r = Res::new(
                        obj,
                        ballast_core::Origin {
                            file: rel(root, file),
                            document: 0,
                        },
                    );
                    r.hashed = hashed;
                    out.push(r);
                }
                ("create", Some(_)) => {
                    return Err(here(format!(
                        "{kind}/{name} already exists; use behavior: merge or replace"
                    )));
                }
                ("merge" | "replace", Some(at)) => {
                    let target = &mut out[at];
                    if behavior == "replace" {
                        target.obj["data"] = obj.get("data").cloned().unwrap_or(json!({}));
                    } else if let Some(new) = obj["data"].as_object() {
                        let d = target.obj.as_object_mut().and_then(|o| {
                            o.entry("data").or_insert_with(|| json!({}));
                            o.get_mut("data")?.as_object_mut()
                        });
                        if let Some(d) = d {
                            d.extend(new.clone());
                        }
                    }
                    for key in ["labels", "annotations"] {
                        if let Some(new) = obj["metadata"][key].as_object() {
                            let m = target.obj["metadata"].as_object_mut().and_then(|o| {
                                o.entry(key).or_insert_with(|| json!({}));
                                o.get_mut(key)?.as_object_mut()
                            });
                            if let Some(m) = m {
                                m.extend(new.clone());
                            }
                        }
                    }
                    target.hashed = target.hashed && hashed;
                }
                ("merge" | "replace", None) => {
                    return Err(here(format!("behavior {behavior}: no {kind}/{name} to {behavior}")));
                }
                (other, _) => return Err(here(format!("behavior {other:?}: expected create, merge or replace"))),
            }
        }
    }
    Ok(())
}

/// A ConfigMap/Secret key: `[-._a-zA-Z0-9]+`, at most 253 characters. The message names the
/// key only when it is well formed (a malformed "key" may be a value pasted in by mistake).
fn check_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 253
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key of {} characters is not a valid ConfigMap/Secret key (letters, digits, '-', '_', '.'; the key is not shown)",
            key.chars().count()
        ))
    }
}

/// Base64 as kustomize writes generated data: when the encoding reaches 70 characters, it is cut
/// into lines of 70, each ending with a line break.
fn encode_base64(v: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(v);
    if enc.len() < LINE {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / LINE + 1);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out
}

/// An environment variable name, as kustomize requires in env files: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
fn check_env_name(key: &str) -> Result<(), String> {
    let ok = key
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'-' | b'.' | b'_'))
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "a key of {} characters is not a valid environment variable name (the key is not shown)",
            key.chars().count()
        ))
    }
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// Kustomize's content hash of a ConfigMap or Secret (10 characters, no vowels or 0/1/3). As in
/// kustomize, the name does not take part (its lookup there never matches), the data does.
pub(crate) fn content_hash(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let sorted = |v: &Value| -> Value {
        match v.as_object() {
            Some(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .collect(),
            ),
            None => Value::String(String::new()),
        }
    };
    let mut m: BTreeMap<&str, Value> = BTreeMap::new();
    m.insert("kind", json!(kind));
    m.insert("name", json!(""));
    m.insert("data", sorted(&obj["data"]));
    if kind == "Secret" {
        m.insert("type", obj["type"].as_str().map(|t| json!(t)).unwrap_or(json!("")));
        if obj["stringData"].is_object() {
            m.insert("stringData", sorted(&obj["stringData"]));
        }
    } else if obj["binaryData"].is_object() {
        m.insert("binaryData", sorted(&obj["binaryData"]));
    }
    let text = go_json(&serde_json::to_string(&m).unwrap_or_default());
    let hex = hex::encode(Sha256::digest(text.as_bytes()));
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings.
fn go_json(s: &str) -> String {
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_kustomize() {
        let cm = json!({"kind": "ConfigMap", "data": {"b": "two", "a": "1"}, "metadata": {"name": "settings"}});
        assert_eq!(content_hash(&cm), "5m9tg7g54f");
        let s = json!({"kind": "Secret", "type": "Opaque", "data": {"password": "aHVudGVyMg=="}});
        assert_eq!(encode_base64(b"hunter2"), "aHVudGVyMg==");
        let long = encode_base64(&[b'x'; 60]);
        assert_eq!(long.lines().map(str::len).collect::<Vec<_>>(), [70, 10]);
        assert!(long.ends_with('\n'));
        assert_eq!(content_hash(&s), "cf85kd65mm");
    }
}
