//! Cross-process tests: real processes, real mappings.
//!
//! Children are this test binary re-executed (`--exact <test> --nocapture`)
//! with `SHMQ_TEST_ROLE` naming their part; each test function first checks
//! whether it runs as such a child. The parent halves take a global lock so
//! that the heavy tests run one at a time (the machine has two cores).
//! Every wait is bounded; children are killed when a parent half fails.

mod common;

use common::{decode, encode, role, serial, spawn, unique_name, ChildProc, CALL, NAME_ENV};
use shmq::spsc::{Config, Pacing, Queue};
use shmq::{
    EndpointState, Error, RecvTimeoutError, Role, SendTimeoutError, TryRecvError, TrySendError,
};
use std::time::{Duration, Instant};

/// Bound of a child's whole life.
const CHILD: Duration = Duration::from_secs(300);

fn name_env(name: &str) -> (&'static str, String) {
    (NAME_ENV, name.to_owned())
}

/// A child's way to wait for SIGKILL: sleep, bounded.
fn linger() {
    let end = Instant::now() + Duration::from_secs(120);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the parent never killed this child");
}

fn open_child_queue() -> Queue {
    Queue::open(&common::child_name()).unwrap()
}

/// Child producer: sends messages `start..total`, where `start` is where the
/// ring stands after taking the role (the recovered tail), then exits.
fn produce(total: u64) {
    let q = open_child_queue();
    let mut tx = q.sender().unwrap();
    let start = q.stats().enqueued;
    println!("START {start}");
    let mut buf = [0u8; 64];
    for seq in start..total {
        let n = encode(seq, &mut buf);
        tx.send(&buf[..n], CALL).unwrap();
    }
}

#[test]
fn roles_are_exclusive_across_processes() {
    const TEST: &str = "roles_are_exclusive_across_processes";
    match role().as_deref() {
        Some("try-sender") => {
            let q = open_child_queue();
            assert!(matches!(q.sender(), Err(Error::RoleTaken(Role::Sender))));
            // The other role is free.
            let _rx = q.receiver().unwrap();
            return;
        }
        Some("take-sender") => {
            let _tx = open_child_queue().sender().unwrap();
            return;
        }
        Some("hold-sender") => {
            let _tx = open_child_queue().sender().unwrap();
            println!("HOLDING");
            return linger();
        }
        Some(other) => panic!("unknown role {other}"),
        None => {}
    }
    let _serial = serial();
    let name = unique_name("roles");
    let q = Queue::create(
        &name,
        Config {
            capacity: 8,
            slot_size: 8,
        },
    )
    .unwrap();
    let env = [name_env(&name)];

    let tx = q.sender().unwrap();
    spawn(TEST, "try-sender", &env).expect_success(CHILD);
    drop(tx);
    spawn(TEST, "take-sender", &env).expect_success(CHILD);

    let mut holder = spawn(TEST, "hold-sender", &env);
    assert!(holder.wait_line("HOLDING", CALL).is_some());
    assert!(matches!(q.sender(), Err(Error::RoleTaken(Role::Sender))));
    holder.kill("");
    // The kernel released the dead holder's lock; its state word still says attached.
    assert_eq!(q.stats().producer, EndpointState::Attached);
    let _tx = q.sender().unwrap();
    assert!(matches!(q.sender(), Err(Error::RoleTaken(Role::Sender))));
}

#[test]
fn stream_of_a_million_messages() {
    const TEST: &str = "stream_of_a_million_messages";
    const TOTAL: u64 = 1_000_000;
    if let Some(r) = role() {
        assert_eq!(r, "producer");
        return produce(TOTAL);
    }
    let _serial = serial();
    let name = unique_name("stream");
    let q = Queue::create(
        &name,
        Config {
            capacity: 1024,
            slot_size: 64,
        },
    )
    .unwrap();
    let mut rx = q.receiver().unwrap();
    let mut child = spawn(TEST, "producer", &[name_env(&name)]);
    let mut buf = [0u8; 64];
    let mut expected = 0u64;
    loop {
        match rx.recv(&mut buf, CALL) {
            Ok(n) => {
                assert_eq!(decode(&buf[..n]), expected);
                expected += 1;
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("after {expected} messages: {e}"),
        }
    }
    assert_eq!(expected, TOTAL);
    child.expect_success(CHILD);
    let stats = q.stats();
    assert_eq!((stats.enqueued, stats.dequeued), (TOTAL, TOTAL));
    assert_eq!(stats.producer, EndpointState::Closed);
    assert!(!stats.poisoned);
}

/// Both ends in `Pacing::Throughput` (B-Queue batching) across processes:
/// every message arrives once, in order, whether taken by `try_recv` (which
/// may report a soft `Empty`) or by `recv`, and `Disconnected` comes only
/// after the last one: the waiting loop's exact re-checks drain the ring.
#[test]
fn throughput_paced_stream_drains_then_disconnects() {
    const TEST: &str = "throughput_paced_stream_drains_then_disconnects";
    const TOTAL: u64 = 200_000;
    if let Some(r) = role() {
        assert_eq!(r, "producer");
        let q = open_child_queue();
        let mut tx = q.sender().unwrap();
        tx.set_pacing(Pacing::Throughput);
        let mut buf = [0u8; 64];
        for seq in 0..TOTAL {
            let n = encode(seq, &mut buf);
            if seq % 3 == 0 {
                tx.send(&buf[..n], CALL).unwrap();
            } else {
                // try_send, retried: a soft Full while fewer than a batch of
                // slots are free is allowed; losing the message is not.
                let deadline = Instant::now() + CALL;
                loop {
                    match tx.try_send(&buf[..n]) {
                        Ok(()) => break,
                        Err(TrySendError::Full) if Instant::now() < deadline => {
                            std::thread::yield_now()
                        }
                        Err(e) => panic!("message {seq}: {e}"),
                    }
                }
            }
        }
        // A lone last message after a pause: delivered, not held back.
        std::thread::sleep(Duration::from_millis(20));
        let n = encode(TOTAL, &mut buf);
        tx.send(&buf[..n], CALL).unwrap();
        return;
    }
    let _serial = serial();
    let name = unique_name("paced");
    let q = Queue::create(
        &name,
        Config {
            capacity: 256,
            slot_size: 64,
        },
    )
    .unwrap();
    let mut rx = q.receiver().unwrap();
    rx.set_pacing(Pacing::Throughput);
    let mut child = spawn(TEST, "producer", &[name_env(&name)]);
    let mut buf = [0u8; 64];
    let mut expected = 0u64;
    loop {
        let r = if expected % 2 == 0 {
            rx.recv(&mut buf, CALL).map_err(Some)
        } else {
            match rx.try_recv(&mut buf) {
                Ok(n) => Ok(n),
                Err(TryRecvError::Empty) => {
                    std::thread::yield_now();
                    continue;
                }
                Err(TryRecvError::Disconnected) => Err(Some(RecvTimeoutError::Disconnected)),
                Err(e) => panic!("after {expected} messages: {e}"),
            }
        };
        match r {
            Ok(n) => {
                assert_eq!(decode(&buf[..n]), expected);
                expected += 1;
            }
            Err(Some(RecvTimeoutError::Disconnected)) => break,
            Err(e) => panic!("after {expected} messages: {e:?}"),
        }
    }
    assert_eq!(expected, TOTAL + 1, "every message, the lone last one too");
    child.expect_success(CHILD);
    let stats = q.stats();
    assert_eq!((stats.enqueued, stats.dequeued), (TOTAL + 1, TOTAL + 1));
    assert!(!stats.poisoned);
}

#[test]
fn killed_producer_is_replaced_without_gap_or_duplicate() {
    const TEST: &str = "killed_producer_is_replaced_without_gap_or_duplicate";
    const TOTAL: u64 = 300_000;
    const KILL_AT: u64 = 50_000;
    if let Some(r) = role() {
        assert_eq!(r, "producer");
        return produce(TOTAL);
    }
    let _serial = serial();
    let name = unique_name("producer-kill");
    let q = Queue::create(
        &name,
        Config {
            capacity: 256,
            slot_size: 64,
        },
    )
    .unwrap();
    let mut rx = q.receiver().unwrap();
    let env = [name_env(&name)];
    let mut first = spawn(TEST, "producer", &env);
    let mut second: Option<ChildProc> = None;
    let mut second_done = false;
    let mut buf = [0u8; 64];
    let mut expected = 0u64;
    let deadline = Instant::now() + CHILD;
    loop {
        assert!(Instant::now() < deadline, "stream stalled at {expected}");
        match rx.recv(&mut buf, CALL) {
            Ok(n) => {
                // Continuity across the takeover: no gap, no duplicate.
                assert_eq!(decode(&buf[..n]), expected);
                expected += 1;
            }
            // The dead first producer, before the second attached: wait on.
            Err(RecvTimeoutError::Disconnected) if !second_done => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("after {expected} messages: {e}"),
        }
        if expected >= KILL_AT && second.is_none() {
            first.kill("");
            let received = expected;
            let replacement = spawn(TEST, "producer", &env);
            let start: u64 = replacement
                .wait_line("START", CALL)
                .unwrap()
                .parse()
                .unwrap();
            // The new producer resumes after the last committed message: at
            // or after what we have received, at most a ring ahead of it.
            assert!(
                (received..=received + 256).contains(&start),
                "start {start}, received {received}"
            );
            second = Some(replacement);
        }
        if let Some(child) = second.as_mut() {
            // Checked after a receive: a Disconnected seen from now on is final.
            second_done = second_done || child.exited();
        }
    }
    assert_eq!(expected, TOTAL);
    second.unwrap().expect_success(CHILD);
    assert!(!q.stats().poisoned);
}

#[test]
fn killed_consumer_is_replaced_at_its_released_head() {
    const TEST: &str = "killed_consumer_is_replaced_at_its_released_head";
    const TOTAL: u64 = 100_000;
    const KILL_AT: u64 = 20_000;
    if let Some(r) = role() {
        assert_eq!(r, "consumer");
        let q = open_child_queue();
        let mut rx = q.receiver().unwrap();
        let mut buf = [0u8; 64];
        let mut last: Option<u64> = None;
        loop {
            match rx.recv(&mut buf, CALL) {
                Ok(n) => {
                    let seq = decode(&buf[..n]);
                    match last {
                        None => println!("FIRST {seq}"),
                        Some(prev) => assert_eq!(seq, prev + 1),
                    }
                    last = Some(seq);
                    // The acknowledgement: once printed, the parent counts
                    // this message as processed.
                    println!("ACK {seq}");
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(last, Some(TOTAL - 1));
        return;
    }
    let _serial = serial();
    let name = unique_name("consumer-kill");
    let q = Queue::create(
        &name,
        Config {
            capacity: 256,
            slot_size: 64,
        },
    )
    .unwrap();
    let mut tx = q.sender().unwrap();
    let producer = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let deadline = Instant::now() + CHILD;
        for seq in 0..TOTAL {
            let n = encode(seq, &mut buf);
            loop {
                assert!(Instant::now() < deadline, "producer stalled at {seq}");
                match tx.send(&buf[..n], Duration::from_millis(100)) {
                    Ok(()) => break,
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
    let mut first = spawn(TEST, "consumer", &env);
    assert_eq!(first.wait_line("FIRST", CALL).as_deref(), Some("0"));
    loop {
        let ack: u64 = first
            .wait_line("ACK", CALL)
            .expect("consumer stalled")
            .parse()
            .unwrap();
        if ack >= KILL_AT {
            break;
        }
    }
    let acked = first
        .kill("ACK")
        .iter()
        .map(|a| a.parse::<u64>().unwrap())
        .max()
        .unwrap_or(KILL_AT);
    let released = q.stats().dequeued;
    // The window between "acknowledged" and "released": `try_recv` releases a
    // slot (stores the head) right after copying the message out, before it
    // returns. So the head is either just past the last acknowledged message
    // (`acked + 1`), or one further when the consumer was killed after
    // `recv` returned message `acked + 1` but before it printed the
    // acknowledgement: that message was delivered to the dead consumer and is
    // not delivered again. A consumer killed *inside* `try_recv`, between the
    // copy and the release, leaves the head at `acked + 1`, and that message
    // is delivered again (the redelivery window of docs/guarantees.md).
    assert!(
        released == acked + 1 || released == acked + 2,
        "acked {acked}, released {released}"
    );
    let mut second = spawn(TEST, "consumer", &env);
    let first_seen: u64 = second.wait_line("FIRST", CALL).unwrap().parse().unwrap();
    assert_eq!(
        first_seen, released,
        "the new consumer starts at the released head"
    );
    producer.join().unwrap();
    // The sender was dropped at the end of the thread: the consumer drains,
    // sees Disconnected, checks it got everything up to TOTAL - 1, and exits.
    second.expect_success(CHILD);
    assert_eq!(q.stats().dequeued, TOTAL);
}

#[test]
fn receiver_disconnected_after_producer_exits_or_dies() {
    const TEST: &str = "receiver_disconnected_after_producer_exits_or_dies";
    const N: u64 = 1000;
    match role().as_deref() {
        Some(r @ ("send-exit" | "send-die")) => {
            let q = open_child_queue();
            let mut tx = q.sender().unwrap();
            for i in 0..N {
                tx.try_send_value(&i).unwrap();
            }
            if r == "send-die" {
                println!("SENT");
                linger();
            }
            return;
        }
        Some(other) => panic!("unknown role {other}"),
        None => {}
    }
    let _serial = serial();
    for how in ["send-exit", "send-die"] {
        let name = unique_name("disconnect");
        let q = Queue::create(
            &name,
            Config {
                capacity: 1024,
                slot_size: 8,
            },
        )
        .unwrap();
        let mut rx = q.receiver().unwrap();
        let mut child = spawn(TEST, how, &[name_env(&name)]);
        if how == "send-exit" {
            child.expect_success(CHILD);
            assert_eq!(q.stats().producer, EndpointState::Closed);
        } else {
            assert!(child.wait_line("SENT", CALL).is_some());
        }
        for i in 0..N {
            assert_eq!(rx.try_recv_value::<u64>(), Ok(i));
        }
        if how == "send-exit" {
            // A closed producer is seen at once.
            assert_eq!(rx.try_recv_value::<u64>(), Err(TryRecvError::Disconnected));
        } else {
            // A live producer in another process: empty, however often we
            // ask (lock checks included).
            for _ in 0..200 {
                assert_eq!(rx.try_recv_value::<u64>(), Err(TryRecvError::Empty));
            }
            assert_eq!(
                rx.recv_value::<u64>(Duration::from_millis(5)),
                Err(RecvTimeoutError::Timeout)
            );
            child.kill("");
            assert_eq!(q.stats().producer, EndpointState::Attached);
            // A dead one at the next rate-limited lock check, within 64
            // consecutive empty polls.
            assert!(
                (1..=64).any(|_| rx.try_recv_value::<u64>() == Err(TryRecvError::Disconnected)),
                "no Disconnected within 64 polls"
            );
        }
        assert_eq!(
            rx.recv_value::<u64>(CALL),
            Err(RecvTimeoutError::Disconnected)
        );
    }
}

#[test]
fn sender_disconnected_after_consumer_dies() {
    const TEST: &str = "sender_disconnected_after_consumer_dies";
    if let Some(r) = role() {
        assert_eq!(r, "hold-receiver");
        let _rx = open_child_queue().receiver().unwrap();
        println!("HOLDING");
        return linger();
    }
    let _serial = serial();
    let name = unique_name("consumer-dies");
    let q = Queue::create(
        &name,
        Config {
            capacity: 4,
            slot_size: 8,
        },
    )
    .unwrap();
    let mut tx = q.sender().unwrap();
    let mut child = spawn(TEST, "hold-receiver", &[name_env(&name)]);
    assert!(child.wait_line("HOLDING", CALL).is_some());
    for i in 0..4u64 {
        tx.try_send_value(&i).unwrap();
    }
    // A live consumer: full, however often we ask (lock checks included).
    for _ in 0..200 {
        assert_eq!(tx.try_send_value(&9u64), Err(TrySendError::Full));
    }
    assert_eq!(
        tx.send_value(&9u64, Duration::from_millis(5)),
        Err(SendTimeoutError::Timeout)
    );
    child.kill("");
    assert_eq!(
        tx.send_value(&9u64, CALL),
        Err(SendTimeoutError::Disconnected)
    );
    assert!((1..=64).any(|_| tx.try_send_value(&9u64) == Err(TrySendError::Disconnected)));
    // A new consumer takes over and finds every committed message.
    let mut rx = q.receiver().unwrap();
    for i in 0..4u64 {
        assert_eq!(rx.try_recv_value::<u64>(), Ok(i));
    }
    tx.try_send_value(&4u64).unwrap();
}

/// Child: for each queue name read from stdin, maps that region without
/// taking a role and writes random or plausible values into its header words,
/// stamps, length words and payloads (bursts of 1 to 64 writes, then a
/// yield), until the next name arrives. Exits at end of input.
fn scribble() {
    use shmq_core::layout::{HEADER_SIZE, SLOT_HEADER};
    use std::io::BufRead;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::mpsc::TryRecvError as Channel;
    let (names_tx, names) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if names_tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut rng = common::Rng::new(u64::from(std::process::id()));
    let end = Instant::now() + Duration::from_secs(120);
    let mut name = names.recv_timeout(CALL).unwrap();
    for episode in 0u32.. {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(common::shm_path(&name))
            .unwrap();
        let map = memmap2::MmapOptions::new().map_raw(&file).unwrap();
        let q = Queue::open(&name).unwrap();
        let (capacity, stride) = (
            q.capacity(),
            (SLOT_HEADER + q.slot_size()).next_multiple_of(8),
        );
        assert!(map.len() >= HEADER_SIZE + capacity * stride);
        let burst = 1 << (2 * (episode % 4));
        println!("SCRIBBLING {name}");
        loop {
            assert!(Instant::now() < end, "the parent never finished");
            match names.try_recv() {
                Ok(next) => {
                    name = next;
                    break;
                }
                Err(Channel::Empty) => {}
                Err(Channel::Disconnected) => return,
            }
            for _ in 0..burst {
                let r = rng.next_u64();
                let slot_base = HEADER_SIZE + (r as usize >> 8) % capacity * stride;
                let off = match r % 4 {
                    0 => (r as usize >> 32) % (HEADER_SIZE / 4) * 4,
                    1 => slot_base,
                    2 => slot_base + 4,
                    _ => {
                        slot_base
                            + SLOT_HEADER
                            + (r as usize >> 32) % (stride - SLOT_HEADER) / 4 * 4
                    }
                };
                // SAFETY: `off` is 4-aligned and `off + 4 <= map.len()` (checked
                // above); the mapping lives until the end of this episode and
                // every bit pattern is a valid u32.
                let word = unsafe { AtomicU32::from_ptr(map.as_mut_ptr().add(off).cast()) };
                let old = word.load(Ordering::Relaxed);
                let new = match (r >> 2) % 4 {
                    // Plausible: close to what an honest peer might write next.
                    0 | 1 => old.wrapping_add(((r >> 40) % 5) as u32).wrapping_sub(2),
                    _ => (r >> 16) as u32,
                };
                word.store(new, Ordering::Relaxed);
            }
            std::thread::yield_now();
        }
    }
}

#[test]
fn hostile_peer_causes_only_typed_errors() {
    use std::collections::BTreeMap;
    const TEST: &str = "hostile_peer_causes_only_typed_errors";
    const EPISODES: u32 = 16;
    const ROUNDS: u32 = 250;
    const SHORT: Duration = Duration::from_millis(1);
    const EPISODE_TIME: Duration = Duration::from_millis(20);
    if let Some(r) = role() {
        assert_eq!(r, "scribbler");
        return scribble();
    }
    let _serial = serial();
    let mut child = spawn(TEST, "scribbler", &[]);
    // Every call must return Ok or a typed error, promptly; a poisoned
    // endpoint is dropped and the role taken again (which fails with a
    // violation while the stamps are impossible).
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let note = |seen: &mut BTreeMap<String, u32>, what: String| *seen.entry(what).or_default() += 1;
    let mut buf = [0u8; 64];
    let poisoned = |seen: &BTreeMap<String, u32>| {
        seen.get("send: poisoned").copied().unwrap_or(0)
            + seen.get("recv: poisoned").copied().unwrap_or(0)
    };
    let started = Instant::now();
    let mut episode = 0u32;
    // At least EPISODES episodes; more (bounded) until some poisoning was seen.
    while episode < EPISODES || (poisoned(&seen) == 0 && started.elapsed() < CALL) {
        episode += 1;
        let name = unique_name("hostile");
        let q = Queue::create(
            &name,
            Config {
                capacity: 16,
                slot_size: 32,
            },
        )
        .unwrap();
        let (mut tx, mut rx) = (Some(q.sender().unwrap()), Some(q.receiver().unwrap()));
        child.send_line(&name);
        assert_eq!(child.wait_line("SCRIBBLING", CALL), Some(name.clone()));
        // Each episode runs ROUNDS rounds and at least EPISODE_TIME, so that
        // the scribbler gets to run.
        let until = Instant::now() + EPISODE_TIME;
        let mut round = 0u32;
        while round < ROUNDS || Instant::now() < until {
            round += 1;
            if tx.is_none() {
                match q.sender() {
                    Ok(s) => tx = Some(s),
                    Err(Error::Violation(_)) => note(&mut seen, "sender attach: violation".into()),
                    Err(e) => panic!("sender: {e}"),
                }
            }
            if rx.is_none() {
                match q.receiver() {
                    Ok(r) => rx = Some(r),
                    Err(Error::Violation(_)) => {
                        note(&mut seen, "receiver attach: violation".into())
                    }
                    Err(e) => panic!("receiver: {e}"),
                }
            }
            if let Some(s) = tx.as_mut() {
                let msg = [round as u8; 20];
                let outcome = match round % 4 {
                    0 => s.try_send(&msg).map(|()| 1),
                    1 => s.send(&msg, SHORT).map(|()| 1).map_err(|e| match e {
                        SendTimeoutError::Timeout => TrySendError::Full,
                        SendTimeoutError::Disconnected => TrySendError::Disconnected,
                        SendTimeoutError::Poisoned(v) => TrySendError::Poisoned(v),
                        other => panic!("send: {other}"),
                    }),
                    2 => s.try_send_slice(&[round; 3]),
                    _ => s.try_send_value(&u64::from(round)).map(|()| 1),
                };
                match outcome {
                    Ok(_) => note(&mut seen, "send: ok".into()),
                    Err(TrySendError::Poisoned(_)) => {
                        note(&mut seen, "send: poisoned".into());
                        tx = None;
                    }
                    Err(e) => note(&mut seen, format!("send: {e}")),
                }
            }
            if let Some(r) = rx.as_mut() {
                let outcome = match round % 4 {
                    0 => r.try_recv(&mut buf),
                    1 => r.recv(&mut buf, SHORT).map_err(|e| match e {
                        RecvTimeoutError::Timeout => TryRecvError::Empty,
                        RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
                        RecvTimeoutError::Size { len, capacity } => {
                            TryRecvError::Size { len, capacity }
                        }
                        RecvTimeoutError::Poisoned(v) => TryRecvError::Poisoned(v),
                        other => panic!("recv: {other}"),
                    }),
                    2 => r.try_recv_slice(&mut [0u32; 3]),
                    _ => r.try_recv_value::<u64>().map(|_| 8),
                };
                match outcome {
                    Ok(n) => {
                        assert!(n <= buf.len());
                        note(&mut seen, "recv: ok".into());
                    }
                    Err(TryRecvError::Poisoned(_)) => {
                        note(&mut seen, "recv: poisoned".into());
                        rx = None;
                    }
                    Err(TryRecvError::Size { len, .. }) => {
                        assert!(len <= q.slot_size(), "length {len} passed validation");
                        note(&mut seen, "recv: size".into());
                        // Skip the odd-sized message with a large enough buffer.
                        let _ = r.try_recv(&mut buf);
                    }
                    Err(e) => note(&mut seen, format!("recv: {e}")),
                }
            }
            if round % 50 == 0 {
                let _ = q.stats();
                match Queue::builder(&name).ready_timeout(SHORT).open() {
                    Ok(_) => note(&mut seen, "open: ok".into()),
                    Err(Error::Layout(_)) => note(&mut seen, "open: layout error".into()),
                    Err(Error::NotReady { .. }) => note(&mut seen, "open: not ready".into()),
                    Err(e) => panic!("open: {e}"),
                }
            }
        }
    }
    child.close_stdin();
    child.expect_success(CALL);
    println!("outcomes under a hostile peer: {seen:#?}");
    assert!(
        poisoned(&seen) > 0,
        "the scribbler never produced an impossible state: {seen:?}"
    );
}
