//! X.509 certificates as sprig's `genCA`, `genSelfSignedCert` and `genSignedCert` make them:
//! the fields and extensions Go's `x509.CreateCertificate` writes for sprig's template, in
//! Go's order (key usage, extended key usage, basic constraints, key identifiers, alternative
//! names).

use std::net::IpAddr;
use std::rc::Rc;

use ballast_gotemplate::{Object, Value};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::der::{self, Element, seq, tag, tlv};
use super::keys::Key;

/// sprig's `certificate` struct: PEM `Cert` and `Key`.
pub(crate) struct Certificate {
    pub cert: String,
    pub key: String,
}

impl Certificate {
    pub(crate) fn value(self) -> Value {
        Value::Object(Rc::new(self))
    }
}

impl Object for Certificate {
    fn type_name(&self) -> String {
        "sprig.certificate".into()
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::str(&self.cert)),
            "Key" => Some(Value::str(&self.key)),
            _ => None,
        }
    }
    fn fmt_go(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
    fn to_data(&self) -> Value {
        let mut m = ballast_gotemplate::Map::new();
        m.insert("Cert".into(), Value::str(&self.cert));
        m.insert("Key".into(), Value::str(&self.key));
        Value::map(m)
    }
}

/// The `Cert` and `Key` of a `sprig.certificate` argument.
pub(crate) fn certificate_arg(v: &Value) -> Result<(String, String), String> {
    match v {
        Value::Object(o) if o.type_name() == "sprig.certificate" => {
            let get = |f: &str| {
                o.field(f)
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            Ok((get("Cert"), get("Key")))
        }
        Value::Nil => Err("invalid value; expected sprig.certificate".into()),
        _ => Err(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            v.type_name()
        )),
    }
}

/// What sprig's certificate template holds besides the key.
pub(crate) struct Template {
    pub cn: String,
    pub ips: Vec<IpAddr>,
    pub dns: Vec<String>,
    pub days: i64,
    pub is_ca: bool,
}

/// sprig's `ips` parameter: each element a string Go's `net.ParseIP` accepts.
pub(crate) fn parse_ips(list: &Value) -> Result<Vec<IpAddr>, String> {
    let items = match list {
        Value::Nil => return Ok(Vec::new()),
        _ => ballast_gotemplate::Args::list(list)?,
    };
    items
        .iter()
        .map(|v| {
            let s = v
                .as_str()
                .ok_or_else(|| format!("error parsing ip: {v} is not a string"))?;
            s.parse::<IpAddr>().map_err(|_| format!("error parsing ip: {s}"))
        })
        .collect()
}

/// sprig's `alternateDNS` parameter: each element a string.
pub(crate) fn parse_dns(list: &Value) -> Result<Vec<String>, String> {
    let items = match list {
        Value::Nil => return Ok(Vec::new()),
        _ => ballast_gotemplate::Args::list(list)?,
    };
    items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("error processing alternate dns name: {v} is not a string"))
        })
        .collect()
}

/// Go's `asn1` choice for a string: PrintableString when every character allows it.
fn directory_string(s: &str) -> Vec<u8> {
    let printable = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?*".contains(&b));
    tlv(
        if printable {
            tag::PRINTABLE_STRING
        } else {
            tag::UTF8_STRING
        },
        s.as_bytes(),
    )
}

/// A Name holding only a common name (empty when the name is "").
fn name_with_cn(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return seq(&[]);
    }
    let atv = seq(&[&der::oid(&[2, 5, 4, 3]), &directory_string(cn)]);
    seq(&[&tlv(tag::SET, &atv)])
}

/// UTCTime for 1950..2049, GeneralizedTime otherwise, to the second, as Go writes them.
fn time(ts: jiff::Timestamp) -> Vec<u8> {
    let t = ts.to_zoned(jiff::tz::TimeZone::UTC);
    let year = t.year();
    if (1950..2050).contains(&year) {
        tlv(tag::UTC_TIME, t.strftime("%y%m%d%H%M%SZ").to_string().as_bytes())
    } else {
        tlv(
            tag::GENERALIZED_TIME,
            t.strftime("%Y%m%d%H%M%SZ").to_string().as_bytes(),
        )
    }
}

fn extension(oid: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![der::oid(oid)];
    if critical {
        parts.push(tlv(tag::BOOLEAN, &[0xff]));
    }
    parts.push(tlv(tag::OCTET_STRING, value));
    seq(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

/// Go's subject key identifier: the first 160 bits of the SHA-256 of the public key bits.
fn key_id(key: &Key) -> Vec<u8> {
    Sha256::digest(key.public_key_bits())[..20].to_vec()
}

/// The issuer a certificate is signed by: its encoded subject and its key identifier.
pub(crate) struct Issuer<'a> {
    pub subject: Vec<u8>,
    pub key_id: Option<Vec<u8>>,
    pub key: &'a Key,
}

/// Reads what signing needs from a PEM CA certificate: its encoded subject and key
/// identifier (sprig's wording on failure).
pub(crate) fn issuer_from_pem(pem: &str) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    let block = der::pem_decode(pem.as_bytes()).ok_or("unable to decode certificate")?;
    parse_certificate(&block.bytes)
        .ok_or_else(|| "error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate".into())
}

/// The encoded subject and the subject key identifier of a DER certificate, if it is one.
pub(crate) fn parse_certificate(bytes: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let top = der::read_all(bytes)?;
    let parts = der::children(top.content)?;
    if parts.len() != 3 || parts[0].tag != tag::SEQUENCE {
        return None;
    }
    let tbs = der::children(parts[0].content)?;
    // version (optional [0]), serial, signature, issuer, validity, subject, spki, ...
    let offset = usize::from(tbs.first()?.tag == 0xa0);
    let subject: &Element = tbs.get(offset + 4)?;
    if subject.tag != tag::SEQUENCE || tbs.get(offset + 5)?.tag != tag::SEQUENCE {
        return None;
    }
    let mut ski = None;
    if let Some(exts) = tbs.iter().find(|e| e.tag == 0xa3) {
        let list = der::read_all(exts.content)?;
        for ext in der::children(list.content)? {
            let fields = der::children(ext.content)?;
            if fields.first()?.content == [0x55, 0x1d, 0x0e] {
                let value = fields.last()?;
                ski = der::read_all(value.content).map(|e| e.content.to_vec());
            }
        }
    }
    Some((subject.raw.to_vec(), ski))
}

/// Builds and signs a certificate for `key`: self-signed without `issuer`.
pub(crate) fn create(t: &Template, key: &Key, issuer: Option<&Issuer>) -> Result<String, String> {
    let mut serial = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut serial);
    let subject = name_with_cn(&t.cn);
    let own_id = t.is_ca.then(|| key_id(key));
    let (issuer_name, signer, parent_id) = match issuer {
        Some(i) => (i.subject.clone(), i.key, i.key_id.clone()),
        None => (subject.clone(), key, own_id.clone()),
    };
    let now = jiff::Timestamp::now();
    let span = jiff::SignedDuration::from_hours(t.days.saturating_mul(24).clamp(-2_000_000, 2_000_000));
    let not_after = now.checked_add(span).map_err(|e| e.to_string())?;

    let mut exts = Vec::new();
    // Digital signature, key encipherment (and certificate signing for a CA).
    let usage: &[u8] = if t.is_ca { &[0x02, 0xa4] } else { &[0x05, 0xa0] };
    exts.push(extension(&[2, 5, 29, 15], true, &tlv(tag::BIT_STRING, usage)));
    let eku = seq(&[
        &der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
        &der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
    ]);
    exts.push(extension(&[2, 5, 29, 37], false, &eku));
    let bc = if t.is_ca {
        seq(&[&tlv(tag::BOOLEAN, &[0xff])])
    } else {
        seq(&[])
    };
    exts.push(extension(&[2, 5, 29, 19], true, &bc));
    if let Some(id) = &own_id {
        exts.push(extension(&[2, 5, 29, 14], false, &tlv(tag::OCTET_STRING, id)));
    }
    if issuer_name != subject
        && let Some(id) = &parent_id
    {
        exts.push(extension(&[2, 5, 29, 35], false, &seq(&[&tlv(0x80, id)])));
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names = Vec::new();
        for d in &t.dns {
            names.extend(tlv(0x82, d.as_bytes()));
        }
        for ip in &t.ips {
            let bytes = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => v4.octets().to_vec(),
                    None => v6.octets().to_vec(),
                },
            };
            names.extend(tlv(0x87, &bytes));
        }
        exts.push(extension(&[2, 5, 29, 17], t.cn.is_empty(), &tlv(tag::SEQUENCE, &names)));
    }
    let ext_refs: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();

    let sig_alg = signer.signature_algorithm();
    let tbs = seq(&[
        &tlv(0xa0, &der::uint(&[2])),
        &der::uint(&serial),
        &sig_alg,
        &issuer_name,
        &seq(&[&time(now), &time(not_after)]),
        &subject,
        &key.spki(),
        &tlv(0xa3, &seq(&ext_refs)),
    ]);
    let signature = signer
        .sign(&tbs)
        .map_err(|e| format!("error creating certificate: {e}"))?;
    let cert = seq(&[&tbs, &sig_alg, &der::bit_string(&signature)]);
    Ok(der::pem_encode("CERTIFICATE", &cert))
}
