use std::process::Command;

use crate::support::kubectl_raw;

fn local(dir: &std::path::Path, verb: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(["local", verb, "--dir"])
        .arg(dir)
        .output()
        .expect("ballast local");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn local_up_status_down() {
    let _ = kubectl_raw; // the shared cluster is not needed here
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = local(dir.path(), "up");
    assert_eq!(code, 0, "{out}");
    let kubeconfig = dir.path().join("kubeconfig");
    assert!(
        out.contains(&format!("export KUBECONFIG={}", kubeconfig.display())),
        "{out}"
    );
    let pids: Vec<u32> = ballast_local::read_pids(&dir.path().canonicalize().unwrap())
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(pids.len(), 3);

    let (code, out) = local(dir.path(), "status");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("kube-apiserver\trunning"), "{out}");
    let (code, out) = local(dir.path(), "up");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already running"), "{out}");

    let kubectl = ballast_local::find_binary("kubectl").unwrap();
    let ns = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["get", "namespace", "default"])
        .output()
        .unwrap();
    assert!(ns.status.success(), "{}", String::from_utf8_lossy(&ns.stderr));

    let (code, out) = local(dir.path(), "down");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("stopped etcd, kube-apiserver, kube-controller-manager"),
        "{out}"
    );
    for p in pids {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z"),
            "pid {p} still running after down"
        );
    }
    let (code, _) = local(dir.path(), "status");
    assert_eq!(code, 1);
}
