//! GnuPG (Debian's `gnupg`) as the reference for signed commits: a key ring of its own, a key
//! made by `gpg` itself, and `git verify-commit` against it.

use std::path::Path;
use std::process::{Command, Output};

/// A GnuPG home of its own (`GNUPGHOME`) holding one key; its agent is stopped on drop.
pub struct GpgHome {
    dir: tempfile::TempDir,
    /// The armored private key, as `gpg --export-secret-keys --armor` wrote it.
    pub secret_key: String,
    /// The key's fingerprint.
    pub fingerprint: String,
}

impl GpgHome {
    /// Makes an Ed25519 primary key (certify and sign) with a Curve25519 encryption subkey for
    /// `uid`, protected by `passphrase` (none when empty), and exports it.
    pub fn generate(uid: &str, passphrase: &str) -> GpgHome {
        let dir = tempfile::tempdir().expect("gnupg home");
        let mut home = GpgHome {
            dir,
            secret_key: String::new(),
            fingerprint: String::new(),
        };
        home.gpg(&[
            "--passphrase",
            passphrase,
            "--quick-generate-key",
            uid,
            "future-default",
            "default",
            "never",
        ]);
        let listing =
            String::from_utf8_lossy(&home.gpg(&["--with-colons", "--list-secret-keys", uid]).stdout).into_owned();
        home.fingerprint = listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .expect("fingerprint");
        let out = home.gpg(&["--passphrase", passphrase, "--armor", "--export-secret-keys", uid]);
        home.secret_key = String::from_utf8(out.stdout).expect("armored key");
        home
    }

    /// The armored public key (`gpg --armor --export`).
    pub fn public_key(&self) -> String {
        String::from_utf8(self.gpg(&["--armor", "--export", &self.fingerprint]).stdout).expect("armored key")
    }

    /// Runs git in `dir` with this key ring and key (`user.signingkey`), for `commit -S` and
    /// `tag -s`; panics with git's output on failure.
    pub fn git(&self, dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .current_dir(dir)
            .env("GNUPGHOME", self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["-c", "user.name=Signer", "-c", "user.email=signer@ballast.invalid"])
            .args(["-c", &format!("user.signingkey={}", self.fingerprint)])
            .args(args)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The `GNUPGHOME` directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn gpg(&self, args: &[&str]) -> Output {
        let out = Command::new("gpg")
            .env("GNUPGHOME", self.path())
            .args(["--batch", "--pinentry-mode", "loopback"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("gpg: {e} (scripts/install-deps installs gnupg)"));
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `git verify-commit --raw <commit>` in the repository `git_dir` with this key ring:
    /// `Ok(gpg's status lines)` when Git accepts the signature, else `Err(what it said)`.
    pub fn verify_commit(&self, git_dir: &Path, commit: &str) -> Result<String, String> {
        let out = Command::new("git")
            .env("GNUPGHOME", self.path())
            .arg("--git-dir")
            .arg(git_dir)
            .args(["verify-commit", "--raw", commit])
            .output()
            .expect("git verify-commit");
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() { Ok(said) } else { Err(said) }
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}
