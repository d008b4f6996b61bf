//! Private keys as sprig makes and reads them: RSA (PKCS#1 `RSA PRIVATE KEY`), ECDSA P-256 and
//! P-384 (SEC 1 `EC PRIVATE KEY`) and Ed25519 (PKCS#8 `PRIVATE KEY`), the PEM types Go's
//! `x509` writes for each. RSA keys use the `rsa` crate; ECDSA and Ed25519 keys are held by
//! `rcgen` (ring), which also signs with them.

use rcgen::{PublicKeyData, SigningKey};
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};

use super::der::{self, Element, pem_decode, pem_encode, seq, tag, tlv};

const OID_EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
const OID_P256: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
const OID_P384: &[u64] = &[1, 3, 132, 0, 34];
const OID_ED25519: &[u64] = &[1, 3, 101, 112];
const OID_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
const OID_SHA256_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
const OID_ECDSA_SHA384: &[u64] = &[1, 2, 840, 10045, 4, 3, 3];

/// An elliptic curve sprig's keys may be on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl Curve {
    fn oid(self) -> &'static [u64] {
        match self {
            Curve::P256 => OID_P256,
            Curve::P384 => OID_P384,
        }
    }
}

/// A private key.
pub(crate) enum Key {
    Rsa(Box<RsaPrivateKey>),
    Ec {
        curve: Curve,
        scalar: Vec<u8>,
        pair: rcgen::KeyPair,
    },
    Ed {
        seed: Vec<u8>,
        pair: rcgen::KeyPair,
    },
}

fn rng_err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// The content of the OCTET STRING inside a PKCS#8 structure's `privateKey`.
fn pkcs8_parts(der_bytes: &[u8]) -> Option<(Vec<Element<'_>>, &[u8])> {
    let top = der::read_all(der_bytes)?;
    let parts = der::children(top.content)?;
    let alg = der::children(parts.get(1)?.content)?;
    let key = parts.get(2)?;
    if key.tag != tag::OCTET_STRING {
        return None;
    }
    Some((alg, key.content))
}

impl Key {
    /// A new RSA key of `bits` bits.
    pub(crate) fn generate_rsa(bits: usize) -> Result<Key, String> {
        RsaPrivateKey::new(&mut rand::rngs::OsRng, bits)
            .map(|k| Key::Rsa(Box::new(k)))
            .map_err(rng_err)
    }

    /// A new ECDSA P-256 key.
    pub(crate) fn generate_ec() -> Result<Key, String> {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(rng_err)?;
        let der = pair.serialize_der();
        let scalar = pkcs8_parts(&der)
            .and_then(|(_, inner)| sec1_scalar(inner))
            .ok_or("generated key unreadable")?;
        Ok(Key::Ec {
            curve: Curve::P256,
            scalar,
            pair,
        })
    }

    /// A new Ed25519 key.
    pub(crate) fn generate_ed25519() -> Result<Key, String> {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(rng_err)?;
        let der = pair.serialize_der();
        let seed = pkcs8_parts(&der)
            .and_then(|(_, inner)| der::read_all(inner))
            .filter(|e| e.tag == tag::OCTET_STRING)
            .map(|e| e.content.to_vec())
            .ok_or("generated key unreadable")?;
        Ok(Key::Ed { seed, pair })
    }

    /// The key as PEM, in the block type Go's sprig writes for it.
    pub(crate) fn to_pem(&self) -> String {
        match self {
            Key::Rsa(k) => {
                let der = k.to_pkcs1_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
                pem_encode("RSA PRIVATE KEY", &der)
            }
            Key::Ec { curve, scalar, pair } => {
                let body = seq(&[
                    &der::uint(&[1]),
                    &tlv(tag::OCTET_STRING, scalar),
                    &tlv(0xa0, &der::oid(curve.oid())),
                    &tlv(0xa1, &der::bit_string(pair.der_bytes())),
                ]);
                pem_encode("EC PRIVATE KEY", &body)
            }
            Key::Ed { seed, .. } => {
                let body = seq(&[
                    &der::uint(&[0]),
                    &seq(&[&der::oid(OID_ED25519)]),
                    &tlv(tag::OCTET_STRING, &tlv(tag::OCTET_STRING, seed)),
                ]);
                pem_encode("PRIVATE KEY", &body)
            }
        }
    }

    /// The DER SubjectPublicKeyInfo.
    pub(crate) fn spki(&self) -> Vec<u8> {
        match self {
            Key::Rsa(k) => k
                .to_public_key()
                .to_public_key_der()
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
            Key::Ec { pair, .. } | Key::Ed { pair, .. } => pair.subject_public_key_info(),
        }
    }

    /// The bits of the SubjectPublicKeyInfo's public key (what a key identifier hashes).
    pub(crate) fn public_key_bits(&self) -> Vec<u8> {
        match self {
            Key::Rsa(k) => k
                .to_public_key()
                .to_pkcs1_der()
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
            Key::Ec { pair, .. } | Key::Ed { pair, .. } => pair.der_bytes().to_vec(),
        }
    }

    /// The AlgorithmIdentifier of the signatures this key makes (Go's defaults: SHA-256 with
    /// RSA, ECDSA with SHA-256 or SHA-384 by curve, pure Ed25519).
    pub(crate) fn signature_algorithm(&self) -> Vec<u8> {
        match self {
            Key::Rsa(_) => seq(&[&der::oid(OID_SHA256_RSA), &tlv(tag::NULL, &[])]),
            Key::Ec { curve: Curve::P256, .. } => seq(&[&der::oid(OID_ECDSA_SHA256)]),
            Key::Ec { curve: Curve::P384, .. } => seq(&[&der::oid(OID_ECDSA_SHA384)]),
            Key::Ed { .. } => seq(&[&der::oid(OID_ED25519)]),
        }
    }

    /// Signs `msg`.
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Key::Rsa(k) => {
                let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new((**k).clone());
                signer.try_sign(msg).map(|s| s.to_vec()).map_err(|e| e.to_string())
            }
            Key::Ec { pair, .. } | Key::Ed { pair, .. } => pair.sign(msg).map_err(|e| e.to_string()),
        }
    }

    /// Reads a PEM private key as sprig's `parsePrivateKeyPEM` does, with its error texts.
    pub(crate) fn from_pem(text: &str) -> Result<Key, String> {
        let block = pem_decode(text.as_bytes()).ok_or("no PEM data in input")?;
        if block.kind == "PRIVATE KEY" {
            return from_pkcs8(&block.bytes).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
        }
        let Some(kind) = block.kind.strip_suffix(" PRIVATE KEY") else {
            return Err(format!("no private key data in PEM block of type {}", block.kind));
        };
        match kind {
            "RSA" => RsaPrivateKey::from_pkcs1_der(&block.bytes)
                .map(|k| Key::Rsa(Box::new(k)))
                .map_err(|_| {
                    "parsing RSA private key from PEM: x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)".to_string()
                }),
            "EC" => from_sec1(&block.bytes, None).map_err(|e| format!("parsing EC private key from PEM: {e}")),
            "DSA" => Err("parsing DSA private key from PEM: DSA keys are not supported".into()),
            _ => Err(format!("invalid private key type {}", block.kind)),
        }
    }
}

/// The private scalar of a SEC 1 ECPrivateKey.
fn sec1_scalar(der_bytes: &[u8]) -> Option<Vec<u8>> {
    let top = der::read_all(der_bytes)?;
    let parts = der::children(top.content)?;
    let key = parts.get(1).filter(|e| e.tag == tag::OCTET_STRING)?;
    Some(key.content.to_vec())
}

/// An ECDSA key from a SEC 1 ECPrivateKey; `curve_oid` from PKCS#8 when the key lacks one.
fn from_sec1(der_bytes: &[u8], curve_oid: Option<&[u8]>) -> Result<Key, String> {
    const BAD: &str = "x509: failed to parse EC private key";
    let top = der::read_all(der_bytes).ok_or(BAD)?;
    let parts = der::children(top.content).ok_or(BAD)?;
    let scalar = parts.get(1).filter(|e| e.tag == tag::OCTET_STRING).ok_or(BAD)?.content;
    let mut oid = curve_oid;
    let mut public = None;
    for p in &parts[2..] {
        match p.tag {
            0xa0 => oid = der::read_all(p.content).map(|e| e.content),
            0xa1 => {
                public = der::read_all(p.content)
                    .filter(|e| e.tag == tag::BIT_STRING)
                    .map(|e| e.content)
            }
            _ => {}
        }
    }
    let oid = oid.ok_or(BAD)?;
    let curve = if der::oid(OID_P256)[2..] == *oid {
        Curve::P256
    } else if der::oid(OID_P384)[2..] == *oid {
        Curve::P384
    } else {
        return Err("x509: unknown elliptic curve".into());
    };
    // ring reads PKCS#8 whose inner key has no curve parameters and a public key.
    let public = public.ok_or(BAD)?;
    let inner = seq(&[
        &der::uint(&[1]),
        &tlv(tag::OCTET_STRING, scalar),
        &tlv(0xa1, &tlv(tag::BIT_STRING, public)),
    ]);
    let pkcs8 = seq(&[
        &der::uint(&[0]),
        &seq(&[&der::oid(OID_EC_PUBLIC_KEY), &der::oid(curve.oid())]),
        &tlv(tag::OCTET_STRING, &inner),
    ]);
    let pair = rcgen::KeyPair::try_from(pkcs8.as_slice()).map_err(|_| BAD.to_string())?;
    Ok(Key::Ec {
        curve,
        scalar: scalar.to_vec(),
        pair,
    })
}

/// A key from PKCS#8: RSA, ECDSA or Ed25519.
fn from_pkcs8(der_bytes: &[u8]) -> Result<Key, String> {
    const BAD: &str = "x509: failed to parse private key";
    let (alg, inner) = pkcs8_parts(der_bytes).ok_or(BAD)?;
    let alg_oid = alg.first().filter(|e| e.tag == tag::OID).ok_or(BAD)?.content;
    if der::oid(OID_RSA)[2..] == *alg_oid {
        return RsaPrivateKey::from_pkcs8_der(der_bytes)
            .map(|k| Key::Rsa(Box::new(k)))
            .map_err(|_| BAD.into());
    }
    if der::oid(OID_EC_PUBLIC_KEY)[2..] == *alg_oid {
        let curve = alg.get(1).map(|e| e.content);
        return from_sec1(inner, curve);
    }
    if der::oid(OID_ED25519)[2..] == *alg_oid {
        let seed = der::read_all(inner)
            .filter(|e| e.tag == tag::OCTET_STRING && e.content.len() == 32)
            .ok_or(BAD)?;
        let go_form = seq(&[
            &der::uint(&[0]),
            &seq(&[&der::oid(OID_ED25519)]),
            &tlv(tag::OCTET_STRING, &tlv(tag::OCTET_STRING, seed.content)),
        ]);
        let pair = rcgen::KeyPair::try_from(go_form.as_slice()).map_err(|_| BAD.to_string())?;
        return Ok(Key::Ed {
            seed: seed.content.to_vec(),
            pair,
        });
    }
    Err("x509: PKCS#8 wrapping contained private key with unknown algorithm".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_and_ed_round_trip() {
        for key in [Key::generate_ec().unwrap(), Key::generate_ed25519().unwrap()] {
            let pem = key.to_pem();
            let back = Key::from_pem(&pem).unwrap();
            assert_eq!(back.to_pem(), pem);
            assert_eq!(back.spki(), key.spki());
            assert!(!back.sign(b"x").unwrap().is_empty());
        }
        let ec = Key::generate_ec().unwrap().to_pem();
        assert!(ec.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        assert_eq!(ec.len(), 227);
        let ed = Key::generate_ed25519().unwrap().to_pem();
        assert!(ed.starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"));
        assert_eq!(ed.len(), 119);
    }

    #[test]
    fn reads_go_keys() {
        // Keys printed by helm's genPrivateKey.
        let ed = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEID4aPSW65hzl6mR4uf1Fvv63vL12kNCwYc2AbRF04raF\n-----END PRIVATE KEY-----\n";
        assert_eq!(Key::from_pem(ed).unwrap().to_pem(), ed);
        let ec = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIL9MAgy0I44rlEL4g8PxebmkqTPtKxS1nFSK3RdL3vgQoAoGCCqGSM49\nAwEHoUQDQgAEP7YuzaIpc4AqGqXU/7lNIVGulp4P5RAYXn3sR9Uts3qX0be6t9o5\ny7UodbhIz4YbDA8qsAln60cHole4BbGPfg==\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(Key::from_pem(ec).unwrap().to_pem(), ec);
        assert_eq!(Key::from_pem("x").err().unwrap(), "no PEM data in input");
        assert_eq!(
            Key::from_pem("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")
                .err()
                .unwrap(),
            "no private key data in PEM block of type CERTIFICATE"
        );
    }
}
