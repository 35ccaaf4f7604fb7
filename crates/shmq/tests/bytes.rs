//! Cross-process tests of the byte-record queue: real processes, real
//! mappings. Sizes from 0 to `max_message`, copies and loans on both sides,
//! crash takeover after SIGKILL of the sender, large messages.
//!
//! Children are this test binary re-executed (see `tests/common`); the
//! parent halves run one at a time (`serial()`). Every wait is bounded.

mod common;

use common::{role, serial, spawn, unique_name, ChildProc, CALL, NAME_ENV};
use shmq::bytes::{Config, Queue};
use shmq::RecvTimeoutError;
use std::io::Write;
use std::time::{Duration, Instant};

/// Bound of a child's whole life.
const CHILD: Duration = Duration::from_secs(300);

fn name_env(name: &str) -> (&'static str, String) {
    (NAME_ENV, name.to_owned())
}

fn open_child_queue() -> Queue {
    Queue::open(&common::child_name()).unwrap()
}

/// Byte `k` of message `seq`.
fn byte(seq: u64, k: usize) -> u8 {
    (seq.wrapping_mul(31) as usize).wrapping_add(k.wrapping_mul(7)) as u8
}

/// Length of message `seq` in a queue of `max` (cycles through 0..=max,
/// with a stride that visits every length and mixes small and large).
fn length(seq: u64, max: usize) -> usize {
    (seq.wrapping_mul(7919) % (max as u64 + 1)) as usize
}

/// Message `seq` of `len` bytes; at least 8 bytes carry `seq` itself.
fn message(seq: u64, len: usize) -> Vec<u8> {
    let mut m: Vec<u8> = (0..len).map(|k| byte(seq, k)).collect();
    if len >= 8 {
        m[..8].copy_from_slice(&seq.to_le_bytes());
    }
    m
}

/// Child sender: messages `start..total` (`start` = messages the ring
/// already holds, recovered on attach), lengths `length(seq, max)` clamped
/// below by `min`; loans for odd `seq`, copies for even.
fn produce(total: u64, min: usize) {
    let q = open_child_queue();
    let max = q.slot_size();
    let mut tx = q.sender().unwrap();
    let start = tx.stats().enqueued;
    println!("START {start}");
    for seq in start..total {
        let m = message(seq, length(seq, max).max(min));
        if seq % 2 == 1 {
            let mut loan = tx.loan(m.len(), CALL).unwrap();
            loan.write_all(&m).unwrap();
            loan.commit_written().unwrap();
        } else {
            tx.send(&m, CALL).unwrap();
        }
    }
}

#[test]
fn every_size_from_zero_to_max_between_processes() {
    const TEST: &str = "every_size_from_zero_to_max_between_processes";
    const MAX: u32 = 1000;
    let total: u64 = 20_000;
    if let Some(r) = role() {
        assert_eq!(r, "producer");
        return produce(total, 0);
    }
    let _serial = serial();
    let name = unique_name("bytes-sizes");
    let q = Queue::create(
        &name,
        Config {
            capacity_bytes: 4096,
            max_message: MAX,
        },
    )
    .unwrap();
    let mut rx = q.receiver().unwrap();
    let mut child = spawn(TEST, "producer", &[name_env(&name)]);
    let mut seen = vec![false; MAX as usize + 1];
    for seq in 0..total {
        let want = message(seq, length(seq, MAX as usize));
        let got = if seq % 3 == 0 {
            rx.recv_vec(CALL).unwrap()
        } else {
            let mut buf = vec![0u8; MAX as usize];
            let n = rx.recv(&mut buf, CALL).unwrap();
            buf.truncate(n);
            buf
        };
        assert_eq!(got.len(), want.len(), "length of message {seq}");
        assert!(got == want, "content of message {seq}");
        seen[got.len()] = true;
    }
    assert!(seen.iter().all(|&s| s), "every length 0..=max was sent");
    child.expect_success(CHILD);
    assert_eq!(
        rx.recv_vec(CALL),
        Err(RecvTimeoutError::Disconnected),
        "the sender's close ends the stream"
    );
    assert!(!q.stats().poisoned);
}

#[test]
fn killed_sender_is_replaced_without_gap_or_duplicate() {
    const TEST: &str = "killed_sender_is_replaced_without_gap_or_duplicate";
    const TOTAL: u64 = 100_000;
    const KILL_AT: u64 = 20_000;
    if let Some(r) = role() {
        assert_eq!(r, "producer");
        return produce(TOTAL, 8);
    }
    let _serial = serial();
    let name = unique_name("bytes-kill");
    let q = Queue::create(
        &name,
        Config {
            capacity_bytes: 2048,
            max_message: 200,
        },
    )
    .unwrap();
    let mut rx = q.receiver().unwrap();
    let env = [name_env(&name)];
    let mut first = spawn(TEST, "producer", &env);
    let mut second: Option<ChildProc> = None;
    let mut second_done = false;
    let mut expected = 0u64;
    let deadline = Instant::now() + CHILD;
    loop {
        assert!(Instant::now() < deadline, "stream stalled at {expected}");
        let r = rx.recv_with(
            |m| {
                let mut v = vec![0u8; m.len()];
                m.copy_to_slice(&mut v);
                v
            },
            CALL,
        );
        match r {
            Ok(v) => {
                let seq = u64::from_le_bytes(v[..8].try_into().unwrap());
                // Continuity across the takeover: no gap, no duplicate.
                assert_eq!(seq, expected);
                assert!(v == message(seq, length(seq, 200).max(8)), "content {seq}");
                expected += 1;
            }
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
            // The new sender resumes after the last committed record: at or
            // after what we received, at most a ring's worth (2048 / 16) ahead.
            assert!(
                (received..=received + 128).contains(&start),
                "start {start}, received {received}"
            );
            second = Some(replacement);
        }
        if let Some(child) = second.as_mut() {
            second_done = second_done || child.exited();
        }
    }
    assert_eq!(expected, TOTAL);
    second.unwrap().expect_success(CHILD);
    assert!(!q.stats().poisoned);
}

/// Sum of the bytes of message `seq` of `len` bytes (what the receiver
/// checks without copying the message out whole).
fn checksum(seq: u64, len: usize) -> u64 {
    message(seq, len).iter().map(|&b| u64::from(b)).sum()
}

#[test]
fn large_loans_are_read_in_place_by_another_process() {
    const TEST: &str = "large_loans_are_read_in_place_by_another_process";
    const MAX: usize = 1 << 20;
    let total: u64 = 24;
    let len = |seq: u64| MAX - (seq as usize * 4099) % 70_000;
    if let Some(r) = role() {
        assert_eq!(r, "consumer");
        let q = open_child_queue();
        let mut rx = q.receiver().unwrap();
        for seq in 0..total {
            let sum = rx
                .recv_with(
                    |m| {
                        assert_eq!(m.len(), len(seq), "length of {seq}");
                        assert_eq!(m.read_value::<u64>(0), Ok(seq));
                        let mut chunk = [0u8; 4096];
                        let mut sum = 0u64;
                        let mut at = 0;
                        while at < m.len() {
                            let n = m.read_at(at, &mut chunk);
                            sum += chunk[..n].iter().map(|&b| u64::from(b)).sum::<u64>();
                            at += n;
                        }
                        sum
                    },
                    CALL,
                )
                .unwrap();
            assert_eq!(sum, checksum(seq, len(seq)), "checksum of {seq}");
            println!("GOT {seq}");
        }
        return;
    }
    let _serial = serial();
    let name = unique_name("bytes-large");
    let q = Queue::create(
        &name,
        Config {
            capacity_bytes: 4 << 20,
            max_message: MAX as u32,
        },
    )
    .unwrap();
    let mut tx = q.sender().unwrap();
    let mut child = spawn(TEST, "consumer", &[name_env(&name)]);
    for seq in 0..total {
        let m = message(seq, len(seq));
        let mut loan = tx.loan(MAX, CALL).unwrap();
        // Written in uneven pieces, then committed shorter than reserved.
        let mut at = 0;
        for piece in m.chunks(10_007) {
            assert_eq!(loan.write_at(at, piece), piece.len());
            at += piece.len();
        }
        loan.commit_len(m.len()).unwrap();
    }
    assert_eq!(
        child.wait_line(&format!("GOT {}", total - 1), CALL),
        Some(String::new())
    );
    child.expect_success(CHILD);
    assert!(!q.stats().poisoned);
}

/// A child's way to wait for SIGKILL: sleep, bounded.
fn linger() {
    let end = Instant::now() + Duration::from_secs(120);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the parent never killed this child");
}

#[test]
fn loan_of_a_killed_sender_is_never_published() {
    const TEST: &str = "loan_of_a_killed_sender_is_never_published";
    if let Some(r) = role() {
        assert_eq!(r, "loaner");
        let q = open_child_queue();
        let mut tx = q.sender().unwrap();
        tx.send(b"committed", CALL).unwrap();
        let mut loan = tx.loan(100, CALL).unwrap();
        loan.write_all(&[0xEE; 100]).unwrap();
        println!("LOANED");
        linger();
        return;
    }
    let _serial = serial();
    let name = unique_name("bytes-loan-kill");
    let q = Queue::create(&name, Config::default()).unwrap();
    let mut rx = q.receiver().unwrap();
    let mut child = spawn(TEST, "loaner", &[name_env(&name)]);
    assert_eq!(child.wait_line("LOANED", CALL), Some(String::new()));
    child.kill("");
    assert_eq!(rx.recv_vec(CALL).unwrap(), b"committed");
    // The role is free again; the successor resumes after the committed
    // record, where the dead sender's loan was: only its message follows.
    let mut tx = q.sender().unwrap();
    tx.try_send(b"next").unwrap();
    assert_eq!(rx.recv_vec(CALL).unwrap(), b"next");
    assert_eq!(rx.try_recv_vec(), Err(shmq::TryRecvError::Empty));
    assert!(!q.stats().poisoned);
}

#[test]
fn record_of_a_receiver_killed_inside_recv_with_stays_queued() {
    const TEST: &str = "record_of_a_receiver_killed_inside_recv_with_stays_queued";
    if let Some(r) = role() {
        assert_eq!(r, "reader");
        let q = open_child_queue();
        let mut rx = q.receiver().unwrap();
        assert_eq!(rx.recv_vec(CALL).unwrap(), b"first");
        rx.recv_with(
            |m| {
                assert_eq!(m.to_vec(), b"second");
                println!("INSIDE");
                linger();
            },
            CALL,
        )
        .unwrap();
        return;
    }
    let _serial = serial();
    let name = unique_name("bytes-view-kill");
    let q = Queue::create(&name, Config::default()).unwrap();
    let mut tx = q.sender().unwrap();
    for m in [&b"first"[..], b"second", b"third"] {
        tx.try_send(m).unwrap();
    }
    let mut child = spawn(TEST, "reader", &[name_env(&name)]);
    assert_eq!(child.wait_line("INSIDE", CALL), Some(String::new()));
    child.kill("");
    // The record in the dead receiver's view was never released.
    let mut rx = q.receiver().unwrap();
    assert_eq!(rx.recv_vec(CALL).unwrap(), b"second");
    assert_eq!(rx.recv_vec(CALL).unwrap(), b"third");
    assert!(!q.stats().poisoned);
}
