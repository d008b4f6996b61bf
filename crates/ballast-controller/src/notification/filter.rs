//! A Receiver's `spec.resourceFilter`: a CEL expression deciding, for each resource a valid call
//! names, whether it is asked to reconcile.
//!
//! As Flux v1 evaluates it: the variables are `res` (the resource's `apiVersion`, `kind` and
//! `metadata`) and `req` (the call's body when its `Content-Type` is `application/json`, else an
//! empty map); the result must be a boolean. The environment is CEL's standard library with
//! optional values (`.?`, `optional.of`, `list.first()`/`list.last()`), and the `strings` and
//! `encoders` extensions, as Flux enables them.
//!
//! Guarantees:
//! - an expression is compiled when the Receiver is reconciled, and refused (the Receiver is not
//!   Ready) when it does not parse, is longer than [`MAX_LEN`], names a variable other than `res`
//!   and `req` (`claims` is for `generic-oidc` Receivers, which Ballast does not serve) or uses
//!   Flux's `sets` extension (not available: refused by name), or nests brackets deeper than 64;
//! - evaluation never panics; an error or a non-boolean result is an error of the call, which
//!   then annotates nothing.

use std::sync::Arc;

use cel::common::types::{CelOptional, LIST_TYPE};
use cel::common::value::CowVal;
use cel::{Context, Env, ExecutionError, Program, Value};

/// Longest expression accepted, in bytes.
pub const MAX_LEN: usize = 4096;

/// Variables an expression may read.
const VARIABLES: &[&str] = &["res", "req"];

/// A compiled `resourceFilter`.
pub struct ResourceFilter {
    env: Arc<Env>,
    program: Program,
}

impl std::fmt::Debug for ResourceFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceFilter").finish_non_exhaustive()
    }
}

/// The first or last element of a list, as an optional (cel-go's optional library).
fn end_of_list<'b, 'v>(args: Vec<CowVal<'b, 'v>>, last: bool) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let name = if last { "last" } else { "first" };
    let list = args
        .first()
        .ok_or_else(|| ExecutionError::function_error(name, "no list"))?;
    let items = list
        .as_iterable()
        .ok_or_else(|| ExecutionError::function_error(name, "not a list"))?;
    let mut iter = items.iter();
    let mut found = None;
    while let Some(item) = iter.next() {
        found = Some(item.clone_as_boxed());
        if !last {
            break;
        }
    }
    Ok(CowVal::owned(match found {
        Some(v) => CelOptional::of(v),
        None => CelOptional::none(),
    }))
}

fn list_first<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    end_of_list(args, false)
}

fn list_last<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    end_of_list(args, true)
}

/// Deepest nesting of brackets accepted (the parser recurses on it).
pub(crate) const MAX_DEPTH: usize = 64;

/// Deepest nesting of `(`, `[` and `{` in `expr` (outside of nothing: quotes are not
/// skipped, so this over-counts brackets in string literals, which is harmless).
pub(crate) fn nesting(expr: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in expr.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

pub(crate) fn environment() -> Result<Env, String> {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings).map_err(|e| e.to_string())?;
    env.add_extension(cel::extensions::encoders)
        .map_err(|e| e.to_string())?;
    env.add_member_overload("first", "list_first", LIST_TYPE, vec![], list_first)
        .map_err(|e| e.to_string())?;
    env.add_member_overload("last", "list_last", LIST_TYPE, vec![], list_last)
        .map_err(|e| e.to_string())?;
    Ok(env)
}

impl ResourceFilter {
    /// Compiles `expr`; the error says what is wrong (never a value: there is none yet).
    pub fn compile(expr: &str) -> Result<Self, String> {
        if expr.len() > MAX_LEN {
            return Err(format!("resourceFilter is longer than {MAX_LEN} bytes"));
        }
        if nesting(expr) > MAX_DEPTH {
            return Err(format!("resourceFilter nests brackets deeper than {MAX_DEPTH}"));
        }
        let env = environment()?;
        let program = env
            .compile(expr)
            .map_err(|e| format!("resourceFilter does not parse: {e}"))?;
        let refs = program.references();
        let mut variables = refs.variables();
        variables.sort_unstable();
        if let Some(v) = variables.iter().find(|v| !VARIABLES.contains(v)) {
            return Err(if *v == "claims" {
                "resourceFilter: `claims` is only declared for generic-oidc Receivers, which are not supported".into()
            } else if *v == "sets" {
                "resourceFilter: the `sets` extension is not supported".into()
            } else {
                format!("resourceFilter: undeclared variable `{v}` (declared: res, req)")
            });
        }
        if let Some(f) = refs.functions().iter().find(|f| f.starts_with("sets.")) {
            return Err(format!("resourceFilter: `{f}` (the `sets` extension) is not supported"));
        }
        Ok(ResourceFilter {
            env: Arc::new(env),
            program,
        })
    }

    /// True when the resource `res` is to be reconciled for the call whose parsed body is `req`.
    pub fn accepts(&self, res: &serde_json::Value, req: &serde_json::Value) -> Result<bool, String> {
        let mut context = Context::with_env(self.env.clone());
        context
            .add_variable("res", res)
            .map_err(|e| format!("resourceFilter: res: {e}"))?;
        context
            .add_variable("req", req)
            .map_err(|e| format!("resourceFilter: req: {e}"))?;
        match self.program.execute(&context) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(_) => Err("resourceFilter did not evaluate to a boolean".into()),
            Err(e) => Err(format!("resourceFilter: {e}")),
        }
    }
}

/// `req` for a call: its body parsed as a JSON object when `content_type` lists
/// `application/json`, else an empty map. `Err` when such a body is not a JSON object.
pub fn request_value(content_type: Option<&str>, body: &[u8]) -> Result<serde_json::Value, String> {
    let json = content_type.is_some_and(|ct| {
        ct.split(',')
            .map(|v| v.split(';').next().unwrap_or("").trim())
            .any(|t| t.eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Ok(serde_json::json!({}));
    }
    let mut stream =
        serde_json::Deserializer::from_slice(body).into_iter::<serde_json::Map<String, serde_json::Value>>();
    match stream.next() {
        Some(Ok(map)) => Ok(serde_json::Value::Object(map)),
        _ => Err("the body is not a JSON object".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res() -> serde_json::Value {
        json!({"apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
               "metadata": {"name": "hello-world", "namespace": "apps",
                            "labels": {"environment": "production"},
                            "annotations": {"update-image": "hello-world"}}})
    }

    #[test]
    fn flux_documented_expressions_evaluate() {
        let req = json!({"action": "INSERT",
                         "tag": "us-east1-docker.pkg.dev/my-project/my-repo/hello-world:1.1"});
        let contains = ResourceFilter::compile("req.tag.contains(res.metadata.name)").unwrap();
        assert!(contains.accepts(&res(), &req).unwrap());
        let other = json!({"tag": "us-east1-docker.pkg.dev/p/r/other:1"});
        assert!(!contains.accepts(&res(), &other).unwrap());
        let complex = ResourceFilter::compile(
            "has(res.metadata.annotations) && req.tag.split('/').last().value().split(\":\").first().value() \
             == res.metadata.annotations['update-image']",
        )
        .unwrap();
        assert!(complex.accepts(&res(), &req).unwrap());
        let labels = ResourceFilter::compile("res.metadata.labels['environment'] == 'production'").unwrap();
        assert!(labels.accepts(&res(), &json!({})).unwrap());
    }

    #[test]
    fn refused_by_name_and_errors_are_errors() {
        assert!(
            ResourceFilter::compile("claims.sub == 'x'")
                .unwrap_err()
                .contains("generic-oidc")
        );
        assert!(
            ResourceFilter::compile("sets.contains([1], [1])")
                .unwrap_err()
                .contains("sets")
        );
        assert!(
            ResourceFilter::compile("other == 1")
                .unwrap_err()
                .contains("undeclared")
        );
        assert!(ResourceFilter::compile("res.metadata.name ==").is_err());
        assert!(ResourceFilter::compile(&"a".repeat(MAX_LEN + 1)).is_err());
        let not_bool = ResourceFilter::compile("res.metadata.name").unwrap();
        assert!(not_bool.accepts(&res(), &json!({})).is_err());
        let missing = ResourceFilter::compile("req.tag == 'x'").unwrap();
        assert!(missing.accepts(&res(), &json!({})).is_err());
        assert!(
            ResourceFilter::compile("[].last().hasValue()")
                .unwrap()
                .accepts(&res(), &json!({}))
                == Ok(false)
        );
    }

    #[test]
    fn the_body_is_read_only_when_json() {
        assert_eq!(request_value(None, b"{\"a\":1}").unwrap(), json!({}));
        assert_eq!(request_value(Some("text/plain"), b"x").unwrap(), json!({}));
        assert_eq!(
            request_value(Some("application/json; charset=utf-8"), b"{\"a\":1}").unwrap(),
            json!({"a": 1})
        );
        assert!(request_value(Some("application/json"), b"[1]").is_err());
        assert!(request_value(Some("application/json"), b"").is_err());
    }
}
