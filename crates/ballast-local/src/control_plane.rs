//! Starting, probing and stopping the control plane.

use std::fs::{self, File};
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::binaries::Binaries;

/// Why a control plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A binary is missing.
    #[error(transparent)]
    Binaries(#[from] crate::binaries::BinariesError),
    /// A file operation failed.
    #[error("{0}")]
    Io(String),
    /// A component exited or never became ready.
    #[error("{component}: {message}\n--- last lines of {log} ---\n{tail}")]
    Component {
        /// etcd, kube-apiserver or kube-controller-manager.
        component: String,
        /// What went wrong.
        message: String,
        /// Its log file.
        log: String,
        /// The end of that log.
        tail: String,
    },
}

/// Where and how to start.
#[derive(Clone, Debug)]
pub struct StartOptions {
    /// State directory: certificates, etcd data, logs, kubeconfig, pid file.
    pub dir: PathBuf,
    /// Directory for etcd's data; defaults to `<dir>/etcd`. Tests put it on tmpfs.
    pub etcd_dir: Option<PathBuf>,
    /// How long to wait for `/readyz`.
    pub ready_timeout: Duration,
    /// More kube-apiserver flags (`--name=value`), after Ballast's own (a later flag wins).
    pub apiserver_args: Vec<String>,
}

impl StartOptions {
    /// Options for a state directory, with a 60 s readiness timeout.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StartOptions {
            dir: dir.into(),
            etcd_dir: None,
            ready_timeout: Duration::from_secs(60),
            apiserver_args: Vec::new(),
        }
    }
}

/// A running control plane.
///
/// Its processes run in their own process group so a Ctrl-C in the terminal that started them
/// does not stop them; [`ControlPlane::stop`] (or `ballast local down`) does. Dropping the handle
/// does *not* stop them.
pub struct ControlPlane {
    /// State directory.
    pub dir: PathBuf,
    /// The kubeconfig that reaches it.
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    children: Vec<(String, Child)>,
}

const PID_FILE: &str = "pids";

impl ControlPlane {
    /// Starts etcd, kube-apiserver and kube-controller-manager and waits until the API server is
    /// ready. On failure, whatever was started is stopped again.
    pub async fn start(bins: &Binaries, opts: &StartOptions) -> Result<Self, LocalError> {
        let dir = &opts.dir;
        let io = |what: &str, e: std::io::Error| LocalError::Io(format!("{what}: {e}"));
        for sub in ["pki", "logs"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| io(&dir.join(sub).display().to_string(), e))?;
        }
        let dir = dir.canonicalize().map_err(|e| io(&dir.display().to_string(), e))?;
        let pki = dir.join("pki");
        crate::pki::write_pki(&pki).map_err(LocalError::Io)?;
        let token = random_hex(16);
        fs::write(pki.join("tokens.csv"), format!("{token},admin,admin,system:masters\n"))
            .map_err(|e| io("tokens.csv", e))?;
        let etcd_dir = opts.etcd_dir.clone().unwrap_or_else(|| dir.join("etcd"));
        fs::create_dir_all(&etcd_dir).map_err(|e| io("etcd dir", e))?;

        let (etcd_port, peer_port, api_port) = (free_port()?, free_port()?, free_port()?);
        let server = format!("https://127.0.0.1:{api_port}");
        let kubeconfig = dir.join("kubeconfig");
        fs::write(&kubeconfig, kubeconfig_text(&server, &pki.join("ca.crt"), &token))
            .map_err(|e| io("kubeconfig", e))?;

        let mut plane = ControlPlane {
            dir: dir.clone(),
            kubeconfig: kubeconfig.clone(),
            server: server.clone(),
            children: Vec::new(),
        };
        let p = |f: &str| pki.join(f).display().to_string();
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let started = async {
            plane.spawn(
                "etcd",
                &bins.etcd,
                &[
                    "--name=ballast".into(),
                    format!("--data-dir={}", etcd_dir.display()),
                    format!("--listen-client-urls={etcd_url}"),
                    format!("--advertise-client-urls={etcd_url}"),
                    format!("--listen-peer-urls={peer_url}"),
                    format!("--initial-advertise-peer-urls={peer_url}"),
                    format!("--initial-cluster=ballast={peer_url}"),
                    "--log-level=warn".into(),
                ],
            )?;
            let apiserver_args: Vec<String> = [
                format!("--etcd-servers={etcd_url}"),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                format!("--secure-port={api_port}"),
                "--insecure-port=0".into(),
                format!("--tls-cert-file={}", p("apiserver.crt")),
                format!("--tls-private-key-file={}", p("apiserver.key")),
                format!("--service-account-key-file={}", p("sa.pub")),
                format!("--service-account-signing-key-file={}", p("sa.key")),
                "--service-account-issuer=https://kubernetes.default.svc".into(),
                format!("--token-auth-file={}", p("tokens.csv")),
                "--authorization-mode=RBAC".into(),
                "--service-cluster-ip-range=10.96.0.0/16".into(),
                "--disable-admission-plugins=ServiceAccount".into(),
                "--allow-privileged=true".into(),
                "--v=0".into(),
            ]
            .into_iter()
            .chain(opts.apiserver_args.iter().cloned())
            .collect();
            plane.spawn("kube-apiserver", &bins.kube_apiserver, &apiserver_args)?;
            plane.wait_ready(opts.ready_timeout).await?;
            plane.spawn(
                "kube-controller-manager",
                &bins.kube_controller_manager,
                &[
                    format!("--kubeconfig={}", kubeconfig.display()),
                    "--leader-elect=false".into(),
                    "--secure-port=0".into(),
                    "--port=0".into(),
                    format!("--service-account-private-key-file={}", p("sa.key")),
                    "--controllers=*,-serviceaccount-token".into(),
                    "--v=0".into(),
                ],
            )?;
            Ok::<(), LocalError>(())
        };
        match started.await {
            Ok(()) => Ok(plane),
            Err(e) => {
                plane.stop();
                Err(e)
            }
        }
    }

    fn spawn(&mut self, name: &str, bin: &Path, args: &[String]) -> Result<(), LocalError> {
        let log_path = self.dir.join("logs").join(format!("{name}.log"));
        let log = File::create(&log_path).map_err(|e| LocalError::Io(format!("{}: {e}", log_path.display())))?;
        let err_log = log.try_clone().map_err(|e| LocalError::Io(e.to_string()))?;
        let child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .process_group(0)
            .spawn()
            .map_err(|e| LocalError::Io(format!("starting {}: {e}", bin.display())))?;
        self.children.push((name.to_string(), child));
        let pids: String = self.children.iter().map(|(n, c)| format!("{n} {}\n", c.id())).collect();
        fs::write(self.dir.join(PID_FILE), pids).map_err(|e| LocalError::Io(e.to_string()))?;
        Ok(())
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), LocalError> {
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            for (name, child) in &mut self.children {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(self_component_error(&self.dir, name, &format!("exited ({status})")));
                }
            }
            match self.probe().await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            if Instant::now() > deadline {
                return Err(self_component_error(
                    &self.dir,
                    "kube-apiserver",
                    &format!("not ready after {timeout:?}: {last}"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Asks the API server's `/readyz`.
    pub async fn probe(&self) -> Result<(), String> {
        let client = self.client().await?;
        let req = http::Request::get("/readyz")
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        client.request_text(req).await.map(|_| ()).map_err(|e| e.to_string())
    }

    /// A `kube` config for this control plane.
    pub async fn kube_config(&self) -> Result<kube::Config, String> {
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).map_err(|e| e.to_string())?;
        kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .map_err(|e| e.to_string())
    }

    async fn client(&self) -> Result<kube::Client, String> {
        let mut config = self.kube_config().await?;
        config.connect_timeout = Some(Duration::from_secs(2));
        kube::Client::try_from(config).map_err(|e| e.to_string())
    }

    /// Process ids of the components, in start order.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(|(_, c)| c.id()).collect()
    }

    /// Stops every component this handle started (SIGTERM, then SIGKILL after 5 s).
    pub fn stop(&mut self) {
        let pids: Vec<u32> = self.pids();
        terminate(&pids);
        for (_, c) in &mut self.children {
            let _ = c.wait();
        }
        self.children.clear();
        let _ = fs::remove_file(self.dir.join(PID_FILE));
    }

    /// Stops the components recorded in `dir`'s pid file, checking each pid still runs a binary
    /// started with arguments under `dir` (so a recycled pid is never signalled). Returns the
    /// names stopped.
    pub fn stop_dir(dir: &Path) -> Vec<String> {
        let ours: Vec<(String, u32)> = read_pids(dir)
            .into_iter()
            .filter(|(_, pid)| runs_under(*pid, dir))
            .collect();
        terminate(&ours.iter().map(|(_, p)| *p).collect::<Vec<_>>());
        let _ = fs::remove_file(dir.join(PID_FILE));
        ours.into_iter().map(|(n, _)| n).collect()
    }
}

/// The components recorded in a state directory's pid file: (name, pid).
pub fn read_pids(dir: &Path) -> Vec<(String, u32)> {
    fs::read_to_string(dir.join(PID_FILE))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (n, p) = l.split_once(' ')?;
            Some((n.to_string(), p.trim().parse().ok()?))
        })
        .collect()
}

/// True if `pid` is alive and its command line mentions `dir` (it is one of our components).
pub fn runs_under(pid: u32, dir: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let needle = dir.display().to_string();
    String::from_utf8_lossy(&cmdline).contains(&needle)
}

fn terminate(pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    signal("-TERM", pids);
    wait_gone(pids, Duration::from_secs(5));
    let alive: Vec<u32> = pids.iter().copied().filter(|p| running(*p)).collect();
    if !alive.is_empty() {
        signal("-KILL", &alive);
        wait_gone(&alive, Duration::from_secs(2));
    }
}

fn signal(sig: &str, pids: &[u32]) {
    let list: Vec<String> = pids.iter().map(u32::to_string).collect();
    let _ = Command::new("kill").arg(sig).args(&list).stderr(Stdio::null()).status();
}

/// Waits until none of `pids` runs (gone, or a zombie nobody reaps), or `limit` passes.
fn wait_gone(pids: &[u32], limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline && pids.iter().any(|p| running(*p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn running(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid)
}

fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')))
}

fn self_component_error(dir: &Path, component: &str, message: &str) -> LocalError {
    let log = dir.join("logs").join(format!("{component}.log"));
    let text = fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    LocalError::Component {
        component: component.into(),
        message: message.into(),
        log: log.display().to_string(),
        tail,
    }
}

fn free_port() -> Result<u16, LocalError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| LocalError::Io(format!("no free port: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| LocalError::Io(e.to_string()))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_err()
    {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        buf = t.to_le_bytes()[..bytes.min(16)].to_vec();
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn kubeconfig_text(server: &str, ca: &Path, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ballast-local\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: admin\n  user:\n    token: {token}\ncontexts:\n- name: ballast-local\n  context:\n    cluster: ballast-local\n    user: admin\n    namespace: default\ncurrent-context: ballast-local\n",
        ca = ca.display()
    )
}
