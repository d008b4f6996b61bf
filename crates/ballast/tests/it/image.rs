//! `scripts/build-image`: the image `install` deploys, pushed to a real registry (Debian's
//! docker-registry on loopback) and pulled back by digest; the binary in it runs. No cluster.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A registry on 127.0.0.1 with its storage in a temporary directory; killed when dropped.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let bin =
            ballast_local::find_binary("docker-registry").unwrap_or_else(|e| panic!("{e} (scripts/install-deps)"));
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("registry.log")).unwrap())
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(port, "/v2/", "*/*").map(|(s, _)| s) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "the registry did not answer on 127.0.0.1:{port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET on loopback: (status, body).
fn get(port: u16, path: &str, accept: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(!head.contains("transfer-encoding: chunked"), "{head}");
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, raw[split + 4..].to_vec()))
}

fn sha256(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    format!(
        "sha256:{}",
        String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap()
    )
}

fn pull(port: u16, path: &str, accept: &str, digest: &str) -> Vec<u8> {
    let (status, body) = get(port, path, accept).expect("registry answers");
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    assert_eq!(sha256(&body), digest, "{path}: content does not match its digest");
    body
}

#[test]
fn the_image_is_pushed_pulled_back_by_digest_and_its_binary_runs() {
    let registry = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-image");
    let started = Instant::now();
    let mut cmd = Command::new(&script);
    // The variables `cargo test` sets for this test would make the script's cargo build
    // everything again; it gets the caller's environment without them.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if (k.starts_with("CARGO_") && !matches!(&*k, "CARGO_HOME" | "CARGO_TARGET_DIR")) || k.starts_with("RUSTC") {
            cmd.env_remove(&*k);
        }
    }
    let out = cmd
        .arg("--out")
        .arg(&layout)
        .args([
            "--push",
            &format!("127.0.0.1:{}/ballast:it", registry.port),
            "--plain-http",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "build-image: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("build-image took {:?}", started.elapsed());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reference = stdout.lines().last().unwrap_or_default();
    let (_, digest) = reference
        .split_once('@')
        .unwrap_or_else(|| panic!("no digest in {stdout:?}"));

    // The OCI layout names the same manifest.
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest);

    // Pull the manifest and its layer back by digest, each checked against its digest.
    let port = registry.port;
    let manifest = pull(
        port,
        &format!("/v2/ballast/manifests/{digest}"),
        "application/vnd.oci.image.manifest.v1+json",
        digest,
    );
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let config: Value = serde_json::from_slice(&pull(
        port,
        &format!("/v2/ballast/blobs/{config_digest}"),
        "*/*",
        config_digest,
    ))
    .unwrap();
    assert_eq!(config["config"]["Entrypoint"][0], "/ballast");
    let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap();
    let layer = pull(port, &format!("/v2/ballast/blobs/{layer_digest}"), "*/*", layer_digest);
    let tgz = work.path().join("layer.tar.gz");
    std::fs::write(&tgz, &layer).unwrap();
    let list = Command::new("tar").arg("-tzf").arg(&tgz).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for want in ["./ballast", "./etc/ssl/certs/ca-certificates.crt"] {
        assert!(list.lines().any(|l| l == want), "{want} missing from the layer");
    }
    assert!(
        list.lines().any(|l| l.ends_with("/bin/git")),
        "git missing from the layer"
    );

    // The binary in it is static and runs.
    let root = work.path().join("rootfs");
    std::fs::create_dir(&root).unwrap();
    assert!(
        Command::new("tar")
            .arg("-xzf")
            .arg(&tgz)
            .arg("-C")
            .arg(&root)
            .arg("./ballast")
            .status()
            .unwrap()
            .success()
    );
    let ldd = Command::new("ldd").arg(root.join("ballast")).output().unwrap();
    let ldd = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        ldd.contains("not a dynamic executable") || ldd.contains("statically linked"),
        "{ldd}"
    );
    let version = Command::new(root.join("ballast")).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("ballast {}", env!("CARGO_PKG_VERSION"))
    );
}
