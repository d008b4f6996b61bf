use std::process::Command;

use ballast_testenv::git::GitRepo;

use crate::support::*;

fn bare_head(bare: &std::path::Path) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(["rev-parse", "refs/heads/main"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn ballast_on(kubeconfig: &std::path::Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn bootstrap_manages_itself_is_idempotent_and_restores_a_fresh_cluster() {
    let ns = format!("boot-{}", std::process::id());
    let root = tempfile::tempdir().unwrap();
    let bare = root.path().join("fleet.git");
    assert!(
        Command::new("git")
            .args(["init", "--quiet", "--bare"])
            .arg(&bare)
            .status()
            .unwrap()
            .success()
    );
    let url = format!("file://{}", bare.display());
    let path = format!("clusters/{ns}");

    let run = ballast(&[
        "bootstrap",
        "git",
        "--url",
        &url,
        "--branch",
        "main",
        "--path",
        &path,
        "-n",
        &ns,
        "--interval",
        "1s",
    ])
    .ok();
    assert!(run.stdout.contains("committed and pushed"), "{}", run.stdout);
    let first = bare_head(&bare);
    assert_eq!(first.len(), 40);
    let _controller = ControllerProcess::start(&ns, &[]);
    wait_for("the cluster to sync itself", 60, || {
        ready("kustomization", &ns, "flux-system").filter(|(s, _)| s == "True")
    });

    // An application added to the repository by a commit is applied by the cluster itself.
    let work = GitRepo::new();
    work.git(&["pull", "--quiet", &url, "main"]);
    work.write(
        &format!("{path}/apps/settings.yaml"),
        &configmap(&ns, "settings", "from-git"),
    );
    work.commit("add settings");
    work.push(&bare);
    wait_for("the app to be applied", 60, || get("configmap", Some(&ns), "settings"));
    let owned: Vec<String> = get("kustomization", Some(&ns), "flux-system").unwrap()["status"]["inventory"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        owned.contains(&format!("{ns}_flux-system_kustomize.toolkit.fluxcd.io_Kustomization")),
        "{owned:?}"
    );

    // Running bootstrap again changes nothing.
    let head = bare_head(&bare);
    let run = ballast(&[
        "bootstrap",
        "git",
        "--url",
        &url,
        "--branch",
        "main",
        "--path",
        &path,
        "-n",
        &ns,
        "--interval",
        "1s",
    ])
    .ok();
    assert!(run.stdout.contains("repository already up to date"), "{}", run.stdout);
    assert_eq!(bare_head(&bare), head);

    // A brand-new control plane bootstrapped from the same repository gets everything back.
    let plane = tempfile::tempdir().unwrap();
    let dir = plane.path().display().to_string();
    let up = ballast_on(std::path::Path::new("/nonexistent"), &["local", "up", "--dir", &dir]);
    assert_eq!(up.code, 0, "{}{}", up.stdout, up.stderr);
    let kubeconfig = plane.path().join("kubeconfig");
    let run = ballast_on(
        &kubeconfig,
        &[
            "bootstrap",
            "git",
            "--url",
            &url,
            "--branch",
            "main",
            "--path",
            &path,
            "-n",
            &ns,
            "--interval",
            "1s",
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("repository already up to date"), "{}", run.stdout);
    let _second = ControllerProcess::start_with(&kubeconfig, &ns, &[]);
    let restored = wait_for("the app on the new cluster", 90, || {
        let out = Command::new(ballast_local::find_binary("kubectl").unwrap())
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["get", "configmap", "settings", "-n", &ns, "-o", "jsonpath={.data.key}"])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    });
    assert_eq!(restored, "from-git");
    let down = ballast_on(&kubeconfig, &["local", "down", "--dir", &dir]);
    assert_eq!(down.code, 0, "{}", down.stderr);
}
