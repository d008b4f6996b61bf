//! The repository root a render is confined to.
//!
//! Every file the plain renderer and the Kustomize engine read (manifests, kustomization files,
//! patches, generator files, components, replacement sources, `crds`) goes through
//! [`Root::read`]: the path is resolved with every symlink followed and refused unless it is
//! inside the root, and the file is refused, before it is read, when it is larger than
//! [`Limits::max_file_size`]. YAML goes through [`Root::parse`], which applies the per-file limits
//! and counts the expanded size against [`Limits::max_render_size`]. A symlink whose target is
//! inside the root is followed, as kustomize does.

use std::cell::Cell;
use std::fs;
use std::io::Read;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::RenderError;
use crate::decrypt::{Decrypt, FileUse};
use crate::limits::{Limit, Limits, Size, VALUE_OVERHEAD};
use crate::yaml::{YamlError, parse_stream_limited};

/// A canonical root directory with the limits of one render and what it has used of them.
/// Dereferences to the root's path.
#[derive(Debug)]
pub struct Root {
    path: PathBuf,
    limits: Limits,
    used: Cell<u64>,
    decrypt: Option<Arc<dyn Decrypt>>,
}

impl Root {
    /// The root at `path` (resolved), with `limits`.
    pub fn new(path: &Path, limits: Limits) -> Result<Root, RenderError> {
        let path = path.canonicalize().map_err(|source| RenderError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Root {
            path,
            limits,
            used: Cell::new(0),
            decrypt: None,
        })
    }

    /// This root with a decryption hook for the files read as data and the objects built.
    pub fn with_decrypt(mut self, decrypt: Option<Arc<dyn Decrypt>>) -> Root {
        self.decrypt = decrypt;
        self
    }

    /// The decryption hook, if any.
    pub fn decryptor(&self) -> Option<&dyn Decrypt> {
        self.decrypt.as_deref()
    }

    /// `bytes` read from `p` and used as `usage`, decrypted in memory by the hook (unchanged
    /// without one).
    pub fn decrypt_file(&self, p: &Path, bytes: Vec<u8>, usage: FileUse<'_>) -> Result<Vec<u8>, RenderError> {
        match &self.decrypt {
            None => Ok(bytes),
            Some(d) => d.file(bytes, usage).map_err(|message| RenderError::Decrypt {
                file: self.rel(p),
                message,
            }),
        }
    }

    /// The limits of this render.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// `p` relative to the root (unchanged when it is not under it).
    pub fn rel(&self, p: &Path) -> PathBuf {
        p.strip_prefix(&self.path).unwrap_or(p).to_path_buf()
    }

    /// `p` resolved (every symlink followed); an error when that leaves the root.
    pub fn confine(&self, p: &Path) -> Result<PathBuf, RenderError> {
        let canon = p.canonicalize().map_err(|source| RenderError::Io {
            path: self.rel(p),
            source,
        })?;
        if !canon.starts_with(&self.path) {
            return Err(RenderError::OutsideRoot(self.rel(p)));
        }
        Ok(canon)
    }

    /// Reads a text file that resolves inside the root and is within the file-size limit
    /// (checked on its metadata, before reading, and again while reading).
    pub fn read(&self, p: &Path) -> Result<String, RenderError> {
        let bytes = self.read_bytes(p)?;
        String::from_utf8(bytes).map_err(|_| RenderError::Io {
            path: self.rel(p),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"),
        })
    }

    /// [`Root::read`] without requiring UTF-8.
    pub fn read_bytes(&self, p: &Path) -> Result<Vec<u8>, RenderError> {
        let canon = self.confine(p)?;
        let io = |source| RenderError::Io {
            path: self.rel(p),
            source,
        };
        let meta = fs::metadata(&canon).map_err(io)?;
        if !meta.is_file() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let max = self.limits.max_file_size;
        let too_big = |len: u64| RenderError::Limit {
            file: self.rel(p),
            message: Limit::FileSize.message(&format!("its size ({})", Size(len)), max),
        };
        if meta.len() > max {
            return Err(too_big(meta.len()));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        fs::File::open(&canon)
            .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
            .map_err(io)?;
        if bytes.len() as u64 > max {
            return Err(too_big(bytes.len() as u64));
        }
        Ok(bytes)
    }

    /// Reads a file whose text becomes data (a generator's file or env file): [`Root::read`],
    /// and its size counts against the render size.
    pub fn read_data_bytes(&self, p: &Path) -> Result<Vec<u8>, RenderError> {
        let bytes = self.read_bytes(p)?;
        self.charge(bytes.len() as u64 + VALUE_OVERHEAD)
            .map_err(|message| RenderError::Limit {
                file: self.rel(p),
                message,
            })?;
        Ok(bytes)
    }

    /// Like [`Root::read_data_bytes`], as UTF-8 text.
    pub fn read_data(&self, p: &Path) -> Result<String, RenderError> {
        let text = self.read(p)?;
        self.charge(text.len() as u64 + VALUE_OVERHEAD)
            .map_err(|message| RenderError::Limit {
                file: self.rel(p),
                message,
            })?;
        Ok(text)
    }

    /// Parses a YAML stream within the per-file limits; its expanded size counts against the
    /// render size.
    pub fn parse(&self, text: &str) -> Result<Vec<Value>, YamlError> {
        self.parse_full(text).map(|p| p.docs)
    }

    /// [`Root::parse`], with what else the parser saw (explicit nulls).
    pub fn parse_full(&self, text: &str) -> Result<crate::yaml::Parsed, YamlError> {
        let mut parsed = parse_stream_limited(text, &self.limits)?;
        self.charge(parsed.expanded).map_err(|message| YamlError {
            document: parsed.docs.len(),
            line: 0,
            column: 0,
            message,
            limit: Some(Limit::RenderSize),
        })?;
        // Encrypted documents are decrypted as read, before any transformer changes a value
        // their MAC covers (a namespace, a name prefix, labels).
        if let Some(d) = &self.decrypt {
            for (document, doc) in parsed.docs.iter_mut().enumerate() {
                d.object(doc).map_err(|message| YamlError {
                    document,
                    line: 0,
                    column: 0,
                    message: format!("document {document}: {message}"),
                    limit: None,
                })?;
            }
        }
        Ok(parsed)
    }

    /// Counts `n` bytes against the render size.
    pub fn charge(&self, n: u64) -> Result<(), String> {
        let used = self.used.get().saturating_add(n);
        if used > self.limits.max_render_size {
            return Err(Limit::RenderSize.message("the render's expanded size", self.limits.max_render_size));
        }
        self.used.set(used);
        Ok(())
    }
}

impl Deref for Root {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Root {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// The expanded size of a value, counted as [`crate::yaml::parse_stream_limited`] counts it.
pub fn expanded_size(v: &Value) -> u64 {
    match v {
        Value::Array(a) => VALUE_OVERHEAD + a.iter().map(expanded_size).sum::<u64>(),
        Value::Object(m) => {
            VALUE_OVERHEAD
                + m.iter()
                    .map(|(k, v)| k.len() as u64 + VALUE_OVERHEAD + expanded_size(v))
                    .sum::<u64>()
        }
        Value::String(s) => s.len() as u64 + VALUE_OVERHEAD,
        Value::Number(_) => 8 + VALUE_OVERHEAD,
        Value::Bool(_) | Value::Null => 5 + VALUE_OVERHEAD,
    }
}
