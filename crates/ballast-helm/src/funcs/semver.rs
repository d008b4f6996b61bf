//! sprig's semver functions: `semver` (a Masterminds `*semver.Version`) and `semverCompare`.

use std::rc::Rc;

use ballast_gotemplate::{Args, Arity, FuncMap, Object, Value};

use crate::semver::{Constraints, Version};

/// A parsed version as a template sees it: Masterminds' `*semver.Version` (from `semver`), or
/// a `semver.Version` value (from `IncMajor`, `SetPrerelease`...), which lacks the pointer
/// methods (`Original`, `Compare`, `LessThan`...).
struct SemverObject {
    v: Version,
    pointer: bool,
}

fn object(v: Version, pointer: bool) -> Value {
    Value::Object(Rc::new(SemverObject { v, pointer }))
}

/// The version inside a `*semver.Version` argument.
fn version_arg(a: &Value) -> Result<Version, String> {
    match a {
        Value::Object(o) if o.type_name() == "*semver.Version" => {
            Version::parse(&o.fmt_go()).map_err(|e| e.to_string())
        }
        Value::Nil => Err("invalid value; expected *semver.Version".into()),
        _ => Err(format!(
            "wrong type for value; expected *semver.Version; got {}",
            a.type_name()
        )),
    }
}

impl Object for SemverObject {
    fn type_name(&self) -> String {
        if self.pointer {
            "*semver.Version"
        } else {
            "semver.Version"
        }
        .into()
    }
    fn kind(&self) -> &'static str {
        if self.pointer { "ptr" } else { "struct" }
    }
    fn field(&self, name: &str) -> Option<Value> {
        let v = &self.v;
        Some(match name {
            "Major" => Value::Uint(v.major()),
            "Minor" => Value::Uint(v.minor()),
            "Patch" => Value::Uint(v.patch()),
            "Prerelease" => Value::str(v.prerelease()),
            "Metadata" => Value::str(v.metadata()),
            "String" => Value::from(v.to_string()),
            "Original" if self.pointer => Value::str(v.original()),
            "IncPatch" => object(v.inc_patch(), false),
            "IncMinor" => object(v.inc_minor(), false),
            "IncMajor" => object(v.inc_major(), false),
            _ => return None,
        })
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let v = &self.v;
        let one = |args: &[Value]| -> Result<Version, String> {
            match args {
                [a] => version_arg(a),
                _ => Err(format!("wrong number of args for {name}: want 1 got {}", args.len())),
            }
        };
        let text = |args: &[Value]| -> Result<String, String> {
            match args {
                [a] => Args::string(a).map(str::to_string),
                _ => Err(format!("wrong number of args for {name}: want 1 got {}", args.len())),
            }
        };
        use std::cmp::Ordering::*;
        Some(match name {
            "SetPrerelease" => text(args)
                .and_then(|p| v.set_prerelease(&p).map_err(|e| e.to_string()))
                .map(|n| object(n, false)),
            "SetMetadata" => text(args)
                .and_then(|p| v.set_metadata(&p).map_err(|e| e.to_string()))
                .map(|n| object(n, false)),
            _ if !self.pointer => return None,
            "Compare" => one(args).map(|o| Value::Int(v.compare(&o) as i64)),
            "LessThan" => one(args).map(|o| Value::Bool(v.compare(&o) == Less)),
            "LessThanEqual" => one(args).map(|o| Value::Bool(v.compare(&o) != Greater)),
            "GreaterThan" => one(args).map(|o| Value::Bool(v.compare(&o) == Greater)),
            "GreaterThanEqual" => one(args).map(|o| Value::Bool(v.compare(&o) != Less)),
            "Equal" => one(args).map(|o| Value::Bool(v.compare(&o) == Equal)),
            _ => return None,
        })
    }
    fn fmt_go(&self) -> String {
        self.v.to_string()
    }
    fn to_data(&self) -> Value {
        Value::from(self.v.to_string())
    }
}

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    m.pure("semver", Arity::Exact(1), |a| {
        Version::parse(Args::string(&a[0])?)
            .map(|v| object(v, true))
            .map_err(|e| e.to_string())
    });
    m.pure("semverCompare", Arity::Exact(2), |a| {
        // Both parameters' types are checked before the call (as Go does), then parsed.
        let (c, v) = (Args::string(&a[0])?, Args::string(&a[1])?);
        let c = Constraints::parse(c).map_err(|e| e.to_string())?;
        let v = Version::parse(v).map_err(|e| e.to_string())?;
        Ok(Value::Bool(c.check(&v)))
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

    #[test]
    fn semver_object() {
        let m = funcs();
        let v = call(&m, "semver", &["v1.2.3-beta.1+meta".into()]);
        let Value::Object(o) = &v else { panic!("{v:?}") };
        assert_eq!(v.to_string(), "1.2.3-beta.1+meta");
        assert_eq!(v.type_name(), "*semver.Version");
        assert_eq!(v.kind_name(), "ptr");
        assert!(matches!(o.field("Major"), Some(Value::Uint(1))));
        assert_eq!(o.field("Prerelease").unwrap().to_string(), "beta.1");
        assert_eq!(o.field("Metadata").unwrap().to_string(), "meta");
        assert_eq!(o.field("Original").unwrap().to_string(), "v1.2.3-beta.1+meta");
        let inc = o.field("IncMinor").unwrap();
        assert_eq!(
            (inc.to_string(), inc.type_name()),
            ("1.3.0".into(), "semver.Version".into())
        );
        let Value::Object(io) = &inc else { panic!() };
        assert!(io.field("Original").is_none());
        let other = call(&m, "semver", &["1.2.3".into()]);
        assert!(matches!(
            o.method("Compare", std::slice::from_ref(&other)),
            Some(Ok(Value::Int(-1)))
        ));
        assert!(matches!(o.method("LessThan", &[other]), Some(Ok(Value::Bool(true)))));
        assert_eq!(
            o.method("SetPrerelease", &["rc".into()]).unwrap().unwrap().to_string(),
            "1.2.3-rc+meta"
        );
        assert_eq!(
            o.method("SetPrerelease", &["01".into()]).unwrap().unwrap_err(),
            "version segment starts with 0"
        );
        assert_eq!(call(&m, "semver", &["1.2".into()]).to_string(), "1.2.0");
        assert_eq!(call_err(&m, "semver", &["1.2.x".into()]), "invalid semantic version");
    }

    #[test]
    fn semver_compare() {
        let m = funcs();
        let cmp = |c: &str, v: &str| call(&m, "semverCompare", &[c.into(), v.into()]).to_string();
        assert_eq!(cmp(">=1.20.0", "v1.35.0-gke.1"), "false");
        assert_eq!(cmp(">=1.20.0-0", "v1.35.0-gke.1"), "true");
        assert_eq!(cmp("^1.2 || ~3", "3.4.1"), "true");
        assert_eq!(cmp("1.2 - 1.4", "1.4.9"), "true");
        assert_eq!(
            call_err(&m, "semverCompare", &["foo".into(), "1.0".into()]),
            "improper constraint: foo"
        );
        assert_eq!(
            call_err(&m, "semverCompare", &[">1".into(), "x".into()]),
            "invalid semantic version"
        );
    }
}
