//! Starts the test control plane, prints `pids <pid>... dir <state dir>` and waits forever.
//! Used to check that killing a test process leaves nothing behind.

fn main() {
    let cluster = ballast_testenv::cluster();
    let pids: Vec<String> = cluster.pids.iter().map(u32::to_string).collect();
    println!("pids {} dir {}", pids.join(" "), cluster.dir.display());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}
