//! Operation sequences (the `Op` enum the proptest suite also uses) replayed
//! on a real SPSC ring and on a `VecDeque` model: every result must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shmq_core::testing::{ModelCheck, Op};

fuzz_target!(|data: &[u8]| {
    // Two bytes of geometry: capacity 2..=16, slot size 0..=39.
    let [c, s, rest @ ..] = data else { return };
    let capacity = 2u32 << (c % 4);
    let slot_size = u32::from(*s % 40);
    let mut check = ModelCheck::new(capacity, slot_size);
    for op in Op::decode_all(rest, 4096) {
        if let Err(e) = check.apply(&op) {
            panic!("{e}");
        }
    }
    if let Err(e) = check.drain() {
        panic!("{e}");
    }
});
