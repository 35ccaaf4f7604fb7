//! A handle to the bytes of one region, handing out atomics and atomic copies only.
//!
//! In production (and under Miri and proptest) a [`Region`] is a base pointer
//! plus a validated [`Geometry`]: every shared word is viewed as an atomic, and
//! payload bytes are only ever copied, word by word with relaxed atomics
//! (see `store_words`), never borrowed as `&[u8]`. Under `--cfg loom` the same methods are backed by loom atomics and a
//! loom `UnsafeCell` per payload on the heap (loom atomics cannot be overlaid on
//! mapped bytes, loom PR #253), so the models check the very code that ships.

use crate::layout::Geometry;
use crate::sync::{AtomicIndex, AtomicU32};

#[cfg(loom)]
pub use heap::Region;
#[cfg(all(not(loom), feature = "__testing"))]
pub(crate) use raw::KeepAlive;
#[cfg(not(loom))]
pub use raw::Region;

#[cfg(not(loom))]
mod raw {
    use super::*;
    use crate::layout::{header_word, offset, HEADER_SIZE, SLOT_HEADER};
    use crate::sync::{Index, Ordering};
    use core::ptr::NonNull;

    /// The bytes of one mapped region and their validated geometry.
    ///
    /// Cloning the handle does not copy the region. The handle carries no
    /// lifetime: whoever builds it (the platform crate's mapping owner) keeps
    /// the mapping alive for as long as any clone, producer or consumer exists.
    #[derive(Clone, Debug)]
    pub struct Region {
        base: NonNull<u8>,
        geometry: Geometry,
        /// Owner of heap-backed test regions, kept alive by every handle.
        #[cfg(feature = "__testing")]
        keep_alive: Option<KeepAlive>,
    }

    /// Keeps a heap allocation alive for as long as a handle exists (testing).
    #[cfg(feature = "__testing")]
    #[derive(Clone)]
    pub(crate) struct KeepAlive(
        // Never read: holding it is the point.
        #[allow(dead_code)] pub(crate) std::sync::Arc<dyn core::any::Any + Send + Sync>,
    );

    #[cfg(feature = "__testing")]
    impl core::fmt::Debug for KeepAlive {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("KeepAlive")
        }
    }

    // SAFETY: the handle is a pointer to memory that is shared by design and
    // accessed only through atomics and atomic copies; `from_raw`'s contract keeps
    // it mapped while any handle lives, whichever thread holds it.
    unsafe impl Send for Region {}
    // SAFETY: as for Send: `&Region` only reaches atomics and atomic copies.
    unsafe impl Sync for Region {}

    impl Region {
        /// Views `geometry.total_size()` bytes at `base` as a region.
        ///
        /// # Safety
        /// - `base` is non-null, 8-byte aligned, and points to at least
        ///   `geometry.total_size()` bytes readable and writable by this process;
        /// - those bytes stay mapped until the last handle, producer and consumer
        ///   built from this region is dropped;
        /// - `geometry` came from [`crate::layout::validate`] or
        ///   [`crate::layout::init`] on these bytes (or was passed to `init`).
        ///
        /// Other processes may write any value to any of the bytes at any time:
        /// the words this crate reads are atomics, so that is allowed and causes
        /// no undefined behaviour here (payload bytes are copied with atomic
        /// word accesses, never borrowed; see `docs/guarantees.md`, *Payload
        /// copies*). Within this process,
        /// endpoints obey the `# Safety` contracts of `Producer::attach` and
        /// `Consumer::attach`.
        pub unsafe fn from_raw(base: *mut u8, geometry: Geometry) -> Self {
            debug_assert!(!base.is_null() && (base as usize) % 8 == 0);
            // SAFETY: non-null by the caller's contract.
            let base = unsafe { NonNull::new_unchecked(base) };
            Region {
                base,
                geometry,
                #[cfg(feature = "__testing")]
                keep_alive: None,
            }
        }

        /// This handle, also keeping `owner` alive while it or a clone lives.
        #[cfg(feature = "__testing")]
        pub(crate) fn keeping(mut self, owner: KeepAlive) -> Self {
            self.keep_alive = Some(owner);
            self
        }

        /// The validated geometry.
        #[inline]
        pub fn geometry(&self) -> &Geometry {
            &self.geometry
        }

        /// The 32-bit header word at byte offset `off` (`off % 4 == 0`, `< HEADER_SIZE`).
        #[inline]
        pub(crate) fn word(&self, off: usize) -> &AtomicU32 {
            // SAFETY: the region holds at least HEADER_SIZE bytes; every caller
            // passes an `offset::*` constant, which is 4-aligned and in the header.
            unsafe { header_word(self.base.as_ptr(), off) }
        }

        /// The index cell at byte offset `off` (`off % 8 == 0`, `< HEADER_SIZE`).
        #[inline]
        pub(crate) fn index(&self, off: usize) -> &AtomicIndex {
            debug_assert!(off % 8 == 0 && off + 8 <= HEADER_SIZE);
            // SAFETY: in the header by the caller's `offset::*` constant, 8-aligned
            // since the base is; every bit pattern is a valid integer.
            unsafe { AtomicIndex::from_ptr(self.base.as_ptr().add(off).cast()) }
        }

        #[inline]
        /// The 32-bit word at byte `off` (0 or 4) of MPMC endpoint-table
        /// entry `entry` (`entry < endpoints`).
        pub(crate) fn entry_word(&self, entry: usize, off: usize) -> &AtomicU32 {
            debug_assert!(entry < self.geometry.endpoints() as usize && off % 4 == 0 && off < 8);
            // SAFETY: the table lies between the header and the slots, inside
            // total_size bytes; entry < endpoints (callers mask or bound it) and
            // off < ENTRY_SIZE; entries are 128-byte aligned offsets of an
            // 8-aligned base.
            unsafe {
                let p = self
                    .base
                    .as_ptr()
                    .add(self.geometry.entry_offset(entry) + off);
                AtomicU32::from_ptr(p.cast())
            }
        }

        /// The index cell at byte `off` (8 or 16) of MPMC endpoint-table entry `entry`.
        pub(crate) fn entry_cell(&self, entry: usize, off: usize) -> &AtomicIndex {
            debug_assert!(entry < self.geometry.endpoints() as usize && (off == 8 || off == 16));
            // SAFETY: as for `entry_word`; off is 8-aligned and off + 8 <= ENTRY_SIZE.
            unsafe {
                let p = self
                    .base
                    .as_ptr()
                    .add(self.geometry.entry_offset(entry) + off);
                AtomicIndex::from_ptr(p.cast())
            }
        }

        fn slot_ptr(&self, slot: usize) -> *mut u8 {
            debug_assert!(slot < self.geometry.capacity() as usize);
            // SAFETY: slot < capacity, so the slot lies inside total_size bytes.
            unsafe { self.base.as_ptr().add(self.geometry.slot_offset(slot)) }
        }

        /// Stamp word of `slot` (`slot < capacity`).
        #[inline]
        pub(crate) fn stamp(&self, slot: usize) -> &AtomicU32 {
            // SAFETY: slot_ptr is in bounds and 8-aligned (stride is a multiple of 8).
            unsafe { AtomicU32::from_ptr(self.slot_ptr(slot).cast()) }
        }

        /// Length word of `slot` (`slot < capacity`).
        #[inline]
        pub(crate) fn len(&self, slot: usize) -> &AtomicU32 {
            // SAFETY: slot_ptr + 4 is in bounds (SLOT_HEADER = 8) and 4-aligned.
            unsafe { AtomicU32::from_ptr(self.slot_ptr(slot).add(4).cast()) }
        }

        /// Copies `src` into the payload of `slot`, word by word (see
        /// [`store_words`]); the bytes of the last word beyond `src.len()`
        /// are written as zeros.
        ///
        /// # Safety
        /// `src.len() <= slot_size`, `slot < capacity`, and this process holds the
        /// slot (producer, between the free check and the stamp store).
        #[inline]
        pub(crate) unsafe fn write_payload(&self, slot: usize, src: &[u8]) {
            debug_assert!(src.len() <= self.geometry.slot_size() as usize);
            // SAFETY: the payload area of a slot starts SLOT_HEADER (8) bytes
            // after the 8-aligned slot and spans `stride - SLOT_HEADER` bytes,
            // which is `slot_size` rounded up to a multiple of 8: every word
            // `store_words` touches is aligned and in bounds.
            unsafe { store_words(self.slot_ptr(slot).add(SLOT_HEADER), src) }
        }

        /// Copies `n` payload bytes of `slot` to `dst`, word by word (see
        /// [`load_words`]).
        ///
        /// # Safety
        /// `n <= slot_size`, `slot < capacity`, `dst` valid for `n` bytes of writes.
        #[inline]
        pub(crate) unsafe fn read_payload(&self, slot: usize, dst: *mut u8, n: usize) {
            debug_assert!(n <= self.geometry.slot_size() as usize);
            // SAFETY: in bounds and aligned as in `write_payload`; `dst` valid
            // for `n` bytes by contract. A hostile writer can change the bytes
            // mid-copy: we get torn bytes, not UB (every access is atomic, every
            // bit pattern of u8 is valid), and the caller validates nothing
            // from the payload.
            unsafe { load_words(self.slot_ptr(slot).add(SLOT_HEADER), dst, n) }
        }

        /// Copies `src` into record `slot` of a dense ring (no slot header),
        /// word by word as [`Region::write_payload`].
        ///
        /// # Safety
        /// `src.len() <= slot_size`, `slot < capacity`, and this process holds
        /// the record (producer, between the free check and the tail store).
        #[inline(always)]
        pub(crate) unsafe fn write_record(&self, slot: usize, src: &[u8]) {
            debug_assert!(src.len() <= self.geometry.slot_size() as usize);
            // SAFETY: a dense record starts 8-aligned at `slot_offset(slot)`
            // and spans `stride` bytes, `slot_size` rounded up to 8: every
            // word `store_words` touches is aligned and in bounds.
            unsafe { store_words(self.slot_ptr(slot), src) }
        }

        /// Copies `n` bytes of record `slot` of a dense ring to `dst`.
        ///
        /// # Safety
        /// `n <= slot_size`, `slot < capacity`, `dst` valid for `n` bytes of writes.
        #[inline(always)]
        pub(crate) unsafe fn read_record(&self, slot: usize, dst: *mut u8, n: usize) {
            debug_assert!(n <= self.geometry.slot_size() as usize);
            // SAFETY: in bounds and aligned as in `write_record`; torn bytes
            // from a racing hostile writer are garbage, not UB (atomic words).
            unsafe { load_words(self.slot_ptr(slot), dst, n) }
        }

        /// Copies `items` into the consecutive records `first..first + items.len()`
        /// of a dense ring (no wrap: the caller splits at the end).
        ///
        /// # Safety
        /// `size_of::<T>() <= slot_size`, `first + items.len() <= capacity`,
        /// and this process holds those records (as for [`Region::write_record`]).
        #[inline(always)]
        pub(crate) unsafe fn write_records<T: bytemuck::NoUninit>(
            &self,
            first: usize,
            items: &[T],
        ) {
            debug_assert!(first + items.len() <= self.geometry.capacity() as usize);
            let stride = self.geometry.stride();
            let mut p = self.slot_ptr(first);
            for item in items {
                // SAFETY: `p` is record `first + i`, in bounds by the contract
                // (8-aligned, `stride` bytes), as in `write_record`.
                unsafe { store_words(p, bytemuck::bytes_of(item)) };
                // SAFETY: at most one past the last record, inside the region
                // (`slot_offset(capacity)` is `total_size` at most).
                p = unsafe { p.add(stride) };
            }
        }

        /// Copies the consecutive records `first..first + out.len()` of a
        /// dense ring into `out` (no wrap).
        ///
        /// # Safety
        /// `size_of::<T>() <= slot_size`, `first + out.len() <= capacity`.
        #[inline(always)]
        pub(crate) unsafe fn read_records<T: bytemuck::Pod>(&self, first: usize, out: &mut [T]) {
            debug_assert!(first + out.len() <= self.geometry.capacity() as usize);
            let stride = self.geometry.stride();
            let mut p = self.slot_ptr(first);
            for item in out {
                let dst = bytemuck::bytes_of_mut(item);
                // SAFETY: as in `write_records`; `dst` is a private `T`.
                unsafe { load_words(p, dst.as_mut_ptr(), dst.len()) };
                // SAFETY: as in `write_records`.
                p = unsafe { p.add(stride) };
            }
        }
    }

    // Payload copies: byte-wise atomic, one access size.
    //
    // A forged cursor or sequence word can make two threads of this process
    // touch the same slot at once (a producer overwriting what a consumer is
    // still copying). With `ptr::copy_nonoverlapping` that would be a data
    // race, undefined behaviour; with atomic accesses it is only torn bytes,
    // which the checks that exist catch or the caller receives as garbage.
    //
    // Every payload byte is accessed as part of one naturally aligned `Word`
    // (the payload starts 8-aligned and its area is padded to a multiple of
    // 8 bytes), so any two racing accesses to the same byte have the same
    // address and size: Rust's memory model (the `core::sync::atomic` docs)
    // makes racing atomic accesses of *different* sizes undefined, and Miri
    // reports them. That is why this is not the `atomic-memcpy` crate: its
    // API copies one typed `T` and picks chunk sizes from `T`'s size and
    // alignment (u8 heads and tails around word bulk), so two copies of
    // different lengths over the same slot would mix sizes; and it is an
    // extra dependency for a dozen lines. Relaxed word loads/stores compile to
    // plain moves on x86-64 and AArch64: a u64 message is one load and one
    // store; a 1 KiB one 128 of each (no SIMD, which atomics forbid).

    /// The access unit of payload copies: the index cell's atomic (u64 where
    /// the target has 64-bit atomics, else u32), a divisor of 8.
    type Word = AtomicIndex;
    const WORD: usize = core::mem::size_of::<Index>();
    const _: () = assert!(8 % WORD == 0 && SLOT_HEADER % WORD == 0);

    /// Stores `src` at `dst` in whole `Word`s (Relaxed); the last word is
    /// padded with zeros.
    ///
    /// # Safety
    /// `dst` is `WORD`-aligned and valid for writes of `src.len()` rounded up
    /// to a multiple of `WORD`; every other access to those bytes from this
    /// process is through this function or [`load_words`].
    #[inline(always)]
    unsafe fn store_words(dst: *mut u8, src: &[u8]) {
        let full = src.len() / WORD;
        for i in 0..full {
            // SAFETY: i * WORD + WORD <= src.len(); the source is private memory,
            // read unaligned.
            let v = unsafe { src.as_ptr().add(i * WORD).cast::<Index>().read_unaligned() };
            // SAFETY: aligned and in bounds by the contract; atomic access.
            unsafe { Word::from_ptr(dst.add(i * WORD).cast()) }.store(v, Ordering::Relaxed);
        }
        let rest = src.len() % WORD;
        if rest != 0 {
            let mut last = [0u8; WORD];
            last[..rest].copy_from_slice(&src[full * WORD..]);
            // SAFETY: as above: the rounded-up length covers this word.
            unsafe { Word::from_ptr(dst.add(full * WORD).cast()) }
                .store(Index::from_ne_bytes(last), Ordering::Relaxed);
        }
    }

    /// Copies `n` bytes from `src` to `dst`, loading whole `Word`s (Relaxed).
    ///
    /// # Safety
    /// `src` is `WORD`-aligned and valid for reads of `n` rounded up to a
    /// multiple of `WORD` (accessed as in [`store_words`]); `dst` is valid for
    /// `n` bytes of writes and does not overlap the source.
    #[inline(always)]
    unsafe fn load_words(src: *const u8, dst: *mut u8, n: usize) {
        let full = n / WORD;
        for i in 0..full {
            // SAFETY: aligned and in bounds by the contract; atomic access.
            let v = unsafe { Word::from_ptr(src.add(i * WORD).cast_mut().cast()) }
                .load(Ordering::Relaxed);
            // SAFETY: i * WORD + WORD <= n; private destination, unaligned.
            unsafe { dst.add(i * WORD).cast::<Index>().write_unaligned(v) };
        }
        let rest = n % WORD;
        if rest != 0 {
            // SAFETY: as above: the rounded-up length covers this word.
            let v = unsafe { Word::from_ptr(src.add(full * WORD).cast_mut().cast()) }
                .load(Ordering::Relaxed);
            let bytes = v.to_ne_bytes();
            // SAFETY: full * WORD + rest == n bytes of `dst`; `bytes` is local.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.add(full * WORD), rest) };
        }
    }

    // Byte rings (`crate::bytes`): the data area, as index-width words.
    impl Region {
        /// The index-width word at byte offset `off` of a byte ring's data
        /// area (which starts at `offset::SLOTS`). `off` is reduced modulo the
        /// capacity and rounded down to a whole word, so every call is in
        /// bounds whatever the caller computed.
        #[inline(always)]
        pub(crate) fn data_word(&self, off: usize) -> &AtomicIndex {
            const WORD: usize = core::mem::size_of::<AtomicIndex>();
            let cap = self.geometry.capacity() as usize;
            let off = off & (cap - 1) & !(WORD - 1);
            // SAFETY: `off + WORD <= capacity`, and every kind's geometry has
            // at least `capacity` bytes after `slot_offset(0)` (a byte ring
            // exactly `capacity`, slot rings `capacity * stride` with stride
            // >= 8), all inside `total_size`; 8-aligned base and offsets make
            // the word aligned; every bit pattern is a valid integer.
            unsafe {
                let p = self.base.as_ptr().add(self.geometry.slot_offset(0) + off);
                AtomicIndex::from_ptr(p.cast())
            }
        }

        /// Up to `n` consecutive data words from byte offset `off` (reduced
        /// and rounded as in `data_word`), never past the end of the data
        /// area: a slice of atomics, so bulk copies check bounds once.
        #[inline(always)]
        pub(crate) fn data_words(&self, off: usize, n: usize) -> &[AtomicIndex] {
            const WORD: usize = core::mem::size_of::<AtomicIndex>();
            let cap = self.geometry.capacity() as usize;
            let off = off & (cap - 1) & !(WORD - 1);
            let n = n.min((cap - off) / WORD);
            // SAFETY: `off + n * WORD <= capacity` bytes after `slot_offset(0)`,
            // inside the region as in `data_word`; aligned; atomics may alias
            // memory other processes write, and every bit pattern is valid.
            unsafe {
                let p = self.base.as_ptr().add(self.geometry.slot_offset(0) + off);
                core::slice::from_raw_parts(p.cast::<AtomicIndex>(), n)
            }
        }
    }

    /// Keeps the header size in one place for the loom twin and the tests.
    const _: () = assert!(HEADER_SIZE % 128 == 0 && offset::SLOTS == HEADER_SIZE);
}

#[cfg(loom)]
mod heap {
    use super::*;
    use crate::layout::HEADER_SIZE;
    use loom::cell::UnsafeCell;
    use std::boxed::Box;
    use std::sync::Arc;
    use std::vec::Vec;

    struct Inner {
        words: Box<[AtomicU32]>,
        cells: Box<[AtomicIndex]>,
        stamps: Box<[AtomicU32]>,
        lens: Box<[AtomicU32]>,
        payloads: Box<[UnsafeCell<Box<[u8]>>]>,
        entry_words: Box<[AtomicU32]>,
        entry_cells: Box<[AtomicIndex]>,
        /// Byte rings: the data area, one atomic per word.
        data: Box<[AtomicIndex]>,
    }

    /// Loom twin of the mapped region: the same accessors over heap atomics.
    #[derive(Clone)]
    pub struct Region {
        inner: Arc<Inner>,
        geometry: Geometry,
    }

    impl core::fmt::Debug for Region {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("Region")
                .field("geometry", &self.geometry)
                .finish()
        }
    }

    impl Region {
        /// A zeroed heap region of `geometry`, with its slots initialised.
        pub fn new_heap(geometry: Geometry) -> Self {
            let cap = geometry.capacity() as usize;
            let slot = geometry.slot_size() as usize;
            // A byte ring has no slots, only its data area.
            let slots = match geometry.kind() {
                crate::layout::QueueKind::Bytes => 0,
                _ => cap,
            };
            let inner = Inner {
                words: (0..HEADER_SIZE / 4).map(|_| AtomicU32::new(0)).collect(),
                cells: (0..HEADER_SIZE / 8).map(|_| AtomicIndex::new(0)).collect(),
                stamps: (0..slots).map(|_| AtomicU32::new(0)).collect(),
                lens: (0..slots).map(|_| AtomicU32::new(0)).collect(),
                payloads: (0..slots)
                    .map(|_| UnsafeCell::new(std::vec![0u8; slot].into_boxed_slice()))
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
                entry_words: (0..2 * geometry.endpoints())
                    .map(|_| AtomicU32::new(0))
                    .collect(),
                entry_cells: (0..2 * geometry.endpoints())
                    .map(|_| AtomicIndex::new(0))
                    .collect(),
                data: match geometry.kind() {
                    crate::layout::QueueKind::Bytes => (0..cap
                        / core::mem::size_of::<AtomicIndex>())
                        .map(|_| AtomicIndex::new(0))
                        .collect(),
                    _ => Box::new([]),
                },
            };
            let region = Region {
                inner: Arc::new(inner),
                geometry,
            };
            match geometry.kind() {
                crate::layout::QueueKind::Spsc => crate::spsc::init_slots(&region),
                crate::layout::QueueKind::Mpmc => crate::mpmc::init_slots(&region),
                crate::layout::QueueKind::Bytes => crate::bytes::init_ring(&region),
                crate::layout::QueueKind::Dense => {}
            }
            region
        }

        /// The geometry.
        #[inline]
        pub fn geometry(&self) -> &Geometry {
            &self.geometry
        }
        #[inline]
        pub(crate) fn word(&self, off: usize) -> &AtomicU32 {
            &self.inner.words[off / 4]
        }
        #[inline]
        pub(crate) fn index(&self, off: usize) -> &AtomicIndex {
            &self.inner.cells[off / 8]
        }
        #[inline]
        pub(crate) fn stamp(&self, slot: usize) -> &AtomicU32 {
            &self.inner.stamps[slot]
        }
        pub(crate) fn entry_word(&self, entry: usize, off: usize) -> &AtomicU32 {
            &self.inner.entry_words[2 * entry + off / 4]
        }
        pub(crate) fn entry_cell(&self, entry: usize, off: usize) -> &AtomicIndex {
            &self.inner.entry_cells[2 * entry + off / 8 - 1]
        }
        #[inline]
        pub(crate) fn len(&self, slot: usize) -> &AtomicU32 {
            &self.inner.lens[slot]
        }
        /// # Safety
        /// As for the raw region: `src.len() <= slot_size`, slot held by the producer.
        pub(crate) unsafe fn write_payload(&self, slot: usize, src: &[u8]) {
            // loom checks that no read of this cell races with the write.
            self.inner.payloads[slot].with_mut(|p| {
                // SAFETY: `p` points to the cell's live Box; src.len() <= its length.
                let dst = unsafe { &mut *p };
                dst[..src.len()].copy_from_slice(src);
            });
        }
        /// # Safety
        /// As for the raw region: `n <= slot_size`, `dst` valid for `n` bytes.
        pub(crate) unsafe fn read_payload(&self, slot: usize, dst: *mut u8, n: usize) {
            self.inner.payloads[slot].with(|p| {
                // SAFETY: loom checks for a racing write; `dst` valid by contract.
                unsafe { core::ptr::copy_nonoverlapping((&*p).as_ptr(), dst, n) }
            });
        }
        /// # Safety
        /// As for the raw region (dense records live in the payload cells here).
        pub(crate) unsafe fn write_record(&self, slot: usize, src: &[u8]) {
            // SAFETY: the caller's contract is `write_payload`'s.
            unsafe { self.write_payload(slot, src) }
        }
        /// # Safety
        /// As for the raw region.
        pub(crate) unsafe fn read_record(&self, slot: usize, dst: *mut u8, n: usize) {
            // SAFETY: the caller's contract is `read_payload`'s.
            unsafe { self.read_payload(slot, dst, n) }
        }
        /// # Safety
        /// As for the raw region.
        pub(crate) unsafe fn write_records<T: bytemuck::NoUninit>(
            &self,
            first: usize,
            items: &[T],
        ) {
            for (i, item) in items.iter().enumerate() {
                // SAFETY: the caller's contract covers every record.
                unsafe { self.write_payload(first + i, bytemuck::bytes_of(item)) }
            }
        }
        /// # Safety
        /// As for the raw region.
        pub(crate) unsafe fn read_records<T: bytemuck::Pod>(&self, first: usize, out: &mut [T]) {
            for (i, item) in out.iter_mut().enumerate() {
                let dst = bytemuck::bytes_of_mut(item);
                // SAFETY: the caller's contract covers every record.
                unsafe { self.read_payload(first + i, dst.as_mut_ptr(), dst.len()) }
            }
        }
    }

    // Byte rings (`crate::bytes`): the data area, as index-width words.
    impl Region {
        /// As the mapped region's `data_word`: `off` modulo the capacity,
        /// rounded down to a word.
        #[inline]
        pub(crate) fn data_word(&self, off: usize) -> &AtomicIndex {
            const WORD: usize = core::mem::size_of::<AtomicIndex>();
            let cap = self.geometry.capacity() as usize;
            &self.inner.data[(off & (cap - 1)) / WORD]
        }

        /// As the mapped region's `data_words`.
        #[inline]
        pub(crate) fn data_words(&self, off: usize, n: usize) -> &[AtomicIndex] {
            const WORD: usize = core::mem::size_of::<AtomicIndex>();
            let cap = self.geometry.capacity() as usize;
            let first = (off & (cap - 1)) / WORD;
            let n = n.min(cap / WORD - first);
            &self.inner.data[first..first + n]
        }
    }
}
