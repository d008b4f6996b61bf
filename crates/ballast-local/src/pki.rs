//! Certificates and keys for a local control plane.

use std::fs;
use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};

/// Writes `ca.crt`, `apiserver.crt`, `apiserver.key` and `sa.key` into `dir`.
/// The serving certificate is valid for 127.0.0.1 and localhost.
pub(crate) fn write_pki(dir: &Path) -> Result<(), String> {
    let e = |x: rcgen::Error| x.to_string();
    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.distinguished_name.push(DnType::CommonName, "ballast-local-ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let key = KeyPair::generate().map_err(e)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).map_err(e)?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
    let cert = params.signed_by(&key, &issuer).map_err(e)?;

    let sa = KeyPair::generate().map_err(e)?;
    let w = |name: &str, text: String| fs::write(dir.join(name), text).map_err(|err| format!("{name}: {err}"));
    w("ca.crt", ca_cert.pem())?;
    w("apiserver.crt", cert.pem())?;
    w("apiserver.key", key.serialize_pem())?;
    w("sa.key", sa.serialize_pem())?;
    w("sa.pub", sa.public_key_pem())?;
    Ok(())
}
