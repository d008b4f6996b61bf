//! Field specifications: which fields of which kinds a builtin transformer touches. The defaults
//! (`builtin_fieldspecs.yaml`) hold kustomize v5.7.1's tables; a kustomization's
//! `configurations:` files add to them in the same schema, and so do the `fieldSpecs` of builtin
//! transformer configurations.

use std::sync::OnceLock;

use serde_json::{Value, json};

/// Selects objects by group, version and kind; an empty part selects any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    fn parse(v: &Value) -> Gvk {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Gvk {
            group: s("group"),
            version: s("version"),
            kind: s("kind"),
        }
    }

    /// Whether an object of `(group, version, kind)` is selected.
    pub fn selects(&self, group: &str, version: &str, kind: &str) -> bool {
        (self.group.is_empty() || self.group == group)
            && (self.version.is_empty() || self.version == version)
            && (self.kind.is_empty() || self.kind == kind)
    }

    pub fn selects_obj(&self, obj: &Value) -> bool {
        let (group, version) = group_version(obj);
        self.selects(group, version, obj["kind"].as_str().unwrap_or_default())
    }
}

/// `(group, version)` of an object's apiVersion.
pub(crate) fn group_version(obj: &Value) -> (&str, &str) {
    let av = obj["apiVersion"].as_str().unwrap_or_default();
    match av.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", av),
    }
}

/// One field specification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldSpec {
    pub gvk: Gvk,
    pub path: String,
    pub create: bool,
}

impl FieldSpec {
    pub fn new(path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            gvk: Gvk::default(),
            path: path.to_string(),
            create,
        }
    }

    fn parse(v: &Value) -> Result<FieldSpec, String> {
        let path = v["path"].as_str().ok_or("a field spec needs a path")?;
        Ok(FieldSpec {
            gvk: Gvk::parse(v),
            path: path.to_string(),
            create: v["create"].as_bool().unwrap_or(false),
        })
    }

    /// The path's fields: split on `/`, where `\/` is a literal slash.
    pub fn segments(&self) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut chars = self.path.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'/') => {
                    chars.next();
                    out.last_mut().expect("one segment").push('/');
                }
                '/' => out.push(String::new()),
                c => out.last_mut().expect("one segment").push(c),
            }
        }
        out
    }
}

/// A kind whose renamed objects are followed by the fields listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NameBackRef {
    pub target: Gvk,
    pub specs: Vec<FieldSpec>,
}

/// The field specifications of every builtin transformer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Config {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackRef>,
}

pub(crate) fn parse_specs(v: &Value) -> Result<Vec<FieldSpec>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(FieldSpec::parse).collect(),
        _ => Err("expected a list of field specs".into()),
    }
}

/// Adds `new` to `specs` unless a spec with the same selector and path is there already.
fn merge_specs(specs: &mut Vec<FieldSpec>, new: &[FieldSpec]) -> Result<(), String> {
    for fs in new {
        match specs.iter().find(|s| s.gvk == fs.gvk && s.path == fs.path) {
            Some(s) if s.create != fs.create => {
                return Err(format!("conflicting fieldspecs for path {}", fs.path));
            }
            Some(_) => {}
            None => specs.push(fs.clone()),
        }
    }
    Ok(())
}

impl Config {
    /// kustomize's default tables.
    pub fn builtin() -> &'static Config {
        static BUILTIN: OnceLock<Config> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let doc = crate::yaml::parse_stream(include_str!("builtin_fieldspecs.yaml"))
                .expect("builtin field specs parse")
                .into_iter()
                .next()
                .expect("one document");
            Config::parse(&doc).expect("builtin field specs are valid")
        })
    }

    /// A configuration file (`configurations:`), in kustomize's schema.
    pub fn parse(v: &Value) -> Result<Config, String> {
        if !v.is_object() && !v.is_null() {
            return Err("expected a mapping of transformer names to field specs".into());
        }
        let specs = |key: &str| parse_specs(&v[key]).map_err(|e| format!("{key}: {e}"));
        let mut name_reference = Vec::new();
        for (i, nr) in v["nameReference"].as_array().into_iter().flatten().enumerate() {
            let specs = parse_specs(&nr["fieldSpecs"]).map_err(|e| format!("nameReference[{i}]: {e}"))?;
            name_reference.push(NameBackRef {
                target: Gvk::parse(nr),
                specs,
            });
        }
        Ok(Config {
            name_prefix: specs("namePrefix")?,
            name_suffix: specs("nameSuffix")?,
            namespace: specs("namespace")?,
            common_labels: specs("commonLabels")?,
            template_labels: specs("templateLabels")?,
            labels: specs("labels")?,
            common_annotations: specs("commonAnnotations")?,
            var_reference: specs("varReference")?,
            images: specs("images")?,
            replicas: specs("replicas")?,
            name_reference,
        })
    }

    /// Adds the specs of `other` (kustomize merges configurations this way).
    pub fn merge(&mut self, other: &Config) -> Result<(), String> {
        merge_specs(&mut self.name_prefix, &other.name_prefix)?;
        merge_specs(&mut self.name_suffix, &other.name_suffix)?;
        merge_specs(&mut self.namespace, &other.namespace)?;
        merge_specs(&mut self.common_labels, &other.common_labels)?;
        merge_specs(&mut self.template_labels, &other.template_labels)?;
        merge_specs(&mut self.labels, &other.labels)?;
        merge_specs(&mut self.common_annotations, &other.common_annotations)?;
        merge_specs(&mut self.var_reference, &other.var_reference)?;
        merge_specs(&mut self.images, &other.images)?;
        merge_specs(&mut self.replicas, &other.replicas)?;
        for nr in &other.name_reference {
            match self.name_reference.iter_mut().find(|n| n.target == nr.target) {
                Some(n) => merge_specs(&mut n.specs, &nr.specs)?,
                None => self.name_reference.push(nr.clone()),
            }
        }
        Ok(())
    }
}

/// Calls `set` on the value at `spec`'s path in `obj` (through every item of a list on the way)
/// if `obj` is of a kind the spec selects. With `spec.create` and a `leaf` to create, missing
/// maps on the way are created, and a missing last field is created as `leaf`.
pub(crate) fn apply(
    obj: &mut Value,
    spec: &FieldSpec,
    leaf: Option<&Value>,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    if !spec.gvk.selects_obj(obj) {
        return Ok(());
    }
    let segs = spec.segments();
    walk(obj, &segs, spec.create && leaf.is_some(), leaf, set)
}

fn walk(
    node: &mut Value,
    path: &[String],
    create: bool,
    leaf: Option<&Value>,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return set(node);
    };
    match node {
        Value::Array(items) => {
            for item in items {
                walk(item, path, create, leaf, set)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let (name, is_seq) = match first.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (first.as_str(), false),
            };
            let missing = map.get(name).is_none_or(Value::is_null);
            if missing {
                if !create || is_seq {
                    return Ok(());
                }
                let new = if rest.is_empty() {
                    match leaf {
                        Some(l) => l.clone(),
                        None => return Ok(()),
                    }
                } else {
                    json!({})
                };
                map.insert(name.to_string(), new);
            }
            let child = map.get_mut(name).expect("present");
            walk(child, rest, create, leaf, set)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_load() {
        let c = Config::builtin();
        assert_eq!(c.name_prefix.len(), 1);
        assert!(c.common_labels.len() > 20);
        assert!(c.var_reference.len() > 50);
        assert!(
            c.name_reference
                .iter()
                .any(|n| n.target.kind == "ClusterRole" && n.specs.iter().any(|s| s.path == "roleRef/name"))
        );
        let fs = c
            .name_reference
            .iter()
            .flat_map(|n| &n.specs)
            .find(|s| s.path.contains("fastcgi"))
            .unwrap();
        assert_eq!(
            fs.segments(),
            [
                "metadata",
                "annotations",
                "nginx.ingress.kubernetes.io/fastcgi-params-configmap"
            ]
        );
    }

    #[test]
    fn apply_walks_lists_and_creates() {
        let mut obj = json!({"kind": "Deployment", "apiVersion": "apps/v1",
            "spec": {"template": {"spec": {"containers": [{"image": "a"}, {"image": "b"}]}}}});
        let spec = FieldSpec::new("spec/template/spec/containers[]/image", true);
        let mut seen = Vec::new();
        apply(&mut obj, &spec, None, &mut |v| {
            seen.push(v.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [json!("a"), json!("b")]);
        let spec = FieldSpec::new("spec/selector/matchLabels", true);
        apply(&mut obj, &spec, Some(&json!({})), &mut |v| {
            v["x"] = json!("y");
            Ok(())
        })
        .unwrap();
        assert_eq!(obj["spec"]["selector"]["matchLabels"]["x"], "y");
    }
}
