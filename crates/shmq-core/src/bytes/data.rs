//! Copies in and out of a byte ring's data area, and the views over one
//! record's payload ([`View`] to read, [`ViewMut`] to write).
//!
//! Every access to the data area is an index-width atomic (Relaxed: the
//! record header's Release/Acquire publishes the payload), through
//! [`Region::data_word`], on a naturally aligned word. Payloads start
//! 8-aligned and their records are padded to a multiple of 8, so every word
//! a copy touches lies inside the record: two copies of the same bytes
//! always use the same address and size, and a peer (or a forged cursor)
//! racing with a copy yields torn bytes, never undefined behaviour. The
//! views follow rust-vmm's `vm-memory` `VolatileSlice`: they hand out
//! copies and typed reads/writes, never a reference into the region.

use crate::region::Region;
use crate::sync::{Index, Ordering};
use bytemuck::{NoUninit, Pod};
use core::fmt;
use core::mem::size_of;

/// Bytes per data word (the index width: 8, or 4 without 64-bit atomics).
const WORD: usize = size_of::<Index>();

/// Copies the ring bytes at `at..at + dst.len()` into `dst`.
///
/// The range must lie inside one record's payload area (the caller's
/// bounds); offsets are reduced modulo the capacity by `data_word` anyway,
/// so no call can leave the region.
#[inline]
pub(crate) fn load(region: &Region, at: usize, dst: &mut [u8]) {
    let mut a = at;
    let mut dst = dst;
    let mis = a % WORD;
    if mis != 0 && !dst.is_empty() {
        let w = region
            .data_word(a - mis)
            .load(Ordering::Relaxed)
            .to_ne_bytes();
        let k = (WORD - mis).min(dst.len());
        dst[..k].copy_from_slice(&w[mis..mis + k]);
        dst = &mut dst[k..];
        a += k;
    }
    let full = dst.len() / WORD;
    // Inside one record, so inside the data area: `data_words` gives all
    // `full` words (it clamps, and `zip` stops at the shorter side anyway).
    let words = region.data_words(a, full);
    let out = dst.as_mut_ptr();
    let mut i = 0;
    while i < words.len() {
        let v = words[i].load(Ordering::Relaxed);
        // SAFETY: `i < words.len() <= full = dst.len() / WORD`, so the word
        // lies inside the private destination; written unaligned.
        unsafe { out.add(i * WORD).cast::<Index>().write_unaligned(v) };
        i += 1;
    }
    let rest = dst.len() % WORD;
    if rest != 0 {
        let w = region
            .data_word(a + full * WORD)
            .load(Ordering::Relaxed)
            .to_ne_bytes();
        dst[full * WORD..].copy_from_slice(&w[..rest]);
    }
}

/// Stores the first `words.len()` whole words of `src` (at most
/// `src.len() / WORD` of them) into `words`.
#[inline(always)]
fn store_words(words: &[crate::sync::AtomicIndex], src: &[u8]) {
    let n = words.len().min(src.len() / WORD);
    let inp = src.as_ptr();
    let mut i = 0;
    while i < n {
        // SAFETY: `i < n <= src.len() / WORD`: the word lies inside `src`
        // (private memory), read unaligned.
        let v = unsafe { inp.add(i * WORD).cast::<Index>().read_unaligned() };
        words[i].store(v, Ordering::Relaxed);
        i += 1;
    }
}

/// Stores `src` at ring bytes `at..at + src.len()`, keeping the other bytes
/// of partially written words (a load and a store of that word: the
/// producer owns the bytes it writes, so nothing else writes them).
#[inline]
pub(crate) fn store(region: &Region, at: usize, src: &[u8]) {
    let mut a = at;
    let mut src = src;
    let mis = a % WORD;
    if mis != 0 && !src.is_empty() {
        let cell = region.data_word(a - mis);
        let mut w = cell.load(Ordering::Relaxed).to_ne_bytes();
        let k = (WORD - mis).min(src.len());
        w[mis..mis + k].copy_from_slice(&src[..k]);
        cell.store(Index::from_ne_bytes(w), Ordering::Relaxed);
        src = &src[k..];
        a += k;
    }
    let full = src.len() / WORD;
    store_words(region.data_words(a, full), src);
    let rest = &src[full * WORD..];
    if !rest.is_empty() {
        let cell = region.data_word(a + full * WORD);
        let mut w = cell.load(Ordering::Relaxed).to_ne_bytes();
        w[..rest.len()].copy_from_slice(rest);
        cell.store(Index::from_ne_bytes(w), Ordering::Relaxed);
    }
}

/// Stores `src` at the word-aligned ring offset `at` of a fresh record;
/// the bytes of the last word beyond `src.len()` (record padding) become
/// zeros, so no word is loaded.
#[inline]
pub(crate) fn store_fresh(region: &Region, at: usize, src: &[u8]) {
    debug_assert!(at % WORD == 0);
    let full = src.len() / WORD;
    store_words(region.data_words(at, full), src);
    let rest = &src[full * WORD..];
    if !rest.is_empty() {
        let mut w = [0u8; WORD];
        w[..rest.len()].copy_from_slice(rest);
        region
            .data_word(at + full * WORD)
            .store(Index::from_ne_bytes(w), Ordering::Relaxed);
    }
}

/// A typed access that does not fit the payload: `size` bytes at `offset`
/// of a payload of `len` bytes.
///
/// ```
/// use shmq_core::bytes::OutOfRange;
/// let e = OutOfRange { offset: 4, size: 8, len: 8 };
/// assert_eq!(e.to_string(), "8 bytes at offset 4 exceed a payload of 8 bytes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    /// Offset of the access in the payload.
    pub offset: usize,
    /// Bytes of the access.
    pub size: usize,
    /// Length of the payload.
    pub len: usize,
}

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes at offset {} exceed a payload of {} bytes",
            self.size, self.offset, self.len
        )
    }
}

impl core::error::Error for OutOfRange {}

/// Checks that `size` bytes at `offset` fit `len`.
#[inline]
fn fits(offset: usize, size: usize, len: usize) -> Result<(), OutOfRange> {
    match offset.checked_add(size) {
        Some(end) if end <= len => Ok(()),
        _ => Err(OutOfRange { offset, size, len }),
    }
}

/// A read-only view of one record's payload in the ring, in place.
///
/// Given to the closure of [`crate::bytes::Consumer::try_recv_with`]; the
/// record is released when the closure returns. Reads copy bytes out
/// (index-width atomic loads): there is no `&[u8]` into the region, so a
/// peer writing the record meanwhile yields garbage bytes, never undefined
/// behaviour. Validate what you read, as for any message.
///
/// ```
/// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
/// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
/// # // SAFETY: one producer and one consumer of this region in this test.
/// # let mut tx = unsafe { Producer::attach(heap.region()) }.unwrap();
/// # // SAFETY: as above.
/// # let mut rx = unsafe { Consumer::attach(heap.region()) }.unwrap();
/// tx.try_push(b"header:payload").unwrap();
/// rx.try_recv_with(|view| {
///     assert_eq!(view.len(), 14);
///     let mut tag = [0u8; 6];
///     assert_eq!(view.read_at(0, &mut tag), 6);
///     assert_eq!(&tag, b"header");
/// })
/// .unwrap();
/// ```
#[derive(Clone, Copy)]
pub struct View<'a> {
    region: &'a Region,
    /// Ring offset of the payload's first byte (8-aligned).
    at: usize,
    len: usize,
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("View")
            .field("at", &self.at)
            .field("len", &self.len)
            .finish()
    }
}

impl<'a> View<'a> {
    /// A view of `len` bytes at ring offset `at`, which the caller validated
    /// to lie inside one record.
    pub(crate) fn new(region: &'a Region, at: usize, len: usize) -> Self {
        View { region, at, len }
    }

    /// Length of the payload in bytes.
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
    /// # // SAFETY: one producer and one consumer of this region in this test.
    /// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.try_push(&[1, 2, 3]).unwrap();
    /// assert_eq!(rx.try_recv_with(|v| v.len()), Ok(3));
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the payload is empty (a zero-length message).
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
    /// # // SAFETY: one producer and one consumer of this region in this test.
    /// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.try_push(&[]).unwrap();
    /// assert_eq!(rx.try_recv_with(|v| v.is_empty()), Ok(true));
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies payload bytes from `offset` into `buf`: `min(buf.len(),
    /// len - offset)` of them (0 if `offset >= len`); returns how many.
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
    /// # // SAFETY: one producer and one consumer of this region in this test.
    /// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.try_push(b"abcdef").unwrap();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(rx.try_recv_with(|v| v.read_at(4, &mut buf)), Ok(2));
    /// assert_eq!(&buf[..2], b"ef");
    /// ```
    #[inline]
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> usize {
        let n = self.len.saturating_sub(offset).min(buf.len());
        if n > 0 {
            load(self.region, self.at + offset, &mut buf[..n]);
        }
        n
    }

    /// Copies the payload into the start of `buf`: `min(len, buf.len())`
    /// bytes; returns how many.
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
    /// # // SAFETY: one producer and one consumer of this region in this test.
    /// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.try_push(b"xyz").unwrap();
    /// let mut buf = [0u8; 3];
    /// assert_eq!(rx.try_recv_with(|v| v.copy_to_slice(&mut buf)), Ok(3));
    /// assert_eq!(&buf, b"xyz");
    /// ```
    #[inline]
    pub fn copy_to_slice(&self, buf: &mut [u8]) -> usize {
        self.read_at(0, buf)
    }

    /// Reads a plain-data value from `size_of::<T>()` bytes at `offset`
    /// (any alignment).
    ///
    /// # Errors
    /// [`OutOfRange`] if those bytes are not all inside the payload.
    ///
    /// ```
    /// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
    /// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
    /// # // SAFETY: one producer and one consumer of this region in this test.
    /// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
    /// tx.try_push_value(&[1u32, 2, 3]).unwrap();
    /// let second = rx.try_recv_with(|v| v.read_value::<u32>(4)).unwrap();
    /// assert_eq!(second, Ok(2));
    /// ```
    #[inline]
    pub fn read_value<T: Pod>(&self, offset: usize) -> Result<T, OutOfRange> {
        fits(offset, size_of::<T>(), self.len)?;
        let mut value = T::zeroed();
        load(
            self.region,
            self.at + offset,
            bytemuck::bytes_of_mut(&mut value),
        );
        Ok(value)
    }
}

/// A writable view of a reserved record's payload, in place (see
/// [`crate::bytes::Loan`]). Writes are index-width atomic stores; there is
/// no `&mut [u8]` into the region.
///
/// ```
/// # use shmq_core::{bytes::{Consumer, Producer}, layout::Geometry, testing::HeapRegion};
/// # let heap = HeapRegion::new(Geometry::new_bytes(256, 64).unwrap());
/// # // SAFETY: one producer and one consumer of this region in this test.
/// # let (mut tx, mut rx) = unsafe { (Producer::attach(heap.region()).unwrap(), Consumer::attach(heap.region()).unwrap()) };
/// let r = tx.reserve(10).unwrap();
/// let view = tx.reserved(&r);
/// assert_eq!(view.len(), 10);
/// assert!(!view.is_empty());
/// assert_eq!(view.write_at(0, b"0123456789abc"), 10); // clamped to the reservation
/// view.write_value(2, &0x4241u16).unwrap(); // "AB" on little-endian targets
/// let mut back = [0u8; 4];
/// assert_eq!(view.read_at(0, &mut back), 4);
/// tx.commit(r, 10).unwrap();
/// assert_eq!(rx.try_recv_with(|v| v.len()), Ok(10));
/// ```
#[derive(Clone, Copy)]
pub struct ViewMut<'a> {
    region: &'a Region,
    at: usize,
    len: usize,
}

impl fmt::Debug for ViewMut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ViewMut")
            .field("at", &self.at)
            .field("len", &self.len)
            .finish()
    }
}

impl<'a> ViewMut<'a> {
    /// A view of the `len` reserved bytes at ring offset `at`.
    pub(crate) fn new(region: &'a Region, at: usize, len: usize) -> Self {
        ViewMut { region, at, len }
    }

    /// Length of the reserved payload in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the reserved payload is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `src` to the payload at `offset`: `min(src.len(), len -
    /// offset)` bytes (0 if `offset >= len`); returns how many.
    #[inline]
    pub fn write_at(&self, offset: usize, src: &[u8]) -> usize {
        let n = self.len.saturating_sub(offset).min(src.len());
        if n > 0 {
            store(self.region, self.at + offset, &src[..n]);
        }
        n
    }

    /// Copies payload bytes from `offset` into `buf` (what was written so
    /// far, or stale bytes); returns how many, as [`View::read_at`].
    #[inline]
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> usize {
        View::new(self.region, self.at, self.len).read_at(offset, buf)
    }

    /// Writes the bytes of `value` at `offset` (any alignment).
    ///
    /// # Errors
    /// [`OutOfRange`] if they do not all fit the payload; nothing is written.
    #[inline]
    pub fn write_value<T: NoUninit>(&self, offset: usize, value: &T) -> Result<(), OutOfRange> {
        fits(offset, size_of::<T>(), self.len)?;
        store(self.region, self.at + offset, bytemuck::bytes_of(value));
        Ok(())
    }
}
