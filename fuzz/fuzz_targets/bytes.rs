//! Byte-ring operation sequences (the `BytesOp` enum the proptest suite also
//! uses) replayed on a real ring and a `VecDeque<Vec<u8>>` model, then a
//! consumer reading a ring whose data bytes the fuzzer also controls.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shmq_core::bytes::{Consumer, PopError};
use shmq_core::layout::{offset, Geometry};
use shmq_core::testing::{BytesCheck, BytesOp, HeapRegion};

fuzz_target!(|data: &[u8]| {
    // Two bytes of geometry: capacity 64..=512 bytes, max message up to its limit.
    let [c, m, flip, rest @ ..] = data else { return };
    let capacity = 64u32 << (c % 4);
    let max_message = u32::from(*m) % (capacity / 2 - 16 + 1);
    if flip & 1 == 0 {
        let mut check = BytesCheck::new(capacity, max_message);
        for op in BytesOp::decode_all(rest, 4096) {
            if let Err(e) = check.apply(&op) {
                panic!("{e}");
            }
        }
        if let Err(e) = check.drain() {
            panic!("{e}");
        }
        return;
    }
    // Hostile data area: the fuzzer's bytes as the ring, the consumer
    // reads until it is poisoned or finds nothing: typed errors only,
    // bounded (each successful read moves the head at least 8 bytes on).
    let heap = HeapRegion::new(Geometry::new_bytes(capacity, max_message).unwrap());
    for (i, chunk) in rest.chunks(8).take(capacity as usize / 8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        heap.scribble_index(offset::SLOTS + 8 * i, u64::from_le_bytes(w));
    }
    // SAFETY: the only consumer of this region.
    let Ok(mut rx) = (unsafe { Consumer::attach(heap.region()) }) else {
        return;
    };
    let mut buf = vec![0u8; max_message as usize];
    for _ in 0..4 * capacity {
        match rx.try_pop(&mut buf) {
            Ok(n) => assert!(n <= max_message as usize),
            Err(PopError::Empty) | Err(PopError::Poisoned(_)) => break,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
});
