//! The errors of values that fail a `values.schema.json`, found and worded as Helm's validator
//! (santhosh-tekuri/jsonschema v6) finds and words them: a tree of errors following the
//! schema's evaluation, where `type`, `const` and `enum` failing end a schema's checks (its
//! other keywords are not evaluated), `anyOf`/`oneOf`/`allOf` list each subschema's errors
//! beneath them, a `$ref` stands in for the schema it names, and numbers print as that
//! validator's English printer prints them (`1,000`, `1.5×10⁰⁶`).
//!
//! Only explains: the `jsonschema` crate (or the quick check) decides whether values are
//! valid. [`explain`] gives `None` for a schema using a keyword it does not evaluate
//! (`format`, `propertyNames`, `contains`, `unevaluatedProperties`, ...), a `$ref` outside
//! the document, or a draft other than 6, 7, 2019-09 and 2020-12 (`json-schema.org/schema`,
//! the latest, is 2020-12); the caller then words the crate's errors. Sibling properties are listed in name order (Helm's order is Go's map
//! order, which changes from run to run).

use std::cmp::Ordering;

use serde_json::{Map, Value as J};

/// Deepest nesting of schemas (and `$ref`s followed) evaluated before giving up.
const MAX_DEPTH: usize = 64;

/// One error: where in the values, what, and the errors beneath it.
struct Error {
    at: Vec<String>,
    message: String,
    causes: Vec<Error>,
    /// "validation failed" of several errors of one schema (its causes are listed in its
    /// place where it is the whole result).
    group: bool,
    /// A `$ref`'s error: printed only when it has several causes.
    reference: bool,
}

impl Error {
    fn new(at: &[String], message: String) -> Error {
        Error {
            at: at.to_vec(),
            message,
            causes: Vec::new(),
            group: false,
            reference: false,
        }
    }

    fn with(at: &[String], message: &str, causes: Vec<Error>) -> Error {
        Error {
            causes,
            ..Error::new(at, message.to_string())
        }
    }
}

/// Why a schema is left to the crate's wording.
struct Unsupported;

type Res = Result<Option<Error>, Unsupported>;

/// The lines Helm prints under the chart's name for `instance` failing `doc` (each `- at
/// '/path': message`, causes indented two spaces), or `None` when this schema is left to
/// the crate (see the module's doc) or no error was found.
pub(super) fn explain(doc: &J, instance: &J) -> Option<String> {
    let old = super::lone_ref_draft(doc)?;
    let e = Explain { root: doc, old }.validate(doc, instance, &[], 0).ok()??;
    let top = if e.group { e.causes } else { vec![e] };
    let mut out = String::new();
    for e in &top {
        print(e, 0, &mut out);
    }
    Some(out)
}

fn print(e: &Error, indent: usize, out: &mut String) {
    if e.reference && e.causes.len() == 1 {
        print(&e.causes[0], indent, out);
        return;
    }
    let ptr: String =
        e.at.iter()
            .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
            .collect();
    out.push_str(&"  ".repeat(indent));
    out.push_str(&format!("- at {}: {}\n", quote(&ptr), e.message));
    for c in &e.causes {
        print(c, indent + 1, out);
    }
}

/// Keywords that only annotate (or hold subschemas reached through `$ref`).
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "definitions",
    "$defs",
    "readOnly",
    "writeOnly",
    "deprecated",
    "$anchor",
];

/// Keywords evaluated here.
const EVALUATED: &[&str] = &[
    "type",
    "const",
    "enum",
    "$ref",
    "minProperties",
    "maxProperties",
    "required",
    "properties",
    "patternProperties",
    "additionalProperties",
    "dependentRequired",
    "dependencies",
    "dependentSchemas",
    "minItems",
    "maxItems",
    "uniqueItems",
    "items",
    "additionalItems",
    "prefixItems",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "not",
    "allOf",
    "anyOf",
    "oneOf",
    "if",
    "then",
    "else",
];

/// Keywords of the drafts that validate and are not evaluated here.
const OTHERS: &[&str] = &[
    "format",
    "propertyNames",
    "contains",
    "minContains",
    "maxContains",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$recursiveRef",
    "$recursiveAnchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "$vocabulary",
];

struct Explain<'a> {
    root: &'a J,
    /// Draft 6 or 7: a `$ref` stands alone.
    old: bool,
}

impl<'a> Explain<'a> {
    fn validate(&self, s: &'a J, v: &J, at: &[String], depth: usize) -> Res {
        if depth > MAX_DEPTH {
            return Err(Unsupported);
        }
        let m = match s {
            J::Bool(true) => return Ok(None),
            J::Bool(false) => return Ok(Some(Error::new(at, "false schema".into()))),
            J::Object(m) => m,
            _ => return Err(Unsupported),
        };
        for k in m.keys() {
            if OTHERS.contains(&k.as_str()) || (depth > 0 && (k == "$id" || k == "$schema")) {
                return Err(Unsupported);
            }
            debug_assert!(!ANNOTATIONS.contains(&k.as_str()) || !EVALUATED.contains(&k.as_str()));
        }
        if self.old
            && let Some(r) = m.get("$ref")
        {
            // Up to draft 7 a `$ref` stands alone: the keywords beside it are not read.
            return self.reference(r, v, at, depth);
        }
        let t = type_of(v);
        if let Some(types) = m.get("type") {
            let list: Vec<&str> = match types {
                J::String(s) => vec![s.as_str()],
                J::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().ok_or(Unsupported))
                    .collect::<Result<_, _>>()?,
                _ => return Err(Unsupported),
            };
            let matched = list.contains(&t) || (list.contains(&"integer") && t == "number" && is_integer(v));
            if !matched {
                let want: Vec<&str> = ["null", "boolean", "number", "integer", "string", "array", "object"]
                    .into_iter()
                    .filter(|n| list.contains(n))
                    .collect();
                return Ok(Some(Error::new(at, format!("got {t}, want {}", want.join(" or ")))));
            }
        }
        if let Some(c) = m.get("const")
            && !equal(v, c)
        {
            let msg = match c {
                J::Array(_) | J::Object(_) => "'const' failed".to_string(),
                c => format!("value must be {}", display(c)),
            };
            return Ok(Some(Error::new(at, msg)));
        }
        if let Some(e) = m.get("enum") {
            let J::Array(items) = e else { return Err(Unsupported) };
            if !items.iter().any(|i| equal(v, i)) {
                let primitive = items.iter().all(|i| !matches!(i, J::Array(_) | J::Object(_)));
                let msg = if !primitive {
                    "'enum' failed".to_string()
                } else if items.len() == 1 {
                    format!("value must be {}", display(&items[0]))
                } else {
                    let want: Vec<String> = items.iter().map(display).collect();
                    format!("value must be one of {}", want.join(", "))
                };
                return Ok(Some(Error::new(at, msg)));
            }
        }
        let mut errors: Vec<Error> = Vec::new();
        if let Some(r) = m.get("$ref") {
            errors.extend(self.reference(r, v, at, depth)?);
        }
        match v {
            J::Object(obj) => self.object(m, obj, at, depth, &mut errors)?,
            J::Array(arr) => self.array(m, arr, at, depth, &mut errors)?,
            J::String(s) => string(m, s, at, &mut errors)?,
            J::Number(_) => number(m, v, at, &mut errors)?,
            _ => {}
        }
        self.conditions(m, v, at, depth, &mut errors)?;
        Ok(match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(Error {
                group: true,
                ..Error::with(at, "validation failed", errors)
            }),
        })
    }

    /// A `$ref`'s error: "validation failed" over the errors of the schema it names.
    fn reference(&self, r: &J, v: &J, at: &[String], depth: usize) -> Res {
        let J::String(r) = r else { return Err(Unsupported) };
        let target = pointer(self.root, r).ok_or(Unsupported)?;
        Ok(self.validate(target, v, at, depth + 1)?.map(|e| {
            let causes = if e.group { e.causes } else { vec![e] };
            Error {
                reference: true,
                ..Error::with(at, "validation failed", causes)
            }
        }))
    }

    fn child(&self, s: &'a J, v: &J, at: &[String], tok: &str, depth: usize) -> Res {
        let mut at = at.to_vec();
        at.push(tok.to_string());
        self.validate(s, v, &at, depth + 1)
    }

    fn object(
        &self,
        m: &'a Map<String, J>,
        obj: &Map<String, J>,
        at: &[String],
        depth: usize,
        errors: &mut Vec<Error>,
    ) -> Result<(), Unsupported> {
        size_limits(m, at, ("minProperties", "maxProperties"), obj.len(), errors)?;
        if let Some(req) = m.get("required") {
            let missing = self.missing(obj, req)?;
            if !missing.is_empty() {
                errors.push(Error::new(at, required(&missing)));
            }
        }
        // Up to draft 7, `dependencies`: a list of properties or a schema per property.
        if let Some(deps) = m.get("dependencies") {
            let J::Object(deps) = deps else { return Err(Unsupported) };
            if !self.old {
                return Err(Unsupported);
            }
            for (name, dep) in deps {
                if !obj.contains_key(name) {
                    continue;
                }
                if dep.is_array() {
                    let missing = self.missing(obj, dep)?;
                    if !missing.is_empty() {
                        errors.push(Error::new(
                            at,
                            format!("properties {} required, if {} exists", joined(&missing), quote(name)),
                        ));
                    }
                } else {
                    errors.extend(self.validate(dep, &J::Object(obj.clone()), at, depth + 1)?);
                }
            }
        }
        let props = match m.get("properties") {
            None => None,
            Some(J::Object(p)) => Some(p),
            Some(_) => return Err(Unsupported),
        };
        let patterns: Vec<(regex::Regex, &J)> = match m.get("patternProperties") {
            None => Vec::new(),
            Some(J::Object(p)) => p
                .iter()
                .map(|(k, s)| regex::Regex::new(k).map(|r| (r, s)).map_err(|_| Unsupported))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(Unsupported),
        };
        let additional = m.get("additionalProperties");
        let mut not_allowed = Vec::new();
        let mut names: Vec<&String> = obj.keys().collect();
        names.sort();
        for name in names {
            let value = &obj[name];
            let mut evaluated = false;
            if let Some(s) = props.and_then(|p| p.get(name)) {
                evaluated = true;
                errors.extend(self.child(s, value, at, name, depth)?);
            }
            for (re, s) in &patterns {
                if re.is_match(name) {
                    evaluated = true;
                    errors.extend(self.child(s, value, at, name, depth)?);
                }
            }
            match additional {
                Some(_) if evaluated => {}
                None => {}
                Some(J::Bool(false)) => not_allowed.push(name.clone()),
                Some(s) => errors.extend(self.child(s, value, at, name, depth)?),
            }
        }
        if !not_allowed.is_empty() {
            errors.push(Error::new(
                at,
                format!("additional properties {} not allowed", joined(&not_allowed)),
            ));
        }
        if let Some(ds) = m.get("dependentSchemas") {
            let J::Object(ds) = ds else { return Err(Unsupported) };
            if self.old {
                return Err(Unsupported);
            }
            for (name, dep) in ds {
                if obj.contains_key(name) {
                    errors.extend(self.validate(dep, &J::Object(obj.clone()), at, depth + 1)?);
                }
            }
        }
        if let Some(dr) = m.get("dependentRequired") {
            let J::Object(dr) = dr else { return Err(Unsupported) };
            for (name, req) in dr {
                if obj.contains_key(name) {
                    let missing = self.missing(obj, req)?;
                    if !missing.is_empty() {
                        errors.push(Error::new(
                            at,
                            format!("properties {} required, if {} exists", joined(&missing), quote(name)),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn missing(&self, obj: &Map<String, J>, req: &J) -> Result<Vec<String>, Unsupported> {
        let J::Array(req) = req else { return Err(Unsupported) };
        let mut missing = Vec::new();
        for r in req {
            let r = r.as_str().ok_or(Unsupported)?;
            if !obj.contains_key(r) {
                missing.push(r.to_string());
            }
        }
        Ok(missing)
    }

    fn array(
        &self,
        m: &'a Map<String, J>,
        arr: &[J],
        at: &[String],
        depth: usize,
        errors: &mut Vec<Error>,
    ) -> Result<(), Unsupported> {
        size_limits(m, at, ("minItems", "maxItems"), arr.len(), errors)?;
        if m.get("uniqueItems") == Some(&J::Bool(true)) && arr.len() > 1 {
            'dup: for i in 1..arr.len() {
                for j in 0..i {
                    if equal(&arr[i], &arr[j]) {
                        errors.push(Error::new(at, format!("items at {} and {} are equal", int(j), int(i))));
                        break 'dup;
                    }
                }
            }
        }
        let evaluated = if self.old {
            let mut evaluated = 0;
            match m.get("items") {
                None => {}
                Some(J::Array(items)) => {
                    evaluated = items.len().min(arr.len());
                    for (i, item) in arr[..evaluated].iter().enumerate() {
                        errors.extend(self.child(&items[i], item, at, &i.to_string(), depth)?);
                    }
                }
                Some(s) => {
                    for (i, item) in arr.iter().enumerate() {
                        errors.extend(self.child(s, item, at, &i.to_string(), depth)?);
                    }
                    evaluated = arr.len();
                }
            }
            match m.get("additionalItems") {
                None => {}
                Some(J::Bool(false)) if evaluated != arr.len() => {
                    errors.push(Error::new(
                        at,
                        format!("last {} additionalItem(s) not allowed", int(arr.len() - evaluated)),
                    ));
                }
                Some(J::Bool(false)) => {}
                Some(s) => {
                    for (i, item) in arr.iter().enumerate().skip(evaluated) {
                        errors.extend(self.child(s, item, at, &i.to_string(), depth)?);
                    }
                }
            }
            return Ok(());
        } else {
            let prefix = match m.get("prefixItems") {
                None => &[][..],
                Some(J::Array(p)) => p.as_slice(),
                Some(_) => return Err(Unsupported),
            };
            let evaluated = prefix.len().min(arr.len());
            for (i, item) in arr[..evaluated].iter().enumerate() {
                errors.extend(self.child(&prefix[i], item, at, &i.to_string(), depth)?);
            }
            evaluated
        };
        if let Some(s) = m.get("items") {
            if s.is_array() {
                return Err(Unsupported);
            }
            for (i, item) in arr.iter().enumerate().skip(evaluated) {
                errors.extend(self.child(s, item, at, &i.to_string(), depth)?);
            }
        }
        Ok(())
    }

    fn conditions(
        &self,
        m: &'a Map<String, J>,
        v: &J,
        at: &[String],
        depth: usize,
        errors: &mut Vec<Error>,
    ) -> Result<(), Unsupported> {
        let list = |k: &str| -> Result<&'a [J], Unsupported> {
            match m.get(k) {
                None => Ok(&[]),
                Some(J::Array(a)) => Ok(a.as_slice()),
                Some(_) => Err(Unsupported),
            }
        };
        if let Some(n) = m.get("not")
            && self.validate(n, v, at, depth + 1)?.is_none()
        {
            errors.push(Error::new(at, "'not' failed".into()));
        }
        let all: Vec<Error> = list("allOf")?
            .iter()
            .map(|s| self.validate(s, v, at, depth + 1))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        if !all.is_empty() {
            errors.push(Error::with(at, "'allOf' failed", all));
        }
        let any = list("anyOf")?;
        if !any.is_empty() {
            let mut causes = Vec::new();
            let mut matched = false;
            for s in any {
                match self.validate(s, v, at, depth + 1)? {
                    Some(e) => causes.push(e),
                    None => {
                        matched = true;
                        break;
                    }
                }
            }
            if !matched {
                errors.push(Error::with(at, "'anyOf' failed", causes));
            }
        }
        let one = list("oneOf")?;
        if !one.is_empty() {
            let mut causes = Vec::new();
            let mut matched: Option<usize> = None;
            for (i, s) in one.iter().enumerate() {
                match self.validate(s, v, at, depth + 1)? {
                    Some(e) => {
                        if matched.is_none() {
                            causes.push(e);
                        }
                    }
                    None => match matched {
                        None => matched = Some(i),
                        Some(first) => {
                            errors.push(Error::new(
                                at,
                                format!("'oneOf' failed, subschemas {}, {} matched", int(first), int(i)),
                            ));
                            break;
                        }
                    },
                }
            }
            if matched.is_none() {
                errors.push(Error::with(at, "'oneOf' failed, none matched", causes));
            }
        }
        if let Some(cond) = m.get("if") {
            let branch = if self.validate(cond, v, at, depth + 1)?.is_none() {
                m.get("then")
            } else {
                m.get("else")
            };
            if let Some(b) = branch {
                errors.extend(self.validate(b, v, at, depth + 1)?);
            }
        }
        Ok(())
    }
}

/// A size keyword's limit (`minItems`, `maxLength`, ...): a non-negative integer.
fn count(m: &Map<String, J>, k: &str) -> Result<Option<usize>, Unsupported> {
    match m.get(k) {
        None => Ok(None),
        Some(n) => n.as_u64().map(|n| Some(n as usize)).ok_or(Unsupported),
    }
}

/// The errors of a pair of size keywords (`minItems`/`maxItems`, ...) for a size of `len`.
fn size_limits(
    m: &Map<String, J>,
    at: &[String],
    (min_kw, max_kw): (&str, &str),
    len: usize,
    errors: &mut Vec<Error>,
) -> Result<(), Unsupported> {
    if let Some(min) = count(m, min_kw)?
        && len < min
    {
        errors.push(Error::new(at, format!("{min_kw}: got {}, want {}", int(len), int(min))));
    }
    if let Some(max) = count(m, max_kw)?
        && len > max
    {
        errors.push(Error::new(at, format!("{max_kw}: got {}, want {}", int(len), int(max))));
    }
    Ok(())
}

fn string(m: &Map<String, J>, s: &str, at: &[String], errors: &mut Vec<Error>) -> Result<(), Unsupported> {
    let len = s.chars().count();
    size_limits(m, at, ("minLength", "maxLength"), len, errors)?;
    if let Some(p) = m.get("pattern") {
        let p = p.as_str().ok_or(Unsupported)?;
        let re = regex::Regex::new(p).map_err(|_| Unsupported)?;
        if !re.is_match(s) {
            errors.push(Error::new(
                at,
                format!("{} does not match pattern {}", quote(s), quote(p)),
            ));
        }
    }
    Ok(())
}

fn number(m: &Map<String, J>, v: &J, at: &[String], errors: &mut Vec<Error>) -> Result<(), Unsupported> {
    let n = v.as_f64().ok_or(Unsupported)?;
    let limit = |k: &str| -> Result<Option<f64>, Unsupported> {
        match m.get(k) {
            None => Ok(None),
            Some(J::Number(x)) => x.as_f64().map(Some).ok_or(Unsupported),
            Some(_) => Err(Unsupported),
        }
    };
    type Fails = fn(Ordering) -> bool;
    let checks: [(&str, Fails); 4] = [
        ("minimum", |o| o == Ordering::Less),
        ("maximum", |o| o == Ordering::Greater),
        ("exclusiveMinimum", |o| o != Ordering::Greater),
        ("exclusiveMaximum", |o| o != Ordering::Less),
    ];
    for (k, fails) in checks {
        if let Some(l) = limit(k)? {
            let o = n.partial_cmp(&l).ok_or(Unsupported)?;
            if fails(o) {
                errors.push(Error::new(at, format!("{k}: got {}, want {}", float(n), float(l))));
            }
        }
    }
    if let Some(d) = limit("multipleOf")? {
        if d <= 0.0 {
            return Err(Unsupported);
        }
        let q = n / d;
        // Exact only where the quotient is far from the rounding of a near-integer.
        if !q.is_finite() || (q - q.round()).abs() < 1e-9 && q.fract() != 0.0 {
            return Err(Unsupported);
        }
        if q.fract() != 0.0 {
            errors.push(Error::new(
                at,
                format!("multipleOf: got {}, want {}", float(n), float(d)),
            ));
        }
    }
    Ok(())
}

fn type_of(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    }
}

fn is_integer(v: &J) -> bool {
    match v {
        J::Number(n) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn equal(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (J::Array(x), J::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(x, y)),
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

fn pointer<'a>(root: &'a J, r: &str) -> Option<&'a J> {
    let frag = r.strip_prefix('#')?;
    if frag.is_empty() {
        return Some(root);
    }
    let frag = frag.strip_prefix('/')?;
    let mut cur = root;
    for tok in frag.split('/') {
        if tok.contains('%') {
            return None;
        }
        let tok = tok.replace("~1", "/").replace("~0", "~");
        cur = match cur {
            J::Object(m) => m.get(&tok)?,
            J::Array(a) => a.get(tok.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The validator's quoting: Go's `%q` in single quotes.
fn quote(s: &str) -> String {
    let q = ballast_gotemplate::fmt::quote(s);
    let inner = &q[1..q.len() - 1];
    format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
}

fn joined(items: &[String]) -> String {
    items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
}

fn required(missing: &[String]) -> String {
    if missing.len() == 1 {
        format!("missing property {}", quote(&missing[0]))
    } else {
        format!("missing properties {}", joined(missing))
    }
}

/// A schema's value in a message: Go's `%v` of what the validator decoded (a number as its
/// JSON text, null as `<nil>`).
fn display(v: &J) -> String {
    match v {
        J::String(s) => quote(s),
        J::Null => "<nil>".into(),
        J::Array(_) | J::Object(_) => "value".into(),
        other => other.to_string(),
    }
}

/// An integer as the English printer prints `%d`: groups of three digits.
fn int(n: usize) -> String {
    group(&n.to_string())
}

fn group(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A float as the English printer prints `%v`: the shortest digits, in decimal with grouped
/// thousands for exponents from -4 to 5, else as `d.ddd×10ⁿⁿ` (at least two superscript
/// digits).
fn float(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    if !(-4..6).contains(&exp) {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits.clone()
        };
        const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
        let e = format!("{:02}", exp.abs());
        let e: String = e.chars().map(|c| SUP[c.to_digit(10).unwrap_or(0) as usize]).collect();
        let minus = if exp < 0 { "⁻" } else { "" };
        return format!("{sign}{m}×10{minus}{e}");
    }
    let point = exp + 1;
    let (int_part, frac) = if point <= 0 {
        ("0".to_string(), format!("{}{}", "0".repeat((-point) as usize), digits))
    } else if point as usize >= digits.len() {
        (
            format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let mut out = format!("{sign}{}", group(&int_part));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_the_english_printer() {
        let cases = [
            (0.5, "0.5"),
            (100.0, "100"),
            (1000.0, "1,000"),
            (123456.0, "123,456"),
            (999999.0, "999,999"),
            (1e6, "1×10⁰⁶"),
            (1234567.0, "1.234567×10⁰⁶"),
            (1e21, "1×10²¹"),
            (0.0001, "0.0001"),
            (0.00001, "1×10⁻⁰⁵"),
            (1.5e-7, "1.5×10⁻⁰⁷"),
            (12345.678, "12,345.678"),
            (-1e6, "-1×10⁰⁶"),
            (123456789012.0, "1.23456789012×10¹¹"),
        ];
        for (f, want) in cases {
            assert_eq!(float(f), want, "{f}");
        }
        assert_eq!(int(1234567), "1,234,567");
    }

    fn run(schema: &str, values: &str) -> Option<String> {
        explain(
            &serde_json::from_str(schema).unwrap(),
            &serde_json::from_str(values).unwrap(),
        )
    }

    /// Cases checked against helm v4.1.4's output (one sibling order of several).
    #[test]
    fn errors_as_helm_words_them() {
        let s = r##"{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"p": {"type": "integer", "minimum": 5}},
 "properties": {"a": {"not": {"type": "boolean"}}, "u": {"uniqueItems": true}, "r": {"$ref": "#/definitions/p"},
  "r2": {"$ref": "#/definitions/p", "maxLength": 1}, "m": {"multipleOf": 0.5}, "big": {"maximum": 5},
  "e": {"enum": [1, "x", null, true]}, "c": {"const": {"a": 1}}, "t": {"type": "object", "properties": {"x": {"minimum": 1}}},
  "ty": {"type": ["string", "null"], "enum": [1], "pattern": "x"}}}"##;
        let v = r#"{"a": true, "u": [1, 2, 1, 2, 3, 3], "r": "s", "r2": 2, "m": 1.25, "big": 12345678901, "e": 5, "c": 1,
 "t": {"x": 0, "y": 1}, "ty": 3}"#;
        assert_eq!(
            run(s, v).unwrap(),
            "- at '/a': 'not' failed\n\
             - at '/big': maximum: got 1.2345678901×10¹⁰, want 5\n\
             - at '/c': 'const' failed\n\
             - at '/e': value must be one of 1, 'x', <nil>, true\n\
             - at '/m': multipleOf: got 1.25, want 0.5\n\
             - at '/r': got string, want integer\n\
             - at '/r2': minimum: got 2, want 5\n\
             - at '/t/x': minimum: got 0, want 1\n\
             - at '/ty': got number, want null or string\n\
             - at '/u': items at 0 and 2 are equal\n"
        );
        let s = r#"{"properties": {"e": {"type": "number", "oneOf": [{"type": "string"}, {"type": "integer"}],
 "anyOf": [{"type": "boolean"}, {"minimum": 100}]}}, "required": ["b"]}"#;
        assert_eq!(
            run(s, r#"{"e": 1.5}"#).unwrap(),
            "- at '': missing property 'b'\n\
             - at '/e': validation failed\n  \
               - at '/e': 'anyOf' failed\n    \
                 - at '/e': got number, want boolean\n    \
                 - at '/e': minimum: got 1.5, want 100\n  \
               - at '/e': 'oneOf' failed, none matched\n    \
                 - at '/e': got number, want string\n    \
                 - at '/e': got number, want integer\n"
        );
        // Draft 7's `dependencies` (velero's schema), both forms.
        let s = r##"{"$schema": "http://json-schema.org/draft-07/schema#", "dependencies": {"a": ["b", "c"],
 "d": {"oneOf": [{"properties": {"d": {"const": false}}}, {"required": ["e"]}]}}}"##;
        assert_eq!(
            run(s, r#"{"a": 1, "d": true}"#).unwrap(),
            "- at '': properties 'b', 'c' required, if 'a' exists\n\
             - at '': 'oneOf' failed, none matched\n  \
               - at '/d': value must be false\n  \
               - at '': missing property 'e'\n"
        );
        assert!(run(r#"{"properties": {"a": {"format": "email"}}}"#, r#"{"a": "x"}"#).is_none());
        assert!(run(r##"{"properties": {"a": {"$ref": "other.json"}}}"##, r#"{"a": "x"}"#).is_none());
    }
}
