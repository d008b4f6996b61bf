//! Renders one chart in a loop and prints the first render's time (cold caches, fresh
//! memory: what one `ballast template` process pays) and the median (for profiling).
//!
//! Usage: `render_loop CHART RELEASE [NAMESPACE] [N]`. With `RENDER_HEAP=controller` in the
//! environment, the heap is the controller's (4 KiB pages, jemalloc's background thread), as
//! the in-process rows of the benchmarks have it. With `RENDER_KEEP=0`, render workers keep
//! nothing between renders (each render as a chart's first). With `RENDER_ALL=1`, every
//! render's time, and what the render worker keeps at the end, are printed too.

use std::path::Path;
use std::time::Instant;

use ballast_helm::TemplateOptions;

/// The allocator of the `ballast` binary (jemalloc), so that these figures are the product's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    if std::env::var_os("RENDER_HEAP").is_some_and(|h| h == "controller") {
        #[cfg(target_os = "linux")]
        let _ = nix::sys::prctl::set_thp_disable(true);
        let _ = tikv_jemalloc_ctl::background_thread::write(true);
    }
    if std::env::var_os("RENDER_KEEP").is_some_and(|k| k == "0") {
        ballast_helm::keep_between_renders(false);
    }
    let args: Vec<String> = std::env::args().collect();
    let chart = Path::new(&args[1]);
    let opts = TemplateOptions {
        release_name: args.get(2).cloned().unwrap_or_default(),
        namespace: args.get(3).cloned().unwrap_or_default(),
        ..TemplateOptions::default()
    };
    let n: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(20);
    let mut times = Vec::new();
    let mut len = 0;
    for _ in 0..n {
        let t = Instant::now();
        let out = ballast_helm::template(chart, &opts).unwrap_or_else(|e| e.0);
        times.push(t.elapsed());
        len = out.len();
    }
    let first = times[0];
    if std::env::var_os("RENDER_ALL").is_some() {
        let v: Vec<String> = times.iter().map(|t| format!("{:.1}", t.as_secs_f64() * 1e3)).collect();
        eprintln!("{}", v.join(" "));
        let held = ballast_helm::on_render_thread(|| {
            use ballast_helm::kept;
            Ok((
                kept::held_text_bytes(),
                kept::held_spellings(),
                kept::held_chart_bytes(),
            ))
        });
        if let Ok((text, spellings, charts)) = held {
            eprintln!("kept: {text} bytes of template text, {spellings} spellings, {charts} bytes of chart files");
        }
    }
    times.sort();
    println!(
        "{} bytes; first {:.2} ms; median {:.2} ms; min {:.2} ms",
        len,
        first.as_secs_f64() * 1e3,
        times[n / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
}
