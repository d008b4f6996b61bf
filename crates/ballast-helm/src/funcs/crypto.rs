//! sprig's crypto functions: digests, bcrypt, derived passwords, private keys, certificates
//! and AES.
//!
//! Keys and certificates are fresh on every call (as in Helm, output differs between runs);
//! their shapes are Go's: PEM block types, key sizes (RSA 4096 for `genPrivateKey`, 2048 for
//! certificates), certificate fields and extensions. DSA keys are not supported.

pub mod ahead;
mod cert;
mod der;
mod keys;

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding};
use ballast_gotemplate::{Args, Arity, FuncMap, Value};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use cert::{Certificate, Issuer, Template};
use keys::Key;

fn digest_hex<D: Digest>(s: &[u8]) -> Value {
    Value::from(hex::encode(D::digest(s)))
}

/// sprig's `bcrypt`: cost 10, `$2a$` form; errors come back as text.
fn bcrypt_hash(password: &str) -> String {
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes".into();
    }
    match bcrypt::hash_with_result(password, 10) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

/// The Master Password templates sprig's `derivePassword` knows.
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// sprig's `derivePassword` (the Master Password algorithm: scrypt, then HMAC-SHA256).
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let mut salt = SEED.to_vec();
    salt.extend((user.len() as u32).to_be_bytes());
    salt.extend(user.as_bytes());
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2, 64)
        .map_err(|e| e.to_string())
        .and_then(|p| scrypt::scrypt(password.as_bytes(), &salt, &p, &mut key).map_err(|e| e.to_string()));
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let mut msg = SEED.to_vec();
    msg.extend((site.len() as u32).to_be_bytes());
    msg.extend(site.as_bytes());
    msg.extend(counter.to_be_bytes());
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(&key) else {
        return "failed to derive password".into();
    };
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()].as_bytes();
    template
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let chars = template_chars(c);
            char::from(chars[usize::from(seed[(i + 1) % seed.len()]) % chars.len()])
        })
        .collect()
}

/// sprig's `genPrivateKey`: errors come back as text.
fn generate_private_key(kind: &str) -> String {
    let key = match kind {
        "" | "rsa" => Key::generate_rsa(4096),
        "ecdsa" => Key::generate_ec(),
        "ed25519" => Key::generate_ed25519(),
        "dsa" => Err("dsa keys are not supported".into()),
        _ => return format!("Unknown type {kind}"),
    };
    match key {
        Ok(k) => k.to_pem(),
        Err(e) => format!("failed to generate private key: {e}"),
    }
}

/// What a certificate function returns within a probe ([`ahead::Probe`]): the shape of a
/// certificate, empty.
fn stand_in() -> Value {
    Certificate {
        cert: String::new(),
        key: String::new(),
    }
    .value()
}

/// A new 2048-bit RSA key: made ahead for this render if it was ([`ahead`]), else now.
fn rsa_2048() -> Result<Key, String> {
    ahead::take_rsa_2048()
        .unwrap_or_else(|| Key::generate_rsa(2048))
        .map_err(|e| format!("error generating rsa key: {e}"))
}

fn with_key(pem: &str) -> Result<Key, String> {
    Key::from_pem(pem).map_err(|e| format!("parsing private key: {e}"))
}

fn self_signed(t: &Template, key: Key) -> Result<Value, String> {
    let cert = cert::create(t, &key, None)?;
    Ok(Certificate {
        cert,
        key: key.to_pem(),
    }
    .value())
}

fn signed(t: &Template, ca: &Value, key: Key) -> Result<Value, String> {
    let (ca_cert, ca_key) = cert::certificate_arg(ca)?;
    let (subject, key_id) = cert::issuer_from_pem(&ca_cert)?;
    let signer = Key::from_pem(&ca_key).map_err(|e| format!("error parsing private key: {e}"))?;
    let issuer = Issuer {
        subject,
        key_id,
        key: &signer,
    };
    let cert = cert::create(t, &key, Some(&issuer))?;
    Ok(Certificate {
        cert,
        key: key.to_pem(),
    }
    .value())
}

fn template(a: &[Value], is_ca: bool) -> Result<Template, String> {
    if is_ca {
        return Ok(Template {
            cn: Args::string(&a[0])?.into(),
            ips: Vec::new(),
            dns: Vec::new(),
            days: Args::int(&a[1])?,
            is_ca,
        });
    }
    Ok(Template {
        cn: Args::string(&a[0])?.into(),
        ips: cert::parse_ips(&a[1])?,
        dns: cert::parse_dns(&a[2])?,
        days: Args::int(&a[3])?,
        is_ca,
    })
}

/// sprig's `buildCustomCert`: base64 PEM certificate and key, checked, returned as given.
fn build_custom_cert(b64cert: &str, b64key: &str) -> Result<Value, String> {
    let cert = STANDARD
        .decode(b64cert)
        .map_err(|_| "unable to decode base64 certificate")?;
    let key = STANDARD
        .decode(b64key)
        .map_err(|_| "unable to decode base64 private key")?;
    let block = der::pem_decode(&cert).ok_or("unable to decode certificate")?;
    if cert::parse_certificate(&block.bytes).is_none() {
        return Err("error parsing certificate: decodedCert.Bytes: x509: malformed certificate".into());
    }
    let key = String::from_utf8_lossy(&key).into_owned();
    Key::from_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(Certificate {
        cert: String::from_utf8_lossy(&cert).into_owned(),
        key,
    }
    .value())
}

/// Go's `base64.StdEncoding.DecodeString`: padding required, line breaks skipped, the last
/// symbol's unused bits ignored; an error gives the offending input byte's position.
fn go_base64(s: &str) -> Result<Vec<u8>, usize> {
    let src = s.as_bytes();
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let newline = |c: u8| c == b'\n' || c == b'\r';
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    loop {
        let mut quantum = [0u8; 4];
        let mut j = 0;
        let mut len = 4;
        while j < 4 {
            let Some(&c) = src.get(si) else {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            };
            si += 1;
            if let Some(v) = value(c) {
                quantum[j] = v;
                j += 1;
                continue;
            }
            if newline(c) {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(si - 1);
            }
            if j == 2 {
                while src.get(si).is_some_and(|&c| newline(c)) {
                    si += 1;
                }
                match src.get(si) {
                    None => return Err(src.len()),
                    Some(b'=') => si += 1,
                    Some(_) => return Err(si - 1),
                }
            }
            while src.get(si).is_some_and(|&c| newline(c)) {
                si += 1;
            }
            if si < src.len() {
                return Err(si);
            }
            len = j;
            break;
        }
        let v = quantum.iter().fold(0u32, |a, &d| a << 6 | u32::from(d));
        let bytes = v.to_be_bytes();
        out.extend_from_slice(&bytes[1..len]);
        if len < 4 {
            return Ok(out);
        }
    }
}

fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    key
}

/// sprig's `encryptAES`: AES-256-CBC, key zero-padded to 32 bytes, PKCS#7 padding, a random
/// IV before the ciphertext, standard base64.
fn encrypt_aes(password: &str, plaintext: &str) -> String {
    if plaintext.is_empty() {
        return String::new();
    }
    let mut iv = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let enc = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    let n = plaintext.len();
    let mut buf = plaintext.as_bytes().to_vec();
    buf.resize(n + 16 - n % 16, 0);
    match enc.encrypt_padded_mut::<block_padding::Pkcs7>(&mut buf, n) {
        Ok(body) => STANDARD.encode([&iv[..], body].concat()),
        Err(_) => String::new(),
    }
}

/// sprig's `decryptAES`, with the errors Go's runtime gives on malformed input.
fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, String> {
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let crypt = go_base64(crypt64).map_err(|i| format!("illegal base64 data at input byte {i}"))?;
    if crypt.len() < 16 {
        return Err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        ));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let iv: [u8; 16] = iv.try_into().map_err(|_| "bad iv")?;
    let dec = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    let mut buf = body.to_vec();
    let plain = dec
        .decrypt_padded_mut::<block_padding::NoPadding>(&mut buf)
        .map_err(|e| e.to_string())?;
    let Some(&last) = plain.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let end = plain.len() as i64 - i64::from(last);
    if end < 0 {
        return Err(format!("runtime error: slice bounds out of range [:{end}]"));
    }
    Ok(String::from_utf8_lossy(&plain[..end as usize]).into_owned())
}

/// A `uint32` parameter: an integer constant in range (an `int64` or `uint64` value does not
/// fit, as in Go).
fn uint32(v: &Value) -> Result<u32, String> {
    match v {
        Value::Int(i) => {
            u32::try_from(*i).map_err(|_| format!("wrong type for value; expected uint32; got {}", v.type_name()))
        }
        Value::Nil => Err("invalid value; expected uint32".into()),
        _ => Err(format!("wrong type for value; expected uint32; got {}", v.type_name())),
    }
}

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    m.pure("sha1sum", Arity::Exact(1), |a| {
        Ok(digest_hex::<Sha1>(Args::bytes(&a[0])?))
    });
    m.pure("sha256sum", Arity::Exact(1), |a| {
        Ok(digest_hex::<Sha256>(Args::bytes(&a[0])?))
    });
    m.pure("sha512sum", Arity::Exact(1), |a| {
        Ok(digest_hex::<Sha512>(Args::bytes(&a[0])?))
    });
    m.pure("adler32sum", Arity::Exact(1), |a| {
        Ok(Value::from(adler2::adler32_slice(Args::bytes(&a[0])?).to_string()))
    });
    m.pure("bcrypt", Arity::Exact(1), |a| {
        Ok(Value::from(bcrypt_hash(Args::string(&a[0])?)))
    });
    m.pure("htpasswd", Arity::Exact(2), |a| {
        let (user, pw) = (Args::string(&a[0])?, Args::string(&a[1])?);
        if user.contains(':') {
            return Ok(Value::from(format!("invalid username: {user}")));
        }
        Ok(Value::from(format!("{user}:{}", bcrypt_hash(pw))))
    });
    m.pure("derivePassword", Arity::Exact(5), |a| {
        let counter = uint32(&a[0])?;
        let (kind, pw, user, site) = (
            Args::string(&a[1])?,
            Args::string(&a[2])?,
            Args::string(&a[3])?,
            Args::string(&a[4])?,
        );
        Ok(Value::from(derive_password(counter, kind, pw, user, site)))
    });
    m.pure("genPrivateKey", Arity::Exact(1), |a| {
        Ok(Value::from(generate_private_key(Args::string(&a[0])?)))
    });
    m.pure("buildCustomCert", Arity::Exact(2), |a| {
        build_custom_cert(Args::string(&a[0])?, Args::string(&a[1])?)
    });
    m.pure("genCA", Arity::Exact(2), |a| {
        if ahead::probed_call() {
            return Ok(stand_in());
        }
        let t = template(a, true)?;
        self_signed(&t, rsa_2048()?)
    });
    m.pure("genCAWithKey", Arity::Exact(3), |a| {
        let t = template(a, true)?;
        self_signed(&t, with_key(Args::string(&a[2])?)?)
    });
    m.pure("genSelfSignedCert", Arity::Exact(4), |a| {
        if ahead::probed_call() {
            return Ok(stand_in());
        }
        let t = template(a, false)?;
        self_signed(&t, rsa_2048()?)
    });
    m.pure("genSelfSignedCertWithKey", Arity::Exact(5), |a| {
        let t = template(a, false)?;
        self_signed(&t, with_key(Args::string(&a[4])?)?)
    });
    m.pure("genSignedCert", Arity::Exact(5), |a| {
        if ahead::probed_call() {
            return Ok(stand_in());
        }
        let t = template(a, false)?;
        cert::certificate_arg(&a[4])?;
        signed(&t, &a[4], rsa_2048()?)
    });
    m.pure("genSignedCertWithKey", Arity::Exact(6), |a| {
        let t = template(a, false)?;
        cert::certificate_arg(&a[4])?;
        signed(&t, &a[4], with_key(Args::string(&a[5])?)?)
    });
    m.pure("encryptAES", Arity::Exact(2), |a| {
        Ok(Value::from(encrypt_aes(Args::string(&a[0])?, Args::string(&a[1])?)))
    });
    m.pure("decryptAES", Arity::Exact(2), |a| {
        decrypt_aes(Args::string(&a[0])?, Args::string(&a[1])?).map(Value::from)
    });
}

#[cfg(test)]
mod tests;
