//! The commit message of an ImageUpdateAutomation: its `messageTemplate` run with the data
//! Flux's image-automation-controller (v1 API) gives it.
//!
//! Guarantees:
//! - the data has Flux's shape: `.AutomationObject` (`types.NamespacedName`: `.Name`,
//!   `.Namespace`, prints `namespace/name`), `.Values` (`messageTemplateValues`), and
//!   `.Changed` (`update.Result`): `.Changed.FileChanges` maps each file path to its objects,
//!   `.Changed.Objects` maps each object to its changes (across files; a later file's
//!   changes of the same object replace an earlier one's, as Flux's map does), and
//!   `.Changed.Changes` lists every distinct change once;
//! - the object keys are structs as Flux's `ObjectIdentifier`: `.Kind`, `.APIVersion`, `.Name`,
//!   `.Namespace`, ranged over in Go's sorted order (apiVersion, kind, name, namespace) and
//!   printed as Go prints them (`{{{apps/v1 Deployment} {web prod}}}`); a change is a struct
//!   with `.OldValue`, `.NewValue`, `.Setter`;
//! - sprig's functions are available; templates using fields the v1 API removed (`.Updated`,
//!   `.Changed.ImageResult`) are refused with a message naming the replacement.

use std::collections::BTreeMap;
use std::rc::Rc;

use ballast_gotemplate::{Map, Object, Templates, Value};
use ballast_image::{Change, ObjectId};

/// Flux's default commit message.
pub const DEFAULT_MESSAGE: &str = "Update from image update automation";

/// What one run of the setters changed: per file (relative to the work tree), the changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    /// Changes by file path.
    pub files: BTreeMap<String, Vec<Change>>,
}

/// `.AutomationObject`: prints as `namespace/name`, with fields `Name` and `Namespace`.
struct NamespacedName {
    namespace: String,
    name: String,
}

impl Object for NamespacedName {
    fn type_name(&self) -> String {
        "types.NamespacedName".into()
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Name" => Some(Value::str(&self.name)),
            "Namespace" => Some(Value::str(&self.namespace)),
            "String" => Some(Value::str(&self.fmt_go())),
            _ => None,
        }
    }
    fn fmt_go(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("Name".into(), Value::str(&self.name));
        m.insert("Namespace".into(), Value::str(&self.namespace));
        Value::map(m)
    }
}

/// Flux's `update.ObjectIdentifier` (kyaml's `ResourceIdentifier`: `TypeMeta` + `NameMeta`).
struct ObjectKey(ObjectId);

impl Object for ObjectKey {
    fn type_name(&self) -> String {
        "update.ObjectIdentifier".into()
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let o = &self.0;
        match name {
            "APIVersion" => Some(Value::str(&o.api_version)),
            "Kind" => Some(Value::str(&o.kind)),
            "Name" => Some(Value::str(&o.name)),
            "Namespace" => Some(Value::str(&o.namespace)),
            _ => None,
        }
    }
    fn fmt_go(&self) -> String {
        let o = &self.0;
        format!(
            "{{{{{{{} {}}} {{{} {}}}}}}}",
            o.api_version, o.kind, o.name, o.namespace
        )
    }
    fn to_data(&self) -> Value {
        let o = &self.0;
        let mut m = Map::new();
        for (k, v) in [
            ("apiVersion", &o.api_version),
            ("kind", &o.kind),
            ("name", &o.name),
            ("namespace", &o.namespace),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), Value::str(v));
            }
        }
        Value::map(m)
    }
}

/// Flux's `update.Change`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ChangeValue {
    old_value: String,
    new_value: String,
    setter: String,
}

impl Object for ChangeValue {
    fn type_name(&self) -> String {
        "update.Change".into()
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "OldValue" => Some(Value::str(&self.old_value)),
            "NewValue" => Some(Value::str(&self.new_value)),
            "Setter" => Some(Value::str(&self.setter)),
            _ => None,
        }
    }
    fn fmt_go(&self) -> String {
        format!("{{{} {} {}}}", self.old_value, self.new_value, self.setter)
    }
    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("OldValue".into(), Value::str(&self.old_value));
        m.insert("NewValue".into(), Value::str(&self.new_value));
        m.insert("Setter".into(), Value::str(&self.setter));
        Value::map(m)
    }
}

/// Flux's `update.ObjectChanges`: a map keyed by [`ObjectKey`].
#[derive(Clone, Default)]
struct ObjectChanges(BTreeMap<ObjectId, Vec<ChangeValue>>);

impl ObjectChanges {
    fn changes(list: &[ChangeValue]) -> Value {
        Value::list(list.iter().map(|c| Value::Object(Rc::new(c.clone()))).collect())
    }
}

impl Object for ObjectChanges {
    fn type_name(&self) -> String {
        "update.ObjectChanges".into()
    }
    fn kind(&self) -> &'static str {
        "map"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn fmt_go(&self) -> String {
        let entries: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| {
                let list: Vec<String> = v.iter().map(ChangeValue::fmt_go).collect();
                format!("{}:[{}]", ObjectKey(k.clone()).fmt_go(), list.join(" "))
            })
            .collect();
        format!("map[{}]", entries.join(" "))
    }
    /// encoding/json cannot encode struct keys; the keys are written as Go prints them.
    fn to_data(&self) -> Value {
        Value::map(
            self.0
                .iter()
                .map(|(k, v)| (ObjectKey(k.clone()).fmt_go(), Self::changes(v)))
                .collect(),
        )
    }
    fn keyed_entries(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.0
                .iter()
                .map(|(k, v)| (Value::Object(Rc::new(ObjectKey(k.clone()))), Self::changes(v)))
                .collect(),
        )
    }
}

/// Flux's `update.Result`: field `FileChanges`, methods `Objects` and `Changes`.
struct ResultValue {
    files: BTreeMap<String, ObjectChanges>,
}

impl ResultValue {
    fn new(changed: &Changed) -> Self {
        let mut files = BTreeMap::new();
        for (file, changes) in &changed.files {
            let mut objects = ObjectChanges::default();
            for c in changes {
                objects
                    .0
                    .entry(c.object.clone().unwrap_or_default())
                    .or_default()
                    .push(ChangeValue {
                        old_value: c.old_value.clone(),
                        new_value: c.new_value.clone(),
                        setter: c.setter.clone(),
                    });
            }
            files.insert(file.clone(), objects);
        }
        ResultValue { files }
    }

    fn file_changes(&self) -> Map {
        self.files
            .iter()
            .map(|(f, o)| (f.clone(), Value::Object(Rc::new(o.clone()))))
            .collect()
    }

    fn objects(&self) -> ObjectChanges {
        let mut out = ObjectChanges::default();
        for objects in self.files.values() {
            for (k, v) in &objects.0 {
                out.0.insert(k.clone(), v.clone());
            }
        }
        out
    }

    fn changes(&self) -> Vec<ChangeValue> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for c in self.files.values().flat_map(|o| o.0.values()).flatten() {
            if seen.insert(c.clone()) {
                out.push(c.clone());
            }
        }
        out
    }
}

impl Object for ResultValue {
    fn type_name(&self) -> String {
        "update.Result".into()
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "FileChanges" => Some(Value::map(self.file_changes())),
            "Objects" => Some(Value::Object(Rc::new(self.objects()))),
            "Changes" => Some(ObjectChanges::changes(&self.changes())),
            _ => None,
        }
    }
    fn fmt_go(&self) -> String {
        let files: Vec<String> = self.files.iter().map(|(f, o)| format!("{f}:{}", o.fmt_go())).collect();
        format!("{{map[{}]}}", files.join(" "))
    }
    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "FileChanges".into(),
            Value::map(self.files.iter().map(|(f, o)| (f.clone(), o.to_data())).collect()),
        );
        Value::map(m)
    }
}

/// The commit message: `template` (Flux's default when empty) run with Flux's data.
/// Templates using fields Flux removed (`.Updated`, `.Changed.ImageResult`) are refused.
pub fn commit_message(
    template: Option<&str>,
    automation: (&str, &str),
    values: &BTreeMap<String, String>,
    changed: &Changed,
) -> Result<String, String> {
    let Some(template) = template.filter(|t| !t.trim().is_empty()) else {
        return Ok(DEFAULT_MESSAGE.to_string());
    };
    for removed in [".Updated", ".Changed.ImageResult"] {
        if template.contains(removed) {
            return Err(format!(
                "messageTemplate uses {removed}, which Flux's v1 API removed; use .Changed"
            ));
        }
    }
    let mut data = Map::new();
    data.insert(
        "AutomationObject".into(),
        Value::Object(Rc::new(NamespacedName {
            namespace: automation.0.to_string(),
            name: automation.1.to_string(),
        })),
    );
    data.insert("Changed".into(), Value::Object(Rc::new(ResultValue::new(changed))));
    data.insert(
        "Values".into(),
        Value::map(values.iter().map(|(k, v)| (k.clone(), Value::str(v))).collect()),
    );
    let mut set = Templates::new(Rc::new(ballast_helm::funcs::sprig()));
    set.root_name("commit message");
    set.parse("commit message", template)
        .map_err(|e| format!("messageTemplate: {}", e.message))?;
    set.execute("commit message", &Value::map(data))
        .map_err(|e| format!("messageTemplate: {}", e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(file_line: usize, old: &str, new: &str, kind: &str, name: &str) -> Change {
        Change {
            line: file_line,
            old_value: old.into(),
            new_value: new.into(),
            setter: "ns:app".into(),
            object: Some(ObjectId {
                api_version: "apps/v1".into(),
                kind: kind.into(),
                name: name.into(),
                namespace: "prod".into(),
            }),
        }
    }

    fn sample() -> Changed {
        let mut changed = Changed::default();
        changed.files.insert(
            "apps/deploy.yaml".into(),
            vec![
                change(2, "app:1.0.0", "app:2.0.0", "Deployment", "web"),
                change(9, "app:1.0.0", "app:2.0.0", "CronJob", "nightly"),
            ],
        );
        changed.files.insert(
            "apps/other.yaml".into(),
            vec![change(3, "app:1.0.0", "app:2.0.0", "Deployment", "web")],
        );
        changed
    }

    #[test]
    fn default_and_values_and_automation_object() {
        let values: BTreeMap<String, String> = [("env".to_string(), "prod".to_string())].into();
        let changed = sample();
        assert_eq!(
            commit_message(None, ("ns", "auto"), &values, &changed).unwrap(),
            DEFAULT_MESSAGE
        );
        let t = "{{ .AutomationObject }} {{ .AutomationObject.Name }} ({{ .Values.env }}) {{ upper \"x\" }}";
        assert_eq!(
            commit_message(Some(t), ("ns", "auto"), &values, &changed).unwrap(),
            "ns/auto auto (prod) X"
        );
    }

    #[test]
    fn object_keys_are_structs_with_kind_name_namespace() {
        let values = BTreeMap::new();
        let changed = sample();
        // Flux's documented template: range over files, then objects by struct key.
        let t = "{{ range $filename, $change := .Changed.FileChanges -}}\n\
                 - {{ $filename }}\n\
                 {{- range $resource, $changes := $change }}\n  \
                 - {{ $resource.Kind }} {{ $resource.Namespace }}/{{ $resource.Name }} ({{ $resource.APIVersion }}){{ range $changes }} {{ .OldValue }} -> {{ .NewValue }}{{ end }}\n\
                 {{- end }}\n\
                 {{ end }}";
        assert_eq!(
            commit_message(Some(t), ("ns", "a"), &values, &changed).unwrap(),
            "- apps/deploy.yaml\n  - CronJob prod/nightly (apps/v1) app:1.0.0 -> app:2.0.0\n  \
             - Deployment prod/web (apps/v1) app:1.0.0 -> app:2.0.0\n\
             - apps/other.yaml\n  - Deployment prod/web (apps/v1) app:1.0.0 -> app:2.0.0\n"
        );
        // Objects merges files (one key per object); Changes lists each distinct change once.
        let t = "{{ len .Changed.Objects }} {{ range $o, $c := .Changed.Objects }}[{{ $o }} {{ len $c }}]{{ end }} {{ len .Changed.Changes }} {{ range .Changed.Changes }}{{ . }}{{ end }}";
        assert_eq!(
            commit_message(Some(t), ("ns", "a"), &values, &changed).unwrap(),
            "2 [{{{apps/v1 CronJob} {nightly prod}}} 1][{{{apps/v1 Deployment} {web prod}}} 1] 1 {app:1.0.0 app:2.0.0 ns:app}"
        );
    }

    #[test]
    fn removed_fields_and_bad_templates_are_refused() {
        let values = BTreeMap::new();
        let changed = sample();
        let e = commit_message(Some("{{ .Updated }}"), ("ns", "a"), &values, &changed).unwrap_err();
        assert!(e.contains(".Updated"), "{e}");
        assert!(commit_message(Some("{{ .Nope"), ("ns", "a"), &values, &changed).is_err());
        assert!(commit_message(Some("{{ .Changed.Nope }}"), ("ns", "a"), &values, &changed).is_err());
    }
}
