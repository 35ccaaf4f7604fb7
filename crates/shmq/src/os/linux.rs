//! Linux: regions are files in `/dev/shm`, roles are OFD byte-range locks.
//!
//! Every check on the backing file is made with `fstat` on the descriptor we
//! opened (never on the path, which a peer could swap), and the path is opened
//! with `O_NOFOLLOW` so that a symbolic link planted under the name is refused.

use crate::error::Error;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

/// Directory holding named regions (what glibc's `shm_open` uses).
pub(crate) const SHM_DIR: &str = "/dev/shm";

/// Longest accepted name, in bytes.
pub(crate) const MAX_NAME_LEN: usize = 200;

/// Checks that `name` is 1..=200 bytes of `[A-Za-z0-9._-]`, not starting with `.`.
pub(crate) fn validate_name(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("longer than 200 bytes")
    } else if name.starts_with('.') {
        Some("starts with '.'")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Some("only A-Z, a-z, 0-9, '.', '_' and '-' are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Path of the region called `name` (which must be valid).
pub(crate) fn path(name: &str) -> PathBuf {
    PathBuf::from(SHM_DIR).join(name)
}

/// What `fstat` told us about a backing file that passed the checks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileInfo {
    /// Size in bytes.
    pub(crate) size: u64,
    /// Device, to recognise the same file under the name later.
    pub(crate) dev: u64,
    /// Inode, as above.
    pub(crate) ino: u64,
}

/// Creates `/dev/shm/<name>` exclusively, mode 0600, and checks it.
pub(crate) fn create(name: &str) -> Result<(OwnedFd, FileInfo), Error> {
    let flags = OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::RDWR;
    let fd = rustix::fs::open(path(name), flags, Mode::from_raw_mode(0o600)).map_err(open_error)?;
    match check_file(&fd) {
        Ok(info) => Ok((fd, info)),
        Err(e) => {
            // We made this file: do not leave it behind to block the name.
            let _ = rustix::fs::unlink(path(name));
            Err(e)
        }
    }
}

/// Opens the existing `/dev/shm/<name>` (never following a symlink) and checks it.
pub(crate) fn open(name: &str) -> Result<(OwnedFd, FileInfo), Error> {
    let flags = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::RDWR;
    let fd = rustix::fs::open(path(name), flags, Mode::empty()).map_err(open_error)?;
    let info = check_file(&fd)?;
    Ok((fd, info))
}

/// Opens a new open file description of the file open as `fd`, checked
/// like [`open`] and required to be the same file (`info`'s device and inode).
///
/// Through `/proc/self/fd/<fd>`, which names exactly the file `fd` refers to
/// even after its name was removed or replaced (the "magic link" must be
/// followed, so no `O_NOFOLLOW` there; the dev/ino check confirms the result).
/// Without `/proc`, by `name` under `/dev/shm` with `O_NOFOLLOW`; a name that
/// now refers to another file is an error.
pub(crate) fn reopen(fd: impl AsFd, name: &str, info: &FileInfo) -> Result<OwnedFd, Error> {
    use std::os::fd::AsRawFd;
    let proc_path = format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd());
    let new = match rustix::fs::open(proc_path, OFlags::CLOEXEC | OFlags::RDWR, Mode::empty()) {
        Ok(new) => new,
        Err(_) => open(name)?.0,
    };
    let now = check_file(&new)?;
    if (now.dev, now.ino) != (info.dev, info.ino) {
        return Err(Error::Io(io::Error::other(
            "the region file was replaced: cannot open it again",
        )));
    }
    Ok(new)
}

fn open_error(e: Errno) -> Error {
    // O_NOFOLLOW makes open fail with ELOOP when the name is a symbolic link.
    if e == Errno::LOOP {
        Error::NotRegularFile
    } else {
        Error::Io(e.into())
    }
}

/// `fstat` checks: a regular file, owned by our effective uid, with no group
/// or other write permission.
pub(crate) fn check_file(fd: impl AsFd) -> Result<FileInfo, Error> {
    let st = rustix::fs::fstat(fd).map_err(io::Error::from)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Error::NotRegularFile);
    }
    let expected = rustix::process::geteuid().as_raw();
    let mode = st.st_mode & 0o7777;
    if st.st_uid != expected || mode & 0o022 != 0 {
        return Err(Error::Permissions {
            owner: st.st_uid,
            mode,
            expected,
        });
    }
    Ok(FileInfo {
        // A negative size is impossible for a regular file; treat it as empty.
        size: u64::try_from(st.st_size).unwrap_or(0),
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

/// Sets the file's length and allocates its pages now (`fallocate`), so that
/// a full tmpfs is an `ENOSPC` error here rather than a `SIGBUS` later, when a
/// page of a sparse file is first touched. Falls back to `ftruncate` only on a
/// file system without `fallocate` (not tmpfs).
pub(crate) fn set_len(fd: impl AsFd, len: u64) -> io::Result<()> {
    match rustix::fs::fallocate(&fd, rustix::fs::FallocateFlags::empty(), 0, len) {
        Ok(()) => Ok(()),
        Err(Errno::OPNOTSUPP) => Ok(rustix::fs::ftruncate(&fd, len)?),
        Err(e) => Err(e.into()),
    }
}

/// Removes `/dev/shm/<name>` if it still is the file identified by `info`
/// (so that dropping a creator never removes a region someone else re-created
/// under the same name after ours was removed). A missing name is fine.
///
/// The check and the unlink are two system calls: a region removed and
/// re-created under the same name in between would be removed. That window is
/// a few microseconds at a creator's drop; closing it would need a lock on the
/// directory, which `/dev/shm` does not offer.
pub(crate) fn unlink_if_same(name: &str, info: &FileInfo) -> io::Result<()> {
    let p = path(name);
    match rustix::fs::statat(CWD, &p, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if st.st_dev == info.dev && st.st_ino == info.ino => unlink(name),
        Ok(_) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes `/dev/shm/<name>`.
pub(crate) fn unlink(name: &str) -> io::Result<()> {
    Ok(rustix::fs::unlink(path(name))?)
}

// Role locks. rustix 1.1 exposes only whole-file `flock`-style locks, not
// byte-range open-file-description locks, so these three functions call
// `libc::fcntl` with `F_OFD_SETLK` / `F_OFD_GETLK` directly. OFD locks (not
// classic POSIX `F_SETLK` locks) are what we need: they belong to the open file
// description, so closing an unrelated descriptor of the same file does not
// drop them, and they conflict between two descriptions in the same process.

fn flock_for(byte: usize, l_type: libc::c_int) -> libc::flock {
    // SAFETY: `flock` is a plain C struct for which all-zero bytes is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = l_type as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte as libc::off_t;
    fl.l_len = 1;
    // l_pid must be 0 for OFD locks (it is, from zeroed()).
    fl
}

fn fcntl_lock(fd: impl AsFd, cmd: libc::c_int, fl: &mut libc::flock) -> io::Result<()> {
    // SAFETY: the descriptor is open for the duration of the call (borrowed),
    // and `fl` is a valid, exclusively borrowed `struct flock`, which is what
    // F_OFD_SETLK / F_OFD_GETLK read and write.
    let rc = unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), cmd, fl as *mut libc::flock) };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Tries to take the write lock on byte `byte` without blocking.
/// `Ok(false)` if another open file description holds a conflicting lock.
pub(crate) fn try_lock(fd: impl AsFd, byte: usize) -> io::Result<bool> {
    let mut fl = flock_for(byte, libc::F_WRLCK);
    match fcntl_lock(fd, libc::F_OFD_SETLK, &mut fl) {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Releases our lock on byte `byte` (a no-op if we hold none).
pub(crate) fn unlock(fd: impl AsFd, byte: usize) -> io::Result<()> {
    let mut fl = flock_for(byte, libc::F_UNLCK);
    fcntl_lock(fd, libc::F_OFD_SETLK, &mut fl)
}

/// Whether another open file description holds a lock on byte `byte` (locks of
/// our own description do not count: the caller checks those itself).
pub(crate) fn is_locked_by_other(fd: impl AsFd, byte: usize) -> io::Result<bool> {
    let mut fl = flock_for(byte, libc::F_WRLCK);
    fcntl_lock(fd, libc::F_OFD_GETLK, &mut fl)?;
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}
