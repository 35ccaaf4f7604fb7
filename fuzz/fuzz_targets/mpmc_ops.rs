//! MPMC endpoints (up to 8, producers and consumers on table entries the
//! fuzzer picks) run over a region whose every word the fuzzer may rewrite
//! between calls: header, cursors, counters, endpoint table (roles, claim
//! records), sequence and length words, payload. The liveness oracle answers
//! from a fuzzed bitmask. Nothing may panic; returned lengths stay within the
//! buffer and the slot; oversized messages are refused; poisoning is sticky;
//! one call never asks more than `LIVENESS_CHECKS` liveness questions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shmq_core::layout::{offset, Geometry, ENTRY_SIZE, HEADER_SIZE};
use shmq_core::mpmc::{entry, Consumer, Peers, PopError, Producer, PushError, LIVENESS_CHECKS};
use shmq_core::testing::HeapRegion;
use std::cell::Cell;
use std::rc::Rc;

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
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }
}

/// Liveness from a fuzzed bitmask (bit `e % 64` set: entry `e` is dead),
/// counting the questions asked.
#[derive(Clone, Default)]
struct Oracle {
    dead: Rc<Cell<u64>>,
    asked: Rc<Cell<u32>>,
}

// SAFETY: single-threaded: no endpoint of this process runs concurrently
// with the caller, so any answer is allowed by the contract (a repair
// cannot race with a payload copy).
unsafe impl Peers for Oracle {
    fn is_dead(&self, e: usize) -> bool {
        self.asked.set(self.asked.get() + 1);
        self.dead.get() >> (e % 64) & 1 == 1
    }
}

enum End {
    Tx(Producer<Oracle>),
    Rx(Consumer<Oracle>),
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let capacity = 2u32 << (input.u8() % 4); // 2..=16
    let slot_size = u32::from(input.u8() % 40);
    let endpoints = 1 + u32::from(input.u8() % 8);
    let Ok(geometry) = Geometry::new_mpmc(capacity, slot_size, endpoints) else {
        return;
    };
    let heap = HeapRegion::new(geometry);
    let slot = slot_size as usize;
    let oracle = Oracle::default();
    // One endpoint per entry at most (the platform's entry lock).
    let mut ends: Vec<Option<End>> = (0..endpoints).map(|_| None).collect();
    for step in 0..512u32 {
        if input.0.is_empty() {
            break;
        }
        let op = input.u8();
        let e = usize::from(input.u8()) % endpoints as usize;
        let asked = oracle.asked.get();
        match (op % 10, ends[e].as_mut()) {
            (0, Some(End::Tx(p))) => {
                let msg = vec![step as u8; usize::from(input.u8() % 48)];
                let before = p.poisoned();
                let r = p.try_push(&msg);
                if msg.len() > slot {
                    assert!(matches!(r, Err(PushError::TooLarge { .. })));
                } else if let Some(v) = before {
                    assert_eq!(r, Err(PushError::Poisoned(v)));
                }
            }
            (1, Some(End::Rx(c))) => {
                let mut buf = vec![0u8; usize::from(input.u8() % 48)];
                let before = c.poisoned();
                let r = c.try_pop(&mut buf);
                if let Ok(n) = r {
                    assert!(n <= buf.len() && n <= slot);
                }
                if let Some(v) = before {
                    assert_eq!(r, Err(PopError::Poisoned(v)));
                }
            }
            (2, Some(End::Tx(p))) => {
                let items = vec![step; usize::from(input.u8() % 8)];
                if let Ok(n) = p.push_slice(&items) {
                    assert!(n <= items.len());
                }
            }
            (3, Some(End::Rx(c))) => {
                let mut out = vec![0u32; usize::from(input.u8() % 8)];
                if let Ok(n) = c.pop_slice(&mut out) {
                    assert!(n <= out.len());
                }
            }
            (4, Some(End::Rx(c))) => {
                let _ = c.try_pop_value::<u64>();
            }
            (5, _) => heap.scribble(usize::from(input.u16()), input.u32()),
            (6, _) => {
                // A cursor or counter cell, near its current value or not.
                let cells = [offset::TAIL, offset::HEAD, offset::SKIPPED, offset::LOST];
                let off = cells[usize::from(input.u8()) % cells.len()];
                let v = match input.u8() % 2 {
                    0 => heap.peek_index(off).wrapping_add(u64::from(input.u8() % 8)),
                    _ => input.u64(),
                };
                heap.scribble_index(off, v);
            }
            (7, _) => {
                // Attach or detach at entry `e` (refusals are fine).
                let end = ends[e].take();
                if end.is_none() {
                    ends[e] = if input.u8() % 2 == 0 {
                        Producer::attach(heap.region(), e, oracle.clone())
                            .ok()
                            .map(End::Tx)
                    } else {
                        Consumer::attach(heap.region(), e, oracle.clone())
                            .ok()
                            .map(End::Rx)
                    };
                }
            }
            (8, _) => oracle.dead.set(input.u64()),
            (9, _) => {
                // A plausible forged entry: a role, and a claim record near `head`
                // or `tail`.
                let base = HEADER_SIZE + e * ENTRY_SIZE;
                heap.scribble(base + entry::ROLE, u32::from(input.u8() % 3));
                let cursor = heap.peek_index(if input.u8() % 2 == 0 {
                    offset::HEAD
                } else {
                    offset::TAIL
                });
                let pos = cursor.wrapping_add(u64::from(input.u8() % 8));
                heap.scribble_index(base + entry::RECORD, pos << 8 | u64::from(input.u8()));
            }
            _ => {}
        }
        let asked = oracle.asked.get() - asked;
        assert!(
            asked <= LIVENESS_CHECKS,
            "{asked} liveness checks in one call"
        );
    }
});
