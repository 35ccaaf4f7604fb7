//! Dense-ring operation sequences (the `Op` enum the proptest suites also
//! use) replayed on a real ring and a `VecDeque` model ([`DenseCheck`]);
//! or, with the mode bit set, the same operations on the real ends
//! interleaved with forged words (cursors, counters, state words, records):
//! then nothing may panic, wrong sizes are refused first, counts stay within
//! the request and the ring, bytes beyond a popped record stay untouched,
//! the producer is poisoned only by a `Head`, the consumer only by a `Tail`
//! violation, poisoning is sticky, and attach refuses only with `Cursors`.
//! With both mode bits set, header words are forged first: the hostile run
//! then uses the geometry `layout::validate` accepts for a dense ring, if any.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shmq_core::dense::{Consumer, PopError, Producer, PushError, Violation};
use shmq_core::layout::{self, offset, Geometry, QueueKind};
use shmq_core::region::Region;
use shmq_core::testing::{DenseCheck, HeapRegion, Op};

fuzz_target!(|data: &[u8]| {
    // Geometry: capacity 2..=16, record size 1..=40; then the mode.
    let [c, r, mode, rest @ ..] = data else {
        return;
    };
    let capacity = 2u32 << (c % 4);
    let record = 1 + u32::from(*r % 40);
    if mode & 1 == 0 {
        let mut check = DenseCheck::new(capacity, record);
        for op in Op::decode_all(rest, 4096) {
            if let Err(e) = check.apply(&op) {
                panic!("{e}");
            }
        }
        if let Err(e) = check.drain() {
            panic!("{e}");
        }
        return;
    }
    let heap = HeapRegion::new(Geometry::new_dense(capacity, record).unwrap());
    let mut data = rest;
    if mode & 2 != 0 {
        // Forged header words (capacity, sizes, kind...), a few at a time.
        let [n, tail @ ..] = data else { return };
        data = tail;
        for _ in 0..n % 8 {
            let [off, a, b, c, d, tail @ ..] = data else {
                return;
            };
            data = tail;
            heap.scribble(
                usize::from(*off) * 4 % 128,
                u32::from_le_bytes([*a, *b, *c, *d]),
            );
        }
    }
    let (base, mapped) = heap.as_ptr();
    // SAFETY: `mapped` bytes at the 8-aligned `base` live as long as `heap`.
    let Ok(geometry) = (unsafe { layout::validate(base, mapped, QueueKind::Dense) }) else {
        return;
    };
    assert!(geometry.total_size() <= mapped);
    // SAFETY: validate accepted these bytes (at most `mapped`) for `geometry`;
    // `heap` outlives the handle, which is dropped at the end of `hostile`.
    let region = unsafe { Region::from_raw(base, geometry) };
    hostile(&heap, region, data);
});

const FILL: u8 = 0xA5;

/// Runs operations decoded from `data` on endpoints of `region` (a view of
/// `heap`'s bytes), every fourth tag a forged word.
fn hostile(heap: &HeapRegion, region: Region, mut data: &[u8]) {
    let cap = region.geometry().capacity() as usize;
    let record = region.geometry().slot_size() as usize;
    let records = region.geometry().slot_offset(0);
    let words = cap * region.geometry().stride() / size_of::<shmq_core::Index>();
    // SAFETY: one producer and one consumer at a time, on this thread.
    let mut tx = unsafe { Producer::attach(region.clone()) }.ok();
    // SAFETY: as above.
    let mut rx = unsafe { Consumer::attach(region.clone()) }.ok();
    for _ in 0..4096 {
        let Some(&tag) = data.first() else { break };
        if tag % 4 == 3 {
            data = &data[1..];
            let mut next = || -> u64 {
                let (b, rest) = data.split_at(data.len().min(8));
                data = rest;
                let mut w = [0u8; 8];
                w[..b.len()].copy_from_slice(b);
                u64::from_le_bytes(w)
            };
            let v = next();
            match (tag >> 2) % 6 {
                // A cursor near where it is (within a lap or so either way).
                0 | 1 => {
                    let off = if tag >> 2 & 1 == 0 {
                        offset::TAIL
                    } else {
                        offset::HEAD
                    };
                    let near = heap
                        .peek_index(off)
                        .wrapping_add(v % (3 * cap as u64))
                        .wrapping_sub(cap as u64);
                    heap.scribble_index(off, near);
                }
                2 => heap.scribble_index(offset::TAIL, v),
                3 => heap.scribble_index(offset::HEAD, v),
                4 => heap.scribble_index(
                    records + size_of::<shmq_core::Index>() * (v as usize % words),
                    next(),
                ),
                _ => {
                    let offs = [
                        offset::PRODUCER_STATE,
                        offset::CONSUMER_STATE,
                        offset::POISONED,
                    ];
                    heap.scribble(offs[v as usize % offs.len()], (v >> 32) as u32);
                }
            }
            continue;
        }
        let Some(op) = Op::decode(&mut data) else {
            break;
        };
        match op {
            Op::ReattachProducer => {
                tx = None;
                // SAFETY: the previous producer is dropped.
                match unsafe { Producer::attach(region.clone()) } {
                    Ok(p) => tx = Some(p),
                    Err(Violation::Cursors { .. }) => {}
                    Err(v) => panic!("producer attach: {v:?}"),
                }
            }
            Op::ReattachConsumer => {
                rx = None;
                // SAFETY: the previous consumer is dropped.
                match unsafe { Consumer::attach(region.clone()) } {
                    Ok(c) => rx = Some(c),
                    Err(Violation::Cursors { .. }) => {}
                    Err(v) => panic!("consumer attach: {v:?}"),
                }
            }
            Op::Push { .. } | Op::PushValue { .. } | Op::PushSlice { .. } => {
                if let Some(p) = tx.as_mut() {
                    push(p, &op, record, cap);
                }
            }
            Op::Pop { .. } | Op::PopValue { .. } | Op::PopSlice { .. } => {
                if let Some(c) = rx.as_mut() {
                    pop(c, &op, record, cap);
                }
            }
            Op::PushRecords { len, seed } => {
                if let Some(p) = tx.as_mut() {
                    push_records(p, len, seed, record, cap);
                }
            }
            Op::PopRecords { buf } => {
                if let Some(c) = rx.as_mut() {
                    pop_records(c, buf, record, cap);
                }
            }
            Op::Pace { .. } | Op::Exact { .. } => {}
        }
    }
}

/// `push_records` of `len` bytes with the hostile-mode checks.
fn push_records(p: &mut Producer, len: usize, seed: u8, record: usize, cap: usize) {
    let before = p.poisoned();
    let r = p.push_records(&vec![seed; len]);
    if len % record != 0 {
        assert_eq!(r, Err(PushError::WrongSize { len, size: record }));
        return;
    }
    let asked = len / record;
    match (before, r) {
        (Some(v), r) => assert_eq!(r, Err(PushError::Poisoned(v))),
        (None, Ok(n)) => assert!(n >= 1.min(asked) && n <= asked.min(cap)),
        (None, Err(PushError::Full)) => assert!(asked > 0),
        (None, Err(PushError::Poisoned(v @ Violation::Head { .. }))) => {
            assert_eq!(p.poisoned(), Some(v))
        }
        (None, r) => panic!("push_records: unexpected {r:?}"),
    }
}

/// `pop_records` into `buf` bytes with the hostile-mode checks.
fn pop_records(c: &mut Consumer, buf: usize, record: usize, cap: usize) {
    let before = c.poisoned();
    let mut b = vec![FILL; buf];
    let r = c.pop_records(&mut b);
    let end = r.unwrap_or(0) * record;
    assert!(end <= buf, "more records than the buffer holds");
    assert!(
        b[end..].iter().all(|&x| x == FILL),
        "bytes beyond the records popped were written"
    );
    if buf != 0 && buf < record {
        assert_eq!(
            r,
            Err(PopError::Size {
                len: record,
                capacity: buf
            })
        );
        return;
    }
    let asked = buf / record;
    match (before, r) {
        (Some(v), r) => assert_eq!(r, Err(PopError::Poisoned(v))),
        (None, Ok(n)) => assert!(n >= 1.min(asked) && n <= asked.min(cap)),
        (None, Err(PopError::Empty)) => assert!(asked > 0),
        (None, Err(PopError::Poisoned(v @ Violation::Tail { .. }))) => {
            assert_eq!(c.poisoned(), Some(v))
        }
        (None, r) => panic!("pop_records: unexpected {r:?}"),
    }
}

/// One push operation with the hostile-mode checks.
fn push(p: &mut Producer, op: &Op, record: usize, cap: usize) {
    let before = p.poisoned();
    let (r, len, asked) = match *op {
        Op::Push { len, seed } => (p.try_push(&vec![seed; len]).map(|()| 1), len, 1),
        Op::PushValue { width, seed } => {
            let r = match width.bytes() {
                1 => p.try_push_value(&[seed; 1]),
                4 => p.try_push_value(&[seed; 4]),
                8 => p.try_push_value(&[seed; 8]),
                _ => p.try_push_value(&[seed; 16]),
            };
            (r.map(|()| 1), width.bytes(), 1)
        }
        Op::PushSlice { width, count, seed } => {
            let r = match width.bytes() {
                1 => p.push_slice(&vec![[seed; 1]; count]),
                4 => p.push_slice(&vec![[seed; 4]; count]),
                8 => p.push_slice(&vec![[seed; 8]; count]),
                _ => p.push_slice(&vec![[seed; 16]; count]),
            };
            (r, width.bytes(), count)
        }
        _ => unreachable!(),
    };
    if len != record {
        assert_eq!(r, Err(PushError::WrongSize { len, size: record }));
        return;
    }
    match (before, r) {
        (Some(v), r) => assert_eq!(r, Err(PushError::Poisoned(v))),
        (None, Ok(n)) => assert!(n >= 1.min(asked) && n <= asked.min(cap)),
        (None, Err(PushError::Full)) => assert!(asked > 0),
        (None, Err(PushError::Poisoned(v @ Violation::Head { .. }))) => {
            assert_eq!(p.poisoned(), Some(v))
        }
        (None, r) => panic!("push: unexpected {r:?}"),
    }
}

/// One pop operation with the hostile-mode checks.
fn pop(c: &mut Consumer, op: &Op, record: usize, cap: usize) {
    let before = c.poisoned();
    let (r, size, asked, untouched) = match *op {
        Op::Pop { buf } => {
            let mut b = vec![FILL; buf];
            let r = c.try_pop(&mut b);
            let n = r.unwrap_or(0);
            assert!(r.is_err() || n == record);
            let ok = b[n..].iter().all(|&x| x == FILL);
            // Any destination of at least a record is fit.
            (
                r.map(|_| 1),
                if buf >= record { record } else { buf },
                1,
                ok,
            )
        }
        Op::PopValue { width } => {
            let r = match width.bytes() {
                1 => c.try_pop_value::<[u8; 1]>().map(|_| 1),
                4 => c.try_pop_value::<[u8; 4]>().map(|_| 1),
                8 => c.try_pop_value::<[u8; 8]>().map(|_| 1),
                _ => c.try_pop_value::<[u8; 16]>().map(|_| 1),
            };
            (r, width.bytes(), 1, true)
        }
        Op::PopSlice { width, count } => {
            let mut out = vec![FILL; width.bytes() * count];
            let r = match width.bytes() {
                1 => c.pop_slice::<[u8; 1]>(as_values(&mut out)),
                4 => c.pop_slice::<[u8; 4]>(as_values(&mut out)),
                8 => c.pop_slice::<[u8; 8]>(as_values(&mut out)),
                _ => c.pop_slice::<[u8; 16]>(as_values(&mut out)),
            };
            let n = r.unwrap_or(0).min(count);
            let ok = out[n * width.bytes()..].iter().all(|&x| x == FILL);
            (r, width.bytes(), count, ok)
        }
        _ => unreachable!(),
    };
    assert!(untouched, "bytes beyond the records popped were written");
    if size != record {
        assert_eq!(
            r,
            Err(PopError::Size {
                len: record,
                capacity: size
            })
        );
        return;
    }
    match (before, r) {
        (Some(v), r) => assert_eq!(r, Err(PopError::Poisoned(v))),
        (None, Ok(n)) => assert!(n >= 1.min(asked) && n <= asked.min(cap)),
        (None, Err(PopError::Empty)) => assert!(asked > 0),
        (None, Err(PopError::Poisoned(v @ Violation::Tail { .. }))) => {
            assert_eq!(c.poisoned(), Some(v))
        }
        (None, r) => panic!("pop: unexpected {r:?}"),
    }
}

/// `bytes` as a slice of `[u8; N]` (`bytes.len()` a multiple of `N`).
fn as_values<const N: usize>(bytes: &mut [u8]) -> &mut [[u8; N]] {
    let (chunks, rest) = bytes.as_chunks_mut::<N>();
    assert!(rest.is_empty());
    chunks
}
