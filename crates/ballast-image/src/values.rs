//! Setting one value by its key path (`image.tag`) in a YAML file such as Helm values, in
//! place: only the value's bytes change (quoting kept), or, when the path does not exist yet,
//! the missing keys are inserted at the end of their parent mapping. Every other byte stays.

use crate::setters::{quote_like, split_line, unquote_text};

/// Why a value cannot be set.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValueError {
    /// An empty path or an empty key in it.
    #[error("invalid key path {0:?}")]
    Path(String),
    /// The path names a mapping, a list or a flow collection: not a scalar.
    #[error("line {line}: {path} holds a {what}, not a single value")]
    NotScalar {
        /// The path.
        path: String,
        /// 1-based line.
        line: usize,
        /// `mapping`, `list`, `flow collection`, `block text`.
        what: &'static str,
    },
}

/// A key line of the file.
struct Key {
    path: Vec<String>,
    line: usize,
    indent: usize,
    /// Offset of the value in the line's content (after `key: `), when it has one inline.
    value_at: Option<usize>,
    /// One past the last line of the key's subtree (its children).
    end: usize,
}

/// Sets `path` (dot-separated keys) to the string `value`. Returns the new text and the value
/// it replaced (`None` when the key was added).
pub fn set_value(text: &str, path: &str, value: &str) -> Result<(String, Option<String>), ValueError> {
    let parts: Vec<String> = path.split('.').map(str::to_string).collect();
    if parts.iter().any(String::is_empty) {
        return Err(ValueError::Path(path.to_string()));
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let keys = scan(&lines);
    if let Some(k) = keys.iter().find(|k| k.path == parts) {
        let raw = lines[k.line].clone();
        let body = raw.trim_end_matches(['\n', '\r']);
        let newline = &raw[body.len()..];
        let (content, comment) = split_line(body);
        let not_scalar = |what| ValueError::NotScalar {
            path: path.to_string(),
            line: k.line + 1,
            what,
        };
        return match k.value_at {
            Some(at) => {
                let old_text = content[at..].trim_end();
                match old_text.as_bytes().first() {
                    Some(b'{' | b'[') => return Err(not_scalar("flow collection")),
                    Some(b'|' | b'>') => return Err(not_scalar("block text")),
                    _ => {}
                }
                let old = unquote_text(old_text);
                if old == value {
                    return Ok((text.to_string(), Some(old)));
                }
                let gap = &content[at + old_text.len()..];
                lines[k.line] = format!(
                    "{}{}{gap}{}{newline}",
                    &content[..at],
                    quote_like(value, Some(old_text)),
                    comment.unwrap_or("")
                );
                Ok((lines.concat(), Some(old)))
            }
            None if k.end > k.line + 1 => {
                let child = &lines[k.line + 1..k.end];
                let list = child.iter().any(|l| l.trim_start().starts_with("- "));
                Err(not_scalar(if list { "list" } else { "mapping" }))
            }
            None => {
                // `key:` with nothing under it (null): the value goes inline.
                let c = content.trim_end();
                lines[k.line] = format!(
                    "{c} {}{}{newline}",
                    quote_like(value, None),
                    comment.map(|c| format!(" {c}")).unwrap_or_default()
                );
                Ok((lines.concat(), None))
            }
        };
    }
    // The deepest existing parent mapping.
    let mut depth = parts.len() - 1;
    let parent = loop {
        if depth == 0 {
            break None;
        }
        if let Some(k) = keys.iter().find(|k| k.path[..] == parts[..depth]) {
            if k.value_at.is_some() {
                return Err(ValueError::NotScalar {
                    path: parts[..depth].join("."),
                    line: k.line + 1,
                    what: "value where a mapping is needed",
                });
            }
            break Some(k);
        }
        depth -= 1;
    };
    let (at, mut indent) = match parent {
        Some(p) => {
            let child_indent = keys
                .iter()
                .find(|k| k.line > p.line && k.line < p.end && k.path.len() == p.path.len() + 1)
                .map(|k| k.indent)
                .unwrap_or(p.indent + 2);
            (last_content_line(&lines, p.line, p.end) + 1, child_indent)
        }
        None => (document_end(&lines), 0),
    };
    let mut block = String::new();
    if at == lines.len() && lines.last().is_some_and(|l| !l.ends_with('\n')) {
        block.push_str(eol);
    }
    for (i, key) in parts[depth..].iter().enumerate() {
        if depth + i + 1 == parts.len() {
            block.push_str(&format!(
                "{}{key}: {}{eol}",
                " ".repeat(indent),
                quote_like(value, None)
            ));
        } else {
            block.push_str(&format!("{}{key}:{eol}", " ".repeat(indent)));
            indent += 2;
        }
    }
    lines.insert(at.min(lines.len()), block);
    Ok((lines.concat(), None))
}

/// Index of the last non-blank, non-comment line in `from..end`.
fn last_content_line(lines: &[String], from: usize, end: usize) -> usize {
    (from..end)
        .rev()
        .find(|&i| {
            let t = lines[i].trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .unwrap_or(from)
}

/// Where the first document ends (a `---` line), or the end of the file.
fn document_end(lines: &[String]) -> usize {
    let first_content = lines.iter().position(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---"
    });
    let from = first_content.unwrap_or(0);
    lines
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, l)| l.trim_end() == "---")
        .map(|(i, _)| last_content_line(lines, from, i) + 1)
        .unwrap_or(lines.len())
}

/// Every key of the first document with its path (list items appear as `[]`).
fn scan(lines: &[String]) -> Vec<Key> {
    let mut keys: Vec<Key> = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut block: Option<usize> = None;
    let mut open: Vec<usize> = Vec::new(); // indices in `keys` whose `end` is pending
    let mut seen_content = false;
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(owner) = block {
            if trimmed.is_empty() || indent > owner {
                continue;
            }
            block = None;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.trim_end() == "---" {
            if seen_content {
                break;
            }
            continue;
        }
        seen_content = true;
        // Close the subtrees this line is not inside.
        open.retain(|&k| {
            if keys[k].indent >= indent {
                keys[k].end = i;
                false
            } else {
                true
            }
        });
        stack.retain(|(d, _)| *d < indent);
        let (content, _) = split_line(line);
        let content = content.trim_end();
        let mut col = indent;
        let mut rest = trimmed;
        while let Some(after) = rest.strip_prefix("- ") {
            stack.push((col, "[]".into()));
            let pad = after.len() - after.trim_start().len();
            col += 2 + pad;
            rest = after.trim_start();
        }
        let Some((key, after)) = key_of(rest) else {
            continue;
        };
        let mut path: Vec<String> = stack.iter().map(|(_, k)| k.clone()).collect();
        path.push(key.clone());
        // `after` is a slice of `line`: its offset there is where the value starts.
        let value_start = after.trim_start().as_ptr() as usize - line.as_ptr() as usize;
        let value_start = value_start.min(content.len());
        let value = content[value_start..].trim();
        let value_at = (!value.is_empty()).then_some(value_start);
        if value.starts_with('|') || value.starts_with('>') {
            block = Some(indent);
        }
        stack.push((col, key));
        open.push(keys.len());
        keys.push(Key {
            path,
            line: i,
            indent: col,
            value_at,
            end: lines.len(),
        });
    }
    let n = lines.len();
    for k in open {
        keys[k].end = keys[k].end.min(n);
    }
    keys
}

/// `key` and what follows its `:` in a `key: value` / `key:` text (quoted keys unquoted).
fn key_of(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    let (mut single, mut double) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b':' if !single && !double && (i + 1 == bytes.len() || bytes[i + 1] == b' ') => {
                return Some((unquote_text(text[..i].trim()), &text[i + 1..]));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: &str = "# values for web\nreplicaCount: 2\n\nimage:\n  repository: ghcr.io/org/web   # the image\n  tag: \"1.4.0\"\n  pullPolicy: IfNotPresent\n\nservice:\n  type: ClusterIP\n\n# extra\nresources: {}\n";

    #[test]
    fn an_existing_value_changes_alone_keeping_quotes_and_comments() {
        let (out, old) = set_value(VALUES, "image.tag", "1.5.0").unwrap();
        assert_eq!(old.as_deref(), Some("1.4.0"));
        assert_eq!(out, VALUES.replace("\"1.4.0\"", "\"1.5.0\""));
        let (out, _) = set_value(VALUES, "image.repository", "ghcr.io/org/web2").unwrap();
        assert_eq!(out, VALUES.replace("org/web   #", "org/web2   #"));
        let (same, old) = set_value(VALUES, "replicaCount", "2").unwrap();
        assert_eq!((same.as_str(), old.as_deref()), (VALUES, Some("2")));
    }

    #[test]
    fn missing_keys_are_added_under_their_parent() {
        let (out, old) = set_value(VALUES, "image.digest", "sha256:abc").unwrap();
        assert_eq!(old, None);
        assert_eq!(
            out,
            VALUES.replace(
                "  pullPolicy: IfNotPresent\n",
                "  pullPolicy: IfNotPresent\n  digest: sha256:abc\n"
            )
        );
        let (out, _) = set_value(VALUES, "service.ports.http", "8080").unwrap();
        assert!(
            out.contains("  type: ClusterIP\n  ports:\n    http: \"8080\"\n\n# extra"),
            "{out}"
        );
        let (out, _) = set_value(VALUES, "global.tag", "v2").unwrap();
        assert!(out.ends_with("resources: {}\nglobal:\n  tag: v2\n"), "{out}");
    }

    #[test]
    fn non_scalars_are_refused() {
        assert!(matches!(
            set_value(VALUES, "image", "x"),
            Err(ValueError::NotScalar { what: "mapping", .. })
        ));
        assert!(matches!(
            set_value(VALUES, "resources", "x"),
            Err(ValueError::NotScalar {
                what: "flow collection",
                ..
            })
        ));
        assert!(matches!(
            set_value(VALUES, "image.tag.major", "1"),
            Err(ValueError::NotScalar { .. })
        ));
        assert!(matches!(set_value(VALUES, "a..b", "1"), Err(ValueError::Path(_))));
    }

    #[test]
    fn keys_inside_lists_do_not_match_paths() {
        let text = "env:\n- name: tag\n  value: a\ntag: b\n";
        let (out, old) = set_value(text, "tag", "c").unwrap();
        assert_eq!(old.as_deref(), Some("b"));
        assert_eq!(out, "env:\n- name: tag\n  value: a\ntag: c\n");
    }
}
