//! PEM armour (RFC 7468): one labelled base64 block.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::SealError;

/// Every `(label, der)` block of `text`, in order. Text outside blocks is ignored, as Go's
/// `pem.Decode` does.
pub fn decode_all(text: &str) -> Result<Vec<(String, Vec<u8>)>, SealError> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for line in lines.by_ref() {
            let line = line.trim();
            if line == end {
                closed = true;
                break;
            }
            if line.contains(':') {
                // RFC 1421 headers (encrypted keys): not supported.
                return Err(SealError::Key(format!("PEM block {label} has headers (encrypted?)")));
            }
            body.push_str(line);
        }
        if !closed {
            return Err(SealError::Key(format!("PEM block {label} is not closed")));
        }
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|_| SealError::Key(format!("PEM block {label}: invalid base64")))?;
        out.push((label.to_string(), der));
    }
    Ok(out)
}

/// `der` armoured with `label`, lines of 64 characters.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let text = encode("CERTIFICATE", &[1u8; 100]);
        assert_eq!(
            decode_all(&format!("junk\n{text}")).unwrap(),
            vec![("CERTIFICATE".into(), vec![1u8; 100])]
        );
        assert!(decode_all("-----BEGIN X-----\nAAAA\n").is_err());
        assert!(decode_all("-----BEGIN X-----\n!!\n-----END X-----\n").is_err());
        assert!(decode_all("nothing").unwrap().is_empty());
    }
}
