//! Fixture Git repositories, built with the `git` command line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A working repository in a temporary directory, with helpers to write, remove, commit and tag.
pub struct GitRepo {
    dir: tempfile::TempDir,
}

impl GitRepo {
    /// An empty repository on branch `main`.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ballast-repo-")
            .tempdir()
            .expect("temp dir");
        let repo = GitRepo { dir };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo
    }

    /// The working tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `file://` URL of the repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    /// Writes a file (creating directories).
    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
        self
    }

    /// Removes a file.
    pub fn remove(&self, rel: &str) -> &Self {
        fs::remove_file(self.path().join(rel)).expect("remove");
        self
    }

    /// Commits everything; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&[
            "-c",
            "user.name=Ballast Tests",
            "-c",
            "user.email=tests@ballast.invalid",
            "commit",
            "--quiet",
            "--allow-empty",
            "-m",
            message,
        ]);
        self.head()
    }

    /// Creates an annotated tag at HEAD.
    pub fn tag(&self, name: &str) -> &Self {
        self.git(&[
            "-c",
            "user.name=Ballast Tests",
            "-c",
            "user.email=tests@ballast.invalid",
            "tag",
            "-a",
            name,
            "-m",
            name,
        ]);
        self
    }

    /// Switches to (creating) a branch.
    pub fn branch(&self, name: &str) -> &Self {
        self.git(&["checkout", "--quiet", "-B", name]);
        self
    }

    /// The HEAD commit id.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// A bare clone inside `root` named `<name>.git`, for serving; returns its path.
    pub fn publish(&self, root: &Path, name: &str) -> PathBuf {
        let target = root.join(format!("{name}.git"));
        let _ = fs::remove_dir_all(&target);
        run(
            &[
                "clone",
                "--quiet",
                "--bare",
                &self.path().display().to_string(),
                &target.display().to_string(),
            ],
            None,
        );
        target
    }

    /// Pushes the current branch (as `main`) and all tags to a bare repository made by
    /// [`GitRepo::publish`].
    pub fn push(&self, bare: &Path) {
        let target = bare.display().to_string();
        self.git(&["push", "--quiet", "--force", &target, "HEAD:refs/heads/main"]);
        self.git(&["push", "--quiet", "--force", "--tags", &target]);
    }

    /// Runs git in the working tree; panics with its output on failure.
    pub fn git(&self, args: &[&str]) -> String {
        run(args, Some(self.path()))
    }
}

impl Default for GitRepo {
    fn default() -> Self {
        Self::new()
    }
}

fn run(args: &[&str], dir: Option<&Path>) -> String {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git (install it with scripts/install-deps)");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
