//! Parses every template of one chart archive (subcharts' too) into one set, N times, and
//! prints the median time of a whole set's parse (for profiling the template parser alone).
//!
//! Usage: `parse_loop CHART [N]`.

use std::rc::Rc;
use std::time::{Duration, Instant};

use ballast_gotemplate::{Arity, Func, Templates, Value};

/// The allocator of the `ballast` binary (jemalloc), so that these figures are the product's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).expect("readable chart");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20).max(1);
    let files = ballast_helm::chart::archive::load_archive_files(&bytes).expect("archive");
    let templates: Vec<(String, String)> = files
        .iter()
        .filter(|f| f.name.contains("templates/") && !f.name.ends_with("NOTES.txt"))
        .map(|f| (f.name.clone(), String::from_utf8_lossy(&f.data).into_owned()))
        .collect();
    let mut funcs = ballast_helm::funcs::sprig();
    // The functions a render adds (their bodies do not matter to the parser).
    for name in ["include", "tpl", "required", "fail", "lookup", "getHostByName"] {
        funcs.insert(name, Func::pure(Arity::AtLeast(0), |_| Ok(Value::Nil)));
    }
    let funcs = Rc::new(funcs);
    let size: usize = templates.iter().map(|(_, t)| t.len()).sum();
    let mut times: Vec<Duration> = Vec::with_capacity(n);
    for _ in 0..n {
        let texts = templates.clone();
        let t = Instant::now();
        let mut set = Templates::new(funcs.clone());
        for (name, text) in texts {
            set.parse_owned(&name, text).expect("parses");
        }
        times.push(t.elapsed());
        drop(set);
    }
    times.sort();
    println!(
        "{} templates, {} bytes: median {:.3} ms per set",
        templates.len(),
        size,
        times[n / 2].as_secs_f64() * 1e3
    );
}
