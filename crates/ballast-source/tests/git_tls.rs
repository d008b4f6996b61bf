//! Git over HTTPS with TLS settings: a CA trusted instead of the system's, a client certificate
//! for a server that requires one, or no verification; against the smart-HTTP Git server behind
//! a loopback TLS front.

use std::time::Duration;

use ballast_source::{Auth, FetchOptions, GitRef, GitSource, TlsOptions, fetch};
use ballast_testenv::charts::Pki;
use ballast_testenv::git::GitRepo;
use ballast_testenv::tls_proxy::TlsProxy;
use ballast_testenv::{GitHttpServer, HttpAuth};

fn fetch_with(url: &str, tls: TlsOptions) -> Result<String, String> {
    let cache = tempfile::tempdir().unwrap();
    let mut options = FetchOptions::new(cache.path().to_path_buf(), Duration::from_secs(60));
    options.tls = tls;
    let source = GitSource {
        url: url.to_string(),
        reference: GitRef::Default,
        auth: Auth::Basic {
            username: "git".into(),
            password: "tls-pw".into(),
        },
        insecure: false,
    };
    fetch(&source, &options)
        .map(|a| std::fs::read_to_string(a.root.join("file.txt")).unwrap())
        .map_err(|e| e.to_string())
}

#[test]
fn https_remotes_with_a_ca_a_client_certificate_or_no_verification() {
    ballast_testenv::install_crypto();
    let repo = GitRepo::new();
    repo.write("file.txt", "over tls\n");
    repo.commit("one");
    let root = tempfile::tempdir().unwrap();
    repo.publish(root.path(), "r");
    let http = GitHttpServer::start(root.path(), HttpAuth::Basic("git".into(), "tls-pw".into()));
    let upstream = http.url.trim_start_matches("http://").parse().unwrap();
    let pki = Pki::generate();
    let plain = TlsProxy::start(upstream, &pki, false);
    let mutual = TlsProxy::start(upstream, &pki, true);
    let ca = TlsOptions {
        ca_pem: Some(pki.ca.clone().into_bytes()),
        ..Default::default()
    };
    let (plain_url, mutual_url) = (format!("{}/r.git", plain.url), format!("{}/r.git", mutual.url));

    let e = fetch_with(&plain_url, TlsOptions::default()).unwrap_err();
    assert!(e.contains("certificate"), "{e}");
    assert_eq!(fetch_with(&plain_url, ca.clone()).unwrap(), "over tls\n");
    let insecure = TlsOptions {
        insecure_skip_verify: true,
        ..Default::default()
    };
    assert_eq!(fetch_with(&plain_url, insecure).unwrap(), "over tls\n");

    assert!(fetch_with(&mutual_url, ca.clone()).is_err(), "no client certificate");
    let client = TlsOptions {
        client_cert_pem: Some(pki.client_cert.clone().into_bytes()),
        client_key_pem: Some(pki.client_key.clone().into_bytes()),
        ..ca
    };
    let e = fetch_with(&mutual_url, client.clone());
    assert_eq!(e.as_deref(), Ok("over tls\n"), "{e:?}");
    assert!(!format!("{client:?}").contains("PRIVATE"));
}
