//! `images:` of a kustomization, edited as `kustomize edit set image` edits them, in place.
//!
//! Same grammar and result as kustomize v5 (`name=newName:tag@digest`, `name:tag`,
//! `name@digest`, `name=newName`; `*` keeps the part already in the file; an entry for an
//! existing name is replaced, so parts not given are removed). Unlike kustomize, the file is not
//! re-serialised: lines of other keys, comments and quoting stay as they were, an updated entry
//! keeps its place and a new entry is inserted before the first entry whose name sorts after
//! it (kustomize sorts the whole list by name).

use crate::setters::quote_like;

/// One `set image` argument, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageOverride {
    /// The image name to match (`name`).
    pub name: String,
    /// `newName` (`*`: keep the file's).
    pub new_name: String,
    /// `newTag` (`*`: keep the file's).
    pub new_tag: String,
    /// `digest` (`*`: keep the file's).
    pub digest: String,
}

/// Why an argument or the file cannot be handled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    /// Not one of the accepted forms.
    #[error(
        "invalid image {0:?}: use NAME=NEWNAME:TAG, NAME=NEWNAME@DIGEST, NAME=NEWNAME:TAG@DIGEST, NAME=NEWNAME, NAME:TAG, NAME:TAG@DIGEST or NAME@DIGEST"
    )]
    Argument(String),
    /// A tag with characters a tag cannot hold.
    #[error("invalid tag {tag:?} in {arg:?}: a tag holds only letters, digits, '.', '_' and '-' (or '*')")]
    Tag {
        /// The argument.
        arg: String,
        /// The tag.
        tag: String,
    },
    /// The `images:` value is not a block list of mappings.
    #[error("line {line}: images must be a block list (`- name: ...`) to be edited in place")]
    Shape {
        /// 1-based line.
        line: usize,
    },
}

/// (name, tag, digest) of an image reference, as kustomize splits it: `:` and `@` are looked
/// for after the first `/`, so a registry's `host:port` is not a tag.
pub fn split_image(image: &str) -> (&str, &str, &str) {
    let start = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[start..];
    let at = search.find('@').map(|i| i + start);
    let colon = search.find(':').map(|i| i + start);
    match (colon, at) {
        (None, None) => (image, "", ""),
        (Some(c), Some(d)) if c < d => (&image[..c], &image[c + 1..d], &image[d + 1..]),
        (_, Some(d)) => (&image[..d], "", &image[d + 1..]),
        (Some(c), None) => (&image[..c], &image[c + 1..], ""),
    }
}

/// Parses a `set image` argument.
pub fn parse_override(arg: &str) -> Result<ImageOverride, EditError> {
    let (key, value) = match arg.split_once('=') {
        Some((k, v)) => (Some(k), v),
        None => (None, arg),
    };
    let (name, tag, digest) = split_image(value);
    if key.is_none() && name == arg {
        return Err(EditError::Argument(arg.to_string()));
    }
    if key.is_some_and(str::is_empty) || name.is_empty() {
        return Err(EditError::Argument(arg.to_string()));
    }
    if !(tag == "*" || tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))) {
        return Err(EditError::Tag {
            arg: arg.to_string(),
            tag: tag.to_string(),
        });
    }
    Ok(match key {
        None => ImageOverride {
            name: name.to_string(),
            new_tag: tag.to_string(),
            digest: digest.to_string(),
            ..Default::default()
        },
        Some(k) => ImageOverride {
            name: k.to_string(),
            new_name: name.to_string(),
            new_tag: tag.to_string(),
            digest: digest.to_string(),
        },
    })
}

const FIELDS: [&str; 3] = ["newName", "newTag", "digest"];

/// One entry of the list as found in the file.
struct Entry {
    /// Line index of the `- ` line.
    first: usize,
    /// One past its last line (trailing blank and comment lines excluded).
    end: usize,
    /// Column of its keys.
    key_indent: usize,
    name: String,
    /// Line index of its `name:`.
    name_line: usize,
    /// (field, line index, value) of `newName`, `newTag`, `digest`.
    fields: Vec<(String, usize, String)>,
}

/// Applies `overrides` to the kustomization `text`; returns the new text (equal to `text`
/// when nothing changed).
pub fn set_images(text: &str, overrides: &[ImageOverride]) -> Result<String, EditError> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let images_at = lines.iter().position(|l| {
        let l = l.trim_end();
        l == "images:" || l.starts_with("images: ") || l.starts_with("images:\t")
    });
    let Some(images_at) = images_at else {
        // No list yet: append one, sorted by name, as kustomize writes it.
        let mut sorted: Vec<&ImageOverride> = overrides.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        sorted.dedup_by(|a, b| a.name == b.name);
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(&format!("images:{eol}"));
        for o in sorted {
            out.push_str(&new_entry(&o.name, &resolve(o, None), 0, eol));
        }
        return Ok(out);
    };
    let after_key = lines[images_at].trim_end()["images:".len()..].trim().to_string();
    let after_key = after_key.split(" #").next().unwrap_or("").trim().to_string();
    if after_key == "[]" {
        lines[images_at] = format!("images:{eol}");
    } else if !after_key.is_empty() {
        return Err(EditError::Shape { line: images_at + 1 });
    }
    for o in overrides {
        let entries = scan(&lines, images_at)?;
        let dash_indent = entries.first().map(|e| e.key_indent - 2).unwrap_or(0);
        match entries.iter().find(|e| e.name == o.name) {
            Some(e) => {
                let current = current_values(e);
                let want = resolve(o, Some(&current));
                update_entry(&mut lines, e, &want, dash_indent, eol);
            }
            None => {
                let want = resolve(o, None);
                let at = entries
                    .iter()
                    .find(|e| e.name > o.name)
                    .map(|e| e.first)
                    .unwrap_or_else(|| entries.last().map(|e| e.end).unwrap_or(images_at + 1));
                lines.insert(at, new_entry(&o.name, &want, dash_indent, eol));
            }
        }
    }
    Ok(lines.concat())
}

/// The file's (newName, newTag, digest) of an entry.
fn current_values(e: &Entry) -> [String; 3] {
    let get = |f: &str| {
        e.fields
            .iter()
            .find(|(name, ..)| name == f)
            .map(|(.., v)| v.clone())
            .unwrap_or_default()
    };
    [get("newName"), get("newTag"), get("digest")]
}

/// The values an entry gets: the override's, `*` replaced by the file's (or nothing).
fn resolve(o: &ImageOverride, current: Option<&[String; 3]>) -> [String; 3] {
    let given = [&o.new_name, &o.new_tag, &o.digest];
    let mut out: [String; 3] = Default::default();
    for i in 0..3 {
        out[i] = if given[i] == "*" {
            current.map(|c| c[i].clone()).unwrap_or_default()
        } else {
            given[i].clone()
        };
    }
    out
}

/// A new entry in kustomize's key order: name, newName, newTag, digest.
fn new_entry(name: &str, want: &[String; 3], dash_indent: usize, eol: &str) -> String {
    format!(
        "{}- name: {}{eol}{}",
        " ".repeat(dash_indent),
        quote_like(name, None),
        fields_text(want, dash_indent + 2, eol)
    )
}

fn fields_text(want: &[String; 3], indent: usize, eol: &str) -> String {
    let mut out = String::new();
    for (field, value) in FIELDS.iter().zip(want) {
        if !value.is_empty() {
            out.push_str(&format!(
                "{}{field}: {}{eol}",
                " ".repeat(indent),
                quote_like(value, None)
            ));
        }
    }
    out
}

fn update_entry(lines: &mut Vec<String>, e: &Entry, want: &[String; 3], dash_indent: usize, eol: &str) {
    let removes_dash_line = FIELDS
        .iter()
        .zip(want)
        .any(|(f, w)| w.is_empty() && e.fields.iter().any(|(name, at, _)| name == f && *at == e.first));
    if removes_dash_line {
        // The line holding the dash goes: the entry is written anew (its own comments lost).
        let fresh = new_entry(&e.name, want, dash_indent, eol);
        lines.splice(e.first..e.end, [fresh]);
        return;
    }
    let mut removals = Vec::new();
    let mut additions = String::new();
    for (field, value) in FIELDS.iter().zip(want) {
        match e.fields.iter().find(|(f, ..)| f == field) {
            Some((_, at, _)) if value.is_empty() => removals.push(*at),
            Some((_, at, old)) if old != value => lines[*at] = replace_value(&lines[*at], value),
            None if !value.is_empty() => additions.push_str(&format!(
                "{}{field}: {}{eol}",
                " ".repeat(e.key_indent),
                quote_like(value, None)
            )),
            _ => {}
        }
    }
    if !additions.is_empty() {
        let after = e
            .fields
            .iter()
            .map(|(_, at, _)| *at)
            .chain([e.name_line])
            .max()
            .unwrap_or(e.first);
        lines.insert(after + 1, additions);
    }
    removals.sort_unstable();
    for at in removals.into_iter().rev() {
        lines.remove(at);
    }
}

/// Replaces the scalar of a `key: value` line, keeping its quoting and comment.
fn replace_value(line: &str, value: &str) -> String {
    let (content, comment) = crate::setters::split_line(line.trim_end_matches(['\n', '\r']));
    let colon = content.find(": ").map(|i| i + 2).unwrap_or(content.len());
    let old = content[colon..].trim();
    let start = colon + (content[colon..].len() - content[colon..].trim_start().len());
    let written = quote_like(value, Some(old));
    let end_of_line = &line[line.trim_end_matches(['\n', '\r']).len()..];
    let gap = &content[start + old.len()..];
    format!(
        "{}{written}{gap}{}{end_of_line}",
        &content[..start],
        comment.unwrap_or("")
    )
}

/// The entries of the block list under `images:` at line `at`.
fn scan(lines: &[String], at: usize) -> Result<Vec<Entry>, EditError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut dash_col: Option<usize> = None;
    for (i, raw) in lines.iter().enumerate().skip(at + 1) {
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if line == "---" || (indent == 0 && !trimmed.starts_with("- ") && trimmed != "-") {
            break;
        }
        let (content, _) = crate::setters::split_line(line);
        let content = content.trim_end();
        let (key_part, key_indent) = if trimmed.starts_with("- ") && dash_col.is_none_or(|d| d == indent) {
            dash_col = Some(indent);
            let after = &content[indent + 2..];
            let pad = after.len() - after.trim_start().len();
            entries.push(Entry {
                first: i,
                end: i + 1,
                key_indent: indent + 2 + pad,
                name: String::new(),
                name_line: i,
                fields: Vec::new(),
            });
            (after.trim_start(), indent + 2 + pad)
        } else {
            let Some(e) = entries.last() else {
                return Err(EditError::Shape { line: i + 1 });
            };
            if indent < e.key_indent {
                break;
            }
            (trimmed, indent)
        };
        let Some(e) = entries.last_mut() else {
            return Err(EditError::Shape { line: i + 1 });
        };
        e.end = i + 1;
        if key_indent != e.key_indent {
            continue; // deeper lines of another key
        }
        if key_part.starts_with('{') {
            return Err(EditError::Shape { line: i + 1 });
        }
        if let Some((k, v)) = key_part.split_once(':') {
            let v = crate::setters::unquote_text(v.trim());
            match k.trim() {
                "name" => {
                    e.name = v;
                    e.name_line = i;
                }
                f if FIELDS.contains(&f) => e.fields.push((f.to_string(), i, v)),
                _ => {}
            }
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, args: &[&str]) -> String {
        let overrides: Vec<ImageOverride> = args.iter().map(|a| parse_override(a).unwrap()).collect();
        set_images(text, &overrides).unwrap()
    }

    #[test]
    fn arguments_parse_as_kustomize_v5() {
        let o = parse_override("postgres=eu.gcr.io/my-project/postgres:latest").unwrap();
        assert_eq!(
            (o.name.as_str(), o.new_name.as_str(), o.new_tag.as_str()),
            ("postgres", "eu.gcr.io/my-project/postgres", "latest")
        );
        let o = parse_override("my-app=localhost:5000/my-app:1.2@sha256:24a0").unwrap();
        assert_eq!(
            (o.new_name.as_str(), o.new_tag.as_str(), o.digest.as_str()),
            ("localhost:5000/my-app", "1.2", "sha256:24a0")
        );
        let o = parse_override("node:8.15.0").unwrap();
        assert_eq!(
            (o.name.as_str(), o.new_name.as_str(), o.new_tag.as_str()),
            ("node", "", "8.15.0")
        );
        let o = parse_override("alpine@sha256:24a0").unwrap();
        assert_eq!((o.name.as_str(), o.digest.as_str()), ("alpine", "sha256:24a0"));
        let o = parse_override("mysql=mariadb").unwrap();
        assert_eq!((o.name.as_str(), o.new_name.as_str()), ("mysql", "mariadb"));
        let o = parse_override("nginx=*:1.25").unwrap();
        assert_eq!((o.new_name.as_str(), o.new_tag.as_str()), ("*", "1.25"));
        assert!(matches!(parse_override("nginx"), Err(EditError::Argument(_))));
        assert!(matches!(parse_override("=x:1"), Err(EditError::Argument(_))));
        assert!(matches!(
            parse_override("nginx:1/2"),
            Err(EditError::Tag { .. }) | Err(EditError::Argument(_))
        ));
        assert!(matches!(parse_override("nginx:v1+b"), Err(EditError::Tag { .. })));
    }

    #[test]
    fn a_missing_list_is_appended_sorted() {
        let text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n";
        let out = set(
            text,
            &[
                "postgres=eu.gcr.io/p/postgres:latest",
                "my-app=my-registry/my-app@sha256:24a0",
            ],
        );
        assert_eq!(
            out,
            format!(
                "{text}images:\n- name: my-app\n  newName: my-registry/my-app\n  digest: sha256:24a0\n- name: postgres\n  newName: eu.gcr.io/p/postgres\n  newTag: latest\n"
            )
        );
    }

    #[test]
    fn an_entry_is_replaced_in_place_and_other_bytes_kept() {
        let text = "resources:\n  - app.yaml # the app\nimages:\n  # pinned by CI\n  - name: web\n    newName: 'registry.local/web'\n    newTag: \"1.0\"   # bumped by CI\n  - name: zeta\n    newTag: 3.1.0\nnamePrefix: prod-\n";
        // A tag only: newName goes (kustomize replaces the entry), quoting and comment kept.
        assert_eq!(
            set(text, &["web:1.1"]),
            "resources:\n  - app.yaml # the app\nimages:\n  # pinned by CI\n  - name: web\n    newTag: \"1.1\"   # bumped by CI\n  - name: zeta\n    newTag: 3.1.0\nnamePrefix: prod-\n"
        );
        // `*` keeps the name; a digest is added after the entry's last field.
        assert_eq!(
            set(text, &["web=*:1.1@sha256:ff"]),
            "resources:\n  - app.yaml # the app\nimages:\n  # pinned by CI\n  - name: web\n    newName: 'registry.local/web'\n    newTag: \"1.1\"   # bumped by CI\n    digest: sha256:ff\n  - name: zeta\n    newTag: 3.1.0\nnamePrefix: prod-\n"
        );
        // A new name sorts between the existing ones, at their indentation.
        assert_eq!(
            set(text, &["redis:7.2"]),
            "resources:\n  - app.yaml # the app\nimages:\n  # pinned by CI\n  - name: web\n    newName: 'registry.local/web'\n    newTag: \"1.0\"   # bumped by CI\n  - name: redis\n    newTag: \"7.2\"\n  - name: zeta\n    newTag: 3.1.0\nnamePrefix: prod-\n"
                .replace("  - name: web\n    newName: 'registry.local/web'\n    newTag: \"1.0\"   # bumped by CI\n  - name: redis\n    newTag: \"7.2\"\n", "  - name: redis\n    newTag: \"7.2\"\n  - name: web\n    newName: 'registry.local/web'\n    newTag: \"1.0\"   # bumped by CI\n")
        );
        // Setting what is already there changes nothing.
        assert_eq!(set(text, &["zeta:3.1.0"]), text);
    }

    #[test]
    fn a_field_on_the_dash_line_and_flow_lists() {
        let text = "images:\n- newTag: \"1\"\n  name: web\n";
        assert_eq!(
            set(text, &["web@sha256:aa"]),
            "images:\n- name: web\n  digest: sha256:aa\n"
        );
        assert_eq!(
            set("images: []\n", &["web:2.0.1"]),
            "images:\n- name: web\n  newTag: 2.0.1\n"
        );
        assert!(matches!(
            set_images("images: [{name: web}]\n", &[parse_override("web:1").unwrap()]),
            Err(EditError::Shape { line: 1 })
        ));
    }
}
