//! SOPS in Git: a Kustomization with `spec.decryption` syncs encrypted Secrets end to end, the
//! plaintext never showing in the controller log, events or status; the CLI does the same.

use std::path::{Path, PathBuf};

use ballast_testenv::git::GitRepo;
use ballast_testenv::{GitHttpServer, HttpAuth};
use serde_json::Value;

use crate::support::*;

const PASSWORD: &str = "sops-e2e-password-7f3a9c";
const TOKEN: &str = "sops-e2e-token-91bc44";

/// The test data of `ballast-sops`: files made by the sops tool and their (test) age key.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ballast-sops/tests/fixtures/kustomize-controller")
}

fn key_file() -> PathBuf {
    fixtures().join("keys/age.txt")
}

const RECIPIENT: &str = "age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29";

/// `ballast sops encrypt` of `text` stored under `name`.
fn encrypt(dir: &Path, name: &str, text: &str, extra: &[&str]) -> String {
    let plain = dir.join(name);
    std::fs::write(&plain, text).unwrap();
    let mut args = vec!["sops", "encrypt", "--age", RECIPIENT];
    args.extend_from_slice(extra);
    let path = plain.display().to_string();
    args.push(&path);
    let out = ballast(&args).ok().stdout;
    assert!(!out.contains(PASSWORD) && !out.contains(TOKEN), "{out}");
    out
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The source tree: an encrypted Secret, an encrypted dotenv file used by a secretGenerator,
/// a file made by the sops tool, and (under `bad/`) a tampered copy.
fn files(ns: &str) -> Vec<(String, String)> {
    let tmp = tempfile::tempdir().unwrap();
    let secret = encrypt(
        tmp.path(),
        "secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\nstringData:\n  password: {PASSWORD}\n"
        ),
        &["--encrypted-regex", "^(data|stringData)$"],
    );
    let env = encrypt(tmp.path(), "app.env", &format!("TOKEN={TOKEN}\n"), &[]);
    let real = std::fs::read_to_string(fixtures().join("algorithms/age.yaml")).unwrap();
    let tampered = secret.replace("name: db", "name: db-tampered");
    vec![
        ("app/secret.yaml".into(), secret),
        ("app/app.env".into(), env),
        ("app/real.yaml".into(), real),
        (
            "app/kustomization.yaml".into(),
            format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {ns}\nresources:\n- secret.yaml\n- real.yaml\n\
                 generatorOptions:\n  disableNameSuffixHash: true\nsecretGenerator:\n- name: generated\n  envs:\n  - app.env\n"
            ),
        ),
        ("bad/secret.yaml".into(), tampered),
    ]
}

fn kustomization(ns: &str, name: &str, path: &str, decryption: bool) -> String {
    let decryption = if decryption {
        "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
    } else {
        ""
    };
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  path: ./{path}\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: app\n{decryption}"
    )
}

fn ready_message(ns: &str, name: &str) -> String {
    wait_for("Ready=False with a message", 90, || {
        ready("kustomization", ns, name).filter(|(s, m)| s == "False" && !m.is_empty())
    })
    .1
}

#[test]
fn a_kustomization_with_decryption_syncs_sops_secrets_and_never_shows_them() {
    let ns = namespace("sops");
    let repo = GitRepo::new();
    for (path, text) in files(&ns) {
        repo.write(&path, &text);
    }
    repo.commit("encrypted secrets");
    let root = tempfile::tempdir().unwrap();
    repo.publish(root.path(), "app");
    let server = GitHttpServer::start(root.path(), HttpAuth::None);
    install();
    let controller = ControllerProcess::start(&ns, &[]);
    kubectl(&[
        "create",
        "secret",
        "generic",
        "sops-age",
        "-n",
        &ns,
        &format!("--from-file=age.agekey={}", key_file().display()),
    ]);
    let objects = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  \
         interval: 10m\n  url: {url}\n  ref:\n    branch: main\n---\n{}---\n{}---\n{}",
        kustomization(&ns, "app", "app", true),
        kustomization(&ns, "no-keys", "app", false),
        kustomization(&ns, "tampered", "bad", true),
        url = server.repo_url("app")
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &objects).unwrap();
    kubectl(&["apply", "-f", &file.path().display().to_string()]);

    let db = wait_for("Secret db decrypted", 120, || get("secret", Some(&ns), "db"));
    assert_eq!(db["data"]["password"], b64(PASSWORD), "{db}");
    assert!(db.get("sops").is_none());
    let generated = wait_for("Secret generated", 60, || get("secret", Some(&ns), "generated"));
    assert_eq!(generated["data"]["TOKEN"], b64(TOKEN));
    // The file the sops tool made.
    let real = wait_for("Secret age", 60, || get("secret", Some(&ns), "age"));
    assert_eq!(real["data"]["key"], b64("value"));
    wait_for("Ready", 60, || {
        ready("kustomization", &ns, "app").filter(|(s, _)| s == "True")
    });

    // Without decryption an encrypted Secret is refused; a tampered file fails its MAC.
    let m = ready_message(&ns, "no-keys");
    assert!(
        m.contains("is SOPS encrypted, configuring decryption is required"),
        "{m}"
    );
    let m = ready_message(&ns, "tampered");
    assert!(m.contains("MAC mismatch"), "{m}");
    assert!(get("secret", Some(&ns), "db-tampered").is_none());

    // The plaintext (and its base64) appears nowhere but in the Secrets.
    let mut seen = controller.log();
    for (reason, message) in events(&ns) {
        seen.push_str(&format!("{reason} {message}\n"));
    }
    for name in ["app", "no-keys", "tampered"] {
        seen.push_str(&kubectl(&["get", "kustomization", name, "-n", &ns, "-o", "json"]));
    }
    for secret in [PASSWORD, TOKEN] {
        for form in [secret.to_string(), b64(secret)] {
            assert!(
                !seen.contains(&form),
                "a secret value shows in the log, events or status"
            );
        }
    }
    drop(repo);
}

#[test]
fn build_decrypts_with_a_key_file_and_refuses_a_wrong_one() {
    let ns = "sops-build";
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files(ns) {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let app = dir.path().join("app").display().to_string();
    let key = key_file().display().to_string();
    let out = ballast(&["build", "--path", &app, "--decryption-key-file", &key])
        .ok()
        .stdout;
    assert!(
        out.contains(&format!("password: {PASSWORD}")) || out.contains(&b64(PASSWORD)),
        "{out}"
    );
    assert!(out.contains(&b64(TOKEN)), "{out}");
    assert!(!out.contains("sops:"), "{out}");
    // Another key: the error names the recipient and shows no value.
    let other = fixtures().join("keys/age-global.txt").display().to_string();
    let run = ballast(&["build", "--path", &app, "--decryption-key-file", &other]).fails();
    assert!(run.stderr.contains(RECIPIENT), "{}", run.stderr);
    assert!(!run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD));
    // `ballast sops decrypt` with SOPS_AGE_KEY_FILE, as sops reads it.
    let secret = dir.path().join("app/secret.yaml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(["sops", "decrypt", &secret.display().to_string()])
        .env("SOPS_AGE_KEY_FILE", key_file())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::to_value(String::from_utf8(out.stdout).unwrap()).unwrap();
    assert!(v.as_str().unwrap().contains(&format!("password: {PASSWORD}")), "{v}");
}
