//! Setter markers: `image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "ns:policy"}` and its
//! `:tag`, `:name` and `:digest` forms, in any YAML file.
//!
//! Guarantee: only the bytes of the marked scalar change. Every other byte of the file —
//! comments, quoting, indentation, key order, blank lines, `---` separators, line endings —
//! is kept. A quoted value stays quoted the same way; a plain value that would no longer read
//! as a string (a tag such as `1.10`, which YAML reads as the number 1.1) is double-quoted.

use std::ops::Range;

/// The image a policy chose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageRef {
    /// Repository name (`ghcr.io/org/app`).
    pub name: String,
    /// Tag (`1.2.3`).
    pub tag: String,
    /// Manifest digest (`sha256:...`), when reflected.
    pub digest: Option<String>,
}

impl ImageRef {
    /// `name:tag`, or `name:tag@digest` when the digest is known (Flux's full form).
    pub fn full(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}:{}@{d}", self.name, self.tag),
            None => format!("{}:{}", self.name, self.tag),
        }
    }
}

/// The object a change is in (from its document's `apiVersion`, `kind` and `metadata`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
}

/// One value changed by a setter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// 1-based line number.
    pub line: usize,
    /// The value before.
    pub old_value: String,
    /// The value written.
    pub new_value: String,
    /// The setter as written in the marker (`ns:policy` or `ns:policy:tag`).
    pub setter: String,
    /// The object the value is in, when the document names one.
    pub object: Option<ObjectId>,
}

/// Why a file could not be updated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct SetterError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The literal every marker holds: files without it are not parsed.
pub const MARKER: &str = "\"$imagepolicy\"";

/// A parsed marker: policy namespace and name, and which part of the image it sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// Namespace of the ImagePolicy.
    pub namespace: String,
    /// Name of the ImagePolicy.
    pub name: String,
    /// `None` for the full image, or `tag`, `name`, `digest`.
    pub field: Option<String>,
}

/// Rewrites every marked value in `text` whose policy `lookup` knows. Returns the new text and
/// the changes (empty when nothing changed: the text is then equal to the input).
pub fn update(
    text: &str,
    lookup: impl Fn(&str, &str) -> Option<ImageRef>,
) -> Result<(String, Vec<Change>), SetterError> {
    if !text.contains(MARKER) {
        return Ok((text.to_string(), Vec::new()));
    }
    let mut out = String::with_capacity(text.len());
    let mut changes = Vec::new();
    let mut block: Option<usize> = None; // indentation of the key owning a block scalar
    let mut doc = DocumentScan::default();
    let mut pending: Vec<usize> = Vec::new(); // changes waiting for their document's identity
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(owner) = block {
            if line.trim().is_empty() || indent > owner {
                out.push_str(raw);
                continue;
            }
            block = None;
        }
        if line == "---" || line.starts_with("--- ") || line == "..." {
            for i in pending.drain(..) {
                let c: &mut Change = &mut changes[i];
                c.object = doc.id();
            }
            doc = DocumentScan::default();
            out.push_str(raw);
            continue;
        }
        doc.see(line, indent);
        let (content, comment) = split_comment(line);
        if opens_block_scalar(content) {
            block = Some(indent);
        }
        let Some(marker) = comment.and_then(parse_marker) else {
            out.push_str(raw);
            continue;
        };
        let Some(image) = lookup(&marker.namespace, &marker.name) else {
            out.push_str(raw);
            continue;
        };
        let new_value = match marker.field.as_deref() {
            None => image.full(),
            Some("tag") => image.tag.clone(),
            Some("name") => image.name.clone(),
            Some("digest") => match &image.digest {
                Some(d) => d.clone(),
                None => {
                    out.push_str(raw);
                    continue;
                }
            },
            Some(other) => {
                return Err(SetterError {
                    line: line_no,
                    reason: format!("unknown setter field {other:?} (tag, name or digest)"),
                });
            }
        };
        let Some((range, style)) = scalar_range(content) else {
            return Err(SetterError {
                line: line_no,
                reason: "an $imagepolicy marker must follow a scalar value on the same line".into(),
            });
        };
        let old_value = unquote(&content[range.clone()], style);
        if old_value == new_value {
            out.push_str(raw);
            continue;
        }
        let written = quote(&new_value, style);
        out.push_str(&line[..range.start]);
        out.push_str(&written);
        out.push_str(&raw[range.end..]);
        let setter = match &marker.field {
            Some(f) => format!("{}:{}:{f}", marker.namespace, marker.name),
            None => format!("{}:{}", marker.namespace, marker.name),
        };
        pending.push(changes.len());
        changes.push(Change {
            line: line_no,
            old_value,
            new_value,
            setter,
            object: None,
        });
    }
    for i in pending {
        changes[i].object = doc.id();
    }
    Ok((out, changes))
}

/// Reads a marker comment (`# {"$imagepolicy": "ns:name[:field]"}`).
pub fn parse_marker(comment: &str) -> Option<Marker> {
    let body = comment.trim_start_matches('#').trim();
    let inner = body.strip_prefix('{')?.strip_suffix('}')?.trim();
    let rest = inner.strip_prefix(MARKER)?.trim_start().strip_prefix(':')?.trim();
    let value = rest.strip_prefix('"')?.strip_suffix('"')?;
    let mut parts = value.split(':');
    let namespace = parts.next().filter(|s| !s.is_empty())?.to_string();
    let name = parts.next().filter(|s| !s.is_empty())?.to_string();
    let field = parts.next().map(str::to_string);
    if parts.next().is_some() {
        return None;
    }
    Some(Marker { namespace, name, field })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
}

/// Splits a line into content and its trailing comment (`#` after whitespace, outside quotes).
pub(crate) fn split_line(line: &str) -> (&str, Option<&str>) {
    split_comment(line)
}

/// The string a scalar's text holds (quotes removed and unescaped).
pub(crate) fn unquote_text(text: &str) -> String {
    match text.as_bytes().first() {
        Some(b'"') => unquote(text, Style::Double),
        Some(b'\'') => unquote(text, Style::Single),
        _ => text.to_string(),
    }
}

/// `value` written as a scalar quoted the way `old` was (plain when `old` is `None` or plain;
/// double-quoted when plain would not read back as the same string).
pub(crate) fn quote_like(value: &str, old: Option<&str>) -> String {
    let style = match old.and_then(|o| o.as_bytes().first()) {
        Some(b'"') => Style::Double,
        Some(b'\'') => Style::Single,
        _ => Style::Plain,
    };
    quote(value, style)
}

fn split_comment(line: &str) -> (&str, Option<&str>) {
    let bytes = line.as_bytes();
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'\\' if double => i += 1,
            b'#' if !single && !double && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') => {
                return (&line[..i], Some(&line[i..]));
            }
            _ => {}
        }
        i += 1;
    }
    (line, None)
}

/// True when the content ends with a block scalar indicator (`key: |`, `- >-`, `key: |2+`).
fn opens_block_scalar(content: &str) -> bool {
    let t = content.trim_end();
    let last = t.rsplit([' ', '\t']).next().unwrap_or("");
    let head_ok = t.len() == last.len() || t[..t.len() - last.len()].trim_end().ends_with([':', '-']);
    head_ok
        && (last.starts_with('|') || last.starts_with('>'))
        && last[1..].chars().all(|c| c.is_ascii_digit() || c == '+' || c == '-')
}

/// The byte range of the scalar value in `content` (a `key: value`, `- value` or
/// `- key: value` line) and its quoting.
fn scalar_range(content: &str) -> Option<(Range<usize>, Style)> {
    let end = content.trim_end().len();
    // Skip indentation and sequence dashes.
    let mut start = 0;
    loop {
        let rest = &content[start..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        start += rest.len() - trimmed.len();
        if trimmed.starts_with("- ") || trimmed == "-" {
            start += 1;
        } else {
            break;
        }
    }
    // A mapping key: the first `: ` (or a trailing `:`) outside quotes.
    if let Some(colon) = key_separator(&content[start..end]) {
        start += colon + 1;
        let rest = &content[start..end];
        start += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }
    if start >= end {
        return None;
    }
    let value = &content[start..end];
    let style = match value.as_bytes()[0] {
        b'"' => Style::Double,
        b'\'' => Style::Single,
        b'{' | b'[' | b'&' | b'*' | b'!' | b'|' | b'>' => return None,
        _ => Style::Plain,
    };
    Some((start..end, style))
}

/// Offset of the `:` ending a mapping key in `s` (outside quotes), if any.
fn key_separator(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'\\' if double => i += 1,
            b':' if !single && !double && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t') => {
                return Some(i);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn unquote(text: &str, style: Style) -> String {
    match style {
        Style::Plain => text.to_string(),
        Style::Single => text
            .strip_prefix('\'')
            .and_then(|t| t.strip_suffix('\''))
            .unwrap_or(text)
            .replace("''", "'"),
        Style::Double => {
            let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
            inner.replace("\\\"", "\"").replace("\\\\", "\\")
        }
    }
}

fn quote(value: &str, style: Style) -> String {
    match style {
        Style::Single => format!("'{}'", value.replace('\'', "''")),
        Style::Double => format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")),
        Style::Plain if plain_reads_as_string(value) => value.to_string(),
        Style::Plain => format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

/// True when `value`, written plain, still reads as the same string in YAML (1.1 and 1.2):
/// not a number, boolean or null, and no character that would end or change the scalar.
fn plain_reads_as_string(value: &str) -> bool {
    if value.is_empty()
        || value.contains(": ")
        || value.contains(" #")
        || value.ends_with(':')
        || value.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace())
        || value.ends_with(char::is_whitespace)
    {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    let special = [
        "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "+.inf", "-.inf", ".nan",
    ];
    if special.contains(&lower.as_str()) {
        return false;
    }
    let digits = value.trim_start_matches(['+', '-']).replace('_', "");
    let numeric = !digits.is_empty()
        && (digits.parse::<f64>().is_ok()
            || digits.starts_with("0x")
            || digits.starts_with("0o")
            || (digits.contains(':') && digits.split(':').all(|p| p.chars().all(|c| c.is_ascii_digit()))));
    !numeric
}

/// What a document says about its object, read from its top-level lines.
#[derive(Default)]
struct DocumentScan {
    api_version: String,
    kind: String,
    name: String,
    namespace: String,
    in_metadata: Option<usize>,
}

impl DocumentScan {
    fn see(&mut self, line: &str, indent: usize) {
        let (content, _) = split_comment(line);
        let content = content.trim_end();
        if content.trim().is_empty() {
            return;
        }
        if indent == 0 {
            self.in_metadata = None;
            if let Some(v) = content.strip_prefix("apiVersion:") {
                self.api_version = scalar_text(v);
            } else if let Some(v) = content.strip_prefix("kind:") {
                self.kind = scalar_text(v);
            } else if content == "metadata:" {
                self.in_metadata = Some(usize::MAX);
            }
            return;
        }
        if let Some(child) = self.in_metadata {
            let child = if child == usize::MAX { indent } else { child };
            self.in_metadata = Some(child);
            if indent != child {
                return;
            }
            let t = content.trim_start();
            if let Some(v) = t.strip_prefix("name:") {
                self.name = scalar_text(v);
            } else if let Some(v) = t.strip_prefix("namespace:") {
                self.namespace = scalar_text(v);
            }
        }
    }

    fn id(&self) -> Option<ObjectId> {
        (!self.kind.is_empty() || !self.name.is_empty()).then(|| ObjectId {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
        })
    }
}

fn scalar_text(v: &str) -> String {
    unquote_text(v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies(ns: &str, name: &str) -> Option<ImageRef> {
        match (ns, name) {
            ("flux-system", "podinfo") => Some(ImageRef {
                name: "ghcr.io/stefanprodan/podinfo".into(),
                tag: "6.5.1".into(),
                digest: None,
            }),
            ("apps", "web") => Some(ImageRef {
                name: "registry.example/web".into(),
                tag: "1.10".into(),
                digest: Some("sha256:abc".into()),
            }),
            _ => None,
        }
    }

    #[test]
    fn only_the_marked_values_change_every_other_byte_kept() {
        let input = "# a deployment\r\n---\r\napiVersion: apps/v1\r\nkind: Deployment\r\nmetadata:\r\n  name:   podinfo   # odd spacing\r\n  namespace: 'demo'\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n        -   name: podinfo\r\n            image: ghcr.io/stefanprodan/podinfo:6.0.0    # {\"$imagepolicy\": \"flux-system:podinfo\"}\r\n        - image: \"ghcr.io/x/sidecar:1\" # {\"$imagepolicy\": \"other:unknown\"}\r\n\r\n\r\n# trailing comment\r\n";
        let (out, changes) = update(input, policies).unwrap();
        let expected = input.replace("podinfo:6.0.0 ", "podinfo:6.5.1 ");
        assert_eq!(out, expected);
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!(
            (c.line, c.old_value.as_str(), c.new_value.as_str()),
            (
                13,
                "ghcr.io/stefanprodan/podinfo:6.0.0",
                "ghcr.io/stefanprodan/podinfo:6.5.1"
            )
        );
        assert_eq!(c.setter, "flux-system:podinfo");
        let id = c.object.clone().unwrap();
        assert_eq!(
            (id.kind.as_str(), id.name.as_str(), id.namespace.as_str()),
            ("Deployment", "podinfo", "demo")
        );
    }

    #[test]
    fn tag_name_and_digest_fields_keep_their_quoting() {
        let input = "images:\n- name: web\n  newName: 'old/web' # {\"$imagepolicy\": \"apps:web:name\"}\n  newTag: \"1.9\" # {\"$imagepolicy\": \"apps:web:tag\"}\n  digest: sha256:000 # {\"$imagepolicy\":\"apps:web:digest\"}\nimage:\n  tag: 1.9 # {\"$imagepolicy\": \"apps:web:tag\"}\n  full: x # {\"$imagepolicy\": \"apps:web\"}\n";
        let (out, changes) = update(input, policies).unwrap();
        assert_eq!(
            out,
            "images:\n- name: web\n  newName: 'registry.example/web' # {\"$imagepolicy\": \"apps:web:name\"}\n  newTag: \"1.10\" # {\"$imagepolicy\": \"apps:web:tag\"}\n  digest: sha256:abc # {\"$imagepolicy\":\"apps:web:digest\"}\nimage:\n  tag: \"1.10\" # {\"$imagepolicy\": \"apps:web:tag\"}\n  full: registry.example/web:1.10@sha256:abc # {\"$imagepolicy\": \"apps:web\"}\n"
        );
        assert_eq!(changes.len(), 5);
        assert!(changes.iter().all(|c| c.object.is_none()));
    }

    #[test]
    fn unchanged_files_are_returned_as_they_were() {
        let input = "image: ghcr.io/stefanprodan/podinfo:6.5.1 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n";
        let (out, changes) = update(input, policies).unwrap();
        assert_eq!(out, input);
        assert!(changes.is_empty());
        let (out, _) = update("no markers: here\n", policies).unwrap();
        assert_eq!(out, "no markers: here\n");
    }

    #[test]
    fn markers_inside_block_scalars_are_text_not_setters() {
        let input = "data:\n  notes: |\n    image: a:1 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n  image: a:1 # {\"$imagepolicy\": \"flux-system:podinfo\"}\n";
        let (out, changes) = update(input, policies).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].line, 4);
        assert!(out.contains("    image: a:1 #"));
    }

    #[test]
    fn objects_are_named_per_document() {
        let input = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  image: a:1 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    name: not-this\n  name: two\ndata:\n  image: a:1 # {\"$imagepolicy\": \"flux-system:podinfo:tag\"}\n";
        let (_, changes) = update(input, policies).unwrap();
        let names: Vec<String> = changes.iter().map(|c| c.object.clone().unwrap().name).collect();
        assert_eq!(names, ["one", "two"]);
    }

    #[test]
    fn bad_markers() {
        assert!(parse_marker("# {\"$imagepolicy\": \"only-name\"}").is_none());
        assert!(parse_marker("# {\"$imagepolicy\": \"a:b:c:d\"}").is_none());
        assert_eq!(
            parse_marker("#{\"$imagepolicy\":\"a:b:tag\"}"),
            Some(Marker {
                namespace: "a".into(),
                name: "b".into(),
                field: Some("tag".into())
            })
        );
        let err = update("x: 1 # {\"$imagepolicy\": \"apps:web:size\"}\n", policies).unwrap_err();
        assert_eq!(err.line, 1);
        let err = update("x: # {\"$imagepolicy\": \"apps:web\"}\n", policies).unwrap_err();
        assert!(err.reason.contains("scalar"));
    }

    #[test]
    fn plain_values_that_would_change_type_are_quoted() {
        for v in ["1.10", "10", "true", "null", "1e3", "0x1f", "-.inf", ""] {
            assert!(!plain_reads_as_string(v), "{v}");
        }
        for v in ["1.10-alpine", "v1.10", "ghcr.io/a/b:1.0", "sha256:abc"] {
            assert!(plain_reads_as_string(v), "{v}");
        }
    }
}
