//! Every method of the generic endpoint API, through the public API alone,
//! run once per queue kind by the same generic test code (SPSC and MPMC),
//! in one process and across processes (there the dense kind too); then the same methods on the dense
//! kind, whose messages are records of one fixed size (its own section at
//! the end: a message of another length is an error there).

mod common;

use common::{role, serial, spawn, unique_name, CALL, NAME_ENV};
use shmq::{
    dense::Dense, mpmc::Mpmc, spsc::Spsc, Builder, Error, Kind, Queue, RecvTimeoutError,
    SendTimeoutError, TryRecvError, TrySendError, Violation, WaitMode,
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
    assert!(matches!(
        Queue::<Dense>::open(&name),
        Err(Error::Layout(shmq::LayoutError::Kind { .. }))
    ));
    let name = unique_name("api-kinds-dense");
    let _q = small::<Dense>(&name);
    assert!(matches!(
        Queue::<Spsc>::open(&name),
        Err(Error::Layout(shmq::LayoutError::Kind { .. }))
    ));
}

/// Cross-process: a child opens the queue by name (open_or_create), checks
/// `has_receiver`, sends three 16-byte messages (a record of the dense kind)
/// through `Write`, and exits; the parent receives them, then learns that
/// the child's sender is gone. Every wait is bounded by [`CALL`]: a child
/// that dies before taking the sender role fails the test, not hangs it.
fn across_processes<K: Kind>(test: &str, tag: &str) {
    if role().is_some() {
        let name = common::child_name();
        let q = Queue::<K>::open_or_create(&name, K::Config::default()).unwrap();
        assert!(q.has_receiver());
        let mut tx = q.sender().unwrap();
        for i in 0..3u8 {
            tx.write_all(&[i; 16]).unwrap();
        }
        return;
    }
    let _serial = serial();
    let name = unique_name(tag);
    let q = small::<K>(&name);
    let mut rx = q.receiver().unwrap();
    let mut child = spawn(test, "sender", &[(NAME_ENV, name.clone())]);
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut buf = [0u8; 16];
    loop {
        match rx.recv(&mut buf, CALL) {
            Ok(n) => got.push(buf[..n].to_vec()),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("after {got:?}: {e}"),
        }
        assert!(got.len() <= 3, "more messages than sent: {got:?}");
    }
    child.expect_success(CALL);
    assert_eq!(got, [vec![0; 16], vec![1; 16], vec![2; 16]]);
    assert!(rx.is_abandoned());
    // A zero timeout checks liveness once (`try_recv` only every 64th poll).
    assert_eq!(
        rx.recv(&mut buf, Duration::ZERO),
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

#[test]
fn across_processes_dense() {
    across_processes::<Dense>("across_processes_dense", "api-x-dense");
}

// The dense kind: records of exactly `slot_size()` bytes (16 here).

/// Record `i` of the dense tests: 16 bytes.
fn rec(i: u8) -> [u8; 16] {
    [i; 16]
}

/// Geometry and snapshot queries; the record size is the slot size.
#[test]
fn queries_dense() {
    let name = unique_name("api-q-dense");
    let q = small::<Dense>(&name);
    assert_eq!((q.name(), q.capacity(), q.slot_size()), (&*name, 4, 16));
    assert!(!q.has_sender() && !q.has_receiver());
    let mut tx = q.sender().unwrap();
    let rx = q.receiver().unwrap();
    assert!(q.has_sender() && q.has_receiver());
    assert!(!tx.is_abandoned() && !rx.is_abandoned());
    assert_eq!((tx.capacity(), tx.slot_size()), (4, 16));
    assert_eq!((rx.capacity(), rx.slot_size()), (4, 16));
    assert!(q.is_empty() && tx.is_empty() && rx.is_empty());
    tx.try_send(&rec(1)).unwrap();
    assert_eq!((q.len(), tx.len(), rx.len()), (1, 1, 1));
    while tx.try_send(&rec(2)).is_ok() {}
    assert!(q.is_full() && tx.is_full() && rx.is_full());
    assert_eq!(q.len(), 4);
    // Counters: the cursors count records; a refused send counts as full.
    let stats = tx.stats();
    assert_eq!((stats.enqueued, stats.dequeued), (4, 0));
    assert!(stats.full >= 1 && !stats.poisoned);
    assert_eq!(format!("{:?}", q.stats()), format!("{stats:?}"));
    assert_eq!((tx.poisoned(), rx.poisoned()), (None, None));
    drop(rx);
    assert!(tx.is_abandoned(), "the receiver closed");
    assert!(!q.has_receiver());
    // A record size of zero is no geometry.
    assert!(matches!(
        Builder::<Dense>::new(&unique_name("api-q-dense0"))
            .slot_size(0)
            .create(),
        Err(Error::Layout(shmq::LayoutError::SlotSize { found: 0 }))
    ));
}

/// try_, timed and blocking variants; every length but the record size is
/// refused on send, and every buffer or type shorter than a record on receive.
/// The byte-level batch calls of the dense kind (record size known at run time).
#[test]
fn records_calls_dense() {
    let name = unique_name("api-r-dense");
    let q = small::<Dense>(&name);
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    let mut buf = [0u8; 40];
    assert_eq!(rx.try_recv_records(&mut buf), Err(TryRecvError::Empty));
    assert_eq!(
        rx.recv_records(&mut buf, SHORT),
        Err(RecvTimeoutError::Timeout)
    );
    assert_eq!(rx.try_recv_records(&mut []), Ok(0));

    // Not whole records: refused, nothing enqueued.
    let wrong = |len| TrySendError::WrongSize { len, size: 16 };
    assert_eq!(tx.try_send_records(&[0; 17]), Err(wrong(17)));
    assert_eq!(tx.try_send_records(&[0; 15]), Err(wrong(15)));
    assert_eq!(
        tx.send_records(&[0; 33], CALL),
        Err(SendTimeoutError::WrongSize { len: 33, size: 16 })
    );
    assert_eq!(tx.try_send_records(&[]), Ok(0));
    assert!(tx.is_empty());

    // Three records, then only one more fits the four-record ring.
    let three: Vec<u8> = [rec(1), rec(2), rec(3)].concat();
    assert_eq!(tx.try_send_records(&three), Ok(3));
    assert_eq!(tx.send_records(&three, CALL), Ok(1));
    assert_eq!(tx.try_send_records(&rec(9)), Err(TrySendError::Full));
    assert_eq!(
        tx.send_records(&rec(9), SHORT),
        Err(SendTimeoutError::Timeout)
    );

    // A buffer shorter than one record is refused; a longer one takes as
    // many whole records as it holds and leaves the rest of it untouched.
    assert_eq!(
        rx.try_recv_records(&mut [0u8; 15]),
        Err(TryRecvError::Size {
            len: 16,
            capacity: 15
        })
    );
    buf.fill(0xEE);
    assert_eq!(rx.try_recv_records(&mut buf), Ok(2));
    assert_eq!(buf[..32], [rec(1), rec(2)].concat()[..]);
    assert!(buf[32..].iter().all(|&b| b == 0xEE));
    assert_eq!(rx.recv_records(&mut buf, CALL), Ok(2));
    assert_eq!(buf[..32], [rec(3), rec(1)].concat()[..]);

    // The receiver learns that the sender is gone once the queue is drained.
    drop(tx);
    assert_eq!(
        rx.recv_records(&mut buf, CALL),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn calls_dense() {
    let name = unique_name("api-c-dense");
    let q = small::<Dense>(&name);
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    let mut buf = [0u8; 16];
    assert_eq!(rx.try_recv(&mut buf), Err(TryRecvError::Empty));
    assert_eq!(rx.recv(&mut buf, SHORT), Err(RecvTimeoutError::Timeout));
    assert!(rx.stats().empty >= 1);

    // Sends of another length: nothing enqueued, whatever the direction.
    let wrong = |len| TrySendError::WrongSize { len, size: 16 };
    assert_eq!(tx.try_send(&[0; 17]), Err(wrong(17)));
    assert_eq!(tx.try_send(b"short"), Err(wrong(5)));
    assert_eq!(tx.try_send(&[]), Err(wrong(0)));
    assert_eq!(tx.try_send_value(&1u64), Err(wrong(8)));
    assert_eq!(tx.try_send_slice(&[1u32, 2]), Err(wrong(4)));
    assert_eq!(tx.try_send_slice::<u32>(&[]), Err(wrong(4)));
    let timed = |len| SendTimeoutError::WrongSize { len, size: 16 };
    assert_eq!(tx.send(b"x", CALL), Err(timed(1)));
    assert_eq!(tx.send_value(&1u32, CALL), Err(timed(4)));
    assert_eq!(tx.send_slice(&[1u8; 4], CALL), Err(timed(1)));
    assert_eq!(tx.send_blocking(&[0; 32]), Err(timed(32)));
    assert_eq!(tx.send_value_blocking(&[0u64; 3]), Err(timed(24)));
    assert_eq!(tx.send_slice_blocking(&[0u64]), Err(timed(8)));
    assert!(tx.is_empty(), "nothing was enqueued");

    tx.try_send(&rec(1)).unwrap();
    tx.send(&rec(2), CALL).unwrap();
    tx.send_blocking(&rec(3)).unwrap();
    tx.try_send_value(&[4u64; 2]).unwrap();
    assert_eq!(tx.try_send(&rec(9)), Err(TrySendError::Full));
    assert_eq!(tx.send(&rec(9), SHORT), Err(SendTimeoutError::Timeout));
    // A buffer shorter than a record: refused, the record stays queued; a
    // longer one receives exactly one record.
    let size = |capacity| TryRecvError::Size { len: 16, capacity };
    assert_eq!(rx.try_recv(&mut [0u8; 15]), Err(size(15)));
    assert_eq!(rx.try_recv_value::<u64>(), Err(size(8)));
    assert_eq!(rx.try_recv_value::<[u64; 3]>(), Err(size(24)));
    assert_eq!(rx.try_recv_slice(&mut [0u32; 4]), Err(size(4)));
    assert_eq!(
        rx.recv(&mut [0u8; 3], CALL),
        Err(RecvTimeoutError::Size {
            len: 16,
            capacity: 3
        })
    );
    assert_eq!(rx.len(), 4);
    let mut big = [0u8; 40];
    assert_eq!(rx.try_recv(&mut big), Ok(16));
    assert_eq!(big[..16], rec(1));
    assert_eq!(rx.recv(&mut buf, CALL), Ok(16));
    assert_eq!(buf, rec(2));
    assert_eq!(rx.recv_blocking(&mut buf), Ok(16));
    assert_eq!(buf, rec(3));
    assert_eq!(rx.try_recv_value::<[u64; 2]>(), Ok([4, 4]));

    tx.send_value(&[5u32; 4], CALL).unwrap();
    tx.send_value_blocking(&[6u32; 4]).unwrap();
    assert_eq!(rx.recv_value::<[u32; 4]>(CALL), Ok([5; 4]));
    assert_eq!(rx.recv_value_blocking::<[u32; 4]>(), Ok([6; 4]));

    // Slices of records: a prefix that fits, published (and released) at once.
    let items: Vec<u128> = (1..=6).collect();
    assert_eq!(tx.try_send_slice(&items), Ok(4));
    assert_eq!(tx.try_send_slice(&items[4..]), Err(TrySendError::Full));
    assert_eq!(tx.try_send_slice::<u128>(&[]), Ok(0));
    let mut out = [0u128; 3];
    assert_eq!(rx.try_recv_slice(&mut out), Ok(3));
    assert_eq!(out, [1, 2, 3]);
    assert_eq!(tx.send_slice(&[7u128, 8], CALL), Ok(2));
    assert_eq!(tx.send_slice_blocking(&[9u128]), Ok(1));
    assert_eq!(rx.recv_slice(&mut out, CALL), Ok(3));
    assert_eq!(out, [4, 7, 8]);
    assert_eq!(rx.recv_slice_blocking(&mut out), Ok(1));
    assert_eq!(out[0], 9);
    assert_eq!(rx.try_recv_slice::<u128>(&mut []), Ok(0));
    assert_eq!(
        rx.recv_slice(&mut out, SHORT),
        Err(RecvTimeoutError::Timeout)
    );

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
    assert!(!q.stats().poisoned);
}

/// Iterators and the io traits over records: `write` sends one record (the
/// first `slot_size()` bytes of a longer buffer) and refuses a shorter one;
/// `read` takes one record into a buffer of at least `slot_size()` bytes.
#[test]
fn iterators_and_io_dense() {
    let name = unique_name("api-i-dense");
    let q = small::<Dense>(&name);
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    for i in 1..=3 {
        tx.try_send(&rec(i)).unwrap();
    }
    let got: Vec<Vec<u8>> = rx.try_iter().collect();
    assert_eq!(got, [rec(1).to_vec(), rec(2).to_vec(), rec(3).to_vec()]);
    assert_eq!(rx.try_iter().count(), 0);

    tx.try_send(&rec(4)).unwrap();
    tx.try_send(&rec(5)).unwrap();
    let drained: Vec<Vec<u8>> = rx.drain().collect();
    assert_eq!(drained, [rec(4).to_vec(), rec(5).to_vec()]);

    // Write: one record per call; a longer buffer is a short write (so
    // `write_all` of whole records sends them all), a shorter one is
    // refused with nothing sent.
    assert_eq!(tx.write(&[7u8; 20]).unwrap(), 16);
    assert_eq!(tx.write(&[]).unwrap(), 0);
    let err = tx.write(&[8u8; 15]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(tx.len(), 1, "the short write sent nothing");
    let two: Vec<u8> = [rec(8), rec(9)].concat();
    tx.write_all(&two).unwrap();
    tx.flush().unwrap();
    // Formatting writes pieces of any length: refused unless a piece is a
    // whole record.
    let err = write!(tx, "{}", 7).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(tx.len(), 3);
    // `write_all` with a partial record at the end: the whole records are
    // sent, then it fails on the rest.
    let err = tx.write_all(&[1u8; 20]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(tx.len(), 4);

    let mut buf = [0u8; 64];
    assert_eq!(rx.read(&mut buf).unwrap(), 16, "one record per read");
    assert_eq!(buf[..16], [7u8; 16]);
    // A buffer shorter than a record: refused, the record stays queued.
    let err = rx.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let mut exact = [0u8; 32];
    rx.read_exact(&mut exact).unwrap();
    assert_eq!(exact[..], two[..]);
    assert_eq!(rx.read(&mut buf).unwrap(), 16);
    assert_eq!(buf[..16], [1u8; 16]);

    tx.try_send(&rec(10)).unwrap();
    drop(tx);
    let rest: Vec<Vec<u8>> = rx.iter().collect();
    assert_eq!(rest, [rec(10).to_vec()]);
    assert_eq!(rx.read(&mut buf).unwrap(), 0, "end of stream");
}

/// open_or_create, open, remove, persist and the kind's own `remove`.
#[test]
fn lifecycle_dense() {
    let name = unique_name("api-l-dense");
    let created = shmq::dense::Queue::builder(&name)
        .capacity(8)
        .slot_size(24)
        .persist(true)
        .open_or_create()
        .unwrap();
    let opened = shmq::dense::Queue::open_or_create(&name, Default::default()).unwrap();
    assert_eq!(
        (opened.capacity(), opened.slot_size()),
        (8, 24),
        "an existing queue keeps its geometry"
    );
    let clone = opened.clone();
    drop((created, opened));
    assert_eq!(shmq::dense::Queue::open(&name).unwrap().slot_size(), 24);
    shmq::dense::remove(&name).unwrap();
    assert!(matches!(shmq::dense::Queue::open(&name), Err(Error::Io(_))));
    assert!(matches!(shmq::dense::remove(&name), Err(Error::Io(_))));
    // The clone keeps its mapping after the name is gone.
    let (mut tx, mut rx) = (clone.sender().unwrap(), clone.receiver().unwrap());
    tx.try_send_value(&[1u64, 2, 3]).unwrap();
    assert_eq!(rx.try_recv_value::<[u64; 3]>(), Ok([1, 2, 3]));
    // The default geometry: 4096 records of a u64.
    let name = unique_name("api-l-dense-default");
    let q = shmq::dense::Queue::create(&name, Default::default()).unwrap();
    assert_eq!((q.capacity(), q.slot_size()), (4096, 8));
}

/// A forged tail poisons the receiver with `Violation::Tail`; a receiver
/// attaching to the forged cursors is refused with `Violation::Cursors`.
#[test]
fn forged_tail_poisons_dense_receiver() {
    use shmq_core::layout::offset;
    let name = unique_name("api-p-dense");
    let q = small::<Dense>(&name);
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    tx.try_send(&rec(1)).unwrap();
    assert_eq!(rx.try_recv(&mut [0u8; 16]), Ok(16));
    // More than a ring ahead of the head (1): no honest sender writes it.
    common::write_word(&name, offset::TAIL as u64, 1 + 4 + 1);
    let poisoned = TryRecvError::Poisoned(Violation::Tail { found: 6, limit: 1 });
    assert_eq!(rx.try_recv(&mut [0u8; 16]), Err(poisoned));
    assert_eq!(rx.poisoned(), Some(Violation::Tail { found: 6, limit: 1 }));
    assert_eq!(rx.try_recv(&mut [0u8; 16]), Err(poisoned), "sticky");
    assert!(q.stats().poisoned && q.stats().consumer_poisoned >= 1);
    drop(rx);
    assert!(matches!(
        q.receiver(),
        Err(Error::Violation(Violation::Cursors { head: 1, tail: 6 }))
    ));
    // The sender keeps its private tail and never reads the forged one.
    assert_eq!(tx.poisoned(), None);
}
