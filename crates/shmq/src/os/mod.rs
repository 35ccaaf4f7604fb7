//! The operating-system layer: named shared-memory files, sealed memfds and
//! descriptor passing, role locks, futexes and barriers. Every system call
//! of the crate is made here.
//!
//! One backend per OS, chosen at compile time (the memmap2 pattern). Only
//! Linux is implemented: the role locks are open-file-description locks
//! (`F_OFD_SETLK`), which other Unixes lack.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;
#[cfg(target_os = "linux")]
pub(crate) mod futex;

#[cfg(not(target_os = "linux"))]
compile_error!(
    "shmq supports Linux only for now: its role locks are open-file-description locks (F_OFD_SETLK)"
);
