//! sigs.k8s.io/yaml's `Marshal`: the value as JSON, then goyaml.v2's emitter.

use ballast_gotemplate::Value;

/// sigs.k8s.io/yaml `Marshal`.
pub fn to_yaml(v: &Value) -> Result<String, String> {
    let _ = v;
    Err("not implemented".into())
}

/// Go's shortest `%g` layout from Rust's `{:e}` text (`"1.5e6"` → `"1.5e+06"`, `"1e-1"` →
/// `"0.1"`): exponent form when the exponent is below -4 or at least 6.
pub(crate) fn format_g_shortest(sci: &str) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if digits == "0" {
        out.push('0');
        return out;
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else {
        plain_digits(&mut out, &digits, exp);
    }
    out
}

/// Writes `0.d1d2...` × 10^(exp+1) without an exponent.
pub(crate) fn plain_digits(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
}
