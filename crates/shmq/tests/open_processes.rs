//! Opening and creating regions against other processes' doings: the
//! process-wide umask, and a lease (`F_SETLEASE`) held on the region file.
//!
//! Both run their interesting half in a child process (this test binary
//! re-executed, see `common::spawn`): the umask is process-wide and tests run
//! on threads, and a lease needs a second process to hold it.

mod common;

use common::{cleanup, role, serial, shm_path, spawn, unique_name, CALL, NAME_ENV};
use shmq::spsc::Queue;
use shmq::Error;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

/// Environment variable carrying the umask to a child, in octal.
const UMASK_ENV: &str = "SHMQ_TEST_UMASK";

/// Child: sets the umask, creates a queue, reports its mode, opens it again
/// and passes a message through the second handle.
fn create_under_umask() {
    let umask = u32::from_str_radix(&std::env::var(UMASK_ENV).unwrap(), 8).unwrap();
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(umask));
    let name = common::child_name();
    let q = Queue::builder(&name).capacity(4).slot_size(8).create();
    let q = match q {
        Ok(q) => q,
        Err(e) => {
            println!("RESULT create failed: {e}");
            return;
        }
    };
    let mode = std::fs::metadata(shm_path(&name))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    let reopened = Queue::open(&name).and_then(|other| {
        let mut tx = q.sender()?;
        let mut rx = other.receiver()?;
        tx.try_send(b"umask").unwrap();
        let mut buf = [0u8; 8];
        Ok(rx.try_recv(&mut buf).unwrap())
    });
    println!("RESULT mode {mode:o} reopen {reopened:?}");
}

#[test]
fn created_mode_is_0600_whatever_the_umask() {
    const TEST: &str = "created_mode_is_0600_whatever_the_umask";
    match role().as_deref() {
        Some("umask") => return create_under_umask(),
        Some(other) => panic!("unknown role {other}"),
        None => {}
    }
    let _serial = serial();
    for umask in ["0", "022", "077", "277", "777"] {
        let name = unique_name("umask");
        let mut child = spawn(
            TEST,
            "umask",
            &[(NAME_ENV, name.clone()), (UMASK_ENV, umask.to_owned())],
        );
        let result = child.wait_line("RESULT ", CALL);
        child.expect_success(CALL);
        cleanup(&name);
        assert_eq!(
            result.as_deref(),
            Some("mode 600 reopen Ok(5)"),
            "under umask {umask}"
        );
    }
}

/// Child: takes a write lease on the region file, ignoring the `SIGIO` that
/// announces a lease break, and holds it until its stdin closes.
fn hold_lease() {
    // SAFETY: setting SIGIO's disposition to "ignore" installs no handler
    // code; nothing else in this child process depends on SIGIO.
    let previous = unsafe { libc::signal(libc::SIGIO, libc::SIG_IGN) };
    assert_ne!(previous, libc::SIG_ERR);
    let file = std::fs::File::open(shm_path(&common::child_name())).unwrap();
    // SAFETY: F_SETLEASE takes an int argument; `file` is open for the call.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_WRLCK) };
    assert_eq!(rc, 0, "F_SETLEASE: {}", std::io::Error::last_os_error());
    println!("LEASED");
    let mut line = String::new();
    while std::io::stdin().read_line(&mut line).unwrap_or(0) > 0 {}
}

/// Opens `name` on a thread and waits for the result under a watchdog: a
/// liveness bound against the lease-break hang (45 s by default), not a
/// speed claim.
fn open_watched(name: &str, ready_timeout: Duration) -> Result<Queue, Error> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = name.to_owned();
    std::thread::spawn(move || {
        let _ = tx.send(Queue::builder(&owned).ready_timeout(ready_timeout).open());
    });
    rx.recv_timeout(ready_timeout + Duration::from_secs(10))
        .expect("open blocked on the lease beyond its ready timeout")
}

#[test]
fn open_does_not_block_on_a_lease() {
    const TEST: &str = "open_does_not_block_on_a_lease";
    match role().as_deref() {
        Some("lease") => return hold_lease(),
        Some(other) => panic!("unknown role {other}"),
        None => {}
    }
    let _serial = serial();
    let name = unique_name("lease");
    drop(
        Queue::builder(&name)
            .capacity(4)
            .slot_size(8)
            .persist(true)
            .create()
            .unwrap(),
    );
    let mut holder = spawn(TEST, "lease", &[(NAME_ENV, name.clone())]);
    assert_eq!(holder.wait_line("LEASED", CALL).as_deref(), Some(""));

    let ready_timeout = Duration::from_millis(50);
    let result = open_watched(&name, ready_timeout);
    match result {
        Err(Error::Busy { waited }) => assert!(waited >= ready_timeout, "{waited:?}"),
        other => panic!("expected Busy, got {other:?}"),
    }
    // A zero ready timeout gives up at once, with the same error.
    let result = open_watched(&name, Duration::ZERO);
    assert!(matches!(result, Err(Error::Busy { .. })), "{result:?}");

    // Once the holder is gone, so is its lease.
    holder.close_stdin();
    holder.expect_success(CALL);
    let q = open_watched(&name, CALL).unwrap();

    // While a handle is open, nobody can take a lease at all (the kernel
    // refuses a write lease on a file others have open), so the re-opens made
    // for each endpoint's own lock cannot meet one.
    let file = std::fs::File::open(shm_path(&name)).unwrap();
    // SAFETY: F_SETLEASE takes an int argument; `file` is open for the call.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_WRLCK) };
    let err = std::io::Error::last_os_error();
    assert_eq!(rc, -1);
    assert_eq!(err.raw_os_error(), Some(libc::EAGAIN), "{err}");
    let _tx = q.sender().unwrap();
    drop(q);
    cleanup(&name);
}
