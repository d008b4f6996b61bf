//! The reference `helm` (v4.1.4): found, checked and run without network access, with no
//! user configuration (no kubeconfig, no `HELM_*` settings, empty cache and config homes).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The helm version the fixtures were made with.
pub const VERSION: &str = "v4.1.4";

/// `$BALLAST_HELM`, else `~/.cache/ballast/bin/helm`; an error telling how to install it when
/// missing or of another version.
pub fn locate() -> Result<PathBuf, String> {
    let path = match std::env::var_os("BALLAST_HELM") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
            Path::new(&home).join(".cache/ballast/bin/helm")
        }
    };
    if !path.is_file() {
        return Err(format!(
            "the reference helm is missing at {}: run scripts/install-deps (or set BALLAST_HELM)",
            path.display()
        ));
    }
    let out = Command::new(&path)
        .args(["version", "--short"])
        .output()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let version = String::from_utf8_lossy(&out.stdout);
    if !version.starts_with(VERSION) {
        return Err(format!(
            "{} is helm {}, the fixtures need {VERSION}: run scripts/install-deps",
            path.display(),
            version.trim()
        ));
    }
    Ok(path)
}

/// Whether `unshare -n` works here (it needs user namespaces or root).
fn can_unshare() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        Command::new("unshare")
            .args(["-n", "true"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// A finished helm run.
pub struct Run {
    /// Exit status was 0.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `helm ARGS` offline (inside `unshare -n` where possible), with `home` as its only
/// configuration directory.
pub fn run(helm: &Path, args: &[String], home: &Path) -> Result<Run, String> {
    let mut cmd = if can_unshare() {
        let mut c = Command::new("unshare");
        c.arg("-n").arg(helm);
        c
    } else {
        Command::new(helm)
    };
    cmd.args(args);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("HELM_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("KUBECONFIG", home.join("no-kubeconfig"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("NO_COLOR", "1");
    let out = cmd.output().map_err(|e| format!("running {}: {e}", helm.display()))?;
    Ok(Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
