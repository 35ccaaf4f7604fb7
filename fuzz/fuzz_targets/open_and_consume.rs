//! Arbitrary header bytes and mapping sizes through `layout::validate`; when
//! the header is accepted, a consumer and a producer attach and run over a
//! region whose bytes the fuzzer keeps rewriting between calls. Nothing may
//! panic; returned lengths stay within the buffer and the slot; poisoning is
//! sticky.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shmq_core::layout::{self, Geometry, QueueKind, HEADER_SIZE};
use shmq_core::region::Region;
use shmq_core::spsc::{Consumer, PopError, Producer, PushError};

/// Reads the fuzz input front to back; zeros once exhausted.
struct Input<'a>(&'a [u8]);
impl Input<'_> {
    fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
}

/// An 8-aligned buffer standing in for a mapping; touched only through `base`.
struct Buffer {
    _words: Vec<u64>,
    base: *mut u8,
    len: usize,
}
impl Buffer {
    fn new(len: usize) -> Self {
        let mut words = vec![0u64; len.div_ceil(8)];
        let base = words.as_mut_ptr().cast::<u8>();
        Buffer { _words: words, base, len }
    }
    /// A peer's 4-byte write at `off` (rounded down to 4, ignored if out of range).
    fn poke(&self, off: usize, value: u32) {
        let off = off & !3;
        if off + 4 <= self.len {
            // SAFETY: in bounds and 4-aligned; single-threaded, raw pointer only.
            unsafe { self.base.add(off).cast::<u32>().write(value) };
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mode = input.u8();
    let mapped = usize::from(input.u16());
    let buffer;
    if mode & 1 == 1 {
        // Start from an honest header for a fuzzed geometry, then corrupt it.
        let capacity = 1u32 << (input.u8() % 6); // 1 (invalid) ..= 32
        let slot_size = u32::from(input.u8() % 64);
        let Ok(geometry) = Geometry::new(QueueKind::Spsc, capacity, slot_size) else {
            return;
        };
        buffer = Buffer::new(mapped.max(geometry.total_size()));
        // SAFETY: the buffer holds at least total_size bytes, 8-aligned.
        unsafe { layout::init(buffer.base, &geometry, 0) };
        for _ in 0..input.u8() % 9 {
            let (off, value) = (usize::from(input.u16()), input.u32());
            buffer.poke(off, value);
        }
    } else {
        // Raw bytes as the header.
        buffer = Buffer::new(mapped);
        for off in (0..mapped.min(HEADER_SIZE)).step_by(4) {
            buffer.poke(off, input.u32());
        }
    }
    // SAFETY: `mapped` bytes (or more) at `buffer.base` live for the whole run.
    let Ok(geometry) = (unsafe { layout::validate(buffer.base, mapped, QueueKind::Spsc) }) else {
        return;
    };
    assert!(geometry.total_size() <= mapped);
    let slot = geometry.slot_size() as usize;
    // SAFETY: validate accepted `mapped >= total_size` bytes at an 8-aligned base.
    let region = unsafe { Region::from_raw(buffer.base, geometry) };
    // SAFETY: single-threaded: no other consumer of this region is used concurrently.
    let mut rx = unsafe { Consumer::attach(region.clone()) }.ok();
    // SAFETY: single-threaded: no other producer of this region is used concurrently.
    let mut tx = unsafe { Producer::attach(region.clone()) }.ok();
    for step in 0..256u32 {
        if input.0.is_empty() {
            break;
        }
        match input.u8() % 8 {
            0 => {
                let mut buf = vec![0u8; usize::from(input.u8()) * 2];
                if let Some(c) = rx.as_mut() {
                    let before = c.poisoned();
                    let r = c.try_pop(&mut buf);
                    if let Ok(n) = r {
                        assert!(n <= buf.len() && n <= slot);
                    }
                    if let Some(v) = before {
                        assert_eq!(r, Err(PopError::Poisoned(v)));
                    }
                }
            }
            1 => {
                let msg = vec![step as u8; usize::from(input.u8())];
                if let Some(p) = tx.as_mut() {
                    let before = p.poisoned();
                    let r = p.try_push(&msg);
                    if msg.len() > slot {
                        assert!(matches!(r, Err(PushError::TooLarge { .. })));
                    } else if let Some(v) = before {
                        assert_eq!(r, Err(PushError::Poisoned(v)));
                    }
                }
            }
            2 => {
                let (off, value) = (usize::from(input.u16()), input.u32());
                buffer.poke(off, value);
            }
            3 => {
                let mut out = vec![0u32; usize::from(input.u8() % 8)];
                if let Some(c) = rx.as_mut() {
                    if let Ok(n) = c.pop_slice(&mut out) {
                        assert!(n <= out.len());
                    }
                }
            }
            4 => {
                let items = vec![step; usize::from(input.u8() % 8)];
                if let Some(p) = tx.as_mut() {
                    if let Ok(n) = p.push_slice(&items) {
                        assert!(n <= items.len());
                    }
                }
            }
            5 => {
                drop(rx.take());
                // SAFETY: single-threaded: no other consumer of this region is used concurrently.
                rx = unsafe { Consumer::attach(region.clone()) }.ok();
            }
            6 => {
                drop(tx.take());
                // SAFETY: single-threaded: no other producer of this region is used concurrently.
                tx = unsafe { Producer::attach(region.clone()) }.ok();
            }
            _ => {
                if let Some(c) = rx.as_mut() {
                    let _ = c.try_pop_value::<u64>();
                }
            }
        }
    }
    // Endpoints drop (writing their state words) before the buffer is freed.
    drop((rx, tx, region));
});
