//! A hostile process against a dense record queue (`shmq::dense`): a child
//! maps the region without taking a role and scribbles its header words
//! (cursors, state and wait words) and records, while this process uses the
//! real API. Every call must return `Ok` or a typed error, promptly.
//!
//! The child is this test binary re-executed (see `tests/common`); every
//! wait is bounded.

mod common;

use common::{role, serial, spawn, unique_name, Rng, CALL};
use shmq::dense::{Config, Queue};
use shmq::{RecvTimeoutError, SendTimeoutError};
use std::time::{Duration, Instant};

/// Child: for each queue name read from stdin, maps that region without
/// taking a role and writes random or plausible values into its header
/// words (cursors, state and wait words included) and its records (bursts
/// of 1 to 64 writes, then a yield), until the next name arrives. Exits at
/// end of input.
fn scribble() {
    use shmq_core::layout::HEADER_SIZE;
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
    let mut rng = Rng::new(u64::from(std::process::id()));
    let end = Instant::now() + Duration::from_secs(120);
    let mut name = names.recv_timeout(CALL).unwrap();
    for episode in 0u32.. {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(common::shm_path(&name))
            .unwrap();
        let map = memmap2::MmapOptions::new().map_raw(&file).unwrap();
        let records = map.len() - HEADER_SIZE;
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
                let off = match r % 4 {
                    // The cursors (tail, head) and their neighbours.
                    0 => [128, 132, 256, 260][(r >> 8) as usize % 4],
                    1 => (r as usize >> 32) % (HEADER_SIZE / 4) * 4,
                    _ => HEADER_SIZE + (r as usize >> 32) % (records / 4) * 4,
                };
                // SAFETY: `off` is 4-aligned and `off + 4 <= map.len()`; the
                // mapping lives until the end of this episode and every bit
                // pattern is a valid u32.
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

/// Under a scribbling process, every call returns `Ok` or a typed error,
/// promptly; a receive into a record-sized buffer never fails with `Size`
/// (the record size is this process's, not a word of the region), and
/// `Ok` always carries exactly one record.
#[test]
fn hostile_peer_causes_only_typed_errors() {
    use shmq::{Error, TryRecvError, TrySendError};
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
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let note = |seen: &mut BTreeMap<String, u32>, what: String| *seen.entry(what).or_default() += 1;
    let poisoned = |seen: &BTreeMap<String, u32>| {
        seen.get("send: poisoned").copied().unwrap_or(0)
            + seen.get("recv: poisoned").copied().unwrap_or(0)
    };
    let started = Instant::now();
    let mut episode = 0u32;
    let rec = [1u64, 2, 3];
    while episode < EPISODES || (poisoned(&seen) == 0 && started.elapsed() < CALL) {
        episode += 1;
        let name = unique_name("dense-hostile");
        let q = Queue::create(
            &name,
            Config {
                capacity: 16,
                record_size: 24,
            },
        )
        .unwrap();
        let (mut tx, mut rx) = (Some(q.sender().unwrap()), Some(q.receiver().unwrap()));
        child.send_line(&name);
        assert_eq!(child.wait_line("SCRIBBLING", CALL), Some(name.clone()));
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
                let outcome = match round % 5 {
                    0 => s.try_send(bytemuck::bytes_of(&rec)).map(|()| 1),
                    1 => s.send_value(&rec, SHORT).map(|()| 1).map_err(|e| match e {
                        SendTimeoutError::Timeout => TrySendError::Full,
                        SendTimeoutError::Disconnected => TrySendError::Disconnected,
                        SendTimeoutError::Poisoned(v) => TrySendError::Poisoned(v),
                        other => panic!("send: {other}"),
                    }),
                    2 => s.try_send_slice(&[rec; 3]),
                    3 => s.try_send_value(&rec).map(|()| 1),
                    // Another length: refused first, whatever the region says.
                    _ => s.try_send_value(&7u64).map(|()| panic!("a u64 was sent")),
                };
                match outcome {
                    Ok(_) => note(&mut seen, "send: ok".into()),
                    Err(TrySendError::Poisoned(_)) => {
                        note(&mut seen, "send: poisoned".into());
                        tx = None;
                    }
                    Err(
                        e @ (TrySendError::Full
                        | TrySendError::Disconnected
                        | TrySendError::WrongSize { len: 8, size: 24 }),
                    ) => note(&mut seen, format!("send: {e}")),
                    Err(e) => panic!("send: {e}"),
                }
            }
            if let Some(r) = rx.as_mut() {
                let mut buf = [0u8; 24];
                let outcome = match round % 4 {
                    0 => r.try_recv(&mut buf),
                    1 => r.recv(&mut buf, SHORT).map_err(|e| match e {
                        RecvTimeoutError::Timeout => TryRecvError::Empty,
                        RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
                        RecvTimeoutError::Poisoned(v) => TryRecvError::Poisoned(v),
                        other => panic!("recv: {other}"),
                    }),
                    2 => r.try_recv_slice(&mut [[0u64; 3]; 3]).map(|n| {
                        assert!((1..=3).contains(&n));
                        24
                    }),
                    _ => r.try_recv_value::<[u64; 3]>().map(|_| 24),
                };
                match outcome {
                    Ok(n) => {
                        assert_eq!(n, 24, "one record");
                        note(&mut seen, "recv: ok".into());
                    }
                    Err(TryRecvError::Poisoned(_)) => {
                        note(&mut seen, "recv: poisoned".into());
                        rx = None;
                    }
                    Err(e @ (TryRecvError::Empty | TryRecvError::Disconnected)) => {
                        note(&mut seen, format!("recv: {e}"))
                    }
                    Err(e) => panic!("recv: {e}"),
                }
            }
            if round % 50 == 0 {
                let _ = q.stats();
                let _ = shmq::admin::inspect(&name);
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
