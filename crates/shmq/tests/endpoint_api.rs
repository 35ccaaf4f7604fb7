//! Every method of the generic endpoint API, through the public API alone,
//! run once per queue kind by the same generic test code (SPSC and MPMC),
//! in one process and across processes.

mod common;

use common::{role, serial, spawn, unique_name, CALL, NAME_ENV};
use shmq::{
    mpmc::Mpmc, spsc::Spsc, Builder, Error, Kind, Queue, RecvTimeoutError, SendTimeoutError,
    TryRecvError, TrySendError, WaitMode,
};
use std::io::{Read, Write};
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(5);

fn small<K: Kind>(name: &str) -> Queue<K> {
    Builder::<K>::new(name)
        .capacity(4)
        .slot_size(16)
        .create()
        .unwrap()
}

/// Geometry and snapshot queries on the handle and both endpoints.
fn queries<K: Kind>(tag: &str) {
    let name = unique_name(tag);
    let q = small::<K>(&name);
    assert_eq!((q.name(), q.capacity(), q.slot_size()), (&*name, 4, 16));
    assert!(!q.has_sender() && !q.has_receiver());
    let mut tx = q.sender().unwrap();
    let rx = q.receiver().unwrap();
    assert!(q.has_sender() && q.has_receiver());
    assert!(!tx.is_abandoned() && !rx.is_abandoned());
    assert_eq!((tx.capacity(), tx.slot_size()), (4, 16));
    assert_eq!((rx.capacity(), rx.slot_size()), (4, 16));
    assert!(q.is_empty() && tx.is_empty() && rx.is_empty());
    tx.try_send(b"a").unwrap();
    assert_eq!((q.len(), tx.len(), rx.len()), (1, 1, 1));
    while tx.try_send(b"b").is_ok() {}
    assert!(q.is_full() && tx.is_full() && rx.is_full());
    assert_eq!(q.len(), 4);
    assert_eq!(format!("{:?}", q.stats()), format!("{:?}", tx.stats()));
    assert_eq!((tx.poisoned(), rx.poisoned()), (None, None));
    drop(rx);
    assert!(tx.is_abandoned(), "the receiver closed");
    assert!(!q.has_receiver());
}

#[test]
fn queries_spsc() {
    queries::<Spsc>("api-q-spsc");
}

#[test]
fn queries_mpmc() {
    queries::<Mpmc>("api-q-mpmc");
}

/// try_, timed and blocking variants of messages, values and slices.
fn calls<K: Kind>(tag: &str) {
    let name = unique_name(tag);
    let q = small::<K>(&name);
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    let mut buf = [0u8; 16];
    assert_eq!(rx.try_recv(&mut buf), Err(TryRecvError::Empty));
    assert_eq!(rx.recv(&mut buf, SHORT), Err(RecvTimeoutError::Timeout));
    assert_eq!(
        tx.try_send(&[0; 17]),
        Err(TrySendError::TooLarge { len: 17, max: 16 })
    );

    tx.try_send(b"one").unwrap();
    tx.send(b"two", CALL).unwrap();
    tx.send_blocking(b"three").unwrap();
    tx.try_send_value(&4u32).unwrap();
    assert_eq!(tx.send(b"x", SHORT), Err(SendTimeoutError::Timeout));
    assert_eq!(rx.try_recv(&mut buf), Ok(3));
    assert_eq!(rx.recv(&mut buf, CALL), Ok(3));
    assert_eq!(rx.recv_blocking(&mut buf), Ok(5));
    assert_eq!(&buf[..5], b"three");
    assert_eq!(rx.try_recv_value::<u32>(), Ok(4));

    tx.send_value(&5u64, CALL).unwrap();
    tx.send_value_blocking(&6u64).unwrap();
    assert_eq!(rx.recv_value::<u64>(CALL), Ok(5));
    assert_eq!(rx.recv_value_blocking::<u64>(), Ok(6));

    assert_eq!(tx.try_send_slice(&[1u16, 2, 3, 4, 5, 6]), Ok(4));
    let mut out = [0u16; 3];
    assert_eq!(rx.try_recv_slice(&mut out), Ok(3));
    assert_eq!(out, [1, 2, 3]);
    assert_eq!(tx.send_slice(&[7u16, 8], CALL), Ok(2));
    assert_eq!(tx.send_slice_blocking(&[9u16]), Ok(1));
    assert_eq!(rx.recv_slice(&mut out, CALL), Ok(3));
    assert_eq!(out, [4, 7, 8]);
    assert_eq!(rx.recv_slice_blocking(&mut out), Ok(1));
    assert_eq!(out[0], 9);
    assert_eq!(rx.try_recv_slice::<u16>(&mut []), Ok(0));

    let mode = WaitMode::SpinThenPark {
        spin: Duration::from_micros(1),
    };
    tx.set_wait_mode(mode);
    rx.set_wait_mode(WaitMode::Park);
    assert_eq!((tx.wait_mode(), rx.wait_mode()), (mode, WaitMode::Park));
    drop(tx);
    assert_eq!(
        rx.recv_blocking(&mut buf),
        Err(RecvTimeoutError::Disconnected)
    );
    assert!(rx.is_abandoned());
}

#[test]
fn calls_spsc() {
    calls::<Spsc>("api-c-spsc");
}

#[test]
fn calls_mpmc() {
    calls::<Mpmc>("api-c-mpmc");
}

/// Iterators and the io traits.
fn iterators_and_io<K: Kind>(tag: &str) {
    let name = unique_name(tag);
    let q = small::<K>(&name);
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    for m in [&b"a"[..], b"bb", b"ccc"] {
        tx.try_send(m).unwrap();
    }
    let got: Vec<Vec<u8>> = rx.try_iter().collect();
    assert_eq!(got, [b"a".to_vec(), b"bb".to_vec(), b"ccc".to_vec()]);
    assert_eq!(rx.try_iter().count(), 0);

    tx.try_send(b"d").unwrap();
    tx.try_send(b"e").unwrap();
    let drained: Vec<Vec<u8>> = rx.drain().collect();
    assert_eq!(drained, [b"d".to_vec(), b"e".to_vec()]);

    // Write: one message per call, cut at the slot size.
    assert_eq!(tx.write(&[7u8; 20]).unwrap(), 16);
    write!(tx, "hi").unwrap();
    tx.flush().unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(rx.read(&mut buf).unwrap(), 16);
    assert_eq!(rx.read(&mut buf).unwrap(), 2);
    assert_eq!(&buf[..2], b"hi");
    // A message longer than the buffer stays queued.
    tx.try_send(b"longer").unwrap();
    let err = rx.read(&mut [0u8; 2]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(rx.read(&mut buf).unwrap(), 6);

    tx.try_send(b"last").unwrap();
    drop(tx);
    let rest: Vec<Vec<u8>> = rx.iter().collect();
    assert_eq!(rest, [b"last".to_vec()]);
    assert_eq!(rx.read(&mut buf).unwrap(), 0, "end of stream");
}

#[test]
fn iterators_and_io_spsc() {
    iterators_and_io::<Spsc>("api-i-spsc");
}

#[test]
fn iterators_and_io_mpmc() {
    iterators_and_io::<Mpmc>("api-i-mpmc");
}

/// open_or_create, open, remove, persist and kind checks.
fn lifecycle<K: Kind>(tag: &str) {
    let name = unique_name(tag);
    let created = Builder::<K>::new(&name)
        .capacity(8)
        .persist(true)
        .open_or_create()
        .unwrap();
    let opened = Queue::<K>::open_or_create(&name, K::Config::default()).unwrap();
    assert_eq!(opened.capacity(), 8, "an existing queue keeps its geometry");
    let clone = opened.clone();
    drop((created, opened));
    assert_eq!(Queue::<K>::open(&name).unwrap().capacity(), 8, "persisted");
    Queue::<K>::remove(&name).unwrap();
    assert!(matches!(Queue::<K>::open(&name), Err(Error::Io(_))));
    assert!(matches!(Queue::<K>::remove(&name), Err(Error::Io(_))));
    // The clone keeps its mapping after the name is gone.
    let (mut tx, mut rx) = (clone.sender().unwrap(), clone.receiver().unwrap());
    tx.try_send(b"still").unwrap();
    assert_eq!(rx.try_recv(&mut [0u8; 16]), Ok(5));
    assert!(matches!(
        Queue::<K>::open("bad/name"),
        Err(Error::InvalidName { .. })
    ));
}

#[test]
fn lifecycle_spsc() {
    lifecycle::<Spsc>("api-l-spsc");
}

#[test]
fn lifecycle_mpmc() {
    lifecycle::<Mpmc>("api-l-mpmc");
}

#[test]
fn kinds_do_not_open_each_other() {
    let name = unique_name("api-kinds");
    let _q = small::<Spsc>(&name);
    assert!(matches!(
        Queue::<Mpmc>::open(&name),
        Err(Error::Layout(shmq::LayoutError::Kind { .. }))
    ));
}

/// Cross-process: a child opens the queue by name (open_or_create), sends
/// three messages through `Write`, checks `has_receiver`, and exits; the
/// parent reads them through the blocking iterator, which ends when the
/// child's sender is gone.
fn across_processes<K: Kind>(test: &str, tag: &str) {
    if role().is_some() {
        let name = common::child_name();
        let q = Queue::<K>::open_or_create(&name, K::Config::default()).unwrap();
        assert!(q.has_receiver());
        let mut tx = q.sender().unwrap();
        for i in 0..3u8 {
            tx.write_all(&[i; 3]).unwrap();
        }
        return;
    }
    let _serial = serial();
    let name = unique_name(tag);
    let q = small::<K>(&name);
    let mut rx = q.receiver().unwrap();
    let mut child = spawn(test, "sender", &[(NAME_ENV, name.clone())]);
    let got: Vec<Vec<u8>> = rx.iter().collect();
    child.expect_success(CALL);
    assert_eq!(got, [vec![0; 3], vec![1; 3], vec![2; 3]]);
    assert!(rx.is_abandoned());
    // A zero timeout checks liveness once (`try_recv` only every 64th poll).
    assert_eq!(
        rx.recv(&mut [0u8; 16], Duration::ZERO),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn across_processes_spsc() {
    across_processes::<Spsc>("across_processes_spsc", "api-x-spsc");
}

#[test]
fn across_processes_mpmc() {
    across_processes::<Mpmc>("across_processes_mpmc", "api-x-mpmc");
}
