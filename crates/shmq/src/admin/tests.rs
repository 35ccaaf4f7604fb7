//! Unit tests of [`super`]: regions of every kind inspected, broken and
//! foreign files, sweeps.

use super::*;
use crate::spsc;
use std::sync::atomic::{AtomicU32, Ordering};

pub(super) fn unique(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("shmq-admin-{tag}-{}-{n}", std::process::id())
}

pub(super) fn poke(name: &str, off: u64, value: u32) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path(name))
        .unwrap();
    f.write_all_at(&value.to_ne_bytes(), off).unwrap();
}

#[test]
fn inspect_shows_geometry_roles_and_queue() {
    let name = unique("inspect");
    let q = spsc::Queue::builder(&name)
        .capacity(8)
        .slot_size(16)
        .create()
        .unwrap();
    let mut tx = q.sender().unwrap();
    tx.try_send(b"a").unwrap();
    tx.try_send(b"b").unwrap();
    let info = inspect(&name).unwrap();
    assert_eq!(
        (info.kind, info.capacity, info.slot_size),
        (QueueKind::Spsc, 8, 16)
    );
    assert_eq!(info.queued, Some(2));
    assert_eq!(info.counters.enqueued, 2);
    assert!(info.creator_alive && !info.persistent && !info.poisoned);
    assert_eq!(info.senders(), (1, 0));
    assert_eq!(info.receivers(), (0, 0));
    assert_eq!(info.file_size, info.total_size);
    drop(tx);
    // Closed cleanly: the role is free, not dead.
    assert_eq!(inspect(&name).unwrap().senders(), (0, 0));
}

#[test]
fn inspect_dense_shows_records_counters_and_roles() {
    let name = unique("dense");
    let q = crate::dense::Queue::builder(&name)
        .capacity(16)
        .slot_size(12)
        .persist(true)
        .create()
        .unwrap();
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    assert_eq!(tx.try_send_slice(&[[7u32; 3]; 5]), Ok(5));
    assert_eq!(rx.try_recv_slice(&mut [[0u32; 3]; 2]), Ok(2));
    assert!(rx.try_recv_value::<[u32; 3]>().is_ok());
    while tx.try_send_value(&[1u32; 3]).is_ok() {}
    let info = inspect(&name).unwrap();
    assert_eq!(kind_name(info.kind), "dense");
    assert_eq!(
        (info.kind, info.capacity, info.slot_size, info.stride),
        (QueueKind::Dense, 16, 12, 16)
    );
    assert_eq!(info.total_size, (HEADER_SIZE + 16 * 16) as u64);
    assert_eq!(info.file_size, info.total_size);
    // 5 + 14 records sent (until full), 3 taken.
    let c = info.counters;
    assert_eq!((c.enqueued, c.dequeued), (19, 3));
    assert_eq!(info.queued, Some(16));
    assert!(c.full >= Some(1) && c.empty.is_some());
    assert!(c.idle.is_none() && c.skipped.is_none() && c.lost.is_none());
    assert_eq!((c.sender_poisonings, c.receiver_poisonings), (0, 0));
    assert_eq!((info.senders(), info.receivers()), ((1, 0), (1, 0)));
    assert!(info.creator_alive && !info.poisoned);
    assert_eq!(info.max_endpoints, 0);
    // Gone cleanly: the roles are free. A state word left "attached"
    // with no lock held is a dead holder.
    drop((tx, rx));
    assert_eq!(inspect(&name).unwrap().senders(), (0, 0));
    poke(
        &name,
        offset::CONSUMER_STATE as u64,
        EndpointState::ATTACHED,
    );
    let info = inspect(&name).unwrap();
    assert_eq!((info.senders(), info.receivers()), ((0, 0), (0, 1)));
    // Sweeps: the role locks of a dense region are seen.
    assert!(matches!(
        gc_one(&name, false).unwrap(),
        GcOutcome::Persistent
    ));
    drop(q);
    poke(&name, offset::FLAGS as u64, 0);
    let other = crate::dense::Queue::open(&name).unwrap();
    let tx = other.sender().unwrap();
    assert!(!inspect(&name).unwrap().creator_alive);
    assert!(matches!(gc_one(&name, false).unwrap(), GcOutcome::InUse));
    drop(tx);
    assert!(matches!(gc_one(&name, false).unwrap(), GcOutcome::Removed));
    assert!(!path(&name).exists());
}

#[test]
fn kind_names() {
    let kinds = [
        QueueKind::Spsc,
        QueueKind::Mpmc,
        QueueKind::Bytes,
        QueueKind::Dense,
    ];
    let names: Vec<_> = kinds.into_iter().map(kind_name).collect();
    assert_eq!(names, ["spsc", "mpmc", "bytes", "dense"]);
}

#[test]
fn inspect_mpmc_lists_entries() {
    let name = unique("mpmc");
    let q = crate::mpmc::Queue::create(&name, Default::default()).unwrap();
    let _a = q.sender().unwrap();
    let _b = q.receiver().unwrap();
    let _c = q.receiver().unwrap();
    let info = inspect(&name).unwrap();
    assert_eq!(info.kind, QueueKind::Mpmc);
    assert_eq!(info.senders(), (1, 0));
    assert_eq!(info.receivers(), (2, 0));
    assert!(info.counters.idle.is_some() && info.counters.full.is_none());
}

#[test]
fn broken_regions_are_errors_not_panics() {
    let name = unique("broken");
    let q = spsc::Queue::builder(&name).persist(true).create().unwrap();
    drop(q);
    poke(&name, offset::POISONED as u64, 1);
    assert!(inspect(&name).unwrap().poisoned);
    poke(&name, offset::CAPACITY as u64, 3);
    let e = inspect(&name).unwrap_err();
    assert!(
        matches!(e, InspectError::Invalid(LayoutError::Capacity { found: 3 })),
        "{e}"
    );
    assert!(e.is_shmq());
    poke(&name, offset::CAPACITY as u64, 1024);
    poke(&name, offset::READY as u64, 0);
    assert!(matches!(inspect(&name), Err(InspectError::NotReady)));
    poke(&name, offset::READY as u64, layout::READY);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path(&name))
        .unwrap();
    f.set_len(HEADER_SIZE as u64 + 8).unwrap();
    let e = inspect(&name).unwrap_err();
    assert!(matches!(e, InspectError::Truncated { .. }), "{e}");
    // Not ready or invalid: a sweep keeps it.
    assert!(matches!(
        gc_one(&name, false).unwrap(),
        GcOutcome::Invalid(_)
    ));
    f.set_len(100).unwrap();
    assert!(!inspect(&name).unwrap_err().is_shmq());
    poke(&name, 0, 0);
    remove(&name, true).unwrap();
    assert!(!path(&name).exists());
}

#[test]
fn other_files_are_not_regions_and_do_not_block() {
    let fifo = unique("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path(&fifo),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let e = inspect(&fifo).unwrap_err();
    assert!(!e.is_shmq(), "{e}");
    assert!(matches!(
        gc_one(&fifo, false).unwrap(),
        GcOutcome::NotShmq(_)
    ));
    assert!(remove(&fifo, false).is_err());
    std::fs::remove_file(path(&fifo)).unwrap();
    let text = unique("text");
    std::fs::write(path(&text), vec![b'x'; 4096]).unwrap();
    assert!(matches!(inspect(&text), Err(InspectError::NotShmq(_))));
    assert!(matches!(
        gc_one(&text, false).unwrap(),
        GcOutcome::NotShmq(_)
    ));
    assert!(path(&text).exists());
    std::fs::remove_file(path(&text)).unwrap();
}
