//! Git over SSH for Argo CD sources: the `sshPrivateKey` of the repository Secret and the host
//! keys of Argo CD's `argocd-ssh-known-hosts-cm` ConfigMap (key `ssh_known_hosts`, in
//! `known_hosts` format) in the control namespace.
//!
//! Guarantees: the host is always checked: without known host keys the fetch is refused (never
//! trust on first use); the key is written to a private temporary directory (file readable by
//! this user only) that is removed when the fetch ends, and never logged.

use std::path::Path;

use ballast_source::Auth;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;

/// Argo CD's ConfigMap of SSH host keys.
pub const KNOWN_HOSTS_CONFIGMAP: &str = "argocd-ssh-known-hosts-cm";
/// Its key.
pub const KNOWN_HOSTS_KEY: &str = "ssh_known_hosts";

fn write_private(dir: &Path, name: &str, text: &str) -> Result<std::path::PathBuf, String> {
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(|e| format!("{name}: {e}"))?;
    let mut text = text.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| format!("{name}: {e}"))?;
    Ok(path)
}

/// SSH credentials for `key`: the files (kept alive by the returned directory) and the
/// [`Auth`]. `Err` when `argocd-ssh-known-hosts-cm` in `namespace` has no host keys.
pub async fn auth(client: &kube::Client, namespace: &str, key: &str) -> Result<(Auth, tempfile::TempDir), String> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let known = api
        .get_opt(KNOWN_HOSTS_CONFIGMAP)
        .await
        .map_err(|e| format!("reading {namespace}/{KNOWN_HOSTS_CONFIGMAP}: {e}"))?
        .and_then(|c| c.data)
        .and_then(|d| d.get(KNOWN_HOSTS_KEY).cloned())
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| {
            format!("no SSH host keys: {namespace}/{KNOWN_HOSTS_CONFIGMAP} has no {KNOWN_HOSTS_KEY} (host keys are never trusted on first use)")
        })?;
    let dir = tempfile::Builder::new()
        .prefix("ballast-argo-ssh-")
        .tempdir()
        .map_err(|e| format!("SSH files: {e}"))?;
    let identity = write_private(dir.path(), "identity", key)?;
    let known_hosts = write_private(dir.path(), "known_hosts", &known)?;
    Ok((Auth::Ssh { identity, known_hosts }, dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_private_and_end_with_a_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_private(dir.path(), "identity", "KEY").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "KEY\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(
            write_private(dir.path(), "identity", "again").is_err(),
            "never overwrites"
        );
    }
}
