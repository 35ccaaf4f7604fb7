//! The built `shmq` binary against queues held by real processes (other
//! `shmq` processes: `send`, `recv`, `create --hold`), alive, killed,
//! poisoned and scribbled. Every wait is bounded; nothing asserts timing or
//! which process the scheduler runs first.

use assert_cmd::Command;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Bound on any one step (a command, a child starting, a line arriving).
const CALL: Duration = Duration::from_secs(30);
const BIN: &str = env!("CARGO_BIN_EXE_shmq");

/// Serialises the tests that run many processes (two cores).
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn unique(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("shmq-cli-{tag}-{}-{n}", std::process::id())
}

fn path(name: &str) -> PathBuf {
    PathBuf::from("/dev/shm").join(name)
}

/// Removes the names on drop (however the test ends).
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = std::fs::remove_file(path(name));
        }
    }
}

fn shmq(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).timeout(CALL);
    cmd
}

/// Runs `shmq args`, returning (exit success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let out = shmq(args).output().expect("shmq runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let (_, out, err) = run(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}\n{err}"))
}

/// The `ls --json` entry of `name`.
fn listed(name: &str) -> Option<Value> {
    json(&["ls", "--json"])
        .as_array()
        .expect("an array")
        .iter()
        .find(|v| v["name"] == name)
        .cloned()
}

/// Polls `cond` (bounded by [`CALL`]).
fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + CALL;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn poke(name: &str, off: u64, value: u32) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path(name))
        .unwrap();
    f.write_all_at(&value.to_ne_bytes(), off).unwrap();
}

/// A long-running `shmq` child: killed and reaped on drop; its stdout lines
/// arrive on a channel.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        let mut child = std::process::Command::new(BIN)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn shmq");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            stdin,
            lines,
        }
    }

    fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(CALL)
            .expect("a line from the child")
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits (bounded) for the child to exit; whether it succeeded.
    fn wait(&mut self) -> bool {
        let end = Instant::now() + CALL;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(Instant::now() < end, "child did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `shmq send name` (lines on stdin) while a `shmq recv name` process
/// waits for them: both run at once; the receiver prints exactly `want`.
fn send_to_a_waiting_recv(name: &str, want: &[String]) {
    let count = want.len().to_string();
    let mut rx = Proc::spawn(&["recv", name, "--count", &count, "--timeout", "30s"]);
    let input: String = want.iter().map(|m| format!("{m}\n")).collect();
    shmq(&["send", name, "--timeout", "30s"])
        .write_stdin(input)
        .assert()
        .success();
    let got: Vec<String> = want.iter().map(|_| rx.line()).collect();
    assert_eq!(got, want);
    assert!(rx.wait(), "recv exits 0 once it has its count");
}

#[test]
fn every_subcommand_has_help_with_examples() {
    for sub in ["ls", "stat", "create", "rm", "send", "recv", "gc", "bench"] {
        let (ok, out, _) = run(&[sub, "--help"]);
        assert!(ok, "{sub} --help");
        assert!(
            out.contains("Examples:"),
            "{sub} --help has no examples:\n{out}"
        );
    }
    let (ok, out, _) = run(&["--help"]);
    assert!(ok && out.contains("Examples:"));
    assert!(
        !out.contains("__bench-peer"),
        "the internal subcommand is hidden"
    );
}

#[test]
fn ls_and_stat_follow_live_dead_poisoned_and_scribbled_regions() {
    let _s = serial();
    let name = unique("roles");
    let _c = Cleanup(vec![name.clone()]);
    assert!(run(&["create", &name, "--capacity", "8", "--slot-size", "32"]).0);
    let e = listed(&name).expect("listed");
    assert_eq!(e["ok"], true);
    assert_eq!(e["kind"], "spsc");
    assert_eq!(e["capacity"], 8);
    assert_eq!(e["slot_size"], 32);
    assert_eq!(e["persistent"], true);
    assert_eq!(e["senders"]["alive"], 0);

    // A real producer process: sends three lines, keeps its role.
    let mut tx = Proc::spawn(&["send", &name, "--timeout", "30s"]);
    tx.write("one\ntwo\nthree\n");
    until("three messages queued", || {
        listed(&name).is_some_and(|e| e["queued"] == 3 && e["senders"]["alive"] == 1)
    });
    // A real consumer process: takes them all and keeps waiting.
    let rx = Proc::spawn(&["recv", &name, "--follow"]);
    assert_eq!([rx.line(), rx.line(), rx.line()], ["one", "two", "three"]);
    until("both roles alive, queue drained", || {
        listed(&name).is_some_and(|e| {
            e["queued"] == 0 && e["senders"]["alive"] == 1 && e["receivers"]["alive"] == 1
        })
    });
    // (Not asserting ls's exit status: a broken region left in /dev/shm by
    // anything else would make it 1.)
    let (_, out, _) = run(&["ls"]);
    let row = out.lines().find(|l| l.starts_with(&name)).expect("a row");
    assert!(row.contains("alive"), "{row}");

    // Killed: the role stays taken, its holder is dead.
    let mut tx = tx;
    tx.kill();
    let e = listed(&name).unwrap();
    assert_eq!(e["senders"]["dead"], 1, "{e}");
    assert_eq!(e["senders"]["alive"], 0);
    assert_eq!(e["receivers"]["alive"], 1);
    let (ok, out, _) = run(&["stat", &name]);
    assert!(ok);
    assert!(out.contains("sender") && out.contains("dead"), "{out}");
    let mut rx = rx;
    rx.kill();
    let s = json(&["stat", &name, "--json"]);
    assert_eq!(s["receivers"]["dead"], 1, "{s}");
    assert_eq!(s["counters"]["enqueued"], 3);
    assert_eq!(s["counters"]["dequeued"], 3);
    assert_eq!(s["poisoned"], false);

    // Poisoned.
    poke(&name, 44, 1);
    assert_eq!(listed(&name).unwrap()["poisoned"], true);
    let (ok, out, _) = run(&["stat", &name]);
    assert!(ok && out.contains("poisoned    yes"), "{out}");

    // Scribbled: a capacity that is not a power of two.
    poke(&name, 16, 3);
    let (ok, _, err) = run(&["stat", &name]);
    assert!(!ok, "stat of a scribbled region fails");
    assert!(err.contains(&name) && err.contains("capacity"), "{err}");
    let (ok, out, _) = run(&["ls"]);
    assert!(!ok, "ls exits non-zero when a region is broken");
    assert!(out
        .lines()
        .any(|l| l.starts_with(&name) && l.contains("error")));
    let e = listed(&name).unwrap();
    assert_eq!(
        (e["ok"].clone(), e["shmq"].clone()),
        (false.into(), true.into())
    );
    let s = json(&["stat", &name, "--json"]);
    assert_eq!(s["ok"], false);

    // Truncated (after repairing the capacity).
    poke(&name, 16, 8);
    assert!(run(&["stat", &name]).0);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path(&name))
        .unwrap();
    f.set_len(600).unwrap();
    let (ok, _, err) = run(&["stat", &name]);
    assert!(!ok && err.contains("truncated"), "{err}");

    assert!(run(&["rm", &name]).0);
    assert!(!path(&name).exists());
}

#[test]
fn mpmc_endpoints_are_counted_per_entry() {
    let _s = serial();
    let name = unique("mpmc");
    let _c = Cleanup(vec![name.clone()]);
    assert!(run(&["create", &name, "--kind", "mpmc", "--endpoints", "4"]).0);
    let mut a = Proc::spawn(&["send", &name, "--timeout", "30s"]);
    let _b = Proc::spawn(&["send", &name, "--timeout", "30s"]);
    until("two senders", || {
        listed(&name).is_some_and(|e| e["senders"]["alive"] == 2)
    });
    let e = listed(&name).unwrap();
    assert_eq!(e["kind"], "mpmc");
    assert_eq!(e["max_endpoints"], 4);
    a.kill();
    let e = listed(&name).unwrap();
    assert_eq!(
        (e["senders"]["alive"].clone(), e["senders"]["dead"].clone()),
        (1.into(), 1.into())
    );
    let (ok, out, _) = run(&["stat", &name]);
    assert!(ok && out.contains("entry "), "{out}");
}

#[test]
fn send_then_recv_round_trip_between_two_processes() {
    let _s = serial();
    let name = unique("pipe");
    let _c = Cleanup(vec![name.clone()]);
    assert!(run(&["create", &name, "--capacity", "4", "--slot-size", "64"]).0);
    // The sender's lines fill the 4 slots more than once.
    let want: Vec<String> = (0..10).map(|i| format!("message {i}")).collect();
    send_to_a_waiting_recv(&name, &want);

    // --value, then --hex; recv without waiting drains and exits.
    shmq(&["send", &name, "--value", "hi", "--value", "\u{1}"])
        .assert()
        .success();
    let (ok, out, _) = run(&["recv", &name, "--hex"]);
    assert!(ok);
    assert_eq!(out, "6869\n01\n");
    // Nothing queued, a count not reached: exit status 1.
    let (ok, _, err) = run(&["recv", &name, "--count", "1", "--timeout", "50ms"]);
    assert!(!ok && err.contains("0 of 1"), "{err}");
    // A message larger than a slot is refused.
    let big = "x".repeat(65);
    let (ok, _, err) = run(&["send", &name, "--value", &big, "--timeout", "1s"]);
    assert!(!ok && err.contains("exceeds"), "{err}");
}

#[test]
fn send_then_recv_through_a_byte_ring_between_two_processes() {
    let _s = serial();
    let name = unique("bytes");
    let _c = Cleanup(vec![name.clone()]);
    // A 256-byte ring: messages up to 256 / 2 - 16 = 112 bytes.
    let (ok, _, err) = run(&[
        "create",
        &name,
        "--kind",
        "bytes",
        "--capacity",
        "256",
        "--slot-size",
        "112",
    ]);
    assert!(ok, "{err}");
    let e = listed(&name).expect("listed");
    assert_eq!(e["kind"], "bytes");
    assert_eq!(
        (e["capacity"].clone(), e["slot_size"].clone()),
        (256.into(), 112.into())
    );

    // Lengths around the 8-byte record rounding, 0 and the largest; three
    // rounds are ~2.2 KiB of records, many laps of the ring, so the sender
    // waits for the receiver running at the same time.
    let lengths = [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 111, 112];
    let want: Vec<String> = (0..3)
        .flat_map(|round| {
            lengths.iter().enumerate().map(move |(i, &len)| {
                let c = char::from(b'a' + ((round * lengths.len() + i) % 26) as u8);
                c.to_string().repeat(len)
            })
        })
        .collect();
    send_to_a_waiting_recv(&name, &want);
    let s = json(&["stat", &name, "--json"]);
    assert_eq!(s["counters"]["enqueued"], want.len());
    assert_eq!(s["counters"]["dequeued"], want.len());

    // One byte over the largest: refused, and nothing is queued.
    let big = "x".repeat(113);
    let (ok, _, err) = run(&["send", &name, "--value", &big, "--timeout", "1s"]);
    assert!(!ok, "a message over the max is refused");
    assert!(
        err.contains("message 1") && err.contains("113 bytes exceeds") && err.contains("112"),
        "{err}"
    );
    // The ones before it were sent; recv (no waiting) prints exactly them.
    let (ok, _, err) = run(&[
        "send", &name, "--value", "", "--value", "end", "--value", &big,
    ]);
    assert!(!ok && err.contains("message 3"), "{err}");
    let (ok, out, _) = run(&["recv", &name, "--hex"]);
    assert!(ok);
    assert_eq!(out, "\n656e64\n");
}

#[test]
fn send_then_recv_through_a_dense_ring_between_two_processes() {
    let _s = serial();
    let name = unique("dense");
    let _c = Cleanup(vec![name.clone()]);
    // 4 records of exactly 5 bytes.
    let (ok, _, err) = run(&[
        "create",
        &name,
        "--kind",
        "dense",
        "--capacity",
        "4",
        "--slot-size",
        "5",
    ]);
    assert!(ok, "{err}");
    assert_eq!(listed(&name).expect("listed")["kind"], "dense");
    // Five laps of the ring.
    let want: Vec<String> = (0..20).map(|i| format!("m{i:04}")).collect();
    send_to_a_waiting_recv(&name, &want);

    // Any other length is refused, 0 included; nothing is queued.
    for wrong in ["", "four", "sixsix"] {
        let (ok, _, err) = run(&["send", &name, "--value", wrong, "--timeout", "1s"]);
        assert!(!ok, "{wrong:?} is refused");
        let msg = format!("{} bytes are not whole records of 5 bytes", wrong.len());
        assert!(err.contains(&msg), "{err}");
    }
    let (ok, out, _) = run(&["recv", &name]);
    assert!(ok);
    assert_eq!(out, "");
}

#[test]
fn recv_piped_into_send_relays_between_queues() {
    let _s = serial();
    let (a, b) = (unique("relay-a"), unique("relay-b"));
    let _c = Cleanup(vec![a.clone(), b.clone()]);
    assert!(run(&["create", &a]).0 && run(&["create", &b]).0);
    // `shmq recv a | shmq send b`: two shmq processes joined by a pipe.
    let relay =
        format!("'{BIN}' recv {a} --count 3 --timeout 30s | '{BIN}' send {b} --timeout 30s");
    let mut sh = std::process::Command::new("sh")
        .args(["-c", &relay])
        .spawn()
        .expect("sh");
    shmq(&["send", &a, "--value", "x", "--value", "y", "--value", "z"])
        .assert()
        .success();
    let (ok, out, err) = run(&["recv", &b, "--count", "3", "--timeout", "30s"]);
    assert!(ok, "{err}");
    assert_eq!(out, "x\ny\nz\n");
    let end = Instant::now() + CALL;
    let status = loop {
        if let Some(status) = sh.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > end {
            let _ = sh.kill();
            panic!("the relay did not end");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "relay: {status}");
}

#[test]
fn gc_keeps_live_holders_and_removes_dead_ones() {
    let _s = serial();
    let (held, dead, persistent) = (unique("gc-held"), unique("gc-dead"), unique("gc-pers"));
    let _c = Cleanup(vec![held.clone(), dead.clone(), persistent.clone()]);
    let holder = Proc::spawn(&["create", &held, "--hold"]);
    assert_eq!(holder.line(), format!("holding {held}"));
    let mut victim = Proc::spawn(&["create", &dead, "--hold", "--kind", "mpmc"]);
    assert_eq!(victim.line(), format!("holding {dead}"));
    assert!(run(&["create", &persistent]).0);
    // A sender alive on the dead creator's region keeps it.
    let mut sender = Proc::spawn(&["send", &dead, "--timeout", "30s"]);
    until("the sender", || {
        listed(&dead).is_some_and(|e| e["senders"]["alive"] == 1)
    });
    victim.kill();
    let e = listed(&dead).unwrap();
    assert_eq!(e["creator_alive"], false);

    let gc = |dry: bool| {
        let mut args = vec![
            "gc",
            "--json",
            held.as_str(),
            dead.as_str(),
            persistent.as_str(),
        ];
        if dry {
            args.push("--dry-run");
        }
        let v = json(&args);
        let outcome = |n: &str| {
            v.as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == n)
                .map(|x| x["outcome"].as_str().unwrap().to_owned())
        };
        (outcome(&held), outcome(&dead), outcome(&persistent))
    };
    let in_use = Some("in-use".to_owned());
    let kept = Some("persistent".to_owned());
    assert_eq!(gc(false), (in_use.clone(), in_use.clone(), kept.clone()));
    assert!(path(&held).exists() && path(&dead).exists() && path(&persistent).exists());

    sender.kill();
    assert_eq!(
        gc(true),
        (in_use.clone(), Some("would-remove".into()), kept.clone())
    );
    assert!(path(&dead).exists(), "a dry run removes nothing");
    assert_eq!(gc(false), (in_use, Some("removed".into()), kept));
    assert!(!path(&dead).exists());
    assert!(path(&held).exists() && path(&persistent).exists());

    // The holder ends cleanly: it removes its own region.
    let mut holder = holder;
    holder.close_stdin();
    assert!(holder.wait());
    assert!(!path(&held).exists());
}

#[test]
fn gc_racing_creates_never_removes_a_queue_in_use() {
    let _s = serial();
    let prefix = format!("shmq-cli-race-{}-", std::process::id());
    let name = format!("{prefix}q");
    let _c = Cleanup(vec![name.clone()]);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let sweeper = s.spawn(|| {
            let mut runs = 0;
            while !stop.load(Ordering::Relaxed) && runs < 2000 {
                assert!(run(&["gc", "--prefix", &prefix]).0);
                runs += 1;
            }
        });
        let result = std::panic::catch_unwind(|| {
            for _ in 0..25 {
                let mut creator = Proc::spawn(&["create", &name, "--hold"]);
                assert_eq!(creator.line(), format!("holding {name}"));
                assert!(path(&name).exists(), "removed while its creator held it");
                let mut sender = Proc::spawn(&["send", &name, "--value", "x", "--timeout", "30s"]);
                assert!(sender.wait(), "the sender found its queue");
                assert!(path(&name).exists(), "removed while its creator held it");
                creator.close_stdin();
                assert!(creator.wait());
            }
        });
        stop.store(true, Ordering::Relaxed);
        sweeper.join().unwrap();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    });
}

#[test]
fn other_files_are_skipped_and_never_block() {
    let (text, fifo) = (unique("text"), unique("fifo"));
    let _c = Cleanup(vec![text.clone(), fifo.clone()]);
    std::fs::write(path(&text), vec![b'x'; 1024]).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path(&fifo),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let (_, out, _) = run(&["ls"]);
    assert!(!out.contains(&text) && !out.contains(&fifo));
    let (_, out, _) = run(&["ls", "--all"]);
    assert!(out.contains(&text) && out.contains(&fifo), "{out}");
    for name in [&text, &fifo] {
        let (ok, _, err) = run(&["stat", name]);
        assert!(!ok && err.contains("not a shmq region"), "{err}");
        let (ok, _, _) = run(&["rm", name]);
        assert!(!ok, "rm refuses a file that is not a queue");
        let v = json(&["gc", "--json", name]);
        assert_eq!(v[0]["outcome"], "not-shmq");
        assert!(path(name).exists());
    }
    let (ok, _, err) = run(&["stat", &unique("missing")]);
    assert!(!ok && err.contains("No such file"), "{err}");
    assert!(run(&["rm", "--force", &text]).0);
}

#[test]
fn bench_runs_and_its_json_parses() {
    let _s = serial();
    let v = json(&["bench", "--rounds", "200", "--messages", "2000", "--json"]);
    for phase in ["floor_rtt_ns", "spsc_rtt_ns"] {
        let p = &v[phase];
        let (p50, max) = (p["p50"].as_u64().unwrap(), p["max"].as_u64().unwrap());
        assert!(p50 <= max, "{v}");
    }
    assert!(v["stream"]["ns_per_msg"].as_f64().unwrap() > 0.0);
    assert_eq!(v["messages"], 2000);
    let (ok, out, _) = run(&["bench", "--rounds", "100", "--messages", "100"]);
    assert!(
        ok && out.contains("floor") && out.contains("p99.9"),
        "{out}"
    );
}

#[test]
fn stat_watch_refreshes_with_rates() {
    let name = unique("watch");
    let _c = Cleanup(vec![name.clone()]);
    assert!(run(&["create", &name]).0);
    let args = [
        "stat",
        name.as_str(),
        "--watch",
        "--interval",
        "10ms",
        "--iterations",
        "3",
    ];
    let (ok, out, _) = run(&[&args[..], &["--json"]].concat());
    assert!(ok);
    let snapshots: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(snapshots.len(), 3);
    assert!(snapshots[0].get("rates_per_sec").is_none());
    assert_eq!(snapshots[2]["rates_per_sec"]["enqueued"], 0.0);
    let (ok, out, _) = run(&args);
    assert!(ok);
    assert_eq!(out.matches("name        ").count(), 3);
    assert!(out.contains("+0.0/s"), "{out}");
}

#[test]
fn a_leased_file_does_not_block_gc() {
    use std::os::fd::AsRawFd;
    let name = unique("lease");
    let _c = Cleanup(vec![name.clone()]);
    std::fs::write(path(&name), vec![0u8; 4096]).unwrap();
    let f = std::fs::File::open(path(&name)).unwrap();
    // A read lease: an open for writing (gc's) by another process waits for
    // it to be broken (up to /proc/sys/fs/lease-break-time, 45 s by default)
    // unless made O_NONBLOCK, which fails at once with EWOULDBLOCK. The
    // break is announced to the holder with SIGIO, whose default action
    // would end this test process.
    // SAFETY: ignoring SIGIO installs no handler; no test here uses SIGIO.
    unsafe { libc::signal(libc::SIGIO, libc::SIG_IGN) };
    // SAFETY: `f` is an open descriptor for the duration of the call;
    // F_SETLEASE takes an integer argument.
    let rc = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) };
    assert_eq!(rc, 0, "F_SETLEASE: {}", std::io::Error::last_os_error());
    let v = json(&["gc", "--json", &name]);
    assert_eq!(v[0]["outcome"], "not-shmq", "{v}");
    // "cannot read" (EWOULDBLOCK), not "no shmq magic word": the open did
    // not wait for the lease to go.
    assert!(
        v[0]["error"].as_str().unwrap().contains("cannot read"),
        "{v}"
    );
    assert!(path(&name).exists());
    drop(f);
}
