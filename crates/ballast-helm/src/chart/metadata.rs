//! `Chart.yaml` (and `requirements.yaml`) read into [`Metadata`] as Go's encoding/json fills
//! Helm's structs (keys matched case-insensitively, `null` leaves the zero value, a wrong type
//! is an error naming the field), and validated with Helm's messages.

use std::collections::BTreeMap;

use ballast_gotemplate::Value;

use super::{Dependency, Maintainer, Metadata};

fn kind(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "array",
        Value::Map(_) => "object",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

fn wrong(v: &Value, field: &str, ty: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {field} of type {ty}",
        kind(v)
    )
}

/// A YAML scalar for a Go `string` field: sigs.k8s.io/yaml writes numbers and booleans as
/// their text (floats as float32 `%g`); `None` for lists and maps.
fn scalar_string(v: &Value) -> Option<String> {
    crate::yaml::string_field(v).ok()
}

/// The entries of a JSON object, looked up as encoding/json does: an exact key first, then
/// a case-insensitive one.
struct Obj(BTreeMap<String, Value>);

impl Obj {
    fn new(v: &Value, field: &str, ty: &str) -> Result<Obj, String> {
        match v {
            Value::Map(m) => Ok(Obj(m.borrow().clone())),
            Value::Nil => Ok(Obj(BTreeMap::new())),
            other => Err(wrong(other, field, ty)),
        }
    }
    fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .get(key)
            .or_else(|| self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
    }
    fn string(&self, key: &str, owner: &str) -> Result<String, String> {
        match self.get(key) {
            None | Some(Value::Nil) => Ok(String::new()),
            Some(v) => scalar_string(v).ok_or_else(|| wrong(v, &format!("{owner}.{key}"), "string")),
        }
    }
    fn bool(&self, key: &str, owner: &str) -> Result<bool, String> {
        match self.get(key) {
            None | Some(Value::Nil) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(wrong(other, &format!("{owner}.{key}"), "bool")),
        }
    }
    fn strings(&self, key: &str, owner: &str) -> Result<Vec<String>, String> {
        let field = format!("{owner}.{key}");
        match self.get(key) {
            None | Some(Value::Nil) => Ok(Vec::new()),
            Some(Value::List(l)) => l
                .iter()
                .map(|v| match v {
                    Value::Nil => Ok(String::new()),
                    other => scalar_string(other).ok_or_else(|| wrong(other, &field, "string")),
                })
                .collect(),
            Some(other) => Err(wrong(other, &field, "[]string")),
        }
    }
    fn list(&self, key: &str, owner: &str, ty: &str) -> Result<Vec<Value>, String> {
        match self.get(key) {
            None | Some(Value::Nil) => Ok(Vec::new()),
            Some(Value::List(l)) => Ok(l.as_ref().clone()),
            Some(other) => Err(wrong(other, &format!("{owner}.{key}"), ty)),
        }
    }
}

/// `Chart.yaml` fields over `md` (fields absent from the document are left as they are, as
/// when Go unmarshals `requirements.yaml` into the same struct).
pub fn fill_metadata(md: &mut Metadata, doc: &Value) -> Result<(), String> {
    // Helm first reads the document's `apiVersion` into its loader's `chartBase`: a document
    // that is not a map fails there.
    if !matches!(doc, Value::Map(_) | Value::Nil) {
        return Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type loader.chartBase",
            kind(doc)
        ));
    }
    let o = Obj::new(doc, "Metadata", "v2.Metadata")?;
    let m = "Metadata";
    // Fields are read in the order of their keys: helm reads Chart.yaml as JSON made from a
    // Go map (keys sorted), and reports the first field of the wrong type.
    const KEYS: [&str; 17] = [
        "name",
        "home",
        "version",
        "description",
        "icon",
        "apiVersion",
        "condition",
        "tags",
        "appVersion",
        "kubeVersion",
        "type",
        "sources",
        "keywords",
        "deprecated",
        "annotations",
        "maintainers",
        "dependencies",
    ];
    let mut keys: Vec<&str> = KEYS.into_iter().filter(|k| o.get(k).is_some()).collect();
    keys.sort_unstable();
    for key in keys {
        match key {
            "name" => md.name = o.string(key, m)?,
            "home" => md.home = o.string(key, m)?,
            "version" => md.version = o.string(key, m)?,
            "description" => md.description = o.string(key, m)?,
            "icon" => md.icon = o.string(key, m)?,
            "apiVersion" => md.api_version = o.string(key, m)?,
            "condition" => md.condition = o.string(key, m)?,
            "tags" => md.tags = o.string(key, m)?,
            "appVersion" => md.app_version = o.string(key, m)?,
            "kubeVersion" => md.kube_version = o.string(key, m)?,
            "type" => md.chart_type = o.string(key, m)?,
            "sources" => md.sources = o.strings(key, m)?,
            "keywords" => md.keywords = o.strings(key, m)?,
            "deprecated" => md.deprecated = o.bool(key, m)?,
            "annotations" => md.annotations = annotations(o.get(key))?,
            "maintainers" => {
                md.maintainers = Vec::new();
                for v in o.list(key, m, "[]*v2.Maintainer")? {
                    let mo = Obj::new(&v, "Metadata.maintainers", "v2.Maintainer")?;
                    let mm = "Maintainer.maintainers";
                    // In key order, as above.
                    let email = mo.string("email", mm)?;
                    let name = mo.string("name", mm)?;
                    let url = mo.string("url", mm)?;
                    md.maintainers.push(Maintainer { name, email, url });
                }
            }
            _ => {
                md.dependencies = Vec::new();
                for v in o.list(key, m, "[]*v2.Dependency")? {
                    let d = Obj::new(&v, "Metadata.dependencies", "v2.Dependency")?;
                    let dm = "Dependency.dependencies";
                    // In key order, as above.
                    let alias = d.string("alias", dm)?;
                    let condition = d.string("condition", dm)?;
                    let enabled = d.bool("enabled", dm)?;
                    let import_values = d.list("import-values", dm, "[]interface {}")?;
                    let name = d.string("name", dm)?;
                    let repository = d.string("repository", dm)?;
                    let tags = d.strings("tags", dm)?;
                    let version = d.string("version", dm)?;
                    md.dependencies.push(Dependency {
                        name,
                        version,
                        repository,
                        condition,
                        tags,
                        enabled,
                        import_values,
                        alias,
                    });
                }
            }
        }
    }
    Ok(())
}

/// `annotations`: a map of strings (a null value read as "").
fn annotations(a: Option<&Value>) -> Result<Option<BTreeMap<String, String>>, String> {
    Ok(match a {
        None | Some(Value::Nil) => None,
        Some(Value::Map(map)) => {
            let mut out = BTreeMap::new();
            for (k, v) in map.borrow().iter() {
                let s = match v {
                    Value::Nil => String::new(),
                    other => scalar_string(other).ok_or_else(|| wrong(other, "Metadata.annotations", "string"))?,
                };
                out.insert(k.clone(), s);
            }
            Some(out)
        }
        Some(other) => return Err(wrong(other, "Metadata.annotations", "map[string]string")),
    })
}

/// Non-printable characters removed and whitespace made a space (Helm's `sanitizeString`).
fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// Validates (and sanitizes) metadata as Helm's `Metadata.Validate`; messages start with
/// `validation: `.
pub fn validate(md: &mut Metadata) -> Result<(), String> {
    md.name = sanitize(&md.name);
    md.description = sanitize(&md.description);
    md.home = sanitize(&md.home);
    md.icon = sanitize(&md.icon);
    md.condition = sanitize(&md.condition);
    md.tags = sanitize(&md.tags);
    md.app_version = sanitize(&md.app_version);
    md.kube_version = sanitize(&md.kube_version);
    for s in md.sources.iter_mut().chain(md.keywords.iter_mut()) {
        *s = sanitize(s);
    }
    let v = |m: String| Err(format!("validation: {m}"));
    if md.api_version.is_empty() {
        return v("chart.metadata.apiVersion is required".into());
    }
    if md.name.is_empty() {
        return v("chart.metadata.name is required".into());
    }
    if md.name == "." || md.name == ".." {
        return v(format!("chart.metadata.name {:?} is not allowed", md.name));
    }
    if md.name.contains('/') {
        return v(format!("chart.metadata.name {:?} is invalid", md.name));
    }
    if md.version.is_empty() {
        return v("chart.metadata.version is required".into());
    }
    if crate::semver::Version::parse(&md.version).is_err() {
        return v(format!("chart.metadata.version {:?} is invalid", md.version));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return v("chart.metadata.type must be application or library".into());
    }
    for m in &mut md.maintainers {
        m.name = sanitize(&m.name);
        m.email = sanitize(&m.email);
        m.url = sanitize(&m.url);
    }
    let mut seen = std::collections::BTreeSet::new();
    for d in &mut md.dependencies {
        d.name = sanitize(&d.name);
        d.version = sanitize(&d.version);
        d.repository = sanitize(&d.repository);
        d.condition = sanitize(&d.condition);
        for t in &mut d.tags {
            *t = sanitize(t);
        }
        if !d.alias.is_empty()
            && !d
                .alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return v(format!(
                "dependency {:?} has disallowed characters in the alias",
                d.name
            ));
        }
        let key = if d.alias.is_empty() {
            d.name.clone()
        } else {
            d.alias.clone()
        };
        if !seen.insert(key.clone()) {
            return v(format!("more than one dependency with name or alias {key:?}"));
        }
    }
    Ok(())
}
