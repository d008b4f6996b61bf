//! SSH Git on loopback: `sshd` with its own host key, accepting one client key.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An sshd on 127.0.0.1 that lets the current user in with [`SshServer::client_key`].
/// Stopped when dropped.
pub struct SshServer {
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Private key the server accepts.
    pub client_key: PathBuf,
    /// A known_hosts file holding the server's real host key.
    pub known_hosts: PathBuf,
    /// A known_hosts file holding some *other* key for the same host (to test refusal).
    pub wrong_known_hosts: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

fn sshd_path() -> PathBuf {
    ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("sshd not found: install openssh-server (scripts/install-deps does)"))
}

fn keygen(path: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen (install openssh-client)");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::read_to_string(path.with_extension("pub"))
        .expect("public key")
        .trim()
        .to_string()
}

impl SshServer {
    /// Starts sshd and waits until it accepts connections.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ballast-sshd-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        let host_pub = keygen(&d.join("host_key"));
        let other_pub = keygen(&d.join("other_host_key"));
        let client_pub = keygen(&d.join("client_key"));
        fs::write(d.join("authorized_keys"), format!("{client_pub}\n")).expect("authorized_keys");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let key_only = |line: &str| line.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {}\n", key_only(&host_pub)),
        )
        .expect("known_hosts");
        fs::write(
            d.join("wrong_known_hosts"),
            format!("[127.0.0.1]:{port} {}\n", key_only(&other_pub)),
        )
        .expect("known_hosts");
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPidFile {pid}\nStrictModes no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n",
            hk = d.join("host_key").display(),
            ak = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        fs::write(d.join("sshd_config"), config).expect("sshd_config");
        let _ = fs::create_dir_all("/run/sshd");
        let child = Command::new(sshd_path())
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(d.join("sshd.log")).expect("log"))
            .process_group(0)
            .spawn()
            .expect("sshd");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not start: {}",
                fs::read_to_string(d.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SshServer {
            port,
            client_key: d.join("client_key"),
            known_hosts: d.join("known_hosts"),
            wrong_known_hosts: d.join("wrong_known_hosts"),
            child,
            _dir: dir,
        }
    }

    /// `ssh://<user>@127.0.0.1:<port><absolute path>`.
    pub fn url(&self, repo: &Path) -> String {
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        format!("ssh://{user}@127.0.0.1:{}{}", self.port, repo.display())
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
