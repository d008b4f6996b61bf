//! A new commit's artifact is built from the previous one (hard links plus the changed files) and
//! must be exactly what a fresh checkout gives, while the previous artifact stays as it was.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ballast_source::{Auth, FetchOptions, GitRef, GitSource, fetch};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@localhost"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(p: &Path, text: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// Every file under `dir` as (relative path, kind, content or link target, executable).
fn listing(dir: &Path) -> Vec<(String, String, bool)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String, bool)>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            let t = e.file_type().unwrap();
            if t.is_symlink() {
                out.push((rel, format!("-> {}", fs::read_link(e.path()).unwrap().display()), false));
            } else if t.is_dir() {
                out.push((format!("{rel}/"), String::new(), false));
                walk(root, &e.path(), out);
            } else {
                use std::os::unix::fs::PermissionsExt;
                let exec = e.metadata().unwrap().permissions().mode() & 0o111 != 0;
                out.push((rel, fs::read_to_string(e.path()).unwrap(), exec));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A repository at `<tmp>/src` on branch `main` (not committed yet), and the source that reads it.
fn new_repo(tmp: &Path) -> (std::path::PathBuf, GitSource) {
    let src = tmp.join("src");
    fs::create_dir_all(&src).unwrap();
    git(&src, &["init", "--quiet", "--initial-branch=main"]);
    let source = GitSource {
        url: format!("file://{}", src.display()),
        reference: GitRef::Branch("main".into()),
        auth: Auth::None,
        insecure: false,
    };
    (src, source)
}

#[test]
fn incremental_artifacts_match_fresh_checkouts() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, source) = new_repo(tmp.path());
    write(&src.join("a.yaml"), "a: 1\n");
    write(&src.join("sub/b.yaml"), "b: 1\n");
    write(&src.join("keep/c.yaml"), "c: 1\n");
    write(&src.join("run.sh"), "#!/bin/sh\n");
    std::os::unix::fs::symlink("a.yaml", src.join("link.yaml")).unwrap();
    git(&src, &["add", "-A"]);
    git(&src, &["update-index", "--chmod=+x", "run.sh"]);
    git(&src, &["commit", "--quiet", "-m", "one"]);

    let options = FetchOptions::new(tmp.path().join("cache"), Duration::from_secs(60));
    let first = fetch(&source, &options).unwrap();
    let first_listing = listing(&first.root);

    // Modify, delete (leaving an empty directory), add, and turn a symlink into a file.
    write(&src.join("a.yaml"), "a: 2\n");
    fs::remove_file(src.join("sub/b.yaml")).unwrap();
    write(&src.join("new/d.yaml"), "d: 1\n");
    fs::remove_file(src.join("link.yaml")).unwrap();
    write(&src.join("link.yaml"), "now: a file\n");
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "--quiet", "-m", "two"]);
    let second = fetch(&source, &options).unwrap();
    assert_ne!(first.root, second.root);

    // What a fresh checkout of the second commit gives.
    let fresh = tmp.path().join("fresh");
    let clone = Command::new("git")
        .args(["clone", "--quiet", "--depth=1"])
        .arg(format!("file://{}", src.display()))
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(clone.status.success());
    fs::remove_dir_all(fresh.join(".git")).unwrap();
    assert_eq!(listing(&second.root), listing(&fresh));
    assert!(!second.root.join("sub").exists(), "an emptied directory is gone");

    // The first artifact is untouched: unchanged files are shared, changed ones are not.
    assert_eq!(listing(&first.root), first_listing);
    assert_eq!(fs::read_to_string(first.root.join("a.yaml")).unwrap(), "a: 1\n");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        fs::metadata(first.root.join("keep/c.yaml")).unwrap().ino(),
        fs::metadata(second.root.join("keep/c.yaml")).unwrap().ino(),
        "unchanged files are hard links"
    );
    // The digest depends on the content only: a fresh cache gives the same one.
    let other = FetchOptions::new(tmp.path().join("cache-2"), Duration::from_secs(60));
    assert_eq!(fetch(&source, &other).unwrap().digest, second.digest);
}

#[test]
fn a_sparse_artifact_holds_only_its_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, source) = new_repo(tmp.path());
    write(&src.join("root.yaml"), "r: 1\n");
    write(&src.join("apps/prod/a.yaml"), "a: 1\n");
    write(&src.join("apps/staging/b.yaml"), "b: 1\n");
    write(&src.join("infra/c.yaml"), "c: 1\n");
    write(&src.join("appsx/d.yaml"), "d: 1\n");
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "--quiet", "-m", "one"]);
    let mut options = FetchOptions::new(tmp.path().join("cache"), Duration::from_secs(60));
    let full = fetch(&source, &options).unwrap();
    options.sparse = vec!["./apps/prod/".into(), "infra".into()];
    let sparse = fetch(&source, &options).unwrap();
    assert_eq!(sparse.revision, full.revision, "the same commit");
    assert_ne!(sparse.root, full.root, "its own artifact");
    assert_ne!(sparse.digest, full.digest);
    let files: Vec<String> = listing(&sparse.root).into_iter().map(|(p, _, _)| p).collect();
    assert_eq!(
        files,
        ["apps/", "apps/prod/", "apps/prod/a.yaml", "infra/", "infra/c.yaml"]
    );
    // The full artifact is untouched, and found again as it was.
    assert!(full.root.join("appsx/d.yaml").is_file());
    assert_eq!(
        ballast_source::cached(&source, &options, &full.revision.commit),
        Some(sparse.root.clone())
    );
    // A directory the commit lacks, and one climbing out, are refused by name.
    options.sparse = vec!["apps/dev".into()];
    let e = fetch(&source, &options).unwrap_err().to_string();
    assert!(
        e.contains("sparse checkout dir 'apps/dev' does not exist in repository"),
        "{e}"
    );
    options.sparse = vec!["../etc".into()];
    assert!(
        fetch(&source, &options)
            .unwrap_err()
            .to_string()
            .contains("not a relative directory")
    );
}
