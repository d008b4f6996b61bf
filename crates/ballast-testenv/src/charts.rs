//! Helm chart sources on loopback, built with the reference tools:
//!
//! - [`Helm`]: the reference `helm` CLI with its configuration and caches in a directory of its
//!   own (never the user's), to package, index, push and read releases.
//! - [`write_chart`]: a small chart directory (a ConfigMap, or the templates given).
//! - [`ChartServer`]: a static HTTP server for a chart repository directory, optionally behind
//!   basic auth; it records the `Authorization` headers it was sent and answers `If-None-Match`.
//!   It runs on a thread of its own, so sync and async tests can both use it.
//! - [`Registry`]: Debian's `docker-registry` with an htpasswd user.
//! - [`Pki`] and [`HttpsChartServer`]: a CA with server and client certificates, and an HTTPS
//!   chart repository (optionally requiring a client certificate).
//!
//! A missing binary fails with how to install it (`scripts/install-deps`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;

/// The reference helm CLI, isolated in `home`.
pub struct Helm {
    /// Where its configuration, caches and registry logins live.
    pub home: PathBuf,
}

impl Helm {
    /// helm with its state under `home` (created).
    pub fn new(home: &Path) -> Helm {
        std::fs::create_dir_all(home).expect("helm home");
        Helm {
            home: home.to_path_buf(),
        }
    }

    /// The binary (panics with how to install it when missing).
    pub fn binary() -> PathBuf {
        ballast_local::find_binary("helm").unwrap_or_else(|e| panic!("{e} (scripts/install-deps)"))
    }

    /// A `helm` command with this home's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(Self::binary());
        cmd.args(args)
            .env("HELM_CONFIG_HOME", self.home.join("config"))
            .env("HELM_CACHE_HOME", self.home.join("cache"))
            .env("HELM_DATA_HOME", self.home.join("data"))
            .env("HELM_REGISTRY_CONFIG", self.home.join("registry.json"));
        cmd
    }

    /// Runs helm; panics with its stderr when it fails. Returns stdout followed by stderr.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run helm");
        assert!(
            out.status.success(),
            "helm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    }

    /// `helm package SRC -d OUT`; returns the archive's path.
    pub fn package(&self, src: &Path, out: &Path) -> PathBuf {
        std::fs::create_dir_all(out).expect("package dir");
        let printed = self.run(&["package", src.to_str().unwrap(), "-d", out.to_str().unwrap()]);
        let path = printed
            .lines()
            .find_map(|l| l.split("saved it to: ").nth(1))
            .unwrap_or_else(|| panic!("no archive in {printed}"));
        PathBuf::from(path.trim())
    }

    /// `helm repo index DIR [--url URL]`.
    pub fn index(&self, dir: &Path, url: Option<&str>) {
        let mut args = vec!["repo", "index", dir.to_str().unwrap()];
        if let Some(url) = url {
            args.extend(["--url", url]);
        }
        self.run(&args);
    }
}

/// Writes chart `name` at `version` under `dir/<name>` and returns that directory: `Chart.yaml`,
/// `values.yaml` (`values`), and `templates` (file name, text); with no templates, one ConfigMap
/// named after the release holding the chart version and `.Values.message`.
pub fn write_chart(dir: &Path, name: &str, version: &str, values: &str, templates: &[(&str, &str)]) -> PathBuf {
    let root = dir.join(name);
    std::fs::create_dir_all(root.join("templates")).expect("chart dir");
    std::fs::write(
        root.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"{version}\"\n"),
    )
    .expect("Chart.yaml");
    std::fs::write(root.join("values.yaml"), values).expect("values.yaml");
    let default = [(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  version: {{ .Chart.Version | quote }}\n  message: {{ .Values.message | default \"none\" | quote }}\n",
    )];
    let templates = if templates.is_empty() { &default[..] } else { templates };
    for (file, text) in templates {
        std::fs::write(root.join("templates").join(file), text).expect("template");
    }
    root
}

/// A static file server on 127.0.0.1 for a chart repository directory.
pub struct ChartServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The `Authorization` header of every request (None when absent), in order; a request
    /// answered 304 adds `Some("304")`.
    pub seen_auth: Arc<Mutex<Vec<Option<String>>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone)]
struct StaticState {
    root: PathBuf,
    basic: Option<(String, String)>,
    seen_auth: Arc<Mutex<Vec<Option<String>>>>,
}

impl ChartServer {
    /// Serves `root` on a free port, behind basic auth when `basic` is given.
    pub fn start(root: &Path, basic: Option<(&str, &str)>) -> ChartServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        Self::start_on(listener, root, basic)
    }

    /// Serves `root` on `listener` (bound to loopback by the caller, so its URL can be known
    /// before the index is written).
    pub fn start_on(listener: TcpListener, root: &Path, basic: Option<(&str, &str)>) -> ChartServer {
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen_auth = Arc::new(Mutex::new(Vec::new()));
        let state = StaticState {
            root: root.to_path_buf(),
            basic: basic.map(|(u, p)| (u.to_string(), p.to_string())),
            seen_auth: seen_auth.clone(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(serve_static).with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        ChartServer {
            url,
            seen_auth,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for ChartServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn serve_static(State(st): State<StaticState>, req: Request) -> Response {
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    st.seen_auth.lock().expect("lock").push(auth.clone());
    if let Some((u, p)) = &st.basic {
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        );
        if auth.as_deref() != Some(want.as_str()) {
            return Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header("www-authenticate", "Basic realm=\"charts\"")
                .body(Body::from("unauthorized"))
                .expect("response");
        }
    }
    let rel = req.uri().path().trim_start_matches('/').to_string();
    if rel.contains("..") {
        return Response::builder().status(400).body(Body::empty()).expect("response");
    }
    let if_none_match = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match std::fs::read(st.root.join(rel)) {
        Ok(b) => {
            let etag = format!("\"{}\"", &sha256_hex(&b)[..16]);
            if if_none_match.as_deref() == Some(etag.as_str()) {
                st.seen_auth.lock().expect("lock").push(Some("304".into()));
                return Response::builder().status(304).body(Body::empty()).expect("response");
            }
            Response::builder()
                .status(200)
                .header("etag", etag)
                .body(Body::from(b))
                .expect("response")
        }
        Err(_) => Response::builder()
            .status(404)
            .body(Body::from("not found"))
            .expect("response"),
    }
}

/// Debian's `docker-registry` on 127.0.0.1 with one htpasswd user; stopped on drop.
pub struct Registry {
    child: Child,
    /// Its port.
    pub port: u16,
    user: String,
    password: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Starts the registry with `user`:`password` and waits until it listens.
    pub fn start(user: &str, password: &str) -> Registry {
        let bin =
            ballast_local::find_binary("docker-registry").unwrap_or_else(|e| panic!("{e} (scripts/install-deps)"));
        let dir = tempfile::tempdir().expect("registry dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let hash = bcrypt::hash_with_result(password, 5)
            .expect("bcrypt")
            .format_for_version(bcrypt::Version::TwoY);
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, format!("{user}:{hash}\n")).expect("htpasswd");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: ballast-test\n    path: {}\n",
                dir.path().join("data").display(),
                htpasswd.display()
            ),
        )
        .expect("registry config");
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("registry.log")).expect("registry log"))
            .spawn()
            .expect("start docker-registry");
        let registry = Registry {
            child,
            port,
            user: user.to_string(),
            password: password.to_string(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the registry did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `curl` as the registry's user; panics with curl's output on a failure.
    fn curl(&self, args: &[&str]) -> String {
        let user = format!("{}:{}", self.user, self.password);
        let out = Command::new("curl")
            .args(["-sS", "--fail-with-body", "-u", &user])
            .args(args)
            .output()
            .expect("curl (scripts/install-deps)");
        assert!(
            out.status.success(),
            "curl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Uploads `bytes` as a blob of `name` (POST, then PUT with its digest); returns the digest.
    pub fn push_blob(&self, name: &str, bytes: &[u8]) -> String {
        let digest = format!("sha256:{}", sha256_hex(bytes));
        let headers = self.curl(&[
            "-X",
            "POST",
            "-D",
            "-",
            "-o",
            "/dev/null",
            &format!("http://{}/v2/{name}/blobs/uploads/", self.host()),
        ]);
        let location = headers
            .lines()
            .find_map(|l| l.strip_prefix("Location: ").or_else(|| l.strip_prefix("location: ")))
            .expect("upload location")
            .trim()
            .to_string();
        let location = if location.starts_with('/') {
            format!("http://{}{location}", self.host())
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let file = tempfile::NamedTempFile::new().expect("blob file");
        std::fs::write(file.path(), bytes).expect("blob file");
        self.curl(&[
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &format!("@{}", file.path().display()),
            &format!("{location}{sep}digest={digest}"),
        ]);
        digest
    }

    /// Puts `manifest` (of `media_type`) as `reference` (a tag or digest) of `name`; returns
    /// its digest.
    pub fn push_manifest(&self, name: &str, reference: &str, media_type: &str, manifest: &str) -> String {
        let file = tempfile::NamedTempFile::new().expect("manifest file");
        std::fs::write(file.path(), manifest).expect("manifest file");
        self.curl(&[
            "-X",
            "PUT",
            "-H",
            &format!("Content-Type: {media_type}"),
            "--data-binary",
            &format!("@{}", file.path().display()),
            &format!("http://{}/v2/{name}/manifests/{reference}", self.host()),
        ]);
        format!("sha256:{}", sha256_hex(manifest.as_bytes()))
    }

    /// A zero-layer OCI image manifest for `os`/`arch` (its config blob uploaded), annotated
    /// with `version`: (manifest text, digest).
    fn image_manifest(&self, name: &str, os: &str, arch: &str, version: &str) -> (String, String) {
        let config = format!(
            r#"{{"architecture":"{arch}","os":"{os}","rootfs":{{"type":"layers","diff_ids":[]}},"config":{{}}}}"#
        );
        let digest = self.push_blob(name, config.as_bytes());
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": config.len()},
            "layers": [],
            "annotations": {"org.opencontainers.image.version": version}
        })
        .to_string();
        let digest = format!("sha256:{}", sha256_hex(manifest.as_bytes()));
        (manifest, digest)
    }

    /// Pushes `tags` of `name` as zero-layer OCI image manifests (one per tag: a distinct
    /// annotation each); returns their digests in order.
    pub fn push_tags(&self, name: &str, tags: &[&str]) -> Vec<String> {
        tags.iter()
            .map(|tag| {
                let (manifest, _) = self.image_manifest(name, "linux", "amd64", tag);
                self.push_manifest(name, tag, OCI_MANIFEST, &manifest)
            })
            .collect()
    }

    /// Pushes `tag` of `name` as a multi-platform OCI image index over one zero-layer image
    /// per `os/arch` of `platforms` (each pushed by digest first); returns (the index's digest,
    /// the platform manifests' digests).
    pub fn push_index(&self, name: &str, tag: &str, platforms: &[&str]) -> (String, Vec<String>) {
        let mut entries = Vec::new();
        let mut digests = Vec::new();
        for platform in platforms {
            let (os, arch) = platform.split_once('/').expect("os/arch");
            let (manifest, digest) = self.image_manifest(name, os, arch, tag);
            self.push_manifest(name, &digest, OCI_MANIFEST, &manifest);
            entries.push(serde_json::json!({
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": manifest.len(),
                "platform": {"os": os, "architecture": arch}
            }));
            digests.push(digest);
        }
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": entries
        })
        .to_string();
        (self.push_manifest(name, tag, OCI_INDEX, &index), digests)
    }
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The manifest digest `helm push` printed (`Digest: sha256:...`).
pub fn pushed_digest(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix("Digest: "))
        .unwrap_or_else(|| panic!("no digest in {output}"))
        .trim()
        .to_string()
}

/// A CA, a serving certificate for 127.0.0.1 and a client certificate signed by it, all PEM.
pub struct Pki {
    /// The CA certificate.
    pub ca: String,
    /// The server's certificate (for `127.0.0.1`).
    pub server_cert: String,
    /// The server's key.
    pub server_key: String,
    /// A client certificate (for mutual TLS).
    pub client_cert: String,
    /// Its key.
    pub client_key: String,
}

impl Pki {
    /// A fresh CA with its two certificates.
    pub fn generate() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let server_key = KeyPair::generate().expect("server key");
        let server = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .expect("server params")
            .signed_by(&server_key, &issuer)
            .expect("server certificate");
        let client_key = KeyPair::generate().expect("client key");
        let client = CertificateParams::new(vec!["client".to_string()])
            .expect("client params")
            .signed_by(&client_key, &issuer)
            .expect("client certificate");
        Pki {
            ca: ca_cert.pem(),
            server_cert: server.pem(),
            server_key: server_key.serialize_pem(),
            client_cert: client.pem(),
            client_key: client_key.serialize_pem(),
        }
    }
}

/// A minimal HTTPS file server (one request per connection, no auth) on 127.0.0.1 for a
/// chart repository directory, serving the [`Pki`] server certificate and, when `mutual`,
/// requiring a client certificate signed by its CA. Blocking rustls on a thread of its own;
/// stops on drop.
pub struct HttpsChartServer {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
    addr: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpsChartServer {
    /// Serves `root` on `listener` (bound to loopback by the caller, so the index can name
    /// the URL before the server starts).
    pub fn start_on(listener: TcpListener, root: &Path, pki: &Pki, mutual: bool) -> HttpsChartServer {
        listener.set_nonblocking(false).expect("blocking listener");
        let addr = listener.local_addr().expect("addr");
        let config = server_tls_config(pki, mutual);
        let root = root.to_path_buf();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for tcp in listener.incoming() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(tcp) = tcp else { continue };
                let (config, root) = (config.clone(), root.clone());
                std::thread::spawn(move || serve_tls(config, tcp, &root));
            }
        });
        HttpsChartServer {
            url: format!("https://{addr}"),
            stop,
            addr,
            thread: Some(thread),
        }
    }
}

/// The rustls server configuration for the [`Pki`] server certificate (127.0.0.1), requiring a
/// client certificate signed by its CA when `mutual`.
pub fn server_tls_config(pki: &Pki, mutual: bool) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = vec![CertificateDer::from_pem_slice(pki.server_cert.as_bytes()).expect("server cert")];
    let key = PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes()).expect("server key");
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions");
    let builder = if mutual {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(pki.ca.as_bytes()).expect("CA"))
            .expect("root");
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(builder.with_single_cert(certs, key).expect("server config"))
}

impl Drop for HttpsChartServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_tls(config: Arc<rustls::ServerConfig>, tcp: std::net::TcpStream, root: &Path) {
    use std::io::{Read, Write};
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 << 10 {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/');
    let (status, body) = match std::fs::read(root.join(path)) {
        Ok(b) if !path.contains("..") => ("200 OK", b),
        _ => ("404 Not Found", b"not found".to_vec()),
    };
    let _ = tls.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    let _ = tls.write_all(&body);
    tls.conn.send_close_notify();
    let _ = tls.flush();
}
