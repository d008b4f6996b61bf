//! The Git cache is isolated per URL and credentials, checks an exact commit with the remote,
//! serializes fetches of one repository, collects old artifacts and refuses oversized trees.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ballast_source::{Auth, FetchOptions, GitRef, GitSource, SourceError, fetch};
use ballast_testenv::git::GitRepo;
use ballast_testenv::{GitHttpServer, HttpAuth};

fn options(cache: &Path) -> FetchOptions {
    FetchOptions::new(cache.to_path_buf(), Duration::from_secs(60))
}

fn source(url: &str, reference: GitRef, auth: Auth) -> GitSource {
    GitSource {
        url: url.to_string(),
        reference,
        auth,
        insecure: true,
    }
}

fn basic(password: &str) -> Auth {
    Auth::Basic {
        username: "git".into(),
        password: password.into(),
    }
}

/// Artifact directories in a cache, over every cached repository.
fn artifacts(cache: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for repo in fs::read_dir(cache).unwrap().flatten() {
        if let Ok(entries) = fs::read_dir(repo.path().join("artifacts")) {
            out.extend(entries.flatten().map(|e| e.path()));
        }
    }
    out.sort();
    out
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &Path, out: &mut Vec<u8>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let t = e.file_type().unwrap();
        if t.is_dir() {
            all_bytes(&e.path(), out);
        } else if t.is_file() {
            out.extend(fs::read(e.path()).unwrap_or_default());
        }
    }
}

#[test]
fn a_cached_commit_is_never_served_to_credentials_the_remote_refuses() {
    let repo = GitRepo::new();
    repo.write("cm.yaml", "a: 1\n");
    let commit = repo.commit("one");
    let root = tempfile::tempdir().unwrap();
    repo.publish(root.path(), "app");
    let server = GitHttpServer::start(root.path(), HttpAuth::Basic("git".into(), "right-pass".into()));
    let url = server.repo_url("app");
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path());

    let good = fetch(
        &source(&url, GitRef::Commit(commit.clone()), basic("right-pass")),
        &opts,
    )
    .unwrap();
    assert_eq!(fs::read_to_string(good.root.join("cm.yaml")).unwrap(), "a: 1\n");
    // The same commit again with the right credentials: served from the cache.
    let again = fetch(
        &source(&url, GitRef::Commit(commit.clone()), basic("right-pass")),
        &opts,
    )
    .unwrap();
    assert_eq!(again.root, good.root);

    for auth in [basic("wrong-pass"), Auth::None, Auth::Bearer("right-pass".into())] {
        let err = fetch(&source(&url, GitRef::Commit(commit.clone()), auth.clone()), &opts)
            .expect_err("refused by the remote");
        assert!(matches!(err, SourceError::Auth { .. }), "{auth:?}: {err}");
        assert!(!err.to_string().contains("-pass"), "credentials in the message: {err}");
    }
    // The branch, too: a different cache entry per credential, each checked by the remote.
    let err = fetch(&source(&url, GitRef::Branch("main".into()), basic("wrong-pass")), &opts).unwrap_err();
    assert!(matches!(err, SourceError::Auth { .. }), "{err}");
    assert_eq!(artifacts(cache.path()).len(), 1, "nothing cached for refused callers");
}

#[test]
fn credentials_in_the_url_reach_the_server_but_never_the_cache_or_a_message() {
    let repo = GitRepo::new();
    repo.write("cm.yaml", "a: 1\n");
    repo.commit("one");
    let root = tempfile::tempdir().unwrap();
    repo.publish(root.path(), "app");
    let server = GitHttpServer::start(root.path(), HttpAuth::Basic("git".into(), "url-s3cret".into()));
    let url = server.repo_url("app").replace("http://", "http://git:url-s3cret@");
    let cache = tempfile::tempdir().unwrap();
    let artifact = fetch(
        &source(&url, GitRef::Branch("main".into()), Auth::None),
        &options(cache.path()),
    )
    .unwrap();
    assert!(artifact.root.join("cm.yaml").is_file());
    let mut bytes = Vec::new();
    all_bytes(cache.path(), &mut bytes);
    assert!(
        !bytes.windows(b"url-s3cret".len()).any(|w| w == b"url-s3cret"),
        "the password was written into the cache"
    );
    let mut plain = source(&url, GitRef::Branch("main".into()), Auth::None);
    plain.insecure = false;
    let err = fetch(&plain, &options(cache.path())).unwrap_err().to_string();
    assert!(err.contains("plain http://") && !err.contains("url-s3cret"), "{err}");
}

#[test]
fn old_artifacts_are_collected_keeping_the_most_recently_used() {
    let repo = GitRepo::new();
    let cache = tempfile::tempdir().unwrap();
    let mut opts = options(cache.path());
    opts.keep_artifacts = 2;
    let src = source(&repo.url(), GitRef::Branch("main".into()), Auth::None);
    let mut commits = Vec::new();
    for i in 0..5 {
        repo.write("cm.yaml", &format!("n: {i}\n"));
        commits.push(repo.commit(&format!("c{i}")));
        fetch(&src, &opts).unwrap();
        // Pretend each was last used an hour ago, older first, beyond the grace period.
        for (age, dir) in artifacts(cache.path()).iter().enumerate() {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let rank = commits.iter().position(|c| *c == name).unwrap_or(age) as u64;
            let when = SystemTime::now() - Duration::from_secs(3600 * (10 - rank));
            fs::File::options()
                .append(true)
                .open(dir.join("digest"))
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
    }
    let left: Vec<String> = artifacts(cache.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut newest = commits[3..].to_vec();
    newest.sort();
    assert_eq!(left, newest, "the two most recently used are kept");

    // Serving an old commit marks it used: it survives the next collection.
    let old = source(&repo.url(), GitRef::Commit(commits[3].clone()), Auth::None);
    fetch(&old, &opts).unwrap();
    repo.write("cm.yaml", "n: 5\n");
    let latest = repo.commit("c5");
    fetch(&src, &opts).unwrap();
    let left: Vec<String> = artifacts(cache.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(left.contains(&commits[3]) && left.contains(&latest), "{left:?}");
}

#[test]
fn a_tree_over_the_size_limit_is_refused_before_anything_is_extracted() {
    let repo = GitRepo::new();
    repo.write("small.yaml", "a: 1\n");
    repo.write("big.txt", &"x".repeat(10_000));
    let commit = repo.commit("big");
    let cache = tempfile::tempdir().unwrap();
    let mut opts = options(cache.path());
    opts.max_artifact_size = 4096;
    let src = source(&repo.url(), GitRef::Branch("main".into()), Auth::None);
    let err = fetch(&src, &opts).unwrap_err();
    assert!(
        matches!(err, SourceError::TooLarge { size, limit: 4096, .. } if size > 10_000),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains(&repo.url()), "names the repository: {message}");
    assert!(
        message.contains(&format!("main@sha1:{commit}")),
        "names the revision: {message}"
    );
    assert!(artifacts(cache.path()).is_empty(), "nothing extracted");
    opts.max_artifact_size = 1 << 20;
    assert!(fetch(&src, &opts).unwrap().root.join("big.txt").is_file());
}

#[test]
fn concurrent_fetches_of_one_repository_take_turns_and_agree() {
    let repo = GitRepo::new();
    for i in 0..20 {
        repo.write(&format!("d/{i}.yaml"), &format!("n: {i}\n"));
    }
    repo.commit("many");
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path());
    let src = source(&repo.url(), GitRef::Branch("main".into()), Auth::None);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| fetch(&src, &opts))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let digests: Vec<String> = results.into_iter().map(|r| r.unwrap().digest).collect();
    assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");
    assert_eq!(artifacts(cache.path()).len(), 1);
}
