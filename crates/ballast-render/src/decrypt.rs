//! The decryption hook of a render (Flux `Kustomization.spec.decryption`).
//!
//! A [`Decrypt`] given in [`crate::RenderSpec::decrypt`] sees, in memory, every file a
//! kustomization reads as data (`secretGenerator`/`configMapGenerator` `files` and `envs`, patch
//! files) before it is used, every YAML document as it is parsed (before any transformer
//! changes a value an integrity check covers), and every object of the render before
//! namespaces are assigned.
//! Nothing decrypted is written to disk; implementations must never put a plaintext value in
//! an error message.

use std::fmt;

use serde_json::Value;

/// How a file read during a build is used; decides the format it is read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileUse<'a> {
    /// A generator `files` entry stored under this data key.
    GeneratorFile(&'a str),
    /// A generator `envs` entry (this path).
    GeneratorEnv(&'a str),
    /// A patch file (this path).
    Patch(&'a str),
}

/// Decrypts what a render reads. See the module documentation.
pub trait Decrypt: fmt::Debug + Send + Sync {
    /// `bytes` decrypted when they are an encrypted document, unchanged otherwise.
    fn file(&self, bytes: Vec<u8>, usage: FileUse<'_>) -> Result<Vec<u8>, String>;
    /// Decrypts `object` in place when it (or, for a Secret, one of its data values) is
    /// encrypted; leaves it unchanged otherwise.
    fn object(&self, object: &mut Value) -> Result<(), String>;
}
