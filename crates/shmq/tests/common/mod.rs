//! Helpers shared by the integration tests: unique names, region patching,
//! and child processes that re-execute the test binary in a role.
#![allow(dead_code)]

use std::io::Write;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Bound on any single cross-process step of a test (a child starting, a
/// message arriving): generous, only there so that nothing hangs forever.
pub const CALL: Duration = Duration::from_secs(30);

/// Serialises the heavy cross-process tests of one test binary: on two cores,
/// two of them spinning at once starve each other.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `cond` (bounded by [`CALL`]), sleeping between polls.
pub fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + CALL;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Environment variable that tells a re-executed test binary its role.
pub const ROLE_ENV: &str = "SHMQ_TEST_ROLE";
/// Environment variable carrying the queue name to a child.
pub const NAME_ENV: &str = "SHMQ_TEST_NAME";

/// The role this process was started in, if it is a child.
pub fn role() -> Option<String> {
    std::env::var(ROLE_ENV).ok()
}

/// The queue name passed to a child.
pub fn child_name() -> String {
    std::env::var(NAME_ENV).expect("child started without a queue name")
}

/// An environment variable of a child, parsed.
pub fn env_u64(key: &str) -> u64 {
    std::env::var(key)
        .unwrap_or_else(|_| panic!("missing {key}"))
        .parse()
        .unwrap_or_else(|_| panic!("bad {key}"))
}

/// A queue name unique to this process and call.
pub fn unique_name(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("shmq-test-{tag}-{}-{n}", std::process::id())
}

/// Path of a region in /dev/shm.
pub fn shm_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new("/dev/shm").join(name)
}

/// Removes a region file if it exists (test cleanup).
pub fn cleanup(name: &str) {
    let _ = std::fs::remove_file(shm_path(name));
}

/// Overwrites the 32-bit little-endian word at byte `off` of a region file.
pub fn write_word(name: &str, off: u64, value: u32) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(shm_path(name))
        .unwrap();
    f.write_all_at(&value.to_le_bytes(), off).unwrap();
}

/// A tiny deterministic PRNG (xorshift64*), enough for scribbling.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a nonzero seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The checksum carried next to sequence number `seq`.
pub fn checksum(seq: u64) -> u64 {
    (seq ^ 0x5eed_5eed_5eed_5eed).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Encodes message `seq` into `buf`: seq, checksum, then `seq % 17` filler
/// bytes. Returns the length (16..=32).
pub fn encode(seq: u64, buf: &mut [u8; 64]) -> usize {
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    buf[8..16].copy_from_slice(&checksum(seq).to_le_bytes());
    let extra = (seq % 17) as usize;
    for (i, b) in buf[16..16 + extra].iter_mut().enumerate() {
        *b = (seq as u8).wrapping_add(i as u8);
    }
    16 + extra
}

/// Decodes and checks a message; returns its sequence number.
pub fn decode(msg: &[u8]) -> u64 {
    assert!(msg.len() >= 16, "short message of {} bytes", msg.len());
    let seq = u64::from_le_bytes(msg[..8].try_into().unwrap());
    let sum = u64::from_le_bytes(msg[8..16].try_into().unwrap());
    assert_eq!(sum, checksum(seq), "bad checksum for {seq}");
    assert_eq!(msg.len(), 16 + (seq % 17) as usize, "bad length for {seq}");
    for (i, b) in msg[16..].iter().enumerate() {
        assert_eq!(
            *b,
            (seq as u8).wrapping_add(i as u8),
            "bad filler for {seq}"
        );
    }
    seq
}

/// The text after `marker` in `line`, trimmed. The marker may follow other
/// text: libtest prints `test <name> ... ` without a newline before the
/// test's own output.
fn after(line: &str, marker: &str) -> Option<String> {
    line.find(marker)
        .map(|i| line[i + marker.len()..].trim().to_owned())
}

/// A child process running one test of this binary in a role, with its
/// stdout lines delivered through a channel.
#[derive(Debug)]
pub struct ChildProc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Starts `current_exe --exact <test> --nocapture` with `ROLE_ENV=role`.
pub fn spawn(test: &str, role: &str, envs: &[(&str, String)]) -> ChildProc {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, role)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    ChildProc {
        child,
        stdin,
        lines,
        reader: Some(reader),
    }
}

impl ChildProc {
    /// Closes the child's stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Writes one line to the child's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next line containing `prefix` (others are skipped), with the
    /// prefix removed; `None` if the child's stdout closed or `timeout` passed.
    pub fn wait_line(&self, prefix: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = after(&line, prefix) {
                        return Some(rest);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Lines received so far that contain `prefix`, without blocking.
    pub fn take_lines(&self, prefix: &str) -> Vec<String> {
        self.lines
            .try_iter()
            .filter_map(|l| after(&l, prefix))
            .collect()
    }

    /// Kills the child with SIGKILL and reaps it; returns every remaining
    /// stdout line containing `prefix` (all output up to its death).
    pub fn kill(&mut self, prefix: &str) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.take_lines(prefix)
    }

    /// Waits (bounded) for the child to exit; kills it and panics on expiry.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if let Some(r) = self.reader.take() {
                    let _ = r.join();
                }
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("child did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits (bounded) for the child and asserts it succeeded.
    pub fn expect_success(&mut self, timeout: Duration) {
        let status = self.wait(timeout);
        assert!(status.success(), "child failed: {status}");
    }

    /// Whether the child has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        // Never leave a child behind when a test fails.
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
