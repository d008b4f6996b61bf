//! Keys: the public half seals (read from the controller's certificate), the private half
//! unseals (read from a key Secret's `tls.key`), and new key pairs with their self-signed
//! certificate, as the sealed-secrets controller makes them.
//!
//! RSA runs in AWS-LC (`aws-lc-rs`): OAEP decryption there is constant-time with blinding, which
//! the `rsa` crate's is not (RUSTSEC-2023-0071, the Marvin attack). Private key material never
//! appears in `Debug` output or errors.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeyPair, KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};

use crate::{SealError, der, pem};

/// The RSA size the sealed-secrets controller generates.
pub const KEY_BITS: usize = 4096;

/// How long a generated certificate is valid (sealed-secrets' `--key-ttl` default: 10 years).
pub const CERT_YEARS: i16 = 10;

/// A public key that seals values (RSA-OAEP SHA-256 wraps each value's session key).
#[derive(Clone, Debug)]
pub struct SealingKey {
    key: PublicEncryptingKey,
}

impl SealingKey {
    /// The key of the first certificate (`CERTIFICATE`) or public key (`PUBLIC KEY`) block in
    /// `text`, as `kubeseal --cert` reads it.
    pub fn from_pem(text: &str) -> Result<Self, SealError> {
        for (label, der_bytes) in pem::decode_all(text)? {
            let spki = match label.as_str() {
                "CERTIFICATE" => der::certificate_spki(&der_bytes)?.to_vec(),
                "PUBLIC KEY" => der_bytes,
                _ => continue,
            };
            let key = PublicEncryptingKey::from_der(&spki)
                .map_err(|e| SealError::Key(format!("the certificate's key is not a usable RSA key: {e}")))?;
            return Ok(SealingKey { key });
        }
        Err(SealError::Key("no CERTIFICATE or PUBLIC KEY block found".into()))
    }

    pub(crate) fn oaep(&self) -> Result<OaepPublicEncryptingKey, SealError> {
        OaepPublicEncryptingKey::new(self.key.clone()).map_err(|_| SealError::Key("RSA key refused for OAEP".into()))
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.key_size_bits()
    }

    /// The DER `SubjectPublicKeyInfo`: equal for a private key and its certificate.
    pub fn spki(&self) -> Vec<u8> {
        self.key.as_der().map(|d| d.as_ref().to_vec()).unwrap_or_default()
    }
}

/// A private key that unseals values.
#[derive(Clone)]
pub struct UnsealingKey {
    key: PrivateDecryptingKey,
}

impl std::fmt::Debug for UnsealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UnsealingKey({} bits)", self.key.key_size_bits())
    }
}

impl UnsealingKey {
    /// The first RSA private key block of `text`: PKCS #1 (`RSA PRIVATE KEY`, what the
    /// controller writes) or PKCS #8 (`PRIVATE KEY`), as client-go's `ParsePrivateKeyPEM`
    /// accepts.
    pub fn from_pem(text: &str) -> Result<Self, SealError> {
        for (label, der_bytes) in pem::decode_all(text)? {
            let key = match label.as_str() {
                "RSA PRIVATE KEY" => {
                    let pair = KeyPair::from_der(&der_bytes)
                        .map_err(|e| SealError::Key(format!("invalid RSA private key: {e}")))?;
                    let pkcs8 = pair
                        .as_der()
                        .map_err(|_| SealError::Key("invalid RSA private key".into()))?;
                    PrivateDecryptingKey::from_pkcs8(pkcs8.as_ref())
                }
                "PRIVATE KEY" => PrivateDecryptingKey::from_pkcs8(&der_bytes),
                _ => continue,
            }
            .map_err(|e| SealError::Key(format!("invalid RSA private key: {e}")))?;
            return Ok(UnsealingKey { key });
        }
        Err(SealError::Key("no RSA PRIVATE KEY or PRIVATE KEY block found".into()))
    }

    pub(crate) fn oaep(&self) -> Result<OaepPrivateDecryptingKey, SealError> {
        OaepPrivateDecryptingKey::new(self.key.clone()).map_err(|_| SealError::Key("RSA key refused for OAEP".into()))
    }

    /// The matching public key.
    pub fn sealing_key(&self) -> SealingKey {
        SealingKey {
            key: self.key.public_key(),
        }
    }
}

/// A new key pair in the controller's Secret format.
pub struct GeneratedKey {
    /// `tls.key`: PKCS #1 PEM (`RSA PRIVATE KEY`).
    pub key_pem: String,
    /// `tls.crt`: the self-signed certificate, PEM.
    pub cert_pem: String,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GeneratedKey")
    }
}

/// A new RSA key of `bits` (2048, 3072, 4096 or 8192) and its certificate as sealed-secrets
/// makes it: self-signed, SHA-256 with RSA, random 128-bit serial, key usage Encipher Only
/// (critical), CA, valid [`CERT_YEARS`] from now, subject CN `cn` (empty subject when empty).
pub fn generate(bits: usize, cn: &str) -> Result<GeneratedKey, SealError> {
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        8192 => KeySize::Rsa8192,
        _ => return Err(SealError::Key(format!("unsupported RSA key size {bits}"))),
    };
    let fail = |what: &str| SealError::Key(format!("key generation failed: {what}"));
    let pair = KeyPair::generate(size).map_err(|_| fail("RSA"))?;
    let pkcs8 = pair.as_der().map_err(|_| fail("PKCS #8"))?;
    let pkcs1 = der::pkcs8_inner(pkcs8.as_ref())?;
    let key_pem = pem::encode("RSA PRIVATE KEY", pkcs1);
    let cert_pem = self_signed(pair, cn)?;
    Ok(GeneratedKey { key_pem, cert_pem })
}

/// Signs certificates with an AWS-LC RSA key (PKCS #1 v1.5, SHA-256).
struct CertSigner {
    pair: KeyPair,
    public: Vec<u8>,
}

impl rcgen::PublicKeyData for CertSigner {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for CertSigner {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
            .map_err(|_| rcgen::Error::RemoteKeyError)?;
        Ok(sig)
    }
}

fn self_signed(pair: KeyPair, cn: &str) -> Result<String, SealError> {
    use aws_lc_rs::signature::KeyPair as _;
    let fail = |e: rcgen::Error| SealError::Key(format!("certificate: {e}"));
    let public = pair.public_key().as_ref().to_vec();
    let signer = CertSigner { pair, public };
    let mut params = rcgen::CertificateParams::default();
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| SealError::Key("no randomness".into()))?;
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.distinguished_name = rcgen::DistinguishedName::new();
    if !cn.is_empty() {
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    }
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::EncipherOnly];
    let today = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date();
    let day = today.day().min(28) as u8;
    params.not_before = rcgen::date_time_ymd(i32::from(today.year()), today.month() as u8, day);
    params.not_after = rcgen::date_time_ymd(i32::from(today.year() + CERT_YEARS), today.month() as u8, day);
    let cert = params.self_signed(&signer).map_err(fail)?;
    Ok(cert.pem())
}

/// A key Secret's `tls.key` and `tls.crt` read together (as the controller stores them): the
/// private key and the certificate's public key, refused when they are not one pair.
pub fn read_key_secret(tls_key: &[u8], tls_crt: &[u8]) -> Result<(UnsealingKey, SealingKey), SealError> {
    let text = |b: &[u8], what: &str| {
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| SealError::Key(format!("{what} is not PEM text")))
    };
    let key = UnsealingKey::from_pem(&text(tls_key, "tls.key")?)?;
    let cert = SealingKey::from_pem(&text(tls_crt, "tls.crt")?)?;
    if cert.spki() != key.sealing_key().spki() {
        return Err(SealError::Key("tls.crt does not hold tls.key's public key".into()));
    }
    Ok((key, cert))
}
