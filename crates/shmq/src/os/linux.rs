//! Linux: regions are files in `/dev/shm` or sealed memfds (handed over Unix
//! sockets with `SCM_RIGHTS`), roles are OFD byte-range locks.
//!
//! Every check on the backing file is made with `fstat` on the descriptor we
//! opened (never on the path, which a peer could swap), and the path is opened
//! with `O_NOFOLLOW` so that a symbolic link planted under the name is refused.

use crate::error::Error;
use rustix::fs::{AtFlags, FileType, MemfdFlags, Mode, OFlags, SealFlags, CWD};
use rustix::io::Errno;
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

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

/// Flags of every open of a region file for use: `O_NONBLOCK` makes an open
/// that would wait for a lease break fail with `EWOULDBLOCK` instead (it has
/// no other effect on a regular file).
fn use_flags() -> OFlags {
    OFlags::CLOEXEC | OFlags::RDWR | OFlags::NONBLOCK
}

/// Creates `/dev/shm/<name>` exclusively, mode 0600 whatever the umask, and
/// checks it.
pub(crate) fn create(name: &str) -> Result<(OwnedFd, FileInfo), Error> {
    let flags = OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | use_flags();
    let fd = rustix::fs::open(path(name), flags, Mode::from_raw_mode(0o600)).map_err(open_error)?;
    // The umask may have cleared bits of the 0600 asked for (0400 under
    // umask 0277, 0000 under 0777), which would lock out our own re-opens.
    let checked = rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600))
        .map_err(|e| Error::Io(e.into()))
        .and_then(|()| check_file(&fd));
    match checked {
        Ok(info) => Ok((fd, info)),
        Err(e) => {
            // We made this file: do not leave it behind to block the name.
            let _ = rustix::fs::unlink(path(name));
            Err(e)
        }
    }
}

/// Opens the existing `/dev/shm/<name>` and checks it, never blocking.
///
/// The name is first opened with `O_PATH | O_NOFOLLOW`, which opens nothing
/// for I/O (no FIFO or device open, no lease break) and, for a symbolic link,
/// yields the link itself; only after `fstat` found an owner-only regular
/// file is that very file opened for reading and writing, through
/// `/proc/self/fd` (see [`reopen`]). [`Error::Busy`] (with `waited` zero)
/// if another process holds a lease on it: the caller decides whether to retry.
pub(crate) fn open(name: &str) -> Result<(OwnedFd, FileInfo), Error> {
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let handle = rustix::fs::open(path(name), flags, Mode::empty()).map_err(open_error)?;
    let info = check_file(&handle)?;
    let fd = reopen(&handle, Some(name), &info)?;
    Ok((fd, info))
}

/// Opens a new open file description of the file open as `fd` (which may be
/// an `O_PATH` descriptor), checked like [`open`] and required to be the same
/// file (`info`'s device and inode). Never blocks: [`Error::Busy`] if the
/// open would wait for a lease break.
///
/// Through `/proc/self/fd/<fd>`, which names exactly the file `fd` refers to
/// even after its name was removed or replaced (the "magic link" must be
/// followed, so no `O_NOFOLLOW` there; the dev/ino check confirms the result).
/// Without `/proc`, by `name` under `/dev/shm` with `O_NOFOLLOW`; a name that
/// now refers to another file is an error. A region without a name (a
/// memfd, `name` `None`) needs `/proc`.
pub(crate) fn reopen(fd: impl AsFd, name: Option<&str>, info: &FileInfo) -> Result<OwnedFd, Error> {
    let new = reopen_unchecked(fd, name)?;
    let now = check_file(&new)?;
    if (now.dev, now.ino) != (info.dev, info.ino) {
        return Err(Error::Io(io::Error::other(
            "the region file was replaced: cannot open it again",
        )));
    }
    Ok(new)
}

/// As [`reopen`], without the owner and mode checks (for a memfd, whose
/// identity is the descriptor rather than a name: see [`check_regular`]).
pub(crate) fn reopen_memfd(fd: impl AsFd, info: &FileInfo) -> Result<OwnedFd, Error> {
    let new = reopen_unchecked(fd, None)?;
    let now = check_regular(&new)?;
    if (now.dev, now.ino) != (info.dev, info.ino) {
        return Err(Error::Io(io::Error::other(
            "/proc/self/fd gave another file than the region's",
        )));
    }
    Ok(new)
}

fn reopen_unchecked(fd: impl AsFd, name: Option<&str>) -> Result<OwnedFd, Error> {
    let proc_path = format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd());
    match rustix::fs::open(proc_path, use_flags(), Mode::empty()) {
        Ok(new) => Ok(new),
        // No /proc: fall back to the name, if there is one.
        Err(Errno::NOENT) => match name {
            Some(name) => {
                rustix::fs::open(path(name), OFlags::NOFOLLOW | use_flags(), Mode::empty())
                    .map_err(open_error)
            }
            None => Err(Error::Io(io::Error::other(
                "cannot open a region without a name again: /proc/self/fd is not available",
            ))),
        },
        Err(e) => Err(open_error(e)),
    }
}

fn open_error(e: Errno) -> Error {
    match e {
        // O_NOFOLLOW makes open fail with ELOOP when the name is a symbolic
        // link; a directory opened for writing fails with EISDIR, a socket
        // with ENXIO. (The `O_PATH` open of [`open`] meets none of these: it
        // refuses each one after `fstat`.)
        Errno::LOOP | Errno::ISDIR | Errno::NXIO => Error::NotRegularFile,
        // O_NONBLOCK: the open would wait for a lease to be broken.
        Errno::WOULDBLOCK => Error::Busy {
            waited: Duration::ZERO,
        },
        e => Error::Io(e.into()),
    }
}

/// `fstat` checks of a named region: a regular file, owned by our effective
/// uid, with no permission for group or others and no setuid, setgid or
/// sticky bit (mode `0600`, or `0700`, `0400`, ...: owner bits only).
pub(crate) fn check_file(fd: impl AsFd) -> Result<FileInfo, Error> {
    let (st, info) = stat_regular(fd)?;
    let expected = rustix::process::geteuid().as_raw();
    let mode = st.st_mode & 0o7777;
    if st.st_uid != expected || mode & !0o700 != 0 {
        return Err(Error::Permissions {
            owner: st.st_uid,
            mode,
            expected,
        });
    }
    Ok(info)
}

/// `fstat` check of a file handed over as a descriptor: a regular file. Its
/// owner and mode are not checked: a memfd has no name through which another
/// user could open it, and its sender may be another user.
pub(crate) fn check_regular(fd: impl AsFd) -> Result<FileInfo, Error> {
    Ok(stat_regular(fd)?.1)
}

fn stat_regular(fd: impl AsFd) -> Result<(rustix::fs::Stat, FileInfo), Error> {
    let st = rustix::fs::fstat(fd).map_err(io::Error::from)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Error::NotRegularFile);
    }
    let info = FileInfo {
        // A negative size is impossible for a regular file; treat it as empty.
        size: u64::try_from(st.st_size).unwrap_or(0),
        dev: st.st_dev,
        ino: st.st_ino,
    };
    Ok((st, info))
}

// Anonymous regions: memfds, sealed against resizing, handed over a Unix
// socket.

/// The seals an anonymous region must carry: it can neither shrink (which
/// would turn a peer's touch of the lost pages into `SIGBUS`) nor grow, and
/// the set cannot change any more.
fn required_seals() -> SealFlags {
    SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL
}

/// A new, empty memfd that allows sealing, closed on exec. Not executable
/// where the kernel can say so (`MFD_NOEXEC_SEAL`, Linux 6.3).
pub(crate) fn memfd() -> Result<OwnedFd, Error> {
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    match rustix::fs::memfd_create("shmq", flags | MemfdFlags::NOEXEC_SEAL) {
        Ok(fd) => Ok(fd),
        // Older kernels do not know the flag.
        Err(Errno::INVAL) => Ok(rustix::fs::memfd_create("shmq", flags).map_err(io::Error::from)?),
        Err(e) => Err(Error::Io(e.into())),
    }
}

/// Adds [`required_seals`] to the memfd `fd`.
pub(crate) fn seal(fd: impl AsFd) -> Result<(), Error> {
    Ok(rustix::fs::fcntl_add_seals(fd, required_seals()).map_err(io::Error::from)?)
}

/// [`Error::Unsealed`] unless `fd`'s file carries every one of
/// [`required_seals`] (a file that cannot be sealed, not a memfd, has none);
/// [`Error::Io`] (`InvalidInput`) for a sealed file outside shmem (hugetlbfs).
pub(crate) fn check_seals(fd: impl AsFd) -> Result<(), Error> {
    let seals = match rustix::fs::fcntl_get_seals(&fd) {
        Ok(seals) => seals,
        Err(Errno::INVAL) => SealFlags::empty(),
        Err(e) => return Err(Error::Io(e.into())),
    };
    if !seals.contains(required_seals()) {
        return Err(Error::Unsealed {
            seals: seals.bits(),
        });
    }
    // Only shmem and hugetlbfs files can carry seals. A hugetlbfs memfd's
    // pages come from a separate pool that may run dry: refuse it.
    let fs = rustix::fs::fstatfs(&fd).map_err(io::Error::from)?;
    // `f_type` is an i64 here, an i32 or u32 on other targets.
    #[allow(clippy::unnecessary_cast)]
    let magic = fs.f_type as i64;
    if magic != TMPFS_MAGIC {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a sealed region must be an ordinary memfd (file system magic {:#x})",
                fs.f_type
            ),
        )));
    }
    Ok(())
}

/// `statfs` magic of tmpfs, which the kernel's internal shmem mount (home
/// of every memfd but hugetlbfs ones) reports.
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// The one data byte that carries a descriptor over a socket (a stream
/// socket carries ancillary data only with at least one byte of data).
const FD_MARKER: u8 = b'Q';

/// Sends `fd` over the connected Unix socket `socket` (`SCM_RIGHTS`, with
/// one data byte).
pub(crate) fn send_fd(socket: impl AsFd, fd: impl AsFd) -> io::Result<()> {
    let fds = [fd.as_fd()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other("ancillary buffer too small for one fd"));
    }
    let data = [FD_MARKER];
    loop {
        match rustix::net::sendmsg(
            &socket,
            &[IoSlice::new(&data)],
            &mut control,
            SendFlags::NOSIGNAL,
        ) {
            Ok(1) => return Ok(()),
            Ok(_) => return Err(io::ErrorKind::WriteZero.into()),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receives one descriptor sent by [`send_fd`] from the Unix socket
/// `socket` (closed on exec). Blocks as the socket does (its timeout or
/// non-blocking mode apply). A message with no descriptor, with more than
/// one, or with anything else is an error (any descriptors it carried are
/// closed).
pub(crate) fn recv_fd(socket: impl AsFd) -> io::Result<OwnedFd> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut data = [0u8; 1];
    let msg = loop {
        match rustix::net::recvmsg(
            &socket,
            &mut [IoSliceMut::new(&mut data)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(msg) => break msg,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let mut fds = Vec::new();
    let mut other = false;
    for message in control.drain() {
        match message {
            RecvAncillaryMessage::ScmRights(received) => fds.extend(received),
            _ => other = true,
        }
    }
    if msg.bytes == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if msg.flags.contains(ReturnFlags::CTRUNC) || other || fds.len() != 1 || data[0] != FD_MARKER {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "expected one region descriptor, got {} (data {:#x}, other messages {other})",
                fds.len(),
                data[0]
            ),
        ));
    }
    Ok(fds.remove(0))
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

/// What [`open_inspect`] and [`identity`] report of a file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Identity {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) size: u64,
}

/// Opens `/dev/shm/<name>` for inspection (`shmq ls/stat/gc`) without ever
/// blocking or following a link: `lstat` first (a device, FIFO or socket is
/// never opened, not even `O_NONBLOCK`), then `O_NONBLOCK | O_NOFOLLOW`, then
/// `fstat` of what was opened (the name may have been replaced meanwhile).
/// `Ok(None)`: not a regular file.
pub(crate) fn open_inspect(name: &str, write: bool) -> io::Result<Option<(OwnedFd, Identity)>> {
    use rustix::fs::{AtFlags, FileType, Mode, OFlags, CWD};
    let path = path(name);
    let st = rustix::fs::statat(CWD, &path, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Ok(None);
    }
    let access = if write { OFlags::RDWR } else { OFlags::RDONLY };
    let flags = access | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = rustix::fs::open(&path, flags, Mode::empty())?;
    let st = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Ok(None);
    }
    let id = Identity {
        dev: st.st_dev,
        ino: st.st_ino,
        size: u64::try_from(st.st_size).unwrap_or(0),
    };
    Ok(Some((fd, id)))
}

/// The identity of the file the name `/dev/shm/<name>` points to now
/// (`lstat`: a link is not followed).
pub(crate) fn identity(name: &str) -> io::Result<Identity> {
    use rustix::fs::{AtFlags, CWD};
    let st = rustix::fs::statat(CWD, path(name), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(Identity {
        dev: st.st_dev,
        ino: st.st_ino,
        size: u64::try_from(st.st_size).unwrap_or(0),
    })
}
