//! The file work of an `ArtifactGenerator`: copy operations (`@<alias>/<glob>` to
//! `@artifact/<path>`) from source trees into a staging directory, and the staging directory
//! packed as a reproducible `.tar.gz`.
//!
//! Guarantees:
//! - nothing outside a source tree is read: symbolic links are skipped, never followed, and
//!   `from` may not hold `..`; nothing outside the staging directory is written: `to` and
//!   every destination are relative paths without `..`;
//! - globs: `*` and `?` within one path segment, `**` across any number of segments;
//! - a copy whose `from` matches nothing is an error naming it (as Flux's);
//! - sizes are bounded: at most [`MAX_FILES`] files and `max_size` bytes per artifact;
//! - the archive depends only on the files' paths, contents and executable bits (entries
//!   sorted, times, owners and gzip header zeroed), so equal content gives an equal digest.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Files in one artifact at most.
pub const MAX_FILES: usize = 100_000;

/// `from` split into its alias and its glob (`@repo/deploy/**` → `repo`, `deploy/**`).
pub fn parse_from(from: &str) -> Result<(&str, &str), String> {
    let rest = from
        .strip_prefix('@')
        .ok_or_else(|| format!("copy from {from:?}: expected @<alias>/<pattern>"))?;
    let (alias, pattern) = rest.split_once('/').unwrap_or((rest, ""));
    if alias.is_empty() {
        return Err(format!("copy from {from:?}: no alias"));
    }
    if pattern.split('/').any(|s| s == "..") || pattern.starts_with('/') {
        return Err(format!("copy from {from:?}: the pattern may not leave the source"));
    }
    Ok((alias, pattern))
}

/// `to` as a path in the artifact, and whether it names a directory (`@artifact/base/` → `base`,
/// true).
pub fn parse_to(to: &str) -> Result<(PathBuf, bool), String> {
    let rest = to
        .strip_prefix("@artifact/")
        .or_else(|| (to == "@artifact").then_some(""))
        .ok_or_else(|| format!("copy to {to:?}: expected @artifact/<path>"))?;
    let dir = rest.is_empty() || rest.ends_with('/');
    let path = relative(rest).ok_or_else(|| format!("copy to {to:?}: the path may not leave the artifact"))?;
    let dir = dir || path.as_os_str().is_empty();
    Ok((path, dir))
}

/// `text` as a relative path of normal components only; `None` for `..` or an absolute path.
fn relative(text: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(text).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// True when `path` (segments split by `/`) matches `pattern`.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let s: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segments(&p, &s)
}

fn match_segments(p: &[&str], s: &[&str]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(&"**") => (0..=s.len()).any(|i| match_segments(&p[1..], &s[i..])),
        Some(first) => {
            !s.is_empty() && match_segment(first.as_bytes(), s[0].as_bytes()) && match_segments(&p[1..], &s[1..])
        }
    }
}

/// `*` and `?` within one segment (iterative, with one backtrack point: linear in practice).
fn match_segment(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

fn is_glob(segment: &str) -> bool {
    segment.contains(['*', '?', '['])
}

/// Every regular file under `dir` (symbolic links skipped), as paths relative to `dir` with `/`
/// separators, sorted; at most [`MAX_FILES`].
fn files_under(dir: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let entries = std::fs::read_dir(dir.join(&rel)).map_err(|e| format!("{}: {e}", rel.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| e.to_string())?;
            let kind = entry.file_type().map_err(|e| e.to_string())?;
            let child = rel.join(entry.file_name());
            if kind.is_dir() {
                if rel.as_os_str().is_empty() && entry.file_name() == ".git" {
                    continue;
                }
                stack.push(child);
            } else if kind.is_file() {
                out.push(child.to_string_lossy().replace('\\', "/"));
                if out.len() > MAX_FILES {
                    return Err(format!("more than {MAX_FILES} files; refused"));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One copy operation: files of `root` matching `pattern` (minus `exclude`) into `staging`
/// under `to` (a directory when `to_dir`). Returns the files written.
pub fn copy(
    root: &Path,
    pattern: &str,
    exclude: &[String],
    staging: &Path,
    to: &Path,
    to_dir: bool,
) -> Result<usize, String> {
    let segments: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let literal = segments.iter().take_while(|s| !is_glob(s)).count();
    let base: PathBuf = segments[..literal].iter().collect();
    let base_text = segments[..literal].join("/");
    let mut plan: Vec<(PathBuf, PathBuf)> = Vec::new();
    if literal == segments.len() {
        // A plain path: a file, or a directory copied whole (into `to/<name>` for a directory
        // destination, as `cp -r`).
        let source = root.join(&base);
        let meta = std::fs::symlink_metadata(&source).map_err(|_| format!("{pattern:?}: no such file or directory"))?;
        if meta.is_file() {
            let name = base.file_name().map(PathBuf::from).unwrap_or_default();
            let dest = if to_dir { to.join(name) } else { to.to_path_buf() };
            plan.push((source, dest));
        } else if meta.is_dir() {
            let into = match (to_dir, base.file_name()) {
                (true, Some(name)) => to.join(name),
                _ => to.to_path_buf(),
            };
            for f in files_under(&source)? {
                if !excluded(exclude, &f) {
                    plan.push((source.join(&f), into.join(&f)));
                }
            }
        } else {
            return Err(format!("{pattern:?}: not a regular file or directory"));
        }
    } else {
        let dir = root.join(&base);
        if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            for f in files_under(&dir)? {
                let full = if base_text.is_empty() {
                    f.clone()
                } else {
                    format!("{base_text}/{f}")
                };
                if glob_match(pattern, &full) && !excluded(exclude, &f) {
                    plan.push((dir.join(&f), to.join(&f)));
                }
            }
        }
        if !to_dir && plan.len() == 1 {
            plan[0].1 = to.to_path_buf();
        }
    }
    if plan.is_empty() {
        return Err(format!("{pattern:?} matches no files"));
    }
    for (from, dest) in &plan {
        let target = staging.join(dest);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", dest.display()))?;
        }
        std::fs::copy(from, &target).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    Ok(plan.len())
}

/// True when `path` (relative to the copy's base) or one of its directories matches an
/// exclusion; a pattern without `/` also matches any single file or directory name.
fn excluded(exclude: &[String], path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    exclude.iter().any(|pattern| {
        let pattern = pattern.trim_start_matches("./");
        (1..=parts.len()).any(|n| glob_match(pattern, &parts[..n].join("/")))
            || (!pattern.contains('/') && parts.iter().any(|p| match_segment(pattern.as_bytes(), p.as_bytes())))
    })
}

/// `staging` packed as a reproducible gzip tar, at most `max_size` bytes of content.
pub fn pack(staging: &Path, max_size: u64) -> Result<Vec<u8>, String> {
    let files = files_under(staging)?;
    let mut dirs: BTreeMap<String, ()> = BTreeMap::new();
    for f in &files {
        let mut at = f.as_str();
        while let Some((parent, _)) = at.rsplit_once('/') {
            dirs.insert(parent.to_string(), ());
            at = parent;
        }
    }
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    let mut total = 0u64;
    let header = |size: u64, mode: u32, kind: tar::EntryType| {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(mode);
        h.set_entry_type(kind);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h
    };
    let io = |e: std::io::Error| e.to_string();
    for d in dirs.keys() {
        let mut h = header(0, 0o755, tar::EntryType::Directory);
        tar.append_data(&mut h, format!("{d}/"), std::io::empty()).map_err(io)?;
    }
    for f in &files {
        let path = staging.join(f);
        let data = std::fs::read(&path).map_err(|e| format!("{f}: {e}"))?;
        total += data.len() as u64;
        if total > max_size {
            return Err(format!("the artifact holds more than {max_size} bytes; refused"));
        }
        let executable = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        };
        let mut h = header(
            data.len() as u64,
            if executable { 0o755 } else { 0o644 },
            tar::EntryType::Regular,
        );
        tar.append_data(&mut h, f, data.as_slice()).map_err(io)?;
    }
    let gz = tar.into_inner().map_err(io)?;
    gz.finish().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_within_and_across_segments() {
        assert!(glob_match("apps/**", "apps/base/a.yaml"));
        assert!(glob_match("apps/**", "apps/a.yaml"));
        assert!(!glob_match("apps/**", "other/a.yaml"));
        assert!(glob_match("deploy/**/*.yaml", "deploy/a.yaml"));
        assert!(glob_match("deploy/**/*.yaml", "deploy/x/y/a.yaml"));
        assert!(!glob_match("deploy/**/*.yaml", "deploy/x/a.json"));
        assert!(glob_match("*.yaml", "a.yaml"));
        assert!(!glob_match("*.yaml", "d/a.yaml"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("**", "x/y"));
    }

    #[test]
    fn from_and_to_are_confined() {
        assert_eq!(parse_from("@repo/apps/**").unwrap(), ("repo", "apps/**"));
        assert_eq!(parse_from("@repo").unwrap(), ("repo", ""));
        assert!(parse_from("repo/apps").is_err());
        assert!(parse_from("@repo/../etc/passwd").is_err());
        assert_eq!(parse_to("@artifact/").unwrap(), (PathBuf::new(), true));
        assert_eq!(parse_to("@artifact/base/").unwrap(), (PathBuf::from("base"), true));
        assert_eq!(
            parse_to("@artifact/values.yaml").unwrap(),
            (PathBuf::from("values.yaml"), false)
        );
        assert!(parse_to("@artifact/../x").is_err());
        assert!(parse_to("@other/x").is_err());
    }

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (p, text) in files {
            let f = root.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, text).unwrap();
        }
    }

    fn listing(dir: &Path) -> Vec<String> {
        files_under(dir).unwrap()
    }

    #[test]
    fn copies_as_the_flux_example_lays_out_and_packs_reproducibly() {
        let src = tempfile::tempdir().unwrap();
        write(
            src.path(),
            &[
                ("apps/base/podinfo/release.yaml", "a"),
                ("apps/staging/kustomization.yaml", "b"),
                ("apps/staging/skip.txt", "c"),
                ("infrastructure/controllers/x.yaml", "d"),
                ("values-prod.yaml", "e"),
            ],
        );
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", src.path().join("apps/base/link.yaml")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let (to, dir) = parse_to("@artifact/base/").unwrap();
        copy(src.path(), "apps/base/**", &[], out.path(), &to, dir).unwrap();
        let (to, dir) = parse_to("@artifact/staging/").unwrap();
        copy(src.path(), "apps/staging/**", &["*.txt".into()], out.path(), &to, dir).unwrap();
        let (to, dir) = parse_to("@artifact/values.yaml").unwrap();
        copy(src.path(), "values-prod.yaml", &[], out.path(), &to, dir).unwrap();
        assert_eq!(
            listing(out.path()),
            ["base/podinfo/release.yaml", "staging/kustomization.yaml", "values.yaml"]
        );
        let (to, dir) = parse_to("@artifact/").unwrap();
        assert!(copy(src.path(), "nothing/**", &[], out.path(), &to, dir).is_err());
        // A directory named without a glob is copied whole, under its name.
        let whole = tempfile::tempdir().unwrap();
        copy(src.path(), "infrastructure", &[], whole.path(), &to, dir).unwrap();
        assert_eq!(listing(whole.path()), ["infrastructure/controllers/x.yaml"]);

        let a = pack(out.path(), 1 << 20).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let again = tempfile::tempdir().unwrap();
        let (to, dir) = parse_to("@artifact/base/").unwrap();
        copy(src.path(), "apps/base/**", &[], again.path(), &to, dir).unwrap();
        let (to, dir) = parse_to("@artifact/staging/").unwrap();
        copy(src.path(), "apps/staging/**", &["*.txt".into()], again.path(), &to, dir).unwrap();
        let (to, dir) = parse_to("@artifact/values.yaml").unwrap();
        copy(src.path(), "values-prod.yaml", &[], again.path(), &to, dir).unwrap();
        assert_eq!(a, pack(again.path(), 1 << 20).unwrap(), "same content, same bytes");
        let back = tempfile::tempdir().unwrap();
        ballast_source::chart_archive::extract_tgz(&a, back.path(), 1 << 20).unwrap();
        assert_eq!(listing(back.path()), listing(out.path()));
        assert!(pack(out.path(), 2).is_err(), "size bound");
    }
}
