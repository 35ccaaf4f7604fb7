//! Blocking waits of MPMC queues: parked senders and receivers, woken by
//! publications, by detaching peers, and (within a slice) by dead ones.
//! Children are this test binary re-executed (`common::spawn`); nothing here
//! asserts a duration, only outcomes and the region's counters.

mod common;

use common::{role, serial, spawn, unique_name, until, CALL, NAME_ENV};
use shmq::mpmc::{Config, Queue, Receiver};
use shmq::{RecvTimeoutError, SendTimeoutError, WaitMode};
use std::time::Duration;

/// Bound of a child's whole life.
const CHILD: Duration = Duration::from_secs(120);

fn small(name: &str) -> Queue {
    Queue::create(
        name,
        Config {
            capacity: 4,
            slot_size: 8,
            max_endpoints: 8,
        },
    )
    .unwrap()
}

fn parked_receiver(q: &Queue) -> Receiver {
    let mut rx = q.receiver().unwrap();
    rx.set_wait_mode(WaitMode::Park);
    rx
}

/// Child: attaches a sender; with `send`, waits for a parked receiver and
/// sends 7; then lingers until killed.
fn child_producer(then: &str) {
    let q = Queue::open(&common::child_name()).unwrap();
    let mut tx = q.sender().unwrap();
    println!("READY");
    if then == "send" {
        until("a receiver to sleep", || {
            q.stats().wait.consumer_sleeps >= 1
        });
        tx.send_value(&7u64, CALL).unwrap();
        println!("SENT");
    }
    std::thread::sleep(CHILD);
    panic!("the parent never killed this child");
}

#[test]
fn parked_receiver_wakes_for_message() {
    const TEST: &str = "parked_receiver_wakes_for_message";
    if role().is_some() {
        return child_producer("send");
    }
    let _serial = serial();
    let name = unique_name("mpmc-wake-msg");
    let q = small(&name);
    let mut rx = parked_receiver(&q);
    let mut child = spawn(TEST, "producer", &[(NAME_ENV, name.clone())]);
    child.wait_line("READY", CALL).expect("child ready");
    assert_eq!(rx.recv_value::<u64>(CALL), Ok(7));
    let w = q.stats().wait;
    assert!(w.consumer_sleeps >= 1 && w.data_wakes >= 1, "{w:?}");
    assert!(w.data_wakes <= w.consumer_sleeps, "{w:?}");
    child.kill("");
}

/// A parked receiver stays parked while a producer lives (a clean close of
/// another producer wakes it, it finds one alive and parks again), and
/// reports `Disconnected` once the last producer is killed.
#[test]
fn parked_receiver_sees_last_producer_killed() {
    const TEST: &str = "parked_receiver_sees_last_producer_killed";
    if role().is_some() {
        return child_producer("linger");
    }
    let _serial = serial();
    let name = unique_name("mpmc-wake-kill");
    let q = small(&name);
    let mut rx = parked_receiver(&q);
    let own = q.sender().unwrap();
    let mut child = spawn(TEST, "producer", &[(NAME_ENV, name.clone())]);
    child.wait_line("READY", CALL).expect("child ready");
    std::thread::scope(|s| {
        let waiter = s.spawn(|| rx.recv_value::<u64>(Duration::MAX));
        until("the receiver to sleep", || {
            q.stats().wait.consumer_sleeps >= 1
        });
        let sleeps = q.stats().wait.consumer_sleeps;
        drop(own);
        // Woken by the close, it finds the child alive and parks again.
        until("the receiver to sleep again", || {
            q.stats().wait.consumer_sleeps > sleeps
        });
        assert!(!waiter.is_finished());
        child.kill("");
        assert_eq!(waiter.join().unwrap(), Err(RecvTimeoutError::Disconnected));
    });
    let w = q.stats().wait;
    assert!(
        w.data_wakes >= 1 && w.data_wakes <= w.consumer_sleeps,
        "{w:?}"
    );
}

/// Two receivers parked at once are both woken by one sender's messages
/// (a publication wakes every sleeper of its direction).
#[test]
fn several_parked_receivers_all_wake() {
    let _serial = serial();
    let name = unique_name("mpmc-two-rx");
    let q = small(&name);
    let mut tx = q.sender().unwrap();
    let (mut a, mut b) = (parked_receiver(&q), parked_receiver(&q));
    let got = std::thread::scope(|s| {
        let ta = s.spawn(|| a.recv_value::<u64>(CALL));
        let tb = s.spawn(|| b.recv_value::<u64>(CALL));
        until("both receivers to sleep", || {
            q.stats().wait.consumer_sleeps >= 2
        });
        tx.send_value(&1u64, CALL).unwrap();
        tx.send_value(&2u64, CALL).unwrap();
        let mut got = [ta.join().unwrap().unwrap(), tb.join().unwrap().unwrap()];
        got.sort_unstable();
        got
    });
    assert_eq!(got, [1, 2]);
    let w = q.stats().wait;
    assert!(
        w.data_wakes >= 1 && w.data_wakes <= w.consumer_sleeps,
        "{w:?}"
    );
}

/// A sender parked on a full queue wakes when a receiver frees a slot,
/// and reports `Disconnected` when the last receiver detaches.
#[test]
fn parked_sender_wakes_for_room_and_close() {
    let _serial = serial();
    let name = unique_name("mpmc-room");
    let q = small(&name);
    let mut tx = q.sender().unwrap();
    tx.set_wait_mode(WaitMode::Park);
    let mut rx = q.receiver().unwrap();
    while tx.try_send_value(&1u64).is_ok() {}
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let first = tx.send_value(&2u64, CALL);
            while tx.try_send_value(&3u64).is_ok() {}
            (first, tx.send_value_blocking(&4u64))
        });
        until("the sender to sleep", || {
            q.stats().wait.producer_sleeps >= 1
        });
        assert_eq!(rx.recv_value::<u64>(CALL), Ok(1));
        let sleeps = q.stats().wait.producer_sleeps;
        until("the sender to sleep again", || {
            q.stats().wait.producer_sleeps > sleeps
        });
        drop(rx);
        let (first, second) = waiter.join().unwrap();
        assert_eq!(first, Ok(()));
        assert_eq!(second, Err(SendTimeoutError::Disconnected));
    });
    let w = q.stats().wait;
    assert!(
        w.room_wakes >= 1 && w.room_wakes <= w.producer_sleeps,
        "{w:?}"
    );
}
