//! Runs the whole harness end to end at `--quick` sizes. No timing is
//! asserted: only that every peer ran, every value arrived, and the report
//! was written.

use std::process::Command;

#[test]
fn quick_run_writes_every_section() {
    let md = std::env::temp_dir().join(format!("shmq-xproc-quick-{}.md", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_xproc"))
        .args(["--quick", "--markdown"])
        .arg(&md)
        .output()
        .expect("run xproc");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "xproc failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(&md).expect("markdown written");
    let _ = std::fs::remove_file(&md);
    for needle in [
        "## Round-trip latency",
        "## One-way u64 stream throughput",
        "FLOOR",
        "floor: atomic ping-pong",
        "shmq SPSC u64 x2",
        "Unix socket 8 B",
        "shmq batch (256)",
        "ceiling: minimal SPSC",
        "rtrb, 2 threads",
        "Coordinated omission does not apply",
        "- commit: ",
    ] {
        assert!(
            report.contains(needle),
            "report lacks {needle:?}:\n{report}"
        );
    }
    assert!(stdout.contains("== One-way u64 stream throughput =="));
}
