//! The operation enum shared by the proptest suite and the `ops` fuzz target,
//! and the checker that replays it against a `VecDeque` model.

use super::HeapRegion;
use crate::layout::{EndpointState, Geometry, QueueKind};
use crate::spsc::{stream_batch, Consumer, Pacing, PopError, Producer, PushError, Stats};
use crate::sync::Index;
use bytemuck::{Pod, Zeroable};
use std::collections::VecDeque;
use std::format;
use std::string::String;
use std::vec::Vec;

/// Size of the plain-data value used by the typed operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// `[u8; 1]`
    W1,
    /// `[u8; 4]`
    W4,
    /// `[u8; 8]`
    W8,
    /// `[u8; 16]`
    W16,
}

impl Width {
    /// Every width, for strategies and decoders.
    pub const ALL: [Width; 4] = [Width::W1, Width::W4, Width::W8, Width::W16];

    /// The width in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            Width::W1 => 1,
            Width::W4 => 4,
            Width::W8 => 8,
            Width::W16 => 16,
        }
    }
}

/// One call on an SPSC ring (single-threaded), as proptest and the fuzzer issue it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `try_push` of `len` bytes (possibly more than the slot size) made from `seed`.
    Push {
        /// Message length.
        len: usize,
        /// Content seed.
        seed: u8,
    },
    /// `try_pop` into a buffer of `buf` bytes.
    Pop {
        /// Buffer length.
        buf: usize,
    },
    /// `try_push_value` of a `[u8; width]`.
    PushValue {
        /// Value size.
        width: Width,
        /// Content seed.
        seed: u8,
    },
    /// `try_pop_value::<[u8; width]>`.
    PopValue {
        /// Value size.
        width: Width,
    },
    /// `push_slice` of `count` values of `[u8; width]`.
    PushSlice {
        /// Value size.
        width: Width,
        /// Number of values offered.
        count: usize,
        /// Content seed of the first value.
        seed: u8,
    },
    /// `pop_slice` into `count` values of `[u8; width]`.
    PopSlice {
        /// Value size.
        width: Width,
        /// Number of values asked for.
        count: usize,
    },
    /// Drop the producer and attach a new one to the same region.
    ReattachProducer,
    /// Drop the consumer and attach a new one to the same region.
    ReattachConsumer,
    /// `set_pacing` on the producer (`producer`) or the consumer.
    Pace {
        /// Which end.
        producer: bool,
        /// `Pacing::Throughput` if true, else `Pacing::Latency`.
        throughput: bool,
    },
    /// `exact()` on the producer (`producer`) or the consumer.
    Exact {
        /// Which end.
        producer: bool,
    },
    /// Dense rings: `push_records` of `len` bytes made from `seed` (whole
    /// records when `len` is a multiple of the record size). No counterpart
    /// on the stamp ring: its model ignores it.
    PushRecords {
        /// Bytes offered.
        len: usize,
        /// Content seed.
        seed: u8,
    },
    /// Dense rings: `pop_records` into a buffer of `buf` bytes (ignored by
    /// the stamp ring's model).
    PopRecords {
        /// Buffer length.
        buf: usize,
    },
}

impl Op {
    /// Largest length or count [`Op::decode`] produces.
    pub const MAX_DECODED: usize = 64;

    /// Decodes one operation from the front of `data`, consuming 1–4 bytes;
    /// `None` once `data` is exhausted. Every byte string decodes.
    pub fn decode(data: &mut &[u8]) -> Option<Op> {
        let (&tag, rest) = data.split_first()?;
        *data = rest;
        let mut next = || -> u8 {
            let (&b, rest) = data.split_first().unwrap_or((&0, &[]));
            *data = rest;
            b
        };
        let small = |b: u8| b as usize % (Self::MAX_DECODED + 1);
        let width = |b: u8| Width::ALL[b as usize % Width::ALL.len()];
        Some(match tag % 12 {
            0 => Op::Push {
                len: small(next()),
                seed: next(),
            },
            1 => Op::Pop { buf: small(next()) },
            2 => Op::PushValue {
                width: width(next()),
                seed: next(),
            },
            3 => Op::PopValue {
                width: width(next()),
            },
            4 => Op::PushSlice {
                width: width(next()),
                count: small(next()),
                seed: next(),
            },
            5 => Op::PopSlice {
                width: width(next()),
                count: small(next()),
            },
            6 => Op::ReattachProducer,
            7 => Op::ReattachConsumer,
            8 => {
                let b = next();
                Op::Pace {
                    producer: b & 1 != 0,
                    throughput: b & 2 != 0,
                }
            }
            9 => Op::Exact {
                producer: next() & 1 != 0,
            },
            10 => Op::PushRecords {
                len: small(next()),
                seed: next(),
            },
            _ => Op::PopRecords { buf: small(next()) },
        })
    }

    /// Decodes operations until `data` is exhausted or `max` were decoded.
    pub fn decode_all(mut data: &[u8], max: usize) -> Vec<Op> {
        let mut ops = Vec::new();
        while ops.len() < max {
            match Op::decode(&mut data) {
                Some(op) => ops.push(op),
                None => break,
            }
        }
        ops
    }
}

/// Message content: `len` bytes derived from `seed`.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(37)) ^ (len as u8))
        .collect()
}

/// A plain-data value whose bytes are [`pattern`]`(size_of::<T>(), seed)`.
pub(crate) fn value<T: Pod>(seed: u8) -> T {
    let mut v = T::zeroed();
    let bytes = bytemuck::bytes_of_mut(&mut v);
    let p = pattern(bytes.len(), seed);
    bytes.copy_from_slice(&p);
    v
}

/// Calls `$body` with `$T` bound to `[u8; width]`.
macro_rules! with_width {
    ($w:expr, $T:ident => $body:expr) => {
        match $w {
            Width::W1 => {
                type $T = [u8; 1];
                $body
            }
            Width::W4 => {
                type $T = [u8; 4];
                $body
            }
            Width::W8 => {
                type $T = [u8; 8];
                $body
            }
            Width::W16 => {
                type $T = [u8; 16];
                $body
            }
        }
    };
}
pub(crate) use with_width;

/// A real ring on a [`HeapRegion`] next to a `VecDeque` model of it.
///
/// [`ModelCheck::apply`] runs one [`Op`] on both and returns `Err` with a
/// description at the first difference: a result, a message's bytes, an
/// endpoint state or a counter in [`Stats`].
#[derive(Debug)]
pub struct ModelCheck {
    // Field order matters: the endpoints drop (and write their state words)
    // before the region they point into is freed.
    producer: Option<Producer>,
    consumer: Option<Consumer>,
    heap: HeapRegion,
    model: VecDeque<Vec<u8>>,
    capacity: usize,
    slot_size: usize,
    enqueued: Index,
    dequeued: Index,
    full: Index,
    empty: Index,
    /// Mirror of the producer's pacing state: its cached head (as a count of
    /// dequeued messages), adaptive batch and largest batch.
    p_cached: Index,
    p_batch: Index,
    p_max: Index,
    /// Mirror of the consumer's pacing state: messages of the probed run
    /// still ahead, probe distance and largest distance.
    c_known: Index,
    c_probe: Index,
    c_max: Index,
}

/// Compares two values, producing a description on difference.
macro_rules! check_eq {
    ($op:expr, $what:expr, $real:expr, $model:expr) => {{
        let (real, model) = (&$real, &$model);
        if real != model {
            return Err(format!(
                "{:?}: {} differs: real {:?}, model {:?}",
                $op, $what, real, model
            ));
        }
    }};
}
pub(crate) use check_eq;

impl ModelCheck {
    /// A fresh SPSC ring of `capacity` slots of `slot_size` bytes with both endpoints attached.
    ///
    /// # Panics
    /// If the geometry is invalid or an endpoint cannot attach to a fresh region.
    pub fn new(capacity: u32, slot_size: u32) -> Self {
        let geometry = Geometry::new(QueueKind::Spsc, capacity, slot_size).expect("geometry");
        let heap = HeapRegion::new(geometry);
        // SAFETY: no other producer of this region is used concurrently (one per role in this test).
        let producer = unsafe { Producer::attach(heap.region()) }.expect("producer attaches");
        // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
        let consumer = unsafe { Consumer::attach(heap.region()) }.expect("consumer attaches");
        ModelCheck {
            producer: Some(producer),
            consumer: Some(consumer),
            heap,
            model: VecDeque::new(),
            capacity: capacity as usize,
            slot_size: slot_size as usize,
            enqueued: 0,
            dequeued: 0,
            full: 0,
            empty: 0,
            p_cached: 0,
            p_batch: 1,
            p_max: 1,
            c_known: 0,
            c_probe: 1,
            c_max: 1,
        }
    }

    /// The region under test (e.g. to tamper with it behind the model's back).
    pub fn heap(&self) -> &HeapRegion {
        &self.heap
    }

    /// Messages the model holds.
    pub fn len(&self) -> usize {
        self.model.len()
    }

    /// Whether the model holds no message.
    pub fn is_empty(&self) -> bool {
        self.model.is_empty()
    }

    fn tx(&mut self) -> &mut Producer {
        self.producer.as_mut().expect("producer attached")
    }

    fn rx(&mut self) -> &mut Consumer {
        self.consumer.as_mut().expect("consumer attached")
    }

    /// What the model says a push of `msg` returns, updating the model.
    fn model_push(&mut self, msg: Vec<u8>) -> Result<(), PushError> {
        if msg.len() > self.slot_size {
            Err(PushError::TooLarge {
                len: msg.len(),
                max: self.slot_size,
            })
        } else if !self.model_room() {
            self.full += 1;
            Err(PushError::Full)
        } else {
            self.model.push_back(msg);
            self.enqueued += 1;
            Ok(())
        }
    }

    /// Whether a single push finds room, as the producer's pacing decides.
    fn model_room(&mut self) -> bool {
        let cap = self.capacity as Index;
        if cap - self.enqueued.wrapping_sub(self.p_cached) >= 1 {
            return true;
        }
        let free = cap - self.model.len() as Index;
        if free >= self.p_batch {
            self.p_batch = (self.p_batch * 2).min(self.p_max);
            self.p_cached = self.dequeued;
            true
        } else {
            self.p_batch = (self.p_batch / 2).max(1);
            false
        }
    }

    /// Whether a single pop may look at the front, as the consumer's pacing
    /// decides (`false`: a soft or exact `Empty`).
    fn model_front(&mut self) -> bool {
        if self.c_known == 0 && self.c_probe > 1 {
            if self.model.len() as Index >= self.c_probe {
                self.c_known = self.c_probe;
                self.c_probe = (self.c_probe * 2).min(self.c_max);
                return true;
            }
            self.c_probe /= 2;
            return false;
        }
        if self.c_known == 0 && !self.model.is_empty() && self.c_max > 1 {
            self.c_probe = 2;
        }
        !self.model.is_empty()
    }

    /// What the model says a pop into `buf` bytes (or exactly `buf` if
    /// `exact`) returns; on success removes and returns the message.
    fn model_pop(&mut self, buf: usize, exact: bool) -> Result<Vec<u8>, PopError> {
        if !self.model_front() {
            self.empty += 1;
            return Err(PopError::Empty);
        }
        let Some(front) = self.model.front() else {
            unreachable!("model_front found a message");
        };
        if front.len() > buf || (exact && front.len() != buf) {
            return Err(PopError::Size {
                len: front.len(),
                capacity: buf,
            });
        }
        self.dequeued += 1;
        self.c_known = self.c_known.saturating_sub(1);
        Ok(self.model.pop_front().expect("front exists"))
    }

    /// Runs `op` on the ring and on the model.
    ///
    /// # Errors
    /// A description of the first difference between the two.
    pub fn apply(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Push { len, seed } => {
                let msg = pattern(len, seed);
                let real = self.tx().try_push(&msg);
                let model = self.model_push(msg);
                check_eq!(op, "result", real, model);
            }
            Op::Pop { buf } => {
                let mut b = std::vec![0xA5u8; buf];
                let real = self.rx().try_pop(&mut b);
                let model = self.model_pop(buf, false);
                check_eq!(
                    op,
                    "result",
                    real,
                    model.as_ref().map(|m| m.len()).map_err(|e| *e)
                );
                if let (Ok(n), Ok(m)) = (real, model) {
                    check_eq!(op, "message", b[..n], m[..]);
                }
            }
            Op::PushValue { width, seed } => with_width!(width, T => {
                let v: T = value(seed);
                let real = self.tx().try_push_value(&v);
                let model = self.model_push(v.to_vec());
                check_eq!(op, "result", real, model);
            }),
            Op::PopValue { width } => with_width!(width, T => {
                let real = self.rx().try_pop_value::<T>();
                let model = self.model_pop(width.bytes(), true);
                check_eq!(op, "result", real.map(|v| v.to_vec()), model);
            }),
            Op::PushSlice { width, count, seed } => with_width!(width, T => {
                let items: Vec<T> = (0..count)
                    .map(|i| value(seed.wrapping_add(i as u8)))
                    .collect();
                let real = self.tx().push_slice(&items);
                let model = if width.bytes() > self.slot_size {
                    Err(PushError::TooLarge { len: width.bytes(), max: self.slot_size })
                } else {
                    let want = count.min(self.capacity) as Index;
                    let cap = self.capacity as Index;
                    if cap - self.enqueued.wrapping_sub(self.p_cached) < want {
                        self.p_cached = self.dequeued;
                    }
                    let n = count.min(self.capacity - self.model.len());
                    if n == 0 && count > 0 {
                        self.full += 1;
                        Err(PushError::Full)
                    } else {
                        for item in &items[..n] {
                            self.model.push_back(item.to_vec());
                        }
                        self.enqueued += n as Index;
                        Ok(n)
                    }
                };
                check_eq!(op, "result", real, model);
            }),
            Op::PopSlice { width, count } => with_width!(width, T => {
                let mut out: Vec<T> = std::vec![T::zeroed(); count];
                let real = self.rx().pop_slice(&mut out);
                let model = if count == 0 {
                    Ok(Vec::new())
                } else {
                    match self.model.front() {
                        None => {
                            self.empty += 1;
                            Err(PopError::Empty)
                        }
                        Some(m) if m.len() != width.bytes() => Err(PopError::Size {
                            len: m.len(),
                            capacity: width.bytes(),
                        }),
                        Some(_) => {
                            let mut taken = Vec::new();
                            while taken.len() < count
                                && self.model.front().is_some_and(|m| m.len() == width.bytes())
                            {
                                taken.push(self.model.pop_front().expect("front exists"));
                            }
                            self.dequeued += taken.len() as Index;
                            self.c_known = self.c_known.saturating_sub(taken.len() as Index);
                            Ok(taken)
                        }
                    }
                };
                check_eq!(op, "result", real, model.as_ref().map(|t| t.len()).map_err(|e| *e));
                if let (Ok(n), Ok(taken)) = (real, model) {
                    let got: Vec<Vec<u8>> = out[..n].iter().map(|v| v.to_vec()).collect();
                    check_eq!(op, "messages", got, taken);
                }
            }),
            Op::ReattachProducer => {
                drop(self.producer.take());
                let state = self.rx().producer_state();
                check_eq!(
                    op,
                    "producer state after drop",
                    state,
                    EndpointState::Closed
                );
                // SAFETY: no other producer of this region is used concurrently (one per role in this test).
                let p = unsafe { Producer::attach(self.heap.region()) };
                check_eq!(op, "attach", p.as_ref().err(), None);
                self.producer = p.ok();
                (self.p_cached, self.p_batch, self.p_max) = (self.dequeued, 1, 1);
                let state = self.rx().producer_state();
                check_eq!(
                    op,
                    "producer state after attach",
                    state,
                    EndpointState::Attached
                );
            }
            Op::ReattachConsumer => {
                drop(self.consumer.take());
                let state = self.tx().consumer_state();
                check_eq!(
                    op,
                    "consumer state after drop",
                    state,
                    EndpointState::Closed
                );
                // SAFETY: no other consumer of this region is used concurrently (one per role in this test).
                let c = unsafe { Consumer::attach(self.heap.region()) };
                check_eq!(op, "attach", c.as_ref().err(), None);
                self.consumer = c.ok();
                (self.c_known, self.c_probe, self.c_max) = (0, 1, 1);
                let state = self.tx().consumer_state();
                check_eq!(
                    op,
                    "consumer state after attach",
                    state,
                    EndpointState::Attached
                );
            }
            Op::Pace {
                producer,
                throughput,
            } => {
                let pacing = if throughput {
                    Pacing::Throughput
                } else {
                    Pacing::Latency
                };
                let max = if throughput {
                    stream_batch(self.heap.region().geometry())
                } else {
                    1
                };
                if producer {
                    self.tx().set_pacing(pacing);
                    self.p_max = max;
                    self.p_batch = self.p_batch.min(max);
                    check_eq!(op, "pacing", self.tx().pacing(), pacing);
                } else {
                    self.rx().set_pacing(pacing);
                    self.c_max = max;
                    self.c_probe = self.c_probe.min(max);
                    check_eq!(op, "pacing", self.rx().pacing(), pacing);
                }
            }
            Op::Exact { producer } => {
                if producer {
                    self.tx().exact();
                    self.p_batch = 1;
                } else {
                    self.rx().exact();
                    self.c_probe = 1;
                }
            }
            // Dense-only operations: the stamp ring has no byte-level batch.
            Op::PushRecords { .. } | Op::PopRecords { .. } => {}
        }
        self.check_stats(op)
    }

    fn check_stats(&self, op: &Op) -> Result<(), String> {
        let s = Stats::read(&self.heap.region());
        check_eq!(op, "stats.enqueued", s.enqueued, self.enqueued);
        check_eq!(op, "stats.dequeued", s.dequeued, self.dequeued);
        check_eq!(op, "stats.full", s.full, self.full);
        check_eq!(op, "stats.empty", s.empty, self.empty);
        check_eq!(op, "stats.poisoned", s.poisoned, false);
        Ok(())
    }

    /// Pops everything left and compares it with the model (a final drain).
    ///
    /// # Errors
    /// A description of the first difference.
    pub fn drain(&mut self) -> Result<(), String> {
        loop {
            self.apply(&Op::Exact { producer: false })?;
            let done = self.model.is_empty();
            self.apply(&Op::Pop {
                buf: self.slot_size,
            })?;
            if done {
                return Ok(());
            }
        }
    }
}
