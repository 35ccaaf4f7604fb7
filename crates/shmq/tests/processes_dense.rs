//! Cross-process tests of the dense record queue (`shmq::dense`): real
//! processes, real mappings, real futexes.
//!
//! - a batched stream, every value checked in order;
//! - SIGKILL of the sender at a random point, the role taken over by a new
//!   process: the receiver sees whole batches only, gapless, no duplicate;
//! - SIGKILL of the receiver: its successor resumes at the released head;
//! - parked (futex) waits both ways, and `Disconnected` after the peer exits
//!   or dies.
//!
//! A scribbling (hostile) process is `hostile_dense.rs`.
//!
//! Children are this test binary re-executed (see `tests/common`); the
//! parent halves run one at a time (`serial()`). Every wait is bounded;
//! nothing asserts a duration or what the scheduler decides.

mod common;

use bytemuck::{Pod, Zeroable};
use common::{env_u64, role, serial, spawn, unique_name, until, Rng, CALL, NAME_ENV};
use shmq::dense::{Config, Queue};
use shmq::{RecvTimeoutError, SendTimeoutError, WaitMode};
use std::time::{Duration, Instant};

/// Bound of a child's whole life.
const CHILD: Duration = Duration::from_secs(300);
/// Environment variable: a child's generation (its records carry it).
const GEN_ENV: &str = "SHMQ_TEST_GEN";

fn name_env(name: &str) -> (&'static str, String) {
    (NAME_ENV, name.to_owned())
}

fn open_child_queue() -> Queue {
    Queue::open(&common::child_name()).unwrap()
}

/// A child's way to wait for SIGKILL: sleep, bounded.
fn linger() {
    std::thread::sleep(Duration::from_secs(120));
    panic!("the parent never killed this child");
}

/// A seed that differs between runs; printed, so a failure can be replayed
/// by hand.
fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let s = t.as_nanos() as u64 ^ u64::from(std::process::id()) << 32;
    println!("seed {s:#x}");
    s
}

/// A 24-byte record (the stride is 24: not a power of two). Every record of
/// a batch names the batch, its place in it and the batch's length, so a
/// receiver can tell a whole batch from a torn one.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
struct Rec {
    /// Position in the stream (0, 1, 2, … across every sender).
    seq: u64,
    /// The sender's generation (top 16 bits) and the `seq` of the batch's
    /// first record.
    batch: u64,
    /// Index in the batch.
    pos: u32,
    /// Records in the batch.
    len: u32,
}

const GEN_SHIFT: u32 = 48;
/// The bits of [`Rec::batch`] that hold the batch's first `seq`.
const FIRST: u64 = (1 << GEN_SHIFT) - 1;

/// The records of the batch of `len` records starting at `seq`, sent by
/// generation `gen`.
fn batch(gen: u64, seq: u64, len: u32) -> Vec<Rec> {
    (0..len)
        .map(|pos| Rec {
            seq: seq + u64::from(pos),
            batch: gen << GEN_SHIFT | seq,
            pos,
            len,
        })
        .collect()
}

/// What a receiver has checked so far of a stream of [`Rec`]s.
#[derive(Debug, Default)]
struct Checker {
    /// The next `seq` expected.
    next: u64,
    /// The batch being read (`None` between batches) and its length.
    open: Option<(u64, u32)>,
    /// The highest generation seen.
    gen: u64,
}

impl Checker {
    /// A checker for a stream whose first record is `seq` (a batch start).
    fn at(seq: u64) -> Self {
        Checker {
            next: seq,
            ..Default::default()
        }
    }

    /// Checks the next record: the next `seq` (no gap, no duplicate); if a
    /// batch is open, its next record (a batch is never torn); otherwise the
    /// first record of a new batch, of a generation no older than the last.
    fn check(&mut self, r: &Rec) {
        assert_eq!(r.seq, self.next, "gap or duplicate: {r:?} after {self:?}");
        let gen = r.batch >> GEN_SHIFT;
        match self.open {
            Some((b, len)) => {
                let want = (r.seq - (b & FIRST)) as u32;
                assert!(
                    r.batch == b && r.len == len && r.pos == want,
                    "torn batch: {r:?} after {self:?}"
                );
            }
            None => {
                assert!(
                    r.pos == 0 && r.len >= 1 && r.batch & FIRST == r.seq,
                    "not a batch start: {r:?} after {self:?}"
                );
                assert!(
                    gen >= self.gen,
                    "an older sender's record: {r:?} after {self:?}"
                );
                self.gen = gen;
            }
        }
        self.open = (r.pos + 1 < r.len).then_some((r.batch, r.len));
        self.next += 1;
    }

    /// Whether the stream stands between two batches.
    fn between_batches(&self) -> bool {
        self.open.is_none()
    }
}

#[test]
fn batched_stream_of_u64_in_order() {
    const TEST: &str = "batched_stream_of_u64_in_order";
    const TOTAL: u64 = 1_000_000;
    if let Some(r) = role() {
        assert_eq!(r, "sender");
        let q = open_child_queue();
        let mut tx = q.sender().unwrap();
        let mut rng = Rng::new(env_u64("SHMQ_TEST_SEED"));
        let mut seq = 0u64;
        while seq < TOTAL {
            // Batches of 1..=700: below, at and above a ring's worth (512).
            let len = (1 + rng.next_u64() % 700).min(TOTAL - seq);
            let values: Vec<u64> = (seq..seq + len).collect();
            let mut rest = &values[..];
            while !rest.is_empty() {
                let n = tx.send_slice(rest, CALL).unwrap();
                assert!((1..=rest.len()).contains(&n));
                rest = &rest[n..];
            }
            seq += len;
        }
        return;
    }
    let _serial = serial();
    let name = unique_name("dense-stream");
    let q = Queue::create(
        &name,
        Config {
            capacity: 512,
            record_size: 8,
        },
    )
    .unwrap();
    let mut rx = q.receiver().unwrap();
    let seed = seed();
    let mut child = spawn(
        TEST,
        "sender",
        &[name_env(&name), ("SHMQ_TEST_SEED", seed.to_string())],
    );
    let mut rng = Rng::new(seed ^ 1);
    let mut out = vec![0u64; 1024];
    let mut expected = 0u64;
    loop {
        let want = 1 + (rng.next_u64() % 1024) as usize;
        match rx.recv_slice(&mut out[..want], CALL) {
            Ok(n) => {
                assert!((1..=want).contains(&n));
                for &v in &out[..n] {
                    assert_eq!(v, expected, "after {expected} values");
                    expected += 1;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("after {expected} values: {e}"),
        }
    }
    assert_eq!(expected, TOTAL);
    child.expect_success(CHILD);
    let stats = q.stats();
    assert_eq!((stats.enqueued, stats.dequeued), (TOTAL, TOTAL));
    assert!(!stats.poisoned);
}

/// Capacity of the sender-takeover test's ring: large, so that the sender
/// is often still filling it (copying a batch) when it is killed.
const RING: u32 = 16384;
/// Environment variable: how many records a sender child sends from where it
/// resumes.
const COUNT_ENV: &str = "SHMQ_TEST_COUNT";
/// The first sender's count: far more than it can send before it is killed
/// (its `seq` still fits the 48 bits of [`FIRST`]).
const ENDLESS: u64 = FIRST;
/// Records the successor sends.
const SECOND: u64 = 100_000;

/// Child sender of [`Rec`] batches, generation `GEN_ENV`: resumes at the
/// published tail (`seq` = position), prints it, and sends batches of
/// 1..=256 records, `COUNT_ENV` records in all, each batch published by
/// **one** store: it waits until the whole batch fits before sending it.
fn send_batches() {
    let q = open_child_queue();
    let gen = env_u64(GEN_ENV);
    let mut tx = q.sender().unwrap();
    let mut seq = tx.stats().enqueued;
    let total = seq + env_u64(COUNT_ENV);
    println!("START {seq}");
    let mut rng = Rng::new(seq ^ gen << 32);
    let deadline = Instant::now() + CHILD;
    while seq < total {
        let len = (1 + rng.next_u64() % 256).min(total - seq) as u32;
        let recs = batch(gen, seq, len);
        // Room for the whole batch: the receiver only frees more, so the
        // send below finds at least this room and sends all of it at once.
        while tx.capacity() - tx.len() < recs.len() {
            assert!(Instant::now() < deadline, "the receiver stalled");
            std::thread::yield_now();
        }
        assert_eq!(tx.send_slice(&recs, CALL), Ok(recs.len()));
        seq += u64::from(len);
    }
}

/// Reads the records in slots `from..from + n` (positions) of a dense
/// region of [`Rec`]s through the file, without taking any role.
fn records_in_file(name: &str, from: u64, n: u64) -> Vec<Rec> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(common::shm_path(name)).unwrap();
    (from..from + n)
        .map(|p| {
            let mut r = Rec::zeroed();
            let off = 512 + (p % u64::from(RING)) * 24;
            f.read_exact_at(bytemuck::bytes_of_mut(&mut r), off)
                .unwrap();
            r
        })
        .collect()
}

/// Writes `recs` into their slots (by `seq`) through the file, as a sender
/// killed while copying them would have left them: unpublished. The caller
/// makes sure those slots are free (hold no record the receiver has yet to
/// read).
fn plant_records(name: &str, recs: &[Rec]) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(common::shm_path(name))
        .unwrap();
    for r in recs {
        let off = 512 + (r.seq % u64::from(RING)) * 24;
        f.write_all_at(bytemuck::bytes_of(r), off).unwrap();
    }
}

#[test]
fn killed_sender_is_replaced_and_batches_stay_whole() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    const TEST: &str = "killed_sender_is_replaced_and_batches_stay_whole";
    if let Some(r) = role() {
        assert_eq!(r, "sender");
        return send_batches();
    }
    let _serial = serial();
    let name = unique_name("dense-kill-tx");
    let q = Queue::create(
        &name,
        Config {
            capacity: RING,
            record_size: 24,
        },
    )
    .unwrap();
    assert_eq!(q.slot_size(), 24);
    let mut rx = q.receiver().unwrap();
    let mut rng = Rng::new(seed());
    let env = |gen: u32, count: u64| {
        [
            name_env(&name),
            (COUNT_ENV, count.to_string()),
            (GEN_ENV, gen.to_string()),
        ]
    };
    // The end of the stream, once the successor has told where it resumes.
    let end = AtomicU64::new(u64::MAX);
    let mut sizes = Rng::new(rng.next_u64());
    // Set when this thread's half ends (a failure too): the receiving thread
    // then stops instead of waiting for a stream that will not come.
    let over = AtomicBool::new(false);
    struct Over<'a>(&'a AtomicBool);
    impl Drop for Over<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let check = std::thread::scope(|s| {
        let receiver = s.spawn(|| {
            let rng = &mut sizes;
            let mut check = Checker::at(0);
            let mut out = vec![Rec::zeroed(); 300];
            let deadline = Instant::now() + CHILD;
            while check.next < end.load(Ordering::Relaxed) {
                assert!(Instant::now() < deadline, "stream stalled at {check:?}");
                assert!(!over.load(Ordering::Relaxed), "stopped at {check:?}");
                let want = 1 + (rng.next_u64() % 300) as usize;
                match rx.recv_slice(&mut out[..want], CALL) {
                    Ok(n) => out[..n].iter().for_each(|r| check.check(r)),
                    // The dead first sender, before its successor attached:
                    // wait on. (A successor that exits before sending
                    // everything fails the checks below; the deadline bounds
                    // the loop meanwhile.)
                    Err(RecvTimeoutError::Disconnected) => {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => panic!("at {check:?}: {e}"),
                }
            }
            assert_eq!(
                rx.recv_slice(&mut out, CALL),
                Err(RecvTimeoutError::Disconnected)
            );
            check
        });
        let _over = Over(&over);
        let mut first = spawn(TEST, "sender", &env(1, ENDLESS));
        first.wait_line("START", CALL).expect("sender started");
        // SIGKILL once the stream has passed a random point: the first
        // sender never runs out of records, so it is always mid-stream,
        // waiting for room, between two batches or copying one.
        let kill_at = 1 + rng.next_u64() % 200_000;
        until("the first sender's progress", || {
            q.stats().enqueued >= kill_at
        });
        first.kill("");
        let tail = q.stats().enqueued;
        // Read after `tail`: nobody publishes until the successor attaches,
        // the head only moves forward, and it is never past the tail nor a
        // ring behind it.
        let dequeued = q.stats().dequeued;
        assert!(tail >= kill_at, "tail {tail} before the kill point");
        assert!(
            (dequeued..=dequeued + u64::from(RING)).contains(&tail),
            "tail {tail}, dequeued {dequeued}"
        );
        // What the dead sender wrote past its published tail (a batch it was
        // copying when killed): never visible, overwritten by its successor.
        // Printed, not asserted: where the kill lands is the scheduler's.
        let unpublished = records_in_file(&name, tail, 256)
            .iter()
            .take_while(|r| r.seq >= tail && r.batch >> GEN_SHIFT == 1)
            .count();
        println!("killed at tail {tail}; {unpublished} unpublished records past it");
        if unpublished == 0 {
            // The kill landed outside a copy: leave what one would have left
            // (the first half of a 200-record batch past the tail), so that
            // every run checks that such records stay invisible. Only into
            // free slots: the others hold records not read yet.
            let free = u64::from(RING) - (tail - dequeued);
            let n = free.min(100) as usize;
            plant_records(&name, &batch(1, tail, 200)[..n]);
        }
        let mut second = spawn(TEST, "sender", &env(2, SECOND));
        let start: u64 = second.wait_line("START", CALL).unwrap().parse().unwrap();
        // The successor resumes at the published tail.
        assert_eq!(start, tail);
        end.store(start + SECOND, Ordering::Relaxed);
        // Until the second sender is done or the receiving thread stops (a
        // failed check there stops the stream: no point waiting for it).
        let deadline = Instant::now() + CHILD;
        while !second.exited() && !receiver.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the second sender never finished"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let check = receiver.join().unwrap();
        second.expect_success(CHILD);
        (check, start + SECOND)
    });
    let (check, total) = check;
    assert!(check.between_batches(), "the stream ended inside a batch");
    assert_eq!(check.gen, 2, "the successor's batches arrived");
    let stats = q.stats();
    assert_eq!((stats.enqueued, stats.dequeued), (total, total));
    assert!(!stats.poisoned);
}

/// Largest batch a receiver child takes at once.
const MAX_OUT: usize = 64;

#[test]
fn killed_receiver_is_replaced_at_its_released_head() {
    use std::sync::atomic::{AtomicBool, Ordering};
    const TEST: &str = "killed_receiver_is_replaced_at_its_released_head";
    const TOTAL: u64 = 200_000;
    if let Some(r) = role() {
        assert_eq!(r, "receiver");
        let q = open_child_queue();
        let mut rx = q.receiver().unwrap();
        let mut out = [0u64; MAX_OUT];
        let mut rng = Rng::new(u64::from(std::process::id()));
        let mut next: Option<u64> = None;
        loop {
            let want = 1 + (rng.next_u64() as usize % MAX_OUT);
            match rx.recv_slice(&mut out[..want], CALL) {
                Ok(n) => {
                    for &v in &out[..n] {
                        match next {
                            None => println!("FIRST {v}"),
                            Some(e) => assert_eq!(v, e),
                        }
                        next = Some(v + 1);
                    }
                    // The acknowledgement: once printed, the parent counts
                    // these records as processed.
                    println!("ACK {}", out[n - 1]);
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(next, Some(TOTAL));
        return;
    }
    let _serial = serial();
    let name = unique_name("dense-kill-rx");
    let q = Queue::create(
        &name,
        Config {
            capacity: 256,
            record_size: 8,
        },
    )
    .unwrap();
    let mut rng = Rng::new(seed());
    let kill_at = 5_000 + rng.next_u64() % 50_000;
    // The sender holds at `hold` until the first receiver is dead: that
    // receiver cannot finish the stream (nor exit) before its kill, which
    // lands anywhere between its acknowledging `kill_at` and the hold:
    // copying, acknowledging or waiting for data.
    let hold = kill_at + 1 + rng.next_u64() % 20_000;
    let killed = std::sync::Arc::new(AtomicBool::new(false));
    let mut tx = q.sender().unwrap();
    let sender = std::thread::spawn({
        let killed = std::sync::Arc::clone(&killed);
        move || {
            let mut rng = Rng::new(7);
            let deadline = Instant::now() + CHILD;
            let mut seq = 0;
            while seq < TOTAL {
                assert!(Instant::now() < deadline, "sender stalled at {seq}");
                let limit = if killed.load(Ordering::Relaxed) {
                    TOTAL
                } else {
                    hold
                };
                if seq >= limit {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                let len = (1 + rng.next_u64() % 100).min(limit - seq);
                let values: Vec<u64> = (seq..seq + len).collect();
                match tx.send_slice(&values, Duration::from_millis(100)) {
                    Ok(n) => seq += n as u64,
                    // Between the kill and the replacement: wait on.
                    Err(SendTimeoutError::Disconnected | SendTimeoutError::Timeout) => {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
    });
    let env = [name_env(&name)];
    let mut first = spawn(TEST, "receiver", &env);
    assert_eq!(first.wait_line("FIRST", CALL).as_deref(), Some("0"));
    let mut last_ack = 0;
    while last_ack < kill_at {
        last_ack = first
            .wait_line("ACK", CALL)
            .expect("receiver stalled")
            .parse()
            .unwrap();
    }
    let acked = first
        .kill("ACK")
        .iter()
        .map(|a| a.parse::<u64>().unwrap())
        .fold(last_ack, u64::max);
    killed.store(true, Ordering::Relaxed);
    let released = q.stats().dequeued;
    // `recv_slice` releases a batch (one store of the head) after copying
    // it and before returning it. So everything acknowledged was released,
    // and at most the one batch returned but not yet acknowledged was
    // released on top (it is not delivered again). A receiver killed inside
    // `recv_slice`, between the copy and the release, leaves that batch to
    // its successor: the redelivery window of docs/guarantees.md.
    assert!(
        (acked + 1..=acked + 1 + MAX_OUT as u64).contains(&released),
        "acked {acked}, released {released}"
    );
    let mut second = spawn(TEST, "receiver", &env);
    let first_seen: u64 = second.wait_line("FIRST", CALL).unwrap().parse().unwrap();
    assert_eq!(
        first_seen, released,
        "the new receiver starts at the released head"
    );
    sender.join().unwrap();
    // The sender was dropped at the end of its thread: the receiver drains,
    // sees Disconnected, checks it got everything up to TOTAL - 1, exits.
    second.expect_success(CHILD);
    let stats = q.stats();
    assert_eq!((stats.enqueued, stats.dequeued), (TOTAL, TOTAL));
    assert!(!stats.poisoned);
}

/// Records of the parked-wait streams.
const SLOW: u64 = 2_000;

/// Child sender for the parked-receiver test: waits until the receiver has
/// gone to sleep, then sends `0..SLOW` in batches of 1..=50 with a pause
/// after each (slower than the receiver), then exits (`then` = "exit") or
/// prints `SENT` and waits to be killed ("die").
fn slow_sender(then: &str) {
    let q = open_child_queue();
    let mut tx = q.sender().unwrap();
    tx.set_wait_mode(WaitMode::Park);
    until("the receiver to sleep", || {
        q.stats().wait.consumer_sleeps >= 1
    });
    let mut rng = Rng::new(3);
    let mut seq = 0;
    while seq < SLOW {
        let len = (1 + rng.next_u64() % 50).min(SLOW - seq);
        let values: Vec<u64> = (seq..seq + len).collect();
        let mut rest = &values[..];
        while !rest.is_empty() {
            let n = tx.send_slice(rest, CALL).unwrap();
            rest = &rest[n..];
        }
        seq += len;
        std::thread::sleep(Duration::from_micros(200));
    }
    match then {
        "exit" => {}
        "die" => {
            println!("SENT");
            linger();
        }
        other => panic!("unknown step {other}"),
    }
}

#[test]
fn parked_receiver_follows_a_slow_sender_then_sees_it_go() {
    const TEST: &str = "parked_receiver_follows_a_slow_sender_then_sees_it_go";
    if let Some(r) = role() {
        return slow_sender(&r);
    }
    let _serial = serial();
    for how in ["exit", "die"] {
        let name = unique_name("dense-park-rx");
        let q = Queue::create(
            &name,
            Config {
                capacity: 64,
                record_size: 8,
            },
        )
        .unwrap();
        let mut rx = q.receiver().unwrap();
        rx.set_wait_mode(WaitMode::Park);
        let mut child = spawn(TEST, how, &[name_env(&name)]);
        let mut out = [0u64; 64];
        let mut expected = 0u64;
        while expected < SLOW {
            let n = rx.recv_slice(&mut out, CALL).unwrap();
            for &v in &out[..n] {
                assert_eq!(v, expected);
                expected += 1;
            }
        }
        // The sender waited for the receiver's first sleep before sending.
        assert!(q.stats().wait.consumer_sleeps >= 1);
        if how == "die" {
            assert!(child.wait_line("SENT", CALL).is_some());
            std::thread::scope(|s| {
                let sleeps = q.stats().wait.consumer_sleeps;
                let waiter = s.spawn(|| rx.recv_slice(&mut out, CALL));
                until("the receiver to sleep again", || {
                    q.stats().wait.consumer_sleeps > sleeps
                });
                child.kill("");
                assert_eq!(waiter.join().unwrap(), Err(RecvTimeoutError::Disconnected));
            });
        } else {
            // Parked or not when the sender exits, the receiver drains and
            // then learns it is gone.
            assert_eq!(
                rx.recv_slice(&mut out, CALL),
                Err(RecvTimeoutError::Disconnected)
            );
            child.expect_success(CHILD);
        }
        assert!(!q.stats().poisoned);
    }
}

/// Child receiver for the parked-sender test: waits until the sender has
/// gone to sleep on a full ring, then takes `0..SLOW` in batches of 1..=7
/// with a pause after each (slower than the sender), prints `DONE`, waits
/// until the sender sleeps again, and exits (`then` = "exit") or waits to be
/// killed ("die").
fn slow_receiver(then: &str) {
    let q = open_child_queue();
    let mut rx = q.receiver().unwrap();
    println!("READY");
    until("the sender to sleep", || {
        q.stats().wait.producer_sleeps >= 1
    });
    let mut rng = Rng::new(5);
    let mut out = [0u64; 7];
    let mut expected = 0;
    while expected < SLOW {
        let want = 1 + (rng.next_u64() % 7) as usize;
        let n = rx.recv_slice(&mut out[..want], CALL).unwrap();
        for &v in &out[..n] {
            assert_eq!(v, expected);
            expected += 1;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let sleeps = q.stats().wait.producer_sleeps;
    println!("DONE {sleeps}");
    match then {
        "exit" => until("the sender to sleep again", || {
            q.stats().wait.producer_sleeps > sleeps
        }),
        "die" => linger(),
        other => panic!("unknown step {other}"),
    }
}

#[test]
fn parked_sender_follows_a_slow_receiver_then_sees_it_go() {
    const TEST: &str = "parked_sender_follows_a_slow_receiver_then_sees_it_go";
    if let Some(r) = role() {
        return slow_receiver(&r);
    }
    let _serial = serial();
    for how in ["exit", "die"] {
        let name = unique_name("dense-park-tx");
        let q = Queue::create(
            &name,
            Config {
                capacity: 16,
                record_size: 8,
            },
        )
        .unwrap();
        let mut tx = q.sender().unwrap();
        tx.set_wait_mode(WaitMode::Park);
        let mut child = spawn(TEST, how, &[name_env(&name)]);
        child.wait_line("READY", CALL).expect("child ready");
        let values: Vec<u64> = (0..SLOW).collect();
        let mut rest = &values[..];
        while !rest.is_empty() {
            let n = tx.send_slice(&rest[..rest.len().min(40)], CALL).unwrap();
            rest = &rest[n..];
        }
        // The receiver waited for the sender's first sleep before taking any.
        assert!(q.stats().wait.producer_sleeps >= 1);
        let sleeps: u32 = child.wait_line("DONE", CALL).unwrap().parse().unwrap();
        // Fill the ring; the next send parks until the receiver is gone.
        while tx.try_send_value(&0u64).is_ok() {}
        std::thread::scope(|s| {
            let waiter = s.spawn(|| tx.send_slice(&[1u64, 2], CALL));
            if how == "die" {
                until("the sender to sleep again", || {
                    q.stats().wait.producer_sleeps > sleeps
                });
                child.kill("");
            } else {
                child.expect_success(CHILD);
            }
            assert_eq!(waiter.join().unwrap(), Err(SendTimeoutError::Disconnected));
        });
        // A new receiver finds every committed record.
        let mut rx = q.receiver().unwrap();
        assert_eq!(rx.len(), 16);
        assert_eq!(rx.try_recv_slice(&mut [0u64; 32]), Ok(16));
        assert!(!q.stats().poisoned);
    }
}
