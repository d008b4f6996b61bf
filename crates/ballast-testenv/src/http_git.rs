//! Smart HTTP Git on loopback: `git http-backend` as CGI behind a small axum server.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use tokio::io::AsyncWriteExt;

/// What the server demands of clients.
#[derive(Clone, Debug)]
pub enum HttpAuth {
    /// Anyone may read.
    None,
    /// HTTP basic auth with this user and password.
    Basic(String, String),
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

struct Config {
    root: PathBuf,
    auth: HttpAuth,
}

/// A smart-HTTP Git server on 127.0.0.1, serving the bare repositories under a directory.
/// Stops when dropped.
pub struct GitHttpServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl GitHttpServer {
    /// Serves `root` (which holds `<name>.git` bare repositories).
    pub fn start(root: &Path, auth: HttpAuth) -> Self {
        let config = Arc::new(Config {
            root: root.to_path_buf(),
            auth,
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(handle).with_state(config);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        GitHttpServer { url, stop: Some(tx) }
    }

    /// URL of `<name>.git`.
    pub fn repo_url(&self, name: &str) -> String {
        format!("{}/{name}.git", self.url)
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

fn authorized(auth: &HttpAuth, header: Option<&str>) -> Option<String> {
    match auth {
        HttpAuth::None => Some(String::new()),
        HttpAuth::Basic(user, pass) => {
            let expected = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            (header == Some(&format!("Basic {expected}"))).then(|| user.clone())
        }
        HttpAuth::Bearer(token) => (header == Some(&format!("Bearer {token}"))).then(|| "token".to_string()),
    }
}

async fn handle(State(config): State<Arc<Config>>, req: Request) -> Response {
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok());
    let Some(user) = authorized(&config.auth, header) else {
        let mut r = Response::new(Body::from("authentication required\n"));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r.headers_mut()
            .insert("www-authenticate", HeaderValue::from_static("Basic realm=\"git\""));
        return r;
    };
    let (parts, body) = req.into_parts();
    let Ok(input) = axum::body::to_bytes(body, 256 << 20).await else {
        return error(StatusCode::BAD_REQUEST, "unreadable body");
    };
    let h = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &config.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("CONTENT_TYPE", h("content-type"))
        .env("CONTENT_LENGTH", input.len().to_string())
        .env("HTTP_CONTENT_ENCODING", h("content-encoding"))
        .env("GIT_PROTOCOL", h("git-protocol"))
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let Ok(mut child) = cmd.spawn() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot run git http-backend");
    };
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
    }
    let Ok(out) = child.wait_with_output().await else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "http-backend failed");
    };
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((end, sep)) = split else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "bad CGI output");
    };
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut response = Response::new(Body::from(raw[end + sep..].to_vec()));
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let v = v.trim();
        if k.eq_ignore_ascii_case("status") {
            let code = v.split_whitespace().next().and_then(|c| c.parse().ok()).unwrap_or(500);
            *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        } else if let (Ok(name), Ok(value)) = (axum::http::HeaderName::try_from(k.trim()), HeaderValue::from_str(v)) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn error(code: StatusCode, msg: &'static str) -> Response {
    let mut r = Response::new(Body::from(msg));
    *r.status_mut() = code;
    r
}
