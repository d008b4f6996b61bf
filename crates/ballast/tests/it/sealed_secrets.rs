//! SealedSecrets end to end: an imported sealed-secrets key unseals real kubeseal output, a
//! SealedSecret in Git becomes a Secret, keys rotate and `ballast seal --re-encrypt` moves the
//! files to the newest key; secret values never show in the log, events or status.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ballast_testenv::git::GitRepo;
use ballast_testenv::{GitHttpServer, HttpAuth};
use serde_json::Value;

use crate::support::*;

const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
/// The value kubeseal sealed in the fixture.
const KUBESEAL_VALUE: &str = "sealed-secrets-example";
const PASSWORD: &str = "sealed-e2e-password-5d21c7";
const API_TOKEN: &str = "sealed-e2e-token-0a9f3e";
const SHARED: &str = "sealed-e2e-shared-77c2b1";

/// The test data of `ballast-seal`: a real sealed-secrets controller key and kubeseal output.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ballast-seal/tests/fixtures")
        .join(name)
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// `ballast <args>` with `input` on stdin.
fn ballast_stdin(args: &[&str], input: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .arg("--kubeconfig")
        .arg(&env().kubeconfig)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The `Synced` condition (status, message) of a SealedSecret.
fn synced(ns: &str, name: &str) -> Option<(String, String)> {
    let o = get("sealedsecret", Some(ns), name)?;
    let c = o["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Synced")?
        .clone();
    Some((c["status"].as_str()?.into(), c["message"].as_str().unwrap_or("").into()))
}

/// Key Secrets in `ns`, oldest first: (name, tls.key PEM).
fn key_secrets(ns: &str) -> Vec<(String, String)> {
    let out = kubectl(&[
        "get",
        "secrets",
        "-n",
        ns,
        "-l",
        &format!("{KEY_LABEL}=active"),
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let mut items: Vec<Value> = v["items"].as_array().unwrap().clone();
    items.sort_by_key(|s| {
        s["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    });
    items
        .iter()
        .map(|s| {
            use base64::Engine;
            let key = base64::engine::general_purpose::STANDARD
                .decode(s["data"]["tls.key"].as_str().unwrap())
                .unwrap();
            (
                s["metadata"]["name"].as_str().unwrap().into(),
                String::from_utf8(key).unwrap(),
            )
        })
        .collect()
}

/// Asserts that no form of `values` shows in the controller log, the namespace's events or
/// the SealedSecrets' status.
fn assert_never_shown(controller: &ControllerProcess, ns: &str, values: &[&str]) {
    let mut seen = controller.log();
    for (reason, message) in events(ns) {
        seen.push_str(&format!("{reason} {message}\n"));
    }
    seen.push_str(&kubectl(&["get", "sealedsecrets", "-n", ns, "-o", "json"]));
    for value in values {
        for form in [value.to_string(), b64(value)] {
            assert!(
                !seen.contains(&form),
                "a secret value shows in the log, events or status"
            );
        }
    }
}

#[test]
fn an_imported_sealed_secrets_key_unseals_real_kubeseal_output() {
    // kubeseal sealed the fixture for foo/credentials: the namespace must be `foo`.
    let ns = "foo";
    let _ = kubectl_raw(&["create", "namespace", ns]);
    let key_secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "sealed-secrets-keynvpcz", "namespace": ns, "labels": {KEY_LABEL: "active"}},
        "stringData": {"tls.key": std::fs::read_to_string(fixture("controller-key.pem")).unwrap(),
                       "tls.crt": std::fs::read_to_string(fixture("controller-cert.pem")).unwrap()}
    });
    apply(&key_secret.to_string());
    install();
    let controller = ControllerProcess::start(
        ns,
        &[
            "--sealed-secrets-key-namespace",
            ns,
            "--sealed-secrets-key-renew-period",
            "0",
        ],
    );
    let kubeseal = std::fs::read_to_string(fixture("kubeseal-sealed-secret.yaml")).unwrap();
    apply(&kubeseal);
    let secret = wait_for("Secret credentials unsealed", 120, || {
        get("secret", Some(ns), "credentials").filter(|s| s["data"]["token"].is_string())
    });
    assert_eq!(secret["data"]["token"], b64(KUBESEAL_VALUE));
    assert_eq!(secret["type"], "Opaque");
    let owner = &secret["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["controller"].as_bool()),
        (Some("SealedSecret"), Some(true))
    );
    let ss = get("sealedsecret", Some(ns), "credentials").unwrap();
    assert_eq!(owner["uid"], ss["metadata"]["uid"]);
    wait_for("Synced=True", 60, || {
        synced(ns, "credentials").filter(|(s, _)| s == "True")
    });
    // A deleted Secret comes back at once (its deletion reconciles its owner).
    let first_uid = secret["metadata"]["uid"].clone();
    kubectl(&["delete", "secret", "credentials", "-n", ns]);
    let again = wait_for("Secret credentials recreated", 60, || {
        get("secret", Some(ns), "credentials").filter(|s| s["metadata"]["uid"] != first_uid)
    });
    assert_eq!(again["data"]["token"], b64(KUBESEAL_VALUE));
    // The imported key is the only one: none was generated.
    assert_eq!(key_secrets(ns).len(), 1);

    // The same sealed value under another name: the label does not match, refused clearly.
    apply(&kubeseal.replace("name: credentials", "name: moved"));
    let (_, message) = wait_for("Synced=False for the moved copy", 60, || {
        synced(ns, "moved").filter(|(s, _)| s == "False")
    });
    assert!(
        message.contains("spec.encryptedData.token: no key could decrypt"),
        "{message}"
    );
    assert!(message.contains("another name, namespace or scope"), "{message}");
    assert!(get("secret", Some(ns), "moved").is_none());
    wait_for("event ErrUnsealFailed", 30, || {
        events(ns)
            .into_iter()
            .find(|(r, m)| r == "ErrUnsealFailed" && m.contains("no key could decrypt"))
    });

    // The CLI: --fetch-cert reads the cluster's key; --cert takes the controller's URL.
    let fetched = ballast(&["seal", "--fetch-cert", "--controller-namespace", ns])
        .ok()
        .stdout;
    assert_eq!(
        fetched,
        std::fs::read_to_string(fixture("controller-cert.pem")).unwrap()
    );
    let url = format!("{}/v1/cert.pem", controller.probe_url());
    let served = wait_for("the certificate served", 30, || {
        let (code, body) = http_get(&controller.probe_url(), "/v1/cert.pem");
        (code == 200).then_some(body)
    });
    assert_eq!(served, fetched);
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\n  namespace: {ns}\n  labels:\n    app: api\ntype: kubernetes.io/basic-auth\nstringData:\n  password: {PASSWORD}\n"
    );
    let sealed = ballast_stdin(&["seal", "--cert", &url], &manifest).ok().stdout;
    assert!(!sealed.contains(PASSWORD), "{sealed}");
    let mut sealed: Value = serde_json::from_str(&sealed).expect("JSON by default, as kubeseal");
    assert_eq!(sealed["kind"], "SealedSecret");
    // spec.template.data: Go templates (sprig) over the values, as sealed-secrets renders them.
    sealed["spec"]["template"]["data"] = serde_json::json!({"dsn": "user=app password={{ .password | upper }}"});
    apply(&sealed.to_string());
    let api = wait_for("Secret api unsealed", 60, || {
        get("secret", Some(ns), "api").filter(|s| s["data"]["password"].is_string())
    });
    assert_eq!(api["data"]["password"], b64(PASSWORD));
    let dsn = format!("user=app password={}", PASSWORD.to_uppercase());
    assert_eq!(api["data"]["dsn"], b64(&dsn));
    assert_eq!(api["type"], "kubernetes.io/basic-auth");
    assert_eq!(api["metadata"]["labels"]["app"], "api");

    // An existing Secret the SealedSecret does not own is left alone.
    kubectl(&[
        "create",
        "secret",
        "generic",
        "taken",
        "-n",
        ns,
        "--from-literal=k=mine",
    ]);
    let taken = ballast_stdin(
        &[
            "seal",
            "--cert",
            &fixture("controller-cert.pem").display().to_string(),
            "-o",
            "yaml",
        ],
        &manifest.replace("name: api", "name: taken"),
    )
    .ok()
    .stdout;
    assert!(taken.contains("kind: SealedSecret"), "{taken}");
    apply(&taken);
    let (_, message) = wait_for("Synced=False for taken", 60, || {
        synced(ns, "taken").filter(|(s, _)| s == "False")
    });
    assert_eq!(
        message,
        "Resource \"taken\" already exists and is not managed by SealedSecret"
    );
    assert_eq!(get("secret", Some(ns), "taken").unwrap()["data"]["k"], b64("mine"));

    assert_never_shown(&controller, ns, &[KUBESEAL_VALUE, PASSWORD, &PASSWORD.to_uppercase()]);
}

#[test]
fn sealed_secrets_in_git_rotation_and_re_encrypt() {
    let ns = namespace("sealed");
    install();
    let key_flags = ["--sealed-secrets-key-namespace", ns.as_str()];
    let mut controller = ControllerProcess::start(
        &ns,
        &[key_flags[0], key_flags[1], "--sealed-secrets-key-renew-period", "0"],
    );
    // A key is generated on first start.
    wait_for("the first key", 120, || (key_secrets(&ns).len() == 1).then_some(()));

    // Three SealedSecrets, one per scope: a manifest, a namespace-wide one and a raw value.
    let seal = |args: &[&str], input: &str| {
        let mut all = vec!["seal", "--controller-namespace", ns.as_str()];
        all.extend_from_slice(args);
        ballast_stdin(&all, input).ok().stdout
    };
    let db = seal(
        &["-o", "yaml"],
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: {ns}\nstringData:\n  password: {PASSWORD}\n"
        ),
    );
    let wide = seal(
        &["-o", "yaml", "--scope", "namespace-wide"],
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: wide\n  namespace: {ns}\nstringData:\n  token: {API_TOKEN}\n"
        ),
    );
    let raw = seal(&["--raw", "--scope", "cluster-wide"], SHARED);
    assert!(raw.starts_with("Ag"), "0x02 0x00: a 512-byte RSA block first: {raw}");
    let shared = format!(
        "# a hand-written SealedSecret\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: shared\n  namespace: {ns}\n  annotations:\n    sealedsecrets.bitnami.com/cluster-wide: \"true\"\nspec:\n  encryptedData:\n    value: {raw}   # sealed with --raw\n  template:\n    type: Opaque\n"
    );
    let sealed_file = format!("{db}---\n{wide}---\n{shared}");
    for v in [PASSWORD, API_TOKEN, SHARED] {
        assert!(!sealed_file.contains(v));
    }
    let repo = GitRepo::new();
    repo.write("app/sealed.yaml", &sealed_file);
    repo.write(
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- sealed.yaml\n",
    );
    repo.commit("sealed secrets");
    let root = tempfile::tempdir().unwrap();
    let bare = repo.publish(root.path(), "app");
    let server = GitHttpServer::start(root.path(), HttpAuth::None);
    apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  interval: 10m\n  url: {url}\n  ref:\n    branch: main\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./app\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: app\n",
        url = server.repo_url("app")
    ));
    for (name, key, value) in [
        ("db", "password", PASSWORD),
        ("wide", "token", API_TOKEN),
        ("shared", "value", SHARED),
    ] {
        let s = wait_for(&format!("Secret {name} from Git"), 120, || {
            get("secret", Some(&ns), name).filter(|s| s["data"][key].is_string())
        });
        assert_eq!(s["data"][key], b64(value), "{name}");
    }

    // Rotation: a controller with a short renewal period adds a key; the old one stays.
    controller.kill();
    let rotating = ControllerProcess::start(
        &ns,
        &[key_flags[0], key_flags[1], "--sealed-secrets-key-renew-period", "3s"],
    );
    wait_for("a second key", 120, || (key_secrets(&ns).len() >= 2).then_some(()));
    drop(rotating);
    let controller = ControllerProcess::start(
        &ns,
        &[key_flags[0], key_flags[1], "--sealed-secrets-key-renew-period", "0"],
    );
    let keys = key_secrets(&ns);
    let (oldest, newest) = (&keys[0].1, &keys[keys.len() - 1].1);

    // --re-encrypt rewrites the values in place, every other byte kept.
    let work = tempfile::tempdir().unwrap();
    let checkout = work.path().join("checkout");
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).current_dir(&checkout).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let out = Command::new("git")
        .args([
            "clone",
            "-q",
            &bare.display().to_string(),
            &checkout.display().to_string(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = checkout.join("app/sealed.yaml");
    let before = std::fs::read_to_string(&file).unwrap();
    let run = ballast(&[
        "seal",
        "--re-encrypt",
        "--controller-namespace",
        &ns,
        &checkout.join("app").display().to_string(),
    ])
    .ok();
    assert!(run.stdout.contains("3 value(s) sealed again"), "{}", run.stdout);
    let after = std::fs::read_to_string(&file).unwrap();
    assert_ne!(before, after);
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(b.len(), a.len());
    let differing: Vec<usize> = (0..b.len()).filter(|i| b[*i] != a[*i]).collect();
    assert_eq!(differing.len(), 3, "only the three sealed values change");
    assert!(a.iter().any(|l| l.ends_with("   # sealed with --raw")), "comments kept");
    assert!(after.starts_with("# a hand-written") || after.contains("\n# a hand-written SealedSecret\n"));
    // Nothing left to do the second time.
    let again = ballast(&[
        "seal",
        "--re-encrypt",
        "--controller-namespace",
        &ns,
        &file.display().to_string(),
    ])
    .ok();
    assert!(
        again.stdout.contains("sealed with the newest key already"),
        "{}",
        again.stdout
    );
    // The new values open with the newest key alone, not with the oldest.
    let key_file = |pem: &str, name: &str| {
        let p = work.path().join(name);
        std::fs::write(&p, pem).unwrap();
        p.display().to_string()
    };
    let (newest_file, oldest_file) = (key_file(newest, "newest.pem"), key_file(oldest, "oldest.pem"));
    let opened = ballast_stdin(
        &[
            "seal",
            "--recovery-unseal",
            "--recovery-private-key",
            &newest_file,
            "-o",
            "yaml",
        ],
        &after,
    )
    .ok();
    for v in [PASSWORD, API_TOKEN, SHARED] {
        assert!(opened.stdout.contains(&b64(v)), "{}", opened.stdout);
    }
    ballast_stdin(
        &["seal", "--recovery-unseal", "--recovery-private-key", &oldest_file],
        &after,
    )
    .fails();
    ballast_stdin(
        &["seal", "--recovery-unseal", "--recovery-private-key", &oldest_file],
        &before,
    )
    .ok();

    // The re-encrypted files go through Git; the Secrets keep their values.
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "commit",
        "-qam",
        "re-encrypt",
    ]);
    git(&["push", "-q", "origin", "HEAD:main"]);
    let generation = |name: &str| {
        get("sealedsecret", Some(&ns), name).unwrap()["metadata"]["generation"]
            .as_i64()
            .unwrap()
    };
    let first = generation("db");
    kubectl(&[
        "annotate",
        "--overwrite",
        "gitrepository",
        "app",
        "-n",
        &ns,
        "reconcile.fluxcd.io/requestedAt=re-encrypt",
    ]);
    wait_for("the re-encrypted SealedSecrets applied", 120, || {
        (generation("db") > first).then_some(())
    });
    for name in ["db", "wide", "shared"] {
        wait_for(&format!("{name} unsealed at its new generation"), 120, || {
            let ss = get("sealedsecret", Some(&ns), name)?;
            (ss["status"]["observedGeneration"] == ss["metadata"]["generation"] && synced(&ns, name)?.0 == "True")
                .then_some(())
        });
    }
    for (name, key, value) in [
        ("db", "password", PASSWORD),
        ("wide", "token", API_TOKEN),
        ("shared", "value", SHARED),
    ] {
        assert_eq!(
            get("secret", Some(&ns), name).unwrap()["data"][key],
            b64(value),
            "{name}"
        );
    }
    assert_never_shown(&controller, &ns, &[PASSWORD, API_TOKEN, SHARED]);
    drop(repo);
}
