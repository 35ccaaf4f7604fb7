//! `bench`: a quick cross-process measurement between this process and a
//! second `shmq` process it spawns (`shmq __bench-peer`).
//!
//! Three phases, in this order, with the same peer:
//! 1. the **floor**: two processes bouncing a counter through two atomics on
//!    separate 128-byte lines of a shared file (as `benches/` measures it):
//!    the round trip the hardware allows, which every figure is read against
//!    (on a VM the two vCPUs may sit close or far apart, and that changes
//!    between runs);
//! 2. **ping-pong**: a `u64` to the peer over one SPSC queue and back over
//!    another, busy-polling `try_send`/`try_recv`: round-trip percentiles;
//! 3. **stream**: `messages` `u64`s to the peer, one `try_send` each; the peer
//!    checks their order and answers once; time per message.
//!
//! Every wait is bounded ([`STEP_BOUND`]): a peer that dies or stops makes
//! the run fail, never hang. The queues are non-persistent regions created
//! by the parent; the floor file is removed by the parent when it ends.

use crate::Failure;
use indicatif::{ProgressBar, ProgressStyle};
use memmap2::{MmapOptions, MmapRaw};
use serde_json::json;
use shmq::spsc;
use shmq::{TryRecvError, TrySendError};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Longest any single wait of the benchmark may take.
const STEP_BOUND: Duration = Duration::from_secs(10);
/// Value the peer sends when it is ready, and when the stream is checked.
const READY: u64 = u64::MAX;
/// Bytes of the floor file (two lines used).
const FLOOR_BYTES: u64 = 4096;
/// Offsets of the floor's ping and pong words (separate 128-byte lines).
const PING: usize = 0;
const PONG: usize = 128;
/// Progress is reported every this many operations.
const TICK: u64 = 1 << 12;

/// A busy wait with a bound: a spin hint per step; every 1024 steps it reads
/// the clock (only then: a fast round trip pays no clock read) and yields.
struct Spin {
    steps: u32,
    since: Option<Instant>,
    what: &'static str,
}

impl Spin {
    fn new(what: &'static str) -> Self {
        Spin {
            steps: 0,
            since: None,
            what,
        }
    }

    #[inline(always)]
    fn step(&mut self) -> Result<(), Failure> {
        std::hint::spin_loop();
        self.steps = self.steps.wrapping_add(1);
        if self.steps % 1024 == 0 {
            self.slow()?;
        }
        Ok(())
    }

    #[cold]
    fn slow(&mut self) -> Result<(), Failure> {
        let since = *self.since.get_or_insert_with(Instant::now);
        if since.elapsed() > STEP_BOUND {
            return Err(format!("bench: timed out waiting for {}", self.what).into());
        }
        std::thread::yield_now();
        Ok(())
    }

    /// Ready for the next wait.
    fn reset(&mut self) {
        self.steps = 0;
        self.since = None;
    }
}

fn floor_path(prefix: &str) -> PathBuf {
    PathBuf::from(shmq::admin::SHM_DIR).join(format!("{prefix}-floor"))
}

/// The floor file, mapped.
struct Floor {
    map: MmapRaw,
}

impl Floor {
    fn map(prefix: &str, create: bool) -> Result<Floor, Failure> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(create)
            .mode(0o600)
            // The floor file is in a shared directory: never follow a link.
            .custom_flags(libc::O_NOFOLLOW)
            .open(floor_path(prefix))?;
        if create {
            file.set_len(FLOOR_BYTES)?;
        } else if file.metadata()?.len() < FLOOR_BYTES {
            return Err("bench: floor file too small".into());
        }
        let map = MmapOptions::new()
            .len(FLOOR_BYTES as usize)
            .map_raw(&file)?;
        Ok(Floor { map })
    }

    /// The atomic at `off` (`PING` or `PONG`).
    fn word(&self, off: usize) -> &AtomicU64 {
        assert!(off % 8 == 0 && off + 8 <= self.map.len());
        // SAFETY: the mapping is page aligned and at least FLOOR_BYTES long
        // (checked at map time and above), so `off` is in bounds and 8-aligned;
        // it stays mapped while `self` (which the reference borrows) lives;
        // the other process accesses these bytes only through atomics too,
        // and every bit pattern is a valid u64.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(off).cast::<u64>()) }
    }
}

/// Round-trip percentiles in nanoseconds.
#[derive(Debug)]
struct Percentiles {
    min: u64,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
}

impl Percentiles {
    fn of(mut ns: Vec<u64>) -> Percentiles {
        ns.sort_unstable();
        let at = |q: f64| {
            let i = ((ns.len() as f64 * q).ceil() as usize).clamp(1, ns.len().max(1)) - 1;
            ns.get(i).copied().unwrap_or(0)
        };
        Percentiles {
            min: ns.first().copied().unwrap_or(0),
            p50: at(0.5),
            p99: at(0.99),
            p999: at(0.999),
            max: ns.last().copied().unwrap_or(0),
        }
    }

    fn json(&self) -> serde_json::Value {
        json!({ "min": self.min, "p50": self.p50, "p99": self.p99, "p999": self.p999, "max": self.max })
    }

    fn line(&self) -> String {
        format!(
            "p50 {:>7} ns  p99 {:>7} ns  p99.9 {:>7} ns  max {:>9} ns",
            self.p50, self.p99, self.p999, self.max
        )
    }
}

/// Removes the floor file and reaps the peer (killing it if it must).
struct Cleanup {
    prefix: String,
    child: Option<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(floor_path(&self.prefix));
        if let Some(mut child) = self.child.take() {
            let end = Instant::now() + STEP_BOUND;
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= end => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
    }
}

fn queue(prefix: &str, what: &str, capacity: u32) -> Result<spsc::Queue, Failure> {
    Ok(spsc::Queue::builder(&format!("{prefix}-{what}"))
        .capacity(capacity)
        .slot_size(8)
        .create()?)
}

fn send(tx: &mut spsc::Sender, v: u64, spin: &mut Spin) -> Result<(), Failure> {
    spin.reset();
    loop {
        match tx.try_send_value(&v) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full) => spin.step()?,
            Err(e) => return Err(format!("bench: send: {e}").into()),
        }
    }
}

fn recv(rx: &mut spsc::Receiver, spin: &mut Spin) -> Result<u64, Failure> {
    spin.reset();
    loop {
        match rx.try_recv_value::<u64>() {
            Ok(v) => return Ok(v),
            Err(TryRecvError::Empty) => spin.step()?,
            Err(e) => return Err(format!("bench: receive: {e}").into()),
        }
    }
}

fn progress(total: u64, quiet: bool) -> ProgressBar {
    // Only long runs get a bar (and indicatif draws nothing when stderr is
    // not a terminal).
    if quiet || total < 1_000_000 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{msg:12} [{bar:40}] {percent:>3}%") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

pub(crate) fn run(
    rounds: u64,
    messages: u64,
    json_out: bool,
    quiet: bool,
) -> Result<ExitCode, Failure> {
    let rounds = rounds.max(1);
    let warm = (rounds / 10).max(1);
    let total = warm + rounds;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let prefix = format!("shmq-bench-{}-{stamp:x}", std::process::id());
    let mut cleanup = Cleanup {
        prefix: prefix.clone(),
        child: None,
    };
    let floor = Floor::map(&prefix, true)?;
    let (ping_q, pong_q, stream_q) = (
        queue(&prefix, "ping", 8)?,
        queue(&prefix, "pong", 8)?,
        queue(&prefix, "stream", 4096)?,
    );
    let (mut ping, mut pong, mut stream) =
        (ping_q.sender()?, pong_q.receiver()?, stream_q.sender()?);
    cleanup.child = Some(
        Command::new(std::env::current_exe()?)
            .args([
                "__bench-peer",
                &prefix,
                &total.to_string(),
                &messages.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?,
    );
    let mut spin = Spin::new("the peer to start");
    if recv(&mut pong, &mut spin)? != READY {
        return Err("bench: unexpected first message from the peer".into());
    }
    let bar = progress(2 * total + messages, quiet || json_out);

    // 1. Floor.
    bar.set_message("floor");
    let (p, q) = (floor.word(PING), floor.word(PONG));
    let mut spin = Spin::new("the floor reply");
    let mut floor_ns = Vec::with_capacity(rounds as usize);
    for i in 1..=total {
        let t = Instant::now();
        // Release/Acquire: pair with the peer's Acquire load of ping and
        // Release store of pong.
        p.store(i, Ordering::Release);
        spin.reset();
        while q.load(Ordering::Acquire) != i {
            spin.step()?;
        }
        if i > warm {
            floor_ns.push(t.elapsed().as_nanos() as u64);
        }
        if i % TICK == 0 {
            bar.inc(TICK);
        }
    }

    // 2. Ping-pong over two SPSC queues.
    bar.set_message("ping-pong");
    let mut spin = Spin::new("the ping-pong reply");
    let mut rtt_ns = Vec::with_capacity(rounds as usize);
    for i in 1..=total {
        let t = Instant::now();
        send(&mut ping, i, &mut spin)?;
        let v = recv(&mut pong, &mut spin)?;
        if v != i {
            return Err(format!("bench: ping-pong reply {v}, expected {i}").into());
        }
        if i > warm {
            rtt_ns.push(t.elapsed().as_nanos() as u64);
        }
        if i % TICK == 0 {
            bar.inc(TICK);
        }
    }

    // 3. Stream.
    bar.set_message("stream");
    let mut spin = Spin::new("room in the stream");
    let t = Instant::now();
    for i in 1..=messages {
        send(&mut stream, i, &mut spin)?;
        if i % TICK == 0 {
            bar.inc(TICK);
        }
    }
    let mut spin = Spin::new("the end of the stream");
    if recv(&mut pong, &mut spin)? != READY {
        return Err("bench: the peer did not confirm the stream".into());
    }
    let stream_time = t.elapsed();
    bar.finish_and_clear();
    drop(cleanup);

    let floor = Percentiles::of(floor_ns);
    let rtt = Percentiles::of(rtt_ns);
    let per_msg = stream_time.as_nanos() as f64 / messages.max(1) as f64;
    let rate = if per_msg > 0.0 { 1e9 / per_msg } else { 0.0 };
    let mut out = std::io::stdout().lock();
    if json_out {
        let v = json!({
            "rounds": rounds,
            "warmup": warm,
            "messages": messages,
            "floor_rtt_ns": floor.json(),
            "spsc_rtt_ns": rtt.json(),
            "rtt_p50_over_floor_p50": if floor.p50 > 0 { rtt.p50 as f64 / floor.p50 as f64 } else { 0.0 },
            "stream": { "ns_per_msg": per_msg, "msgs_per_sec": rate },
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(out, "two processes, {rounds} round trips (after {warm} warm-up), {messages} stream messages")?;
        writeln!(out, "floor (atomic ping-pong)    {}", floor.line())?;
        writeln!(out, "spsc ping-pong, u64         {}", rtt.line())?;
        writeln!(
            out,
            "spsc stream, u64            {per_msg:.1} ns/msg ({:.1} M msg/s)",
            rate / 1e6
        )?;
        if floor.p50 > 0 {
            writeln!(
                out,
                "ping-pong p50 / floor p50   {:.2}",
                rtt.p50 as f64 / floor.p50 as f64
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The second process: the peer of every phase of [`run`].
pub(crate) fn peer(prefix: &str, total: u64, messages: u64) -> Result<ExitCode, Failure> {
    let open = |what: &str| spsc::Queue::open(&format!("{prefix}-{what}"));
    let floor = Floor::map(prefix, false)?;
    let (mut ping, mut pong, mut stream) = (
        open("ping")?.receiver()?,
        open("pong")?.sender()?,
        open("stream")?.receiver()?,
    );
    let mut spin = Spin::new("the parent");
    send(&mut pong, READY, &mut spin)?;

    let (p, q) = (floor.word(PING), floor.word(PONG));
    let mut spin = Spin::new("the floor ping");
    for i in 1..=total {
        spin.reset();
        // Acquire/Release: pair with the parent's Release store of ping and
        // Acquire load of pong.
        while p.load(Ordering::Acquire) != i {
            spin.step()?;
        }
        q.store(i, Ordering::Release);
    }

    let mut spin = Spin::new("the ping");
    for _ in 1..=total {
        let v = recv(&mut ping, &mut spin)?;
        send(&mut pong, v, &mut spin)?;
    }

    let mut spin = Spin::new("the stream");
    for i in 1..=messages {
        let v = recv(&mut stream, &mut spin)?;
        if v != i {
            return Err(format!("bench peer: stream message {v}, expected {i}").into());
        }
    }
    send(&mut pong, READY, &mut spin)?;
    Ok(ExitCode::SUCCESS)
}
