//! Killing a test process with SIGKILL stops its control plane and removes its state.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

#[test]
fn sigkill_of_the_test_process_leaves_no_process_behind() {
    let mut holder = Command::new(env!("CARGO_BIN_EXE_ballast-testenv-hold"))
        .stdout(Stdio::piped())
        .env_remove("BALLAST_TESTENV_KEEP")
        .spawn()
        .expect("start holder");
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("read pids");
    let (pids, dir) = line
        .trim()
        .strip_prefix("pids ")
        .and_then(|l| l.split_once(" dir "))
        .expect("pids line");
    let pids: Vec<&str> = pids.split(' ').collect();
    assert_eq!(pids.len(), 3, "{line}");
    assert!(pids.iter().all(|p| alive(p)), "components not running: {line}");

    holder.kill().expect("SIGKILL");
    holder.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    while pids.iter().any(|p| alive(p)) || Path::new(dir).exists() {
        assert!(
            Instant::now() < deadline,
            "left behind after SIGKILL: pids {pids:?} alive or {dir} present"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
