//! Just enough DER and PEM for X.509 certificates and private keys: an encoder for the
//! structures sprig writes, a reader for the ones it parses.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// DER tags used here.
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const PRINTABLE_STRING: u8 = 0x13;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
}

/// One TLV: `tag`, then the length, then `content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already-encoded parts.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &parts.concat())
}

/// An unsigned big-endian integer as a DER INTEGER (minimal, with a leading zero when the
/// top bit is set).
pub(crate) fn uint(be: &[u8]) -> Vec<u8> {
    let skip = be.iter().take_while(|&&b| b == 0).count();
    let mut digits = be[skip..].to_vec();
    if digits.is_empty() || digits[0] & 0x80 != 0 {
        digits.insert(0, 0);
    }
    tlv(tag::INTEGER, &digits)
}

/// An object identifier from its arcs.
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = Vec::new();
    let first = arcs.first().copied().unwrap_or(0) * 40 + arcs.get(1).copied().unwrap_or(0);
    for &arc in std::iter::once(&first).chain(arcs.iter().skip(2)) {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        chunk.reverse();
        body.extend(chunk);
    }
    tlv(tag::OID, &body)
}

/// A BIT STRING of whole bytes.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(bytes.len() + 1);
    body.push(0);
    body.extend_from_slice(bytes);
    tlv(tag::BIT_STRING, &body)
}

/// A DER element read from input: its tag, its content, and the whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Element<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and the rest.
pub(crate) fn read(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len0, mut rest) = rest.split_first()?;
    let len = if len0 < 0x80 {
        usize::from(len0)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    let el = Element {
        tag,
        content: &rest[..len],
        raw: &input[..header + len],
    };
    Some((el, &rest[len..]))
}

/// The elements inside a constructed element's content.
pub(crate) fn children(content: &[u8]) -> Option<Vec<Element<'_>>> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let (el, r) = read(rest)?;
        out.push(el);
        rest = r;
    }
    Some(out)
}

/// Reads a whole input as exactly one element.
pub(crate) fn read_all(input: &[u8]) -> Option<Element<'_>> {
    match read(input)? {
        (el, []) => Some(el),
        _ => None,
    }
}

/// A PEM block: its type and decoded bytes.
pub(crate) struct PemBlock {
    pub kind: String,
    pub bytes: Vec<u8>,
}

/// Go's `pem.EncodeToMemory`: the base64 body in lines of 64 characters.
pub(crate) fn pem_encode(kind: &str, bytes: &[u8]) -> String {
    let b64 = STANDARD.encode(bytes);
    let mut out = format!("-----BEGIN {kind}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {kind}-----\n"));
    out
}

/// The first PEM block in `text` (Go's `pem.Decode`, without header lines), if any.
pub(crate) fn pem_decode(text: &[u8]) -> Option<PemBlock> {
    let text = String::from_utf8_lossy(text);
    let mut search = 0;
    while let Some(pos) = text[search..].find("-----BEGIN ") {
        let start = search + pos;
        search = start + 11;
        let after = &text[start + 11..];
        let Some(end_kind) = after.find("-----") else { break };
        let kind = &after[..end_kind];
        if kind.contains('\n') {
            continue;
        }
        let body_start = &after[end_kind + 5..];
        let end_marker = format!("-----END {kind}-----");
        let Some(end) = body_start.find(&end_marker) else {
            continue;
        };
        let body: String = body_start[..end].chars().filter(|c| !c.is_whitespace()).collect();
        if body.contains(':') {
            continue;
        }
        let Ok(bytes) = STANDARD.decode(body) else { continue };
        return Some(PemBlock {
            kind: kind.to_string(),
            bytes,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes() {
        assert_eq!(
            oid(&[1, 2, 840, 113549, 1, 1, 11]),
            [6, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 11]
        );
        assert_eq!(uint(&[0x80]), [2, 2, 0, 0x80]);
        assert_eq!(uint(&[0, 0, 5]), [2, 1, 5]);
        assert_eq!(tlv(4, &[0; 200])[..3], [4, 0x81, 200]);
        let s = seq(&[&uint(&[1]), &bit_string(&[0xff])]);
        let el = read_all(&s).unwrap();
        let kids = children(el.content).unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[1].content, [0, 0xff]);
        let pem = pem_encode("X", &[1; 100]);
        assert!(pem.starts_with("-----BEGIN X-----\n"));
        assert_eq!(pem.lines().nth(1).unwrap().len(), 64);
        let back = pem_decode(pem.as_bytes()).unwrap();
        assert_eq!((back.kind.as_str(), back.bytes), ("X", vec![1; 100]));
    }
}
