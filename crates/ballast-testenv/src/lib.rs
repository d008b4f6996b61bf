//! The test environment: real parts, no mocks.
//!
//! - [`cluster`] starts etcd + kube-apiserver + kube-controller-manager **once per test binary**
//!   on free loopback ports, and a watchdog process that stops them (and removes their state) as
//!   soon as the test binary exits — normally, by panic, or killed with SIGKILL.
//! - [`TestCluster::namespace`] gives each test a fresh namespace.
//! - [`git`] builds fixture repositories with the `git` command line and serves them over
//!   `file://`, smart HTTP (`git http-backend` behind a small server on 127.0.0.1, with optional
//!   basic or bearer auth) and SSH (`sshd` on 127.0.0.1 with its own host key).
//! - [`charts`]: the reference helm CLI in a home of its own, chart repositories served over
//!   HTTP (optionally with basic auth) and `docker-registry` with an htpasswd user.
//! - [`tls_proxy`]: a TLS front (optionally requiring a client certificate) for a plain loopback
//!   server, such as the smart-HTTP Git server.
//! - [`gpg`]: a GnuPG key ring of its own and `git verify-commit` against it.
//!
//! A missing binary fails the test with a message saying how to install it; nothing skips.

pub mod charts;
pub mod git;
pub mod gpg;
mod http_git;
mod service_account;
pub mod ssh;
pub mod tls_proxy;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use ballast_local::{Binaries, ControlPlane, StartOptions};
use kube::api::{Api, PostParams};

pub use http_git::{GitHttpServer, HttpAuth};

/// The control plane shared by every test of one binary.
pub struct TestCluster {
    /// Kubeconfig reaching it.
    pub kubeconfig: PathBuf,
    /// State directory (removed by the watchdog when the test binary exits).
    pub dir: PathBuf,
    /// Component pids.
    pub pids: Vec<u32>,
}

static CLUSTER: OnceLock<TestCluster> = OnceLock::new();

/// The shared control plane, started on first use. Panics with install instructions when the
/// binaries are missing, or with the component's log when it fails to start.
pub fn cluster() -> &'static TestCluster {
    CLUSTER.get_or_init(|| start_cluster(&[]))
}

/// A control plane of its own (not shared with the binary's other tests), for a test whose
/// fixed names (well-known namespaces, cluster-scoped objects) would collide with theirs or
/// whose controller watches every namespace. Stopped, and its state removed, when the test
/// binary exits, as [`cluster`]'s.
pub fn dedicated_cluster() -> TestCluster {
    start_cluster(&[])
}

/// A control plane of its own whose kube-apiserver gets `apiserver_args` after the usual
/// flags (a later flag wins), e.g. low in-flight limits to make it refuse requests for load.
/// Stopped and removed as [`dedicated_cluster`]'s.
pub fn dedicated_cluster_with(apiserver_args: &[&str]) -> TestCluster {
    start_cluster(apiserver_args)
}

fn start_cluster(apiserver_args: &[&str]) -> TestCluster {
    {
        install_crypto();
        let bins = Binaries::find().unwrap_or_else(|e| panic!("cluster tests need a real control plane: {e}"));
        let dir = tempfile::Builder::new()
            .prefix("ballast-testenv-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let etcd_dir = Path::new("/dev/shm").is_dir().then(|| {
            tempfile::Builder::new()
                .prefix("ballast-etcd-")
                .tempdir_in("/dev/shm")
                .expect("tmpfs dir")
                .keep()
        });
        let mut opts = StartOptions::new(&dir);
        opts.etcd_dir = etcd_dir.clone();
        opts.apiserver_args = apiserver_args.iter().map(|a| a.to_string()).collect();
        // Start on a runtime of our own: callers may be inside another runtime.
        let plane = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(ControlPlane::start(&bins, &opts))
        })
        .join()
        .expect("control plane thread")
        .unwrap_or_else(|e| panic!("control plane failed to start: {e}"));
        let pids = plane.pids();
        // BALLAST_TESTENV_KEEP=1 keeps the state (logs) for a post-mortem.
        let mut cleanup = Vec::new();
        if std::env::var_os("BALLAST_TESTENV_KEEP").is_none() {
            cleanup.push(dir.clone());
            cleanup.extend(etcd_dir);
        }
        spawn_watchdog(&pids, &cleanup);
        TestCluster {
            kubeconfig: plane.kubeconfig.clone(),
            dir,
            pids,
        }
    }
}

/// Stops `pids` and removes `dirs` once this process is gone, whatever way it ends.
fn spawn_watchdog(pids: &[u32], dirs: &[PathBuf]) {
    let owner = std::process::id();
    let list = pids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
    let paths = dirs
        .iter()
        .map(|d| format!("'{}'", d.display()))
        .collect::<Vec<_>>()
        .join(" ");
    // Only the directories this environment created are ever removed.
    let remove = if paths.is_empty() {
        String::new()
    } else {
        format!("; rm -rf -- {paths}")
    };
    let script = format!(
        "while kill -0 {owner} 2>/dev/null; do sleep 0.3; done; kill {list} 2>/dev/null; \
         for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 {list} 2>/dev/null || break; sleep 0.3; done; \
         kill -9 {list} 2>/dev/null{remove}"
    );
    // The watchdog must outlive this process, so it is deliberately never waited on.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("watchdog");
}

/// Installs the rustls crypto provider once (kube needs one chosen explicitly).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl TestCluster {
    /// A client bound to the caller's runtime.
    pub async fn client(&self) -> kube::Client {
        install_crypto();
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .expect("config");
        kube::Client::try_from(config).expect("client")
    }

    /// Creates a namespace with a unique name starting with `prefix` and returns its name.
    pub async fn namespace(&self, prefix: &str) -> String {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{}-{}-{n}", prefix.to_lowercase().replace('_', "-"), std::process::id());
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client().await);
        let ns = serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("namespace");
        api.create(&PostParams::default(), &ns).await.expect("create namespace");
        name
    }
}
