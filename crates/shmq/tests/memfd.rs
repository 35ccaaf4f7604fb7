//! Sealed anonymous regions (memfd) handed to other processes over a Unix
//! socket: traffic, roles, liveness and takeover across real processes, a
//! hostile holder of the descriptor that tries to resize the file, and
//! descriptors that are refused.
//!
//! Children are this test binary re-executed (`common::spawn`); each connects
//! to an abstract Unix socket named in its environment and receives the
//! region's descriptor there.

mod common;

use common::{decode, encode, role, serial, spawn, unique_name, ChildProc, CALL};
use shmq::{mpmc, spsc, Error, LayoutError, RecvTimeoutError, Role, TryRecvError};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::time::{Duration, Instant};

/// Environment variable carrying the abstract socket name to a child.
const SOCK_ENV: &str = "SHMQ_TEST_SOCK";
/// Environment variable carrying a child's sender id.
const ID_ENV: &str = "SHMQ_TEST_ID";
/// Messages each child sender sends.
const MESSAGES: u64 = 2000;

/// A listening abstract Unix socket, and its name for the children.
fn listen() -> (UnixListener, String) {
    let name = unique_name("sock");
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let listener = UnixListener::bind_addr(&addr).unwrap();
    listener.set_nonblocking(true).unwrap();
    (listener, name)
}

/// Accepts one connection, bounded by [`CALL`].
fn accept(listener: &UnixListener) -> UnixStream {
    let end = Instant::now() + CALL;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(CALL)).unwrap();
                return stream;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < end, "no child connected");
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Child: connects to the parent's socket.
fn connect() -> UnixStream {
    let name = std::env::var(SOCK_ENV).unwrap();
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let stream = UnixStream::connect_addr(&addr).unwrap();
    stream.set_read_timeout(Some(CALL)).unwrap();
    stream
}

/// Child: waits until the parent closes the socket (or kills the child).
fn wait_for_parent(mut stream: UnixStream) {
    let mut byte = [0u8; 1];
    let _ = stream.read(&mut byte);
}

fn spawn_with_socket(test: &str, role: &str, sock: &str) -> ChildProc {
    spawn(test, role, &[(SOCK_ENV, sock.to_owned())])
}

fn spsc_config() -> spsc::Config {
    spsc::Config {
        capacity: 64,
        slot_size: 64,
    }
}

#[test]
fn spsc_across_processes() {
    const TEST: &str = "spsc_across_processes";
    match role().as_deref() {
        Some("sender") => {
            let stream = connect();
            let q = spsc::Queue::recv_from(&stream).unwrap();
            assert_eq!(q.name(), "");
            let mut tx = q.sender().unwrap();
            let mut buf = [0u8; 64];
            for seq in 0..MESSAGES {
                let n = encode(seq, &mut buf);
                tx.send(&buf[..n], CALL).unwrap();
            }
            return;
        }
        Some(other) => panic!("unknown role {other}"),
        None => {}
    }
    let _serial = serial();
    let (listener, sock) = listen();
    let q = spsc::Queue::create_anonymous(spsc_config()).unwrap();
    let mut rx = q.receiver().unwrap();
    let mut child = spawn_with_socket(TEST, "sender", &sock);
    q.send_to(accept(&listener)).unwrap();
    let mut buf = [0u8; 64];
    for seq in 0..MESSAGES {
        let n = rx.recv(&mut buf, CALL).unwrap();
        assert_eq!(decode(&buf[..n]), seq);
    }
    child.expect_success(CALL);
    // The child's sender is gone with it: the receiver is told so.
    assert_eq!(rx.recv(&mut buf, CALL), Err(RecvTimeoutError::Disconnected));
}

#[test]
fn spsc_roles_and_takeover_across_processes() {
    const TEST: &str = "spsc_roles_and_takeover_across_processes";
    match role().as_deref() {
        Some("hold") => {
            let stream = connect();
            let q = spsc::Queue::recv_from(&stream).unwrap();
            let tx = q.sender().unwrap();
            // The receiver role is the parent's.
            assert!(matches!(
                q.receiver(),
                Err(Error::RoleTaken(Role::Receiver))
            ));
            println!("HOLDING");
            wait_for_parent(stream);
            drop(tx);
            return;
        }
        Some(other) => panic!("unknown role {other}"),
        None => {}
    }
    let _serial = serial();
    let (listener, sock) = listen();
    let q = spsc::Queue::create_anonymous(spsc_config()).unwrap();
    let mut rx = q.receiver().unwrap();
    let mut child = spawn_with_socket(TEST, "hold", &sock);
    let stream = accept(&listener);
    q.send_to(&stream).unwrap();
    assert_eq!(child.wait_line("HOLDING", CALL).as_deref(), Some(""));

    assert!(matches!(q.sender(), Err(Error::RoleTaken(Role::Sender))));
    let mut buf = [0u8; 64];
    assert_eq!(rx.try_recv(&mut buf), Err(TryRecvError::Empty));

    // Killed while holding the role: the kernel drops its lock.
    child.kill("");
    assert_eq!(rx.recv(&mut buf, CALL), Err(RecvTimeoutError::Disconnected));
    let mut tx = q.sender().expect("the dead child's role is free again");
    tx.try_send(b"after takeover").unwrap();
    let n = rx.try_recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"after takeover");
    drop(stream);
}

/// What the hostile child saw for each attempt to resize or reseal.
fn hostile_attempts(fd: &OwnedFd) -> String {
    use rustix::fs::{fallocate, fcntl_add_seals, fcntl_get_seals, fstat, ftruncate};
    use rustix::fs::{FallocateFlags, SealFlags};
    let size = fstat(fd).unwrap().st_size as u64;
    let show = |r: rustix::io::Result<()>| match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("{:?}", std::io::Error::from(e).raw_os_error()),
    };
    let seals = fcntl_get_seals(fd).unwrap();
    let want = SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL;
    format!(
        "sealed {} shrink {} zero {} grow {} fallocate {} unseal-write {}",
        seals.contains(want),
        show(ftruncate(fd, size / 2)),
        show(ftruncate(fd, 0)),
        show(ftruncate(fd, size * 2)),
        show(fallocate(fd, FallocateFlags::empty(), size, 4096)),
        show(fcntl_add_seals(fd, SealFlags::WRITE)),
    )
}

#[test]
fn a_peer_cannot_resize_a_sealed_region() {
    const TEST: &str = "a_peer_cannot_resize_a_sealed_region";
    match role().as_deref() {
        Some("hostile") => {
            let stream = connect();
            let fd = shmq::anonymous::recv_fd(&stream).unwrap();
            println!("RESULT {}", hostile_attempts(&fd));
            // A second description of the same file fares no better.
            let again = spsc::Queue::from_fd(fd).unwrap().share_fd().unwrap();
            println!("RESULT {}", hostile_attempts(&again));
            return;
        }
        Some(other) => panic!("unknown role {other}"),
        None => {}
    }
    let _serial = serial();
    let (listener, sock) = listen();
    let q = spsc::Queue::create_anonymous(spsc_config()).unwrap();
    let (mut tx, mut rx) = (q.sender().unwrap(), q.receiver().unwrap());
    tx.try_send(b"before").unwrap();
    let mut child = spawn_with_socket(TEST, "hostile", &sock);
    q.send_to(accept(&listener)).unwrap();
    let eperm = Some(libc::EPERM);
    let want = format!(
        "sealed true shrink {eperm:?} zero {eperm:?} grow {eperm:?} fallocate {eperm:?} unseal-write {eperm:?}"
    );
    for _ in 0..2 {
        assert_eq!(child.wait_line("RESULT ", CALL), Some(want.clone()));
    }
    child.expect_success(CALL);

    // Still the whole region: every slot is written and read (a truncated
    // mapping would raise SIGBUS here and kill this test).
    let mut buf = [0u8; 64];
    let n = rx.try_recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"before");
    let mut msg = [0u8; 64];
    for seq in 0..3 * spsc_config().capacity as u64 {
        let n = encode(seq, &mut msg);
        tx.try_send(&msg[..n]).unwrap();
        let got = rx.try_recv(&mut buf).unwrap();
        assert_eq!(decode(&buf[..got]), seq);
    }
}

/// A memfd holding a copy of `q`'s bytes (a valid, ready region), with
/// sealing allowed and the seals `seals` added.
fn copy_into_memfd(fd: OwnedFd, seals: rustix::fs::SealFlags) -> OwnedFd {
    use rustix::fs::MemfdFlags;
    let mut bytes = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut bytes).unwrap();
    let memfd =
        rustix::fs::memfd_create("copy", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    let mut file = std::fs::File::from(memfd);
    file.write_all(&bytes).unwrap();
    rustix::fs::fcntl_add_seals(&file, seals).unwrap();
    OwnedFd::from(file)
}

#[test]
fn unsealed_descriptors_are_refused() {
    use rustix::fs::SealFlags;
    let q = spsc::Queue::create_anonymous(spsc_config()).unwrap();
    let seal_sets = [
        SealFlags::empty(),
        SealFlags::SHRINK,
        SealFlags::SHRINK | SealFlags::GROW,
        SealFlags::SHRINK | SealFlags::SEAL,
        SealFlags::GROW | SealFlags::SEAL,
    ];
    for seals in seal_sets {
        let fd = copy_into_memfd(q.share_fd().unwrap(), seals);
        match spsc::Queue::from_fd(fd) {
            Err(Error::Unsealed { seals: found }) => assert_eq!(found, seals.bits()),
            other => panic!("{seals:?}: expected Unsealed, got {other:?}"),
        }
        // Asked for knowingly, the same descriptor opens.
        let fd = copy_into_memfd(q.share_fd().unwrap(), seals);
        let same = spsc::Queue::from_fd_unsealed(fd).unwrap();
        assert_eq!(same.capacity(), 64);
    }
    // The full set opens (the copy is a region of its own).
    let all = SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL;
    let copy = spsc::Queue::from_fd(copy_into_memfd(q.share_fd().unwrap(), all)).unwrap();
    assert_eq!(copy.slot_size(), 64);

    // A memfd made without MFD_ALLOW_SEALING, and a file in /dev/shm.
    let plain = rustix::fs::memfd_create("plain", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
    let result = spsc::Queue::from_fd(plain);
    assert!(matches!(result, Err(Error::Unsealed { .. })), "{result:?}");
    let name = unique_name("named");
    let named = spsc::Queue::create(&name, spsc_config()).unwrap();
    let result = spsc::Queue::from_fd(named.share_fd().unwrap());
    assert!(matches!(result, Err(Error::Unsealed { .. })), "{result:?}");
    let result = mpmc::Queue::from_fd(named.share_fd().unwrap());
    assert!(matches!(result, Err(Error::Unsealed { .. })), "{result:?}");
}

#[test]
fn sealed_hugetlb_memfd_is_refused() {
    use rustix::fs::{MemfdFlags, SealFlags};
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING | MemfdFlags::HUGETLB;
    let Ok(fd) = rustix::fs::memfd_create("huge", flags) else {
        eprintln!("sealed_hugetlb_memfd_is_refused: no hugetlbfs memfds here; skipped");
        return;
    };
    rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)
        .unwrap();
    match spsc::Queue::from_fd(fd) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn other_descriptors_are_refused() {
    // Not a regular file.
    let (a, _b) = UnixStream::pair().unwrap();
    let result = spsc::Queue::from_fd_unsealed(OwnedFd::from(a));
    assert!(matches!(result, Err(Error::NotRegularFile)), "{result:?}");
    // A sealed region of the other kind.
    let q = spsc::Queue::create_anonymous(spsc_config()).unwrap();
    let result = mpmc::Queue::from_fd(q.share_fd().unwrap());
    assert!(
        matches!(result, Err(Error::Layout(LayoutError::Kind { .. }))),
        "{result:?}"
    );
    // A socket message without a descriptor.
    let (mut a, b) = UnixStream::pair().unwrap();
    a.write_all(b"Q").unwrap();
    let err = shmq::anonymous::recv_fd(&b).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    // Two descriptors where one was expected: refused, both closed.
    let fds = [q.share_fd().unwrap(), q.share_fd().unwrap()];
    let borrowed = [fds[0].as_fd(), fds[1].as_fd()];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
    let mut control = rustix::net::SendAncillaryBuffer::new(&mut space);
    assert!(control.push(rustix::net::SendAncillaryMessage::ScmRights(&borrowed)));
    rustix::net::sendmsg(
        &a,
        &[std::io::IoSlice::new(b"Q")],
        &mut control,
        rustix::net::SendFlags::empty(),
    )
    .unwrap();
    let err = shmq::anonymous::recv_fd(&b).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn roles_are_exclusive_within_a_process() {
    // Each endpoint locks through a description of its own, opened through
    // /proc/self/fd: the kernel excludes a second one of the same handle.
    let q = spsc::Queue::create_anonymous(spsc_config()).unwrap();
    let tx = q.sender().unwrap();
    assert!(matches!(q.sender(), Err(Error::RoleTaken(Role::Sender))));
    let other = spsc::Queue::from_fd(q.share_fd().unwrap()).unwrap();
    assert!(matches!(
        other.sender(),
        Err(Error::RoleTaken(Role::Sender))
    ));
    drop(tx);
    let _tx = other.sender().unwrap();
}

#[test]
fn mpmc_across_processes() {
    const TEST: &str = "mpmc_across_processes";
    match role().as_deref() {
        Some("sender") => {
            let id = common::env_u64(ID_ENV);
            let stream = connect();
            let q = mpmc::Queue::recv_from(&stream).unwrap();
            let mut tx = q.sender().unwrap();
            for seq in 0..MESSAGES {
                let msg = [id, seq];
                tx.send_value(&msg, CALL).unwrap();
            }
            println!("SENT");
            wait_for_parent(stream);
            return;
        }
        Some(other) => panic!("unknown role {other}"),
        None => {}
    }
    let _serial = serial();
    let (listener, sock) = listen();
    let q = mpmc::Queue::create_anonymous(mpmc::Config {
        capacity: 64,
        slot_size: 16,
        max_endpoints: 3,
    })
    .unwrap();
    let mut rx = q.receiver().unwrap();
    let mut children = Vec::new();
    let mut streams = Vec::new();
    for id in 0..2u64 {
        let child = spawn(
            TEST,
            "sender",
            &[(SOCK_ENV, sock.clone()), (ID_ENV, id.to_string())],
        );
        children.push(child);
        let stream = accept(&listener);
        q.send_to(&stream).unwrap();
        streams.push(stream);
    }
    let mut next = [0u64; 2];
    for _ in 0..2 * MESSAGES {
        let [id, seq] = rx.recv_value::<[u64; 2]>(CALL).unwrap();
        assert!(id < 2, "bad sender id {id}");
        assert_eq!(seq, next[id as usize], "sender {id} out of order");
        next[id as usize] += 1;
    }
    for child in &children {
        assert_eq!(child.wait_line("SENT", CALL).as_deref(), Some(""));
    }
    // Both senders hold entries: the table (3 entries) is full.
    assert!(matches!(q.sender(), Err(Error::TableFull { max: 3 })));
    // Killed, their entries are free again.
    children[0].kill("");
    children[1].kill("");
    let mut buf = [0u8; 16];
    assert_eq!(rx.recv(&mut buf, CALL), Err(RecvTimeoutError::Disconnected));
    let mut tx = q.sender().expect("a dead child's entry is free again");
    tx.try_send_value(&[7u64, 7]).unwrap();
    assert_eq!(rx.try_recv_value::<[u64; 2]>(), Ok([7, 7]));
    drop(streams);
}
