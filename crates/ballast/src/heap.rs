//! How the process's heap (jemalloc) behaves, chosen per command once it is known:
//!
//! - A command that does its work and exits (`template`, `build`, `diff`...) gets 2 MiB pages
//!   where the kernel has transparent huge pages, and no background thread: a large chart's
//!   render touches about 20 MiB of fresh heap, which is 5,700 page faults in 4 KiB pages and
//!   about 500 in huge ones (a quarter of its time), and a thread that purges idle pages would
//!   only compete with the render (its purges interrupt the other CPU to flush its TLB) in a
//!   process that gives all its memory back when it exits. `template` takes huge pages only
//!   for a chart of [`HUGE_PAGES_FROM`] bytes or more (a small chart's heap is too small to
//!   repay the zeroing of whole 2 MiB pages), and then has its heap's next 64 MiB of address
//!   space reserved on the 2 MiB grid, where the kernel can fault them in as huge pages
//!   ([`reserve_on_huge_grid`]).
//! - A long-running process (`controller`) has 4 KiB pages from its first byte and starts
//!   jemalloc's background thread, which returns freed pages to the system about a second
//!   after they fall idle (`.cargo/config.toml`): its resident memory follows what it holds,
//!   not the peak of its last burst of work.
//!
//! jemalloc asks for huge pages on all the memory it maps (`thp:always` in
//! `.cargo/config.toml`); the kernel gives them only where the process lets it, which is
//! decided here. jemalloc sets itself up (and touches its first pages) before `main`, so a
//! long-running command turns huge pages off and starts its own binary again, once, in the
//! same process (`exec`: same PID, name, arguments and environment): the setting is inherited
//! across `exec`, and the second start sees it already off and goes on. This costs the
//! controller one start (a few milliseconds) and nothing after.
//!
//! Guarantees: huge pages are never turned on for a process whose parent had turned them off
//! (a container runtime, a user's own `prctl`); the binary starts again at most once; where
//! the setting cannot be changed (another system, a kernel without transparent huge pages, a
//! filter on `prctl`) or the binary cannot be started again, the command runs as before.

use std::path::Path;

/// The heap's settings at start, until the command is known.
pub struct Heap {
    /// Huge pages were on at start and this process turned them off.
    turned_off: bool,
}

impl Heap {
    /// Turns huge pages off for this process. Called first thing in `main`, so that `main`
    /// faults no page in huge before the command is known.
    pub fn at_start() -> Heap {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::prctl::{get_thp_disable, set_thp_disable};
            let on = get_thp_disable().is_ok_and(|off| !off);
            let turned_off = on && set_thp_disable(true).is_ok() && get_thp_disable().unwrap_or(false);
            Heap { turned_off }
        }
        #[cfg(not(target_os = "linux"))]
        Heap { turned_off: false }
    }

    /// For a command that exits when done: huge pages back on, if they were on at start.
    pub fn for_one_shot(self) {
        #[cfg(target_os = "linux")]
        if self.turned_off {
            let _ = nix::sys::prctl::set_thp_disable(false);
        }
    }

    /// For `ballast template`: as [`Heap::for_one_shot`] when the chart is large enough to
    /// gain from huge pages ([`HUGE_PAGES_FROM`] bytes of files, see [`chart_bytes`]), with
    /// [`RESERVED_FOR_RENDER`] bytes of the heap's address space reserved on the 2 MiB grid
    /// ([`reserve_on_huge_grid`]) when huge pages are on; else 4 KiB pages kept. Each first
    /// touch of a huge page zeroes all 2 MiB of it: a small chart's render pays that for pages
    /// it never fills.
    pub fn for_template(self, chart: &Path) {
        if chart_bytes(chart) >= HUGE_PAGES_FROM {
            let on = self.turned_off;
            self.for_one_shot();
            if on {
                reserve_on_huge_grid(RESERVED_FOR_RENDER);
            }
        }
    }

    /// For a process that keeps running: if jemalloc may have faulted pages in huge before
    /// `main`, starts this binary again with huge pages off (does not return when that
    /// works); then starts the background thread that returns idle pages.
    pub fn for_long_running(self) {
        #[cfg(target_os = "linux")]
        if self.turned_off
            && let Ok(exe) = std::env::current_exe()
        {
            use std::os::unix::process::CommandExt;
            // The binary by its path (not `/proc/self/exe`, which would rename the process
            // `exe`); a binary deleted since it started cannot be started again.
            let mut args = std::env::args_os();
            let mut again = std::process::Command::new(exe);
            if let Some(arg0) = args.next() {
                again.arg0(arg0);
            }
            // Returns only on failure: go on as this process is.
            let _ = again.args(args).exec();
        }
        let _ = tikv_jemalloc_ctl::background_thread::write(true);
    }
}

/// Address space a `template` with huge pages has the heap reserve on the 2 MiB grid
/// ([`reserve_on_huge_grid`]): more than the heap of any single public chart measured
/// (kube-prometheus-stack's render peaks at 37 MiB resident) and half of the 30-chart umbrella's.
pub const RESERVED_FOR_RENDER: usize = 64 << 20;

/// 2 MiB aligned on 2 MiB: the unit of [`reserve_on_huge_grid`].
#[repr(C, align(2097152))]
struct HugeBlock([u8; 2 << 20]);

/// Has jemalloc map `bytes` of address space (rounded down to whole 2 MiB) aligned on the
/// 2 MiB grid, then freed at once: nothing is written to it, so nothing is faulted in or
/// zeroed, and the allocations that follow are carved from it, whole 2 MiB ranges on the
/// grid that the kernel faults in as huge pages. Without it, jemalloc grows its heap by
/// mappings of 2.5, 3, 3.5, 5... MiB, which the kernel places off the grid: no whole aligned
/// 2 MiB lies within the smaller ones, and they are faulted in 4 KiB at a time with huge
/// pages on (measured on redis: 960 page faults per render, 286 with the reservation, the
/// render 12% faster; airflow 528 and 291, 4%; the 30-chart umbrella 1,830 and 470).
/// Returns the reserved range (start, length), `None` where the allocation failed (the heap
/// then grows as before).
pub fn reserve_on_huge_grid(bytes: usize) -> Option<(usize, usize)> {
    let mut blocks: Vec<HugeBlock> = Vec::new();
    blocks.try_reserve_exact(bytes / size_of::<HugeBlock>()).ok()?;
    let range = (blocks.as_ptr() as usize, blocks.capacity() * size_of::<HugeBlock>());
    // Not optimized away: the allocation is the point.
    drop(std::hint::black_box(blocks));
    Some(range)
}

/// The size of chart from which `template` takes huge pages (with the heap reserved on the
/// 2 MiB grid, [`reserve_on_huge_grid`]): where they stopped costing and started paying,
/// measured on the public charts of the Helm engine's fixtures (interleaved runs with and
/// without them, medians of paired ratios): podinfo, metrics-server and sealed-secrets (94-139
/// KB decompressed) within 1% either way; from redis-ha (215 KB) up 4-10% faster (grafana,
/// apache, external-dns, loki-distributed, prometheus, ingress-nginx; redis 10%). Before the
/// reservation, huge pages paid only from 640 KB: a heap off the grid took most of its pages
/// in 4 KiB anyway, and the zeroing of the few huge ones cost more than it saved below that.
pub const HUGE_PAGES_FROM: u64 = 192 << 10;

/// Most entries of a chart directory [`chart_bytes`] looks at before taking it as large.
const MAX_ENTRIES_LOOKED_AT: usize = 4096;

/// What a chart holds, cheaply, before it is read: for a gzip archive, the decompressed size
/// its trailer records; for another file, its size; for a directory, the sizes of its files
/// (counted until [`HUGE_PAGES_FROM`] is reached or [`MAX_ENTRIES_LOOKED_AT`] entries were
/// seen, then taken as large). 0 when it cannot be read (the command reports that).
pub fn chart_bytes(chart: &Path) -> u64 {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(meta) = std::fs::metadata(chart) else {
        return 0;
    };
    if meta.is_file() {
        let trailer = || -> std::io::Result<u64> {
            let mut f = std::fs::File::open(chart)?;
            let mut magic = [0u8; 2];
            f.read_exact(&mut magic)?;
            if magic != [0x1f, 0x8b] || meta.len() < 18 {
                return Ok(meta.len());
            }
            let mut isize = [0u8; 4];
            f.seek(SeekFrom::End(-4))?;
            f.read_exact(&mut isize)?;
            Ok(u64::from(u32::from_le_bytes(isize)))
        };
        return trailer().unwrap_or(meta.len());
    }
    let (mut total, mut seen) = (0u64, 0usize);
    let mut dirs = vec![chart.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if total >= HUGE_PAGES_FROM || seen > MAX_ENTRIES_LOOKED_AT {
                return total.max(HUGE_PAGES_FROM);
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(entry.path()),
                Ok(t) if t.is_file() => total += entry.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::{HUGE_PAGES_FROM, Heap, chart_bytes};
    use nix::sys::prctl::{get_thp_disable, set_thp_disable};

    /// One test for both cases: the setting is the whole process's. (Starting again for a
    /// long-running command is tested on the binary, `tests/it/heap.rs`.)
    #[test]
    fn huge_pages_off_at_start_and_back_only_if_they_were_on() {
        let at_start = get_thp_disable().expect("PR_GET_THP_DISABLE");
        set_thp_disable(false).expect("PR_SET_THP_DISABLE");
        let heap = Heap::at_start();
        assert!(get_thp_disable().unwrap(), "huge pages still on after Heap::at_start");
        heap.for_one_shot();
        assert!(
            !get_thp_disable().unwrap(),
            "huge pages not back on for a one-shot command"
        );

        // Off when the process started (a parent's choice): they stay off, and a long-running
        // command goes on in this process.
        set_thp_disable(true).unwrap();
        Heap::at_start().for_one_shot();
        assert!(get_thp_disable().unwrap(), "for_one_shot overrode an inherited setting");
        Heap::at_start().for_long_running();
        let started = tikv_jemalloc_ctl::background_thread::read();
        assert!(started.unwrap(), "jemalloc's background thread not started");
        set_thp_disable(at_start).unwrap();
    }

    #[test]
    fn the_heap_reserved_on_the_huge_grid_takes_the_next_allocations() {
        let (start, len) = super::reserve_on_huge_grid(64 << 20).expect("64 MiB of address space");
        assert_eq!(start % (2 << 20), 0, "reserved range off the 2 MiB grid");
        assert_eq!(len, 64 << 20);
        // Larger than any free extent the test harness leaves behind: it can only come
        // from the range just freed (or from fresh address space, should the heap not reuse
        // it, which is what this checks).
        let next: Vec<u8> = Vec::with_capacity(24 << 20);
        let at = next.as_ptr() as usize;
        assert!(
            (start..start + len).contains(&at) && at + next.capacity() <= start + len,
            "allocation at {at:#x} outside the reserved {start:#x}+{len:#x}"
        );
    }

    #[test]
    fn chart_bytes_reads_what_a_chart_holds_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        // An archive: the decompressed size its trailer records (only the gzip magic and the
        // trailer are read).
        let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        gz.extend_from_slice(&[0; 20]);
        gz.extend_from_slice(&(3u32 << 20).to_le_bytes());
        let archive = dir.path().join("c.tgz");
        std::fs::write(&archive, &gz).unwrap();
        assert_eq!(chart_bytes(&archive), 3 << 20);
        // Another file: its size.
        let plain = dir.path().join("c.txt");
        std::fs::write(&plain, b"12345").unwrap();
        assert_eq!(chart_bytes(&plain), 5);
        // A directory: its files' sizes, nested ones included.
        let chart = dir.path().join("chart");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(chart.join("Chart.yaml"), b"name: c\n").unwrap();
        std::fs::write(chart.join("templates/a.yaml"), vec![b'x'; 1000]).unwrap();
        assert_eq!(chart_bytes(&chart), 8 + 1000);
        // Counting stops once the chart is large.
        std::fs::write(chart.join("templates/big.yaml"), vec![b'x'; HUGE_PAGES_FROM as usize]).unwrap();
        assert!(chart_bytes(&chart) >= HUGE_PAGES_FROM);
        // Nothing there: 0 (the command reports the error).
        assert_eq!(chart_bytes(&dir.path().join("missing")), 0);
    }
}
