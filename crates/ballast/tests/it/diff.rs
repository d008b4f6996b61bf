use ballast_testenv::git::GitRepo;

use crate::support::*;

#[test]
fn diff_exit_codes_prunes_and_masked_secrets() {
    let ns = namespace("diff");
    let repo = GitRepo::new();
    let secret = |pw: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: {ns}\nstringData:\n  password: {pw}\n"
        )
    };
    repo.write("secret.yaml", &secret("hunter2-first"));
    repo.write("cm.yaml", &configmap(&ns, "c", "1"));
    repo.commit("init");
    let url = repo.url();

    let run = ballast(&["diff", "--name", &ns, "--url", &url]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!("+++ desired/Secret/{ns}/creds")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("+++ desired/ConfigMap/{ns}/c")),
        "{}",
        run.stdout
    );
    // "hunter2-first" in base64 is aHVudGVyMi1maXJzdA==
    assert!(
        !run.stdout.contains("hunter2") && !run.stdout.contains("aHVudGVy"),
        "secret leaked:\n{}",
        run.stdout
    );
    assert!(get("configmap", Some(&ns), "c").is_none(), "diff wrote something");

    ballast(&["sync", "--name", &ns, "--url", &url, "--prune"]).ok();
    let run = ballast(&["diff", "--name", &ns, "--url", &url]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    repo.write("secret.yaml", &secret("hunter2-second"));
    repo.remove("cm.yaml");
    repo.commit("rotate and drop");
    let run = ballast(&["diff", "--name", &ns, "--url", &url]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("*** (before)") && run.stdout.contains("*** (after)"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("hunter2") && !run.stdout.contains("aHVudGVy"),
        "secret leaked:\n{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("--- live/ConfigMap/{ns}/c\n+++ /dev/null")),
        "prune not shown:\n{}",
        run.stdout
    );
    let run = ballast(&["diff", "--name", &ns, "--url", &url, "--no-prune"]);
    assert!(!run.stdout.contains("/dev/null"), "{}", run.stdout);
}

#[test]
fn diff_of_a_local_directory() {
    let ns = namespace("diff-local");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cm.yaml"), configmap(&ns, "c", "1")).unwrap();
    let path = dir.path().display().to_string();
    let run = ballast(&["diff", "--name", &ns, "--path", &path]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    ballast(&["sync", "--name", &ns, "--path", &path]).ok();
    assert_eq!(ballast(&["diff", "--name", &ns, "--path", &path]).code, 0);
    let run = ballast(&["diff", "--name", &ns, "--path", "/nonexistent/dir"]);
    assert_eq!(run.code, 2);
}
