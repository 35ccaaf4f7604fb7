//! The typed API within one process: messages, values, batches, errors,
//! role exclusivity through one or two handles, and disconnection.

mod common;

use common::unique_name;
use shmq::spsc::{Config, Queue};
use shmq::{
    EndpointState, Error, RecvTimeoutError, Role, SendTimeoutError, TryRecvError, TrySendError,
};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

fn queue(capacity: u32, slot_size: u32) -> Queue {
    Queue::create(
        &unique_name("api"),
        Config {
            capacity,
            slot_size,
        },
    )
    .unwrap()
}

#[test]
fn bytes_roundtrip_across_many_laps() {
    let q = queue(4, 32);
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    let mut buf = [0u8; 32];
    for i in 0..1000u32 {
        let msg = vec![i as u8; (i % 33) as usize];
        tx.try_send(&msg).unwrap();
        let n = rx.try_recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], &msg[..]);
    }
    assert_eq!(rx.try_recv(&mut buf), Err(TryRecvError::Empty));
    let stats = q.stats();
    assert_eq!((stats.enqueued, stats.dequeued), (1000, 1000));
    assert_eq!(
        (stats.producer, stats.consumer),
        (EndpointState::Attached, EndpointState::Attached)
    );
}

#[test]
fn full_then_empty() {
    let q = queue(4, 8);
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    for i in 0..4u64 {
        tx.try_send_value(&i).unwrap();
    }
    assert_eq!(tx.try_send_value(&9u64), Err(TrySendError::Full));
    assert_eq!(
        tx.send_value(&9u64, Duration::ZERO),
        Err(SendTimeoutError::Timeout)
    );
    for i in 0..4u64 {
        assert_eq!(rx.try_recv_value::<u64>(), Ok(i));
    }
    assert_eq!(rx.try_recv_value::<u64>(), Err(TryRecvError::Empty));
    assert_eq!(
        rx.recv_value::<u64>(Duration::from_millis(2)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(q.stats().full >= 2);
}

#[test]
fn too_large_and_size_errors_keep_the_queue_intact() {
    let q = queue(4, 8);
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    assert_eq!(
        tx.try_send(&[0; 9]),
        Err(TrySendError::TooLarge { len: 9, max: 8 })
    );
    assert_eq!(
        tx.send(&[0; 9], T),
        Err(SendTimeoutError::TooLarge { len: 9, max: 8 })
    );
    assert_eq!(
        tx.try_send_slice(&[[0u8; 16]]),
        Err(TrySendError::TooLarge { len: 16, max: 8 })
    );
    tx.try_send(b"12345678").unwrap();
    let mut small = [0u8; 4];
    assert_eq!(
        rx.try_recv(&mut small),
        Err(TryRecvError::Size {
            len: 8,
            capacity: 4
        })
    );
    assert_eq!(
        rx.recv(&mut small, T),
        Err(RecvTimeoutError::Size {
            len: 8,
            capacity: 4
        })
    );
    assert_eq!(
        rx.try_recv_value::<u32>(),
        Err(TryRecvError::Size {
            len: 8,
            capacity: 4
        })
    );
    assert_eq!(
        rx.try_recv_value::<u64>(),
        Ok(u64::from_ne_bytes(*b"12345678"))
    );
}

#[test]
fn slices() {
    let q = queue(8, 8);
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    let items: Vec<u32> = (0..12).collect();
    assert_eq!(tx.try_send_slice(&items), Ok(8));
    assert_eq!(tx.try_send_slice(&items[8..]), Err(TrySendError::Full));
    assert_eq!(tx.try_send_slice::<u32>(&[]), Ok(0));
    let mut out = [0u32; 5];
    assert_eq!(rx.try_recv_slice(&mut out), Ok(5));
    assert_eq!(out, [0, 1, 2, 3, 4]);
    assert_eq!(tx.try_send_slice(&items[8..]), Ok(4));
    let mut out = [0u32; 16];
    assert_eq!(rx.try_recv_slice(&mut out), Ok(7));
    assert_eq!(&out[..7], &[5, 6, 7, 8, 9, 10, 11]);
    assert_eq!(rx.try_recv_slice(&mut out), Err(TryRecvError::Empty));
}

#[test]
fn second_endpoint_through_same_handle_is_role_taken() {
    let q = queue(4, 8);
    let tx = q.sender().unwrap();
    let rx = q.receiver().unwrap();
    assert!(matches!(q.sender(), Err(Error::RoleTaken(Role::Sender))));
    assert!(matches!(
        q.receiver(),
        Err(Error::RoleTaken(Role::Receiver))
    ));
    drop(tx);
    drop(rx);
    let _tx = q.sender().unwrap();
    let _rx = q.receiver().unwrap();
}

#[test]
fn second_endpoint_through_another_handle_is_role_taken() {
    let q = queue(4, 8);
    let other = Queue::open(q.name()).unwrap();
    let tx = q.sender().unwrap();
    let rx = other.receiver().unwrap();
    assert!(matches!(
        other.sender(),
        Err(Error::RoleTaken(Role::Sender))
    ));
    assert!(matches!(
        q.receiver(),
        Err(Error::RoleTaken(Role::Receiver))
    ));
    drop(tx);
    drop(rx);
    let _tx = other.sender().unwrap();
    let _rx = q.receiver().unwrap();
}

#[test]
fn receiver_drains_then_disconnected_after_sender_drops() {
    let q = queue(8, 8);
    let mut rx = q.receiver().unwrap();
    let mut tx = q.sender().unwrap();
    for i in 0..5u64 {
        tx.try_send_value(&i).unwrap();
    }
    drop(tx);
    assert_eq!(q.stats().producer, EndpointState::Closed);
    for i in 0..5u64 {
        assert_eq!(rx.try_recv_value::<u64>(), Ok(i));
    }
    assert_eq!(rx.try_recv_value::<u64>(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.recv_value::<u64>(T), Err(RecvTimeoutError::Disconnected));
    // Not sticky: a new producer resumes the stream.
    let mut tx = q.sender().unwrap();
    tx.try_send_value(&5u64).unwrap();
    assert_eq!(rx.recv_value::<u64>(T), Ok(5));
}

#[test]
fn sender_disconnected_when_full_after_receiver_drops() {
    let q = queue(4, 8);
    let mut tx = q.sender().unwrap();
    let mut rx = q.receiver().unwrap();
    tx.try_send_value(&1u64).unwrap();
    assert_eq!(rx.try_recv_value::<u64>(), Ok(1));
    drop(rx);
    // Not full yet: sends succeed without a consumer.
    for i in 0..4u64 {
        tx.try_send_value(&i).unwrap();
    }
    assert_eq!(tx.try_send_value(&9u64), Err(TrySendError::Disconnected));
    assert_eq!(tx.send_value(&9u64, T), Err(SendTimeoutError::Disconnected));
}

#[test]
fn no_peer_yet_is_empty_or_full_not_disconnected() {
    let q = queue(2, 8);
    let mut rx = q.receiver().unwrap();
    for _ in 0..200 {
        assert_eq!(rx.try_recv_value::<u64>(), Err(TryRecvError::Empty));
    }
    assert_eq!(
        rx.recv_value::<u64>(Duration::from_millis(3)),
        Err(RecvTimeoutError::Timeout)
    );
    drop(rx);

    let q = queue(2, 8);
    let mut tx = q.sender().unwrap();
    tx.try_send_value(&0u64).unwrap();
    tx.try_send_value(&1u64).unwrap();
    for _ in 0..200 {
        assert_eq!(tx.try_send_value(&2u64), Err(TrySendError::Full));
    }
    assert_eq!(
        tx.send_value(&2u64, Duration::from_millis(3)),
        Err(SendTimeoutError::Timeout)
    );
}

#[test]
fn live_peer_in_this_process_is_not_disconnected() {
    // Same handle (the lock is on our own file description, so only the
    // in-process flag shows it) and a second handle (a second description).
    let q = queue(2, 8);
    let other = Queue::open(q.name()).unwrap();
    for producer_handle in [&q, &other] {
        let tx = producer_handle.sender().unwrap();
        let mut rx = q.receiver().unwrap();
        for _ in 0..200 {
            assert_eq!(rx.try_recv_value::<u64>(), Err(TryRecvError::Empty));
        }
        assert_eq!(
            rx.recv_value::<u64>(Duration::from_millis(3)),
            Err(RecvTimeoutError::Timeout)
        );
        drop(rx);
        drop(tx);
    }
}

#[test]
fn producer_takeover_in_process_continues_the_sequence() {
    let q = queue(8, 8);
    let mut rx = q.receiver().unwrap();
    let mut next = 0u64;
    for round in 0..5 {
        let mut tx = q.sender().unwrap();
        let start = q.stats().enqueued;
        assert_eq!(start, next);
        for i in 0..(3 + round) {
            tx.try_send_value(&(start + i)).unwrap();
        }
        drop(tx);
        while let Ok(v) = rx.try_recv_value::<u64>() {
            assert_eq!(v, next);
            next += 1;
        }
    }
    assert_eq!(next, 3 + 4 + 5 + 6 + 7);
}
