//! Bounds on what a render may read and produce, so that a hostile or broken source is refused
//! early, with a clear error, instead of exhausting memory.
//!
//! Defaults ([`Limits::default`]):
//!
//! | limit | default | flag |
//! |---|---|---|
//! | bytes of one file | 8 MiB | `--max-file-size` |
//! | YAML documents in one file | 10,000 | `--max-documents` |
//! | bytes of one file after alias expansion | 64 MiB | `--max-expanded-size` |
//! | bytes of the whole render after expansion | 256 MiB | `--max-render-size` |
//! | objects in the whole render | 50,000 | `--max-objects` |
//!
//! "Bytes after expansion" approximate the memory the parsed documents take: every value counts
//! once per place it appears (an alias counts the whole value it copies, an anchor the copy it
//! keeps); a scalar or key counts its text plus [`VALUE_OVERHEAD`] bytes, a sequence or mapping
//! [`VALUE_OVERHEAD`] bytes. Files are checked against the size limit before they are read; YAML streams stop at
//! the first document or alias that would go over a limit, before copying it. Nesting deeper
//! than [`MAX_DEPTH`] is refused too (it would overflow the stack later).

use std::fmt;

/// Bytes each YAML value counts for, besides its text, in the expanded size.
pub const VALUE_OVERHEAD: u64 = 128;

/// Deepest nesting of sequences and mappings a YAML document may have.
pub const MAX_DEPTH: usize = 256;

const MIB: u64 = 1024 * 1024;

/// Bounds on a render (see the module documentation for what each one measures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Largest file that is read, in bytes.
    pub max_file_size: u64,
    /// Most YAML documents in one file.
    pub max_documents: usize,
    /// Most bytes one file's documents may take once aliases are expanded.
    pub max_expanded_size: u64,
    /// Most bytes (after expansion) all files of one render may take together, and most bytes
    /// the rendered objects may take.
    pub max_render_size: u64,
    /// Most objects one render may produce.
    pub max_objects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 8 * MIB,
            max_documents: 10_000,
            max_expanded_size: 64 * MIB,
            max_render_size: 256 * MIB,
            max_objects: 50_000,
        }
    }
}

/// Which limit was reached, for error messages that say how to raise it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::max_file_size`].
    FileSize,
    /// [`Limits::max_documents`].
    Documents,
    /// [`Limits::max_expanded_size`].
    ExpandedSize,
    /// [`Limits::max_render_size`].
    RenderSize,
    /// [`Limits::max_objects`].
    Objects,
    /// [`MAX_DEPTH`] (fixed).
    Depth,
}

impl Limit {
    /// The command-line flag that sets this limit, if it can be set.
    pub fn flag(self) -> Option<&'static str> {
        match self {
            Limit::FileSize => Some("--max-file-size"),
            Limit::Documents => Some("--max-documents"),
            Limit::ExpandedSize => Some("--max-expanded-size"),
            Limit::RenderSize => Some("--max-render-size"),
            Limit::Objects => Some("--max-objects"),
            Limit::Depth => None,
        }
    }

    /// `"<what> is over the limit of <n> (raise it with --flag)"`.
    pub fn message(self, what: &str, limit: u64) -> String {
        let amount = match self {
            Limit::Documents | Limit::Objects | Limit::Depth => limit.to_string(),
            _ => Size(limit).to_string(),
        };
        match self.flag() {
            Some(flag) => format!("{what} is over the limit of {amount} (raise it with {flag})"),
            None => format!("{what} is over the limit of {amount}"),
        }
    }
}

/// A byte count shown in the largest binary unit that divides it (`8 MiB`, `1536 KiB`, `10 B`).
#[derive(Clone, Copy, Debug)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, n) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if self.0 >= n && self.0.is_multiple_of(n) {
                return write!(f, "{} {unit}", self.0 / n);
            }
        }
        write!(f, "{} bytes", self.0)
    }
}

/// Parses a size: a number of bytes, optionally with a binary unit (`512Ki`, `8Mi`, `1Gi`, with
/// or without a trailing `B`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t.strip_suffix('B').unwrap_or(t);
    let (digits, factor) = [("Ki", 1u64 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30)]
        .iter()
        .find_map(|(s, f)| t.strip_suffix(s).map(|d| (d, *f)))
        .unwrap_or((t, 1));
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?}: expected a positive size such as 1048576, 512Ki, 8Mi or 1Gi"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("8Mi"), Ok(8 << 20));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("512Ki"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("8MB").is_err());
        assert_eq!(Size(8 << 20).to_string(), "8 MiB");
        assert_eq!(Size(1000).to_string(), "1000 bytes");
        assert_eq!(
            Limit::FileSize.message("a.yaml: 9 MiB", 8 << 20),
            "a.yaml: 9 MiB is over the limit of 8 MiB (raise it with --max-file-size)"
        );
    }
}
