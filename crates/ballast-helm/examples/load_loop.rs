//! Loads one chart archive in a loop and prints the median time of each loading step (for
//! profiling): the gzip stream alone, the archive's files (inflate and tar), the whole load.
//!
//! Usage: `load_loop CHART [N]`.

use std::io::Read as _;
use std::time::{Duration, Instant};

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).expect("readable chart");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20).max(1);
    let (mut gunzip, mut files, mut load) = (Vec::new(), Vec::new(), Vec::new());
    let mut size = 0;
    for _ in 0..n {
        let t = Instant::now();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .expect("gzip");
        gunzip.push(t.elapsed());
        size = out.len();
        let t = Instant::now();
        let f = ballast_helm::chart::archive::load_archive_files(&bytes).expect("archive");
        files.push(t.elapsed());
        drop(f);
        let t = Instant::now();
        let c = ballast_helm::chart::load::load_archive(&bytes).expect("chart");
        load.push(t.elapsed());
        drop(c);
    }
    println!(
        "{} -> {} bytes; gunzip {:.2} ms; archive files {:.2} ms; chart load {:.2} ms (medians)",
        bytes.len(),
        size,
        median(gunzip),
        median(files),
        median(load)
    );
}
