//! The shared file of one benchmark run and the control block at its start.
//!
//! The parent creates `/dev/shm/shmq-bench-<pid>-<n>-<tag>` (mode 0600,
//! `O_EXCL`), maps it with [`memmap2::MmapRaw`] and passes the path to the
//! peer, which maps it too. Once the peer reports ready the parent unlinks the
//! file, so no name is left behind however either process ends later; the
//! [`ShmFile`] guard also unlinks on drop (error and panic paths).
//!
//! Both processes are the same trusted binary: unlike shmq itself, the harness
//! trusts what its peer writes into the control block.

use crate::{err, Result};
use memmap2::{MmapOptions, MmapRaw};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Byte offset of the peer's `ready` word (`u32`, written by the peer).
pub const READY: usize = 0;
/// Byte offset of the parent's `go` word (`u32`, written by the parent).
pub const GO: usize = 128;
/// Byte offset of a `u64` the peer may report a result in.
pub const RESULT: usize = 256;
/// Start of the area a case lays out as it likes (page aligned).
pub const AREA: usize = 4096;

/// A shared file mapped into this process.
#[derive(Debug)]
pub struct ShmFile {
    map: MmapRaw,
    path: PathBuf,
    /// Whether this process created the file and must unlink it.
    owner: bool,
}

impl ShmFile {
    /// Creates and maps a new zero-filled file of `len` bytes.
    ///
    /// # Errors
    /// Any I/O error of creating, sizing or mapping the file.
    pub fn create(tag: &str, len: usize) -> Result<Self> {
        static SERIAL: AtomicU32 = AtomicU32::new(0);
        let dir = Path::new("/dev/shm");
        let dir = if dir.is_dir() {
            dir.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("shmq-bench-{}-{n}-{tag}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| err(format!("create {}: {e}", path.display())))?;
        // From here on the guard unlinks the file on every path.
        let guard = Unlink(Some(path));
        file.set_len(len as u64)?;
        let map = MmapOptions::new().len(len).map_raw(&file)?;
        let path = guard.disarm();
        Ok(ShmFile {
            map,
            path,
            owner: true,
        })
    }

    /// Maps the whole existing file at `path`.
    ///
    /// # Errors
    /// I/O errors, or a file too small for the control block.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::options().read(true).write(true).open(path)?;
        let size = file.metadata()?.len();
        let len = usize::try_from(size)?;
        if len < AREA {
            return Err(err(format!("{}: only {size} bytes", path.display())));
        }
        let map = MmapOptions::new().len(len).map_raw(&file)?;
        Ok(ShmFile {
            map,
            path: path.to_path_buf(),
            owner: false,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Mapped length in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the mapping is empty (never, in practice).
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    /// Base address of the mapping (page aligned).
    pub fn base(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    /// Removes the file's name (the mapping stays valid). Idempotent.
    pub fn unlink(&mut self) {
        if self.owner {
            self.owner = false;
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// The `u32` at byte offset `off` as an atomic.
    ///
    /// # Panics
    /// If `off` is misaligned or out of bounds.
    pub fn u32_at(&self, off: usize) -> &AtomicU32 {
        assert!(off % 4 == 0 && off + 4 <= self.len(), "bad offset {off}");
        // SAFETY: in bounds and aligned (checked above; the base is page
        // aligned); the mapping lives as long as `self`; any bit pattern is a
        // valid u32 and the peer accesses the word only atomically.
        unsafe { AtomicU32::from_ptr(self.base().add(off).cast()) }
    }

    /// The `u64` at byte offset `off` as an atomic.
    ///
    /// # Panics
    /// If `off` is misaligned or out of bounds.
    pub fn u64_at(&self, off: usize) -> &AtomicU64 {
        assert!(off % 8 == 0 && off + 8 <= self.len(), "bad offset {off}");
        // SAFETY: as in `u32_at`, for 8 bytes at an 8-aligned offset.
        unsafe { AtomicU64::from_ptr(self.base().add(off).cast()) }
    }
}

impl Drop for ShmFile {
    fn drop(&mut self) {
        self.unlink();
    }
}

/// Unlinks a path on drop unless disarmed.
struct Unlink(Option<PathBuf>);

impl Unlink {
    fn disarm(mut self) -> PathBuf {
        self.0.take().expect("armed")
    }
}

impl Drop for Unlink {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}
