//! Chart archives (`.tgz`): read safely into a list of files named from the chart root.
//!
//! Guarantees: no entry escapes the chart (absolute paths, `..`, Windows drive paths are
//! refused), links (symbolic and hard) and special files are refused, every file is at most
//! [`MAX_FILE_SIZE`] bytes, the whole chart at most [`MAX_CHART_SIZE`] bytes and
//! [`MAX_ENTRIES`] entries, and every entry lies under one top directory. Errors name the
//! entry at fault.

/// The most bytes of one decompressed file (Helm's `MaxDecompressedFileSize`, 5 MiB).
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;
/// The most bytes of a decompressed chart (Helm's `MaxDecompressedChartSize`, 100 MiB).
pub const MAX_CHART_SIZE: u64 = 100 * 1024 * 1024;
/// The most entries of one archive.
pub const MAX_ENTRIES: usize = 20_000;

/// A file read from a chart: its path from the chart root (with `/`) and its bytes (a UTF-8
/// byte-order mark removed).
#[derive(Clone, Debug)]
pub struct BufferedFile {
    /// Path from the chart root.
    pub name: String,
    /// Content.
    pub data: super::Blob,
}

/// `data` without a leading UTF-8 byte-order mark, as Helm reads every chart file.
pub fn trim_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(data)
}

/// `path.Clean` of Go for a `/`-separated relative path.
pub(crate) fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if matches!(out.last(), Some(l) if *l != "..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            _ => out.push(part),
        }
    }
    if out.is_empty() { ".".into() } else { out.join("/") }
}

/// The most bytes of a decompressed archive: the chart's limit plus room for tar's headers
/// (one 512-byte block per entry and padding) and trailer.
const MAX_TAR_SIZE: u64 = MAX_CHART_SIZE + 2 * 512 * (MAX_ENTRIES as u64 + 2);

/// The most a deflate stream expands (its densest block: 258 bytes from about 2 bits).
const MAX_DEFLATE_RATIO: usize = 1032;

/// The most `bytes` may decompress to here: what the input could expand to, within
/// [`MAX_TAR_SIZE`].
fn most_expanded(bytes: &[u8]) -> usize {
    bytes.len().saturating_mul(MAX_DEFLATE_RATIO).min(MAX_TAR_SIZE as usize)
}

/// The size the gzip trailer records (ISIZE, the last member's size modulo 2^32).
fn recorded_size(bytes: &[u8]) -> Option<usize> {
    bytes.last_chunk::<4>().map(|t| u32::from_le_bytes(*t) as usize)
}

/// The buffer to reserve for decompressing `bytes`: the size the gzip trailer records when it
/// is plausible, else four times the input; never more than [`most_expanded`]. A hint only: the
/// buffer grows if the stream is longer (several members), and the decompressed size is
/// checked after.
fn gunzip_capacity(bytes: &[u8]) -> usize {
    let recorded = recorded_size(bytes).filter(|&n| n >= bytes.len() / 2);
    recorded
        .unwrap_or(bytes.len().saturating_mul(4))
        .min(most_expanded(bytes))
}

/// Decompresses a gzip stream whole (its first member, as Helm's reader does, the trailer's
/// checksum and length checked), failing when it exceeds [`MAX_TAR_SIZE`] bytes.
///
/// Most archives go through [`gunzip_whole`] (twice as fast); any stream it cannot take is
/// read by [`gunzip_streamed`], which gives the result or the error.
fn gunzip(bytes: &[u8]) -> Result<TarBuffer, String> {
    match gunzip_whole(bytes) {
        Some(tar) => Ok(tar),
        None => gunzip_streamed(bytes).map(TarBuffer::Plain),
    }
}

/// libdeflate's decompression in one call, into a buffer of the size the gzip trailer records
/// when that is within [`most_expanded`] (see [`TarBuffer::zeroed`]). It reads
/// the first member and checks its checksum and length as [`gunzip_streamed`] does, so that a
/// success is the same bytes; `None` on any failure (a corrupt or cut stream, a trailer that
/// misstates the size, several members the first of which is larger than the last), for the
/// streamed reader to decide.
fn gunzip_whole(bytes: &[u8]) -> Option<TarBuffer> {
    let recorded = recorded_size(bytes).filter(|&n| n <= most_expanded(bytes))?;
    let mut tar = TarBuffer::zeroed(recorded);
    let n = libdeflater::Decompressor::new()
        .gzip_decompress(bytes, tar.as_mut())
        .ok()?;
    tar.truncate(n);
    Some(tar)
}

/// The bytes of a huge page (x86-64 and arm64 with 4 KiB base pages).
const HUGE_PAGE: usize = 2 << 20;

/// The smallest decompressed archive [`TarBuffer::zeroed`] puts in [`HugeBlock`]s: half a huge
/// page, where one fault that zeroes 2 MiB costs about what 128 faults of 4 KiB pages do.
const HUGE_BUFFER_FROM: usize = 1 << 20;

/// 2 MiB of bytes aligned on 2 MiB: the unit of a [`TarBuffer`] in huge pages.
#[derive(zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable, zerocopy::KnownLayout)]
#[repr(C, align(2097152))]
struct HugeBlock([u8; HUGE_PAGE]);

/// A decompressed archive, whose files are slices of it.
///
/// Where the process may have huge pages (a one-shot command rendering a large chart, see
/// `crates/ballast/src/heap.rs`), an archive of [`HUGE_BUFFER_FROM`] bytes or more is held in
/// blocks aligned on 2 MiB, so that each is faulted in as one huge page. A plain buffer of that
/// size is not: the allocator places it on a mapping that starts off the 2 MiB grid, no whole
/// aligned 2 MiB lies within it, and the kernel faults it in 4 KiB at a time (measured on
/// airflow's 2.4 MiB archive: 620 faults; kube-prometheus-stack's 6.8 MiB: 1,660). The blocks
/// round the buffer up to whole 2 MiB, which is only address space where no byte is written.
enum TarBuffer {
    Plain(Vec<u8>),
    Huge { blocks: Vec<HugeBlock>, len: usize },
}

impl TarBuffer {
    /// `len` zero bytes, in huge blocks when the process may have huge pages and `len` is at
    /// least [`HUGE_BUFFER_FROM`], else (or if that allocation fails) in a plain buffer.
    fn zeroed(len: usize) -> TarBuffer {
        TarBuffer::zeroed_in(len, huge_pages_allowed())
    }

    /// [`TarBuffer::zeroed`], `huge` telling whether the process may have huge pages.
    fn zeroed_in(len: usize, huge: bool) -> TarBuffer {
        use zerocopy::FromZeros;
        if huge
            && len >= HUGE_BUFFER_FROM
            && let Ok(blocks) = HugeBlock::new_vec_zeroed(len.div_ceil(HUGE_PAGE))
        {
            return TarBuffer::Huge { blocks, len };
        }
        TarBuffer::Plain(vec![0u8; len])
    }

    /// Keeps the first `len` bytes (no more than there are).
    fn truncate(&mut self, new_len: usize) {
        match self {
            TarBuffer::Plain(v) => v.truncate(new_len),
            TarBuffer::Huge { len, .. } => *len = new_len.min(*len),
        }
    }

    /// The bytes, shared by the files sliced from them.
    fn into_bytes(self) -> bytes::Bytes {
        match self {
            TarBuffer::Plain(v) => bytes::Bytes::from(v),
            huge => bytes::Bytes::from_owner(huge),
        }
    }
}

impl AsRef<[u8]> for TarBuffer {
    fn as_ref(&self) -> &[u8] {
        use zerocopy::IntoBytes;
        match self {
            TarBuffer::Plain(v) => v,
            TarBuffer::Huge { blocks, len } => &blocks.as_bytes()[..*len],
        }
    }
}

impl AsMut<[u8]> for TarBuffer {
    fn as_mut(&mut self) -> &mut [u8] {
        use zerocopy::IntoBytes;
        match self {
            TarBuffer::Plain(v) => v,
            TarBuffer::Huge { blocks, len } => &mut blocks.as_mut_bytes()[..*len],
        }
    }
}

/// True when this process may be given transparent huge pages (it has not turned them off
/// with `prctl`, as the controller does); false where that cannot be asked.
fn huge_pages_allowed() -> bool {
    #[cfg(target_os = "linux")]
    return nix::sys::prctl::get_thp_disable().is_ok_and(|off| !off);
    #[cfg(not(target_os = "linux"))]
    false
}

/// The streamed reader of [`gunzip`], for any stream: written straight into the buffer's
/// spare room (no pass to zero it first), growing it up to one byte over [`MAX_TAR_SIZE`].
fn gunzip_streamed(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use flate2::{Decompress, FlushDecompress, Status};
    let failed = |e: &dyn std::fmt::Display| format!("reading chart archive: {e}");
    let mut tar = Vec::with_capacity(gunzip_capacity(bytes));
    let mut z = Decompress::new_gzip(15);
    loop {
        if tar.len() == tar.capacity() {
            // Doubling, never past one byte over the limit (`tar.len()` is within it here).
            let room = tar.capacity().max(64 << 10).min(MAX_TAR_SIZE as usize + 1 - tar.len());
            tar.reserve_exact(room);
        }
        let (read, written) = (z.total_in(), z.total_out());
        let rest = bytes.get(read as usize..).unwrap_or_default();
        let status = z
            .decompress_vec(rest, &mut tar, FlushDecompress::Finish)
            .map_err(|e| failed(&e))?;
        if tar.len() as u64 > MAX_TAR_SIZE {
            return Err(format!(
                "decompressed chart is larger than the maximum size {MAX_CHART_SIZE}"
            ));
        }
        match status {
            Status::StreamEnd => return Ok(tar),
            // No progress with room left to write: the stream stops before its end.
            _ if z.total_in() == read && z.total_out() == written && tar.len() < tar.capacity() => {
                return Err(failed(&"unexpected end of file"));
            }
            _ => {}
        }
    }
}

/// The files of a gzipped tar chart archive, named from inside its single top directory.
/// The archive is decompressed once; each file is a slice of it (no copy).
pub fn load_archive_files(bytes: &[u8]) -> Result<Vec<BufferedFile>, String> {
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Err("gzip: invalid header".into());
    }
    let tar_bytes = gunzip(bytes)?.into_bytes();
    let mut tar = tar::Archive::new(std::io::Cursor::new(&tar_bytes[..]));
    // Seeking past each entry's data instead of reading it: the data is sliced below.
    let entries = tar
        .entries_with_seek()
        .map_err(|e| format!("reading chart archive: {e}"))?;
    let mut files = Vec::new();
    let mut remaining = MAX_CHART_SIZE;
    let mut top: Option<String> = None;
    for (count, entry) in entries.enumerate() {
        if count >= MAX_ENTRIES {
            return Err(format!("chart archive has more than {MAX_ENTRIES} entries"));
        }
        let entry = entry.map_err(|e| format!("reading chart archive: {e}"))?;
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        use tar::EntryType as T;
        match kind {
            T::Directory | T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => continue,
            T::Symlink => {
                return Err(format!(
                    "chart archive entry {raw_name:?} is a symbolic link, which is not allowed"
                ));
            }
            T::Link => {
                return Err(format!(
                    "chart archive entry {raw_name:?} is a hard link, which is not allowed"
                ));
            }
            T::Regular | T::Continuous => {}
            _ => return Err(format!("chart archive entry {raw_name:?} is not a regular file")),
        }
        let delim = if raw_name.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = raw_name.split(delim).collect();
        let first = parts[0].to_string();
        if first == "Chart.yaml" {
            return Err("chart yaml not in base directory".into());
        }
        let rest = parts[1..].join("/");
        if rest.starts_with('/') || first.is_empty() {
            return Err(format!("chart illegally contains absolute paths: {raw_name:?}"));
        }
        let n = clean(&rest);
        if n == "." {
            return Err(format!(
                "chart illegally contains content outside the base directory: {raw_name:?}"
            ));
        }
        if n.starts_with("..") {
            return Err(format!("chart illegally references parent directory: {raw_name:?}"));
        }
        if is_drive_path(&n) || first.contains(':') {
            return Err(format!("chart contains illegally named files: {raw_name:?}"));
        }
        match &top {
            None => top = Some(first),
            Some(t) if *t != first => {
                return Err(format!(
                    "chart archive has more than one top directory: {t:?} and {first:?} ({raw_name:?})"
                ));
            }
            Some(_) => {}
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| format!("chart archive entry {raw_name:?}: {e}"))?;
        if size > remaining {
            return Err(format!(
                "decompressed chart is larger than the maximum size {MAX_CHART_SIZE}"
            ));
        }
        if size > MAX_FILE_SIZE {
            return Err(format!(
                "decompressed chart file {raw_name:?} is larger than the maximum file size {MAX_FILE_SIZE}"
            ));
        }
        let start = usize::try_from(entry.raw_file_position()).unwrap_or(usize::MAX);
        let data = start
            .checked_add(size as usize)
            .and_then(|end| tar_bytes.get(start..end))
            .ok_or_else(|| format!("chart archive entry {raw_name:?}: unexpected end of archive"))?;
        remaining -= size;
        if remaining == 0 {
            return Err(format!(
                "decompressed chart is larger than the maximum size {MAX_CHART_SIZE}"
            ));
        }
        files.push(BufferedFile {
            name: n,
            data: tar_bytes.slice_ref(trim_bom(data)),
        });
    }
    if files.is_empty() {
        return Err("no files in chart archive".into());
    }
    Ok(files)
}

/// `c:/x`-style paths.
fn is_drive_path(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    enum E<'a> {
        File(&'a str, &'a [u8]),
        Symlink(&'a str, &'a str),
        Hard(&'a str, &'a str),
        /// A file whose path is written raw into the header (bypassing the tar crate's checks).
        Raw(&'a str, &'a [u8]),
    }

    fn tgz(entries: &[E]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for e in entries {
            let mut h = tar::Header::new_gnu();
            match e {
                E::File(n, d) => {
                    h.set_size(d.len() as u64);
                    h.set_mode(0o644);
                    h.set_cksum();
                    b.append_data(&mut h, n, *d).unwrap();
                }
                E::Symlink(n, t) | E::Hard(n, t) => {
                    h.set_entry_type(if matches!(e, E::Symlink(..)) {
                        tar::EntryType::Symlink
                    } else {
                        tar::EntryType::Link
                    });
                    h.set_size(0);
                    b.append_link(&mut h, n, t).unwrap();
                }
                E::Raw(n, d) => {
                    h.set_size(d.len() as u64);
                    h.set_mode(0o644);
                    let name = &mut h.as_old_mut().name;
                    name[..n.len()].copy_from_slice(n.as_bytes());
                    h.set_cksum();
                    b.append(&h, *d).unwrap();
                }
            }
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn reads_one_top_folder() {
        let a = tgz(&[
            E::File("c/Chart.yaml", b"name: c"),
            E::File("c/templates/a.yaml", b"\xEF\xBB\xBFx"),
            E::Raw("c/./b/../d.txt", b"d"),
        ]);
        let files = load_archive_files(&a).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Chart.yaml", "templates/a.yaml", "d.txt"]);
        assert_eq!(&files[1].data[..], b"x");
    }

    #[test]
    fn refuses_unsafe_entries() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                tgz(&[E::File("c/Chart.yaml", b""), E::Symlink("c/l", "/etc/passwd")]),
                "\"c/l\" is a symbolic link",
            ),
            (
                tgz(&[E::File("c/Chart.yaml", b""), E::Hard("c/h", "c/Chart.yaml")]),
                "\"c/h\" is a hard link",
            ),
            (
                tgz(&[E::Raw("c/../../etc/x", b"x")]),
                "references parent directory: \"c/../../etc/x\"",
            ),
            (tgz(&[E::Raw("c//etc/x", b"x")]), "absolute paths"),
            (tgz(&[E::Raw("/etc/x", b"x")]), "absolute paths"),
            (tgz(&[E::File("Chart.yaml", b"x")]), "chart yaml not in base directory"),
            (
                tgz(&[E::File("a/Chart.yaml", b"x"), E::File("b/x", b"x")]),
                "more than one top directory",
            ),
            (tgz(&[]), "no files in chart archive"),
            (b"not gzip".to_vec(), "gzip: invalid header"),
        ];
        let whole = tgz(&[E::File("c/Chart.yaml", b"name: c")]);
        let mut bad_sum = whole.clone();
        let n = bad_sum.len();
        bad_sum[n - 8] ^= 1;
        let cases = cases.into_iter().chain([
            (
                whole[..whole.len() / 2].to_vec(),
                "reading chart archive: unexpected end of file",
            ),
            (
                whole[..whole.len() - 4].to_vec(),
                "reading chart archive: unexpected end of file",
            ),
            (bad_sum, "reading chart archive: "),
        ]);
        for (a, want) in cases {
            let err = load_archive_files(&a).unwrap_err();
            assert!(err.contains(want), "{err} does not contain {want}");
        }
    }

    #[test]
    fn refuses_large_files() {
        let big = vec![b'a'; MAX_FILE_SIZE as usize + 1];
        let a = tgz(&[E::File("c/big", &big)]);
        assert!(
            load_archive_files(&a)
                .unwrap_err()
                .contains("\"c/big\" is larger than the maximum file size")
        );
    }

    #[test]
    fn go_clean() {
        assert_eq!(clean("a/./b/../c"), "a/c");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(clean(""), ".");
    }

    #[test]
    fn gunzip_reserves_the_recorded_size_within_bounds() {
        let a = tgz(&[
            E::File("c/Chart.yaml", b"name: c"),
            E::File("c/big.txt", &[b'a'; 100_000]),
        ]);
        let tar = gunzip(&a).unwrap();
        assert_eq!(gunzip_capacity(&a), tar.as_ref().len());
        // A trailer claiming more than deflate can expand to is not believed.
        let mut lying = a.clone();
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(gunzip_capacity(&lying), a.len() * MAX_DEFLATE_RATIO);
        // A trailer claiming less than half the input is not believed either.
        lying[n - 4..].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(gunzip_capacity(&lying), a.len() * 4);
        assert!(gunzip(&lying).is_err());
    }

    /// The one-call reader gives what the streamed reader gives, or leaves the stream to it.
    #[test]
    fn both_readers_agree() {
        let small = tgz(&[E::File("c/Chart.yaml", b"name: c")]);
        let large = tgz(&[
            E::File("c/Chart.yaml", b"name: c"),
            E::File("c/big.txt", &[b'b'; 300_000]),
        ]);
        let whole = gunzip_whole(&large).expect("a plain archive is read in one call");
        let whole = whole.as_ref();
        assert_eq!(whole, gunzip_streamed(&large).unwrap());
        assert_eq!(whole.len(), gunzip_capacity(&large));
        // Two members: only the first is read, by either reader.
        let mut first_smaller = small.clone();
        first_smaller.extend_from_slice(&large);
        assert_eq!(
            gunzip_whole(&first_smaller).unwrap().as_ref(),
            gunzip_streamed(&small).unwrap()
        );
        let mut first_larger = large.clone();
        first_larger.extend_from_slice(&small);
        assert!(gunzip_whole(&first_larger).is_none());
        assert_eq!(gunzip(&first_larger).unwrap().as_ref(), whole);
        // A corrupt or cut stream, or a trailer that misstates the length: left to the
        // streamed reader, whose error it is.
        let mut bad = large.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x55;
        let mut short = large.clone();
        let n = short.len();
        short[n - 4..].copy_from_slice(&((whole.len() - 1) as u32).to_le_bytes());
        for s in [bad, large[..large.len() / 2].to_vec(), short] {
            assert!(gunzip_whole(&s).is_none());
            assert!(gunzip(&s).is_err());
        }
    }

    /// A large archive in huge blocks: aligned on 2 MiB, the decompressed bytes and only them,
    /// the same as in a plain buffer; a small one, or one where huge pages are off, plain.
    #[test]
    fn large_archives_are_held_in_huge_blocks() {
        for len in [HUGE_BUFFER_FROM, 3 * HUGE_PAGE + 5] {
            let mut huge = TarBuffer::zeroed_in(len, true);
            assert!(matches!(huge, TarBuffer::Huge { .. }), "{len}");
            assert_eq!(huge.as_ref().as_ptr() as usize % HUGE_PAGE, 0);
            assert_eq!(huge.as_ref().len(), len);
            assert!(huge.as_ref().iter().all(|&b| b == 0));
            huge.as_mut().iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
            huge.truncate(len + 1);
            assert_eq!(huge.as_ref().len(), len);
            huge.truncate(len - 3);
            let bytes = huge.into_bytes();
            assert_eq!(bytes.len(), len - 3);
            assert!(bytes.iter().enumerate().all(|(i, &b)| b == i as u8));
        }
        assert!(matches!(
            TarBuffer::zeroed_in(HUGE_BUFFER_FROM - 1, true),
            TarBuffer::Plain(_)
        ));
        assert!(matches!(
            TarBuffer::zeroed_in(HUGE_BUFFER_FROM, false),
            TarBuffer::Plain(_)
        ));
        // Read through either buffer, an archive gives the same files.
        let content: Vec<u8> = (0..HUGE_BUFFER_FROM + 4096).map(|i| (i * 7 % 251) as u8).collect();
        let a = tgz(&[E::File("c/Chart.yaml", b"name: c"), E::File("c/big.bin", &content)]);
        let files = load_archive_files(&a).unwrap();
        let big = files.iter().find(|f| f.name == "big.bin").unwrap();
        assert_eq!(&big.data[..], &content[..]);
        assert_eq!(gunzip_whole(&a).unwrap().as_ref(), gunzip_streamed(&a).unwrap());
    }
}
