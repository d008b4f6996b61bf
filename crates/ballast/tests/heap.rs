//! The heap's settings per command (`src/heap.rs`), read from the running binary's `/proc`
//! entries: a long-running command has no huge page from its first byte and jemalloc's
//! background thread; a command that exits when done has no such thread, and `template` keeps
//! the huge pages the system allows for a large chart only. Linux only (the settings are Linux's).
#![cfg(target_os = "linux")]

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A field of `/proc/PID/FILE` (`Name:   value`), trimmed.
fn proc_field(pid: u32, file: &str, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(|v| v.trim().to_string()))
}

/// The names of the process's threads.
fn threads(pid: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .collect()
}

/// Waits until `ready` holds for the child (at most 20 s), failing with `what` if it exits or
/// the time runs out (the child stopped first, so that no test leaves it running).
fn wait_for(child: &mut Child, what: &str, ready: impl Fn(u32) -> bool) {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("ballast exited ({status}) before {what}");
        }
        if ready(child.id()) {
            return;
        }
        if start.elapsed() >= Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True when this test process may have transparent huge pages (the system allows them and
/// no parent turned them off): only then can a one-shot command have them.
fn huge_pages_allowed_here() -> bool {
    let system = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    let here = proc_field(std::process::id(), "status", "THP_enabled");
    !system.contains("[never]") && !system.is_empty() && here.as_deref() == Some("1")
}

#[test]
fn the_controller_runs_on_small_pages_from_its_first_byte() {
    // An API server that accepts connections and never answers: the controller waits on it.
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in server.incoming().flatten() {
            held.push(conn);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"https://127.0.0.1:{port}\", insecure-skip-tls-verify: true}}}}]\nusers: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .arg("controller")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ballast controller");
    let pid = child.id();
    wait_for(&mut child, "jemalloc's background thread started", |pid| {
        threads(pid).iter().any(|t| t == "jemalloc_bg_thd")
    });
    let thp = proc_field(pid, "status", "THP_enabled");
    let huge = proc_field(pid, "smaps_rollup", "AnonHugePages");
    // Started again in the same process under its own name.
    let name = proc_field(pid, "status", "Name");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(thp.as_deref(), Some("0"), "the controller may get huge pages");
    assert_eq!(huge.as_deref(), Some("0 kB"), "the controller holds huge pages");
    assert_eq!(name.as_deref(), Some("ballast"), "the controller's process name");
}

/// `ballast template r CHART -f FIFO`, looked at while it waits on the FIFO (its heap settings
/// made, its render thread started), then let go: its `THP_enabled` (its threads are checked
/// here: no background thread).
fn template_waiting(chart: &Path) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("values.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success(), "mkfifo failed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(["template", "r"])
        .arg(chart)
        .arg("-f")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ballast template");
    // Waiting to open the FIFO: the render thread has started, the command is known.
    wait_for(&mut child, "the render thread started", |pid| {
        threads(pid).iter().any(|t| t == "helm-render")
    });
    let pid = child.id();
    let thp = proc_field(pid, "status", "THP_enabled");
    let names = threads(pid);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .and_then(|mut f| f.write_all(b"{}\n"))
        .expect("write the values");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!out.stdout.is_empty(), "nothing rendered");
    assert!(
        !names.iter().any(|t| t == "jemalloc_bg_thd"),
        "a one-shot command started jemalloc's background thread: {names:?}"
    );
    thp
}

#[test]
fn template_takes_huge_pages_for_a_large_chart_only() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/template/web");
    // A small chart: 4 KiB pages, as at start.
    let thp = template_waiting(&web);
    assert_eq!(thp.as_deref(), Some("0"), "huge pages for a small chart");

    // The same chart with 3 MiB of files: huge pages, where the system allows them.
    let dir = tempfile::tempdir().unwrap();
    let large = dir.path().join("web");
    let copied = Command::new("cp").arg("-r").arg(&web).arg(&large).status().expect("cp");
    assert!(copied.success(), "cp -r failed");
    std::fs::write(large.join("blob.txt"), vec![b'x'; 3 << 20]).unwrap();
    let thp = template_waiting(&large);
    let want = if huge_pages_allowed_here() { "1" } else { "0" };
    assert_eq!(
        thp.as_deref(),
        Some(want),
        "huge pages setting of `template` for a large chart"
    );
}
