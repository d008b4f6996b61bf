//! Conformance: every case under `tests/fixtures/kustomize/<case>/` is built by Ballast and by the
//! reference `kubectl kustomize` (kustomize v5.7.1, installed by scripts/install-deps); the objects
//! must be the same, field for field, after parsing, and come out in the same order (kind,
//! namespace and name, one object after another). A case builds `<case>/` itself, or the
//! directory named in `<case>/ROOT`. A case with an `ERROR` file must fail in both, and Ballast's
//! message must contain that file's text.

use std::path::{Path, PathBuf};
use std::process::Command;

use ballast_render::kustomize;
use ballast_render::yaml::parse_stream;
use serde_json::Value;

fn key(v: &Value) -> String {
    format!(
        "{}/{}/{}/{}",
        v["apiVersion"].as_str().unwrap_or(""),
        v["kind"].as_str().unwrap_or(""),
        v.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(""),
        v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
    )
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(key);
    v
}

/// A `helm` for kustomize: kustomize v5.7.1 insists on helm v3 (`helm version -c --short`);
/// every other command goes to the reference helm v4.
fn helm_shim(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let helm = ballast_local::find_binary("helm").unwrap_or_else(|e| panic!("helm cases need the reference helm: {e}"));
    let shim = dir.join("helm");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.99.0; exit 0; fi\nexec '{}' \"$@\"\n",
            helm.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    shim
}

fn reference(dir: &Path, helm: Option<&Path>) -> Result<Vec<Value>, String> {
    let kubectl = ballast_local::find_binary("kubectl")
        .unwrap_or_else(|e| panic!("conformance needs the reference kubectl: {e}"));
    let mut cmd = Command::new(kubectl);
    cmd.arg("kustomize");
    if let Some(helm) = helm {
        cmd.arg("--enable-helm").arg("--helm-command").arg(helm);
    }
    let out = cmd.arg(dir).output().expect("run kubectl kustomize");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(parse_stream(&String::from_utf8_lossy(&out.stdout))
        .expect("kubectl output parses")
        .into_iter()
        .filter(|d| !d.is_null())
        .collect())
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kustomize");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_case_matches_kubectl_kustomize() {
    let mut failures = Vec::new();
    let all = cases();
    let tmp = tempfile::tempdir().unwrap();
    let mut shim = None;
    for case in &all {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let dir = match std::fs::read_to_string(case.join("ROOT")) {
            Ok(sub) => case.join(sub.trim()),
            Err(_) => case.clone(),
        };
        let helm = if case.join("HELM").exists() {
            Some(shim.get_or_insert_with(|| helm_shim(tmp.path())).clone())
        } else {
            None
        };
        let theirs = reference(&dir, helm.as_deref());
        let ours = kustomize::build(case, &dir).map(|ms| ms.into_iter().map(|m| m.object).collect::<Vec<_>>());
        if let Ok(expected) = std::fs::read_to_string(case.join("ERROR")) {
            match (&theirs, &ours) {
                (Err(_), Err(e)) if e.to_string().contains(expected.trim()) => {}
                (Err(_), Err(e)) => failures.push(format!("{name}: error {e:?} lacks {:?}", expected.trim())),
                (Ok(_), _) => failures.push(format!(
                    "{name}: kubectl kustomize succeeded; the case expects an error"
                )),
                (_, Ok(_)) => failures.push(format!(
                    "{name}: Ballast succeeded; expected an error with {:?}",
                    expected.trim()
                )),
            }
            continue;
        }
        match (theirs, ours) {
            (Ok(t), Ok(o)) => {
                let (tk, ok): (Vec<String>, Vec<String>) = (t.iter().map(key).collect(), o.iter().map(key).collect());
                if tk != ok {
                    failures.push(format!("{name}: order differs\n  kubectl: {tk:?}\n  ballast: {ok:?}"));
                }
                let (t, o) = (sorted(t), sorted(o));
                if t != o {
                    let tk: Vec<String> = t.iter().map(key).collect();
                    let ok: Vec<String> = o.iter().map(key).collect();
                    let first = t.iter().zip(&o).find(|(a, b)| a != b);
                    failures.push(format!(
                        "{name}: objects differ\n  kubectl: {tk:?}\n  ballast: {ok:?}\n  first difference:\n    kubectl: {}\n    ballast: {}",
                        first.map(|(a, _)| a.to_string()).unwrap_or_default(),
                        first.map(|(_, b)| b.to_string()).unwrap_or_default()
                    ));
                }
            }
            (Err(e), _) => failures.push(format!("{name}: kubectl kustomize failed: {e}")),
            (_, Err(e)) => failures.push(format!("{name}: Ballast failed: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}
