//! Sealed regions without a name: the recommended mode between processes that
//! do not trust each other.
//!
//! [`Queue::create_anonymous`](crate::Queue::create_anonymous) (any kind)
//! put the region in a memfd (`memfd_create`), size and initialise it, then
//! seal it with `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`. From then on no
//! process holding the descriptor can resize the file (`ftruncate` fails with
//! `EPERM`), so no peer can make this process's mapping raise `SIGBUS` by
//! truncating it, which any process of the same user can do to a named region
//! in `/dev/shm`. The region has no name: nothing else can open it, and it
//! disappears when the last descriptor and mapping are gone.
//!
//! The region is handed to another process as a descriptor over a Unix socket
//! (`SCM_RIGHTS`): [`send_to`](crate::Queue::send_to) there,
//! [`recv_from`](crate::Queue::recv_from) here, or [`send_fd`]/[`recv_fd`] and
//! [`from_fd`](crate::Queue::from_fd) with a descriptor passed by any other
//! means (inheritance, `pidfd_getfd`). `from_fd` checks the seals and refuses
//! an unsealed descriptor with [`Error::Unsealed`];
//! [`from_fd_unsealed`](crate::Queue::from_fd_unsealed) accepts one knowingly.
//!
//! Everything else is as for named regions: roles and MPMC endpoint entries
//! are OFD locks, each endpoint taking its lock through an open file
//! description of its own (opened through `/proc/self/fd`, which needs
//! `/proc`), so exclusivity, liveness and takeover work the same, across
//! processes and after `fork()`. The handle's own description is never sent:
//! [`share_fd`](crate::Queue::share_fd) opens a new one, and `from_fd` replaces
//! the descriptor it is given by one of its own, so no description is shared
//! between the two processes.
//!
//! ```
//! use shmq::spsc::{Config, Queue};
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! // One end of the socket pair would be in another process.
//! let (here, there) = UnixStream::pair()?;
//! let q = Queue::create_anonymous(Config { capacity: 64, slot_size: 32 })?;
//! q.send_to(&here)?;
//!
//! // The other process:
//! let theirs = Queue::recv_from(&there)?;
//! let mut tx = theirs.sender()?;
//! tx.try_send(b"sealed").unwrap();
//!
//! let mut rx = q.receiver()?;
//! let mut buf = [0u8; 32];
//! let n = rx.recv(&mut buf, Duration::from_secs(1)).unwrap();
//! assert_eq!(&buf[..n], b"sealed");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::error::Error;
use crate::kind::Kind;
use crate::os;
use crate::region::Mapping;
use crate::Queue;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

/// Sends the descriptor `fd` over the connected Unix socket `socket`
/// (`SCM_RIGHTS`, with one data byte), for [`recv_fd`] to receive.
///
/// # Errors
/// The error of `sendmsg` (e.g. `EPIPE` if the other end is closed).
///
/// ```
/// use std::os::unix::net::UnixStream;
/// let (a, b) = UnixStream::pair()?;
/// let q = shmq::spsc::Queue::create_anonymous(Default::default())?;
/// shmq::anonymous::send_fd(&a, q.share_fd()?)?;
/// let fd = shmq::anonymous::recv_fd(&b)?;
/// assert_eq!(shmq::spsc::Queue::from_fd(fd)?.capacity(), 1024);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn send_fd(socket: impl AsFd, fd: impl AsFd) -> io::Result<()> {
    os::send_fd(socket, fd)
}

/// Receives one descriptor sent by [`send_fd`] from the Unix socket
/// `socket`; it is closed on exec.
///
/// Blocks as the socket does: set a read timeout
/// ([`UnixStream::set_read_timeout`](std::os::unix::net::UnixStream::set_read_timeout))
/// or non-blocking mode on it to bound the wait.
///
/// # Errors
/// The error of `recvmsg` (`WouldBlock`/`TimedOut` per the socket's mode);
/// `UnexpectedEof` if the other end closed; `InvalidData` if the message
/// carried no descriptor, more than one (all of them are closed), or other
/// data.
///
/// ```
/// use std::os::unix::net::UnixStream;
/// let (a, b) = UnixStream::pair()?;
/// drop(a);
/// let err = shmq::anonymous::recv_fd(&b).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn recv_fd(socket: impl AsFd) -> io::Result<OwnedFd> {
    os::recv_fd(socket)
}

impl<K: Kind> Queue<K> {
    /// Creates a queue in a new sealed memfd (see [`crate::anonymous`]).
    ///
    /// [`name`](Queue::name) is empty; the region goes when every
    /// handle, endpoint and descriptor of it, in every process, is gone.
    ///
    /// # Errors
    /// [`Error::Layout`] for an invalid geometry; [`Error::Io`] if the memfd
    /// cannot be created, sized (`ENOSPC`/`ENOMEM`) or sealed.
    ///
    /// ```
    /// let q = shmq::spsc::Queue::create_anonymous(shmq::spsc::Config {
    ///     capacity: 8,
    ///     slot_size: 16,
    /// })?;
    /// assert_eq!((q.capacity(), q.name()), (8, ""));
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn create_anonymous(config: K::Config) -> Result<Self, Error> {
        let geometry = K::geometry(&config)?;
        Ok(Queue::from_mapping(Mapping::create_anonymous(geometry)?))
    }

    /// Opens the region of kind `K` open as `fd` (received from another process),
    /// which must be sealed against resizing, and validates its header.
    ///
    /// `fd` is closed; the handle uses a new open file description of the
    /// same file. The file's owner and mode are not checked (it has no name,
    /// and its creator may be another user).
    ///
    /// # Errors
    /// [`Error::Unsealed`] if the file lacks `F_SEAL_SHRINK`, `F_SEAL_GROW` or
    /// `F_SEAL_SEAL` (any file that is not a sealed memfd);
    /// [`Error::NotRegularFile`]; [`Error::Layout`] naming the first invalid
    /// header field (`Kind` for a region of another kind); [`Error::NotReady`] if its
    /// creator had not finished; [`Error::Io`] (e.g. without `/proc`).
    ///
    /// ```
    /// use shmq::spsc::Queue;
    /// let q = Queue::create_anonymous(Default::default())?;
    /// let same = Queue::from_fd(q.share_fd()?)?;
    /// assert_eq!(same.capacity(), q.capacity());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn from_fd(fd: OwnedFd) -> Result<Self, Error> {
        Ok(Queue::from_mapping(Mapping::from_fd(fd, K::KIND, true)?))
    }

    /// As [`from_fd`](Queue::from_fd), without requiring seals: a peer
    /// holding the descriptor may then truncate the file, and touching the
    /// lost pages raises `SIGBUS` in this process. For a region from a
    /// trusted process only.
    ///
    /// # Errors
    /// As [`from_fd`](Queue::from_fd), except [`Error::Unsealed`].
    ///
    /// ```
    /// # let name = format!("shmq-doc-unsealed-{}", std::process::id());
    /// use shmq::spsc::Queue;
    /// let named = Queue::create(&name, Default::default())?;
    /// // A named region's file carries no seals.
    /// assert!(matches!(Queue::from_fd(named.share_fd()?), Err(shmq::Error::Unsealed { .. })));
    /// let same = Queue::from_fd_unsealed(named.share_fd()?)?;
    /// assert_eq!(same.capacity(), named.capacity());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn from_fd_unsealed(fd: OwnedFd) -> Result<Self, Error> {
        Ok(Queue::from_mapping(Mapping::from_fd(fd, K::KIND, false)?))
    }

    /// Receives a region descriptor from `socket` ([`recv_fd`]) and opens it
    /// ([`from_fd`](Queue::from_fd)). Blocks as the socket does.
    ///
    /// # Errors
    /// [`Error::Io`] from [`recv_fd`]; then as [`from_fd`](Queue::from_fd).
    ///
    /// ```
    /// use shmq::spsc::Queue;
    /// use std::os::unix::net::UnixStream;
    /// use std::time::Duration;
    /// let (a, b) = UnixStream::pair()?;
    /// b.set_read_timeout(Some(Duration::from_secs(5)))?; // bound the wait
    /// Queue::create_anonymous(Default::default())?.send_to(&a)?;
    /// assert_eq!(Queue::recv_from(&b)?.slot_size(), 64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_from(socket: impl AsFd) -> Result<Self, Error> {
        Self::from_fd(os::recv_fd(socket)?)
    }

    /// Sends the region to the process at the other end of the connected Unix
    /// socket `socket`, as a new open file description ([`share_fd`](Queue::share_fd)).
    ///
    /// # Errors
    /// [`Error::Io`] from opening the description or from `sendmsg`
    /// (`EPIPE` if the other end is closed).
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// let (a, b) = UnixStream::pair()?;
    /// let q = shmq::spsc::Queue::create_anonymous(Default::default())?;
    /// q.send_to(&a)?;
    /// drop(b);
    /// assert!(q.send_to(&a).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_to(&self, socket: impl AsFd) -> Result<(), Error> {
        Ok(os::send_fd(socket, self.share_fd()?)?)
    }

    /// A new open file description of the region's file, to hand to another
    /// process by any means (the handle's own description is never shared).
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Busy`] cannot happen while the handle is open
    /// (no lease can be taken on a file someone else has open).
    ///
    /// ```
    /// let q = shmq::spsc::Queue::create_anonymous(Default::default())?;
    /// let fd = q.share_fd()?;
    /// assert!(shmq::spsc::Queue::from_fd(fd).is_ok());
    /// # Ok::<(), shmq::Error>(())
    /// ```
    pub fn share_fd(&self) -> Result<OwnedFd, Error> {
        self.mapping().new_description()
    }
}
