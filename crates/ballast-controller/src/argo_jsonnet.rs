//! Jsonnet files of an Argo CD directory source, evaluated in process (`rsjsonnet-lang`) the way
//! Argo CD's repo server evaluates them: `extVars` and `tlas` (strings, or Jsonnet code with
//! `code: true`; `$ARGOCD_APP_NAME`-style build variables substituted in their values), `libs`
//! as search paths relative to the repository root, imports resolved from the importing file's
//! directory first and then the libraries, last one first (as go-jsonnet does). The result is an
//! object or an array of objects (`List` kinds expanded by the caller).
//!
//! Guarantees: no file outside the repository root is read (imports and libraries included), no
//! file over [`MAX_SOURCE`] bytes, at most [`MAX_IMPORTS`] distinct imports, evaluation depth
//! capped by the evaluator's stack limit; errors name the file and line, never panic.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ballast_api::argo::{JsonnetSource, JsonnetVar};
use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::interner::InternedStr;
use rsjsonnet_lang::program::{
    Callbacks, EvalError, EvalErrorKind, EvalStackTraceItem, ImportError, NativeError, Program, Thunk, Value as JValue,
};
use rsjsonnet_lang::span::{SpanContextId, SpanId};
use serde_json::Value;

/// Largest Jsonnet (or imported) file read.
pub const MAX_SOURCE: u64 = 4 << 20;
/// Most distinct files one evaluation imports.
pub const MAX_IMPORTS: usize = 1_000;
/// Evaluator call-stack limit.
const MAX_STACK: usize = 500;

/// Build variables Argo CD substitutes in `extVars`/`tlas` values (`$NAME` or `${NAME}`).
pub type BuildEnv = BTreeMap<String, String>;

/// `s` with `$NAME`/`${NAME}` replaced from `env` (unknown names become empty, `$$` is `$`), as
/// Go's `os.Expand` does for Argo CD.
pub fn envsubst(s: &str, env: &BuildEnv) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            match body.find('}') {
                Some(end) => {
                    out.push_str(env.get(&body[..end]).map(String::as_str).unwrap_or(""));
                    rest = &body[end + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(env.get(&after[..end]).map(String::as_str).unwrap_or(""));
            }
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Evaluates `file` (inside `root`) with `opts`; returns its JSON output.
pub fn evaluate(root: &Path, file: &Path, opts: &JsonnetSource, env: &BuildEnv) -> Result<Value, String> {
    let root = root.canonicalize().map_err(|e| format!("{}: {e}", root.display()))?;
    let mut libs = Vec::new();
    for lib in &opts.libs {
        let rel = lib.trim_start_matches('/');
        let full = root.join(rel);
        match full.canonicalize() {
            Ok(p) if p.starts_with(&root) => libs.push(p),
            Ok(_) => return Err(format!("jsonnet.libs {lib:?}: outside the repository")),
            Err(_) => {} // a missing library directory is no error (go-jsonnet skips it)
        }
    }
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    program.set_max_stack(MAX_STACK);
    let mut imports = Imports {
        root: root.clone(),
        libs,
        contexts: HashMap::new(),
        cache: HashMap::new(),
        error: None,
    };
    let display = file.strip_prefix(&root).unwrap_or(file).display().to_string();
    let main = imports.load(&mut program, file, &display).map_err(|()| {
        imports
            .error
            .clone()
            .unwrap_or_else(|| format!("{display}: cannot load"))
    })?;
    let dir = file.parent().unwrap_or(&root).to_path_buf();
    for (name, var) in dedupe(&opts.ext_vars) {
        let thunk = imports.value(&mut program, var, env, &dir, "extVar")?;
        let name = program.intern_str(name);
        program.add_ext_var(name, &thunk);
    }
    let value = program
        .eval_value(&main, &mut imports)
        .map_err(|e| imports.describe(&program, &display, &e))?;
    let value = if value.is_function() && !opts.tlas.is_empty() {
        let mut named = Vec::new();
        for (name, var) in dedupe(&opts.tlas) {
            let thunk = imports.value(&mut program, var, env, &dir, "tla")?;
            named.push((program.intern_str(name), thunk));
        }
        let func = program.value_to_thunk(&value);
        program
            .eval_call(&func, &[], &named, &mut imports)
            .map_err(|e| imports.describe(&program, &display, &e))?
    } else if value.is_function() {
        let func = program.value_to_thunk(&value);
        program
            .eval_call(&func, &[], &[], &mut imports)
            .map_err(|e| imports.describe(&program, &display, &e))?
    } else {
        value
    };
    let json = program
        .manifest_json(&value, false)
        .map_err(|e| imports.describe(&program, &display, &e))?;
    serde_json::from_str(&json).map_err(|e| format!("{display}: output is not JSON: {e}"))
}

/// The variables by name, the last of a repeated name winning.
fn dedupe(vars: &[JsonnetVar]) -> BTreeMap<&str, &JsonnetVar> {
    vars.iter().map(|v| (v.name.as_str(), v)).collect()
}

/// A loaded file's directory and text (for error lines).
struct Loaded {
    dir: PathBuf,
    name: String,
    text: Vec<u8>,
}

/// Import resolution confined to the repository.
struct Imports<'p> {
    root: PathBuf,
    libs: Vec<PathBuf>,
    contexts: HashMap<SpanContextId, Loaded>,
    cache: HashMap<PathBuf, Thunk<'p>>,
    error: Option<String>,
}

impl<'p> Imports<'p> {
    fn read(&mut self, path: &Path, name: &str) -> Result<Vec<u8>, ()> {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if len > MAX_SOURCE {
            self.error = Some(format!("{name}: larger than {MAX_SOURCE} bytes"));
            return Err(());
        }
        std::fs::read(path).map_err(|e| {
            self.error = Some(format!("{name}: {e}"));
        })
    }

    fn load(&mut self, program: &mut Program<'p>, path: &Path, name: &str) -> Result<Thunk<'p>, ()> {
        if let Some(t) = self.cache.get(path) {
            return Ok(t.clone());
        }
        if self.cache.len() >= MAX_IMPORTS {
            self.error = Some(format!("more than {MAX_IMPORTS} Jsonnet imports"));
            return Err(());
        }
        let text = self.read(path, name)?;
        let thunk = self.load_text(program, text, path.parent().unwrap_or(&self.root).to_path_buf(), name)?;
        self.cache.insert(path.to_path_buf(), thunk.clone());
        Ok(thunk)
    }

    fn load_text(
        &mut self,
        program: &mut Program<'p>,
        text: Vec<u8>,
        dir: PathBuf,
        name: &str,
    ) -> Result<Thunk<'p>, ()> {
        let (ctx, _) = program.span_manager_mut().insert_source_context(text.len());
        let loaded = program.load_source(ctx, &text, true, name);
        self.contexts.insert(
            ctx,
            Loaded {
                dir,
                name: name.to_string(),
                text,
            },
        );
        loaded.map_err(|e| {
            self.error = Some(format!("{name}: {}", short(&format!("{e:?}"))));
        })
    }

    /// An `extVars`/`tlas` entry as a thunk: a string, or code evaluated lazily.
    fn value(
        &mut self,
        program: &mut Program<'p>,
        var: &JsonnetVar,
        env: &BuildEnv,
        dir: &Path,
        what: &str,
    ) -> Result<Thunk<'p>, String> {
        let value = envsubst(&var.value, env);
        if var.code == Some(true) {
            let name = format!("<{what} {}>", var.name);
            self.load_text(program, value.into_bytes(), dir.to_path_buf(), &name)
                .map_err(|()| self.error.clone().unwrap_or(name))
        } else {
            Ok(program.value_to_thunk(&JValue::string(&value)))
        }
    }

    /// The file and line an evaluation error points at, and what it is.
    fn describe(&self, program: &Program<'p>, main: &str, e: &EvalError) -> String {
        if let Some(msg) = &self.error {
            return msg.clone();
        }
        let span = match &e.kind {
            EvalErrorKind::ExplicitError { span, .. }
            | EvalErrorKind::AssertFailed { span, .. }
            | EvalErrorKind::ImportFailed { span, .. }
            | EvalErrorKind::UnknownObjectField { span, .. } => Some(*span),
            _ => None,
        }
        .or_else(|| {
            e.stack_trace.iter().find_map(|item| match item {
                EvalStackTraceItem::Expr { span } | EvalStackTraceItem::Import { span } => Some(*span),
                EvalStackTraceItem::Call { span, .. } => *span,
                _ => None,
            })
        });
        let place = span
            .and_then(|s| self.place(program, s))
            .unwrap_or_else(|| main.to_string());
        format!("{place}: {}", short(&format!("{:?}", e.kind)))
    }

    fn place(&self, program: &Program<'p>, span: SpanId) -> Option<String> {
        let (ctx, start, _) = program.span_manager().get_span(span);
        let loaded = self.contexts.get(&ctx)?;
        let line = 1 + loaded.text.get(..start)?.iter().filter(|b| **b == b'\n').count();
        Some(format!("{}:{line}", loaded.name))
    }
}

/// At most 300 characters of an error.
fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

impl<'p> Callbacks<'p> for Imports<'p> {
    fn import(&mut self, program: &mut Program<'p>, from: SpanId, path: &str) -> Result<Thunk<'p>, ImportError> {
        let found = self.resolve(program, from, path)?;
        let name = found.strip_prefix(&self.root).unwrap_or(&found).display().to_string();
        self.load(program, &found, &name).map_err(|()| ImportError)
    }

    fn import_str(&mut self, program: &mut Program<'p>, from: SpanId, path: &str) -> Result<String, ImportError> {
        let bytes = self.import_bin(program, from, path)?;
        String::from_utf8(bytes).map_err(|_| {
            self.error = Some(format!("importstr {path:?}: not UTF-8"));
            ImportError
        })
    }

    fn import_bin(&mut self, program: &mut Program<'p>, from: SpanId, path: &str) -> Result<Vec<u8>, ImportError> {
        let found = self.resolve(program, from, path)?;
        self.read(&found, path).map_err(|()| ImportError)
    }

    fn trace(&mut self, _program: &mut Program<'p>, _message: &str, _stack: &[EvalStackTraceItem]) {}

    fn native_call(
        &mut self,
        _program: &mut Program<'p>,
        _name: InternedStr<'p>,
        _args: &[JValue<'p>],
    ) -> Result<JValue<'p>, NativeError> {
        Err(NativeError)
    }
}

impl<'p> Imports<'p> {
    /// The file `path` names, imported from the file of `from`: its directory first, then the
    /// libraries, last first; refused outside the repository.
    fn resolve(&mut self, program: &Program<'p>, from: SpanId, path: &str) -> Result<PathBuf, ImportError> {
        let (ctx, _, _) = program.span_manager().get_span(from);
        let here = self
            .contexts
            .get(&ctx)
            .map(|l| l.dir.clone())
            .unwrap_or_else(|| self.root.clone());
        let candidates = std::iter::once(here).chain(self.libs.iter().rev().cloned());
        for dir in candidates {
            let Ok(full) = dir.join(path).canonicalize() else {
                continue;
            };
            if !full.starts_with(&self.root) {
                self.error = Some(format!("import {path:?}: outside the repository"));
                return Err(ImportError);
            }
            if full.is_file() {
                return Ok(full);
            }
        }
        self.error = Some(format!("import {path:?}: not found"));
        Err(ImportError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn var(name: &str, value: &str, code: bool) -> JsonnetVar {
        JsonnetVar {
            name: name.into(),
            value: value.into(),
            code: code.then_some(true),
        }
    }

    #[test]
    fn envsubst_as_os_expand() {
        let env: BuildEnv = [("ARGOCD_APP_NAME".to_string(), "gb".to_string())].into();
        assert_eq!(envsubst("a-$ARGOCD_APP_NAME-${ARGOCD_APP_NAME}", &env), "a-gb-gb");
        assert_eq!(envsubst("$$x $UNKNOWN.", &env), "$x .");
        assert_eq!(envsubst("cost $", &env), "cost $");
    }

    #[test]
    fn ext_vars_tlas_libs_and_imports() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::write(root.join("lib/k.libsonnet"), "{ name(n):: 'lib-' + n }").unwrap();
        std::fs::write(root.join("app/params.libsonnet"), "{ replicas: 2 }").unwrap();
        std::fs::write(
            root.join("app/main.jsonnet"),
            "local k = import 'k.libsonnet'; local p = import 'params.libsonnet';\n\
             function(tier, n=1) [{ kind: 'ConfigMap', name: k.name(std.extVar('app')), \
             tier: tier, n: n, r: p.replicas, code: std.extVar('obj').a }]",
        )
        .unwrap();
        let opts = JsonnetSource {
            ext_vars: vec![var("app", "$ARGOCD_APP_NAME", false), var("obj", "{a: 1 + 1}", true)],
            tlas: vec![var("tier", "web", false), var("n", "3", true)],
            libs: vec!["lib".into()],
        };
        let env: BuildEnv = [("ARGOCD_APP_NAME".to_string(), "gb".to_string())].into();
        let out = evaluate(root, &root.join("app/main.jsonnet"), &opts, &env).unwrap();
        assert_eq!(
            out,
            json!([{"kind": "ConfigMap", "name": "lib-gb", "tier": "web", "n": 3, "r": 2, "code": 2}])
        );
    }

    #[test]
    fn errors_name_the_file_and_line_and_stay_inside_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(dir.path().join("secret.libsonnet"), "{}").unwrap();
        std::fs::write(root.join("a.jsonnet"), "{\n a: error 'boom' }").unwrap();
        std::fs::write(root.join("b.jsonnet"), "import '../secret.libsonnet'").unwrap();
        std::fs::write(root.join("c.jsonnet"), "{ a: ").unwrap();
        let opts = JsonnetSource::default();
        let env = BuildEnv::new();
        let e = evaluate(&root, &root.join("a.jsonnet"), &opts, &env).unwrap_err();
        assert!(e.contains("a.jsonnet:2") && e.contains("boom"), "{e}");
        let e = evaluate(&root, &root.join("b.jsonnet"), &opts, &env).unwrap_err();
        assert!(e.contains("outside the repository"), "{e}");
        let e = evaluate(&root, &root.join("c.jsonnet"), &opts, &env).unwrap_err();
        assert!(e.contains("c.jsonnet"), "{e}");
    }
}
