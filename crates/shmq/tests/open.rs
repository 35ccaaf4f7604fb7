//! Creating, opening and removing named regions: names, file checks, and
//! every header validation error, each through the public `open`.

mod common;

use common::{cleanup, shm_path, unique_name, write_word};
use shmq::spsc::{self, Config, Queue};
use shmq::{Error, LayoutError};
use shmq_core::layout::{offset, HEADER_SIZE, LAYOUT_VERSION};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(20);

fn open_short(name: &str) -> Result<Queue, Error> {
    Queue::builder(name).ready_timeout(SHORT).open()
}

/// A persisted, valid region of 8 slots of 16 bytes, whose header a test may then patch.
fn persisted(tag: &str) -> String {
    let name = unique_name(tag);
    let q = Queue::builder(&name)
        .capacity(8)
        .slot_size(16)
        .persist(true)
        .create()
        .unwrap();
    drop(q);
    assert!(shm_path(&name).exists());
    name
}

fn layout_error(name: &str) -> LayoutError {
    let result = open_short(name);
    cleanup(name);
    match result {
        Err(Error::Layout(e)) => e,
        other => panic!("expected a layout error, got {other:?}"),
    }
}

#[test]
fn create_open_roundtrip() {
    let name = unique_name("roundtrip");
    let q = Queue::create(
        &name,
        Config {
            capacity: 16,
            slot_size: 24,
        },
    )
    .unwrap();
    assert_eq!(
        (q.capacity(), q.slot_size(), q.name()),
        (16, 24, name.as_str())
    );
    let meta = std::fs::metadata(shm_path(&name)).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), (HEADER_SIZE + 16 * 32) as u64);

    let other = Queue::open(&name).unwrap();
    assert_eq!((other.capacity(), other.slot_size()), (16, 24));
    let mut tx = q.sender().unwrap();
    let mut rx = other.receiver().unwrap();
    tx.try_send(b"across handles").unwrap();
    let mut buf = [0u8; 24];
    let n = rx.try_recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"across handles");
    assert_eq!(other.stats().enqueued, 1);
    assert_eq!(other.stats().dequeued, 1);
}

#[test]
fn create_twice_is_already_exists() {
    let name = unique_name("twice");
    let _q = Queue::create(&name, Config::default()).unwrap();
    match Queue::create(&name, Config::default()) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
}

#[test]
fn open_missing_is_not_found() {
    match Queue::open(&unique_name("missing")) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[test]
fn invalid_names_are_rejected() {
    let long = "a".repeat(201);
    for bad in [
        "",
        ".",
        ".hidden",
        "a/b",
        "../x",
        "a b",
        "é",
        "a\0b",
        long.as_str(),
    ] {
        assert!(
            matches!(
                Queue::create(bad, Config::default()),
                Err(Error::InvalidName { .. })
            ),
            "create accepted {bad:?}"
        );
        assert!(
            matches!(Queue::open(bad), Err(Error::InvalidName { .. })),
            "open accepted {bad:?}"
        );
        assert!(matches!(spsc::remove(bad), Err(Error::InvalidName { .. })));
    }
    // 200 characters of the allowed set are fine.
    let name = format!("{}-{}", unique_name("ok._"), "x".repeat(200));
    let name = &name[..200];
    let q = Queue::create(name, Config::default()).unwrap();
    assert_eq!(q.name(), name);
}

#[test]
fn bad_geometry_is_a_layout_error() {
    let name = unique_name("geometry");
    for (config, want) in [
        (
            Config {
                capacity: 3,
                slot_size: 8,
            },
            LayoutError::Capacity { found: 3 },
        ),
        (
            Config {
                capacity: 1,
                slot_size: 8,
            },
            LayoutError::Capacity { found: 1 },
        ),
        (
            Config {
                capacity: 0,
                slot_size: 8,
            },
            LayoutError::Capacity { found: 0 },
        ),
        (
            Config {
                capacity: 4,
                slot_size: (1 << 24) + 1,
            },
            LayoutError::SlotSize {
                found: (1 << 24) + 1,
            },
        ),
        (
            Config {
                capacity: 1 << 24,
                slot_size: 1 << 24,
            },
            LayoutError::SizeOverflow,
        ),
    ] {
        match Queue::create(&name, config) {
            Err(Error::Layout(e)) => assert_eq!(e, want),
            other => panic!("expected {want:?}, got {other:?}"),
        }
        assert!(!shm_path(&name).exists(), "a rejected create left a file");
    }
}

#[test]
fn creator_unlinks_when_last_handle_drops() {
    let name = unique_name("unlink");
    let q = Queue::create(&name, Config::default()).unwrap();
    let tx = q.sender().unwrap();
    drop(q);
    assert!(
        shm_path(&name).exists(),
        "an endpoint still uses the region"
    );
    drop(tx);
    assert!(!shm_path(&name).exists());
}

#[test]
fn opener_does_not_unlink() {
    let name = unique_name("opener");
    let q = Queue::create(&name, Config::default()).unwrap();
    drop(Queue::open(&name).unwrap());
    assert!(shm_path(&name).exists());
    drop(q);
    assert!(!shm_path(&name).exists());
}

#[test]
fn persist_and_remove() {
    let name = persisted("persist");
    let q = Queue::open(&name).unwrap();
    assert_eq!(q.capacity(), 8);
    spsc::remove(&name).unwrap();
    assert!(!shm_path(&name).exists());
    // The open handle keeps working after the name is gone.
    let mut tx = q.sender().unwrap();
    tx.try_send(b"x").unwrap();
    match spsc::remove(&name) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[test]
fn dropping_a_creator_spares_a_recreated_name() {
    let name = unique_name("recreated");
    let first = Queue::create(&name, Config::default()).unwrap();
    spsc::remove(&name).unwrap();
    let _second = Queue::create(
        &name,
        Config {
            capacity: 4,
            slot_size: 4,
        },
    )
    .unwrap();
    drop(first);
    assert_eq!(Queue::open(&name).unwrap().capacity(), 4);
}

fn open_mode(mode: u32) -> Result<Queue, Error> {
    let name = persisted("perm");
    std::fs::set_permissions(shm_path(&name), std::fs::Permissions::from_mode(mode)).unwrap();
    let result = Queue::open(&name);
    cleanup(&name);
    result
}

#[test]
fn any_group_or_other_permission_is_refused() {
    // Read bits matter as much as write bits: a reader sees all traffic and
    // can hold read locks (`F_RDLCK` needs only read access) on role bytes.
    for mode in [
        0o666, 0o620, 0o602, 0o644, 0o640, 0o604, 0o610, 0o601, 0o660, 0o606,
    ] {
        match open_mode(mode) {
            Err(Error::Permissions { mode: found, .. }) => assert_eq!(found, mode),
            other => panic!("expected Permissions for {mode:o}, got {other:?}"),
        }
    }
}

#[test]
fn setuid_setgid_and_sticky_bits_are_refused() {
    for mode in [0o4600, 0o2600, 0o1600, 0o6600] {
        match open_mode(mode) {
            Err(Error::Permissions { mode: found, .. }) => assert_eq!(found, mode),
            other => panic!("expected Permissions for {mode:o}, got {other:?}"),
        }
    }
}

#[test]
fn owner_only_modes_are_accepted() {
    for mode in [0o600, 0o700] {
        let result = open_mode(mode);
        assert!(result.is_ok(), "{mode:o}: {result:?}");
    }
}

#[test]
fn foreign_owner_is_refused() {
    // Only root can give a file away; as another user, chown fails with EPERM
    // and there is nothing to test.
    if !rustix::process::geteuid().is_root() {
        eprintln!("foreign_owner_is_refused: not root, cannot chown; skipped");
        return;
    }
    let name = persisted("owner");
    let nobody = rustix::process::Uid::from_raw(65534);
    rustix::fs::chown(shm_path(&name), Some(nobody), None).unwrap();
    let result = Queue::open(&name);
    cleanup(&name);
    match result {
        Err(Error::Permissions {
            owner, expected, ..
        }) => assert_eq!((owner, expected), (65534, 0)),
        other => panic!("expected Permissions, got {other:?}"),
    }
}

#[test]
fn symlink_is_refused() {
    let target = persisted("symlink-target");
    let link = unique_name("symlink");
    std::os::unix::fs::symlink(shm_path(&target), shm_path(&link)).unwrap();
    let result = Queue::open(&link);
    let created = Queue::create(&link, Config::default());
    cleanup(&link);
    cleanup(&target);
    assert!(matches!(result, Err(Error::NotRegularFile)), "{result:?}");
    match created {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists),
        other => panic!("create through a symlink: {other:?}"),
    }
}

/// Opens `name` on a thread and waits for the result under a watchdog (a
/// liveness bound against a hang, not a speed claim).
fn open_watched(name: &str) -> Result<Queue, Error> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = name.to_owned();
    std::thread::spawn(move || {
        let _ = tx.send(open_short(&owned));
    });
    rx.recv_timeout(SHORT + Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("open of {name} did not return"))
}

#[test]
fn directory_is_not_a_regular_file() {
    let dir = unique_name("dir");
    std::fs::create_dir(shm_path(&dir)).unwrap();
    let result = open_watched(&dir);
    std::fs::remove_dir(shm_path(&dir)).unwrap();
    assert!(matches!(result, Err(Error::NotRegularFile)), "{result:?}");
}

#[test]
fn fifo_is_not_a_regular_file() {
    let fifo = unique_name("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        shm_path(&fifo),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let result = open_watched(&fifo);
    cleanup(&fifo);
    assert!(matches!(result, Err(Error::NotRegularFile)), "{result:?}");
}

#[test]
fn socket_is_not_a_regular_file() {
    let sock = unique_name("sock");
    let listener = std::os::unix::net::UnixListener::bind(shm_path(&sock)).unwrap();
    std::fs::set_permissions(shm_path(&sock), std::fs::Permissions::from_mode(0o600)).unwrap();
    let result = open_watched(&sock);
    drop(listener);
    cleanup(&sock);
    assert!(matches!(result, Err(Error::NotRegularFile)), "{result:?}");
}

#[test]
fn bad_magic() {
    let name = persisted("magic");
    write_word(&name, offset::MAGIC as u64, 0xdead_beef);
    assert_eq!(
        layout_error(&name),
        LayoutError::BadMagic { found: 0xdead_beef }
    );
}

#[test]
fn other_version() {
    let name = persisted("version");
    write_word(&name, offset::VERSION as u64, LAYOUT_VERSION + 1);
    assert_eq!(
        layout_error(&name),
        LayoutError::Version {
            found: LAYOUT_VERSION + 1
        }
    );
}

#[test]
fn other_kind() {
    let name = persisted("kind");
    write_word(&name, offset::KIND as u64, 7);
    assert_eq!(layout_error(&name), LayoutError::Kind { found: 7 });
}

#[test]
fn other_index_width() {
    let name = persisted("width");
    write_word(&name, offset::INDEX_WIDTH as u64, 4);
    assert_eq!(layout_error(&name), LayoutError::IndexWidth { found: 4 });
}

#[test]
fn capacity_not_power_of_two() {
    let name = persisted("capacity");
    write_word(&name, offset::CAPACITY as u64, 6);
    assert_eq!(layout_error(&name), LayoutError::Capacity { found: 6 });
}

#[test]
fn capacity_above_local_limit() {
    let name = persisted("capacity-max");
    write_word(&name, offset::CAPACITY as u64, 1 << 30);
    assert_eq!(
        layout_error(&name),
        LayoutError::Capacity { found: 1 << 30 }
    );
}

#[test]
fn slot_size_above_local_limit() {
    let name = persisted("slot");
    write_word(&name, offset::SLOT_SIZE as u64, u32::MAX);
    assert_eq!(
        layout_error(&name),
        LayoutError::SlotSize { found: u32::MAX }
    );
}

#[test]
fn total_size_overflow() {
    let name = persisted("overflow");
    write_word(&name, offset::CAPACITY as u64, 1 << 24);
    write_word(&name, offset::SLOT_SIZE as u64, 1 << 24);
    assert_eq!(layout_error(&name), LayoutError::SizeOverflow);
}

#[test]
fn stride_mismatch() {
    let name = persisted("stride");
    write_word(&name, offset::SLOT_STRIDE as u64, 32);
    assert_eq!(layout_error(&name), LayoutError::Stride { found: 32 });
}

#[test]
fn header_size_disagrees_with_geometry() {
    let name = persisted("size-header");
    let total = (HEADER_SIZE + 8 * 24) as u64;
    write_word(&name, offset::TOTAL_SIZE_LO as u64, total as u32 + 8);
    assert_eq!(
        layout_error(&name),
        LayoutError::SizeMismatch {
            header: total + 8,
            computed: total,
            mapped: total as usize
        }
    );
}

#[test]
fn file_shorter_than_geometry() {
    let name = persisted("size-file");
    let total = (HEADER_SIZE + 8 * 24) as u64;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(shm_path(&name))
        .unwrap();
    f.set_len(total - 24).unwrap();
    assert_eq!(
        layout_error(&name),
        LayoutError::SizeMismatch {
            header: total,
            computed: total,
            mapped: total as usize - 24
        }
    );
}

#[test]
fn larger_geometry_in_header_than_file() {
    let name = persisted("size-bigger");
    // A consistent header for 64 slots over a file sized for 8.
    let total = (HEADER_SIZE + 64 * 24) as u64;
    write_word(&name, offset::CAPACITY as u64, 64);
    write_word(&name, offset::TOTAL_SIZE_LO as u64, total as u32);
    assert_eq!(
        layout_error(&name),
        LayoutError::SizeMismatch {
            header: total,
            computed: total,
            mapped: HEADER_SIZE + 8 * 24
        }
    );
}

#[test]
fn not_ready_within_bound() {
    let name = persisted("not-ready");
    write_word(&name, offset::READY as u64, 0);
    let result = open_short(&name);
    cleanup(&name);
    match result {
        Err(Error::NotReady { waited }) => assert!(waited >= SHORT),
        other => panic!("expected NotReady, got {other:?}"),
    }
}

#[test]
fn too_small_within_bound() {
    for len in [0, 100, HEADER_SIZE as u64 - 1] {
        let name = unique_name("too-small");
        let f = std::fs::File::create_new(shm_path(&name)).unwrap();
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .unwrap();
        f.set_len(len).unwrap();
        assert_eq!(
            layout_error(&name),
            LayoutError::TooSmall {
                mapped: len as usize
            }
        );
    }
}

#[test]
fn open_waits_for_a_late_creator() {
    // The creator's steps, by hand: exclusive create, then (later) size and
    // header, `ready` last. `open` must wait through both stages.
    let template = persisted("late-template");
    let bytes = std::fs::read(shm_path(&template)).unwrap();
    cleanup(&template);
    let name = unique_name("late");
    let f = std::fs::File::create_new(shm_path(&name)).unwrap();
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .unwrap();
    let writer = {
        let path = shm_path(&name);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let mut not_ready = bytes.clone();
            not_ready[offset::READY..offset::READY + 4].fill(0);
            std::fs::write(&path, &not_ready).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            std::os::unix::fs::FileExt::write_all_at(
                &f,
                &bytes[offset::READY..offset::READY + 4],
                offset::READY as u64,
            )
            .unwrap();
        })
    };
    let result = Queue::builder(&name)
        .ready_timeout(Duration::from_secs(30))
        .open();
    writer.join().unwrap();
    cleanup(&name);
    assert_eq!(result.unwrap().capacity(), 8);
}
