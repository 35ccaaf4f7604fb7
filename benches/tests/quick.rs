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
    // The plot needs a system font; without one xproc says so and goes on.
    let png = md.with_file_name(format!(
        "{}-latency.png",
        md.file_stem().and_then(|s| s.to_str()).unwrap_or_default()
    ));
    if png.exists() {
        assert!(
            report.contains("-latency.png)"),
            "plot not linked:\n{report}"
        );
        let _ = std::fs::remove_file(&png);
    }
    for needle in [
        "## Round-trip latency",
        "## One-way u64 stream throughput",
        "FLOOR",
        "floor: atomic ping-pong",
        "shmq-core SPSC u64 x2",
        "shmq API (shmq::spsc) u64 x2",
        "Unix socket 8 B",
        "shmq-core batch (256)",
        "shmq API batch (256)",
        "## Targets",
        "## Round-trip latency by message size",
        "## One-way stream throughput by message size",
        "| 16 KiB | shmq (shmq::spsc API) |",
        "| 1 MiB | shmq byte ring (loans) |",
        "| 8 B | shmq byte ring (copies) |",
        "Target RTT at 8 B ≤ 1.30× floor, shmq byte ring (loans)",
        "Target 1 KiB stream within 1.50× the fixed-slot ring's time, shmq byte ring (copies)",
        "| 8 B | FLOOR: atomic ping-pong, 8 B |",
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[1/"), "no progress on stderr:\n{stderr}");
}
