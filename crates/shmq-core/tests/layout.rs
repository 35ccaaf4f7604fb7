//! Every `LayoutError` that `layout::validate` and `Geometry::new` produce,
//! from crafted header bytes.
#![cfg(not(loom))]

use shmq_core::layout::{
    offset, validate, Geometry, LayoutError, QueueKind, HEADER_SIZE, LAYOUT_VERSION, MAGIC,
    MAX_CAPACITY, MAX_SLOT_SIZE, READY,
};
use shmq_core::testing::HeapRegion;

const CAP: u32 = 4;
const SLOT: u32 = 12;

fn fresh() -> HeapRegion {
    HeapRegion::new(Geometry::new(QueueKind::Spsc, CAP, SLOT).unwrap())
}

/// Validates `heap` as SPSC after `edit` scribbled its header.
fn validate_with(edit: impl FnOnce(&HeapRegion)) -> Result<Geometry, LayoutError> {
    let heap = fresh();
    edit(&heap);
    let (base, len) = heap.as_ptr();
    // SAFETY: `len` bytes at `base` live as long as `heap`.
    unsafe { validate(base, len, QueueKind::Spsc) }
}

#[test]
fn fresh_region_validates_to_its_geometry() {
    let g = validate_with(|_| {}).unwrap();
    assert_eq!(g, Geometry::new(QueueKind::Spsc, CAP, SLOT).unwrap());
    assert_eq!(g.stride(), 24); // 8-byte slot header + 12, rounded up to 8
    assert_eq!(g.total_size(), HEADER_SIZE + 4 * 24);
}

#[test]
fn not_ready() {
    assert_eq!(
        validate_with(|h| h.scribble(offset::READY, READY ^ 1)),
        Err(LayoutError::NotReady)
    );
}

#[test]
fn bad_magic() {
    assert_eq!(
        validate_with(|h| h.scribble(offset::MAGIC, 0xDEAD_BEEF)),
        Err(LayoutError::BadMagic { found: 0xDEAD_BEEF })
    );
    assert_ne!(MAGIC, 0xDEAD_BEEF);
}

#[test]
fn version() {
    assert_eq!(
        validate_with(|h| h.scribble(offset::VERSION, LAYOUT_VERSION + 1)),
        Err(LayoutError::Version {
            found: LAYOUT_VERSION + 1
        })
    );
}

#[test]
fn kind() {
    for code in [0, 2, u32::MAX] {
        assert_eq!(
            validate_with(|h| h.scribble(offset::KIND, code)),
            Err(LayoutError::Kind { found: code })
        );
    }
}

#[test]
fn index_width() {
    let other = if size_of::<shmq_core::Index>() == 8 {
        4
    } else {
        8
    };
    for width in [0, other, 16] {
        assert_eq!(
            validate_with(|h| h.scribble(offset::INDEX_WIDTH, width)),
            Err(LayoutError::IndexWidth { found: width })
        );
    }
}

#[test]
fn capacity_zero_one_odd_or_too_large() {
    for cap in [0, 1, 3, 6, MAX_CAPACITY * 2, u32::MAX] {
        assert_eq!(
            validate_with(|h| h.scribble(offset::CAPACITY, cap)),
            Err(LayoutError::Capacity { found: cap }),
            "capacity {cap}"
        );
    }
}

#[test]
fn capacity_that_disagrees_with_the_size() {
    // A valid power of two that is not the one the region was made with:
    // the stride still matches, the total size does not.
    assert_eq!(
        validate_with(|h| h.scribble(offset::CAPACITY, 8)),
        Err(LayoutError::SizeMismatch {
            header: (HEADER_SIZE + 4 * 24) as u64,
            computed: (HEADER_SIZE + 8 * 24) as u64,
            mapped: HEADER_SIZE + 4 * 24,
        })
    );
}

#[test]
fn slot_size_too_large() {
    for slot in [MAX_SLOT_SIZE + 1, u32::MAX] {
        assert_eq!(
            validate_with(|h| h.scribble(offset::SLOT_SIZE, slot)),
            Err(LayoutError::SlotSize { found: slot })
        );
    }
}

#[test]
fn slot_size_beyond_the_local_total_limit() {
    // Each field within its own limit, the product beyond MAX_TOTAL_SIZE.
    assert_eq!(
        validate_with(|h| {
            h.scribble(offset::CAPACITY, MAX_CAPACITY);
            h.scribble(offset::SLOT_SIZE, MAX_SLOT_SIZE);
        }),
        Err(LayoutError::SizeOverflow)
    );
}

#[test]
fn stride() {
    for stride in [0, 20, 32, u32::MAX] {
        assert_eq!(
            validate_with(|h| h.scribble(offset::SLOT_STRIDE, stride)),
            Err(LayoutError::Stride { found: stride })
        );
    }
}

#[test]
fn total_size_in_header_disagrees() {
    let real = (HEADER_SIZE + 4 * 24) as u64;
    assert_eq!(
        validate_with(|h| h.scribble(offset::TOTAL_SIZE_HI, 1)),
        Err(LayoutError::SizeMismatch {
            header: real | (1 << 32),
            computed: real,
            mapped: real as usize,
        })
    );
    assert_eq!(
        validate_with(|h| h.scribble(offset::TOTAL_SIZE_LO, real as u32 - 8)),
        Err(LayoutError::SizeMismatch {
            header: real - 8,
            computed: real,
            mapped: real as usize,
        })
    );
}

#[test]
fn mapped_smaller_than_the_region() {
    let heap = fresh();
    let (base, len) = heap.as_ptr();
    // SAFETY: fewer than the `len` live bytes.
    let r = unsafe { validate(base, len - 8, QueueKind::Spsc) };
    assert_eq!(
        r,
        Err(LayoutError::SizeMismatch {
            header: len as u64,
            computed: len as u64,
            mapped: len - 8,
        })
    );
    // A larger mapping (the file rounded up to a page) is accepted.
    let big = HeapRegion::new(Geometry::new(QueueKind::Spsc, 8, SLOT).unwrap());
    let (base, len) = big.as_ptr();
    // Write a small region's header into the big buffer: validate sees more
    // bytes mapped than the header needs.
    let (sbase, slen) = heap.as_ptr();
    // (Only the 32-bit header words: the index cells are 64-bit atomics.)
    for off in (0..=offset::CREATOR_PID).step_by(4) {
        // SAFETY: both regions are at least HEADER_SIZE bytes.
        let word = unsafe { sbase.add(off).cast::<u32>().read() };
        big.scribble(off, word);
    }
    // SAFETY: `len` bytes at `base` live as long as `big`.
    let g = unsafe { validate(base, len, QueueKind::Spsc) }.unwrap();
    assert_eq!(g.total_size(), slen);
}

#[test]
fn too_small() {
    let heap = fresh();
    let (base, _) = heap.as_ptr();
    for mapped in [0, 4, HEADER_SIZE - 1] {
        // SAFETY: fewer than the live bytes.
        let r = unsafe { validate(base, mapped, QueueKind::Spsc) };
        assert_eq!(r, Err(LayoutError::TooSmall { mapped }));
    }
}

#[test]
fn misaligned() {
    let heap = fresh();
    let (base, len) = heap.as_ptr();
    // SAFETY: base + 4 and len - 4 stay inside the live bytes.
    let r = unsafe { validate(base.add(4), len - 4, QueueKind::Spsc) };
    assert_eq!(r, Err(LayoutError::Misaligned));
}

#[test]
fn geometry_limits() {
    let g = |cap, slot| Geometry::new(QueueKind::Spsc, cap, slot);
    for cap in [0, 1, 3, 12, MAX_CAPACITY * 2, u32::MAX] {
        assert_eq!(g(cap, 8), Err(LayoutError::Capacity { found: cap }));
    }
    assert!(g(2, 0).is_ok(), "zero-byte slots are allowed");
    assert!(g(MAX_CAPACITY, 8).is_ok());
    assert!(g(2, MAX_SLOT_SIZE).is_ok());
    assert_eq!(
        g(2, MAX_SLOT_SIZE + 1),
        Err(LayoutError::SlotSize {
            found: MAX_SLOT_SIZE + 1
        })
    );
    assert_eq!(
        g(MAX_CAPACITY, MAX_SLOT_SIZE),
        Err(LayoutError::SizeOverflow)
    );
    // Stride is the slot header plus the payload, rounded up to 8.
    assert_eq!(g(2, 0).unwrap().stride(), 8);
    assert_eq!(g(2, 1).unwrap().stride(), 16);
    assert_eq!(g(2, 8).unwrap().stride(), 16);
    assert_eq!(g(4, 9).unwrap().total_size(), HEADER_SIZE + 4 * 24);
}

#[test]
fn errors_display_lowercase() {
    let errors = [
        LayoutError::TooSmall { mapped: 1 },
        LayoutError::Misaligned,
        LayoutError::NotReady,
        LayoutError::BadMagic { found: 1 },
        LayoutError::Version { found: 9 },
        LayoutError::Kind { found: 9 },
        LayoutError::IndexWidth { found: 9 },
        LayoutError::Capacity { found: 3 },
        LayoutError::SlotSize { found: 3 },
        LayoutError::Stride { found: 3 },
        LayoutError::SizeOverflow,
        LayoutError::SizeMismatch {
            header: 1,
            computed: 2,
            mapped: 3,
        },
    ];
    for e in errors {
        let s = e.to_string();
        assert!(s.starts_with(|c: char| !c.is_uppercase()), "{s}");
        assert!(!s.ends_with('.'), "{s}");
    }
}

#[test]
fn mpmc_capacity_is_capped_for_32_bit_records() {
    use shmq_core::layout::{max_mpmc_capacity, MAX_CAPACITY};
    // 32-bit indices: records keep 24 bits of position.
    assert_eq!(max_mpmc_capacity(32), 1 << 22);
    assert_eq!(max_mpmc_capacity(64), MAX_CAPACITY);
    let cap = max_mpmc_capacity(shmq_core::Index::BITS);
    assert!(Geometry::new_mpmc(cap, 8, 2).is_ok());
    if shmq_core::Index::BITS < 64 {
        assert!(Geometry::new_mpmc(cap * 2, 8, 2).is_err());
    }
}
