//! sprig's base64 and base32 functions (standard alphabets, padded). Decoding errors are
//! returned as the result text (`illegal base64 data at input byte 4`), as sprig does.

use ballast_gotemplate::{Args, Arity, FuncMap, Value};
use base64::Engine as _;

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    use Arity::Exact;
    m.pure("b64enc", Exact(1), |a| {
        Ok(base64::engine::general_purpose::STANDARD
            .encode(Args::bytes(&a[0])?)
            .into())
    });
    m.pure("b64dec", Exact(1), |a| {
        Ok(text(b64_decode(Args::string(&a[0])?.as_bytes())))
    });
    m.pure("b32enc", Exact(1), |a| {
        Ok(data_encoding::BASE32.encode(Args::bytes(&a[0])?).into())
    });
    m.pure("b32dec", Exact(1), |a| {
        Ok(text(b32_decode(Args::string(&a[0])?.as_bytes())))
    });
}

fn text(r: Result<Vec<u8>, String>) -> Value {
    match r {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned().into(),
        Err(e) => e.into(),
    }
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn b64_err(at: usize) -> String {
    format!("illegal base64 data at input byte {at}")
}

/// Go's `base64.StdEncoding.DecodeString`: quanta of four symbols, CR and LF skipped, `=`
/// padding only at the end, with Go's error offsets.
fn b64_decode(src: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        let mut buf = [0u8; 4];
        let mut len = 4;
        let mut j = 0;
        let mut trailing = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(b64_err(si - j));
            }
            let c = src[si];
            si += 1;
            if let Some(v) = b64_value(c) {
                buf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(b64_err(si - 1));
            }
            if j == 2 {
                while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                    si += 1;
                }
                if si == src.len() {
                    return Err(b64_err(src.len()));
                }
                if src[si] != b'=' {
                    return Err(b64_err(si - 1));
                }
                si += 1;
            }
            while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            if si < src.len() {
                trailing = Some(si);
            }
            len = j;
            break;
        }
        let v = u32::from(buf[0]) << 18 | u32::from(buf[1]) << 12 | u32::from(buf[2]) << 6 | u32::from(buf[3]);
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..len - 1]);
        if let Some(at) = trailing {
            return Err(b64_err(at));
        }
        if len < 4 {
            return Ok(out);
        }
    }
    Ok(out)
}

fn b32_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

fn b32_err(at: usize) -> String {
    format!("illegal base32 data at input byte {at}")
}

/// Go's `base32.StdEncoding.DecodeString`: newlines removed first, then quanta of eight
/// symbols with `=` padding, with Go's error offsets (counted in the stripped input).
fn b32_decode(input: &[u8]) -> Result<Vec<u8>, String> {
    let src: Vec<u8> = input.iter().copied().filter(|c| *c != b'\n' && *c != b'\r').collect();
    let olen = src.len();
    let mut pos = 0;
    let mut out = Vec::new();
    let mut end = false;
    while pos < olen && !end {
        let mut buf = [0u8; 8];
        let mut len = 8;
        let mut j = 0;
        while j < 8 {
            if pos == olen {
                return Err(b32_err(olen - (olen - pos) - j));
            }
            let c = src[pos];
            pos += 1;
            let left = olen - pos;
            if c == b'=' && j >= 2 && left < 8 {
                if left + j < 7 {
                    return Err(b32_err(olen));
                }
                for k in 0..7 - j {
                    if left > k && src[pos + k] != b'=' {
                        return Err(b32_err(olen - left + k - 1));
                    }
                }
                len = j;
                end = true;
                if matches!(len, 1 | 3 | 6) {
                    return Err(b32_err(olen - left - 1));
                }
                break;
            }
            match b32_value(c) {
                Some(v) => buf[j] = v,
                None => return Err(b32_err(olen - left - 1)),
            }
            j += 1;
        }
        let mut v: u64 = 0;
        for b in buf {
            v = v << 5 | u64::from(b);
        }
        let bytes = v.to_be_bytes();
        let n = match len {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            _ => 1,
        };
        out.extend_from_slice(&bytes[3..3 + n]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::strings::test_support::*;

    #[test]
    fn base64() {
        assert_eq!(p("b64enc", &[s("hello")]), "aGVsbG8=");
        for (input, want) in [
            ("aGVsbG8=", "hello"),
            ("aGVsbG8", "illegal base64 data at input byte 4"),
            ("a$", "illegal base64 data at input byte 1"),
            ("aGVs\nbG8=", "hello"),
            ("aGVsbA==x", "illegal base64 data at input byte 8"),
            ("a===", "illegal base64 data at input byte 1"),
            ("aG=", "illegal base64 data at input byte 3"),
            ("", ""),
        ] {
            assert_eq!(p("b64dec", &[s(input)]), want, "{input:?}");
        }
    }

    #[test]
    fn base32() {
        assert_eq!(p("b32enc", &[s("hello")]), "NBSWY3DP");
        for (input, want) in [
            ("NBSWY3DP", "hello"),
            ("NBSWY3D", "illegal base32 data at input byte 0"),
            ("NB$WY3DP", "illegal base32 data at input byte 2"),
            ("NBSWY===", "hel"),
            ("NBSWY3DPEE======", "hello!"),
            ("NB======", "h"),
            ("N=======", "illegal base32 data at input byte 1"),
        ] {
            assert_eq!(p("b32dec", &[s(input)]), want, "{input:?}");
        }
    }
}
