//! SOPS files made by the `sops` tool, tampering, and our own files checked with Debian's `age`.

use std::path::{Path, PathBuf};
use std::process::Command;

use ballast_render::decrypt::{Decrypt, FileUse};
use ballast_sops::{Error, Format, Keys, Rules, SopsDecryptor, decrypt, encrypt, parse_recipient};
use serde_json::{Value, json};

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kustomize-controller")
        .join(p)
}

fn read(p: &str) -> Vec<u8> {
    std::fs::read(fixture(p)).unwrap()
}

fn keys(file: &str) -> Keys {
    let mut k = Keys::default();
    assert_eq!(k.add(&String::from_utf8(read(file)).unwrap(), file).unwrap(), 1);
    k
}

fn yaml(bytes: &[u8]) -> Value {
    ballast_render::yaml::parse_stream(std::str::from_utf8(bytes).unwrap())
        .unwrap()
        .remove(0)
}

#[test]
fn decrypts_yaml_made_by_sops_and_verifies_the_mac() {
    let out = decrypt(
        &read("algorithms/age.yaml"),
        Format::Yaml,
        Format::Yaml,
        &keys("keys/age.txt"),
    )
    .unwrap();
    let v = yaml(&out);
    assert_eq!(v["stringData"]["key"], "value");
    assert_eq!(v["metadata"]["name"], "age");
    assert!(v.get("sops").is_none());
    // sops 3.10.2, another key.
    let out = decrypt(
        &read("global/secret.yaml"),
        Format::Yaml,
        Format::Yaml,
        &keys("keys/age-global.txt"),
    )
    .unwrap();
    assert_eq!(yaml(&out)["metadata"]["name"], "global-age-secret");
    assert!(yaml(&out)["stringData"]["key"].as_str().is_some_and(|s| !s.is_empty()));
}

#[test]
fn decrypts_dotenv_and_binary_made_by_sops() {
    let k = keys("keys/age.txt");
    let env = decrypt(&read("envs/env.env"), Format::Dotenv, Format::Dotenv, &k).unwrap();
    assert_eq!(String::from_utf8(env).unwrap(), "key=value\n");
    let bin = decrypt(&read("files/file.txt"), Format::Binary, Format::Binary, &k).unwrap();
    assert_eq!(String::from_utf8(bin).unwrap(), "value");
}

#[test]
fn a_tampered_file_fails_the_mac() {
    let text = String::from_utf8(read("algorithms/age.yaml")).unwrap();
    // An unencrypted value is covered by the MAC too.
    let tampered = text.replace("  name: age\n", "  name: other\n");
    assert_ne!(tampered, text);
    let err = decrypt(tampered.as_bytes(), Format::Yaml, Format::Yaml, &keys("keys/age.txt")).unwrap_err();
    assert!(matches!(err, Error::MacMismatch), "{err}");
    // A value added after encryption, too.
    let added = text.replace("metadata:\n", "metadata:\n  namespace: injected\n");
    let err = decrypt(added.as_bytes(), Format::Yaml, Format::Yaml, &keys("keys/age.txt")).unwrap_err();
    assert!(matches!(err, Error::MacMismatch), "{err}");
    // A value moved to another key path fails its authentication.
    let moved = text.replace("  key: ENC[", "  other: ENC[");
    let err = decrypt(moved.as_bytes(), Format::Yaml, Format::Yaml, &keys("keys/age.txt")).unwrap_err();
    assert!(err.to_string().contains("stringData:other:"), "{err}");
}

#[test]
fn errors_name_recipients_and_unsupported_keys_never_values() {
    let err = decrypt(
        &read("algorithms/age.yaml"),
        Format::Yaml,
        Format::Yaml,
        &keys("keys/age-global.txt"),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29"),
        "{msg}"
    );
    assert!(!msg.contains("value"), "{msg}");
    let msg = decrypt(
        &read("algorithms/pgp.yaml"),
        Format::Yaml,
        Format::Yaml,
        &keys("keys/age.txt"),
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("unsupported kinds") && msg.contains("pgp"), "{msg}");
    let msg = decrypt(
        &read("algorithms/age-pq.yaml"),
        Format::Yaml,
        Format::Yaml,
        &keys("keys/age.txt"),
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("post-quantum age age1pq1"), "{msg}");
}

#[test]
fn render_hook_decrypts_secret_data_objects_and_generator_files() {
    let d = SopsDecryptor::new(keys("keys/age.txt"));
    // A Secret whose data value is an encrypted JSON document (Flux's `inside` case).
    let mut secret = yaml(&read("inside/secret.yaml"));
    d.object(&mut secret).unwrap();
    let value = secret["data"]["key"].as_str().unwrap();
    use base64::Engine;
    let plain = base64::engine::general_purpose::STANDARD.decode(value).unwrap();
    assert_eq!(plain, b"value");
    // An encrypted object.
    let mut obj = yaml(&read("patches/merge1.yaml"));
    d.object(&mut obj).unwrap();
    assert!(obj.get("sops").is_none());
    assert!(
        obj["stringData"]["key"]
            .as_str()
            .is_some_and(|s| !s.starts_with("ENC["))
    );
    // Opt-out annotation.
    let mut kept = yaml(&read("algorithms/age.yaml"));
    kept["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/decrypt": "disabled"});
    let before = kept.clone();
    d.object(&mut kept).unwrap();
    assert_eq!(kept, before);
    // Generator files: by the data key's format; env files default to dotenv.
    let out = d.file(read("files/file.txt"), FileUse::GeneratorFile("key")).unwrap();
    assert_eq!(out, b"value");
    let out = d.file(read("envs/env.env"), FileUse::GeneratorEnv("env.env")).unwrap();
    assert_eq!(out, b"key=value\n");
    // A plain file passes unchanged.
    assert_eq!(d.file(b"a=b\n".to_vec(), FileUse::GeneratorEnv("x")).unwrap(), b"a=b\n");
}

fn new_identity() -> (String, Keys) {
    let id = age::x25519::Identity::generate();
    use age::secrecy::ExposeSecret;
    let secret = id.to_string().expose_secret().to_string();
    let mut k = Keys::default();
    k.add(&secret, "generated").unwrap();
    (secret, k)
}

#[test]
fn our_files_round_trip_in_every_format_with_types_and_rules() {
    let (_, k) = new_identity();
    let r = parse_recipient(&k.recipients()[0]).unwrap();
    let doc = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2\n  port: 5432\n  ratio: 0.25\n  on: true\n  list:\n  - a\n  - 2\n  note_unencrypted: visible\n";
    let rules = Rules {
        encrypted_regex: Some("^(data|stringData)$".into()),
        ..Default::default()
    };
    let enc = encrypt(doc.as_bytes(), Format::Yaml, std::slice::from_ref(&r), rules).unwrap();
    let text = String::from_utf8(enc.clone()).unwrap();
    assert!(!text.contains("hunter2") && !text.contains("5432"), "{text}");
    assert!(
        text.contains("type:int") && text.contains("type:float") && text.contains("type:bool"),
        "{text}"
    );
    assert!(text.contains("name: s") && text.contains("encrypted_regex"), "{text}");
    let back = yaml(&decrypt(&enc, Format::Yaml, Format::Yaml, &k).unwrap());
    assert_eq!(back, yaml(doc.as_bytes()));

    // Default rule: `_unencrypted` keys stay readable.
    let json_doc = br#"{"a": "x", "b_unencrypted": "y", "n": 3}"#;
    let enc = encrypt(json_doc, Format::Json, std::slice::from_ref(&r), Rules::default()).unwrap();
    let text = String::from_utf8(enc.clone()).unwrap();
    assert!(
        text.contains("\"b_unencrypted\": \"y\"") && text.contains("\"mac\": \"ENC["),
        "{text}"
    );
    let back: Value = serde_json::from_slice(&decrypt(&enc, Format::Json, Format::Json, &k).unwrap()).unwrap();
    assert_eq!(back, json!({"a": "x", "b_unencrypted": "y", "n": 3}));

    let enc = encrypt(
        b"USER=me\nPASS=multi\\nline\n",
        Format::Dotenv,
        std::slice::from_ref(&r),
        Rules::default(),
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&enc).contains("sops_mac=ENC["));
    assert_eq!(
        decrypt(&enc, Format::Dotenv, Format::Dotenv, &k).unwrap(),
        b"USER=me\nPASS=multi\\nline\n"
    );

    let enc = encrypt(
        b"raw\nbytes",
        Format::Binary,
        std::slice::from_ref(&r),
        Rules::default(),
    )
    .unwrap();
    assert_eq!(
        decrypt(&enc, Format::Binary, Format::Binary, &k).unwrap(),
        b"raw\nbytes"
    );

    // mac_only_encrypted: unencrypted values may change.
    let rules = Rules {
        encrypted_regex: Some("^stringData$".into()),
        mac_only_encrypted: true,
        ..Default::default()
    };
    let enc = encrypt(doc.as_bytes(), Format::Yaml, std::slice::from_ref(&r), rules).unwrap();
    let edited = String::from_utf8(enc).unwrap().replace("name: s\n", "name: t\n");
    assert_eq!(
        yaml(&decrypt(edited.as_bytes(), Format::Yaml, Format::Yaml, &k).unwrap())["metadata"]["name"],
        "t"
    );
}

#[test]
fn debian_age_decrypts_our_data_key_stanzas() {
    let status = Command::new("age").arg("--version").output();
    assert!(
        status.is_ok(),
        "Debian's `age` CLI is missing: run scripts/install-deps (apt package `age`)"
    );
    let (secret, k) = new_identity();
    let (_, other) = new_identity();
    let recipients: Vec<_> = [&k, &other]
        .iter()
        .map(|k| parse_recipient(&k.recipients()[0]).unwrap())
        .collect();
    let enc = encrypt(
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: v\n",
        Format::Yaml,
        &recipients,
        Rules::default(),
    )
    .unwrap();
    let doc = yaml(&enc);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, format!("{secret}\n")).unwrap();
    let stanzas = doc["sops"]["age"].as_array().unwrap();
    assert_eq!(stanzas.len(), 2);
    let stanza = stanzas
        .iter()
        .find(|s| s["recipient"] == k.recipients()[0].as_str())
        .unwrap();
    let armored = dir.path().join("stanza.age");
    std::fs::write(&armored, stanza["enc"].as_str().unwrap()).unwrap();
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key_file)
        .arg(&armored)
        .output()
        .unwrap();
    assert!(out.status.success(), "age -d: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        out.stdout.len(),
        32,
        "the plaintext of a stanza is the 32-byte data key"
    );
}

/// The kustomize-controller trees built by the render with the hook, as Flux builds them.
#[test]
fn render_decrypts_flux_testdata_trees() {
    use ballast_render::{BuiltinScopes, RenderSpec, render_plain};
    use std::sync::Arc;
    let spec = |path: &str, decrypt: bool| RenderSpec {
        path: path.into(),
        default_namespace: Some("default".into()),
        decrypt: decrypt.then(|| Arc::new(SopsDecryptor::new(keys("keys/age.txt"))) as Arc<dyn Decrypt>),
        ..Default::default()
    };
    let root = fixture("");
    let data = |path: &str, name: &str| -> Value {
        let ms = render_plain(&root, &spec(path, true), &BuiltinScopes).unwrap();
        let m = ms.iter().find(|m| m.object["metadata"]["name"] == name).unwrap();
        m.object.clone()
    };
    use base64::Engine;
    let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    assert_eq!(data("envs", "envs-secret")["data"]["key"], b("value"));
    assert_eq!(data("files", "files-secret")["data"]["key"], b("value"));
    assert_eq!(data("inside", "inside-secret")["data"]["key"], b("value"));
    let patched = data("patches", "patches-secret");
    assert!(patched.get("sops").is_none(), "{patched}");
    assert!(
        patched["stringData"]["merge2"]
            .as_str()
            .is_some_and(|s| !s.starts_with("ENC[")),
        "{patched}"
    );
    // Without the hook the files stay encrypted.
    let ms = render_plain(&root, &spec("envs", false), &BuiltinScopes).unwrap();
    let s = ms
        .iter()
        .find(|m| m.object["metadata"]["name"] == "envs-secret")
        .unwrap();
    assert_ne!(s.object["data"]["key"], b("value"));
}
