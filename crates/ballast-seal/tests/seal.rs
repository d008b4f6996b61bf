//! The sealed-secrets format against the real tools' output and an independent implementation
//! (python3-cryptography, `tests/oracle.py`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ballast_seal::document::{reseal, unseal_sealed_secret};
use ballast_seal::{Scope, SealError, SealingKey, UnsealingKey, generate, seal, seal_secret, unseal};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn real_key() -> UnsealingKey {
    UnsealingKey::from_pem(&read("fixtures/controller-key.pem")).unwrap()
}

fn real_cert() -> SealingKey {
    SealingKey::from_pem(&read("fixtures/controller-cert.pem")).unwrap()
}

/// kubeseal's output as JSON (the fixture is YAML of the simplest kind: parsed by hand).
fn kubeseal_output() -> Value {
    let text = read("fixtures/kubeseal-sealed-secret.yaml");
    let token = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap()
        .to_string();
    assert!(token.starts_with("AgB"), "a 4096-bit value starts with 0x02 0x00");
    json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": "credentials", "namespace": "foo", "creationTimestamp": null},
        "spec": {"encryptedData": {"token": token},
                 "template": {"metadata": {"name": "credentials", "namespace": "foo", "creationTimestamp": null}, "type": "Opaque"}}
    })
}

/// Runs the Python oracle; panics with its stderr when python3-cryptography is missing.
fn oracle(mode: &str, pem: &Path, label: &[u8], input: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("python3")
        .arg(fixture("oracle.py"))
        .arg(mode)
        .arg(pem)
        .arg(std::str::from_utf8(label).unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (scripts/install-deps installs it with python3-cryptography)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(STANDARD.encode(input).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "python3-cryptography is missing (scripts/install-deps installs it): {stderr}"
    );
    if !out.status.success() {
        return Err(stderr);
    }
    Ok(STANDARD.decode(String::from_utf8(out.stdout).unwrap().trim()).unwrap())
}

#[test]
fn real_kubeseal_output_unseals_with_the_real_controller_key() {
    let sealed = kubeseal_output();
    let unsealed = unseal_sealed_secret(&sealed, &[real_key()]).unwrap();
    assert_eq!(unsealed.data["token"], b"sealed-secrets-example");
    assert_eq!(
        (unsealed.namespace.as_str(), unsealed.name.as_str()),
        ("foo", "credentials")
    );
    assert_eq!(unsealed.scope, Scope::Strict);
    let secret = unsealed.to_secret(None);
    assert_eq!(secret["data"]["token"], STANDARD.encode("sealed-secrets-example"));
    assert_eq!(secret["type"], "Opaque");
    // Debug output names keys, never values.
    assert!(!format!("{unsealed:?}").contains("sealed-secrets-example"));
}

#[test]
fn the_label_binds_values_to_namespace_name_and_scope() {
    let token = STANDARD
        .decode(kubeseal_output()["spec"]["encryptedData"]["token"].as_str().unwrap())
        .unwrap();
    let key = [real_key()];
    assert_eq!(
        unseal(&key, b"foo/credentials", &token).unwrap(),
        b"sealed-secrets-example"
    );
    for label in [&b"foo"[..], b"", b"foo/other", b"bar/credentials"] {
        assert_eq!(unseal(&key, label, &token), Err(SealError::NoKey), "{label:?}");
    }
    // The same SealedSecret moved to another namespace, renamed, or widened by annotation.
    let mut moved = kubeseal_output();
    moved["metadata"]["namespace"] = json!("bar");
    moved["spec"]["template"]["metadata"]["namespace"] = json!("bar");
    let err = unseal_sealed_secret(&moved, &key).unwrap_err().to_string();
    assert!(err.contains("spec.encryptedData.token: no key could decrypt"), "{err}");
    assert!(err.contains("another name, namespace or scope"), "{err}");
    let mut widened = kubeseal_output();
    widened["metadata"]["annotations"] = json!({"sealedsecrets.bitnami.com/cluster-wide": "true"});
    assert!(unseal_sealed_secret(&widened, &key).is_err());
    let mut claimed = kubeseal_output();
    claimed["spec"]["template"]["metadata"]["annotations"] = json!({"sealedsecrets.bitnami.com/cluster-wide": "true"});
    let err = unseal_sealed_secret(&claimed, &key).unwrap_err().to_string();
    assert!(err.contains("claim scope cluster-wide"), "{err}");
    let mut renamed = kubeseal_output();
    renamed["spec"]["template"]["metadata"]["name"] = json!("other");
    let err = unseal_sealed_secret(&renamed, &key).unwrap_err().to_string();
    assert!(err.contains("spec.template.metadata.name \"other\" differs"), "{err}");
}

#[test]
fn tampered_truncated_and_foreign_values_are_refused() {
    let mut token = STANDARD
        .decode(kubeseal_output()["spec"]["encryptedData"]["token"].as_str().unwrap())
        .unwrap();
    let key = [real_key()];
    let last = token.len() - 1;
    token[last] ^= 1;
    assert_eq!(unseal(&key, b"foo/credentials", &token), Err(SealError::NoKey));
    assert_eq!(
        unseal(&key, b"foo/credentials", &token[..100]),
        Err(SealError::Malformed)
    );
    assert_eq!(unseal(&key, b"foo/credentials", &[]), Err(SealError::Malformed));
    assert_eq!(unseal(&[], b"foo/credentials", &token), Err(SealError::NoKey));
    let mut bad = kubeseal_output();
    bad["spec"]["encryptedData"]["token"] = json!("not base64!");
    let err = unseal_sealed_secret(&bad, &key).unwrap_err().to_string();
    assert_eq!(err, "spec.encryptedData.token is not valid base64");
}

#[test]
fn certificate_and_private_key_of_the_real_controller_match() {
    assert_eq!(real_cert().spki(), real_key().sealing_key().spki());
    assert_eq!(real_cert().bits(), 4096);
    assert!(SealingKey::from_pem("no pem here").is_err());
    assert!(UnsealingKey::from_pem(&read("fixtures/controller-cert.pem")).is_err());
    assert!(!format!("{:?}", real_key()).contains("MII"));
}

#[test]
fn values_we_seal_open_with_the_oracle_in_every_scope() {
    let cert = fixture("fixtures/controller-cert.pem");
    for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
        let label = scope.label("team-a", "db");
        let value = format!("p@ss {} \u{e9}\n", scope.name());
        let sealed = seal(&real_cert(), &label, value.as_bytes()).unwrap();
        assert_eq!(&sealed[..2], &[0x02, 0x00], "a 512-byte RSA block");
        let opened = oracle("unseal", &fixture("fixtures/controller-key.pem"), &label, &sealed).unwrap();
        assert_eq!(opened, value.as_bytes(), "{scope:?}");
        // The oracle refuses it under another scope's label.
        let other = if scope == Scope::Strict {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        };
        assert!(
            oracle(
                "unseal",
                &fixture("fixtures/controller-key.pem"),
                &other.label("team-a", "db"),
                &sealed
            )
            .is_err()
        );
        // And what the oracle seals, we open.
        let theirs = oracle("seal", &cert, &label, value.as_bytes()).unwrap();
        assert_eq!(unseal(&[real_key()], &label, &theirs).unwrap(), value.as_bytes());
    }
}

#[test]
fn a_secret_manifest_sealed_like_kubeseal() {
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "labels": {"app": "db"}, "uid": "u1", "resourceVersion": "7",
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":\"secret\"}", "team": "a"}},
        "type": "kubernetes.io/basic-auth",
        "data": {"username": STANDARD.encode("admin"), "password": STANDARD.encode("old")},
        "stringData": {"password": "hunter2"}
    });
    for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
        let sealed = seal_secret(&secret, &real_cert(), Some(scope), "team-a").unwrap();
        assert_eq!(sealed["metadata"]["namespace"], "team-a");
        assert_eq!(sealed["spec"]["template"]["type"], "kubernetes.io/basic-auth");
        assert_eq!(sealed["spec"]["template"]["metadata"]["labels"]["app"], "db");
        let template_meta = sealed["spec"]["template"]["metadata"].to_string();
        assert!(
            !template_meta.contains("last-applied") && !template_meta.contains("\"uid\""),
            "{template_meta}"
        );
        match scope.annotation() {
            Some(a) => assert_eq!(sealed["metadata"]["annotations"][a], "true"),
            None => assert!(sealed["metadata"].get("annotations").is_none()),
        }
        let text = sealed.to_string();
        assert!(!text.contains("hunter2") && !text.contains(&STANDARD.encode("admin")));
        let unsealed = unseal_sealed_secret(&sealed, &[real_key()]).unwrap();
        assert_eq!(unsealed.data["password"], b"hunter2", "stringData wins");
        assert_eq!(unsealed.data["username"], b"admin");
        assert_eq!(unsealed.scope, scope);
        // Each value opens with the oracle under the scope's label.
        let value = STANDARD
            .decode(sealed["spec"]["encryptedData"]["password"].as_str().unwrap())
            .unwrap();
        let opened = oracle(
            "unseal",
            &fixture("fixtures/controller-key.pem"),
            &scope.label("team-a", "db"),
            &value,
        )
        .unwrap();
        assert_eq!(opened, b"hunter2");
    }
    // The scope annotations of the Secret choose the scope when none is given.
    let mut wide = secret.clone();
    wide["metadata"]["annotations"]["sealedsecrets.bitnami.com/namespace-wide"] = json!("true");
    let sealed = seal_secret(&wide, &real_cert(), None, "team-a").unwrap();
    assert_eq!(
        unseal_sealed_secret(&sealed, &[real_key()]).unwrap().scope,
        Scope::NamespaceWide
    );
    // Refusals name the field, not the value.
    let mut bad = secret.clone();
    bad["data"]["password"] = json!("%%%");
    assert_eq!(
        seal_secret(&bad, &real_cert(), None, "x").unwrap_err().to_string(),
        "data.password is not valid base64"
    );
    assert!(
        seal_secret(
            &json!({"apiVersion": "v1", "kind": "ConfigMap"}),
            &real_cert(),
            None,
            "x"
        )
        .is_err()
    );
}

#[test]
fn generated_keys_have_the_controllers_certificate_and_reseal_old_values() {
    let generated = generate(4096, "").unwrap();
    assert!(generated.key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let dir = tempfile::tempdir().unwrap();
    let cert_file = dir.path().join("cert.pem");
    std::fs::write(&cert_file, &generated.cert_pem).unwrap();
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert_file)
        .output()
        .expect("openssl");
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    for want in [
        "Public-Key: (4096 bit)",
        "Encipher Only",
        "CA:TRUE",
        "sha256WithRSAEncryption",
    ] {
        assert!(text.contains(want), "{want} missing in\n{text}");
    }
    let key = UnsealingKey::from_pem(&generated.key_pem).unwrap();
    let cert = SealingKey::from_pem(&generated.cert_pem).unwrap();
    assert_eq!(cert.spki(), key.sealing_key().spki());
    // The oracle reads our PKCS #1 key and opens what our certificate sealed.
    let key_file = dir.path().join("key.pem");
    std::fs::write(&key_file, &generated.key_pem).unwrap();
    let sealed = seal(&cert, b"ns/n", b"v").unwrap();
    assert_eq!(oracle("unseal", &key_file, b"ns/n", &sealed).unwrap(), b"v");

    // Re-encryption: the real kubeseal value moves to the new key; once moved, nothing to do.
    let keys = [key.clone(), real_key()];
    let old = kubeseal_output();
    let changes = reseal(&old, &keys, &cert).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].old, old["spec"]["encryptedData"]["token"].as_str().unwrap());
    let mut moved = old.clone();
    moved["spec"]["encryptedData"]["token"] = json!(changes[0].new);
    assert_eq!(
        unseal_sealed_secret(&moved, &[key]).unwrap().data["token"],
        b"sealed-secrets-example"
    );
    assert!(reseal(&moved, &keys, &cert).unwrap().is_empty());
    assert!(
        reseal(&old, &[], &cert).is_err(),
        "no key opens it: refused, not dropped"
    );
}
