//! Just enough DER to find a certificate's public key and the RSA key inside PKCS #8: a
//! bounded reader of tag-length-value items (definite lengths only, as DER requires).

use crate::SealError;

/// One DER item: its tag, its whole encoding and its content.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item<'a> {
    /// The tag byte (single-byte tags only).
    pub tag: u8,
    /// Header and content.
    pub whole: &'a [u8],
    /// Content only.
    pub content: &'a [u8],
}

/// Reads the item at the start of `input`; returns it and what follows.
pub(crate) fn read(input: &[u8]) -> Result<(Item<'_>, &[u8]), SealError> {
    let bad = || SealError::Key("malformed DER".into());
    let (&tag, rest) = input.split_first().ok_or_else(bad)?;
    if tag & 0x1f == 0x1f {
        return Err(bad());
    }
    let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad());
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(bad());
    }
    let header = input.len() - rest.len();
    let item = Item {
        tag,
        whole: &input[..header + len],
        content: &rest[..len],
    };
    Ok((item, &rest[len..]))
}

/// Reads an item that must have `tag`.
pub(crate) fn expect(input: &[u8], tag: u8) -> Result<(Item<'_>, &[u8]), SealError> {
    let (item, rest) = read(input)?;
    if item.tag != tag {
        return Err(SealError::Key(format!(
            "malformed DER: tag {:#04x} where {tag:#04x} was expected",
            item.tag
        )));
    }
    Ok((item, rest))
}

/// `SEQUENCE`.
pub(crate) const SEQUENCE: u8 = 0x30;
/// `INTEGER`.
pub(crate) const INTEGER: u8 = 0x02;
/// `OCTET STRING`.
pub(crate) const OCTET_STRING: u8 = 0x04;

/// The `SubjectPublicKeyInfo` of an X.509 certificate (DER).
pub(crate) fn certificate_spki(cert: &[u8]) -> Result<&[u8], SealError> {
    let (certificate, _) = expect(cert, SEQUENCE)?;
    let (tbs, _) = expect(certificate.content, SEQUENCE)?;
    let mut rest = tbs.content;
    // [0] EXPLICIT version, optional.
    let (first, after) = read(rest)?;
    if first.tag == 0xa0 {
        rest = after;
    }
    // serialNumber, signature, issuer, validity, subject.
    for tag in [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE] {
        rest = expect(rest, tag)?.1;
    }
    Ok(expect(rest, SEQUENCE)?.0.whole)
}

/// The PKCS #1 `RSAPrivateKey` inside a PKCS #8 v1 `PrivateKeyInfo`.
pub(crate) fn pkcs8_inner(pkcs8: &[u8]) -> Result<&[u8], SealError> {
    let (info, _) = expect(pkcs8, SEQUENCE)?;
    let rest = expect(info.content, INTEGER)?.1;
    let rest = expect(rest, SEQUENCE)?.1;
    Ok(expect(rest, OCTET_STRING)?.0.content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_long_forms_are_refused_without_panic() {
        for input in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x82, 0x01],
            &[0x30, 0x03, 0x02],
        ] {
            assert!(read(input).is_err(), "{input:?}");
        }
        let (item, rest) = read(&[0x30, 0x81, 0x01, 0x05, 0xff]).unwrap();
        assert_eq!((item.tag, item.content, rest), (0x30, &[0x05][..], &[0xff][..]));
        assert!(certificate_spki(&[0x30, 0x02, 0x30, 0x00]).is_err());
    }
}
