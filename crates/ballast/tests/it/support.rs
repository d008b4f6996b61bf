//! Helpers: run the binary, read objects with kubectl, build manifests.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use ballast_testenv::{TestCluster, cluster};
use serde_json::Value;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
    /// An expected refusal: exit code 2 (an error Ballast reports). A panic (101), a signal or
    /// any other code is a bug, never an expected refusal.
    pub fn fails(self) -> Run {
        assert!(
            self.code == 2,
            "expected a reported error (exit 2), got {}{}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            if self.code == 101 { " (a panic)" } else { "" },
            self.stdout,
            self.stderr
        );
        self
    }
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

fn cache() -> &'static PathBuf {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("ballast-it-cache-")
            .tempdir()
            .unwrap()
            .keep()
    })
}

pub fn env() -> &'static TestCluster {
    cluster()
}

/// Runs `ballast --kubeconfig <test cluster> <args>`.
pub fn ballast(args: &[&str]) -> Run {
    ballast_at(&env().kubeconfig, args)
}

/// Runs `ballast --kubeconfig <kubeconfig> <args>` (another cluster, or another identity).
pub fn ballast_at(kubeconfig: &std::path::Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("BALLAST_CACHE", cache())
        .env("NO_COLOR", "1")
        .env_remove("BALLAST_GIT_PASSWORD")
        .env_remove("BALLAST_GIT_TOKEN")
        .output()
        .expect("run ballast");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the reference kubectl against the test cluster; panics on failure.
pub fn kubectl(args: &[&str]) -> String {
    let out = kubectl_raw(args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn kubectl_raw(args: &[&str]) -> std::process::Output {
    let bin = ballast_local::find_binary("kubectl").unwrap_or_else(|e| panic!("{e}"));
    Command::new(bin)
        .arg("--kubeconfig")
        .arg(&env().kubeconfig)
        .args(args)
        .output()
        .expect("kubectl")
}

/// `kubectl apply -f` of `text` (YAML or JSON manifests, written to a temporary file) with
/// `extra` arguments; panics with kubectl's message when it fails.
pub fn apply_with(text: &str, extra: &[&str]) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let path = file.path().display().to_string();
    let mut args = vec!["apply", "-f", path.as_str()];
    args.extend(extra);
    kubectl(&args);
}

/// `kubectl apply -f` of `text` (YAML or JSON manifests).
pub fn apply(text: &str) {
    apply_with(text, &[]);
}

/// `kubectl patch <kind> <name> -n <ns> --type merge -p <patch>`.
pub fn merge_patch(kind: &str, name: &str, ns: &str, patch: &str) {
    kubectl(&["patch", kind, name, "-n", ns, "--type", "merge", "-p", patch]);
}

/// The live object, or None.
pub fn get(kind: &str, ns: Option<&str>, name: &str) -> Option<Value> {
    let mut args = vec![
        "get",
        kind,
        name,
        "-o",
        "json",
        "--ignore-not-found",
        "--show-managed-fields",
    ];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    let out = kubectl(&args);
    if out.trim().is_empty() {
        None
    } else {
        Some(serde_json::from_str(&out).expect("json"))
    }
}

pub fn resource_version(kind: &str, ns: Option<&str>, name: &str) -> String {
    get(kind, ns, name).expect("exists")["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["manager"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A fresh namespace (created with kubectl, unique per test).
pub fn namespace(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("{prefix}-{}-{n}", std::process::id());
    kubectl(&["create", "namespace", &name]);
    name
}

pub fn configmap(ns: &str, name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  key: \"{value}\"\n"
    )
}

/// `n` ConfigMaps `c000`.. as files `apps/demo/cm-000.yaml`.. (for a served app repository).
pub fn configmap_files(ns: &str, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("apps/demo/cm-{i:03}.yaml"),
                configmap(ns, &format!("c{i:03}"), "1"),
            )
        })
        .collect()
}

/// How many reconciles of one object the controller at `probe` reports
/// (`gotk_reconcile_duration_seconds_count` for its kind, namespace and name).
pub fn reconciles(probe: &str, kind: &str, ns: &str, name: &str) -> u64 {
    let (_, text) = http_get(probe, "/metrics");
    let labels = [
        format!("kind=\"{kind}\""),
        format!("name=\"{name}\""),
        format!("namespace=\"{ns}\""),
    ];
    text.lines()
        .filter(|l| l.starts_with("gotk_reconcile_duration_seconds_count"))
        .filter(|l| labels.iter().all(|x| l.contains(x.as_str())))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// [`reconciles`] of one object once the count has not moved for 10 s (at most 120 s): any
/// retry or trigger still pending from before has run.
pub fn settled_reconciles(probe: &str, kind: &str, ns: &str, name: &str) -> u64 {
    let mut last = reconciles(probe, kind, ns, name);
    let mut still = std::time::Instant::now();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while still.elapsed() < std::time::Duration::from_secs(10) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let now = reconciles(probe, kind, ns, name);
        if now != last {
            last = now;
            still = std::time::Instant::now();
        }
    }
    last
}

/// A minimal HTTP/1.0 GET on loopback: (status, body).
pub fn http_get(base: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let code = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

pub fn deployment(ns: &str, name: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  replicas: {replicas}\n  \
         selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      \
         containers:\n      - name: app\n        image: registry.invalid/app:1.0.0\n        ports:\n        - containerPort: 8080\n        \
         resources:\n          limits:\n            cpu: 1\n"
    )
}

pub fn service(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
    )
}

/// The inventory ConfigMap's entries, as ids.
pub fn inventory(name: &str) -> Vec<String> {
    let Some(cm) = get("configmap", Some("default"), &format!("ballast-inventory-{name}")) else {
        return vec![];
    };
    let inv: Value = serde_json::from_str(cm["data"]["inventory"].as_str().unwrap()).unwrap();
    inv["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

/// Installs the CRDs once per test binary.
pub fn install() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        ballast(&["install"]).ok();
    });
}

/// A `ballast controller` process reconciling one namespace; killed when dropped.
pub struct ControllerProcess {
    child: std::process::Child,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ControllerProcess {
    pub fn start(namespace: &str, extra: &[&str]) -> Self {
        install();
        Self::start_with(&env().kubeconfig, namespace, extra)
    }

    /// A controller against another cluster's kubeconfig (CRDs must be installed there).
    /// Test controllers accept file:// sources (`--allow-file-sources`).
    pub fn start_with(kubeconfig: &std::path::Path, namespace: &str, extra: &[&str]) -> Self {
        let mut args = vec!["--allow-file-sources"];
        args.extend_from_slice(extra);
        Self::start_exactly(kubeconfig, namespace, &args)
    }

    /// A controller with exactly these extra flags (file:// sources refused unless given).
    pub fn start_exactly(kubeconfig: &std::path::Path, namespace: &str, extra: &[&str]) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let identity = format!("{namespace}-c{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("controller.log");
        let child = Command::new(env!("CARGO_BIN_EXE_ballast"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args([
                "controller",
                "--watch-namespace",
                namespace,
                "--metrics-addr",
                "127.0.0.1:0",
                "--identity",
                &identity,
            ])
            .args(extra)
            .env("BALLAST_CACHE", dir.path().join("cache"))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("controller.err")).unwrap())
            .spawn()
            .expect("start controller");
        ControllerProcess {
            child,
            log: dir.path().join("controller.err"),
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `http://127.0.0.1:<port>` of the probes, once the controller printed it.
    pub fn probe_url(&self) -> String {
        wait_for("controller probe address", 20, || {
            self.log()
                .split("probes and metrics on ")
                .nth(1)
                .map(|r| r.lines().next().unwrap_or("").trim().to_string())
        })
    }

    /// Sends SIGTERM (a graceful shutdown) and waits up to `secs` for the process to exit;
    /// `None` if it is still running then.
    pub fn terminate(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the controller") {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ControllerProcess {
    /// Stops the controller; when the test is failing, prints the end of its log to tell why.
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- last lines of the controller's log ({}) ---", self.log.display());
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Polls `f` every 200 ms until it returns Some, or panics after `secs` seconds naming `what`.
pub fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The Ready condition (status, message) of a Flux object.
pub fn ready(kind: &str, ns: &str, name: &str) -> Option<(String, String)> {
    let o = get(kind, Some(ns), name)?;
    let c = o["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?
        .clone();
    Some((
        c["status"].as_str()?.to_string(),
        c["message"].as_str().unwrap_or("").to_string(),
    ))
}

/// Event reasons and messages recorded in a namespace.
pub fn events(ns: &str) -> Vec<(String, String)> {
    let out = kubectl(&["get", "events", "-n", ns, "-o", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let note = e["message"].as_str().or(e["note"].as_str()).unwrap_or("").to_string();
            (e["reason"].as_str().unwrap_or("").to_string(), note)
        })
        .collect()
}

#[test]
#[should_panic(expected = "(a panic)")]
fn a_panic_is_never_an_expected_refusal() {
    Run {
        code: 101,
        stdout: String::new(),
        stderr: "thread 'main' panicked".into(),
    }
    .fails();
}

/// The condition `type_` of an object's status as (status, reason, message); the reason and
/// message are empty when absent.
pub fn condition_of(obj: &Value, type_: &str) -> Option<(String, String, String)> {
    let c = obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)?;
    Some((
        c["status"].as_str()?.to_string(),
        c["reason"].as_str().unwrap_or("").to_string(),
        c["message"].as_str().unwrap_or("").to_string(),
    ))
}

/// [`condition_of`] the live object `kind` `ns/name`.
pub fn live_condition(kind: &str, ns: &str, name: &str, type_: &str) -> Option<(String, String, String)> {
    condition_of(&get(kind, Some(ns), name)?, type_)
}

/// A Git repository published as a bare repository on disk (the controller reads it through
/// `file://`, allowed with `--allow-file-sources`), its first commit holding `files`.
pub struct Published {
    repo: ballast_testenv::git::GitRepo,
    bare: PathBuf,
    _root: tempfile::TempDir,
}

impl Published {
    /// Writes `files` (path, text), commits and publishes them.
    pub fn new<P: AsRef<str>>(files: &[(P, String)]) -> Self {
        let repo = ballast_testenv::git::GitRepo::new();
        for (path, text) in files {
            repo.write(path.as_ref(), text);
        }
        repo.commit("apps");
        let root = tempfile::tempdir().unwrap();
        let bare = repo.publish(root.path(), "apps");
        Published {
            repo,
            bare,
            _root: root,
        }
    }

    /// The repository the next [`Published::push`] commits in.
    pub fn repo(&self) -> &ballast_testenv::git::GitRepo {
        &self.repo
    }

    /// Its `file://` URL.
    pub fn url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// Commits what was written and pushes it; returns Flux's revision of it.
    pub fn push(&self, message: &str) -> String {
        let sha = self.repo.commit(message);
        self.repo.push(&self.bare);
        format!("main@sha1:{sha}")
    }
}
