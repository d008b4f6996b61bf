//! sprig's random functions: `randAlphaNum`, `randAlpha`, `randAscii`, `randNumeric`,
//! `randBytes`, `randInt`, `shuffle` and `uuidv4`.
//!
//! Outputs differ on every call, as in Helm; their shapes are Go's (character sets, lengths,
//! base64 of `randBytes`, the canonical UUID form). Lengths are bounded by [`MAX_LEN`].

use ballast_gotemplate::{Args, Arity, FuncMap, Value};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use rand::seq::SliceRandom;

/// The longest random string or byte count a template may ask for.
pub const MAX_LEN: i64 = 1 << 20;

const DIGITS: &[u8] = b"0123456789";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A random string of `count` characters from `set`; "" for a count of 0 or less, as
/// goutils' generator gives (its error is dropped by sprig).
fn random_string(count: i64, set: &[u8]) -> Result<Value, String> {
    if count > MAX_LEN {
        return Err(format!("random string length {count} exceeds {MAX_LEN}"));
    }
    let mut rng = rand::thread_rng();
    let n = usize::try_from(count).unwrap_or(0);
    Ok(Value::from(
        (0..n)
            .map(|_| char::from(set[rng.gen_range(0..set.len())]))
            .collect::<String>(),
    ))
}

/// The printable ASCII characters (space to `~`), `randAscii`'s set.
fn ascii() -> Vec<u8> {
    (b' '..=b'~').collect()
}

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    m.pure("randAlphaNum", Arity::Exact(1), |a| {
        random_string(Args::int(&a[0])?, ALNUM)
    });
    m.pure("randAlpha", Arity::Exact(1), |a| {
        random_string(Args::int(&a[0])?, LETTERS)
    });
    m.pure("randNumeric", Arity::Exact(1), |a| {
        random_string(Args::int(&a[0])?, DIGITS)
    });
    m.pure("randAscii", Arity::Exact(1), |a| {
        random_string(Args::int(&a[0])?, &ascii())
    });
    m.pure("randBytes", Arity::Exact(1), |a| {
        let n = Args::int(&a[0])?;
        if n < 0 {
            return Err("runtime error: makeslice: len out of range".into());
        }
        if n > MAX_LEN {
            return Err(format!("random byte count {n} exceeds {MAX_LEN}"));
        }
        let mut buf = vec![0u8; n as usize];
        rand::thread_rng().fill(&mut buf[..]);
        Ok(Value::from(STANDARD.encode(buf)))
    });
    m.pure("randInt", Arity::Exact(2), |a| {
        let (min, max) = (Args::int(&a[0])?, Args::int(&a[1])?);
        let span = max
            .checked_sub(min)
            .filter(|&s| s > 0)
            .ok_or("invalid argument to Intn")?;
        Ok(Value::Int(rand::thread_rng().gen_range(0..span) + min))
    });
    m.pure("shuffle", Arity::Exact(1), |a| {
        let mut chars: Vec<char> = Args::string(&a[0])?.chars().collect();
        chars.shuffle(&mut rand::thread_rng());
        Ok(Value::from(chars.into_iter().collect::<String>()))
    });
    m.pure("uuidv4", Arity::Exact(0), |_| {
        Ok(Value::from(uuid::Uuid::new_v4().to_string()))
    });
}

#[cfg(test)]
mod tests {
    use super::super::regex::test_support::{call, call_err};
    use super::*;

    fn funcs() -> FuncMap {
        let mut m = FuncMap::new();
        register(&mut m);
        m
    }

    fn s(m: &FuncMap, name: &str, args: &[Value]) -> String {
        call(m, name, args).to_string()
    }

    #[test]
    fn strings_have_go_shapes() {
        let m = funcs();
        let check = |name: &str, ok: fn(char) -> bool| {
            let v = s(&m, name, &[Value::Int(200)]);
            assert_eq!(v.chars().count(), 200, "{name}");
            assert!(v.chars().all(ok), "{name}: {v}");
            assert_eq!(s(&m, name, &[Value::Int(0)]), "");
            assert_eq!(s(&m, name, &[Value::Int(-1)]), "");
        };
        check("randAlphaNum", |c| c.is_ascii_alphanumeric());
        check("randAlpha", |c| c.is_ascii_alphabetic());
        check("randNumeric", |c| c.is_ascii_digit());
        check("randAscii", |c| (' '..='~').contains(&c));
        assert!(call_err(&m, "randAlpha", &[Value::Int(MAX_LEN + 1)]).contains("exceeds"));
        assert_eq!(
            call_err(&m, "randAlpha", &[Value::Float(1.5)]),
            "wrong type for value; expected int; got float64"
        );
    }

    #[test]
    fn bytes_ints_uuids() {
        let m = funcs();
        let b = s(&m, "randBytes", &[Value::Int(5)]);
        assert_eq!(b.len(), 8);
        assert_eq!(STANDARD.decode(&b).unwrap().len(), 5);
        assert_eq!(s(&m, "randBytes", &[Value::Int(0)]), "");
        assert_eq!(
            call_err(&m, "randBytes", &[Value::Int(-1)]),
            "runtime error: makeslice: len out of range"
        );
        for _ in 0..50 {
            let Value::Int(i) = call(&m, "randInt", &[Value::Int(1), Value::Int(3)]) else {
                panic!()
            };
            assert!((1..3).contains(&i));
        }
        assert_eq!(
            call_err(&m, "randInt", &[Value::Int(5), Value::Int(5)]),
            "invalid argument to Intn"
        );
        let u = s(&m, "uuidv4", &[]);
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert!(
            u.chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let mut sh: Vec<char> = s(&m, "shuffle", &["héllo".into()]).chars().collect();
        sh.sort_unstable();
        assert_eq!(sh, ['h', 'l', 'l', 'o', 'é']);
    }
}
