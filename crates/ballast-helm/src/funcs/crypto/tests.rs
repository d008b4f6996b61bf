//! Expected values from `helm template` probes; random outputs checked for shape.

use super::*;
use crate::funcs::regex::test_support::{call, call_err};

fn funcs() -> FuncMap {
    let mut m = FuncMap::new();
    register(&mut m);
    m
}

fn s(m: &FuncMap, name: &str, args: &[Value]) -> String {
    call(m, name, args).to_string()
}

#[test]
fn digests() {
    let m = funcs();
    assert_eq!(
        s(&m, "sha1sum", &["abc".into()]),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        s(&m, "sha256sum", &["abc".into()]),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        s(&m, "sha512sum", &["abc".into()]),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    assert_eq!(s(&m, "adler32sum", &["abc".into()]), "38600999");
    assert_eq!(
        call_err(&m, "sha256sum", &[Value::Int(1)]),
        "wrong type for value; expected string; got int"
    );
}

#[test]
fn bcrypt_and_htpasswd() {
    let m = funcs();
    let h = s(&m, "bcrypt", &["secret".into()]);
    assert!(h.starts_with("$2a$10$") && h.len() == 60, "{h}");
    assert!(bcrypt::verify("secret", &h).unwrap());
    let hp = s(&m, "htpasswd", &["user".into(), "pw".into()]);
    let (user, hash) = hp.split_once(':').unwrap();
    assert_eq!(user, "user");
    assert!(bcrypt::verify("pw", hash).unwrap());
    assert_eq!(s(&m, "htpasswd", &["a:b".into(), "x".into()]), "invalid username: a:b");
}

#[test]
fn derive_password() {
    let m = funcs();
    let d = |n: i64, k: &str, p: &str, u: &str, site: &str| {
        s(
            &m,
            "derivePassword",
            &[Value::Int(n), k.into(), p.into(), u.into(), site.into()],
        )
    };
    assert_eq!(d(1, "long", "password", "user", "example.com"), "ZedaFaxcZaso9*");
    assert_eq!(d(3, "maximum", "pw", "u", "s"), "b9$3@lm3FOLUFJ1mTnXS");
    assert_eq!(d(1, "pin", "pw", "u", "s"), "6287");
    assert_eq!(d(1, "nope", "pw", "u", "s"), "cannot find password template nope");
}

#[test]
fn aes() {
    let m = funcs();
    // Ciphertexts printed by helm's encryptAES.
    assert_eq!(
        s(
            &m,
            "decryptAES",
            &[
                "secretkey".into(),
                "dJAqk6r6Vjr58mKreZkYxUz5e0Qlv6TK5ekVQ0yay6w=".into()
            ]
        ),
        "plaintext"
    );
    assert_eq!(
        s(
            &m,
            "decryptAES",
            &[
                "a-very-long-password-longer-than-32-bytes!!".into(),
                "M0HscJbOKiOLqKz+LvA+wL+aEBiplqGjHcgK4LDuw/o8r63Qho+62wVCaZnxjEEd".into()
            ]
        ),
        "hello world, sixteen+"
    );
    let c = s(&m, "encryptAES", &["k".into(), "round trip".into()]);
    assert_eq!(c.len(), 44);
    assert_eq!(s(&m, "decryptAES", &["k".into(), c.as_str().into()]), "round trip");
    assert_eq!(s(&m, "encryptAES", &["k".into(), "".into()]), "");
    assert_eq!(s(&m, "decryptAES", &["k".into(), "".into()]), "");
    assert_eq!(
        call_err(
            &m,
            "decryptAES",
            &[
                "secretkey".into(),
                "U2hvcnRJVnNob3J0SVZ2aC9zXiBGjNQBwgMsk2MzNa8=".into()
            ]
        ),
        "runtime error: slice bounds out of range [:-74]"
    );
}

#[test]
fn private_keys() {
    let m = funcs();
    let ec = s(&m, "genPrivateKey", &["ecdsa".into()]);
    assert!(ec.starts_with("-----BEGIN EC PRIVATE KEY-----\n") && ec.len() == 227);
    let ed = s(&m, "genPrivateKey", &["ed25519".into()]);
    assert!(ed.starts_with("-----BEGIN PRIVATE KEY-----\n") && ed.len() == 119);
    assert_eq!(s(&m, "genPrivateKey", &["foo".into()]), "Unknown type foo");
}

fn pem_der(pem: &str) -> Vec<u8> {
    der::pem_decode(pem.as_bytes()).unwrap().bytes
}

/// The extension OIDs (last two bytes) of a certificate, in order.
fn extension_ids(cert_der: &[u8]) -> Vec<u8> {
    let top = der::read_all(cert_der).unwrap();
    let parts = der::children(top.content).unwrap();
    let tbs = der::children(parts[0].content).unwrap();
    let exts = tbs.iter().find(|e| e.tag == 0xa3).unwrap();
    let list = der::read_all(exts.content).unwrap();
    der::children(list.content)
        .unwrap()
        .iter()
        .map(|e| der::children(e.content).unwrap()[0].content[2])
        .collect()
}

#[test]
fn certificates() {
    let m = funcs();
    let started = std::time::Instant::now();
    let ca = call(&m, "genCA", &["my-ca".into(), Value::Int(365)]);
    eprintln!("genCA took {:?}", started.elapsed());
    assert_eq!(ca.type_name(), "sprig.certificate");
    assert_eq!(ca.kind_name(), "struct");
    let Value::Object(o) = &ca else { panic!() };
    let (ca_cert, ca_key) = (
        o.field("Cert").unwrap().to_string(),
        o.field("Key").unwrap().to_string(),
    );
    assert!(ca_cert.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(ca_key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert_eq!(ca.to_string(), format!("{{{ca_cert} {ca_key}}}"));
    // key usage, extended key usage, basic constraints, subject key id
    assert_eq!(extension_ids(&pem_der(&ca_cert)), [15, 37, 19, 14]);
    let (subject, ski) = cert::parse_certificate(&pem_der(&ca_cert)).unwrap();
    assert!(subject.ends_with(b"my-ca"));
    assert_eq!(ski.unwrap().len(), 20);

    let ips = Value::list(vec!["10.0.0.1".into(), "::1".into()]);
    let dns = Value::list(vec!["a.example".into(), "b".into()]);
    let leaf = call(
        &m,
        "genSignedCert",
        &["svc".into(), ips.clone(), dns.clone(), Value::Int(30), ca.clone()],
    );
    let Value::Object(lo) = &leaf else { panic!() };
    let leaf_cert = lo.field("Cert").unwrap().to_string();
    // ... then authority key id and alternative names
    assert_eq!(extension_ids(&pem_der(&leaf_cert)), [15, 37, 19, 35, 17]);
    verify_with_openssl(&ca_cert, &leaf_cert);

    let ss = call(
        &m,
        "genSelfSignedCert",
        &["self".into(), Value::Nil, Value::Nil, Value::Int(10)],
    );
    let Value::Object(so) = &ss else { panic!() };
    assert_eq!(
        extension_ids(&pem_der(&so.field("Cert").unwrap().to_string())),
        [15, 37, 19]
    );

    assert_eq!(
        call_err(
            &m,
            "genSignedCert",
            &[
                "x".into(),
                Value::list(vec!["nope".into()]),
                Value::Nil,
                Value::Int(1),
                ca.clone()
            ]
        ),
        "error parsing ip: nope"
    );
    assert_eq!(
        call_err(
            &m,
            "genSignedCert",
            &["x".into(), Value::Nil, Value::Nil, Value::Int(1), "ca".into()]
        ),
        "wrong type for value; expected sprig.certificate; got string"
    );
    assert_eq!(
        call_err(&m, "genCA", &["x".into(), Value::Float(1.0)]),
        "wrong type for value; expected int; got float64"
    );
}

#[test]
fn certificates_with_keys() {
    let m = funcs();
    for kind in ["ecdsa", "ed25519"] {
        let key = s(&m, "genPrivateKey", &[kind.into()]);
        let ca = call(&m, "genCAWithKey", &["ca".into(), Value::Int(1), key.as_str().into()]);
        let Value::Object(o) = &ca else { panic!() };
        assert_eq!(o.field("Key").unwrap().to_string(), key);
        let ca_cert = o.field("Cert").unwrap().to_string();
        let leaf_key = s(&m, "genPrivateKey", &[kind.into()]);
        let leaf = call(
            &m,
            "genSignedCertWithKey",
            &[
                "leaf".into(),
                Value::Nil,
                Value::list(vec!["x".into()]),
                Value::Int(1),
                ca.clone(),
                leaf_key.as_str().into(),
            ],
        );
        let Value::Object(lo) = &leaf else { panic!() };
        verify_with_openssl(&ca_cert, &lo.field("Cert").unwrap().to_string());
        let ss = call(
            &m,
            "genSelfSignedCertWithKey",
            &["s".into(), Value::Nil, Value::Nil, Value::Int(1), key.as_str().into()],
        );
        assert_eq!(ss.type_name(), "sprig.certificate");

        let b64 = |s: &str| Value::from(STANDARD.encode(s));
        let custom = call(&m, "buildCustomCert", &[b64(&ca_cert), b64(&key)]);
        let Value::Object(co) = &custom else { panic!() };
        assert_eq!(co.field("Cert").unwrap().to_string(), ca_cert);
    }
    assert_eq!(
        call_err(&m, "genCAWithKey", &["ca".into(), Value::Int(1), "junk".into()]),
        "parsing private key: no PEM data in input"
    );
    assert_eq!(
        call_err(&m, "buildCustomCert", &["!!".into(), "".into()]),
        "unable to decode base64 certificate"
    );
}

/// Checks the chain with `openssl verify` when openssl is installed.
fn verify_with_openssl(ca: &str, leaf: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (ca_path, leaf_path) = (dir.path().join("ca.pem"), dir.path().join("leaf.pem"));
    std::fs::write(&ca_path, ca).unwrap();
    std::fs::write(&leaf_path, leaf).unwrap();
    let Ok(out) = std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&ca_path)
        .arg(&leaf_path)
        .output()
    else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr)
    );
}

/// Generated RSA keys have Go's shape: the size asked for, two primes, exponent 65537, and
/// consistent (the `rsa` crate's validation).
#[test]
fn generated_rsa_keys_have_gos_shape() {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    for bits in [2048, 3072] {
        let Key::Rsa(key) = Key::generate_rsa(bits).unwrap() else {
            panic!("not an RSA key")
        };
        assert_eq!(key.size(), bits / 8);
        assert_eq!(key.e(), &rsa::BigUint::from(65537u32));
        assert_eq!(key.primes().len(), 2);
        key.validate().expect("a consistent key");
    }
}

/// AWS-LC, which generates the RSA keys, is built without its CPU-jitter entropy collector
/// (`AWS_LC_SYS_NO_JITTER_ENTROPY` in `.cargo/config.toml`): it seeds its generator from the
/// operating system and the CPU's RDRAND, as Go's crypto/rand (helm's) reads the operating
/// system, instead of timing noise it samples for milliseconds on each thread's first key
/// (9% of a render of the 30-chart umbrella, which makes two keys). The collector's code is
/// absent from a binary built so.
#[test]
fn aws_lc_has_no_jitter_entropy_collector() {
    let exe = std::env::current_exe().expect("this test's binary");
    let bytes = std::fs::read(&exe).expect("this test's binary readable");
    // The name of the collector's start, spelled backwards here so that this test's own
    // constant is not what it finds.
    let name: Vec<u8> = b"tini_yportne_tnej".iter().rev().copied().collect();
    assert!(
        memchr::memmem::find(&bytes, &name).is_none(),
        "{} holds AWS-LC's CPU-jitter entropy collector: build with AWS_LC_SYS_NO_JITTER_ENTROPY=1 \
         (set in .cargo/config.toml)",
        exe.display()
    );
    // What the generator then does: a key, with no collector to start.
    assert!(matches!(Key::generate_rsa(2048), Ok(Key::Rsa(_))));
}

/// `genPrivateKey` makes RSA 4096 keys (AWS-LC: under a second even unoptimized).
#[test]
fn rsa_private_key() {
    let m = funcs();
    for kind in ["", "rsa"] {
        let started = std::time::Instant::now();
        let k = s(&m, "genPrivateKey", &[kind.into()]);
        eprintln!("genPrivateKey {kind:?} took {:?}", started.elapsed());
        assert!(k.starts_with("-----BEGIN RSA PRIVATE KEY-----\n") && k.ends_with("-----END RSA PRIVATE KEY-----\n"));
        let Key::Rsa(key) = Key::from_pem(&k).unwrap() else {
            panic!()
        };
        assert_eq!(rsa::traits::PublicKeyParts::size(&*key), 512);
    }
}

#[test]
fn go_base64() {
    // Go's base64.StdEncoding.DecodeString on these inputs.
    for (input, want) in [
        ("abc", Err(0)),
        ("a", Err(0)),
        ("abcde", Err(4)),
        ("ab=c", Err(2)),
        ("abc=d", Err(4)),
        ("AAAA!", Err(4)),
        ("abcd===", Err(4)),
        ("=abc", Err(0)),
        ("ab\ncd", Ok(vec![0x69, 0xb7, 0x1d])),
        ("ab==", Ok(vec![0x69])),
        ("abc=", Ok(vec![0x69, 0xb7])),
        ("", Ok(vec![])),
    ] {
        assert_eq!(super::go_base64(input), want, "{input:?}");
    }
    let m = funcs();
    assert_eq!(
        call_err(&m, "decryptAES", &["k".into(), "abcde".into()]),
        "illegal base64 data at input byte 4"
    );
    assert_eq!(
        call_err(&m, "decryptAES", &["k".into(), "AAAA".into()]),
        "runtime error: slice bounds out of range [:16] with capacity 3"
    );
}
